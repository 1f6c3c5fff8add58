# uefi.cmake -- the suite as UEFI applications on ports/uefi.c (x86_64, clang + lld-link, the
# gnu-efi headers), booted one by one under QEMU + OVMF by the toolchain's emulator
# (cmake/toolchains/qemu-uefi-x86_64.sh).  Included by tests/matrix/CMakeLists.txt.
#
# Per variant (MATRIX_VARIANTS), each program a UEFI application with the freestanding harness
# (TH_HOSTED=0), passing when it prints "N passed, 0 failed" on the debugcon port:
#   selftest.<v>  the UEFI sample application, samples/uefi/main.c: samples/port_check.c, a
#                 check that the port's locks put the TPL back, and tests/test_api.c
#   edge.<v>      tests/test_edge.c     (through uefi/test_app.c)
#   random.<v>    tests/test_random.c   (through uefi/test_app.c, scale DLMALLOC_MATRIX_UEFI_SCALE
#                 compiled in)
#   teardown.<v>, oom.<v>, lock.<v>  the same way, on tests/test_port.c in front of ports/uefi.c
# And the sample's own build script with the other toolchain (gnu-efi + gcc + ld):
#   selftest.gnu-efi  samples/uefi/build.sh --run: the same self-test, booted, its log checked
#   abort.gnu-efi     samples/uefi/build.sh --abort-check: a double free must end in the port's
#                     custom_abort ("dlmalloc: <reason>" on the console), then power-off
set(DLMALLOC_MATRIX_UEFI_SCALE 5 CACHE STRING "UEFI: scale of test_random, compiled in")

set(_tests ${PROJECT_SOURCE_DIR}/tests)
set(_uefi_sample ${PROJECT_SOURCE_DIR}/samples/uefi)

# memset/memcpy/memmove/memcmp/strlen and the <string.h> declaring them: the sample's own.
add_library(efi_mem STATIC ${_uefi_sample}/mem.c)
target_include_directories(efi_mem PUBLIC ${_uefi_sample}/include)

# Text output to ConOut and the debugcon port: the sample's console.c, shared by every program.
add_library(efi_console STATIC ${_uefi_sample}/console.c)
target_include_directories(efi_console PUBLIC ${_uefi_sample})
target_compile_options(efi_console PRIVATE ${DLMALLOC_WARNINGS})

# The harness, freestanding: th_write comes from the application.
add_library(efi_harness STATIC ${_tests}/harness.c)
target_compile_definitions(efi_harness PRIVATE TH_HOSTED=0)
target_include_directories(efi_harness PUBLIC ${_tests})
target_compile_options(efi_harness PRIVATE ${DLMALLOC_WARNINGS})
target_link_libraries(efi_harness PUBLIC efi_mem)

# Each test's main() becomes a function the application calls.
set_source_files_properties(${_tests}/test_api.c PROPERTIES
                            COMPILE_DEFINITIONS "main=dl_test_api_main")
set_source_files_properties(${_tests}/test_edge.c ${_tests}/test_random.c
                            ${_tests}/test_teardown.c ${_tests}/test_oom.c ${_tests}/test_lock.c
                            PROPERTIES COMPILE_DEFINITIONS "main=dl_test_main")

function(efi_app name lib)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE ${lib} efi_harness efi_console efi_mem)
  target_include_directories(${name} PRIVATE ${_tests})
  # Every test source, heaps.c included, without the C library's headers (no errno.h here).
  target_compile_definitions(${name} PRIVATE TH_HOSTED=0)
  target_compile_options(${name} PRIVATE ${DLMALLOC_WARNINGS})
endfunction()

foreach(v IN LISTS MATRIX_VARIANTS)
  matrix_variant_definitions(${v} defs)
  # An abort powers the machine off (instead of halting for a debugger): a failing run ends.
  set(lib efi_dlmalloc_${v})
  dlmalloc_add_library(${lib} PORT uefi DEFINITIONS ${defs} DLMALLOC_UEFI_ABORT_SHUTDOWN=1)
  target_link_libraries(${lib} PUBLIC efi_mem)

  efi_app(efi_selftest_${v} ${lib} ${_uefi_sample}/main.c ${PROJECT_SOURCE_DIR}/samples/port_check.c
          ${_tests}/test_api.c ${_tests}/heaps.c)
  target_compile_definitions(efi_selftest_${v} PRIVATE UEFI_WITH_API_TESTS=1 UEFI_ABORT_CHECK=0
                             PORT_CHECK_NO_MAIN)
  add_test(NAME selftest.${v} COMMAND efi_selftest_${v})
  set_tests_properties(selftest.${v} PROPERTIES LABELS "unit;sample" TIMEOUT 600
                       FAIL_REGULAR_EXPRESSION "port check: FAIL")

  matrix_instrumented_library(efi_dltest_${v} uefi ${defs} DLMALLOC_UEFI_ABORT_SHUTDOWN=1)
  target_link_libraries(efi_dltest_${v} PUBLIC efi_mem)

  foreach(t edge random ${MATRIX_PORT_TESTS})
    set(tlib ${lib})
    if(t IN_LIST MATRIX_PORT_TESTS)
      set(tlib efi_dltest_${v})
    endif()
    efi_app(efi_${t}_${v} ${tlib} ${CMAKE_CURRENT_SOURCE_DIR}/uefi/test_app.c
            ${_tests}/test_${t}.c ${_tests}/heaps.c)
    target_compile_definitions(efi_${t}_${v} PRIVATE TEST_APP_NAME="test_${t}.c, ${v}"
                               TEST_RANDOM_SCALE=${DLMALLOC_MATRIX_UEFI_SCALE})
    add_test(NAME ${t}.${v} COMMAND efi_${t}_${v})
    set_tests_properties(${t}.${v} PROPERTIES LABELS unit TIMEOUT 600)
  endforeach()
endforeach()

# samples/uefi/build.sh with gnu-efi + gcc: it builds and boots by itself (with the host's gcc
# and ld, whatever this build's compiler is).
add_test(NAME selftest.gnu-efi
         COMMAND /bin/sh ${_uefi_sample}/build.sh --run ${CMAKE_CURRENT_BINARY_DIR}/gnu-efi)
add_test(NAME abort.gnu-efi
         COMMAND /bin/sh ${_uefi_sample}/build.sh --abort-check
                 ${CMAKE_CURRENT_BINARY_DIR}/gnu-efi-abort)
set_tests_properties(selftest.gnu-efi abort.gnu-efi PROPERTIES LABELS sample TIMEOUT 600)
