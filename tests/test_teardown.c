/*
  test_teardown.c -- malloc_teardown and destroy_mspace give every region back.

  Built with the instrumented port (test_port.c), which aborts on any custom_munmap that does
  not name exactly one region a map call returned, and counts live regions and bytes.  After
  teardown/destroy the live counts must drop back to what they were, the bytes reported must
  equal the bytes the port saw leave, and the heap must work again.
*/
#include "malloc.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "heaps.h"
#include "test_port.h"

#define KB ((size_t)1024)
#define MB ((size_t)1024 * 1024)
#define NBLOCKS 3000

static void *blocks[NBLOCKS];
static size_t leaked; /* regions deliberately leaked by a refused teardown */

/* Fill a heap with small, tree, aligned, reallocated and directly mapped blocks, and free
   every third one so that free chunks exist too. Returns the number of direct-size blocks. */
static size_t populate(const struct heap *h) {
  size_t i, big = 0;
  for (i = 0; i < NBLOCKS; i++) {
    size_t n;
    if (i % 500 == 499) {
      n = 300 * KB + (i / 500) * 700 * KB; /* directly mapped */
      big++;
    } else if (i % 10 == 0) {
      n = 1 * KB + (i * 37) % (200 * KB);
    } else {
      n = 1 + (i * 13) % 250;
    }
    if (i % 7 == 0)
      blocks[i] = h->memalign((size_t)64 << (i % 5), n);
    else
      blocks[i] = h->malloc(n);
    CHECK(blocks[i] != NULL);
    if (blocks[i] != NULL)
      memset(blocks[i], (int)(i & 0xff), n);
  }
  for (i = 0; i < NBLOCKS; i += 3) {
    if (i % 500 == 499)
      continue;
    h->free(blocks[i]);
    blocks[i] = NULL;
  }
  blocks[1] = h->realloc(blocks[1], 5000);
  CHECK(blocks[1] != NULL);
  return big;
}

