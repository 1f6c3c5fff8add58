#!/bin/sh
# Boot one x86_64 UEFI application under QEMU + OVMF, headless, and turn what it printed into an
# exit status.  The CMAKE_CROSSCOMPILING_EMULATOR of uefi-x86_64-clang.cmake.
#
#   qemu-uefi-x86_64.sh APP.efi
#
# The application is copied to EFI/BOOT/BOOTX64.EFI of a temporary FAT drive, which OVMF boots
# by itself.  It must write its results to I/O port 0x402 (QEMU's isa-debugcon device, which
# keeps them apart from the firmware's own console output) and power the machine off when done
# (ResetSystem); `timeout` ends a run that does neither.  The debugcon text is copied to stdout.
# Exit status: 0 when the last line of the form "N passed, M failed" has N > 0 and M = 0;
# 1 otherwise (no such line: the application crashed, hung or never ran); 2 on usage errors.
# Environment: OVMF (default /usr/share/ovmf/OVMF.fd), QEMU_SYSTEM_X86_64, QEMU_TIMEOUT
# (seconds, default 300), UEFI_KEEP_LOGS=DIR to keep the serial and debugcon logs there.
set -u
app=${1:?usage: qemu-uefi-x86_64.sh APP.efi}
if [ $# -gt 1 ]; then
  echo "qemu-uefi-x86_64.sh: UEFI applications take no command line here (got: $*)" >&2
  exit 2
fi
ovmf=${OVMF:-/usr/share/ovmf/OVMF.fd}
for f in "$app" "$ovmf"; do
  if [ ! -f "$f" ]; then
    echo "qemu-uefi-x86_64.sh: $f not found" >&2
    exit 2
  fi
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/uefi-run.XXXXXX") || exit 2
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/esp/EFI/BOOT"
cp "$app" "$dir/esp/EFI/BOOT/BOOTX64.EFI"

# fat:rw: is needed by QEMU's virtual FAT even though nothing is written back.
timeout "${QEMU_TIMEOUT:-300}" "${QEMU_SYSTEM_X86_64:-qemu-system-x86_64}" -nodefaults \
  -machine q35 -m 512 -bios "$ovmf" -drive "format=raw,file=fat:rw:$dir/esp" -net none \
  -display none -no-reboot -serial "file:$dir/serial.log" \
  -debugcon "file:$dir/debugcon.log" -global isa-debugcon.iobase=0x402 </dev/null
qemu_status=$?
cat "$dir/debugcon.log" 2>/dev/null
if [ -n "${UEFI_KEEP_LOGS:-}" ]; then
  mkdir -p "$UEFI_KEEP_LOGS" && cp "$dir/serial.log" "$dir/debugcon.log" "$UEFI_KEEP_LOGS/"
fi
if [ "$qemu_status" = 124 ]; then
  echo "qemu-uefi-x86_64.sh: the machine was still running after ${QEMU_TIMEOUT:-300} s" >&2
fi

result=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$dir/debugcon.log" 2>/dev/null | tail -n 1)
passed=${result%% passed*}
failed=${result#*passed, }
failed=${failed%% failed*}
if [ -z "$result" ]; then
  echo "qemu-uefi-x86_64.sh: no \"N passed, M failed\" line from $app" >&2
  exit 1
fi
if [ "$passed" -gt 0 ] && [ "$failed" -eq 0 ]; then
  exit 0
fi
exit 1
