# WebAssembly wasm32-wasi with clang, Debian's wasi-libc and its compiler-rt builtins (Debian:
# clang lld wasi-libc libclang-rt-14-dev-wasm32), programs run under Node's WASI (nodejs).
#
#   cmake --workflow --preset matrix-wasm32-wasi   # configure, build and run the tests
#
# CMake has no platform module for WASI here, so the system is Generic with a .wasm suffix.
# CTest runs every test program through wasm32-wasi-node.mjs (next to this file), which passes
# the arguments as argv and returns the program's exit status (134 after a trap).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR wasm32)

set(CMAKE_C_COMPILER clang)
set(CMAKE_C_COMPILER_TARGET wasm32-wasi)
set(CMAKE_C_FLAGS_INIT "--sysroot=/usr -isystem /usr/include/wasm32-wasi")
set(CMAKE_EXECUTABLE_SUFFIX .wasm)
set(CMAKE_AR llvm-ar CACHE FILEPATH "")
set(CMAKE_RANLIB llvm-ranlib CACHE FILEPATH "")

set(CMAKE_FIND_ROOT_PATH /usr/lib/wasm32-wasi)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(DLMALLOC_NODE node REQUIRED)
set(CMAKE_CROSSCOMPILING_EMULATOR ${DLMALLOC_NODE} --no-warnings --single-threaded-gc
    ${CMAKE_CURRENT_LIST_DIR}/wasm32-wasi-node.mjs)
