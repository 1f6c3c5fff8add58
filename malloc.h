/*
  malloc.h -- public interface of portable-dlmalloc.

  portable-dlmalloc is a general-purpose allocator in the design of Doug Lea's dlmalloc 2.8.x
  (boundary tags, small bins, tree bins, a designated victim, a top chunk, segments, directly
  mapped large chunks and mspaces), written so that it can be carried to any platform by
  supplying eight hooks.  See malloc.c for the algorithm and README.md for the porting guide.

  Contents
    1. Options that change this interface
    2. Names (USE_DL_PREFIX)
    3. Standard API
    4. Extensions
    5. mspaces
    6. The port interface (the eight hooks and what the core promises them)

  Released under the MIT license; see license.txt.
*/
#ifndef PORTABLE_DLMALLOC_H
#define PORTABLE_DLMALLOC_H

#include <stddef.h> /* size_t */

#define PORTABLE_DLMALLOC_VERSION "1.0.0"
#define DLMALLOC_VERSION 20806 /* the dlmalloc design revision followed: 2.8.6 */

#ifndef DLMALLOC_EXPORT
#define DLMALLOC_EXPORT extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ==== 1. Options that change this interface ===============================================
   These must have the same value when malloc.c is compiled and when this header is included
   by a user; the build (CMakeLists.txt) passes them as public compile definitions.  Their
   meaning is documented with the other options at the top of malloc.c.                     */

#ifndef ONLY_MSPACES
#define ONLY_MSPACES 0
#endif /* ONLY_MSPACES */

#ifndef MSPACES
#if ONLY_MSPACES
#define MSPACES 1
#else
#define MSPACES 0
#endif
#endif /* MSPACES */

#ifndef NO_MALLINFO
#define NO_MALLINFO 0
#endif /* NO_MALLINFO */

#ifndef MALLINFO_FIELD_TYPE
#define MALLINFO_FIELD_TYPE size_t
#endif /* MALLINFO_FIELD_TYPE */

#ifndef MALLOC_INSPECT_ALL
#define MALLOC_INSPECT_ALL 1
#endif /* MALLOC_INSPECT_ALL */

#ifndef MALLOC_ALIGNMENT
#if defined(__wasm__)
#define MALLOC_ALIGNMENT ((size_t)16) /* alignof(max_align_t): long double is 16 bytes there */
#else
#define MALLOC_ALIGNMENT ((size_t)(2 * sizeof(void *)))
#endif
#endif /* MALLOC_ALIGNMENT */

/* mallopt() parameter numbers. */
#define M_TRIM_THRESHOLD (-1)
#define M_GRANULARITY (-2)
#define M_MMAP_THRESHOLD (-3)
#define M_ARENA_MAX (-8) /* glibc's number for the same setting */

#if !NO_MALLINFO
#ifndef STRUCT_MALLINFO_DECLARED
#define STRUCT_MALLINFO_DECLARED 1
/* The SVID/XPG mallinfo record, with fields wide enough for 64-bit heaps. */
struct mallinfo {
  MALLINFO_FIELD_TYPE arena;    /* bytes in segments (footprint minus hblkhd) */
  MALLINFO_FIELD_TYPE ordblks;  /* number of free chunks (top included) */
  MALLINFO_FIELD_TYPE smblks;   /* blocks in the calling thread's cache (0 without one) */
  MALLINFO_FIELD_TYPE hblks;    /* always 0 */
  MALLINFO_FIELD_TYPE hblkhd;   /* bytes in directly mmapped chunks */
  MALLINFO_FIELD_TYPE usmblks;  /* maximum footprint ever reached */
  MALLINFO_FIELD_TYPE fsmblks;  /* bytes in the calling thread's cache (0 without one) */
  MALLINFO_FIELD_TYPE uordblks; /* bytes in use, bookkeeping included (footprint - fordblks) */
  MALLINFO_FIELD_TYPE fordblks; /* bytes in free chunks */
  MALLINFO_FIELD_TYPE keepcost; /* bytes at the top, which malloc_trim can release where the
                                   system takes back part of a region (sbrk, or
                                   HAVE_PARTIAL_MUNMAP=1: not Win32 or most PORTABLE ports) */
};
#endif /* STRUCT_MALLINFO_DECLARED */
#endif /* NO_MALLINFO */

