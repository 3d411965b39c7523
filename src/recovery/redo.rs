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

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::cpage::{self, Shape};
use super::create_db::extent_line;
use super::page::PageImage;
use super::store::{IntMap, IntSet, PageMut, PageStore};
use super::undo::{Rce, UndoOp, UndoStats};
use crate::error::{Error, Jet};
use crate::log::record::{lrtyp_name, LogRecord};
use crate::log::typed::{
    Bookmark, DeltaWidth, EmptyPage, Key, MacroOp, Merge, NodeRef, PageMove, PageRef, Record,
    Replace, Split,
};
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

/// PGHDR, the small-page header (cpage.hxx ~992): the least a logged page
/// image holds.
const SMALL_PAGE_HEADER_SIZE: usize = 40;

/// `LRPAGEMOVE::fRootFDP` / `fRootOE` / `fRootAE` (logapi.hxx ~1116).
const MOVE_ROOT_FDP: u32 = 0x1;
const MOVE_ROOT_OE: u32 = 0x2;
const MOVE_ROOT_AE: u32 = 0x4;

/// `LRSCRUB::m_fLRScrubUnusedPage` (logapi.hxx ~452).
const SCRUB_UNUSED_PAGE: u32 = 0x1;
/// SCRUBOPER (node.hxx ~183): `scrubOperNone`, `scrubOperScrubData`,
/// `scrubOperScrubLVData`.
const SCRUB_OPER_NONE: u8 = 0;
const SCRUB_OPER_DATA: u8 = 1;
const SCRUB_OPER_LV_DATA: u8 = 2;
/// `COMPRESS_SCRUB` (compression.cxx ~508).
const COMPRESS_SCRUB: u8 = 4;

/// `operReplace` / `operFlagDelete` (ver.hxx ~348): what an UndoInfo undoes.
const OPER_REPLACE: u16 = 2;
const OPER_FLAG_DELETE: u16 = 3;

/// lrtypConvertFDP (old), lrtypSplit, lrtypMerge: 26–28, refused.
const LRTYP_CONVERT_FDP_OLD: u8 = 26;
const LRTYP_MERGE_OLD: u8 = 28;
/// lrtypExtentFreed / lrtypExtentFreed2 and their sizes (LREXTENTFREED,
/// logapi.hxx ~2496: dbid, pgnoFirst, cpgExtent, flags; + dbtime).
const LRTYP_EXTENT_FREED: u8 = 100;
const LRTYP_EXTENT_FREED2: u8 = 101;
const EXTENT_FREED_SIZE: usize = 11;
const EXTENT_FREED2_SIZE: usize = 19;

/// SPACE_HEADER: size, flags (`fSPHMultipleExtent`, `fSPHNonUnique`,
/// space.hxx ~26) and the offset of its last word (pgnoOE / bitmap).
const SPACE_HEADER_SIZE: usize = 16;
const SPH_MULTIPLE_EXTENT: u8 = 0x01;
const SPH_NON_UNIQUE: u8 = 0x02;
const SPH_LAST_WORD: usize = 12;
/// `cpgSmallSpaceAvailMost` (_space.hxx ~175).
const CPG_SMALL_SPACE_AVAIL_MOST: u32 = 32;

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
    pub per_type: TypeCounts,
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
    pub pages: IntSet<u32>,
    /// Whether the database entered by CreateDB in this pass.
    pub created: bool,
}

impl DbRun {
    /// Counts a redone write of page `pgno` (objid `objid`) at `dbtime`.
    fn count_write(&mut self, pgno: u32, dbtime: u64, objid: u32) {
        self.pages.insert(pgno);
        self.store.redone += 1;
        self.dbtime_max = self.dbtime_max.max(dbtime);
        if objid != 0 && objid < 0x7FFF_FFFF {
            self.objid_max = self.objid_max.max(objid);
        }
    }
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
    macros: IntMap<u16, (u64, Vec<LogRecord>)>,
    /// Transaction level per session.
    levels: IntMap<u16, u32>,
    /// Databases skipped with `/i`: their page records are not redone.
    pub skipped_dbids: BTreeSet<u8>,
    /// Things the report must say were not recovered.
    pub notes: Vec<String>,
    /// Version-store entries per session (see [`super::undo`]).
    pub rces: IntMap<u16, Vec<Rce>>,
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
    /// Bytes of the node being built by an in-place operation (kept to
    /// spare an allocation per record).
    scratch: Vec<u8>,
    /// The page-cache budget of the whole run (`--cache-mib`), shared by
    /// the databases open (`Redo::put_db`); 0 leaves each store's own.
    pub cache_budget: usize,
    /// A page's bytes before a multi-step in-place change
    /// ([`Redo::edit_at`]), to put back when a step declines.
    backup: Vec<u8>,
}

fn err(jet: Jet, record: &LogRecord, detail: impl Into<String>) -> Error {
    Error::redo(record.lgpos, lrtyp_name(record.lrtyp), jet, detail)
}

/// A page-store failure while redoing `r`: the store's own error (an I/O
/// error stays one) at the record's position.
fn store_err(record: &LogRecord, source: Error) -> Error {
    Error::redo_from(record.lgpos, lrtyp_name(record.lrtyp), source)
}

/// Records per type: (seen, applied to at least one page), counted by
/// lrtyp (two per record, so no lookup by name) and named when read.
#[derive(Debug, Clone, Default)]
pub struct TypeCounts(Vec<(u64, u64)>);

impl TypeCounts {
    /// Adds to the (seen, applied) counters of record type `lrtyp`.
    #[inline]
    pub fn add(&mut self, lrtyp: u8, seen: u64, applied: u64) {
        if self.0.is_empty() {
            self.0 = vec![(0, 0); 256];
        }
        let c = &mut self.0[usize::from(lrtyp)];
        *c = (c.0 + seen, c.1 + applied);
    }

    /// The counters by type name ([`lrtyp_name`]; types of one name
    /// summed), types never counted left out.
    pub fn by_name(&self) -> BTreeMap<&'static str, (u64, u64)> {
        let mut m = BTreeMap::new();
        for (t, &(seen, applied)) in self.0.iter().enumerate() {
            if seen != 0 || applied != 0 {
                let c: &mut (u64, u64) = m.entry(lrtyp_name(t as u8)).or_default();
                *c = (c.0 + seen, c.1 + applied);
            }
        }
        m
    }

    /// The counters of type name `name`, when counted.
    pub fn get(&self, name: &str) -> Option<(u64, u64)> {
        self.by_name().get(name).copied()
    }
}

/// As a map from type name to `[seen, applied]`.
impl Serialize for TypeCounts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.by_name().serialize(s)
    }
}

/// A record for a database that is not attached.
fn not_attached(r: &LogRecord, dbid: u8) -> Error {
    err(
        Jet::ATTACHED_DATABASE_MISMATCH,
        r,
        format!("record for dbid {dbid}, which is not attached (no database to redo into)"),
    )
}

fn corrupt(record: &LogRecord, d: impl Into<String>) -> Error {
    err(Jet::LOG_FILE_CORRUPT, record, d)
}

fn need(record: &LogRecord, n: usize) -> R<()> {
    if record.data.len() < n {
        return Err(corrupt(
            record,
            format!("record too short ({} < {n})", record.data.len()),
        ));
    }
    Ok(())
}

/// Outcome of the dbtime check for one page.
pub(crate) enum Check {
    Redo(PageImage),
    Skip,
}

/// How [`Redo::edit_at`] changes a page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EditMode {
    /// `CPAGE::OptimizeInternalFragmentation` after the change (a page
    /// whose lines may overlap is then declined).
    pub shrink: bool,
    /// The change takes steps of which a later one may decline: the page
    /// is kept to be put back. Otherwise the edit leaves the page untouched
    /// when it declines.
    pub steps: bool,
}

/// Outcome of the dbtime check for one page, read into the cache
/// ([`Redo::check_in_cache`]).
pub(crate) enum Checked {
    /// The page already carries the operation.
    Skip,
    /// To redo in place: the page is cached and [`Shape::of`] accepts it.
    InPlace,
    /// To redo through [`PageImage`] (a page the in-place path declines).
    Image(PageImage),
}

impl Redo {
    /// Puts database `dbid` in the replay (attached, created or attached
    /// again) and shares the page-cache budget anew.
    pub(crate) fn put_db(&mut self, dbid: u8, db: DbRun) -> crate::error::Result<()> {
        self.dbs.insert(dbid, db);
        self.share_cache()
    }

    /// Moves database `db` to the detached ones: its pages are written back
    /// and its share of the cache goes to the databases still open.
    pub(crate) fn retire_db(&mut self, db: DbRun) -> crate::error::Result<()> {
        self.detached.push(db);
        self.share_cache()
    }

    /// The budget in equal shares to the open databases (ESE attaches at
    /// most 7, `dbidMax`); a detached database keeps a single page, so the
    /// run's cache never exceeds the budget however many attach in turn.
    fn share_cache(&mut self) -> crate::error::Result<()> {
        if self.cache_budget == 0 {
            return Ok(());
        }
        let each = self.cache_budget / self.dbs.len().max(1);
        for db in self.dbs.values_mut() {
            db.store.set_cache_bytes(each)?;
        }
        for db in &mut self.detached {
            db.store.set_cache_bytes(0)?;
        }
        Ok(())
    }

    fn db(&mut self, r: &LogRecord, dbid: u8) -> R<&mut DbRun> {
        self.dbs.get_mut(&dbid).ok_or_else(|| not_attached(r, dbid))
    }

    /// Reads a page and applies the recovery.md §3 rule. `before == DBTIME_NIL`
    /// means "inside a macro, page already latched": only the after test.
    pub(crate) fn check(
        &mut self,
        r: &LogRecord,
        dbid: u8,
        pgno: u32,
        after: u64,
        before: u64,
    ) -> R<Check> {
        // dbtimeLast follows every record, redone or not
        // (ErrLGRICheckRedoCondition's fUpdateCountersOnly path).
        self.note_dbtime(dbid, after);
        let db = self.db(r, dbid)?;
        let b = db.store.read_page(pgno).map_err(|e| store_err(r, e))?;
        self.check_bytes(r, pgno, &b, after, before)
    }

