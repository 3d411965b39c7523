//! Integrity scan of a 7.x log file: the LRCHECKSUM chain.
//!
//! Every flush of a 7.x log starts with an LRCHECKSUM record (lrtyp 42,
//! 22 bytes) covering the bytes before it in its sector (`cbBackwards`) and
//! the flush after it (`cbForwards`); `cbNext` leads to the next one. A shadow
//! copy of the last partial sector is written into the following sector with
//! its checksum XORed with 0x5AD05EC7.
//!
//! Facts: `inc/logapi.hxx` ~1859–1878 (LRCHECKSUM layout),
//! `ese/_log/logread_legacy.cxx` ~42–355 (`FValidLRCKRecord`,
//! `FValidLRCKShadow`), ~4909–5030 (`UlComputeChecksum`,
//! `UlComputeShortChecksum`), ~5243–5330 (`UlChecksumBytesSlow`),
//! `inc/daedef.hxx` ~2323–2325 (seeds and the shadow constant); docs/format/logs.md §6.

use serde::Serialize;

use crate::parse::u32_at;

/// lrtyp of LRCHECKSUM.
pub const LRTYP_CHECKSUM: u8 = 42;
/// Size of an LRCHECKSUM record.
pub const LRCK_SIZE: usize = 22;
/// Seed of the range checksum (`ulLRCKChecksumSeed`).
pub const RANGE_SEED: u32 = 0xFEED_BEAF;
/// Seed of the short checksum (`ulLRCKShortChecksumSeed`).
pub const SHORT_SEED: u32 = 0xDEAD_C0DE;
/// XORed into a shadow sector's checksum (`ulShadowSectorChecksum`).
pub const SHADOW_XOR: u32 = 0x5AD0_5EC7;
/// `bUseShortChecksum` value "on".
pub const SHORT_ON: u8 = 0x9A;
/// `bUseShortChecksum` value "off".
pub const SHORT_OFF: u8 = 0xD1;

/// A decoded LRCHECKSUM record.
#[doc(alias = "LRCHECKSUM")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LrChecksum {
    /// Absolute file offset of the record.
    pub offset: u64,
    /// @1 bytes covered before the record.
    pub cb_backwards: u32,
    /// @5 bytes covered after the record.
    pub cb_forwards: u32,
    /// @9 distance from the end of this record to the next LRCHECKSUM (0 = last).
    pub cb_next: u32,
    /// @13 range checksum.
    pub checksum: u32,
    /// @17 short (one-sector) checksum.
    pub short_checksum: u32,
    /// @21 0x9A short checksum on, 0xD1 off.
    pub use_short: u8,
}

/// Decodes the LRCHECKSUM at `b[0..22]` (caller checks the length).
pub fn lr_checksum(b: &[u8], offset: u64) -> LrChecksum {
    LrChecksum {
        offset,
        cb_backwards: u32_at(b, 1),
        cb_forwards: u32_at(b, 5),
        cb_next: u32_at(b, 9),
        checksum: u32_at(b, 13),
        short_checksum: u32_at(b, 17),
        use_short: b[21],
    }
}

/// `UlChecksumBytes`: XOR each byte, shifted by 8·(position mod 4) with the
/// position relative to the start of the range, into `seed`.
pub fn checksum_bytes(b: &[u8], seed: u32) -> u32 {
    let mut words = b.chunks_exact(4);
    let mut acc = seed;
    for w in &mut words {
        acc ^= u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
    }
    for (k, &x) in words.remainder().iter().enumerate() {
        acc ^= (x as u32) << (8 * k);
    }
    acc
}

fn fold(r: &LrChecksum, c: u32, generation: u32) -> u32 {
    c ^ r.cb_backwards ^ r.cb_forwards ^ r.cb_next ^ r.use_short as u32 ^ generation
}

/// `UlComputeChecksum`: the range checksum of the record at `r.offset`.
/// Returns `None` when the range leaves the file.
pub fn range_checksum(file: &[u8], r: &LrChecksum, generation: u32) -> Option<u32> {
    let pos = r.offset as usize;
    let back = pos.checked_sub(r.cb_backwards as usize)?;
    let fwd_end = pos + LRCK_SIZE + r.cb_forwards as usize;
    if fwd_end > file.len() {
        return None;
    }
    let c = checksum_bytes(&file[back..pos], RANGE_SEED);
    let c = checksum_bytes(&file[pos + LRCK_SIZE..fwd_end], c);
    Some(fold(r, c, generation))
}

