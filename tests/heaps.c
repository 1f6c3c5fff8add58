/* heaps.c -- see heaps.h. */
#include "heaps.h"

#if !ONLY_MSPACES
static void g_stats(void) { dlmalloc_stats(); }

const struct heap heap_global = {
    "global heap",
    0,
    dlmalloc,
    dlfree,
    dlcalloc,
    dlrealloc,
    dlrealloc_in_place,
    dlmemalign,
    dlindependent_calloc,
    dlindependent_comalloc,
    dlbulk_free,
    dlmalloc_usable_size,
    dlmalloc_trim,
    g_stats,
    dlmalloc_footprint,
    dlmalloc_max_footprint,
    dlmalloc_footprint_limit,
    dlmalloc_set_footprint_limit,
    dlmallopt,
#if !NO_MALLINFO
    dlmallinfo,
#endif
#if MALLOC_INSPECT_ALL
    dlmalloc_inspect_all,
#endif
};
#endif /* !ONLY_MSPACES */

#if MSPACES
static mspace cur;

static void *m_malloc(size_t n) { return mspace_malloc(cur, n); }
static void m_free(void *p) { mspace_free(cur, p); }
static void *m_calloc(size_t n, size_t s) { return mspace_calloc(cur, n, s); }
static void *m_realloc(void *p, size_t n) { return mspace_realloc(cur, p, n); }
static void *m_realloc_in_place(void *p, size_t n) { return mspace_realloc_in_place(cur, p, n); }
static void *m_memalign(size_t a, size_t n) { return mspace_memalign(cur, a, n); }
static void **m_icalloc(size_t n, size_t s, void **c) {
  return mspace_independent_calloc(cur, n, s, c);
}
static void **m_icomalloc(size_t n, size_t *s, void **c) {
  return mspace_independent_comalloc(cur, n, s, c);
}
static size_t m_bulk_free(void **a, size_t n) { return mspace_bulk_free(cur, a, n); }
static int m_trim(size_t pad) { return mspace_trim(cur, pad); }
static void m_stats(void) { mspace_malloc_stats(cur); }
static size_t m_footprint(void) { return mspace_footprint(cur); }
static size_t m_max_footprint(void) { return mspace_max_footprint(cur); }
static size_t m_footprint_limit(void) { return mspace_footprint_limit(cur); }
static size_t m_set_footprint_limit(size_t b) { return mspace_set_footprint_limit(cur, b); }
#if !NO_MALLINFO
static struct mallinfo m_mallinfo(void) { return mspace_mallinfo(cur); }
#endif
#if MALLOC_INSPECT_ALL
static void m_inspect_all(heap_walker h, void *arg) { mspace_inspect_all(cur, h, arg); }
#endif

static const struct heap heap_mspace = {
    "mspace",
    1,
    m_malloc,
    m_free,
    m_calloc,
    m_realloc,
    m_realloc_in_place,
    m_memalign,
    m_icalloc,
    m_icomalloc,
    m_bulk_free,
    mspace_usable_size,
    m_trim,
    m_stats,
    m_footprint,
    m_max_footprint,
    m_footprint_limit,
    m_set_footprint_limit,
    mspace_mallopt,
#if !NO_MALLINFO
    m_mallinfo,
#endif
#if MALLOC_INSPECT_ALL
    m_inspect_all,
#endif
};

const struct heap *heap_of_mspace(mspace msp) {
  cur = msp;
  return &heap_mspace;
}
#endif /* MSPACES */

static uint8_t pattern_byte(size_t i, uint32_t seed) {
  uint32_t x = seed * 2654435761u + (uint32_t)i * 40503u + (uint32_t)(i >> 8);
  return (uint8_t)(x ^ (x >> 13) ^ (x >> 24));
}

void fill_pattern(void *p, size_t n, uint32_t seed) {
  uint8_t *b = (uint8_t *)p;
  size_t i;
  for (i = 0; i < n; i++)
    b[i] = pattern_byte(i, seed);
}

int check_pattern(const void *p, size_t n, uint32_t seed) {
  const uint8_t *b = (const uint8_t *)p;
  size_t i;
  for (i = 0; i < n; i++)
    if (b[i] != pattern_byte(i, seed))
      return 0;
  return 1;
}

#define FULL_STAMP 512 /* blocks up to this size are patterned in full */
#define EDGE 128       /* beyond it: EDGE bytes at each end ... */
#define SAMPLES 64     /* ... and about this many bytes spread evenly in between */

