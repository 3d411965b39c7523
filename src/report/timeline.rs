//! `timeline`: every row change the logs hold, with its transaction's
//! outcome, the table it belongs to and the column values the record (or
//! the tracked page line) gives.
//!
//! The logs are read one generation at a time
//! ([`crate::log::set::check_set_streamed`]); what is kept between
//! generations: the catalog, the changes waiting for their outcome (log
//! order: a change goes out once it and every earlier change are decided;
//! commit order: a transaction's changes when it ends), bounded by
//! [`TimelineOptions::max_buffer`], the lines of the pages the logs touched
//! (keys of Replace/Delete records, which log only a line number; before
//! images), bounded by [`MAX_TRACKED_PAGES`], and the long-value nodes the
//! logs wrote, bounded by [`MAX_LV_BYTES`].
//!
//! Facts (ESE source):
//! * record layouts: `inc/logapi.hxx` LRPAGE_ ~377, LRNODE_ ~426, LRINSERT
//!   ~637 (key logged whole, prefix part then suffix part: logredo.cxx
//!   ~3300), LRFLAGINSERT ~662, LRFLAGINSERTANDREPLACEDATA ~684, LRREPLACE
//!   ~708 (after image, or a diff list for ReplaceD), `_LRDELTA` ~760,
//!   LRFLAGDELETE / LRDELETE ~789–803 (no key: the line on the page),
//!   LRUNDO ~805; docs/format/log-records.md §4;
//! * transactions: LRBEGIN/LRBEGIN0 ~1376 (levelBeginFrom, clevelsToBegin),
//!   LRCOMMIT/LRCOMMIT0 ~1433 (levelCommitTo), LRROLLBACK (levels rolled
//!   back), per session (procid); the LRPAGE_ level of a change is the
//!   level it was made at;
//! * fLRPageSpace (0x08, logapi.hxx ~372): space-tree operations, not rows;
//! * the catalog tree is objid 2 rooted at page 4 (`objidFDPMSO`,
//!   `pgnoFDPMSO`, daedef.hxx); its rows decode with
//!   [`crate::db::catalog::decode_entry`].

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::db::catalog::{decode_entry, Catalog, CatalogEntry, TableInfo};
use crate::db::export::LvTree;
use crate::db::page::Page;
use crate::db::record_values::{decode_record, TableSchema, Value};
use crate::db::Database;
use crate::error::Error;
use crate::log::record::{Key, LogRecord, MacroOp, MergeFlags, PageFlags, PagePrefix, Record};
use crate::log::set::{check_set_streamed, SetStep};
use crate::parse::primitives::{Lgpos, LogTime};

mod lv;
use lv::{ImageLongValues, LvChunks};

/// Object id of the catalog tree (`objidFDPMSO`).
pub const CATALOG_OBJID: u32 = 2;

/// Default bound of the changes held while their transactions are open
/// ([`TimelineOptions::max_buffer`]).
pub const DEFAULT_MAX_BUFFER: usize = 256 << 20;

/// Bound of the long-value chunks kept from the logs (bytes).
pub const MAX_LV_BYTES: usize = 64 << 20;

/// Bound of the pages whose lines are followed.
pub const MAX_TRACKED_PAGES: usize = 65_536;

/// In which order changes are handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Log order (lgpos): a change waits until its transaction and every
    /// earlier change's transaction has ended.
    #[default]
    Log,
    /// Transaction order: a transaction's changes (in log order) when it
    /// ends; only open transactions are held.
    Commit,
}

/// What the timeline is asked for.
#[derive(Debug, Clone)]
pub struct TimelineOptions {
    /// First position handed out (inclusive).
    pub from: Option<Lgpos>,
    /// Last position handed out (inclusive).
    pub to: Option<Lgpos>,
    /// Output order.
    pub order: Order,
    /// Bytes of changes held waiting for an outcome; past it the oldest is
    /// handed out with the outcome `undecided`.
    pub max_buffer: usize,
}

impl Default for TimelineOptions {
    fn default() -> Self {
        TimelineOptions {
            from: None,
            to: None,
            order: Order::Log,
            max_buffer: DEFAULT_MAX_BUFFER,
        }
    }
}

/// How the transaction of a change ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// Commit0 (or a change made outside a transaction, level 0).
    Committed,
    /// Rolled back (the levels it was made at).
    RolledBack,
    /// The engine restarted (Init) while it was open: recovery undid it.
    UndoneAtRestart,
    /// Still open at the end of the logs read.
    OpenAtEnd,
    /// Handed out while its transaction was open, because more changes
    /// waited than [`TimelineOptions::max_buffer`] allows.
    Undecided,
}

impl Outcome {
    /// Name in the output.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Committed => "committed",
            Outcome::RolledBack => "rolled-back",
            Outcome::UndoneAtRestart => "undone-at-restart",
            Outcome::OpenAtEnd => "open-at-end",
            Outcome::Undecided => "undecided",
        }
    }
}

/// Which tree of a table a change touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tree {
    /// The table's records (primary index).
    Primary,
    /// A secondary index (its name); node data is the primary bookmark.
    Index(String),
    /// The long-value tree.
    LongValues,
    /// Not in the catalog known at that point.
    Unknown,
}

/// A row image (before or after).
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// The bytes (a record, or a diff list when `diff`).
    pub raw: Vec<u8>,
    /// Column values (name, value) when decoded as a record of the table.
    pub values: Option<Vec<(String, Value)>>,
    /// Where the image comes from: `record` (logged whole), `page`
    /// (the tracked page line), `page+diff` (tracked line with the logged
    /// diff applied), `undo-info` (the before-image an UndoInfo record
    /// logs), `undo-info+diff`, `page+delta` (tracked line with the
    /// logged delta added), `diff` (the logged diff only: partial).
    pub source: &'static str,
    /// Why it is partial or was not decoded.
    pub note: Option<String>,
    /// Separated long values of the decoded columns: where each was read
    /// from, or why not.
    pub long_values: Vec<LvRef>,
}

/// A separated long value met while decoding an image.
#[derive(Debug, Clone, PartialEq)]
pub struct LvRef {
    /// The LID as the engine keys it (big-endian), hex.
    pub lid: String,
    /// `logs` (chunks the logs wrote) or `database` (the database's LV
    /// tree, as the file is now); `None` when not read.
    pub source: Option<&'static str>,
    /// Why it was not read; the column's value is then the error text
    /// this holds ([`LvRef::error_text`]).
    pub unresolved: Option<String>,
}

impl LvRef {
    /// The text the column's value carries when the value is not read.
    pub fn error_text(&self) -> Option<String> {
        let why = self.unresolved.as_ref()?;
        Some(format!("separated long value {}: {why}", self.lid))
    }
}

/// One row change.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Position of the record.
    pub lgpos: Lgpos,
    /// Log time: the start time of its segment (8.x) or the log's creation
    /// time (7.x, or an unset segment time).
    pub time: Option<LogTime>,
    /// `segment` or `log-header`.
    pub time_source: &'static str,
    /// Record type name (/ml).
    pub lrtyp: &'static str,
    /// Operation: insert, flag-insert, flag-insert-replace-data, replace,
    /// replace-diff, delta, delta64, flag-delete, delete, undo.
    pub op: &'static str,
    /// Session.
    pub procid: u16,
    /// trxBegin0 of the transaction.
    pub trx: u32,
    /// Transaction level the change was made at.
    pub level: u8,
    /// Made by a background system task (fLRPageSystemTask 0x20, e.g.
    /// version cleanup deleting flag-deleted nodes), not by an application.
    pub system_task: bool,
    /// Database id and its path (Attach/CreateDB or the log header).
    pub dbid: u8,
    /// Path as logged.
    pub database: Option<String>,
    /// Page and line.
    pub pgno: u32,
    /// Line on the page.
    pub iline: u16,
    /// Tree object id.
    pub objid: u32,
    /// Table name, when the catalog names the tree.
    pub table: Option<String>,
    /// Which tree of the table.
    pub tree: Tree,
    /// Key of the node (logged, or from the tracked page line).
    pub key: Option<Vec<u8>>,
    /// `record` or `page`.
    pub key_source: Option<&'static str>,
    /// Primary key columns decoded from the row image.
    pub key_columns: Vec<(String, Value)>,
    /// Before image.
    pub before: Option<Image>,
    /// Why the before image is not known, for an operation that has one.
    pub before_unknown: Option<String>,
    /// Version-store id (LRNODE_ rceid) linking Undo and UndoInfo records
    /// to the operation.
    pub rceid: Option<u32>,
    /// For an Undo: the position of the change it undoes.
    pub undoes: Option<Lgpos>,
    /// ReplaceD in the DIFFHDR2 format (to apply a later before image).
    pub diff2: bool,
    /// After image.
    pub after: Option<Image>,
    /// Delta: (value added, offset in the record).
    pub delta: Option<(i64, u16)>,
    /// Transaction outcome.
    pub outcome: Outcome,
    /// Caveats (key or image unknown, …).
    pub notes: Vec<String>,
}