    /// The recovery.md §3 rule on the bytes `b` of page `pgno`. The page
    /// is decoded only when it is to be redone (a page [`Shape::of`]
    /// accepts decodes without error; any other is decoded first, so that
    /// a damaged page is reported whatever its dbtime).
    fn check_bytes(
        &mut self,
        r: &LogRecord,
        pgno: u32,
        b: &[u8],
        after: u64,
        before: u64,
    ) -> R<Check> {
        if crate::db::classify::is_unwritten(b) {
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
        let parse = |b: &[u8]| {
            PageImage::parse(b).map_err(|e| {
                err(
                    Jet::DATABASE_CORRUPTED,
                    r,
                    format!("page {pgno}: {}", e.detail),
                )
            })
        };
        let mut parsed = match Shape::of(b) {
            Some(_) => None,
            None => Some(parse(b)?),
        };
        let dbtime = u64_at(b, 8);
        if dbtime >= after {
            self.stats.pages_already_applied += 1;
            return Ok(Check::Skip);
        }
        if before != DBTIME_NIL && dbtime != before {
            return Err(self.mismatch(r, pgno, dbtime, before, after));
        }
        match parsed.take() {
            Some(p) => Ok(Check::Redo(p)),
            None => Ok(Check::Redo(parse(b)?)),
        }
    }

    /// A page whose dbtime is not the record's dbtimeBefore (−566 / −567),
    /// counted.
    fn mismatch(
        &mut self,
        r: &LogRecord,
        pgno: u32,
        dbtime: u64,
        before: u64,
        after: u64,
    ) -> Error {
        self.stats.mismatches.push(Mismatch {
            lgpos: r.lgpos,
            pgno,
            page_dbtime: dbtime,
            dbtime_before: before,
            dbtime_after: after,
        });
        let jet = if dbtime < before {
            Jet::DB_TIME_TOO_OLD
        } else {
            Jet::DB_TIME_TOO_NEW
        };
        err(
            jet,
            r,
            format!(
                "page {pgno} has dbtime 0x{dbtime:x}, the record expects 0x{before:x} before and 0x{after:x} after"
            ),
        )
    }

    /// For pages (re)formatted by the record: redo when page dbtime < after.
    pub(crate) fn check_new(&mut self, r: &LogRecord, dbid: u8, pgno: u32, after: u64) -> R<bool> {
        self.note_dbtime(dbid, after);
        let db = self.db(r, dbid)?;
        let c = db.store.page_mut(pgno).map_err(|e| store_err(r, e))?;
        let Some(c) = c.filter(|c| !crate::db::classify::is_unwritten(c.bytes)) else {
            return Ok(true);
        };
        let dbtime = u64_at(c.bytes, 8);
        if dbtime >= after {
            self.stats.pages_already_applied += 1;
            return Ok(false);
        }
        Ok(true)
    }

    pub(crate) fn write(
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
        self.written(dbid, pgno, dbtime, p.objid);
        Ok(())
    }

    /// Counts a redone page write of page `pgno` (objid `objid`) at `dbtime`.
    fn written(&mut self, dbid: u8, pgno: u32, dbtime: u64, objid: u32) {
        if let Some(db) = self.dbs.get_mut(&dbid) {
            db.count_write(pgno, dbtime, objid);
        }
        self.stats.pages_redone += 1;
    }

    fn note_dbtime(&mut self, dbid: u8, dbtime: u64) {
        if let Some(db) = self.dbs.get_mut(&dbid) {
            if dbtime != DBTIME_NIL {
                db.dbtime_max = db.dbtime_max.max(dbtime);
            }
        }
    }

    /// Redoes one record (database-level records are handled by the caller
    /// through `recovery::database_record`). The record is decoded once
    /// here; its redo matches on the typed variant.
    pub fn record(&mut self, record: &LogRecord) -> R<bool> {
        self.stats.records += 1;
        self.stats.per_type.add(record.lrtyp, 1, 0);
        deprecated(record)?;
        // Matched where it was decoded: a record is not moved out of its
        // result (a copy of the whole enum per record).
        let result = record.decode();
        let decoded = result.as_ref().map_err(|e| corrupt(record, e.text()))?;
        let applied = self.record_inner(record, decoded)?;
        // A committed macro counts its own records (`macro_commit`).
        let macro_commit = matches!(
            decoded,
            Record::Macro {
                op: MacroOp::Commit,
                ..
            }
        );
        if applied && !macro_commit {
            self.stats.per_type.add(record.lrtyp, 0, 1);
        }
        Ok(applied)
    }

    /// Dispatches one decoded record (`ErrLGRIRedoOperation`, logredo.cxx
    /// ~6898).
    fn record_inner(&mut self, record: &LogRecord, decoded: &Record) -> R<bool> {
        match *decoded {
            Record::Begin { .. } | Record::Commit { .. } | Record::Rollback { .. } => {
                self.transaction_record(record, decoded)
            }
            Record::Refresh { .. } => Ok(false),
            Record::Macro { op, procid, dbtime } => self.macro_record(record, op, procid, dbtime),
            // ExtentFreed / ExtentFreed2 (`ErrLGRIRedoExtentFreed` ~11497):
            // pages are only touched to capture revert-snapshot (RBS)
            // pre-images, and the dbtime-revert redo maps are cleared —
            // neither exists here, so no page or header effect.
            Record::DbSignal { lrtyp, .. } if lrtyp == LRTYP_EXTENT_FREED => {
                need(record, EXTENT_FREED_SIZE)?;
                Ok(false)
            }
            Record::DbSignal { lrtyp, .. } if lrtyp == LRTYP_EXTENT_FREED2 => {
                need(record, EXTENT_FREED2_SIZE)?;
                Ok(false)
            }
            Record::NewPage {
                dbid,
                pgno,
                objid,
                dbtime_after,
                ..
            } => {
                if self.skips(dbid) {
                    return Ok(false);
                }
                self.new_page(record, dbid, pgno, objid, dbtime_after)
            }
            Record::RootPageMove {
                dbtime_after,
                dbid,
                procid,
                ..
            } => self.root_page_move_record(record, dbid, procid, dbtime_after),
            _ => match decoded.page() {
                Some(page) => self.page_record_in_order(record, decoded, page),
                None if no_page_effect(record.lrtyp) => Ok(false),
                None => Err(err(
                    Jet::LOG_FILE_CORRUPT,
                    record,
                    format!(
                        "unsupported record type {} ({}) — recovery cannot continue past it",
                        record.lrtyp,
                        lrtyp_name(record.lrtyp)
                    ),
                )),
            },
        }
    }

    /// Begin / Commit / Rollback: the session's transaction level and its
    /// version-store entries (logredo.cxx ~7100–7160).
    fn transaction_record(&mut self, record: &LogRecord, decoded: &Record) -> R<bool> {
        match *decoded {
            Record::Begin {
                procid,
                from: level_from,
                count: levels_begun,
                trx_begin0: begin0,
                ..
            } => {
                let level = u32::from(level_from.0) + u32::from(levels_begun);
                self.levels.insert(procid, level);
                if begin0.is_some() {
                    self.stats.trx_begun += 1;
                }
                Ok(false)
            }
            Record::Commit {
                procid,
                to,
                trx_commit0,
            } => {
                let outermost = trx_commit0.is_some();
                let to = if outermost { 0 } else { u32::from(to.0) };
                self.commit_to(procid, to);
                if outermost {
                    self.stats.trx_committed += 1;
                }
                Ok(false)
            }
            Record::Rollback { procid, levels } => {
                // Rollback of levelRollback levels (logredo.cxx ~7152): what
                // Undo records did not already undo is rolled back here.
                let level = self.levels.entry(procid).or_insert(0);
                let to = level.saturating_sub(u32::from(levels));
                *level = to;
                self.stats.rollbacks += 1;
                self.rollback_to(procid, to, Some(record))
            }
            _ => Ok(false),
        }
    }

    /// Commit to level `to`: higher levels merge into it, level 0 makes
    /// the session's version-store entries permanent.
    fn commit_to(&mut self, procid: u16, to: u32) {
        self.levels.insert(procid, to);
        if let Some(rces) = self.rces.get_mut(&procid) {
            if to == 0 {
                rces.clear();
            } else {
                for rce in rces.iter_mut() {
                    rce.level = rce.level.min(to);
                }
            }
        }
    }

    /// The dbtime rule for the page a record names, with its own dbtimes.
    fn check_page(&mut self, record: &LogRecord, page: &PageRef) -> R<Check> {
        self.check(
            record,
            page.dbid,
            page.pgno,
            page.dbtime,
            page.dbtime_before,
        )
    }

    /// MacroBegin / MacroCommit / MacroAbort (logredo.cxx ~12584): the
    /// records stored since MacroBegin are redone together or dropped.
    fn macro_record(
        &mut self,
        record: &LogRecord,
        op: MacroOp,
        procid: u16,
        dbtime: u64,
    ) -> R<bool> {
        if op == MacroOp::Begin {
            self.macros.insert(procid, (dbtime, Vec::new()));
            return Ok(false);
        }
        let Some((_, recs)) = self.macros.remove(&procid) else {
            return Err(corrupt(
                record,
                format!("macro end for session {procid} without MacroBegin"),
            ));
        };
        if op == MacroOp::Abort {
            self.stats.macros_aborted += 1;
            return Ok(false);
        }
        self.stats.macros_committed += 1;
        self.macro_commit(record, dbtime, &recs)?;
        Ok(true)
    }

    /// The end of a generation's records: the records of the macros still
    /// open get bytes of their own, so that they do not keep the
    /// generation's buffer (whatever the number of generations a macro
    /// spans).
    pub fn end_generation(&mut self) {
        for (_, recs) in self.macros.values_mut() {
            for r in recs.iter_mut() {
                *r = r.detached();
            }
        }
    }

    /// Whether `dbid` was skipped with `/i` (its page records are counted,
    /// not redone).
    fn skips(&mut self, dbid: u8) -> bool {
        let skip = self.skipped_dbids.contains(&dbid) && !self.dbs.contains_key(&dbid);
        if skip {
            self.stats.records_of_skipped_databases += 1;
        }
        skip
    }

    /// A page record in log order: kept for its macro when it carries the
    /// dbtime of an open macro of its session
    /// (`ErrLGRICheckRedoConditionInTrx` ~2878), redone now otherwise.
    fn page_record_in_order(
        &mut self,
        record: &LogRecord,
        decoded: &Record,
        page: &PageRef,
    ) -> R<bool> {
        if self.skips(page.dbid) {
            return Ok(false);
        }
        if let Some((macro_dbtime, recs)) = self.macros.get_mut(&page.procid) {
            if *macro_dbtime == page.dbtime {
                recs.push(record.clone());
                return Ok(false);
            }
        }
        self.page_record(record, decoded, page)
    }

    /// RootPageMove: the first record of its macro (logredo.cxx ~7195),
    /// redone at MacroCommit.
    fn root_page_move_record(
        &mut self,
        record: &LogRecord,
        dbid: u8,
        procid: u16,
        dbtime: u64,
    ) -> R<bool> {
        if self.skips(dbid) {
            return Ok(false);
        }
        match self.macros.get_mut(&procid) {
            Some((macro_dbtime, recs)) if *macro_dbtime == dbtime => {
                recs.push(record.clone());
                Ok(false)
            }
            _ => Err(corrupt(
                record,
                "RootPageMove outside a macro of its dbtime",
            )),
        }
    }

    /// Scrub (`ErrLGRIRedoScrub` logredo.cxx ~3882; LRSCRUB logapi.hxx
    /// ~442). Under the dbtime rule: an unused page loses every line and its
    /// free space is filled with 'U' (`NDScrubOneUnusedPage`); on a used
    /// page the count must equal the lines (Enforce), and the free space is
    /// filled with 'Z' (`NDScrubOneUsedPage`, node.cxx ~2740). The page gets
    /// fPageScrubbed (`CPAGE::DirtyForScrub`) and the record's dbtime.
    fn scrub(
        &mut self,
        record: &LogRecord,
        page: &PageRef,
        flags: u32,
        count: u32,
        ops: &[u8],
    ) -> R<bool> {
        let mut p = match self.check_page(record, page)? {
            Check::Skip => return Ok(false),
            Check::Redo(p) => p,
        };
        let fill = if flags & SCRUB_UNUSED_PAGE != 0 {
            p.lines.clear();
            b'U'
        } else {
            scrub_lines(record, page.pgno, &mut p, count as usize, ops)?;
            b'Z'
        };
        p.flags |= FLAG_SCRUBBED;
        p.dbtime = page.dbtime;
        let mut bytes = p.to_bytes().map_err(|e| {
            err(
                Jet::DATABASE_CORRUPTED,
                record,
                format!("page {}: {}", page.pgno, e.detail),
            )
        })?;
        let ps = p.page_size;
        let free_start = crate::parse::page::header_size(ps) + u16_at(&bytes, 32) as usize;
        let free_end = ps - 4 * (p.lines.len() + 1);
        if free_start < free_end {
            bytes[free_start..free_end].fill(fill);
        }
        let db = self.db(record, page.dbid)?;
        db.store
            .write_page(page.pgno, bytes)
            .map_err(|e| store_err(record, e))?;
        db.pages.insert(page.pgno);
        db.store.redone += 1;
        db.dbtime_max = db.dbtime_max.max(page.dbtime);
        self.stats.pages_redone += 1;
        Ok(true)
    }

    /// PageMove (`ErrLGRIIRedoPageMove` logredo.cxx ~9141,
    /// `BTPerformPageMove` bt.cxx ~15968; LRPAGEMOVE logapi.hxx ~1098: the
    /// record's page is the source, its dbtime the after of every page).
    /// Each page under the dbtime rule with its own before (the destination
    /// is a new page: redone when its dbtime < after); the destination
    /// becomes a copy of the source; the source is emptied (`NDEmptyPage`);
    /// the parent's node at ilineParent, which must point at the source,
    /// points at the destination; left.pgnoNext and right.pgnoPrev follow.
    /// When the destination needs redo but the source does not (flushed
    /// after the move, destination lost), the source is first rebuilt from
    /// the logged header + zeros + trailer (`ErrReplacePageImageHeaderTrailer`
    /// ~227) at dbtimeBefore and redone. Root moves (fMoveFlags ≠ 0) belong
    /// to a RootPageMove macro ([`Redo::redo_root_move`]); alone they are
    /// refused.
    fn page_move(&mut self, record: &LogRecord, m: &PageMove) -> R<bool> {
        if m.move_flags != 0 {
            return Err(err(
                Jet::LOG_FILE_CORRUPT,
                record,
                format!(
                    "PageMove of a root page (flags 0x{:x}) outside its RootPageMove macro",
                    m.move_flags
                ),
            ));
        }
        let (dbid, after) = (m.page.dbid, m.page.dbtime);
        let mut pages = self.page_move_pages(record, m)?;
        let any = pages.redo_dest
            || pages.source.is_some()
            || pages.parent.is_some()
            || pages.left.is_some()
            || pages.right.is_some();
        if pages.redo_dest {
            let mut dest = pages.source.clone().expect("source set by page_move_pages");
            dest.dbtime = after;
            self.write(record, dbid, m.pgno_dest, dest, after)?;
        }
        if let Some(mut p) = pages.source.take() {
            empty_page(&mut p);
            self.write(record, dbid, m.page.pgno, p, after)?;
        }
        if let Some(mut p) = pages.parent.take() {
            repoint_parent(record, &mut p, m)?;
            self.write(record, dbid, m.pgno_parent, p, after)?;
        }
        if let Some(mut p) = pages.left.take() {
            p.next = m.pgno_dest;
            self.write(record, dbid, m.pgno_left, p, after)?;
        }
        if let Some(mut p) = pages.right.take() {
            p.prev = m.pgno_dest;
            self.write(record, dbid, m.pgno_right, p, after)?;
        }
        Ok(any)
    }

    /// The pages of a PageMove that need redo; the source rebuilt from the
    /// logged image when only the destination does.
    fn page_move_pages(&mut self, record: &LogRecord, m: &PageMove) -> R<MovePages> {
        let (dbid, after) = (m.page.dbid, m.page.dbtime);
        let parent = self.check(record, dbid, m.pgno_parent, after, m.dbtime_parent_before)?;
        let mut source = self
            .check(record, dbid, m.page.pgno, after, m.page.dbtime_before)?
            .into_page();
        let left = match m.pgno_left {
            0 => None,
            pgno => self
                .check(record, dbid, pgno, after, m.dbtime_left_before)?
                .into_page(),
        };
        let right = match m.pgno_right {
            0 => None,
            pgno => self
                .check(record, dbid, pgno, after, m.dbtime_right_before)?
                .into_page(),
        };
        let redo_dest = self.check_new(record, dbid, m.pgno_dest, after)?;
        if redo_dest && source.is_none() {
            let ps = self.db(record, dbid)?.store.page_size();
            let mut p = logged_page_image(record, ps, m)?;
            p.dbtime = m.page.dbtime_before;
            self.stats.before_images.used += 1;
            source = Some(p);
        }
        Ok(MovePages {
            parent: parent.into_page(),
            source,
            left,
            right,
            redo_dest,
        })
    }

    /// First access of a page in a multi-record operation: the dbtime
    /// rule once per page; later records work on the same image.
    fn touch(
        &mut self,
        pages: &mut BTreeMap<u32, Option<PageImage>>,
        record: &LogRecord,
        dbid: u8,
        pgno: u32,
        after: u64,
        before: u64,
    ) -> R<()> {
        if let std::collections::btree_map::Entry::Vacant(e) = pages.entry(pgno) {
            e.insert(self.check(record, dbid, pgno, after, before)?.into_page());
        }
        Ok(())
    }

    /// RootPageMove macro (`ErrLGRIRedoRootPageMove` logredo.cxx ~10900,
    /// `ErrLGIRedoRootMoveStructures` ~10421, `SHKPerformRootMove`
    /// dbshrink.cxx ~2357): RootPageMove, then PageMove records flagged
    /// root FDP / OE / AE, SetExternalHeader records of child objects
    /// (their SPACE_HEADER now naming the new parent), and Replace records
    /// of the catalog entries. Every page under the dbtime rule with its own
    /// before (once per page); a destination (new page, redone when its
    /// dbtime < after) becomes the logged source image with the macro's
    /// dbtime, the new FDP page keeps the old root's fPageFDPDelete and its
    /// SPACE_HEADER pgnoOE becomes the OE destination; children get the
    /// logged external header, catalog lines the logged data; the old root,
    /// OE and AE pages are emptied (`NDEmptyPage`).
    fn redo_root_move(&mut self, after: u64, recs: &[(&LogRecord, Record)]) -> R<()> {
        let Some((rpm, dbid)) = recs.iter().find_map(|(record, decoded)| match decoded {
            Record::RootPageMove { dbid, .. } => Some((*record, *dbid)),
            _ => None,
        }) else {
            return Ok(());
        };
        let mut pages: BTreeMap<u32, Option<PageImage>> = BTreeMap::new();
        let moves = self.root_move_collect(after, dbid, recs, &mut pages)?;
        let new_oe = moves
            .iter()
            .find(|m| m.flags & MOVE_ROOT_OE != 0)
            .map(|m| m.dest);
        for (m, image) in moves.iter().filter_map(|m| Some((m, m.image.as_ref()?))) {
            let mut d = image.clone();
            if m.flags & MOVE_ROOT_FDP != 0 {
                if let Some(Some(s)) = pages.get(&m.src) {
                    d.flags = (d.flags & !FLAG_FDP_DELETE) | (s.flags & FLAG_FDP_DELETE);
                }
                if let (Some(oe), true) = (new_oe, d.ext.len() >= SPACE_HEADER_SIZE) {
                    d.ext[SPH_LAST_WORD..SPACE_HEADER_SIZE].copy_from_slice(&oe.to_le_bytes());
                }
            }
            self.stats.before_images.used += 1;
            self.write(rpm, dbid, m.dest, d, after)?;
        }
        for m in &moves {
            if let Some(Some(p)) = pages.get_mut(&m.src) {
                empty_page(p);
            }
        }
        for (pgno, p) in pages {
            if let Some(p) = p {
                self.write(rpm, dbid, pgno, p, after)?;
            }
        }
        Ok(())
    }

    /// The records of a root move in order: PageMoves become [`RootMove`]s,
    /// node records are applied to their pages in `pages`.
    fn root_move_collect(
        &mut self,
        after: u64,
        dbid: u8,
        recs: &[(&LogRecord, Record)],
        pages: &mut BTreeMap<u32, Option<PageImage>>,
    ) -> R<Vec<RootMove>> {
        let ps = self.page_size(recs[0].0, dbid)?;
        let mut moves = Vec::new();
        for (record, decoded) in recs {
            match decoded {
                Record::RootPageMove { .. } => {}
                Record::PageMove(m) => {
                    let flags = m.move_flags & (MOVE_ROOT_FDP | MOVE_ROOT_OE | MOVE_ROOT_AE);
                    if flags == 0 {
                        return Err(corrupt(
                            record,
                            "PageMove in a root move without a root flag",
                        ));
                    }
                    self.touch(
                        pages,
                        record,
                        dbid,
                        m.page.pgno,
                        after,
                        m.page.dbtime_before,
                    )?;
                    let redo_dest = self.check_new(record, dbid, m.pgno_dest, after)?;
                    let image = if redo_dest {
                        Some(logged_page_image(record, ps, m)?)
                    } else {
                        None
                    };
                    moves.push(RootMove {
                        flags,
                        src: m.page.pgno,
                        dest: m.pgno_dest,
                        image,
                    });
                }
                Record::SetExternalHeader { node, .. } => {
                    self.root_move_node(record, decoded, node, dbid, after, pages)?
                }
                Record::Replace(x) | Record::ReplaceD(x) => {
                    self.root_move_node(record, decoded, &x.node, dbid, after, pages)?
                }
                _ => {
                    return Err(corrupt(
                        record,
                        format!(
                            "record type {} ({}) inside a root page move",
                            record.lrtyp,
                            lrtyp_name(record.lrtyp)
                        ),
                    ))
                }
            }
        }
        Ok(moves)
    }

    /// A node record of a root move, applied to its page's image.
    fn root_move_node(
        &mut self,
        record: &LogRecord,
        decoded: &Record,
        node: &NodeRef,
        dbid: u8,
        after: u64,
        pages: &mut BTreeMap<u32, Option<PageImage>>,
    ) -> R<()> {
        let pgno = node.page.pgno;
        self.touch(pages, record, dbid, pgno, after, node.page.dbtime_before)?;
        if let Some(p) = pages.get_mut(&pgno).and_then(Option::take) {
            pages.insert(pgno, Some(node_op(record, decoded, p)?));
        }
        Ok(())
    }

    /// NewPage (LRNEWPAGE): a pre-initialised page of `objid`.
    fn new_page(
        &mut self,
        record: &LogRecord,
        dbid: u8,
        pgno: u32,
        objid: u32,
        after: u64,
    ) -> R<bool> {
        if !self.check_new(record, dbid, pgno, after)? {
            return Ok(false);
        }
        let ps = self.db(record, dbid)?.store.page_size();
        let p = PageImage::new(ps, objid, crate::parse::page::FLAG_PRE_INIT, after);
        self.write(record, dbid, pgno, p, after)?;
        Ok(true)
    }

    /// A page record outside a macro.
    fn page_record(&mut self, record: &LogRecord, decoded: &Record, page: &PageRef) -> R<bool> {
        match *decoded {
            Record::CreateMultipleExtentFdp {
                objid,
                pgno_fdp_parent,
                cpg_primary,
                page_flags,
                ..
            }
            | Record::CreateSingleExtentFdp {
                objid,
                pgno_fdp_parent,
                cpg_primary,
                page_flags,
                ..
            } => {
                let fdp = NewFdp {
                    objid,
                    parent: pgno_fdp_parent,
                    cpg_primary,
                    page_flags,
                    unique: page.flags.unique(),
                };
                match *decoded {
                    Record::CreateMultipleExtentFdp {
                        pgno_oe, pgno_ae, ..
                    } => self.create_multiple_extent_fdp(record, page, &fdp, pgno_oe, pgno_ae),
                    _ => self.create_single_extent_fdp(record, page, &fdp),
                }
            }
            Record::ConvertFdp { .. } => self.convert_fdp(record, decoded, page),
            Record::EmptyTree {
                ref node,
                empty_pages,
            } => self.empty_tree(record, node, empty_pages),
            Record::Scrub {
                flags,
                cscrub_oper,
                ops,
                ..
            } => self.scrub(record, page, flags, cscrub_oper, ops),
            Record::PageMove(ref m) => self.page_move(record, m),
            Record::UndoInfo {
                ref node,
                bookmark,
                oper,
                data,
                ..
            } => {
                // UndoInfo only feeds the version store for undo.
                self.note_dbtime(page.dbid, page.dbtime);
                self.undo_info(record, node, bookmark, oper, data);
                Ok(false)
            }
            Record::Split(_) | Record::Merge(_) => {
                Err(corrupt(record, "split/merge record outside a macro"))
            }
            _ => match decoded.node() {
                Some(node) => self.node_record(record, decoded, node),
                None => Err(err(
                    Jet::LOG_FILE_CORRUPT,
                    record,
                    format!(
                        "unsupported record type {} ({})",
                        record.lrtyp,
                        lrtyp_name(record.lrtyp)
                    ),
                )),
            },
        }
    }

    /// A single-page node operation (`ErrLGRIRedoNodeOperation` ~3027): the
    /// dbtime rule, the version-store entry, the operation.
    fn node_record(&mut self, record: &LogRecord, decoded: &Record, node: &NodeRef) -> R<bool> {
        let page = &node.page;
        if page.dbtime_before == DBTIME_NIL {
            return Err(corrupt(
                record,
                "node record without dbtimeBefore outside a macro",
            ));
        }
        if let Record::Undo { .. } = decoded {
            return self.undo_record(record, node);
        }
        let p = match self.check_cached(record, page)? {
            Cached::Skip => {
                self.remember(record, decoded, None);
                return Ok(false);
            }
            Cached::Redo(sh) => {
                // The version-store entry from the page before the edit,
                // read where the edit reads it.
                let mut rce = None;
                let edit = |b: &mut [u8], sh: &mut Shape, scratch: &mut Vec<u8>| {
                    let before = &*b;
                    rce = rce_of(
                        record,
                        decoded,
                        Some(|i, data| raw_node(before, sh, i, data)),
                    );
                    node_op_in_place(decoded, b, sh, scratch)
                };
                let done = self.edit_cached(record, page, sh, edit);
                if let Some((procid, rce)) = rce {
                    self.rces.entry(procid).or_default().push(rce);
                }
                if done? {
                    return Ok(true);
                }
                self.cached_image(record, page)?
            }
            Cached::Unchecked(b) => {
                let (after, before) = (page.dbtime, page.dbtime_before);
                match self.check_bytes(record, page.pgno, &b, after, before)? {
                    Check::Skip => {
                        self.remember(record, decoded, None);
                        return Ok(false);
                    }
                    Check::Redo(p) => {
                        self.remember(record, decoded, Some(&p));
                        p
                    }
                }
            }
        };
        let p = node_op(record, decoded, p)?;
        self.write(record, page.dbid, page.pgno, p, page.dbtime)?;
        Ok(true)
    }

    /// The dbtime rule on the page `page` names, read into the cache and
    /// left there for an in-place change ([`super::cpage`]): the dbtime is
    /// read from the header of a page [`Shape::of`] accepts; any other page
    /// (blank, damaged, in a form only [`PageImage`] handles) is returned
    /// as read, for [`Redo::check_bytes`].
    fn check_cached(&mut self, record: &LogRecord, page: &PageRef) -> R<Cached> {
        let (after, before) = (page.dbtime, page.dbtime_before);
        self.check_cached_at(record, page.dbid, page.pgno, after, before)
    }

    /// [`Redo::check_cached`] for page `pgno` of `dbid` (`before ==
    /// DBTIME_NIL`: only the after test, as [`Redo::check`]).
    fn check_cached_at(
        &mut self,
        record: &LogRecord,
        dbid: u8,
        pgno: u32,
        after: u64,
        before: u64,
    ) -> R<Cached> {
        // `note_dbtime` through the one lookup (nothing to note for a
        // database not attached: that is the error).
        let db = self.db(record, dbid)?;
        if after != DBTIME_NIL {
            db.dbtime_max = db.dbtime_max.max(after);
        }
        let ps = db.store.page_size();
        let c = match db.store.page_mut(pgno) {
            Ok(Some(c)) => c,
            Ok(None) => return Ok(Cached::Unchecked(vec![0u8; ps])),
            Err(e) => return Err(store_err(record, e)),
        };
        let b = &*c.bytes;
        if c.shape.is_none() {
            *c.shape = Shape::of(b);
        }
        debug_assert!(c.shape.is_none_or(|sh| sh.describes(b)));
        let shape = c.shape.filter(|_| !crate::db::classify::is_unwritten(b));
        let Some(sh) = shape else {
            return Ok(Cached::Unchecked(b.to_vec()));
        };
        let dbtime = u64_at(b, 8);
        if dbtime >= after {
            self.stats.pages_already_applied += 1;
            return Ok(Cached::Skip);
        }
        if before != DBTIME_NIL && dbtime != before {
            return Err(self.mismatch(record, pgno, dbtime, before, after));
        }
        Ok(Cached::Redo(sh))
    }

    /// [`Redo::check`] without copying or decoding a page the in-place
    /// path takes: the same rule, the same errors.
    pub(crate) fn check_in_cache(
        &mut self,
        r: &LogRecord,
        dbid: u8,
        pgno: u32,
        after: u64,
        before: u64,
    ) -> R<Checked> {
        Ok(match self.check_cached_at(r, dbid, pgno, after, before)? {
            Cached::Skip => Checked::Skip,
            Cached::Redo(_) => Checked::InPlace,
            Cached::Unchecked(b) => match self.check_bytes(r, pgno, &b, after, before)? {
                Check::Skip => Checked::Skip,
                Check::Redo(p) => Checked::Image(p),
            },
        })
    }

    /// The page [`Redo::check_in_cache`] found to redo, decoded for the
    /// [`PageImage`] path (`None`: to skip).
    pub(crate) fn image_of(
        &mut self,
        r: &LogRecord,
        dbid: u8,
        pgno: u32,
        c: Checked,
    ) -> R<Option<PageImage>> {
        match c {
            Checked::Skip => Ok(None),
            Checked::Image(p) => Ok(Some(p)),
            Checked::InPlace => {
                let b = self.page_at(r, dbid, pgno)?.bytes;
                let p = PageImage::parse(b).map_err(|e| {
                    err(
                        Jet::DATABASE_CORRUPTED,
                        r,
                        format!("page {pgno}: {}", e.detail),
                    )
                })?;
                Ok(Some(p))
            }
        }
    }

    /// The cached bytes of page `pgno` (read again when they were evicted
    /// since their check: a cache smaller than a split or merge path), with
    /// their shape.
    pub(crate) fn page_at(&mut self, r: &LogRecord, dbid: u8, pgno: u32) -> R<PageMut<'_>> {
        let store = &mut self.db(r, dbid)?.store;
        if store.cached_mut(pgno).is_err() {
            store.page_mut(pgno).map_err(|e| store_err(r, e))?;
        }
        let c = store.cached_mut(pgno).map_err(|e| store_err(r, e))?;
        if c.shape.is_none() {
            *c.shape = Shape::of(c.bytes);
        }
        Ok(c)
    }

