/*
  test_port.h -- the instrumented PORTABLE port used by the tests: on a POSIX host over mmap;
  on Windows, UEFI and bare metal (tests/matrix) in front of the platform's real port, whose
  memory it hands out and whose custom_abort it keeps (see test_port.c).

  test_port.c defines the eight hooks of malloc.h section 6 and watches how the allocator uses
  them:
  - every region handed out is kept in a small fixed table; custom_munmap must name exactly one
    of them (same pointer, same length).  Any breach of the port contract (unknown or partial
    unmap, zero or unaligned length, full table) is printed to stderr and abort()s at once;
  - maps, direct maps and unmaps are counted, with live regions and live bytes;
  - map calls can be made to fail (the Nth one from now, of one kind or of both counted
    together, or all while a switch is on), and
    custom_munmap can be made to answer -1;
  - lock slots record their owner thread; acquiring a lock already held by the same thread
    (re-entry), releasing one that the thread does not hold, or finalising a held lock are
    counted as lock errors (and printed), and the number of locks currently held is tracked;
    init_lock on a held lock resets it (that is what malloc_postfork_child does) and is
    counted separately; a test may have a function run after a thread's releases
    (tp_after_release);
  - custom_abort writes "custom_abort: <malloc_abort_reason()>\n" to stderr and calls _exit(86)
    (on a host; in front of a real port, that port's custom_abort runs).
  Nothing here calls malloc.
*/
#ifndef TESTS_TEST_PORT_H
#define TESTS_TEST_PORT_H

#include <stddef.h>

#define TP_ABORT_EXIT_CODE 86 /* the exit status of custom_abort */

struct tp_stats {
  size_t live_maps;         /* regions handed out and not yet given back */
  size_t live_bytes;        /* their total length */
  size_t maps;              /* successful custom_mmap calls */
  size_t direct_maps;       /* successful custom_direct_mmap calls */
  size_t unmaps;            /* successful custom_munmap calls */
  size_t map_calls;         /* custom_mmap calls, failed ones included */
  size_t direct_calls;      /* custom_direct_mmap calls, failed ones included */
  size_t injected_failures; /* map calls failed on purpose */
  size_t refused_unmaps;    /* custom_munmap calls answered -1 on purpose */
  size_t lock_inits;        /* init_lock calls */
  size_t lock_finals;       /* final_lock calls */
  size_t lock_resets;       /* init_lock calls on a held lock (malloc_postfork_child) */
  size_t acquires;          /* acquire_lock calls that took a lock */
  size_t releases;          /* release_lock calls that gave one back */
  long locks_held;          /* locks held right now, all threads together */
  size_t lock_errors;       /* re-entries, releases of locks not held, finals of held locks */
};

/* A snapshot of the counters. */
void tp_get_stats(struct tp_stats *out);
size_t tp_live_maps(void);
long tp_locks_held(void);
size_t tp_lock_errors(void);

/* Failure injection.  n = 1 makes the next call fail, n = 2 the one after, ...; 0 disarms.
   Each armed failure fires once. */
void tp_fail_mmap_nth(unsigned n);   /* custom_mmap only */
void tp_fail_direct_nth(unsigned n); /* custom_direct_mmap only */
void tp_fail_map_nth(unsigned n);    /* the Nth map call of either kind, counted together */
void tp_fail_maps_from(unsigned n); /* from the nth map call (custom_mmap or custom_direct_mmap)
                                        on, every map call fails (until cleared) */
void tp_fail_all_maps(int on);       /* custom_mmap and custom_direct_mmap fail while on */
void tp_fail_direct(int on);         /* custom_direct_mmap fails while on */
void tp_refuse_munmap(int on);       /* custom_munmap returns -1 while on */
/* The Nth map call of either kind from now returns an address whose region ends at the top of
   the address space (base + length wraps to 0), with no memory behind it: the core must give
   it back untouched (malloc.h section 6). */
void tp_map_at_top_nth(unsigned n);
void tp_clear_failures(void);        /* disarm everything above */
/* on: custom_abort ends the process with abort() (SIGABRT) instead of exit status 86, so that
   a fuzzer's crash handler keeps the input that led there. */
void tp_abort_by_signal(int on);

/* From now on custom_mmap, custom_direct_mmap and acquire_lock first sleep usec microseconds
   (0: no more), in every thread, as if the thread were preempted there: a step that checks
   something outside a lock and acts on it later, under a lock or after a map, then shows
   what another thread did in between.  Not under TP_WRAPS_PORT (one thread there). */
void tp_pause_hooks(unsigned usec);

/* fn (0: none) runs after each release_lock the calling thread makes from now on, once the
   lock is free, until cleared: a test stretches the moment between two of the allocator's
   releases (what other threads may do there) to as long as fn takes.  fn must not allocate. */
void tp_after_release(void (*fn)(void));

/* fn (0: none) sees each region custom_munmap is about to give back, until cleared: a test
   reads what the allocator leaves in memory that leaves it.  fn must not allocate. */
void tp_before_unmap(void (*fn)(const void *base, size_t length));

/* 1 if [p, p + n) lies inside one live region, else 0. */
int tp_is_mapped(const void *p, size_t n);

/* malloc_stats' output: tests/CMakeLists.txt builds malloc.c with MALLOC_STATS_WRITE(text,
   length) defined as tp_stats_write(text, length), which keeps the text (up to 1 KiB) for
   tp_stats_text until tp_stats_clear. */
void tp_stats_write(const char *text, size_t length);
const char *tp_stats_text(void);
void tp_stats_clear(void);

#endif /* TESTS_TEST_PORT_H */
