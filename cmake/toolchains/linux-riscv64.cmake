# Linux on 64-bit RISC-V (LP64).
# Compiler: riscv64-linux-gnu-gcc (Debian: gcc-riscv64-linux-gnu).
# Programs run under qemu-riscv64-static (Debian: qemu-user-static); see linux-qemu-user.cmake.
#
#   cmake -S . -B build/riscv64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/linux-riscv64.cmake
#   (or: cmake --workflow --preset matrix-linux-riscv64)
set(DLMALLOC_CROSS_PROCESSOR riscv64)
set(DLMALLOC_CROSS_TRIPLET riscv64-linux-gnu)
set(DLMALLOC_CROSS_QEMU qemu-riscv64-static)
include(${CMAKE_CURRENT_LIST_DIR}/linux-qemu-user.cmake)
