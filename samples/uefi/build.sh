#!/bin/sh
# Build the UEFI self-test application (BOOTX64.EFI) with gnu-efi and gcc (or clang + lld-link),
# and optionally boot it under QEMU + OVMF.
#
#   samples/uefi/build.sh [--run | --abort-check] [OUTDIR]   (OUTDIR defaults to ./uefi-build)
#
# Needs (Debian): gnu-efi, binutils, gcc -- or, with UEFI_TOOLCHAIN=clang, gnu-efi's headers,
# clang and lld (lld-link); for --run also qemu-system-x86 and ovmf.
# With --run the exit status is 0 only when the log shows "port check: PASS" and "N passed,
# 0 failed"; the machine powers itself off at the end (ResetSystem), and `timeout` guards
# against a firmware that does not.  The logs are OUTDIR/debugcon.log (our text only) and
# OUTDIR/serial.log (the firmware console, with terminal escapes).
# --abort-check builds a variant that frees a block twice instead of testing, boots it, and
# passes when the console shows custom_abort's "dlmalloc: <reason>" line.
#
# Environment: UEFI_TOOLCHAIN (gcc, the default, or clang), CC, UEFI_WITH_API_TESTS=0 to leave
# tests/test_api.c out, UEFI_WERROR=0 to not treat warnings as errors, QEMU_TIMEOUT (seconds,
# default 120).
set -eu

run=0
abort_check=0
case "${1:-}" in
--run)
  run=1
  shift
  ;;
--abort-check)
  run=1
  abort_check=1
  shift
  ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$PWD/uefi-build}
mkdir -p "$out"
out=$(cd "$out" && pwd)

toolchain=${UEFI_TOOLCHAIN:-gcc}
EFIINC="-I/usr/include/efi -I/usr/include/efi/x86_64"
CRT0=/usr/lib/crt0-efi-x86_64.o
LDS=/usr/lib/elf_x86_64_efi.lds
if [ "$toolchain" = clang ]; then
  need="/usr/include/efi/efi.h"
else
  need="/usr/include/efi/efi.h $CRT0 $LDS /usr/lib/libefi.a /usr/lib/libgnuefi.a"
fi
for f in $need; do
  if [ ! -e "$f" ]; then
    echo "build.sh: $f is missing (install gnu-efi)" >&2
    exit 2
  fi
done

werror=-Werror
[ "${UEFI_WERROR:-1}" = 0 ] && werror=
if [ "$toolchain" = clang ]; then
  # clang + lld-link: a PE image directly, MS ABI throughout (the target also defines _WIN32
  # and _MSC_VER, and long is 32 bits); no C library at all, so include/ and mem.c stand in
  # for the little that is used; no __chkstk probes.
  CC=${CC:-clang}
  CFLAGS="--target=x86_64-unknown-windows -O2 -std=gnu11 -ffreestanding -fshort-wchar \
    -mno-red-zone -mno-stack-arg-probe -fno-stack-protector -Wall -Wextra $werror \
    -I$here/include $EFIINC -I$root"
else
  # The gnu-efi recipe: position-independent code relocated by crt0, 16-bit wchar_t for
  # CHAR16, no red zone (firmware interrupts run on our stack), and MS-ABI firmware calls
  # made directly.
  CC=${CC:-gcc}
  CFLAGS="-O2 -std=gnu11 -ffreestanding -fpic -fshort-wchar -mno-red-zone -fno-stack-protector \
    -maccumulate-outgoing-args -DGNU_EFI_USE_MS_ABI -Wall -Wextra $werror $EFIINC -I$root"
fi
# The library configuration: PORTABLE hooks from ports/uefi.c, dl* names, mspaces; an abort
# powers the machine off instead of halting, so a failing run ends instead of timing out.
DEFS="-DPORTABLE=1 -DUSE_LOCKS=2 -DUSE_DL_PREFIX -DMSPACES=1 -DDLMALLOC_UEFI_ABORT_SHUTDOWN=1"

