//! Page-by-page comparison of two database files (a recovered database and a
//! reference copy of the same database): one verdict per page.
//!
//! Verdicts, from the closest to the farthest:
//! * identical bytes;
//! * identical except the flush-type bits of the page flags
//!   (`CPAGE::maskFlushType` = 0x18000, the `PageFlushType` rock / paper /
//!   scissors state of `inc/cpage.hxx` that the buffer manager sets at each
//!   write and no log record carries) and therefore the checksums (offset 0,
//!   and the three block checksums of the large-page `PGHDR2` at 40–63);
//! * the same nodes (tag 0 and every line, with their flags) in the same
//!   order and the same header fields, placed elsewhere in the data area or
//!   with other free-space fields (`ibMicFree`, `cbFree`,
//!   `cbUncommittedFree`) or other stale bytes in the free space;
//! * different;
//! * present in one file only (beyond the other file's end).
//!
//! Layer db: reads only, never prints.

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Database;
use crate::error::{Error, Result};
use crate::parse::page::{header_size, is_large, line, parse_page_header, read_tag};

/// `CPAGE::maskFlushType` (inc/cpage.hxx): the page's flush type bits.
pub const FLUSH_TYPE_MASK: u32 = 0x18000;

/// The verdict for one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Byte for byte the same.
    Identical,
    /// Differs only in the flush-type bits of fFlags and the checksums.
    FlushTypeOnly,
    /// Same header fields and nodes in the same order; differs in node
    /// placement, free-space fields or free-space bytes.
    PlacementOnly,
    /// Anything else.
    Different,
}

/// Flush-type state names (`CPAGE::PageFlushType`).
pub fn flush_type_name(flags: u32) -> &'static str {
    match (flags & FLUSH_TYPE_MASK) >> 15 {
        0 => "unknown",
        1 => "rock",
        2 => "paper",
        _ => "scissors",
    }
}

/// Compares two pages of the same size.
pub fn compare_pages(a: &[u8], b: &[u8]) -> Verdict {
    if a == b {
        return Verdict::Identical;
    }
    if a.len() != b.len() {
        return Verdict::Different;
    }
    if masked(a) == masked(b) {
        return Verdict::FlushTypeOnly;
    }
    match (logical(a), logical(b)) {
        (Some(x), Some(y)) if x == y => Verdict::PlacementOnly,
        _ => Verdict::Different,
    }
}

/// The page with its checksums and flush-type bits zeroed.
fn masked(p: &[u8]) -> Vec<u8> {
    let mut m = p.to_vec();
    if m.len() < header_size(m.len()) {
        return m;
    }
    m[0..8].fill(0);
    if is_large(m.len()) {
        m[40..64].fill(0);
    }
    let f = u32::from_le_bytes([m[36], m[37], m[38], m[39]]) & !FLUSH_TYPE_MASK;
    m[36..40].copy_from_slice(&f.to_le_bytes());
    m
}

/// What a page holds regardless of where its lines sit: header fields other
/// than checksum and free-space fields, and (tag flags, line bytes) per tag.
#[derive(Debug, PartialEq, Eq)]
struct Logical {
    dbtime: u64,
    prev: u32,
    next: u32,
    objid: u32,
    reserved_tags: u8,
    flags: u32,
    pgno: Option<u32>,
    lines: Vec<(u8, Vec<u8>)>,
}

fn logical(p: &[u8]) -> Option<Logical> {
    let h = parse_page_header(p).ok()?;
    let n = h.itag_mic_free as usize;
    let mut lines = Vec::with_capacity(n);
    for itag in 0..n {
        let t = read_tag(p, itag, n).ok()?;
        lines.push((t.flags, line(p, &t).to_vec()));
    }
    Some(Logical {
        dbtime: h.dbtime,
        prev: h.pgno_prev,
        next: h.pgno_next,
        objid: h.objid,
        reserved_tags: h.reserved_tags,
        flags: h.flags & !FLUSH_TYPE_MASK,
        pgno: h.pgno,
        lines,
    })
}

