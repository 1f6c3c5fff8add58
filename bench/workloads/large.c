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
  bench_live run = bench_live_start(argc, argv, "large", 8000, LIVE, 3);
  while (bench_live_next(&run)) {
    unsigned char *old = run.block[run.slot];
    size_t size;
    if (old != NULL)
      run.sum += old[0];
    free(old);
    size = 32768 + rng_below(&run.rng, 1024 * 1024 - 32768);
    run.block[run.slot] = must(malloc(size), "large");
    run.sum += touch(run.block[run.slot], size, run.step);
  }
  return bench_live_finish(&run);
}
