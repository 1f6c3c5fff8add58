// cxx_order.cpp -- malloc.h included after <cstdlib> and <new> (cxx_user.cpp includes it
// first): both orders must compile, with or without USE_DL_PREFIX.
#include <cstdlib>
#include <cstring>
#include <new>

#include "malloc.h"

#ifdef USE_DL_PREFIX
#define NAME(f) dl##f
#else
#define NAME(f) f
#endif

bool cxx_order_round_trip() {
  char *p = static_cast<char *>(NAME(calloc)(4, 8));
  bool zeroed = p != nullptr && p[0] == 0 && p[31] == 0;
  NAME(free)(p);
  return zeroed;
}
