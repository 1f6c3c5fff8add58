/*
  xmalloc -- one-way traffic of small objects, multi-threaded, after the xmalloc test: the
  threads pair up, and in each pair one thread only allocates small blocks (16 to 128 bytes)
  and the other only frees them.  Blocks travel in batches through a ring that the two share
  without a lock, so the time is the allocator's: the consumer's free of a block it did not
  allocate, and the producer's malloc that never gets its own blocks back.  An odd thread
  count is rounded up to the next even one.
*/
#include "checked.h"

#include <sched.h>
#include <stdatomic.h>

#define BATCH 128
#define RING 16 /* batches in flight per pair */

typedef struct {
  block batch[RING][BATCH];
  atomic_size_t produced, consumed; /* batches; the ring holds produced - consumed */
} pair;

static pair *pairs;
static size_t batches;

static void produce(pair *q, rng_t *r) {
  size_t n, i;
  for (n = 0; n < batches; ++n) {
    block *b = q->batch[n % RING];
    while (n - atomic_load_explicit(&q->consumed, memory_order_acquire) == RING)
      sched_yield();
    for (i = 0; i < BATCH; ++i)
      block_alloc(&b[i], 16 + 8 * rng_below(r, 15), rng_next(r), "xmalloc");
    atomic_store_explicit(&q->produced, n + 1, memory_order_release);
  }
}

static uint64_t consume(pair *q) {
  uint64_t sum = 0;
  size_t n, i;
  for (n = 0; n < batches; ++n) {
    block *b = q->batch[n % RING];
    while (atomic_load_explicit(&q->produced, memory_order_acquire) == n)
      sched_yield();
    for (i = 0; i < BATCH; ++i)
      sum += block_free(&b[i], "xmalloc");
    atomic_store_explicit(&q->consumed, n + 1, memory_order_release);
  }
  return sum;
}

/* Threads 2k and 2k+1 share pair k: the even one produces, the odd one consumes. */
static uint64_t worker(int id) {
  rng_t r;
  rng_seed(&r, 600 + (uint64_t)id);
  if (id % 2 != 0)
    return consume(&pairs[id / 2]);
  produce(&pairs[id / 2], &r);
  return 0;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 4);
  int npairs = (thread_count(a) + 1) / 2;
  uint64_t sum;
  if (npairs > MAX_THREADS / 2)
    npairs = MAX_THREADS / 2;
  batches = bench_share(a, 4000000.0 / BATCH, npairs);
  pairs = must(calloc((size_t)npairs, sizeof(pair)), "xmalloc");
  sum = run_threads(2 * npairs, worker);
  free(pairs);
  bench_report("xmalloc", sum);
  return 0;
}
