#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, seeding from the real
# corpus (copied at fuzz time into fuzz/corpus/, which git ignores) and from
# testdata/. Needs a nightly toolchain and cargo-fuzz:
#   cargo install cargo-fuzz && rustup toolchain install nightly
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-600}; shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cargo +nightly fuzz list)
corpus=${ESEUTIL_CORPUS:-../../shared/corpus}
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  case "$t" in
    restore_env) printf "%s" "<DATABASE_RESTORE_ENVIRONMENT><LOG_BASE_NAME>E01</LOG_BASE_NAME><EDB_FILENAME_ORIGINAL>C:\\x\\a.edb</EDB_FILENAME_ORIGINAL></DATABASE_RESTORE_ENVIRONMENT>" > corpus/$t/seed1 ;;
    plan_folder) c=${corpus}; [ -f "$c/secedit-logs-b/edb.chk" ] && { head -c 8192 "$c/secedit-db-2018/secedit.sdb"; printf '\xfe'; cat "$c/secedit-logs-b/edb.chk"; printf '\xfe'; head -c 65536 "$c/secedit-logs-b/edb.log"; } > corpus/$t/seed1 ;;
    compat_argv) printf '/mh\0x.edb\0/v' > corpus/$t/seed1; printf '/r\0edb\0/lC:\\logs\0/i' > corpus/$t/seed2 ;;
    page_checksum) for f in "$corpus"/dissect-esedb/*.edb "$corpus"/go-ese/Samples/qmgr.db; do
        [ -f "$f" ] && { printf '\x05\0\0\0' > "corpus/$t/$(basename "$f").p5"; dd if="$f" bs=4096 skip=6 count=8 status=none >> "corpus/$t/$(basename "$f").p5"; }; done ;;
    page) for spec in "dissect-esedb/basic.edb 4096 1" "dissect-esedb/large.edb 32768 4" "go-ese/Samples/qmgr.db 16384 3"; do
        set -- $spec; [ -f "$corpus/$1" ] || continue
        for pg in 4 5 13 20; do { printf "\\x0$3"; dd if="$corpus/$1" bs=$2 skip=$((pg+1)) count=1 status=none; } > "corpus/$t/$(basename "$1").$pg"; done; done ;;
    node) [ -f "$corpus/dissect-esedb/basic.edb" ] && for pg in 13 14; do dd if="$corpus/dissect-esedb/basic.edb" bs=4096 skip=$((pg+1)) count=1 status=none | tail -c +41 | head -c 200 > "corpus/$t/basic.$pg"; done ;;
    *) find "$corpus" ../testdata -type f -size -2M 2>/dev/null | while read -r f; do
        head -c 65536 "$f" > "corpus/$t/$(echo "$f" | tr '/' '_')"; done ;;
  esac
  echo "== $t: ${secs}s"
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 2>&1 | grep -E "Done|stat::number_of_executed_units|ERROR|panicked" || true
done
