# Shared part of the Linux cross toolchain files (linux-<arch>.cmake): a Debian cross compiler
# (gcc-<triplet>) whose programs CTest runs under qemu-user (qemu-user-static).
#
# Not a toolchain file by itself.  The including file sets:
#   DLMALLOC_CROSS_PROCESSOR  CMAKE_SYSTEM_PROCESSOR (aarch64, armv7l, riscv64, s390x, ppc64, i686)
#   DLMALLOC_CROSS_TRIPLET    the Debian triplet: compiler <triplet>-gcc, sysroot /usr/<triplet>
#   DLMALLOC_CROSS_QEMU       the qemu-user binary (qemu-aarch64-static...)
#   DLMALLOC_CROSS_QEMU_ARGS  optional extra arguments for it
#
# The emulator is given explicitly (binfmt_misc need not be set up): CTest puts
# CMAKE_CROSSCOMPILING_EMULATOR in front of every add_test(... COMMAND <executable target>), and
# "-L /usr/<triplet>" makes qemu find the target's dynamic loader and libc there.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${DLMALLOC_CROSS_PROCESSOR})

set(CMAKE_C_COMPILER ${DLMALLOC_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${DLMALLOC_CROSS_TRIPLET}-g++)

set(CMAKE_FIND_ROOT_PATH /usr/${DLMALLOC_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# The host's qemu, whatever CMAKE_FIND_ROOT_PATH says.
find_program(DLMALLOC_QEMU_USER ${DLMALLOC_CROSS_QEMU} NO_CMAKE_FIND_ROOT_PATH)
if(NOT DLMALLOC_QEMU_USER)
  # Building still works; running the tests needs it.
  set(DLMALLOC_QEMU_USER ${DLMALLOC_CROSS_QEMU})
endif()
set(CMAKE_CROSSCOMPILING_EMULATOR ${DLMALLOC_QEMU_USER} -L /usr/${DLMALLOC_CROSS_TRIPLET}
    ${DLMALLOC_CROSS_QEMU_ARGS})
