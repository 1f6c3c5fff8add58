/*
  ports/uefi.c -- the eight hooks for UEFI applications and boot-time drivers.

  Firmware headers
    Built against gnu-efi by default (<efi.h>; on x86_64 compile with -DGNU_EFI_USE_MS_ABI so
    firmware calls can be made directly).  Define DLMALLOC_UEFI_EDK2 to build inside an EDK2
    module instead (MdePkg: Uefi.h, BaseLib, UefiBootServicesTableLib; with a non-GCC/Clang
    compiler also SynchronizationLib).  The section "Firmware access" is the only place where
    the two differ.  Only the gnu-efi build is compiled and booted by the tests: Debian
    packages no EDK2 headers or libraries (its edk2 packages hold firmware images only), so
    the EDK2 lines are kept to those few includes and calls, written to MdePkg's documented
    interfaces but never compiled here (docs/uefi.md).

  System table
    The application passes it with dlmalloc_uefi_init() (ports/uefi.h) before allocating.
    EDK2 builds fall back to gST when that was not done; gnu-efi builds fall back to gnu-efi's
    ST only when built with DLMALLOC_UEFI_GNU_EFI_LIB=1, because referencing ST drags libefi
    into programs that may not link it.  dlmalloc_uefi_init(NULL) detaches the port (for use
    after ExitBootServices): maps then fail and locks no longer touch the TPL.

  Memory
    AllocatePages(AllocateAnyPages, DLMALLOC_UEFI_MEMORY_TYPE, n) and FreePages(addr, n), with n
    whole EFI pages (4096 bytes) rounded up from the length in the same way in both hooks.
    Applications keep the default EfiLoaderData; boot-service drivers should build with
    -DDLMALLOC_UEFI_MEMORY_TYPE=EfiBootServicesData.
    Zeroing: firmware does not clear the pages it hands out, and this port does NOT clear them
    either by default.  The core must therefore be built with MMAP_CLEARS=0, which is the
    PORTABLE default (the build stops below if MMAP_CLEARS=1 is seen).  Clearing every page at
    map time would cost a pass over each new segment even though only calloc needs zeroes, and
    calloc already clears what it returns when MMAP_CLEARS=0.  Define DLMALLOC_UEFI_ZERO_PAGES=1
    to have the port clear pages with SetMem() (then MMAP_CLEARS=1 is allowed).

  Locks
    Concurrency in UEFI comes from event notification functions that interrupt the main flow
    at TPL_CALLBACK or TPL_NOTIFY.  acquire_lock therefore first raises the TPL to TPL_NOTIFY --
    so no callback can run on this processor while the lock is held -- and only then takes a
    test-and-set flag, spinning with a pause hint.  The order matters: taking the flag first
    would let a callback interrupt the holder and spin forever on a flag that can never be
    released.  The old TPL must be restored by release_lock, and the slot is the only storage
    that belongs to the lock, so the slot holds everything:
        bit 0      1 = held (an all-zero slot is a free lock, as the core requires)
        bit 1      1 = the TPL was raised and must be restored
        bits 2..   the TPL to restore (TPL values are at most 31)
    The whole word is written by one compare-and-swap from zero, so the saved TPL is published
    atomically with the ownership; only the owner reads it back.  The flag itself only matters
    if a second processor ever uses the heap; on the bootstrap processor the raised TPL
    already excludes everyone else.  Boot services (RaiseTPL, AllocatePages) may only be
    called on the bootstrap processor, at TPL_NOTIFY or below, so the same holds for the
    allocator.

  Abort
    custom_abort writes "dlmalloc: <reason>" on ConOut (and on StdErr when that is a different
    device), then halts in a pause loop: the message stays on screen and the machine state is
    preserved for a debugger, whereas a reset or shutdown would erase the only evidence on
    hardware whose console is the screen.  Automated runs (QEMU tests) build with
    DLMALLOC_UEFI_ABORT_SHUTDOWN=1 to power off with ResetSystem(EfiResetShutdown, EFI_ABORTED)
    instead, so a failure ends the run rather than hanging until a timeout.
*/

/* ==== Options =============================================================================== */

#ifndef DLMALLOC_UEFI_ZERO_PAGES
#define DLMALLOC_UEFI_ZERO_PAGES 0
#endif /* DLMALLOC_UEFI_ZERO_PAGES */

#ifndef DLMALLOC_UEFI_ABORT_SHUTDOWN
#define DLMALLOC_UEFI_ABORT_SHUTDOWN 0
#endif /* DLMALLOC_UEFI_ABORT_SHUTDOWN */

