//! Writes a recovery workload through the project's own page and record
//! code: a database in Dirty Shutdown as a crash left it, the 8.x log set
//! (1 MiB generations, base name `edb`) and checkpoint to replay into it,
//! two backups taken half-way, and the database that replay must produce.
//!
//! `cargo run --release --example make_workload -- OUT --db-mib N --log-mib N
//! [--page-size 8192] [--seed N] [--without-backups]` (page sizes 4, 8, 16
//! and 32 KiB)
//!
//! Layout: `OUT/start/workload.edb` (the database as flushed at the
//! checkpoint of `OUT/logs/edb.chk`, Dirty Shutdown), `OUT/logs/`
//! (edb00001.log … edb.log and edb.chk: `--log-mib / 8` (at least one)
//! generations before the checkpoint, `--log-mib` after it; every header
//! after the first carries the attach list), `OUT/backup/` (a snapshot
//! backup: database copy, checkpoint, the logs since the start's
//! checkpoint), `OUT/backup-streaming/` (a streaming backup one generation
//! later: database copy with bkinfoFullCur, `workload.pat` (patch page and
//! shadow), its generation, restore.env), `OUT/expected/workload.edb` (the
//! database after replay), so that each of
//! `eseutil-rs /r edb /l OUT/logs /s OUT/logs /d OUT/start --output X`,
//! `eseutil-rs /r edb /l OUT/logs /s OUT/backup /d OUT/backup --output Y` and
//! `eseutil-rs /cc OUT/backup-streaming /f OUT/logs --output Z`
//! reproduces `OUT/expected/` page for page (the backups need
//! `--log-mib 2` or more; `--without-backups` leaves them out).
//!
//! The generator is a tiny engine. The starting database is the implicit
//! creation of `recovery::create_db` (catalog, space trees; at 4 KiB the
//! catalog spills over leaves below its root) plus the user tables
//! `Orders` (with a secondary index on `Tag`), `Events`, `Docs` (Id and a
//! long binary Body, with its LV tree) and, when `--db-mib` asks for more
//! than the creation's 256 pages, a bulk-built table `Bulk` filling a
//! secondary extent to the requested size (a multi-level B-tree streamed to
//! the file: memory does not grow with the database), all entered in the
//! catalog with their columns, indexes and LV tree. Every later change is
//! made by building its log record (LRNODE_, LRSPLITNEW, LRMERGENEW and the
//! macro records, docs/format/log-records.md §1–§4) and applying the same
//! change to the generator's page bytes through `recovery::page::PageImage`
//! (parse, change, serialise, seal) and `recovery::undo::apply`, in the
//! steps `recovery::split` takes to redo a split or merge; its pages are
//! therefore the expected database.
//!
//! Operations: transactions (Begin0 … Commit0) of versioned inserts (row +
//! index entry), replaces (same key, data of another length), deltas
//! (Count, offset 8 of the record), flag-deletes of rows and index entries,
//! followed after commit by their deletes (version cleanup); one
//! transaction in eight rolled back as the engine logs it (one Undo record
//! per operation, newest first, then Rollback, then the cleanup of the
//! undone inserts); a last transaction left open by the crash, which
//! recovery undoes (the expected pages include that undo). Row ids come
//! from a bounded key space (up to 300 live rows per table), so the trees
//! grow past their root and stay within their extents: an insert that
//! does not fit its leaf splits it in one macro (MacroBegin, Split2 records
//! top-down, the Insert, MacroCommit + MacroInfo): vertical for a root
//! leaf (without the operation when it would not fit the new page), right,
//! or append at the end of the last leaf, with the new page taken from the
//! tree's available extent (a logged space-tree Replace or Delete). A
//! cleanup delete that would empty a leaf below the root is an empty-page
//! merge instead (Merge2 of the parent and of the page), the page going
//! back to the available extent (a space-tree Insert). Docs rows get
//! separated long values of 1 KiB to 1.5 chunks (`JET_paramLVChunkSizeMost`
//! for the page size): LVROOT and chunks inserted into the LV tree, then
//! the record with the LID; a row's value replaced by a new long value
//! (new LID, the record replaced: `ErrRECIReplace` rewrites the record
//! whenever a column was set); a row delete or replace takes the old
//! LVROOT's reference count to 0 (Delta) and that value's nodes go after
//! commit. New long values stop when the LV tree's extent runs low (the
//! key space of LIDs only grows). The first generation opens with
//! AttachDB; the checkpoint then advances to a later generation (the start
//! database is written there, the database in the checkpoint's attach
//! list); the last generation ends without Term (a crash).
//!
//! Not made yet: splits of a parent page (user trees stay two levels),
//! merges other than empty-page ones, pages flushed between checkpoints,
//! compressed LV chunks, long values of more than two chunks.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use eseutil::checksum::seal_page;
use eseutil::log::synth::{begin0, commit0, Log8};
use eseutil::parse::page::{
    FLAG_EMPTY, FLAG_INDEX, FLAG_LEAF, FLAG_LONG_VALUE, FLAG_NEW_CHECKSUM, FLAG_PARENT_OF_LEAF,
    FLAG_REPAIR, FLAG_ROOT, NODE_DELETED, NODE_VERSIONED,
};
use eseutil::recovery::create_db::{
    build_with, column_row, index_row, insert_row, key_long, long_value_row, table_row, Builder,
    LEGACY_DB_PAGES,
};
use eseutil::recovery::page::{Line, PageImage, Slot, CB_PREFIX_OVERHEAD};
use eseutil::recovery::undo::{self, UndoOp};
use eseutil::synth::{db_header_page, logtime, DbSpec};

/// What to make.
#[derive(Debug, Clone)]
pub struct Config {
    /// Output folder (created).
    pub out: PathBuf,
    /// Database size in MiB (at least the 256 pages of the implicit creation).
    pub db_mib: u64,
    /// Log bytes to write after the checkpoint, in MiB (whole generations).
    pub log_mib: u64,
    /// Page size (4096, 8192).
    pub page_size: usize,
    /// Seed of the operation mix.
    pub seed: u64,
}

/// What was made.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Generations written (1 ..= this).
    pub generations: u32,
    /// Generation the checkpoint (and the start database) stands at.
    pub checkpoint_generation: u32,
    /// Generation the backup's checkpoint stands at.
    pub backup_generation: u32,
    /// Generation the streaming backup holds (genLow = genHigh).
    pub streaming_backup_generation: u32,
    /// Log records written, by kind.
    pub ops: BTreeMap<&'static str, u64>,
    /// The database's file name (in start/ and expected/).
    pub db_name: String,
    /// The rows of Docs after replay: Id and the size of its long value.
    pub long_values: Vec<(u32, usize)>,
}

/// The database file name, in every folder.
pub const DB_NAME: &str = "workload.edb";
const LOGGED_PATH: &str = "C:\\workload\\workload.edb";
const DBID: u8 = 1;
const PROCID: u16 = 7;
/// The database root's available-extent page (implicit creation).
const PGNO_ROOT_AE: u32 = 3;
// JET_coltyp Long and Text (jethdr.w).
const LONG: u32 = 4;
const TEXT: u32 = 10;
/// Rows kept per table at most: enough for the trees to split into several
/// leaves (about six at 8 KiB).
const LIVE_ROWS: usize = 300;
/// Row ids are drawn from 1 ..= this: the key space stays bounded, so the
/// trees (which split but never merge) stay within their extents.
const ID_SPACE: u32 = 4 * LIVE_ROWS as u32;
/// Bytes a page keeps free for the growth a rollback may bring back (the
/// engine's cbUncommittedFree reservation, which the generator does not
/// track): a node only goes onto a page that keeps this much free.
const RESERVE: usize = 320;
/// Extent sizes (pages) of the user tables and of the secondary index.
const CPG_TABLE: u32 = 64;
const CPG_INDEX_TREE: u32 = 24;

/// One user table: its root page, objid, secondary index root and the ids
/// of its live rows.
#[derive(Debug, Clone)]
struct Table {
    objid: u32,
    pgno: u32,
    index: Option<(u32, u32)>,
    live: Vec<u32>,
}

/// xorshift64*: a small deterministic stream for the operation mix.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// A user record (`REC`, inc/rec.hxx): fixed Id, Count, Tag (Long), the
/// null bitmap, one variable column Name.
fn user_record(id: u32, count: i32, tag: u32, name: &[u8]) -> Vec<u8> {
    let mut r = vec![3, 0x80];
    r.extend(17u16.to_le_bytes());
    r.extend(id.to_le_bytes());
    r.extend(count.to_le_bytes());
    r.extend(tag.to_le_bytes());
    r.push(0xF8);
    r.extend((name.len() as u16).to_le_bytes());
    r.extend_from_slice(name);
    r
}

/// Offset of Count in [`user_record`] (the Delta target).
const COUNT_OFFSET: u16 = 8;

fn tag_of(id: u32) -> u32 {
    id.wrapping_mul(0x9E37_79B1) ^ 0x5555
}

fn name_of(id: u32, version: u64) -> Vec<u8> {
    let len = 8 + (version % 40) as usize;
    (0..len)
        .map(|k| b'a' + ((id as usize + k + version as usize) % 26) as u8)
        .collect()
}

/// The catalog rows, FDPs and first rows of the user tables.
/// The columns of every user table: name, fid, coltyp, NOT NULL.
const COLUMNS: [(&str, u16, u32, bool); 4] = [
    ("Id", 1, LONG, true),
    ("Count", 2, LONG, false),
    ("Tag", 3, LONG, false),
    ("Name", 0x80, TEXT, false),
];

fn user_tables(b: &mut Builder, tables: &mut Vec<Table>) {
    for (objid, name, with_index) in [(6u32, "Orders", true), (8, "Events", false)] {
        let cpg = CPG_TABLE;
        let pgno = b.allocate(PGNO_ROOT_AE, cpg);
        b.fdp(pgno, objid, cpg, 1, 0);
        insert_row(b, &table_row(objid, pgno, name, cpg));
        for c in &COLUMNS {
            insert_row(b, &column_row(objid, c));
        }
        insert_row(b, &index_row(objid, objid, "Id", pgno, 0x0001_0031, &[1]));
        let index = with_index.then(|| {
            let ipg = b.allocate(pgno + 2, CPG_INDEX_TREE);
            b.fdp(ipg, objid + 1, CPG_INDEX_TREE, pgno, FLAG_INDEX);
            insert_row(
                b,
                &index_row(objid, objid + 1, "Tag", ipg, 0x0001_0001, &[3]),
            );
            (ipg, objid + 1)
        });
        let mut t = Table {
            objid,
            pgno,
            index,
            live: Vec::new(),
        };
        for id in (1..=40).map(|i| i * 29) {
            b.insert(
                pgno,
                key_long(id),
                user_record(id, 0, tag_of(id), &name_of(id, 0)),
            );
            if let Some((ipg, _)) = t.index {
                b.insert(ipg, key_long(tag_of(id)), key_long(id));
            }
            t.live.push(id);
        }
        tables.push(t);
    }
}

/// A LOGTIME `s` seconds after 2024-03-01 00:00:00 UTC.
fn time_at(s: u64) -> [u8; 8] {
    logtime(
        2024,
        3,
        1 + (s / 86_400) as u8,
        ((s / 3600) % 24) as u8,
        ((s / 60) % 60) as u8,
        (s % 60) as u8,
        0,
        true,
    )
}

/// The log being written, one 1 MiB generation at a time.
struct LogWriter {
    dir: PathBuf,
    cur: Log8,
    gen: i32,
    prev: Option<([u8; 8], u64)>,
    /// Segments a generation holds (256 slots, the first is the header).
    last_sector: u16,
    /// The attach list the headers of later generations carry (LGFILEHDR
    /// rgbAttach @671: the databases attached when the file was created).
    attach: Option<Vec<u8>>,
}

