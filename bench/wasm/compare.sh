#!/bin/sh
# bench/wasm/compare.sh -- this allocator against wasi-libc's own malloc on wasm32-wasi, in one
# run: code size of a minimal program and time of a churn workload under Node.
#
#   bench/wasm/compare.sh [rounds] [churn scale]     (defaults: 7 rounds, scale 1)
#
# Three builds of each program, all wasm32-wasi with Debian's wasi-libc and clang:
#   wasi-libc      the program alone: the C library's malloc (its dlmalloc.o)
#   default        + malloc.c and ports/wasm32.c without USE_DL_PREFIX, as CMake builds the
#                  library: PORTABLE=1 USE_LOCKS=2 MSPACES=1 and the port's inline lock
#                  (PORT_LOCK_HEADER), which costs nothing without threads
#   size-optimised + the options below that only remove code
#   unchecked      size-optimised with INSECURE=1, to show what the run-time checks cost
# Size: bench/wasm/minimal.c (malloc, realloc, free), -Oz, --strip-all: the .wasm bytes.
# Time: bench/workloads/churn.c at -O2, run in interleaved rounds by bench/wasm/time.mjs; the
# median wall time of a run, and the linear memory at the end (its peak: it never shrinks).
# Writes build/wasm-compare/ and prints a Markdown table.
set -eu
cd "$(dirname "$0")/../.."
rounds=${1:-7}
scale=${2:-1}
out=build/wasm-compare
mkdir -p "$out"

CC="clang --target=wasm32-wasi --sysroot=/usr -isystem /usr/include/wasm32-wasi"
DEFAULT="-DPORTABLE=1 -DUSE_LOCKS=2 -DMSPACES=1 -DPORT_LOCK_HEADER=\"ports/wasm32_lock.h\""
DEFAULT="$DEFAULT -I. malloc.c ports/wasm32.c"
SMALL="-DPORTABLE=1 -DUSE_LOCKS=0 -DNO_MALLOC_STATS=1 -DMALLOC_INSPECT_ALL=0 -DNO_MALLINFO=1"
SMALL="$SMALL -DWASM32_RECYCLE=0 -I. malloc.c ports/wasm32.c"
# For comparison only, not a configuration to ship: the size-optimised one without the
# run-time checks that detect misuse and corruption.
UNCHECKED="$SMALL -DINSECURE=1"
configs="wasi-libc default size-optimised unchecked"

sources() {
  case $1 in
    wasi-libc) echo "" ;;
    default) echo "$DEFAULT" ;;
    size-optimised) echo "$SMALL" ;;
    unchecked) echo "$UNCHECKED" ;;
  esac
}

for c in $configs; do
  # shellcheck disable=SC2046
  $CC -Oz -Wl,--strip-all $(sources "$c") bench/wasm/minimal.c -o "$out/minimal-$c.wasm"
  # shellcheck disable=SC2046
  $CC -O2 -Ibench/workloads $(sources "$c") bench/workloads/churn.c -o "$out/churn-$c.wasm"
done

set --
for c in $configs; do
  set -- "$@" "$c=$out/churn-$c.wasm"
done
node --no-warnings --single-threaded-gc bench/wasm/time.mjs "$rounds" "$@" -- "$scale" \
  > "$out/churn.txt"

echo "clang $(clang --version | sed -n 's/.*clang version \([^ ]*\).*/\1/p'), node $(node --version), $rounds rounds, churn scale $scale"
echo
echo "| allocator | minimal .wasm (-Oz, stripped) | churn median time | churn linear memory |"
echo "|---|---:|---:|---:|"
for c in $configs; do
  bytes=$(wc -c < "$out/minimal-$c.wasm")
  line=$(grep "^$c " "$out/churn.txt")
  ms=$(echo "$line" | sed 's/.*median_ms=\([^ ]*\).*/\1/')
  mem=$(echo "$line" | sed 's/.*memory_bytes=\([^ ]*\).*/\1/')
  echo "| $c | $bytes bytes | $ms ms | $((mem / 1024)) KiB |"
done
echo
echo "Every run (ms) and each program's last line of output (the checksum must agree):"
sed 's/^/    /' "$out/churn.txt"
