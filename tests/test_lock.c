/*
  test_lock.c -- lock discipline of every API function.

  Built with the instrumented port (test_port.c) in configurations with USE_LOCKS != 0.  After
  each call: no lock may be held, the port must have seen no re-entry, no release of a lock not
  held and no finalisation of a held lock, and acquires must equal releases.  Calls that work
  on a locked heap must have taken its lock at least once; calls on an mspace created unlocked
  must not take any lock, except around mapping or unmapping memory (where other threads may
  be reading its lists of regions, malloc.c section 4).  Failure paths (out of memory, refused
  unmaps) are included.
*/
#include "malloc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "heaps.h"
#include "test_port.h"


static struct tp_stats before;

static void start(const char *what) {
  th_section(what);
  tp_get_stats(&before);
}

/* expect_lock: 1 = must have locked, 0 = must not have locked, -1 = either. */
static void done(int expect_lock) {
  struct tp_stats s;
  tp_get_stats(&s);
  CHECK_EQ(s.locks_held, 0);
  CHECK_EQ(s.lock_errors, 0);
  CHECK_EQ(s.acquires, s.releases + s.lock_resets); /* postfork_child resets held locks */
  if (expect_lock == 1)
    CHECK_GT(s.acquires, before.acquires);
  else if (expect_lock == 0)
    CHECK_EQ(s.acquires, before.acquires);
}

/* Run the statement between a snapshot and the checks. */
#define CALL(what, expect, ...) \
  do {                          \
    start(what);                \
    __VA_ARGS__;                \
    done(expect);               \
  } while (0)

/* The calls every heap has.  lock: 1 for a locked heap, 0 for an mspace made unlocked. */
static void heap_calls(const struct heap *h, int lock) {
  void *p = NULL, *q = NULL, *big = NULL;
  void **arr = NULL;
  void *given[3];
  size_t sizes[2] = {100, 2000};
  size_t n = 0;
  /* An unlocked mspace takes no lock of its own; with FOOTERS, calls that are handed a block
     still take the allocator's internal lock of the mspace list to check the block's owner. */
  int exp = lock ? 1 : 0;
  /* Calls that map or unmap memory: an unlocked mspace takes its lock around that. */
  int exp_sys = lock ? 1 : -1;
#if FOOTERS
  int exp_block = lock ? 1 : -1;
#else
  int exp_block = exp;
#endif
  /* With the per-thread cache, the global heap may serve a small block and take it back
     without its lock (test_tcache.c checks when the lock is taken). */
#if MALLOC_THREAD_CACHE
  int exp_small = h->is_mspace ? exp : -1;
#else
  int exp_small = exp;
#endif
  th_write("-- ");
  th_write(h->name);
  th_write(lock ? " (locked)\n" : " (unlocked)\n");
  CALL("malloc", exp_small, p = h->malloc(100));
  CALL("malloc (direct map)", exp_sys, big = h->malloc(2 * MB));
  CALL("realloc", exp_block, p = h->realloc(p, 5000));
  CALL("realloc_in_place", exp_block, q = h->realloc_in_place(p, 3000));
  CHECK(q == p);
  CALL("realloc (direct map)", exp_sys, big = h->realloc(big, 3 * MB));
  CALL("free", exp_block, h->free(p));
  CALL("free (direct map)", exp_sys, h->free(big));
  CALL("free(NULL)", -1, h->free(NULL));
  CALL("calloc", exp_small, p = h->calloc(10, 10));
  CALL("memalign", exp, q = h->memalign(4096, 100));
  CALL("usable_size", -1, (void)h->usable_size(q));
  CALL("independent_calloc", exp, arr = h->independent_calloc(3, 50, given));
  CHECK(arr == given);
  CALL("bulk_free", exp_block, (void)h->bulk_free(given, 3));
  CALL("independent_comalloc", exp, arr = h->independent_comalloc(2, sizes, NULL));
  if (CHECK(arr != NULL)) {
    h->free(arr[0]);
    h->free(arr[1]);
    h->free(arr);
  }
  CALL("trim", exp_sys, (void)h->trim(0));
#if NO_MALLOC_STATS
  CALL("stats", 0, h->stats()); /* nothing to print, so no lock to take */
#else
  CALL("stats", exp, h->stats());
#endif
  CALL("footprint", -1, (void)h->footprint());
  CALL("max_footprint", -1, (void)h->max_footprint());
  CALL("footprint_limit", -1, (void)h->footprint_limit());
  CALL("set_footprint_limit", -1, (void)h->set_footprint_limit(SIZE_MAX));
  CALL("mallopt", -1, (void)h->mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024));
  CALL("malloc_abort_reason", -1, (void)malloc_abort_reason());
#if !NO_MALLINFO
  CALL("mallinfo", exp, (void)h->mallinfo());
#endif
#if MALLOC_INSPECT_ALL
  CALL("inspect_all", exp, h->inspect_all(count_inspected, &n));
  CHECK_GT(n, 0);
#else
  (void)n;
#endif
  h->free(p);
  h->free(q);

  /* Failure paths must let go of the lock too. */
  tp_fail_all_maps(1);
  CALL("malloc, out of memory", exp_sys, p = h->malloc(64 * MB));
  CHECK(p == NULL);
  CALL("calloc, out of memory", exp_sys, p = h->calloc(64, MB));
  CHECK(p == NULL);
  CALL("memalign, out of memory", exp_sys, p = h->memalign(65536, 64 * MB));
  CHECK(p == NULL);
  q = h->malloc(10); /* fits in memory the heap already has */
  CHECK(q != NULL);
  CALL("realloc, out of memory", exp_sys, p = h->realloc(q, 64 * MB));
  CHECK(p == NULL);
  CALL("independent_calloc, out of memory", exp_sys,
       arr = h->independent_calloc(4, 32 * MB, NULL));
  CHECK(arr == NULL);
  tp_clear_failures();
  h->free(q);
  CALL("malloc, size overflow", -1, (void)h->malloc(SIZE_MAX));
  CALL("calloc, n * size overflow", -1, (void)h->calloc(SIZE_MAX / 2, 3));
}

