/*
  aligned -- aligned allocations, single-threaded: posix_memalign and aligned_alloc with
  alignments from 16 bytes to a page (SIMD buffers, cache-line-aligned structures, page-
  aligned I/O buffers), in a churning live set, mixed with plain mallocs as in a program
  that uses both.  Every returned address is checked against its alignment.
*/
#include "bench.h"

#define LIVE 2048

int main(int argc, char **argv) {
  bench_live run = bench_live_start(argc, argv, "aligned", 1000000, LIVE, 4);
  while (bench_live_next(&run)) {
    size_t align = (size_t)16 << rng_below(&run.rng, 9); /* 16 .. 4096 */
    size_t size = rng_size(&run.rng, 512, 8192, 8);
    void *p = NULL;
    size_t how = rng_below(&run.rng, 3);
    static const char *const how_name[3] = {"posix_memalign", "aligned_alloc", "malloc"};
    free(run.block[run.slot]);
    switch (how) {
    case 0:
      if (posix_memalign(&p, align, size) != 0)
        p = NULL;
      break;
    case 1:
      size = (size + align - 1) & ~(align - 1); /* C11 aligned_alloc wants a multiple */
      p = aligned_alloc(align, size);
      break;
    default:
      align = 8; /* malloc(8) need only be 8-aligned, and some allocators use that */
      p = malloc(size);
      break;
    }
    run.block[run.slot] = must(p, "aligned");
    if (((uintptr_t)p & (align - 1)) != 0) {
      fprintf(stderr, "aligned: %s gave %p (%zu bytes), not aligned to %zu\n", how_name[how], p,
              size, align);
      return 1;
    }
    run.sum += touch(p, size, run.step);
  }
  return bench_live_finish(&run);
}
