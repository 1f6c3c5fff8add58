/*
  replace_libc.c -- this allocator as wasi-libc's malloc, on ports/wasm32.c.

  Built without USE_DL_PREFIX (tests/matrix/wasm.cmake), so malloc, free and the rest are this
  project's, for the program and for the C library alike.  Checks:
    libc calls     strdup, asprintf and open_memstream allocate through the C library; the
                   bytes they take must show up in this allocator's mallinfo(); so must
                   aligned_alloc's, once malloc.c defines it (malloc.h maps dlaligned_alloc);
    workload       a malloc-heavy mix (sizes from 1 byte to 2 MiB, reallocs, frees in random
                   order), every block filled with a pattern of its own and checked before it
                   is resized or freed (its first and last 256 bytes and one byte in 512
                   between); more than 64 MiB must be live at its peak, and the linear memory
                   must grow from below 64 MiB to above it;
    reuse          once everything is freed, three more rounds must not grow the memory by one
                   page: custom_munmap declines every release, so the core has to reuse what
                   it kept;
    huge requests  requests near 4 GiB (malloc, calloc, realloc, posix_memalign and the port's
                   custom_mmap itself) must fail cleanly, with errno ENOMEM where the
                   function sets it, and leave the memory as it was;
    port spans     custom_munmap refuses what the port did not hand out or already has back,
                   takes part of a region or several adjacent ones, and custom_mmap hands a
                   merged span out again (with WASM32_RECYCLE=0: every release declined).
  samples/port_check.c's checks run first, on a fresh heap (their "segment maps" check needs
  a heap that has to grow), and print "port check: PASS".
  tests/matrix/wasm/no_libc_allocator.cmake checks the binary for wasi-libc's allocator.
*/
#define _GNU_SOURCE 1 /* asprintf */
#include "malloc.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define WASM_PAGE ((uint64_t)65536)

typedef void (*port_check_writer)(const char *text);
int port_check_run(port_check_writer write);

/* 64-bit: a full 4 GiB memory (65536 pages) does not fit in a 32-bit size_t. */
static uint64_t memory_bytes(void) {
  return (uint64_t)__builtin_wasm_memory_size(0) * WASM_PAGE;
}

static size_t in_use(void) { return mallinfo().uordblks; }
static size_t baseline; /* in_use() with no block allocated */

/* ---- The C library's own calls ---- */

static void check_libc_calls(void) {
  size_t before;
  char *copy, *text = NULL, *stream_buf = NULL;
  size_t stream_len = 0;
  FILE *stream;
  th_section("libc calls");

  before = baseline;
  copy = strdup("a string long enough to need a block of its own from malloc");
  CHECK(copy != NULL);
  CHECK_GE(in_use(), before + strlen(copy) + 1);
  free(copy);
  CHECK_EQ(in_use(), before);

  CHECK_GT(asprintf(&text, "%s %d", "formatted", 12345), 0);
  CHECK(text != NULL && strcmp(text, "formatted 12345") == 0);
  CHECK_GT(in_use(), before);
  free(text);

  stream = open_memstream(&stream_buf, &stream_len);
  CHECK(stream != NULL);
  if (stream != NULL) {
    int i;
    for (i = 0; i < 1000; ++i)
      fprintf(stream, "line %d\n", i);
    CHECK_EQ(fclose(stream), 0);
    CHECK_GT(stream_len, 5000);
    CHECK_GE(in_use(), before + stream_len);
    CHECK(stream_buf != NULL && strncmp(stream_buf, "line 0\nline 1\n", 14) == 0);
    free(stream_buf);
  }
  CHECK_EQ(in_use(), before);

#ifdef dlaligned_alloc
  /* malloc.h maps it to aligned_alloc, so the core defines it: a program's aligned_alloc must
     not pull in wasi-libc's, which would bring its malloc along and clash. */
  {
    void *aligned = aligned_alloc(64, 100);
    CHECK(aligned != NULL && TH_ALIGNED(aligned, 64));
    CHECK_GE(in_use(), before + 100);
    free(aligned);
  }
#endif
}

/* ---- The workload ---- */

#define SLOTS 2048

struct slot {
  unsigned char *p;
  size_t n;
  uint32_t tag;
};
static struct slot slots[SLOTS];
static uint32_t rng;

static uint32_t next_random(void) {
  rng ^= rng << 13;
  rng ^= rng >> 17;
  rng ^= rng << 5;
  return rng;
}

