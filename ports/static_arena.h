/*
  ports/static_arena.h -- what an application using ports/static_arena.c must call.

  The port serves the allocator from one block of memory the application owns: a static array,
  or a region the linker script defines (for example everything between the end of .bss and the
  bottom of the stack).  See the header of ports/static_arena.c for the design and options.
*/
#ifndef PORTABLE_DLMALLOC_PORTS_STATIC_ARENA_H
#define PORTABLE_DLMALLOC_PORTS_STATIC_ARENA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* dlmalloc_arena_init(base, size): hand [base, base + size) to the allocator.  The start is
   rounded up and the end down to ARENA_PAGE_SIZE; returns the bytes usable after that, 0 when
   nothing is left (every allocation will then fail).  Call it before the first allocation, from
   one thread.  Calling it again replaces the arena: only do that once every heap that used the
   old one has been torn down (malloc_teardown, destroy_mspace).  The memory need not be zeroed. */
size_t dlmalloc_arena_init(void *base, size_t size);

/* dlmalloc_arena_available(): bytes of the arena not currently handed to the allocator.  Equals
   the value dlmalloc_arena_init returned once every region has been given back. */
size_t dlmalloc_arena_available(void);

/* With ARENA_LOCKS_IRQ on a CPU other than Cortex-M (and unless ARENA_IRQ_SAVE/ARENA_IRQ_RESTORE
   are defined as macros), the application provides these two: save the interrupt-enable state
   and disable interrupts; restore the state save returned. */
uintptr_t dlmalloc_arena_irq_save(void);
void dlmalloc_arena_irq_restore(uintptr_t state);

/* Set by the default custom_abort just before it stops, so a debugger can read why. */
extern const char *volatile dlmalloc_arena_abort_reason;

#ifdef __cplusplus
}
#endif

#endif /* PORTABLE_DLMALLOC_PORTS_STATIC_ARENA_H */
