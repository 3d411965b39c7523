//! Checksum verification of a transaction log file for `/k`: the log header
//! (legacy header checksum) and, for 8.x logs, every 4 KiB segment.
//!
//! Self-contained (it needs only the header parser and the page checksum) so
//! that it can sit beside a full log reader.
//!
//! Facts (`format-notes.md` §4.3, §4.5; `ese/_log/logread.cxx` ~1440–1640
//! `ErrLGCheckReadLastLogRecordFF`, `inc/_logstream.hxx` ~758–769):
//!
//! * segment i (i ≥ csecHeader) is bytes [4096·i, 4096·(i+1)); it is
//!   checksummed like a 4 KiB ECC database page with pgno = i (header-block
//!   flag set), so single-bit errors are located and correctable;
//! * a good segment carries lgposSegment (u16 ib, u16 isec, i32 gen at
//!   offset 8) equal to (gen, i, 0);
//! * segments csecHeader .. csecLGFile−2 are scanned (the last is never);
//! * classification: checksum ok with pgno i → good / stale (lgpos lower:
//!   end of data) / corrupt (lgpos higher, or good after empty); checksum ok
//!   with pgno i−1 → shadow copy (empty); all zero on a zero-filling version
//!   (≥ 8.4000.2) → empty; otherwise corrupt after an empty segment, torn
//!   (patchable) when segment i+1 is its shadow, else corrupt;
//! * the accumulated segment checksum is the XOR of the stored u64 checksums
//!   of the good segments, in file order.

use serde::Serialize;

use crate::checksum::{is_all_zero, verify_page, PageVerdict};
use crate::checksum::{legacy_header_checksum, stored_header_checksum};
use crate::error::FormatError;
use crate::parse::log_header::{parse_log_header_fields, LogHeader, LOG_HEADER_SIZE};
use crate::parse::primitives::Lgpos;
use crate::parse::{u16_at, u32_at, u64_at};

/// Size of an 8.x log segment.
pub const SEGMENT_SIZE: usize = 4096;

/// What a segment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentState {
    /// Verifies and belongs to this generation at this position.
    Good,
    /// Verifies but carries an older position: left from an earlier use of
    /// the file (end of data).
    Stale,
    /// Verifies as segment i−1: the shadow copy written ahead (end of data).
    Shadow,
    /// All zero (zero-filled log versions): end of data.
    Zero,
    /// Fails, but segment i+1 is its shadow: a torn last write that soft
    /// recovery patches.
    Torn,
    /// Damaged beyond repair.
    Corrupt,
}

/// A segment worth reporting (damaged, corrected, torn).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentReport {
    /// Segment index (isec).
    pub segment: u32,
    /// Log position of the problem: (gen, isec, byte offset of the flipped
    /// byte for a correctable segment, else 0).
    pub lgpos: String,
    /// Byte offset of the problem in the file.
    pub file_offset: u64,
    /// State.
    pub state: SegmentState,
    /// Set when exactly one flipped bit was located and the segment verifies
    /// once it is flipped back: bit inside the byte at `file_offset`.
    pub corrected_bit: Option<u8>,
    /// What is wrong.
    pub detail: String,
}

/// Overall verdict on the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogVerdict {
    /// Header and all scanned segments verify.
    Clean,
    /// Only a torn last write that recovery patches from the shadow segment.
    Patchable,
    /// Damaged (header or a segment).
    Corrupt,
    /// Header verifies; the data area was not verified (a sector size this
    /// module does not handle).
    HeaderOnly,
}

