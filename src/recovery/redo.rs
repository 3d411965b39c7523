//! The redo loop: applies log records to database pages in a [`PageStore`].
//!
//! Facts (ESE source, `ese/_log/logredo.cxx` unless named):
//! * main loop `ErrLGRIRedoOperations` ~11870, per-record dispatch
//!   `ErrLGRIRedoOperation` ~6898, node records `ErrLGRIRedoNodeOperation`
//!   ~3027–3800;
//! * dbtime rule `FLGINeedRedo` ~252 and `FLGNeedRedoCheckDbtimeBefore`
//!   ~335–440: redo when page dbtime < dbtime after, and then the page must
//!   carry exactly dbtimeBefore (−566 / −567 otherwise); freshly formatted
//!   pages (`ErrLGRIAccessNewPage`, `FLGNeedRedoPage` ~446) are exempt;
//! * macros: records of a session carrying the macro's dbtime are stored
//!   (`ErrLGRICheckRedoConditionInTrx` ~2878) and redone together at
//!   MacroCommit (~12584, `ErrLGRIRedoMacroOperation` ~10980), dropped at
//!   MacroAbort;
//! * split redo `ErrLGRIRedoSplit` ~10279, `ErrLGIRedoSplitStructures`
//!   ~8670, `ErrLGRIRedoInitializeSplit` ~7918, `ErrLGIRedoSplitLineinfo`
//!   ~7709 and `BTIPerformSplit` / `BTISplitMoveNodes` /
//!   `BTISplitSetPrefixInSrcPage` / `BTIInsertPgnoNewAndSetPgnoSplit` /
//!   `BTISplitFixSiblings` (`ese/bt.cxx` ~11812–12745);
//! * merge redo `ErrLGRIRedoMerge` ~10141, `ErrLGRIRedoInitializeMerge`
//!   ~8266 and `BTIPerformOneMerge` (`ese/bt.cxx` ~16266);
//! * FDP creation `ErrLGIRedoFDPPage` ~6540–6720, `ErrLGRIRedoSpaceRootPage`
//!   ~6463, `ErrSPICreateSingle` (`ese/space.cxx` ~3196),
//!   `SPICreateExtentTree` (space.cxx ~2894), SPACE_HEADER (`inc/space.hxx`);
//! * ReplaceD diffs `ErrLGGetAfterImage` (`ese/logdiff.cxx` ~1150),
//!   DIFFHDR/DIFFHDR2 (`inc/logapi.hxx` ~16–60);
//! * EmptyTree `ErrLGRIRedoFreeEmptyPages` ~2947, `NDSetEmptyTree` /
//!   `NDEmptyPage` (`inc/node.hxx` ~590–625);
//! * Scrub `ErrLGRIRedoScrub` ~3882, PageMove `ErrLGRIIRedoPageMove` ~9141,
//!   RootPageMove `ErrLGRIRedoRootPageMove` ~10900 (`SHKPerformRootMove`,
//!   `ese/dbshrink.cxx` ~2357), ExtentFreed ~11497 (no effect without RBS);
//!   ShrinkDB and ReAttach are database-level records in `mod.rs`.
//!
//! Every record type either has a redo here, is one of the types with no
//! page effect (transaction, macro bookkeeping, ignorable, instance
//! records), or stops recovery with "unsupported record type" and its
//! LGPOS. Nothing is skipped silently.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::page::{Line, PageImage};
use super::store::PageStore;
use super::undo::{Rce, UndoOp, UndoStats};
use crate::error::{Error, Jet};
use crate::log::record::{lrtyp_name, page_prefix, LogRecord, PagePrefix};
use crate::parse::page::{
    FLAG_EMPTY, FLAG_LEAF, FLAG_PARENT_OF_LEAF, FLAG_ROOT, FLAG_SCRUBBED, FLAG_SPACE_TREE,
    NODE_DELETED, NODE_VERSIONED, SPLIT_BUFFER_SIZE,
};
use crate::parse::primitives::Lgpos;
use crate::parse::{u16_at, u32_at, u64_at};

/// `dbtimeNil` / `dbtimeInvalid`: "no before-dbtime" (daedef.hxx).
pub const DBTIME_NIL: u64 = u64::MAX;

/// `dbtimeShrunk` (daedef.hxx ~1112): the dbtime of a page reset by a
/// shrink redo (`CPAGE::GetShrunkPage`); such a page counts as blank.
pub const DBTIME_SHRUNK: u64 = crate::db::classify::DBTIME_SHRUNK;

/// `fPageFDPDelete` (cpage.hxx ~724).
const FLAG_FDP_DELETE: u32 = 0x40000;

type R<T> = crate::error::Result<T>;

/// A dbtime mismatch (docs/format/recovery.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// Record position.
    pub lgpos: Lgpos,
    /// Page.
    pub pgno: u32,
    /// dbtime on the page.
    pub page_dbtime: u64,
    /// dbtimeBefore in the record.
    pub dbtime_before: u64,
    /// dbtime after in the record.
    pub dbtime_after: u64,
}

/// Counters of a redo pass.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RedoStats {
    /// Records read.
    pub records: u64,
    /// Page operations applied (per page touched).
    pub pages_redone: u64,
    /// Page operations skipped because the page already carried them.
    pub pages_already_applied: u64,
    /// Page records of databases skipped with `/i`.
    pub records_of_skipped_databases: u64,
    /// dbtime mismatches (recovery stops at the first one).
    pub mismatches: Vec<Mismatch>,
    /// Records per type name: (seen, applied to at least one page).
    pub per_type: BTreeMap<String, (u64, u64)>,
    /// Macros committed / aborted.
    pub macros_committed: u64,
    /// Macros aborted.
    pub macros_aborted: u64,
    /// Outermost transactions begun.
    pub trx_begun: u64,
    /// Outermost transactions committed.
    pub trx_committed: u64,
    /// Rollback records seen.
    pub rollbacks: u64,
    /// Sessions with an open transaction at the end of the log.
    pub trx_open_at_end: Vec<u16>,
    /// Macros still open at the end of the log (dropped, as MacroAbort).
    pub macros_open_at_end: Vec<u16>,
    /// Split2/Merge2 page before-images compared with the page redo had
    /// built at that point (a self-check of every earlier redo step).
    pub before_images: BeforeImageCheck,
}

/// Results of comparing logged before-images with redone pages.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BeforeImageCheck {
    /// Images compared.
    pub checked: u64,
    /// Logically equal (siblings, page flags, objid, tag 0, every node's
    /// key, data and flags — the fNDVersion bit excepted).
    pub matched: u64,
    /// Of those, images where some node differed only in fNDVersion: ESE
    /// had already cleaned the version (RCE cleanup resets the bit without
    /// logging); redo here does no version cleanup.
    pub version_bit_only: u64,
    /// Of the matched, images whose lines sit where ours do (every tag's
    /// offset and size, ibMicFree): the byte-placement check.
    pub same_placement: u64,
    /// Placement differences (lgpos, page, first differing tag).
    pub placement_differences: Vec<String>,
    /// Images not compared (format not decoded).
    pub not_compared: u64,
    /// Images used to restart a split/merge whose page was flushed after
    /// the operation while the new/destination page was not.
    pub used: u64,
    /// Differences found (lgpos, page, what).
    pub differences: Vec<String>,
}

/// A database known to the redo pass.
#[derive(Debug)]
pub struct DbRun {
    /// Attachment id.
    pub dbid: u8,
    /// Path as logged.
    pub logged_path: String,
    /// The working store.
    pub store: PageStore,
    /// Header page being maintained.
    pub header: Vec<u8>,
    /// Whether currently attached.
    pub attached: bool,
    /// Highest dbtime seen for this database.
    pub dbtime_max: u64,
    /// Highest objid seen.
    pub objid_max: u32,
    /// Pages written (distinct).
    pub pages: BTreeSet<u32>,
    /// Whether the database entered by CreateDB in this pass.
    pub created: bool,
}

/// Mutable state of a redo pass.
#[derive(Debug, Default)]
pub struct Redo {
    /// Databases by dbid.
    pub dbs: BTreeMap<u8, DbRun>,
    /// Databases detached (final state kept).
    pub detached: Vec<DbRun>,
    /// Counters.
    pub stats: RedoStats,
    /// Open macros: procid → (dbtime, stored records).
    macros: HashMap<u16, (u64, Vec<LogRecord>)>,
    /// Transaction level per session.
    levels: HashMap<u16, u32>,
    /// Databases skipped with `/i`: their page records are not redone.
    pub skipped_dbids: BTreeSet<u8>,
    /// Things the report must say were not recovered.
    pub notes: Vec<String>,
    /// Version-store entries per session (see [`super::undo`]).
    pub rces: HashMap<u16, Vec<Rce>>,
    /// Undo counters.
    pub undo: UndoStats,
    /// The last ShutDownMark met (`m_lgposRedoShutDownMarkGlobal`): the
    /// consistent position a Term gives the databases it detaches.
    pub shutdown_mark: Option<Lgpos>,
    /// Redone page writes of working files discarded on purpose (a
    /// database re-created over an earlier one of the same name).
    pub discarded_redone: u64,
    /// The inputs read so far (logs, checkpoint, databases), for the report.
    pub inputs: super::evidence::Inputs,
}

