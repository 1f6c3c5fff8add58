/*
  test_faults.c -- the footprint limit under every kind of request, and custom_munmap refusing.

  Footprint limit (global heap and an mspace): with a limit set, a mixed stream of requests
  (tree and directly mapped malloc, calloc, memalign, realloc growing a block into a direct
  map, independent_comalloc) runs until one fails.  After every call the footprint is at most
  the limit; the failing call returns NULL and changes nothing (its block, for realloc, keeps
  its content); raising the limit to a higher finite value makes the same call succeed, still
  within the new limit; a limit below the footprint stops growth but not reuse of free space.

  custom_munmap answering -1 (global heap and an mspace): freeing a directly mapped block,
  reallocating one to another mapped size, and trimming (automatic on free, and malloc_trim)
  all meet the refusal.  The heap must keep the memory (footprint unchanged, the port's
  regions still live), stay consistent (mallinfo adds up; DEBUG builds run the full invariant
  check in mallinfo), keep every live block's content, and serve later requests from the
  memory it kept, without asking for more (a freed large block's region serves the next large
  blocks); once unmaps work again, trim gives it back, and with FOOTERS no region given back
  holds the heap's tag.

  A map call whose region ends at the top of the address space (base + length wraps to 0):
  the core gives it back untouched, and the request fails or is served from other memory.
*/
#include "malloc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "heaps.h"
#include "test_port.h"

#define T TEST_MMAP_THRESHOLD
#define MAX_KEPT 256

static struct kept_block kept_store[MAX_KEPT];
static struct kept_blocks kept = KEPT_BLOCKS(kept_store);

static void keep(void *p, size_t n) { CHECK(keep_block(&kept, p, n)); }

#if FOOTERS
/* With FOOTERS a block in use is followed by its footer: its heap's tag (the heap's address
   mixed with the process's secret) mixed with its own chunk size.  Memory given back to the
   port must take no footer with it: a port that does not clear memory hands it out again as
   it was, and one footer, its size and the heap's address give the secret, and with it the
   footer of any block of any heap (docs/hostile-input.md).  watch_tags learns h's tag from
   its block `live` and has every region given back from then on searched for footers: a word
   that, unmixed with the tag, is the size of the chunk whose header it follows. */
static size_t watched_tag, footers_given_back;

static size_t word_at(const unsigned char *at) {
  size_t w;
  memcpy(&w, at, sizeof w);
  return w;
}

static void count_footers(const void *base, size_t length) {
  const unsigned char *region = (const unsigned char *)base;
  const size_t W = sizeof(size_t);
  size_t i;
  for (i = 2 * W; i + W <= length; i += W) { /* a footer at i ends a chunk starting at i - s */
    size_t s = word_at(region + i) ^ watched_tag;
    if (s % MALLOC_ALIGNMENT == 0 && s >= 2 * W && s <= i &&
        (word_at(region + i - s + W) & ~(size_t)7) == s)
      ++footers_given_back;
  }
}

static void watch_tags(const struct heap *h, const void *live) {
  const unsigned char *mem = (const unsigned char *)live;
  size_t size = word_at(mem - sizeof(size_t)) & ~(size_t)7; /* its chunk's, from the header */
  watched_tag = footer_word(h, live) ^ size;
  footers_given_back = 0;
  tp_before_unmap(count_footers);
}
#endif

static void release_all(const struct heap *h) {
  CHECK_EQ(damaged_blocks(&kept), 0);
  free_kept_blocks(&kept, h);
}

/* usable_size answers 0 for what free() would refuse (INSECURE reads any header unchecked). */
#if INSECURE
#define CHECK_REFUSED_AS_FREED(h, p) ((void)(h), (void)(p))
#else
#define CHECK_REFUSED_AS_FREED(h, p) CHECK_EQ((h)->usable_size(p), 0)
#endif

static void consistent(const struct heap *h) {
  CHECK_MALLINFO_ADDS_UP(h);
  CHECK_EQ(damaged_blocks(&kept), 0);
  CHECK_EQ(tp_locks_held(), 0);
}

