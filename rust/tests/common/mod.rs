//! The workload both allocators must carry, shared by tests/global_alloc.rs (DLMalloc) and
//! tests/mspace_alloc.rs (MspaceAlloc).  `allocator_tests!(ALLOCATOR)` turns it into #[test]
//! functions for the binary's #[global_allocator].
#![allow(dead_code)] // each binary uses most, not all, of it

// Without the feature posix-port the program defines the hooks: the tests then run on the
// example's Linux hooks, written in Rust (`cargo test --no-default-features --tests`).
#[cfg(not(feature = "posix-port"))]
#[path = "../../examples/linux_hooks/mod.rs"]
#[macro_use]
mod linux_hooks;

use std::alloc::{GlobalAlloc, Layout};
use std::collections::{BTreeMap, HashMap};

/// Sizes that cross the mmap threshold (256 KiB on 64-bit) both ways.
pub const SIZES_ACROSS_THRESHOLD: [usize; 9] =
    [1, 100, 4000, 200 << 10, 300 << 10, 3 << 20, 250 << 10, 64, 1 << 20];

/// Alignments from below MALLOC_ALIGNMENT to far beyond a page.
pub const ALIGNMENTS: [usize; 8] = [1, 8, 16, 32, 256, 4096, 65536, 1 << 20];

/// A small deterministic generator (xorshift64*), so failures repeat.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The byte at offset `i` of a block tagged `tag`.
pub fn pattern(tag: usize, i: usize) -> u8 {
    (tag.wrapping_mul(31) ^ i.wrapping_mul(7) ^ (i >> 8)) as u8
}

pub unsafe fn fill(p: *mut u8, len: usize, tag: usize) {
    for i in 0..len {
        unsafe { *p.add(i) = pattern(tag, i) };
    }
}

/// Index of the first byte of `p[..len]` that does not hold the pattern of `tag`.
pub unsafe fn first_damage(p: *const u8, len: usize, tag: usize) -> Option<usize> {
    (0..len).find(|&i| unsafe { *p.add(i) } != pattern(tag, i))
}

/// Vec, String, Box, HashMap and BTreeMap doing real work, with every result checked (through
/// the global allocator, which is the one under test).
pub fn collections(_global: &impl GlobalAlloc) {
    let mut rng = Rng::new(1);
    let mut map: HashMap<String, Vec<u32>> = HashMap::new();
    for round in 0..20_000u32 {
        let key = format!("key-{}", rng.below(2000));
        let v = map.entry(key).or_default();
        v.push(round);
        if v.len() > 50 {
            v.drain(..25);
        }
    }
    let total: usize = map.values().map(Vec::len).sum();
    assert!(map.len() <= 2000 && total > 0);
    for (k, v) in &map {
        assert!(k.starts_with("key-"));
        assert!(v.windows(2).all(|w| w[0] < w[1]), "entries of {k} out of order");
    }

    let mut text = String::new();
    for i in 0..50_000 {
        text.push_str(&i.to_string());
        text.push(' ');
    }
    let parsed: Vec<u32> = text.split_whitespace().map(|w| w.parse().unwrap()).collect();
    assert_eq!(parsed, (0..50_000).collect::<Vec<u32>>());

    let boxes: Vec<Box<[u64; 33]>> = (0..5000).map(|i| Box::new([i as u64; 33])).collect();
    for (i, b) in boxes.iter().enumerate() {
        assert!(b.iter().all(|&x| x == i as u64));
    }

    let mut tree = BTreeMap::new();
    for i in 0..20_000u64 {
        tree.insert(i.wrapping_mul(0x9E37_79B9), vec![i as u8; (i % 300) as usize]);
    }
    tree.retain(|k, _| k % 3 != 0);
    for (k, v) in &tree {
        let i = v.first().copied();
        assert!(k % 3 != 0);
        assert!(v.iter().all(|&b| Some(b) == i));
    }

    let mut nested: Vec<Vec<String>> = Vec::new();
    for i in 0..300 {
        nested.push((0..i).map(|j| "x".repeat(j % 17)).collect());
    }
    nested.shrink_to_fit();
    assert_eq!(nested.iter().map(Vec::len).sum::<usize>(), 300 * 299 / 2);
}

