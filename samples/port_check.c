/*
  port_check.c -- the first program to run on a new platform.

  It calls the hooks of a PORTABLE build directly, then drives every hook through the
  allocator's ordinary API, and says whether each did its job, ending with "port check: PASS"
  or "port check: FAIL (N problems)".  A FAIL line names the hook at fault.  It passes every
  port that keeps the contract of malloc.h section 6, including one that keeps every page
  (custom_munmap always -1) and declines direct maps.
    the hooks      (PORTABLE builds) custom_mmap and custom_direct_mmap called directly: their
                   regions must be aligned to MALLOC_ALIGNMENT, readable and writable, and must
                   not overlap; a request no platform can grant (a page multiple near
                   SIZE_MAX) must fail with CUSTOM_MMAP_FAILURE, not NULL; custom_munmap must
                   answer 0 or -1 (only the answer is seen, not whether pages went back).
                   Where there are threads (POSIX, Windows) and the heap locks (USE_LOCKS=2),
                   one thread holds the port's lock (acquire_lock/release_lock) while
                   another asks for it, then two take it around an update that is torn if
                   both get in: a lock that does not exclude lets the visitor in or loses
                   updates; on POSIX a lock that is never released ends the program with a
                   FAIL once no thread has got it for LOCK_WAIT_LIMIT_S seconds.  Without
                   USE_LOCKS a note says that the heap is for one thread only.  Hosted, the
                   hooks must leave errno alone.
                   When the memory hooks fail here the allocator checks below are skipped
                   (they would only crash), and the failure path when the failure value is
                   NULL;
    segment maps   many small blocks, so the heap must obtain several segments (custom_mmap);
                   each block is checked for alignment and filled and re-read, which catches
                   memory that is not really read/write or blocks that overlap;
    unmaps         malloc_trim after freeing everything, and destroy_mspace on an mspace that
                   grew over several segments: reported, since custom_munmap may refuse (the
                   memory then stays with the program); releasing more than the footprint fails;
                   without MSPACES a skip line says so;
    direct maps    a block above the mmap threshold (custom_direct_mmap, then custom_munmap when
                   it is freed); a port may decline these, or keep the region when the block is
                   freed, which is reported, not failed;
    failure path   a request the platform cannot satisfy must come back as NULL;
    locks          with USE_LOCKS, every call above takes and releases a heap lock;
    abort path     a child process frees a block twice.  POSIX (fork): it must end in
                   custom_abort -> abort(), and its stderr must contain the exact text of
                   malloc_abort_reason() -- the child's SIGABRT handler sends that text to the
                   parent over a second pipe, so the two can be compared.  Windows (the
                   program starts itself with --double-free-child): it must stop with a
                   non-zero exit code after printing a message.

  Freestanding use (UEFI, bare metal): compile with -DPORT_CHECK_NO_MAIN and call
  port_check_run(writer) with a function that prints a string; nothing here needs a C library
  then (no stdio, no string.h).  The abort path is compiled only where a child process can be
  started (fork, CreateProcess).
  With -DPORT_CHECK_STATIC_ARENA=<bytes> the hosted main first hands a static buffer of that
  size to ports/static_arena.c, and replaces the arena's default custom_abort (which spins
  forever, as bare metal has no output) with one that reports on stderr and aborts -- the
  way a real firmware would override it to print on its UART.
*/
#if (defined(__unix__) || defined(__APPLE__)) && !defined(_POSIX_C_SOURCE) && \
    !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L /* fork, sigaction, pipe under strict -std=c99 */
#endif

#include "../malloc.h"

#include <stddef.h>
#include <stdint.h>

#ifndef PORT_CHECK_HOSTED
#if defined(__STDC_HOSTED__) && __STDC_HOSTED__ && !defined(PORT_CHECK_NO_MAIN)
#define PORT_CHECK_HOSTED 1
#else
#define PORT_CHECK_HOSTED 0
#endif
#endif

/* The abort path needs a child process: fork() on POSIX, CreateProcess (the program starts
   itself with --double-free-child) on Windows.  Elsewhere it is skipped. */
#ifndef PORT_CHECK_HAVE_FORK
#if PORT_CHECK_HOSTED && (defined(__unix__) || defined(__APPLE__)) && !defined(__CYGWIN__)
#define PORT_CHECK_HAVE_FORK 1
#else
#define PORT_CHECK_HAVE_FORK 0
#endif
#endif
#ifndef PORT_CHECK_HAVE_SPAWN
#if PORT_CHECK_HOSTED && defined(_WIN32) && !PORT_CHECK_HAVE_FORK
#define PORT_CHECK_HAVE_SPAWN 1
#else
#define PORT_CHECK_HAVE_SPAWN 0
#endif
#endif

/* Sizes, adjustable for small targets: the small blocks keep being allocated until this many
   bytes are in use (or memory runs out); the large block must exceed the mmap threshold. */
#ifndef PORT_CHECK_SMALL_BYTES
#define PORT_CHECK_SMALL_BYTES ((size_t)3 << 20)
#endif
#ifndef PORT_CHECK_MAX_BLOCKS
#define PORT_CHECK_MAX_BLOCKS 16384
#endif
#ifndef PORT_CHECK_LARGE_BYTES
#define PORT_CHECK_LARGE_BYTES ((size_t)1 << 20)
#endif

/* Whether the heap takes a lock around its work (malloc.c's USE_LOCKS defaults to 0). */
#if defined(USE_LOCKS) && USE_LOCKS != 0
#define PORT_CHECK_HEAP_LOCKS 1
#else
#define PORT_CHECK_HEAP_LOCKS 0
#endif

typedef void (*port_check_writer)(const char *text);
int port_check_run(port_check_writer write);

