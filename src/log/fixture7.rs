//! Test-only builder of a format 7.x log file, byte by byte from the
//! specification (docs/format/logs.md §3, §6; facts listed in
//! `testdata/README.md`). The checksums here are computed with an
//! independent, byte-at-a-time implementation of `UlChecksumBytesSlow`
//! (logread_legacy.cxx ~5290) so that the library's word-wise version is
//! checked against it.

use crate::checksum::seal_header;

/// Sector size of the fixture.
pub const SEC: usize = 512;
/// Generation of the fixture.
pub const GEN: u32 = 3;
/// Offset of the first LRCHECKSUM.
pub const LRCK1: usize = 4096;
/// Offset of the second (last) LRCHECKSUM: 40 bytes into sector 10.
pub const LRCK2: usize = 5160;
/// End of written data.
pub const END: usize = 5212;
/// Offset of the shadow sector (sector 11).
pub const SHADOW: usize = 5632;

fn slow(b: &[u8], seed: u32) -> u32 {
    let mut c = seed;
    for (j, &x) in b.iter().enumerate() {
        c ^= (x as u32) << (8 * (j % 4));
    }
    c
}

fn put32(f: &mut [u8], at: usize, v: u32) {
    f[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes LRCHECKSUM fields at `pos` and returns the folded tail value.
fn lrck(f: &mut [u8], pos: usize, back: u32, fwd: u32, next: u32, short_on: bool) {
    f[pos] = 42;
    put32(f, pos + 1, back);
    put32(f, pos + 5, fwd);
    put32(f, pos + 9, next);
    f[pos + 21] = if short_on { 0x9A } else { 0xD1 };
    let tail = back ^ fwd ^ next ^ f[pos + 21] as u32 ^ GEN;
    let b0 = pos - back as usize;
    let c = slow(&f[b0..pos], 0xFEED_BEAF);
    let c = slow(&f[pos + 22..pos + 22 + fwd as usize], c) ^ tail;
    put32(f, pos + 13, c);
    let short = if short_on {
        let sec_end = (pos / SEC + 1) * SEC;
        let c = slow(&f[b0..pos], 0xDEAD_C0DE);
        slow(&f[pos + 22..sec_end], c) ^ tail
    } else {
        0
    };
    put32(f, pos + 17, short);
}

fn begin0(f: &mut [u8], at: usize, trx: u32) {
    f[at] = 8;
    f[at + 1..at + 3].copy_from_slice(&7u16.to_le_bytes());
    f[at + 3] = 0x10; // levelBeginFrom 0, clevelsToBegin 1
    put32(f, at + 4, trx);
}

fn commit0(f: &mut [u8], at: usize, trx: u32) {
    f[at] = 9;
    f[at + 1..at + 3].copy_from_slice(&7u16.to_le_bytes());
    f[at + 3] = 0;
    put32(f, at + 4, trx);
}

fn trace(f: &mut [u8], at: usize, cb: u16) {
    f[at] = 22;
    f[at + 1..at + 3].copy_from_slice(&7u16.to_le_bytes());
    f[at + 3..at + 5].copy_from_slice(&cb.to_le_bytes());
    for k in 0..cb as usize {
        f[at + 5 + k] = b'a' + (k % 26) as u8;
    }
}

/// The 7.x log header (LGFILEHDR, log.hxx ~141–212).
pub fn header(f: &mut [u8]) {
    put32(f, 4, GEN);
    f[8..10].copy_from_slice(&(SEC as u16).to_le_bytes());
    f[10..12].copy_from_slice(&8u16.to_le_bytes());
    f[12..14].copy_from_slice(&16u16.to_le_bytes());
    f[14..16].copy_from_slice(&4096u16.to_le_bytes());
    f[16..24].copy_from_slice(&[5, 4, 3, 2, 6, 110, 1, 0]); // tmCreate 06/02/2010 03:04:05
    f[24..32].copy_from_slice(&[1, 4, 3, 2, 6, 110, 1, 0]); // tmPrevGen
    put32(f, 32, 7);
    put32(f, 36, 3704);
    put32(f, 40, 15);
    put32(f, 44, 0x1234_5678); // signLog random
    f[48..56].copy_from_slice(&[9, 8, 7, 1, 6, 110, 1, 0]);
    f[639] = 0;
    put32(f, 667, 3);
    seal_header(&mut f[..4096]);
}

/// A complete, clean 7.x log: header (8 sectors of 512 bytes), flush 1 at
/// sector 8 covering sectors 8–9 with the short checksum on, flush 2 at byte
/// 40 of sector 10 (cbBackwards 40), a shadow of sector 10 in sector 11, and
/// the 0xDA "log extend" pattern after the written data. 16 sectors = 8 KiB.
pub fn clean_log() -> Vec<u8> {
    let mut f = vec![0u8; 16 * SEC];
    for b in f[4096..].iter_mut() {
        *b = 0xDA;
    }
    header(&mut f);
    // flush 1: records 4118..5160
    begin0(&mut f, 4118, 0x101);
    trace(&mut f, 4126, 1021);
    commit0(&mut f, 5152, 0x102);
    // flush 2: records 5182..5212
    begin0(&mut f, 5182, 0x103);
    trace(&mut f, 5190, 9);
    commit0(&mut f, 5204, 0x104);
    lrck(&mut f, LRCK2, 40, 30, 0, false);
    lrck(&mut f, LRCK1, 0, 1002, (LRCK2 - LRCK1 - 22) as u32, true);
    // shadow of sector 10 into sector 11
    let (a, b) = f.split_at_mut(SHADOW);
    b[..SEC].copy_from_slice(&a[SHADOW - SEC..]);
    let at = SHADOW + (LRCK2 - (SHADOW - SEC)) + 13;
    let c = u32::from_le_bytes(f[at..at + 4].try_into().unwrap()) ^ 0x5AD0_5EC7;
    put32(&mut f, at, c);
    f
}

/// The clean log with a byte of flush 2 damaged (torn last write; the shadow
/// sector still verifies).
pub fn torn_log() -> Vec<u8> {
    let mut f = clean_log();
    f[5195] ^= 0x20;
    f
}

/// The torn log with its shadow sector damaged too (unrecoverable).
pub fn corrupt_log() -> Vec<u8> {
    let mut f = torn_log();
    f[SHADOW + 75] ^= 0x20;
    f
}
