/*
  frag -- fragmentation, single-threaded: how much memory stays resident after a long mixed
  phase.  Objects of many sizes (16 bytes to 32 KiB) are allocated with mixed lifetimes: most
  die young, some live for the whole run, so survivors end up scattered between the holes.
  Then most of the heap is freed, leaving one object in twenty, and a second phase allocates
  objects of other sizes that can only reuse the holes if the allocator coalesces and splits
  well.  The program prints its resident set at the end (final_rss_kb); the suite records
  peak RSS as for every workload.  A good allocator returns freed memory to the system and
  packs the new objects into the holes.
*/
#include "bench.h"

#include <string.h>

#define SLOTS 65536

/* Resident set size in KiB, from /proc/self/statm (Linux); 0 elsewhere. */
static long resident_kb(void) {
  long pages_total = 0, pages_resident = 0;
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL)
    return 0;
  if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2)
    pages_resident = 0;
  fclose(f);
  return pages_resident * 4;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 1);
  size_t steps = bench_count(a, 1200000);
  void **slot = must(calloc(SLOTS, sizeof(void *)), "frag");
  size_t *size = must(calloc(SLOTS, sizeof(size_t)), "frag");
  uint64_t sum = 0;
  rng_t r;
  size_t i;
  rng_seed(&r, 6);
  /* Phase 1: mixed lifetimes.  The low slots are replaced often (young deaths), the high ones
     rarely (long-lived). */
  for (i = 0; i < steps; ++i) {
    size_t k = rng_below(&r, 8) != 0 ? rng_below(&r, SLOTS / 8) : rng_below(&r, SLOTS);
    free(slot[k]);
    size[k] = rng_size(&r, 256, 32768, 16);
    slot[k] = must(malloc(size[k]), "frag");
    sum += touch(slot[k], size[k], i);
  }
  /* Free all but one slot in twenty. */
  for (i = 0; i < SLOTS; ++i) {
    if (i % 20 != 0) {
      free(slot[i]);
      slot[i] = NULL;
    }
  }
  /* Phase 2: a new population, other sizes, about a third of the former volume. */
  for (i = 0; i < SLOTS; ++i) {
    if (slot[i] == NULL && rng_below(&r, 3) == 0) {
      size[i] = 24 + 40 * rng_below(&r, 20);
      slot[i] = must(malloc(size[i]), "frag");
      memset(slot[i], (int)i, size[i]);
      sum += ((unsigned char *)slot[i])[0];
    }
  }
  printf("final_rss_kb=%ld\n", resident_kb());
  for (i = 0; i < SLOTS; ++i)
    free(slot[i]);
  free(slot);
  free(size);
  bench_report("frag", sum);
  return 0;
}
