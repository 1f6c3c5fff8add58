/*
  test_edge.c -- boundary cases: zero sizes, sizes at and near SIZE_MAX (including n*m
  overflow in calloc and padding that would wrap in pvalloc and memalign), every power-of-two
  alignment up to 1 MiB and some that are not powers of two, realloc chains that keep contents,
  usable sizes, trimming and footprints, and requests on both sides of the mmap threshold.
  Runs on the global heap and on an mspace.  errno checks are in the TH_HOSTED block.
*/
#include "malloc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "heaps.h"


#define HALF ((SIZE_MAX >> 1) + 1) /* 2^(bits-1) */

/* Sizes no heap can satisfy; several are so close to SIZE_MAX that padding them wraps.  (Half
   the address space is impossible only on 64-bit systems: a 32-bit process may get 2 GiB.) */
static const size_t huge_sizes[] = {
    SIZE_MAX,      SIZE_MAX - 1,   SIZE_MAX - 7,   SIZE_MAX - 8,        SIZE_MAX - 15,
    SIZE_MAX - 16, SIZE_MAX - 31,  SIZE_MAX - 32,  SIZE_MAX - 63,       SIZE_MAX - 64,
    SIZE_MAX - 127, SIZE_MAX - 128, SIZE_MAX - 255, SIZE_MAX - 4095,    SIZE_MAX - 4096,
    SIZE_MAX - 65536,
#if !defined(__wasm__) /* a wasm32 heap may have all 4 GiB but its data and stack: it fits */
    SIZE_MAX - 256 * KB,
#endif
#if SIZE_MAX > 0xFFFFFFFFu
    HALF + 1,      HALF,           HALF - 1,
#endif
};
#define N_HUGE (sizeof(huge_sizes) / sizeof(huge_sizes[0]))

/* Smallest power of two >= a (a <= HALF). */
static size_t pow2_ceil(size_t a) {
  size_t p = 1;
  while (p < a)
    p <<= 1;
  return p;
}

static void t_zero_sizes(const struct heap *h) {
  void *p;
  th_section("zero sizes");
  p = h->malloc(0);
  CHECK(p != NULL && TH_ALIGNED(p, MALLOC_ALIGNMENT));
  h->free(p);
  p = h->calloc(0, 0);
  CHECK(p != NULL);
  h->free(p);
  p = h->calloc(0, SIZE_MAX); /* 0 * anything is 0: no overflow */
  CHECK(p != NULL);
  h->free(p);
  p = h->calloc(SIZE_MAX, 0);
  CHECK(p != NULL);
  h->free(p);
  p = h->realloc(NULL, 0);
  CHECK(p != NULL);
  h->free(p);
  p = h->memalign(64, 0);
  CHECK(p != NULL && TH_ALIGNED(p, 64));
  h->free(p);
  {
    void *arr[2] = {NULL, NULL};
    CHECK_EQ(h->bulk_free(arr, 0), 0);
    CHECK_EQ(h->bulk_free(arr, 2), 0); /* only NULLs */
  }
}

