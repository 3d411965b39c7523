//! `plan`: what soft recovery needs and will do, for a set of databases,
//! log folders and checkpoints (issue #4; no eseutil mode does this).
//!
//! Two steps:
//! * [`gather`] reads the files (database headers, checkpoints, every log of
//!   each base with [`crate::log::set::check_set_streamed`], one generation
//!   at a time) into [`Facts`];
//! * [`plan`] is pure: from the facts it decides, per log stream, where redo
//!   starts, which generations it replays, which are missing or foreign,
//!   which databases the logs attach or create, whether each database can be
//!   brought to Clean Shutdown, and the command to run.
//!
//! Facts (docs/format/recovery.md §1, ESE source):
//! * redo starts at the checkpoint's lgposCheckpoint when the checkpoint
//!   carries the attach list (fVersion bit 0) and the log is at least
//!   8.4000.4.3 (`FLGVersionAttachInfoInCheckpoint`, log.cxx ~1243;
//!   daedef.hxx ~2577); otherwise at the start of the checkpoint's generation
//!   with the attach list of that log's header (`LGFakeCheckpointToLogFile`,
//!   logredo.cxx ~14742, ~15150–15170). Without a checkpoint, at the start of
//!   the lowest archived generation, or of the current log
//!   (logredo.cxx ~15185–15225);
//! * the checkpoint's generation missing → −509, a later one → −528, the
//!   current log missing → −528 (eseutil suggests `/a`); a database whose
//!   lGenMaxRequired is not reached → −543, lGenMaxCommitted → −582
//!   (logredo.cxx ~2119, ~13600–13630);
//! * an attachment (attach list, AttachDB) whose file is missing is deferred
//!   and fails recovery at the end with −1216
//!   `JET_errAttachedDatabaseMismatch` (`ErrLGIAttachedDatabaseMismatch`,
//!   logredo.cxx ~2139–2157; missing file → `redoattachDefer` ~5333); a
//!   CreateDB record re-creates the database from nothing;
//! * per log: signature = the stream's (−530), name = header generation
//!   (−513), previous-generation time (−515), accumulated checksum (−590).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Jet};
use crate::file::{identify, FileKind, Input};
use crate::log::naming::{
    bases_in, current_file_name, generation_file_name_width, parse_log_file_name, LogExt,
    LogNameKind,
};
use crate::log::record::{LogRecord, LoggedPath, Record, TornRecord};
use crate::log::set::{check_set_streamed, LogFileCheck, SetIssue, SetStep};
use crate::parse::attach_info::AttachInfo;
use crate::parse::checkpoint::{read_checkpoint_pair, Checkpoint, ATTACH_INFO_PRESENT};
use crate::parse::db_header::{read_header_pair, DbHeader};
use crate::parse::primitives::{Lgpos, Signature};

// ---------------------------------------------------------------------------
// Gathered facts
// ---------------------------------------------------------------------------

/// A database file given to `plan` (or found in a given folder).
#[derive(Debug, Clone)]
pub struct DbFact {
    /// The file.
    pub path: PathBuf,
    /// Its header (the copy eseutil would use), or why it could not be read.
    pub header: Result<DbHeader, (Jet, String)>,
}

/// A checkpoint file.
#[derive(Debug, Clone)]
pub struct CheckpointFact {
    /// The file.
    pub path: PathBuf,
    /// Base name from the file name (`edb.chk` → `edb`).
    pub base: String,
    /// Decoded checkpoint, or why not.
    pub checkpoint: Result<Checkpoint, (Jet, String)>,
}

/// What a CreateDB / AttachDB / DetachDB record says (`src/log/record.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbRecordFact {
    /// Position of the record.
    pub lgpos: Lgpos,
    /// `create`, `attach` or `detach`.
    pub kind: &'static str,
    /// Database id.
    pub dbid: u8,
    /// Path recorded by the engine (Windows path; never opened).
    pub path: String,
    /// Database signature (CreateDB, AttachDB).
    pub sign_db: Option<Signature>,
    /// The database's consistent position recorded by AttachDB.
    pub lgpos_consistent: Option<Lgpos>,
}

/// One log file of a sequence.
#[derive(Debug, Clone)]
pub struct LogFact {
    /// The file.
    pub path: PathBuf,
    /// Generation from the name (None for the current log `<base>.log`).
    pub name_generation: Option<u32>,
    /// Generation from the header, when readable.
    pub generation: Option<u32>,
    /// Header fields plan needs, when readable.
    pub sign_log: Option<Signature>,
    /// Log format version (major, minor, update major, update minor).
    pub version: (u32, u32, u32, u32),
    /// Sectors before the first data segment (lgpos isec of the start).
    pub csec_header: u16,
    /// Attach list of the header.
    pub attachments: Vec<AttachInfo>,
    /// CreateDB / AttachDB / DetachDB records, in order.
    pub db_records: Vec<DbRecordFact>,
    /// First integrity error (file damage), as JET error and text.
    pub error: Option<(Jet, String)>,
    /// A torn last write that recovery patches (not an error for /r).
    pub patchable: bool,
    /// Records a crash left unfinished; the reader abandons them (not damage).
    pub torn: Vec<TornRecord>,
    /// Sequence problems found between this file and the previous one
    /// (−513, −515, −590), as found by `check_set` (worded by
    /// [`crate::report::findings`]).
    pub chain_issues: Vec<SetIssue>,
}

/// The logs of one base in one folder.
#[derive(Debug, Clone)]
pub struct LogSetFact {
    /// Folder.
    pub dir: PathBuf,
    /// Base name.
    pub base: String,
    /// Extension in use (`log` or `jtx`).
    pub ext: LogExt,
    /// Width of archived names (5 or 8; 0 when none exist).
    pub digits: u8,
    /// Files in generation order, current log last.
    pub logs: Vec<LogFact>,
    /// Backup copies found in the folder when it has no current log: a
    /// restored backup set ([`crate::log::backup_set`]).
    pub backup_sets: Vec<crate::log::backup_set::BackupSet>,
}

/// Everything `plan` read.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Databases.
    pub databases: Vec<DbFact>,
    /// Checkpoints.
    pub checkpoints: Vec<CheckpointFact>,
    /// Log sequences.
    pub log_sets: Vec<LogSetFact>,
    /// Files that were looked at and left out, with the reason.
    pub ignored: Vec<(PathBuf, String)>,
}

/// The CreateDB, AttachDB and DetachDB records of a log.
fn db_records(records: &[LogRecord]) -> Vec<DbRecordFact> {
    let fact = |r: &LogRecord, kind, dbid, path: LoggedPath<'_>| DbRecordFact {
        lgpos: r.lgpos,
        kind,
        dbid,
        path: path.text(),
        sign_db: None,
        lgpos_consistent: None,
    };
    let mut v = Vec::new();
    for r in records {
        match r.decode() {
            Ok(Record::CreateDb(c)) => v.push(DbRecordFact {
                sign_db: Some(c.sign_db.value()),
                ..fact(r, "create", c.dbid, c.path)
            }),
            Ok(Record::AttachDb(a)) => v.push(DbRecordFact {
                sign_db: Some(a.sign_db.value()),
                lgpos_consistent: Some(a.lgpos_consistent),
                ..fact(r, "attach", a.dbid, a.path)
            }),
            Ok(Record::DetachDb(d)) => v.push(fact(r, "detach", d.dbid, d.path)),
            _ => {}
        }
    }
    v
}

/// Reads the logs of `base` in `dir` (every generation, the current log
/// last) with their integrity and sequence checks.
pub fn gather_log_set(dir: &Path, base: &str) -> Result<LogSetFact, Error> {
    let mut logs = Vec::new();
    let mut ext = LogExt::Log;
    let mut digits = 0;
    // One generation at a time: each file is folded into a small LogFact
    // (header facts, database records, torn records) and its records dropped.
    let verdict = check_set_streamed(dir, base, None, |s| {
        let SetStep::File(f, issues) = s else {
            return Ok(());
        };
        if let Some(n) = &f.name {
            ext = n.ext;
            if matches!(n.kind, LogNameKind::Generation(_)) {
                digits = n.digits;
            }
        }
        logs.push(log_fact(&f, &issues));
        Ok(())
    })?;
    Ok(LogSetFact {
        dir: dir.to_path_buf(),
        base: base.to_string(),
        ext,
        digits,
        logs,
        backup_sets: verdict.backup_sets,
    })
}

