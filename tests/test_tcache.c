/*
  test_tcache.c -- the per-thread cache (malloc.c section 16, MALLOC_THREAD_CACHE=1).

  Built in the variants with the cache.  Checks what the cache promises beyond the ordinary
  API (which test_api, test_random, test_threads and test_death check with the cache on):
  - accounting: a cached block counts as in use in mallinfo and inspect_all; smblks/fsmblks
    report the calling thread's cache; malloc_trim gives the cache back;
  - bounds: at most MALLOC_THREAD_CACHE_COUNT blocks of a size, MALLOC_THREAD_CACHE_BYTES in
    all, and nothing above MALLOC_THREAD_CACHE_MAX_SIZE; a thread whose working set is
    larger than the byte bound gets twice the bound, and gives it up when that stops;
  - batches: with the instrumented port (TEST_WITH_PORT), a refill and a flush take the lock
    once each, and the blocks in between none; a warm loop of a hundred blocks of one size
    allocated then freed takes no lock at all;
  - a thread alone merges a block with a free neighbour instead of caching it;
  - the depot: what one thread's full cache gives up stays in use until another thread's
    empty list takes it as a batch, and goes back to the heap when one thread is left;
  - thread exit returns a thread's cache (by itself in hosted builds, through
    malloc_thread_exit() in PORTABLE ones), and a thread that ends without it leaves at most
    the byte bound behind;
  - a failed malloc, fork, and teardown with blocks in the cache;
  - a cached block keeps what the program wrote past its first word, and that word (the link)
    is not the next block's address in clear;
  - with the instrumented port: two threads freeing one block at the same moment, many times
    over, each time in a child process: exactly one free wins, the other ends the child with
    the double-free reason.
  Death cases (argument = case name; each must end in custom_abort or abort with the reason
  "in a thread cache"): cached_double_free, cross_thread_double_free, depot_double_free,
  realloc_cached, tag_overwritten_double_free; and with the reason naming a damaged thread
  cache: forged_link_static, forged_link_live, forged_depot_link, forged_link_given (a
  use-after-free write of one word into cached blocks' links); and with corrupted free chunk
  links: forged_free_neighbour (a cached block's forged free predecessor, caught when the
  block leaves the cache).

  Usage: test_tcache [death-case]
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
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "heaps.h"
#ifdef TEST_WITH_PORT
#include "test_port.h"
#endif

#ifndef PORTABLE
#define PORTABLE 0
#endif
#ifndef FOOTERS
#define FOOTERS 0
#endif

#if FOOTERS
#define OVERHEAD (2 * sizeof(size_t))
#else
#define OVERHEAD sizeof(size_t)
#endif

static size_t chunk_of(void *p) { return dlmalloc_usable_size(p) + OVERHEAD; }

/* A block of n bytes between two blocks in use (left allocated): while one thread alone has
   a cache, free() sends a block with a free neighbour, or top, to the heap to merge, and
   caches only the others.  (Refills from an empty heap come from top one by one, so the
   three are neighbours.) */
static void *between_blocks_in_use(size_t n) {
  void *p;
  (void)dlmalloc(n);
  p = dlmalloc(n);
  (void)dlmalloc(n);
  return p;
}

/* ---- Accounting ---------------------------------------------------------------------- */

static void t_accounting(void) {
  struct mallinfo m1, m2, m3;
  void *p, *q;
  size_t chunk;
  th_section("accounting");
  dlmalloc_trim(0);
  m1 = dlmallinfo();
  CHECK_EQ(m1.smblks, 0);
  CHECK_EQ(m1.fsmblks, 0);
  p = between_blocks_in_use(100);
  if (!CHECK(p != NULL))
    return;
  m1 = dlmallinfo();
  CHECK_LE(m1.smblks, MALLOC_THREAD_CACHE_COUNT); /* the refill's batch */
  chunk = chunk_of(p);
  dlfree(p);
  CHECK_EQ(dlmalloc_usable_size(p), 0); /* freed, if cached */
  m2 = dlmallinfo();
  CHECK_EQ(m2.uordblks, m1.uordblks); /* a cached block is still in use */
  CHECK_EQ(m2.fordblks, m1.fordblks);
  CHECK_EQ(m2.smblks, m1.smblks + 1);
  CHECK_EQ(m2.fsmblks, m1.fsmblks + chunk);
  CHECK_MALLINFO_ADDS_UP(&heap_global);
  CHECK_GT(heap_blocks_holding(&heap_global, p, 100), 0); /* inspect_all: in use too */
  q = dlmalloc(100);
  CHECK(q == p); /* the most recently freed block of a size comes back first */
  m3 = dlmallinfo();
  CHECK_EQ(m3.smblks, m1.smblks);
  dlfree(q);
  CHECK_EQ(dlmalloc_trim(0) >= 0, 1);
  m3 = dlmallinfo();
  CHECK_EQ(m3.smblks, 0); /* trim gave the cache back */
  CHECK_EQ(m3.fsmblks, 0);
  CHECK_LT(m3.uordblks, m2.uordblks);
  /* no block in use there: free, or merged into a larger free chunk */
  CHECK_EQ(heap_blocks_holding(&heap_global, p, 100), 0);
}

/* ---- A lone thread merges blocks with a free neighbour at once ------------------------- */

static void t_merge_alone(void) {
  void *p;
  size_t smblks;
  th_section("alone, a block next to free memory is merged");
  dlmalloc_trim(0);
  p = dlmalloc(700); /* from top: top is its neighbour */
  if (!CHECK(p != NULL))
    return;
  smblks = (size_t)dlmallinfo().smblks;
  dlfree(p);
  CHECK_EQ(dlmallinfo().smblks, smblks); /* not cached */
  CHECK_EQ(heap_blocks_holding(&heap_global, p, 700), 0); /* part of a free chunk (top) */
}

/* ---- Alone, a size the thread does not allocate is not kept --------------------------- */

#define IDLE_SIZE 888 /* a size no other test allocates: its list was never refilled */

static void t_idle_alone(void) {
  void *p, *q;
  size_t smblks;
  th_section("alone, a size not allocated through the cache is not kept");
  dlmalloc_trim(0);
  /* realloc serves the block from the heap, not from the cache's list for its size. */
  p = between_blocks_in_use(8);
  if (!CHECK(p != NULL) || !CHECK((p = dlrealloc(p, IDLE_SIZE)) != NULL))
    return;
  (void)dlmalloc(2000); /* in use after p, if p moved to top */
  smblks = (size_t)dlmallinfo().smblks;
  dlfree(p);
  CHECK_EQ(dlmallinfo().smblks, smblks); /* not cached: back in the heap */
  CHECK_EQ(heap_blocks_holding(&heap_global, p, IDLE_SIZE), 0);
  /* Once the thread allocates the size, its blocks are kept. */
  q = between_blocks_in_use(IDLE_SIZE);
  if (!CHECK(q != NULL))
    return;
  smblks = (size_t)dlmallinfo().smblks;
  dlfree(q);
  CHECK_EQ(dlmallinfo().smblks, smblks + 1);
}

