# check_symbols.cmake -- every function malloc.h declares is defined (nm type T) in a library.
# On 64-bit big-endian POWER (ELFv1) a function's symbol names its descriptor in the data
# section .opd (nm type D): there nm's System V format must show it as a FUNC in .opd.
#
#   cmake -DNM=<nm> -DLIB=<libdlmalloc.a> -DHEADER=<malloc.h> [-DDL_PREFIX=ON|OFF]
#         [-DMSPACES=ON|OFF] [-DONLY_MSPACES=ON|OFF] [-DHOOKS=ON|OFF] -P check_symbols.cmake
#
# The names come from the DLMALLOC_EXPORT declarations of malloc.h (so a function added to
# the header is checked without touching this script), plus malloc_abort_reason.  Without
# USE_DL_PREFIX the exported names lose their "dl".  HOOKS=ON also requires the eight port
# hooks, for a library built with a port.
cmake_minimum_required(VERSION 3.20)

include(${CMAKE_CURRENT_LIST_DIR}/require_vars.cmake)
require_vars(check_symbols NM LIB HEADER)

file(READ "${HEADER}" header)
# Cut the header into its mspace part and the rest, so the options can select them.
string(FIND "${header}" "==== 5. mspaces" mspace_start)
string(FIND "${header}" "==== 6. The port interface" hooks_start)
if(mspace_start LESS 0 OR hooks_start LESS mspace_start)
  message(FATAL_ERROR "check_symbols: cannot find sections 5 and 6 in ${HEADER}")
endif()
math(EXPR mspace_len "${hooks_start} - ${mspace_start}")
string(SUBSTRING "${header}" 0 ${mspace_start} standard_part)
string(SUBSTRING "${header}" ${mspace_start} ${mspace_len} mspace_part)

function(exported_names text out_var)
  # "DLMALLOC_EXPORT <type words and stars> name(" -- the first identifier before "(".
  string(REGEX MATCHALL "DLMALLOC_EXPORT [a-z][^(;#]*\\(" decls "${text}")
  set(names)
  foreach(d IN LISTS decls)
    string(REGEX MATCH "([A-Za-z_][A-Za-z_0-9]*)\\($" m "${d}")
    list(APPEND names ${CMAKE_MATCH_1})
  endforeach()
  set(${out_var} ${names} PARENT_SCOPE)
endfunction()

exported_names("${standard_part}" standard)
exported_names("${mspace_part}" mspaces)
list(LENGTH standard n_standard)
list(LENGTH mspaces n_mspaces)
if(n_standard LESS 20 OR n_mspaces LESS 20)
  message(FATAL_ERROR "check_symbols: parsed only ${n_standard} + ${n_mspaces} names from "
                      "${HEADER}; the parser no longer matches the header")
endif()

set(expected malloc_abort_reason)
if(NOT ONLY_MSPACES)
  foreach(name IN LISTS standard)
    if(DEFINED DL_PREFIX AND NOT DL_PREFIX)
      string(REGEX REPLACE "^dl" "" name "${name}")
    endif()
    list(APPEND expected ${name})
  endforeach()
endif()
if(MSPACES OR ONLY_MSPACES)
  list(APPEND expected ${mspaces})
endif()
if(HOOKS)
  list(APPEND expected custom_mmap custom_munmap custom_direct_mmap init_lock final_lock
       acquire_lock release_lock custom_abort)
endif()

execute_process(COMMAND "${NM}" "${LIB}" OUTPUT_VARIABLE nm_out RESULT_VARIABLE rc
                ERROR_VARIABLE nm_err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "check_symbols: ${NM} ${LIB} failed (${rc}): ${nm_err}")
endif()

set(missing)
set(descriptors)
list(LENGTH expected n_expected)
foreach(name IN LISTS expected)
  if(nm_out MATCHES "[0-9a-fA-F]+ D ${name}\n")
    list(APPEND descriptors ${name})
  elseif(NOT nm_out MATCHES "[0-9a-fA-F]+ T _?${name}\n")
    list(APPEND missing ${name})
  endif()
endforeach()
if(descriptors)
  execute_process(COMMAND "${NM}" --format=sysv "${LIB}" OUTPUT_VARIABLE sysv_out
                  RESULT_VARIABLE rc ERROR_VARIABLE nm_err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check_symbols: ${NM} --format=sysv ${LIB} failed (${rc}): ${nm_err}")
  endif()
  foreach(name IN LISTS descriptors)
    # name | value | class | type | size | line | section
    if(NOT sysv_out MATCHES "\n${name} *[|][0-9a-fA-F]+[|] *D *[|] *FUNC[|][^|\n]*[|][^|\n]*[|][.]opd\n")
      list(APPEND missing ${name})
    endif()
  endforeach()
endif()
if(missing)
  message(FATAL_ERROR "check_symbols: not defined (T, or D for a function descriptor) in "
                      "${LIB}: ${missing}")
endif()
message(STATUS "check_symbols: all ${n_expected} functions are defined: ${expected}")
