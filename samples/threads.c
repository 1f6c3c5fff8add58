/*
  threads.c -- several threads share the global heap; nothing may overlap or get lost.

    threads [THREADS [BLOCKS_PER_THREAD]]      (defaults: 4 threads, 3000 blocks each)

  Phase 1: all threads start together and allocate blocks of mixed sizes (mostly small, some
           medium, a few above the mmap threshold), each filled with a pattern of its own.
           The main thread then sorts every block by address and checks that no block
           [p, p + usable_size(p)) reaches into the next one, and that every pattern survived.
  Phase 2: each thread frees the blocks thread (t + 1) allocated -- so memory always goes back
           through another thread than the one that took it -- while allocating, growing
           (realloc) and freeing blocks of its own.  The blocks left at the end are checked the
           same way and freed.
  Prints "threads: PASS ..." or "threads: FAIL: ..." and exits non-zero on failure.

  Threads are POSIX threads, or Win32 threads on Windows.
*/
#include "../malloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(_WIN32)
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#include <pthread.h>
#include <sched.h>
#endif

#ifdef SAMPLE_STATIC_ARENA /* built against ports/static_arena.c: give it a buffer first */
#include "../ports/static_arena.h"
static unsigned char arena[SAMPLE_STATIC_ARENA];
#endif

#define MAX_THREADS 32
#define MAX_BLOCKS 20000

struct block {
  unsigned char *p;
  size_t size;   /* bytes requested, all filled with the pattern */
  unsigned seed; /* which pattern */
};

struct worker {
  int id;
  uint32_t rng;
  size_t nblocks;
  struct block own[MAX_BLOCKS]; /* phase 1 blocks, then phase 2 survivors */
  size_t nkept;
  unsigned long cross_frees, reallocs, failed_allocs, damaged;
};

static struct worker workers[MAX_THREADS];
static int nthreads = 4;
static size_t per_thread = 3000;
static struct block all[MAX_THREADS * MAX_BLOCKS];

/* ==== Small portable pieces ================================================================= */

/* A start line, so that threads run their phases at the same time rather than one after the
   other as they happen to be created. */
static volatile long arrived;

/* Waiting threads give way, so the thread everyone waits for gets a processor. */
static void yield_cpu(void) {
#if defined(_WIN32)
  SwitchToThread();
#else
  sched_yield();
#endif
}

static void wait_for_all(long target) {
#if defined(_WIN32) && !defined(__GNUC__)
  InterlockedIncrement(&arrived);
  while (InterlockedCompareExchange(&arrived, 0, 0) < target)
    yield_cpu();
#else
  __atomic_add_fetch(&arrived, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&arrived, __ATOMIC_SEQ_CST) < target)
    yield_cpu();
#endif
}

static uint32_t next_rand(uint32_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 17;
  *s ^= *s << 5;
  return *s;
}

static size_t pick_size(uint32_t *s) {
  uint32_t r = next_rand(s) % 1000;
  if (r < 850)
    return 1 + next_rand(s) % 512; /* small: bins */
  if (r < 995)
    return 512 + next_rand(s) % 32768; /* medium: tree bins, splitting */
  return 300000 + next_rand(s) % 200000; /* large: above the mmap threshold */
}

/* The pattern depends on the block's seed and the offset, not on its address, so it survives
   realloc moving the block. */
static unsigned char byte_of(size_t i, unsigned seed) {
  return (unsigned char)(i * 31u + seed * 7u + (seed >> 8));
}

static void fill(struct block *b) {
  for (size_t i = 0; i < b->size; ++i)
    b->p[i] = byte_of(i, b->seed);
}

static int intact(const struct block *b) {
  for (size_t i = 0; i < b->size; ++i)
    if (b->p[i] != byte_of(i, b->seed))
      return 0;
  return 1;
}

/* ==== The two phases ======================================================================== */

