//! ESE checksums: the legacy XOR checksum of header pages and old data pages,
//! and the XOR+ECC "new" checksum of data pages and 8.x log segments, with
//! single-bit error location. The header checksum is defined in
//! [`crate::parse::header_checksum`] (the header parsers verify it) and
//! re-exported here.
//!
//! Facts: `checksum/checksum.cxx`, `checksum/checksum_amd64.cxx` ~1331–1430 and
//! `_osu/checksumu.cxx` ~55–470 of the ESE source, restated in
//! `docs/format/checksums.md`.

pub use crate::parse::header_checksum::{
    legacy_header_checksum, stored_header_checksum, xor_words, XOR_SEED,
};
use crate::parse::{u32_at, u64_at};

/// Bit 13 of the page flags (byte 36): the page uses the XOR+ECC format.
pub const FLAG_NEW_CHECKSUM: u32 = 0x2000;

/// Absolute bit index of that flag inside a page; a flip there is never
/// considered correctable (`IbitNewChecksumFormatFlag`).
pub const NEW_CHECKSUM_FLAG_BIT: u32 = 36 * 8 + 13;

/// Computes the 64-bit XOR+ECC checksum of one block (checksums.md §4): high 32 bits the
/// ECC, low 32 bits the XOR of all words (header words counted as zero when
/// `header_block`) XOR `pgno`.
///
/// `block.len()` must be a power of two between 8 and 8192 bytes.
///
/// This is the fast kernel: it never branches per row. It relies on the
/// identity *bit j of p = parity of the XOR of every row whose index has bit
/// j set*, so only XORs are needed while streaming: 16 lane accumulators
/// (one u64 = two rows each; the compiler keeps them in 8 SSE2 registers)
/// give the XOR of rows by `index mod 32`. For the high index bits only
/// the parity of each 128-byte chunk counts: bits 5 and up of p are the XOR
/// of the indexes of the chunks with odd parity.
/// Blocks shorter than 256 bytes use [`ecc_block_checksum_reference`].
pub fn ecc_block_checksum(block: &[u8], pgno: u32, header_block: bool) -> u64 {
    const CHUNK: usize = 128; // 32 rows, 16 u64 lanes
    let rows = block.len() / 4;
    debug_assert!(rows.is_power_of_two());
    if block.len() < 2 * CHUNK {
        return ecc_block_checksum_reference(block, pgno, header_block);
    }
    let mut lanes = [0u64; 16];
    let mut p_high = 0u32; // XOR of the indexes of the odd-parity chunks
    for (c, chunk) in block.chunks_exact(CHUNK).enumerate() {
        let mut w = [0u64; 16];
        for (d, s) in w.iter_mut().zip(chunk.chunks_exact(8)) {
            *d = u64::from_le_bytes(s.try_into().unwrap());
        }
        if c == 0 && header_block {
            w[0] = 0;
        }
        for (l, x) in lanes.iter_mut().zip(w.iter()) {
            *l ^= *x;
        }
        let fold = w.iter().fold(0u64, |a, x| a ^ x);
        p_high ^= (c as u32) & parity64(fold).wrapping_neg();
    }
    // Row accumulators by index mod 32: row 2i is the low half of lane i.
    let mut col = 0u32;
    let mut lo_acc = [0u32; 5];
    for (i, &l) in lanes.iter().enumerate() {
        for (h, row) in [(l as u32), ((l >> 32) as u32)].into_iter().enumerate() {
            let r = 2 * i + h;
            col ^= row;
            for (j, acc) in lo_acc.iter_mut().enumerate() {
                *acc ^= row & ((r >> j) as u32 & 1).wrapping_neg();
            }
        }
    }
    let mut p = p_high << 5;
    for (j, acc) in lo_acc.iter().enumerate() {
        p |= (acc.count_ones() & 1) << j;
    }
    finish_ecc(col, p, rows as u32, pgno)
}

/// 1 when `x` has an odd number of set bits. By folding: `count_ones` is a
/// slow bit-twiddling sequence without the `popcnt` instruction, which the
/// x86-64 baseline lacks.
#[inline(always)]
fn parity64(x: u64) -> u32 {
    let mut x = x ^ (x >> 32);
    x ^= x >> 16;
    x ^= x >> 8;
    x ^= x >> 4;
    x ^= x >> 2;
    x ^= x >> 1;
    x as u32 & 1
}

