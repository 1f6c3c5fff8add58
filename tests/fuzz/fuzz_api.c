/*
  fuzz_api.c -- a libFuzzer target: the input is a program of allocator calls.

  Built with clang -fsanitize=fuzzer,address against malloc.c (DEBUG=1, MSPACES=1, dl-prefixed)
  and the instrumented port tests/test_port.c (so a usage error or heap corruption that malloc.c
  detects ends in custom_abort, exit status 86, which fails the run).  Each input is read as a
  sequence of operations, one opcode byte followed by its operands:

    malloc, calloc (zeroes checked), realloc (prefix checked), realloc_in_place, memalign and
    posix_memalign (alignment checked), free, bulk_free; the same on an mspace (mspace_malloc,
    mspace_calloc, mspace_realloc, mspace_memalign, mspace_free); trim, mspace_trim,
    malloc_inspect_all (every live block must be reported as in use, whole), mallinfo; and
    map failures: test_port.c's custom_mmap and custom_direct_mmap fail once, or from some
    call on until the input disarms them.  A call may return 0 (posix_memalign: ENOMEM) only
    if one of the port's map calls failed during it, and a block it was given (realloc) is
    then still intact; otherwise every call must succeed.

  Live blocks sit in a table of slots; a block carries a pattern derived from its stamp (every
  byte up to 512 bytes, a sample beyond: stamp_sampled of tests/heaps.h, so that big blocks do
  not slow every input down) that is verified before the block is freed or reallocated and when
  the input ends, and usable_size must be at least the size requested.  At the end of each input every
  block is freed and the mspace destroyed, so inputs are independent.  A failed check calls
  __builtin_trap(): libFuzzer reports it as a crash and keeps the input.

  Misuse (an opcode byte of 255): the input's remaining operations run in a child process
  that first commits one usage error on a slot's block -- a double free, a free of an interior
  or a forged stack address, a realloc after free, a word (from the input) written into it
  after it was freed, or 1 to 8 bytes written past its usable end -- and goes on with the
  input, without the pattern and size checks, and ends with mallinfo's full invariant check
  (DEBUG).  The child must end in custom_abort (status 86: the allocator or one of its DEBUG
  checkers noticed) or normally (the heap stayed consistent); a crash, a sanitizer report or a
  trap is a failure.  The last two damage the heap's own words (a free chunk's links, the next
  chunk's size), so they show that every path that follows such a word, the DEBUG checkers
  included, tests it first.  The parent then goes on as if the operation had not been
  there.

  fuzz_api_operations counts the operations run, all inputs together; when the fuzzer exits it
  prints "fuzz_api: <n> API operations (<m> refused: map failures)" (run_fuzz.cmake reports
  it, and requires m > 0).  replay.c runs the same
  target without libFuzzer on the seeds and on fuzz/regressions.
*/
#define _POSIX_C_SOURCE 200809L /* fork, waitpid */
#include "malloc.h"

#include "heaps.h"
#include "test_port.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SLOTS 32
#define MAX_SMALL 4096u
#define MAX_LARGE (400u * 1024u) /* above the 256 KiB mmap threshold: direct maps too */

struct slot {
  unsigned char *p;
  size_t size;
  uint32_t stamp;
  uint8_t in_mspace;
};

static struct slot slots[SLOTS];
static mspace space;
static int misuse_child; /* this process committed a usage error: blocks may be damaged */

unsigned long long fuzz_api_operations;
unsigned long long fuzz_api_refusals; /* calls that returned 0 because a map call failed */

static void print_operations(void) {
  fprintf(stderr, "fuzz_api: %llu API operations (%llu refused: map failures)\n",
          fuzz_api_operations, fuzz_api_refusals);
}

/* libFuzzer calls this once before the first input; replay.c does not. */
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  atexit(print_operations);
  tp_abort_by_signal(1); /* an abort in the fuzzer's own process keeps its input */
  return 0;
}

struct input {
  const uint8_t *data;
  size_t size, at;
};

static unsigned next_byte(struct input *in) {
  return in->at < in->size ? in->data[in->at++] : 0;
}

/* A request size: mostly small, sometimes up to MAX_LARGE. */
static size_t next_size(struct input *in) {
  unsigned a = next_byte(in), b = next_byte(in);
  size_t v = ((size_t)a << 8) | b;
  if ((a & 0xE0u) == 0xE0u) /* about one in eight: large */
    return (v * 37u) % MAX_LARGE;
  return v % MAX_SMALL;
}