/// Counts of the run.
#[derive(Debug, Clone, Default)]
pub struct TimelineSummary {
    /// Generations read.
    pub generations: u32,
    /// Records read.
    pub records: u64,
    /// Changes handed out (inside --from/--to).
    pub changes: u64,
    /// Per outcome.
    pub outcomes: BTreeMap<&'static str, u64>,
    /// Per operation.
    pub ops: BTreeMap<&'static str, u64>,
    /// Space-tree operations skipped (not rows).
    pub space_ops: u64,
    /// Changes whose key is not known.
    pub unknown_keys: u64,
    /// Changes on trees the catalog does not name.
    pub unknown_tables: u64,
    /// Catalog rows learnt from the logs.
    pub catalog_rows_from_logs: u64,
    /// Damaged files or sequence problems met (messages).
    pub problems: Vec<String>,
    /// Remarks that are not damage (a database no log names, …).
    pub notes: Vec<String>,
    /// UndoInfo records whose before-image completed a change.
    pub undo_info_used: u64,
    /// UndoInfo records whose operation is not in the logs read (handed
    /// out as `undo-info` changes).
    pub undo_info_alone: u64,
    /// Changes with a before image (of those that have one).
    pub before_known: u64,
    /// Changes whose before image is not known.
    pub before_unknown: u64,
    /// Separated long values read (from the logs, from the database) and
    /// not read.
    pub long_values: BTreeMap<&'static str, u64>,
    /// Changes handed out before their transaction ended (buffer bound).
    pub undecided: u64,
    /// Greatest bytes of changes held at once.
    pub buffer_peak: usize,
    /// Pages dropped from line tracking (page bound).
    pub pages_dropped: u64,
}

/// The fields of a row-changing record, taken from its typed
/// [`Record`] (the log layer decodes the bytes, `inc/logapi.hxx`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowOp<'a> {
    /// Insert (29): whole key, data.
    Insert {
        /// Key (prefix part and suffix part).
        key: Key<'a>,
        /// Record.
        data: &'a [u8],
    },
    /// FlagInsert (30) / FlagInsertAndReplaceData (31): key, data.
    FlagInsert {
        /// Key.
        key: Key<'a>,
        /// Record.
        data: &'a [u8],
        /// 31: the data replaces the node's.
        replace_data: bool,
    },
    /// Replace (33, after image) / ReplaceD (34, diff list).
    Replace {
        /// After image, or the diff list.
        data: &'a [u8],
        /// ReplaceD.
        diff: bool,
        /// DIFFHDR2 format (bit 15 of cb).
        diff2: bool,
    },
    /// Delta (37) / Delta64 (93): bookmark, value added at an offset.
    Delta {
        /// Bookmark key.
        key: Key<'a>,
        /// Value added.
        delta: i64,
        /// Offset in the record.
        offset: u16,
        /// 64-bit.
        wide: bool,
    },
    /// FlagDelete (32).
    FlagDelete,
    /// Delete (35).
    Delete,
    /// Undo (39): bookmark key, the operation undone.
    Undo {
        /// Bookmark key.
        key: Key<'a>,
        /// The operation undone (ver.hxx OPER).
        oper: u16,
    },
}

/// The row change a decoded record makes; `None` for other types.
pub fn row_op<'a>(rec: &Record<'a>) -> Option<RowOp<'a>> {
    Some(match *rec {
        Record::Insert { key, data, .. } => RowOp::Insert { key, data },
        Record::FlagInsert { key, data, .. } => RowOp::FlagInsert {
            key: Key {
                prefix: &[],
                suffix: key,
            },
            data,
            replace_data: false,
        },
        Record::FlagInsertAndReplaceData { key, data, .. } => RowOp::FlagInsert {
            key: Key {
                prefix: &[],
                suffix: key,
            },
            data,
            replace_data: true,
        },
        Record::Replace(x) => RowOp::Replace {
            data: x.data,
            diff: false,
            diff2: x.diff2,
        },
        Record::ReplaceD(x) => RowOp::Replace {
            data: x.data,
            diff: true,
            diff2: x.diff2,
        },
        Record::Delta(d) | Record::Delta64(d) => RowOp::Delta {
            key: d.bookmark.key,
            delta: d.delta,
            offset: d.offset,
            wide: d.width == crate::log::record::DeltaWidth::W64,
        },
        Record::FlagDelete { .. } => RowOp::FlagDelete,
        Record::Delete { .. } => RowOp::Delete,
        Record::Undo { bookmark, oper, .. } => RowOp::Undo {
            key: bookmark.key,
            oper,
        },
        _ => return None,
    })
}

/// `operInsert`, `operReplace`, `operFlagDelete` (ver.hxx ~346): the
/// operation an Undo or UndoInfo names.
const OPER_INSERT: u16 = 1;
const OPER_REPLACE: u16 = 2;
const OPER_FLAG_DELETE: u16 = 3;

/// An image of `raw` from `source`, not decoded yet.
fn image(raw: &[u8], source: &'static str) -> Image {
    Image {
        raw: raw.to_vec(),
        values: None,
        source,
        note: None,
        long_values: Vec::new(),
    }
}

/// The after image of a ReplaceD: the diff applied to the before image
/// (`ErrLGGetAfterImage`, logdiff.cxx), or the diff alone when the before
/// image is not known.
fn after_diff(r: &LogRecord, before: Option<&Image>, diff: &[u8], diff2: bool) -> Image {
    let applied = before
        .filter(|b| b.source != "diff")
        .map(|b| crate::recovery::redo::apply_diff(r, &b.raw, diff, diff2));
    match applied {
        Some(Ok(new)) => image(&new, "page+diff"),
        Some(Err(e)) => Image {
            note: Some(format!(
                "the differences do not apply to the before image: {e}"
            )),
            ..image(diff, "diff")
        },
        None => Image {
            note: Some(
                "the record holds only the differences; the line they apply to is not known".into(),
            ),
            ..image(diff, "diff")
        },
    }
}

/// What an Undo does to the line (the physical undo, `undo::apply` in
/// src/recovery/undo.rs restates ver.cxx `VERUndo*`).
#[derive(Debug, Clone, PartialEq)]
enum Restore {
    /// An insert undone: the node is flag-deleted.
    FlagDelete,
    /// A flag-delete undone.
    ResetDelete,
    /// A replace undone: the old data back.
    Data(Vec<u8>),
    /// A flag-insert-and-replace-data undone.
    FlagDeleteAndData(Vec<u8>),
    /// A delta undone: (value, offset, 64-bit).
    Delta(i64, u16, bool),
    /// Not known: the line stops being followed.
    Unknown,
}

impl Restore {
    /// Applies the undo to a line; false when it cannot.
    fn apply(&self, l: &mut Line) -> bool {
        match self {
            Restore::FlagDelete => l.deleted = true,
            Restore::ResetDelete => l.deleted = false,
            Restore::Data(d) => l.data = d.clone(),
            Restore::FlagDeleteAndData(d) => {
                l.deleted = true;
                l.data = d.clone();
            }
            Restore::Delta(d, off, wide) => {
                return add_delta(&mut l.data, *off as usize, *d, *wide)
            }
            Restore::Unknown => return false,
        }
        true
    }
}

/// A tree the catalog names.
#[derive(Debug, Clone)]
struct TreeOwner {
    table_objid: u32,
    tree: Tree,
}

/// The catalog of one database as known so far (database and/or logs).
#[derive(Debug, Default)]
struct DbCatalog {
    entries: Vec<CatalogEntry>,
    trees: HashMap<u32, TreeOwner>,
    tables: HashMap<u32, (TableInfo, TableSchema)>,
    stale: bool,
}

impl DbCatalog {
    fn add(&mut self, e: CatalogEntry) {
        let same =
            |x: &CatalogEntry| x.objid_table == e.objid_table && x.kind == e.kind && x.id == e.id;
        if let Some(old) = self.entries.iter_mut().find(|x| same(x)) {
            *old = e;
        } else {
            self.entries.push(e);
        }
        self.stale = true;
    }

