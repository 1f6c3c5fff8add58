/*
  threads_fork.c -- threads that free each other's blocks, and fork() while they allocate.

  usage: threads_fork [threads [forks [seed]]]      (defaults 8, 30, 12345)

  Run under libdlmalloc.so (preloaded or linked; the program checks which allocator it got and
  fails if it is not ours).  What it does:
    - worker threads allocate (malloc, calloc, posix_memalign, aligned_alloc, realloc) blocks
      of 32 bytes to 1 MiB, fill each with a pattern derived from its serial number, and hand
      a share of them to a queue from which other workers take, check and free them: frees
      from a thread other than the allocating one, on every heap path (bins, tree bins,
      directly mapped chunks);
    - meanwhile the main thread and worker 0 call fork().  Each child -- a copy of a process
      whose other threads were inside malloc a moment ago -- allocates and frees on its own,
      starts threads of its own that do the same, trims the heap and exits.  A child that
      does not finish within CHILD_TIMEOUT_SECONDS is reported as a deadlock and killed, so a
      lock left held across fork() fails the test instead of hanging it;
    - at the end every block still queued is checked and freed, and after malloc_trim (which
      empties the caches) the heap's in-use bytes must be back to (near) where they started.
  Every block is checked before it is freed; a damaged pattern, a failed allocation, a child
  that crashed or hung, or the wrong allocator is a failure (exit status 1).
*/
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "in_libdlmalloc.h"

#define CHILD_TIMEOUT_SECONDS 20
#define LOCAL_SLOTS 64
#define QUEUE_SLOTS 1024
#define MAGIC 0x6d6c6c63u

/* ---- reporting: write(2) only, so that a child never needs a stdio lock that a thread of
   its parent held at the moment of fork() ---- */
static volatile int failed;

static void say(const char *a, const char *b, long n) {
  char buf[256];
  int len = snprintf(buf, sizeof(buf), "threads_fork[%d]: %s%s%ld\n", (int)getpid(), a, b, n);
  if (len > 0)
    (void)!write(2, buf, (size_t)len < sizeof(buf) ? (size_t)len : sizeof(buf) - 1);
}

static void fail(const char *what, long n) {
  failed = 1;
  say("FAILED: ", what, n);
}

/* ---- deterministic randomness (xorshift64*) ---- */
static uint64_t next_random(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545F4914F6CDD1DULL;
}

/* Mostly small blocks, some tree-bin sizes, a few directly mapped ones (at or above the
   256 KiB mmap threshold).  Those are rare on purpose: each is a fresh mapping whose pages
   fault in as they are filled, which in a virtual machine costs far more than the
   allocator's own work. */
static size_t random_size(uint64_t *s) {
  uint64_t r = next_random(s) % 1000;
  if (r < 700)
    return 32 + next_random(s) % 480;
  if (r < 960)
    return 512 + next_random(s) % 16000;
  if (r < 998)
    return 16384 + next_random(s) % 245760;
  return 262144 + next_random(s) % 786432;
}

/* ---- blocks that can be checked ---- */
struct block {
  uint64_t serial;
  uint64_t size; /* bytes including this header (64 bits, so the header is 24 bytes on ILP32) */
  uint32_t magic;
  uint32_t owner;
};
typedef char block_header_keeps_words_aligned[(sizeof(struct block) % 8 == 0) ? 1 : -1];

static uint64_t pattern(uint64_t serial, size_t i) {
  return (serial * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)i * 0x100000001B3ULL);
}

/* The payload is checked in 64-bit words (it starts 8-byte aligned, after the header): every
   word of a payload up to 8 KiB; of a larger one the first and last 32 words and one word per
   4 KiB (filling 2 MiB blocks in full would make the test about memset).  Returns the word
   index after i, n when done. */
static size_t next_sampled(size_t i, size_t n) {
  size_t next;
  if (n <= 1024 || i + 1 < 32 || i + 1 + 32 >= n)
    return i + 1;
  next = (i + 512) & ~(size_t)511;
  return next + 32 >= n ? n - 32 : next;
}