/// Assembles the 64-bit checksum from the column parities (`col`, the XOR
/// of all rows) and `p` (XOR of the indexes of odd-parity rows).
#[inline]
fn finish_ecc(col: u32, p: u32, rows: u32, pgno: u32) -> u64 {
    // The number of odd rows has the parity of the whole block = parity(col).
    let odd_total = (col.count_ones() & 1).wrapping_neg();
    let q = p ^ odd_total;
    // rr = XOR of the indexes of set columns: bit m of rr = parity of the
    // columns whose index has bit m set; s = XOR of their complements.
    const COLMASK: [u32; 5] = [
        0xAAAA_AAAA,
        0xCCCC_CCCC,
        0xF0F0_F0F0,
        0xFF00_FF00,
        0xFFFF_0000,
    ];
    let mut rr = 0u32;
    for (m, mask) in COLMASK.iter().enumerate() {
        rr |= ((col & mask).count_ones() & 1) << m;
    }
    let s = rr ^ odd_total;
    let mask = rows - 1;
    let ecc = ((q & mask) << 21) | ((s & 31) << 16) | ((p & mask) << 5) | (rr & 31);
    ((ecc as u64) << 32) | ((col ^ pgno) as u64)
}

/// Straightforward row-by-row form of [`ecc_block_checksum`], as the engine's
/// portable code states it (one parity per row). Kept as the test oracle and
/// for blocks shorter than 256 bytes.
pub fn ecc_block_checksum_reference(block: &[u8], pgno: u32, header_block: bool) -> u64 {
    let rows = block.len() / 4;
    debug_assert!(rows.is_power_of_two());
    let mut col = 0u32; // XOR of all rows = column parities
    let mut p = 0u32; // XOR of indexes of odd-parity rows
    let mut odd_rows = 0u32;
    let start = if header_block { 2 } else { 0 };
    for (r, w) in block.chunks_exact(4).enumerate().skip(start) {
        let w = u32::from_le_bytes(w.try_into().unwrap());
        col ^= w;
        let odd = w.count_ones() & 1;
        p ^= (r as u32) & odd.wrapping_neg();
        odd_rows += odd;
    }
    let q = if odd_rows & 1 == 1 { !p } else { p };
    let mut rr = 0u32;
    let mut s = 0u32;
    for c in 0..32u32 {
        if col >> c & 1 == 1 {
            rr ^= c;
            s ^= !c;
        }
    }
    let mask = rows as u32 - 1;
    let ecc = ((q & mask) << 21) | ((s & 31) << 16) | ((p & mask) << 5) | (rr & 31);
    ((ecc as u64) << 32) | ((col ^ pgno) as u64)
}

/// Decides whether `stored` vs `computed` of a block of `cb` bytes is the
/// signature of exactly one flipped data bit, and returns its block-relative
/// bit index (docs/format/checksums.md §6).
pub fn correctable_bit(stored: u64, computed: u64, cb: usize) -> Option<u32> {
    if stored == computed {
        return None;
    }
    let d = ((stored >> 32) as u32) ^ ((computed >> 32) as u32);
    let mask = (cb as u32 * 8) - 1;
    let xor_diff = (stored as u32) ^ (computed as u32);
    if ((d >> 16) ^ d) & mask == mask && xor_diff.count_ones() == 1 {
        let bit = d & 0xFFFF;
        if bit < cb as u32 * 8 {
            return Some(bit);
        }
    }
    None
}

/// The checksum block size of a page (`CbBlockSize`, checksumu.cxx): the whole
/// page up to 8 KiB; 4 KiB blocks for 16 KiB pages; 8 KiB blocks for 32 KiB.
pub fn block_size(page_size: usize) -> usize {
    match page_size {
        0..=8192 => page_size,
        16384 => 4096,
        _ => 8192,
    }
}

