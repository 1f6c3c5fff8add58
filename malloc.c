/*
  malloc.c -- portable-dlmalloc, a general-purpose memory allocator in the design of
  Doug Lea's dlmalloc 2.8.x, carried to any platform by eight hooks.

  Released under the MIT license; see license.txt.  Written from the published design; the
  code and comments are this project's own.

  Contents
     1. Overview, quick start and vital statistics
     2. Configuration options
     3. Includes and the platform layer (hooks, internal POSIX and Win32 layers)
     4. Locks
     5. Error reporting and assertions
     6. Chunk layout
     7. Bins and bitmaps
     8. Heap state, parameters and segments
     9. Run-time checks
    10. Debug checkers (DEBUG)
    11. Statistics and heap walking
    12. Bin operations
    13. Getting and releasing system memory
    14. malloc, free, realloc and memalign internals
    15. Bulk allocation (independent_calloc / comalloc / bulk_free)
    16. Threading layer: arenas and the per-thread cache (MALLOC_THREAD_CACHE)
    17. The global heap's public functions
    18. mspaces
    19. Fork support

  ==== 1. Overview, quick start and vital statistics =========================================

  Quick start
    Host (Linux, BSD, macOS, Windows): compile malloc.c on its own; it uses mmap/munmap (and
    sbrk where available) or VirtualAlloc/VirtualFree.  Add -DUSE_DL_PREFIX to get dlmalloc(),
    dlfree()... beside the C library's allocator instead of replacing it.
    Anything else: compile with -DPORTABLE=1 -DUSE_LOCKS=2 together with a port file from
    ports/ (or your own, starting from ports/template.c) that defines the eight hooks declared
    in malloc.h.  PORTABLE builds include only <stddef.h> and <stdint.h> (and <errno.h> with
    PORTABLE_ERRNO, the default under WASI) and call nothing but the hooks, memcpy and
    memset.

  The algorithm
    Memory is handed out in chunks carved from segments (large regions obtained from the
    system).  Each chunk starts with two size_t words: the size of the previous chunk (valid
    only while that one is free) and this chunk's size with two status bits (is this chunk in
    use, is the previous one in use).  These boundary tags let free() merge a chunk with free
    neighbours in constant time.
    - Free chunks under 256 bytes sit in 32 small bins of exact sizes (8 bytes apart); a bitmap
      says which bins are non-empty, so the smallest fitting bin is found with one bit scan.
    - Larger free chunks sit in 32 tree bins, each a bitwise trie keyed on size, so a best fit
      is found in time proportional to the number of bits in a size.
    - The designated victim ("dv") is the remainder of the last split of a small request; small
      requests that no exact bin serves are carved from it, which keeps consecutive small blocks
      together.
    - The top chunk is the free space at the end of the newest segment; it is split last and is
      the part given back to the system by trimming.
    - Requests at or above the mmap threshold are mapped directly, one region each, and
      unmapped when freed.
    - An mspace is an independent heap (its own bins, segments and lock) created on memory from
      the system or on a buffer the caller supplies.

  Vital statistics (S = sizeof(size_t), 4 or 8)
    Alignment:            MALLOC_ALIGNMENT, default 2*sizeof(void*) (8 or 16 bytes)
    Overhead per block:   S bytes (2*S with FOOTERS); directly mapped blocks 2*S plus a header
    Minimum block:        16 bytes on 32-bit, 32 bytes on 64-bit (4 words)
    Largest request:      about 2^32 - 128 (32-bit) or 2^64 - 256 (64-bit) bytes; beyond that
                          and on wrap-around every call fails cleanly
    Worst-case time:      malloc and free are O(1) for small sizes and O(bits in size_t) for
                          tree sizes, plus the cost of a system call when the heap must grow
                          or shrink.
    Thread safety:        with USE_LOCKS, one lock per heap (and one global lock for
                          initialisation and for the list of mspaces); with
                          MALLOC_THREAD_CACHE, the global functions spread threads over
                          several heaps (arenas), and small blocks also pass through a
                          per-thread cache that needs no lock.

  ==== 2. Configuration options ===============================================================
  Every option is a macro with a default; define it on the command line (or in a header given
  to the build) to change it.  Options marked (h) affect malloc.h and live there, so the
  library and its users always agree.

  PORTABLE                default: 0
    1: freestanding build.  No header beyond <stddef.h>/<stdint.h> (and <errno.h> with
    PORTABLE_ERRNO); the platform is reached
    only through the hooks of malloc.h section 6 (custom_mmap, custom_munmap,
    custom_direct_mmap, init_lock, final_lock, acquire_lock, release_lock, custom_abort) and
    memcpy/memset.  Implies HAVE_MORECORE 0, no errno (see PORTABLE_ERRNO),
    MALLOC_STATS_WRITE for output.
  PORTABLE_ERRNO          default: 0, 1 with PORTABLE under WASI
    1: a PORTABLE build includes <errno.h> and reports as a hosted one does: errno = ENOMEM
    when an allocation fails, and the C library's ENOMEM/EINVAL from posix_memalign.  For a
    port whose C library has errno, whose callers expect it of malloc (wasi-libc; the CMake
    build sets it for the posix and win32 ports).
  USE_LOCKS               default: 0
    0: no locking (single-threaded use).  1: internal locks (spin locks, or pthread/Win32
    locks with USE_SPIN_LOCKS 0); not available with PORTABLE.  2: the port's lock hooks.
  PORT_LOCK_HEADER        default: not defined
    With USE_LOCKS 2: a header (in quotes) with the port's lock as inline functions, used
    instead of the lock hooks so that an uncontended lock costs no call (section 4).
  USE_SPIN_LOCKS          default: 1
    With USE_LOCKS 1: 1 uses a small spin-then-yield lock, 0 uses pthread_mutex_t (POSIX) or
    SRWLOCK (Win32).
  SINGLE_THREAD_HINT      default: __libc_single_threaded with glibc 2.32 and later (not
                          PORTABLE), else 0
    An expression that is nonzero only while the calling thread is the process's only one,
    and that no other thread can turn to zero meanwhile (only the caller, by starting a
    thread).  While it is nonzero the core takes no lock and changes chunk heads with plain
    writes instead of atomic ones (sections 3, 4 and 9).  0: always lock.
  USE_DL_PREFIX           default: not defined (h)
    Defined: export dlmalloc, dlfree, ... instead of malloc, free, ...
  MSPACES                 default: 0, or 1 with ONLY_MSPACES (h)
    1: build the mspace_* API.
  ONLY_MSPACES            default: 0 (h)
    1: build only the mspace API; no global heap.
  FOOTERS                 default: 0
    1: every in-use chunk carries a footer tying it to its heap and to its size (the heap's
    address xor the chunk size xor a secret magic).  free() then finds the owning heap (an
    mspace or an arena) itself and detects blocks from another heap.  Costs S bytes per
    block.
  INSECURE                default: 0
    1: skip the run-time checks on addresses and boundary tags (faster, unsafe).
  SEGMENT_MAP             default: 1 (0 with INSECURE or ONLY_MSPACES, and on wasm)
    1: keep a bitmap of the 4 KiB granules that lie wholly inside the global heap's segments
    (section 8), so that free() and the thread cache tell a block of the heap from a forged
    one in a bounded number of steps, without the heap's lock, whichever segment holds it.
    Static storage: SEGMENT_MAP_WINDOWS leaves of 32 KiB (64-bit: 1 GiB windows) or 2 KiB
    (32-bit: 64 MiB windows); a hosted system hands out those pages, zeroed, on first use.
    0: the segment holding top is checked directly, the others by walking the segment list
    under the lock (the thread cache then leaves the blocks of older segments to the locked
    path).  On wasm the regions memory.grow returns are adjacent and join the segment holding
    top (HAVE_PARTIAL_MUNMAP), which is checked first: the map would only add code.
  SEGMENT_MAP_WINDOWS     default: 8 (64-bit), 4 (32-bit)
    With SEGMENT_MAP: how many windows of the address space the map covers; segments beyond
    them take the walk.
  DEBUG                   default: 0
    1: run the full invariant checkers (section 10) on every operation; slow.
  PROCEED_ON_ERROR        default: 0
    1: on detected corruption, forget the damaged heap and continue (memory is leaked) instead
    of calling CORRUPTION_ERROR_ACTION's default abort; usage errors are ignored.
  ABORT_ON_ASSERT_FAILURE default: 1
    With DEBUG: 0 reports a failed assertion (malloc_abort_reason) but continues.
  CORRUPTION_ERROR_ACTION(m, p)  default: record the reason and abort
  USAGE_ERROR_ACTION(m, p)       default: record the reason and abort
    Called with the heap and the offending address when corruption (a damaged boundary tag or
    bin link) or a usage error (free of a bad pointer, double free) is detected.  The reason is
    recorded for malloc_abort_reason() before either is invoked.  "Abort" is custom_abort() in
    PORTABLE builds and abort() otherwise.
  MALLOC_ALIGNMENT        default: 2 * sizeof(void *), 16 on WebAssembly (h)
    Alignment of every block; a power of two from 8 to 128 (the small bins need chunks below
    256 bytes; larger alignments are memalign's).
  MALLOC_FAILURE_ACTION   default: errno = ENOMEM (nothing in PORTABLE builds without
                          PORTABLE_ERRNO)
    Run when an allocation fails.
  HAVE_MORECORE           default: 1 on Unix, 0 with PORTABLE, on Windows and with ONLY_MSPACES
    1: grow the global heap with MORECORE (sbrk) while it stays contiguous.
  MORECORE                default: sbrk
  MORECORE_CONTIGUOUS     default: 1
    1: successive MORECORE calls return adjacent memory (checked, not trusted).
  MORECORE_CANNOT_TRIM    default: not defined
    Defined: never call MORECORE with a negative argument.
  HAVE_MMAP               default: 1
    1: obtain segments with mmap/VirtualAlloc/custom_mmap.  0: MORECORE or caller buffers only.
  HAVE_MREMAP             default: 1 on Linux (not PORTABLE, with HAVE_MMAP), else 0
    1: resize directly mapped blocks with mremap.
  HAVE_PARTIAL_MUNMAP     default: 1 for the internal POSIX layer and for PORTABLE on
                          WebAssembly, 0 for other PORTABLE builds and Win32
    1: the system may release part of a mapping or a span across adjacent mappings, so
    adjacent segments are merged and top is trimmed from the end of its segment.  0: every
    region is released whole, exactly as it was obtained (the hook contract); segments are
    never merged and only whole free segments are released.  1 with PORTABLE only for a port
    whose custom_munmap takes back any span of memory it handed out: ports/wasm32.c keeps
    such spans for its next maps, since a wasm memory never shrinks and its successive
    memory.grow regions are adjacent.  With 0 a heap of N units is N segments.
  MMAP_CLEARS             default: 1, 0 with PORTABLE
    1: memory from the system arrives zero-filled, so calloc may skip clearing fresh memory.
  DEFAULT_GRANULARITY     default: page size with contiguous MORECORE, else 64 KiB
    Unit in which segments are obtained (a power of two, at least the page size).  A heap
    without the segment map (an mspace) grows by at least a quarter of its footprint, so that
    the segments its checks walk stay few (unmerged_segment_size, section 13).
  DEFAULT_PAGE_SIZE       default: 4096, 65536 on WebAssembly (PORTABLE only; hosted builds ask
                          the system)
    The page size PORTABLE builds assume; custom_mmap lengths are multiples of it.  A wasm
    linear memory grows in 64 KiB pages, so that is the unit there.
  DEFAULT_TRIM_THRESHOLD  default: 2 MiB
    free() trims when top exceeds this.  MAX_SIZE_T disables trimming.
  DEFAULT_MMAP_THRESHOLD  default: 256 KiB (64 KiB on 32-bit)
    Requests this large are mapped directly.  MAX_SIZE_T disables it.
  MMAP_THRESHOLD_MAX      default: 0 (the thresholds stay where they are set)
    Non-zero: the thresholds adapt to the program, in the manner of glibc's.  Freeing a
    directly mapped chunk larger than the mmap threshold, but at most MMAP_THRESHOLD_MAX,
    raises the mmap threshold to that chunk's size and the trim threshold to twice it: a
    program that keeps allocating blocks of one large size then reuses heap memory instead
    of paying a map, an unmap and fresh page faults for every block.  And when the heap
    has to grow again after free() trimmed it, the trim threshold doubles, up to twice
    MMAP_THRESHOLD_MAX: a program whose live set swings by more than the threshold would
    otherwise give pages back and fault them in again on every swing.  Neither raises the
    peak footprint (memory kept is memory the program had just used).  Setting either
    threshold with mallopt fixes both again.  The drop-in library uses 32 MiB.
  MAX_RELEASE_CHECK_RATE  default: 4095
    After this many frees of large chunks, look for whole segments to release.
  NO_MALLOC_STATS         default: 0
    1: malloc_stats() prints nothing.
  MALLOC_STATS_WRITE(text, length)  default: fwrite to stderr; nothing with PORTABLE
    How malloc_stats() outputs its text; PORTABLE ports may define it to their console.
  NO_MALLINFO             default: 0 (h)
  MALLINFO_FIELD_TYPE     default: size_t (h)
  MALLOC_INSPECT_ALL      default: 1 (h)  (dlmalloc's default is 0; this project builds the
    heap walker by default so that every declared function links)
  MALLOC_THREAD_CACHE     default: 0
    1: give every thread a small cache of free blocks in front of the heaps' locks, and bind
    each thread to one of several heaps (arenas: MALLOC_ARENAS) with SEGMENT_MAP (section
    16).  malloc and free of blocks up to 16 KiB (MALLOC_THREAD_CACHE_MAX_SIZE, then size
    classes: MALLOC_THREAD_CACHE_CLASSES) then take no lock; the cache refills and empties
    in batches under one lock acquisition.  Needs thread-local storage from the compiler
    (MALLOC_THREAD_LOCAL).  mspaces never use it.
    The drop-in library turns it on; PORTABLE ports that do should call malloc_thread_exit()
    when a thread ends (MALLOC_THREAD_CACHE_EXIT).  A cached block is marked in its header,
    its link is mangled with a secret, and every block leaves a cache checked (section 9), so
    double frees (racing ones too) and damaged links end in an abort naming the thread cache.
    Needs atomic read-modify-write: GCC/Clang __atomic builtins or Win32 Interlocked calls.
  MALLOC_THREAD_CACHE_MAX_SIZE  default: 1040 (requests up to 1024 bytes), rounded up to a
    multiple of MALLOC_ALIGNMENT
    Largest chunk (request + overhead, rounded) the cache keeps a list of its own for; a
    multiple of MALLOC_ALIGNMENT.  One list per chunk size up to it, and size classes above
    it (MALLOC_THREAD_CACHE_CLASSES).
  MALLOC_THREAD_CACHE_CLASSES   default: 16 (a multiple of 4, at most 32)
    Lists for blocks larger than MALLOC_THREAD_CACHE_MAX_SIZE: size classes, four per power
    of two.  malloc rounds a request in their range up to its class (with the defaults:
    1280, 1536, 1792, 2048, 2560, ... 16384 bytes), so that blocks of spread-out sizes hit
    the cache, where one list per chunk size would rarely be asked for the same size twice;
    the rounding costs at most a fifth of the block.  0: no classes.
  MALLOC_THREAD_CACHE_COUNT     default: 512 (at most 65535)
    Most blocks a thread keeps of one size, so that a program that allocates a few hundred
    blocks of one size before freeing them stays within its cache (a batch of 400 overflowed
    128 and churned through the heap: bench/results/design-measurements.md).
  MALLOC_THREAD_CACHE_BATCH     default: 16 (at most half of MALLOC_THREAD_CACHE_COUNT)
    Most blocks a refill or a flush of one list moves under one lock acquisition, and the
    size of the batches threads pass to each other through the depot.
  MALLOC_THREAD_CACHE_BYTES     default: 256 KiB
    Most bytes (whole chunks) a thread's cache holds at first; a thread whose blocks keep
    making round trips through the heap (its working set is larger) may double it, once
    (section 16, thread_cache_adapt); resident memory grows by at most twice this much per
    thread that allocates.  Programs that keep a few hundred blocks of spread-out sizes in
    flight (the server-like bench workloads) churn a smaller cache through the heap: 64 KiB
    cost them 10 to 35 % more instructions and no less peak memory
    (bench/results/design-measurements.md).
  MALLOC_ARENAS_MAX             default: 64 (1 .. 255)
    With the thread cache (and locks and SEGMENT_MAP): the most heaps ("arenas") the global
    functions may spread threads over (section 16), the global heap included; static storage
    for that many heap states.  1: one heap, every thread shares it.
  MALLOC_ARENAS                 default: 0 (twice the processors online)
    How many arenas threads may be spread over, at most MALLOC_ARENAS_MAX; 0: twice the
    processors online (found at run time; 4 in PORTABLE builds); 1: one heap for every
    thread.  Also set at run time with mallopt(M_ARENA_MAX, n) before the second thread
    allocates.  A thread is bound to an arena at its first call: one no thread uses, else a
    new one while there are fewer than this, else the one with the fewest threads; the
    binding ends with the thread.
  MALLOC_THREAD_LOCAL           default: __thread (GNU C; initial-exec on ELF), __declspec(thread)
                                (MSVC), else _Thread_local
    The storage class of the per-thread cache.  A port whose compiler reaches thread-local
    storage otherwise (or not at all) defines it, or leaves MALLOC_THREAD_CACHE at 0.
  MALLOC_THREAD_CACHE_EXIT      default: 1 in hosted builds, 0 with PORTABLE
    1: the cache registers itself to be returned to the heap when its thread ends (a
    pthread key destructor on POSIX, a fiber-local-storage callback on Win32).  0: the port
    or the program calls malloc_thread_exit() at the end of every thread that allocated; a
    thread that ends without it leaves its cached blocks counted as in use (at most twice
    MALLOC_THREAD_CACHE_BYTES).  1 with PORTABLE is an error: no system keys to register with.
  REALLOC_ZERO_BYTES_FREES default: 1
    1: realloc(p, 0) frees p and returns NULL.
  USE_BUILTIN_FFS         default: 0
    1: use ffs() for bit scans where compiler builtins are missing.
  USE_DEV_RANDOM          default: 0
    1: seed the FOOTERS magic from /dev/urandom (hosted POSIX builds).  0: from the
    kernel's start-up random bytes on Linux (getauxval(AT_RANDOM)), else from the time,
    mixed with addresses that ASLR moves.
  LACKS_ERRNO_H, LACKS_TIME_H, LACKS_UNISTD_H, LACKS_SYS_MMAN_H  default: not defined
    Defined: the hosted build does without that header.

  Not supported (dlmalloc options left out): USE_RECURSIVE_LOCKS, MORECORE_CANNOT_TRIM's
  WinCE variants, the DL_* export overrides beyond DLMALLOC_EXPORT, and MSPACES on top of
  MORECORE.
*/

/* The options that change the public interface are defined (with their defaults) in malloc.h,
   which also declares every function this file defines; including it lets the compiler check
   that declarations and definitions agree. */
#if defined(__linux__) && !defined(_GNU_SOURCE) && !(defined(PORTABLE) && PORTABLE)
#define _GNU_SOURCE 1 /* mremap; must come before any system header */
#endif
#include "malloc.h"

#include <stddef.h>
#include <stdint.h> /* SIZE_MAX, tested by the option defaults below */

#ifndef PORTABLE
#define PORTABLE 0
#endif /* PORTABLE */

#if defined(_WIN32) && !PORTABLE
#define DL_WIN32 1
#else
#define DL_WIN32 0
#endif

#ifndef PORTABLE_ERRNO
#if PORTABLE && defined(__wasi__)
#define PORTABLE_ERRNO 1
#else
#define PORTABLE_ERRNO 0
#endif
#endif /* PORTABLE_ERRNO */

#ifndef USE_LOCKS
#define USE_LOCKS 0
#endif /* USE_LOCKS */

#ifndef USE_SPIN_LOCKS
#define USE_SPIN_LOCKS 1
#endif /* USE_SPIN_LOCKS */

#ifndef FOOTERS
#define FOOTERS 0
#endif /* FOOTERS */

#ifndef INSECURE
#define INSECURE 0
#endif /* INSECURE */

#ifndef DEBUG
#define DEBUG 0
#endif /* DEBUG */

#ifndef SEGMENT_MAP
#if INSECURE || (defined(ONLY_MSPACES) && ONLY_MSPACES) || defined(__wasm__)
#define SEGMENT_MAP 0
#else
#define SEGMENT_MAP 1
#endif
#endif /* SEGMENT_MAP */

#ifndef SEGMENT_MAP_WINDOWS
#if UINTPTR_MAX > 0xFFFFFFFFu
#define SEGMENT_MAP_WINDOWS 8
#else
#define SEGMENT_MAP_WINDOWS 4
#endif
#endif /* SEGMENT_MAP_WINDOWS */

#ifndef PROCEED_ON_ERROR
#define PROCEED_ON_ERROR 0
#endif /* PROCEED_ON_ERROR */

#ifndef ABORT_ON_ASSERT_FAILURE
#define ABORT_ON_ASSERT_FAILURE 1
#endif /* ABORT_ON_ASSERT_FAILURE */

#ifndef HAVE_MORECORE
#if PORTABLE || DL_WIN32 || ONLY_MSPACES
#define HAVE_MORECORE 0
#else
#define HAVE_MORECORE 1
#endif
#endif /* HAVE_MORECORE */

#ifndef MORECORE_CONTIGUOUS
#define MORECORE_CONTIGUOUS 1
#endif /* MORECORE_CONTIGUOUS */

#ifndef HAVE_MMAP
#define HAVE_MMAP 1
#endif /* HAVE_MMAP */

#ifndef HAVE_MREMAP
#if defined(__linux__) && !PORTABLE && HAVE_MMAP
#define HAVE_MREMAP 1
#else
#define HAVE_MREMAP 0
#endif
#endif /* HAVE_MREMAP */

#ifndef HAVE_PARTIAL_MUNMAP
#if (PORTABLE && !defined(__wasm__)) || DL_WIN32
#define HAVE_PARTIAL_MUNMAP 0
#else
#define HAVE_PARTIAL_MUNMAP 1
#endif
#endif /* HAVE_PARTIAL_MUNMAP */

#ifndef MMAP_CLEARS
#if PORTABLE
#define MMAP_CLEARS 0
#else
#define MMAP_CLEARS 1
#endif
#endif /* MMAP_CLEARS */

#ifndef DEFAULT_GRANULARITY
#if HAVE_MORECORE && MORECORE_CONTIGUOUS
#define DEFAULT_GRANULARITY ((size_t)0) /* 0 means "use the page size" */
#else
#define DEFAULT_GRANULARITY ((size_t)64U * (size_t)1024U)
#endif
#endif /* DEFAULT_GRANULARITY */

#ifndef DEFAULT_PAGE_SIZE
#if defined(__wasm__)
#define DEFAULT_PAGE_SIZE ((size_t)65536U) /* memory.grow's unit */
#else
#define DEFAULT_PAGE_SIZE ((size_t)4096U)
#endif
#endif /* DEFAULT_PAGE_SIZE */

#ifndef DEFAULT_TRIM_THRESHOLD
#define DEFAULT_TRIM_THRESHOLD ((size_t)2U * (size_t)1024U * (size_t)1024U)
#endif /* DEFAULT_TRIM_THRESHOLD */

#if !defined(SIZE_MAX)
#error "<stdint.h> must define SIZE_MAX"
#endif
#ifndef DEFAULT_MMAP_THRESHOLD
#if SIZE_MAX > 0xFFFFFFFFu
#define DEFAULT_MMAP_THRESHOLD ((size_t)256U * (size_t)1024U)
#else
#define DEFAULT_MMAP_THRESHOLD ((size_t)64U * (size_t)1024U)
#endif
#endif /* DEFAULT_MMAP_THRESHOLD */

#ifndef MMAP_THRESHOLD_MAX
#define MMAP_THRESHOLD_MAX 0
#endif /* MMAP_THRESHOLD_MAX */

#ifndef MAX_RELEASE_CHECK_RATE
#define MAX_RELEASE_CHECK_RATE 4095
#endif /* MAX_RELEASE_CHECK_RATE */

#ifndef NO_MALLOC_STATS
#define NO_MALLOC_STATS 0
#endif /* NO_MALLOC_STATS */

#ifndef REALLOC_ZERO_BYTES_FREES
#define REALLOC_ZERO_BYTES_FREES 1
#endif /* REALLOC_ZERO_BYTES_FREES */

#ifndef USE_BUILTIN_FFS
#define USE_BUILTIN_FFS 0
#endif /* USE_BUILTIN_FFS */

#ifndef USE_DEV_RANDOM
#define USE_DEV_RANDOM 0
#endif /* USE_DEV_RANDOM */

#ifndef MALLOC_THREAD_CACHE
#define MALLOC_THREAD_CACHE 0
#endif /* MALLOC_THREAD_CACHE */

#ifndef MALLOC_THREAD_CACHE_MAX_SIZE
/* A 1024-byte request, and a little more on 32-bit; a chunk size at any alignment. */
#define MALLOC_THREAD_CACHE_MAX_SIZE                                                      \
  ((1040 + MALLOC_ALIGNMENT - 1) / MALLOC_ALIGNMENT * MALLOC_ALIGNMENT)
#endif /* MALLOC_THREAD_CACHE_MAX_SIZE */

#ifndef MALLOC_THREAD_CACHE_CLASSES
#define MALLOC_THREAD_CACHE_CLASSES 16
#endif /* MALLOC_THREAD_CACHE_CLASSES */

#ifndef MALLOC_THREAD_CACHE_COUNT
#define MALLOC_THREAD_CACHE_COUNT 512
#endif /* MALLOC_THREAD_CACHE_COUNT */

#ifndef MALLOC_THREAD_CACHE_BATCH
#define MALLOC_THREAD_CACHE_BATCH \
  (MALLOC_THREAD_CACHE_COUNT / 2 < 16 ? MALLOC_THREAD_CACHE_COUNT / 2 : 16)
#endif /* MALLOC_THREAD_CACHE_BATCH */

#ifndef MALLOC_THREAD_CACHE_BYTES
#define MALLOC_THREAD_CACHE_BYTES ((size_t)256U * (size_t)1024U)
#endif /* MALLOC_THREAD_CACHE_BYTES */

#ifndef MALLOC_THREAD_CACHE_EXIT
#if PORTABLE
#define MALLOC_THREAD_CACHE_EXIT 0
#else
#define MALLOC_THREAD_CACHE_EXIT 1
#endif
#endif /* MALLOC_THREAD_CACHE_EXIT */
#if MALLOC_THREAD_CACHE_EXIT && PORTABLE
#error "MALLOC_THREAD_CACHE_EXIT needs the system's thread keys; a PORTABLE build has none: \
the platform calls malloc_thread_exit() when a thread ends (malloc.h section 6)"
#endif

#ifndef MALLOC_ARENAS_MAX
#define MALLOC_ARENAS_MAX 64
#endif /* MALLOC_ARENAS_MAX */

#ifndef MALLOC_ARENAS
#define MALLOC_ARENAS 0
#endif /* MALLOC_ARENAS */

/* Several heaps (arenas, section 16) need the thread cache (its thread-local state binds a
   thread to its arena), locks, and the segment map (which names the owner of a block). */
#if MALLOC_THREAD_CACHE && USE_LOCKS && SEGMENT_MAP && MALLOC_ARENAS_MAX > 1 &&           \
    !(defined(ONLY_MSPACES) && ONLY_MSPACES)
#define ARENAS 1
#define HEAP_SLOTS MALLOC_ARENAS_MAX
#else
#define ARENAS 0
#define HEAP_SLOTS 1
#endif

#ifndef MALLOC_THREAD_LOCAL
#if defined(_MSC_VER)
#define MALLOC_THREAD_LOCAL __declspec(thread)
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__ELF__)
/* initial-exec: the cache is reached from the thread pointer in one instruction, and a
   shared library's copy needs no allocation (which would recurse into malloc) on first use. */
#define MALLOC_THREAD_LOCAL __thread __attribute__((tls_model("initial-exec")))
#elif defined(__GNUC__) || defined(__clang__)
#define MALLOC_THREAD_LOCAL __thread
#else
#define MALLOC_THREAD_LOCAL _Thread_local
#endif
#endif /* MALLOC_THREAD_LOCAL */

/* ---- Combinations that cannot work ---- */
#if ONLY_MSPACES && !MSPACES
#error "ONLY_MSPACES needs MSPACES"
#endif
#if ONLY_MSPACES && SEGMENT_MAP
#error "SEGMENT_MAP maps the global heap: ONLY_MSPACES has none"
#endif
#if MALLOC_ARENAS_MAX < 1 || MALLOC_ARENAS_MAX > 255
#error "MALLOC_ARENAS_MAX must be 1 .. 255 (the segment map names an arena in one byte)"
#endif
#if USE_LOCKS < 0 || USE_LOCKS > 2
#error "USE_LOCKS must be 0, 1 or 2"
#endif
#if PORTABLE && USE_LOCKS == 1
#error "PORTABLE builds lock through the port's hooks: use USE_LOCKS=2 (or 0 without threads)"
#endif
#if PORTABLE && HAVE_MORECORE
#error "PORTABLE builds have no MORECORE: memory comes only from custom_mmap"
#endif
#if PORTABLE && HAVE_MREMAP
#error "PORTABLE builds cannot use mremap"
#endif
#if HAVE_MREMAP && !HAVE_MMAP
#error "HAVE_MREMAP resizes mapped blocks: it needs HAVE_MMAP"
#endif
#if DL_WIN32 && HAVE_PARTIAL_MUNMAP
#error "VirtualFree(MEM_RELEASE) releases whole regions only: HAVE_PARTIAL_MUNMAP must be 0"
#endif
#if HAVE_MORECORE && DL_WIN32
#error "Win32 has no MORECORE"
#endif
#if MALLOC_THREAD_CACHE && (MALLOC_THREAD_CACHE_COUNT < 2 || MALLOC_THREAD_CACHE_COUNT > 65535)
#error "MALLOC_THREAD_CACHE_COUNT must be 2 to 65535"
#endif
#if MALLOC_THREAD_CACHE && \
    (MALLOC_THREAD_CACHE_BATCH < 1 || MALLOC_THREAD_CACHE_BATCH > MALLOC_THREAD_CACHE_COUNT / 2)
#error "MALLOC_THREAD_CACHE_BATCH must be 1 to MALLOC_THREAD_CACHE_COUNT / 2"
#endif

/* ==== 3. Includes and the platform layer ====================================================
   The allocator needs five things from the platform: memory for segments, memory for large
   chunks, a way to give either back, a page size, and a way to stop.  Each build mode
   supplies them through the same static functions (os_map, os_direct_map, os_unmap,
   os_page_size, os_abort), so nothing below this section knows which mode it is in.       */

#if PORTABLE
/* Freestanding: the only library functions used; every C environment (and every compiler's
   own support code) provides them. */
#ifdef __cplusplus
extern "C" { /* the C library's functions, also when this file is compiled as C++ */
#endif
void *memcpy(void *dest, const void *src, size_t n);
void *memset(void *dest, int c, size_t n);
#ifdef __cplusplus
}
#endif
#if PORTABLE_ERRNO
#include <errno.h>
#endif
#else /* hosted */
#include <stdio.h>  /* malloc_stats */
#include <stdlib.h> /* abort */
#include <string.h> /* memcpy, memset */
#ifndef LACKS_ERRNO_H
#include <errno.h>
#endif
#ifndef LACKS_TIME_H
#include <time.h> /* seed of the magic */
#endif
#if DL_WIN32
#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#else
#ifndef LACKS_UNISTD_H
#include <unistd.h> /* sbrk, sysconf */
#endif
#ifndef LACKS_SYS_MMAN_H
#include <sys/mman.h>
#endif
#if USE_DEV_RANDOM
#include <fcntl.h>
#endif
#if defined(__linux__)
#include <sys/auxv.h> /* getauxval(AT_RANDOM), seed of the magic */
#if MALLOC_THREAD_CACHE
#include <sys/syscall.h> /* SYS_getrandom, the thread cache's link key */
#endif
#endif
#if HAVE_MREMAP && !defined(_GNU_SOURCE)
#error "HAVE_MREMAP needs _GNU_SOURCE, defined at the top of malloc.c"
#endif
#if USE_LOCKS == 1
#if USE_SPIN_LOCKS
#include <sched.h>
#else
#include <pthread.h>
#endif
#endif
#if MALLOC_THREAD_CACHE && MALLOC_THREAD_CACHE_EXIT
#include <pthread.h> /* a key whose destructor returns a thread's cache */
#endif
#endif /* DL_WIN32 */
#endif /* PORTABLE */

/* SINGLE_THREAD_HINT (section 2): glibc's __libc_single_threaded, which is true only while
   the process has one thread and is cleared by pthread_create in the creating thread before
   the new one exists.  So a thread that reads it true inside malloc is alone until it
   returns, and plain writes and no locks are safe for the whole operation (glibc's own
   malloc relies on the same rule).  glibc may set it again only in the caller's own calls
   (fork's child, joining its last thread), never while the caller is inside malloc, so a
   lock taken with the hint clear is released with it clear.  A thread made behind the C
   library's back (a raw clone) is not seen: such a program must define SINGLE_THREAD_HINT 0. */
#ifndef SINGLE_THREAD_HINT
#if !PORTABLE && defined(__GLIBC__) &&                                                    \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
#include <sys/single_threaded.h>
#define SINGLE_THREAD_HINT (__libc_single_threaded != 0)
#else
#define SINGLE_THREAD_HINT 0
#endif
#endif /* SINGLE_THREAD_HINT */

#define MAX_SIZE_T (~(size_t)0)
#define SIZE_T_SIZE (sizeof(size_t))
#define SIZE_T_BITSIZE (sizeof(size_t) << 3)
#define SIZE_T_ONE ((size_t)1)
#define TWO_SIZE_T_SIZES (SIZE_T_SIZE << 1)
#define FOUR_SIZE_T_SIZES (SIZE_T_SIZE << 2)
#define HALF_MAX_SIZE_T (MAX_SIZE_T / 2U)

/* What every "get memory" primitive returns on failure, as in mmap (malloc.h section 6). */
#define MFAIL CUSTOM_MMAP_FAILURE
#define CMFAIL ((char *)(MFAIL))

#if defined(__GNUC__) || defined(__clang__)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define NOINLINE __attribute__((noinline))
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define NORETURN __attribute__((noreturn))
#define MAYBE_UNUSED __attribute__((unused))
/* Ask for the cache line holding address a, to be written soon; no wait, and no fault
   whatever a is. */
#define PREFETCH_FOR_WRITE(a) __builtin_prefetch((const void *)(a), 1)
#elif defined(_MSC_VER)
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#define NOINLINE __declspec(noinline)
#define ALWAYS_INLINE __forceinline
#define NORETURN __declspec(noreturn)
#define MAYBE_UNUSED
#define PREFETCH_FOR_WRITE(a) ((void)(a))
#else
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#define NOINLINE
#define ALWAYS_INLINE inline
#define NORETURN
#define MAYBE_UNUSED
#define PREFETCH_FOR_WRITE(a) ((void)(a))
#endif

#if defined(ENOMEM) && (!PORTABLE || PORTABLE_ERRNO)
#define HAVE_ERRNO 1
#define SET_ERRNO(e) (errno = (e))
#define DL_ENOMEM ENOMEM
#define DL_EINVAL EINVAL
#else
#define HAVE_ERRNO 0
#define SET_ERRNO(e) ((void)0)
#define DL_ENOMEM 12 /* the usual values, returned by posix_memalign where errno.h is absent */
#define DL_EINVAL 22
#endif

#ifndef MALLOC_FAILURE_ACTION
#define MALLOC_FAILURE_ACTION SET_ERRNO(DL_ENOMEM)
#endif /* MALLOC_FAILURE_ACTION */

/* Run statement, leaving errno as it was. */
#if HAVE_ERRNO
#define KEEPING_ERRNO(statement)                                                             \
  do {                                                                                       \
    int saved_errno = errno;                                                                 \
    statement;                                                                               \
    errno = saved_errno;                                                                     \
  } while (0)
#else
#define KEEPING_ERRNO(statement) statement
#endif

#if PORTABLE
/* A region that reaches the top of the address space goes back to the port and counts as a
   failure: the core compares addresses with base + length, which would wrap to 0 there
   (malloc.h section 6; on wasm32 the top is the memory's 4 GiB end, where a full memory's
   last region ends).  So does one at address 0, which the core's records take for "none". */
static void *region_in_range(void *base, size_t length) {
  if (base != MFAIL && (base == 0 || (uintptr_t)base + length <= (uintptr_t)base)) {
    (void)custom_munmap(base, length);
    return MFAIL;
  }
  return base;
}
static void *os_map(size_t length) { return region_in_range(custom_mmap(length), length); }
static void *os_direct_map(size_t length) {
  return region_in_range(custom_direct_mmap(length), length);
}
static int os_unmap(void *base, size_t length) { return custom_munmap(base, length); }
/* (No hook takes pages back while keeping their addresses: os_discard below does nothing.) */
static size_t os_page_size(void) { return DEFAULT_PAGE_SIZE; }
/* No hook tells: MALLOC_ARENAS 0 in a PORTABLE build then means four arenas. */
#define os_processors() ((size_t)2)
static NORETURN void os_abort(void) {
  custom_abort();
  for (;;) { /* custom_abort must not return; if it does, stay here rather than run on */
  }
}

#elif DL_WIN32
/* Regions are reserved and committed in one call and released whole (MEM_RELEASE); the core
   never asks for less than a whole region (HAVE_PARTIAL_MUNMAP 0). */
static void *os_map(size_t length) {
  void *p = VirtualAlloc(0, length, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  return p != 0 ? p : MFAIL;
}
static void *os_direct_map(size_t length) {
  /* Large blocks go high in the address space, away from the segments. */
  void *p = VirtualAlloc(0, length, MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE);
  return p != 0 ? p : MFAIL;
}
static int os_unmap(void *base, size_t length) {
  (void)length;
  return VirtualFree(base, 0, MEM_RELEASE) ? 0 : -1;
}
/* The pages of [base, base + length) (whole pages of a region) may go back to the system,
   their addresses kept: 1 if the system took the advice.  (MEM_RESET: their contents are
   left to the system, which need not page them out before reusing them.) */
#define CAN_DISCARD_PAGES 1
static int os_discard(void *base, size_t length) {
  return VirtualAlloc(base, length, MEM_RESET, PAGE_READWRITE) != 0;
}
static size_t os_page_size(void) {
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return (size_t)info.dwPageSize;
}
static MAYBE_UNUSED size_t os_processors(void) {
  SYSTEM_INFO info;
  GetSystemInfo(&info);
  return (size_t)info.dwNumberOfProcessors;
}
static NORETURN void os_abort(void) { abort(); }

#else /* POSIX */
/* free() reaches os_unmap and os_morecore (when it trims), and POSIX.1-2024 says free leaves
   errno unchanged: both keep errno as it was (KEEPING_ERRNO).  Doing it here, on the rare
   calls that reach the system, keeps the cost off every free. */
#if HAVE_MMAP
#ifndef MAP_ANONYMOUS
#define MAP_ANONYMOUS MAP_ANON
#endif
static void *os_map(size_t length) {
  void *p = mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p != MAP_FAILED ? p : MFAIL;
}
static void *os_direct_map(size_t length) { return os_map(length); }
static int os_unmap(void *base, size_t length) {
  int result;
  KEEPING_ERRNO(result = munmap(base, length));
  return result;
}
#if HAVE_MREMAP
static void *os_remap(void *base, size_t old_length, size_t new_length, int may_move) {
  void *p = mremap(base, old_length, new_length, may_move ? MREMAP_MAYMOVE : 0);
  return p != MAP_FAILED ? p : MFAIL;
}
#endif /* HAVE_MREMAP */
#endif /* HAVE_MMAP */
/* The pages of [base, base + length) (whole pages of the heap's anonymous memory) go back to
   the system, their addresses kept: they read as zeros when next touched.  1 if done. */
#if defined(MADV_DONTNEED)
#define CAN_DISCARD_PAGES 1
static int os_discard(void *base, size_t length) {
  int result;
  KEEPING_ERRNO(result = madvise(base, length, MADV_DONTNEED));
  return result == 0;
}
#endif
#if HAVE_MORECORE
#ifndef MORECORE
#define MORECORE sbrk
#endif
static void *os_morecore(ptrdiff_t increment) { /* keeps errno, like os_unmap */
  void *p;
  KEEPING_ERRNO(p = MORECORE(increment));
  return p != (void *)-1 ? p : MFAIL;
}
#endif /* HAVE_MORECORE */
static size_t os_page_size(void) {
#if defined(_SC_PAGESIZE)
  long n = sysconf(_SC_PAGESIZE);
  return n > 0 ? (size_t)n : (size_t)4096U;
#else
  return (size_t)4096U;
#endif
}
static MAYBE_UNUSED size_t os_processors(void) {
#if defined(_SC_NPROCESSORS_ONLN)
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (size_t)n : 1;
#else
  return 1;
#endif
}
static NORETURN void os_abort(void) { abort(); }
#endif /* platform */

#ifndef CAN_DISCARD_PAGES
/* No way to give pages back and keep their addresses (PORTABLE: no hook for it): malloc_trim
   gives back only what it can unmap. */
#define CAN_DISCARD_PAGES 0
#define os_discard(base, length) ((void)(base), (void)(length), 0)
#endif

#if !HAVE_MMAP && !PORTABLE && !DL_WIN32
/* Without mmap every "map" fails; the heap then lives on MORECORE or caller buffers. */
static void *os_map_unavailable(size_t length) { (void)length; return MFAIL; }
#define os_map(n) os_map_unavailable(n)
#define os_direct_map(n) os_map_unavailable(n)
static int os_unmap(void *base, size_t length) { (void)base; (void)length; return -1; }
#endif

#ifndef MALLOC_STATS_WRITE
#if PORTABLE
#define MALLOC_STATS_WRITE(text, length) ((void)(text), (void)(length))
#else
#define MALLOC_STATS_WRITE(text, length) ((void)fwrite((text), 1, (length), stderr))
#endif
#endif /* MALLOC_STATS_WRITE */

/* ==== 4. Locks ==============================================================================
   Each heap has one lock, held for the whole of every operation on it (an mspace created
   without a lock takes it only where its lists of regions change: lists_change_begin).
   Three more locks are process wide: global_lock guards the one-time initialisation of the
   parameters, every MORECORE call and the binding of threads to arenas; mspace_list_lock
   guards the list of live mspaces; the depot's lock guards the thread caches' depot
   (section 16).  Locks are
   never taken recursively, and always in this order (any of them may be skipped):
       mspace_list_lock  ->  heap locks (the global heap's first)  ->  global_lock
                                                                  ->  the depot's lock
   and no thread holds two arenas' locks at once (section 16),
   so sys_alloc may call MORECORE with its heap locked, and malloc_prefork can take them all.
   (lock_destroy is needed only by destroy_mspace.)                                          */

#if USE_LOCKS == 2
/* The port's lock: one pointer-sized slot, all-zero = unlocked (malloc.h, section 6). */
typedef void *mlock_t;
#define MLOCK_INITIALIZER 0
#ifdef PORT_LOCK_HEADER
/* The port's lock operations compiled in (the header's contract: malloc.h section 6): an
   uncontended lock then costs its atomic instructions and no call. */
#include PORT_LOCK_HEADER
static inline void lock_init(mlock_t *l) { port_lock_init(l); }
MAYBE_UNUSED static inline void lock_destroy(mlock_t *l) { port_lock_final(l); }
static inline void lock_take(mlock_t *l) { port_lock_acquire(l); }
static inline void lock_give(mlock_t *l) { port_lock_release(l); }
#else
static inline void lock_init(mlock_t *l) { init_lock(l); }
MAYBE_UNUSED static inline void lock_destroy(mlock_t *l) { final_lock(l); }
static inline void lock_take(mlock_t *l) { acquire_lock(l); }
static inline void lock_give(mlock_t *l) { release_lock(l); }
#endif /* PORT_LOCK_HEADER */

#elif USE_LOCKS == 1 && USE_SPIN_LOCKS
/* A test-and-set lock that yields the processor while it waits. */
typedef volatile long mlock_t;
#define MLOCK_INITIALIZER 0
#if DL_WIN32
static inline void lock_init(mlock_t *l) { *l = 0; }
MAYBE_UNUSED static inline void lock_destroy(mlock_t *l) { (void)l; }
static inline void lock_take(mlock_t *l) {
  unsigned spins = 0;
  while (InterlockedExchange(l, 1) != 0) {
    if ((++spins & 63U) == 0)
      SwitchToThread();
    else
      YieldProcessor();
  }
}
static inline void lock_give(mlock_t *l) { InterlockedExchange(l, 0); }
#else
static inline void lock_init(mlock_t *l) { *l = 0; }
MAYBE_UNUSED static inline void lock_destroy(mlock_t *l) { (void)l; }
static inline void lock_take(mlock_t *l) {
  unsigned spins = 0;
  while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) != 0) {
    while (__atomic_load_n(l, __ATOMIC_RELAXED) != 0) {
      if ((++spins & 63U) == 0)
        sched_yield();
    }
  }
}
static inline void lock_give(mlock_t *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }
#endif

#elif USE_LOCKS == 1
#if DL_WIN32
typedef SRWLOCK mlock_t;
#define MLOCK_INITIALIZER SRWLOCK_INIT
static inline void lock_init(mlock_t *l) { InitializeSRWLock(l); }
MAYBE_UNUSED static inline void lock_destroy(mlock_t *l) { (void)l; }
static inline void lock_take(mlock_t *l) { AcquireSRWLockExclusive(l); }
static inline void lock_give(mlock_t *l) { ReleaseSRWLockExclusive(l); }
#else
typedef pthread_mutex_t mlock_t;
#define MLOCK_INITIALIZER PTHREAD_MUTEX_INITIALIZER
static inline void lock_init(mlock_t *l) { pthread_mutex_init(l, 0); }
MAYBE_UNUSED static inline void lock_destroy(mlock_t *l) { pthread_mutex_destroy(l); }
static inline void lock_take(mlock_t *l) { pthread_mutex_lock(l); }
static inline void lock_give(mlock_t *l) { pthread_mutex_unlock(l); }
#endif

#else /* USE_LOCKS == 0 */
typedef int mlock_t;
#define MLOCK_INITIALIZER 0
static inline void lock_init(mlock_t *l) { (void)l; }
MAYBE_UNUSED static inline void lock_destroy(mlock_t *l) { (void)l; }
static inline void lock_take(mlock_t *l) { (void)l; }
static inline void lock_give(mlock_t *l) { (void)l; }
#endif /* USE_LOCKS */

/* The thread between malloc_prefork and the postfork handlers (section 19) holds every lock.
   Other libraries' fork handlers run in that span in the same thread when they were
   registered before malloc's own (a library loaded before the drop-in, whose constructor ran
   first), and one that allocates would wait for ever on a lock its own thread holds: so that
   thread's calls pass the locks, which keep every other thread out.  fork_locked: this thread's
   malloc_prefork took the locks (not when SINGLE_THREAD_HINT let it skip them: a thread a
   handler starts then takes them as usual, and so must this one).  fork_depth: its prefork
   calls not yet matched by a postfork (a fork inside a fork handler nests them; only the
   outermost pair takes and gives back).  In the builds with thread-local storage to spare: the
   ones with the thread cache, and the hosted POSIX ones (not Win32, which has no fork, and
   whose MinGW thread-locals are emulated with malloc); elsewhere nothing passes or nests. */
#if USE_LOCKS && (MALLOC_THREAD_CACHE || (!PORTABLE && !DL_WIN32))
static MALLOC_THREAD_LOCAL unsigned fork_depth;
static MALLOC_THREAD_LOCAL int fork_locked;
#define FORK_NESTS 1
#define HOLDS_FORK_LOCKS fork_locked
#else
static unsigned fork_depth; /* kept at 0 */
static int fork_locked;     /* one fork at a time: the locks serialise the handlers */
#define FORK_NESTS 0
#define HOLDS_FORK_LOCKS 0
#endif

/* Every lock the core takes goes through these.  While SINGLE_THREAD_HINT says the caller is
   the process's only thread nothing can contend, and the lock word is left alone: no thread
   can appear in the middle of the operation, since only the caller could start one (section
   3).  The word is never changed then, so it is free whenever the hint turns. */
static inline void lock_acquire(mlock_t *l) {
  if (!SINGLE_THREAD_HINT && !HOLDS_FORK_LOCKS)
    lock_take(l);
}
static inline void lock_release(mlock_t *l) {
  if (!SINGLE_THREAD_HINT && !HOLDS_FORK_LOCKS)
    lock_give(l);
}

static mlock_t global_lock = MLOCK_INITIALIZER;

/* ==== 5. Error reporting and assertions =====================================================
   When the allocator detects a problem it writes one line into error_text (no allocation, no
   stdio) and only then runs the configured action.  custom_abort() takes no arguments, so this
   is how a port learns why it was called: malloc_abort_reason().                             */

static char error_text[160];

/* A tiny formatter into error_text: the reason, an address, the source line. */
static size_t text_put(size_t at, const char *s) {
  while (*s != 0 && at + 1 < sizeof(error_text))
    error_text[at++] = *s++;
  error_text[at] = 0;
  return at;
}

static size_t text_put_number(size_t at, uintptr_t value, unsigned base) {
  char digits[2 * sizeof(uintptr_t) * 4 / 3 + 4];
  size_t n = 0;
  do {
    digits[n++] = "0123456789abcdef"[value % base];
    value /= base;
  } while (value != 0);
  while (n > 0 && at + 1 < sizeof(error_text))
    error_text[at++] = digits[--n];
  error_text[at] = 0;
  return at;
}

/* error_text = "op(): reason 0xaddress [malloc.c:line]" (op and address optional). */
static void record_error(const char *op, const char *reason, const void *address, int line) {
  size_t at = 0;
  if (op != 0) {
    at = text_put(at, op);
    at = text_put(at, "(): ");
  }
  at = text_put(at, reason);
  if (address != 0) {
    at = text_put(at, " 0x");
    at = text_put_number(at, (uintptr_t)address, 16);
  }
  at = text_put(at, " [malloc.c:");
  at = text_put_number(at, (uintptr_t)(unsigned)line, 10);
  text_put(at, "]");
}

const char *malloc_abort_reason(void) { return error_text; }

struct heap;
#if PROCEED_ON_ERROR
static void reset_on_error(struct heap *m);
#endif

#ifndef CORRUPTION_ERROR_ACTION
#if PROCEED_ON_ERROR
#define CORRUPTION_ERROR_ACTION(m, p) ((void)(p), reset_on_error(m))
#else
#define CORRUPTION_ERROR_ACTION(m, p) ((void)(m), (void)(p), os_abort())
#endif
#endif /* CORRUPTION_ERROR_ACTION */

#ifndef USAGE_ERROR_ACTION
#if PROCEED_ON_ERROR
#define USAGE_ERROR_ACTION(m, p) ((void)(m), (void)(p))
#else
#define USAGE_ERROR_ACTION(m, p) ((void)(m), (void)(p), os_abort())
#endif
#endif /* USAGE_ERROR_ACTION */

/* Out of line, so the checks on the fast paths stay a compare and a branch. */
static NOINLINE void report_corruption(struct heap *m, const void *p, const char *what,
                                       int line) {
  record_error(0, what, p, line);
  CORRUPTION_ERROR_ACTION(m, p);
}

static NOINLINE void report_usage_error(struct heap *m, const void *p, const char *op,
                                        const char *what, int line) {
  record_error(op, what, p, line);
  USAGE_ERROR_ACTION(m, p);
}

#define CORRUPTION(m, p, what) report_corruption((m), (p), "heap corruption: " what, __LINE__)
#define USAGE_ERROR(m, p, op, what) report_usage_error((m), (p), (op), (what), __LINE__)

#if DEBUG
static NOINLINE void assertion_failed(const char *expression, int line) {
  size_t at = text_put(0, "assertion failed: ");
  at = text_put(at, expression);
  at = text_put(at, " [malloc.c:");
  at = text_put_number(at, (uintptr_t)(unsigned)line, 10);
  text_put(at, "]");
  if (ABORT_ON_ASSERT_FAILURE)
    os_abort();
}
#define dl_assert(x) ((x) ? (void)0 : assertion_failed(#x, __LINE__))
#else
#define dl_assert(x) ((void)0)
#endif /* DEBUG */

/* ==== 6. Chunk layout =======================================================================

   An in-use chunk:                          A free chunk:

   chunk-> +-------------------------------+  chunk-> +-------------------------------+
           | size of previous chunk,       |          | size of previous chunk        |
           | if it is free                 |          | (it is in use: unused word)   |
           +---------------------------+-+-+          +---------------------------+-+-+
           | size of this chunk        |C|P|          | size of this chunk        |0|1|
     mem-> +---------------------------+-+-+    mem-> +---------------------------+-+-+
           | user data ...                 |          | fd: next in bin               |
           |                               |          | bk: previous in bin           |
           |                               |          | (tree bins: two children,     |
           |                               |          |  parent and bin index)        |
           |                               |          | ...unused...                  |
   next -> +-------------------------------+  next -> +-------------------------------+
           | (the last word of user data,  |          | size of this chunk (footer)   |
           |  or the FOOTERS heap tag)     |          +---------------------------+-+-+
           | size of next chunk        |C|1|          | size of next chunk        |1|0|
           +-------------------------------+          +-------------------------------+

   C (CINUSE) says this chunk is in use, P (PINUSE) that the previous one is.  A third bit,
   K (CACHED_BIT, to the left of C), is set while an in-use chunk waits in a thread cache
   (section 9); chunksize() masks all three.  The size of a
   free chunk is repeated in the first word of the next chunk, so free() can reach a free
   predecessor; an in-use chunk lends that word to its user (or, with FOOTERS, stores the
   owner's tag there).  Since no two free chunks are ever adjacent, a free chunk always has
   P set.
   Directly mapped chunks have neither bit set; their prev_foot holds the distance back to the
   start of their region.  The top chunk always has P set; the word after it is not a chunk.
   Fenceposts (size SIZE_T_SIZE, both bits set) close every segment.                           */

typedef unsigned int binmap_t; /* 32 bins per map */
typedef unsigned int flag_t;

struct chunk {
  size_t prev_foot;  /* size of the previous chunk if it is free */
  size_t head;       /* size of this chunk and its two in-use bits */
  struct chunk *fd;  /* links, used only while the chunk is free */
  struct chunk *bk;
};
typedef struct chunk chunk_t;

#define MALLOC_ALIGN_MASK (MALLOC_ALIGNMENT - SIZE_T_ONE)
#define CHUNK_ALIGN_MASK MALLOC_ALIGN_MASK

#if FOOTERS
#define CHUNK_OVERHEAD (TWO_SIZE_T_SIZES)
#else
#define CHUNK_OVERHEAD (SIZE_T_SIZE)
#endif

/* A directly mapped chunk needs its prev_foot and room for a fencepost after it. */
#define MMAP_CHUNK_OVERHEAD (TWO_SIZE_T_SIZES)
#define MMAP_FOOT_PAD (FOUR_SIZE_T_SIZES)

#define MIN_CHUNK_SIZE ((sizeof(chunk_t) + CHUNK_ALIGN_MASK) & ~CHUNK_ALIGN_MASK)
/* The least size top can have: a size is a whole number of word pairs or, with an 8-byte
   alignment on a 64-bit system, of MALLOC_ALIGNMENT. */
#define TOP_LEAST_SIZE (MALLOC_ALIGNMENT < TWO_SIZE_T_SIZES ? MALLOC_ALIGNMENT : TWO_SIZE_T_SIZES)

#define chunk2mem(p) ((void *)((char *)(p) + TWO_SIZE_T_SIZES))
#define mem2chunk(mem) ((chunk_t *)((char *)(mem) - TWO_SIZE_T_SIZES))

/* Bytes to add to address a to make it a multiple of MALLOC_ALIGNMENT. */
#define align_offset(a)                                                                    \
  ((((size_t)(a) & CHUNK_ALIGN_MASK) == 0)                                                 \
       ? 0                                                                                 \
       : ((MALLOC_ALIGNMENT - ((size_t)(a) & CHUNK_ALIGN_MASK)) & CHUNK_ALIGN_MASK))
/* The first chunk at or after address a whose user memory is aligned. */
#define align_as_chunk(a) ((chunk_t *)((char *)(a) + align_offset(chunk2mem(a))))

/* Largest request that cannot wrap when padded; smallest that needs more than a minimum
   chunk. */
#define MAX_REQUEST ((-MIN_CHUNK_SIZE) << 2)
#define MIN_REQUEST (MIN_CHUNK_SIZE - CHUNK_OVERHEAD - SIZE_T_ONE)

/* Chunk size for a request: overhead added, rounded up to the alignment. */
#define pad_request(req) (((req) + CHUNK_OVERHEAD + CHUNK_ALIGN_MASK) & ~CHUNK_ALIGN_MASK)
/* pad_request(MIN_REQUEST) is MIN_CHUNK_SIZE, so a request below MIN_REQUEST is raised to it
   first.  Without a branch: small programs ask for tiny and not-so-tiny sizes in random
   order, and a branch here mispredicts often (bench/results/design-measurements.md). */
static inline size_t request2size(size_t req) {
  size_t tiny = (size_t)0 - (size_t)(req < MIN_REQUEST); /* all ones below MIN_REQUEST */
  return pad_request(req ^ ((req ^ MIN_REQUEST) & tiny));
}

#define PINUSE_BIT (SIZE_T_ONE)
#define CINUSE_BIT (SIZE_T_ONE << 1)
#define CACHED_BIT (SIZE_T_ONE << 2) /* only with MALLOC_THREAD_CACHE (section 9) */
#define INUSE_BITS (PINUSE_BIT | CINUSE_BIT)
#define FLAG_BITS (PINUSE_BIT | CINUSE_BIT | CACHED_BIT)
#define FENCEPOST_HEAD (INUSE_BITS | SIZE_T_SIZE)
/* Is the chunk before next a segment's record (or a mapped chunk)?  The record (add_segment)
   is laid out as a chunk in use, and only it and a mapped chunk are followed by a fencepost,
   whose size no chunk has: every free that trusts the in-use bits asks, or a free of the
   record passes. */
#define follows_record(next) ((next)->head == FENCEPOST_HEAD)

#define cinuse(p) ((p)->head & CINUSE_BIT)
#define pinuse(p) ((p)->head & PINUSE_BIT)
#define is_inuse(p) (((p)->head & INUSE_BITS) != PINUSE_BIT)
#define is_mmapped(p) (((p)->head & INUSE_BITS) == 0)
#define chunksize(p) ((p)->head & ~(FLAG_BITS))
/* The P bit of a chunk that may be in use, so perhaps being moved into or out of a thread
   cache by its owner at this moment: changed with head_set_bits/head_clear_bits (section 9). */
#define set_pinuse(p) ((void)head_set_bits((p), PINUSE_BIT))
#define clear_pinuse(p) ((void)head_clear_bits((p), PINUSE_BIT))

/* In address arithmetic, so that a size read from a damaged header (which the checks then
   refuse) is not undefined behaviour on the way. */
#define chunk_plus_offset(p, s) ((chunk_t *)((uintptr_t)(p) + (size_t)(s)))
#define chunk_minus_offset(p, s) ((chunk_t *)((uintptr_t)(p) - (size_t)(s)))
#define next_chunk(p) chunk_plus_offset((p), chunksize(p))
#define next_pinuse(p) ((next_chunk(p)->head) & PINUSE_BIT)

/* The footer of a free chunk, and head+footer together. */
#define get_foot(p, s) (((chunk_t *)((char *)(p) + (s)))->prev_foot)
#define set_foot(p, s) (((chunk_t *)((char *)(p) + (s)))->prev_foot = (s))
#define set_size_and_pinuse_of_free_chunk(p, s) ((p)->head = ((s) | PINUSE_BIT), set_foot(p, s))
#define set_free_with_pinuse(p, s, n) (clear_pinuse(n), set_size_and_pinuse_of_free_chunk(p, s))

#define overhead_for(p) (is_mmapped(p) ? MMAP_CHUNK_OVERHEAD : CHUNK_OVERHEAD)

#if MMAP_CLEARS
#define calloc_must_clear(p) (!is_mmapped(p))
#else
#define calloc_must_clear(p) (1)
#endif

/* A free chunk of MIN_LARGE_SIZE bytes or more lives in a tree bin and has these extra
   fields.  Chunks of the same size hang in a ring (fd/bk) off one tree node; only that node
   has a parent (the others have parent == 0). */
struct tree_chunk {
  size_t prev_foot;
  size_t head;
  struct tree_chunk *fd;
  struct tree_chunk *bk;
  struct tree_chunk *child[2];
  struct tree_chunk *parent;
  binmap_t index;
};
typedef struct tree_chunk tchunk_t;

#define leftmost_child(t) ((t)->child[0] != 0 ? (t)->child[0] : (t)->child[1])

/* ==== 7. Bins and bitmaps ===================================================================
   Small bins: bin i holds free chunks of exactly i * 8 bytes (i < 32, so under 256 bytes).
   Each bin is a circular doubly linked list whose header is a pseudo-chunk: the array below
   is laid out so that the fd/bk fields of "chunk" smallbin_at(m, i) are entries 2i+2 and 2i+3
   (its prev_foot/head overlap the previous bin and are never touched).
   Tree bins: bin i holds sizes in [minsize_for_tree_index(i), minsize_for_tree_index(i+1)),
   two bins per power of two starting at 256; the last bin takes everything above.  Each is a
   trie that branches on successive bits of the size below the bin's leading bit.           */

#define NSMALLBINS (32U)
#define NTREEBINS (32U)
#define SMALLBIN_SHIFT (3U)
#define SMALLBIN_WIDTH (SIZE_T_ONE << SMALLBIN_SHIFT)
#define TREEBIN_SHIFT (8U)
#define MIN_LARGE_SIZE (SIZE_T_ONE << TREEBIN_SHIFT)
#define MAX_SMALL_SIZE (MIN_LARGE_SIZE - SIZE_T_ONE)
#define MAX_SMALL_REQUEST (MAX_SMALL_SIZE - CHUNK_ALIGN_MASK - CHUNK_OVERHEAD)

#define is_small(s) (((s) >> SMALLBIN_SHIFT) < NSMALLBINS)
#define small_index(s) ((binmap_t)((s) >> SMALLBIN_SHIFT))
#define small_index2size(i) ((size_t)(i) << SMALLBIN_SHIFT)
#define MIN_SMALL_INDEX (small_index(MIN_CHUNK_SIZE))

#define idx2bit(i) ((binmap_t)(1) << (i))
#define least_bit(x) ((x) & -(x))
/* Bits strictly above the lowest set bit of x, i.e. all bins after it. */
#define left_bits(x) ((x << 1) | -(x << 1))
#define same_or_left_bits(x) ((x) | -(x))

/* Index of the single set bit of x, and of the most significant bit of a size. */
static inline binmap_t bit_index(binmap_t x) {
#if defined(__GNUC__) || defined(__clang__)
  return (binmap_t)__builtin_ctz(x);
#elif defined(_MSC_VER)
  unsigned long i;
  _BitScanForward(&i, x);
  return (binmap_t)i;
#else
  binmap_t i = 0;
  while ((x & 1U) == 0) {
    x >>= 1;
    ++i;
  }
  return i;
#endif
}

/* x != 0 and below 2^32 (2^16 for the tree bins, 2^24 for the thread cache's classes), so an
   unsigned int scan suffices on every data model (long is 32 bits on Win64 and UEFI). */
static inline unsigned highest_bit(unsigned x) {
#if defined(__GNUC__) || defined(__clang__)
  return 31U - (unsigned)__builtin_clz(x);
#else
  unsigned k = 0;
  while ((x >>= 1) != 0)
    ++k;
  return k;
#endif
}

static inline binmap_t compute_tree_index(size_t s) {
  size_t x = s >> TREEBIN_SHIFT;
  unsigned k;
  if (x == 0)
    return 0;
  if (x > 0xFFFF)
    return NTREEBINS - 1;
  k = highest_bit((unsigned)x);
  /* Two bins per power of two: the bit just below the leading one picks the half. */
  return (binmap_t)((k << 1) + ((s >> (k + (TREEBIN_SHIFT - 1))) & 1));
}

/* Shift that brings the first size bit a trie of bin i branches on to the top of a word. */
#define leftshift_for_tree_index(i)                                                        \
  ((i == NTREEBINS - 1) ? 0 : ((SIZE_T_BITSIZE - SIZE_T_ONE) - (((i) >> 1) + TREEBIN_SHIFT - 2)))

#define minsize_for_tree_index(i)                                                          \
  ((SIZE_T_ONE << (((i) >> 1) + TREEBIN_SHIFT)) |                                          \
   (((size_t)((i) & SIZE_T_ONE)) << (((i) >> 1) + TREEBIN_SHIFT - 1)))

/* ==== 8. Heap state, parameters and segments ================================================ */

/* A segment: one region of memory the heap obtained from the system or a caller.  The list
   head lives in the heap state; every other record lives at the end of the segment it was
   current for, in a chunk that is marked in use. */
struct segment {
  char *base;
  size_t size;
  struct segment *next;
  flag_t flags;
};
typedef struct segment segment_t;

#define SEG_MMAPPED 1U /* obtained with os_map: may be released with os_unmap */
#define SEG_EXTERN 8U  /* supplied by the caller (create_mspace_with_base): never released */

#define is_mmapped_segment(s) ((s)->flags & SEG_MMAPPED)
#define is_extern_segment(s) ((s)->flags & SEG_EXTERN)

/* Every directly mapped chunk is preceded, within its region, by this record.  It links the
   region into its heap's ring, so destroy_mspace and malloc_teardown can release it, and it
   lets free() validate a directly mapped chunk before anything is unmapped: the chunk's
   prev_foot holds the (small, bounded) distance back to the record, and the record's check
   word must match.  memalign may move the chunk forward inside its region; the record then
   moves with it, which is why it keeps the region's base. */
struct direct_region {
  struct direct_region *next;
  struct direct_region *prev;
  char *base;    /* start of the region, as os_direct_map returned it */
  size_t length; /* its length */
  size_t check;  /* record address ^ base ^ length ^ magic; its complement once freed */
};
#define DIRECT_HEADER_SIZE                                                                 \
  ((sizeof(struct direct_region) + CHUNK_ALIGN_MASK) & ~CHUNK_ALIGN_MASK)

/* The chunk that follows a direct region's record. */
static inline chunk_t *direct_chunk(struct direct_region *r) {
  char *after = (char *)r + DIRECT_HEADER_SIZE;
  return (chunk_t *)(after + align_offset(chunk2mem(after)));
}

/* Heap flags. */
#define USE_LOCK_BIT 1U
#define USE_MMAP_BIT 2U          /* large chunks may be mapped directly */
#define USE_NONCONTIGUOUS_BIT 4U /* never use MORECORE */

struct heap {
  binmap_t smallmap;       /* which small bins are non-empty */
  binmap_t treemap;        /* which tree bins are non-empty */
  size_t dvsize;           /* size of the designated victim */
  size_t topsize;          /* size of top */
  char *least_addr;        /* lowest address ever obtained (run-time checks) */
  char *max_addr;          /* one past the highest address ever obtained */
  chunk_t *dv;             /* the designated victim */
  chunk_t *top;            /* the top chunk */
  size_t trim_check;       /* trim when top exceeds this */
  char *fresh_base;        /* the region sys_alloc added last, and how many regions it has */
  size_t fresh_size;       /* added: calloc leaves uncleared what a block holds of a region */
  size_t regions_added;    /* added while serving it (calloc_clear_length) */
  size_t trim_setting;     /* mparams.trim_setting when trim_check was taken from it */
  size_t release_checks;   /* countdown to the next search for free segments */
  int trimmed_since_growth; /* free() trimmed top; with MMAP_THRESHOLD_MAX, growing doubles
                               the trim threshold (sys_alloc) */
  size_t magic;            /* equal to mparams.magic in a valid heap */
  chunk_t *smallbins[(NSMALLBINS + 1) * 2];
  tchunk_t *treebins[NTREEBINS];
  size_t footprint;        /* bytes obtained from the system */
  size_t max_footprint;
  size_t footprint_limit;  /* 0: no limit */
  flag_t flags;
  mlock_t lock;
  segment_t seg;           /* head of the segment list: the segment holding top */
  struct direct_region direct; /* ring of directly mapped regions (sentinel) */
  struct heap *next_heap;  /* list of live mspaces (FOOTERS owner lookup) */
  char *given_base;        /* the buffer create_mspace_with_base was given (0: none) */
  size_t given_size;
};
typedef struct heap heap_t;

/* Process-wide parameters, set once by ensure_initialization(). */
struct params {
  size_t magic;
  size_t page_size;
  size_t granularity;
  size_t mmap_threshold;
  size_t trim_threshold;
  size_t trim_setting;  /* counts the mallopt calls that set trim_threshold (should_trim) */
  flag_t default_flags;
  int thresholds_adapt; /* MMAP_THRESHOLD_MAX set and no mallopt of either threshold */
  size_t arena_limit;   /* most arenas threads are spread over (MALLOC_ARENAS, M_ARENA_MAX);
                           0 until arena_limit() or mallopt sets it */
};
static struct params mparams;

/* The check word of a direct region record (see struct direct_region). */
static inline size_t direct_check(struct direct_region *r) {
  return (size_t)(uintptr_t)r ^ (size_t)(uintptr_t)r->base ^ r->length ^ mparams.magic;
}
/* The check word of a region whose block was freed but which the system refused to take back:
   free() refuses the record as it refuses any other, and mmap_alloc reuses only regions whose
   record carries it. */
static inline size_t kept_direct_check(struct direct_region *r) { return ~direct_check(r); }
#define direct_is_live(r) ((r)->check == direct_check(r))


#define ensure_initialization() (void)(mparams.magic != 0 || init_mparams())

#if !ONLY_MSPACES
/* The global heap, and with ARENAS the other arenas the global functions spread threads
   over (section 16): static, so that they never go away and are found without a lock. */
static heap_t heaps[HEAP_SLOTS];
/* Arenas made: heaps[0 .. arena_count - 1].  Only grows (teardown keeps them, empty), so it is
   read without a lock; a new arena is set up before the count that publishes it. */
static volatile size_t arena_count = 1;
#define gm (&heaps[0])
#define is_global(m) ((m) == gm)
/* Is m the global heap or another arena (not an mspace)?  Their segments are in the map. */
#define is_arena(m) ((uintptr_t)(m) - (uintptr_t)heaps < sizeof(heaps))
/* The segment map's name for arena m: its index + 1 (0: no heap's). */
#define arena_map_id(m) ((unsigned)((m) - heaps) + 1u)

/* Bytes every arena made has from the system, together.  Without a lock: each count may be
   changing under its arena's lock, so while other threads grow or trim theirs the sum is a
   close estimate. */
static size_t arenas_footprint(void) {
  size_t i, sum = 0, n = arena_count;
  for (i = 0; i < n; ++i)
    sum += *(volatile size_t *)&heaps[i].footprint;
  return sum;
}
/* Where realloc moves a block of heap m that must grow to `bytes` and cannot in place, when
   not within m: an arena other than the global heap maps no block of its own, and one that
   reaches the mmap threshold goes to the global heap, which maps it (heap_realloc). */
#define realloc_destination(m, bytes)                                                     \
  (is_arena(m) && (m) != gm && (bytes) >= mparams.mmap_threshold ? gm : (heap_t *)0)
#else
#define realloc_destination(m, bytes) ((void)(m), (void)(bytes), (heap_t *)0)
#endif /* !ONLY_MSPACES */

#if MSPACES
static heap_t *mspace_list; /* live mspaces, guarded by mspace_list_lock */
static mlock_t mspace_list_lock = MLOCK_INITIALIZER;
static size_t end_mspaces(heap_t *m, heap_t *container); /* section 18 */
/* Blocks of an mspace made in a buffer.  Such a buffer may be a block of another heap (an
   mspace made inside a block), whose segment then holds the mspace's chunks: well formed,
   in use, in that heap's memory, they pass its checks, and without FOOTERS (whose footer
   names the owner) a block freed to that heap instead of its own mspace would be filed there
   and handed out twice.  [given_lo, given_lo + given_span) spans every live mspace's buffer
   (written under mspace_list_lock, read without it): a block there is looked up among the
   mspaces before a heap takes it; a block outside costs a compare. */
static uintptr_t given_lo, given_span;
#define in_given_span(mem) ((uintptr_t)(mem) - given_lo < given_span)
#define any_given_buffer() (given_span != 0)
#if !FOOTERS
/* The live mspace made in a buffer that holds mem (the innermost where they nest), or 0. */
static heap_t *given_buffer_owner(void *mem) {
  heap_t *h, *found = 0;
  lock_acquire(&mspace_list_lock);
  for (h = mspace_list; h != 0; h = h->next_heap)
    if ((uintptr_t)mem - (uintptr_t)h->given_base < h->given_size &&
        (found == 0 || h->given_size < found->given_size))
      found = h;
  lock_release(&mspace_list_lock);
  return found;
}
#endif
/* An mspace's state fills the first chunk of its first segment, a chunk of this size. */
#define MSPACE_STATE_SIZE (pad_request(sizeof(heap_t)))
/* Is in-use chunk p, of MSPACE_STATE_SIZE bytes, a live mspace's state?  Its handle, passed
   as a block, would otherwise pass free()'s checks, for its own mspace or (an mspace made in
   a block of another heap) for that heap: the state handed out as a block, silently.  A live
   state carries the magic number, and its first small bin, which no chunk is small enough
   for, links to itself: a copy of the state elsewhere (a block like any other) does not. */
#define is_mspace_state(p)                                                                 \
  (((heap_t *)chunk2mem(p))->magic == mparams.magic &&                                     \
   smallbin_at((heap_t *)chunk2mem(p), 0)->fd == smallbin_at((heap_t *)chunk2mem(p), 0))
#define may_be_mspace_state(size) ((size) == MSPACE_STATE_SIZE)
#else
#define MSPACE_STATE_SIZE ((size_t)0) /* no chunk has this size */
#define is_mspace_state(p) ((void)(p), 0)
#define may_be_mspace_state(size) 0
#define in_given_span(mem) ((void)(mem), 0)
#define any_given_buffer() 0
#endif

#define is_initialized(m) ((m)->top != 0)
/* top's header repeats the size the heap keeps for it (m->topsize, which is what is read):
   a write past the block before top shows here. */
#define top_header_intact(m) ((m)->top->head == ((m)->topsize | PINUSE_BIT))

#define use_lock(m) ((m)->flags & USE_LOCK_BIT)
#define enable_lock(m) ((m)->flags |= USE_LOCK_BIT)
#define disable_lock(m) ((m)->flags &= ~USE_LOCK_BIT)
#define use_mmap(m) ((m)->flags & USE_MMAP_BIT)
#define enable_mmap(m) ((m)->flags |= USE_MMAP_BIT)
#define disable_mmap(m) ((m)->flags &= ~USE_MMAP_BIT)
#define use_noncontiguous(m) ((m)->flags & USE_NONCONTIGUOUS_BIT)
#define disable_contiguous(m) ((m)->flags |= USE_NONCONTIGUOUS_BIT)

#if USE_LOCKS
#define PREACTION(m) (use_lock(m) ? (lock_acquire(&(m)->lock), 0) : 0)
#define POSTACTION(m) ((void)(use_lock(m) ? (lock_release(&(m)->lock), 0) : 0))
#else
#define PREACTION(m) ((void)(m), 0)
#define POSTACTION(m) ((void)(m))
#endif

/* Looking for the heap of a block (usable_size; owner_of with FOOTERS), a thread reads other
   heaps' segment lists and rings of mapped regions, whose records lie in the memory they
   describe: it holds each heap's lock meanwhile (lookup_lock), also an mspace's created
   without one.  A heap with a lock holds it wherever those lists change; an mspace without
   one (its own thread's) takes it just there, around the calls that map or unmap memory
   (lists_change_begin/_end), so that its other calls still take no lock. */
#if USE_LOCKS
#define lookup_lock(m) lock_acquire(&(m)->lock)
#define lookup_unlock(m) lock_release(&(m)->lock)
#define lists_change_begin(m) ((void)(use_lock(m) || (lock_acquire(&(m)->lock), 0)))
#define lists_change_end(m) ((void)(use_lock(m) || (lock_release(&(m)->lock), 0)))
#else
#define lookup_lock(m) ((void)(m))
#define lookup_unlock(m) ((void)(m))
#define lists_change_begin(m) ((void)(m))
#define lists_change_end(m) ((void)(m))
#endif

#define page_align(s) (((s) + (mparams.page_size - SIZE_T_ONE)) & ~(mparams.page_size - SIZE_T_ONE))
#define granularity_align(s)                                                               \
  (((s) + (mparams.granularity - SIZE_T_ONE)) & ~(mparams.granularity - SIZE_T_ONE))
#define is_page_aligned(s) (((size_t)(s) & (mparams.page_size - SIZE_T_ONE)) == 0)
#define is_power_of_two(x) (((x) & ((x) - SIZE_T_ONE)) == 0)

#define smallbin_at(m, i) ((chunk_t *)((char *)&((m)->smallbins[(i) << 1])))
#define treebin_at(m, i) (&((m)->treebins[i]))

#define mark_smallmap(m, i) ((m)->smallmap |= idx2bit(i))
#define clear_smallmap(m, i) ((m)->smallmap &= ~idx2bit(i))
#define smallmap_is_marked(m, i) ((m)->smallmap & idx2bit(i))
#define mark_treemap(m, i) ((m)->treemap |= idx2bit(i))
#define clear_treemap(m, i) ((m)->treemap &= ~idx2bit(i))
#define treemap_is_marked(m, i) ((m)->treemap & idx2bit(i))

/* Space kept free at the end of top so that, when top moves to a new segment, the old one
   can be closed with a segment record and fenceposts. */
#define TOP_FOOT_SIZE                                                                      \
  (align_offset(TWO_SIZE_T_SIZES) + pad_request(sizeof(segment_t)) + MIN_CHUNK_SIZE)
/* Padding for a sys_alloc request: a chunk of nb must fit before TOP_FOOT_SIZE. */
#define SYS_ALLOC_PADDING (TOP_FOOT_SIZE + MALLOC_ALIGNMENT)

/* A threshold set by mallopt applies at once: each heap takes it at its next free (under its
   own lock), not only when its top is next set up (init_top).  Lowering it did nothing until
   the heap grew again (an outside review). */
#define should_trim(m, s) ((s) > (m)->trim_check || (m)->trim_setting != mparams.trim_setting)

#define segment_holds(s, a) ((char *)(a) >= (s)->base && (char *)(a) < (s)->base + (s)->size)

/* The segment holding address a, or 0. */
static segment_t *segment_holding(heap_t *m, char *a) {
  segment_t *sp = &m->seg;
  for (;;) {
    if (a >= sp->base && a < sp->base + sp->size)
      return sp;
    if ((sp = sp->next) == 0)
      return 0;
  }
}

/* The bytes from the chunk at a to the end of the span [base, base + length), or 0 if the
   span does not hold both of a's header words.  One subtraction, so an address below base (or
   a span of length 0) is refused too. */
static ALWAYS_INLINE size_t span_room(const char *base, size_t length, const void *a) {
  uintptr_t offset = (uintptr_t)a - (uintptr_t)base;
  size_t room = length - (size_t)offset;
  return (offset < length && room >= TWO_SIZE_T_SIZES) ? room : 0;
}
#define span_holds_header(base, length, a) (span_room((base), (length), (a)) != 0)

/* ---- The segment map (SEGMENT_MAP) ----
   One entry per page-sized granule (2^SEGMENT_MAP_SHIFT bytes, aligned) of the address space,
   naming the arena (the global heap, or with ARENAS another arena of section 16) whose segment
   holds the whole granule, or 0.  Segments change under their heap's lock, and so do their
   entries; the map is read without a lock (the thread cache's free, the owner of a block) and
   costs a few instructions wherever the address lies.  An entry names the heap whose memory it
   is; a 0 entry proves nothing: a segment that does not start or end on a granule boundary (a
   MORECORE heap's first) has a partly covered granule at that end, directly mapped regions are
   not in the map, and neither is memory beyond the windows (segment_map.incomplete).  Those
   addresses take the walk of the segment list and of the direct regions, under the lock.
   Entries are cleared before memory goes back to the system.  An entry is one bit without
   arenas (only the global heap is named) and one byte with them.
   The entries live in SEGMENT_MAP_WINDOWS leaves, each covering one aligned window of the
   address space (1 GiB on 64-bit systems, 64 MiB on 32-bit ones), handed out when a segment
   first lands in the window and kept; a lookup tries the window it found last, then searches
   the others in order. */
#if SEGMENT_MAP
#define SEGMENT_MAP_SHIFT 12
#if UINTPTR_MAX > 0xFFFFFFFFu
#define SEGMENT_MAP_LEAF_BITS 18 /* granules per window */
#else
#define SEGMENT_MAP_LEAF_BITS 14
#endif
#if ARENAS
#define SEGMENT_MAP_ENTRY_BITS 8
#else
#define SEGMENT_MAP_ENTRY_BITS 1
#endif
#define SEGMENT_MAP_ENTRY_MASK (((size_t)1 << SEGMENT_MAP_ENTRY_BITS) - 1)
#define SEGMENT_MAP_PER_WORD (SIZE_T_BITSIZE / SEGMENT_MAP_ENTRY_BITS)
#define SEGMENT_MAP_WINDOW_SHIFT (SEGMENT_MAP_SHIFT + SEGMENT_MAP_LEAF_BITS)
#define SEGMENT_MAP_LEAF_WORDS (((size_t)1 << SEGMENT_MAP_LEAF_BITS) / SEGMENT_MAP_PER_WORD)

static struct {
  uintptr_t window[SEGMENT_MAP_WINDOWS]; /* address >> SEGMENT_MAP_WINDOW_SHIFT, of leaf i */
  size_t leaves[SEGMENT_MAP_WINDOWS][SEGMENT_MAP_LEAF_WORDS];
  unsigned used;                         /* leaves handed out */
  int incomplete; /* a segment fell outside every window, or another arena's segment has a
                     ragged end: a 0 entry may hide an arena's */
} segment_map;

/* The leaf a lookup found last: the blocks freed one after another mostly share a window.
   Stored without a lock: every value it takes is a leaf handed out, and a handed-out leaf
   keeps its window.  (Its first value, 0, may name a leaf not handed out yet: that leaf's
   entries are all 0.)  Per thread where threads have their own storage (the thread cache's
   builds): threads whose blocks lie in different windows (the global heap's MORECORE memory,
   the other arenas' mapped segments) would otherwise keep rewriting one shared word. */
#if MALLOC_THREAD_CACHE && !ONLY_MSPACES
static MALLOC_THREAD_LOCAL unsigned segment_map_last_found;
#else
static unsigned segment_map_last_found;
#endif

/* The index of the leaf of the window holding address a, or SEGMENT_MAP_WINDOWS if none (a
   new one if create and one is left).  Leaves are handed out under global_lock: arenas add
   segments under their own locks, perhaps at the same moment. */
static NOINLINE unsigned segment_map_new_leaf(uintptr_t window) {
  unsigned i, used;
  lock_acquire(&global_lock);
  used = segment_map.used;
  for (i = 0; i < used && segment_map.window[i] != window; ++i)
    continue;
  if (i == used && used < SEGMENT_MAP_WINDOWS) {
    segment_map.window[used] = window; /* written before the count that publishes it */
    *(volatile unsigned *)&segment_map.used = used + 1;
  }
  lock_release(&global_lock);
  return i < SEGMENT_MAP_WINDOWS ? i : SEGMENT_MAP_WINDOWS;
}

static ALWAYS_INLINE unsigned segment_map_leaf_index(uintptr_t a, int create) {
  uintptr_t window = a >> SEGMENT_MAP_WINDOW_SHIFT;
  unsigned i, used = *(volatile unsigned *)&segment_map.used;
  for (i = 0; i < used; ++i)
    if (segment_map.window[i] == window)
      return i;
  return create ? segment_map_new_leaf(window) : SEGMENT_MAP_WINDOWS;
}

/* Set the entries of the granules holding addresses first .. last - 1 (first granule
   aligned) to id (0: clear them).  Many at a time: a heap that grows and trims its top often
   changes many granules at once. */
static void segment_map_set(uintptr_t first, uintptr_t last, unsigned id) {
  const uintptr_t window_bytes = (uintptr_t)1 << SEGMENT_MAP_WINDOW_SHIFT;
  while (first < last) {
    uintptr_t window_end = (first | (window_bytes - 1)) + 1; /* 0: the address space's end */
    uintptr_t end = (window_end != 0 && window_end < last) ? window_end : last;
    unsigned i = segment_map_leaf_index(first, id != 0);
    size_t *leaf = i < SEGMENT_MAP_WINDOWS ? segment_map.leaves[i] : 0;
    size_t g = (size_t)(first >> SEGMENT_MAP_SHIFT) & (((size_t)1 << SEGMENT_MAP_LEAF_BITS) - 1);
    size_t n = (size_t)((end - first + ((uintptr_t)1 << SEGMENT_MAP_SHIFT) - 1) >>
                        SEGMENT_MAP_SHIFT); /* granules, the last one perhaps partly */
    if (leaf == 0 && id != 0)
      segment_map.incomplete = 1;
#if SEGMENT_MAP_ENTRY_BITS == 8
    /* One byte per granule: arenas changing their own granules under their own locks never
       write the same byte (a word written whole could undo a neighbour's change). */
    if (leaf != 0)
      memset((unsigned char *)leaf + g, (int)id, n);
#else
    const size_t pattern = (size_t)id * (~(size_t)0 / SEGMENT_MAP_ENTRY_MASK); /* id in each */
    while (leaf != 0 && n != 0) {
      size_t at = g % SEGMENT_MAP_PER_WORD, take = SEGMENT_MAP_PER_WORD - at, mask;
      size_t *word = &leaf[g / SEGMENT_MAP_PER_WORD];
      if (take > n)
        take = n;
      mask = (take == SEGMENT_MAP_PER_WORD
                  ? ~(size_t)0
                  : (((size_t)1 << (take * SEGMENT_MAP_ENTRY_BITS)) - 1))
             << (at * SEGMENT_MAP_ENTRY_BITS);
      *word = (*word & ~mask) | (pattern & mask);
      g += take;
      n -= take;
    }
#endif
    if (window_end == 0)
      break;
    first = end;
  }
}

#define SEGMENT_MAP_GRANULE_MASK (((uintptr_t)1 << SEGMENT_MAP_SHIFT) - 1)

/* Segment [base, base + size) of heap m is the heap's: name m in the granules wholly inside
   (an arena's; an mspace's memory is not mapped). */
static void segment_map_note(heap_t *m, char *base, size_t size) {
  if (is_arena(m) && size != 0) {
    segment_map_set(((uintptr_t)base + SEGMENT_MAP_GRANULE_MASK) & ~SEGMENT_MAP_GRANULE_MASK,
                    ((uintptr_t)base + size) & ~SEGMENT_MAP_GRANULE_MASK, arena_map_id(m));
    /* A port's regions need only MALLOC_ALIGNMENT: a ragged end of another arena's segment is
       a granule the map cannot name, so the lookups that find 0 must walk the arenas. */
    if (m != gm && (((uintptr_t)base | size) & SEGMENT_MAP_GRANULE_MASK) != 0)
      segment_map.incomplete = 1;
  }
}

/* [base, base + size) is about to leave heap m: clear every granule it touches. */
static void segment_map_forget(heap_t *m, char *base, size_t size) {
  if (is_arena(m) && size != 0)
    segment_map_set((uintptr_t)base & ~SEGMENT_MAP_GRANULE_MASK, (uintptr_t)base + size, 0);
}

/* Arena m forgets all its memory (teardown, or after corruption): clear its entries.  Its
   segment list may be gone or damaged, so the leaves are searched (the leaves stay handed
   out). */
static void segment_map_forget_heap(heap_t *m) {
  const size_t id = arena_map_id(m);
  unsigned i;
#if SEGMENT_MAP_ENTRY_BITS == 8
  for (i = 0; i < segment_map.used; ++i) {
    unsigned char *entry = (unsigned char *)segment_map.leaves[i];
    size_t g;
    for (g = 0; g < ((size_t)1 << SEGMENT_MAP_LEAF_BITS); ++g)
      if (entry[g] == id)
        entry[g] = 0;
  }
#else
  (void)id; /* one-bit entries name the global heap alone: every entry is its */
  for (i = 0; i < segment_map.used; ++i)
    memset(segment_map.leaves[i], 0, sizeof(segment_map.leaves[i]));
#endif
}

/* The entry of address a's granule in leaf i. */
static ALWAYS_INLINE unsigned segment_map_entry(unsigned i, uintptr_t a) {
  size_t g = (size_t)(a >> SEGMENT_MAP_SHIFT) & (((size_t)1 << SEGMENT_MAP_LEAF_BITS) - 1);
#if SEGMENT_MAP_ENTRY_BITS == 8
  return ((volatile unsigned char *)segment_map.leaves[i])[g];
#else
  return (unsigned)((((volatile size_t *)segment_map.leaves[i])[g / SEGMENT_MAP_PER_WORD] >>
                     ((g % SEGMENT_MAP_PER_WORD) * SEGMENT_MAP_ENTRY_BITS)) &
                    SEGMENT_MAP_ENTRY_MASK);
#endif
}

/* segment_map_owner past the leaf found last: search the others, and remember the one found. */
static ALWAYS_INLINE unsigned segment_map_find(uintptr_t a) {
  unsigned i = segment_map_leaf_index(a, 0);
  if (i == SEGMENT_MAP_WINDOWS)
    return 0;
  *(volatile unsigned *)&segment_map_last_found = i;
  return segment_map_entry(i, a);
}
static NOINLINE unsigned segment_map_search(uintptr_t a) { return segment_map_find(a); }

/* The map's name for the arena whose segment holds address a's whole granule (0: none known).
   No lock.  search_inline: search the other leaves without a call (segment_map_owner_quick,
   for the thread cache's fast paths, which make none: programs whose threads pass blocks
   between the global heap's MORECORE memory and the other arenas' mapped segments alternate
   between two leaves at every call). */
static ALWAYS_INLINE unsigned segment_map_lookup(const void *a, int search_inline) {
  unsigned i = *(volatile unsigned *)&segment_map_last_found;
  if (LIKELY(segment_map.window[i] == (uintptr_t)a >> SEGMENT_MAP_WINDOW_SHIFT))
    return segment_map_entry(i, (uintptr_t)a);
  return search_inline ? segment_map_find((uintptr_t)a) : segment_map_search((uintptr_t)a);
}
#define segment_map_owner(a) segment_map_lookup((a), 0)
#define segment_map_owner_quick(a) segment_map_lookup((a), 1)
#define segment_map_holds(m, a) (is_arena(m) && segment_map_owner(a) == arena_map_id(m))
#else
#define segment_map_note(m, base, size) ((void)(m), (void)(base), (void)(size))
#define segment_map_forget(m, base, size) ((void)(m), (void)(base), (void)(size))
#define segment_map_forget_heap(m) ((void)(m))
#define segment_map_owner(a) ((void)(a), 0u)
#define segment_map_owner_quick(a) ((void)(a), 0u)
#define segment_map_holds(m, a) ((void)(m), (void)(a), 0)
#endif /* SEGMENT_MAP */

/* The room after the chunk at a in the segment holding m's top (where most blocks lie). */
#define top_segment_room(m, a) span_room((m)->seg.base, (m)->seg.size, (a))

/* Lock-free: does heap m surely hold the header of the chunk at a, in the segment holding
   top or, for an arena, in a granule the map gives it?  0 proves nothing; the caller then
   walks, under the lock (heap_holds_header). */
static ALWAYS_INLINE int heap_surely_holds(heap_t *m, const void *a) {
  if (LIKELY(top_segment_room(m, a) != 0))
    return 1;
  return segment_map_holds(m, a);
}

/* Does one of the segments from sp on hold the header of the chunk at a?  The walk, for the
   addresses heap_surely_holds cannot vouch for; with the heap's lock held. */
static NOINLINE int segments_hold_header(const segment_t *sp, const void *a) {
  for (; sp != 0; sp = sp->next)
    if (span_holds_header(sp->base, sp->size, a))
      return 1;
  return 0;
}

/* Does heap m hold the header of the chunk at a in one of its segments?  With m's lock held:
   past heap_surely_holds, the walk of the segments after the one holding top. */
static NOINLINE int heap_holds_header(heap_t *m, const void *a) {
  return heap_surely_holds(m, a) || segments_hold_header(m->seg.next, a);
}

#if HAVE_PARTIAL_MUNMAP && HAVE_MMAP
/* Does any of the heap's segment records (or the heap's own state, which holds the first)
   lie inside [base, base + size)?  Releasing that span would destroy it. */
static int has_segment_link(heap_t *m, char *base, size_t size) {
  segment_t *sp = &m->seg;
  for (;;) {
    if ((char *)sp >= base && (char *)sp < base + size)
      return 1;
    if ((sp = sp->next) == 0)
      return 0;
  }
}
#endif /* HAVE_PARTIAL_MUNMAP && HAVE_MMAP */

/* ==== 9. Run-time checks ====================================================================
   Cheap checks on every path that follows a pointer read from the heap (unless INSECURE):
   - ok_address: the chunk lies within the addresses the heap has ever obtained;
   - ok_link: a link read from a free chunk leads to a chunk header in one of the segments;
   - ok_next: a chunk's successor really is after it;
   - ok_inuse / ok_pinuse: the status bits say what the operation needs;
   - ok_magic: the heap state is a valid one (it carries the process's magic).
   A failed check is reported through CORRUPTION(...) or USAGE_ERROR(...).                 */

#if !INSECURE
#define ok_address(m, a) ((char *)(a) >= (m)->least_addr && (char *)(a) < (m)->max_addr)
/* A link read from a free chunk (bin and tree links) is followed only to an aligned chunk
   header inside one of m's segments: the range of ok_address also spans the holes and the
   program's own mappings between the heap's regions, where a damaged link would make the
   next read fault.  The segment holding top and the map inline (heap_surely_holds), the
   other segments by their walk (lock held).  The alignment is tested on integers: a may be
   0. */
#define ok_link(m, a)                                                                      \
  ((((uintptr_t)(a) + TWO_SIZE_T_SIZES) & CHUNK_ALIGN_MASK) == 0 &&                       \
   (LIKELY(heap_surely_holds((m), (a))) || segments_hold_header((m)->seg.next, (a))))
#define ok_next(p, n) ((char *)(p) < (char *)(n))
#define ok_inuse(p) is_inuse(p)
#define ok_pinuse(p) pinuse(p)
#define ok_magic(m) ((m)->magic == mparams.magic)
#define RTCHECK(e) LIKELY(e)
#else /* the expressions stay visible to the compiler (sizeof: never evaluated) */
#define ok_address(m, a) ((void)sizeof(m), (void)sizeof(a), 1)
#define ok_link(m, a) ((void)sizeof(m), (void)sizeof(a), 1)
#define ok_next(p, n) ((void)sizeof(p), (void)sizeof(n), 1)
#define ok_inuse(p) ((void)sizeof(p), 1)
#define ok_pinuse(p) ((void)sizeof(p), 1)
#define ok_magic(m) ((void)sizeof(m), 1)
#define RTCHECK(e) ((void)sizeof(e), 1)
#endif

/* The walks over a segment's chunks (mallinfo, malloc_inspect_all, the DEBUG checker) step
   from chunk q by its size, which bytes written past the previous block's end may have
   damaged.  A step must move forward and land on a chunk header inside segment s; otherwise
   this reports the damage and returns 0, and the walk stops.  (Checked even when INSECURE: a
   walk is not a fast path, and a size of 0 would never end it.) */
static inline int walk_step_fits(heap_t *m, segment_t *s, chunk_t *q) {
  size_t room = span_room(s->base, s->size, q), sz = chunksize(q);
  /* Top may be smaller than a chunk: what is left once a request has been carved from it,
     which with MALLOC_ALIGNMENT above 32 need not be a multiple of the alignment (its size
     keeps the remainder its segment began with). */
  size_t least = q == m->top ? TOP_LEAST_SIZE : MIN_CHUNK_SIZE;
  return sz >= least && room >= TWO_SIZE_T_SIZES && sz <= room - TWO_SIZE_T_SIZES;
}

static NOINLINE MAYBE_UNUSED int ok_walk_step(heap_t *m, segment_t *s, chunk_t *q) {
  if (LIKELY(walk_step_fits(m, s, q)))
    return 1;
  CORRUPTION(m, q, "chunk size damaged (found walking the heap)");
  return 0;
}

/* Setting the in-use bits (and, with FOOTERS, the owner tag in the next chunk's prev_foot). */
#if !FOOTERS
#define mark_inuse_foot(m, p, s) ((void)(m))
#define forget_footer(next) ((void)(next))
#define forget_direct_footer(r) ((void)(r))

#else /* FOOTERS */
/* The footer binds a block to its heap and to its own size: a size word damaged by an
   overflow then no longer leads to a valid footer. */
#define heap_tag(m) ((size_t)(m) ^ mparams.magic)
#define footer_tag(m, s) (heap_tag(m) ^ (s))
#define mark_inuse_foot(m, p, s) (((chunk_t *)((char *)(p) + (s)))->prev_foot = footer_tag(m, s))
/* A footer that a merge or a growth leaves inside a chunk is wiped: malloc hands that memory
   out as it is, and a program that read a footer there would learn heap_tag, and with it
   the footer of any size in that heap (an outside review found it so). */
#define forget_footer(next) ((next)->prev_foot = 0)
/* The footer of direct region r's chunk, wiped before the region goes. */
#define forget_direct_footer(r)                                                           \
  forget_footer(chunk_plus_offset(direct_chunk(r), chunksize(direct_chunk(r))))
#endif /* FOOTERS */

/* Chunk p of size s in use: of its head's old bits it keeps those in `kept` (P, and for a
   block its caller claimed, CACHED_BIT: set_inuse_claimed), and the next chunk's P is set. */
#define set_inuse_keeping(m, p, s, kept)                                                   \
  ((p)->head = (((p)->head & (kept)) | (s) | CINUSE_BIT),                                  \
   set_pinuse(chunk_plus_offset(p, s)), mark_inuse_foot(m, p, s))
#define set_inuse(m, p, s) set_inuse_keeping(m, p, s, PINUSE_BIT)
#define set_inuse_and_pinuse(m, p, s)                                                      \
  ((p)->head = ((s) | PINUSE_BIT | CINUSE_BIT),                                            \
   set_pinuse(chunk_plus_offset(p, s)), mark_inuse_foot(m, p, s))
#define set_size_and_pinuse_of_inuse_chunk(m, p, s)                                        \
  ((p)->head = ((s) | PINUSE_BIT | CINUSE_BIT), mark_inuse_foot(m, p, s))

/* ---- Blocks in a thread cache (section 16) ----
   A block waiting in a thread cache stays a chunk in use: the heap's walkers, checkers and
   statistics see it as allocated.  CACHED_BIT in its head says it is cached, in a word that
   a write through a dangling pointer to the block does not reach, so a block freed twice is
   recognised whichever thread's cache holds it, however the program rewrote the block in
   between.  Only the block's first word changes while it is cached: the link to the next
   block of its list, stored mangled (thread_cache_link) with a secret of its own and the
   word's own address, so that it shows neither the next block's address nor mparams.magic.
   A block taken from a list or a batch must be an aligned address of the heap whose chunk
   is in use, cached and of the list's size (thread_cache_check); anything else ends in
   USAGE_ERROR naming the thread cache.
   The cache's owner sets and clears CACHED_BIT without the lock while a thread holding the
   lock may be changing P in the same word (a neighbour merged or split), so both sides
   change the head of a chunk that may be in use only with an atomic read-modify-write
   (head_set_bits, head_clear_bits): neither loses the other's bit, and of two frees of one
   block racing each other exactly one finds CACHED_BIT clear and wins.  internal_free
   claims a block of the global heap the same way, so a free through the lock and one
   through a cache cannot both win either.
   The generation changes whenever an arena forgets its memory (teardown,
   PROCEED_ON_ERROR), which makes every thread drop its cache, unread, at its next call; the
   arena's depot of batches between threads and its remote frees are dropped then too
   (thread_cache_forget). */
#define THREAD_CACHE_DOUBLE_FREE "double free (the block is in a thread cache)"
#if MALLOC_THREAD_CACHE && !ONLY_MSPACES
#define THREAD_CACHE 1
static size_t thread_cache_generation = 1; /* 0 is never current: "no cache" */
static size_t thread_cache_link_key;       /* set with mparams.magic; never 0 once set */
static void thread_cache_forget(heap_t *h);
#define is_thread_cached(p) ((p)->head & CACHED_BIT)
/* Mark chunk p (in use, checked) as cached; 0 if it already was: a double free. */
#define thread_cache_mark(p) ((head_set_bits((p), CACHED_BIT) & CACHED_BIT) == 0)
/* Claim block p (in use, checked) of heap m for a free under m's lock: an arena's block by
   marking it (free_chunk); 0 if a free into a cache won it first. */
#define heap_claim(m, p) (!is_arena(m) || thread_cache_mark(p))
/* Give back the claim on block p of heap m, which stays in use (realloc): the mark cleared. */
#define heap_unclaim(m, p) (is_arena(m) ? (void)head_clear_bits((p), CACHED_BIT) : (void)0)
/* free_chunk's `cached` for a block its caller claimed. */
#define heap_claimed(m) (is_arena(m) ? CACHED_BIT : 0)
#else
#define THREAD_CACHE 0
#define thread_cache_forget(h) ((void)(h))
#define heap_claim(m, p) ((void)(m), (void)(p), 1)
#define heap_unclaim(m, p) ((void)0)
#define heap_claimed(m) 0
#endif

/* Set or clear bits of p->head; both return the head as it was.  Atomic where a thread cache
   may touch the same word without the lock (see above), unless the caller is the process's
   only thread (SINGLE_THREAD_HINT): then nobody else touches any head. */
static inline size_t head_or_plain(chunk_t *p, size_t bits) {
  size_t old = p->head;
  p->head = old | bits;
  return old;
}
static inline size_t head_clear_plain(chunk_t *p, size_t bits) {
  size_t old = p->head;
  p->head = old & ~bits;
  return old;
}
#if !THREAD_CACHE
#define head_set_bits(p, bits) head_or_plain((p), (bits))
#define head_clear_bits(p, bits) head_clear_plain((p), (bits))
#elif defined(__GNUC__) || defined(__clang__)
/* Word operations for the arenas' lists of blocks freed by other threads (section 16):
   *w = desired if it is still `seen` (1 if so), with release order so that the block's link,
   written before, is seen with it; and *w = 0, returning the old value, with acquire order. */
static inline int word_replace(void *volatile *w, void *seen, void *desired) {
  return __atomic_compare_exchange_n(w, &seen, desired, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}
static inline void *word_take(void *volatile *w) {
  return __atomic_exchange_n(w, (void *)0, __ATOMIC_ACQUIRE);
}
static inline size_t head_set_bits(chunk_t *p, size_t bits) {
  if (SINGLE_THREAD_HINT)
    return head_or_plain(p, bits);
  return __atomic_fetch_or(&p->head, bits, __ATOMIC_RELAXED);
}
static inline size_t head_clear_bits(chunk_t *p, size_t bits) {
  if (SINGLE_THREAD_HINT)
    return head_clear_plain(p, bits);
  return __atomic_fetch_and(&p->head, ~bits, __ATOMIC_RELAXED);
}
/* p->head = desired if it is still `seen`; 1 if so. */
static inline int head_replace(chunk_t *p, size_t seen, size_t desired) {
  if (SINGLE_THREAD_HINT) {
    if (p->head != seen)
      return 0;
    p->head = desired;
    return 1;
  }
  return __atomic_compare_exchange_n(&p->head, &seen, desired, 0, __ATOMIC_RELAXED,
                                     __ATOMIC_RELAXED);
}
#elif DL_WIN32
/* The Interlocked functions of the head's width. */
#if defined(_WIN64)
#define HEAD_INTERLOCKED(op) op##64
typedef LONG64 head_word_t;
#else
#define HEAD_INTERLOCKED(op) op
typedef LONG head_word_t;
#endif
static inline int word_replace(void *volatile *w, void *seen, void *desired) {
  return InterlockedCompareExchangePointer((PVOID volatile *)w, desired, seen) == seen;
}
static inline void *word_take(void *volatile *w) {
  return InterlockedExchangePointer((PVOID volatile *)w, (PVOID)0);
}
static inline size_t head_set_bits(chunk_t *p, size_t bits) {
  return (size_t)HEAD_INTERLOCKED(InterlockedOr)((volatile head_word_t *)&p->head,
                                                 (head_word_t)bits);
}
static inline size_t head_clear_bits(chunk_t *p, size_t bits) {
  return (size_t)HEAD_INTERLOCKED(InterlockedAnd)((volatile head_word_t *)&p->head,
                                                  (head_word_t)~bits);
}
static inline int head_replace(chunk_t *p, size_t seen, size_t desired) {
  return (size_t)HEAD_INTERLOCKED(InterlockedCompareExchange)(
             (volatile head_word_t *)&p->head, (head_word_t)desired, (head_word_t)seen) == seen;
}
#else
#error "MALLOC_THREAD_CACHE needs atomic operations: GCC/Clang __atomic builtins or Win32"
#endif

/* ---- Parameters ---- */

/* Layout facts the code relies on, checked by the compiler. */
typedef char assert_size_t_holds_pointer[(sizeof(size_t) >= sizeof(char *)) ? 1 : -1];
typedef char assert_alignment_power_of_two[((MALLOC_ALIGNMENT & (MALLOC_ALIGNMENT - 1)) == 0 &&
                                            MALLOC_ALIGNMENT >= 8) ? 1 : -1];
/* The small bins hold chunks below 256 bytes, and some request must pad to one: at 256 the
   largest "small" request (MAX_SMALL_REQUEST) wrapped around, every request took the small
   path, and tmalloc_small handed out tree chunks smaller than the request.  Larger
   alignments are memalign's. */
typedef char assert_alignment_at_most_128[(MALLOC_ALIGNMENT <= 128) ? 1 : -1];
typedef char assert_min_chunk_holds_links[(MIN_CHUNK_SIZE >= sizeof(chunk_t)) ? 1 : -1];
typedef char assert_min_request_pads_to_min_chunk[
    (pad_request(MIN_REQUEST) == MIN_CHUNK_SIZE) ? 1 : -1]; /* request2size relies on it */

static size_t choose_magic(void) {
  size_t seed = (size_t)(uintptr_t)&mparams ^ ((size_t)(uintptr_t)&seed << 7);
#if !PORTABLE && !DL_WIN32 && USE_DEV_RANDOM
  unsigned char bytes[sizeof(size_t)];
  int fd = open("/dev/urandom", O_RDONLY);
  if (fd >= 0) {
    if (read(fd, bytes, sizeof(bytes)) == (ssize_t)sizeof(bytes))
      memcpy(&seed, bytes, sizeof(seed));
    close(fd);
  }
#elif !PORTABLE && !DL_WIN32 && defined(AT_RANDOM)
  /* Linux gives every process 16 random bytes at start-up: no system call, no file, and
     better than the time.  (time() also costs resident memory: the libc code pages it
     touches; bench/results/design-measurements.md.) */
  const unsigned char *bytes = (const unsigned char *)(uintptr_t)getauxval(AT_RANDOM);
  if (bytes != 0) {
    size_t random_word;
    memcpy(&random_word, bytes, sizeof(random_word));
    seed ^= random_word;
  }
#elif !PORTABLE && !defined(LACKS_TIME_H)
  seed ^= (size_t)time(0) * (size_t)0x9E3779B9U;
#endif
  seed ^= (size_t)0x55555555U;
  seed |= (size_t)8U;        /* never zero, so "magic == 0" keeps meaning "not initialised" */
  seed &= ~(size_t)7U;       /* low bits clear, so a tag can never look like a size with bits */
  return seed;
}

#if THREAD_CACHE
/* A multiply-xorshift mix of x (a bijection; see choose_link_key). */
static size_t mix_word(size_t x) {
  unsigned round;
  for (round = 0; round < 3; ++round) {
    x *= (size_t)0x9E3779B97F4A7C15ULL;
    x ^= x >> (SIZE_T_BITSIZE / 2 - 3);
  }
  return x;
}

/* The secret thread cache links are mangled with (section 16).  Links lie in blocks the
   program may still read, so the key must not give the magic away: where the kernel gives
   random bytes without a file (Linux getrandom), the key is fresh ones; elsewhere it is the
   sum of two different mixes of the magic and addresses, which, unlike one mix, cannot
   simply be run backwards. */
static size_t choose_link_key(size_t magic) {
  size_t key = 0, seed = magic ^ (size_t)(uintptr_t)&thread_cache_link_key;
#if !PORTABLE && defined(__linux__) && defined(SYS_getrandom)
  if (syscall(SYS_getrandom, &key, sizeof(key), 1 /* GRND_NONBLOCK */) == (long)sizeof(key) &&
      key != 0)
    return key;
#endif
  key = mix_word(seed) + mix_word(seed ^ ((size_t)(uintptr_t)&key << 11) ^ ~(size_t)0);
  return key != 0 ? key : (size_t)0x5A5A5A50U;
}
#endif /* THREAD_CACHE */

static void init_heap_links(heap_t *m) {
  m->direct.next = m->direct.prev = &m->direct;
}

static int init_mparams(void) {
  lock_acquire(&global_lock);
  if (mparams.magic == 0) {
    size_t page = os_page_size();
    size_t granularity = DEFAULT_GRANULARITY, magic;
    if (granularity == 0)
      granularity = page;
    if (!is_power_of_two(page) || !is_power_of_two(granularity) || granularity < page ||
        page < MALLOC_ALIGNMENT) {
      record_error(0, "bad page size or granularity (powers of two, granularity >= page)", 0,
                   __LINE__);
      os_abort();
    }
    mparams.page_size = page;
    mparams.granularity = granularity;
    mparams.mmap_threshold = DEFAULT_MMAP_THRESHOLD;
    mparams.trim_threshold = DEFAULT_TRIM_THRESHOLD;
    mparams.thresholds_adapt = MMAP_THRESHOLD_MAX != 0;
    mparams.default_flags = USE_LOCK_BIT | USE_MMAP_BIT;
#if !MORECORE_CONTIGUOUS
    mparams.default_flags |= USE_NONCONTIGUOUS_BIT;
#endif
#if !ONLY_MSPACES
    gm->flags = mparams.default_flags;
    lock_init(&gm->lock);
    init_heap_links(gm);
#endif
#if ARENAS
    mparams.arena_limit = 0; /* set by arena_limit() when first needed */
#else
    mparams.arena_limit = 1;
#endif
    magic = choose_magic();
#if THREAD_CACHE
    thread_cache_link_key = choose_link_key(magic);
#endif
    /* Publish the magic last: other threads test it without the lock. */
#if defined(__GNUC__) || defined(__clang__)
    __atomic_store_n(&mparams.magic, magic, __ATOMIC_RELEASE);
#else
    mparams.magic = magic;
#endif
  }
  lock_release(&global_lock);
  return 1;
}

static int change_mparam(int param, int value) {
  size_t v;
  ensure_initialization();
  if (value < -1)
    return 0;
  v = (value == -1) ? MAX_SIZE_T : (size_t)value;
  switch (param) {
  case M_TRIM_THRESHOLD:
    mparams.trim_threshold = v;
    mparams.thresholds_adapt = 0;
    ++mparams.trim_setting; /* every heap takes it at its next free (should_trim) */
    return 1;
  case M_GRANULARITY:
    if (v >= mparams.page_size && v != MAX_SIZE_T && is_power_of_two(v)) {
      mparams.granularity = v;
      return 1;
    }
    return 0;
  case M_MMAP_THRESHOLD:
    mparams.mmap_threshold = v;
    mparams.thresholds_adapt = 0;
    return 1;
  case M_ARENA_MAX: /* arenas already made stay; no new ones past the limit */
    if (v >= 1 && v <= (size_t)HEAP_SLOTS) {
      mparams.arena_limit = v;
      return 1;
    }
    return 0;
  default:
    return 0;
  }
}

/* ==== 10. Debug checkers (DEBUG) ============================================================
   Full invariant checks, run after every operation when DEBUG is set.  They walk bins, trees
   and (do_check_heap) every chunk of every segment, so they cost far more than the operation
   itself.                                                                                     */

#if DEBUG
/* The checkers follow links and sizes that a usage error (a write after free, bytes past a
   block's end) may have overwritten, so nothing read from the heap is followed before it is
   tested: a chunk whose header is read must lie in one of m's segments
   (debug_holds_header), a chunk whose links are read must be aligned and hold a tree chunk's
   fields there too (debug_holds_links), and a directly mapped chunk must lie in a region of
   m's ring.  A failed test is an assertion failure, and the checker does not go on past it
   (when ABORT_ON_ASSERT_FAILURE is 0, it returns). */
static struct direct_region *direct_region_holding(heap_t *m, const chunk_t *p); /* section 13 */

static size_t debug_room(heap_t *m, const void *a) {
  segment_t *sp;
  for (sp = &m->seg; sp != 0; sp = sp->next) {
    size_t room = span_room(sp->base, sp->size, a);
    if (room != 0)
      return room;
  }
  return 0;
}
/* Is there a chunk header in m at p + offset (offset taken modulo the address space, so that
   -p->prev_foot steps back; computed in integers, as a damaged offset may lead anywhere)? */
static int debug_holds_header(heap_t *m, const chunk_t *p, size_t offset) {
  uintptr_t a = (uintptr_t)p + offset;
  return (a & (SIZE_T_SIZE - 1)) == 0 && debug_room(m, (const void *)a) != 0;
}
static int debug_holds_links(heap_t *m, const void *a) {
  return (((uintptr_t)a + TWO_SIZE_T_SIZES) & CHUNK_ALIGN_MASK) == 0 &&
         debug_room(m, a) >= sizeof(tchunk_t);
}

/* dl_assert(x), then leave the checker by `otherwise` (return, with a value if it has one)
   if x is false. */
#define dl_assert_else(x, otherwise)                                                         \
  do {                                                                                       \
    if (!(x)) {                                                                              \
      assertion_failed(#x, __LINE__);                                                        \
      otherwise;                                                                             \
    }                                                                                        \
  } while (0)

/* A free chunk's fd or bk, q: another free chunk of the heap, or (small chunks of size sz)
   the header of their bin. */
static int debug_link_ok(heap_t *m, const chunk_t *q, size_t sz) {
  return (is_small(sz) && q == smallbin_at(m, small_index(sz))) || debug_holds_links(m, q);
}

static void do_check_any_chunk(heap_t *m, chunk_t *p) {
  dl_assert(is_inuse(p) || ((size_t)chunk2mem(p) & CHUNK_ALIGN_MASK) == 0 ||
            p->head == FENCEPOST_HEAD);
  dl_assert(ok_address(m, p));
  (void)m;
}

static void do_check_top_chunk(heap_t *m, chunk_t *p) {
  segment_t *sp = segment_holding(m, (char *)p);
  size_t sz = p->head & ~INUSE_BITS;
  dl_assert(sp != 0);
  dl_assert(((size_t)chunk2mem(p) & CHUNK_ALIGN_MASK) == 0 || p->head == FENCEPOST_HEAD);
  dl_assert(ok_address(m, p));
  dl_assert(sz == m->topsize);
  dl_assert(sz > 0);
  dl_assert(sz == (size_t)((sp->base + sp->size) - (char *)p) - TOP_FOOT_SIZE);
  dl_assert(pinuse(p));
  dl_assert(!pinuse(chunk_plus_offset(p, sz)));
  (void)sp;
}

static void do_check_mmapped_chunk(heap_t *m, chunk_t *p) {
  size_t sz = chunksize(p);
  struct direct_region *r = direct_region_holding(m, p);
  dl_assert_else(r != 0, return);
  dl_assert_else(sz < r->length && (char *)p + sz + MMAP_FOOT_PAD == r->base + r->length,
                 return);
  dl_assert(r == (struct direct_region *)((char *)p - p->prev_foot));
  dl_assert(is_mmapped(p));
  dl_assert(((size_t)chunk2mem(p) & CHUNK_ALIGN_MASK) == 0);
  dl_assert(ok_address(m, p));
  /* (not necessarily above the small bins: memalign cuts a mapped chunk's front off, and with
     small pages and a small mmap threshold what remains may be small) */
  dl_assert(sz >= MIN_CHUNK_SIZE);
  dl_assert(p->prev_foot >= DIRECT_HEADER_SIZE &&
            p->prev_foot <= DIRECT_HEADER_SIZE + CHUNK_ALIGN_MASK);
  dl_assert(r->check == direct_check(r));
  dl_assert(chunk_plus_offset(p, sz)->head == FENCEPOST_HEAD);
  dl_assert(chunk_plus_offset(p, sz + SIZE_T_SIZE)->head == 0);
  (void)m; (void)r; (void)sz;
}

static void do_check_inuse_chunk(heap_t *m, chunk_t *p) {
  do_check_any_chunk(m, p);
  dl_assert(is_inuse(p));
  if (is_mmapped(p)) {
    do_check_mmapped_chunk(m, p);
    return;
  }
  dl_assert_else(debug_holds_header(m, p, chunksize(p)), return);
  dl_assert(next_pinuse(p));
  /* If the previous chunk is free, its size must match the footer we point back with. */
  if (!pinuse(p)) {
    dl_assert_else(debug_holds_header(m, p, -p->prev_foot), return);
    dl_assert(next_chunk(chunk_minus_offset(p, p->prev_foot)) == p);
  }
}

static void do_check_free_chunk(heap_t *m, chunk_t *p) {
  size_t sz = chunksize(p);
  chunk_t *next;
  do_check_any_chunk(m, p);
  dl_assert(!is_inuse(p));
  dl_assert_else(debug_holds_header(m, p, sz), return);
  next = chunk_plus_offset(p, sz);
  dl_assert(!next_pinuse(p));
  dl_assert(!is_mmapped(p));
  if (p != m->dv && p != m->top) {
    if (sz >= MIN_CHUNK_SIZE) {
      dl_assert((sz & CHUNK_ALIGN_MASK) == 0);
      dl_assert(((size_t)chunk2mem(p) & CHUNK_ALIGN_MASK) == 0);
      dl_assert(next->prev_foot == sz);
      dl_assert(pinuse(p));
      dl_assert(next == m->top || is_inuse(next));
      dl_assert_else(debug_holds_links(m, p), return);
      dl_assert_else(debug_link_ok(m, p->fd, sz) && debug_link_ok(m, p->bk, sz), return);
      dl_assert(p->fd->bk == p);
      dl_assert(p->bk->fd == p);
    } else {
      dl_assert(sz == SIZE_T_SIZE); /* only fenceposts are this small */
    }
  }
  (void)next;
}

static void do_check_malloced_chunk(heap_t *m, void *mem, size_t s) {
  if (mem != 0) {
    chunk_t *p = mem2chunk(mem);
    size_t sz = p->head & ~INUSE_BITS;
    do_check_inuse_chunk(m, p);
    dl_assert((sz & CHUNK_ALIGN_MASK) == 0);
    dl_assert(sz >= MIN_CHUNK_SIZE);
    dl_assert(sz >= s);
    /* Either exact, or the surplus was too small to split off. */
    dl_assert(is_mmapped(p) || sz < (s + MIN_CHUNK_SIZE));
    (void)sz;
  }
}

static void do_check_tree(heap_t *m, tchunk_t *t) {
  tchunk_t *head = 0;
  tchunk_t *u = t;
  binmap_t tindex, idx;
  size_t tsize;
  dl_assert_else(debug_holds_links(m, t), return);
  tindex = t->index;
  tsize = chunksize(t);
  idx = compute_tree_index(tsize);
  dl_assert(tindex == idx);
  dl_assert(tsize >= MIN_LARGE_SIZE);
  dl_assert(tsize >= minsize_for_tree_index(idx));
  dl_assert(idx == NTREEBINS - 1 || tsize < minsize_for_tree_index(idx + 1));
  do { /* every chunk of the ring of equal sizes */
    do_check_any_chunk(m, (chunk_t *)u);
    dl_assert(u->index == tindex);
    dl_assert(chunksize(u) == tsize);
    dl_assert(!is_inuse(u));
    dl_assert_else(debug_holds_header(m, (chunk_t *)u, chunksize(u)), return);
    dl_assert(!next_pinuse(u));
    dl_assert_else(debug_holds_links(m, u->fd) && debug_holds_links(m, u->bk), return);
    dl_assert(u->fd->bk == u);
    dl_assert(u->bk->fd == u);
    if (u->parent == 0) {
      dl_assert(u->child[0] == 0);
      dl_assert(u->child[1] == 0);
    } else {
      dl_assert(head == 0); /* exactly one node of the ring is in the tree */
      head = u;
      dl_assert(u->parent != u);
      dl_assert_else(u->parent == (tchunk_t *)treebin_at(m, tindex) ||
                          debug_holds_links(m, u->parent), return);
      dl_assert(u->parent->child[0] == u || u->parent->child[1] == u ||
                *((tchunk_t **)(u->parent)) == u);
      if (u->child[0] != 0) {
        dl_assert_else(debug_holds_links(m, u->child[0]), return);
        dl_assert(u->child[0]->parent == u);
        dl_assert(u->child[0] != u);
        do_check_tree(m, u->child[0]);
      }
      if (u->child[1] != 0) {
        dl_assert_else(debug_holds_links(m, u->child[1]), return);
        dl_assert(u->child[1]->parent == u);
        dl_assert(u->child[1] != u);
        do_check_tree(m, u->child[1]);
      }
      if (u->child[0] != 0 && u->child[1] != 0)
        dl_assert(chunksize(u->child[0]) < chunksize(u->child[1]));
    }
    u = u->fd;
  } while (u != t);
  dl_assert(head != 0);
}

static void do_check_treebin(heap_t *m, binmap_t i) {
  tchunk_t **tb = treebin_at(m, i);
  tchunk_t *t = *tb;
  int empty = (m->treemap & idx2bit(i)) == 0;
  if (t == 0)
    dl_assert(empty);
  if (!empty)
    do_check_tree(m, t);
}

static void do_check_smallbin(heap_t *m, binmap_t i) {
  chunk_t *b = smallbin_at(m, i);
  chunk_t *p = b->bk;
  unsigned int empty = (m->smallmap & idx2bit(i)) == 0;
  if (p == b)
    dl_assert(empty);
  if (!empty) {
    for (; p != b; p = p->bk) {
      size_t size;
      chunk_t *q;
      dl_assert_else(debug_holds_links(m, p), return);
      size = chunksize(p);
      dl_assert_else(is_small(size) && small_index(size) == i, return);
      do_check_free_chunk(m, p);
      dl_assert_else(debug_link_ok(m, p->bk, size), return);
      dl_assert(p->bk == b || chunksize(p->bk) == chunksize(p));
      dl_assert_else(debug_holds_header(m, p, size), return);
      q = next_chunk(p);
      if (q->head != FENCEPOST_HEAD)
        do_check_inuse_chunk(m, q);
    }
  }
}

/* Is chunk x in a bin? */
static int bin_find(heap_t *m, chunk_t *x) {
  size_t size = chunksize(x);
  if (is_small(size)) {
    binmap_t sidx = small_index(size);
    chunk_t *b = smallbin_at(m, sidx);
    if (smallmap_is_marked(m, sidx)) {
      chunk_t *p = b;
      do {
        if (p == x)
          return 1;
        dl_assert_else(debug_link_ok(m, p->fd, size), return 0);
      } while ((p = p->fd) != b);
    }
  } else {
    binmap_t tidx = compute_tree_index(size);
    if (treemap_is_marked(m, tidx)) {
      tchunk_t *t = *treebin_at(m, tidx);
      size_t sizebits = size << leftshift_for_tree_index(tidx);
      while (t != 0 && chunksize(t) != size) {
        dl_assert_else(debug_holds_links(m, t), return 0);
        t = t->child[(sizebits >> (SIZE_T_BITSIZE - SIZE_T_ONE)) & 1];
        sizebits <<= 1;
      }
      if (t != 0) {
        tchunk_t *u = t;
        do {
          if (u == (tchunk_t *)x)
            return 1;
          dl_assert_else(debug_holds_links(m, u->fd), return 0);
        } while ((u = u->fd) != t);
      }
    }
  }
  return 0;
}

/* Walk every chunk of every segment; return the bytes in free chunks (top included). */
static size_t traverse_and_check(heap_t *m) {
  size_t sum = 0;
  if (is_initialized(m)) {
    segment_t *s = &m->seg;
    sum += m->topsize + TOP_FOOT_SIZE;
    while (s != 0) {
      chunk_t *q = align_as_chunk(s->base);
      chunk_t *lastq = 0;
      dl_assert(pinuse(q));
      while (span_holds_header(s->base, s->size, q) && q != m->top &&
             q->head != FENCEPOST_HEAD) {
        if (!ok_walk_step(m, s, q))
          return sum;
        sum += chunksize(q);
        if (is_inuse(q)) {
          dl_assert(!bin_find(m, q));
          do_check_inuse_chunk(m, q);
        } else {
          dl_assert(q == m->dv || bin_find(m, q));
          dl_assert(lastq == 0 || is_inuse(lastq)); /* no two free chunks in a row */
          do_check_free_chunk(m, q);
        }
        lastq = q;
        q = next_chunk(q);
      }
      s = s->next;
    }
  }
  return sum;
}

static void do_check_heap(heap_t *m) {
  binmap_t i;
  size_t total;
  struct direct_region *r;
  for (i = 0; i < NSMALLBINS; ++i)
    do_check_smallbin(m, i);
  for (i = 0; i < NTREEBINS; ++i)
    do_check_treebin(m, i);
  if (m->dvsize != 0) {
    do_check_any_chunk(m, m->dv);
    dl_assert(m->dvsize == chunksize(m->dv));
    dl_assert(m->dvsize >= MIN_CHUNK_SIZE);
    dl_assert(bin_find(m, m->dv) == 0);
  }
  if (m->top != 0) {
    do_check_top_chunk(m, m->top);
    dl_assert(m->topsize > 0);
    dl_assert(bin_find(m, m->top) == 0);
  }
  for (r = m->direct.next; r != &m->direct; r = r->next) {
    dl_assert(r->next->prev == r && r->prev->next == r);
    if (direct_is_live(r))
      do_check_mmapped_chunk(m, direct_chunk(r));
    else /* freed, but the system refused to take it back: behind every live record */
      dl_assert(r->check == kept_direct_check(r) &&
                (r->next == &m->direct || r->next->check == kept_direct_check(r->next)));
  }
  total = traverse_and_check(m);
  dl_assert(total <= m->footprint);
  dl_assert(m->footprint <= m->max_footprint);
  (void)total;
}

#define check_free_chunk(m, p) do_check_free_chunk(m, p)
#define check_inuse_chunk(m, p) do_check_inuse_chunk(m, p)
#define check_top_chunk(m, p) do_check_top_chunk(m, p)
#define check_malloced_chunk(m, mem, s) do_check_malloced_chunk(m, mem, s)
#define check_mmapped_chunk(m, p) do_check_mmapped_chunk(m, p)
#define check_heap(m) do_check_heap(m)
#else /* !DEBUG */
#define check_free_chunk(m, p) ((void)0)
#define check_inuse_chunk(m, p) ((void)0)
#define check_top_chunk(m, p) ((void)0)
#define check_malloced_chunk(m, mem, s) ((void)0)
#define check_mmapped_chunk(m, p) ((void)0)
#define check_heap(m) ((void)0)
#endif /* DEBUG */

/* ==== 11. Statistics and heap walking ======================================================= */

#if !NO_MALLINFO
/* Bytes of memory in directly mapped regions of m; *kept: those of them whose block was freed
   (release_direct), free memory the heap holds. */
static size_t direct_bytes(heap_t *m, size_t *kept) {
  size_t sum = 0;
  struct direct_region *r;
  *kept = 0;
  for (r = m->direct.next; r != 0 && r != &m->direct; r = r->next) {
    sum += r->length;
    if (!direct_is_live(r))
      *kept += r->length;
  }
  return sum;
}

static struct mallinfo internal_mallinfo(heap_t *m) {
  struct mallinfo nm;
  memset(&nm, 0, sizeof(nm));
  ensure_initialization();
  if (!PREACTION(m)) {
    check_heap(m);
    if (is_initialized(m)) {
      size_t nfree = SIZE_T_ONE; /* top */
      size_t kept;
      size_t mapped = direct_bytes(m, &kept);
      size_t mfree = m->topsize + TOP_FOOT_SIZE + kept;
      segment_t *s = &m->seg;
      while (s != 0) {
        chunk_t *q = align_as_chunk(s->base);
        while (span_holds_header(s->base, s->size, q) && q != m->top &&
               q->head != FENCEPOST_HEAD) {
          if (!ok_walk_step(m, s, q)) { /* reported; returns only with PROCEED_ON_ERROR */
            POSTACTION(m);
            return nm;
          }
          if (!is_inuse(q)) {
            mfree += chunksize(q);
            ++nfree;
          }
          q = next_chunk(q);
        }
        s = s->next;
      }
      /* Segment bookkeeping (records, fenceposts) counts as in use, so that
         arena + hblkhd == footprint and uordblks + fordblks == footprint. */
      nm.arena = (MALLINFO_FIELD_TYPE)(m->footprint - mapped);
      nm.ordblks = (MALLINFO_FIELD_TYPE)nfree;
      nm.hblkhd = (MALLINFO_FIELD_TYPE)mapped;
      nm.usmblks = (MALLINFO_FIELD_TYPE)m->max_footprint;
      nm.uordblks = (MALLINFO_FIELD_TYPE)(m->footprint - mfree);
      nm.fordblks = (MALLINFO_FIELD_TYPE)mfree;
      nm.keepcost = (MALLINFO_FIELD_TYPE)m->topsize;
    }
    POSTACTION(m);
  }
  return nm;
}
#endif /* !NO_MALLINFO */

#if !NO_MALLOC_STATS
/* Append "label: value\n" to buf. */
static size_t stats_line(char *buf, size_t at, size_t cap, const char *label, size_t value) {
  char digits[24];
  size_t n = 0;
  while (*label != 0 && at + 1 < cap)
    buf[at++] = *label++;
  do {
    digits[n++] = (char)('0' + (value % 10U));
    value /= 10U;
  } while (value != 0);
  while (n > 0 && at + 1 < cap)
    buf[at++] = digits[--n];
  if (at + 1 < cap)
    buf[at++] = '\n';
  buf[at] = 0;
  return at;
}
#endif /* !NO_MALLOC_STATS */

/* malloc_stats' three figures, summed over the heaps passed to add_heap_usage. */
struct heap_usage {
  size_t max_footprint, footprint, in_use;
};

/* Add heap m's figures to *u (m's lock taken). */
static void add_heap_usage(heap_t *m, void *u_arg) {
#if !NO_MALLOC_STATS
  struct heap_usage *u = (struct heap_usage *)u_arg;
  ensure_initialization();
  if (!PREACTION(m)) {
    size_t used = 0;
    check_heap(m);
    if (is_initialized(m)) {
      segment_t *s = &m->seg;
      u->max_footprint += m->max_footprint;
      u->footprint += m->footprint;
      used = m->footprint - (m->topsize + TOP_FOOT_SIZE);
      while (s != 0) {
        chunk_t *q = align_as_chunk(s->base);
        while (span_holds_header(s->base, s->size, q) && q != m->top &&
               q->head != FENCEPOST_HEAD) {
          if (!ok_walk_step(m, s, q))
            goto walked; /* reported; reached only with PROCEED_ON_ERROR */
          if (!is_inuse(q))
            used -= chunksize(q);
          q = next_chunk(q);
        }
        s = s->next;
      }
    }
  walked:
    u->in_use += used;
    POSTACTION(m);
  }
#else
  (void)m;
  (void)u_arg;
#endif /* NO_MALLOC_STATS */
}

/* Print what add_heap_usage gathered (outside every lock). */
static void print_heap_usage(const struct heap_usage *u) {
#if !NO_MALLOC_STATS
  char text[160];
  size_t at = 0;
  at = stats_line(text, at, sizeof(text), "max system bytes = ", u->max_footprint);
  at = stats_line(text, at, sizeof(text), "system bytes     = ", u->footprint);
  at = stats_line(text, at, sizeof(text), "in use bytes     = ", u->in_use);
  MALLOC_STATS_WRITE(text, at);
#else
  (void)u;
#endif /* NO_MALLOC_STATS */
}

#if MALLOC_INSPECT_ALL
typedef void (*inspect_handler)(void *, void *, size_t, void *);

/* Report every chunk of every segment, then every directly mapped chunk, to handler. */
static void internal_inspect_all(heap_t *m, inspect_handler handler, void *arg) {
  struct direct_region *r;
  if (is_initialized(m)) {
    chunk_t *top = m->top;
    segment_t *s;
    for (s = &m->seg; s != 0; s = s->next) {
      chunk_t *q = align_as_chunk(s->base);
      while (span_holds_header(s->base, s->size, q) && q->head != FENCEPOST_HEAD) {
        chunk_t *next;
        size_t sz = chunksize(q);
        if (!ok_walk_step(m, s, q))
          return;
        next = next_chunk(q);
        if (is_inuse(q)) { /* [start, end) is exactly the block's usable memory */
          size_t used = sz - CHUNK_OVERHEAD;
          handler(chunk2mem(q), (char *)chunk2mem(q) + used, used, arg);
        } else {
          /* Skip the bin links, so a handler may clear the rest of a free chunk. */
          void *start = (char *)q + (is_small(sz) ? sizeof(chunk_t) : sizeof(tchunk_t));
          if (start < (void *)next) /* a tiny free chunk may have no room past its links */
            handler(start, next, 0, arg);
        }
        if (q == top)
          break;
        q = next;
      }
    }
  }
  for (r = m->direct.next; r != 0 && r != &m->direct; r = r->next) {
    chunk_t *p = direct_chunk(r);
    size_t sz = chunksize(p);
    if (direct_is_live(r)) { /* a live block: its usable memory */
      size_t used = sz - MMAP_CHUNK_OVERHEAD;
      handler(chunk2mem(p), (char *)chunk2mem(p) + used, used, arg);
    } else /* freed, but the system refused to take the region back */
      handler(chunk2mem(p), chunk_plus_offset(p, sz), 0, arg);
  }
}
#endif /* MALLOC_INSPECT_ALL */

/* ==== 12. Bin operations ==================================================================== */

/* Small bins: push at the front, unlink anywhere, every neighbour link checked first. */
static inline void insert_small_chunk(heap_t *m, chunk_t *p, size_t s) {
  binmap_t i = small_index(s);
  chunk_t *b = smallbin_at(m, i);
  chunk_t *f = b;
  dl_assert(s >= MIN_CHUNK_SIZE);
  if (!smallmap_is_marked(m, i))
    mark_smallmap(m, i);
  else if (RTCHECK(ok_link(m, b->fd)))
    f = b->fd;
  else {
    CORRUPTION(m, b->fd, "corrupted small bin link");
    return;
  }
  b->fd = p;
  f->bk = p;
  p->fd = f;
  p->bk = b;
}

static inline void unlink_small_chunk(heap_t *m, chunk_t *p, size_t s) {
  chunk_t *f = p->fd;
  chunk_t *b = p->bk;
  binmap_t i = small_index(s);
  chunk_t *bin = smallbin_at(m, i);
  dl_assert(p != b);
  dl_assert(p != f);
  dl_assert(chunksize(p) == small_index2size(i));
  if (RTCHECK(f == bin || (ok_link(m, f) && f->bk == p))) {
    if (b == f) {
      clear_smallmap(m, i);
      return;
    }
    if (RTCHECK(b == bin || (ok_link(m, b) && b->fd == p))) {
      f->bk = b;
      b->fd = f;
      return;
    }
  }
  CORRUPTION(m, p, "corrupted free chunk links (small)");
}

/* Unlink p, known to be the first chunk of bin b (index i). */
static inline void unlink_first_small_chunk(heap_t *m, chunk_t *b, chunk_t *p, binmap_t i) {
  chunk_t *f = p->fd;
  dl_assert(p != b);
  dl_assert(p != f);
  dl_assert(chunksize(p) == small_index2size(i));
  if (b == f)
    clear_smallmap(m, i);
  else if (RTCHECK(ok_link(m, f) && f->bk == p)) {
    f->bk = b;
    b->fd = f;
  } else
    CORRUPTION(m, p, "corrupted free chunk links (small bin head)");
}

/* Make p (size s) the designated victim, filing the old one in its small bin.  Callers only
   get here when the old dv is smaller than a small request, so it is small. */
static inline void replace_dv(heap_t *m, chunk_t *p, size_t s) {
  size_t dvs = m->dvsize;
  dl_assert(is_small(dvs));
  if (dvs != 0)
    insert_small_chunk(m, m->dv, dvs);
  m->dvsize = s;
  m->dv = p;
}

/* Tree bins. */
/* A tree link read from a free chunk (a child, a root) must lead into the heap before it is
   followed: a write after free may have changed it.  Reports the corruption otherwise. */
static inline int tree_link_ok(heap_t *m, tchunk_t *t) {
  if (RTCHECK(ok_link(m, t)))
    return 1;
  CORRUPTION(m, t, "corrupted tree bin (a link leads out of the heap)");
  return 0;
}

static void insert_large_chunk(heap_t *m, tchunk_t *x, size_t s) {
  binmap_t i = compute_tree_index(s);
  tchunk_t **h = treebin_at(m, i);
  x->index = i;
  x->child[0] = x->child[1] = 0;
  if (!treemap_is_marked(m, i)) {
    mark_treemap(m, i);
    *h = x;
    x->parent = (tchunk_t *)h; /* the root's parent is its bin slot */
    x->fd = x->bk = x;
  } else {
    tchunk_t *t = *h;
    size_t bits = s << leftshift_for_tree_index(i);
    for (;;) {
      if (chunksize(t) != s) {
        tchunk_t **c = &(t->child[(bits >> (SIZE_T_BITSIZE - SIZE_T_ONE)) & 1]);
        bits <<= 1;
        if (*c != 0) {
          if (!tree_link_ok(m, *c))
            break;
          t = *c;
        } else if (RTCHECK(ok_address(m, c))) {
          *c = x;
          x->parent = t;
          x->fd = x->bk = x;
          break;
        } else {
          CORRUPTION(m, c, "corrupted tree bin");
          break;
        }
      } else { /* same size: join the ring behind t, outside the tree */
        tchunk_t *f = t->fd;
        if (RTCHECK(ok_link(m, t) && ok_link(m, f))) {
          t->fd = f->bk = x;
          x->fd = f;
          x->bk = t;
          x->parent = 0;
          break;
        } else {
          CORRUPTION(m, t, "corrupted tree bin ring");
          break;
        }
      }
    }
  }
}

/* Remove x from its tree bin.  If x has ring siblings, one of them takes its place in the
   tree; otherwise its place goes to its rightmost-deepest descendant (any leaf would keep the
   trie ordered, and this one is found without comparisons). */
static void unlink_large_chunk(heap_t *m, tchunk_t *x) {
  tchunk_t *xp = x->parent;
  tchunk_t *r;
  if (x->bk != x) {
    tchunk_t *f = x->fd;
    r = x->bk;
    if (RTCHECK(ok_link(m, f) && ok_link(m, r) && f->bk == x && r->fd == x)) {
      f->bk = r;
      r->fd = f;
    } else {
      CORRUPTION(m, x, "corrupted free chunk links (tree ring)");
      return;
    }
  } else {
    tchunk_t **rp;
    if (((r = *(rp = &(x->child[1]))) != 0) || ((r = *(rp = &(x->child[0]))) != 0)) {
      tchunk_t **cp;
      if (!tree_link_ok(m, r))
        return;
      while ((*(cp = &(r->child[1])) != 0) || (*(cp = &(r->child[0])) != 0))
        if (!tree_link_ok(m, r = *(rp = cp)))
          return;
      if (RTCHECK(ok_address(m, rp)))
        *rp = 0;
      else {
        CORRUPTION(m, rp, "corrupted tree bin");
        return;
      }
    }
  }
  if (xp != 0) { /* x was the tree node: put r where x was */
    tchunk_t **h;
    if (!RTCHECK(x->index < NTREEBINS)) { /* a word written into the free chunk */
      CORRUPTION(m, x, "corrupted tree chunk (bin index)");
      return;
    }
    h = treebin_at(m, x->index);
    if (x == *h) {
      if ((*h = r) == 0)
        clear_treemap(m, x->index);
    } else if (RTCHECK(ok_link(m, xp))) {
      if (xp->child[0] == x)
        xp->child[0] = r;
      else
        xp->child[1] = r;
    } else {
      CORRUPTION(m, xp, "corrupted tree parent");
      return;
    }
    if (r != 0) {
      if (RTCHECK(ok_link(m, r))) {
        tchunk_t *c0, *c1;
        r->parent = xp;
        if ((c0 = x->child[0]) != 0) {
          if (RTCHECK(ok_link(m, c0))) {
            r->child[0] = c0;
            c0->parent = r;
          } else
            CORRUPTION(m, c0, "corrupted tree child");
        }
        if ((c1 = x->child[1]) != 0) {
          if (RTCHECK(ok_link(m, c1))) {
            r->child[1] = c1;
            c1->parent = r;
          } else
            CORRUPTION(m, c1, "corrupted tree child");
        }
      } else
        CORRUPTION(m, r, "corrupted tree node");
    }
  }
}

static inline void insert_chunk(heap_t *m, chunk_t *p, size_t s) {
  if (is_small(s))
    insert_small_chunk(m, p, s);
  else
    insert_large_chunk(m, (tchunk_t *)p, s);
}

static inline void unlink_chunk(heap_t *m, chunk_t *p, size_t s) {
  if (is_small(s))
    unlink_small_chunk(m, p, s);
  else
    unlink_large_chunk(m, (tchunk_t *)p);
}

/* ==== 13. Getting and releasing system memory ===============================================
   Segments come from os_map (or MORECORE for the global heap) in multiples of the
   granularity; large chunks come one region each from os_direct_map.  Every region is given
   back whole, through os_unmap, with the pointer and length it was obtained with, unless
   HAVE_PARTIAL_MUNMAP says the system allows more (then adjacent segments merge and top is
   trimmed from the end of its segment, as dlmalloc does on POSIX).                         */

/* Adjacent segments may be merged when they came from a contiguous MORECORE, or from mmap on
   a system that can later release a merged span in one call. */
#define may_merge_segments(flags) (HAVE_PARTIAL_MUNMAP || ((flags) & SEG_MMAPPED) == 0)

/* Does finding which of heap m's segments holds an address walk its segment list (the link
   checks, section 9)?  Not without the checks (INSECURE), nor for the global heap and the
   arenas where the segment map names their granules; mspaces have no map. */
#if INSECURE
#define walks_segments(m) ((void)(m), 0)
#elif SEGMENT_MAP
#define walks_segments(m) (!is_arena(m))
#else
#define walks_segments(m) ((void)(m), 1)
#endif

/* Does heap m grow by a part of its footprint (unmerged_segment_size)?  Where it walks its
   segments and they may not merge: PORTABLE ports but WebAssembly (whose memory only grows,
   and whose regions merge), Win32, and mspaces on POSIX, whose regions merge only where the
   system happens to place them next to each other (two mspaces growing by turns made one
   segment per page: an outside review). */
#define grows_by_part(m) (walks_segments(m) && (!may_merge_segments(SEG_MMAPPED) || !PORTABLE))
/* ... and has a top that cannot shrink from its segment's end? */
#define keeps_top_whole(m) (grows_by_part(m) && !may_merge_segments(SEG_MMAPPED))

/* How much to map for a new segment of heap m, when at least `least` is needed.  A segment
   that never merges with its neighbours stays a link of the heap's segment list, which frees
   and link checks walk where the map does not serve, so growing by the granularity alone made
   one link per unit: an outside review's Rust mspace of 160 MB had 2,500 of them, and each
   free outside the newest cost a walk of 200 microseconds.  Such a heap grows by at least a
   quarter of its footprint instead, and its segments number about the logarithm of it.  What
   the program does not use of the rest stays in top, untouched (only address space where the
   system commits pages lazily); blocks past the mmap threshold still get their own regions
   (internal_malloc), and the caller asks for `least` alone when more is not to be had. */
static size_t unmerged_segment_size(heap_t *m, size_t least) {
  size_t quarter = m->footprint / 4;
  if (!grows_by_part(m) || !is_initialized(m) || quarter <= least)
    return least;
  return granularity_align(quarter);
}

static void note_region(heap_t *m, char *base, size_t size) {
  if (m->least_addr == 0 || base < m->least_addr)
    m->least_addr = base;
  if (base + size > m->max_addr)
    m->max_addr = base + size;
}

/* The arenas (the global heap among them) share one footprint limit and one peak, while each
   grows under its own lock: their growth is counted under global_lock. */
#if !ONLY_MSPACES && HEAP_SLOTS > 1
#define shares_footprint(m) is_arena(m)
static size_t arenas_peak; /* the largest arenas_footprint() after a growth (global_lock) */
#else
#define shares_footprint(m) 0
#endif

/* Count size bytes that heap m obtained (global_lock held if m shares its footprint). */
static void count_footprint(heap_t *m, size_t size) {
  if ((m->footprint += size) > m->max_footprint)
    m->max_footprint = m->footprint;
#if !ONLY_MSPACES && HEAP_SLOTS > 1
  if (shares_footprint(m)) {
    size_t total = arenas_footprint();
    if (total > arenas_peak)
      arenas_peak = total;
  }
#endif
}

static void add_footprint(heap_t *m, size_t size) {
  if (shares_footprint(m))
    lock_acquire(&global_lock);
  count_footprint(m, size);
  if (shares_footprint(m))
    lock_release(&global_lock);
}

/* Would obtaining size more bytes break the footprint limit (or wrap)?  The global
   functions' limit (the global heap's) counts every arena's memory. */
static int exceeds_limit(heap_t *m, size_t size) {
  size_t footprint = m->footprint, limit = m->footprint_limit, fp;
#if !ONLY_MSPACES
  if (is_arena(m) && HEAP_SLOTS > 1) {
    footprint = arenas_footprint();
    limit = gm->footprint_limit;
  }
#endif
  fp = footprint + size;
  return limit != 0 && (fp <= footprint || fp > limit);
}

/* Heap m is about to map size bytes: count them now, in one step with the check of the
   footprint limit under global_lock, so that arenas growing at the same moment cannot pass
   the limit together on the same remainder; 0 (nothing counted) if the limit does not let
   them in.  The peaks follow once the map has succeeded (mapped_reserved); a failed map gives
   the room back (drop_footprint).  Counting after the map instead left a region over the
   limit counted anyway whenever the system refused to take it back.  mmap_resize reserves a
   growth the same way before it remaps, and drops a shrink after: the count is never below
   what the heaps hold. */
static int reserve_footprint(heap_t *m, size_t size) {
  int fits;
  if (shares_footprint(m))
    lock_acquire(&global_lock);
  fits = !exceeds_limit(m, size);
  if (fits)
    m->footprint += size;
  if (shares_footprint(m))
    lock_release(&global_lock);
  return fits;
}

/* Count size bytes less: memory given back, or room reserved for a map that failed. */
static void drop_footprint(heap_t *m, size_t size) {
  if (shares_footprint(m))
    lock_acquire(&global_lock);
  m->footprint -= size;
  if (shares_footprint(m))
    lock_release(&global_lock);
}

/* The reserved room is mapped (or the map failed): the peaks, or the room given back. */
static char *mapped_reserved(heap_t *m, char *base, size_t size) {
  if (base == CMFAIL)
    drop_footprint(m, size);
  else
    add_footprint(m, 0);
  return base;
}

/* ---- Directly mapped chunks ---- */

static size_t direct_region_size(size_t nb) {
  return page_align(nb + DIRECT_HEADER_SIZE + CHUNK_ALIGN_MASK + MMAP_FOOT_PAD);
}

/* Format the chunk that follows record r, which describes region [base, base + length): its
   header, its two trailing fenceposts, and the record itself. */
static chunk_t *format_direct_chunk(heap_t *m, struct direct_region *r, char *base,
                                    size_t length) {
  chunk_t *p = direct_chunk(r);
  size_t psize = (size_t)((base + length) - (char *)p) - MMAP_FOOT_PAD;
  p->prev_foot = (size_t)((char *)p - (char *)r);
  p->head = psize; /* neither in-use bit: "directly mapped" */
  mark_inuse_foot(m, p, psize);
  chunk_plus_offset(p, psize)->head = FENCEPOST_HEAD;
  chunk_plus_offset(p, psize + SIZE_T_SIZE)->head = 0;
  r->base = base;
  r->length = length;
  r->check = direct_check(r);
  (void)m;
  return p;
}

/* Put record r into a ring of direct regions, after record `after`. */
static void link_direct_after(struct direct_region *after, struct direct_region *r) {
  r->prev = after;
  r->next = after->next;
  after->next->prev = r;
  after->next = r;
}
#define link_direct(m, r) link_direct_after(&(m)->direct, (r)) /* live records go first */

static void unlink_direct(struct direct_region *r) {
  r->prev->next = r->next;
  r->next->prev = r->prev;
}

/* A region whose block was freed but which the system refused to take back goes to the
   ring's end, behind every live record, with the freed check word. */
static void keep_direct(heap_t *m, struct direct_region *r) {
  r->check = kept_direct_check(r);
  link_direct_after(m->direct.prev, r);
}

/* The smallest kept region (keep_direct) of at least length bytes, taken out of the ring; 0
   if there is none.  Refusing an unmap is always allowed (malloc.h section 6): without this,
   each large block freed on such a port would leave its region unused until teardown. */
static struct direct_region *take_kept_direct(heap_t *m, size_t length) {
  struct direct_region *r, *best = 0;
  /* The records lie in freed blocks' memory: each link is checked before it is followed, and
     the walk stops at the first live record. */
  for (r = m->direct.prev; r != 0 && r != &m->direct && !direct_is_live(r); r = r->prev) {
    if (r->check != kept_direct_check(r) || r->next->prev != r ||
        (r->prev != &m->direct && !ok_address(m, r->prev))) {
      CORRUPTION(m, r, "directly mapped region list damaged");
      return 0;
    }
    if (r->length >= length && (best == 0 || r->length < best->length))
      best = r;
  }
  if (best != 0) {
    if (best->prev->next != best) {
      CORRUPTION(m, best, "directly mapped region list damaged");
      return 0;
    }
    unlink_direct(best);
  }
  return best;
}

static void *mmap_alloc(heap_t *m, size_t nb) {
  size_t length = direct_region_size(nb);
  if (length > nb) { /* length <= nb: wrapped */
    struct direct_region *kept = take_kept_direct(m, length);
    char *mm;
    struct direct_region *r;
    chunk_t *p;
    if (kept != 0) { /* still counted in the footprint */
      mm = kept->base;
      length = kept->length;
    } else if (!reserve_footprint(m, length) ||
               (mm = mapped_reserved(m, (char *)os_direct_map(length), length)) == CMFAIL) {
      return 0;
    }
    r = (struct direct_region *)mm;
    p = format_direct_chunk(m, r, mm, length);
#if MMAP_CLEARS
    if (kept != 0) /* a used region: calloc takes a mapped chunk for zeroed memory */
      memset(chunk2mem(p), 0, chunksize(p) - overhead_for(p));
#endif
    link_direct(m, r);
    note_region(m, mm, length);
    dl_assert(((size_t)chunk2mem(p) & CHUNK_ALIGN_MASK) == 0);
    check_mmapped_chunk(m, p);
    return chunk2mem(p);
  }
  return 0;
}

/* The record of directly mapped chunk p, or 0 if p's header does not lead to a live record
   of heap m.  The distance to the record is bounded before the record is read, and the record
   is trusted only when its check word and ring links agree. */
static struct direct_region *direct_region_of(heap_t *m, chunk_t *p) {
  size_t offset = p->prev_foot;
  struct direct_region *r;
  if (offset < DIRECT_HEADER_SIZE || offset > DIRECT_HEADER_SIZE + CHUNK_ALIGN_MASK)
    return 0;
  r = (struct direct_region *)((char *)p - offset);
  if (!ok_address(m, r) || r->check != direct_check(r) || r->check == 0 ||
      (uintptr_t)p + chunksize(p) + MMAP_FOOT_PAD != (uintptr_t)(r->base + r->length) ||
      r->next->prev != r || r->prev->next != r)
    return 0;
  return r;
}

/* The live direct region of m whose memory holds the header of chunk p, or 0.  Only the
   records in the ring are read, never p: an address outside every segment is either in one
   of these regions or in memory the heap does not own (perhaps no longer mapped). */
static NOINLINE MAYBE_UNUSED struct direct_region *direct_region_holding(heap_t *m,
                                                                      const chunk_t *p) {
  struct direct_region *r;
  for (r = m->direct.next; r != 0 && r != &m->direct; r = r->next)
    if (span_holds_header(r->base, r->length, p))
      return r;
  return 0;
}

/* Unmap a directly mapped chunk.  If the system refuses, the region stays in the ring for
   the next large block that fits (take_kept_direct; teardown tries the unmap again), its
   record marked freed, so a second free is still caught. */
static void release_direct(heap_t *m, struct direct_region *r) {
  char *base = r->base;
  size_t length = r->length;
  forget_direct_footer(r); /* a port may hand the memory out as it is */
  lists_change_begin(m);
  unlink_direct(r);
  if (os_unmap(base, length) == 0)
    m->footprint -= length;
  else
    keep_direct(m, r);
  lists_change_end(m);
}

/* Resize directly mapped chunk oldp for nb bytes: in place when the surplus is modest, or by
   remapping where the system can.  Returns the chunk or 0. */
static chunk_t *mmap_resize(heap_t *m, chunk_t *oldp, size_t nb, int can_move) {
  size_t oldsize = chunksize(oldp);
  if (is_small(nb)) /* a direct region is never made that small */
    return 0;
  /* Kept: a block that fits with little to spare, and without mremap also one that a move
     left a quarter larger than asked for (realloc_move_size): its slack is for the next
     steps of its growth. */
  if (oldsize >= nb + SIZE_T_SIZE && ((oldsize - nb) <= (mparams.granularity << 1) ||
                                      (!HAVE_MREMAP && oldsize - nb <= oldsize / 4)))
    return oldp;
#if HAVE_MREMAP
  {
    struct direct_region *r = (struct direct_region *)((char *)oldp - oldp->prev_foot);
    char *oldbase = r->base;
    size_t oldlen = r->length;
    size_t record_at = (size_t)((char *)r - oldbase); /* memalign may have moved it */
    size_t newlen = page_align(nb + record_at + DIRECT_HEADER_SIZE + CHUNK_ALIGN_MASK +
                               MMAP_FOOT_PAD);
    if (newlen > nb && (newlen <= oldlen || reserve_footprint(m, newlen - oldlen))) {
      char *cp;
      unlink_direct(r); /* the neighbours' links must follow the record if it moves */
      cp = (char *)os_remap(oldbase, oldlen, newlen, can_move);
      if (cp != CMFAIL) {
        chunk_t *p;
        r = (struct direct_region *)(cp + record_at);
        p = format_direct_chunk(m, r, cp, newlen);
        if (chunksize(p) > oldsize)
          forget_footer(chunk_plus_offset(p, oldsize));
        link_direct(m, r);
        note_region(m, cp, newlen);
        if (newlen < oldlen)
          drop_footprint(m, oldlen - newlen);
        else
          add_footprint(m, 0); /* the peaks, now that the growth is mapped */
        check_mmapped_chunk(m, p);
        return p;
      }
      link_direct(m, r);
      if (newlen > oldlen)
        drop_footprint(m, newlen - oldlen); /* the growth reserved did not happen */
    }
  }
#else
  (void)m;
  (void)can_move;
#endif
  return 0;
}

/* ---- Top, bins and whole-heap state ---- */

static void init_top(heap_t *m, chunk_t *p, size_t psize) {
  size_t offset = align_offset(chunk2mem(p));
  p = chunk_plus_offset(p, offset);
  psize -= offset;
  m->top = p;
  m->topsize = psize;
  p->head = psize | PINUSE_BIT;
  /* The word after top holds TOP_FOOT_SIZE: not a chunk, but a size a checker can follow. */
  chunk_plus_offset(p, psize)->head = TOP_FOOT_SIZE;
  m->trim_check = mparams.trim_threshold;
  m->trim_setting = mparams.trim_setting;
}

static void init_bins(heap_t *m) {
  binmap_t i;
  for (i = 0; i < NSMALLBINS; ++i) {
    chunk_t *bin = smallbin_at(m, i);
    bin->fd = bin->bk = bin;
  }
}

#if !ONLY_MSPACES || PROCEED_ON_ERROR
/* Forget every chunk, segment and region of m (without releasing anything): the state of a
   heap that has not yet obtained memory. */
static void forget_all_memory(heap_t *m) {
  binmap_t i;
  m->smallmap = m->treemap = 0;
  m->dvsize = m->topsize = 0;
  m->dv = m->top = 0;
  m->seg.base = 0;
  m->seg.size = 0;
  m->seg.next = 0;
  m->seg.flags = 0;
  m->least_addr = m->max_addr = 0;
  m->footprint = 0;
  for (i = 0; i < NTREEBINS; ++i)
    *treebin_at(m, i) = 0;
  init_bins(m);
  init_heap_links(m);
#if !ONLY_MSPACES
  if (is_arena(m)) {
    segment_map_forget_heap(m);
    thread_cache_forget(m); /* the caches hold chunks of the memory forgotten here */
  }
#endif
}
#endif

#if PROCEED_ON_ERROR
/* After corruption: drop the damaged heap (leaking its memory) and carry on with a new one. */
static void reset_on_error(heap_t *m) { forget_all_memory(m); }
#endif

/* A new region [newbase, ...) was obtained right below the segment starting at oldbase and
   merged into it: carve nb bytes from its start and join the rest to the old first chunk. */
static void *prepend_alloc(heap_t *m, char *newbase, char *oldbase, size_t nb) {
  chunk_t *p = align_as_chunk(newbase);
  chunk_t *oldfirst = align_as_chunk(oldbase);
  size_t psize = (size_t)((char *)oldfirst - (char *)p);
  chunk_t *q = chunk_plus_offset(p, nb);
  size_t qsize = psize - nb;
  set_size_and_pinuse_of_inuse_chunk(m, p, nb);
  dl_assert((char *)oldfirst > (char *)q);
  dl_assert(pinuse(oldfirst));
  dl_assert(qsize >= MIN_CHUNK_SIZE);
  if (oldfirst == m->top) {
    size_t tsize = m->topsize += qsize;
    m->top = q;
    q->head = tsize | PINUSE_BIT;
    check_top_chunk(m, q);
  } else if (oldfirst == m->dv) {
    size_t dsize = m->dvsize += qsize;
    m->dv = q;
    set_size_and_pinuse_of_free_chunk(q, dsize);
  } else {
    if (!is_inuse(oldfirst)) {
      size_t nsize = chunksize(oldfirst);
      unlink_chunk(m, oldfirst, nsize);
      oldfirst = chunk_plus_offset(oldfirst, nsize);
      qsize += nsize;
    }
    set_free_with_pinuse(q, qsize, oldfirst);
    insert_chunk(m, q, qsize);
    check_free_chunk(m, q);
  }
  check_malloced_chunk(m, chunk2mem(p), nb);
  return chunk2mem(p);
}

/* Make the new region [tbase, tbase + tsize) the heap's current segment, with top in it.  The
   old top's segment is closed: its record (a copy of the current list head) is written into an
   in-use chunk at its end, followed by fenceposts, and what remains of the old top is filed
   as an ordinary free chunk. */
static void add_segment(heap_t *m, char *tbase, size_t tsize, flag_t flags) {
  char *old_top = (char *)m->top;
  segment_t *oldsp = segment_holding(m, old_top);
  segment_map_note(m, tbase, tsize);
  char *old_end = oldsp->base + oldsp->size;
  size_t ssize = pad_request(sizeof(segment_t));
  char *rawsp = old_end - (ssize + FOUR_SIZE_T_SIZES + CHUNK_ALIGN_MASK);
  size_t offset = align_offset(chunk2mem(rawsp));
  char *asp = rawsp + offset;
  char *csp = (asp < (old_top + MIN_CHUNK_SIZE)) ? old_top : asp;
  chunk_t *sp = (chunk_t *)csp;
  segment_t *ss = (segment_t *)(chunk2mem(sp));
  chunk_t *tnext = chunk_plus_offset(sp, ssize);
  chunk_t *p = tnext;

  init_top(m, (chunk_t *)tbase, tsize - TOP_FOOT_SIZE);

  set_size_and_pinuse_of_inuse_chunk(m, sp, ssize);
  *ss = m->seg; /* push the old head */
  m->seg.base = tbase;
  m->seg.size = tsize;
  m->seg.flags = flags;
  m->seg.next = ss;

  for (;;) { /* fenceposts to the end of the old segment */
    chunk_t *nextp = chunk_plus_offset(p, SIZE_T_SIZE);
    p->head = FENCEPOST_HEAD;
    if ((char *)(&(nextp->head)) < old_end)
      p = nextp;
    else
      break;
  }

  if (csp != old_top) {
    chunk_t *q = (chunk_t *)old_top;
    size_t psize = (size_t)(csp - old_top);
    chunk_t *tn = chunk_plus_offset(q, psize);
    set_free_with_pinuse(q, psize, tn);
    insert_chunk(m, q, psize);
  }
  check_top_chunk(m, m->top);
}

/* With MMAP_THRESHOLD_MAX, raise the mmap threshold to `mmap` and the trim threshold to
   `trim` (at most twice MMAP_THRESHOLD_MAX); neither comes down.  They are shared by every
   heap, so they change under global_lock; readers take the words as they are, a heuristic
   that is right either way.  Heap m's own trim point follows. */
static void raise_thresholds(heap_t *m, size_t mmap, size_t trim) {
  size_t cap = (size_t)MMAP_THRESHOLD_MAX > HALF_MAX_SIZE_T ? MAX_SIZE_T
                                                           : (size_t)MMAP_THRESHOLD_MAX * 2;
  if (trim > cap)
    trim = cap;
  lock_acquire(&global_lock);
  if (mparams.thresholds_adapt) {
    if (mparams.mmap_threshold < mmap)
      mparams.mmap_threshold = mmap;
    if (mparams.trim_threshold < trim)
      mparams.trim_threshold = trim;
  }
  lock_release(&global_lock);
  if (mparams.thresholds_adapt && m->trim_check < trim) /* MAX_SIZE_T (trimming failed) stays */
    m->trim_check = trim;
}

/* Obtain memory for a request of nb bytes that no free chunk can serve; 0 (errno untouched:
   internal_malloc sets it) if none is to be had. */
static void *sys_alloc(heap_t *m, size_t nb) {
  char *tbase = CMFAIL;
  size_t tsize = 0;
  flag_t seg_flags = 0;
  int refused = 0; /* the footprint limit refused the growth */
  size_t asize;

  ensure_initialization();

  /* Large requests get their own region (once the heap has a top to fall back on). */
  if (use_mmap(m) && nb >= mparams.mmap_threshold && m->topsize != 0) {
    void *mem = mmap_alloc(m, nb);
    if (mem != 0)
      return mem;
  }

  asize = granularity_align(nb + SYS_ALLOC_PADDING);
  if (asize <= nb || exceeds_limit(m, asize)) {
    return 0;
  }

#if HAVE_MORECORE
  /* Contiguous MORECORE: extend the current segment if the break is still where we left it. */
  if (!use_noncontiguous(m)) {
    char *br = CMFAIL;
    size_t ssize = asize;
    segment_t *ss = (m->top == 0) ? 0 : segment_holding(m, (char *)m->top);
    lock_acquire(&global_lock);
    if (ss == 0) {
      char *base = (char *)os_morecore(0);
      if (base != CMFAIL) {
        if (!is_page_aligned(base))
          ssize += page_align((size_t)base) - (size_t)base;
        if (exceeds_limit(m, ssize))
          refused = 1;
        else if (ssize > nb && ssize < HALF_MAX_SIZE_T &&
                 (br = (char *)os_morecore((ptrdiff_t)ssize)) == base) {
          tbase = base;
          tsize = ssize;
        }
      }
    } else {
      /* Only the part top cannot cover is needed. */
      ssize = granularity_align(nb - m->topsize + SYS_ALLOC_PADDING);
      if (exceeds_limit(m, ssize))
        refused = 1;
      else if (ssize < HALF_MAX_SIZE_T &&
               (br = (char *)os_morecore((ptrdiff_t)ssize)) == ss->base + ss->size) {
        tbase = br;
        tsize = ssize;
      }
    }
    if (tbase == CMFAIL && !refused) { /* someone else moved the break */
      if (br != CMFAIL) {
        if (ssize < HALF_MAX_SIZE_T && ssize < nb + SYS_ALLOC_PADDING) {
          size_t esize = granularity_align(nb + SYS_ALLOC_PADDING - ssize);
          if (esize < HALF_MAX_SIZE_T) {
            char *end = (char *)os_morecore((ptrdiff_t)esize);
            if (end != CMFAIL)
              ssize += esize;
            else {
              (void)os_morecore(-(ptrdiff_t)ssize);
              br = CMFAIL;
            }
          }
        }
      }
      if (br != CMFAIL) {
        tbase = br;
        tsize = ssize;
      } else
        disable_contiguous(m);
    }
    if (tbase != CMFAIL) /* checked and counted in one step, as in reserve_footprint */
      count_footprint(m, tsize);
    lock_release(&global_lock);
  }
#endif /* HAVE_MORECORE */

  if (HAVE_MMAP && tbase == CMFAIL && !refused) {
    size_t want = unmerged_segment_size(m, asize); /* asize is the least that will do */
    if (want != asize && reserve_footprint(m, want))
      tbase = mapped_reserved(m, (char *)os_map(want), want);
    if (tbase != CMFAIL)
      tsize = want;
    else if (!reserve_footprint(m, asize))
      refused = 1;
    else if ((tbase = mapped_reserved(m, (char *)os_map(asize), asize)) != CMFAIL)
      tsize = asize;
    if (tbase != CMFAIL)
      seg_flags = SEG_MMAPPED;
  }

#if HAVE_MORECORE
  if (tbase == CMFAIL && !refused && asize < HALF_MAX_SIZE_T) {
    /* A non-contiguous MORECORE region as a separate segment.  (The size check keeps the
       increment positive: a huge request must fail, not move the break down.) */
    char *br = CMFAIL, *end = CMFAIL;
    lock_acquire(&global_lock);
    if (!exceeds_limit(m, asize)) {
      br = (char *)os_morecore((ptrdiff_t)asize);
      end = (char *)os_morecore(0);
    }
    if (br != CMFAIL && end != CMFAIL && br < end) {
      size_t ssize = (size_t)(end - br);
      if (ssize > nb + TOP_FOOT_SIZE) {
        tbase = br;
        tsize = ssize;
        count_footprint(m, tsize);
      }
    }
    lock_release(&global_lock);
  }
#endif /* HAVE_MORECORE */

  if (tbase != CMFAIL) {
    if (m->trimmed_since_growth) { /* free() gave back memory the program wanted again */
      m->trimmed_since_growth = 0;
      raise_thresholds(m, 0, mparams.trim_threshold * 2);
    }
    note_region(m, tbase, tsize); /* counted in the footprint where it was obtained */
    m->fresh_base = tbase;
    m->fresh_size = tsize;
    ++m->regions_added;
    if (!is_initialized(m)) { /* the first segment */
      m->seg.base = tbase;
      m->seg.size = tsize;
      m->seg.flags = seg_flags;
      segment_map_note(m, tbase, tsize);
      m->magic = mparams.magic;
      m->release_checks = MAX_RELEASE_CHECK_RATE;
      init_bins(m);
      init_top(m, (chunk_t *)tbase, tsize - TOP_FOOT_SIZE);
    } else if (!may_merge_segments(seg_flags)) {
      /* Never merged: no search for a neighbour.  (With one, each growth of a heap walked all
         its segments, one per unit it ever grew by, so growing to N units took time in
         N squared: an outside review's Rust program spent 109 s growing to 2 GB.) */
      add_segment(m, tbase, tsize, seg_flags);
    } else {
      /* Does the new region extend the segment holding top? */
      segment_t *sp = &m->seg;
      while (sp != 0 && tbase != sp->base + sp->size)
        sp = sp->next;
      if (sp != 0 && !is_extern_segment(sp) && (sp->flags & SEG_MMAPPED) == seg_flags &&
          segment_holds(sp, m->top)) {
        sp->size += tsize;
        segment_map_note(m, sp->base, sp->size);
        init_top(m, m->top, m->topsize + tsize);
      } else {
        /* Does it sit right below a segment? */
        sp = &m->seg;
        while (sp != 0 && sp->base != tbase + tsize)
          sp = sp->next;
        if (sp != 0 && !is_extern_segment(sp) && (sp->flags & SEG_MMAPPED) == seg_flags) {
          char *oldbase = sp->base;
          sp->base = tbase;
          sp->size += tsize;
          segment_map_note(m, sp->base, sp->size);
          return prepend_alloc(m, tbase, oldbase, nb);
        }
        add_segment(m, tbase, tsize, seg_flags);
      }
    }

    if (nb < m->topsize) { /* carve the request from the new top */
      size_t rsize = m->topsize -= nb;
      chunk_t *p = m->top;
      chunk_t *r = m->top = chunk_plus_offset(p, nb);
      r->head = rsize | PINUSE_BIT;
      set_size_and_pinuse_of_inuse_chunk(m, p, nb);
      check_top_chunk(m, m->top);
      check_malloced_chunk(m, chunk2mem(p), nb);
      return chunk2mem(p);
    }
  }

  return 0;
}

/* Release every mapped segment, other than top's, that consists of one free chunk. */
static size_t release_unused_segments(heap_t *m) {
  size_t released = 0;
  size_t nsegs = 0;
  segment_t *pred = &m->seg;
  segment_t *sp;
  lists_change_begin(m);
  sp = pred->next;
  while (sp != 0) {
    char *base = sp->base;
    size_t size = sp->size;
    segment_t *next = sp->next; /* sp lives inside the segment: read it first */
    ++nsegs;
    if (is_mmapped_segment(sp) && !is_extern_segment(sp)) {
      chunk_t *p = align_as_chunk(base);
      size_t psize = chunksize(p);
      chunk_t *record = mem2chunk(sp); /* the chunk holding *sp */
      /* The free chunk must reach the record, wherever add_segment put it: where top had
         less than a chunk left, that is top's old start, up to a chunk below the usual
         place, and a test against the usual place kept such a segment for ever (an
         outside review found 11 to 30 of them, 55 to 118 MB, after threads freed all). */
      if (!is_inuse(p) && (char *)p + psize == (char *)record) {
        dl_assert(segment_holds(sp, (char *)sp));
        if (p == m->dv) {
          m->dv = 0;
          m->dvsize = 0;
        } else /* (a small chunk, where the granularity is below the tree bins' sizes) */
          unlink_chunk(m, p, psize);
        segment_map_forget(m, base, size);
        forget_footer(next_chunk(record)); /* it goes with the memory (forget_footers) */
        if (os_unmap(base, size) == 0) {
          released += size;
          m->footprint -= size;
          sp = pred; /* drop the record */
          sp->next = next;
        } else {
          mark_inuse_foot(m, record, chunksize(record));
          insert_chunk(m, p, psize); /* the system said no: keep it */
          segment_map_note(m, base, size);
        }
      }
    }
    pred = sp;
    sp = next;
  }
  lists_change_end(m);
  m->release_checks = (nsegs > (size_t)MAX_RELEASE_CHECK_RATE) ? nsegs
                                                                : (size_t)MAX_RELEASE_CHECK_RATE;
  return released;
}

/* The size of a top that fills the segment holding it. */
static size_t top_filling_segment(heap_t *m) {
  return (size_t)(m->seg.base + m->seg.size - (char *)align_as_chunk(m->seg.base)) -
         TOP_FOOT_SIZE;
}

/* In a heap whose top cannot shrink from its segment's end (keeps_top_whole), once top fills
   its segment, the segment goes back whole and top moves to the free chunk that ends the
   segment before it, which becomes the newest (its record, copied into m->seg, leaves the
   memory; repeated while the next one is free too).  release_unused_segments never takes the
   segment holding top, and as such heaps grow by a quarter of their footprint
   (unmerged_segment_size), that one segment would keep a quarter of a heap's peak after the
   program had freed everything (and an mspace's first segment, from the caller's buffer,
   kept one that overflowed: an outside review).  Top keeps at least pad bytes (sys_trim's,
   TOP_FOOT_SIZE included); asked: by malloc_trim or mspace_trim, not by free().  With the
   heap's lists being changed (lists_change_begin). */
static size_t release_top_segments(heap_t *m, size_t pad, int asked) {
  size_t released = 0;
  while (keeps_top_whole(m) && m->seg.next != 0 && is_mmapped_segment(&m->seg) &&
         !is_extern_segment(&m->seg) && m->top == align_as_chunk(m->seg.base)) {
    segment_t *before = m->seg.next; /* its record lies at its own end */
    chunk_t *record = mem2chunk(before), *q;
    char *end = before->base + before->size, *base = m->seg.base;
    size_t size = m->seg.size, qsize = record->prev_foot;
    segment_t kept;
    if (pinuse(record))
      break; /* (a record that add_segment put at top's old start follows a block in use) */
    q = chunk_minus_offset(record, qsize);
    if ((char *)q < before->base || (char *)q >= (char *)record || chunksize(q) != qsize ||
        !pinuse(q) || (size_t)(end - (char *)q) <= TOP_FOOT_SIZE ||
        (size_t)(end - (char *)q) < pad)
      break; /* (damage is left to the checks of the paths that use q) */
    /* Unless a trim asked for it, a segment past the trim threshold only for a top worth
       having: given up for the few bytes before a record, it came back at the next malloc,
       and a program freeing and allocating one block mapped and unmapped a quarter of its
       heap each time (an attack on this change: 100,000 maps).  (Smaller ones go when a
       release above leads here: free() alone does not, as top is then below the trim
       threshold.) */
    if (!asked && size >= mparams.trim_threshold && qsize < mparams.trim_threshold &&
        qsize < size / 2)
      break;
    kept = *before;
    if (q == m->dv) {
      m->dv = 0;
      m->dvsize = 0;
    } else
      unlink_chunk(m, q, qsize);
    segment_map_forget(m, base, size);
    if (os_unmap(base, size) != 0) {
      insert_chunk(m, q, qsize); /* the system said no: keep it */
      segment_map_note(m, base, size);
      break;
    }
    released += size;
    m->footprint -= size;
    forget_footer(next_chunk(record)); /* the record's chunk becomes top's */
    m->seg = kept;
    init_top(m, q, (size_t)(end - (char *)q) - TOP_FOOT_SIZE);
    check_top_chunk(m, m->top);
  }
  return released;
}

/* Give back free memory at the end of top beyond pad bytes, then unused segments.  asked: by
   malloc_trim or mspace_trim (release_top_segments), not by free(). */
static int sys_trim(heap_t *m, size_t pad, int asked) {
  size_t released = 0;
  ensure_initialization();
  if (pad < MAX_REQUEST && is_initialized(m)) {
    lists_change_begin(m);
    pad += TOP_FOOT_SIZE; /* keep room for closing the segment */
    if (m->topsize > pad) {
      size_t unit = mparams.granularity;
      size_t extra = ((m->topsize - pad + (unit - SIZE_T_ONE)) / unit - SIZE_T_ONE) * unit;
      segment_t *sp = segment_holding(m, (char *)m->top);
      if (extra != 0 && !is_extern_segment(sp)) {
        segment_map_forget(m, sp->base + sp->size - extra, extra); /* re-noted below */
        if (is_mmapped_segment(sp)) {
#if HAVE_PARTIAL_MUNMAP && HAVE_MMAP
          if (sp->size >= extra && !has_segment_link(m, sp->base + sp->size - extra, extra)) {
            size_t newsize = sp->size - extra;
#if HAVE_MREMAP
            if (os_remap(sp->base, sp->size, newsize, 0) != MFAIL ||
                os_unmap(sp->base + newsize, extra) == 0)
#else
            if (os_unmap(sp->base + newsize, extra) == 0)
#endif
              released = extra;
          }
#endif
        }
#if HAVE_MORECORE
        else {
#ifndef MORECORE_CANNOT_TRIM
          if (extra >= HALF_MAX_SIZE_T)
            extra = HALF_MAX_SIZE_T + SIZE_T_ONE - unit;
          lock_acquire(&global_lock);
          {
            char *old_br = (char *)os_morecore(0);
            if (old_br == sp->base + sp->size) { /* nobody else moved the break */
              char *rel_br = (char *)os_morecore(-(ptrdiff_t)extra);
              char *new_br = (char *)os_morecore(0);
              if (rel_br != CMFAIL && new_br < old_br)
                released = (size_t)(old_br - new_br);
            }
          }
          lock_release(&global_lock);
#endif
        }
#endif /* HAVE_MORECORE */
      }
      if (released != 0) {
        sp->size -= released;
        m->footprint -= released;
        init_top(m, m->top, m->topsize - released);
        check_top_chunk(m, m->top);
      }
      if (extra != 0 && !is_extern_segment(sp))
        segment_map_note(m, sp->base, sp->size);
    }
    if (HAVE_MMAP)
      released += release_top_segments(m, pad, asked);
    lists_change_end(m);
    if (HAVE_MMAP)
      released += release_unused_segments(m);
    /* Nothing given back: stop trying on every free until top changes (init_top).  But a
       top below a unit (a trim threshold below the granularity, as glibc's default is below
       the drop-in's) has nothing to give yet: try again once it is large enough (it stopped
       trimming until the heap next grew: an outside review). */
    if (released == 0 && m->topsize > m->trim_check)
      m->trim_check = m->topsize <= pad + mparams.granularity ? pad + mparams.granularity + 1
                                                              : MAX_SIZE_T;
    /* A top that cannot shrink from its segment's end is tried again once it fills the
       segment (release_top_segments); until then, nothing of it can go. */
    if (released == 0 && keeps_top_whole(m) && m->trim_check == MAX_SIZE_T &&
        m->top != align_as_chunk(m->seg.base))
      m->trim_check = top_filling_segment(m) - 1;
  }
  return released != 0;
}

/* malloc_trim's second step, after sys_trim: memory freed below a live block is neither top
   nor a whole segment, and stays mapped.  The pages wholly inside each free chunk go back to
   the system with their addresses kept (os_discard): the resident memory falls, the
   footprint does not, and the pages read as zeros when the heap next touches them, which it
   does only to write.  A chunk keeps its header and bin links (the first sizeof(tchunk_t)
   bytes), and the next chunk's prev_foot lies past its end, so the bins, the neighbours' checks
   and the lock-free paths that read a free neighbour's head see what they saw.  Top keeps
   pad bytes as sys_trim does; memory the caller gave (an extern segment) is the caller's and
   is left alone.  Only an explicit trim does it: a walk on every free that trims would cost
   more than it saves.  malloc_trim's result still says whether the footprint fell.
   The walk is the segments' chunks in address order, as mallinfo's is: it ends, and costs
   time in proportion to the heap's chunks.  (A walk of the tree bins looked up each chunk's
   segment, and a heap of 500,000 free chunks in 3,900 segments took a minute per trim with
   its lock held; a damaged ring needed a bound on the visits to end at all: an outside
   review.)  A free chunk's size was read from memory that a write after free may have
   changed, and pages of a block in use would come back as zeros: its footer and its
   successor's P bit must agree with it, or the walk stops there (reported).  (m's lock
   held.) */
static void discard_span(uintptr_t start, uintptr_t end) {
  size_t page = mparams.page_size;
  start = (start + (page - 1)) & ~(uintptr_t)(page - 1);
  end &= ~(uintptr_t)(page - 1);
  if (start < end)
    (void)os_discard((void *)start, (size_t)(end - start));
}

static void discard_free_pages(heap_t *m, size_t pad) {
  segment_t *s;
  if (!CAN_DISCARD_PAGES || !is_initialized(m) || pad >= MAX_REQUEST)
    return;
  for (s = &m->seg; s != 0; s = s->next) {
    chunk_t *q = align_as_chunk(s->base);
    if (is_extern_segment(s))
      continue;
    while (span_holds_header(s->base, s->size, q) && q->head != FENCEPOST_HEAD) {
      size_t size = chunksize(q);
      chunk_t *next;
      if (!ok_walk_step(m, s, q))
        return;
      next = chunk_plus_offset(q, size);
      if (q == m->top) {
        if (size > pad + sizeof(chunk_t))
          discard_span((uintptr_t)q + sizeof(chunk_t) + pad, (uintptr_t)next);
        break;
      }
      if (!is_inuse(q) && size >= sizeof(tchunk_t) + mparams.page_size) {
        if (next->prev_foot != size || pinuse(next)) {
          CORRUPTION(m, q, "free chunk damaged (found by malloc_trim)");
          return;
        }
        discard_span((uintptr_t)q + sizeof(tchunk_t), (uintptr_t)next);
      }
      q = next;
    }
  }
}

/* With FOOTERS, wipe the footer of every block of m before its memory leaves it: given back
   to a port that does not clear memory, or (an mspace made in a buffer) to its caller, who
   may free the buffer into another heap, whose malloc would hand the words out as they are.
   Every heap's tag mixes its (known) address with the one process-wide magic, so one such
   word would give away the footer of any block of any heap.  The walk stops quietly where a
   size is damaged: the heap is ending, and it is no longer the place to report it. */
#if FOOTERS
static void forget_footers(heap_t *m) {
  segment_t *s;
  struct direct_region *r;
  for (s = is_initialized(m) ? &m->seg : 0; s != 0; s = s->next) {
    chunk_t *q = align_as_chunk(s->base);
    while (span_holds_header(s->base, s->size, q) && q->head != FENCEPOST_HEAD &&
           walk_step_fits(m, s, q)) {
      if (is_inuse(q))
        forget_footer(next_chunk(q));
      if (q == m->top)
        break;
      q = next_chunk(q);
    }
  }
  for (r = m->direct.next; r != 0 && r != &m->direct; r = r->next)
    forget_direct_footer(r);
}
#else
#define forget_footers(m) ((void)(m))
#endif

/* Give back every region m obtained: directly mapped chunks first (their ring sentinel lives
   in m), then segments (each record is read before its segment goes; an mspace's own state
   lives in its oldest segment, which comes last).  MORECORE memory cannot be returned piece by
   piece and stays with the process.  Returns the bytes released. */
static size_t release_all_memory(heap_t *m) {
  size_t freed = 0;
  struct direct_region *r = m->direct.next;
  segment_t *sp = &m->seg;
  forget_footers(m);
  while (r != 0 && r != &m->direct) {
    struct direct_region *next = r->next;
    size_t length = r->length;
    if (os_unmap(r->base, length) == 0)
      freed += length;
    r = next;
  }
  while (sp != 0) {
    char *base = sp->base;
    size_t size = sp->size;
    flag_t flags = sp->flags;
    sp = sp->next;
    if ((flags & SEG_MMAPPED) && !(flags & SEG_EXTERN) && size != 0 &&
        os_unmap(base, size) == 0)
      freed += size;
  }
  return freed;
}

/* ==== 14. malloc, free, realloc and memalign internals ======================================
   Functions named internal_* expect the heap's lock to be held; heap_* take it themselves.
   Both the global heap and every mspace run on these, so each algorithm exists once.       */

/* Is size, read from free chunk p's header, its real size?  Bytes written past the previous
   block's end, or a write after free, may have changed it; the chunk after p must then still
   lie in one of m's segments and carry p's size as its footer.  (The address is formed in
   integers: a damaged size may lead anywhere.)  With m's lock held. */
static inline int ok_free_size(heap_t *m, chunk_t *p, size_t size) {
  chunk_t *next = (chunk_t *)((uintptr_t)p + size);
  return heap_holds_header(m, next) && next->prev_foot == size;
}

/* Take tree chunk v out of its bin and carve nb bytes from its start; v holds rsize bytes
   more than that.  A remainder big enough to be a chunk becomes the designated victim (small
   requests) or goes to a bin (large ones). */
static inline void *carve_tree_chunk(heap_t *m, tchunk_t *v, size_t nb, size_t rsize,
                                     int remainder_to_dv) {
  /* rsize was computed from v's size: a size below nb (damaged) made it wrap around. */
  if (RTCHECK(ok_address(m, v) && rsize + nb >= nb)) {
    chunk_t *r = chunk_plus_offset(v, nb);
    dl_assert(chunksize(v) == rsize + nb);
    if (RTCHECK(ok_next(v, r) && ok_free_size(m, (chunk_t *)v, rsize + nb))) {
      unlink_large_chunk(m, v);
      if (rsize < MIN_CHUNK_SIZE)
        set_inuse_and_pinuse(m, v, (rsize + nb));
      else {
        set_size_and_pinuse_of_inuse_chunk(m, v, nb);
        set_size_and_pinuse_of_free_chunk(r, rsize);
        if (remainder_to_dv)
          replace_dv(m, r, rsize);
        else
          insert_chunk(m, r, rsize);
      }
      return chunk2mem(v);
    }
  }
  CORRUPTION(m, v, "corrupted tree chunk");
  return 0;
}

/* Best fit for a large request among the tree bins: the smallest chunk of at least nb bytes,
   unless the designated victim fits better (then 0, and the caller uses dv). */
static void *tmalloc_large(heap_t *m, size_t nb) {
  tchunk_t *v = 0;
  size_t rsize = -nb; /* as unsigned: larger than any real remainder */
  tchunk_t *t;
  binmap_t idx = compute_tree_index(nb);
  if ((t = *treebin_at(m, idx)) != 0) {
    /* Walk down the trie along nb's bits, remembering the best fit so far and the deepest
       right subtree not taken (everything in it is larger than nb). */
    size_t sizebits = nb << leftshift_for_tree_index(idx);
    tchunk_t *rst = 0;
    for (;;) {
      tchunk_t *rt;
      size_t trem;
      if (!tree_link_ok(m, t))
        return 0;
      trem = chunksize(t) - nb;
      if (trem < rsize) {
        v = t;
        if ((rsize = trem) == 0)
          break;
      }
      rt = t->child[1];
      t = t->child[(sizebits >> (SIZE_T_BITSIZE - SIZE_T_ONE)) & 1];
      if (rt != 0 && rt != t)
        rst = rt;
      if (t == 0) {
        t = rst;
        break;
      }
      sizebits <<= 1;
    }
  }
  if (t == 0 && v == 0) { /* nothing in nb's bin: the root of the next non-empty one */
    binmap_t leftbits = left_bits(idx2bit(idx)) & m->treemap;
    if (leftbits != 0)
      t = *treebin_at(m, bit_index(least_bit(leftbits)));
  }
  while (t != 0) { /* the smallest chunk of the subtree */
    size_t trem;
    if (!tree_link_ok(m, t))
      return 0;
    trem = chunksize(t) - nb;
    if (trem < rsize) {
      rsize = trem;
      v = t;
    }
    t = leftmost_child(t);
  }
  if (v != 0 && rsize < (size_t)(m->dvsize - nb))
    return carve_tree_chunk(m, v, nb, rsize, 0);
  return 0;
}

/* A small request that no small bin or dv can serve: split the smallest tree chunk, and make
   the remainder the new designated victim. */
static void *tmalloc_small(heap_t *m, size_t nb) {
  tchunk_t *t, *v;
  size_t rsize;
  binmap_t i = bit_index(least_bit(m->treemap));
  v = t = *treebin_at(m, i);
  rsize = chunksize(t) - nb;
  while ((t = leftmost_child(t)) != 0) {
    size_t trem;
    if (!tree_link_ok(m, t))
      return 0;
    trem = chunksize(t) - nb;
    if (trem < rsize) {
      rsize = trem;
      v = t;
    }
  }
  return carve_tree_chunk(m, v, nb, rsize, 1);
}

/* The allocation algorithm:
   small request (under 256 bytes of chunk):
     1. an exact fit, or the next size up, from a small bin (no remainder worth keeping);
     2. if dv is too small: the next non-empty small bin, remainder becomes dv;
        or else the smallest tree chunk, remainder becomes dv;
   large request:
     1. the best fit from the tree bins, unless dv fits better;
   then, for both:
     3. dv, if it is large enough;
     4. top, if it is large enough;
     5. more memory from the system (sys_alloc), or a directly mapped region. */
static void *internal_malloc(heap_t *m, size_t bytes) {
  void *mem;
  size_t nb;
  if (bytes <= MAX_SMALL_REQUEST) {
    binmap_t idx;
    binmap_t smallbits;
    nb = request2size(bytes);
    idx = small_index(nb);
    smallbits = m->smallmap >> idx;

    if ((smallbits & 0x3U) != 0) { /* bin idx or idx + 1 */
      chunk_t *b, *p;
      idx += ~smallbits & 1; /* idx + 1 when idx is empty */
      b = smallbin_at(m, idx);
      p = b->fd;
      dl_assert(chunksize(p) == small_index2size(idx));
      unlink_first_small_chunk(m, b, p, idx);
      set_inuse_and_pinuse(m, p, small_index2size(idx));
      mem = chunk2mem(p);
      check_malloced_chunk(m, mem, nb);
      return mem;
    }
    if (nb > m->dvsize) {
      if (smallbits != 0) { /* the next non-empty small bin */
        chunk_t *b, *p, *r;
        size_t rsize;
        binmap_t leftbits = (smallbits << idx) & left_bits(idx2bit(idx));
        binmap_t i = bit_index(least_bit(leftbits));
        b = smallbin_at(m, i);
        p = b->fd;
        dl_assert(chunksize(p) == small_index2size(i));
        unlink_first_small_chunk(m, b, p, i);
        rsize = small_index2size(i) - nb;
        if (rsize < MIN_CHUNK_SIZE)
          set_inuse_and_pinuse(m, p, small_index2size(i));
        else {
          set_size_and_pinuse_of_inuse_chunk(m, p, nb);
          r = chunk_plus_offset(p, nb);
          set_size_and_pinuse_of_free_chunk(r, rsize);
          replace_dv(m, r, rsize);
        }
        mem = chunk2mem(p);
        check_malloced_chunk(m, mem, nb);
        return mem;
      }
      if (m->treemap != 0 && (mem = tmalloc_small(m, nb)) != 0) {
        check_malloced_chunk(m, mem, nb);
        return mem;
      }
    }
  } else if (bytes >= MAX_REQUEST) {
    nb = MAX_SIZE_T; /* no chunk is that large: sys_alloc fails it */
  } else {
    nb = pad_request(bytes);
    if (m->treemap != 0 && (mem = tmalloc_large(m, nb)) != 0) {
      check_malloced_chunk(m, mem, nb);
      return mem;
    }
  }

  if (nb <= m->dvsize) {
    size_t rsize = m->dvsize - nb;
    chunk_t *p = m->dv;
    if (rsize >= MIN_CHUNK_SIZE) { /* split dv */
      chunk_t *r = m->dv = chunk_plus_offset(p, nb);
      m->dvsize = rsize;
      set_size_and_pinuse_of_free_chunk(r, rsize);
      set_size_and_pinuse_of_inuse_chunk(m, p, nb);
    } else { /* use all of it */
      size_t dvs = m->dvsize;
      m->dvsize = 0;
      m->dv = 0;
      set_inuse_and_pinuse(m, p, dvs);
    }
    mem = chunk2mem(p);
    check_malloced_chunk(m, mem, nb);
    return mem;
  }
  /* A heap that grows by a quarter of its footprint (unmerged_segment_size) has a large top;
     where that cannot shrink from its segment's end, a block past the mmap threshold gets its
     own region even where top could hold it, as it would where top was small, so that its
     memory goes back when it is freed.  (Top serves it if the map fails, and where its
     segment is the first, which the caller sized or gave: create_mspace(capacity),
     create_mspace_with_base.) */
  if (keeps_top_whole(m) && nb >= mparams.mmap_threshold && nb < m->topsize && use_mmap(m) &&
      m->seg.next != 0 && !is_extern_segment(&m->seg)) {
    lists_change_begin(m);
    mem = mmap_alloc(m, nb);
    lists_change_end(m);
    if (mem != 0)
      return mem;
  }
  if (nb < m->topsize) { /* split top */
    size_t rsize;
    chunk_t *p = m->top, *r;
    if (UNLIKELY(!top_header_intact(m))) {
      CORRUPTION(m, p, "corrupted top chunk");
      return 0;
    }
    rsize = m->topsize -= nb;
    r = m->top = chunk_plus_offset(p, nb);
    r->head = rsize | PINUSE_BIT;
    set_size_and_pinuse_of_inuse_chunk(m, p, nb);
    mem = chunk2mem(p);
    check_top_chunk(m, m->top);
    check_malloced_chunk(m, mem, nb);
    return mem;
  }
  lists_change_begin(m);
  mem = sys_alloc(m, nb);
  lists_change_end(m);
  /* Before a request is refused, segments that hold nothing any more go back, and it is tried
     again: free() looks for them only now and then, and a program growing one block through
     a fixed pool got NULL with nineteen twentieths of it free (an outside review). */
  if (mem == 0 && HAVE_MMAP && release_unused_segments(m) != 0) {
    lists_change_begin(m);
    mem = sys_alloc(m, nb);
    lists_change_end(m);
  }
  if (mem == 0)
    MALLOC_FAILURE_ACTION;
  return mem;
}

/* Join free chunk p (size psize, not yet in any bin) with its free neighbours and file the
   result: into top, into dv, or into a bin.  The caller has validated p; the neighbours'
   links are checked as they are unlinked.  Returns the free chunk made, or 0 if it joined
   top (or a check failed). */
static ALWAYS_INLINE chunk_t *merge_and_file_inline(heap_t *m, chunk_t *p, size_t psize) {
  chunk_t *next = chunk_plus_offset(p, psize);
  dl_assert(!is_mmapped(p));
  if (!pinuse(p)) { /* merge with the previous chunk */
    size_t prevsize = p->prev_foot;
    chunk_t *prev = chunk_minus_offset(p, prevsize);
    psize += prevsize;
    p = prev;
    if (RTCHECK(ok_address(m, prev))) {
      if (p != m->dv)
        unlink_chunk(m, p, prevsize);
      else if ((next->head & INUSE_BITS) == INUSE_BITS) { /* dv grows; next stays in use */
        m->dvsize = psize;
        set_free_with_pinuse(p, psize, next);
        return p;
      }
    } else {
      CORRUPTION(m, prev, "corrupted previous chunk");
      return 0;
    }
  }
  if (RTCHECK(ok_address(m, next))) {
    if (!cinuse(next)) { /* merge with the next chunk */
      forget_footer(next); /* the freed block's, now inside the merged chunk */
      if (next == m->top) {
        size_t tsize = m->topsize += psize;
        m->top = p;
        p->head = tsize | PINUSE_BIT;
        if (p == m->dv) {
          m->dv = 0;
          m->dvsize = 0;
        }
        return 0;
      } else if (next == m->dv) {
        size_t dsize = m->dvsize += psize;
        m->dv = p;
        set_size_and_pinuse_of_free_chunk(p, dsize);
        return p;
      } else {
        size_t nsize = chunksize(next);
        psize += nsize;
        unlink_chunk(m, next, nsize);
        set_size_and_pinuse_of_free_chunk(p, psize);
        if (p == m->dv) {
          m->dvsize = psize;
          return p;
        }
      }
    } else
      set_free_with_pinuse(p, psize, next);
    insert_chunk(m, p, psize);
    check_free_chunk(m, p);
    return p;
  }
  CORRUPTION(m, next, "corrupted next chunk");
  return 0;
}

/* free() inlines the merge (internal_free); the colder callers share this copy. */
static void merge_and_file(heap_t *m, chunk_t *p, size_t psize) {
  (void)merge_and_file_inline(m, p, psize);
}

/* Why chunk p, which lies in none of m's segments, cannot be a directly mapped block of m in
   use, or 0.  p's header is read only once a live region of m is known to hold it, so a block
   already unmapped (its second free) or memory the heap never mapped is refused untouched. */
static NOINLINE MAYBE_UNUSED const char *mapped_chunk_problem(heap_t *m, chunk_t *p) {
  struct direct_region *r = direct_region_holding(m, p);
  if (r == 0)
    return "invalid pointer or double free (not in the heap's memory)";
  /* p's words may be anything: its distance to r is computed on integers, where no value
     makes the arithmetic undefined */
  if (!is_mmapped(p) || (uintptr_t)p - p->prev_foot != (uintptr_t)r ||
      direct_region_of(m, p) != r)
    return "invalid pointer or double free (mapped block)";
  return 0;
}

/* Does m hold the header of the chunk at a: in [lo, lo + span] (where a header in the segment
   holding top lies) or, for an arena, in a granule the map gives it, both tested inline; or in
   another of its segments (the walk, out of line)?  heap_holds_header with its tests inline,
   each made once. */
static ALWAYS_INLINE int header_in_heap(heap_t *m, uintptr_t lo, size_t span, const void *a) {
  return LIKELY((uintptr_t)a - lo <= span) ||
         segment_map_holds(m, a) ||
         segments_hold_header(m->seg.next, a);
}

/* Why chunk p cannot be a block in use of heap m, or 0 if it passes every cheap check.
   A word is read only where the checks before it have shown that one of m's segments (or
   mapped regions) holds it: a forged chunk on the stack or in a foreign mapping between two
   of the heap's regions is refused before its header is trusted.  held_next, if not 0: the
   caller has shown that m holds the headers of p and of held_next, the chunk that followed p
   when it looked (neither is looked up again while p's size still leads to held_next).
   cached: CACHED_BIT for a block the caller took from a cache, which must be marked cached
   (free_claimed), else 0: then a cached block is a double free. */
static ALWAYS_INLINE const char *inuse_chunk_problem_inline(heap_t *m, chunk_t *p,
                                                            chunk_t *held_next, size_t cached) {
#if INSECURE
  (void)m;
  (void)p;
  (void)held_next;
  (void)cached;
  return 0;
#else
  chunk_t *next;
  /* a header at lo .. lo + span lies in top's segment */
  uintptr_t lo = (uintptr_t)m->seg.base;
  size_t span = m->seg.size - TWO_SIZE_T_SIZES;
  if (((size_t)chunk2mem(p) & CHUNK_ALIGN_MASK) != 0)
    return "invalid pointer";
  if (UNLIKELY(m->seg.size < TWO_SIZE_T_SIZES)) /* span would wrap */
    return "invalid pointer (the heap has no memory)";
  if (held_next == 0 && !header_in_heap(m, lo, span, p))
    return mapped_chunk_problem(m, p);
  if (!ok_inuse(p))
    return "double free or invalid pointer (block is not in use)";
  if (is_mmapped(p)) /* a directly mapped chunk never lies in a segment */
    return "invalid pointer or double free (mapped block)";
#if THREAD_CACHE
  if (UNLIKELY((p->head & CACHED_BIT) != cached))
    return cached ? "heap corruption: a cached block lost its mark" : THREAD_CACHE_DOUBLE_FREE;
#else
  (void)cached;
#endif
  /* Sizes read from headers are multiples of the alignment, or damaged: a damaged one would
     lead to a misaligned header. */
  next = next_chunk(p);
  if ((chunksize(p) & CHUNK_ALIGN_MASK) != 0 || !ok_next(p, next) ||
      (next != held_next && !header_in_heap(m, lo, span, next)))
    return "corrupted block size";
  if (UNLIKELY(may_be_mspace_state(chunksize(p))) && is_mspace_state(p))
    return "invalid pointer (an mspace, not a block)";
  if (!ok_pinuse(next))
    return "double free or corrupted block (the next chunk says it is free)";
  if (UNLIKELY(follows_record(next)))
    return "invalid pointer (a segment's record, not a block)";
  if (!pinuse(p)) { /* the previous chunk is free: its size must match our back link */
    size_t prevsize = p->prev_foot;
    chunk_t *prev = chunk_minus_offset(p, prevsize);
    if ((prevsize & CHUNK_ALIGN_MASK) != 0 || !ok_next(prev, p) ||
        !header_in_heap(m, lo, span, prev) ||
        chunksize(prev) != prevsize || is_inuse(prev))
      return "double free or corrupted block (previous chunk)";
  }
  if (next == m->top) {
    if (UNLIKELY(!top_header_intact(m)))
      return "corrupted block header (next chunk)";
  } else if (!cinuse(next) && next != m->dv) {
    /* A free successor must end in a footer that repeats its size. */
    size_t nsize = chunksize(next);
    chunk_t *after = chunk_plus_offset(next, nsize);
    if ((nsize & CHUNK_ALIGN_MASK) != 0 || !ok_next(next, after) ||
        !header_in_heap(m, lo, span, after) || after->prev_foot != nsize || pinuse(after))
      return "corrupted block header (next chunk)";
  }
  return 0;
#endif
}

/* free() inlines the checks (internal_free); the colder callers share this copy. */
static const char *inuse_chunk_problem(heap_t *m, chunk_t *p) {
  return inuse_chunk_problem_inline(m, p, 0, 0);
}

/* free() left top above the trim point: give the excess back, and note it for sys_alloc's
   regrowth rule (MMAP_THRESHOLD_MAX, options in section 1). */
static void trim_after_free(heap_t *m) {
  if (m->trim_setting != mparams.trim_setting) { /* mallopt changed the threshold */
    m->trim_setting = mparams.trim_setting;
    m->trim_check = mparams.trim_threshold;
    if (m->topsize <= m->trim_check)
      return;
  }
  if (sys_trim(m, 0, 0) && mparams.thresholds_adapt)
    m->trimmed_since_growth = 1;
}

/* In a heap that grows by a quarter of its footprint (grows_by_part), a free that leaves a
   whole segment free gives it back at once, if the free chunk is at least the trim threshold,
   instead of at the next periodic look, MAX_RELEASE_CHECK_RATE large frees away (a program
   that freed all it had kept its large segments until then; the global heap and the arenas
   keep the periodic look, their segments being as large as their requests).  Free chunk c
   ends its segment when the chunk after it is a segment record (in use, of a record's size,
   followed by a fencepost); if c also starts it, release_unused_segments, which walks the
   segment list, confirms and releases it.  If it is the segment before top's, and top fills
   its own and is past the trim threshold (keeps_top_whole), sys_trim gives that back, and top
   moves into c (release_top_segments). */
static NOINLINE void release_freed_segment(heap_t *m, chunk_t *c) {
  chunk_t *record = chunk_plus_offset(c, chunksize(c));
  const segment_t *sp = (const segment_t *)chunk2mem(record);
  if (!ok_address(m, record) || !is_inuse(record) ||
      chunksize(record) != pad_request(sizeof(segment_t)) ||
      !ok_address(m, next_chunk(record)) || next_chunk(record)->head != FENCEPOST_HEAD)
    return;
  if (sp == m->seg.next && keeps_top_whole(m) && m->top == align_as_chunk(m->seg.base) &&
      m->topsize > mparams.trim_threshold)
    (void)sys_trim(m, 0, 0);
  else if (c == align_as_chunk(sp->base) && chunksize(c) >= mparams.trim_threshold)
    (void)release_unused_segments(m);
}

/* A directly mapped chunk of `size` bytes is being freed (heap m locked): with
   MMAP_THRESHOLD_MAX, raise the thresholds so that the next block of this size comes from the
   heap (options, section 1). */
static void adapt_thresholds(heap_t *m, size_t size) {
  if (mparams.thresholds_adapt && size > mparams.mmap_threshold &&
      size <= (size_t)MMAP_THRESHOLD_MAX)
    raise_thresholds(m, size, size * 2);
}

/* What a call on checked block p of heap m (lock held) must report: problem, what the checks
   found, or if none, the double free that a free into a cache makes of it by winning p first;
   otherwise 0, and p is claimed (heap_claim) for the caller. */
static inline const char *claim_checked(heap_t *m, chunk_t *p, const char *problem) {
  return problem == 0 && !heap_claim(m, p) ? THREAD_CACHE_DOUBLE_FREE : problem;
}

/* Free block p of heap m (lock held): internal_free, or free_claimed for a block taken from
   a thread cache or a remote list (section 16).  cached: as for inuse_chunk_problem_inline.
   A block of an arena is claimed by setting CACHED_BIT atomically, so that a free through the
   lock and one through a cache cannot both win; a block taken from a cache is claimed
   already, and keeps the mark until it is merged into the heap (a free racing this one finds
   it marked, and loses). */
static ALWAYS_INLINE void free_chunk(heap_t *m, chunk_t *p, const char *op, size_t cached) {
  const char *problem = inuse_chunk_problem_inline(m, p, 0, cached);
  size_t psize;
  chunk_t *c;
  if (problem != 0) {
    USAGE_ERROR(m, chunk2mem(p), op, problem);
    return;
  }
  if (cached == 0 && !heap_claim(m, p)) { /* a free into a cache won */
    USAGE_ERROR(m, chunk2mem(p), op, THREAD_CACHE_DOUBLE_FREE);
    return;
  }
  check_inuse_chunk(m, p);
  psize = chunksize(p);
  if (is_mmapped(p)) {
    adapt_thresholds(m, psize);
    release_direct(m, direct_region_of(m, p));
    return;
  }
  c = merge_and_file_inline(m, p, psize);
  if (should_trim(m, m->topsize))
    trim_after_free(m);
  else if (!is_small(psize) && --m->release_checks == 0)
    release_unused_segments(m);
  else if (c != 0 &&
           (chunksize(c) >= mparams.trim_threshold || m->top == align_as_chunk(m->seg.base)) &&
           grows_by_part(m))
    release_freed_segment(m, c);
}

static void internal_free(heap_t *m, chunk_t *p, const char *op) { free_chunk(m, p, op, 0); }
#if THREAD_CACHE
static void free_claimed(heap_t *m, chunk_t *p) { free_chunk(m, p, "free", CACHED_BIT); }
#endif

/* set_inuse for a chunk its caller claimed (heap_claim): the new head keeps the claim
   (CACHED_BIT), so that a free racing the caller goes on finding the block claimed until the
   caller gives the claim back. */
#define set_inuse_claimed(m, p, s) set_inuse_keeping(m, p, s, PINUSE_BIT | CACHED_BIT)

/* Resize in-use chunk p (validated, and claimed: heap_realloc) to nb bytes without moving it,
   if possible: shrink in place, or grow into a free successor, dv or top; directly mapped
   chunks via mmap_resize (which may move them when can_move).  Returns the chunk or 0.
   p's new head keeps the claim (set_inuse_claimed), except a mapped chunk's, which
   mmap_resize writes anew: no free takes a mapped chunk without the lock, which the caller
   holds. */
static chunk_t *try_realloc_chunk(heap_t *m, chunk_t *p, size_t nb, int can_move) {
  chunk_t *newp = 0;
  size_t oldsize = chunksize(p);
  chunk_t *next = chunk_plus_offset(p, oldsize);
  if (is_mmapped(p)) {
    lists_change_begin(m);
    newp = mmap_resize(m, p, nb, can_move);
    lists_change_end(m);
    return newp;
  }
  if (oldsize >= nb) { /* shrink: free the tail if it is big enough to be a chunk */
    size_t rsize = oldsize - nb;
    if (rsize >= MIN_CHUNK_SIZE) {
      chunk_t *r = chunk_plus_offset(p, nb);
      set_inuse_claimed(m, p, nb);
      set_inuse(m, r, rsize);
      merge_and_file(m, r, rsize);
    }
    newp = p;
  } else if (next == m->top) {
    if (oldsize + m->topsize > nb) {
      size_t newsize = oldsize + m->topsize;
      size_t newtopsize = newsize - nb;
      chunk_t *newtop = chunk_plus_offset(p, nb);
      set_inuse_claimed(m, p, nb);
      newtop->head = newtopsize | PINUSE_BIT;
      m->top = newtop;
      m->topsize = newtopsize;
      newp = p;
    }
  } else if (next == m->dv) {
    size_t dvs = m->dvsize;
    if (oldsize + dvs >= nb) {
      size_t dsize = oldsize + dvs - nb;
      if (dsize >= MIN_CHUNK_SIZE) {
        chunk_t *r = chunk_plus_offset(p, nb);
        chunk_t *n = chunk_plus_offset(r, dsize);
        set_inuse_claimed(m, p, nb);
        set_size_and_pinuse_of_free_chunk(r, dsize);
        clear_pinuse(n);
        m->dvsize = dsize;
        m->dv = r;
      } else {
        size_t newsize = oldsize + dvs;
        set_inuse_claimed(m, p, newsize);
        m->dvsize = 0;
        m->dv = 0;
      }
      newp = p;
    }
  } else if (!cinuse(next)) {
    size_t nextsize = chunksize(next);
    if (oldsize + nextsize >= nb) {
      size_t rsize = oldsize + nextsize - nb;
      unlink_chunk(m, next, nextsize);
      if (rsize < MIN_CHUNK_SIZE) {
        size_t newsize = oldsize + nextsize;
        set_inuse_claimed(m, p, newsize);
      } else {
        chunk_t *r = chunk_plus_offset(p, nb);
        set_inuse_claimed(m, p, nb);
        set_inuse(m, r, rsize);
        merge_and_file(m, r, rsize);
      }
      newp = p;
    }
  }
  if (newp != 0 && chunksize(newp) > oldsize)
    forget_footer(next); /* p's old one, now inside the grown block */
  return newp;
}

/* Carve an aligned block from an over-sized allocation (lock held for the carving).
   alignment is a power of two above MALLOC_ALIGNMENT. */
static void *internal_memalign(heap_t *m, size_t alignment, size_t bytes) {
  void *mem = 0;
  size_t nb, req;
  if (alignment >= MAX_REQUEST || bytes >= MAX_REQUEST - alignment) {
    MALLOC_FAILURE_ACTION;
    return 0;
  }
  nb = request2size(bytes);
  /* Room to skip to an aligned position that leaves a whole chunk before it. */
  req = nb + alignment + MIN_CHUNK_SIZE - CHUNK_OVERHEAD;
  mem = internal_malloc(m, req);
  if (mem != 0) {
    chunk_t *p = mem2chunk(mem);
    if (((size_t)mem & (alignment - 1)) != 0) {
      /* The first aligned position at least a minimum chunk past p. */
      char *br = (char *)mem2chunk(((size_t)mem + alignment - SIZE_T_ONE) & -alignment);
      char *pos = ((size_t)(br - (char *)p) >= MIN_CHUNK_SIZE) ? br : br + alignment;
      chunk_t *newp = (chunk_t *)pos;
      size_t leadsize = (size_t)(pos - (char *)p);
      size_t newsize = chunksize(p) - leadsize;
      if (is_mmapped(p)) {
        /* Move the region's record so it again sits right before the chunk. */
        struct direct_region *r = (struct direct_region *)((char *)p - p->prev_foot);
        struct direct_region moved = *r;
        struct direct_region *nr = (struct direct_region *)(pos - DIRECT_HEADER_SIZE);
        lists_change_begin(m);
        unlink_direct(r);
        *nr = moved;
        nr->next->prev = nr;
        nr->prev->next = nr;
        nr->check = direct_check(nr);
        lists_change_end(m);
        newp->prev_foot = DIRECT_HEADER_SIZE;
        newp->head = newsize;
        mark_inuse_foot(m, newp, newsize);
      } else {
        set_inuse(m, newp, newsize);
        set_inuse(m, p, leadsize);
        merge_and_file(m, p, leadsize);
      }
      p = newp;
    }
    if (!is_mmapped(p)) { /* give back the spare tail */
      size_t size = chunksize(p);
      if (size > nb + MIN_CHUNK_SIZE) {
        size_t remainder_size = size - nb;
        chunk_t *remainder = chunk_plus_offset(p, nb);
        set_inuse(m, p, nb);
        set_inuse(m, remainder, remainder_size);
        merge_and_file(m, remainder, remainder_size);
      }
    }
    mem = chunk2mem(p);
    dl_assert(chunksize(p) >= nb);
    dl_assert(((size_t)mem & (alignment - 1)) == 0);
    check_inuse_chunk(m, p);
  }
  return mem;
}

/* ---- The operations every heap offers, taking the heap's lock ---- */

/* With FOOTERS, the heap that chunk p's footer names, if that heap really holds p.  p's words
   are read only once one of the candidate heap's segments or mapped regions is known to hold
   them (locked: the caller holds h's lock; otherwise it is taken for the walk past the top
   segment), and the candidate is compared with the live heaps before it is used. */
#if FOOTERS
static int heap_holds_chunk(heap_t *h, chunk_t *p, int locked) {
  size_t sz;
  chunk_t *after;
  int held = 0;
  if (((size_t)chunk2mem(p) & CHUNK_ALIGN_MASK) != 0)
    return 0;
  if (heap_surely_holds(h, p)) {
    sz = chunksize(p);
    after = chunk_plus_offset(p, sz);
    held = ok_next(p, after) && heap_surely_holds(h, after);
  }
  if (!held) {
    /* the older segments and the mapped regions change under h's lock only */
    struct direct_region *r = 0;
    if (!locked)
      lookup_lock(h);
    if (heap_holds_header(h, p) || (r = direct_region_holding(h, p)) != 0) {
      sz = chunksize(p);
      after = chunk_plus_offset(p, sz);
      held = ok_next(p, after) && (r != 0 ? span_holds_header(r->base, r->length, after)
                                          : heap_holds_header(h, after));
    }
    if (!locked)
      lookup_unlock(h);
  }
  return held && after->prev_foot == footer_tag(h, sz);
}

static heap_t *owner_of(chunk_t *p) {
  heap_t *found = 0;
#if !ONLY_MSPACES
  size_t i, n = arena_count;
  unsigned id = segment_map_owner(p);
  if (id != 0 && heap_holds_chunk(&heaps[id - 1], p, 0)) /* the arena the map names */
    return &heaps[id - 1];
  if (heap_holds_chunk(gm, p, 0)) /* its directly mapped blocks, its MORECORE memory */
    return gm;
#if SEGMENT_MAP
  if (segment_map.incomplete) /* an arena's memory the map could not name */
#endif
    for (i = 1; i < n; ++i)
      if (heap_holds_chunk(&heaps[i], p, 0))
        return &heaps[i];
#endif
#if MSPACES
  {
    heap_t *h;
    lock_acquire(&mspace_list_lock);
    for (h = mspace_list; h != 0; h = h->next_heap)
      if (heap_holds_chunk(h, p, 0)) {
        found = h;
        break;
      }
    lock_release(&mspace_list_lock);
  }
#endif
  return found;
}
#endif /* FOOTERS */

/* The heap an API call on block mem must work on.  expected is the heap the call names (0 for
   the global functions with FOOTERS, which accept a block of any heap).  Reports a usage
   error and returns 0 when mem cannot be a block of that heap. */
static heap_t *heap_for_block(heap_t *expected, void *mem, const char *op) {
#if FOOTERS
  heap_t *owner = owner_of(mem2chunk(mem));
  if (owner == 0) {
    USAGE_ERROR(expected, mem, op, "invalid pointer or damaged footer (no heap owns this block)");
    return 0;
  }
  if (expected != 0 && owner != expected) {
    USAGE_ERROR(expected, mem, op, "block belongs to another mspace");
    return 0;
  }
  return owner;
#else
#if MSPACES
  if (UNLIKELY(in_given_span(mem))) { /* no heap lock is held here */
    heap_t *owner = given_buffer_owner(mem);
    /* (an mspace's handle is left to the block checks, which name it) */
    if (owner != 0 && owner != expected && owner != (heap_t *)mem) {
      USAGE_ERROR(expected, mem, op, "block belongs to another mspace (made in a buffer)");
      return 0;
    }
  }
#endif
  (void)mem;
  (void)op;
  return expected;
#endif
}

static void *heap_malloc(heap_t *m, size_t bytes) {
  void *mem = 0;
  if (!PREACTION(m)) {
    mem = internal_malloc(m, bytes);
    POSTACTION(m);
  }
  return mem;
}

static void heap_free(heap_t *expected, void *mem, const char *op) {
  if (mem != 0) {
    heap_t *m = heap_for_block(expected, mem, op);
    if (m != 0 && !PREACTION(m)) {
      internal_free(m, mem2chunk(mem), op);
      POSTACTION(m);
    }
  }
}

/* The bytes of block mem (a request of req bytes) that calloc must clear; `grew`: the heap
   added a region while serving it.  With MMAP_CLEARS the system's memory arrives zeroed: a
   directly mapped block needs nothing, and of a block carved from the region just added only
   the part below the region needs clearing (top and its foot, when the region extended top's
   segment in place).  The heap writes nothing inside such a block before handing it out: top's
   head and foot, the block's footer and the next chunk's head all lie outside it.  Clearing
   it all touched every page: a sparse table of 200 calloc'd blocks of 200 KiB kept 41.6 MB
   resident against glibc's 2.2 MB (an outside review; glibc's calloc skips fresh memory too).
   Only from the region's first page boundary: a MORECORE region starts where the break was,
   and above a break that was lowered, the rest of its page keeps what it held. */
static size_t calloc_clear_length(heap_t *m, void *mem, size_t req, int grew) {
  chunk_t *p = mem2chunk(mem);
#if MMAP_CLEARS
  char *start = (char *)mem, *end = m->fresh_base + m->fresh_size;
  char *base = (char *)(uintptr_t)page_align((size_t)(uintptr_t)m->fresh_base);
  if (grew && start + req > base && start < end)
    return start < base ? (size_t)(base - start) : 0;
#else
  (void)m;
  (void)p;
  (void)grew;
#endif
  return calloc_must_clear(p) ? req : 0;
}

static void *heap_calloc(heap_t *m, size_t n_elements, size_t elem_size) {
  void *mem = 0;
  size_t req = 0, clear = 0;
  if (n_elements != 0) {
    req = n_elements * elem_size;
    if (req / n_elements != elem_size) { /* overflow */
      MALLOC_FAILURE_ACTION;
      return 0;
    }
  }
  if (!PREACTION(m)) {
    size_t regions = m->regions_added;
    mem = internal_malloc(m, req);
    if (mem != 0)
      clear = calloc_clear_length(m, mem, req, m->regions_added != regions);
    POSTACTION(m);
  }
  if (clear != 0)
    memset(mem, 0, clear);
  return mem;
}

/* How much realloc asks for when it moves block oldp to hold `bytes`.  Without mremap, a
   directly mapped block cannot grow where it is, and a buffer grown in small steps was mapped,
   copied and unmapped at each one (an embedder's review: 16 MB in 4 KiB steps took 26 s on a
   PORTABLE port, 0.03 s on POSIX).  A mapped block that grows moves to a region a quarter
   larger, whose slack its next steps use (mmap_resize keeps it). */
static size_t realloc_move_size(chunk_t *oldp, size_t bytes) {
  if (!HAVE_MREMAP && is_mmapped(oldp) && bytes > chunksize(oldp) &&
      bytes / 4 < MAX_REQUEST - bytes)
    return bytes + bytes / 4;
  return bytes;
}

/* The end of realloc's move of claimed block oldp (m's lock held): with a new block mem, copy
   what both blocks hold and free the old one; without one, give the claim back. */
static void realloc_move_finish(heap_t *m, chunk_t *oldp, void *mem, size_t bytes,
                                const char *op) {
  if (mem != 0) {
    size_t oc = chunksize(oldp) - overhead_for(oldp);
    memcpy(mem, chunk2mem(oldp), (oc < bytes) ? oc : bytes);
    free_chunk(m, oldp, op, heap_claimed(m));
  } else {
    heap_unclaim(m, oldp);
  }
}

/* oldmem is not NULL (the callers turn realloc(NULL, n) into malloc(n) on their heap).
   The block is claimed as free claims it (heap_claim) before its head is rewritten: a free of
   it into another thread's cache, racing this call, sets CACHED_BIT without the lock, and a
   plain store of the new head would erase that mark, leaving the block in that cache and in
   use at once (an outside review's racing realloc and free).  Claimed, the racing free loses
   and reports the double free; the new head keeps the claim (try_realloc_chunk), and only
   heap_unclaim, at the end, gives it back. */
static void *heap_realloc(heap_t *expected, void *oldmem, size_t bytes, const char *op) {
  void *mem = 0;
  heap_t *m, *elsewhere = 0; /* the heap the block moves to, when not its own */
  if (bytes >= MAX_REQUEST) {
    MALLOC_FAILURE_ACTION;
    return 0;
  }
#if REALLOC_ZERO_BYTES_FREES
  if (bytes == 0) {
    heap_free(expected, oldmem, op);
    return 0;
  }
#endif
  m = heap_for_block(expected, oldmem, op);
  if (m != 0 && !PREACTION(m)) {
    chunk_t *oldp = mem2chunk(oldmem);
    const char *problem = claim_checked(m, oldp, inuse_chunk_problem(m, oldp));
    size_t nb = request2size(bytes);
    chunk_t *newp = 0;
    if (problem != 0) {
      USAGE_ERROR(m, oldmem, op, problem);
      POSTACTION(m);
      return 0;
    }
    newp = try_realloc_chunk(m, oldp, nb, 1);
    if (newp != 0) {
      heap_unclaim(m, newp);
      check_inuse_chunk(m, newp);
      mem = chunk2mem(newp);
    } else if ((elsewhere = realloc_destination(m, bytes)) != 0) {
      /* Mapped there, as malloc would have put it, later growth is mremap's.  Kept in the
         arena, a buffer grown step by step left a trail of freed copies (an outside review:
         299 MB against glibc's 126 at the peak of four threads growing buffers to 32 MiB).
         That heap's lock is taken after m's is released (the global heap's lock comes
         first); the block stays claimed meanwhile. */
    } else {
      size_t want = realloc_move_size(oldp, bytes);
      if (want != bytes) /* (and if that much is not to be had, what was asked for) */
        KEEPING_ERRNO(mem = internal_malloc(m, want));
      if (mem == 0)
        mem = internal_malloc(m, bytes);
      realloc_move_finish(m, oldp, mem, bytes, op);
    }
    POSTACTION(m);
  }
  if (elsewhere != 0) {
    mem = heap_malloc(elsewhere, bytes);
    if (!PREACTION(m)) {
      realloc_move_finish(m, mem2chunk(oldmem), mem, bytes, op);
      POSTACTION(m);
    }
  }
  return mem;
}

static void *heap_realloc_in_place(heap_t *expected, void *oldmem, size_t bytes,
                                   const char *op) {
  void *mem = 0;
  heap_t *m;
  if (oldmem == 0)
    return 0;
  if (bytes >= MAX_REQUEST) {
    MALLOC_FAILURE_ACTION;
    return 0;
  }
  m = heap_for_block(expected, oldmem, op);
  if (m != 0 && !PREACTION(m)) {
    chunk_t *oldp = mem2chunk(oldmem);
    const char *problem = claim_checked(m, oldp, inuse_chunk_problem(m, oldp));
    if (problem != 0)
      USAGE_ERROR(m, oldmem, op, problem);
    else {
      chunk_t *newp = try_realloc_chunk(m, oldp, request2size(bytes), 0);
      heap_unclaim(m, oldp);
      if (newp == oldp) {
        check_inuse_chunk(m, newp);
        mem = oldmem;
      }
    }
    POSTACTION(m);
  }
  return mem;
}

static void *heap_memalign(heap_t *m, size_t alignment, size_t bytes) {
  void *mem = 0;
  if (alignment <= MALLOC_ALIGNMENT)
    return heap_malloc(m, bytes);
  if (alignment < MIN_CHUNK_SIZE)
    alignment = MIN_CHUNK_SIZE;
  if (!is_power_of_two(alignment)) { /* round up to a power of two */
    size_t a = MALLOC_ALIGNMENT << 1;
    while (a < alignment && a != 0)
      a <<= 1;
    if (a == 0) {
      MALLOC_FAILURE_ACTION;
      return 0;
    }
    alignment = a;
  }
  if (!PREACTION(m)) {
    mem = internal_memalign(m, alignment, bytes);
    POSTACTION(m);
  }
  return mem;
}

static MAYBE_UNUSED int heap_trim(heap_t *m, size_t pad) {
  int result = 0;
  ensure_initialization();
  if (!PREACTION(m)) {
    result = sys_trim(m, pad, 1);
    discard_free_pages(m, pad);
    POSTACTION(m);
  }
  return result;
}

static size_t heap_set_footprint_limit(heap_t *m, size_t bytes) {
  size_t result;
  ensure_initialization();
  if (bytes == 0 || bytes == MAX_SIZE_T)
    result = 0; /* no limit */
  else
    result = granularity_align(bytes);
  if (result < bytes) /* rounding wrapped */
    result = 0;
  m->footprint_limit = result;
  return result != 0 ? result : MAX_SIZE_T;
}

static size_t heap_footprint_limit(heap_t *m) {
  size_t limit = m->footprint_limit;
  return limit == 0 ? MAX_SIZE_T : limit;
}

#if !INSECURE
/* The usable bytes of block p if heap m holds it in use by free()'s checks (under m's lock),
   else 0.  Those checks read p's words only once m's memory is known to hold them, so any
   heap may be asked about any pointer. */
static size_t usable_in_heap(heap_t *m, chunk_t *p) {
  size_t usable = 0;
  lookup_lock(m);
  if (inuse_chunk_problem(m, p) == 0)
    usable = chunksize(p) - overhead_for(p);
  lookup_unlock(m);
  return usable;
}
#endif /* !INSECURE */

/* malloc_usable_size: the bytes block mem can hold, or 0 for a null pointer and for anything
   that is not a block in use by free()'s checks: a freed block (in a bin or a thread cache),
   a pointer into a block (its "header" is the program's data), or a pointer into no heap's
   memory, whose words are never read (a directly mapped block already freed is unmapped:
   reading its header was a fault).  The heap the segment map names is asked first, then the
   other arenas, then the user's mspaces; a block in use has at least one usable byte. */
static size_t usable_size(uintptr_t mem) {
  size_t usable = 0;
  if (mem != 0) {
    chunk_t *p = mem2chunk(mem);
#if INSECURE
    if (is_inuse(p))
      usable = chunksize(p) - overhead_for(p);
#else
#if !ONLY_MSPACES
    size_t i, n = arena_count;
    unsigned id = segment_map_owner(p);
    heap_t *named = id != 0 ? &heaps[id - 1] : gm;
    usable = usable_in_heap(named, p);
    for (i = 0; i < n && usable == 0; ++i)
      if (&heaps[i] != named)
        usable = usable_in_heap(&heaps[i], p);
#endif
#if MSPACES
    if (usable == 0) {
      heap_t *h;
      lock_acquire(&mspace_list_lock);
      for (h = mspace_list; h != 0 && usable == 0; h = h->next_heap)
        usable = usable_in_heap(h, p);
      lock_release(&mspace_list_lock);
    }
#endif
#endif /* INSECURE */
  }
  return usable;
}

/* ==== 15. Bulk allocation (independent_calloc / comalloc / bulk_free) ======================
   ialloc carves n blocks out of one allocation, so they sit together and cost one search;
   each can still be freed on its own.  Every size computation is checked for overflow.     */

#define IALLOC_SAME_SIZE 1U /* sizes[0] applies to every element */
#define IALLOC_CLEAR 2U     /* zero the elements */

static void **ialloc(heap_t *m, size_t n_elements, size_t *sizes, unsigned opts,
                     void *chunks[]) {
  size_t element_size;
  size_t contents_size = 0;
  size_t array_size;
  size_t size;
  size_t remainder_size;
  size_t i;
  void **marray;
  void *mem;
  chunk_t *p;

  ensure_initialization();
  if (chunks != 0) {
    if (n_elements == 0)
      return chunks;
    marray = chunks;
    array_size = 0;
  } else {
    if (n_elements == 0)
      return (void **)heap_malloc(m, 0); /* a unique, freeable "empty array" */
    if (n_elements > MAX_REQUEST / sizeof(void *))
      goto too_big;
    marray = 0;
    array_size = request2size(n_elements * sizeof(void *));
  }

  if (opts & IALLOC_SAME_SIZE) {
    if (*sizes >= MAX_REQUEST)
      goto too_big;
    element_size = request2size(*sizes);
    if (element_size > MAX_REQUEST / n_elements)
      goto too_big;
    contents_size = n_elements * element_size;
  } else {
    element_size = 0;
    for (i = 0; i != n_elements; ++i) { /* the sum stays below MAX_REQUEST: it cannot wrap */
      if (sizes[i] >= MAX_REQUEST || request2size(sizes[i]) >= MAX_REQUEST - contents_size)
        goto too_big;
      contents_size += request2size(sizes[i]);
    }
  }
  if (array_size >= MAX_REQUEST - contents_size)
    goto too_big;
  size = contents_size + array_size;

  if (PREACTION(m))
    return 0;
  {
    /* One chunk from the segments (never directly mapped: it is split below). */
    flag_t mmap_was_on = use_mmap(m);
    disable_mmap(m);
    mem = internal_malloc(m, size - CHUNK_OVERHEAD);
    if (mmap_was_on)
      enable_mmap(m);
  }
  if (mem == 0) {
    POSTACTION(m);
    return 0;
  }

  p = mem2chunk(mem);
  remainder_size = chunksize(p);
  dl_assert(!is_mmapped(p));

  if (opts & IALLOC_CLEAR) { /* up to the word that overlaps the chunk after the elements */
    size_t contents_end = (marray == 0) ? contents_size : remainder_size;
    memset(mem, 0, contents_end - SIZE_T_SIZE);
  }

  if (marray == 0) { /* the pointer array is the last piece */
    chunk_t *array_chunk = chunk_plus_offset(p, contents_size);
    size_t array_chunk_size = remainder_size - contents_size;
    marray = (void **)(chunk2mem(array_chunk));
    set_size_and_pinuse_of_inuse_chunk(m, array_chunk, array_chunk_size);
    remainder_size = contents_size;
  }

  for (i = 0;; ++i) { /* split out each element; the last takes what is left */
    marray[i] = chunk2mem(p);
    if (i != n_elements - 1) {
      size_t esize = (element_size != 0) ? element_size : request2size(sizes[i]);
      remainder_size -= esize;
      set_size_and_pinuse_of_inuse_chunk(m, p, esize);
      p = chunk_plus_offset(p, esize);
    } else {
      set_size_and_pinuse_of_inuse_chunk(m, p, remainder_size);
      break;
    }
  }
#if DEBUG
  if (marray != chunks) {
    dl_assert(((size_t)marray & CHUNK_ALIGN_MASK) == 0);
    check_inuse_chunk(m, mem2chunk(marray));
  }
  for (i = 0; i != n_elements; ++i)
    check_inuse_chunk(m, mem2chunk(marray[i]));
#endif
  POSTACTION(m);
  return marray;

too_big:
  MALLOC_FAILURE_ACTION;
  return 0;
}

/* Free every block of array that belongs to m; merge neighbours that are both in the array
   before filing them.  Returns how many blocks belonged to another heap (FOOTERS: a block
   outside m's memory is left in the array, and must then be a block of some live heap).  A
   block that fails the checks (a duplicate, a freed block) is a usage error in every build. */
static size_t internal_bulk_free(heap_t *m, void *array[], size_t nelem) {
  size_t unfreed = 0;
  void **b;
  for (b = array; !FOOTERS && b != &(array[nelem]); ++b) /* before m's lock is taken */
    if (*b != 0 && UNLIKELY(in_given_span(*b)) && heap_for_block(m, *b, "bulk_free") == 0)
      return nelem;
  if (!PREACTION(m)) {
    void **a;
    void **fence = &(array[nelem]);
    for (a = array; a != fence; ++a) {
      void *mem = *a;
      if (mem != 0) {
        chunk_t *p = mem2chunk(mem);
        const char *problem;
#if FOOTERS
        if (!heap_holds_chunk(m, p, 1) && !heap_holds_header(m, p) &&
            direct_region_holding(m, p) == 0) {
          ++unfreed; /* not in m's memory: another heap's block, checked below */
          continue;
        }
#endif
        problem = inuse_chunk_problem(m, p);
#if FOOTERS
        if (problem == 0 && !heap_holds_chunk(m, p, 1))
          problem = "invalid pointer or damaged footer";
#endif
        problem = claim_checked(m, p, problem);
        if (problem != 0) {
          USAGE_ERROR(m, mem, "bulk_free", problem);
          break;
        }
        *a = 0;
        check_inuse_chunk(m, p);
        if (is_mmapped(p)) {
          release_direct(m, direct_region_of(m, p));
        } else {
          size_t psize = chunksize(p);
          void **b = a + 1;
          chunk_t *next = next_chunk(p);
          if (b != fence && *b == chunk2mem(next) && !is_mmapped(next) &&
              inuse_chunk_problem(m, next) == 0 && heap_claim(m, next)) {
            /* next is freed with p: let its slot carry the merged block.  next's header, now
               inside it, is made to say "free": the array may name next again further on,
               and its old header would pass for a block in use (the merged block freed
               twice). */
            set_inuse(m, p, psize + chunksize(next));
            next->head = PINUSE_BIT;
            forget_footer(next);
            *b = chunk2mem(p);
          } else
            merge_and_file(m, p, psize);
        }
      }
    }
    if (should_trim(m, m->topsize))
      trim_after_free(m);
    POSTACTION(m);
  }
#if FOOTERS
  if (unfreed != 0) { /* what was left must be a block of another live heap (m's lock is free) */
    void **a;
    for (a = array; a != &(array[nelem]); ++a)
      if (*a != 0 && owner_of(mem2chunk(*a)) == 0) {
        USAGE_ERROR(m, *a, "bulk_free",
                    "invalid pointer or damaged footer (no heap owns this block)");
        break;
      }
  }
#endif
  return unfreed;
}

/* ==== 16. Threading layer: arenas and the per-thread cache (MALLOC_THREAD_CACHE) ==========
   One lock serialises every call on a heap; with many threads they queue on it.  The global
   functions go through this layer's interface (its last part, for every build); with
   MALLOC_THREAD_CACHE the layer does two things:
   - Arenas: several heaps (the global heap and up to arena_limit() - 1 more, static
     heap states set up like the global heap), each thread bound to one for its life; a block
     goes back to the arena whose segment holds it, found from the segment map without a lock
     (section 8).  The part under "---- Arenas ----" below says how.
   - The cache: each thread keeps recently freed small blocks in lists of its own, one per
     chunk size up to MALLOC_THREAD_CACHE_MAX_SIZE and one per size class above it (up to
     16 KiB: MALLOC_THREAD_CACHE_CLASSES), and serves malloc from them without a lock.  The
     design decisions:
   - Storage: the cache is a thread-local variable (MALLOC_THREAD_LOCAL, from the compiler).
     No port hook: every compiler that has threads has thread-local storage, and a port
     without threads (UEFI, bare metal) leaves the cache off and is not affected at all.
   - Thread exit: hosted builds register a pthread key (POSIX) or fiber-local-storage slot
     (Win32) the first time a thread is bound; its destructor returns the cache to the heaps
     and unbinds the thread from its arena.  Other builds: the port or program calls
     malloc_thread_exit().  Either way the thread's later calls bypass the cache.
   - Accounting: a cached block is a chunk in use, with its boundary tags and footer
     unchanged, so check_heap, inspect_all, mallinfo and malloc_stats count it as in use
     (uordblks), and nothing in the heap changes when blocks enter or leave a cache.
     mallinfo's smblks and fsmblks report the blocks and bytes in the calling thread's cache.
   - Batches: a refill takes up to MALLOC_THREAD_CACHE_BATCH blocks of the requested size
     (fewer for a size not asked for often: the batch grows with each refill of its list), a
     full list gives back a batch (MALLOC_THREAD_CACHE_BATCH blocks, or all of a list kept
     only to pass its blocks on: thread_cache_idle_limit), and a cache at its byte bound
     gives back what no malloc reached since it was last there (each list's low-water
     mark), then whole lists down to half the bound, each under one lock acquisition.  A
     refill carves only from free chunks of the thread's arena, never from top, and never
     asks the system for memory beyond the one block requested.
   - Between threads: a cache takes the blocks its thread frees whichever arena they belong
     to (where the map names it), so memory a server's threads pass to each other is reused
     by the thread that frees it; a cached block goes back to its own arena when the cache
     gives it up (directly, or through that arena's remote list).  While two threads or
     more are bound, a batch a full list gives back goes to the depot whole, and an empty
     list takes one from there before carving: memory that flows from the threads that free
     it to those that allocate moves a batch at a time, with a few pointer writes under
     the depot's lock.  While one thread alone is bound, a block with a free neighbour is
     merged into the heap at once instead of cached.
   - Bounds: at most MALLOC_THREAD_CACHE_COUNT blocks per size and MALLOC_THREAD_CACHE_BYTES
     in all per thread, twice that for a thread whose blocks keep making round trips through
     the heap (thread_cache_adapt); past either, blocks go back to the heap.  A size the
     thread does not allocate is held only to be passed on, a batch at most
     (thread_cache_idle_limit).
   - Checks: free runs the block checks of the path without the cache (inuse_chunk_problem's,
     and with FOOTERS the owner check), only without the lock: a check that fails, possibly
     because a neighbour changed meanwhile, sends the block down the locked path, which
     decides and reports.  The fast path (thread_cache_free) leaves out those of a free
     neighbour's header, which matter only to a merge: they run when the block leaves the
     cache, before it is merged (one in eight of rptest's frees had a free neighbour, and
     the slow path they took cost a tenth of its time).  A block enters a cache by setting
     CACHED_BIT atomically, so a second free of a cached block, even one racing the first,
     is caught (section 9).  Links
     are mangled, and every block taken from a list or a batch is checked before it is handed
     out or given back (thread_cache_check); blocks that leave the cache for the heap pass
     internal_free's checks again.
   - malloc_trim, and a malloc the heap fails (footprint limit, no memory), first give back
     the calling thread's cache and the depot (and malloc_trim every arena's remote frees);
     teardown makes every cache stale (thread_cache_generation) and empties the depot.
     fork: the child keeps the forking thread's cache, arena and the depot, and counts only
     its own thread as bound (the other arenas are free for its new threads); the other
     threads' cached blocks stay in use in the child, as any block those threads held does.
   - realloc(NULL, n) bypasses the cache: it most likely starts a buffer that will grow, which it
     can do in place only where the heap put it, not inside a cached batch.
   - mspaces bypass the cache: their callers own their locking.                              */

#if THREAD_CACHE

/* Lists 0 .. THREAD_CACHE_SMALL_LISTS - 1 keep one chunk size each (the list's index times
   the alignment).  The MALLOC_THREAD_CACHE_CLASSES lists after them keep size classes, four
   per power of two above the largest request those lists serve (CLASS_BASE is its highest
   bit): class c serves the requests up to (5 + c % 4) << (CLASS_BASE + c / 4 - 2) bytes, and
   keeps chunks of exactly that request's size.  The classes are steps of requests, not of
   chunks, so that a request of a power of two (2048, 4096) is a class of its own, not the
   start of the next one.  Four per power of two rather than eight: with eight, each class
   had fewer blocks to hit, and alloc_test's peak rose by a tenth
   (bench/results/design-measurements.md). */
#define THREAD_CACHE_CLASS_BITS 2 /* 2^2 classes per power of two */
#define THREAD_CACHE_CLASS_STEPS (1 << THREAD_CACHE_CLASS_BITS)
#define THREAD_CACHE_SMALL_LISTS (MALLOC_THREAD_CACHE_MAX_SIZE / MALLOC_ALIGNMENT + 1)
#define THREAD_CACHE_LISTS (THREAD_CACHE_SMALL_LISTS + MALLOC_THREAD_CACHE_CLASSES)
#define THREAD_CACHE_CLASS_BASE highest_bit(THREAD_CACHE_MAX_REQUEST)
/* The largest request whose chunk fits a chunk-size list, and a class; the class's chunk. */
#define THREAD_CACHE_MAX_REQUEST (MALLOC_THREAD_CACHE_MAX_SIZE - CHUNK_OVERHEAD)
#define THREAD_CACHE_CLASS_MAX_REQUEST                                                    \
  (MALLOC_THREAD_CACHE_CLASSES == 0                                                      \
       ? (size_t)THREAD_CACHE_MAX_REQUEST                                                \
       : (size_t)1 << (THREAD_CACHE_CLASS_BASE +                                       \
                       MALLOC_THREAD_CACHE_CLASSES / THREAD_CACHE_CLASS_STEPS))
#define THREAD_CACHE_CLASS_MAX_SIZE request2size(THREAD_CACHE_CLASS_MAX_REQUEST)
#define THREAD_CACHE_BATCH MALLOC_THREAD_CACHE_BATCH
/* The most a thread's cache may grow to (thread_cache_adapt). */
#define THREAD_CACHE_BYTES_MAX (2 * MALLOC_THREAD_CACHE_BYTES)
#define thread_cache_list(size) ((size) / MALLOC_ALIGNMENT) /* size <= ..._MAX_SIZE */
typedef char assert_cache_sizes_are_chunk_sizes[
    (MALLOC_THREAD_CACHE_MAX_SIZE % MALLOC_ALIGNMENT) == 0 &&
    MALLOC_THREAD_CACHE_MAX_SIZE >= MIN_CHUNK_SIZE && MALLOC_THREAD_CACHE_MAX_SIZE < 65536 &&
    MALLOC_THREAD_CACHE_CLASSES % THREAD_CACHE_CLASS_STEPS == 0 &&
    MALLOC_THREAD_CACHE_CLASSES <= 32 ? 1 : -1];

/* The chunk size list i keeps. */
static inline size_t thread_cache_list_size(size_t i) {
  const size_t steps = THREAD_CACHE_CLASS_STEPS, c = i - THREAD_CACHE_SMALL_LISTS;
  if (i < THREAD_CACHE_SMALL_LISTS)
    return i * MALLOC_ALIGNMENT;
  return request2size((steps + 1 + c % steps)
                      << (THREAD_CACHE_CLASS_BASE + c / steps - THREAD_CACHE_CLASS_BITS));
}

/* The class list for a request of `bytes` (THREAD_CACHE_MAX_REQUEST < bytes <=
   THREAD_CACHE_CLASS_MAX_REQUEST): the smallest class that holds it. */
static inline size_t thread_cache_class(size_t bytes) {
  const size_t steps = THREAD_CACHE_CLASS_STEPS;
  unsigned k = highest_bit((unsigned)(bytes - 1)); /* bytes - 1 has k + 1 bits */
  return THREAD_CACHE_SMALL_LISTS + (k - THREAD_CACHE_CLASS_BASE) * steps +
         (((bytes - 1) >> (k - THREAD_CACHE_CLASS_BITS)) & (steps - 1));
}

/* The list that keeps chunks of exactly `size` bytes, or THREAD_CACHE_LISTS if none does
   (a block of a size between two classes, from realloc or memalign, goes to the heap). */
static inline size_t thread_cache_list_of(size_t size) {
  size_t i;
  if (size <= MALLOC_THREAD_CACHE_MAX_SIZE)
    return thread_cache_list(size);
  if (size > THREAD_CACHE_CLASS_MAX_SIZE)
    return THREAD_CACHE_LISTS;
  i = thread_cache_class(size - CHUNK_OVERHEAD - (MALLOC_ALIGNMENT - 1)); /* its least request */
  return thread_cache_list_size(i) == size ? i : THREAD_CACHE_LISTS;
}

typedef unsigned short thread_cache_count_t;
/* A cached block's first word links to the next block of its list (most recent first),
   mangled: thread_cache_set_link, thread_cache_next. */
struct thread_cache {
  void *first[THREAD_CACHE_LISTS];
  thread_cache_count_t count[THREAD_CACHE_LISTS];
  unsigned char batch[THREAD_CACHE_LISTS]; /* blocks the next refill adds to the list */
  thread_cache_count_t limit[THREAD_CACHE_LISTS]; /* blocks it may hold (thread_cache_idle_limit) */
  thread_cache_count_t low[THREAD_CACHE_LISTS];   /* fewest it held since the byte bound was
                                                     last reached (thread_cache_count_from) */
  size_t bytes;      /* chunk bytes held, all lists */
  size_t bound;      /* bytes it may hold (thread_cache_adapt) */
  size_t refilled;   /* since the byte bound was last reached (thread_cache_adapt): refills
                        the heap served, one each whatever batch it carved, and the blocks of
                        the batches the depot served (the blocks given back then, mostly) */
  size_t hits;       /* mallocs the lists served since then */
  size_t given;      /* blocks given back when the byte bound was last reached */
  size_t generation; /* == thread_cache_generation while the lists are valid; 0: not in use */
  int ended;         /* the thread has ended: its calls bypass the cache */
  int registered;    /* the thread-exit destructor knows this thread */
  int counted;       /* bound: counted in its arena's users */
  int shared;        /* other threads shared the arena at the last locked call (count_user) */
  heap_t *heap;      /* the arena the thread is bound to (0: not yet) */
};

static MALLOC_THREAD_LOCAL struct thread_cache thread_cache;

#define thread_cache_current(tc) ((tc)->generation == thread_cache_generation)

/* The link stored in cached block mem: next xor the link key xor mem's own address (turned
   half a word, so that the address bits that differ between neighbours meet the high bits
   of next).  A link copied to another block, or written in clear, decodes to an address that
   thread_cache_check refuses. */
static inline size_t thread_cache_link(void **mem, void *next) {
  size_t at = (size_t)(uintptr_t)mem;
  at = (at << (SIZE_T_BITSIZE / 2)) | (at >> (SIZE_T_BITSIZE / 2));
  return (size_t)(uintptr_t)next ^ at ^ thread_cache_link_key;
}
#define thread_cache_set_link(mem, next)                                                  \
  ((mem)[0] = (void *)(uintptr_t)thread_cache_link((mem), (next)))
#define thread_cache_next(mem) ((void **)(uintptr_t)thread_cache_link((mem), (mem)[0]))

/* A list or a batch is damaged (a write through a dangling pointer, most likely): report it,
   taking the lock unless the caller holds it.  Returns only with PROCEED_ON_ERROR, after the
   heap and every cache were forgotten (reset_on_error). */
static NOINLINE void thread_cache_damaged(heap_t *h, void *mem, const char *what, int locked,
                                          int line) {
  int took_lock = !locked && !PREACTION(h);
  report_corruption(h, mem, what, line);
  if (took_lock)
    POSTACTION(h);
}
#define thread_cache_report_damage(h, mem, what, locked)                                 \
  thread_cache_damaged((h), (mem), "heap corruption: " what, (locked), __LINE__)

/* Does a segment of the heap hold the header of chunk p, read from a list or a batch, that
   heap_surely_holds cannot vouch for (an older segment outside the map)?  The walk, under the
   lock unless the caller holds it.  (The address range alone is not enough: it spans holes
   and the program's own mappings, where reading the header would fault.) */
static NOINLINE int thread_cache_block_in_heap(heap_t *h, const chunk_t *p, int locked) {
  int held;
  if (!locked && PREACTION(h))
    return 0;
  held = heap_holds_header(h, p);
  if (!locked)
    POSTACTION(h);
  return held;
}

/* Check block mem, read from a list or a batch of chunk size nb of a cache whose thread is
   bound to arena h: 1 if it is an aligned address of h, or of any arena the segment map names
   (a cache keeps the blocks of other arenas its thread frees: thread_cache_free_slow), whose
   chunk is in use, cached and of that size; else the damage is reported and 0 returned.
   take: the block leaves the cache, its CACHED_BIT is cleared.  (A free of the block racing
   this one finds CACHED_BIT still set, so the plain read suffices.) */
static inline int thread_cache_check(heap_t *h, void **mem, size_t nb, int take, int locked) {
  chunk_t *p = mem2chunk(mem);
  size_t head;
  if (UNLIKELY(((size_t)(uintptr_t)mem & CHUNK_ALIGN_MASK) != 0 ||
               (top_segment_room(h, p) == 0 && segment_map_owner(p) == 0 &&
                !thread_cache_block_in_heap(h, p, locked)))) {
    thread_cache_report_damage(h, mem, "thread cache link damaged (not a heap address)", locked);
    return 0;
  }
  head = p->head;
  if (LIKELY((head & ~PINUSE_BIT) == (nb | CACHED_BIT | CINUSE_BIT))) {
    if (take)
      (void)head_clear_bits(p, CACHED_BIT);
    return 1;
  }
  thread_cache_report_damage(h, mem,
                             "thread cache link damaged (not a cached block of its size)", locked);
  return 0;
}

/* How many blocks a list may hold.  A list this thread allocates from (refilled since the
   byte bound last emptied it) holds up to MALLOC_THREAD_CACHE_COUNT.  Any other list keeps
   blocks only to pass them on: THREAD_CACHE_BATCH while other threads have caches, so that a
   thread that only frees (a consumer) gives each batch to the depot as soon as it is whole
   and holds half as much; none while the thread is alone, as nothing would take them: the
   block goes back to the heap at once, where a request of another size can reuse it (a
   program that frees sizes it never allocates through the cache keeps a lower peak;
   bench/results/design-measurements.md). */
#define thread_cache_idle_limit(tc)                                                       \
  ((thread_cache_count_t)((tc)->shared ? THREAD_CACHE_BATCH : 0))

/* List i loses n blocks; its low-water mark follows it down. */
static inline void thread_cache_count_down(struct thread_cache *tc, size_t i, unsigned n) {
  tc->count[i] = (thread_cache_count_t)(tc->count[i] - n);
  if (tc->count[i] < tc->low[i])
    tc->low[i] = tc->count[i];
}

/* Start thread_cache_adapt's counts afresh, `given` blocks having just been given back. */
static inline void thread_cache_count_from(struct thread_cache *tc, size_t given) {
  size_t i;
  tc->given = given;
  tc->refilled = 0;
  tc->hits = 0;
  for (i = 0; i < THREAD_CACHE_LISTS; ++i)
    tc->low[i] = tc->count[i];
}

/* The depot: batches of THREAD_CACHE_BATCH cached blocks that one thread gave up (its list
   was full) and another can take whole (its list is empty), each move a few pointer writes
   under the depot's lock instead of a batch of heap operations.  It serves memory that flows
   between threads, a producer allocating what a consumer frees: so it is used only while
   two threads or more have caches, and drained into the heap when that stops.  Its blocks
   stay chunks in use, marked cached (a double free of one is still caught), and are
   bounded: THREAD_CACHE_DEPOT_DEPTH batches per list, THREAD_CACHE_DEPOT_BYTES in all
   (sixteen threads' caches).  A producer that runs ahead of its consumer by more than the
   depot holds gets its blocks back through the heap instead, each a round trip through the
   remote list and the bins: a pipeline that hands over a megabyte or two at a time spent
   most of its time there with a depot of one cache's size (bench/results/
   design-measurements.md).  The batches are blocks the heap would otherwise hold free;
   malloc_trim, and the last but one thread's end, give them back to it.  One for all arenas
   (a batch may hold blocks of any: the caches do), guarded by its lock, which is taken
   inside an arena's lock and never the other way round.
   The depot's lock and counts are written at every batch, by whichever threads pass them:
   a cache line's worth of padding on either side keeps every other variable off their
   lines.  The link key, read at every malloc and free, once shared a line with the count,
   and every batch made the other cores' fast paths miss on it: xmalloc's time at 2 threads
   fell by a seventh without it (bench/results/design-measurements.md). */
#define THREAD_CACHE_DEPOT_DEPTH 32
#define THREAD_CACHE_DEPOT_BYTES (16 * MALLOC_THREAD_CACHE_BYTES)
/* The cache line of x86-64 and of most ARM cores (where a line is longer, the padding below
   still keeps the other variables off the first 64 bytes of its hot fields). */
#define CACHE_LINE_SIZE 64
struct thread_cache_depot {
  char line_before[CACHE_LINE_SIZE]; /* unused: see above */
  mlock_t lock;
  size_t bytes;                      /* chunk bytes in all batches */
  unsigned char depth[THREAD_CACHE_LISTS];
  void *batch[THREAD_CACHE_LISTS][THREAD_CACHE_DEPOT_DEPTH]; /* chains, linked by word 0 */
  char line_after[CACHE_LINE_SIZE];  /* unused: see above */
};
static struct thread_cache_depot thread_cache_depot = {{0}, MLOCK_INITIALIZER, 0, {0}, {{0}}, {0}};

/* The depot's most recent batch for list i (chunk size nb), taken out; 0 if it has none. */
static void *thread_cache_depot_take(size_t i, size_t nb) {
  struct thread_cache_depot *d = &thread_cache_depot;
  void *batch = 0;
  if (*(volatile unsigned char *)&d->depth[i] == 0) /* (an estimate: saves the lock) */
    return 0;
  lock_acquire(&d->lock);
  if (d->depth[i] != 0) {
    batch = d->batch[i][--d->depth[i]];
    d->bytes -= THREAD_CACHE_BATCH * nb;
  }
  lock_release(&d->lock);
  return batch;
}

/* What an arena keeps beside its heap state (heaps[i] and arenas[i] go together).  users:
   threads bound to it, under global_lock (read without it where an estimate is enough).
   remote: blocks of the arena freed by threads bound to other arenas, a stack pushed without
   a lock (arena_push_remote) and taken whole by whoever holds the arena's lock
   (arena_drain_remote); remote_count counts them, remote_bytes their chunk bytes. */
struct arena {
  size_t users;
  void *volatile remote;
  volatile size_t remote_count;
  volatile size_t remote_bytes;
};
static struct arena arenas[HEAP_SLOTS];
static size_t threads_bound; /* the users of every arena together (global_lock) */
#define arena_of(h) (&arenas[(h) - heaps])

/* ---- Arenas ----
   A thread is bound to one arena for its life (arena_bind, from thread_attach); the global
   functions allocate from it.  A free finds the block's arena from the segment map
   (arena_owner).  Another arena's block is taken by the freeing thread's cache like its own
   (where the map names the arena), and goes back to its arena when the cache lets it go; one
   the cache does not take goes on that arena's remote list without a lock
   (arena_free_remote), and the arena's next lock holder frees it there (arena_acquire), or,
   while no thread is bound to that arena, straight into it under its uncontended lock.  The
   list was chosen over taking the owner's lock for each such free because a lock per free
   was the convoy the arenas remove (docs/threads-design.md); it costs one compare-and-swap
   per free and one exchange per batch.  No thread ever holds two arenas' locks at once.
   Requests of the mmap threshold and up are the global heap's, mapped directly as before:
   the other arenas never map blocks directly (arena_setup), so a block outside every segment
   is always the global heap's to check and free. */

/* Remote frees pending on an arena beyond which the thread pushing one frees them all itself,
   under the arena's lock: an arena whose threads allocate no more must not keep what the
   others freed.  In blocks, and in bytes (64 KiB): a count alone let a few large blocks wait
   there, a megabyte and more on an arena whose only thread had stopped allocating
   (integration.threads_fork's main thread, whose final in-use check failed about once in 100
   runs).  (remote_count and remote_bytes are estimates: pushes count without atomics.) */
#define ARENA_REMOTE_DRAIN 256
#define ARENA_REMOTE_DRAIN_BYTES ((size_t)64U * (size_t)1024U)

/* Set up heaps[n] as a new arena (global_lock held): like the global heap, but never with
   MORECORE (the global heap's) nor with directly mapped blocks (see above).  Its first
   segment comes with its first malloc. */
static void arena_setup(heap_t *h) {
  h->flags = (mparams.default_flags | USE_NONCONTIGUOUS_BIT) & ~USE_MMAP_BIT;
  lock_init(&h->lock);
  init_heap_links(h);
}

/* The most arenas (global_lock held): M_ARENA_MAX if set, else MALLOC_ARENAS, else twice the
   processors, at most MALLOC_ARENAS_MAX.  Decided here, when a second arena is first wanted,
   not at start-up: counting the processors reads files under /sys, and the libc code that
   does it is resident memory that a program with one thread would pay for nothing. */
static size_t arena_limit(void) {
  if (mparams.arena_limit == 0) {
    size_t n = MALLOC_ARENAS != 0 ? (size_t)MALLOC_ARENAS : 2 * os_processors();
    mparams.arena_limit = n < MALLOC_ARENAS_MAX ? n : MALLOC_ARENAS_MAX;
  }
  return mparams.arena_limit;
}

/* Bind tc's thread to an arena (it has none): the first with no thread, else a new one while
   fewer than arena_limit() exist, else the one with the fewest threads. */
static void arena_bind(struct thread_cache *tc) {
  size_t i, n, best = 0;
  lock_acquire(&global_lock);
  n = arena_count;
  for (i = 1; i < n; ++i)
    if (arenas[i].users < arenas[best].users)
      best = i;
  if (arenas[best].users != 0 && n < HEAP_SLOTS && n < arena_limit()) {
    arena_setup(&heaps[n]);
    best = n;
#if defined(__GNUC__) || defined(__clang__)
    __atomic_store_n(&arena_count, n + 1, __ATOMIC_RELEASE);
#else
    arena_count = n + 1;
#endif
  }
  ++arenas[best].users;
  ++threads_bound;
  tc->heap = &heaps[best];
  tc->counted = 1;
  lock_release(&global_lock);
}

/* Free every block on arena h's remote list (h's lock held).  Each was checked and marked
   cached when it was pushed; its link, mangled as a cache link, is checked before it is
   followed, its size against the copy the pusher kept behind the link (a list holds blocks
   of every size, so unlike a cache list it has no size of its own to check against: a size
   word rewritten while the block waited, flags kept, would otherwise merge a live neighbour
   into the free chunk), and free_claimed checks the block again. */
static NOINLINE void arena_drain_remote(heap_t *h) {
  struct arena *a = arena_of(h);
  void **mem = (void **)word_take(&a->remote);
  a->remote_count = 0;
  a->remote_bytes = 0;
  while (mem != 0) {
    chunk_t *p = mem2chunk(mem);
    void **next;
    if (((size_t)(uintptr_t)mem & CHUNK_ALIGN_MASK) != 0 || !heap_holds_header(h, p) ||
        (p->head & (CACHED_BIT | CINUSE_BIT)) != (CACHED_BIT | CINUSE_BIT) ||
        chunksize(p) != ((size_t *)mem)[1]) {
      report_corruption(h, mem, "heap corruption: remote free list damaged", __LINE__);
      return;
    }
    next = thread_cache_next(mem);
    free_claimed(h, p);
    mem = next;
  }
}

/* Take arena h's lock (0 on success, as PREACTION) and free what other threads left on its
   remote list. */
static inline int arena_acquire(heap_t *h) {
  if (PREACTION(h))
    return 1;
  if (UNLIKELY(arena_of(h)->remote != 0))
    arena_drain_remote(h);
  return 0;
}

/* Put block mem (a block of arena h, in use and already marked cached: its free is decided)
   on h's remote list; past ARENA_REMOTE_DRAIN pending blocks or ARENA_REMOTE_DRAIN_BYTES,
   free them all now, if the caller holds no lock (may_lock: taking h's lock while holding
   another arena's could deadlock with a thread doing the reverse). */
static void arena_push_remote(heap_t *h, void *mem, int may_lock) {
  struct arena *a = arena_of(h);
  size_t size = chunksize(mem2chunk(mem)); /* read first: once pushed, the block is h's */
  void *first;
  ((size_t *)mem)[1] = size; /* for arena_drain_remote's check */
  do {
    first = a->remote;
    thread_cache_set_link((void **)mem, first);
  } while (!word_replace(&a->remote, first, mem));
  /* (read, then written: a compound assignment to a volatile is deprecated in C++20) */
  a->remote_bytes = a->remote_bytes + size;
  a->remote_count = a->remote_count + 1;
  if ((a->remote_count >= ARENA_REMOTE_DRAIN || a->remote_bytes >= ARENA_REMOTE_DRAIN_BYTES) &&
      may_lock && !PREACTION(h)) {
    arena_drain_remote(h);
    POSTACTION(h);
  }
}

/* Free the remote lists of arenas no thread is bound to.  A cache giving blocks back under its
   own arena's lock pushes other arenas' blocks without draining (arena_push_remote's
   may_lock), and such an arena would keep them until a thread is bound to it again
   (integration.threads_fork: over a megabyte of the size classes' blocks left after its
   threads had ended).  An arena with threads drains its list at their next locked call,
   without a second thread queueing for its lock here.
   Within a thread's life (thread_end 0) only the lists grown past ARENA_REMOTE_DRAIN or
   ARENA_REMOTE_DRAIN_BYTES.  At a thread's end, any list (the ending cache gave its blocks back
   there), and the arena then gives back the segments that hold nothing now, as the ending
   thread's own does (thread_cache_end).  Only those arenas: a walk of every idle arena's
   segments at every thread's end made a short thread 27 to 44 times as slow beside 32 idle
   arenas (an outside review).  The caller holds no lock. */
static void arenas_drain_idle_remote(int thread_end) {
  size_t i, n = arena_count;
  for (i = 0; i < n; ++i) {
    struct arena *a = &arenas[i];
    if (*(volatile size_t *)&a->users == 0 &&
        (thread_end ? a->remote_count != 0
                    : a->remote_count >= ARENA_REMOTE_DRAIN ||
                          a->remote_bytes >= ARENA_REMOTE_DRAIN_BYTES) &&
        !arena_acquire(&heaps[i])) {
      if (thread_end)
        release_unused_segments(&heaps[i]);
      POSTACTION(&heaps[i]);
    }
  }
}

/* The arena of cached block mem in a cache bound to arena h: the one the map names, else h
   (a cache takes another arena's block only where the map names that arena). */
static ALWAYS_INLINE heap_t *cached_block_owner(heap_t *h, void *mem) {
  unsigned id = segment_map_owner(mem2chunk(mem));
  return id != 0 ? &heaps[id - 1] : h;
}

/* arena_owner for an address the map names no arena for: a directly mapped block, MORECORE
   memory at a segment's ragged end, or no heap's memory at all -- the global heap's locked
   path knows its own and reports the rest.  Only when the map is incomplete (a segment fell
   outside its windows, or another arena's segment has a ragged end) may it be another
   arena's: then their segment lists are walked. */
static NOINLINE heap_t *arena_owner_slow(const chunk_t *p) {
#if ARENAS
  size_t i, n = arena_count;
  if (segment_map.incomplete)
    for (i = 1; i < n; ++i) {
      heap_t *h = &heaps[i];
      int held = 0;
      if (!PREACTION(h)) {
        held = heap_holds_header(h, p);
        POSTACTION(h);
      }
      if (held)
        return h;
    }
#else
  (void)p;
#endif
  return gm;
}

/* The arena block mem belongs to (not checked: the callers' paths check it).  No lock. */
static ALWAYS_INLINE heap_t *arena_owner(const void *mem) {
  unsigned id = segment_map_owner(mem2chunk(mem));
  if (LIKELY(id != 0))
    return &heaps[id - 1];
  return arena_owner_slow(mem2chunk(mem));
}

/* Arena h forgot its memory: every cache and the depot (which of their blocks are h's is
   not known here: they are forgotten, and what other arenas' blocks they held stays in use),
   and h's remote frees.  (h's lock held.) */
static void thread_cache_forget(heap_t *h) {
  struct arena *a = arena_of(h);
  ++thread_cache_generation;
  lock_acquire(&thread_cache_depot.lock);
  memset(thread_cache_depot.depth, 0, sizeof(thread_cache_depot.depth));
  thread_cache_depot.bytes = 0;
  lock_release(&thread_cache_depot.lock);
  a->remote = 0;
  a->remote_count = 0;
  a->remote_bytes = 0;
}

/* Give the first n blocks of the chain *chain (cached, chunk size nb) back to the heap:
   *chain is left at the rest, *bytes drops by their sizes.  Returns how many there were.  A
   damaged chain ends where the damage is (PROCEED_ON_ERROR).  Blocks of other arenas go to
   their remote lists.  (h's lock held.) */
static unsigned thread_cache_release(heap_t *h, void **chain, size_t nb, unsigned n,
                                     size_t *bytes) {
  void **mem = (void **)*chain;
  unsigned given = 0;
  for (; given < n && mem != 0; ++given) {
    void **next;
    heap_t *owner = cached_block_owner(h, mem);
    /* marked cached until its arena takes it: h now, another arena from its remote list */
    if (!thread_cache_check(h, mem, nb, 0, 1)) {
      mem = 0;
      break;
    }
    next = thread_cache_next(mem);
    *bytes -= nb;
    if (owner == h)
      free_claimed(h, mem2chunk(mem));
    else
      arena_push_remote(owner, mem, 0);
    mem = next;
  }
  *chain = mem;
  return given;
}

/* Give every batch in the depot back to the heaps, h's blocks to h, the others to their
   arenas' remote lists (h's lock held; each batch is taken out under the depot's lock, and
   given back outside it). */
static void thread_cache_depot_drain(heap_t *h) {
  size_t i;
  for (i = 0; i < THREAD_CACHE_LISTS; ++i) {
    size_t nb = thread_cache_list_size(i), bytes = THREAD_CACHE_BATCH * nb;
    void *batch;
    while ((batch = thread_cache_depot_take(i, nb)) != 0)
      (void)thread_cache_release(h, (void **)&batch, nb, THREAD_CACHE_BATCH, &bytes);
  }
}

/* Give back the n most recent blocks of list i (the thread's arena's lock held).  The most
   recent, because they are reached without walking the list; the heap hands them out again
   first.  Returns how many it gave (fewer where the list ends, or is damaged). */
static unsigned thread_cache_drain(struct thread_cache *tc, size_t i, unsigned n) {
  unsigned given =
      thread_cache_release(tc->heap, &tc->first[i], thread_cache_list_size(i), n, &tc->bytes);
  thread_cache_count_down(tc, i, given);
  return given;
}

/* Note whether other threads are bound (to any arena): they are who blocks pass to, through
   the caches (each takes the blocks it frees, whichever arena's) and the depots.  Called when
   the cache starts, and again at each refill and overflow, as threads come and go. */
static void thread_cache_count_user(struct thread_cache *tc) {
  int shared = *(volatile size_t *)&threads_bound >= 2;
  if (shared != tc->shared) {
    size_t i;
    tc->shared = shared;
    for (i = 0; i < THREAD_CACHE_LISTS; ++i)
      if (tc->limit[i] != MALLOC_THREAD_CACHE_COUNT) {
        tc->limit[i] = thread_cache_idle_limit(tc);
        if (tc->count[i] > tc->limit[i]) /* alone now: nobody to pass them on to */
          thread_cache_drain(tc, i, tc->count[i] - tc->limit[i]);
      }
  }
}

/* Give back every block this thread caches (its arena's lock held). */
static void thread_cache_drain_all(struct thread_cache *tc) {
  size_t i;
  if (thread_cache_current(tc))
    for (i = 0; i < THREAD_CACHE_LISTS; ++i)
      thread_cache_drain(tc, i, tc->count[i]);
}

/* Before an operation that wants all free memory in the heap: this thread's cache and its
   arena's depot (the arena's lock held).  Other threads' caches stay: only their owners may
   touch them. */
static void thread_cache_give_back(struct thread_cache *tc) {
  thread_cache_drain_all(tc);
  thread_cache_depot_drain(tc->heap);
  tc->bound = MALLOC_THREAD_CACHE_BYTES; /* grown again if the thread keeps churning */
  thread_cache_count_from(tc, 0);
}
#define thread_cache_holds(tc) ((tc)->bytes != 0 || thread_cache_depot.bytes != 0) /* estimate */

#if DEBUG
/* Every block of the chain at mem: a chunk in use, of list i's size, cached; a block of arena
   h (whose lock the caller holds) passes the full in-use check.  (Another arena's block is
   checked only as far as its own header goes: its neighbours change under its arena's lock,
   which is not held here.)  Returns how many there are; *bytes grows by their sizes. */
static unsigned do_check_cached_chain(heap_t *h, void **mem, size_t i, size_t *bytes) {
  unsigned n = 0;
  for (; mem != 0; mem = thread_cache_next(mem)) {
    chunk_t *p = mem2chunk(mem);
    if (!thread_cache_check(h, mem, thread_cache_list_size(i), 0, 1)) /* reported; not followed */
      break;
    dl_assert(!is_mmapped(p));
    if (cached_block_owner(h, mem) == h)
      do_check_inuse_chunk(h, p);
    *bytes += chunksize(p);
    ++n;
  }
  return n;
}

/* Every cached block of tc and of the depot passes do_check_cached_chain; the counts add up. */
static void do_check_thread_cache(struct thread_cache *tc) {
  size_t i, bytes = 0;
  struct thread_cache_depot *d = &thread_cache_depot;
  if (!thread_cache_current(tc))
    return;
  for (i = 0; i < THREAD_CACHE_LISTS; ++i) {
    unsigned n = do_check_cached_chain(tc->heap, (void **)tc->first[i], i, &bytes);
    dl_assert(n == tc->count[i] && n <= tc->limit[i] && n <= MALLOC_THREAD_CACHE_COUNT);
    dl_assert(tc->limit[i] == MALLOC_THREAD_CACHE_COUNT ||
              tc->limit[i] == thread_cache_idle_limit(tc));
  }
  dl_assert(bytes == tc->bytes && bytes <= tc->bound);
  dl_assert(tc->bound >= MALLOC_THREAD_CACHE_BYTES && tc->bound <= THREAD_CACHE_BYTES_MAX);
  bytes = 0; /* the depot: whole batches of its lists' sizes */
  lock_acquire(&d->lock);
  for (i = 0; i < THREAD_CACHE_LISTS; ++i) {
    unsigned b;
    dl_assert(d->depth[i] <= THREAD_CACHE_DEPOT_DEPTH);
    for (b = 0; b < d->depth[i]; ++b)
      dl_assert(do_check_cached_chain(tc->heap, (void **)d->batch[i][b], i, &bytes) ==
                THREAD_CACHE_BATCH);
  }
  dl_assert(bytes == d->bytes && bytes <= THREAD_CACHE_DEPOT_BYTES);
  lock_release(&d->lock);
}
#define check_thread_cache(tc) do_check_thread_cache(tc)
#else
#define check_thread_cache(tc) ((void)0)
#endif /* DEBUG */

#if MALLOC_THREAD_CACHE_EXIT
static void thread_cache_at_exit(void *unused) {
  (void)unused;
  dlmalloc_thread_exit();
}
#if DL_WIN32
static DWORD thread_cache_fls = FLS_OUT_OF_INDEXES;
static void WINAPI thread_cache_fls_callback(void *value) { thread_cache_at_exit(value); }
/* Arrange for thread_cache_at_exit to run when this thread ends; 0 if that cannot be done. */
static int thread_cache_register(struct thread_cache *tc) {
  if (thread_cache_fls == FLS_OUT_OF_INDEXES) {
    lock_acquire(&global_lock);
    if (thread_cache_fls == FLS_OUT_OF_INDEXES)
      thread_cache_fls = FlsAlloc(thread_cache_fls_callback);
    lock_release(&global_lock);
  }
  return thread_cache_fls != FLS_OUT_OF_INDEXES && FlsSetValue(thread_cache_fls, tc);
}
#else
static pthread_key_t thread_cache_key;
static pthread_once_t thread_cache_key_once = PTHREAD_ONCE_INIT;
static int thread_cache_key_made;
static void thread_cache_make_key(void) {
  thread_cache_key_made = pthread_key_create(&thread_cache_key, thread_cache_at_exit) == 0;
}
/* Arrange for thread_cache_at_exit to run when this thread ends; 0 if that cannot be done.
   pthread_setspecific may allocate: glibc callocs a thread's second block of keys when the
   key is past the first 32 (a program made that many before its first malloc).  That call
   comes back into the allocator and attaches the thread itself (thread_attach). */
static int thread_cache_register(struct thread_cache *tc) {
  pthread_once(&thread_cache_key_once, thread_cache_make_key);
  return thread_cache_key_made && pthread_setspecific(thread_cache_key, tc) == 0;
}
#endif
#endif /* MALLOC_THREAD_CACHE_EXIT */


static void thread_cache_end(struct thread_cache *tc);

/* The first time: arrange for the thread's binding and cache to end with it, and bind it to
   an arena.  0: this thread does without both (and allocates from the global heap). */
static NOINLINE int thread_attach(struct thread_cache *tc) {
  if (tc->ended)
    return 0;
  if (tc->heap != 0)
    return 1;
#if MALLOC_THREAD_CACHE_EXIT
  if (!tc->registered) {
    tc->registered = 1;
    if (!thread_cache_register(tc)) { /* nobody would end them: do without */
      if (tc->heap != 0) /* bound by an allocation inside the registration: undone now */
        thread_cache_end(tc);
      tc->generation = 0;
      tc->ended = 1;
      return 0;
    }
    if (tc->heap != 0) /* bound by an allocation inside the registration: once is all */
      return 1;
  }
#endif
  arena_bind(tc);
  return 1;
}

/* Make tc usable: attach the thread the first time, and drop a stale cache (its memory was
   forgotten).  0: this thread does without its cache. */
static NOINLINE int thread_cache_start(struct thread_cache *tc) {
  size_t i;
  if (!thread_attach(tc))
    return 0;
  if (thread_cache_current(tc)) /* started by an allocation inside the attach: keep its lists */
    return 1;
  memset(tc->first, 0, sizeof(tc->first));
  memset(tc->count, 0, sizeof(tc->count));
  memset(tc->batch, 0, sizeof(tc->batch));
  for (i = 0; i < THREAD_CACHE_LISTS; ++i)
    tc->limit[i] = thread_cache_idle_limit(tc);
  tc->bytes = 0;
  tc->bound = MALLOC_THREAD_CACHE_BYTES;
  thread_cache_count_from(tc, 0);
  tc->generation = thread_cache_generation;
  if (!PREACTION(tc->heap)) { /* a thread that only frees needs to know about the others too */
    thread_cache_count_user(tc);
    POSTACTION(tc->heap);
  }
  return 1;
}

/* The calling thread's arena: the one it is bound to (binding it on first use, without
   starting its cache), or the global heap for a thread that cannot be attached. */
static inline heap_t *thread_heap(void) {
  struct thread_cache *tc = &thread_cache;
  if (LIKELY(tc->heap != 0) || thread_attach(tc))
    return tc->heap;
  return gm;
}

/* The heap a request of `bytes` is served from: the mmap threshold and up, the global heap
   (which maps such blocks directly); anything smaller, the calling thread's arena. */
static inline heap_t *heap_for_request(size_t bytes) {
  return bytes >= mparams.mmap_threshold ? gm : thread_heap();
}

/* malloc on arena h, freeing its remote frees first. */
static void *arena_malloc(heap_t *h, size_t bytes) {
  void *mem = 0;
  if (!arena_acquire(h)) {
    mem = internal_malloc(h, bytes);
    POSTACTION(h);
  }
  return mem;
}

/* Put block mem (chunk size `size`, marked cached) at the front of its list, list i. */
static inline void thread_cache_link_in(struct thread_cache *tc, void *mem, size_t size,
                                        size_t i) {
  thread_cache_set_link((void **)mem, tc->first[i]);
  tc->first[i] = mem;
  ++tc->count[i];
  tc->bytes += size;
}

/* A free of mem (a block of arena h) found, as it marked the block cached, that another free
   had come first: the head was `old` (cold path of thread_cache_push). */
static NOINLINE void thread_cache_lost_race(heap_t *h, void *mem, size_t old) {
  if ((old & CACHED_BIT) == 0) /* not ours to keep: the block is back in the heap */
    (void)head_clear_bits(mem2chunk(mem), CACHED_BIT);
  USAGE_ERROR(h, mem, "free",
              (old & CACHED_BIT) != 0 ? THREAD_CACHE_DOUBLE_FREE
                                      : "double free (another thread freed the block meanwhile)");
}

/* Push block mem (chunk size `size`, validated) onto its list, list i.  The check was made on a
   head read earlier; the head as it was when CACHED_BIT went in decides: another free of the
   block may have come first since, into a cache (CACHED_BIT) or into the heap (not in use). */
static inline void thread_cache_push(struct thread_cache *tc, void *mem, size_t size,
                                     size_t i) {
  size_t old = head_set_bits(mem2chunk(mem), CACHED_BIT);
  if (UNLIKELY((old & ~PINUSE_BIT) != (size | CINUSE_BIT))) {
    thread_cache_lost_race(tc->heap, mem, old);
    return;
  }
  thread_cache_link_in(tc, mem, size, i);
}

/* free(mem) of a block of arena h by a thread bound to another arena.  The cheap checks of
   the thread cache's free, without h's lock: p lies in a granule of h (arena_owner), its
   head says in use and not cached, and the next chunk, also in h, says p is in use.  Then
   CACHED_BIT goes in (a second free of the block, racing or later, is caught) and the block
   goes on h's remote list.  Anything else (a segment's record too: follows_record) takes
   h's locked path, which decides and reports. */
static NOINLINE void arena_free_remote(heap_t *h, void *mem) {
  chunk_t *p = mem2chunk(mem);
  size_t head = p->head, size = head & ~FLAG_BITS;
  chunk_t *next = (chunk_t *)((uintptr_t)p + size); /* formed in integers: size may be bad */
  if (((size_t)(uintptr_t)mem & CHUNK_ALIGN_MASK) == 0 &&
      (head & (CINUSE_BIT | CACHED_BIT)) == CINUSE_BIT && (size & CHUNK_ALIGN_MASK) == 0 &&
      size >= MIN_CHUNK_SIZE && ok_next(p, next) && heap_surely_holds(h, next) &&
#if FOOTERS
      heap_holds_chunk(h, p, 0) &&
#endif
      pinuse(next) && !follows_record(next)) {
    if (UNLIKELY(!head_replace(p, head, head | CACHED_BIT))) {
      /* changed since it was read (another free, or a neighbour's P bit): the lock decides */
      heap_free(FOOTERS ? 0 : h, mem, "free");
      return;
    }
    arena_push_remote(h, mem, 1);
    return;
  }
  heap_free(FOOTERS ? 0 : h, mem, "free");
}

/* Carve up to a batch of blocks of chunk size nb (list i, empty) for the list, after the
   caller's own block, while the arena has free chunks to serve them from: not top, so that a
   refill reuses memory the program freed instead of spreading cached blocks over fresh
   pages, never grows the footprint, and never fails (and sets errno) on the caller's
   behalf.  (Carving from top too made a producer/consumer program slower;
   bench/results/design-measurements.md.)  Only dv or a small bin serves a batch: the tree
   bins, where a tree-bin size's split leaves its remainder, would let such sizes carve too,
   and that made threads of spread-out sizes slower and larger (same file).  The batch
   starts empty and grows with every refill of the list (0, 1, 3, 7, ...): sizes a thread
   allocates again and again soon take whole batches, while a size asked for once in a
   while costs no blocks that would sit unused.  (The arena's lock held.) */
static void thread_cache_carve(struct thread_cache *tc, size_t i, size_t nb, size_t bytes) {
  heap_t *h = tc->heap;
  void **tail = 0;
  unsigned n = 0, want = tc->batch[i];
  tc->batch[i] = (unsigned char)(want * 2 + 1 < THREAD_CACHE_BATCH ? want * 2 + 1
                                                                     : THREAD_CACHE_BATCH);
  while (n < want && tc->bytes + nb <= tc->bound &&
         (h->dvsize >= nb || (is_small(nb) && (h->smallmap >> small_index(nb)) != 0))) {
    void **extra = (void **)internal_malloc(h, bytes);
    if (extra == 0)
      break;
    if (chunksize(mem2chunk(extra)) != nb) { /* an unsplit larger chunk: not this list */
      internal_free(h, mem2chunk(extra), "malloc");
      break;
    }
    /* Appended, so that the blocks come out in address order. */
    /* Just allocated: no cache holds it, and only the lock holder changes its P bit. */
    (void)head_or_plain(mem2chunk(extra), CACHED_BIT);
    thread_cache_set_link(extra, 0);
    if (tail != 0)
      thread_cache_set_link(tail, extra);
    else
      tc->first[i] = extra;
    tail = extra;
    ++n;
    tc->bytes += nb;
  }
  tc->count[i] = (thread_cache_count_t)n;
}

/* Take a batch from the arena's depot for list i (empty; chunk size nb): its first block for
   the caller, the rest the list.  0 if the depot has none, or the cache has no room for them.
   (The arena's lock held: the blocks of the batch may be the arena's.) */
static void *thread_cache_take_batch(struct thread_cache *tc, size_t i, size_t nb) {
  void **batch;
  if (tc->bytes + (THREAD_CACHE_BATCH - 1) * nb > tc->bound)
    return 0;
  batch = (void **)thread_cache_depot_take(i, nb);
  if (batch == 0 || !thread_cache_check(tc->heap, batch, nb, 1, 1))
    return 0;
  tc->first[i] = thread_cache_next(batch);
  tc->count[i] = (thread_cache_count_t)(THREAD_CACHE_BATCH - 1);
  tc->bytes += (THREAD_CACHE_BATCH - 1) * nb;
  batch[0] = 0; /* the caller's block keeps no link */
  return batch;
}

/* malloc(bytes) when the list for its size is empty or stale: one block for the caller and
   more of the same size for the list (a batch from the depot, or carved from the arena),
   under one lock acquisition. */
static NOINLINE void *thread_cache_refill(struct thread_cache *tc, size_t bytes) {
  void *mem = 0;
  size_t nb = request2size(bytes);
  size_t i = thread_cache_list_of(nb);
  heap_t *h;
  if (!thread_cache_current(tc) && !thread_cache_start(tc))
    return heap_malloc(gm, bytes);
  h = tc->heap;
  if (!arena_acquire(h)) {
    thread_cache_count_user(tc);
    tc->limit[i] = MALLOC_THREAD_CACHE_COUNT; /* asked for */
    if (tc->first[i] == 0 && (mem = thread_cache_take_batch(tc, i, nb)) != 0) {
      tc->refilled += THREAD_CACHE_BATCH; /* served by the depot */
    } else if ((mem = internal_malloc(h, bytes)) == 0) {
      if (thread_cache_holds(tc)) { /* the caches may hold what the heap needs */
        thread_cache_give_back(tc);
        mem = internal_malloc(h, bytes);
      }
    } else {
      ++tc->refilled;
      if (tc->first[i] == 0 && !is_mmapped(mem2chunk(mem)) && i < THREAD_CACHE_SMALL_LISTS)
        thread_cache_carve(tc, i, nb, bytes);
    }
    check_thread_cache(tc);
    POSTACTION(h);
  }
  return mem;
}

/* Unlink block mem (checked, its CACHED_BIT cleared) from the front of list i.  The next
   block's head is asked for now: the next malloc of the size clears its CACHED_BIT with a
   locked instruction, which waits out a cache miss where a plain load would let the work
   after it go on, and a block cached a while ago, or freed on another core, misses.  (The
   address is only prefetched, never read, until thread_cache_check or the fast path has
   vouched for it.) */
static inline void *thread_cache_pop(struct thread_cache *tc, void **mem, size_t i, size_t nb) {
  void **next = thread_cache_next(mem);
  ++tc->hits;
  tc->first[i] = next;
  PREFETCH_FOR_WRITE((uintptr_t)next - SIZE_T_SIZE); /* its head; next may be 0 */
  thread_cache_count_down(tc, i, 1);
  tc->bytes -= nb;
  mem[0] = 0; /* the caller's block keeps no link */
  return mem;
}

static void *thread_cache_bypass(size_t bytes);

/* malloc(bytes) on every path but thread_cache_malloc's: before initialisation, a request
   the cache does not keep, a stale or empty list, or a front block the fast path's checks
   do not vouch for (thread_cache_check decides, and reports). */
static NOINLINE void *thread_cache_malloc_slow(size_t bytes) {
  struct thread_cache *tc = &thread_cache;
  size_t nb, i;
  void **mem;
  ensure_initialization();
  if (bytes <= THREAD_CACHE_MAX_REQUEST) {
    nb = request2size(bytes);
    i = thread_cache_list(nb);
  } else { /* rounded up to its class */
    if (bytes > THREAD_CACHE_CLASS_MAX_REQUEST)
      return thread_cache_bypass(bytes);
    i = thread_cache_class(bytes);
    nb = thread_cache_list_size(i);
    if (nb - CHUNK_OVERHEAD >= mparams.mmap_threshold) /* mapped directly, not rounded */
      return thread_cache_bypass(bytes);
    bytes = nb - CHUNK_OVERHEAD;
  }
  mem = (void **)tc->first[i];
  if (mem != 0 && thread_cache_current(tc) && thread_cache_check(tc->heap, mem, nb, 1, 0))
    return thread_cache_pop(tc, mem, i, nb);
  return thread_cache_refill(tc, bytes);
}

/* malloc(bytes): the front block of its list, when that block lies in the arena's top
   segment or in a granule the map names, and its head says cached, in use and of the list's
   size (thread_cache_check's checks for that case).  Everything else is
   thread_cache_malloc_slow's, reached by a tail call, so that this path saves no registers
   (the atomic clear of CACHED_BIT is most of its time). */
static inline void *thread_cache_malloc(size_t bytes) {
  struct thread_cache *tc = &thread_cache;
  if (LIKELY(bytes <= THREAD_CACHE_MAX_REQUEST)) {
    size_t nb = request2size(bytes);
    size_t i = thread_cache_list(nb);
    void **mem = (void **)tc->first[i];
    if (LIKELY(mem != 0) && LIKELY(thread_cache_current(tc)) &&
        LIKELY(((size_t)(uintptr_t)mem & CHUNK_ALIGN_MASK) == 0) &&
        LIKELY(top_segment_room(tc->heap, mem2chunk(mem)) != 0 ||
               segment_map_owner_quick(mem2chunk(mem)) != 0)) {
      chunk_t *p = mem2chunk(mem);
      size_t head = p->head;
      if (LIKELY((head & ~PINUSE_BIT) == (nb | CACHED_BIT | CINUSE_BIT))) {
        (void)head_clear_bits(p, CACHED_BIT);
        return thread_cache_pop(tc, mem, i, nb);
      }
    }
  }
  return thread_cache_malloc_slow(bytes);
}

/* List i or the cache is full: move the list's THREAD_CACHE_BATCH most recent blocks, still
   cached, to the depot, if the list has that many, other threads may take them and the
   depot has room.  1 if done.  (The arena's lock held.) */
static int thread_cache_give_batch(struct thread_cache *tc, size_t i) {
  struct thread_cache_depot *d = &thread_cache_depot;
  size_t size = thread_cache_list_size(i);
  void **last = (void **)tc->first[i], **rest;
  unsigned n;
  int room;
  if (tc->count[i] < THREAD_CACHE_BATCH || !tc->shared ||
      *(volatile unsigned char *)&d->depth[i] == THREAD_CACHE_DEPOT_DEPTH) /* (estimate) */
    return 0;
  /* Each block must be one the map names an arena for: a thread of another arena takes the
     batch, and finds each block's arena from the map (cached_block_owner) */
  if (!thread_cache_check(tc->heap, last, size, 0, 1) ||
      segment_map_owner(mem2chunk(last)) == 0)
    return 0;
  for (n = 1; n < THREAD_CACHE_BATCH; ++n)
    if (!thread_cache_check(tc->heap, last = thread_cache_next(last), size, 0, 1) ||
        segment_map_owner(mem2chunk(last)) == 0)
      return 0;
  /* The batch is cut from the list before it is published: once in the depot, another
     thread may take it and hand its blocks out. */
  rest = thread_cache_next(last);
  thread_cache_set_link(last, 0);
  lock_acquire(&d->lock);
  room = d->depth[i] < THREAD_CACHE_DEPOT_DEPTH &&
         d->bytes + THREAD_CACHE_BATCH * size <= THREAD_CACHE_DEPOT_BYTES;
  if (room) {
    d->batch[i][d->depth[i]++] = tc->first[i];
    d->bytes += THREAD_CACHE_BATCH * size;
  }
  lock_release(&d->lock);
  if (!room) {
    thread_cache_set_link(last, rest); /* not published: the list as it was */
    return 0;
  }
  tc->first[i] = rest;
  thread_cache_count_down(tc, i, THREAD_CACHE_BATCH);
  tc->bytes -= THREAD_CACHE_BATCH * size;
  return 1;
}

/* The cache is at its byte bound.  If the heap had to serve at least half as many refills
   since the bound was last reached as there were blocks given back then, and at least one
   malloc in seventeen, those blocks were wanted again: the thread's working set is larger than
   the bound, and the difference makes round trips through the heap (its bins, its lock).
   The bound doubles then, up to THREAD_CACHE_BYTES_MAX; when few were wanted again (an
   eighth as many, or one malloc in 65), it halves, down to MALLOC_THREAD_CACHE_BYTES.  A
   thread that frees what others allocate, or allocates what others free, never refills
   after reaching the bound, or never reaches it; one that misses rarely gains little from
   more: both keep the smallest bound, and the memory (bench/results/design-measurements.md).
   A batch taken from the depot counts as its blocks: an overflow gives whole lists to the
   depot a batch at a time, and a thread whose working set is of few sizes takes them back
   from there; while such batches went uncounted, its bound never grew (test_tcache, and
   bench/results/design-measurements.md). */
static void thread_cache_adapt(struct thread_cache *tc) {
  if (tc->given != 0 && tc->refilled >= tc->given / 2 && tc->refilled >= tc->hits / 16) {
    if (tc->bound < THREAD_CACHE_BYTES_MAX)
      tc->bound *= 2;
  } else if ((tc->refilled < tc->given / 8 || tc->refilled < tc->hits / 64) &&
             tc->bound > MALLOC_THREAD_CACHE_BYTES) {
    tc->bound /= 2;
  }
}

/* free(mem) of a cacheable block (of arena owner, chunk size `size`, list i) when its list or
   the cache is full, under one lock acquisition: a full list gives back a batch.  A full
   cache gives back first, from every list, the blocks no malloc reached since the byte bound
   was last reached (the list's low-water mark, tc->low: they only waited), then whole lists,
   the largest sizes first, down to half the byte bound, so that the next overflow is as far
   away as the next refill.
   Without the first step, the lists of a thread whose sizes are spread out drifted apart:
   some grew with blocks nobody asked for, and the largest, in use, were emptied at every
   overflow and refilled through the heap after it (shbench: one malloc in five, in runs that
   fell into it; bench/results/design-measurements.md). */
static NOINLINE void thread_cache_overflow(struct thread_cache *tc, heap_t *owner, void *mem,
                                           size_t size, size_t i) {
  heap_t *h = tc->heap;
  int elsewhere = 0; /* mem, another arena's block, is to be freed there */
  if (!arena_acquire(h)) {
    size_t j;
    thread_cache_count_user(tc);
    if (tc->count[i] >= tc->limit[i] && !thread_cache_give_batch(tc, i))
      thread_cache_drain(tc, i, THREAD_CACHE_BATCH);
    if (tc->bytes + size > tc->bound) {
      size_t given = 0;
      thread_cache_adapt(tc);
      for (j = 0; j < THREAD_CACHE_LISTS; ++j) /* blocks no malloc reached since last time */
        if (tc->low[j] != 0)
          given += thread_cache_drain(tc, j, tc->low[j]);
      for (j = THREAD_CACHE_LISTS; j-- > 0 && tc->bytes + size > tc->bound / 2;)
        if (tc->count[j] != 0) {
          given += tc->count[j];
          while (thread_cache_give_batch(tc, j))
            continue;
          thread_cache_drain(tc, j, tc->count[j]);
          tc->batch[j] /= 2; /* its blocks were not asked for: smaller refills */
          tc->limit[j] = thread_cache_idle_limit(tc);
        }
      thread_cache_count_from(tc, given);
    }
    if (tc->count[i] < tc->limit[i]) /* (the thread may have found itself alone) */
      thread_cache_push(tc, mem, size, i);
    else if (owner == h)
      internal_free(h, mem2chunk(mem), "free");
    else
      elsewhere = 1;
    check_thread_cache(tc);
    POSTACTION(h);
  }
  if (elsewhere) /* outside h's lock: it may take the owner's */
    arena_free_remote(owner, mem);
  arenas_drain_idle_remote(0);
}

/* free(mem) on the paths thread_cache_free leaves aside: the cache not started, a block
   outside the arena's top segment (another arena's among them), a neighbour free, a list or
   the cache full, or a check failing.  A block the cache is to take is checked in full first
   (inuse_chunk_problem, the owner with FOOTERS); it may be another arena's (where the map
   names that arena), which the thread's next malloc of its size reuses, as a server's
   threads do with the requests they pass on; it goes back to its arena when the cache gives
   it up.  Another arena's block the cache does not take goes to that arena's remote list
   (arena_free_remote) while threads use that arena, or under its lock, which nobody else
   wants, when none does (a relay's successor freeing its predecessor's blocks).  Any other
   goes to the locked path, which checks it there, then frees it or reports the problem.  So
   does a block with a free neighbour (or top) while this thread is the only one of its
   arena: the lock is not contended then, and merging at once keeps the heap compact (a lower
   peak; bench/results/design-measurements.md), and a block of a size this lone thread does
   not allocate (thread_cache_idle_limit).  With other threads about, the lock is what they
   queue for, and the block is cached like any other. */
static NOINLINE void thread_cache_free_slow(void *mem) {
  struct thread_cache *tc = &thread_cache;
  chunk_t *p = mem2chunk(mem), *next;
  heap_t *h = arena_owner(mem);
  size_t i; /* the list for p's size */
  if (thread_cache_current(tc) || thread_cache_start(tc)) {
    int own = h == tc->heap, mapped = segment_map_holds(h, p); /* (mapped: no header read) */
    if ((own ? heap_surely_holds(h, p) : mapped) &&
#if FOOTERS
        heap_holds_chunk(h, p, 0) &&
#endif
        (own ? heap_surely_holds(h, (next = next_chunk(p))) /* or locked */
             : segment_map_holds(h, (next = next_chunk(p)))) &&
        !is_mmapped(p) && (i = thread_cache_list_of(chunksize(p))) < THREAD_CACHE_LISTS) {
      size_t size = chunksize(p);
      /* heap_free checks the blocks it gets under the lock: checking those here too would
         read every word twice. */
      if ((tc->shared || (pinuse(p) && cinuse(next) && tc->limit[i] != 0)) &&
          inuse_chunk_problem_inline(h, p, next, 0) == 0) {
        if (tc->count[i] < tc->limit[i] && tc->bytes + size <= tc->bound)
          thread_cache_push(tc, mem, size, i);
        else
          thread_cache_overflow(tc, h, mem, size, i);
        return;
      }
    }
    if (!own && mapped && ((size_t)(uintptr_t)mem & CHUNK_ALIGN_MASK) == 0 &&
        !may_be_mspace_state(chunksize(p)) && /* (its link would go into the state) */
        *(volatile size_t *)&arena_of(h)->users != 0) {
      arena_free_remote(h, mem);
      return;
    }
  }
  heap_free(FOOTERS ? 0 : h, mem, "free");
}

/* free(mem) into the cache, if mem is the common case: a block of the thread's arena in its
   top segment, or of any arena in granules the map names, in use, with room in its list, and
   between two chunks in use or other threads about; 1 if it went in.  It checks the block's
   own header (with FOOTERS its owner) and the next chunk's P bit (a second free of a block
   merged into a free chunk since fails there); a free neighbour's header, which only a merge
   reads, is checked when the block leaves the cache, by internal_free's checks, before any
   merge.  classes: the size classes too (thread_cache_free_other's second look), whose list
   takes more instructions to find than the fast path spends on the chunk-size lists. */
static ALWAYS_INLINE int thread_cache_free_quick(struct thread_cache *tc, void *mem,
                                                 int classes) {
  chunk_t *p = mem2chunk(mem);
  size_t room = 0; /* readable bytes from p on, when p lies in top's segment */
  unsigned id = 0;  /* else the map's arena for p's granule */
  if (LIKELY(thread_cache_current(tc)) &&
#if FOOTERS
      heap_holds_chunk(tc->heap, p, 0) &&
#else
      /* (thread_cache_free_other looks before it calls with classes) */
      LIKELY(classes || !any_given_buffer() || !in_given_span(mem)) &&
#endif
      ((size_t)mem & CHUNK_ALIGN_MASK) == 0 &&
      ((room = top_segment_room(tc->heap, p)) != 0 ||
       (!FOOTERS && (id = segment_map_owner_quick(p)) != 0))) {
    size_t head = p->head;
    size_t size = head & ~FLAG_BITS;
    size_t max = classes ? THREAD_CACHE_CLASS_MAX_SIZE : MALLOC_THREAD_CACHE_MAX_SIZE;
    size_t i = classes ? thread_cache_list_of(size) : thread_cache_list(size);
    chunk_t *next = chunk_plus_offset(p, size);
    size_t next_head;
    /* In use and not cached; size - MIN_CHUNK_SIZE wraps for a size below the minimum; the
       next chunk readable and saying p is in use, and, outside top's segment, no fencepost
       (p would be a segment's record: inuse_chunk_problem_inline); both neighbours in use
       unless other threads are about (a lone thread merges the block instead:
       thread_cache_free_other). */
    if ((head & (CINUSE_BIT | CACHED_BIT)) == CINUSE_BIT &&
        size - MIN_CHUNK_SIZE <= max - MIN_CHUNK_SIZE && i < THREAD_CACHE_LISTS &&
        !may_be_mspace_state(size) && /* the slow path's checks tell */
        (room != 0 ? size + TWO_SIZE_T_SIZES <= room : segment_map_owner_quick(next) == id) &&
        ((next_head = next->head) & PINUSE_BIT) != 0 &&
        (room != 0 || next_head != FENCEPOST_HEAD) && /* follows_record */
        (tc->shared || ((head & PINUSE_BIT) != 0 && (next_head & CINUSE_BIT) != 0)) &&
        LIKELY(tc->count[i] < tc->limit[i] && tc->bytes + size <= tc->bound) &&
        LIKELY(head_replace(p, head, head | CACHED_BIT))) {
      thread_cache_link_in(tc, mem, size, i);
      return 1;
    }
  }
  return 0;
}

/* free(mem) of what thread_cache_free leaves: a block of a size class, into the cache by the
   same checks; a block the cache never keeps (larger than its largest class, or between two
   classes) of the thread's arena's top segment, straight to the heap; with no other
   thread about, a block there with a free neighbour, or of a size this thread does not
   allocate, merged at once (see thread_cache_free_slow; heap_free checks it in full);
   anything else to thread_cache_free_slow, which checks it and decides. */
static NOINLINE void thread_cache_free_other(void *mem) {
  struct thread_cache *tc = &thread_cache;
  chunk_t *p = mem2chunk(mem);
  size_t room;
  if (!FOOTERS && UNLIKELY(any_given_buffer()) && in_given_span(mem)) {
    heap_free(arena_owner(mem), mem, "free"); /* perhaps an mspace's: heap_for_block looks */
    return;
  }
  if (MALLOC_THREAD_CACHE_CLASSES != 0 && thread_cache_free_quick(tc, mem, 1))
    return; /* a block of a size class, as the fast path takes the smaller ones */
  if (LIKELY(thread_cache_current(tc)) &&
#if FOOTERS
      heap_holds_chunk(tc->heap, p, 0) &&
#endif
      ((size_t)mem & CHUNK_ALIGN_MASK) == 0 && (room = top_segment_room(tc->heap, p)) != 0) {
    size_t head = p->head, size = head & ~FLAG_BITS, i = thread_cache_list_of(size), next_head;
    if (i == THREAD_CACHE_LISTS) { /* not a size the cache keeps */
      heap_free(FOOTERS ? 0 : tc->heap, mem, "free");
      return;
    }
    if (!tc->shared && size + TWO_SIZE_T_SIZES <= room &&
        ((next_head = chunk_plus_offset(p, size)->head) & PINUSE_BIT) != 0 &&
        ((head & PINUSE_BIT) == 0 || (next_head & CINUSE_BIT) == 0 ||
         tc->limit[i] == 0)) {
      heap_free(FOOTERS ? 0 : tc->heap, mem, "free");
      return;
    }
  }
  thread_cache_free_slow(mem);
}

/* free(mem), mem not 0: the common case into the cache (thread_cache_free_quick); anything
   else is thread_cache_free_other's, reached by a tail call, so that this path saves (almost)
   no registers. */
static inline void thread_cache_free(void *mem) {
  if (!thread_cache_free_quick(&thread_cache, mem, 0))
    thread_cache_free_other(mem);
}

/* malloc(bytes) of a block the cache does not keep, after its heap h failed it (footprint
   limit, no memory): again, once the calling thread's cache is back in its arena. */
static NOINLINE void *thread_cache_retry(heap_t *h, size_t bytes) {
  struct thread_cache *tc = &thread_cache;
  void *mem = 0;
  if (bytes < MAX_REQUEST && thread_cache_current(tc) && !arena_acquire(tc->heap)) {
    if (thread_cache_holds(tc)) {
      thread_cache_give_back(tc);
      if (h == tc->heap)
        mem = internal_malloc(h, bytes);
    }
    POSTACTION(tc->heap);
    if (mem == 0 && h != tc->heap)
      mem = heap_malloc(h, bytes);
  }
  return mem;
}

/* malloc(bytes) past the cache's lists (a block the cache does not keep, or one that should
   not come from a cached batch): from the thread's arena, or the global heap for a request
   it maps directly; a failure is retried by thread_cache_retry. */
static void *thread_cache_bypass(size_t bytes) {
  heap_t *h = heap_for_request(bytes);
  void *mem = arena_malloc(h, bytes);
  return LIKELY(mem != 0) ? mem : thread_cache_retry(h, bytes);
}

/* Give back the calling thread's cache before an operation that wants all free memory in the
   heaps (malloc_trim).  1 if that alone released memory to the system (internal_free may). */
static int thread_cache_flush(void) {
  struct thread_cache *tc = &thread_cache;
  int released = 0;
  if (thread_cache_current(tc) && !PREACTION(tc->heap)) {
    size_t footprint = tc->heap->footprint;
    thread_cache_give_back(tc);
    released = tc->heap->footprint < footprint;
    POSTACTION(tc->heap);
  }
  return released;
}

#if !NO_MALLINFO
/* mallinfo's smblks and fsmblks: the blocks and bytes in the calling thread's cache. */
static void thread_cache_report(struct mallinfo *info) {
  struct thread_cache *tc = &thread_cache;
  size_t i, n = 0;
  if (thread_cache_current(tc))
    for (i = 0; i < THREAD_CACHE_LISTS; ++i)
      n += tc->count[i];
  info->smblks = (MALLINFO_FIELD_TYPE)n;
  info->fsmblks = (MALLINFO_FIELD_TYPE)(n != 0 ? tc->bytes : 0);
}
#endif /* !NO_MALLINFO */

/* The thread is ending: its cache goes back to its arena, and the arena is free for another
   thread once no thread is bound to it.  The segments of its arena that hold nothing now go
   back to the system: free() looks for such segments only every MAX_RELEASE_CHECK_RATE
   frees, and after the threads that freed their blocks have ended nothing frees any more
   (an outside review: 376 MB kept after 32 threads had freed all and ended, glibc 3.6). */
static void thread_cache_end(struct thread_cache *tc) {
  heap_t *h = tc->heap;
  if (h != 0 && thread_cache_current(tc) && !PREACTION(h)) {
    thread_cache_drain_all(tc);
    POSTACTION(h);
  }
  if (tc->counted) {
    size_t left;
    tc->counted = 0;
    lock_acquire(&global_lock);
    --arena_of(h)->users;
    left = --threads_bound;
    lock_release(&global_lock);
    if (!arena_acquire(h)) { /* (which frees what other threads freed into it first) */
      if (left < 2) /* nobody left to pass batches to */
        thread_cache_depot_drain(h);
      release_unused_segments(h);
      POSTACTION(h);
    }
  }
  arenas_drain_idle_remote(1);
  tc->generation = 0;
  tc->ended = 1;
}

/* The rest of what the global functions need from the cache (the interface below). */

/* calloc(n_elements, elem_size) for a request the cache keeps: 1 with *mem the zeroed block
   (0 if none could be had), or 0: not such a request, the heap's calloc decides. */
static inline int thread_cache_calloc(size_t n_elements, size_t elem_size, void **mem) {
  /* both factors below the square root of the size range: the product cannot wrap */
  size_t req = n_elements * elem_size;
  if (((n_elements | elem_size) >> (SIZE_T_BITSIZE / 2)) != 0 || req > THREAD_CACHE_MAX_REQUEST)
    return 0;
  *mem = thread_cache_malloc(req);
  if (*mem != 0)
    memset(*mem, 0, req);
  return 1;
}

/* The end of the run of array[start ..] that bulk_free frees under one arena's lock: the
   blocks of array[start]'s arena (*h), and the nulls among them.  *h is 0 when array[start]
   is null. */
static size_t arena_run(void *array[], size_t start, size_t nelem, heap_t **h) {
  size_t end = start + 1;
  *h = 0;
  if (array[start] != 0) {
    *h = arena_owner(array[start]);
    while (end < nelem && (array[end] == 0 || arena_owner(array[end]) == *h))
      ++end;
  }
  return end;
}

/* The depot's lock, in fork's order (section 19): taken last, given back first. */
#define thread_cache_depot_lock(action) action(&thread_cache_depot.lock)

/* In a child of fork: its one thread is all that is bound, the other arenas are free. */
static void thread_cache_after_fork(void) {
  size_t i;
  for (i = 0; i < arena_count; ++i)
    arenas[i].users = 0;
  threads_bound = (size_t)thread_cache.counted;
  if (thread_cache.counted)
    arena_of(thread_cache.heap)->users = 1;
}

#define thread_cache_exit() thread_cache_end(&thread_cache)

#else /* !THREAD_CACHE: one heap, the global one, and no cache */
#define thread_heap() gm
#define heap_for_request(bytes) ((void)(bytes), gm)
#define thread_cache_malloc(bytes) (ensure_initialization(), heap_malloc(gm, (bytes)))
#define thread_cache_bypass(bytes) heap_malloc(gm, (bytes))
#define thread_cache_calloc(n_elements, elem_size, mem)                                      \
  ((void)(n_elements), (void)(elem_size), (void)(mem), 0)
#define arena_run(array, start, nelem, h) ((void)(array), (void)(start), *(h) = gm, (nelem))
#define thread_cache_flush() 0
#define thread_cache_report(info) ((void)(info))
#define thread_cache_depot_lock(action) ((void)0)
#define thread_cache_after_fork() ((void)0)
#define thread_cache_exit() ((void)0)
#endif /* THREAD_CACHE */

/* ---- The interface the global functions use ----
   Everything the public functions (here and in sections 17 and 19) ask of the threading
   layer, defined in both builds (without THREAD_CACHE, for the one global heap), so that
   they hold no #if of their own:
   - thread_heap() and heap_for_request(bytes): where an allocation comes from;
   - block_heap(mem): the heap a call on block mem works on (0 with FOOTERS: the footer names
     it, heap_for_block); for_each_arena: every arena made, the global heap first;
   - thread_cache_malloc(bytes) and thread_cache_free(mem) (mem not 0): malloc and free, the
     first initialising the library if need be; thread_cache_bypass(bytes), once it is
     initialised: a malloc that does not come from a cached batch (realloc of a null
     pointer); thread_cache_calloc(n, size, &mem): 1 with mem the zeroed block (or 0) if
     the request was small enough for the cache, 0 if the heap's calloc is to serve it;
   - arena_acquire(h): h's lock (0 once taken, as PREACTION), with what other threads freed
     into h back in h first; arena_run(array, start, n, &h): the end of bulk_free's run of
     one arena's blocks from array[start], h that arena (0 for a null entry);
   - thread_cache_flush(), thread_cache_report(info): malloc_trim's and mallinfo's share of
     the calling thread's cache;
   - thread_cache_depot_lock(action), thread_cache_after_fork(): fork's part;
   - thread_cache_exit(): the calling thread ends. */
#if !ONLY_MSPACES
#if THREAD_CACHE && !FOOTERS
#define block_heap(mem) arena_owner(mem)
#elif FOOTERS
#define block_heap(mem) ((void)(mem), (heap_t *)0)
#else
#define block_heap(mem) ((void)(mem), gm)
#endif
#if !THREAD_CACHE
static inline void thread_cache_free(void *mem) { heap_free(block_heap(mem), mem, "free"); }
static inline int arena_acquire(heap_t *h) { return PREACTION(h); }
#endif

/* Apply fn to every arena made (none is ever unmade), in order. */
static void for_each_arena(void (*fn)(heap_t *, void *), void *arg) {
  size_t i, n = arena_count;
  for (i = 0; i < n; ++i)
    fn(&heaps[i], arg);
}

void dlmalloc_thread_exit(void) { thread_cache_exit(); }

size_t dlmalloc_arenas(void) { return arena_count; }
#endif /* !ONLY_MSPACES */

/* ==== 17. The global heap's public functions ================================================
   Thin wrappers: each names the global heap and its operation for error messages.  With
   FOOTERS, calls that take a block accept blocks of any heap (the footer names the owner). */

#if !ONLY_MSPACES

void *dlmalloc(size_t bytes) DLMALLOC_NOTHROW {
  return thread_cache_malloc(bytes); /* (initialises the library if need be) */
}

void dlfree(void *mem) DLMALLOC_NOTHROW {
  if (mem != 0)
    thread_cache_free(mem);
}

/* The sizes are not needed: every chunk records its own. */
void dlfree_sized(void *mem, size_t bytes) DLMALLOC_NOTHROW {
  (void)bytes;
  dlfree(mem);
}

void dlfree_aligned_sized(void *mem, size_t alignment, size_t bytes) DLMALLOC_NOTHROW {
  (void)alignment;
  (void)bytes;
  dlfree(mem);
}

void *dlcalloc(size_t n_elements, size_t elem_size) DLMALLOC_NOTHROW {
  void *mem;
  if (thread_cache_calloc(n_elements, elem_size, &mem)) /* (its malloc initialises) */
    return mem;
  ensure_initialization();
  return heap_calloc(heap_for_request(n_elements > 0 && elem_size > MAX_SIZE_T / n_elements
                                          ? MAX_SIZE_T
                                          : n_elements * elem_size),
                     n_elements, elem_size);
}

void *dlrealloc(void *oldmem, size_t bytes) DLMALLOC_NOTHROW {
  if (oldmem == 0) {
    /* Most likely the start of a buffer that will grow: from the heap, where it can grow in
       place, not from a cached batch whose next block would box it in (a lower peak and
       fewer instructions; bench/results/design-measurements.md). */
    ensure_initialization();
    return thread_cache_bypass(bytes);
  }
  return heap_realloc(block_heap(oldmem), oldmem, bytes, "realloc");
}

void *dlreallocarray(void *oldmem, size_t count, size_t size) DLMALLOC_NOTHROW {
  if (size != 0 && count > MAX_SIZE_T / size) { /* count * size would wrap */
    MALLOC_FAILURE_ACTION;
    return 0;
  }
  return dlrealloc(oldmem, count * size);
}

void *dlrealloc_in_place(void *oldmem, size_t bytes) DLMALLOC_NOTHROW {
  return heap_realloc_in_place(oldmem != 0 ? block_heap(oldmem) : gm, oldmem, bytes,
                               "realloc_in_place");
}

void *dlmemalign(size_t alignment, size_t bytes) DLMALLOC_NOTHROW {
  if (alignment <= MALLOC_ALIGNMENT) /* every block is aligned that much */
    return dlmalloc(bytes);          /* (which initialises the library if need be) */
  ensure_initialization();
  return heap_memalign(heap_for_request(bytes > MAX_SIZE_T - alignment ? MAX_SIZE_T
                                                                       : bytes + alignment),
                       alignment, bytes);
}

int dlposix_memalign(void **pp, size_t alignment, size_t bytes) DLMALLOC_NOTHROW {
  void *mem;
  if (alignment % sizeof(void *) != 0 || alignment == 0 || !is_power_of_two(alignment))
    return DL_EINVAL;
  {
#if HAVE_ERRNO
    int saved_errno = errno; /* the result carries the error; errno stays as it was */
#endif
    mem = dlmemalign(alignment, bytes);
#if HAVE_ERRNO
    errno = saved_errno;
#endif
  }
  if (mem == 0)
    return DL_ENOMEM;
  *pp = mem;
  return 0;
}

/* Unlike memalign, which rounds a bad alignment up, C17 makes an alignment that is not a
   power of two a failure; every power of two is valid, below MALLOC_ALIGNMENT too. */
void *dlaligned_alloc(size_t alignment, size_t bytes) DLMALLOC_NOTHROW {
  if (alignment == 0 || !is_power_of_two(alignment)) {
    SET_ERRNO(DL_EINVAL);
    return 0;
  }
  return dlmemalign(alignment, bytes);
}

void *dlvalloc(size_t bytes) DLMALLOC_NOTHROW {
  ensure_initialization();
  return dlmemalign(mparams.page_size, bytes);
}

void *dlpvalloc(size_t bytes) DLMALLOC_NOTHROW {
  size_t pagesz;
  ensure_initialization();
  pagesz = mparams.page_size;
  if (bytes > MAX_SIZE_T - pagesz) {
    MALLOC_FAILURE_ACTION;
    return 0;
  }
  return dlmemalign(pagesz, (bytes + pagesz - SIZE_T_ONE) & ~(pagesz - SIZE_T_ONE));
}

int dlmallopt(int param, int value) DLMALLOC_NOTHROW { return change_mparam(param, value); }

size_t dlmalloc_footprint(void) DLMALLOC_NOTHROW { return arenas_footprint(); }

/* The largest footprint of all arenas together after any growth (count_footprint). */
size_t dlmalloc_max_footprint(void) DLMALLOC_NOTHROW {
#if HEAP_SLOTS > 1
  return arenas_peak;
#else
  return gm->max_footprint;
#endif
}

/* The limit applies to all arenas together (exceeds_limit). */
size_t dlmalloc_footprint_limit(void) DLMALLOC_NOTHROW { return heap_footprint_limit(gm); }

size_t dlmalloc_set_footprint_limit(size_t bytes) DLMALLOC_NOTHROW {
  return heap_set_footprint_limit(gm, bytes);
}

#if MALLOC_INSPECT_ALL
struct inspect_request {
  inspect_handler handler;
  void *arg;
};

static void inspect_arena(heap_t *h, void *request) {
  struct inspect_request *r = (struct inspect_request *)request;
  if (!PREACTION(h)) {
    internal_inspect_all(h, r->handler, r->arg);
    POSTACTION(h);
  }
}

void dlmalloc_inspect_all(void (*handler)(void *, void *, size_t, void *),
                          void *arg) DLMALLOC_NOTHROW {
  struct inspect_request r;
  ensure_initialization();
  r.handler = handler;
  r.arg = arg;
  for_each_arena(inspect_arena, &r);
}
#endif /* MALLOC_INSPECT_ALL */

#if !NO_MALLINFO
/* Add arena h's mallinfo to *sum (DEBUG: h's full check runs here). */
static void add_arena_mallinfo(heap_t *h, void *sum_arg) {
  struct mallinfo *sum = (struct mallinfo *)sum_arg, one = internal_mallinfo(h);
  sum->arena += one.arena;
  sum->ordblks += one.ordblks;
  sum->hblkhd += one.hblkhd;
  sum->usmblks += one.usmblks;
  sum->uordblks += one.uordblks;
  sum->fordblks += one.fordblks;
  sum->keepcost += one.keepcost;
}

struct mallinfo dlmallinfo(void) DLMALLOC_NOTHROW {
  struct mallinfo info;
  memset(&info, 0, sizeof(info));
  for_each_arena(add_arena_mallinfo, &info);
  if (info.usmblks != 0) /* some arena has memory: the peak of all together, not their sum */
    info.usmblks = (MALLINFO_FIELD_TYPE)dlmalloc_max_footprint();
  thread_cache_report(&info);
  return info;
}
#endif /* NO_MALLINFO */

void **dlindependent_calloc(size_t n_elements, size_t elem_size,
                            void *chunks[]) DLMALLOC_NOTHROW {
  size_t sz = elem_size;
  ensure_initialization();
  return ialloc(thread_heap(), n_elements, &sz, IALLOC_SAME_SIZE | IALLOC_CLEAR, chunks);
}

void **dlindependent_comalloc(size_t n_elements, size_t sizes[],
                              void *chunks[]) DLMALLOC_NOTHROW {
  ensure_initialization();
  return ialloc(thread_heap(), n_elements, sizes, 0, chunks);
}

/* Each run of blocks of one arena is freed under that arena's lock. */
size_t dlbulk_free(void *array[], size_t nelem) DLMALLOC_NOTHROW {
  size_t unfreed = 0, start = 0;
  ensure_initialization();
  while (start < nelem) {
    heap_t *h;
    size_t end = arena_run(array, start, nelem, &h);
    if (h != 0)
      unfreed += internal_bulk_free(h, array + start, end - start);
    start = end;
  }
  return unfreed;
}

/* Trim arena h, once what other threads freed into it is back. */
static void trim_arena(heap_t *h, void *pad_and_result) {
  size_t *pr = (size_t *)pad_and_result;
  if (!arena_acquire(h)) {
    if (sys_trim(h, pr[0], 1))
      pr[1] = 1;
    discard_free_pages(h, pr[0]);
    POSTACTION(h);
  }
}

int dlmalloc_trim(size_t pad) DLMALLOC_NOTHROW {
  size_t pad_and_result[2];
  ensure_initialization();
  pad_and_result[0] = pad;
  pad_and_result[1] = (size_t)thread_cache_flush(); /* its blocks may keep top from shrinking */
  for_each_arena(trim_arena, pad_and_result);
  return (int)pad_and_result[1];
}

void dlmalloc_stats(void) DLMALLOC_NOTHROW {
  struct heap_usage u = {0, 0, 0};
  for_each_arena(add_heap_usage, &u);
  u.max_footprint = dlmalloc_max_footprint(); /* not the sum of the peaks */
  print_heap_usage(&u);
}

/* (The address goes on as a number: GCC then does not take the header reads for reads of
   the block's bytes, which malloc.h's DLMALLOC_READS_HEADER_ONLY says are not read.) */
size_t dlmalloc_usable_size(const void *mem) DLMALLOC_NOTHROW {
  return usable_size((uintptr_t)mem);
}

/* Release arena h's memory and forget it; *freed grows by the bytes released.  An mspace
   made in a block of h goes first (end_mspaces, which takes mspace_list_lock: before h's). */
static void tear_down_arena(heap_t *h, void *freed) {
#if MSPACES
  *(size_t *)freed += end_mspaces(0, h);
#endif
  if (!PREACTION(h)) {
    *(size_t *)freed += release_all_memory(h);
    forget_all_memory(h);
    POSTACTION(h);
  }
}

size_t dlmalloc_teardown(void) {
  size_t freed = 0;
  ensure_initialization();
  for_each_arena(tear_down_arena, &freed);
  return freed;
}

#endif /* !ONLY_MSPACES */

/* ==== 18. mspaces ===========================================================================
   An mspace's heap state lives in the first chunk of its first segment; the rest of that
   segment is its initial top.  Live mspaces are kept in a list (under mspace_list_lock) so that
   FOOTERS can tell a real owner from a forged one.                                          */

#if MSPACES

/* The smallest buffer that holds the state, a top chunk and the room top keeps free. */
#define MIN_MSPACE_CAPACITY                                                                \
  (MSPACE_STATE_SIZE + TOP_FOOT_SIZE + MIN_CHUNK_SIZE + 2 * MALLOC_ALIGNMENT)

/* The live mspaces, for checked_mspace: an open-addressing table of their addresses, written
   under mspace_list_lock and read without it (an mspace call takes no lock but its own; an
   mspace made unlocked, none).  A slot holds an mspace, 0 (never used: a probe stops there)
   or LIVE_MSPACE_GONE (its mspace was destroyed: probes go on, an insertion reuses it).  An
   mspace that finds no slot (more than LIVE_MSPACE_SLOTS at once) is found by the locked walk
   of mspace_list instead. */
#ifndef LIVE_MSPACE_SLOTS
#define LIVE_MSPACE_SLOTS 256
#endif
#define LIVE_MSPACE_GONE ((heap_t *)1)
static heap_t *volatile live_mspaces[LIVE_MSPACE_SLOTS];

static size_t live_mspace_slot(const heap_t *m) {
  return (size_t)(((uintptr_t)m >> 4) * 2654435761u) % LIVE_MSPACE_SLOTS;
}

/* Record m as live (mspace_list_lock held). */
static void note_live_mspace(heap_t *m) {
  size_t i = live_mspace_slot(m), n;
  for (n = 0; n < LIVE_MSPACE_SLOTS; ++n, i = (i + 1) % LIVE_MSPACE_SLOTS)
    if (live_mspaces[i] == 0 || live_mspaces[i] == LIVE_MSPACE_GONE) {
      live_mspaces[i] = m;
      return;
    }
}

/* Set the span of the live mspaces' buffers (mspace_list_lock held).  Its two words are
   written apart: a free racing the making or ending of another mspace may read them
   mismatched and miss the check for that moment (the heap's own checks still run). */
static void span_given_buffers(void) {
  heap_t *h;
  uintptr_t lo = UINTPTR_MAX, hi = 0;
  for (h = mspace_list; h != 0; h = h->next_heap)
    if (h->given_size != 0) {
      if ((uintptr_t)h->given_base < lo)
        lo = (uintptr_t)h->given_base;
      if ((uintptr_t)h->given_base + h->given_size > hi)
        hi = (uintptr_t)h->given_base + h->given_size;
    }
  given_span = 0;
  given_lo = hi != 0 ? lo : 0;
  given_span = hi != 0 ? hi - lo : 0;
}

/* Forget m (mspace_list_lock held). */
static void forget_live_mspace(heap_t *m) {
  size_t i = live_mspace_slot(m), n;
  for (n = 0; n < LIVE_MSPACE_SLOTS && live_mspaces[i] != 0; ++n, i = (i + 1) % LIVE_MSPACE_SLOTS)
    if (live_mspaces[i] == m) {
      live_mspaces[i] = LIVE_MSPACE_GONE;
      return;
    }
}

static heap_t *init_user_heap(char *tbase, size_t tsize, flag_t seg_flags, int locked) {
  size_t msize = MSPACE_STATE_SIZE;
  chunk_t *msp = align_as_chunk(tbase);
  heap_t *m = (heap_t *)(chunk2mem(msp));
  chunk_t *mn;
  memset(m, 0, msize);
  lock_init(&m->lock);
  msp->head = (msize | INUSE_BITS);
  m->seg.base = tbase;
  m->seg.size = tsize;
  m->seg.flags = seg_flags;
  m->least_addr = tbase;
  m->max_addr = tbase + tsize;
  m->footprint = m->max_footprint = tsize;
  m->magic = mparams.magic;
  m->release_checks = MAX_RELEASE_CHECK_RATE;
  m->flags = mparams.default_flags;
  disable_contiguous(m); /* MORECORE belongs to the global heap */
  if (!locked)
    disable_lock(m);
  init_bins(m);
  init_heap_links(m);
  mn = next_chunk(mem2chunk(m));
  init_top(m, mn, (size_t)((tbase + tsize) - (char *)mn) - TOP_FOOT_SIZE);
  check_top_chunk(m, m->top);

  lock_acquire(&mspace_list_lock);
  m->next_heap = mspace_list;
  mspace_list = m;
  note_live_mspace(m);
  if (seg_flags & SEG_EXTERN) {
    m->given_base = tbase;
    m->given_size = tsize;
    span_given_buffers();
  }
  lock_release(&mspace_list_lock);
  return m;
}

/* msp as a heap, if it is a live mspace (create_mspace* made it and destroy_mspace has not
   ended it); otherwise report the usage error and return 0.  msp is looked up among the live
   mspaces before anything is read through it: a destroyed mspace's memory may be gone. */
static heap_t *checked_mspace(mspace msp, const char *op) {
  heap_t *m = 0;
#if !INSECURE
  size_t i = live_mspace_slot((heap_t *)msp), n;
  heap_t *h;
  for (n = 0; n < LIVE_MSPACE_SLOTS && (h = live_mspaces[i]) != 0;
       ++n, i = (i + 1) % LIVE_MSPACE_SLOTS)
    if (h == (heap_t *)msp) {
      m = h;
      break;
    }
  if (m == 0 && msp != 0) { /* not in the table: the list has every live mspace */
    lock_acquire(&mspace_list_lock);
    for (h = mspace_list; h != 0; h = h->next_heap)
      if (h == (heap_t *)msp) {
        m = h;
        break;
      }
    lock_release(&mspace_list_lock);
  }
#else
  m = (heap_t *)msp;
#endif
  if (m == 0 || !ok_magic(m)) {
    USAGE_ERROR(0, msp, op, "invalid mspace (not a live mspace: never made, or destroyed)");
    return 0;
  }
  return m;
}

mspace create_mspace(size_t capacity, int locked) {
  heap_t *m = 0;
  ensure_initialization();
  if (capacity < (size_t)-(MSPACE_STATE_SIZE + TOP_FOOT_SIZE + mparams.granularity)) {
    size_t rs = (capacity == 0) ? mparams.granularity
                                : (capacity + TOP_FOOT_SIZE + MSPACE_STATE_SIZE);
    /* a granularity may be smaller than the state and a top chunk (a port with small pages) */
    size_t tsize = granularity_align(rs < MIN_MSPACE_CAPACITY ? MIN_MSPACE_CAPACITY : rs);
    char *tbase = (char *)os_map(tsize);
    if (tbase != CMFAIL)
      m = init_user_heap(tbase, tsize, SEG_MMAPPED, locked);
  }
  if (m == 0)
    MALLOC_FAILURE_ACTION;
  return (mspace)m;
}

/* Does [base, base + size) overlap a live mspace's state (its first chunk)?  Making a new one
   there would overwrite that state: its link in the list of live mspaces and its lock, which
   calls on every heap then follow. */
static int holds_live_mspace(const char *base, size_t size) {
  heap_t *h;
  int found = 0;
  lock_acquire(&mspace_list_lock);
  for (h = mspace_list; h != 0 && !found; h = h->next_heap) {
    /* from the chunk's header to the state's end (which may lie in the next chunk's first
       word, as any block's last bytes may) */
    uintptr_t state = (uintptr_t)mem2chunk(h), end = (uintptr_t)h + sizeof(heap_t);
    found = state < (uintptr_t)base + size && (uintptr_t)base < end;
  }
  lock_release(&mspace_list_lock);
  return found;
}

/* The buffer's end is rounded down to the alignment, as a system segment's end is: the top
   chunk's size, and the fenceposts a growing mspace writes at the end of the buffer, are whole
   multiples of it (an odd capacity made top's size carry flag bits, and the fenceposts run
   past the buffer). */
mspace create_mspace_with_base(void *base, size_t capacity, int locked) {
  heap_t *m = 0;
  ensure_initialization();
  if (base != 0 && capacity <= UINTPTR_MAX - (uintptr_t)base) { /* not past the end */
    capacity = (size_t)((((uintptr_t)base + capacity) & ~(uintptr_t)CHUNK_ALIGN_MASK) -
                        (uintptr_t)base);
    if (capacity >= MIN_MSPACE_CAPACITY &&
        capacity < (size_t)-(MSPACE_STATE_SIZE + TOP_FOOT_SIZE + mparams.page_size) &&
        !holds_live_mspace((char *)base, capacity))
      m = init_user_heap((char *)base, capacity, SEG_EXTERN, locked);
  }
  if (m == 0)
    SET_ERRNO(DL_EINVAL);
  return (mspace)m;
}

/* Does heap c's memory (a segment or a directly mapped region) hold mspace h's state? */
static int holds_mspace_state(heap_t *c, heap_t *h) {
  chunk_t *state = mem2chunk(h);
  return segment_holding(c, (char *)state) != 0 || direct_region_holding(c, state) != 0;
}

/* Move the live mspace at *link off the list of live mspaces (mspace_list_lock held) to the
   end of the list whose last link is **tail. */
static void take_mspace(heap_t **link, heap_t ***tail) {
  heap_t *h = *link;
  *link = h->next_heap;
  forget_live_mspace(h);
  if (h->given_size != 0)
    span_given_buffers();
  h->next_heap = 0;
  **tail = h;
  *tail = &h->next_heap;
}

/* Take every live mspace whose state heap c's memory holds (take_mspace). */
static void take_mspaces_inside(heap_t *c, heap_t ***tail) {
  heap_t **link = &mspace_list;
  while (*link != 0)
    if (holds_mspace_state(c, *link))
      take_mspace(link, tail);
    else
      link = &(*link)->next_heap;
}

/* End mspace m (0: none) together with every live mspace whose state lies in memory that is
   going: m's, container's (an arena being torn down; 0: none), or, in turn, one of those
   mspaces' own.  Left on the list, such an mspace would have its state read, after its memory
   is gone or reused, by every call that walks the live mspaces.  All leave the list in one
   step; then each is released after the ones inside it (the reverse of the order they were
   found in), without recursion however deep the nesting.  Returns the bytes released. */
static size_t end_mspaces(heap_t *m, heap_t *container) {
  heap_t *ending = 0, **tail = &ending, *scanned, *h, *next, *innermost = 0, **link;
  size_t released = 0;
  lock_acquire(&mspace_list_lock);
  for (link = &mspace_list; m != 0 && *link != 0; link = &(*link)->next_heap)
    if (*link == m) {
      take_mspace(link, &tail);
      break;
    }
  if (container != 0)
    take_mspaces_inside(container, &tail);
  for (scanned = ending; scanned != 0; scanned = scanned->next_heap) /* the list grows */
    take_mspaces_inside(scanned, &tail);
  lock_release(&mspace_list_lock);
  for (h = ending; h != 0; h = next) { /* reversed: the innermost first */
    next = h->next_heap;
    h->next_heap = innermost;
    innermost = h;
  }
  for (h = innermost; h != 0; h = next) {
    next = h->next_heap; /* read while the memory holding h's state is still there */
    h->magic = 0;        /* a caller's buffer outlives the mspace: later use of it is caught */
    lock_destroy(&h->lock);
    released += release_all_memory(h);
  }
  return released;
}

size_t destroy_mspace(mspace msp) {
  heap_t *m = checked_mspace(msp, "destroy_mspace");
  return m != 0 ? end_mspaces(m, 0) : 0;
}

int mspace_track_large_chunks(mspace msp, int enable) {
  int was_tracking = 0;
  heap_t *m = checked_mspace(msp, "mspace_track_large_chunks");
  if (m != 0 && !PREACTION(m)) {
    was_tracking = !use_mmap(m);
    if (enable)
      disable_mmap(m);
    else
      enable_mmap(m);
    POSTACTION(m);
  }
  return was_tracking;
}

void *mspace_malloc(mspace msp, size_t bytes) {
  heap_t *m = checked_mspace(msp, "mspace_malloc");
  return m != 0 ? heap_malloc(m, bytes) : 0;
}

void mspace_free(mspace msp, void *mem) {
  if (mem != 0) {
    heap_t *m = checked_mspace(msp, "mspace_free");
    if (m != 0)
      heap_free(m, mem, "mspace_free");
  }
}

void *mspace_calloc(mspace msp, size_t n_elements, size_t elem_size) {
  heap_t *m = checked_mspace(msp, "mspace_calloc");
  return m != 0 ? heap_calloc(m, n_elements, elem_size) : 0;
}

void *mspace_realloc(mspace msp, void *oldmem, size_t bytes) {
  heap_t *m = checked_mspace(msp, "mspace_realloc");
  if (m == 0)
    return 0;
  if (oldmem == 0)
    return heap_malloc(m, bytes);
  return heap_realloc(m, oldmem, bytes, "mspace_realloc");
}

void *mspace_realloc_in_place(mspace msp, void *oldmem, size_t bytes) {
  heap_t *m = checked_mspace(msp, "mspace_realloc_in_place");
  return m != 0 ? heap_realloc_in_place(m, oldmem, bytes, "mspace_realloc_in_place") : 0;
}

void *mspace_memalign(mspace msp, size_t alignment, size_t bytes) {
  heap_t *m = checked_mspace(msp, "mspace_memalign");
  return m != 0 ? heap_memalign(m, alignment, bytes) : 0;
}

void **mspace_independent_calloc(mspace msp, size_t n_elements, size_t elem_size,
                                 void *chunks[]) {
  size_t sz = elem_size;
  heap_t *m = checked_mspace(msp, "mspace_independent_calloc");
  return m != 0 ? ialloc(m, n_elements, &sz, IALLOC_SAME_SIZE | IALLOC_CLEAR, chunks) : 0;
}

void **mspace_independent_comalloc(mspace msp, size_t n_elements, size_t sizes[],
                                   void *chunks[]) {
  heap_t *m = checked_mspace(msp, "mspace_independent_comalloc");
  return m != 0 ? ialloc(m, n_elements, sizes, 0, chunks) : 0;
}

size_t mspace_bulk_free(mspace msp, void *array[], size_t nelem) {
  heap_t *m = checked_mspace(msp, "mspace_bulk_free");
  return m != 0 ? internal_bulk_free(m, array, nelem) : nelem;
}

size_t mspace_usable_size(const void *mem) { return usable_size((uintptr_t)mem); }

void mspace_malloc_stats(mspace msp) {
  heap_t *m = checked_mspace(msp, "mspace_malloc_stats");
  if (m != 0)
  {
    struct heap_usage u = {0, 0, 0};
    add_heap_usage(m, &u);
    print_heap_usage(&u);
  }
}

int mspace_trim(mspace msp, size_t pad) {
  heap_t *m = checked_mspace(msp, "mspace_trim");
  return m != 0 ? heap_trim(m, pad) : 0;
}

size_t mspace_footprint(mspace msp) {
  heap_t *m = checked_mspace(msp, "mspace_footprint");
  return m != 0 ? m->footprint : 0;
}

size_t mspace_max_footprint(mspace msp) {
  heap_t *m = checked_mspace(msp, "mspace_max_footprint");
  return m != 0 ? m->max_footprint : 0;
}

size_t mspace_footprint_limit(mspace msp) {
  heap_t *m = checked_mspace(msp, "mspace_footprint_limit");
  return m != 0 ? heap_footprint_limit(m) : 0;
}

size_t mspace_set_footprint_limit(mspace msp, size_t bytes) {
  heap_t *m = checked_mspace(msp, "mspace_set_footprint_limit");
  return m != 0 ? heap_set_footprint_limit(m, bytes) : 0;
}

int mspace_mallopt(int param, int value) { return change_mparam(param, value); }

#if !NO_MALLINFO
struct mallinfo mspace_mallinfo(mspace msp) {
  heap_t *m = checked_mspace(msp, "mspace_mallinfo");
  if (m == 0) {
    struct mallinfo empty;
    memset(&empty, 0, sizeof(empty));
    return empty;
  }
  return internal_mallinfo(m);
}
#endif /* NO_MALLINFO */

#if MALLOC_INSPECT_ALL
void mspace_inspect_all(mspace msp, void (*handler)(void *, void *, size_t, void *),
                        void *arg) {
  heap_t *m = checked_mspace(msp, "mspace_inspect_all");
  if (m != 0 && !PREACTION(m)) {
    internal_inspect_all(m, handler, arg);
    POSTACTION(m);
  }
}
#endif /* MALLOC_INSPECT_ALL */

#endif /* MSPACES */

/* ==== 19. Fork support ======================================================================
   A child of a multi-threaded process inherits locks that other threads held at the moment of
   fork().  malloc_prefork takes every allocator lock in the documented order, so the heaps are
   consistent when the process is copied; the parent then releases them and the child, whose
   other threads are gone, resets them.  The drop-in library registers these with
   pthread_atfork.                                                                           */

/* Apply action to the locks of arenas from .. to - 1, in order. */
static void arena_locks(void (*action)(mlock_t *), size_t from, size_t to) {
#if !ONLY_MSPACES
  for (; from < to; ++from)
    if (use_lock(&heaps[from]))
      action(&heaps[from].lock);
#else
  (void)action;
  (void)from;
  (void)to;
#endif
}

/* Apply action to every mspace's lock, in list order (the caller holds mspace_list_lock). */
static void mspace_locks(void (*action)(mlock_t *)) {
#if MSPACES
  heap_t *h;
  for (h = mspace_list; h != 0; h = h->next_heap) /* also those used without their lock */
    action(&h->lock);
#else
  (void)action;
#endif
}

#if !ONLY_MSPACES
#define arenas_to_lock() arena_count
#else
#define arenas_to_lock() ((size_t)0)
#endif

/* The order: mspace_list_lock, the arenas' locks (the global heap's first), the mspaces',
   global_lock, then the depot's lock.  An arena made meanwhile (arena_bind holds global_lock to
   make one) is locked before global_lock too, as section 4's order says: a thread holding an
   arena's lock may be waiting for global_lock (its MORECORE, a new leaf of the segment map),
   so taking an arena's lock with global_lock held could deadlock.  Once global_lock is held
   no arena is made; if one was made since the count was read, global_lock is let go, the new
   arenas are locked, and it is taken again (at most MALLOC_ARENAS_MAX times).  Every arena
   below arena_count is then locked, and stays so until the postfork handlers: they release
   those (fork_arenas_locked), not arena_count's, as the calling thread itself may still make
   an arena meanwhile, in another library's fork handler (HOLDS_FORK_LOCKS, section 4).
   Making or destroying an mspace in such a handler is not supported: its lock would be
   released unheld, or not at all. */
static size_t fork_arenas_locked;
void dlmalloc_prefork(void) {
  size_t arenas_locked;
  ensure_initialization();
  if (FORK_NESTS && fork_depth++ != 0)
    return; /* a fork in this thread's own fork handlers: the outer prefork holds the locks */
  if (SINGLE_THREAD_HINT) { /* nobody to keep out (section 4): nothing taken, nothing passed */
    fork_locked = 0;
    return;
  }
#if MSPACES
  lock_acquire(&mspace_list_lock);
#endif
  arenas_locked = arenas_to_lock();
  arena_locks(lock_acquire, 0, arenas_locked);
  mspace_locks(lock_acquire);
  for (;;) {
    size_t made;
    lock_acquire(&global_lock);
    made = arenas_to_lock();
    if (made == arenas_locked)
      break;
    lock_release(&global_lock);
    arena_locks(lock_acquire, arenas_locked, made);
    arenas_locked = made;
  }
  thread_cache_depot_lock(lock_acquire);
  fork_arenas_locked = arenas_locked;
  fork_locked = 1;
}

/* The arenas' locks go before global_lock: the moment global_lock is free, a thread that
   waited in arena_bind during the fork may make an arena and take its lock, which a release
   reading the new count would take away from it -- two threads in one heap, and a SIGSEGV
   (integration.threads_fork, about 1 run in 100). */
void dlmalloc_postfork_parent(void) {
  if (FORK_NESTS && (fork_depth == 0 || --fork_depth != 0))
    return; /* an inner fork's, or none pending (a child handler reset them) */
  if (!fork_locked)
    return;
  fork_locked = 0;
  thread_cache_depot_lock(lock_release);
  arena_locks(lock_release, 0, fork_arenas_locked);
  lock_release(&global_lock);
  mspace_locks(lock_release);
#if MSPACES
  lock_release(&mspace_list_lock); /* last: the walk above read the list */
#endif
}

void dlmalloc_postfork_child(void) {
  fork_depth = 0; /* the child's only thread starts afresh, whatever was pending */
  fork_locked = 0;
  thread_cache_depot_lock(lock_init);
  lock_init(&global_lock);
  arena_locks(lock_init, 0, arenas_to_lock());
  mspace_locks(lock_init);
#if MSPACES
  lock_init(&mspace_list_lock);
#endif
  thread_cache_after_fork();
}