/* ==== 2. Names ==============================================================================
   The functions are declared with a "dl" prefix.  Unless USE_DL_PREFIX is defined, each dl
   name is mapped to the standard name, so the library replaces malloc, free and friends.    */

#ifndef USE_DL_PREFIX
#define dlcalloc calloc
#define dlfree free
#define dlfree_sized free_sized
#define dlfree_aligned_sized free_aligned_sized
#define dlaligned_alloc aligned_alloc
#define dlreallocarray reallocarray
#define dlmalloc malloc
#define dlmemalign memalign
#define dlposix_memalign posix_memalign
#define dlrealloc realloc
#define dlrealloc_in_place realloc_in_place
#define dlvalloc valloc
#define dlpvalloc pvalloc
#define dlmallinfo mallinfo
#define dlmallopt mallopt
#define dlmalloc_trim malloc_trim
#define dlmalloc_stats malloc_stats
#define dlmalloc_usable_size malloc_usable_size
#define dlmalloc_footprint malloc_footprint
#define dlmalloc_max_footprint malloc_max_footprint
#define dlmalloc_footprint_limit malloc_footprint_limit
#define dlmalloc_set_footprint_limit malloc_set_footprint_limit
#define dlmalloc_inspect_all malloc_inspect_all
#define dlindependent_calloc independent_calloc
#define dlindependent_comalloc independent_comalloc
#define dlbulk_free bulk_free
#define dlmalloc_teardown malloc_teardown
#define dlmalloc_thread_exit malloc_thread_exit
#define dlmalloc_arenas malloc_arenas
#define dlmalloc_prefork malloc_prefork
#define dlmalloc_postfork_parent malloc_postfork_parent
#define dlmalloc_postfork_child malloc_postfork_child
#endif /* USE_DL_PREFIX */

/* DLMALLOC_NOTHROW: the exception specification of the standard API in C++.  Without the
   prefix, these functions are the C library's malloc, free... and C++ requires every
   declaration of a function to carry the same exception specification, so ours must match
   the C library's: glibc's headers mark them __THROW (noexcept, or throw() before C++11),
   other C libraries mark them with nothing.  <sys/cdefs.h> is where glibc defines __THROW. */
#ifndef DLMALLOC_NOTHROW
#if defined(__cplusplus) && !defined(USE_DL_PREFIX)
#if !defined(__THROW) && defined(__has_include)
#if __has_include(<sys/cdefs.h>)
#include <sys/cdefs.h>
#endif
#endif
#endif
#if defined(__cplusplus) && !defined(USE_DL_PREFIX) && defined(__THROW) && defined(__GLIBC__)
#define DLMALLOC_NOTHROW __THROW
#else
#define DLMALLOC_NOTHROW
#endif
#endif /* DLMALLOC_NOTHROW */

/* The usable-size functions read a block's header, never the bytes the caller may use.  GCC 11
   and later take a const pointer argument for a read of the object, and warn "may be used
   uninitialized" when it comes fresh from malloc (whose result GCC knows is uninitialized);
   this attribute tells GCC that the object is not read. */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 11
#define DLMALLOC_READS_HEADER_ONLY __attribute__((access(none, 1)))
#else
#define DLMALLOC_READS_HEADER_ONLY
#endif

#if !ONLY_MSPACES

/* ==== 3. Standard API =======================================================================
   Failure: every allocating call returns NULL (and sets errno to ENOMEM in the hosted build,
   the drop-in, wasm32-wasi and libdlmalloc.a with the posix or win32 port; any other PORTABLE
   build leaves errno alone unless built with PORTABLE_ERRNO=1, section 6) when the request
   cannot be met, including sizes so close to SIZE_MAX that padding them would wrap.  A NULL
   argument to free() is ignored.  Passing a pointer this allocator did not hand out, or one
   already freed, is detected where cheaply possible and reported through USAGE_ERROR_ACTION
   (by default: custom_abort()/abort() with malloc_abort_reason() set).                       */

/* malloc(n): a block of at least n bytes aligned to MALLOC_ALIGNMENT; malloc(0) returns a
   unique minimum-size block. */
DLMALLOC_EXPORT void *dlmalloc(size_t n) DLMALLOC_NOTHROW;

/* free(p): release a block from malloc/calloc/realloc/memalign...; free(NULL) does nothing.
   free_sized(p, n) and free_aligned_sized(p, alignment, n) (C23) are free(p): every block
   records its own size, so the size and alignment the caller passes are not needed. */
