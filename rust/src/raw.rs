//! The C interface of malloc.h, bound one to one.
//!
//! The library is compiled with `USE_DL_PREFIX`, so the standard functions carry a `dl` prefix
//! (`dlmalloc`, `dlfree`, ...) and never replace the C library's `malloc`; the mspace functions
//! and `malloc_abort_reason` have no prefix.  Every function of malloc.h is declared here under
//! its exact name (tests/raw_api.rs checks the list against malloc.h and takes the address of
//! each, so a missing or misspelt one fails to link).
//!
//! All of them are `unsafe`: they take raw pointers, and a pointer given to `dlfree`,
//! `dlrealloc` and friends must come from the same heap and still be live.  Errors the
//! allocator detects (a double free, a damaged heap) end in the `custom_abort` hook, after the
//! reason was recorded for [`malloc_abort_reason`].
//!
//! # The eight hooks
//!
//! The allocator reaches the platform only through eight functions that the program (or the
//! feature `posix-port`) defines.  In Rust 2024 (examples/hooks.rs has a complete set):
//!
//! ```text
//! use core::ffi::c_void;
//! #[unsafe(no_mangle)] pub unsafe extern "C" fn custom_mmap(length: usize) -> *mut c_void { todo!() }
//! #[unsafe(no_mangle)] pub unsafe extern "C" fn custom_direct_mmap(length: usize) -> *mut c_void { todo!() }
//! #[unsafe(no_mangle)] pub unsafe extern "C" fn custom_munmap(ptr: *mut c_void, length: usize) -> i32 { todo!() }
//! #[unsafe(no_mangle)] pub unsafe extern "C" fn init_lock(lock: *mut *mut c_void) { todo!() }
//! #[unsafe(no_mangle)] pub unsafe extern "C" fn final_lock(lock: *mut *mut c_void) { todo!() }
//! #[unsafe(no_mangle)] pub unsafe extern "C" fn acquire_lock(lock: *mut *mut c_void) { todo!() }
//! #[unsafe(no_mangle)] pub unsafe extern "C" fn release_lock(lock: *mut *mut c_void) { todo!() }
//! #[unsafe(no_mangle)] pub unsafe extern "C" fn custom_abort() -> ! { todo!() }
//! ```
//!
//! Their contract (malloc.h, section 6): never call the allocator; lengths are non-zero
//! multiples of 4096; return [`MFAIL`] when memory cannot be had; `custom_munmap` is only ever
//! given exactly one region that one earlier map call returned; a lock slot holding null is a
//! valid unlocked lock, and locks are never taken recursively.  `custom_direct_mmap` may
//! always return [`MFAIL`] (large blocks then come from the segments).

use core::ffi::{c_char, c_int, c_void};

include!("../buildscript/abi.rs");

/// The value the memory hooks return on failure, `(void *)-1`.
pub const MFAIL: *mut c_void = usize::MAX as *mut c_void;

/// Alignment of every block from `dlmalloc` and `mspace_malloc` (malloc.h's `MALLOC_ALIGNMENT`,
/// checked against the C header when the crate is built).
pub const MALLOC_ALIGNMENT: usize = 2 * core::mem::size_of::<usize>();

/// An independent heap with its own lock and segments (`mspace` in malloc.h).
pub type Mspace = *mut c_void;

/// `inspect_all` callback: `(start, end, used_bytes, arg)` for each chunk; `used_bytes` is 0
/// for free memory.  It runs with the heap locked and must not call the allocator.
pub type InspectHandler =
    unsafe extern "C" fn(start: *mut c_void, end: *mut c_void, used_bytes: usize, arg: *mut c_void);

