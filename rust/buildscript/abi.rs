// The parts of malloc.h's interface that the Rust side restates: the mallopt parameter
// numbers and the layout of struct mallinfo.  This file is the one place they are written:
// src/raw.rs `include!`s it, and build.rs includes it too and compiles C assertions that
// malloc.h agrees with it, so a change on either side stops the build.

/// `mallopt` parameter: when the free memory at the top of the heap exceeds this many bytes,
/// `free` gives the excess back to the system.
pub const M_TRIM_THRESHOLD: core::ffi::c_int = -1;
/// `mallopt` parameter: the unit in which segments are obtained (a power of two, at least the
/// page size).
pub const M_GRANULARITY: core::ffi::c_int = -2;
/// `mallopt` parameter: requests of at least this many bytes get a region of their own from
/// `custom_direct_mmap`.
pub const M_MMAP_THRESHOLD: core::ffi::c_int = -3;
/// `mallopt` parameter: the most heaps (arenas) the global functions spread threads over;
/// only builds with the C thread cache have more than one.
pub const M_ARENA_MAX: core::ffi::c_int = -8;

/// The mallopt parameters as (C name, value), for build.rs.
#[allow(dead_code)]
pub const MALLOPT_PARAMS: [(&str, core::ffi::c_int); 4] = [
    ("M_TRIM_THRESHOLD", M_TRIM_THRESHOLD),
    ("M_GRANULARITY", M_GRANULARITY),
    ("M_MMAP_THRESHOLD", M_MMAP_THRESHOLD),
    ("M_ARENA_MAX", M_ARENA_MAX),
];

macro_rules! mallinfo_record {
    ($($(#[doc = $doc:literal])* $field:ident),* $(,)?) => {
        /// Statistics of one heap, as `struct mallinfo` in malloc.h: every field is a
        /// `size_t` (`MALLINFO_FIELD_TYPE`), in this order.
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct MallInfo {
            $($(#[doc = $doc])* pub $field: usize,)*
        }

        /// The field names of `struct mallinfo` in order, for build.rs.
        #[allow(dead_code)]
        pub const MALLINFO_FIELDS: &[&str] = &[$(stringify!($field)),*];
    };
}

mallinfo_record! {
    /// Bytes in segments (the footprint without directly mapped chunks).
    arena,
    /// Number of free chunks, the top chunk included.
    ordblks,
    /// Always 0.
    smblks,
    /// Always 0.
    hblks,
    /// Bytes in directly mapped chunks.
    hblkhd,
    /// The largest footprint reached so far.
    usmblks,
    /// Always 0.
    fsmblks,
    /// Bytes in use, bookkeeping included (footprint minus `fordblks`).
    uordblks,
    /// Bytes in free chunks.
    fordblks,
    /// Bytes at the top of the heap that a trim could give back.
    keepcost,
}
