/*
  test_threads.c -- thread stress: T threads x M operations on shared and private heaps
  (hosted only, POSIX threads; configurations with USE_LOCKS != 0).

  Heaps: the global heap, one mspace shared by all threads and one mspace per thread (all
  created locked, since any thread may free into any of them).  Each thread keeps a table of
  blocks and, at random:
  - allocates one: malloc, calloc (zeroes checked) or memalign (alignment checked, 16 B to
    64 KiB), in a random heap, of a random size: small (< 256 B), tree (256 B up to the mmap
    threshold) or, now and then, directly mapped (1 to 4 times the threshold);
  - frees one;
  - reallocates one: to a random size, or as a chain that doubles a block step by step from
    small through tree sizes into a direct map and then shrinks it back;
  - swaps one with a shared row of mailboxes, so most blocks end up freed (or reallocated) by
    a thread other than the one that allocated them, into a heap that thread did not choose.
  Every block starts with a header (size, id, heap) and carries a pattern derived from its id
  (stamp_sampled of heaps.h: whole up to 512 bytes, sampled beyond), verified
  before every free and realloc and, for a realloc, on the kept prefix afterwards.  Meanwhile
  the main thread forks a few times (malloc_prefork/postfork through pthread_atfork): each child
  must be able to allocate and free on the global heap and the shared mspace.  At the end no
  allocation may have failed, no pattern may be damaged, every mspace is destroyed, and with
  the instrumented port (TEST_WITH_PORT) the lock counters must balance.

  Usage: test_threads [scale [threads]]
    scale:   operations per thread = scale x 1000 (default 100, or DLMALLOC_TEST_SCALE);
    threads: T, 1 to 64 (default 4, or DLMALLOC_TEST_THREADS).
  CTest runs each variant at its usual scale (a few seconds).  A long soak, for example 16
  threads x 10 million operations each:  test_threads 10000 16
*/
#define _DEFAULT_SOURCE 1
#include "malloc.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "heaps.h"
#ifdef TEST_WITH_PORT
#include "test_port.h"
#endif

#define MAX_THREADS 64
#define DEFAULT_THREADS 4
#define OWN 256
#define MAILBOXES 64
#define OPS_PER_SCALE 1000u
#define FORKS 6

#define THRESHOLD TEST_MMAP_THRESHOLD

/* Heap numbers: GLOBAL_HEAP, SHARED_HEAP, then FIRST_OWN_HEAP + t for thread t's mspace. */
#define GLOBAL_HEAP 0u
#define SHARED_HEAP 1u
#define FIRST_OWN_HEAP 2u

struct head {
  size_t size; /* bytes after the header */
  uint32_t id;
  uint32_t heap;
};

#if MSPACES
static mspace spaces[FIRST_OWN_HEAP + MAX_THREADS]; /* [SHARED_HEAP] and the threads' own */
#endif
static void *volatile mailbox[MAILBOXES];
static unsigned long ops_per_thread;
static unsigned nthreads;

struct worker {
  pthread_t thread;
  unsigned index;
  uint64_t rng;
  uint32_t next_id;
  unsigned long bad_pattern, bad_zero, bad_align, nulls, handed_over, chains;
  struct head *own[OWN];
};

static uint64_t next_rand(struct worker *w) { /* xorshift64 */
  uint64_t x = w->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return w->rng = x;
}

static size_t rand_below(struct worker *w, size_t n) { return (size_t)(next_rand(w) % n); }

/* Small, tree or (about one in 1000) directly mapped. */
static size_t random_size(struct worker *w) {
  unsigned r = (unsigned)rand_below(w, 1000);
  if (r < 600)
    return rand_below(w, 256);
  if (r < 950)
    return 256 + rand_below(w, 4096 - 256);
  if (r < 999)
    return 4096 + rand_below(w, THRESHOLD - 4096);
  return THRESHOLD + rand_below(w, 3 * THRESHOLD);
}

/* ---- Patterns ---------------------------------------------------------------------------- */

static void stamp(struct head *h) { stamp_sampled(h + 1, h->size, h->id); }

static int intact(const struct head *h) {
  return sampled_intact(h + 1, h->size, h->size, h->id);
}