/* ==== Reporting ============================================================================= */

static port_check_writer out;
static unsigned problems;

/* v in decimal at the end of buf (24 bytes, enough for 64 bits); returns where it starts.
   Safe in a signal handler. */
static char *format_u(char *buf, uintmax_t v) {
  size_t n = 23;
  buf[n] = '\0';
  do {
    buf[--n] = (char)('0' + (int)(v % 10u));
    v /= 10u;
  } while (v != 0);
  return buf + n;
}

static void put_u(uintmax_t v) {
  char buf[24];
  out(format_u(buf, v));
}

static void ok(const char *what) {
  out("ok:   ");
  out(what);
  out("\n");
}

static void fail(const char *what) {
  ++problems;
  out("FAIL: ");
  out(what);
  out("\n");
}

/* ==== Helpers =============================================================================== */

static unsigned char pattern(uintptr_t addr, unsigned seed) {
  return (unsigned char)((addr >> 3) ^ (addr >> 11) ^ (seed * 0x9Du));
}

static void fill(void *p, size_t n, unsigned seed) {
  unsigned char *b = (unsigned char *)p;
  for (size_t i = 0; i < n; ++i)
    b[i] = pattern((uintptr_t)(b + i), seed);
}

static int intact(const void *p, size_t n, unsigned seed) {
  const unsigned char *b = (const unsigned char *)p;
  for (size_t i = 0; i < n; ++i)
    if (b[i] != pattern((uintptr_t)(b + i), seed))
      return 0;
  return 1;
}

static int aligned(const void *p) { return ((uintptr_t)p & (MALLOC_ALIGNMENT - 1)) == 0; }

/* A cheap, reproducible spread of block sizes (xorshift32). */
static uint32_t rng_state = 0x2545F491u;
static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

static void *blocks[PORT_CHECK_MAX_BLOCKS];

/* ==== Checks on the hooks themselves (PORTABLE builds) ======================================= */

#if defined(PORTABLE) && PORTABLE

/* The regions asked for: a multiple of any page size a port is likely to be built for. */
#define HOOK_REGION_BYTES ((size_t)64 << 10)
#define HOOK_REGIONS 3

/* errno is part of the contract where the C library has it. */
#if PORT_CHECK_HOSTED
#include <errno.h>
#define ERRNO_SENTINEL 4242 /* no system's errno value */
#define ERRNO_SET() (errno = ERRNO_SENTINEL)
#define ERRNO_KEPT() (errno == ERRNO_SENTINEL)
#else
#define ERRNO_SET() ((void)0)
#define ERRNO_KEPT() 1
#endif

static int overlaps(const unsigned char *a, size_t an, const unsigned char *b, size_t bn) {
  return (uintptr_t)a < (uintptr_t)b + bn && (uintptr_t)b < (uintptr_t)a + an;
}

/* One region from a map hook: usable, aligned and apart from the regions still held.
   Returns 0 (and says why, naming the hook) if not. */
static int check_region(const char *hook, unsigned char *p, size_t n, unsigned char **held,
                        size_t nheld, unsigned seed) {
  size_t i;
  if (p == NULL) {
    out("FAIL: ");
    out(hook);
    out(" returned NULL; its failure value is CUSTOM_MMAP_FAILURE\n");
    ++problems;
    return 0;
  }
  if (!aligned(p)) {
    out("FAIL: ");
    out(hook);
    out(" returned an address not aligned to MALLOC_ALIGNMENT\n");
    ++problems;
    return 0;
  }
  for (i = 0; i < nheld; ++i) {
    if (overlaps(p, n, held[i], HOOK_REGION_BYTES)) {
      out("FAIL: ");
      out(hook);
      out(" returned memory that overlaps a region still held\n");
      ++problems;
      return 0;
    }
  }
  fill(p, n, seed);
  if (!intact(p, n, seed)) {
    out("FAIL: ");
    out(hook);
    out(" returned memory that does not keep what is written to it\n");
    ++problems;
    return 0;
  }
  return 1;
}

static int check_unmap_answer(unsigned char *p, size_t n) {
  int answer;
  ERRNO_SET();
  answer = custom_munmap(p, n);
  if (answer != 0 && answer != -1) {
    fail("custom_munmap: answered neither 0 (released) nor -1 (kept)");
    return 0;
  }
  if (!ERRNO_KEPT()) {
    fail("custom_munmap: changed errno (hooks must leave it as they found it)");
    ERRNO_SET(); /* one report is enough: the memory itself is fine */
    return 0;
  }
  return 1;
}

#define UNMAP_ANSWER_CHECKED                                                                   \
  "custom_munmap answers 0 or -1 and keeps errno (its answer is checked, not whether the "     \
  "pages were really released)"

/* A length no platform can grant: the largest multiple of 64 KiB, so a whole number of pages
   for any page size up to that. */
#define HOOK_IMPOSSIBLE_BYTES (SIZE_MAX & ~(HOOK_REGION_BYTES - 1))

/* Whether the map hooks report failure with CUSTOM_MMAP_FAILURE: the allocator would take a
   NULL for memory at address 0 and crash in the failure-path check below. */
static int map_failure_value_ok = 1;

static int check_failure_value(const char *hook, void *(*map)(size_t)) {
  void *p = map(HOOK_IMPOSSIBLE_BYTES);
  if (p == CUSTOM_MMAP_FAILURE)
    return 1;
  if (p == NULL) {
    out("FAIL: ");
    out(hook);
    out(": returned NULL for a request it cannot serve; the failure value is "
        "CUSTOM_MMAP_FAILURE\n");
    ++problems;
    return 0;
  }
  /* A platform that grants nearly all of the address space: nothing learned, nothing wrong. */
  out("note: ");
  out(hook);
  out(" granted ");
  put_u(HOOK_IMPOSSIBLE_BYTES);
  out(" bytes; its failure value was not checked\n");
  (void)custom_munmap(p, HOOK_IMPOSSIBLE_BYTES);
  return 1;
}

