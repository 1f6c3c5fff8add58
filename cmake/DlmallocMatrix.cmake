# DlmallocMatrix.cmake -- the portability matrix, included by the top-level
# CMakeLists.txt.
#
# The matrix builds and runs the test suite on ten platforms: Linux x86_64, i686, aarch64,
# armhf, riscv64, s390x and ppc64 (the foreign ones under qemu-user), Windows x86_64 (mingw-w64,
# run under Wine), UEFI x86_64 (booted by OVMF under qemu-system-x86_64) and a bare-metal
# Cortex-M3 (qemu-system-arm, MPS2 AN385, semihosting).  Each platform is a build tree
# build/matrix/<target> made from a preset "matrix-<target>" (cmake/presets/matrix.json, written
# by cmake/presets.cmake from tests/matrix/targets.cmake) with a toolchain file from
# cmake/toolchains/, whose CMAKE_CROSSCOMPILING_EMULATOR lets CTest run the
# same add_test() commands there.
#
#   cmake -P cmake/matrix.cmake                 # every target, then a table of the results
#   cmake --workflow --preset matrix-linux-s390x  # one target by hand
#
# With DLMALLOC_TEST_MATRIX=ON (the configure preset "default" sets it; off otherwise, because
# the matrix takes about twenty minutes on two cores) a host build registers every target as one
# CTest test, matrix.<target> (label "matrix"), so `cmake --workflow --preset test` runs the matrix
# too; `ctest -LE matrix` leaves it out.  (The top-level CMakeLists.txt enables testing when
# this option or DLMALLOC_MATRIX_TARGET_TESTS is on.)  In the matrix's own build trees:
#   DLMALLOC_MATRIX_VARIANTS      which configurations of tests/CMakeLists.txt the target
#                                 matrix_build builds (empty: all)
#   DLMALLOC_MATRIX_TARGET_TESTS  build the suite's portable tests here, for a platform that
#                                 tests/CMakeLists.txt cannot serve (its instrumented port is
#                                 POSIX-only): Windows, UEFI, bare-metal Cortex-M
option(DLMALLOC_TEST_MATRIX
       "Register the portability matrix (one test per platform, label matrix) in this host build"
       OFF)
set(DLMALLOC_MATRIX_VARIANTS "" CACHE STRING
    "Configurations of tests/CMakeLists.txt that the target matrix_build builds (empty: all)")
option(DLMALLOC_MATRIX_TARGET_TESTS
       "Build the portable tests for Windows, UEFI or bare-metal Cortex-M (tests/matrix)" OFF)

# Always: the target matrix_build is defined there.
add_subdirectory(${PROJECT_SOURCE_DIR}/tests/matrix ${PROJECT_BINARY_DIR}/tests/matrix)