impl LogWriter {
    fn new(dir: &Path) -> LogWriter {
        LogWriter {
            dir: dir.to_path_buf(),
            cur: Log8::new(1, time_at(1)),
            gen: 1,
            prev: None,
            last_sector: 255,
            attach: None,
        }
    }

    /// Appends a record, starting a new generation when this one is full
    /// (a record never runs past the last segment).
    fn record(&mut self, r: &[u8]) -> std::io::Result<()> {
        let need = 1 + r.len() as u16 / 4000 + 1;
        if self.cur.position().0 + need > self.last_sector {
            self.roll()?;
        }
        self.cur.record(r);
        Ok(())
    }

    /// Whether generation `gen` is half written (or passed).
    fn half_past(&self, gen: i32) -> bool {
        self.gen > gen || (self.gen == gen && self.cur.position().0 >= 128)
    }

    fn file_name(gen: i32) -> String {
        format!("edb{gen:05X}.log")
    }

    /// Closes the current generation as `edbXXXXX.log` and opens the next.
    fn roll(&mut self) -> std::io::Result<()> {
        let next = Log8::new(self.gen + 1, time_at(self.gen as u64 + 1));
        let done = std::mem::replace(&mut self.cur, next);
        let create = time_at(self.gen as u64);
        let (bytes, acc) = done.finish(create, self.prev);
        let bytes = with_attach_list(self.attach.as_deref(), self.gen, bytes);
        write_atomic(&self.dir.join(Self::file_name(self.gen)), &bytes)?;
        self.prev = Some((create, acc));
        self.gen += 1;
        Ok(())
    }

    /// The current generation becomes `edb.log` (the crash: no Term).
    fn close(self) -> std::io::Result<i32> {
        let create = time_at(self.gen as u64);
        let (attach, gen) = (self.attach.clone(), self.gen);
        let (bytes, _) = self.cur.finish(create, self.prev);
        let bytes = with_attach_list(attach.as_deref(), gen, bytes);
        write_atomic(&self.dir.join("edb.log"), &bytes)?;
        Ok(self.gen)
    }
}

/// Log file `bytes` of generation `gen` with the attach list in its
/// header (resealed); the first generation, created before AttachDB, has
/// none.
fn with_attach_list(attach: Option<&[u8]>, gen: i32, mut bytes: Vec<u8>) -> Vec<u8> {
    if let Some(a) = attach.filter(|_| gen > 1) {
        bytes[671..671 + a.len()].copy_from_slice(a);
        eseutil::checksum::seal_header(&mut bytes[..4096]);
    }
    bytes
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// A node operation to log and apply.
#[derive(Debug, Clone)]
enum Op {
    Insert { key: Vec<u8>, data: Vec<u8> },
    Replace { data: Vec<u8> },
    Delta { delta: i32, offset: u16 },
    FlagDelete,
    Delete,
}

impl Op {
    fn lrtyp(&self) -> u8 {
        match self {
            Op::Insert { .. } => 29,
            Op::FlagDelete => 32,
            Op::Replace { .. } => 33,
            Op::Delete => 35,
            Op::Delta { .. } => 37,
        }
    }
    fn name(&self) -> &'static str {
        match self {
            Op::Insert { .. } => "Insert",
            Op::FlagDelete => "FlagDelete",
            Op::Replace { .. } => "Replace",
            Op::Delete => "Delete",
            Op::Delta { .. } => "Delta",
        }
    }
}

/// A version-store entry the generator keeps, as redo rebuilds it from
/// the record: which node (found again by key from its tree's root, as
/// recovery's undo seeks it), how to undo it.
#[derive(Debug, Clone)]
struct Rce {
    rceid: u32,
    root: u32,
    objid: u32,
    key: Vec<u8>,
    undo: UndoOp,
}

/// A node of a tree: its root (FDP), objid and key.
type NodeAt = (u32, u32, Vec<u8>);

/// The engine: page bytes by pgno (the database as it is now), the
/// database dbtime, the log, the open transaction's version store.
struct Engine {
    ps: usize,
    pages: BTreeMap<u32, Vec<u8>>,
    /// The pages decoded, for look-ups (dropped when a page is stored).
    views: std::cell::RefCell<BTreeMap<u32, std::rc::Rc<PageImage>>>,
    dbtime: u64,
    log: LogWriter,
    trx: u32,
    in_trx: bool,
    rces: Vec<Rce>,
    /// Nodes flag-deleted by the open transaction (deleted after commit).
    flag_deleted: Vec<NodeAt>,
    /// The table with long values.
    docs: Docs,
    summary: Summary,
}

/// `fLRPageVersioned | fLRPageUnique` (logapi.hxx ~369).
const VERSIONED_UNIQUE: u8 = 0x1 | 0x4;
/// `fLRPageUnique`.
const UNIQUE: u8 = 0x4;
/// `fLRPageSpace`: an operation on a space tree.
const SPACE: u8 = 0x8;

/// The fixed fields of an LRNODE_ record.
struct NodeHead {
    lrtyp: u8,
    pgno: u32,
    dbtimes: (u64, u64),
    iline: usize,
    flags: u8,
    rceid: u32,
    fdp: (u32, u32),
}

impl Engine {
    fn count(&mut self, kind: &'static str) {
        *self.summary.ops.entry(kind).or_default() += 1;
    }

    /// LRNODE_ (44 bytes): lrtyp, procid, dbid, pgno, dbtime after and
    /// before, trxBegin0, level, iline, flags, rceid, pgnoFDP, objidFDP.
    fn lrnode(&self, h: &NodeHead) -> Vec<u8> {
        let mut r = vec![0u8; 44];
        put_page_head(
            &mut r,
            (h.lrtyp, h.pgno),
            h.dbtimes,
            (self.trx, self.in_trx),
            h.iline,
            h.flags,
        );
        r[32..36].copy_from_slice(&h.rceid.to_le_bytes());
        r[36..40].copy_from_slice(&h.fdp.0.to_le_bytes());
        r[40..44].copy_from_slice(&h.fdp.1.to_le_bytes());
        r
    }

    /// The record flags of a node operation on a user tree.
    fn node_flags(&self) -> u8 {
        if self.in_trx {
            VERSIONED_UNIQUE
        } else {
            0
        }
    }

    /// Page `pgno` decoded from its bytes, to change it (as redo reads a
    /// page for each record): the decoded view when there is one.
    fn page(&self, pgno: u32) -> PageImage {
        match self.views.borrow_mut().remove(&pgno) {
            Some(v) => std::rc::Rc::try_unwrap(v).unwrap_or_else(|v| (*v).clone()),
            None => self.parse(pgno),
        }
    }

    fn parse(&self, pgno: u32) -> PageImage {
        PageImage::parse(&self.pages[&pgno]).expect("own page parses")
    }

    /// Page `pgno` decoded, to look at.
    fn view(&self, pgno: u32) -> std::rc::Rc<PageImage> {
        let mut v = self.views.borrow_mut();
        v.entry(pgno)
            .or_insert_with(|| std::rc::Rc::new(self.parse(pgno)))
            .clone()
    }

    /// Serialises and seals `p` as redo's page store does.
    fn store(&mut self, pgno: u32, p: &PageImage) {
        let mut b = p.to_bytes().expect("own page serialises");
        if self.ps > 8192 {
            b[64..68].copy_from_slice(&pgno.to_le_bytes());
        }
        seal_page(&mut b, pgno);
        let view = PageImage::parse(&b).expect("own page parses");
        self.pages.insert(pgno, b);
        self.views.get_mut().insert(pgno, std::rc::Rc::new(view));
    }

    /// The leaf of the tree `root` that holds (or would hold) `key`, as
    /// recovery's undo seeks a bookmark (`undo::seek`: in a parent page,
    /// the first separator greater than the key, an empty one last), and
    /// the node's position there (found, or where it would be inserted).
    fn seek(&self, root: u32, key: &[u8]) -> (u32, Result<usize, usize>) {
        let mut pgno = root;
        loop {
            let p = self.view(pgno);
            let n = p.lines.len();
            if p.flags & FLAG_LEAF != 0 {
                let at = bisect(n, |i| p.key(i).as_slice().cmp(key));
                return (pgno, at);
            }
            let i = (0..n)
                .find(|&i| {
                    let k = p.key(i);
                    k.is_empty() || k.as_slice() > key
                })
                .expect("a parent page ends with an empty separator");
            let d = &p.lines[i].data;
            pgno = u32::from_le_bytes(d[d.len() - 4..].try_into().expect("4 bytes"));
        }
    }

    /// Whether `extra` more bytes fit on `p` with the reserve kept.
    /// (Long-value chunks are replaced by chunks of the same size: their
    /// pages keep no reserve.)
    fn fits(&self, p: &PageImage, extra: usize) -> bool {
        let reserve = if p.flags & FLAG_LONG_VALUE != 0 {
            0
        } else {
            RESERVE
        };
        p.used() + extra + reserve <= self.ps
    }

    /// Logs `op` on node `key` of the tree `root` and applies it as redo
    /// does (`node_op`: versioned inside a transaction, with the
    /// version-store entry redo's `remember` makes). An insert that does
    /// not fit its leaf splits it ([`Engine::split_insert`]).
    fn node(&mut self, root: u32, objid: u32, key: &[u8], op: Op) -> std::io::Result<()> {
        let (pgno, at) = self.seek(root, key);
        let iline = match (&op, at) {
            (Op::Insert { .. }, Err(at)) | (_, Ok(at)) => at,
            _ => panic!("node {key:?} of tree {root}: wrong state for {op:?}"),
        };
        if matches!(op, Op::Delete)
            && pgno != root
            && self.view(pgno).lines.len() == 1
            && self.merge_empty((root, objid), pgno)?
        {
            return Ok(());
        }
        let mut p = self.page(pgno);
        if let Op::Insert { data, .. } = &op {
            let cb = p.cb_common(key);
            let l = p.make_line(key, cb, data, 0);
            if !self.fits(&p, line_size(&l)) {
                return self.split_insert((root, objid), key, data, pgno, iline);
            }
        }
        self.dbtime += 1;
        let (after, rceid) = (self.dbtime, self.dbtime as u32);
        let head = NodeHead {
            lrtyp: op.lrtyp(),
            pgno,
            dbtimes: (after, p.dbtime),
            iline,
            flags: self.node_flags(),
            rceid,
            fdp: (root, objid),
        };
        let mut r = self.lrnode(&head);
        let undo = self.apply_op(&mut p, iline, &op, &mut r, self.in_trx);
        if self.in_trx {
            if matches!(op, Op::FlagDelete) {
                self.flag_deleted.push((root, objid, key.to_vec()));
            }
            self.remember(rceid, (root, objid, key.to_vec()), undo);
        }
        self.log.record(&r)?;
        self.count(op.name());
        p.dbtime = after;
        self.store(pgno, &p);
        Ok(())
    }

    fn remember(&mut self, rceid: u32, node: NodeAt, undo: UndoOp) {
        let (root, objid, key) = node;
        self.rces.push(Rce {
            rceid,
            root,
            objid,
            key,
            undo,
        });
    }