fn err(jet: Jet, r: &LogRecord, detail: impl Into<String>) -> Error {
    Error::redo(r.lgpos, lrtyp_name(r.lrtyp), jet, detail)
}

/// A page-store failure while redoing `r`: the store's own error (an I/O
/// error stays one) at the record's position.
fn store_err(r: &LogRecord, source: Error) -> Error {
    Error::redo_from(r.lgpos, lrtyp_name(r.lrtyp), source)
}

fn corrupt(r: &LogRecord, d: impl Into<String>) -> Error {
    err(Jet::LOG_FILE_CORRUPT, r, d)
}

fn need(r: &LogRecord, n: usize) -> R<()> {
    if r.data.len() < n {
        return Err(corrupt(
            r,
            format!("record too short ({} < {n})", r.data.len()),
        ));
    }
    Ok(())
}

/// Outcome of the dbtime check for one page.
enum Check {
    Redo(PageImage),
    Skip,
}

impl Redo {
    fn db(&mut self, r: &LogRecord, dbid: u8) -> R<&mut DbRun> {
        self.dbs.get_mut(&dbid).ok_or_else(|| {
            err(
                Jet::ATTACHED_DATABASE_MISMATCH,
                r,
                format!("record for dbid {dbid}, which is not attached (no database to redo into)"),
            )
        })
    }

    /// Reads a page and applies the recovery.md §3 rule. `before == DBTIME_NIL`
    /// means "inside a macro, page already latched": only the after test.
    fn check(&mut self, r: &LogRecord, dbid: u8, pgno: u32, after: u64, before: u64) -> R<Check> {
        // dbtimeLast follows every record, redone or not
        // (ErrLGRICheckRedoCondition's fUpdateCountersOnly path).
        self.note_dbtime(dbid, after);
        let db = self.db(r, dbid)?;
        let b = db.store.read_page(pgno).map_err(|e| store_err(r, e))?;
        if crate::db::classify::is_unwritten(&b) {
            if before == DBTIME_NIL {
                return Err(err(
                    Jet::PAGE_NOT_INITIALIZED,
                    r,
                    format!("page {pgno} is blank"),
                ));
            }
            self.stats.mismatches.push(Mismatch {
                lgpos: r.lgpos,
                pgno,
                page_dbtime: 0,
                dbtime_before: before,
                dbtime_after: after,
            });
            return Err(err(
                Jet::DB_TIME_TOO_OLD,
                r,
                format!("page {pgno} is blank (never written) but the record expects dbtime 0x{before:x}"),
            ));
        }
        let p = PageImage::parse(&b).map_err(|e| {
            err(
                Jet::DATABASE_CORRUPTED,
                r,
                format!("page {pgno}: {}", e.detail),
            )
        })?;
        if p.dbtime >= after {
            self.stats.pages_already_applied += 1;
            return Ok(Check::Skip);
        }
        if before != DBTIME_NIL && p.dbtime != before {
            self.stats.mismatches.push(Mismatch {
                lgpos: r.lgpos,
                pgno,
                page_dbtime: p.dbtime,
                dbtime_before: before,
                dbtime_after: after,
            });
            let jet = if p.dbtime < before {
                Jet::DB_TIME_TOO_OLD
            } else {
                Jet::DB_TIME_TOO_NEW
            };
            return Err(err(
                jet,
                r,
                format!(
                    "page {pgno} has dbtime 0x{:x}, the record expects 0x{before:x} before and 0x{after:x} after",
                    p.dbtime
                ),
            ));
        }
        Ok(Check::Redo(p))
    }

    /// For pages (re)formatted by the record: redo when page dbtime < after.
    fn check_new(&mut self, r: &LogRecord, dbid: u8, pgno: u32, after: u64) -> R<bool> {
        self.note_dbtime(dbid, after);
        let db = self.db(r, dbid)?;
        let b = db.store.read_page(pgno).map_err(|e| store_err(r, e))?;
        if crate::db::classify::is_unwritten(&b) {
            return Ok(true);
        }
        let dbtime = u64_at(&b, 8);
        if dbtime >= after {
            self.stats.pages_already_applied += 1;
            return Ok(false);
        }
        Ok(true)
    }

    fn write(
        &mut self,
        r: &LogRecord,
        dbid: u8,
        pgno: u32,
        mut p: PageImage,
        dbtime: u64,
    ) -> R<()> {
        p.dbtime = dbtime;
        // CPAGE::Dirty resets fPageScrubbed (cpage.cxx ~3095).
        p.flags &= !FLAG_SCRUBBED;
        let b = p.to_bytes().map_err(|e| {
            err(
                Jet::DATABASE_CORRUPTED,
                r,
                format!("page {pgno}: {}", e.detail),
            )
        })?;
        let db = self.db(r, dbid)?;
        db.store.write_page(pgno, b).map_err(|e| store_err(r, e))?;
        db.pages.insert(pgno);
        db.store.redone += 1;
        db.dbtime_max = db.dbtime_max.max(dbtime);
        if p.objid != 0 && p.objid < 0x7FFF_FFFF {
            db.objid_max = db.objid_max.max(p.objid);
        }
        self.stats.pages_redone += 1;
        Ok(())
    }

    fn note_dbtime(&mut self, dbid: u8, dbtime: u64) {
        if let Some(db) = self.dbs.get_mut(&dbid) {
            if dbtime != DBTIME_NIL {
                db.dbtime_max = db.dbtime_max.max(dbtime);
            }
        }
    }

    /// Redoes one record (database-level records are handled by the caller
    /// through `recovery::database_record`).
    pub fn record(&mut self, r: &LogRecord) -> R<bool> {
        self.stats.records += 1;
        let t = r.lrtyp;
        self.stats
            .per_type
            .entry(lrtyp_name(t).to_string())
            .or_default()
            .0 += 1;
        let applied = self.record_inner(r)?;
        if applied && !matches!(t, 12) {
            self.stats
                .per_type
                .entry(lrtyp_name(t).to_string())
                .or_default()
                .1 += 1;
        }
        Ok(applied)
    }

