# run_python.cmake -- the Python interpreter running its own test modules under libdlmalloc.so.
#
#   cmake -DDROPIN=<libdlmalloc.so> -DWORK_DIR=<dir> -P run_python.cmake
#
# PYTHONMALLOC=malloc makes CPython take every object, string and container from malloc
# instead of its own small-object allocator, so the allocation-heavy modules below put
# millions of malloc/realloc/free calls through libdlmalloc, and test_threading adds threads
# and fork() from threaded processes.  The modules run in one process (no -j), so its
# DLMALLOC_STATS report covers all of them.
#
# The interpreter: $DLMALLOC_TEST_PYTHON if set, else /usr/bin/python3, else python3 on the
# PATH; the first that has the test package (Debian: libpython3.X-testsuite).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

set(modules test_list test_tuple test_dict test_set test_deque test_collections test_heapq
    test_sort test_bytes test_long test_functools test_itertools test_json test_re test_pickle
    test_threading)
# test_str was test_unicode before Python 3.12.
set(optional_modules test_str test_unicode)

set(candidates)
if(DEFINED ENV{DLMALLOC_TEST_PYTHON})
  list(APPEND candidates "$ENV{DLMALLOC_TEST_PYTHON}")
endif()
list(APPEND candidates /usr/bin/python3)
find_program(path_python NAMES python3 NO_CACHE)
if(path_python)
  list(APPEND candidates "${path_python}")
endif()

set(python "")
foreach(c IN LISTS candidates)
  if(NOT EXISTS "${c}")
    continue()
  endif()
  # sys.executable: the interpreter itself, not a wrapper script (pyenv's shims are bash).
  execute_process(COMMAND "${c}" -c
                          "import sys, test.libregrtest, test.test_list; print(sys.executable)"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE exe ERROR_QUIET
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(rc EQUAL 0 AND EXISTS "${exe}")
    set(python "${exe}")
    break()
  endif()
endforeach()
if(python STREQUAL "")
  string(REPLACE ";" ", " tried "${candidates}")
  integration_missing("a Python 3 with its test package, Debian: python3 and "
                      "libpython3.11-testsuite (tried ${tried})")
endif()

foreach(m IN LISTS optional_modules)
  execute_process(COMMAND "${python}" -c "import test.${m}" RESULT_VARIABLE rc
                  OUTPUT_QUIET ERROR_QUIET)
  if(rc EQUAL 0)
    list(APPEND modules ${m})
    break()
  endif()
endforeach()
list(LENGTH modules n)
message("Python: ${python}; ${n} test modules: ${modules}")

set(stats "${WORK_DIR}/stats.txt")
integration_run(python PRELOAD STATS "${stats}" TIMEOUT 540
                ENV PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1
                COMMAND "${python}" -m test --timeout 300 ${modules})
integration_expect_success(python)
if(NOT RUN_OUT MATCHES "Tests result: SUCCESS")
  integration_tail("${RUN_OUT}" 30 tail)
  message(FATAL_ERROR "python: no 'Tests result: SUCCESS' line:\n${tail}")
endif()
string(REGEX MATCH "[0-9]+ tests? OK" ok_line "${RUN_OUT}")
message("python -m test: ${ok_line}, ${RUN_SECONDS} s")

# The interpreter (python3, python3.11, ...) served by libdlmalloc: with PYTHONMALLOC=malloc
# every Python object lives in its heap, so the peak footprint is tens of MB.
get_filename_component(exe_name "${python}" NAME)
integration_check_stats("${stats}" "${exe_name}" 20000000 1000000)
