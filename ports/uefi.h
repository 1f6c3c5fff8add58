/*
  ports/uefi.h -- what an application using ports/uefi.c must call.

  Include the firmware headers first (gnu-efi: <efi.h>; EDK2: <Uefi.h>), then this file.

  dlmalloc_uefi_init(system_table)
    Hands the port the EFI system table, from which it takes the boot services (page
    allocation, TPL) and the console (abort messages).  Call it once at the start of efi_main,
    before the first allocation; calling it again with the same table is harmless.
    With EDK2 the call is optional: until it is made the port uses gST, which the
    UefiBootServicesTableLib constructor has already set.  With gnu-efi it is required unless
    the port is built with DLMALLOC_UEFI_GNU_EFI_LIB=1 and the application called InitializeLib
    (the port then falls back to gnu-efi's ST).  Without a table every allocation fails cleanly
    (NULL) and an abort can only halt silently.

  Rules for users of the allocator on UEFI (see the header of ports/uefi.c for the reasons):
    - call it at TPL_NOTIFY or below, and only on the bootstrap processor;
    - not after ExitBootServices(), unless every heap in use is an mspace built on memory
      obtained beforehand (create_mspace_with_base) that never needs to grow;
    - pages are not zeroed unless the port is built with DLMALLOC_UEFI_ZERO_PAGES=1.
*/
#ifndef PORTABLE_DLMALLOC_PORTS_UEFI_H
#define PORTABLE_DLMALLOC_PORTS_UEFI_H

#ifdef __cplusplus
extern "C" {
#endif

void dlmalloc_uefi_init(EFI_SYSTEM_TABLE *system_table);

#ifdef __cplusplus
}
#endif

#endif /* PORTABLE_DLMALLOC_PORTS_UEFI_H */
