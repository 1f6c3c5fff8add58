# windows.cmake -- the suite on 64-bit Windows (mingw-w64, run under Wine by the toolchain's
# emulator).  Included by tests/matrix/CMakeLists.txt.
#
# tests/CMakeLists.txt cannot be used here: every one of its configurations links the
# instrumented port tests/test_port.c, which is written for POSIX (sys/mman.h, sched.h).  The
# tests that need only malloc.h run here on the real Windows ports instead:
#   <variant> in MATRIX_VARIANTS  ports/win32.c (VirtualAlloc, SRW locks, custom_abort that prints
#                                 "dlmalloc: <reason>" and ends the process with status 3)
#   internal                      no PORTABLE: malloc.c's own Win32 layer, USE_LOCKS=1 (what
#                                 dlmalloc.dll in samples/win32 is built from)
# Per configuration: api, edge, random (scale DLMALLOC_TEST_SCALE, DEBUG ones
# DLMALLOC_TEST_DEBUG_SCALE); on ports/win32.c also death.<case>: each usage error must end in
# the port's custom_abort, its message naming the error; and teardown, oom and lock on
# tests/test_port.c in front of ports/win32.c.  tests/test_threads.c is POSIX-only
# (fork, sys/wait.h); threads on Windows are exercised by samples/threads.c (CreateThread),
# and the thread cache's return at thread exit by windows/thread_cache_exit.c (at the end).
# The samples (samples/CMakeLists.txt, samples/win32) run in the same build tree.
set(_tests ${PROJECT_SOURCE_DIR}/tests)

add_library(win_harness STATIC ${_tests}/harness.c)
target_include_directories(win_harness PUBLIC ${_tests})
target_compile_options(win_harness PRIVATE ${DLMALLOC_WARNINGS})

# All tests share the samples' Wine server when there is one (see samples/CMakeLists.txt).
set(_wine_fixture)
if(DLMALLOC_BUILD_SAMPLES AND CMAKE_CROSSCOMPILING AND CMAKE_CROSSCOMPILING_EMULATOR AND WINESERVER)
  set(_wine_fixture wine)
endif()

# win_run(<test>): what every test here needs under Wine.
function(win_run name)
  set_tests_properties(${name} PROPERTIES TIMEOUT 600)
  if(_wine_fixture)
    set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED ${_wine_fixture})
  endif()
endfunction()

function(win_test name exe)
  add_test(NAME ${name} COMMAND ${exe} ${ARGN})
  win_run(${name})
endfunction()

set(_win_variants ${MATRIX_VARIANTS} internal)
foreach(v IN LISTS _win_variants)
  set(lib win_dlmalloc_${v})
  set(scale ${DLMALLOC_TEST_SCALE})
  if(v STREQUAL "internal")
    dlmalloc_add_library(${lib} PORT internal DEFINITIONS USE_DL_PREFIX MSPACES=1)
    set(defs USE_DL_PREFIX MSPACES=1)
  else()
    matrix_variant_definitions(${v} defs)
    dlmalloc_add_library(${lib} PORT win32 DEFINITIONS ${defs})
    if("DEBUG=1" IN_LIST defs)
      set(scale ${DLMALLOC_TEST_DEBUG_SCALE})
    endif()
  endif()

  foreach(t api edge random death)
    if(t STREQUAL "death" AND (v STREQUAL "internal" OR "INSECURE=1" IN_LIST defs))
      continue() # the internal layer has no custom_abort to report the reason
    endif()
    set(exe win_${t}_${v})
    set(sources ${_tests}/test_${t}.c)
    if(NOT t STREQUAL "death")
      list(APPEND sources ${_tests}/heaps.c)
    endif()
    add_executable(${exe} ${sources})
    target_link_libraries(${exe} PRIVATE ${lib} win_harness)
    target_compile_options(${exe} PRIVATE ${DLMALLOC_WARNINGS})
  endforeach()

  if(NOT v STREQUAL "internal")
    matrix_instrumented_library(win_dltest_${v} win32 ${defs})
    foreach(t IN LISTS MATRIX_PORT_TESTS)
      add_executable(win_${t}_${v} ${_tests}/test_${t}.c ${_tests}/heaps.c)
      target_link_libraries(win_${t}_${v} PRIVATE win_dltest_${v} win_harness)
      target_compile_options(win_${t}_${v} PRIVATE ${DLMALLOC_WARNINGS})
      win_test(${t}.${v} win_${t}_${v})
      set_tests_properties(${t}.${v} PROPERTIES LABELS unit)
    endforeach()
  endif()

  win_test(api.${v} win_api_${v})
  win_test(edge.${v} win_edge_${v})
  win_test(random.${v} win_random_${v} ${scale})
  set_tests_properties(api.${v} edge.${v} PROPERTIES LABELS unit)
  set_tests_properties(random.${v} PROPERTIES LABELS stress)
  if(TARGET win_death_${v})
    matrix_death_tests(${v} "dlmalloc: " win_death_${v} deaths ${defs})
    foreach(t IN LISTS deaths)
      win_run(${t})
    endforeach()
  endif()
endforeach()

# thread_cache_exit.internal: malloc.c's own Win32 layer with the per-thread cache: a thread's
# cache goes back to the heap when the thread ends, through the fiber-local-storage callback
# the cache registers (MALLOC_THREAD_CACHE_EXIT), with no malloc_thread_exit() call.
dlmalloc_add_library(win_dlmalloc_tcache PORT internal
                     DEFINITIONS USE_DL_PREFIX MALLOC_THREAD_CACHE=1)
add_executable(win_thread_cache_exit ${CMAKE_CURRENT_SOURCE_DIR}/windows/thread_cache_exit.c)
target_link_libraries(win_thread_cache_exit PRIVATE win_dlmalloc_tcache win_harness)
target_compile_options(win_thread_cache_exit PRIVATE ${DLMALLOC_WARNINGS})
win_test(thread_cache_exit.internal win_thread_cache_exit)
set_tests_properties(thread_cache_exit.internal PROPERTIES LABELS unit)
