/*
  dropin_api.c -- the C library's allocator interface as libdlmalloc.so provides it.

  Run preloaded (LD_PRELOAD=libdlmalloc.so dropin_api, test integration.dropin_api) and
  linked against the library (dropin_api_linked).  The program is compiled against the C
  library's <malloc.h> only, as any program would be; the library's own dl functions are
  looked up with dlsym, so the same source serves both ways.

  Checks, each against the standard or glibc's documented behaviour:
    symbols     every standard name resolves into libdlmalloc, aliases share one address
    served      malloc'd bytes show up in dlmallinfo() (our heap), and leave it when freed
    calloc      zeroed memory even when recycled (the -O2 calloc trap would recurse here)
    malloc      failures give NULL + ENOMEM; malloc(0) is unique
    realloc     contents kept, failure leaves the block intact, realloc(p, 0) frees
    reallocarray, posix_memalign, aligned_alloc, memalign, valloc, pvalloc: argument rules
    usable size, mallinfo (int layout), mallinfo2, mallopt (glibc numbering), malloc_trim
    (top, and the pages of memory freed below a live block), malloc_stats, errno kept by free, glibc's extra names, fork in a single thread

  "dropin_api double-free" instead frees a block twice, and "dropin_api trim-damaged" calls
  malloc_trim after a write after free, for run_dropin_abort.cmake.
*/
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "in_libdlmalloc.h"

static int failures;
static int checks;

#define CHECK(cond)                                                                        \
  do {                                                                                     \
    ++checks;                                                                              \
    if (!(cond)) {                                                                         \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);            \
      ++failures;                                                                          \
    }                                                                                      \
  } while (0)

/* dlmallinfo() returns malloc.h's struct mallinfo: ten size_t fields, in the order of glibc's
   struct mallinfo2, which this file uses to receive it (both returned the same way by the
   ABI; the sizes are checked below). */
typedef struct mallinfo2 (*dlmallinfo_fn)(void);
static dlmallinfo_fn dl_mallinfo;
static size_t (*dl_footprint)(void);
static void *(*dl_malloc)(size_t);

static void *lookup(const char *name) {
  void *sym = dlsym(RTLD_DEFAULT, name);
  if (sym == NULL)
    fprintf(stderr, "dlsym(%s): %s\n", name, dlerror());
  return sym;
}

/* Bytes the program holds: in use, less the blocks waiting in this thread's cache (fsmblks),
   which mallinfo counts as in use (malloc.c section 16). */
static size_t in_use(void) {
  struct mallinfo2 m = dl_mallinfo();
  return m.uordblks - m.fsmblks;
}

static int is_aligned(const void *p, size_t a) { return ((uintptr_t)p & (a - 1)) == 0; }

/* The failing calls below are deliberate: hide their arguments from the compilers' static
   checks (gcc's -Walloc-size-larger-than and -Wuse-after-free after a failed realloc, clang's
   checks of constant alignments), which would otherwise warn about the very cases under
   test. */
static size_t opaque(size_t v) {
  volatile size_t x = v;
  return x;
}

static void *opaque_ptr(void *p) {
  void *volatile x = p;
  return x;
}

