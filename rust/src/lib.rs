//! portable-dlmalloc as a Rust allocator.
//!
//! portable-dlmalloc is a general-purpose allocator in the design of Doug Lea's dlmalloc
//! 2.8.x, carried to a platform by eight hooks (map memory, unmap it, four lock operations,
//! abort).  This crate compiles it (`PORTABLE`, `USE_DL_PREFIX`, `USE_LOCKS=2`, `MSPACES`,
//! `NO_MALLOC_STATS`) and offers:
//!
//! - [`DLMalloc`]: the global heap as a [`GlobalAlloc`];
//! - [`MspaceAlloc`]: a heap of its own (an mspace), created on first use, as a
//!   [`GlobalAlloc`];
//! - [`raw`]: every function of malloc.h, with `MallInfo` and the `M_*` constants.
//!
//! The crate is `no_std`.  With the default feature `posix-port` it also compiles
//! ports/posix.c, which defines the hooks for Linux and other POSIX systems.  Elsewhere (a
//! kernel, UEFI, firmware) turn default features off and define the hooks in the program; the
//! signatures are in the [`raw`] module's documentation and in examples/hooks.rs.
//!
//! ```rust,standalone_crate
//! use portable_dlmalloc::DLMalloc;
//!
//! #[global_allocator]
//! static GLOBAL: DLMalloc = DLMalloc;
//!
//! fn main() {
//!     let squares: Vec<u64> = (1..=10).map(|n| n * n).collect();
//!     assert_eq!(squares.iter().sum::<u64>(), 385);
//! }
//! ```
//!
//! Set the environment variable `DEFAULT_MMAP_GRANULARITY` (a power of two of at least 4096,
//! e.g. `64K`) when building to change the unit in which heap segments are mapped.
#![no_std]

pub mod raw;

