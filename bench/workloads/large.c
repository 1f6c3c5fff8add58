/*
  large -- large blocks around the mmap threshold, single-threaded: buffers of 32 KiB to
  1 MiB (image rows, file buffers, hash tables being rebuilt), a few dozen alive at a time.
  The range straddles the sizes where allocators switch from their heap to a mapping of the
  block's own (glibc starts at 128 KiB and moves its threshold up as blocks are freed;
  dlmalloc's is 256 KiB), so it measures what the switch costs: system calls and page faults
  against memory held.
*/
#include "bench.h"

#define LIVE 24

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 1);
  size_t steps = bench_count(a, 8000);
  void *live[LIVE] = {0};
  size_t sizes[LIVE] = {0};
  uint64_t sum = 0;
  rng_t r;
  size_t i;
  rng_seed(&r, 3);
  for (i = 0; i < steps; ++i) {
    size_t k = rng_below(&r, LIVE);
    if (live[k] != NULL)
      sum += ((unsigned char *)live[k])[0];
    free(live[k]);
    sizes[k] = 32768 + rng_below(&r, 1024 * 1024 - 32768);
    live[k] = must(malloc(sizes[k]), "large");
    sum += touch(live[k], sizes[k], i);
  }
  for (i = 0; i < LIVE; ++i)
    free(live[i]);
  bench_report("large", sum);
  return 0;
}
