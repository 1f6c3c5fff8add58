/*
  fork_handlers_first.c -- a shared library whose constructor registers fork handlers that
  allocate, for thread_lifecycle.c.  Linked into the program (DT_NEEDED), its constructor runs
  before that of a preloaded libdlmalloc.so, so its handlers are registered before the
  drop-in's: its prepare handler runs after malloc_prefork has taken every lock, and its parent
  and child handlers before the locks are given back.  An outside review found fork() hung for
  ever there (the handler waited on a lock its own thread held).
*/
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char *saved; /* what the prepare handler allocated; freed by the parent or the child */
static int registered, (*probe)(void), probe_said = -1;

static void prepare(void) {
  if (probe != NULL)
    probe_said = probe();
  saved = strdup("saved by the prepare handler");
}
static void parent(void) {
  free(saved);
  saved = NULL;
}
static void child(void) {
  free(saved);
  saved = malloc(100);
  if (saved != NULL)
    strcpy(saved, "child");
}

__attribute__((constructor)) static void register_first(void) {
  registered = pthread_atfork(prepare, parent, child) == 0;
}

/* What the last handler left: "child" in a child, NULL in the parent. */
const char *fork_handlers_state(void) { return saved; }

/* 1 if the handlers were registered, from the constructor. */
int fork_handlers_registered(void) { return registered; }

/* fn runs at the start of the prepare handler; fork_handlers_probe_said() gives its answer
   (-1: it has not run). */
void fork_handlers_set_probe(int (*fn)(void)) { probe = fn; }
int fork_handlers_probe_said(void) { return probe_said; }