    fn refresh(&mut self) {
        if !self.stale {
            return;
        }
        self.stale = false;
        let cat = Catalog {
            root: 4,
            entries: self.entries.clone(),
            undecodable: Vec::new(),
            walk: Default::default(),
        };
        self.trees.clear();
        self.tables.clear();
        let mut tables = cat.tables();
        for (objid, name, pgno) in [
            (CATALOG_OBJID, "MSysObjects", 4),
            (crate::db::catalog::SHADOW_OBJID, "MSysObjectsShadow", 24),
        ] {
            match tables.iter_mut().find(|t| t.objid == objid) {
                Some(t) if t.columns.is_empty() => t.columns = catalog_columns(),
                Some(_) => {}
                None => tables.push(catalog_table(objid, name, pgno)),
            }
        }
        for t in tables {
            let owner = |tree| TreeOwner {
                table_objid: t.objid,
                tree,
            };
            self.trees.insert(t.objid, owner(Tree::Primary));
            for ix in t.indexes.iter().filter(|i| i.objid != t.objid) {
                self.trees
                    .insert(ix.objid, owner(Tree::Index(ix.name.clone())));
            }
            if let Some((lv, _)) = t.long_values {
                self.trees.insert(lv, owner(Tree::LongValues));
            }
            let schema = TableSchema::from_table(&t);
            self.tables.insert(t.objid, (t, schema));
        }
    }
}

/// One line of a tracked page.
#[derive(Debug, Clone)]
struct Line {
    key: Vec<u8>,
    data: Vec<u8>,
    /// Flag-deleted (a merge does not move it).
    deleted: bool,
}

impl Line {
    fn new(key: &[u8], data: &[u8]) -> Line {
        Line {
            key: key.to_vec(),
            data: data.to_vec(),
            deleted: false,
        }
    }
}

/// The lines of a page as far as the logs (and database) tell, in line
/// order, or `None` when unknown.
type Lines = Option<Vec<Line>>;

/// Lines kept on a split page and lines moved to the new page.
type LinePair = (Vec<Line>, Vec<Line>);

/// A leaf split of an open macro (logapi.hxx LRSPLIT_ ~873: pgnoNew @32,
/// splittype @68, splitoper @69, ilineOper @70, ilineSplit @72, clines
/// @74, fNewPageFlags @76).
#[derive(Debug, Clone, Copy)]
struct Split {
    dbid: u8,
    pgno: u32,
    pgno_new: u32,
    splittype: u8,
    splitoper: u8,
    iline_oper: usize,
    iline_split: usize,
    clines: usize,
    leaf: bool,
}

/// A merge of an open macro (logapi.hxx LRMERGE_ ~954: pgnoRight @32,
/// pgnoLeft @44, ilineMerge @82, flags @84, mergetype @85).
#[derive(Debug, Clone, Copy)]
struct Merge {
    dbid: u8,
    pgno: u32,
    right: u32,
    left: u32,
    iline_merge: usize,
    empty_page: bool,
    mergetype: u8,
}

/// The splits and merges of a macro and its operation (key, data),
/// applied at MacroCommit as redo does (`ErrLGRIRedoSplit`, logredo.cxx
/// ~10279, `ErrLGIRedoMergePath` ~8214; `BTISplitMoveNodes`,
/// `BTIMergeMoveNodes`, bt.cxx; src/recovery/split.rs restates them).
#[derive(Debug, Default)]
struct Macro {
    splits: Vec<Split>,
    merges: Vec<Merge>,
    oper: Option<Line>,
}

/// A change of an open transaction: where it waits, its level and rceid.
#[derive(Debug, Clone, Copy)]
struct Open {
    seq: u64,
    level: u8,
    rceid: Option<u32>,
}

/// A change in the waiting queue, with its outcome once known.
struct Slot {
    change: Option<Change>,
    outcome: Option<Outcome>,
    bytes: usize,
}

/// Changes waiting for their outcome (log order: also the decided ones
/// behind an undecided one), bounded by the bytes they hold.
#[derive(Default)]
struct Waiting {
    order: Order,
    queue: std::collections::VecDeque<Slot>,
    /// Sequence number of `queue[0]`.
    base: u64,
    held: usize,
    open: HashMap<u16, Vec<Open>>,
    /// Decided changes to hand out now (commit order).
    out: Vec<Change>,
}

/// Approximate heap bytes of a change.
fn change_bytes(c: &Change) -> usize {
    let im = |i: &Option<Image>| i.as_ref().map_or(0, |i| i.raw.len() + 64);
    256 + c.key.as_ref().map_or(0, Vec::len) + im(&c.before) + im(&c.after)
}

impl Waiting {
    /// Queues a change; `decided` when its outcome is known already.
    fn push(&mut self, c: Change, decided: Option<Outcome>) {
        let seq = self.base + self.queue.len() as u64;
        if decided.is_none() {
            let o = Open {
                seq,
                level: c.level,
                rceid: c.rceid,
            };
            self.open.entry(c.procid).or_default().push(o);
        }
        let bytes = change_bytes(&c);
        self.held += bytes;
        self.queue.push_back(Slot {
            change: Some(c),
            outcome: None,
            bytes,
        });
        if let Some(o) = decided {
            self.settle(seq, o);
        }
    }

    fn get_mut(&mut self, seq: u64) -> Option<&mut Change> {
        let i = usize::try_from(seq.checked_sub(self.base)?).ok()?;
        self.queue.get_mut(i)?.change.as_mut()
    }

    /// The outcome of the change `seq` is known.
    fn settle(&mut self, seq: u64, outcome: Outcome) {
        let Some(i) = seq.checked_sub(self.base).map(|i| i as usize) else {
            return;
        };
        let Some(slot) = self.queue.get_mut(i).filter(|s| s.change.is_some()) else {
            return;
        };
        slot.outcome = Some(outcome);
        if self.order == Order::Commit {
            if let Some(mut c) = slot.change.take() {
                self.held -= slot.bytes;
                c.outcome = outcome;
                self.out.push(c);
            }
        }
    }

    /// Settles the open changes of `procid` that `pick` selects.
    fn settle_open(&mut self, procid: u16, outcome: Outcome, pick: impl Fn(&Open) -> bool) {
        let Some(v) = self.open.get_mut(&procid) else {
            return;
        };
        let (done, kept): (Vec<Open>, Vec<Open>) = std::mem::take(v).into_iter().partition(pick);
        *v = kept;
        for o in done {
            self.settle(o.seq, outcome);
        }
    }

    /// Settles every open change (in log order).
    fn settle_all(&mut self, outcome: Outcome) {
        let mut all: Vec<Open> = self.open.drain().flat_map(|(_, v)| v).collect();
        all.sort_by_key(|o| o.seq);
        for o in all {
            self.settle(o.seq, outcome);
        }
    }

    /// The changes that can be handed out now, in order; past `cap` bytes
    /// the oldest waiting change goes out `undecided`.
    fn ready(&mut self, cap: usize) -> Vec<Change> {
        let mut out = std::mem::take(&mut self.out);
        loop {
            while let Some(front) = self.queue.front() {
                if front.change.is_some() && front.outcome.is_none() {
                    break;
                }
                let slot = self.queue.pop_front().unwrap_or(Slot {
                    change: None,
                    outcome: None,
                    bytes: 0,
                });
                self.base += 1;
                if let (Some(mut c), Some(o)) = (slot.change, slot.outcome) {
                    self.held -= slot.bytes;
                    c.outcome = o;
                    out.push(c);
                }
            }
            if self.held <= cap {
                return out;
            }
            let Some(slot) = self.queue.front_mut() else {
                return out;
            };
            slot.outcome = Some(Outcome::Undecided);
            if let Some(c) = slot.change.as_mut() {
                c.notes.push(format!(
                    "handed out before its transaction ended: the changes waiting for an outcome passed {cap} bytes (--max-buffer)"
                ));
            }
        }
    }

    /// The newest open change of `procid` with `rceid`.
    fn by_rceid(&mut self, procid: u16, rceid: u32) -> Option<&mut Change> {
        let seq = self
            .open
            .get(&procid)?
            .iter()
            .rev()
            .find(|o| o.rceid == Some(rceid))?
            .seq;
        self.get_mut(seq)
    }
}

/// The state carried from record to record.
struct State<'d, F> {
    opts: TimelineOptions,
    large: bool,
    db: Option<(&'d Database, Option<u8>)>,
    db_catalog: Vec<CatalogEntry>,
    paths: HashMap<u8, String>,
    catalogs: HashMap<u8, DbCatalog>,
    pages: HashMap<(u8, u32), Lines>,
    page_order: std::collections::VecDeque<(u8, u32)>,
    levels: HashMap<u16, u32>,
    waiting: Waiting,
    lvs: LvChunks,
    macros: HashMap<u16, Macro>,
    time: (Option<LogTime>, Vec<LogTime>),
    emit: F,
    sum: TimelineSummary,
}

