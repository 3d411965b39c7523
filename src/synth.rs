//! Builders of small, valid ESE files from the specification, for tests,
//! fuzz seeds, benchmarks and the fixtures in `testdata/`.
//!
//! Every byte is placed from the layouts in `docs/format/`
//! (primitives.md, database-header.md §3, logs.md §3, checkpoint.md §2) and sealed
//! with the checksums of [`crate::checksum`]. Nothing here is copied from a
//! real file.

use crate::checksum::{seal_header, seal_page, FLAG_NEW_CHECKSUM};

fn put32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

fn put16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

fn put64(b: &mut [u8], off: usize, v: u64) {
    b[off..off + 8].copy_from_slice(&v.to_le_bytes());
}

/// A LOGTIME for `y-mo-d h:mi:s.ms`, UTC flag as given (one argument per
/// stored field, hence the count).
#[allow(clippy::too_many_arguments)]
pub fn logtime(y: u32, mo: u8, d: u8, h: u8, mi: u8, s: u8, ms: u16, utc: bool) -> [u8; 8] {
    [
        s,
        mi,
        h,
        d,
        mo,
        (y - 1900) as u8,
        (((ms & 0x7F) as u8) << 1) | utc as u8,
        (((ms >> 7) & 7) as u8) << 1,
    ]
}

fn put_lgpos(b: &mut [u8], off: usize, gen: i32, isec: u16, ib: u16) {
    put16(b, off, ib);
    put16(b, off + 2, isec);
    put32(b, off + 4, gen as u32);
}

fn put_sig(b: &mut [u8], off: usize, random: u32, time: [u8; 8]) {
    put32(b, off, random);
    b[off + 4..off + 12].copy_from_slice(&time);
}

/// Parameters of a synthetic database header.
#[derive(Debug, Clone)]
pub struct DbSpec {
    /// Page size (4096, 8192, 16384, 32768; 2048 for legacy).
    pub page_size: usize,
    /// JET_dbstate (3 clean, 2 dirty).
    pub state: u32,
    /// lGenMinRequired / lGenMaxRequired (dirty databases).
    pub gen_required: (i32, i32),
    /// Format (update major, update minor).
    pub update: (u32, u32),
}

impl Default for DbSpec {
    fn default() -> Self {
        DbSpec {
            page_size: 4096,
            state: 3,
            gen_required: (0, 0),
            update: (20, 0),
        }
    }
}

/// One sealed database header page.
pub fn db_header_page(spec: &DbSpec) -> Vec<u8> {
    let mut p = vec![0u8; spec.page_size];
    let t0 = logtime(2024, 3, 1, 10, 20, 30, 456, true);
    let t1 = logtime(2024, 3, 1, 10, 21, 0, 7, true);
    put32(&mut p, 4, crate::parse::db_header::MAGIC);
    put32(&mut p, 8, 0x620);
    put64(&mut p, 16, 0x1234);
    put_sig(&mut p, 24, 0x0BAD_F00D, t0);
    put32(&mut p, 52, spec.state);
    if spec.state == 3 {
        put_lgpos(&mut p, 56, 5, 3, 0x10);
        p[64..72].copy_from_slice(&t1);
        put_lgpos(&mut p, 96, 5, 3, 0x10);
        p[88..96].copy_from_slice(&t1);
    }
    p[72..80].copy_from_slice(&t0);
    put_lgpos(&mut p, 80, 4, 1, 0x26C);
    put32(&mut p, 104, 1);
    put_sig(&mut p, 108, 0xC0FF_EE01, t0);
    put32(&mut p, 212, 42);
    put32(&mut p, 216, 10);
    put32(&mut p, 224, 19045);
    put32(&mut p, 232, spec.update.0);
    put32(&mut p, 236, spec.page_size as u32);
    put32(&mut p, 296, spec.gen_required.0 as u32);
    put32(&mut p, 300, spec.gen_required.1 as u32);
    put32(&mut p, 340, 0x620);
    put32(&mut p, 344, spec.update.0);
    put32(&mut p, 416, spec.gen_required.1 as u32);
    put64(&mut p, 508, u64::MAX);
    put32(&mut p, 644, spec.update.1);
    put32(&mut p, 648, 9180);
    put_lgpos(&mut p, 656, 4, 1, 0x26C);
    put32(&mut p, 667, 1);
    seal_header(&mut p);
    p
}

/// A whole small database: both header copies, then `pages` data pages of
/// which the first `written` carry a sealed ECC page (a leaf root page of a
/// tiny tree) and the rest are zero (uninitialized).
pub fn database(spec: &DbSpec, pages: u32, written: u32) -> Vec<u8> {
    let h = db_header_page(spec);
    let mut f = Vec::with_capacity(spec.page_size * (pages as usize + 2));
    f.extend_from_slice(&h);
    f.extend_from_slice(&h);
    for pgno in 1..=pages {
        let mut page = vec![0u8; spec.page_size];
        if pgno <= written {
            let hdr = if spec.page_size > 8192 { 80 } else { 40 };
            put64(&mut page, 8, 0x100 + pgno as u64); // dbtime
            put32(&mut page, 24, 2); // objidFDP
            let tag_bytes = 4; // one tag (tag 0, empty external header)
            let free = spec.page_size - hdr - tag_bytes;
            put16(&mut page, 28, free as u16);
            put16(&mut page, 34, 1); // itagMicFree = 1
            put32(&mut page, 36, 0x1 | 0x2 | FLAG_NEW_CHECKSUM | 0x800); // root, leaf, new format
            if spec.page_size > 8192 {
                put32(&mut page, 64, pgno);
            }
            seal_page(&mut page, pgno);
        }
        f.extend_from_slice(&page);
    }
    f
}

/// A sealed 8192-byte checkpoint file (both copies) whose checkpoint is
/// `(gen, isec, 0)`.
pub fn checkpoint(gen: i32, isec: u16) -> Vec<u8> {
    let mut c = vec![0u8; 4096];
    put_lgpos(&mut c, 12, gen, isec, 0);
    put_sig(
        &mut c,
        20,
        0xC0FF_EE01,
        logtime(2024, 3, 1, 10, 20, 30, 456, true),
    );
    c[48 + 522] = 1; // circular logging
    put32(&mut c, 48 + 523, 64);
    put32(&mut c, 48 + 543, 256);
    c[647] = 1;
    put_lgpos(&mut c, 648, gen, isec, 0);
    put32(&mut c, 667, 4);
    seal_header(&mut c);
    let mut f = c.clone();
    f.extend_from_slice(&c);
    f
}

/// A sealed 4096-byte 8.x log file header for generation `gen` (the rest of
/// the file is not produced).
pub fn log_header(gen: i32) -> Vec<u8> {
    let mut h = vec![0u8; 4096];
    put32(&mut h, 4, gen as u32);
    put16(&mut h, 8, 4096);
    put16(&mut h, 10, 1);
    put16(&mut h, 12, 256);
    put16(&mut h, 14, 4096);
    h[16..24].copy_from_slice(&logtime(2024, 3, 1, 10, 20, 30, 456, true));
    put32(&mut h, 32, 8);
    put32(&mut h, 36, 4000);
    put32(&mut h, 40, 60);
    put_sig(
        &mut h,
        44,
        0xC0FF_EE01,
        logtime(2024, 3, 1, 10, 20, 30, 456, true),
    );
    put_lgpos(&mut h, 640, gen, 1, 0);
    put32(&mut h, 648, 140);
    put32(&mut h, 667, 3);
    seal_header(&mut h);
    h
}