    /// Changes page `pgno`, checked [`Checked::InPlace`], with `edit`, then
    /// (`mode.shrink`) `CPAGE::OptimizeInternalFragmentation` as
    /// [`PageImage`] applies it, then writes its header and counts the
    /// write as [`Redo::write`] does. False when declined: the page is as
    /// it was, for the [`PageImage`] path.
    pub(crate) fn edit_at<F>(
        &mut self,
        r: &LogRecord,
        dbid: u8,
        pgno: u32,
        dbtime: u64,
        mode: EditMode,
        edit: F,
    ) -> R<bool>
    where
        F: FnOnce(&mut [u8], &mut Shape, &mut Vec<u8>) -> bool,
    {
        let (mut scratch, mut backup) = (
            std::mem::take(&mut self.scratch),
            std::mem::take(&mut self.backup),
        );
        let c = self.page_at(r, dbid, pgno)?;
        let b = c.bytes;
        let mut done = false;
        // Lines that may overlap could make the compaction decline after
        // the edit (`disjoint` holds once true).
        if let Some(mut sh) = c.shape.filter(|sh| !mode.shrink || sh.disjoint()) {
            if mode.steps {
                backup.clear();
                backup.extend_from_slice(b);
            }
            done = edit(b, &mut sh, &mut scratch)
                && (!mode.shrink || cpage::optimize_internal_fragmentation(b, &mut sh));
            if done {
                cpage::finish(b, &mut sh, dbtime);
                *c.shape = Some(sh);
            } else if mode.steps {
                b.copy_from_slice(&backup);
            }
        }
        let objid = u32_at(b, 24);
        (self.scratch, self.backup) = (scratch, backup);
        if done {
            self.mark_redone(r, dbid, pgno, dbtime, objid)?;
        }
        Ok(done)
    }

