# Linux on 32-bit Arm v7, hard float (ILP32).
# Compiler: arm-linux-gnueabihf-gcc (Debian: gcc-arm-linux-gnueabihf).
# Programs run under qemu-arm-static (Debian: qemu-user-static); see linux-qemu-user.cmake.
#
#   cmake -S . -B build/armhf -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/linux-armhf.cmake
#   (or: cmake --workflow --preset matrix-linux-armhf)
set(DLMALLOC_CROSS_PROCESSOR armv7l)
set(DLMALLOC_CROSS_TRIPLET arm-linux-gnueabihf)
set(DLMALLOC_CROSS_QEMU qemu-arm-static)
include(${CMAKE_CURRENT_LIST_DIR}/linux-qemu-user.cmake)
