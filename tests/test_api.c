/*
  test_api.c -- every function of malloc.h, called and checked.

  The checks common to the global heap and to mspaces run through the table of heaps.h; the
  functions that exist only for the global heap (posix_memalign, valloc, pvalloc, teardown) or
  only for mspaces (create/destroy, with_base, track_large_chunks) have their own sections.
  Only malloc.h, <stddef.h>, <stdint.h>, <string.h> and the harness are used; errno checks
  are heaps.h's (hosted builds only), and the C library's malloc (<stdlib.h>) is in one section.
*/
#include "malloc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "heaps.h"


/* ---- Checks shared by the global heap and mspaces ----------------------------------------- */

static void t_malloc_free(const struct heap *h) {
  static const size_t sizes[] = {0,   1,   7,    8,    15,    16,     17,      24,
                                 31,  32,  100,  255,  256,   257,    1000,    4096,
                                 100000, 300000, 2 * 1024 * 1024};
  enum { N = sizeof(sizes) / sizeof(sizes[0]) };
  void *p[N];
  size_t i;
  th_section("malloc/free");
  for (i = 0; i < N; i++) {
    p[i] = h->malloc(sizes[i]);
    if (!CHECK(p[i] != NULL))
      return;
    CHECK(TH_ALIGNED(p[i], MALLOC_ALIGNMENT));
    CHECK_GE(h->usable_size(p[i]), sizes[i]);
    fill_pattern(p[i], sizes[i], (uint32_t)i);
  }
  for (i = 0; i < N; i++)
    CHECK(check_pattern(p[i], sizes[i], (uint32_t)i));
  CHECK(p[0] != p[1]);
  for (i = 0; i < N; i++)
    h->free(p[i]);
  h->free(NULL); /* does nothing */

  /* malloc(0) gives distinct, freeable blocks. */
  p[0] = h->malloc(0);
  p[1] = h->malloc(0);
  CHECK(p[0] != NULL && p[1] != NULL && p[0] != p[1]);
  h->free(p[0]);
  h->free(p[1]);
}

static void t_calloc(const struct heap *h) {
  static const size_t sizes[] = {1, 24, 200, 5000, 100000, 1 * MB};
  size_t i;
  th_section("calloc");
  for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    size_t n = sizes[i];
    /* Dirty a block, free it, then calloc the same size: the result must be zeroed even if
       it reuses that memory. */
    unsigned char *d = (unsigned char *)h->malloc(n);
    unsigned char *c;
    if (!CHECK(d != NULL))
      return;
    memset(d, 0xEE, n);
    h->free(d);
    c = (unsigned char *)h->calloc(1, n);
    if (!CHECK(c != NULL))
      return;
    CHECK(TH_ALIGNED(c, MALLOC_ALIGNMENT));
    CHECK(all_zero(c, n));
    h->free(c);
    c = (unsigned char *)h->calloc(n, 3);
    if (!CHECK(c != NULL))
      return;
    CHECK(all_zero(c, n * 3));
    h->free(c);
  }
  {
    void *a = h->calloc(0, 10), *b = h->calloc(10, 0);
    CHECK(a != NULL);
    CHECK(b != NULL);
    h->free(a);
    h->free(b);
  }
}

static void t_realloc(const struct heap *h) {
  static const size_t steps[] = {100, 200, 5000, 70000, 400000, 3 * MB, 100000, 900, 10};
  size_t i, prev;
  unsigned char *p, *q;
  th_section("realloc");
  p = (unsigned char *)h->realloc(NULL, 100); /* realloc(NULL, n) is malloc(n) */
  if (!CHECK(p != NULL))
    return;
  CHECK_GE(h->usable_size(p), 100);
  fill_pattern(p, 100, 7);
  prev = 100;
  for (i = 1; i < sizeof(steps) / sizeof(steps[0]); i++) {
    size_t n = steps[i], keep = prev < n ? prev : n;
    q = (unsigned char *)h->realloc(p, n);
    if (!CHECK(q != NULL))
      break;
    CHECK(TH_ALIGNED(q, MALLOC_ALIGNMENT));
    CHECK_GE(h->usable_size(q), n);
    CHECK(check_pattern(q, keep, 7)); /* contents kept up to min(old, new) */
    fill_pattern(q, n, 7);
    p = q;
    prev = n;
  }
  /* A request that cannot be met leaves the block untouched. */
  q = (unsigned char *)h->realloc(p, SIZE_MAX - 65536);
  CHECK(q == NULL);
  if (q != NULL)
    p = q;
  CHECK(check_pattern(p, prev, 7));
#if !defined(REALLOC_ZERO_BYTES_FREES) || REALLOC_ZERO_BYTES_FREES
  CHECK(h->realloc(p, 0) == NULL); /* frees p */
#else
  q = (unsigned char *)h->realloc(p, 0);
  CHECK(q != NULL);
  h->free(q);
#endif
}

