//! The hooks written in Rust are the ones the allocator calls.
//!
//! A program that defines the hooks cannot link with the feature posix-port, which every
//! other test here uses, so this test builds examples/hooks.rs without default features in a
//! target directory of its own and runs it.  The example counts every hook call, records the
//! regions its memory hooks return and checks that Rust's allocations lie in them; this test
//! reads its report.  It is built with DEFAULT_MMAP_GRANULARITY=128K, so the report also
//! shows that the build option reaches malloc.c.

use std::path::PathBuf;
use std::process::{Command, Output};

fn cargo(target_dir: &str) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--offline", "--no-default-features", "--example", "hooks"])
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .arg("--target-dir")
        .arg(PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(target_dir));
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
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("no-posix-port/debug/examples/hooks")
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