static void t_huge_sizes(const struct heap *h) {
  enum { NBALLAST = 10 };
  unsigned char *ballast[NBALLAST];
  size_t i;
  unsigned char *keep;
  th_section("sizes near SIZE_MAX");
  /* Grow the heap first, so that a failed request which damaged it would show. */
  for (i = 0; i < NBALLAST; i++) {
    ballast[i] = (unsigned char *)h->malloc(100 * KB);
    if (!CHECK(ballast[i] != NULL))
      return;
    fill_pattern(ballast[i], 100 * KB, (uint32_t)(500 + i));
  }
  keep = (unsigned char *)h->malloc(200);
  if (!CHECK(keep != NULL))
    return;
  fill_pattern(keep, 200, 99);
  for (i = 0; i < N_HUGE; i++) {
    size_t n = huge_sizes[i];
    CHECK_OUT_OF_MEMORY(h->malloc(n));
    CHECK_OUT_OF_MEMORY(h->calloc(1, n));
    CHECK_OUT_OF_MEMORY(h->realloc(NULL, n));
    CHECK_OUT_OF_MEMORY(h->realloc(keep, n)); /* keep stays valid and unchanged */
    CHECK(h->realloc_in_place(keep, n) == NULL);
    CHECK_OUT_OF_MEMORY(h->memalign(16, n));
    CHECK_OUT_OF_MEMORY(h->memalign(4096, n));
  }
  CHECK(check_pattern(keep, 200, 99));

  th_section("calloc n*m overflow");
  {
    size_t root = (size_t)1 << (sizeof(size_t) * 4); /* root * root == 2^bits: wraps to 0 */
    static const size_t pairs[][2] = {{2, HALF}, {HALF, 2}, {3, SIZE_MAX / 3 + 1},
                                      {SIZE_MAX, SIZE_MAX}, {65537, SIZE_MAX / 65536},
                                      {SIZE_MAX / 16, 17}};
    for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
      CHECK_OUT_OF_MEMORY(h->calloc(pairs[i][0], pairs[i][1]));
    }
    CHECK_OUT_OF_MEMORY(h->calloc(root, root));
    CHECK_OUT_OF_MEMORY(h->calloc(root + 1, root - 1)); /* 2^bits - 1: no wrap, but far too big */
    {
      void *chunks[2];
      CHECK(h->independent_calloc(2, SIZE_MAX / 2, chunks) == NULL);
      CHECK(h->independent_calloc(HALF, 2, NULL) == NULL);
    }
  }

  th_section("independent_comalloc size sums");
  {
    /* Each size passes on its own; their padded sum (plus the pointer array's chunk) wraps. */
    static const size_t wraps[][3] = {{SIZE_MAX / 2, SIZE_MAX / 2, 64},
                                      {SIZE_MAX - 159, 200, 64},
                                      {64, SIZE_MAX - 200, 300},
                                      {SIZE_MAX - 255, 16, 16}};
    for (i = 0; i < sizeof(wraps) / sizeof(wraps[0]); i++) {
      size_t sizes[3];
      void *chunks[3] = {NULL, NULL, NULL};
      memcpy(sizes, wraps[i], sizeof sizes);
      ERRNO_RESET();
      CHECK(h->independent_comalloc(3, sizes, chunks) == NULL);
      CHECK_ERRNO_ENOMEM();
      CHECK(chunks[0] == NULL && chunks[1] == NULL && chunks[2] == NULL);
      ERRNO_RESET();
      CHECK(h->independent_comalloc(3, sizes, NULL) == NULL);
      CHECK_ERRNO_ENOMEM();
    }
  }

  th_section("memalign with huge alignments");
  {
    /* Alignments that cannot be met, powers of two or not: NULL, and no endless rounding. */
    static const size_t aligns[] = {HALF + 1, SIZE_MAX, SIZE_MAX - 4095,
#if SIZE_MAX > 0xFFFFFFFFu /* a 32-bit process may manage 2 GiB plus a little */
                                    HALF, HALF / 2 + 1
#endif
    };
    for (i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
      CHECK_OUT_OF_MEMORY(h->memalign(aligns[i], 1));
      CHECK_OUT_OF_MEMORY(h->memalign(aligns[i], SIZE_MAX - aligns[i]));
    }
  }
  CHECK(check_pattern(keep, 200, 99));
  h->free(keep);
  for (i = 0; i < NBALLAST; i++) {
    CHECK(check_pattern(ballast[i], 100 * KB, (uint32_t)(500 + i)));
    h->free(ballast[i]);
  }
  {
    unsigned char *p = (unsigned char *)h->malloc(300 * KB); /* the heap is fine after all */
    if (CHECK(p != NULL))                                    /* those refusals */
      memset(p, 0x5B, 300 * KB);
    h->free(p);
  }
}

#if !ONLY_MSPACES
static void t_huge_global_only(void) {
  size_t i;
  th_section("valloc/pvalloc/posix_memalign near SIZE_MAX");
  for (i = 0; i < N_HUGE; i++) {
    size_t n = huge_sizes[i];
    void *p = NULL;
    CHECK_OUT_OF_MEMORY(dlvalloc(n));
    CHECK_OUT_OF_MEMORY(dlpvalloc(n)); /* rounding n up to whole pages must not wrap to 0 */
    CHECK_RC_ENOMEM(dlposix_memalign(&p, 64, n));
  }
}
#endif

