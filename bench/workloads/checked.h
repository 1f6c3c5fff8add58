/*
  bench/workloads/checked.h -- blocks whose contents are checked when they are freed, and the
  plumbing of the threaded workloads that use them (start and join threads, hand blocks to
  another thread).

  A benchmark that lets an allocator corrupt memory silently measures nothing, so these
  workloads write a pattern into every block they allocate (the first 16 bytes -- where an
  allocator keeps its free-list links -- one byte per 64 after them, and the last byte) and
  compare it just before the block is freed.  A mismatch means the allocator gave the same
  memory twice or wrote into a block in use: the workload says which block and exits with
  status 3, so bench.py records a failure instead of a time.  The pattern costs a few stores
  and loads per block, the same for every allocator.
*/
#ifndef CHECKED_H
#define CHECKED_H

#include "bench.h"

#include <pthread.h>
#include <string.h>

typedef struct {
  unsigned char *p; /* NULL while the slot is empty */
  size_t size;
  uint64_t tag; /* picks the block's pattern: any value, different from block to block */
} block;

/* Writes (check == 0) or compares (check != 0) one piece of the pattern; returns 1 if a
   compared piece differs.  Fill and check go through the same walk, so they cannot drift. */
static inline size_t visit_byte(unsigned char *at, unsigned char want, int check) {
  if (!check)
    *at = want;
  return check && *at != want;
}

static inline size_t visit_word(unsigned char *at, uint64_t want, int check) {
  uint64_t have;
  if (!check) {
    memcpy(at, &want, sizeof want);
    return 0;
  }
  memcpy(&have, at, sizeof have);
  return have != want;
}

static inline size_t block_pattern(const block *b, int check) {
  size_t bad = 0, i;
  if (b->size < 16) {
    for (i = 0; i < b->size; ++i)
      bad += visit_byte(b->p + i, (unsigned char)(b->tag + i), check);
    return bad;
  }
  bad += visit_word(b->p, b->tag, check);
  bad += visit_word(b->p + 8, ~b->tag, check);
  for (i = 16; i + 1 < b->size; i += 64)
    bad += visit_byte(b->p + i, (unsigned char)(b->tag + i), check);
  if (b->size > 16)
    bad += visit_byte(b->p + b->size - 1, (unsigned char)(b->tag >> 8), check);
  return bad;
}

static inline void block_alloc(block *b, size_t size, uint64_t tag, const char *who) {
  b->p = (unsigned char *)must(malloc(size), who);
  b->size = size;
  b->tag = tag;
  block_pattern(b, 0);
}

/* Checks and frees the block, empties the slot; returns what the block adds to the checksum. */
static inline uint64_t block_free(block *b, const char *who) {
  uint64_t sum;
  if (block_pattern(b, 1) != 0) {
    fprintf(stderr, "%s: the block at %p (%zu bytes) changed while it was in use\n", who,
            (void *)b->p, b->size);
    exit(3);
  }
  sum = b->p[0] + (uint64_t)b->size;
  free(b->p);
  b->p = NULL;
  return sum;
}

/* Frees the slots' blocks that are still held, frees the slots, and returns what the blocks
   add to the checksum. */
static inline uint64_t slots_free(block *slot, size_t n, const char *who) {
  uint64_t sum = 0;
  size_t i;
  for (i = 0; i < n; ++i)
    if (slot[i].p != NULL)
      sum += block_free(&slot[i], who);
  free(slot);
  return sum;
}

#define MAX_THREADS 64

static inline int thread_count(bench_args a) {
  return a.threads > MAX_THREADS ? MAX_THREADS : a.threads;
}

/* One of `parts` threads' share of the run's `base` units of work (at least one). */
static inline size_t bench_share(bench_args a, double base, int parts) {
  return bench_count(a, base) / (size_t)parts + 1;
}

/* Runs body(0) .. body(n - 1) on n threads, waits for all of them and returns the sum of what
   they returned (their part of the checksum). */
typedef uint64_t (*thread_body)(int id);

static thread_body running_body;
static uint64_t thread_result[MAX_THREADS];

static void *thread_start(void *arg) {
  int id = (int)(intptr_t)arg;
  thread_result[id] = running_body(id);
  return NULL;
}

static inline uint64_t run_threads(int n, thread_body body) {
  pthread_t tid[MAX_THREADS];
  uint64_t sum = 0;
  int t;
  running_body = body;
  for (t = 0; t < n; ++t)
    if (pthread_create(&tid[t], NULL, thread_start, (void *)(intptr_t)t) != 0) {
      fprintf(stderr, "cannot start thread %d\n", t);
      exit(2);
    }
  for (t = 0; t < n; ++t) {
    pthread_join(tid[t], NULL);
    sum += thread_result[t];
  }
  return sum;
}

/* A mailbox: blocks that one thread gives to another, which frees them -- a remote free.
   Bounded, so that a slow receiver does not make the sender's memory grow without end: a
   sender that finds it full frees the blocks itself.  Only its owner (or the main thread once
   the threads are done) drains it, into `taken`, so that the blocks are freed outside the
   lock. */
#define MAILBOX 1024

typedef struct {
  pthread_mutex_t lock;
  size_t count;
  block item[MAILBOX];
  block taken[MAILBOX];
} mailbox;

/* run_threads_with_mail gives thread `id` the mailbox mail[id]; blocks go round a ring. */
static mailbox mail[MAX_THREADS];
static int mail_threads;

static inline mailbox *inbox(int id) { return &mail[id]; }
static inline mailbox *next_inbox(int id) { return &mail[(id + 1) % mail_threads]; }

/* Gives *b to the mailbox's owner and empties the slot; if the mailbox is full, frees the
   block here instead and returns what it adds to the checksum. */
static inline uint64_t mailbox_give(mailbox *m, block *b, const char *who) {
  int given = 0;
  pthread_mutex_lock(&m->lock);
  if (m->count < MAILBOX) {
    m->item[m->count++] = *b;
    b->p = NULL;
    given = 1;
  }
  pthread_mutex_unlock(&m->lock);
  return given ? 0 : block_free(b, who);
}

/* Frees everything in the mailbox. */
static inline uint64_t mailbox_drain(mailbox *m, const char *who) {
  uint64_t sum = 0;
  size_t n, i;
  pthread_mutex_lock(&m->lock);
  n = m->count;
  memcpy(m->taken, m->item, n * sizeof(block));
  m->count = 0;
  pthread_mutex_unlock(&m->lock);
  for (i = 0; i < n; ++i)
    sum += block_free(&m->taken[i], who);
  return sum;
}

/* run_threads with a mailbox per thread; what is still in a mailbox at the end -- given after
   its receiver had finished -- is freed here. */
static inline uint64_t run_threads_with_mail(int n, thread_body body, const char *who) {
  uint64_t sum;
  int t;
  mail_threads = n;
  for (t = 0; t < n; ++t)
    pthread_mutex_init(&mail[t].lock, NULL);
  sum = run_threads(n, body);
  for (t = 0; t < n; ++t)
    sum += mailbox_drain(&mail[t], who);
  return sum;
}

#endif /* CHECKED_H */
