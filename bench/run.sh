#!/bin/sh
# bench/run.sh -- build the workloads and libdlmalloc.so, run every workload against every
# allocator, write bench/results/<date>.md and <date>.svg.  Not part of the test suite.
# Threaded workloads run at 2 and 4 threads, each on all cores and pinned to one core.
#
#   bench/run.sh              default: 5 interleaved rounds, under 10 minutes on 2 cores
#   bench/run.sh --long       11 rounds at 3 times the work: steadier medians
#   bench/run.sh --only churn,larson --rounds 3 ...   any option of bench/bench.py
#   bench/run.sh --name baseline     writes results/<date>-baseline.md instead
#
# Needs: cc, make, cmake, python3, valgrind (instruction counts), gnuplot (chart), and the
# allocators to compare: apt-get install libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4.
set -e
cd "$(dirname "$0")"
make -s -j2 all
if [ "$1" = "--long" ]; then
  shift
  set -- --rounds 11 --scale 3 "$@"
fi
exec python3 bench.py "$@"