/* ---- symbols ---- */
static int test_symbols(void) {
  static const char *const names[] = {
      "malloc", "free", "calloc", "realloc", "reallocarray", "memalign", "posix_memalign",
      "aligned_alloc", "valloc", "pvalloc", "malloc_usable_size", "malloc_trim", "mallopt",
      "mallinfo", "mallinfo2", "malloc_stats", "cfree", "free_sized", "free_aligned_sized",
      "__libc_malloc", "__libc_free", "__libc_calloc", "__libc_realloc", "__libc_memalign",
      "__libc_valloc", "__libc_pvalloc", "dlmalloc", "dlfree", "dlmallinfo",
      "dlmalloc_footprint", "create_mspace", "mspace_malloc", "dlmalloc_prefork"};
  size_t i;
  int ours = 1;
  for (i = 0; i < sizeof(names) / sizeof(names[0]); ++i) {
    Dl_info info;
    void *sym = lookup(names[i]);
    int in_lib = in_libdlmalloc(sym);
    if (!in_lib) {
      fprintf(stderr, "%s resolves to %s, not libdlmalloc\n", names[i],
                      sym != NULL && dladdr(sym, &info) != 0 ? info.dli_fname : "nothing");
      ours = 0;
    }
    CHECK(in_lib);
  }
  if (!ours)
    return 0;
  /* The standard names whose contract is the core's are aliases: one function. */
  CHECK(lookup("malloc") == lookup("dlmalloc"));
  CHECK(lookup("calloc") == lookup("dlcalloc"));
  CHECK(lookup("realloc") == lookup("dlrealloc"));
  CHECK(lookup("posix_memalign") == lookup("dlposix_memalign"));
  CHECK(lookup("free") == lookup("cfree"));
  CHECK(lookup("free") == lookup("__libc_free"));
  CHECK(sizeof(struct mallinfo2) == 10 * sizeof(size_t));
  CHECK(sizeof(struct mallinfo) == 10 * sizeof(int));
  dl_mallinfo = (dlmallinfo_fn)lookup("dlmallinfo");
  dl_footprint = (size_t(*)(void))lookup("dlmalloc_footprint");
  dl_malloc = (void *(*)(size_t))lookup("dlmalloc");
  return dl_mallinfo != NULL && dl_footprint != NULL && dl_malloc != NULL;
}

/* ---- our heap serves malloc ---- */
static void test_served(void) {
  enum { N = 1000, SIZE = 1000 };
  static void *blocks[N];
  size_t before = in_use(), during, after;
  int i;
  for (i = 0; i < N; ++i) {
    blocks[i] = malloc(SIZE);
    CHECK(blocks[i] != NULL);
    memset(blocks[i], i & 0xff, SIZE);
  }
  during = in_use();
  for (i = 0; i < N; ++i)
    free(blocks[i]);
  after = in_use();
  CHECK(during >= before + (size_t)N * SIZE);
  CHECK(after == before); /* nothing else allocates in between */
}

/* ---- calloc ---- */
static void test_calloc(void) {
  static const size_t sizes[] = {1, 8, 24, 100, 1000, 4096, 65536, 100000, 300000, 3000000};
  size_t i, j;
  for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); ++i) {
    size_t n = sizes[i];
    unsigned char *p = malloc(n), *q;
    int zero = 1;
    CHECK(p != NULL);
    memset(p, 0xA5, n); /* dirty the block calloc will most likely get back */
    free(p);
    q = calloc(1, n);
    CHECK(q != NULL);
    for (j = 0; q != NULL && j < n; ++j)
      zero &= q[j] == 0;
    CHECK(zero);
    free(q);
    q = calloc(n, 3); /* count * size */
    CHECK(q != NULL && malloc_usable_size(q) >= n * 3);
    free(q);
  }
  errno = 0;
  CHECK(calloc(opaque(SIZE_MAX / 2), 3) == NULL && errno == ENOMEM); /* product overflows */
  {
    size_t half = (size_t)1 << (sizeof(size_t) * 4); /* half * half wraps to 0 */
    errno = 0;
    CHECK(calloc(opaque(half), half) == NULL && errno == ENOMEM);
  }
  {
    void *z = calloc(0, 0); /* like malloc(0): a unique block */
    CHECK(z != NULL);
    free(z);
  }
}

/* ---- malloc ---- */
static void test_malloc(void) {
  void *a, *b;
  errno = 0;
  CHECK(malloc(opaque(SIZE_MAX)) == NULL && errno == ENOMEM);
  if (sizeof(size_t) >= 8) { /* half the address space: only impossible with 64-bit sizes */
    errno = 0;
    CHECK(malloc(opaque(SIZE_MAX / 2)) == NULL && errno == ENOMEM);
  }
  a = malloc(0);
  b = malloc(0);
  CHECK(a != NULL && b != NULL && a != b);
  CHECK(is_aligned(a, 2 * sizeof(void *)) && is_aligned(b, 2 * sizeof(void *)));
  free(a);
  free(b);
}

