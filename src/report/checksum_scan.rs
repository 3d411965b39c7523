//! JSON view of `/k` (checksum verification).
//!
//! One document per run: `{"tool", "version", "mode": "k", "files": [...],
//! "damaged", "exit_status"}`; each entry of `files` has a `kind`
//! (`database`, `checkpoint`, `log`, `skipped`, `error`) and the facts of
//! that kind. Database entries carry eseutil's counters (`summary`, with
//! `bad_checksums` counting every failed page as eseutil does) plus the finer
//! split (`checksum_mismatches`, `wrong_page_numbers`, `not_ese_pages`) and the
//! full list of damaged pages.

use serde::Serialize;

use crate::checksum::{legacy_header_checksum, stored_header_checksum};
use crate::checksum_scan::{DbScan, FixReport, IoStats, PageResult};
use crate::error::FormatError;
use crate::log::lrck::{LrckOutcome, LrckScan};
use crate::log::scan::{lgpos_of, FormatScan, LogScan};
use crate::log::segments::{SegmentClass, SegmentOutcome, SegmentScan};
use crate::parse::checkpoint::CHECKPOINT_COPY_SIZE;
use crate::parse::log_header::{LogHeader, LOG_HEADER_SIZE};
use crate::parse::primitives::Lgpos;
use crate::report::log_dump::ErrorReport;

/// Counters of a database scan.
#[derive(Debug, Clone, Serialize)]
pub struct DbSummary {
    /// Pages looked at (headers and blank pages included).
    pub pages_seen: u64,
    /// Pages that verify (headers included, trailer excluded).
    pub ok: u64,
    /// Backup trailer (patch) pages that verify: the last page of a
    /// streaming-backup copy, not a data page.
    pub trailer_pages: u64,
    /// Verified pages released by a database shrink (included in `ok`).
    pub shrunk_pages: u64,
    /// eseutil's "bad checksums": every failed page (= checksum_mismatches +
    /// wrong_page_numbers + not_ese_pages).
    pub bad_checksums: u64,
    /// Pages with one correctable flipped bit.
    pub correctable_checksums: u64,
    /// All-zero pages.
    pub uninitialized_pages: u64,
    /// Intact pages at the wrong place (eseutil prints 0 here always).
    pub wrong_page_numbers: u64,
    /// Failed pages whose header is not plausible for an ESE page.
    pub not_ese_pages: u64,
    /// Failed pages that are neither of the above.
    pub checksum_mismatches: u64,
    /// Highest dbtime of a good data page (hex).
    pub highest_dbtime: String,
    /// Its page number.
    pub highest_dbtime_pgno: u32,
}

/// One database.
#[derive(Debug, Clone, Serialize)]
pub struct DbReport {
    /// The file as given.
    pub file: String,
    /// File length.
    pub file_size: u64,
    /// Page size used.
    pub page_size: usize,
    /// `header` or `option`.
    pub page_size_source: &'static str,
    /// Bytes after the last whole page (not checked).
    pub ignored_tail_bytes: u64,
    /// Counters.
    pub summary: DbSummary,
    /// Reads and timing.
    pub io: IoStats,
    /// Every damaged page (correctable, bad, wrong page number, not ESE), in
    /// file order.
    pub damaged_pages: Vec<PageResult>,
    /// Damaged pages not listed because of the in-memory cap.
    pub damaged_pages_omitted: u64,
    /// What `--fix-ecc` did.
    pub fix: Option<FixReport>,
    /// Whether eseutil would fail this file.
    pub failed: bool,
}

impl DbReport {
    /// Builds the view of a scan.
    pub fn new(file: String, s: &DbScan, fix: Option<FixReport>) -> DbReport {
        let c = &s.counts;
        DbReport {
            file,
            file_size: s.file_size,
            page_size: s.page_size,
            page_size_source: s.page_size_source,
            ignored_tail_bytes: s.ignored_tail_bytes,
            summary: DbSummary {
                pages_seen: c.pages_seen,
                ok: c.ok,
                trailer_pages: c.trailer,
                shrunk_pages: c.shrunk,
                bad_checksums: c.eseutil_bad(),
                correctable_checksums: c.correctable,
                uninitialized_pages: c.uninitialized,
                wrong_page_numbers: c.wrong_page_numbers,
                not_ese_pages: c.not_ese_pages,
                checksum_mismatches: c.bad,
                highest_dbtime: format!("0x{:x}", c.highest_dbtime),
                highest_dbtime_pgno: c.highest_dbtime_pgno,
            },
            io: s.io.clone(),
            damaged_pages: s.damaged.clone(),
            damaged_pages_omitted: s.damaged_omitted,
            fix,
            failed: s.failed(),
        }
    }
}

