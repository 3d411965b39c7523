//! Space category of pages (eseutil `/mc`): what each page is used for.
//!
//! The categories are the engine's `SpaceCategoryFlags` (published
//! `jethdr.w`; computed by `ErrSPGetSpaceCategory` in `ese/space.cxx`):
//! leaf / internal / root of a tree, page of an OE or AE space tree, of a
//! single-extent ("small space") tree, available at the object or root
//! level, leaked (owned but neither used nor available), not owned by the
//! database root (before or past its last owned page), inconsistent
//! (claimed twice) and unknown.
//!
//! Where the engine seeks each page in the space trees, this module walks
//! every tree once (database root, every table, index and long-value tree
//! the catalog names), records which pages each one owns, frees and uses,
//! then reads the answer per page. Ownership nests (the database root owns
//! what a table owns, a table what its indexes own): a page belongs to the
//! most specific owner.

use std::collections::HashMap;

use serde::Serialize;

use crate::db::btree::{walk, Problem, WalkOptions};
use crate::db::catalog::{read_catalog, CATALOG_ROOT, DB_OBJID, DB_ROOT};
use crate::db::page::Page;
use crate::db::space::space_of;
use crate::db::Database;

/// Page is a leaf, not a root (`spcatfStrictlyLeaf`).
pub const LEAF: u32 = 0x1;
/// Page is internal, not a root (`spcatfStrictlyInternal`).
pub const INTERNAL: u32 = 0x2;
/// Page is a root (`spcatfRoot`).
pub const ROOT: u32 = 0x4;
/// Page of a split buffer (`spcatfSplitBuffer`).
pub const SPLIT_BUFFER: u32 = 0x8;
/// Page of a single-extent tree (`spcatfSmallSpace`).
pub const SMALL_SPACE: u32 = 0x10;
/// Page of an OE tree (`spcatfSpaceOE`).
pub const SPACE_OE: u32 = 0x20;
/// Page of an AE tree (`spcatfSpaceAE`).
pub const SPACE_AE: u32 = 0x40;
/// Page free at the object or root level (`spcatfAvailable`).
pub const AVAILABLE: u32 = 0x80;
/// Undecided without a full search (`spcatfIndeterminate`).
pub const INDETERMINATE: u32 = 0x0400_0000;
/// Claimed by two trees, or used and free at once (`spcatfInconsistent`).
pub const INCONSISTENT: u32 = 0x0800_0000;
/// Owned but neither used nor available (`spcatfLeaked`).
pub const LEAKED: u32 = 0x1000_0000;
/// Not owned by the database root, before its last owned page (`spcatfNotOwned`).
pub const NOT_OWNED: u32 = 0x2000_0000;
/// Not owned by the database root, past its last owned page (`spcatfNotOwnedEof`).
pub const NOT_OWNED_EOF: u32 = 0x4000_0000;
/// Unknown (`spcatfUnknown`).
pub const UNKNOWN: u32 = 0x8000_0000;

/// Flag names, in eseutil's CSV column order (`EseutilDumpSpaceCat`).
pub const COLUMNS: &[(u32, &str)] = &[
    (UNKNOWN, "Unkn"),
    (NOT_OWNED_EOF, "NotOwnedEof"),
    (NOT_OWNED, "NotOwned"),
    (LEAKED, "Leaked"),
    (INCONSISTENT, "Inc"),
    (INDETERMINATE, "Ind"),
    (AVAILABLE, "Avail"),
    (SPACE_AE, "SpaceAE"),
    (SPACE_OE, "SpaceOE"),
    (SMALL_SPACE, "SmallSpace"),
    (SPLIT_BUFFER, "SpBuffer"),
    (ROOT, "Root"),
    (INTERNAL, "Internal"),
    (LEAF, "Leaf"),
];

/// Long names of the flags, for JSON.
fn flag_names(f: u32) -> Vec<&'static str> {
    const LONG: &[(u32, &str)] = &[
        (LEAF, "leaf"),
        (INTERNAL, "internal"),
        (ROOT, "root"),
        (SPLIT_BUFFER, "split-buffer"),
        (SMALL_SPACE, "small-space"),
        (SPACE_OE, "space-oe"),
        (SPACE_AE, "space-ae"),
        (AVAILABLE, "available"),
        (INDETERMINATE, "indeterminate"),
        (INCONSISTENT, "inconsistent"),
        (LEAKED, "leaked"),
        (NOT_OWNED, "not-owned"),
        (NOT_OWNED_EOF, "not-owned-eof"),
        (UNKNOWN, "unknown"),
    ];
    LONG.iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// A tree the catalog names.
