/*
  dll_sample.c -- a program that takes its allocator from dlmalloc.dll.

  The DLL is malloc.c built for Windows without PORTABLE (its internal VirtualAlloc layer and
  USE_LOCKS=1).  This program imports the dl* names through the import library, as a program
  should: importing plain malloc/free from a DLL lets the link order decide which DLL they come
  from.  It then confirms through GetProcAddress that the DLL's "malloc" export is the very same
  function as "dlmalloc" (the .def file aliases it), uses the API from two threads at once, and
  prints "dll sample: PASS" or the failures.
*/
#include "../../malloc.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define WIN32_LEAN_AND_MEAN
#include <windows.h>

static unsigned failures;

static void check(int ok, const char *what) {
  if (!ok) {
    ++failures;
    printf("dll sample: FAIL: %s\n", what);
  }
}

/* Allocation work done by each thread; returns the number of damaged blocks. */
static DWORD WINAPI churn(LPVOID arg) {
  unsigned seed = (unsigned)(uintptr_t)arg, bad = 0;
  void *keep[256] = {0};
  for (unsigned i = 0; i < 20000; ++i) {
    unsigned slot = (i * 2654435761u + seed) % 256;
    size_t size = 1 + (i * 7919u + seed) % 3000;
    if (keep[slot] != NULL) {
      if (((unsigned char *)keep[slot])[0] != (unsigned char)slot)
        ++bad;
      dlfree(keep[slot]);
    }
    keep[slot] = dlmalloc(size);
    if (keep[slot] == NULL) {
      ++bad;
      continue;
    }
    memset(keep[slot], (int)slot, size);
  }
  for (unsigned s = 0; s < 256; ++s)
    dlfree(keep[s]);
  return bad;
}

int main(void) {
  HMODULE dll = GetModuleHandleA("dlmalloc.dll");
  check(dll != NULL, "dlmalloc.dll is not loaded in this process");
  if (dll != NULL) {
    FARPROC plain = GetProcAddress(dll, "malloc"), prefixed = GetProcAddress(dll, "dlmalloc");
    check(plain != NULL && prefixed != NULL, "malloc or dlmalloc is not exported");
    check(plain == prefixed, "the DLL's malloc export is not dlmalloc");
    check(GetProcAddress(dll, "free") == GetProcAddress(dll, "dlfree"),
          "the DLL's free export is not dlfree");
  }

  {
    char *p = (char *)dlmalloc(100);
    char *z = (char *)dlcalloc(50, 4);
    void *a = dlmemalign(4096, 10000);
    void *big = dlmalloc((size_t)4 << 20);
    int zero = z != NULL;
    for (int i = 0; zero && i < 200; ++i)
      zero = z[i] == 0;
    check(p != NULL && dlmalloc_usable_size(p) >= 100, "dlmalloc(100)");
    check(zero, "dlcalloc gives zeroed memory");
    check(a != NULL && ((uintptr_t)a & 4095) == 0, "dlmemalign(4096)");
    check(big != NULL, "a 4 MiB block");
    if (p != NULL) {
      strcpy(p, "kept across realloc");
      p = (char *)dlrealloc(p, 100000);
      check(p != NULL && strcmp(p, "kept across realloc") == 0, "dlrealloc keeps the contents");
    }
    dlfree(p);
    dlfree(z);
    dlfree(a);
    dlfree(big);
  }

  {
    HANDLE t[2];
    DWORD bad0 = 1, bad1 = 1;
    t[0] = CreateThread(NULL, 0, churn, (LPVOID)(uintptr_t)1, 0, NULL);
    t[1] = CreateThread(NULL, 0, churn, (LPVOID)(uintptr_t)2, 0, NULL);
    check(t[0] != NULL && t[1] != NULL, "CreateThread");
    if (t[0] != NULL && t[1] != NULL) {
      WaitForMultipleObjects(2, t, TRUE, INFINITE);
      GetExitCodeThread(t[0], &bad0);
      GetExitCodeThread(t[1], &bad1);
      CloseHandle(t[0]);
      CloseHandle(t[1]);
      check(bad0 == 0 && bad1 == 0, "two threads sharing the DLL's heap saw damaged blocks");
    }
  }

#if MSPACES
  {
    mspace m = create_mspace(0, 1);
    void *q = m != NULL ? mspace_malloc(m, 12345) : NULL;
    check(q != NULL, "an mspace from the DLL");
    if (m != NULL) {
      mspace_free(m, q);
      check(destroy_mspace(m) > 0, "destroy_mspace released its memory");
    }
  }
#endif

  printf("dll sample: footprint %lu bytes, maximum %lu\n", (unsigned long)dlmalloc_footprint(),
         (unsigned long)dlmalloc_max_footprint());
  if (failures == 0) {
    puts("dll sample: PASS");
    return 0;
  }
  printf("dll sample: FAIL (%u problems)\n", failures);
  return 1;
}
