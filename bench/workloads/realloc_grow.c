/*
  realloc_grow -- many buffers growing by realloc, single-threaded: string builders and
  vectors appending in small steps, several at once so that their growth interleaves in the
  heap (a buffer can rarely grow in place when a neighbour sits right after it).  A buffer
  that reaches its target size is freed and starts again from a few bytes.
*/
#include "bench.h"

#define BUFFERS 512

int main(int argc, char **argv) {
  bench_live run = bench_live_start(argc, argv, "realloc_grow", 3000000, BUFFERS, 2);
  size_t *len = must(calloc(BUFFERS, sizeof(size_t)), "realloc_grow");
  size_t *target = must(calloc(BUFFERS, sizeof(size_t)), "realloc_grow");
  size_t i;
  while (bench_live_next(&run)) {
    size_t k = run.slot;
    unsigned char *buf = run.block[k];
    size_t grow;
    if (len[k] >= target[k]) {
      if (buf != NULL)
        run.sum += buf[len[k] - 1];
      free(buf);
      buf = NULL;
      len[k] = 0;
      /* Mostly a few KiB, sometimes up to 128 KiB. */
      target[k] = rng_below(&run.rng, 16) == 0 ? 4096 + rng_below(&run.rng, 131072)
                                               : 64 + rng_below(&run.rng, 4096);
    }
    grow = 1 + rng_below(&run.rng, 64 + len[k] / 4); /* appends grow with the buffer */
    buf = must(realloc(buf, len[k] + grow), "realloc_grow");
    buf[len[k]] = (unsigned char)run.step;
    buf[len[k] + grow - 1] = (unsigned char)k;
    len[k] += grow;
    run.block[k] = buf;
  }
  for (i = 0; i < BUFFERS; ++i)
    if (run.block[i] != NULL)
      run.sum += ((unsigned char *)run.block[i])[0];
  free(len);
  free(target);
  return bench_live_finish(&run);
}
