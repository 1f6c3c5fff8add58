/*
  test_death.c -- usage errors must end in custom_abort with a reason.

  Usage: test_death <case>.  Each case commits one usage error; the allocator must notice it
  and call custom_abort(), which (test_port.c) prints "custom_abort: <reason>" and exits with
  status 86.  CTest matches that line with PASS_REGULAR_EXPRESSION, so a crash, a hang or a
  silent return all fail.  If the error goes unnoticed, this program says so and returns 1.
*/
#include "malloc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"

/* volatile: keep the compiler from reasoning about (or warning on) the misuse below */
static void *volatile sink;

static int commit(const char *name) {
#if !ONLY_MSPACES
  if (strcmp(name, "double_free") == 0) {
    void *p = dlmalloc(100), *guard = dlmalloc(100);
    sink = guard;
    dlfree(p);
    dlfree(p);
    return 1;
  }
  if (strcmp(name, "double_free_large") == 0) {
    void *p = dlmalloc(20000), *guard = dlmalloc(100);
    sink = guard;
    dlfree(p);
    dlfree(p);
    return 1;
  }
  if (strcmp(name, "free_stack") == 0) {
    unsigned char buf[256];
    void *warm = dlmalloc(100); /* the heap exists */
    sink = warm;
    memset(buf, 0, sizeof buf);
    sink = buf + 64;
    dlfree(sink);
    return 1;
  }
  if (strcmp(name, "realloc_stack") == 0) {
    unsigned char buf[256];
    void *warm = dlmalloc(100);
    sink = warm;
    memset(buf, 0, sizeof buf);
    sink = buf + 64;
    sink = dlrealloc(sink, 500);
    return 1;
  }
  if (strcmp(name, "free_overrun") == 0) {
    /* Write past the end of a block over the header of the next one, then free that one. */
    unsigned char *p = (unsigned char *)dlmalloc(24);
    unsigned char *q = (unsigned char *)dlmalloc(24);
    unsigned char *guard = (unsigned char *)dlmalloc(24);
    sink = guard;
    memset(p, 0xFF, (size_t)(q - p));
    dlfree(q);
    return 1;
  }
#endif
#if MSPACES
  if (strcmp(name, "mspace_double_free") == 0) {
    mspace m = create_mspace(0, 1);
    void *p = mspace_malloc(m, 100), *guard = mspace_malloc(m, 100);
    sink = guard;
    mspace_free(m, p);
    mspace_free(m, p);
    return 1;
  }
  if (strcmp(name, "mspace_free_stack") == 0) {
    unsigned char buf[256];
    mspace m = create_mspace(0, 1);
    sink = mspace_malloc(m, 100);
    memset(buf, 0, sizeof buf);
    sink = buf + 64;
    mspace_free(m, sink);
    return 1;
  }
#if FOOTERS
  if (strcmp(name, "mspace_wrong_owner") == 0) {
    /* With FOOTERS the chunk names its heap: freeing it into another mspace is caught. */
    mspace a = create_mspace(0, 1), b = create_mspace(0, 1);
    void *p = mspace_malloc(b, 100);
    sink = a;
    mspace_free(a, p);
    return 1;
  }
#endif
#endif
  return 0;
}

#if TH_HOSTED
int main(int argc, char **argv) {
  if (argc < 2) {
    th_write("usage: test_death <case>\n");
    return 2;
  }
  if (!commit(argv[1])) {
    th_write("unknown case\n");
    return 2;
  }
  th_write("the usage error went unnoticed: no custom_abort\n");
  return 1;
}
#endif