/* ---- realloc ---- */
static void test_realloc(void) {
  unsigned char *p = malloc(100), *q;
  size_t i, before;
  int kept = 1;
  CHECK(p != NULL);
  for (i = 0; i < 100; ++i)
    p[i] = (unsigned char)i;
  p = realloc(p, 500000); /* moves to a directly mapped block */
  CHECK(p != NULL);
  for (i = 0; p != NULL && i < 100; ++i)
    kept &= p[i] == (unsigned char)i;
  CHECK(kept);
  p = realloc(p, 10);
  CHECK(p != NULL && p[9] == 9);
  errno = 0;
  q = realloc(opaque_ptr(p), opaque(SIZE_MAX - 64));
  CHECK(q == NULL && errno == ENOMEM);
  CHECK(p[0] == 0 && p[9] == 9); /* untouched after the failure */
  before = in_use();
  q = realloc(p, 0); /* frees p (glibc does the same) */
  CHECK(q == NULL);
  CHECK(in_use() < before);
  q = realloc(NULL, 50); /* malloc */
  CHECK(q != NULL && malloc_usable_size(q) >= 50);
  free(q);
}

static void test_reallocarray(void) {
  unsigned char *p = reallocarray(NULL, 10, 10), *q;
  CHECK(p != NULL && malloc_usable_size(p) >= 100);
  if (p == NULL)
    return;
  memset(p, 7, 100);
  errno = 0;
  q = reallocarray(opaque_ptr(p), opaque(SIZE_MAX / 2), 3);
  CHECK(q == NULL && errno == ENOMEM);
  CHECK(p[99] == 7);
  q = reallocarray(p, 1000, 8);
  CHECK(q != NULL && q[0] == 7 && q[99] == 7 && malloc_usable_size(q) >= 8000);
  free(q != NULL ? q : p);
}

/* ---- aligned allocation ---- */
static void test_posix_memalign(void) {
  static const size_t bad[] = {0, 1, 2, 4, 12, 24, 48, 100, 4097};
  size_t i, a;
  void *sentinel = (void *)&failures, *p;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
    if (bad[i] >= sizeof(void *) && (bad[i] & (bad[i] - 1)) == 0)
      continue; /* 4 is valid where pointers are 4 bytes */
    p = sentinel;
    errno = 777;
    CHECK(posix_memalign(&p, bad[i], 10) == EINVAL);
    CHECK(p == sentinel); /* *memptr untouched on failure */
    CHECK(errno == 777);  /* the error is the result, errno is not set */
  }
  for (a = sizeof(void *); a <= ((size_t)1 << 22); a <<= 1) {
    p = NULL;
    CHECK(posix_memalign(&p, a, 3 * a / 2) == 0);
    CHECK(p != NULL && is_aligned(p, a) && malloc_usable_size(p) >= 3 * a / 2);
    if (p != NULL)
      memset(p, 1, 3 * a / 2);
    free(p);
  }
  p = sentinel;
  errno = 777;
  CHECK(posix_memalign(&p, 64, opaque(SIZE_MAX - 1000)) == ENOMEM && p == sentinel && errno == 777);
}

static void test_aligned_alloc(void) {
  static const size_t bad[] = {0, 3, 6, 24, 100, 4097, (SIZE_MAX / 2) + 2};
  size_t i, a;
  for (a = 1; a <= ((size_t)1 << 22); a <<= 1) {
    void *p = aligned_alloc(a, 100); /* 100: not a multiple of most a (allowed since C17) */
    CHECK(p != NULL && is_aligned(p, a) && malloc_usable_size(p) >= 100);
    free(p);
  }
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); ++i) {
    errno = 0;
    CHECK(aligned_alloc(bad[i], 64) == NULL && errno == EINVAL);
  }
  if (sizeof(size_t) >= 8) { /* a valid alignment that cannot be met (on 32 bits it can) */
    errno = 0;              /* is a shortage, not a bad argument */
    CHECK(aligned_alloc(opaque(SIZE_MAX / 2 + 1), 1) == NULL && errno == ENOMEM);
  }
}