    /// Applies `op` to line `iline` of `p`, completing its record `r`;
    /// returns how to undo it.
    fn apply_op(
        &self,
        p: &mut PageImage,
        iline: usize,
        op: &Op,
        r: &mut Vec<u8>,
        versioned: bool,
    ) -> UndoOp {
        let v = if versioned { NODE_VERSIONED } else { 0 };
        match op {
            Op::Insert { key, data } => {
                // The key's bytes shared with the page prefix are logged
                // as its prefix part (LRINSERT: cbSuffix @44, cbPrefix @46).
                let cb = p.cb_common(key);
                for n in [key.len() - cb, cb, data.len()] {
                    r.extend((n as u16).to_le_bytes());
                }
                r.extend_from_slice(key);
                r.extend_from_slice(data);
                let l = p.make_line(key, cb, data, v);
                p.lines.insert(iline, l);
                UndoOp::FlagDelete
            }
            Op::Replace { data } => {
                let old = std::mem::replace(&mut p.lines[iline].data, data.clone());
                for n in [data.len(), old.len(), data.len()] {
                    r.extend((n as u16).to_le_bytes());
                }
                r.extend_from_slice(data);
                p.lines[iline].flags |= v;
                UndoOp::Data(old)
            }
            Op::Delta { delta, offset } => {
                r.extend([0u8; 4]);
                r.extend(delta.to_le_bytes());
                r.extend(offset.to_le_bytes());
                let o = *offset as usize;
                let d = &mut p.lines[iline].data;
                let x = i32::from_le_bytes(d[o..o + 4].try_into().expect("4 bytes")) + delta;
                d[o..o + 4].copy_from_slice(&x.to_le_bytes());
                p.lines[iline].flags |= v;
                UndoOp::Delta {
                    offset: o,
                    delta: -(*delta as i64),
                    width: 4,
                }
            }
            Op::FlagDelete => {
                p.lines[iline].flags |= NODE_DELETED | v;
                UndoOp::ResetDelete
            }
            Op::Delete => {
                p.lines.remove(iline);
                UndoOp::ResetDelete
            }
        }
    }

    fn begin(&mut self) -> std::io::Result<()> {
        self.trx += 1;
        self.in_trx = true;
        self.log.record(&begin0(self.trx))?;
        self.count("Begin0");
        Ok(())
    }

    /// Commit0, then the version cleanup: the flag-deleted nodes are
    /// deleted (unversioned, outside the transaction).
    fn commit(&mut self) -> std::io::Result<()> {
        self.log.record(&commit0(self.trx))?;
        self.count("Commit0");
        self.in_trx = false;
        self.rces.clear();
        let nodes = std::mem::take(&mut self.flag_deleted);
        self.cleanup(nodes)?;
        self.delete_unreferenced()
    }

    fn cleanup(&mut self, nodes: Vec<NodeAt>) -> std::io::Result<()> {
        for (root, objid, key) in nodes {
            self.node(root, objid, &key, Op::Delete)?;
        }
        Ok(())
    }

    /// Rollback as the engine logs it: one Undo record (lrtypUndo, the
    /// physical undo of one RCE, logapi.hxx `LRUNDO`: bookmark sizes @44
    /// @46, oper @48, level @50, bookmark @51) per operation, newest first,
    /// on the page the node is on now, then Rollback (levelRollback 1);
    /// the inserts undone are then deleted by the cleanup.
    fn rollback(&mut self) -> std::io::Result<()> {
        let mut undone_inserts = Vec::new();
        for rce in std::mem::take(&mut self.rces).into_iter().rev() {
            let (pgno, at) = self.seek(rce.root, &rce.key);
            let iline = at.expect("node to undo");
            let mut p = self.page(pgno);
            self.dbtime += 1;
            let after = self.dbtime;
            let head = NodeHead {
                lrtyp: 39,
                pgno,
                dbtimes: (after, p.dbtime),
                iline,
                flags: VERSIONED_UNIQUE,
                rceid: rce.rceid,
                fdp: (rce.root, rce.objid),
            };
            let mut r = self.lrnode(&head);
            r.extend((rce.key.len() as u16).to_le_bytes());
            r.extend(0u16.to_le_bytes());
            r.extend(0u16.to_le_bytes());
            r.push(1);
            r.extend_from_slice(&rce.key);
            undo::apply(&mut p, iline, &rce.undo).expect("undo applies");
            self.log.record(&r)?;
            self.count("Undo");
            p.dbtime = after;
            self.store(pgno, &p);
            if rce.undo == UndoOp::FlagDelete {
                undone_inserts.push((rce.root, rce.objid, rce.key));
            }
        }
        let mut rb = vec![7u8];
        rb.extend(PROCID.to_le_bytes());
        rb.push(1);
        self.log.record(&rb)?;
        self.count("Rollback");
        self.in_trx = false;
        self.flag_deleted.clear();
        self.docs.unreferenced.clear();
        self.cleanup(undone_inserts)
    }

    /// What recovery does with the transaction left open by the crash
    /// (`undo_open_transactions`): each operation undone, newest first, on
    /// the node found by key from its tree's root, at a fresh dbtime;
    /// nothing is logged.
    fn undo_at_end(&mut self) {
        for rce in std::mem::take(&mut self.rces).into_iter().rev() {
            let (pgno, at) = self.seek(rce.root, &rce.key);
            let iline = at.expect("node to undo");
            let mut p = self.page(pgno);
            undo::apply(&mut p, iline, &rce.undo).expect("undo applies");
            self.dbtime += 1;
            p.dbtime = self.dbtime;
            self.store(pgno, &p);
            self.count("undone at the end");
        }
    }

    /// Whether `id` may be inserted now: not live, and no node of that
    /// key left on its page (flag-deleted by the open transaction).
    fn free_id(&self, t: &Table, id: u32) -> bool {
        self.seek(t.pgno, &key_long(id)).1.is_err()
            && t.index
                .is_none_or(|(ipg, _)| self.seek(ipg, &key_long(tag_of(id))).1.is_err())
    }

    fn insert_row(&mut self, t: &mut Table, id: u32) -> std::io::Result<()> {
        let key = key_long(id);
        let data = user_record(id, 0, tag_of(id), &name_of(id, 0));
        let op = Op::Insert {
            key: key.clone(),
            data,
        };
        self.node(t.pgno, t.objid, &key, op)?;
        if let Some((ipg, iobjid)) = t.index {
            let ik = key_long(tag_of(id));
            let op = Op::Insert {
                key: ik.clone(),
                data: key,
            };
            self.node(ipg, iobjid, &ik, op)?;
        }
        t.live.push(id);
        Ok(())
    }

    /// A replace to a name of another length; a Delta instead when the
    /// longer row would not fit its page.
    fn replace_row(&mut self, t: &Table, id: u32, version: u64) -> std::io::Result<()> {
        let key = key_long(id);
        let (pgno, at) = self.seek(t.pgno, &key);
        let p = self.view(pgno);
        let old = p.lines[at.expect("live id")].data.clone();
        let count = i32::from_le_bytes(old[8..12].try_into().expect("4 bytes"));
        let data = user_record(id, count, tag_of(id), &name_of(id, version));
        if !self.fits(&p, data.len().saturating_sub(old.len())) {
            return self.delta_row(t, id, 1);
        }
        self.node(t.pgno, t.objid, &key, Op::Replace { data })
    }

    fn delta_row(&mut self, t: &Table, id: u32, delta: i32) -> std::io::Result<()> {
        let op = Op::Delta {
            delta,
            offset: COUNT_OFFSET,
        };
        self.node(t.pgno, t.objid, &key_long(id), op)
    }

    /// FlagDelete of the row and its index entry (deleted after commit).
    fn delete_row(&mut self, t: &mut Table, id: u32) -> std::io::Result<()> {
        self.node(t.pgno, t.objid, &key_long(id), Op::FlagDelete)?;
        if let Some((ipg, iobjid)) = t.index {
            self.node(ipg, iobjid, &key_long(tag_of(id)), Op::FlagDelete)?;
        }
        t.live.retain(|&x| x != id);
        Ok(())
    }
}

/// Binary search over `n` ordered items compared by `cmp` (the position
/// found, or where the item would go).
fn bisect(n: usize, cmp: impl Fn(usize) -> std::cmp::Ordering) -> Result<usize, usize> {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        match cmp(mid) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => return Ok(mid),
        }
    }
    Err(lo)
}

/// Bytes a line takes on its page, tag included (`CbNDNodeSizeTotal`).
fn line_size(l: &Line) -> usize {
    (if l.cb_prefix > 0 { 2 } else { 0 }) + 2 + l.suffix.len() + l.data.len() + 4
}

/// `dbtimeNil` (daedef.hxx): no before-dbtime.
const DBTIME_NIL: u64 = u64::MAX;

/// A line on its way through a split (`LINEINFO`'s KEYDATAFLAGS): full
/// key, data, flags and where it sat (kept when the page keeps it).
#[derive(Debug, Clone)]
struct Kdf {
    key: Vec<u8>,
    data: Vec<u8>,
    flags: u8,
    slot: Option<Slot>,
}

/// The lines of `p` with the operation's new node at `iline`
/// (`ErrLGIRedoSplitLineinfo`, logredo.cxx ~7709).
fn split_lines(p: &PageImage, iline: usize, oper: Kdf) -> Vec<Kdf> {
    let mut lines: Vec<Kdf> = (0..p.lines.len())
        .map(|i| Kdf {
            key: p.key(i),
            data: p.lines[i].data.clone(),
            flags: p.lines[i].flags,
            slot: p.lines[i].slot,
        })
        .collect();
    lines.insert(iline, oper);
    lines
}

/// Lays `lines` out on `p` against the prefix `prefix` (a line uses it
/// when it shares more than cbPrefixOverhead bytes with it).
fn fill(p: &mut PageImage, lines: &[Kdf], prefix: &[u8]) {
    p.lines = lines
        .iter()
        .map(|k| {
            let n = eseutil::recovery::page::common(prefix, &k.key);
            let cb = if n > CB_PREFIX_OVERHEAD { n } else { 0 };
            let mut l = p.make_line(&k.key, cb, &k.data, k.flags);
            l.slot = k.slot;
            l
        })
        .collect();
}

/// The separator a leaf split gives the parent (`ErrBTIComputeSeparatorKey`,
/// bt.cxx ~10583): the split key up to and including its first byte that
/// differs from the previous key.
fn separator(prev: &[u8], split: &[u8]) -> Vec<u8> {
    let n = eseutil::recovery::page::common(prev, split);
    split[..(n + 1).min(split.len())].to_vec()
}

/// One LRSPLITNEW of a split macro (logapi.hxx ~873–950,
/// docs/format/log-records.md §3). A path page that does not split has
/// `pgno_new` 0 and only `pgno`, `before`, `iline_oper` set.
#[derive(Debug, Clone, Default)]
struct SplitLog {
    pgno: u32,
    before: u64,
    pgno_new: u32,
    /// splitoperInsert (btsplit.hxx ~35), else splitoperNone.
    oper: bool,
    right: (u32, u64),
    parent: (u32, u64),
    fdp: (u32, u32),
    /// SPLITTYPE (btsplit.hxx ~6): 0 vertical, 1 right, 2 append.
    split_type: u8,
    iline_oper: usize,
    iline_split: usize,
    clines: usize,
    new_flags: u32,
    split_flags: u32,
    /// ilinePrefixSplit, ilinePrefixNew (−1: none).
    prefix_lines: (i32, i32),
    key_parent: Vec<u8>,
    prefix_old: Vec<u8>,
    prefix_new: Vec<u8>,
}

/// The LRPAGE_ head every page record starts with (32 bytes, logapi.hxx):
/// lrtyp, procid, dbid, pgno, dbtime after and before, trxBegin0, level,
/// iline, flags.
fn put_page_head(
    r: &mut [u8],
    (lrtyp, pgno): (u8, u32),
    (after, before): (u64, u64),
    (trx, in_trx): (u32, bool),
    iline: usize,
    flags: u8,
) {
    r[0] = lrtyp;
    r[1..3].copy_from_slice(&PROCID.to_le_bytes());
    r[3] = DBID;
    r[4..8].copy_from_slice(&pgno.to_le_bytes());
    r[8..16].copy_from_slice(&after.to_le_bytes());
    r[16..24].copy_from_slice(&before.to_le_bytes());
    r[24..28].copy_from_slice(&trx.to_le_bytes());
    r[28] = in_trx as u8;
    r[29..31].copy_from_slice(&(iline as u16).to_le_bytes());
    r[31] = flags;
}

