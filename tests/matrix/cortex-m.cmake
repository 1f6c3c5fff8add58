# cortex-m.cmake -- the suite on a bare-metal Cortex-M3 (QEMU mps2-an385, newlib + semihosting),
# on ports/static_arena.c.  Included by tests/matrix/CMakeLists.txt.
#
# Every program is linked with cortex-m/startup.c (vector table, fault reporting) and
# cortex-m/mps2-an385.ld; the test programs also with cortex-m/board.c, which hands almost all of
# the board's 16 MiB PSRAM to the arena before main() runs, writes the harness's output over
# semihosting and replaces the port's silent custom_abort with one that prints
# "custom_abort: <reason>" and exits with status 86 (what the death tests look for).
# CTest runs each program through cmake/toolchains/qemu-mps2-an385.sh, which passes the
# arguments on the semihosting command line and returns the program's exit status.
#
# Per variant (MATRIX_VARIANTS):
#   api.<v>               tests/test_api.c, the harness built freestanding (TH_HOSTED=0)
#   death.<case>.<v>      tests/test_death.c: each usage error must end in custom_abort
#   edge.<v>, random.<v>  only with DLMALLOC_MATRIX_M3_LARGE_TESTS=ON: both need more memory
#                         than the board has (test_edge reallocates up to 10 MiB and test_random
#                         keeps up to 4096 blocks of up to 1 MiB), so on 16 MiB they report
#                         NULL results as failures.
# Once:
#   sample.port_check     samples/port_check.c on the board's arena (no abort path: no processes)
#   sample.mspace         samples/mspace.c
option(DLMALLOC_MATRIX_M3_LARGE_TESTS
       "Cortex-M: also run test_edge and test_random (they need more than the board's 16 MiB)"
       OFF)
set(DLMALLOC_MATRIX_M3_RANDOM_SCALE 2 CACHE STRING
    "Cortex-M: scale of test_random, compiled in (no command line arguments there)")

set(_m3 ${CMAKE_CURRENT_SOURCE_DIR}/cortex-m)
set(_tests ${PROJECT_SOURCE_DIR}/tests)
set(_ld ${_m3}/mps2-an385.ld)

# The harness with the board's th_write.
add_library(m3_harness STATIC ${_tests}/harness.c)
target_compile_definitions(m3_harness PRIVATE TH_HOSTED=0)
target_include_directories(m3_harness PUBLIC ${_tests})
target_compile_options(m3_harness PRIVATE ${DLMALLOC_WARNINGS})

# m3_program(<name> <library> [BOARD] SOURCES...): an ELF for the board.
function(m3_program name lib)
  cmake_parse_arguments(P "BOARD" "" "SOURCES;DEFINITIONS" ${ARGN})
  add_executable(${name} ${P_SOURCES} ${_m3}/startup.c)
  if(P_BOARD)
    target_sources(${name} PRIVATE ${_m3}/board.c)
  endif()
  target_include_directories(${name} PRIVATE ${_m3} ${_tests})
  target_compile_definitions(${name} PRIVATE ${P_DEFINITIONS})
  target_compile_options(${name} PRIVATE ${DLMALLOC_WARNINGS})
  target_link_libraries(${name} PRIVATE ${lib})
  target_link_options(${name} PRIVATE -T ${_ld})
  set_target_properties(${name} PROPERTIES LINK_DEPENDS ${_ld})
endfunction()

foreach(v IN LISTS MATRIX_VARIANTS)
  matrix_variant_definitions(${v} defs)
  set(lib m3_dlmalloc_${v})
  dlmalloc_add_library(${lib} PORT static_arena DEFINITIONS ${defs})

  m3_program(m3_api_${v} ${lib} BOARD SOURCES ${_tests}/test_api.c ${_tests}/heaps.c
             DEFINITIONS TH_HOSTED=0)
  target_link_libraries(m3_api_${v} PRIVATE m3_harness)
  add_test(NAME api.${v} COMMAND m3_api_${v})
  set_tests_properties(api.${v} PROPERTIES LABELS "unit" TIMEOUT 600)

  if(DLMALLOC_MATRIX_M3_LARGE_TESTS)
    m3_program(m3_edge_${v} ${lib} BOARD SOURCES ${_tests}/test_edge.c ${_tests}/heaps.c
               DEFINITIONS TH_HOSTED=0)
    m3_program(m3_random_${v} ${lib} BOARD SOURCES ${_tests}/test_random.c ${_tests}/heaps.c
               DEFINITIONS TH_HOSTED=0 TEST_RANDOM_SCALE=${DLMALLOC_MATRIX_M3_RANDOM_SCALE})
    foreach(t edge random)
      target_link_libraries(m3_${t}_${v} PRIVATE m3_harness)
      add_test(NAME ${t}.${v} COMMAND m3_${t}_${v})
      set_tests_properties(${t}.${v} PROPERTIES LABELS "unit" TIMEOUT 600)
    endforeach()
  endif()

  # test_death.c's main(argc, argv) is behind TH_HOSTED: built hosted (newlib: the arguments
  # come over semihosting), with the freestanding harness.
  m3_program(m3_death_${v} ${lib} BOARD SOURCES ${_tests}/test_death.c)
  target_link_libraries(m3_death_${v} PRIVATE m3_harness)
  matrix_death_tests(m3_death_${v} ${v} "custom_abort: " ${defs})
endforeach()

# The samples, on the board's arena (board.c) and the default variant's library.
list(GET MATRIX_VARIANTS 0 _first)
m3_program(m3_port_check m3_dlmalloc_${_first} BOARD
           SOURCES ${PROJECT_SOURCE_DIR}/samples/port_check.c)
add_test(NAME sample.port_check COMMAND m3_port_check)
m3_program(m3_mspace m3_dlmalloc_${_first} BOARD SOURCES ${PROJECT_SOURCE_DIR}/samples/mspace.c)
add_test(NAME sample.mspace COMMAND m3_mspace)
set_tests_properties(sample.port_check sample.mspace PROPERTIES LABELS "sample" TIMEOUT 300)
set_tests_properties(sample.port_check PROPERTIES FAIL_REGULAR_EXPRESSION "port check: FAIL")
