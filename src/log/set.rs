//! Verification of one log file (header, integrity scan, record walk) and of
//! a log sequence (the checks `/ml <base>` makes between generations).
//!
//! Facts: `ese/_log/logdump.cxx` ~585–760 (sequence walk, missing-file
//! lines), ~1100–1200 (signature, previous-generation time and accumulated
//! checksum checks), ~1337–1380 (integrity verdict); `ese/_log/log.cxx`
//! ~3991 (`ErrLGSetSignLog`, −530); docs/format/logs.md §8, recovery.md §1.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

use serde::Serialize;

use super::lrck::LrckOutcome;
use super::naming::{parse_log_file_name, FoundLog, LogExt, LogFileName, LogNameKind};
use super::record::{
    info_of, link_torn_to_next, read_stream, read_stream_shared, read_stream_without_bytes, Layout,
    LogRecord, Record, TornRecord,
};
use super::scan::{read_log_bytes_into, scan_log_sized, FormatScan, LogBytes, LogScan};
use super::segments::SegmentOutcome;
use super::segments::{SEGMENT_HEADER_SIZE, SEGMENT_SIZE};
use crate::error::{Error, FormatError, Jet};
use crate::file::Input;

/// The record walk of one log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordWalk {
    /// Records read, in order (NOP runs collapsed).
    pub records: Vec<LogRecord>,
    /// Bytes the records occupy (fragment headers and NOPs included).
    pub record_bytes: u64,
    /// Bytes of segment headers inside the walked range (8.x).
    pub segment_header_bytes: u64,
    /// Bytes from the start of data to the end of verified data.
    pub data_bytes: u64,
    /// The first record error (unknown type, overrun …), if any.
    pub error: Option<FormatError>,
    /// Records a crash left unfinished and the reader abandons (not damage).
    pub torn: Vec<TornRecord>,
    /// Bytes of abandoned records and 7.x bytes no LRCHECKSUM covers.
    pub abandoned_bytes: u64,
    /// 8.x: the start time of each walked segment (LGSEGHDR @16), indexed
    /// by segment number (empty for 7.x).
    pub segment_times: Vec<crate::parse::primitives::LogTime>,
}

impl RecordWalk {
    /// Whether the walk accounts for every byte up to the end of data.
    pub fn lands_on_end(&self) -> bool {
        self.error.is_none()
            && self.record_bytes + self.abandoned_bytes + self.segment_header_bytes
                == self.data_bytes
    }
}

/// Walks the records of a scanned file (the records share a copy of its
/// log data, [`read_stream`]).
pub fn walk_records(file: &[u8], scan: &LogScan) -> RecordWalk {
    walk_records_as(file, scan, RecordSource::Copy)
}

/// [`walk_records`] of a file already in a shared buffer: the records
/// point into it ([`read_stream_shared`]).
pub fn walk_records_shared(file: &Arc<Vec<u8>>, scan: &LogScan) -> RecordWalk {
    walk_records_as(file, scan, RecordSource::Shared(file))
}

/// Where the walked records' bytes come from.
#[derive(Clone, Copy)]
enum RecordSource<'a> {
    /// A copy of the file's log data.
    Copy,
    /// The file's shared buffer.
    Shared(&'a Arc<Vec<u8>>),
    /// Nowhere: the records carry no bytes ([`read_stream_without_bytes`]).
    None,
}