#[repr(C, align(4096))]
pub struct Page([u8; 4096]);

#[repr(C, align(65536))]
pub struct Align64K(u64);

#[repr(C, align(1048576))]
pub struct Align1M(u8);

/// Boxes and Vecs of over-aligned types keep their alignment and content (global allocator).
pub fn over_aligned_types(_global: &impl GlobalAlloc) {
    let pages: Vec<Box<Page>> = (0..64).map(|i| Box::new(Page([i as u8; 4096]))).collect();
    for (i, p) in pages.iter().enumerate() {
        assert_eq!(&**p as *const Page as usize % 4096, 0);
        assert!(p.0.iter().all(|&b| b == i as u8));
    }
    let mut v: Vec<Align64K> = Vec::new();
    for i in 0..40 {
        v.push(Align64K(i));
        assert_eq!(v.as_ptr() as usize % 65536, 0, "after {} pushes", i + 1);
    }
    assert!(v.iter().enumerate().all(|(i, x)| x.0 == i as u64));
    v.truncate(3);
    v.shrink_to_fit();
    assert_eq!(v.as_ptr() as usize % 65536, 0);
    assert!(v.iter().enumerate().all(|(i, x)| x.0 == i as u64));
    // Built in place: a 1 MiB-aligned value would not fit on a test thread's stack.
    let huge: Box<Align1M> = unsafe {
        let mut b = Box::<Align1M>::new_uninit();
        (&raw mut (*b.as_mut_ptr()).0).write(9);
        b.assume_init()
    };
    assert_eq!(&*huge as *const Align1M as usize % (1 << 20), 0);
    assert_eq!(huge.0, 9);
}

/// alloc / realloc / alloc_zeroed called directly, for every alignment, growing and shrinking
/// across the mmap threshold: the alignment survives every move and min(old, new) bytes of
/// content survive every resize.
pub fn realloc_across_threshold(a: &impl GlobalAlloc) {
    for (n, &align) in ALIGNMENTS.iter().enumerate() {
        let mut size = SIZES_ACROSS_THRESHOLD[0];
        let mut layout = Layout::from_size_align(size, align).unwrap();
        let mut p = unsafe { a.alloc(layout) };
        assert!(!p.is_null());
        unsafe { fill(p, size, n) };
        for &new_size in &SIZES_ACROSS_THRESHOLD[1..] {
            let q = unsafe { a.realloc(p, layout, new_size) };
            assert!(!q.is_null(), "realloc {size} -> {new_size} (align {align})");
            assert_eq!(q as usize % align, 0, "realloc {size} -> {new_size} lost align {align}");
            let kept = size.min(new_size);
            assert_eq!(unsafe { first_damage(q, kept, n) }, None, "{size} -> {new_size}");
            unsafe { fill(q, new_size, n) };
            p = q;
            size = new_size;
            layout = Layout::from_size_align(size, align).unwrap();
        }
        unsafe { a.dealloc(p, layout) };
    }
}

/// alloc_zeroed gives zeros for every alignment, also when it reuses memory just dirtied.
pub fn zeroed_memory(a: &impl GlobalAlloc) {
    for &align in &ALIGNMENTS {
        for &size in &[24usize, 5000, 300 << 10] {
            let layout = Layout::from_size_align(size, align).unwrap();
            unsafe {
                let dirty = a.alloc(layout);
                assert!(!dirty.is_null());
                std::ptr::write_bytes(dirty, 0xA5, size);
                a.dealloc(dirty, layout);
                let p = a.alloc_zeroed(layout);
                assert!(!p.is_null());
                assert_eq!(p as usize % align, 0);
                assert!((0..size).all(|i| *p.add(i) == 0), "size {size} align {align}");
                a.dealloc(p, layout);
            }
        }
    }
}

