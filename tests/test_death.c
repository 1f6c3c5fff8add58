/*
  test_death.c -- usage errors must end in custom_abort with a reason.

  Usage: test_death <case>.  Each case commits one usage error; the allocator must notice it
  and call custom_abort(), which (test_port.c) prints "custom_abort: <reason>" and exits with
  status 86.  CTest matches that line with PASS_REGULAR_EXPRESSION, so a crash, a hang or a
  silent return all fail.  If the error goes unnoticed, this program says so and returns 1.
*/
#if defined(DEATH_PLAIN) && DEATH_PLAIN
#define _GNU_SOURCE 1 /* dlsym's RTLD_DEFAULT */
#include <dlfcn.h>
#endif
#include "malloc.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "heaps.h"

/* The cases that need POSIX mmap or threads (Linux, the BSDs, macOS). */
#if TH_HOSTED && (defined(__unix__) || defined(__APPLE__)) && defined(__GNUC__)
#define DEATH_POSIX 1
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#else
#define DEATH_POSIX 0
#endif

/* volatile: keep the compiler from reasoning about (or warning on) the misuse below */
static void *volatile sink;

/* DEATH_PLAIN: built with the standard names and linked with nothing but the C library, to
   run each case against the C library's allocator or a preloaded libdlmalloc.so
   (tests/hostile_table.c).  The allocator's extensions are then looked up at run time (the
   drop-in has them, the C library does not); a case that needs a missing one reports that it
   cannot run. */
#ifndef DEATH_PLAIN
#define DEATH_PLAIN 0
#endif
typedef size_t (*bulk_free_fn)(void **array, size_t n);
typedef void **(*comalloc_fn)(size_t n, size_t *sizes, void **chunks);
typedef void (*thread_exit_fn)(void);
#if DEATH_PLAIN
typedef void (*any_fn)(void);
static any_fn extension(const char *name, const char *dl_name) {
  void *sym = dlsym(RTLD_DEFAULT, name);
  any_fn f;
  if (sym == NULL) /* libdlmalloc.so exports its extensions with the prefix */
    sym = dlsym(RTLD_DEFAULT, dl_name);
  memcpy(&f, &sym, sizeof f);
  return f;
}
/* The extension name (bulk_free...) as a pointer of type type, or NULL. */
#define EXTENSION(type, name) ((type)extension(#name, "dl" #name))
#else
#define EXTENSION(type, name) ((type)dl##name)
#endif

#if !ONLY_MSPACES
/* Memory dlmalloc never handed out: a global buffer and a tiny bump "allocator" over one. */
static unsigned char global_buf[256];
static size_t arena_words[64];
static size_t arena_used;

static void *arena_alloc(size_t n) {
  size_t words = (n + sizeof(size_t) - 1) / sizeof(size_t);
  size_t *block = arena_words + arena_used;
  block[0] = 0;                 /* a previous-size word, as dlmalloc's chunks have */
  block[1] = (words + 2) * sizeof(size_t) | 3u; /* a size word with flag bits set */
  arena_used += words + 2;
  return block + 2;
}

/* Whether the block's size word (the word before it) has neither in-use bit set: malloc.c's
   mark of a directly mapped chunk.  (DEATH_PLAIN: the allocator is not known; the C
   library's maps the same sizes directly too.) */
static int is_mapped_block(const void *p) {
  return DEATH_PLAIN || (((const size_t *)p)[-1] & 3u) == 0;
}

#if DEATH_POSIX /* the forged chunks live on a thread's stack or in a page of their own */
/* A page the program maps itself (with protection prot) where a directly mapped block of the
   heap was, between two others: inside the heap's lowest and highest addresses, in none of
   its regions.  NULL if the layout did not come out that way. */
