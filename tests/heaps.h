/*
  heaps.h -- the global heap and an mspace behind one table of function pointers, so the same
  checks run on both; plus the byte-pattern helpers the tests use to spot overlapping blocks.
  Uses only malloc.h, <stddef.h> and <stdint.h>.
*/
#ifndef TESTS_HEAPS_H
#define TESTS_HEAPS_H

#include "malloc.h"

#include "harness.h" /* TH_HOSTED and the CHECK macros used below */

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The page size malloc.c was built for (valloc, pvalloc, granularity checks). */
#ifndef TEST_PAGE_SIZE
#ifdef DEFAULT_PAGE_SIZE
#define TEST_PAGE_SIZE ((size_t)DEFAULT_PAGE_SIZE)
#else
#define TEST_PAGE_SIZE ((size_t)4096) /* malloc.c's DEFAULT_PAGE_SIZE */
#endif
#endif

/* Requests at or above this size are mapped directly (malloc.c's DEFAULT_MMAP_THRESHOLD). */
#ifndef TEST_MMAP_THRESHOLD
#if SIZE_MAX > 0xFFFFFFFFu
#define TEST_MMAP_THRESHOLD ((size_t)256 * 1024)
#else
#define TEST_MMAP_THRESHOLD ((size_t)64 * 1024)
#endif
#endif

/* malloc.c's defaults (section 2), unless the variant sets them, so that tests can name the
   options in expressions: the thread cache and its bounds. */
#ifndef MALLOC_THREAD_CACHE
#define MALLOC_THREAD_CACHE 0
#endif
#ifndef MALLOC_THREAD_CACHE_MAX_SIZE
#define MALLOC_THREAD_CACHE_MAX_SIZE                                                      \
  ((1040 + MALLOC_ALIGNMENT - 1) / MALLOC_ALIGNMENT * MALLOC_ALIGNMENT)
#endif
#ifndef MALLOC_THREAD_CACHE_CLASSES
#define MALLOC_THREAD_CACHE_CLASSES 16
#endif
#ifndef MALLOC_THREAD_CACHE_COUNT
#define MALLOC_THREAD_CACHE_COUNT 512
#endif
#ifndef MALLOC_THREAD_CACHE_BATCH
#define MALLOC_THREAD_CACHE_BATCH \
  (MALLOC_THREAD_CACHE_COUNT / 2 < 16 ? MALLOC_THREAD_CACHE_COUNT / 2 : 16)
#endif
#ifndef MALLOC_THREAD_CACHE_BYTES
#define MALLOC_THREAD_CACHE_BYTES ((size_t)256U * (size_t)1024U)
#endif

/* The "modern" unsafe unlink (docs/hostile-input.md): block p, whose address the program keeps
   in holder[0], is followed at once by block q.  Inside p, forge a free chunk whose links lead
   back to holder (fd->bk and bk->fd are both holder[0]); write its size into the word before
   q's header (p's last, or its footer with FOOTERS) and clear q's "previous chunk in use" bit.
   A merge of q with its predecessor would then unlink the forged chunk and point holder[0] at
   holder - 3.  (One word past p's usable size is written.) */
static inline void forge_free_predecessor(void **holder, unsigned char *p, unsigned char *q) {
  size_t s = sizeof(size_t), fsize = (size_t)(q - p) - 2 * s, qhead;
  size_t *fake = (size_t *)(void *)p;
  holder[0] = p;
  fake[0] = 0;
  fake[1] = fsize | 1u;                      /* free, its predecessor in use */
  fake[2] = (size_t)(uintptr_t)(holder - 3); /* fd: fd->bk is holder[0] */
  fake[3] = (size_t)(uintptr_t)(holder - 2); /* bk: bk->fd is holder[0] */
  memcpy(p + fsize, &fsize, s);
  memcpy(&qhead, q - s, s);
  qhead &= ~(size_t)1;
  memcpy(q - s, &qhead, s);
}

typedef void (*heap_walker)(void *start, void *end, size_t used_bytes, void *arg);

