/* test_port.c -- the instrumented PORTABLE port of the tests; see test_port.h. */
#if !defined(_DEFAULT_SOURCE)
#define _DEFAULT_SOURCE 1 /* MAP_ANONYMOUS under -std=c99/c11 */
#endif
#include "test_port.h"

#include "malloc.h"

#include <stdint.h>
#include <string.h>

#define TP_MFAIL ((void *)(~(uintptr_t)0))

/* ---- The platform underneath -------------------------------------------------------------
   On a POSIX host the instrumented port maps with mmap and writes to stderr itself.  Built
   with TP_WRAPS_PORT (tests/matrix, for Windows, UEFI and bare metal) it stands in front of the
   platform's real port instead: tests/matrix/port_under_test.c compiles that port with its
   memory and lock hooks renamed tp_platform_*; the memory comes from those, the locks are this
   file's own (the platform's are not called), and custom_abort stays the real port's.  The
   programs run there single-threaded, so a plain static token marks a lock's owner. */
#if TP_WRAPS_PORT
void *tp_platform_mmap(size_t length);
int tp_platform_munmap(void *ptr, size_t length);
void th_write(const char *text); /* the test program's output (tests/harness.h) */
static void *tp_os_map(size_t length) { return tp_platform_mmap(length); }
static int tp_os_unmap(void *ptr, size_t length) { return tp_platform_munmap(ptr, length); }
static void tp_os_write_error(const char *text) { th_write(text); }
static void tp_os_yield(void) {}
static void tp_os_pause(unsigned usec) { (void)usec; }
#define TP_OWNER_STORAGE static
#else
#include <sched.h>
#include <stdlib.h> /* abort */
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif
static void *tp_os_map(size_t length) {
  void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? TP_MFAIL : p;
}
static int tp_os_unmap(void *ptr, size_t length) { return munmap(ptr, length); }
static void tp_os_write_error(const char *text) {
  size_t n = strlen(text);
  while (n > 0) {
    ssize_t w = write(2, text, n);
    if (w <= 0)
      return;
    text += w;
    n -= (size_t)w;
  }
}
static void tp_os_yield(void) { sched_yield(); }
static void tp_os_pause(unsigned usec) {
  struct timespec ts;
  ts.tv_sec = (time_t)(usec / 1000000u);
  ts.tv_nsec = (long)(usec % 1000000u) * 1000L;
  (void)nanosleep(&ts, NULL);
}
#define TP_OWNER_STORAGE static _Thread_local
#endif

/* The page size malloc.c assumes in PORTABLE builds: every length must be a multiple of it. */
#ifndef TP_PAGE_SIZE
#ifdef DEFAULT_PAGE_SIZE
#define TP_PAGE_SIZE DEFAULT_PAGE_SIZE
#else
#define TP_PAGE_SIZE 4096u /* malloc.c's DEFAULT_PAGE_SIZE */
#endif
#endif

#define TP_MAX_REGIONS 8192u

/* When malloc.c does not assume zeroed memory (MMAP_CLEARS=0, the PORTABLE default), fresh
   regions are filled with this byte so that anything relying on zeroed memory shows up. */
#if !defined(MMAP_CLEARS) || !MMAP_CLEARS
#define TP_SCRIBBLE 0xA5
#endif

/* ---- Small output helpers (no stdio: they run inside the allocator) ---------------------- */

static void tp_put_hex(uintptr_t v) {
  char buf[2 + 2 * sizeof(uintptr_t) + 1];
  size_t i, n = 2 * sizeof(uintptr_t);
  buf[0] = '0';
  buf[1] = 'x';
  for (i = 0; i < n; i++)
    buf[2 + i] = "0123456789abcdef"[(v >> (4 * (n - 1 - i))) & 0xf];
  buf[2 + n] = '\0';
  tp_os_write_error(buf);
}

/* Report a breach of the port contract and stop (SIGABRT on a host, so no death test can
   pass on it; the real port's custom_abort elsewhere, with no reason recorded). */
