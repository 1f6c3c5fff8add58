#!/bin/sh
# Run a Cortex-M3 ELF (built with cmake/toolchains/cortex-m3-mps2-an385.cmake) on QEMU's MPS2
# AN385 board, headless, with semihosting.  The CMAKE_CROSSCOMPILING_EMULATOR of that toolchain.
#
#   qemu-mps2-an385.sh PROGRAM.elf [ARGUMENTS...]
#
# The program's console output (semihosting) appears on stdout, its arguments reach main()
# through the semihosting command line, and the exit status is the program's own (newlib and
# tests/matrix/cortex-m/semihost.h end with the extended semihosting exit).  A program that
# never stops is ended after QEMU_TIMEOUT seconds (default 300), with status 124.
# Environment: QEMU_SYSTEM_ARM (default qemu-system-arm).
set -u
elf=${1:?usage: qemu-mps2-an385.sh PROGRAM.elf [ARGUMENTS...]}
shift
# QEMU's option syntax doubles a comma inside a value.
quote() { printf '%s' "$1" | sed 's/,/,,/g'; }
config="enable=on,target=native,arg=$(quote "$(basename "$elf")")"
for a in "$@"; do
  config="$config,arg=$(quote "$a")"
done
exec timeout "${QEMU_TIMEOUT:-300}" "${QEMU_SYSTEM_ARM:-qemu-system-arm}" -M mps2-an385 \
  -nographic -monitor none -serial none -semihosting-config "$config" -kernel "$elf" </dev/null