#define FUZZ_CHECK(cond)                                                                         \
  do {                                                                                           \
    if (!(cond))                                                                                 \
      __builtin_trap();                                                                          \
  } while (0)

static uint32_t serial; /* makes each stamp unique within an input */

static void stamp_block(struct slot *s, uint8_t stamp) {
  s->stamp = (++serial << 8) | stamp;
  stamp_sampled(s->p, s->size, s->stamp);
}

/* The first n bytes still carry the block's pattern. */
static void verify_block(const struct slot *s, size_t n) {
  FUZZ_CHECK(misuse_child || sampled_intact(s->p, s->size, n, s->stamp));
}

static void check_usable(const struct slot *s) {
  size_t usable = s->in_mspace ? mspace_usable_size(s->p) : dlmalloc_usable_size(s->p);
  FUZZ_CHECK(misuse_child || usable >= s->size);
}

static void release(struct slot *s) {
  if (s->p == 0)
    return;
  verify_block(s, s->size);
  if (s->in_mspace)
    mspace_free(space, s->p);
  else
    dlfree(s->p);
  s->p = 0;
  s->size = 0;
}

static void place(struct slot *s, void *p, size_t size, int in_mspace, uint8_t stamp) {
  s->p = (unsigned char *)p;
  s->size = size;
  s->in_mspace = (uint8_t)in_mspace;
  check_usable(s);
  stamp_block(s, stamp);
}

/* malloc_inspect_all: each live global block must lie inside one chunk reported in use. */
static void inspect_handler(void *start, void *end, size_t used, void *arg) {
  size_t i;
  (void)arg;
  if (misuse_child) /* the walk must end, but what it reports may be damaged */
    return;
  for (i = 0; i < SLOTS; i++) {
    const struct slot *s = &slots[i];
    unsigned char *b = (unsigned char *)start, *e = (unsigned char *)end;
    if (s->p == 0 || s->in_mspace || s->p < b || s->p >= e)
      continue;
    FUZZ_CHECK(used != 0 && used == (size_t)(e - b));
    FUZZ_CHECK(s->p + s->size <= e);
  }
}

static size_t align_of(unsigned byte) { return (size_t)1 << (byte % 14u); } /* 1 .. 8 KiB */

static size_t injected_failures(void) {
  struct tp_stats st;
  tp_get_stats(&st);
  return st.injected_failures;
}

/* An allocating call returned p: 1 if it is a block; 0, counted in fuzz_api_refusals, if a
   map call the input made fail failed during the call (injected_failures() was `before` when
   it began); anything else traps. */
static int granted(const void *p, size_t before) {
  if (p != 0)
    return 1;
  FUZZ_CHECK(misuse_child || injected_failures() > before);
  fuzz_api_refusals++;
  return 0;
}

/* Op 16: arm map failures.  stamp 0-127: the nth map call from now fails, once (n = 1..8);
   128-254: every map call fails from the nth on; 255: disarm. */
static void arm_map_failures(uint8_t stamp) {
  unsigned n = 1u + (stamp & 7u);
  tp_clear_failures();
  if (stamp < 128u)
    tp_fail_map_nth(n);
  else if (stamp < 255u)
    tp_fail_maps_from(n);
}

/* The block of slot s freed (the slot emptied); returns the block. */
static unsigned char *free_slot(struct slot *s) {
  unsigned char *p = s->p;
  release(s);
  return p;
}