static void tp_violation(const char *what, const void *p, size_t n) {
  tp_os_write_error("test_port: PORT CONTRACT VIOLATION: ");
  tp_os_write_error(what);
  tp_os_write_error(" ptr=");
  tp_put_hex((uintptr_t)p);
  tp_os_write_error(" len=");
  tp_put_hex((uintptr_t)n);
  tp_os_write_error("\n");
#if TP_WRAPS_PORT
  custom_abort();
#else
  abort();
#endif
}

static void tp_lock_error(const char *what, void **slot) {
  tp_os_write_error("test_port: LOCK ERROR: ");
  tp_os_write_error(what);
  tp_os_write_error(" slot=");
  tp_put_hex((uintptr_t)slot);
  tp_os_write_error("\n");
}

/* ---- Counters ---------------------------------------------------------------------------- */

static size_t tp_maps, tp_direct_maps, tp_unmaps, tp_map_calls, tp_direct_calls;
static size_t tp_injected, tp_refused;
static size_t tp_inits, tp_finals, tp_acquires, tp_releases, tp_errors, tp_resets;
static long tp_held;

/* Failure injection state. */
static unsigned tp_mmap_countdown, tp_direct_countdown, tp_any_countdown, tp_from_countdown;
static unsigned tp_top_countdown;
static int tp_all_maps_fail, tp_direct_fail, tp_munmap_refuse;
static unsigned tp_pause_usec; /* tp_pause_hooks */

static void tp_pause_if_asked(void) {
  unsigned usec = __atomic_load_n(&tp_pause_usec, __ATOMIC_RELAXED);
  if (usec != 0)
    tp_os_pause(usec);
}

/* ---- The region table, guarded by its own spin flag -------------------------------------- */

struct tp_region {
  char *base;
  size_t len;
  int at_top; /* tp_map_at_top_nth's address, no memory behind it */
};

static struct tp_region tp_regions[TP_MAX_REGIONS];
static size_t tp_live, tp_live_bytes;
static char tp_table_flag;

static void tp_table_lock(void) {
  while (__atomic_test_and_set(&tp_table_flag, __ATOMIC_ACQUIRE))
    tp_os_yield();
}

static void tp_table_unlock(void) { __atomic_clear(&tp_table_flag, __ATOMIC_RELEASE); }

static void tp_table_add(void *p, size_t len, int at_top) {
  size_t i;
  tp_table_lock();
  for (i = 0; i < TP_MAX_REGIONS; i++) {
    if (tp_regions[i].base == NULL) {
      tp_regions[i].base = (char *)p;
      tp_regions[i].len = len;
      tp_regions[i].at_top = at_top;
      tp_live++;
      tp_live_bytes += len;
      tp_table_unlock();
      return;
    }
  }
  tp_table_unlock();
  tp_violation("region table full (raise TP_MAX_REGIONS)", p, len);
}

/* Index of the region that starts at p, or TP_MAX_REGIONS. Table lock held. */
static size_t tp_table_find(const void *p) {
  size_t i;
  for (i = 0; i < TP_MAX_REGIONS; i++)
    if (tp_regions[i].base == (const char *)p)
      return i;
  return TP_MAX_REGIONS;
}

int tp_is_mapped(const void *p, size_t n) {
  const char *c = (const char *)p;
  size_t i;
  int found = 0;
  tp_table_lock();
  for (i = 0; i < TP_MAX_REGIONS && !found; i++) {
    const struct tp_region *r = &tp_regions[i];
    if (r->base != NULL && c >= r->base && n <= r->len && (size_t)(c - r->base) <= r->len - n)
      found = 1;
  }
  tp_table_unlock();
  return found;
}

/* ---- Map hooks --------------------------------------------------------------------------- */

/* Count one call against an "Nth call" countdown; 1 when this call is the Nth. */
static int tp_countdown_hits(unsigned *countdown) {
  unsigned c = __atomic_load_n(countdown, __ATOMIC_RELAXED);
  return c != 0 && __atomic_sub_fetch(countdown, 1u, __ATOMIC_RELAXED) == 0;
}

