//! Soft recovery (`/r`): replays transaction logs into database pages.
//!
//! * [`stream`]: the logs read, verified and decoded one generation at a
//!   time on a reader thread, each boundary checked, ahead of redo;
//! * [`store`]: the working copy (never the input files);
//! * [`output`]: where recovery may write (checked before and at commit);
//! * [`page`]: the mutable page image redo works on;
//! * [`redo`]: the record loop, dbtime rule and single-page operations;
//! * [`split`]: Split2 / Merge2 at MacroCommit;
//! * [`create_db`]: the pages CreateDB implies (catalog, system tables);
//! * `attach`: re-attachments and the end of sessions (Term);
//! * [`undo`]: the rollback of transactions left open at the end of the log;
//! * [`verify`]: the checks before anything is renamed into place;
//! * [`hard`]: hard recovery (`/cc`) of a restored backup: checks, header
//!   patch, then the same engine;
//! * [`patch_file`]: the `.pat` of a streaming backup;
//! * this module: the phases of a run (where redo starts, the databases
//!   attached there, the replay, finishing, commit), the database-level
//!   records (CreateDB, CreateDBFinish, AttachDB, DetachDB, ExtendDB) and
//!   the header finishing of docs/format/recovery.md §6.
//!
//! Facts: `LOG::ErrLGRRedo` (`ese/_log/logredo.cxx` ~14031),
//! `ErrLGRIRedoCreateDB` / `ErrLGRIRedoAttachDB` / `ErrLGRIRedoDetachDB`
//! (logredo.cxx, the lrtypCreateDB/AttachDB/DetachDB cases of
//! `ErrLGRIRedoOperations` ~11870–13300), `ErrLGRIRedoExtendDB` ~11024,
//! header finishing `ErrIOTermUpdateAndWriteDatabaseHeader` (`ese/io.cxx`
//! ~766–850) and `SetDbstate` (`inc/daedef.hxx` ~3076–3245).

mod attach;
pub mod cpage;
pub mod create_db;
pub mod evidence;
pub mod hard;
pub mod output;
pub mod page;
pub mod patch_file;
#[cfg(test)]
mod rare_tests;
pub mod redo;
pub mod split;
pub mod store;
pub mod stream;
pub mod undo;
pub mod verify;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Jet};
use crate::log::naming::{FoundLog, LogNameKind};
use crate::log::record::{AttachDb, CreateDb, LogRecord, Record};
use crate::parse::primitives::Lgpos;
use crate::parse::{u16_at, u32_at, u64_at};
use page::PageImage;
use redo::{DbRun, Redo, RedoStats};
use store::PageStore;
use stream::{ExpectedOutputs, LogSource, LogStream, Prev};
use undo as redo_undo;

/// What `/r` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Log base name (`edb`).
    pub base: String,
    /// Log folder.
    pub log_dir: PathBuf,
    /// System folder (checkpoint).
    pub system_dir: PathBuf,
    /// Database folder (existing databases are looked up here by file name).
    pub db_dir: PathBuf,
    /// Output folder.
    pub output: PathBuf,
    /// Replay from the first log, not the checkpoint.
    pub ignore_checkpoint: bool,
    /// `/i`: ignore attachments whose database is missing (skip their records).
    pub ignore_missing: bool,
    /// `/a`: allow a missing current log.
    pub lossy: bool,
    /// Stop before the first record at or after this position (library
    /// only: the database "as of" a log position, still attached, finished
    /// at that position). Used by the convergence tests.
    pub stop_at: Option<Lgpos>,
    /// Leave transactions open at the end as they are (no rollback): the
    /// pages as flushed at `stop_at`, for tests; reported in
    /// `not_recovered` (ESE: −579 JET_errRecoveredWithoutUndo).
    pub skip_undo: bool,
    /// Hard recovery (`/cc`, [`hard`]): databases found through this map
    /// (file name as logged → restored file, with the patched header of
    /// `ErrLGCheckDBFiles` step 5) rather than `db_dir`.
    pub restore_map: Vec<RestoreSource>,
    /// Hard recovery: finish with the backup-history changes of
    /// `ErrIOTermUpdateAndWriteDatabaseHeader` (`ese/io.cxx` ~800–826).
    pub hard: bool,
    /// Refuse, before anything is renamed into place, to replace a file in
    /// the output folder that is not an earlier output of this recovery
    /// ([`stream::ExpectedOutputs`]; the CLI without `--force`).
    pub refuse_replacing: bool,
    /// Called after each generation with (bytes replayed, bytes of all logs).
    pub progress: Option<Progress>,
    /// Page cache, evidence hashing, in place.
    pub io: evidence::IoOptions,
}

/// One restored database of a hard recovery (the restore map of
/// `ErrBuildRstmapForRestore`, `ese/_log/rstmap.cxx` ~1–200, by file name).
#[derive(Debug, Clone)]
pub struct RestoreSource {
    /// File name the logs use (compared case-insensitively).
    pub name: String,
    /// The restored database (only read).
    pub source: PathBuf,
    /// Header page to use in the working copy instead of the file's (both
    /// copies are rewritten, sealed).
    pub header: Option<Vec<u8>>,
    /// Zero the last page of the working copy (the backup trailer page,
    /// `ErrDBTryToZeroDBTrailer`).
    pub zero_trailer: bool,
}

pub use evidence::InputFile;

/// One database produced.
#[derive(Debug, Clone, Serialize)]
pub struct DbOutcome {
    /// Path as logged.
    pub logged_path: String,
    /// Output file.
    pub output: PathBuf,
    /// Entered by CreateDB in the replayed range.
    pub created: bool,
    /// Distinct pages written.
    pub pages_written: usize,
    /// Page writes.
    pub page_writes: u64,
    /// Final state name.
    pub state: String,
    /// Highest dbtime.
    pub dbtime: u64,
    /// Final page count.
    pub page_count: u32,
    /// How its working file was made (created, reflink, copy, in place).
    pub working_file: store::Origin,
    /// Its page cache's counters.
    pub cache: store::CacheStats,
}

/// The recovery report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Inputs.
    pub inputs: Vec<InputFile>,
    /// How the inputs were hashed and checked after the run.
    pub input_check: evidence::InputCheck,
    /// Generations replayed.
    pub generations: Vec<u32>,
    /// Where redo started.
    pub redo_start: Option<Lgpos>,
    /// Why there.
    pub redo_start_reason: String,
    /// Where the logs end.
    pub redo_end: Option<Lgpos>,
    /// Records a crash left unfinished, skipped as ESE's reader does.
    pub torn_records: Vec<crate::log::record::TornRecord>,
    /// Counters.
    pub stats: RedoStats,
    /// Databases produced.
    pub databases: Vec<DbOutcome>,
    /// Undo (Rollback/Undo records and the end-of-log rollback).
    pub undo: redo_undo::UndoStats,
    /// The error that stopped recovery.
    pub error: Option<Error>,
    /// What was not done (undo, unsupported parts).
    pub not_recovered: Vec<String>,
    /// The checks made before anything was renamed into place (absent when
    /// redo stopped).
    pub verification: Option<verify::Verification>,
    /// Exit status.
    pub exit_status: i32,
}