    fn record_inner(&mut self, r: &LogRecord) -> R<bool> {
        let t = r.lrtyp;
        let b = &r.data[..];
        match t {
            // No page effect: log structure, instance, backup bookkeeping,
            // ignorable records.
            0
            | 1
            | 2
            | 3
            | 4
            | 17
            | 18
            | 21
            | 22
            | 23
            | 42
            | 49
            | 50
            | 51
            | 52
            | 57
            | 61
            | 66
            | 67
            | 69
            | 70
            | 71
            | 73
            | 74
            | 75
            | 80
            | 82..=91
            | 97
            | 98
            | 19
            | 20
            | 60 => Ok(false),
            // ExtRestore / ExtRestore2: "for tracing only" (logredo.cxx
            // ~13210).
            45 | 59 => Ok(false),
            // ExtentFreed / ExtentFreed2 (`ErrLGRIRedoExtentFreed` ~11497):
            // pages are only touched to capture revert-snapshot (RBS)
            // pre-images, and the dbtime-revert redo maps are cleared —
            // neither exists here, so no page or header effect.
            100 | 101 => {
                need(r, if t == 100 { 11 } else { 19 })?;
                Ok(false)
            }
            5 => {
                need(r, 4)?;
                let (procid, from, n) = (u16_at(b, 1), b[3] & 0xF, b[3] >> 4);
                self.levels.insert(procid, from as u32 + n as u32);
                Ok(false)
            }
            8 | 53 => {
                need(r, 8)?;
                let procid = u16_at(b, 1);
                let (from, n) = (b[3] & 0xF, b[3] >> 4);
                self.levels.insert(procid, from as u32 + n as u32);
                self.stats.trx_begun += 1;
                Ok(false)
            }
            6 | 9 => {
                need(r, 4)?;
                let procid = u16_at(b, 1);
                let to = if t == 9 { 0 } else { b[3] as u32 };
                self.levels.insert(procid, to);
                if let Some(v) = self.rces.get_mut(&procid) {
                    if to == 0 {
                        v.clear();
                    } else {
                        for rce in v.iter_mut() {
                            rce.level = rce.level.min(to);
                        }
                    }
                }
                if t == 9 {
                    self.stats.trx_committed += 1;
                }
                Ok(false)
            }
            7 => {
                need(r, 4)?;
                // Rollback of levelRollback levels (logredo.cxx ~7152): what
                // Undo records did not already undo is rolled back here.
                let procid = u16_at(b, 1);
                let l = self.levels.entry(procid).or_insert(0);
                let to = l.saturating_sub(b[3] as u32);
                *l = to;
                self.stats.rollbacks += 1;
                let applied = self.rollback_to(procid, to, Some(r))?;
                Ok(applied)
            }
            10 => Ok(false),
            11 => {
                need(r, 11)?;
                self.macros.insert(u16_at(b, 1), (u64_at(b, 3), Vec::new()));
                Ok(false)
            }
            12 | 13 => {
                need(r, 11)?;
                let procid = u16_at(b, 1);
                let Some((_, recs)) = self.macros.remove(&procid) else {
                    return Err(corrupt(
                        r,
                        format!("macro end for session {procid} without MacroBegin"),
                    ));
                };
                if t == 13 {
                    self.stats.macros_aborted += 1;
                    return Ok(false);
                }
                self.stats.macros_committed += 1;
                self.macro_commit(r, u64_at(b, 3), &recs)?;
                Ok(true)
            }
            // The pre-Split2/Merge2 split and merge and the old ConvertFDP:
            // ESE's own redo refuses them (FireWall "DeprecatedLrType",
            // JET_errBadLogVersion; logredo.cxx ~7189, ~7394).
            26..=28 => Err(err(
                Jet::BAD_LOG_VERSION,
                r,
                format!(
                    "deprecated record type {t} ({}): ESE's redo refuses it as well (JET_errBadLogVersion)",
                    lrtyp_name(t)
                ),
            )),
            24..=39 | 48 | 58 | 62..=65 | 93 => {
                let Some(pp) = page_prefix(b) else {
                    return Err(corrupt(r, "page record too short"));
                };
                if self.skipped_dbids.contains(&pp.dbid) && !self.dbs.contains_key(&pp.dbid) {
                    self.stats.records_of_skipped_databases += 1;
                    return Ok(false);
                }
                // Inside a macro of this session with the macro's dbtime: store.
                if let Some((mdbtime, recs)) = self.macros.get_mut(&pp.procid) {
                    if *mdbtime == pp.dbtime {
                        recs.push(r.clone());
                        return Ok(false);
                    }
                }
                self.page_record(r, &pp)
            }
            95 if r.data.len() >= 4
                && self.skipped_dbids.contains(&r.data[3])
                && !self.dbs.contains_key(&r.data[3]) =>
            {
                self.stats.records_of_skipped_databases += 1;
                Ok(false)
            }
            95 => self.new_page(r),
            96 => {
                // RootPageMove (LRROOTPAGEMOVE logapi.hxx ~1218: dbtimeAfter
                // u64@1, dbid@9, objid@10, procid u16@14): the first record
                // of its macro (logredo.cxx ~7195), redone at MacroCommit.
                need(r, 16)?;
                let (dbtime, dbid, procid) = (u64_at(b, 1), b[9], u16_at(b, 14));
                if self.skipped_dbids.contains(&dbid) && !self.dbs.contains_key(&dbid) {
                    self.stats.records_of_skipped_databases += 1;
                    return Ok(false);
                }
                match self.macros.get_mut(&procid) {
                    Some((mdbtime, recs)) if *mdbtime == dbtime => {
                        recs.push(r.clone());
                        Ok(false)
                    }
                    _ => Err(corrupt(r, "RootPageMove outside a macro of its dbtime")),
                }
            }
            _ => Err(err(
                Jet::LOG_FILE_CORRUPT,
                r,
                format!(
                    "unsupported record type {t} ({}) — recovery cannot continue past it",
                    lrtyp_name(t)
                ),
            )),
        }
    }

    /// Scrub (`ErrLGRIRedoScrub` logredo.cxx ~3882; LRSCRUB logapi.hxx
    /// ~442: LRNODE_ then flags u32@44 (0x1 = unused page), cscrubOper
    /// u32@48, cbData u16@52, one SCRUBOPER byte per line @54). Under the
    /// dbtime rule: an unused page loses every line and its free space is
    /// filled with 'U' (`NDScrubOneUnusedPage`); on a used page the count
    /// must equal the lines (Enforce), op 1 fills the (deleted) node's data
    /// with 'D', op 2 makes it a scrubbed LV chunk (first byte
    /// COMPRESS_SCRUB << 3 = 0x20, the rest 'L', `CDataCompressor::ErrScrub`),
    /// both clear fNDVersion; the free space is filled with 'Z'
    /// (`NDScrubOneUsedPage`, node.cxx ~2740). The page gets fPageScrubbed
    /// (`CPAGE::DirtyForScrub`) and the record's dbtime.
    fn scrub(&mut self, r: &LogRecord, pp: &PagePrefix) -> R<bool> {
        need(r, 54)?;
        let b = &r.data[..];
        let (flags, cops, cb) = (
            u32_at(b, 44),
            u32_at(b, 48) as usize,
            u16_at(b, 52) as usize,
        );
        need(r, 54 + cb)?;
        let unused = flags & 1 != 0;
        let ops = &b[54..54 + cb];
        let mut p = match self.check(r, pp.dbid, pp.pgno, pp.dbtime, pp.dbtime_before)? {
            Check::Skip => return Ok(false),
            Check::Redo(p) => p,
        };
        let fill = if unused {
            p.lines.clear();
            b'U'
        } else {
            if cops != p.lines.len() || ops.len() < cops {
                return Err(corrupt(
                    r,
                    format!(
                        "scrub of page {} lists {cops} lines ({} bytes of operations), the page has {}",
                        pp.pgno,
                        ops.len(),
                        p.lines.len()
                    ),
                ));
            }
            for (l, &op) in p.lines.iter_mut().zip(ops) {
                match op {
                    0 => {}
                    1 => {
                        l.data.fill(b'D');
                        l.flags &= !NODE_VERSIONED;
                    }
                    2 => {
                        if let Some((first, rest)) = l.data.split_first_mut() {
                            *first = 4 << 3;
                            rest.fill(b'L');
                        }
                        l.flags &= !NODE_VERSIONED;
                    }
                    o => return Err(corrupt(r, format!("unknown scrub operation {o}"))),
                }
            }
            b'Z'
        };
        p.flags |= FLAG_SCRUBBED;
        p.dbtime = pp.dbtime;
        let mut bytes = p.to_bytes().map_err(|e| {
            err(
                Jet::DATABASE_CORRUPTED,
                r,
                format!("page {}: {}", pp.pgno, e.detail),
            )
        })?;
        let ps = p.page_size;
        let free_start = crate::parse::page::header_size(ps) + u16_at(&bytes, 32) as usize;
        let free_end = ps - 4 * (p.lines.len() + 1);
        if free_start < free_end {
            bytes[free_start..free_end].fill(fill);
        }
        let db = self.db(r, pp.dbid)?;
        db.store
            .write_page(pp.pgno, bytes)
            .map_err(|e| store_err(r, e))?;
        db.pages.insert(pp.pgno);
        db.store.redone += 1;
        db.dbtime_max = db.dbtime_max.max(pp.dbtime);
        self.stats.pages_redone += 1;
        Ok(true)
    }

