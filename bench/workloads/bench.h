/*
  bench/workloads/bench.h -- what every workload shares: a small fast PRNG, the command line
  (a scale factor and, for threaded workloads, a thread count), touching memory so that the
  allocator's pages are really used, and the one line of output.

  Each workload is a plain C program that uses only the standard malloc API, so that any
  allocator can be slipped under it with LD_PRELOAD or by linking.  It prints
  "<name> checksum=<n> peak_rss_kb=<n>" at the end: the checksum depends on the data the program wrote into
  its blocks, so the compiler cannot drop the work, and a wrong allocator shows up as a
  different number from one allocator to the next.
*/
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* xorshift64*: a few instructions per number, good enough to pick sizes and victims, and the
   same sequence everywhere for a given seed. */
typedef struct {
  uint64_t s;
} rng_t;

static inline void rng_seed(rng_t *r, uint64_t seed) { r->s = seed * 0x9E3779B97F4A7C15ULL + 1; }

static inline uint64_t rng_next(rng_t *r) {
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return r->s * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n). */
static inline size_t rng_below(rng_t *r, size_t n) { return (size_t)((rng_next(r) >> 11) % n); }

/* Mostly small with a long tail, the shape of object sizes in real programs: size classes of
   8 bytes up to `small`, with one draw in `tail_odds` going up to `large` instead. */
static inline size_t rng_size(rng_t *r, size_t small, size_t large, unsigned tail_odds) {
  if (tail_odds != 0 && rng_below(r, tail_odds) == 0)
    return 1 + rng_below(r, large);
  return 8 * (1 + rng_below(r, small / 8));
}

/* Command line: argv[1] scales the amount of work (default 1.0), argv[2] is the thread count
   for threaded workloads.  The scale lets the suite run a short round for instruction
   counting under callgrind and a long round for timing. */
typedef struct {
  double scale;
  int threads;
} bench_args;

static inline bench_args bench_parse(int argc, char **argv, int default_threads) {
  bench_args a;
  a.scale = argc > 1 ? atof(argv[1]) : 1.0;
  a.threads = argc > 2 ? atoi(argv[2]) : default_threads;
  if (!(a.scale > 0))
    a.scale = 1.0;
  if (a.threads < 1)
    a.threads = 1;
  return a;
}

static inline size_t bench_count(bench_args a, double base) {
  double n = base * a.scale;
  return n < 1 ? 1 : (size_t)n;
}

/* Write the block as a program would use it: the first and last word and one word per 4 KiB
   in between (every page the block spans is touched, without timing memset instead of the
   allocator).  Returns a value folded into the checksum. */
static inline uint64_t touch(void *p, size_t n, uint64_t tag) {
  unsigned char *b = (unsigned char *)p;
  size_t i;
  if (n == 0)
    return 0;
  for (i = 0; i < n; i += 4096)
    b[i] = (unsigned char)(tag + i);
  b[n - 1] = (unsigned char)tag;
  return b[0] + (uint64_t)b[n - 1];
}

static inline void *must(void *p, const char *what) {
  if (p == NULL) {
    fprintf(stderr, "out of memory in %s\n", what);
    exit(2);
  }
  return p;
}

/* Peak resident set of this process in KiB (VmHWM of /proc/self/status, Linux), 0 if unknown.
   Read by the program itself because a parent's view (wait4's ru_maxrss) also counts the
   memory of the process that forked it, before the exec. */
static inline long peak_rss_kb(void) {
  char line[256];
  long kb = 0;
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL)
    return 0;
  while (fgets(line, sizeof(line), f) != NULL)
    if (sscanf(line, "VmHWM: %ld", &kb) == 1)
      break;
  fclose(f);
  return kb;
}

static inline void bench_report(const char *name, uint64_t checksum) {
  printf("%s checksum=%llu peak_rss_kb=%ld\n", name, (unsigned long long)checksum, peak_rss_kb());
}

/* The skeleton of a single-threaded workload: a live set of `slots` blocks (all NULL at the
   start) and a number of steps (base_steps times the command line's scale), each working on
   one slot picked at random:

     bench_live run = bench_live_start(argc, argv, "name", base_steps, slots, seed);
     while (bench_live_next(&run)) {
       free(run.block[run.slot]);
       run.block[run.slot] = must(malloc(n), "name");
       run.sum += touch(run.block[run.slot], n, run.step);
     }
     return bench_live_finish(&run);

   The step draws what else it needs from run.rng; run.step counts the steps from 0.
   bench_live_finish frees every block left and prints the report line. */
typedef struct {
  const char *name;
  rng_t rng;
  uint64_t sum;  /* the checksum */
  void **block;  /* the live set */
  size_t slots;  /* its size */
  size_t slot;   /* the slot of this step */
  size_t step;   /* this step's number */
  size_t steps;  /* how many in all */
  size_t begun;  /* how many have begun */
} bench_live;

static inline bench_live bench_live_start(int argc, char **argv, const char *name,
                                          double base_steps, size_t slots, uint64_t seed) {
  bench_live run;
  run.name = name;
  rng_seed(&run.rng, seed);
  run.sum = 0;
  run.block = (void **)must(calloc(slots, sizeof(void *)), name);
  run.slots = slots;
  run.slot = 0;
  run.step = 0;
  run.steps = bench_count(bench_parse(argc, argv, 1), base_steps);
  run.begun = 0;
  return run;
}

/* The next step: 0 when they are all done. */
static inline int bench_live_next(bench_live *run) {
  if (run->begun >= run->steps)
    return 0;
  run->step = run->begun++;
  run->slot = rng_below(&run->rng, run->slots);
  return 1;
}

static inline int bench_live_finish(bench_live *run) {
  size_t i;
  for (i = 0; i < run->slots; ++i)
    free(run->block[i]);
  free(run->block);
  bench_report(run->name, run->sum);
  return 0;
}

#endif /* BENCH_H */