/// Result of verifying one log file.
#[derive(Debug, Clone, Serialize)]
pub struct LogIntegrity {
    /// Generation (from the header).
    pub generation: i32,
    /// Format version `major.minor.update_major.update_minor`.
    pub version: String,
    /// Stored header checksum.
    pub header_stored: u32,
    /// Computed header checksum.
    pub header_computed: u32,
    /// Whether the header checksum verifies.
    pub header_ok: bool,
    /// Segments scanned.
    pub segments_scanned: u32,
    /// Good segments.
    pub good_segments: u32,
    /// Stale, shadow or zero segments.
    pub empty_segments: u32,
    /// Good segments that needed a single-bit correction.
    pub corrected_segments: u32,
    /// Position just after the last good segment's start: (gen, isec, 0).
    pub last_good: Option<String>,
    /// First damaged position, as an LGPOS text `(0xGEN,ISEC,IB)`.
    pub first_damage: Option<String>,
    /// XOR of the stored checksums of the good segments.
    pub accumulated_checksum: String,
    /// Segments worth reporting.
    pub segments: Vec<SegmentReport>,
    /// True for the 7.x LRCHECKSUM format (major ≤ 7), false for 8.x segments.
    pub legacy_format: bool,
    /// 7.x only: LRCHECKSUM records verified along the chain.
    pub lrck_records: u32,
    /// 7.x only: end of the written data, as an LGPOS text.
    pub end_of_data: Option<String>,
    /// Overall verdict.
    pub verdict: LogVerdict,
}

fn lgpos_text(gen: i32, isec: u32, ib: u32) -> String {
    format!("(0x{gen:X},{isec:X},{ib:X})")
}

/// Whether this version zero-fills new logs (`FLGVersionZeroFilled`,
/// log.cxx ~1231: 8.4000.2 and later).
fn zero_filled(h: &LogHeader) -> bool {
    (h.major, h.minor, h.update_major) >= (8, 4000, 2)
}

fn segment_lgpos(seg: &[u8]) -> (i32, u16, u16) {
    (u32_at(seg, 12) as i32, u16_at(seg, 10), u16_at(seg, 8))
}

