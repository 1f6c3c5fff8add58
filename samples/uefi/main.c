/*
  samples/uefi/main.c -- the allocator's self-test as a UEFI application (BOOTX64.EFI).

  Runs samples/port_check.c (everything but the abort path, which needs fork) on ports/uefi.c,
  then the project's API tests (tests/test_api.c, its main renamed to dl_test_api_main) unless
  built with UEFI_WITH_API_TESTS=0, and ends with the line "N passed, N failed" -- the port
  check counts as one check.  All output goes both to the console (ConOut) and to I/O port 0x402
  (console.c).
  Then the machine is switched off with ResetSystem(EfiResetShutdown), so a run under QEMU ends
  by itself.  Build and run: samples/uefi/build.sh (see there).

  Built with gnu-efi; efi_main is called by gnu-efi's crt0, which adapts the calling convention.
*/
#include <efi.h>

#include "../../malloc.h"
#include "../../ports/uefi.h"

#include "console.h"

#ifndef UEFI_WITH_API_TESTS
#define UEFI_WITH_API_TESTS 1
#endif

/* UEFI_ABORT_CHECK=1: instead of the tests, free a block twice, which must end in the port's
   custom_abort: "dlmalloc: <reason>" on the console, then power-off (the port is built with
   DLMALLOC_UEFI_ABORT_SHUTDOWN=1).  The abort path port_check.c cannot reach without a child
   process, checked by hand: build.sh --abort-check. */
#ifndef UEFI_ABORT_CHECK
#define UEFI_ABORT_CHECK 0
#endif

#if UEFI_WITH_API_TESTS
#include "tests/harness.h"
int dl_test_api_main(void);
#endif

int port_check_run(void (*write)(const char *text));

#if UEFI_WITH_API_TESTS
/* The harness's single output function (tests/harness.h, built with TH_HOSTED=0). */
void th_write(const char *text) { uefi_write(text); }
#endif

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *system_table) {
  int port_problems;
  (void)image;
  uefi_console_init(system_table);
  dlmalloc_uefi_init(system_table);
  /* The firmware reboots an application still running after five minutes; a slow emulator
     must not turn into a reboot loop. */
  system_table->BootServices->SetWatchdogTimer(0, 0, 0, NULL);

  uefi_write("portable-dlmalloc " PORTABLE_DLMALLOC_VERSION " UEFI self-test\n");
#if UEFI_ABORT_CHECK
  {
    void *a = dlmalloc(64), *b = dlmalloc(64);
    uefi_write("abort check: freeing a block twice; custom_abort must report and power off\n");
    dlfree(a);
    dlfree(a);
    dlfree(b);
    uefi_write("abort check: FAIL: the double free went unnoticed\n");
    system_table->RuntimeServices->ResetSystem(EfiResetShutdown, EFI_ABORTED, 0, NULL);
  }
#endif
  port_problems = port_check_run(uefi_write);
  /* Every acquire_lock raised the TPL; every release_lock must have put it back.  Raising to
     the top and restoring at once is the standard way to read the current level. */
  {
    EFI_TPL now = system_table->BootServices->RaiseTPL(TPL_HIGH_LEVEL);
    system_table->BootServices->RestoreTPL(now);
    if (now == TPL_APPLICATION) {
      uefi_write("ok:   locks: the TPL is back at TPL_APPLICATION\n");
    } else {
      uefi_write("FAIL: locks: the TPL was left raised by the port's locks\n");
      ++port_problems;
    }
  }
#if UEFI_WITH_API_TESTS
  uefi_write("API tests (tests/test_api.c):\n");
  th_section("port check");
  th_check(port_problems == 0, "port_check_run(uefi_write) == 0", __FILE__, __LINE__);
  (void)dl_test_api_main(); /* ends with th_finish(): "N passed, N failed" */
#else
  uefi_write("API tests not built in (UEFI_WITH_API_TESTS=0)\n");
  uefi_write(port_problems == 0 ? "1 passed, 0 failed\n" : "0 passed, 1 failed\n");
#endif
  uefi_write("uefi self-test: done, shutting down\n");
  system_table->RuntimeServices->ResetSystem(EfiResetShutdown, EFI_SUCCESS, 0, NULL);
  return EFI_SUCCESS; /* not reached */
}