/* Returns 0 when the memory hooks are too broken for the allocator to be run on them. */
static int check_memory_hooks(void) {
  unsigned char *held[HOOK_REGIONS + 1];
  size_t n = 0, i;
  int good = 1, direct_declined = 0;
  unsigned char *d;

  for (i = 0; i < HOOK_REGIONS; ++i) {
    unsigned char *p = (unsigned char *)custom_mmap(HOOK_REGION_BYTES);
    if (p == (unsigned char *)CUSTOM_MMAP_FAILURE) {
      fail("custom_mmap: no memory for a 64 KiB region");
      good = 0;
      break;
    }
    if (!check_region("custom_mmap", p, HOOK_REGION_BYTES, held, n, (unsigned)i + 1)) {
      good = 0;
      break;
    }
    held[n++] = p;
  }
  /* Everything written must still be there: a later region must not have landed on it. */
  for (i = 0; good && i < n; ++i) {
    if (!intact(held[i], HOOK_REGION_BYTES, (unsigned)i + 1)) {
      fail("custom_mmap: a region lost its contents when the next was mapped (overlap?)");
      good = 0;
    }
  }
  d = good ? (unsigned char *)custom_direct_mmap(HOOK_REGION_BYTES) : NULL;
  if (good && d == (unsigned char *)CUSTOM_MMAP_FAILURE) {
    direct_declined = 1;
  } else if (good) {
    if (check_region("custom_direct_mmap", d, HOOK_REGION_BYTES, held, n, 99))
      held[n++] = d;
    else
      good = 0;
  }
  if (good) {
    map_failure_value_ok = check_failure_value("custom_mmap", custom_mmap);
    map_failure_value_ok &= check_failure_value("custom_direct_mmap", custom_direct_mmap);
  }
  for (i = 0; i < n; ++i) {
    if (!check_unmap_answer(held[i], HOOK_REGION_BYTES)) {
      good = 0;
      break;
    }
  }
  if (good) {
    /* Only custom_munmap's answer can be seen from here: whether the pages really went back
       is the platform's business (and refusing is allowed). */
    out(direct_declined ? "ok:   hooks: custom_mmap regions usable, aligned, apart; "
                          "custom_direct_mmap declines; " UNMAP_ANSWER_CHECKED "\n"
                        : "ok:   hooks: custom_mmap and custom_direct_mmap regions usable, "
                          "aligned, apart; " UNMAP_ANSWER_CHECKED "\n");
  }
  return good;
}

/* Where there are threads (POSIX, Windows): two of them count up a shared number under the
   port's lock, each saying while it is inside.  A lock that lets both in at once is seen by
   one finding the other inside, and by the updates one overwrites of the other's. */
#if PORT_CHECK_HOSTED && (PORT_CHECK_HAVE_FORK || defined(_WIN32)) && PORT_CHECK_HEAP_LOCKS
#define PORT_CHECK_HAVE_LOCK_THREADS 1

enum { LOCK_ROUNDS = 2000 };
static void *lock_slot; /* all zero: an unlocked lock before init_lock (the contract) */
static volatile unsigned long lock_counter;
static volatile int lock_errno_changed;

static void lock_thread_yield(void);

static volatile unsigned long lock_rounds_made[2]; /* by each thread */
static volatile int lock_inside[2];   /* the thread holds the lock, by acquire_lock's word */
static volatile int lock_seen_both;   /* one thread found the other inside with it */

/* Each thread goes on until both have made LOCK_ROUNDS rounds: a lock that lets two threads
   in shows only while both run, and on a loaded machine one thread could otherwise finish
   its rounds before the other starts.  Past its own rounds a thread takes the lock once per
   round of the other's and waits outside it in between: a correct lock need not be fair (a
   plain spin lock is not), and one thread taking it back at once could keep the other out
   until the time limit. */
static void lock_rounds(int self) {
  unsigned long i;
  for (i = 0;; ++i) {
    unsigned long v;
    if (i >= LOCK_ROUNDS) {
      unsigned long other_made = lock_rounds_made[1 - self];
      if (other_made >= LOCK_ROUNDS)
        break;
      while (lock_rounds_made[1 - self] == other_made)
        lock_thread_yield();
    }
    ERRNO_SET();
    acquire_lock(&lock_slot);
    lock_inside[self] = 1;
    if (lock_inside[1 - self])
      lock_seen_both = 1;
    v = lock_counter;
    /* Now and then invite the other thread in, which a real lock keeps out.  Not more often:
       each turn given can go to a spin lock's waiter for a whole time slice, and inviting
       every 8th round made the check take 45 s beside busy programs. */
    if ((i & 31) == 0) {
      unsigned long other_made = lock_rounds_made[1 - self];
      int k;
      /* a few turns, or until it makes a round in here: one yield alone was not enough on a
         loaded machine, where the turn went to another program (CI: a lock that locked nothing
         passed) */
      for (k = 0; k < 32 && lock_rounds_made[1 - self] == other_made; ++k)
        lock_thread_yield();
    }
    if (lock_inside[1 - self])
      lock_seen_both = 1;
    lock_counter = v + 1;
    lock_inside[self] = 0;
    release_lock(&lock_slot);
    if (!ERRNO_KEPT())
      lock_errno_changed = 1;
    lock_rounds_made[self] = i + 1;
  }
}

