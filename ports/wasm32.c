/*
  ports/wasm32.c -- the eight hooks for WebAssembly (wasm32), under WASI or with no system at
  all (wasm32-unknown-unknown).

  Build (docs/wasm.md has the whole recipe, the size-optimised options and the measurements):
      clang --target=wasm32-wasi --sysroot=/usr -isystem /usr/include/wasm32-wasi -O2 \
            -fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc \
            -DPORTABLE=1 -DUSE_LOCKS=2 -DPORT_LOCK_HEADER='"ports/wasm32_lock.h"' \
            malloc.c ports/wasm32.c app.c -o app.wasm
  On wasm the core already assumes what this port needs (malloc.c section 2): 64 KiB pages
  (DEFAULT_PAGE_SIZE), 16-byte alignment (MALLOC_ALIGNMENT, alignof(max_align_t) there),
  HAVE_PARTIAL_MUNMAP=1 (see custom_munmap below) and errno (PORTABLE_ERRNO, under WASI).

  Memory
    A linear memory only grows, in 64 KiB pages, with memory.grow, and never shrinks.  The port
    works like a break: the first region starts at __heap_base (where wasm-ld ends the data and
    the stack), so the slack between it and the end of the initial memory is used too (not with
    USE_DL_PREFIX: the C library's malloc, linked beside, takes that slack itself); each
    later region starts where the previous one ended, and memory.grow is asked for only the
    pages that are still missing.  Successive regions are thus adjacent, and the core merges
    them into one segment.  If something else grew the memory in between (a direct
    memory.grow, wasi-libc's sbrk), those pages are theirs: the next region starts at the
    current end instead, and the core keeps it as a separate segment.
    Lengths are added in 64-bit arithmetic, so a request near 4 GiB asks for more than the
    memory can hold and fails; it never wraps around to a small or zero grow.  No region ends
    at the memory's 4 GiB end itself, where its end address wraps to 0 in 32 bits (malloc.h
    section 6): a full memory's last bytes stay unused.
    custom_munmap cannot give memory back to the host, so it keeps what it is given for the
    next custom_mmap (WASM32_RECYCLE=1, the default): an address-ordered list of free spans,
    merged when they touch, served first fit from their low end; a span that ends at the
    break lowers the break instead.  It takes any span inside what it handed out -- part of a
    region, or several adjacent ones -- which is what lets the core merge segments and trim
    the end of top (HAVE_PARTIAL_MUNMAP=1), and so lets one heap reuse what another (an
    mspace destroyed, a heap trimmed) gave back.  A span that overlaps a free one, or lies
    outside, is refused (-1).  With WASM32_RECYCLE=0 it declines every release instead (-1,
    always allowed: the core keeps the memory and reuses it itself), for less code.
    custom_direct_mmap declines by default (WASM32_DIRECT_MAPS=0): a large block then lives in
    a segment, where after free it merges with its neighbours and top and serves any size.
    With WASM32_DIRECT_MAPS=1 large blocks are regions of their own, given back to the span
    list when freed; measured in docs/wasm.md, the memory then creeps up from round to round
    of a workload that frees everything, as the list fragments, while with the default it
    stays the same.
    The memory is not cleared by the port (fresh pages are zero, reused ones are not), so the
    core keeps MMAP_CLEARS=0, the PORTABLE default.

  Locks
    ports/wasm32_lock.h: without threads (the usual wasm32-wasi program) the locks do nothing;
    compiled with -matomics -mbulk-memory (wasm threads on a shared memory) a test-and-set flag in
    its slot.  The port's break and span list are guarded by one too, since two heaps may map
    or release at the same time.  CMake builds the core with PORT_LOCK_HEADER set to that
    header, so the core's locks cost no call; USE_LOCKS=0 leaves them out altogether.

  Abort
    Under WASI custom_abort writes "dlmalloc: <reason>" on standard error with fd_write (no
    stdio: it might allocate); then, as everywhere, it executes the unreachable instruction,
    which traps: the host sees a failed program (the launcher of the test matrix reports exit
    status 134, as for SIGABRT).  Without WASI there is nowhere to write, so it only traps;
    the embedder can still read malloc_abort_reason() from the instance's memory.

  Replacing wasi-libc's malloc
    Built without USE_DL_PREFIX, malloc.c defines malloc, free, calloc, realloc,
    posix_memalign, malloc_usable_size... and libc.a's own allocator (its member dlmalloc.o)
    is only pulled in for a symbol nobody else defined.  Inside wasi-libc, atexit, newlocale
    and freelocale call it by its internal names __libc_malloc, __libc_calloc and
    __libc_free; they are defined below, so the C library's calls reach this allocator too
    and dlmalloc.o stays out of the link (no duplicate definitions, no second allocator).
    List the objects or libdlmalloc.a before the C library, as clang does by default.
*/