#[derive(Debug, Clone, Serialize)]
pub struct SpaceObject {
    /// Object id.
    pub objid: u32,
    /// Root page (pgnoFDP).
    pub root: u32,
    /// Object name (`<database>`, a table, an index, `<Long Values>`).
    pub name: String,
    /// Owning table ("" for the database root).
    pub table: String,
    /// `database`, `table`, `index`, `long_value`.
    pub kind: &'static str,
}

/// The category of one page.
#[derive(Debug, Clone, Serialize)]
pub struct PageCategory {
    /// Page number.
    pub pgno: u32,
    /// Object the page belongs to (0 when none).
    pub objid: u32,
    /// Category flags (`SpaceCategoryFlags` values).
    pub flags: u32,
    /// Their names.
    pub categories: Vec<&'static str>,
}

/// Per-object facts gathered once.
#[derive(Default)]
struct Facts {
    /// pgno → (objid, depth of nesting): most specific owner wins.
    owner: HashMap<u32, (u32, u8)>,
    /// pgno → (objid, flags) of the tree or space tree using the page.
    used: HashMap<u32, (u32, u32)>,
    /// pgno → objid whose available extents hold the page.
    avail: HashMap<u32, (u32, u8)>,
    /// objids of single-extent trees.
    small: Vec<u32>,
    /// Last page the database root owns.
    last_owned: u32,
    /// The pages asked about: facts outside are not recorded.
    range: (u32, u32),
}

fn mark_used(f: &mut Facts, pgno: u32, objid: u32, flag: u32) {
    if pgno < f.range.0 || pgno > f.range.1 {
        return;
    }
    match f.used.get_mut(&pgno) {
        Some((o, fl)) if *o != objid || *fl != flag => *fl |= INCONSISTENT,
        Some(_) => {}
        None => {
            f.used.insert(pgno, (objid, flag));
        }
    }
}

fn mark_tree(f: &mut Facts, pages: &[u32], leaf_pages: u32, objid: u32, extra: u32) {
    let first_leaf = pages.len().saturating_sub(leaf_pages as usize);
    for (i, &p) in pages.iter().enumerate() {
        let role = if i == 0 {
            ROOT
        } else if i >= first_leaf {
            LEAF
        } else {
            INTERNAL
        };
        mark_used(f, p, objid, role | extra);
    }
}

/// Walks one object's tree and its space; `nest` is 0 for the database
/// root, 1 for tables, 2 for their indexes and long values.
fn gather_object(
    db: &Database,
    o: &SpaceObject,
    nest: u8,
    f: &mut Facts,
    problems: &mut Vec<Problem>,
) {
    let opts = WalkOptions {
        objid: Some(o.objid),
        max_dbtime: 0,
    };
    let w = walk(db, o.root, opts, &mut |_, _| {});
    mark_tree(f, &w.pages, w.leaf_pages, o.objid, 0);
    problems.extend(w.problems);
    let Some(root) = db
        .read_page(o.root)
        .ok()
        .and_then(|b| Page::new(o.root, b).ok())
    else {
        return;
    };
    let sp = match space_of(db, &root, opts) {
        Ok(sp) => sp,
        Err(p) => {
            problems.push(p);
            return;
        }
    };
    if !sp.header.multiple_extent() && o.objid != DB_OBJID {
        f.small.push(o.objid);
    }
    let (lo, hi) = f.range;
    for e in &sp.owned {
        for p in e.first.max(lo)..=e.last.min(hi) {
            let cur = f.owner.entry(p).or_insert((o.objid, nest));
            if cur.1 < nest {
                *cur = (o.objid, nest);
            }
        }
        if o.objid == DB_OBJID {
            f.last_owned = f.last_owned.max(e.last);
        }
    }
    for e in &sp.avail {
        for p in e.first.max(lo)..=e.last.min(hi) {
            let cur = f.avail.entry(p).or_insert((o.objid, nest));
            if cur.1 < nest {
                *cur = (o.objid, nest);
            }
        }
    }
    for (t, flag) in [(&sp.oe, SPACE_OE), (&sp.ae, SPACE_AE)] {
        if let Some(t) = t {
            mark_tree(f, &t.pages, t.leaf_pages, o.objid, flag);
            problems.extend(t.problems.iter().cloned());
        }
    }
    problems.extend(sp.problems);
}

