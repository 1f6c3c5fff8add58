/*
  minimal.c -- the smallest program that needs an allocator: malloc, realloc and free only,
  no stdio.  bench/wasm/compare.sh builds it -Oz and stripped with each allocator; the
  difference in .wasm bytes is the allocator's code (and the parts of libc it pulls in).
*/
#include <stdlib.h>

int main(int argc, char **argv) {
  size_t n = (size_t)argc * 24u;
  unsigned char *p = malloc(n);
  unsigned char *q;
  (void)argv;
  if (p == NULL)
    return 1;
  p[0] = 1;
  q = realloc(p, n * 100u);
  if (q == NULL) {
    free(p);
    return 1;
  }
  q[n * 100u - 1u] = 2;
  free(q);
  return 0;
}
