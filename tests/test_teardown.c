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
#endif /* MSPACES */

int main(void) {
#if !ONLY_MSPACES
  t_global();
#endif
#if MSPACES
  t_mspaces();
#endif
  th_section("port contract");
  CHECK_EQ(tp_lock_errors(), 0);
  CHECK_EQ(tp_locks_held(), 0);
  CHECK_EQ(tp_live_maps(), leaked);
  return th_finish();
}
