//! CreateDB records whose database creation was not logged (E14 / Windows 7
//! and earlier engines): recovery re-runs the creation itself.
//!
//! Engine rule (`ErrLGRIRedoOperations`, the lrtypCreateDB case,
//! `ese/_log/logredo.cxx` ~12885–12925; constants `inc/daedef.hxx` ~2532–2564):
//! * CreateDB version 2.0 (`usDAECreateDbVersion`): the creation is logged
//!   (root space, catalog, CreateDBFinish) — nothing to build here;
//! * version 1.0 (`usDAECreateDbVersion_Implicit`), and the log is not a
//!   7.3704 log older than update 15 (Windows 7 RTM): "implicit" creation —
//!   `ErrDBCreateDatabase` with `bitCreateDbImplicitly` (db.cxx ~1629–2100):
//!   file of `cpgLegacyDatabaseDefaultSize` = 256 pages, dbtime starting at 0,
//!   logging and versioning off, `ErrDBInitDatabase` (root FDP, pgno 1) and
//!   `ErrCATCreate(fReplayCreateDbImplicitly)` (cat.cxx ~2247);
//! * anything else: −1225 `JET_errInvalidCreateDbVersion`.
//!
//! What the implicit creation builds (cat.cxx `ErrCATCreate`,
//! `ErrCATICreateCatalogIndexes`, `ErrREPAIRCATCreate`,
//! `ErrCATPopulateCatalog`, `ErrCATAddTable`, `ErrCATAddTableColumn`,
//! `ErrCATAddTableIndex`; `_cat.cxx` `rgcolumnidOldMSO`, `rgcdescMSO`,
//! `rgidescMSO`; `inc/cat.hxx` fids and pgnos):
//! * database root pgno 1 (OE 2, AE 3), 256 pages primary;
//! * MSysObjects pgno 4 (OE 5, AE 6), 20 pages (`cpgMSOInitial`);
//!   MSysObjectsShadow pgno 24 (OE 25, AE 26), 9 pages
//!   (`cpgMSOShadowInitialLegacy`); index Name pgno 7 (objid 4) and
//!   RootObjects pgno 10 (objid 5), 3 pages each from MSysObjects' space;
//! * catalog rows, inserted into MSysObjects, its two secondary indexes and
//!   MSysObjectsShadow: the two tables, their 25 "old" columns each, the
//!   Id index of both, the Name and RootObjects indexes.
//!
//! dbtimes (space.cxx `SPIDirtyAndSetMaxDbtime`, the implicit-create
//! expectations): the three new pages of an FDP take dbtime +1, +2, +3 as
//! they are made and are then dirtied (+3) and all set to the maximum; taking
//! an extent from the parent dirties the parent's AE page first; every node
//! insert dirties its page once. Nodes are unversioned (versioning off).

use std::collections::BTreeMap;

use super::page::{Line, PageImage};
use crate::error::{Error, Jet};
use crate::log::record::LogRecord;
use crate::parse::page::{FLAG_INDEX, FLAG_LEAF, FLAG_ROOT, FLAG_SPACE_TREE, SPLIT_BUFFER_SIZE};

/// What a CreateDB record asks of redo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CreateKind {
    /// Version 2.0: the creation is in the log.
    Logged,
    /// Version 1.0: the creation must be re-run (this module).
    Implicit,
    /// Anything else: refused (−1225), with the reason.
    Refused(String),
}

/// `cpgLegacyDatabaseDefaultSize` (db.cxx ~445).
pub const LEGACY_DB_PAGES: u32 = 256;

/// Database format written by the engines of the implicit era (Windows 7:
/// 0x620 update 0x11, `ulDAEUpdateMajorNewLVChunk`, daedef.hxx ~2529).
pub const IMPLICIT_DB_UPDATE_MAJOR: u32 = 0x11;