/// Reads the logs `base` in `dir` and hands every row change to `emit`
/// once its outcome is known, in the order [`TimelineOptions::order`]
/// says. `db`, when
/// given, supplies the catalog and the page contents the logs start from
/// (a page is used when its dbtime equals the first record's dbtime
/// before).
pub fn timeline(
    dir: &Path,
    base: &str,
    db: Option<&Database>,
    opts: TimelineOptions,
    emit: impl FnMut(&Change) -> Result<(), Error>,
) -> Result<TimelineSummary, Error> {
    let db_catalog = match db {
        Some(d) => {
            let c = crate::db::catalog::read_catalog(
                d,
                crate::db::catalog::CATALOG_ROOT,
                Default::default(),
            );
            c.entries
        }
        None => Vec::new(),
    };
    let mut st = State::new(opts, db, db_catalog, emit);
    let verdict = check_set_streamed(dir, base, None, |step| st.step(step))?;
    if !verdict.ok {
        st.sum.problems.push(format!(
            "the log set is not intact ({}); changes after the damage are not read",
            verdict.first_error.map_or("?".into(), |j| j.to_string())
        ));
    }
    st.end_all(Outcome::OpenAtEnd)?;
    if st.lvs.skipped > 0 {
        st.sum.notes.push(format!(
            "{} long-value nodes the logs wrote were not kept (at most {MAX_LV_BYTES} bytes are): their values come from the database or stay unresolved",
            st.lvs.skipped
        ));
    }
    if let Some((d, None)) = st.db {
        st.sum.notes.push(format!(
            "{}: no CreateDB, AttachDB or log header names a database of this file name; its catalog and pages were not used",
            d.path().display()
        ));
    }
    Ok(st.sum)
}

impl<'d, F: FnMut(&Change) -> Result<(), Error>> State<'d, F> {
    fn new(
        opts: TimelineOptions,
        db: Option<&'d Database>,
        db_catalog: Vec<CatalogEntry>,
        emit: F,
    ) -> Self {
        let order = opts.order;
        State {
            opts,
            large: db.is_some_and(|d| crate::parse::page::is_large(d.page_size)),
            db: db.map(|d| (d, None)),
            db_catalog,
            paths: HashMap::new(),
            catalogs: HashMap::new(),
            pages: HashMap::new(),
            page_order: Default::default(),
            levels: HashMap::new(),
            waiting: Waiting {
                order,
                ..Waiting::default()
            },
            lvs: LvChunks::default(),
            macros: HashMap::new(),
            time: (None, Vec::new()),
            emit,
            sum: TimelineSummary::default(),
        }
    }

    fn step(&mut self, step: SetStep) -> Result<(), Error> {
        let SetStep::File(f, issues) = step else {
            if let SetStep::Missing(i) = step {
                self.sum.problems.push(i.message());
            }
            return Ok(());
        };
        for i in issues {
            self.sum.problems.push(i.message());
        }
        if let Some(e) = f.error() {
            self.sum
                .problems
                .push(format!("{}: {}", f.path.display(), e.detail));
        }
        let (Some(scan), Some(walk)) = (&f.scan, &f.walk) else {
            return Ok(());
        };
        self.sum.generations += 1;
        let h = &scan.header;
        if h.cb_page_size != 0 && self.db.is_none() {
            self.large = crate::parse::page::is_large(h.cb_page_size as usize);
        }
        for a in &h.attachments {
            self.attach(a.dbid, &a.path);
        }
        self.time = (Some(h.create_time), walk.segment_times.clone());
        for r in &walk.records {
            self.sum.records += 1;
            self.record(r)?;
        }
        Ok(())
    }

    /// A database id now names `path`; the database given on the command
    /// line is the one whose file name matches.
    fn attach(&mut self, dbid: u8, path: &str) {
        self.paths.insert(dbid, path.to_string());
        let fresh = !self.catalogs.contains_key(&dbid);
        let cat = self.catalogs.entry(dbid).or_default();
        if let Some((d, which)) = &mut self.db {
            let name = |p: &str| p.rsplit(['\\', '/']).next().unwrap_or(p).to_lowercase();
            let ours = d.path().file_name().and_then(|n| n.to_str()).map(name);
            if which.is_none() && ours.as_deref() == Some(&name(path)) {
                *which = Some(dbid);
                if fresh {
                    for e in &self.db_catalog {
                        cat.add(e.clone());
                    }
                }
            }
        }
    }

    fn time_of(&self, at: Lgpos) -> (Option<LogTime>, &'static str) {
        match self.time.1.get(at.sector as usize) {
            Some(t) if t.is_set() => (Some(*t), "segment"),
            _ => (self.time.0, "log-header"),
        }
    }

    fn record(&mut self, r: &LogRecord) -> Result<(), Error> {
        let rec = match r.decode() {
            Ok(rec) => rec,
            // A restart, even with a damaged DBMS_PARAM.
            Err(_) if matches!(r.lrtyp, 1 | 49) => return self.end_all(Outcome::UndoneAtRestart),
            Err(_) => return Ok(()),
        };
        match rec {
            Record::CreateDb(_) | Record::AttachDb(_) => {
                if let Some((dbid, _, path)) = rec.signed_database() {
                    self.attach(dbid, &path.text());
                }
            }
            Record::Begin {
                procid,
                from,
                count,
                ..
            } => {
                self.levels.insert(procid, from.0 as u32 + count as u32);
            }
            Record::Commit { procid, to, .. } => self.commit(procid, to.0 as u32)?,
            Record::Rollback { procid, levels } => self.rollback(procid, levels as u32)?,
            Record::Macro { op, procid, .. } => match op {
                MacroOp::Commit => self.macro_commit(procid),
                MacroOp::Begin | MacroOp::Abort => {
                    self.macros.remove(&procid);
                }
            },
            // A restart: what was open was undone by recovery.
            Record::Init { .. } => self.end_all(Outcome::UndoneAtRestart)?,
            _ => self.page_record(r, &rec)?,
        }
        Ok(())
    }

    fn commit(&mut self, procid: u16, to: u32) -> Result<(), Error> {
        self.levels.insert(procid, to);
        if to > 0 {
            // Committed into the outer level: its fate is the outer one's.
            for o in self.waiting.open.get_mut(&procid).into_iter().flatten() {
                o.level = o.level.min(to as u8);
            }
            return Ok(());
        }
        self.waiting
            .settle_open(procid, Outcome::Committed, |_| true);
        self.hand_out()
    }

    fn rollback(&mut self, procid: u16, levels: u32) -> Result<(), Error> {
        let l = self.levels.entry(procid).or_default();
        *l = l.saturating_sub(levels);
        let to = *l;
        self.waiting
            .settle_open(procid, Outcome::RolledBack, |o| o.level as u32 > to);
        self.hand_out()
    }

    fn end_all(&mut self, outcome: Outcome) -> Result<(), Error> {
        self.levels.clear();
        self.waiting.settle_all(outcome);
        self.hand_out()
    }

    /// Hands out what the waiting queue releases.
    fn hand_out(&mut self) -> Result<(), Error> {
        self.sum.buffer_peak = self.sum.buffer_peak.max(self.waiting.held);
        let ready = self.waiting.ready(self.opts.max_buffer);
        for c in ready {
            self.emit_change(c)?;
        }
        Ok(())
    }

    /// Hands out a change, named and decoded with the catalog known when
    /// its transaction ended (a table's rows may come before its catalog
    /// rows in the same transaction).
    fn emit_change(&mut self, mut c: Change) -> Result<(), Error> {
        if self.opts.from.is_some_and(|f| c.lgpos < f) || self.opts.to.is_some_and(|t| c.lgpos > t)
        {
            return Ok(());
        }
        self.name(&mut c);
        self.sum.changes += 1;
        self.sum.undecided += (c.outcome == Outcome::Undecided) as u64;
        self.sum.before_known += c.before.is_some() as u64;
        self.sum.before_unknown += c.before_unknown.is_some() as u64;
        *self.sum.outcomes.entry(c.outcome.name()).or_default() += 1;
        *self.sum.ops.entry(c.op).or_default() += 1;
        self.sum.unknown_keys += c.key.is_none() as u64;
        self.sum.unknown_tables += c.table.is_none() as u64;
        (self.emit)(&c)
    }

