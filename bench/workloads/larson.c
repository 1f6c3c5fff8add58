/*
  larson -- a server, multi-threaded, in the manner of Larson and Krishnan's benchmark: each
  thread keeps a set of small objects (requests, sessions) and replaces random members of it.
  After each round the sets move on to the next thread, so every thread frees memory that
  another thread allocated -- the case that hurts allocators with per-thread heaps, and the
  one a server handing work between threads meets all day.
*/
#include "checked.h"

#define SET 2000

typedef struct {
  block obj[SET];
} object_set;

static object_set *sets;
static int nthreads;
static size_t rounds, steps_per_round;
static pthread_barrier_t round_end;

static uint64_t worker(int id) {
  uint64_t sum = 0;
  rng_t r;
  size_t round, i;
  rng_seed(&r, 100 + (uint64_t)id);
  for (round = 0; round < rounds; ++round) {
    /* This round's set: the one the previous thread worked on last round. */
    object_set *s = &sets[((size_t)id + round) % (size_t)nthreads];
    for (i = 0; i < steps_per_round; ++i) {
      block *b = &s->obj[rng_below(&r, SET)];
      if (b->p != NULL)
        sum += block_free(b, "larson");
      block_alloc(b, rng_size(&r, 256, 2048, 64), rng_next(&r), "larson");
    }
    pthread_barrier_wait(&round_end);
  }
  return sum;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 4);
  uint64_t sum;
  int t;
  size_t i;
  nthreads = thread_count(a);
  rounds = 50;
  steps_per_round = bench_count(a, 4000000) / ((size_t)nthreads * rounds) + 1;
  sets = must(calloc((size_t)nthreads, sizeof(object_set)), "larson");
  pthread_barrier_init(&round_end, NULL, (unsigned)nthreads);
  sum = run_threads(nthreads, worker);
  for (t = 0; t < nthreads; ++t)
    for (i = 0; i < SET; ++i)
      if (sets[t].obj[i].p != NULL)
        sum += block_free(&sets[t].obj[i], "larson");
  free(sets);
  pthread_barrier_destroy(&round_end);
  bench_report("larson", sum);
  return 0;
}