/// Page counts per verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Byte-identical pages.
    pub identical: u32,
    /// Pages differing only in flush-type bits and checksums.
    pub flush_type_only: u32,
    /// Pages with the same nodes, placed differently.
    pub placement_only: u32,
    /// Other differing pages.
    pub different: u32,
    /// Pages only the recovered file has.
    pub only_in_recovered: u32,
    /// Pages only the reference file has.
    pub only_in_reference: u32,
    /// Of the pages in one file only, those that are all zero (file growth
    /// the other file did not get, such as the engine's unlogged
    /// asynchronous extension).
    pub only_in_one_file_blank: u32,
}

/// The result of comparing two files.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The recovered database.
    pub recovered: PathBuf,
    /// Page size of both.
    pub page_size: usize,
    /// Data pages in the recovered file.
    pub pages_recovered: u32,
    /// Data pages in the reference file.
    pub pages_reference: u32,
    /// Whether both headers carry the same database signature (signDb):
    /// without it the files are different databases and page verdicts say
    /// little.
    pub same_signature: bool,
    /// Whether the two header copies (file pages 0 and 1) are byte-identical.
    pub headers_identical: [bool; 2],
    /// Counts per verdict.
    pub counts: Counts,
    /// Page numbers differing only in flush-type bits.
    pub flush_type_only: Vec<u32>,
    /// Page numbers with the same nodes, placed differently.
    pub placement_only: Vec<u32>,
    /// Page numbers that differ otherwise.
    pub different: Vec<u32>,
    /// Page numbers only the recovered file has.
    pub only_in_recovered: Vec<u32>,
    /// Page numbers only the reference file has.
    pub only_in_reference: Vec<u32>,
}

fn read_at(db: &Database, off: u64, buf: &mut [u8]) -> Result<()> {
    db.input
        .file
        .read_exact_at(buf, off)
        .map_err(|e| Error::io(&db.input.path, e))
}

/// Compares `recovered` with `reference` page by page (both opened
/// read-only). Files of different page sizes are refused (usage).
pub fn compare_files(recovered: &Path, reference: &Path) -> Result<Comparison> {
    let a = Database::open(recovered, None)?;
    let b = Database::open(reference, None)?;
    if a.page_size != b.page_size {
        return Err(Error::Usage(format!(
            "--compare-with: {} has {}-byte pages, {} has {}-byte pages",
            recovered.display(),
            a.page_size,
            reference.display(),
            b.page_size
        )));
    }
    let ps = a.page_size;
    let mut c = Comparison {
        recovered: recovered.to_path_buf(),
        page_size: ps,
        pages_recovered: a.page_count,
        pages_reference: b.page_count,
        same_signature: a.header().sign_db == b.header().sign_db,
        headers_identical: [false; 2],
        counts: Counts::default(),
        flush_type_only: Vec::new(),
        placement_only: Vec::new(),
        different: Vec::new(),
        only_in_recovered: Vec::new(),
        only_in_reference: Vec::new(),
    };
    let (mut x, mut y) = (vec![0u8; ps], vec![0u8; ps]);
    for (k, same) in c.headers_identical.iter_mut().enumerate() {
        read_at(&a, (k * ps) as u64, &mut x)?;
        read_at(&b, (k * ps) as u64, &mut y)?;
        *same = x == y;
    }
    let common = a.page_count.min(b.page_count);
    for pgno in 1..=common {
        read_at(&a, a.page_offset(pgno), &mut x)?;
        read_at(&b, b.page_offset(pgno), &mut y)?;
        c.record(pgno, compare_pages(&x, &y));
    }
    c.only_in_recovered = (common + 1..=a.page_count).collect();
    c.only_in_reference = (common + 1..=b.page_count).collect();
    for (db, pages) in [(&a, &c.only_in_recovered), (&b, &c.only_in_reference)] {
        for &pgno in pages {
            read_at(db, db.page_offset(pgno), &mut x)?;
            if crate::checksum::is_all_zero(&x) {
                c.counts.only_in_one_file_blank += 1;
            }
        }
    }
    c.counts.only_in_recovered = c.only_in_recovered.len() as u32;
    c.counts.only_in_reference = c.only_in_reference.len() as u32;
    Ok(c)
}