static void test_memalign_valloc(void) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  void *p = memalign(opaque(24), 100); /* rounded up to 32, as glibc does */
  CHECK(p != NULL && is_aligned(p, 32));
  free(p);
  p = memalign(4096, 10);
  CHECK(p != NULL && is_aligned(p, 4096));
  free(p);
  errno = 0;
  CHECK(memalign(opaque(SIZE_MAX / 2 + 2), 1) == NULL && errno == EINVAL);
  if (sizeof(size_t) >= 8) { /* as for aligned_alloc */
    errno = 0;
    CHECK(memalign(opaque(SIZE_MAX / 2 + 1), 1) == NULL && errno == ENOMEM);
  }
  p = valloc(100);
  CHECK(p != NULL && is_aligned(p, page));
  free(p);
  p = pvalloc(100);
  CHECK(p != NULL && is_aligned(p, page) && malloc_usable_size(p) >= page);
  free(p);
  errno = 0;
  CHECK(pvalloc(opaque(SIZE_MAX - 10)) == NULL && errno == ENOMEM);
}

/* ---- introspection and tuning ---- */
static void test_usable_size(void) {
  size_t n;
  CHECK(malloc_usable_size(NULL) == 0);
  for (n = 1; n < 1000000; n = n * 3 + 1) {
    void *p = malloc(n);
    CHECK(p != NULL && malloc_usable_size(p) >= n);
    free(p);
  }
}

/* mallinfo() is deprecated in glibc (its int fields wrap); its existence and layout are what
   is tested here. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void test_mallinfo(void) {
  struct mallinfo a, b;
  struct mallinfo2 m2, d;
  void *p;
  a = mallinfo();
  d = dl_mallinfo();
  m2 = mallinfo2();
  CHECK(a.uordblks >= 0 && (size_t)a.uordblks == d.uordblks); /* small heap: no clamping */
  CHECK((size_t)a.arena == d.arena && (size_t)a.usmblks == d.usmblks);
  CHECK(memcmp(&m2, &d, sizeof(d)) == 0);
  p = malloc(100000);
  b = mallinfo();
  CHECK(b.uordblks >= a.uordblks + 100000);
  free(p);
}
#pragma GCC diagnostic pop

/* dlmalloc's mmap threshold applies to requests the heap cannot serve from its free space
   (glibc's as well, for the most part): so trim first, then ask for more than is left.  Free
   space below a block still in use cannot be trimmed, and since the thresholds adapt
   (MMAP_THRESHOLD_MAX) the earlier tests' large blocks may have left some: the requests are
   2 MiB more than all the free space there is. */
static void test_mallopt(void) {
  struct mallinfo2 a, b;
  size_t n;
  void *p;
  CHECK(mallopt(M_MMAP_THRESHOLD, 1024 * 1024) == 1);
  malloc_trim(0);
  a = dl_mallinfo();
  n = a.fordblks + 2 * 1024 * 1024;
  p = malloc(n); /* above the threshold: a mapping of its own */
  b = dl_mallinfo();
  CHECK(b.hblkhd >= a.hblkhd + n);
  free(p);
  CHECK(mallopt(M_MMAP_THRESHOLD, 64 * 1024 * 1024) == 1);
  malloc_trim(0);
  a = dl_mallinfo();
  n = a.fordblks + 2 * 1024 * 1024;
  CHECK(n < 64 * 1024 * 1024);
  p = malloc(n); /* now below it: the heap grows instead */
  b = dl_mallinfo();
  CHECK(b.hblkhd == a.hblkhd && b.arena >= a.arena + 2 * 1024 * 1024);
  free(p);
  CHECK(mallopt(M_MMAP_THRESHOLD, 256 * 1024) == 1);
  CHECK(mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024) == 1);
  /* M_ARENA_MAX bounds the arenas, 1 .. MALLOC_ARENAS_MAX (64) */
  CHECK(mallopt(M_ARENA_MAX, 0) == 0);
  CHECK(mallopt(M_ARENA_MAX, 65) == 0);
  CHECK(mallopt(M_ARENA_MAX, 1) == 1);
  CHECK(mallopt(M_ARENA_MAX, 4) == 1);
  /* glibc-only knobs are reported as not done. */
  CHECK(mallopt(M_TOP_PAD, 0) == 0);
  CHECK(mallopt(M_MXFAST, 0) == 0);
}

