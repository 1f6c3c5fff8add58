/*
  test_oomsweep.c -- out of memory at every map call of a run.

  A fixed script of allocator calls (below) runs on a fresh heap: the global heap, reset by
  malloc_teardown, and then a fresh mspace.  A first run with no failure counts the map calls
  it makes (custom_mmap and custom_direct_mmap together).  Then the script runs again for
  N = 1, 2, ..., with the instrumented port failing the Nth map call of the run and that call
  only, for every N up to the count and beyond until a run ends without reaching its Nth call.
  In every run:
  - a call that fails (NULL; posix_memalign: ENOMEM) does so only in the step in which the
    injected failure fired, and the same step, repeated at once, succeeds: memory is back;
  - a failed realloc leaves its block in place, content intact;
  - after the step in which the failure fired, and at the end of the run: every block handed
    out still carries its pattern and is reported in use by inspect_all, mallinfo's figures add
    up to the footprint, and in DEBUG builds mallinfo runs malloc.c's full invariant check (a
    breach ends in custom_abort, which fails the test);
  - at the end every block is freed and the heap torn down (the mspace destroyed): every region
    the port handed out must have come back, so a failure loses nothing.
  The script covers malloc, calloc, realloc (small, tree and directly mapped sizes, growing
  into and shrinking out of a direct map), realloc_in_place, memalign, posix_memalign,
  independent_calloc and independent_comalloc, trim, and (on the global heap) creating and
  destroying an mspace.  It prints the number of map calls failed on purpose.
*/
#include "malloc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "heaps.h"
#include "test_port.h"

#define T TEST_MMAP_THRESHOLD /* at or above: directly mapped */
#define NSLOTS 32

enum kind {
  S_MALLOC,    /* slot = malloc(size) */
  S_CALLOC,    /* slot = calloc(size / 16, 16), zeroes checked */
  S_REALLOC,   /* slot = realloc(slot, size), prefix checked */
  S_IN_PLACE,  /* realloc_in_place(slot, size): NULL is a valid answer */
  S_MEMALIGN,  /* slot = memalign(arg, size) */
  S_POSIX,     /* posix_memalign(&slot, arg, size) (global heap; memalign on an mspace) */
  S_COMALLOC,  /* slots slot, slot+1, slot+2 = independent_comalloc(size/8, size, size + arg) */
  S_ICALLOC,   /* slots slot .. slot+2 = independent_calloc(3, size), zeroes checked */
  S_FREE,      /* free(slot) */
  S_TRIM,      /* trim(size) */
  S_MSPACE     /* create an mspace, two blocks in it (one mapped), destroy it */
};

struct step {
  enum kind kind;
  unsigned slot;
  size_t size;
  size_t arg;
};

static const struct step script[] = {
    {S_MALLOC, 0, 24, 0},
    {S_MALLOC, 1, 200, 0},
    {S_CALLOC, 2, 1000, 0},
    {S_MALLOC, 3, 40 * KB, 0},
    {S_MALLOC, 4, 100 * KB, 0},
    {S_MALLOC, 5, T + T / 2, 0},
    {S_MEMALIGN, 6, 3000, 64},
    {S_MEMALIGN, 7, 50 * KB, 4096},
    {S_MEMALIGN, 8, 20 * KB, 64 * KB},
    {S_POSIX, 9, 2 * T, 256},
    {S_REALLOC, 1, 60 * KB, 0},  /* small -> tree */
    {S_REALLOC, 3, 2 * T, 0},    /* tree -> mapped */
    {S_REALLOC, 5, 3 * T, 0},    /* mapped -> bigger mapped */
    {S_REALLOC, 5, 500, 0},      /* mapped -> small */
    {S_COMALLOC, 10, 30 * KB, T}, /* the third block is as big as a direct map */
    {S_ICALLOC, 13, 20 * KB, 0},
    {S_MALLOC, 16, 120 * KB, 0},
    {S_MALLOC, 17, 120 * KB, 0},
    {S_MALLOC, 18, 120 * KB, 0},
    {S_MALLOC, 19, 120 * KB, 0},
    {S_CALLOC, 20, 2 * T, 0},
    {S_MALLOC, 21, 120 * KB, 0},
    {S_MALLOC, 22, 200 * KB, 0},
    {S_MALLOC, 23, 200 * KB, 0},
    {S_FREE, 4, 0, 0},
    {S_FREE, 16, 0, 0},
    {S_FREE, 18, 0, 0},
    {S_TRIM, 0, 0, 0},
    {S_IN_PLACE, 17, 200 * KB, 0},
    {S_REALLOC, 19, 250 * KB, 0},
    {S_MSPACE, 0, 0, 0},
    {S_MEMALIGN, 24, T, 128 * KB}, /* mapped, aligned beyond the page */
    {S_MALLOC, 25, 180 * KB, 0},
    {S_MALLOC, 26, 180 * KB, 0},
    {S_REALLOC, 0, 180 * KB, 0},
    {S_FREE, 21, 0, 0},
    {S_FREE, 20, 0, 0},
    {S_TRIM, 0, 64 * KB, 0},
    {S_MALLOC, 27, 230 * KB, 0},
};
#define NSTEPS (sizeof script / sizeof script[0])

