/*
  test_arenas.c -- several heaps behind the global functions (arenas, malloc.c section 16):
  built for the variants with the thread cache, which bind each thread to an arena.

  - The default limit (twice the processors) is counted when a second arena is first wanted,
    not by a program whose one thread allocates (the internal OS layer on glibc: its sysconf
    calls are counted).
  - Binding: a thread that allocates while another is bound gets an arena of its own, up to
    M_ARENA_MAX (whose bad values mallopt refuses); with M_ARENA_MAX 1 every thread shares the
    global heap.
  - Cross-arena frees: blocks one thread allocated -- cached sizes, larger ones, directly
    mapped ones -- freed by another thread while the first is alive and after it ended; each
    block's pattern is checked first, and once the threads are gone and malloc_trim ran, the
    bytes in use are back where they started (nothing was lost on the way to its arena).
  - Frees into an idle arena: blocks no cache keeps, freed by another thread while their
    arena's thread is alive but allocates no more, stop counting as in use without
    malloc_trim (the freeing thread frees the arena's remote list once it passes 64 KiB).
  - Frees into an arena no thread is bound to: blocks of an ended thread, freed through
    another thread's cache, stop counting as in use once that thread has ended too.
  - The statistics see every arena: mallinfo counts and malloc_inspect_all reports the blocks
    a parked thread holds in its arena.
  - Hand-off: producers allocate blocks that consumers bound to other arenas check and free,
    the traffic that moves blocks through the caches, the depot and the remote lists.
  - Reuse: thousands of short threads one after another use at most two arenas (a thread's
    arena is free for the next once it ends); many threads at once no more than M_ARENA_MAX;
    afterwards malloc_trim gives the memory back (the footprint returns near its start).
  - The footprint limit counts every arena: threads allocating in their own arenas together
    stop at it.
  - fork while other threads allocate in their arenas: the child allocates and frees in every
    size class, from its one thread and from a new one.
  - With the instrumented port: a thread that binds while the fork handlers hold the locks
    makes its arena the moment global_lock is free; the parent's handler still releases only
    the locks the prepare handler took.
  - malloc_teardown while other threads are bound to arenas and hold blocks, and blocks wait
    on an arena's list of frees from other threads: every arena's memory goes, the lists
    with it, and those threads allocate again afterwards.
  With DEBUG (tcachedebugfooters) every mallinfo call runs the full heap check of every arena.

  Death cases (argument = case name): cross_arena_double_free (a block another thread freed
  into its cache, freed again), remote_double_free (a block waiting on its arena's list of
  frees from other threads, freed again), remote_link_damaged (a word written into such a
  block's link: the arena's next locked call finds it), remote_size_forged (such a block's
  size word rewritten to take in the live block after it, flag bits kept: found there too).

  Usage: test_arenas [death-case]
*/
#define _DEFAULT_SOURCE 1
#include "malloc.h"

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "heaps.h"
#ifdef TEST_WITH_PORT
#include "test_port.h"
#endif

#define CACHED_SIZE 48
#define TREE_SIZE 20000 /* a tree chunk above the cache's largest class */
#define MAPPED_SIZE (1024 * 1024)
#define KINDS 3
static const size_t kind_size[KINDS] = {CACHED_SIZE, TREE_SIZE, MAPPED_SIZE};
#define PER_KIND 200

/* ---- A thread that does one step at a time when told --------------------------------- */

/* A helper thread runs fn(arg) once per step main asks for (step() returns when it is done),
   until main stops it; it ends with malloc_thread_exit, as a PORTABLE port's threads do. */
struct helper {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  void (*fn)(struct helper *, int);
  int asked, done, stop;
  void *blocks[KINDS * PER_KIND];
  size_t n;
};

static void *helper_main(void *arg) {
  struct helper *h = (struct helper *)arg;
  pthread_mutex_lock(&h->lock);
  for (;;) {
    while (h->asked == h->done && !h->stop)
      pthread_cond_wait(&h->cond, &h->lock);
    if (h->asked == h->done)
      break;
    pthread_mutex_unlock(&h->lock);
    h->fn(h, h->done);
    pthread_mutex_lock(&h->lock);
    ++h->done;
    pthread_cond_broadcast(&h->cond);
  }
  pthread_mutex_unlock(&h->lock);
  dlmalloc_thread_exit();
  return NULL;
}

static int helper_start(struct helper *h, void (*fn)(struct helper *, int)) {
  memset(h, 0, sizeof(*h));
  h->fn = fn;
  pthread_mutex_init(&h->lock, NULL);
  pthread_cond_init(&h->cond, NULL);
  return pthread_create(&h->thread, NULL, helper_main, h);
}

/* Run the helper's next step and wait for it. */
static void helper_step(struct helper *h) {
  pthread_mutex_lock(&h->lock);
  ++h->asked;
  pthread_cond_broadcast(&h->cond);
  while (h->done != h->asked)
    pthread_cond_wait(&h->cond, &h->lock);
  pthread_mutex_unlock(&h->lock);
}

static int helper_stop(struct helper *h) {
  int rc;
  pthread_mutex_lock(&h->lock);
  h->stop = 1;
  pthread_cond_broadcast(&h->cond);
  pthread_mutex_unlock(&h->lock);
  rc = pthread_join(h->thread, NULL);
  pthread_mutex_destroy(&h->lock);
  pthread_cond_destroy(&h->cond);
  return rc;
}

/* PER_KIND blocks of each kind added to h's, block j stamped with seed + j. */
static void allocate_stamped(struct helper *h, uint32_t seed) {
  size_t k, i;
  for (k = 0; k < KINDS; k++)
    for (i = 0; i < PER_KIND; i++) {
      size_t n = kind_size[k] + i % 7;
      void *p = dlmalloc(n);
      if (p == NULL)
        continue;
      stamp_sampled(p, n, seed + (uint32_t)(k * PER_KIND + i));
      h->blocks[h->n++] = p;
    }
}

/* Step 0 of an allocating helper: PER_KIND blocks of each kind, each stamped. */
static void allocate_blocks(struct helper *h, int step) {
  (void)step;
  allocate_stamped(h, 0);
}

/* Frees what another helper allocated (step 0: the first half, step 1: the rest). */
struct freeing {
  struct helper *owner;
  size_t damaged;
};
static struct freeing freeing;

static void free_blocks(struct helper *h, int step) {
  struct helper *o = freeing.owner;
  size_t i, from = step == 0 ? 0 : o->n / 2, to = step == 0 ? o->n / 2 : o->n;
  (void)h;
  for (i = from; i < to; i++) {
    size_t k = i / PER_KIND, n = kind_size[k] + (i % PER_KIND) % 7;
    if (!sampled_intact(o->blocks[i], n, n, (uint32_t)i))
      freeing.damaged++;
    dlfree(o->blocks[i]);
  }
}