#if !ONLY_MSPACES
static void global_calls(void) {
  void *p = NULL;
  int rc;
  heap_calls(&heap_global, 1);
  th_write("-- global heap only\n");
  CALL("posix_memalign", 1, rc = dlposix_memalign(&p, 64, 100));
  CHECK_EQ(rc, 0);
  dlfree(p);
  CALL("posix_memalign, bad alignment", -1, (void)dlposix_memalign(&p, 3, 100));
  CALL("valloc", 1, p = dlvalloc(100));
  dlfree(p);
  CALL("pvalloc", 1, p = dlpvalloc(100));
  dlfree(p);
  p = dlmalloc(100);
  tp_refuse_munmap(1);
  CALL("malloc_teardown, munmap refused", 1, (void)dlmalloc_teardown());
  tp_refuse_munmap(0);
  CALL("malloc_teardown", 1, (void)dlmalloc_teardown());
  CALL("malloc after teardown", 1, p = dlmalloc(100));
  dlfree(p);
}
#endif

#if MSPACES
static unsigned char base_buffer[64 * 1024];

static void mspace_calls(void) {
  mspace m = NULL;
  int prev = 0;
  struct tp_stats s;

  CALL("create_mspace(locked)", -1, m = create_mspace(0, 1));
  tp_get_stats(&s);
  CHECK_GT(s.lock_inits, before.lock_inits); /* its lock was initialised */
  if (!CHECK(m != NULL))
    return;
  CALL("mspace_track_large_chunks", 1, prev = mspace_track_large_chunks(m, 1));
  CHECK_EQ(prev, 0);
  heap_calls(heap_of_mspace(m), 1);
  CALL("destroy_mspace(locked)", -1, (void)destroy_mspace(m));
  tp_get_stats(&s);
  CHECK_GT(s.lock_finals, before.lock_finals); /* and finalised */

  m = create_mspace(0, 0);
  if (!CHECK(m != NULL))
    return;
  heap_calls(heap_of_mspace(m), 0);
  /* destroy_mspace takes the allocator's internal lock of the mspace list */
  CALL("destroy_mspace(unlocked)", -1, (void)destroy_mspace(m));

  CALL("create_mspace_with_base", -1,
       m = create_mspace_with_base(base_buffer, sizeof base_buffer, 1));
  if (!CHECK(m != NULL))
    return;
  {
    void *p = NULL;
    CALL("mspace_malloc, with base", 1, p = mspace_malloc(m, 100));
    CALL("mspace_free, with base", 1, mspace_free(m, p));
  }
  CALL("destroy_mspace, with base", -1, (void)destroy_mspace(m));

  tp_fail_all_maps(1);
  CALL("create_mspace, out of memory", -1, m = create_mspace(0, 1));
  CHECK(m == NULL);
  tp_clear_failures();
}
#endif

static void fork_calls(void) {
  struct tp_stats s;
#if MSPACES
  mspace locked = create_mspace(0, 1), unlocked = create_mspace(0, 0);
  CHECK(locked != NULL && unlocked != NULL);
#endif
  th_section("malloc_prefork");
  tp_get_stats(&before);
  dlmalloc_prefork();
  tp_get_stats(&s);
  {
    /* Every allocator lock is held now, and no other: the internal global lock, the global
       heap's, the mspace list's and both mspaces' (the unlocked one's guards its lists of
       regions), and with the thread cache its depot's. */
    long every_lock = 1;
#if !ONLY_MSPACES
    every_lock += 1;
#endif
#if MSPACES
    every_lock += 3;
#endif
#if MALLOC_THREAD_CACHE && !ONLY_MSPACES
    every_lock += 1; /* the thread caches' depot */
#endif
    CHECK_EQ(s.locks_held, every_lock);
  }
  CHECK_EQ(s.lock_errors, 0);
  start("malloc_postfork_parent");
  dlmalloc_postfork_parent();
  done(-1);
  tp_get_stats(&before);
  th_section("malloc_postfork_child");
  dlmalloc_prefork();
  dlmalloc_postfork_child();
  tp_get_stats(&s);
  CHECK_EQ(s.locks_held, 0);
  CHECK_EQ(s.lock_errors, 0);
  CHECK_GT(s.lock_resets, before.lock_resets);
#if !ONLY_MSPACES
  {
    void *p = NULL;
    CALL("malloc after postfork_child", MALLOC_THREAD_CACHE ? -1 : 1, p = dlmalloc(50));
    CALL("free after postfork_child", MALLOC_THREAD_CACHE ? -1 : 1, dlfree(p));
  }
#endif
#if MSPACES
  {
    void *p = NULL;
    CALL("mspace_malloc after postfork_child", 1, p = mspace_malloc(locked, 50));
    CALL("mspace_free after postfork_child", 1, mspace_free(locked, p));
  }
  destroy_mspace(locked);
  destroy_mspace(unlocked);
#endif
}

int main(void) {
#if !ONLY_MSPACES
  global_calls();
#endif
#if MSPACES
  mspace_calls();
#endif
  fork_calls();
  th_section("end");
  CHECK_EQ(tp_locks_held(), 0);
  CHECK_EQ(tp_lock_errors(), 0);
  return th_finish();
}
