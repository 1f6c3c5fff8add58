/*
  test_threads.c -- several threads share the global heap and one locked mspace (hosted only,
  POSIX threads; configurations with USE_LOCKS != 0).

  Each thread allocates, reallocates and frees blocks of its own and also swaps blocks with
  the other threads through a row of mailboxes, so blocks are often freed by a thread other
  than the one that allocated them.  Every block starts with a small header (size, id, which
  heap) and is patterned after it; the pattern is checked before every free and realloc.
  While they run, the main thread forks a few times (with malloc_prefork/postfork registered
  through pthread_atfork): each child must be able to allocate and free on both heaps.
  With the instrumented port (TEST_WITH_PORT) the lock counters are checked at the end.

  Usage: test_threads [scale]   (or DLMALLOC_TEST_SCALE; 100 is the default)
*/
#define _DEFAULT_SOURCE 1
#include "malloc.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#ifdef TEST_WITH_PORT
#include "test_port.h"
#endif

#define THREADS 4
#define OWN 256
#define MAILBOXES 64
#define OPS_PER_SCALE 2000u
#define FORKS 6

struct head {
  size_t size; /* bytes after the header */
  uint32_t id;
  uint32_t in_mspace;
};

#if MSPACES
static mspace shared;
#endif
static void *volatile mailbox[MAILBOXES];
static unsigned long ops_per_thread;

struct worker {
  pthread_t thread;
  uint64_t rng;
  uint32_t next_id;
  unsigned long bad_pattern, nulls;
  struct head *own[OWN];
};

static uint64_t next_rand(struct worker *w) { /* xorshift64 */
  uint64_t x = w->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return w->rng = x;
}

static unsigned char pat(size_t i, uint32_t id) {
  return (unsigned char)((id * 0x9E3779B1u + (uint32_t)i * 0x2C1B3C6Du) >> 24);
}

static void stamp(struct head *h) {
  unsigned char *b = (unsigned char *)(h + 1);
  size_t i;
  for (i = 0; i < h->size; i++)
    b[i] = pat(i, h->id);
}

static int intact(const struct head *h) {
  const unsigned char *b = (const unsigned char *)(h + 1);
  size_t i;
  for (i = 0; i < h->size; i++)
    if (b[i] != pat(i, h->id))
      return 0;
  return 1;
}

static struct head *make(struct worker *w) {
  size_t n = (size_t)(next_rand(w) % 2000);
  int in_mspace = 0;
  struct head *h;
  if (next_rand(w) % 200 == 0)
    n = 300 * 1024; /* directly mapped now and then */
#if MSPACES && !ONLY_MSPACES
  in_mspace = (int)(next_rand(w) & 1);
#elif ONLY_MSPACES
  in_mspace = 1;
#endif
#if MSPACES
  if (in_mspace)
    h = (struct head *)mspace_malloc(shared, sizeof *h + n);
  else
#endif
#if !ONLY_MSPACES
    h = (struct head *)dlmalloc(sizeof *h + n);
#else
    h = NULL;
#endif
  if (h == NULL) {
    w->nulls++;
    return NULL;
  }
  h->size = n;
  h->id = w->next_id++;
  h->in_mspace = (uint32_t)in_mspace;
  stamp(h);
  return h;
}

static void drop(struct worker *w, struct head *h) {
  if (!intact(h))
    w->bad_pattern++;
#if MSPACES
  if (h->in_mspace) {
    mspace_free(shared, h);
    return;
  }
#endif
#if !ONLY_MSPACES
  dlfree(h);
#endif
}

static struct head *grow(struct worker *w, struct head *h) {
  size_t n = (size_t)(next_rand(w) % 3000);
  size_t keep = n < h->size ? n : h->size;
  struct head *q;
  uint32_t id = h->id;
  if (!intact(h))
    w->bad_pattern++;
#if MSPACES
  if (h->in_mspace)
    q = (struct head *)mspace_realloc(shared, h, sizeof *h + n);
  else
#endif
#if !ONLY_MSPACES
    q = (struct head *)dlrealloc(h, sizeof *h + n);
#else
    q = NULL;
#endif
  if (q == NULL) {
    w->nulls++;
    return h;
  }
  {
    const unsigned char *b = (const unsigned char *)(q + 1);
    size_t i;
    for (i = 0; i < keep; i++)
      if (b[i] != pat(i, id)) {
        w->bad_pattern++;
        break;
      }
  }
  q->size = n;
  q->id = w->next_id++;
  stamp(q);
  return q;
}

