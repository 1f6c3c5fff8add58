//! MspaceAlloc as the program's global allocator, and its creation on first use when many
//! threads make that first use at once (with the POSIX port).

use std::alloc::{GlobalAlloc, Layout};
use std::sync::Barrier;

use portable_dlmalloc::{MspaceAlloc, raw};

mod common;

#[global_allocator]
static GLOBAL: MspaceAlloc = MspaceAlloc::new(1 << 20);

allocator_tests!(GLOBAL);

#[test]
fn rust_allocations_come_from_the_mspace() {
    let msp = GLOBAL.mspace().expect("the test harness has allocated already");
    let v: Vec<u8> = vec![5; 1000];
    assert!(unsafe { raw::mspace_usable_size(v.as_ptr().cast()) } >= 1000);
    let big: Vec<u64> = vec![9; 2 << 20];
    assert!(GLOBAL.mallinfo().hblkhd >= 16 << 20);
    assert!(unsafe { raw::mspace_footprint(msp) } >= 16 << 20);
    assert!(big.iter().all(|&x| x == 9));
    // The global heap is not involved.
    assert_eq!(unsafe { raw::dlmalloc_footprint() }, 0);
}

/// Sixteen threads released at once all make the first allocation of a fresh MspaceAlloc:
/// they must end up in one mspace, and it must hold all their blocks.  Repeated, with the
/// mspace destroyed in between, to give the race many chances.
#[test]
fn concurrent_first_use() {
    const THREADS: usize = 16;
    const BLOCKS: usize = 200;
    static RACE: MspaceAlloc = MspaceAlloc::new(0);
    let layout = Layout::from_size_align(48, 16).unwrap();
    for round in 0..25 {
        assert!(RACE.mspace().is_none());
        let barrier = Barrier::new(THREADS);
        let seen: Vec<(usize, Vec<usize>)> = std::thread::scope(|s| {
            let threads: Vec<_> = (0..THREADS)
                .map(|t| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        let blocks: Vec<usize> = (0..BLOCKS)
                            .map(|i| unsafe {
                                let p = RACE.alloc(layout);
                                assert!(!p.is_null());
                                common::fill(p, 48, t * BLOCKS + i);
                                p as usize
                            })
                            .collect();
                        (RACE.mspace().unwrap() as usize, blocks)
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let msp = seen[0].0;
        assert!(seen.iter().all(|(m, _)| *m == msp), "round {round}: two mspaces in use");
        let info = RACE.mallinfo();
        assert!(info.uordblks >= THREADS * BLOCKS * 48, "round {round}: {info:?}");
        // Every block belongs to the installed mspace and kept its content.
        let mut blocks = 0;
        unsafe extern "C" fn count(
            _: *mut core::ffi::c_void,
            _: *mut core::ffi::c_void,
            used: usize,
            n: *mut core::ffi::c_void,
        ) {
            if used > 0 {
                unsafe { *n.cast::<usize>() += 1 };
            }
        }
        unsafe {
            raw::mspace_inspect_all(msp as raw::Mspace, Some(count), (&raw mut blocks).cast())
        };
        assert!(blocks >= THREADS * BLOCKS, "round {round}: {blocks} blocks in the mspace");
        for (t, (_, ps)) in seen.iter().enumerate() {
            for (i, &p) in ps.iter().enumerate() {
                assert_eq!(
                    unsafe { common::first_damage(p as *const u8, 48, t * BLOCKS + i) },
                    None
                );
                unsafe { RACE.dealloc(p as *mut u8, layout) };
            }
        }
        assert!(unsafe { RACE.destroy() } > 0);
    }
}

#[test]
fn destroy_and_recreate() {
    static POOL: MspaceAlloc = MspaceAlloc::new(64 << 10);
    assert_eq!(unsafe { POOL.destroy() }, 0, "nothing to destroy before first use");
    assert_eq!(POOL.mallinfo(), raw::MallInfo::default());
    let layout = Layout::from_size_align(1000, 4096).unwrap();
    let p = unsafe { POOL.alloc_zeroed(layout) };
    assert!(!p.is_null() && p as usize % 4096 == 0);
    let first = POOL.mspace().unwrap();
    assert!(unsafe { raw::mspace_footprint(first) } >= 64 << 10);
    let released = unsafe { POOL.destroy() };
    assert!(released >= 64 << 10, "released {released}");
    assert!(POOL.mspace().is_none());
    let q = unsafe { POOL.alloc(layout) };
    assert!(!q.is_null() && POOL.mspace().is_some());
    unsafe { POOL.dealloc(q, layout) };
}

/// An mspace that cannot be created makes allocation fail cleanly (null), and nothing is kept.
#[test]
fn creation_failure_is_an_allocation_failure() {
    static TOO_BIG: MspaceAlloc = MspaceAlloc::new(usize::MAX / 2);
    let layout = Layout::from_size_align(16, 8).unwrap();
    assert!(unsafe { TOO_BIG.alloc(layout) }.is_null());
    assert!(unsafe { TOO_BIG.alloc_zeroed(layout) }.is_null());
    assert!(TOO_BIG.mspace().is_none());
}
