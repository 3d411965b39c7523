//! Structural integrity check (`/g`): every tree of the catalog walked with
//! the checks of [`super::btree`], space trees read, and page ownership
//! accounted for.
//!
//! Rules (ESE source `ese/dbutil.cxx` / `ese/repair.cxx` checks, restated):
//! every page is reached from at most one tree (data, index, long-value or
//! space tree); no page both used by a tree and listed as available; pages
//! of a tree lie inside the extents it owns; catalog entries point at real
//! root pages carrying the entry's objid; catalog and shadow catalog agree;
//! plus the per-page checks of the walk. Checksum failures met on the way
//! are reported as -1018. On a dirty database a page dbtime above the
//! header's is what the unflushed header explains: it is reported as
//! warnings, not as a violation.

use serde::Serialize;

use super::btree::{walk, Problem, TreeWalk, WalkOptions};
use super::catalog::{read_catalog, Catalog, CATALOG_ROOT, DB_ROOT, SHADOW_ROOT};
use super::classify::{PageClass, PageKind};
use super::page::Page;
use super::space::{space_of, SpaceInfo};
use super::Database;
use crate::error::Jet;
use crate::parse::db_header::STATE_DIRTY_SHUTDOWN;

/// One tree checked.
#[derive(Debug, Clone, Serialize)]
pub struct TreeSummary {
    /// Name (table or index name, `<Long Values>`, `<database>` …).
    pub name: String,
    /// Table it belongs to (empty for the database).
    pub table: String,
    /// Kind: database, table, index, long_value.
    pub kind: &'static str,
    /// Object id.
    pub objid: u32,
    /// Root page.
    pub pgno_fdp: u32,
    /// Levels.
    pub depth: u32,
    /// Pages reached in the tree itself.
    pub pages: usize,
    /// Pages of its space trees (OE + AE).
    pub space_tree_pages: usize,
    /// Live leaf nodes (records, index entries, LV chunks).
    pub records: u64,
    /// Flag-deleted leaf nodes.
    pub deleted: u64,
    /// Owned pages (space header / OE tree).
    pub owned_pages: u64,
    /// Available pages (bitmap / AE tree).
    pub available_pages: u64,
    /// Whether the tree uses space trees.
    pub multiple_extent: bool,
}

/// The `/g` result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    /// Pages in the file.
    pub page_count: u32,
    /// Page size.
    pub page_size: usize,
    /// Whether the header says Dirty Shutdown.
    pub dirty: bool,
    /// Whether the header says the file is a backup copy (bkinfoFullCur or
    /// bkinfoSnapshotCur set): it needs hard recovery, not soft.
    pub backup_copy: bool,
    /// Header dbtime used as the bound for page dbtimes.
    pub header_dbtime: u64,
    /// Trees checked.
    pub trees: Vec<TreeSummary>,
    /// Pages used by some tree (space trees included).
    pub pages_in_trees: u64,
    /// Pages listed as available by some space tree.
    pub pages_available: u64,
    /// Pages neither in a tree nor available that hold data (leaked).
    pub pages_unaccounted: Vec<u32>,
    /// The backup trailer (patch) page, when the file is a streaming-backup
    /// copy whose last page verifies as one: not a data page, not damage.
    pub trailer_page: Option<u32>,
    /// Verified pages released by a database shrink (free space, not leaked).
    pub pages_shrunk: u64,
    /// Violations (each one counts).
    pub violations: Vec<Problem>,
    /// Findings eseutil reports without failing: a page dbtime above the
    /// header's (`repair.cxx` only flags it; on a dirty database the
    /// unflushed header explains it) and leaked pages.
    pub warnings: Vec<Problem>,
}

/// What the pages outside every tree are, by their classification.
#[derive(Default)]
struct Outside {
    violations: Vec<Problem>,
    unaccounted: Vec<u32>,
    trailer: Option<u32>,
    shrunk: u64,
}

impl Outside {
    fn page(&mut self, pg: u32, class: &PageClass, available: bool) {
        let bad = |jet, detail| Problem {
            pgno: pg,
            tree: 0,
            jet,
            detail,
        };
        match class.kind {
            PageKind::Blank => {}
            PageKind::Shrunk => self.shrunk += 1,
            PageKind::Trailer if class.checksum_ok() => self.trailer = Some(pg),
            // ErrDBReadAndCheckDBTrailer: a trailer that fails its checksum.
            PageKind::Trailer => self.violations.push(bad(
                Jet::BAD_PATCH_PAGE,
                format!(
                    "backup trailer (patch) page fails its header checksum ({})",
                    super::btree::verdict_text(&class.checksum)
                ),
            )),
            PageKind::Data if !available => self.unaccounted.push(pg),
            PageKind::Data => {}
            PageKind::Foreign
            | PageKind::BadChecksum
            | PageKind::Header
            | PageKind::ShadowHeader => self.violations.push(bad(
                Jet::READ_VERIFY_FAILURE,
                format!(
                    "page outside every tree fails its checksum ({}){}",
                    super::btree::verdict_text(&class.checksum),
                    if class.kind == PageKind::Foreign {
                        "; content does not look like an ESE page"
                    } else {
                        ""
                    }
                ),
            )),
        }
    }
}