static void t_realloc_in_place(const struct heap *h) {
  unsigned char *a, *b, *c, *r;
  th_section("realloc_in_place");
  /* a and b are larger than a thread cache keeps (MALLOC_THREAD_CACHE_MAX_SIZE): they come
     from the heap one after the other, and freeing b makes its space free at once. */
  a = (unsigned char *)h->malloc(1100);
  b = (unsigned char *)h->malloc(2000);
  c = (unsigned char *)h->malloc(1000);
  if (!CHECK(a != NULL && b != NULL && c != NULL))
    return;
  fill_pattern(a, 1000, 1);
  fill_pattern(c, 1000, 3);
  /* Shrinking never needs to move. */
  r = (unsigned char *)h->realloc_in_place(a, 500);
  CHECK(r == a);
  CHECK(check_pattern(a, 500, 1));
  CHECK_GE(h->usable_size(a), 500);
  /* Growing into the free neighbour (b) stays in place. */
  h->free(b);
  r = (unsigned char *)h->realloc_in_place(a, 1800);
  CHECK(r == a);
  CHECK_GE(h->usable_size(a), 1800);
  CHECK(check_pattern(a, 500, 1));
  fill_pattern(a, 1800, 2);
  CHECK(check_pattern(c, 1000, 3));
  /* Impossible growth: NULL, block untouched. */
  r = (unsigned char *)h->realloc_in_place(a, 64 * MB);
  CHECK(r == NULL);
  CHECK(check_pattern(a, 1800, 2));
  CHECK(check_pattern(c, 1000, 3));
  h->free(a);
  h->free(c);
}

static void t_memalign(const struct heap *h) {
  size_t a;
  th_section("memalign");
  for (a = 1; a <= 65536; a <<= 1) {
    size_t want = a < MALLOC_ALIGNMENT ? MALLOC_ALIGNMENT : a;
    void *p = h->memalign(a, 100);
    if (!CHECK(p != NULL))
      return;
    CHECK(TH_ALIGNED(p, want));
    CHECK_GE(h->usable_size(p), 100);
    fill_pattern(p, 100, (uint32_t)a);
    CHECK(check_pattern(p, 100, (uint32_t)a));
    h->free(p);
  }
  {
    /* Not powers of two: rounded up to the next one. */
    void *p24 = h->memalign(24, 10), *p100 = h->memalign(100, 10);
    void *big = h->memalign(4096, 1 * MB); /* directly mapped */
    CHECK(p24 != NULL && TH_ALIGNED(p24, 32));
    CHECK(p100 != NULL && TH_ALIGNED(p100, 128));
    CHECK(big != NULL && TH_ALIGNED(big, 4096));
    if (big != NULL) {
      CHECK_GE(h->usable_size(big), 1 * MB);
      memset(big, 0x11, 1 * MB);
    }
    h->free(p24);
    h->free(p100);
    h->free(big);
  }
}

/* A pointer that is not a block in use answers 0.  The words in front of the foreign ones
   claim a huge block in use (all bits set): read, they would give a size.  The freed mapped
   block is unmapped: read, its header was a fault.  (INSECURE reads every header unchecked,
   as the original did.) */
static void t_usable_size_not_in_use(const struct heap *h) {
#ifdef TEST_INSECURE
  (void)h;
#else
  static size_t global_words[8];
  size_t stack_words[8], i;
  size_t *in_global = (size_t *)(((uintptr_t)&global_words[4]) & ~(uintptr_t)15);
  size_t *in_stack = (size_t *)(((uintptr_t)&stack_words[4]) & ~(uintptr_t)15);
  unsigned char *before = (unsigned char *)h->malloc(200);
  unsigned char *p = (unsigned char *)h->malloc(200);
  unsigned char *after = (unsigned char *)h->malloc(200);
  void *big;
  for (i = 0; i < 8; i++)
    global_words[i] = stack_words[i] = ~(size_t)0;
  CHECK_EQ(h->usable_size(in_global), 0);
  CHECK_EQ(h->usable_size(in_stack), 0);
  if (!CHECK(before != NULL && p != NULL && after != NULL))
    return;
  memset(before, 0, 200);
  CHECK_EQ(h->usable_size(before + 16), 0); /* a pointer into a block */
  CHECK_EQ(h->usable_size(before + 32), 0);
  h->free(p); /* between two blocks in use: its header says free (or cached) */
  CHECK_EQ(h->usable_size(p), 0);
  big = h->malloc(4 * TEST_MMAP_THRESHOLD);
  if (CHECK(big != NULL)) {
    CHECK_GE(h->usable_size(big), 4 * TEST_MMAP_THRESHOLD);
    h->free(big);
    CHECK_EQ(h->usable_size(big), 0);
  }
  h->free(before);
  h->free(after);
#endif
}

static void t_usable_size(const struct heap *h) {
  size_t n;
  th_section("usable_size");
  CHECK_EQ(h->usable_size(NULL), 0);
  for (n = 1; n < 700; n += 7) {
    unsigned char *p = (unsigned char *)h->malloc(n);
    unsigned char *q = (unsigned char *)h->malloc(n);
    size_t u;
    if (!CHECK(p != NULL && q != NULL))
      return;
    u = h->usable_size(p);
    CHECK_GE(u, n);
    CHECK_LT(u, n + 128); /* a small block is not much bigger than asked */
    fill_pattern(q, n, (uint32_t)n);
    memset(p, 0x5A, u); /* every usable byte is writable without hurting the neighbour */
    CHECK(check_pattern(q, n, (uint32_t)n));
    h->free(p);
    h->free(q);
  }
  t_usable_size_not_in_use(h);
}