static void fill(struct block *b, uint64_t serial, size_t size, unsigned owner) {
  uint64_t *d = (uint64_t *)(b + 1);
  size_t i, n = (size - sizeof(*b)) / sizeof(uint64_t);
  b->serial = serial;
  b->size = size;
  b->magic = MAGIC;
  b->owner = owner;
  for (i = 0; i < n; i = next_sampled(i, n))
    d[i] = pattern(serial, i);
}

/* The first `upto` bytes of the payload (all of it with (size_t)-1) still hold the pattern
   written by fill() for the size recorded in the header. */
static int intact(const struct block *b, size_t upto) {
  const uint64_t *d = (const uint64_t *)(b + 1);
  size_t i, n = ((size_t)b->size - sizeof(*b)) / sizeof(uint64_t);
  if (b->magic != MAGIC)
    return 0;
  for (i = 0; i < n && (i + 1) * sizeof(uint64_t) <= upto; i = next_sampled(i, n))
    if (d[i] != pattern(b->serial, i))
      return 0;
  return 1;
}

static void check_and_free(struct block *b) {
  if (!intact(b, (size_t)-1))
    fail("damaged block, serial ", (long)b->serial);
  b->magic = 0;
  free(b);
}

/* A new block from one of the allocation functions, chosen at random. */
static struct block *new_block(uint64_t *s, uint64_t serial, unsigned owner) {
  size_t size = random_size(s);
  unsigned how = (unsigned)(next_random(s) % 8);
  void *p = NULL;
  if (how == 0) {
    size_t i;
    unsigned char *z = calloc(1, size);
    for (i = 0; z != NULL && i < size; i += 61)
      if (z[i] != 0) {
        fail("calloc returned dirty memory, size ", (long)size);
        break;
      }
    p = z;
  } else if (how == 1) {
    if (posix_memalign(&p, (size_t)64 << (next_random(s) % 7), size) != 0)
      p = NULL;
  } else if (how == 2) {
    p = aligned_alloc((size_t)16 << (next_random(s) % 5), size);
  } else {
    p = malloc(size);
  }
  if (p == NULL) {
    fail("allocation failed, size ", (long)size);
    return NULL;
  }
  fill((struct block *)p, serial, size, owner);
  return (struct block *)p;
}

/* Grow or shrink b; the common prefix must survive the move. */
static struct block *resize_block(struct block *b, uint64_t *s) {
  size_t size = random_size(s), old = (size_t)b->size;
  struct block *n = realloc(b, size);
  if (n == NULL) {
    fail("realloc failed, size ", (long)size);
    return b;
  }
  /* The header still describes the old fill; check the payload both sizes share. */
  if (!intact(n, (size < old ? size : old) - sizeof(*n)))
    fail("realloc lost contents, serial ", (long)n->serial);
  fill(n, n->serial, size, n->owner);
  return n;
}

/* ---- a queue of blocks in transit between threads ---- */
struct queue {
  pthread_mutex_t lock;
  struct block *slots[QUEUE_SLOTS];
  size_t head, count;
};

static int queue_push(struct queue *q, struct block *b) {
  int ok;
  pthread_mutex_lock(&q->lock);
  ok = q->count < QUEUE_SLOTS;
  if (ok) {
    q->slots[(q->head + q->count) % QUEUE_SLOTS] = b;
    ++q->count;
  }
  pthread_mutex_unlock(&q->lock);
  return ok;
}

static struct block *queue_pop(struct queue *q) {
  struct block *b = NULL;
  pthread_mutex_lock(&q->lock);
  if (q->count > 0) {
    b = q->slots[q->head];
    q->head = (q->head + 1) % QUEUE_SLOTS;
    --q->count;
  }
  pthread_mutex_unlock(&q->lock);
  return b;
}

/* ---- the work loop shared by the parent's workers and the children's threads ---- */
struct worker {
  pthread_t thread;
  unsigned id;
  uint64_t rng;
  struct queue *queue;
  long ops_limit;          /* 0: until *stop */
  volatile int *stop;
  int forks;               /* fork() calls this worker makes itself (worker 0 of the parent) */
  long ops, cross_frees;
};

static int run_child(uint64_t seed);
static void wait_child(pid_t pid, const char *who, long number);