impl SplitLog {
    /// The record (`ErrLGSplit`, logapi.cxx ~3461): LRPAGE_ at the macro's
    /// dbtime with iline 0, the split fields, then key parent, old and
    /// new split-page prefix; no page before-image.
    fn record(&self, e: &Engine, dbtime: u64) -> Vec<u8> {
        let mut r = vec![0u8; 110];
        put_page_head(
            &mut r,
            (62, self.pgno),
            (dbtime, self.before),
            (e.trx, e.in_trx),
            0,
            UNIQUE,
        );
        r[32..36].copy_from_slice(&self.pgno_new.to_le_bytes());
        r[36..40].copy_from_slice(&self.right.0.to_le_bytes());
        r[40..48].copy_from_slice(&self.right.1.to_le_bytes());
        r[48..52].copy_from_slice(&self.parent.0.to_le_bytes());
        r[52..60].copy_from_slice(&self.parent.1.to_le_bytes());
        r[60..64].copy_from_slice(&self.fdp.0.to_le_bytes());
        r[64..68].copy_from_slice(&self.fdp.1.to_le_bytes());
        r[68] = self.split_type;
        r[69] = self.oper as u8;
        r[70..72].copy_from_slice(&(self.iline_oper as u16).to_le_bytes());
        r[72..74].copy_from_slice(&(self.iline_split as u16).to_le_bytes());
        r[74..76].copy_from_slice(&(self.clines as u16).to_le_bytes());
        r[76..80].copy_from_slice(&self.new_flags.to_le_bytes());
        r[80..84].copy_from_slice(&self.split_flags.to_le_bytes());
        r[88..92].copy_from_slice(&self.prefix_lines.0.to_le_bytes());
        r[92..96].copy_from_slice(&self.prefix_lines.1.to_le_bytes());
        r[96..98].copy_from_slice(&(self.prefix_old.len() as u16).to_le_bytes());
        r[98..100].copy_from_slice(&(self.prefix_new.len() as u16).to_le_bytes());
        r[100..102].copy_from_slice(&(self.key_parent.len() as u16).to_le_bytes());
        r.extend_from_slice(&self.key_parent);
        r.extend_from_slice(&self.prefix_old);
        r.extend_from_slice(&self.prefix_new);
        r
    }

    /// The pages the macro touched at this level (`ErrLGSplit`'s rgpgno).
    fn pages(&self) -> impl Iterator<Item = u32> {
        [self.pgno, self.pgno_new, self.right.0]
            .into_iter()
            .filter(|&p| p != 0)
    }
}

/// LRMACROBEGIN / LRMACROEND (logapi.hxx ~1474, ~1485): lrtyp, procid,
/// dbtime.
fn macro_record(lrtyp: u8, dbtime: u64) -> Vec<u8> {
    let mut r = vec![lrtyp];
    r.extend(PROCID.to_le_bytes());
    r.extend(dbtime.to_le_bytes());
    r
}

impl Engine {
    /// Takes the first free page of the tree's available extent: the AE
    /// node's page count goes down by one (a Replace on the space tree,
    /// unversioned, `fLRPageSpace`), the extent's last page (its key)
    /// stays; pages are handed out from the front (`ErrSPGetPage`).
    fn allocate(&mut self, root: u32, objid: u32) -> std::io::Result<u32> {
        let p = self.view(root + 2);
        let used_up = || std::io::Error::other(format!("tree {root}: its extent is used up"));
        let l = p.lines.first().ok_or_else(used_up)?;
        let key = p.key(0);
        let last = u32::from_be_bytes(key[..4].try_into().expect("4 bytes"));
        let avail = u32::from_le_bytes(l.data[..4].try_into().expect("4 bytes"));
        if avail == 0 {
            return Err(used_up());
        }
        let op = if avail > 1 {
            Op::Replace {
                data: (avail - 1).to_le_bytes().to_vec(),
            }
        } else {
            Op::Delete
        };
        self.space_node((root, objid), &key, op)?;
        Ok(last + 1 - avail)
    }

    /// An operation on the available-extent tree of the tree `root` (its
    /// root page root+2): unversioned, `fLRPageSpace`, outside the
    /// version store.
    fn space_node(&mut self, (root, objid): (u32, u32), key: &[u8], op: Op) -> std::io::Result<()> {
        let (pgno, Ok(iline) | Err(iline)) = self.seek(root + 2, key);
        let mut p = self.page(pgno);
        self.dbtime += 1;
        let head = NodeHead {
            lrtyp: op.lrtyp(),
            pgno,
            dbtimes: (self.dbtime, p.dbtime),
            iline,
            flags: SPACE,
            rceid: 0,
            fdp: (root, objid),
        };
        let mut r = self.lrnode(&head);
        self.apply_op(&mut p, iline, &op, &mut r, false);
        self.log.record(&r)?;
        self.count(match op {
            Op::Insert { .. } => "Insert (space)",
            Op::Delete => "Delete (space)",
            _ => "Replace (space)",
        });
        p.dbtime = self.dbtime;
        self.store(pgno, &p);
        Ok(())
    }

    /// An insert that does not fit its leaf, as `ErrBTISplit` makes it:
    /// a new page from the tree's space, then one macro (MacroBegin, the
    /// Split2 records top-down, the Insert, MacroCommit + MacroInfo) at
    /// one new dbtime. A root leaf splits vertically; another leaf splits
    /// right, or appends when the key goes after the last node of the
    /// last leaf (bt.cxx ~9335); its parent (the root) gets the separator.
    /// The pages change as `recovery::split` redoes the macro.
    fn split_insert(
        &mut self,
        (root, objid): (u32, u32),
        key: &[u8],
        data: &[u8],
        pgno: u32,
        iline: usize,
    ) -> std::io::Result<()> {
        let pgno_new = self.allocate(root, objid)?;
        self.dbtime += 1;
        let dbtime = self.dbtime;
        let v = if self.in_trx { NODE_VERSIONED } else { 0 };
        let p = self.page(pgno);
        let oper = Kdf {
            key: key.to_vec(),
            data: data.to_vec(),
            flags: v,
            slot: None,
        };
        let lines = split_lines(&p, iline, oper);
        if pgno == root {
            let probe = self.new_page(&p, p.flags, &lines, dbtime);
            if probe.used() > self.ps {
                // BTISelectSplitWithOperNone: the root's lines move down
                // alone; the insert is tried again on the new leaf.
                let mut lines = lines;
                lines.remove(iline);
                let s = self.split_vertical((pgno, p), pgno_new, lines, None, dbtime);
                self.log_split(&[s], (root, objid), dbtime, None)?;
                let op = Op::Insert {
                    key: key.to_vec(),
                    data: data.to_vec(),
                };
                return self.node(root, objid, key, op);
            }
            let s = self.split_vertical((pgno, p), pgno_new, lines, Some(iline), dbtime);
            return self.log_split(&[s], (root, objid), dbtime, Some((key, data)));
        }
        let path = self.split_horizontal(root, p, (pgno, pgno_new), lines, iline, dbtime)?;
        self.log_split(&path, (root, objid), dbtime, Some((key, data)))
    }

    /// Logs a split macro: MacroBegin, the Split2 records top-down, the
    /// operation (`ErrLGInsert` with the split page's csr: the key logged
    /// whole, at ilineOper, at the macro's dbtime) when the split carries
    /// it, then MacroCommit followed by LRMACROINFO (lrtypMacroInfo 67,
    /// LRIGNORED shape: cb, the pages) in the same write (`ErrLGIMacroEnd`,
    /// logapi.cxx ~4389).
    fn log_split(
        &mut self,
        path: &[SplitLog],
        (root, objid): (u32, u32),
        dbtime: u64,
        insert: Option<(&[u8], &[u8])>,
    ) -> std::io::Result<()> {
        self.log.record(&macro_record(11, dbtime))?;
        for s in path {
            let mut s = s.clone();
            s.fdp = (root, objid);
            self.log.record(&s.record(self, dbtime))?;
            self.count("Split2");
        }
        let leaf = path.last().expect("a split path");
        if let Some((key, data)) = insert {
            let head = NodeHead {
                lrtyp: 29,
                pgno: leaf.pgno,
                dbtimes: (dbtime, leaf.before),
                iline: leaf.iline_oper,
                flags: self.node_flags(),
                rceid: dbtime as u32,
                fdp: (root, objid),
            };
            let mut r = self.lrnode(&head);
            for n in [key.len(), 0, data.len()] {
                r.extend((n as u16).to_le_bytes());
            }
            r.extend_from_slice(key);
            r.extend_from_slice(data);
            self.log.record(&r)?;
            self.count("Insert");
            if self.in_trx {
                let node = (root, objid, key.to_vec());
                self.remember(dbtime as u32, node, UndoOp::FlagDelete);
            }
        }
        let pages = path.iter().flat_map(SplitLog::pages);
        self.log.record(&macro_end(dbtime, pages))?;
        self.count("MacroCommit");
        Ok(())
    }

    /// The new page of a split: `lines` under the prefix of the first
    /// one's key (ilinePrefixNew 0).
    fn new_page(&self, src: &PageImage, flags: u32, lines: &[Kdf], dbtime: u64) -> PageImage {
        let mut newp = PageImage::new(self.ps, src.objid, flags, dbtime);
        newp.ext = lines.first().map(|k| k.key.clone()).unwrap_or_default();
        let prefix = newp.ext.clone();
        fill(&mut newp, lines, &prefix);
        newp
    }

    /// Vertical split of a root leaf (`BTISelectVerticalSplit`, bt.cxx
    /// ~9431): every line, and the new node at `iline` when there is one,
    /// go to the new page (flags of the root without fPageRoot), the root
    /// keeps one node (empty key → the new page) and becomes parent of
    /// leaf.
    fn split_vertical(
        &mut self,
        (pgno, mut src): (u32, PageImage),
        pgno_new: u32,
        lines: Vec<Kdf>,
        iline: Option<usize>,
        dbtime: u64,
    ) -> SplitLog {
        let s = SplitLog {
            pgno,
            before: src.dbtime,
            pgno_new,
            oper: iline.is_some(),
            right: (0, DBTIME_NIL),
            parent: (0, DBTIME_NIL),
            split_type: 0,
            iline_oper: iline.unwrap_or(0),
            iline_split: 0,
            clines: lines.len(),
            new_flags: src.flags & !FLAG_ROOT,
            split_flags: (src.flags | FLAG_PARENT_OF_LEAF) & !(FLAG_LEAF | FLAG_REPAIR),
            prefix_lines: (-1, 0),
            prefix_old: Vec::new(),
            ..Default::default()
        };
        let mut newp = self.new_page(&src, s.new_flags, &lines, dbtime);
        src.flags = s.split_flags | (src.flags & FLAG_NEW_CHECKSUM);
        src.lines = vec![src.make_line(&[], 0, &pgno_new.to_le_bytes(), 0)];
        src.optimize_internal_fragmentation();
        src.dbtime = dbtime;
        newp.dbtime = dbtime;
        self.store(s.pgno, &src);
        self.store(pgno_new, &newp);
        self.count("split (vertical)");
        s
    }
}