/* ---- The heaps --------------------------------------------------------------------------- */

static unsigned random_heap(struct worker *w) {
#if MSPACES && !ONLY_MSPACES
  unsigned r = (unsigned)rand_below(w, 3);
#elif ONLY_MSPACES
  unsigned r = 1 + (unsigned)rand_below(w, 2);
#else
  unsigned r = 0;
  (void)w;
#endif
  return r == 0 ? GLOBAL_HEAP : r == 1 ? SHARED_HEAP : FIRST_OWN_HEAP + w->index;
}

/* The call for heap k: the mspace's function, or the global heap's.  Builds without one of
   the two never compile its call (random_heap never picks a heap they lack). */
#if MSPACES && !ONLY_MSPACES
#define ON_HEAP(k, ms, dl) ((k) != GLOBAL_HEAP ? (ms) : (dl))
#elif MSPACES
#define ON_HEAP(k, ms, dl) (ms)
#else
#define ON_HEAP(k, ms, dl) ((void)(k), (dl))
#endif

static void *heap_malloc(unsigned heap, size_t n) {
  return ON_HEAP(heap, mspace_malloc(spaces[heap], n), dlmalloc(n));
}

static void *heap_calloc(unsigned heap, size_t n) {
  return ON_HEAP(heap, mspace_calloc(spaces[heap], 1, n), dlcalloc(1, n));
}

static void *heap_memalign(unsigned heap, size_t align, size_t n) {
  return ON_HEAP(heap, mspace_memalign(spaces[heap], align, n), dlmemalign(align, n));
}

static void *heap_realloc(unsigned heap, void *p, size_t n) {
  return ON_HEAP(heap, mspace_realloc(spaces[heap], p, n), dlrealloc(p, n));
}

static void heap_free(unsigned heap, void *p) {
  ON_HEAP(heap, mspace_free(spaces[heap], p), dlfree(p));
}

/* ---- Operations -------------------------------------------------------------------------- */

static struct head *make(struct worker *w) {
  size_t n = random_size(w), total = sizeof(struct head) + n;
  unsigned heap = random_heap(w), how = (unsigned)rand_below(w, 10);
  struct head *h;
  if (how < 6) {
    h = (struct head *)heap_malloc(heap, total);
  } else if (how < 8) {
    h = (struct head *)heap_calloc(heap, total);
    if (h != NULL && !all_zero(h, total))
      w->bad_zero++;
  } else {
    size_t align = (size_t)16 << rand_below(w, 13); /* 16 B .. 64 KiB */
    h = (struct head *)heap_memalign(heap, align, total);
    if (h != NULL && !TH_ALIGNED(h, align))
      w->bad_align++;
  }
  if (h == NULL) {
    w->nulls++;
    return NULL;
  }
  h->size = n;
  h->id = w->next_id++;
  h->heap = heap;
  stamp(h);
  return h;
}

static void drop(struct worker *w, struct head *h) {
  if (!intact(h))
    w->bad_pattern++;
  heap_free(h->heap, h);
}

/* Reallocate h to n bytes after its header; the kept prefix must survive. */
static struct head *resize(struct worker *w, struct head *h, size_t n) {
  struct head *q;
  size_t old = h->size;
  uint32_t id = h->id;
  if (!intact(h))
    w->bad_pattern++;
  q = (struct head *)heap_realloc(h->heap, h, sizeof *h + n);
  if (q == NULL) {
    w->nulls++;
    return h;
  }
  if (!sampled_intact(q + 1, old, n, id))
    w->bad_pattern++;
  q->size = n;
  q->id = w->next_id++;
  stamp(q);
  return q;
}

/* A realloc chain: double from a small size into a direct map, then halve back down. */
static struct head *chain(struct worker *w, struct head *h) {
  size_t n = 16 + rand_below(w, 64);
  while (n < 2 * THRESHOLD) {
    h = resize(w, h, n);
    n *= 2;
  }
  while (n > 64) {
    h = resize(w, h, n);
    n /= 4;
  }
  w->chains++;
  return h;
}