unsafe extern "C" {
    // ---- Standard API (the global heap) ----

    /// A block of at least `n` bytes aligned to [`MALLOC_ALIGNMENT`], or null.  `n == 0`
    /// gives a unique minimum-size block.
    pub fn dlmalloc(n: usize) -> *mut c_void;
    /// Release a block of the global heap; null is ignored.
    pub fn dlfree(p: *mut c_void);
    /// C23's sized free: `dlfree(p)` (every block records its own size).
    pub fn dlfree_sized(p: *mut c_void, n: usize);
    /// C23's aligned sized free: `dlfree(p)`.
    pub fn dlfree_aligned_sized(p: *mut c_void, alignment: usize, n: usize);
    /// `n * size` zeroed bytes, or null (also when the product overflows).
    pub fn dlcalloc(n: usize, size: usize) -> *mut c_void;
    /// Resize `p`, keeping min(old, n) bytes of content; null on failure (`p` untouched).
    /// `dlrealloc(null, n)` is `dlmalloc(n)`; `dlrealloc(p, 0)` frees `p` and returns null.
    pub fn dlrealloc(p: *mut c_void, n: usize) -> *mut c_void;
    /// `dlrealloc(p, count * size)`, but null (`p` untouched) when the product overflows.
    pub fn dlreallocarray(p: *mut c_void, count: usize, size: usize) -> *mut c_void;
    /// Resize `p` without moving it: `p` on success, null when it cannot (`p` untouched).
    pub fn dlrealloc_in_place(p: *mut c_void, n: usize) -> *mut c_void;
    /// A block of `n` bytes whose address is a multiple of `alignment` (rounded up to a power
    /// of two), or null.
    pub fn dlmemalign(alignment: usize, n: usize) -> *mut c_void;
    /// Store a block aligned to `alignment` in `*pp`: 0, EINVAL for an alignment that is not a
    /// power-of-two multiple of the pointer size (`*pp` untouched), or ENOMEM.
    pub fn dlposix_memalign(pp: *mut *mut c_void, alignment: usize, n: usize) -> c_int;
    /// A block of `n` bytes aligned to `alignment`, which must be a power of two (C17);
    /// null otherwise, or when out of memory.
    pub fn dlaligned_alloc(alignment: usize, n: usize) -> *mut c_void;
    /// `dlmemalign(page size, n)`.
    pub fn dlvalloc(n: usize) -> *mut c_void;
    /// `dlvalloc` with `n` rounded up to whole pages.
    pub fn dlpvalloc(n: usize) -> *mut c_void;
    /// Set [`M_TRIM_THRESHOLD`], [`M_GRANULARITY`], [`M_MMAP_THRESHOLD`] or [`M_ARENA_MAX`]:
    /// 1 on success, 0 for an unknown parameter or a bad value.
    pub fn dlmallopt(param: c_int, value: c_int) -> c_int;
    /// Bytes the global heap holds from the system now.
    pub fn dlmalloc_footprint() -> usize;
    /// The largest value [`dlmalloc_footprint`] has had.
    pub fn dlmalloc_max_footprint() -> usize;
    /// The footprint limit in force, `usize::MAX` for none.
    pub fn dlmalloc_footprint_limit() -> usize;
    /// Make requests that would grow the footprint beyond `bytes` (rounded up to the
    /// granularity) fail; 0 or `usize::MAX` remove the limit.  Returns the limit now in force.
    pub fn dlmalloc_set_footprint_limit(bytes: usize) -> usize;
    /// Call `handler` for every chunk of the global heap (see [`InspectHandler`]).
    pub fn dlmalloc_inspect_all(handler: Option<InspectHandler>, arg: *mut c_void);
    /// Statistics of the global heap.
    pub fn dlmallinfo() -> MallInfo;
    /// `n` zeroed blocks of `size` bytes allocated together; with `chunks` null the pointer
    /// array is allocated too (free it as well).  Returns the array or null.
    pub fn dlindependent_calloc(
        n: usize,
        size: usize,
        chunks: *mut *mut c_void,
    ) -> *mut *mut c_void;
    /// `n` blocks of `sizes[i]` bytes allocated together (not zeroed); as above otherwise.
    pub fn dlindependent_comalloc(
        n: usize,
        sizes: *mut usize,
        chunks: *mut *mut c_void,
    ) -> *mut *mut c_void;
    /// Free every non-null pointer of `array[..n]` and null it; returns how many could not be
    /// freed here.
    pub fn dlbulk_free(array: *mut *mut c_void, n: usize) -> usize;
    /// Give free memory above `pad` bytes at the top back to the system: 1 if any was.
    pub fn dlmalloc_trim(pad: usize) -> c_int;
    /// Print heap statistics; this crate builds with `NO_MALLOC_STATS`, so it prints nothing.
    pub fn dlmalloc_stats();
    /// Usable bytes of block `p` (at least what was asked for); 0 for null.
    pub fn dlmalloc_usable_size(p: *const c_void) -> usize;
    /// Give every page of the global heap back through `custom_munmap`, live blocks or not,
    /// and reset the heap; returns the bytes released.  Every earlier pointer is invalid after.
    pub fn dlmalloc_teardown() -> usize;
    /// The calling thread is ending: with the C build's per-thread cache
    /// (`MALLOC_THREAD_CACHE`, off in this crate's build) its cached blocks go back to the
    /// heap; without the cache it does nothing, so a port may call it unconditionally.
    pub fn dlmalloc_thread_exit();
    /// How many heaps (arenas) the global functions have spread threads over so far, the
    /// global heap included; always 1 without the C build's thread cache (this crate's build).
    pub fn dlmalloc_arenas() -> usize;
    /// Take every lock of the allocator (before `fork`).
    pub fn dlmalloc_prefork();
    /// Release the locks [`dlmalloc_prefork`] took (in the parent after `fork`).
    pub fn dlmalloc_postfork_parent();
    /// Reset those locks to unlocked (in the child after `fork`).
    pub fn dlmalloc_postfork_child();

    // ---- mspaces ----

    /// A new mspace whose first segment holds at least `capacity` bytes (0: the
    /// granularity), with a lock if `locked != 0`; null on failure.
    pub fn create_mspace(capacity: usize, locked: c_int) -> Mspace;
    /// An mspace inside the caller's buffer `[base, base + capacity)`, which the allocator
    /// never releases; null if the buffer is too small.
    pub fn create_mspace_with_base(base: *mut c_void, capacity: usize, locked: c_int) -> Mspace;
    /// Release everything `msp` obtained from the system; returns the bytes released.
    pub fn destroy_mspace(msp: Mspace) -> usize;
    /// Enable: serve large requests from the mspace's segments instead of separate regions.
    /// Returns the previous setting.
    pub fn mspace_track_large_chunks(msp: Mspace, enable: c_int) -> c_int;
    /// [`dlmalloc`] in `msp`.
    pub fn mspace_malloc(msp: Mspace, bytes: usize) -> *mut c_void;
    /// [`dlfree`] of a block of `msp`.
    pub fn mspace_free(msp: Mspace, mem: *mut c_void);
    /// [`dlcalloc`] in `msp`.
    pub fn mspace_calloc(msp: Mspace, n_elements: usize, elem_size: usize) -> *mut c_void;
    /// [`dlrealloc`] in `msp`.
    pub fn mspace_realloc(msp: Mspace, mem: *mut c_void, newsize: usize) -> *mut c_void;
    /// [`dlrealloc_in_place`] in `msp`.
    pub fn mspace_realloc_in_place(msp: Mspace, mem: *mut c_void, newsize: usize) -> *mut c_void;
    /// [`dlmemalign`] in `msp`.
    pub fn mspace_memalign(msp: Mspace, alignment: usize, bytes: usize) -> *mut c_void;
    /// [`dlindependent_calloc`] in `msp`.
    pub fn mspace_independent_calloc(
        msp: Mspace,
        n_elements: usize,
        elem_size: usize,
        chunks: *mut *mut c_void,
    ) -> *mut *mut c_void;
    /// [`dlindependent_comalloc`] in `msp`.
    pub fn mspace_independent_comalloc(
        msp: Mspace,
        n_elements: usize,
        sizes: *mut usize,
        chunks: *mut *mut c_void,
    ) -> *mut *mut c_void;
    /// [`dlbulk_free`] in `msp`.
    pub fn mspace_bulk_free(msp: Mspace, array: *mut *mut c_void, nelem: usize) -> usize;
    /// Usable bytes of a block of any mspace; 0 for null.
    pub fn mspace_usable_size(mem: *const c_void) -> usize;
    /// [`dlmalloc_stats`] for `msp` (prints nothing in this build).
    pub fn mspace_malloc_stats(msp: Mspace);
    /// [`dlmalloc_trim`] for `msp`.
    pub fn mspace_trim(msp: Mspace, pad: usize) -> c_int;
    /// [`dlmalloc_footprint`] of `msp`.
    pub fn mspace_footprint(msp: Mspace) -> usize;
    /// [`dlmalloc_max_footprint`] of `msp`.
    pub fn mspace_max_footprint(msp: Mspace) -> usize;
    /// [`dlmalloc_footprint_limit`] of `msp`.
    pub fn mspace_footprint_limit(msp: Mspace) -> usize;
    /// [`dlmalloc_set_footprint_limit`] for `msp`.
    pub fn mspace_set_footprint_limit(msp: Mspace, bytes: usize) -> usize;
    /// [`dlmallopt`]: the parameters are shared by every heap.
    pub fn mspace_mallopt(param: c_int, value: c_int) -> c_int;
    /// [`dlmallinfo`] of `msp`.
    pub fn mspace_mallinfo(msp: Mspace) -> MallInfo;
    /// [`dlmalloc_inspect_all`] over `msp`.
    pub fn mspace_inspect_all(msp: Mspace, handler: Option<InspectHandler>, arg: *mut c_void);

    // ---- For ports ----

    /// One line describing the last error the allocator detected (NUL-terminated, static
    /// storage), "" if none.  Recorded before `custom_abort` is called.
    pub fn malloc_abort_reason() -> *const c_char;
}
