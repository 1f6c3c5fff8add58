/*
  realloc_grow -- many buffers growing by realloc, single-threaded: string builders and
  vectors appending in small steps, several at once so that their growth interleaves in the
  heap (a buffer can rarely grow in place when a neighbour sits right after it).  A buffer
  that reaches its target size is freed and starts again from a few bytes.
*/
#include "bench.h"

#define BUFFERS 512

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 1);
  size_t steps = bench_count(a, 3000000);
  unsigned char **buf = must(calloc(BUFFERS, sizeof(*buf)), "realloc_grow");
  size_t *len = must(calloc(BUFFERS, sizeof(size_t)), "realloc_grow");
  size_t *target = must(calloc(BUFFERS, sizeof(size_t)), "realloc_grow");
  uint64_t sum = 0;
  rng_t r;
  size_t i;
  rng_seed(&r, 2);
  for (i = 0; i < steps; ++i) {
    size_t k = rng_below(&r, BUFFERS);
    size_t grow;
    if (len[k] >= target[k]) {
      if (buf[k] != NULL)
        sum += buf[k][len[k] - 1];
      free(buf[k]);
      buf[k] = NULL;
      len[k] = 0;
      /* Mostly a few KiB, sometimes up to 128 KiB. */
      target[k] = rng_below(&r, 16) == 0 ? 4096 + rng_below(&r, 131072) : 64 + rng_below(&r, 4096);
    }
    grow = 1 + rng_below(&r, 64 + len[k] / 4); /* appends grow with the buffer */
    buf[k] = must(realloc(buf[k], len[k] + grow), "realloc_grow");
    buf[k][len[k]] = (unsigned char)i;
    buf[k][len[k] + grow - 1] = (unsigned char)k;
    len[k] += grow;
  }
  for (i = 0; i < BUFFERS; ++i) {
    if (buf[i] != NULL)
      sum += buf[i][0];
    free(buf[i]);
  }
  free(buf);
  free(len);
  free(target);
  bench_report("realloc_grow", sum);
  return 0;
}
