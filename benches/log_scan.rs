//! Log reading throughput: the 8.x segment scan (checksums, segment
//! headers) and the record walk of one log file held in memory.
//!
//! Input: `secedit-logs-b/edb.log` of the shared corpus (`$ESEUTIL_CORPUS`,
//! else `../shared/corpus`; 157 written segments in a 1 MiB file). Without
//! the corpus the bench prints a note and measures nothing. Run with
//! `cargo bench --bench log_scan`; `scripts/bench-ml.sh` measures the whole
//! `/ml` command against `cat`.

use std::path::PathBuf;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use eseutil::log::scan::scan_log;
use eseutil::log::set::walk_records;

fn corpus_log() -> Option<Vec<u8>> {
    let dir = std::env::var_os("ESEUTIL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    std::fs::read(dir.join("secedit-logs-b/edb.log")).ok()
}

fn bench(c: &mut Criterion) {
    let Some(file) = corpus_log() else {
        eprintln!("note: corpus log not found (set ESEUTIL_CORPUS); log_scan bench skipped");
        return;
    };
    let mut g = c.benchmark_group("log");
    g.throughput(Throughput::Bytes(file.len() as u64));
    g.bench_function("segment_scan", |b| {
        b.iter_batched_ref(
            || file.clone(),
            |f| black_box(scan_log(f).expect("header")),
            criterion::BatchSize::LargeInput,
        )
    });
    let mut copy = file.clone();
    let scan = scan_log(&mut copy).expect("header");
    g.bench_function("record_walk", |b| {
        b.iter(|| black_box(walk_records(&copy, &scan)))
    });
    g.bench_function("scan_and_walk", |b| {
        b.iter_batched_ref(
            || file.clone(),
            |f| {
                let s = scan_log(f).expect("header");
                black_box(walk_records(f, &s))
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
