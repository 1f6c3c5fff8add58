/*
  thread_cache_exit.c -- on Windows, a thread's cache goes back to the heap when the thread
  ends, with nobody calling malloc_thread_exit(): malloc.c's own Win32 layer registers a
  fiber-local-storage callback (MALLOC_THREAD_CACHE_EXIT) the first time a thread caches a
  block, and Windows runs it as the thread exits.

  Each worker thread allocates blocks between blocks it keeps, frees them (so they are cached:
  mallinfo's smblks, the caller's cache, counts them), and returns.  After it has ended, the
  heap must hold no more in use than before it started, except what the worker kept on
  purpose.  Built against the hosted core (no PORTABLE) with MALLOC_THREAD_CACHE=1, on the
  test harness (tests/harness.c).
*/
#include "malloc.h"

#include "heaps.h" /* BOOKKEEPING_SLACK; with it harness.h: CHECK_*, th_finish */

#include <windows.h>

#define BLOCKS 64
#define SIZE 100
#define WORKERS 4

struct worker {
  void *kept[BLOCKS + 1]; /* the blocks around the freed ones, freed by the main thread */
  size_t cached;          /* smblks the worker saw after its frees */
};

static DWORD WINAPI work(void *arg) {
  struct worker *w = (struct worker *)arg;
  void *freed[BLOCKS];
  int i;
  w->kept[0] = dlmalloc(SIZE);
  for (i = 0; i < BLOCKS; i++) { /* each freed block between two kept ones: cached, not merged */
    freed[i] = dlmalloc(SIZE);
    w->kept[i + 1] = dlmalloc(SIZE);
  }
  for (i = 0; i < BLOCKS; i++)
    dlfree(freed[i]);
  w->cached = (size_t)dlmallinfo().smblks;
  return 0;
}

int main(void) {
  static struct worker workers[WORKERS];
  size_t before, after, kept = 0;
  int t, i;
  dlmalloc_trim(0);
  before = (size_t)dlmallinfo().uordblks;
  for (t = 0; t < WORKERS; t++) {
    HANDLE h = CreateThread(NULL, 0, work, &workers[t], 0, NULL);
    if (!CHECK(h != NULL))
      return th_finish();
    WaitForSingleObject(h, INFINITE);
    CloseHandle(h);
    /* The thread cached blocks, and gave them back when it ended. */
    CHECK_GE(workers[t].cached, BLOCKS / 4);
    for (i = 0; i <= BLOCKS; i++)
      kept += dlmalloc_usable_size(workers[t].kept[i]) + sizeof(size_t); /* the chunk */
    after = (size_t)dlmallinfo().uordblks;
    CHECK_LE(after, before + kept + BOOKKEEPING_SLACK); /* only the kept blocks in use */
  }
  for (t = 0; t < WORKERS; t++)
    for (i = 0; i <= BLOCKS; i++)
      dlfree(workers[t].kept[i]);
  after = (size_t)dlmallinfo().uordblks;
  CHECK_LE(after, before + BOOKKEEPING_SLACK);
  th_note_u("thread_cache_exit: workers", WORKERS);
  return th_finish();
}