#if !ONLY_MSPACES
static void t_global(void) {
  struct tp_stats s0, s1, s2;
  size_t big, released, i;
  th_section("teardown of a heap never used");
  CHECK_EQ(dlmalloc_teardown(), 0);
  CHECK_EQ(tp_live_maps(), 0);

  th_section("teardown of a full heap");
  tp_get_stats(&s0);
  big = populate(&heap_global);
  tp_get_stats(&s1);
  CHECK_GT(s1.live_maps, 0);
  CHECK_GE(s1.direct_maps - s0.direct_maps, big);
  CHECK_EQ(s1.live_bytes, dlmalloc_footprint()); /* the footprint is what the port handed out */
  released = dlmalloc_teardown();
  tp_get_stats(&s2);
  CHECK_EQ(released, s1.live_bytes);
  CHECK_EQ(s2.live_maps, 0);
  CHECK_EQ(s2.live_bytes, 0);
  CHECK_EQ(s2.unmaps - s1.unmaps, s1.live_maps);
  CHECK_EQ(dlmalloc_footprint(), 0);

  th_section("the heap works after teardown");
  for (i = 0; i < 100; i++) {
    blocks[i] = dlmalloc(i * 40 + 1);
    CHECK(blocks[i] != NULL);
    fill_pattern(blocks[i], i * 40 + 1, (uint32_t)i);
  }
  for (i = 0; i < 100; i++)
    CHECK(check_pattern(blocks[i], i * 40 + 1, (uint32_t)i));
  CHECK_GT(tp_live_maps(), 0);
  for (i = 0; i < 100; i += 2)
    dlfree(blocks[i]);
  CHECK_GT(dlmalloc_teardown(), 0);
  CHECK_EQ(tp_live_maps(), 0);

  th_section("a direct map goes back as soon as it is freed");
  {
    void *first = dlmalloc(100); /* a heap with no top yet serves even big requests from
                                    its first segment: give it one */
    void *p = dlmalloc(2 * MB);
    size_t live;
    CHECK(first != NULL);
    tp_get_stats(&s1);
    CHECK(p != NULL);
    CHECK(tp_is_mapped(p, 2 * MB));
    live = s1.live_maps;
    dlfree(p);
    tp_get_stats(&s2);
    CHECK_EQ(s2.live_maps, live - 1);
    CHECK_EQ(s2.unmaps, s1.unmaps + 1);
  }

  th_section("a refused unmap of a direct map is retried by teardown");
  {
    void *p = dlmalloc(3 * MB);
    CHECK(p != NULL);
    CHECK(tp_is_mapped(p, 3 * MB));
    tp_get_stats(&s1);
    tp_refuse_munmap(1);
    dlfree(p); /* the system says no: the heap keeps the region */
    tp_refuse_munmap(0);
    tp_get_stats(&s2);
    CHECK_EQ(s2.refused_unmaps, s1.refused_unmaps + 1);
    CHECK_EQ(s2.live_maps, s1.live_maps);
    p = dlmalloc(1000); /* the heap goes on */
    CHECK(p != NULL);
    CHECK_GT(dlmalloc_teardown(), 3 * MB);
    CHECK_EQ(tp_live_maps(), 0); /* teardown released the refused region too */
  }

  th_section("teardown when custom_munmap refuses");
  populate(&heap_global);
  tp_get_stats(&s1);
  tp_refuse_munmap(1);
  CHECK_EQ(dlmalloc_teardown(), 0); /* nothing was released ... */
  tp_refuse_munmap(0);
  tp_get_stats(&s2);
  CHECK_EQ(s2.refused_unmaps - s1.refused_unmaps, s1.live_maps);
  CHECK_EQ(s2.live_maps, s1.live_maps); /* ... and the regions are leaked, as documented */
  CHECK_EQ(dlmalloc_footprint(), 0);    /* the heap was reset regardless */
  leaked = s2.live_maps;
  {
    void *p = dlmalloc(300), *q = dlmalloc(1 * MB); /* and it is usable */
    CHECK(p != NULL && q != NULL);
    if (p != NULL && q != NULL) {
      memset(p, 1, 300);
      memset(q, 2, 1 * MB);
    }
    dlfree(p);
    dlfree(q);
  }
  CHECK_GT(dlmalloc_teardown(), 0);
  CHECK_EQ(tp_live_maps(), leaked); /* everything but the leaked regions went back */
  CHECK_EQ(dlmalloc_footprint(), 0);
}
#endif /* !ONLY_MSPACES */

#if MSPACES
static unsigned char base_buffer[128 * 1024];

/* Destroy m and check that the port's live regions are back to before. */
static void destroy_and_check(mspace m, const struct tp_stats *before) {
  struct tp_stats s1, s2;
  size_t fp = mspace_footprint(m), released;
  tp_get_stats(&s1);
  released = destroy_mspace(m);
  tp_get_stats(&s2);
  CHECK_EQ(s2.live_maps, before->live_maps);
  CHECK_EQ(s2.live_bytes, before->live_bytes);
  CHECK_EQ(released, s1.live_bytes - s2.live_bytes);
  CHECK_LE(released, fp);
}

