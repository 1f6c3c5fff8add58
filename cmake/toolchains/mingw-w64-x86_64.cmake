# Cross-compile for 64-bit Windows with mingw-w64 (Debian: gcc-mingw-w64-x86-64), and run the
# resulting programs under Wine (Debian: wine64) wherever CTest runs an executable target.
#
#   cmake -S . -B build/mingw -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/mingw-w64-x86_64.cmake
#
# WINE_PREFIX_DIR chooses the Wine prefix (created on first use, about 700 MB); by default it
# lives in the build tree so that builds do not disturb each other or the user's ~/.wine.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_mingw_triplet x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_mingw_triplet}-gcc)
set(CMAKE_CXX_COMPILER ${_mingw_triplet}-g++)
set(CMAKE_RC_COMPILER ${_mingw_triplet}-windres)

set(CMAKE_FIND_ROOT_PATH /usr/${_mingw_triplet})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

if(NOT WINE_PREFIX_DIR)
  set(WINE_PREFIX_DIR "${CMAKE_BINARY_DIR}/wine-prefix" CACHE PATH "Wine prefix for running tests")
endif()
set(WINE64 /usr/lib/wine/wine64 CACHE FILEPATH "The wine64 loader (Debian keeps it off PATH)")
set(WINESERVER /usr/lib/wine/wineserver CACHE FILEPATH "The Wine server")

# CTest puts this in front of every test whose command names an executable target.
# WINEDLLOVERRIDES keeps Wine from offering to install Mono and Gecko; DISPLAY= keeps it off X.
set(CMAKE_CROSSCOMPILING_EMULATOR /usr/bin/env WINEDEBUG=-all WINEPREFIX=${WINE_PREFIX_DIR}
    WINEDLLOVERRIDES=mscoree,mshtml= DISPLAY= ${WINE64})