static void t_independent(const struct heap *h) {
  void **arr;
  void *given[4];
  size_t sizes[3] = {16, 1000, 70000};
  size_t i, j;
  unsigned char *dirty;
  th_section("independent_calloc/comalloc");
  dirty = (unsigned char *)h->malloc(4000); /* memory the next calls may reuse */
  if (dirty != NULL) {
    memset(dirty, 0xCC, 4000);
    h->free(dirty);
  }
  arr = h->independent_calloc(5, 300, NULL);
  if (CHECK(arr != NULL)) {
    for (i = 0; i < 5; i++) {
      CHECK(arr[i] != NULL);
      CHECK(TH_ALIGNED(arr[i], MALLOC_ALIGNMENT));
      CHECK_GE(h->usable_size(arr[i]), 300);
      CHECK(all_zero(arr[i], 300));
      fill_pattern(arr[i], 300, (uint32_t)(100 + i));
    }
    for (i = 0; i < 5; i++)
      CHECK(check_pattern(arr[i], 300, (uint32_t)(100 + i))); /* no overlap */
    for (i = 0; i < 5; i++)
      h->free(arr[i]);
    h->free(arr); /* the array itself was allocated */
  }
  arr = h->independent_calloc(4, 100, given);
  CHECK(arr == given);
  if (arr != NULL)
    for (i = 0; i < 4; i++) {
      CHECK(given[i] != NULL && all_zero(given[i], 100));
      h->free(given[i]);
    }
  arr = h->independent_comalloc(3, sizes, NULL);
  if (CHECK(arr != NULL)) {
    for (i = 0; i < 3; i++) {
      CHECK(arr[i] != NULL && TH_ALIGNED(arr[i], MALLOC_ALIGNMENT));
      CHECK_GE(h->usable_size(arr[i]), sizes[i]);
      fill_pattern(arr[i], sizes[i], (uint32_t)(200 + i));
    }
    for (i = 0; i < 3; i++) {
      CHECK(check_pattern(arr[i], sizes[i], (uint32_t)(200 + i)));
      for (j = 0; j < 3; j++) /* disjoint */
        if (i != j)
          CHECK((char *)arr[i] + sizes[i] <= (char *)arr[j] ||
                (char *)arr[j] + sizes[j] <= (char *)arr[i]);
    }
    for (i = 0; i < 3; i++)
      h->free(arr[i]);
    h->free(arr);
  }
}

static void t_bulk_free(const struct heap *h) {
  void *arr[10];
  void *keep[10];
  size_t i;
  th_section("bulk_free");
  for (i = 0; i < 10; i++)
    arr[i] = i == 3 ? NULL : h->malloc(i == 7 ? 1 * MB : 40 + 100 * i);
  for (i = 0; i < 10; i++)
    keep[i] = arr[i];
  CHECK_EQ(h->bulk_free(arr, 10), 0);
  for (i = 0; i < 10; i++)
    CHECK(arr[i] == NULL);
#if MALLOC_INSPECT_ALL
  for (i = 0; i < 10; i++) /* freed for real: no block in use holds them any more */
    if (i != 3 && i != 7)
      CHECK_EQ(heap_blocks_holding(h, keep[i], 40), 0);
#else
  (void)keep;
#endif
}

static void t_mallopt(const struct heap *h) {
  th_section("mallopt");
  CHECK_EQ(h->mallopt(12345, 1), 0); /* unknown parameter */
  CHECK_EQ(h->mallopt(M_GRANULARITY, 3), 0);
  CHECK_EQ(h->mallopt(M_GRANULARITY, 1000), 0);
  CHECK_EQ(h->mallopt(M_GRANULARITY, (int)(TEST_PAGE_SIZE / 2)), 0);
  CHECK_EQ(h->mallopt(M_GRANULARITY, 0), 0);
  CHECK_EQ(h->mallopt(M_GRANULARITY, -4096), 0);
  CHECK_EQ(h->mallopt(M_TRIM_THRESHOLD, -2), 0); /* -1 means "never"; below that is invalid */
  CHECK_EQ(h->mallopt(M_MMAP_THRESHOLD, -2), 0);
  CHECK_EQ(h->mallopt(M_GRANULARITY, 128 * 1024), 1);
  CHECK_EQ(h->mallopt(M_GRANULARITY, 64 * 1024), 1);
  CHECK_EQ(h->mallopt(M_TRIM_THRESHOLD, 1024 * 1024), 1);
  CHECK_EQ(h->mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024), 1);
  CHECK_EQ(h->mallopt(M_MMAP_THRESHOLD, 64 * 1024), 1);
  CHECK_EQ(h->mallopt(M_MMAP_THRESHOLD, (int)TEST_MMAP_THRESHOLD), 1);
}

