/*
  samples/uefi/mem.c -- memory and string primitives for the clang + lld-link UEFI build.

  Nothing links a C library into that image, yet the compiler may emit calls to memset and
  memcpy on its own (structure copies, large zero-initialisations) and malloc.c uses both.
  Byte loops are enough for a self-test.  This file must be compiled with -ffreestanding (as
  build.sh does), so that the compiler does not turn these very loops back into calls to
  memset and memcpy.
*/
#include <stddef.h>

void *memset(void *dest, int c, size_t n) {
  unsigned char *d = (unsigned char *)dest;
  while (n-- > 0)
    *d++ = (unsigned char)c;
  return dest;
}

void *memcpy(void *dest, const void *src, size_t n) {
  unsigned char *d = (unsigned char *)dest;
  const unsigned char *s = (const unsigned char *)src;
  while (n-- > 0)
    *d++ = *s++;
  return dest;
}

void *memmove(void *dest, const void *src, size_t n) {
  unsigned char *d = (unsigned char *)dest;
  const unsigned char *s = (const unsigned char *)src;
  if (d < s) {
    while (n-- > 0)
      *d++ = *s++;
  } else {
    while (n-- > 0) /* copy from the end, in case the ranges overlap */
      d[n] = s[n];
  }
  return dest;
}

int memcmp(const void *a, const void *b, size_t n) {
  const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
  for (; n > 0; --n, ++x, ++y)
    if (*x != *y)
      return *x < *y ? -1 : 1;
  return 0;
}

size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n] != '\0')
    ++n;
  return n;
}