/// A comparison requested for a run that produced `candidates` (the
/// recovered databases): the result, or why there is none. Never an error
/// of the run itself (the comparison is a report).
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    /// The reference database (`--compare-with`).
    pub reference: PathBuf,
    /// The result.
    #[serde(flatten)]
    pub result: Option<Comparison>,
    /// Why nothing was compared.
    pub error: Option<String>,
}

/// Picks among `candidates` the database to compare with `reference`: the
/// only one, else the one with the reference's signDb, else the one with
/// its file name; then compares.
pub fn compare_candidates(candidates: &[PathBuf], reference: &Path) -> CompareReport {
    let mut r = CompareReport {
        reference: reference.to_path_buf(),
        result: None,
        error: None,
    };
    match pick(candidates, reference).and_then(|p| compare_files(&p, reference)) {
        Ok(c) => r.result = Some(c),
        Err(e) => r.error = Some(e.to_string()),
    }
    r
}

fn pick(candidates: &[PathBuf], reference: &Path) -> Result<PathBuf> {
    let present: Vec<&PathBuf> = candidates.iter().filter(|p| p.is_file()).collect();
    match present.as_slice() {
        [] => Err(Error::Usage(
            "no recovered database to compare (recovery produced none)".into(),
        )),
        [one] => Ok((*one).clone()),
        many => {
            let sign = Database::open(reference, None)?.header().sign_db;
            let by_sign = many
                .iter()
                .find(|p| Database::open(p, None).is_ok_and(|d| d.header().sign_db == sign));
            let by_name = many
                .iter()
                .find(|p| p.file_name().is_some() && p.file_name() == reference.file_name());
            by_sign.or(by_name).map(|p| (*p).clone()).ok_or_else(|| {
                Error::Usage(format!(
                    "{} databases were recovered and none has the signature or the file name of {}",
                    many.len(),
                    reference.display()
                ))
            })
        }
    }
}

