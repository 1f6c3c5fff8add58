//! The raw bindings: every function of malloc.h is bound and links, and the calls behave as
//! malloc.h says.  Rust's own allocations use the system allocator here, so the dl heap holds
//! only what these tests put in it.  The tests that use the global heap take turns (HEAP), and
//! each starts from an empty heap, so that its statistics mean the same in any order.

use core::ffi::{CStr, c_void};
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

use portable_dlmalloc::raw::{self, *};

mod common; // the hooks, when built without posix-port

static HEAP: Mutex<()> = Mutex::new(());

/// The global heap to oneself, emptied (no test keeps blocks beyond its end).
fn heap() -> MutexGuard<'static, ()> {
    let turn = HEAP.lock().unwrap_or_else(|e| e.into_inner());
    unsafe { dlmalloc_teardown() };
    turn
}

/// (name, address) of every function bound in `raw`.
macro_rules! addresses {
    ($($f:ident),* $(,)?) => { [$((stringify!($f), raw::$f as *const () as usize)),*] };
}

/// The functions malloc.h declares: those marked DLMALLOC_EXPORT, and then those of the port
/// interface (section 6), which has no marker.
fn declared_in_malloc_h() -> (BTreeSet<String>, BTreeSet<String>) {
    let header = include_str!("../csrc/malloc.h");
    let name_before_paren = |line: &str| -> Option<String> {
        let head = &line[..line.find('(')?];
        let name = head.rsplit(|c: char| !(c.is_alphanumeric() || c == '_')).next()?;
        (!name.is_empty()).then(|| name.to_string())
    };
    let (api, port) = header.split_once("==== 6. The port interface").expect("section 6");
    let exported = api
        .lines()
        .filter(|l| l.starts_with("DLMALLOC_EXPORT"))
        .filter_map(name_before_paren)
        .collect();
    let port_functions = port
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()) && l.ends_with(");"))
        .filter_map(name_before_paren)
        .collect();
    (exported, port_functions)
}

// The eight hooks: ports/posix.c with the feature posix-port, else the example's Linux hooks
// (through common).
unsafe extern "C" {
    fn custom_mmap(length: usize) -> *mut c_void;
    fn custom_munmap(ptr: *mut c_void, length: usize) -> i32;
    fn custom_direct_mmap(length: usize) -> *mut c_void;
    fn init_lock(lock: *mut *mut c_void);
    fn final_lock(lock: *mut *mut c_void);
    fn acquire_lock(lock: *mut *mut c_void);
    fn release_lock(lock: *mut *mut c_void);
    fn custom_abort();
}

