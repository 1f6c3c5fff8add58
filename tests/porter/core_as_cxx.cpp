// core_as_cxx.cpp -- malloc.c compiled as C++ (as a firmware or game codebase whose build is
// C++ throughout would compile it): the core must build without errors or warnings and give
// the same C-linkage symbols.  The options come from the build (tests/porter/CMakeLists.txt).
#include "../../malloc.c"