/// Verifies a log file. `read_segment(i)` returns the 4096 bytes at offset
/// 4096·i (fewer for a partial last piece, `None` beyond the end of the
/// file); piece 0 is the header. 7.x logs (major ≤ 7) are read whole into
/// memory (at most csecLGFile · cbSec bytes) and their LRCHECKSUM chain is
/// verified instead of segments.
pub fn verify_log(
    read_segment: &mut dyn FnMut(u32) -> Option<Vec<u8>>,
) -> Result<LogIntegrity, FormatError> {
    let head = read_segment(0).unwrap_or_default();
    let h = parse_log_header_fields(&head)?;
    let header_stored = stored_header_checksum(&head);
    let header_computed = legacy_header_checksum(&head[..LOG_HEADER_SIZE]);
    let header_ok = header_stored == header_computed;
    let gen = h.generation;
    let mut r = LogIntegrity {
        generation: gen,
        version: h.version_text(),
        header_stored,
        header_computed,
        header_ok,
        segments_scanned: 0,
        good_segments: 0,
        empty_segments: 0,
        corrected_segments: 0,
        last_good: None,
        first_damage: None,
        accumulated_checksum: format!("0x{:016x}", 0),
        segments: Vec::new(),
        legacy_format: h.is_legacy_format(),
        lrck_records: 0,
        end_of_data: None,
        verdict: LogVerdict::Clean,
    };
    if !header_ok {
        r.first_damage = Some(lgpos_text(gen, 0, 0));
        r.verdict = LogVerdict::Corrupt;
        return Ok(r);
    }
    if h.is_legacy_format() {
        let mut file = head;
        let mut i = 1;
        while let Some(seg) = read_segment(i) {
            let short = seg.len() < SEGMENT_SIZE;
            file.extend_from_slice(&seg);
            if short {
                break;
            }
            i += 1;
        }
        verify_lrck_chain(&file, &h, &mut r);
        return Ok(r);
    }
    if h.cb_sec as usize != SEGMENT_SIZE {
        r.verdict = LogVerdict::HeaderOnly;
        return Ok(r);
    }
    let first = (h.csec_header as u32).max(1);
    let end = (h.csec_lg_file as u32).saturating_sub(1); // last segment never scanned
    let mut acc = 0u64;
    let mut empty_seen = false;
    let mut last_stale_gen: Option<i32> = None;
    let damage = |r: &mut LogIntegrity, i: u32, state, detail: String| {
        r.first_damage.get_or_insert(lgpos_text(gen, i, 0));
        r.segments.push(SegmentReport {
            segment: i,
            lgpos: lgpos_text(gen, i, 0),
            file_offset: i as u64 * SEGMENT_SIZE as u64,
            state,
            corrected_bit: None,
            detail,
        });
    };
    let mut i = first;
    while i < end {
        let Some(seg) = read_segment(i).filter(|s| s.len() == SEGMENT_SIZE) else {
            damage(
                &mut r,
                i,
                SegmentState::Corrupt,
                "file ends before the last segment".into(),
            );
            r.verdict = LogVerdict::Corrupt;
            break;
        };
        r.segments_scanned += 1;
        let v = verify_page(&seg, i);
        let ok_here = matches!(v, PageVerdict::Ok { .. } | PageVerdict::Correctable { .. });
        if ok_here {
            let (sgen, sisec, sib) = segment_lgpos(&seg);
            let here = (sgen, sisec as u32, sib as u32);
            let expect = (gen, i, 0u32);
            if here < expect {
                empty_seen = true;
                r.empty_segments += 1;
                if last_stale_gen.is_some_and(|g| sgen > g) {
                    damage(
                        &mut r,
                        i,
                        SegmentState::Corrupt,
                        format!("stale segment generation {sgen} after an older one"),
                    );
                    r.verdict = LogVerdict::Corrupt;
                    break;
                }
                last_stale_gen = Some(sgen);
            } else if here > expect {
                damage(
                    &mut r,
                    i,
                    SegmentState::Corrupt,
                    format!(
                        "segment position {} is beyond its place",
                        lgpos_text(sgen, sisec as u32, sib as u32)
                    ),
                );
                r.verdict = LogVerdict::Corrupt;
                break;
            } else if empty_seen {
                damage(
                    &mut r,
                    i,
                    SegmentState::Corrupt,
                    "valid segment after the end of data".into(),
                );
                r.verdict = LogVerdict::Corrupt;
                break;
            } else {
                r.good_segments += 1;
                acc ^= u64_at(&seg, 0);
                r.last_good = Some(lgpos_text(gen, i, 0));
                if let PageVerdict::Correctable { bit, .. } = v {
                    r.corrected_segments += 1;
                    let ib = bit / 8;
                    r.segments.push(SegmentReport {
                        segment: i,
                        lgpos: lgpos_text(gen, i, ib),
                        file_offset: i as u64 * SEGMENT_SIZE as u64 + ib as u64,
                        state: SegmentState::Good,
                        corrected_bit: Some((bit % 8) as u8),
                        detail: format!(
                            "single flipped bit {} of byte {ib} (correctable)",
                            bit % 8
                        ),
                    });
                }
            }
        } else if (i > 0 && matches!(verify_page(&seg, i - 1), PageVerdict::Ok { .. }))
            || (zero_filled(&h) && is_all_zero(&seg))
        {
            // A shadow copy of segment i-1, or a zero-filled segment: end of data.
            empty_seen = true;
            r.empty_segments += 1;
        } else if empty_seen {
            damage(
                &mut r,
                i,
                SegmentState::Corrupt,
                "checksum mismatch after the end of data".into(),
            );
            r.verdict = LogVerdict::Corrupt;
            break;
        } else {
            let next_is_shadow = read_segment(i + 1).is_some_and(|n| {
                n.len() == SEGMENT_SIZE
                    && matches!(verify_page(&n, i), PageVerdict::Ok { .. })
                    && segment_lgpos(&n) == (gen, i as u16, 0)
            });
            if next_is_shadow {
                damage(
                    &mut r,
                    i,
                    SegmentState::Torn,
                    "torn write; the next segment holds its shadow copy (patchable)".into(),
                );
                r.verdict = LogVerdict::Patchable;
            } else {
                damage(
                    &mut r,
                    i,
                    SegmentState::Corrupt,
                    "segment checksum mismatch".into(),
                );
                r.verdict = LogVerdict::Corrupt;
            }
            break;
        }
        i += 1;
    }
    r.accumulated_checksum = format!("0x{acc:016x}");
    Ok(r)
}

// ------------------------------------------------------------------ 7.x

/// `lrtypChecksum` (logapi.hxx).
const LRTYP_CHECKSUM: u8 = 42;
/// Size of an LRCHECKSUM record.
const LRCK_SIZE: usize = 22;
/// `bShortChecksumOn` / `bShortChecksumOff` (logapi.hxx ~1855).
const SHORT_ON: u8 = 0x9A;
const SHORT_OFF: u8 = 0xD1;
/// Seeds and the shadow-sector marker (daedef.hxx ~2323–2325).
const LRCK_SEED: u32 = 0xFEED_BEAF;
const LRCK_SHORT_SEED: u32 = 0xDEAD_C0DE;
const SHADOW_SECTOR_CHECKSUM: u32 = 0x5AD0_5EC7;