    /// Page records: structure changes update the page tracking, row
    /// changes become [`Change`]s.
    fn page_record(&mut self, r: &LogRecord, rec: &Record<'_>) -> Result<(), Error> {
        let Some(page) = rec.page() else {
            return Ok(());
        };
        let pp = PagePrefix::new(page, rec.node());
        self.structure(rec, &pp);
        if let Record::UndoInfo {
            bookmark,
            oper,
            data,
            ..
        } = *rec
        {
            return self.undo_info(r, &pp, bookmark.key, oper, data);
        }
        let Some(op) = row_op(rec) else {
            return Ok(());
        };
        if PageFlags(pp.flags).has(PageFlags::SPACE) {
            self.sum.space_ops += 1;
            return Ok(());
        }
        let mut c = self.change(r, &pp, op_name(&op));
        self.images(r, &pp, op, &mut c);
        if let (true, Some(e)) = (
            c.objid == CATALOG_OBJID && matches!(op, RowOp::Insert { .. }),
            c.after.as_ref(),
        ) {
            if let Ok(entry) = decode_entry(&e.raw, self.large, pp.pgno) {
                self.sum.catalog_rows_from_logs += 1;
                self.catalogs.entry(pp.dbid).or_default().add(entry);
            }
        }
        self.learn_long_value(&c);
        // Level 0 is not versioned; an Undo shares its transaction's end.
        let decided = (pp.level == 0).then_some(Outcome::Committed);
        self.waiting.push(c, decided);
        self.hand_out()
    }

    /// Page tracking for records that create, empty, split or move pages.
    fn structure(&mut self, rec: &Record<'_>, pp: &PagePrefix) {
        let key = |pg: u32| (pp.dbid, pg);
        match rec {
            // Create FDP, EmptyTree: the page holds no line.
            Record::CreateMultipleExtentFdp { .. }
            | Record::CreateSingleExtentFdp { .. }
            | Record::EmptyTree { .. } => {
                self.set_page(key(pp.pgno), Some(Vec::new()));
            }
            Record::Split(x) if x.pgno_new != 0 => {
                let s = Split {
                    dbid: pp.dbid,
                    pgno: pp.pgno,
                    pgno_new: x.pgno_new,
                    splittype: x.split_type,
                    splitoper: x.split_oper,
                    iline_oper: x.iline_oper as usize,
                    iline_split: x.iline_split as usize,
                    clines: x.clines as usize,
                    leaf: x.new_page_flags & crate::parse::page::FLAG_LEAF != 0,
                };
                self.macros.entry(pp.procid).or_default().splits.push(s);
            }
            Record::Merge(x) => {
                let m = Merge {
                    dbid: pp.dbid,
                    pgno: pp.pgno,
                    right: x.pgno_right,
                    left: x.pgno_left,
                    iline_merge: x.iline_merge as usize,
                    empty_page: x.flags.has(MergeFlags::EMPTY_PAGE),
                    mergetype: x.merge_type,
                };
                self.macros.entry(pp.procid).or_default().merges.push(m);
            }
            // A split without a new page (a parent-only split): not
            // followed (keys after this come from the records only).
            Record::Split(x) => {
                for p in [pp.pgno, x.pgno_right] {
                    self.set_page(key(p), None);
                }
            }
            // PageMove (LRPAGEMOVE ~1098): the lines go with the page.
            Record::PageMove(x) => {
                let lines = self.pages.remove(&key(pp.pgno)).flatten();
                self.set_page(key(x.pgno_dest), lines);
            }
            // Scrub rewrites deleted nodes in place; Convert changes only
            // the root's space header: the lines stay.
            _ => {}
        }
    }

    /// The lines of a page: tracked, or read from the database when its
    /// dbtime is the record's dbtime before.
    fn lines(&mut self, pp: &PagePrefix) -> Option<&mut Vec<Line>> {
        let k = (pp.dbid, pp.pgno);
        let known = matches!(self.pages.get(&k), Some(Some(_)));
        if !known {
            if let Some(lines) = self.db_lines(pp) {
                self.set_page(k, Some(lines));
            }
        }
        self.pages.get_mut(&k)?.as_mut()
    }

    /// Records what is known of a page's lines; past
    /// [`MAX_TRACKED_PAGES`] the page followed longest is dropped.
    fn set_page(&mut self, k: (u8, u32), lines: Lines) {
        if self.pages.insert(k, lines).is_some() {
            return;
        }
        self.page_order.push_back(k);
        while self.pages.len() > MAX_TRACKED_PAGES {
            let Some(old) = self.page_order.pop_front() else {
                break;
            };
            if self.pages.remove(&old).is_some() {
                self.sum.pages_dropped += 1;
            }
        }
    }

    /// Why the line a record names is not known.
    fn line_unknown(&self, pp: &PagePrefix) -> String {
        let (i, pg) = (pp.iline, pp.pgno);
        let mut why = match self.pages.get(&(pp.dbid, pg)) {
            Some(Some(l)) => format!("line {i} is past the {} lines known on page {pg}", l.len()),
            Some(None) => format!(
                "page {pg} stopped being followed at an earlier record the timeline could not apply (a split, merge or change of an unknown line)"
            ),
            None => match self.db {
                Some((_, Some(id))) if id == pp.dbid => format!(
                    "the database's page {pg} is not at the record's dbtime before ({:#x}) and the logs read did not create it",
                    pp.dbtime_before
                ),
                _ => format!(
                    "no database of this dbid was given (--database) and the logs read did not create page {pg}"
                ),
            },
        };
        if self.sum.pages_dropped > 0 {
            why.push_str(&format!(
                " (or it was dropped: at most {MAX_TRACKED_PAGES} pages are followed)"
            ));
        }
        why
    }

    fn db_lines(&self, pp: &PagePrefix) -> Option<Vec<Line>> {
        let (d, Some(dbid)) = self.db? else {
            return None;
        };
        if dbid != pp.dbid {
            return None;
        }
        let page = Page::new(pp.pgno, d.read_page(pp.pgno).ok()?).ok()?;
        if page.hdr.dbtime != pp.dbtime_before {
            return None;
        }
        let nodes = page.nodes().ok()?;
        Some(
            nodes
                .into_iter()
                .map(|n| Line {
                    deleted: n.is_deleted(),
                    data: n.data.to_vec(),
                    key: n.key,
                })
                .collect(),
        )
    }

    fn change(&mut self, r: &LogRecord, pp: &PagePrefix, op: &'static str) -> Change {
        let (time, time_source) = self.time_of(r.lgpos);
        Change {
            lgpos: r.lgpos,
            time,
            time_source,
            lrtyp: crate::log::record::lrtyp_name(r.lrtyp),
            op,
            procid: pp.procid,
            trx: pp.trx_begin0,
            level: pp.level,
            system_task: PageFlags(pp.flags).has(PageFlags::SYSTEM_TASK),
            dbid: pp.dbid,
            database: self.paths.get(&pp.dbid).cloned(),
            pgno: pp.pgno,
            iline: pp.iline,
            objid: pp.objid_fdp.unwrap_or(0),
            table: None,
            tree: Tree::Unknown,
            key: None,
            key_source: None,
            key_columns: Vec::new(),
            before: None,
            before_unknown: None,
            rceid: pp.rceid,
            undoes: None,
            diff2: false,
            after: None,
            delta: None,
            outcome: Outcome::OpenAtEnd,
            notes: Vec::new(),
        }
    }

