//! Criterion benchmarks of the page checksum kernels, per page size and
//! checksum format: the fast XOR+ECC block kernel, its row-by-row reference,
//! whole-page verification (`verify_page`) and the legacy XOR.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use eseutil::checksum::{
    ecc_block_checksum, ecc_block_checksum_reference, legacy_header_checksum, seal_page,
    verify_page, FLAG_NEW_CHECKSUM,
};

fn page(size: usize, ecc: bool) -> Vec<u8> {
    let mut p = vec![0u8; size];
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for b in p.iter_mut().skip(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let mut flags = u32::from_le_bytes(p[36..40].try_into().unwrap()) & !FLAG_NEW_CHECKSUM;
    if ecc {
        flags |= FLAG_NEW_CHECKSUM;
    }
    p[36..40].copy_from_slice(&flags.to_le_bytes());
    seal_page(&mut p, 42);
    p
}

fn kernels(c: &mut Criterion) {
    for size in [4096usize, 8192, 16384, 32768] {
        let mut g = c.benchmark_group(format!("page_{}k", size / 1024));
        g.throughput(Throughput::Bytes(size as u64));
        let ecc = page(size, true);
        let xor = page(size, false);
        g.bench_function("verify_ecc", |b| {
            b.iter(|| verify_page(black_box(&ecc), 42))
        });
        g.bench_function("verify_xor", |b| {
            b.iter(|| verify_page(black_box(&xor), 42))
        });
        let blk = size.min(8192);
        g.bench_function("ecc_block_fast", |b| {
            b.iter(|| ecc_block_checksum(black_box(&ecc[..blk]), 42, true))
        });
        g.bench_function("ecc_block_reference", |b| {
            b.iter(|| ecc_block_checksum_reference(black_box(&ecc[..blk]), 42, true))
        });
        g.bench_function("legacy_xor", |b| {
            b.iter(|| legacy_header_checksum(black_box(&xor)))
        });
        g.finish();
    }
}

criterion_group!(benches, kernels);
criterion_main!(benches);
