/*
  alloc_test -- a random-size mix, multi-threaded, after the alloc-test benchmark: each thread
  keeps its own array of slots and, at every step, visits a random slot: an empty one gets a
  block of a random size (mostly under 512 bytes, one in sixteen up to 16 KiB), a full one is
  freed.  No block crosses threads; what is measured is how the allocator keeps up with spread
  sizes when every thread allocates at once.
*/
#include "checked.h"

#define SLOTS 2048

static size_t steps;

static uint64_t worker(int id) {
  block *slot = must(calloc(SLOTS, sizeof(block)), "alloc_test");
  uint64_t sum = 0;
  rng_t r;
  size_t i;
  rng_seed(&r, 500 + (uint64_t)id);
  for (i = 0; i < steps; ++i) {
    block *b = &slot[rng_below(&r, SLOTS)];
    if (b->p != NULL)
      sum += block_free(b, "alloc_test");
    else
      block_alloc(b, rng_size(&r, 512, 16384, 16), rng_next(&r), "alloc_test");
  }
  return sum + slots_free(slot, SLOTS, "alloc_test");
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 4);
  int nthreads = thread_count(a);
  steps = bench_share(a, 6000000, nthreads);
  bench_report("alloc_test", run_threads(nthreads, worker));
  return 0;
}
