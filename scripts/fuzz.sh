#!/usr/bin/env bash
# Fuzzing without cargo-fuzz: builds the fuzz/ targets with a nightly
# toolchain and the instrumentation flags cargo-fuzz passes (libFuzzer
# coverage counters, compare tracing, AddressSanitizer, debug assertions and
# overflow checks), then runs each target for SECONDS.
#
# Usage: scripts/fuzz.sh [TARGET|all] [SECONDS] [EXTRA_SEED_DIR...]
#   TARGET   one of fuzz/Cargo.toml's [[bin]] names, or `all` (default)
#   SECONDS  time per target (default 60)
#   EXTRA_SEED_DIR  read-only seed folders handed to libFuzzer after the
#            target's own corpus, e.g. ../shared/corpus/secedit-logs-b (never
#            copied into the repo)
# Env: FUZZ_BUILD_ONLY=1 (build, do not run), FUZZ_NO_BUILD=1 (run the
#      binaries built before), FUZZ_JOBS (cargo -j, default 1),
#      FUZZ_RSS_MB (libFuzzer -rss_limit_mb, default 2048),
#      FUZZ_TIMEOUT (libFuzzer -timeout per input in s, default 10),
#      FUZZ_MAX_LEN (libFuzzer -max_len; default 65536 for log_records, whose
#      1 MiB seeds would otherwise run at ~10 inputs a second, else libFuzzer's).
#
# Seeds: fuzz/corpus/<target>/ (git-ignored) is filled from what this
# project's own code makes: testdata/synth/ and a small workload made by
# `examples/make_workload` (database, checkpoint, logs). libFuzzer adds the
# inputs it finds there. A crash lands in fuzz/artifacts/<target>/;
# reproduce it with `fuzz/target/x86_64-unknown-linux-gnu/release/<target>
# fuzz/artifacts/<target>/<file>`.
#
# Needs: `rustup toolchain install nightly` and a C++ compiler (libfuzzer-sys
# builds libFuzzer from its own sources).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target_arg=${1:-all}
secs=${2:-60}
shift $(( $# > 2 ? 2 : $# )) || true
extra=("$@")
triple=$(rustc +nightly -vV | sed -n 's/^host: //p')

# The flags `cargo fuzz build` passes (cargo-fuzz src/project.rs, default
# sanitizer address, coverage level 4, debug assertions on).
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Zsanitizer=address -Cdebug-assertions \
-Coverflow-checks -Cforce-frame-pointers"
# Rustdoc and build scripts stay uninstrumented: --target keeps RUSTFLAGS to
# the fuzzed binaries, as cargo-fuzz does.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_odr_violation=0:detect_leaks=0}

targets=()
if [ "$target_arg" = all ]; then
  mapfile -t targets < <(sed -n 's/^name = "\(.*\)"/\1/p' fuzz/Cargo.toml | grep -v '^eseutil-rs-fuzz$')
else
  targets=("$target_arg")
fi

bins=()
for t in "${targets[@]}"; do bins+=(--bin "$t"); done
[ "${FUZZ_NO_BUILD:-0}" = 1 ] ||
  cargo +nightly build --manifest-path fuzz/Cargo.toml --release --target "$triple" \
    -j "${FUZZ_JOBS:-1}" "${bins[@]}"
[ "${FUZZ_BUILD_ONLY:-0}" = 1 ] && exit 0

# Seeds from our own generators.
seeds=fuzz/target/seeds
if [ ! -f "$seeds/done" ]; then
  rm -rf "$seeds"; mkdir -p "$seeds"
  [ -x target/release/examples/make_workload ] && [ "${FUZZ_NO_BUILD:-0}" = 1 ] ||
    env -u RUSTFLAGS cargo build --release --quiet --features test-support --example make_workload
  target/release/examples/make_workload "$seeds/w" --db-mib 2 --log-mib 3 --page-size 8192 --seed 7 >/dev/null
  touch "$seeds/done"
fi
logs=$(find "$seeds/w/logs" -name '*.log' | sort | head -3)
dbs="testdata/synth/clean-4k.edb testdata/synth/dirty-16k.edb $(find "$seeds/w/start" -type f | head -1)"
chks="testdata/synth/edb.chk $seeds/w/logs/edb.chk"

# seed TARGET NAME: writes stdin as one seed of TARGET.
seed() { cat > "fuzz/corpus/$1/$2"; }
# slice FILE OFFSET LENGTH: those bytes of FILE (no pipe cut short: pipefail).
slice() { dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=65536 status=none; }
page_size_of() { case "$1" in *4k*) echo 4096;; *16k*) echo 16384;; *) echo 8192;; esac; }