/* ---- realloc(NULL, n) comes from the heap -------------------------------------------- */

#define REALLOC_NULL_SIZE 504

static void t_realloc_null(void) {
  void *cached, *p, *q;
  size_t smblks;
  th_section("realloc(NULL, n) bypasses the cache");
  dlmalloc_trim(0);
  cached = between_blocks_in_use(REALLOC_NULL_SIZE);
  if (!CHECK(cached != NULL))
    return;
  smblks = (size_t)dlmallinfo().smblks;
  dlfree(cached); /* the first block malloc(REALLOC_NULL_SIZE) would get */
  CHECK_EQ(dlmallinfo().smblks, smblks + 1);
  p = dlrealloc(NULL, REALLOC_NULL_SIZE);
  CHECK(p != NULL && p != cached);
  CHECK_EQ(dlmallinfo().smblks, smblks + 1);
  q = dlmalloc(REALLOC_NULL_SIZE);
  CHECK(q == cached); /* malloc still takes it */
  dlfree(q);
  dlfree(p);
}

/* ---- Size classes above MALLOC_THREAD_CACHE_MAX_SIZE --------------------------------- */

/* The largest request the cache's lists serve: four classes per power of two above the
   largest request of the chunk-size lists (malloc.c, thread_cache_class). */
static size_t largest_class_request(void) {
  size_t max_request = MALLOC_THREAD_CACHE_MAX_SIZE - OVERHEAD;
  unsigned bit = 0;
  while ((max_request >> (bit + 1)) != 0)
    bit++;
  return MALLOC_THREAD_CACHE_CLASSES == 0 ? max_request
                                          : (size_t)1 << (bit + MALLOC_THREAD_CACHE_CLASSES / 4);
}

static void t_classes(void) {
  size_t n, largest = largest_class_request(), smblks, chunk, bad = 0;
  void *before, *p, *q, *r, *after;
  th_section("size classes");
  /* Each request is rounded up by at most a quarter (a fifth of the block), and a power of
     two is a class of its own. */
  for (n = MALLOC_THREAD_CACHE_MAX_SIZE - OVERHEAD + 1; n <= largest; n += 61) {
    size_t usable;
    p = dlmalloc(n);
    if (!CHECK(p != NULL))
      return;
    usable = dlmalloc_usable_size(p);
    if (usable < n || usable - n > n / 4 + MALLOC_ALIGNMENT)
      bad++;
    dlfree(p);
  }
  CHECK_EQ(bad, 0);
  for (n = 2048; n <= largest; n *= 2) {
    p = dlmalloc(n);
    CHECK(p != NULL && dlmalloc_usable_size(p) < n + MALLOC_ALIGNMENT);
    dlfree(p);
  }
  if (MALLOC_THREAD_CACHE_CLASSES == 0 || largest < 3072)
    return;
  /* A freed block of a class serves the next request of its class from the cache. */
  dlmalloc_trim(0);
  before = dlmalloc(3000); /* p's neighbours, in use (between_blocks_in_use) */
  p = dlmalloc(3000);
  after = dlmalloc(3000);
  if (!CHECK(before != NULL && p != NULL && after != NULL))
    return;
  smblks = (size_t)dlmallinfo().smblks;
  dlfree(p);
  CHECK_EQ(dlmallinfo().smblks, smblks + 1);
  q = dlmalloc(2900); /* the same class: 3072 */
  CHECK(q == p);
  CHECK_EQ(dlmallinfo().smblks, smblks);
  /* A block of a size between two classes (shrunk in place by realloc; 2700 bytes are
     between the classes' chunks at every MALLOC_ALIGNMENT) goes to the heap, even with both
     neighbours in use: the tail realloc cut off is taken again first. */
  chunk = chunk_of(q);
  q = dlrealloc(q, 2700);
  if (!CHECK(q == p))
    return;
  /* From the heap (realloc(NULL, n) bypasses the cache, whose list of the tail's size may
     hold a block): the tail fits exactly, and comes before any chunk of another size (a
     tree bin hands out older free chunks of the same size first). */
  {
    void *same_size[64];
    size_t k = 0;
    r = dlrealloc(NULL, chunk - chunk_of(q) - OVERHEAD);
    while (r != NULL && r != (char *)q + chunk_of(q) && k < 64) {
      same_size[k++] = r;
      CHECK_EQ(chunk_of(r), chunk - chunk_of(q));
      r = dlrealloc(NULL, chunk - chunk_of(q) - OVERHEAD);
    }
    CHECK(r == (char *)q + chunk_of(q));
    while (k > 0)
      dlfree(same_size[--k]);
  }
  smblks = (size_t)dlmallinfo().smblks;
  dlfree(q);
  CHECK_EQ(dlmallinfo().smblks, smblks);
  CHECK_EQ(heap_blocks_holding(&heap_global, q, 2700), 0); /* free in the heap */
  dlfree(r);
  dlfree(before);
  dlfree(after);
  dlmalloc_trim(0);
}

/* ---- Bounds -------------------------------------------------------------------------- */

#define MANY (3 * MALLOC_THREAD_CACHE_COUNT)

static void t_bounds(void) {
  static void *blocks[MANY];
  struct mallinfo m;
  size_t i, n, size, chunk, odd = 0, odd_bytes = 0;
  th_section("bounds");
  /* One size: at most MALLOC_THREAD_CACHE_COUNT blocks kept.  (The heap may hand out a
     slightly larger chunk, a free chunk too small to split: those `odd` blocks have lists
     of their own.) */
  dlmalloc_trim(0);
  n = 3 * MALLOC_THREAD_CACHE_COUNT;
  for (i = 0; i < n; i++)
    CHECK((blocks[i] = dlmalloc(40)) != NULL);
  chunk = chunk_of(blocks[n - 1]);
  for (i = 0; i < n; i++)
    if (chunk_of(blocks[i]) < chunk)
      chunk = chunk_of(blocks[i]);
  for (i = 0; i < n; i++)
    if (chunk_of(blocks[i]) != chunk) {
      ++odd;
      odd_bytes += chunk_of(blocks[i]) - chunk;
    }
  CHECK_LE(odd, 4);
  for (i = 0; i < n; i++)
    dlfree(blocks[i]);
  m = dlmallinfo();
  CHECK_LE(m.smblks, MALLOC_THREAD_CACHE_COUNT + odd);
  CHECK_GE(m.smblks, MALLOC_THREAD_CACHE_COUNT / 2); /* but it does keep some */
  CHECK_GE(m.fsmblks, m.smblks * chunk);
  CHECK_LE(m.fsmblks, m.smblks * chunk + odd_bytes);
  /* Every size up to the largest the cache keeps: at most MALLOC_THREAD_CACHE_BYTES. */
  dlmalloc_trim(0);
  n = 0;
  for (size = 16; size + OVERHEAD <= MALLOC_THREAD_CACHE_MAX_SIZE && n + 8 <= MANY; size += 16)
    for (i = 0; i < 8; i++)
      CHECK((blocks[n++] = dlmalloc(size - OVERHEAD)) != NULL);
  for (i = 0; i < n; i++)
    dlfree(blocks[i]);
  m = dlmallinfo();
  CHECK_GT(m.fsmblks, 0);
  CHECK_LE(m.fsmblks, MALLOC_THREAD_CACHE_BYTES);
  /* Blocks larger than the largest class never enter the cache. */
  dlmalloc_trim(0);
  blocks[0] = dlmalloc(largest_class_request() + 1);
  CHECK(blocks[0] != NULL);
  dlfree(blocks[0]);
  m = dlmallinfo();
  CHECK_EQ(m.smblks, 0);
}

