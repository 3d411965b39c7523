#!/usr/bin/env bash
# How `/ml`, `plan` and `/r` grow with the number of logs: wall time and
# peak RSS at 10, 100, 1,000 and 5,000 generations of 1 MiB, each time as
# a ratio to `cat` of the same bytes in the same run (hot cache), printed
# as a Markdown table; then, with --goal, the /r goal run of issue 11
# (>= 1 GiB of logs into a >= 4 GiB database, default evidence hashing and
# verification) against `cat` of all its inputs (the checkpoint, the logs from
# its generation on, which are all /r reads, and the database).
#
# Sets are made by examples/make_workload.rs (no corpus needed): a database
# of DB_MIB (default 8) and N generations after its checkpoint.
#
# Usage: scripts/bench-scale.sh [--goal] [N ...]      (default N: 10 100 1000 5000)
# Env:   DB_MIB (default 8), GOAL_DB_MIB (4096), GOAL_LOG_MIB (1024),
#        BENCH_DIR (work folder, default a mktemp -d; needs ~N MiB per set, twice),
#        CARGO_TARGET_DIR, KEEP_SETS=1 (reuse a set already in BENCH_DIR, keep it
#        afterwards: make the sets once, time several binaries),
#        OTHER_BIN=path (the goal run also times this binary, e.g. an older
#        build, alternating with ours: a before/after in the same run),
#        GOAL_REPEAT=N (the goal rows N times, alternating),
#        GOAL_MODES (default "output in-place"; also in-place-sha256: the
#        in-place run with --hash-algorithm sha256, not run for OTHER_BIN).
# A ratio is cat's time over the command's time: 1.0 = as fast as cat.
set -euo pipefail
cd "$(dirname "$0")/.."
goal=0
sizes=()
for a in "$@"; do
  case $a in
    --goal) goal=1 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) sizes+=("$a") ;;
  esac
