# run_fuzz.cmake -- the "fuzz" CTest test: run the libFuzzer target for a bounded time.
#   cmake -DFUZZER=<binary> -DAVAILABLE=<ON|OFF> -DWHY=<text> -DCORPUS=<seed dir>
#         -DWORK=<scratch dir> -DSECONDS=<n> -P run_fuzz.cmake
# Without a libFuzzer build (no clang or no fuzzer runtime: AVAILABLE=OFF) the test is skipped
# with a message, except in CI (environment variable CI set), where that is a failure.
include(${CMAKE_CURRENT_LIST_DIR}/../../cmake/ci.cmake)
if(NOT AVAILABLE)
  dlmalloc_skip_or_fail("SKIP: libFuzzer not available: ${WHY}"
                        "fuzz: libFuzzer is not available (${WHY}) and CI is set")
endif()
if(NOT EXISTS "${FUZZER}")
  message(FATAL_ERROR "fuzz: ${FUZZER} was not built")
endif()
# New inputs go to a scratch copy; the committed seeds, and the inputs it once failed on
# (fuzz/regressions, replayed first in this target's own configuration), are read only.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
# The fuzzer's log goes to ${WORK}/fuzz.log; the test prints its summary lines (inputs run,
# the target's count of API operations) or, on a failure, the end of the log.
execute_process(
  COMMAND "${FUZZER}" -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048
          -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/ "${WORK}/corpus" "${CORPUS}"
          ${REGRESSIONS}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
file(WRITE "${WORK}/fuzz.log" "${out}")
file(GLOB crashes "${WORK}/artifacts/*")
if(NOT rc EQUAL 0 OR crashes)
  string(LENGTH "${out}" len)
  if(len GREATER 6000)
    math(EXPR from "${len} - 6000")
    string(SUBSTRING "${out}" ${from} -1 out)
  endif()
  message("${out}")
  message(FATAL_ERROR "fuzz: the fuzzer failed (status ${rc}); inputs kept: ${crashes}\n"
                      "Copy each into tests/fuzz/regressions/ (see its README.md) once fixed.")
endif()
string(REGEX MATCHALL "(Done [0-9]+ runs[^\n]*|stat::number_of_executed_units:[^\n]*|fuzz_api: [0-9]+ API operations[^\n]*)"
       summary "${out}")
string(REPLACE ";" "\n" summary "${summary}")
message("${summary}")
if(NOT summary MATCHES "fuzz_api: [0-9]+ API operations")
  message(FATAL_ERROR "fuzz: the target did not report its operations (log: ${WORK}/fuzz.log)")
endif()
# The seeds include map failures (fuzz/corpus/seed-map-failures): some calls must have failed.
if(NOT summary MATCHES "\\(([1-9][0-9]*) refused")
  message(FATAL_ERROR "fuzz: no call ran out of memory: the map-failure operation never fired")
endif()
message("fuzz: no failure in ${SECONDS} s")