/* The rounds find a lock that lets two threads in only if the two run at once, which a loaded
   machine may not allow while they last (CI once passed a lock that locked nothing).  So
   first a test that needs no such luck: the checking thread takes the lock and holds it while
   a second thread, the visitor, asks for it.  A lock that works keeps the visitor waiting; one
   that does not lets it in.  The holder naps until the visitor is in, or has been at the lock
   for LOCK_HOLD_NAPS naps in a row, or for LOCK_HOLD_NAPS_MAX naps in all (it never came). */
enum { LOCK_VISITOR = 2, LOCK_HOLD_NAPS = 50, LOCK_HOLD_NAPS_MAX = 500 };
static volatile int lock_visitor_at_door, lock_visitor_in;

static void lock_visit(void) {
  lock_visitor_at_door = 1;
  acquire_lock(&lock_slot);
  lock_visitor_at_door = 0;
  lock_visitor_in = 1;
  release_lock(&lock_slot);
}

static void lock_thread_body(int index) {
  if (index == LOCK_VISITOR)
    lock_visit();
  else
    lock_rounds(index);
}

#if defined(_WIN32)
#include <windows.h>
typedef HANDLE lock_thread;
static void lock_thread_yield(void) { (void)SwitchToThread(); }
static void lock_thread_nap(void) { Sleep(1); }
static DWORD WINAPI lock_thread_main(LPVOID arg) {
  lock_thread_body((int)(intptr_t)arg);
  return 0;
}
static int lock_thread_start(lock_thread *t, int index) {
  *t = CreateThread(NULL, 0, lock_thread_main, (LPVOID)(intptr_t)index, 0, NULL);
  return *t != NULL;
}
static void lock_thread_join(lock_thread t) {
  (void)WaitForSingleObject(t, INFINITE);
  (void)CloseHandle(t);
}
static void lock_watchdog_arm(void) {}
static void lock_watchdog_disarm(void) {}
#else
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A release_lock that does not release leaves a thread waiting for ever: once no thread has
   made a round for this long the check gives its verdict and ends the program (the other
   thread cannot be stopped).  It is the rounds that are watched, not the total time: beside
   other busy programs a correct spin lock, whose holder yields inside (lock_rounds), can take
   far longer than this in all, and CI once failed a correct port so. */
enum { LOCK_WAIT_LIMIT_S = 10 };
static char lock_hang_text[200]; /* written before the threads start: the handler only sends it */
static size_t lock_hang_len;
static struct sigaction lock_alarm_before;
static volatile unsigned long lock_rounds_seen; /* both threads' rounds at the last tick */
static volatile unsigned lock_seconds_still;    /* ticks since that number last moved */
static volatile sig_atomic_t lock_watch_over;   /* set before disarming: no more ticks */

static void append(const char *text) {
  while (*text != '\0' && lock_hang_len < sizeof lock_hang_text)
    lock_hang_text[lock_hang_len++] = *text++;
}

/* Once a second: has either thread made a round since the last tick? */
static void on_lock_tick(int sig) {
  unsigned long made = lock_rounds_made[0] + lock_rounds_made[1];
  (void)sig;
  if (made != lock_rounds_seen) {
    lock_rounds_seen = made;
    lock_seconds_still = 0;
  } else if (++lock_seconds_still >= LOCK_WAIT_LIMIT_S) {
    (void)!write(1, lock_hang_text, lock_hang_len);
    _exit(1);
  }
  if (!lock_watch_over)
    alarm(1);
}

static void lock_watchdog_arm(void) {
  char buf[24];
  struct sigaction sa;
  lock_hang_len = 0;
  append("FAIL: locks: no thread got the lock for ");
  append(format_u(buf, LOCK_WAIT_LIMIT_S));
  append(" s (release_lock does not release?)\nport check: FAIL (");
  append(format_u(buf, problems + 1u));
  append(problems == 0 ? " problem)\n" : " problems)\n");
  lock_rounds_seen = 0;
  lock_seconds_still = 0;
  lock_watch_over = 0;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_lock_tick;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, &lock_alarm_before);
  alarm(1);
}

static void lock_watchdog_disarm(void) {
  lock_watch_over = 1;
  alarm(0);
  sigaction(SIGALRM, &lock_alarm_before, NULL);
}
typedef pthread_t lock_thread;
static void lock_thread_yield(void) { (void)sched_yield(); }
static void lock_thread_nap(void) {
  struct timespec ms = {0, 1000000};
  (void)nanosleep(&ms, NULL);
}
static void *lock_thread_main(void *arg) {
  lock_thread_body((int)(intptr_t)arg);
  return NULL;
}
static int lock_thread_start(lock_thread *t, int index) {
  return pthread_create(t, NULL, lock_thread_main, (void *)(intptr_t)index) == 0;
}
static void lock_thread_join(lock_thread t) { (void)pthread_join(t, NULL); }
#endif

/* The holder's part of the visit (see lock_visit); sets lock_seen_both if the visitor got in. */
static void check_lock_holds(void) {
  lock_thread t;
  int naps = 0, naps_at_door = 0;
  lock_visitor_at_door = lock_visitor_in = 0;
  acquire_lock(&lock_slot);
  if (!lock_thread_start(&t, LOCK_VISITOR)) {
    release_lock(&lock_slot);
    return;
  }
  while (!lock_visitor_in && naps_at_door < LOCK_HOLD_NAPS && naps < LOCK_HOLD_NAPS_MAX) {
    lock_thread_nap();
    ++naps;
    naps_at_door = lock_visitor_at_door ? naps_at_door + 1 : 0;
  }
  if (lock_visitor_in)
    lock_seen_both = 1;
  release_lock(&lock_slot);
  lock_thread_join(t);
}

