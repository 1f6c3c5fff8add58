# targets.cmake -- the platforms of the portability matrix and what each needs on the host.
# Read by cmake/matrix.cmake (the runner), tests/matrix/CMakeLists.txt (the matrix.<target>
# tests of a host build) and cmake/presets.cmake (the presets).
#
# DLMALLOC_MATRIX_NEEDS_<t>     what must be installed: "program:<name>" (found on PATH) or
#                               "file:<path>"
# DLMALLOC_MATRIX_PACKAGES_<t>  the Debian packages that provide it (apt-get install)
# DLMALLOC_MATRIX_ABOUT_<t>     one line for the table
# DLMALLOC_MATRIX_COST_<t>      rough seconds on 2 cores (CTest starts the longest tests first)
# and the presets matrix-<t> (configure, build, test, workflow), which cmake/presets.cmake
# writes to cmake/presets/matrix.json from:
# DLMALLOC_MATRIX_BASE_<t>      the hidden presets they inherit (cmake/presets/matrix-base.json):
#                               matrix-linux (tests/CMakeLists.txt's suite, a few variants) or
#                               matrix-target (tests/matrix's portable tests on the real port)
# DLMALLOC_MATRIX_TOOLCHAIN_<t> toolchain file in cmake/toolchains/ (none: the host compiler)
# DLMALLOC_MATRIX_CACHE_<t>     further cache variables, NAME=VALUE (a list value: items
#                               separated by commas)
#
# A new platform: its rows here and a toolchain file, then `cmake -P cmake/presets.cmake`.

set(DLMALLOC_MATRIX_TARGETS
    linux-x86_64 linux-i686 linux-aarch64 linux-armhf linux-riscv64 linux-s390x linux-ppc64
    windows-x86_64 uefi-x86_64 cortex-m3 wasm32-wasi)

set(DLMALLOC_MATRIX_ABOUT_linux-x86_64 "Linux x86_64, the host itself")
set(DLMALLOC_MATRIX_NEEDS_linux-x86_64 program:cc)
set(DLMALLOC_MATRIX_PACKAGES_linux-x86_64 gcc)
set(DLMALLOC_MATRIX_BASE_linux-x86_64 matrix-linux)
set(DLMALLOC_MATRIX_CACHE_linux-x86_64 DLMALLOC_TEST_SCALE=100 DLMALLOC_TEST_DEBUG_SCALE=5)

# Linux cross targets: <name> <triplet> <Debian architecture> <qemu-user binary> <about>
# (the compiler gcc-<triplet> only recommends its C library, libc6-dev-<architecture>-cross)
set(_matrix_linux
    "linux-i686|i686-linux-gnu|i386|qemu-i386-static|Linux i686 (ILP32), qemu-user"
    "linux-aarch64|aarch64-linux-gnu|arm64|qemu-aarch64-static|Linux aarch64, qemu-user"
    "linux-armhf|arm-linux-gnueabihf|armhf|qemu-arm-static|Linux armv7 hard-float, qemu-user"
    "linux-riscv64|riscv64-linux-gnu|riscv64|qemu-riscv64-static|Linux riscv64, qemu-user"
    "linux-s390x|s390x-linux-gnu|s390x|qemu-s390x-static|Linux s390x (big-endian), qemu-user"
    "linux-ppc64|powerpc64-linux-gnu|ppc64|qemu-ppc64-static|Linux ppc64 (big-endian), qemu-user")
foreach(_row IN LISTS _matrix_linux)
  string(REPLACE "|" ";" _row "${_row}")
  list(GET _row 0 _name)
  list(GET _row 1 _triplet)
  list(GET _row 2 _arch)
  list(GET _row 3 _qemu)
  list(GET _row 4 _about)
  set(DLMALLOC_MATRIX_ABOUT_${_name} "${_about}")
  set(DLMALLOC_MATRIX_NEEDS_${_name} program:${_triplet}-gcc program:${_qemu}
      file:/usr/${_triplet}/include/stdio.h)
  string(REPLACE "_" "-" _pkg "${_triplet}")
  set(DLMALLOC_MATRIX_PACKAGES_${_name} gcc-${_pkg} libc6-dev-${_arch}-cross qemu-user-static)
  set(DLMALLOC_MATRIX_BASE_${_name} matrix-linux)
  set(DLMALLOC_MATRIX_TOOLCHAIN_${_name} ${_name}.cmake)
endforeach()

set(DLMALLOC_MATRIX_ABOUT_windows-x86_64 "Windows x86_64, mingw-w64, Wine")
set(DLMALLOC_MATRIX_NEEDS_windows-x86_64
    program:x86_64-w64-mingw32-gcc file:/usr/lib/wine/wine64 file:/usr/lib/wine/wineserver)