static size_t in_use(void) { return (size_t)dlmallinfo().uordblks; }

/* ---- The default limit, counted when a second arena is wanted ------------------------ */

#if !defined(TEST_WITH_PORT) && defined(__GLIBC__)
/* The internal OS layer counts the processors for the default M_ARENA_MAX with sysconf; this
   one counts those calls and lets glibc's own (__sysconf) answer. */
#define COUNTS_PROCESSORS 1
static int processor_counts; /* changed by the binding thread under global_lock */
extern long __sysconf(int name);
long sysconf(int name) {
  if (name == _SC_NPROCESSORS_ONLN)
    ++processor_counts;
  return __sysconf(name);
}
#else
#define COUNTS_PROCESSORS 0 /* a PORTABLE build assumes a number; no call to see */
#endif

static void t_limit_counted_late(void) {
  struct helper a;
  th_section("default limit counted late");
  dlfree(dlmalloc(16)); /* this thread is bound, alone */
  dlfree(dlmalloc(3000));
#if COUNTS_PROCESSORS
  /* one thread has nothing to spread: counting (files under /sys) would only cost it memory */
  CHECK_EQ(processor_counts, 0);
#endif
  if (!CHECK_EQ(helper_start(&a, allocate_blocks), 0))
    return;
  helper_step(&a);
  CHECK_EQ(dlmalloc_arenas(), 2); /* the default limit is twice the processors: 2 or more */
#if COUNTS_PROCESSORS
  CHECK_EQ(processor_counts, 1);
#endif
  freeing.owner = &a;
  free_blocks(NULL, 0);
  free_blocks(NULL, 1);
  CHECK_EQ(freeing.damaged, 0);
  CHECK_EQ(helper_stop(&a), 0);
}

/* A directly mapped block asked to grow in place by more than the system gives: the growth
   is counted before the remap and given back when it fails; the peak must not keep it (an
   outside review saw it 64 TiB up).  Run first, while the peak is the footprint. */
static void t_failed_remap_peak(void) {
  char *p;
  size_t peak;
  th_section("a mapped block that cannot grow leaves the peak footprint alone");
  dlmallopt(M_MMAP_THRESHOLD, (int)TEST_MMAP_THRESHOLD); /* a fixed threshold */
  dlfree(dlmalloc(16)); /* the heap exists: a large block is then mapped directly */
  p = (char *)dlmalloc((size_t)1 << 20);
  peak = dlmalloc_max_footprint();
  if (!CHECK(p != NULL))
    return;
#if SIZE_MAX > 0xFFFFFFFFu
  CHECK(dlrealloc_in_place(p, (size_t)1 << 46) == NULL);
#else
  CHECK(dlrealloc_in_place(p, (size_t)3 << 30) == NULL);
#endif
  CHECK_EQ(dlmalloc_max_footprint(), peak);
  dlfree(p);
}

/* ---- Binding and M_ARENA_MAX ---------------------------------------------------------- */

static void t_binding(void) {
  struct helper a, b;
  th_section("binding");
  CHECK_EQ(dlmallopt(M_ARENA_MAX, 0), 0);
  CHECK_EQ(dlmallopt(M_ARENA_MAX, 256), 0);
  CHECK_EQ(dlmallopt(M_ARENA_MAX, 4), 1);
  dlfree(dlmalloc(16)); /* this thread is bound (to the global heap, the first) */
  CHECK_GE(dlmalloc_arenas(), 1);
  if (!CHECK_EQ(helper_start(&a, allocate_blocks), 0))
    return;
  if (!CHECK_EQ(helper_start(&b, allocate_blocks), 0))
    return;
  helper_step(&a);
  helper_step(&b);
  /* three threads allocate at once: three arenas (the limit is four) */
  CHECK_GE(dlmalloc_arenas(), 3);
  CHECK_LE(dlmalloc_arenas(), 4);
  freeing.owner = &a;
  free_blocks(NULL, 0);
  free_blocks(NULL, 1);
  freeing.owner = &b;
  free_blocks(NULL, 0);
  free_blocks(NULL, 1);
  CHECK_EQ(freeing.damaged, 0);
  CHECK_EQ(helper_stop(&a), 0);
  CHECK_EQ(helper_stop(&b), 0);
}

/* ---- Cross-arena frees ----------------------------------------------------------------- */

static void t_cross_arena_frees(void) {
  struct helper owner, freer;
  size_t before, footprint;
  th_section("cross-arena frees");
  dlmalloc_trim(0);
  before = in_use();
  footprint = dlmalloc_footprint();
  if (!CHECK_EQ(helper_start(&owner, allocate_blocks), 0) ||
      !CHECK_EQ(helper_start(&freer, free_blocks), 0))
    return;
  helper_step(&owner);
  CHECK_EQ(owner.n, KINDS * PER_KIND);
  CHECK_GE(in_use(), before + PER_KIND * (CACHED_SIZE + TREE_SIZE + MAPPED_SIZE));
  freeing.owner = &owner;
  freeing.damaged = 0;
  helper_step(&freer); /* the first half, while the owner is alive and bound */
  CHECK_EQ(helper_stop(&owner), 0);
  helper_step(&freer); /* the rest, after the owner ended */
  CHECK_EQ(helper_stop(&freer), 0);
  CHECK_EQ(freeing.damaged, 0);
  dlmalloc_trim(0);
  /* every block went back to its arena: nothing stays in use but the new arenas' segment
     records (a leak of the cached blocks alone would be some 10 KiB) */
  CHECK_LE(in_use(), before + 2048);
  CHECK_LE(dlmalloc_footprint(), footprint + 4 * 1024 * 1024);
}

/* ---- Frees into an arena whose thread allocates no more -------------------------------- */

/* Up to n blocks of `size` into blocks[], block i stamped with seed i; how many it got. */
static size_t allocate_run(void **blocks, size_t n, size_t size) {
  size_t i;
  for (i = 0; i < n && (blocks[i] = dlmalloc(size)) != NULL; i++)
    stamp_sampled(blocks[i], size, (uint32_t)i);
  return i;
}

/* Free allocate_run's n blocks, each checked first; how many were damaged. */
static size_t free_run(void **blocks, size_t n, size_t size) {
  size_t i, damaged = 0;
  for (i = 0; i < n; i++) {
    if (!sampled_intact(blocks[i], size, size, (uint32_t)i))
      damaged++;
    dlfree(blocks[i]);
  }
  return damaged;
}

/* Step 0: PER_KIND blocks of a size no cache keeps; then the helper idles. */
static void allocate_uncached(struct helper *h, int step) {
  (void)step;
  h->n = allocate_run(h->blocks, PER_KIND, TREE_SIZE);
}

