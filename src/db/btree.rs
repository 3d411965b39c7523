//! B-tree traversal with structural checks.
//!
//! A tree is walked level by level from its root (FDP): the children of an
//! internal page are the last 4 bytes of each node's data, in key order, so
//! a level is the concatenation of its parents' child lists. Each level is
//! then compared with its own sibling chain (pgnoPrev / pgnoNext) — the
//! chain the engine walks when it moves along the leaves. Keys are checked
//! in order within and across the pages of a level, and against the
//! separator keys of the parent: the keys of child *i* are greater than
//! separator *i − 1* and not greater than separator *i*; the last node of an
//! internal page has an empty key standing for "+∞" (facts from
//! `ese/node.cxx`, `ese/btree.cxx`; verified on every corpus tree).
//!
//! Cycles and shared pages are caught by a visited set, and depth is bounded
//! by the number of pages in the file (and 64 levels). Hostile input never
//! panics: every problem becomes a [`Problem`] naming page, tree and JET
//! error, and the walk carries on where it can.

use std::collections::HashSet;

use serde::Serialize;

use super::classify::{PageClass, PageKind};
use super::page::{Node, Page};
use super::Database;
use crate::error::Jet;
use crate::parse::page::FLAG_PARENT_OF_LEAF;

/// Greatest depth followed (a real tree has at most 4–5 levels).
pub const MAX_DEPTH: usize = 64;

/// One structural violation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The page where it was found (0 for the tree as a whole).
    pub pgno: u32,
    /// Root page of the tree being walked (0 when not in a tree).
    pub tree: u32,
    /// The JET error the engine would raise.
    pub jet: Jet,
    /// What is wrong.
    pub detail: String,
}

/// What to check while walking.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalkOptions {
    /// Report pages whose dbtime is greater than this (0 = no check).
    pub max_dbtime: u64,
    /// The objid every page must carry (`None`: the root's).
    pub objid: Option<u32>,
}

/// The result of walking one tree.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TreeWalk {
    /// Root page.
    pub root: u32,
    /// Object id of the tree (from the root page).
    pub objid: u32,
    /// Number of levels (1 = the root is a leaf).
    pub depth: u32,
    /// Every page reached, in level order.
    pub pages: Vec<u32>,
    /// Pages of the leaf level.
    pub leaf_pages: u32,
    /// Live (not flag-deleted) leaf nodes.
    pub records: u64,
    /// Flag-deleted leaf nodes.
    pub deleted: u64,
    /// Violations found.
    pub problems: Vec<Problem>,
}

struct Child {
    pgno: u32,
    parent: u32,
    lower: Option<Vec<u8>>,
    upper: Option<Vec<u8>>,
    expect_leaf: bool,
}

/// Key used for ordering: for non-unique trees the data is part of the
/// identity of a leaf node (the primary bookmark), so key‖data.
fn order_key(node: &Node<'_>, non_unique: bool, leaf: bool) -> Vec<u8> {
    let mut k = node.key.clone();
    if non_unique && leaf {
        k.extend_from_slice(node.data);
    }
    k
}

