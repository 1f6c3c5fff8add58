/*
  samples/uefi/console.h -- text output of the UEFI applications: the self-test (main.c) and the
  portability matrix's test programs (tests/matrix/uefi/test_app.c).

  Text goes to the firmware console (ConOut) and to I/O port 0x402, where QEMU's isa-debugcon
  device copies it to a file free of terminal escape sequences (on other machines nothing
  listens there).  Writing never allocates: the heap may be the very thing that is broken.
*/
#ifndef SAMPLES_UEFI_CONSOLE_H
#define SAMPLES_UEFI_CONSOLE_H

#include <efi.h>

/* Remember the system table whose ConOut receives the text; call before writing. */
void uefi_console_init(EFI_SYSTEM_TABLE *system_table);

/* Write a NUL-terminated string; "\n" becomes "\r\n" on ConOut. */
void uefi_write(const char *text);

#endif /* SAMPLES_UEFI_CONSOLE_H */
