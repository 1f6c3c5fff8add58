/*
  dropin/dropin.c -- libdlmalloc.so: portable-dlmalloc as the process's malloc.

  Preloaded (LD_PRELOAD=/path/to/libdlmalloc.so program) or linked into a program ahead of
  the C library (-ldlmalloc), this library serves every malloc, free, calloc, realloc, ...
  of the process: the program's own, the C library's (stdio buffers, getaddrinfo, thread
  bookkeeping), the dynamic loader's once start-up is over, and C++'s operator new, which
  calls malloc.

  Contents
    1. How it is built
    2. Core options, and the core itself
    3. Messages without allocation (fatal errors, statistics)
    4. The C library's names
    5. Start-up and exit: fork handlers, DLMALLOC_STATS

  ==== 1. How it is built ====================================================================
  malloc.c is compiled in this translation unit (section 2), so the standard names can be
  ELF aliases of the core's functions: no extra call, and one address per function whichever
  name a caller uses.  The core gets its own POSIX layer (mmap/munmap/sbrk, PORTABLE 0), the
  POSIX port's lock compiled in (USE_LOCKS 2 with PORT_LOCK_HEADER), USE_DL_PREFIX and
  MSPACES, so every dl name of malloc.h (dlmalloc, dlfree, mspace_malloc, ...) stays exported
  beside the standard ones.

  The build (cmake/DlmallocDropin.cmake, target dlmalloc_shared) must pass
  -fno-builtin-malloc and friends: at -O2 gcc rewrites "p = malloc(n); memset(p, 0, n)" into "p = calloc(n, 1)", and
  inside the allocator's own calloc that rewrite would be a call to itself, forever.  The
  core reaches memory through internal functions today, so the flags are a guard against the
  next edit rather than a fix for a known call; tests/integration/dropin_api.c checks calloc
  under the preloaded library.

  Rules this file keeps, because a malloc replacement runs where nothing else may fail:
  - Nothing on the lock, error, fork or statistics paths allocates: messages are formatted
    into stack buffers and written with write(2), never through stdio.
  - Thread-local storage only in the initial-exec model (the core's thread cache): it is set
    up by the loader, never allocated on first use -- with malloc -- as dynamic TLS would be.
  - errno follows POSIX: ENOMEM on allocation failure, EINVAL for a bad alignment where the
    standard says so, and free() leaves errno alone (POSIX.1-2024).

  Platform: ELF systems with the GNU toolchain attributes (alias, constructor, destructor),
  pthread_atfork and mmap: written for Linux and the BSDs, tested on Linux with glibc (x86_64;
  i686 and armhf builds compile cleanly).  The glibc-specific extras (mallinfo's int layout,
  mallinfo2, __libc_* names) are harmless elsewhere.
*/

/* Before any system header: reallocarray, program_invocation_short_name, mremap. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <stddef.h>

/* ==== 2. Core options, and the core itself ==================================================
   Each option is forced rather than defaulted: the library's exported names and the fork
   handlers below depend on them, so a stray -D must not change them silently.             */

#if defined(PORTABLE) && PORTABLE
#error "the drop-in library uses malloc.c's own POSIX layer: do not define PORTABLE"
#endif

#undef USE_DL_PREFIX
#define USE_DL_PREFIX 1 /* dlmalloc & co keep their names; the standard ones are section 4 */

/* Small blocks bypass the lock (malloc.c section 16).  CMake's DLMALLOC_DROPIN_THREAD_CACHE=OFF
   builds the library without it, which bench/ measures the cache against. */
#ifndef DLMALLOC_DROPIN_THREAD_CACHE
#define DLMALLOC_DROPIN_THREAD_CACHE 1
#endif
#undef MALLOC_THREAD_CACHE
#define MALLOC_THREAD_CACHE DLMALLOC_DROPIN_THREAD_CACHE

#undef MSPACES
#define MSPACES 1

#undef USE_LOCKS
#define USE_LOCKS 2

/* The POSIX port's futex lock (ports/posix_lock.h), compiled in: taking a free lock is one
   atomic instruction inline, and a waiter spins briefly, then sleeps in the kernel.  Sleeping
   matters because a process may run far more threads than cores: a spin lock burns the time
   slice its owner needs.  It replaces pthread_mutex_t, which does the same but through two
   calls into the C library per operation (the figures of both choices:
   bench/results/design-measurements.md).  Only the lock is taken from the port: memory
   still comes from the core's own layer (PORTABLE stays 0).  The futex is private, as the
   mutex was.  Nothing here allocates. */