#ifndef DLMALLOC_UEFI_GNU_EFI_LIB
#define DLMALLOC_UEFI_GNU_EFI_LIB 0
#endif /* DLMALLOC_UEFI_GNU_EFI_LIB */

#ifndef DLMALLOC_UEFI_MEMORY_TYPE
#define DLMALLOC_UEFI_MEMORY_TYPE EfiLoaderData
#endif /* DLMALLOC_UEFI_MEMORY_TYPE */

#if defined(MMAP_CLEARS) && MMAP_CLEARS && !DLMALLOC_UEFI_ZERO_PAGES
/* Firmware pages are not zero-filled. */
#error "build the core with MMAP_CLEARS=0, or this port with DLMALLOC_UEFI_ZERO_PAGES=1"
#endif

/* ==== Firmware access ======================================================================= */

#if defined(DLMALLOC_UEFI_EDK2)
#include <Uefi.h>
#include <Library/BaseLib.h>                   /* CpuPause */
#include <Library/UefiBootServicesTableLib.h>  /* gST */
#if !defined(__GNUC__) && !defined(__clang__)
#include <Library/SynchronizationLib.h>        /* InterlockedCompareExchangePointer */
#endif
#define UEFI_LIBRARY_SYSTEM_TABLE gST
typedef EFI_SIMPLE_TEXT_OUTPUT_PROTOCOL uefi_text_out;
#else /* gnu-efi */
#include <efi.h>
typedef SIMPLE_TEXT_OUTPUT_INTERFACE uefi_text_out;
#if DLMALLOC_UEFI_GNU_EFI_LIB
#include <efilib.h>
#define UEFI_LIBRARY_SYSTEM_TABLE ST
#else
#define UEFI_LIBRARY_SYSTEM_TABLE NULL
#endif
#if defined(__x86_64__) && !defined(HAVE_USE_MS_ABI)
#error "build with -DGNU_EFI_USE_MS_ABI: this port calls firmware functions directly"
#endif
#endif

#include "../malloc.h"
#include "uefi.h"

/* The table given by dlmalloc_uefi_init; uefi_detached is set by dlmalloc_uefi_init(NULL). */
static EFI_SYSTEM_TABLE *uefi_table;
static int uefi_detached;

void dlmalloc_uefi_init(EFI_SYSTEM_TABLE *system_table) {
  uefi_table = system_table;
  uefi_detached = (system_table == NULL);
}

static EFI_SYSTEM_TABLE *system_table(void) {
  if (uefi_detached)
    return NULL;
  return uefi_table != NULL ? uefi_table : UEFI_LIBRARY_SYSTEM_TABLE;
}

static EFI_BOOT_SERVICES *boot_services(void) {
  EFI_SYSTEM_TABLE *st = system_table();
  return st != NULL ? st->BootServices : NULL;
}

static inline void cpu_pause(void) {
#if defined(DLMALLOC_UEFI_EDK2)
  CpuPause();
#elif defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__) || defined(__arm__)
  __asm__ __volatile__("yield" ::: "memory");
#else
  __asm__ __volatile__("" ::: "memory");
#endif
}

/* Atomic access to the lock slot. */
#if defined(__GNUC__) || defined(__clang__)
static inline int slot_claim(void **slot, void *value) {
  void *expected = NULL;
  return __atomic_compare_exchange_n(slot, &expected, value, 0, __ATOMIC_ACQUIRE,
                                     __ATOMIC_RELAXED);
}
static inline void *slot_peek(void **slot) { return __atomic_load_n(slot, __ATOMIC_RELAXED); }
static inline void slot_clear(void **slot) { __atomic_store_n(slot, NULL, __ATOMIC_RELEASE); }
#elif defined(DLMALLOC_UEFI_EDK2)
/* SynchronizationLib's exchange is a full barrier, which covers acquire and release alike. */
static inline int slot_claim(void **slot, void *value) {
  return InterlockedCompareExchangePointer(slot, NULL, value) == NULL;
}
static inline void *slot_peek(void **slot) { return *(void *volatile *)slot; }
static inline void slot_clear(void **slot) {
  (void)InterlockedCompareExchangePointer(slot, *slot, NULL);
}
#else
#error "ports/uefi.c needs GCC/Clang atomics or EDK2's SynchronizationLib"
#endif

/* ==== Memory ================================================================================ */

/* Whole EFI pages covering length; the same rounding in map and unmap keeps them paired. */
static UINTN page_count(size_t length) {
  return (UINTN)(length / EFI_PAGE_SIZE + (length % EFI_PAGE_SIZE != 0));
}