/* 4 MB of blocks freed at the top of the heap must be trimmed.  Blocks first fill whatever
   free space lies below blocks still in use (see test_mallopt), so allocate that much more. */
static void test_trim(void) {
  enum { MAX_BLOCKS = 65536 };
  static void *blocks[MAX_BLOCKS];
  size_t grown, trimmed, n, i;
  CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1); /* no automatic trimming while we measure */
  malloc_trim(0);
  n = (dl_mallinfo().fordblks + 4 * 1024 * 1024) / 1000 + 1;
  CHECK(n <= MAX_BLOCKS);
  if (n > MAX_BLOCKS)
    n = MAX_BLOCKS;
  for (i = 0; i < n; ++i)
    blocks[i] = malloc(1000);
  for (i = n; i-- > 0;)
    free(blocks[i]);
  grown = dl_footprint();
  CHECK(malloc_trim(0) == 1);
  trimmed = dl_footprint();
  CHECK(trimmed + 2 * 1024 * 1024 <= grown);
  CHECK(mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024) == 1);
}

/* Pages of [start, end) in memory (mincore); a page no longer mapped counts as given back. */
static size_t resident_pages(uintptr_t start, uintptr_t end) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 0;
  unsigned char in_core;
  for (start = (start + page - 1) & ~(uintptr_t)(page - 1); start + page <= end; start += page)
    if (mincore((void *)start, page, &in_core) == 0 && (in_core & 1) != 0)
      ++n;
  return n;
}

/* Memory freed below a block still in use is neither top nor a whole segment: malloc_trim
   gives its pages back all the same (glibc's does), keeping their addresses, and the heap
   reuses them.  Each block's pages past its first 128 bytes (its chunk's header and bin
   links, should it head the free chunk) must leave memory. */
static void test_trim_below_live(void) {
  enum { N = 32, SIZE = 64000 }; /* 2 MB, in blocks the heap serves (not mapped alone) */
  unsigned char *blocks[N];
  void *keeper;
  size_t pages = 0, before = 0, after = 0, i, j;
  int intact = 1, zeroed = 1;
  CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1); /* free itself must not trim */
  for (i = 0; i < N; ++i) {
    blocks[i] = malloc(SIZE);
    CHECK(blocks[i] != NULL);
    if (blocks[i] == NULL)
      return;
    memset(blocks[i], 0x5a, SIZE);
  }
  keeper = malloc(1000); /* in use, above (most of) them */
  for (i = 0; i < N; ++i)
    pages += resident_pages((uintptr_t)blocks[i] + 128, (uintptr_t)blocks[i] + SIZE);
  for (i = 0; i < N; ++i)
    free(blocks[i]);
  for (i = 0; i < N; ++i)
    before += resident_pages((uintptr_t)blocks[i] + 128, (uintptr_t)blocks[i] + SIZE);
  malloc_trim(0);
  for (i = 0; i < N; ++i)
    after += resident_pages((uintptr_t)blocks[i] + 128, (uintptr_t)blocks[i] + SIZE);
  CHECK(pages >= N * (SIZE / (size_t)sysconf(_SC_PAGESIZE) - 1)); /* the test measures */
  CHECK(before == pages); /* free kept them */
  CHECK(after == 0);      /* malloc_trim did not */
  for (i = 0; i < N; ++i) { /* the heap hands the memory out again, zeroed where asked */
    blocks[i] = i % 2 == 0 ? malloc(SIZE) : calloc(1, SIZE);
    CHECK(blocks[i] != NULL);
    if (blocks[i] == NULL)
      continue;
    for (j = 0; j < SIZE && i % 2 != 0; ++j)
      zeroed &= blocks[i][j] == 0;
    memset(blocks[i], (int)i, SIZE);
  }
  for (i = 0; i < N; ++i)
    for (j = 0; blocks[i] != NULL && j < SIZE; j += 512)
      intact &= blocks[i][j] == (unsigned char)i;
  CHECK(zeroed && intact);
  for (i = 0; i < N; ++i)
    free(blocks[i]);
  free(keeper);
  CHECK(mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024) == 1);
}