static void check_lock_hooks(void) {
  lock_thread t[2];
  int started = 0;
  unsigned long rounds;
  lock_counter = 0;
  acquire_lock(&lock_slot); /* the zero slot works before init_lock */
  release_lock(&lock_slot);
  init_lock(&lock_slot);
  lock_watchdog_arm();
  lock_rounds_made[0] = lock_rounds_made[1] = 0;
  lock_inside[0] = lock_inside[1] = lock_seen_both = 0;
  check_lock_holds();
  while (started < 2 && lock_thread_start(&t[started], started))
    ++started;
  if (started < 2) /* no second thread: the first one stops after its own rounds */
    lock_rounds_made[1] = LOCK_ROUNDS;
  while (started > 0)
    lock_thread_join(t[--started]);
  lock_watchdog_disarm();
  final_lock(&lock_slot);
  rounds = lock_rounds_made[0] + lock_rounds_made[1];
  if (lock_counter != rounds || lock_seen_both) {
    out("FAIL: locks: acquire_lock/release_lock let two threads in at once (");
    put_u(rounds - lock_counter);
    out(" of ");
    put_u(rounds);
    out(lock_seen_both ? " updates lost, and one thread found the other inside)\n"
                       : " updates lost)\n");
    ++problems;
  } else if (lock_errno_changed) {
    fail("locks: acquire_lock or release_lock changed errno (hooks must leave it alone)");
  } else {
    ok("locks: acquire_lock/release_lock kept two threads apart");
  }
}
#else
#define PORT_CHECK_HAVE_LOCK_THREADS 0
#endif

#endif /* PORTABLE */

/* ==== Checks on the global heap ============================================================= */

#if !ONLY_MSPACES

/* Many small blocks: custom_mmap must keep supplying segments.  Returns the number of blocks
   held in `blocks` (all freed by the caller). */
static size_t check_segment_maps(void) {
  size_t last = dlmalloc_footprint(), in_use = 0, n = 0;
  /* A heap that already holds this much free memory (the program ran before the check) need
     not grow for it. */
#if !NO_MALLINFO
  size_t free_before = (size_t)dlmallinfo().fordblks;
#else
  size_t free_before = 0;
#endif
  uint32_t seed = rng_state; /* to replay the same sizes when re-reading */
  unsigned growths = 0;
  int bad_align = 0, bad_data = 0;

  while (n < PORT_CHECK_MAX_BLOCKS && in_use < PORT_CHECK_SMALL_BYTES) {
    size_t size = 16 + rng() % 1000;
    void *p = dlmalloc(size);
    if (p == NULL)
      break;
    if (!aligned(p))
      bad_align = 1;
    fill(p, size, (unsigned)n);
    blocks[n++] = p;
    in_use += size;
    if (dlmalloc_footprint() != last) {
      last = dlmalloc_footprint();
      ++growths;
    }
  }
  /* Re-read everything only now: an overlap or a page that does not keep its contents shows
     up as a block whose pattern was overwritten. */
  rng_state = seed;
  for (size_t i = 0; i < n; ++i)
    if (!intact(blocks[i], 16 + rng() % 1000, (unsigned)i))
      bad_data = 1;

  if (n == 0) {
    fail("segment maps: the very first malloc failed (custom_mmap returns no memory?)");
    return 0;
  }
  if (growths == 0 && free_before < in_use)
    fail("segment maps: the footprint never grew (custom_mmap not used?)");
  if (bad_align)
    fail("segment maps: a block is not aligned to MALLOC_ALIGNMENT (custom_mmap alignment?)");
  if (bad_data)
    fail("segment maps: a block lost its contents (memory not read/write, or overlapping)");
  if (growths == 0 && free_before >= in_use)
    out("note: segment maps: served from the free memory the heap already held\n");
  if ((growths > 0 || free_before >= in_use) && !bad_align && !bad_data) {
    out("ok:   segment maps: ");
    put_u(n);
    out(" blocks, ");
    put_u(in_use);
    out(" bytes, the heap grew ");
    put_u(growths);
    out(" times to ");
    put_u(last);
    out(" bytes\n");
  }
  if (in_use < PORT_CHECK_SMALL_BYTES && n < PORT_CHECK_MAX_BLOCKS) {
    out("note: memory ran out after ");
    put_u(in_use);
    out(" bytes (fine on a small target)\n");
  }
  return n;
}

/* Give everything back, then ask for the free space to be returned: custom_munmap. */
static void check_trim(size_t n) {
  size_t before;
  for (size_t i = 0; i < n; ++i)
    dlfree(blocks[i]);
  before = dlmalloc_footprint();
  if (dlmalloc_trim(0) && dlmalloc_footprint() < before) {
    out("ok:   unmaps: malloc_trim returned ");
    put_u(before - dlmalloc_footprint());
    out(" bytes to the system\n");
  } else {
    out("note: malloc_trim released nothing (footprint ");
    put_u(before);
#if MSPACES
    out("); the mspace check below still tests custom_munmap\n");
#else
    out(")\n");
#endif
  }
}