/// `UlComputeShortChecksum`: like the range checksum but forward only to the
/// end of the sector that holds the record.
pub fn short_checksum(file: &[u8], r: &LrChecksum, generation: u32, cb_sec: usize) -> Option<u32> {
    let pos = r.offset as usize;
    let back = pos.checked_sub(r.cb_backwards as usize)?;
    let sec_end = (pos / cb_sec + 1) * cb_sec;
    if sec_end > file.len() || pos + LRCK_SIZE > sec_end {
        return None;
    }
    let c = checksum_bytes(&file[back..pos], SHORT_SEED);
    let c = checksum_bytes(&file[pos + LRCK_SIZE..sec_end], c);
    Some(fold(r, c, generation))
}

/// Why an LRCHECKSUM at a position is not valid (None = valid).
fn invalid_reason(file: &[u8], r: &LrChecksum, gen: u32, cb_sec: usize) -> Option<&'static str> {
    let pos = r.offset as usize;
    let in_sec = pos % cb_sec;
    if file[pos] != LRTYP_CHECKSUM {
        return Some("no LRCHECKSUM record at the expected position");
    }
    if r.cb_backwards as usize > cb_sec - LRCK_SIZE
        || (r.cb_backwards != 0 && r.cb_backwards as usize != in_sec)
    {
        return Some("LRCHECKSUM backward range is invalid");
    }
    let end = pos + LRCK_SIZE + r.cb_forwards as usize;
    if end > file.len() {
        return Some("LRCHECKSUM range passes the end of the file");
    }
    let single_sector = end <= (pos / cb_sec + 1) * cb_sec;
    match r.use_short {
        SHORT_ON => {
            if single_sector {
                return Some("short checksum used on a single-sector range");
            }
            if short_checksum(file, r, gen, cb_sec) != Some(r.short_checksum) {
                return Some("LRCHECKSUM short checksum mismatch");
            }
        }
        SHORT_OFF => {
            if r.short_checksum != 0 {
                return Some("unused short checksum is not zero");
            }
            if !single_sector {
                return Some("multi-sector range without short checksum");
            }
        }
        _ => return Some("LRCHECKSUM short-checksum flag is invalid"),
    }
    if r.cb_next != 0 {
        if end % cb_sec != 0 {
            return Some("LRCHECKSUM range does not end on a sector boundary");
        }
        let next = pos + LRCK_SIZE + r.cb_next as usize;
        if next / cb_sec != end / cb_sec {
            return Some("next LRCHECKSUM is not in the sector after the range");
        }
    }
    if range_checksum(file, r, gen) != Some(r.checksum) {
        return Some("LRCHECKSUM range checksum mismatch");
    }
    None
}

/// Whether the record at `pos` is a valid shadow-sector LRCHECKSUM
/// (`FValidLRCKShadow`): short checksum off, cbNext 0, range within the
/// sector, checksum = range checksum ^ 0x5AD05EC7.
fn valid_shadow(file: &[u8], pos: usize, gen: u32, cb_sec: usize) -> bool {
    if pos + LRCK_SIZE > file.len() || file[pos] != LRTYP_CHECKSUM {
        return false;
    }
    let r = lr_checksum(&file[pos..], pos as u64);
    let end = pos + LRCK_SIZE + r.cb_forwards as usize;
    r.use_short == SHORT_OFF
        && r.cb_next == 0
        && r.short_checksum == 0
        && (r.cb_backwards == 0 || r.cb_backwards as usize == pos % cb_sec)
        && end <= (pos / cb_sec + 1) * cb_sec
        && range_checksum(file, &r, gen) == Some(r.checksum ^ SHADOW_XOR)
}

/// Verdict of a 7.x chain walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum LrckOutcome {
    /// The chain verifies up to a record with cbNext = 0.
    Clean,
    /// The last flush is torn but its shadow sector verifies: soft recovery
    /// would patch it (logread_legacy.cxx ~1200–1280).
    Patchable {
        /// Offset of the damaged LRCHECKSUM.
        offset: u64,
    },
    /// The chain is broken (`JET_errLogFileCorrupt`, -501).
    Corrupt {
        /// Offset of the bad LRCHECKSUM.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

/// Result of walking the LRCHECKSUM chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LrckScan {
    /// Every verified LRCHECKSUM in file order.
    pub chain: Vec<LrChecksum>,
    /// End of written (verified) data: absolute file offset.
    pub end_offset: u64,
    /// Verdict.
    pub outcome: LrckOutcome,
}