/// `LGChecksum::UlChecksumBytes` (logread_legacy.cxx ~5243, naive form):
/// byte j of the range is XORed in at bit 8·(j mod 4), starting from `seed`.
fn lr_checksum_bytes(b: &[u8], seed: u32) -> u32 {
    let mut c = seed;
    let mut words = b.chunks_exact(4);
    for w in &mut words {
        c ^= u32::from_le_bytes(w.try_into().unwrap());
    }
    for (j, &x) in words.remainder().iter().enumerate() {
        c ^= (x as u32) << (8 * j);
    }
    c
}

/// One LRCHECKSUM record (logapi.hxx ~1859–1878).
#[derive(Debug, Clone, Copy)]
struct Lrck {
    lrtyp: u8,
    cb_backwards: u32,
    cb_forwards: u32,
    cb_next: u32,
    checksum: u32,
    short_checksum: u32,
    use_short: u8,
}

fn lrck_at(file: &[u8], pos: usize) -> Option<Lrck> {
    let b = file.get(pos..pos + LRCK_SIZE)?;
    Some(Lrck {
        lrtyp: b[0],
        cb_backwards: u32_at(b, 1),
        cb_forwards: u32_at(b, 5),
        cb_next: u32_at(b, 9),
        checksum: u32_at(b, 13),
        short_checksum: u32_at(b, 17),
        use_short: b[21],
    })
}

/// `UlComputeChecksum` / `UlComputeShortChecksum` (~4909–5030): the range
/// before the record, then after it (to `fwd_end`), then the fields and the
/// generation. `None` when a range leaves the file.
fn lrck_checksum(
    file: &[u8],
    pos: usize,
    l: &Lrck,
    gen: i32,
    seed: u32,
    fwd_end: usize,
) -> Option<u32> {
    let back = file.get(pos.checked_sub(l.cb_backwards as usize)?..pos)?;
    let fwd = file.get(pos + LRCK_SIZE..fwd_end)?;
    let mut c = lr_checksum_bytes(back, seed);
    c = lr_checksum_bytes(fwd, c);
    Some(c ^ l.cb_backwards ^ l.cb_forwards ^ l.cb_next ^ l.use_short as u32 ^ gen as u32)
}

/// `FValidLRCKRecord` (~42–300): structure, short checksum, ranges.
fn lrck_valid_record(file: &[u8], pos: usize, l: &Lrck, sec: usize, gen: i32) -> bool {
    if l.lrtyp != LRTYP_CHECKSUM || l.cb_backwards as usize > sec - LRCK_SIZE {
        return false;
    }
    let ib = pos % sec;
    let multisector = match l.use_short {
        SHORT_ON => {
            let sector_end = pos - ib + sec;
            if lrck_checksum(file, pos, l, gen, LRCK_SHORT_SEED, sector_end)
                != Some(l.short_checksum)
            {
                return false;
            }
            true
        }
        SHORT_OFF => {
            if l.short_checksum != 0 {
                return false;
            }
            false
        }
        _ => return false,
    };
    if l.cb_backwards != 0 && l.cb_backwards as usize != ib {
        return false;
    }
    if pos + LRCK_SIZE + l.cb_forwards as usize > file.len() {
        return false;
    }
    let range_bwd = l.cb_backwards as usize + LRCK_SIZE + l.cb_forwards as usize;
    if range_bwd > sec && (!multisector || (range_bwd % sec != 0 && l.cb_backwards != 0)) {
        return false;
    }
    let range = ib + LRCK_SIZE + l.cb_forwards as usize;
    if range > sec {
        if !multisector || range % sec != 0 {
            return false;
        }
    } else if multisector {
        return false;
    }
    if l.cb_next != 0 {
        if range < sec || range % sec != 0 {
            return false;
        }
        let next = pos + LRCK_SIZE + l.cb_next as usize;
        if next / sec != pos / sec + range / sec {
            return false;
        }
    }
    true
}