/* The blocks handed out, by the slot number the script gives them (NULL: an empty slot).
   Not heaps.h's kept_blocks table, which appends and frees all at once: the script frees and
   replaces single slots, and each block a slot receives gets a fresh id. */
static struct kept_block slots[NSLOTS];
static uint32_t next_id = 1;

static void put(unsigned i, void *p, size_t n) {
  slots[i].p = p;
  slots[i].n = n;
  slots[i].id = next_id++;
  fill_pattern(p, n, slots[i].id);
}

static int slot_intact(unsigned i) {
  return slots[i].p == NULL || check_pattern(slots[i].p, slots[i].n, slots[i].id);
}

static void drop(const struct heap *h, unsigned i) {
  CHECK(slot_intact(i));
  h->free(slots[i].p);
  slots[i].p = NULL;
}

/* The heap's answers agree with themselves: every kept block intact and in use, mallinfo's
   figures add up (and, with DEBUG, its full invariant check passes). */
static void heap_consistent(const struct heap *h) {
  unsigned i;
  size_t damaged = 0, lost = 0;
  CHECK_MALLINFO_ADDS_UP(h);
  for (i = 0; i < NSLOTS; i++) {
    if (slots[i].p == NULL)
      continue;
    damaged += !slot_intact(i);
#if MALLOC_INSPECT_ALL
    lost += heap_blocks_holding(h, slots[i].p, slots[i].n) != 1;
#endif
  }
  CHECK_EQ(damaged, 0);
  CHECK_EQ(lost, 0);
  CHECK_LE(h->footprint(), h->max_footprint());
  CHECK_EQ(tp_locks_held(), 0);
}

#if MSPACES
/* S_MSPACE: 1 when every call succeeded; whatever was made is undone either way. */
static int mspace_round_trip(void) {
  mspace m = create_mspace(0, 1);
  void *p, *q;
  int ok;
  if (m == NULL)
    return 0;
  p = mspace_malloc(m, 1000);
  q = mspace_malloc(m, 2 * T);
  ok = p != NULL && q != NULL;
  if (p != NULL)
    fill_pattern(p, 1000, 7);
  if (q != NULL)
    fill_pattern(q, 2 * T, 8);
  CHECK(p == NULL || check_pattern(p, 1000, 7));
  CHECK(q == NULL || check_pattern(q, 2 * T, 8));
  CHECK_GT(destroy_mspace(m), 0);
  return ok;
}
#endif

/* Run one step.  Returns 1 when it did what it was asked, 0 when an allocation failed (having
   checked that the failure was the documented one and changed nothing). */