static void phase1(struct worker *w) {
  for (size_t i = 0; i < per_thread; ++i) {
    struct block *b = &w->own[i];
    b->size = pick_size(&w->rng);
    b->seed = (unsigned)(w->id * 100003 + (int)i);
    b->p = (unsigned char *)dlmalloc(b->size);
    if (b->p == NULL) {
      ++w->failed_allocs;
      b->size = 0;
      continue;
    }
    fill(b);
  }
  w->nblocks = per_thread;
}

static void phase2(struct worker *w) {
  struct worker *victim = &workers[(w->id + 1) % nthreads];
  size_t nkept = 0;

  /* Survivors go to the top of own[]: its low part holds our phase 1 blocks, which the
     previous thread is freeing meanwhile (per_thread <= MAX_BLOCKS / 2 keeps them apart). */
  for (size_t i = 0; i < per_thread; ++i) {
    if (i < victim->nblocks && victim->own[i].p != NULL) {
      if (!intact(&victim->own[i]))
        ++w->damaged;
      dlfree(victim->own[i].p); /* allocated by another thread */
      victim->own[i].p = NULL;
      ++w->cross_frees;
    }
    /* Churn: allocate, sometimes grow, keep roughly one block in four. */
    {
      struct block b;
      b.size = pick_size(&w->rng);
      b.seed = (unsigned)(w->id * 7919 + (int)i);
      b.p = (unsigned char *)dlmalloc(b.size);
      if (b.p == NULL) {
        ++w->failed_allocs;
        continue;
      }
      fill(&b);
      if (next_rand(&w->rng) % 4 == 0) {
        size_t bigger = b.size + 1 + next_rand(&w->rng) % 4096;
        unsigned char *q = (unsigned char *)dlrealloc(b.p, bigger);
        if (q == NULL) {
          ++w->failed_allocs;
        } else {
          /* The old contents must have moved along; then fill the whole new size. */
          b.p = q;
          if (!intact(&b))
            ++w->damaged;
          b.size = bigger;
          fill(&b);
          ++w->reallocs;
        }
      }
      if (next_rand(&w->rng) % 4 == 0 && nkept < MAX_BLOCKS / 2) {
        w->own[MAX_BLOCKS - 1 - nkept] = b;
        ++nkept;
      } else {
        if (!intact(&b))
          ++w->damaged;
        dlfree(b.p);
      }
    }
  }
  w->nkept = nkept;
}

/* Sort every listed block by address and look for overlaps and damaged contents. */
static int cmp_addr(const void *a, const void *b) {
  uintptr_t x = (uintptr_t)((const struct block *)a)->p;
  uintptr_t y = (uintptr_t)((const struct block *)b)->p;
  return x < y ? -1 : x > y;
}

static unsigned long verify(size_t n, const char *phase) {
  unsigned long bad = 0;
  qsort(all, n, sizeof all[0], cmp_addr);
  for (size_t i = 0; i < n; ++i) {
    size_t usable = dlmalloc_usable_size(all[i].p);
    if (usable < all[i].size) {
      printf("threads: FAIL: %s: block %p has %lu usable bytes, asked for %lu\n", phase,
             (void *)all[i].p, (unsigned long)usable, (unsigned long)all[i].size);
      ++bad;
    }
    if (i + 1 < n && all[i].p + usable > all[i + 1].p) {
      printf("threads: FAIL: %s: block %p (+%lu) overlaps block %p\n", phase,
             (void *)all[i].p, (unsigned long)usable, (void *)all[i + 1].p);
      ++bad;
    }
    if (!intact(&all[i])) {
      printf("threads: FAIL: %s: block %p lost its contents\n", phase, (void *)all[i].p);
      ++bad;
    }
    if (bad > 10)
      break;
  }
  return bad;
}

/* ==== Threads =============================================================================== */

static void run_worker(struct worker *w) {
  wait_for_all(nthreads);
  phase1(w);
  wait_for_all(2L * nthreads + 1); /* the main thread checks phase 1 in between */
  phase2(w);
}

#if defined(_WIN32)
static DWORD WINAPI thread_main(LPVOID arg) {
  run_worker((struct worker *)arg);
  return 0;
}
#else
static void *thread_main(void *arg) {
  run_worker((struct worker *)arg);
  return NULL;
}
#endif