/// Where a right split cuts `lines` (`BTISelectRightSplit` balances the
/// two pages): the first line at which half of the bytes are reached.
fn balanced_split(lines: &[Kdf]) -> usize {
    let sizes: Vec<usize> = lines
        .iter()
        .map(|k| k.key.len() + k.data.len() + 8)
        .collect();
    let total: usize = sizes.iter().sum();
    let mut acc = 0;
    for (i, s) in sizes.iter().enumerate() {
        acc += s;
        if 2 * acc >= total {
            return (i + 1).clamp(1, lines.len() - 1);
        }
    }
    lines.len() - 1
}

impl Engine {
    /// Right or append split of leaf `pgno`, a child of the root
    /// (`BTISelectRightSplit`, `BTISelectAppend` bt.cxx ~9493: the new
    /// page holds the new node alone and takes its key as prefix). The
    /// path is the root (no split: `BTIInsertPgnoNewAndSetPgnoSplit` puts
    /// the separator → the split page before the node that now points to
    /// the new page), then the leaf; the split page keeps the lines
    /// before ilineSplit, prefixed by its first key (a right split), the
    /// new page the others; siblings are linked (`BTISplitFixSiblings`).
    fn split_horizontal(
        &mut self,
        root: u32,
        mut src: PageImage,
        (pgno, pgno_new): (u32, u32),
        mut lines: Vec<Kdf>,
        iline: usize,
        dbtime: u64,
    ) -> std::io::Result<Vec<SplitLog>> {
        let mut parent = self.page(root);
        if parent.flags & FLAG_PARENT_OF_LEAF == 0 {
            return Err(std::io::Error::other(
                "a split below a parent page that is not the root: not made",
            ));
        }
        let append = src.next == 0 && iline + 1 == lines.len();
        let iline_split = if append {
            iline
        } else {
            balanced_split(&lines)
        };
        let key_parent = separator(&lines[iline_split - 1].key, &lines[iline_split].key);
        let at = (0..parent.lines.len())
            .find(|&j| {
                let k = parent.key(j);
                k.is_empty() || k > key_parent
            })
            .expect("a parent page ends with an empty separator");
        let right = src.next;
        let right_before = if right != 0 {
            self.page(right).dbtime
        } else {
            DBTIME_NIL
        };
        let top = SplitLog {
            pgno: root,
            before: parent.dbtime,
            iline_oper: at,
            right: (0, DBTIME_NIL),
            parent: (0, DBTIME_NIL),
            ..Default::default()
        };
        let leaf = SplitLog {
            pgno,
            before: src.dbtime,
            pgno_new,
            oper: true,
            right: (right, right_before),
            parent: (root, parent.dbtime),
            split_type: if append { 2 } else { 1 },
            iline_oper: iline,
            iline_split,
            clines: lines.len(),
            new_flags: src.flags,
            split_flags: src.flags,
            prefix_lines: if append { (-1, 0) } else { (0, 0) },
            key_parent: key_parent.clone(),
            prefix_old: src.prefix().to_vec(),
            prefix_new: if append {
                Vec::new()
            } else {
                lines[0].key.clone()
            },
            ..Default::default()
        };
        let cb = parent.cb_common(&key_parent);
        let sep = parent.make_line(&key_parent, cb, &pgno.to_le_bytes(), 0);
        if parent.used() + line_size(&sep) > self.ps {
            return Err(std::io::Error::other(
                "a split of the root's parent level: not made",
            ));
        }
        parent.lines.insert(at, sep);
        parent.lines[at + 1].data = pgno_new.to_le_bytes().to_vec();
        parent.optimize_internal_fragmentation();
        parent.dbtime = dbtime;
        self.store(root, &parent);
        let moved = lines.split_off(iline_split);
        let mut newp = self.new_page(&src, leaf.new_flags, &moved, dbtime);
        let prefix = if append {
            src.prefix().to_vec()
        } else {
            src.reset_prefix(leaf.prefix_new.clone());
            leaf.prefix_new.clone()
        };
        fill(&mut src, &lines, &prefix);
        (newp.prev, newp.next, src.next) = (pgno, right, pgno_new);
        src.optimize_internal_fragmentation();
        src.dbtime = dbtime;
        newp.dbtime = dbtime;
        self.store(pgno, &src);
        self.store(pgno_new, &newp);
        if right != 0 {
            let mut r = self.page(right);
            r.prev = pgno_new;
            r.dbtime = dbtime;
            self.store(right, &r);
        }
        self.count(if append {
            "split (append)"
        } else {
            "split (right)"
        });
        Ok(vec![top, leaf])
    }
}

/// The table `Docs` (Id, Body: a long binary column) and its LV tree: the
/// long values of Body are all separated (over `cbLVIntrinsicMost`).
const DOCS_OBJID: u32 = 11;
const LV_OBJID: u32 = 12;
const CPG_DOCS: u32 = 16;
const CPG_LV: u32 = 72;
/// JET_coltyp LongBinary (jethdr.w).
const LONG_BINARY: u32 = 11;
const DOCS_COLUMNS: [(&str, u16, u32, bool); 2] =
    [("Id", 1, LONG, true), ("Body", 0x100, LONG_BINARY, false)];
/// `cbLVIntrinsicMost` (rec.hxx ~610): a longer value is separated.
const LV_INTRINSIC_MOST: usize = 1023;
/// Rows kept in Docs at most, and at least before a delete.
const DOCS_MAX: usize = 40;
const DOCS_MIN: usize = 4;

/// `JET_paramLVChunkSizeMost` for a page size (`InitVariablesWithPageSize`,
/// jetapi.cxx ~6021: the page less `LVChunkOverheadCommon` (42) and the
/// page header on 4 and 8 KiB pages; 4050 and 8150 on 16 and 32 KiB).
fn lv_chunk_most(ps: usize) -> usize {
    match ps {
        16384 => 4050,
        32768 => 8150,
        _ => ps - (42 + 40),
    }
}

/// A live row of Docs: id, LID, size of its long value.
#[derive(Debug, Clone, Copy)]
struct Doc {
    id: u32,
    lid: u32,
    size: usize,
}

/// The Docs table: roots, live rows, the last LID and row id given.
#[derive(Debug, Clone)]
struct Docs {
    pgno: u32,
    lv: u32,
    live: Vec<Doc>,
    lid_last: u32,
    id_last: u32,
    /// Long values whose reference count the open transaction took to 0
    /// (their nodes are deleted after commit).
    unreferenced: Vec<Doc>,
}

/// Key of an LV root (`LVKEY32` without offset: the LID big-endian) or of
/// a chunk (LID, then the chunk's byte offset, big-endian; lv.cxx).
fn lv_key(lid: u32, offset: Option<usize>) -> Vec<u8> {
    let mut k = lid.to_be_bytes().to_vec();
    if let Some(o) = offset {
        k.extend((o as u32).to_be_bytes());
    }
    k
}

/// Bytes of a long value (a pattern of its LID and version).
fn lv_bytes(lid: u32, version: u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (lid.wrapping_mul(31) as u64 ^ version ^ (i * 13 + i / 251) as u64) as u8)
        .collect()
}

/// A Docs record (`REC`): Id fixed, the null bitmap, no variable column,
/// then the tagged area: TAGFLD (fid 0x100, ib 4) and the value: its
/// header byte (fLongValue | fSeparated, tagfld.hxx) and the LID,
/// little-endian. On 4 and 8 KiB pages ib carries fExtendedInfo (0x4000)
/// to say the header byte is there; larger pages always have it.
fn docs_record(ps: usize, id: u32, lid: u32) -> Vec<u8> {
    let mut r = vec![1, 0x7F];
    r.extend(9u16.to_le_bytes());
    r.extend(id.to_le_bytes());
    r.push(0xFE);
    r.extend(0x100u16.to_le_bytes());
    let ib: u16 = if ps > 8192 { 4 } else { 4 | 0x4000 };
    r.extend(ib.to_le_bytes());
    r.push(0x01 | 0x04);
    r.extend(lid.to_le_bytes());
    r
}

/// Catalog rows and FDPs of Docs and its LV tree (`ErrCATIAddTableLV`).
fn docs_table(b: &mut Builder) -> Docs {
    let pgno = b.allocate(PGNO_ROOT_AE, CPG_DOCS);
    b.fdp(pgno, DOCS_OBJID, CPG_DOCS, 1, 0);
    insert_row(b, &table_row(DOCS_OBJID, pgno, "Docs", CPG_DOCS));
    for c in &DOCS_COLUMNS {
        insert_row(b, &column_row(DOCS_OBJID, c));
    }
    insert_row(
        b,
        &index_row(DOCS_OBJID, DOCS_OBJID, "Id", pgno, 0x0001_0031, &[1]),
    );
    let lv = b.allocate(PGNO_ROOT_AE, CPG_LV);
    b.fdp(lv, LV_OBJID, CPG_LV, pgno, FLAG_LONG_VALUE);
    insert_row(b, &long_value_row(DOCS_OBJID, LV_OBJID, lv));
    Docs {
        pgno,
        lv,
        live: Vec::new(),
        lid_last: 0,
        id_last: 0,
        unreferenced: Vec::new(),
    }
}

impl Engine {
    /// Pages left in the available extent of tree `root`.
    fn pages_left(&self, root: u32) -> u32 {
        let p = self.view(root + 2);
        p.lines
            .iter()
            .map(|l| u32::from_le_bytes(l.data[..4].try_into().expect("4 bytes")))
            .sum()
    }

    /// One operation on Docs: a new row with a new long value (inserted in
    /// the LV tree first, then the record), a row's value replaced by a new
    /// long value (new LID: the record replaced, the old value
    /// dereferenced), or a row deleted (FlagDelete, the value
    /// dereferenced).
    fn docs_op(&mut self, rng: &mut Rng) -> std::io::Result<()> {
        let mut d = self.docs.clone();
        let n = d.live.len();
        match rng.below(3) {
            0 if n < DOCS_MAX && self.pages_left(d.lv) >= 4 => {
                d.id_last += 1;
                let id = d.id_last;
                let doc = self.new_long_value(&mut d, id, rng)?;
                let key = key_long(doc.id);
                let data = docs_record(self.ps, doc.id, doc.lid);
                self.node(d.pgno, DOCS_OBJID, &key.clone(), Op::Insert { key, data })?;
                d.live.push(doc);
                self.count("long value created");
            }
            1 if n > 0 && self.pages_left(d.lv) >= 4 => {
                let i = rng.below(n as u64) as usize;
                let old = d.live[i];
                let doc = self.new_long_value(&mut d, old.id, rng)?;
                let data = docs_record(self.ps, doc.id, doc.lid);
                self.node(d.pgno, DOCS_OBJID, &key_long(doc.id), Op::Replace { data })?;
                self.dereference(&mut d, old)?;
                d.live[i] = doc;
                self.count("long value replaced");
            }
            _ if n > DOCS_MIN => {
                let i = rng.below(n as u64) as usize;
                let doc = d.live.remove(i);
                self.node(d.pgno, DOCS_OBJID, &key_long(doc.id), Op::FlagDelete)?;
                self.dereference(&mut d, doc)?;
            }
            _ => {}
        }
        self.docs = d;
        Ok(())
    }

    /// A new long value for row `id` (its LVROOT — reference count 1,
    /// size — then its chunks, as `ErrRECSetLongField` separates it).
    fn new_long_value(&mut self, d: &mut Docs, id: u32, rng: &mut Rng) -> std::io::Result<Doc> {
        let chunk = lv_chunk_most(self.ps);
        let lv = (d.lv, LV_OBJID);
        d.lid_last += 1;
        let doc = Doc {
            id,
            lid: d.lid_last,
            size: LV_INTRINSIC_MOST + 1 + rng.below(3 * chunk as u64 / 2) as usize,
        };
        let mut root = 1u32.to_le_bytes().to_vec();
        root.extend((doc.size as u32).to_le_bytes());
        self.lv_insert(lv, lv_key(doc.lid, None), root)?;
        let bytes = lv_bytes(doc.lid, rng.next(), doc.size);
        for (i, c) in bytes.chunks(chunk).enumerate() {
            self.lv_insert(lv, lv_key(doc.lid, Some(i * chunk)), c.to_vec())?;
        }
        Ok(doc)
    }

