/*
  port_variants.c -- ports for testing samples/port_check.c: one that keeps the contract in
  an unusual but allowed way, and broken ones that it must reject, naming the hook.  Chosen
  with PORT_VARIANT (tests/porter/CMakeLists.txt):

    PORT_KEEPS_EVERY_PAGE  1: custom_munmap always refuses (-1) and custom_direct_mmap always
                           declines: correct (malloc.h calls refusing "always correct"); must PASS
    PORT_LOCK_OPEN         2: the lock hooks do nothing: must FAIL naming acquire_lock
    PORT_OVERLAPS          3: custom_mmap hands out one region twice: must FAIL (overlap)
    PORT_MISALIGNED        4: regions start 8 bytes past a page: must FAIL (alignment)
    PORT_NULL_FAILURE      5: failure reported as NULL instead of CUSTOM_MMAP_FAILURE: FAIL
    PORT_CLOBBERS_ERRNO    6: custom_munmap leaves its own errno: must FAIL naming it
    PORT_NULL_ON_FAILURE   7: NULL only when mmap really fails (the usual slip): must FAIL
                           naming custom_mmap, with a verdict instead of a crash
    PORT_LOCK_KEPT         8: release_lock does nothing: must FAIL (a thread waits for ever)
    PORT_KEEPS_MAPPED      9: custom_munmap always refuses, custom_direct_mmap serves: the
                           large block's region stays after its free; correct, must PASS (an
                           outside newcomer's port failed here once)

  Apart from the fault, each is ports/posix.c's memory (mmap/munmap) and a spin lock.
*/
#if !defined(_DEFAULT_SOURCE) && !defined(_GNU_SOURCE)
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#endif
#include "../../malloc.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PORT_KEEPS_EVERY_PAGE 1
#define PORT_LOCK_OPEN 2
#define PORT_OVERLAPS 3
#define PORT_MISALIGNED 4
#define PORT_NULL_FAILURE 5
#define PORT_CLOBBERS_ERRNO 6
#define PORT_NULL_ON_FAILURE 7
#define PORT_LOCK_KEPT 8
#define PORT_KEEPS_MAPPED 9

#ifndef PORT_VARIANT
#error "define PORT_VARIANT (see the top of this file)"
#endif

/* Bytes in front of every region (PORT_MISALIGNED), kept by a region's own mapping. */
#if PORT_VARIANT == PORT_MISALIGNED
#define SHIFT ((size_t)8)
#else
#define SHIFT ((size_t)0)
#endif

static void *map(size_t length) {
  void *p = mmap(NULL, length + (SHIFT != 0 ? 4096 : 0), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return PORT_VARIANT == PORT_NULL_FAILURE || PORT_VARIANT == PORT_NULL_ON_FAILURE
               ? NULL
               : CUSTOM_MMAP_FAILURE;
  return (char *)p + SHIFT;
}

void *custom_mmap(size_t length) {
#if PORT_VARIANT == PORT_OVERLAPS
  static void *first;     /* every request gets the first region again */
  static size_t first_length;
  if (first != NULL && length <= first_length)
    return first;
  first = map(length);
  first_length = length;
  return first;
#elif PORT_VARIANT == PORT_NULL_FAILURE
  return length > ((size_t)1 << 40) ? map(length) : NULL; /* "no memory", said the wrong way */
#else
  return map(length);
#endif
}

void *custom_direct_mmap(size_t length) {
#if PORT_VARIANT == PORT_KEEPS_EVERY_PAGE
  (void)length;
  return CUSTOM_MMAP_FAILURE;
#else
  return custom_mmap(length);
#endif
}

int custom_munmap(void *ptr, size_t length) {
#if PORT_VARIANT == PORT_KEEPS_EVERY_PAGE || PORT_VARIANT == PORT_OVERLAPS ||               \
    PORT_VARIANT == PORT_KEEPS_MAPPED
  (void)ptr;
  (void)length;
  return -1;
#elif PORT_VARIANT == PORT_CLOBBERS_ERRNO
  int result = munmap(ptr, length);
  errno = EBUSY; /* what a sloppy port leaves behind */
  return result == 0 ? 0 : -1;
#else
  int saved = errno;
  int result = munmap((char *)ptr - SHIFT, length + (SHIFT != 0 ? 4096 : 0));
  errno = saved;
  return result == 0 ? 0 : -1;
#endif
}

void init_lock(void **lock) { *lock = NULL; }

void final_lock(void **lock) { (void)lock; }

void acquire_lock(void **lock) {
#if PORT_VARIANT == PORT_LOCK_OPEN
  (void)lock;
#else
  void *expected = NULL;
  while (!__atomic_compare_exchange_n(lock, &expected, (void *)1, 0, __ATOMIC_ACQUIRE,
                                      __ATOMIC_RELAXED)) {
    expected = NULL;
    (void)sched_yield();
  }
#endif
}

void release_lock(void **lock) {
#if PORT_VARIANT == PORT_LOCK_OPEN || PORT_VARIANT == PORT_LOCK_KEPT
  (void)lock;
#else
  __atomic_store_n(lock, NULL, __ATOMIC_RELEASE);
#endif
}

void custom_abort(void) {
  const char *reason = malloc_abort_reason();
  (void)!write(2, "dlmalloc: ", 10);
  (void)!write(2, reason, strlen(reason));
  (void)!write(2, "\n", 1);
  abort();
}