    /// PageMove (`ErrLGRIIRedoPageMove` logredo.cxx ~9141,
    /// `BTPerformPageMove` bt.cxx ~15968; LRPAGEMOVE logapi.hxx ~1098:
    /// LRPAGE_ (pgno = source, dbtime = after for every page, dbtimeBefore
    /// = source's) then pgnoDest@32 pgnoLeft@36 pgnoRight@40 pgnoParent@44
    /// dbtimeLeftBefore@48 dbtimeRightBefore@56 dbtimeParentBefore@64
    /// pgnoFDP@72 objidFDP@76 ilineParent@80 fMoveFlags@84 cbPageHeader@88
    /// cbPageTrailer@92, then the source page's header part and trailer
    /// part). Each page under the dbtime rule with its own before (the
    /// destination is a new page: redone when its dbtime < after); the
    /// destination becomes a copy of the source; the source is emptied
    /// (`NDEmptyPage`); the parent's node at ilineParent, which must point
    /// at the source, points at the destination; left.pgnoNext and
    /// right.pgnoPrev follow. When the destination needs redo but the
    /// source does not (flushed after the move, destination lost), the
    /// source is first rebuilt from the logged header + zeros + trailer
    /// (`ErrReplacePageImageHeaderTrailer` ~227) at dbtimeBefore and redone.
    /// Root moves (fMoveFlags ≠ 0) belong to a RootPageMove macro
    /// ([`Redo::redo_root_move`]); alone they are refused.
    fn page_move(&mut self, r: &LogRecord, pp: &PagePrefix) -> R<bool> {
        need(r, 96)?;
        let b = &r.data[..];
        let (cbh, cbt) = (u32_at(b, 88) as usize, u32_at(b, 92) as usize);
        need(r, 96 + cbh + cbt)?;
        if u32_at(b, 84) != 0 {
            return Err(err(
                Jet::LOG_FILE_CORRUPT,
                r,
                format!(
                    "PageMove of a root page (flags 0x{:x}) outside its RootPageMove macro",
                    u32_at(b, 84)
                ),
            ));
        }
        let (dbid, src, after, src_before) = (pp.dbid, pp.pgno, pp.dbtime, pp.dbtime_before);
        let (dest, left, right, parent) =
            (u32_at(b, 32), u32_at(b, 36), u32_at(b, 40), u32_at(b, 44));
        let (left_before, right_before, parent_before) =
            (u64_at(b, 48), u64_at(b, 56), u64_at(b, 64));
        let iline_parent = u32_at(b, 80) as usize;
        let redo = |c: Check| match c {
            Check::Redo(p) => Some(p),
            Check::Skip => None,
        };
        let mut par = redo(self.check(r, dbid, parent, after, parent_before)?);
        let mut source = redo(self.check(r, dbid, src, after, src_before)?);
        let mut lp = if left != 0 {
            redo(self.check(r, dbid, left, after, left_before)?)
        } else {
            None
        };
        let mut rp = if right != 0 {
            redo(self.check(r, dbid, right, after, right_before)?)
        } else {
            None
        };
        let redo_dest = self.check_new(r, dbid, dest, after)?;
        if redo_dest && source.is_none() {
            let ps = self.db(r, dbid)?.store.page_size();
            if cbh + cbt > ps || cbh < 40 {
                return Err(corrupt(r, format!("page image of {cbh} + {cbt} bytes")));
            }
            let mut img = vec![0u8; ps];
            img[..cbh].copy_from_slice(&b[96..96 + cbh]);
            img[ps - cbt..].copy_from_slice(&b[96 + cbh..96 + cbh + cbt]);
            let mut p = PageImage::parse(&img).map_err(|e| {
                err(
                    Jet::DATABASE_CORRUPTED,
                    r,
                    format!("logged image of page {src}: {}", e.detail),
                )
            })?;
            p.dbtime = src_before;
            self.stats.before_images.used += 1;
            source = Some(p);
        }
        let any = redo_dest || source.is_some() || par.is_some() || lp.is_some() || rp.is_some();
        if redo_dest {
            let mut d = source.clone().expect("source set above");
            d.dbtime = after;
            self.write(r, dbid, dest, d, after)?;
        }
        if let Some(mut p) = source {
            p.ext.clear();
            p.lines.clear();
            p.flags |= FLAG_EMPTY;
            self.write(r, dbid, src, p, after)?;
        }
        if let Some(mut p) = par.take() {
            let Some(l) = p.lines.get_mut(iline_parent) else {
                return Err(err(
                    Jet::DATABASE_CORRUPTED,
                    r,
                    format!("parent page {parent} has no line {iline_parent}"),
                ));
            };
            if l.data.len() != 4 || u32_at(&l.data, 0) != src {
                return Err(err(
                    Jet::DATABASE_CORRUPTED,
                    r,
                    format!(
                        "parent page {parent} line {iline_parent} does not point at page {src}"
                    ),
                ));
            }
            l.data = dest.to_le_bytes().to_vec();
            self.write(r, dbid, parent, p, after)?;
        }
        if let Some(mut p) = lp.take() {
            p.next = dest;
            self.write(r, dbid, left, p, after)?;
        }
        if let Some(mut p) = rp.take() {
            p.prev = dest;
            self.write(r, dbid, right, p, after)?;
        }
        Ok(any)
    }

    /// First access of a page in a multi-record operation: the dbtime
    /// rule once per page; later records work on the same image.
    fn touch(
        &mut self,
        pages: &mut BTreeMap<u32, Option<PageImage>>,
        r: &LogRecord,
        dbid: u8,
        pgno: u32,
        after: u64,
        before: u64,
    ) -> R<()> {
        if let std::collections::btree_map::Entry::Vacant(e) = pages.entry(pgno) {
            let c = self.check(r, dbid, pgno, after, before)?;
            e.insert(match c {
                Check::Redo(p) => Some(p),
                Check::Skip => None,
            });
        }
        Ok(())
    }

    /// RootPageMove macro (`ErrLGRIRedoRootPageMove` logredo.cxx ~10900,
    /// `ErrLGIRedoRootMoveStructures` ~10421, `SHKPerformRootMove`
    /// dbshrink.cxx ~2357): RootPageMove, then PageMove records flagged
    /// root FDP (0x1) / OE (0x2) / AE (0x4), SetExternalHeader records of
    /// child objects (their SPACE_HEADER now naming the new parent), and
    /// Replace records of the catalog entries. Every page under the dbtime
    /// rule with its own before (once per page); a destination (new page,
    /// redone when its dbtime < after) becomes the logged source image
    /// (header + zeros + trailer) with the macro's dbtime, the new FDP page
    /// keeps the old root's fPageFDPDelete and its SPACE_HEADER pgnoOE
    /// becomes the OE destination; children get the logged external
    /// header, catalog lines the logged data; the old root, OE and AE pages
    /// are emptied (`NDEmptyPage`).
    fn redo_root_move(&mut self, after: u64, recs: &[LogRecord]) -> R<()> {
        let rpm = recs.iter().find(|r| r.lrtyp == 96).expect("caller checked");
        let dbid = rpm.data[9];
        let mut pages: BTreeMap<u32, Option<PageImage>> = BTreeMap::new();
        // (kind flags, source, destination, logged image, redo destination)
        let mut moves: Vec<(u32, u32, u32, Vec<u8>, bool)> = Vec::new();
        let ps = self.db(rpm, dbid)?.store.page_size();
        for r in recs {
            match r.lrtyp {
                96 => {}
                65 => {
                    need(r, 96)?;
                    let b = &r.data[..];
                    let pp = page_prefix(b).ok_or_else(|| corrupt(r, "short record"))?;
                    let (cbh, cbt) = (u32_at(b, 88) as usize, u32_at(b, 92) as usize);
                    need(r, 96 + cbh + cbt)?;
                    let kind = u32_at(b, 84) & 7;
                    if kind == 0 || cbh + cbt > ps {
                        return Err(corrupt(r, "PageMove in a root move without a root flag"));
                    }
                    let dest = u32_at(b, 32);
                    self.touch(&mut pages, r, dbid, pp.pgno, after, pp.dbtime_before)?;
                    let redo_dest = self.check_new(r, dbid, dest, after)?;
                    let mut img = vec![0u8; ps];
                    img[..cbh].copy_from_slice(&b[96..96 + cbh]);
                    img[ps - cbt..].copy_from_slice(&b[96 + cbh..96 + cbh + cbt]);
                    moves.push((kind, pp.pgno, dest, img, redo_dest));
                }
                38 | 33 | 34 => {
                    let pp = page_prefix(&r.data).ok_or_else(|| corrupt(r, "short record"))?;
                    self.touch(&mut pages, r, dbid, pp.pgno, after, pp.dbtime_before)?;
                    if let Some(p) = pages.get_mut(&pp.pgno).and_then(Option::take) {
                        let q = node_op(r, &pp, p, &r.data)?;
                        pages.insert(pp.pgno, Some(q));
                    }
                }
                t => {
                    return Err(corrupt(
                        r,
                        format!(
                            "record type {t} ({}) inside a root page move",
                            lrtyp_name(t)
                        ),
                    ))
                }
            }
        }
        let new_oe = moves.iter().find(|m| m.0 & 2 != 0).map(|m| m.2);
        for (kind, src, dest, img, redo_dest) in &moves {
            if !redo_dest {
                continue;
            }
            let mut d = PageImage::parse(img).map_err(|e| {
                err(
                    Jet::DATABASE_CORRUPTED,
                    rpm,
                    format!("logged image of page {src}: {}", e.detail),
                )
            })?;
            if kind & 1 != 0 {
                if let Some(Some(s)) = pages.get(src) {
                    d.flags = (d.flags & !FLAG_FDP_DELETE) | (s.flags & FLAG_FDP_DELETE);
                }
                if let (Some(oe), true) = (new_oe, d.ext.len() >= 16) {
                    d.ext[12..16].copy_from_slice(&oe.to_le_bytes());
                }
            }
            self.stats.before_images.used += 1;
            self.write(rpm, dbid, *dest, d, after)?;
        }
        for (_, src, ..) in &moves {
            if let Some(Some(p)) = pages.get_mut(src) {
                p.ext.clear();
                p.lines.clear();
                p.flags |= FLAG_EMPTY;
            }
        }
        for (pg, p) in pages {
            if let Some(p) = p {
                self.write(rpm, dbid, pg, p, after)?;
            }
        }
        Ok(())
    }

