# common.cmake -- shared by the integration drivers (run_*.cmake, run with cmake -P).
#
# Every driver is called with -DDROPIN=<path of libdlmalloc.so> -DWORK_DIR=<scratch folder>.
#
# Missing tools: a driver that cannot find what it runs (python3 with its test package,
# sqlite3, gcc, pkg-config) calls integration_missing().  With the environment variable CI set
# (to anything but 0/false/no/off) that is a failure; otherwise the driver prints
# "dlmalloc-integration: SKIPPED: <what> not found", which the tests' SKIP_REGULAR_EXPRESSION
# turns into a skipped test.
cmake_minimum_required(VERSION 3.20)

foreach(_var DROPIN WORK_DIR)
  if(NOT ${_var})
    message(FATAL_ERROR "integration driver: -D${_var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${DROPIN}")
  message(FATAL_ERROR "integration driver: the drop-in library ${DROPIN} does not exist")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/ci.cmake)

# integration_missing(<what>...): see above; the arguments are joined into one text.  A macro,
# so that its return() ends the driver.
macro(integration_missing)
  string(CONCAT _integration_what ${ARGV})
  dlmalloc_skip_or_fail("dlmalloc-integration: SKIPPED: ${_integration_what} not found"
                        "dlmalloc-integration: MISSING ${_integration_what} -- CI is set, so a \
missing tool fails the test (install it in .ci/run)")
endmacro()

# integration_find_program(<var> <what> NAMES <name>... [VERSION <args>...]): the path of the
# first program found in <var>, or integration_missing(<what>).  With VERSION, prints
# "<var>: <path> <what the program prints for those arguments>".  A macro, for the same
# reason as integration_missing.
macro(integration_find_program var what)
  cmake_parse_arguments(_integration_find "" "" "NAMES;VERSION" ${ARGN})
  find_program(${var} NAMES ${_integration_find_NAMES} NO_CACHE)
  if(NOT ${var})
    integration_missing("${what}")
  endif()
  if(_integration_find_VERSION)
    execute_process(COMMAND "${${var}}" ${_integration_find_VERSION}
                    OUTPUT_VARIABLE _integration_version OUTPUT_STRIP_TRAILING_WHITESPACE)
    message("${var}: ${${var}} ${_integration_version}")
  endif()
endmacro()

# integration_run(<log name> [PRELOAD] [STATS <file>] [TIMEOUT <s>] [INPUT_FILE <f>]
#                 [ENV <NAME=VALUE>...] COMMAND <command> <args>...)
# Runs the command (under libdlmalloc.so with PRELOAD, with DLMALLOC_STATS=<file> with STATS),
# standard output and error to <WORK_DIR>/<log name>.out/.err.  Sets in the caller:
# RUN_RESULT (exit code or error text), RUN_OUT, RUN_ERR (the texts), RUN_SECONDS.
function(integration_run name)
  cmake_parse_arguments(R "PRELOAD" "STATS;TIMEOUT;INPUT_FILE" "ENV;COMMAND" ${ARGN})
  if(NOT R_TIMEOUT)
    set(R_TIMEOUT 600)
  endif()
  set(extra)
  if(R_INPUT_FILE)
    list(APPEND extra INPUT_FILE "${R_INPUT_FILE}")
  endif()
  set(set_vars)
  if(R_PRELOAD)
    set(ENV{LD_PRELOAD} "${DROPIN}")
    list(APPEND set_vars LD_PRELOAD)
  endif()
  if(R_STATS)
    set(ENV{DLMALLOC_STATS} "${R_STATS}")
    list(APPEND set_vars DLMALLOC_STATS)
  endif()
  foreach(kv IN LISTS R_ENV)
    string(REGEX MATCH "^[^=]+" k "${kv}")
    string(LENGTH "${k}=" klen)
    string(SUBSTRING "${kv}" ${klen} -1 v)
    set(ENV{${k}} "${v}")
    list(APPEND set_vars ${k})
  endforeach()
  string(TIMESTAMP t0 "%s")
  execute_process(COMMAND ${R_COMMAND}
                  WORKING_DIRECTORY "${WORK_DIR}"
                  RESULT_VARIABLE rc
                  OUTPUT_FILE "${WORK_DIR}/${name}.out"
                  ERROR_FILE "${WORK_DIR}/${name}.err"
                  TIMEOUT ${R_TIMEOUT}
                  ${extra})
  string(TIMESTAMP t1 "%s")
  foreach(k IN LISTS set_vars)
    unset(ENV{${k}})
  endforeach()
  file(READ "${WORK_DIR}/${name}.out" out)
  file(READ "${WORK_DIR}/${name}.err" err)
  math(EXPR seconds "${t1} - ${t0}")
  set(RUN_RESULT "${rc}" PARENT_SCOPE)
  set(RUN_OUT "${out}" PARENT_SCOPE)
  set(RUN_ERR "${err}" PARENT_SCOPE)
  set(RUN_SECONDS "${seconds}" PARENT_SCOPE)
  message("[${name}] exit ${rc} after ${seconds} s: ${R_COMMAND}")
