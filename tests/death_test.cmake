# death_test.cmake -- the one way a death test is registered, included by tests/CMakeLists.txt
# (the host's variants) and tests/matrix/CMakeLists.txt (Windows and bare metal).
#
# dlmalloc_death_test(<test> <regex> <command>... [KNOWN_GAP]): the program commits a usage
# error; the test (label death) passes when its output matches regex, the reason custom_abort
# reported, so a crash or a silent run fails.  KNOWN_GAP: an error the current malloc.c does not
# detect in this configuration; the test (label death-known-gap) asserts that the program
# reports that it went unnoticed, so that a change in behaviour shows up.
function(dlmalloc_death_test test regex)
  cmake_parse_arguments(D "KNOWN_GAP" "" "" ${ARGN})
  add_test(NAME ${test} COMMAND ${D_UNPARSED_ARGUMENTS})
  if(D_KNOWN_GAP)
    set_tests_properties(${test} PROPERTIES LABELS death-known-gap
                         PASS_REGULAR_EXPRESSION "the usage error went unnoticed")
  else()
    set_tests_properties(${test} PROPERTIES LABELS death PASS_REGULAR_EXPRESSION "${regex}")
  endif()
endfunction()