/* Mostly small blocks, some medium, a few large: with about half of the 2048 slots live, the
   large ones (one in 16, 64 KiB to 2 MiB) keep well over 64 MiB in use. */
static size_t random_size(void) {
  uint32_t r = next_random();
  if ((r & 15u) == 0)
    return 65536 + (next_random() % (2u * 1024u * 1024u - 65536u));
  if ((r & 7u) == 0)
    return 256 + next_random() % 16384u;
  return 1 + next_random() % 256u;
}

/* The bytes of a block that carry its pattern: all of a small block; the first and last 256
   and one in 512 between of a large one (every 512-byte stretch, so an overlap shows). */
static size_t next_marked(size_t i, size_t n) {
  if (i < 256 || i + 256 >= n)
    return i + 1;
  return (i + 512 < n - 256) ? i + 512 : n - 256;
}

static void fill(struct slot *s) {
  size_t i;
  for (i = 0; i < s->n; i = next_marked(i, s->n))
    s->p[i] = (unsigned char)(s->tag + i * 7u);
}

static int intact(const struct slot *s) {
  size_t i;
  for (i = 0; i < s->n; i = next_marked(i, s->n))
    if (s->p[i] != (unsigned char)(s->tag + i * 7u))
      return 0;
  return 1;
}

/* Returns the bytes of damaged blocks found (0 when every block was intact). */
static unsigned long run_workload(uint32_t seed, unsigned long operations, size_t *peak_live) {
  unsigned long damaged = 0, op, nulls = 0;
  size_t live = 0;
  size_t i;
  rng = seed;
  *peak_live = 0;
  for (op = 0; op < operations; ++op) {
    struct slot *s = &slots[next_random() % SLOTS];
    if (s->p != NULL && !intact(s))
      ++damaged;
    if (s->p == NULL) {
      s->n = random_size();
      s->tag = next_random();
      s->p = malloc(s->n);
      if (s->p == NULL) {
        ++nulls;
        continue;
      }
      live += s->n;
      fill(s);
    } else if ((next_random() & 3u) == 0) {
      size_t n = random_size();
      unsigned char *q = realloc(s->p, n);
      if (q == NULL) {
        ++nulls;
        continue;
      }
      live = live - s->n + n;
      /* The old contents survive up to the smaller size; refill all with the pattern. */
      s->p = q;
      s->n = n;
      fill(s);
    } else {
      live -= s->n;
      free(s->p);
      s->p = NULL;
    }
    if (live > *peak_live)
      *peak_live = live;
  }
  for (i = 0; i < SLOTS; ++i) {
    if (slots[i].p != NULL) {
      if (!intact(&slots[i]))
        ++damaged;
      free(slots[i].p);
      slots[i].p = NULL;
    }
  }
  return damaged + nulls;
}

static void check_workload(void) {
  size_t peak_live;
  uint64_t start = memory_bytes(), grown, again;
  unsigned long round;
  th_section("workload");
  th_note_u("linear memory before the workload:", start);
  CHECK_EQ(run_workload(12345u, 100000u, &peak_live), 0);
  grown = memory_bytes();
  th_note_u("peak bytes live:", peak_live);
  th_note_u("linear memory after the first round:", grown);
  CHECK_GT(peak_live, (size_t)64 * 1024 * 1024);
  CHECK_GT(grown, (uint64_t)64 * 1024 * 1024);
  CHECK_LT(start, (uint64_t)64 * 1024 * 1024);
  /* New segments may each keep a small record in use, nothing more. */
  CHECK_LE(in_use(), baseline + 1024);
  baseline = in_use();

  th_section("reuse");
  for (round = 0; round < 3; ++round) {
    CHECK_EQ(run_workload(12345u + (uint32_t)round, 100000u, &peak_live), 0);
    CHECK_EQ(in_use(), baseline);
  }
  again = memory_bytes();
  th_note_u("linear memory after three more rounds:", again);
  CHECK_EQ(again, grown);
}

/* ---- Requests near 4 GiB ---- */

/* Keeps the compiler from treating a malloc whose result is only compared with NULL as one
   that cannot fail (it may drop such a call and assume success). */
static void *volatile sink;