fn walk_records_as(file: &[u8], scan: &LogScan, source: RecordSource<'_>) -> RecordWalk {
    let h = &scan.header;
    let (layout, start, seg_hdr) = match &scan.scan {
        FormatScan::Segments(s) => {
            let n = s
                .last_good_segment
                .map_or(0, |l| (l - h.csec_header + 1) as u64);
            (
                Layout::Segments {
                    first: h.csec_header,
                    last: s.last_good_segment,
                    clean_end: s.outcome == SegmentOutcome::Clean,
                },
                h.csec_header as u64 * SEGMENT_SIZE as u64,
                n * SEGMENT_HEADER_SIZE as u64,
            )
        }
        FormatScan::Lrck(l) => {
            let start = h.csec_header as u64 * h.cb_sec as u64;
            (
                Layout::Contiguous {
                    start,
                    end: l.end_offset,
                    chain: &l.chain,
                    clean_end: l.outcome == LrckOutcome::Clean,
                },
                start,
                0,
            )
        }
    };
    let end = scan.offset_of(scan.end);
    let (stream, error) = match source {
        RecordSource::Copy => read_stream(file, h.generation, h.cb_sec, layout),
        RecordSource::Shared(f) => read_stream_shared(f, h.generation, h.cb_sec, layout),
        RecordSource::None => read_stream_without_bytes(file, h.generation, h.cb_sec, layout),
    };
    let segment_times = match layout {
        Layout::Segments { last: Some(l), .. } => (0..=l as usize)
            .map_while(|i| file.get(i * SEGMENT_SIZE..i * SEGMENT_SIZE + SEGMENT_HEADER_SIZE))
            .map(|seg| super::segments::segment_header(seg).time)
            .collect(),
        _ => Vec::new(),
    };
    let abandoned: u64 = stream.torn.iter().map(|t| t.bytes as u64).sum();
    RecordWalk {
        record_bytes: stream.records.iter().map(|r| r.disk_bytes as u64).sum(),
        records: stream.records,
        segment_header_bytes: seg_hdr,
        data_bytes: end.saturating_sub(start),
        error,
        torn: stream.torn,
        abandoned_bytes: abandoned + stream.skipped_bytes,
        segment_times,
    }
}

/// Everything known about one log file.
#[derive(Debug, Clone)]
pub struct LogFileCheck {
    /// The file.
    pub path: PathBuf,
    /// Its decoded name, when it follows the naming rules.
    pub name: Option<LogFileName>,
    /// Integrity scan (None when the header could not be read).
    pub scan: Option<LogScan>,
    /// Why the header could not be read.
    pub header_error: Option<FormatError>,
    /// Record walk (only when the header was read).
    pub walk: Option<RecordWalk>,
}

impl LogFileCheck {
    /// The first integrity problem: header, size/segments/chain, records.
    pub fn error(&self) -> Option<&FormatError> {
        self.header_error
            .as_ref()
            .or_else(|| self.scan.as_ref().and_then(|s| s.error.as_ref()))
            .or_else(|| self.walk.as_ref().and_then(|w| w.error.as_ref()))
    }

    /// Records a restart abandoned (not damage).
    pub fn torn(&self) -> &[TornRecord] {
        self.walk.as_ref().map_or(&[], |w| &w.torn)
    }

    /// Damaged: an error, or a torn write that only recovery would patch.
    pub fn damaged(&self) -> bool {
        self.error().is_some() || self.scan.as_ref().is_some_and(|s| s.patchable_at.is_some())
    }
}

/// Reads and checks one log file. I/O failures are errors; format problems
/// are recorded in the result. At most the file's legitimate size is read
/// ([`read_log_bytes`](super::scan::read_log_bytes)).
pub fn check_file(path: &Path) -> Result<LogFileCheck, Error> {
    Ok(walk_file(path, read_and_scan(path, Vec::new())?, false).0)
}

/// A log file read and integrity-scanned (segments or LRCHECKSUM chain),
/// its records not yet walked.
struct ScannedFile {
    bytes: Vec<u8>,
    file_size: u64,
    scan: Result<LogScan, FormatError>,
}

/// Reads a log file into `buf` (see
/// [`read_log_bytes`](super::scan::read_log_bytes)) and scans it.
fn read_and_scan(path: &Path, buf: Vec<u8>) -> Result<ScannedFile, Error> {
    let LogBytes {
        mut bytes,
        file_size,
    } = read_log_bytes_into(&mut Input::open(path)?, buf)?;
    let scan = scan_log_sized(&mut bytes, file_size);
    Ok(ScannedFile {
        bytes,
        file_size,
        scan,
    })
}

