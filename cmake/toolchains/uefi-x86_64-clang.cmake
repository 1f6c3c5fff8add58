# Build the library for x86_64 UEFI with clang (PE/COFF objects, MS ABI) and the gnu-efi
# headers, e.g. to link libdlmalloc into an application made with lld-link or EDK2:
#
#   cmake -S . -B build/uefi -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/uefi-x86_64-clang.cmake \
#         -DDLMALLOC_PORT=uefi -DDLMALLOC_BUILD_SAMPLES=OFF -DDLMALLOC_BUILD_TESTS=OFF
#
# Only static libraries can be built this way (there is no UEFI C runtime to link programs
# against); the self-test application is built by samples/uefi/build.sh instead.
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