static void t_mspaces(void) {
  struct tp_stats s0, s1;
  mspace m;
  size_t i;

  th_section("destroy_mspace, large chunks tracked");
  tp_get_stats(&s0);
  m = create_mspace(0, 1);
  if (!CHECK(m != NULL))
    return;
  CHECK_EQ(mspace_track_large_chunks(m, 1), 0);
  CHECK_GE(populate(heap_of_mspace(m)), 1);
  tp_get_stats(&s1);
  CHECK_GT(s1.live_maps, s0.live_maps);
  CHECK_EQ(s1.live_bytes - s0.live_bytes, mspace_footprint(m));
  destroy_and_check(m, &s0); /* the directly mapped blocks were never freed */

  th_section("destroy_mspace, large chunks freed by hand");
  m = create_mspace(0, 1);
  if (!CHECK(m != NULL))
    return;
  populate(heap_of_mspace(m));
  for (i = 499; i < NBLOCKS; i += 500)
    mspace_free(m, blocks[i]); /* untracked direct maps must be freed before destroy */
  destroy_and_check(m, &s0);

  th_section("destroy_mspace of an empty mspace");
  m = create_mspace(0, 0);
  if (CHECK(m != NULL))
    destroy_and_check(m, &s0);

  th_section("mspace with a base buffer that had to grow");
  m = create_mspace_with_base(base_buffer, sizeof base_buffer, 1);
  if (!CHECK(m != NULL))
    return;
  for (i = 0; i < 60; i++) { /* 1.2 MB: far more than the buffer */
    blocks[i] = mspace_malloc(m, 20 * KB);
    CHECK(blocks[i] != NULL);
  }
  CHECK_GT(tp_live_maps(), s0.live_maps); /* it grew through custom_mmap */
  destroy_and_check(m, &s0);               /* ... and gave that back, not the buffer */

#if !ONLY_MSPACES
  th_section("global teardown leaves mspaces alone");
  m = create_mspace(0, 1);
  if (!CHECK(m != NULL))
    return;
  for (i = 0; i < 50; i++) {
    blocks[i] = mspace_malloc(m, 1000 + i);
    fill_pattern(blocks[i], 1000 + i, (uint32_t)i);
  }
  tp_get_stats(&s1);
  {
    void *g = dlmalloc(5000);
    CHECK(g != NULL);
    CHECK_GT(dlmalloc_teardown(), 0);
  }
  CHECK_EQ(tp_live_maps(), s1.live_maps);
  for (i = 0; i < 50; i++)
    CHECK(check_pattern(blocks[i], 1000 + i, (uint32_t)i));
  destroy_and_check(m, &s0);

  th_section("global teardown ends an mspace made in a block of the heap");
  {
    /* Its state goes with the heap's memory: left on the list of live mspaces, the next
       call that walks it (usable_size of a foreign pointer, fork's handlers, another
       mspace's destroy) read unmapped memory. */
    void *block = dlmalloc(MB); /* above the threshold: a region of its own */
    mspace inner = block != NULL ? create_mspace_with_base(block, MB, 1) : NULL;
    if (CHECK(inner != NULL)) {
      CHECK(mspace_malloc(inner, 2 * MB) != NULL); /* and a region of inner's own */
      m = create_mspace(0, 1);
      CHECK_GT(dlmalloc_teardown(), 3 * MB);
      CHECK_MSPACE_LIST_WALKS();
      if (CHECK(m != NULL))
        destroy_and_check(m, &s0);
    }
  }
#endif
}

#if !INSECURE && !defined(__wasm__)
/* An mspace's segments never merge on a PORTABLE port (but WebAssembly's), and a free outside
   the newest one walks their list (malloc.c, walks_segments): so it grows by a quarter of its
   footprint at each step, not by the granularity, and its segments number about the logarithm
   of its size (an outside review's mspace of 160 MB had 2,500, each free cost 200 us).  Those
   large segments go back as soon as a free empties one, and top's with the one before it. */
#define GROW_BLOCK 1000
#define GROW_COUNT 16384 /* 16 MB */
static void *grown[GROW_COUNT];
#define SMALL_BLOCK 1 /* the least chunk: every free chunk can serve it */
#define SMALL_COUNT 4096
static void *small[SMALL_COUNT];
static unsigned char big_buffer[6 * MB];
static size_t segment_start[64], segment_bytes[64];

