// Build script: compiles malloc.c (and, with the feature posix-port, ports/posix.c) into a
// static library with the cc crate, for the target cargo builds for.  The C sources are taken
// from csrc/, whose entries link to the repository's files and become plain copies in the
// packaged crate.
//
// Environment (besides the cc crate's CC, AR, CFLAGS and their per-target forms):
//   DEFAULT_MMAP_GRANULARITY            malloc.c's DEFAULT_GRANULARITY (see buildscript/options.rs)

#[allow(dead_code)] // the Rust items are for src/raw.rs; only the lists are used here
#[path = "buildscript/abi.rs"]
mod abi;
#[path = "buildscript/options.rs"]
mod options;

use std::env;
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = env::var("TARGET").expect("cargo sets TARGET");
    let csrc = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it")).join("csrc");
    let posix_port = env::var_os("CARGO_FEATURE_POSIX_PORT").is_some();

    println!("cargo:rerun-if-changed=buildscript/abi.rs");
    println!("cargo:rerun-if-changed=buildscript/options.rs");
    for name in ["malloc.c", "malloc.h", "ports/posix.c", "ports/posix_lock.h"] {
        println!("cargo:rerun-if-changed=csrc/{name}");
    }
    println!("cargo:rerun-if-env-changed={}", options::GRANULARITY_VAR);

    if posix_port && env::var("CARGO_CFG_TARGET_FAMILY").map_or(true, |f| !f.contains("unix")) {
        fail(&format!(
            "the feature posix-port needs a POSIX target, and {target} is not one: build with \
             `default-features = false` and define the eight hooks in the program (see README.md)"
        ));
    }

    let pointer_bytes: u64 = env::var("CARGO_CFG_TARGET_POINTER_WIDTH")
        .ok()
        .and_then(|w| w.parse::<u64>().ok())
        .map_or(8, |bits| bits / 8);

    let mut defines = vec![
        "PORTABLE=1".to_string(),
        "USE_DL_PREFIX".to_string(),
        "USE_LOCKS=2".to_string(),
        "MSPACES=1".to_string(),
        "NO_MALLOC_STATS=1".to_string(),
    ];
    if posix_port {
        // The port's lock compiled into the core, as CMake builds the POSIX port (malloc.c
        // section 4): no hook call per lock operation.  ports/posix.c's hooks wrap the same code.
        defines.push(r#"PORT_LOCK_HEADER="ports/posix_lock.h""#.to_string());
    }
    let granularity =
        env::var_os(options::GRANULARITY_VAR).map(|v| v.to_string_lossy().into_owned());
    let setting = options::granularity_setting(granularity.as_deref());
    if let Some(bytes) = setting.unwrap_or_else(|why| fail(&why)) {
        if pointer_bytes < 8 && bytes > u64::from(u32::MAX) {
            fail(&format!(
                "{}={} does not fit a {target} size_t",
                options::GRANULARITY_VAR,
                granularity.unwrap_or_default()
            ));
        }
        defines.push(format!("DEFAULT_GRANULARITY=((size_t){bytes}U)"));
    }

    // The ABI check first: it is quick, and its failure explains itself.
    let check = out.join("abi_check.c");
    std::fs::write(&check, abi_check_source(pointer_bytes)).expect("write abi_check.c");

    // The cc crate picks the target's compiler and archiver (CC_<target>, TARGET_CC, CC and
    // the like, or the target's usual tool names) and its flags, so a cross or MSVC build gets
    // the right object format, or a clear error when no compiler for the target is found.
    let mut build = cc::Build::new();
    build.warnings(true).extra_warnings(true).include(&csrc).cargo_metadata(false);
    for define in &defines {
        match define.split_once('=') {
            Some((name, value)) => build.define(name, value),
            None => build.define(define, None),
        };
    }
    // An MSVC target links COFF objects: a compiler of another family would make objects the
    // linker cannot use (cc falls back to the host's `cc` when it finds no cl.exe).
    let compiler = build.try_get_compiler().unwrap_or_else(|e| {
        fail(&format!("cannot build the C library for {target}: no C compiler: {e}"))
    });
    if env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("msvc") && !compiler.is_like_msvc() {
        fail(&format!(
            "cannot build the C library for {target}: {} is not an MSVC-compatible compiler \
             (cl.exe or clang-cl); set CC_{} to one",
            compiler.path().display(),
            target.replace('-', "_")
        ));
    }
    build.file(&check).file(csrc.join("malloc.c"));
    if posix_port {
        build.file(csrc.join("ports/posix.c"));
    }
    if let Err(e) = build.try_compile("portable_dlmalloc_c") {
        fail(&format!("cannot build the C library for {target}: {e}"));
    }

    println!("cargo:rustc-link-search=native={}", out.display());
    if posix_port {
        // Whole archive: ports/posix.c's hooks are always linked, so a program that defines
        // hooks of its own as well fails to link ("multiple definition of `custom_mmap`")
        // instead of silently mixing its hooks with the POSIX lock compiled into malloc.c.
        // (The hooks! macro already stops such a program at compile time.)
        println!("cargo:rustc-link-lib=static:+whole-archive=portable_dlmalloc_c");
        // The port's hooks call the C library (mmap, munmap, syscall, write, abort): a program
        // with std links it anyway, a no_std binary only if told to.
        println!("cargo:rustc-link-lib=c");
    } else {
        println!("cargo:rustc-link-lib=static=portable_dlmalloc_c");
    }
}

/// A C translation unit that compiles only if malloc.h agrees with buildscript/abi.rs and with
/// the Rust side's size_t and MALLOC_ALIGNMENT (a negative array size stops the compiler).
fn abi_check_source(pointer_bytes: u64) -> String {
    let mut c = String::from(
        "/* Generated by portable-dlmalloc's build.rs: malloc.h must match the Rust bindings. */\n\
         #include <stddef.h>\n#include \"malloc.h\"\n\
         #define RUST_AGREES(name, cond) typedef char name[(cond) ? 1 : -1]\n",
    );
    let mut check = |name: &str, cond: String| {
        writeln!(c, "RUST_AGREES({name}, {cond});").expect("write to a String");
    };
    check("size_t_is_usize", format!("sizeof(size_t) == {pointer_bytes}"));
    check("malloc_alignment", format!("MALLOC_ALIGNMENT == {}", 2 * pointer_bytes));
    for (name, value) in abi::MALLOPT_PARAMS {
        check(&format!("mallopt_{name}"), format!("{name} == ({value})"));
    }
    let fields = abi::MALLINFO_FIELDS;
    check("mallinfo_size", format!("sizeof(struct mallinfo) == {} * sizeof(size_t)", fields.len()));
    for (i, field) in fields.iter().enumerate() {
        check(
            &format!("mallinfo_{field}"),
            format!(
                "offsetof(struct mallinfo, {field}) == {i} * sizeof(size_t) && \
                 sizeof(((struct mallinfo *)0)->{field}) == sizeof(size_t)"
            ),
        );
    }
    c
}

/// Stop the build with a message cargo shows as an error.
fn fail(message: &str) -> ! {
    println!("cargo::error={message}");
    std::process::exit(1);
}