/* ---- Batches: one lock acquisition per refill and per flush ---------------------------- */

#ifdef TEST_WITH_PORT
static size_t acquires(void) {
  struct tp_stats s;
  tp_get_stats(&s);
  return s.acquires;
}

/* The refills that n mallocs of one size take in a cache that starts empty: each serves its
   caller and carves a batch for the list, which starts at 0 blocks and grows to 1, 3, 7, ...
   up to MALLOC_THREAD_CACHE_BATCH (malloc.c, thread_cache_carve), when free chunks can serve
   them. */
static size_t refills_for(size_t n) {
  size_t refills = 0, served = 0, batch = 0;
  while (served < n) {
    served += 1 + batch;
    batch = 2 * batch + 1 < MALLOC_THREAD_CACHE_BATCH ? 2 * batch + 1
                                                      : MALLOC_THREAD_CACHE_BATCH;
    refills++;
  }
  return refills;
}

/* A refill takes its arena's lock once, a flush that and the depot's (the batch goes there
   while other threads have caches); DEBUG's check of the cache then looks at the depot, under
   its lock, once more. */
#if DEBUG
#define LOCKS_PER_REFILL 2
#define LOCKS_PER_FLUSH 3
#else
#define LOCKS_PER_REFILL 1
#define LOCKS_PER_FLUSH 2
#endif

/* More blocks of one size than a list holds: the frees overflow it.  The size is one of the
   small bins' at every MALLOC_ALIGNMENT (refills carve batches only from dv or a small bin). */
#define BATCHES_REQUEST 100
#define BATCHES_BLOCKS (MALLOC_THREAD_CACHE_COUNT + 4 * MALLOC_THREAD_CACHE_BATCH)
#define BATCHES_ROOMS 4

static void batches_in_a_new_thread(void) {
  static void *blocks[BATCHES_BLOCKS];
  size_t before, i, served = 0;
  const size_t n = BATCHES_BLOCKS;
  void *room[BATCHES_ROOMS], *guard;
  dlmalloc_trim(0);
  /* A free chunk for the refills to carve their batches from (they never carve from top),
     room for all n blocks and some: blocks each below the mmap threshold (64 KiB on 32-bit),
     freed while the block after them stays, merge into one. */
  for (i = 0; i < BATCHES_ROOMS; i++)
    room[i] = dlmalloc(n * 256 / BATCHES_ROOMS);
  guard = dlmalloc(64);
  for (i = 0; i < BATCHES_ROOMS; i++)
    if (!CHECK(room[i] != NULL))
      return;
  if (!CHECK(guard != NULL))
    return;
  for (i = 0; i < BATCHES_ROOMS; i++)
    dlfree(room[i]);
  /* Each malloc takes the lock once (a refill) or not at all (served from the list).  A
     refill adds a batch that grows with each refill of the list, 0, 1, 3, 7, ... blocks up to
     MALLOC_THREAD_CACHE_BATCH, so n mallocs take a few refills to reach full batches, then
     one per batch. */
  for (i = 0; i < n; i++) {
    size_t taken;
    before = acquires();
    blocks[i] = dlmalloc(BATCHES_REQUEST);
    taken = acquires() - before;
    CHECK_LE(taken, LOCKS_PER_REFILL);
    if (taken == 0)
      served++;
  }
  /* A few more at most: a refill whose own block is a small free chunk left in a bin by an
     earlier test (the best fit) carves its batch from that chunk's remainder, which runs
     out; the next refill carries on where the batches were. */
  CHECK_GE(n - served, refills_for(n));
  CHECK_LE(n - served, refills_for(n) + 3);
  /* n frees of one size: the locks of one flush per batch. */
  before = acquires();
  for (i = 0; i < n; i++)
    dlfree(blocks[i]);
  CHECK_GE(acquires() - before, 1);
  CHECK_LE(acquires() - before, (n / MALLOC_THREAD_CACHE_BATCH + 1) * LOCKS_PER_FLUSH);
  dlfree(guard);
  CHECK_EQ(tp_locks_held(), 0);
  CHECK_EQ(tp_lock_errors(), 0);
}

static void *batches_thread(void *arg) {
  (void)arg;
  batches_in_a_new_thread();
  dlmalloc_thread_exit(); /* the port's thread-exit path: the cache goes back, uncounted */
  return NULL;
}

static void t_batches(void) {
  pthread_t t;
  th_section("batches");
  /* In a thread of its own, whose cache starts empty with every list's batch at 0. */
  if (CHECK_EQ(pthread_create(&t, NULL, batches_thread, NULL), 0))
    pthread_join(t, NULL);
}

/* A loop that allocates a hundred blocks of one small size and frees them all, again and
   again (the shape of glibc's malloc-simple benchmark): once warm, it stays within the
   cache and takes no lock.  (Warming takes two rounds: while this thread is alone, the
   first round's frees next to free memory merge into the heap, and the second refills.) */
static void t_round_trips(void) {
  enum { ROUND = 100, SIZE = 64 };
  void *blocks[ROUND];
  size_t before, round, i;
  void *room, *guard;
  th_section("round trips of a hundred blocks take no lock");
  dlmalloc_trim(0);
  room = dlmalloc(64 * 1024); /* a free chunk for the first refills to carve from */
  guard = dlmalloc(64 * 1024);
  if (!CHECK(room != NULL && guard != NULL))
    return;
  dlfree(room);
  for (round = 0; round < 4; round++) {
    before = acquires();
    for (i = 0; i < ROUND; i++)
      CHECK((blocks[i] = dlmalloc(SIZE)) != NULL);
    for (i = 0; i < ROUND; i++)
      dlfree(blocks[i]);
    if (round >= 2)
      CHECK_EQ(acquires() - before, 0);
  }
  dlfree(guard);
}
#endif

/* ---- The byte bound follows the working set ------------------------------------------ */

/* Spread-out sizes (16 to 15 + span bytes, in steps of 16), in blocks whose chunks add up to
   `bytes`. */