/// Walks the records of a scanned file (without their bytes when
/// `without_bytes`); gives the buffer back for the next file (empty when
/// the records keep it).
fn walk_file(path: &Path, f: ScannedFile, without_bytes: bool) -> (LogFileCheck, Vec<u8>) {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(parse_log_file_name);
    let mut c = LogFileCheck {
        path: path.to_path_buf(),
        name,
        scan: None,
        header_error: None,
        walk: None,
    };
    let mut buf = f.bytes;
    match f.scan {
        Ok(s) if without_bytes => {
            c.walk = Some(walk_records_as(&buf, &s, RecordSource::None));
            c.scan = Some(s);
        }
        Ok(s) => {
            // The records point into the bytes read: the buffer is theirs.
            let shared = Arc::new(std::mem::take(&mut buf));
            c.walk = Some(walk_records_shared(&shared, &s));
            c.scan = Some(s);
        }
        Err(e) => c.header_error = Some(e),
    }
    (c, buf)
}

/// One problem found by the sequence checks. Serialised as `{jet, message}`
/// with eseutil's wording, which [`crate::report::findings`] writes from
/// the facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetIssue {
    /// JET error.
    pub jet: Jet,
    /// What was found.
    pub finding: SetFinding,
}

impl SetIssue {
    /// The issue of `finding`, with its JET error.
    pub fn new(finding: SetFinding) -> SetIssue {
        SetIssue {
            jet: finding.jet(),
            finding,
        }
    }
}

/// The facts of a sequence problem (checks of `ErrLGVerifyLogs` / `/ml` in
/// `_log/log.cxx`, backup coverage of `ErrLGCheckDBFiles`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetFinding {
    /// −513: the header's generation is not the one of the file name.
    GenerationMismatch {
        /// Generation in the header.
        header: u32,
        /// Generation of the file name.
        name: u32,
    },
    /// −530: the log signature differs from the first file's.
    BadSignature {
        /// Signature of this file.
        found: crate::parse::primitives::Signature,
        /// Signature of the first file of the sequence.
        expected: crate::parse::primitives::Signature,
    },
    /// −515: the previous generation's creation time recorded in this
    /// header is not the previous file's creation time.
    PrevGenTime {
        /// Time recorded in this header.
        found: crate::parse::primitives::LogTime,
        /// Creation time of the previous file.
        expected: crate::parse::primitives::LogTime,
    },
    /// −590: the previous generation's accumulated segment checksum
    /// recorded in this header is not the one computed over that file.
    AccumulatedChecksum {
        /// Value recorded in this header.
        stored: u64,
        /// Value computed over the previous file.
        expected: u64,
    },
    /// −528: generations `first..=last` are absent.
    MissingGenerations {
        /// Base name of the sequence.
        base: String,
        /// First missing generation.
        first: u32,
        /// Last missing generation.
        last: u32,
        /// Hex digits of the file names (5 or 8).
        digits: u8,
        /// File extension.
        ext: LogExt,
    },
    /// −528: the current log (`<base>.log`) is absent.
    MissingCurrent {
        /// Base name of the sequence.
        base: String,
        /// File extension.
        ext: LogExt,
    },
    /// −554: the logs start after the first generation a backup needs.
    BackupStartsLate {
        /// The backed-up database.
        database: PathBuf,
        /// First generation the backup needs.
        needed: u32,
        /// First generation present.
        present: u32,
    },
    /// −553: the logs end before the last generation a backup needs.
    BackupEndsEarly {
        /// The backed-up database.
        database: PathBuf,
        /// Last generation the backup needs.
        needed: u32,
        /// Last generation present.
        present: u32,
    },
}

impl SetFinding {
    /// The JET error the engine raises for this problem.
    pub fn jet(&self) -> Jet {
        match self {
            SetFinding::GenerationMismatch { .. } => Jet::LOG_GENERATION_MISMATCH,
            SetFinding::BadSignature { .. } => Jet::BAD_LOG_SIGNATURE,
            SetFinding::PrevGenTime { .. } => Jet::INVALID_LOG_SEQUENCE,
            SetFinding::AccumulatedChecksum { .. } => Jet::LOG_SEQUENCE_CHECKSUM_MISMATCH,
            SetFinding::MissingGenerations { .. } | SetFinding::MissingCurrent { .. } => {
                Jet::MISSING_LOG_FILE
            }
            SetFinding::BackupStartsLate { .. } => Jet::STARTING_RESTORE_LOG_TOO_HIGH,
            SetFinding::BackupEndsEarly { .. } => Jet::ENDING_RESTORE_LOG_TOO_LOW,
        }
    }
}