    /// The row no longer refers to `doc`'s long value: a Delta of −1 on its
    /// LVROOT's reference count (offset 0); its nodes go after commit.
    fn dereference(&mut self, d: &mut Docs, doc: Doc) -> std::io::Result<()> {
        let op = Op::Delta {
            delta: -1,
            offset: 0,
        };
        self.node(d.lv, LV_OBJID, &lv_key(doc.lid, None), op)?;
        d.unreferenced.push(doc);
        self.count("long value dereferenced");
        Ok(())
    }

    fn lv_insert(&mut self, lv: (u32, u32), key: Vec<u8>, data: Vec<u8>) -> std::io::Result<()> {
        self.node(lv.0, lv.1, &key.clone(), Op::Insert { key, data })
    }

    /// After commit: the nodes of the long values no row refers to any
    /// more are deleted (chunks, then the root), unversioned.
    fn delete_unreferenced(&mut self) -> std::io::Result<()> {
        let chunk = lv_chunk_most(self.ps);
        for doc in std::mem::take(&mut self.docs.unreferenced) {
            let lv = self.docs.lv;
            for off in (0..doc.size).step_by(chunk) {
                self.node(lv, LV_OBJID, &lv_key(doc.lid, Some(off)), Op::Delete)?;
            }
            self.node(lv, LV_OBJID, &lv_key(doc.lid, None), Op::Delete)?;
            self.count("long value deleted");
        }
        Ok(())
    }
}

/// `mergetypeEmptyPage` (btsplit.hxx ~16).
const MERGE_EMPTY_PAGE: u8 = 1;
/// LRMERGE_ flags (logapi.hxx ~954): the parent's node is deleted; the
/// merged page becomes empty.
const MERGE_DELETE_NODE: u8 = 0x2;
const MERGE_EMPTY: u8 = 0x4;

/// One LRMERGENEW of a merge macro (logapi.hxx ~954–1030,
/// docs/format/log-records.md §3).
#[derive(Debug, Clone, Default)]
struct MergeLog {
    pgno: u32,
    before: u64,
    iline: usize,
    flags: u8,
    merge_type: u8,
    left: (u32, u64),
    right: (u32, u64),
    parent: (u32, u64),
}

impl MergeLog {
    /// The record (`ErrLGMerge`, logapi.cxx ~3781): LRPAGE_ at the
    /// macro's dbtime, the merge fields; no separator key, no image.
    fn record(&self, e: &Engine, dbtime: u64, (root, objid): (u32, u32)) -> Vec<u8> {
        let mut r = vec![0u8; 96];
        put_page_head(
            &mut r,
            (63, self.pgno),
            (dbtime, self.before),
            (e.trx, e.in_trx),
            self.iline,
            UNIQUE,
        );
        r[32..36].copy_from_slice(&self.right.0.to_le_bytes());
        r[36..44].copy_from_slice(&self.right.1.to_le_bytes());
        r[44..48].copy_from_slice(&self.left.0.to_le_bytes());
        r[48..56].copy_from_slice(&self.left.1.to_le_bytes());
        r[56..60].copy_from_slice(&self.parent.0.to_le_bytes());
        r[60..68].copy_from_slice(&self.parent.1.to_le_bytes());
        r[68..72].copy_from_slice(&root.to_le_bytes());
        r[72..76].copy_from_slice(&objid.to_le_bytes());
        r[84] = self.flags;
        r[85] = self.merge_type;
        r
    }
}

impl Engine {
    /// The last node of a leaf below the root deleted by cleanup, as
    /// `ErrBTIMultipageCleanup` does it: an empty-page merge macro
    /// (MacroBegin, Merge2 of the root — its node → the page deleted —
    /// then Merge2 of the page — mergetypeEmptyPage, siblings linked
    /// past it — MacroCommit + MacroInfo), then the page back to the
    /// tree's available extent (an AE node of one page, keyed by it).
    /// `false` when the root keeps only this child (the page stays).
    fn merge_empty(&mut self, (root, objid): (u32, u32), pgno: u32) -> std::io::Result<bool> {
        let mut parent = self.page(root);
        let Some(at) =
            (0..parent.lines.len()).find(|&j| parent.lines[j].data == pgno.to_le_bytes())
        else {
            return Ok(false);
        };
        if parent.lines.len() < 2 || parent.flags & FLAG_PARENT_OF_LEAF == 0 {
            return Ok(false);
        }
        let mut src = self.page(pgno);
        let sibling = |e: &Engine, pg: u32| (pg != 0).then(|| e.page(pg));
        let (mut left, mut right) = (sibling(self, src.prev), sibling(self, src.next));
        let before = |p: &Option<PageImage>| p.as_ref().map_or(DBTIME_NIL, |p| p.dbtime);
        let path = [
            MergeLog {
                pgno: root,
                before: parent.dbtime,
                iline: at,
                flags: MERGE_DELETE_NODE,
                parent: (0, DBTIME_NIL),
                ..Default::default()
            },
            MergeLog {
                pgno,
                before: src.dbtime,
                flags: MERGE_EMPTY,
                merge_type: MERGE_EMPTY_PAGE,
                left: (src.prev, before(&left)),
                right: (src.next, before(&right)),
                parent: (root, parent.dbtime),
                ..Default::default()
            },
        ];
        self.dbtime += 1;
        let dbtime = self.dbtime;
        self.log.record(&macro_record(11, dbtime))?;
        for m in &path {
            self.log.record(&m.record(self, dbtime, (root, objid)))?;
            self.count("Merge2");
        }
        let pages = [root, pgno, src.prev, src.next];
        self.log
            .record(&macro_end(dbtime, pages.into_iter().filter(|&p| p != 0)))?;
        self.count("MacroCommit");
        // As `recovery::split::redo_merge`: the parent's node goes (a
        // deleted last node gives its empty key to the one before), the
        // page is emptied, its siblings point past it.
        let null_last = parent.key(at).is_empty();
        parent.lines.remove(at);
        if null_last && at > 0 {
            let d = parent.lines[at - 1].data.clone();
            let l = parent.make_line(&[], 0, &d, 0);
            parent.replace_line(at - 1, l);
        }
        if let Some(l) = &mut left {
            l.next = src.next;
        }
        if let Some(r) = &mut right {
            r.prev = src.prev;
        }
        src.ext.clear();
        src.lines.clear();
        src.flags |= FLAG_EMPTY;
        let (prev, next) = (src.prev, src.next);
        for (pg, p) in [
            (root, Some(parent)),
            (pgno, Some(src)),
            (prev, left),
            (next, right),
        ] {
            if let Some(mut p) = p {
                p.optimize_internal_fragmentation();
                p.dbtime = dbtime;
                self.store(pg, &p);
            }
        }
        self.count("merge (empty page)");
        let op = Op::Insert {
            key: pgno.to_be_bytes().to_vec(),
            data: 1u32.to_le_bytes().to_vec(),
        };
        self.space_node((root, objid), &pgno.to_be_bytes(), op)?;
        Ok(true)
    }
}

/// MacroCommit followed by LRMACROINFO (lrtypMacroInfo 67, LRIGNORED
/// shape: cb, the pages) in the same write (`ErrLGIMacroEnd`, logapi.cxx
/// ~4389).
fn macro_end(dbtime: u64, pages: impl Iterator<Item = u32>) -> Vec<u8> {
    let pages: Vec<u32> = pages.collect();
    let mut end = macro_record(12, dbtime);
    end.push(67);
    end.extend((4 * pages.len() as u32).to_le_bytes());
    for pg in pages {
        end.extend(pg.to_le_bytes());
    }
    end
}

/// The bulk-built table `Bulk` that gives the database its size: a
/// secondary extent of the database (pgno 257 to the end of the file)
/// holding one B-tree of fixed-size rows, laid out as a bulk load leaves
/// it (leaves in key order, then the parent levels; separator = first key
/// of the next child, the last child's key empty). Never touched by the
/// log: it is streamed to the start file and copied to the expected one.
#[derive(Debug, Clone)]
struct Bulk {
    ps: usize,
    /// FDP root (OE and AE follow).
    root: u32,
    /// Pages of the extent (root … last page of the file).
    cpg: u32,
    leaves: u32,
    rows_per_leaf: u32,
    fanout: usize,
    dbtime: u64,
}

const BULK_OBJID: u32 = 10;
const BULK_FIRST_ID: u32 = 1_000_000;

impl Bulk {
    /// The layout for a file of `total` data pages; `None` when the
    /// implicit creation's 256 pages already fill it.
    fn plan(ps: usize, total: u32) -> Option<Bulk> {
        let root = LEGACY_DB_PAGES + 1;
        let cpg = total.checked_sub(LEGACY_DB_PAGES)?;
        let avail = cpg.checked_sub(3)?;
        let fanout = (ps - 100) / 16;
        let mut leaves = (avail as u64 * fanout as u64 / (fanout as u64 + 1)) as u32;
        let mut b = Bulk {
            ps,
            root,
            cpg,
            leaves,
            rows_per_leaf: ((ps - 100) / 50) as u32,
            fanout,
            dbtime: 0,
        };
        while leaves > 0 && leaves + b.internal_pages(leaves) > avail {
            leaves -= 1;
        }
        b.leaves = leaves;
        (leaves > 0).then_some(b)
    }

    /// Parent pages below the root for `leaves` leaves.
    fn internal_pages(&self, leaves: u32) -> u32 {
        let (mut n, mut total) = (leaves as usize, 0);
        while n > self.fanout {
            n = n.div_ceil(self.fanout);
            total += n as u32;
        }
        total
    }

    fn row(id: u32) -> (Vec<u8>, Vec<u8>) {
        let name = format!("bulk row {id:010}");
        (
            key_long(id),
            user_record(id, 0, tag_of(id), name.as_bytes()),
        )
    }

    fn first_leaf(&self) -> u32 {
        self.root + 3
    }

    /// Catalog rows and FDP (root, OE, AE) of the table.
    fn catalog(&self, b: &mut Builder) {
        b.fdp(self.root, BULK_OBJID, self.cpg, 1, 0);
        insert_row(b, &table_row(BULK_OBJID, self.root, "Bulk", self.cpg));
        for c in &COLUMNS {
            insert_row(b, &column_row(BULK_OBJID, c));
        }
        insert_row(
            b,
            &index_row(BULK_OBJID, BULK_OBJID, "Id", self.root, 0x0001_0031, &[1]),
        );
    }

    /// Space after the build: the database root owns the extent, the
    /// table's AE lists what the tree does not use.
    fn space(&self, pages: &mut BTreeMap<u32, PageImage>) {
        let last = self.root + self.cpg - 1;
        let line = |cpg: u32| Line {
            flags: 0,
            cb_prefix: 0,
            suffix: last.to_be_bytes().to_vec(),
            data: cpg.to_le_bytes().to_vec(),
            slot: None,
        };
        if let Some(oe) = pages.get_mut(&2) {
            oe.lines.push(line(self.cpg));
        }
        let used = 3 + self.leaves + self.internal_pages(self.leaves);
        if let Some(ae) = pages.get_mut(&(self.root + 2)) {
            ae.lines.clear();
            if self.cpg > used {
                ae.lines.push(line(self.cpg - used));
            }
        }
    }