/// The facts `plan` keeps of one checked log file.
fn log_fact(f: &LogFileCheck, issues: &[SetIssue]) -> LogFact {
    let name = f.name.as_ref();
    let h = f.scan.as_ref().map(|s| &s.header);
    LogFact {
        path: f.path.clone(),
        name_generation: name.and_then(|n| match n.kind {
            LogNameKind::Generation(g) => Some(g),
            _ => None,
        }),
        generation: h.map(|h| h.generation as u32),
        sign_log: h.map(|h| h.sign_log),
        version: h.map_or((0, 0, 0, 0), |h| {
            (h.major, h.minor, h.update_major, h.update_minor)
        }),
        csec_header: h.map_or(1, |h| h.csec_header),
        attachments: h.map(|h| h.attachments.clone()).unwrap_or_default(),
        db_records: f
            .walk
            .as_ref()
            .map(|w| db_records(&w.records))
            .unwrap_or_default(),
        error: f.error().map(|e| (e.jet, e.to_string())),
        patchable: f.scan.as_ref().is_some_and(|s| s.patchable_at.is_some()),
        torn: f.torn().to_vec(),
        // −530 is judged by plan against the stream's signature.
        chain_issues: issues
            .iter()
            .filter(|i| i.jet != Jet::BAD_LOG_SIGNATURE)
            .cloned()
            .collect(),
    }
}

fn read_db(path: &Path, probe: &[u8]) -> DbFact {
    let header = read_header_pair(probe)
        .map(|p| p.header().clone())
        .map_err(|e| (e.jet, e.to_string()));
    DbFact {
        path: path.to_path_buf(),
        header,
    }
}

fn read_chk(path: &Path) -> Result<CheckpointFact, Error> {
    let b = crate::file::read_prefix(path, 2 * crate::parse::checkpoint::CHECKPOINT_COPY_SIZE)?;
    let base = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("edb")
        .to_string();
    Ok(CheckpointFact {
        path: path.to_path_buf(),
        base,
        checkpoint: read_checkpoint_pair(&b)
            .map(|p| p.checkpoint().clone())
            .map_err(|e| (e.jet, e.to_string())),
    })
}

#[derive(Default)]
struct Gatherer {
    facts: Facts,
    seen: BTreeSet<PathBuf>,
    sets: BTreeSet<(PathBuf, String)>,
}

impl Gatherer {
    fn file(&mut self, path: &Path, from_dir: bool) -> Result<(), Error> {
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if !self.seen.insert(key) {
            return Ok(());
        }
        let fname = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Log-family names are handled per base (check_set).
        if let Some(n) = parse_log_file_name(fname) {
            if matches!(n.kind, LogNameKind::Generation(_) | LogNameKind::Current) {
                let dir = parent_of(path);
                self.set(&dir, &n.base)?;
            }
            return Ok(());
        }
        let mut input = match Input::open(path) {
            Ok(i) => i,
            Err(e) if from_dir => {
                self.facts.ignored.push((path.to_path_buf(), e.to_string()));
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let probe = input.probe()?;
        if is_patch_file(path, &probe) {
            self.facts.ignored.push((
                path.to_path_buf(),
                "a backup patch file (PATCHHDR): part of a restored backup set".into(),
            ));
            return Ok(());
        }
        match identify(&probe) {
            FileKind::Database => self.facts.databases.push(read_db(path, &probe)),
            FileKind::Checkpoint => {
                let c = read_chk(path)?;
                let dir = parent_of(path);
                let base = c.base.clone();
                self.facts.checkpoints.push(c);
                if crate::log::naming::is_base_name(&base) {
                    self.set(&dir, &base)?;
                }
            }
            k => self.facts.ignored.push((path.to_path_buf(), k.describe())),
        }
        Ok(())
    }

    fn set(&mut self, dir: &Path, base: &str) -> Result<(), Error> {
        let key = (
            dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
            base.to_ascii_lowercase(),
        );
        if !self.sets.insert(key) {
            return Ok(());
        }
        let s = gather_log_set(dir, base)?;
        if !s.logs.is_empty() {
            self.facts.log_sets.push(s);
        }
        Ok(())
    }

    fn dir(&mut self, dir: &Path) -> Result<(), Error> {
        for base in bases_in(dir)? {
            self.set(dir, &base)?;
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        entries.sort();
        for p in entries {
            self.file(&p, true)?;
        }
        Ok(())
    }
}

/// A `.pat` file holding a PATCHHDR (its first page checks as one).
fn is_patch_file(path: &Path, probe: &[u8]) -> bool {
    let pat = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pat"));
    pat && crate::parse::db_header::PAGE_SIZES
        .iter()
        .any(|&ps| probe.len() >= ps && crate::parse::patch::read_patch_page(&probe[..ps]).is_ok())
}

fn parent_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Reads every PATH: a database, a checkpoint, a log file (its whole
/// sequence is read), a base name (`DIR/edb`) or a folder (everything in
/// it, not recursive).
pub fn gather(paths: &[PathBuf]) -> Result<Facts, Error> {
    let mut g = Gatherer::default();
    for p in paths {
        if p.is_dir() {
            g.dir(p)?;
        } else if p.is_file() {
            g.file(p, false)?;
        } else {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let dir = parent_of(p);
            if crate::log::naming::is_base_name(name) && dir.is_dir() {
                g.set(&dir, name)?;
            } else {
                return Err(Error::io(
                    p,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no such database, log, checkpoint, base name or folder",
                    ),
                ));
            }
        }
    }
    Ok(g.facts)
}

// ---------------------------------------------------------------------------
// The plan
// ---------------------------------------------------------------------------

/// A JET error with the sentence explaining it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The JET error recovery would stop with.
    pub jet: Jet,
    /// What is wrong, naming files.
    pub message: ProblemText,
}

/// What a [`Problem`] says: a sentence of the plan's, or a fact of the log
/// layer that [`crate::report::findings`] words (as text, and as a JSON
/// string, the same way as `/ml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemText {
    /// The plan's sentence.
    Text(String),
    /// A sequence or backup-coverage finding, of `file` when given.
    Set {
        /// The log file it is about (`edb00002.log`), shown first.
        file: Option<String>,
        /// The finding.
        issue: SetIssue,
    },
}

impl From<String> for ProblemText {
    fn from(t: String) -> Self {
        ProblemText::Text(t)
    }
}

impl From<&str> for ProblemText {
    fn from(t: &str) -> Self {
        ProblemText::Text(t.to_string())
    }
}

/// A generation in the plan: its file name and where it was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    /// Generation (header, else name).
    pub generation: Option<u32>,
    /// File name (`edb0001E.log`, `edb.log`).
    pub file_name: String,
    /// Full path.
    pub path: PathBuf,
    /// `replayed`, `before_start` (older than where redo starts; not needed)
    /// `foreign` (another stream's signature) or `misnamed` (its header
    /// holds another generation than its name: not replayed).
    pub role: &'static str,
    /// `ok`, `patchable` (torn last write, recovery patches it) or `damaged`.
    pub status: &'static str,
    /// Integrity or sequence problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
    /// The log's signature (eseutil text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Records a crash left unfinished, abandoned as ESE's reader does.
    pub torn_records: Vec<TornRecord>,
}

/// A run of missing generations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingRange {
    /// First generation.
    pub first: u32,
    /// Last generation.
    pub last: u32,
    /// The file names (archived names; the current log is reported apart),
    /// at most [`MAX_LISTED_NAMES`] of them.
    pub file_names: Vec<String>,
    /// True when the range holds more names than `file_names` lists.
    pub file_names_truncated: bool,
    /// eseutil's compact form (`edb{00004 - 00006}.log`).
    pub text: String,
}

/// The checkpoint as recovery uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointUse {
    /// The file.
    pub path: PathBuf,
    /// lgposCheckpoint.
    pub lgpos: Lgpos,
    /// Its generation as a file name.
    pub file_name: String,
    /// Whether the checkpoint carries the attach list (fVersion bit 0).
    pub attach_info_present: bool,
    /// Whether redo starts exactly at lgposCheckpoint (else at the start of
    /// its generation, with that log header's attach list).
    pub exact: bool,
    /// Databases attached at the checkpoint (its attach list).
    pub attachments: Vec<AttachEntry>,
}

/// An attach-list entry (log header or checkpoint).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachEntry {
    /// dbid.
    pub dbid: u8,
    /// Recorded path.
    pub path: String,
    /// Database signature.
    pub sign_db: Signature,
    /// Consistent position recorded.
    pub lgpos_consistent: Lgpos,
}

impl From<&AttachInfo> for AttachEntry {
    fn from(a: &AttachInfo) -> Self {
        AttachEntry {
            dbid: a.dbid,
            path: a.path.clone(),
            sign_db: a.sign_db,
            lgpos_consistent: a.lgpos_consistent,
        }
    }
}

