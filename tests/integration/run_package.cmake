# run_package.cmake -- install the build tree, then build and run a consumer project against
# the installed files, once through the CMake package and once through pkg-config (and, from
# the source tree, through FetchContent).
#
#   cmake -DDROPIN=<libdlmalloc.so> -DWORK_DIR=<dir> -DBUILD_DIR=<this build> -DCONFIG=<config>
#         -DCONSUMER_DIR=<tests/integration/consumer> -DLIBDIR=<lib> -DINCLUDEDIR=<include>
#         -DC_COMPILER=<cc> -DGENERATOR=<generator> [-DSOURCE_DIR=<repository>]
#         -P run_package.cmake
#
# With SOURCE_DIR the consumer is also built from the source tree through FetchContent.
#
# The prefix is a scratch folder, not the configured CMAKE_INSTALL_PREFIX: the installed
# package and .pc files must find themselves wherever they are put.
include(${CMAKE_CURRENT_LIST_DIR}/common.cmake)
foreach(var BUILD_DIR CONSUMER_DIR LIBDIR INCLUDEDIR C_COMPILER GENERATOR)
  if(NOT ${var})
    message(FATAL_ERROR "-D${var}=... is required")
  endif()
endforeach()

set(prefix "${WORK_DIR}/prefix")
set(config_args)
if(CONFIG)
  set(config_args --config "${CONFIG}")
endif()

# ---- install ----
integration_run(install COMMAND "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}"
                ${config_args})
integration_expect_success(install)
foreach(f "${INCLUDEDIR}/dlmalloc.h" "${LIBDIR}/libdlmalloc.a" "${LIBDIR}/libdlmalloc.so"
          "${LIBDIR}/cmake/dlmalloc/dlmalloc-config.cmake"
          "${LIBDIR}/cmake/dlmalloc/dlmalloc-config-version.cmake"
          "${LIBDIR}/pkgconfig/dlmalloc.pc" "${LIBDIR}/pkgconfig/dlmalloc-shared.pc")
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "cmake --install did not install ${f}")
  endif()
endforeach()
# Nothing may shadow the C library's <malloc.h> for users of the include directory.
file(GLOB_RECURSE headers RELATIVE "${prefix}/${INCLUDEDIR}" "${prefix}/${INCLUDEDIR}/*")
if(NOT headers STREQUAL "dlmalloc.h")
  message(FATAL_ERROR "installed headers: '${headers}', expected only dlmalloc.h")
endif()
message("installed: ${prefix}")

# Configure and build consumer/ as step <tag> with the extra cache settings in ARGN, then run
# both of its programs; <what> labels their output.
function(build_and_run_consumer tag what)
  integration_run(${tag}-configure
    COMMAND "${CMAKE_COMMAND}" -S "${CONSUMER_DIR}" -B "${WORK_DIR}/${tag}-build" -G "${GENERATOR}"
            ${ARGN} "-DCMAKE_C_COMPILER=${C_COMPILER}" -DCMAKE_BUILD_TYPE=Release)
  integration_expect_success(${tag}-configure)
  integration_run(${tag}-build COMMAND "${CMAKE_COMMAND}" --build "${WORK_DIR}/${tag}-build")
  integration_expect_success(${tag}-build)
  foreach(exe consumer_static consumer_shared)
    # The consumer's build tree has an RPATH to the libdlmalloc.so it linked.
    integration_run(${tag}-${exe} COMMAND "${WORK_DIR}/${tag}-build/${exe}")
    integration_expect_success(${tag}-${exe})
    message("${what}: ${RUN_OUT}")
  endforeach()
endfunction()

# ---- the CMake package ----
build_and_run_consumer(cmake "find_package(dlmalloc)" "-DCMAKE_PREFIX_PATH=${prefix}")