/// The trees of the database: its root, then every table with its long
/// values and indexes, from the catalog.
pub fn objects(db: &Database) -> Vec<(SpaceObject, u8)> {
    let obj = |objid, root, name: &str, table: &str, kind| SpaceObject {
        objid,
        root,
        name: name.to_string(),
        table: table.to_string(),
        kind,
    };
    let mut v = vec![(obj(DB_OBJID, DB_ROOT, "<database>", "", "database"), 0)];
    let cat = read_catalog(
        db,
        CATALOG_ROOT,
        WalkOptions {
            objid: Some(2),
            max_dbtime: 0,
        },
    );
    for t in cat.tables() {
        v.push((obj(t.objid, t.pgno_fdp, &t.name, &t.name, "table"), 1));
        if let Some((objid, pg)) = t.long_values {
            v.push((obj(objid, pg, "<Long Values>", &t.name, "long_value"), 2));
        }
        for ix in t.indexes.iter().filter(|ix| ix.pgno_fdp != t.pgno_fdp) {
            v.push((obj(ix.objid, ix.pgno_fdp, &ix.name, &t.name, "index"), 2));
        }
    }
    v
}

/// The category of `pgno` from the gathered facts.
fn categorize(f: &Facts, pgno: u32) -> (u32, u32) {
    let owner = f.owner.get(&pgno).map(|&(o, _)| o);
    let avail = f.avail.get(&pgno).map(|&(o, _)| o);
    let used = f.used.get(&pgno).copied();
    let Some(owner) = owner else {
        let flag = if pgno > f.last_owned {
            NOT_OWNED_EOF
        } else {
            NOT_OWNED
        };
        return (
            used.map_or(0, |u| u.0),
            flag | used.map_or(0, |_| INCONSISTENT),
        );
    };
    let small = if f.small.contains(&owner) {
        SMALL_SPACE
    } else {
        0
    };
    match (used, avail) {
        (Some((o, fl)), None) => (o, fl | small),
        (Some((o, fl)), Some(a)) if a != o => (o, fl | small),
        (Some((o, fl)), Some(_)) => (o, fl | INCONSISTENT),
        (None, Some(a)) if a == owner || owner == DB_OBJID => (a, AVAILABLE | small),
        (None, Some(_)) => (owner, AVAILABLE | small),
        (None, None) => (owner, LEAKED | small),
    }
}

/// The space categories of pages `first ..= last` (clamped to the file),
/// with the objects and the problems met while walking.
pub fn space_categories(
    db: &Database,
    first: u32,
    last: u32,
) -> (Vec<PageCategory>, Vec<SpaceObject>, Vec<Problem>) {
    let (first, last) = (first.max(1), last.min(db.page_count));
    let mut f = Facts {
        range: (first, last),
        ..Default::default()
    };
    let mut problems = Vec::new();
    let objs = objects(db);
    for (o, nest) in &objs {
        gather_object(db, o, *nest, &mut f, &mut problems);
    }
    let pages = (first..=last)
        .map(|pgno| {
            let (objid, flags) = categorize(&f, pgno);
            PageCategory {
                pgno,
                objid,
                flags,
                categories: flag_names(flags),
            }
        })
        .collect();
    (pages, objs.into_iter().map(|(o, _)| o).collect(), problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categorize_rules() {
        let mut f = Facts {
            last_owned: 10,
            range: (1, 20),
            ..Default::default()
        };
        for p in 1..=10 {
            f.owner.insert(p, (1, 0));
        }
        f.owner.insert(5, (7, 1));
        f.owner.insert(6, (7, 1));
        f.avail.insert(6, (7, 1));
        f.avail.insert(9, (1, 0));
        mark_used(&mut f, 5, 7, ROOT);
        mark_used(&mut f, 1, 1, ROOT);
        assert_eq!(categorize(&f, 5), (7, ROOT));
        assert_eq!(categorize(&f, 6), (7, AVAILABLE));
        assert_eq!(categorize(&f, 9), (1, AVAILABLE));
        assert_eq!(categorize(&f, 8), (1, LEAKED));
        assert_eq!(categorize(&f, 11), (0, NOT_OWNED_EOF));
        mark_used(&mut f, 5, 8, LEAF);
        assert_eq!(categorize(&f, 5).1 & INCONSISTENT, INCONSISTENT);
        assert_eq!(flag_names(ROOT | LEAKED), ["root", "leaked"]);
    }
}