static void t_footprint(const struct heap *h) {
  size_t f0, lim, got;
  void *blocks[256];
  size_t n = 0, i;
  th_section("footprint");
  f0 = h->footprint();
  CHECK_GE(h->max_footprint(), f0);
  CHECK_EQ(h->footprint_limit(), SIZE_MAX); /* no limit by default */
  lim = f0 + 1 * MB;
  got = h->set_footprint_limit(lim);
  CHECK_GE(got, lim); /* rounded up to the granularity */
  CHECK_LT(got, lim + 1 * MB);
  CHECK_EQ(h->footprint_limit(), got);
  CHECK(h->malloc(2 * got) == NULL); /* beyond the limit, direct map or not */
  /* Fill up to the limit: the footprint never passes it. */
  while (n < 256) {
    void *p = h->malloc(60000);
    if (p == NULL)
      break;
    blocks[n++] = p;
    CHECK_LE(h->footprint(), got);
  }
  CHECK(n < 256); /* the limit stopped us ... */
  CHECK(n > 0);   /* ... but only after it let the heap grow */
  CHECK_GE(h->max_footprint(), h->footprint());
  for (i = 0; i < n; i++)
    h->free(blocks[i]);
  /* 0 and SIZE_MAX both mean "no limit". */
  h->set_footprint_limit(0);
  CHECK_EQ(h->footprint_limit(), SIZE_MAX);
  CHECK_EQ(h->set_footprint_limit(SIZE_MAX), SIZE_MAX);
  CHECK_EQ(h->footprint_limit(), SIZE_MAX);
  {
    void *big = h->malloc(4 * got);
    CHECK(big != NULL);
    h->free(big);
  }
}

#if !NO_MALLINFO
static void t_mallinfo(const struct heap *h) {
  struct mallinfo m0, m1, m2, m3;
  void *p, *big;
  th_section("mallinfo");
  m0 = h->mallinfo();
  p = h->malloc(1000);
  m1 = h->mallinfo();
  CHECK(p != NULL);
  CHECK_GE(m1.uordblks, m0.uordblks + 1000);
  CHECK_GT(m1.arena, 0);
  CHECK_GE(m1.ordblks, 1);
  CHECK_EQ(m1.usmblks, h->max_footprint());
  CHECK_EQ(m1.arena + m1.hblkhd, h->footprint());
  CHECK_LE(m1.keepcost, m1.fordblks);
  big = h->malloc(8 * MB); /* larger than any free space so far: directly mapped */
  m2 = h->mallinfo();
  CHECK(big != NULL);
  CHECK_GE(m2.hblkhd, m1.hblkhd + 8 * MB);
  CHECK_GE(m2.uordblks, m1.uordblks + 8 * MB);
  CHECK_EQ(m2.arena + m2.hblkhd, h->footprint());
  h->free(big);
  h->free(p);
  m3 = h->mallinfo();
  CHECK_LT(m3.hblkhd, m2.hblkhd);
  /* fsmblks: bytes in the thread cache, which counts them as in use (0 without one). */
  CHECK_LT(m3.uordblks - m3.fsmblks, m1.uordblks - m1.fsmblks);
}
#endif

#if MALLOC_INSPECT_ALL
struct walk {
  size_t chunks, used_chunks, free_chunks, used_bytes, bad_ranges;
};

static void walker(void *start, void *end, size_t used, void *arg) {
  struct walk *w = (struct walk *)arg;
  w->chunks++;
  if ((char *)start >= (char *)end || used > (size_t)((char *)end - (char *)start))
    w->bad_ranges++;
  if (used > 0) {
    w->used_chunks++;
    w->used_bytes += used;
  } else {
    w->free_chunks++;
  }
}

static void t_inspect_all(const struct heap *h) {
  static const size_t sizes[] = {10, 100, 1000, 5000, 20000};
  enum { N = sizeof(sizes) / sizeof(sizes[0]) };
  void *p[N];
  struct walk w0, w1;
  size_t i, sum = 0;
  th_section("inspect_all");
  /* Blocks freed by earlier sections may wait in the thread cache, which counts them as in
     use; trim gives them back, so that the blocks below are new in-use chunks. */
  (void)h->trim(0);
  memset(&w0, 0, sizeof w0);
  h->inspect_all(walker, &w0);
  for (i = 0; i < N; i++) {
    p[i] = h->malloc(sizes[i]);
    if (!CHECK(p[i] != NULL))
      return;
    sum += sizes[i];
  }
  memset(&w1, 0, sizeof w1);
  h->inspect_all(walker, &w1);
  CHECK_EQ(w1.bad_ranges, 0);
  CHECK_GE(w1.used_chunks, w0.used_chunks + N);
  CHECK_GE(w1.used_bytes, w0.used_bytes + sum);
  CHECK_GE(w1.free_chunks, 1); /* the top at least */
  for (i = 0; i < N; i++)
    CHECK_EQ(heap_blocks_holding(h, p[i], sizes[i]), 1);
  h->free(p[2]);
  /* A freed block the thread cache keeps still counts as in use. */
  CHECK_EQ(heap_blocks_holding(h, p[2], sizes[2]), MALLOC_THREAD_CACHE && !h->is_mspace);
  for (i = 0; i < N; i++)
    if (i != 2)
      h->free(p[i]);
}
#endif