/// Zero-size types never reach the allocator; a zero-size layout passed directly (outside
/// GlobalAlloc's contract) still gets a distinct, freeable block; realloc to 0 bytes gives a
/// block, not a null that would look like failure.
pub fn zero_size(a: &impl GlobalAlloc) {
    let mut units: Vec<()> = Vec::with_capacity(1 << 40);
    units.push(());
    assert_eq!(units.capacity(), usize::MAX); // nothing was allocated for them
    let b = Box::new(());
    let _ = &*b;
    let mut v: Vec<u8> = Vec::with_capacity(0);
    assert_eq!(v.capacity(), 0);
    v.extend_from_slice(b"abc");
    v.clear();
    v.shrink_to_fit();
    assert_eq!(v.capacity(), 0);

    for &align in &ALIGNMENTS {
        let zero = Layout::from_size_align(0, align).unwrap();
        unsafe {
            let p = a.alloc(zero);
            let q = a.alloc(zero);
            assert!(!p.is_null() && !q.is_null() && p != q, "align {align}");
            assert_eq!(p as usize % align, 0);
            let r = a.realloc(p, zero, 100);
            assert!(!r.is_null());
            fill(r, 100, 3);
            let s = a.realloc(r, Layout::from_size_align(100, align).unwrap(), 0);
            assert!(!s.is_null(), "realloc to 0 bytes must not look like a failure");
            assert_eq!(s as usize % align, 0);
            a.dealloc(s, zero);
            a.dealloc(q, zero);
        }
    }
}

/// Threads allocating, checking and freeing at once, with blocks handed between threads.
pub fn many_threads(a: &(impl GlobalAlloc + Sync)) {
    use std::sync::mpsc;
    const THREADS: usize = 8;
    let (tx, rx) = mpsc::channel::<(usize, usize, usize)>();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let tx = tx.clone();
            s.spawn(move || {
                let mut rng = Rng::new(100 + t as u64);
                let mut live: Vec<(*mut u8, Layout, usize)> = Vec::new();
                for step in 0..4000 {
                    let tag = t * 1_000_000 + step;
                    if live.len() < 64 && rng.below(3) != 0 {
                        let size = match rng.below(100) {
                            0 => 300 << 10,
                            1..=9 => rng.below(64 << 10) + 1,
                            _ => rng.below(512) + 1,
                        };
                        let align = 1 << rng.below(13);
                        let layout = Layout::from_size_align(size, align).unwrap();
                        let p = unsafe { a.alloc(layout) };
                        assert!(!p.is_null() && p as usize % align == 0);
                        unsafe { fill(p, size.min(256), tag) };
                        live.push((p, layout, tag));
                    } else if let Some(i) = (!live.is_empty()).then(|| rng.below(live.len())) {
                        let (p, layout, tag) = live.swap_remove(i);
                        let n = layout.size().min(256);
                        assert_eq!(unsafe { first_damage(p, n, tag) }, None);
                        if rng.below(4) == 0 {
                            // Freed by another thread.
                            tx.send((p as usize, layout.size(), layout.align())).unwrap();
                        } else {
                            unsafe { a.dealloc(p, layout) };
                        }
                    }
                }
                for (p, layout, tag) in live {
                    assert_eq!(unsafe { first_damage(p, layout.size().min(256), tag) }, None);
                    unsafe { a.dealloc(p, layout) };
                }
            });
        }
        drop(tx);
        for (p, size, align) in rx {
            unsafe { a.dealloc(p as *mut u8, Layout::from_size_align(size, align).unwrap()) };
        }
    });
    // And the standard library's own structures, from many threads.
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            std::thread::spawn(move || (0..2000).map(|i| format!("{t}:{i}")).collect::<Vec<_>>())
        })
        .collect();
    for (t, h) in handles.into_iter().enumerate() {
        let v = h.join().unwrap();
        assert_eq!(v[1999], format!("{t}:1999"));
    }
}

/// #[test] functions running the workload above on `$alloc`, the binary's global allocator.
#[macro_export]
macro_rules! allocator_tests {
    ($alloc:expr) => {
        allocator_tests!(@each $alloc; collections, over_aligned_types, realloc_across_threshold,
                         zeroed_memory, zero_size, many_threads);
    };
    (@each $alloc:expr; $($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                common::$name(&$alloc);
            }
        )*
    };
}
