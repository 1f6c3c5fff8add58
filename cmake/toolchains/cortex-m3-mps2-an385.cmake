# Bare-metal Arm Cortex-M3 with arm-none-eabi-gcc and newlib's semihosting library (Debian:
# gcc-arm-none-eabi libnewlib-arm-none-eabi), programs run on QEMU's model of the Arm MPS2 AN385
# board (Debian: qemu-system-arm).
#
#   cmake -S . -B build/m3 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/cortex-m3-mps2-an385.cmake \
#         -DDLMALLOC_PORT=static_arena -DDLMALLOC_BUILD_SAMPLES=OFF -DDLMALLOC_BUILD_TESTS=OFF
#   (or: cmake --workflow --preset matrix-cortex-m3, which also builds and runs the tests)
#
# The toolchain only chooses the compiler, the CPU and the C library.  A program also needs a
# vector table and a linker script for the board: tests/matrix/cortex-m/ has both, and
# tests/matrix/CMakeLists.txt adds them to the programs it builds.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR cortex-m3)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
# Compiler checks build a static library: linking needs the board files above.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(CMAKE_C_FLAGS_INIT "-mcpu=cortex-m3 -mthumb")
set(CMAKE_CXX_FLAGS_INIT "-mcpu=cortex-m3 -mthumb")
# newlib with semihosting: stdio, exit status and the command line travel through the debugger
# interface, which QEMU implements.
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=rdimon.specs -Wl,--gc-sections")
set(CMAKE_EXECUTABLE_SUFFIX .elf)

set(CMAKE_FIND_ROOT_PATH /usr/lib/arm-none-eabi)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# CTest runs every test program through this script: it boots the ELF on the board with
# semihosting, passes the test's arguments as the program's command line, and returns the
# program's exit status.
set(CMAKE_CROSSCOMPILING_EMULATOR /bin/sh ${CMAKE_CURRENT_LIST_DIR}/qemu-mps2-an385.sh)