struct Acc<'a> {
    db: &'a Database,
    owner: Vec<u32>,
    avail: Vec<bool>,
    violations: Vec<Problem>,
    warnings: Vec<Problem>,
    opts: WalkOptions,
    trees: Vec<TreeSummary>,
}

impl<'a> Acc<'a> {
    /// Nothing walked yet in `db`; trees are walked up to the header's dbtime.
    fn new(db: &'a Database) -> Self {
        let n = db.page_count as usize + 1;
        Acc {
            db,
            owner: vec![0; n],
            avail: vec![false; n],
            violations: Vec::new(),
            warnings: Vec::new(),
            opts: WalkOptions {
                max_dbtime: db.header().dbtime_dirtied,
                objid: None,
            },
            trees: Vec::new(),
        }
    }

    /// Walks the trees every database has: its own (objid 1) and the
    /// catalog's two (objids 2, 3), each when `want` its objid.
    fn fixed_trees(&mut self, want: impl Fn(u32) -> bool) {
        if want(super::catalog::DB_OBJID) {
            self.tree(
                "<database>",
                "",
                "database",
                super::catalog::DB_OBJID,
                DB_ROOT,
            );
        }
        if want(2) {
            self.tree("MSysObjects", "MSysObjects", "table", 2, CATALOG_ROOT);
        }
        if want(3) {
            self.tree(
                "MSysObjectsShadow",
                "MSysObjectsShadow",
                "table",
                3,
                SHADOW_ROOT,
            );
        }
    }

    /// The catalog copy rooted at `root` (objid `objid`).
    fn catalog(&self, root: u32, objid: u32) -> Catalog {
        read_catalog(
            self.db,
            root,
            WalkOptions {
                objid: Some(objid),
                ..self.opts
            },
        )
    }

    fn problems(&mut self, ps: Vec<Problem>) {
        for p in ps {
            if p.jet == Jet::DB_TIME_TOO_NEW {
                self.warnings.push(p);
            } else {
                self.violations.push(p);
            }
        }
    }

    fn claim(&mut self, w: &TreeWalk, root: u32) {
        for &pg in &w.pages {
            let i = pg as usize;
            if i >= self.owner.len() {
                continue;
            }
            if self.owner[i] != 0 && self.owner[i] != root {
                self.violations.push(Problem {
                    pgno: pg,
                    tree: root,
                    jet: Jet::DATABASE_CORRUPTED,
                    detail: format!(
                        "page is reached from tree {} and from tree {root}",
                        self.owner[i]
                    ),
                });
            } else {
                self.owner[i] = root;
            }
        }
    }

    /// Walks a tree and its space; returns its summary.
    fn tree(&mut self, name: &str, table: &str, kind: &'static str, objid: u32, root: u32) {
        let w = walk(
            self.db,
            root,
            WalkOptions {
                objid: Some(objid),
                ..self.opts
            },
            &mut |_, _| {},
        );
        self.claim(&w, root);
        let mut s = TreeSummary {
            name: name.to_string(),
            table: table.to_string(),
            kind,
            objid,
            pgno_fdp: root,
            depth: w.depth,
            pages: w.pages.len(),
            space_tree_pages: 0,
            records: w.records,
            deleted: w.deleted,
            owned_pages: 0,
            available_pages: 0,
            multiple_extent: false,
        };
        let walked = w.pages.clone();
        self.problems(w.problems);
        if let Some(sp) = self.space(root) {
            s.owned_pages = sp.owned_pages();
            s.available_pages = sp.avail_pages();
            s.multiple_extent = sp.header.multiple_extent();
            let mut mine = walked;
            for t in [&sp.oe, &sp.ae].into_iter().flatten() {
                s.space_tree_pages += t.pages.len();
                mine.extend_from_slice(&t.pages);
            }
            for pg in mine {
                if !sp.owned.iter().any(|e| e.first <= pg && pg <= e.last) {
                    self.violations.push(Problem {
                        pgno: pg,
                        tree: root,
                        jet: Jet::DATABASE_CORRUPTED,
                        detail: format!("page is used by tree {root} ({name}) but lies outside the extents it owns"),
                    });
                }
            }
        }
        self.trees.push(s);
    }

