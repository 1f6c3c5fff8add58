# cmake/ci.cmake -- the one rule for "are we in CI", used by the test drivers (script mode).
#
# A test whose tool is missing is reported as skipped on a developer's machine, but in CI
# (environment variable CI set to anything but 0/false/no/off) a skip would hide a target that
# never ran, so there it is a failure.

# dlmalloc_in_ci(<out_var>): TRUE when the environment variable CI says so.
function(dlmalloc_in_ci out_var)
  set(v "$ENV{CI}")
  if(v STREQUAL "" OR v MATCHES "^(0|[Ff][Aa][Ll][Ss][Ee]|[Nn][Oo]|[Oo][Ff][Ff])$")
    set(${out_var} FALSE PARENT_SCOPE)
  else()
    set(${out_var} TRUE PARENT_SCOPE)
  endif()
endfunction()

# dlmalloc_skip_or_fail(<skip text> <CI failure text>): outside CI print the skip text (which
# the test's SKIP_REGULAR_EXPRESSION matches) and end the script; in CI fail with the other.
# A macro, so that its return() ends the calling script.
macro(dlmalloc_skip_or_fail skip_text ci_text)
  dlmalloc_in_ci(_dlmalloc_ci)
  if(_dlmalloc_ci)
    message(FATAL_ERROR "${ci_text}")
  endif()
  message("${skip_text}")
  return()
endmacro()