/* A block above the mmap threshold: custom_direct_mmap, then custom_munmap on free. */
static void check_direct_map(void) {
  size_t f0 = dlmalloc_footprint(), f1;
#if !NO_MALLINFO
  size_t h0 = (size_t)dlmallinfo().hblkhd, h1, h2;
#endif
  unsigned char *p = (unsigned char *)dlmalloc(PORT_CHECK_LARGE_BYTES);
  if (p == NULL) {
    out("note: a ");
    put_u(PORT_CHECK_LARGE_BYTES);
    out("-byte block could not be had (too little memory?); direct maps not checked\n");
    return;
  }
  if (!aligned(p))
    fail("direct map: block not aligned to MALLOC_ALIGNMENT");
  fill(p, PORT_CHECK_LARGE_BYTES, 7);
  if (!intact(p, PORT_CHECK_LARGE_BYTES, 7))
    fail("direct map: the block does not keep its contents");
  f1 = dlmalloc_footprint();
#if !NO_MALLINFO
  h1 = (size_t)dlmallinfo().hblkhd;
#endif
  dlfree(p);
#if !NO_MALLINFO
  h2 = (size_t)dlmallinfo().hblkhd;
  if (h1 >= h0 + PORT_CHECK_LARGE_BYTES) {
    if (h2 == h0)
      ok("direct maps: a large block was mapped by itself and unmapped when freed");
    else if (h2 == h1) /* kept whole, as when custom_munmap answers -1 */
      out("note: direct maps: a large block was mapped by itself; freed, its region stayed: "
          "custom_munmap kept it (allowed by the contract)\n");
    else
      fail("direct maps: freeing the large block left its mapped bytes neither given back nor "
           "kept whole");
  } else {
    ok("direct maps: declined by the port (custom_direct_mmap returned CUSTOM_MMAP_FAILURE); the large "
       "block came from a segment, which is allowed");
  }
#else
  if (f1 >= f0 + PORT_CHECK_LARGE_BYTES && dlmalloc_footprint() <= f0)
    ok("direct maps: the large block's memory went back to the system when freed");
  else
    out("note: the large block's memory stayed in the heap (served from a segment?)\n");
#endif
  (void)f0;
  (void)f1;
}

/* A request no platform can satisfy must fail cleanly, through custom_mmap failing
   (or the core refusing it before asking). */
static void check_failure_path(void) {
  /* Three quarters of the address space; volatile, so that the compiler does not refuse the
     call it can see is impossible (-Werror=alloc-size-larger-than). */
  volatile size_t huge = SIZE_MAX - (SIZE_MAX >> 2);
  void *p = dlmalloc(huge);
  if (p == NULL) {
    ok("failure path: an impossible request returned NULL");
  } else {
    dlfree(p);
    out("note: a request for 3/4 of the address space succeeded (!); freed again\n");
  }
}

/* The rest of the API once more, so every locked entry point runs at least once. */
static void check_api_locks(void) {
  void *a = dlmalloc(100), *b = dlcalloc(10, 10), *c = dlmemalign(256, 300);
  int good = a != NULL && b != NULL && c != NULL && ((uintptr_t)c & 255u) == 0;
  if (good) {
    a = dlrealloc(a, 5000);
    good = a != NULL && dlmalloc_usable_size(a) >= 5000;
  }
  dlfree(a);
  dlfree(b);
  dlfree(c);
  if (good) {
    /* "locks" only when the heap took one around each call. */
    out(PORT_CHECK_HEAP_LOCKS ? "ok:   locks: " : "ok:   basic API: ");
    out("malloc, calloc, memalign, realloc, usable_size, free all returned\n");
  }
  else
    fail("basic API: malloc/calloc/memalign/realloc misbehaved");
}
#endif /* !ONLY_MSPACES */

#if MSPACES
/* An mspace grown over several segments, then destroyed: every region must come back. */
static void check_mspace_unmaps(void) {
  mspace m = create_mspace(0, 1);
  size_t n = 0, footprint, released;
  if (m == NULL) {
    fail("mspace: create_mspace failed (custom_mmap)");
    return;
  }
  while (n < PORT_CHECK_MAX_BLOCKS && mspace_footprint(m) < PORT_CHECK_SMALL_BYTES) {
    void *p = mspace_malloc(m, 64 + rng() % 4000);
    if (p == NULL)
      break;
    blocks[n++] = p;
  }
  /* Free every other block so the heap holds free chunks of many sizes when it goes away. */
  for (size_t i = 0; i < n; i += 2)
    mspace_free(m, blocks[i]);
  footprint = mspace_footprint(m);
  released = destroy_mspace(m);
  if (released == footprint && released > 0) {
    out("ok:   unmaps: destroy_mspace gave back all ");
    put_u(released);
    out(" bytes\n");
  } else if (released < footprint) {
    /* custom_munmap refused some regions: allowed, the memory stays with the program. */
    out("note: unmaps: destroy_mspace gave back ");
    put_u(released);
    out(" of ");
    put_u(footprint);
    out(" bytes: custom_munmap kept the rest (allowed by the contract)\n");
  } else {
    out("FAIL: unmaps: destroy_mspace reported ");
    put_u(released);
    out(" bytes released of a ");
    put_u(footprint);
    out("-byte footprint\n");
    ++problems;
  }
}
#endif /* MSPACES */

/* ==== The abort path (needs a child process) ================================================ */

#if PORT_CHECK_HAVE_FORK || PORT_CHECK_HAVE_SPAWN
/* The misuse the child commits: free a block twice.  Returns only if nobody noticed. */
static void commit_double_free(void) {
  void *a, *b;
  /* The second free goes through a volatile copy: without USE_DL_PREFIX dlfree is free, and
     the compiler would refuse the deliberate use-after-free it can see. */
  void *volatile again;
#if !ONLY_MSPACES
  a = dlmalloc(64);
  b = dlmalloc(64); /* keeps a away from the top chunk */
  again = a;
  dlfree(a);
  dlfree(again);
#else
  mspace m = create_mspace(0, 1);
  a = mspace_malloc(m, 64);
  b = mspace_malloc(m, 64);
  again = a;
  mspace_free(m, a);
  mspace_free(m, again);
#endif
  (void)b;
}
#endif

#if PORT_CHECK_HAVE_FORK
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static int reason_fd = -1;

/* Whether the library uses a port (and so a custom_abort that reports). */
#if defined(PORTABLE) && PORTABLE
#define PORT_CHECK_HAS_PORT 1
#else
#define PORT_CHECK_HAS_PORT 0
#endif

