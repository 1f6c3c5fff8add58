# Linux on IBM Z (big-endian, LP64).
# Compiler: s390x-linux-gnu-gcc (Debian: gcc-s390x-linux-gnu).
# Programs run under qemu-s390x-static (Debian: qemu-user-static); see linux-qemu-user.cmake.
#
#   cmake -S . -B build/s390x -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/linux-s390x.cmake
#   (or: cmake --workflow --preset matrix-linux-s390x)
set(DLMALLOC_CROSS_PROCESSOR s390x)
set(DLMALLOC_CROSS_TRIPLET s390x-linux-gnu)
set(DLMALLOC_CROSS_QEMU qemu-s390x-static)
include(${CMAKE_CURRENT_LIST_DIR}/linux-qemu-user.cmake)