/// Walks the tree rooted at `root`, calling `visit` for every leaf node.
pub fn walk(
    db: &Database,
    root: u32,
    opts: WalkOptions,
    visit: &mut dyn FnMut(&Page, &Node<'_>),
) -> TreeWalk {
    let mut w = TreeWalk {
        root,
        ..Default::default()
    };
    let mut seen: HashSet<u32> = HashSet::new();
    let mut level = vec![Child {
        pgno: root,
        parent: 0,
        lower: None,
        upper: None,
        expect_leaf: false,
    }];
    let max_depth = MAX_DEPTH.min(db.page_count as usize + 1);
    let mut objid = opts.objid;
    let mut depth = 0usize;
    let prob = |w: &mut TreeWalk, pgno: u32, jet: Jet, detail: String| {
        w.problems.push(Problem {
            pgno,
            tree: root,
            jet,
            detail,
        })
    };
    while !level.is_empty() {
        if depth >= max_depth {
            prob(
                &mut w,
                level[0].pgno,
                Jet::DATABASE_CORRUPTED,
                format!("tree deeper than {max_depth} levels"),
            );
            break;
        }
        depth += 1;
        let mut next: Vec<Child> = Vec::new();
        // (pgno, prev, next) of each page of this level that could be read,
        // None for a page that could not.
        let mut chain: Vec<Option<(u32, u32, u32)>> = Vec::new();
        let mut last_key: Option<(u32, Vec<u8>)> = None;
        let mut level_leaf: Option<bool> = None;
        for c in &level {
            let pgno = c.pgno;
            if pgno == 0 || pgno > db.page_count {
                prob(
                    &mut w,
                    c.parent,
                    Jet::DATABASE_CORRUPTED,
                    format!("points at page {pgno}, outside the file"),
                );
                chain.push(None);
                continue;
            }
            if !seen.insert(pgno) {
                prob(
                    &mut w,
                    c.parent,
                    Jet::DATABASE_CORRUPTED,
                    format!("points at page {pgno}, already reached in this tree (cycle or shared page)"),
                );
                chain.push(None);
                continue;
            }
            w.pages.push(pgno);
            let bytes = match db.read_page(pgno) {
                Ok(b) => b,
                Err(e) => {
                    prob(&mut w, pgno, Jet::DISK_IO, e.to_string());
                    chain.push(None);
                    continue;
                }
            };
            let mut bytes = bytes;
            let class = db.classify(pgno, &bytes);
            match class.kind {
                PageKind::Data => {
                    if let crate::checksum::PageVerdict::Correctable { bit, .. } = class.checksum {
                        prob(
                            &mut w,
                            pgno,
                            Jet::READ_VERIFY_FAILURE,
                            format!("single-bit checksum error at bit {bit} (correctable; walked as corrected)"),
                        );
                        crate::checksum::apply_correction(&mut bytes, pgno, bit);
                    }
                }
                _ => {
                    let (jet, detail) = not_a_tree_page(&class, c.parent);
                    prob(&mut w, pgno, jet, detail);
                    chain.push(None);
                    continue;
                }
            }
            let page = match Page::new(pgno, bytes) {
                Ok(p) => p,
                Err(e) => {
                    prob(&mut w, pgno, e.jet, e.detail);
                    chain.push(None);
                    continue;
                }
            };
            let h = page.hdr;
            if depth == 1 {
                w.objid = h.objid;
                objid.get_or_insert(h.objid);
                if !h.is_root() {
                    prob(
                        &mut w,
                        pgno,
                        Jet::DATABASE_CORRUPTED,
                        "root page lacks the root flag".into(),
                    );
                }
            } else if h.is_root() {
                prob(
                    &mut w,
                    pgno,
                    Jet::DATABASE_CORRUPTED,
                    "non-root page carries the root flag".into(),
                );
            }
            if let Some(o) = objid {
                if h.objid != o {
                    prob(
                        &mut w,
                        pgno,
                        Jet::DATABASE_CORRUPTED,
                        format!(
                            "page belongs to objid {} but the tree is objid {o}",
                            h.objid
                        ),
                    );
                }
            }
            if h.is_empty() {
                prob(
                    &mut w,
                    pgno,
                    Jet::DATABASE_CORRUPTED,
                    "page in a tree is marked empty (freed)".into(),
                );
            }
            if opts.max_dbtime != 0 && h.dbtime > opts.max_dbtime {
                prob(
                    &mut w,
                    pgno,
                    Jet::DB_TIME_TOO_NEW,
                    format!(
                        "page dbtime {} is greater than the header's {}",
                        h.dbtime, opts.max_dbtime
                    ),
                );
            }
            match page.space_sum() {
                Ok(s) if s == db.page_size => {}
                Ok(s) => prob(
                    &mut w,
                    pgno,
                    Jet::DATABASE_CORRUPTED,
                    format!(
                        "free-space arithmetic: header + tags + cbFree ({}) + tag array = {s}, not {}",
                        h.cb_free, db.page_size
                    ),
                ),
                Err(e) => prob(&mut w, pgno, e.jet, e.detail),
            }
            if let Some(l) = level_leaf {
                if l != h.is_leaf() {
                    prob(
                        &mut w,
                        pgno,
                        Jet::DATABASE_CORRUPTED,
                        "leaf and internal pages mixed on one level".into(),
                    );
                }
            }
            level_leaf.get_or_insert(h.is_leaf());
            if c.expect_leaf && !h.is_leaf() {
                prob(
                    &mut w,
                    pgno,
                    Jet::DATABASE_CORRUPTED,
                    format!(
                        "page {} is parent-of-leaf but this child is not a leaf",
                        c.parent
                    ),
                );
            }
            chain.push(Some((pgno, h.pgno_prev, h.pgno_next)));
            let leaf = h.is_leaf();
            let non_unique = h.is_non_unique();
            let n_tags = page.tag_count();
            if n_tags == 0 {
                prob(
                    &mut w,
                    pgno,
                    Jet::DATABASE_CORRUPTED,
                    "page has no tags (itagMicFree = 0)".into(),
                );
                continue;
            }
            let mut prev_sep: Option<Vec<u8>> = c.lower.clone();
            for itag in 1..n_tags {
                let node = match page.node(itag) {
                    Ok(n) => n,
                    Err(e) => {
                        prob(&mut w, pgno, e.jet, e.detail);
                        break;
                    }
                };
                let last_internal = !leaf && itag == n_tags - 1;
                let k = order_key(&node, non_unique, leaf);
                // key order within the level
                if !(last_internal && node.key.is_empty()) {
                    if let Some((lp, lk)) = &last_key {
                        if k <= *lk {
                            prob(
                                &mut w,
                                pgno,
                                Jet::DATABASE_CORRUPTED,
                                format!(
                                    "key of tag {itag} is not greater than the previous key (on page {lp})"
                                ),
                            );
                        }
                    }
                    if let Some(lo) = &c.lower {
                        if k < *lo {
                            prob(
                                &mut w,
                                pgno,
                                Jet::DATABASE_CORRUPTED,
                                format!("key of tag {itag} is below the separator key of parent page {}", c.parent),
                            );
                        }
                    }
                    if let Some(up) = &c.upper {
                        if (leaf && k >= *up) || (!leaf && node.key > *up) {
                            prob(
                                &mut w,
                                pgno,
                                Jet::DATABASE_CORRUPTED,
                                format!("key of tag {itag} is above the separator key of parent page {}", c.parent),
                            );
                        }
                    }
                    last_key = Some((pgno, k));
                }
                if leaf {
                    if node.is_deleted() {
                        w.deleted += 1;
                    } else {
                        w.records += 1;
                    }
                    visit(&page, &node);
                } else {
                    match node.child() {
                        Some(child) => {
                            let upper = if last_internal && node.key.is_empty() {
                                c.upper.clone()
                            } else {
                                Some(node.key.clone())
                            };
                            next.push(Child {
                                pgno: child,
                                parent: pgno,
                                lower: prev_sep.clone(),
                                upper: upper.clone(),
                                expect_leaf: h.flags & FLAG_PARENT_OF_LEAF != 0,
                            });
                            prev_sep = upper;
                        }
                        None => prob(
                            &mut w,
                            pgno,
                            Jet::NODE_CORRUPTED,
                            format!(
                                "internal node {itag} has {} data bytes, not a page number",
                                node.data.len()
                            ),
                        ),
                    }
                }
            }
        }
        check_chain(&mut w, &chain, root, level_leaf == Some(true));
        if level_leaf == Some(true) {
            w.leaf_pages = chain.iter().flatten().count() as u32;
            w.depth = depth as u32;
            break;
        }
        w.depth = depth as u32;
        level = next;
    }
    w
}

/// Compares a level's order (from the parents) with its sibling links.
fn check_chain(w: &mut TreeWalk, chain: &[Option<(u32, u32, u32)>], root: u32, leaf: bool) {
    // Internal levels carry no sibling links (both 0) on the engine's
    // pages; check them only when they are set.
    if !leaf && chain.iter().flatten().all(|&(_, p, n)| p == 0 && n == 0) {
        return;
    }
    let mut p = |pgno: u32, detail: String| {
        w.problems.push(Problem {
            pgno,
            tree: root,
            jet: Jet::DATABASE_CORRUPTED,
            detail,
        })
    };
    if let Some(Some((pg, prev, _))) = chain.first() {
        if *prev != 0 {
            p(
                *pg,
                format!("first page of its level has pgnoPrev {prev}, expected 0"),
            );
        }
    }
    if let Some(Some((pg, _, next))) = chain.last() {
        if *next != 0 {
            p(
                *pg,
                format!("last page of its level has pgnoNext {next}, expected 0"),
            );
        }
    }
    for pair in chain.windows(2) {
        if let (Some((a, _, an)), Some((b, bp, _))) = (pair[0], pair[1]) {
            if an != b {
                p(
                    a,
                    format!("pgnoNext is {an} but the next page of the level is {b}"),
                );
            }
            if bp != a {
                p(
                    b,
                    format!("pgnoPrev is {bp} but the previous page of the level is {a}"),
                );
            }
        }
    }
}

/// The problem of a tree pointing at a page that is not a readable data
/// page, by the page's class.
fn not_a_tree_page(class: &PageClass, parent: u32) -> (Jet, String) {
    match class.kind {
        PageKind::Blank => (
            Jet::PAGE_NOT_INITIALIZED,
            format!("page is blank (never written) but page {parent} points at it"),
        ),
        PageKind::Shrunk => (
            Jet::DATABASE_CORRUPTED,
            format!("page was released by a database shrink but page {parent} points at it"),
        ),
        PageKind::Trailer | PageKind::Header | PageKind::ShadowHeader => (
            Jet::DATABASE_CORRUPTED,
            format!(
                "page is the {} but page {parent} points at it",
                class.kind.describe()
            ),
        ),
        PageKind::Foreign => (
            Jet::READ_VERIFY_FAILURE,
            format!(
                "checksum mismatch ({}); not an ESE page ({})",
                verdict_text(&class.checksum),
                class.note.unwrap_or("implausible header")
            ),
        ),
        PageKind::BadChecksum | PageKind::Data => (
            Jet::READ_VERIFY_FAILURE,
            format!(
                "checksum mismatch ({}){}",
                verdict_text(&class.checksum),
                class.note.map(|n| format!("; {n}")).unwrap_or_default()
            ),
        ),
    }
}

/// Short text of a failing checksum verdict.
pub fn verdict_text(v: &crate::checksum::PageVerdict) -> String {
    use crate::checksum::PageVerdict as V;
    match v {
        V::Bad {
            block,
            stored,
            computed,
            ..
        } => {
            format!("block {block}: stored {stored:#018x}, computed {computed:#018x}")
        }
        V::WrongPageNumber { actual_pgno, .. } => {
            format!("content belongs to page {actual_pgno}")
        }
        V::Correctable { bit, .. } => format!("single-bit error at bit {bit}"),
        V::Uninitialized => "blank page".into(),
        V::Ok { .. } => "ok".into(),
    }
}
