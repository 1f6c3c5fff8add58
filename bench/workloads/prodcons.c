/*
  prodcons -- producers and consumers, multi-threaded: half the threads allocate messages
  (32 bytes to 4 KiB) and fill them, the other half take them off a shared queue, read and
  free them.  Every block is freed by a thread other than the one that allocated it, and the
  freeing threads never allocate: memory flows one way, as in a pipeline of worker threads.
  Messages travel in batches so that the queue's own lock is not what is measured.
*/
#include "bench.h"

#include <pthread.h>

#define BATCH 64
#define QUEUE 64 /* batches */

typedef struct {
  void *msg[BATCH];
  size_t len[BATCH];
} batch;

static batch *queue[QUEUE];
static size_t head, tail, count;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static size_t batches_per_producer;
static uint64_t sums[256];

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

static void *producer(void *arg) {
  rng_t r;
  size_t n, i;
  rng_seed(&r, 200 + (uint64_t)(intptr_t)arg);
  for (n = 0; n < batches_per_producer; ++n) {
    batch *b = must(malloc(sizeof(batch)), "prodcons");
    for (i = 0; i < BATCH; ++i) {
      b->len[i] = rng_size(&r, 256, 4096, 16);
      b->msg[i] = must(malloc(b->len[i]), "prodcons");
      touch(b->msg[i], b->len[i], i);
    }
    put(b);
  }
  return NULL;
}

/* A null batch tells a consumer to stop. */
static void *consumer(void *arg) {
  int id = (int)(intptr_t)arg;
  uint64_t sum = 0;
  batch *b;
  size_t i;
  while ((b = take()) != NULL) {
    for (i = 0; i < BATCH; ++i) {
      unsigned char *m = b->msg[i];
      sum += m[0] + m[b->len[i] - 1];
      free(m);
    }
    free(b);
  }
  sums[id] = sum;
  return NULL;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 4);
  int producers = a.threads / 2 > 0 ? a.threads / 2 : 1;
  int consumers = a.threads - producers > 0 ? a.threads - producers : 1;
  pthread_t tid[256];
  uint64_t sum = 0;
  int t;
  if (producers > 128)
    producers = 128;
  if (consumers > 128)
    consumers = 128;
  batches_per_producer = bench_count(a, 3000000.0 / BATCH) / (size_t)producers + 1;
  for (t = 0; t < consumers; ++t)
    pthread_create(&tid[t], NULL, consumer, (void *)(intptr_t)t);
  for (t = 0; t < producers; ++t)
    pthread_create(&tid[consumers + t], NULL, producer, (void *)(intptr_t)t);
  for (t = 0; t < producers; ++t)
    pthread_join(tid[consumers + t], NULL);
  for (t = 0; t < consumers; ++t)
    put(NULL);
  for (t = 0; t < consumers; ++t) {
    pthread_join(tid[t], NULL);
    sum += sums[t];
  }
  bench_report("prodcons", sum);
  return 0;
}
