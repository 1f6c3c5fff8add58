# run_dropin_abort.cmake -- a detected usage error under libdlmalloc.so: one line on standard
# error naming the process and the reason, then abort().
#
#   cmake -DDROPIN=<libdlmalloc.so> -DWORK_DIR=<dir> -DPROGRAM=<dropin_api>
#         -P run_dropin_abort.cmake
#
# "dropin_api double-free" frees a block twice; "dropin_api trim-damaged" calls malloc_trim
# after a write after free (below).  The report is written with write(2) from the
# error path, with the heap lock held: a path that allocated would deadlock (and time out)
# instead of printing.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
if(NOT PROGRAM)
  message(FATAL_ERROR "-DPROGRAM=... is required")
endif()
get_filename_component(prog_name "${PROGRAM}" NAME)

integration_run(double-free PRELOAD TIMEOUT 30 COMMAND "${PROGRAM}" double-free)
if(NOT RUN_RESULT MATCHES "[Aa]bort")
  message(FATAL_ERROR "expected the program to abort, got '${RUN_RESULT}':\n${RUN_ERR}")
endif()
set(report_line "dlmalloc\\[[0-9]+ ${prog_name}\\]: free\\(\\): [^\n]*0x[0-9a-f]+ \\[malloc\\.c:[0-9]+\\]\n")
if(NOT RUN_ERR MATCHES "${report_line}")
  message(FATAL_ERROR "no 'dlmalloc[pid ${prog_name}]: free(): ...' report:\n${RUN_ERR}")
endif()
string(STRIP "${RUN_ERR}" report)
message("reported and aborted: ${report}")

# "dropin_api trim-damaged": a free chunk's size rewritten after free, then malloc_trim, which
# gives back the pages inside free chunks: the damage is reported, not acted on.
integration_run(trim-damaged PRELOAD TIMEOUT 30 COMMAND "${PROGRAM}" trim-damaged)
if(NOT RUN_RESULT MATCHES "[Aa]bort" OR
   NOT RUN_ERR MATCHES "dlmalloc\\[[0-9]+ ${prog_name}\\]: heap corruption: ")
  message(FATAL_ERROR "expected a heap corruption report and abort, got '${RUN_RESULT}':\n"
                      "${RUN_ERR}")
endif()
string(STRIP "${RUN_ERR}" report)
message("reported and aborted: ${report}")
