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
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* volatile: keep the compiler from reasoning about (or warning on) the misuse below */
static void *volatile sink;

#if !ONLY_MSPACES
/* Memory dlmalloc never handed out: a global buffer and a tiny bump "allocator" over one. */
static unsigned char global_buf[256];
static size_t arena_words[64];
static size_t arena_used;

static void *arena_alloc(size_t n) {
  size_t words = (n + sizeof(size_t) - 1) / sizeof(size_t);
  size_t *block = arena_words + arena_used;
  block[0] = 0;                 /* a previous-size word, as dlmalloc's chunks have */
  block[1] = (words + 2) * sizeof(size_t) | 3u; /* a size word with flag bits set */
  arena_used += words + 2;
  return block + 2;
}

/* The decimal number at the start of s (0 if none). */
static size_t parse_size(const char *s) {
  size_t v = 0;
  while (*s >= '0' && *s <= '9')
    v = v * 10 + (size_t)(*s++ - '0');
  return v;
}
#endif

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
  if (strcmp(name, "freed_rewritten_double_free") == 0) {
    /* Everything past a freed block's first word rewritten (where a thread cache once kept
       its mark), then a second free. */
    void *before = dlmalloc(40), *p = dlmalloc(40), *after = dlmalloc(40);
    size_t usable = dlmalloc_usable_size(p);
    sink = before;
    sink = after;
    dlfree(p);
    memset((char *)p + sizeof(void *), 0, usable - sizeof(void *));
    dlfree(p);
    return 1;
  }
  if (strcmp(name, "freed_link_forged") == 0) {
    /* A use-after-free write of one word: the first word of a freed small block (its link in
       a thread cache or its bin) made to point at a global buffer.  The next mallocs of the
       size must not hand the buffer out. */
    static size_t target[16];
    void *a = dlmalloc(40), *p = dlmalloc(40), *q = dlmalloc(40), *b = dlmalloc(40);
    sink = a;
    sink = b;
    dlfree(q);
    dlfree(p);
    *(void **)p = &target[2];
    sink = dlmalloc(40);
    return dlmalloc(40) == (void *)&target[2] ? 1 : 3;
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
  if (strcmp(name, "double_free_mapped") == 0) {
    /* 1 MiB is above the mmap threshold (256 KiB): a direct-mapped block. */
    void *p = dlmalloc((size_t)1 << 20), *guard = dlmalloc(100);
    sink = guard;
    dlfree(p);
    dlfree(p);
    return 1;
  }
  if (strcmp(name, "free_global") == 0) {
    sink = dlmalloc(100);
    sink = global_buf + 64;
    dlfree(sink);
    return 1;
  }
  if (strcmp(name, "free_static_arena") == 0) {
    /* A block of "another allocator": a bump arena over a static buffer that, like dlmalloc,
       puts a size word in front of each block. */
    sink = dlmalloc(100);
    sink = arena_alloc(48);
    dlfree(sink);
    return 1;
  }
  if (strcmp(name, "free_libc_heap") == 0) {
    /* A block of the C library's malloc: a real heap address dlmalloc never handed out. */
    void *foreign = malloc(100);
    if (foreign == 0)
      return 2;
    memset(foreign, 0, 100);
    sink = dlmalloc(100);
    sink = foreign;
    dlfree(sink);
    return 1;
  }
  if (strncmp(name, "free_interior_", 14) == 0) {
    /* free(p + offset) for an offset inside the block (a multiple of 8). */
    size_t offset = parse_size(name + 14);
    unsigned char *p = (unsigned char *)dlmalloc(200), *guard = (unsigned char *)dlmalloc(100);
    if (offset == 0 || offset >= 200)
      return 2;
    memset(p, 0, 200);
    sink = guard;
    sink = p + offset;
    dlfree(sink);
    return 1;
  }
  if (strcmp(name, "realloc_freed") == 0) {
    void *p = dlmalloc(100), *guard = dlmalloc(100);
    sink = guard;
    dlfree(p);
    sink = dlrealloc(p, 200);
    return 1;
  }
  if (strncmp(name, "overflow", 8) == 0) {
    /* overflow<n>[x<hex>]_<self|next|both>: write n bytes of 'A' (or of the byte <hex>) from
       p + dlmalloc_usable_size(p) -- the first bytes past what the block may use -- then free p,
       the block after it, or that block and then p. */
    const char *rest = name + 8;
    size_t n = parse_size(rest), usable, i;
    unsigned char *p, *q, *guard, value = 'A';
    int free_next;
    while (*rest >= '0' && *rest <= '9')
      rest++;
    if (*rest == 'x') {
      unsigned v = 0;
      for (rest++; (*rest >= '0' && *rest <= '9') || (*rest >= 'a' && *rest <= 'f'); rest++)
        v = v * 16u + (unsigned)(*rest <= '9' ? *rest - '0' : *rest - 'a' + 10);
      value = (unsigned char)v;
    }
    if (strcmp(rest, "_self") == 0)
      free_next = 0;
    else if (strcmp(rest, "_next") == 0)
      free_next = 1;
    else if (strcmp(rest, "_both") == 0)
      free_next = 2; /* the neighbour first, then p */
    else
      return 2;
    if (n == 0 || n > 64)
      return 2;
    p = (unsigned char *)dlmalloc(40);
    q = (unsigned char *)dlmalloc(40);
    guard = (unsigned char *)dlmalloc(40);
    sink = guard;
    usable = dlmalloc_usable_size(p);
    memset(p, 0, usable);
    for (i = 0; i < n; i++)
      ((volatile unsigned char *)p)[usable + i] = value;
    if (free_next != 0)
      dlfree(q);
    if (free_next != 1)
      dlfree(p);
    sink = q;
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
  if (strcmp(name, "mspace_wrong_owner_any") == 0) {
    /* The same error in any build: the block of b freed into a, then a used further. */
    mspace a = create_mspace(0, 1), b = create_mspace(0, 1);
    void *p = mspace_malloc(b, 100), *q;
    sink = mspace_malloc(a, 100);
    mspace_free(a, p);
    q = mspace_malloc(a, 100);
    sink = q;
    destroy_mspace(a);
    destroy_mspace(b);
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
  switch (commit(argv[1])) {
  case 0:
    th_write("unknown case\n");
    return 2;
  case 2:
    th_write("bad case parameter or setup failed\n");
    return 2;
  default:
    break;
  }
  th_write("the usage error went unnoticed: no custom_abort\n");
  return 1;
}
#endif