/// Byte offset in the page where the stored checksum of block `k` lives:
/// 0 for block 0, then 40, 48, 56 in the large-page header (checksums.md §5).
pub fn stored_checksum_offset(block: usize) -> usize {
    if block == 0 {
        0
    } else {
        32 + 8 * block
    }
}

/// Which checksum scheme a data page uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumFormat {
    /// Legacy XOR (u32 XOR + u32 pgno), pages without flag 0x2000.
    Xor,
    /// XOR+ECC, one or more blocks.
    Ecc,
}

/// Checksum verdict of one data page, as the engine's verification gives it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum PageVerdict {
    /// Every byte zero: never written; not checksummed.
    Uninitialized,
    /// Checksum verifies.
    Ok {
        /// Scheme used.
        format: ChecksumFormat,
    },
    /// Exactly one flipped bit, located and verified by re-checksumming.
    Correctable {
        /// Scheme used.
        format: ChecksumFormat,
        /// Bit index from the start of the page (byte = bit / 8, bit in byte = bit % 8).
        bit: u32,
        /// Block (0-based) holding the bit.
        block: usize,
        /// Stored checksum of that block.
        stored: u64,
        /// Computed checksum of that block.
        computed: u64,
    },
    /// The content checksums correctly only as another page number: the page
    /// sits at the wrong place.
    WrongPageNumber {
        /// Scheme used.
        format: ChecksumFormat,
        /// The page number the content belongs to.
        actual_pgno: u32,
    },
    /// Uncorrectable checksum mismatch.
    Bad {
        /// Scheme used.
        format: ChecksumFormat,
        /// First failing block.
        block: usize,
        /// Stored checksum of that block.
        stored: u64,
        /// Computed checksum of that block.
        computed: u64,
    },
}

impl PageVerdict {
    /// True for `Ok` and `Uninitialized`.
    pub fn is_good(&self) -> bool {
        matches!(self, PageVerdict::Ok { .. } | PageVerdict::Uninitialized)
    }
}

/// Scheme a data page claims through its flag bit.
pub fn page_format(page: &[u8]) -> ChecksumFormat {
    if u32_at(page, 36) & FLAG_NEW_CHECKSUM != 0 {
        ChecksumFormat::Ecc
    } else {
        ChecksumFormat::Xor
    }
}

/// Stored and computed 64-bit checksum of every block of an ECC-format page.
fn ecc_blocks(page: &[u8], pgno: u32) -> impl Iterator<Item = (usize, u64, u64)> + '_ {
    let cb = block_size(page.len());
    page.chunks_exact(cb)
        .enumerate()
        .take(4)
        .map(move |(k, blk)| {
            let stored = u64_at(page, stored_checksum_offset(k));
            (k, stored, ecc_block_checksum(blk, pgno, k == 0))
        })
}

/// Whether every block of an ECC page verifies for `pgno`.
fn ecc_page_ok(page: &[u8], pgno: u32) -> bool {
    ecc_blocks(page, pgno).all(|(_, s, c)| s == c)
}

/// Legacy data-page checksum (checksums.md §3): stored u64 vs
/// `(pgno << 32) | (0x89ABCDEF ^ XOR of dword[1..])`.
pub fn legacy_page_checksum(page: &[u8], pgno: u32) -> (u64, u64) {
    let stored = u64_at(page, 0);
    let computed = ((pgno as u64) << 32) | legacy_header_checksum(page) as u64;
    (stored, computed)
}

/// Whether every byte of `b` is zero (word-wise; early exit per 64 bytes).
pub fn is_all_zero(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(64);
    for c in &mut chunks {
        let mut acc = 0u64;
        for w in c.chunks_exact(8) {
            acc |= u64::from_le_bytes(w.try_into().unwrap());
        }
        if acc != 0 {
            return false;
        }
    }
    chunks.remainder().iter().all(|&x| x == 0)
}

