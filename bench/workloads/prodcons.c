/*
  prodcons -- producers and consumers, multi-threaded: half the threads allocate messages
  (32 bytes to 4 KiB) and fill them, the other half take them off a shared queue, read and
  free them.  Every block is freed by a thread other than the one that allocated it, and the
  freeing threads never allocate: memory flows one way, as in a pipeline of worker threads.
  Messages travel in batches so that the queue's own lock is not what is measured.
*/
#include "checked.h"

#define BATCH 64
#define QUEUE 64 /* batches */

typedef struct {
  block msg[BATCH];
} batch;

static batch *queue[QUEUE];
static size_t head, tail, count;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static size_t batches_per_producer;

static void put(batch *b) {
  pthread_mutex_lock(&queue_lock);
  while (count == QUEUE)
    pthread_cond_wait(&not_full, &queue_lock);
  queue[tail] = b;
  tail = (tail + 1) % QUEUE;
  ++count;
  pthread_cond_signal(&not_empty);
  pthread_mutex_unlock(&queue_lock);
}

static batch *take(void) {
  batch *b;
  pthread_mutex_lock(&queue_lock);
  while (count == 0)
    pthread_cond_wait(&not_empty, &queue_lock);
  b = queue[head];
  head = (head + 1) % QUEUE;
  --count;
  pthread_cond_signal(&not_full);
  pthread_mutex_unlock(&queue_lock);
  return b;
}

static void produce(int id) {
  rng_t r;
  size_t n, i;
  rng_seed(&r, 200 + (uint64_t)id);
  for (n = 0; n < batches_per_producer; ++n) {
    batch *b = must(malloc(sizeof(batch)), "prodcons");
    for (i = 0; i < BATCH; ++i)
      block_alloc(&b->msg[i], rng_size(&r, 256, 4096, 16), rng_next(&r), "prodcons");
    put(b);
  }
}

/* A null batch tells a consumer to stop. */
static uint64_t consume(void) {
  uint64_t sum = 0;
  batch *b;
  size_t i;
  while ((b = take()) != NULL) {
    for (i = 0; i < BATCH; ++i)
      sum += block_free(&b->msg[i], "prodcons");
    free(b);
  }
  return sum;
}

/* Threads 0 .. consumers - 1 consume, the others produce; the last producer to finish sends
   each consumer its stop. */
static int consumers, producers_running;
static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t worker(int id) {
  int last, t;
  if (id < consumers)
    return consume();
  produce(id - consumers);
  pthread_mutex_lock(&running_lock);
  last = --producers_running == 0;
  pthread_mutex_unlock(&running_lock);
  for (t = 0; last && t < consumers; ++t)
    put(NULL);
  return 0;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 4);
  int nthreads = thread_count(a) < 2 ? 2 : thread_count(a);
  producers_running = nthreads / 2;
  consumers = nthreads - producers_running;
  batches_per_producer = bench_count(a, 3000000.0 / BATCH) / (size_t)producers_running + 1;
  bench_report("prodcons", run_threads(nthreads, worker));
  return 0;
}