static size_t alloc_spread(void **blocks, size_t max, size_t bytes, size_t span) {
  size_t n = 0, total = 0;
  while (total < bytes && n < max) {
    size_t size = 16 + (n * 16) % span;
    if ((blocks[n] = dlmalloc(size)) == NULL)
      break;
    total += chunk_of(blocks[n++]);
  }
  return n;
}

struct adapt_result {
  size_t span;             /* of alloc_spread's sizes */
  size_t set, reserve;     /* blocks allocated for each */
  size_t grown;            /* the cache's bytes after the last round */
  size_t after_reserve;    /* and after the reserve was freed */
};

#define ADAPT_MAX 4096

/* In a thread of its own (a fresh cache): a reserve of three times the bound is allocated
   and kept; then rounds of allocating a working set of one and a half times the bound and
   freeing it.  What each overflow gives back is wanted again in the next round: the bound
   doubles, and the cache then holds the whole set.  Freeing the reserve afterwards reaches
   the bound with hardly a refill since: it halves back. */
static void *adapt_thread(void *arg) {
  struct adapt_result *r = (struct adapt_result *)arg;
  void **set = (void **)dlmalloc(ADAPT_MAX * sizeof(void *));
  void **reserve = (void **)dlmalloc(2 * ADAPT_MAX * sizeof(void *));
  size_t round, i;
  if (set == NULL || reserve == NULL)
    return NULL;
  r->reserve = alloc_spread(reserve, 2 * ADAPT_MAX, 3 * MALLOC_THREAD_CACHE_BYTES, r->span);
  for (round = 0; round < 8; round++) {
    r->set = alloc_spread(set, ADAPT_MAX, MALLOC_THREAD_CACHE_BYTES / 2 * 3, r->span);
    for (i = 0; i < r->set; i++)
      dlfree(set[i]);
  }
  r->grown = (size_t)dlmallinfo().fsmblks;
  for (i = 0; i < r->reserve; i++)
    dlfree(reserve[i]);
  r->after_reserve = (size_t)dlmallinfo().fsmblks;
  dlfree(set);
  dlfree(reserve);
  dlmalloc_thread_exit(); /* (PORTABLE builds have no thread-exit hook) */
  return NULL;
}

static void bound_adapts(size_t span) {
  pthread_t t;
  struct adapt_result r = {0, 0, 0, 0, 0};
  r.span = span;
  dlmalloc_trim(0);
  if (!CHECK_EQ(pthread_create(&t, NULL, adapt_thread, &r), 0))
    return;
  CHECK_EQ(pthread_join(t, NULL), 0);
  CHECK_LT(r.set, ADAPT_MAX);
  CHECK_LT(r.reserve, 2 * ADAPT_MAX);
  CHECK_GT(r.grown, MALLOC_THREAD_CACHE_BYTES);     /* grown: it holds more than the bound */
  CHECK_LE(r.grown, 2 * MALLOC_THREAD_CACHE_BYTES); /* at most twice */
  CHECK_LE(r.after_reserve, MALLOC_THREAD_CACHE_BYTES);
  CHECK_GT(r.after_reserve, 0);
}

static void t_bound_adapts(void) {
  th_section("the byte bound grows for a working set larger than it, and shrinks back");
  bound_adapts(1000); /* every list up to a kilobyte */
  /* Few lists with many blocks each: an overflow passes them to the depot in whole batches,
     and the next round takes them back from there, round trips the bound's growth must count
     as much as the heap's refills.  Sixteen lists' worth of sizes (at MALLOC_ALIGNMENT 64 as
     few as the kilobyte above fills): with fewer, the count bound would keep the cache below
     twice the byte bound and freeing the reserve would never reach it to halve it; and 256
     bytes at least, as smaller blocks (32-bit) would need more than ADAPT_MAX of them. */
  bound_adapts(MALLOC_ALIGNMENT < 16 ? 256 : 16 * MALLOC_ALIGNMENT);
}

/* ---- An overflow gives back first what no malloc reached ------------------------------- */

#define COLD_SIZE 200  /* a list filled once, then never asked for */
#define COLD_BLOCKS 200
#define HOT_SIZE 1000  /* a list in use, of a larger size */
#define HOT_BLOCKS 300 /* 300 KB: more than the byte bound */

/* Allocate 2n blocks of `size`, keeping them in `blocks`, and free every other one: each freed
   block lies between two in use, so a thread alone caches it rather than merging it. */
static int free_every_other(void **blocks, size_t n, size_t size) {
  size_t i;
  for (i = 0; i < 2 * n; i++)
    if ((blocks[i] = dlmalloc(size)) == NULL)
      return 0;
  for (i = 0; i < 2 * n; i += 2)
    dlfree(blocks[i]);
  return 1;
}

/* A list that accumulated blocks no malloc took since the byte bound was last reached (its
   low-water mark) gives them back at the next overflow, before the largest lists are
   emptied: with the largest first alone, the cold list kept its blocks for good while the
   list in use was emptied at every overflow. */
static void t_low_water(void) {
  static void *cold[2 * COLD_BLOCKS], *hot[2 * HOT_BLOCKS], *hot2[2 * HOT_BLOCKS];
  size_t i, c = 0;
  th_section("an overflow gives back first the blocks no malloc reached");
  dlmalloc_trim(0);
  if (!CHECK(free_every_other(cold, COLD_BLOCKS, COLD_SIZE)))
    return;
  /* a freed cold block whose neighbours are the blocks allocated before and after it */
  for (i = 2; i + 1 < 2 * COLD_BLOCKS && c == 0; i += 2)
    if ((char *)cold[i - 1] + chunk_of(cold[i - 1]) == (char *)cold[i] &&
        (char *)cold[i] + chunk_of(cold[i - 1]) == (char *)cold[i + 1])
      c = i;
  if (!CHECK(c != 0))
    return;
  CHECK_EQ(heap_blocks_holding(&heap_global, cold[c], COLD_SIZE), 1); /* cached */
  /* The first overflow empties the largest list (the hot one); the cold list's blocks have
     now waited through one interval. */
  if (!CHECK(free_every_other(hot, HOT_BLOCKS, HOT_SIZE)))
    return;
  CHECK_EQ(heap_blocks_holding(&heap_global, cold[c], COLD_SIZE), 1);
  /* The hot list is asked for again and overflows again: no malloc took a cold block since the
     first overflow, so they go back now. */
  if (!CHECK(free_every_other(hot2, HOT_BLOCKS, HOT_SIZE)))
    return;
  CHECK_EQ(heap_blocks_holding(&heap_global, cold[c], COLD_SIZE), 0); /* free in the heap */
  CHECK_GT(dlmallinfo().smblks, 0); /* the hot list's latest blocks stay */
  for (i = 1; i < 2 * COLD_BLOCKS; i += 2)
    dlfree(cold[i]);
  for (i = 1; i < 2 * HOT_BLOCKS; i += 2) {
    dlfree(hot[i]);
    dlfree(hot2[i]);
  }
  dlmalloc_trim(0);
}

/* ---- Thread exit --------------------------------------------------------------------- */

