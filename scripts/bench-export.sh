#!/usr/bin/env bash
# Full export of one database: `eseutil-rs export --system` against the peers
# dissect.esedb (reading every value of every record) and PyPI ese-parser
# (`export_all`, when installed), in the same run, hot cache.
#
# Usage: scripts/bench-export.sh [DB]   (default: $ESEUTIL_CORPUS or
#        ../shared/corpus, dissect-esedb/large.edb)
# Env: RUNS (default 3). Prints best wall time of each, the ratio and our
# peak RSS (/usr/bin/time -v).
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${ESEUTIL_CORPUS:-../shared/corpus}
DB=${1:-$CORPUS/dissect-esedb/large.edb}
RUNS=${RUNS:-3}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release --quiet --bin eseutil-rs
BIN=$CARGO_TARGET_DIR/release/eseutil-rs
python3 -c 'import dissect.esedb' || { echo "needs python3 with dissect.esedb" >&2; exit 1; }
cat "$DB" > /dev/null

now() { date +%s.%N; }
best() {
    local b=999999 s e t
    for _ in $(seq "$RUNS"); do
        s=$(now); "$@" > /dev/null 2>&1 || true; e=$(now)
        t=$(echo "$e - $s" | bc -l)
        if (( $(echo "$t < $b" | bc -l) )); then b=$t; fi
    done
    printf '%.3f' "$b"
}
PEER='
import sys
from dissect.esedb import EseDB
with open(sys.argv[1], "rb") as fh:
    db = EseDB(fh)
    for t in db.tables():
        for r in t.records():
            for c in t.columns:
                try:
                    r.get(c.name)
                except Exception:
                    pass
'
ours=$(best "$BIN" export "$DB" --system)
outdir=$(mktemp -d); trap 'rm -rf "$outdir"' EXIT
ours_files=$(best sh -c "rm -rf '$outdir/o'; '$BIN' export '$DB' --system --output '$outdir/o'")
peer=$(best python3 -c "$PEER" "$DB")
# PyPI ese-parser (Rust, the fastest peer the issue measured): its own JSONL export.
EP='
import sys, shutil
from ese_parser import EseDatabase
shutil.rmtree(sys.argv[2], ignore_errors=True)
EseDatabase(sys.argv[1]).export_all(sys.argv[2])
'
if python3 -c 'import ese_parser' 2>/dev/null; then
  ep=$(best python3 -c "$EP" "$DB" "$outdir/ep")
else
  ep=-
fi
rss=$( { /usr/bin/time -v "$BIN" export "$DB" --system > /dev/null; } 2>&1 | awk -F: '/Maximum resident/ {print $2+0}')
records=$("$BIN" export "$DB" --system 2>/dev/null | wc -l)
echo "file: $DB ($records records)"
echo "eseutil-rs export: ${ours} s (peak RSS ${rss} KiB)"
echo "eseutil-rs export --output DIR: ${ours_files} s"
echo "dissect.esedb full read: ${peer} s"
echo "ese-parser export_all: ${ep} s"
[ "$ep" = - ] || echo "ratio to ese-parser (files both): $(echo "$ep / $ours_files" | bc -l | xargs printf '%.1f')x"
echo "ratio: $(echo "$peer / $ours" | bc -l | xargs printf '%.1f')x"
