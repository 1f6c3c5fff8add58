/*
  in_libdlmalloc.h -- for the integration programs: is a symbol the drop-in's?  Each program
  checks that libdlmalloc.so really serves it (preloaded or linked), not the C library.
  Needs _GNU_SOURCE before the first system header (dladdr).
*/
#ifndef TESTS_INTEGRATION_IN_LIBDLMALLOC_H
#define TESTS_INTEGRATION_IN_LIBDLMALLOC_H

#include <dlfcn.h>
#include <string.h>

/* 1 if sym lies in a loaded object whose file name contains "libdlmalloc". */
static inline int in_libdlmalloc(const void *sym) {
  Dl_info info;
  return sym != NULL && dladdr(sym, &info) != 0 && info.dli_fname != NULL &&
         strstr(info.dli_fname, "libdlmalloc") != NULL;
}

#endif /* TESTS_INTEGRATION_IN_LIBDLMALLOC_H */