#[test]
fn every_function_of_malloc_h_is_bound_and_links() {
    #[rustfmt::skip]
    let bound = addresses!(
        dlmalloc, dlfree, dlfree_sized, dlfree_aligned_sized, dlcalloc, dlrealloc, dlreallocarray,
        dlrealloc_in_place, dlmemalign, dlposix_memalign, dlaligned_alloc, dlvalloc, dlpvalloc, dlmallopt, dlmalloc_footprint, dlmalloc_max_footprint,
        dlmalloc_footprint_limit, dlmalloc_set_footprint_limit, dlmalloc_inspect_all, dlmallinfo,
        dlindependent_calloc, dlindependent_comalloc, dlbulk_free, dlmalloc_trim, dlmalloc_stats,
        dlmalloc_usable_size, dlmalloc_teardown, dlmalloc_thread_exit, dlmalloc_arenas,
        dlmalloc_prefork,
        dlmalloc_postfork_parent, dlmalloc_postfork_child, create_mspace, create_mspace_with_base,
        destroy_mspace, mspace_track_large_chunks, mspace_malloc, mspace_free, mspace_calloc, mspace_realloc,
        mspace_realloc_in_place, mspace_memalign, mspace_independent_calloc,
        mspace_independent_comalloc, mspace_bulk_free, mspace_usable_size, mspace_malloc_stats,
        mspace_trim, mspace_footprint, mspace_max_footprint, mspace_footprint_limit,
        mspace_set_footprint_limit, mspace_mallopt, mspace_mallinfo, mspace_inspect_all,
        malloc_abort_reason,
    );
    let hooks = [
        ("custom_mmap", custom_mmap as *const () as usize),
        ("custom_munmap", custom_munmap as *const () as usize),
        ("custom_direct_mmap", custom_direct_mmap as *const () as usize),
        ("init_lock", init_lock as *const () as usize),
        ("final_lock", final_lock as *const () as usize),
        ("acquire_lock", acquire_lock as *const () as usize),
        ("release_lock", release_lock as *const () as usize),
        ("custom_abort", custom_abort as *const () as usize),
    ];
    let addresses: BTreeSet<usize> = bound.iter().chain(&hooks).map(|&(_, a)| a).collect();
    assert!(!addresses.contains(&0));
    assert_eq!(addresses.len(), bound.len() + hooks.len(), "two names share an address");

    let (exported, port) = declared_in_malloc_h();
    let bound_names: BTreeSet<String> = bound.iter().map(|(n, _)| n.to_string()).collect();
    let hook_names: BTreeSet<String> = hooks.iter().map(|(n, _)| n.to_string()).collect();
    let mut declared = exported.clone();
    declared.insert("malloc_abort_reason".to_string());
    assert_eq!(bound_names, declared, "raw's functions differ from malloc.h's");
    let expected_port: BTreeSet<String> =
        hook_names.iter().cloned().chain(["malloc_abort_reason".to_string()]).collect();
    assert_eq!(port, expected_port, "malloc.h's port interface changed");
}

#[test]
fn standard_calls() {
    let _turn = heap();
    unsafe {
        let p = dlmalloc(100).cast::<u8>();
        assert!(!p.is_null() && p as usize % MALLOC_ALIGNMENT == 0);
        assert!(dlmalloc_usable_size(p.cast()) >= 100);
        p.write_bytes(0x5A, 100);
        assert_eq!(dlrealloc_in_place(p.cast(), 50), p.cast(), "shrinking in place");
        let q = dlrealloc(p.cast(), 5000).cast::<u8>();
        assert!(!q.is_null() && (0..50).all(|i| *q.add(i) == 0x5A));
        assert!(dlrealloc(q.cast(), 0).is_null(), "realloc(p, 0) frees p");

        let z = dlcalloc(10, 10).cast::<u8>();
        assert!((0..100).all(|i| *z.add(i) == 0));
        dlfree(z.cast());
        assert!(dlcalloc(usize::MAX / 2, 3).is_null(), "calloc overflow");
        assert!(dlmalloc(usize::MAX - 10).is_null());
        dlfree(core::ptr::null_mut());

        let a = dlmemalign(4096, 10);
        assert!(!a.is_null() && a as usize % 4096 == 0);
        dlfree(a);
        let mut out: *mut c_void = core::ptr::null_mut();
        assert_eq!(dlposix_memalign(&mut out, 3 * 8, 10), 22 /* EINVAL */);
        assert!(out.is_null(), "*pp untouched on EINVAL");
        assert_eq!(dlposix_memalign(&mut out, 256, 10), 0);
        assert!(!out.is_null() && out as usize % 256 == 0);
        dlfree(out);
        let v = dlvalloc(10);
        let pv = dlpvalloc(5000);
        assert!(v as usize % 4096 == 0 && pv as usize % 4096 == 0);
        assert!(dlmalloc_usable_size(pv) >= 8192, "pvalloc rounds up to whole pages");
        dlfree(v);
        dlfree(pv);
        assert_eq!(dlmalloc_usable_size(core::ptr::null()), 0);
        dlmalloc_stats(); // prints nothing: built with NO_MALLOC_STATS
        assert!(CStr::from_ptr(malloc_abort_reason()).to_bytes().is_empty(), "no error so far");
    }
}

