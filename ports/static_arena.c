/*
  ports/static_arena.c -- the eight hooks for bare metal, RTOSes and anything without an MMU.

  Memory
    The application hands the port one block with dlmalloc_arena_init() (ports/static_arena.h).
    The port cuts it into regions of whole ARENA_PAGE_SIZE units and plays the part of mmap:
      - custom_mmap takes the first free range large enough (first fit) and cuts the region
        from its low end, so that successive segments tend to be adjacent and ascending,
        which lets the core extend its top segment instead of starting a new one;
      - custom_munmap puts the region back into an address-ordered list of free ranges and
        merges it with the free neighbours on either side, so the arena does not splinter;
      - custom_direct_mmap carves too (ARENA_DIRECT_MAPS=1, the default): a large block then
        goes back to the arena as soon as it is freed, for any heap to reuse, instead of
        staying inside a segment.  Build with ARENA_DIRECT_MAPS=0 to answer CUSTOM_MMAP_FAILURE and
        have the core serve large requests from its segments.
    The free list lives inside the free ranges themselves (each starts with a small header), so
    the port needs no memory of its own beyond a few static words.  Every request is rounded
    up to whole units, identically in map and unmap.  Freed regions are checked against the
    arena bounds and the free list; an invalid or overlapping release is refused with -1.
    The memory is not cleared: the core must keep MMAP_CLEARS=0 (the PORTABLE default).

  Locks (ARENA_LOCKS, chosen at build time)
    ARENA_LOCKS_NONE    no locking at all: for single-threaded programs that never allocate
                        from interrupt handlers.
    ARENA_LOCKS_IRQ     interrupts are masked while a lock is held: for single-core systems
                        where interrupt handlers or an RTOS scheduler (which needs interrupts
                        to preempt) are the only concurrency.  The interrupt state saved on
                        acquire is kept in the lock's slot and restored on release, so nested
                        locks and callers that already run with interrupts masked behave.
                        Cortex-M is built in (PRIMASK via mrs + cpsid/cpsie); other CPUs define
                        ARENA_IRQ_SAVE()/ARENA_IRQ_RESTORE(state) as macros, or provide
                        dlmalloc_arena_irq_save/dlmalloc_arena_irq_restore (static_arena.h).
                        Never allocate from an NMI or fault handler: they are not masked.
    ARENA_LOCKS_ATOMIC  a test-and-set spin lock with GCC/Clang atomics: for multi-core parts
                        and for testing this port on a host with real threads.
    Default: IRQ when compiling for an M-profile Arm, ATOMIC with GCC/Clang elsewhere.
    The port's own free list is protected with the same mechanism, because two heaps (the
    global one and an mspace, or two mspaces) may call custom_mmap at the same time.

  Abort
    The default custom_abort records malloc_abort_reason() in dlmalloc_arena_abort_reason,
    masks interrupts in IRQ mode, and spins forever: bare metal has no standard output, and a
    debugger attached to the halted target can read the reason.  It is a weak symbol with
    GCC/Clang on ELF targets, so an application simply defines its own custom_abort (printing
    on a UART, resetting the board...) to replace it; elsewhere build with
    ARENA_DEFAULT_ABORT=0 and provide one.
*/

/* ==== Options =============================================================================== */

#define ARENA_LOCKS_NONE 0
#define ARENA_LOCKS_IRQ 1
#define ARENA_LOCKS_ATOMIC 2

#if defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#define ARENA_CORTEX_M 1
#else
#define ARENA_CORTEX_M 0
#endif

#ifndef ARENA_LOCKS
#if ARENA_CORTEX_M
#define ARENA_LOCKS ARENA_LOCKS_IRQ
#elif defined(__GNUC__) || defined(__clang__)
#define ARENA_LOCKS ARENA_LOCKS_ATOMIC
#else
#error "choose ARENA_LOCKS: ARENA_LOCKS_NONE (0), ARENA_LOCKS_IRQ (1) or ARENA_LOCKS_ATOMIC (2)"
#endif
#endif /* ARENA_LOCKS */

/* The unit regions are measured in.  It must divide every length the core asks for (the core
   asks for multiples of its page size, 4096 unless configured otherwise), hence the limit;
   smaller units waste less of a small arena when lengths are rounded. */
#ifndef ARENA_PAGE_SIZE
#define ARENA_PAGE_SIZE 4096
#endif /* ARENA_PAGE_SIZE */

#ifndef ARENA_DIRECT_MAPS
#define ARENA_DIRECT_MAPS 1
#endif /* ARENA_DIRECT_MAPS */

#ifndef ARENA_DEFAULT_ABORT
#define ARENA_DEFAULT_ABORT 1
#endif /* ARENA_DEFAULT_ABORT */

#if ARENA_PAGE_SIZE < 64 || ARENA_PAGE_SIZE > 4096 || (ARENA_PAGE_SIZE & (ARENA_PAGE_SIZE - 1))
#error "ARENA_PAGE_SIZE must be a power of two between 64 and 4096"
#endif
#if ARENA_LOCKS != ARENA_LOCKS_NONE && ARENA_LOCKS != ARENA_LOCKS_IRQ && \
    ARENA_LOCKS != ARENA_LOCKS_ATOMIC