#undef PORT_LOCK_HEADER
#define PORT_LOCK_HEADER "ports/posix_lock.h"
/* ports/posix.c is not linked: the header's waiting hooks are compiled here, and kept out of
   the library's exports, where they could stand in for a program's own acquire_lock. */
#define POSIX_LOCK_DEFINE_HOOKS
#define POSIX_LOCK_HOOK __attribute__((visibility("hidden")))

/* Grow and trim the sbrk heap in 256 KiB steps.  The core's default with a contiguous sbrk is
   one page, right for a small embedded heap but not for a whole process: a heap growing in
   small steps makes a brk call per page, about as many as glibc's 128 KiB-padded steps with
   256 KiB (bench/results/design-measurements.md).  Overridable with
   -DDEFAULT_GRANULARITY=... */
#ifndef DEFAULT_GRANULARITY
#define DEFAULT_GRANULARITY ((size_t)256U * (size_t)1024U)
#endif

/* Let the mmap and trim thresholds follow the program, as glibc's do (malloc.c section 1,
   MMAP_THRESHOLD_MAX): once a block of some large size has been freed, blocks of that size
   come from the heap instead of a fresh mapping each, mapped, unmapped and faulted in page by
   page.  32 MiB is glibc's cap on 64-bit systems.  The trim threshold also doubles when the
   heap has to grow right after free() trimmed it (up to 64 MiB), so that a live set that
   swings is not given back and faulted in again each time, at the same peak RSS
   (bench/results/design-measurements.md). */
#ifndef MMAP_THRESHOLD_MAX
#define MMAP_THRESHOLD_MAX ((size_t)32U * (size_t)1024U * (size_t)1024U)
#endif

/* The core's output and error actions, routed to section 3 so that they never touch stdio
   (which locks FILE objects and may allocate a buffer). */
static void dropin_stats_write(const char *text, size_t length);
static void dropin_fatal(void) __attribute__((noreturn));

#define MALLOC_STATS_WRITE(text, length) dropin_stats_write((text), (length))
#define CORRUPTION_ERROR_ACTION(m, p) ((void)(m), (void)(p), dropin_fatal())
#define USAGE_ERROR_ACTION(m, p) ((void)(m), (void)(p), dropin_fatal())

#include "../malloc.c"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* ==== 3. Messages without allocation =========================================================
   Every line this library prints starts with "dlmalloc[<pid> <program>]: " so that the
   output of many processes (a compiler driver and its passes, a test runner and its
   workers) can be told apart in one stream or file.                                        */

struct dropin_text {
  char buf[768];
  size_t len;
};

static void text_add(struct dropin_text *t, const char *s, size_t n) {
  while (n-- > 0 && t->len + 1 < sizeof(t->buf))
    t->buf[t->len++] = *s++;
}

static void text_add_string(struct dropin_text *t, const char *s) {
  while (*s != 0 && t->len + 1 < sizeof(t->buf))
    t->buf[t->len++] = *s++;
}

static void text_add_number(struct dropin_text *t, unsigned long long value) {
  char digits[24];
  size_t n = 0;
  do {
    digits[n++] = (char)('0' + (int)(value % 10U));
    value /= 10U;
  } while (value != 0);
  while (n > 0 && t->len + 1 < sizeof(t->buf))
    t->buf[t->len++] = digits[--n];
}

/* The program's short name, for the prefix.  glibc and musl keep it in a plain global set up
   before main; anything else reports "?" rather than reading /proc on an error path. */
static const char *program_name(void) {
#if defined(__GLIBC__) || defined(__linux__)
  if (program_invocation_short_name != 0 && program_invocation_short_name[0] != 0)
    return program_invocation_short_name;
#endif
  return "?";
}

static void text_add_prefix(struct dropin_text *t) {
  const char *name = program_name();
  size_t n;
  text_add_string(t, "dlmalloc[");
  text_add_number(t, (unsigned long long)getpid());
  text_add_string(t, " ");
  /* At most 32 characters, and no blank or ']' so that "[pid name]" parses as one token. */
  for (n = 0; name[n] != 0 && n < 32; ++n) {
    char c = name[n];
    text_add(t, (c == ' ' || c == '\t' || c == '\n' || c == ']') ? "_" : &c, 1);
  }
  text_add_string(t, "]: ");
}

