# run_fuzz.cmake -- the "fuzz" CTest test: run the libFuzzer target for a bounded time.
#   cmake -DFUZZER=<binary> -DAVAILABLE=<ON|OFF> -DWHY=<text> -DCORPUS=<seed dir>
#         -DWORK=<scratch dir> -DSECONDS=<n> -P run_fuzz.cmake
# Without a libFuzzer build (no clang or no fuzzer runtime: AVAILABLE=OFF) the test is skipped
# with a message, except in CI (environment variable CI set), where that is a failure.
if(NOT AVAILABLE)
  if(DEFINED ENV{CI})
    message(FATAL_ERROR "fuzz: libFuzzer is not available (${WHY}) and CI is set")
  endif()
  message("SKIP: libFuzzer not available: ${WHY}")
  return()
endif()
if(NOT EXISTS "${FUZZER}")
  message(FATAL_ERROR "fuzz: ${FUZZER} was not built")
endif()
# New inputs go to a scratch copy; the committed seeds are read only.
file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}/corpus" "${WORK}/artifacts")
execute_process(
  COMMAND "${FUZZER}" -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048
          -print_final_stats=1 -artifact_prefix=${WORK}/artifacts/ "${WORK}/corpus" "${CORPUS}"
  RESULT_VARIABLE rc)
file(GLOB crashes "${WORK}/artifacts/*")
if(NOT rc EQUAL 0 OR crashes)
  message(FATAL_ERROR "fuzz: the fuzzer failed (status ${rc}); inputs kept: ${crashes}")
endif()
message("fuzz: no failure in ${SECONDS} s")