static void t_trim(const struct heap *h) {
  enum { N = 2000 };
  static void *blocks[N];
  size_t f1, f2, f3, f4, i;
  int r;
  th_section("trim");
  CHECK_EQ(h->mallopt(M_TRIM_THRESHOLD, 0x7fffffff), 1); /* no automatic trimming in free */
  for (i = 0; i < N; i++) {
    blocks[i] = h->malloc(8000);
    if (!CHECK(blocks[i] != NULL))
      return;
  }
  f1 = h->footprint();
  CHECK_GE(f1, (size_t)N * 8000);
  for (i = N; i-- > 0;)
    h->free(blocks[i]);
  f2 = h->footprint(); /* free may already have released whole segments (now and then it
                          looks for them), so only the total is certain: */
  r = h->trim(0);
  f3 = h->footprint();
  CHECK_LT(f3, f1);
  CHECK_EQ(r == 1, f3 < f2); /* 1 exactly when trim released something */
#if PORTABLE
  /* Segments are never merged in PORTABLE builds, so every segment but top's is now one free
     chunk and goes back whole: most of the 16 MB.  (Hosted builds merge adjacent mappings;
     free space below a live block there is not top space and may stay.) */
  CHECK_LT(f3, f1 / 2);
#endif
  r = h->trim(0);
  f4 = h->footprint();
  CHECK_EQ(r == 1, f4 < f3); /* 1 exactly when something was released */
  CHECK_EQ(h->trim((size_t)-1 / 2), 0);
  CHECK_EQ(h->footprint(), f4);
  CHECK_EQ(h->mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024), 1);
  {
    void *p = h->malloc(100); /* still usable */
    CHECK(p != NULL);
    h->free(p);
  }
}

/* malloc_stats' text, where the instrumented port records it (tests/CMakeLists.txt defines
   MALLOC_STATS_WRITE for its port variants; elsewhere the text is not seen). */
#ifdef MALLOC_STATS_WRITE
#include "test_port.h"


static void check_stats_text(const struct heap *h, size_t footprint) {
  const char *text = tp_stats_text();
#if NO_MALLOC_STATS
  (void)h;
  (void)footprint;
  CHECK_EQ(strlen(text), 0);
#else
  size_t in_use = stats_line_value(text, "in use bytes     = ");
  CHECK_EQ(stats_line_value(text, "max system bytes = "), h->max_footprint());
  CHECK_EQ(stats_line_value(text, "system bytes     = "), footprint);
  CHECK(in_use >= 500 && in_use <= footprint);
#if !NO_MALLINFO
  CHECK_EQ(in_use, h->mallinfo().uordblks); /* both count every chunk not free */
#endif
#endif
}
#endif /* MALLOC_STATS_WRITE */

static void t_stats(const struct heap *h) {
  size_t f;
  void *p = h->malloc(500);
  th_section("stats");
  f = h->footprint();
#ifdef MALLOC_STATS_WRITE
  tp_stats_clear();
#endif
  h->stats(); /* must not change the heap */
  CHECK_EQ(h->footprint(), f);
#ifdef MALLOC_STATS_WRITE
  check_stats_text(h, f);
#endif
  CHECK(p != NULL && h->usable_size(p) >= 500);
  h->free(p);
}

static void run_heap_checks(const struct heap *h) {
  th_write("-- ");
  th_write(h->name);
  th_write("\n");
#if !NO_MALLINFO
  t_mallinfo(h); /* first: it wants no big free space around */
#endif
  t_malloc_free(h);
  t_calloc(h);
  t_realloc(h);
  t_realloc_in_place(h);
  t_memalign(h);
  t_usable_size(h);
  t_independent(h);
  t_bulk_free(h);
  t_mallopt(h);
  t_footprint(h);
#if MALLOC_INSPECT_ALL
  t_inspect_all(h);
#endif
  t_trim(h);
  t_stats(h);
}

/* ---- Global heap only ---------------------------------------------------------------------- */
#if !ONLY_MSPACES
#if TH_HOSTED
#include <stdlib.h>
/* The C library's malloc linked beside this one (the dl-prefixed builds; without the prefix
   both names are this allocator): their blocks never overlap.  (On wasm32 both took the
   memory from __heap_base on, and handed out the same addresses.) */
static void t_libc_malloc_beside(void) {
  enum { N = 64 };
  void *ours[N], *libc[N];
  size_t i, damaged = 0;
  th_section("the C library's malloc beside this one");
  for (i = 0; i < N; i++) {
    size_t n = 24 + 40 * i;
    ours[i] = dlmalloc(n);
    libc[i] = malloc(n);
    if (!CHECK(ours[i] != NULL && libc[i] != NULL))
      return;
    fill_pattern(ours[i], n, (uint32_t)i);
    fill_pattern(libc[i], n, (uint32_t)(i + N));
  }
  for (i = 0; i < N; i++) {
    size_t n = 24 + 40 * i;
    damaged += !check_pattern(ours[i], n, (uint32_t)i);
    damaged += !check_pattern(libc[i], n, (uint32_t)(i + N));
    dlfree(ours[i]);
    free(libc[i]);
  }
  CHECK_EQ(damaged, 0);
}
#endif