/* ==== Options =============================================================================== */

#ifndef WASM32_RECYCLE
#define WASM32_RECYCLE 1
#endif /* WASM32_RECYCLE */

#ifndef WASM32_DIRECT_MAPS
#define WASM32_DIRECT_MAPS 0
#endif /* WASM32_DIRECT_MAPS */

#if !defined(__wasm32__)
#error "ports/wasm32.c is for wasm32 targets (clang --target=wasm32-wasi or wasm32-unknown-unknown)"
#endif
#if defined(MMAP_CLEARS) && MMAP_CLEARS
#error "reused wasm memory is not cleared: build the core with MMAP_CLEARS=0"
#endif

#include "../malloc.h"
#include "wasm32_lock.h"

#include <stddef.h>
#include <stdint.h>

#if defined(__wasi__)
#include <wasi/api.h>
#endif

#define WASM_PAGE_BYTES ((uint64_t)65536U)
#define WASM_MAX_PAGES ((uint64_t)65536U) /* 4 GiB, all a wasm32 memory can address */
#define SPAN_ALIGN 16U                    /* MALLOC_ALIGNMENT on wasm */

/* ==== Locks ================================================================================= */

void init_lock(void **lock) { port_lock_init(lock); }
void final_lock(void **lock) { port_lock_final(lock); }
void acquire_lock(void **lock) { port_lock_acquire(lock); }
void release_lock(void **lock) { port_lock_release(lock); }

/* ==== Memory ================================================================================ */

extern unsigned char __heap_base[]; /* defined by wasm-ld: the first byte after data and stack */

static void *port_lock;
static uint64_t break_next;  /* first byte after the last region cut at the break; 0: none yet */
static uint64_t break_limit; /* the memory's size in bytes just after that cut */

static uint64_t memory_end(void) {
  return (uint64_t)__builtin_wasm_memory_size(0) * WASM_PAGE_BYTES;
}

/* Built with USE_DL_PREFIX under WASI, wasi-libc's own malloc may be linked beside this
   allocator, and when it first runs it takes all the memory from __heap_base to the memory's
   end at that moment, as its first segment (both allocators handed out the same memory).  So
   before its first region this port makes the C library's allocator start (one malloc and
   free of its own), and then cuts that region from pages it grows itself, above whatever the
   C library took. */
#if defined(USE_DL_PREFIX) && defined(__wasi__)
#include <stdlib.h>
#define WASM32_TAKES_SLACK 0
static void c_library_allocator_first(void) {
  void *volatile first = malloc(1); /* volatile: a compiler may drop a malloc only freed */
  free(first);
}
#else
#define WASM32_TAKES_SLACK 1
#define c_library_allocator_first() ((void)0)
#endif

static uint64_t break_first; /* where the first region was cut */

static uint64_t heap_start(void) {
  return ((uint64_t)(uintptr_t)__heap_base + (SPAN_ALIGN - 1U)) & ~(uint64_t)(SPAN_ALIGN - 1U);
}

/* Cut length bytes at the break, growing the memory by the pages still missing. */
static void *grow_region(size_t length) {
  uint64_t end, start, stop;
  if (break_next == 0)
    c_library_allocator_first(); /* before the memory's end is read */
  end = memory_end();
  if (break_next == 0)
    start = break_first = WASM32_TAKES_SLACK ? heap_start() : end;
  else if (break_limit == end)
    start = break_next;
  else
    start = end; /* someone else grew the memory since: the new pages are theirs */
  stop = start + (uint64_t)length;
  if (stop >= WASM_MAX_PAGES * WASM_PAGE_BYTES) /* a region ending at 4 GiB: see above */
    return CUSTOM_MMAP_FAILURE;
  if (stop > end) {
    uint64_t pages = (stop - end + WASM_PAGE_BYTES - 1U) / WASM_PAGE_BYTES;
    if (__builtin_wasm_memory_grow(0, (size_t)pages) == (size_t)-1)
      return CUSTOM_MMAP_FAILURE;
    end += pages * WASM_PAGE_BYTES;
  }
  break_next = stop;
  break_limit = end;
  return (void *)(uintptr_t)start;
}

#if WASM32_RECYCLE
/* The first bytes of a span given back hold this record.  The list is in address order, and
   spans that touch are merged into one. */
