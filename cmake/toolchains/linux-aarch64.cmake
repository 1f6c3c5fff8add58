# Linux on 64-bit Arm (little-endian, LP64).
# Compiler: aarch64-linux-gnu-gcc (Debian: gcc-aarch64-linux-gnu).
# Programs run under qemu-aarch64-static (Debian: qemu-user-static); see linux-qemu-user.cmake.
#
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/linux-aarch64.cmake
#   (or: cmake --workflow --preset matrix-linux-aarch64)
set(DLMALLOC_CROSS_PROCESSOR aarch64)
set(DLMALLOC_CROSS_TRIPLET aarch64-linux-gnu)
set(DLMALLOC_CROSS_QEMU qemu-aarch64-static)
include(${CMAKE_CURRENT_LIST_DIR}/linux-qemu-user.cmake)