static void *uefi_map(size_t length) {
  EFI_BOOT_SERVICES *bs = boot_services();
  EFI_PHYSICAL_ADDRESS addr = 0;
  UINTN pages = page_count(length);

  if (bs == NULL || pages == 0)
    return CUSTOM_MMAP_FAILURE;
  if (EFI_ERROR(bs->AllocatePages(AllocateAnyPages, DLMALLOC_UEFI_MEMORY_TYPE, pages, &addr)))
    return CUSTOM_MMAP_FAILURE;
#if DLMALLOC_UEFI_ZERO_PAGES
  bs->SetMem((VOID *)(UINTN)addr, pages * EFI_PAGE_SIZE, 0);
#endif
  /* Boot-time memory is identity-mapped, so the physical address is the pointer. */
  return (void *)(UINTN)addr;
}

void *custom_mmap(size_t length) { return uefi_map(length); }

/* Large chunks get pages of their own, so that freeing one gives the pages back at once. */
void *custom_direct_mmap(size_t length) { return uefi_map(length); }

int custom_munmap(void *ptr, size_t length) {
  EFI_BOOT_SERVICES *bs = boot_services();
  if (bs == NULL)
    return -1; /* the core then keeps the region, which is all we can offer */
  return EFI_ERROR(bs->FreePages((EFI_PHYSICAL_ADDRESS)(UINTN)ptr, page_count(length))) ? -1 : 0;
}

/* ==== Locks ================================================================================= */

#define LOCK_HELD ((UINTN)1)
#define LOCK_TPL_RAISED ((UINTN)2)
#define LOCK_TPL_SHIFT 2

void init_lock(void **lock) { slot_clear(lock); }

/* The lock owns nothing outside its slot. */
void final_lock(void **lock) { (void)lock; }

void acquire_lock(void **lock) {
  EFI_BOOT_SERVICES *bs = boot_services();
  UINTN word = LOCK_HELD;

  if (bs != NULL) /* raise before spinning: see "Locks" in the header comment */
    word |= LOCK_TPL_RAISED | ((UINTN)bs->RaiseTPL(TPL_NOTIFY) << LOCK_TPL_SHIFT);
  while (!slot_claim(lock, (void *)word)) {
    while (slot_peek(lock) != NULL) /* wait by reading, so the cache line is not bounced */
      cpu_pause();
  }
}

void release_lock(void **lock) {
  /* Only the owner gets here, and nobody else writes a held slot, so this read is stable. */
  UINTN word = (UINTN)slot_peek(lock);
  slot_clear(lock);
  if (word & LOCK_TPL_RAISED) {
    EFI_BOOT_SERVICES *bs = boot_services();
    /* The port cannot be detached legitimately while a lock is held, but check anyway rather
       than call through a table that has been withdrawn. */
    if (bs != NULL)
      bs->RestoreTPL((EFI_TPL)(word >> LOCK_TPL_SHIFT));
  }
}

/* ==== Abort ================================================================================= */

/* Kept for a debugger: where to look after the machine stopped in custom_abort. */
const char *volatile dlmalloc_uefi_abort_reason;

/* Print an ASCII string on a text console, converting through a small stack buffer: the heap
   cannot be used here and the firmware wants UCS-2. */
static void console_print(uefi_text_out *con, const char *text) {
  CHAR16 buf[65];
  UINTN n = 0;
  if (con == NULL)
    return;
  for (;; ++text) {
    if (*text == '\0' || n == sizeof buf / sizeof buf[0] - 1) {
      buf[n] = 0;
      if (n > 0)
        (void)con->OutputString(con, buf);
      n = 0;
      if (*text == '\0')
        return;
    }
    buf[n++] = (CHAR16)(unsigned char)*text;
  }
}

void custom_abort(void) {
  EFI_SYSTEM_TABLE *st = system_table();
  const char *reason = malloc_abort_reason();

  if (reason == NULL || reason[0] == '\0')
    reason = "unspecified error";
  dlmalloc_uefi_abort_reason = reason;
  if (st != NULL) {
    uefi_text_out *outs[2];
    outs[0] = st->ConOut;
    outs[1] = st->StdErr != st->ConOut ? st->StdErr : NULL;
    for (int i = 0; i < 2; ++i) {
      console_print(outs[i], "dlmalloc: ");
      console_print(outs[i], reason);
      console_print(outs[i], "\r\n");
    }
#if DLMALLOC_UEFI_ABORT_SHUTDOWN
    st->RuntimeServices->ResetSystem(EfiResetShutdown, EFI_ABORTED, 0, NULL);
#endif
  }
  for (;;)
    cpu_pause();
}