/// One step of a sequence verification, in display order.
#[derive(Debug, Clone)]
pub enum SetStep {
    /// A log file with the sequence problems found at it.
    File(Box<LogFileCheck>, Vec<SetIssue>),
    /// A gap in the sequence.
    Missing(SetIssue),
}

/// The result of verifying a log sequence.
#[derive(Debug, Clone)]
pub struct SetCheck {
    /// Base name.
    pub base: String,
    /// Folder.
    pub dir: PathBuf,
    /// Generation range asked for.
    pub range: Option<(u32, u32)>,
    /// Steps in order.
    pub steps: Vec<SetStep>,
    /// Backup copies of databases in the folder when the current log is
    /// absent: a restored backup set, which has no current log by design
    /// (then no "missing current log" step is reported).
    pub backup_sets: Vec<super::backup_set::BackupSet>,
}

impl SetCheck {
    /// Every issue, with the file it belongs to.
    pub fn issues(&self) -> Vec<(Option<&Path>, &SetIssue)> {
        let mut v = Vec::new();
        for s in &self.steps {
            match s {
                SetStep::File(f, is) => v.extend(is.iter().map(|i| (Some(f.path.as_path()), i))),
                SetStep::Missing(i) => v.push((None, i)),
            }
        }
        v
    }

    /// No damaged file and no sequence problem.
    pub fn ok(&self) -> bool {
        self.steps.iter().all(SetStep::ok)
    }

    /// The first JET error of the set (file damage or sequence problem).
    pub fn first_error(&self) -> Option<Jet> {
        self.steps.iter().find_map(SetStep::first_error)
    }
}

/// A torn record ending the previous generation's data: the engine restarted
/// at the first record of this one (see [`link_torn_to_next`]).
fn link_to_previous(prev: Option<&mut SetStep>, c: &LogFileCheck) {
    let Some(s) = &c.scan else { return };
    if let Some(SetStep::File(p, _)) = prev {
        let pg = p.scan.as_ref().map(|x| x.header.generation);
        if let (Some(pg), Some(w)) = (pg, p.walk.as_mut()) {
            if pg + 1 == s.header.generation {
                link_torn_to_next(&mut w.torn, s.header.generation, s.header.csec_header);
            }
        }
    }
}

impl SetStep {
    /// Neither a damaged file nor a sequence problem.
    pub fn ok(&self) -> bool {
        match self {
            SetStep::File(f, is) => is.is_empty() && !f.damaged(),
            SetStep::Missing(_) => false,
        }
    }

    /// The first JET error of this step (file damage or sequence problem).
    pub fn first_error(&self) -> Option<Jet> {
        match self {
            SetStep::File(f, is) => f.error().map(|e| e.jet).or(is.first().map(|i| i.jet)),
            SetStep::Missing(i) => Some(i.jet),
        }
    }
}

/// What a streamed sequence verification leaves once every step has been
/// handed out: the verdict of the whole set.
#[derive(Debug, Clone, Default)]
pub struct SetVerdict {
    /// No damaged file and no sequence problem.
    pub ok: bool,
    /// The first JET error of the set.
    pub first_error: Option<Jet>,
    /// Restored backup sets found where the current log is absent (see
    /// [`SetCheck::backup_sets`]).
    pub backup_sets: Vec<super::backup_set::BackupSet>,
}

/// The links a sequence keeps from one generation to the next: only the
/// previous file's header facts, never its bytes or records.
struct ChainState {
    prev: Option<PrevFile>,
    first_sig: Option<crate::parse::primitives::Signature>,
}

/// What the next generation is checked against: the previous file's
/// generation, creation time and accumulated segment checksum.
#[derive(Clone, Copy)]
struct PrevFile {
    generation: i32,
    create_time: crate::parse::primitives::LogTime,
    accumulated_checksum: Option<u64>,
}

impl PrevFile {
    fn of(s: &LogScan) -> PrevFile {
        PrevFile {
            generation: s.header.generation,
            create_time: s.header.create_time,
            accumulated_checksum: s.accumulated_checksum,
        }
    }
}

