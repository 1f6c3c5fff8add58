#!/bin/sh
# Run the Windows samples of a mingw-w64 cross build under Wine.
#
#   samples/win32/run_under_wine.sh BUILD_DIR [WINE_PREFIX]
#
# BUILD_DIR is the cross build tree (configured with cmake/toolchains/mingw-w64-x86_64.cmake);
# WINE_PREFIX defaults to BUILD_DIR/wine-prefix and is created on first use (about 700 MB,
# 10 s).  Exit status: 0 when every sample passed.
#
# A persistent wineserver is started first and stopped at the end: otherwise every program
# leaves Wine helper processes holding our stdout open, and whoever reads it (ctest) waits.
set -u

build=$(cd "${1:?usage: run_under_wine.sh BUILD_DIR [WINE_PREFIX]}" && pwd)
WINE64=${WINE64:-/usr/lib/wine/wine64}
WINESERVER=${WINESERVER:-/usr/lib/wine/wineserver}
export WINEPREFIX="${2:-$build/wine-prefix}" WINEDEBUG=-all DISPLAY=
export WINEDLLOVERRIDES=mscoree,mshtml= # no offers to install Mono or Gecko

if [ ! -f "$WINEPREFIX/system.reg" ]; then
  "$WINE64" cmd /c exit </dev/null >/dev/null 2>&1 && "$WINESERVER" -w
fi
"$WINESERVER" -p </dev/null >/dev/null 2>&1
"$WINE64" cmd /c exit </dev/null >/dev/null 2>&1

status=0
for exe in samples/port_check.exe samples/sample_threads.exe samples/sample_mspace.exe \
  samples/win32/bin/dll_sample.exe; do
  if [ ! -f "$build/$exe" ]; then
    echo "run_under_wine: $exe was not built" >&2
    status=1
    continue
  fi
  echo "== $exe"
  (cd "$(dirname "$build/$exe")" && timeout 300 "$WINE64" "./$(basename "$exe")" </dev/null)
  rc=$?
  echo "== $exe: exit code $rc"
  [ "$rc" = 0 ] || status=1
done

"$WINESERVER" -k </dev/null >/dev/null 2>&1
exit $status