DLMALLOC_EXPORT void dlfree(void *p) DLMALLOC_NOTHROW;
DLMALLOC_EXPORT void dlfree_sized(void *p, size_t n) DLMALLOC_NOTHROW;
DLMALLOC_EXPORT void dlfree_aligned_sized(void *p, size_t alignment,
                                          size_t n) DLMALLOC_NOTHROW;

/* calloc(n, size): n*size zeroed bytes; NULL if n*size overflows. */
DLMALLOC_EXPORT void *dlcalloc(size_t n, size_t size) DLMALLOC_NOTHROW;

/* realloc(p, n): resize p keeping its contents up to min(old, n) bytes; realloc(NULL, n) is
   malloc(n); realloc(p, 0) frees p and returns NULL when REALLOC_ZERO_BYTES_FREES (default 1),
   otherwise returns a minimum-size block.  On failure p is left untouched and NULL returned. */
DLMALLOC_EXPORT void *dlrealloc(void *p, size_t n) DLMALLOC_NOTHROW;

/* reallocarray(p, count, size): realloc(p, count * size), except that a product that
   overflows fails (NULL, ENOMEM where errno is set, above) and leaves p untouched. */
DLMALLOC_EXPORT void *dlreallocarray(void *p, size_t count, size_t size) DLMALLOC_NOTHROW;

/* realloc_in_place(p, n): resize p without moving it; returns p on success, NULL (p untouched)
   when that is impossible. */
DLMALLOC_EXPORT void *dlrealloc_in_place(void *p, size_t n) DLMALLOC_NOTHROW;

/* memalign(alignment, n): a block whose address is a multiple of alignment.  An alignment that
   is not a power of two is rounded up to one; alignments below MALLOC_ALIGNMENT give malloc(n).
   A block past the mmap threshold gets a region of its own, up to alignment bytes larger than
   n: where the system cannot take back part of a region (Win32, most PORTABLE ports) the
   front cut off for the alignment stays mapped with it. */
DLMALLOC_EXPORT void *dlmemalign(size_t alignment, size_t n) DLMALLOC_NOTHROW;

/* posix_memalign(&p, alignment, n): 0 on success; EINVAL when alignment is not a power of two
   multiple of sizeof(void*) (*pp untouched); ENOMEM when out of memory. */
DLMALLOC_EXPORT int dlposix_memalign(void **pp, size_t alignment, size_t n) DLMALLOC_NOTHROW;

/* aligned_alloc(alignment, n) (C11, with C17's correction): alignment must be a power of two
   (1, 2 and 4 included); any other value fails with NULL (EINVAL where errno is set, above).
   n need not be a multiple of alignment. */
DLMALLOC_EXPORT void *dlaligned_alloc(size_t alignment, size_t n) DLMALLOC_NOTHROW;

/* valloc(n): memalign(page size, n).  pvalloc(n): the same with n rounded up to whole pages. */
DLMALLOC_EXPORT void *dlvalloc(size_t n) DLMALLOC_NOTHROW;
DLMALLOC_EXPORT void *dlpvalloc(size_t n) DLMALLOC_NOTHROW;

/* mallopt(param, value): set M_TRIM_THRESHOLD, M_GRANULARITY (a power of two, at least the page
   size), M_MMAP_THRESHOLD or M_ARENA_MAX (the most heaps threads are spread over, 1 up to
   malloc.c's MALLOC_ARENAS_MAX; arenas already made stay; a build without the thread cache has
   one heap, and takes only 1); returns 1 on success and 0 for an unknown parameter or bad
   value. */
DLMALLOC_EXPORT int dlmallopt(int param, int value) DLMALLOC_NOTHROW;

/* malloc_footprint(): bytes currently obtained from the system (segments + mmapped chunks).
   malloc_max_footprint(): the largest value footprint has had. */
DLMALLOC_EXPORT size_t dlmalloc_footprint(void) DLMALLOC_NOTHROW;
DLMALLOC_EXPORT size_t dlmalloc_max_footprint(void) DLMALLOC_NOTHROW;

/* malloc_footprint_limit(): the current limit, (size_t)-1 when there is none.
   malloc_set_footprint_limit(bytes): requests that would take the footprint beyond bytes
   (rounded up to the granularity) fail; 0 means "no limit" as does (size_t)-1.  Returns the
   limit now in force. */
