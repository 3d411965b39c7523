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
    /// Header verifies; segment verification of this format is not
    /// implemented (7.x LRCHECKSUM chain).
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

/// Verifies a log file. `read_segment(i)` returns the 4096 bytes of segment
/// `i` (`None` beyond the end of the file); segment 0 is the header.
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
        verdict: LogVerdict::Clean,
    };
    if !header_ok {
        r.first_damage = Some(lgpos_text(gen, 0, 0));
        r.verdict = LogVerdict::Corrupt;
        return Ok(r);
    }
    if h.is_legacy_format() || h.cb_sec as usize != SEGMENT_SIZE {
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
        let Some(seg) = read_segment(i) else {
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
                matches!(verify_page(&n, i), PageVerdict::Ok { .. })
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

/// [`verify_log`] over a whole file held in memory.
pub fn verify_log_bytes(file: &[u8]) -> Result<LogIntegrity, FormatError> {
    verify_log(&mut |i| {
        let off = i as usize * SEGMENT_SIZE;
        file.get(off..off + SEGMENT_SIZE).map(|s| s.to_vec())
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
}