int main(int argc, char **argv) {
#if defined(_WIN32)
  HANDLE tids[MAX_THREADS];
#else
  pthread_t tids[MAX_THREADS];
#endif
  unsigned long bad = 0, failed = 0, damaged = 0, cross = 0, reallocs = 0;
  size_t n = 0;

  if (argc > 1)
    nthreads = atoi(argv[1]);
  if (argc > 2)
    per_thread = (size_t)strtoul(argv[2], NULL, 10);
  if (nthreads < 2 || nthreads > MAX_THREADS || per_thread < 1 || per_thread > MAX_BLOCKS / 2) {
    fprintf(stderr, "usage: threads [2..%d threads [1..%d blocks per thread]]\n", MAX_THREADS,
            MAX_BLOCKS / 2);
    return 2;
  }
#ifdef SAMPLE_STATIC_ARENA
  if (dlmalloc_arena_init(arena, sizeof arena) == 0) {
    puts("threads: FAIL: the arena is too small");
    return 1;
  }
#endif

  for (int t = 0; t < nthreads; ++t) {
    workers[t].id = t;
    workers[t].rng = 0x9E3779B9u ^ (uint32_t)(t * 0x85EBCA6Bu);
#if defined(_WIN32)
    tids[t] = CreateThread(NULL, 0, thread_main, &workers[t], 0, NULL);
    if (tids[t] == NULL) {
#else
    if (pthread_create(&tids[t], NULL, thread_main, &workers[t]) != 0) {
#endif
      printf("threads: FAIL: could not start thread %d\n", t);
      return 1;
    }
  }

  /* Phase 1 is over when every worker has reached the second line. */
  while (
#if defined(_WIN32) && !defined(__GNUC__)
      InterlockedCompareExchange(&arrived, 0, 0)
#else
      __atomic_load_n(&arrived, __ATOMIC_SEQ_CST)
#endif
      < 2L * nthreads)
    yield_cpu();
  for (int t = 0; t < nthreads; ++t)
    for (size_t i = 0; i < workers[t].nblocks; ++i)
      if (workers[t].own[i].p != NULL)
        all[n++] = workers[t].own[i];
  bad += verify(n, "after concurrent allocation");
  printf("threads: phase 1: %d threads allocated %lu blocks, none overlapping: %s\n", nthreads,
         (unsigned long)n, bad ? "no" : "yes");
  wait_for_all(2L * nthreads + 1); /* release the workers into phase 2 */

  for (int t = 0; t < nthreads; ++t) {
#if defined(_WIN32)
    WaitForSingleObject(tids[t], INFINITE);
    CloseHandle(tids[t]);
#else
    pthread_join(tids[t], NULL);
#endif
  }

  n = 0;
  for (int t = 0; t < nthreads; ++t) {
    struct worker *w = &workers[t];
    for (size_t k = 0; k < w->nkept; ++k)
      all[n++] = w->own[MAX_BLOCKS - 1 - k];
    failed += w->failed_allocs;
    damaged += w->damaged;
    cross += w->cross_frees;
    reallocs += w->reallocs;
  }
  bad += verify(n, "after cross-thread frees");
  for (size_t i = 0; i < n; ++i)
    dlfree(all[i].p);

  if (malloc_abort_reason()[0] != '\0') {
    printf("threads: FAIL: the allocator reported: %s\n", malloc_abort_reason());
    ++bad;
  }
  if (failed != 0) {
    printf("threads: FAIL: %lu allocations failed inside the threads\n", failed);
    ++bad;
  }
  if (damaged != 0) {
    printf("threads: FAIL: %lu blocks were found damaged inside the threads\n", damaged);
    ++bad;
  }
  if (bad == 0) {
    printf("threads: PASS (%d threads, %lu blocks each, %lu cross-thread frees, %lu reallocs, "
           "%lu survivors checked)\n",
           nthreads, (unsigned long)per_thread, cross, reallocs, (unsigned long)n);
    return 0;
  }
  printf("threads: FAIL (%lu problem%s)\n", bad, bad == 1 ? "" : "s");
  return 1;
}