    /// Key, before and after images from the record and the tracked line;
    /// the tracked page is updated.
    fn images(&mut self, r: &LogRecord, pp: &PagePrefix, op: RowOp<'_>, c: &mut Change) {
        let i = pp.iline as usize;
        let line = self.lines(pp).and_then(|l| l.get(i).cloned());
        if let Some(l) = &line {
            c.key = Some(l.key.clone());
            c.key_source = Some("page");
        }
        let before = line.as_ref().map(|l| image(&l.data, "page"));
        let mut restore = Restore::Unknown;
        match op {
            RowOp::Insert { key, data } | RowOp::FlagInsert { key, data, .. } => {
                c.key = Some(key.to_vec());
                c.key_source = Some("record");
                if matches!(op, RowOp::FlagInsert { .. }) {
                    c.before = before;
                }
                c.after = Some(image(data, "record"));
            }
            RowOp::Replace { data, diff, diff2 } => {
                c.diff2 = diff2;
                c.after = Some(if !diff {
                    image(data, "record")
                } else {
                    after_diff(r, before.as_ref(), data, diff2)
                });
                c.before = before;
            }
            RowOp::Delta {
                key, delta, offset, ..
            } => {
                // An empty bookmark leaves the line's key (or none).
                if !key.to_vec().is_empty() {
                    c.key = Some(key.to_vec());
                    c.key_source = Some("record");
                }
                c.delta = Some((delta, offset));
                c.after = before.as_ref().and_then(|b| {
                    let mut raw = b.raw.clone();
                    let wide = matches!(op, RowOp::Delta { wide: true, .. });
                    add_delta(&mut raw, offset as usize, delta, wide)
                        .then(|| image(&raw, "page+delta"))
                });
                c.before = before;
            }
            RowOp::FlagDelete | RowOp::Delete => c.before = before,
            RowOp::Undo { key, oper } => {
                c.key = Some(key.to_vec());
                c.key_source = Some("record");
                restore = self.restore_of(pp, oper, c);
                c.after = line
                    .clone()
                    .and_then(|mut l| restore.apply(&mut l).then(|| image(&l.data, "page")));
                c.before = before;
            }
        }
        // A flag-insert re-inserts over a flag-deleted node: that is its
        // before image.
        let has_before = !matches!(op, RowOp::Insert { .. });
        if c.before.is_none() && has_before {
            c.before_unknown = Some(self.line_unknown(pp));
        }
        if c.key.is_none() {
            c.notes.push(format!(
                "the record names line {i} of page {}; the page's lines at that point are not known",
                pp.pgno
            ));
        }
        self.track(pp, op, c, &restore);
    }

    /// What an Undo puts back: from the change it undoes (same session and
    /// rceid, still open), else from the operation the Undo names (ver.hxx
    /// ~346: operInsert 1, operFlagDelete 3; a replace or delta cannot be
    /// undone without its change).
    fn restore_of(&mut self, pp: &PagePrefix, oper: u16, c: &mut Change) -> Restore {
        let undone = pp.rceid.and_then(|id| self.waiting.by_rceid(pp.procid, id));
        let Some(u) = undone else {
            c.notes.push(
                "the change this undoes is not among the open changes of the logs read".into(),
            );
            return match oper {
                OPER_INSERT => Restore::FlagDelete,
                OPER_FLAG_DELETE => Restore::ResetDelete,
                _ => Restore::Unknown,
            };
        };
        c.undoes = Some(u.lgpos);
        let old = u
            .before
            .as_ref()
            .filter(|b| b.source != "diff")
            .map(|b| b.raw.clone());
        match (u.op, old) {
            ("insert" | "flag-insert", _) => Restore::FlagDelete,
            ("flag-insert-replace-data", Some(old)) => Restore::FlagDeleteAndData(old),
            ("replace" | "replace-diff", Some(old)) => Restore::Data(old),
            ("flag-delete", _) => Restore::ResetDelete,
            ("delta" | "delta64", _) => u.delta.map_or(Restore::Unknown, |(d, off)| {
                Restore::Delta(d.wrapping_neg(), off, u.op == "delta64")
            }),
            _ => Restore::Unknown,
        }
    }

    /// UndoInfo (LRUNDOINFO, logapi.cxx `ErrLGIUndoInfo`; logredo.cxx
    /// ~3140): logged when a page holding an uncommitted replace or
    /// flag-delete is flushed; it carries the operation's rceid, the row's
    /// bookmark and, for a replace, the before-image. It completes the
    /// open change with that rceid; alone, it is handed out as an
    /// `undo-info` change.
    fn undo_info(
        &mut self,
        r: &LogRecord,
        pp: &PagePrefix,
        key: Key<'_>,
        oper: u16,
        data: &[u8],
    ) -> Result<(), Error> {
        let before = (oper == OPER_REPLACE).then(|| image(data, "undo-info"));
        let found = pp.rceid.and_then(|id| self.waiting.by_rceid(pp.procid, id));
        let Some(c) = found else {
            self.sum.undo_info_alone += 1;
            let mut c = self.change(r, pp, "undo-info");
            c.key = Some(key.to_vec());
            c.key_source = Some("undo-info");
            if before.is_none() {
                c.before_unknown = Some(format!(
                    "an UndoInfo of operation {oper} (ver.hxx OPER; 2 is a replace) logs no before-image"
                ));
            }
            c.before = before;
            c.notes.push(
                "the operation this UndoInfo belongs to is not among the open changes of the logs read"
                    .into(),
            );
            self.waiting.push(c, None);
            return self.hand_out();
        };
        self.sum.undo_info_used += 1;
        if c.key.is_none() {
            c.key = Some(key.to_vec());
            c.key_source = Some("undo-info");
        }
        let Some(b) = before else {
            return Ok(());
        };
        match &c.before {
            Some(old) if old.raw != b.raw => c.notes.push(format!(
                "the UndoInfo at {} logs another before-image than the tracked page line; the UndoInfo's is shown",
                r.lgpos.eseutil_text()
            )),
            _ => {}
        }
        if c.after.as_ref().is_some_and(|a| a.source == "diff") {
            let diff = c.after.as_ref().map(|a| a.raw.clone()).unwrap_or_default();
            let mut a = after_diff(r, Some(&b), &diff, c.diff2);
            if a.source == "page+diff" {
                a.source = "undo-info+diff";
            }
            c.after = Some(a);
        }
        c.before = Some(b);
        c.before_unknown = None;
        Ok(())
    }

    /// Applies a row change to the tracked page.
    fn track(&mut self, pp: &PagePrefix, op: RowOp<'_>, c: &Change, restore: &Restore) {
        let i = pp.iline as usize;
        if let Some(m) = self
            .macros
            .get_mut(&pp.procid)
            .filter(|m| !m.splits.is_empty())
        {
            // The macro's operation: the split performs it.
            m.oper = match (&c.key, &c.after) {
                (Some(k), Some(a)) if a.source != "diff" => Some(Line::new(k, &a.raw)),
                _ => None,
            };
            return;
        }
        let Some(lines) = self.lines(pp) else {
            return;
        };
        let ok = match op {
            RowOp::Insert { key, data } if i <= lines.len() => {
                lines.insert(i, Line::new(&key.to_vec(), data));
                true
            }
            RowOp::FlagInsert { key, data, .. } if i < lines.len() => {
                lines[i] = Line::new(&key.to_vec(), data);
                true
            }
            RowOp::Replace { .. } if i < lines.len() => match &c.after {
                Some(a) if a.source != "diff" => {
                    lines[i].data = a.raw.clone();
                    true
                }
                _ => false,
            },
            RowOp::Delta {
                delta,
                offset,
                wide,
                ..
            } if i < lines.len() => add_delta(&mut lines[i].data, offset as usize, delta, wide),
            RowOp::FlagDelete if i < lines.len() => {
                lines[i].deleted = true;
                true
            }
            RowOp::Undo { .. } if i < lines.len() => restore.apply(&mut lines[i]),
            RowOp::Delete if i < lines.len() => {
                lines.remove(i);
                true
            }
            _ => false,
        };
        if !ok {
            self.set_page((pp.dbid, pp.pgno), None);
        }
    }

    /// Applies the leaf split of a committed macro to the tracked lines:
    /// the page's lines with the operation at ilineOper, those from
    /// ilineSplit on move to the new page (split.rs restates the rule).
    fn macro_commit(&mut self, procid: u16) {
        let Some(m) = self.macros.remove(&procid) else {
            return;
        };
        if let Some(leaf) = m.merges.last() {
            self.merge_leaf(leaf);
        }
        for s in &m.splits {
            let moved = self.split_lines(s, m.oper.as_ref());
            let (old, new) = match moved {
                Some((kept, moved)) if s.splittype != 0 => (Some(kept), Some(moved)),
                Some((_, moved)) => (None, Some(moved)),
                None => (None, None),
            };
            self.set_page((s.dbid, s.pgno), old);
            self.set_page((s.dbid, s.pgno_new), new);
        }
    }