make_seeds() {
  local t=$1 i=0 f ps
  mkdir -p "fuzz/corpus/$t"
  case "$t" in
    db_header) for f in $dbs; do slice "$f" 0 65536 | seed "$t" "$(basename "$f")"; done ;;
    checkpoint) for f in $chks; do seed "$t" "$(basename "$(dirname "$f")").chk" < "$f"; done ;;
    log_header) for f in $logs; do slice "$f" 0 8192 | seed "$t" "$(basename "$f")"; done ;;
    log_file) for f in $logs; do slice "$f" 0 262144 | seed "$t" "$(basename "$f")"; done ;;
    log_records) for f in $logs; do slice "$f" 4096 65536 | seed "$t" "$(basename "$f")"; done ;;
    redo) for f in $logs; do slice "$f" 4096 4096 | seed "$t" "$(basename "$f")"; done ;;
    page | node | record_values)
      for f in $dbs; do
        ps=$(page_size_of "$f")
        for pg in 1 2 3 4 5 8 10; do
          i=$((i + 1))
          case "$t" in
            page) { printf "\\x0$(( ps == 4096 ? 1 : ps == 8192 ? 2 : 3 ))"; slice "$f" $(((pg + 1) * ps)) "$ps"; } | seed "$t" "p$i" ;;
            node) slice "$f" $(((pg + 1) * ps + 80)) 200 | seed "$t" "n$i" ;;
            record_values) slice "$f" $(((pg + 1) * ps + 80)) 400 | seed "$t" "r$i" ;;
          esac
        done
      done ;;
    page_checksum) for f in $dbs; do { printf '\x05\0\0\0'; slice "$f" 24576 32768; } | seed "$t" "$(basename "$f")"; done ;;
    restore_env) printf '%s' '<DATABASE_RESTORE_ENVIRONMENT><LOG_BASE_NAME>E01</LOG_BASE_NAME><EDB_FILENAME_ORIGINAL>C:\x\a.edb</EDB_FILENAME_ORIGINAL></DATABASE_RESTORE_ENVIRONMENT>' | seed "$t" seed1 ;;
    compat_argv) printf '/mh\0x.edb\0/v' | seed "$t" seed1; printf '/r\0edb\0/lC:\\logs\0/i' | seed "$t" seed2 ;;
    plan_folder) set -- $logs
      { slice testdata/synth/clean-4k.edb 0 8192; printf '\xfe'; cat "$seeds/w/logs/edb.chk"; printf '\xfe'; slice "$1" 0 65536; } | seed "$t" seed1 ;;
    decompress) printf '\x18\x10\x00\x00\x00\x00\x00abcdefgh' | seed "$t" xpress; printf '\x0f\xc1\x60\x30\x18' | seed "$t" sevenbit ;;
    *) for f in $dbs $chks $logs; do slice "$f" 0 16384 | seed "$t" "$(basename "$f")"; done ;;
  esac
}

bin_dir=fuzz/target/$triple/release
mkdir -p fuzz/artifacts
for t in "${targets[@]}"; do
  make_seeds "$t"
  mkdir -p "fuzz/artifacts/$t"
  echo "== $t: ${secs}s"
  rc=0
  max_len=${FUZZ_MAX_LEN:-}
  [ -n "$max_len" ] || case "$t" in log_records) max_len=65536 ;; esac
  "$bin_dir/$t" ${max_len:+-max_len="$max_len"} -max_total_time="$secs" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
    -timeout="${FUZZ_TIMEOUT:-10}" -print_final_stats=1 \
    -artifact_prefix="$root/fuzz/artifacts/$t/" "fuzz/corpus/$t" "${extra[@]}" \
    > "fuzz/target/$t.log" 2>&1 || rc=$?
  grep -E "^Done|stat::number_of_executed_units|ERROR|panicked|SUMMARY|Test unit written" \
    "fuzz/target/$t.log" || true
  echo "exit $rc"
done
