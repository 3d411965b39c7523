#!/usr/bin/env bash
# Log reading throughput of `eseutil-rs /ml DIR` against `cat DIR/* >/dev/null`
# on the same bytes, hot cache, same run.
#
# Builds N generations (default 400, 1 MiB each) from the corpus log
# secedit-logs-b/edb.log re-sealed as a consistent sequence
# (examples/make_log_set.rs), then times both commands R times (default 5)
# and prints the best time of each, MB/s and the ratio.
#
# Usage: scripts/bench-ml.sh [N] [R]
# Env:   ESEUTIL_CORPUS (default ../shared/corpus), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-400}
R=${2:-5}
CORPUS=${ESEUTIL_CORPUS:-../shared/corpus}
SRC=$CORPUS/secedit-logs-b/edb.log
[ -f "$SRC" ] || { echo "corpus log not found: $SRC" >&2; exit 3; }
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --bin eseutil-rs --example make_log_set
BIN=$TARGET/release/eseutil-rs
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
"$TARGET/release/examples/make_log_set" "$SRC" "$DIR" "$N"
BYTES=$(cat "$DIR"/* | wc -c)
MB=$(awk -v b="$BYTES" 'BEGIN{printf "%.1f", b/1e6}')

# Sanity: the set verifies (exit 0).
"$BIN" /ml "$DIR" /o >/dev/null

now() { date +%s.%N; }
best() { # best wall time of R runs of "$@"
  local b=999999 t0 t1 d
  for _ in $(seq "$R"); do
    t0=$(now); "$@" >/dev/null; t1=$(now)
    d=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')
    b=$(awk -v a="$b" -v d="$d" 'BEGIN{print (d<a)?d:a}')
  done
  echo "$b"
}
cat "$DIR"/* >/dev/null   # warm the cache
CAT=$(best sh -c "cat \"$DIR\"/* >/dev/null")
ML=$(best "$BIN" /ml "$DIR" /o)
awk -v mb="$MB" -v c="$CAT" -v m="$ML" -v n="$N" 'BEGIN{
  printf "log set: %d files, %.1f MB\n", n, mb
  printf "cat:           %.3f s  %8.1f MB/s\n", c, mb/c
  printf "eseutil-rs /ml: %.3f s  %8.1f MB/s\n", m, mb/m
  printf "ratio /ml : cat = %.1f x slower (%.1f%% of cat throughput)\n", m/c, 100*c/m
}'
echo "machine: $(uname -m) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //'); commit $(git rev-parse --short HEAD); $(date -u +%Y-%m-%d)"
