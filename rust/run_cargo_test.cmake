# run_cargo_test.cmake -- the "rust" CTest test: the crate's own test suite, with both feature
# sets:
#   cargo test                                 posix-port (the default): ports/posix.c's hooks
#   cargo test --no-default-features --tests   the hooks of examples/linux_hooks, in Rust
#                                              (doc tests left out: they would need hooks too)
#   cmake -DCARGO=<cargo or empty> -DCRATE=<rust/> -DTARGET_DIR=<dir> -DCC=<C compiler>
#         -P run_cargo_test.cmake
# The crate's build script compiles malloc.c with the project's C compiler (CC), through the
# cc crate, which comes offline from Debian's librust-cc-dev (rust/.cargo/config.toml).
include(${CMAKE_CURRENT_LIST_DIR}/../cmake/ci.cmake)
if(NOT CARGO)
  dlmalloc_skip_or_fail("SKIP: cargo not found; install Rust to test the crate"
                        "rust: cargo not found and CI is set (install Rust, e.g. with rustup)")
endif()
file(GLOB _cc_crate /usr/share/cargo/registry/cc-1.*)
if(NOT _cc_crate)
  dlmalloc_skip_or_fail("SKIP: the cc crate is not installed (apt-get install librust-cc-dev)"
                        "rust: the cc crate is not installed and CI is set (apt-get install \
librust-cc-dev)")
endif()
foreach(features "" "--no-default-features;--tests")
  execute_process(
    COMMAND ${CMAKE_COMMAND} -E env "CC=${CC}" "CARGO_TARGET_DIR=${TARGET_DIR}"
            "${CARGO}" test --offline --jobs 2 ${features}
    WORKING_DIRECTORY "${CRATE}"
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " features "${features}")
    message(FATAL_ERROR "rust: cargo test ${features} failed (status ${rc})")
  endif()
endforeach()
