/*
  errno_rule.c -- the port contract's errno rule (malloc.h section 6), the same in a PORTABLE
  core with ports/posix.c and in the core's own POSIX layer.

  free() must leave errno as it was (POSIX.1-2024), also when the system refuses to take a
  region back or when a thread had to wait for the heap lock.  This program supplies its own
  munmap, which the port and the core call instead of the C library's (a definition in the
  program wins at link time), so that a refusal can be ordered; the real work is done by the
  C library's own entry points __munmap, __mmap and __sbrk (glibc).  A failed mmap (and sbrk,
  for the core's own layer) may pass its ENOMEM on: malloc then fails with errno ENOMEM.  A
  request refused before any system call (too big, beyond the footprint limit) sets ENOMEM
  too: the library's PORTABLE core is built with PORTABLE_ERRNO for ports/posix.c.
*/
#if !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/mman.h>
#include <stdint.h>
#include <unistd.h>

#include "harness.h"
#include "malloc.h"

#define SENTINEL 4242 /* no errno value of the system */

static volatile int refuse_unmap;
static volatile int refuse_map;
static volatile unsigned long unmaps_refused;

extern int __munmap(void *addr, size_t length);
extern void *__mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
extern void *__sbrk(intptr_t increment);

int munmap(void *addr, size_t length) {
  if (refuse_unmap) {
    ++unmaps_refused;
    errno = EBUSY;
    return -1;
  }
  return __munmap(addr, length);
}

void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) {
  if (refuse_map) {
    errno = ENOMEM;
    return MAP_FAILED;
  }
  return __mmap(addr, length, prot, flags, fd, offset);
}

void *sbrk(intptr_t increment) {
  if (refuse_map && increment > 0) {
    errno = ENOMEM;
    return (void *)-1;
  }
  return __sbrk(increment);
}

/* Threads that free while others hold the lock: waiting must not show in errno. */
enum { THREADS = 4, ROUNDS = 20000 };

static void *free_under_contention(void *arg) {
  unsigned long *changed = (unsigned long *)arg;
  int i;
  for (i = 0; i < ROUNDS; ++i) {
    void *p = dlmalloc((size_t)(16 + (i % 64) * 16));
    errno = SENTINEL;
    dlfree(p);
    if (errno != SENTINEL)
      ++*changed;
  }
  return NULL;
}

int main(void) {
  /* The first request founds the heap's first segment; after that, a request above the mmap
     threshold that the heap cannot serve gets a region of its own, unmapped by its free. */
  void *first = dlmalloc(64);
  size_t big = (size_t)4 << 20;
  void *p;

  th_section("free keeps errno when the system refuses the region");
  p = dlmalloc(big);
  if (CHECK(p != NULL)) {
    refuse_unmap = 1;
    errno = SENTINEL;
    dlfree(p);
    CHECK_EQ(errno, SENTINEL);
    refuse_unmap = 0;
    CHECK_GT(unmaps_refused, 0); /* the refusal was really exercised */
  }

  th_section("free keeps errno when the region goes back");
  p = dlmalloc(big);
  if (CHECK(p != NULL)) {
    errno = SENTINEL;
    dlfree(p);
    CHECK_EQ(errno, SENTINEL);
  }

  th_section("a failed map may pass on ENOMEM");
  refuse_map = 1;
  errno = 0;
  p = dlmalloc(2 * big); /* more than anything the heap holds */
  refuse_map = 0;
  CHECK(p == NULL);
  CHECK_EQ(errno, ENOMEM);

  /* Refused before any system call, so no hook has left a reason: the core sets ENOMEM
     itself (PORTABLE_ERRNO, which the library's posix port is built with). */
  th_section("a request no heap can meet sets ENOMEM");
  {
    const size_t huge = (size_t)-1 - 4096;
    void *live = dlmalloc(100);
    size_t limit;
    errno = 0;
    CHECK(dlmalloc(huge) == NULL);
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(dlcalloc((size_t)-1 / 8, 16) == NULL); /* the product wraps */
    CHECK_EQ(errno, ENOMEM);
    errno = 0;
    CHECK(dlmemalign(64, huge) == NULL);
    CHECK_EQ(errno, ENOMEM);
    if (CHECK(live != NULL)) {
      errno = 0;
      CHECK(dlrealloc(live, huge) == NULL);
      CHECK_EQ(errno, ENOMEM);
    }
    limit = dlmalloc_set_footprint_limit(dlmalloc_footprint());
    errno = 0;
    CHECK(dlmalloc(2 * big) == NULL); /* within reach of the system, beyond the limit */
    CHECK_EQ(errno, ENOMEM);
    dlmalloc_set_footprint_limit((size_t)-1);
    CHECK_GT(limit, 0);
    dlfree(live);
  }

  th_section("free keeps errno while threads wait for the lock");
  {
    pthread_t t[THREADS];
    unsigned long changed[THREADS] = {0};
    int i;
    for (i = 0; i < THREADS; ++i)
      CHECK_EQ(pthread_create(&t[i], NULL, free_under_contention, &changed[i]), 0);
    for (i = 0; i < THREADS; ++i) {
      pthread_join(t[i], NULL);
      CHECK_EQ(changed[i], 0);
    }
  }
  dlfree(first);
  return th_finish();
}