static void t_posix_memalign(void) {
  static const size_t bad[] = {0, 1, 2, 3, 24, 48, 1000, sizeof(void *) / 2, sizeof(void *) + 1};
  size_t a, i;
  void *sentinel = (void *)&sentinel;
  th_section("posix_memalign");
  for (a = sizeof(void *); a <= 65536; a <<= 1) {
    void *p = NULL;
    int rc = dlposix_memalign(&p, a, 200);
    CHECK_EQ(rc, 0);
    if (!CHECK(p != NULL))
      continue;
    CHECK(TH_ALIGNED(p, a));
    CHECK_GE(dlmalloc_usable_size(p), 200);
    dlfree(p);
  }
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    void *p = sentinel;
    int rc = dlposix_memalign(&p, bad[i], 16);
    CHECK_RC_EINVAL(rc);
    CHECK(p == sentinel); /* untouched */
  }
  {
    void *p = sentinel;
    int rc = dlposix_memalign(&p, 64, SIZE_MAX - 4096);
    CHECK_RC_ENOMEM(rc);
#if SIZE_MAX > 0xFFFFFFFFu /* half the address space: possible on a 32-bit system */
    rc = dlposix_memalign(&p, 64, SIZE_MAX / 2);
    CHECK_RC_ENOMEM(rc);
#endif
  }
}

static void t_valloc(void) {
  void *p, *q;
  th_section("valloc/pvalloc");
  p = dlvalloc(1);
  q = dlvalloc(TEST_PAGE_SIZE + 1);
  CHECK(p != NULL && TH_ALIGNED(p, TEST_PAGE_SIZE));
  CHECK(q != NULL && TH_ALIGNED(q, TEST_PAGE_SIZE));
  if (q != NULL)
    CHECK_GE(dlmalloc_usable_size(q), TEST_PAGE_SIZE + 1);
  dlfree(p);
  dlfree(q);
  p = dlpvalloc(1);
  q = dlpvalloc(TEST_PAGE_SIZE + 1);
  CHECK(p != NULL && TH_ALIGNED(p, TEST_PAGE_SIZE));
  CHECK(q != NULL && TH_ALIGNED(q, TEST_PAGE_SIZE));
  if (p != NULL) {
    CHECK_GE(dlmalloc_usable_size(p), TEST_PAGE_SIZE); /* whole pages */
    memset(p, 0x22, TEST_PAGE_SIZE);
  }
  if (q != NULL)
    CHECK_GE(dlmalloc_usable_size(q), 2 * TEST_PAGE_SIZE);
  dlfree(p);
  dlfree(q);
}

static void t_teardown(void) {
  void *small, *big;
  size_t released;
  th_section("malloc_teardown");
  small = dlmalloc(100);
  big = dlmalloc(2 * MB);
  CHECK(small != NULL && big != NULL);
  CHECK_GT(dlmalloc_footprint(), 2 * MB);
  released = dlmalloc_teardown(); /* every pointer is now invalid */
  CHECK_GE(released, 2 * MB);
  CHECK_EQ(dlmalloc_footprint(), 0);
  small = dlmalloc(100);
  CHECK(small != NULL);
  if (small != NULL)
    memset(small, 1, 100);
  CHECK_GT(dlmalloc_footprint(), 0);
  dlfree(small);
  CHECK_GT(dlmalloc_teardown(), 0); /* a second round works the same way */
  CHECK_EQ(dlmalloc_footprint(), 0);
}
#endif /* !ONLY_MSPACES */

/* ---- mspaces only ------------------------------------------------------------------------ */
#if MSPACES && MALLOC_INSPECT_ALL && !NO_MALLINFO
/* What is left of top once a request has been carved from it may be smaller than any chunk,
   one alignment unit (or, with MALLOC_ALIGNMENT above 32, the part of one that top's size
   began with): inspect_all walks it like any top (fuzz.tcache found the walk refusing it as a
   damaged chunk). */
static void t_inspect_small_top(void) {
  mspace m = create_mspace(0, 0);
  struct walk w0, w;
#if FOOTERS
  const size_t over = 2 * sizeof(size_t);
#else
  const size_t over = sizeof(size_t);
#endif
  size_t top;
  void *q;
  th_section("inspect_all with top smaller than a chunk");
  if (!CHECK(m != NULL))
    return;
  top = (size_t)mspace_mallinfo(m).keepcost; /* top's size, in a fresh mspace all of it */
  if (CHECK_GT(top, 4 * MALLOC_ALIGNMENT)) {
    memset(&w0, 0, sizeof w0);
    mspace_inspect_all(m, walker, &w0); /* (the mspace's own state is a chunk in use) */
    q = mspace_malloc(m, top - MALLOC_ALIGNMENT - over);
    CHECK(q != NULL);
    CHECK_EQ(mspace_mallinfo(m).keepcost, (top - 1) % MALLOC_ALIGNMENT + 1);
    memset(&w, 0, sizeof w);
    mspace_inspect_all(m, walker, &w);
    CHECK_EQ(w.bad_ranges, 0);
    CHECK_EQ(w.used_chunks, w0.used_chunks + 1);
    CHECK_GE(w.used_bytes, w0.used_bytes + top - MALLOC_ALIGNMENT - over);
    mspace_free(m, q);
  }
  destroy_mspace(m);
}
#endif

#if MSPACES
static unsigned char base_buffer[256 * 1024];

