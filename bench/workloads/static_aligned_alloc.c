/*
  static_aligned_alloc.c -- aligned_alloc for the static builds (build/static-*): malloc.c
  exports posix_memalign but not C11's aligned_alloc, and the C library's would hand out a
  block from the C library's heap, which our free would then reject.  The drop-in library
  has its own aligned_alloc; this one only has to serve the `aligned` workload.
*/
#include <stdlib.h>

void *aligned_alloc(size_t alignment, size_t size) {
  void *p;
  if (alignment < sizeof(void *))
    alignment = sizeof(void *);
  return posix_memalign(&p, alignment, size) == 0 ? p : NULL;
}