struct churn_arg {
  int call_exit;       /* call malloc_thread_exit() at the end */
  size_t cached_bytes; /* fsmblks seen by the thread before it ended */
  size_t after_exit;   /* smblks after malloc_thread_exit() and more calls */
};

static void *churn_thread(void *arg) {
  struct churn_arg *a = (struct churn_arg *)arg;
  void *blocks[MANY];
  struct mallinfo m;
  size_t i;
  for (i = 0; i < MANY; i++)
    blocks[i] = dlmalloc(16 + (i * 37) % 900);
  for (i = 0; i < MANY; i++)
    dlfree(blocks[i]);
  m = dlmallinfo();
  a->cached_bytes = m.fsmblks;
  if (a->call_exit) {
    void *p;
    dlmalloc_thread_exit();
    p = dlmalloc(50); /* still works, without the cache */
    dlfree(p);
    m = dlmallinfo();
    a->after_exit = m.smblks;
  }
  return NULL;
}

static size_t run_churn_thread(int call_exit, struct churn_arg *a) {
  pthread_t t;
  a->call_exit = call_exit;
  a->cached_bytes = a->after_exit = 0;
  if (!CHECK_EQ(pthread_create(&t, NULL, churn_thread, a), 0))
    return 0;
  CHECK_EQ(pthread_join(t, NULL), 0);
  return dlmallinfo().uordblks;
}

static void t_thread_exit(void) {
  struct churn_arg a;
  size_t before, after;
  th_section("thread exit");
  dlmalloc_trim(0);
  /* A thread that says it ends: its cache comes back, and it keeps working without one. */
  before = dlmallinfo().uordblks;
  after = run_churn_thread(1, &a);
  CHECK_GT(a.cached_bytes, 0);
  CHECK_EQ(a.after_exit, 0);
  CHECK_LE(after, before + BOOKKEEPING_SLACK);
  /* A thread that just ends: hosted builds return its cache by themselves; PORTABLE ones
     (no thread-exit hook) leave it in use, at most the byte bound. */
  before = after;
  after = run_churn_thread(0, &a);
  CHECK_GT(a.cached_bytes, 0);
#if PORTABLE
  dlmalloc_trim(0); /* the depot, where the thread's overflow went, goes back too */
  after = dlmallinfo().uordblks;
  CHECK_LE(after, before + MALLOC_THREAD_CACHE_BYTES + BOOKKEEPING_SLACK);
#else
  CHECK_LE(after, before + BOOKKEEPING_SLACK);
#endif
}

/* ---- The depot: batches one thread gives up, another takes -------------------------- */

#define DEPOT_SIZE 312 /* a size no other test uses: the main thread's list for it is empty */
/* What a thread that only frees the size keeps (a batch), and the depot's four batches. */
#define DEPOT_BLOCKS (5 * MALLOC_THREAD_CACHE_BATCH)

struct depot_arg {
  void **blocks;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int freed, done;
  size_t smblks; /* the thread's own cache after its frees */
};

/* Frees the blocks it is given (more than its cache keeps), then stays alive, so that two
   threads have caches, until told to end. */
static void *depot_giver(void *arg) {
  struct depot_arg *a = (struct depot_arg *)arg;
  size_t i;
  dlfree(dlmalloc(24)); /* this thread has a cache now */
  for (i = 0; i < DEPOT_BLOCKS; i++)
    dlfree(a->blocks[i]);
  a->smblks = (size_t)dlmallinfo().smblks;
  pthread_mutex_lock(&a->lock);
  a->freed = 1;
  pthread_cond_broadcast(&a->cond);
  while (!a->done)
    pthread_cond_wait(&a->cond, &a->lock);
  pthread_mutex_unlock(&a->lock);
  dlmalloc_thread_exit(); /* what a PORTABLE port does; hosted builds would do it anyway */
  return NULL;
}

/* Start a depot_giver on blocks (thread *t) and wait until it has freed them all.  Returns
   pthread_create's result. */
static int start_giver(struct depot_arg *a, void **blocks, pthread_t *t) {
  int rc;
  a->blocks = blocks;
  a->freed = a->done = 0;
  pthread_mutex_init(&a->lock, NULL);
  pthread_cond_init(&a->cond, NULL);
  rc = pthread_create(t, NULL, depot_giver, a);
  if (rc != 0)
    return rc;
  pthread_mutex_lock(&a->lock);
  while (!a->freed)
    pthread_cond_wait(&a->cond, &a->lock);
  pthread_mutex_unlock(&a->lock);
  return 0;
}

/* Tell the giver started by start_giver to end, and wait until it has.  Returns
   pthread_join's result. */
static int stop_giver(struct depot_arg *a, pthread_t t) {
  int rc;
  pthread_mutex_lock(&a->lock);
  a->done = 1;
  pthread_cond_broadcast(&a->cond);
  pthread_mutex_unlock(&a->lock);
  rc = pthread_join(t, NULL);
  pthread_mutex_destroy(&a->lock);
  pthread_cond_destroy(&a->cond);
  return rc;
}

static void t_depot(void) {
  static void *blocks[DEPOT_BLOCKS];
  struct depot_arg a;
  pthread_t t;
  size_t i, j, in_use, from_depot = 0, before;
  th_section("depot");
  dlmalloc_trim(0);
  before = (size_t)dlmallinfo().uordblks;
  for (i = 0; i < DEPOT_BLOCKS; i++)
    if (!CHECK((blocks[i] = dlmalloc(DEPOT_SIZE)) != NULL))
      return;
  dlmalloc_trim(0); /* this thread's list for the size is empty again */
  in_use = (size_t)dlmallinfo().uordblks;
  if (!CHECK_EQ(start_giver(&a, blocks, &t), 0))
    return;
  /* What the giver's cache could not keep went to the depot, still in use, not to the heap;
     of a size it only frees, it kept a batch at most (and its one block of 24 bytes). */
  CHECK_LE(a.smblks, MALLOC_THREAD_CACHE_BATCH + 1);
  CHECK_GE((size_t)dlmallinfo().uordblks, in_use);
  /* This thread's empty list takes a whole batch: the next mallocs are the giver's blocks. */
  for (i = 0; i < MALLOC_THREAD_CACHE_BATCH; i++) {
    void *p = dlmalloc(DEPOT_SIZE);
    for (j = 0; j < DEPOT_BLOCKS; j++)
      if (p == blocks[j])
        ++from_depot;
    blocks[i] = p; /* freed below */
  }
  CHECK_EQ(from_depot, MALLOC_THREAD_CACHE_BATCH);
  /* When the giver ends, one thread has a cache again: the depot goes back to the heap. */
  CHECK_EQ(stop_giver(&a, t), 0);
  CHECK_LE((size_t)dlmallinfo().uordblks, /* only this thread's blocks are still in use */
           before + MALLOC_THREAD_CACHE_BATCH * chunk_of(blocks[0]) + BOOKKEEPING_SLACK);
  for (i = 0; i < MALLOC_THREAD_CACHE_BATCH; i++)
    dlfree(blocks[i]);
  dlmalloc_trim(0);
  CHECK_LE((size_t)dlmallinfo().uordblks, before + BOOKKEEPING_SLACK);
}