/// One checkpoint copy.
#[derive(Debug, Clone, Serialize)]
pub struct CkptCopy {
    /// Byte offset of the copy.
    pub offset: u64,
    /// Stored checksum (hex).
    pub stored_checksum: String,
    /// Recomputed checksum (hex).
    pub computed_checksum: String,
    /// Whether they match.
    pub ok: bool,
}

impl CkptCopy {
    /// Verifies the copy at `offset` of `file` (`None` when too short).
    pub fn at(file: &[u8], offset: usize) -> Option<CkptCopy> {
        Self::sized(file, offset, CHECKPOINT_COPY_SIZE)
    }

    /// Verifies the `size`-byte header-checksummed copy at `offset`.
    pub fn sized(file: &[u8], offset: usize, size: usize) -> Option<CkptCopy> {
        let b = file.get(offset..offset + size)?;
        let stored = stored_header_checksum(b);
        let computed = legacy_header_checksum(b);
        Some(CkptCopy {
            offset: offset as u64,
            stored_checksum: format!("0x{stored:08x}"),
            computed_checksum: format!("0x{computed:08x}"),
            ok: stored == computed,
        })
    }
}

/// One checkpoint file.
#[derive(Debug, Clone, Serialize)]
pub struct CkptReport {
    /// The file as given.
    pub file: String,
    /// File length.
    pub file_size: u64,
    /// Copy at offset 0.
    pub primary: Option<CkptCopy>,
    /// Copy at offset 4096.
    pub shadow: Option<CkptCopy>,
    /// Whether both copies are byte-identical.
    pub copies_identical: bool,
    /// Whether a copy is missing or fails, or the copies differ.
    pub failed: bool,
}

impl CkptReport {
    /// The report on `bytes`, the start of a file holding two copies of one
    /// `ps`-byte header page (checkpoint, patch file): failed when a copy is
    /// missing or fails its checksum, when they differ, or when `bad`.
    pub fn two_copies(file: String, file_size: u64, bytes: &[u8], ps: usize, bad: bool) -> Self {
        let primary = CkptCopy::sized(bytes, 0, ps);
        let shadow = CkptCopy::sized(bytes, ps, ps);
        let identical = bytes.len() >= 2 * ps && bytes[..ps] == bytes[ps..2 * ps];
        let failed = bad
            || !primary.as_ref().is_some_and(|c| c.ok)
            || !shadow.as_ref().is_some_and(|c| c.ok)
            || !identical;
        CkptReport {
            file,
            file_size,
            primary,
            shadow,
            copies_identical: identical,
            failed,
        }
    }
}

/// One log file.
#[derive(Debug, Clone, Serialize)]
pub struct LogReport {
    /// The file as given.
    pub file: String,
    /// File length.
    pub file_size: u64,
    /// Header and segment verification.
    pub integrity: LogIntegrity,
    /// Whether the log is damaged (corrupt or torn).
    pub failed: bool,
}

/// What a reported segment (8.x) or LRCHECKSUM position (7.x) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SegmentState {
    /// Verifies (after a single-bit correction) and belongs here.
    Good,
    /// Verifies (after a single-bit correction) but carries an older
    /// position: left from an earlier use of the file (end of data).
    Stale,
    /// Fails, but the next segment / sector holds its shadow: a torn last
    /// write that soft recovery patches.
    Torn,
    /// Damaged beyond repair.
    Corrupt,
}

/// A segment worth reporting (corrected, torn, damaged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SegmentReport {
    /// Segment (8.x) or sector (7.x) index.
    pub segment: u32,
    /// Log position of the problem, `(0xGEN,ISEC,IB)`: IB is the flipped
    /// byte for a corrected segment, the LRCHECKSUM offset in its sector for
    /// 7.x, else 0.
    pub lgpos: String,
    /// Byte offset of the problem in the file.
    pub file_offset: u64,
    /// State.
    pub state: SegmentState,
    /// Bit inside the byte at `file_offset` when exactly one flipped bit was
    /// located and the segment verifies once it is flipped back.
    pub corrected_bit: Option<u8>,
    /// What is wrong.
    pub detail: String,
}