/// Decides from the CreateDB record's version (`LRCREATEDB::VersionInfo`,
/// logapi.hxx ~1606, present when flag 0x04 is set: decoded in
/// `log::typed`) and the log header (format major @32, minor @36,
/// update-major @40).
pub fn create_kind(logged: Option<(u16, u16)>, log_header: &[u8]) -> CreateKind {
    // The log header's own fields (not record bytes).
    let log_header_u32 = |o: usize| {
        log_header
            .get(o..o + 4)
            .map_or(0, |x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
    };
    let (version, update) = logged.unwrap_or((0, 0));
    let (major, minor, lg_update) = (log_header_u32(32), log_header_u32(36), log_header_u32(40));
    if version == 2 && update == 0 {
        return CreateKind::Logged;
    }
    let pre_win7 = major == 7 && minor == 3704 && lg_update < 15;
    if version != 1 || update > 0 || pre_win7 {
        return CreateKind::Refused(format!(
            "the database was created by an engine whose creation was not logged and \
             cannot be re-created: CreateDB version {version}.{update}, log format \
             {major}.{minor}.{lg_update} (only version 1.0 from 7.3704.15 and later logs, \
             or a logged creation 2.0, can be replayed)"
        ));
    }
    CreateKind::Implicit
}

/// The database as the implicit creation leaves it.
#[derive(Debug)]
pub struct ImplicitDb {
    /// Pages built, by pgno.
    pub pages: BTreeMap<u32, PageImage>,
    /// Last dbtime used (the database's dbtime after creation).
    pub dbtime: u64,
    /// Highest objid allocated.
    pub objid_last: u32,
    /// File size in pages (pgnoLast).
    pub pgno_last: u32,
}

/// Builds the implicit creation into a freshly created database: the file
/// grows to 256 pages (`ErrIONewSize(cpgPrimary)`), the pages are written,
/// and the header takes that era's database format (0x620, 0x11) and the
/// creation's dbtime / objid.
pub(crate) fn apply(
    db: &mut super::redo::DbRun,
    page_size: usize,
    r: &LogRecord,
) -> Result<(), Error> {
    use super::redo::{redo_err, redo_store_err};
    let io = |x: Error| redo_store_err(r, x);
    let built =
        build(page_size).map_err(|x| redo_err(Jet::INVALID_CREATE_DB_VERSION, r, x.to_string()))?;
    db.store.extend_to(built.pgno_last).map_err(io)?;
    for (pgno, p) in &built.pages {
        let bytes = p
            .to_bytes()
            .map_err(|x| redo_err(Jet::INVALID_CREATE_DB_VERSION, r, x.detail))?;
        db.store.write_page(*pgno, bytes).map_err(io)?;
        db.pages.insert(*pgno);
    }
    db.dbtime_max = db.dbtime_max.max(built.dbtime);
    db.objid_max = db.objid_max.max(built.objid_last);
    for o in [232, 344] {
        db.header[o..o + 4].copy_from_slice(&IMPLICIT_DB_UPDATE_MAJOR.to_le_bytes());
    }
    db.store.write_header(db.header.clone()).map_err(io)?;
    Ok(())
}

// Fixed pgnos and objids of the catalog (inc/cat.hxx ~140–170).
const PGNO_ROOT: u32 = 1;
const PGNO_MSO: u32 = 4;
const PGNO_NAME: u32 = 7;
const PGNO_ROOTOBJ: u32 = 10;
const PGNO_SHADOW: u32 = 24;
const OBJID_MSO: u32 = 2;
const OBJID_SHADOW: u32 = 3;
const CPG_MSO: u32 = 20;
const CPG_SHADOW_LEGACY: u32 = 9;
const CPG_INDEX: u32 = 3;

/// Builder state: pages and the dbtime counter (also used by the workload
/// generator to add tables after the catalog, [`build_with`]).
pub struct Builder {
    ps: usize,
    dbtime: u64,
    pages: BTreeMap<u32, PageImage>,
    /// Sorted nodes per tree root (key → data), laid out at the end.
    trees: BTreeMap<u32, BTreeMap<Vec<u8>, Vec<u8>>>,
    /// Lay a tree that does not fit its root over leaves below it
    /// ([`Builder::spill_over_leaves`]) instead of refusing.
    spill: bool,
}

impl Builder {
    fn tick(&mut self) -> u64 {
        self.dbtime += 1;
        self.dbtime
    }

    /// `ErrSPCreate` multiple-extent FDP: root `pgno` with OE `pgno+1` and
    /// AE `pgno+2` (SPACE_HEADER: cpgPrimary, pgnoParent, fMultipleExtent,
    /// pgnoOE; OE (pgnoLast, cpg), AE (pgnoLast, cpg − 3), as
    /// `ErrLGRIRedoSpaceRootPage`).
    pub fn fdp(&mut self, pgno: u32, objid: u32, cpg: u32, parent: u32, flags: u32) {
        let base = self.dbtime;
        self.dbtime += 6;
        let t = base + 6;
        let mut root = PageImage::new(self.ps, objid, flags | FLAG_ROOT | FLAG_LEAF, t);
        let mut sph = Vec::with_capacity(16);
        sph.extend_from_slice(&cpg.to_le_bytes());
        sph.extend_from_slice(&parent.to_le_bytes());
        sph.extend_from_slice(&1u32.to_le_bytes()); // fMultipleExtent, unique
        sph.extend_from_slice(&(pgno + 1).to_le_bytes());
        root.ext = sph;
        self.pages.insert(pgno, root);
        let last = pgno + cpg - 1;
        for (pg, n) in [(pgno + 1, cpg), (pgno + 2, cpg - 3)] {
            let mut p = PageImage::new(
                self.ps,
                objid,
                flags | FLAG_ROOT | FLAG_LEAF | FLAG_SPACE_TREE,
                t,
            );
            p.ext = vec![0u8; SPLIT_BUFFER_SIZE];
            if n > 0 {
                p.lines.push(extent_line(last, n));
            }
            self.pages.insert(pg, p);
        }
        self.trees.insert(pgno, BTreeMap::new());
    }

    /// Takes `cpg` pages from the start of the single available extent of
    /// the FDP whose AE root is `ae` (the node's key, pgnoLast, stays).
    pub fn allocate(&mut self, ae: u32, cpg: u32) -> u32 {
        let t = self.tick();
        let p = self.pages.get_mut(&ae).expect("AE built before use");
        let l = &mut p.lines[0];
        let last = u32::from_be_bytes([l.suffix[0], l.suffix[1], l.suffix[2], l.suffix[3]]);
        let avail = u32::from_le_bytes([l.data[0], l.data[1], l.data[2], l.data[3]]);
        let first = last + 1 - avail;
        l.data = (avail - cpg).to_le_bytes().to_vec();
        p.dbtime = t;
        first
    }

    /// Adds node `key` → `data` to the tree whose root is `root`.
    pub fn insert(&mut self, root: u32, key: Vec<u8>, data: Vec<u8>) {
        let t = self.tick();
        self.trees.entry(root).or_default().insert(key, data);
        if let Some(p) = self.pages.get_mut(&root) {
            p.dbtime = t;
        }
    }

    /// For databases that are not the engine's implicit creation (the
    /// workload generator's start database): a tree whose nodes do not fit
    /// its root is laid out as a bulk load leaves it, over leaves in key
    /// order below the root (which becomes their parent: separators =
    /// first key of the next leaf, the last one empty).
    pub fn spill_over_leaves(&mut self) {
        self.spill = true;
    }

    /// [`Builder::spill_over_leaves`] for the tree `root`: leaves filled to
    /// three quarters, taken from the tree's available extent, or from
    /// its parent's as a secondary extent of the tree (entered in its OE
    /// and AE).
    fn spill_tree(&mut self, root: u32) -> Result<(), Error> {
        let ps = self.ps;
        let mut r = self.pages.remove(&root).expect("tree root built");
        let mut leaves: Vec<PageImage> = Vec::new();
        let leaf_flags = (r.flags & !FLAG_ROOT) | FLAG_LEAF;
        for l in std::mem::take(&mut r.lines) {
            let full = leaves
                .last()
                .is_none_or(|p| p.used() + l.suffix.len() + l.data.len() + 8 > ps * 3 / 4);
            if full {
                leaves.push(PageImage::new(ps, r.objid, leaf_flags, r.dbtime));
            }
            leaves.last_mut().expect("a leaf").lines.push(l);
        }
        let n = leaves.len() as u32;
        let first = self.spill_extent(root, n)?;
        let mut parent = Vec::new();
        for (i, p) in leaves.iter_mut().enumerate() {
            let pgno = first + i as u32;
            p.prev = if i == 0 { 0 } else { pgno - 1 };
            p.next = if i as u32 + 1 == n { 0 } else { pgno + 1 };
            parent.push(Line {
                flags: 0,
                cb_prefix: 0,
                suffix: Vec::new(),
                data: pgno.to_le_bytes().to_vec(),
                slot: None,
            });
        }
        for i in 1..leaves.len() {
            parent[i - 1].suffix = leaves[i].lines[0].suffix.clone();
        }
        r.flags = (r.flags & !FLAG_LEAF) | crate::parse::page::FLAG_PARENT_OF_LEAF;
        r.lines = parent;
        self.pages.insert(root, r);
        for (i, p) in leaves.into_iter().enumerate() {
            self.pages.insert(first + i as u32, p);
        }
        Ok(())
    }

    /// `cpg` pages for the tree `root`: from its own available extent when
    /// it has them, else from its parent's (the tree's OE and AE then list
    /// the extent, all of it in use).
    fn spill_extent(&mut self, root: u32, cpg: u32) -> Result<u32, Error> {
        let avail = |b: &Builder, ae: u32| {
            b.pages[&ae].lines.first().map_or(0, |l| {
                u32::from_le_bytes([l.data[0], l.data[1], l.data[2], l.data[3]])
            })
        };
        if avail(self, root + 2) >= cpg {
            return Ok(self.allocate(root + 2, cpg));
        }
        let sph = &self.pages[&root].ext;
        let parent = u32::from_le_bytes([sph[4], sph[5], sph[6], sph[7]]);
        if parent == 0 || avail(self, parent + 2) < cpg {
            return Err(Error::Unsupported(format!(
                "tree {root} needs {cpg} more pages than its space has"
            )));
        }
        let first = self.allocate(parent + 2, cpg);
        if let Some(oe) = self.pages.get_mut(&(root + 1)) {
            oe.lines.push(extent_line(first + cpg - 1, cpg));
            oe.lines.sort_by(|a, b| a.suffix.cmp(&b.suffix));
        }
        Ok(first)
    }

    /// Lays out the inserted nodes (root pages: no prefix compression).
    fn finish(mut self) -> Result<BTreeMap<u32, PageImage>, Error> {
        for (root, nodes) in std::mem::take(&mut self.trees) {
            let p = self.pages.get_mut(&root).expect("tree root built");
            for (k, d) in nodes {
                p.lines.push(Line {
                    flags: 0,
                    cb_prefix: 0,
                    suffix: k,
                    data: d,
                    slot: None,
                });
            }
            if p.used() > self.ps && self.spill {
                self.spill_tree(root)?;
            } else if p.used() > self.ps {
                return Err(Error::Unsupported(format!(
                    "the catalog rows of tree {root} need {} bytes, more than one {}-byte page: \
                     the engine split this tree during its unlogged creation, which is not \
                     re-created",
                    p.used(),
                    self.ps
                )));
            }
        }
        Ok(self.pages)
    }
}

/// A node of a space tree: key = the extent's last page (big-endian), data
/// = its page count.
pub(crate) fn extent_line(last: u32, cpg: u32) -> Line {
    Line {
        flags: 0,
        cb_prefix: 0,
        suffix: last.to_be_bytes().to_vec(),
        data: cpg.to_le_bytes().to_vec(),
        slot: None,
    }
}

/// Re-runs the implicit creation (`ErrDBInitDatabase` + `ErrCATCreate`).
pub fn build(page_size: usize) -> Result<ImplicitDb, Error> {
    build_with(page_size, |_| ())
}

/// [`build`], then `more` (more tables and rows) before the nodes are laid
/// out on their root pages.
pub fn build_with(page_size: usize, more: impl FnOnce(&mut Builder)) -> Result<ImplicitDb, Error> {
    let mut b = Builder {
        ps: page_size,
        dbtime: 0,
        pages: BTreeMap::new(),
        trees: BTreeMap::new(),
        spill: false,
    };
    // ErrDBInitDatabase: the database root, no parent.
    b.fdp(PGNO_ROOT, 1, LEGACY_DB_PAGES, 0, 0);
    b.trees.remove(&PGNO_ROOT);
    // ErrCATCreate: the two catalog tables from the root's space, then
    // ErrCATICreateCatalogIndexes: Name and RootObjects from MSysObjects'.
    for (pgno, objid, cpg) in [
        (PGNO_MSO, OBJID_MSO, CPG_MSO),
        (PGNO_SHADOW, OBJID_SHADOW, CPG_SHADOW_LEGACY),
    ] {
        let first = b.allocate(PGNO_ROOT + 2, cpg);
        debug_assert_eq!(first, pgno);
        b.fdp(first, objid, cpg, PGNO_ROOT, 0);
    }
    for (pgno, objid) in [(PGNO_NAME, 4), (PGNO_ROOTOBJ, 5)] {
        let first = b.allocate(PGNO_MSO + 2, CPG_INDEX);
        debug_assert_eq!(first, pgno);
        b.fdp(first, objid, CPG_INDEX, PGNO_MSO, FLAG_INDEX);
    }
    for row in catalog_rows() {
        insert_row(&mut b, &row);
    }
    more(&mut b);
    let dbtime = b.dbtime;
    let pages = b.finish()?;
    Ok(ImplicitDb {
        pages,
        dbtime,
        objid_last: 5,
        pgno_last: LEGACY_DB_PAGES,
    })
}

/// `ErrCATInsert`: MSysObjects (primary), its secondary indexes in the
/// order the engine updates them (RootObjects, then Name — the order the
/// logged creation of later engines shows), then the shadow catalog.
pub fn insert_row(b: &mut Builder, row: &Row) {
    let pk = row.primary_key();
    b.insert(PGNO_MSO, pk.clone(), row.record());
    if row.root {
        // RootObjects: "+RootFlag +Name", ignore-first-null: tables only.
        let mut k = vec![0x7f, 0xff];
        k.extend(key_text(&row.name));
        b.insert(PGNO_ROOTOBJ, k, pk.clone());
    }
    let mut k = key_long(row.objid_table);
    k.extend(key_short(row.kind));
    k.extend(key_text(&row.name));
    b.insert(PGNO_NAME, k, pk.clone());
    b.insert(PGNO_SHADOW, pk, row.record());
}

/// Normalised key of a signed 32-bit column (`FLDNormalizeFixedSegment`:
/// 0x7F header, big-endian with the sign bit flipped).
pub fn key_long(v: u32) -> Vec<u8> {
    let mut k = vec![0x7f];
    k.extend((v ^ 0x8000_0000).to_be_bytes());
    k
}

fn key_short(v: u16) -> Vec<u8> {
    let mut k = vec![0x7f];
    k.extend((v ^ 0x8000).to_be_bytes());
    k
}

/// Non-Unicode text segment: header, upper-cased characters, terminator
/// (catalog names are ASCII).
fn key_text(s: &str) -> Vec<u8> {
    let mut k = vec![0x7f];
    k.extend(s.bytes().map(|c| c.to_ascii_uppercase()));
    k.push(0);
    k
}

/// One catalog row (`SYSOBJ` type 1 table, 2 column, 3 index).
pub struct Row {
    objid_table: u32,
    kind: u16,
    id: u32,
    name: String,
    root: bool,
    /// Fixed columns 1.. (ColtypOrPgnoFDP onwards); `None` = NULL.
    fixed: Vec<(usize, Option<Vec<u8>>)>,
    /// Variable columns after Name (fid 0x81 …).
    var: Vec<Option<Vec<u8>>>,
}

impl Row {
    fn primary_key(&self) -> Vec<u8> {
        let mut k = key_long(self.objid_table);
        k.extend(key_short(self.kind));
        k.extend(key_long(self.id));
        k
    }

    /// The record (`REC`, inc/rec.hxx): fidFixedLastInRec,
    /// fidVarLastInRec, ibEndOfFixedData; fixed data (NULL columns keep
    /// their room, filled with `chRECFill` '*', fldmod.cxx ~2276); the
    /// null bitmap (1 = NULL; the unused bits of its last byte are set);
    /// variable-column end offsets (0x8000 = NULL) and data.
    fn record(&self) -> Vec<u8> {
        let mut fixed: Vec<(usize, Option<Vec<u8>>)> = vec![
            (4, Some(self.objid_table.to_le_bytes().to_vec())),
            (2, Some(self.kind.to_le_bytes().to_vec())),
            (4, Some(self.id.to_le_bytes().to_vec())),
        ];
        fixed.extend(self.fixed.iter().cloned());
        let mut var = vec![Some(self.name.as_bytes().to_vec())];
        var.extend(self.var.iter().cloned());
        let mut body = Vec::new();
        for (cb, v) in &fixed {
            match v {
                Some(v) => body.extend_from_slice(v),
                None => body.extend(std::iter::repeat_n(b'*', *cb)),
            }
        }
        let mut bitmap = vec![0u8; fixed.len().div_ceil(8)];
        for i in 0..bitmap.len() * 8 {
            if i >= fixed.len() || fixed[i].1.is_none() {
                bitmap[i / 8] |= 1 << (i % 8);
            }
        }
        body.extend(bitmap);
        let mut r = vec![fixed.len() as u8, 0x7f + var.len() as u8];
        r.extend(((4 + body.len()) as u16).to_le_bytes());
        r.extend(body);
        let mut end = 0u16;
        let mut data = Vec::new();
        for v in &var {
            match v {
                Some(v) => {
                    end += v.len() as u16;
                    data.extend_from_slice(v);
                    r.extend(end.to_le_bytes());
                }
                None => r.extend((end | 0x8000).to_le_bytes()),
            }
        }
        r.extend(data);
        r
    }
}

// JET_coltyp values (jethdr.w).
const BIT: u32 = 1;
const SHORT: u32 = 3;
const LONG: u32 = 4;
const BINARY: u32 = 9;
const TEXT: u32 = 10;
const LONG_BINARY: u32 = 11;
const USHORT: u32 = 17;

/// `rgcdescMSO` restricted to `rgcolumnidOldMSO` (the 25 columns of the
/// implicit era), in declaration order: name, fid, coltyp, NOT NULL.
const OLD_MSO_COLUMNS: [(&str, u16, u32, bool); 25] = [
    ("ObjidTable", 1, LONG, true),
    ("Type", 2, SHORT, true),
    ("Id", 3, LONG, true),
    ("Name", 0x80, TEXT, true),
    ("ColtypOrPgnoFDP", 4, LONG, true),
    ("SpaceUsage", 5, LONG, true),
    ("Flags", 6, LONG, true),
    ("PagesOrLocale", 7, LONG, true),
    ("Stats", 0x81, BINARY, false),
    ("RootFlag", 8, BIT, false),
    ("TemplateTable", 0x82, TEXT, false),
    ("RecordOffset", 9, SHORT, false),
    ("DefaultValue", 0x83, BINARY, false),
    ("KeyFldIDs", 0x84, BINARY, false),
    ("VarSegMac", 0x85, BINARY, false),
    ("ConditionalColumns", 0x86, BINARY, false),
    ("LCMapFlags", 10, LONG, false),
    ("KeyMost", 11, USHORT, false),
    ("TupleLimits", 0x87, BINARY, false),
    ("Version", 0x88, BINARY, false),
    ("CallbackData", 0x100, LONG_BINARY, false),
    ("CallbackDependencies", 0x101, LONG_BINARY, false),
    ("SeparateLV", 0x102, LONG_BINARY, false),
    ("SpaceHints", 0x103, LONG_BINARY, false),
    ("SpaceDeferredLVHints", 0x104, LONG_BINARY, false),
];

/// `UlCATColumnSize` without a requested length: the fixed size of fixed
/// types, 255 for Text/Binary, 0 for long values.
fn column_size(coltyp: u32) -> u32 {
    match coltyp {
        BIT => 1,
        SHORT | USHORT => 2,
        LONG => 4,
        BINARY | TEXT => 255,
        _ => 0,
    }
}

fn le32(v: u32) -> Option<Vec<u8>> {
    Some(v.to_le_bytes().to_vec())
}

/// `ulFILEDefaultDensity` (80 %).
const DENSITY: u32 = 80;
/// `usEnglishCodePage`.
const CP_1252: u32 = 1252;

/// `ErrCATAddTable` row: pgnoFDP, density, JET_bitObjectSystem |
/// JET_bitObjectTableFixedDDL, initial pages, RootFlag set.
pub fn table_row(objid: u32, pgno: u32, name: &str, cpg: u32) -> Row {
    Row {
        objid_table: objid,
        kind: 1,
        id: objid,
        name: name.into(),
        root: true,
        fixed: vec![
            (4, le32(pgno)),
            (4, le32(DENSITY)),
            (4, le32(0xC000_0000)),
            (4, le32(cpg)),
            (1, Some(vec![0xff])),
        ],
        var: vec![],
    }
}

/// `ErrCATAddTableColumn` row: coltyp, max length, field flags (NOT NULL
/// = 1), code page; RecordOffset (`ibRECStartFixedColumns` = 4, fixed up at
/// catalog open) only for fixed columns.
pub fn column_row(objid: u32, c: &(&str, u16, u32, bool)) -> Row {
    let (name, fid, coltyp, not_null) = *c;
    let mut fixed = vec![
        (4, le32(coltyp)),
        (4, le32(column_size(coltyp))),
        (4, le32(not_null as u32)),
        (4, le32(CP_1252)),
    ];
    if fid < 0x80 {
        fixed.push((1, None));
        fixed.push((2, Some(4u16.to_le_bytes().to_vec())));
    }
    Row {
        objid_table: objid,
        kind: 2,
        id: fid as u32,
        name: name.into(),
        root: false,
        fixed,
        var: vec![],
    }
}

/// `ErrCATIAddTableLV` row (cat.cxx ~2933): type 4, the LV tree's objid,
/// name "LV" (`szLVRoot`), pgnoFDP, density `ulFILEDensityMost` (100),
/// no flags, `cpgLVTree` (1) initial page.
pub fn long_value_row(objid_table: u32, objid_lv: u32, pgno: u32) -> Row {
    Row {
        objid_table,
        kind: 4,
        id: objid_lv,
        name: "LV".into(),
        root: false,
        fixed: vec![(4, le32(pgno)), (4, le32(100)), (4, le32(0)), (4, le32(1))],
        var: vec![],
    }
}

/// `ErrCATAddTableIndex` row: pgnoFDP, density, IDB flags, LCID 0x409,
/// LCMapFlags (`dwLCMapFlagsDefault`), key segments (flags, fid).
pub fn index_row(objid: u32, id: u32, name: &str, pgno: u32, flags: u32, fids: &[u16]) -> Row {
    let mut keys = Vec::new();
    for f in fids {
        keys.extend(0u16.to_le_bytes());
        keys.extend(f.to_le_bytes());
    }
    Row {
        objid_table: objid,
        kind: 3,
        id,
        name: name.into(),
        root: false,
        fixed: vec![
            (4, le32(pgno)),
            (4, le32(DENSITY)),
            (4, le32(flags)),
            (4, le32(0x409)),
            (1, None),
            (2, None),
            (4, le32(0x0003_0401)),
        ],
        var: vec![None, None, None, Some(keys)],
    }
}

/// The rows in the order `ErrREPAIRCATCreate` inserts them.
fn catalog_rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for (objid, pgno, name, cpg) in [
        (OBJID_MSO, PGNO_MSO, "MSysObjects", CPG_MSO),
        (
            OBJID_SHADOW,
            PGNO_SHADOW,
            "MSysObjectsShadow",
            CPG_SHADOW_LEGACY,
        ),
    ] {
        rows.push(table_row(objid, pgno, name, cpg));
        rows.extend(OLD_MSO_COLUMNS.iter().map(|c| column_row(objid, c)));
    }
    // IDB flags as stored (fidbPrimary|Unique|NoNullSeg|... for Id; the
    // flags column of each index row).
    rows.push(index_row(
        OBJID_MSO,
        OBJID_MSO,
        "Id",
        PGNO_MSO,
        0x0001_0031,
        &[1, 2, 3],
    ));
    rows.push(index_row(
        OBJID_SHADOW,
        OBJID_SHADOW,
        "Id",
        PGNO_SHADOW,
        0x0001_0031,
        &[1, 2, 3],
    ));
    rows.push(index_row(
        OBJID_MSO,
        4,
        "Name",
        PGNO_NAME,
        0x0001_0011,
        &[1, 2, 0x80],
    ));
    rows.push(index_row(
        OBJID_MSO,
        5,
        "RootObjects",
        PGNO_ROOTOBJ,
        0x0001_0009,
        &[8, 0x80],
    ));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dbtimes_follow_the_implicit_create_sequence() {
        let db = build(8192).unwrap();
        let t = |pg: u32| db.pages[&pg].dbtime;
        // Root FDP made at dbtime 6; MSysObjects' pages at 0xd; the root's
        // AE last dirtied for the shadow catalog (0xe); index FDPs at
        // 0x1b and 0x22; the last inserts at 0xca (MSysObjects), 0xcb
        // (Name), 0xcc (shadow); RootObjects last at the shadow table row.
        assert_eq!((t(1), t(2), t(3), t(5), t(25)), (6, 6, 0xe, 0xd, 0x14));
        assert_eq!((t(8), t(9), t(11), t(12)), (0x1b, 0x1b, 0x22, 0x22));
        assert_eq!((t(4), t(7), t(10), t(24)), (0xca, 0xcb, 0x73, 0xcc));
        assert_eq!(db.dbtime, 0xcc);
        assert_eq!(db.pages[&4].lines.len(), 56);
        assert_eq!(db.pages[&24].lines.len(), 56);
        assert_eq!(db.pages[&7].lines.len(), 56);
        assert_eq!(db.pages[&10].lines.len(), 2);
    }

    #[test]
    fn records_have_the_catalog_layout() {
        let t = table_row(2, 4, "MSysObjects", 20).record();
        let want = "08802000020000000100020000000400000050000000000000c014000000ff000b004d5379734f626a65637473";
        assert_eq!(hex(&t), want);
        let c = column_row(2, &OLD_MSO_COLUMNS[0]).record();
        assert_eq!(
            hex(&c),
            "0980230002000000020001000000040000000400000001000000e40400002a040080fe0a004f626a69645461626c65"
        );
        let i = index_row(2, 2, "Id", 4, 0x0001_0031, &[1, 2, 3]).record();
        assert_eq!(
            hex(&i),
            "0a84270002000000030002000000040000005000000031000100090400002a2a2a0104030080fd02000280028002800e004964000001000000020000000300"
        );
    }

    #[test]
    fn version_rule() {
        let mut hdr = vec![0u8; 64];
        hdr[32..36].copy_from_slice(&7u32.to_le_bytes());
        hdr[36..40].copy_from_slice(&3704u32.to_le_bytes());
        hdr[40..44].copy_from_slice(&15u32.to_le_bytes());
        assert_eq!(create_kind(Some((1, 0)), &hdr), CreateKind::Implicit);
        assert_eq!(create_kind(Some((2, 0)), &hdr), CreateKind::Logged);
        hdr[40] = 14;
        assert!(matches!(
            create_kind(Some((1, 0)), &hdr),
            CreateKind::Refused(_)
        ));
        hdr[40] = 15;
        assert!(matches!(create_kind(None, &hdr), CreateKind::Refused(_)));
    }

    #[test]
    fn page_sizes_where_the_catalog_fits_one_page() {
        for ps in [4096usize, 8192, 16384, 32768] {
            let db = build(ps).unwrap();
            assert!(db.pages.values().all(|p| p.to_bytes().is_ok()));
        }
        let e = build(2048).unwrap_err().to_string();
        assert!(e.contains("more than one 2048-byte page"), "{e}");
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
