//! Integrity scan of an 8.x log file: every 4 KiB segment after the header
//! carries a 40-byte LGSEGHDR and is checksummed like a 4 KiB database page
//! whose page number is the segment index.
//!
//! Facts: `inc/_logstream.hxx` ~12–25 (LGSEGHDR), `inc/_osu/checksumu.hxx`
//! ~44–50 (`logfilePage` checksums as `databasePage`),
//! `ese/_log/logread.cxx` ~1440–1700 (`ErrLGCheckReadLastLogRecordFF`: the
//! classification below, the shadow segment and the accumulated checksum) and
//! ~1845 (end position = segment after the last valid one, offset 0);
//! docs/format/logs.md §5.

use serde::Serialize;

use crate::checksum::{correctable_bit, ecc_block_checksum, NEW_CHECKSUM_FLAG_BIT};
use crate::parse::primitives::{Lgpos, LogTime};
use crate::parse::{u16_at, u32_at, u64_at};

/// Size of an 8.x segment.
pub const SEGMENT_SIZE: usize = 4096;
/// Size of the segment header (LGSEGHDR).
pub const SEGMENT_HEADER_SIZE: usize = 40;

/// The decoded LGSEGHDR of a segment (`inc/_logstream.hxx` ~12–25).
#[doc(alias = "LGSEGHDR")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SegmentHeader {
    /// @0 stored 64-bit XOR+ECC checksum.
    pub checksum: u64,
    /// @8 position the segment was written for.
    pub lgpos: Lgpos,
    /// @16 time the segment was started.
    pub time: LogTime,
    /// @36 flags (0x2000 = new checksum format).
    pub flags: u32,
}

/// Decodes the segment header at the start of `seg` (≥ 40 bytes).
pub fn segment_header(seg: &[u8]) -> SegmentHeader {
    let mut t = [0u8; 8];
    t.copy_from_slice(&seg[16..24]);
    SegmentHeader {
        checksum: u64_at(seg, 0),
        lgpos: Lgpos {
            offset: u16_at(seg, 8),
            sector: u16_at(seg, 10),
            generation: u32_at(seg, 12) as i32,
        },
        time: LogTime { raw: t },
        flags: u32_at(seg, 36),
    }
}

/// How one segment was classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentClass {
    /// Checksum and lgpos verify: written for this generation.
    Good,
    /// Verifies but carries an older lgpos: left from an earlier use of the file.
    Stale,
    /// Verifies only as the shadow copy of the previous segment.
    Shadow,
    /// All zero (versions that zero-fill).
    Zero,
}

/// Why the scan stopped with damage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum SegmentOutcome {
    /// Every scanned segment is good, stale, shadow or zero.
    Clean,
    /// Segment `segment` is torn but the next segment holds its shadow copy:
    /// soft recovery would patch it (logread.cxx ~1560–1600).
    Patchable {
        /// The torn segment.
        segment: u16,
    },
    /// Segment `segment` is damaged (`JET_errLogFileCorrupt`, -501).
    Corrupt {
        /// The damaged segment.
        segment: u16,
        /// Engine reason (eLC… in logread.cxx), as text.
        reason: String,
    },
}

/// A single-bit error the checksum located and corrected (in memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CorrectedBit {
    /// Segment index.
    pub segment: u16,
    /// Bit index inside the segment.
    pub bit: u32,
    /// What the corrected segment turned out to be (good or stale); `None`
    /// when it is the damaged segment of a `Corrupt` outcome. Not in the
    /// `/ml` JSON; `/k` reports it per segment.
    #[serde(skip)]
    pub class: Option<SegmentClass>,
}

impl CorrectedBit {
    /// Byte offset of the flipped byte inside its segment.
    pub fn byte(&self) -> u32 {
        self.bit / 8
    }

    /// The flipped bit inside that byte.
    pub fn bit_in_byte(&self) -> u8 {
        (self.bit % 8) as u8
    }
}