#if MSPACES
static void t_mspace_capacity(void) {
  static const size_t capacities[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4095, SIZE_MAX - 65536,
#if !defined(__wasm__) /* a wasm32 memory may grow to all 4 GiB, and static data lies low: */
                                      SIZE_MAX - 256 * KB, SIZE_MAX - 1024 * KB /* they fit */
#endif
  };
  static size_t buffer[1024];
  size_t i;
  th_section("mspace capacities near SIZE_MAX");
  for (i = 0; i < sizeof(capacities) / sizeof(capacities[0]); i++) {
    CHECK(create_mspace(capacities[i], 1) == NULL); /* adding the overhead must not wrap */
    CHECK(create_mspace_with_base(buffer, capacities[i], 1) == NULL);
  }
  /* A capacity that is acceptable in itself but runs the buffer past the end of the address
     space: its top chunk's end would wrap around to a low address. */
  CHECK(create_mspace_with_base(buffer, UINTPTR_MAX - (uintptr_t)buffer + 4096, 1) == NULL);
  {
    mspace m = create_mspace_with_base(buffer, sizeof buffer, 0);
    if (CHECK(m != NULL)) { /* the boundary still admits a real buffer */
      void *p = mspace_malloc(m, 100);
      CHECK(p != NULL);
      mspace_free(m, p);
      destroy_mspace(m);
    }
  }
}

/* create_mspace_with_base over buffers of any alignment and length, growing past them: no byte
   after the buffer changes, and valid calls pass the mspace's own checks (an odd end made
   top's size carry flag bits: false "corrupted block" reports, and fenceposts written past
   the buffer).  A buffer that holds a live mspace's state is refused until it is destroyed. */
static void t_mspace_odd_buffers(void) {
  static const size_t capacities[] = {4093, 4096, 4098, 4100, 4104, 4111};
  static unsigned char area[8192];
  size_t offset, c, k;
  th_section("create_mspace_with_base on odd buffers");
  for (offset = 0; offset < 16; offset += 3)
    for (c = 0; c < sizeof(capacities) / sizeof(capacities[0]); c++) {
      unsigned char *base = area + offset;
      void *blocks[64], *a, *b;
      size_t changed = 0;
      mspace m;
      memset(area, 0xee, sizeof area);
      m = create_mspace_with_base(base, capacities[c], 0);
      if (!CHECK(m != NULL))
        continue;
      CHECK(create_mspace_with_base(base, capacities[c], 0) == NULL); /* m lives there */
      a = mspace_malloc(m, 100);
      b = mspace_malloc(m, 100);
      mspace_free(m, b);
      b = mspace_malloc(m, 200);
      mspace_free(m, a);
      mspace_free(m, b);
      for (k = 0; k < 64; k++) /* 64 blocks of 100 bytes: more than the buffer holds */
        CHECK((blocks[k] = mspace_malloc(m, 100)) != NULL);
#if MALLOC_INSPECT_ALL
      {
        size_t chunks = 0;
        mspace_inspect_all(m, count_inspected, &chunks);
        CHECK_GE(chunks, 64);
      }
#endif
      for (k = 0; k < 64; k++)
        mspace_free(m, blocks[k]);
      destroy_mspace(m);
      for (k = offset + capacities[c]; k < sizeof area; k++)
        changed += area[k] != 0xee;
      CHECK_EQ(changed, 0);
      m = create_mspace_with_base(base, capacities[c], 0); /* free for a new one again */
      if (CHECK(m != NULL))
        destroy_mspace(m);
    }
}

/* A new mspace's buffer may not overlap a live mspace's state anywhere (it would overwrite the
   links and the lock that calls on every heap follow): refused, EINVAL where errno is set, as
   are a NULL base and a buffer too small.  The state is no block of its mspace. */