#[test]
fn mallopt_parameters() {
    let _turn = heap();
    unsafe {
        assert_eq!(dlmallopt(M_MMAP_THRESHOLD, 128 * 1024), 1);
        assert_eq!(dlmallopt(M_TRIM_THRESHOLD, 4 << 20), 1);
        assert_eq!(dlmallopt(M_GRANULARITY, 3000), 0, "not a power of two");
        assert_eq!(dlmallopt(M_GRANULARITY, 64 * 1024), 1);
        assert_eq!(mspace_mallopt(12345, 1), 0, "unknown parameter");
        assert_eq!(dlmallopt(M_MMAP_THRESHOLD, 256 * 1024), 1);
        assert_eq!(dlmallopt(M_TRIM_THRESHOLD, 2 << 20), 1);
    }
}

/// mallinfo's fields agree with each other and with the footprint, and follow what is
/// allocated and freed.
#[test]
fn mallinfo_footprint_and_trim() {
    let _turn = heap();
    unsafe {
        let check = |info: MallInfo| {
            let footprint = dlmalloc_footprint();
            assert_eq!(info.arena + info.hblkhd, footprint, "{info:?}");
            assert_eq!(info.uordblks + info.fordblks, footprint, "{info:?}");
            assert_eq!(info.usmblks, dlmalloc_max_footprint());
            assert!(info.keepcost <= info.fordblks);
            assert_eq!((info.smblks, info.hblks, info.fsmblks), (0, 0, 0));
        };
        // A heap that has no memory reports all zeros (max_footprint remembers earlier tests).
        assert_eq!(dlmallinfo(), MallInfo::default());
        let first = dlmalloc(16);
        let before = dlmallinfo();
        check(before);
        // Keep free() from trimming by itself, so that what comes back below is trim's doing.
        assert_eq!(dlmallopt(M_TRIM_THRESHOLD, i32::MAX), 1);
        // 200 blocks of 20 000 bytes: segments of the heap (below the mmap threshold).
        let blocks: Vec<*mut c_void> = (0..200).map(|_| dlmalloc(20_000)).collect();
        assert!(blocks.iter().all(|p| !p.is_null()));
        let full = dlmallinfo();
        check(full);
        assert!(full.uordblks >= before.uordblks + 200 * 20_000);
        let big = dlmalloc(1 << 20); // mapped by itself
        assert!(dlmallinfo().hblkhd >= full.hblkhd + (1 << 20));
        dlfree(big);
        assert_eq!(dlmallinfo().hblkhd, full.hblkhd, "freeing a mapped block unmaps it");

        for &p in &blocks {
            dlfree(p);
        }
        let freed = dlmallinfo();
        check(freed);
        assert!(freed.uordblks <= full.uordblks - 200 * 20_000);
        assert!(freed.ordblks >= 1);
        let footprint = dlmalloc_footprint();
        assert_eq!(footprint, full.arena + full.hblkhd, "free() trimmed by itself");
        // Without partial unmapping, trim releases the segments that are wholly free.
        assert_eq!(dlmalloc_trim(0), 1);
        assert!(dlmalloc_footprint() < footprint - 1_000_000, "trim gave back too little");
        check(dlmallinfo());
        assert!(dlmalloc_max_footprint() >= footprint);
        dlfree(first);
        assert_eq!(dlmallopt(M_TRIM_THRESHOLD, 2 << 20), 1);
    }
}

#[test]
fn footprint_limit() {
    let _turn = heap();
    unsafe {
        assert_eq!(dlmalloc_footprint_limit(), usize::MAX);
        let fp = dlmalloc_footprint();
        let limit = dlmalloc_set_footprint_limit(fp + 100_000);
        assert!(limit >= fp + 100_000 && limit < fp + 100_000 + (1 << 20));
        assert_eq!(dlmalloc_footprint_limit(), limit);
        assert!(dlmalloc(4 << 20).is_null(), "a request beyond the limit must fail");
        assert_eq!(dlmalloc_set_footprint_limit(0), usize::MAX, "0 removes the limit");
        let p = dlmalloc(4 << 20);
        assert!(!p.is_null());
        dlfree(p);
    }
}