api=${UEFI_WITH_API_TESTS:-1}
if [ "$api" = 1 ] && [ ! -f "$root/tests/test_api.c" ]; then
  echo "build.sh: tests/test_api.c not found: building the port check only" >&2
  api=0
fi

compile() { # source object [extra flags...]
  src=$1 obj=$2
  shift 2
  # shellcheck disable=SC2086
  $CC $CFLAGS $DEFS "$@" -c "$src" -o "$out/$obj"
  objs="$objs $out/$obj"
}

objs=
compile "$root/malloc.c" malloc.o
compile "$root/ports/uefi.c" port_uefi.o
compile "$root/samples/port_check.c" port_check.o -DPORT_CHECK_NO_MAIN
compile "$here/main.c" main.o -DUEFI_WITH_API_TESTS="$api" -DUEFI_ABORT_CHECK="$abort_check"
compile "$here/console.c" console.o
if [ "$api" = 1 ]; then
  # The tests belong to tests/ and are built for hosts first: their warnings in this
  # freestanding configuration are shown but do not stop the build.
  compile "$root/tests/test_api.c" test_api.o -DTH_HOSTED=0 -Dmain=dl_test_api_main -Wno-error
  compile "$root/tests/harness.c" harness.o -DTH_HOSTED=0 -Wno-error
  compile "$root/tests/heaps.c" heaps.o -DTH_HOSTED=0 -Wno-error
fi

if [ "$toolchain" = clang ]; then
  compile "$here/mem.c" mem.o
  # shellcheck disable=SC2086
  lld-link /nologo /subsystem:efi_application /entry:efi_main /nodefaultlib \
    "/out:$out/BOOTX64.EFI" $objs
else
  # shellcheck disable=SC2086
  ld -nostdlib -znocombreloc -shared -Bsymbolic -T "$LDS" "$CRT0" $objs -o "$out/selftest.so" \
    -L/usr/lib -lefi -lgnuefi
  objcopy -j .text -j .sdata -j .data -j .dynamic -j .dynsym -j .rel -j .rela -j '.rel.*' \
    -j '.rela.*' -j .reloc --target efi-app-x86_64 --subsystem=10 "$out/selftest.so" \
    "$out/BOOTX64.EFI"
fi
echo "build.sh: built $out/BOOTX64.EFI with $toolchain" \
  "(API tests: $([ "$api" = 1 ] && echo yes || echo no))"

[ "$run" = 1 ] || exit 0

OVMF=${OVMF:-/usr/share/ovmf/OVMF.fd}
mkdir -p "$out/esp/EFI/BOOT"
cp "$out/BOOTX64.EFI" "$out/esp/EFI/BOOT/BOOTX64.EFI"
rm -f "$out/debugcon.log" "$out/serial.log"
# fat:rw: is required by QEMU's virtual FAT even though nothing is written back.
timeout "${QEMU_TIMEOUT:-120}" qemu-system-x86_64 -nodefaults -machine q35 -m 512 \
  -bios "$OVMF" -drive "format=raw,file=fat:rw:$out/esp" -net none -display none \
  -serial "file:$out/serial.log" -no-reboot \
  -debugcon "file:$out/debugcon.log" -global isa-debugcon.iobase=0x402 || true
cat "$out/debugcon.log" 2>/dev/null || true
if [ "$abort_check" = 1 ]; then
  # custom_abort writes to ConOut only, which QEMU shows on the serial console.
  if grep -a "dlmalloc: " "$out/serial.log"; then
    echo "build.sh: the double free ended in custom_abort"
    exit 0
  fi
  echo "build.sh: abort check FAILED (no \"dlmalloc: \" line in $out/serial.log)" >&2
  exit 1
fi
if grep -q "port check: PASS" "$out/debugcon.log" 2>/dev/null &&
  grep -Eq "^[0-9]+ passed, 0 failed" "$out/debugcon.log"; then
  echo "build.sh: UEFI run passed"
  exit 0
fi
echo "build.sh: UEFI run FAILED (see $out/debugcon.log and $out/serial.log)" >&2
exit 1
