//! The hooks written in Rust are the ones the allocator calls.
//!
//! A program that defines the hooks cannot link with the feature posix-port, which every
//! other test here uses, so this test builds examples/hooks.rs without default features in a
//! target directory of its own and runs it.  The example counts every hook call, records the
//! regions its memory hooks return and checks that Rust's allocations lie in them; this test
//! reads its report.  It is built with DEFAULT_MMAP_GRANULARITY=128K, so the report also
//! shows that the build option reaches malloc.c.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `cargo build` of the crate at `manifest` into a target directory of the test's own.
fn cargo_build(manifest: &Path, target_dir: &str) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--offline", "--manifest-path"])
        .arg(manifest)
        .arg("--target-dir")
        .arg(tmp().join(target_dir));
    cmd
}

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn this_crate() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
}

/// The example, without posix-port.
fn cargo(target_dir: &str) -> Command {
    let mut cmd = cargo_build(this_crate(), target_dir);
    cmd.args(["--no-default-features", "--example", "hooks"]);
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Build the example with a granularity of 128 KiB; returns the path of the program.
fn build_example() -> PathBuf {
    let out =
        cargo("no-posix-port").env("DEFAULT_MMAP_GRANULARITY", "128K").output().expect("run cargo");
    assert!(out.status.success(), "building the example failed:\n{}", text(&out.stderr));
    tmp().join("no-posix-port/debug/examples/hooks")
}

/// The number after "<label>: " in the report.
fn count(report: &str, label: &str) -> usize {
    let line = report
        .lines()
        .find_map(|l| l.strip_prefix(label)?.strip_prefix(": "))
        .unwrap_or_else(|| panic!("no line {label:?} in:\n{report}"));
    line.trim().parse().unwrap_or_else(|_| panic!("{label}: {line:?}"))
}

#[test]
fn rust_hooks_serve_the_allocator() {
    let program = build_example();
    let Output { status, stdout, stderr } = Command::new(&program).output().expect("run hooks");
    let report = text(&stdout);
    assert!(status.success(), "the example failed ({status}):\n{report}\n{}", text(&stderr));
    assert!(!report.contains("FAILED"), "{report}");
    assert!(report.contains("hooks: all checks passed"), "{report}");

    assert!(count(&report, "custom_mmap calls") >= 1, "{report}");
    assert!(count(&report, "custom_direct_mmap calls") >= 1, "{report}");
    assert!(count(&report, "custom_munmap calls") >= 2, "{report}"); // the Vec and an mspace
    // The global heap's lock and the mspaces the threads raced to create.
    assert!(count(&report, "init_lock calls") >= 2, "{report}");
    assert!(count(&report, "final_lock calls") >= 1, "{report}");
    let acquires = count(&report, "acquire_lock calls");
    assert!(acquires > 100, "{report}");
    assert_eq!(acquires, count(&report, "release_lock calls"), "{report}");
    let unit = count(&report, "segment lengths are multiples of");
    assert!(unit >= 128 << 10, "DEFAULT_MMAP_GRANULARITY=128K did not reach malloc.c:\n{report}");
}

/// The hooks can print (without allocating) while the allocator holds its lock.
#[test]
fn hooks_log_through_naprint() {
    let program = build_example();
    let out = Command::new(&program).arg("trace").output().expect("run hooks");
    let report = text(&out.stdout);
    assert!(out.status.success(), "{report}\n{}", text(&out.stderr));
    // Tracing starts in main(); the runtime has allocated before that.
    let traced = report.lines().filter(|l| l.starts_with("custom_mmap(")).count();
    assert!(traced >= 1 && traced <= count(&report, "custom_mmap calls"), "{report}");
    assert!(report.lines().any(|l| l.starts_with("custom_direct_mmap(1")), "{report}");
    assert!(report.lines().any(|l| l.starts_with("custom_munmap(0x")), "{report}");
}

#[test]
fn rust_custom_abort_reports_the_reason() {
    let program = build_example();
    let out = Command::new(&program).arg("double-free").output().expect("run hooks");
    let report = text(&out.stdout);
    assert!(!out.status.success(), "a double free must stop the program:\n{report}");
    assert!(report.contains("custom_abort: free(): double free"), "{report}");
    assert!(!report.contains("went unnoticed"), "{report}");
}

#[test]
fn bad_granularity_stops_the_build() {
    let out = cargo("bad-granularity")
        .env("DEFAULT_MMAP_GRANULARITY", "3000")
        .output()
        .expect("run cargo");
    let message = text(&out.stderr);
    assert!(!out.status.success(), "a granularity of 3000 was accepted:\n{message}");
    assert!(
        message.contains("DEFAULT_MMAP_GRANULARITY=\"3000\" is not a power of two"),
        "{message}"
    );
}

/// A program of its own, `name`, in the test's temporary directory: `main` is its src/main.rs,
/// `profile` more of its Cargo.toml, and it uses this crate with its default features.  Built
/// offline like this crate (the same source of the build dependency cc); cargo's output.
fn build_program(name: &str, profile: &str, main: &str) -> Output {
    let dir = tmp().join(name);
    std::fs::create_dir_all(dir.join("src")).expect("create the crate");
    let manifest = dir.join("Cargo.toml");
    let crate_dir = env!("CARGO_MANIFEST_DIR");
    std::fs::write(
        &manifest,
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\
             [dependencies]\nportable-dlmalloc = {{ path = {crate_dir:?} }}\n[workspace]\n\
             {profile}"
        ),
    )
    .expect("write Cargo.toml");
    std::fs::write(dir.join("src/main.rs"), main).expect("write main.rs");
    cargo_build(&manifest, &format!("{name}/target"))
        .arg("--config")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/.cargo/config.toml"))
        .output()
        .expect("run cargo")
}

