# readme_block.cmake -- for the porter scripts that run README.md's commands as written.
#   include(${CMAKE_CURRENT_LIST_DIR}/readme_block.cmake)
#   readme_block(<script name> <README.md> <marker> <out var>)
# Sets <out var> to the lines (a list) of the fenced block that follows the line <marker>
# (an HTML comment such as "<!-- recipe -->") in the README; stops naming the script if the
# README has no such block.
function(readme_block script readme marker out_var)
  file(READ "${readme}" text)
  string(FIND "${text}" "${marker}" at)
  if(at LESS 0)
    message(FATAL_ERROR "${script}: no \"${marker}\" block in ${readme}")
  endif()
  string(SUBSTRING "${text}" ${at} -1 rest)
  string(REGEX MATCH "```[a-z]*\n([^`]*)```" block "${rest}")
  string(REPLACE "\n" ";" lines "${CMAKE_MATCH_1}")
  set(${out_var} "${lines}" PARENT_SCOPE)
endfunction()