/// What redo does with one database the logs name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedDatabase {
    /// dbid (last seen).
    pub dbid: u8,
    /// Path recorded in the logs.
    pub path: String,
    /// Signature (last seen).
    pub sign_db: Option<Signature>,
    /// How it enters redo: `attach_list` (header/checkpoint), `created`
    /// (CreateDB), `attached` (AttachDB).
    pub enters: &'static str,
    /// The records naming it, in order.
    pub records: Vec<DbRecordFact>,
    /// Whether it is still attached after the last replayed record.
    pub attached_at_end: bool,
    /// The database file given that matches it (signature), if any.
    pub file: Option<PathBuf>,
    /// `recreated` (CreateDB replayed: no file needed), `replayed` (file
    /// present), `missing` (file needed and absent: −1216 at the end),
    /// `skipped` (absent, but detached again in the replayed range).
    pub outcome: &'static str,
}

/// A database given to `plan`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabasePlan {
    /// The file.
    pub path: PathBuf,
    /// JET_dbstate value and name.
    pub state: u32,
    /// State name as eseutil prints it.
    pub state_name: &'static str,
    /// Database signature.
    pub sign_db: Signature,
    /// Log signature the database belongs to.
    pub sign_log: Signature,
    /// Log Required min-max (0-0 when clean).
    pub required: (u32, u32),
    /// Log Committed max.
    pub committed_max: u32,
    /// Required generations as file names (when the base is known) or as
    /// the pattern `<base>%05X.log` with the generation in hex.
    pub required_files: Vec<String>,
    /// `clean` (nothing needed), `can_recover`, `cannot_recover`,
    /// `unreadable`.
    pub verdict: &'static str,
    /// Why it cannot be recovered.
    pub problems: Vec<Problem>,
}

/// Everything about one log stream (one log signature).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamPlan {
    /// The stream's log signature (None when unknown: no log, checkpoint or
    /// readable database).
    pub sign_log: Option<Signature>,
    /// Base name (`edb`), None when no log or checkpoint names it.
    pub base: Option<String>,
    /// Folder of the logs.
    pub log_dir: Option<PathBuf>,
    /// Folder of the checkpoint (eseutil /s).
    pub system_dir: Option<PathBuf>,
    /// The checkpoint, if any.
    pub checkpoint: Option<CheckpointUse>,
    /// Where redo starts and why.
    pub redo_start: Option<Lgpos>,
    /// Why redo starts there.
    pub redo_start_reason: String,
    /// Last generation redo reaches (the current log's, else the highest
    /// present or required).
    pub redo_end_generation: Option<u32>,
    /// Every log file found for this stream's base, in order.
    pub logs: Vec<LogEntry>,
    /// Missing generations in the redo range.
    pub missing: Vec<MissingRange>,
    /// Whether the current log (`edb.log`) is absent.
    pub current_log_missing: bool,
    /// Databases named by the attach lists and CreateDB/AttachDB/DetachDB
    /// records in the replayed range.
    pub logged_databases: Vec<LoggedDatabase>,
    /// Databases created by the logs *before* the redo start (checkpoint):
    /// recovery from the checkpoint does not rebuild them; replay without
    /// the checkpoint would.
    pub rebuildable_without_checkpoint: Vec<LoggedDatabase>,
    /// Databases given that belong to this stream.
    pub databases: Vec<DatabasePlan>,
    /// What stops recovery.
    pub problems: Vec<Problem>,
    /// Remarks that do not stop recovery.
    pub notes: Vec<String>,
    /// `nothing_to_do`, `ready` or `blocked`.
    pub verdict: &'static str,
    /// One sentence saying what recovery can do.
    pub summary: String,
    /// What to do, in order (the last step is the command).
    pub steps: Vec<String>,
    /// The eseutil-rs command (also valid for Microsoft's eseutil).
    pub command: Option<String>,
    /// A restored backup set in the log folder (no current log by design;
    /// verdict `hard_recovery`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub backup_sets: Vec<crate::log::backup_set::BackupSet>,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// One entry per log stream.
    pub streams: Vec<StreamPlan>,
    /// Files left out, with the reason.
    pub ignored: Vec<(PathBuf, String)>,
    /// Whether recovery can proceed (or nothing is needed) everywhere.
    pub ok: bool,
}

/// Whether a log version stores the attach list in the checkpoint
/// (≥ 8.4000.4.3, `FLGVersionAttachInfoInCheckpoint`).
pub fn attach_info_in_checkpoint(v: (u32, u32, u32, u32)) -> bool {
    v >= (8, 4000, 4, 3)
}

/// A generation's file name; `digits` 0 = the default width.
fn gen_name(base: &str, g: u32, digits: u8, ext: LogExt) -> String {
    generation_file_name_width(base, g, if digits == 0 { 5 } else { digits }, ext)
}

/// Pattern names when the base is unknown: `<base>0007C.log`.
fn pattern_name(g: u32) -> String {
    gen_name("<base>", g, 0, LogExt::Log)
}

/// Most file names listed per missing range or required range: the ranges
/// themselves are always exact, but a hostile header can claim billions of
/// generations (found by fuzzing the planner).
pub const MAX_LISTED_NAMES: u32 = 64;

/// The generations of `first..=last` that are not in `present` (nor `skip`),
/// as ranges, without visiting every generation of the span.
fn gaps(first: u32, last: u32, present: &BTreeSet<u32>, skip: Option<u32>) -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    if first > last {
        // A hostile header can put the redo start after the end (BTreeSet::range
        // panics on such a range: found by fuzzing).
        return out;
    }
    let mut next = first;
    let have = present
        .range(first..=last)
        .copied()
        .chain(skip.filter(|g| (first..=last).contains(g)));
    let mut have: Vec<u32> = have.collect();
    have.sort_unstable();
    have.dedup();
    for g in have {
        if g > next {
            out.push((next, g - 1));
        }
        next = g.saturating_add(1);
        if g == u32::MAX {
            return out;
        }
    }
    if next <= last {
        out.push((next, last));
    }
    out
}

fn missing_ranges(base: &str, ranges: &[(u32, u32)], digits: u8, ext: LogExt) -> Vec<MissingRange> {
    ranges
        .iter()
        .map(|&(first, last)| {
            let listed_last = last.min(first.saturating_add(MAX_LISTED_NAMES - 1));
            let file_names: Vec<String> = (first..=listed_last)
                .map(|g| gen_name(base, g, digits, ext))
                .collect();
            let text = if first == last {
                file_names[0].clone()
            } else {
                let strip = |s: &str| s[base.len()..s.len() - 1 - ext.as_str().len()].to_string();
                format!(
                    "{base}{{{} - {}}}.{}",
                    strip(&file_names[0]),
                    strip(&gen_name(base, last, digits, ext)),
                    ext.as_str()
                )
            };
            MissingRange {
                first,
                last,
                file_names,
                file_names_truncated: listed_last < last,
                text,
            }
        })
        .collect()
}