/// Verifies one data page of `page.len()` bytes (4, 8, 16 or 32 KiB; 2 KiB
/// legacy pages too) that belongs at logical page number `pgno`.
///
/// Correction is attempted in memory only; the page is never modified.
pub fn verify_page(page: &[u8], pgno: u32) -> PageVerdict {
    if is_all_zero(page) {
        return PageVerdict::Uninitialized;
    }
    // Shorter than the header's checksum and flag fields: nothing to verify.
    if page.len() < 40 {
        return PageVerdict::Bad {
            format: ChecksumFormat::Xor,
            block: 0,
            stored: 0,
            computed: 1,
        };
    }
    match page_format(page) {
        ChecksumFormat::Xor => {
            let (stored, computed) = legacy_page_checksum(page, pgno);
            if stored == computed {
                PageVerdict::Ok {
                    format: ChecksumFormat::Xor,
                }
            } else if stored as u32 == computed as u32 {
                PageVerdict::WrongPageNumber {
                    format: ChecksumFormat::Xor,
                    actual_pgno: (stored >> 32) as u32,
                }
            } else {
                PageVerdict::Bad {
                    format: ChecksumFormat::Xor,
                    block: 0,
                    stored,
                    computed,
                }
            }
        }
        // ECC blocks hold a power-of-two number of 4-byte rows (the
        // engine's page sizes): a page of another length cannot verify.
        ChecksumFormat::Ecc if !(block_size(page.len()) / 4).is_power_of_two() => {
            let stored = u64_at(page, 0);
            PageVerdict::Bad {
                format: ChecksumFormat::Ecc,
                block: 0,
                stored,
                computed: !stored,
            }
        }
        ChecksumFormat::Ecc => verify_ecc_page(page, pgno),
    }
}

fn verify_ecc_page(page: &[u8], pgno: u32) -> PageVerdict {
    let fmt = ChecksumFormat::Ecc;
    let first_bad = ecc_blocks(page, pgno).find(|(_, s, c)| s != c);
    let Some((block, stored, computed)) = first_bad else {
        return PageVerdict::Ok { format: fmt };
    };
    if let Some(fixed) = try_fix_ecc_page(page, pgno) {
        let (bit, blk) = fixed;
        let (_, st, co) = ecc_blocks(page, pgno).nth(blk).unwrap();
        return PageVerdict::Correctable {
            format: fmt,
            bit,
            block: blk,
            stored: st,
            computed: co,
        };
    }
    // ECC halves equal but XOR halves differ: the data is intact but was
    // checksummed as another page number.
    if (stored >> 32) == (computed >> 32) {
        let actual = (stored as u32) ^ (computed as u32) ^ pgno;
        if actual != pgno && ecc_page_ok(page, actual) {
            return PageVerdict::WrongPageNumber {
                format: fmt,
                actual_pgno: actual,
            };
        }
    }
    PageVerdict::Bad {
        format: fmt,
        block,
        stored,
        computed,
    }
}

/// Tries the engine's single-bit repair on a copy of an ECC page: returns the
/// page-relative bit (and its block) of the first correction when flipping
/// the located bits makes every block verify.
fn try_fix_ecc_page(page: &[u8], pgno: u32) -> Option<(u32, usize)> {
    ecc_page_fixes(page, pgno).map(|fixes| fixes[0])
}

/// Every single-bit correction (page bit, block) that together make an ECC
/// page verify, in block order; `None` when the page cannot be repaired by
/// one flip per block.
fn ecc_page_fixes(page: &[u8], pgno: u32) -> Option<Vec<(u32, usize)>> {
    let cb = block_size(page.len());
    let mut copy = page.to_vec();
    let mut fixes = Vec::new();
    let nblocks = (page.len() / cb).min(4);
    for k in 0..nblocks {
        let stored = u64_at(&copy, stored_checksum_offset(k));
        let computed = ecc_block_checksum(&copy[k * cb..(k + 1) * cb], pgno, k == 0);
        if stored == computed {
            continue;
        }
        let bit = correctable_bit(stored, computed, cb)?;
        let page_bit = bit + (k * cb * 8) as u32;
        if k == 0 && (page_bit == NEW_CHECKSUM_FLAG_BIT || page_bit < 64) {
            return None;
        }
        copy[(page_bit / 8) as usize] ^= 1 << (page_bit % 8);
        fixes.push((page_bit, k));
    }
    (!fixes.is_empty() && ecc_page_ok(&copy, pgno)).then_some(fixes)
}

