/*
  thread_lifecycle.c -- threads' beginnings and ends under libdlmalloc.so, where an outside
  review found the drop-in wrong and glibc right.

  usage: thread_lifecycle          (run under LD_PRELOAD=.../libdlmalloc.so)

  1. Forty pthread keys made before the process's first malloc: the drop-in's own key (made at
     a thread's first call) is then past glibc's first 32, and pthread_setspecific allocates
     for it, inside the allocator's attach of the thread.  That nested call bound each thread
     to its arena a second time, so no thread ever looked alone again and the blocks passed
     between threads stayed counted in use: 9.5 MB here.  After three rounds of a producer
     thread and a consumer thread (60,000 blocks each), both ended, the heap's in-use bytes
     must be back to near nothing.
  2. fork() while another thread exists, with fork handlers that allocate registered before
     the drop-in's (fork_handlers_first.c, a library loaded before it): the prepare handler
     runs while malloc_prefork holds every lock, the child and parent handlers before they are
     given back.  fork() hung there for ever, in the parent's prepare handler: an alarm ends
     the program with a FAIL after CHILD_TIMEOUT_SECONDS.  The child must end normally with
     its handler's block made.  The prepare handler first checks that it runs inside that
     span (the other thread, allocating in a loop, makes no new round for 50 ms): if the loader
     ever ran the drop-in's constructor first, the case would no longer be what it tests.
  Each part also checks its own set-up: no pthread key before the program's forty (else the
  drop-in's key is not past them), and the handlers registered.
  Exit status 0 when both hold, 1 otherwise (with a line saying what failed).
*/
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "in_libdlmalloc.h"

#define KEYS 40
#define BLOCKS 60000
#define ROUNDS 3
#define IN_USE_LIMIT (256 * 1024) /* the bug left 9.5 MB; the heap's own records are far less */
#define CHILD_TIMEOUT_SECONDS 20

/* fork_handlers_first.c */
const char *fork_handlers_state(void);
int fork_handlers_registered(void);
void fork_handlers_set_probe(int (*fn)(void));
int fork_handlers_probe_said(void);

static void *blocks[BLOCKS];

static void *produce(void *unused) {
  size_t i;
  for (i = 0; i < BLOCKS; ++i)
    if ((blocks[i] = malloc(64)) == NULL)
      return unused;
  return blocks;
}

static void *consume(void *unused) {
  size_t i;
  for (i = 0; i < BLOCKS; ++i)
    free(blocks[i]);
  return unused;
}

static int run_thread(void *(*body)(void *)) {
  pthread_t t;
  void *result = NULL;
  return pthread_create(&t, NULL, body, NULL) == 0 && pthread_join(t, &result) == 0 &&
         (body != produce || result == blocks);
}

static int keys_before_first_malloc(void) {
  static pthread_key_t keys[KEYS];
  int k, round;
  struct mallinfo2 m;
  for (k = 0; k < KEYS; ++k)
    if (pthread_key_create(&keys[k], NULL) != 0) {
      printf("FAIL: pthread_key_create %d\n", k);
      return 0;
    }
  if (keys[0] != 0) {
    printf("FAIL: set-up: a pthread key was made before the program's (the drop-in's?)\n");
    return 0;
  }
  for (round = 0; round < ROUNDS; ++round)
    if (!run_thread(produce) || !run_thread(consume)) {
      printf("FAIL: a producer or consumer thread failed\n");
      return 0;
    }
  m = mallinfo2();
  printf("%d keys first, %d rounds of %d blocks between two threads: %zu bytes in use\n", KEYS,
         ROUNDS, BLOCKS, m.uordblks);
  if (m.uordblks > IN_USE_LIMIT) {
    printf("FAIL: more than %d bytes still in use with no block held\n", IN_USE_LIMIT);
    return 0;
  }
  return 1;
}

static volatile unsigned long idle_rounds;

/* Until *stop: malloc and free a block too large for the cache, each time under its arena's
   lock, counting the rounds. */
static void *idle(void *stop) {
  while (!*(volatile int *)stop) {
    free(malloc(20000));
    ++idle_rounds;
  }
  return NULL;
}

/* In the prepare handler: 1 if the idle thread made no round for 50 ms (the locks are held),
   but for the one it may have been ending as prefork took them. */
static int locks_held(void) {
  unsigned long before = idle_rounds;
  usleep(50000);
  return idle_rounds - before <= 1;
}

static void on_alarm(int sig) {
  static const char text[] = "FAIL: fork() hung (a fork handler that allocates waited on a "
                             "lock its own thread held)\n";
  (void)sig;
  (void)!write(1, text, sizeof text - 1);
  _exit(1);
}

static int fork_with_handlers_first(void) {
  static int stop;
  pthread_t t;
  pid_t child;
  int status = 0, waited;
  if (!fork_handlers_registered()) {
    printf("FAIL: set-up: pthread_atfork failed in fork_handlers_first.c\n");
    return 0;
  }
  if (pthread_create(&t, NULL, idle, &stop) != 0)
    return 0;
  while (idle_rounds == 0)
    usleep(1000);
  fork_handlers_set_probe(locks_held);
  signal(SIGALRM, on_alarm);
  alarm(CHILD_TIMEOUT_SECONDS);
  child = fork();
  if (child == 0) {
    const char *state = fork_handlers_state();
    _exit(state != NULL && strcmp(state, "child") == 0 ? 0 : 2);
  }
  alarm(0);
  if (child < 0) {
    printf("FAIL: fork\n");
    return 0;
  }
  for (waited = 0; waited < 10 * CHILD_TIMEOUT_SECONDS; ++waited) {
    if (waitpid(child, &status, WNOHANG) == child)
      break;
    usleep(100000);
  }
  stop = 1;
  pthread_join(t, NULL);
  if (waited == 10 * CHILD_TIMEOUT_SECONDS) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    printf("FAIL: the child hung (a fork handler that allocates waited on a held lock)\n");
    return 0;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || fork_handlers_state() != NULL) {
    printf("FAIL: the fork handlers did not run as they should (child status %d)\n", status);
    return 0;
  }
  if (fork_handlers_probe_said() != 1) {
    printf("FAIL: set-up: the prepare handler ran outside malloc_prefork's span (%d)\n",
           fork_handlers_probe_said());
    return 0;
  }
  printf("fork with handlers that allocate registered first: parent and child went on\n");
  return 1;
}

int main(void) {
  int ok;
  if (!in_libdlmalloc(dlsym(RTLD_DEFAULT, "malloc"))) {
    printf("FAIL: malloc is not libdlmalloc's: run under LD_PRELOAD=.../libdlmalloc.so\n");
    return 1;
  }
  setvbuf(stdout, NULL, _IONBF, 0); /* a hang below still shows what came before */
  ok = keys_before_first_malloc();
  ok = fork_with_handlers_first() && ok;
  return ok ? 0 : 1;
}
