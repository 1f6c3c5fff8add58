/*
  startup -- what an allocator costs a program before it does any work: the program parses its
  arguments as the other workloads do, mallocs one block, frees it and reports.  Its peak RSS is
  the allocator's fixed cost (its own code and data pages, and the C library's pages it touches
  to start up), which every other workload's peak includes.  Not timed: the report shows only
  its peak RSS.
*/
#include "checked.h"

int main(int argc, char **argv) {
  block b;
  (void)bench_parse(argc, argv, 1); /* the C library pages this touches count here too */
  block_alloc(&b, 100, 1, "startup");
  bench_report("startup", block_free(&b, "startup"));
  return 0;
}