done
[ ${#sizes[@]} -gt 0 ] || [ $goal = 1 ] || sizes=(10 100 1000 5000)
[ -x /usr/bin/time ] || { echo "GNU time (/usr/bin/time) is needed for peak RSS" >&2; exit 3; }
DB_MIB=${DB_MIB:-8}
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet --bin eseutil-rs --example make_workload --example compare_pages
BIN=$PWD/$TARGET/release/eseutil-rs
MAKE=$PWD/$TARGET/release/examples/make_workload
if [ -n "${BENCH_DIR:-}" ]; then
  WORK=$BENCH_DIR; mkdir -p "$WORK"
else
  WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
fi

# measure CMD... -> "seconds max_rss_kib" (output discarded; a failure stops the run)
# (wall time from bash's microsecond clock, peak RSS from GNU time)
measure() {
  local out=$WORK/.time a b
  a=$EPOCHREALTIME
  if ! /usr/bin/time -f '%M' -o "$out" "$@" >/dev/null 2>"$WORK/.stderr"; then
    echo "failed: $*" >&2; cat "$WORK/.stderr" >&2; exit 1
  fi
  b=$EPOCHREALTIME
  awk -v a="$a" -v b="$b" -v k="$(cat "$out")" 'BEGIN{printf "%.4f %s\n", b-a, k}'
}
ratio() { awk -v c="$1" -v t="$2" 'BEGIN{ if (t > 0) printf "%.3f", c/t; else printf "-" }'; }
mib() { awk -v k="$1" 'BEGIN{printf "%.0f", k/1024}'; }

# read_by_r LOGDIR [DB]: writes $WORK/.inputs, one path a line: the files
# /r reads there (checkpoint, and the logs from the checkpoint's generation
# on: older ones are not read), then DB; `cat_list` cats them (through
# xargs: 5,000 names are too long for one argument).
read_by_r() {
  local g f n
  g=$("$BIN" /mk "$1/edb.chk" --json | grep -A1 '"lgpos_checkpoint"' | grep -o '[0-9]\+' | head -1)
  {
    echo "$1/edb.chk"
    for f in "$1"/edb*.log; do
      n=$(basename "$f" .log); n=${n#edb}
      if [ -z "$n" ] || [ $((16#$n)) -ge "$g" ]; then echo "$f"; fi
    done
    [ -z "${2:-}" ] || echo "$2"
  } >"$WORK/.inputs"
}
cat_list() { xargs -d '\n' -a "$WORK/.inputs" cat; }

row() { # N
  local n=$1 set=$WORK/set-$n
  if [ "${KEEP_SETS:-0}" != 1 ] || [ ! -f "$set/expected/workload.edb" ]; then
    rm -rf "$set"
    "$MAKE" "$set" --db-mib "$DB_MIB" --log-mib "$n" --seed "$n" --without-backups >/dev/null
  fi
  local logs=$set/logs db=$set/start/workload.edb m
  local bytes; bytes=$(cat "$logs"/*.log | wc -c)
  cat "$logs"/* "$db" >/dev/null   # warm the cache
  m=$(measure sh -c "cat \"$logs\"/*.log >/dev/null"); read -r t_cat _ <<<"$m"
  m=$(measure "$BIN" /ml "$logs/edb"); read -r t_ml k_ml <<<"$m"
  m=$(measure "$BIN" plan "$logs" "$db"); read -r t_plan k_plan <<<"$m"
  read_by_r "$logs" "$db"
  m=$(measure xargs -d '\n' -a "$WORK/.inputs" cat); read -r t_catr _ <<<"$m"
  rm -rf "$WORK/out"
  m=$(measure "$BIN" /r edb /l "$logs" /s "$logs" /d "$set/start" --output "$WORK/out"); read -r t_r k_r <<<"$m"
  printf '| %s | %s | %.3f | %.3f (%s×) | %s | %.3f (%s×) | %s | %.3f (%s×) | %s |\n' \
    "$n" "$(mib $((bytes / 1024)))" "$t_cat" \
    "$t_ml" "$(ratio "$t_cat" "$t_ml")" "$(mib "$k_ml")" \
    "$t_plan" "$(ratio "$t_cat" "$t_plan")" "$(mib "$k_plan")" \
    "$t_r" "$(ratio "$t_catr" "$t_r")" "$(mib "$k_r")"
  rm -rf "$WORK/out"
  [ "${KEEP_SETS:-0}" = 1 ] || rm -rf "$set"
}

# goal_rows BIN LABEL: /r into a working copy, then --in-place; each output
# compared with the expected database page for page (a difference stops).
# Each run is timed against a cat of its own inputs taken just before it,
# after a sync and a warming pass: on a VM that reclaims page cache (DAMON)
# or still writes back the previous run, a single cat at the start drifts.
goal_rows() {
  local bin=$1 label=$2 m t k tc mode
  for mode in ${GOAL_MODES:-output in-place}; do
    case $mode in
      output)
        rm -rf "$WORK/out"
        tc=$(cat_inputs "$set/start")
        m=$(measure "$bin" /r edb /l "$logs" /s "$logs" /d "$set/start" --output "$WORK/out"); read -r t k <<<"$m"
        same_pages "$WORK/out/workload.edb"
        goal_row "/r$label" "$t" "$tc" "$k"
        rm -rf "$WORK/out" ;;
      in-place-sha256)
        [ -z "$label" ] || continue   # OTHER_BIN may not know --hash-algorithm
        ;&
      in-place)
        # eseutil's own /r works on the database in place: the same replay
        # with --in-place on a copy made beforehand (the restore), not timed.
        local extra=()
        [ "$mode" = in-place ] || extra=(--hash-algorithm sha256)
        rm -rf "$WORK/inplace"; mkdir -p "$WORK/inplace"
        cp "$db" "$WORK/inplace/"
        tc=$(cat_inputs "$WORK/inplace")
        m=$(measure "$bin" /r edb /l "$logs" /s "$logs" /d "$WORK/inplace" --in-place "${extra[@]}"); read -r t k <<<"$m"
        same_pages "$WORK/inplace/workload.edb"
        goal_row "/r --in-place ${extra[*]}$label" "$t" "$tc" "$k" ;;
      *) echo "GOAL_MODES: unknown mode $mode" >&2; exit 2 ;;
    esac
  done
}
goal_row() { # NAME SECONDS CAT_SECONDS KIB
  printf '| %s | %.2f | %.2f | %s | %s |\n' "$1" "$2" "$3" "$(ratio "$3" "$2")" "$(mib "$4")"
}
# cat_inputs DBDIR: seconds of cat of what /r reads (the logs from the
# checkpoint on and DBDIR's database), after a sync and a warming pass.
cat_inputs() {
  local m
  read_by_r "$logs" "$1/workload.edb"
  sync
  cat_list >/dev/null
  m=$(measure xargs -d '\n' -a "$WORK/.inputs" cat); echo "${m%% *}"
}
same_pages() {
  if "$TARGET/release/examples/compare_pages" "$1" "$set/expected/workload.edb" 2>/dev/null | grep -E '^ *[1-9][0-9]* different$'; then
    echo "$1 differs from the expected database" >&2; exit 1
  fi
}

if [ ${#sizes[@]} -gt 0 ]; then
  echo "| logs | MiB | cat s | /ml s (× cat) | /ml peak MiB | plan s (× cat) | plan peak MiB | /r s (× cat of logs + db) | /r peak MiB |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for n in "${sizes[@]}"; do row "$n"; done
fi

if [ $goal = 1 ]; then
  gdb=${GOAL_DB_MIB:-4096} glog=${GOAL_LOG_MIB:-1024}
  set=$WORK/goal t_make=- k_make=-
  if [ "${KEEP_SETS:-0}" != 1 ] || [ ! -f "$set/expected/workload.edb" ]; then
    rm -rf "$set"
    m=$(measure "$MAKE" "$set" --db-mib "$gdb" --log-mib "$glog" --without-backups); read -r t_make k_make <<<"$m"
  fi
  logs=$set/logs db=$set/start/workload.edb
  echo
  echo "/r goal run: ${glog} MiB of logs into a ${gdb} MiB database (made in ${t_make} s, ${k_make} KiB peak)"
  echo "| run | s | cat of its inputs just before, s | × cat | peak MiB |"
  echo "|---|---:|---:|---:|---:|"
  for _ in $(seq "${GOAL_REPEAT:-1}"); do
    goal_rows "$BIN" ""
    [ -z "${OTHER_BIN:-}" ] || goal_rows "$OTHER_BIN" " ($(basename "$OTHER_BIN"))"
  done
  rm -rf "$WORK/out" "$WORK/inplace"
  [ "${KEEP_SETS:-0}" = 1 ] || rm -rf "$set"
fi
echo
echo "machine: $(uname -m) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | sed 's/^ //'); commit $(git rev-parse --short HEAD); $(date -u +%Y-%m-%d)"
