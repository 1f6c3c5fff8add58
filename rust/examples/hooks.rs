//! The eight hooks of portable-dlmalloc written in Rust, for Linux.
//!
//!     cargo run --no-default-features --example hooks
//!
//! Built without the feature `posix-port`, the allocator has no platform code: this program
//! supplies it.  Memory comes from `mmap`/`munmap` and the locks are spin locks on the
//! allocator's lock slots; the system functions are declared by hand (no libc crate).  Every
//! hook counts its calls and remembers the regions it handed out, and the program prints what
//! happened through `naprint!`, which formats on the stack and writes with `write(2)`: a hook
//! runs with a heap lock held and must never allocate, so `println!` is not an option there.
//!
//! At the end the program checks that the allocations of this process came from the hooks
//! (it exits with status 1 otherwise).  `hooks trace` also logs every map and unmap from
//! inside the hooks; `hooks double-free` frees a block twice to show `custom_abort` reporting
//! the allocator's reason.  tests/rust_hooks.rs runs all three.
#![allow(clippy::missing_safety_doc)]

use core::ffi::{CStr, c_int, c_long, c_void};
use core::fmt::{self, Write as _};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering::*};
use std::alloc::{GlobalAlloc, Layout};
use std::collections::HashMap;
use std::sync::Barrier;

use portable_dlmalloc::{DLMalloc, MspaceAlloc, raw};

#[cfg(not(target_os = "linux"))]
compile_error!("this example declares Linux's mmap constants; on other systems use posix-port");

#[global_allocator]
static GLOBAL: DLMalloc = DLMalloc;

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

fn naprint_args(args: fmt::Arguments<'_>) {
    let mut w = StackWriter { buf: [0; 256], len: 0 };
    let _ = w.write_fmt(args);
    w.flush();
}

/// `print!` without the heap: safe to use inside the hooks.
macro_rules! naprint {
    ($($arg:tt)*) => { crate::naprint_args(format_args!($($arg)*)) };
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

static SEGMENT_MAPS: AtomicUsize = AtomicUsize::new(0);
static DIRECT_MAPS: AtomicUsize = AtomicUsize::new(0);
static UNMAPS: AtomicUsize = AtomicUsize::new(0);
static LOCK_INITS: AtomicUsize = AtomicUsize::new(0);
static LOCK_FINALS: AtomicUsize = AtomicUsize::new(0);
static ACQUIRES: AtomicUsize = AtomicUsize::new(0);
static RELEASES: AtomicUsize = AtomicUsize::new(0);
/// Bitwise or of every segment length: its lowest set bit is the largest power of two that
/// divides them all, which shows the granularity the allocator was built with.
static SEGMENT_LENGTH_BITS: AtomicUsize = AtomicUsize::new(0);
/// Unmap requests that were not exactly one region this program handed out.
static BAD_UNMAPS: AtomicUsize = AtomicUsize::new(0);

/// The regions handed out and not yet released, as (start, length); start 0 marks a free
/// slot.  A fixed table, since the hooks cannot allocate.
const SLOTS: usize = 512;
static REGION_START: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static REGION_LENGTH: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static UNTRACKED_REGIONS: AtomicUsize = AtomicUsize::new(0);

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
fn from_hooks(p: *const u8) -> bool {
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
static TRACE: AtomicBool = AtomicBool::new(false);

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

/// Memory for a heap segment.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn custom_mmap(length: usize) -> *mut c_void {
    SEGMENT_MAPS.fetch_add(1, Relaxed);
    SEGMENT_LENGTH_BITS.fetch_or(length, Relaxed);
    map("custom_mmap", length)
}

/// Memory for one large block (at least the mmap threshold, 256 KiB on 64-bit).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn custom_direct_mmap(length: usize) -> *mut c_void {
    DIRECT_MAPS.fetch_add(1, Relaxed);
    map("custom_direct_mmap", length)
}

/// Give back exactly one region that one of the two hooks above returned.
#[unsafe(no_mangle)]
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

// A spin lock in the slot itself: null is unlocked (the allocator may use a zeroed slot
// before init_lock), anything else is held.

const HELD: *mut c_void = core::ptr::without_provenance_mut(1);

