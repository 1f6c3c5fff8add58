# run_own_port_tree.cmake -- the README's CMake steps for a port of one's own, run as written.
#
#   cmake -DREADME=<README.md> -DROOT=<source root> -DWORK=<scratch dir> -DGENERATOR=<generator>
#         -DPORT=<a port in ports/> -DC_COMPILER=<cc> -P run_own_port_tree.cmake
#
# The steps are the fenced block after "<!-- own port tree -->" in README.md: a configure of the
# default preset into a tree of its own, a build, and the samples' tests.  They run in a copy
# of the sources (the README's tree lives under the source folder), with "myos" replaced by PORT
# and the configure line's "no threads" setting added, the case a newcomer's port met: a port
# without threads must get a library without locks, its samples must pass, sample.threads
# (which needs locks) must be left out, and the default tree must not be touched.
cmake_minimum_required(VERSION 3.20)

include(${CMAKE_CURRENT_LIST_DIR}/../require_vars.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/readme_block.cmake)
require_vars(run_own_port_tree README ROOT WORK GENERATOR PORT C_COMPILER)

readme_block(run_own_port_tree "${README}" "<!-- own port tree -->" lines)

set(src "${WORK}/source")
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${src}")
file(GLOB items "${ROOT}/*")
foreach(item IN LISTS items)
  get_filename_component(name "${item}" NAME)
  if(NOT name MATCHES "^(build|[.].*)$") # build trees, .git
    file(COPY "${item}" DESTINATION "${src}" PATTERN "build" EXCLUDE)
  endif()
endforeach()

set(steps 0)
set(log "")
foreach(line IN LISTS lines)
  if(NOT line MATCHES "^(cmake|ctest) ")
    continue()
  endif()
  set(nothreads "")
  if(line MATCHES "# no threads: (-D[A-Z_]+=[A-Z]+)")
    set(nothreads "${CMAKE_MATCH_1}")
  endif()
  string(REGEX REPLACE "[ \t]+#.*$" "" line "${line}")
  string(REPLACE "myos" "${PORT}" line "${line}")
  separate_arguments(argv UNIX_COMMAND "${line}")
  list(POP_FRONT argv tool)
  if(tool STREQUAL "cmake" AND line MATCHES "--preset")
    list(APPEND argv ${nothreads} -G "${GENERATOR}" "-DCMAKE_C_COMPILER=${C_COMPILER}")
    if(NOT nothreads)
      message(FATAL_ERROR "run_own_port_tree: the configure line gives no \"no threads\" setting")
    endif()
  endif()
  if(tool STREQUAL "cmake")
    set(exe "${CMAKE_COMMAND}")
  else()
    set(exe "${CMAKE_CTEST_COMMAND}")
  endif()
  message(STATUS "run_own_port_tree: ${tool} ${argv}")
  execute_process(COMMAND "${exe}" ${argv} WORKING_DIRECTORY "${src}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "run_own_port_tree: '${line}' failed (${rc}):\n${out}${err}")
  endif()
  string(APPEND log "${out}${err}")
  math(EXPR steps "${steps} + 1")
endforeach()
if(NOT steps EQUAL 3)
  message(FATAL_ERROR "run_own_port_tree: ${steps} steps in the block, expected 3")
endif()
if(EXISTS "${src}/build/default")
  message(FATAL_ERROR "run_own_port_tree: the steps wrote into build/default")
endif()
if(NOT log MATCHES "sample\\.port_check [.]+ *Passed"
   OR NOT log MATCHES "sample\\.mspace [.]+ *Passed")
  message(FATAL_ERROR "run_own_port_tree: the samples on the port did not run and pass:\n${log}")
endif()
if(log MATCHES "Test +#[0-9]+: sample\\.threads ")
  message(FATAL_ERROR "run_own_port_tree: sample.threads ran on a library without locks:\n${log}")
endif()
file(GLOB_RECURSE port_check_exe "${src}/build/${PORT}/samples/port_check")
if(NOT port_check_exe)
  message(FATAL_ERROR "run_own_port_tree: no samples/port_check under build/${PORT}")
endif()
execute_process(COMMAND ${port_check_exe} RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "note: locks: built without USE_LOCKS=2")
  message(FATAL_ERROR "run_own_port_tree: port_check did not see a library without locks:\n${out}")
endif()
message(STATUS "run_own_port_tree: the README's own-port steps passed on ports/${PORT}.c")
