# cmake/presets.cmake -- write the portability matrix's presets from its table.
#
#   cmake -P cmake/presets.cmake              # rewrite cmake/presets/matrix.json
#   cmake -DCHECK=ON -P cmake/presets.cmake   # fail if that file is not what the table gives
#
# Each platform <t> of the matrix has four presets named matrix-<t> (configure, build, test and
# a workflow of the three), all of one pattern.  CMake presets cannot loop, so rather than
# writing them by hand this script makes them from the table in tests/matrix/targets.cmake
# (base preset, toolchain file, cache variables, one line about the platform).  The hidden
# presets they inherit are written by hand in cmake/presets/matrix-base.json, which the
# generated file includes; CMakePresets.json includes the generated file.  The test
# "presets" (tests/CMakeLists.txt) runs the CHECK mode, so a table changed without running
# this script fails the suite.
cmake_minimum_required(VERSION 3.25)

get_filename_component(_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
include(${_root}/tests/matrix/targets.cmake)
set(_file ${_root}/cmake/presets/matrix.json)

set(_configure "")
set(_build "")
set(_test "")
set(_workflow "")
foreach(t IN LISTS DLMALLOC_MATRIX_TARGETS)
  set(base "${DLMALLOC_MATRIX_BASE_${t}}")
  if(NOT base MATCHES "^matrix-(linux|target)$")
    message(FATAL_ERROR "presets: DLMALLOC_MATRIX_BASE_${t} must be matrix-linux or "
                        "matrix-target, not \"${base}\" (tests/matrix/targets.cmake)")
  endif()
  set(name matrix-${t})

  string(APPEND _configure
         "    {\n"
         "      \"name\": \"${name}\",\n"
         "      \"inherits\": \"${base}\",\n"
         "      \"displayName\": \"Matrix: ${DLMALLOC_MATRIX_ABOUT_${t}}\",\n"
         "      \"binaryDir\": \"\${sourceDir}/build/matrix/${t}\"")
  set(toolchain "${DLMALLOC_MATRIX_TOOLCHAIN_${t}}")
  if(toolchain)
    if(NOT EXISTS ${_root}/cmake/toolchains/${toolchain})
      message(FATAL_ERROR "presets: ${t}: no cmake/toolchains/${toolchain}")
    endif()
    string(APPEND _configure
           ",\n      \"toolchainFile\": \"\${sourceDir}/cmake/toolchains/${toolchain}\"")
  endif()
  set(vars "")
  foreach(assignment IN LISTS DLMALLOC_MATRIX_CACHE_${t})
    if(NOT assignment MATCHES "^([A-Za-z_][A-Za-z_0-9]*)=(.*)$")
      message(FATAL_ERROR "presets: ${t}: \"${assignment}\" is not NAME=VALUE")
    endif()
    if(vars)
      string(APPEND vars ", ")
    endif()
    string(REPLACE "," ";" value "${CMAKE_MATCH_2}") # a list: commas in the table
    string(APPEND vars "\"${CMAKE_MATCH_1}\": \"${value}\"")
  endforeach()
  if(vars)
    string(APPEND _configure ",\n      \"cacheVariables\": { ${vars} }")
  endif()
  string(APPEND _configure "\n    },\n")

  string(APPEND _build "    { \"name\": \"${name}\", \"inherits\": \"matrix-base\", "
                       "\"configurePreset\": \"${name}\" },\n")
  string(APPEND _test "    { \"name\": \"${name}\", \"inherits\": \"${base}\", "
                      "\"configurePreset\": \"${name}\" },\n")
  string(APPEND _workflow
         "    {\n"
         "      \"name\": \"${name}\",\n"
         "      \"steps\": [\n"
         "        { \"type\": \"configure\", \"name\": \"${name}\" },\n"
         "        { \"type\": \"build\", \"name\": \"${name}\" },\n"
         "        { \"type\": \"test\", \"name\": \"${name}\" }\n"
         "      ]\n"
         "    },\n")
endforeach()
# JSON allows no comma after the last element.
foreach(part _configure _build _test _workflow)
  string(REGEX REPLACE ",\n$" "\n" ${part} "${${part}}")
endforeach()

set(_json "{
  \"version\": 6,
  \"include\": [\"matrix-base.json\"],
  \"vendor\": { \"portable-dlmalloc\": \"written by cmake/presets.cmake: do not edit\" },
  \"configurePresets\": [
${_configure}  ],
  \"buildPresets\": [
${_build}  ],
  \"testPresets\": [
${_test}  ],
  \"workflowPresets\": [
${_workflow}  ]
}
")

if(CHECK)
  file(READ ${_file} _current)
  if(NOT _current STREQUAL _json)
    message(FATAL_ERROR "presets: cmake/presets/matrix.json is out of date with "
                        "tests/matrix/targets.cmake: run `cmake -P cmake/presets.cmake`")
  endif()
  message("presets: cmake/presets/matrix.json matches tests/matrix/targets.cmake")
else()
  file(WRITE ${_file} "${_json}")
  message("presets: wrote cmake/presets/matrix.json")
endif()
