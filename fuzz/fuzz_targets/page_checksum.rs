//! Page checksum verification on every page size: never panics, and a page
//! called correctable really verifies once the reported bit is flipped.
#![no_main]
use eseutil::checksum::{apply_correction, verify_page, PageVerdict};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let pgno = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
    let body = &data[4..];
    for size in [2048usize, 4096, 8192, 16384, 32768] {
        if body.len() < size {
            break;
        }
        let page = &body[..size];
        if let PageVerdict::Correctable { bit, .. } = verify_page(page, pgno) {
            let mut p = page.to_vec();
            assert!(apply_correction(&mut p, pgno, bit));
        }
    }
});