    fn new_page(&mut self, r: &LogRecord) -> R<bool> {
        need(r, 20)?;
        let b = &r.data;
        let (dbid, pgno, objid, after) = (b[3], u32_at(b, 4), u32_at(b, 8), u64_at(b, 12));
        if !self.check_new(r, dbid, pgno, after)? {
            return Ok(false);
        }
        let ps = self.db(r, dbid)?.store.page_size();
        let p = PageImage::new(ps, objid, crate::parse::page::FLAG_PRE_INIT, after);
        self.write(r, dbid, pgno, p, after)?;
        Ok(true)
    }

    /// A page record outside a macro.
    fn page_record(&mut self, r: &LogRecord, pp: &PagePrefix) -> R<bool> {
        let b = &r.data[..];
        let (dbid, pgno, after, before) = (pp.dbid, pp.pgno, pp.dbtime, pp.dbtime_before);
        match r.lrtyp {
            24 => {
                need(r, 56)?;
                self.create_fdp(r, pp, true)
            }
            25 => {
                need(r, 48)?;
                self.create_fdp(r, pp, false)
            }
            58 => {
                need(r, 68)?;
                self.convert_fdp(r, pp)
            }
            48 => self.empty_tree(r, pp),
            64 => self.scrub(r, pp),
            65 => self.page_move(r, pp),
            29..=39 | 93 => {
                if matches!(r.lrtyp, 36) {
                    // UndoInfo: only feeds the version store for undo.
                    self.note_dbtime(dbid, after);
                    self.undo_info(r, pp)?;
                    return Ok(false);
                }
                if before == DBTIME_NIL {
                    return Err(corrupt(
                        r,
                        "node record without dbtimeBefore outside a macro",
                    ));
                }
                if r.lrtyp == 39 {
                    return self.undo_record(r, pp);
                }
                let p = match self.check(r, dbid, pgno, after, before)? {
                    Check::Skip => {
                        self.remember(r, pp, None);
                        return Ok(false);
                    }
                    Check::Redo(p) => p,
                };
                self.remember(r, pp, Some(&p));
                let p = node_op(r, pp, p, b)?;
                self.write(r, dbid, pgno, p, after)?;
                Ok(true)
            }
            62 | 63 => Err(corrupt(r, "split/merge record outside a macro")),
            t => Err(err(
                Jet::LOG_FILE_CORRUPT,
                r,
                format!("unsupported record type {t} ({})", lrtyp_name(t)),
            )),
        }
    }

    /// Creates the RCE of a versioned node operation (`p` = the page before
    /// the operation, when redo applies it).
    pub(crate) fn remember(&mut self, r: &LogRecord, pp: &PagePrefix, p: Option<&PageImage>) {
        if pp.flags & 0x1 == 0 || pp.level == 0 {
            return;
        }
        let b = &r.data[..];
        let iline = pp.iline as usize;
        let node = |p: &PageImage| -> Option<(Vec<u8>, Vec<u8>)> {
            (iline < p.lines.len()).then(|| (p.key(iline), p.lines[iline].data.clone()))
        };
        let logged_key = |off: usize, ck: usize, cd: usize| -> Option<(Vec<u8>, Vec<u8>)> {
            Some((
                b.get(off..off + ck)?.to_vec(),
                b.get(off + ck..off + ck + cd)?.to_vec(),
            ))
        };
        let (kd, undo) = match r.lrtyp {
            29 => {
                let (cs, cp, cd) = (
                    u16_at(b, 44) as usize,
                    u16_at(b, 46) as usize,
                    u16_at(b, 48) as usize,
                );
                (logged_key(50, cs + cp, cd), Some(UndoOp::FlagDelete))
            }
            30 => (
                logged_key(48, u16_at(b, 44) as usize, u16_at(b, 46) as usize),
                Some(UndoOp::FlagDelete),
            ),
            31 => {
                let k = logged_key(52, u16_at(b, 44) as usize, u16_at(b, 46) as usize);
                let old = p.and_then(node).map(|(_, d)| UndoOp::FlagDeleteAndData(d));
                (k, old)
            }
            32 => (p.and_then(node), p.map(|_| UndoOp::ResetDelete)),
            33 | 34 => {
                let n = p.and_then(node);
                let u = n.as_ref().map(|(_, d)| UndoOp::Data(d.clone()));
                (n, u)
            }
            37 | 93 => {
                let (delta, off, w) = if r.lrtyp == 37 {
                    (u32_at(b, 48) as i32 as i64, u16_at(b, 52) as usize, 4)
                } else {
                    (u64_at(b, 48) as i64, u16_at(b, 56) as usize, 8)
                };
                (
                    p.and_then(node),
                    p.map(|_| UndoOp::Delta {
                        offset: off,
                        delta: delta.wrapping_neg(),
                        width: w,
                    }),
                )
            }
            _ => return,
        };
        let unique = pp.flags & 0x4 != 0;
        let (key, data) = kd.unwrap_or_default();
        self.rces.entry(pp.procid).or_default().push(Rce {
            lgpos: r.lgpos,
            rceid: pp.rceid.unwrap_or(0),
            level: pp.level as u32,
            dbid: pp.dbid,
            pgno_fdp: pp.pgno_fdp.unwrap_or(0),
            unique,
            key,
            bm_data: if unique { Vec::new() } else { data },
            undo,
        });
    }

    /// UndoInfo (logredo.cxx ~3140): the before-image of an operation whose
    /// page was flushed while it was uncommitted. Completes (or creates) the
    /// RCE with that rceid. Layout: LRNODE_, bookmark key/data sizes @44/@46,
    /// oper @48 (ver.hxx ~346: 2 replace, 3 flag delete), cbData @54, then
    /// bookmark key, bookmark data, before-image.
    fn undo_info(&mut self, r: &LogRecord, pp: &PagePrefix) -> R<()> {
        let b = &r.data[..];
        need(r, 56)?;
        let (ck, cd, oper, cb) = (
            u16_at(b, 44) as usize,
            u16_at(b, 46) as usize,
            u16_at(b, 48),
            u16_at(b, 54) as usize,
        );
        need(r, 56 + ck + cd + cb)?;
        let key = b[56..56 + ck].to_vec();
        let bm_data = b[56 + ck..56 + ck + cd].to_vec();
        let before = b[56 + ck + cd..56 + ck + cd + cb].to_vec();
        let undo = match oper {
            2 => Some(UndoOp::Data(before)),
            3 => Some(UndoOp::ResetDelete),
            _ => None,
        };
        let rceid = pp.rceid.unwrap_or(0);
        let list = self.rces.entry(pp.procid).or_default();
        if let Some(x) = list.iter_mut().find(|x| x.rceid == rceid) {
            if x.undo.is_none() {
                x.undo = undo;
            }
            if x.key.is_empty() {
                x.key = key;
                x.bm_data = bm_data;
            }
        } else if pp.level > 0 {
            list.push(Rce {
                lgpos: r.lgpos,
                rceid,
                level: pp.level as u32,
                dbid: pp.dbid,
                pgno_fdp: pp.pgno_fdp.unwrap_or(0),
                unique: pp.flags & 0x4 != 0,
                key,
                bm_data,
                undo,
            });
        }
        Ok(())
    }

    /// lrtypUndo: the physical undo of one RCE on the logged page.
    fn undo_record(&mut self, r: &LogRecord, pp: &PagePrefix) -> R<bool> {
        let rceid = pp.rceid.unwrap_or(0);
        let list = self.rces.entry(pp.procid).or_default();
        let Some(i) = list.iter().position(|x| x.rceid == rceid) else {
            return Err(err(
                Jet::LOG_FILE_CORRUPT,
                r,
                format!(
                    "Undo of rceid {rceid}, which no versioned operation of session {} created",
                    pp.procid
                ),
            ));
        };
        let rce = list.remove(i);
        let Check::Redo(mut p) = self.check(r, pp.dbid, pp.pgno, pp.dbtime, pp.dbtime_before)?
        else {
            return Ok(false);
        };
        let op = rce.undo.ok_or_else(|| {
            err(
                Jet::LOG_FILE_CORRUPT,
                r,
                "Undo of an operation whose before-state redo did not see",
            )
        })?;
        super::undo::apply(&mut p, pp.iline as usize, &op).map_err(|e| err(e.jet, r, e.detail))?;
        self.write(r, pp.dbid, pp.pgno, p, pp.dbtime)?;
        self.undo.operations_undone += 1;
        Ok(true)
    }