/// Defines the eight hooks: give it the eight functions (`custom_mmap`, `custom_direct_mmap`,
/// `custom_munmap`, `init_lock`, `final_lock`, `acquire_lock`, `release_lock`,
/// `custom_abort`), and it exports each under its own name (`#[unsafe(no_mangle)]`) and
/// checks each signature against the one malloc.h declares, so a missing hook or a wrong
/// parameter type is a compile error rather than a crash.
///
/// ```text
/// portable_dlmalloc::hooks! {
///     pub unsafe extern "C" fn custom_mmap(length: usize) -> *mut c_void { /* ... */ }
///     /* ... the other seven ... */
/// }
/// ```
///
/// Only without the feature `posix-port`: with it, ports/posix.c already defines the hooks,
/// and this macro stops the build with a message saying so.  (Hooks written without the
/// macro then fail to link, as a second definition of the same symbols.)
#[cfg(not(feature = "posix-port"))]
#[macro_export]
macro_rules! hooks {
    ($($hook:item)*) => {
        $( #[unsafe(no_mangle)] $hook )*
        const _: () = {
            use ::core::ffi::{c_int, c_void};
            let _: unsafe extern "C" fn(usize) -> *mut c_void = custom_mmap;
            let _: unsafe extern "C" fn(usize) -> *mut c_void = custom_direct_mmap;
            let _: unsafe extern "C" fn(*mut c_void, usize) -> c_int = custom_munmap;
            let _: unsafe extern "C" fn(*mut *mut c_void) = init_lock;
            let _: unsafe extern "C" fn(*mut *mut c_void) = final_lock;
            let _: unsafe extern "C" fn(*mut *mut c_void) = acquire_lock;
            let _: unsafe extern "C" fn(*mut *mut c_void) = release_lock;
            let _: unsafe extern "C" fn() -> ! = custom_abort;
        };
    };
}

/// Defines the eight hooks -- but not with the feature `posix-port`, whose ports/posix.c
/// already defines them: with it, this macro stops the build with a message saying how to turn
/// the feature off.
#[cfg(feature = "posix-port")]
#[macro_export]
macro_rules! hooks {
    ($($hook:tt)*) => {
        ::core::compile_error!(
            "portable_dlmalloc::hooks!: the feature `posix-port` (on by default) compiles \
             ports/posix.c, which already defines the eight hooks; to write your own, depend on \
             portable-dlmalloc with `default-features = false`"
        );
    };
}

use core::alloc::{GlobalAlloc, Layout};
use core::ffi::c_void;
use core::ptr;
use core::sync::atomic::{AtomicPtr, Ordering};

pub use raw::{MALLOC_ALIGNMENT, MallInfo};

/// The operations of one heap that the allocators below are built from.
trait Heap {
    unsafe fn malloc(&self, size: usize) -> *mut c_void;
    unsafe fn calloc(&self, size: usize) -> *mut c_void;
    unsafe fn memalign(&self, align: usize, size: usize) -> *mut c_void;
    unsafe fn realloc(&self, p: *mut c_void, size: usize) -> *mut c_void;
    unsafe fn realloc_in_place(&self, p: *mut c_void, size: usize) -> *mut c_void;
    unsafe fn free(&self, p: *mut c_void);
}

// GlobalAlloc in terms of a Heap.  The C functions accept a size of 0 (a minimum-size block),
// so zero-size layouts, which GlobalAlloc callers should not pass, still get a valid unique
// block; `realloc` never passes 0 on, because C realloc(p, 0) frees p and returns null, which
// the caller would read as "failed, p still yours".

unsafe fn heap_alloc(heap: &impl Heap, layout: Layout) -> *mut u8 {
    unsafe {
        if layout.align() <= MALLOC_ALIGNMENT {
            heap.malloc(layout.size()).cast()
        } else {
            heap.memalign(layout.align(), layout.size()).cast()
        }
    }
}

unsafe fn heap_alloc_zeroed(heap: &impl Heap, layout: Layout) -> *mut u8 {
    unsafe {
        if layout.align() <= MALLOC_ALIGNMENT {
            heap.calloc(layout.size()).cast()
        } else {
            // No aligned calloc in C: memalign may hand out recycled memory, so clear it.
            let p: *mut u8 = heap.memalign(layout.align(), layout.size()).cast();
            if !p.is_null() {
                ptr::write_bytes(p, 0, layout.size());
            }
            p
        }
    }
}

unsafe fn heap_realloc(heap: &impl Heap, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    let request = new_size.max(1);
    unsafe {
        if layout.align() <= MALLOC_ALIGNMENT {
            // C realloc grows or shrinks in place when it can, and copies min(old, new) bytes
            // when it must move; every block it returns has MALLOC_ALIGNMENT.
            return heap.realloc(p.cast(), request).cast();
        }
        // C realloc would lose the alignment when it moves the block: try in place first, then
        // move by hand.
        if !heap.realloc_in_place(p.cast(), request).is_null() {
            return p;
        }
        let q: *mut u8 = heap.memalign(layout.align(), request).cast();
        if !q.is_null() {
            ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
            heap.free(p.cast());
        }
        q
    }
}

/// The global heap of portable-dlmalloc as a Rust allocator.
///
/// ```rust,standalone_crate
/// #[global_allocator]
/// static GLOBAL: portable_dlmalloc::DLMalloc = portable_dlmalloc::DLMalloc;
///
/// fn main() {
///     let text = format!("{} blocks", 3);
///     assert_eq!(text, "3 blocks");
/// }
/// ```
///
/// Alignments up to [`MALLOC_ALIGNMENT`] are served by `dlmalloc`, larger ones by
/// `dlmemalign`; `realloc` keeps the layout's alignment.  Thread safety comes from the lock
/// hooks.
#[derive(Clone, Copy, Debug, Default)]
pub struct DLMalloc;

impl Heap for DLMalloc {
    unsafe fn malloc(&self, size: usize) -> *mut c_void {
        unsafe { raw::dlmalloc(size) }
    }
    unsafe fn calloc(&self, size: usize) -> *mut c_void {
        unsafe { raw::dlcalloc(1, size) }
    }
    unsafe fn memalign(&self, align: usize, size: usize) -> *mut c_void {
        unsafe { raw::dlmemalign(align, size) }
    }
    unsafe fn realloc(&self, p: *mut c_void, size: usize) -> *mut c_void {
        unsafe { raw::dlrealloc(p, size) }
    }
    unsafe fn realloc_in_place(&self, p: *mut c_void, size: usize) -> *mut c_void {
        unsafe { raw::dlrealloc_in_place(p, size) }
    }
    unsafe fn free(&self, p: *mut c_void) {
        unsafe { raw::dlfree(p) }
    }
}

unsafe impl GlobalAlloc for DLMalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { heap_alloc(self, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        unsafe { heap_alloc_zeroed(self, layout) }
    }
    unsafe fn dealloc(&self, p: *mut u8, _layout: Layout) {
        unsafe { raw::dlfree(p.cast()) }
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { heap_realloc(self, p, layout, new_size) }
    }
}

/// An mspace (a heap of its own, with its own lock) as a Rust allocator.
///
/// [`MspaceAlloc::new`] is `const`, so the allocator can be a `static` (also the
/// `#[global_allocator]`); the mspace is created by the first allocation.  When several
/// threads make that first allocation at once, each may create an mspace, exactly one is
/// installed and the others are destroyed again, so every thread uses the same heap and none
/// leaks.
///
/// ```
/// use std::alloc::{GlobalAlloc, Layout};
/// use portable_dlmalloc::MspaceAlloc;
///
/// static POOL: MspaceAlloc = MspaceAlloc::new(1 << 20);
///
/// let layout = Layout::from_size_align(100, 64).unwrap();
/// let p = unsafe { POOL.alloc(layout) }; // creates the mspace
/// assert!(!p.is_null() && p as usize % 64 == 0);
/// assert!(POOL.mallinfo().uordblks >= 100);
/// unsafe { POOL.dealloc(p, layout) };
/// unsafe { POOL.destroy() }; // nothing from POOL is in use any more
/// ```
#[derive(Debug)]
pub struct MspaceAlloc {
    capacity: usize,
    msp: AtomicPtr<c_void>,
}

impl MspaceAlloc {
    /// An allocator whose mspace will be created with room for at least `capacity` bytes in
    /// its first segment (0: the granularity); it grows beyond that as needed.
    pub const fn new(capacity: usize) -> MspaceAlloc {
        MspaceAlloc { capacity, msp: AtomicPtr::new(ptr::null_mut()) }
    }

    /// The mspace, if it has been created.  Handy for the `raw::mspace_*` functions
    /// (statistics, trimming, inspection).
    pub fn mspace(&self) -> Option<raw::Mspace> {
        let msp = self.msp.load(Ordering::Acquire);
        (!msp.is_null()).then_some(msp)
    }

    /// Statistics of the mspace (all zero before it exists).
    pub fn mallinfo(&self) -> MallInfo {
        match self.mspace() {
            Some(msp) => unsafe { raw::mspace_mallinfo(msp) },
            None => MallInfo::default(),
        }
    }

    /// Release the mspace and all its memory to the system; the next allocation creates a
    /// fresh one.  Returns the bytes released (0 if there was no mspace).
    ///
    /// # Safety
    ///
    /// Every block allocated from this allocator becomes invalid: none may be used, freed or
    /// reallocated afterwards, and no other thread may be using the allocator during the
    /// call.  Never call it on the `#[global_allocator]` while the program still owns
    /// allocations (the standard library keeps some for the whole run).
    pub unsafe fn destroy(&self) -> usize {
        let msp = self.msp.swap(ptr::null_mut(), Ordering::AcqRel);
        if msp.is_null() { 0 } else { unsafe { raw::destroy_mspace(msp) } }
    }

    /// The mspace, created now if needed; null only if it could not be created.
    fn get_or_create(&self) -> raw::Mspace {
        let msp = self.msp.load(Ordering::Acquire);
        if !msp.is_null() {
            return msp;
        }
        self.create()
    }

    #[cold]
    fn create(&self) -> raw::Mspace {
        let fresh = unsafe { raw::create_mspace(self.capacity, 1) };
        if fresh.is_null() {
            // Out of memory, unless another thread succeeded meanwhile.
            return self.msp.load(Ordering::Acquire);
        }
        match self.msp.compare_exchange(ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => fresh,
            Err(installed) => {
                // Another thread won the race: use its mspace and give ours back.
                unsafe { raw::destroy_mspace(fresh) };
                installed
            }
        }
    }

    /// The mspace of a live block: it exists, since the block came from it.
    fn existing(&self) -> raw::Mspace {
        self.msp.load(Ordering::Acquire)
    }
}

/// A view of an mspace known to exist (or null, which every C function below rejects as a
/// usage error before touching memory).
struct MspaceHeap(raw::Mspace);

impl Heap for MspaceHeap {
    unsafe fn malloc(&self, size: usize) -> *mut c_void {
        unsafe { raw::mspace_malloc(self.0, size) }
    }
    unsafe fn calloc(&self, size: usize) -> *mut c_void {
        unsafe { raw::mspace_calloc(self.0, 1, size) }
    }
    unsafe fn memalign(&self, align: usize, size: usize) -> *mut c_void {
        unsafe { raw::mspace_memalign(self.0, align, size) }
    }
    unsafe fn realloc(&self, p: *mut c_void, size: usize) -> *mut c_void {
        unsafe { raw::mspace_realloc(self.0, p, size) }
    }
    unsafe fn realloc_in_place(&self, p: *mut c_void, size: usize) -> *mut c_void {
        unsafe { raw::mspace_realloc_in_place(self.0, p, size) }
    }
    unsafe fn free(&self, p: *mut c_void) {
        unsafe { raw::mspace_free(self.0, p) }
    }
}

unsafe impl GlobalAlloc for MspaceAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let msp = self.get_or_create();
        if msp.is_null() {
            return ptr::null_mut();
        }
        unsafe { heap_alloc(&MspaceHeap(msp), layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let msp = self.get_or_create();
        if msp.is_null() {
            return ptr::null_mut();
        }
        unsafe { heap_alloc_zeroed(&MspaceHeap(msp), layout) }
    }
    unsafe fn dealloc(&self, p: *mut u8, _layout: Layout) {
        unsafe { raw::mspace_free(self.existing(), p.cast()) }
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { heap_realloc(&MspaceHeap(self.existing()), p, layout, new_size) }
    }
}
