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
use crate::k::{DbScan, FixReport, IoStats, PageResult};
use crate::log_integrity::LogIntegrity;
use crate::parse::checkpoint::CHECKPOINT_COPY_SIZE;

/// Counters of a database scan.
#[derive(Debug, Clone, Serialize)]
pub struct DbSummary {
    /// Pages looked at (headers and blank pages included).
    pub pages_seen: u64,
    /// Pages that verify (headers included).
    pub ok: u64,
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
        let b = file.get(offset..offset + CHECKPOINT_COPY_SIZE)?;
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

/// One entry of the `files` list.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KFile {
    /// A database.
    Database(DbReport),
    /// A checkpoint.
    Checkpoint(CkptReport),
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

/// The `/k --json` document.
#[derive(Debug, Clone, Serialize)]
pub struct KReport {
    /// Always "eseutil-rs".
    pub tool: &'static str,
    /// Program version.
    pub version: &'static str,
    /// Always "k".
    pub mode: &'static str,
    /// One entry per file checked.
    pub files: Vec<KFile>,
    /// Whether any file is damaged.
    pub damaged: bool,
    /// The process exit status.
    pub exit_status: u8,
}