/* Commit usage error kind on slot s's block (operands from the input). */
static void commit_misuse(struct slot *s, unsigned kind, struct input *in) {
  size_t words[16];
  unsigned char *p;
  size_t size = s->size, i;
  if (s->p == 0)
    return;
  switch (kind % 6u) {
  case 0: /* a word written into the block after it was freed (one the heap keeps mapped) */
    if (size >= TEST_MMAP_THRESHOLD / 2)
      break;
    p = free_slot(s);
    if (size >= sizeof(size_t)) {
      size_t at = (next_byte(in) % (size / sizeof(size_t))) * sizeof(size_t), word = 0;
      for (i = 0; i < sizeof word; i++)
        word = (word << 8) | next_byte(in);
      memcpy(p + at, &word, sizeof word);
    }
    break;
  case 1: /* double free */
    p = free_slot(s);
    if (s->in_mspace)
      mspace_free(space, p);
    else
      dlfree(p);
    break;
  case 2: /* free of an address inside the block */
    if (size > 2 * MALLOC_ALIGNMENT) {
      p = s->p + MALLOC_ALIGNMENT * (1u + next_byte(in) % (size / MALLOC_ALIGNMENT - 1u));
      s->p = 0; /* whatever happened to it, the slot's block is not used again */
      s->size = 0;
      dlfree(p);
    }
    break;
  case 3: /* bytes written past the end, then the input goes on */
    p = s->p + (s->in_mspace ? mspace_usable_size(s->p) : dlmalloc_usable_size(s->p));
    for (i = 0, size = 1u + next_byte(in) % 8u; i < size; i++)
      p[i] = (unsigned char)next_byte(in);
    break;
  case 4: /* free of a forged chunk on the stack: header words from the input */
    for (i = 0; i < sizeof words / sizeof words[0]; i++)
      words[i] = (size_t)next_byte(in) << (8 * (i % 2));
    dlfree(words + 2 * (MALLOC_ALIGNMENT / sizeof(size_t)));
    break;
  default: /* realloc after free */
    p = free_slot(s);
    p = s->in_mspace ? mspace_realloc(space, p, size + 1u) : dlrealloc(p, size + 1u);
    if (p != 0)
      place(s, p, size + 1u, s->in_mspace, 0);
  }
}

/* A misuse child's standard error goes to this scratch file (custom_abort's line is
   expected, so it is not shown); when a child ends badly the parent prints it and how the
   child ended before it traps, so that the fuzzer's log says what went wrong. */
static int child_log = -1;

