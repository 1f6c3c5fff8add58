//! DLMalloc as the program's global allocator (with the POSIX port).

use portable_dlmalloc::{DLMalloc, raw};

mod common;

#[global_allocator]
static GLOBAL: DLMalloc = DLMalloc;

allocator_tests!(GLOBAL);

/// Rust's allocations are portable-dlmalloc blocks: the C side knows their sizes and counts
/// their bytes.
#[test]
fn rust_allocations_come_from_dlmalloc() {
    let v: Vec<u8> = vec![5; 1000];
    let usable = unsafe { raw::dlmalloc_usable_size(v.as_ptr().cast()) };
    assert!((1000..1000 + 64).contains(&usable), "usable size {usable}");

    // Other tests run at the same time, but they can only add to the mapped bytes while this
    // 16 MiB block (mapped on its own, above the mmap threshold) is alive.
    let big: Vec<u64> = vec![9; 2 << 20];
    let info = unsafe { raw::dlmallinfo() };
    assert!(info.hblkhd >= 16 << 20, "hblkhd {} with a 16 MiB Vec alive", info.hblkhd);
    assert!(unsafe { raw::dlmalloc_footprint() } >= 16 << 20);
    assert!(big.iter().all(|&x| x == 9));
}