/* Another arena's block that no cache keeps goes on that arena's remote list, which the
   arena's next locked call frees; past 64 KiB (ARENA_REMOTE_DRAIN_BYTES) the freeing thread
   frees the list itself, so an arena whose thread is alive but allocates no more does not
   keep what others freed.  Nothing here takes the owner's lock (mallinfo counts the blocks
   on the list as in use); without that rule 4 MB would stay in use. */
static void t_idle_arena_remote_frees(void) {
  struct helper owner;
  size_t before;
  th_section("frees into an idle arena");
  dlmalloc_trim(0);
  before = in_use();
  if (!CHECK_EQ(helper_start(&owner, allocate_uncached), 0))
    return;
  helper_step(&owner);
  CHECK_EQ(owner.n, PER_KIND);
  CHECK_GE(in_use(), before + PER_KIND * TREE_SIZE);
  CHECK_EQ(free_run(owner.blocks, owner.n, TREE_SIZE), 0);
  /* what may still wait on the list: under 64 KiB and the block that crossed it */
  CHECK_LE(in_use(), before + 64 * 1024 + TREE_SIZE + 2048);
  CHECK_EQ(helper_stop(&owner), 0);
}

/* ---- Frees into an arena no thread is bound to ------------------------------------------ */

#define ORPHANS 4000
static void *orphans[ORPHANS];
static size_t orphans_n;

/* The owner's step: ORPHANS blocks of a cached size. */
static void allocate_orphans(struct helper *h, int step) {
  (void)h;
  (void)step;
  orphans_n = allocate_run(orphans, ORPHANS, CACHED_SIZE);
}

/* The freer's steps: 0 binds it to an arena of its own, 1 checks and frees the orphans. */
static void free_orphans(struct helper *h, int step) {
  (void)h;
  if (step == 0)
    dlfree(dlmalloc(16));
  else
    freeing.damaged += free_run(orphans, orphans_n, CACHED_SIZE);
}

/* Blocks of an arena whose thread has ended, freed by another thread: its cache takes them
   and passes them on through the depot, or back to their arena's remote list without
   freeing it (it holds its own arena's lock then), and no thread of that arena will take
   its lock; so whoever gives such blocks back frees an orphaned arena's list once it passes
   256 blocks or 64 KiB (arenas_drain_remote_excess).  Once the freeing thread has ended
   too, no more than that stays in use; without the rule it would be some 256 KiB. */
static void t_orphan_arena_remote_frees(void) {
  struct helper owner, freer;
  size_t before;
  th_section("frees into an arena no thread is bound to");
  dlmalloc_trim(0);
  before = in_use();
  if (!CHECK_EQ(helper_start(&owner, allocate_orphans), 0) ||
      !CHECK_EQ(helper_start(&freer, free_orphans), 0))
    return;
  helper_step(&freer); /* bound first, so the owner binds to another arena */
  helper_step(&owner);
  CHECK_EQ(orphans_n, ORPHANS);
  CHECK_EQ(helper_stop(&owner), 0); /* its arena has no thread now */
  freeing.damaged = 0;
  helper_step(&freer);
  CHECK_EQ(helper_stop(&freer), 0);
  CHECK_EQ(freeing.damaged, 0);
  CHECK_LE(in_use(), before + 64 * 1024 + 2048);
}

/* ---- bulk_free of blocks of several arenas -------------------------------------------- */

/* Step 0 as allocate_blocks; step 1, once bulk_free gave that batch back, as many again with
   another seed, so that a block handed out twice would show in the stamps. */
static void allocate_then_again(struct helper *h, int step) {
  h->n = 0;
  allocate_stamped(h, step == 0 ? 0 : 7777);
}

/* One array holding this thread's blocks and a helper's (another arena's), in runs of each
   and alternating, with nulls: bulk_free frees each run under its own arena's lock.  Each
   arena then hands out blocks again; a block freed into the wrong arena would be handed out
   by both, and the stamps would show it. */
static void t_cross_arena_bulk_free(void) {
  struct helper h;
  static void *array[4 * KINDS * PER_KIND];
  static void *mine[KINDS * PER_KIND];
  size_t n = 0, m = 0, i, k, before, damaged = 0;
  th_section("bulk_free across arenas");
  dlmalloc_trim(0);
  before = in_use();
  if (!CHECK_EQ(helper_start(&h, allocate_then_again), 0))
    return;
  helper_step(&h); /* the helper's blocks, in its arena */
  CHECK_EQ(h.n, KINDS * PER_KIND);
  for (k = 0; k < KINDS; k++)
    for (i = 0; i < PER_KIND; i++)
      if ((mine[m] = dlmalloc(kind_size[k] + i % 7)) != NULL)
        ++m;
  for (i = 0; i < h.n || i < m; i++) {
    int alternate = (i / 50) % 2 == 0; /* runs of 50 of one arena, then mixed */
    if (alternate) {
      if (i < h.n)
        array[n++] = h.blocks[i];
      if (i < m)
        array[n++] = mine[i];
    } else {
      if (i < m)
        array[n++] = mine[i];
      array[n++] = NULL;
      if (i < h.n)
        array[n++] = h.blocks[i];
    }
  }
  CHECK_EQ(dlbulk_free(array, n), 0);
  for (i = 0; i < n; i++)
    if (array[i] != NULL)
      ++damaged; /* a block bulk_free did not free */
  CHECK_EQ(damaged, 0);
  helper_step(&h); /* the helper allocates again, in its arena */
  for (i = 0; i < m; i++) {
    k = i / PER_KIND;
    if ((mine[i] = dlmalloc(kind_size[k] + (i % PER_KIND) % 7)) != NULL)
      stamp_sampled(mine[i], kind_size[k] + (i % PER_KIND) % 7, (uint32_t)(9999 + i));
  }
  for (i = 0; i < h.n; i++) {
    size_t sz = kind_size[i / PER_KIND] + (i % PER_KIND) % 7;
    if (!sampled_intact(h.blocks[i], sz, sz, (uint32_t)(7777 + i)))
      ++damaged;
  }
  for (i = 0; i < m; i++) {
    size_t sz = kind_size[i / PER_KIND] + (i % PER_KIND) % 7;
    if (mine[i] != NULL && !sampled_intact(mine[i], sz, sz, (uint32_t)(9999 + i)))
      ++damaged;
  }
  CHECK_EQ(damaged, 0); /* no block handed out twice */
  CHECK_EQ(dlbulk_free(h.blocks, h.n), 0);
  CHECK_EQ(dlbulk_free(mine, m), 0);
  CHECK_EQ(helper_stop(&h), 0);
  dlmalloc_trim(0);
  CHECK_LE(in_use(), before + 2048);
}