/* ---- Alone again: the blocks kept to be passed on go back ------------------------------ */

#define ALONE_SIZE 424
#define ALONE_BLOCKS (2 * MALLOC_THREAD_CACHE_BATCH + 1)

/* Run first, while this thread's lists are all "not asked for": blocks of such a size are
   kept a batch at most while another thread has a cache, and none once this thread is alone;
   the first locked call after the other thread ends gives them back. */
static void t_alone_again(void) {
  static void *none[DEPOT_BLOCKS]; /* the other thread frees nothing */
  void *idle[ALONE_BLOCKS];
  struct depot_arg a;
  pthread_t t;
  size_t i, smblks;
  th_section("alone again, blocks kept to be passed on go back");
  for (i = 0; i < ALONE_BLOCKS; i++) /* from the heap: the size is not asked for */
    if (!CHECK((idle[i] = dlrealloc(NULL, ALONE_SIZE)) != NULL))
      return;
  smblks = (size_t)dlmallinfo().smblks;
  if (!CHECK_EQ(start_giver(&a, none, &t), 0))
    return;
  for (i = 0; i < ALONE_BLOCKS / 2; i++)
    dlfree(idle[i]);
  CHECK_EQ(dlmallinfo().smblks, smblks + ALONE_BLOCKS / 2); /* kept, to be passed on */
  CHECK_EQ(stop_giver(&a, t), 0);
  /* Alone now, but this thread learns it only under the lock: the frees that fill the list
     take no lock, the one after it does, and then the list and that block go to the heap. */
  for (; i < ALONE_BLOCKS; i++)
    dlfree(idle[i]);
  CHECK_EQ(dlmallinfo().smblks, smblks);
  CHECK_EQ(heap_blocks_holding(&heap_global, idle[0], ALONE_SIZE), 0);
}

/* ---- A failed malloc gives the cache back first --------------------------------------- */

static void t_footprint_limit(void) {
  enum { N = 20000, SIZE = 1000, FREED = 24 };
  static void *blocks[N];
  size_t n = 0, i, limit;
  void *big;
  th_section("footprint limit");
  dlmalloc_trim(0);
  limit = dlmalloc_set_footprint_limit(dlmalloc_footprint() + 256 * 1024);
  while (n < N && (blocks[n] = dlmalloc(SIZE)) != NULL)
    n++;
  CHECK_LT(n, N); /* the limit was reached */
  CHECK_LE(dlmalloc_footprint(), limit);
  /* Free a run of blocks allocated one after the other: into the cache. */
  for (i = n - FREED; i < n; i++)
    dlfree(blocks[i]);
  CHECK_GT(dlmallinfo().smblks, 0);
  /* Too large for the cache and for the heap as it is; fits once the cache is back. */
  big = dlmalloc(4 * SIZE);
  CHECK(big != NULL);
  CHECK_LE(dlmalloc_footprint(), limit);
  dlfree(big);
  dlmalloc_set_footprint_limit(0);
  for (i = 0; i < n - FREED; i++)
    dlfree(blocks[i]);
}

/* ---- fork ---------------------------------------------------------------------------- */