#error "ARENA_LOCKS must be ARENA_LOCKS_NONE, ARENA_LOCKS_IRQ or ARENA_LOCKS_ATOMIC"
#endif
#if ARENA_LOCKS == ARENA_LOCKS_ATOMIC && !defined(__GNUC__) && !defined(__clang__)
#error "ARENA_LOCKS_ATOMIC needs the GCC/Clang __atomic builtins"
#endif
#if defined(MMAP_CLEARS) && MMAP_CLEARS
#error "the static arena does not clear memory: build the core with MMAP_CLEARS=0"
#endif

#include "../malloc.h"
#include "static_arena.h"

#include <stddef.h>
#include <stdint.h>

/* ==== Critical sections ===================================================================== */

static inline void cpu_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
  __asm__ __volatile__("yield" ::: "memory");
#elif defined(__GNUC__) || defined(__clang__)
  __asm__ __volatile__("" ::: "memory");
#endif
}

#if ARENA_LOCKS == ARENA_LOCKS_IRQ
#if defined(ARENA_IRQ_SAVE) != defined(ARENA_IRQ_RESTORE)
#error "define both ARENA_IRQ_SAVE() and ARENA_IRQ_RESTORE(state), or neither"
#endif
#if !defined(ARENA_IRQ_SAVE) && ARENA_CORTEX_M
/* PRIMASK bit 0 set means interrupts are masked.  Re-enable on restore only if they were
   enabled before, so a caller that already masked them keeps them masked. */
static inline uintptr_t cortex_m_irq_save(void) {
  uint32_t primask;
  __asm__ __volatile__("mrs %0, primask" : "=r"(primask));
  __asm__ __volatile__("cpsid i" ::: "memory");
  return primask;
}
static inline void cortex_m_irq_restore(uintptr_t state) {
  if ((state & 1u) == 0)
    __asm__ __volatile__("cpsie i" ::: "memory");
}
#define ARENA_IRQ_SAVE() cortex_m_irq_save()
#define ARENA_IRQ_RESTORE(state) cortex_m_irq_restore(state)
#elif !defined(ARENA_IRQ_SAVE)
/* Some other CPU: the application supplies the two functions (see static_arena.h). */
#define ARENA_IRQ_SAVE() dlmalloc_arena_irq_save()
#define ARENA_IRQ_RESTORE(state) dlmalloc_arena_irq_restore(state)
#endif
#endif /* ARENA_LOCKS_IRQ */

/* Take and give back a lock slot.  The slot's value while held records what release needs:
   nothing in NONE and ATOMIC modes (it is just 1), the saved interrupt state in IRQ mode
   (state << 1 | 1, so a held slot is never zero). */
static void slot_acquire(void **slot) {
#if ARENA_LOCKS == ARENA_LOCKS_NONE
  (void)slot;
#elif ARENA_LOCKS == ARENA_LOCKS_IRQ
  uintptr_t state = ARENA_IRQ_SAVE();
  /* With interrupts masked on a single core nobody else can be inside: a plain store is
     enough. */
  *slot = (void *)((state << 1) | 1u);
#else /* ARENA_LOCKS_ATOMIC */
  for (;;) {
    void *expected = NULL;
    if (__atomic_compare_exchange_n(slot, &expected, (void *)(uintptr_t)1, 0, __ATOMIC_ACQUIRE,
                                    __ATOMIC_RELAXED))
      return;
    while (__atomic_load_n(slot, __ATOMIC_RELAXED) != NULL) /* read-only wait: no bouncing */
      cpu_pause();
  }
#endif
}

static void slot_release(void **slot) {
#if ARENA_LOCKS == ARENA_LOCKS_NONE
  (void)slot;
#elif ARENA_LOCKS == ARENA_LOCKS_IRQ
  uintptr_t state = (uintptr_t)*slot >> 1;
  *slot = NULL;
  ARENA_IRQ_RESTORE(state);
#else /* ARENA_LOCKS_ATOMIC */
  __atomic_store_n(slot, NULL, __ATOMIC_RELEASE);
#endif
}

/* ==== The arena ============================================================================= */

/* Header at the start of every free range; ranges are whole units, so one always fits. */
struct arena_range {
  struct arena_range *next; /* next free range, at a higher address */
  size_t size;              /* bytes in this range, a multiple of ARENA_PAGE_SIZE */
};

static uintptr_t arena_begin, arena_end;  /* the usable, unit-aligned arena */
static struct arena_range *arena_free;    /* free ranges in ascending address order */
static size_t arena_free_bytes;
static void *arena_lock;                  /* guards the four variables above */