# ---- FetchContent (add_subdirectory underneath) from the source tree ----
# (consumer/CMakeLists.txt needs CMake 3.24 for a FetchContent source given by SOURCE_DIR alone.)
if(SOURCE_DIR AND CMAKE_VERSION VERSION_GREATER_EQUAL 3.24)
  build_and_run_consumer(fetch "FetchContent" "-DDLMALLOC_CONSUMER_SOURCE=${SOURCE_DIR}")
  # As a subproject it builds its libraries, not its tests and samples (the consumer does not
  # switch them off).
  foreach(dir tests/CMakeFiles samples)
    if(EXISTS "${WORK_DIR}/fetch-build/_deps/dlmalloc-build/${dir}")
      message(FATAL_ERROR "FetchContent built portable-dlmalloc's ${dir} in the consumer's tree")
    endif()
  endforeach()
endif()

# ---- pkg-config ----
integration_find_program(pkg_config "pkg-config (Debian: pkg-config); the CMake package part passed"
                         NAMES pkg-config pkgconf)
set(ENV{PKG_CONFIG_PATH} "${prefix}/${LIBDIR}/pkgconfig")
set(pc_static_libs "")
foreach(pair "dlmalloc|consumer_static|static_main.c"
             "dlmalloc-shared|consumer_shared|shared_main.c")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 module)
  list(GET pair 1 exe)
  list(GET pair 2 source)
  execute_process(COMMAND "${pkg_config}" --cflags --libs ${module} RESULT_VARIABLE rc
                  OUTPUT_VARIABLE flags ERROR_VARIABLE err OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config --cflags --libs ${module} failed: ${err}")
  endif()
  execute_process(COMMAND "${pkg_config}" --modversion ${module} OUTPUT_VARIABLE version
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  message("pkg-config ${module} ${version}: ${flags}")
  if(module STREQUAL "dlmalloc")
    set(pc_static_libs "${flags}")
  endif()
  separate_arguments(flags UNIX_COMMAND "${flags}")
  integration_run(pc-build-${exe}
    COMMAND "${C_COMPILER}" "${CONSUMER_DIR}/${source}" ${flags} -o "${WORK_DIR}/pc-${exe}")
  integration_expect_success(pc-build-${exe})
  # No RPATH here, as with a plain "cc $(pkg-config ...)": the loader is told where to look.
  integration_run(pc-${exe} ENV "LD_LIBRARY_PATH=${prefix}/${LIBDIR}"
                  COMMAND "${WORK_DIR}/pc-${exe}")
  integration_expect_success(pc-${exe})
  message("pkg-config ${module}: ${RUN_OUT}")
endforeach()
# docs/packaging.md's other way for a prefix the loader does not search: the library's
# directory recorded in the program (-Wl,-rpath from the .pc file's libdir), run as it is.
execute_process(COMMAND "${pkg_config}" --variable=libdir dlmalloc-shared RESULT_VARIABLE rc
                OUTPUT_VARIABLE pc_libdir OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0 OR NOT IS_DIRECTORY "${pc_libdir}")
  message(FATAL_ERROR "pkg-config --variable=libdir dlmalloc-shared: '${pc_libdir}'")
endif()
execute_process(COMMAND "${pkg_config}" --cflags --libs dlmalloc-shared
                OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE)
separate_arguments(flags UNIX_COMMAND "${flags}")
integration_run(pc-build-rpath
  COMMAND "${C_COMPILER}" "${CONSUMER_DIR}/shared_main.c" ${flags} "-Wl,-rpath,${pc_libdir}"
          -o "${WORK_DIR}/pc-consumer_shared_rpath")
integration_expect_success(pc-build-rpath)
integration_run(pc-rpath COMMAND "${WORK_DIR}/pc-consumer_shared_rpath")
integration_expect_success(pc-rpath)
# dlmalloc.pc names the archive itself: -ldlmalloc would find the drop-in libdlmalloc.so.
if(NOT pc_static_libs MATCHES "libdlmalloc\\.a")
  message(FATAL_ERROR "pkg-config dlmalloc does not link libdlmalloc.a: ${pc_static_libs}")
endif()
message("the installed tree works through find_package(dlmalloc) and pkg-config")