static void *work(void *arg) {
  struct worker *w = (struct worker *)arg;
  unsigned long op;
  size_t i;
  for (op = 0; op < ops_per_thread; op++) {
    struct head **slot = &w->own[rand_below(w, OWN)];
    unsigned r = (unsigned)rand_below(w, 1000);
    if (*slot == NULL) {
      *slot = make(w);
    } else if (r < 400) {
      drop(w, *slot);
      *slot = NULL;
    } else if (r < 699) {
      *slot = resize(w, *slot, random_size(w));
    } else if (r < 700) {
      *slot = chain(w, *slot);
    } else {
      /* Swap with a mailbox: whatever was there becomes ours (often another thread's). */
      void *theirs = __atomic_exchange_n(&mailbox[rand_below(w, MAILBOXES)], (void *)*slot,
                                         __ATOMIC_ACQ_REL);
      *slot = (struct head *)theirs;
      w->handed_over++;
    }
  }
  for (i = 0; i < OWN; i++)
    if (w->own[i] != NULL)
      drop(w, w->own[i]);
  return NULL;
}

/* In the child of fork(): the heaps must be usable although other threads held their locks
   a moment ago.  Returns the child's exit status. */
static int child_work(void) {
  int ok = 1;
  void *p;
#if !ONLY_MSPACES
  p = dlmalloc(1000);
  ok &= p != NULL;
  if (p != NULL)
    memset(p, 1, 1000);
  dlfree(p);
  p = dlmalloc(1 << 20);
  ok &= p != NULL;
  dlfree(p);
#endif
#if MSPACES
  p = mspace_malloc(spaces[SHARED_HEAP], 3000);
  ok &= p != NULL;
  if (p != NULL)
    memset(p, 2, 3000);
  mspace_free(spaces[SHARED_HEAP], p);
#endif
  return ok ? 0 : 3;
}