static void t_mspace_lifecycle(void) {
  mspace m;
  size_t fp, released;
  void *big;
  th_section("create/destroy_mspace");
  m = create_mspace(0, 1);
  if (!CHECK(m != NULL))
    return;
  CHECK_GT(mspace_footprint(m), 0);
  CHECK_EQ(mspace_track_large_chunks(m, 1), 0); /* previous setting: off */
  CHECK_EQ(mspace_track_large_chunks(m, 1), 1);
  big = mspace_malloc(m, 2 * MB); /* tracked: destroy_mspace releases it */
  CHECK(big != NULL);
  fp = mspace_footprint(m);
  CHECK_GT(fp, 2 * MB);
  released = destroy_mspace(m);
  CHECK_EQ(released, fp);

  m = create_mspace(4 * MB, 0); /* unlocked, first segment of at least 4 MB */
  if (!CHECK(m != NULL))
    return;
  CHECK_GE(mspace_footprint(m), 4 * MB);
  CHECK_EQ(mspace_track_large_chunks(m, 0), 0);
  {
    void *p = mspace_malloc(m, 3 * MB); /* fits in the first segment */
    CHECK(p != NULL);
    CHECK_LT(mspace_footprint(m), 8 * MB);
    mspace_free(m, p);
  }
  fp = mspace_footprint(m);
  CHECK_EQ(destroy_mspace(m), fp);
}

static void t_mspace_with_base(void) {
  mspace m;
  unsigned char *p[20];
  size_t i;
  th_section("create_mspace_with_base");
  CHECK(create_mspace_with_base(base_buffer, 16, 0) == NULL); /* too small */
  m = create_mspace_with_base(base_buffer, sizeof base_buffer, 1);
  if (!CHECK(m != NULL))
    return;
  CHECK((unsigned char *)m >= base_buffer && (unsigned char *)m < base_buffer + sizeof base_buffer);
  for (i = 0; i < 20; i++) {
    p[i] = (unsigned char *)mspace_malloc(m, 100 + 50 * i);
    if (!CHECK(p[i] != NULL))
      return;
    CHECK(p[i] >= base_buffer && p[i] + 100 + 50 * i <= base_buffer + sizeof base_buffer);
    fill_pattern(p[i], 100 + 50 * i, (uint32_t)i);
  }
  for (i = 0; i < 20; i++)
    CHECK(check_pattern(p[i], 100 + 50 * i, (uint32_t)i));
  for (i = 0; i < 20; i += 2)
    mspace_free(m, p[i]);
  CHECK_EQ(destroy_mspace(m), 0); /* the caller's buffer is never released */
  /* The buffer can hold a new mspace afterwards. */
  m = create_mspace_with_base(base_buffer, sizeof base_buffer, 0);
  if (!CHECK(m != NULL))
    return;
  p[0] = (unsigned char *)mspace_calloc(m, 10, 10);
  CHECK(p[0] != NULL && all_zero(p[0], 100));
  destroy_mspace(m);
}

/* On a fresh mspace nothing is released while the blocks are freed (the periodic search for
   free segments runs after thousands of frees; top trimming is off), so trim must do it. */
static void t_mspace_trim(void) {
  enum { N = 2000 };
  static void *blocks[N];
  mspace m = create_mspace(0, 1);
  size_t f1, f2, i;
  th_section("mspace_trim on a fresh mspace");
  if (!CHECK(m != NULL))
    return;
  CHECK_EQ(mspace_mallopt(M_TRIM_THRESHOLD, 0x7fffffff), 1);
  for (i = 0; i < N; i++)
    blocks[i] = mspace_malloc(m, 8000);
  f1 = mspace_footprint(m);
  for (i = 0; i < N; i++)
    mspace_free(m, blocks[i]);
  f2 = mspace_footprint(m);
  CHECK_EQ(f2, f1);
  CHECK_EQ(mspace_trim(m, 0), 1);
  CHECK_LT(mspace_footprint(m), f2);
  CHECK_EQ(mspace_mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024), 1);
  destroy_mspace(m);
}

#if PORTABLE && !defined(__wasm__) /* (on wasm adjacent regions merge: HAVE_PARTIAL_MUNMAP) */
/* Takes all of m's top but the fewest bytes a block can leave (at most one alignment step:
   the steps by which top shrinks as requests grow), without growing m; NULL if it cannot. */
static void *fill_top(mspace m) {
  size_t top = (size_t)mspace_mallinfo(m).keepcost, prev = top, step = 0, n;
  for (n = top > 1024 ? top - 1024 : 0; n < top; n += sizeof(size_t)) {
    void *p = mspace_malloc(m, n);
    size_t left = (size_t)mspace_mallinfo(m).keepcost;
    if (p == NULL || left >= top) { /* (the next request would not fit) */
      mspace_free(m, p);
      return NULL;
    }
    if (left < prev) {
      if (prev != top && step == 0)
        step = prev - left;
      prev = left;
    }
    if (step != 0 && left <= step) /* one step less would leave nothing */
      return p;
    mspace_free(m, p); /* merges back into top */
  }
  return NULL;
}