static int run_step(const struct heap *h, const struct step *s) {
  unsigned i = s->slot;
  void *p = NULL;
  switch (s->kind) {
  case S_MALLOC:
  case S_MEMALIGN:
    CHECK(slots[i].p == NULL);
    ERRNO_RESET();
    p = s->kind == S_MALLOC ? h->malloc(s->size) : h->memalign(s->arg, s->size);
    if (p == NULL) {
      CHECK_ERRNO_ENOMEM();
      return 0;
    }
    CHECK(TH_ALIGNED(p, s->kind == S_MEMALIGN ? s->arg : 2 * sizeof(void *)));
    put(i, p, s->size);
    return 1;
  case S_CALLOC: {
    size_t n = s->size / 16 * 16;
    ERRNO_RESET();
    p = h->calloc(n / 16, 16);
    if (p == NULL) {
      CHECK_ERRNO_ENOMEM();
      return 0;
    }
    CHECK(all_zero(p, n));
    put(i, p, n);
    return 1;
  }
  case S_POSIX:
#if !ONLY_MSPACES
    if (!h->is_mspace) {
      int rc;
      p = &slots[i]; /* must be left alone on failure */
      rc = dlposix_memalign(&p, s->arg, s->size);
      if (rc != 0) {
        CHECK_RC_ENOMEM(rc);
        CHECK(p == &slots[i]);
        return 0;
      }
      CHECK(p != NULL && TH_ALIGNED(p, s->arg));
      put(i, p, s->size);
      return 1;
    }
#endif
    p = h->memalign(s->arg, s->size);
    if (p == NULL)
      return 0;
    put(i, p, s->size);
    return 1;
  case S_REALLOC: {
    size_t keep = s->size < slots[i].n ? s->size : slots[i].n;
    CHECK(slot_intact(i));
    ERRNO_RESET();
    p = h->realloc(slots[i].p, s->size);
    if (p == NULL) {
      CHECK_ERRNO_ENOMEM();
      CHECK(slot_intact(i)); /* the old block is still ours, unchanged */
      return 0;
    }
    CHECK(check_pattern(p, keep, slots[i].id));
    put(i, p, s->size);
    return 1;
  }
  case S_IN_PLACE:
    p = h->realloc_in_place(slots[i].p, s->size);
    if (p != NULL) {
      CHECK(p == slots[i].p);
      CHECK(check_pattern(p, slots[i].n < s->size ? slots[i].n : s->size, slots[i].id));
      put(i, p, s->size);
    } else {
      CHECK(slot_intact(i)); /* not resized: a valid answer, whatever the memory */
    }
    return 1;
  case S_COMALLOC:
  case S_ICALLOC: {
    size_t sizes[3], k;
    void *chunks[3] = {NULL, NULL, NULL};
    void **got;
    sizes[0] = s->kind == S_COMALLOC ? s->size / 8 : s->size;
    sizes[1] = s->size;
    sizes[2] = s->kind == S_COMALLOC ? s->size + s->arg : s->size;
    got = s->kind == S_COMALLOC ? h->independent_comalloc(3, sizes, chunks)
                                : h->independent_calloc(3, s->size, chunks);
    if (got == NULL) {
      CHECK(chunks[0] == NULL && chunks[1] == NULL && chunks[2] == NULL);
      return 0;
    }
    CHECK(got == chunks);
    for (k = 0; k < 3; k++) {
      CHECK(chunks[k] != NULL);
      if (s->kind == S_ICALLOC)
        CHECK(all_zero(chunks[k], sizes[k]));
      put(i + (unsigned)k, chunks[k], sizes[k]);
    }
    return 1;
  }
  case S_FREE:
    drop(h, i);
    return 1;
  case S_TRIM:
    (void)h->trim(s->size);
    return 1;
  case S_MSPACE:
#if MSPACES
    return mspace_round_trip();
#else
    return 1;
#endif
  }
  return 1;
}

/* Map calls failed on purpose, all sweeps together, and what the step that met one did. */
static size_t oom_points, failed_cleanly, absorbed;

struct run_result {
  size_t map_calls;  /* map calls the run made */
  int failure_fired; /* the injected failure was reached */
};

