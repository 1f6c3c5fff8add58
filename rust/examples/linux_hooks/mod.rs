//! Linux hooks for portable-dlmalloc, written in Rust: the port of examples/hooks.rs, which
//! also serves the crate's tests when they are built without the feature `posix-port`
//! (tests/common/mod.rs).  Memory comes from `mmap`/`munmap`, the locks are spin locks on the
//! allocator's lock slots, and the system functions are declared by hand (no libc crate).
//! Every hook counts its calls and remembers the regions it handed out; `naprint!` formats on
//! the stack and writes with `write(2)`: a hook runs with a heap lock held and must never
//! allocate, so `println!` is not an option there.

use core::ffi::{CStr, c_int, c_long, c_void};
use core::fmt::{self, Write as _};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::*};

use portable_dlmalloc::raw;

#[cfg(not(target_os = "linux"))]
compile_error!("these hooks declare Linux's mmap constants; on other systems use posix-port");

// ==== naprint!: formatted output that never allocates ========================================

/// A line buffer on the stack; flushed to standard output when full and at the end.
struct StackWriter {
    buf: [u8; 256],
    len: usize,
}

impl StackWriter {
    fn flush(&mut self) {
        let mut done = 0;
        while done < self.len {
            let n = unsafe { write(1, self.buf[done..].as_ptr().cast(), self.len - done) };
            if n <= 0 {
                break; // nowhere else to report it
            }
            done += n as usize;
        }
        self.len = 0;
    }
}

impl fmt::Write for StackWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for chunk in s.as_bytes().chunks(self.buf.len()) {
            if self.len + chunk.len() > self.buf.len() {
                self.flush();
            }
            self.buf[self.len..self.len + chunk.len()].copy_from_slice(chunk);
            self.len += chunk.len();
        }
        Ok(())
    }
}

pub fn naprint_args(args: fmt::Arguments<'_>) {
    let mut w = StackWriter { buf: [0; 256], len: 0 };
    let _ = w.write_fmt(args);
    w.flush();
}

/// `print!` without the heap: safe to use inside the hooks.
macro_rules! naprint {
    ($($arg:tt)*) => { naprint_args(format_args!($($arg)*)) };
}

// ==== The system, declared by hand ============================================================

unsafe extern "C" {
    fn mmap(
        addr: *mut c_void,
        len: usize,
        prot: c_int,
        flags: c_int,
        fd: c_int,
        off: c_long,
    ) -> *mut c_void;
    fn munmap(addr: *mut c_void, len: usize) -> c_int;
    fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    fn sched_yield() -> c_int;
    fn abort() -> !;
}

const PROT_READ: c_int = 1;
const PROT_WRITE: c_int = 2;
const MAP_PRIVATE: c_int = 2;
const MAP_ANONYMOUS: c_int = 0x20;
const MAP_FAILED: *mut c_void = usize::MAX as *mut c_void;

// ==== What the hooks saw =====================================================================

pub static SEGMENT_MAPS: AtomicUsize = AtomicUsize::new(0);
pub static DIRECT_MAPS: AtomicUsize = AtomicUsize::new(0);
pub static UNMAPS: AtomicUsize = AtomicUsize::new(0);
pub static LOCK_INITS: AtomicUsize = AtomicUsize::new(0);
pub static LOCK_FINALS: AtomicUsize = AtomicUsize::new(0);
pub static ACQUIRES: AtomicUsize = AtomicUsize::new(0);
pub static RELEASES: AtomicUsize = AtomicUsize::new(0);
/// Bitwise or of every segment length: its lowest set bit is the largest power of two that
/// divides them all, which shows the granularity the allocator was built with.
pub static SEGMENT_LENGTH_BITS: AtomicUsize = AtomicUsize::new(0);
/// Unmap requests that were not exactly one region this program handed out.
pub static BAD_UNMAPS: AtomicUsize = AtomicUsize::new(0);

/// The regions handed out and not yet released, as (start, length); start 0 marks a free
/// slot.  A fixed table, since the hooks cannot allocate.
const SLOTS: usize = 512;
static REGION_START: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static REGION_LENGTH: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
pub static UNTRACKED_REGIONS: AtomicUsize = AtomicUsize::new(0);

fn remember_region(start: usize, length: usize) {
    for i in 0..SLOTS {
        if REGION_START[i].compare_exchange(0, usize::MAX, AcqRel, Relaxed).is_ok() {
            REGION_LENGTH[i].store(length, Relaxed);
            REGION_START[i].store(start, Release);
            return;
        }
    }
    UNTRACKED_REGIONS.fetch_add(1, Relaxed);
}