/* ---- Footprint limit --------------------------------------------------------------------- */

/* Request number k of the mixed stream; 1 when it succeeded.  kept.at[0] is the block that
   realloc grows. */
static int limited_request(const struct heap *h, unsigned k) {
  void *p = NULL;
  size_t n = 0;
  switch (k % 6) {
  case 0:
    p = h->malloc(n = 100 * KB);
    break;
  case 1:
    p = h->malloc(n = T + 50 * KB); /* directly mapped */
    break;
  case 2:
    p = h->calloc(1, n = 3 * T / 2);
    if (p != NULL)
      CHECK(sampled_zero(p, n));
    break;
  case 3:
    p = h->memalign(64 * KB, n = 150 * KB);
    if (p != NULL)
      CHECK(TH_ALIGNED(p, 64 * KB));
    break;
  case 4: { /* grow the first block by T */
    struct kept_block *b = &kept.at[0];
    size_t grown = b->n + T;
    p = h->realloc(b->p, grown);
    if (p == NULL)
      return 0; /* kept.at[0] is checked with the others */
    CHECK(sampled_intact(p, b->n, b->n, b->id));
    restamp_block(&kept, 0, p, grown);
    return 1;
  }
  default: {
    size_t sizes[3] = {40 * KB, 80 * KB, 120 * KB}, i;
    void *chunks[3] = {NULL, NULL, NULL};
    if (h->independent_comalloc(3, sizes, chunks) == NULL) {
      CHECK(chunks[0] == NULL && chunks[1] == NULL && chunks[2] == NULL);
      return 0;
    }
    for (i = 0; i < 3; i++)
      keep(chunks[i], sizes[i]);
    return 1;
  }
  }
  if (p == NULL)
    return 0;
  keep(p, n);
  return 1;
}

static void footprint_limit(const struct heap *h) {
  size_t limit, raised, f;
  unsigned k, failures = 0, grown_after = 0;
  th_section("footprint limit: a mixed stream stays below it");
  keep(h->malloc(1000), 1000); /* kept.at[0]: realloc grows it */
  limit = h->set_footprint_limit(h->footprint() + 3 * MB);
  CHECK_EQ(h->footprint_limit(), limit);
  for (k = 0; k < 600 && failures < 12; k++) {
    if (limited_request(h, k)) {
      CHECK_LE(h->footprint(), limit);
      continue;
    }
    failures++;
    /* A clean refusal: within the limit, nothing damaged, the heap consistent ... */
    CHECK_LE(h->footprint(), limit);
    consistent(h);
    /* ... and a higher finite limit lets the same request through (realloc's move holds the
       old block and the new one at once). */
    raised = h->set_footprint_limit(limit + 4 * MB + 2 * kept.at[0].n);
    CHECK_GT(raised, limit);
    if (CHECK(limited_request(h, k)))
      grown_after++;
    CHECK_LE(h->footprint(), raised);
    limit = h->set_footprint_limit(h->footprint() + 2 * MB); /* tighten again */
  }
  CHECK_EQ(failures, 12); /* the limit did bite, over and over */
  CHECK_EQ(grown_after, failures);
  consistent(h);

  th_section("footprint limit below the footprint: no growth, reuse still works");
  f = h->footprint();
  h->free(kept.at[--kept.count].p); /* some free space inside the heap */
  h->set_footprint_limit(1); /* rounds up to one page or granule: far below f */
  CHECK_LT(h->footprint_limit(), f);
  CHECK(h->malloc(4 * MB) == NULL);
  {
    void *p = h->malloc(1000);
    CHECK(p != NULL);
    h->free(p);
  }
  CHECK_LE(h->footprint(), f);
  h->set_footprint_limit(0); /* no limit */
  release_all(h);
  consistent(h);
}

/* ---- custom_munmap refusing -------------------------------------------------------------- */

