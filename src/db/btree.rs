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
    let mut walker = Walker {
        db,
        opts,
        objid: opts.objid,
        w: TreeWalk {
            root,
            ..Default::default()
        },
        seen: HashSet::new(),
        depth: 0,
    };
    let mut level = vec![Child {
        pgno: root,
        parent: 0,
        lower: None,
        upper: None,
        expect_leaf: false,
    }];
    let max_depth = MAX_DEPTH.min(db.page_count as usize + 1);
    while !level.is_empty() {
        if walker.depth >= max_depth {
            walker.problem(
                level[0].pgno,
                Jet::DATABASE_CORRUPTED,
                format!("tree deeper than {max_depth} levels"),
            );
            break;
        }
        walker.depth += 1;
        let lv = walker.walk_level(&level, visit);
        check_chain(&mut walker.w, &lv.chain, root, lv.leaf == Some(true));
        walker.w.depth = walker.depth as u32;
        if lv.leaf == Some(true) {
            walker.w.leaf_pages = lv.chain.iter().flatten().count() as u32;
            break;
        }
        level = lv.next;
    }
    walker.w
}

/// The state of one tree walk.
struct Walker<'d> {
    db: &'d Database,
    opts: WalkOptions,
    /// The objid every page must carry (the option's, else the root's).
    objid: Option<u32>,
    w: TreeWalk,
    seen: HashSet<u32>,
    /// Level being walked (1 = the root).
    depth: usize,
}

/// What one level of the walk yields.
#[derive(Default)]
struct Level {
    /// The children of this level's internal nodes, in key order.
    next: Vec<Child>,
    /// (pgno, prev, next) of each page of the level that could be read,
    /// None for a page that could not.
    chain: Vec<Option<(u32, u32, u32)>>,
    /// Whether the level's pages are leaves (from its first readable page).
    leaf: Option<bool>,
    /// Greatest key so far on the level, with its page.
    last_key: Option<(u32, Vec<u8>)>,
}

