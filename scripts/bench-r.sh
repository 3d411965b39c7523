#!/usr/bin/env bash
# Replay throughput of /r against reading the same log bytes with cat, in
# the same run, on a hot cache: rebuilds secedit.sdb from the corpus log set
# secedit-logs-b (the one real log set that holds a database's whole life)
# RUNS times (default 20) and reports the best wall times.
# Usage: scripts/bench-r.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
logs=${ESEUTIL_CORPUS:-../shared/corpus}/secedit-logs-b
[ -f "$logs/edb.log" ] || { echo "corpus log set not found: $logs" >&2; exit 2; }
cargo build --release --quiet --bin eseutil-rs
bin=$PWD/target/release/eseutil-rs
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat "$logs/edb.log" > /dev/null
best() { sort -n | head -1; }
# Wall time of one command in seconds (bash's microsecond clock).
wall() { local a=$EPOCHREALTIME; "$@" >/dev/null 2>&1; local b=$EPOCHREALTIME; python3 -c "print($b - $a)"; }
t_cat=$(for i in $(seq "$runs"); do wall cat "$logs/edb.log"; done | best)
t_r=$(for i in $(seq "$runs"); do rm -rf "$tmp/out"; wall "$bin" /r "$logs/edb" --ignore-checkpoint --output "$tmp/out" --json; done | best)
bytes=$(stat -c %s "$logs/edb.log")
written=$(( 158 * 4096 ))
python3 - "$bytes" "$written" "$t_cat" "$t_r" <<'PY'
import sys
size, written, tc, tr = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
print(f"log file {size} bytes ({written} bytes of written segments), best of runs")
print(f"cat : {tc*1000:.2f} ms  {size/tc/1e6:8.1f} MB/s")
print(f"/r  : {tr*1000:.2f} ms  {size/tr/1e6:8.1f} MB/s of log ({written/tr/1e6:.1f} MB/s of written log); ratio /r / cat = {tc/tr:.3f}")
PY
