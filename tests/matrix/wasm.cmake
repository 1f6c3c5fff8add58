# wasm.cmake -- the suite on WebAssembly (wasm32-wasi, wasi-libc, run under Node's WASI by the
# toolchain's emulator, cmake/toolchains/wasm32-wasi-node.mjs), on ports/wasm32.c.  Included by
# tests/matrix/CMakeLists.txt.
#
# tests/CMakeLists.txt cannot be used here: its instrumented port (tests/test_port.c) needs
# POSIX mmap, and its thread and fork tests need processes and threads that WASI preview1 does
# not have.  What runs, per variant of MATRIX_VARIANTS (dl-prefixed, beside wasi-libc's own
# malloc, with the port's WASM32_DIRECT_MAPS=1 so that the tests of direct maps apply):
#   api.<v>, edge.<v>     tests/test_api.c, tests/test_edge.c
#   random.<v>            tests/test_random.c at DLMALLOC_TEST_SCALE (DEBUG: _DEBUG_SCALE)
#   death.<case>.<v>      tests/test_death.c: each usage error must end in the port's
#                         custom_abort, "dlmalloc: <reason>" on stderr, then a trap (the
#                         launcher's exit status 134)
#   death.<hostile>.<v>, known-gap.<hostile>.<v>   (default and footers)
#                         the hostile-input cases of tests/CMakeLists.txt, read from there;
#                         this 32-bit little-endian target has the outcomes of i686
# Once:
#   sample.port_check, sample.mspace   the samples, on the first variant's library
#   wasm.replace_libc     tests/matrix/wasm/replace_libc.c built WITHOUT USE_DL_PREFIX: this
#                         allocator as the program's and wasi-libc's malloc (strdup, asprintf,
#                         open_memstream), a content-checked workload that grows the memory
#                         past 64 MiB, no growth when it runs again, requests near 4 GiB, then
#                         port_check ("port check: PASS")
#   wasm.replace_libc.decline  the same with WASM32_RECYCLE=0 (custom_munmap declines all)
#   wasm.full_memory      tests/matrix/wasm/full_memory.c on the first variant's library: the
#                         memory filled to its 4 GiB end, every block freed, filled again
#   wasm.no_libc_allocator  that program's binary holds none of wasi-libc's allocator (its
#                         functions sbrk, dlmalloc, dlfree), only this one (custom_mmap);
#   wasm.libc_allocator_seen  the same inspection finds them in a program linked with
#                         wasi-libc's malloc, so the check above can fail
#   wasm.atomics          ports/wasm32.c compiles with -matomics to an atomic lock
#                         (i32.atomic.rmw.xchg)
#   wasm.atomics_core     so does malloc.c with the port's inline lock (-ftls-model=local-exec)
#   wasm.unknown_unknown  malloc.c and ports/wasm32.c compile for wasm32-unknown-unknown (no
#                         WASI): custom_abort then only traps, with no fd_write
# Not here: threads (no threads in WASI preview1; wasm.atomics only compiles the lock), the
# instrumented-port tests (teardown, oom, oomsweep, faults, lock: POSIX mmap), fork.
set(_tests ${PROJECT_SOURCE_DIR}/tests)
set(_wasm ${CMAKE_CURRENT_SOURCE_DIR}/wasm)
find_program(DLMALLOC_LLVM_OBJDUMP NAMES llvm-objdump llvm-objdump-14 REQUIRED)

add_library(wasm_harness STATIC ${_tests}/harness.c)
target_include_directories(wasm_harness PUBLIC ${_tests})
target_compile_options(wasm_harness PRIVATE ${DLMALLOC_WARNINGS})

function(wasm_program name lib)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE ${lib} wasm_harness)
  target_compile_options(${name} PRIVATE ${DLMALLOC_WARNINGS})
endfunction()

# ---- The suite, dl-prefixed ----
foreach(v IN LISTS MATRIX_VARIANTS)
  matrix_variant_definitions(${v} defs)
  set(lib wasm_dlmalloc_${v})
  # With the port's direct maps on: the suite checks that large blocks are mapped apart
  # (mallinfo's hblkhd, footprints around the mmap threshold).  The port's default, direct
  # maps declined, is what wasm.replace_libc runs.
  dlmalloc_add_library(${lib} PORT wasm32 DEFINITIONS ${defs} WASM32_DIRECT_MAPS=1)
  set(scale ${DLMALLOC_TEST_SCALE})
  if("DEBUG=1" IN_LIST defs)
    set(scale ${DLMALLOC_TEST_DEBUG_SCALE})
  endif()
  foreach(t api edge random)
    wasm_program(wasm_${t}_${v} ${lib} ${_tests}/test_${t}.c ${_tests}/heaps.c)
  endforeach()
  wasm_program(death_${v} ${lib} ${_tests}/test_death.c) # the name the hostile cases use

  add_test(NAME api.${v} COMMAND wasm_api_${v})
  add_test(NAME edge.${v} COMMAND wasm_edge_${v})
  add_test(NAME random.${v} COMMAND wasm_random_${v} ${scale})
  set_tests_properties(api.${v} edge.${v} PROPERTIES LABELS unit TIMEOUT 600)
  set_tests_properties(random.${v} PROPERTIES LABELS stress TIMEOUT 900)
  matrix_death_tests(${v} "dlmalloc: " death_${v} deaths ${defs})
  set_tests_properties(${deaths} PROPERTIES TIMEOUT 120)
