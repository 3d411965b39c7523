#!/usr/bin/env bash
# Peak resident memory of /mh, /k, /ml, /g on files far larger than memory
# would allow reading whole: a sparse database of SIZE (default 6 GiB) made
# from the corpus secedit.sdb (else testdata/synth/clean-4k.edb), a sparse 8 GiB "log" whose header says
# 1 MiB, and the largest inputs of the fuzz corpora (fuzz/corpus/*, when a
# fuzz campaign has run). Prints one line per run: mode, file, peak RSS (KiB),
# wall seconds, exit status. Needs /usr/bin/time (Debian package `time`).
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-6G}
[ -x /usr/bin/time ] || { echo "install /usr/bin/time (apt-get install time)" >&2; exit 2; }
cargo build --release --quiet --bin eseutil-rs
bin=target/release/eseutil-rs
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
real=${ESEUTIL_CORPUS:-../shared/corpus}/secedit-db-2018/secedit.sdb
if [ -f "$real" ]; then cp "$real" "$tmp/big.edb"; else cp testdata/synth/clean-4k.edb "$tmp/big.edb"; fi
truncate -s "$size" "$tmp/big.edb"
log=${ESEUTIL_CORPUS:-../shared/corpus}/secedit-logs-b/edb.log
if [ -f "$log" ]; then cp "$log" "$tmp/edb.log"; truncate -s 8G "$tmp/edb.log"; fi
measure() {
  local mode=$1 file=$2
  local rc=0
  /usr/bin/time -o "$tmp/time" -f '%M %e' "$bin" "$mode" "$file" --json >/dev/null 2>&1 || rc=$?
  read -r rss secs < <(grep -v "^Command" "$tmp/time")
  printf '%-4s %-40s peak %8s KiB  %6ss  exit %s\n' "$mode" "$(basename "$file") ($(du -h --apparent-size "$file" | cut -f1))" "$rss" "$secs" "$rc"
}
echo "peak RSS bounds ($(date -u +%F), $(git rev-parse --short HEAD), $(nproc) cores)"
for m in mh k g mm; do measure "$m" "$tmp/big.edb"; done
[ -f "$tmp/edb.log" ] && { measure ml "$tmp/edb.log"; measure k "$tmp/edb.log"; }
if [ -d fuzz/corpus ]; then
  for d in fuzz/corpus/db_header fuzz/corpus/page fuzz/corpus/log_file; do
    [ -d "$d" ] || continue
    f=$(ls -S "$d" | head -1); [ -n "$f" ] || continue
    case "$d" in *log_file) modes="ml k";; *) modes="mh k g";; esac
    for m in $modes; do measure "$m" "$d/$f"; done
  done
fi