/* A block that custom_direct_mmap served.  A request above the mmap threshold comes from top
   when top is big enough, so the size doubles until the port sees a direct map. */
static void *direct_block(const struct heap *h, size_t *n) {
  struct tp_stats s0, s1;
  for (*n = 2 * T; *n <= 64 * MB; *n *= 2) {
    void *p;
    tp_get_stats(&s0);
    p = h->malloc(*n);
    tp_get_stats(&s1);
    if (p == NULL || s1.direct_maps > s0.direct_maps)
      return p;
    h->free(p);
  }
  return NULL;
}

static void refused_unmaps(const struct heap *h) {
  struct tp_stats s0, s1;
  size_t f0, i, n;
  void *big, *moved;
  th_section("refused unmap: free of a direct map");
  big = direct_block(h, &n);
  if (!CHECK(big != NULL))
    return;
  keep(h->malloc(5000), 5000);
  f0 = h->footprint();
  tp_get_stats(&s0);
  tp_refuse_munmap(1);
  h->free(big);
  tp_get_stats(&s1);
  CHECK_EQ(s1.refused_unmaps, s0.refused_unmaps + 1);
  CHECK_EQ(s1.live_maps, s0.live_maps); /* the heap kept the region ... */
  CHECK_EQ(h->footprint(), f0);         /* ... and still counts it */
  CHECK_REFUSED_AS_FREED(h, big);       /* ... as free: a second free would be refused */
  consistent(h);

  th_section("refused unmap: the kept region serves the next large blocks");
  tp_get_stats(&s0);
  for (i = 0; i < 20; i++) {
    unsigned char *again = (unsigned char *)h->malloc(n - 100 * i);
    if (!CHECK(again != NULL))
      break;
    again[0] = again[n - 100 * i - 1] = (unsigned char)i;
    CHECK_GE(h->usable_size(again), n - 100 * i);
    h->free(again);
    CHECK_REFUSED_AS_FREED(h, again);
  }
  tp_get_stats(&s1);
  CHECK_EQ(s1.direct_maps, s0.direct_maps); /* no new region: the kept one each time */
  CHECK_EQ(s1.live_maps, s0.live_maps);
  CHECK_EQ(h->footprint(), f0);
  consistent(h);

  th_section("refused unmap: calloc of a kept region clears it");
  {
    /* With MMAP_CLEARS=1 calloc trusts a mapped chunk to be zero: a reused region is not. */
    unsigned char *used = (unsigned char *)h->malloc(n), *zeroed;
    size_t nonzero = 0;
    if (!CHECK(used != NULL))
      return;
    memset(used, 0xab, h->usable_size(used));
    h->free(used);
    CHECK_REFUSED_AS_FREED(h, used);
    zeroed = (unsigned char *)h->calloc(1, n);
    if (!CHECK(zeroed != NULL))
      return;
    CHECK(zeroed == used); /* the kept region again */
    for (i = 0; i < n; i++) /* the bytes asked for (calloc clears no more) */
      nonzero += zeroed[i] != 0;
    CHECK_EQ(nonzero, 0);
    h->free(zeroed);
  }

  th_section("refused unmap: realloc of a direct map to another mapped size");
  tp_refuse_munmap(0);
  big = direct_block(h, &n);
  tp_refuse_munmap(1);
  if (!CHECK(big != NULL))
    return;
  stamp_sampled(big, n, 4242);
  tp_get_stats(&s0);
  moved = h->realloc(big, 2 * n);
  tp_get_stats(&s1);
  CHECK(moved != NULL);
  CHECK_EQ(s1.unmaps, s0.unmaps); /* whatever it did, nothing went back */
  if (moved != NULL) {
    CHECK(sampled_intact(moved, n, n, 4242));
    keep(moved, 2 * n);
  }
  consistent(h);

  th_section("refused unmap: trim keeps the segments, later requests reuse them");
  for (i = 0; i < 40; i++)
    keep(h->malloc(T / 2 + 1000 * i), T / 2 + 1000 * i); /* several segments */
  consistent(h);
  f0 = h->footprint();
  tp_get_stats(&s0);
  for (i = 1; i < kept.count; i++) /* free (and so auto-trim) everything but the first */
    h->free(kept.at[i].p);
  kept.count = 1;
  CHECK_EQ(h->trim(0), 0); /* nothing could go back */
  tp_get_stats(&s1);
  CHECK_GT(s1.refused_unmaps, s0.refused_unmaps);
  CHECK_EQ(s1.unmaps, s0.unmaps);
  consistent(h);
  tp_refuse_munmap(0);
  tp_get_stats(&s0);
  for (i = 0; i < 30; i++) /* served from the kept segments: no new map */
    keep(h->malloc(T / 2 + 1000 * i), T / 2 + 1000 * i);
  tp_get_stats(&s1);
  CHECK_EQ(s1.maps + s1.direct_maps, s0.maps + s0.direct_maps);
  CHECK_LE(h->footprint(), f0);
  consistent(h);

  th_section("unmaps work again: trim gives the memory back");
#if FOOTERS
  watch_tags(h, kept.at[0].p);
  h->free(direct_block(h, &n)); /* a directly mapped block's region goes back at once */
#endif
  tp_get_stats(&s0);
  release_all(h); /* (free() itself gives back a segment it empties, if large) */
  {
    struct tp_stats freed;
    int trimmed;
    tp_get_stats(&freed);
    trimmed = h->trim(0);
    tp_get_stats(&s1);
    CHECK_EQ(trimmed, s1.unmaps > freed.unmaps);
  }
  CHECK_GT(s1.unmaps, s0.unmaps);
  CHECK_LT(h->footprint(), f0);
#if FOOTERS
  tp_before_unmap(0);
  CHECK_EQ(footers_given_back, 0); /* none in the mapped block's region nor the segments */
#endif
  consistent(h);
}

