/*
  posix_lock_counted.h -- ports/posix_lock.h, with a count of how often the lock passes from
  one thread to another.  test_posix_lock.c builds malloc.c with
  -DPORT_LOCK_HEADER='"tests/posix_lock_counted.h"': the heap then runs on the POSIX lock,
  and the test reads the counts.  Each thread sets posix_lock_test_thread to its own number.
*/
#ifndef TESTS_POSIX_LOCK_COUNTED_H
#define TESTS_POSIX_LOCK_COUNTED_H

#define port_lock_acquire posix_lock_acquire_uncounted
#include "ports/posix_lock.h"
#undef port_lock_acquire

extern __thread int posix_lock_test_thread;
extern unsigned long posix_lock_acquires, posix_lock_handoffs; /* guarded by the locks */
extern int posix_lock_last_holder;

static inline void port_lock_acquire(void **lock) {
  posix_lock_acquire_uncounted(lock);
  ++posix_lock_acquires;
  if (posix_lock_last_holder != posix_lock_test_thread) {
    posix_lock_last_holder = posix_lock_test_thread;
    ++posix_lock_handoffs;
  }
}

#endif /* TESTS_POSIX_LOCK_COUNTED_H */