static void t_mspace_state_overlap(void) {
  static size_t area[4096]; /* 16 or 32 KiB, aligned for any buffer */
  char *start = (char *)area;
  size_t d;
  mspace m = create_mspace_with_base(start + 8192, 8192, 0), n;
  th_section("create_mspace_with_base over another mspace's state");
  if (!CHECK(m != NULL))
    return;
  for (d = 0; d <= 256; d += 16) { /* the state is larger than 256 bytes on every system */
    ERRNO_RESET();
    CHECK((n = create_mspace_with_base((char *)m + d, 4096, 0)) == NULL);
    CHECK_ERRNO_EINVAL();
  }
  /* a buffer that ends inside the state, and one that ends where the state begins */
  CHECK(create_mspace_with_base(start, (size_t)((char *)m - start) + 64, 0) == NULL);
  n = create_mspace_with_base(start, 4096, 0);
  if (CHECK(n != NULL))
    destroy_mspace(n);
  ERRNO_RESET();
  CHECK(create_mspace_with_base(NULL, 4096, 0) == NULL);
  CHECK_ERRNO_EINVAL();
  ERRNO_RESET();
  CHECK(create_mspace_with_base(start, 16, 0) == NULL);
  CHECK_ERRNO_EINVAL();
#if !INSECURE /* there usable_size reads any header unchecked */
  CHECK_EQ(mspace_usable_size(m), 0);
#endif
  destroy_mspace(m);
}

/* An mspace made inside a block of another goes with it (destroy_mspace): its own memory
   beyond that block is released and counted, and it leaves the list of live mspaces, which
   the next call that walks the list (usable_size of a foreign pointer) must not find. */
static void t_mspace_nested(void) {
  mspace outer = create_mspace(0, 0), inner;
  void *block, *grown, *mapped;
  size_t released;
  th_section("an mspace inside another's block goes with it");
  if (!CHECK(outer != NULL))
    return;
  block = mspace_malloc(outer, 32768);
  if (!CHECK(block != NULL))
    return;
  inner = create_mspace_with_base(block, 32768, 0);
  if (!CHECK(inner != NULL))
    return;
  grown = mspace_malloc(inner, 40000);  /* more than the block: a segment of its own */
  mapped = mspace_malloc(inner, 300000); /* above the mmap threshold: a region of its own */
  CHECK(grown != NULL && mapped != NULL);
#if !INSECURE /* there usable_size reads any header unchecked, and walks no list */
  /* inner's state, a chunk in use inside outer's block, is no block of outer's either */
  CHECK_EQ(mspace_usable_size(inner), 0);
#endif
  released = destroy_mspace(outer);
  CHECK_GE(released, 32768 + 40000 + 300000);
  CHECK_MSPACE_LIST_WALKS(); /* inner's state went with outer's memory */
}

/* A block holding a copy of a live mspace's state is a block like any other: whichever
   size it has (the state's own among them), it is freed.  (free()'s checks refuse the state
   itself, which a copy elsewhere must not be taken for.) */
static void t_mspace_state_copy(void) {
  mspace m = create_mspace(0, 0), copies = create_mspace(0, 0);
  size_t n;
  th_section("a copy of an mspace's state is no mspace");
  if (!CHECK(m != NULL && copies != NULL))
    return;
  for (n = 256; n <= 1100; n += 8) { /* m's first segment holds as many bytes */
    void *copy = mspace_malloc(copies, n);
    if (!CHECK(copy != NULL))
      break;
    memcpy(copy, m, n);
    CHECK_GE(mspace_usable_size(copy), n);
    mspace_free(copies, copy);
  }
  destroy_mspace(copies);
  destroy_mspace(m);
}

/* A chain of mspaces, each made in a block of the one before, ends with its first: all of
   it, the innermost first (each one's state lies in the memory of the one before it). */
static void t_mspace_chain(void) {
  enum { DEPTH = 300, EACH = 4096 };
  mspace first = create_mspace(0, 0), m = first;
  size_t made = 0, released;
  th_section("a chain of nested mspaces ends with its first");
  while (m != NULL && made < DEPTH) {
    void *block = mspace_malloc(m, EACH);
    m = block != NULL ? create_mspace_with_base(block, EACH, 0) : NULL;
    made += m != NULL;
  }
  CHECK_EQ(made, DEPTH);
  released = destroy_mspace(first);
  CHECK_GE(released, DEPTH * EACH);
  CHECK_MSPACE_LIST_WALKS(); /* nothing of the chain is left */
}

/* More live mspaces than malloc.c's table of them holds (LIVE_MSPACE_SLOTS, 256): the ones
   beyond are found by the walk of the list; every one works and is destroyed. */