impl ChainState {
    /// Sequence problems between the previous file and `c` (−530, −515,
    /// −590) and the name/header generation check (−543 family).
    fn issues(&mut self, c: &LogFileCheck, name_gen: Option<u32>) -> Vec<SetIssue> {
        let mut issues = Vec::new();
        let Some(s) = &c.scan else { return issues };
        let h = &s.header;
        let hg = h.generation as u32;
        if let Some(ng) = name_gen.filter(|&ng| ng != hg) {
            issues.push(SetIssue::new(SetFinding::GenerationMismatch {
                header: hg,
                name: ng,
            }));
        }
        match &self.first_sig {
            None => self.first_sig = Some(h.sign_log),
            Some(sig) if *sig != h.sign_log => {
                issues.push(SetIssue::new(SetFinding::BadSignature {
                    found: h.sign_log,
                    expected: *sig,
                }))
            }
            _ => {}
        }
        let Some(p) = self
            .prev
            .as_ref()
            .filter(|p| p.generation + 1 == h.generation)
        else {
            return issues;
        };
        if p.create_time != h.prev_gen_time {
            issues.push(SetIssue::new(SetFinding::PrevGenTime {
                found: h.prev_gen_time,
                expected: p.create_time,
            }));
        }
        if let (Some(acc), false) = (p.accumulated_checksum, h.is_legacy_format()) {
            let stored = h.checksum_prev_log_all_segments;
            if stored != 0 && stored != acc {
                issues.push(SetIssue::new(SetFinding::AccumulatedChecksum {
                    stored,
                    expected: acc,
                }));
            }
        }
        issues
    }
}

/// Hands out steps one behind, so that a torn record at the end of a file
/// can be linked to the next generation's restart before it is shown.
struct StepQueue<F> {
    pending: Option<SetStep>,
    emit: F,
    verdict: SetVerdict,
}

impl<F: FnMut(SetStep) -> Result<(), Error>> StepQueue<F> {
    fn push(&mut self, step: SetStep) -> Result<(), Error> {
        if let Some(p) = self.pending.replace(step) {
            self.send(p)?;
        }
        Ok(())
    }

    fn send(&mut self, step: SetStep) -> Result<(), Error> {
        self.verdict.ok &= step.ok();
        if self.verdict.first_error.is_none() {
            self.verdict.first_error = step.first_error();
        }
        (self.emit)(step)
    }

    fn finish(mut self) -> Result<SetVerdict, Error> {
        if let Some(p) = self.pending.take() {
            self.send(p)?;
        }
        Ok(self.verdict)
    }
}

/// The reader thread of a set: files read and scanned ahead, buffers given
/// back.
struct ReadAhead {
    files: Receiver<Result<ScannedFile, Error>>,
    spent: SyncSender<Vec<u8>>,
}

/// Reads and scans (segment checksums or LRCHECKSUM chain) `paths` in order
/// on a worker thread, at most one file ahead of the consumer (a bounded
/// channel): the next generation is read and verified while the records of
/// the current one are walked. Buffers come back through `spent` and
/// are reused (at most three exist). The thread stops when the consumer
/// drops its ends.
fn read_ahead<'s>(sc: &'s std::thread::Scope<'s, '_>, paths: &'s [&'s Path]) -> ReadAhead {
    let (tx, files) = sync_channel(1);
    let (spent, back) = sync_channel::<Vec<u8>>(2);
    sc.spawn(move || {
        for p in paths {
            let buf = back.try_recv().unwrap_or_default();
            if tx.send(read_and_scan(p, buf)).is_err() {
                break;
            }
        }
    });
    ReadAhead { files, spent }
}

/// One log file of [`scan_files_streamed`]: the bytes read (at most its
/// legitimate size), the file's size and the integrity scan of the bytes.
pub struct ScannedLog<'a> {
    /// The bytes read (segment corrections applied by the scan).
    pub bytes: &'a [u8],
    /// The file's size on disk.
    pub file_size: u64,
    /// The segment or LRCHECKSUM scan (`Err`: the header did not verify).
    pub scan: Result<LogScan, FormatError>,
}

