# Linux on 64-bit POWER (big-endian, ELFv1, LP64).
# Compiler: powerpc64-linux-gnu-gcc (Debian: gcc-powerpc64-linux-gnu).
# Programs run under qemu-ppc64-static (Debian: qemu-user-static); see linux-qemu-user.cmake.
#
#   cmake -S . -B build/ppc64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/linux-ppc64.cmake
#   (or: cmake --workflow --preset matrix-linux-ppc64)
set(DLMALLOC_CROSS_PROCESSOR ppc64)
set(DLMALLOC_CROSS_TRIPLET powerpc64-linux-gnu)
set(DLMALLOC_CROSS_QEMU qemu-ppc64-static)
include(${CMAKE_CURRENT_LIST_DIR}/linux-qemu-user.cmake)
