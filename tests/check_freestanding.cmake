# check_freestanding.cmake -- malloc.c in PORTABLE mode needs nothing from the platform but
# the eight port hooks and memcpy/memset, also with the inline lock of PORT_LOCK_HEADER.
#
#   cmake -DCC=<C compiler> -DNM=<nm> -DSRC=<malloc.c> -DOUT=<scratch dir> -P ...
#
# malloc.c is compiled alone, freestanding, with no system headers (only the compiler's own
# include directory, for stddef.h/stdint.h), at several optimisation levels and options;
# `nm -u` must then list no symbol outside the allowed set.
cmake_minimum_required(VERSION 3.20)

include(${CMAKE_CURRENT_LIST_DIR}/require_vars.cmake)
require_vars(check_freestanding CC NM SRC OUT)

set(allowed custom_mmap custom_munmap custom_direct_mmap init_lock final_lock acquire_lock
    release_lock custom_abort memcpy memset)

execute_process(COMMAND "${CC}" -print-file-name=include OUTPUT_VARIABLE cc_include
                OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR NOT IS_DIRECTORY "${cc_include}" OR NOT EXISTS "${cc_include}/stddef.h")
  message(FATAL_ERROR "check_freestanding: ${CC} -print-file-name=include gave '${cc_include}'")
endif()

file(MAKE_DIRECTORY "${OUT}")
# Each run: "name|flags|symbols allowed besides the hooks", one for every PORTABLE
# configuration that CMake builds (the library's ports, the test variants, the samples) and the
# optimisation levels.  The thread cache's thread-local variable is reached through the
# GOT, whose symbol the linker itself defines.  -fno-stack-protector: a toolchain that turns stack protection on by
# default would otherwise add __stack_chk_fail, a dependency of that option rather than of the
# allocator (firmware builds disable it anyway).
set(runs
    "O0|-O0 -DUSE_LOCKS=2"
    "O2|-O2 -DUSE_LOCKS=2"
    "Os|-Os -DUSE_LOCKS=2"
    "O2-no-prefix|-O2 -DUSE_LOCKS=2 -UUSE_DL_PREFIX"
    "O2-footers-debug|-O2 -DUSE_LOCKS=2 -DFOOTERS=1 -DDEBUG=1"
    "O2-insecure|-O2 -DUSE_LOCKS=2 -DINSECURE=1"
    "O2-only-mspaces|-O2 -DUSE_LOCKS=2 -DONLY_MSPACES=1"
    "O2-no-locks|-O2 -DUSE_LOCKS=0"
    "O2-clears|-O2 -DUSE_LOCKS=2 -DMMAP_CLEARS=1"
    "O2-tcache|-O2 -DUSE_LOCKS=2 -DMALLOC_THREAD_CACHE=1 -DFOOTERS=1 -DDEBUG=1|_GLOBAL_OFFSET_TABLE_"
    "O2-tcache-no-mspaces|-O2 -DUSE_LOCKS=2 -DMALLOC_THREAD_CACHE=1 -UMSPACES|_GLOBAL_OFFSET_TABLE_"
    "O2-lock-header|-O2 -DUSE_LOCKS=2 '-DPORT_LOCK_HEADER=\"ports/posix_lock.h\"'")
set(failed)
foreach(run IN LISTS runs)
  string(REPLACE "|" ";" parts "${run}")
  list(GET parts 0 name)
  list(GET parts 1 flags)
  set(run_allowed ${allowed})
  list(LENGTH parts nparts)
  if(nparts GREATER 2)
    list(GET parts 2 extra_allowed)
    separate_arguments(extra_allowed UNIX_COMMAND "${extra_allowed}")
    list(APPEND run_allowed ${extra_allowed})
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  set(obj "${OUT}/malloc-${name}.o")
  execute_process(
    COMMAND "${CC}" -DPORTABLE=1 -DUSE_DL_PREFIX -DMSPACES=1 ${flags}
            -ffreestanding -fno-builtin -fno-stack-protector -nostdinc -isystem "${cc_include}"
            -c "${SRC}" -o "${obj}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check_freestanding: ${name} compile failed:\n${out}${err}")
  endif()
  if(err)
    message(STATUS "check_freestanding: ${name} compiler messages:\n${err}")
  endif()
  execute_process(COMMAND "${NM}" -u "${obj}" OUTPUT_VARIABLE undefined RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check_freestanding: ${NM} -u ${obj} failed")
  endif()
  string(REGEX MATCHALL "[^ \t\n]+\n" lines "${undefined}")
  set(names)
  foreach(line IN LISTS lines)
    string(STRIP "${line}" sym)
    list(APPEND names ${sym})
  endforeach()
  set(extra)
  foreach(sym IN LISTS names)
    if(NOT sym IN_LIST run_allowed)
      list(APPEND extra ${sym})
    endif()
  endforeach()
  message(STATUS "check_freestanding: ${name}: undefined symbols: ${names}")
  if(extra)
    list(APPEND failed "${name}: ${extra}")
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "check_freestanding: symbols outside the port interface: ${failed}")
endif()