    /// Counts an in-place change of page `pgno` as a write.
    fn mark_redone(
        &mut self,
        r: &LogRecord,
        dbid: u8,
        pgno: u32,
        dbtime: u64,
        objid: u32,
    ) -> R<()> {
        let db = self.db(r, dbid)?;
        db.store.mark_written(pgno).map_err(|e| store_err(r, e))?;
        db.count_write(pgno, dbtime, objid);
        self.stats.pages_redone += 1;
        Ok(())
    }

    /// The bytes of the page [`Redo::check_cached`] just read (still cached).
    fn cached(&mut self, record: &LogRecord, page: &PageRef) -> R<PageMut<'_>> {
        let db = self.db(record, page.dbid)?;
        let pgno = page.pgno;
        db.store.cached_mut(pgno).map_err(|e| store_err(record, e))
    }

    /// The page [`Redo::check_cached`] accepted, decoded for the
    /// [`PageImage`] path.
    fn cached_image(&mut self, record: &LogRecord, page: &PageRef) -> R<PageImage> {
        let b = self.cached(record, page)?.bytes;
        PageImage::parse(b).map_err(|e| {
            err(
                Jet::DATABASE_CORRUPTED,
                record,
                format!("page {}: {}", page.pgno, e.detail),
            )
        })
    }

    /// Changes the page [`Redo::check_cached`] accepted as `sh` in place
    /// with `edit`, then writes its header (the record's dbtime) and counts
    /// the write as [`Redo::write`] does. False when `edit` declined (the
    /// page untouched: the caller takes the [`PageImage`] path).
    fn edit_cached<F>(
        &mut self,
        record: &LogRecord,
        page: &PageRef,
        mut sh: Shape,
        edit: F,
    ) -> R<bool>
    where
        F: FnOnce(&mut [u8], &mut Shape, &mut Vec<u8>) -> bool,
    {
        // One lookup of the database for the edit and the count
        // (`Redo::cached`, `Redo::mark_redone`).
        let (pgno, dbtime) = (page.pgno, page.dbtime);
        let Some(db) = self.dbs.get_mut(&page.dbid) else {
            return Err(not_attached(record, page.dbid));
        };
        let c = db
            .store
            .cached_mut(pgno)
            .map_err(|e| store_err(record, e))?;
        let done = edit(c.bytes, &mut sh, &mut self.scratch);
        if !done {
            return Ok(false);
        }
        cpage::finish(c.bytes, &mut sh, dbtime);
        *c.shape = Some(sh);
        let objid = u32_at(c.bytes, 24);
        db.store
            .mark_written(pgno)
            .map_err(|e| store_err(record, e))?;
        db.count_write(pgno, dbtime, objid);
        self.stats.pages_redone += 1;
        Ok(true)
    }

    /// Creates the RCE of a versioned node operation (`p` = the page before
    /// the operation, when redo applies it).
    pub(crate) fn remember(&mut self, record: &LogRecord, decoded: &Record, p: Option<&PageImage>) {
        let on_page = p.map(|p| {
            move |i: usize, data: bool| {
                let data = |l: &super::page::Line| if data { l.data.clone() } else { Vec::new() };
                (i < p.lines.len()).then(|| (p.key(i), data(&p.lines[i])))
            }
        });
        if let Some((procid, rce)) = rce_of(record, decoded, on_page) {
            self.rces.entry(procid).or_default().push(rce);
        }
    }

    /// UndoInfo (logredo.cxx ~3140): the before-image of an operation whose
    /// page was flushed while it was uncommitted. Completes (or creates) the
    /// RCE with that rceid; `oper` as in ver.hxx ~346.
    fn undo_info(
        &mut self,
        record: &LogRecord,
        node: &NodeRef,
        bookmark: Bookmark,
        oper: u16,
        before: &[u8],
    ) {
        let undo = match oper {
            OPER_REPLACE => Some(UndoOp::Data(before.to_vec())),
            OPER_FLAG_DELETE => Some(UndoOp::ResetDelete),
            _ => None,
        };
        let page = &node.page;
        let (key, bm_data) = (bookmark.key.to_vec(), bookmark.data.to_vec());
        let list = self.rces.entry(page.procid).or_default();
        if let Some(x) = list.iter_mut().find(|x| x.rceid == node.rceid) {
            if x.undo.is_none() {
                x.undo = undo;
            }
            if x.key.is_empty() {
                x.key = key;
                x.bm_data = bm_data;
            }
        } else if page.level.0 > 0 {
            list.push(Rce {
                lgpos: record.lgpos,
                rceid: node.rceid,
                level: u32::from(page.level.0),
                dbid: page.dbid,
                pgno_fdp: node.pgno_fdp,
                unique: page.flags.unique(),
                key,
                bm_data,
                undo,
            });
        }
    }

    /// lrtypUndo: the physical undo of one RCE on the logged page.
    fn undo_record(&mut self, record: &LogRecord, node: &NodeRef) -> R<bool> {
        let page = &node.page;
        let rceid = node.rceid;
        let list = self.rces.entry(page.procid).or_default();
        let Some(i) = list.iter().position(|x| x.rceid == rceid) else {
            return Err(err(
                Jet::LOG_FILE_CORRUPT,
                record,
                format!(
                    "Undo of rceid {rceid}, which no versioned operation of session {} created",
                    page.procid
                ),
            ));
        };
        let rce = list.remove(i);
        let unseen = || {
            err(
                Jet::LOG_FILE_CORRUPT,
                record,
                "Undo of an operation whose before-state redo did not see",
            )
        };
        let iline = page.iline as usize;
        let mut p = match self.check_cached(record, page)? {
            Cached::Skip => return Ok(false),
            Cached::Redo(sh) => {
                let op = rce.undo.as_ref().ok_or_else(unseen)?;
                let edit = |b: &mut [u8], sh: &mut Shape, scratch: &mut Vec<u8>| {
                    undo_in_place(b, sh, iline, op, scratch)
                };
                if self.edit_cached(record, page, sh, edit)? {
                    self.undo.operations_undone += 1;
                    return Ok(true);
                }
                self.cached_image(record, page)?
            }
            Cached::Unchecked(b) => {
                let (after, before) = (page.dbtime, page.dbtime_before);
                match self.check_bytes(record, page.pgno, &b, after, before)? {
                    Check::Skip => return Ok(false),
                    Check::Redo(p) => p,
                }
            }
        };
        let op = rce.undo.ok_or_else(unseen)?;
        super::undo::apply(&mut p, iline, &op).map_err(|e| err(e.jet, record, e.detail))?;
        self.write(record, page.dbid, page.pgno, p, page.dbtime)?;
        self.undo.operations_undone += 1;
        Ok(true)
    }

    /// Rolls back every RCE of `procid` above `level`, newest first.
    fn rollback_to(&mut self, procid: u16, level: u32, record: Option<&LogRecord>) -> R<bool> {
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
                    let at = record
                        .map(|record| record.lgpos.eseutil_text())
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

    /// CreateMultipleExtentFDP (`ErrLGIRedoFDPPage` logredo.cxx ~6540,
    /// `ErrLGRIRedoSpaceRootPage` ~6463): the FDP page with its
    /// SPACE_HEADER, and the owned- and available-extent roots.
    fn create_multiple_extent_fdp(
        &mut self,
        record: &LogRecord,
        page: &PageRef,
        fdp: &NewFdp,
        oe: u32,
        ae: u32,
    ) -> R<bool> {
        let (dbid, pgno, after) = (page.dbid, page.pgno, page.dbtime);
        let ps = self.db(record, dbid)?.store.page_size();
        let mut any = false;
        if self.check_new(record, dbid, pgno, after)? {
            let mut p =
                PageImage::new(ps, fdp.objid, fdp.page_flags | FLAG_ROOT | FLAG_LEAF, after);
            p.ext = space_header(fdp.cpg_primary, fdp.parent, true, fdp.unique, oe);
            self.write(record, dbid, pgno, p, after)?;
            any = true;
        }
        // OE gets (pgnoLast, cpgPrimary), AE (pgnoLast, cpgPrimary − 3).
        let last = pgno.wrapping_add(fdp.cpg_primary).wrapping_sub(1);
        let cpg = i64::from(fdp.cpg_primary);
        for (root, cpg_ext) in [(oe, cpg), (ae, cpg - 3)] {
            if self.check_new(record, dbid, root, after)? {
                let mut p = space_root_page(ps, fdp.objid, fdp.page_flags, after);
                if cpg_ext > 0 {
                    p.lines.push(extent_line(last, cpg_ext as u32));
                }
                self.write(record, dbid, root, p, after)?;
                any = true;
            }
        }
        self.note_objid(dbid, fdp.objid);
        Ok(any)
    }

    /// CreateSingleExtentFDP (`ErrSPICreateSingle`, space.cxx ~3196): the
    /// FDP page with a single-extent SPACE_HEADER.
    fn create_single_extent_fdp(
        &mut self,
        record: &LogRecord,
        page: &PageRef,
        fdp: &NewFdp,
    ) -> R<bool> {
        let (dbid, pgno, after) = (page.dbid, page.pgno, page.dbtime);
        let ps = self.db(record, dbid)?.store.page_size();
        let mut any = false;
        if self.check_new(record, dbid, pgno, after)? {
            let bits = single_extent_bitmap(fdp.cpg_primary);
            let mut p =
                PageImage::new(ps, fdp.objid, fdp.page_flags | FLAG_ROOT | FLAG_LEAF, after);
            p.ext = space_header(fdp.cpg_primary, fdp.parent, false, fdp.unique, bits);
            self.write(record, dbid, pgno, p, after)?;
            any = true;
        }
        self.note_objid(dbid, fdp.objid);
        Ok(any)
    }

    fn note_objid(&mut self, dbid: u8, objid: u32) {
        if let Some(db) = self.dbs.get_mut(&dbid) {
            db.objid_max = db.objid_max.max(objid);
        }
    }

    /// ConvertFDP2 (`ErrLGRIRedoConvertFDP` logredo.cxx ~6720,
    /// `SPIConvertCalcExtents` / `SPIConvertUpdateOE` / `SPIConvertUpdateAE`
    /// / `SPIConvertUpdateFDP`, space.cxx ~3493–3760).
    fn convert_fdp(&mut self, record: &LogRecord, decoded: &Record, page: &PageRef) -> R<bool> {
        let Record::ConvertFdp {
            objid,
            pgno_oe,
            pgno_ae,
            pgno_fdp_parent,
            pgno_secondary_first: sec_first,
            cpg_primary,
            cpg_secondary: cpg_sec,
            rgbit_avail,
            page_flags,
            ..
        } = *decoded
        else {
            return Err(corrupt(record, "not a ConvertFDP record"));
        };
        let (dbid, fdp, after) = (page.dbid, page.pgno, page.dbtime);
        let ps = self.db(record, dbid)?.store.page_size();
        let secondary_last = sec_first.wrapping_add(cpg_sec).wrapping_sub(1);
        let mut any = false;
        if self.check_new(record, dbid, pgno_oe, after)? {
            let mut p = space_root_page(ps, objid, page_flags, after);
            // Insertion order (secondary extent first) sets the placement.
            let v = vec![
                extent_line(secondary_last, cpg_sec),
                extent_line(fdp.wrapping_add(cpg_primary).wrapping_sub(1), cpg_primary),
            ];
            p.insert_in_order(v)
                .map_err(|e| corrupt(record, e.detail))?;
            self.write(record, dbid, pgno_oe, p, after)?;
            any = true;
        }
        if self.check_new(record, dbid, pgno_ae, after)? {
            let mut p = space_root_page(ps, objid, page_flags, after);
            let mut v = Vec::new();
            if cpg_sec > 2 {
                v.push(extent_line(secondary_last, cpg_sec - 2));
            }
            // rgext lists the highest extent first; ESE inserts from the end.
            let ext = converted_available_extents(fdp, cpg_primary, rgbit_avail);
            v.extend(ext.iter().rev().map(|&(last, cpg)| extent_line(last, cpg)));
            p.insert_in_order(v)
                .map_err(|e| corrupt(record, e.detail))?;
            self.write(record, dbid, pgno_ae, p, after)?;
            any = true;
        }
        if let Check::Redo(mut p) = self.check(record, dbid, fdp, after, page.dbtime_before)? {
            let unique = page.flags.unique();
            p.ext = space_header(cpg_primary, pgno_fdp_parent, true, unique, sec_first);
            self.write(record, dbid, fdp, p, after)?;
            any = true;
        }
        Ok(any)
    }

    /// EmptyTree (`ErrLGRIRedoFreeEmptyPages` ~2947): the listed pages are
    /// emptied, the root (an internal page with one node) becomes an empty
    /// leaf (`NDSetEmptyTree`).
    fn empty_tree(&mut self, record: &LogRecord, node: &NodeRef, list: &[u8]) -> R<bool> {
        let page = &node.page;
        let (dbid, after) = (page.dbid, page.dbtime);
        let mut any = false;
        for e in EmptyPage::list(list) {
            if let Check::Redo(mut p) = self.check(record, dbid, e.pgno, after, e.dbtime_before)? {
                empty_page(&mut p);
                self.write(record, dbid, e.pgno, p, after)?;
                any = true;
            }
        }
        if let Check::Redo(mut p) =
            self.check(record, dbid, page.pgno, after, page.dbtime_before)?
        {
            if p.lines.len() != 1 || p.flags & FLAG_LEAF != 0 {
                return Err(err(
                    Jet::DATABASE_CORRUPTED,
                    record,
                    format!(
                        "EmptyTree root {} is not an internal page with one node",
                        page.pgno
                    ),
                ));
            }
            p.lines.clear();
            p.flags = (p.flags & !FLAG_PARENT_OF_LEAF) | FLAG_LEAF;
            self.write(record, dbid, page.pgno, p, after)?;
            any = true;
        }
        Ok(any)
    }

    /// MacroCommit: the macro's records, decoded once, redone together —
    /// a root move, a split path with its operation, a merge path, or
    /// plain page records in order.
    fn macro_commit(&mut self, end: &LogRecord, dbtime: u64, recs: &[LogRecord]) -> R<()> {
        let decoded: Vec<(&LogRecord, Record)> = recs
            .iter()
            .map(|record| Ok((record, decode(record)?)))
            .collect::<R<_>>()?;
        for record in recs {
            self.stats.per_type.add(record.lrtyp, 0, 1);
        }
        if decoded
            .iter()
            .any(|(_, d)| matches!(d, Record::RootPageMove { .. }))
        {
            return self.redo_root_move(dbtime, &decoded);
        }
        let mut splits: Vec<(&LogRecord, &Split)> = Vec::new();
        let mut merges: Vec<(&LogRecord, &Merge)> = Vec::new();
        for (record, d) in &decoded {
            match d {
                Record::Split(s) => splits.push((*record, s)),
                Record::Merge(m) => merges.push((*record, m)),
                _ => {}
            }
        }
        if !splits.is_empty() && !merges.is_empty() {
            return Err(corrupt(end, "macro holds both splits and merges"));
        }
        if !splits.is_empty() {
            let op = decoded
                .iter()
                .find(|(_, d)| !matches!(d, Record::Split(_) | Record::Merge(_)));
            if let Some((o, orec)) = op {
                self.remember_split_operation(o, orec);
            }
            return super::split::redo_split(
                self,
                &splits,
                op.map(|(record, d)| (*record, d)),
                dbtime,
            );
        }
        if !merges.is_empty() {
            return super::split::redo_merge(self, &merges, &decoded, dbtime);
        }
        // A macro of plain page records: redo them in order.
        for (record, decoded) in &decoded {
            let page = decoded
                .page()
                .ok_or_else(|| corrupt(record, "not a page record"))?;
            self.page_record(record, decoded, page)?;
        }
        Ok(())
    }

    /// The version-store entry of a split's operation, from the page as it
    /// is before the split.
    fn remember_split_operation(&mut self, record: &LogRecord, decoded: &Record) {
        let Some(page) = decoded.page() else { return };
        // Read from the cached bytes when cpage takes the page (the nodes
        // read the same, see `same_nodes` in cpage's tests).
        let db = self.dbs.get_mut(&page.dbid);
        if let Some(Ok(Some(c))) = db.map(|db| db.store.page_mut(page.pgno)) {
            if c.shape.is_none() {
                *c.shape = Shape::of(c.bytes);
            }
            if let Some(sh) = *c.shape {
                let b = &*c.bytes;
                let rce = rce_of(record, decoded, Some(|i, data| raw_node(b, &sh, i, data)));
                if let Some((procid, rce)) = rce {
                    self.rces.entry(procid).or_default().push(rce);
                }
                return;
            }
        }
        let image = self
            .dbs
            .get(&page.dbid)
            .and_then(|db| db.store.read_page(page.pgno).ok())
            .and_then(|b| PageImage::parse(&b).ok());
        self.remember(record, decoded, image.as_ref());
    }

    /// Ends the pass: open macros are dropped (MacroAbort semantics) and
    /// open transactions reported.
    pub fn finish(&mut self) {
        let mut open: Vec<u16> = self.macros.keys().copied().collect();
        open.sort();
        self.stats.macros_open_at_end = open;
        self.macros.clear();
        self.stats.trx_open_at_end = self.sessions_in_transaction();
    }

    /// Sessions with an open transaction, in order.
    fn sessions_in_transaction(&self) -> Vec<u16> {
        let mut open: Vec<u16> = self
            .levels
            .iter()
            .filter(|(_, &level)| level > 0)
            .map(|(&procid, _)| procid)
            .collect();
        open.sort();
        open
    }

    /// A Term-like record: every session ends (`ErrLGRIEndEverySession`,
    /// logredo.cxx ~2330: open transactions are rolled back), open macros
    /// are dropped (`ErrLGEndAllSessionsMacro`). Returns the sessions
    /// rolled back.
    pub fn end_all_sessions(&mut self, record: &LogRecord) -> Vec<u16> {
        self.macros.clear();
        let open = self.sessions_in_transaction();
        for &procid in &open {
            self.undo.sessions_rolled_back.push(procid);
            let _ = self.rollback_to(procid, 0, Some(record));
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

    pub(crate) fn page_size(&mut self, record: &LogRecord, dbid: u8) -> R<usize> {
        Ok(self.db(record, dbid)?.store.page_size())
    }
}

impl Check {
    /// The page to redo, `None` when it already carries the operation.
    pub(crate) fn into_page(self) -> Option<PageImage> {
        match self {
            Check::Redo(p) => Some(p),
            Check::Skip => None,
        }
    }
}

/// Decodes a record once (a field it does not hold: -501).
fn decode(record: &LogRecord) -> R<Record<'_>> {
    record.decode().map_err(|e| corrupt(record, e.text()))
}

/// The pre-Split2/Merge2 split and merge and the old ConvertFDP: ESE's own
/// redo refuses them (FireWall "DeprecatedLrType", JET_errBadLogVersion;
/// logredo.cxx ~7189, ~7394).
fn deprecated(record: &LogRecord) -> R<()> {
    if (LRTYP_CONVERT_FDP_OLD..=LRTYP_MERGE_OLD).contains(&record.lrtyp) {
        return Err(err(
            Jet::BAD_LOG_VERSION,
            record,
            format!(
                "deprecated record type {} ({}): ESE's redo refuses it as well (JET_errBadLogVersion)",
                record.lrtyp,
                lrtyp_name(record.lrtyp)
            ),
        ));
    }
    Ok(())
}

/// Types with no page effect: log structure, instance, backup
/// bookkeeping, ignorable records (`ErrLGRIRedoOperation`'s no-op cases):
/// Nop, Init, Term, MS/Fill (3, 4), RecoveryUndo, RecoveryQuit, FullBackup
/// and IncBackup (19, 20), Backup, Trace, ShutDownMark, LRCHECKSUM,
/// ExtRestore (45, 59, "for tracing only" ~13210), Init2, Term2,
/// RecoveryUndo2, RecoveryQuit2, ForceWriteLog, IgnoredOld (60),
/// ForceLogRollover, PagePatchRequest, MacroInfo, the ignorable 69–71,
/// 73–75, 80, 82–91, SignalAttachDb, 98.
fn no_page_effect(lrtyp: u8) -> bool {
    matches!(
        lrtyp,
        0..=4
            | 17..=23
            | 42
            | 45
            | 49..=52
            | 57
            | 59..=61
            | 66
            | 67
            | 69..=71
            | 73..=75
            | 80
            | 82..=91
            | 97
            | 98
    )
}

pub(crate) fn line_index(record: &LogRecord, p: &PageImage, iline: usize, insert: bool) -> R<()> {
    let n = p.lines.len() + usize::from(insert);
    if iline >= n {
        return Err(err(
            Jet::DATABASE_CORRUPTED,
            record,
            format!(
                "iline {iline} out of range: the page has {} nodes",
                p.lines.len()
            ),
        ));
    }
    Ok(())
}

/// The RCE of a versioned node operation, with its session: `on_page(i)`
/// gives node `i`'s key and data on the page before the operation (none
/// when redo does not apply it, or the node is not there).
fn rce_of<F>(record: &LogRecord, decoded: &Record, on_page: Option<F>) -> Option<(u16, Rce)>
where
    F: Fn(usize, bool) -> Option<(Vec<u8>, Vec<u8>)>,
{
    let node = decoded.node()?;
    let page = &node.page;
    if !page.flags.versioned() || page.level.0 == 0 {
        return None;
    }
    let iline = page.iline as usize;
    let seen = on_page.is_some();
    // A bookmark of a unique index holds no data: none is copied then.
    let unique = page.flags.unique();
    let node_now = |data: bool| on_page.as_ref().and_then(|f| f(iline, data));
    let logged =
        |key: Vec<u8>, data: &[u8]| Some((key, if unique { Vec::new() } else { data.to_vec() }));
    let (bookmark, undo) = match *decoded {
        Record::Insert { key, data, .. } => (logged(key.to_vec(), data), Some(UndoOp::FlagDelete)),
        Record::FlagInsert { key, data, .. } => {
            (logged(key.to_vec(), data), Some(UndoOp::FlagDelete))
        }
        Record::FlagInsertAndReplaceData { key, data, .. } => {
            let old = node_now(true).map(|(_, d)| UndoOp::FlagDeleteAndData(d));
            (logged(key.to_vec(), data), old)
        }
        Record::FlagDelete { .. } => (node_now(!unique), seen.then_some(UndoOp::ResetDelete)),
        // The before-data moves to the undo.
        Record::Replace(_) | Record::ReplaceD(_) => match node_now(true) {
            Some((k, d)) => {
                let bm_data = if unique { Vec::new() } else { d.clone() };
                (Some((k, bm_data)), Some(UndoOp::Data(d)))
            }
            None => (None, None),
        },
        Record::Delta(d) | Record::Delta64(d) => (
            node_now(!unique),
            seen.then(|| UndoOp::Delta {
                offset: d.offset as usize,
                delta: d.delta.wrapping_neg(),
                width: delta_width(d.width),
            }),
        ),
        _ => return None,
    };
    let (key, data) = bookmark.unwrap_or_default();
    let rce = Rce {
        lgpos: record.lgpos,
        rceid: node.rceid,
        level: u32::from(page.level.0),
        dbid: page.dbid,
        pgno_fdp: node.pgno_fdp,
        unique,
        key,
        bm_data: if unique { Vec::new() } else { data },
        undo,
    };
    Some((page.procid, rce))
}

/// Node `i`'s key and (`data`: else none) data on page bytes `b`
/// (accepted as `sh`).
fn raw_node(b: &[u8], sh: &Shape, i: usize, data: bool) -> Option<(Vec<u8>, Vec<u8>)> {
    if i >= sh.lines() {
        return None;
    }
    let n = cpage::node_at(b, sh, i);
    let p = cpage::prefix(b, sh);
    let head = &p[..n.cb_prefix.min(p.len())];
    let mut key = Vec::with_capacity(head.len() + n.suffix.len());
    key.extend_from_slice(head);
    key.extend_from_slice(n.suffix);
    Some((key, if data { n.data.to_vec() } else { Vec::new() }))
}

/// What [`Redo::check_cached`] found.
enum Cached {
    /// The page already carries the operation.
    Skip,
    /// To redo, in place: the page's shape.
    Redo(Shape),
    /// For the [`PageImage`] path from the dbtime rule on: the page as read.
    Unchecked(Vec<u8>),
}

/// [`node_op`] done in place on page bytes `b` (accepted as `sh`), with the
/// same result byte for byte (see [`super::cpage`]). `false`: not done and
/// `b` untouched, for [`node_op`] to do it or to say what is wrong.
pub(crate) fn node_op_in_place(
    decoded: &Record,
    b: &mut [u8],
    sh: &mut Shape,
    scratch: &mut Vec<u8>,
) -> bool {
    let Some(node) = decoded.node() else {
        return false;
    };
    let iline = node.page.iline as usize;
    let versioned = if node.page.flags.versioned() {
        NODE_VERSIONED
    } else {
        0
    };
    scratch.clear();
    match *decoded {
        Record::Insert { key, data, .. } => {
            let prefix = cpage::prefix(b, sh);
            let cb = key.prefix.len();
            if iline > sh.lines() || cb > prefix.len() || prefix[..cb] != *key.prefix {
                return false;
            }
            if !cpage::plain_node(cb, key.suffix.len(), data.len()) {
                return false;
            }
            let f = cpage::encode_node(scratch, sh.large(), versioned, cb, key.suffix, data);
            return cpage::insert(b, sh, iline + 1, scratch, f);
        }
        Record::SetExternalHeader { data, .. } => return cpage::replace(b, sh, 0, data, 0),
        _ => {}
    }
    if iline >= sh.lines() {
        return false;
    }
    if let Record::Delete { .. } = *decoded {
        return cpage::delete(b, sh, iline + 1);
    }
    let n = cpage::node_at(b, sh, iline);
    let encode = |scratch: &mut Vec<u8>, flags: u8, data: &[u8]| {
        cpage::encode_node(scratch, sh.large(), flags, n.cb_prefix, n.suffix, data)
    };
    let flags = match *decoded {
        Record::FlagInsert { .. } => encode(scratch, (n.flags & !NODE_DELETED) | versioned, n.data),
        Record::FlagInsertAndReplaceData { data, .. } => {
            encode(scratch, (n.flags & !NODE_DELETED) | versioned, data)
        }
        Record::FlagDelete { .. } => encode(scratch, n.flags | NODE_DELETED | versioned, n.data),
        Record::Replace(ref x) if x.data.len() == usize::from(x.cb_new) => {
            encode(scratch, n.flags | versioned, x.data)
        }
        Record::ReplaceD(ref x) => {
            let f = encode(scratch, n.flags | versioned, &[]);
            let key_part = scratch.len();
            if apply_diff_into(scratch, n.data, x.data, x.diff2).is_err()
                || scratch.len() - key_part != usize::from(x.cb_new)
            {
                return false;
            }
            f
        }
        Record::Delta(ref d) | Record::Delta64(ref d) => {
            let f = encode(scratch, n.flags | versioned, n.data);
            let data_at = scratch.len() - n.data.len();
            let width = delta_width(d.width);
            if super::undo::add_delta(&mut scratch[data_at..], d.offset as usize, d.delta, width)
                .is_err()
            {
                return false;
            }
            f
        }
        _ => return false,
    };
    replace_plain(b, sh, iline, scratch, flags)
}

/// Node `iline` becomes the node in `scratch` (tag flags `flags`) when that
/// node is in the form [`Shape::of`] accepts; `false` otherwise.
fn replace_plain(b: &mut [u8], sh: &mut Shape, iline: usize, scratch: &[u8], flags: u8) -> bool {
    let n = cpage::node_at(b, sh, iline);
    let key_part = usize::from(n.cb_prefix > 0) * 2 + 2 + n.suffix.len();
    let data = scratch.len().saturating_sub(key_part);
    cpage::plain_node(n.cb_prefix, n.suffix.len(), data)
        && cpage::replace(b, sh, iline + 1, scratch, flags)
}

/// [`super::undo::apply`] done in place on page bytes `b` (accepted as
/// `sh`), with the same result byte for byte; `false`: not done, `b`
/// untouched.
pub(crate) fn undo_in_place(
    b: &mut [u8],
    sh: &mut Shape,
    iline: usize,
    op: &UndoOp,
    scratch: &mut Vec<u8>,
) -> bool {
    if iline >= sh.lines() {
        return false;
    }
    let n = cpage::node_at(b, sh, iline);
    let kept = n.flags & !NODE_VERSIONED;
    let deleted = (n.flags | NODE_DELETED) & !NODE_VERSIONED;
    let (flags, data) = match op {
        UndoOp::FlagDelete => (deleted, n.data),
        UndoOp::ResetDelete => (n.flags & !(NODE_DELETED | NODE_VERSIONED), n.data),
        UndoOp::Data(d) => (kept, &d[..]),
        UndoOp::FlagDeleteAndData(d) => (deleted, &d[..]),
        UndoOp::Delta { .. } => (kept, n.data),
    };
    scratch.clear();
    let f = cpage::encode_node(scratch, sh.large(), flags, n.cb_prefix, n.suffix, data);
    if let UndoOp::Delta {
        offset,
        delta,
        width,
    } = *op
    {
        let data_at = scratch.len() - data.len();
        if super::undo::add_delta(&mut scratch[data_at..], offset, delta, width).is_err() {
            return false;
        }
    }
    replace_plain(b, sh, iline, scratch, f)
}

/// Applies a single-page node record to `p` (`ErrLGRIRedoNodeOperation`
/// logredo.cxx ~3027–3800).
pub(crate) fn node_op(record: &LogRecord, decoded: &Record, mut p: PageImage) -> R<PageImage> {
    let Some(node) = decoded.node() else {
        return Err(unsupported_node_record(record));
    };
    let iline = node.page.iline as usize;
    let versioned = if node.page.flags.versioned() {
        NODE_VERSIONED
    } else {
        0
    };
    match *decoded {
        Record::Insert { key, data, .. } => {
            insert_node(record, &mut p, node.page.pgno, iline, key, data, versioned)?
        }
        Record::FlagInsert { .. } | Record::FlagInsertAndReplaceData { .. } => {
            line_index(record, &p, iline, false)?;
            let line = &mut p.lines[iline];
            line.flags = (line.flags & !NODE_DELETED) | versioned;
            if let Record::FlagInsertAndReplaceData { data, .. } = *decoded {
                line.data = data.to_vec();
            }
        }
        Record::FlagDelete { .. } => {
            line_index(record, &p, iline, false)?;
            p.lines[iline].flags |= NODE_DELETED | versioned;
        }
        Record::Delete { .. } => {
            line_index(record, &p, iline, false)?;
            p.lines.remove(iline);
        }
        Record::Replace(ref x) => replace_node(record, &mut p, iline, x, false, versioned)?,
        Record::ReplaceD(ref x) => replace_node(record, &mut p, iline, x, true, versioned)?,
        Record::Delta(ref d) | Record::Delta64(ref d) => {
            line_index(record, &p, iline, false)?;
            let line = &mut p.lines[iline];
            let width = delta_width(d.width);
            super::undo::add_delta(&mut line.data, d.offset as usize, d.delta, width)
                .map_err(|e| err(e.jet, record, e.detail))?;
            line.flags |= versioned;
        }
        // NDSetExternalHeader replaces tag 0 as a whole; nodes keep their
        // cbPrefix (ErrNDValidateSetExternalHeader checks that the new line
        // still covers them).
        Record::SetExternalHeader { data, .. } => p.ext = data.to_vec(),
        _ => return Err(unsupported_node_record(record)),
    }
    Ok(p)
}

fn unsupported_node_record(record: &LogRecord) -> Error {
    err(
        Jet::LOG_FILE_CORRUPT,
        record,
        format!(
            "unsupported node record type {} ({})",
            record.lrtyp,
            lrtyp_name(record.lrtyp)
        ),
    )
}

/// Insert: the key's logged prefix must be the page's prefix.
fn insert_node(
    record: &LogRecord,
    p: &mut PageImage,
    pgno: u32,
    iline: usize,
    key: Key,
    data: &[u8],
    versioned: u8,
) -> R<()> {
    line_index(record, p, iline, true)?;
    let page_prefix = p.prefix();
    let cb_prefix = key.prefix.len();
    if cb_prefix > page_prefix.len() || page_prefix[..cb_prefix] != *key.prefix {
        return Err(err(
            Jet::DATABASE_CORRUPTED,
            record,
            format!(
                "insert with cbPrefix {cb_prefix} does not match the page prefix of page {pgno}"
            ),
        ));
    }
    let line = p.make_line(&key.to_vec(), cb_prefix, data, versioned);
    p.lines.insert(iline, line);
    Ok(())
}

/// Replace (the after-image) or ReplaceD (differences against the node's
/// data); the result must have the logged new size.
fn replace_node(
    record: &LogRecord,
    p: &mut PageImage,
    iline: usize,
    x: &Replace,
    with_diffs: bool,
    versioned: u8,
) -> R<()> {
    line_index(record, p, iline, false)?;
    let new = if with_diffs {
        apply_diff(record, &p.lines[iline].data, x.data, x.diff2)?
    } else {
        x.data.to_vec()
    };
    if new.len() != usize::from(x.cb_new) {
        return Err(corrupt(
            record,
            format!(
                "after-image is {} bytes, the record says {}",
                new.len(),
                x.cb_new
            ),
        ));
    }
    let line = &mut p.lines[iline];
    line.data = new;
    line.flags |= versioned;
    Ok(())
}

/// The counter width of a Delta in bytes.
fn delta_width(w: DeltaWidth) -> usize {
    match w {
        DeltaWidth::W32 => 4,
        DeltaWidth::W64 => 8,
    }
}

/// `ErrLGGetAfterImage` (logdiff.cxx ~1150): applies a ReplaceD diff list
/// (decoded by [`crate::log::diff`]).
pub fn apply_diff(record: &LogRecord, old: &[u8], diff: &[u8], diff2: bool) -> R<Vec<u8>> {
    let mut new = Vec::with_capacity(old.len() + diff.len());
    apply_diff_into(&mut new, old, diff, diff2)
        .map_err(|d| corrupt(record, format!("ReplaceD diff: {d}")))?;
    Ok(new)
}

/// [`apply_diff`] appending the after-image to `new`.
fn apply_diff_into(
    new: &mut Vec<u8>,
    old: &[u8],
    diff: &[u8],
    diff2: bool,
) -> Result<(), &'static str> {
    let runs = crate::log::diff::runs(diff, diff2)?;
    let mut copied = 0usize;
    for run in runs {
        if run.offset < copied || run.offset > old.len() {
            return Err("offset out of order");
        }
        new.extend_from_slice(&old[copied..run.offset]);
        let end = run.offset + run.old_len;
        if end > old.len() {
            return Err("runs past its end");
        }
        new.extend_from_slice(run.new_bytes);
        copied = end;
    }
    new.extend_from_slice(&old[copied..]);
    Ok(())
}

