# require_vars.cmake -- for the cmake -P scripts of tests/: stop with a message naming the
# script and the first -D<var>= it was not given.
#   include(${CMAKE_CURRENT_LIST_DIR}/require_vars.cmake)
#   require_vars(<script name> <var>...)
function(require_vars script)
  foreach(var IN LISTS ARGN)
    if(NOT ${var})
      message(FATAL_ERROR "${script}: ${var} is not set")
    endif()
  endforeach()
endfunction()
