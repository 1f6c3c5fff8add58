/*
  ports/wasm32_lock.h -- the wasm32 port's lock, as inline functions (the shape of
  ports/posix_lock.h).  ports/wasm32.c's lock hooks call these; a core built with
      -DPORT_LOCK_HEADER='"ports/wasm32_lock.h"'
  calls them directly (malloc.c section 4), so that without threads a lock costs nothing at
  all instead of two calls per operation into empty hooks.
  Without -matomics (a wasm32-wasi program has no threads) the functions are empty.  With it
  and -mbulk-memory (wasm threads on a shared memory, __wasm_atomics__; clang needs both to
  keep atomic instructions, see below) the slot is a test-and-set flag: taken
  with an atomic exchange, waited on with plain loads.  It spins rather than sleeping with
  memory.atomic.wait32, which a browser's main thread may not call.
*/
#ifndef PORTS_WASM32_LOCK_H
#define PORTS_WASM32_LOCK_H

#include <stddef.h>

#ifndef WASM32_ATOMIC_LOCKS
#if defined(__wasm_atomics__)
#define WASM32_ATOMIC_LOCKS 1
#else
#define WASM32_ATOMIC_LOCKS 0
#endif
#endif /* WASM32_ATOMIC_LOCKS */
/* clang compiles an object with -matomics alone without a word of complaint, and without its
   atomic instructions: it strips them (and thread-locals) from an object that lacks either
   feature, so the lock below would lock nothing (an outside review: 0 atomic exchanges in
   malloc.o). */
#if WASM32_ATOMIC_LOCKS && !defined(__wasm_bulk_memory__)
#error "ports/wasm32_lock.h: -matomics needs -mbulk-memory as well (without it clang strips \
the atomic instructions and the lock locks nothing); the core also needs -ftls-model=local-exec"
#endif

static inline void port_lock_init(void **slot) { *slot = NULL; }
static inline void port_lock_final(void **slot) { (void)slot; }

#if WASM32_ATOMIC_LOCKS
static inline void port_lock_acquire(void **slot) {
  while (__atomic_exchange_n(slot, (void *)1, __ATOMIC_ACQUIRE) != NULL) {
    while (__atomic_load_n(slot, __ATOMIC_RELAXED) != NULL) {
    }
  }
}
static inline void port_lock_release(void **slot) { __atomic_store_n(slot, NULL, __ATOMIC_RELEASE); }
#else
static inline void port_lock_acquire(void **slot) { (void)slot; }
static inline void port_lock_release(void **slot) { (void)slot; }
#endif /* WASM32_ATOMIC_LOCKS */

#endif /* PORTS_WASM32_LOCK_H */