fn file_name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn quote(p: &Path) -> String {
    let s = p.display().to_string();
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@".contains(c))
    {
        s
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Tracks attachments through the db records from `start`.
fn walk_attachments(
    initial: &[AttachEntry],
    logs: &[&LogFact],
    from: Lgpos,
    until: Option<Lgpos>,
) -> Vec<LoggedDatabase> {
    let mut out: Vec<LoggedDatabase> = initial
        .iter()
        .map(|a| LoggedDatabase {
            dbid: a.dbid,
            path: a.path.clone(),
            sign_db: Some(a.sign_db),
            enters: "attach_list",
            records: Vec::new(),
            attached_at_end: true,
            file: None,
            outcome: "",
        })
        .collect();
    for l in logs {
        for r in &l.db_records {
            if r.lgpos < from || until.is_some_and(|u| r.lgpos >= u) {
                continue;
            }
            let idx = out
                .iter()
                .position(|d| d.path.eq_ignore_ascii_case(&r.path))
                .or_else(|| {
                    (r.kind == "detach")
                        .then(|| {
                            out.iter()
                                .position(|d| d.dbid == r.dbid && d.attached_at_end)
                        })
                        .flatten()
                });
            let i = match idx {
                Some(i) => i,
                None => {
                    out.push(LoggedDatabase {
                        dbid: r.dbid,
                        path: r.path.clone(),
                        sign_db: r.sign_db,
                        enters: match r.kind {
                            "create" => "created",
                            "attach" => "attached",
                            _ => "detached",
                        },
                        records: Vec::new(),
                        attached_at_end: false,
                        file: None,
                        outcome: "",
                    });
                    out.len() - 1
                }
            };
            let d = &mut out[i];
            d.dbid = r.dbid;
            if r.sign_db.is_some() {
                d.sign_db = r.sign_db;
            }
            d.attached_at_end = r.kind != "detach";
            d.records.push(r.clone());
        }
    }
    out
}

struct StreamInput<'a> {
    sign: Option<Signature>,
    set: Option<&'a LogSetFact>,
    checkpoint: Option<&'a CheckpointFact>,
    dbs: Vec<&'a DbFact>,
}

/// The streams to plan: one per log set (with its checkpoint), the
/// checkpoints no set claimed, then each readable database joined to the
/// stream of its log signature (or a stream of its own). Databases whose
/// header does not read are returned apart.
fn stream_inputs(facts: &Facts) -> (Vec<StreamInput<'_>>, Vec<&DbFact>) {
    let mut inputs: Vec<StreamInput<'_>> = Vec::new();
    let mut used_chk = vec![false; facts.checkpoints.len()];
    for set in &facts.log_sets {
        // The stream's signature: the checkpoint of this base in this folder,
        // else the current log's, else the newest generation's.
        let chk = facts
            .checkpoints
            .iter()
            .position(|c| c.base.eq_ignore_ascii_case(&set.base) && parent_of(&c.path) == set.dir);
        let chk_sig = chk.and_then(|i| {
            facts.checkpoints[i]
                .checkpoint
                .as_ref()
                .ok()
                .map(|c| c.sign_log)
        });
        let sig = chk_sig.or_else(|| set.logs.iter().rev().find_map(|l| l.sign_log));
        let chk = chk.or_else(|| {
            facts.checkpoints.iter().position(|c| {
                c.checkpoint.as_ref().ok().map(|c| c.sign_log) == sig
                    && c.base.eq_ignore_ascii_case(&set.base)
            })
        });
        if let Some(i) = chk {
            used_chk[i] = true;
        }
        inputs.push(StreamInput {
            sign: sig,
            set: Some(set),
            checkpoint: chk.map(|i| &facts.checkpoints[i]),
            dbs: Vec::new(),
        });
    }
    for (i, c) in facts.checkpoints.iter().enumerate() {
        if !used_chk[i] {
            inputs.push(StreamInput {
                sign: c.checkpoint.as_ref().ok().map(|c| c.sign_log),
                set: None,
                checkpoint: Some(c),
                dbs: Vec::new(),
            });
        }
    }
    let mut unreadable = Vec::new();
    for d in &facts.databases {
        let Ok(h) = &d.header else {
            unreadable.push(d);
            continue;
        };
        match inputs
            .iter_mut()
            .find(|s| s.sign == Some(h.sign_log) && (s.set.is_some() || s.checkpoint.is_some()))
        {
            Some(s) => s.dbs.push(d),
            None => match inputs
                .iter_mut()
                .find(|s| s.set.is_none() && s.checkpoint.is_none() && s.sign == Some(h.sign_log))
            {
                Some(s) => s.dbs.push(d),
                None => inputs.push(StreamInput {
                    sign: Some(h.sign_log),
                    set: None,
                    checkpoint: None,
                    dbs: vec![d],
                }),
            },
        }
    }
    (inputs, unreadable)
}

/// The stream of a database whose header does not read.
fn unreadable_stream(d: &DbFact) -> StreamPlan {
    let (jet, msg) = d.header.as_ref().err().cloned().unwrap();
    StreamPlan {
        sign_log: None,
        base: None,
        log_dir: None,
        system_dir: None,
        checkpoint: None,
        redo_start: None,
        redo_start_reason: String::new(),
        redo_end_generation: None,
        logs: Vec::new(),
        missing: Vec::new(),
        current_log_missing: false,
        logged_databases: Vec::new(),
        rebuildable_without_checkpoint: Vec::new(),
        databases: Vec::new(),
        backup_sets: Vec::new(),
        problems: vec![Problem {
            jet,
            message: format!(
                "the database header of {} cannot be read: {msg}",
                d.path.display()
            )
            .into(),
        }],
        notes: Vec::new(),
        verdict: "blocked",
        summary: "the database header cannot be read".into(),
        steps: Vec::new(),
        command: None,
    }
}

/// Plans recovery from gathered facts (pure: no I/O).
pub fn plan(facts: &Facts) -> Plan {
    let (inputs, unreadable) = stream_inputs(facts);
    let mut streams: Vec<StreamPlan> = inputs.iter().map(plan_stream).collect();
    streams.extend(unreadable.into_iter().map(unreadable_stream));
    let ok = streams.iter().all(|s| s.verdict != "blocked");
    Plan {
        streams,
        ignored: facts.ignored.clone(),
        ok,
    }
}

/// How the generations of a stream are named (`edb00001.log`, or a
/// pattern when the base name is unknown).
struct Naming {
    base: Option<String>,
    ext: LogExt,
    digits: u8,
}

impl Naming {
    fn of(inp: &StreamInput<'_>) -> Naming {
        Naming {
            base: inp
                .set
                .map(|s| s.base.clone())
                .or_else(|| inp.checkpoint.map(|c| c.base.clone())),
            ext: inp.set.map_or(LogExt::Log, |s| s.ext),
            digits: inp.set.map_or(0, |s| s.digits),
        }
    }

    fn name(&self, g: u32) -> String {
        match &self.base {
            Some(b) => gen_name(b, g, self.digits, self.ext),
            None => pattern_name(g),
        }
    }
}

/// The logs that belong to the stream (neither foreign nor misnamed).
struct OwnLogs<'a> {
    logs: Vec<&'a LogFact>,
    /// The current log (`<base>.log`).
    current: Option<&'a LogFact>,
    /// Generations present.
    present: BTreeSet<u32>,
    /// The lowest archived generation present.
    lowest_archived: Option<u32>,
}

fn gen_of(l: &LogFact) -> Option<u32> {
    l.generation.or(l.name_generation)
}

impl<'a> OwnLogs<'a> {
    fn new(logs: Vec<&'a LogFact>) -> OwnLogs<'a> {
        OwnLogs {
            current: logs.iter().find(|l| l.name_generation.is_none()).copied(),
            present: logs.iter().filter_map(|l| gen_of(l)).collect(),
            lowest_archived: logs
                .iter()
                .filter(|l| l.name_generation.is_some())
                .filter_map(|l| gen_of(l))
                .min(),
            logs,
        }
    }

    fn at(&self, g: u32) -> Option<&'a LogFact> {
        self.logs.iter().find(|l| gen_of(l) == Some(g)).copied()
    }

    /// In generation order.
    fn ordered(&self) -> Vec<&'a LogFact> {
        let mut v = self.logs.clone();
        v.sort_by_key(|l| gen_of(l).unwrap_or(u32::MAX));
        v
    }
}

/// What is wrong with one log of the set: it belongs to another stream, is
/// damaged, breaks the chain, or holds another generation than its name
/// says (-513: not replayed, does not stand for that generation).
fn log_problem(l: &LogFact, sign: Option<Signature>) -> (bool, bool, Option<Problem>) {
    let foreign = matches!((l.sign_log, sign), (Some(a), Some(b)) if a != b);
    let problem = if foreign {
        Some(Problem {
            jet: Jet::BAD_LOG_SIGNATURE,
            message: format!(
                "{} belongs to another log stream (signature {}; expected {})",
                file_name_of(&l.path),
                l.sign_log.map(|s| s.eseutil_text()).unwrap_or_default(),
                sign.map(|s| s.eseutil_text()).unwrap_or_default()
            )
            .into(),
        })
    } else if let Some((jet, msg)) = &l.error {
        Some(Problem {
            jet: *jet,
            message: format!("{} is damaged: {msg}", file_name_of(&l.path)).into(),
        })
    } else {
        l.chain_issues.first().map(|i| Problem {
            jet: i.jet,
            message: ProblemText::Set {
                file: Some(file_name_of(&l.path)),
                issue: i.clone(),
            },
        })
    };
    let misnamed = matches!((l.name_generation, l.generation), (Some(n), Some(g)) if n != g);
    let problem = match (misnamed && !foreign, problem) {
        (true, None) => Some(Problem {
            jet: Jet::LOG_GENERATION_MISMATCH,
            message: format!(
                "{} holds generation 0x{:X}, not the generation its name says",
                file_name_of(&l.path),
                l.generation.unwrap_or_default()
            )
            .into(),
        }),
        (_, p) => p,
    };
    (foreign, misnamed, problem)
}

