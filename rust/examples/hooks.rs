//! The eight hooks of portable-dlmalloc written in Rust, for Linux.
//!
//!     cargo run --no-default-features --example hooks
//!
//! Built without the feature `posix-port`, the allocator has no platform code: this program
//! supplies it, in linux_hooks/mod.rs (memory from `mmap`/`munmap`, spin locks, system
//! functions declared by hand).  Every hook counts its calls and remembers the regions it
//! handed out, and the program prints what happened through `naprint!`, which never allocates.
//!
//! At the end the program checks that the allocations of this process came from the hooks
//! (it exits with status 1 otherwise).  `hooks trace` also logs every map and unmap from
//! inside the hooks; `hooks double-free` frees a block twice to show `custom_abort` reporting
//! the allocator's reason.  tests/rust_hooks.rs runs all three.
#![allow(clippy::missing_safety_doc)]

// With the feature posix-port, ports/posix.c defines the hooks and this program's own would
// clash with them (the hooks! macro stops the build): cargo test, which builds the examples
// with the default features, gets a stub.
#[cfg(feature = "posix-port")]
fn main() {
    eprintln!("hooks: this example defines the hooks itself; run it with --no-default-features");
    std::process::exit(2);
}

#[cfg(not(feature = "posix-port"))]
#[macro_use]
mod linux_hooks;

#[cfg(not(feature = "posix-port"))]
fn main() {
    program::main()
}

#[cfg(not(feature = "posix-port"))]
mod program {
    use core::sync::atomic::Ordering::*;
    use std::alloc::{GlobalAlloc, Layout};
    use std::collections::HashMap;
    use std::sync::Barrier;

    use portable_dlmalloc::{DLMalloc, MspaceAlloc, raw};

    use super::linux_hooks::*;

    #[global_allocator]
    static GLOBAL: DLMalloc = DLMalloc;

    /// A pool that several threads start using at the same moment.
    static POOL: MspaceAlloc = MspaceAlloc::new(256 * 1024);

    pub fn main() {
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
}