/// Walks the chain of a 7.x log (`file` = the whole file) starting at
/// `csec_header · cb_sec`.
pub fn scan_lrck(file: &[u8], generation: i32, cb_sec: u16, csec_header: u16) -> LrckScan {
    let cb_sec = cb_sec as usize;
    let gen = generation as u32;
    let mut pos = csec_header as usize * cb_sec;
    let mut s = LrckScan {
        chain: Vec::new(),
        end_offset: pos as u64,
        outcome: LrckOutcome::Clean,
    };
    loop {
        if pos + LRCK_SIZE > file.len() {
            s.outcome = LrckOutcome::Corrupt {
                offset: pos as u64,
                reason: "LRCHECKSUM chain runs past the end of the file".into(),
            };
            return s;
        }
        let r = lr_checksum(&file[pos..], pos as u64);
        if let Some(why) = invalid_reason(file, &r, gen, cb_sec) {
            if valid_shadow(file, pos + cb_sec, gen, cb_sec) {
                s.outcome = LrckOutcome::Patchable { offset: pos as u64 };
            } else {
                s.outcome = LrckOutcome::Corrupt {
                    offset: pos as u64,
                    reason: why.into(),
                };
            }
            return s;
        }
        s.chain.push(r);
        s.end_offset = (pos + LRCK_SIZE + r.cb_forwards as usize) as u64;
        if r.cb_next == 0 {
            return s;
        }
        pos += LRCK_SIZE + r.cb_next as usize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::fixture7::*;

    #[test]
    fn word_and_byte_checksums_agree() {
        let b: Vec<u8> = (0..37u8).map(|x| x.wrapping_mul(77)).collect();
        for n in 0..b.len() {
            let mut c = RANGE_SEED;
            for (j, &x) in b[..n].iter().enumerate() {
                c ^= (x as u32) << (8 * (j % 4));
            }
            assert_eq!(checksum_bytes(&b[..n], RANGE_SEED), c);
        }
    }

    #[test]
    fn clean_chain() {
        let f = clean_log();
        let s = scan_lrck(&f, GEN as i32, SEC as u16, 8);
        assert_eq!(s.outcome, LrckOutcome::Clean);
        assert_eq!(s.chain.len(), 2);
        assert_eq!(s.chain[0].use_short, SHORT_ON);
        assert_eq!(s.chain[1].cb_backwards, 40);
        assert_eq!(s.end_offset, END as u64);
    }

    #[test]
    fn generation_is_part_of_the_checksum() {
        let f = clean_log();
        let s = scan_lrck(&f, GEN as i32 + 1, SEC as u16, 8);
        assert!(matches!(
            s.outcome,
            LrckOutcome::Corrupt { offset: 4096, .. }
        ));
    }

    #[test]
    fn short_checksum_guards_first_sector() {
        let mut f = clean_log();
        f[4200] ^= 1; // inside sector 8: both checksums break
        let s = scan_lrck(&f, GEN as i32, SEC as u16, 8);
        match s.outcome {
            LrckOutcome::Corrupt { offset, reason } => {
                assert_eq!(offset, 4096);
                assert!(reason.contains("short"), "{reason}");
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn range_checksum_guards_later_sectors() {
        // a flipped byte in the second sector of flush 1: the short checksum
        // (first sector only) still verifies, the range checksum does not,
        // and no shadow follows: corrupt at the first record
        let mut f = clean_log();
        f[9 * SEC + 100] ^= 0x10;
        let s = scan_lrck(&f, GEN as i32, SEC as u16, 8);
        match s.outcome {
            LrckOutcome::Corrupt { offset, reason } => {
                assert_eq!(offset, LRCK1 as u64);
                assert!(reason.contains("range checksum"), "{reason}");
            }
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn torn_last_flush_is_patchable() {
        let s = scan_lrck(&torn_log(), GEN as i32, SEC as u16, 8);
        assert_eq!(
            s.outcome,
            LrckOutcome::Patchable {
                offset: LRCK2 as u64
            }
        );
        assert_eq!(s.chain.len(), 1);
    }

    #[test]
    fn torn_without_shadow_is_corrupt() {
        let s = scan_lrck(&corrupt_log(), GEN as i32, SEC as u16, 8);
        assert!(matches!(s.outcome, LrckOutcome::Corrupt { offset, .. } if offset == LRCK2 as u64));
    }
}
