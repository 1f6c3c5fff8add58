/*
  test_oom.c -- running out of memory, injected through the instrumented port.

  For N = 1..K the port is told to fail the Nth map call (custom_mmap or custom_direct_mmap)
  from now and every map call after it.  The heap is then filled until an allocation returns
  NULL; at that point every allocating API must return NULL for a request larger than the heap
  (posix_memalign: ENOMEM), a failed realloc must leave its block alone, and every block
  allocated before must still carry its pattern.  With the failure switched off, the same
  requests succeed again.  Also: the very first map failing, direct maps failing (the
  allocator falls back to its segments), mspaces, and create_mspace_with_base needing no map
  at all.  test_oomsweep.c fails every single map call of a run in turn.
*/
#include "malloc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "heaps.h"
#include "test_port.h"


#define K_ROUNDS 8
#define MAX_BLOCKS 2048

static struct kept_block kept_store[MAX_BLOCKS];
static struct kept_blocks kept = KEPT_BLOCKS_FULL(kept_store); /* every byte checked */

/* Every allocating call of h, asked for more than the heap holds, must fail. */
static void all_fail(const struct heap *h, size_t big) {
  void *p, *chunks[2];
  size_t sizes[2];
  unsigned char *victim = kept.at[0].p;
  CHECK(h->realloc_in_place(victim, big) == NULL);
  CHECK_OUT_OF_MEMORY(h->malloc(big));
  CHECK_OUT_OF_MEMORY(h->calloc(big / 16, 16));
  CHECK_OUT_OF_MEMORY(h->memalign(4096, big));
  CHECK_OUT_OF_MEMORY(h->realloc(NULL, big));
  ERRNO_RESET();
  p = h->realloc(victim, big);
  CHECK(p == NULL);
  CHECK_ERRNO_ENOMEM();
  if (p != NULL) /* it moved and freed victim: keep the tally right */
    kept.at[0].p = p;
  CHECK(h->independent_calloc(2, big / 2, chunks) == NULL);
  sizes[0] = big / 2;
  sizes[1] = big / 2;
  CHECK(h->independent_comalloc(2, sizes, NULL) == NULL);
#if !ONLY_MSPACES
  if (!h->is_mspace) {
    void *q = NULL;
    CHECK_RC_ENOMEM(dlposix_memalign(&q, 64, big));
    CHECK_OUT_OF_MEMORY(dlvalloc(big));
    CHECK_OUT_OF_MEMORY(dlpvalloc(big));
  }
#endif
#if MSPACES
  CHECK(create_mspace(0, 1) == NULL);
#endif
}

/* The same requests once maps work again. */
static void all_succeed(const struct heap *h, size_t big) {
  void *p;
  p = h->malloc(big);
  CHECK(p != NULL);
  h->free(p);
  p = h->calloc(big / 16, 16);
  CHECK(p != NULL);
  h->free(p);
  p = h->memalign(4096, big);
  CHECK(p != NULL);
  h->free(p);
#if !ONLY_MSPACES
  if (!h->is_mspace) {
    int rc = dlposix_memalign(&p, 64, big);
    CHECK_EQ(rc, 0);
    if (rc == 0)
      dlfree(p);
  }
#endif
#if MSPACES
  {
    mspace m = create_mspace(0, 1);
    CHECK(m != NULL);
    if (m != NULL)
      destroy_mspace(m);
  }
#endif
}

/* Round n: maps fail from the nth on; fill the heap until it says no. */
static void round_n(const struct heap *h, unsigned n) {
  struct tp_stats s0, s1;
  size_t got_null = 0, tries, big;
  tp_get_stats(&s0);
  tp_fail_maps_from(n);
  for (tries = 0; tries < 64 * (size_t)n + 64 && !got_null; tries++) {
    size_t size = 100 * KB + (tries % 7) * 9 * KB; /* below the mmap threshold */
    void *p = h->malloc(size);
    if (p == NULL)
      got_null = 1;
    else if (!keep_block(&kept, p, size))
      h->free(p);
  }
  tp_get_stats(&s1);
  CHECK(got_null);
  CHECK_GT(s1.injected_failures, s0.injected_failures);
  /* it failed because of the Nth map call, no sooner */
  CHECK_GE((s1.map_calls + s1.direct_calls) - (s0.map_calls + s0.direct_calls), n);
  CHECK_EQ(damaged_blocks(&kept), 0);
  big = h->footprint() + 8 * MB; /* more than any free space the heap holds */
  all_fail(h, big);
  CHECK_EQ(damaged_blocks(&kept), 0);
  CHECK_EQ(tp_locks_held(), 0);
  tp_clear_failures();
  all_succeed(h, big);
  CHECK_EQ(damaged_blocks(&kept), 0);
}