/// A program (build_program) that defines the eight hooks (minimal ones) at the top level, or
/// inside `portable_dlmalloc::hooks!` when `in_macro`.  Returns what cargo said when building
/// it, after checking that the build failed.
fn build_program_with_hooks(name: &str, in_macro: bool) -> String {
    // All eight: with fewer, the program would need posix.c's others and link its object
    // whatever the build does to prevent it.
    let mut hooks = String::new();
    for hook in [
        "custom_mmap(_: usize) -> *mut c_void { portable_dlmalloc::raw::MFAIL }",
        "custom_direct_mmap(_: usize) -> *mut c_void { portable_dlmalloc::raw::MFAIL }",
        "custom_munmap(_: *mut c_void, _: usize) -> i32 { -1 }",
        "init_lock(_: *mut *mut c_void) {}",
        "final_lock(_: *mut *mut c_void) {}",
        "acquire_lock(_: *mut *mut c_void) {}",
        "release_lock(_: *mut *mut c_void) {}",
        "custom_abort() -> ! { std::process::abort() }",
    ] {
        if !in_macro {
            hooks.push_str("#[unsafe(no_mangle)]\n");
        }
        hooks.push_str(&format!("pub unsafe extern \"C\" fn {hook}\n"));
    }
    if in_macro {
        hooks = format!("portable_dlmalloc::hooks! {{\n{hooks}}}\n");
    }
    let main = format!(
        "use core::ffi::c_void;\n\
         #[global_allocator]\n\
         static GLOBAL: portable_dlmalloc::DLMalloc = portable_dlmalloc::DLMalloc;\n\
         fn main() {{ println!(\"{{}}\", vec![1u8; 100].len()); }}\n{hooks}"
    );
    let out = build_program(name, "", &main);
    let message = text(&out.stderr);
    assert!(!out.status.success(), "a second set of hooks built beside posix-port:\n{message}");
    message
}

/// A `no_std` binary with the default posix-port links and runs: nothing but the crate links
/// the C library whose functions ports/posix.c calls (std, which would, is not there).  (Its
/// rust_eh_personality is what any no_std binary built in the dev profile needs.)
#[test]
fn no_std_binary_with_posix_port_links_and_runs() {
    let main = "#![no_std]\n#![no_main]\nextern crate alloc;\n\
                use alloc::{boxed::Box, vec::Vec};\n\
                #[global_allocator]\n\
                static GLOBAL: portable_dlmalloc::DLMalloc = portable_dlmalloc::DLMalloc;\n\
                #[panic_handler]\n\
                fn panic(_: &core::panic::PanicInfo) -> ! { unsafe { abort() } }\n\
                unsafe extern \"C\" { fn abort() -> !; }\n\
                #[unsafe(no_mangle)]\n\
                extern \"C\" fn rust_eh_personality() {}\n\
                #[unsafe(no_mangle)]\n\
                pub extern \"C\" fn main(_: i32, _: *const *const u8) -> i32 {\n\
                    let v: Vec<Box<u64>> = (0..10_000u64).map(Box::new).collect();\n\
                    if v.iter().map(|b| **b).sum::<u64>() == 49_995_000 { 42 } else { 1 }\n\
                }\n";
    let out = build_program("no-std-binary", "[profile.dev]\npanic = \"abort\"\n", main);
    assert!(out.status.success(), "the no_std binary did not build:\n{}", text(&out.stderr));
    let program = tmp().join("no-std-binary/target/debug/no-std-binary");
    let status = Command::new(&program).status().expect("run the no_std binary");
    assert_eq!(status.code(), Some(42), "the no_std binary's allocations went wrong");
}

/// With the feature posix-port (a default one), ports/posix.c defines the hooks: the hooks!
/// macro refuses to define a second set, at compile time.
#[test]
fn hooks_macro_with_posix_port_is_a_compile_error() {
    let message = build_program_with_hooks("hooks-macro", true);
    assert!(
        message.contains(
            "portable_dlmalloc::hooks!: the feature `posix-port` (on by default) compiles \
             ports/posix.c, which already defines the eight hooks"
        ),
        "{message}"
    );
}

/// Hooks written by hand (no macro) beside posix-port fail to link: ports/posix.c is linked
/// whole, so its hooks meet the program's.
#[test]
fn hand_written_hooks_with_posix_port_fail_to_link() {
    let message = build_program_with_hooks("hand-written-hooks", false);
    assert!(
        message.contains("multiple definition of `custom_mmap'")
            || message.contains("duplicate symbol: custom_mmap"),
        "{message}"
    );
}

/// A target the C compiler cannot build for stops the build with a message, instead of an
/// archive of the wrong object format: here the MSVC target with the host's (GNU) compiler.
/// Only the build script runs, so the target's Rust standard library is not needed.
#[test]
fn msvc_target_without_an_msvc_compiler_fails_loudly() {
    let out = cargo_build(this_crate(), "msvc")
        .args(["--no-default-features", "--lib", "--target", "x86_64-pc-windows-msvc"])
        .env_remove("CC")
        .output()
        .expect("run cargo");
    let message = text(&out.stderr);
    assert!(!out.status.success(), "built for MSVC with a GNU compiler:\n{message}");
    assert!(
        message.contains(
            "cannot build the C library for x86_64-pc-windows-msvc: cc is not an \
             MSVC-compatible compiler"
        ),
        "{message}"
    );
}
