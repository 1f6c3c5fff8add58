/*
  shbench -- mixed sizes freed out of order, multi-threaded, in the manner of MicroQuill's
  SmartHeap benchmarks (sh6bench, sh8bench) as they are described: each thread allocates a
  batch of blocks of mixed sizes (1 to 1,000 bytes, evenly spread: many size classes, none
  common enough to stay cached), then frees it in another order than it allocated it -- the
  odd ones newest first, then the even ones oldest first -- and gives one block in eight to the
  next thread, which frees it: some frees cross threads, most do not.
*/
#include "checked.h"

#define BATCH 500

static size_t batches;

static uint64_t worker(int id) {
  block *b = must(calloc(BATCH, sizeof(block)), "shbench");
  uint64_t sum = 0;
  rng_t r;
  size_t n, i;
  rng_seed(&r, 400 + (uint64_t)id);
  for (n = 0; n < batches; ++n) {
    sum += mailbox_drain(inbox(id), "shbench");
    for (i = 0; i < BATCH; ++i)
      block_alloc(&b[i], 1 + rng_below(&r, 1000), rng_next(&r), "shbench");
    for (i = BATCH - 1; i < BATCH; i -= 2) /* odd slots, newest first; i wraps past 0 */
      sum += block_free(&b[i], "shbench");
    for (i = 0; i < BATCH; i += 2)
      sum += i % 8 == 0 ? mailbox_give(next_inbox(id), &b[i], "shbench")
                        : block_free(&b[i], "shbench");
  }
  free(b);
  return sum;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 4);
  int nthreads = thread_count(a);
  batches = bench_share(a, 2000000.0 / BATCH, nthreads);
  bench_report("shbench", run_threads_with_mail(nthreads, worker, "shbench"));
  return 0;
}