impl Comparison {
    fn record(&mut self, pgno: u32, v: Verdict) {
        match v {
            Verdict::Identical => self.counts.identical += 1,
            Verdict::FlushTypeOnly => {
                self.counts.flush_type_only += 1;
                self.flush_type_only.push(pgno);
            }
            Verdict::PlacementOnly => {
                self.counts.placement_only += 1;
                self.placement_only.push(pgno);
            }
            Verdict::Different => {
                self.counts.different += 1;
                self.different.push(pgno);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 4 KiB page with two lines placed at the given offsets (relative to
    /// the header end); tag 0 empty.
    fn page(lines: &[(&[u8], usize)], flags: u32) -> Vec<u8> {
        let ps = 4096;
        let mut b = vec![0u8; ps];
        b[8..16].copy_from_slice(&0x42u64.to_le_bytes());
        b[24..28].copy_from_slice(&7u32.to_le_bytes());
        b[36..40].copy_from_slice(&flags.to_le_bytes());
        let n = lines.len() + 1;
        b[34..36].copy_from_slice(&(n as u16).to_le_bytes());
        let mut used = 0;
        let mut mic = 0;
        for (i, (l, ib)) in lines.iter().enumerate() {
            b[40 + ib..40 + ib + l.len()].copy_from_slice(l);
            let off = ps - 4 * (i + 2);
            b[off..off + 2].copy_from_slice(&(l.len() as u16).to_le_bytes());
            b[off + 2..off + 4].copy_from_slice(&(*ib as u16).to_le_bytes());
            used += l.len();
            mic = mic.max(ib + l.len());
        }
        let free = ps - 40 - used - 4 * n;
        b[28..30].copy_from_slice(&(free as u16).to_le_bytes());
        b[32..34].copy_from_slice(&(mic as u16).to_le_bytes());
        b
    }

    const A: &[u8] = b"\x03\x00keyAdata";
    const B: &[u8] = b"\x03\x00keyBmore data";

    #[test]
    fn identical_pages() {
        let p = page(&[(A, 0), (B, 10)], 0x2802);
        assert_eq!(compare_pages(&p, &p.clone()), Verdict::Identical);
        let z = vec![0u8; 4096];
        assert_eq!(compare_pages(&z, &z), Verdict::Identical);
    }

    #[test]
    fn flush_type_bits_and_checksum_only() {
        let p = page(&[(A, 0), (B, 10)], 0x2802);
        let mut q = page(&[(A, 0), (B, 10)], 0x2802 | 0x10000);
        q[0..8].copy_from_slice(&0x1234_5678u64.to_le_bytes());
        assert_eq!(compare_pages(&p, &q), Verdict::FlushTypeOnly);
        assert_eq!(flush_type_name(0x10000), "paper");
        assert_eq!(flush_type_name(0x8000), "rock");
        // another flag bit is not a flush-type difference
        let r = page(&[(A, 0), (B, 10)], 0x2802 | 0x4000);
        assert_eq!(compare_pages(&p, &r), Verdict::Different);
    }

    #[test]
    fn placement_and_free_space_only() {
        let p = page(&[(A, 0), (B, 10)], 0x2802);
        // the same lines, the second one moved after a hole
        let q = page(&[(A, 0), (B, 40)], 0x2802);
        assert_eq!(compare_pages(&p, &q), Verdict::PlacementOnly);
        // swapped in the data area, same tag order
        let s = page(&[(A, 15), (B, 0)], 0x2802);
        assert_eq!(compare_pages(&p, &s), Verdict::PlacementOnly);
        // cbUncommittedFree and stale free-space bytes
        let mut u = p.clone();
        u[30] = 9;
        u[40 + 100] = 0xAA;
        assert_eq!(compare_pages(&p, &u), Verdict::PlacementOnly);
    }

    #[test]
    fn different_nodes_order_or_header() {
        let p = page(&[(A, 0), (B, 10)], 0x2802);
        let order = page(&[(B, 0), (A, 15)], 0x2802);
        assert_eq!(compare_pages(&p, &order), Verdict::Different);
        let fewer = page(&[(A, 0)], 0x2802);
        assert_eq!(compare_pages(&p, &fewer), Verdict::Different);
        let mut dbtime = p.clone();
        dbtime[8] = 0x43;
        assert_eq!(compare_pages(&p, &dbtime), Verdict::Different);
        assert_eq!(compare_pages(&p, &vec![0u8; 4096]), Verdict::Different);
    }

    #[test]
    fn files_with_pages_in_one_only() {
        let dir = tempfile::tempdir().unwrap();
        let hdr = crate::synth::db_header_page(&crate::synth::DbSpec::default());
        let p1 = page(&[(A, 0)], 0x2802);
        let p2 = page(&[(A, 0), (B, 10)], 0x2802);
        let mut q2 = page(&[(A, 0), (B, 10)], 0x2802 | 0x8000);
        q2[0] = 1;
        let mut f1 = [hdr.clone(), hdr.clone(), p1.clone(), p2.clone()].concat();
        f1.extend(page(&[(B, 0)], 0x2802));
        let f2 = [hdr.clone(), hdr, p1, q2].concat();
        let (x, y) = (dir.path().join("a.edb"), dir.path().join("b.edb"));
        std::fs::write(&x, &f1).unwrap();
        std::fs::write(&y, &f2).unwrap();
        let c = compare_files(&x, &y).unwrap();
        assert_eq!(c.pages_recovered, 3);
        assert_eq!(c.pages_reference, 2);
        assert!(c.same_signature);
        assert_eq!(c.headers_identical, [true, true]);
        assert_eq!(c.counts.identical, 1);
        assert_eq!(c.flush_type_only, vec![2]);
        assert_eq!(c.only_in_recovered, vec![3]);
        assert_eq!(c.counts.only_in_one_file_blank, 0);
        assert!(c.only_in_reference.is_empty());
    }
}