static void *work(void *arg) {
  struct worker *w = arg;
  struct block *live[LOCAL_SLOTS] = {0};
  uint64_t serial = (uint64_t)w->id << 40;
  int forks_done = 0;
  size_t i;
  while (w->ops_limit > 0 ? w->ops < w->ops_limit : !__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
    unsigned r = (unsigned)(next_random(&w->rng) % 100);
    size_t slot = (size_t)(next_random(&w->rng) % LOCAL_SLOTS);
    ++w->ops;
    if (r < 40) {
      if (live[slot] != NULL)
        check_and_free(live[slot]);
      live[slot] = new_block(&w->rng, ++serial, w->id);
    } else if (r < 60) {
      if (live[slot] != NULL && queue_push(w->queue, live[slot]))
        live[slot] = NULL; /* someone else frees it */
    } else if (r < 80) {
      struct block *b = queue_pop(w->queue);
      if (b != NULL) {
        if (b->owner != w->id)
          ++w->cross_frees;
        check_and_free(b);
      }
    } else if (r < 90) {
      if (live[slot] != NULL)
        live[slot] = resize_block(live[slot], &w->rng);
    } else if (live[slot] != NULL) {
      check_and_free(live[slot]);
      live[slot] = NULL;
    }
    /* Worker 0 forks now and then too: fork() from a thread other than main, with the other
       workers (and main) still allocating. */
    if (forks_done < w->forks && w->ops % 4000 == 0) {
      pid_t pid = fork();
      if (pid == 0)
        exit(run_child(w->rng ^ 0xC0FFEEu));
      if (pid < 0)
        fail("fork failed in a worker, errno ", errno);
      else
        wait_child(pid, "worker fork #", forks_done);
      ++forks_done;
    }
  }
  for (i = 0; i < LOCAL_SLOTS; ++i)
    if (live[i] != NULL)
      check_and_free(live[i]);
  return NULL;
}

/* ---- the children ---- */

/* In a fresh child of the busy parent: allocate and free alone, then with threads of its own,
   then trim.  Returns the exit status. */