struct heap {
  const char *name;
  int is_mspace;
  void *(*malloc)(size_t n);
  void (*free)(void *p);
  void *(*calloc)(size_t n, size_t size);
  void *(*realloc)(void *p, size_t n);
  void *(*realloc_in_place)(void *p, size_t n);
  void *(*memalign)(size_t alignment, size_t n);
  void **(*independent_calloc)(size_t n, size_t size, void **chunks);
  void **(*independent_comalloc)(size_t n, size_t *sizes, void **chunks);
  size_t (*bulk_free)(void **array, size_t n);
  size_t (*usable_size)(const void *p);
  int (*trim)(size_t pad);
  void (*stats)(void);
  size_t (*footprint)(void);
  size_t (*max_footprint)(void);
  size_t (*footprint_limit)(void);
  size_t (*set_footprint_limit)(size_t bytes);
  int (*mallopt)(int param, int value);
#if !NO_MALLINFO
  struct mallinfo (*mallinfo)(void);
#endif
#if MALLOC_INSPECT_ALL
  void (*inspect_all)(heap_walker handler, void *arg);
#endif
};

#if !ONLY_MSPACES
extern const struct heap heap_global;
#endif

#if MSPACES
/* The table for msp.  All tables returned share one "current mspace": use one at a time. */
const struct heap *heap_of_mspace(mspace msp);
#endif

/* Fill [p, p + n) with a pattern derived from seed; check it (1 when intact). */
void fill_pattern(void *p, size_t n, uint32_t seed);
int check_pattern(const void *p, size_t n, uint32_t seed);

/* The same pattern on a sample of the bytes, for blocks too big to pattern in full: every
   byte of a block up to 512 bytes; beyond, 128 bytes at each end and about 64 spread in
   between (big blocks cost little to check and touch few pages, yet a sizeable overlap is
   caught).  sampled_intact checks the positions of a block stamped at size n that lie below
   limit (the kept prefix after a realloc). */
void stamp_sampled(void *p, size_t n, uint32_t seed);
int sampled_intact(const void *p, size_t n, size_t limit, uint32_t seed);
int sampled_zero(const void *p, size_t n); /* 1 when those positions are all zero */

/* Kept blocks: a table of live blocks, each stamped with an id of its own, for tests that must
   show that nothing handed out was damaged.  The stamp is stamp_sampled's, or with
   KEPT_BLOCKS_FULL fill_pattern's over every byte (for tests whose point is that no byte of a
   kept block changes, such as the heap failing to grow around them). */
struct kept_block {
  void *p;
  size_t n;
  uint32_t id;
};
struct kept_blocks {
  struct kept_block *at;
  size_t count, capacity;
  uint32_t next_id;
  int every_byte; /* 1: fill_pattern/check_pattern; 0: the sampled stamp */
};
#define KEPT_BLOCKS(array) {array, 0, sizeof array / sizeof array[0], 1, 0}
#define KEPT_BLOCKS_FULL(array) {array, 0, sizeof array / sizeof array[0], 1, 1}

/* Add p (n bytes) and stamp it; 0, keeping nothing, when p is NULL or the table is full. */
int keep_block(struct kept_blocks *k, void *p, size_t n);
/* Restamp block i after it moved or changed size. */
void restamp_block(struct kept_blocks *k, size_t i, void *p, size_t n);
/* How many kept blocks no longer carry their pattern. */
size_t damaged_blocks(const struct kept_blocks *k);
/* Free every kept block with h->free and empty the table. */
void free_kept_blocks(struct kept_blocks *k, const struct heap *h);

/* 1 when all n bytes at p are zero. */
int all_zero(const void *p, size_t n);

/* Does some block reported with used_bytes > 0 by inspect_all hold [p, p + n)?  Returns the
   number of such blocks (expected: 1 for a live block, 0 for a freed one). */
#if MALLOC_INSPECT_ALL
size_t heap_blocks_holding(const struct heap *h, const void *p, size_t n);

/* An inspect_all handler that counts the chunks it is shown in *(size_t *)arg. */
void count_inspected(void *start, void *end, size_t used, void *arg);
#endif

#if FOOTERS
/* The footer of block mem of heap h: with FOOTERS, the word just past its usable bytes. */
static inline size_t footer_word(const struct heap *h, const void *mem) {
  size_t w;
  memcpy(&w, (const unsigned char *)mem + h->usable_size(mem), sizeof w);
  return w;
}
#endif

/* In malloc_stats' text, the number that ends the line starting with label, or (size_t)-1
   when no line matches. */
size_t stats_line_value(const char *text, const char *label);

/* Bytes of segment bookkeeping a test lets the heap add (records and fenceposts of new
   segments count as in use): a dozen segments' (test_tcache's churning thread closes ten in
   a new arena), 1 KiB at least.  A segment closed when its heap moves on keeps in use, at
   its end, a chunk for its record (four words) and four words of fenceposts (malloc.c,
   add_segment); where MALLOC_ALIGNMENT is wider than a chunk header's two words, also the
   padding that aligns its first chunk and its record, that difference each.  80 bytes a
   segment on 64-bit at alignment 16, 192 at 64: a fixed 1 KiB, fine at 16, was too little
   at 64. */