/// Phase 1: every log of the set, belonging or not.
fn classify_logs<'a>(inp: &StreamInput<'a>) -> (OwnLogs<'a>, Vec<LogEntry>) {
    let mut own: Vec<&LogFact> = Vec::new();
    let mut logs: Vec<LogEntry> = Vec::new();
    for l in inp.set.into_iter().flat_map(|s| s.logs.iter()) {
        let (foreign, misnamed, problem) = log_problem(l, inp.sign);
        if !foreign && !misnamed {
            own.push(l);
        }
        logs.push(LogEntry {
            generation: gen_of(l),
            file_name: file_name_of(&l.path),
            path: l.path.clone(),
            role: if foreign {
                "foreign"
            } else if misnamed {
                "misnamed"
            } else {
                "replayed"
            },
            status: if l.error.is_some() {
                "damaged"
            } else if l.patchable {
                "patchable"
            } else {
                "ok"
            },
            problem,
            signature: l.sign_log.map(|s| s.eseutil_text()),
            torn_records: l.torn.clone(),
        });
    }
    (OwnLogs::new(own), logs)
}

/// Phase 2: the checkpoint, when it belongs to the stream and reads.
fn use_checkpoint(
    inp: &StreamInput<'_>,
    own: &OwnLogs<'_>,
    naming: &Naming,
    problems: &mut Vec<Problem>,
) -> (Option<CheckpointUse>, Option<u32>) {
    let Some(c) = inp.checkpoint else {
        return (None, None);
    };
    match &c.checkpoint {
        Ok(cp) if Some(cp.sign_log) != inp.sign && inp.sign.is_some() => {
            problems.push(Problem {
                jet: Jet::BAD_CHECKPOINT_SIGNATURE,
                message: format!(
                    "checkpoint {} belongs to another log stream ({})",
                    c.path.display(),
                    cp.sign_log.eseutil_text()
                )
                .into(),
            });
            (None, None)
        }
        Ok(cp) => {
            let g = cp.lgpos_checkpoint.generation as u32;
            let present_info = cp.version & ATTACH_INFO_PRESENT != 0;
            let exact = present_info
                && own
                    .at(g)
                    .is_some_and(|l| attach_info_in_checkpoint(l.version));
            let use_ = CheckpointUse {
                path: c.path.clone(),
                lgpos: cp.lgpos_checkpoint,
                file_name: match own.current.filter(|l| gen_of(l) == Some(g)) {
                    Some(cur) => file_name_of(&cur.path),
                    None => naming.name(g),
                },
                attach_info_present: present_info,
                exact,
                attachments: if present_info {
                    cp.attachments.iter().map(AttachEntry::from).collect()
                } else {
                    Vec::new()
                },
            };
            (Some(use_), Some(g))
        }
        Err((jet, msg)) => {
            problems.push(Problem {
                jet: *jet,
                message: format!("checkpoint {} cannot be read: {msg}", c.path.display()).into(),
            });
            (None, None)
        }
    }
}

/// The dirty databases given, and the generations they need.
struct Needs<'a> {
    dirty: Vec<&'a DbHeader>,
    min_required: Option<u32>,
    max_needed: Option<u32>,
}

impl<'a> Needs<'a> {
    fn of(inp: &StreamInput<'a>) -> Needs<'a> {
        let dirty: Vec<&DbHeader> = inp
            .dbs
            .iter()
            .filter_map(|d| d.header.as_ref().ok())
            .filter(|h| h.db_state != crate::parse::db_header::STATE_CLEAN_SHUTDOWN)
            .collect();
        Needs {
            min_required: dirty
                .iter()
                .filter(|h| h.gen_min_required > 0)
                .map(|h| h.gen_min_required as u32)
                .min(),
            max_needed: dirty
                .iter()
                .map(|h| (h.gen_max_required.max(h.gen_max_committed)).max(0) as u32)
                .max(),
            dirty,
        }
    }
}

/// Where redo starts, why, and the attach list there.
struct RedoStart {
    at: Option<Lgpos>,
    reason: String,
    initial: Vec<AttachEntry>,
}

/// Phase 3: the redo start — the checkpoint (with its attach list when
/// exact, else the start of its generation with that log header's list),
/// else the lowest archived generation, the current log, or the databases'
/// minimum.
fn redo_start(
    inp: &StreamInput<'_>,
    own: &OwnLogs<'_>,
    checkpoint: &Option<CheckpointUse>,
    cp_gen: Option<u32>,
    needs: &Needs<'_>,
    naming: &Naming,
) -> RedoStart {
    let from_header = |g: u32, reason: String| {
        let l = own.at(g);
        RedoStart {
            at: Some(Lgpos {
                generation: g as i32,
                sector: l.map_or(1, |l| l.csec_header),
                offset: 0,
            }),
            reason,
            initial: l
                .map(|l| l.attachments.iter().map(AttachEntry::from).collect())
                .unwrap_or_default(),
        }
    };
    match (checkpoint, cp_gen) {
        (Some(c), Some(_)) if c.exact => RedoStart {
            at: Some(c.lgpos),
            reason: format!(
                "the checkpoint {} ({}), with the checkpoint's attach list",
                c.lgpos.eseutil_text(),
                c.file_name
            ),
            initial: c.attachments.clone(),
        },
        (Some(c), Some(g)) => from_header(
            g,
            format!(
                "the start of the checkpoint's generation {} ({}), with that log header's attach list (the checkpoint {} {})",
                c.file_name,
                format_args!("0x{g:X}"),
                c.lgpos.eseutil_text(),
                if c.attach_info_present { "is older than the log format that keeps attachments in the checkpoint" } else { "carries no attach list" }
            ),
        ),
        _ => {
            let g = own
                .lowest_archived
                .or_else(|| own.current.and_then(gen_of))
                .or(needs.min_required);
            let Some(g) = g else {
                return RedoStart {
                    at: None,
                    reason: String::new(),
                    initial: Vec::new(),
                };
            };
            let why = if inp.set.is_none() {
                "no log or checkpoint was given; the databases' Log Required minimum"
            } else if own.lowest_archived.is_some() {
                "no checkpoint: the lowest archived generation present"
            } else {
                "no checkpoint: the current log"
            };
            from_header(g, format!("{why} ({})", naming.name(g)))
        }
    }
}

/// Phase 4: the last generation redo reaches — the current log's, else the
/// highest present, needed, or named by a misnamed file.
fn end_generation(own: &OwnLogs<'_>, needs: &Needs<'_>, logs: &[LogEntry]) -> Option<u32> {
    let max_needed = needs.max_needed;
    let end_gen = own
        .current
        .and_then(gen_of)
        .or_else(|| own.present.iter().max().copied().max(max_needed))
        .or(max_needed);
    let end_gen = match (end_gen, max_needed) {
        (Some(e), Some(m)) if own.current.is_none() => Some(e.max(m)),
        (e, _) => e,
    };
    // A misnamed file's name says the sequence reached that generation.
    let named_max = logs
        .iter()
        .filter(|e| e.role == "misnamed")
        .filter_map(|e| match parse_log_file_name(&e.file_name)?.kind {
            crate::log::naming::LogNameKind::Generation(g) => Some(g),
            _ => None,
        })
        .max();
    match (end_gen, named_max) {
        (Some(e), Some(n)) if own.current.is_none() => Some(e.max(n)),
        (e, _) => e,
    }
}

/// Problems and notes of one stream, in the order they are found.
#[derive(Default)]
struct Findings {
    problems: Vec<Problem>,
    notes: Vec<String>,
}

/// The generation range redo needs.
struct Range {
    start_gen: Option<u32>,
    end_gen: Option<u32>,
    /// The first generation needed (the start, or older when a database
    /// needs older logs than the checkpoint).
    first_needed: Option<u32>,
    cp_gen: Option<u32>,
}

/// Phase 5: generations missing in the redo range, backup-set coverage and
/// the current log.
fn missing_generations(
    inp: &StreamInput<'_>,
    own: &OwnLogs<'_>,
    naming: &Naming,
    range: &mut Range,
    min_required: Option<u32>,
    f: &mut Findings,
) -> Vec<MissingRange> {
    if let (Some(s), Some(m)) = (range.start_gen, min_required) {
        if m < s && inp.set.is_some() {
            f.notes.push(format!(
                "a database needs generation 0x{m:X}, older than where redo starts ({}); the checkpoint is newer than that database",
                naming.name(s)
            ));
            range.first_needed = Some(m);
        }
    }
    let missing_gens = match (range.first_needed, range.end_gen) {
        (Some(s), Some(e)) => gaps(s, e, &own.present, own.current.and_then(gen_of)),
        _ => Vec::new(),
    };
    let base = naming.base.as_deref().unwrap_or("<base>");
    let missing = missing_ranges(base, &missing_gens, naming.digits, naming.ext);
    for r in missing.iter().filter(|_| inp.set.is_some()) {
        let first = Some(r.first) == range.first_needed;
        let jet = if first {
            Jet::MISSING_PREVIOUS_LOG_FILE
        } else {
            Jet::MISSING_LOG_FILE
        };
        let what = if Some(r.first) == range.cp_gen {
            "the checkpoint's generation is missing"
        } else if first {
            "the first generation redo needs is missing"
        } else {
            "generations in the redo range are missing"
        };
        f.problems.push(Problem {
            jet,
            message: format!("{what}: {}", r.text).into(),
        });
    }
    missing
}

/// Phase 5 (continued): a restored backup set must cover the generations
/// present; the current log must be there unless a backup set stands for it.
fn backup_and_current(
    inp: &StreamInput<'_>,
    own: &OwnLogs<'_>,
    naming: &Naming,
    f: &mut Findings,
) -> Vec<crate::log::backup_set::BackupSet> {
    let backup_sets: Vec<_> = inp.set.map(|s| s.backup_sets.clone()).unwrap_or_default();
    let span = own.present.iter().min().zip(own.present.iter().max());
    let span = span.map(|(&a, &b)| (a, b));
    for step in crate::log::backup_set::coverage_issues(&backup_sets, span) {
        if let SetStep::Missing(i) = step {
            f.problems.push(Problem {
                jet: i.jet,
                message: ProblemText::Set {
                    file: None,
                    issue: i,
                },
            });
        }
    }
    if inp.set.is_some() && own.current.is_none() && backup_sets.is_empty() {
        let b = naming.base.clone().unwrap_or_default();
        f.problems.push(Problem {
            jet: Jet::MISSING_LOG_FILE,
            message: format!(
                "the current log {} is missing: eseutil /r stops with -528 unless run with /a (lossy: whatever was only in the current log is lost)",
                current_file_name(&b, naming.ext)
            ).into(),
        });
    }
    backup_sets
}

/// Phase 6: logs in the range that are damaged or break the chain; logs
/// before the start are marked so.
fn range_logs(logs: &mut [LogEntry], range: &Range, f: &mut Findings) {
    for e in logs {
        if e.role == "foreign" || e.role == "misnamed" {
            f.problems.extend(e.problem.clone());
            continue;
        }
        if let (Some(g), Some(s)) = (e.generation, range.start_gen) {
            if g < s && range.first_needed.is_none_or(|first| g < first) {
                e.role = "before_start";
                continue;
            }
        }
        f.problems.extend(e.problem.clone());
        if e.status == "patchable" {
            f.notes.push(format!(
                "{} ends with a torn write that recovery patches from its shadow segment",
                e.file_name
            ));
        }
        for t in &e.torn_records {
            f.notes.push(format!(
                "{}: {} (a crash left it unfinished; recovery skips it as ESE does)",
                e.file_name,
                t.text()
            ));
        }
    }
}

/// The databases given whose header reads.
type Given<'a> = Vec<(&'a DbFact, &'a DbHeader)>;

impl<'a> StreamInput<'a> {
    fn given(&self) -> Given<'a> {
        self.dbs
            .iter()
            .filter_map(|d| d.header.as_ref().ok().map(|h| (*d, h)))
            .collect()
    }
}