DLMALLOC_EXPORT size_t dlmalloc_footprint_limit(void) DLMALLOC_NOTHROW;
DLMALLOC_EXPORT size_t dlmalloc_set_footprint_limit(size_t bytes) DLMALLOC_NOTHROW;

#if MALLOC_INSPECT_ALL
/* malloc_inspect_all(handler, arg): call handler(start, end, used_bytes, arg) for every chunk
   of the heap.  For a block in use, [start, end) is its usable memory and used_bytes equals
   end - start (the allocator's own bookkeeping chunks show up as blocks in use too).  For free
   memory used_bytes is 0 and [start, end) excludes the free-list links, so the handler may
   overwrite it (e.g. to release or poison it).  The heap lock is held during the walk, so the
   handler must not call the allocator. */
DLMALLOC_EXPORT void dlmalloc_inspect_all(void (*handler)(void *start, void *end,
                                                          size_t used_bytes, void *arg),
                                          void *arg) DLMALLOC_NOTHROW;
#endif /* MALLOC_INSPECT_ALL */

#if !NO_MALLINFO
/* mallinfo(): statistics of the global heap (see struct mallinfo above). */
DLMALLOC_EXPORT struct mallinfo dlmallinfo(void) DLMALLOC_NOTHROW;
#endif /* NO_MALLINFO */

/* independent_calloc(n, size, chunks): n zeroed blocks of size bytes each, allocated together.
   With chunks == NULL the pointer array itself is allocated (free it too); returns the array or
   NULL.  independent_comalloc(n, sizes, chunks): the same with a size for each block, not
   zeroed. */
DLMALLOC_EXPORT void **dlindependent_calloc(size_t n, size_t size,
                                            void **chunks) DLMALLOC_NOTHROW;
DLMALLOC_EXPORT void **dlindependent_comalloc(size_t n, size_t *sizes,
                                              void **chunks) DLMALLOC_NOTHROW;

/* bulk_free(array, n): free every non-NULL pointer of array and set it to NULL; returns the
   number of pointers that could not be freed here (always 0 unless FOOTERS finds pointers that
   belong to another mspace). */
DLMALLOC_EXPORT size_t dlbulk_free(void **array, size_t n) DLMALLOC_NOTHROW;

/* malloc_trim(pad): give memory above pad bytes of free top space, and every wholly free
   segment, back to the system; returns 1 if that released anything (the footprint fell).  In
   hosted builds it also gives back the pages inside larger free chunks below blocks in use,
   keeping their addresses (madvise MADV_DONTNEED, or MEM_RESET on Windows): resident memory
   falls, the footprint does not, and the result does not count them.  A PORTABLE port has
   no hook for that. */
DLMALLOC_EXPORT int dlmalloc_trim(size_t pad) DLMALLOC_NOTHROW;

/* malloc_stats(): print footprint, maximum footprint and bytes in use to stderr (in PORTABLE
   builds: to MALLOC_STATS_WRITE when the port defines it; see malloc.c). */
DLMALLOC_EXPORT void dlmalloc_stats(void) DLMALLOC_NOTHROW;

/* malloc_usable_size(p): the bytes usable in block p (at least what was requested); 0 for NULL
   and for a pointer that is not a block in use (freed, or in no heap's memory: not read). */
DLMALLOC_EXPORT size_t dlmalloc_usable_size(const void *p)
    DLMALLOC_NOTHROW DLMALLOC_READS_HEADER_ONLY;

/* ==== 4. Extensions =========================================================================
   malloc_teardown(): give every page of the global heap back to the system (through
   custom_munmap in PORTABLE builds), whether or not blocks are still in use, and return the
   heap to its initial state.  Every pointer obtained before is invalid afterwards.  Meant for
   a DLL, driver, plugin or UEFI application about to be unloaded.  Returns the bytes released.
   A region the system refuses to take back is forgotten (leaked), since the heap is reset
   regardless; memory obtained with MORECORE (sbrk) stays with the process.  mspaces are not
   affected (destroy each with destroy_mspace), except one made with create_mspace_with_base
   in a block of the global heap, whose state goes with that memory: it ends too, as
   destroy_mspace would end it.                                                              */
DLMALLOC_EXPORT size_t dlmalloc_teardown(void);

/* malloc_thread_exit(): the calling thread is ending.  With the per-thread cache
   (MALLOC_THREAD_CACHE in malloc.c) its cached blocks return to the heap and its later calls,
   if any, bypass the cache.  Hosted builds call it themselves when a thread ends; a PORTABLE
   port with the cache calls it from its thread-exit path.  Without the cache it does nothing,
   so a port may call it unconditionally. */
