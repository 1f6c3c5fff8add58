/*
  relay -- a server whose threads come and go, multi-threaded, after Larson and Krishnan's
  benchmark as it is usually run: each of N lanes owns a table of 5,000 blocks of 8 to 1,000
  bytes and a thread that replaces random slots of it; after a fixed number of steps the thread
  starts its successor, hands it the table and ends.  Most frees are therefore of blocks that a
  thread no longer alive allocated, which a per-thread cache or heap must cope with, and the
  program starts and ends threads all along, which a per-thread structure must not leak.
*/
#include "checked.h"

#define SLOTS 5000
#define STEPS_PER_GENERATION 20000

typedef struct {
  block slot[SLOTS];
  rng_t r;
  size_t generations_left;
  uint64_t sum;
} lane;

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t all_done = PTHREAD_COND_INITIALIZER;
static int lanes_running;

static void *generation(void *arg);

static void start_generation(lane *l) {
  pthread_t tid;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  if (pthread_create(&tid, &attr, generation, l) != 0) {
    fprintf(stderr, "relay: cannot start a thread\n");
    exit(2);
  }
  pthread_attr_destroy(&attr);
}

static void *generation(void *arg) {
  lane *l = arg;
  size_t i;
  for (i = 0; i < STEPS_PER_GENERATION; ++i) {
    block *b = &l->slot[rng_below(&l->r, SLOTS)];
    l->sum += block_free(b, "relay");
    block_alloc(b, 8 + rng_below(&l->r, 993), rng_next(&l->r), "relay");
  }
  if (--l->generations_left > 0) {
    start_generation(l);
  } else {
    pthread_mutex_lock(&done_lock);
    if (--lanes_running == 0)
      pthread_cond_signal(&all_done);
    pthread_mutex_unlock(&done_lock);
  }
  return NULL;
}

int main(int argc, char **argv) {
  bench_args a = bench_parse(argc, argv, 4);
  int lanes = thread_count(a), t;
  size_t generations = bench_count(a, 48) / (size_t)lanes + 1, i;
  lane *lane_of = must(calloc((size_t)lanes, sizeof(lane)), "relay");
  uint64_t sum = 0;
  /* The first tables are filled by the main thread, as Larson's driver does. */
  for (t = 0; t < lanes; ++t) {
    lane *l = &lane_of[t];
    rng_seed(&l->r, 300 + (uint64_t)t);
    l->generations_left = generations;
    for (i = 0; i < SLOTS; ++i)
      block_alloc(&l->slot[i], 8 + rng_below(&l->r, 993), rng_next(&l->r), "relay");
  }
  lanes_running = lanes;
  for (t = 0; t < lanes; ++t)
    start_generation(&lane_of[t]);
  pthread_mutex_lock(&done_lock);
  while (lanes_running > 0)
    pthread_cond_wait(&all_done, &done_lock);
  pthread_mutex_unlock(&done_lock);
  for (t = 0; t < lanes; ++t) {
    for (i = 0; i < SLOTS; ++i)
      sum += block_free(&lane_of[t].slot[i], "relay");
    sum += lane_of[t].sum;
  }
  free(lane_of);
  bench_report("relay", sum);
  return 0;
}