#[derive(Default)]
struct Walk {
    used: Vec<(usize, usize, usize)>,
    free_bytes: usize,
}

unsafe extern "C" fn record(start: *mut c_void, end: *mut c_void, used: usize, arg: *mut c_void) {
    // Runs with the heap locked: the Vec grows from the system allocator, not this heap.
    let walk = unsafe { &mut *arg.cast::<Walk>() };
    let (start, end) = (start as usize, end as usize);
    assert!(start <= end);
    if used > 0 {
        walk.used.push((start, end, used));
    } else {
        walk.free_bytes += end - start;
    }
}

/// inspect_all reports every block in use, with its usable extent.
#[test]
fn inspect_all() {
    let _turn = heap();
    unsafe {
        let sizes = [16usize, 100, 1000, 40_000, 400_000];
        let blocks: Vec<*mut c_void> = sizes.iter().map(|&n| dlmalloc(n)).collect();
        let mut walk = Walk::default();
        dlmalloc_inspect_all(Some(record), (&raw mut walk).cast());
        for (&p, &n) in blocks.iter().zip(&sizes) {
            let p = p as usize;
            let found = walk.used.iter().find(|&&(s, e, _)| s <= p && p < e);
            let &(s, e, used) = found.unwrap_or_else(|| panic!("block of {n} not reported"));
            assert!(s == p && e - s >= n && used == e - s, "block of {n}: {s:#x}..{e:#x} {used}");
        }
        for &p in &blocks {
            dlfree(p);
        }
        let mut after = Walk::default();
        dlmalloc_inspect_all(Some(record), (&raw mut after).cast());
        assert!(after.used.len() < walk.used.len());
        assert!(after.used.iter().all(|&(s, _, _)| !blocks.contains(&(s as *mut c_void))));
    }
}

#[test]
fn independent_and_bulk() {
    let _turn = heap();
    unsafe {
        let array = dlindependent_calloc(5, 40, core::ptr::null_mut());
        assert!(!array.is_null());
        for i in 0..5 {
            let p = (*array.add(i)).cast::<u8>();
            assert!(!p.is_null() && (0..40).all(|j| *p.add(j) == 0));
        }
        assert_eq!(dlbulk_free(array, 5), 0);
        assert!((0..5).all(|i| (*array.add(i)).is_null()), "bulk_free nulls the entries");
        dlfree(array.cast());

        let mut sizes = [8usize, 300, 20];
        let mut chunks = [core::ptr::null_mut::<c_void>(); 3];
        let got = dlindependent_comalloc(3, sizes.as_mut_ptr(), chunks.as_mut_ptr());
        assert_eq!(got, chunks.as_mut_ptr());
        for (p, n) in chunks.iter().zip(sizes) {
            assert!(dlmalloc_usable_size(*p) >= n);
        }
        assert_eq!(dlbulk_free(chunks.as_mut_ptr(), 3), 0);
    }
}