static int run_child(uint64_t seed) {
  enum { OWN_THREADS = 2 };
  struct queue q;
  struct worker ws[OWN_THREADS + 1];
  volatile int never = 0;
  void *big;
  int i;
  memset(&q, 0, sizeof(q));
  pthread_mutex_init(&q.lock, NULL);
  memset(ws, 0, sizeof(ws));
  for (i = 0; i <= OWN_THREADS; ++i) {
    ws[i].id = 1000u + (unsigned)i;
    ws[i].rng = seed * 2654435761u + (uint64_t)i + 1;
    ws[i].queue = &q;
    ws[i].ops_limit = i == 0 ? 5000 : 2000;
    ws[i].stop = &never;
  }
  work(&ws[0]); /* alone first */
  for (i = 1; i <= OWN_THREADS; ++i)
    if (pthread_create(&ws[i].thread, NULL, work, &ws[i]) != 0)
      fail("pthread_create failed in the child", 0);
  for (i = 1; i <= OWN_THREADS; ++i)
    pthread_join(ws[i].thread, NULL);
  {
    struct block *b;
    while ((b = queue_pop(&q)) != NULL)
      check_and_free(b);
  }
  big = malloc(8u << 20); /* a directly mapped block, touched end to end */
  if (big == NULL)
    fail("8 MiB malloc failed in the child", 0);
  else {
    memset(big, 0x5a, 8u << 20);
    free(big);
  }
  malloc_trim(0);
  return failed ? 2 : 0;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Reap pid; a child still running after CHILD_TIMEOUT_SECONDS is stuck (a lock that stayed
   held across fork() is the usual reason): kill it and fail. */
static void wait_child(pid_t pid, const char *who, long number) {
  double deadline = now() + CHILD_TIMEOUT_SECONDS;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
    if (r < 0 && errno != EINTR) {
      fail("waitpid failed, errno ", errno);
      return;
    }
    if (now() > deadline) {
      say("child still running after the timeout (deadlock after fork?), killing it: ", who,
          number);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      fail("child hung: ", number);
      return;
    }
    {
      struct timespec ms = {0, 1000000};
      nanosleep(&ms, NULL);
    }
  }
  if (WIFSIGNALED(status))
    fail("child killed by signal ", WTERMSIG(status));
  else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    fail("child exit status ", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* ---- main ---- */

/* The process's malloc must be libdlmalloc's; returns dlmallinfo's in-use field reader. */
typedef struct mallinfo2 (*dlmallinfo_fn)(void); /* same ten size_t fields as malloc.h's */

static dlmallinfo_fn our_allocator(void) {
  void *mi = dlsym(RTLD_DEFAULT, "dlmallinfo");
  if (mi == NULL || !in_libdlmalloc(dlsym(RTLD_DEFAULT, "malloc"))) {
    say("malloc is not libdlmalloc's: run under LD_PRELOAD=.../libdlmalloc.so or link it", "",
        0);
    return NULL;
  }
  return (dlmallinfo_fn)mi;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 8;
  int forks = argc > 2 ? atoi(argv[2]) : 30;
  uint64_t seed = argc > 3 ? strtoull(argv[3], NULL, 10) : 12345u;
  dlmallinfo_fn dlmallinfo_ = our_allocator();
  struct queue q;
  struct worker *ws;
  volatile int stop = 0;
  size_t before, after;
  long ops = 0, cross = 0;
  double t0 = now();
  int i;
  if (dlmallinfo_ == NULL)
    return 1;
  if (threads < 1 || forks < 0) {
    fprintf(stderr, "usage: threads_fork [threads >= 1 [forks [seed]]]\n");
    return 2;
  }
  memset(&q, 0, sizeof(q));
  pthread_mutex_init(&q.lock, NULL);
  ws = calloc((size_t)threads, sizeof(*ws));
  if (ws == NULL)
    return 1;
  before = dlmallinfo_().uordblks;

  for (i = 0; i < threads; ++i) {
    ws[i].id = (unsigned)i;
    ws[i].rng = seed + (uint64_t)i * 0x9E3779B97F4A7C15ULL + 1;
    ws[i].queue = &q;
    ws[i].stop = &stop;
    ws[i].forks = i == 0 ? forks / 3 : 0;
    if (pthread_create(&ws[i].thread, NULL, work, &ws[i]) != 0) {
      fail("pthread_create failed for worker ", i);
      return 1;
    }
  }
  {
    uint64_t rng = seed ^ 0xF0F0F0F0u;
    struct timespec start = {0, 50000000};
    nanosleep(&start, NULL); /* let the workers get going */
    for (i = 0; i < forks && !failed; ++i) {
      struct timespec pause = {0, (long)(next_random(&rng) % 5000000)};
      pid_t pid;
      nanosleep(&pause, NULL); /* fork at a random point of the workers' loops */
      pid = fork();
      if (pid == 0)
        exit(run_child(seed + (uint64_t)i));
      if (pid < 0) {
        fail("fork failed, errno ", errno);
        break;
      }
      wait_child(pid, "main fork #", i);
    }
  }
  __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
  for (i = 0; i < threads; ++i) {
    pthread_join(ws[i].thread, NULL);
    ops += ws[i].ops;
    cross += ws[i].cross_frees;
  }
  {
    struct block *b;
    while ((b = queue_pop(&q)) != NULL) {
      ++cross;
      check_and_free(b);
    }
  }
  free(ws);
  /* Blocks kept in the caches and the depot count as in use (up to megabytes after a run with
     many cross-thread frees); malloc_trim gives them back to the heaps, so that what stays in
     use is what was not freed.  Thread bookkeeping of the C library may stay allocated (about
     a kilobyte here); the workers' blocks may not. */
  malloc_trim(0);
  after = dlmallinfo_().uordblks;
  if (after > before + (64u << 10))
    fail("bytes still in use after every block was freed: ", (long)(after - before));
  if (cross == 0)
    fail("no block was freed by a thread other than its owner", 0);
  printf("threads_fork: %d threads, %ld operations, %ld cross-thread frees, %d + %d forks, "
         "in use %zu -> %zu bytes, %.1f s: %s\n",
         threads, ops, cross, forks, forks / 3, before, after, now() - t0,
         failed ? "FAILED" : "ok");
  return failed ? 1 : 0;
}
