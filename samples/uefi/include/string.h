/*
  samples/uefi/include/string.h -- the few <string.h> functions the UEFI self-test uses, for
  the clang + lld-link build, whose freestanding target has no C library headers at all.
  samples/uefi/mem.c defines them.  (The gnu-efi + gcc build uses the compiler's usual headers
  and takes memset/memcpy from libefi.)
*/
#ifndef SAMPLES_UEFI_STRING_H
#define SAMPLES_UEFI_STRING_H

#include <stddef.h>

void *memset(void *dest, int c, size_t n);
void *memcpy(void *dest, const void *src, size_t n);
void *memmove(void *dest, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif /* SAMPLES_UEFI_STRING_H */