/* Runs in the child when custom_abort calls abort(): hand the parent the reason as the
   allocator recorded it, then let SIGABRT do its default work. */
static void on_sigabrt(int sig) {
  const char *r = malloc_abort_reason();
  if (reason_fd >= 0 && r != NULL)
    (void)write(reason_fd, r, strlen(r));
  signal(sig, SIG_DFL);
  raise(sig); /* delivered once this handler returns, since SIGABRT is blocked inside it */
}

/* Read a pipe to its end (or until buf is full); returns the bytes kept. */
static size_t drain(int fd, char *buf, size_t cap) {
  size_t n = 0;
  char scratch[256];
  for (;;) {
    ssize_t got = read(fd, n + 1 < cap ? buf + n : scratch,
                       n + 1 < cap ? cap - 1 - n : sizeof scratch);
    if (got <= 0)
      break;
    if (n + 1 < cap)
      n += (size_t)got;
  }
  buf[n] = '\0';
  return n;
}

static void check_abort_path(void) {
  int err_pipe[2], reason_pipe[2], status = 0;
  char err_text[2048], reason[1024];
  pid_t pid;

#if defined(INSECURE) && INSECURE
  out("skip: abort path (built with INSECURE=1: double frees are not detected)\n");
  return;
#endif
  if (pipe(err_pipe) != 0 || pipe(reason_pipe) != 0) {
    fail("abort path: pipe() failed");
    return;
  }
  pid = fork();
  if (pid < 0) {
    fail("abort path: fork() failed");
    return;
  }
  if (pid == 0) {
    struct sigaction sa;
    close(err_pipe[0]);
    close(reason_pipe[0]);
    dup2(err_pipe[1], 2);
    reason_fd = reason_pipe[1];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigabrt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGABRT, &sa, NULL);
    alarm(20); /* a custom_abort that never returns but never stops either ends here */
    commit_double_free();
    _exit(0); /* reached only if the double free went unnoticed */
  }
  close(err_pipe[1]);
  close(reason_pipe[1]);
  drain(err_pipe[0], err_text, sizeof err_text);
  drain(reason_pipe[0], reason, sizeof reason);
  close(err_pipe[0]);
  close(reason_pipe[0]);
  while (waitpid(pid, &status, 0) < 0) {
  }

  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    fail("abort path: a double free went undetected (the child exited normally)");
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    fail("abort path: the child hung after the double free (custom_abort does not stop?)");
  } else if (reason[0] == '\0') {
    if (err_text[0] != '\0') {
      out("note: the child stopped without SIGABRT; its stderr was: ");
      out(err_text);
      ok("abort path: the double free stopped the child with a message");
    } else {
      fail("abort path: the child stopped without abort() and printed nothing");
    }
  } else if (!PORT_CHECK_HAS_PORT && strstr(err_text, reason) == NULL) {
    /* malloc.c's internal layer (no PORTABLE) has no custom_abort: it records the reason and
       calls abort() without printing, which is all that can be checked. */
    out("ok:   abort path: double free -> abort() with the reason \"");
    out(reason);
    out("\" (internal layer: no port, nothing printed)\n");
  } else if (strstr(err_text, reason) == NULL) {
    out("FAIL: abort path: the child's stderr lacks the reason \"");
    out(reason);
    out("\"; it was: \"");
    out(err_text);
    out("\"\n");
    ++problems;
  } else {
    out("ok:   abort path: double free -> custom_abort -> abort(); stderr said: ");
    out(err_text);
    if (err_text[0] == '\0' || err_text[strlen(err_text) - 1] != '\n')
      out("\n");
  }
}
#endif /* PORT_CHECK_HAVE_FORK */

#if PORT_CHECK_HAVE_SPAWN
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <string.h>
#include <windows.h>

/* Start this program again with --double-free-child, its stdout and stderr on a pipe.  Windows
   has no signal to intercept the reason with, so the check is: the child must stop with a
   non-zero exit code and must have printed something (ports/win32.c prints
   "dlmalloc: <reason>" and exits with 3, as abort() does). */
static void check_abort_path(void) {
  char exe[MAX_PATH + 1], cmd[MAX_PATH + 40], text[2048], scratch[256];
  SECURITY_ATTRIBUTES sa;
  STARTUPINFOA si;
  PROCESS_INFORMATION pi;
  HANDLE rd, wr;
  DWORD len, got, code = 0;
  size_t n = 0;

#if defined(INSECURE) && INSECURE
  out("skip: abort path (built with INSECURE=1: double frees are not detected)\n");
  return;
#endif
  len = GetModuleFileNameA(NULL, exe, sizeof exe);
  if (len == 0 || len >= sizeof exe || len + 25 >= sizeof cmd) {
    fail("abort path: cannot find this program's own path");
    return;
  }
  cmd[0] = '"';
  memcpy(cmd + 1, exe, len);
  memcpy(cmd + 1 + len, "\" --double-free-child", 22);
  memset(&sa, 0, sizeof sa);
  sa.nLength = sizeof sa;
  sa.bInheritHandle = TRUE;
  if (!CreatePipe(&rd, &wr, &sa, 0)) {
    fail("abort path: CreatePipe failed");
    return;
  }
  SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0); /* only the write end goes to the child */
  memset(&si, 0, sizeof si);
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
  si.hStdOutput = wr;
  si.hStdError = wr;
  if (!CreateProcessA(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi)) {
    CloseHandle(rd);
    CloseHandle(wr);
    fail("abort path: CreateProcess failed");
    return;
  }
  CloseHandle(wr); /* now the pipe ends when the child does */
  while (ReadFile(rd, n + 1 < sizeof text ? text + n : scratch,
                  n + 1 < sizeof text ? (DWORD)(sizeof text - 1 - n) : (DWORD)sizeof scratch,
                  &got, NULL) &&
         got > 0) {
    if (n + 1 < sizeof text)
      n += got;
  }
  text[n] = '\0';
  CloseHandle(rd);
  if (WaitForSingleObject(pi.hProcess, 30000) != WAIT_OBJECT_0) {
    TerminateProcess(pi.hProcess, 99);
    fail("abort path: the child hung after the double free (custom_abort does not stop?)");
  } else {
    GetExitCodeProcess(pi.hProcess, &code);
    if (code == 0) {
      fail("abort path: a double free went undetected (the child exited normally)");
    } else if (n == 0) {
      fail("abort path: the child stopped but printed nothing (custom_abort must report)");
    } else {
      out("ok:   abort path: double free -> custom_abort, exit code ");
      put_u(code);
      out("; it said: ");
      out(text);
      if (text[n - 1] != '\n')
        out("\n");
    }
  }
  CloseHandle(pi.hProcess);
  CloseHandle(pi.hThread);
}
#endif /* PORT_CHECK_HAVE_SPAWN */