/// Overall verdict on a log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogVerdict {
    /// Header, size and every scanned segment / LRCHECKSUM verify.
    Clean,
    /// Only a torn last write that recovery patches from its shadow.
    Patchable,
    /// Damaged: header, size (-541), a segment or the LRCHECKSUM chain.
    Corrupt,
}

/// The `/k` facts of one log file, from the shared scanner
/// ([`crate::log::scan`]).
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
    /// Segments scanned (8.x).
    pub segments_scanned: u32,
    /// Good segments (8.x).
    pub good_segments: u32,
    /// Stale, shadow or zero segments (8.x).
    pub empty_segments: u32,
    /// Good segments that needed a single-bit correction (8.x).
    pub corrected_segments: u32,
    /// Last good segment (8.x, `(gen, isec, 0)`) or last verified
    /// LRCHECKSUM (7.x).
    pub last_good: Option<String>,
    /// First damaged position (header: `(gen,0,0)`).
    pub first_damage: Option<String>,
    /// XOR of the stored checksums of the good segments (8.x; 0 for 7.x).
    pub accumulated_checksum: String,
    /// Segments worth reporting.
    pub segments: Vec<SegmentReport>,
    /// True for the 7.x LRCHECKSUM format (major ≤ 7), false for 8.x segments.
    pub legacy_format: bool,
    /// 7.x only: LRCHECKSUM records verified along the chain.
    pub lrck_records: u32,
    /// 7.x only: end of the verified data.
    pub end_of_data: Option<String>,
    /// The first integrity error (header, -541 size mismatch, -501 damage),
    /// as in `/ml --json`.
    pub error: Option<ErrorReport>,
    /// Overall verdict.
    pub verdict: LogVerdict,
    /// Records a crash left unfinished that ESE's reader abandons (not
    /// damage: the engine restarted after them; docs/notes/log.md).
    pub torn_records: Vec<crate::log::record::TornRecord>,
    /// Whether the data area was scanned (false when the header failed).
    #[serde(skip)]
    pub data_scanned: bool,
}

impl LogIntegrity {
    /// The facts of a log whose header `h` parsed: `head` is its first
    /// 4096 bytes, `scan` the shared scanner's result (`Err` = the header
    /// did not verify).
    pub fn new(head: &[u8], h: &LogHeader, scan: Result<&LogScan, &FormatError>) -> LogIntegrity {
        let header_stored = stored_header_checksum(head);
        let header_computed = legacy_header_checksum(&head[..LOG_HEADER_SIZE]);
        let gen = h.generation;
        let mut r = LogIntegrity {
            generation: gen,
            version: h.version_text(),
            header_stored,
            header_computed,
            header_ok: header_stored == header_computed,
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
            error: None,
            verdict: LogVerdict::Clean,
            torn_records: Vec::new(),
            data_scanned: false,
        };
        let s = match scan {
            Ok(s) => s,
            Err(e) => {
                r.error = Some(e.into());
                r.first_damage = Some(at(gen, 0, 0).eseutil_text());
                r.verdict = LogVerdict::Corrupt;
                return r;
            }
        };
        r.data_scanned = true;
        r.error = s.error.as_ref().map(ErrorReport::from);
        let damaged = match &s.scan {
            FormatScan::Segments(g) => r.segment_facts(s, g),
            FormatScan::Lrck(l) => r.lrck_facts(s, l, h.cb_sec),
        };
        if let Some(d) = damaged {
            r.first_damage = Some(d.lgpos.clone());
            r.verdict = match d.state {
                SegmentState::Torn => LogVerdict::Patchable,
                _ => LogVerdict::Corrupt,
            };
            r.segments.push(d);
        }
        if r.error.is_some() {
            r.verdict = LogVerdict::Corrupt;
        }
        r
    }