/* Fork while the workers run; every child must exit 0. */
static void fork_while_busy(void) {
  int i;
  for (i = 0; i < FORKS; i++) {
    int status = -1;
    pid_t pid = fork();
    if (pid == 0)
      _exit(child_work());
    if (!CHECK(pid > 0))
      return;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
}

#if MSPACES
/* Two threads, each with an mspace of its own created without a lock: one maps and unmaps
   large blocks in its mspace, the other asks the size of its own block and frees and
   allocates in its own mspace meanwhile.  Looking for a block's heap reads the other mspaces'
   lists of regions (usable_size; free with FOOTERS), which the first thread's unmaps
   change: an outside review found a SIGSEGV there within seconds. */
static mspace unlocked_space[2];
static volatile int unlocked_done;

static void *unmapping_thread(void *arg) {
  uint64_t rng = 0x2545F4914F6CDD1Dull;
  void *live[4] = {NULL, NULL, NULL, NULL};
  unsigned long i, rounds = *(unsigned long *)arg, failed = 0;
  for (i = 0; i < rounds; i++) {
    unsigned k = (unsigned)(i % 4);
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    mspace_free(unlocked_space[1], live[k]);
    live[k] = mspace_malloc(unlocked_space[1], TEST_MMAP_THRESHOLD + (size_t)(rng >> 44));
    failed += live[k] == NULL;
  }
  for (i = 0; i < 4; i++)
    mspace_free(unlocked_space[1], live[i]);
  unlocked_done = 1;
  return (void *)(uintptr_t)failed;
}

static void unlocked_mspaces_side_by_side(unsigned long rounds) {
  pthread_t other;
  void *result = NULL, *own, *scratch;
  size_t usable;
  unsigned long asked = 0, changed = 0;
  th_section("unlocked mspaces side by side");
  unlocked_space[0] = create_mspace(0, 0);
  unlocked_space[1] = create_mspace(0, 0); /* newer: looked at first */
  if (!CHECK(unlocked_space[0] != NULL && unlocked_space[1] != NULL))
    return;
  own = mspace_malloc(unlocked_space[0], 1000);
  if (!CHECK(own != NULL))
    return;
  usable = mspace_usable_size(own);
  unlocked_done = 0;
  if (!CHECK_EQ(pthread_create(&other, NULL, unmapping_thread, &rounds), 0))
    return;
  while (!unlocked_done) {
    changed += mspace_usable_size(own) != usable;
    scratch = mspace_malloc(unlocked_space[0], 64 + asked % 512);
    mspace_free(unlocked_space[0], scratch);
    ++asked;
  }
  pthread_join(other, &result);
  th_note_u("usable_size calls while the other thread unmapped", asked);
  CHECK_EQ(changed, 0);
  CHECK(result == NULL); /* no large block refused */
  mspace_free(unlocked_space[0], own);
  CHECK_GT(destroy_mspace(unlocked_space[0]), 0);
  CHECK_GT(destroy_mspace(unlocked_space[1]), 0);
}
#endif

static unsigned long number_from(const char *arg, const char *env, unsigned long fallback) {
  const char *text = arg != NULL ? arg : getenv(env);
  return text != NULL && *text != '\0' ? strtoul(text, NULL, 0) : fallback;
}

int main(int argc, char **argv) {
  static struct worker workers[MAX_THREADS];
  unsigned long scale = number_from(argc > 1 ? argv[1] : NULL, "DLMALLOC_TEST_SCALE", 100);
  unsigned long t = number_from(argc > 2 ? argv[2] : NULL, "DLMALLOC_TEST_THREADS",
                                DEFAULT_THREADS);
  unsigned long bad = 0, zero = 0, align = 0, nulls = 0, handed = 0, chains = 0;
  unsigned i, started = 0;
  ops_per_thread = (scale == 0 ? 1 : scale) * OPS_PER_SCALE;
  nthreads = t < 1 ? 1 : t > MAX_THREADS ? MAX_THREADS : (unsigned)t;
  th_note_u("threads", nthreads);
  th_note_u("operations per thread", ops_per_thread);
  th_note_u("thread stress operations", (uintmax_t)nthreads * ops_per_thread);
#if MSPACES
  for (i = SHARED_HEAP; i < FIRST_OWN_HEAP + nthreads; i++)
    if (!CHECK((spaces[i] = create_mspace(0, 1)) != NULL))
      return th_finish();
#endif
  CHECK_EQ(pthread_atfork(dlmalloc_prefork, dlmalloc_postfork_parent, dlmalloc_postfork_child),
           0);
  for (i = 0; i < nthreads; i++) {
    workers[i].index = i;
    workers[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
    workers[i].next_id = (uint32_t)i << 24;
    if (CHECK_EQ(pthread_create(&workers[i].thread, NULL, work, &workers[i]), 0))
      started++;
  }
  th_section("fork");
  fork_while_busy();
  for (i = 0; i < started; i++) {
    pthread_join(workers[i].thread, NULL);
    bad += workers[i].bad_pattern;
    zero += workers[i].bad_zero;
    align += workers[i].bad_align;
    nulls += workers[i].nulls;
    handed += workers[i].handed_over;
    chains += workers[i].chains;
  }
  CHECK_EQ(started, nthreads);
  for (i = 0; i < MAILBOXES; i++) /* blocks left in the mailboxes */
    if (mailbox[i] != NULL) {
      struct worker tail;
      memset(&tail, 0, sizeof tail);
      drop(&tail, (struct head *)mailbox[i]);
      bad += tail.bad_pattern;
    }
  th_section("results");
  th_note_u("blocks handed between threads", handed);
  th_note_u("realloc chains", chains);
  CHECK_EQ(bad, 0);
  CHECK_EQ(zero, 0);
  CHECK_EQ(align, 0);
  CHECK_EQ(nulls, 0);
  CHECK_GT(handed, 0);
#if MSPACES
  for (i = SHARED_HEAP; i < FIRST_OWN_HEAP + nthreads; i++)
    CHECK_GT(destroy_mspace(spaces[i]), 0);
  unlocked_mspaces_side_by_side(ops_per_thread / 4);
#endif
#ifdef TEST_WITH_PORT
  {
    struct tp_stats s;
    tp_get_stats(&s);
    CHECK_EQ(s.locks_held, 0);
    CHECK_EQ(s.lock_errors, 0);
    CHECK_EQ(s.acquires, s.releases + s.lock_resets);
    CHECK_GT(s.acquires, (size_t)nthreads * ops_per_thread / 2);
  }
#endif
  return th_finish();
}
