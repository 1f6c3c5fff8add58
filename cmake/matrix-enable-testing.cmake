# matrix-enable-testing.cmake -- run at the end of project() (CMAKE_PROJECT_INCLUDE) by the
# matrix presets that build the samples without tests/ (matrix-windows-x86_64).
#
# The top-level CMakeLists.txt calls enable_testing() only when DLMALLOC_BUILD_TESTS is on, and
# a directory added before that call never writes its tests for CTest.  tests/CMakeLists.txt
# cannot be built for Windows, so that preset turns it off -- and the samples' tests (with the
# Wine server fixture every Windows test relies on) would silently disappear.
enable_testing()
