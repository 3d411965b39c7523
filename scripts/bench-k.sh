#!/usr/bin/env bash
# Benchmark of `eseutil-rs /k` against `cat FILE > /dev/null` on a hot cache.
#
# Usage: scripts/bench-k.sh [SIZE_MIB] [PAGE_SIZES...]
#   SIZE_MIB    database size (default 1024 = 1 GiB)
#   PAGE_SIZES  any of 4096 8192 16384 32768 (default: all four)
# Env: BENCH_DIR (default: a temp dir), RUNS (default 3), FORMAT (ecc|xor, default ecc),
#      OLD_BIN (another eseutil-rs binary, e.g. main's, timed in the same run: one more row)
#
# Builds the release binary and the `gen-db` example, writes one synthetic
# database per page size with valid checksums, warms the page cache, then
# times both commands (best of RUNS), prints the throughput ratio and the
# peak RSS of /k from /usr/bin/time -v.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1024}
shift || true
SIZES=("${@:-4096 8192 16384 32768}")
read -r -a SIZES <<<"${SIZES[*]}"
RUNS=${RUNS:-3}
FORMAT=${FORMAT:-ecc}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --quiet --bin eseutil-rs --example gen-db
BIN=$CARGO_TARGET_DIR/release/eseutil-rs
GEN=$CARGO_TARGET_DIR/release/examples/gen-db
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
DIR=${BENCH_DIR:-$(mktemp -d)}
mkdir -p "$DIR"

now() { date +%s.%N; }
best() { # best wall time of RUNS runs of "$@"
  local b=999999 t0 t1 d
  for _ in $(seq "$RUNS"); do
    t0=$(now); "$@" >/dev/null 2>&1 || true; t1=$(now)
    d=$(echo "$t1 - $t0" | bc -l)
    if (( $(echo "$d < $b" | bc -l) )); then b=$d; fi
  done
  echo "$b"
}

echo "machine: $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)  commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "size: ${SIZE} MiB, format: $FORMAT, best of $RUNS"
printf '%-8s %-4s %10s %10s %12s %12s %8s %10s\n' page bin cat_s k_s cat_MiB/s k_MiB/s ratio peakRSS_MB
for ps in "${SIZES[@]}"; do
  f="$DIR/bench-$ps.edb"
  [ -f "$f" ] || "$GEN" "$f" "$SIZE" "$ps" "$FORMAT"
  cat "$f" >/dev/null # warm the cache
  "$BIN" k "$f" --no-logo >/dev/null 2>&1 || { echo "verification of $f failed" >&2; exit 1; }
  tc=$(best sh -c "cat '$f' > /dev/null")
  mb=$(du -m "$f" | cut -f1)
  for which in new ${OLD_BIN:+old}; do
    b=$BIN
    [ "$which" = old ] && b=$OLD_BIN
    tk=$(best "$b" k "$f" --no-logo)
    rss=$(/usr/bin/time -v "$b" k "$f" --no-logo 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print $2}')
    printf '%-8s %-4s %10.3f %10.3f %12.0f %12.0f %8.2f %10.1f\n' "$ps" "$which" "$tc" "$tk" \
      "$(echo "$mb / $tc" | bc -l)" "$(echo "$mb / $tk" | bc -l)" "$(echo "$tc / $tk" | bc -l)" \
      "$(echo "$rss / 1024" | bc -l)"
  done
  [ -n "${KEEP:-}" ] || rm -f "$f"
done