static void t_many_mspaces(void) {
  enum { N = 300 };
  static mspace ms[N];
  size_t i, made = 0;
  th_section("more live mspaces than the table holds");
  for (i = 0; i < N; i++) {
    ms[i] = create_mspace(0, 0);
    if (ms[i] == NULL)
      break;
    made++;
  }
  CHECK_EQ(made, N);
  for (i = 0; i < made; i++) {
    void *p = mspace_malloc(ms[i], 100);
    CHECK(p != NULL);
    mspace_free(ms[i], p);
  }
  for (i = 0; i < made; i++)
    CHECK_GT(destroy_mspace(ms[i]), 0);
}
#endif

static void t_alignments(const struct heap *h) {
  static const size_t sizes[] = {1, 100, 5000, 300 * KB};
  static const size_t odd[] = {3, 5, 24, 100, 1000, 4097, 65537, 300000};
  enum { NS = sizeof(sizes) / sizeof(sizes[0]) };
  size_t a, i;
  th_section("memalign, every power of two up to 1 MiB");
  for (a = 1; a <= MB; a <<= 1) {
    void *p[NS];
    size_t want = a < MALLOC_ALIGNMENT ? MALLOC_ALIGNMENT : a;
    for (i = 0; i < NS; i++) {
      p[i] = h->memalign(a, sizes[i]);
      if (!CHECK(p[i] != NULL))
        return;
      CHECK(TH_ALIGNED(p[i], want));
      CHECK_GE(h->usable_size(p[i]), sizes[i]);
      fill_pattern(p[i], sizes[i], (uint32_t)(a + i));
    }
    for (i = 0; i < NS; i++) {
      CHECK(check_pattern(p[i], sizes[i], (uint32_t)(a + i)));
      h->free(p[i]);
    }
  }
  th_section("memalign, alignments that are not powers of two");
  for (a = 0; a < sizeof(odd) / sizeof(odd[0]); a++) {
    size_t want = pow2_ceil(odd[a]);
    if (want < MALLOC_ALIGNMENT)
      want = MALLOC_ALIGNMENT;
    for (i = 0; i < NS; i++) {
      void *p = h->memalign(odd[a], sizes[i]);
      if (!CHECK(p != NULL))
        return;
      CHECK(TH_ALIGNED(p, want));
      CHECK_GE(h->usable_size(p), sizes[i]);
      memset(p, 0x3C, sizes[i]);
      h->free(p);
    }
  }
}

static void t_realloc_chains(const struct heap *h) {
  static const size_t big_steps[] = {200 * KB, 300 * KB, 200 * KB, 1 * MB,
                                     10 * MB, 5 * MB, 100,     257 * KB, 16};
  unsigned char *p, *q;
  size_t n, i, prev;
  th_section("realloc one byte at a time");
  p = (unsigned char *)h->malloc(1);
  if (!CHECK(p != NULL))
    return;
  p[0] = 1;
  /* Byte i always holds (unsigned char)(i * 7 + 1); every step checks all of them. */
  for (n = 2; n <= 1500; n++) {
    size_t j, bad = 0;
    q = (unsigned char *)h->realloc(p, n);
    if (!CHECK(q != NULL))
      return;
    for (j = 0; j + 1 < n; j++)
      bad += q[j] != (unsigned char)(j * 7 + 1);
    if (!CHECK_EQ(bad, 0))
      break;
    q[n - 1] = (unsigned char)((n - 1) * 7 + 1);
    p = q;
  }
  for (n = 1499; n >= 1; n--) {
    size_t j, bad = 0;
    q = (unsigned char *)h->realloc(p, n);
    if (!CHECK(q != NULL))
      return;
    for (j = 0; j < n; j++)
      bad += q[j] != (unsigned char)(j * 7 + 1);
    if (!CHECK_EQ(bad, 0))
      break;
    p = q;
  }
  h->free(p);

  th_section("realloc across the mmap threshold");
  p = (unsigned char *)h->malloc(100 * KB);
  if (!CHECK(p != NULL))
    return;
  prev = 100 * KB;
  fill_pattern(p, prev, 5);
  for (i = 0; i < sizeof(big_steps) / sizeof(big_steps[0]); i++) {
    size_t keep = prev < big_steps[i] ? prev : big_steps[i];
    q = (unsigned char *)h->realloc(p, big_steps[i]);
    if (!CHECK(q != NULL))
      return;
    CHECK(TH_ALIGNED(q, MALLOC_ALIGNMENT));
    CHECK_GE(h->usable_size(q), big_steps[i]);
    CHECK(check_pattern(q, keep, 5));
    fill_pattern(q, big_steps[i], 5);
    p = q;
    prev = big_steps[i];
  }
  h->free(p);

  th_section("realloc_in_place");
  {
    static const size_t sizes[] = {24, 200, 1000, 5000, 60 * KB};
    for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
      size_t s = sizes[i];
      unsigned char *a = (unsigned char *)h->malloc(s);
      unsigned char *guard = (unsigned char *)h->malloc(16);
      if (!CHECK(a != NULL && guard != NULL))
        return;
      fill_pattern(a, s, 11);
      CHECK(h->realloc_in_place(a, s / 2) == a);   /* shrink: same address */
      CHECK(check_pattern(a, s / 2, 11));
      CHECK(h->realloc_in_place(a, s / 2) == a);   /* same size: same address */
      CHECK(h->realloc_in_place(a, 32 * MB) == NULL); /* cannot grow past guard */
      CHECK(check_pattern(a, s / 2, 11));
      h->free(guard);
      h->free(a);
    }
  }
}