static unsigned char *page_between_mapped_blocks(int prot) {
  size_t mb = (size_t)1 << 20;
  unsigned char *a, *b, *c, *page, *lo, *hi;
  sink = dlmalloc(100); /* the heap has a top: the big blocks below are mapped */
  a = (unsigned char *)dlmalloc(mb);
  b = (unsigned char *)dlmalloc(mb);
  c = (unsigned char *)dlmalloc(mb);
  if (a == NULL || b == NULL || c == NULL || !is_mapped_block(b))
    return NULL;
  dlfree(b); /* unmapped; nothing else runs here to take its place first */
  page = (unsigned char *)mmap((void *)((uintptr_t)b & ~(uintptr_t)4095), 4096, prot,
                               MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  lo = a < c ? a : c;
  hi = a < c ? c : a;
  if (page == (unsigned char *)MAP_FAILED || page < lo || page > hi)
    return NULL;
  return page;
}
/* The smallest request that malloc.c pads to a 64-byte chunk (on 32- and 64-bit). */
#define FORGED_REQUEST (64 - 2 * sizeof(size_t))

/* Forge at w (aligned to MALLOC_ALIGNMENT) what free() looks for in a block of its own: a
   64-byte chunk in use whose previous chunk is in use, followed by two more chunks in use.
   Returns the forged block. */
static void *forge_chunk(size_t *w) {
  size_t words = 64 / sizeof(size_t), i;
  for (i = 0; i < 3 * words; i += words) {
    w[i] = 0;
    w[i + 1] = 64 | 3u;
  }
  return w + 2;
}

/* 1 if a few small mallocs hand out the forged block at w (the forgery was accepted). */
static int forged_chunk_handed_out(const size_t *w) {
  int i, found = 0;
  for (i = 0; i < 4; i++) {
    void *q = dlmalloc(FORGED_REQUEST);
    found |= (q == (const void *)(w + 2));
  }
  return found;
}

/* racing_double_free's tries (each a child process) before it concludes the frees are
   serialised; on a loaded machine it stops after RACE_SECONDS once RACE_LEAST_TRIES are made
   (beside other jobs a try can cost ten times what it does alone, and hostile_table gives
   each run two minutes). */
#ifndef RACE_TRIES
#define RACE_TRIES 3000
#endif
#define RACE_SECONDS 20
#define RACE_LEAST_TRIES 300

/* Two threads meet at ready (each adds one, then waits for two) and free block together. */
struct race {
  void *block;
  int ready;
};

static void *race_to_free(void *arg) {
  struct race *race = (struct race *)arg;
  __atomic_add_fetch(&race->ready, 1, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&race->ready, __ATOMIC_SEQ_CST) < 2)
    sched_yield();
  thread_exit_fn thread_exit = EXTENSION(thread_exit_fn, malloc_thread_exit);
  dlfree(race->block);
  if (thread_exit != NULL)
    thread_exit(); /* its cache back to the heap, as the port's threads must */
  return NULL;
}

/* One try: two threads free a block together.  1 if both frees were accepted (the next two
   mallocs hand out the block twice). */
static int race_once(void) {
  struct race race;
  pthread_t t1, t2;
  void *a, *b;
  race.block = dlmalloc(40);
  race.ready = 0;
  if (pthread_create(&t1, NULL, race_to_free, &race) != 0 ||
      pthread_create(&t2, NULL, race_to_free, &race) != 0)
    return 0;
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
  a = dlmalloc(40);
  b = dlmalloc(40);
  return a == b;
}

/* A thread's body: map a block (below this thread's stack), then forge a chunk on the stack,
   free it and see whether malloc hands it out; *arg says so. */
static void *forge_and_free_on_stack(void *arg) {
  size_t words[3 * 64 / sizeof(size_t) + 8];
  size_t *w = words;
  while (((uintptr_t)w & (MALLOC_ALIGNMENT - 1)) != 0)
    w++;
  sink = dlmalloc((size_t)1 << 20);
  sink = forge_chunk(w);
  dlfree(sink);
  *(int *)arg = forged_chunk_handed_out(w);
  return NULL;
}

#if defined(__linux__)
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
/* [*lo, *hi): the mapping that holds addr, by /proc/self/maps.  0 if not found. */
static int mapping_of(const void *addr, uintptr_t *lo, uintptr_t *hi) {
  static char maps[1 << 16];
  size_t got = 0;
  ssize_t n;
  char *line;
  int fd = open("/proc/self/maps", O_RDONLY);
  if (fd < 0)
    return 0;
  while (got < sizeof maps - 1 && (n = read(fd, maps + got, sizeof maps - 1 - got)) > 0)
    got += (size_t)n;
  close(fd);
  maps[got] = '\0';
  for (line = maps; *line != '\0';) {
    char *end;
    uintptr_t a = (uintptr_t)strtoull(line, &end, 16), b = 0;
    if (*end == '-')
      b = (uintptr_t)strtoull(end + 1, &end, 16);
    if (a <= (uintptr_t)addr && (uintptr_t)addr < b) {
      *lo = a;
      *hi = b;
      return 1;
    }
    while (*line != '\0' && *line++ != '\n') {
    }
  }
  return 0;
}

/* The record that add_segment leaves at the end of a segment its heap has moved on from:
   blocks are allocated until one lies outside the mapping of the first, and pages mapped
   on both sides of that mapping beforehand keep the heap's next region from joining it
   (which would leave no record).  The record, {the segment's base, its size, ...}, lies
   between the last block there and the mapping's end.  NULL if it did not come out so. */