#if MSPACES
static void refused_destroy(void) {
  struct tp_stats s0, s1;
  mspace m;
  th_section("refused unmap: destroy_mspace leaves the regions, reports nothing freed");
  m = create_mspace(0, 1);
  if (!CHECK(m != NULL))
    return;
  CHECK(mspace_malloc(m, 2 * T) != NULL);
  CHECK(mspace_malloc(m, 1000) != NULL);
  tp_get_stats(&s0);
  tp_refuse_munmap(1);
  CHECK_EQ(destroy_mspace(m), 0);
  tp_refuse_munmap(0);
  tp_get_stats(&s1);
  CHECK_EQ(s1.live_maps, s0.live_maps); /* leaked, as malloc.h documents */
  CHECK_EQ(s1.refused_unmaps, s0.refused_unmaps + 2);
}
#endif

static void region_at_top(const struct heap *h) {
  struct tp_stats s0, s1;
  size_t n, i;
  void *p;
  th_section("a region ending at the top of the address space goes back untouched");
  p = direct_block(h, &n); /* n: a size the heap maps directly */
  if (!CHECK(p != NULL))
    return;
  h->free(p);
  tp_get_stats(&s0);
  tp_map_at_top_nth(1);
  p = h->malloc(n); /* the direct map's region is the one at the top */
  tp_get_stats(&s1);
  CHECK(p == NULL || tp_is_mapped(p, n));
  CHECK_EQ(s1.live_maps, s0.live_maps + (p != NULL)); /* at most a region of another call */
  CHECK_GT(s1.unmaps, s0.unmaps);
  h->free(p);
  consistent(h);
  tp_get_stats(&s0);
  tp_map_at_top_nth(1);
  for (i = 0; i < 64; i++) { /* until a new segment is needed: its region is at the top */
    p = h->malloc(T / 2);
    tp_get_stats(&s1);
    if (p != NULL)
      keep(p, T / 2);
    if (s1.map_calls + s1.direct_calls != s0.map_calls + s0.direct_calls)
      break;
  }
  CHECK_GT(s1.unmaps, s0.unmaps);
  consistent(h);
  tp_clear_failures();
  release_all(h);
}