struct free_span {
  size_t size;
  struct free_span *next;
};

static struct free_span *free_spans;

/* First fit among the spans given back, cut from the low end so that successive maps ascend
   and the core can extend its top segment. */
static void *take_span(size_t length) {
  struct free_span **link = &free_spans;
  struct free_span *span;
  for (; (span = *link) != NULL; link = &span->next) {
    if (span->size == length) {
      *link = span->next;
      return span;
    }
    if (span->size > length && span->size - length >= sizeof(struct free_span)) {
      struct free_span *rest = (struct free_span *)((char *)span + length);
      rest->size = span->size - length;
      rest->next = span->next;
      *link = rest;
      return span;
    }
  }
  return NULL;
}

/* Put [base, base + length) on the list, merged with the spans it touches; 0 when it overlaps
   one (the caller releases memory it does not own: refused). */
static int give_span(uintptr_t base, size_t length) {
  struct free_span **link = &free_spans;
  struct free_span *before = NULL, *after, *span;
  while (*link != NULL && (uintptr_t)*link < base) {
    before = *link;
    link = &before->next;
  }
  after = *link;
  if (before != NULL && (uintptr_t)before + before->size > base)
    return 0;
  if (after != NULL && base + length > (uintptr_t)after)
    return 0;
  if (before != NULL && (uintptr_t)before + before->size == base) {
    span = before;
    span->size += length;
  } else {
    span = (struct free_span *)base;
    span->size = length;
    span->next = after;
    *link = span;
  }
  if (after != NULL && (uintptr_t)span + span->size == (uintptr_t)after) {
    span->size += after->size;
    span->next = after->next;
  }
  return 1;
}

/* The last span, if it ends at the break, becomes part of the break again (so a later region
   may extend past it with one memory.grow) -- unless someone else grew the memory since. */
static void lower_break(void) {
  struct free_span **link = &free_spans;
  if (*link == NULL || break_limit != memory_end())
    return;
  while ((*link)->next != NULL)
    link = &(*link)->next;
  if ((uint64_t)(uintptr_t)*link + (*link)->size == break_next) {
    break_next = (uint64_t)(uintptr_t)*link;
    *link = NULL;
  }
}
#endif /* WASM32_RECYCLE */

void *custom_mmap(size_t length) {
  void *region = NULL;
  port_lock_acquire(&port_lock);
#if WASM32_RECYCLE
  region = take_span(length);
#endif
  if (region == NULL)
    region = grow_region(length);
  port_lock_release(&port_lock);
  return region;
}

int custom_munmap(void *ptr, size_t length) {
#if WASM32_RECYCLE
  uintptr_t base = (uintptr_t)ptr;
  int taken;
  if (length < sizeof(struct free_span) || ((base | length) & (SPAN_ALIGN - 1U)) != 0)
    return -1;
  port_lock_acquire(&port_lock);
  taken = (uint64_t)base >= break_first && (uint64_t)base + length <= break_next &&
          give_span(base, length);
  if (taken)
    lower_break();
  port_lock_release(&port_lock);
  return taken ? 0 : -1;
#else
  (void)ptr;
  (void)length;
  return -1; /* the core keeps the region and reuses it */
#endif
}

void *custom_direct_mmap(size_t length) {
#if WASM32_DIRECT_MAPS
  return custom_mmap(length);
#else
  (void)length;
  return CUSTOM_MMAP_FAILURE;
#endif
}

/* ==== Abort ================================================================================= */

#if defined(__wasi__)
static void write_stderr(const char *text) {
  __wasi_ciovec_t piece;
  __wasi_size_t written;
  size_t n = 0;
  while (text[n] != '\0')
    ++n;
  piece.buf = (const uint8_t *)text;
  piece.buf_len = n;
  (void)__wasi_fd_write(2, &piece, 1, &written);
}
#endif

void custom_abort(void) {
#if defined(__wasi__)
  const char *reason = malloc_abort_reason();
  write_stderr("dlmalloc: ");
  write_stderr(reason != NULL && reason[0] != '\0' ? reason : "(no reason recorded)");
  write_stderr("\n");
#endif
  __builtin_trap();
}

/* ==== wasi-libc's internal names ============================================================ */

#if defined(__wasi__) && !defined(USE_DL_PREFIX) && !ONLY_MSPACES
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t count, size_t size);
void __libc_free(void *p);

void *__libc_malloc(size_t n) { return malloc(n); }
void *__libc_calloc(size_t count, size_t size) { return calloc(count, size); }
void __libc_free(void *p) { free(p); }
#endif
