/*
  test_thresholds.c -- the adapting mmap and trim thresholds (MMAP_THRESHOLD_MAX, malloc.c
  section 1), on the global heap of a build that grows it with sbrk, as the drop-in library's
  does: one contiguous segment, so that "top" is one chunk and the footprint says exactly when
  free() trimmed.

  - Freeing a directly mapped block raises the mmap threshold to its size: the next block of
    that size comes from the heap.  Blocks above MMAP_THRESHOLD_MAX stay mapped.
  - When the heap must grow again after free() trimmed it, the trim threshold doubles, up to
    twice MMAP_THRESHOLD_MAX: a live set swinging by 3 MiB is trimmed once (threshold 2 MiB),
    then kept; one swinging by more than the cap is trimmed every time.
  - mallopt of either threshold stops both adapting.
  - A trim threshold set by mallopt applies from the next free, not from the heap's next
    growth: lowered from "never", it trims a top that holds more.
  - A trim threshold below the granularity still trims once top holds a unit to give back.
*/
#include "malloc.h"

#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "heaps.h"

#if !defined(MMAP_THRESHOLD_MAX) || MMAP_THRESHOLD_MAX != 4 * 1024 * 1024
#error "test_thresholds expects the variant's MMAP_THRESHOLD_MAX of 4 MiB"
#endif

#define BLOCK (128 * KB) /* below every mmap threshold the test reaches */
#define MAX_BLOCKS 80

static const struct heap *h = &heap_global;

static size_t mapped_bytes(void) { return (size_t)h->mallinfo().hblkhd; }

/* Is a fresh block of n bytes directly mapped?  (It is freed again.) */
static int maps_directly(size_t n) {
  size_t before = mapped_bytes();
  void *p = h->malloc(n);
  int mapped;
  if (!CHECK(p != NULL))
    return 0;
  mapped = mapped_bytes() >= before + n;
  h->free(p);
  return mapped;
}

/* Allocate `count` blocks (the heap grows), then free them oldest first, so that the last
   free merges them all into top: 1 when that free trimmed the heap. */
static int swing_trims(size_t count) {
  void *blocks[MAX_BLOCKS];
  size_t i, grown;
  for (i = 0; i < count; ++i) {
    blocks[i] = h->malloc(BLOCK);
    if (!CHECK(blocks[i] != NULL))
      return 0;
  }
  grown = h->footprint();
  for (i = 0; i < count; ++i)
    h->free(blocks[i]);
  return h->footprint() < grown;
}

/* With the trim threshold at 0, top is first made tiny (blocks, then a filler, take all of
   it), then the filler and the blocks before it are freed newest first, so that top grows
   from below a unit (granularity) to far beyond: 1 when the heap was trimmed on the way.
   The first of those frees finds nothing to give back; trimming stopped there, until the
   heap next grew (an outside review, with M_TRIM_THRESHOLD at glibc's 128 KiB, below the
   drop-in's 256 KiB granularity). */
#define SMALL_BLOCK (16 * KB)
static int small_top_trims(void) {
  void *blocks[MAX_BLOCKS], *filler;
  size_t n = 0, grown, keep;
  if (!CHECK(h->mallopt(M_TRIM_THRESHOLD, 0) == 1))
    return 0;
  h->trim(0);
  while (n < MAX_BLOCKS && (n < 40 || (size_t)h->mallinfo().keepcost >= 2 * SMALL_BLOCK))
    if (!CHECK((blocks[n++] = h->malloc(SMALL_BLOCK)) != NULL))
      return 0;
  keep = (size_t)h->mallinfo().keepcost; /* top's size, now below 2 * SMALL_BLOCK */
  filler = keep > 256 ? h->malloc(keep - 256) : NULL; /* top keeps a few bytes */
  if (!CHECK(n < MAX_BLOCKS && keep < 2 * SMALL_BLOCK) || !CHECK(keep <= 256 || filler != NULL))
    return 0;
  grown = h->footprint();
  h->free(filler);
  while (n > 0)
    h->free(blocks[--n]);
  return h->footprint() < grown;
}

int main(void) {
  th_section("a freed mapped block raises the mmap threshold");
  h->free(h->malloc(1)); /* a heap must exist before blocks are mapped apart from it */
  CHECK(maps_directly(512 * KB)); /* above the 256 KiB default: mapped, and freed */
  CHECK(!maps_directly(512 * KB));
  CHECK(maps_directly(6 * MB)); /* above MMAP_THRESHOLD_MAX: always mapped */
  CHECK(maps_directly(6 * MB));

  th_section("growing after a trim doubles the trim threshold");
  CHECK(swing_trims(24));  /* 3 MiB > 2 MiB: trimmed */
  CHECK(!swing_trims(24)); /* regrown: threshold 4 MiB, kept */
  CHECK(swing_trims(48));  /* 6 MiB > 4 MiB: trimmed */
  CHECK(!swing_trims(48)); /* threshold 8 MiB */

  th_section("the trim threshold stops at twice MMAP_THRESHOLD_MAX");
  CHECK(swing_trims(80)); /* 10 MiB > 8 MiB */
  CHECK(swing_trims(80)); /* regrown, but 8 MiB is the cap */

  th_section("mallopt fixes both thresholds");
  CHECK(h->mallopt(M_TRIM_THRESHOLD, (int)(2 * MB)) == 1);
  CHECK(swing_trims(24));
  CHECK(swing_trims(24)); /* no doubling */
  CHECK(maps_directly(1 * MB));
  CHECK(maps_directly(1 * MB)); /* no raise of the mmap threshold */

  th_section("a trim threshold set again applies at once");
  CHECK(h->mallopt(M_TRIM_THRESHOLD, -1) == 1);
  CHECK(!swing_trims(24)); /* never trimmed */
  CHECK(h->mallopt(M_TRIM_THRESHOLD, (int)(2 * MB)) == 1);
  CHECK(swing_trims(24)); /* the heap did not grow (top held the 3 MiB), yet it trims */

  th_section("a trim threshold below the granularity still trims");
  CHECK(small_top_trims());
  return th_finish();
}