    fn page(&self, flags: u32, prev: u32, next: u32) -> PageImage {
        let mut p = PageImage::new(self.ps, BULK_OBJID, flags, self.dbtime);
        (p.prev, p.next) = (prev, next);
        p
    }

    fn leaf(&self, i: u32) -> PageImage {
        let pgno = self.first_leaf() + i;
        let prev = if i == 0 { 0 } else { pgno - 1 };
        let next = if i + 1 == self.leaves { 0 } else { pgno + 1 };
        let mut p = self.page(FLAG_LEAF, prev, next);
        let first = BULK_FIRST_ID + i * self.rows_per_leaf;
        for id in first..first + self.rows_per_leaf {
            let (k, d) = Self::row(id);
            let l = p.make_line(&k, 0, &d, 0);
            p.lines.push(l);
        }
        p
    }

    /// The parent levels: pages below the root (pgno, image) and the
    /// root's entries with their level flag.
    fn parents(&self) -> (Vec<(u32, PageImage)>, Vec<Line>, u32) {
        let entry = |p: &PageImage, upper: &Option<Vec<u8>>, child: u32| {
            p.make_line(upper.as_deref().unwrap_or(&[]), 0, &child.to_le_bytes(), 0)
        };
        let mut children: Vec<(u32, Option<Vec<u8>>)> = (0..self.leaves)
            .map(|i| {
                let upper = (i + 1 < self.leaves)
                    .then(|| key_long(BULK_FIRST_ID + (i + 1) * self.rows_per_leaf));
                (self.first_leaf() + i, upper)
            })
            .collect();
        let mut out = Vec::new();
        let mut next_pgno = self.first_leaf() + self.leaves;
        let mut level_flag = FLAG_PARENT_OF_LEAF;
        while children.len() > self.fanout {
            let groups: Vec<_> = children.chunks(self.fanout).map(|c| c.to_vec()).collect();
            let n = groups.len() as u32;
            let mut level = Vec::new();
            for (j, g) in groups.into_iter().enumerate() {
                let pgno = next_pgno + j as u32;
                let prev = if j == 0 { 0 } else { pgno - 1 };
                let next = if j as u32 + 1 == n { 0 } else { pgno + 1 };
                let mut p = self.page(level_flag, prev, next);
                for (child, upper) in &g {
                    let l = entry(&p, upper, *child);
                    p.lines.push(l);
                }
                level.push((pgno, g.last().and_then(|x| x.1.clone())));
                out.push((pgno, p));
            }
            next_pgno += n;
            children = level;
            level_flag = 0;
        }
        let probe = self.page(0, 0, 0);
        let root_lines = children.iter().map(|(c, u)| entry(&probe, u, *c)).collect();
        (out, root_lines, level_flag)
    }

    /// Pages root+3 … end of the extent, in order, to `w`.
    fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        let seal = |pgno: u32, p: &PageImage| -> std::io::Result<Vec<u8>> {
            let mut b = p.to_bytes().map_err(|e| std::io::Error::other(e.detail))?;
            if self.ps > 8192 {
                b[64..68].copy_from_slice(&pgno.to_le_bytes());
            }
            seal_page(&mut b, pgno);
            Ok(b)
        };
        for i in 0..self.leaves {
            w.write_all(&seal(self.first_leaf() + i, &self.leaf(i))?)?;
        }
        let (parents, _, _) = self.parents();
        for (pgno, p) in &parents {
            w.write_all(&seal(*pgno, p)?)?;
        }
        let used = 3 + self.leaves + parents.len() as u32;
        let zero = vec![0u8; self.ps];
        for _ in used..self.cpg {
            w.write_all(&zero)?;
        }
        Ok(())
    }
}

/// Database header of the start: Dirty Shutdown, logs `required` (first,
/// last) needed, the dbtime and objid given.
fn start_header(ps: usize, required: (i32, i32), dbtime: u64, objid_last: u32) -> Vec<u8> {
    let mut h = db_header_page(&DbSpec {
        page_size: ps,
        state: 2,
        gen_required: required,
        update: (0x14, 0),
    });
    h[16..24].copy_from_slice(&dbtime.to_le_bytes());
    h[212..216].copy_from_slice(&objid_last.to_le_bytes());
    eseutil::checksum::seal_header(&mut h);
    h
}

/// AttachDB (`LRATTACHDB`, docs/format/log-records.md §2): dbid, signDb
/// (header @24) and signLog (header @108) of the database, ANSI path.
fn attach_db(header: &[u8]) -> Vec<u8> {
    let mut r = vec![0u8; 75];
    r[0] = 15;
    r[1..3].copy_from_slice(&PROCID.to_le_bytes());
    r[3] = DBID;
    r[16..44].copy_from_slice(&header[24..52]);
    r[44..72].copy_from_slice(&header[108..136]);
    r[72..74].copy_from_slice(&(LOGGED_PATH.len() as u16).to_le_bytes());
    r.extend_from_slice(LOGGED_PATH.as_bytes());
    r
}