static void *work(void *arg) {
  struct worker *w = (struct worker *)arg;
  unsigned long op;
  size_t i;
  for (op = 0; op < ops_per_thread; op++) {
    struct head **slot = &w->own[next_rand(w) % OWN];
    unsigned r = (unsigned)(next_rand(w) % 100);
    if (*slot == NULL) {
      *slot = make(w);
    } else if (r < 40) {
      drop(w, *slot);
      *slot = NULL;
    } else if (r < 70) {
      *slot = grow(w, *slot);
    } else {
      /* Swap with a mailbox: whatever was there becomes ours (maybe another thread's). */
      void *theirs = __atomic_exchange_n(&mailbox[next_rand(w) % MAILBOXES], (void *)*slot,
                                         __ATOMIC_ACQ_REL);
      *slot = (struct head *)theirs;
    }
  }
  for (i = 0; i < OWN; i++)
    if (w->own[i] != NULL)
      drop(w, w->own[i]);
  return NULL;
}

/* In the child of fork(): the heaps must be usable although other threads held their locks
   a moment ago.  Returns the child's exit status. */
static int child_work(void) {
  int ok = 1;
  void *p;
#if !ONLY_MSPACES
  p = dlmalloc(1000);
  ok &= p != NULL;
  if (p != NULL)
    memset(p, 1, 1000);
  dlfree(p);
  p = dlmalloc(1 << 20);
  ok &= p != NULL;
  dlfree(p);
#endif
#if MSPACES
  p = mspace_malloc(shared, 3000);
  ok &= p != NULL;
  if (p != NULL)
    memset(p, 2, 3000);
  mspace_free(shared, p);
#endif
  return ok ? 0 : 3;
}

/* Fork while the workers run; every child must exit 0. */
static void fork_while_busy(void) {
  int i;
  for (i = 0; i < FORKS; i++) {
    int status = -1;
    pid_t pid = fork();
    if (pid == 0)
      _exit(child_work());
    if (!CHECK(pid > 0))
      return;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
}

int main(int argc, char **argv) {
  static struct worker workers[THREADS];
  const char *text = argc > 1 ? argv[1] : getenv("DLMALLOC_TEST_SCALE");
  unsigned long scale = text != NULL && *text != '\0' ? strtoul(text, NULL, 0) : 100;
  unsigned long bad = 0, nulls = 0;
  int i, started = 0;
  ops_per_thread = (scale == 0 ? 1 : scale) * OPS_PER_SCALE;
  th_note_u("threads", THREADS);
  th_note_u("operations per thread", ops_per_thread);
#if MSPACES
  shared = create_mspace(0, 1);
  if (!CHECK(shared != NULL))
    return th_finish();
#endif
  for (i = 0; i < THREADS; i++) {
    workers[i].rng = 0x9E3779B97F4A7C15ull * (uint64_t)(i + 1);
    workers[i].next_id = (uint32_t)i << 24;
    if (CHECK_EQ(pthread_create(&workers[i].thread, NULL, work, &workers[i]), 0))
      started++;
  }
  CHECK_EQ(pthread_atfork(dlmalloc_prefork, dlmalloc_postfork_parent, dlmalloc_postfork_child),
           0);
  th_section("fork");
  fork_while_busy();
  for (i = 0; i < started; i++) {
    pthread_join(workers[i].thread, NULL);
    bad += workers[i].bad_pattern;
    nulls += workers[i].nulls;
  }
  CHECK_EQ(started, THREADS);
  for (i = 0; i < MAILBOXES; i++) /* blocks left in the mailboxes */
    if (mailbox[i] != NULL) {
      struct worker tail;
      memset(&tail, 0, sizeof tail);
      drop(&tail, (struct head *)mailbox[i]);
      bad += tail.bad_pattern;
    }
  th_section("results");
  CHECK_EQ(bad, 0);
  CHECK_EQ(nulls, 0);
#if MSPACES
  CHECK_GT(destroy_mspace(shared), 0);
#endif
#ifdef TEST_WITH_PORT
  {
    struct tp_stats s;
    tp_get_stats(&s);
    CHECK_EQ(s.locks_held, 0);
    CHECK_EQ(s.lock_errors, 0);
    CHECK_EQ(s.acquires, s.releases + s.lock_resets);
    CHECK_GT(s.acquires, (size_t)THREADS * ops_per_thread / 2);
  }
#endif
  return th_finish();
}
