/*
  ports/win32.c -- the eight hooks for Windows (XP's successors: Vista or later for SRW locks).

  Memory:  VirtualAlloc(MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE) and VirtualFree(MEM_RELEASE).
           MEM_RELEASE can only free a whole reservation (size 0, the exact base address); that
           is exactly what the core asks for, since custom_munmap only ever receives one region
           one earlier map returned.  Pages from VirtualAlloc are zero-filled, so MMAP_CLEARS=1
           is correct with this port.  Reservations are made at 64 KiB boundaries, so a core
           whose granularity is below 64 KiB wastes address space (not memory).
  Locks:   an SRWLOCK stored directly in the core's void* slot.  SRWLOCK_INIT is all-zero, so a
           slot the core never initialised is already a valid unlocked lock, and an SRW lock
           needs no destruction.  Only the exclusive mode is used.
  Abort:   "dlmalloc: <reason>\r\n" to the stderr handle with WriteFile and to a debugger with
           OutputDebugStringA; then a break into the debugger if one is attached, then
           TerminateProcess(self, 3) -- the exit code abort() gives on Windows.  ExitProcess is
           avoided on purpose: it runs atexit handlers and DLL_PROCESS_DETACH notifications,
           any of which may call free() on the very heap that was just found corrupt.
*/
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0600
#undef _WIN32_WINNT
#define _WIN32_WINNT 0x0600 /* SRW locks appeared in Vista */
#endif
#include <windows.h>

#include "../malloc.h"

/* Works in C89 and C11 alike, and under MSVC without /std:c11. */
#define WIN32_PORT_STATIC_ASSERT(cond, name) typedef char win32_port_assert_##name[(cond) ? 1 : -1]

/* The SRWLOCK must fit in the slot, and must not need more alignment than the slot has. */
WIN32_PORT_STATIC_ASSERT(sizeof(SRWLOCK) <= sizeof(void *), srwlock_fits_in_slot);
WIN32_PORT_STATIC_ASSERT(__alignof(SRWLOCK) <= __alignof(void *), srwlock_alignment);

/* ==== Memory ================================================================================ */

static void *win32_map(size_t length) {
  void *p = VirtualAlloc(NULL, length, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
  return p != NULL ? p : CUSTOM_MMAP_FAILURE;
}

void *custom_mmap(size_t length) { return win32_map(length); }

void *custom_direct_mmap(size_t length) { return win32_map(length); }

int custom_munmap(void *ptr, size_t length) {
  /* MEM_RELEASE demands size 0 and frees the whole reservation made at ptr; length is
     implied, because the core never releases part of a region. */
  (void)length;
  return VirtualFree(ptr, 0, MEM_RELEASE) ? 0 : -1;
}

/* ==== Locks ================================================================================= */

static PSRWLOCK slot_lock(void **lock) { return (PSRWLOCK)(void *)lock; }

void init_lock(void **lock) { InitializeSRWLock(slot_lock(lock)); }

/* SRW locks hold no kernel object, so there is nothing to release. */
void final_lock(void **lock) { (void)lock; }

void acquire_lock(void **lock) { AcquireSRWLockExclusive(slot_lock(lock)); }

void release_lock(void **lock) { ReleaseSRWLockExclusive(slot_lock(lock)); }

/* ==== Abort ================================================================================= */

/* Append src to the fixed buffer at *pos, truncating rather than overflowing. */
static void append(char *buf, size_t cap, size_t *pos, const char *src) {
  while (*src != '\0' && *pos + 1 < cap)
    buf[(*pos)++] = *src++;
  buf[*pos] = '\0';
}

void custom_abort(void) {
  /* One buffer on the stack: the message must not come from the heap that just failed, and
     OutputDebugStringA wants a single string. */
  char msg[512];
  size_t len = 0;
  const char *reason = malloc_abort_reason();
  HANDLE err = GetStdHandle(STD_ERROR_HANDLE);

  if (reason == NULL || reason[0] == '\0')
    reason = "unspecified error";
  msg[0] = '\0';
  append(msg, sizeof msg, &len, "dlmalloc: ");
  append(msg, sizeof msg, &len, reason);
  append(msg, sizeof msg, &len, "\r\n");

  /* GUI programs have no stderr: the handle is NULL or invalid, and then only the debugger
     channel is left. */
  if (err != NULL && err != INVALID_HANDLE_VALUE) {
    DWORD done = 0;
    (void)WriteFile(err, msg, (DWORD)len, &done, NULL);
  }
  OutputDebugStringA(msg);

  /* Stop where the damage was found when someone is watching; otherwise end like abort(). */
  if (IsDebuggerPresent())
    DebugBreak();
  TerminateProcess(GetCurrentProcess(), 3);
  for (;;) /* TerminateProcess on ourselves does not return; keep the compiler sure of it */
    Sleep(INFINITE);
}
