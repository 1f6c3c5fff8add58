/*
  mspace.c -- independent heaps: create, use, walk, measure, destroy.

  1. create_mspace(0, 1): a locked mspace with the default first segment.  Small blocks, a large
     one (above the mmap threshold), and aligned ones (64 bytes to 64 KiB).  mspace_inspect_all
     must report each live block inside exactly one in-use chunk, and mspace_mallinfo must count
     at least the bytes handed out.  destroy_mspace releases what it mapped, less what the
     port's custom_munmap keeps (noted: refusing is allowed), and never more.
  2. create_mspace_with_base(buffer): the same heap living in a static buffer.  Blocks must come
     from the buffer; when it is full the mspace may grow through the port, but the buffer
     itself is never given back.
  Prints "mspace: PASS" or "mspace: FAIL ..." and exits non-zero on failure.
*/
#include "../malloc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef SAMPLE_STATIC_ARENA /* built against ports/static_arena.c: give it a buffer first */
#include "../ports/static_arena.h"
static unsigned char arena[SAMPLE_STATIC_ARENA];
#endif

#if MSPACES

static unsigned failures;

static void check(int ok, const char *what) {
  if (!ok) {
    ++failures;
    printf("mspace: FAIL: %s\n", what);
  }
}

/* ==== Walking a heap ======================================================================== */

#define MAX_LIVE 64

struct walk {
  void *live[MAX_LIVE]; /* the blocks we expect to find */
  size_t live_size[MAX_LIVE];
  unsigned found[MAX_LIVE]; /* how many in-use chunks contained each one */
  size_t nlive;
  size_t used_chunks, free_chunks, used_bytes;
};

/* Called with the heap locked: it must not allocate, so it only counts and compares. */
static void walker(void *start, void *end, size_t used, void *arg) {
  struct walk *w = (struct walk *)arg;
  if (used == 0) {
    ++w->free_chunks;
    return;
  }
  ++w->used_chunks;
  w->used_bytes += used;
  /* An in-use block may end up to one word past `end`: like dlmalloc, the walker reports the
     chunk's span up to the next chunk's header, while the block may also use the first word
     of that header (the next chunk's prev_foot, unused while this chunk is in use).  So a
     block is "in" a chunk when it starts inside it and fits in its used bytes. */
  for (size_t i = 0; i < w->nlive; ++i) {
    uintptr_t p = (uintptr_t)w->live[i];
    if (p >= (uintptr_t)start && p < (uintptr_t)end &&
        p + w->live_size[i] <= (uintptr_t)start + used)
      ++w->found[i];
  }
}

static void add_live(struct walk *w, void *p, size_t size) {
  if (p != NULL && w->nlive < MAX_LIVE) {
    w->live[w->nlive] = p;
    w->live_size[w->nlive] = size;
    w->found[w->nlive] = 0;
    ++w->nlive;
  }
}

static void check_walk(mspace m, struct walk *w, const char *label) {
  char what[160];
  mspace_inspect_all(m, walker, w);
  for (size_t i = 0; i < w->nlive; ++i) {
    if (w->found[i] != 1) {
      snprintf(what, sizeof what, "%s: block %p was found in %u in-use chunks, expected 1",
               label, w->live[i], w->found[i]);
      check(0, what);
    }
  }
  printf("mspace: %s: inspect_all saw %lu chunks in use (%lu bytes) and %lu free\n", label,
         (unsigned long)w->used_chunks, (unsigned long)w->used_bytes,
         (unsigned long)w->free_chunks);
}

/* ==== 1. A heap of its own ================================================================== */

static void mapped_mspace(void) {
  static const size_t small[] = {1, 16, 24, 100, 255, 1000};
  static const size_t aligns[] = {64, 256, 4096, 65536};
  struct walk w;
  mspace m = create_mspace(0, 1);
  void *large;
  size_t requested = 0, footprint, released;

  memset(&w, 0, sizeof w);
  check(m != NULL, "create_mspace(0, 1) returned NULL");
  if (m == NULL)
    return;

  for (size_t i = 0; i < sizeof small / sizeof small[0]; ++i) {
    void *p = mspace_malloc(m, small[i]);
    check(p != NULL && ((uintptr_t)p & (MALLOC_ALIGNMENT - 1)) == 0, "small block");
    check(p == NULL || mspace_usable_size(p) >= small[i], "small block usable size");
    if (p != NULL)
      memset(p, 0xA5, small[i]);
    add_live(&w, p, small[i]);
    requested += small[i];
  }
  large = mspace_malloc(m, (size_t)1 << 20);
  check(large != NULL, "1 MiB block");
  if (large != NULL)
    memset(large, 0x5A, (size_t)1 << 20);
  /* Not added to the walk: a directly mapped chunk lives outside the segments, and
     inspect_all walks segments only (unless mspace_track_large_chunks is on). */
  requested += large != NULL ? (size_t)1 << 20 : 0;
  for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; ++i) {
    void *p = mspace_memalign(m, aligns[i], 3000);
    check(p != NULL && ((uintptr_t)p & (aligns[i] - 1)) == 0, "aligned block");
    if (p != NULL)
      memset(p, 0x3C, 3000);
    add_live(&w, p, 3000);
    requested += 3000;
  }
  {
    void *z = mspace_calloc(m, 100, 10);
    int zero = z != NULL;
    for (size_t i = 0; zero && i < 1000; ++i)
      zero = ((unsigned char *)z)[i] == 0;
    check(zero, "mspace_calloc gave a zeroed block");
    add_live(&w, z, 1000);
    requested += 1000;
  }

  check_walk(m, &w, "create_mspace");