endfunction()

# integration_tail(<text> <lines> <out_var>): the last lines of a text, for failure reports.
function(integration_tail text lines out_var)
  string(REGEX REPLACE "\r?\n$" "" text "${text}")
  string(REPLACE ";" "\\;" text "${text}")
  string(REPLACE "\n" ";" all "${text}")
  list(LENGTH all n)
  set(first 0)
  if(n GREATER lines)
    math(EXPR first "${n} - ${lines}")
  endif()
  list(SUBLIST all ${first} -1 kept)
  list(JOIN kept "\n" kept)
  set(${out_var} "${kept}" PARENT_SCOPE)
endfunction()

# integration_expect_success(<log name>): the last integration_run exited 0, else fail with
# the end of its output.
function(integration_expect_success name)
  if(NOT RUN_RESULT STREQUAL "0")
    integration_tail("${RUN_OUT}" 40 out_tail)
    integration_tail("${RUN_ERR}" 40 err_tail)
    message(FATAL_ERROR "${name} failed (exit ${RUN_RESULT}).\n--- end of stdout ---\n"
                        "${out_tail}\n--- end of stderr ---\n${err_tail}")
  endif()
endfunction()

# integration_check_stats(<stats file> <program regex> <min max-system-bytes> <min in-use>)
# The proof that libdlmalloc served the program: the DLMALLOC_STATS report written at exit
# by a process whose name matches <program regex> (no capture groups), e.g. "cc1".  Among
# several matching processes the one with the largest footprint is judged.  Its numbers come
# from our heap only: a program served by the C library's malloc would print nothing, or
# zeros.
function(integration_check_stats file prog_regex min_max min_inuse)
  if(NOT EXISTS "${file}")
    message(FATAL_ERROR "no DLMALLOC_STATS report (${file}): libdlmalloc.so did not run at exit")
  endif()
  file(STRINGS "${file}" lines REGEX "^dlmalloc\\[")
  set(best_pid "")
  set(best_max -1)
  set(pids)
  foreach(line IN LISTS lines)
    if(line MATCHES "^dlmalloc\\[([0-9]+) (${prog_regex})\\]: ([a-z ]+[a-z]) +=  *([0-9]+)$")
      set(pid ${CMAKE_MATCH_1})
      set(label "${CMAKE_MATCH_3}")
      set(value ${CMAKE_MATCH_4})
      list(APPEND pids ${pid})
      if(label STREQUAL "max system bytes")
        set(max_${pid} ${value})
        if(value GREATER best_max)
          set(best_max ${value})
          set(best_pid ${pid})
        endif()
      elseif(label STREQUAL "in use bytes")
        set(inuse_${pid} ${value})
      elseif(label STREQUAL "system bytes")
        set(system_${pid} ${value})
      endif()
    endif()
  endforeach()
  list(REMOVE_DUPLICATES pids)
  list(LENGTH pids nproc)
  list(LENGTH lines nlines)
  if(best_pid STREQUAL "")
    message(FATAL_ERROR "the DLMALLOC_STATS report (${nlines} lines) has no process named "
                        "'${prog_regex}': it did not run under libdlmalloc.so")
  endif()
  set(inuse ${inuse_${best_pid}})
  message("libdlmalloc served ${nproc} '${prog_regex}' process(es); the largest, pid "
          "${best_pid}: max system bytes ${best_max}, system bytes ${system_${best_pid}}, "
          "in use at exit ${inuse} (report: ${nlines} lines from all processes)")
  if(best_max LESS min_max)
    message(FATAL_ERROR "max system bytes ${best_max} < ${min_max}: the program's allocations "
                        "did not come from libdlmalloc")
  endif()
  if(inuse LESS min_inuse)
    message(FATAL_ERROR "in use bytes ${inuse} < ${min_inuse} at exit")
  endif()
endfunction()