/* write(2) until done; gives up quietly on error (there is no one left to tell). */
static void write_all(int fd, const char *s, size_t n) {
  int saved_errno = errno;
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      break;
    s += w;
    n -= (size_t)w;
  }
  errno = saved_errno;
}

/* USAGE_ERROR_ACTION / CORRUPTION_ERROR_ACTION: the core has recorded the reason; print it
   and stop.  Runs with a heap lock held, so it must not allocate (abort() does not). */
static void dropin_fatal(void) {
  struct dropin_text t;
  t.len = 0;
  text_add_prefix(&t);
  text_add_string(&t, malloc_abort_reason());
  text_add_string(&t, "\n");
  write_all(2, t.buf, t.len);
  abort();
}

/* Where malloc_stats() writes: standard error, except during the exit report, which may go
   to the file named by DLMALLOC_STATS.  (A malloc_stats() call racing with exit() may land
   in that file too; that is the only effect of the race.) */
static volatile int stats_fd = 2;

/* MALLOC_STATS_WRITE: the core hands over its whole report at once; each line gets the
   prefix, and the result goes out in one write(2), so that with O_APPEND the reports of
   concurrent processes never interleave within a line. */
static void dropin_stats_write(const char *text, size_t length) {
  struct dropin_text t;
  size_t start = 0, i;
  t.len = 0;
  for (i = 0; i < length; ++i) {
    if (text[i] == '\n' || i + 1 == length) {
      text_add_prefix(&t);
      text_add(&t, text + start, i + 1 - start);
      start = i + 1;
    }
  }
  if (t.len > 0 && t.buf[t.len - 1] != '\n')
    text_add_string(&t, "\n");
  write_all(stats_fd, t.buf, t.len);
}

/* ==== 4. The C library's names ===============================================================
   Where the core's contract is the C library's, the standard name is an alias of the dl
   function.  The others are thin functions, each saying how the contracts differ.  The C
   library's <malloc.h> is not included: the project's malloc.h is in force here, and the
   glibc-only declarations are written out below with their own struct names.             */

#define DROPIN_ALIAS(target) __attribute__((alias(#target), used))

void *malloc(size_t n) DROPIN_ALIAS(dlmalloc);
void *calloc(size_t count, size_t size) DROPIN_ALIAS(dlcalloc);
void *realloc(void *p, size_t n) DROPIN_ALIAS(dlrealloc);
int posix_memalign(void **pp, size_t alignment, size_t n) DROPIN_ALIAS(dlposix_memalign);
void *valloc(size_t n) DROPIN_ALIAS(dlvalloc);
void *pvalloc(size_t n) DROPIN_ALIAS(dlpvalloc);
int malloc_trim(size_t pad) DROPIN_ALIAS(dlmalloc_trim);
void malloc_stats(void) DROPIN_ALIAS(dlmalloc_stats);

/* free(p) leaves errno unchanged (POSIX.1-2024): the core's POSIX layer keeps errno around
   the munmap and sbrk calls a free can make, so free needs no wrapper of its own. */
void free(void *p) DROPIN_ALIAS(dlfree);

/* reallocarray fails with ENOMEM on an overflowing product, and aligned_alloc follows C17:
   any power of two is a valid alignment (1, 2 and 4 included), anything else fails with
   EINVAL, and size need not be a multiple of it.  glibc 2.36 instead treats aligned_alloc as
   memalign and rounds a bad alignment up; we follow the standard, which a portable program
   must already expect. */
void *reallocarray(void *p, size_t count, size_t size) DROPIN_ALIAS(dlreallocarray);
void *aligned_alloc(size_t alignment, size_t size) DROPIN_ALIAS(dlaligned_alloc);

/* memalign(alignment, size): the core rounds a non-power-of-two alignment up, as glibc does.
   Beyond the largest power of two there is nothing to round up to: that is an invalid
   argument (EINVAL, as glibc reports it), not a shortage of memory. */
void *memalign(size_t alignment, size_t size) {
  if (alignment > SIZE_MAX / 2 + 1) {
    errno = EINVAL;
    return 0;
  }
  return dlmemalign(alignment, size);
}

/* glibc's malloc_usable_size takes a non-const pointer; same function. */
size_t malloc_usable_size(void *p) { return dlmalloc_usable_size(p); }