/* Round a length up to whole units; 0 when it is 0 or would wrap. */
static size_t units_of(size_t length) {
  if (length == 0 || length > SIZE_MAX - (ARENA_PAGE_SIZE - 1))
    return 0;
  return (length + (ARENA_PAGE_SIZE - 1)) & ~(size_t)(ARENA_PAGE_SIZE - 1);
}

size_t dlmalloc_arena_init(void *base, size_t size) {
  uintptr_t lo = (uintptr_t)base, hi;
  size_t usable = 0;

  /* Clip instead of wrapping when the block reaches the top of the address space. */
  hi = size > UINTPTR_MAX - lo ? UINTPTR_MAX : lo + size;
  lo = (lo + (ARENA_PAGE_SIZE - 1)) & ~(uintptr_t)(ARENA_PAGE_SIZE - 1);
  hi &= ~(uintptr_t)(ARENA_PAGE_SIZE - 1);

  slot_acquire(&arena_lock);
  arena_free = NULL;
  arena_begin = arena_end = 0;
  if (base != NULL && lo != 0 && hi > lo) {
    arena_begin = lo;
    arena_end = hi;
    usable = (size_t)(hi - lo);
    arena_free = (struct arena_range *)lo;
    arena_free->next = NULL;
    arena_free->size = usable;
  }
  arena_free_bytes = usable;
  slot_release(&arena_lock);
  return usable;
}

size_t dlmalloc_arena_available(void) {
  size_t n;
  slot_acquire(&arena_lock);
  n = arena_free_bytes;
  slot_release(&arena_lock);
  return n;
}

/* First fit, cut from the low end of the range found. */
static void *arena_take(size_t length) {
  size_t need = units_of(length);
  struct arena_range **link;
  void *result = CUSTOM_MMAP_FAILURE;

  if (need == 0)
    return CUSTOM_MMAP_FAILURE;
  slot_acquire(&arena_lock);
  for (link = &arena_free; *link != NULL; link = &(*link)->next) {
    struct arena_range *r = *link;
    if (r->size >= need) {
      struct arena_range *next = r->next;
      size_t size = r->size;
      if (size == need) {
        *link = next;
      } else {
        struct arena_range *rest = (struct arena_range *)((char *)r + need);
        rest->next = next;
        rest->size = size - need;
        *link = rest;
      }
      arena_free_bytes -= need;
      result = r;
      break;
    }
  }
  slot_release(&arena_lock);
  return result;
}

/* Return a region to the free list, merging it with adjacent free ranges. */
static int arena_give(void *ptr, size_t length) {
  size_t need = units_of(length);
  uintptr_t p = (uintptr_t)ptr;
  struct arena_range **link, *prev = NULL, *next, *node;
  int status = -1;

  /* Anything not inside the arena, or not on a unit boundary, did not come from us. */
  if (need == 0 || (p & (ARENA_PAGE_SIZE - 1)) != 0 || p < arena_begin || p >= arena_end ||
      need > arena_end - p)
    return -1;

  slot_acquire(&arena_lock);
  for (link = &arena_free; *link != NULL && (uintptr_t)*link < p; link = &(*link)->next)
    prev = *link;
  next = *link;
  /* Overlap with a free neighbour means this region (or part of it) is already free. */
  if ((prev == NULL || (uintptr_t)prev + prev->size <= p) &&
      (next == NULL || p + need <= (uintptr_t)next)) {
    node = (struct arena_range *)ptr;
    node->size = need;
    node->next = next;
    if (next != NULL && p + need == (uintptr_t)next) {
      node->size += next->size;
      node->next = next->next;
    }
    if (prev != NULL && (uintptr_t)prev + prev->size == p) {
      prev->size += node->size;
      prev->next = node->next;
    } else {
      *link = node;
    }
    arena_free_bytes += need;
    status = 0;
  }
  slot_release(&arena_lock);
  return status;
}

/* ==== Hooks ================================================================================= */

void *custom_mmap(size_t length) { return arena_take(length); }

void *custom_direct_mmap(size_t length) {
#if ARENA_DIRECT_MAPS
  return arena_take(length);
#else
  (void)length;
  return CUSTOM_MMAP_FAILURE;
#endif
}

int custom_munmap(void *ptr, size_t length) { return arena_give(ptr, length); }

void init_lock(void **lock) { *lock = NULL; }

/* A lock is only its slot: nothing to free. */
void final_lock(void **lock) { (void)lock; }

void acquire_lock(void **lock) { slot_acquire(lock); }

void release_lock(void **lock) { slot_release(lock); }

const char *volatile dlmalloc_arena_abort_reason;

#if ARENA_DEFAULT_ABORT
#if (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32) && !defined(__CYGWIN__)
__attribute__((weak))
#endif
void custom_abort(void) {
  dlmalloc_arena_abort_reason = malloc_abort_reason();
#if ARENA_LOCKS == ARENA_LOCKS_IRQ
  /* Keep interrupt handlers from running on (and with) a heap known to be damaged. */
  (void)ARENA_IRQ_SAVE();
#endif
  for (;;)
    cpu_pause();
}
#endif /* ARENA_DEFAULT_ABORT */