/// Result of scanning the segments of one 8.x log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentScan {
    /// Segments examined (csecHeader .. csecLGFile−2, the last is never scanned).
    pub scanned: u32,
    /// Good data segments.
    pub good: u32,
    /// Stale segments.
    pub stale: u32,
    /// Shadow segments.
    pub shadow: u32,
    /// Zero-filled segments.
    pub zero: u32,
    /// Index of the last good segment, if any.
    pub last_good_segment: Option<u16>,
    /// Start time of the last good segment.
    pub last_segment_time: Option<LogTime>,
    /// XOR of the stored checksums of all good segments (`AccumulateSectorChecksum`).
    pub accumulated_checksum: u64,
    /// eseutil's "Last Lgpos": (generation, last good segment + 1, 0).
    pub end: Lgpos,
    /// Corrected single-bit errors.
    pub corrected: Vec<CorrectedBit>,
    /// Verdict.
    pub outcome: SegmentOutcome,
}

/// Whether every byte of `b` is zero (256-byte blocks OR-folded, which the
/// compiler vectorises, instead of a byte-by-byte early exit).
fn is_zero(b: &[u8]) -> bool {
    b.chunks(256)
        .all(|c| c.iter().fold(0u8, |a, &x| a | x) == 0)
}

/// Checks `seg` as a log page numbered `pgno`; returns whether it verifies
/// and, when a single data bit was wrong, its index.
fn check(seg: &[u8], pgno: u32) -> (bool, Option<u32>) {
    let stored = u64_at(seg, 0);
    // An all-zero block has no set column and no odd row: its ECC part is 0
    // and its XOR part is the page number alone (see `finish_ecc`), so the
    // unwritten tail of a log costs no checksum pass.
    let computed = if is_zero(seg) {
        pgno as u64
    } else {
        ecc_block_checksum(seg, pgno, true)
    };
    if stored == computed {
        return (true, None);
    }
    match correctable_bit(stored, computed, seg.len()) {
        Some(bit) if bit >= 64 && bit != NEW_CHECKSUM_FLAG_BIT => {
            let mut copy = seg.to_vec();
            copy[(bit / 8) as usize] ^= 1 << (bit % 8);
            (ecc_block_checksum(&copy, pgno, true) == stored, Some(bit))
        }
        _ => (false, None),
    }
}

/// Scans the segments of an 8.x log held in `file` (the whole file, header
/// included). `zero_filled` says whether the writer's version zero-fills
/// unused space (≥ 8.4000.2, `FLGVersionZeroFilled` log.cxx ~1231).
/// Segments past the end of a short file are reported as corrupt.
pub fn scan_segments(
    file: &mut [u8],
    generation: i32,
    csec_header: u16,
    csec_lg_file: u16,
    zero_filled: bool,
) -> SegmentScan {
    let mut sc = SegmentScanner {
        generation,
        csec_header,
        zero_filled,
        empty_seen: false,
        s: SegmentScan {
            scanned: 0,
            good: 0,
            stale: 0,
            shadow: 0,
            zero: 0,
            last_good_segment: None,
            last_segment_time: None,
            accumulated_checksum: 0,
            end: Lgpos {
                generation,
                sector: csec_header,
                offset: 0,
            },
            corrected: Vec::new(),
            outcome: SegmentOutcome::Clean,
        },
    };
    for i in csec_header..csec_lg_file.saturating_sub(1) {
        let off = i as usize * SEGMENT_SIZE;
        if off + SEGMENT_SIZE > file.len() {
            sc.corrupt(i, "segment lies past the end of the file");
            break;
        }
        sc.s.scanned += 1;
        let step = match check(&file[off..off + SEGMENT_SIZE], i as u32) {
            (true, bit) => sc.verified(file, i, bit),
            (false, _) => sc.failed(file, i),
        };
        if step == Step::Stop {
            break;
        }
    }
    sc.s
}

/// Whether the segment scan goes on after one segment.
#[derive(PartialEq, Eq)]
enum Step {
    Next,
    Stop,
}

/// The state of one segment scan.
struct SegmentScanner {
    generation: i32,
    csec_header: u16,
    zero_filled: bool,
    /// A stale, shadow or zero segment was seen: only empty ones may follow.
    empty_seen: bool,
    s: SegmentScan,
}

impl SegmentScanner {
    fn here(&self, i: u16) -> Lgpos {
        Lgpos {
            generation: self.generation,
            sector: i,
            offset: 0,
        }
    }

    fn corrupt(&mut self, i: u16, why: &str) {
        self.s.outcome = SegmentOutcome::Corrupt {
            segment: i,
            reason: why.to_string(),
        };
    }