static void t_mspace_segments(void) {
  struct tp_stats s0, s1, s2;
  mspace m;
  size_t i, n = 0, segments = 0, fp0, victim = 0, end;
  th_section("an mspace grows by a part of its footprint");
  tp_get_stats(&s0);
  m = create_mspace(0, 1);
  if (!CHECK(m != NULL))
    return;
  fp0 = mspace_footprint(m);
  tp_get_stats(&s1);
  for (i = 0; i < GROW_COUNT; i++) {
    struct tp_stats now;
    tp_get_stats(&s2);
    if ((grown[i] = mspace_malloc(m, GROW_BLOCK)) == NULL)
      break;
    n++;
    tp_get_stats(&now);
    if (now.maps != s2.maps && segments < 64) { /* this block began a segment */
      segment_start[segments] = i;
      segment_bytes[segments++] = now.live_bytes - s2.live_bytes;
    }
  }
  CHECK_EQ(n, GROW_COUNT);
  tp_get_stats(&s2);
  CHECK_LE(s2.maps - s1.maps, 40); /* one per 64 KiB unit made 250 */
  CHECK_EQ(s2.maps - s1.maps, segments);

  th_section("a free that empties a large segment gives it back at once");
  /* the last segment of 2 MiB or more (the trim threshold) before top's */
  for (i = 0; i + 2 < segments; i++) /* (not the one before top's: that is for later) */
    if (segment_bytes[i] >= 2 * MB + 64 * KB)
      victim = i;
  if (CHECK_GE(segment_bytes[victim], 2 * MB + 64 * KB)) {
    end = segment_start[victim + 1];
    tp_get_stats(&s1);
    for (i = segment_start[victim]; i < end; i++) {
      mspace_free(m, grown[i]);
      grown[i] = NULL;
    }
    tp_get_stats(&s2);
    CHECK_EQ(s2.unmaps - s1.unmaps, 1);
    CHECK_EQ(s1.live_bytes - s2.live_bytes, segment_bytes[victim]);
  }

  th_section("top's empty segment stays while the one before is in use, and goes after");
  /* Small blocks take every free chunk left below the records (each growth leaves the old
     top's remainder there), so that the segment before top's ends with a block in use. */
  if (CHECK_GE(segments, 3) && CHECK_GE(segment_bytes[segments - 1], 2 * MB + 64 * KB)) {
    size_t last = segment_start[segments - 1];     /* the first block of top's segment */
    size_t before = segment_start[segments - 2];   /* ... and of the segment before it */
    char *top_lo = (char *)grown[last] - 64, *top_hi = top_lo + segment_bytes[segments - 1];
    size_t smalls = 0, pairs;
    char *p;
    do {
      p = (char *)mspace_malloc(m, SMALL_BLOCK);
      if (!CHECK(p != NULL))
        break;
      small[smalls++] = p;
    } while ((p < top_lo || p >= top_hi) && smalls < SMALL_COUNT);
    CHECK(p >= top_lo && p < top_hi);
    tp_get_stats(&s1);
    mspace_free(m, small[--smalls]); /* the one from top */
    for (i = last; i < n; i++) {     /* top fills its segment */
      mspace_free(m, grown[i]);
      grown[i] = NULL;
    }
    /* A block freed and allocated again and again: top's segment is the room it needs, not
       given up for the few bytes before the record (it was mapped and unmapped each time). */
    for (pairs = 0; pairs < 1000; pairs++)
      mspace_free(m, mspace_malloc(m, 2 * GROW_BLOCK));
    for (i = before; i < last; i++) { /* the segment before: all but the small blocks */
      mspace_free(m, grown[i]);
      grown[i] = NULL;
    }
    tp_get_stats(&s2);
    CHECK_EQ(s2.unmaps, s1.unmaps);
    CHECK_EQ(s2.maps, s1.maps);
    while (smalls > 0) /* among them the last block of the segment before top's */
      mspace_free(m, small[--smalls]);
    tp_get_stats(&s2);
    CHECK_EQ(s2.unmaps - s1.unmaps, 1);
    CHECK_EQ(s1.live_bytes - s2.live_bytes, segment_bytes[segments - 1]);
  }

  th_section("an mspace that freed everything keeps only its first segment");
  for (i = 1; i < n; i += 2) /* not in address order */
    mspace_free(m, grown[i]);
  for (i = 0; i < n; i += 2)
    mspace_free(m, grown[i]);
  CHECK_EQ(mspace_footprint(m), fp0);
  CHECK_EQ(mspace_trim(m, 0), 0); /* nothing left to give back */
  destroy_and_check(m, &s0);

  th_section("a block freed and allocated again and again maps nothing");
  /* The first block of a new segment of 2 MiB or more, freed: top fills that segment, and the
     segment before ends with the old top's remainder, a few bytes.  Given up for those, the
     segment came back at the next malloc: mapped and unmapped at every pair. */
  m = create_mspace(0, 1);
  if (!CHECK(m != NULL))
    return;
  for (i = 0; i < GROW_COUNT; i++) {
    tp_get_stats(&s1);
    if (!CHECK((grown[i] = mspace_malloc(m, GROW_BLOCK)) != NULL))
      break;
    tp_get_stats(&s2);
    if (s2.maps != s1.maps && s2.live_bytes - s1.live_bytes >= 2 * MB + 64 * KB)
      break; /* grown[i] began such a segment */
  }
  if (CHECK_LT(i, GROW_COUNT)) {
    size_t pairs;
    tp_get_stats(&s1);
    for (pairs = 0; pairs < 1000; pairs++) {
      mspace_free(m, grown[i]);
      grown[i] = mspace_malloc(m, GROW_BLOCK);
    }
    tp_get_stats(&s2);
    CHECK_EQ(s2.maps, s1.maps);
    CHECK_EQ(s2.unmaps, s1.unmaps);
    CHECK_EQ(mspace_trim(m, 0), 0); /* (top's segment holds the block) */
  }
  destroy_and_check(m, &s0);

  th_section("a large block comes from the caller's buffer while it has room");
  m = create_mspace_with_base(big_buffer, sizeof big_buffer, 1);
  if (!CHECK(m != NULL))
    return;
  tp_get_stats(&s1);
  for (i = 0; i < 4; i++) { /* past the mmap threshold */
    grown[i] = mspace_malloc(m, MB);
    CHECK((unsigned char *)grown[i] >= big_buffer &&
          (unsigned char *)grown[i] < big_buffer + sizeof big_buffer);
  }
  tp_get_stats(&s2);
  CHECK_EQ(s2.maps + s2.direct_maps, s1.maps + s1.direct_maps);
  destroy_and_check(m, &s0);

  th_section("mspace_trim gives back what overflowed a base buffer");
  m = create_mspace_with_base(base_buffer, sizeof base_buffer, 1);
  if (!CHECK(m != NULL))
    return;
  fp0 = mspace_footprint(m);
  for (i = 0; i < 200; i++) /* 200 KB: more than the buffer */
    CHECK((grown[i] = mspace_malloc(m, GROW_BLOCK)) != NULL);
  CHECK_GT(tp_live_maps(), s0.live_maps);
  for (i = 0; i < 200; i++)
    mspace_free(m, grown[i]);
  mspace_trim(m, 0);
  CHECK_EQ(tp_live_maps(), s0.live_maps); /* kept: the segment holding top */
  CHECK_EQ(mspace_footprint(m), fp0);
  destroy_and_check(m, &s0);
}
#endif
#endif /* MSPACES */

int main(void) {
#if !ONLY_MSPACES
  t_global();
#endif
#if MSPACES
  t_mspaces();
#if !INSECURE && !defined(__wasm__)
  t_mspace_segments();
#endif
#endif
  th_section("port contract");
  CHECK_EQ(tp_lock_errors(), 0);
  CHECK_EQ(tp_locks_held(), 0);
  CHECK_EQ(tp_live_maps(), leaked);
  return th_finish();
}