static void t_fork(void) {
  enum { N = 64 };
  void *live[N], *mine[N];
  pid_t pid;
  int status = -1;
  size_t i;
  th_section("fork");
  for (i = 0; i < N; i++) {
    live[i] = dlmalloc(64);
    mine[i] = dlmalloc(64);
    if (!CHECK(live[i] != NULL && mine[i] != NULL))
      return;
    fill_pattern(live[i], 64, (uint32_t)i);
  }
  for (i = 0; i < N; i++)
    dlfree(mine[i]); /* into the cache */
  CHECK_GT(dlmallinfo().smblks, 0);
  pid = fork();
  if (pid == 0) { /* the child: its copy of the cache serves it */
    int bad = 0;
    for (i = 0; i < N; i++) {
      mine[i] = dlmalloc(64);
      if (mine[i] == NULL)
        bad = 1;
      else
        memset(mine[i], 0xA5, 64);
    }
    for (i = 0; i < N; i++)
      if (!check_pattern(live[i], 64, (uint32_t)i))
        bad = 1;
    for (i = 0; i < N; i++)
      dlfree(mine[i]);
    dlmalloc_trim(0);
    _exit(bad);
  }
  if (!CHECK(pid > 0))
    return;
  CHECK_EQ(waitpid(pid, &status, 0), pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (i = 0; i < N; i++) {
    mine[i] = dlmalloc(64);
    CHECK(mine[i] != NULL);
    if (mine[i] != NULL)
      memset(mine[i], 0x5A, 64);
  }
  for (i = 0; i < N; i++) {
    CHECK(check_pattern(live[i], 64, (uint32_t)i));
    dlfree(live[i]);
    dlfree(mine[i]);
  }
}

/* ---- teardown (last: it ends the heap) ---------------------------------------------- */

static void t_teardown(void) {
  void *old[16], *p;
  size_t i;
  th_section("teardown");
  for (i = 0; i < 16; i++)
    old[i] = dlmalloc(48);
  for (i = 0; i < 16; i++)
    dlfree(old[i]); /* cached */
  CHECK_GT(dlmallinfo().smblks, 0);
  dlmalloc_teardown();
  CHECK_EQ(dlmallinfo().smblks, 0); /* the cache holds nothing of the new heap */
#ifdef TEST_WITH_PORT
  CHECK_EQ(tp_live_maps(), 0);
#endif
  p = dlmalloc(48); /* fresh memory, not a block of the old heap */
  if (CHECK(p != NULL)) {
#ifdef TEST_WITH_PORT
    CHECK(tp_is_mapped(p, 48));
#endif
    memset(p, 1, 48);
    dlfree(p);
  }
  CHECK_EQ(dlmalloc_trim(0) >= 0, 1);
}

/* ---- What a cached block shows ------------------------------------------------------- */

#define SHOWN_SIZE 136 /* a size no other test uses */
#define SHOWN_WORDS (SHOWN_SIZE / sizeof(size_t))

/* The cache writes one word into a block it keeps, the link, and never in clear: a program
   that reads a freed block (a use-after-free read) learns neither the next block's address
   nor anything but that word changed. */
static void t_cached_block_contents(void) {
  size_t *p, *q, i, kept = 0;
  th_section("cached block contents");
  dlfree(dlmalloc(SHOWN_SIZE)); /* the list is asked for: its blocks are cached */
  p = (size_t *)between_blocks_in_use(SHOWN_SIZE);
  q = (size_t *)between_blocks_in_use(SHOWN_SIZE);
  if (!CHECK(p != NULL && q != NULL))
    return;
  for (i = 0; i < SHOWN_WORDS; i++)
    p[i] = q[i] = (size_t)0xA5A5A5A5U * (i + 1);
  dlfree(q);
  dlfree(p); /* p links to q */
  for (i = 1; i < SHOWN_WORDS; i++)
    kept += p[i] == (size_t)0xA5A5A5A5U * (i + 1) && q[i] == (size_t)0xA5A5A5A5U * (i + 1);
  CHECK_EQ(kept, SHOWN_WORDS - 1);
  CHECK_NE(p[0], (size_t)(uintptr_t)q);
  CHECK_NE(p[0], (size_t)(uintptr_t)(q - 2)); /* nor q's chunk */
  CHECK(dlmalloc(SHOWN_SIZE) == p);
  CHECK(dlmalloc(SHOWN_SIZE) == q);
  dlfree(p);
  dlfree(q);
}

#ifdef TEST_WITH_PORT
/* ---- Racing double free ---------------------------------------------------------------- */

#ifndef RACE_TRIES
#define RACE_TRIES 20000 /* tries; fewer under emulation (CMakeLists.txt) */
#endif
/* Beside other jobs a try (a fork and a thread) can cost twenty times what it does alone:
   past RACE_SECONDS the test stops once it has made RACE_LEAST_TRIES. */
#define RACE_SECONDS 60
#define RACE_LEAST_TRIES (RACE_TRIES / 10)

static void *race_block;
static int race_ready, race_go;

static void *race_free(void *arg) {
  unsigned spins = 0;
  (void)arg;
  dlfree(dlmalloc(40)); /* this thread's cache is started */
  __atomic_store_n(&race_ready, 1, __ATOMIC_RELEASE);
  while (!__atomic_load_n(&race_go, __ATOMIC_ACQUIRE))
    if (++spins > 1000)
      sched_yield(); /* the other thread is not running: let it */
  dlfree(race_block);
  return NULL;
}

/* One try, in a child whose standard error is err_fd: another thread frees a block while
   this one frees it too, or (realloc) shrinks it in place, rewriting its header, and then
   frees what realloc returned.  Whatever the order, one of the calls is a double free, which
   must end in custom_abort; the child exits with 1 if every call returned. */
static void race_child(int err_fd, int with_realloc) {
  pthread_t t;
  dup2(err_fd, 2);
  race_block = between_blocks_in_use(with_realloc ? 200 : 40);
  if (pthread_create(&t, NULL, race_free, NULL) != 0)
    _exit(2);
  while (!__atomic_load_n(&race_ready, __ATOMIC_ACQUIRE))
    sched_yield(); /* the other thread may need this processor to get ready */
  __atomic_store_n(&race_go, 1, __ATOMIC_RELEASE);
  if (with_realloc) {
    void *kept = dlrealloc(race_block, 100);
    pthread_join(t, NULL);
    dlfree(kept);
  } else {
    dlfree(race_block);
    pthread_join(t, NULL);
  }
  _exit(1);
}

/* RACE_TRIES children, each one racing double free: every one must end in custom_abort with
   the double-free reason, whichever thread's call comes second.  (With FOOTERS, a block freed
   twice after the first free merged it has no footer left: "no heap owns this block".)
   With realloc: a realloc that rewrote the header of a block as a free put it into another
   thread's cache (without the lock) erased the cache's mark, and the block was in use and
   cached at once (an outside review's race): the second free then went unseen. */
static void t_racing_double_free(const char *section, int with_realloc) {
  unsigned long tries, caught = 0;
  time_t start = time(NULL);
  int out_of_time = 0;
  th_section(section);
  for (tries = 0; tries < RACE_TRIES; tries++) {
    char reason[256];
    size_t got = 0;
    ssize_t n;
    int fds[2], status = 0;
    pid_t pid;
    if (tries >= RACE_LEAST_TRIES && time(NULL) - start >= RACE_SECONDS) {
      th_note_u("the time ran out; tries made", tries);
      out_of_time = 1;
      break;
    }
    if (!CHECK_EQ(pipe(fds), 0))
      break;
    pid = fork();
    if (pid == 0) {
      close(fds[0]);
      race_child(fds[1], with_realloc);
    }
    close(fds[1]);
    while (pid > 0 && got < sizeof(reason) - 1 &&
           (n = read(fds[0], reason + got, sizeof(reason) - 1 - got)) > 0)
      got += (size_t)n; /* until the child ends */
    reason[got] = '\0';
    close(fds[0]);
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
      break;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != TP_ABORT_EXIT_CODE ||
        (strstr(reason, "double free") == NULL &&
         !(FOOTERS && strstr(reason, "no heap owns this block") != NULL))) {
      th_note_u("every call returned, or another reason; try", tries);
      th_note_u("child's wait status", (uintmax_t)status);
      th_write(reason);
      break;
    }
    ++caught;
  }
  /* every try made was caught: all of them, or as many as the time allowed */
  CHECK_EQ(caught, out_of_time ? tries : RACE_TRIES);
}
#endif

/* ---- Death cases --------------------------------------------------------------------- */

static pthread_mutex_t hold = PTHREAD_MUTEX_INITIALIZER;
static int freed_by_thread;

static void *free_and_wait(void *p) {
  dlfree(p); /* into this thread's cache, where it stays while the thread lives */
  __atomic_store_n(&freed_by_thread, 1, __ATOMIC_RELEASE);
  pthread_mutex_lock(&hold); /* stay alive, cache and all, until the process ends */
  return NULL;
}

/* Start a thread that frees p into its cache and stays alive; return once it has freed p.
   1 on success. */
static int freed_by_other_thread(void *p) {
  pthread_t t;
  pthread_mutex_lock(&hold);
  if (pthread_create(&t, NULL, free_and_wait, p) != 0)
    return 0;
  while (!__atomic_load_n(&freed_by_thread, __ATOMIC_ACQUIRE))
    usleep(1000);
  return 1;
}

/* Have another thread about, with a cache, and make this thread's cache see it (refills count
   the threads about).  1 on success. */
static int other_thread_about(void) {
  size_t i;
  if (!freed_by_other_thread(dlmalloc(16)))
    return 0;
  for (i = 1; i < 64; i++)
    dlfree(dlmalloc(i * 16));
  return 1;
}