#if !NO_MALLINFO
  {
    struct mallinfo mi = mspace_mallinfo(m);
    printf("mspace: mallinfo: arena %lu, in use %lu, free %lu, mmapped %lu, max footprint %lu\n",
           (unsigned long)mi.arena, (unsigned long)mi.uordblks, (unsigned long)mi.fordblks,
           (unsigned long)mi.hblkhd, (unsigned long)mi.usmblks);
    check((size_t)mi.uordblks + (size_t)mi.hblkhd >= requested,
          "mallinfo counts fewer bytes in use than were handed out");
  }
#endif
  for (size_t i = 0; i < w.nlive; ++i)
    mspace_free(m, w.live[i]);
  mspace_free(m, large);
  footprint = mspace_footprint(m);
  released = destroy_mspace(m);
  printf("mspace: destroy_mspace released %lu bytes (footprint was %lu)\n",
         (unsigned long)released, (unsigned long)footprint);
  check(released <= footprint, "destroy_mspace released more than the footprint");
  if (released < footprint) /* the contract lets custom_munmap keep a region */
    printf("mspace: note: custom_munmap kept %lu bytes (allowed by the port contract)\n",
           (unsigned long)(footprint - released));
}

/* ==== 2. A heap in a buffer ================================================================= */

static unsigned char buffer[256 * 1024];

static void buffer_mspace(void) {
  struct walk w;
  uintptr_t lo = (uintptr_t)buffer, hi = lo + sizeof buffer;
  mspace m = create_mspace_with_base(buffer, sizeof buffer, 1);
  size_t inside = 0, outside = 0, released;
  void *p;

  memset(&w, 0, sizeof w);
  check(m != NULL, "create_mspace_with_base returned NULL");
  if (m == NULL)
    return;
  check((uintptr_t)m >= lo && (uintptr_t)m < hi, "the mspace header is not in the buffer");

  for (int i = 0; i < 40; ++i) {
    p = mspace_malloc(m, 200 + 37 * (size_t)i);
    check(p != NULL, "block from the buffer mspace");
    if (p == NULL)
      continue;
    memset(p, i, 200 + 37 * (size_t)i);
    if ((uintptr_t)p >= lo && (uintptr_t)p < hi)
      ++inside;
    else
      ++outside;
    add_live(&w, p, 200 + 37 * (size_t)i);
  }
  check(outside == 0, "small blocks did not come from the buffer");
  p = mspace_memalign(m, 1024, 5000);
  check(p != NULL && ((uintptr_t)p & 1023) == 0, "aligned block in the buffer mspace");
  add_live(&w, p, 5000);
  check_walk(m, &w, "create_mspace_with_base");

  /* Free half, allocate again: the space must be reused inside the buffer. */
  for (size_t i = 0; i < w.nlive; i += 2)
    mspace_free(m, w.live[i]);
  p = mspace_malloc(m, 300);
  check(p != NULL && (uintptr_t)p >= lo && (uintptr_t)p < hi, "freed buffer space reused");
  mspace_free(m, p);
  for (size_t i = 1; i < w.nlive; i += 2)
    mspace_free(m, w.live[i]);

  released = destroy_mspace(m);
  printf("mspace: buffer mspace: %lu blocks in the buffer; destroy_mspace released %lu bytes\n",
         (unsigned long)inside, (unsigned long)released);
  /* Nothing grew beyond the buffer, and the buffer is the caller's: nothing to release. */
  check(released == 0, "destroy_mspace released memory of a buffer mspace that never grew");
}

#endif /* MSPACES */

int main(void) {
#if !MSPACES
  puts("mspace: skipped (built without MSPACES)");
  return 0;
#else
#ifdef SAMPLE_STATIC_ARENA
  if (dlmalloc_arena_init(arena, sizeof arena) == 0) {
    puts("mspace: FAIL: the arena is too small");
    return 1;
  }
#endif
  mapped_mspace();
  buffer_mspace();
  if (malloc_abort_reason()[0] != '\0')
    check(0, malloc_abort_reason());
  if (failures == 0) {
    puts("mspace: PASS");
    return 0;
  }
  printf("mspace: FAIL (%u problem%s)\n", failures, failures == 1 ? "" : "s");
  return 1;
#endif
}
