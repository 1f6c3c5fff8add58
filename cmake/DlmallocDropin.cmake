# DlmallocDropin.cmake -- the drop-in library, the installed header and the packages.
#
# Included from the end of the top-level CMakeLists.txt, after the target dlmalloc exists.
#
#   dlmalloc_shared (alias dlmalloc::shared)  libdlmalloc.so from dropin/dropin.c: replaces
#       malloc & co. when preloaded or linked; exports the dl names too.  ELF platforms only.
#   <build>/dlmalloc-include/dlmalloc.h        malloc.h with the options of the libraries
#       recorded in it (cmake/dlmalloc.h.in); on the include path of both targets, installed
#       as <prefix>/include/dlmalloc.h.
#   install rules (DLMALLOC_INSTALL)           the two libraries, dlmalloc.h, the CMake
#       package dlmalloc (dlmalloc::dlmalloc, dlmalloc::shared) and the pkg-config files
#       dlmalloc.pc (static) and dlmalloc-shared.pc.
include_guard(GLOBAL)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
include(CheckCCompilerFlag)
include(CheckLinkerFlag)

# ---- Options ---------------------------------------------------------------------------------
# An ELF system with the GNU attributes: the drop-in defines the standard names as aliases.
if(CMAKE_SYSTEM_NAME MATCHES "Linux|BSD|DragonFly" AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  set(_dlmalloc_dropin_default ON)
else()
  set(_dlmalloc_dropin_default OFF)
endif()
option(DLMALLOC_BUILD_DROPIN "Build libdlmalloc.so, the drop-in replacement of malloc"
       ${_dlmalloc_dropin_default})
option(DLMALLOC_DROPIN_THREAD_CACHE "The drop-in's per-thread cache (MALLOC_THREAD_CACHE)" ON)
# A subproject (add_subdirectory, FetchContent) installs nothing and runs no integration tests
# unless asked to.  (PROJECT_IS_TOP_LEVEL needs CMake 3.21; the project requires 3.20.)
if(CMAKE_SOURCE_DIR STREQUAL PROJECT_SOURCE_DIR)
  set(_dlmalloc_top_level ON)
else()
  set(_dlmalloc_top_level OFF)
endif()
option(DLMALLOC_INSTALL "Install the libraries, dlmalloc.h, the CMake package and pkg-config files"
       ${_dlmalloc_top_level})
option(DLMALLOC_BUILD_INTEGRATION_TESTS
       "Run real programs (Python, sqlite3, gcc) under the drop-in library (tests/integration)"
       ${_dlmalloc_top_level})

set(DLMALLOC_GENERATED_INCLUDE_DIR ${PROJECT_BINARY_DIR}/dlmalloc-include)

# ---- dlmalloc.h ------------------------------------------------------------------------------
# The options of malloc.h section 1 and 2 that a user's compilation must share with the library.
set(_dlmalloc_abi_options USE_DL_PREFIX MSPACES ONLY_MSPACES NO_MALLINFO MALLINFO_FIELD_TYPE
    MALLOC_INSPECT_ALL MALLOC_ALIGNMENT)

function(_dlmalloc_write_header target out_file)
  get_target_property(defs ${target} INTERFACE_COMPILE_DEFINITIONS)
  if(NOT defs)
    set(defs)
  endif()
  set(code "")
  set(text "")
  set(prefixed OFF)
  foreach(d IN LISTS defs)
    if(d MATCHES "^([A-Za-z_][A-Za-z_0-9]*)(=(.*))?$")
      set(name ${CMAKE_MATCH_1})
      set(value "${CMAKE_MATCH_3}")
      if(NOT name IN_LIST _dlmalloc_abi_options)
        continue() # e.g. PORTABLE, USE_LOCKS: how malloc.c was compiled, not its interface
      endif()
      if(NOT CMAKE_MATCH_2)
        set(value 1)
      endif()
      if(name STREQUAL "USE_DL_PREFIX")
        set(prefixed ON)
      endif()
      string(APPEND code "#ifndef ${name}\n#define ${name} ${value}\n#endif\n")
      string(APPEND text " ${name}=${value}")
    endif()
  endforeach()
  if(NOT prefixed)
    # The library defines malloc, free, ... themselves; a user who asks for the dl names
    # would otherwise link calls meant for it to the C library's allocator.
    string(APPEND code "#ifdef USE_DL_PREFIX\n#error \"libdlmalloc.a was built without "
                       "USE_DL_PREFIX: it exports malloc, free, ... themselves\"\n#endif\n")
    string(APPEND text " (no USE_DL_PREFIX: standard names)")
  endif()
  string(STRIP "${text}" DLMALLOC_STATIC_OPTIONS_TEXT)
  string(STRIP "${code}" DLMALLOC_STATIC_OPTIONS_CODE)
  configure_file(${PROJECT_SOURCE_DIR}/cmake/dlmalloc.h.in ${out_file}.in @ONLY)
  file(READ ${out_file}.in preamble)
  file(READ ${PROJECT_SOURCE_DIR}/malloc.h body)
  file(WRITE ${out_file}.tmp "${preamble}${body}")
  # Rewritten only when the text changes, so that a re-configure rebuilds nothing.
  configure_file(${out_file}.tmp ${out_file} COPYONLY)
  file(REMOVE ${out_file}.tmp ${out_file}.in)
  set_property(DIRECTORY ${PROJECT_SOURCE_DIR} APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${PROJECT_SOURCE_DIR}/malloc.h ${PROJECT_SOURCE_DIR}/cmake/dlmalloc.h.in)
endfunction()

_dlmalloc_write_header(dlmalloc ${DLMALLOC_GENERATED_INCLUDE_DIR}/dlmalloc.h)

# The target dlmalloc carries its source directory and its build definitions (PORTABLE=1,
# USE_LOCKS=2, ...) in its interface.  Inside this build they stay as they are; an installed
# copy gets <prefix>/include instead, and no definitions: dlmalloc.h records the ones that
# matter, and PORTABLE or USE_LOCKS would only leak into the user's code.
get_target_property(_dlmalloc_iface_defs dlmalloc INTERFACE_COMPILE_DEFINITIONS)
get_target_property(_dlmalloc_iface_incs dlmalloc INTERFACE_INCLUDE_DIRECTORIES)
set(_dlmalloc_new_defs)
foreach(_d IN LISTS _dlmalloc_iface_defs)
  list(APPEND _dlmalloc_new_defs "$<BUILD_INTERFACE:${_d}>")
endforeach()
set(_dlmalloc_new_incs)
foreach(_i IN LISTS _dlmalloc_iface_incs)
  list(APPEND _dlmalloc_new_incs "$<BUILD_INTERFACE:${_i}>")
endforeach()
list(APPEND _dlmalloc_new_incs "$<BUILD_INTERFACE:${DLMALLOC_GENERATED_INCLUDE_DIR}>"
     "$<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>")
set_target_properties(dlmalloc PROPERTIES INTERFACE_COMPILE_DEFINITIONS "${_dlmalloc_new_defs}"
                                          INTERFACE_INCLUDE_DIRECTORIES "${_dlmalloc_new_incs}")

# ---- libdlmalloc.so --------------------------------------------------------------------------
if(DLMALLOC_BUILD_DROPIN)
  # pthread_atfork and the thread cache's pthread key (in libc itself since glibc 2.34).
  find_package(Threads REQUIRED)

  add_library(dlmalloc_shared SHARED ${PROJECT_SOURCE_DIR}/dropin/dropin.c)
  add_library(dlmalloc::shared ALIAS dlmalloc_shared)
  set_target_properties(dlmalloc_shared PROPERTIES
    OUTPUT_NAME dlmalloc
    VERSION ${PROJECT_VERSION}
    SOVERSION ${PROJECT_VERSION_MAJOR}
    EXPORT_NAME shared
    C_VISIBILITY_PRESET default) # every dl and standard name is API
  if(NOT DLMALLOC_DROPIN_THREAD_CACHE)
    target_compile_definitions(dlmalloc_shared PRIVATE DLMALLOC_DROPIN_THREAD_CACHE=0)
  endif()
  target_compile_options(dlmalloc_shared PRIVATE ${DLMALLOC_WARNINGS}
    # gcc turns malloc + memset(0) into calloc: inside calloc, a call to itself (dropin.c 1.).
    -fno-builtin-malloc -fno-builtin-calloc -fno-builtin-realloc -fno-builtin-free)
  # The whole process's allocator: an unoptimised one makes every test program crawl, and the
  # calloc rewrite above only happens at -O2, so that is what the tests must exercise.
  if(NOT CMAKE_BUILD_TYPE AND NOT CMAKE_CONFIGURATION_TYPES)
    target_compile_options(dlmalloc_shared PRIVATE -O2)
  endif()
  # dlrealloc calling dlmalloc, and the like, as direct calls rather than through the PLT.
  check_c_compiler_flag(-fno-semantic-interposition DLMALLOC_HAVE_NO_SEMANTIC_INTERPOSITION)
  if(DLMALLOC_HAVE_NO_SEMANTIC_INTERPOSITION)
    target_compile_options(dlmalloc_shared PRIVATE -fno-semantic-interposition)
  endif()
  # -z nodelete: a dlclose() must never unmap the allocator that owns the process's blocks.
  # --no-undefined: every symbol the library needs is resolved when it is linked.
  check_linker_flag(C "LINKER:-z,nodelete" DLMALLOC_HAVE_Z_NODELETE)
  if(DLMALLOC_HAVE_Z_NODELETE)
    target_link_options(dlmalloc_shared PRIVATE "LINKER:-z,nodelete")
  endif()
  check_linker_flag(C "LINKER:--no-undefined" DLMALLOC_HAVE_NO_UNDEFINED)
  if(DLMALLOC_HAVE_NO_UNDEFINED)
    target_link_options(dlmalloc_shared PRIVATE "LINKER:--no-undefined")
  endif()
  target_link_libraries(dlmalloc_shared PRIVATE Threads::Threads)
  target_include_directories(dlmalloc_shared INTERFACE
    $<BUILD_INTERFACE:${DLMALLOC_GENERATED_INCLUDE_DIR}>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  # Selects the libdlmalloc.so branch of dlmalloc.h (dl names, mspaces).
  target_compile_definitions(dlmalloc_shared INTERFACE DLMALLOC_SHARED=1)
endif()

# ---- Installation ----------------------------------------------------------------------------
if(DLMALLOC_INSTALL)
  set(_dlmalloc_install_targets dlmalloc)
  if(TARGET dlmalloc_shared)
    list(APPEND _dlmalloc_install_targets dlmalloc_shared)
  endif()
  install(TARGETS ${_dlmalloc_install_targets} EXPORT dlmalloc-targets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(FILES ${DLMALLOC_GENERATED_INCLUDE_DIR}/dlmalloc.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(FILES ${PROJECT_SOURCE_DIR}/license.txt DESTINATION ${CMAKE_INSTALL_DOCDIR})

  # CMake package: find_package(dlmalloc CONFIG) -> dlmalloc::dlmalloc, dlmalloc::shared.
  set(_dlmalloc_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/dlmalloc)
  install(EXPORT dlmalloc-targets NAMESPACE dlmalloc:: DESTINATION ${_dlmalloc_cmake_dir})
  configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/dlmalloc-config.cmake.in
    ${PROJECT_BINARY_DIR}/cmake/dlmalloc-config.cmake
    INSTALL_DESTINATION ${_dlmalloc_cmake_dir})
  write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/dlmalloc-config-version.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMajorVersion)
  install(FILES ${PROJECT_BINARY_DIR}/cmake/dlmalloc-config.cmake
                ${PROJECT_BINARY_DIR}/cmake/dlmalloc-config-version.cmake
          DESTINATION ${_dlmalloc_cmake_dir})

  # pkg-config.  The prefix is found from the .pc file's own place (${pcfiledir}), so the
  # files stay right after "cmake --install --prefix <elsewhere>" or a move of the tree.
  if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    message(WARNING "DLMALLOC_INSTALL: absolute CMAKE_INSTALL_LIBDIR/INCLUDEDIR make the "
                    "pkg-config files wrong after an install to another prefix")
  endif()
  file(RELATIVE_PATH DLMALLOC_PC_RELATIVE_PREFIX "/root/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/root")
  string(REGEX REPLACE "/$" "" DLMALLOC_PC_RELATIVE_PREFIX "${DLMALLOC_PC_RELATIVE_PREFIX}")
  set(DLMALLOC_PC_STATIC_FILE "$<TARGET_FILE_NAME:dlmalloc>")
  configure_file(${PROJECT_SOURCE_DIR}/cmake/dlmalloc.pc.in
                 ${PROJECT_BINARY_DIR}/pkgconfig/dlmalloc.pc.in @ONLY)
  file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/pkgconfig/dlmalloc.pc
                INPUT ${PROJECT_BINARY_DIR}/pkgconfig/dlmalloc.pc.in)
  set(_dlmalloc_pc_files ${PROJECT_BINARY_DIR}/pkgconfig/dlmalloc.pc)
  if(TARGET dlmalloc_shared)
    configure_file(${PROJECT_SOURCE_DIR}/cmake/dlmalloc-shared.pc.in
                   ${PROJECT_BINARY_DIR}/pkgconfig/dlmalloc-shared.pc @ONLY)
    list(APPEND _dlmalloc_pc_files ${PROJECT_BINARY_DIR}/pkgconfig/dlmalloc-shared.pc)
  endif()
  install(FILES ${_dlmalloc_pc_files} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()