/* calloc of a block the heap must grow for: what top held before, made dirty here, is
   cleared, and the pages the system has just given, zero already, are left untouched (as
   glibc's calloc does), so that a large table of which the program touches a little costs
   only those pages. */
static void test_calloc_fresh(void) {
  enum { DIRTY = 100000, FRESH = 8 * 1024 * 1024 };
  unsigned char *p, *q;
  size_t i, n, pages, resident;
  int zero = 1;
  CHECK(mallopt(M_MMAP_THRESHOLD, 256 * 1024 * 1024) == 1); /* served by the heap */
  CHECK(mallopt(M_TRIM_THRESHOLD, -1) == 1);
  malloc_trim(0);
  p = malloc(DIRTY); /* from top, most likely; then back into it, dirty */
  CHECK(p != NULL);
  if (p != NULL)
    memset(p, 0xA5, DIRTY);
  free(p);
  n = dl_mallinfo().fordblks + FRESH; /* more than all free space: top must grow */
  q = calloc(1, n);
  CHECK(q != NULL);
  if (q != NULL) {
    pages = (FRESH / 2) / (size_t)sysconf(_SC_PAGESIZE);
    resident = resident_pages((uintptr_t)q + n - FRESH / 2, (uintptr_t)q + n);
    CHECK(resident < pages / 4); /* before reading: a read maps pages in */
    for (i = 0; i < n; ++i)
      zero &= q[i] == 0;
    CHECK(zero);
  }
  free(q);
  CHECK(mallopt(M_MMAP_THRESHOLD, 256 * 1024) == 1);
  CHECK(mallopt(M_TRIM_THRESHOLD, 2 * 1024 * 1024) == 1);
}

/* malloc_stats() writes "dlmalloc[pid name]: ..." lines to standard error. */
static void test_malloc_stats(void) {
  char text[1024];
  size_t n;
  FILE *f = tmpfile();
  int saved = dup(2);
  CHECK(f != NULL && saved >= 0);
  if (f == NULL || saved < 0)
    return;
  fflush(stderr);
  dup2(fileno(f), 2);
  malloc_stats();
  dup2(saved, 2);
  close(saved);
  rewind(f);
  n = fread(text, 1, sizeof(text) - 1, f);
  text[n] = 0;
  fclose(f);
  CHECK(strstr(text, "dlmalloc[") != NULL);
  CHECK(strstr(text, "]: in use bytes     = ") != NULL);
  CHECK(strstr(text, "]: max system bytes = ") != NULL);
}

/* ---- errno and the extra names ---- */
static void test_free_keeps_errno(void) {
  void *small = malloc(10), *large = malloc(4 * 1024 * 1024); /* munmap on free */
  errno = 4242;
  free(small);
  free(large);
  free(NULL);
  CHECK(errno == 4242);
}