DLMALLOC_EXPORT void dlmalloc_thread_exit(void);

/* malloc_arenas(): how many heaps (arenas) the global functions have spread threads over so
   far, the global heap included: 1 until a second thread allocates while the first is bound,
   and never more than M_ARENA_MAX allowed when each was made.  Builds without arenas (no
   thread cache, no locks) always return 1. */
DLMALLOC_EXPORT size_t dlmalloc_arenas(void);

#endif /* !ONLY_MSPACES */

/* Fork support: malloc_prefork() takes every lock of the allocator (global heap, mspaces,
   internal locks); malloc_postfork_parent() releases them and malloc_postfork_child() resets
   them to unlocked.  Register them with pthread_atfork() so that the child of a
   multi-threaded process can allocate (the drop-in library does this itself).  The thread
   that called malloc_prefork calls the postfork handler.  Between the two it may allocate and
   free (other fork handlers run there: those registered before these), in builds with
   thread-local storage (MALLOC_THREAD_CACHE builds, and hosted POSIX ones), while
   every other thread waits; it may not create or destroy an mspace there, nor wait for a
   thread that allocates, frees or ends meanwhile.  A fork inside a fork handler nests: only
   the outermost pair takes and gives back the locks. */
DLMALLOC_EXPORT void dlmalloc_prefork(void);
DLMALLOC_EXPORT void dlmalloc_postfork_parent(void);
DLMALLOC_EXPORT void dlmalloc_postfork_child(void);

/* ==== 5. mspaces ============================================================================
   An mspace is an independent heap with its own lock and segments.  Blocks of one mspace must
   be freed to that mspace (with FOOTERS=1 free() finds the owner itself).                    */
#if MSPACES
typedef void *mspace;

/* create_mspace(capacity, locked): a new mspace whose first segment holds at least capacity
   bytes (0: the default granularity); locked != 0 gives it a lock that every call takes, so
   that any thread may use it.  locked == 0: one thread at a time; its lock is then taken only
   around mapping and unmapping memory, where other threads looking for a block's heap
   (malloc_usable_size, free with FOOTERS) read its lists of regions.  Such a lookup may pass
   through this mspace, but a question about one of its own blocks (mspace_usable_size, or
   malloc_usable_size of its block) belongs to its thread: the answer reads the neighbouring
   chunks' headers, which that thread is changing.  NULL on failure. */
DLMALLOC_EXPORT mspace create_mspace(size_t capacity, int locked);

/* create_mspace_with_base(base, capacity, locked): an mspace living inside the caller's buffer
   [base, base + capacity) (any alignment and length; it uses the aligned part).  Full, it
   grows by mapping more memory, as any mspace does, unless a footprint limit forbids it:
   mspace_set_footprint_limit(msp, capacity) makes a fixed pool, whose requests past it get
   NULL with ENOMEM.  What it mapped goes back once it holds nothing (at once if large, or at
   mspace_trim); the buffer itself is never released by the allocator.
   The buffer must stay writable, and belong to the mspace, until destroy_mspace: freeing it
   first (a block of another heap) or leaving the function whose stack holds it is a use of
   memory after it is gone.  NULL with errno EINVAL if base is NULL, if the buffer wraps past
   the end of the address space, if capacity is too small for the bookkeeping (about 1.1 KiB
   on 64-bit systems: the state, a top chunk and the segment's footer), or if the buffer
   overlaps a live mspace's own state (destroy it first).  create_mspace returns NULL with
   errno ENOMEM when the system gives no memory.  (errno as for malloc: set by hosted builds
   and by PORTABLE ones built with PORTABLE_ERRNO=1.)  The buffer may be a block of another
   heap; a block of this mspace then freed, reallocated or bulk-freed into that heap instead
   is reported ("block belongs to another mspace"), not filed there. */
DLMALLOC_EXPORT mspace create_mspace_with_base(void *base, size_t capacity, int locked);

/* destroy_mspace(msp): release every region the mspace obtained from the system; returns the
   bytes released.  An mspace made with create_mspace_with_base inside msp's memory (in a block
   of it, or in its buffer) is destroyed first, and its bytes are counted too: its state goes
   with that memory.  Later calls on msp are refused as a usage error; a call another thread is
   making on msp while it is destroyed is the program's race (as free() of a block another
   thread is still using), not one the allocator can catch. */