    /// (lines kept, lines moved) of a leaf split, when the split page's
    /// lines are known and agree with the record's line count.
    /// The leaf level of a merge (the last of the macro's path): the
    /// page's live lines from ilineMerge on go to the front of the right
    /// page (types 2, 3), or up to ilineMerge to the end of the left page
    /// (5, 6); types 3 and 6 keep the rest (`merge_leaf`, split.rs).
    fn merge_leaf(&mut self, m: &Merge) {
        let k = |p: u32| (m.dbid, p);
        let src = self.pages.get(&k(m.pgno)).cloned().flatten();
        let right = matches!(m.mergetype, 2 | 3);
        let dest_pg = if right { m.right } else { m.left };
        let moves = matches!(m.mergetype, 2 | 3 | 5 | 6) && dest_pg != 0;
        let Some(mut src) = src else {
            self.set_page(k(m.pgno), None);
            if moves {
                self.set_page(k(dest_pg), None);
            }
            return;
        };
        if moves {
            let (lo, hi) = if right {
                (m.iline_merge, src.len())
            } else {
                (0, (m.iline_merge + 1).min(src.len()))
            };
            let moving: Vec<Line> = src
                .get(lo..hi)
                .unwrap_or(&[])
                .iter()
                .filter(|l| !l.deleted)
                .cloned()
                .collect();
            if let Some(Some(d)) = self.pages.get_mut(&k(dest_pg)) {
                if right {
                    d.splice(0..0, moving);
                } else {
                    d.extend(moving);
                }
            }
            match m.mergetype {
                3 => src.truncate(m.iline_merge.min(src.len())),
                6 => {
                    src.drain(..hi);
                }
                _ => {}
            }
        }
        if m.empty_page {
            src.clear();
        }
        self.set_page(k(m.pgno), Some(src));
    }

    fn split_lines(&self, s: &Split, oper: Option<&Line>) -> Option<LinePair> {
        if !s.leaf {
            return None;
        }
        let mut lines = self.pages.get(&(s.dbid, s.pgno))?.clone()?;
        match (s.splitoper, oper) {
            (0, _) => {}
            (1, Some(o)) if s.iline_oper <= lines.len() => lines.insert(s.iline_oper, o.clone()),
            (_, Some(o)) if s.iline_oper < lines.len() => lines[s.iline_oper] = o.clone(),
            _ => return None,
        }
        if lines.len() != s.clines || s.iline_split > lines.len() {
            return None;
        }
        let moved = lines.split_off(s.iline_split);
        Some((lines, moved))
    }

    /// Keeps the node a change writes to an LV tree (its after image).
    fn learn_long_value(&mut self, c: &Change) {
        if matches!(c.op, "flag-delete" | "delete" | "undo") {
            return;
        }
        let (Some(key), Some(after)) = (&c.key, &c.after) else {
            return;
        };
        let Some(cat) = self.catalogs.get_mut(&c.dbid) else {
            return;
        };
        cat.refresh();
        let lv_tree = cat
            .trees
            .get(&c.objid)
            .is_some_and(|o| o.tree == Tree::LongValues);
        if lv_tree && after.source != "diff" {
            self.lvs.learn(c.dbid, c.objid, key, &after.raw);
        }
    }

    /// Table name, tree, decoded images and key columns.
    fn name(&mut self, c: &mut Change) {
        let Some(cat) = self.catalogs.get_mut(&c.dbid) else {
            return;
        };
        cat.refresh();
        let Some(owner) = cat.trees.get(&c.objid) else {
            return;
        };
        let Some((info, schema)) = cat.tables.get(&owner.table_objid) else {
            return;
        };
        c.table = Some(info.name.clone());
        c.tree = owner.tree.clone();
        if c.tree != Tree::Primary {
            return;
        }
        let db = match self.db {
            Some((d, Some(id))) if id == c.dbid => Some(d),
            _ => None,
        };
        for im in [c.before.as_mut(), c.after.as_mut()].into_iter().flatten() {
            if im.source == "diff" {
                continue;
            }
            let lvs = ImageLongValues {
                logs: info
                    .long_values
                    .map(|(objid, _)| (&self.lvs, c.dbid, objid)),
                db: db.map(|d| LvTree::new(d, info.long_values.map(|(_, pgno)| pgno))),
                met: Default::default(),
            };
            match decode_record(&im.raw, self.large, schema, &lvs) {
                Ok(v) => {
                    im.values = Some(
                        schema
                            .columns
                            .iter()
                            .map(|col| col.name.clone())
                            .zip(v)
                            .collect(),
                    )
                }
                Err(e) => im.note = Some(format!("not decoded as a record: {}", e.detail)),
            }
            im.long_values = lvs.met.into_inner();
            for r in &im.long_values {
                let k = r.source.unwrap_or("unresolved");
                *self.sum.long_values.entry(k).or_default() += 1;
            }
        }
        let row = c
            .after
            .as_ref()
            .or(c.before.as_ref())
            .and_then(|i| i.values.as_ref());
        if let (Some(row), Some(ix)) = (row, info.indexes.iter().find(|i| i.primary)) {
            c.key_columns = ix
                .key_names
                .iter()
                .filter_map(|n| row.iter().find(|(k, _)| k == n).cloned())
                .collect();
        }
    }
}

/// The catalog's own columns (`ese/_cat.cxx` column table, the fixed
/// schema [`crate::db::catalog`] describes): the engine does not store them
/// as catalog rows.
fn catalog_columns() -> Vec<crate::db::catalog::ColumnInfo> {
    const COLS: [(&str, u32, u32); 29] = [
        ("ObjidTable", 1, 4),
        ("Type", 2, 3),
        ("Id", 3, 4),
        ("ColtypOrPgnoFDP", 4, 4),
        ("SpaceUsage", 5, 4),
        ("Flags", 6, 4),
        ("PagesOrLocale", 7, 4),
        ("RootFlag", 8, 1),
        ("RecordOffset", 9, 3),
        ("LCMapFlags", 10, 4),
        ("KeyMost", 11, 17),
        ("LVChunkMax", 12, 4),
        ("PgnoFDPLastSetTime", 13, 15),
        ("Name", 128, 10),
        ("Stats", 129, 9),
        ("TemplateTable", 130, 10),
        ("DefaultValue", 131, 9),
        ("KeyFldIDs", 132, 9),
        ("VarSegMac", 133, 9),
        ("ConditionalColumns", 134, 9),
        ("TupleLimits", 135, 9),
        ("Version", 136, 9),
        ("SortID", 137, 9),
        ("CallbackData", 256, 11),
        ("CallbackDependencies", 257, 11),
        ("SeparateLV", 258, 11),
        ("SpaceHints", 259, 11),
        ("SpaceDeferredLVHints", 260, 11),
        ("LocaleName", 261, 11),
    ];
    COLS.iter()
        .map(|&(name, id, coltyp)| crate::db::catalog::ColumnInfo {
            id,
            name: name.to_string(),
            coltyp,
            type_name: crate::db::catalog::coltyp_name(coltyp),
            max_length: 0,
            codepage: 1252,
            flags: 0,
            record_offset: None,
            default_value: None,
        })
        .collect()
}

/// A catalog tree the catalog rows do not describe.
fn catalog_table(objid: u32, name: &str, pgno_fdp: u32) -> TableInfo {
    TableInfo {
        name: name.to_string(),
        objid,
        pgno_fdp,
        pages: 0,
        density: 0,
        flags: 0,
        template: None,
        long_values: None,
        columns: catalog_columns(),
        indexes: Vec::new(),
        callbacks: Vec::new(),
    }
}

