/* consumer/static_main.c -- a user of the installed libdlmalloc.a (dlmalloc::dlmalloc or
   pkg-config dlmalloc).  Only <dlmalloc.h> is included and no -D is passed by hand: the
   header must carry the library's options.  The dl functions serve their own heap; the C
   library's malloc stays the C library's. */
#include <dlmalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                                                                     \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "static_main.c:%d: %s\n", __LINE__, #cond);                        \
      return 1;                                                                           \
    }                                                                                     \
  } while (0)

int main(void) {
  size_t before = dlmallinfo().uordblks;
  char *p = dlmalloc(100000);
  char *sys;
  REQUIRE(p != NULL);
  memset(p, 0x5a, 100000);
  REQUIRE(dlmalloc_usable_size(p) >= 100000);
  REQUIRE(dlmallinfo().uordblks >= before + 100000);
  sys = malloc(50000); /* the C library's heap: dlmalloc's does not move */
  REQUIRE(sys != NULL);
  REQUIRE(dlmallinfo().uordblks < before + 150000);
  free(sys);
#if MSPACES
  {
    mspace ms = create_mspace(0, 1);
    void *q;
    REQUIRE(ms != NULL);
    q = mspace_malloc(ms, 1000);
    REQUIRE(q != NULL && mspace_usable_size(q) >= 1000);
    mspace_free(ms, q);
    REQUIRE(destroy_mspace(ms) > 0);
  }
#endif
  dlfree(p);
  REQUIRE(dlmallinfo().uordblks == before);
  printf("consumer_static: ok (portable-dlmalloc %s, MSPACES=%d)\n", PORTABLE_DLMALLOC_VERSION,
         MSPACES);
  return 0;
}