DLMALLOC_EXPORT size_t destroy_mspace(mspace msp);

/* mspace_track_large_chunks(msp, enable): when enabled, large requests are carved from the
   mspace's segments instead of being mapped one region each.  (destroy_mspace releases
   directly mapped chunks either way: every heap keeps a list of them.)  Returns the previous
   setting. */
DLMALLOC_EXPORT int mspace_track_large_chunks(mspace msp, int enable);

DLMALLOC_EXPORT void *mspace_malloc(mspace msp, size_t bytes);
DLMALLOC_EXPORT void mspace_free(mspace msp, void *mem);
DLMALLOC_EXPORT void *mspace_calloc(mspace msp, size_t n_elements, size_t elem_size);
DLMALLOC_EXPORT void *mspace_realloc(mspace msp, void *mem, size_t newsize);
DLMALLOC_EXPORT void *mspace_realloc_in_place(mspace msp, void *mem, size_t newsize);
DLMALLOC_EXPORT void *mspace_memalign(mspace msp, size_t alignment, size_t bytes);
DLMALLOC_EXPORT void **mspace_independent_calloc(mspace msp, size_t n_elements,
                                                 size_t elem_size, void *chunks[]);
DLMALLOC_EXPORT void **mspace_independent_comalloc(mspace msp, size_t n_elements,
                                                   size_t sizes[], void *chunks[]);
DLMALLOC_EXPORT size_t mspace_bulk_free(mspace msp, void **array, size_t nelem);
DLMALLOC_EXPORT size_t mspace_usable_size(const void *mem) DLMALLOC_READS_HEADER_ONLY;
DLMALLOC_EXPORT void mspace_malloc_stats(mspace msp);
DLMALLOC_EXPORT int mspace_trim(mspace msp, size_t pad);
DLMALLOC_EXPORT size_t mspace_footprint(mspace msp);
DLMALLOC_EXPORT size_t mspace_max_footprint(mspace msp);
DLMALLOC_EXPORT size_t mspace_footprint_limit(mspace msp);
DLMALLOC_EXPORT size_t mspace_set_footprint_limit(mspace msp, size_t bytes);
DLMALLOC_EXPORT int mspace_mallopt(int param, int value);
#if !NO_MALLINFO
DLMALLOC_EXPORT struct mallinfo mspace_mallinfo(mspace msp);
#endif /* NO_MALLINFO */
#if MALLOC_INSPECT_ALL
DLMALLOC_EXPORT void mspace_inspect_all(mspace msp,
                                        void (*handler)(void *start, void *end,
                                                        size_t used_bytes, void *arg),
                                        void *arg);
#endif /* MALLOC_INSPECT_ALL */
#endif /* MSPACES */