fn op_name(op: &RowOp<'_>) -> &'static str {
    match op {
        RowOp::Insert { .. } => "insert",
        RowOp::FlagInsert {
            replace_data: false,
            ..
        } => "flag-insert",
        RowOp::FlagInsert { .. } => "flag-insert-replace-data",
        RowOp::Replace { diff: false, .. } => "replace",
        RowOp::Replace { .. } => "replace-diff",
        RowOp::Delta { wide: false, .. } => "delta",
        RowOp::Delta { .. } => "delta64",
        RowOp::FlagDelete => "flag-delete",
        RowOp::Delete => "delete",
        RowOp::Undo { .. } => "undo",
    }
}

/// Escrow update: adds `delta` to the little-endian integer at `offset`.
fn add_delta(data: &mut [u8], offset: usize, delta: i64, wide: bool) -> bool {
    let n = if wide { 8 } else { 4 };
    let Some(s) = data.get_mut(offset..offset + n) else {
        return false;
    };
    if wide {
        let v = i64::from_le_bytes(s.try_into().unwrap_or([0; 8])).wrapping_add(delta);
        s.copy_from_slice(&v.to_le_bytes());
    } else {
        let v = i32::from_le_bytes(s.try_into().unwrap_or([0; 4])).wrapping_add(delta as i32);
        s.copy_from_slice(&v.to_le_bytes());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(t: u8, tail: &[u8]) -> LogRecord {
        let mut data = vec![0u8; 44];
        data[0] = t;
        data.extend_from_slice(tail);
        LogRecord {
            lgpos: Lgpos::default(),
            lrtyp: t,
            size: data.len() as u32,
            disk_bytes: data.len() as u32,
            fragments: 0,
            data: data.into(),
        }
    }

    fn op(r: &LogRecord) -> Option<RowOp<'_>> {
        row_op(&r.decode().ok()?)
    }

    fn whole(k: &[u8]) -> Key<'_> {
        Key {
            prefix: &[],
            suffix: k,
        }
    }

    /// A node record (LRNODE_, 44 bytes): session `procid`, page 10 of
    /// dbid 1, transaction 5 at `level`, line 0, `rceid`, objid 20.
    fn node(t: u8, procid: u16, level: u8, rceid: u32, tail: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; 44];
        r[0] = t;
        r[1..3].copy_from_slice(&procid.to_le_bytes());
        r[3] = 1;
        r[4..8].copy_from_slice(&10u32.to_le_bytes());
        r[24..28].copy_from_slice(&5u32.to_le_bytes());
        r[28] = level;
        r[32..36].copy_from_slice(&rceid.to_le_bytes());
        r[36..40].copy_from_slice(&10u32.to_le_bytes());
        r[40..44].copy_from_slice(&20u32.to_le_bytes());
        r.extend_from_slice(tail);
        r
    }

    fn replace(procid: u16, rceid: u32, after: &[u8]) -> Vec<u8> {
        let mut tail = (after.len() as u16).to_le_bytes().to_vec();
        tail.extend([0, 0, 0, 0]);
        tail.extend_from_slice(after);
        node(33, procid, 1, rceid, &tail)
    }

    /// UndoInfo of a replace: bookmark `key`, before-image `before`.
    fn undo_info(rceid: u32, key: &[u8], before: &[u8]) -> Vec<u8> {
        let mut tail = vec![0u8; 12];
        tail[0..2].copy_from_slice(&(key.len() as u16).to_le_bytes());
        tail[4..6].copy_from_slice(&OPER_REPLACE.to_le_bytes());
        tail[10..12].copy_from_slice(&(before.len() as u16).to_le_bytes());
        tail.extend_from_slice(key);
        tail.extend_from_slice(before);
        node(36, 7, 1, rceid, &tail)
    }

    fn begin(procid: u16) -> Vec<u8> {
        let mut r = vec![8, 0, 0, 0x10, 5, 0, 0, 0];
        r[1..3].copy_from_slice(&procid.to_le_bytes());
        r
    }

    fn end(t: u8, procid: u16) -> Vec<u8> {
        let mut r = vec![t, 0, 0, 0, 5, 0, 0, 0];
        r[1..3].copy_from_slice(&procid.to_le_bytes());
        if t == 7 {
            r.truncate(4);
            r[3] = 1; // Rollback: one level.
        }
        r
    }

    /// The changes `records` give, in the order handed out.
    fn run(records: &[Vec<u8>], order: Order, max_buffer: usize) -> (Vec<Change>, TimelineSummary) {
        let mut out = Vec::new();
        let opts = TimelineOptions {
            order,
            max_buffer,
            ..Default::default()
        };
        let mut st = State::new(opts, None, Vec::new(), |c: &Change| {
            out.push(c.clone());
            Ok(())
        });
        for (k, b) in records.iter().enumerate() {
            let mut r = rec(b[0], &[]);
            r.data = b.clone().into();
            r.size = b.len() as u32;
            r.lgpos.offset = k as u16;
            st.record(&r).unwrap();
        }
        st.end_all(Outcome::OpenAtEnd).unwrap();
        let sum = std::mem::take(&mut st.sum);
        drop(st);
        (out, sum)
    }

    #[test]
    fn undo_info_gives_the_before_image_and_key_of_its_change() {
        let recs = [
            begin(7),
            replace(7, 100, b"AFTER"),
            undo_info(100, b"K", b"BEFORE"),
            end(9, 7),
        ];
        let (v, sum) = run(&recs, Order::Log, DEFAULT_MAX_BUFFER);
        assert_eq!(v.len(), 1);
        let b = v[0].before.as_ref().expect("before");
        assert_eq!((b.raw.as_slice(), b.source), (&b"BEFORE"[..], "undo-info"));
        assert_eq!(v[0].key.as_deref(), Some(&b"K"[..]));
        assert_eq!(v[0].key_source, Some("undo-info"));
        assert_eq!(
            (v[0].before_unknown.as_ref(), v[0].outcome),
            (None, Outcome::Committed)
        );
        assert_eq!((sum.undo_info_used, sum.undo_info_alone), (1, 0));
        // Without its change: an `undo-info` change of its own.
        let (v, sum) = run(&[undo_info(9, b"K", b"B")], Order::Log, DEFAULT_MAX_BUFFER);
        assert_eq!((v.len(), v[0].op, sum.undo_info_alone), (1, "undo-info", 1));
        assert_eq!(v[0].outcome, Outcome::OpenAtEnd);
        // Without UndoInfo the reason is given.
        let (v, _) = run(
            &[begin(7), replace(7, 1, b"A"), end(9, 7)],
            Order::Log,
            1 << 20,
        );
        assert!(v[0].before.is_none());
        assert!(v[0]
            .before_unknown
            .as_ref()
            .unwrap()
            .contains("no database"));
    }

    #[test]
    fn rollback_undo_and_the_two_orders() {
        // Session 7 opens and replaces; session 8 replaces at level 0 (no
        // transaction); session 7 undoes and rolls back.
        let mut undo = vec![1, 0, 0, 0, 2, 0, 1, b'K'];
        undo[4..6].copy_from_slice(&OPER_REPLACE.to_le_bytes());
        let recs = [
            begin(7),
            replace(7, 100, b"A"),
            node(33, 8, 0, 0, &[1, 0, 0, 0, 0, 0, b'B']),
            node(39, 7, 1, 100, &undo),
            end(7, 7),
        ];
        let (v, _) = run(&recs, Order::Log, DEFAULT_MAX_BUFFER);
        let seen: Vec<(&str, u16, Outcome)> =
            v.iter().map(|c| (c.op, c.procid, c.outcome)).collect();
        assert_eq!(
            seen,
            [
                ("replace", 7, Outcome::RolledBack),
                ("replace", 8, Outcome::Committed),
                ("undo", 7, Outcome::RolledBack)
            ]
        );
        assert_eq!(v[2].undoes, Some(v[0].lgpos));
        // Commit order: session 8's change first (its outcome is known).
        let (v, _) = run(&recs, Order::Commit, DEFAULT_MAX_BUFFER);
        let procids: Vec<u16> = v.iter().map(|c| c.procid).collect();
        assert_eq!(procids, [8, 7, 7]);
        // No room: the open change goes out undecided, in log order.
        let (v, sum) = run(&recs, Order::Log, 0);
        assert_eq!(v[0].outcome, Outcome::Undecided);
        assert_eq!(v.len(), 3);
        assert!(sum.undecided >= 1);
    }

    #[test]
    fn insert_key_is_prefix_then_suffix() {
        // cbSuffix 2, cbPrefix 1, cbData 3.
        let r = rec(29, &[2, 0, 1, 0, 3, 0, 0xA, 0xB, 0xC, 1, 2, 3]);
        assert_eq!(
            op(&r),
            Some(RowOp::Insert {
                key: Key {
                    prefix: &[0xA],
                    suffix: &[0xB, 0xC]
                },
                data: &[1, 2, 3]
            })
        );
        // Declared lengths past the record: not decoded.
        let r = rec(29, &[9, 0, 0, 0, 3, 0, 1]);
        assert_eq!(op(&r), None);
    }

    #[test]
    fn replace_delta_and_deletes() {
        let r = rec(34, &[0x02, 0x80, 0, 0, 0, 0, 7, 8]);
        assert_eq!(
            op(&r),
            Some(RowOp::Replace {
                data: &[7, 8],
                diff: true,
                diff2: true
            })
        );
        let mut tail = vec![1, 0, 0, 0];
        tail.extend_from_slice(&(-5i32).to_le_bytes());
        tail.extend_from_slice(&[4, 0, 0x42]);
        assert_eq!(
            op(&rec(37, &tail)),
            Some(RowOp::Delta {
                key: whole(&[0x42]),
                delta: -5,
                offset: 4,
                wide: false
            })
        );
        assert_eq!(op(&rec(35, &[])), Some(RowOp::Delete));
        assert_eq!(op(&rec(32, &[])), Some(RowOp::FlagDelete));
        let mut d = vec![0u8; 8];
        assert!(add_delta(&mut d, 4, -1, false));
        assert_eq!(&d[4..], &(-1i32).to_le_bytes());
        assert!(!add_delta(&mut d, 6, 1, false));
    }
}