/// Verifies the 7.x LRCHECKSUM chain (`format-notes.md` §4.6): from the
/// first record at the start of the data area, follow `cbNext` until a
/// record with `cbNext = 0`; a record that fails is a torn last flush when
/// the next sector holds a valid shadow of it (patchable), else corruption.
fn verify_lrck_chain(file: &[u8], h: &LogHeader, r: &mut LogIntegrity) {
    let sec = h.cb_sec as usize;
    let gen = h.generation;
    let pos_text = |p: usize| lgpos_text(gen, (p / sec) as u32, (p % sec) as u32);
    let mut pos = h.csec_header as usize * sec;
    loop {
        let rec = lrck_at(file, pos);
        let good = rec.is_some_and(|l| {
            lrck_valid_record(file, pos, &l, sec, gen)
                && lrck_checksum(
                    file,
                    pos,
                    &l,
                    gen,
                    LRCK_SEED,
                    pos + LRCK_SIZE + l.cb_forwards as usize,
                ) == Some(l.checksum)
        });
        if good {
            let l = rec.unwrap();
            r.lrck_records += 1;
            r.last_good = Some(pos_text(pos));
            if l.cb_next == 0 {
                r.end_of_data = Some(pos_text(pos + LRCK_SIZE + l.cb_forwards as usize));
                r.verdict = LogVerdict::Clean;
                return;
            }
            pos += LRCK_SIZE + l.cb_next as usize;
            continue;
        }
        // `FValidLRCKShadow`: the same record one sector further on.
        let shadow = pos + sec;
        let shadow_ok = lrck_at(file, shadow).is_some_and(|l| {
            lrck_valid_record(file, shadow, &l, sec, gen)
                && l.use_short == SHORT_OFF
                && l.cb_next == 0
                && lrck_checksum(
                    file,
                    shadow,
                    &l,
                    gen,
                    LRCK_SEED,
                    shadow + LRCK_SIZE + l.cb_forwards as usize,
                )
                .map(|c| c ^ SHADOW_SECTOR_CHECKSUM)
                    == Some(l.checksum)
        });
        let (state, verdict, detail) = if shadow_ok {
            (
                SegmentState::Torn,
                LogVerdict::Patchable,
                "LRCHECKSUM range fails; the next sector holds its shadow (torn last flush, patchable)",
            )
        } else {
            (
                SegmentState::Corrupt,
                LogVerdict::Corrupt,
                "LRCHECKSUM record or range checksum invalid",
            )
        };
        r.first_damage = Some(pos_text(pos));
        r.segments.push(SegmentReport {
            segment: (pos / sec) as u32,
            lgpos: pos_text(pos),
            file_offset: pos as u64,
            state,
            corrected_bit: None,
            detail: detail.into(),
        });
        r.verdict = verdict;
        return;
    }
}

/// [`verify_log`] over a whole file held in memory.
pub fn verify_log_bytes(file: &[u8]) -> Result<LogIntegrity, FormatError> {
    verify_log(&mut |i| {
        let off = i as usize * SEGMENT_SIZE;
        if off >= file.len() {
            return None;
        }
        Some(file[off..(off + SEGMENT_SIZE).min(file.len())].to_vec())
    })
}

