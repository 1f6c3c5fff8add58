/*
  test_random.c -- millions of random operations against a shadow table.

  Each live block sits in a slot with its size, alignment and an id; its bytes carry a pattern
  derived from the id (in full for blocks up to 512 bytes; beyond that at both ends and at 64
  points in between) that is verified before every free and realloc.  Operations: malloc,
  calloc (zeroes checked), realloc (prefix checked), realloc_in_place, memalign (alignment
  checked), free, usable size, and now and then trim.  Sizes mix small (< 256), tree (256 .. 256 KiB) and, more rarely,
  directly mapped (> 256 KiB) requests.  The run uses the global heap and then an mspace.

  Usage: test_random [scale [seed]]  (or DLMALLOC_TEST_SCALE / DLMALLOC_TEST_SEED).
  scale 100 (the default) is 2 million operations; the seed is printed so a failure can be
  replayed.
*/
#include "malloc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "heaps.h"

#define SLOTS 4096
#define OPS_PER_SCALE 20000u

struct slot {
  unsigned char *p;
  size_t size;
  size_t align;
  uint32_t id;
};

static struct slot slots[SLOTS];

/* Problems found, reported together at the end (the first of each kind also at once). */
struct tally {
  unsigned long ops, pattern, zero, align, usable, nulls, in_place_moved, zero_realloc;
};

static uint64_t rng_state;