set(DLMALLOC_MATRIX_PACKAGES_windows-x86_64 gcc-mingw-w64-x86-64 wine64)
set(DLMALLOC_MATRIX_BASE_windows-x86_64 matrix-target)
set(DLMALLOC_MATRIX_TOOLCHAIN_windows-x86_64 mingw-w64-x86_64.cmake)
set(DLMALLOC_MATRIX_CACHE_windows-x86_64 DLMALLOC_TEST_SCALE=50 DLMALLOC_TEST_DEBUG_SCALE=5)

set(DLMALLOC_MATRIX_ABOUT_uefi-x86_64 "UEFI x86_64, OVMF under qemu-system-x86_64")
set(DLMALLOC_MATRIX_NEEDS_uefi-x86_64
    program:clang program:lld-link program:qemu-system-x86_64 program:gcc program:ld
    program:objcopy file:/usr/share/ovmf/OVMF.fd file:/usr/include/efi/efi.h
    file:/usr/lib/crt0-efi-x86_64.o)
set(DLMALLOC_MATRIX_PACKAGES_uefi-x86_64 clang lld qemu-system-x86 ovmf gnu-efi)
set(DLMALLOC_MATRIX_BASE_uefi-x86_64 matrix-target)
set(DLMALLOC_MATRIX_TOOLCHAIN_uefi-x86_64 uefi-x86_64-clang.cmake)
set(DLMALLOC_MATRIX_CACHE_uefi-x86_64 DLMALLOC_PORT=uefi DLMALLOC_BUILD_SAMPLES=OFF)

set(DLMALLOC_MATRIX_ABOUT_cortex-m3 "bare-metal Cortex-M3, qemu-system-arm mps2-an385")
set(DLMALLOC_MATRIX_NEEDS_cortex-m3
    program:arm-none-eabi-gcc program:qemu-system-arm
    file:/usr/lib/arm-none-eabi/newlib/thumb/v7-m/nofp/librdimon.a)
set(DLMALLOC_MATRIX_PACKAGES_cortex-m3
    gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)
set(DLMALLOC_MATRIX_BASE_cortex-m3 matrix-target)
set(DLMALLOC_MATRIX_TOOLCHAIN_cortex-m3 cortex-m3-mps2-an385.cmake)
set(DLMALLOC_MATRIX_CACHE_cortex-m3 DLMALLOC_PORT=static_arena DLMALLOC_BUILD_SAMPLES=OFF)

set(DLMALLOC_MATRIX_ABOUT_wasm32-wasi "WebAssembly wasm32-wasi (wasi-libc), Node's WASI")
set(DLMALLOC_MATRIX_NEEDS_wasm32-wasi
    program:clang program:wasm-ld program:llvm-objdump program:node
    file:/usr/lib/wasm32-wasi/libc.a file:/usr/include/wasm32-wasi/stdio.h)
set(DLMALLOC_MATRIX_PACKAGES_wasm32-wasi clang lld llvm wasi-libc libclang-rt-14-dev-wasm32 nodejs)
set(DLMALLOC_MATRIX_BASE_wasm32-wasi matrix-target)
set(DLMALLOC_MATRIX_TOOLCHAIN_wasm32-wasi wasm32-wasi.cmake)
set(DLMALLOC_MATRIX_CACHE_wasm32-wasi DLMALLOC_PORT=wasm32 DLMALLOC_BUILD_SAMPLES=OFF
    DLMALLOC_MATRIX_VARIANTS=default,footers,debugfooters DLMALLOC_TEST_SCALE=50
    DLMALLOC_TEST_DEBUG_SCALE=5)

set(DLMALLOC_MATRIX_COST_linux-x86_64 60)
set(DLMALLOC_MATRIX_COST_linux-i686 200)
set(DLMALLOC_MATRIX_COST_linux-aarch64 90)
set(DLMALLOC_MATRIX_COST_linux-armhf 200)
set(DLMALLOC_MATRIX_COST_linux-riscv64 100)
set(DLMALLOC_MATRIX_COST_linux-s390x 90)
set(DLMALLOC_MATRIX_COST_linux-ppc64 60)
set(DLMALLOC_MATRIX_COST_windows-x86_64 90)
set(DLMALLOC_MATRIX_COST_uefi-x86_64 250)
set(DLMALLOC_MATRIX_COST_cortex-m3 40)
set(DLMALLOC_MATRIX_COST_wasm32-wasi 120)