/// Makes the `err` helper available to sibling modules.
pub(crate) fn redo_err(jet: Jet, record: &LogRecord, detail: impl Into<String>) -> Error {
    err(jet, record, detail)
}

/// Makes the `store_err` helper available to sibling modules.
pub(crate) fn redo_store_err(record: &LogRecord, source: Error) -> Error {
    store_err(record, source)
}

/// `NDEmptyPage` (inc/node.hxx ~608): no external header, no lines, fPageEmpty.
pub(crate) fn empty_page(p: &mut PageImage) {
    p.ext.clear();
    p.lines.clear();
    p.flags |= FLAG_EMPTY;
}

/// The pages a PageMove redoes (`None`: already carries the move).
struct MovePages {
    parent: Option<PageImage>,
    source: Option<PageImage>,
    left: Option<PageImage>,
    right: Option<PageImage>,
    redo_dest: bool,
}

/// One PageMove of a root move.
struct RootMove {
    /// fMoveFlags: which root (FDP / OE / AE).
    flags: u32,
    src: u32,
    dest: u32,
    /// The logged source image (header + zeros + trailer) when the
    /// destination needs redo.
    image: Option<PageImage>,
}

/// The parent's node at ilineParent points at the source: it now points at
/// the destination.
fn repoint_parent(record: &LogRecord, p: &mut PageImage, m: &PageMove) -> R<()> {
    let (parent, iline) = (m.pgno_parent, m.iline_parent as usize);
    let Some(line) = p.lines.get_mut(iline) else {
        return Err(err(
            Jet::DATABASE_CORRUPTED,
            record,
            format!("parent page {parent} has no line {iline}"),
        ));
    };
    if line.data != m.page.pgno.to_le_bytes() {
        return Err(err(
            Jet::DATABASE_CORRUPTED,
            record,
            format!(
                "parent page {parent} line {iline} does not point at page {}",
                m.page.pgno
            ),
        ));
    }
    line.data = m.pgno_dest.to_le_bytes().to_vec();
    Ok(())
}