/* A round frees what it filled the heap with, but for the first ROUND_CARRIES blocks, which
   stay to be checked through the later rounds: a heap that grows by a quarter of its
   footprint (malloc.c, unmerged_segment_size) would otherwise need its footprint to grow
   1.25^n times for round n's n maps. */
#define ROUND_CARRIES 16

static void run_rounds(const struct heap *h) {
  unsigned n;
  th_write("-- ");
  th_write(h->name);
  th_write("\n");
  for (n = 1; n <= K_ROUNDS; n++) {
    th_section(n == 1 ? "round 1" : n == 2 ? "round 2" : "round 3..K");
    if (kept.count == 0) /* all_fail() needs one block to try realloc on */
      keep_block(&kept, h->malloc(64), 64);
    round_n(h, n);
    while (kept.count > ROUND_CARRIES)
      h->free(kept.at[--kept.count].p);
  }
  free_kept_blocks(&kept, h);
}

/* Direct maps failing is not an out-of-memory condition: segments take over.  (The block is
   larger than the heap, so that no top can already hold it.) */
static void direct_fallback(const struct heap *h) {
  struct tp_stats s0, s1;
  void *p;
  size_t size = h->footprint() + 2 * MB;
  th_section("direct map refused: served from segments");
  tp_get_stats(&s0);
  tp_fail_direct(1);
  p = h->malloc(size);
  tp_fail_direct(0);
  tp_get_stats(&s1);
  CHECK(p != NULL);
  CHECK_EQ(s1.direct_maps, s0.direct_maps);
  CHECK_GT(s1.maps, s0.maps);
  if (p != NULL) {
    memset(p, 0x44, size);
    CHECK_GE(h->usable_size(p), size);
  }
  h->free(p);
  th_section("one direct map fails once");
  tp_fail_direct_nth(1);
  p = h->malloc(3 * MB);
  CHECK(p != NULL); /* falls back as well */
  h->free(p);
  tp_clear_failures();
}

#if MSPACES
static unsigned char base_buffer[256 * KB];
#endif

int main(void) {
#if !ONLY_MSPACES
  th_section("the very first map fails");
  {
    void *p;
    tp_fail_mmap_nth(1);
    ERRNO_RESET();
    p = dlmalloc(100);
    CHECK(p == NULL);
    CHECK_ERRNO_ENOMEM();
    p = dlmalloc(100); /* the failure was a one-off */
    CHECK(p != NULL);
    dlfree(p);
    tp_clear_failures();
  }
  run_rounds(&heap_global);
  direct_fallback(&heap_global);
#endif
#if MSPACES
  {
    mspace m;
    th_section("create_mspace, first map fails");
    tp_fail_mmap_nth(1);
    CHECK(create_mspace(0, 1) == NULL);
    tp_clear_failures();
    m = create_mspace(0, 1);
    if (CHECK(m != NULL)) {
      run_rounds(heap_of_mspace(m));
      direct_fallback(heap_of_mspace(m));
      destroy_mspace(m);
    }
    th_section("create_mspace_with_base needs no map");
    tp_fail_all_maps(1);
    m = create_mspace_with_base(base_buffer, sizeof base_buffer, 1);
    if (CHECK(m != NULL)) {
      void *p = mspace_malloc(m, 1000), *q;
      CHECK(p != NULL);
      q = mspace_malloc(m, 4 * MB); /* would need a map */
      CHECK(q == NULL);
      tp_fail_all_maps(0);
      q = mspace_malloc(m, 4 * MB);
      CHECK(q != NULL);
      mspace_free(m, q);
      mspace_free(m, p);
      destroy_mspace(m);
    }
    tp_clear_failures();
  }
#endif
  th_section("port state at the end");
  CHECK_EQ(tp_locks_held(), 0);
  CHECK_EQ(tp_lock_errors(), 0);
  return th_finish();
}
