/*
  board.c -- what the test suite expects of its platform, for bare-metal Cortex-M3 with
  ports/static_arena.c, linked into every test program of the Cortex-M matrix target.

  - The arena: all of PSRAM below the stack ([__arena_start, __arena_end) in mps2-an385.ld,
    almost 16 MiB), handed to the port by a constructor, so the tests' own main() runs
    unchanged.  The constructor first checks that the stack really lies above the arena.
  - th_write: the harness's single output function (tests/harness.h, built with TH_HOSTED=0),
    over semihosting -- no C library involved.
  - custom_abort: replaces the port's default (a silent spin, meant for a debugger) with what
    tests/test_port.c does on hosts: "custom_abort: <malloc_abort_reason()>" on the console and
    exit status 86, which the death tests match.
*/
#include <stddef.h>
#include <stdint.h>

#include "harness.h"
#include "malloc.h"
#include "ports/static_arena.h"
#include "semihost.h"

#define BOARD_ABORT_EXIT_CODE 86 /* the same as tests/test_port.h's TP_ABORT_EXIT_CODE */

extern unsigned char __arena_start[], __arena_end[], __stack[]; /* mps2-an385.ld */

__attribute__((constructor)) static void board_init_arena(void) {
  uintptr_t sp;
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  if (sp <= (uintptr_t)__arena_end || sp > (uintptr_t)__stack) {
    semihost_write0("board: the stack pointer is not above the arena (see mps2-an385.ld)\n");
    semihost_exit(125);
  }
  if (dlmalloc_arena_init(__arena_start, (size_t)(__arena_end - __arena_start)) == 0) {
    semihost_write0("board: dlmalloc_arena_init refused the arena\n");
    semihost_exit(125);
  }
}

void th_write(const char *text) { semihost_write0(text); }

void custom_abort(void) {
  const char *reason = malloc_abort_reason();
  semihost_write0("custom_abort: ");
  semihost_write0(reason != NULL && reason[0] != '\0' ? reason : "(no reason recorded)");
  semihost_write0("\n");
  semihost_exit(BOARD_ABORT_EXIT_CODE);
}
