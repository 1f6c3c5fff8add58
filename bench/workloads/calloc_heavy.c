/*
  calloc_heavy -- zeroed allocations, single-threaded: calloc for arrays and structures of
  16 bytes to 64 KiB (with a few up to 512 KiB), in a churning live set.  The program reads
  each block to check that it is zero, then dirties it, so that a recycled block must really
  be cleared again.  Allocators that know a fresh mapping is already zero can skip clearing
  it; that is part of what this measures.
*/
#include "bench.h"

#define LIVE 1024

int main(int argc, char **argv) {
  bench_live run = bench_live_start(argc, argv, "calloc_heavy", 400000, LIVE, 5);
  while (bench_live_next(&run)) {
    size_t count = rng_below(&run.rng, 64) == 0 ? 1 + rng_below(&run.rng, 16384)
                                                : 1 + rng_below(&run.rng, 512);
    size_t elem = 8 << rng_below(&run.rng, 3); /* 8, 16 or 32 bytes */
    unsigned char *p;
    size_t j;
    free(run.block[run.slot]);
    p = must(calloc(count, elem), "calloc_heavy");
    for (j = 0; j < count * elem; j += 64) {
      if (p[j] != 0) {
        fprintf(stderr, "calloc_heavy: byte %zu of a %zu-byte calloc is not zero\n", j,
                count * elem);
        return 1;
      }
    }
    run.sum += touch(p, count * elem, run.step);
    run.block[run.slot] = p;
  }
  return bench_live_finish(&run);
}