/* ---- Statistics over every arena ------------------------------------------------------ */

struct inspected {
  struct helper *h;
  size_t found;
};

static void count_helper_blocks(void *start, void *end, size_t used, void *arg) {
  struct inspected *s = (struct inspected *)arg;
  size_t i;
  if (used == 0)
    return;
  for (i = 0; i < s->h->n; i++)
    if ((char *)s->h->blocks[i] >= (char *)start && (char *)s->h->blocks[i] < (char *)end)
      s->found++;
}

static void t_statistics(void) {
  struct helper h;
  struct inspected s;
  size_t before;
  th_section("statistics cover every arena");
  dlmalloc_trim(0);
  before = in_use();
  if (!CHECK_EQ(helper_start(&h, allocate_blocks), 0))
    return;
  helper_step(&h); /* the helper holds its blocks in its arena and waits */
  CHECK_GE(in_use(), before + PER_KIND * (CACHED_SIZE + TREE_SIZE + MAPPED_SIZE));
  s.h = &h;
  s.found = 0;
  dlmalloc_inspect_all(count_helper_blocks, &s);
  CHECK_EQ(s.found, h.n);
  /* each gives the largest footprint of all arenas together, on a path of its own */
  CHECK_EQ((size_t)dlmallinfo().usmblks, dlmalloc_max_footprint());
#if defined(TEST_WITH_PORT) && defined(MALLOC_STATS_WRITE)
  tp_stats_clear();
  dlmalloc_stats();
  CHECK_EQ(stats_line_value(tp_stats_text(), "system bytes     = "), dlmalloc_footprint());
  CHECK_EQ(stats_line_value(tp_stats_text(), "max system bytes = "), dlmalloc_max_footprint());
  CHECK_EQ(stats_line_value(tp_stats_text(), "in use bytes     = "), in_use());
#endif
  freeing.owner = &h;
  freeing.damaged = 0;
  free_blocks(NULL, 0); /* this thread frees them: cross-arena */
  free_blocks(NULL, 1);
  CHECK_EQ(freeing.damaged, 0);
  CHECK_EQ(helper_stop(&h), 0);
}

/* ---- Reuse: many short threads -------------------------------------------------------- */

static void *short_thread(void *arg) {
  void *p[64];
  size_t i;
  (void)arg;
  for (i = 0; i < 64; i++)
    p[i] = dlmalloc(16 + i * 40);
  for (i = 0; i < 64; i++)
    dlfree(p[i]);
  dlmalloc_thread_exit();
  return NULL;
}

static void *burst_thread(void *arg) {
  size_t r;
  for (r = 0; r < 20; r++)
    short_thread(arg);
  return NULL;
}

static void t_reuse(void) {
  size_t i, footprint;
  pthread_t t[8];
  th_section("arena reuse after thread exit");
  dlmalloc_trim(0);
  footprint = dlmalloc_footprint();
  CHECK_EQ(dlmallopt(M_ARENA_MAX, 4), 1);
  for (i = 0; i < 2000; i++) {
    pthread_t one;
    if (!CHECK_EQ(pthread_create(&one, NULL, short_thread, NULL), 0))
      break;
    CHECK_EQ(pthread_join(one, NULL), 0);
  }
  CHECK_LE(dlmalloc_arenas(), 4); /* those made by earlier sections, and no more */
  for (i = 0; i < 100; i++) {
    size_t j;
    for (j = 0; j < 8; j++)
      CHECK_EQ(pthread_create(&t[j], NULL, burst_thread, NULL), 0);
    for (j = 0; j < 8; j++)
      CHECK_EQ(pthread_join(t[j], NULL), 0);
  }
  CHECK_LE(dlmalloc_arenas(), 4);
  dlmalloc_trim(0);
  CHECK_LE(dlmalloc_footprint(), footprint + 4 * 1024 * 1024);
}

/* ---- What ended threads freed goes back without malloc_trim ------------------------- */

/* A thread grows its arena by 12 MB of tree-sized blocks (no cache keeps them) while main
   stays bound, frees them all and ends.  Segments that hold nothing any more were given
   back only when free() looked for them, every 4095 such frees, or by malloc_trim: after
   a thread's 600 frees and its end nothing looked, and the memory stayed mapped (an outside
   review: 376 MB after 32 threads, glibc 3.6).  PORTABLE builds never merge segments, so
   there the arena is one segment per unit it grew by, each wholly free at the end. */
#define GROW_BLOCKS (KINDS * PER_KIND) /* 600: 12 MB */
static size_t grown_footprint;

static void grow_then_free(struct helper *h, int step) {
  size_t i;
  if (step == 0) {
    for (i = 0; i < GROW_BLOCKS; i++)
      if ((h->blocks[h->n] = dlmalloc(TREE_SIZE)) != NULL)
        h->n++;
    grown_footprint = dlmalloc_footprint();
  } else {
    for (i = 0; i < h->n; i++)
      dlfree(h->blocks[i]);
    h->n = 0;
  }
}

static void t_ended_thread_gives_back(void) {
  struct helper a;
  size_t before;
  th_section("an ended thread's empty segments go back without malloc_trim");
  dlmalloc_trim(0);
  before = dlmalloc_footprint();
  if (!CHECK_EQ(helper_start(&a, grow_then_free), 0))
    return;
  helper_step(&a); /* grows */
  helper_step(&a); /* frees */
  CHECK_EQ(helper_stop(&a), 0);
  CHECK_GE(grown_footprint, before + GROW_BLOCKS * TREE_SIZE);
  CHECK_LE(dlmalloc_footprint(), before + 4 * 1024 * 1024);
}

/* ---- A buffer grown by realloc in a thread of its own arena ------------------------- */

/* An arena maps no block of its own: a buffer a thread grows past the mmap threshold moves
   to the global heap, which maps it, as malloc would have (before, it stayed in the arena,
   which each step left a freed copy behind in: 299 MB against glibc's 126 at the peak of an
   outside review's four threads growing buffers to 32 MiB).  A small block after each step
   keeps the buffer from growing in place. */
#define REALLOC_TO (8 * 1024 * 1024)
static int realloc_grown_mapped, realloc_grown_intact;

/* The buffer's sizes: 1 KiB, then a quarter more each step, up to REALLOC_TO. */
static size_t next_size(size_t n) { return n + n / 4 > REALLOC_TO ? REALLOC_TO : n + n / 4; }

