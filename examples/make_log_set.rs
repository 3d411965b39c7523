//! Builds a long, consistent 8.x log sequence for benchmarks and tests:
//! copies of one real log re-sealed as generations 1..=N.
//!
//! `cargo run --release --example make_log_set -- SOURCE.log DIR N [FROM:TO]`
//!
//! For each generation g: the header gets lGeneration = g, a distinct
//! create time, tmPrevGen = the previous create time and
//! checksumPrevLogAllSegments = the previous file's accumulated segment
//! checksum; every segment written for generation 1 gets g in its LGSEGHDR
//! lgpos (docs/format/logs.md §5) and is re-sealed as a 4 KiB ECC page numbered by
//! its lgpos sector (so a shadow segment stays a shadow). An AttachDB's
//! remembered lgposConsistent (LRATTACHDB @8) that points into the source
//! generation is moved to generation g, so each copy re-attaches where its
//! own DetachDB left the database. With `FROM:TO` (two file names of the
//! same length), generations 2..=N use the database name TO instead of FROM
//! in CreateDB / AttachDB / DetachDB and another signDb (its random + g):
//! a second database. Generations 1..N-1 are written as `edbXXXXX.log`, the
//! last as `edb.log`. The result verifies with `eseutil-rs /ml DIR` (no
//! damaged files, no sequence error).
//!
//! Tests include this file (`build`) to make multi-generation sets, and
//! `split_at` to cut the one generation in two (a database detached at the
//! end of generation 1 and attached again in generation 2).

use std::path::PathBuf;

use eseutil::checksum::{seal_header, seal_page};
use eseutil::log::scan::scan_log;
use eseutil::log::segments::{segment_header, SEGMENT_HEADER_SIZE, SEGMENT_SIZE};

/// Where each database-level record of `src` lies in the file:
/// (file offset, record bytes). Only records that do not cross a segment.
fn database_records(src: &[u8]) -> Vec<(usize, Vec<u8>)> {
    let mut b = src.to_vec();
    let scan = scan_log(&mut b).expect("source log scans");
    let walk = eseutil::log::set::walk_records(&b, &scan);
    let mut out = Vec::new();
    for r in walk.records {
        if !matches!(r.lrtyp, 14..=16) || r.fragments != 0 {
            continue;
        }
        // An 8.x lgpos is where the previous record ended (a segment start
        // or a NOP run before the record): the bytes lie at or after it.
        let seg = r.lgpos.sector as usize * SEGMENT_SIZE;
        let from = seg + (r.lgpos.offset as usize).max(SEGMENT_HEADER_SIZE);
        let window = src.get(from..(seg + SEGMENT_SIZE).min(src.len()));
        let found = window.and_then(|w| w.windows(r.data.len()).position(|x| x == &r.data[..]));
        if let Some(i) = found {
            out.push((from + i, r.data.to_vec()));
        }
    }
    out
}

/// The name bytes of `name` as the record stores it (UTF-16LE or ANSI).
fn replace_name(rec: &mut [u8], from: &str, to: &str) {
    for wide in [true, false] {
        let enc = |s: &str| -> Vec<u8> {
            if wide {
                s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
            } else {
                s.as_bytes().to_vec()
            }
        };
        let (f, t) = (enc(from), enc(to));
        assert_eq!(f.len(), t.len(), "FROM and TO must have the same length");
        if let Some(i) = rec.windows(f.len()).position(|w| w == &f[..]) {
            rec[i..i + t.len()].copy_from_slice(&t);
            return;
        }
    }
}

/// Patches the database records of generation `g` (see the module text).
fn patch_records(
    b: &mut [u8],
    recs: &[(usize, Vec<u8>)],
    src_gen: u32,
    g: u32,
    rename: Option<(&str, &str)>,
) {
    for (off, data) in recs {
        let mut d = data.clone();
        if d[0] == 15 && u32::from_le_bytes(d[12..16].try_into().unwrap()) == src_gen {
            d[12..16].copy_from_slice(&g.to_le_bytes());
        }
        if let Some((from, to)) = rename.filter(|_| g >= 2) {
            replace_name(&mut d, from, to);
            let sig = match d[0] {
                14 => Some(12),
                15 => Some(16),
                _ => None,
            };
            if let Some(s) = sig {
                let rnd = u32::from_le_bytes(d[s..s + 4].try_into().unwrap()).wrapping_add(g);
                d[s..s + 4].copy_from_slice(&rnd.to_le_bytes());
            }
        }
        b[*off..*off + d.len()].copy_from_slice(&d);
    }
}

