/*
  glibc_simple -- the single-threaded fast path, after glibc's bench-malloc-simple: batches of
  malloc of one fixed small size, then free of the whole batch, for several sizes and batch
  lengths.  Every block is one a thread cache or a small bin can serve at once, so the time and
  the instruction count are those of the allocator's shortest path.
*/
#include "checked.h"

static const size_t sizes[] = {16, 32, 64, 128, 256};
static const size_t batch_lengths[] = {25, 100, 400};
#define LONGEST 400

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 1);
  size_t rounds = bench_count(a, 2000), n, s, k, i;
  block b[LONGEST];
  uint64_t sum = 0, tag = 0;
  for (n = 0; n < rounds; ++n)
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; ++s)
      for (k = 0; k < sizeof batch_lengths / sizeof batch_lengths[0]; ++k) {
        for (i = 0; i < batch_lengths[k]; ++i)
          block_alloc(&b[i], sizes[s], ++tag, "glibc_simple");
        for (i = 0; i < batch_lengths[k]; ++i)
          sum += block_free(&b[i], "glibc_simple");
      }
  bench_report("glibc_simple", sum);
  return 0;
}
