# run_gcc.cmake -- gcc compiling this project's own sources under libdlmalloc.so.
#
#   cmake -DDROPIN=<libdlmalloc.so> -DWORK_DIR=<dir> -DSOURCE_DIR=<repository> -P run_gcc.cmake
#
# Each compilation runs twice, once with the C library's allocator and once with the drop-in
# library preloaded into gcc and everything it starts (cc1, as); the two object files must
# be identical byte for byte.  A compiler whose allocator hands out corrupted or overlapping
# blocks crashes or, worse, emits different code; one that is only given different addresses
# must not change its output (-frandom-seed pins the one place gcc uses randomness).
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "-DSOURCE_DIR=<repository> is required")
endif()

integration_find_program(gcc "gcc (Debian: gcc)" NAMES gcc VERSION -dumpfullversion)

# name | flags | source: malloc.c as the library builds it, with every check and footers on,
# and the drop-in library's translation unit (malloc.c included, shared-library code).
set(jobs
  "malloc|-O2 -g -DUSE_DL_PREFIX -DMSPACES=1|malloc.c"
  "malloc_debug|-O2 -g -DDEBUG=1 -DFOOTERS=1 -DUSE_LOCKS=1 -DMSPACES=1|malloc.c"
  "dropin|-O2 -g -fPIC -fno-builtin-malloc -fno-builtin-calloc|dropin/dropin.c")

set(stats "${WORK_DIR}/stats.txt")
foreach(job IN LISTS jobs)
  string(REPLACE "|" ";" parts "${job}")
  list(GET parts 0 name)
  list(GET parts 1 flags)
  list(GET parts 2 source)
  separate_arguments(flags UNIX_COMMAND "${flags}")
  file(MAKE_DIRECTORY "${WORK_DIR}/plain" "${WORK_DIR}/dropin")
  # Same command line both times except the output folder (which gcc does not record).
  set(compile "${gcc}" ${flags} -frandom-seed=${name} -c "${SOURCE_DIR}/${source}")
  integration_run(${name}-plain TIMEOUT 120
                  COMMAND ${compile} -o "${WORK_DIR}/plain/${name}.o")
  integration_expect_success(${name}-plain)
  integration_run(${name}-dropin PRELOAD STATS "${stats}" TIMEOUT 120
                  COMMAND ${compile} -o "${WORK_DIR}/dropin/${name}.o")
  integration_expect_success(${name}-dropin)
  execute_process(COMMAND "${CMAKE_COMMAND}" -E compare_files
                          "${WORK_DIR}/plain/${name}.o" "${WORK_DIR}/dropin/${name}.o"
                  RESULT_VARIABLE differ)
  file(SIZE "${WORK_DIR}/dropin/${name}.o" size)
  if(NOT differ EQUAL 0)
    message(FATAL_ERROR "gcc ${source} (${name}): the object file built under libdlmalloc.so "
                        "differs from the one built without it")
  endif()
  message("gcc ${source} (${name}): identical object files, ${size} bytes")
endforeach()

# cc1, the compiler proper, ran on libdlmalloc's heap (its garbage-collected memory comes
# from mmap directly; the rest -- obstacks, hash tables, vectors -- from malloc).  The
# assembler and the driver report too.
integration_check_stats("${stats}" "cc1" 4000000 1000000)
integration_check_stats("${stats}" "as" 1000000 1)