/// An LGPOS as `(0xGEN,ISEC,IB)` text.
pub fn format_lgpos(l: &Lgpos) -> String {
    lgpos_text(l.generation, l.sector as u32, l.offset as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::{seal_header, seal_page, FLAG_NEW_CHECKSUM};

    /// Builds an 8.x log of `nseg` segments with `good` written segments.
    fn log(nseg: u16, good: u32) -> Vec<u8> {
        let mut f = vec![0u8; nseg as usize * SEGMENT_SIZE];
        let h = &mut f[..SEGMENT_SIZE];
        h[4..8].copy_from_slice(&7i32.to_le_bytes()); // generation
        h[8..10].copy_from_slice(&4096u16.to_le_bytes()); // cbSec
        h[10..12].copy_from_slice(&1u16.to_le_bytes()); // csecHeader
        h[12..14].copy_from_slice(&nseg.to_le_bytes()); // csecLGFile
        h[667..671].copy_from_slice(&3u32.to_le_bytes());
        set_version(h);
        seal_header(h);
        for i in 1..=good {
            let s = &mut f[i as usize * SEGMENT_SIZE..(i as usize + 1) * SEGMENT_SIZE];
            s[8..10].copy_from_slice(&0u16.to_le_bytes());
            s[10..12].copy_from_slice(&(i as u16).to_le_bytes());
            s[12..16].copy_from_slice(&7i32.to_le_bytes());
            s[36..40].copy_from_slice(&FLAG_NEW_CHECKSUM.to_le_bytes());
            for (k, b) in s[40..].iter_mut().enumerate() {
                *b = (k as u32 * 13 + i) as u8;
            }
            seal_page(s, i);
        }
        f
    }

    fn set_version(h: &mut [u8]) {
        // major, minor, update major at 32, 36, 40 (LGFILEHDR, §4.3)
        h[32..36].copy_from_slice(&8u32.to_le_bytes());
        h[36..40].copy_from_slice(&4000u32.to_le_bytes());
        h[40..44].copy_from_slice(&60u32.to_le_bytes());
    }

    #[test]
    fn clean_log_and_accumulated_checksum() {
        let f = log(16, 5);
        let r = verify_log_bytes(&f).unwrap();
        assert_eq!(r.verdict, LogVerdict::Clean, "{r:?}");
        assert_eq!(r.good_segments, 5);
        assert_eq!(r.empty_segments, 9);
        let acc = (1..=5).fold(0u64, |a, i| a ^ u64_at(&f, i * SEGMENT_SIZE));
        assert_eq!(r.accumulated_checksum, format!("0x{acc:016x}"));
        assert_eq!(r.last_good.as_deref(), Some("(0x7,5,0)"));
    }

    #[test]
    fn flipped_bit_is_located_and_double_flip_is_corrupt() {
        let mut f = log(16, 5);
        f[3 * SEGMENT_SIZE + 1234] ^= 0x20;
        let r = verify_log_bytes(&f).unwrap();
        assert_eq!(r.verdict, LogVerdict::Clean);
        assert_eq!(r.corrected_segments, 1);
        assert_eq!(r.segments[0].lgpos, "(0x7,3,4D2)");
        assert_eq!(r.segments[0].corrected_bit, Some(5));
        f[3 * SEGMENT_SIZE + 2000] ^= 0x1;
        let r = verify_log_bytes(&f).unwrap();
        assert_eq!(r.verdict, LogVerdict::Corrupt);
        assert_eq!(r.first_damage.as_deref(), Some("(0x7,3,0)"));
    }

    #[test]
    fn shadow_and_torn() {
        let mut f = log(16, 5);
        // segment 6 = shadow of 5 (checksummed as 5): end of data
        let s5 = f[5 * SEGMENT_SIZE..6 * SEGMENT_SIZE].to_vec();
        f[6 * SEGMENT_SIZE..7 * SEGMENT_SIZE].copy_from_slice(&s5);
        let r = verify_log_bytes(&f).unwrap();
        assert_eq!(r.verdict, LogVerdict::Clean);
        assert_eq!(r.good_segments, 5);
        // tear segment 5: its shadow (segment 6) makes it patchable
        f[5 * SEGMENT_SIZE + 3000] ^= 0xFF;
        let r = verify_log_bytes(&f).unwrap();
        assert_eq!(r.verdict, LogVerdict::Patchable);
        assert_eq!(r.first_damage.as_deref(), Some("(0x7,5,0)"));
    }

    /// Builds a 7.x log byte by byte: 512-byte sectors, header in sectors
    /// 0–7, two flushes: a 2-sector flush (short checksum on) at sector 8
    /// and a single-sector flush at sector 10, offset 40 (cbBackwards 40).
    fn log7() -> Vec<u8> {
        const SEC: usize = 512;
        let gen = 5i32;
        let mut f = vec![0u8; 64 * SEC];
        {
            let h = &mut f[..4096];
            h[4..8].copy_from_slice(&gen.to_le_bytes());
            h[8..10].copy_from_slice(&(SEC as u16).to_le_bytes());
            h[10..12].copy_from_slice(&8u16.to_le_bytes());
            h[12..14].copy_from_slice(&64u16.to_le_bytes());
            h[32..36].copy_from_slice(&7u32.to_le_bytes());
            h[36..40].copy_from_slice(&3704u32.to_le_bytes());
            h[40..44].copy_from_slice(&15u32.to_le_bytes());
            h[667..671].copy_from_slice(&3u32.to_le_bytes());
            seal_header(h);
        }
        for (k, b) in f[4096..11 * SEC].iter_mut().enumerate() {
            *b = (k * 7 + 3) as u8;
        }
        let put = |f: &mut Vec<u8>, pos: usize, l: Lrck, gen: i32| {
            f[pos] = l.lrtyp;
            f[pos + 1..pos + 5].copy_from_slice(&l.cb_backwards.to_le_bytes());
            f[pos + 5..pos + 9].copy_from_slice(&l.cb_forwards.to_le_bytes());
            f[pos + 9..pos + 13].copy_from_slice(&l.cb_next.to_le_bytes());
            f[pos + 21] = l.use_short;
            let short = if l.use_short == SHORT_ON {
                lrck_checksum(f, pos, &l, gen, LRCK_SHORT_SEED, pos - pos % SEC + SEC).unwrap()
            } else {
                0
            };
            f[pos + 17..pos + 21].copy_from_slice(&short.to_le_bytes());
            let c = lrck_checksum(
                f,
                pos,
                &l,
                gen,
                LRCK_SEED,
                pos + LRCK_SIZE + l.cb_forwards as usize,
            )
            .unwrap();
            f[pos + 13..pos + 17].copy_from_slice(&c.to_le_bytes());
        };
        let p1 = 8 * SEC;
        let p2 = 10 * SEC + 40;
        let l1 = Lrck {
            lrtyp: LRTYP_CHECKSUM,
            cb_backwards: 0,
            cb_forwards: (2 * SEC - LRCK_SIZE) as u32,
            cb_next: (p2 - p1 - LRCK_SIZE) as u32,
            checksum: 0,
            short_checksum: 0,
            use_short: SHORT_ON,
        };
        let l2 = Lrck {
            lrtyp: LRTYP_CHECKSUM,
            cb_backwards: 40,
            cb_forwards: 200,
            cb_next: 0,
            checksum: 0,
            short_checksum: 0,
            use_short: SHORT_OFF,
        };
        put(&mut f, p2, l2, gen);
        put(&mut f, p1, l1, gen);
        f
    }

    #[test]
    fn lrck_chain_verifies() {
        let f = log7();
        let r = verify_log_bytes(&f).unwrap();
        assert_eq!(r.verdict, LogVerdict::Clean, "{r:?}");
        assert_eq!(r.lrck_records, 2);
        assert_eq!(r.end_of_data.as_deref(), Some("(0x5,A,106)"));
        // the naive byte checksum: positions restart at 0 for each range
        assert_eq!(lr_checksum_bytes(&[1, 2, 3, 4, 5], 0), 0x0403_0201 ^ 5);
    }

    #[test]
    fn lrck_damage_is_located() {
        // a flipped byte in the second sector of flush 1: its short checksum
        // still verifies, its range checksum does not, no shadow: corrupt
        let mut f = log7();
        f[9 * 512 + 100] ^= 0x10;
        let r = verify_log_bytes(&f).unwrap();
        assert_eq!(r.verdict, LogVerdict::Corrupt);
        assert_eq!(r.first_damage.as_deref(), Some("(0x5,8,0)"));
        // torn last flush with a shadow copy of its sector in the next one
        let mut f = log7();
        let p2 = 10 * 512 + 40;
        let sector: Vec<u8> = f[10 * 512..11 * 512].to_vec();
        f[11 * 512..12 * 512].copy_from_slice(&sector);
        let c = u32_at(&f, 11 * 512 + 40 + 13) ^ SHADOW_SECTOR_CHECKSUM;
        f[11 * 512 + 40 + 13..11 * 512 + 40 + 17].copy_from_slice(&c.to_le_bytes());
        assert_eq!(verify_log_bytes(&f).unwrap().verdict, LogVerdict::Clean);
        f[p2 + 30] ^= 1;
        let r = verify_log_bytes(&f).unwrap();
        assert_eq!(r.verdict, LogVerdict::Patchable, "{r:?}");
        assert_eq!(r.first_damage.as_deref(), Some("(0x5,A,28)"));
    }
}