/* ==== 6. The port interface =================================================================
   The whole contract between the core and a port, stated once.

   A PORTABLE build of malloc.c (-DPORTABLE=1, with -DUSE_LOCKS=2 for locking) touches the
   platform only through the eight hooks below, which a port file (ports/<platform>.c, started
   from ports/template.c) defines, plus memcpy and memset.  samples/port_check.c checks a port
   against this contract.  Rules for every hook:

   - Never call malloc or any other function of this allocator, directly or through a library
     that might (printf often does): hooks run with a heap lock held, or while the allocator
     is reporting an error.
   - errno: a hook leaves errno as it found it, with one exception: a failing custom_mmap or
     custom_direct_mmap may leave the platform's reason in it.  The PORTABLE core itself never
     reads or writes errno unless built with PORTABLE_ERRNO=1 (for a C library that has
     errno: wasm32-wasi, and the posix and win32 ports in libdlmalloc.a), so this rule is what
     lets free() keep errno unchanged (POSIX) and lets a failed malloc() report the platform's
     ENOMEM.  (The hosted build keeps errno the same way around the system calls a free can
     make.)
   - Memory: sizes passed to custom_mmap and custom_direct_mmap are non-zero multiples of the
     page size the core was built for (DEFAULT_PAGE_SIZE; DEFAULT_GRANULARITY for segments).
     A returned region must be readable and writable, aligned to at least MALLOC_ALIGNMENT
     (page alignment is normal), must not overlap any region still held, must not start at
     address 0, and must end below the top of the address space (base + length must not wrap
     to 0); the core gives such a region back and fails the request.  It is assumed to be zero-filled only when malloc.c
     is built with MMAP_CLEARS=1 (PORTABLE default: 0).
     Failure is CUSTOM_MMAP_FAILURE, never NULL (NULL may be a valid address on bare metal).
   - custom_munmap is only ever asked to release exactly one region that one earlier
     custom_mmap or custom_direct_mmap call returned: the same pointer, the same length.
     Never length 0, never a part of a region, never a span across two regions (except in
     a build with HAVE_PARTIAL_MUNMAP=1, for a port that accepts those: wasm32).  Refusing
     (returning -1) is always correct: the core then keeps the region and uses it again (a
     segment for later requests, a large block's region for the next large block it holds),
     or, when a heap is being torn down, forgets it (it leaks).
   - Locks: each lock lives in a slot one pointer wide that the core owns.  A slot whose value
     is all zero (NULL) is a valid, unlocked lock: the global heap's lock is used before
     init_lock has run on it.  acquire_lock must exclude every other thread that may use the
     heap until release_lock.  The core never takes a lock it already holds, so locks need not
     be recursive.  A platform without threads builds the core with USE_LOCKS=0 instead: it
     then takes no lock, and the four lock hooks, never called, may be empty.  (Empty hooks
     with USE_LOCKS=2 are correct only where no second thread exists: port_check, run on a
     host with threads, reports that they do not exclude.)
   - custom_abort never returns.
   - Not a hook, but the platform's part with the per-thread cache (MALLOC_THREAD_CACHE=1): a
     thread that allocated calls malloc_thread_exit() when it ends (from the system's
     thread-exit callback, or as the thread's last call).  Until it does, its cached blocks
     stay counted in use and its arena stays bound to it.  Hosted builds do this themselves.

   The optional inline lock (PORT_LOCK_HEADER).  A port may also give its lock as a header,
   named to the core with -DPORT_LOCK_HEADER='"ports/<name>.h"' (quoted; the path is relative
   to malloc.c), so that an uncontended lock costs no call.  The header must define
       static inline void port_lock_init(void **lock);
       static inline void port_lock_final(void **lock);
       static inline void port_lock_acquire(void **lock);
       static inline void port_lock_release(void **lock);
   with the meaning of init_lock, final_lock, acquire_lock and release_lock on the same slot,
   and the port's four lock hooks must stay the same lock (the core may use either).  It is
   included into the PORTABLE core, so it may include only what the core may: <stddef.h>,
   <stdint.h> and headers of its own that obey the same rule; compiler builtins are fine.
   Anything that needs system headers (a futex call, a sleep) stays in the port file: the
   inline functions call the hooks for their slow paths (malloc.h, which declares them, is
   included before the header).  ports/posix_lock.h is the example. */

/* What custom_mmap and custom_direct_mmap return on failure: the all-ones address, as mmap's
   MAP_FAILED on every known system. */
#define CUSTOM_MMAP_FAILURE ((void *)~(size_t)0)

/* Return length bytes of fresh read/write memory for a heap segment, or CUSTOM_MMAP_FAILURE. */
void *custom_mmap(size_t length);

/* Release the region [ptr, ptr + length) that one custom_mmap/custom_direct_mmap call
   returned.  Return 0 on success, -1 on failure (the allocator then keeps the region). */
int custom_munmap(void *ptr, size_t length);

/* Return memory for one large chunk, allocated directly for a request at or above the mmap
   threshold (DEFAULT_MMAP_THRESHOLD) and given back whole by custom_munmap when freed.  Return
   CUSTOM_MMAP_FAILURE when that fails or when the platform prefers not to map large chunks
   separately; the allocator then serves the request from its segments. */
void *custom_direct_mmap(size_t length);

/* Prepare, destroy, take and give back the lock stored in *lock (see the rules above). */
void init_lock(void **lock);
void final_lock(void **lock);
void acquire_lock(void **lock);
void release_lock(void **lock);

/* Report malloc_abort_reason() in the platform's way and stop the program; never returns. */
void custom_abort(void);

/* Provided by the core, for ports and tests: one line describing the last error the allocator
   detected, such as "free(): invalid pointer 0x1000 [malloc.c:2190]"; "" if none.  It is
   recorded before custom_abort()/abort() is called (and also with PROCEED_ON_ERROR). */
const char *malloc_abort_reason(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* PORTABLE_DLMALLOC_H */