static void t_usable_sizes(const struct heap *h) {
  size_t n;
  th_section("usable size for every size up to 1100");
  for (n = 0; n <= 1100; n++) {
    unsigned char *p = (unsigned char *)h->malloc(n);
    size_t u;
    if (!CHECK(p != NULL))
      return;
    u = h->usable_size(p);
    CHECK_GE(u, n);
    /* with a thread cache, a request above 1 KiB is rounded up to its size class, by at most
       a quarter (malloc.c, MALLOC_THREAD_CACHE_CLASSES) */
    CHECK_LT(u, n + 128 + (n > 1024 ? n / 4 : 0));
    memset(p, 0x77, u);
    h->free(p);
  }
}

static void t_trim_footprint(const struct heap *h) {
  void *p[64];
  size_t i, maxf = h->max_footprint();
  th_section("trim and footprint");
  for (i = 0; i < 64; i++) {
    p[i] = h->malloc(50 * KB);
    if (!CHECK(p[i] != NULL))
      return;
    CHECK_GE(h->max_footprint(), maxf); /* never decreases */
    maxf = h->max_footprint();
    CHECK_GE(maxf, h->footprint());
  }
  CHECK_GE(h->footprint(), 64 * 50 * KB);
  for (i = 0; i < 64; i++)
    h->free(p[i]);
  h->trim(0);
  CHECK_EQ(h->max_footprint(), maxf);
  CHECK_LE(h->footprint(), maxf);
  {
    size_t f = h->footprint();
    CHECK_EQ(h->trim(SIZE_MAX), 0); /* a huge pad keeps everything */
    CHECK_EQ(h->trim(SIZE_MAX - 4096), 0);
    CHECK_EQ(h->footprint(), f);
  }
}

#if MSPACES && !NO_MALLINFO
/* On a fresh mspace the top is small, so which side of the threshold a request falls on
   decides alone whether it is mapped directly (hblkhd) or carved from a segment. */
static void t_mmap_threshold(void) {
  static const size_t below[] = {TEST_MMAP_THRESHOLD - 4 * KB,
                                 TEST_MMAP_THRESHOLD - 64 - MALLOC_ALIGNMENT}; /* padded: below */
  static const size_t above[] = {TEST_MMAP_THRESHOLD, TEST_MMAP_THRESHOLD + 1, 3 * MB};
  size_t i;
  th_section("both sides of the mmap threshold");
  for (i = 0; i < sizeof(below) / sizeof(below[0]); i++) {
    mspace m = create_mspace(0, 0);
    struct mallinfo a, b;
    void *p;
    if (!CHECK(m != NULL))
      return;
    a = mspace_mallinfo(m);
    p = mspace_malloc(m, below[i]);
    b = mspace_mallinfo(m);
    CHECK(p != NULL);
    CHECK_LT(b.hblkhd, a.hblkhd + 4 * KB); /* not a direct map */
    CHECK_GE(b.uordblks, a.uordblks + below[i]);
    destroy_mspace(m);
  }
  for (i = 0; i < sizeof(above) / sizeof(above[0]); i++) {
    mspace m = create_mspace(0, 0);
    struct mallinfo a, b, c;
    size_t f0;
    void *p;
    if (!CHECK(m != NULL))
      return;
    f0 = mspace_footprint(m);
    a = mspace_mallinfo(m);
    p = mspace_malloc(m, above[i]);
    b = mspace_mallinfo(m);
    CHECK(p != NULL);
    CHECK_GE(b.hblkhd, a.hblkhd + above[i]); /* a direct map */
    CHECK_LT(b.arena, a.arena + 4 * KB);
    mspace_free(m, p);
    c = mspace_mallinfo(m);
    CHECK_LT(c.hblkhd, a.hblkhd + 4 * KB); /* given back at once */
    CHECK_EQ(mspace_footprint(m), f0);
    destroy_mspace(m);
  }
}
#endif

