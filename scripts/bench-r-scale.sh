#!/usr/bin/env bash
# Peak resident memory and wall time of /r over log sets of growing length:
# N generations (default 10 100 1000) made by examples/make_log_set from the
# corpus log secedit-logs-b/edb.log (each a re-sealed copy that detaches and
# re-attaches secedit.sdb), replayed from the first log. Memory must not grow
# with N: recovery reads one generation at a time (recovery::stream).
# Prints one line per N: generations, bytes of logs, peak RSS (KiB), wall
# seconds, exit status. Needs /usr/bin/time (Debian package `time`).
# Usage: scripts/bench-r-scale.sh [N ...]   (PROFILE=dev for the dev build)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /usr/bin/time ] || { echo "install /usr/bin/time (apt-get install time)" >&2; exit 2; }
src=${ESEUTIL_CORPUS:-../shared/corpus}/secedit-logs-b/edb.log
[ -f "$src" ] || { echo "corpus log not found: $src" >&2; exit 2; }
profile=${PROFILE:-release}
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
cargo build --profile "$profile" --quiet --bin eseutil-rs --example make_log_set
bin=target/$dir/eseutil-rs
make=target/$dir/examples/make_log_set
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
echo "/r peak RSS by number of logs ($(date -u +%F), $(git rev-parse --short HEAD), $profile, $(nproc) cores)"
for n in "${@:-10 100 1000}"; do
  for g in $n; do
    rm -rf "$tmp/logs" "$tmp/out"
    "$make" "$src" "$tmp/logs" "$g"
    bytes=$(du -cb "$tmp"/logs/*.log | tail -1 | cut -f1)
    rc=0
    /usr/bin/time -o "$tmp/time" -f '%M %e' "$bin" /r "$tmp/logs/edb" --ignore-checkpoint \
      --output "$tmp/out" --json >/dev/null 2>&1 || rc=$?
    read -r rss secs < <(grep -v "^Command" "$tmp/time")
    printf '%6s logs  %12s bytes  peak %8s KiB  %8ss  exit %s\n' "$g" "$bytes" "$rss" "$secs" "$rc"
  done
done