/* The script on h (a fresh heap), failing the nth map call (0: none). */
static struct run_result run_script(const struct heap *h, unsigned nth) {
  struct tp_stats s0, s1, before, after;
  struct run_result r;
  unsigned k;
  tp_get_stats(&s0);
  tp_fail_map_nth(nth);
  for (k = 0; k < NSTEPS; k++) {
    int done;
    tp_get_stats(&before);
    done = run_step(h, &script[k]);
    tp_get_stats(&after);
    if (after.injected_failures == before.injected_failures) {
      CHECK(done); /* no failure was injected: nothing may fail */
      continue;
    }
    /* The injected failure fired in this step: it either absorbed it or failed cleanly. */
    heap_consistent(h);
    if (done)
      absorbed++;
    else {
      failed_cleanly++;
      CHECK(run_step(h, &script[k])); /* memory is back: the same step succeeds */
    }
    heap_consistent(h);
  }
  tp_get_stats(&s1);
  tp_fail_map_nth(0);
  r.map_calls = (s1.map_calls + s1.direct_calls) - (s0.map_calls + s0.direct_calls);
  r.failure_fired = s1.injected_failures != s0.injected_failures;
  heap_consistent(h);
  for (k = 0; k < NSLOTS; k++)
    if (slots[k].p != NULL)
      drop(h, k);
  return r;
}


/* Run the script on a fresh heap from begin(), unfailed and then failing each map call in
   turn; end() releases the heap. */
static void sweep(const char *name, const struct heap *(*begin)(void), void (*end)(void)) {
  struct run_result r;
  size_t unfailed_calls, baseline = tp_live_maps(), fired = 0, unreached = 0;
  unsigned n;
  th_write("-- ");
  th_write(name);
  th_write("\n");
  th_section(name);
  r = run_script(begin(), 0);
  end();
  CHECK_EQ(tp_live_maps(), baseline);
  unfailed_calls = r.map_calls;
  th_note_u("  map calls in an unfailed run", unfailed_calls);
  CHECK_GT(unfailed_calls, 5); /* the script does reach the system several times */
  /* Where mmap places a region decides whether it extends a segment, so a run may make a
     call or two fewer or more than the unfailed one: every N up to the measured count is
     tried, and the sweep goes on past it until a run no longer reaches its Nth call. */
  for (n = 1; n < 4 * unfailed_calls + 16; n++) {
    r = run_script(begin(), n);
    end();
    CHECK_EQ(tp_live_maps(), baseline); /* nothing lost */
    if (r.failure_fired)
      fired++;
    else if (n > unfailed_calls)
      break;
    else
      unreached++;
  }
  th_note_u("  map calls failed, one per run", fired);
  th_note_u("  runs that ended before their Nth call", unreached);
  oom_points += fired;
  CHECK_GE(n, unfailed_calls + 1);          /* every N of the unfailed run was tried ... */
  CHECK_LE(unreached, unfailed_calls / 8);  /* ... and nearly all were reached */
  CHECK_LT(n, 4 * unfailed_calls + 16);     /* the sweep ended by itself */
}

#if !ONLY_MSPACES
static const struct heap *global_begin(void) {
  dlmalloc_teardown();
  return &heap_global;
}
static void global_end(void) { CHECK_GT(dlmalloc_teardown(), 0); }
#endif

#if MSPACES
static mspace cur_space;

static const struct heap *mspace_begin(void) {
  cur_space = create_mspace(0, 1);
  CHECK(cur_space != NULL);
  return heap_of_mspace(cur_space);
}
static void mspace_end(void) { CHECK_GT(destroy_mspace(cur_space), 0); }
#endif

int main(void) {
#if !ONLY_MSPACES
  sweep("global heap", global_begin, global_end);
#endif
#if MSPACES
  {
    /* The sweep counts from the first call after create_mspace: its own map fails here. */
    mspace m;
    th_section("create_mspace's map fails");
    tp_fail_map_nth(1);
    CHECK(create_mspace(0, 1) == NULL);
    oom_points++;
    m = create_mspace(0, 1); /* the failure was a one-off */
    if (CHECK(m != NULL))
      CHECK_GT(destroy_mspace(m), 0);
    tp_clear_failures();
  }
  sweep("mspace", mspace_begin, mspace_end);
#endif
  th_section("port state at the end");
  th_note_u("OOM points injected", oom_points);
  th_note_u("  steps that failed cleanly and then succeeded on retry", failed_cleanly);
  th_note_u("  steps that absorbed the failure (another route to memory)", absorbed);
  CHECK_GT(failed_cleanly, 0);
  CHECK_EQ(tp_locks_held(), 0);
  CHECK_EQ(tp_lock_errors(), 0);
  return th_finish();
}
