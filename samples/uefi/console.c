/* samples/uefi/console.c -- see console.h. */
#include "console.h"

static EFI_SYSTEM_TABLE *console_sys;

void uefi_console_init(EFI_SYSTEM_TABLE *system_table) { console_sys = system_table; }

static void debugcon_write(const char *text) {
#if defined(__x86_64__) || defined(__i386__)
  for (; *text != '\0'; ++text)
    __asm__ __volatile__("outb %0, %1" : : "a"(*text), "Nd"((unsigned short)0x402));
#else
  (void)text;
#endif
}

/* ConOut takes UCS-2: converted in pieces through a buffer on the stack. */
static void conout_write(const char *text) {
  CHAR16 buf[130];
  UINTN n = 0;
  if (console_sys == NULL)
    return;
  for (;; ++text) {
    if (*text == '\0' || n >= 127) {
      buf[n] = 0;
      if (n > 0)
        console_sys->ConOut->OutputString(console_sys->ConOut, buf);
      n = 0;
      if (*text == '\0')
        return;
    }
    if (*text == '\n')
      buf[n++] = '\r';
    buf[n++] = (CHAR16)(unsigned char)*text;
  }
}

void uefi_write(const char *text) {
  conout_write(text);
  debugcon_write(text);
}