unsafe fn slot<'a>(lock: *mut *mut c_void) -> &'a AtomicPtr<c_void> {
    // The slot is a pointer-aligned `void *` that the allocator only touches through us.
    unsafe { AtomicPtr::from_ptr(lock) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn init_lock(lock: *mut *mut c_void) {
    LOCK_INITS.fetch_add(1, Relaxed);
    unsafe { slot(lock) }.store(core::ptr::null_mut(), Relaxed);
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn final_lock(_lock: *mut *mut c_void) {
    LOCK_FINALS.fetch_add(1, Relaxed);
}

#[unsafe(no_mangle)]
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

#[unsafe(no_mangle)]
pub unsafe extern "C" fn release_lock(lock: *mut *mut c_void) {
    RELEASES.fetch_add(1, Relaxed);
    unsafe { slot(lock) }.store(core::ptr::null_mut(), Release);
}

/// Report why the allocator stopped, then abort.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn custom_abort() -> ! {
    let reason = unsafe { CStr::from_ptr(raw::malloc_abort_reason()) };
    naprint!("custom_abort: {}\n", reason.to_str().unwrap_or("(not UTF-8)"));
    unsafe { abort() }
}

// ==== The program ============================================================================

/// A pool that several threads start using at the same moment.
static POOL: MspaceAlloc = MspaceAlloc::new(256 * 1024);

fn main() {
    let mode = std::env::args().nth(1);
    TRACE.store(mode.as_deref() == Some("trace"), Relaxed);
    if mode.as_deref() == Some("double-free") {
        unsafe {
            let p = raw::dlmalloc(100);
            raw::dlfree(p);
            raw::dlfree(p); // custom_abort runs here
        }
        naprint!("the double free went unnoticed\n");
        std::process::exit(1);
    }

    let mut failures = 0;
    let mut check = |ok: bool, what: &str| {
        naprint!("{} {what}\n", if ok { "ok:    " } else { "FAILED:" });
        failures += usize::from(!ok);
    };

    // Ordinary Rust work on the global heap.
    let numbers: Vec<u64> = (0..10_000).collect();
    let text: String = numbers.iter().take(500).map(|n| format!("{n},")).collect();
    let mut map = HashMap::new();
    for n in &numbers[..1000] {
        map.insert(*n, n.to_string());
    }
    let boxed = Box::new([7u8; 100]);
    let large = vec![1u8; 1 << 20];
    check(from_hooks(numbers.as_ptr().cast()), "a Vec lives in memory from the hooks");
    check(from_hooks(text.as_ptr()), "a String lives in memory from the hooks");
    check(from_hooks(boxed.as_ptr()), "a Box lives in memory from the hooks");
    check(from_hooks(map[&999].as_ptr()), "HashMap values live in memory from the hooks");
    check(from_hooks(large.as_ptr()), "a 1 MiB Vec lives in memory from the hooks");
    check(DIRECT_MAPS.load(Relaxed) > 0, "the 1 MiB Vec came from custom_direct_mmap");
    let unmaps = UNMAPS.load(Relaxed);
    drop(large);
    check(UNMAPS.load(Relaxed) > unmaps, "freeing it called custom_munmap");
    check(map.len() == 1000 && text.len() > 1000, "the collections hold what was put in");

    // Eight threads race to make the first allocation from POOL: one mspace must survive, and
    // the ones the losers created must be destroyed again.
    let live = || LOCK_INITS.load(Relaxed) - LOCK_FINALS.load(Relaxed);
    let live_before = live();
    let barrier = Barrier::new(8);
    let handles: Vec<usize> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let layout = Layout::from_size_align(64, 8).unwrap();
                    barrier.wait();
                    let p = unsafe { POOL.alloc(layout) };
                    assert!(!p.is_null() && from_hooks(p));
                    let msp = POOL.mspace().map_or(0, |m| m as usize);
                    unsafe { POOL.dealloc(p, layout) };
                    msp
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    check(handles.iter().all(|&m| m != 0 && m == handles[0]), "all threads used one mspace");
    check(live() == live_before + 1, "exactly one new mspace is alive after the race");
    let released = unsafe { POOL.destroy() };
    check(released > 0 && live() == live_before, "destroy released the mspace");

    // The summary (tests/rust_hooks.rs reads these lines).
    let acquires = ACQUIRES.load(Relaxed);
    let releases = RELEASES.load(Relaxed);
    naprint!("custom_mmap calls: {}\n", SEGMENT_MAPS.load(Relaxed));
    naprint!("custom_direct_mmap calls: {}\n", DIRECT_MAPS.load(Relaxed));
    naprint!("custom_munmap calls: {}\n", UNMAPS.load(Relaxed));
    naprint!("init_lock calls: {}\n", LOCK_INITS.load(Relaxed));
    naprint!("final_lock calls: {}\n", LOCK_FINALS.load(Relaxed));
    naprint!("acquire_lock calls: {acquires}\n");
    naprint!("release_lock calls: {releases}\n");
    let bits = SEGMENT_LENGTH_BITS.load(Relaxed);
    naprint!("segment lengths are multiples of: {}\n", bits & bits.wrapping_neg());
    check(acquires > 0 && acquires == releases, "every acquire_lock had its release_lock");
    check(BAD_UNMAPS.load(Relaxed) == 0, "custom_munmap only got whole regions");
    check(UNTRACKED_REGIONS.load(Relaxed) == 0, "the region table was large enough");
    if failures > 0 {
        naprint!("hooks: {failures} check(s) failed\n");
        std::process::exit(1);
    }
    naprint!("hooks: all checks passed\n");
}
