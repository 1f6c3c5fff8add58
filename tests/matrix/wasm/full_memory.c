/*
  full_memory.c -- a wasm32 memory filled to its 4 GiB end, then emptied, on ports/wasm32.c.

  Built dl-prefixed on the suite's first variant (tests/matrix/wasm.cmake), where the port's
  first region starts at the memory's end (wasi-libc's malloc keeps what lies below) and large
  blocks are regions of their own (WASM32_DIRECT_MAPS=1).  The program takes blocks of 16 MiB,
  then of 60,000, 4,000 and 100 bytes, until each size fails, so the last regions reach the
  end of the memory.  Every block is stamped at both ends; then each is checked and freed,
  the last one first, and the memory must serve the same requests again.

  An outside review found that a region ending at the 4 GiB end itself (its end address
  0 in 32 bits) made every free of its blocks stop with "heap corruption: corrupted next
  chunk": the port no longer cuts such a region, and the core gives one back (malloc.h
  section 6).
*/
#include "malloc.h"

#include <stdint.h>
#include <string.h>

#include "harness.h"

#define MAX_BLOCKS 200000
static unsigned char *blocks[MAX_BLOCKS];
static size_t lengths[MAX_BLOCKS];

static const size_t sizes[] = {(size_t)16 << 20, 60000, 4000, 100};

static void stamp(unsigned char *p, size_t n, size_t i) {
  p[0] = (unsigned char)i;
  p[n - 1] = (unsigned char)(i >> 8);
}

static int stamped(const unsigned char *p, size_t n, size_t i) {
  return p[0] == (unsigned char)i && p[n - 1] == (unsigned char)(i >> 8);
}

/* Take blocks of each size until it fails; returns how many. */
static size_t fill(void) {
  size_t n = 0, k;
  for (k = 0; k < sizeof sizes / sizeof sizes[0]; ++k) {
    while (n < MAX_BLOCKS) {
      unsigned char *p = (unsigned char *)dlmalloc(sizes[k]);
      if (p == NULL)
        break;
      blocks[n] = p;
      lengths[n] = sizes[k];
      stamp(p, sizes[k], n);
      ++n;
    }
  }
  return n;
}

static uintptr_t highest_end(size_t n) {
  uintptr_t top = 0;
  size_t i;
  for (i = 0; i < n; ++i) {
    uintptr_t end = (uintptr_t)blocks[i] + lengths[i]; /* below 4 GiB: no wrap in a block */
    if (end > top)
      top = end;
  }
  return top;
}

int main(void) {
  size_t n, again, i, intact = 0;
  uint64_t memory;

  th_section("fill the memory to its end");
  n = fill();
  memory = (uint64_t)__builtin_wasm_memory_size(0) * 65536U;
  CHECK_GT(n, 100);
  CHECK_LT(n, MAX_BLOCKS); /* every size ran out, not the table */
  CHECK_GT(memory, (uint64_t)4095 << 20); /* the memory reached (nearly) 4 GiB */
  CHECK_GT((uint64_t)highest_end(n), (uint64_t)4094 << 20);

  th_section("free every block, the last first");
  for (i = n; i-- > 0;) {
    intact += stamped(blocks[i], lengths[i], i);
    dlfree(blocks[i]);
  }
  CHECK_EQ(intact, n);
  CHECK_LT((size_t)dlmallinfo().uordblks, (size_t)1 << 20);

  th_section("the memory serves the same requests again");
  again = fill();
  CHECK_GE(again + 64, n); /* about as many: what was freed came back */
  for (i = 0, intact = 0; i < again; ++i) {
    intact += stamped(blocks[i], lengths[i], i);
    dlfree(blocks[i]);
  }
  CHECK_EQ(intact, again);
  dlmalloc_trim(0);
  return th_finish();
}