fn file_of(given: &Given<'_>, d: &LoggedDatabase) -> Option<PathBuf> {
    given
        .iter()
        .find(|(_, h)| Some(h.sign_db) == d.sign_db)
        .map(|(f, _)| f.path.clone())
}

/// Phase 7: the databases attached through the replayed range and what
/// becomes of each (recreated, replayed, skipped, missing).
fn logged_databases(logged: &mut [LoggedDatabase], given: &Given<'_>, f: &mut Findings) {
    for d in logged {
        d.file = file_of(given, d);
        let created_first =
            d.records.first().is_some_and(|r| r.kind == "create") && d.enters == "created";
        d.outcome = if created_first {
            "recreated"
        } else if d.file.is_some() {
            "replayed"
        } else if d.enters == "detached" || !d.attached_at_end {
            "skipped"
        } else {
            "missing"
        };
        match d.outcome {
            "missing" => f.problems.push(missing_database(d, given)),
            "skipped" => f.notes.push(format!(
                "database {} (dbid {}) is absent but detached again within the replayed logs: its records are skipped",
                d.path, d.dbid
            )),
            _ => {}
        }
    }
}

/// The problem of a database the replay attaches but nobody gave.
fn missing_database(d: &LoggedDatabase, given: &Given<'_>) -> Problem {
    let how = match d.enters {
        "attach_list" => "is in the attach list where redo starts".to_string(),
        _ => format!(
            "is attached by the AttachDB record at {}",
            d.records
                .first()
                .map(|r| r.lgpos.eseutil_text())
                .unwrap_or_default()
        ),
    };
    let named_alike = given.iter().find(|(f, _)| {
        file_name_of(&f.path).eq_ignore_ascii_case(d.path.rsplit('\\').next().unwrap_or(""))
    });
    let extra = match named_alike {
        Some((f, _)) => format!(
            "; {} has that name but another database signature",
            f.path.display()
        ),
        None => String::new(),
    };
    Problem {
        jet: Jet::ATTACHED_DATABASE_MISMATCH,
        message: format!(
            "database {} (dbid {}, signature {}) {how} and is not created by the logs, but no database with that signature was given{extra}: recovery defers the attachment and fails at the end",
            d.path,
            d.dbid,
            d.sign_db.map(|s| s.eseutil_text()).unwrap_or_default()
        ).into(),
    }
}

/// Phase 8: databases created before the redo start (not rebuilt from the
/// checkpoint; a replay from the first log would).
fn rebuildable(
    ordered: &[&LogFact],
    redo_start: Option<Lgpos>,
    logged: &[LoggedDatabase],
    given: &Given<'_>,
) -> Vec<LoggedDatabase> {
    let mut out = Vec::new();
    let (Some(p), Some(low)) = (redo_start, ordered.first()) else {
        return out;
    };
    let from = Lgpos {
        generation: gen_of(low).unwrap_or(0) as i32,
        sector: low.csec_header,
        offset: 0,
    };
    if from >= p {
        return out;
    }
    let header_list: Vec<AttachEntry> = low.attachments.iter().map(AttachEntry::from).collect();
    for mut d in walk_attachments(&header_list, ordered, from, Some(p)) {
        if d.enters == "created" && !logged.iter().any(|x| x.path.eq_ignore_ascii_case(&d.path)) {
            d.file = file_of(given, &d);
            d.outcome = "recreated";
            out.push(d);
        }
    }
    out
}

/// Phase 9: one database given — the files it needs and what is missing.
fn database_plan(
    f: &DbFact,
    h: &DbHeader,
    present: &BTreeSet<u32>,
    naming: &Naming,
) -> DatabasePlan {
    let req = (
        h.gen_min_required.max(0) as u32,
        h.gen_max_required.max(0) as u32,
    );
    let committed = h.gen_max_committed.max(0) as u32;
    let mut dp = Vec::new();
    let clean = h.db_state == crate::parse::db_header::STATE_CLEAN_SHUTDOWN;
    let mut required_files = Vec::new();
    if !clean && req.0 > 0 {
        let last = req.1.max(committed);
        let listed = last.min(req.0.saturating_add(MAX_LISTED_NAMES - 1));
        required_files.extend((req.0..=listed).map(|g| naming.name(g)));
        if listed < last {
            required_files.push(format!(
                "… {} more, up to {}",
                last - listed,
                naming.name(last)
            ));
        }
        if h.sign_log.is_zero() {
            dp.push(Problem {
                jet: Jet::DATABASE_LOG_SET_MISMATCH,
                message: "the database has no log signature (logging disabled) yet is not clean"
                    .into(),
            });
        }
        let absent: Vec<u32> = (req.0..=last).filter(|g| !present.contains(g)).collect();
        if !absent.is_empty() {
            dp.push(absent_problem(&absent, req.1, naming));
        }
    }
    DatabasePlan {
        path: f.path.clone(),
        state: h.db_state,
        state_name: h.state_name(),
        sign_db: h.sign_db,
        sign_log: h.sign_log,
        required: req,
        committed_max: committed,
        required_files,
        // "cannot_recover" is settled once the stream's problems are known.
        verdict: if clean { "clean" } else { "cannot_recover" },
        problems: dp,
    }
}

