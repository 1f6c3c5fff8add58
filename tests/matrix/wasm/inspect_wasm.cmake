# inspect_wasm.cmake -- look into a wasm module or object with llvm-objdump -d, for the
# wasm32-wasi matrix target's build checks (tests/matrix/wasm.cmake).
#
#   cmake -DOBJDUMP=<llvm-objdump> -DFILE=<.wasm or .o> [-DEXPECT=<regex>...]
#         [-DREJECT=<regex>...] [-DCOMPILE=<compiler command, ;-list>] -P inspect_wasm.cmake
#
# With COMPILE, the command is run first (it must write FILE).  The disassembly must match
# every EXPECT and none of the REJECT regexes; function names appear there as "<name>:".
if(COMPILE)
  execute_process(COMMAND ${COMPILE} RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "compiling failed (${rc}):\n${err}")
  endif()
endif()
execute_process(COMMAND ${OBJDUMP} -d ${FILE} RESULT_VARIABLE rc OUTPUT_VARIABLE text
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${OBJDUMP} -d ${FILE} failed (${rc}): ${err}")
endif()
set(bad 0)
foreach(re IN LISTS EXPECT)
  if(text MATCHES "${re}")
    message("ok:   ${FILE} has ${re}")
  else()
    message("FAIL: ${FILE} lacks ${re}")
    set(bad 1)
  endif()
endforeach()
foreach(re IN LISTS REJECT)
  if(text MATCHES "${re}")
    message("FAIL: ${FILE} has ${re}: \"${CMAKE_MATCH_0}\"")
    set(bad 1)
  else()
    message("ok:   ${FILE} has no ${re}")
  endif()
endforeach()
if(bad)
  message(FATAL_ERROR "inspect_wasm: failed")
endif()