static size_t *left_segment_record(void) {
  enum { STEP = 3000, MOST = 30000 };
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  unsigned char *last = (unsigned char *)dlmalloc(STEP), *q;
  uintptr_t lo, hi;
  size_t *w;
  int i;
  if (last == NULL || !mapping_of(last, &lo, &hi))
    return NULL;
  (void)mmap((void *)(lo - page), page, PROT_NONE,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  (void)mmap((void *)hi, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
             -1, 0);
  for (i = 0; i < MOST; i++) {
    if ((q = (unsigned char *)dlmalloc(STEP)) == NULL)
      return NULL;
    if ((uintptr_t)q < lo || (uintptr_t)q >= hi)
      break;
    last = q;
  }
  if (i == MOST)
    return NULL;
  for (w = (size_t *)(void *)(last + STEP - (uintptr_t)(last + STEP) % sizeof(size_t));
       (uintptr_t)(w + 2) <= hi; w++)
    if (w[0] >= lo && w[0] < (uintptr_t)w && w[0] % 4096 == 0 && w[1] % 4096 == 0 &&
        w[1] <= hi - w[0] && (uintptr_t)w < w[0] + w[1])
      return w;
  return NULL;
}

/* A thread that has allocated, and lives until companion_end: while two threads have thread
   caches, the cache's quick free takes a block whatever its neighbours (a lone thread merges
   a block that has a free one, and the record's predecessor is free). */
static int companion_ready, companion_ended;
static void *companion(void *arg) {
  (void)arg;
  sink = dlmalloc(40);
  __atomic_store_n(&companion_ready, 1, __ATOMIC_SEQ_CST);
  while (!__atomic_load_n(&companion_ended, __ATOMIC_SEQ_CST))
    sched_yield();
  return NULL;
}

/* Another thread (bound to an arena of its own where there are arenas) frees block arg:
   the free of another arena's block, past the owner's lock (arena_free_remote). */
static void *free_in_thread(void *arg) {
  sink = dlmalloc(40);
  dlfree(arg);
  return NULL;
}
#endif /* __linux__ */
#endif

/* The decimal number at the start of s (0 if none). */
static size_t parse_size(const char *s) {
  size_t v = 0;
  while (*s >= '0' && *s <= '9')
    v = v * 10 + (size_t)(*s++ - '0');
  return v;
}
#endif

/* The name of an overflow case after "overflow": <n>[x<hex>]_<rest>, n bytes (1 to 64) of 'A'
   or of the byte <hex>.  Returns what follows the "_" (0 if the name does not parse). */
static const char *parse_overflow(const char *rest, size_t *n, unsigned char *value) {
  unsigned v = 'A';
  *n = 0;
  while (*rest >= '0' && *rest <= '9')
    *n = *n * 10 + (size_t)(*rest++ - '0');
  if (*rest == 'x')
    for (v = 0, rest++; (*rest >= '0' && *rest <= '9') || (*rest >= 'a' && *rest <= 'f'); rest++)
      v = v * 16u + (unsigned)(*rest <= '9' ? *rest - '0' : *rest - 'a' + 10);
  *value = (unsigned char)v;
  return *n >= 1 && *n <= 64 && *rest == '_' ? rest + 1 : 0;
}

/* Write n bytes of value from p + usable, the first bytes past what block p may use. */
static void overflow_block(unsigned char *p, size_t usable, size_t n, unsigned char value) {
  size_t i;
  memset(p, 0, usable);
  for (i = 0; i < n; i++)
    ((volatile unsigned char *)p)[usable + i] = value;
}

static int commit(const char *name) {
#if !ONLY_MSPACES
  if (strcmp(name, "double_free") == 0) {
    void *p = dlmalloc(100), *guard = dlmalloc(100);
    sink = guard;
    dlfree(p);
    dlfree(p);
    return 1;
  }
  if (strcmp(name, "double_free_large") == 0) {
    void *p = dlmalloc(20000), *guard = dlmalloc(100);
    sink = guard;
    dlfree(p);
    dlfree(p);
    return 1;
  }
  if (strcmp(name, "freed_rewritten_double_free") == 0) {
    /* Everything past a freed block's first word rewritten (where a thread cache once kept
       its mark), then a second free. */
    void *before = dlmalloc(40), *p = dlmalloc(40), *after = dlmalloc(40);
    size_t usable = dlmalloc_usable_size(p);
    sink = before;
    sink = after;
    dlfree(p);
    memset((char *)p + sizeof(void *), 0, usable - sizeof(void *));
    dlfree(p);
    return 1;
  }
  if (strcmp(name, "freed_link_forged") == 0) {
    /* A use-after-free write of one word: the first word of a freed small block (its link in
       a thread cache or its bin) made to point at a global buffer.  The next mallocs of the
       size must not hand the buffer out. */
    static size_t target[16];
    void *a = dlmalloc(40), *p = dlmalloc(40), *q = dlmalloc(40), *b = dlmalloc(40);
    sink = a;
    sink = b;
    dlfree(q);
    dlfree(p);
    *(void **)p = &target[2];
    sink = dlmalloc(40);
    return dlmalloc(40) == (void *)&target[2] ? 1 : 3;
  }
  if (strcmp(name, "free_stack") == 0) {
    unsigned char buf[256];
    void *warm = dlmalloc(100); /* the heap exists */
    sink = warm;
    memset(buf, 0, sizeof buf);
    sink = buf + 64;
    dlfree(sink);
    return 1;
  }
  if (strcmp(name, "realloc_stack") == 0) {
    unsigned char buf[256];
    void *warm = dlmalloc(100);
    sink = warm;
    memset(buf, 0, sizeof buf);
    sink = buf + 64;
    sink = dlrealloc(sink, 500);
    return 1;
  }
  if (strcmp(name, "free_overrun") == 0) {
    /* Write past the end of a block over the header of the next one, then free that one. */
    unsigned char *p = (unsigned char *)dlmalloc(24);
    unsigned char *q = (unsigned char *)dlmalloc(24);
    unsigned char *guard = (unsigned char *)dlmalloc(24);
    sink = guard;
    memset(p, 0xFF, (size_t)(q - p));
    dlfree(q);
    return 1;
  }
  if (strcmp(name, "double_free_mapped") == 0) {
    /* 1 MiB is above the mmap threshold: a directly mapped block, once the heap has a top to
       fall back on (the first request of a fresh heap makes a segment instead).  The first
       free unmaps it; the second must be refused without reading its header. */
    void *guard = dlmalloc(100), *p = dlmalloc((size_t)1 << 20);
    sink = guard;
    if (p == NULL || !is_mapped_block(p))
      return 2;
    dlfree(p);
    dlfree(p);
    return 1;
  }
  if (strcmp(name, "mapped_interior_far_back") == 0) {
    /* A free inside a directly mapped block, at words that claim a mapped chunk whose record
       lies half the address space back: refused as a bad mapped block, and (sanitize
       variant) without pointer arithmetic that overflows on the way. */
    size_t *words;
    void *guard = dlmalloc(100), *p = dlmalloc((size_t)1 << 20);
    sink = guard;
    if (p == NULL || !is_mapped_block(p))
      return 2;
    words = (size_t *)(void *)((unsigned char *)p + 4096 - 2 * sizeof(size_t)); /* aligned */
    words[0] = (size_t)1 << (sizeof(size_t) * 8 - 1); /* the distance back to the record */
    words[1] = 64;                                    /* a size, and no in-use bit: mapped */
    dlfree(words + 2);
    return 1;
  }
#if DEATH_POSIX
  if (strcmp(name, "forged_chunk_mmap") == 0) {
    /* A chunk forged in a page the program mapped itself, between two directly mapped blocks
       of the heap: inside the heap's lowest and highest addresses, in none of its regions. */
    unsigned char *page = page_between_mapped_blocks(PROT_READ | PROT_WRITE);
    if (page == NULL)
      return 2;
    sink = forge_chunk((size_t *)(void *)(page + 64));
    dlfree(sink);
    if (forged_chunk_handed_out((size_t *)(void *)(page + 64)))
      th_write("malloc handed out the forged block\n");
    return 1;
  }
  if (strcmp(name, "uaf_link_to_hole") == 0) {
    /* Use after free: a freed small block's link (a bin's forward link; in a thread cache
       its mangled link) is overwritten with the address of an inaccessible page that lies
       between two of the heap's mapped regions.  The next malloc of its size must refuse to
       follow it; reading through it would fault. */
    void *page = page_between_mapped_blocks(PROT_NONE), *p;
    if (page == NULL)
      return 2;
    p = dlmalloc(40);
    sink = dlmalloc(40); /* p does not merge with top */
    dlfree(p);
    memcpy(p, &page, sizeof page);
    sink = dlmalloc(40);
    sink = dlmalloc(40);
    return 1;
  }
  if (strcmp(name, "racing_double_free") == 0) {
    /* Two threads free the same block at the same moment: exactly one free may succeed.  A
       free that comes second is caught easily, so each try runs in a child process (quiet)
       until a try ends with both frees accepted; when none does, one more try here shows how
       the allocator reports it. */
    int tries;
    time_t start = time(NULL);
    for (tries = 0; tries < RACE_TRIES; tries++) {
      int status;
      pid_t child;
      if (tries >= RACE_LEAST_TRIES && time(NULL) - start >= RACE_SECONDS)
        break;
      child = fork();
      if (child < 0)
        return 2;
      if (child == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
          dup2(devnull, 2);
        _exit(race_once() ? 0 : 3);
      }
      if (waitpid(child, &status, 0) != child)
        return 2;
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        th_write("both frees succeeded: malloc handed out the block twice\n");
        return 1;
      }
    }
    if (race_once())
      th_write("both frees succeeded: malloc handed out the block twice\n");
    return 1;
  }
#if defined(__linux__)
  if (strcmp(name, "free_segment_record") == 0 ||
      strcmp(name, "free_segment_record_remote") == 0) {
    /* A segment's record is laid out as a block in use followed by fenceposts (malloc.c,
       add_segment); once freed, the heap's list of its regions was program data (an outside
       review: malloc handed the record out, and the next walk of the list crashed).  Freed
       here with another thread about and blocks of its size freed before, the way a thread
       cache would take it; or (_remote) by another thread. */
    size_t *record = left_segment_record();
    pthread_t t;
    int i;
    if (record == NULL || pthread_create(&t, NULL, companion, NULL) != 0)
      return 2;
    while (!__atomic_load_n(&companion_ready, __ATOMIC_SEQ_CST))
      sched_yield();
    for (i = 0; i < 8; i++)
      dlfree(dlmalloc(4 * sizeof(size_t))); /* the record's chunk size */
    if (strcmp(name, "free_segment_record") == 0)
      dlfree(record);
    else {
      pthread_t freer;
      if (pthread_create(&freer, NULL, free_in_thread, record) != 0)
        return 2;
      pthread_join(freer, NULL);
    }
    __atomic_store_n(&companion_ended, 1, __ATOMIC_SEQ_CST);
    pthread_join(t, NULL);
    th_write("free of a segment's record was accepted\n");
    return 1;
  }
#endif
  if (strcmp(name, "forged_chunk_thread_stack") == 0) {
    /* The same forgery on a thread's stack, once the heap has mapped memory below and above
       it (a thread's stack is mapped when the thread is made). */
    pthread_t t;
    int handed_out = 0;
    sink = dlmalloc(100);
    sink = dlmalloc((size_t)1 << 20);
    if (pthread_create(&t, NULL, forge_and_free_on_stack, &handed_out) != 0 ||
        pthread_join(t, NULL) != 0)
      return 2;
    if (handed_out)
      th_write("malloc handed out the forged block\n");
    return 1;
  }
#endif
  if (strcmp(name, "unsafe_unlink") == 0) {
    /* The "modern" unsafe unlink: a program keeps a pointer to block p in another heap block
       (holder); an attacker who controls p's contents and overflows it by one byte forges, in
       p, a free chunk whose links lead back to holder, and clears the flag in q's header that
       says p is in use.  Freeing q merges q with the forged chunk, and unlinking that chunk
       writes into holder a pointer to holder itself: the program's pointer is now the
       attacker's.  q is too big for a thread cache, so it is merged at once.  (One word past
       p's usable size is written: the flag, and with FOOTERS p's footer.) */
    void **holder, *before = dlmalloc(64); /* holder - 3 lies in the heap */
    unsigned char *p, *q;
    holder = (void **)dlmalloc(4 * sizeof(void *));
    p = (unsigned char *)dlmalloc(128);
    q = (unsigned char *)dlmalloc(20000);
    sink = dlmalloc(100); /* q's neighbour stays in use */
    if (before == NULL || holder == NULL || p == NULL || q == NULL ||
        (size_t)(q - p) < dlmalloc_usable_size(p) || (size_t)(q - p) > 256)
      return 2; /* q must follow p */
    forge_free_predecessor(holder, p, q);
    dlfree(q);
    if (holder[0] == (void *)(holder - 3))
      th_write("unlinking the forged chunk redirected the program's pointer\n");
    return 1;
  }
  if (strcmp(name, "comalloc_wrap") == 0) {
    /* Not a misuse: sizes whose padded sum wraps must be refused (exit status 5). */
    size_t sizes[3] = {SIZE_MAX / 2, SIZE_MAX / 2, 64};
    void *chunks[3];
    comalloc_fn comalloc = EXTENSION(comalloc_fn, independent_comalloc);
    if (comalloc == NULL)
      return 2;
    return comalloc(3, sizes, chunks) == NULL ? 5 : 1;
  }
  if (strcmp(name, "cache_link_overwrite") == 0) {
    /* Use after free: one word written into a freed small block, where a per-thread cache
       keeps its link to the next free block.  If the link is trusted, the second malloc
       returns the address the program wrote (here a static buffer). */
    static size_t target[2 * (MALLOC_ALIGNMENT / sizeof(size_t)) + 16];
    void *p = dlmalloc(40), *q = dlmalloc(40), *a, *b;
    void *chosen = target + 2 * (MALLOC_ALIGNMENT / sizeof(size_t));
    sink = dlmalloc(40);
    dlfree(q);
    dlfree(p); /* first in a LIFO list: its link leads to q */
    memcpy(p, &chosen, sizeof chosen);
    a = dlmalloc(40);
    b = dlmalloc(40);
    if (a == chosen || b == chosen)
      th_write("malloc handed out the address written into the freed block\n");
    return 1;
  }
  if (strcmp(name, "uaf_tree_link") == 0) {
    /* Use after free: a freed 20000-byte block (a tree chunk: words fd, bk, child[0],
       child[1], and too large for a thread cache) gets a small number written over its
       child links; the next malloc of its size takes it out of the tree and would follow
       them. */
    size_t *p = (size_t *)dlmalloc(20000);
    sink = dlmalloc(100); /* p does not merge into top */
    dlfree(p);
    p[2] = 0x40;
    p[3] = 0x40;
    sink = dlmalloc(20000);
    return 1;
  }
  if (strcmp(name, "uaf_tree_size_shrunk") == 0) {
    /* Use after free: a freed 20000-byte block (the heap's only free chunk, in a tree bin)
       gets a size of 64 written over its header, with the matching footer 64 bytes on, past
       its tree links.  The next small request that no small bin serves takes the smallest
       tree chunk: read as 64 bytes, it is smaller than the request, and the remainder's size
       computed from it wraps around (found by the fuzzer). */
    size_t *p = (size_t *)dlmalloc(20000);
    unsigned char *chunk = (unsigned char *)((uintptr_t)p - 2 * sizeof(size_t));
    sink = dlmalloc(100); /* p does not merge into top */
    dlfree(p);
    *(size_t *)(void *)(chunk + sizeof(size_t)) = 64 | 1; /* size 64, the one before in use */
    *(size_t *)(void *)(chunk + 64) = 64;                  /* the footer the size check reads */
    sink = dlmalloc(200);
    return 1;
  }
  if (strcmp(name, "cache_tag_overwrite") == 0) {
    /* Use after free: the freed block's second word (where a cache may mark it as cached)
       is overwritten, then the block is freed again. */
    size_t *p = (size_t *)dlmalloc(40);
    void *a, *b;
    sink = dlmalloc(40);
    dlfree(p);
    ((volatile size_t *)p)[1] = 0;
    dlfree(p);
    a = dlmalloc(40);
    b = dlmalloc(40);
    if (a == b)
      th_write("malloc handed out the same block twice\n");
    return 1;
  }
  if (strcmp(name, "bulk_free_merged_duplicate") == 0) {
    /* Three neighbours from independent_comalloc (neighbours by construction) and the middle
       one again: bulk_free merges each block with the next in the array in one step, so the
       second and third lie inside the first's free block when the middle one comes again. */
    size_t sizes[4] = {40, 40, 40, 40}; /* the fourth stays in use after them */
    void *chunks[4], *array[4];
    comalloc_fn comalloc = EXTENSION(comalloc_fn, independent_comalloc);
    bulk_free_fn bulk = EXTENSION(bulk_free_fn, bulk_free);
    if (comalloc == NULL || bulk == NULL || comalloc(4, sizes, chunks) == NULL)
      return 2;
    array[0] = chunks[0];
    array[1] = chunks[1];
    array[2] = chunks[2];
    array[3] = chunks[1];
    sink = (void *)(uintptr_t)bulk(array, 4);
    if (dlmalloc(130) == chunks[0] && dlmalloc(40) == chunks[1])
      th_write("malloc handed out the same memory twice\n");
    return 1;
  }
  if (strncmp(name, "bulk_free_", 10) == 0) {
    /* bulk_free given a pointer twice, one already freed, or one it never handed out. */
    unsigned char buf[64];
    void *p = dlmalloc(100), *q = dlmalloc(100), *guard = dlmalloc(100);
    void *array[3];
    sink = guard;
    array[0] = p;
    array[1] = q;
    if (strcmp(name + 10, "duplicate") == 0)
      array[2] = p;
    else if (strcmp(name + 10, "freed") == 0) {
      void *r = dlmalloc(100);
      sink = dlmalloc(100); /* keeps r from merging into top */
      dlfree(r);
      array[2] = r;
    } else if (strcmp(name + 10, "stack") == 0) {
      memset(buf, 0, sizeof buf);
      array[2] = buf + 16;
    } else
      return 2;
    bulk_free_fn bulk = EXTENSION(bulk_free_fn, bulk_free);
    if (bulk == NULL)
      return 2;
    sink = (void *)(uintptr_t)bulk(array, 3);
    return 1;
  }
  if (strcmp(name, "free_global") == 0) {
    sink = dlmalloc(100);
    sink = global_buf + 64;
    dlfree(sink);
    return 1;
  }
  if (strcmp(name, "free_static_arena") == 0) {
    /* A block of "another allocator": a bump arena over a static buffer that, like dlmalloc,
       puts a size word in front of each block. */
    sink = dlmalloc(100);
    sink = arena_alloc(48);
    dlfree(sink);
    return 1;
  }
  if (strcmp(name, "free_libc_heap") == 0) {
    /* A block of the C library's malloc: a real heap address dlmalloc never handed out. */
    void *foreign = malloc(100);
    if (foreign == 0)
      return 2;
    memset(foreign, 0, 100);
    sink = dlmalloc(100);
    sink = foreign;
    dlfree(sink);
    return 1;
  }
  if (strncmp(name, "free_interior_", 14) == 0) {
    /* free(p + offset) for an offset inside the block (a multiple of 8). */
    size_t offset = parse_size(name + 14);
    unsigned char *p = (unsigned char *)dlmalloc(200), *guard = (unsigned char *)dlmalloc(100);
    if (offset == 0 || offset >= 200)
      return 2;
    memset(p, 0, 200);
    sink = guard;
    sink = p + offset;
    dlfree(sink);
    return 1;
  }
  if (strcmp(name, "forged_interior_chunk") == 0) {
    /* "House of spirit": the program's own bytes inside a live block look like a chunk in
       use (a header, and a next header saying it is in use too), and the address just past
       that header is freed.  Every cheap check of the default build sees a consistent chunk
       in the heap's memory (a known gap); with FOOTERS it has no footer with the secret. */
    unsigned char *p = (unsigned char *)dlmalloc(200), *guard = (unsigned char *)dlmalloc(100);
    size_t fake_size = 48, head = fake_size | 3; /* PINUSE and CINUSE */
    if (p == 0)
      return 2;
    memset(p, 0, 200);
    memcpy(p + 16 - sizeof(size_t), &head, sizeof head);
    memcpy(p + 16 - sizeof(size_t) + fake_size, &head, sizeof head);
    sink = guard;
    sink = p + 16;
    dlfree(sink);
    return 1;
  }
  if (strcmp(name, "realloc_freed") == 0) {
    void *p = dlmalloc(100), *guard = dlmalloc(100);
    sink = guard;
    dlfree(p);
    sink = dlrealloc(p, 200);
    return 1;
  }
  if (strncmp(name, "overflow", 8) == 0 && strstr(name, "_top_") == 0) {
    /* overflow<n>[x<hex>]_<self|next|both>: overflow p, then free p, the block after it, or
       that block and then p. */
    size_t n;
    unsigned char *p, *q, *guard, value;
    const char *rest = parse_overflow(name + 8, &n, &value);
    int free_next;
    if (rest == 0)
      return 2;
    if (strcmp(rest, "self") == 0)
      free_next = 0;
    else if (strcmp(rest, "next") == 0)
      free_next = 1;
    else if (strcmp(rest, "both") == 0)
      free_next = 2; /* the neighbour first, then p */
    else
      return 2;
    p = (unsigned char *)dlmalloc(40);
    q = (unsigned char *)dlmalloc(40);
    guard = (unsigned char *)dlmalloc(40);
    sink = guard;
    overflow_block(p, dlmalloc_usable_size(p), n, value);
    if (free_next != 0)
      dlfree(q);
    if (free_next != 1)
      dlfree(p);
    sink = q;
    return 1;
  }
#endif
#if MSPACES
  if (strncmp(name, "overflow", 8) == 0) {
    /* overflow<n>[x<hex>]_top_<free|malloc|realloc>: p, the first block of a new mspace, lies
       just before top; overflow it into top's header, then free p, carve a block from top,
       or grow p into top.  (Top's size is kept beside the heap, not read from the header.) */
    size_t n;
    unsigned char *p, value;
    const char *rest = parse_overflow(name + 8, &n, &value);
    mspace m = create_mspace(0, 1);
    if (rest == 0 || strncmp(rest, "top_", 4) != 0 || m == 0)
      return 2;
    p = (unsigned char *)mspace_malloc(m, 40);
    if (p == 0)
      return 2;
    overflow_block(p, mspace_usable_size(p), n, value);
    if (strcmp(rest + 4, "free") == 0)
      mspace_free(m, p);
    else if (strcmp(rest + 4, "malloc") == 0)
      sink = mspace_malloc(m, 5000);
    else if (strcmp(rest + 4, "realloc") == 0)
      sink = mspace_realloc(m, p, 5000);
    else
      return 2;
    return 1;
  }
  if (strcmp(name, "mspace_double_free") == 0) {
    mspace m = create_mspace(0, 1);
    void *p = mspace_malloc(m, 100), *guard = mspace_malloc(m, 100);
    sink = guard;
    mspace_free(m, p);
    mspace_free(m, p);
    return 1;
  }
  if (strcmp(name, "mspace_free_stack") == 0) {
    unsigned char buf[256];
    mspace m = create_mspace(0, 1);
    sink = mspace_malloc(m, 100);
    memset(buf, 0, sizeof buf);
    sink = buf + 64;
    mspace_free(m, sink);
    return 1;
  }
  if (strcmp(name, "mspace_wrong_owner_any") == 0) {
    /* The same error in any build: the block of b freed into a, then a used further. */
    mspace a = create_mspace(0, 1), b = create_mspace(0, 1);
    void *p = mspace_malloc(b, 100), *q;
    sink = mspace_malloc(a, 100);
    mspace_free(a, p);
    q = mspace_malloc(a, 100);
    sink = q;
    destroy_mspace(a);
    destroy_mspace(b);
    return 1;
  }
  if (strcmp(name, "mspace_wrong_owner_in_range") == 0) {
    /* As mspace_wrong_owner_any, with b's block between a's lowest and highest addresses:
       a's first region, then b's, then a mapped block of a. */
    mspace a = create_mspace(0, 1), b = create_mspace(0, 1);
    void *p = mspace_malloc(b, 100);
    sink = mspace_malloc(b, 100);
    sink = mspace_malloc(a, 100);
    sink = mspace_malloc(a, (size_t)1 << 20);
    mspace_free(a, p);
    sink = mspace_malloc(a, 100);
    return 1;
  }
  if (strcmp(name, "mspace_call_destroyed") == 0) {
    mspace m = create_mspace(0, 1);
    destroy_mspace(m);
    sink = mspace_malloc(m, 100);
    return 1;
  }
  if (strcmp(name, "mspace_destroy_twice") == 0) {
    mspace m = create_mspace(0, 1);
    destroy_mspace(m);
    destroy_mspace(m);
    return 1;
  }
  if (strcmp(name, "mspace_free_itself") == 0) {
    /* The mspace's handle is its state, which fills a chunk marked in use: freed, malloc
       would hand the state out as a block. */
    mspace m = create_mspace(0, 1);
    sink = mspace_malloc(m, 100);
    mspace_free(m, m);
    sink = mspace_malloc(m, 512);
    return 1;
  }
  if (strcmp(name, "mspace_free_inner") == 0) {
    /* An mspace made in a block of another: its state, a chunk in use there, followed by its
       first block, looks like a block of the outer one. */
    mspace outer = create_mspace(0, 1), inner;
    void *block = mspace_malloc(outer, 100000);
    inner = create_mspace_with_base(block, 100000, 0);
    sink = mspace_malloc(inner, 64);
    mspace_free(outer, inner);
    sink = mspace_malloc(outer, 1000);
    return 1;
  }
  if (strcmp(name, "mspace_free_nested_block") == 0) {
    /* A block of an mspace made in a block of another, freed to the outer one: a chunk in use
       inside the outer one's segment, which its checks alone would take.  (Containers below
       the 64 KiB mmap threshold of 32-bit systems: a mapped one is caught as mapped.) */
    mspace outer = create_mspace(0, 1), inner;
    void *block = mspace_malloc(outer, 60000), *a;
    inner = create_mspace_with_base(block, 60000, 0);
    a = mspace_malloc(inner, 100);
    sink = mspace_malloc(inner, 100);
    mspace_free(outer, a);
    return mspace_malloc(outer, 100) == a ? 1 : 3;
  }
  if (strcmp(name, "mspace_free_destroyed_block") == 0) {
    mspace m = create_mspace(0, 1);
    void *p = mspace_malloc(m, 100);
    destroy_mspace(m);
    mspace_free(m, p);
    return 1;
  }
#if !ONLY_MSPACES
  if (strcmp(name, "free_nested_mspace_block") == 0) {
    /* free() of a block of an mspace made in a block of the global heap (the thread cache's
       path first, where there is one): with FOOTERS free() takes it to its own mspace. */
    void *block = dlmalloc(60000), *a;
    mspace inner = create_mspace_with_base(block, 60000, 0);
    a = mspace_malloc(inner, 100);
    sink = mspace_malloc(inner, 100);
    dlfree(a);
    return dlmalloc(100) == a ? 1 : 3;
  }
  if (strcmp(name, "mspace_bulk_free_nested_block") == 0) {
    mspace outer = create_mspace(0, 1), inner;
    void *block = mspace_malloc(outer, 60000), *array[2];
    inner = create_mspace_with_base(block, 60000, 0);
    array[0] = mspace_malloc(outer, 100);
    array[1] = mspace_malloc(inner, 100);
    sink = mspace_malloc(inner, 100);
    mspace_bulk_free(outer, array, 2);
    return 1;
  }
  if (strcmp(name, "free_destroyed_mspace_block") == 0) {
    mspace m = create_mspace(0, 1);
    void *p = mspace_malloc(m, 100);
    sink = dlmalloc(100);
    destroy_mspace(m);
    dlfree(p);
    return 1;
  }
#if !FOOTERS /* with FOOTERS free() takes a block of any heap: no error */
  if (strcmp(name, "free_mspace_block") == 0) {
    /* The global heap's first region, then the mspace's, then a mapped block of the global
       heap: the mspace's block lies between the global heap's lowest and highest addresses. */
    mspace m;
    void *p;
    sink = dlmalloc(100);
    m = create_mspace(0, 1);
    p = mspace_malloc(m, 100);
    sink = mspace_malloc(m, 100);
    sink = dlmalloc((size_t)1 << 20);
    dlfree(p);
    return 1;
  }
#endif
#endif
#if FOOTERS
  if (strcmp(name, "mspace_wrong_owner") == 0) {
    /* With FOOTERS the chunk names its heap: freeing it into another mspace is caught. */
    mspace a = create_mspace(0, 1), b = create_mspace(0, 1);
    void *p = mspace_malloc(b, 100);
    sink = a;
    mspace_free(a, p);
    return 1;
  }
#endif
#endif
  return 0;
}

#if TH_HOSTED
int main(int argc, char **argv) {
  if (argc < 2) {
    th_write("usage: test_death <case>\n");
    return 2;
  }
  switch (commit(argv[1])) {
  case 0:
    th_write("unknown case\n");
    return 2;
  case 2:
    th_write("bad case parameter or setup failed\n");
    return 2;
  case 5:
    th_write("refused with NULL\n");
    return 5;
  default:
    break;
  }
  th_write("the usage error went unnoticed: no custom_abort\n");
  return 1;
}
#endif
