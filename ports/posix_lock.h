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
  in the slot, and a zero slot must already be a valid unlocked lock).  The low-order 32 bits
  of the slot hold two state bits (bit 0: held; bit 1, only with bit 0: someone may be asleep
  on it) and, above them, a generation that each acquisition advances; the high half of a
  64-bit slot stays zero.  A thread that finds the lock held spins briefly with a pause
  instruction, then sleeps: on Linux on the word itself (futex, in the manner of Drepper's
  "Futexes Are Tricky"); elsewhere with sched_yield and growing nanosleep intervals.  The slot
  is used as a whole pointer-sized word through the __atomic builtins, so every C access to it
  has the slot's own type (void *) and strict aliasing is never an issue.  Threads that share a
  heap must live in one process: the futex is private.  The waiting paths leave errno as they
  found it (the contract's errno rule), and are no cancellation points.

  Why the generation: a heap's holder usually takes the lock again a few nanoseconds after
  releasing it (one malloc after another).  A waiter that spins until it sees the lock free
  catches one of those short gaps, and from then on the two threads take turns at every call,
  so every call finds the heap's cache lines on the other core: two threads on two cores ran
  several times slower than the same two threads on one core.  The spinner therefore waits
  for the end of the one hold it found, and only for that: if the generation moves on, the
  lock has been taken again in between, and the spinner goes to sleep, leaving the running
  thread the heap.  Nobody spins on a lock that has a sleeper: it is contended, and the
  threads do better taking it in long runs, one sleeping while the other works, as they
  would on one core.  Release never hands the lock to a sleeper; it frees the word and
  wakes one sleeper, who competes for it like anyone else.
*/
#ifndef PORTS_POSIX_LOCK_H
#define PORTS_POSIX_LOCK_H

#include <stdint.h>

#if !defined(__GNUC__) && !defined(__clang__)
#error "ports/posix_lock.h needs the GCC/Clang __atomic builtins"
#endif

#define POSIX_LOCK_HELD 1u       /* state bit: taken; all-zero is free (the core relies on it) */
#define POSIX_LOCK_SLEEPERS 2u   /* state bit, with HELD: someone may be asleep on the word */
#define POSIX_LOCK_STATE 3u      /* mask of the state bits */
#define POSIX_LOCK_GENERATION 4u /* what one acquisition adds to the word */

/* The lock word seen as an integer, for the one operation that has no pointer form
   (fetch-or).  may_alias: the slot's own type is void *. */
typedef uintptr_t __attribute__((may_alias)) posix_lock_bits;

/* How many pauses a waiter spends on one hold before it sleeps.  A heap lock is normally
   held for well under a microsecond, but a thread-cache refill or flush holds it for a
   batch, and a sleep and wake-up cost far more than that (most of all in a virtual machine).
   The spin ends early as soon as the lock changes hands, so a long bound costs nothing when
   the holder is looping; it only lets a waiter ride out one long hold. */
#ifndef POSIX_LOCK_SPINS
#define POSIX_LOCK_SPINS 1000
#endif

/* A waiter's first sleeps are naps: it looks at the lock again by itself after
   POSIX_LOCK_NAP_NS nanoseconds, then twice that, and so on for POSIX_LOCK_NAPS naps, unless
   a release wakes it sooner; after them it sleeps until a release wakes it.  Two threads on
   two cores sharing one heap ran faster with naps than with sleeps that only a release ends
   (docs/threads-design.md has the measurements); but naps without end made every waiter of a
   long hold wake tens of thousands of times a second, and hundreds of threads waiting on a
   few arenas spent their time in the scheduler (docs/threads-design.md, session 21). */
#ifndef POSIX_LOCK_NAP_NS
#define POSIX_LOCK_NAP_NS 50000
#endif
#ifndef POSIX_LOCK_NAPS
#define POSIX_LOCK_NAPS 4
#endif
#if POSIX_LOCK_NAPS < 0 || POSIX_LOCK_NAPS > 20
#error "POSIX_LOCK_NAPS must be 0 to 20"
#elif POSIX_LOCK_NAPS > 0 && (POSIX_LOCK_NAP_NS << (POSIX_LOCK_NAPS - 1)) >= 1000000000
#error "the longest nap (POSIX_LOCK_NAP_NS doubled POSIX_LOCK_NAPS - 1 times) must be below 1 s"
#endif

#define POSIX_LOCK_COLD __attribute__((noinline, cold))

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

static inline uintptr_t posix_lock_word(void **lock) {
  return (uintptr_t)__atomic_load_n(lock, __ATOMIC_RELAXED);
}

/* Take the lock, which was seen free as `seen`, with the next generation.  The generation
   wraps within 32 bits so that the futex word always holds the whole state. */
static inline int posix_lock_take(void **lock, uintptr_t seen) {
  void *expected = (void *)seen;
  uint32_t next = (((uint32_t)seen & ~POSIX_LOCK_STATE) + POSIX_LOCK_GENERATION) | POSIX_LOCK_HELD;
  return __atomic_compare_exchange_n(lock, &expected, (void *)(uintptr_t)next, 0,
                                     __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline int posix_lock_try(void **lock) {
  uintptr_t w = posix_lock_word(lock);
  return (w & POSIX_LOCK_HELD) == 0 && posix_lock_take(lock, w);
}

/* The free word to leave behind: the holder's generation, state 0.  Only the holder changes
   the generation, so the word read here is current apart from its state bits. */
static inline void *posix_lock_freed(void **lock) {
  return (void *)(posix_lock_word(lock) & ~(uintptr_t)POSIX_LOCK_STATE);
}

static inline void port_lock_acquire(void **lock) {
  if (!posix_lock_try(lock))
    acquire_lock(lock); /* taken: the hook spins, then sleeps */
}

/* Held with nobody asleep: back to free in one step.  If a waiter has marked the word, it may
   be asleep, and the hook wakes it. */
static inline void port_lock_release(void **lock) {
  uintptr_t held = posix_lock_word(lock);
  void *expected = (void *)held;
  if ((held & POSIX_LOCK_SLEEPERS) != 0 ||
      !__atomic_compare_exchange_n(lock, &expected, (void *)(held & ~(uintptr_t)POSIX_LOCK_STATE),
                                   0, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
    release_lock(lock);
}

static inline void port_lock_init(void **lock) {
  __atomic_store_n(lock, (void *)0, __ATOMIC_RELAXED);
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
#include <time.h>
#if POSIX_USE_FUTEX
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#else
#include <pthread.h>
#include <sched.h>
#endif

/* Wait for the hold we found to end, and take the lock if it is then free.  Gives up, and
   the caller sleeps, when the bound is reached, when the generation moves on (someone took
   it between two looks), when another waiter wins the race for it, and at once when
   someone already sleeps on it: the lock is contended, and a spinner would only take it
   from the thread that has the heap's cache lines.  Reading before trying lets waiters share
   the cache line instead of bouncing it. */
static inline int posix_lock_spin(void **lock) {
  uintptr_t found = posix_lock_word(lock), w;
  int i;
  for (i = 0; i < POSIX_LOCK_SPINS && (found & POSIX_LOCK_SLEEPERS) == 0; ++i) {
    posix_cpu_relax();
    w = posix_lock_word(lock);
    if (((w ^ found) & ~(uintptr_t)POSIX_LOCK_STATE) || (w & POSIX_LOCK_SLEEPERS))
      return 0;
    if ((w & POSIX_LOCK_HELD) == 0)
      return posix_lock_take(lock, w);
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

/* The lock was taken: spin, then mark it as having sleepers, so that its holder knows to
   wake someone, and sleep until the marking finds it free.  Marking is one fetch-or of both
   state bits, which cannot fail however fast the holder takes the lock again (a
   compare-and-swap would keep failing against the generation, and its retries would spin
   their way into the holder's gaps): on a free word it takes the lock, in the marked state,
   since we cannot know whether other sleepers remain, so the next release wakes one (at
   worst an unnecessary system call).  FUTEX_WAIT returns at once if the word no longer holds
   the value we marked, which closes the race between marking and going to sleep, so no wake-up
   is lost and the sleeps after the naps need no time limit; EINTR, spurious wake-ups and the
   end of a nap are fine, the loop marks again.  FUTEX_WAIT then fails with EAGAIN, EINTR or
   ETIMEDOUT, and free() must not pass that on to its caller: errno is restored. */
static POSIX_LOCK_COLD void posix_lock_wait(void **lock) {
  uintptr_t w;
  int naps = 0, saved_errno;
  if (posix_lock_spin(lock))
    return;
  saved_errno = errno;
  while ((w = __atomic_fetch_or((posix_lock_bits *)lock, POSIX_LOCK_STATE, __ATOMIC_ACQUIRE)) &
         POSIX_LOCK_HELD) {
    struct timespec nap = {0, 0};
    int napping = naps < POSIX_LOCK_NAPS;
    if (napping)
      nap.tv_nsec = (long)POSIX_LOCK_NAP_NS << naps++; /* below a second (#error above) */
    (void)syscall(SYS_futex, posix_futex_word(lock), FUTEX_WAIT_PRIVATE,
                  (int)(uint32_t)(w | POSIX_LOCK_STATE), napping ? &nap : NULL, NULL, 0);
  }
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
   about a millisecond so a long wait does not turn into a busy loop.  nanosleep is a
   cancellation point, and a lock wait must not be one: a thread cancelled there would end
   holding whatever other lock of the allocator it held (an arena's while it waits for the
   depot's), and every thread after it would wait for ever.  So cancellation is off while
   it waits, as in the futex path, whose raw system call is no cancellation point. */
static POSIX_LOCK_COLD void posix_lock_wait(void **lock) {
  unsigned round;
  int saved_errno, cancel_state;
  if (posix_lock_spin(lock))
    return;
  saved_errno = errno; /* nanosleep may fail with EINTR */
  (void)pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel_state);
  for (round = 0;; ++round) {
    if (round < 16) {
      (void)sched_yield();
    } else {
      unsigned shift = round - 16 < 10 ? round - 16 : 10;
      struct timespec ts = {0, (long)(1000u << shift)}; /* 1 us .. ~1 ms */
      (void)nanosleep(&ts, NULL);
    }
    if (posix_lock_try(lock))
      break;
  }
  (void)pthread_setcancelstate(cancel_state, &cancel_state);
  errno = saved_errno;
}

static void posix_lock_wake(void **lock) { (void)lock; } /* nobody sleeps on the word */

#endif /* POSIX_USE_FUTEX */

POSIX_LOCK_HOOK void acquire_lock(void **lock) {
  if (!posix_lock_try(lock))
    posix_lock_wait(lock);
}

POSIX_LOCK_HOOK void release_lock(void **lock) {
  void *old = __atomic_exchange_n(lock, posix_lock_freed(lock), __ATOMIC_RELEASE);
  if ((uintptr_t)old & POSIX_LOCK_SLEEPERS)
    posix_lock_wake(lock);
}

#endif /* POSIX_LOCK_DEFINE_HOOKS */
