/*
  ports/posix_lock.h -- the POSIX port's lock: the fast paths as inline functions.

  ports/posix.c's lock hooks are thin wrappers around these.  A core built with
      -DPORT_LOCK_HEADER='"ports/posix_lock.h"'   (the path is relative to malloc.c)
  includes this file in malloc.c section 4 and calls the inline functions directly: taking
  and releasing a free lock is then one atomic instruction each, with no call through the
  hook.  Both ways run the same code on the same word, so they mix safely.  What such a
  header must define and may include is part of the port contract (malloc.h, section 6).

  Only the fast paths are here: taking a free lock, giving back one nobody waits for.  When
  the lock is taken, or someone sleeps on it, they call the port's own hooks acquire_lock and
  release_lock, which spin and sleep.  Those need system headers, which a PORTABLE core must
  never see, so their bodies are compiled only where POSIX_LOCK_DEFINE_HOOKS is defined before
  this header is included: ports/posix.c, or a hosted build that takes only the lock from this
  port (dropin/dropin.c, which also sets POSIX_LOCK_HOOK to keep them out of its exports).
  malloc.h, which declares the hooks, must be included first.

  The lock: a word-sized lock in the core's void * slot; no pthread_mutex_t (it does not fit
  in the slot, and a zero slot must already be a valid unlocked lock).  On Linux it is a
  three-state futex lock (0 free, 1 held, 2 held with sleepers, the design of Drepper's
  "Futexes Are Tricky"); elsewhere it spins briefly, then yields, then sleeps with growing
  nanosleep intervals.  The slot is used as a whole pointer-sized word through the __atomic
  builtins, so every C access to it has the slot's own type (void *) and strict aliasing is
  never an issue.  Threads that share a heap must live in one process: the futex is private.
  The waiting paths leave errno as they found it (the contract's errno rule).
*/
#ifndef PORTS_POSIX_LOCK_H
#define PORTS_POSIX_LOCK_H

#include <stdint.h>

#if !defined(__GNUC__) && !defined(__clang__)
#error "ports/posix_lock.h needs the GCC/Clang __atomic builtins"
#endif

#define POSIX_LOCK_FREE ((void *)(uintptr_t)0) /* must be all-zero: the core relies on that */
#define POSIX_LOCK_HELD ((void *)(uintptr_t)1)
#define POSIX_LOCK_CONTENDED ((void *)(uintptr_t)2) /* held, and someone may be asleep on it */

/* How often to retry before going to sleep.  A heap lock is normally held for well under a
   microsecond, but a thread-cache refill or flush holds it for a batch, and a futex sleep and
   wake-up cost far more than that (most of all in a virtual machine): under contention 100
   spins let waiters convoy through the kernel; 1000 (about ten microseconds) do not
   (bench/results/design-measurements.md). */
#ifndef POSIX_LOCK_SPINS
#define POSIX_LOCK_SPINS 1000
#endif

#define POSIX_LOCK_COLD __attribute__((noinline, cold))

/* Try to move the lock from "free" to "held"; true on success. */
static inline int posix_lock_try(void **lock) {
  void *expected = POSIX_LOCK_FREE;
  return __atomic_compare_exchange_n(lock, &expected, POSIX_LOCK_HELD, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED);
}

static inline void port_lock_acquire(void **lock) {
  if (!posix_lock_try(lock))
    acquire_lock(lock); /* taken: the hook spins, then sleeps */
}

/* "held" back to "free" in one step; if the word says "contended" instead, a waiter may be
   asleep and the hook wakes it. */
static inline void port_lock_release(void **lock) {
  void *expected = POSIX_LOCK_HELD;
  if (!__atomic_compare_exchange_n(lock, &expected, POSIX_LOCK_FREE, 0, __ATOMIC_RELEASE,
                                   __ATOMIC_RELAXED))
    release_lock(lock);
}

static inline void port_lock_init(void **lock) {
  __atomic_store_n(lock, POSIX_LOCK_FREE, __ATOMIC_RELAXED);
}

/* Nothing to tear down: the lock owns no kernel object. */
static inline void port_lock_final(void **lock) { (void)lock; }

#endif /* PORTS_POSIX_LOCK_H */

/* ==== The hooks acquire_lock and release_lock: spinning and sleeping ======================== */
#if defined(POSIX_LOCK_DEFINE_HOOKS) && !defined(PORTS_POSIX_LOCK_HOOKS_DEFINED)
#define PORTS_POSIX_LOCK_HOOKS_DEFINED

