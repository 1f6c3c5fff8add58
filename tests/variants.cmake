# variants.cmake -- the configurations of malloc.c the test suite is built in, as data.
# Read by tests/CMakeLists.txt (every variant, with the instrumented port or malloc.c's own OS
# layer) and tests/matrix/CMakeLists.txt (the variants it builds on Windows, UEFI and bare
# metal, on their real ports).
#
# One row per variant: "<name> | <scale> | <macros>", where
#   scale   which scale its random and threads tests run at: main (DLMALLOC_TEST_SCALE),
#           matrix (DLMALLOC_TEST_MATRIX_SCALE) or debug (DLMALLOC_TEST_DEBUG_SCALE, for the
#           DEBUG builds, whose checkers walk the heap)
#   macros  what malloc.c is built with besides USE_DL_PREFIX and MSPACES=1; "hosted" first
#           means malloc.c's own OS layer instead of PORTABLE with a port (Unix only)
set(DLMALLOC_TEST_VARIANT_ROWS
    "default            | main   |"
    "footers            | matrix | FOOTERS=1"
    "nolocks            | matrix | USE_LOCKS=0"
    "onlymspaces        | matrix | ONLY_MSPACES=1"
    "insecure           | matrix | INSECURE=1"
    "debug              | debug  | DEBUG=1"
    "debugfooters       | debug  | DEBUG=1 FOOTERS=1"
    "clears0            | matrix | MMAP_CLEARS=0"
    "clears1            | matrix | MMAP_CLEARS=1"
    "nostats            | matrix | NO_MALLOC_STATS=1"
    # a quarter of the default 64 KiB: four times the segments, the mapping paths run more
    "granularity16k     | matrix | DEFAULT_GRANULARITY=16384"
    # a cache line's alignment, wider than the default: chunk sizes in steps of 64, while top
    # keeps the remainder its segment began with; with every invariant checker
    "align64            | debug  | DEBUG=1 MALLOC_ALIGNMENT=64"
    "internal           | matrix | hosted USE_LOCKS=1"
    # the per-thread cache (malloc.c section 16): the port build; with every invariant
    # checker and the owner checks; the hosted build, whose threads return their caches
    # by themselves at exit
    "tcache             | matrix | MALLOC_THREAD_CACHE=1"
    "tcachedebugfooters | debug  | DEBUG=1 FOOTERS=1 MALLOC_THREAD_CACHE=1"
    "tcacheinternal     | matrix | hosted USE_LOCKS=1 MALLOC_THREAD_CACHE=1"
    # the cache at a cache line's alignment, with every invariant checker: its lists' chunk
    # sizes in steps of 64, a quarter as many small lists, each fuller (the Linux matrix
    # builds only default, debugfooters and tcache: this one runs in the host build)
    "tcachealign64      | debug  | DEBUG=1 MALLOC_ALIGNMENT=64 MALLOC_THREAD_CACHE=1")

set(DLMALLOC_TEST_VARIANTS)
foreach(_row IN LISTS DLMALLOC_TEST_VARIANT_ROWS)
  if(NOT _row MATCHES "^([a-z0-9]+) *[|] *(main|matrix|debug) *[|] *(.*)$")
    message(FATAL_ERROR "tests/variants.cmake: a row is not \"<name> | <scale> | <macros>\": "
                        "\"${_row}\"")
  endif()
  set(_name ${CMAKE_MATCH_1})
  list(APPEND DLMALLOC_TEST_VARIANTS ${_name})
  set(DLMALLOC_TEST_VARIANT_SCALE_${_name} ${CMAKE_MATCH_2})
  string(REGEX REPLACE " +" ";" _macros "${CMAKE_MATCH_3}")
  list(REMOVE_ITEM _macros "")
  set(DLMALLOC_TEST_VARIANT_HOSTED_${_name} OFF)
  if("hosted" IN_LIST _macros)
    set(DLMALLOC_TEST_VARIANT_HOSTED_${_name} ON)
    list(REMOVE_ITEM _macros hosted)
  endif()
  set(DLMALLOC_TEST_VARIANT_MACROS_${_name} USE_DL_PREFIX MSPACES=1 ${_macros})
endforeach()
