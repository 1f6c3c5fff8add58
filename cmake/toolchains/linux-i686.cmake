# Linux on 32-bit x86 (ILP32).
# Compiler: i686-linux-gnu-gcc (Debian: gcc-i686-linux-gnu).
# Programs run under qemu-i386-static (Debian: qemu-user-static); see linux-qemu-user.cmake.
#
#   cmake -S . -B build/i686 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/linux-i686.cmake
#   (or: cmake --workflow --preset matrix-linux-i686)
set(DLMALLOC_CROSS_PROCESSOR i686)
set(DLMALLOC_CROSS_TRIPLET i686-linux-gnu)
set(DLMALLOC_CROSS_QEMU qemu-i386-static)
# The guest's dynamic loader would otherwise also search the host's /etc/ld.so.cache, which can
# name another 32-bit libc; the process then spins forever.  Search only the sysroot's /lib.
# (This machine's kernel does not run 32-bit x86 binaries natively: always go through qemu.)
set(DLMALLOC_CROSS_QEMU_ARGS -E LD_LIBRARY_PATH=/lib)
include(${CMAKE_CURRENT_LIST_DIR}/linux-qemu-user.cmake)