/* Decide whether this call must fail; countdown is the "Nth call" counter of the hook, and
   tp_any_countdown the one both hooks share. */
static int tp_should_fail(unsigned *countdown, int always) {
  int fail = always || __atomic_load_n(&tp_all_maps_fail, __ATOMIC_RELAXED);
  if (tp_countdown_hits(countdown))
    fail = 1;
  if (tp_countdown_hits(&tp_any_countdown))
    fail = 1;
  if (fail)
    __atomic_fetch_add(&tp_injected, 1, __ATOMIC_RELAXED);
  return fail;
}

/* tp_fail_maps_from: counts map calls of both kinds and, at the Nth, makes every one fail. */
static void tp_count_towards_sticky(void) {
  if (tp_countdown_hits(&tp_from_countdown))
    __atomic_store_n(&tp_all_maps_fail, 1, __ATOMIC_RELAXED);
}

static void *tp_map(size_t length) {
  void *p;
  if (length == 0 || length % TP_PAGE_SIZE != 0)
    tp_violation("map length is zero or not a multiple of the page size", NULL, length);
  if (tp_countdown_hits(&tp_top_countdown)) {
    p = (void *)(0 - (uintptr_t)length); /* ends where the address space does */
    tp_table_add(p, length, 1);
    return p;
  }
  p = tp_os_map(length);
  if (p == TP_MFAIL)
    return TP_MFAIL;
#ifdef TP_SCRIBBLE
  memset(p, TP_SCRIBBLE, length);
#endif
  tp_table_add(p, length, 0);
  return p;
}

void *custom_mmap(size_t length) {
  void *p;
  __atomic_fetch_add(&tp_map_calls, 1, __ATOMIC_RELAXED);
  tp_pause_if_asked();
  tp_count_towards_sticky();
  if (tp_should_fail(&tp_mmap_countdown, 0))
    return TP_MFAIL;
  p = tp_map(length);
  if (p != TP_MFAIL)
    __atomic_fetch_add(&tp_maps, 1, __ATOMIC_RELAXED);
  return p;
}

void *custom_direct_mmap(size_t length) {
  void *p;
  int always = __atomic_load_n(&tp_direct_fail, __ATOMIC_RELAXED);
  __atomic_fetch_add(&tp_direct_calls, 1, __ATOMIC_RELAXED);
  tp_pause_if_asked();
  tp_count_towards_sticky();
  if (tp_should_fail(&tp_direct_countdown, always))
    return TP_MFAIL;
  p = tp_map(length);
  if (p != TP_MFAIL)
    __atomic_fetch_add(&tp_direct_maps, 1, __ATOMIC_RELAXED);
  return p;
}

static void (*volatile tp_unmap_hook)(const void *, size_t); /* tp_before_unmap */

void tp_before_unmap(void (*fn)(const void *base, size_t length)) { tp_unmap_hook = fn; }

int custom_munmap(void *ptr, size_t length) {
  size_t i;
  int at_top;
  tp_table_lock();
  i = tp_table_find(ptr);
  if (ptr == NULL || i == TP_MAX_REGIONS) {
    tp_table_unlock();
    tp_violation("custom_munmap of an address no map call returned", ptr, length);
  }
  if (tp_regions[i].len != length) {
    size_t real = tp_regions[i].len;
    tp_table_unlock();
    tp_os_write_error("test_port: the region was mapped with len=");
    tp_put_hex((uintptr_t)real);
    tp_os_write_error("\n");
    tp_violation("custom_munmap with a length other than the mapped one", ptr, length);
  }
  if (__atomic_load_n(&tp_munmap_refuse, __ATOMIC_RELAXED)) {
    tp_table_unlock();
    __atomic_fetch_add(&tp_refused, 1, __ATOMIC_RELAXED);
    return -1;
  }
  at_top = tp_regions[i].at_top;
  if (!at_top && tp_unmap_hook != NULL)
    tp_unmap_hook(ptr, length);
  tp_regions[i].base = NULL;
  tp_regions[i].len = 0;
  tp_live--;
  tp_live_bytes -= length;
  tp_table_unlock();
  if (!at_top && tp_os_unmap(ptr, length) != 0)
    tp_violation("the platform's unmap failed", ptr, length);
  __atomic_fetch_add(&tp_unmaps, 1, __ATOMIC_RELAXED);
  return 0;
}