/// Generations 1..=n made from the log `src`: (file name, bytes).
pub fn build(src: &[u8], n: u32, rename: Option<(&str, &str)>) -> Vec<(String, Vec<u8>)> {
    let src_gen = u32::from_le_bytes(src[4..8].try_into().unwrap());
    let recs = database_records(src);
    let mut prev: Option<([u8; 8], u64)> = None;
    let mut out = Vec::new();
    for g in 1..=n {
        let mut b = src.to_vec();
        generation_header(&mut b, g, prev);
        patch_records(&mut b, &recs, src_gen, g, rename);
        for seg in b[SEGMENT_SIZE..].chunks_exact_mut(SEGMENT_SIZE) {
            let h = segment_header(seg);
            if h.lgpos.generation as u32 == src_gen && seg.iter().any(|&x| x != 0) {
                reseal_segment(seg, g);
            }
        }
        prev = Some(verified(&b, &format!("generation {g}")));
        let name = if g == n {
            "edb.log".to_string()
        } else {
            format!("edb{g:05X}.log")
        };
        out.push((name, b));
    }
    out
}

/// The header of generation `g` made from `src`'s: a distinct create time
/// (seconds and minutes from `g`) and, after generation 1, the previous generation's create time and
/// accumulated segment checksum (see `build`).
fn generation_header(b: &mut [u8], g: u32, prev: Option<([u8; 8], u64)>) {
    b[4..8].copy_from_slice(&g.to_le_bytes());
    b[16] = (g % 60) as u8;
    b[17] = ((g / 60) % 60) as u8;
    if let Some((t, acc)) = prev {
        b[24..32].copy_from_slice(&t);
        b[653..661].copy_from_slice(&acc.to_le_bytes());
    }
    seal_header(&mut b[..SEGMENT_SIZE]);
}

/// Sets the LGSEGHDR generation of `seg` to `g` and re-seals it as the page
/// numbered by its lgpos sector.
fn reseal_segment(seg: &mut [u8], g: u32) {
    let sector = segment_header(seg).lgpos.sector as u32;
    seg[12..16].copy_from_slice(&g.to_le_bytes());
    seal_page(seg, sector);
}

/// Checks that `b` verifies; its (create time, accumulated checksum).
fn verified(b: &[u8], what: &str) -> ([u8; 8], u64) {
    let mut check = b.to_vec();
    let s = scan_log(&mut check).expect("re-sealed header");
    assert!(s.ok(), "{what} does not verify: {:?}", s.error);
    (
        b[16..24].try_into().unwrap(),
        s.accumulated_checksum.unwrap_or(0),
    )
}

/// The one generation of `src` split into two at segment `sector`:
/// generation 1 holds the segments before it (the rest of the file zero,
/// an unwritten tail); generation 2 is the whole file with the segments
/// before `sector` made NOP-only (all record bytes 0) and those from it on
/// kept, all written for generation 2. An AttachDB of generation 2 whose
/// remembered lgposConsistent (LRATTACHDB @8) lies at or after `sector`
/// moves to generation 2; one before it keeps generation 1 (the database
/// was detached in generation 1).
pub fn split_at(src: &[u8], sector: u16) -> Vec<(String, Vec<u8>)> {
    let src_gen = u32::from_le_bytes(src[4..8].try_into().unwrap());
    let split = sector as usize * SEGMENT_SIZE;
    let mut one = src.to_vec();
    generation_header(&mut one, 1, None);
    one[split..].fill(0);
    let prev = verified(&one, "generation 1");

    let mut two = src.to_vec();
    generation_header(&mut two, 2, Some(prev));
    for (off, data) in database_records(src) {
        let mut d = data;
        let at = |d: &[u8], i: usize| u16::from_le_bytes([d[i], d[i + 1]]);
        let gen = u32::from_le_bytes(d[12..16].try_into().unwrap());
        if off >= split && d[0] == 15 && gen == src_gen && at(&d, 10) >= sector {
            d[12..16].copy_from_slice(&2u32.to_le_bytes());
        }
        two[off..off + d.len()].copy_from_slice(&d);
    }
    for (i, seg) in two.chunks_exact_mut(SEGMENT_SIZE).enumerate().skip(1) {
        if i < sector as usize {
            seg[SEGMENT_HEADER_SIZE..].fill(0);
            reseal_segment(seg, 2);
        } else if segment_header(seg).lgpos.generation as u32 == src_gen
            && seg.iter().any(|&x| x != 0)
        {
            reseal_segment(seg, 2);
        }
    }
    verified(&two, "generation 2");
    vec![
        ("edb00001.log".to_string(), one),
        ("edb.log".to_string(), two),
    ]
}

#[allow(dead_code)]
fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() != 3 && a.len() != 4 {
        eprintln!("usage: make_log_set SOURCE.log DIR N [FROM:TO]");
        std::process::exit(2);
    }
    let src = std::fs::read(&a[0]).expect("read source log");
    let dir = PathBuf::from(&a[1]);
    let n: u32 = a[2].parse().expect("N");
    let rename = a.get(3).map(|r| r.split_once(':').expect("FROM:TO"));
    std::fs::create_dir_all(&dir).expect("create DIR");
    for (name, b) in build(&src, n, rename) {
        std::fs::write(dir.join(name), &b).expect("write log");
    }
}
