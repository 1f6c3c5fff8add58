/*
  ports/template.c -- the starting point for a new port.

  Copy this file to ports/<platform>.c, build with -DDLMALLOC_PORT=<platform> (CMake) or compile
  it with malloc.c:  cc -DPORTABLE=1 -DUSE_LOCKS=2 malloc.c ports/<platform>.c app.c
  and replace each "PORT TODO" body.  As it stands the file compiles and links, and every
  hook fails safely: no memory can be obtained, so every allocation returns NULL, and the locks
  do nothing, which is only correct for a single-threaded program.  It is NOT a working port.

  Then build samples/port_check.c for the platform and run it: it exercises every hook through
  the allocator and says "port check: PASS" or what failed.

  Rules that hold for every hook (the full text is section 6 of malloc.h):
    - Never call malloc, free or any other function of this allocator, directly or through a
      library that might (printf often does).  Hooks run with a heap lock held, or while the
      allocator is reporting an error.
    - Lengths are non-zero multiples of the page size the core was built for.  Addresses you
      return must be aligned to at least MALLOC_ALIGNMENT; page alignment is usual.
    - The core does not assume the memory is zeroed unless it is built with MMAP_CLEARS=1.
    - custom_munmap only ever receives exactly one region that one custom_mmap or
      custom_direct_mmap call returned: same pointer, same length.
    - A lock slot is one pointer wide and an all-zero slot must be an unlocked lock.  The core
      never takes a lock it already holds.
    - Leave errno as you found it (a failing map hook may leave the platform's reason).

  The existing ports show finished answers: posix.c (mmap, futex), win32.c (VirtualAlloc,
  SRWLOCK), uefi.c (AllocatePages, TPL), static_arena.c (a fixed buffer, interrupt masking).
*/
#include "../malloc.h"

#include <stddef.h>

/* ==== Memory ================================================================================ */

/* custom_mmap(length): fresh read/write memory for a heap segment.
   Return length bytes (length is a multiple of the page size), aligned to at least
   MALLOC_ALIGNMENT, or CUSTOM_MMAP_FAILURE (never NULL).  Typical bodies: mmap(MAP_ANONYMOUS),
   VirtualAlloc, a page allocator of the OS or firmware, or carving from a fixed buffer.
   Failure is normal and handled: the allocator then returns NULL to its caller. */
void *custom_mmap(size_t length) {
  /* PORT TODO: obtain memory from the platform. */
  (void)length;
  return CUSTOM_MMAP_FAILURE;
}

/* custom_munmap(ptr, length): give back the region [ptr, ptr + length) that one earlier
   custom_mmap or custom_direct_mmap call returned, whole.  Return 0 on success, -1 on failure;
   after a failure the allocator keeps using the region, so failing is always safe. */
int custom_munmap(void *ptr, size_t length) {
  /* PORT TODO: return the region to the platform. */
  (void)ptr;
  (void)length;
  return -1;
}

/* custom_direct_mmap(length): memory for one large chunk (a request at or above the mmap
   threshold), released by custom_munmap when the block is freed.  Usually the same body as
   custom_mmap.  Return CUSTOM_MMAP_FAILURE to decline: the allocator then serves large requests
   from its segments, which is correct, merely less frugal. */
void *custom_direct_mmap(size_t length) {
  /* PORT TODO: usually "return custom_mmap(length);". */
  (void)length;
  return CUSTOM_MMAP_FAILURE;
}

/* ==== Locks =================================================================================
   Each lock lives in one pointer-sized slot owned by the allocator.  The slot may be used
   without init_lock having run (the global heap's lock is zero-initialised static data), so
   the all-zero value must mean "unlocked".  A lock needing more than a pointer does not fit:
   use a word-sized primitive (SRWLOCK, a futex word, a spin flag, saved interrupt state), or
   an index into a static table of platform locks.  The allocator never takes a lock it holds,
   so locks need not be recursive.  A single-threaded platform may leave all four empty.       */

/* init_lock(lock): make *lock an unlocked lock (normally: store NULL). */
void init_lock(void **lock) {
  /* PORT TODO: initialise the platform lock in the slot. */
  *lock = NULL;
}

/* final_lock(lock): the lock will not be used again; release anything init_lock created. */
void final_lock(void **lock) {
  /* PORT TODO: usually nothing. */
  (void)lock;
}

/* acquire_lock(lock): wait until the lock is free and take it.  Must not allocate. */
void acquire_lock(void **lock) {
  /* PORT TODO: take the lock.  Doing nothing is only correct without concurrency. */
  (void)lock;
}

/* release_lock(lock): give back a lock taken by acquire_lock on this thread. */
void release_lock(void **lock) {
  /* PORT TODO: release the lock. */
  (void)lock;
}

/* ==== Abort ================================================================================= */

/* custom_abort(): the allocator found corruption or misuse (for example a double free) and
   must not continue.  Report malloc_abort_reason() -- one line of text, such as
   "free(): invalid pointer 0x1000 [malloc.c:2190]" -- in whatever way the platform allows
   without allocating (a raw write to a console or serial port, a debugger channel, a saved
   crash record), then stop for good: abort(), terminate the process, halt or reset the
   machine.  It must never return. */
void custom_abort(void) {
  /* PORT TODO: report malloc_abort_reason() and stop the program. */
  const char *volatile reason = malloc_abort_reason(); /* visible to a debugger */
  (void)reason;
  for (;;) {
  }
}