#define SEGMENT_ALIGN_PAD                                                                  \
  (MALLOC_ALIGNMENT > 2 * sizeof(size_t) ? MALLOC_ALIGNMENT - 2 * sizeof(size_t) : 0)
#define SEGMENT_BOOKKEEPING                                                                \
  (2 * SEGMENT_ALIGN_PAD + 4 * sizeof(size_t) +                                            \
   (6 * sizeof(size_t) + MALLOC_ALIGNMENT - 1) / MALLOC_ALIGNMENT * MALLOC_ALIGNMENT)
#define BOOKKEEPING_SLACK (12 * SEGMENT_BOOKKEEPING > 1024 ? 12 * SEGMENT_BOOKKEEPING : 1024)

#define KB ((size_t)1024)
#define MB ((size_t)1024 * 1024)

/* mallinfo's figures add up (malloc.h): bytes in segments plus directly mapped bytes, and
   bytes in use plus free bytes, each make the footprint; in DEBUG builds the mallinfo call
   also runs malloc.c's full invariant check.  A macro, like the CHECK_* ones below, so that
   heaps.c stays free of the harness (the libFuzzer target links heaps.c without it) and a
   failure names the caller's line.  Checks nothing in NO_MALLINFO builds. */
#if !NO_MALLINFO
#define CHECK_MALLINFO_ADDS_UP(h)                                                              \
  do {                                                                                         \
    const struct mallinfo mi_ = (h)->mallinfo();                                               \
    CHECK_EQ((size_t)mi_.arena + (size_t)mi_.hblkhd, (h)->footprint());                        \
    CHECK_EQ((size_t)mi_.uordblks + (size_t)mi_.fordblks, (h)->footprint());                   \
  } while (0)
#else
#define CHECK_MALLINFO_ADDS_UP(h) ((void)(h))
#endif

/* mspace_usable_size of a pointer no heap holds walks the records of every live mspace: once
   an mspace's memory is gone, nothing of it may be left there to read (0: the walk ended).
   INSECURE builds read the pointer's header unchecked and walk no list. */
#if MSPACES && !INSECURE
#define CHECK_MSPACE_LIST_WALKS()                                                          \
  do {                                                                                     \
    int not_a_block_ = 0;                                                                  \
    CHECK_EQ(mspace_usable_size(&not_a_block_), 0);                                        \
  } while (0)
#else
#define CHECK_MSPACE_LIST_WALKS() ((void)0)
#endif

/* ---- Hosted-only part: errno ---------------------------------------------------------------
   PORTABLE builds of malloc.c leave errno alone unless built with PORTABLE_ERRNO; hosted
   builds set it to ENOMEM.  posix_memalign returns the usual EINVAL/ENOMEM numbers in both. */
#if TH_HOSTED
#include <errno.h>
#define CHECK_RC_EINVAL(rc) CHECK_EQ(rc, EINVAL)
#define CHECK_RC_ENOMEM(rc) CHECK_EQ(rc, ENOMEM)
#if !PORTABLE || PORTABLE_ERRNO
#define ERRNO_RESET() (errno = 0)
#define CHECK_ERRNO_ENOMEM() CHECK_EQ(errno, ENOMEM)
#define CHECK_ERRNO_EINVAL() CHECK_EQ(errno, EINVAL)
#else
#define ERRNO_RESET() ((void)0)
#define CHECK_ERRNO_ENOMEM() ((void)0)
#define CHECK_ERRNO_EINVAL() ((void)0)
#endif
#else
#define ERRNO_RESET() ((void)0)
#define CHECK_ERRNO_ENOMEM() ((void)0)
#define CHECK_ERRNO_EINVAL() ((void)0)
#define CHECK_RC_EINVAL(rc) CHECK_NE(rc, 0)
#define CHECK_RC_ENOMEM(rc) CHECK_NE(rc, 0)
#endif

/* The allocation `call` must fail: return NULL and, where malloc.c sets errno, set ENOMEM. */
#define CHECK_OUT_OF_MEMORY(call) \
  do {                            \
    ERRNO_RESET();                \
    CHECK((call) == NULL);        \
    CHECK_ERRNO_ENOMEM();         \
  } while (0)

#endif /* TESTS_HEAPS_H */