endforeach()

# ---- Hostile input ----
# tests/CMakeLists.txt's section "Hostile input" as it stands: its cases, the reason each must
# report and the known gaps, for the variants default and footers (the executables death_<v>
# above), with this port's "dlmalloc: " where the host's test port prints "custom_abort: ".
# Taken from the file rather than copied, so that a gap closed there is expected here too.
string(FIND "${_tests_cmake}" "# ---- Hostile input" _from)
string(FIND "${_tests_cmake}" "# ---- Sanitizers" _to)
if(_from LESS 0 OR _to LESS _from)
  message(FATAL_ERROR "tests/matrix/wasm.cmake: no section \"Hostile input\" followed by "
                      "\"Sanitizers\" in tests/CMakeLists.txt")
endif()
math(EXPR _len "${_to} - ${_from}")
string(SUBSTRING "${_tests_cmake}" ${_from} ${_len} _hostile)
string(REPLACE "custom_abort: " "dlmalloc: " _hostile "${_hostile}")
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/wasm_hostile.cmake "${_hostile}")
include(${CMAKE_CURRENT_BINARY_DIR}/wasm_hostile.cmake)

# ---- The samples ----
list(GET MATRIX_VARIANTS 0 _first)
wasm_program(wasm_port_check wasm_dlmalloc_${_first} ${PROJECT_SOURCE_DIR}/samples/port_check.c)
wasm_program(wasm_mspace wasm_dlmalloc_${_first} ${PROJECT_SOURCE_DIR}/samples/mspace.c)
add_test(NAME sample.port_check COMMAND wasm_port_check)
wasm_program(wasm_full_memory wasm_dlmalloc_${_first} ${_wasm}/full_memory.c)
add_test(NAME wasm.full_memory COMMAND wasm_full_memory)
set_tests_properties(wasm.full_memory PROPERTIES LABELS unit TIMEOUT 300)
add_test(NAME sample.mspace COMMAND wasm_mspace)
set_tests_properties(sample.port_check sample.mspace PROPERTIES LABELS sample TIMEOUT 300)
set_tests_properties(sample.port_check PROPERTIES PASS_REGULAR_EXPRESSION "port check: PASS")

# ---- This allocator as wasi-libc's malloc ----
dlmalloc_add_library(wasm_dlmalloc_libc PORT wasm32 DEFINITIONS MSPACES=1)
wasm_program(wasm_replace_libc wasm_dlmalloc_libc ${_wasm}/replace_libc.c
             ${PROJECT_SOURCE_DIR}/samples/port_check.c)
# The same with the port's WASM32_RECYCLE=0 (what the size-optimised configuration uses):
# custom_munmap declines every release, so only the core's own reuse keeps the memory flat.
dlmalloc_add_library(wasm_dlmalloc_libc_decline PORT wasm32 DEFINITIONS MSPACES=1
                     WASM32_RECYCLE=0)
wasm_program(wasm_replace_libc_decline wasm_dlmalloc_libc_decline ${_wasm}/replace_libc.c
             ${PROJECT_SOURCE_DIR}/samples/port_check.c)
foreach(t wasm_replace_libc wasm_replace_libc_decline)
  target_compile_definitions(${t} PRIVATE PORT_CHECK_NO_MAIN)
  # The checks look at the heap between an allocation and its free; without the prefix the
  # compiler knows these names and may drop a pair whose block is never used otherwise.
  target_compile_options(${t} PRIVATE -fno-builtin)
  string(REPLACE "wasm_replace_libc" "wasm.replace_libc" name ${t})
  string(REPLACE "_decline" ".decline" name ${name})
  add_test(NAME ${name} COMMAND ${t})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 600
                       PASS_REGULAR_EXPRESSION "port check: PASS.*[0-9]+ passed, 0 failed")
endforeach()