/// Generations a database needs that are not present (-543 when a
/// required one is among them, else -544 for committed ones).
fn absent_problem(absent: &[u32], max_required: u32, naming: &Naming) -> Problem {
    let jet = if absent.iter().any(|&g| g <= max_required) {
        Jet::REQUIRED_LOG_FILES_MISSING
    } else {
        Jet::COMMITTED_LOG_FILES_MISSING
    };
    let names: Vec<String> = absent.iter().map(|&g| naming.name(g)).collect();
    let hex: Vec<String> = absent.iter().map(|g| format!("0x{g:X}")).collect();
    let default_names = if naming.base.is_none() {
        let edb: Vec<String> = absent
            .iter()
            .map(|&g| gen_name("edb", g, 0, LogExt::Log))
            .collect();
        format!(
            "; the base name is unknown from the database alone (default edb: {})",
            edb.join(", ")
        )
    } else {
        String::new()
    };
    Problem {
        jet,
        message: format!(
            "needs generation{} {} ({}), not present{default_names}",
            if absent.len() > 1 { "s" } else { "" },
            hex.join(", "),
            names.join(", "),
        )
        .into(),
    }
}

/// Phase 10: a database problem is a stream problem; with no stream
/// problem, every dirty database can recover. Then what the inputs lack.
fn settle_databases(
    inp: &StreamInput<'_>,
    databases: &mut [DatabasePlan],
    needs: &Needs<'_>,
    naming: &Naming,
    cp_gen: Option<u32>,
    f: &mut Findings,
) {
    for d in databases.iter_mut() {
        if d.verdict == "cannot_recover" && d.problems.is_empty() && f.problems.is_empty() {
            d.verdict = "can_recover";
        }
        for p in &d.problems {
            f.problems.push(Problem {
                jet: p.jet,
                message: format!("{}: {}", d.path.display(), p.message).into(),
            });
        }
    }
    if inp.set.is_none() && !needs.dirty.is_empty() {
        f.notes.push(match &naming.base {
            Some(_) => "no log file was given for this stream".into(),
            None => "no log or checkpoint was given: the base name is unknown (file names are shown as <base>%05X.log with the generation in hex; the usual base is edb); the newest required generation may still be the current log <base>.log rather than an archived file".into(),
        });
    }
    // A checkpoint without any log (the current log deleted): recovery
    // cannot run, whatever the databases (none was given).
    if let (None, Some(c), true) = (inp.set, inp.checkpoint, inp.dbs.is_empty()) {
        f.problems.push(Problem {
            jet: Jet::MISSING_LOG_FILE,
            message: format!(
                "the checkpoint {} points into the logs{}, but no log file of base {} is in {}: the current log {} is missing and /r cannot run without it",
                c.path.display(),
                cp_gen.map(|g| format!(" (generation 0x{g:X}, {})", naming.name(g))).unwrap_or_default(),
                c.base,
                parent_of(&c.path).display(),
                current_file_name(&c.base, naming.ext)
            ).into(),
        });
    }
}

/// Where the command's inputs are.
struct Dirs {
    log: Option<PathBuf>,
    system: Option<PathBuf>,
    db: Option<PathBuf>,
}

impl Dirs {
    fn of(inp: &StreamInput<'_>) -> Dirs {
        let log = inp.set.map(|s| s.dir.clone());
        Dirs {
            system: inp.checkpoint.map(|c| parent_of(&c.path)).or(log.clone()),
            db: inp.dbs.first().map(|d| parent_of(&d.path)).or(log.clone()),
            log,
        }
    }
}

/// What the command depends on.
struct CommandInputs<'a> {
    base: &'a Option<String>,
    dirs: &'a Dirs,
    nothing: bool,
    blocked: bool,
    current_log_missing: bool,
    /// Nothing given to recover and databases the logs create before the
    /// checkpoint: only a replay from the start writes a database.
    ignore_checkpoint: bool,
    logged: &'a [LoggedDatabase],
}

/// Phase 11: the steps and the `/r` command.
fn command(c: &CommandInputs<'_>, steps: &mut Vec<String>) -> Option<String> {
    let d = &c.dirs;
    let (Some(b), Some(l), Some(s), Some(db)) = (c.base, &d.log, &d.system, &d.db) else {
        return None;
    };
    if c.nothing {
        return None;
    }
    steps.push("eseutil-rs /r only reads its inputs and writes the recovered databases to ./recovered/ (choose with --output DIR); with Microsoft's eseutil, work on a copy: it writes to the databases, the checkpoint and the logs".into());
    let mut cmd = format!(
        "eseutil-rs /r {b} /l {} /s {} /d {}",
        quote(l),
        quote(s),
        quote(db)
    );
    if c.current_log_missing {
        cmd.push_str(" /a");
    }
    if c.ignore_checkpoint {
        cmd.push_str(" --ignore-checkpoint");
    }
    if c.blocked {
        steps.push("first supply what is listed under Problems".into());
    }
    for m in c.logged.iter().filter(|x| x.outcome == "missing") {
        let fname = m.path.rsplit(['\\', '/']).next().unwrap_or(&m.path);
        steps.push(format!(
            "put the database {} (signature {}) into {} as {fname}, or add /i to skip it (recovery then ignores that attachment and the changes the logs hold for it are lost)",
            m.path,
            m.sign_db.map(|x| x.eseutil_text()).unwrap_or_default(),
            db.display()
        ));
    }
    steps.push(format!("run: {cmd}"));
    Some(cmd)
}