/// Applies a located single-bit correction to a page buffer in place and
/// returns whether the page then verifies.
pub fn apply_correction(page: &mut [u8], pgno: u32, bit: u32) -> bool {
    let byte = (bit / 8) as usize;
    if byte >= page.len() {
        return false;
    }
    page[byte] ^= 1 << (bit % 8);
    // A page may hold a correctable flip in each of several blocks: fix them
    // all (one `bit` is what eseutil reports; the others follow).
    if let Some(rest) = ecc_page_fixes(page, pgno) {
        for (b, _) in rest {
            page[(b / 8) as usize] ^= 1 << (b % 8);
        }
    }
    matches!(verify_page(page, pgno), PageVerdict::Ok { .. })
}

/// Writes valid checksums into a data page (used by fixture writers and the
/// benchmark generator): ECC format when the page's flag bit 0x2000 is set,
/// legacy XOR otherwise. Large pages get their block 1–3 checksums first.
pub fn seal_page(page: &mut [u8], pgno: u32) {
    match page_format(page) {
        ChecksumFormat::Xor => {
            page[4..8].copy_from_slice(&pgno.to_le_bytes());
            let x = legacy_header_checksum(page);
            page[0..4].copy_from_slice(&x.to_le_bytes());
        }
        ChecksumFormat::Ecc => {
            let cb = block_size(page.len());
            let n = (page.len() / cb).min(4);
            for k in 1..n {
                let c = ecc_block_checksum(&page[k * cb..(k + 1) * cb], pgno, false);
                let off = stored_checksum_offset(k);
                page[off..off + 8].copy_from_slice(&c.to_le_bytes());
            }
            let c = ecc_block_checksum(&page[..cb], pgno, true);
            page[0..8].copy_from_slice(&c.to_le_bytes());
        }
    }
}

