# run_recipe.cmake -- the README's hand-build recipe, run exactly as written.
#
#   cmake -DCC=<C compiler> -DREADME=<README.md> -DROOT=<source root> -DWORK=<scratch dir>
#         -P run_recipe.cmake
#
# The recipe is the fenced block that follows the line "<!-- recipe -->" in README.md; each of
# its lines that starts with "cc " is one way of dropping the files into a project.  For each,
# a scratch project is laid out the way the command expects (malloc.c, malloc.h and ports/ in
# the current folder, or in the subfolder the command names), with a program app.c that
# includes the project's header by that path.  The command is run with the compiler of the
# build and -Wall -Wextra -Werror added, so the first warning fails the test.  The program
# then asks a fresh block's usable size, and for an impossible size, which must fail with
# errno ENOMEM as the C library's malloc does, and frees a block twice: it must stop with the
# port's report of the double free (not a crash, which is what the system's <malloc.h> in place
# of the project's gave).
cmake_minimum_required(VERSION 3.20)

include(${CMAKE_CURRENT_LIST_DIR}/../require_vars.cmake)
include(${CMAKE_CURRENT_LIST_DIR}/readme_block.cmake)
require_vars(run_recipe CC README ROOT WORK)

readme_block(run_recipe "${README}" "<!-- recipe -->" lines)
set(commands)
foreach(line IN LISTS lines)
  if(line MATCHES "^cc ")
    string(REGEX REPLACE "[ \t]+#.*$" "" line "${line}") # a trailing comment
    list(APPEND commands "${line}")
  endif()
endforeach()
if(NOT commands)
  message(FATAL_ERROR "run_recipe: the recipe block has no line starting with \"cc \"")
endif()

set(n 0)
foreach(command IN LISTS commands)
  math(EXPR n "${n} + 1")
  set(dir "${WORK}/layout${n}")
  file(REMOVE_RECURSE "${dir}")
  # Where the command expects the files: the folder in front of malloc.c, if any.
  if(command MATCHES " ([^ ]*/)?malloc\\.c")
    set(sub "${CMAKE_MATCH_1}")
  else()
    message(FATAL_ERROR "run_recipe: '${command}' names no malloc.c")
  endif()
  file(MAKE_DIRECTORY "${dir}/${sub}")
  file(COPY "${ROOT}/malloc.c" "${ROOT}/malloc.h" "${ROOT}/ports" DESTINATION "${dir}/${sub}")
  file(WRITE "${dir}/app.c" "#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include \"${sub}malloc.h\"

int main(void) {
  volatile size_t impossible = SIZE_MAX - 4096;
  char *p = malloc(64);
  char *volatile again = p; /* the same block, freed twice below */
  void *none;
  /* a fresh block's size: GCC takes a const pointer argument for a read of the block, and
     warned that the new bytes were read uninitialized until malloc.h said they are not */
  printf(\"usable size of malloc(64): %s\\n\",
         malloc_usable_size(p) >= 64 ? \"64 or more\" : \"short\");
  errno = 0;
  none = malloc(impossible);
  printf(\"malloc(SIZE_MAX - 4096): %s, errno %s\\n\", none ? \"a block\" : \"NULL\",
         errno == ENOMEM ? \"ENOMEM\" : \"not set\");
  printf(\"abort reason so far: '%s'\\n\", malloc_abort_reason());
  fflush(stdout);
  free(p);
  free(again);
  return 0;
}
")
  separate_arguments(argv UNIX_COMMAND "${command}")
  list(POP_FRONT argv) # "cc"
  message(STATUS "run_recipe: in ${dir}: ${command}")
  execute_process(COMMAND "${CC}" ${argv} -Wall -Wextra -Werror WORKING_DIRECTORY "${dir}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT "${out}${err}" STREQUAL "")
    message(FATAL_ERROR "run_recipe: '${command}' (+ -Wall -Wextra -Werror) failed or warned:\n"
                        "${out}${err}")
  endif()
  set(exe "${dir}/app")
  if(command MATCHES " -o ([^ ]+)")
    set(exe "${dir}/${CMAKE_MATCH_1}")
  elseif(NOT EXISTS "${exe}")
    set(exe "${dir}/a.out")
  endif()
  execute_process(COMMAND "${exe}" WORKING_DIRECTORY "${dir}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR NOT err MATCHES "dlmalloc: free\\(\\): double free")
    message(FATAL_ERROR "run_recipe: the program of '${command}' did not report its double "
                        "free (exit ${rc}):\n${out}${err}")
  endif()
  if(NOT out MATCHES "malloc\\(SIZE_MAX - 4096\\): NULL, errno ENOMEM")
    message(FATAL_ERROR "run_recipe: under '${command}' a failed malloc did not set errno to "
                        "ENOMEM:\n${out}")
  endif()
  if(NOT out MATCHES "usable size of malloc\\(64\\): 64 or more")
    message(FATAL_ERROR "run_recipe: under '${command}' malloc_usable_size was short:\n${out}")
  endif()
  message(STATUS "run_recipe: reported: ${err}")
endforeach()
message(STATUS "run_recipe: ${n} recipe lines built warning-free and reported the double free")
