#!/usr/bin/env bash
# Kept for its old argument order: fuzz/run.sh [SECONDS] [TARGET]. The
# campaign runs without cargo-fuzz through scripts/fuzz.sh (see
# docs/fuzzing.md).
exec "$(dirname "$0")/../scripts/fuzz.sh" "${2:-all}" "${1:-600}"