/* mallopt(param, value) with glibc's <malloc.h> numbering, which is what programs calling
   the standard name were compiled with.  M_TRIM_THRESHOLD (-1), M_MMAP_THRESHOLD (-3) and
   M_ARENA_MAX (-8) mean the same here; glibc's M_TOP_PAD (-2) is not dlmalloc's M_GRANULARITY
   (-2) and has no counterpart, nor have glibc's other arena, fastbin and debugging knobs:
   those return 0 ("not done"), as glibc does for a parameter it does not know.  dlmallopt
   keeps dlmalloc's numbering, M_GRANULARITY included. */
enum { GLIBC_M_TRIM_THRESHOLD = -1, GLIBC_M_MMAP_THRESHOLD = -3, GLIBC_M_ARENA_MAX = -8 };

int mallopt(int param, int value) {
  switch (param) {
  case GLIBC_M_TRIM_THRESHOLD:
    return dlmallopt(M_TRIM_THRESHOLD, value);
  case GLIBC_M_MMAP_THRESHOLD:
    return dlmallopt(M_MMAP_THRESHOLD, value);
  case GLIBC_M_ARENA_MAX:
    return dlmallopt(M_ARENA_MAX, value);
  default:
    return 0;
  }
}

/* mallinfo() with glibc's layout: the same ten fields as malloc.h's struct mallinfo, as int.
   glibc lets a field wrap past 2 GiB; a negative byte count is never right, so here a field
   that does not fit reads INT_MAX ("at least this much").  dlmallinfo() keeps size_t. */
struct dropin_glibc_mallinfo {
  int arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};

/* glibc 2.33's mallinfo2(): the size_t fields, in the same order as malloc.h's struct. */
struct dropin_glibc_mallinfo2 {
  size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};

struct dropin_glibc_mallinfo mallinfo(void);
struct dropin_glibc_mallinfo2 mallinfo2(void);

static int clamp_int(size_t v) { return v > (size_t)INT_MAX ? INT_MAX : (int)v; }

struct dropin_glibc_mallinfo mallinfo(void) {
  struct mallinfo m = dlmallinfo();
  struct dropin_glibc_mallinfo r;
  r.arena = clamp_int(m.arena);
  r.ordblks = clamp_int(m.ordblks);
  r.smblks = clamp_int(m.smblks);
  r.hblks = clamp_int(m.hblks);
  r.hblkhd = clamp_int(m.hblkhd);
  r.usmblks = clamp_int(m.usmblks);
  r.fsmblks = clamp_int(m.fsmblks);
  r.uordblks = clamp_int(m.uordblks);
  r.fordblks = clamp_int(m.fordblks);
  r.keepcost = clamp_int(m.keepcost);
  return r;
}

struct dropin_glibc_mallinfo2 mallinfo2(void) {
  struct mallinfo m = dlmallinfo();
  struct dropin_glibc_mallinfo2 r;
  r.arena = m.arena;
  r.ordblks = m.ordblks;
  r.smblks = m.smblks;
  r.hblks = m.hblks;
  r.hblkhd = m.hblkhd;
  r.usmblks = m.usmblks;
  r.fsmblks = m.fsmblks;
  r.uordblks = m.uordblks;
  r.fordblks = m.fordblks;
  r.keepcost = m.keepcost;
  return r;
}

/* C23's sized frees, so that a program built against a C library that has them never hands
   one of our blocks to that library's allocator. */
void free_sized(void *p, size_t size) DROPIN_ALIAS(dlfree_sized);
void free_aligned_sized(void *p, size_t alignment, size_t size) DROPIN_ALIAS(dlfree_aligned_sized);

/* cfree: the old SunOS name, still exported by glibc for old binaries. */
void cfree(void *p) DROPIN_ALIAS(dlfree);

/* glibc's internal entry points, exported by its libc.so and called directly by some
   programs and libraries (allocator wrappers found with dlsym, old debugging hooks).  If
   they reached glibc's allocator, glibc would be asked to free or resize our blocks. */
void *__libc_malloc(size_t n) DROPIN_ALIAS(dlmalloc);
void __libc_free(void *p) DROPIN_ALIAS(dlfree);
void *__libc_calloc(size_t count, size_t size) DROPIN_ALIAS(dlcalloc);
void *__libc_realloc(void *p, size_t n) DROPIN_ALIAS(dlrealloc);
void *__libc_memalign(size_t alignment, size_t n) DROPIN_ALIAS(memalign);
void *__libc_valloc(size_t n) DROPIN_ALIAS(dlvalloc);
void *__libc_pvalloc(size_t n) DROPIN_ALIAS(dlpvalloc);

