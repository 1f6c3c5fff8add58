// Build script: compiles malloc.c (and, with the feature posix-port, ports/posix.c) into a
// static library, using only the CC/AR/CFLAGS environment variables (no crate from a
// registry).  The C sources are taken from csrc/, whose entries link to the repository's files
// and become plain copies in the packaged crate.
//
// Environment:
//   CC_<target>, TARGET_CC, CC          C compiler (default "cc"; may carry arguments)
//   AR_<target>, TARGET_AR, AR          archiver (default "ar")
//   CFLAGS_<target>, TARGET_CFLAGS, CFLAGS   extra flags, appended last
//   DEFAULT_MMAP_GRANULARITY            malloc.c's DEFAULT_GRANULARITY (see buildscript/options.rs)

#[allow(dead_code)] // the Rust items are for src/raw.rs; only the lists are used here
#[path = "buildscript/abi.rs"]
mod abi;
#[path = "buildscript/options.rs"]
mod options;

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    if let Some(value) = env::var_os(options::GRANULARITY_VAR) {
        let value = value.to_string_lossy().into_owned();
        let bytes = options::parse_granularity(&value).unwrap_or_else(|why| fail(&why));
        if pointer_bytes < 8 && bytes > u64::from(u32::MAX) {
            fail(&format!("{}={value} does not fit a {target} size_t", options::GRANULARITY_VAR));
        }
        defines.push(format!("DEFAULT_GRANULARITY=((size_t){bytes}U)"));
    }

    let cc = Tool::from_env("CC", &target, "cc");
    let ar = Tool::from_env("AR", &target, "ar");
    let cflags = tool_var("CFLAGS", &target).unwrap_or_default();
    let opt = env::var("OPT_LEVEL").unwrap_or_else(|_| "0".into());
    let mut flags: Vec<String> = vec![format!("-O{opt}"), "-Wall".into(), "-Wextra".into()];
    if env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("windows") {
        flags.push("-fPIC".into());
    }
    if env::var("DEBUG").as_deref() == Ok("true") {
        flags.push("-g".into());
    }
    flags.push(format!("-I{}", csrc.display()));
    flags.extend(defines.iter().map(|d| format!("-D{d}")));
    flags.extend(cflags.split_whitespace().map(String::from));

    // The ABI check first: it is quick, and its failure explains itself.
    let check = out.join("abi_check.c");
    std::fs::write(&check, abi_check_source(pointer_bytes)).expect("write abi_check.c");
    compile(&cc, &flags, &check, &out.join("abi_check.o"));

    let mut sources = vec![csrc.join("malloc.c")];
    if posix_port {
        sources.push(csrc.join("ports/posix.c"));
    }
    let mut objects = Vec::new();
    for src in &sources {
        let obj = out.join(src.file_stem().expect("a file name")).with_extension("o");
        compile(&cc, &flags, src, &obj);
        objects.push(obj);
    }

    let lib = out.join("libportable_dlmalloc_c.a");
    let _ = std::fs::remove_file(&lib); // `ar r` would keep members of an older build
    let mut cmd = ar.command();
    cmd.arg("crs").arg(&lib).args(&objects);
    run(cmd, "archive the C objects");

    println!("cargo:rustc-link-search=native={}", out.display());
    println!("cargo:rustc-link-lib=static=portable_dlmalloc_c");
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

/// A program named by an environment variable, with the arguments that may follow its name.
struct Tool {
    program: String,
    args: Vec<String>,
}

impl Tool {
    fn from_env(var: &str, target: &str, default: &str) -> Tool {
        let text = tool_var(var, target).unwrap_or_else(|| default.to_string());
        let mut words = text.split_whitespace().map(String::from);
        let program = words.next().unwrap_or_else(|| default.to_string());
        Tool { program, args: words.collect() }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        cmd
    }
}

/// VAR_<target> (also with dashes as underscores), TARGET_VAR, then VAR: the order other
/// Rust build tools use, so one environment serves them all.
fn tool_var(var: &str, target: &str) -> Option<String> {
    let names = [
        format!("{var}_{target}"),
        format!("{var}_{}", target.replace('-', "_")),
        format!("TARGET_{var}"),
        var.to_string(),
    ];
    names.iter().find_map(|name| {
        println!("cargo:rerun-if-env-changed={name}");
        env::var(name).ok()
    })
}

fn compile(cc: &Tool, flags: &[String], src: &Path, obj: &Path) {
    let mut cmd = cc.command();
    cmd.args(flags).arg("-c").arg(src).arg("-o").arg(obj);
    run(cmd, &format!("compile {}", src.display()));
}

fn run(mut cmd: Command, what: &str) {
    let output = cmd
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot {what}: running {cmd:?} failed: {e}")));
    // Compiler warnings are shown by cargo; on success it hides the script's own output.
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        println!("cargo:warning={line}");
    }
    if !output.status.success() {
        fail(&format!("cannot {what}: {cmd:?} exited with {}", output.status));
    }
}

/// Stop the build with a message cargo shows as an error.
fn fail(message: &str) -> ! {
    println!("cargo::error={message}");
    std::process::exit(1);
}