    /// Rolls back every RCE of `procid` above `level`, newest first.
    fn rollback_to(&mut self, procid: u16, level: u32, r: Option<&LogRecord>) -> R<bool> {
        let mut list = self.rces.remove(&procid).unwrap_or_default();
        let mut undone = Vec::new();
        while list.last().is_some_and(|x| x.level > level) {
            undone.push(list.pop().unwrap());
        }
        // RCEs of higher levels interleaved with lower ones (not expected).
        let (hi, keep): (Vec<Rce>, Vec<Rce>) = list.into_iter().partition(|x| x.level > level);
        undone.extend(hi.into_iter().rev());
        if !keep.is_empty() {
            self.rces.insert(procid, keep);
        }
        let mut any = false;
        for rce in undone {
            match self.undo_by_bookmark(&rce) {
                Ok(()) => {
                    self.undo.operations_undone += 1;
                    any = true;
                }
                Err(d) => {
                    let at = r
                        .map(|r| r.lgpos.eseutil_text())
                        .unwrap_or_else(|| "end of log".into());
                    self.undo.failures.push(format!(
                        "session {procid}: rceid {} not undone at {at}: {d}",
                        rce.rceid
                    ));
                }
            }
        }
        Ok(any)
    }

    fn undo_by_bookmark(&mut self, rce: &Rce) -> R<()> {
        let at = |jet: Jet, detail: &str| Error::redo(rce.lgpos, "", jet, detail);
        let op = rce.undo.clone().ok_or_else(|| {
            at(
                Jet::LOG_FILE_CORRUPT,
                "redo did not see the page before the operation (page ahead of the log)",
            )
        })?;
        let db = self.dbs.get_mut(&rce.dbid).ok_or_else(|| {
            at(
                Jet::ATTACHED_DATABASE_MISMATCH,
                &format!("database {} is no longer attached", rce.dbid),
            )
        })?;
        let store = &db.store;
        let path = store.target().to_path_buf();
        let page_err = |pgno: u32, e: crate::error::FormatError| {
            let offset = (u64::from(pgno) + 1) * store.page_size() as u64;
            Error::corrupt(&path, e.at_base(offset))
        };
        let mut read = |pg: u32| -> R<PageImage> {
            let b = store.read_page(pg)?;
            PageImage::parse(&b).map_err(|e| page_err(pg, e))
        };
        let (pgno, i) = super::undo::seek(
            &path,
            rce.pgno_fdp,
            &rce.key,
            &rce.bm_data,
            rce.unique,
            &mut read,
        )?;
        let mut p = read(pgno)?;
        super::undo::apply(&mut p, i, &op).map_err(|e| page_err(pgno, e))?;
        db.dbtime_max += 1;
        p.dbtime = db.dbtime_max;
        let bytes = p.to_bytes().map_err(|e| page_err(pgno, e))?;
        db.store.write_page(pgno, bytes)?;
        db.pages.insert(pgno);
        Ok(())
    }

    fn create_fdp(&mut self, r: &LogRecord, pp: &PagePrefix, multiple: bool) -> R<bool> {
        let b = &r.data[..];
        let (dbid, pgno, after) = (pp.dbid, pp.pgno, pp.dbtime);
        let objid = u32_at(b, 32);
        let unique = pp.flags & 0x4 != 0;
        let ps = self.db(r, dbid)?.store.page_size();
        let mut any = false;
        let mut sph = [0u8; 16];
        if multiple {
            let (oe, ae, parent, cpg, fl) = (
                u32_at(b, 36),
                u32_at(b, 40),
                u32_at(b, 44),
                u32_at(b, 48),
                u32_at(b, 52),
            );
            sph[0..4].copy_from_slice(&cpg.to_le_bytes());
            sph[4..8].copy_from_slice(&parent.to_le_bytes());
            sph[8] = 0x01 | if unique { 0 } else { 0x02 };
            sph[12..16].copy_from_slice(&oe.to_le_bytes());
            if self.check_new(r, dbid, pgno, after)? {
                let mut p = PageImage::new(ps, objid, fl | FLAG_ROOT | FLAG_LEAF, after);
                p.ext = sph.to_vec();
                self.write(r, dbid, pgno, p, after)?;
                any = true;
            }
            // ErrLGRIRedoSpaceRootPage: OE gets (pgnoLast, cpgPrimary), AE
            // (pgnoLast, cpgPrimary − 3).
            let last = pgno + cpg - 1;
            for (root, cpg_ext) in [(oe, cpg as i64), (ae, cpg as i64 - 3)] {
                if self.check_new(r, dbid, root, after)? {
                    let mut p = space_root_page(ps, objid, fl, after);
                    if cpg_ext > 0 {
                        p.lines.push(Line {
                            flags: 0,
                            cb_prefix: 0,
                            suffix: last.to_be_bytes().to_vec(),
                            data: (cpg_ext as u32).to_le_bytes().to_vec(),
                            slot: None,
                        });
                    }
                    self.write(r, dbid, root, p, after)?;
                    any = true;
                }
            }
        } else {
            let (parent, cpg, fl) = (u32_at(b, 36), u32_at(b, 40), u32_at(b, 44));
            sph[0..4].copy_from_slice(&cpg.to_le_bytes());
            sph[4..8].copy_from_slice(&parent.to_le_bytes());
            sph[8] = if unique { 0 } else { 0x02 };
            // cpgSmallSpaceAvailMost = 32: larger extents start all-available.
            let bits: u32 = if cpg > 32 {
                u32::MAX
            } else {
                let mut v = 0u32;
                for _ in 1..cpg {
                    v = (v << 1) + 1;
                }
                v
            };
            sph[12..16].copy_from_slice(&bits.to_le_bytes());
            if self.check_new(r, dbid, pgno, after)? {
                let mut p = PageImage::new(ps, objid, fl | FLAG_ROOT | FLAG_LEAF, after);
                p.ext = sph.to_vec();
                self.write(r, dbid, pgno, p, after)?;
                any = true;
            }
        }
        if let Some(db) = self.dbs.get_mut(&dbid) {
            db.objid_max = db.objid_max.max(objid);
        }
        Ok(any)
    }