    /// 8.x: the segment counters and corrected bits; returns the damaged
    /// segment, if any.
    fn segment_facts(&mut self, s: &LogScan, g: &SegmentScan) -> Option<SegmentReport> {
        let gen = self.generation;
        self.segments_scanned = g.scanned;
        self.good_segments = g.good;
        self.empty_segments = g.stale + g.shadow + g.zero;
        self.last_good = g.last_good_segment.map(|i| at(gen, i, 0).eseutil_text());
        self.accumulated_checksum = format!("0x{:016x}", g.accumulated_checksum);
        for c in &g.corrected {
            let state = match c.class {
                Some(SegmentClass::Good) => SegmentState::Good,
                Some(_) => SegmentState::Stale,
                None => continue, // the damaged segment, listed below
            };
            self.corrected_segments += (state == SegmentState::Good) as u32;
            let (byte, bit) = (c.byte(), c.bit_in_byte());
            let detail = format!("single flipped bit {bit} of byte {byte} (correctable)");
            self.segments.push(SegmentReport {
                corrected_bit: Some(bit),
                ..damage(s, state, at(gen, c.segment, byte as u16), &detail)
            });
        }
        match &g.outcome {
            SegmentOutcome::Clean => None,
            SegmentOutcome::Patchable { segment } => Some(damage(
                s,
                SegmentState::Torn,
                at(gen, *segment, 0),
                "torn write; the next segment holds its shadow copy (patchable)",
            )),
            SegmentOutcome::Corrupt { segment, reason } => Some(damage(
                s,
                SegmentState::Corrupt,
                at(gen, *segment, 0),
                reason,
            )),
        }
    }

    /// 7.x: the LRCHECKSUM chain; returns the damaged range, if any.
    fn lrck_facts(&mut self, s: &LogScan, l: &LrckScan, cb_sec: u16) -> Option<SegmentReport> {
        let gen = self.generation;
        let pos = |off: u64| lgpos_of(gen, cb_sec, off);
        self.lrck_records = l.chain.len() as u32;
        self.last_good = l.chain.last().map(|c| pos(c.offset).eseutil_text());
        self.end_of_data = Some(pos(l.end_offset).eseutil_text());
        match &l.outcome {
            LrckOutcome::Clean => None,
            LrckOutcome::Patchable { offset } => Some(damage(
                s,
                SegmentState::Torn,
                pos(*offset),
                "LRCHECKSUM range fails; the next sector holds its shadow (torn last flush, patchable)",
            )),
            LrckOutcome::Corrupt { offset, reason } => {
                Some(damage(s, SegmentState::Corrupt, pos(*offset), reason))
            }
        }
    }

    /// Damaged (corrupt, wrong size, or torn).
    pub fn failed(&self) -> bool {
        self.verdict != LogVerdict::Clean
    }
}

/// The position `sector`:`offset` of generation `gen`.
fn at(generation: i32, sector: u16, offset: u16) -> Lgpos {
    Lgpos {
        generation,
        sector,
        offset,
    }
}

/// A segment report for damage at `p`.
fn damage(s: &LogScan, state: SegmentState, p: Lgpos, detail: &str) -> SegmentReport {
    SegmentReport {
        segment: p.sector as u32,
        lgpos: p.eseutil_text(),
        file_offset: s.offset_of(p),
        state,
        corrected_bit: None,
        detail: detail.to_string(),
    }
}

/// One entry of the `files` list.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KFile {
    /// A database.
    Database(DbReport),
    /// A checkpoint.
    Checkpoint(CkptReport),
    /// A `.pat` patch file: its two copies of the patch page (same shape
    /// as a checkpoint's, copies one database page long).
    Patch(CkptReport),
    /// A log file.
    Log(LogReport),
    /// A file that /k does not check (blank, unknown, temp database …).
    Skipped {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// A file that could not be checked.
    Error {
        /// The file.
        file: String,
        /// The error (same shape as the top-level error document).
        error: serde_json::Value,
    },
}

/// The fields of the `/k --json` document before its `files` array, which
/// is written entry by entry as each file completes.
#[derive(Debug, Clone, Serialize)]
pub struct KHead {
    /// Always "eseutil-rs".
    pub tool: &'static str,
    /// Program version.
    pub version: &'static str,
    /// Always "k".
    pub mode: &'static str,
}

/// The fields of the `/k --json` document after its `files` array.
#[derive(Debug, Clone, Serialize)]
pub struct KTail {
    /// Whether any file is damaged.
    pub damaged: bool,
    /// The process exit status.
    pub exit_status: u8,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::seal_header;
    use crate::log::fixture7;
    use crate::log::scan::scan_log;
    use crate::log::segments::tests::segment;
    use crate::parse::log_header::parse_log_header_fields;

    fn integrity(f: &mut [u8]) -> LogIntegrity {
        let h = parse_log_header_fields(f).unwrap();
        let head = f[..LOG_HEADER_SIZE].to_vec();
        let s = scan_log(f);
        LogIntegrity::new(&head, &h, s.as_ref())
    }