static int death(const char *name) {
  void *p = between_blocks_in_use(40);
  if (strcmp(name, "cached_double_free") == 0) {
    dlfree(p);
    dlfree(p);
  } else if (strcmp(name, "cross_thread_double_free") == 0) {
    if (!freed_by_other_thread(p))
      return 2;
    dlfree(p);
  } else if (strcmp(name, "depot_double_free") == 0) {
    /* The giver's list for the size holds a batch (it only frees the size): its frees 1-64
       go to the depot, four batches, where blocks[20] waits, still tagged. */
    static void *blocks[DEPOT_BLOCKS];
    static struct depot_arg a;
    pthread_t t;
    size_t i;
    for (i = 0; i < DEPOT_BLOCKS; i++)
      if ((blocks[i] = dlmalloc(DEPOT_SIZE)) == NULL)
        return 2;
    if (start_giver(&a, blocks, &t) != 0)
      return 2;
    dlfree(blocks[20]);
  } else if (strcmp(name, "realloc_cached") == 0) {
    dlfree(p);
    p = dlrealloc(p, 80);
  } else if (strcmp(name, "tag_overwritten_double_free") == 0) {
    /* Everything past the link rewritten after the free, then a second free. */
    size_t rest = dlmalloc_usable_size(p) - sizeof(void *); /* (a freed block's is 0) */
    memset((char *)p + sizeof(void *), 0, rest);
    dlfree(p);
    memset((char *)p + sizeof(void *), 0, rest);
    dlfree(p);
  } else if (strcmp(name, "forged_link_static") == 0 || strcmp(name, "forged_link_live") == 0) {
    /* A use-after-free write of one word, the address the next mallocs should return: a
       static buffer (dressed as a chunk in use) or a live block of the same size. */
    static size_t fake[16] __attribute__((aligned(64)));
    void *q = between_blocks_in_use(40), *live = between_blocks_in_use(40), *target;
    fake[1] = fake[48 / sizeof(size_t) + 1] = 48 | 3; /* a chunk in use, and its successor */
    target = strcmp(name, "forged_link_live") == 0 ? live : (void *)&fake[2];
    dlfree(q);
    dlfree(p); /* p links to q */
    *(void **)p = target;
    if (dlmalloc(40) != p || dlmalloc(40) != target) {
      printf("the forged link was not followed, nor noticed\n");
      return 3;
    }
  } else if (strcmp(name, "forged_link_given") == 0) {
    /* While another thread is about, a full list gives its most recent blocks to the depot as
       a batch, walking their links: each freed block's link is overwritten after the next
       free, so the walk meets one at once (it must check it before following it). */
    static void *blocks[MALLOC_THREAD_CACHE_COUNT + 64];
    size_t i;
    if (!other_thread_about())
      return 2;
    for (i = 0; i < MALLOC_THREAD_CACHE_COUNT + 64; i++)
      if ((blocks[i] = dlmalloc(DEPOT_SIZE)) == NULL)
        return 2;
    for (i = 0; i < MALLOC_THREAD_CACHE_COUNT + 64; i++) {
      dlfree(blocks[i]);
      if (i > 0)
        memset(blocks[i - 1], 0x5a, sizeof(void *));
    }
  } else if (strcmp(name, "forged_free_neighbour") == 0) {
    /* The unsafe unlink of test_death.c on a block the cache keeps: while another thread is
       about, free(q) caches q without reading its (forged) free predecessor; the forgery is
       caught when q leaves the cache for the heap, before the merge would unlink it. */
    void **holder = (void **)dlmalloc(4 * sizeof(void *)), *w;
    unsigned char *f = NULL, *q = NULL;
    size_t tries, smblks;
    if (holder == NULL || !other_thread_about())
      return 2;
    for (tries = 0; tries < 100; tries++) { /* f, then q right after it */
      f = (unsigned char *)dlmalloc(1500);
      q = (unsigned char *)dlmalloc(776);
      if (f != NULL && q > f && (size_t)(q - f) == chunk_of(f))
        break;
    }
    if (tries == 100 || (w = dlmalloc(100)) == NULL) /* q's successor stays in use */
      return 2;
    forge_free_predecessor(holder, f, q);
    smblks = (size_t)dlmallinfo().smblks;
    dlfree(q);
    if ((size_t)dlmallinfo().smblks != smblks + 1) {
      printf("q was not cached\n");
      return 3;
    }
    dlmalloc_trim(0);
    if (holder[0] == (void *)(holder - 3))
      printf("unlinking the forged chunk redirected the program's pointer\n");
  } else if (strcmp(name, "mspace_handle_shared") == 0) {
    /* An mspace made in a block of the heap, its handle freed while another thread is about:
       the cache's fast path took the state for a block of its size (its link written into
       the live state, and the next malloc of that size handed the state out). */
    void *block = dlmalloc(65536);
    mspace inner;
    size_t n;
    if (block == NULL || !other_thread_about())
      return 2;
    inner = create_mspace_with_base(block, 65536, 0);
    if (inner == NULL || mspace_malloc(inner, 100) == NULL)
      return 2;
    dlfree(inner);
    for (n = 256; n <= 1100; n += 8) /* whatever the state's size here */
      if (dlmalloc(n) == (void *)inner)
        printf("malloc handed out the mspace's state\n");
  } else if (strcmp(name, "forged_depot_link") == 0) {
    /* As depot_double_free; then every block in the depot's batches gets a forged link. */
    static void *blocks[DEPOT_BLOCKS];
    static size_t fake[16] __attribute__((aligned(64)));
    static struct depot_arg a;
    pthread_t t;
    size_t i, forged = 0;
    for (i = 0; i < DEPOT_BLOCKS; i++)
      if ((blocks[i] = dlmalloc(DEPOT_SIZE)) == NULL)
        return 2;
    if (start_giver(&a, blocks, &t) != 0)
      return 2;
    for (i = 0; i < 4 * MALLOC_THREAD_CACHE_BATCH; i++) /* the depot's four batches */
      *(void **)blocks[i] = &fake[2];
    for (i = 0; i < DEPOT_BLOCKS; i++)
      forged += dlmalloc(DEPOT_SIZE) == (void *)&fake[2];
    if (forged == 0) {
      printf("the forged links were not followed, nor noticed\n");
      return 3;
    }
  } else {
    printf("unknown death case %s\n", name);
    return 2;
  }
  printf("the usage error went unnoticed\n");
  return 1;
}

int main(int argc, char **argv) {
  /* These are the cache's tests in front of one heap that every thread shares (the depot
     passes batches between threads of one arena): one arena.  test_arenas.c tests several. */
  if (!dlmallopt(M_ARENA_MAX, 1))
    return 2;
  if (argc > 1)
    return death(argv[1]);
  CHECK_EQ(pthread_atfork(dlmalloc_prefork, dlmalloc_postfork_parent, dlmalloc_postfork_child),
           0);
  t_alone_again(); /* first: this thread's lists are not yet asked for */
  t_accounting();
  t_merge_alone();
  t_idle_alone();
  t_realloc_null();
  t_classes();
  t_bounds();
#ifdef TEST_WITH_PORT
  t_batches();
  t_round_trips();
#endif
  t_bound_adapts();
  t_low_water();
  t_depot(); /* before t_thread_exit, which in PORTABLE builds leaves a thread counted */
  t_thread_exit();
  t_footprint_limit();
  t_fork();
  t_cached_block_contents();
#ifdef TEST_WITH_PORT
  t_racing_double_free("racing double free", 0);
  t_racing_double_free("realloc racing a free", 1);
#endif
  t_teardown();
  return th_finish();
}