/* ---- Locks ------------------------------------------------------------------------------- */
/* A held slot contains the address of its owner's thread-local token; 0 means unlocked. */

TP_OWNER_STORAGE char tp_thread_token;

void init_lock(void **lock) {
  void *owner = __atomic_load_n(lock, __ATOMIC_ACQUIRE);
  __atomic_fetch_add(&tp_inits, 1, __ATOMIC_RELAXED);
  if (owner != NULL) {
    /* Re-initialising a held lock resets it (malloc_postfork_child does this in the child of
       fork, where the parent's holders are gone); it is counted, not treated as an error. */
    __atomic_fetch_add(&tp_resets, 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&tp_held, 1, __ATOMIC_RELAXED);
  }
  __atomic_store_n(lock, NULL, __ATOMIC_RELEASE);
}

void final_lock(void **lock) {
  __atomic_fetch_add(&tp_finals, 1, __ATOMIC_RELAXED);
  if (__atomic_load_n(lock, __ATOMIC_ACQUIRE) != NULL) {
    __atomic_fetch_add(&tp_errors, 1, __ATOMIC_RELAXED);
    tp_lock_error("final_lock on a held lock", lock);
  }
}

void acquire_lock(void **lock) {
  void *me = &tp_thread_token;
  void *expected = NULL;
  if (__atomic_load_n(lock, __ATOMIC_RELAXED) == me) {
    /* Re-entry would deadlock: count it and go on without taking the lock again. */
    __atomic_fetch_add(&tp_errors, 1, __ATOMIC_RELAXED);
    tp_lock_error("acquire_lock re-entered by its owner", lock);
    return;
  }
  tp_pause_if_asked();
  while (!__atomic_compare_exchange_n(lock, &expected, me, 0, __ATOMIC_ACQUIRE,
                                      __ATOMIC_RELAXED)) {
    expected = NULL;
    tp_os_yield();
  }
  __atomic_fetch_add(&tp_acquires, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&tp_held, 1, __ATOMIC_RELAXED);
}

/* tp_after_release: the hook and the thread (its token) whose releases run it. */
static void (*volatile tp_release_hook)(void);
static void *volatile tp_release_hook_thread;

void release_lock(void **lock) {
  void *me = &tp_thread_token;
  if (__atomic_load_n(lock, __ATOMIC_RELAXED) != me) {
    __atomic_fetch_add(&tp_errors, 1, __ATOMIC_RELAXED);
    tp_lock_error("release_lock of a lock this thread does not hold", lock);
    return;
  }
  __atomic_fetch_sub(&tp_held, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&tp_releases, 1, __ATOMIC_RELAXED);
  __atomic_store_n(lock, NULL, __ATOMIC_RELEASE);
  if (tp_release_hook != NULL && tp_release_hook_thread == me)
    tp_release_hook();
}

void tp_after_release(void (*fn)(void)) {
  tp_release_hook_thread = &tp_thread_token;
  tp_release_hook = fn;
}

/* ---- Abort ------------------------------------------------------------------------------- */

#if !TP_WRAPS_PORT
static int tp_abort_signal; /* tp_abort_by_signal */

void tp_abort_by_signal(int on) { tp_abort_signal = on; }

void custom_abort(void) {
  tp_os_write_error("custom_abort: ");
  tp_os_write_error(malloc_abort_reason());
  tp_os_write_error("\n");
  if (tp_abort_signal)
    abort();
  _exit(TP_ABORT_EXIT_CODE);
}
#endif

/* ---- Test-side controls ------------------------------------------------------------------ */

