//! Builds a long, consistent 8.x log sequence for benchmarks: copies of one
//! real log re-sealed as generations 1..=N.
//!
//! `cargo run --release --example make_log_set -- SOURCE.log DIR N`
//!
//! For each generation g: the header gets lGeneration = g, a distinct
//! create time, tmPrevGen = the previous create time and
//! checksumPrevLogAllSegments = the previous file's accumulated segment
//! checksum; every segment written for generation 1 gets g in its LGSEGHDR
//! lgpos (docs/format/logs.md §5) and is re-sealed as a 4 KiB ECC page numbered by
//! its lgpos sector (so a shadow segment stays a shadow). Generations
//! 1..N-1 are written as `edbXXXXX.log`, the last as `edb.log`. The result
//! verifies with `eseutil-rs /ml DIR` (no damaged files, no sequence error).

use std::path::PathBuf;

use eseutil::checksum::{seal_header, seal_page};
use eseutil::log::scan::scan_log;
use eseutil::log::segments::{segment_header, SEGMENT_SIZE};

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 3 {
        eprintln!("usage: make_log_set SOURCE.log DIR N");
        std::process::exit(2);
    }
    let src = std::fs::read(&a[0]).expect("read source log");
    let dir = PathBuf::from(&a[1]);
    let n: u32 = a[2].parse().expect("N");
    std::fs::create_dir_all(&dir).expect("create DIR");
    let src_gen = u32::from_le_bytes(src[4..8].try_into().unwrap());
    let mut prev: Option<([u8; 8], u64)> = None;
    for g in 1..=n {
        let mut b = src.clone();
        b[4..8].copy_from_slice(&g.to_le_bytes());
        // Distinct create time: seconds and minutes from g.
        b[16] = (g % 60) as u8;
        b[17] = ((g / 60) % 60) as u8;
        if let Some((t, acc)) = prev {
            b[24..32].copy_from_slice(&t);
            b[653..661].copy_from_slice(&acc.to_le_bytes());
        }
        seal_header(&mut b[..4096]);
        for seg in b[SEGMENT_SIZE..].chunks_exact_mut(SEGMENT_SIZE) {
            let h = segment_header(seg);
            if h.lgpos.generation as u32 == src_gen && seg.iter().any(|&x| x != 0) {
                seg[12..16].copy_from_slice(&g.to_le_bytes());
                seal_page(seg, h.lgpos.sector as u32);
            }
        }
        let mut check = b.clone();
        let s = scan_log(&mut check).expect("re-sealed header");
        assert!(s.ok(), "generation {g} does not verify: {:?}", s.error);
        prev = Some((
            b[16..24].try_into().unwrap(),
            s.accumulated_checksum.unwrap_or(0),
        ));
        let name = if g == n {
            "edb.log".to_string()
        } else {
            format!("edb{g:05X}.log")
        };
        std::fs::write(dir.join(name), &b).expect("write log");
    }
}
