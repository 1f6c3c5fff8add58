/*
  semihost.h -- the two Arm semihosting calls the Cortex-M test programs need, made directly
  (bkpt 0xAB), so that reporting works even where the C library cannot be trusted: in a fault
  handler, or in custom_abort after the heap was found corrupt.  QEMU answers them with
  -semihosting-config enable=on.
*/
#ifndef TESTS_MATRIX_SEMIHOST_H
#define TESTS_MATRIX_SEMIHOST_H

#include <stdint.h>

#define SEMIHOST_SYS_WRITE0 0x04u        /* write a NUL-terminated string to the console */
#define SEMIHOST_SYS_EXIT_EXTENDED 0x20u /* stop, with an exit status */
#define SEMIHOST_ADP_STOPPED_APPLICATION_EXIT 0x20026u

static inline uintptr_t semihost_call(uintptr_t op, const void *arg) {
  register uintptr_t r0 __asm__("r0") = op;
  register const void *r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

static inline void semihost_write0(const char *text) {
  semihost_call(SEMIHOST_SYS_WRITE0, text);
}

__attribute__((noreturn)) static inline void semihost_exit(int status) {
  const uintptr_t block[2] = {SEMIHOST_ADP_STOPPED_APPLICATION_EXIT, (uintptr_t)(uint32_t)status};
  for (;;)
    semihost_call(SEMIHOST_SYS_EXIT_EXTENDED, block);
}

#endif /* TESTS_MATRIX_SEMIHOST_H */
