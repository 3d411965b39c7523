#!/usr/bin/env bash
# Log streaming benchmark (issue 11, item 2): time and peak RSS of
# `/ml DIR/edb` and `plan DIR` over sets of 10, 100 and 1,000 generations
# of 1 MiB, against `cat` of the same files in the same run.
#
#   scripts/bench-stream.sh [BIN] [GENERATIONS...]
#
# BIN defaults to target/release/eseutil-rs (build it first with
# `cargo build --release --bin eseutil-rs --example make_log_set`); pass an
# older build to compare. Each command runs RUNS times (default 3): the
# table shows the best wall time and the largest peak RSS.
# The sets are written under $TMPDIR (default /tmp) and deleted afterwards.
# Needs /usr/bin/time (GNU time) and the corpus log
# ${ESEUTIL_CORPUS:-../shared/corpus}/secedit-logs-b/edb.log.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-target/release/eseutil-rs}
shift || true
GENS=${*:-10 100 1000}
CORPUS=${ESEUTIL_CORPUS:-../shared/corpus}
SRC=$CORPUS/secedit-logs-b/edb.log
MAKE=target/release/examples/make_log_set
for f in "$BIN" "$MAKE" "$SRC" /usr/bin/time; do
  [ -e "$f" ] || { echo "missing $f" >&2; exit 2; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-stream.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

RUNS=${RUNS:-3}

# measure CMD... -> prints "seconds peak_kib": best wall clock of RUNS runs
# (nanoseconds around GNU time) and the largest peak RSS GNU time saw
measure() {
  local a b i best=0 kib=0 k
  for ((i = 0; i < RUNS; i++)); do
    a=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$WORK/t" "$@" >/dev/null 2>&1 || true
    b=$(date +%s%N)
    k=$(tail -1 "$WORK/t")
    if ((best == 0 || b - a < best)); then best=$((b - a)); fi
    if ((k > kib)); then kib=$k; fi
  done
  awk -v ns=$best -v kib="$kib" 'BEGIN { printf "%.3f %d\n", ns / 1e9, kib }'
}

printf '| logs | bytes | cat s | /ml s | /ml vs cat | /ml peak RSS | plan s | plan vs cat | plan peak RSS |\n'
printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for n in $GENS; do
  D=$WORK/set$n
  "$MAKE" "$SRC" "$D" "$n"
  bytes=$(cat "$D"/*.log | wc -c)
  cat "$D"/*.log >/dev/null # warm the page cache
  read -r tc _ < <(measure sh -c "cat '$D'/*.log")
  read -r tm mm < <(measure "$BIN" /ml "$D/edb")
  read -r tp mp < <(measure "$BIN" plan "$D")
  ratio() { awk -v c="$1" -v t="$2" 'BEGIN { if (t > 0) printf "%.2f×", c / t; else print "n/a" }'; }
  printf '| %s | %s | %s | %s | %s | %s MiB | %s | %s | %s MiB |\n' \
    "$n" "$bytes" "$tc" "$tm" "$(ratio "$tc" "$tm")" "$((mm / 1024))" \
    "$tp" "$(ratio "$tc" "$tp")" "$((mp / 1024))"
  rm -rf "$D"
done
