/*
  ports/posix.c -- the eight hooks for Linux, the BSDs, macOS and other POSIX systems.

  Memory:  anonymous private mmap/munmap.  The kernel hands out zero-filled pages, so a core
           built with MMAP_CLEARS=1 is correct with this port (the PORTABLE default of 0 is
           correct too, just slightly slower for calloc).  Large chunks get a mapping of their
           own through custom_direct_mmap, so freeing them returns the memory at once.
  Locks:   a word-sized lock living in the core's void* slot; no pthread_mutex_t (it does not
           fit in the slot, and a zero slot must already be a valid unlocked lock).  On Linux it
           is a three-state futex lock (0 free, 1 held, 2 held with sleepers); elsewhere it spins
           briefly, then yields, then sleeps with growing nanosleep intervals.
  Abort:   "dlmalloc: <reason>\n" to file descriptor 2 with write(2), then abort().

  Threads that share a heap must live in one process: the futex is a private one.  Placing an
  mspace with a lock in memory shared between processes is not supported by this port.
*/
#if !defined(_DEFAULT_SOURCE) && !defined(_GNU_SOURCE)
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS and nanosleep under strict -std=c99 */
#endif
#if defined(__APPLE__) && !defined(_DARWIN_C_SOURCE)
#define _DARWIN_C_SOURCE /* MAP_ANON */
#endif

#include "../malloc.h"
#define POSIX_LOCK_DEFINE_HOOKS /* acquire_lock and release_lock come from posix_lock.h */
#include "posix_lock.h"

#include <errno.h>
#include <stdlib.h>   /* abort */
#include <string.h>   /* strlen */
#include <sys/mman.h>
#include <unistd.h>   /* write */

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON /* older BSDs and macOS spell it this way */
#endif

/* ==== Memory ================================================================================ */

static void *posix_map(size_t length) {
  void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  /* MAP_FAILED happens to equal CUSTOM_MMAP_FAILURE on every known system, but the contract is
     written in terms of the core's value, so translate explicitly rather than rely on that.
     A failed mmap leaves ENOMEM in errno, which the contract lets a failing map pass on. */
  return p == MAP_FAILED ? CUSTOM_MMAP_FAILURE : p;
}

void *custom_mmap(size_t length) { return posix_map(length); }

void *custom_direct_mmap(size_t length) { return posix_map(length); }

int custom_munmap(void *ptr, size_t length) {
  /* The core only releases whole regions it got from us, so munmap's own rules (page-aligned
     start, any length) are always met.  A refusal must not reach free()'s caller as a
     changed errno (malloc.h section 6). */
  int saved_errno = errno;
  int result = munmap(ptr, length) == 0 ? 0 : -1;
  errno = saved_errno;
  return result;
}

/* ==== Locks =================================================================================
   The lock lives in ports/posix_lock.h.  Its fast paths are inline functions there, so that
   malloc.c can be built with -DPORT_LOCK_HEADER='"ports/posix_lock.h"' and take a free lock
   without a call; the hooks acquire_lock and release_lock, which also wait and wake, are
   defined by that header here (POSIX_LOCK_DEFINE_HOOKS above).  A core may use either, since
   both run the same code on the same word. */

void init_lock(void **lock) { port_lock_init(lock); }

void final_lock(void **lock) { port_lock_final(lock); }

/* ==== Abort ================================================================================= */

/* Write all of buf to stderr.  Partial writes and EINTR are retried; any other error gives up
   quietly, since we are about to abort anyway and have no better channel. */
static void write_all(const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(2, buf, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return;
    }
    buf += (size_t)n;
    len -= (size_t)n;
  }
}

void custom_abort(void) {
  /* No stdio: it may allocate, and the heap is exactly what we can no longer trust. */
  const char *reason = malloc_abort_reason();
  if (reason == NULL || reason[0] == '\0')
    reason = "unspecified error";
  write_all("dlmalloc: ", 10);
  write_all(reason, strlen(reason));
  write_all("\n", 1);
  abort();
}
