/*
  test_app.c -- one test program of tests/ as a UEFI application (matrix target uefi-x86_64).

  The test's own main() is compiled under the name dl_test_main (-Dmain=dl_test_main, with
  TH_HOSTED=0, so it takes no arguments and uses no C library).  efi_main hands the system
  table to ports/uefi.c, switches the watchdog off (a slow emulator must not reboot into a
  loop), runs the test and powers the machine off.  The harness's output (th_write) goes to the
  console and to QEMU's debugcon port 0x402 (samples/uefi/console.c), where
  cmake/toolchains/qemu-uefi-x86_64.sh reads the closing "N passed, M failed" line.
*/
#include <efi.h>

#include "harness.h"
#include "malloc.h"
#include "ports/uefi.h"

#include "console.h" /* samples/uefi */

#ifndef TEST_APP_NAME
#define TEST_APP_NAME "test"
#endif

int dl_test_main(void);

void th_write(const char *text) { uefi_write(text); }

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *system_table) {
  int status;
  (void)image;
  uefi_console_init(system_table);
  dlmalloc_uefi_init(system_table);
  system_table->BootServices->SetWatchdogTimer(0, 0, 0, NULL);
  th_write("portable-dlmalloc " PORTABLE_DLMALLOC_VERSION " on UEFI: " TEST_APP_NAME "\n");
  status = dl_test_main(); /* ends with th_finish(): "N passed, M failed" */
  th_write(status == 0 ? "uefi test: done (status 0), shutting down\n"
                       : "uefi test: done (status 1), shutting down\n");
  system_table->RuntimeServices->ResetSystem(EfiResetShutdown,
                                             status == 0 ? EFI_SUCCESS : EFI_ABORTED, 0, NULL);
  return EFI_SUCCESS; /* not reached */
}