/// Reads and scans the log files `paths` in order through the read-ahead
/// pipeline of a sequence check (a worker thread at most
/// one file ahead, read buffers recycled) and hands each to `each` as it
/// completes, with its bytes or the I/O error that stopped its read. Memory
/// is that of about three files, whatever the number of paths (`/k` on a
/// folder or a base name).
pub fn scan_files_streamed(
    paths: &[&Path],
    mut each: impl FnMut(&Path, Result<ScannedLog<'_>, Error>) -> Result<(), Error>,
) -> Result<(), Error> {
    std::thread::scope(|sc| -> Result<(), Error> {
        let ahead = read_ahead(sc, paths);
        for path in paths {
            let f = match ahead.files.recv() {
                Ok(f) => f,
                Err(_) => Err(Error::io(
                    path,
                    std::io::Error::other("log reader thread stopped"),
                )),
            };
            match f {
                Ok(f) => {
                    let log = ScannedLog {
                        bytes: &f.bytes,
                        file_size: f.file_size,
                        scan: f.scan,
                    };
                    each(path, Ok(log))?;
                    let _ = ahead.spent.try_send(f.bytes);
                }
                Err(e) => each(path, Err(e))?,
            }
        }
        Ok(())
    })
}

/// The files a sequence verification reads, in order: generations within
/// `range`, and one current log (when `.jtx` and `.log` both exist the
/// reader uses the first listed, `.jtx`). Also says whether a current log is
/// among them.
fn files_to_read(logs: &[FoundLog], range: Option<(u32, u32)>) -> (Vec<&FoundLog>, bool) {
    let mut seen_current = false;
    let files = logs
        .iter()
        .filter(|f| match (f.name.kind, range) {
            (LogNameKind::Generation(g), Some((a, b))) => g >= a && g <= b,
            _ => true,
        })
        .filter(|f| {
            let dup = f.name.kind == LogNameKind::Current && seen_current;
            seen_current |= f.name.kind == LogNameKind::Current;
            !dup
        })
        .collect();
    (files, seen_current)
}

/// Verifies the sequence `base` in `dir` one generation at a time: every
/// archived generation in order (within `range` if given), then the current
/// log. Each step goes to `emit` as soon as the next file has been read (a
/// torn tail needs the next generation's restart); at most two files'
/// records are held at once, whatever the number of logs.
pub fn check_set_streamed(
    dir: &Path,
    base: &str,
    range: Option<(u32, u32)>,
    emit: impl FnMut(SetStep) -> Result<(), Error>,
) -> Result<SetVerdict, Error> {
    check_set_as(dir, base, range, false, emit)
}

/// [`check_set_streamed`] for a verification that only counts and places
/// records (`/ml` of a sequence): the walked records carry no bytes
/// (`LogRecord::data` is empty but for reassembled fragments), which spares
/// a copy and an allocation per record.
pub fn check_set_streamed_without_bytes(
    dir: &Path,
    base: &str,
    range: Option<(u32, u32)>,
    emit: impl FnMut(SetStep) -> Result<(), Error>,
) -> Result<SetVerdict, Error> {
    check_set_as(dir, base, range, true, emit)
}

fn check_set_as(
    dir: &Path,
    base: &str,
    range: Option<(u32, u32)>,
    without_bytes: bool,
    emit: impl FnMut(SetStep) -> Result<(), Error>,
) -> Result<SetVerdict, Error> {
    let (logs, _) = super::naming::list_logs(dir, base)?;
    let mut q = StepQueue {
        pending: None,
        emit,
        verdict: SetVerdict {
            ok: true,
            first_error: None,
            backup_sets: Vec::new(),
        },
    };
    let mut chain = ChainState {
        prev: None,
        first_sig: None,
    };
    let (files, seen_current) = files_to_read(&logs, range);
    let paths: Vec<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    let mut last_gen: Option<u32> = None;
    // Lowest and highest generation seen (a backup set's coverage check).
    let mut span: Option<(u32, u32)> = None;
    let mut ext = LogExt::Log;
    let mut digits = 0u8;
    std::thread::scope(|sc| -> Result<(), Error> {
        let ahead = read_ahead(sc, &paths);
        for (f, path) in files.iter().zip(&paths) {
            let name = &f.name;
            let name_gen = match name.kind {
                LogNameKind::Generation(g) => Some(g),
                _ => None,
            };
            if name_gen.is_some() {
                digits = name.digits;
            }
            ext = name.ext;
            let bytes = ahead.files.recv().map_err(|_| {
                Error::io(path, std::io::Error::other("log reader thread stopped"))
            })??;
            let (c, buf) = walk_file(path, bytes, without_bytes);
            let _ = ahead.spent.try_send(buf); // full: dropped, not waited for
            let gen = name_gen.or(c.scan.as_ref().map(|s| s.header.generation as u32));
            // Gap before this file.
            if let (Some(last), Some(g)) = (last_gen, gen) {
                if g > last + 1 {
                    q.push(SetStep::Missing(SetIssue::new(
                        SetFinding::MissingGenerations {
                            base: base.to_string(),
                            first: last + 1,
                            last: g - 1,
                            digits,
                            ext,
                        },
                    )))?;
                    chain.prev = None;
                }
            }
            let issues = chain.issues(&c, name_gen);
            if let Some(g) = gen {
                last_gen = Some(g);
            }
            if let Some(g) = c.scan.as_ref().map(|s| s.header.generation as u32) {
                span = Some(span.map_or((g, g), |(a, b)| (a.min(g), b.max(g))));
            }
            link_to_previous(q.pending.as_mut(), &c);
            chain.prev = c.scan.as_ref().map(PrevFile::of);
            q.push(SetStep::File(Box::new(c), issues))?;
        }
        Ok(())
    })?;
    // Without a range the current log must exist; with one only when the
    // range is open-ended (`A-`).
    let in_range_top = range.is_none_or(|(_, b)| b == u32::MAX);
    let backup_sets = if !seen_current && in_range_top {
        super::backup_set::find_backup_sets(dir, base)
    } else {
        Vec::new()
    };
    for step in super::backup_set::coverage_issues(&backup_sets, span) {
        q.push(step)?;
    }
    if !seen_current && in_range_top && backup_sets.is_empty() {
        q.push(SetStep::Missing(SetIssue::new(
            SetFinding::MissingCurrent {
                base: base.to_string(),
                ext,
            },
        )))?;
    }
    let mut verdict = q.finish()?;
    verdict.backup_sets = backup_sets;
    Ok(verdict)
}

/// Verifies the sequence `base` in `dir` and keeps every step (records
/// included): for tests and small sets; the modes use
/// [`check_set_streamed`].
pub fn check_set(dir: &Path, base: &str, range: Option<(u32, u32)>) -> Result<SetCheck, Error> {
    let mut steps = Vec::new();
    let verdict = check_set_streamed(dir, base, range, |s| {
        steps.push(s);
        Ok(())
    })?;
    Ok(SetCheck {
        base: base.to_string(),
        dir: dir.to_path_buf(),
        range,
        steps,
        backup_sets: verdict.backup_sets,
    })
}

/// Statistics of a record walk (`--stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RecordStats {
    /// Number of records (NOP runs count once).
    pub records: u64,
    /// Bytes occupied by records.
    pub record_bytes: u64,
    /// Bytes of segment headers.
    pub segment_header_bytes: u64,
    /// Bytes of records a restart abandoned (torn records) and 7.x bytes no
    /// LRCHECKSUM covers.
    pub abandoned_bytes: u64,
    /// Bytes from start of data to end of verified data.
    pub data_bytes: u64,
    /// Whether records + segment headers add up to the end of data exactly.
    pub walk_matches_end: bool,
    /// Per record type.
    pub by_type: Vec<TypeStat>,
    /// Per database id.
    pub by_database: Vec<DbStat>,
    /// Transactions.
    pub transactions: TrxStats,
}

