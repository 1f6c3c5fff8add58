/*
  rptest -- random replacement with remote frees, multi-threaded, after rpmalloc's benchmark:
  each thread keeps a working set of blocks (16 bytes to 8 KiB, mostly small) and replaces
  random members of it; every so many steps it gives one sixteenth of its set to the next
  thread, which frees those blocks -- frees of another thread's memory arriving in bursts,
  while both threads keep allocating.
*/
#include "checked.h"

#define SLOTS 4096
#define STEPS_PER_HANDOFF 8192
#define HANDOFF (SLOTS / 16)

static size_t handoffs;

static uint64_t worker(int id) {
  block *slot = must(calloc(SLOTS, sizeof(block)), "rptest");
  uint64_t sum = 0;
  rng_t r;
  size_t n, i;
  rng_seed(&r, 700 + (uint64_t)id);
  for (n = 0; n < handoffs; ++n) {
    size_t first = rng_below(&r, SLOTS - HANDOFF);
    for (i = 0; i < STEPS_PER_HANDOFF; ++i) {
      block *b = &slot[rng_below(&r, SLOTS)];
      if (b->p != NULL)
        sum += block_free(b, "rptest");
      block_alloc(b, rng_size(&r, 256, 8192, 8), rng_next(&r), "rptest");
    }
    for (i = first; i < first + HANDOFF; ++i)
      if (slot[i].p != NULL)
        sum += mailbox_give(next_inbox(id), &slot[i], "rptest");
    sum += mailbox_drain(inbox(id), "rptest");
  }
  return sum + slots_free(slot, SLOTS, "rptest");
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 4);
  int nthreads = thread_count(a);
  handoffs = bench_share(a, 4000000.0 / STEPS_PER_HANDOFF, nthreads);
  bench_report("rptest", run_threads_with_mail(nthreads, worker, "rptest"));
  return 0;
}