/// The source page a PageMove logs: its header part, zeros, its trailer
/// part (`ErrReplacePageImageHeaderTrailer` logredo.cxx ~227).
fn logged_page_image(record: &LogRecord, ps: usize, m: &PageMove) -> R<PageImage> {
    let (header, trailer) = (m.header_image, m.trailer_image);
    if header.len() + trailer.len() > ps || header.len() < SMALL_PAGE_HEADER_SIZE {
        return Err(corrupt(
            record,
            format!("page image of {} + {} bytes", header.len(), trailer.len()),
        ));
    }
    let mut img = vec![0u8; ps];
    img[..header.len()].copy_from_slice(header);
    img[ps - trailer.len()..].copy_from_slice(trailer);
    PageImage::parse(&img).map_err(|e| {
        err(
            Jet::DATABASE_CORRUPTED,
            record,
            format!("logged image of page {}: {}", m.page.pgno, e.detail),
        )
    })
}

/// What CreateMultipleExtentFDP / CreateSingleExtentFDP log about the new
/// tree.
struct NewFdp {
    objid: u32,
    parent: u32,
    cpg_primary: u32,
    page_flags: u32,
    unique: bool,
}

/// SPACE_HEADER (inc/space.hxx ~26–130, docs/format/pages.md §7):
/// cpgPrimary u32, pgnoParent u32, flags byte (fSPHMultipleExtent,
/// fSPHNonUnique), then @12 pgnoOE (multiple extent) or the
/// available-page bitmap (single extent).
fn space_header(
    cpg_primary: u32,
    parent: u32,
    multiple: bool,
    unique: bool,
    last_word: u32,
) -> Vec<u8> {
    let mut sph = vec![0u8; SPACE_HEADER_SIZE];
    sph[0..4].copy_from_slice(&cpg_primary.to_le_bytes());
    sph[4..8].copy_from_slice(&parent.to_le_bytes());
    sph[8] =
        if multiple { SPH_MULTIPLE_EXTENT } else { 0 } | if unique { 0 } else { SPH_NON_UNIQUE };
    sph[SPH_LAST_WORD..SPACE_HEADER_SIZE].copy_from_slice(&last_word.to_le_bytes());
    sph
}