static void report_bad_child(int status) {
  char text[4096];
  ssize_t n;
  if (WIFSIGNALED(status))
    fprintf(stderr, "fuzz_api: the misuse child died of signal %d; its standard error:\n",
            WTERMSIG(status));
  else
    fprintf(stderr, "fuzz_api: the misuse child exited with status %d; its standard error:\n",
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  if (child_log >= 0 && lseek(child_log, 0, SEEK_SET) == 0)
    while ((n = read(child_log, text, sizeof text)) > 0)
      fwrite(text, 1, (size_t)n, stderr);
}

/* Op 255: fork; the child commits the misuse and returns 1 (to run the rest of the input);
   the parent waits for it, checks how it ended and returns 0. */
static int misuse_in_child(struct slot *s, unsigned kind, struct input *in) {
  int status;
  pid_t child;
  if (child_log < 0) {
    char name[] = "/tmp/fuzz_api_child.XXXXXX";
    child_log = mkstemp(name);
    if (child_log >= 0)
      unlink(name);
  }
  if (child_log >= 0 && (ftruncate(child_log, 0) != 0 || lseek(child_log, 0, SEEK_SET) != 0))
    child_log = -1;
  child = fork();
  FUZZ_CHECK(child >= 0);
  if (child == 0) {
    if (child_log >= 0)
      dup2(child_log, 2);
    misuse_child = 1;
    tp_abort_by_signal(0); /* here custom_abort is an expected end: status 86 */
    commit_misuse(s, kind, in);
    return 1;
  }
  while (waitpid(child, &status, 0) != child)
    FUZZ_CHECK(errno == EINTR); /* libFuzzer's timer signals */
  if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 86)) {
    report_bad_child(status);
    __builtin_trap();
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  struct input in = {data, size, 0};
  size_t i;
  unsigned steps = 0, misuses = 0;
  serial = 0;
  space = create_mspace(0, 1);
  FUZZ_CHECK(space != 0);
  while (in.at < in.size && steps++ < 2000) {
    unsigned op_byte = next_byte(&in), op = op_byte % 17u;
    size_t failures = injected_failures();
    struct slot *s = &slots[next_byte(&in) % SLOTS];
    uint8_t stamp = (uint8_t)next_byte(&in);
    fuzz_api_operations++;
    if (op_byte == 255u) { /* the parent goes on as if it were not there */
      if (misuse_child)
        break; /* one usage error per child */
      if (misuses++ < 2) /* a fork each: a few per input */
        (void)misuse_in_child(s, stamp, &in); /* the child goes on with the rest, too */
      continue;
    }
    switch (op) {
    case 0: /* malloc */
    case 1: { /* mspace_malloc */
      size_t n = next_size(&in);
      void *p;
      release(s);
      p = op == 0 ? dlmalloc(n) : mspace_malloc(space, n);
      if (granted(p, failures))
        place(s, p, n, op == 1, stamp);
      break;
    }
    case 2: /* calloc */
    case 3: { /* mspace_calloc */
      size_t count = next_byte(&in) % 64u + 1u, each = next_byte(&in) + 1u;
      void *p;
      release(s);
      p = op == 2 ? dlcalloc(count, each) : mspace_calloc(space, count, each);
      if (granted(p, failures)) {
        FUZZ_CHECK(all_zero(p, count * each));
        place(s, p, count * each, op == 3, stamp);
      }
      break;
    }
    case 4: /* realloc (in its own heap), prefix kept */
    case 5: {
      size_t n = next_size(&in), keep;
      void *p;
      if (s->p == 0)
        break;
      verify_block(s, s->size);
      keep = n < s->size ? n : s->size;
      p = s->in_mspace ? mspace_realloc(space, s->p, n) : dlrealloc(s->p, n);
      if (n == 0 && p == 0) { /* realloc(p, 0) may free */
        s->p = 0;
        s->size = 0;
        break;
      }
      if (!granted(p, failures)) { /* the old block stays, unchanged */
        verify_block(s, s->size);
        break;
      }
      s->p = (unsigned char *)p;
      verify_block(s, keep);
      place(s, p, n, s->in_mspace, stamp);
      break;
    }
    case 6: { /* realloc_in_place: either the same block, resized, or 0 and unchanged */
      size_t n = next_size(&in);
      void *p;
      if (s->p == 0 || n == 0)
        break;
      p = s->in_mspace ? mspace_realloc_in_place(space, s->p, n) : dlrealloc_in_place(s->p, n);
      if (p != 0) {
        size_t keep = n < s->size ? n : s->size;
        FUZZ_CHECK(p == s->p);
        verify_block(s, keep);
        place(s, p, n, s->in_mspace, stamp);
      } else
        verify_block(s, s->size);
      break;
    }
    case 7: /* memalign */
    case 8: { /* mspace_memalign */
      size_t a = align_of(next_byte(&in)), n = next_size(&in);
      void *p;
      release(s);
      p = op == 7 ? dlmemalign(a, n) : mspace_memalign(space, a, n);
      if (granted(p, failures)) {
        FUZZ_CHECK(TH_ALIGNED(p, a));
        place(s, p, n, op == 8, stamp);
      }
      break;
    }
    case 9: { /* posix_memalign */
      size_t a = align_of(next_byte(&in));
      size_t n = next_size(&in);
      void *p = 0;
      if (a < sizeof(void *))
        a = sizeof(void *);
      release(s);
      if (dlposix_memalign(&p, a, n) != 0) { /* ENOMEM: p untouched */
        FUZZ_CHECK(p == 0);
        (void)granted(p, failures); /* traps unless a map call failed */
        break;
      }
      FUZZ_CHECK(p != 0 && TH_ALIGNED(p, a));
      place(s, p, n, 0, stamp);
      break;
    }
    case 10: /* free */
    case 11:
      release(s);
      break;
    case 12: { /* bulk_free of the global blocks among the next few slots */
      void *batch[8];
      size_t n = 0, first = (size_t)(s - slots), k;
      for (k = 0; k < 8; k++) {
        struct slot *t = &slots[(first + k) % SLOTS];
        if (t->p != 0 && !t->in_mspace) {
          verify_block(t, t->size);
          batch[n++] = t->p;
          t->p = 0;
          t->size = 0;
        }
      }
      FUZZ_CHECK(dlbulk_free(batch, n) == 0);
      break;
    }
    case 13: /* trim */
      if (stamp & 1u)
        (void)dlmalloc_trim((size_t)stamp * 64u);
      else
        (void)mspace_trim(space, (size_t)stamp * 64u);
      break;
    case 14: /* inspect */
      dlmalloc_inspect_all(inspect_handler, 0);
      break;
    case 16:
      arm_map_failures(stamp);
      break;
    default: { /* mallinfo: the live global bytes are all counted as in use */
      struct mallinfo mi = dlmallinfo();
      size_t live = 0;
      for (i = 0; i < SLOTS; i++)
        if (slots[i].p != 0 && !slots[i].in_mspace)
          live += slots[i].size;
      FUZZ_CHECK(misuse_child || (size_t)mi.uordblks >= live);
      break;
    }
    }
  }
  tp_clear_failures();
  if (misuse_child) { /* the heaps must still be consistent (DEBUG: the full check) */
    (void)dlmallinfo();
    (void)mspace_mallinfo(space);
  }
  for (i = 0; i < SLOTS; i++)
    release(&slots[i]);
  destroy_mspace(space);
  space = 0;
  if (misuse_child)
    _exit(0);
  return 0;
}
