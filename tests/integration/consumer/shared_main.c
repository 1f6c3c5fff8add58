/* consumer/shared_main.c -- a program linked against the installed libdlmalloc.so
   (dlmalloc::shared or pkg-config dlmalloc-shared): its plain malloc/free are libdlmalloc's,
   which the dl statistics from <dlmalloc.h> show. */
#include <dlmalloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQUIRE(cond)                                                                     \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "shared_main.c:%d: %s\n", __LINE__, #cond);                        \
      return 1;                                                                           \
    }                                                                                     \
  } while (0)

int main(void) {
  size_t before = dlmallinfo().uordblks;
  char *p = malloc(100000); /* the standard name */
  REQUIRE(p != NULL);
  memset(p, 0x5a, 100000);
  REQUIRE(dlmalloc_usable_size(p) >= 100000);
  REQUIRE(dlmallinfo().uordblks >= before + 100000); /* so it came from libdlmalloc's heap */
  free(p);
  REQUIRE(dlmallinfo().uordblks == before);
  printf("consumer_shared: ok (malloc is libdlmalloc's)\n");
  return 0;
}
