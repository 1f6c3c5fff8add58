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
  bench_live run = bench_live_start(argc, argv, "churn", 1500000, LIVE, 1);
  size_t *sizes = must(calloc(LIVE, sizeof(size_t)), "churn");
  void *tmp[BURST];
  size_t j;
  while (bench_live_next(&run)) {
    size_t k = run.slot;
    if (run.block[k] != NULL)
      run.sum += ((unsigned char *)run.block[k])[sizes[k] - 1];
    free(run.block[k]);
    sizes[k] = rng_size(&run.rng, 128, 1024, 32);
    run.block[k] = must(malloc(sizes[k]), "churn");
    run.sum += touch(run.block[k], sizes[k], run.step);
    if ((run.step & 3) == 0) {
      size_t n = 1 + rng_below(&run.rng, BURST);
      for (j = 0; j < n; ++j) {
        size_t s = rng_size(&run.rng, 64, 0, 0);
        tmp[j] = must(malloc(s), "churn");
        run.sum += touch(tmp[j], s, j);
      }
      while (j-- > 0)
        free(tmp[j]);
    }
  }
  free(sizes);
  return bench_live_finish(&run);
}