/// Writes a valid legacy header checksum into a header page.
pub fn seal_header(page: &mut [u8]) {
    let x = legacy_header_checksum(page);
    page[0..4].copy_from_slice(&x.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz finding (patch_page, 2026-12-01): an ECC-flagged "page" whose
    /// length gives blocks of a non-power-of-two row count reached the ECC
    /// kernel's row-count assertion; one shorter than 40 bytes would read
    /// its flags out of bounds. Such a page is bad, never a panic.
    #[test]
    fn ecc_page_of_an_irregular_length_is_bad_not_a_panic() {
        for len in [1, 39, 40, 44, 1000, 8149, 12_000, 20_000] {
            let mut p = vec![0x5Au8; len];
            if len >= 40 {
                p[36..40].copy_from_slice(&FLAG_NEW_CHECKSUM.to_le_bytes());
            }
            let v = verify_page(&p, 3);
            let regular = len >= 40 && (block_size(len) / 4).is_power_of_two();
            assert!(
                regular || matches!(v, PageVerdict::Bad { .. }),
                "{len}: {v:?}"
            );
        }
    }

    fn sample_page(size: usize, pgno: u32, ecc: bool) -> Vec<u8> {
        let mut p = vec![0u8; size];
        let mut x = 0x1234_5678u32 ^ pgno;
        for b in p.iter_mut().skip(8) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        let mut flags = u32_at(&p, 36) & !FLAG_NEW_CHECKSUM;
        if ecc {
            flags |= FLAG_NEW_CHECKSUM;
        }
        p[36..40].copy_from_slice(&flags.to_le_bytes());
        seal_page(&mut p, pgno);
        p
    }

    #[test]
    fn sealed_pages_verify() {
        for &size in &[2048, 4096, 8192, 16384, 32768] {
            assert_eq!(
                verify_page(&sample_page(size, 7, true), 7),
                PageVerdict::Ok {
                    format: ChecksumFormat::Ecc
                }
            );
            assert_eq!(
                verify_page(&sample_page(size, 7, false), 7),
                PageVerdict::Ok {
                    format: ChecksumFormat::Xor
                }
            );
        }
    }

    #[test]
    fn single_flips_are_located_on_every_size() {
        for &size in &[4096usize, 8192, 16384, 32768] {
            let page = sample_page(size, 9, true);
            for bit in (64..size as u32 * 8).step_by(97) {
                if bit == NEW_CHECKSUM_FLAG_BIT {
                    continue;
                }
                let mut p = page.clone();
                p[(bit / 8) as usize] ^= 1 << (bit % 8);
                match verify_page(&p, 9) {
                    PageVerdict::Correctable { bit: b, .. } => assert_eq!(b, bit, "size {size}"),
                    v => panic!("size {size} bit {bit}: {v:?}"),
                }
                assert!(apply_correction(&mut p, 9, bit));
                assert_eq!(p, page);
            }
        }
    }

    #[test]
    fn flag_bit_and_double_flips_are_bad() {
        let page = sample_page(4096, 3, true);
        let mut p = page.clone();
        p[(NEW_CHECKSUM_FLAG_BIT / 8) as usize] ^= 1 << (NEW_CHECKSUM_FLAG_BIT % 8);
        assert!(matches!(verify_page(&p, 3), PageVerdict::Bad { .. }));
        let mut p = page.clone();
        p[100] ^= 1;
        p[2000] ^= 4;
        assert!(matches!(verify_page(&p, 3), PageVerdict::Bad { .. }));
    }

    #[test]
    fn moved_page_is_wrong_page_number() {
        let page = sample_page(4096, 5, true);
        assert_eq!(
            verify_page(&page, 7),
            PageVerdict::WrongPageNumber {
                format: ChecksumFormat::Ecc,
                actual_pgno: 5
            }
        );
        let page = sample_page(4096, 5, false);
        assert_eq!(
            verify_page(&page, 7),
            PageVerdict::WrongPageNumber {
                format: ChecksumFormat::Xor,
                actual_pgno: 5
            }
        );
    }

    fn rand_bytes(n: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn fast_kernel_matches_reference() {
        for shift in 3..=13 {
            let len = 1usize << shift;
            for seed in 1..40u64 {
                let mut b = rand_bytes(len, seed * 7919 + len as u64);
                if seed % 5 == 0 {
                    // sparse blocks exercise odd/even row counts
                    for (i, x) in b.iter_mut().enumerate() {
                        if i % 97 != 0 {
                            *x = 0;
                        }
                    }
                }
                for hdr in [false, true] {
                    let pg = seed as u32 * 31;
                    assert_eq!(
                        ecc_block_checksum(&b, pg, hdr),
                        ecc_block_checksum_reference(&b, pg, hdr),
                        "len {len} seed {seed} hdr {hdr}"
                    );
                }
            }
        }
        // Every single-bit block of 256 bytes and 8 KiB.
        for len in [256usize, 8192] {
            for bit in (0..len * 8).step_by(if len == 256 { 1 } else { 13 }) {
                let mut b = vec![0u8; len];
                b[bit / 8] |= 1 << (bit % 8);
                for hdr in [false, true] {
                    assert_eq!(
                        ecc_block_checksum(&b, 5, hdr),
                        ecc_block_checksum_reference(&b, 5, hdr)
                    );
                }
            }
        }
    }

    #[test]
    fn zero_check() {
        assert!(is_all_zero(&[0u8; 100]));
        for i in 0..100 {
            let mut b = [0u8; 100];
            b[i] = 1;
            assert!(!is_all_zero(&b));
        }
    }

    #[test]
    fn zero_page_is_uninitialized() {
        assert_eq!(verify_page(&[0u8; 4096], 1), PageVerdict::Uninitialized);
    }

    /// Regression (fuzz target page_checksum): a page with a single flipped
    /// bit in each of three blocks is correctable, and applying the reported
    /// correction must repair all three.
    #[test]
    fn flips_in_three_blocks_are_all_corrected() {
        for &size in &[16384usize, 32768] {
            let page = sample_page(size, 11, true);
            let cb = block_size(size);
            let mut p = page.clone();
            for (k, bit) in [(0usize, 900u32), (1, 77), (3, 5000)] {
                let b = bit + (k * cb * 8) as u32;
                p[(b / 8) as usize] ^= 1 << (b % 8);
            }
            let PageVerdict::Correctable { bit, .. } = verify_page(&p, 11) else {
                panic!("size {size}: not correctable");
            };
            assert!(apply_correction(&mut p, 11, bit), "size {size}");
            assert_eq!(p, page);
        }
    }
}