# wasi-libc's allocator is its member dlmalloc.o: the only user of sbrk, with functions named
# dlmalloc and dlfree behind malloc and free (this allocator, built without USE_DL_PREFIX, has
# none of the three).  RelWithDebInfo keeps the name section.
set(_libc_allocator_regex "<sbrk>:" "<dlmalloc>:" "<dlfree>:")
add_executable(wasm_libc_malloc ${PROJECT_SOURCE_DIR}/bench/wasm/minimal.c)
add_test(NAME wasm.no_libc_allocator
         COMMAND ${CMAKE_COMMAND} -DOBJDUMP=${DLMALLOC_LLVM_OBJDUMP}
                 -DFILE=$<TARGET_FILE:wasm_replace_libc> "-DEXPECT=<custom_mmap>:"
                 "-DREJECT=${_libc_allocator_regex}" -P ${_wasm}/inspect_wasm.cmake)
add_test(NAME wasm.libc_allocator_seen
         COMMAND ${CMAKE_COMMAND} -DOBJDUMP=${DLMALLOC_LLVM_OBJDUMP}
                 -DFILE=$<TARGET_FILE:wasm_libc_malloc> "-DEXPECT=${_libc_allocator_regex}"
                 "-DREJECT=<custom_mmap>:" -P ${_wasm}/inspect_wasm.cmake)
set_tests_properties(wasm.no_libc_allocator wasm.libc_allocator_seen PROPERTIES LABELS unit)

# ---- The port's other configurations, compiled ----
set(_cc ${CMAKE_C_COMPILER} -O2 -I${PROJECT_SOURCE_DIR} -DPORTABLE=1 -DUSE_LOCKS=2 -c)
add_test(NAME wasm.atomics
         COMMAND ${CMAKE_COMMAND} -DOBJDUMP=${DLMALLOC_LLVM_OBJDUMP}
                 -DFILE=${CMAKE_CURRENT_BINARY_DIR}/wasm32_atomics.o
                 "-DCOMPILE=${_cc};--target=wasm32-wasi;--sysroot=/usr;-isystem;/usr/include/wasm32-wasi;-matomics;-mbulk-memory;${PROJECT_SOURCE_DIR}/ports/wasm32.c;-o;${CMAKE_CURRENT_BINARY_DIR}/wasm32_atomics.o"
                 "-DEXPECT=i32.atomic.rmw.xchg" -P ${_wasm}/inspect_wasm.cmake)
# The core with the port's inline lock, the same way.  wasi-libc's errno is thread-local, and
# clang 14 compiles thread-locals for wasm only in the local-exec model (without the option
# its back end stops at errno: docs/wasm.md).
add_test(NAME wasm.atomics_core
         COMMAND ${CMAKE_COMMAND} -DOBJDUMP=${DLMALLOC_LLVM_OBJDUMP}
                 -DFILE=${CMAKE_CURRENT_BINARY_DIR}/malloc_atomics.o
                 "-DCOMPILE=${_cc};--target=wasm32-wasi;--sysroot=/usr;-isystem;/usr/include/wasm32-wasi;-matomics;-mbulk-memory;-ftls-model=local-exec;-DPORT_LOCK_HEADER=\"ports/wasm32_lock.h\";${PROJECT_SOURCE_DIR}/malloc.c;-o;${CMAKE_CURRENT_BINARY_DIR}/malloc_atomics.o"
                 "-DEXPECT=i32.atomic.rmw.xchg" -P ${_wasm}/inspect_wasm.cmake)
add_test(NAME wasm.unknown_unknown
         COMMAND ${CMAKE_COMMAND} -DOBJDUMP=${DLMALLOC_LLVM_OBJDUMP}
                 -DFILE=${CMAKE_CURRENT_BINARY_DIR}/wasm32_bare.o
                 "-DCOMPILE=${_cc};--target=wasm32-unknown-unknown;${PROJECT_SOURCE_DIR}/ports/wasm32.c;-o;${CMAKE_CURRENT_BINARY_DIR}/wasm32_bare.o"
                 "-DEXPECT=<custom_abort>:[^<]*unreachable" "-DREJECT=fd_write" -P ${_wasm}/inspect_wasm.cmake)
add_test(NAME wasm.unknown_unknown_core
         COMMAND ${CMAKE_COMMAND} -DOBJDUMP=${DLMALLOC_LLVM_OBJDUMP}
                 -DFILE=${CMAKE_CURRENT_BINARY_DIR}/malloc_bare.o
                 "-DCOMPILE=${_cc};--target=wasm32-unknown-unknown;${PROJECT_SOURCE_DIR}/malloc.c;-o;${CMAKE_CURRENT_BINARY_DIR}/malloc_bare.o"
                 "-DEXPECT=<malloc>:" -P ${_wasm}/inspect_wasm.cmake)
set_tests_properties(wasm.atomics wasm.atomics_core wasm.unknown_unknown wasm.unknown_unknown_core
                     PROPERTIES LABELS unit)