static size_t stride_for(size_t n) {
  size_t s = n <= FULL_STAMP ? 1 : (n - 2 * EDGE) / SAMPLES;
  return s < 7 ? 7 : s | 1;
}

static size_t next_pos(size_t i, size_t n, size_t stride) {
  if (n <= FULL_STAMP || i + 1 < EDGE || i + 1 >= n - EDGE)
    return i + 1;
  return i + stride < n - EDGE ? i + stride : n - EDGE;
}

void stamp_sampled(void *p, size_t n, uint32_t seed) {
  uint8_t *b = (uint8_t *)p;
  size_t i, stride = stride_for(n);
  for (i = 0; i < n; i = next_pos(i, n, stride))
    b[i] = pattern_byte(i, seed);
}

/* 1 when every sampled position below limit holds the pattern's byte (or zero, zero != 0). */
static int sampled_match(const uint8_t *b, size_t n, size_t limit, uint32_t seed, int zero) {
  size_t i, stride = stride_for(n);
  for (i = 0; i < n && i < limit; i = next_pos(i, n, stride))
    if (b[i] != (zero ? 0 : pattern_byte(i, seed)))
      return 0;
  return 1;
}

int sampled_intact(const void *p, size_t n, size_t limit, uint32_t seed) {
  return sampled_match((const uint8_t *)p, n, limit, seed, 0);
}

int sampled_zero(const void *p, size_t n) { return sampled_match((const uint8_t *)p, n, n, 0, 1); }

int keep_block(struct kept_blocks *k, void *p, size_t n) {
  if (p == NULL || k->count == k->capacity)
    return 0;
  k->at[k->count].id = k->next_id++;
  restamp_block(k, k->count++, p, n);
  return 1;
}

void restamp_block(struct kept_blocks *k, size_t i, void *p, size_t n) {
  k->at[i].p = p;
  k->at[i].n = n;
  if (k->every_byte)
    fill_pattern(p, n, k->at[i].id);
  else
    stamp_sampled(p, n, k->at[i].id);
}

size_t damaged_blocks(const struct kept_blocks *k) {
  size_t i, bad = 0;
  for (i = 0; i < k->count; i++) {
    const struct kept_block *b = &k->at[i];
    bad += !(k->every_byte ? check_pattern(b->p, b->n, b->id)
                           : sampled_intact(b->p, b->n, b->n, b->id));
  }
  return bad;
}

void free_kept_blocks(struct kept_blocks *k, const struct heap *h) {
  size_t i;
  for (i = 0; i < k->count; i++)
    h->free(k->at[i].p);
  k->count = 0;
}

int all_zero(const void *p, size_t n) {
  const uint8_t *b = (const uint8_t *)p;
  size_t i;
  for (i = 0; i < n; i++)
    if (b[i] != 0)
      return 0;
  return 1;
}

#if MALLOC_INSPECT_ALL
struct holding {
  const char *lo;
  const char *hi;
  size_t found;
};

static void holding_walker(void *start, void *end, size_t used, void *arg) {
  struct holding *h = (struct holding *)arg;
  if (used > 0 && (const char *)start <= h->lo && h->hi <= (const char *)end)
    h->found++;
}

size_t heap_blocks_holding(const struct heap *h, const void *p, size_t n) {
  struct holding w;
  w.lo = (const char *)p;
  w.hi = (const char *)p + n;
  w.found = 0;
  h->inspect_all(holding_walker, &w);
  return w.found;
}

void count_inspected(void *start, void *end, size_t used, void *arg) {
  (void)start;
  (void)end;
  (void)used;
  ++*(size_t *)arg;
}
#endif /* MALLOC_INSPECT_ALL */

size_t stats_line_value(const char *text, const char *label) {
  const char *line = text, *d;
  size_t value = 0, i;
  for (;;) { /* (no strncmp or strchr: the freestanding builds have only the mem* calls) */
    for (i = 0; label[i] != '\0' && line[i] == label[i]; i++)
      continue;
    if (label[i] == '\0')
      break;
    while (*line != '\0' && *line != '\n')
      line++;
    if (*line++ == '\0')
      return (size_t)-1;
  }
  d = line + i;
  if (*d < '0' || *d > '9')
    return (size_t)-1;
  while (*d >= '0' && *d <= '9')
    value = value * 10 + (size_t)(*d++ - '0');
  return *d == '\n' ? value : (size_t)-1;
}
