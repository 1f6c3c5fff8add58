# run_sqlite3.cmake -- the sqlite3 shell building and querying a 400 MB in-memory database
# under libdlmalloc.so.
#
#   cmake -DDROPIN=<libdlmalloc.so> -DWORK_DIR=<dir> -P run_sqlite3.cmake
#
# In memory, every database page is a malloc'd block: the workload (sqlite3_workload.sql)
# takes the heap to about a gigabyte at its peak (VACUUM copies the database) and back.  The
# output must equal sqlite3_expected.txt, and the DLMALLOC_STATS report must show that peak.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)

integration_find_program(sqlite3 "the sqlite3 shell (Debian: sqlite3)" NAMES sqlite3
                         VERSION -version)

set(stats "${WORK_DIR}/stats.txt")
integration_run(sqlite3 PRELOAD STATS "${stats}" TIMEOUT 360
                INPUT_FILE "${CMAKE_CURRENT_LIST_DIR}/sqlite3_workload.sql"
                COMMAND "${sqlite3}" -batch :memory:)
integration_expect_success(sqlite3)
file(READ "${CMAKE_CURRENT_LIST_DIR}/sqlite3_expected.txt" expected)
string(REPLACE "\r\n" "\n" out "${RUN_OUT}")
if(NOT out STREQUAL expected)
  message(FATAL_ERROR "sqlite3: unexpected results.\n--- expected ---\n${expected}"
                      "--- got ---\n${out}--- stderr ---\n${RUN_ERR}")
endif()
message("sqlite3: all ${RUN_SECONDS} s of queries gave the expected results")

# The database lived in libdlmalloc's heap: its peak holds the 400 MB of pages.
integration_check_stats("${stats}" "sqlite3" 400000000 1)