static void test_extra_names(void) {
  void *(*m)(size_t) = (void *(*)(size_t))lookup("__libc_malloc");
  void *(*c)(size_t, size_t) = (void *(*)(size_t, size_t))lookup("__libc_calloc");
  void *(*r)(void *, size_t) = (void *(*)(void *, size_t))lookup("__libc_realloc");
  void *(*ma)(size_t, size_t) = (void *(*)(size_t, size_t))lookup("__libc_memalign");
  void (*f)(void *) = (void (*)(void *))lookup("__libc_free");
  void (*cf)(void *) = (void (*)(void *))lookup("cfree");
  void (*fs)(void *, size_t) = (void (*)(void *, size_t))lookup("free_sized");
  void (*fas)(void *, size_t, size_t) = (void (*)(void *, size_t, size_t))lookup(
      "free_aligned_sized");
  size_t before = in_use();
  void *p;
  if (!m || !c || !r || !ma || !f || !cf || !fs || !fas) {
    CHECK(!"all extra names resolve");
    return;
  }
  p = m(5000);
  CHECK(p != NULL && in_use() >= before + 5000);
  p = r(p, 9000);
  CHECK(p != NULL && in_use() >= before + 9000);
  f(p);
  CHECK(in_use() == before);
  p = c(10, 10);
  CHECK(p != NULL && ((unsigned char *)p)[99] == 0);
  cf(p);
  CHECK(in_use() == before);
  p = ma(256, 300);
  CHECK(p != NULL && is_aligned(p, 256));
  fas(p, 256, 300);
  CHECK(in_use() == before);
  p = malloc(77);
  fs(p, 77);
  CHECK(in_use() == before);
}

/* ---- fork ---- */
static void test_fork(void) {
  int status = 0;
  void *held = malloc(12345);
  pid_t pid = fork();
  if (pid == 0) {
    /* The child owns a copy of the heap: inherited blocks can be freed, new ones made. */
    void *p = malloc(100000);
    int ok = p != NULL && malloc_usable_size(held) >= 12345;
    free(held);
    free(p);
    _exit(ok ? 0 : 3);
  }
  CHECK(pid > 0);
  CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
  free(held);
}

/* "dropin_api double-free": free a block twice.  The library must report it on standard
   error and abort, without allocating on the way (run_dropin_abort.cmake checks). */
static int double_free(void) {
  char *p = malloc(100);
  char *guard = malloc(100); /* keeps p from merging into top, so the second free sees it */
  free(p);
  free(opaque_ptr(p));
  fprintf(stderr, "dropin_api: the double free was not detected\n");
  free(guard);
  return 1;
}

/* A write after free gives a freed 20000-byte block (a free chunk of a tree bin, below a live
   block) a size of 1 MiB.  malloc_trim gives back the pages inside free chunks: by that size it
   would zero the live blocks above without a word; it must report the damage instead. */
static int trim_damaged(void) {
  size_t *guard = malloc(100), *p = malloc(20000), *keep = malloc(100);
  size_t *volatile head = p - 1; /* the chunk's size word, just before the block */
  memset(keep, 0x5a, 100);
  free(p);
  *head = (size_t)1024 * 1024 | 1; /* 1 MiB, the chunk before it in use */
  malloc_trim(0);
  fprintf(stderr, "dropin_api: malloc_trim accepted a damaged free chunk (a byte above it: "
                  "%#x)\n", ((unsigned char *)keep)[50]);
  free(guard);
  return 1;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "double-free") == 0)
    return double_free();
  if (argc > 1 && strcmp(argv[1], "trim-damaged") == 0)
    return trim_damaged();
  if (!test_symbols()) {
    fprintf(stderr, "dropin_api: libdlmalloc.so is not this process's allocator (run it with "
                    "LD_PRELOAD=.../libdlmalloc.so or link it); %d of %d checks failed\n",
            failures, checks);
    return 1;
  }
  test_served();
  test_calloc();
  test_malloc();
  test_realloc();
  test_reallocarray();
  test_posix_memalign();
  test_aligned_alloc();
  test_memalign_valloc();
  test_usable_size();
  test_mallinfo();
  test_mallopt();
  test_trim();
  test_trim_below_live();
  test_calloc_fresh();
  test_malloc_stats();
  test_free_keeps_errno();
  test_extra_names();
  test_fork();
  printf("dropin_api: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