/* ==== 5. Start-up and exit ==================================================================
   The constructor runs when the library is loaded, before main and before the constructors
   of the libraries that depend on it; malloc may be called even earlier (by the C library's
   own start-up), which is fine: the core initialises itself on first use.                */

/* DLMALLOC_STATS: unset, empty or "0": nothing.  "1", "yes" or "stderr": malloc_stats() to
   standard error at exit.  An absolute path: the same, appended to that file (created if
   needed), one write per process -- the form the integration tests use, since a program's
   standard error is often closed or captured.  The value is read once, at load time: the
   program may change its environment later. */
enum { STATS_OFF, STATS_STDERR, STATS_FILE };
static int stats_mode = STATS_OFF;
static char stats_path[PATH_MAX];

static int string_is(const char *a, const char *b) {
  while (*a != 0 && *a == *b) {
    ++a;
    ++b;
  }
  return *a == *b;
}

static void read_stats_setting(void) {
  const char *v = getenv("DLMALLOC_STATS");
  size_t n;
  if (v == 0 || v[0] == 0 || string_is(v, "0"))
    return;
  if (string_is(v, "1") || string_is(v, "yes") || string_is(v, "stderr")) {
    stats_mode = STATS_STDERR;
    return;
  }
  for (n = 0; v[n] != 0 && n + 1 < sizeof(stats_path); ++n)
    stats_path[n] = v[n];
  stats_path[n] = 0;
  if (v[0] == '/' && v[n] == 0) {
    stats_mode = STATS_FILE;
    return;
  }
  {
    struct dropin_text t;
    t.len = 0;
    text_add_prefix(&t);
    text_add_string(&t, "DLMALLOC_STATS must be 0, 1, stderr or an absolute file path; "
                        "statistics are off\n");
    write_all(2, t.buf, t.len);
  }
}

/* The fork handlers by names that bind to this copy of the library: the exported names may
   resolve to another object's functions (a second copy of the drop-in preloaded over a
   program linked with this one registered the other copy's handlers twice, and its second
   prepare waited for the lock its first had taken). */
extern __typeof(dlmalloc_prefork) dropin_prefork
    __attribute__((alias("dlmalloc_prefork"), visibility("hidden")));
extern __typeof(dlmalloc_postfork_parent) dropin_postfork_parent
    __attribute__((alias("dlmalloc_postfork_parent"), visibility("hidden")));
extern __typeof(dlmalloc_postfork_child) dropin_postfork_child
    __attribute__((alias("dlmalloc_postfork_child"), visibility("hidden")));

__attribute__((constructor)) static void dropin_load(void) {
  int rc;
  read_stats_setting();
  /* Take every allocator lock around fork(), so that the child of a multi-threaded process
     inherits consistent heaps and unlocked locks.  Registered now, early, so that among the
     handlers our prepare runs last (after other libraries' handlers, which may allocate)
     and our parent/child handlers run first (before theirs, which may allocate). */
  rc = pthread_atfork(dropin_prefork, dropin_postfork_parent, dropin_postfork_child);
  if (rc != 0) {
    struct dropin_text t;
    t.len = 0;
    text_add_prefix(&t);
    text_add_string(&t, "pthread_atfork failed: fork() in a threaded program may hang\n");
    write_all(2, t.buf, t.len);
  }
}

/* Runs from exit() after the program's atexit handlers (the C library runs shared objects'
   destructors last), so the report shows what the program left allocated.  Not run on
   _exit() or a fatal signal. */
__attribute__((destructor)) static void dropin_unload(void) {
  int fd;
  if (stats_mode == STATS_OFF)
    return;
  if (stats_mode == STATS_STDERR) {
    dlmalloc_stats();
    return;
  }
  fd = open(stats_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    struct dropin_text t;
    t.len = 0;
    text_add_prefix(&t);
    text_add_string(&t, "cannot open DLMALLOC_STATS file ");
    text_add_string(&t, stats_path);
    text_add_string(&t, "\n");
    write_all(2, t.buf, t.len);
    return;
  }
  stats_fd = fd;
  dlmalloc_stats();
  stats_fd = 2;
  close(fd);
}
