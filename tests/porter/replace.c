/*
  replace.c -- built without USE_DL_PREFIX, the core is the program's whole C allocator.

  Every C and POSIX function that hands out or takes back heap blocks must then come from
  malloc.c: a block from the C library's allocator freed by ours (or the reverse) is a crash
  or an abort.  Each function below is called, the block it returns is looked up in our heap
  with malloc_inspect_all (a block the C library made is not there), then freed with the
  matching function and looked up again (now it must be free).  strdup, strndup and getline
  allocate inside the C library, which calls malloc by name: their blocks must be ours too.

  Built twice (tests/porter/CMakeLists.txt): PORTABLE with ports/posix.c, and malloc.c's own
  POSIX layer.
*/
#if !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1 /* pvalloc, reallocarray, strndup, getline, fmemopen */
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "malloc.h"

#ifndef PORTABLE
#define PORTABLE 0
#endif

#ifdef USE_DL_PREFIX
#error "replace.c checks the unprefixed names: build the core without USE_DL_PREFIX"
#endif

struct lookup {
  uintptr_t block; /* an address, not a pointer: it is looked up after the block is freed */
  int in_use; /* 1: a block in use starts at block; 0: not found in use */
};

static void find_block(void *start, void *end, size_t used, void *arg) {
  struct lookup *l = (struct lookup *)arg;
  (void)end;
  if (used != 0 && (uintptr_t)start == l->block)
    l->in_use = 1;
}

/* Is p a block in use of our global heap (segments and directly mapped chunks alike)? */
static int ours_at(uintptr_t address) {
  struct lookup l;
  l.block = address;
  l.in_use = 0;
  malloc_inspect_all(find_block, &l);
  return l.in_use;
}

static int ours(const void *p) { return ours_at((uintptr_t)p); }

/* The block must be ours while in use; after free_it it must be in use no more. */
#define CHECK_OURS_THEN_FREED(p, free_it)                                                    \
  do {                                                                                       \
    uintptr_t block_ = (uintptr_t)(p);                                                       \
    if (CHECK(block_ != 0)) {                                                                \
      CHECK(ours_at(block_));                                                                \
      free_it;                                                                               \
      CHECK(!ours_at(block_));                                                               \
    }                                                                                        \
  } while (0)

int main(void) {
  size_t big = (size_t)1 << 20; /* above the mmap threshold: a directly mapped block */
  void *p;

  th_section("standard C");
  p = malloc(100);
  CHECK_OURS_THEN_FREED(p, free(p));
  p = malloc(big);
  CHECK_OURS_THEN_FREED(p, free(p));
  p = calloc(10, 10);
  CHECK_OURS_THEN_FREED(p, free(p));
  p = realloc(NULL, 50);
  p = realloc(p, 5000);
  CHECK_OURS_THEN_FREED(p, free(p));
  p = aligned_alloc(64, 256);
  CHECK(TH_ALIGNED(p, 64));
  CHECK_OURS_THEN_FREED(p, free(p));
  p = aligned_alloc(4096, big);
  CHECK(TH_ALIGNED(p, 4096));
  CHECK_OURS_THEN_FREED(p, free(p));
  errno = 0;
  CHECK(aligned_alloc(48, 96) == NULL); /* not a power of two: C17 says fail */
#if !PORTABLE /* a PORTABLE core never touches errno (malloc.h section 6) */
  CHECK_EQ(errno, EINVAL);
#endif

  th_section("C23 sized frees");
  p = malloc(200);
  CHECK_OURS_THEN_FREED(p, free_sized(p, 200));
  p = aligned_alloc(256, 1000);
  CHECK_OURS_THEN_FREED(p, free_aligned_sized(p, 256, 1000));

  th_section("POSIX and common extensions");
  p = NULL;
  CHECK_EQ(posix_memalign(&p, 128, 300), 0);
  CHECK(TH_ALIGNED(p, 128));
  CHECK_OURS_THEN_FREED(p, free(p));
  p = memalign(32, 70);
  CHECK(TH_ALIGNED(p, 32));
  CHECK_OURS_THEN_FREED(p, free(p));
  p = valloc(10);
  CHECK(TH_ALIGNED(p, 4096));
  CHECK_OURS_THEN_FREED(p, free(p));
  p = pvalloc(10);
  CHECK(TH_ALIGNED(p, 4096));
  CHECK_GE(malloc_usable_size(p), 4096);
  CHECK_OURS_THEN_FREED(p, free(p));
  p = reallocarray(NULL, 10, 30);
  CHECK_GE(malloc_usable_size(p), 300);
  p = reallocarray(p, 100, 30);
  CHECK_GE(malloc_usable_size(p), 3000);
  {
    volatile size_t huge = SIZE_MAX / 2; /* volatile: the compiler must not see the overflow */
    void *q;
    errno = 0;
    q = reallocarray(p, huge, 3);
    CHECK(q == NULL); /* overflow: fails, p kept */
    if (q != NULL)
      p = q;
#if !PORTABLE
    CHECK_EQ(errno, ENOMEM);
#endif
  }
  CHECK_OURS_THEN_FREED(p, free(p));

  th_section("blocks the C library allocates");
  {
    char *s = strdup("a string the C library copies with malloc");
    CHECK(s != NULL && strcmp(s, "a string the C library copies with malloc") == 0);
    CHECK_OURS_THEN_FREED(s, free(s));
    s = strndup("0123456789", 4);
    CHECK(s != NULL && strcmp(s, "0123") == 0);
    CHECK_OURS_THEN_FREED(s, free(s));
  }
  {
    static char text[] = "first line\nsecond line\n";
    FILE *f = fmemopen(text, sizeof(text) - 1, "r");
    char *line = NULL;
    size_t cap = 0;
    if (CHECK(f != NULL)) {
      CHECK_EQ(getline(&line, &cap, f), 11);
      CHECK(line != NULL && strcmp(line, "first line\n") == 0);
      CHECK(ours(line));
      CHECK_EQ(getline(&line, &cap, f), 12); /* may grow it with realloc: still ours */
      CHECK_OURS_THEN_FREED(line, free(line));
      fclose(f);
    }
  }
  return th_finish();
}
