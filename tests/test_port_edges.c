/*
  test_port_edges.c -- ports at the edges of what malloc.h section 6 allows.  malloc.c is built
  here with DEFAULT_PAGE_SIZE=256 and DEFAULT_GRANULARITY=256 (tests/CMakeLists.txt), which
  init_mparams accepts, as a port for a small board might set; and the port may hand out a
  region at address 0, which the contract forbids and the core must give back untouched.

  The port is this file's: a bump allocator over a static pool, each region exactly the length
  asked for and the next one right behind it, so a write past a region's end lands in the
  pool's untouched bytes, where the test looks for it.  Unmaps are accepted (the pool does not
  reuse them) or refused while `refusing` is set.
*/
#include "malloc.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define POOL_BYTES (4u << 20)
#define UNTOUCHED 0xEE

static _Alignas(4096) unsigned char pool[POOL_BYTES];
static size_t pool_used;
static int refusing;
static int region_at_zero;       /* the next custom_mmap returns address 0 */
static size_t unmaps_of_zero;    /* custom_munmap calls for the region at 0 */

void *custom_mmap(size_t length) {
  void *region;
  if (region_at_zero) {
    region_at_zero = 0;
    return (void *)0;
  }
  if (length > POOL_BYTES - pool_used)
    return CUSTOM_MMAP_FAILURE;
  region = pool + pool_used;
  pool_used += length;
  return region;
}
void *custom_direct_mmap(size_t length) { return custom_mmap(length); }
int custom_munmap(void *base, size_t length) {
  (void)length;
  if (base == 0)
    unmaps_of_zero++;
  return refusing ? -1 : 0;
}
void init_lock(void **lock) { *lock = 0; }
void final_lock(void **lock) { (void)lock; }
void acquire_lock(void **lock) { (void)lock; }
void release_lock(void **lock) { (void)lock; }
void custom_abort(void) {
  th_write("custom_abort: ");
  th_write(malloc_abort_reason());
  th_write("\n");
  abort();
}

/* Bytes the core wrote in the pool past the regions it was given (from `from` up to 4 KiB). */
static size_t written_past(size_t from) {
  size_t i, last = from;
  for (i = from; i < from + 4096 && i < POOL_BYTES; i++)
    if (pool[i] != UNTOUCHED)
      last = i + 1;
  return last - from;
}

/* create_mspace(0, ...) maps one granularity unit, which here is smaller than the mspace's
   own state and a top chunk: the region must still hold them. */
static void t_small_mspace(void) {
  mspace m;
  void *p;
  size_t start = pool_used;
  th_section("create_mspace(0) with a 256-byte granularity stays in its region");
  m = create_mspace(0, 0);
  if (!CHECK(m != NULL))
    return;
  CHECK_GT(pool_used - start, 256);     /* more than one unit was asked for */
  CHECK_EQ(written_past(pool_used), 0); /* and nothing written beyond it */
  p = mspace_malloc(m, 100);
  CHECK(p != NULL);
  mspace_free(m, p);
  CHECK_EQ(written_past(pool_used), 0);
  destroy_mspace(m);
}

/* Blocks that each take a segment of their own; freed, the segments (but top's) are one free
   chunk each, smaller than the tree bins' sizes, and trim gives them back -- or keeps them
   when the port refuses. */
static void t_trim_small_segments(int refuse) {
  void *blocks[8];
  size_t i, before;
  th_section(refuse ? "trim keeps segments of small free chunks when the port refuses"
                    : "trim gives back segments that hold one small free chunk");
  for (i = 0; i < 8; i++) {
    blocks[i] = dlmalloc(100);
    if (!CHECK(blocks[i] != NULL))
      return;
    memset(blocks[i], (int)i, 100);
  }
  for (i = 0; i < 7; i++)
    dlfree(blocks[i]);
  before = dlmalloc_footprint();
  refusing = refuse;
  CHECK_EQ(dlmalloc_trim(0), !refuse);
  refusing = 0;
  if (refuse)
    CHECK_EQ(dlmalloc_footprint(), before);
  else
    CHECK_LT(dlmalloc_footprint(), before);
  for (i = 0; i < 7; i++) { /* the kept segments serve again */
    blocks[i] = dlmalloc(100);
    CHECK(blocks[i] != NULL);
  }
  for (i = 0; i < 8; i++)
    dlfree(blocks[i]);
}

/* A region at address 0 (the core's records take 0 for "none") is given back before the
   core writes to it, and the request fails like any failed map; the next one succeeds. */
static void t_region_at_zero(void) {
  void *p;
  size_t footprint = dlmalloc_footprint();
  th_section("a region at address 0 goes back to the port");
  region_at_zero = 1;
  p = create_mspace(0, 0); /* its first map is the region at 0 */
  CHECK(p == NULL);
  CHECK_EQ(unmaps_of_zero, 1);
  CHECK_EQ(dlmalloc_footprint(), footprint);
  p = create_mspace(0, 0);
  CHECK(p != NULL);
  if (p != NULL)
    destroy_mspace(p);
}

/* memalign of a mapped chunk cuts its front off: with 256-byte pages and a small mmap
   threshold the chunk left may be one of the small bins' sizes (DEBUG's check of mapped chunks
   took that for damage). */
static void t_small_mapped_chunks(void) {
  size_t n;
  th_section("memalign leaves small mapped chunks");
  CHECK(dlmallopt(M_MMAP_THRESHOLD, 4096));
  for (n = 1; n < 400; n += 7) {
    unsigned char *p = (unsigned char *)dlmemalign(4096, n);
    if (!CHECK(p != NULL))
      break;
    CHECK_EQ((uintptr_t)p % 4096, 0);
    CHECK_GE(dlmalloc_usable_size(p), n);
    memset(p, 0x77, n);
    dlfree(p);
  }
  CHECK(dlmallopt(M_MMAP_THRESHOLD, 256 * 1024));
}

int main(void) {
  memset(pool, UNTOUCHED, sizeof pool);
  t_small_mspace();
  t_trim_small_segments(1);
  t_trim_small_segments(0);
  t_region_at_zero();
  t_small_mapped_chunks();
  return th_finish();
}