    fn space(&mut self, root: u32) -> Option<SpaceInfo> {
        let bytes = self.db.read_page(root).ok()?;
        let class = self.db.classify(root, &bytes);
        if class.kind != PageKind::Data || !class.checksum_ok() {
            return None;
        }
        let page = Page::new(root, bytes).ok()?;
        if !page.hdr.is_root() {
            return None;
        }
        match space_of(self.db, &page, self.opts) {
            Ok(sp) => {
                for t in [&sp.oe, &sp.ae].into_iter().flatten() {
                    self.claim(t, root);
                    self.problems(t.problems.clone());
                }
                self.problems(sp.problems.clone());
                for e in &sp.avail {
                    for pg in e.first..=e.last.min(self.db.page_count) {
                        let i = pg as usize;
                        if self.avail[i] {
                            self.violations.push(Problem {
                                pgno: pg,
                                tree: root,
                                jet: Jet::DATABASE_CORRUPTED,
                                detail: "page is listed as available twice".into(),
                            });
                        }
                        self.avail[i] = true;
                    }
                }
                Some(sp)
            }
            Err(p) => {
                self.violations.push(p);
                None
            }
        }
    }
}

/// Compares the catalog with its shadow.
fn compare_shadow(cat: &Catalog, shadow: &Catalog, out: &mut Vec<Problem>) {
    let key = |c: &Catalog| {
        c.entries
            .iter()
            .map(|e| {
                (
                    e.objid_table,
                    format!("{:?}", e.kind),
                    e.id,
                    e.name.clone(),
                    e.coltyp_or_pgno_fdp,
                )
            })
            .collect::<Vec<_>>()
    };
    let (a, b) = (key(cat), key(shadow));
    if a != b {
        let first = a
            .iter()
            .zip(b.iter())
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        out.push(Problem {
            pgno: SHADOW_ROOT,
            tree: SHADOW_ROOT,
            jet: Jet::DATABASE_CORRUPTED,
            detail: format!(
                "MSysObjectsShadow differs from MSysObjects ({} vs {} records; first difference at record {first})",
                a.len(),
                b.len()
            ),
        });
    }
}

/// Runs the structural check.
pub fn check(db: &Database) -> (CheckReport, Catalog) {
    let h = db.header();
    let dirty = h.db_state == STATE_DIRTY_SHUTDOWN;
    let mut acc = Acc::new(db);
    let cat = walk_catalogs(&mut acc);
    walk_table_trees(&mut acc, &cat, db.page_count);
    let pages = account_pages(&mut acc, db);
    let report = CheckReport {
        page_count: db.page_count,
        page_size: db.page_size,
        dirty,
        backup_copy: h.bkinfo_full_cur.gen_low != 0 || h.bkinfo_snapshot_cur.gen_low != 0,
        header_dbtime: h.dbtime_dirtied,
        trees: acc.trees,
        pages_in_trees: pages.in_trees,
        pages_available: pages.available,
        pages_unaccounted: pages.outside.unaccounted,
        trailer_page: pages.outside.trailer,
        pages_shrunk: pages.outside.shrunk,
        violations: acc.violations,
        warnings: acc.warnings,
    };
    (report, cat)
}

/// Walks the fixed trees, the catalog and its shadow (whatever the catalog
/// says about itself) and compares the two catalogs.
fn walk_catalogs(acc: &mut Acc<'_>) -> Catalog {
    acc.fixed_trees(|_| true);
    let cat = acc.catalog(CATALOG_ROOT, 2);
    for (pg, d) in &cat.undecodable {
        acc.violations.push(Problem {
            pgno: *pg,
            tree: CATALOG_ROOT,
            jet: Jet::DATABASE_CORRUPTED,
            detail: format!("undecodable catalog record: {d}"),
        });
    }
    let shadow = acc.catalog(SHADOW_ROOT, 3);
    if shadow.walk.problems.is_empty() && cat.walk.problems.is_empty() && !shadow.entries.is_empty()
    {
        compare_shadow(&cat, &shadow, &mut acc.violations);
    }
    cat
}

