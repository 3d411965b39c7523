//! Space of a tree: owned and available extents.
//!
//! A tree's root page carries a SPACE_HEADER (docs/format/pages.md §7, space.hxx).
//! Single-extent trees own `cpgPrimary` pages from their root and record
//! free pages in a 32-bit map: bit 31 is page root+32, bit 0 page root+1,
//! and pages past root+32 are all available (`ErrSPIGetSE` logic in
//! space.cxx, `cpgSmallSpaceAvailMost` = 32). Multiple-extent trees keep
//! two space trees, owned extents (OE, root pgnoOE) and available extents
//! (AE, root pgnoOE + 1), whose leaf nodes map a big-endian pgnoLast key
//! to a page count (`SPEXTKEY`).

use serde::Serialize;

use super::btree::{walk, Problem, TreeWalk, WalkOptions};
use super::page::Page;
use super::Database;
use crate::error::Jet;
use crate::parse::page::{parse_extent, SpaceHeader};

/// Pages of a single-extent tree tracked by the bitmap.
pub const SMALL_SPACE_AVAIL_MOST: u32 = 32;

/// A run of pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Extent {
    /// First page.
    pub first: u32,
    /// Last page (inclusive).
    pub last: u32,
    /// Space pool of an available extent (0 = general).
    pub pool: u8,
}

impl Extent {
    /// Number of pages.
    pub fn pages(&self) -> u64 {
        (self.last as u64 + 1).saturating_sub(self.first as u64)
    }
}

/// The space of one tree.
#[derive(Debug, Clone, Serialize)]
pub struct SpaceInfo {
    /// Root page of the tree.
    pub root: u32,
    /// Its space header.
    pub header: SpaceHeader,
    /// Owned extents.
    pub owned: Vec<Extent>,
    /// Available extents.
    pub avail: Vec<Extent>,
    /// Walk of the OE tree (multiple-extent trees).
    pub oe: Option<TreeWalk>,
    /// Walk of the AE tree (multiple-extent trees).
    pub ae: Option<TreeWalk>,
    /// Problems met (bad extents, space-tree damage).
    pub problems: Vec<Problem>,
}

impl SpaceInfo {
    /// Owned page count.
    pub fn owned_pages(&self) -> u64 {
        self.owned.iter().map(Extent::pages).sum()
    }
    /// Available page count.
    pub fn avail_pages(&self) -> u64 {
        self.avail.iter().map(Extent::pages).sum()
    }
}

fn extents_of(
    db: &Database,
    root: u32,
    objid: u32,
    opts: WalkOptions,
    problems: &mut Vec<Problem>,
    owner: u32,
) -> (Vec<Extent>, TreeWalk) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let w = walk(
        db,
        root,
        WalkOptions {
            objid: Some(objid),
            ..opts
        },
        &mut |page, node| {
            if node.is_deleted() {
                return;
            }
            match parse_extent(&node.key, node.data) {
                Ok((pool, last, cpg)) if cpg >= 1 && cpg <= last => out.push(Extent {
                    first: last - cpg + 1,
                    last,
                    pool,
                }),
                Ok((_, last, cpg)) => bad.push(Problem {
                    pgno: page.pgno,
                    tree: owner,
                    jet: Jet::DATABASE_CORRUPTED,
                    detail: format!(
                        "space tree {root}: extent ending at page {last} with {cpg} pages"
                    ),
                }),
                Err(e) => bad.push(Problem {
                    pgno: page.pgno,
                    tree: owner,
                    jet: e.jet,
                    detail: format!("space tree {root} tag {}: {}", node.itag, e.detail),
                }),
            }
        },
    );
    problems.extend(bad);
    (out, w)
}

/// Reads the space of the tree whose root page is `root`.
pub fn space_of(db: &Database, root: &Page, opts: WalkOptions) -> Result<SpaceInfo, Problem> {
    let header = root.space_header().map_err(|e| Problem {
        pgno: root.pgno,
        tree: root.pgno,
        jet: e.jet,
        detail: e.detail,
    })?;
    let mut problems = Vec::new();
    let objid = root.hdr.objid;
    let (owned, avail, oe, ae) = if let (Some(oe), Some(ae)) = (header.pgno_oe(), header.pgno_ae())
    {
        let (owned, oew) = extents_of(db, oe, objid, opts, &mut problems, root.pgno);
        let (avail, aew) = extents_of(db, ae, objid, opts, &mut problems, root.pgno);
        (owned, avail, Some(oew), Some(aew))
    } else {
        let cpg = header.cpg_primary;
        let owned = if cpg >= 1 {
            vec![Extent {
                first: root.pgno,
                last: root.pgno.saturating_add(cpg - 1),
                pool: 0,
            }]
        } else {
            Vec::new()
        };
        let mut avail = Vec::new();
        for bit in 0..32u32 {
            if header.avail_or_oe & (1 << bit) != 0 {
                let p = root.pgno.saturating_add(1 + bit);
                if bit < cpg.saturating_sub(1) {
                    avail.push(Extent {
                        first: p,
                        last: p,
                        pool: 0,
                    });
                }
            }
        }
        if cpg > SMALL_SPACE_AVAIL_MOST + 1 {
            avail.push(Extent {
                first: root.pgno + SMALL_SPACE_AVAIL_MOST + 1,
                last: root.pgno.saturating_add(cpg - 1),
                pool: 0,
            });
        }
        (owned, avail, None, None)
    };
    Ok(SpaceInfo {
        root: root.pgno,
        header,
        owned,
        avail,
        oe,
        ae,
        problems,
    })
}