/// The mspace functions, on an mspace inside a caller's buffer and on a mapped one.
#[test]
fn mspaces() {
    #[repr(align(4096))]
    #[allow(dead_code)] // only its memory is used
    struct Buffer([u8; 256 * 1024]);
    static mut BUFFER: Buffer = Buffer([0; 256 * 1024]);
    unsafe {
        let base = (&raw mut BUFFER).cast::<c_void>();
        assert!(create_mspace_with_base(base, 16, 1).is_null(), "too small for the bookkeeping");
        let msp = create_mspace_with_base(base, 256 * 1024, 1);
        assert!(!msp.is_null());
        let p = mspace_malloc(msp, 1000);
        let range = base as usize..base as usize + 256 * 1024;
        assert!(range.contains(&(p as usize)));
        assert!(mspace_usable_size(p) >= 1000);
        let q = mspace_realloc(msp, p, 3000);
        assert!(range.contains(&(q as usize)));
        assert_eq!(mspace_realloc_in_place(msp, q, 100), q);
        let z = mspace_calloc(msp, 4, 25).cast::<u8>();
        assert!((0..100).all(|i| *z.add(i) == 0));
        let a = mspace_memalign(msp, 1024, 10);
        assert_eq!(a as usize % 1024, 0);
        let info = mspace_mallinfo(msp);
        assert!(info.uordblks >= 100 + 100 + 10 && info.arena >= info.uordblks);
        let mut walk = Walk::default();
        mspace_inspect_all(msp, Some(record), (&raw mut walk).cast());
        for block in [q, z.cast(), a] {
            assert!(walk.used.iter().any(|&(s, _, _)| s == block as usize));
        }
        let mut three = [core::ptr::null_mut(); 3];
        assert!(!mspace_independent_calloc(msp, 3, 8, three.as_mut_ptr()).is_null());
        let mut sizes = [10usize, 20];
        let mut two = [core::ptr::null_mut(); 2];
        assert!(
            !mspace_independent_comalloc(msp, 2, sizes.as_mut_ptr(), two.as_mut_ptr()).is_null()
        );
        assert_eq!(mspace_bulk_free(msp, three.as_mut_ptr(), 3), 0);
        assert_eq!(mspace_bulk_free(msp, two.as_mut_ptr(), 2), 0);
        mspace_free(msp, q);
        mspace_free(msp, z.cast());
        mspace_free(msp, a);
        mspace_malloc_stats(msp);
        assert_eq!(mspace_footprint(msp), 256 * 1024);
        assert!(mspace_max_footprint(msp) >= mspace_footprint(msp));
        mspace_trim(msp, 0);
        assert_eq!(destroy_mspace(msp), 0, "a caller's buffer is not released");

        let m = create_mspace(0, 0);
        assert!(!m.is_null());
        assert_eq!(mspace_footprint_limit(m), usize::MAX);
        assert_eq!(mspace_track_large_chunks(m, 1), 0);
        let big = mspace_malloc(m, 1 << 20); // from a segment, since large chunks are tracked
        assert_eq!(mspace_mallinfo(m).hblkhd, 0);
        assert_eq!(mspace_track_large_chunks(m, 0), 1);
        mspace_free(m, big);
        let limit = mspace_set_footprint_limit(m, mspace_footprint(m));
        assert!(mspace_malloc(m, 8 << 20).is_null(), "beyond the limit of {limit}");
        assert!(destroy_mspace(m) >= 1 << 20);
    }
}

#[test]
fn fork_hooks_take_and_release_every_lock() {
    let _turn = heap();
    unsafe {
        dlmalloc_prefork();
        dlmalloc_postfork_parent();
        let p = dlmalloc(10);
        assert!(!p.is_null());
        dlmalloc_prefork();
        dlmalloc_postfork_child(); // resets the locks, as in a child process
        dlfree(p);
        assert!(!dlmalloc(10).is_null());
    }
}

/// teardown gives every page back and leaves a heap that works from scratch.
#[test]
fn teardown() {
    let _turn = heap();
    unsafe {
        for n in [100usize, 50_000, 1 << 20] {
            assert!(!dlmalloc(n).is_null());
        }
        let footprint = dlmalloc_footprint();
        assert!(footprint > 1 << 20);
        assert_eq!(dlmalloc_teardown(), footprint);
        assert_eq!(dlmalloc_footprint(), 0);
        assert_eq!(dlmallinfo().uordblks, 0);
        let p = dlmalloc(100).cast::<u8>();
        assert!(!p.is_null());
        p.write_bytes(1, 100);
        dlfree(p.cast());
    }
}
