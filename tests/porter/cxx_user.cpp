// cxx_user.cpp -- malloc.h from C++, with or without USE_DL_PREFIX: included here before the
// C library's headers declare malloc & co. with their exception specifications, and after
// them in cxx_order.cpp.  Linked with the core compiled as C++ (core_as_cxx.cpp) or as C.
#include "malloc.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

extern "C" {
#include "harness.h"
}

#ifdef USE_DL_PREFIX
#define NAME(f) dl##f
#else
#define NAME(f) f
#endif

namespace {

struct lookup {
  uintptr_t block; // an address: looked up after the block is freed, too
  bool in_use;
};

extern "C" void find_block(void *start, void *end, size_t used, void *arg) {
  lookup *l = static_cast<lookup *>(arg);
  (void)end;
  if (used != 0 && reinterpret_cast<uintptr_t>(start) == l->block)
    l->in_use = true;
}

// Is p a block in use of the core's global heap?
bool ours_at(uintptr_t address) {
  lookup l = {address, false};
  NAME(malloc_inspect_all)(find_block, &l);
  return l.in_use;
}

bool ours(const void *p) { return ours_at(reinterpret_cast<uintptr_t>(p)); }

} // namespace

bool cxx_order_round_trip(); // cxx_order.cpp

int main() {
  th_section("the C API from C++");
  char *p = static_cast<char *>(NAME(malloc)(100));
  CHECK(p != nullptr && ours(p));
  std::memset(p, 'x', 100);
  p = static_cast<char *>(NAME(realloc)(p, 10000));
  CHECK(p != nullptr && p[99] == 'x' && ours(p));
  uintptr_t address = reinterpret_cast<uintptr_t>(p);
  NAME(free)(p);
  CHECK(!ours_at(address));
  void *a = NAME(aligned_alloc)(64, 128);
  CHECK(a != nullptr && TH_ALIGNED(a, 64) && ours(a));
  NAME(free)(a);
  CHECK_EQ(std::strlen(malloc_abort_reason()), 0);
  CHECK(cxx_order_round_trip());

#ifndef USE_DL_PREFIX
  // Without the prefix the core is the C++ runtime's allocator too: operator new calls malloc.
  th_section("operator new and the standard library");
  {
    int *n = new int[1000];
    CHECK(ours(n)); // an int array has no cookie: new returned malloc's block
    delete[] n;
    std::vector<std::string> words;
    for (int i = 0; i < 100; ++i)
      words.push_back(std::string(100, static_cast<char>('a' + i % 26)));
    CHECK(ours(words.data()));
    CHECK_EQ(words[27][50], 'b');
    char *s = strdup("copied by the C library");
    CHECK(s != nullptr && ours(s));
    free(s);
  }
#endif
  return th_finish();
}