    /// Segment `i` verifies (after correcting `bit` in `file`, if set): good
    /// when its header carries its own position, else stale or corrupt.
    fn verified(&mut self, file: &mut [u8], i: u16, bit: Option<u32>) -> Step {
        let off = i as usize * SEGMENT_SIZE;
        if let Some(bit) = bit {
            file[off + (bit / 8) as usize] ^= 1 << (bit % 8);
        }
        let h = segment_header(&file[off..off + SEGMENT_SIZE]);
        let here = self.here(i);
        let class = if h.lgpos < here {
            Ok(SegmentClass::Stale)
        } else if h.lgpos > here {
            Err("segment header carries a later lgpos")
        } else if self.empty_seen {
            Err("valid segment after an empty one")
        } else {
            Ok(SegmentClass::Good)
        };
        if let Some(bit) = bit {
            self.s.corrected.push(CorrectedBit {
                segment: i,
                bit,
                class: class.ok(),
            });
        }
        match class {
            Ok(SegmentClass::Good) => {}
            Ok(_) => {
                self.s.stale += 1;
                self.empty_seen = true;
                return Step::Next;
            }
            Err(why) => {
                self.corrupt(i, why);
                return Step::Stop;
            }
        }
        let s = &mut self.s;
        s.good += 1;
        s.accumulated_checksum ^= h.checksum;
        s.last_good_segment = Some(i);
        s.last_segment_time = Some(h.time);
        s.end.sector = i + 1;
        Step::Next
    }