void tp_get_stats(struct tp_stats *out) {
  tp_table_lock();
  out->live_maps = tp_live;
  out->live_bytes = tp_live_bytes;
  tp_table_unlock();
  out->maps = __atomic_load_n(&tp_maps, __ATOMIC_RELAXED);
  out->direct_maps = __atomic_load_n(&tp_direct_maps, __ATOMIC_RELAXED);
  out->unmaps = __atomic_load_n(&tp_unmaps, __ATOMIC_RELAXED);
  out->map_calls = __atomic_load_n(&tp_map_calls, __ATOMIC_RELAXED);
  out->direct_calls = __atomic_load_n(&tp_direct_calls, __ATOMIC_RELAXED);
  out->injected_failures = __atomic_load_n(&tp_injected, __ATOMIC_RELAXED);
  out->refused_unmaps = __atomic_load_n(&tp_refused, __ATOMIC_RELAXED);
  out->lock_inits = __atomic_load_n(&tp_inits, __ATOMIC_RELAXED);
  out->lock_finals = __atomic_load_n(&tp_finals, __ATOMIC_RELAXED);
  out->lock_resets = __atomic_load_n(&tp_resets, __ATOMIC_RELAXED);
  out->acquires = __atomic_load_n(&tp_acquires, __ATOMIC_RELAXED);
  out->releases = __atomic_load_n(&tp_releases, __ATOMIC_RELAXED);
  out->locks_held = __atomic_load_n(&tp_held, __ATOMIC_RELAXED);
  out->lock_errors = __atomic_load_n(&tp_errors, __ATOMIC_RELAXED);
}

size_t tp_live_maps(void) {
  size_t n;
  tp_table_lock();
  n = tp_live;
  tp_table_unlock();
  return n;
}

long tp_locks_held(void) { return __atomic_load_n(&tp_held, __ATOMIC_RELAXED); }
size_t tp_lock_errors(void) { return __atomic_load_n(&tp_errors, __ATOMIC_RELAXED); }

void tp_fail_mmap_nth(unsigned n) { __atomic_store_n(&tp_mmap_countdown, n, __ATOMIC_RELAXED); }
void tp_fail_direct_nth(unsigned n) {
  __atomic_store_n(&tp_direct_countdown, n, __ATOMIC_RELAXED);
}
void tp_fail_map_nth(unsigned n) { __atomic_store_n(&tp_any_countdown, n, __ATOMIC_RELAXED); }
void tp_fail_maps_from(unsigned n) {
  __atomic_store_n(&tp_from_countdown, n, __ATOMIC_RELAXED);
}
void tp_map_at_top_nth(unsigned n) {
  __atomic_store_n(&tp_top_countdown, n, __ATOMIC_RELAXED);
}
void tp_fail_all_maps(int on) { __atomic_store_n(&tp_all_maps_fail, on, __ATOMIC_RELAXED); }
void tp_fail_direct(int on) { __atomic_store_n(&tp_direct_fail, on, __ATOMIC_RELAXED); }
void tp_pause_hooks(unsigned usec) { __atomic_store_n(&tp_pause_usec, usec, __ATOMIC_RELAXED); }
void tp_refuse_munmap(int on) { __atomic_store_n(&tp_munmap_refuse, on, __ATOMIC_RELAXED); }

static char tp_stats_buffer[1024];
static size_t tp_stats_length;

void tp_stats_write(const char *text, size_t length) {
  if (length > sizeof tp_stats_buffer - 1 - tp_stats_length)
    length = sizeof tp_stats_buffer - 1 - tp_stats_length;
  memcpy(tp_stats_buffer + tp_stats_length, text, length);
  tp_stats_length += length;
  tp_stats_buffer[tp_stats_length] = 0;
}
const char *tp_stats_text(void) { return tp_stats_buffer; }
void tp_stats_clear(void) {
  tp_stats_length = 0;
  tp_stats_buffer[0] = 0;
}

void tp_clear_failures(void) {
  tp_fail_maps_from(0);
  tp_fail_mmap_nth(0);
  tp_fail_direct_nth(0);
  tp_fail_map_nth(0);
  tp_fail_all_maps(0);
  tp_fail_direct(0);
  tp_refuse_munmap(0);
  tp_map_at_top_nth(0);
}
