/*
  churn -- small-object churn, single-threaded: the pattern of the classic cfrac and espresso
  traces, written from their published description.  Each step frees a random member of a
  live set of a few thousand small objects and allocates a replacement (espresso: long-lived
  sets of cubes), then allocates a short burst of temporaries and frees them newest first
  (cfrac: bignum intermediates that die young).  Sizes are mostly 8-128 bytes.
*/
#include "bench.h"

#define LIVE 4096
#define BURST 8

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 1);
  size_t steps = bench_count(a, 1500000);
  void **live = must(calloc(LIVE, sizeof(void *)), "churn");
  size_t *sizes = must(calloc(LIVE, sizeof(size_t)), "churn");
  void *tmp[BURST];
  uint64_t sum = 0;
  rng_t r;
  size_t i, j;
  rng_seed(&r, 1);
  for (i = 0; i < steps; ++i) {
    size_t k = rng_below(&r, LIVE);
    if (live[k] != NULL)
      sum += ((unsigned char *)live[k])[sizes[k] - 1];
    free(live[k]);
    sizes[k] = rng_size(&r, 128, 1024, 32);
    live[k] = must(malloc(sizes[k]), "churn");
    sum += touch(live[k], sizes[k], i);
    if ((i & 3) == 0) {
      size_t n = 1 + rng_below(&r, BURST);
      for (j = 0; j < n; ++j) {
        size_t s = rng_size(&r, 64, 0, 0);
        tmp[j] = must(malloc(s), "churn");
        sum += touch(tmp[j], s, j);
      }
      while (j-- > 0)
        free(tmp[j]);
    }
  }
  for (i = 0; i < LIVE; ++i)
    free(live[i]);
  free(live);
  free(sizes);
  bench_report("churn", sum);
  return 0;
}