static void grow_by_realloc(struct helper *h, int step) {
  unsigned char *buf = NULL;
  size_t n = 1024, have = 0, i;
  int intact = 1;
  (void)step;
  for (;;) {
    unsigned char *bigger = (unsigned char *)dlrealloc(buf, n);
    if (bigger == NULL)
      break;
    buf = bigger;
    memset(buf + have, (int)(have % 251), n - have); /* each step's bytes: their start % 251 */
    have = n;
    if (h->n < KINDS * PER_KIND && (h->blocks[h->n] = dlmalloc(100)) != NULL)
      h->n++;
    if (n == REALLOC_TO)
      break;
    n = next_size(n);
  }
  realloc_grown_mapped = have == REALLOC_TO && (size_t)dlmallinfo().hblkhd >= REALLOC_TO;
  for (i = 0, n = 1024; buf != NULL && i < have; i = n, n = next_size(n))
    intact &= buf[i] == (unsigned char)(i % 251) && buf[n - 1] == (unsigned char)(i % 251);
  realloc_grown_intact = buf != NULL && intact;
  dlfree(buf);
  for (i = 0; i < h->n; i++)
    dlfree(h->blocks[i]);
  h->n = 0;
}

static void t_realloc_in_arena(void) {
  struct helper a;
  th_section("a buffer grown by realloc in another arena ends up mapped");
  if (!CHECK_EQ(helper_start(&a, grow_by_realloc), 0))
    return;
  helper_step(&a);
  CHECK_EQ(helper_stop(&a), 0);
  CHECK(realloc_grown_mapped);
  CHECK(realloc_grown_intact);
}

/* ---- Hand-off: producers allocate, consumers check and free -------------------------- */

/* Blocks flow from the threads that allocate them to threads bound to other arenas, which
   check every block's pattern and free them, at full speed on both sides, a batch of blocks
   at a time (as in the xmalloc benchmark): the traffic that moves blocks through the caches,
   the depot and the remote lists, with segments added by several arenas at once.  A block
   handed out twice, written by the allocator while in use, or freed into the wrong arena
   shows up as a damaged pattern (or an abort). */
#define HANDOFF_PAIRS 2
#define HANDOFF_RING 4
#define HANDOFF_BATCH 256
#define HANDOFF_ROUNDS 400

struct handoff_batch {
  void *p[HANDOFF_BATCH];
  size_t n[HANDOFF_BATCH];
  int full; /* 1: the producer filled it, the consumer has not emptied it yet */
};

struct handoff_pair {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  struct handoff_batch ring[HANDOFF_RING];
  size_t damaged;
};

static struct handoff_pair handoff[HANDOFF_PAIRS];

/* Wait until ring slot b of pair h is full (want 1) or empty (want 0). */
static void handoff_wait(struct handoff_pair *h, size_t b, int want) {
  pthread_mutex_lock(&h->lock);
  while (h->ring[b].full != want)
    pthread_cond_wait(&h->cond, &h->lock);
  pthread_mutex_unlock(&h->lock);
}

static void handoff_set(struct handoff_pair *h, size_t b, int full) {
  pthread_mutex_lock(&h->lock);
  h->ring[b].full = full;
  pthread_cond_broadcast(&h->cond);
  pthread_mutex_unlock(&h->lock);
}

static void *producer(void *arg) {
  struct handoff_pair *h = (struct handoff_pair *)arg;
  size_t round, i;
  uint32_t x = (uint32_t)(uintptr_t)arg;
  for (round = 0; round < HANDOFF_ROUNDS; round++) {
    struct handoff_batch *b = &h->ring[round % HANDOFF_RING];
    handoff_wait(h, round % HANDOFF_RING, 0);
    for (i = 0; i < HANDOFF_BATCH; i++) {
      x = x * 1103515245u + 12345u;
      b->n[i] = 8 + (x >> 8) % (i == 0 ? 20000 : 120);
      b->p[i] = dlmalloc(b->n[i]);
      if (b->p[i] != NULL)
        stamp_sampled(b->p[i], b->n[i], (uint32_t)(uintptr_t)b->p[i]);
    }
    handoff_set(h, round % HANDOFF_RING, 1);
  }
  dlmalloc_thread_exit();
  return NULL;
}

static void *consumer(void *arg) {
  struct handoff_pair *h = (struct handoff_pair *)arg;
  size_t round, i;
  for (round = 0; round < HANDOFF_ROUNDS; round++) {
    struct handoff_batch *b = &h->ring[round % HANDOFF_RING];
    handoff_wait(h, round % HANDOFF_RING, 1);
    for (i = 0; i < HANDOFF_BATCH; i++) {
      if (b->p[i] == NULL ||
          !sampled_intact(b->p[i], b->n[i], b->n[i], (uint32_t)(uintptr_t)b->p[i]))
        h->damaged++;
      dlfree(b->p[i]);
    }
    handoff_set(h, round % HANDOFF_RING, 0);
  }
  dlmalloc_thread_exit();
  return NULL;
}

static void t_handoff(void) {
  pthread_t t[2 * HANDOFF_PAIRS];
  size_t i, damaged = 0;
  th_section("blocks handed from producers to consumers in other arenas");
  CHECK_EQ(dlmallopt(M_ARENA_MAX, 8), 1);
  for (i = 0; i < HANDOFF_PAIRS; i++) {
    pthread_mutex_init(&handoff[i].lock, NULL);
    pthread_cond_init(&handoff[i].cond, NULL);
  }
  for (i = 0; i < HANDOFF_PAIRS; i++) {
    CHECK_EQ(pthread_create(&t[2 * i], NULL, producer, &handoff[i]), 0);
    CHECK_EQ(pthread_create(&t[2 * i + 1], NULL, consumer, &handoff[i]), 0);
  }
  for (i = 0; i < 2 * HANDOFF_PAIRS; i++)
    CHECK_EQ(pthread_join(t[i], NULL), 0);
  for (i = 0; i < HANDOFF_PAIRS; i++)
    damaged += handoff[i].damaged;
  CHECK_EQ(damaged, 0);
  CHECK_EQ(dlmallopt(M_ARENA_MAX, 4), 1);
}

/* ---- The footprint limit counts every arena ------------------------------------------ */

#define LIMIT_BLOCKS 4096

struct limit_run {
  void *blocks[LIMIT_BLOCKS];
  size_t n;
  size_t block_size;
};

static volatile int limit_go; /* both fillers start together */

static void *fill_to_limit(void *arg) {
  struct limit_run *r = (struct limit_run *)arg;
  while (!limit_go)
    sched_yield();
  while (r->n < LIMIT_BLOCKS && (r->blocks[r->n] = dlmalloc(r->block_size)) != NULL)
    r->n++;
  return NULL;
}

/* Two threads fill their arenas with blocks of block_size until the limit refuses them;
   pause_usec > 0 makes every map and lock hook of the test port sleep first, as if each
   thread were preempted there; refuse: the port refuses every unmap meanwhile. */
