# run_dropin_stats.cmake -- DLMALLOC_STATS, the drop-in library's exit report.
#
#   cmake -DDROPIN=<libdlmalloc.so> -DWORK_DIR=<dir> -DPROGRAM=<dropin_api>
#         -P run_dropin_stats.cmake
#
# PROGRAM is any program that allocates a few MiB and leaves standard error open at exit.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
if(NOT PROGRAM)
  message(FATAL_ERROR "-DPROGRAM=... is required")
endif()
get_filename_component(prog_name "${PROGRAM}" NAME)

# Unset: no report.
integration_run(off PRELOAD COMMAND "${PROGRAM}")
integration_expect_success(off)
if(RUN_ERR MATCHES "dlmalloc\\[")
  message(FATAL_ERROR "DLMALLOC_STATS unset, yet a report was printed:\n${RUN_ERR}")
endif()

# 1: the report on standard error, three lines, each with pid and program name.
integration_run(stderr PRELOAD STATS 1 COMMAND "${PROGRAM}")
integration_expect_success(stderr)
file(WRITE "${WORK_DIR}/stderr-report.txt" "${RUN_ERR}")
if(NOT RUN_ERR MATCHES "dlmalloc\\[[0-9]+ ${prog_name}\\]: max system bytes = [0-9]+\n"
   OR NOT RUN_ERR MATCHES "dlmalloc\\[[0-9]+ ${prog_name}\\]: system bytes     = [0-9]+\n"
   OR NOT RUN_ERR MATCHES "dlmalloc\\[[0-9]+ ${prog_name}\\]: in use bytes     = [0-9]+\n")
  message(FATAL_ERROR "DLMALLOC_STATS=1: no report on standard error:\n${RUN_ERR}")
endif()
# The program grows the heap by 4 MB (its malloc_trim test) and keeps stdio buffers.
integration_check_stats("${WORK_DIR}/stderr-report.txt" "${prog_name}" 4000000 1)

# An absolute path: appended to that file; two runs, two reports.
set(file "${WORK_DIR}/stats.txt")
integration_run(file1 PRELOAD STATS "${file}" COMMAND "${PROGRAM}")
integration_expect_success(file1)
integration_run(file2 PRELOAD STATS "${file}" COMMAND "${PROGRAM}")
integration_expect_success(file2)
if(RUN_ERR MATCHES "dlmalloc\\[[0-9]+ ${prog_name}\\]: max")
  message(FATAL_ERROR "DLMALLOC_STATS=<file>: the report went to standard error")
endif()
file(STRINGS "${file}" max_lines REGEX "^dlmalloc\\[[0-9]+ ${prog_name}\\]: max system bytes = ")
list(LENGTH max_lines n)
# One report per run: dropin_api's forked child leaves with _exit(), which runs no destructor.
if(NOT n EQUAL 2)
  message(FATAL_ERROR "DLMALLOC_STATS=<file>: expected 2 reports in ${file}, found ${n}")
endif()
integration_check_stats("${file}" "${prog_name}" 4000000 1)

# Anything else: a warning, and no report.
integration_run(bad PRELOAD STATS "relative/path" COMMAND "${PROGRAM}")
integration_expect_success(bad)
if(NOT RUN_ERR MATCHES "DLMALLOC_STATS must be 0, 1, stderr or an absolute file path"
   OR RUN_ERR MATCHES "max system bytes")
  message(FATAL_ERROR "DLMALLOC_STATS=relative/path: expected the warning only:\n${RUN_ERR}")
endif()
message("DLMALLOC_STATS: off, stderr, file and bad value behave as documented")