/* When a heap grows while its top has less than a chunk left, the old segment's record goes
   where top began, up to a chunk below its usual place.  Once everything in that segment is
   freed, trim must still give it back: the test for "wholly free" looked for the record at
   the usual place, and kept such segments for ever (an outside review: 55 to 118 MB after
   threads had freed all).  PORTABLE builds never merge segments (but on wasm, whose port
   takes any span back), so each growth below makes one: A (the mspace's first), then B,
   whose record lands low, then C. */
static void t_mspace_trim_record_low(void) {
  mspace m = create_mspace(0, 1);
  void *a, *b, *c, *d;
  size_t before;
  th_section("mspace_trim gives back a segment whose record lies low");
  if (!CHECK(m != NULL))
    return;
  CHECK_EQ(mspace_mallopt(M_TRIM_THRESHOLD, 0x7fffffff), 1);
  a = fill_top(m);
  b = mspace_malloc(m, 40000); /* segment B */
  c = fill_top(m);             /* B's top, but for a few bytes */
  d = mspace_malloc(m, 40000); /* segment C: B's record goes where B's top began */
  if (CHECK(a != NULL && b != NULL && c != NULL && d != NULL)) {
    before = mspace_footprint(m);
    mspace_free(m, b);
    mspace_free(m, c); /* B is one free chunk now */
    CHECK_EQ(mspace_trim(m, 0), 1);
    CHECK_LT(mspace_footprint(m), before);
    CHECK_EQ(mspace_mallinfo(m).uordblks >= 80000, 1); /* a and d are still there */
  }
  CHECK_EQ(mspace_mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024), 1);
  destroy_mspace(m);
}
#endif

#if FOOTERS
/* With FOOTERS each chunk knows its mspace. */
static void t_mspace_footers(void) {
  mspace a = create_mspace(0, 1), b = create_mspace(0, 1);
  void *arr[2];
  th_section("FOOTERS: owner found from the chunk");
  if (!CHECK(a != NULL && b != NULL))
    return;
  arr[0] = mspace_malloc(a, 100);
  arr[1] = mspace_malloc(b, 100);
  CHECK(arr[0] != NULL && arr[1] != NULL);
  CHECK_EQ(mspace_bulk_free(a, arr, 2), 1); /* arr[1] belongs to b */
  CHECK(arr[0] == NULL);
  CHECK(arr[1] != NULL);
  CHECK_EQ(mspace_bulk_free(b, arr, 2), 0);
  CHECK(arr[1] == NULL);
#if !ONLY_MSPACES
  arr[0] = mspace_malloc(a, 200);
  arr[1] = mspace_malloc(b, 200);
  CHECK(arr[0] != NULL && arr[1] != NULL);
  dlfree(arr[0]); /* free() finds the owning mspace itself */
  dlfree(arr[1]);
  arr[0] = mspace_malloc(b, 300);
  arr[0] = dlrealloc(arr[0], 5000); /* so does realloc() */
  CHECK(arr[0] != NULL);
  CHECK_EQ(heap_blocks_holding(heap_of_mspace(b), arr[0], 5000), 1);
  dlfree(arr[0]);
#endif
  destroy_mspace(a);
  destroy_mspace(b);
}
#endif /* FOOTERS */
#endif /* MSPACES */

/* ---- Fork hooks ---------------------------------------------------------------------------- */
static void t_fork_hooks(void) {
  void *p;
#if MSPACES
  mspace m = create_mspace(0, 1);
  const struct heap *h = heap_of_mspace(m);
#else
  const struct heap *h = &heap_global;
#endif
  th_section("malloc_prefork/postfork");
  p = h->malloc(100);
  dlmalloc_prefork(); /* takes every lock ... */
  dlmalloc_postfork_parent(); /* ... and gives them back */
  h->free(p);
  p = h->malloc(200);
  CHECK(p != NULL);
  dlmalloc_prefork();
  dlmalloc_postfork_child(); /* the child's way: reset every lock */
  h->free(p);
  p = h->malloc(300);
  CHECK(p != NULL);
  h->free(p);
#if !ONLY_MSPACES
  p = dlmalloc(400);
  CHECK(p != NULL);
  dlfree(p);
#endif
#if MSPACES
  destroy_mspace(m);
#endif
}

int main(void) {
  th_section("malloc_abort_reason");
  CHECK(malloc_abort_reason() != NULL && malloc_abort_reason()[0] == '\0');
#if !ONLY_MSPACES
  run_heap_checks(&heap_global);
#if TH_HOSTED
  t_libc_malloc_beside();
#endif
  t_posix_memalign();
  t_valloc();
#endif
#if MSPACES
  {
    mspace m = create_mspace(0, 1);
    if (CHECK(m != NULL)) {
      run_heap_checks(heap_of_mspace(m));
      destroy_mspace(m);
    }
  }
  t_mspace_lifecycle();
  t_mspace_with_base();
  t_mspace_trim();
#if PORTABLE && !defined(__wasm__)
  t_mspace_trim_record_low();
#endif
#if MALLOC_INSPECT_ALL && !NO_MALLINFO
  t_inspect_small_top();
#endif
#if FOOTERS
  t_mspace_footers();
#endif
#endif
  t_fork_hooks();
#if !ONLY_MSPACES
  t_teardown();
#endif
  th_section("malloc_abort_reason");
  CHECK(malloc_abort_reason()[0] == '\0'); /* no error was detected along the way */
  return th_finish();
}