    /// ConvertFDP2 (`ErrLGRIRedoConvertFDP` logredo.cxx ~6720,
    /// `SPIConvertCalcExtents` / `SPIConvertUpdateOE` / `SPIConvertUpdateAE`
    /// / `SPIConvertUpdateFDP`, space.cxx ~3493–3760).
    fn convert_fdp(&mut self, r: &LogRecord, pp: &PagePrefix) -> R<bool> {
        let b = &r.data[..];
        let (dbid, fdp, after) = (pp.dbid, pp.pgno, pp.dbtime);
        let objid = u32_at(b, 32);
        let (oe, ae, parent) = (u32_at(b, 36), u32_at(b, 40), u32_at(b, 44));
        let (sec_first, cpg_primary, cpg_sec) = (u32_at(b, 48), u32_at(b, 52), u32_at(b, 56));
        let (rgbit_avail, fl) = (u32_at(b, 60), u32_at(b, 64));
        let unique = pp.flags & 0x4 != 0;
        // Available extents of the single-extent bitmap.
        let mut ext: Vec<(u32, u32)> = Vec::new();
        let mut rgbit: u32 = 0x8000_0000;
        let mut pgno;
        if cpg_primary.wrapping_sub(1) > 32 && cpg_primary > 0 {
            pgno = fdp + cpg_primary - 1;
            let c = cpg_primary - 32 - 1;
            ext.push((pgno, c));
            pgno -= c;
        } else {
            pgno = fdp + 32;
            while rgbit != 0 && ext.is_empty() {
                if rgbit & rgbit_avail != 0 {
                    ext.push((pgno, 1));
                }
                pgno -= 1;
                rgbit >>= 1;
            }
        }
        while rgbit != 0 {
            if rgbit & rgbit_avail != 0 {
                let last = ext.len() - 1;
                let first = ext[last].0 - ext[last].1 + 1;
                if first - 1 == pgno {
                    ext[last].1 += 1;
                } else {
                    ext.push((pgno, 1));
                }
            }
            pgno = pgno.wrapping_sub(1);
            rgbit >>= 1;
        }
        let ps = self.db(r, dbid)?.store.page_size();
        let node = |last: u32, cpg: u32| Line {
            flags: 0,
            cb_prefix: 0,
            suffix: last.to_be_bytes().to_vec(),
            data: cpg.to_le_bytes().to_vec(),
            slot: None,
        };
        let mut any = false;
        if self.check_new(r, dbid, oe, after)? {
            let mut p = space_root_page(ps, objid, fl, after);
            // Insertion order (secondary extent first) sets the placement.
            let v = vec![
                node(sec_first + cpg_sec - 1, cpg_sec),
                node(fdp + cpg_primary - 1, cpg_primary),
            ];
            p.insert_in_order(v).map_err(|e| corrupt(r, e.detail))?;
            self.write(r, dbid, oe, p, after)?;
            any = true;
        }
        if self.check_new(r, dbid, ae, after)? {
            let mut p = space_root_page(ps, objid, fl, after);
            let mut v = Vec::new();
            if cpg_sec > 2 {
                v.push(node(sec_first + cpg_sec - 1, cpg_sec - 2));
            }
            // rgext lists the highest extent first; ESE inserts from the end.
            for (l, c) in ext.iter().rev() {
                v.push(node(*l, *c));
            }
            p.insert_in_order(v).map_err(|e| corrupt(r, e.detail))?;
            self.write(r, dbid, ae, p, after)?;
            any = true;
        }
        if let Check::Redo(mut p) = self.check(r, dbid, fdp, after, pp.dbtime_before)? {
            let mut sph = [0u8; 16];
            sph[0..4].copy_from_slice(&cpg_primary.to_le_bytes());
            sph[4..8].copy_from_slice(&parent.to_le_bytes());
            sph[8] = 0x01 | if unique { 0 } else { 0x02 };
            sph[12..16].copy_from_slice(&sec_first.to_le_bytes());
            p.ext = sph.to_vec();
            self.write(r, dbid, fdp, p, after)?;
            any = true;
        }
        Ok(any)
    }

    fn empty_tree(&mut self, r: &LogRecord, pp: &PagePrefix) -> R<bool> {
        let b = &r.data[..];
        need(r, 46)?;
        let cb = u16_at(b, 44) as usize;
        need(r, 46 + cb)?;
        let (dbid, after) = (pp.dbid, pp.dbtime);
        let mut any = false;
        for e in b[46..46 + cb].chunks_exact(16) {
            let (before, pg) = (u64_at(e, 0), u32_at(e, 8));
            if let Check::Redo(mut p) = self.check(r, dbid, pg, after, before)? {
                p.ext.clear();
                p.lines.clear();
                p.flags |= FLAG_EMPTY;
                self.write(r, dbid, pg, p, after)?;
                any = true;
            }
        }
        if let Check::Redo(mut p) = self.check(r, dbid, pp.pgno, after, pp.dbtime_before)? {
            if p.lines.len() != 1 || p.flags & FLAG_LEAF != 0 {
                return Err(err(
                    Jet::DATABASE_CORRUPTED,
                    r,
                    format!(
                        "EmptyTree root {} is not an internal page with one node",
                        pp.pgno
                    ),
                ));
            }
            p.lines.clear();
            p.flags = (p.flags & !FLAG_PARENT_OF_LEAF) | FLAG_LEAF;
            self.write(r, dbid, pp.pgno, p, after)?;
            any = true;
        }
        Ok(any)
    }

    fn macro_commit(&mut self, end: &LogRecord, dbtime: u64, recs: &[LogRecord]) -> R<()> {
        let splits: Vec<&LogRecord> = recs.iter().filter(|r| r.lrtyp == 62).collect();
        let merges: Vec<&LogRecord> = recs.iter().filter(|r| r.lrtyp == 63).collect();
        for r in recs {
            self.stats
                .per_type
                .entry(lrtyp_name(r.lrtyp).to_string())
                .or_default()
                .1 += 1;
        }
        if recs.iter().any(|r| r.lrtyp == 96) {
            return self.redo_root_move(dbtime, recs);
        }
        if !splits.is_empty() && !merges.is_empty() {
            return Err(corrupt(end, "macro holds both splits and merges"));
        }
        if let Some(r) = recs.iter().find(|r| matches!(r.lrtyp, 27 | 28)) {
            return Err(err(
                Jet::LOG_FILE_CORRUPT,
                r,
                "unsupported record type (pre-Split2/Merge2 split or merge)",
            ));
        }
        if !splits.is_empty() {
            let op = recs.iter().find(|r| !matches!(r.lrtyp, 62 | 63));
            if let Some(o) = op {
                if let Some(pp) = page_prefix(&o.data) {
                    let page = self
                        .dbs
                        .get(&pp.dbid)
                        .and_then(|db| db.store.read_page(pp.pgno).ok())
                        .and_then(|b| PageImage::parse(&b).ok());
                    self.remember(o, &pp, page.as_ref());
                }
            }
            return super::split::redo_split(self, &splits, op, dbtime);
        }
        if !merges.is_empty() {
            return super::split::redo_merge(self, &merges, recs, dbtime);
        }
        // A macro of plain page records: redo them in order.
        for r in recs {
            let pp = page_prefix(&r.data).ok_or_else(|| corrupt(r, "short record"))?;
            self.page_record(r, &pp)?;
        }
        Ok(())
    }

    /// Ends the pass: open macros are dropped (MacroAbort semantics) and
    /// open transactions reported.
    pub fn finish(&mut self) {
        let mut open: Vec<u16> = self.macros.keys().copied().collect();
        open.sort();
        self.stats.macros_open_at_end = open;
        self.macros.clear();
        let mut t: Vec<u16> = self
            .levels
            .iter()
            .filter(|(_, &l)| l > 0)
            .map(|(&p, _)| p)
            .collect();
        t.sort();
        self.stats.trx_open_at_end = t.clone();
    }

    /// A Term-like record: every session ends (`ErrLGRIEndEverySession`,
    /// logredo.cxx ~2330: open transactions are rolled back), open macros
    /// are dropped (`ErrLGEndAllSessionsMacro`). Returns the sessions
    /// rolled back.
    pub fn end_all_sessions(&mut self, r: &LogRecord) -> Vec<u16> {
        self.macros.clear();
        let mut open: Vec<u16> = self
            .levels
            .iter()
            .filter(|(_, &l)| l > 0)
            .map(|(&p, _)| p)
            .collect();
        open.sort();
        for &procid in &open {
            self.undo.sessions_rolled_back.push(procid);
            let _ = self.rollback_to(procid, 0, Some(r));
        }
        self.levels.clear();
        self.rces.clear();
        open
    }

    /// Rolls back the transactions open at the end of the log (docs/format/recovery.md §5).
    pub fn undo_open_transactions(&mut self) {
        for procid in self.stats.trx_open_at_end.clone() {
            self.undo.sessions_rolled_back.push(procid);
            let _ = self.rollback_to(procid, 0, None);
            self.levels.insert(procid, 0);
        }
    }

    pub(crate) fn check_pub(
        &mut self,
        r: &LogRecord,
        dbid: u8,
        pgno: u32,
        after: u64,
        before: u64,
    ) -> R<Option<PageImage>> {
        Ok(match self.check(r, dbid, pgno, after, before)? {
            Check::Redo(p) => Some(p),
            Check::Skip => None,
        })
    }

    pub(crate) fn check_new_pub(
        &mut self,
        r: &LogRecord,
        dbid: u8,
        pgno: u32,
        after: u64,
    ) -> R<bool> {
        self.check_new(r, dbid, pgno, after)
    }

    pub(crate) fn write_pub(
        &mut self,
        r: &LogRecord,
        dbid: u8,
        pgno: u32,
        p: PageImage,
        dbtime: u64,
    ) -> R<()> {
        self.write(r, dbid, pgno, p, dbtime)
    }

    pub(crate) fn page_size(&mut self, r: &LogRecord, dbid: u8) -> R<usize> {
        Ok(self.db(r, dbid)?.store.page_size())
    }
}

pub(crate) fn line_index(r: &LogRecord, p: &PageImage, iline: usize, insert: bool) -> R<()> {
    let n = p.lines.len() + usize::from(insert);
    if iline >= n {
        return Err(err(
            Jet::DATABASE_CORRUPTED,
            r,
            format!(
                "iline {iline} out of range: the page has {} nodes",
                p.lines.len()
            ),
        ));
    }
    Ok(())
}

