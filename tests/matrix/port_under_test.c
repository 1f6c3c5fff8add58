/*
  port_under_test.c -- a platform's real port (PORT_UNDER_TEST, e.g. "ports/win32.c") with its
  memory and lock hooks renamed tp_platform_*, so that tests/test_port.c, built with
  TP_WRAPS_PORT=1 in the same library, can stand in front of it: the instrumented port counts,
  checks and fails maps on request, and takes its memory from the real port.  The port's own
  custom_abort (and everything else it defines) keeps its name.  Used by tests/matrix for the
  teardown, oom and lock tests on Windows, UEFI and bare metal.
*/
#ifndef PORT_UNDER_TEST
#error "define PORT_UNDER_TEST as the port's source file, e.g. -DPORT_UNDER_TEST='\"ports/win32.c\"'"
#endif

#define custom_mmap tp_platform_mmap
#define custom_direct_mmap tp_platform_direct_mmap
#define custom_munmap tp_platform_munmap
#define init_lock tp_platform_init_lock
#define final_lock tp_platform_final_lock
#define acquire_lock tp_platform_acquire_lock
#define release_lock tp_platform_release_lock

#include PORT_UNDER_TEST
