# Build the library for x86_64 UEFI with clang (PE/COFF objects, MS ABI) and the gnu-efi
# headers, e.g. to link libdlmalloc into an application made with lld-link or EDK2:
#
#   cmake -S . -B build/uefi -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/uefi-x86_64-clang.cmake \
#         -DDLMALLOC_PORT=uefi -DDLMALLOC_BUILD_SAMPLES=OFF -DDLMALLOC_BUILD_TESTS=OFF
#
# Executables are UEFI applications linked by lld-link (see the end of this file); there is no
# UEFI C runtime, so a program brings its own efi_main and memset/memcpy.  The matrix preset
# matrix-uefi-x86_64 builds the test programs this way and boots them under QEMU + OVMF;
# samples/uefi/build.sh builds the self-test application without CMake.
# This target defines _WIN32 and has a 32-bit long: the sources test for UEFI first.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER clang)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
find_program(CMAKE_AR NAMES llvm-ar llvm-ar-14 llvm-ar-15 llvm-ar-16 ar)

set(UEFI_EFI_INCLUDE /usr/include/efi CACHE PATH "gnu-efi headers")
# Freestanding, no red zone (firmware interrupts share our stack), 16-bit wchar_t for CHAR16,
# and no __chkstk probes (there is no runtime to provide them).
# The target goes into the flags: CMake 3.25 did not pass CMAKE_C_COMPILER_TARGET here.
set(CMAKE_C_FLAGS_INIT "--target=x86_64-unknown-windows -ffreestanding -fshort-wchar")
string(APPEND CMAKE_C_FLAGS_INIT " -mno-red-zone -mno-stack-arg-probe -fno-stack-protector")
string(APPEND CMAKE_C_FLAGS_INIT " -I${UEFI_EFI_INCLUDE} -I${UEFI_EFI_INCLUDE}/x86_64")

# ---- Applications, and running them (the portability matrix, tests/matrix/uefi.cmake) --------
# add_executable() makes a UEFI application: a PE image linked by lld-link with the entry point
# efi_main and no C library (the program brings memset/memcpy, e.g. samples/uefi/mem.c).
# CTest boots each test program under QEMU + OVMF (Debian: qemu-system-x86 ovmf) through
# qemu-uefi-x86_64.sh, which passes when the program prints "N passed, 0 failed" on the
# debugcon port 0x402.
find_program(CMAKE_LINKER NAMES lld-link lld-link-16 lld-link-15 lld-link-14)
set(CMAKE_EXECUTABLE_SUFFIX .efi)
set(CMAKE_C_LINK_EXECUTABLE "<CMAKE_LINKER> /nologo /subsystem:efi_application /entry:efi_main")
string(APPEND CMAKE_C_LINK_EXECUTABLE
       " /nodefaultlib <LINK_FLAGS> <OBJECTS> <LINK_LIBRARIES> /out:<TARGET>")
set(CMAKE_CROSSCOMPILING_EMULATOR /bin/sh ${CMAKE_CURRENT_LIST_DIR}/qemu-uefi-x86_64.sh)
