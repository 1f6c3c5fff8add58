/*
  queue -- producers and consumers around one shared queue, after the classic xmalloc-test:
  half the threads fill batches of 4,096 blocks of mixed sizes (8 to 2,048 bytes) and put
  them on one queue, guarded by a mutex, that holds at most 100 batches; the other half take
  batches off it and free every block.  Where prodcons passes 64 messages at a time, here
  each hand-over is a megabyte or more, of many sizes at once: far more than a thread cache
  holds, so what is measured is how memory freed by one thread finds its way back to the
  threads that allocate.  An odd thread count is rounded up to the next even one.
*/
#include "checked.h"

#define BLOCKS 4096 /* per batch */
#define QUEUE 100   /* batches the queue holds at most */

typedef struct batch {
  struct batch *next;
  block item[BLOCKS];
} batch;

static const size_t sizes[] = {8,   12,  16,  24,  32,  48,   64,   96,  128,
                               192, 256, 384, 512, 768, 1024, 1536, 2048};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static batch *queue_front; /* a stack: the most recent batch is taken first */
static size_t queued, claimed, taken, batches;

/* The number of the next batch to make, or `batches` when all are made. */
static size_t claim(void) {
  size_t n;
  pthread_mutex_lock(&queue_lock);
  n = claimed < batches ? claimed++ : batches;
  pthread_mutex_unlock(&queue_lock);
  return n;
}

static void put(batch *b) {
  pthread_mutex_lock(&queue_lock);
  while (queued == QUEUE)
    pthread_cond_wait(&not_full, &queue_lock);
  b->next = queue_front;
  queue_front = b;
  ++queued;
  pthread_cond_signal(&not_empty);
  pthread_mutex_unlock(&queue_lock);
}

/* The next batch, or NULL once every batch has been taken. */
static batch *get(void) {
  batch *b = NULL;
  pthread_mutex_lock(&queue_lock);
  while (queue_front == NULL && taken < batches)
    pthread_cond_wait(&not_empty, &queue_lock);
  if (queue_front != NULL) {
    b = queue_front;
    queue_front = b->next;
    --queued;
    ++taken;
    pthread_cond_signal(&not_full);
  } else {
    pthread_cond_broadcast(&not_empty); /* all taken: wake the other consumers to end */
  }
  pthread_mutex_unlock(&queue_lock);
  return b;
}

/* Each batch's sizes and patterns follow from its number, whichever thread makes it, so the
   checksum does not depend on the threads' timing. */
static void produce(void) {
  size_t n, i;
  while ((n = claim()) < batches) {
    batch *b = must(malloc(sizeof(batch)), "queue");
    rng_t r;
    rng_seed(&r, 700 + (uint64_t)n);
    for (i = 0; i < BLOCKS; ++i)
      block_alloc(&b->item[i], sizes[rng_below(&r, sizeof(sizes) / sizeof(sizes[0]))],
                  rng_next(&r), "queue");
    put(b);
  }
}

static uint64_t consume(void) {
  uint64_t sum = 0;
  batch *b;
  size_t i;
  while ((b = get()) != NULL) {
    for (i = 0; i < BLOCKS; ++i)
      sum += block_free(&b->item[i], "queue");
    free(b);
  }
  return sum;
}

/* Odd threads consume, even ones produce. */
static uint64_t worker(int id) {
  if (id % 2 != 0)
    return consume();
  produce();
  return 0;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 4);
  int nthreads = thread_count(a);
  nthreads += nthreads % 2;
  if (nthreads > MAX_THREADS)
    nthreads = MAX_THREADS;
  batches = bench_count(a, 1000);
  bench_report("queue", run_threads(nthreads, worker));
  return 0;
}
