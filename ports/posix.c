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

#include "malloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>   /* abort */
#include <string.h>   /* strlen */
#include <sys/mman.h>
#include <unistd.h>   /* write */

/* Linux sleeps on the lock word itself (futex); other systems, or Linux built with
   -DPOSIX_USE_FUTEX=0 to test that path, back off with sched_yield and nanosleep. */
#ifndef POSIX_USE_FUTEX
#if defined(__linux__)
#define POSIX_USE_FUTEX 1
#else
#define POSIX_USE_FUTEX 0
#endif
#endif /* POSIX_USE_FUTEX */

#if POSIX_USE_FUTEX
#include <linux/futex.h>
#include <sys/syscall.h>
#else
#include <sched.h>
#include <time.h>
#endif

#if !defined(MAP_ANONYMOUS) && defined(MAP_ANON)
#define MAP_ANONYMOUS MAP_ANON /* older BSDs and macOS spell it this way */
#endif

#if !defined(__GNUC__) && !defined(__clang__)
#error "ports/posix.c needs the GCC/Clang __atomic builtins"
#endif

/* The core's failure value for custom_mmap and custom_direct_mmap. */
#define POSIX_MFAIL ((void *)-1)

/* ==== Memory ================================================================================ */

static void *posix_map(size_t length) {
  void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  /* MAP_FAILED happens to equal (void *)-1 on every known system, but the contract is written
     in terms of the core's value, so translate explicitly rather than rely on that. */
  return p == MAP_FAILED ? POSIX_MFAIL : p;
}

void *custom_mmap(size_t length) { return posix_map(length); }

void *custom_direct_mmap(size_t length) { return posix_map(length); }

int custom_munmap(void *ptr, size_t length) {
  /* The core only releases whole regions it got from us, so munmap's own rules (page-aligned
     start, any length) are always met. */
  return munmap(ptr, length) == 0 ? 0 : -1;
}

/* ==== Locks =================================================================================
   The slot is used as a whole pointer-sized word through the __atomic builtins, so every C
   access to it has the slot's own type (void *) and strict aliasing is never an issue.  The
   state values are tiny integers stored as pointers.                                          */

#define LOCK_FREE ((void *)(uintptr_t)0) /* must be all-zero: the core relies on that */
#define LOCK_HELD ((void *)(uintptr_t)1)
#define LOCK_CONTENDED ((void *)(uintptr_t)2) /* held, and someone may be asleep on it */

/* How often to retry before going to sleep.  A heap lock is normally held for well under a
   microsecond, so a short spin avoids most system calls without burning a time slice. */
#ifndef POSIX_LOCK_SPINS
#define POSIX_LOCK_SPINS 100
#endif

static inline void cpu_relax(void) {
  /* Tell the core we are spinning: lets a hyperthread sibling run and saves power. */
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
  __asm__ __volatile__("yield" ::: "memory");
#elif defined(__riscv)
  __asm__ __volatile__(".insn i 0x0F, 0, x0, x0, 0x010" ::: "memory"); /* pause hint */
#elif defined(__powerpc__) || defined(__powerpc64__)
  __asm__ __volatile__("or 27,27,27" ::: "memory"); /* lower SMT priority */
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

static inline void *lock_load(void **lock) { return __atomic_load_n(lock, __ATOMIC_RELAXED); }

/* Try to move the lock from "free" to `held_state`; true on success. */
static inline int lock_try(void **lock, void *held_state) {
  void *expected = LOCK_FREE;
  return __atomic_compare_exchange_n(lock, &expected, held_state, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED);
}

/* Spin a little while the holder is likely to be about to release.  True if we got it. */
static int lock_spin(void **lock, void *held_state) {
  for (int i = 0; i < POSIX_LOCK_SPINS; ++i) {
    cpu_relax();
    /* Read before trying, so waiters share the cache line instead of bouncing it. */
    if (lock_load(lock) == LOCK_FREE && lock_try(lock, held_state))
      return 1;
  }
  return 0;
}

#if POSIX_USE_FUTEX

/* The kernel compares and sleeps on a 32-bit word.  Our states fit in the low-order 32 bits
   of the slot (the high half is always zero), so point the futex at wherever that half lives
   for this byte order. */
static inline int *futex_word(void **lock) {
  char *p = (char *)(void *)lock;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  p += sizeof(void *) - sizeof(int);
#endif
  return (int *)(void *)p;
}

static void futex_wait(void **lock, int expected) {
  /* Returns at once if the word no longer holds `expected`, which closes the race between our
     check and going to sleep.  EINTR and spurious wake-ups are fine: the caller re-checks. */
  (void)syscall(SYS_futex, futex_word(lock), FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_one(void **lock) {
  (void)syscall(SYS_futex, futex_word(lock), FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void acquire_lock(void **lock) {
  if (lock_try(lock, LOCK_HELD) || lock_spin(lock, LOCK_HELD))
    return;
  /* Slow path: mark the lock contended so the holder knows to wake someone, and sleep until
     the exchange finds it free.  Taking it in the contended state is deliberately
     conservative: we cannot know whether other sleepers remain, so the next release wakes one
     (at worst an unnecessary system call). */
  while (__atomic_exchange_n(lock, LOCK_CONTENDED, __ATOMIC_ACQUIRE) != LOCK_FREE)
    futex_wait(lock, 2);
}

void release_lock(void **lock) {
  if (__atomic_exchange_n(lock, LOCK_FREE, __ATOMIC_RELEASE) == LOCK_CONTENDED)
    futex_wake_one(lock);
}

#else /* !POSIX_USE_FUTEX */

/* Without a portable sleep-on-address primitive, waiters back off: yield a few times (cheap
   when another runnable thread holds the lock), then sleep for growing intervals capped at
   about a millisecond so a long wait does not turn into a busy loop. */
static void backoff(unsigned round) {
  if (round < 16) {
    (void)sched_yield();
  } else {
    unsigned shift = round - 16 < 10 ? round - 16 : 10;
    struct timespec ts = {0, (long)(1000u << shift)}; /* 1 us .. ~1 ms */
    (void)nanosleep(&ts, NULL);
  }
}

void acquire_lock(void **lock) {
  if (lock_try(lock, LOCK_HELD) || lock_spin(lock, LOCK_HELD))
    return;
  for (unsigned round = 0;; ++round) {
    backoff(round);
    if (lock_load(lock) == LOCK_FREE && lock_try(lock, LOCK_HELD))
      return;
  }
}

void release_lock(void **lock) { __atomic_store_n(lock, LOCK_FREE, __ATOMIC_RELEASE); }

#endif /* POSIX_USE_FUTEX */

void init_lock(void **lock) { __atomic_store_n(lock, LOCK_FREE, __ATOMIC_RELAXED); }

/* Nothing to tear down: the lock owns no kernel object. */
void final_lock(void **lock) { (void)lock; }

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