#if FOOTERS
/* No footer is left in memory malloc hands out: an outside review read one there (a freed
   block's, inside the chunk it had merged into) and with it made the footer of a forged
   chunk that free() took.  The word where a block's footer was must hold something else
   once the block has merged with a free neighbour, or grown in place over one.  Blocks of
   20,000 bytes: larger than a thread cache keeps, so that they merge at once. */
static void t_no_stale_footers(const struct heap *h) {
  const size_t W = sizeof(size_t);
  unsigned char *a = (unsigned char *)h->malloc(20000), *b = (unsigned char *)h->malloc(20000);
  unsigned char *guard = (unsigned char *)h->malloc(40), *x;
  size_t asize, footer, stale;
  th_section("no footer is left in memory malloc hands out");
  if (!CHECK(a != NULL && b != NULL && guard != NULL) || !CHECK(b > a))
    return;
  asize = (size_t)(b - a); /* a's chunk: b's follows it */
  footer = footer_word(h, a);
  h->free(b);
  h->free(a); /* a merges with b */
  x = (unsigned char *)h->malloc(2 * asize - 2 * W); /* the merged chunk */
  if (CHECK(x == a)) {
    memcpy(&stale, x + asize - 2 * W, W);
    CHECK(stale != footer);
  }
  /* grown in place over its free neighbour */
  a = (unsigned char *)h->realloc(x, 20000);
  b = (unsigned char *)h->malloc(20000);
  if (CHECK(a == x && b != NULL && b > a)) {
    size_t usable = h->usable_size(a);
    footer = footer_word(h, a);
    h->free(b);
    x = (unsigned char *)h->realloc(a, 30000);
    if (CHECK(x == a)) {
      memcpy(&stale, x + usable, W);
      CHECK(stale != footer);
    }
    a = x;
  }
  h->free(a);
  h->free(guard);
#if MSPACES
  { /* an mspace made in a block of h, destroyed: its footers leave the buffer with it */
    unsigned char *buf = (unsigned char *)h->malloc(65536), *y = NULL;
    mspace inner = buf != NULL ? create_mspace_with_base(buf, 65536, 0) : NULL;
    if (CHECK(inner != NULL) && CHECK((y = (unsigned char *)mspace_malloc(inner, 100)) != NULL)) {
      size_t at = (size_t)(y - buf) + mspace_usable_size(y);
      memcpy(&footer, buf + at, W);
      destroy_mspace(inner);
      memcpy(&stale, buf + at, W);
      CHECK(stale != footer);
    } else if (inner != NULL)
      destroy_mspace(inner);
    h->free(buf);
  }
#endif
}
#endif

static void run_edge_checks(const struct heap *h) {
  th_write("-- ");
  th_write(h->name);
  th_write("\n");
  t_zero_sizes(h);
  t_huge_sizes(h);
  t_alignments(h);
  t_realloc_chains(h);
  t_usable_sizes(h);
  t_trim_footprint(h);
#if FOOTERS
  t_no_stale_footers(h);
#endif
}

int main(void) {
#if !ONLY_MSPACES
  run_edge_checks(&heap_global);
  t_huge_global_only();
#endif
#if MSPACES
  {
    mspace m = create_mspace(0, 1);
    if (CHECK(m != NULL)) {
      run_edge_checks(heap_of_mspace(m));
      destroy_mspace(m);
    }
  }
  t_mspace_capacity();
  t_mspace_odd_buffers();
  t_mspace_state_overlap();
  t_mspace_nested();
  t_mspace_chain();
  t_mspace_state_copy();
  t_many_mspaces();
#if !NO_MALLINFO
  t_mmap_threshold();
#endif
#endif
  return th_finish();
}