#ifndef POSIX_LOCK_HOOK
#define POSIX_LOCK_HOOK /* the hooks' linkage: exported by default */
#endif

/* Linux sleeps on the lock word itself (futex); other systems, or Linux built with
   -DPOSIX_USE_FUTEX=0 to test that path, back off with sched_yield and nanosleep. */
#ifndef POSIX_USE_FUTEX
#if defined(__linux__)
#define POSIX_USE_FUTEX 1
#else
#define POSIX_USE_FUTEX 0
#endif
#endif /* POSIX_USE_FUTEX */

#include <errno.h>
#if POSIX_USE_FUTEX
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#else
#include <sched.h>
#include <time.h>
#endif

static inline void posix_cpu_relax(void) {
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

static inline void *posix_lock_load(void **lock) { return __atomic_load_n(lock, __ATOMIC_RELAXED); }

/* Spin a little while the holder is likely to be about to release.  True if we got it. */
static inline int posix_lock_spin(void **lock) {
  int i;
  for (i = 0; i < POSIX_LOCK_SPINS; ++i) {
    posix_cpu_relax();
    /* Read before trying, so waiters share the cache line instead of bouncing it. */
    if (posix_lock_load(lock) == POSIX_LOCK_FREE && posix_lock_try(lock))
      return 1;
  }
  return 0;
}

#if POSIX_USE_FUTEX

/* The kernel compares and sleeps on a 32-bit word.  Our states fit in the low-order 32 bits
   of the slot (the high half is always zero), so point the futex at wherever that half lives
   for this byte order. */
static inline int *posix_futex_word(void **lock) {
  char *p = (char *)(void *)lock;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  p += sizeof(void *) - sizeof(int);
#endif
  return (int *)(void *)p;
}

/* The lock was taken: spin, then mark it contended so that its holder knows to wake someone,
   and sleep until the exchange finds it free.  Taking it in the contended state is
   deliberately conservative: we cannot know whether other sleepers remain, so the next
   release wakes one (at worst an unnecessary system call).  FUTEX_WAIT returns at once if the
   word no longer holds 2, which closes the race between the exchange and going to sleep;
   EINTR and spurious wake-ups are fine, the loop re-checks.
   FUTEX_WAIT fails with EAGAIN or EINTR in those cases, and free() must not pass that on
   to its caller: errno is restored. */
static POSIX_LOCK_COLD void posix_lock_wait(void **lock) {
  int saved_errno;
  if (posix_lock_spin(lock))
    return;
  saved_errno = errno;
  while (__atomic_exchange_n(lock, POSIX_LOCK_CONTENDED, __ATOMIC_ACQUIRE) != POSIX_LOCK_FREE)
    (void)syscall(SYS_futex, posix_futex_word(lock), FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
  errno = saved_errno;
}

static POSIX_LOCK_COLD void posix_lock_wake(void **lock) {
  int saved_errno = errno;
  (void)syscall(SYS_futex, posix_futex_word(lock), FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
  errno = saved_errno;
}

#else /* !POSIX_USE_FUTEX */

/* Without a portable sleep-on-address primitive, waiters back off: yield a few times (cheap
   when another runnable thread holds the lock), then sleep for growing intervals capped at
   about a millisecond so a long wait does not turn into a busy loop. */
static POSIX_LOCK_COLD void posix_lock_wait(void **lock) {
  unsigned round;
  int saved_errno;
  if (posix_lock_spin(lock))
    return;
  saved_errno = errno; /* nanosleep may fail with EINTR */
  for (round = 0;; ++round) {
    if (round < 16) {
      (void)sched_yield();
    } else {
      unsigned shift = round - 16 < 10 ? round - 16 : 10;
      struct timespec ts = {0, (long)(1000u << shift)}; /* 1 us .. ~1 ms */
      (void)nanosleep(&ts, NULL);
    }
    if (posix_lock_load(lock) == POSIX_LOCK_FREE && posix_lock_try(lock))
      break;
  }
  errno = saved_errno;
}

static void posix_lock_wake(void **lock) { (void)lock; } /* nobody sleeps on the word */

#endif /* POSIX_USE_FUTEX */

POSIX_LOCK_HOOK void acquire_lock(void **lock) {
  if (!posix_lock_try(lock))
    posix_lock_wait(lock);
}

POSIX_LOCK_HOOK void release_lock(void **lock) {
  if (__atomic_exchange_n(lock, POSIX_LOCK_FREE, __ATOMIC_RELEASE) == POSIX_LOCK_CONTENDED)
    posix_lock_wake(lock);
}

#endif /* POSIX_LOCK_DEFINE_HOOKS */