static uint64_t rng(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static size_t rng_below(size_t n) { return (size_t)(rng() % n); }

/* Roughly log-uniform in [lo, hi): an octave picked uniformly, then a size inside it. */
static size_t rng_log(size_t lo, size_t hi) {
  size_t octaves = 1, base, top;
  if (hi <= lo)
    return lo;
  for (base = lo; base * 2 < hi; base *= 2)
    octaves++;
  base = lo << rng_below(octaves);
  top = base * 2 < hi ? base * 2 : hi;
  return base + rng_below(top - base);
}

/* Small (< 256), tree (256 .. threshold) and, rarely, directly mapped (> threshold) sizes. */
static size_t random_size(void) {
  const size_t t = TEST_MMAP_THRESHOLD;
  unsigned r = (unsigned)rng_below(10000);
  if (r < 6000)
    return rng_below(256); /* small, 0 included */
  if (r < 9000)
    return rng_log(256, 4096);
  if (r < 9900)
    return rng_log(4096, t / 4);
  if (r < 9985)
    return rng_log(t / 4, t);
  return rng_log(t, 4 * t); /* directly mapped */
}

static void first(unsigned long *counter, const char *what, unsigned long op) {
  if ((*counter)++ == 0) {
    th_write("first problem: ");
    th_note_u(what, op);
  }
}

static void check_new(const struct heap *h, struct tally *t, unsigned char *p, size_t n,
                      size_t align) {
  if (!TH_ALIGNED(p, align))
    first(&t->align, "misaligned block at op", t->ops);
  if (h->usable_size(p) < n)
    first(&t->usable, "usable size below the request at op", t->ops);
}

static uint32_t next_id = 1;

/* Slot s now holds block p of n bytes aligned to align: check it, record it and stamp it with
   a fresh id, so that a later check tells this block's contents from any earlier ones. */
static void hold(const struct heap *h, struct tally *t, struct slot *s, unsigned char *p, size_t n,
                 size_t align) {
  check_new(h, t, p, n, align);
  s->p = p;
  s->size = n;
  s->align = align;
  s->id = next_id++;
  stamp_sampled(p, n, s->id);
}

static void run(const struct heap *h, unsigned long ops, struct tally *t) {
  unsigned long op;
  size_t i;
  memset(slots, 0, sizeof slots);
  for (op = 0; op < ops; op++) {
    struct slot *s = &slots[rng_below(SLOTS)];
    unsigned r = (unsigned)rng_below(100);
    t->ops = op;
    if ((op & 0xffff) == 0xffff && rng_below(4) == 0)
      h->trim(rng_below(2) ? 0 : rng_below(1u << 20));
    if (s->p == NULL) {
      size_t n = random_size(), align = MALLOC_ALIGNMENT;
      unsigned char *p;
      if (r < 55) {
        p = (unsigned char *)h->malloc(n);
      } else if (r < 72) {
        size_t count = 1 + rng_below(8);
        n = n / count + 1;
        p = (unsigned char *)h->calloc(count, n);
        n *= count;
        if (p != NULL && !sampled_zero(p, n))
          first(&t->zero, "calloc block not zeroed at op", op);
      } else if (r < 88) {
        align = (size_t)1 << (3 + rng_below(rng_below(50) == 0 ? 14 : 10));
        p = (unsigned char *)h->memalign(align, n);
        if (align < MALLOC_ALIGNMENT)
          align = MALLOC_ALIGNMENT;
      } else {
        p = (unsigned char *)h->realloc(NULL, n);
      }
      if (p == NULL) {
        first(&t->nulls, "allocation failed at op", op);
        continue;
      }
      hold(h, t, s, p, n, align);
    } else {
      if (!sampled_intact(s->p, s->size, s->size, s->id))
        first(&t->pattern, "pattern damaged (found before free/realloc) at op", op);
      if (r < 50) {
        h->free(s->p);
        s->p = NULL;
      } else if (r < 85) {
        size_t n = rng_below(4) == 0 ? s->size / 2 + rng_below(64) : random_size();
        unsigned char *q = (unsigned char *)h->realloc(s->p, n);
#if !defined(REALLOC_ZERO_BYTES_FREES) || REALLOC_ZERO_BYTES_FREES
        if (n == 0) { /* realloc(p, 0) frees p and returns NULL */
          if (q != NULL)
            first(&t->zero_realloc, "realloc(p, 0) did not return NULL at op", op);
          s->p = NULL;
          continue;
        }
#endif
        if (q == NULL) {
          first(&t->nulls, "realloc failed at op", op);
          continue;
        }
        if (!sampled_intact(q, s->size, n, s->id))
          first(&t->pattern, "realloc lost contents at op", op);
        hold(h, t, s, q, n, MALLOC_ALIGNMENT);
      } else if (r < 95) {
        size_t n = rng_below(2) ? s->size + rng_below(256) : s->size - rng_below(s->size + 1);
        unsigned char *q = (unsigned char *)h->realloc_in_place(s->p, n);
        if (q != NULL) {
          if (q != s->p)
            first(&t->in_place_moved, "realloc_in_place moved the block at op", op);
          if (!sampled_intact(q, s->size, n, s->id))
            first(&t->pattern, "realloc_in_place lost contents at op", op);
          hold(h, t, s, q, n, s->align);
        } else if (!sampled_intact(s->p, s->size, s->size, s->id)) {
          first(&t->pattern, "failed realloc_in_place changed the block at op", op);
        }
      } else {
        if (h->usable_size(s->p) < s->size)
          first(&t->usable, "usable size shrank at op", op);
      }
    }
  }
  for (i = 0; i < SLOTS; i++) {
    if (slots[i].p == NULL)
      continue;
    if (!sampled_intact(slots[i].p, slots[i].size, slots[i].size, slots[i].id))
      first(&t->pattern, "pattern damaged at the end, slot", i);
    h->free(slots[i].p);
  }
}

static void report(const char *name, const struct tally *t) {
  th_section(name);
  CHECK_EQ(t->pattern, 0);
  CHECK_EQ(t->zero, 0);
  CHECK_EQ(t->align, 0);
  CHECK_EQ(t->usable, 0);
  CHECK_EQ(t->nulls, 0);
  CHECK_EQ(t->in_place_moved, 0);
  CHECK_EQ(t->zero_realloc, 0);
}

static int random_main(unsigned long scale, uint64_t seed) {
  unsigned long ops = (unsigned long)scale * OPS_PER_SCALE;
  int heaps = 0;
#if !ONLY_MSPACES
  heaps++;
#endif
#if MSPACES
  heaps++;
#endif
  th_note_u("seed", seed);
  th_note_u("scale", scale);
  th_note_u("operations per heap", ops / (unsigned long)heaps);
  rng_state = seed;
#if !ONLY_MSPACES
  {
    struct tally t;
    size_t f;
    memset(&t, 0, sizeof t);
    run(&heap_global, ops / (unsigned long)heaps, &t);
    report("global heap", &t);
    dlmalloc_trim(0);
    f = dlmalloc_footprint();
    CHECK_LE(f, dlmalloc_max_footprint());
  }
#endif
#if MSPACES
  {
    struct tally t;
    mspace m = create_mspace(0, 1);
    memset(&t, 0, sizeof t);
    if (CHECK(m != NULL)) {
      run(heap_of_mspace(m), ops / (unsigned long)heaps, &t);
      report("mspace", &t);
      CHECK_GT(destroy_mspace(m), 0);
    }
  }
#endif
  return th_finish();
}

#if TH_HOSTED
#include <stdlib.h>

static unsigned long long arg_or_env(int argc, char **argv, int index, const char *env,
                                     unsigned long long dflt) {
  const char *text = argc > index ? argv[index] : getenv(env);
  if (text == NULL || *text == '\0')
    return dflt;
  return strtoull(text, NULL, 0);
}

int main(int argc, char **argv) {
  unsigned long scale = (unsigned long)arg_or_env(argc, argv, 1, "DLMALLOC_TEST_SCALE", 100);
  uint64_t seed = (uint64_t)arg_or_env(argc, argv, 2, "DLMALLOC_TEST_SEED", 0x5EED2806u);
  if (scale == 0)
    scale = 1;
  return random_main(scale, seed);
}
#else
#ifndef TEST_RANDOM_SCALE
#define TEST_RANDOM_SCALE 5
#endif
int main(void) { return random_main(TEST_RANDOM_SCALE, 0x5EED2806u); }
#endif