/* ==== Driver ================================================================================ */

int port_check_run(port_check_writer write) {
  const char *reason;
  out = write;
  problems = 0;
  out("port check: portable-dlmalloc " PORTABLE_DLMALLOC_VERSION ", ");
  put_u(sizeof(void *) * 8);
  out("-bit, MALLOC_ALIGNMENT ");
  put_u(MALLOC_ALIGNMENT);
  out("\n");

  reason = malloc_abort_reason();
  if (reason == NULL || reason[0] != '\0')
    fail("malloc_abort_reason() is not \"\" before any error");

#if defined(PORTABLE) && PORTABLE
  if (!check_memory_hooks()) {
    out("skip: the allocator checks (they would run on the faulty memory hooks)\n");
    goto summary;
  }
#if PORT_CHECK_HAVE_LOCK_THREADS
  check_lock_hooks();
#elif !PORT_CHECK_HEAP_LOCKS
  out("note: locks: built without USE_LOCKS=2: the heap takes no lock; only single-threaded "
      "programs are safe\n");
#else
  out("skip: lock exclusion (no threads here to check it with)\n");
#endif
#endif
#if !ONLY_MSPACES
  {
    size_t n = check_segment_maps();
    check_trim(n);
    check_direct_map();
#if defined(PORTABLE) && PORTABLE
    if (!map_failure_value_ok)
      out("skip: failure path (the map hooks answer NULL, which the allocator would take for "
          "memory)\n");
    else
#endif
      check_failure_path();
    check_api_locks();
  }
#endif
#if MSPACES
  check_mspace_unmaps();
#else
  out("skip: mspaces: built without MSPACES=1 (destroy_mspace's unmaps not checked)\n");
#endif
#if PORT_CHECK_HAVE_FORK || PORT_CHECK_HAVE_SPAWN
  check_abort_path();
#else
  out("skip: abort path (needs a child process, which this platform lacks: to check it by "
      "hand, free a block twice and confirm custom_abort reports malloc_abort_reason() and "
      "stops)\n");
#endif

#if defined(PORTABLE) && PORTABLE
summary:
#endif
  reason = malloc_abort_reason();
  if (reason != NULL && reason[0] != '\0') {
    out("FAIL: the allocator recorded an error during the check: ");
    out(reason);
    out("\n");
    ++problems;
  }
  if (problems == 0) {
    out("port check: PASS\n");
  } else {
    out("port check: FAIL (");
    put_u(problems);
    out(problems == 1 ? " problem)\n" : " problems)\n");
  }
  return (int)problems;
}

/* ==== Hosted main =========================================================================== */

#if PORT_CHECK_HOSTED
#include <stdio.h>

#ifdef PORT_CHECK_STATIC_ARENA
#include "../ports/static_arena.h"
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <io.h>
#define raw_write_err(buf, len) _write(2, buf, (unsigned)(len))
#else
#include <unistd.h>
#define raw_write_err(buf, len) write(2, buf, len)
#endif

static unsigned char arena[PORT_CHECK_STATIC_ARENA];

/* Replaces the arena port's default (weak) custom_abort, which would spin forever. */
void custom_abort(void) {
  const char *r = malloc_abort_reason();
  (void)!raw_write_err("dlmalloc: ", 10);
  (void)!raw_write_err(r, strlen(r));
  (void)!raw_write_err("\n", 1);
  abort();
}
#endif /* PORT_CHECK_STATIC_ARENA */

static void to_stdout(const char *text) {
  fputs(text, stdout);
  fflush(stdout); /* before fork(), and so that a hang still shows how far we got */
}

#ifndef PORT_CHECK_NO_MAIN
int main(int argc, char **argv) {
  /* Unbuffered: stdio then allocates no buffer.  Built without USE_DL_PREFIX, its malloc is
     the one under test, and a release_lock that does not release would hang that malloc
     before the lock check's watchdog is armed, with nothing printed. */
  setvbuf(stdout, NULL, _IONBF, 0);
#ifdef PORT_CHECK_STATIC_ARENA
  if (dlmalloc_arena_init(arena, sizeof arena) == 0) {
    fputs("port check: FAIL (the arena is too small)\n", stdout);
    return 1;
  }
#endif
#if PORT_CHECK_HAVE_SPAWN
  if (argc > 1 && strcmp(argv[1], "--double-free-child") == 0) {
    commit_double_free();
    return 0; /* the allocator did not notice */
  }
#endif
  (void)argc;
  (void)argv;
  return port_check_run(to_stdout) == 0 ? 0 : 1;
}
#endif
#endif /* PORT_CHECK_HOSTED */
