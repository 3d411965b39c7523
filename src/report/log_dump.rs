//! JSON view of `/ml` (log dump and verification). Schema summary in
//! `docs/notes/log.md`; the facts come from the library modules under `log`.

use serde::Serialize;

use crate::error::FormatError;
use crate::log::naming::LogFileName;
use crate::log::record::{record_info, LogRecord, RecordInfo, TornRecord};
use crate::log::scan::FormatScan;
use crate::log::set::{LogFileCheck, RecordStats, SetIssue};
use crate::parse::log_header::LogHeader;
use crate::parse::primitives::Lgpos;

/// JSON form of a [`FormatError`].
#[derive(Debug, Clone, Serialize)]
pub struct ErrorReport {
    /// Absolute file offset.
    pub offset: u64,
    /// JET error code.
    pub jet_code: i32,
    /// JET error name.
    pub jet_name: &'static str,
    /// Detail.
    pub detail: String,
}

impl From<&FormatError> for ErrorReport {
    fn from(e: &FormatError) -> Self {
        ErrorReport {
            offset: e.offset,
            jet_code: e.jet.code,
            jet_name: e.jet.name,
            detail: e.detail.clone(),
        }
    }
}

/// Integrity facts of one file.
#[derive(Debug, Clone, Serialize)]
pub struct IntegrityReport {
    /// No error (a patchable torn write is reported separately).
    pub ok: bool,
    /// "Last Lgpos" (end of verified data).
    pub last_lgpos: Option<Lgpos>,
    /// Accumulated segment checksum, `0x%016x` (8.x).
    pub accumulated_segment_checksum: Option<String>,
    /// Torn write that soft recovery would patch.
    pub patchable_at: Option<Lgpos>,
    /// First error.
    pub error: Option<ErrorReport>,
    /// Format scan details (segments or LRCHECKSUM chain).
    pub scan: Option<FormatScan>,
    /// Number of records walked.
    pub records: Option<usize>,
    /// Whether the record walk lands exactly on the end of data.
    pub walk_matches_end: Option<bool>,
    /// Records a crash left unfinished, abandoned as ESE's reader does (not
    /// damage): `{lgpos, bytes, restart_lgpos, lrtyp}`.
    pub torn_records: Vec<TornRecord>,
}

impl IntegrityReport {
    /// Builds the integrity facts of a checked file.
    pub fn new(c: &LogFileCheck, with_scan: bool) -> Self {
        IntegrityReport {
            ok: c.error().is_none(),
            last_lgpos: c.scan.as_ref().map(|s| s.end),
            accumulated_segment_checksum: c
                .scan
                .as_ref()
                .and_then(|s| s.accumulated_checksum)
                .map(|a| format!("0x{a:016x}")),
            patchable_at: c.scan.as_ref().and_then(|s| s.patchable_at),
            error: c.error().map(ErrorReport::from),
            scan: if with_scan {
                c.scan.as_ref().map(|s| s.scan.clone())
            } else {
                None
            },
            records: c.walk.as_ref().map(|w| w.records.len()),
            walk_matches_end: c.walk.as_ref().map(|w| w.lands_on_end()),
            torn_records: c.torn().to_vec(),
        }
    }
}

/// The `/ml FILE --json` document.
#[derive(Debug, Clone, Serialize)]
pub struct MlFileReport {
    /// Always "eseutil-rs".
    pub tool: &'static str,
    /// Program version.
    pub version: &'static str,
    /// Always "ml".
    pub mode: &'static str,
    /// The file as given.
    pub file: String,
    /// Decoded file name.
    pub name: Option<LogFileName>,
    /// Base name.
    pub base: String,
    /// File size.
    pub file_size: u64,
    /// Checkpoint from `<base>.chk` next to the log.
    pub checkpoint: Option<Lgpos>,
    /// Format version text.
    pub format_version: Option<String>,
    /// Every header field.
    pub header: Option<LogHeader>,
    /// Integrity verdict.
    pub integrity: IntegrityReport,
    /// `--stats`.
    pub stats: Option<RecordStats>,
    /// Process exit status.
    pub exit_status: u8,
}

/// One file of a set report.
#[derive(Debug, Clone, Serialize)]
pub struct SetFileReport {
    /// Path.
    pub path: String,
    /// Decoded name.
    pub name: Option<LogFileName>,
    /// Generation from the header.
    pub generation: Option<i32>,
    /// Integrity.
    pub integrity: IntegrityReport,
    /// Sequence problems found at this file.
    pub issues: Vec<SetIssue>,
}

/// The fields of the `/ml BASE --json` document before its `files` array,
/// which is written file by file as the sequence is verified.
#[derive(Debug, Clone, Serialize)]
pub struct MlSetHead {
    /// Always "eseutil-rs".
    pub tool: &'static str,
    /// Program version.
    pub version: &'static str,
    /// Always "ml".
    pub mode: &'static str,
    /// Base name.
    pub base: String,
    /// Folder.
    pub dir: String,
    /// Generation range.
    pub range: Option<(u32, u32)>,
}

/// The fields of the `/ml BASE --json` document after its `files` array.
#[derive(Debug, Clone, Serialize)]
pub struct MlSetTail {
    /// Gaps and a missing current log.
    pub missing: Vec<SetIssue>,
    /// Whether the sequence is complete and undamaged.
    pub ok: bool,
    /// Restored backup set(s) found in the folder (no current log by design).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backup_sets: Vec<crate::log::backup_set::BackupSet>,
    /// An error that stopped the verification after files were listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<serde_json::Value>,
    /// Process exit status.
    pub exit_status: u8,
}

impl SetFileReport {
    /// The report of one checked file of a set and its sequence problems.
    pub fn new(f: &LogFileCheck, issues: &[SetIssue]) -> Self {
        SetFileReport {
            path: f.path.display().to_string(),
            name: f.name.clone(),
            generation: f.scan.as_ref().map(|s| s.header.generation),
            integrity: IntegrityReport::new(f, false),
            issues: issues.to_vec(),
        }
    }
}

/// One JSON Lines record of `--records --json`.
#[derive(Debug, Clone, Serialize)]
pub struct RecordLine {
    /// Position.
    pub lgpos: Lgpos,
    /// Record type.
    pub lrtyp: u8,
    /// Type name.
    #[serde(rename = "type")]
    pub type_name: &'static str,
    /// Record size (NOP runs: run length).
    pub size: u32,
    /// Bytes in the file (fragment headers included).
    pub disk_bytes: u32,
    /// Fragments (0 = whole).
    pub fragments: u16,
    /// Decoded fields.
    #[serde(flatten)]
    pub info: RecordInfo,
}

impl RecordLine {
    /// Builds the line of a record.
    pub fn new(r: &LogRecord) -> Self {
        RecordLine {
            lgpos: r.lgpos,
            lrtyp: r.lrtyp,
            type_name: crate::log::record::lrtyp_name(r.lrtyp),
            size: r.size,
            disk_bytes: r.disk_bytes,
            fragments: r.fragments,
            info: record_info(r),
        }
    }
}