impl Walker<'_> {
    fn problem(&mut self, pgno: u32, jet: Jet, detail: String) {
        self.w.problems.push(Problem {
            pgno,
            tree: self.w.root,
            jet,
            detail,
        })
    }

    /// Walks every page of one level.
    fn walk_level(&mut self, level: &[Child], visit: &mut dyn FnMut(&Page, &Node<'_>)) -> Level {
        let mut lv = Level::default();
        for c in level {
            let Some(page) = self.read_tree_page(c) else {
                lv.chain.push(None);
                continue;
            };
            self.check_page_header(c, &page, lv.leaf);
            let h = page.hdr;
            lv.leaf.get_or_insert(h.is_leaf());
            lv.chain.push(Some((page.pgno, h.pgno_prev, h.pgno_next)));
            if page.tag_count() == 0 {
                self.problem(
                    page.pgno,
                    Jet::DATABASE_CORRUPTED,
                    "page has no tags (itagMicFree = 0)".into(),
                );
                continue;
            }
            self.walk_nodes(c, &page, &mut lv, visit);
        }
        lv
    }

    /// Reads the page `c` points at, once per tree, as a data page (a
    /// correctable single-bit error is reported and corrected); `None`
    /// (with the problem recorded) when it cannot be walked.
    fn read_tree_page(&mut self, c: &Child) -> Option<Page> {
        let pgno = c.pgno;
        if pgno == 0 || pgno > self.db.page_count {
            self.problem(
                c.parent,
                Jet::DATABASE_CORRUPTED,
                format!("points at page {pgno}, outside the file"),
            );
            return None;
        }
        if !self.seen.insert(pgno) {
            self.problem(
                c.parent,
                Jet::DATABASE_CORRUPTED,
                format!(
                    "points at page {pgno}, already reached in this tree (cycle or shared page)"
                ),
            );
            return None;
        }
        self.w.pages.push(pgno);
        let mut bytes = match self.db.read_page(pgno) {
            Ok(b) => b,
            Err(e) => {
                self.problem(pgno, Jet::DISK_IO, e.to_string());
                return None;
            }
        };
        let class = self.db.classify(pgno, &bytes);
        if class.kind != PageKind::Data {
            let (jet, detail) = not_a_tree_page(&class, c.parent);
            self.problem(pgno, jet, detail);
            return None;
        }
        if let crate::checksum::PageVerdict::Correctable { bit, .. } = class.checksum {
            self.problem(
                pgno,
                Jet::READ_VERIFY_FAILURE,
                format!(
                    "single-bit checksum error at bit {bit} (correctable; walked as corrected)"
                ),
            );
            crate::checksum::apply_correction(&mut bytes, pgno, bit);
        }
        match Page::new(pgno, bytes) {
            Ok(p) => Some(p),
            Err(e) => {
                self.problem(pgno, e.jet, e.detail);
                None
            }
        }
    }

    /// Checks the page header against its place in the tree: root flag,
    /// objid, freed flag, dbtime, free-space arithmetic, leaf level.
    fn check_page_header(&mut self, c: &Child, page: &Page, level_leaf: Option<bool>) {
        let (pgno, h) = (page.pgno, page.hdr);
        if self.depth == 1 {
            self.w.objid = h.objid;
            self.objid.get_or_insert(h.objid);
            if !h.is_root() {
                self.problem(
                    pgno,
                    Jet::DATABASE_CORRUPTED,
                    "root page lacks the root flag".into(),
                );
            }
        } else if h.is_root() {
            self.problem(
                pgno,
                Jet::DATABASE_CORRUPTED,
                "non-root page carries the root flag".into(),
            );
        }
        if let Some(o) = self.objid {
            if h.objid != o {
                self.problem(
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
            self.problem(
                pgno,
                Jet::DATABASE_CORRUPTED,
                "page in a tree is marked empty (freed)".into(),
            );
        }
        let max_dbtime = self.opts.max_dbtime;
        if max_dbtime != 0 && h.dbtime > max_dbtime {
            self.problem(
                pgno,
                Jet::DB_TIME_TOO_NEW,
                format!(
                    "page dbtime {} is greater than the header's {max_dbtime}",
                    h.dbtime
                ),
            );
        }
        match page.space_sum() {
            Ok(s) if s == self.db.page_size => {}
            Ok(s) => self.problem(
                pgno,
                Jet::DATABASE_CORRUPTED,
                format!(
                    "free-space arithmetic: header + tags + cbFree ({}) + tag array = {s}, not {}",
                    h.cb_free, self.db.page_size
                ),
            ),
            Err(e) => self.problem(pgno, e.jet, e.detail),
        }
        if level_leaf.is_some_and(|l| l != h.is_leaf()) {
            self.problem(
                pgno,
                Jet::DATABASE_CORRUPTED,
                "leaf and internal pages mixed on one level".into(),
            );
        }
        if c.expect_leaf && !h.is_leaf() {
            self.problem(
                pgno,
                Jet::DATABASE_CORRUPTED,
                format!(
                    "page {} is parent-of-leaf but this child is not a leaf",
                    c.parent
                ),
            );
        }
    }

    /// Visits the nodes of one page: key order, leaf nodes to `visit`,
    /// children of internal nodes onto the next level.
    fn walk_nodes(
        &mut self,
        c: &Child,
        page: &Page,
        lv: &mut Level,
        visit: &mut dyn FnMut(&Page, &Node<'_>),
    ) {
        let (pgno, h) = (page.pgno, page.hdr);
        let leaf = h.is_leaf();
        let n_tags = page.tag_count();
        let mut prev_sep: Option<Vec<u8>> = c.lower.clone();
        for itag in 1..n_tags {
            let node = match page.node(itag) {
                Ok(n) => n,
                Err(e) => {
                    self.problem(pgno, e.jet, e.detail);
                    break;
                }
            };
            let last_internal = !leaf && itag == n_tags - 1;
            if !(last_internal && node.key.is_empty()) {
                let k = order_key(&node, h.is_non_unique(), leaf);
                self.check_key_order(c, page, itag, &node, &k, &lv.last_key);
                lv.last_key = Some((pgno, k));
            }
            if leaf {
                if node.is_deleted() {
                    self.w.deleted += 1;
                } else {
                    self.w.records += 1;
                }
                visit(page, &node);
                continue;
            }
            let Some(child) = node.child() else {
                self.problem(
                    pgno,
                    Jet::NODE_CORRUPTED,
                    format!(
                        "internal node {itag} has {} data bytes, not a page number",
                        node.data.len()
                    ),
                );
                continue;
            };
            let upper = if last_internal && node.key.is_empty() {
                c.upper.clone()
            } else {
                Some(node.key.clone())
            };
            lv.next.push(Child {
                pgno: child,
                parent: pgno,
                lower: prev_sep.clone(),
                upper: upper.clone(),
                expect_leaf: h.flags & FLAG_PARENT_OF_LEAF != 0,
            });
            prev_sep = upper;
        }
    }

    /// Checks a node's ordering key `k` against the previous key of the
    /// level and the parent's separators.
    fn check_key_order(
        &mut self,
        c: &Child,
        page: &Page,
        itag: usize,
        node: &Node<'_>,
        k: &[u8],
        last_key: &Option<(u32, Vec<u8>)>,
    ) {
        let (pgno, leaf) = (page.pgno, page.hdr.is_leaf());
        if let Some((lp, lk)) = last_key {
            if k <= lk.as_slice() {
                self.problem(
                    pgno,
                    Jet::DATABASE_CORRUPTED,
                    format!(
                        "key of tag {itag} is not greater than the previous key (on page {lp})"
                    ),
                );
            }
        }
        if let Some(lo) = &c.lower {
            if k < lo.as_slice() {
                self.problem(
                    pgno,
                    Jet::DATABASE_CORRUPTED,
                    format!(
                        "key of tag {itag} is below the separator key of parent page {}",
                        c.parent
                    ),
                );
            }
        }
        if let Some(up) = &c.upper {
            if (leaf && k >= up.as_slice()) || (!leaf && node.key > *up) {
                self.problem(
                    pgno,
                    Jet::DATABASE_CORRUPTED,
                    format!(
                        "key of tag {itag} is above the separator key of parent page {}",
                        c.parent
                    ),
                );
            }
        }
    }
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