    /// Segment `i` fails its checksum: a shadow of the previous one, zero
    /// fill, a torn write whose shadow follows (patchable), or corruption.
    fn failed(&mut self, file: &[u8], i: u16) -> Step {
        let off = i as usize * SEGMENT_SIZE;
        let seg = &file[off..off + SEGMENT_SIZE];
        if i != self.csec_header && check(seg, i as u32 - 1).0 {
            self.s.shadow += 1;
            self.empty_seen = true;
            return Step::Next;
        }
        if self.zero_filled && is_zero(seg) {
            self.s.zero += 1;
            self.empty_seen = true;
            return Step::Next;
        }
        if self.empty_seen {
            self.corrupt(i, "damaged segment after an empty one");
            return Step::Stop;
        }
        let next = off + SEGMENT_SIZE;
        if next + SEGMENT_SIZE <= file.len() {
            let nseg = &file[next..next + SEGMENT_SIZE];
            if check(nseg, i as u32).0 && segment_header(nseg).lgpos == self.here(i) {
                self.s.outcome = SegmentOutcome::Patchable { segment: i };
                return Step::Stop;
            }
        }
        self.corrupt(i, "segment checksum mismatch");
        Step::Stop
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::checksum::seal_page;

    #[test]
    fn zero_block_checksum_is_its_page_number() {
        let z = vec![0u8; SEGMENT_SIZE];
        for pgno in [0u32, 1, 2, 7, 255, 0xFFFF] {
            assert_eq!(ecc_block_checksum(&z, pgno, true), pgno as u64);
            assert_eq!(check(&z, pgno), (pgno == 0, None));
        }
        let mut one = z.clone();
        one[SEGMENT_SIZE - 1] = 1;
        assert!(is_zero(&z) && !is_zero(&one));
    }

    /// Builds a segment for (gen, isec) with some payload, sealed for `pgno`.
    pub(crate) fn segment(gen: i32, isec: u16, pgno: u32, fill: u8) -> Vec<u8> {
        let mut s = vec![0u8; SEGMENT_SIZE];
        s[10..12].copy_from_slice(&isec.to_le_bytes());
        s[12..16].copy_from_slice(&gen.to_le_bytes());
        s[36..40].copy_from_slice(&0x2000u32.to_le_bytes());
        s[40] = 71; // NOP2-like payload byte
        for b in s[41..200].iter_mut() {
            *b = fill;
        }
        seal_page(&mut s, pgno);
        s
    }

    fn file(segs: &[Vec<u8>]) -> Vec<u8> {
        let mut f = vec![0u8; SEGMENT_SIZE];
        for s in segs {
            f.extend_from_slice(s);
        }
        f
    }

    #[test]
    fn good_then_shadow_then_zero() {
        let mut f = file(&[
            segment(5, 1, 1, 1),
            segment(5, 2, 2, 2),
            segment(5, 2, 2, 3), // shadow of 2 written at 3
            vec![0; SEGMENT_SIZE],
            vec![0; SEGMENT_SIZE],
        ]);
        let acc = u64_at(&f, 4096) ^ u64_at(&f, 8192);
        let s = scan_segments(&mut f, 5, 1, 6, true);
        assert_eq!(s.outcome, SegmentOutcome::Clean);
        assert_eq!((s.good, s.shadow, s.zero, s.scanned), (2, 1, 1, 4));
        assert_eq!(
            s.end,
            Lgpos {
                generation: 5,
                sector: 3,
                offset: 0
            }
        );
        assert_eq!(s.accumulated_checksum, acc);
    }

    #[test]
    fn stale_and_bad_lgpos() {
        let mut f = file(&[
            segment(5, 1, 1, 1),
            segment(4, 2, 2, 1),
            vec![0; 4096],
            vec![0; 4096],
        ]);
        let s = scan_segments(&mut f, 5, 1, 5, true);
        assert_eq!((s.good, s.stale, s.zero), (1, 1, 1));
        let mut f = file(&[segment(6, 1, 1, 1), vec![0; 4096]]);
        let s = scan_segments(&mut f, 5, 1, 3, true);
        assert!(matches!(
            s.outcome,
            SegmentOutcome::Corrupt { segment: 1, .. }
        ));
    }

    #[test]
    fn torn_with_shadow_is_patchable_else_corrupt() {
        let mut torn = segment(5, 2, 2, 2);
        torn[300] ^= 0xFF;
        let mut f = file(&[
            segment(5, 1, 1, 1),
            torn.clone(),
            segment(5, 2, 2, 2),
            vec![0; 4096],
        ]);
        let s = scan_segments(&mut f, 5, 1, 5, true);
        assert_eq!(s.outcome, SegmentOutcome::Patchable { segment: 2 });
        let mut f = file(&[segment(5, 1, 1, 1), torn, vec![0; 4096], vec![0; 4096]]);
        let s = scan_segments(&mut f, 5, 1, 5, true);
        assert!(matches!(
            s.outcome,
            SegmentOutcome::Corrupt { segment: 2, .. }
        ));
        assert_eq!(s.end.sector, 2);
    }

    #[test]
    fn single_bit_is_corrected() {
        let mut seg = segment(5, 1, 1, 7);
        seg[100] ^= 0x10;
        let mut f = file(&[seg, vec![0; 4096]]);
        let s = scan_segments(&mut f, 5, 1, 3, true);
        assert_eq!(s.outcome, SegmentOutcome::Clean);
        assert_eq!(
            s.corrected,
            vec![CorrectedBit {
                segment: 1,
                bit: 804,
                class: Some(SegmentClass::Good)
            }]
        );
        assert_eq!(
            (s.corrected[0].byte(), s.corrected[0].bit_in_byte()),
            (100, 4)
        );
        assert_eq!(f[4096 + 100], 7);
    }

    #[test]
    fn corrected_bit_keeps_its_class() {
        let mut stale = segment(4, 2, 2, 1);
        stale[500] ^= 0x02;
        let mut bad = segment(5, 2, 2, 1);
        bad[600] ^= 0x01;
        let mut f = file(&[segment(5, 1, 1, 1), stale, vec![0; 4096]]);
        let s = scan_segments(&mut f, 5, 1, 4, true);
        assert_eq!(s.outcome, SegmentOutcome::Clean);
        assert_eq!(s.corrected[0].class, Some(SegmentClass::Stale));
        // corrected, then found after an empty segment: the damaged one
        let mut f = file(&[vec![0; 4096], bad, vec![0; 4096]]);
        let s = scan_segments(&mut f, 5, 1, 4, true);
        assert!(matches!(
            s.outcome,
            SegmentOutcome::Corrupt { segment: 2, .. }
        ));
        assert_eq!(s.corrected[0].class, None);
    }

    #[test]
    fn valid_after_empty_is_corrupt() {
        let mut f = file(&[vec![0; 4096], segment(5, 2, 2, 1), vec![0; 4096]]);
        let s = scan_segments(&mut f, 5, 1, 4, true);
        assert!(matches!(
            s.outcome,
            SegmentOutcome::Corrupt { segment: 2, .. }
        ));
    }
}