/// Count and bytes of one record type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypeStat {
    /// lrtyp.
    pub lrtyp: u8,
    /// Name.
    pub name: &'static str,
    /// Records.
    pub count: u64,
    /// Bytes.
    pub bytes: u64,
}

/// Records referring to one database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbStat {
    /// dbid.
    pub dbid: u8,
    /// Records naming it.
    pub records: u64,
    /// Distinct pages referenced.
    pub pages: u64,
}

/// Transaction outcomes, tracked per session (procid) from Begin0/Begin/
/// Commit/Commit0/Rollback levels (logapi.hxx LRBEGIN/LRCOMMIT/LRROLLBACK).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TrxStats {
    /// Outermost begins (Begin0/BeginDT).
    pub begun: u64,
    /// Outermost commits (Commit0).
    pub committed: u64,
    /// Rolled back to level 0.
    pub rolled_back: u64,
    /// Still open at the end of the data.
    pub open_at_end: u64,
}

/// Follows the transaction level of each session through Begin/Commit/
/// Rollback records (logapi.hxx LRBEGIN/LRCOMMIT/LRROLLBACK).
fn count_transaction(rec: &Record<'_>, level: &mut BTreeMap<u16, u32>, t: &mut TrxStats) {
    match *rec {
        Record::Begin {
            procid,
            from,
            count,
            trx_begin0,
            ..
        } => {
            if trx_begin0.is_some() {
                t.begun += 1;
            }
            level.insert(procid, from.0 as u32 + count as u32);
        }
        Record::Commit {
            procid,
            to,
            trx_commit0,
        } => {
            let to = if trx_commit0.is_some() {
                t.committed += 1;
                0
            } else {
                to.0 as u32
            };
            level.insert(procid, to);
        }
        Record::Rollback { procid, levels } => {
            let l = level.entry(procid).or_default();
            let was = *l;
            *l = l.saturating_sub(levels as u32);
            if was > 0 && *l == 0 {
                t.rolled_back += 1;
            }
        }
        _ => {}
    }
}