/// Walks every table's tree, long-value tree and secondary indexes.
fn walk_table_trees(acc: &mut Acc<'_>, cat: &Catalog, page_count: u32) {
    for t in cat.tables() {
        if t.pgno_fdp == 0 || t.pgno_fdp > page_count {
            acc.violations.push(Problem {
                pgno: 0,
                tree: CATALOG_ROOT,
                jet: Jet::DATABASE_CORRUPTED,
                detail: format!(
                    "table {} points at page {}, outside the file",
                    t.name, t.pgno_fdp
                ),
            });
            continue;
        }
        if t.pgno_fdp != CATALOG_ROOT && t.pgno_fdp != SHADOW_ROOT {
            acc.tree(&t.name, &t.name, "table", t.objid, t.pgno_fdp);
        }
        if let Some((objid, pg)) = t.long_values {
            acc.tree("<Long Values>", &t.name, "long_value", objid, pg);
        }
        for ix in &t.indexes {
            if ix.pgno_fdp == t.pgno_fdp {
                continue; // the primary index is the table's own tree
            }
            acc.tree(&ix.name, &t.name, "index", ix.objid, ix.pgno_fdp);
        }
    }
}

/// The page accounting after the walks.
struct PageAccounting {
    in_trees: u64,
    available: u64,
    outside: Outside,
}

/// Accounts for every page: in a tree, available, both (a violation), or
/// neither (classified and checksummed as /k does; leaked when written).
fn account_pages(acc: &mut Acc<'_>, db: &Database) -> PageAccounting {
    let mut outside = Outside::default();
    let mut in_trees = 0u64;
    let mut available = 0u64;
    for pg in 1..=db.page_count {
        let i = pg as usize;
        let used = acc.owner[i] != 0;
        if used {
            in_trees += 1;
        }
        if acc.avail[i] {
            available += 1;
        }
        if used && acc.avail[i] {
            acc.violations.push(Problem {
                pgno: pg,
                tree: acc.owner[i],
                jet: Jet::DATABASE_CORRUPTED,
                detail: format!(
                    "page is used by tree {} but listed as available",
                    acc.owner[i]
                ),
            });
        }
        if !used {
            // Pages outside every tree are still classified and checksummed,
            // as /k does.
            if let Ok(b) = db.read_page(pg) {
                outside.page(pg, &db.classify(pg, &b), acc.avail[i]);
            }
        }
    }
    acc.violations.append(&mut outside.violations);
    let unaccounted = &outside.unaccounted;
    if !unaccounted.is_empty() {
        acc.warnings.push(Problem {
            pgno: unaccounted[0],
            tree: 0,
            jet: Jet::DATABASE_CORRUPTED,
            detail: format!(
                "{} written page(s) belong to no tree and are not available (leaked space): {:?}",
                unaccounted.len(),
                unaccounted
            ),
        });
    }
    PageAccounting {
        in_trees,
        available,
        outside,
    }
}

/// The structural check restricted to the trees whose objid is in
/// `objids` (recovery verification of databases above its whole-database
/// limit, [`crate::recovery::verify`]): the catalog is read to find them;
/// each is walked with its space trees as [`check`] does; pages outside
/// those trees are not accounted for.
pub fn check_trees(db: &Database, objids: &std::collections::BTreeSet<u32>) -> CheckReport {
    let h = db.header();
    let mut acc = Acc::new(db);
    let want = |o: u32| objids.contains(&o);
    acc.fixed_trees(want);
    let cat = acc.catalog(CATALOG_ROOT, 2);
    for t in cat.tables() {
        let inside = t.pgno_fdp != 0 && t.pgno_fdp <= db.page_count;
        let catalog = t.pgno_fdp == CATALOG_ROOT || t.pgno_fdp == SHADOW_ROOT;
        if inside && !catalog && want(t.objid) {
            acc.tree(&t.name, &t.name, "table", t.objid, t.pgno_fdp);
        }
        if let Some((objid, pg)) = t.long_values.filter(|(o, _)| want(*o)) {
            acc.tree("<Long Values>", &t.name, "long_value", objid, pg);
        }
        for ix in t
            .indexes
            .iter()
            .filter(|ix| ix.pgno_fdp != t.pgno_fdp && want(ix.objid))
        {
            acc.tree(&ix.name, &t.name, "index", ix.objid, ix.pgno_fdp);
        }
    }
    let in_trees = acc.owner.iter().filter(|&&o| o != 0).count() as u64;
    CheckReport {
        page_count: db.page_count,
        page_size: db.page_size,
        dirty: h.db_state == STATE_DIRTY_SHUTDOWN,
        header_dbtime: h.dbtime_dirtied,
        trees: acc.trees,
        pages_in_trees: in_trees,
        pages_available: acc.avail.iter().filter(|&&a| a).count() as u64,
        pages_unaccounted: Vec::new(),
        backup_copy: h.bkinfo_full_cur.gen_low != 0 || h.bkinfo_snapshot_cur.gen_low != 0,
        trailer_page: None,
        pages_shrunk: 0,
        violations: acc.violations,
        warnings: acc.warnings,
    }
}
