/*
  startup.c -- vector table and fault handler for Cortex-M3 programs under QEMU (mps2-an385).

  newlib ships no Cortex-M vector table.  This one holds the initial stack pointer (top of
  PSRAM, see mps2-an385.ld) and sends reset to newlib's _start (rdimon-crt0: it sets up the
  stack, clears .bss, runs the constructors, reads the command line over semihosting and calls
  main, whose return value goes back to QEMU as its exit status).  Every other exception --
  a fault, or an interrupt nobody asked for -- reports which one over semihosting and ends the
  run with exit status 125, so a crash can never pass for a result or hang until a timeout.
*/
#include <stdint.h>

#include "semihost.h"

extern char __stack[];          /* mps2-an385.ld */
extern void _start(void);       /* newlib (rdimon-crt0) */

static void put_hex(uint32_t v) {
  char buf[11];
  int i;
  buf[0] = '0';
  buf[1] = 'x';
  for (i = 0; i < 8; i++)
    buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xFu];
  buf[10] = '\0';
  semihost_write0(buf);
}

/* Any exception but reset.  The exception number (IPSR) and the stacked PC say where. */
static void unexpected_exception(void) {
  uint32_t ipsr, msp;
  __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
  __asm__ volatile("mrs %0, msp" : "=r"(msp));
  semihost_write0("\ncortex-m: unexpected exception ");
  put_hex(ipsr & 0x1FFu);
  semihost_write0(" (3 = HardFault, 4 = MemManage, 5 = BusFault, 6 = UsageFault), PC ");
  /* Exception frame: r0 r1 r2 r3 r12 lr pc xpsr (assumes MSP, as nothing here uses PSP). */
  put_hex(((const uint32_t *)(uintptr_t)msp)[6]);
  semihost_write0("\n");
  semihost_exit(125);
}

typedef void (*vector)(void);

/* 16 system exceptions, then the board's interrupts (AN385 has 32; none is enabled). */
__attribute__((section(".vectors"), used)) static const vector vector_table[16 + 32] = {
    (vector)(uintptr_t)__stack, /* initial stack pointer */
    _start,                     /* reset */
    [2 ... 47] = unexpected_exception,
};