/// A progress observer ([`Options::progress`]): called with (bytes of the
/// logs replayed, bytes of all the logs), after each generation. The
/// library never draws anything itself; the CLI passes a progress bar.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(u64, u64) + Send + Sync>);

impl Progress {
    /// Wraps an observer.
    pub fn new(f: impl Fn(u64, u64) + Send + Sync + 'static) -> Progress {
        Progress(std::sync::Arc::new(f))
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// One log generation read for redo.
pub(crate) struct LogIn {
    pub(crate) path: PathBuf,
    pub(crate) generation: u32,
    pub(crate) header: Vec<u8>,
    records: Vec<LogRecord>,
    /// The bytes read, which the records point into (given back to the
    /// reader once the records are dropped, [`LogStream::give_back`]).
    file: std::sync::Arc<Vec<u8>>,
    end: Lgpos,
    torn: Vec<crate::log::record::TornRecord>,
    /// Size of the file (progress).
    bytes: u64,
    /// What the file was when read (taken by [`replay`]).
    evidence: Option<evidence::ReadEvidence>,
}

/// Reads and scans one log file for redo (header, records, end); with
/// `hash`, hashes it from the bytes read (only bytes beyond the log's
/// size, if any, are read for the hash). The bytes are read into `buf`
/// (the buffer of an earlier generation, or empty;
/// [`crate::log::scan::read_log_bytes_into`]).
pub(crate) fn read_log(
    path: &Path,
    hash: Option<crate::file::HashAlgorithm>,
    buf: Vec<u8>,
) -> Result<LogIn, Error> {
    let mut input = crate::file::Input::open(path)?;
    let facts = input
        .file
        .metadata()
        .ok()
        .map(|m| evidence::FileFacts::of(&m));
    let lb = crate::log::scan::read_log_bytes_into(&mut input, buf)?;
    let hash = match hash {
        Some(a) => evidence::InputHash::Done(
            crate::file::hash_of_read(path, a, &lb.bytes, lb.file_size)
                .unwrap_or_else(|e| format!("unreadable: {e}")),
        ),
        None => evidence::InputHash::None,
    };
    let mut bytes = lb.bytes;
    let scan = crate::log::scan::scan_log_sized(&mut bytes, lb.file_size)
        .map_err(|e| Error::corrupt(path, e))?;
    if let Some(e) = scan.error.clone() {
        return Err(Error::corrupt(path, e));
    }
    // The records point into the bytes read (one buffer per generation).
    let bytes = std::sync::Arc::new(bytes);
    let walk = crate::log::set::walk_records_shared(&bytes, &scan);
    if let Some(e) = walk.error {
        return Err(Error::corrupt(path, e));
    }
    Ok(LogIn {
        path: path.to_path_buf(),
        generation: scan.header.generation as u32,
        header: bytes[..4096.min(bytes.len())].to_vec(),
        records: walk.records,
        file: bytes,
        end: scan.end,
        torn: walk.torn,
        bytes: lb.file_size,
        evidence: Some(evidence::ReadEvidence { facts, hash }),
    })
}

/// The logs of `/r`, streamed ([`stream`]): every file of the base in log
/// order, each generation checked to follow the previous one.
fn log_stream(opts: &Options) -> Result<LogStream, Error> {
    let (logs, _) = crate::log::naming::list_logs(&opts.log_dir, &opts.base)?;
    if logs.is_empty() {
        return Err(Error::io(
            opts.log_dir.join(format!("{}.log", opts.base)),
            std::io::Error::new(std::io::ErrorKind::NotFound, "no log files of this base"),
        ));
    }
    let has_current = logs.iter().any(|f| f.name.kind == LogNameKind::Current);
    if !has_current && !opts.lossy {
        let p = opts.log_dir.join(format!("{}.log", opts.base));
        return Err(Error::corrupt(
            &p,
            crate::error::FormatError::new(
                0,
                Jet::MISSING_LOG_FILE,
                format!(
                    "the current log {}.log is missing: recovery would lose its records (use /a to recover without it)",
                    opts.base
                ),
            ),
        ));
    }
    let sources = from_checkpoint(opts, logs)
        .into_iter()
        .map(|f| LogSource {
            path: f.path,
            damage: None,
            name_generation: None,
            hash: opts.io.hash(),
        })
        .collect();
    let base = opts.base.clone();
    Ok(LogStream::start(
        sources,
        Box::new(move |prev, l| check_follows(&base, prev, l)),
    ))
}

/// The logs from the checkpoint's generation on. ESE opens the checkpoint's
/// generation first and never reads the older ones (`ErrLGSoftStart`,
/// logredo.cxx ~15140–15230; circular logging deletes them), so the logs
/// kept since the last full backup cost nothing. All are kept when the
/// checkpoint is not used or its generation is not among the files (the
/// replay then says what is missing).
fn from_checkpoint(opts: &Options, logs: Vec<FoundLog>) -> Vec<FoundLog> {
    let chk = opts.system_dir.join(format!("{}.chk", opts.base));
    let Some(gen) = (!opts.ignore_checkpoint)
        .then(|| checkpoint_generation(&chk))
        .flatten()
    else {
        return logs;
    };
    let present = logs.iter().any(|f| match f.name.kind {
        LogNameKind::Generation(g) => g == gen,
        LogNameKind::Current => current_generation(&f.path) == Some(gen),
        _ => false,
    });
    if !present {
        return logs;
    }
    logs.into_iter()
        .filter(|f| !matches!(f.name.kind, LogNameKind::Generation(g) if g < gen))
        .collect()
}

/// The generation of the checkpoint `chk` (`None`: absent or unreadable).
fn checkpoint_generation(chk: &Path) -> Option<u32> {
    let size = 2 * crate::parse::checkpoint::CHECKPOINT_COPY_SIZE;
    let bytes = crate::file::read_prefix(chk, size).ok()?;
    let pair = crate::parse::checkpoint::read_checkpoint_pair(&bytes).ok()?;
    u32::try_from(pair.checkpoint().lgpos_checkpoint.generation).ok()
}

/// The generation a current log's header names.
fn current_generation(log: &Path) -> Option<u32> {
    let bytes = crate::file::read_prefix(log, 4096).ok()?;
    let h = crate::parse::log_header::parse_log_header_fields(&bytes).ok()?;
    u32::try_from(h.generation).ok()
}

/// A generation must follow the previous one (`JET_errMissingLogFile`).
fn check_follows(base: &str, prev: &Prev, l: &LogIn) -> Result<(), Error> {
    if l.generation == prev.generation + 1 {
        return Ok(());
    }
    Err(Error::corrupt(
        &l.path,
        crate::error::FormatError::new(
            0,
            Jet::MISSING_LOG_FILE,
            // Hex, like the file names: `0xC9 follows 0xC7: edb000C8.log is missing`.
            format!(
                "0x{:X} follows 0x{:X}: {}",
                l.generation,
                prev.generation,
                missing_names(base, prev.generation, l.generation)
            ),
        ),
    ))
}

/// `edb000C8.log is missing` / `edb000C8.log … edb000CA.log (3 files) are
/// missing`: the
/// generations strictly between `before` and `after`.
fn missing_names(base: &str, before: u32, after: u32) -> String {
    use crate::log::naming::{generation_file_name, LogExt};
    let (a, b) = (before.saturating_add(1), after.saturating_sub(1));
    let name = |g| generation_file_name(base, g, LogExt::Log);
    if after <= a {
        return "the generations are out of order".into();
    }
    match b - a {
        0 => format!("{} is missing", name(a)),
        n => format!("{} … {} ({} files) are missing", name(a), name(b), n + 1),
    }
}

/// Where the database logged as `logged` is read from: the hard-recovery
/// restore map by file name, else `db_dir/<file name>`.
fn db_source(opts: &Options, logged: &str) -> PathBuf {
    let name = file_name_of(logged);
    opts.restore_map
        .iter()
        .find(|m| m.name.eq_ignore_ascii_case(&name))
        .map(|m| m.source.clone())
        .unwrap_or_else(|| opts.db_dir.join(name))
}

fn file_name_of(logged: &str) -> String {
    logged
        .rsplit(['\\', '/'])
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("database.edb")
        .to_string()
}

/// Database header fields written at CreateDB (docs/format/database-header.md §3, recovery.md §6).
fn new_header(page_size: usize, c: &CreateDb<'_>, log_header: &[u8], attach: Lgpos) -> Vec<u8> {
    let mut h = vec![0u8; page_size];
    let put32 = |h: &mut Vec<u8>, o: usize, v: u32| h[o..o + 4].copy_from_slice(&v.to_le_bytes());
    put32(&mut h, 4, crate::parse::db_header::MAGIC);
    put32(&mut h, 8, 0x620);
    h[24..52].copy_from_slice(&c.sign_db.0); // signDb
    put32(&mut h, 52, 2); // dirty while recovering
    h[72..80].copy_from_slice(&log_header[16..24]); // logtimeAttach = tmCreate
    put_lgpos(&mut h, 80, attach);
    put32(&mut h, 104, c.dbid as u32);
    h[108..136].copy_from_slice(&log_header[44..72]); // signLog
    put32(&mut h, 232, 0x14);
    put32(&mut h, 236, page_size as u32);
    put32(&mut h, 340, 0x620);
    put32(&mut h, 344, 0x14);
    h[508..516].copy_from_slice(&u64::MAX.to_le_bytes());
    put32(&mut h, 667, 1);
    h
}

fn put_lgpos(h: &mut [u8], off: usize, p: Lgpos) {
    h[off..off + 2].copy_from_slice(&p.offset.to_le_bytes());
    h[off + 2..off + 4].copy_from_slice(&p.sector.to_le_bytes());
    h[off + 4..off + 8].copy_from_slice(&p.generation.to_le_bytes());
}

/// docs/format/recovery.md §6: Clean Shutdown with consistent = detach = `at`.
fn finish_header(db: &mut DbRun, at: Lgpos, logtime: &[u8]) {
    let h = &mut db.header;
    h[16..24].copy_from_slice(&db.dbtime_max.to_le_bytes());
    h[52..56].copy_from_slice(&3u32.to_le_bytes());
    put_lgpos(h, 56, at);
    h[64..72].copy_from_slice(logtime);
    h[88..96].copy_from_slice(logtime);
    put_lgpos(h, 96, at);
    h[212..216].copy_from_slice(&db.objid_max.to_le_bytes());
    for o in [296, 300, 416, 536, 640, 680, 684] {
        h[o..o + 4].copy_from_slice(&0u32.to_le_bytes());
    }
    h[348..356].fill(0);
    h[672..680].fill(0);
    put_lgpos(h, 656, at);
}

/// Runs soft recovery. Input files are only read; results go to
/// `opts.output`.
pub fn recover(opts: &Options) -> Result<Report, Error> {
    let logs = log_stream(opts)?;
    recover_logs(opts, logs, Vec::new())
}

/// Where redo starts and the databases attached there.
struct RedoStart {
    /// The checkpoint (`None`: the first record).
    at: Option<Lgpos>,
    /// Why there.
    reason: String,
    /// Databases attached when redo starts: the checkpoint's attach list,
    /// or the first log header's (LGFakeCheckpointToLogFile, logredo.cxx
    /// ~14742).
    initial: Vec<crate::parse::attach_info::AttachInfo>,
    /// Where `initial` was read.
    initial_from: PathBuf,
}

/// What the replay of the stream saw.
#[derive(Default)]
struct Replayed {
    generations: Vec<u32>,
    end: Option<Lgpos>,
    torn: Vec<crate::log::record::TornRecord>,
    /// The attach/detach/Term records (the history verification checks).
    history: Vec<LogRecord>,
    /// tmCreate of the last generation (the finishing times).
    logtime: Vec<u8>,
    /// The databases the logs may write (checked again before commit).
    expected: ExpectedOutputs,
    error: Option<Error>,
}

/// The redo/undo run over the streamed `logs` (each generation checked to
/// follow the previous one by the stream); `extra_inputs` are hashed
/// before and after like the logs. Shared by `/r` and `/cc` ([`hard`]).
pub(crate) fn recover_logs(
    opts: &Options,
    mut logs: LogStream,
    extra_inputs: Vec<PathBuf>,
) -> Result<Report, Error> {
    let first = logs.next_log().unwrap_or_else(|| {
        Err(Error::io(
            &opts.log_dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no log files of this base"),
        ))
    })?;
    let mut rd = Redo::default();
    rd.cache_budget = opts.io.cache_bytes();
    for p in &extra_inputs {
        rd.inputs.add_file(p, opts.io.hash());
    }
    let chk = opts.system_dir.join(format!("{}.chk", opts.base));
    let start = redo_start(opts, &first, &chk)?;
    if chk.exists() {
        rd.inputs.add_file(&chk, opts.io.hash());
    }
    let created = !opts.output.exists();
    std::fs::create_dir_all(&opts.output).map_err(|e| Error::io(&opts.output, e))?;
    // After an error nothing is left of the run: no working copy, and no
    // output folder it created (`remove_dir` leaves a folder with files).
    let failed = |rd: &mut Redo, e: Error| {
        // No report: the hashes still being taken are not waited for.
        rd.inputs = Default::default();
        discard_outputs(rd);
        if created {
            let _ = std::fs::remove_dir(&opts.output);
        }
        Err(e)
    };
    let page_size = match u16_at(&first.header, 14) as usize {
        0 => 4096,
        ps => ps,
    };
    let mut not_recovered = attach_initial(opts, &mut rd, &start)?;
    let mut run = match replay(opts, &mut rd, first, &mut logs, start.at, page_size) {
        Ok(run) => run,
        // A log failed mid-stream: nothing is committed.
        Err(e) => return failed(&mut rd, e),
    };
    drop(logs);
    // The copies made beside redo are complete before anything checks them.
    if let Err(e) = settle_outputs(&rd) {
        return failed(&mut rd, e);
    }
    run.expected.add_checkpoint(&chk);
    let verification = finish_run(opts, &mut rd, &mut run, &start, &mut not_recovered);
    let error = run.error.take();
    if error.is_none() && opts.refuse_replacing {
        if let Err(e) = run.expected.check_replaceable(&opts.output, false) {
            return failed(&mut rd, e);
        }
    }
    let databases = write_outputs(&mut rd, &error, &mut not_recovered)?;
    let input_check = opts.io.check();
    let inputs = std::mem::take(&mut rd.inputs).finish(input_check);
    let exit_status = match (&verification, &error) {
        (Some(v), _) if !v.passed => 5,
        (_, Some(_)) => 1,
        _ => 0,
    };
    Ok(Report {
        inputs,
        input_check,
        generations: run.generations,
        redo_start: start.at,
        redo_start_reason: start.reason,
        redo_end: run.end,
        torn_records: run.torn,
        stats: rd.stats,
        undo: rd.undo,
        databases,
        error,
        not_recovered,
        verification,
        exit_status,
    })
}

/// Where redo starts: the checkpoint (unless ignored), else the first log.
fn redo_start(opts: &Options, first: &LogIn, chk: &Path) -> Result<RedoStart, Error> {
    let mut start = RedoStart {
        at: None,
        reason: "no checkpoint: replay from the first log".to_string(),
        initial: crate::parse::log_header::parse_log_header_fields(&first.header)
            .map(|h| h.attachments)
            .unwrap_or_default(),
        initial_from: first.path.clone(),
    };
    if !chk.exists() {
        return Ok(start);
    }
    if opts.ignore_checkpoint {
        start.reason = "checkpoint ignored (--ignore-checkpoint): replay from the first log".into();
        return Ok(start);
    }
    let bytes = crate::file::read_prefix(chk, 2 * crate::parse::checkpoint::CHECKPOINT_COPY_SIZE)?;
    let pair = crate::parse::checkpoint::read_checkpoint_pair(&bytes)
        .map_err(|e| Error::corrupt(chk, e))?;
    let c = pair.checkpoint();
    start.at = Some(c.lgpos_checkpoint);
    start.reason = format!("checkpoint {}", c.lgpos_checkpoint.eseutil_text());
    start.initial = c.attachments.clone();
    start.initial_from = chk.to_path_buf();
    Ok(start)
}

/// Opens the databases attached when redo starts; returns what was skipped
/// (`/i`).
fn attach_initial(opts: &Options, rd: &mut Redo, start: &RedoStart) -> Result<Vec<String>, Error> {
    let mut skipped = Vec::new();
    for a in &start.initial {
        let f = db_source(opts, &a.path);
        let target = opts.output.join(file_name_of(&a.path));
        let want = a.sign_db;
        let same = move |b: &[u8]| {
            crate::parse::primitives::signature(b)
                .map(|(_, s)| s == want)
                .unwrap_or(false)
        };
        match existing_db(&f, &same, a.dbid, &a.path, &target, opts, &mut rd.inputs)? {
            Some(db) => {
                rd.put_db(a.dbid, db)?;
            }
            None if opts.ignore_missing => {
                rd.skipped_dbids.insert(a.dbid);
                skipped.push(format!(
                    "{} (dbid {}) attached at the start of redo is missing or mismatched in {}: skipped (/i)",
                    a.path,
                    a.dbid,
                    opts.db_dir.display()
                ));
            }
            None => {
                return Err(Error::corrupt(
                    &start.initial_from,
                    crate::error::FormatError::new(
                        0,
                        Jet::ATTACHED_DATABASE_MISMATCH,
                        format!(
                            "database {} (dbid {}) attached at the start of redo is missing from {} or has another signature (use /i to skip it)",
                            a.path,
                            a.dbid,
                            opts.db_dir.display()
                        ),
                    ),
                ));
            }
        }
    }
    Ok(skipped)
}

/// Replays the stream, one generation at a time, in log order. A log that
/// cannot be read, or does not follow the previous one, is an `Err`; a
/// record redo refuses stops the replay (`Replayed::error`). With
/// `stop_at`, the rest of the set is still read and checked, as a replay
/// to its end would (the databases are finished at its last generation's
/// time).
fn replay(
    opts: &Options,
    rd: &mut Redo,
    first: LogIn,
    logs: &mut LogStream,
    start: Option<Lgpos>,
    page_size: usize,
) -> Result<Replayed, Error> {
    let mut run = Replayed::default();
    // Torn records of the previous generation, linked to the next one's
    // first record (`link_torn_to_next`) when it follows.
    let mut pending: Option<(u32, Vec<crate::log::record::TornRecord>)> = None;
    let mut done_bytes = 0u64;
    let mut stopped = false;
    let mut next = Some(Ok(first));
    while let Some(l) = next.take().or_else(|| logs.next_log()) {
        let mut l = l?;
        if let Some(ev) = l.evidence.take() {
            rd.inputs.add(&l.path, ev);
        }
        if let Some((g, mut torn)) = pending.take() {
            if g + 1 == l.generation {
                let csec = u16_at(&l.header, 10);
                crate::log::record::link_torn_to_next(&mut torn, l.generation as i32, csec);
            }
            run.torn.append(&mut torn);
        }
        run.logtime = l.header[16..24].to_vec();
        run.expected.add_log_header(&l.header);
        l.records.iter().for_each(|r| run.expected.add_record(r));
        if !stopped {
            run.generations.push(l.generation);
            run.end = Some(l.end);
            stopped = replay_generation(opts, rd, &l, start, page_size, &mut run);
        }
        pending = Some((l.generation, std::mem::take(&mut l.torn)));
        done_bytes += l.bytes;
        if let Some(p) = &opts.progress {
            (p.0)(done_bytes, logs.total_bytes);
        }
        if run.error.is_some() {
            break;
        }
        rd.end_generation();
        logs.give_back(l);
    }
    if let Some((_, mut torn)) = pending {
        run.torn.append(&mut torn);
    }
    Ok(run)
}

/// Redo of one generation's records; `true` when the replay stops here
/// (`stop_at` reached, or a record refused).
fn replay_generation(
    opts: &Options,
    rd: &mut Redo,
    l: &LogIn,
    start: Option<Lgpos>,
    page_size: usize,
    run: &mut Replayed,
) -> bool {
    for r in &l.records {
        if matches!(r.lrtyp, 2 | 14 | 15 | 16 | 18 | 50 | 52) {
            // Kept to the end: its bytes, not its generation's buffer.
            run.history.push(r.detached());
        }
        if start.is_some_and(|s| r.lgpos < s) {
            continue;
        }
        if opts.stop_at.is_some_and(|s| r.lgpos >= s) {
            run.end = Some(r.lgpos);
            return true;
        }
        if let Err(e) = apply_record(rd, r, l, page_size, opts) {
            run.error = Some(e);
            return true;
        }
    }
    false
}

/// Waits for the copy (or hash) each working file makes beside redo
/// ([`PageStore::settle`]); a copy that failed fails the run, as it did
/// when the copy was made before redo.
fn settle_outputs(rd: &Redo) -> Result<(), Error> {
    for db in rd.dbs.values().chain(rd.detached.iter()) {
        db.store.settle()?;
    }
    Ok(())
}

/// Drops every working copy (nothing of the run is committed).
fn discard_outputs(rd: &mut Redo) {
    let open: Vec<u8> = rd.dbs.keys().copied().collect();
    for dbid in open {
        if let Some(db) = rd.dbs.remove(&dbid) {
            db.store.discard();
        }
    }
    for db in std::mem::take(&mut rd.detached) {
        db.store.discard();
    }
}

/// After redo: undo of the transactions left open, the headers of the
/// databases still attached finished at the end of the logs, the outputs
/// checked and verified (verify.rs). Sets `run.error` when something
/// failed; returns the verification (absent when redo stopped).
fn finish_run(
    opts: &Options,
    rd: &mut Redo,
    run: &mut Replayed,
    start: &RedoStart,
    not_recovered: &mut Vec<String>,
) -> Option<verify::Verification> {
    rd.finish();
    not_recovered.append(&mut rd.notes);
    if run.error.is_none() && !rd.stats.trx_open_at_end.is_empty() {
        if opts.skip_undo {
            not_recovered.push(format!(
                "undo skipped: sessions {:?} keep their uncommitted changes (-579 JET_errRecoveredWithoutUndo)",
                rd.stats.trx_open_at_end
            ));
        } else {
            rd.undo_open_transactions();
        }
    }
    for f in &rd.undo.failures {
        not_recovered.push(format!("undo: {f}"));
    }
    if !rd.stats.macros_open_at_end.is_empty() {
        not_recovered.push(format!(
            "macros of sessions {:?} were not committed at the end of the log and were dropped",
            rd.stats.macros_open_at_end
        ));
    }
    // Finish databases still attached: consistent at the end of the logs.
    let end_pos = run.end.unwrap_or_default();
    let logtime = if run.logtime.len() == 8 {
        run.logtime.clone()
    } else {
        vec![0; 8]
    };
    let attached: Vec<u8> = rd.dbs.keys().copied().collect();
    for dbid in attached {
        if let Some(mut db) = rd.dbs.remove(&dbid) {
            if run.error.is_none() {
                finish_header(&mut db, end_pos, &logtime);
            }
            rd.detached.push(db);
        }
    }
    if run.error.is_none() {
        run.error = check_outputs(rd, end_pos);
    }
    if opts.hard && run.error.is_none() {
        // Hard recovery clears the backup history before the header is
        // verified, so that what is verified is what is committed.
        for db in rd.detached.iter_mut() {
            hard::clear_backup_history(&mut db.header);
        }
    }
    // Nothing is renamed into place unless it verifies (verify.rs).
    let verification = run.error.is_none().then(|| {
        let ctx = verify::Context {
            history: &run.history,
            redo_start: start.at,
            end: end_pos,
            initial: &start.initial,
            ignore_missing: opts.ignore_missing,
            skip_undo: opts.skip_undo,
        };
        verify::before_commit(rd, &ctx)
    });
    if run.error.is_none() {
        run.error = verification.as_ref().and_then(|v| v.error(end_pos));
    }
    verification
}

/// Writes the final headers and, when nothing failed, renames every output
/// into place; after a failure the working copies stay, Dirty Shutdown,
/// under their temporary names.
fn write_outputs(
    rd: &mut Redo,
    error: &Option<Error>,
    not_recovered: &mut Vec<String>,
) -> Result<Vec<DbOutcome>, Error> {
    let mut databases = Vec::new();
    let mut finished = Vec::new();
    for mut db in std::mem::take(&mut rd.detached) {
        let page_count = db.store.page_count().unwrap_or(0);
        let state = match (error, u32_at(&db.header, 52)) {
            (Some(_), _) => "Dirty Shutdown",
            (None, 3) => "Clean Shutdown",
            (None, 2) => "Dirty Shutdown",
            _ => "other",
        };
        let header = db.header.clone();
        let page_writes = db.store.writes;
        let (working_file, cache) = (db.store.origin(), db.store.cache_stats());
        let out = if error.is_none() {
            db.store.write_header(header)?;
            db.store.sync()?;
            db.store.target().to_path_buf()
        } else {
            let t = db.store.tmp_path().to_path_buf();
            let mut header = header;
            header[52..56].copy_from_slice(&2u32.to_le_bytes());
            db.store.write_header(header)?;
            not_recovered.push(format!(
                "{} was left as {} (Dirty Shutdown, incomplete)",
                db.logged_path,
                t.display()
            ));
            t
        };
        databases.push(DbOutcome {
            logged_path: db.logged_path.clone(),
            output: out,
            created: db.created,
            pages_written: db.pages.len(),
            page_writes,
            state: state.into(),
            dbtime: db.dbtime_max,
            page_count,
            working_file,
            cache,
        });
        finished.push(db);
    }
    // Every output is complete and flushed: only now are they renamed.
    for db in finished {
        if error.is_none() {
            db.store.commit()?;
        }
    }
    Ok(databases)
}

/// Checks before anything is committed: every redone page operation went
/// into a working file that becomes an output (or into one re-created on
/// purpose), and no two outputs share a name.
fn check_outputs(rd: &Redo, end: Lgpos) -> Option<Error> {
    let fail = |detail: String| Some(Error::redo(end, "", Jet::RECOVERY_VERIFY_FAILURE, detail));
    let kept: u64 = rd.detached.iter().map(|d| d.store.redone).sum();
    if kept + rd.discarded_redone != rd.stats.pages_redone {
        return fail(format!(
            "{} page operations were redone but {} reached the output databases ({} into re-created ones): refusing to call the result recovered",
            rd.stats.pages_redone, kept, rd.discarded_redone
        ));
    }
    let mut targets: Vec<&Path> = rd.detached.iter().map(|d| d.store.target()).collect();
    targets.sort();
    if let Some(w) = targets.windows(2).find(|w| w[0] == w[1]) {
        return fail(format!(
            "two databases would be written to {}",
            w[0].display()
        ));
    }
    None
}

fn same_file_path(a: &Path, b: &Path) -> bool {
    let canon = |p: &Path| -> Option<PathBuf> {
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        Some(std::fs::canonicalize(dir).ok()?.join(p.file_name()?))
    };
    match (canon(a), canon(b)) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

/// Opens `f` for redo when it exists and carries `sign_db`; what it was
/// goes into `inputs`.
fn existing_db(
    f: &Path,
    same_sign: &dyn Fn(&[u8]) -> bool,
    dbid: u8,
    logged: &str,
    target: &Path,
    opts: &Options,
    inputs: &mut evidence::Inputs,
) -> Result<Option<DbRun>, Error> {
    let map = &opts.restore_map[..];
    if !f.is_file() {
        return Ok(None);
    }
    // The working copy must never replace its own input.
    if !opts.io.in_place && same_file_path(f, target) {
        return Err(Error::Usage(format!(
            "the output folder holds the input database {}: choose another --output",
            f.display()
        )));
    }
    // The header pages only: the database itself is copied file to file.
    let bytes = crate::file::read_prefix(f, crate::file::PROBE_SIZE)?;
    let Ok(pair) = crate::parse::db_header::read_header_pair(&bytes) else {
        return Ok(None);
    };
    if bytes.len() < 52 || !same_sign(&bytes[24..52]) {
        return Ok(None);
    }
    let hdr = pair.header();
    let ps = hdr.page_size() as usize;
    let restoring = map.iter().find(|m| m.source == f);
    // Soft recovery of a backup copy: -544 while its state is in the trailer.
    let soft_backup = restoring.is_none() && patch_file::soft_recovery_of_backup_copy(f, hdr)?;
    let in_place = opts.io.in_place && restoring.is_none();
    if in_place && std::fs::metadata(f).is_ok_and(|m| m.permissions().readonly()) {
        // Refused before anything is written to it (root could write it).
        return Err(Error::Usage(format!(
            "--in-place: {} is read-only; it was not replayed",
            f.display()
        )));
    }
    let (store, ev) = if in_place {
        PageStore::in_place(f, ps, opts.io.hash())?
    } else {
        PageStore::working_copy(f, target, ps, opts.io.hash())?
    };
    if in_place {
        inputs.add_written_in_place(f, ev);
    } else {
        inputs.add(f, ev);
    }
    let mut store = store.with_cache_bytes(opts.io.cache_bytes());
    let mut header = bytes[..ps].to_vec();
    if let Some(m) = restoring {
        if let Some(h) = &m.header {
            header = h.clone();
            store.write_header(header.clone())?;
        }
        if m.zero_trailer {
            store.zero_trailer_page()?;
        }
    } else if soft_backup {
        store.zero_trailer_page()?;
    }
    header[52..56].copy_from_slice(&2u32.to_le_bytes());
    if in_place {
        // Dirty Shutdown until the end, as ESE marks a database it replays.
        store.write_header(header.clone())?;
    }
    Ok(Some(DbRun {
        dbid,
        logged_path: logged.to_string(),
        store,
        dbtime_max: hdr.dbtime_dirtied,
        objid_max: hdr.objid_last,
        header,
        attached: true,
        pages: Default::default(),
        created: false,
    }))
}

/// One record: database-level records here, the rest through
/// [`Redo::record`].
pub(crate) fn apply_record(
    rd: &mut Redo,
    r: &LogRecord,
    l: &LogIn,
    page_size: usize,
    opts: &Options,
) -> Result<bool, Error> {
    database_record(rd, r, l, page_size, opts).and_then(|done| {
        if done {
            rd.stats.records += 1;
            rd.stats.per_type.add(r.lrtyp, 1, 1);
            Ok(true)
        } else {
            rd.record(r)
        }
    })
}

fn get_lgpos(h: &[u8], off: usize) -> Lgpos {
    Lgpos {
        offset: u16::from_le_bytes([h[off], h[off + 1]]),
        sector: u16::from_le_bytes([h[off + 2], h[off + 3]]),
        generation: i32::from_le_bytes([h[off + 4], h[off + 5], h[off + 6], h[off + 7]]),
    }
}

/// ShrinkDB / ShrinkDB2 / ShrinkDB3 (`ErrLGRIRedoShrinkDB` logredo.cxx
/// ~11108; LRSHRINKDB logapi.hxx ~2254: dbid@1, pgnoLast@2, cpgShrunk@6,
/// ShrinkDB3 + dbtimeShrink@10).
///
/// * lgposLastResize (header @656) unset and the database still holds data
///   of later logs (lGenMaxRequired ≥ this generation) → skipped (the old
///   rule, `fMustSkipShrinkRedo`);
/// * lgposLastResize after the record (`fMaySkipShrinkRedo`): ShrinkDB/2 are
///   skipped; ShrinkDB3 resets each page of pgnoLast+1 ..
///   min(pgnoLast+cpgShrunk, last page of the file) whose dbtime is > 0,
///   < dbtimeShrink and not already dbtimeShrunk to a shrunk page
///   (`ErrLGRIRedoShrinkDBPageReset`, `CPAGE::GetShrunkPage`: a pre-init
///   page, objid 0, dbtime `dbtimeShrunk`); blank pages stay blank;
/// * otherwise the file is truncated to pgnoLast
///   (`ErrLGRIRedoShrinkDBFileTruncation`): pages beyond it no longer exist
///   (read back as blank), ulShrinkCount@552 + 1, logtimeLastShrink@556,
///   lgposLastResize@656 = the record.
///
/// A ShrinkDB3 dbtime raises the database's dbtime. No redo maps are kept
/// (a too-old page is always −566), so there is nothing to clear.
fn shrink_db(
    rd: &mut Redo,
    r: &LogRecord,
    l: &LogIn,
    dbid: u8,
    (pgno_last, cpg): (u32, u32),
    dbtime: Option<u64>,
) -> Result<(), Error> {
    let store = |x: Error| redo::redo_store_err(r, x);
    let dbtime_shrink = dbtime.unwrap_or(redo::DBTIME_NIL);
    let by_dbtime = dbtime_shrink > 0 && dbtime_shrink != redo::DBTIME_NIL;
    let Some(db) = rd.dbs.get_mut(&dbid) else {
        if !rd.skipped_dbids.contains(&dbid) {
            rd.notes.push(format!(
                "{} at {} for dbid {dbid}, which is not attached: ignored",
                crate::log::record::lrtyp_name(r.lrtyp),
                r.lgpos.eseutil_text()
            ));
        }
        return Ok(());
    };
    if pgno_last == 0 {
        return Err(redo::redo_err(
            Jet::LOG_FILE_CORRUPT,
            r,
            "ShrinkDB with pgnoLast 0",
        ));
    }
    if by_dbtime {
        db.dbtime_max = db.dbtime_max.max(dbtime_shrink);
    }
    let last_resize = get_lgpos(&db.header, 656);
    let resize_set = last_resize != Lgpos::default();
    let initial_range = u32_at(&db.header, 300) as i64 >= r.lgpos.generation as i64 && !db.created;
    if !resize_set && initial_range {
        return Ok(());
    }
    let fs_last = db.store.page_count().map_err(store)?;
    if resize_set && last_resize > r.lgpos {
        if !by_dbtime {
            return Ok(());
        }
        let first = pgno_last + 1;
        let last = pgno_last.saturating_add(cpg).min(fs_last);
        let ps = db.store.page_size();
        for pg in first..=last {
            let pb = db.store.read_page(pg).map_err(store)?;
            if crate::checksum::is_all_zero(&pb) {
                continue;
            }
            let t = u64_at(&pb, 8);
            if t != redo::DBTIME_SHRUNK && t > 0 && t < dbtime_shrink {
                let p = PageImage::new(ps, 0, 0, redo::DBTIME_SHRUNK);
                let bytes = p
                    .to_bytes()
                    .map_err(|x| redo::redo_err(x.jet, r, x.detail))?;
                db.store.write_page(pg, bytes).map_err(store)?;
                db.pages.insert(pg);
            }
        }
        return Ok(());
    }
    db.store.truncate_to(pgno_last).map_err(store)?;
    db.pages.retain(|&p| p <= pgno_last);
    let h = &mut db.header;
    let n = u32_at(h, 552).wrapping_add(1);
    h[552..556].copy_from_slice(&n.to_le_bytes());
    h[556..564].copy_from_slice(&l.header[16..24]);
    put_lgpos(h, 656, r.lgpos);
    Ok(())
}

/// Database-level records. Returns `Ok(true)` when `r` was one.
fn database_record(
    rd: &mut Redo,
    r: &LogRecord,
    l: &LogIn,
    page_size: usize,
    opts: &Options,
) -> Result<bool, Error> {
    // Page and transaction records are never database-level: not decoded
    // twice.
    if crate::log::record::is_page_record(r.lrtyp) || matches!(r.lrtyp, 5..=13) {
        return Ok(false);
    }
    let rec = match r.decode() {
        Ok(rec) => rec,
        Err(x) if matches!(r.lrtyp, 14..=16 | 68 | 72 | 78 | 81 | 92 | 94 | 99) => {
            return Err(redo::redo_err(Jet::LOG_FILE_CORRUPT, r, x.text()))
        }
        Err(_) => return Ok(false),
    };
    match rec {
        Record::CreateDb(c) => create_database(rd, r, l, &c, page_size, opts),
        Record::CreateDbFinish { .. } => Ok(true),
        Record::ReAttach { dbid, .. } => {
            reattach(rd, r, l, dbid);
            Ok(true)
        }
        // ShutDownMark: the consistent point of the next Term.
        Record::ShutDownMark => {
            rd.shutdown_mark = Some(r.lgpos);
            Ok(false)
        }
        // Term, RecoveryQuit (1 and 2): sessions end, databases detach.
        Record::Term(_)
        | Record::RecoveryQuit {
            keep_attachments: false,
            ..
        } => {
            attach::end_all_sessions(rd, r, &l.header[16..24])?;
            Ok(false)
        }
        Record::SetDbVersion { dbid, version } => {
            set_db_version(rd, dbid, &version);
            Ok(true)
        }
        Record::TrimDb {
            dbid,
            pgno_start,
            cpg,
        } => trim_db(rd, r, dbid, pgno_start, cpg).map(|()| true),
        Record::ShrinkDb {
            dbid,
            pgno_last,
            cpg_shrunk,
            dbtime,
        } => shrink_db(rd, r, l, dbid, (pgno_last, cpg_shrunk), dbtime).map(|_| true),
        Record::ExtendDb { dbid, pgno_last } => extend_db(rd, r, dbid, pgno_last).map(|()| true),
        Record::DetachDb(d) => detach_database(rd, r, l, d.dbid).map(|()| true),
        Record::AttachDb(a) => attach_database(rd, r, l, &a, opts).map(|()| true),
        _ => Ok(false),
    }
}

/// ReAttach (logredo.cxx ~7562, LRREATTACHDB logapi.hxx ~2396): the
/// header's lgposLastReAttach becomes the record's position and
/// logtimeLastReAttach the time (here: the generation's tmCreate, as the
/// other times).
fn reattach(rd: &mut Redo, r: &LogRecord, l: &LogIn, dbid: u8) {
    if let Some(db) = rd.dbs.get_mut(&dbid) {
        put_lgpos(&mut db.header, 572, r.lgpos);
        db.header[564..572].copy_from_slice(&l.header[16..24]);
    }
}

/// SetDbVersion (logredo.cxx ~13231, ErrDBRedoSetDbVersion): ulVersion,
/// ulDaeUpdateMajor, ulDaeUpdateMinor into the header.
fn set_db_version(rd: &mut Redo, dbid: u8, version: &[u8; 12]) {
    if let Some(db) = rd.dbs.get_mut(&dbid) {
        db.header[8..12].copy_from_slice(&version[0..4]);
        db.header[232..236].copy_from_slice(&version[4..8]);
        db.header[644..648].copy_from_slice(&version[8..12]);
    }
}

/// TrimDB (ErrLGRIRedoTrimDB ~11412): pages pgnoStart .. +cpg become zero
/// (uninitialized) when inside the file.
fn trim_db(rd: &mut Redo, r: &LogRecord, dbid: u8, first: u32, cpg: u32) -> Result<(), Error> {
    let Some(db) = rd.dbs.get_mut(&dbid) else {
        return Ok(());
    };
    let n = db
        .store
        .page_count()
        .map_err(|x| redo::redo_store_err(r, x))?;
    if first.saturating_add(cpg) <= n + 1 {
        for pg in first..first + cpg {
            db.store
                .zero_page(pg)
                .map_err(|x| redo::redo_store_err(r, x))?;
        }
    }
    Ok(())
}

/// ExtendDB: the file grows to `last` pages; a database not attached is
/// noted (unless its attach was skipped with /i).
fn extend_db(rd: &mut Redo, r: &LogRecord, dbid: u8, last: u32) -> Result<(), Error> {
    if let Some(db) = rd.dbs.get_mut(&dbid) {
        db.store
            .extend_to(last)
            .map_err(|x| redo::redo_store_err(r, x))?;
    } else if !rd.skipped_dbids.contains(&dbid) {
        rd.notes.push(format!(
            "ExtendDB at {} for dbid {dbid}, which is not attached: ignored",
            r.lgpos.eseutil_text()
        ));
    }
    Ok(())
}

/// DetachDB: the header is finished (consistent, detach position and
/// time) and written; the database leaves the replay.
fn detach_database(rd: &mut Redo, r: &LogRecord, l: &LogIn, dbid: u8) -> Result<(), Error> {
    let Some(mut db) = rd.dbs.remove(&dbid) else {
        if !rd.skipped_dbids.remove(&dbid) {
            rd.notes.push(format!(
                "DetachDB at {} for dbid {dbid}, which was not attached in this replay: nothing to detach",
                r.lgpos.eseutil_text()
            ));
        }
        return Ok(());
    };
    finish_header(&mut db, r.lgpos, &l.header[16..24]);
    db.attached = false;
    let h = db.header.clone();
    db.store
        .write_header(h)
        .map_err(|x| redo::redo_store_err(r, x))?;
    rd.retire_db(db).map_err(|x| redo::redo_store_err(r, x))
}

/// Opens the database the record names from /d when one there carries
/// its signature (redone into a working copy, or in place); it is attached
/// from this record's position on (later re-attachments are checked
/// against it, see `attach`). `false`: no such database.
fn attach_existing(
    rd: &mut Redo,
    r: &LogRecord,
    opts: &Options,
    dbid: u8,
    path: &str,
    sign_db: &[u8],
) -> Result<bool, Error> {
    let source = db_source(opts, path);
    let target = opts.output.join(file_name_of(path));
    let same = |x: &[u8]| x == sign_db;
    let found = existing_db(&source, &same, dbid, path, &target, opts, &mut rd.inputs)
        .map_err(|x| redo::redo_store_err(r, x))?;
    let Some(mut db) = found else {
        return Ok(false);
    };
    put_lgpos(&mut db.header, 80, r.lgpos);
    rd.put_db(dbid, db)
        .map_err(|x| redo::redo_store_err(r, x))?;
    Ok(true)
}

/// CreateDB (ErrLGRIRedoCreateDB): a database already known to this replay,
/// an existing file with the logged signature in /d (redone into a copy;
/// the dbtime rule skips what it holds), or a new file with a new header.
fn create_database(
    rd: &mut Redo,
    r: &LogRecord,
    l: &LogIn,
    c: &CreateDb<'_>,
    page_size: usize,
    opts: &Options,
) -> Result<bool, Error> {
    let dbid = c.dbid;
    let path = c.path.text();
    if let attach::Known::Handled = attach::create_known(rd, r, c, &path)? {
        return Ok(true);
    }
    if attach_existing(rd, r, opts, dbid, &path, &c.sign_db.0)? {
        return Ok(true);
    }
    let target = opts.output.join(file_name_of(&path));
    let kind = create_db::create_kind(c.version, &l.header);
    if let create_db::CreateKind::Refused(why) = kind {
        return Err(redo::redo_err(Jet::INVALID_CREATE_DB_VERSION, r, why));
    }
    let mut store = PageStore::create(&target, page_size)
        .map_err(|x| redo::redo_store_err(r, x))?
        .with_cache_bytes(opts.io.cache_bytes());
    let header = new_header(page_size, c, &l.header, r.lgpos);
    store
        .write_header(header.clone())
        .map_err(|x| redo::redo_store_err(r, x))?;
    let mut db = DbRun {
        dbid,
        logged_path: path,
        store,
        header,
        attached: true,
        dbtime_max: 0,
        objid_max: 0,
        pages: Default::default(),
        created: true,
    };
    if kind == create_db::CreateKind::Implicit {
        create_db::apply(&mut db, page_size, r)?;
    }
    rd.put_db(dbid, db)
        .map_err(|x| redo::redo_store_err(r, x))?;
    Ok(true)
}

/// AttachDB: a re-attach of a database detached earlier in this pass, an
/// existing database with the logged signature in /d, a skip (/i), or
/// JET_errAttachedDatabaseMismatch.
fn attach_database(
    rd: &mut Redo,
    r: &LogRecord,
    l: &LogIn,
    a: &AttachDb<'_>,
    opts: &Options,
) -> Result<(), Error> {
    let dbid = a.dbid;
    let path = a.path.text();
    if let attach::Known::Handled = attach::attach_known(rd, r, a, &l.header, &path)? {
        return Ok(());
    }
    if attach_existing(rd, r, opts, dbid, &path, &a.sign_db.0)? {
        return Ok(());
    }
    let f = db_source(opts, &path);
    if opts.ignore_missing {
        rd.skipped_dbids.insert(dbid);
        rd.notes.push(format!(
            "AttachDB at {} of {path} (dbid {dbid}): no matching database in {}; skipped with its page records (/i)",
            r.lgpos.eseutil_text(),
            opts.db_dir.display()
        ));
        return Ok(());
    }
    let why = if f.exists() {
        format!("{} is not the database of this AttachDB record (signature differs or header unreadable)", f.display())
    } else {
        format!(
            "AttachDB of {path}: no such database in {}",
            opts.db_dir.display()
        )
    };
    Err(redo::redo_err(Jet::ATTACHED_DATABASE_MISMATCH, r, why))
}