static void run(const struct heap *h) {
  th_write("-- ");
  th_write(h->name);
  th_write("\n");
  footprint_limit(h);
  refused_unmaps(h);
  region_at_top(h);
}

#if MSPACES && !defined(__wasm__)
/* A block grown by realloc needs a new segment at each step (segments never merge), and the
   one it leaves holds nothing.  free() looks for such segments only now and then: a request the
   footprint limit refuses (or the system) takes them back first and is tried again.  Without,
   an outside review's block grown through a fixed pool got NULL with nineteen twentieths of
   the pool free. */
static void refused_growth_takes_back_empty_segments(void) {
  mspace m = create_mspace(0, 1);
  void *p, *q;
  size_t step, fp0;
  th_section("a refused growth first takes back segments that hold nothing");
  if (!CHECK(m != NULL))
    return;
  CHECK_EQ(mspace_mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024), 1); /* all in segments */
  fp0 = mspace_footprint(m);
  CHECK_GT(mspace_set_footprint_limit(m, fp0 + 2 * MB), 0);
  p = mspace_malloc(m, 64 * KB);
  for (step = 2; p != NULL && step <= 12; step++) { /* 768 KB at the end */
    q = mspace_realloc(m, p, step * 64 * KB);
    if (!CHECK(q != NULL))
      break;
    p = q;
    CHECK_LE(mspace_footprint(m), mspace_footprint_limit(m));
  }
  CHECK_EQ(step, 13);
  CHECK_EQ(mspace_mallopt(M_MMAP_THRESHOLD, (int)T), 1);
  mspace_free(m, p);
  CHECK_GT(destroy_mspace(m), 0);
}

/* Without mremap (PORTABLE ports), a directly mapped block that realloc grows moves to a region
   a quarter larger than asked for, whose slack the next steps use: grown 4 KiB at a time, a
   buffer was mapped, copied and unmapped at every step (an embedder's review: 16 MB took 26 s,
   0.03 s on POSIX with mremap). */
static void realloc_growth_of_a_mapped_block(void) {
  mspace m = create_mspace(0, 1);
  struct tp_stats s0, s1;
  unsigned char *p, *q;
  size_t n = 2 * T, i;
  th_section("a mapped block grown in small steps moves a few times only");
  if (!CHECK(m != NULL))
    return;
  p = (unsigned char *)mspace_malloc(m, n);
  tp_get_stats(&s0);
  for (; p != NULL && n < 8 * MB; n += 4 * KB) {
    p[n - 1] = (unsigned char)(n / 4096);
    q = (unsigned char *)mspace_realloc(m, p, n + 4 * KB);
    if (!CHECK(q != NULL))
      break;
    p = q;
  }
  tp_get_stats(&s1);
  CHECK_LE(s1.direct_maps - s0.direct_maps, 64); /* one per step made 1,900 */
  for (i = 2 * T; p != NULL && i < n; i += 4 * KB) /* every step's byte came along */
    if (!CHECK_EQ(p[i - 1], (unsigned char)(i / 4096)))
      break;
  mspace_free(m, p);
  CHECK_GT(destroy_mspace(m), 0);
}
#endif

int main(void) {
#if !ONLY_MSPACES
  run(&heap_global);
#endif
#if MSPACES
  {
    mspace m = create_mspace(0, 1);
    if (CHECK(m != NULL)) {
      run(heap_of_mspace(m));
      CHECK_GT(destroy_mspace(m), 0);
    }
  }
  refused_destroy();
#if !defined(__wasm__)
  refused_growth_takes_back_empty_segments();
  realloc_growth_of_a_mapped_block();
#endif
#endif
  th_section("port state at the end");
  CHECK_EQ(tp_locks_held(), 0);
  CHECK_EQ(tp_lock_errors(), 0);
  return th_finish();
}