/// Phase 11 (continued): how to rebuild the databases created before the
/// checkpoint from the logs alone.
fn rebuild_advice(
    c: &CommandInputs<'_>,
    rebuildable: &[LoggedDatabase],
    checkpoint: &Option<CheckpointUse>,
    main_ignores_checkpoint: bool,
    steps: &mut Vec<String>,
    f: &mut Findings,
) {
    let (Some(b), Some(l)) = (c.base, &c.dirs.log) else {
        return;
    };
    if rebuildable.is_empty() {
        return;
    }
    let chk = checkpoint
        .as_ref()
        .map(|c| c.path.display().to_string())
        .unwrap_or_default();
    let cmd = format!(
        "eseutil-rs /r {b} /l {} /d {}{} --ignore-checkpoint",
        quote(l),
        quote(c.dirs.db.as_ref().unwrap_or(l)),
        if c.current_log_missing { " /a" } else { "" }
    );
    let them = if rebuildable.len() > 1 { "them" } else { "it" };
    f.notes.push(format!(
        "{} created by the logs before the checkpoint: replay from the checkpoint does not rebuild {them}; replay without the checkpoint (--ignore-checkpoint; with Microsoft's eseutil set {chk} aside or point /s to an empty folder) rebuilds {them} from the logs alone: {cmd}",
        rebuildable
            .iter()
            .map(|d| format!("{} (CreateDB at {})", d.path, d.records[0].lgpos.eseutil_text()))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    if !main_ignores_checkpoint {
        steps.push(format!("to rebuild from the logs alone: {cmd}"));
    }
}

/// Phase 12: one sentence saying what recovery can do.
fn summary(
    verdict: &str,
    problems: &[Problem],
    has_databases: bool,
    logged: &[LoggedDatabase],
    rebuildable: &[LoggedDatabase],
    first_log: Option<&LogFact>,
) -> String {
    match verdict {
        "nothing_to_do" => {
            "every database given is in Clean Shutdown: no recovery needed".to_string()
        }
        "blocked" => {
            let codes: BTreeSet<i32> = problems.iter().map(|p| p.jet.code).collect();
            let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
            format!(
                "soft recovery cannot complete: {} (errors {})",
                problems[0].message,
                codes.join(", ")
            )
        }
        _ => {
            let mut t = String::from("soft recovery can proceed");
            if has_databases {
                t.push_str(" and bring every database given to Clean Shutdown");
            }
            let recreated: Vec<&str> = logged
                .iter()
                .filter(|d| d.outcome == "recreated")
                .map(|d| d.path.as_str())
                .collect();
            if !recreated.is_empty() {
                t.push_str(&format!("; the logs re-create {}", recreated.join(", ")));
            }
            if !rebuildable.is_empty() {
                t.push_str(&format!(
                    "; the logs create {} from nothing, so soft recovery can rebuild {} from the logs alone when it replays from the start of {} (without the checkpoint)",
                    rebuildable.iter().map(|d| d.path.as_str()).collect::<Vec<_>>().join(", "),
                    if rebuildable.len() > 1 { "them" } else { "it" },
                    first_log.map(|l| file_name_of(&l.path)).unwrap_or_default()
                ));
            }
            t
        }
    }
}

/// Plans one stream, phase by phase (the phases above, in order: what each
/// finds is reported in that order).
fn plan_stream(inp: &StreamInput<'_>) -> StreamPlan {
    let naming = Naming::of(inp);
    let mut f = Findings::default();
    let (own, mut logs) = classify_logs(inp);
    let current_log_missing = inp.set.is_some() && own.current.is_none();
    let (checkpoint, cp_gen) = use_checkpoint(inp, &own, &naming, &mut f.problems);
    let needs = Needs::of(inp);
    let start = redo_start(inp, &own, &checkpoint, cp_gen, &needs, &naming);
    let start_gen = start.at.map(|p| p.generation as u32);
    let mut range = Range {
        start_gen,
        end_gen: end_generation(&own, &needs, &logs),
        first_needed: start_gen,
        cp_gen,
    };
    let missing = missing_generations(inp, &own, &naming, &mut range, needs.min_required, &mut f);
    let backup_sets = backup_and_current(inp, &own, &naming, &mut f);
    range_logs(&mut logs, &range, &mut f);

    let ordered = own.ordered();
    let mut logged = match start.at {
        Some(p) if inp.set.is_some() => walk_attachments(&start.initial, &ordered, p, None),
        _ => Vec::new(),
    };
    let given: Given<'_> = inp.given();
    logged_databases(&mut logged, &given, &mut f);
    let rebuildable = rebuildable(&ordered, start.at, &logged, &given);
    let mut databases: Vec<DatabasePlan> = given
        .iter()
        .map(|(d, h)| database_plan(d, h, &own.present, &naming))
        .collect();
    settle_databases(inp, &mut databases, &needs, &naming, cp_gen, &mut f);

    let nothing = inp.set.is_none() && needs.dirty.is_empty();
    let verdict = match (f.problems.is_empty(), nothing) {
        (false, _) => "blocked",
        (true, true) => "nothing_to_do",
        (true, false) => "ready",
    };
    let dirs = Dirs::of(inp);
    let ci = CommandInputs {
        base: &naming.base,
        dirs: &dirs,
        nothing,
        blocked: verdict == "blocked",
        current_log_missing,
        ignore_checkpoint: !rebuildable.is_empty() && inp.dbs.is_empty(),
        logged: &logged,
    };
    let mut steps = Vec::new();
    let command = command(&ci, &mut steps);
    let main_ignores = command
        .as_deref()
        .is_some_and(|c| c.ends_with("--ignore-checkpoint"));
    rebuild_advice(
        &ci,
        &rebuildable,
        &checkpoint,
        main_ignores,
        &mut steps,
        &mut f,
    );
    let summary = summary(
        verdict,
        &f.problems,
        !databases.is_empty(),
        &logged,
        &rebuildable,
        ordered.first().copied(),
    );

    StreamPlan {
        sign_log: inp.sign,
        base: naming.base,
        log_dir: dirs.log,
        system_dir: inp.checkpoint.map(|c| parent_of(&c.path)),
        checkpoint,
        redo_start: start.at,
        redo_start_reason: start.reason,
        redo_end_generation: range.end_gen,
        logs,
        missing,
        current_log_missing,
        logged_databases: logged,
        rebuildable_without_checkpoint: rebuildable,
        databases,
        problems: f.problems,
        notes: f.notes,
        verdict,
        summary,
        steps,
        command,
        backup_sets,
    }
    .into_backup_set_plan()
}

impl StreamPlan {
    /// A restored backup set waits for hard recovery: the verdict, the
    /// summary and the command say so instead of soft recovery's.
    fn into_backup_set_plan(mut self) -> StreamPlan {
        let Some(b) = self.backup_sets.first() else {
            return self;
        };
        if self.verdict == "blocked" {
            return self;
        }
        self.verdict = "hard_recovery";
        self.summary = format!(
            "{} is a restored {} backup (mark {}, generations {:#X} - {:#X}); {}",
            b.database.display(),
            b.kind,
            b.mark.eseutil_text(),
            b.gen_low,
            b.gen_high,
            b.advice
        );
        let dir = b.database.parent().unwrap_or(std::path::Path::new("."));
        let c = format!(
            "eseutil-rs /cc {} --database {} --logs {} --base {}",
            quote(dir),
            quote(&b.database),
            quote(dir),
            self.base.as_deref().unwrap_or("edb")
        );
        for d in &mut self.databases {
            if d.verdict == "can_recover" || d.verdict == "cannot_recover" {
                d.verdict = "hard_recovery";
            }
        }
        self.steps = vec![
            "eseutil-rs /cc only reads the backup set and writes the recovered database to --output (default ./recovered/)".into(),
            "to bring the database up to date, add /f FOLDER with the live log folder's later generations (up to its current log)".into(),
            format!("run: {c}"),
        ];
        self.command = Some(c);
        self
    }
}

/// Map from a JET code to the problems carrying it (for summaries).
pub fn problems_by_code(p: &Plan) -> BTreeMap<i32, usize> {
    let mut m = BTreeMap::new();
    for s in &p.streams {
        for x in &s.problems {
            *m.entry(x.jet.code).or_insert(0) += 1;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ranges_group_and_keep_width() {
        let present: BTreeSet<u32> = [1, 3, 7].into_iter().collect();
        let r = missing_ranges("edb", &gaps(1, 7, &present, None), 5, LogExt::Log);
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].text, "edb00002.log");
        assert_eq!(r[1].text, "edb{00004 - 00006}.log");
        assert_eq!(
            r[1].file_names,
            ["edb00004.log", "edb00005.log", "edb00006.log"]
        );
        let r = missing_ranges("E00", &[(0x1E, 0x1E)], 8, LogExt::Jtx);
        assert_eq!(r[0].text, "E000000001E.jtx");
        assert_eq!(pattern_name(0x7C), "<base>0007C.log");
    }

    /// Regression (fuzz target plan_folder): a header claiming a generation
    /// near 2^31 made the planner list every generation of the span
    /// (14 GB, a minute). Ranges are computed from the files present and the
    /// names listed are capped.
    #[test]
    fn huge_generation_span_is_bounded() {
        let present: BTreeSet<u32> = [1, 5].into_iter().collect();
        let g = gaps(1, 0x7FFF_FFFF, &present, Some(0x7FFF_FFFF));
        assert_eq!(g, [(2, 4), (6, 0x7FFF_FFFE)]);
        let r = missing_ranges("edb", &g, 5, LogExt::Log);
        assert_eq!(r[1].file_names.len(), MAX_LISTED_NAMES as usize);
        assert!(r[1].file_names_truncated && !r[0].file_names_truncated);
        assert_eq!(r[1].text, "edb{00006 - 7FFFFFFE}.log");
        assert_eq!(
            gaps(0, u32::MAX, &[u32::MAX].into_iter().collect(), None),
            [(0, u32::MAX - 1)]
        );
    }

    #[test]
    fn attach_info_version_threshold() {
        assert!(attach_info_in_checkpoint((8, 4000, 4, 3)));
        assert!(attach_info_in_checkpoint((8, 4000, 60, 140)));
        assert!(!attach_info_in_checkpoint((8, 4000, 4, 2)));
        assert!(!attach_info_in_checkpoint((7, 3704, 17, 0)));
    }

    fn rec(gen: i32, sec: u16, kind: &'static str, path: &str) -> DbRecordFact {
        DbRecordFact {
            lgpos: Lgpos {
                generation: gen,
                sector: sec,
                offset: 0,
            },
            kind,
            dbid: 1,
            path: path.into(),
            sign_db: None,
            lgpos_consistent: None,
        }
    }

    #[test]
    fn attachment_walk_follows_records_from_the_start() {
        let log = LogFact {
            path: "edb.log".into(),
            name_generation: None,
            generation: Some(1),
            sign_log: None,
            version: (8, 4000, 5, 16),
            csec_header: 1,
            attachments: Vec::new(),
            db_records: vec![
                rec(1, 1, "create", "C:\\a.edb"),
                rec(1, 5, "detach", "C:\\a.edb"),
                rec(1, 6, "attach", "C:\\A.EDB"),
            ],
            error: None,
            patchable: false,
            torn: Vec::new(),
            chain_issues: Vec::new(),
        };
        let start = Lgpos {
            generation: 1,
            sector: 1,
            offset: 0,
        };
        let all = walk_attachments(&[], &[&log], start, None);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].enters, "created");
        assert_eq!(all[0].records.len(), 3);
        assert!(all[0].attached_at_end);
        // From after the detach: the database enters by AttachDB.
        let later = Lgpos {
            generation: 1,
            sector: 6,
            offset: 0,
        };
        let w = walk_attachments(&[], &[&log], later, None);
        assert_eq!(w[0].enters, "attached");
        // Only before the checkpoint.
        let w = walk_attachments(&[], &[&log], start, Some(later));
        assert_eq!(w[0].records.len(), 2);
        assert!(!w[0].attached_at_end);
    }
}