/// Applies a single-page node record to `p`.
fn node_op(r: &LogRecord, pp: &PagePrefix, mut p: PageImage, b: &[u8]) -> R<PageImage> {
    let iline = pp.iline as usize;
    let versioned = if pp.flags & 0x1 != 0 {
        NODE_VERSIONED
    } else {
        0
    };
    match r.lrtyp {
        29 => {
            need(r, 50)?;
            let (cs, cp, cd) = (
                u16_at(b, 44) as usize,
                u16_at(b, 46) as usize,
                u16_at(b, 48) as usize,
            );
            need(r, 50 + cs + cp + cd)?;
            let key = &b[50..50 + cp + cs];
            let data = &b[50 + cp + cs..50 + cp + cs + cd];
            line_index(r, &p, iline, true)?;
            let pre = p.prefix();
            if cp > pre.len() || pre[..cp] != key[..cp] {
                return Err(err(
                    Jet::DATABASE_CORRUPTED,
                    r,
                    format!(
                        "insert with cbPrefix {cp} does not match the page prefix of page {}",
                        pp.pgno
                    ),
                ));
            }
            let l = p.make_line(key, cp, data, versioned);
            p.lines.insert(iline, l);
        }
        30 | 31 => {
            line_index(r, &p, iline, false)?;
            let l = &mut p.lines[iline];
            l.flags = (l.flags & !NODE_DELETED) | versioned;
            if r.lrtyp == 31 {
                need(r, 52)?;
                let (ck, cd) = (u16_at(b, 44) as usize, u16_at(b, 46) as usize);
                need(r, 52 + ck + cd)?;
                l.data = b[52 + ck..52 + ck + cd].to_vec();
            }
        }
        32 => {
            line_index(r, &p, iline, false)?;
            p.lines[iline].flags |= NODE_DELETED | versioned;
        }
        35 => {
            line_index(r, &p, iline, false)?;
            p.lines.remove(iline);
        }
        33 | 34 => {
            need(r, 50)?;
            line_index(r, &p, iline, false)?;
            let cb = (u16_at(b, 44) & 0x7FFF) as usize;
            let diff2 = u16_at(b, 44) & 0x8000 != 0;
            let cb_new = u16_at(b, 48) as usize;
            need(r, 50 + cb)?;
            let img = &b[50..50 + cb];
            let new = if r.lrtyp == 33 {
                img.to_vec()
            } else {
                apply_diff(r, &p.lines[iline].data, img, diff2)?
            };
            if new.len() != cb_new {
                return Err(corrupt(
                    r,
                    format!(
                        "after-image is {} bytes, the record says {cb_new}",
                        new.len()
                    ),
                ));
            }
            let l = &mut p.lines[iline];
            l.data = new;
            l.flags |= versioned;
        }
        37 | 93 => {
            line_index(r, &p, iline, false)?;
            let (delta, off) = if r.lrtyp == 37 {
                need(r, 54)?;
                (u32_at(b, 48) as i32 as i64, u16_at(b, 52) as usize)
            } else {
                need(r, 58)?;
                (u64_at(b, 48) as i64, u16_at(b, 56) as usize)
            };
            let d = &mut p.lines[iline].data;
            let w = if r.lrtyp == 37 { 4 } else { 8 };
            if off + w > d.len() {
                return Err(err(
                    Jet::DATABASE_CORRUPTED,
                    r,
                    "delta offset beyond the node's data",
                ));
            }
            if w == 4 {
                let v = u32_at(d, off) as i32 as i64 + delta;
                d[off..off + 4].copy_from_slice(&(v as i32).to_le_bytes());
            } else {
                let v = (u64_at(d, off) as i64).wrapping_add(delta);
                d[off..off + 8].copy_from_slice(&v.to_le_bytes());
            }
            p.lines[iline].flags |= versioned;
        }
        38 => {
            need(r, 46)?;
            let cb = u16_at(b, 44) as usize;
            need(r, 46 + cb)?;
            let new = b[46..46 + cb].to_vec();
            // NDSetExternalHeader replaces tag 0 as a whole; nodes keep
            // their cbPrefix (ErrNDValidateSetExternalHeader checks that the
            // new line still covers them).
            p.ext = new;
        }
        39 => {
            return Err(err(
                Jet::LOG_FILE_CORRUPT,
                r,
                "unsupported record type 39 (Undo)",
            ));
        }
        t => {
            return Err(err(
                Jet::LOG_FILE_CORRUPT,
                r,
                format!("unsupported node record type {t} ({})", lrtyp_name(t)),
            ))
        }
    }
    Ok(p)
}

/// `ErrLGGetAfterImage` (logdiff.cxx ~1150): applies a ReplaceD diff list.
pub fn apply_diff(r: &LogRecord, old: &[u8], diff: &[u8], diff2: bool) -> R<Vec<u8>> {
    let mut new = Vec::with_capacity(old.len() + diff.len());
    let (mut po, mut pd) = (0usize, 0usize);
    let bad = |d: &str| corrupt(r, format!("ReplaceD diff: {d}"));
    while pd < diff.len() {
        let (ib, flags) = if diff2 {
            if pd + 3 > diff.len() {
                return Err(bad("truncated DIFFHDR2"));
            }
            let v = (u16_at(diff, pd) as usize, diff[pd + 2]);
            pd += 3;
            v
        } else {
            if pd + 2 > diff.len() {
                return Err(bad("truncated DIFFHDR"));
            }
            let w = u16_at(diff, pd);
            pd += 2;
            ((w & 0x1FFF) as usize, (w >> 8) as u8)
        };
        let (same, insert, two) = (flags & 0x20 != 0, flags & 0x40 != 0, flags & 0x80 != 0);
        if ib < po || ib > old.len() {
            return Err(bad("offset out of order"));
        }
        new.extend_from_slice(&old[po..ib]);
        po = ib;
        let rd = |pd: &mut usize| -> R<usize> {
            if two {
                if *pd + 2 > diff.len() {
                    return Err(bad("truncated length"));
                }
                let v = u16_at(diff, *pd) as usize;
                *pd += 2;
                Ok(v)
            } else {
                if *pd >= diff.len() {
                    return Err(bad("truncated length"));
                }
                let v = diff[*pd] as usize;
                *pd += 1;
                Ok(v)
            }
        };
        let cb_new = rd(&mut pd)?;
        let cb_old = if insert {
            0
        } else if same {
            cb_new
        } else {
            rd(&mut pd)?
        };
        if pd + cb_new > diff.len() || po + cb_old > old.len() {
            return Err(bad("runs past its end"));
        }
        new.extend_from_slice(&diff[pd..pd + cb_new]);
        pd += cb_new;
        po += cb_old;
    }
    new.extend_from_slice(&old[po..]);
    Ok(new)
}

/// Makes the `err` helper available to sibling modules.
pub(crate) fn redo_err(jet: Jet, r: &LogRecord, detail: impl Into<String>) -> Error {
    err(jet, r, detail)
}

/// Makes the `store_err` helper available to sibling modules.
pub(crate) fn redo_store_err(r: &LogRecord, source: Error) -> Error {
    store_err(r, source)
}

/// An empty space-tree root page (owned- or available-extent tree of an FDP):
/// root, leaf and space-tree flags, its external header the split buffer
/// (`ErrLGRIRedoSpaceRootPage`, logredo.cxx; docs/format/pages.md §6–§7).
fn space_root_page(ps: usize, objid: u32, flags: u32, dbtime: u64) -> PageImage {
    let mut p = PageImage::new(
        ps,
        objid,
        flags | FLAG_ROOT | FLAG_LEAF | FLAG_SPACE_TREE,
        dbtime,
    );
    p.ext = vec![0u8; SPLIT_BUFFER_SIZE];
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec() -> LogRecord {
        LogRecord {
            lgpos: Lgpos::default(),
            lrtyp: 34,
            size: 0,
            disk_bytes: 0,
            fragments: 0,
            data: vec![],
        }
    }

    #[test]
    fn diff_replace_insert_delete() {
        let old = b"abcdefgh";
        // DIFFHDR: ib 2, replace same length (0x2000), 1-byte length 2: "XY".
        let mut d = vec![];
        d.extend_from_slice(&(2u16 | 0x2000).to_le_bytes());
        d.push(2);
        d.extend_from_slice(b"XY");
        // ib 5, insert (0x4000) 1 byte "Z"
        d.extend_from_slice(&(5u16 | 0x4000).to_le_bytes());
        d.push(1);
        d.push(b'Z');
        // ib 6, replace different length: new 0, old 1 (delete "g")
        d.extend_from_slice(&6u16.to_le_bytes());
        d.push(0);
        d.push(1);
        let n = apply_diff(&rec(), old, &d, false).unwrap();
        assert_eq!(n, b"abXYeZfh");
    }
}