/// Forget the region that starts at `start`; false if there is none of that length.
fn forget_region(start: usize, length: usize) -> bool {
    for i in 0..SLOTS {
        if REGION_START[i].load(Acquire) == start && REGION_LENGTH[i].load(Relaxed) == length {
            REGION_START[i].store(0, Release);
            return true;
        }
    }
    false
}

/// Whether `p` lies in a region one of the memory hooks returned.
pub fn from_hooks(p: *const u8) -> bool {
    let p = p as usize;
    (0..SLOTS).any(|i| {
        let start = REGION_START[i].load(Acquire);
        start != 0
            && start != usize::MAX
            && p >= start
            && p - start < REGION_LENGTH[i].load(Relaxed)
    })
}

/// Set by `hooks trace`: the memory hooks log each call.
pub static TRACE: AtomicBool = AtomicBool::new(false);

fn map(hook: &str, length: usize) -> *mut c_void {
    let p = unsafe {
        mmap(
            core::ptr::null_mut(),
            length,
            PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if TRACE.load(Relaxed) {
        naprint!("{hook}({length}) -> {p:p}\n");
    }
    if p == MAP_FAILED {
        return raw::MFAIL;
    }
    remember_region(p as usize, length);
    p
}

// ==== The eight hooks ========================================================================

// A spin lock in the slot itself: null is unlocked (the allocator may use a zeroed slot
// before init_lock), anything else is held.

const HELD: *mut c_void = core::ptr::without_provenance_mut(1);

unsafe fn slot<'a>(lock: *mut *mut c_void) -> &'a AtomicPtr<c_void> {
    // The slot is a pointer-aligned `void *` that the allocator only touches through us.
    unsafe { AtomicPtr::from_ptr(lock) }
}

// The macro exports each hook under its C name and checks its signature against malloc.h's.
portable_dlmalloc::hooks! {
    /// Memory for a heap segment.
    pub unsafe extern "C" fn custom_mmap(length: usize) -> *mut c_void {
        SEGMENT_MAPS.fetch_add(1, Relaxed);
        SEGMENT_LENGTH_BITS.fetch_or(length, Relaxed);
        map("custom_mmap", length)
    }

    /// Memory for one large block (at least the mmap threshold, 256 KiB on 64-bit).
    pub unsafe extern "C" fn custom_direct_mmap(length: usize) -> *mut c_void {
        DIRECT_MAPS.fetch_add(1, Relaxed);
        map("custom_direct_mmap", length)
    }

    /// Give back exactly one region that one of the two hooks above returned.
    pub unsafe extern "C" fn custom_munmap(ptr: *mut c_void, length: usize) -> c_int {
        UNMAPS.fetch_add(1, Relaxed);
        if TRACE.load(Relaxed) {
            naprint!("custom_munmap({ptr:p}, {length})\n");
        }
        if !forget_region(ptr as usize, length) {
            BAD_UNMAPS.fetch_add(1, Relaxed);
            naprint!("custom_munmap: {ptr:p} + {length} is not a region the hooks returned\n");
            return -1;
        }
        if unsafe { munmap(ptr, length) } == 0 { 0 } else { -1 }
    }

    pub unsafe extern "C" fn init_lock(lock: *mut *mut c_void) {
        LOCK_INITS.fetch_add(1, Relaxed);
        unsafe { slot(lock) }.store(core::ptr::null_mut(), Relaxed);
    }

    pub unsafe extern "C" fn final_lock(_lock: *mut *mut c_void) {
        LOCK_FINALS.fetch_add(1, Relaxed);
    }

    pub unsafe extern "C" fn acquire_lock(lock: *mut *mut c_void) {
        ACQUIRES.fetch_add(1, Relaxed);
        let slot = unsafe { slot(lock) };
        let mut spins = 0u32;
        while slot.compare_exchange_weak(core::ptr::null_mut(), HELD, Acquire, Relaxed).is_err() {
            spins += 1;
            if spins < 100 {
                core::hint::spin_loop();
            } else {
                unsafe { sched_yield() }; // the holder may be waiting for this core
            }
        }
    }

    pub unsafe extern "C" fn release_lock(lock: *mut *mut c_void) {
        RELEASES.fetch_add(1, Relaxed);
        unsafe { slot(lock) }.store(core::ptr::null_mut(), Release);
    }

    /// Report why the allocator stopped, then abort.
    pub unsafe extern "C" fn custom_abort() -> ! {
        let reason = unsafe { CStr::from_ptr(raw::malloc_abort_reason()) };
        naprint!("custom_abort: {}\n", reason.to_str().unwrap_or("(not UTF-8)"));
        unsafe { abort() }
    }
}