    /// An 8.x log of 16 segments (generation 7): header, `good` written
    /// segments, zeros.
    fn log8(good: u16) -> Vec<u8> {
        let mut f = crate::synth::log_header(7);
        f[12..14].copy_from_slice(&16u16.to_le_bytes());
        seal_header(&mut f);
        for i in 1..=good {
            f.extend_from_slice(&segment(7, i, i as u32, i as u8));
        }
        f.resize(16 * 4096, 0);
        f
    }

    #[test]
    fn clean_8x_log() {
        let mut f = log8(5);
        let acc = (1..=5).fold(0u64, |a, i| a ^ crate::parse::u64_at(&f, i * 4096));
        let r = integrity(&mut f);
        assert_eq!(r.verdict, LogVerdict::Clean, "{r:?}");
        assert_eq!(
            (r.segments_scanned, r.good_segments, r.empty_segments),
            (14, 5, 9)
        );
        assert_eq!(r.last_good.as_deref(), Some("(0x7,5,0)"));
        assert_eq!(r.accumulated_checksum, format!("0x{acc:016x}"));
        assert!(r.segments.is_empty() && r.error.is_none() && !r.failed());
    }

    #[test]
    fn flipped_bit_is_located_and_double_flip_is_corrupt() {
        let mut f = log8(5);
        f[3 * 4096 + 1234] ^= 0x20;
        let r = integrity(&mut f.clone());
        assert_eq!(r.verdict, LogVerdict::Clean);
        assert_eq!(r.corrected_segments, 1);
        let s = &r.segments[0];
        assert_eq!(
            (s.lgpos.as_str(), s.corrected_bit),
            ("(0x7,3,4D2)", Some(5))
        );
        assert_eq!(
            (s.state, s.file_offset),
            (SegmentState::Good, 3 * 4096 + 1234)
        );
        f[3 * 4096 + 2000] ^= 1;
        let r = integrity(&mut f);
        assert_eq!(r.verdict, LogVerdict::Corrupt);
        assert_eq!(r.first_damage.as_deref(), Some("(0x7,3,0)"));
        assert_eq!(r.segments[0].state, SegmentState::Corrupt);
        assert_eq!(r.error.unwrap().jet_code, -501);
    }

    #[test]
    fn torn_8x_segment_is_patchable() {
        let mut f = log8(5);
        let s5 = f[5 * 4096..6 * 4096].to_vec();
        f[6 * 4096..7 * 4096].copy_from_slice(&s5);
        f[5 * 4096 + 3000] ^= 0xFF;
        let r = integrity(&mut f);
        assert_eq!(r.verdict, LogVerdict::Patchable, "{r:?}");
        assert_eq!(r.first_damage.as_deref(), Some("(0x7,5,0)"));
        assert_eq!(r.segments[0].state, SegmentState::Torn);
        assert!(r.error.is_none() && r.failed());
    }

    #[test]
    fn header_and_size_errors() {
        let mut f = log8(2);
        f[100] ^= 1;
        let r = integrity(&mut f);
        assert!(!r.header_ok && !r.data_scanned);
        assert_eq!(r.verdict, LogVerdict::Corrupt);
        assert_eq!(r.first_damage.as_deref(), Some("(0x7,0,0)"));
        let mut f = log8(2);
        f.resize(17 * 4096, 0);
        let r = integrity(&mut f);
        assert_eq!(r.verdict, LogVerdict::Corrupt);
        assert_eq!(r.error.as_ref().unwrap().jet_code, -541);
        assert!(r.first_damage.is_none() && r.segments.is_empty());
    }

    #[test]
    fn lrck_chain_7x() {
        let r = integrity(&mut fixture7::clean_log());
        assert!(r.legacy_format);
        assert_eq!(r.verdict, LogVerdict::Clean, "{r:?}");
        assert_eq!(r.lrck_records, 2);
        assert_eq!(r.last_good.as_deref(), Some("(0x3,A,28)"));
        assert_eq!(r.end_of_data.as_deref(), Some("(0x3,A,5C)"));
        let r = integrity(&mut fixture7::torn_log());
        assert_eq!(r.verdict, LogVerdict::Patchable);
        assert_eq!(r.first_damage.as_deref(), Some("(0x3,A,28)"));
        assert_eq!(r.segments[0].file_offset, fixture7::LRCK2 as u64);
        let r = integrity(&mut fixture7::corrupt_log());
        assert_eq!(r.verdict, LogVerdict::Corrupt);
        assert_eq!(r.segments[0].state, SegmentState::Corrupt);
    }
}