/// The available-page bitmap of a new single-extent tree: every page but
/// the FDP; extents larger than `cpgSmallSpaceAvailMost` (32, _space.hxx
/// ~175) start all-available.
fn single_extent_bitmap(cpg: u32) -> u32 {
    if cpg > CPG_SMALL_SPACE_AVAIL_MOST {
        return u32::MAX;
    }
    (1..cpg).fold(0u32, |v, _| (v << 1) + 1)
}

/// The available extents of a single-extent tree being converted
/// (`SPIConvertCalcExtents`, space.cxx ~3493): (last page, count), highest
/// first.
fn converted_available_extents(fdp: u32, cpg_primary: u32, rgbit_avail: u32) -> Vec<(u32, u32)> {
    let mut ext: Vec<(u32, u32)> = Vec::new();
    let mut rgbit: u32 = 0x8000_0000;
    let mut pgno;
    if cpg_primary.wrapping_sub(1) > CPG_SMALL_SPACE_AVAIL_MOST && cpg_primary > 0 {
        pgno = fdp.wrapping_add(cpg_primary).wrapping_sub(1);
        let c = cpg_primary - CPG_SMALL_SPACE_AVAIL_MOST - 1;
        ext.push((pgno, c));
        pgno = pgno.wrapping_sub(c);
    } else {
        pgno = fdp.wrapping_add(CPG_SMALL_SPACE_AVAIL_MOST);
        while rgbit != 0 && ext.is_empty() {
            if rgbit & rgbit_avail != 0 {
                ext.push((pgno, 1));
            }
            pgno = pgno.wrapping_sub(1);
            rgbit >>= 1;
        }
    }
    while rgbit != 0 {
        if rgbit & rgbit_avail != 0 {
            match ext.last_mut() {
                Some(last) if last.0.wrapping_sub(last.1) == pgno => last.1 += 1,
                _ => ext.push((pgno, 1)),
            }
        }
        pgno = pgno.wrapping_sub(1);
        rgbit >>= 1;
    }
    ext
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

/// SCRUBOPER per line on a used page (node.hxx ~183): ScrubData fills the
/// (deleted) node's data with 'D', ScrubLVData makes it a scrubbed LV chunk
/// (first byte COMPRESS_SCRUB << 3, the rest 'L', `CDataCompressor::ErrScrub`
/// compression.cxx ~1585); both clear fNDVersion.
fn scrub_lines(
    record: &LogRecord,
    pgno: u32,
    p: &mut PageImage,
    count: usize,
    ops: &[u8],
) -> R<()> {
    if count != p.lines.len() || ops.len() < count {
        return Err(corrupt(
            record,
            format!(
                "scrub of page {pgno} lists {count} lines ({} bytes of operations), the page has {}",
                ops.len(),
                p.lines.len()
            ),
        ));
    }
    for (line, &op) in p.lines.iter_mut().zip(ops) {
        match op {
            SCRUB_OPER_NONE => {}
            SCRUB_OPER_DATA => {
                line.data.fill(b'D');
                line.flags &= !NODE_VERSIONED;
            }
            SCRUB_OPER_LV_DATA => {
                if let Some((first, rest)) = line.data.split_first_mut() {
                    *first = COMPRESS_SCRUB << 3;
                    rest.fill(b'L');
                }
                line.flags &= !NODE_VERSIONED;
            }
            o => return Err(corrupt(record, format!("unknown scrub operation {o}"))),
        }
    }
    Ok(())
}

/// Redo driven by arbitrary bytes, for the `redo` fuzz target
/// (fuzz/fuzz_targets/redo.rs) and the unit test below: whatever the bytes,
/// decoding and redo return, they never panic.
#[cfg(any(test, fuzzing))]
pub mod fuzz {
    use std::path::Path;

    use super::{DbRun, Redo};
    use crate::log::record::{is_page_record, LogRecord};
    use crate::parse::page::{FLAG_LEAF, FLAG_PARENT_OF_LEAF, FLAG_ROOT};
    use crate::parse::primitives::Lgpos;
    use crate::recovery::page::PageImage;
    use crate::recovery::store::PageStore;

    /// Page size of the synthetic database.
    pub const PAGE_SIZE: usize = 4096;
    /// Its pages: 1 the root of a two-level tree, 2.. chained leaves.
    pub const PAGES: u32 = 8;
    /// Its database id.
    pub const DBID: u8 = 1;
    const OBJID: u32 = 2;

    /// A small database in `dir`: page 1 the root (one separator per leaf,
    /// the last with the empty key), pages 2..=PAGES leaves of three nodes
    /// each, chained; every page at dbtime 1.
    pub fn database(dir: &Path) -> crate::error::Result<DbRun> {
        let mut store = PageStore::create(&dir.join("fuzz.edb"), PAGE_SIZE)?;
        store.extend_to(PAGES)?;
        let mut root = PageImage::new(PAGE_SIZE, OBJID, FLAG_ROOT | FLAG_PARENT_OF_LEAF, 1);
        for pgno in 2..=PAGES {
            let key = if pgno == PAGES {
                vec![]
            } else {
                vec![pgno as u8, 0xFF]
            };
            root.lines
                .push(root.make_line(&key, 0, &pgno.to_le_bytes(), 0));
            let mut leaf = PageImage::new(PAGE_SIZE, OBJID, FLAG_LEAF, 1);
            leaf.prev = if pgno > 2 { pgno - 1 } else { 0 };
            leaf.next = if pgno < PAGES { pgno + 1 } else { 0 };
            for i in 0..3u8 {
                leaf.lines
                    .push(leaf.make_line(&[pgno as u8, i], 0, &[i; 8], 0));
            }
            store.write_page(pgno, leaf.to_bytes().map_err(format_err)?)?;
        }
        store.write_page(1, root.to_bytes().map_err(format_err)?)?;
        Ok(DbRun {
            dbid: DBID,
            logged_path: "fuzz.edb".into(),
            store,
            header: vec![0; PAGE_SIZE],
            attached: true,
            dbtime_max: 1,
            objid_max: OBJID,
            pages: Default::default(),
            created: true,
        })
    }

    fn format_err(e: crate::error::FormatError) -> crate::error::Error {
        crate::error::Error::corrupt("fuzz.edb", e)
    }

    /// Runs the records in `data` (each a length byte, then that many bytes,
    /// the first the record type) through decoding and redo against a fresh
    /// [`database`] in `dir`. With `steer`, page records are aimed at the
    /// database: its dbid, one of its pages, a dbtime after and the page's
    /// dbtime before, so that redo gets past the dbtime rule. Returns the
    /// number of records redo accepted and of page operations it applied.
    pub fn run(dir: &Path, data: &[u8], steer: bool) -> (u64, u64) {
        let Ok(db) = database(dir) else {
            return (0, 0);
        };
        let mut redo = Redo::default();
        redo.dbs.insert(DBID, db);
        let (mut at, mut accepted, mut n) = (0usize, 0u64, 0u32);
        while let Some(&len) = data.get(at) {
            let end = (at + 1 + usize::from(len)).min(data.len());
            let mut bytes = data[at + 1..end].to_vec();
            at = end;
            let Some(&lrtyp) = bytes.first() else {
                continue;
            };
            if steer {
                aim(&redo, &mut bytes);
            }
            n += 1;
            let record = LogRecord {
                lgpos: Lgpos {
                    generation: 1,
                    sector: (n / 64) as u16 + 1,
                    offset: (n % 64) as u16 * 8,
                },
                lrtyp,
                size: bytes.len() as u32,
                disk_bytes: bytes.len() as u32,
                fragments: 0,
                data: bytes.into(),
            };
            let _ = record.decode();
            if redo.record(&record).is_ok() {
                accepted += 1;
            }
        }
        redo.finish();
        redo.undo_open_transactions();
        (accepted, redo.stats.pages_redone)
    }

    /// Aims a page record at the database (see [`run`]).
    fn aim(redo: &Redo, bytes: &mut [u8]) {
        if bytes.len() < 24 || !is_page_record(bytes[0]) {
            return;
        }
        let Some(db) = redo.dbs.get(&DBID) else {
            return;
        };
        let pgno = 1 + u32::from(bytes[4]) % PAGES;
        let before = db
            .store
            .read_page(pgno)
            .ok()
            .and_then(|b| PageImage::parse(&b).ok())
            .map_or(0, |p| p.dbtime);
        let after = db.dbtime_max + 1;
        bytes[3] = DBID;
        bytes[4..8].copy_from_slice(&pgno.to_le_bytes());
        bytes[8..16].copy_from_slice(&after.to_le_bytes());
        bytes[16..24].copy_from_slice(&before.to_le_bytes());
    }
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
            data: vec![].into(),
        }
    }

    /// A macro open at the end of a generation keeps its records' bytes,
    /// not the generation's buffer.
    #[test]
    fn open_macro_records_leave_their_generation_buffer() {
        let buf = std::sync::Arc::new(vec![7u8; 64]);
        let mut rd = Redo::default();
        let r = LogRecord {
            data: crate::log::record::RecordBytes::shared(&buf, 8, 16),
            ..rec()
        };
        rd.macros.insert(5, (9, vec![r]));
        assert_eq!(std::sync::Arc::strong_count(&buf), 2);
        rd.end_generation();
        assert_eq!(std::sync::Arc::strong_count(&buf), 1);
        assert_eq!(&*rd.macros[&5].1[0].data, &[7u8; 16][..]);
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

    /// A tiny deterministic generator (xorshift64).
    fn next(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    /// Record types redo does something with, weighted into the stream.
    const TYPES: &[u8] = &[
        5, 6, 7, 8, 9, 11, 12, 13, 24, 25, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 48, 58, 62,
        63, 64, 65, 93, 95, 96, 100, 101,
    ];

    /// A few thousand pseudo-random records, aimed and not, through decode
    /// and redo: never a panic, and the aimed ones get past the dbtime rule.
    #[test]
    fn random_records_through_decode_and_redo_never_panic() {
        let dir = tempfile::tempdir().unwrap();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let (mut accepted, mut redone) = (0, 0);
        for round in 0..40 {
            let mut stream = Vec::new();
            for _ in 0..100 {
                let len = 1 + next(&mut state) % 200;
                let mut rec: Vec<u8> = (0..len).map(|_| next(&mut state) as u8).collect();
                rec[0] = if next(&mut state) % 8 == 0 {
                    next(&mut state) as u8
                } else {
                    TYPES[next(&mut state) as usize % TYPES.len()]
                };
                // Small variable-part lengths, so that they fit.
                for b in rec.iter_mut().skip(32) {
                    *b &= 0x0F;
                }
                if let Some(n) = crate::log::record::record_size(&rec) {
                    rec.resize((n as usize).min(255), 0);
                }
                stream.push(rec.len() as u8);
                stream.extend_from_slice(&rec);
            }
            let (a, r) = fuzz::run(dir.path(), &stream, round % 2 == 0);
            accepted += a;
            redone += r;
        }
        eprintln!("{accepted} of 4000 records accepted, {redone} page operations");
        assert!(
            accepted > 400 && redone > 50,
            "{accepted} accepted, {redone} redone"
        );
    }
}