/// Writes header, pages 1 ..= `last` from `pages` (blank where absent),
/// then the bulk table's pages, streamed.
fn write_db(
    path: &Path,
    header: &[u8],
    pages: &BTreeMap<u32, Vec<u8>>,
    last: u32,
    bulk: Option<&Bulk>,
) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let f = std::fs::File::create(&tmp)?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    w.write_all(header)?;
    w.write_all(header)?;
    let zero = vec![0u8; header.len()];
    for pgno in 1..=last {
        w.write_all(pages.get(&pgno).map_or(&zero[..], |p| &p[..]))?;
    }
    if let Some(b) = bulk {
        b.write(&mut w)?;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// The expected database: a copy of the start with the header and the
/// pages the log changed written over it.
fn write_expected(
    start: &Path,
    path: &Path,
    header: &[u8],
    pages: &BTreeMap<u32, Vec<u8>>,
) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let tmp = path.with_extension("tmp");
    std::fs::copy(start, &tmp)?;
    let f = std::fs::OpenOptions::new().write(true).open(&tmp)?;
    f.write_all_at(header, 0)?;
    f.write_all_at(header, header.len() as u64)?;
    for (pgno, p) in pages {
        f.write_all_at(p, (*pgno as u64 + 1) * p.len() as u64)?;
    }
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Makes the workload (see the module doc).
pub fn make_workload(cfg: &Config) -> std::io::Result<Summary> {
    make_workload_with(cfg, true)
}

/// [`make_workload`], without the two backups when `backups` is false
/// (`--without-backups`: two database copies fewer where only replay is
/// wanted).
pub fn make_workload_with(cfg: &Config, backups: bool) -> std::io::Result<Summary> {
    let ps = cfg.page_size;
    for d in ["start", "logs", "expected"] {
        std::fs::create_dir_all(cfg.out.join(d))?;
    }
    let mut tables = Vec::new();
    let total = ((cfg.db_mib << 20) / ps as u64).saturating_sub(2);
    let mut bulk = Bulk::plan(ps, total.min(u32::MAX as u64 / 2) as u32);
    let mut docs = None;
    let mut built = build_with(ps, |b| {
        // At 4 KiB the catalog spills over several leaves.
        b.spill_over_leaves();
        user_tables(b, &mut tables);
        docs = Some(docs_table(b));
        if let Some(k) = &bulk {
            k.catalog(b);
        }
    })
    .map_err(std::io::Error::other)?;
    let docs = docs.expect("Docs built");
    let objid_last = LV_OBJID;
    let mut last_page = built.pgno_last;
    if let Some(k) = &mut bulk {
        let root = built.pages[&k.root].clone();
        k.dbtime = root.dbtime;
        k.space(&mut built.pages);
        let (_, lines, level) = k.parents();
        let mut r = PageImage::new(ps, BULK_OBJID, FLAG_ROOT | level, root.dbtime);
        r.ext = root.ext;
        r.lines = lines;
        built.pages.insert(k.root, r);
        last_page = k.root + 2;
    }
    let mut pages = BTreeMap::new();
    for (pgno, p) in &built.pages {
        let mut b = p.to_bytes().map_err(|e| std::io::Error::other(e.detail))?;
        if ps > 8192 {
            b[64..68].copy_from_slice(&pgno.to_le_bytes());
        }
        seal_page(&mut b, *pgno);
        pages.insert(*pgno, b);
    }
    // Generations before the checkpoint, then --log-mib after it.
    let before = (cfg.log_mib / 8).max(1) as i32;
    let gens = before + cfg.log_mib.max(1) as i32;
    let mut header = start_header(ps, (before + 1, gens), built.dbtime, objid_last);
    let logs = cfg.out.join("logs");
    let mut e = Engine {
        ps,
        pages,
        views: Default::default(),
        dbtime: built.dbtime,
        log: LogWriter::new(&logs),
        trx: 0,
        in_trx: false,
        rces: Vec::new(),
        flag_deleted: Vec::new(),
        docs,
        summary: Summary {
            db_name: DB_NAME.into(),
            ..Default::default()
        },
    };
    let (isec, ib) = e.log.cur.position();
    e.log.record(&attach_db(&header))?;
    e.log.attach = Some(attach_entry(&header, e.dbtime, objid_last, (ib, isec, 1)));
    let mut mix = Mix {
        rng: Rng(cfg.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1),
    };
    run_transactions(&mut e, &mut tables, &mut mix, |e| e.log.half_past(before))?;
    // The checkpoint: a new generation starts, everything before is
    // flushed (the start database), the database is in its attach list.
    e.log.roll()?;
    header[16..24].copy_from_slice(&e.dbtime.to_le_bytes());
    // lgposAttach (@80): where the AttachDB record was written.
    header[80..82].copy_from_slice(&ib.to_le_bytes());
    header[82..84].copy_from_slice(&isec.to_le_bytes());
    header[84..88].copy_from_slice(&1u32.to_le_bytes());
    eseutil::checksum::seal_header(&mut header);
    let start = cfg.out.join("start").join(DB_NAME);
    write_db(&start, &header, &e.pages, last_page, bulk.as_ref())?;
    let chk = checkpoint_file(before + 1, &header, e.dbtime, objid_last, (ib, isec, 1));
    write_atomic(&logs.join("edb.chk"), &chk)?;
    // The backup half-way (when there are two generations or more to
    // share: it starts one of its own).
    if cfg.log_mib >= 2 && backups {
        let backup_gen = before + 1 + (cfg.log_mib / 2) as i32;
        run_transactions(&mut e, &mut tables, &mut mix, |e| {
            e.log.half_past(backup_gen - 1)
        })?;
        let layout = (last_page, bulk.as_ref());
        backup(&mut e, &cfg.out, &header, layout, objid_last)?;
        run_transactions(&mut e, &mut tables, &mut mix, |e| {
            e.log.half_past(backup_gen)
        })?;
        streaming_backup(&mut e, &cfg.out, &header, layout)?;
    }
    run_transactions(&mut e, &mut tables, &mut mix, |e| e.log.half_past(gens))?;
    e.summary.long_values = e.docs.live.iter().map(|d| (d.id, d.size)).collect();
    e.begin()?;
    operations(&mut e, &mut tables, &mut mix.rng)?;
    e.count("open at the end");
    let generations = std::mem::replace(&mut e.log, LogWriter::new(&logs)).close()?;
    e.undo_at_end();
    let mut expected = header.clone();
    expected[52..56].copy_from_slice(&3u32.to_le_bytes());
    eseutil::checksum::seal_header(&mut expected);
    write_expected(
        &start,
        &cfg.out.join("expected").join(DB_NAME),
        &expected,
        &e.pages,
    )?;
    e.summary.checkpoint_generation = before as u32 + 1;
    e.summary.generations = generations as u32;
    Ok(e.summary)
}

/// One transaction's operations (1 to 6, on random tables and rows; one
/// in twelve on Docs and its long values).
fn operations(e: &mut Engine, tables: &mut [Table], rng: &mut Rng) -> std::io::Result<()> {
    for _ in 0..1 + rng.below(6) {
        if rng.below(12) == 0 {
            e.docs_op(rng)?;
            continue;
        }
        let t = &mut tables[rng.below(tables.len() as u64) as usize];
        let pick = t.live[rng.below(t.live.len() as u64) as usize];
        match rng.below(10) {
            0..=2 if t.live.len() < LIVE_ROWS => {
                // A free id of the key space (a few tries).
                let id = (0..8)
                    .map(|_| 1 + rng.below(ID_SPACE as u64) as u32)
                    .find(|&id| !t.live.contains(&id) && e.free_id(t, id));
                if let Some(id) = id {
                    e.insert_row(t, id)?;
                }
            }
            0..=2 => e.delete_row(t, pick)?,
            3..=5 => e.replace_row(t, pick, rng.next())?,
            6..=8 => e.delta_row(t, pick, rng.below(200) as i32 - 100)?,
            _ if t.live.len() > 4 => e.delete_row(t, pick)?,
            _ => {}
        }
    }
    Ok(())
}

/// The operation stream: its random source.
struct Mix {
    rng: Rng,
}

/// Transactions (one in eight rolled back) until `done` says stop.
fn run_transactions(
    e: &mut Engine,
    tables: &mut [Table],
    mix: &mut Mix,
    done: impl Fn(&Engine) -> bool,
) -> std::io::Result<()> {
    while !done(e) {
        let live: Vec<Vec<u32>> = tables.iter().map(|t| t.live.clone()).collect();
        let docs = e.docs.live.clone();
        e.begin()?;
        operations(e, tables, &mut mix.rng)?;
        if mix.rng.below(8) == 0 {
            e.rollback()?;
            for (t, l) in tables.iter_mut().zip(live) {
                t.live = l;
            }
            e.docs.live = docs;
        } else {
            e.commit()?;
        }
    }
    Ok(())
}

/// The mid-run backup as a snapshot (VSS) backup holds it: the engine
/// flushes and starts a new generation, the snapshot copies the database
/// (Dirty Shutdown, the pages as they are now), the checkpoint (at the new
/// generation) and the logs written since the start's checkpoint. Restoring
/// it is `/r` with `/s` and `/d` on `OUT/backup` and `/l` on `OUT/logs`.
fn backup(
    e: &mut Engine,
    out: &Path,
    start_header: &[u8],
    layout: (u32, Option<&Bulk>),
    objid_last: u32,
) -> std::io::Result<()> {
    e.log.roll()?;
    let dir = out.join("backup");
    std::fs::create_dir_all(&dir)?;
    let mut h = start_header.to_vec();
    h[16..24].copy_from_slice(&e.dbtime.to_le_bytes());
    h[296..300].copy_from_slice(&(e.log.gen as u32).to_le_bytes());
    eseutil::checksum::seal_header(&mut h);
    write_db(&dir.join(DB_NAME), &h, &e.pages, layout.0, layout.1)?;
    let attach = (
        u16::from_le_bytes([h[80], h[81]]),
        u16::from_le_bytes([h[82], h[83]]),
        1,
    );
    let chk = checkpoint_file(e.log.gen, &h, e.dbtime, objid_last, attach);
    write_atomic(&dir.join("edb.chk"), &chk)?;
    let first = u32::from_le_bytes([h[296], h[297], h[298], h[299]]);
    let from = u32::from_le_bytes(start_header[296..300].try_into().expect("4 bytes"));
    for g in from..first {
        let name = LogWriter::file_name(g as i32);
        std::fs::copy(out.join("logs").join(&name), dir.join(&name))?;
    }
    e.summary.backup_generation = first;
    Ok(())
}

/// The restore.env of the streaming backup (the tagged text format of
/// Exchange 2007 and later, `ErrLGBKILoadEnvironment`'s XML-like form).
fn restore_env_text() -> String {
    format!(
        "<DATABASE_RESTORE_ENVIRONMENT>\r\n  <VERSION_STAMP>1.0</VERSION_STAMP>\r\n  \
         <EDB_LOCATION_ORIGINAL>C:\\workload</EDB_LOCATION_ORIGINAL>\r\n  \
         <EDB_FILENAME_ORIGINAL>{DB_NAME}</EDB_FILENAME_ORIGINAL>\r\n  \
         <LOG_BASE_NAME>edb</LOG_BASE_NAME>\r\n  \
         <LOG_PATH_ORIGINAL>C:\\workload</LOG_PATH_ORIGINAL>\r\n\
         </DATABASE_RESTORE_ENVIRONMENT>\r\n"
    )
}

/// The patch page of a streaming backup (PATCHHDR, docs/format and
/// `parse::patch`; `BKIMakeDbTrailer`, backup.cxx): a zero-filled page
/// with BKINFO at 40 (mark, time, genLow, genHigh), signDb at 64, signLog
/// at 92, the log range at 120 (min required, max required, max
/// committed), sealed with the header checksum.
fn patch_page(ps: usize, header: &[u8], mark: [u8; 8], gens: (u32, u32)) -> Vec<u8> {
    let mut p = vec![0u8; ps];
    p[40..48].copy_from_slice(&mark);
    p[48..56].copy_from_slice(&time_at(gens.1 as u64));
    p[56..60].copy_from_slice(&gens.0.to_le_bytes());
    p[60..64].copy_from_slice(&gens.1.to_le_bytes());
    p[64..92].copy_from_slice(&header[24..52]);
    p[92..120].copy_from_slice(&header[108..136]);
    for (at, g) in [(120, gens.0), (124, gens.1), (128, gens.1)] {
        p[at..at + 4].copy_from_slice(&g.to_le_bytes());
    }
    eseutil::checksum::seal_header(&mut p);
    p
}

/// The mid-run backup as a streaming (online, `JetBackup`) backup leaves
/// it, in `OUT/backup-streaming/`: the engine rolls the log; the database
/// copy (the pages as they are now, Dirty Shutdown) carries bkinfoFullCur
/// (header @184: mark = the start of the generation just closed, its
/// time, genLow = genHigh = that generation, as the copy needs nothing
/// older) and the required range; beside it `workload.pat` (the patch
/// page and its shadow copy, as the Windows 7 engine wrote it, backup.cxx
/// `ErrBKIPrepareLogFiles`/`BKIGetPatchName`), the generation and
/// restore.env. `/cc OUT/backup-streaming /f OUT/logs` restores it and
/// rolls it forward to the expected database.
fn streaming_backup(
    e: &mut Engine,
    out: &Path,
    start_header: &[u8],
    layout: (u32, Option<&Bulk>),
) -> std::io::Result<()> {
    e.log.roll()?;
    let gen = e.log.gen as u32 - 1;
    let dir = out.join("backup-streaming");
    std::fs::create_dir_all(&dir)?;
    let mut h = start_header.to_vec();
    let mark = {
        let mut m = [0u8; 8];
        m[2..4].copy_from_slice(&1u16.to_le_bytes());
        m[4..8].copy_from_slice(&gen.to_le_bytes());
        m
    };
    h[16..24].copy_from_slice(&e.dbtime.to_le_bytes());
    h[184..192].copy_from_slice(&mark);
    h[192..200].copy_from_slice(&time_at(gen as u64));
    h[200..204].copy_from_slice(&gen.to_le_bytes());
    h[204..208].copy_from_slice(&gen.to_le_bytes());
    h[296..300].copy_from_slice(&gen.to_le_bytes());
    h[300..304].copy_from_slice(&gen.to_le_bytes());
    eseutil::checksum::seal_header(&mut h);
    write_db(&dir.join(DB_NAME), &h, &e.pages, layout.0, layout.1)?;
    let page = patch_page(e.ps, &h, mark, (gen, gen));
    let mut pat = page.clone();
    pat.extend_from_slice(&page);
    write_atomic(&dir.join(DB_NAME.replace(".edb", ".pat")), &pat)?;
    let name = LogWriter::file_name(gen as i32);
    std::fs::copy(out.join("logs").join(&name), dir.join(&name))?;
    write_atomic(&dir.join("restore.env"), restore_env_text().as_bytes())?;
    e.summary.streaming_backup_generation = gen;
    Ok(())
}

/// The checkpoint at the start of generation `gen` with the database in
/// its attach list (ATTACHINFO, docs/format/logs.md §4: dbid, flags,
/// cbNames, dbtime, objidLast, cpgMax, lgposAttach, lgposConsistent,
/// signDb, NUL-terminated name; a 0 dbid ends the list) in both copies.
fn checkpoint_file(
    gen: i32,
    header: &[u8],
    dbtime: u64,
    objid_last: u32,
    attach: (u16, u16, i32),
) -> Vec<u8> {
    let mut f = eseutil::synth::checkpoint(gen, 1);
    let e = attach_entry(header, dbtime, objid_last, attach);
    for copy in f.chunks_mut(4096) {
        copy[679..679 + e.len()].copy_from_slice(&e);
        eseutil::checksum::seal_header(copy);
    }
    f
}

/// One ATTACHINFO (docs/format/logs.md §4: dbid, flags, cbNames, dbtime,
/// objidLast, cpgMax, lgposAttach, lgposConsistent, signDb, NUL-terminated
/// name) followed by the 0 dbid that ends the list.
fn attach_entry(header: &[u8], dbtime: u64, objid_last: u32, attach: (u16, u16, i32)) -> Vec<u8> {
    let mut e = vec![DBID, 0];
    e.extend((LOGGED_PATH.len() as u16 + 1).to_le_bytes());
    e.extend(dbtime.to_le_bytes());
    e.extend(objid_last.to_le_bytes());
    e.extend(0u32.to_le_bytes());
    e.extend(attach.0.to_le_bytes());
    e.extend(attach.1.to_le_bytes());
    e.extend(attach.2.to_le_bytes());
    e.extend([0u8; 8]);
    e.extend_from_slice(&header[24..52]);
    e.extend_from_slice(LOGGED_PATH.as_bytes());
    e.extend([0, 0]);
    e
}

fn usage() -> ! {
    eprintln!(
        "usage: make_workload OUT --db-mib N --log-mib N [--page-size 4096|8192|16384|32768] \
         [--seed N] [--without-backups]"
    );
    std::process::exit(2)
}

/// Parses the command line.
pub fn parse_args(a: &[String]) -> Option<Config> {
    let mut cfg = Config {
        out: PathBuf::from(a.first()?),
        db_mib: 4,
        log_mib: 4,
        page_size: 8192,
        seed: 1,
    };
    let mut it = a[1..].iter();
    while let Some(k) = it.next() {
        let v: u64 = it.next()?.parse().ok()?;
        match k.as_str() {
            "--db-mib" => cfg.db_mib = v,
            "--log-mib" => cfg.log_mib = v,
            "--page-size" => cfg.page_size = v as usize,
            "--seed" => cfg.seed = v,
            _ => return None,
        }
    }
    [4096, 8192, 16384, 32768]
        .contains(&cfg.page_size)
        .then_some(cfg)
}

#[allow(dead_code)]
fn main() {
    let mut a: Vec<String> = std::env::args().skip(1).collect();
    let n = a.len();
    a.retain(|x| x != "--without-backups");
    let Some(cfg) = parse_args(&a) else { usage() };
    match make_workload_with(&cfg, a.len() == n) {
        Ok(s) => println!(
            "{}: {} generations, operations {:?}",
            cfg.out.display(),
            s.generations,
            s.ops
        ),
        Err(e) => {
            eprintln!("make_workload: {e}");
            std::process::exit(1);
        }
    }
}