static void fill_both_to_limit(size_t room, size_t block_size, unsigned pause_usec,
                               int refuse) {
  static struct limit_run runs[2];
  pthread_t t[2];
  size_t limit, i, j;
  dlmalloc_trim(0);
  limit = dlmalloc_set_footprint_limit(dlmalloc_footprint() + room);
#ifdef TEST_WITH_PORT
  tp_pause_hooks(pause_usec);
  tp_refuse_munmap(refuse);
#else
  (void)pause_usec;
  (void)refuse;
#endif
  for (i = 0; i < 2; i++) {
    runs[i].n = 0;
    runs[i].block_size = block_size;
    CHECK_EQ(pthread_create(&t[i], NULL, fill_to_limit, &runs[i]), 0);
  }
  limit_go = 1;
  for (i = 0; i < 2; i++)
    CHECK_EQ(pthread_join(t[i], NULL), 0);
  limit_go = 0;
#ifdef TEST_WITH_PORT
  tp_pause_hooks(0);
  tp_refuse_munmap(0);
#endif
  CHECK_LT(runs[0].n, LIMIT_BLOCKS); /* each stopped at the limit */
  CHECK_LT(runs[1].n, LIMIT_BLOCKS);
  /* the two threads' arenas together stay within it: each growth is checked and counted in
     one step (an outside review found them 508 KiB over, both passing on one remainder) */
  CHECK_LE(dlmalloc_footprint(), limit);
  for (i = 0; i < 2; i++)
    for (j = 0; j < runs[i].n; j++)
      dlfree(runs[i].blocks[j]);
  dlmalloc_set_footprint_limit(0);
  dlmalloc_trim(0);
}

static void t_footprint_limit(void) {
#ifdef TEST_WITH_PORT
  int round;
#endif
  th_section("the footprint limit counts every arena");
  fill_both_to_limit(4 * 1024 * 1024, 8192, 0, 0);
#ifdef TEST_WITH_PORT
  /* A check made apart from its count, however short the gap, lets the other thread in
     there once a thread is preempted at the lock that guards the count.  Blocks of nearly a
     granule each make nearly every malloc a growth, and a room of a few granules puts the
     two threads' last growths together. */
  for (round = 0; round < 50; round++)
    fill_both_to_limit(192 * 1024, 48 * 1024, 200, 0);
  /* The same while the port refuses every unmap: a growth found over the limit once mapped
     could not be given back, and was counted (a review saw 196,608 bytes against a limit of
     131,072); the room is now counted before the map. */
  for (round = 0; round < 20; round++)
    fill_both_to_limit(192 * 1024, 48 * 1024, 200, 1);
#endif
}

/* A thread resizes a directly mapped block (in place, or by remapping where the system can)
   while another fills its own arena to the limit and empties it again: the arenas together
   stay within the limit.  An outside review found them up to the block's whole size over: a
   shrink took the old size off the count before it added the new one, and a growth was
   checked apart from its count.  Both threads look at the footprint after each step. */
#define RESIZE_FILLS 100 /* times the other thread fills its arena to the limit */
#define RESIZE_BLOCK ((size_t)12 << 20)

static volatile int resizing;
static int fills, resize_ready; /* __atomic */
static size_t resize_limit, resize_seen; /* the most either thread saw (__atomic) */

static void see_footprint(void) {
  size_t now = dlmalloc_footprint(), seen = __atomic_load_n(&resize_seen, __ATOMIC_RELAXED);
  while (now > seen &&
         !__atomic_compare_exchange_n(&resize_seen, &seen, now, 0, __ATOMIC_RELAXED,
                                      __ATOMIC_RELAXED))
    continue;
}

static void *resize_mapped(void *arg) {
  void *p = dlmalloc(RESIZE_BLOCK), *q;
  (void)arg;
  CHECK(p != NULL);
  __atomic_store_n(&resize_ready, 1, __ATOMIC_RELEASE); /* the filler may start */
  while (p != NULL && __atomic_load_n(&fills, __ATOMIC_RELAXED) < RESIZE_FILLS) {
    if ((q = dlrealloc(p, RESIZE_BLOCK + (512 << 10))) != NULL)
      p = q;
    see_footprint();
    if ((q = dlrealloc(p, RESIZE_BLOCK)) != NULL)
      p = q;
    see_footprint();
  }
  resizing = 0;
  dlfree(p);
  return NULL;
}