static void check_huge_requests(void) {
  /* Within 64 KiB of 4 GiB: the program's data and stack come first, so none can fit.  (4 GiB
     less 1 MiB can: a wasm32 program may use the whole address space.) */
  static const size_t sizes[] = {(size_t)-1, (size_t)-16, (size_t)-4096, (size_t)-65536,
                                 (size_t)-65537};
  uint64_t before = memory_bytes();
  size_t i;
  void *p;
  th_section("huge requests");
  for (i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
    errno = 0;
    CHECK((sink = malloc(sizes[i])) == NULL);
    CHECK_EQ(errno, ENOMEM);
    CHECK((sink = custom_mmap(sizes[i])) == CUSTOM_MMAP_FAILURE);
    errno = 0;
    CHECK((sink = calloc(sizes[i], 1)) == NULL);
    CHECK_EQ(errno, ENOMEM);
    CHECK_EQ(posix_memalign((void **)&sink, 65536, sizes[i]), ENOMEM);
  }
  CHECK((sink = calloc(65536, 65536)) == NULL); /* the product wraps to 0 in 32 bits */
  CHECK((sink = calloc(65537, 65535)) == NULL);
  p = malloc(100);
  CHECK(p != NULL);
  errno = 0;
  CHECK((sink = realloc(p, (size_t)-32)) == NULL);
  CHECK_EQ(errno, ENOMEM);
  CHECK((sink = realloc(p, (size_t)0xFFFF0000u)) == NULL);
  free(p); /* still the caller's after the failed reallocs */
  CHECK_EQ(memory_bytes(), before);
}

/* ---- The port's span list, directly ---- */

/* What custom_munmap must refuse (and what it must take back and hand out again), checked on
   regions this function maps itself; the heap's own regions are left alone. */
static void check_port_spans(void) {
  static unsigned char not_mapped[64];
  uint64_t before = memory_bytes();
  unsigned char *a, *b, *again;
  th_section("port spans");
  a = custom_mmap(2 * WASM_PAGE);
  b = custom_mmap(WASM_PAGE);
  if (!CHECK(a != CUSTOM_MMAP_FAILURE && b != CUSTOM_MMAP_FAILURE))
    return;
  CHECK_EQ(custom_munmap(not_mapped, 64), -1);  /* below __heap_base: data */
  CHECK_EQ(custom_munmap(a + 8, WASM_PAGE), -1); /* misaligned */
  CHECK_EQ(custom_munmap(a, 8), -1);             /* too small to hold a span */
#if !defined(WASM32_RECYCLE) || WASM32_RECYCLE
  CHECK_EQ(custom_munmap(a, WASM_PAGE), 0);               /* part of a region */
  CHECK_EQ(custom_munmap(a, WASM_PAGE), -1);              /* twice */
  CHECK_EQ(custom_munmap(a + WASM_PAGE / 2, WASM_PAGE), -1); /* overlapping a free span */
  if (b == a + 2 * WASM_PAGE) { /* adjacent, as two maps at the break are */
    CHECK_EQ(custom_munmap(a + WASM_PAGE, 2 * WASM_PAGE), 0); /* the rest and the next region */
    again = custom_mmap(3 * WASM_PAGE);                      /* one merged span: reused */
    CHECK(again == a);
    if (again != CUSTOM_MMAP_FAILURE)
      CHECK_EQ(custom_munmap(again, 3 * WASM_PAGE), 0);
  } else {
    CHECK_EQ(custom_munmap(a + WASM_PAGE, WASM_PAGE), 0);
    CHECK_EQ(custom_munmap(b, WASM_PAGE), 0);
  }
  CHECK_EQ(memory_bytes(), before);
#else
  CHECK_EQ(custom_munmap(a, 2 * WASM_PAGE), -1); /* every release declined */
  CHECK_EQ(custom_munmap(b, WASM_PAGE), -1);
  (void)again;
  (void)before;
#endif
}

static void to_stdout(const char *text) {
  fputs(text, stdout);
  fflush(stdout);
}

int main(void) {
  int status = 0;
  free(malloc(1)); /* the heap exists from here on: its fixed overhead is in the baseline */
  baseline = in_use();
  check_libc_calls();
  check_workload(); /* first: port_check may grow the memory by gigabytes (see below) */
  check_huge_requests();
  check_port_spans();
  /* Last: its "3/4 of the address space" request can succeed here (a wasm32 memory may grow
     to 4 GiB), and the linear memory never shrinks again. */
  if (port_check_run(to_stdout) != 0)
    status = 1;
  if (th_finish() != 0)
    status = 1;
  return status;
}
