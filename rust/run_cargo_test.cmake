# run_cargo_test.cmake -- the "rust" CTest test: the crate's own test suite.
#   cmake -DCARGO=<cargo or empty> -DCRATE=<rust/> -DTARGET_DIR=<dir> -DCC=<C compiler>
#         -P run_cargo_test.cmake
# The crate's build script compiles malloc.c with the project's C compiler (CC).
include(${CMAKE_CURRENT_LIST_DIR}/../cmake/ci.cmake)
if(NOT CARGO)
  dlmalloc_skip_or_fail("SKIP: cargo not found; install Rust to test the crate"
                        "rust: cargo not found and CI is set (install Rust, e.g. with rustup)")
endif()
execute_process(
  COMMAND ${CMAKE_COMMAND} -E env "CC=${CC}" "CARGO_TARGET_DIR=${TARGET_DIR}"
          "${CARGO}" test --offline --jobs 2
  WORKING_DIRECTORY "${CRATE}"
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "rust: cargo test failed (status ${rc})")
endif()