/// Computes `--stats` from a walk.
pub fn stats(w: &RecordWalk) -> RecordStats {
    let mut types: BTreeMap<u8, (u64, u64)> = BTreeMap::new();
    let mut dbs: BTreeMap<u8, (u64, std::collections::BTreeSet<u32>)> = BTreeMap::new();
    let mut level: BTreeMap<u16, u32> = BTreeMap::new();
    let mut t = TrxStats::default();
    for r in &w.records {
        let e = types.entry(r.lrtyp).or_default();
        e.0 += 1;
        e.1 += r.disk_bytes as u64;
        let Ok(rec) = r.decode() else { continue };
        let info = info_of(&rec);
        if let Some(d) = info.dbid {
            let e = dbs.entry(d).or_default();
            e.0 += 1;
            e.1.extend(info.pgnos.iter().copied());
        }
        count_transaction(&rec, &mut level, &mut t);
    }
    t.open_at_end = level.values().filter(|&&l| l > 0).count() as u64;
    RecordStats {
        records: w.records.len() as u64,
        record_bytes: w.record_bytes,
        segment_header_bytes: w.segment_header_bytes,
        abandoned_bytes: w.abandoned_bytes,
        data_bytes: w.data_bytes,
        walk_matches_end: w.lands_on_end(),
        by_type: types
            .into_iter()
            .map(|(k, (c, b))| TypeStat {
                lrtyp: k,
                name: super::record::lrtyp_name(k),
                count: c,
                bytes: b,
            })
            .collect(),
        by_database: dbs
            .into_iter()
            .map(|(k, (c, p))| DbStat {
                dbid: k,
                records: c,
                pages: p.len() as u64,
            })
            .collect(),
        transactions: t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::fixture7;

    /// Walking without record bytes finds the same records, positions,
    /// sizes and verdict, only `data` left empty.
    #[test]
    fn walk_without_bytes_matches_the_full_walk() {
        let mut f = fixture7::clean_log();
        let s = crate::log::scan::scan_log(&mut f).unwrap();
        let full = walk_records(&f, &s);
        let mut bare = walk_records_as(&f, &s, RecordSource::None);
        assert!(!full.records.is_empty());
        assert!(bare.records.iter().all(|r| r.data.is_empty()));
        for (b, r) in bare.records.iter_mut().zip(&full.records) {
            b.data.clone_from(&r.data);
        }
        assert_eq!(bare, full);
    }
}
