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
  bench_args a = bench_parse(argc, argv, 1);
  size_t steps = bench_count(a, 400000);
  void **live = must(calloc(LIVE, sizeof(void *)), "calloc_heavy");
  uint64_t sum = 0;
  rng_t r;
  size_t i;
  rng_seed(&r, 5);
  for (i = 0; i < steps; ++i) {
    size_t k = rng_below(&r, LIVE);
    size_t count = rng_below(&r, 64) == 0 ? 1 + rng_below(&r, 16384) : 1 + rng_below(&r, 512);
    size_t elem = 8 << rng_below(&r, 3); /* 8, 16 or 32 bytes */
    unsigned char *p;
    size_t j;
    free(live[k]);
    p = must(calloc(count, elem), "calloc_heavy");
    for (j = 0; j < count * elem; j += 64) {
      if (p[j] != 0) {
        fprintf(stderr, "calloc_heavy: byte %zu of a %zu-byte calloc is not zero\n", j,
                count * elem);
        return 1;
      }
    }
    sum += touch(p, count * elem, i);
    live[k] = p;
  }
  for (i = 0; i < LIVE; ++i)
    free(live[i]);
  free(live);
  bench_report("calloc_heavy", sum);
  return 0;
}