static void *fill_and_empty(void *arg) {
  static void *blocks[LIMIT_BLOCKS];
  size_t n;
  (void)arg;
  while (!__atomic_load_n(&resize_ready, __ATOMIC_ACQUIRE))
    sched_yield();
  while (resizing) {
    for (n = 0; n < LIMIT_BLOCKS && (blocks[n] = dlmalloc(60000)) != NULL; n++)
      see_footprint();
    while (n > 0)
      dlfree(blocks[--n]);
    dlmalloc_trim(0);
    __atomic_add_fetch(&fills, 1, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void t_footprint_limit_resize(void) {
  pthread_t t[2];
  th_section("the footprint limit holds while another arena's mapped block is resized");
  dlmalloc_trim(0);
  dlmallopt(M_MMAP_THRESHOLD, 128 * 1024); /* seen to make the window wider, not needed */
  resize_limit = dlmalloc_footprint() + 2 * RESIZE_BLOCK;
  resize_seen = 0;
  fills = resize_ready = 0;
  dlmalloc_set_footprint_limit(resize_limit);
  resizing = 1;
  CHECK_EQ(pthread_create(&t[0], NULL, resize_mapped, NULL), 0);
  CHECK_EQ(pthread_create(&t[1], NULL, fill_and_empty, NULL), 0);
  CHECK_EQ(pthread_join(t[0], NULL), 0);
  CHECK_EQ(pthread_join(t[1], NULL), 0);
  CHECK_LE(resize_seen, resize_limit);
  CHECK_GT(resize_seen, resize_limit - RESIZE_BLOCK); /* the filler reached the limit */
  dlmalloc_set_footprint_limit(0);
  dlmallopt(M_MMAP_THRESHOLD, (int)TEST_MMAP_THRESHOLD);
  dlmalloc_trim(0);
}

/* ---- fork while other threads allocate in their arenas -------------------------------- */

static volatile int churning;

static void *churn_thread(void *arg) {
  void *p[32] = {0};
  size_t i = 0;
  (void)arg;
  while (churning) {
    size_t k = i % 32;
    dlfree(p[k]);
    p[k] = dlmalloc(16 + (i * 97) % 5000);
    i++;
  }
  for (i = 0; i < 32; i++)
    dlfree(p[i]);
  dlmalloc_thread_exit();
  return NULL;
}

static void child_work(void) {
  size_t k, i;
  for (k = 0; k < KINDS; k++)
    for (i = 0; i < 20; i++) {
      void *p = dlmalloc(kind_size[k]);
      if (p == NULL)
        _exit(3);
      memset(p, 0x5a, kind_size[k]);
      dlfree(p);
    }
}

static void *child_thread(void *arg) {
  (void)arg;
  child_work();
  return NULL;
}

static void t_fork(void) {
  pthread_t t[3];
  int i, status;
  th_section("fork while other arenas are in use");
  churning = 1;
  for (i = 0; i < 3; i++)
    CHECK_EQ(pthread_create(&t[i], NULL, churn_thread, NULL), 0);
  for (i = 0; i < 20; i++) {
    pid_t pid = fork();
    if (pid == 0) {
      pthread_t c;
      child_work();
      if (pthread_create(&c, NULL, child_thread, NULL) != 0 || pthread_join(c, NULL) != 0)
        _exit(4);
      _exit(0);
    }
    if (!CHECK(pid > 0))
      break;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  churning = 0;
  for (i = 0; i < 3; i++)
    CHECK_EQ(pthread_join(t[i], NULL), 0);
}

/* ---- Allocating inside the fork handlers' span ----------------------------------------- */
/* Another library's fork handlers run between malloc_prefork and the postfork handlers when
   they were registered before malloc's (the drop-in preloaded, the library's constructor run
   first), in the forking thread, which holds every lock then.  Its calls there must go
   through (they waited for ever on their own thread's lock: an outside review's fork() hung);
   every other thread's must still wait until the locks are given back. */
static volatile int waiter_bound, waiter_go, waiter_done;

static void *waiter(void *arg) {
  (void)arg;
  dlfree(dlmalloc(TREE_SIZE)); /* bound to its arena */
  waiter_bound = 1;
  while (!waiter_go)
    usleep(1000);
  dlfree(dlmalloc(TREE_SIZE)); /* a heap operation: its arena's lock */
  waiter_done = 1;
  dlmalloc_thread_exit();
  return NULL;
}

/* Start the waiter, bound before prefork so that prefork takes the locks (with one thread,
   SINGLE_THREAD_HINT would let it skip them), and call malloc_prefork; its heap operation
   then waits for them. */
static void prefork_with_waiter(pthread_t *t) {
  waiter_bound = waiter_go = waiter_done = 0;
  CHECK_EQ(pthread_create(t, NULL, waiter, NULL), 0);
  while (!waiter_bound)
    usleep(1000);
  dlmalloc_prefork();
  waiter_go = 1;
}

/* The outermost malloc_postfork_parent, after checking that the waiter was held out until
   then (50 ms), and that it went on after. */
static void postfork_after_waiter(pthread_t t) {
  int ms;
  for (ms = 0; ms < 50 && !waiter_done; ms++)
    usleep(1000);
  CHECK(!waiter_done); /* still held out */
  dlmalloc_postfork_parent();
  CHECK_EQ(pthread_join(t, NULL), 0);
  CHECK(waiter_done);
}

static void t_alloc_in_fork_handlers(void) {
  pthread_t t;
  void *cached, *tree, *mapped, *grown;
#ifdef TEST_WITH_PORT
  size_t errors = tp_lock_errors();
#endif
  th_section("the forking thread allocates between prefork and postfork, others wait");
  prefork_with_waiter(&t);
  cached = dlmalloc(CACHED_SIZE);
  tree = dlmalloc(TREE_SIZE);
  mapped = dlmalloc(MAPPED_SIZE);
  CHECK(cached != NULL && tree != NULL && mapped != NULL);
  grown = dlrealloc(tree, 3 * TREE_SIZE);
  CHECK(grown != NULL);
  dlfree(cached);
  dlfree(mapped);
  dlfree(grown);
  dlmalloc_trim(0);
  postfork_after_waiter(t);
  /* a fork inside a fork handler nests: the inner postfork gives nothing back */
  prefork_with_waiter(&t);
  dlmalloc_prefork();
  dlfree(dlmalloc(TREE_SIZE));
  dlmalloc_postfork_parent();
  dlfree(dlmalloc(TREE_SIZE)); /* still passes: the outer prefork's span */
  postfork_after_waiter(t);
#ifdef TEST_WITH_PORT
  CHECK_EQ(tp_lock_errors(), errors); /* every lock given back once, none twice */
  CHECK_EQ(tp_locks_held(), 0);
#endif
}

/* ---- An arena made while the fork handlers let the locks go ---------------------------- */
#ifdef TEST_WITH_PORT
/* A thread's first malloc waits in arena_bind for global_lock while malloc_prefork holds it,
   and makes an arena as soon as malloc_postfork_parent lets global_lock go.  The instrumented
   port holds the parent handler back after each release (tp_after_release) until that arena
   is there, or for 50 ms: what a preempted forking thread sees.  The handler must still
   release exactly the locks prefork took -- not the new arena's, which its thread may hold by
   then (two threads in one heap: the SIGSEGV of integration.threads_fork). */
#define OCCUPANTS 16
static size_t arenas_at_fork;
static volatile int late_bound, late_stop;

static void wait_for_new_arena(void) {
  int ms;
  for (ms = 0; ms < 50 && dlmalloc_arenas() == arenas_at_fork; ms++)
    usleep(1000);
}

static void *late_binder(void *arg) {
  (void)arg;
  dlfree(dlmalloc(CACHED_SIZE)); /* binds: a new arena, every other one has a thread */
  late_bound = 1;
  while (!late_stop)
    usleep(1000);
  dlmalloc_thread_exit();
  return NULL;
}

static void bind_step(struct helper *h, int step) {
  (void)h;
  (void)step;
  dlfree(dlmalloc(CACHED_SIZE));
}

static void *fork_span_binder(void *arg) {
  (void)arg;
  dlmalloc_prefork();
  dlfree(dlmalloc(CACHED_SIZE)); /* binds: a new arena */
  dlmalloc_postfork_parent();
  dlmalloc_thread_exit();
  return NULL;
}

static void t_fork_while_binding(void) {
  static struct helper occupant[OCCUPANTS];
  pthread_t t, t2;
  size_t n = 0, start, errors;
  int ms;
  th_section("an arena made while the fork handlers let the locks go");
  CHECK_EQ(dlmallopt(M_ARENA_MAX, OCCUPANTS + 8), 1);
  /* a thread in every arena made so far: the next thread to bind makes a new one */
  start = dlmalloc_arenas();
  while (n < OCCUPANTS && dlmalloc_arenas() == start) {
    if (!CHECK_EQ(helper_start(&occupant[n], bind_step), 0))
      break;
    helper_step(&occupant[n++]);
  }
  if (CHECK_GT(dlmalloc_arenas(), start)) {
    arenas_at_fork = dlmalloc_arenas();
    errors = tp_lock_errors();
    dlmalloc_prefork();
    CHECK_EQ(pthread_create(&t, NULL, late_binder, NULL), 0);
    tp_after_release(wait_for_new_arena);
    dlmalloc_postfork_parent();
    tp_after_release(NULL);
    for (ms = 0; ms < 10000 && !late_bound; ms++)
      usleep(1000);
    CHECK(late_bound);
    CHECK_EQ(dlmalloc_arenas(), arenas_at_fork + 1);
    CHECK_EQ(tp_lock_errors(), errors); /* no lock released that prefork did not take */
    /* every arena has a thread still: a thread's first malloc, between its own prefork and
       postfork (another library's fork handler), makes one, whose lock prefork did not take
       and postfork must not release */
    arenas_at_fork = dlmalloc_arenas();
    CHECK_EQ(pthread_create(&t2, NULL, fork_span_binder, NULL), 0);
    CHECK_EQ(pthread_join(t2, NULL), 0);
    CHECK_EQ(dlmalloc_arenas(), arenas_at_fork + 1);
    CHECK_EQ(tp_lock_errors(), errors);
    late_stop = 1;
    CHECK_EQ(pthread_join(t, NULL), 0);
  }
  while (n > 0)
    CHECK_EQ(helper_stop(&occupant[--n]), 0);
  CHECK_EQ(dlmallopt(M_ARENA_MAX, 4), 1);
}
#endif /* TEST_WITH_PORT */

/* ---- malloc_teardown while other threads are bound ------------------------------------ */

static void allocate_again(struct helper *h, int step) {
  size_t i;
  if (step == 0) {
    allocate_blocks(h, 0);
    return;
  }
  /* after the teardown: the old blocks are gone; new ones work */
  h->n = 0;
  for (i = 0; i < 100; i++) {
    void *p = dlmalloc(CACHED_SIZE + i * 20);
    if (p == NULL)
      continue;
    memset(p, 0xa5, CACHED_SIZE + i * 20);
    h->blocks[h->n++] = p;
  }
  for (i = 0; i < h->n; i++)
    dlfree(h->blocks[i]);
}

static void t_teardown(void) {
  struct helper h[2];
  size_t i;
  th_section("teardown while other threads are bound");
  for (i = 0; i < 2; i++) {
    if (!CHECK_EQ(helper_start(&h[i], allocate_again), 0))
      return;
    helper_step(&h[i]);
  }
  /* two of the first helper's larger blocks wait on its arena's remote list (under 64 KiB:
     nobody frees the list before that arena's next locked call, which comes after the
     teardown and must not read them) */
  dlfree(h[0].blocks[PER_KIND]);
  dlfree(h[0].blocks[PER_KIND + 1]);
  CHECK_GT(dlmalloc_teardown(), 2 * PER_KIND * (size_t)MAPPED_SIZE);
  CHECK_EQ(dlmalloc_footprint(), 0);
  for (i = 0; i < 2; i++) {
    helper_step(&h[i]);
    CHECK_EQ(h[i].n, 100);
    CHECK_EQ(helper_stop(&h[i]), 0);
  }
  child_work(); /* and this thread too */
}

/* ---- Death cases ----------------------------------------------------------------------- */

/* The owner's steps: a block of a cached size, two larger ones (the second only a live
   neighbour of the first), then a call that takes its arena's lock (a request the cache does
   not keep, below the mmap threshold). */
static void one_block(struct helper *h, int step) {
  if (step < 2) {
    h->blocks[step] = dlmalloc(step == 0 ? CACHED_SIZE : TREE_SIZE);
    if (step == 1)
      h->blocks[2] = dlmalloc(TREE_SIZE);
    h->n = step == 0 ? 1 : 3;
  } else {
    dlfree(dlmalloc(5000));
  }
}

static void free_first(struct helper *h, int step) {
  (void)h;
  dlfree(freeing.owner->blocks[step]);
}

static int death(const char *name) {
  static const char *const cases[] = {"cross_arena_double_free", "remote_double_free",
                                      "remote_link_damaged", "remote_size_forged"};
  enum { CASES = sizeof(cases) / sizeof(cases[0]) };
  struct helper owner, freer;
  int c = 0;
  if (!dlmallopt(M_ARENA_MAX, 4)) /* the owner and the freer in arenas of their own */
    return 2;
  while (c < CASES && strcmp(name, cases[c]) != 0)
    c++;
  if (c == CASES) {
    printf("unknown death case %s\n", name);
    return 2;
  }
  if (helper_start(&owner, one_block) != 0 || helper_start(&freer, free_first) != 0)
    return 2;
  helper_step(&owner); /* blocks[0]: a cached size */
  helper_step(&owner); /* blocks[1]: a larger one */
  freeing.owner = &owner;
  helper_step(&freer); /* blocks[0]: into the freer's cache */
  if (c == 0) {
    dlfree(owner.blocks[0]);
  } else {
    helper_step(&freer); /* blocks[1]: onto the owner's arena's remote list */
    if (c == 1) {
      dlfree(owner.blocks[1]);
    } else if (c == 3) {
      /* the size word just before the block, as an overflow of the block in front writes it:
         the chunk now ends where the live one after it (blocks[2]) ends, whose successor says
         it is in use, so the in-use checks alone pass it and the merge would free blocks[2] */
      size_t *head = (size_t *)owner.blocks[1] - 1;
      size_t size = *head & ~(size_t)7;
      size_t next_size = *(size_t *)((char *)owner.blocks[1] - sizeof(size_t) + size) &
                         ~(size_t)7;
      *head += next_size;
      helper_step(&owner); /* the owner's next locked call frees the list */
    } else {
      static size_t target[8];
      void *forged = target;
      memcpy(owner.blocks[1], &forged, sizeof forged); /* the list's link */
      helper_step(&owner); /* the owner's next locked call frees the list */
    }
  }
  printf("the usage error went unnoticed\n");
  return 1;
}

int main(int argc, char **argv) {
  if (argc > 1)
    return death(argv[1]);
  CHECK_EQ(pthread_atfork(dlmalloc_prefork, dlmalloc_postfork_parent, dlmalloc_postfork_child),
           0);
  t_failed_remap_peak();
  t_limit_counted_late(); /* before t_binding sets M_ARENA_MAX */
  t_binding();
  t_cross_arena_frees();
  t_idle_arena_remote_frees();
  t_orphan_arena_remote_frees();
  t_cross_arena_bulk_free();
  t_statistics();
  t_reuse();
  t_ended_thread_gives_back();
  t_realloc_in_arena();
  t_handoff();
  t_footprint_limit();
  t_footprint_limit_resize();
  t_fork();
  t_alloc_in_fork_handlers();
#ifdef TEST_WITH_PORT
  t_fork_while_binding();
#endif
  t_teardown(); /* last: every earlier block is gone after it */
  return th_finish();
}
