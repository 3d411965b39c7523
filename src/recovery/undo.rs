//! Undo: the version-store entries (RCEs) redo rebuilds for versioned node
//! operations, and rolling them back.
//!
//! Facts (ESE source):
//! * redo creates an RCE for every versioned node operation, "even if the
//!   operation is not redone, for rollback support"
//!   (`ErrLGRIRedoNodeOperation`, `ese/_log/logredo.cxx` ~3290 ff.);
//! * Commit to level L merges the RCEs of higher levels into L; Commit0
//!   (L = 0) makes them permanent; a Rollback record rolls back `levelRollback`
//!   levels with `ErrVERRollback` (logredo.cxx ~7152); an Undo record
//!   (lrtypUndo) is the physical undo of one RCE, found by rceid
//!   (`VERRedoPhysicalUndo`, logredo.cxx ~3267);
//! * at the end of the log, sessions with open transactions are rolled back
//!   (`ErrLGRIEndAllSessions` ~2379, docs/format/recovery.md §5);
//! * the inverse operations (`ese/ver.cxx` ~6836–7060): insert → flag
//!   delete (`ErrVERIUndoInsertPhysical`), flag delete → reset the flag
//!   (`ErrVERIUndoFlagDeletePhysical`), replace → the before-image data
//!   (`ErrVERIUndoReplacePhysical`), delta → the negated delta
//!   (`ErrVERIUndoDeltaPhysical`).
//!
//! The node to undo is found by bookmark (key, plus data on non-unique
//! trees) from the tree's FDP root, as pages may have split since.
//! Operations undone at the end get fresh dbtimes above the highest one in
//! the database (ESE logs them; this tool writes no log).

use serde::Serialize;

use std::path::Path;

use super::page::PageImage;
use crate::error::{Error, FormatError, Jet};
use crate::parse::page::{FLAG_LEAF, NODE_DELETED, NODE_VERSIONED};
use crate::parse::primitives::Lgpos;
use crate::parse::u32_at;

/// The inverse to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UndoOp {
    /// Undo an insert (or a flag-insert): flag-delete the node.
    FlagDelete,
    /// Undo a flag-delete: clear the deleted flag.
    ResetDelete,
    /// Undo a replace: put the old data back.
    Data(Vec<u8>),
    /// Undo a flag-insert-and-replace-data: flag-delete, old data back.
    FlagDeleteAndData(Vec<u8>),
    /// Undo a delta: add this at the offset (4 or 8 bytes wide).
    Delta {
        /// Offset in the data.
        offset: usize,
        /// Value to add.
        delta: i64,
        /// 4 or 8.
        width: usize,
    },
}

/// A version-store entry for one versioned operation.
#[derive(Debug, Clone)]
pub struct Rce {
    /// Record that created it.
    pub lgpos: Lgpos,
    /// rceid.
    pub rceid: u32,
    /// Transaction level.
    pub level: u32,
    /// Database.
    pub dbid: u8,
    /// Root of the tree.
    pub pgno_fdp: u32,
    /// Unique-key tree (bookmark = key) or not (key + data).
    pub unique: bool,
    /// Bookmark key.
    pub key: Vec<u8>,
    /// Bookmark data (non-unique trees).
    pub bm_data: Vec<u8>,
    /// The inverse, `None` when redo could not capture it (page ahead).
    pub undo: Option<UndoOp>,
}

/// Undo outcome, for the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct UndoStats {
    /// Sessions whose open transactions were rolled back at the end.
    pub sessions_rolled_back: Vec<u16>,
    /// Operations undone (Rollback/Undo records and end-of-log rollback).
    pub operations_undone: u64,
    /// Operations that could not be undone, with why.
    pub failures: Vec<String>,
}

/// The page does not hold what the version store says it did.
fn page_mismatch(detail: String) -> FormatError {
    FormatError::new(0, Jet::DATABASE_CORRUPTED, detail)
}

/// Applies an inverse to a leaf page at line `i`.
pub fn apply(p: &mut PageImage, i: usize, op: &UndoOp) -> Result<(), FormatError> {
    let line = p
        .lines
        .get_mut(i)
        .ok_or_else(|| page_mismatch(format!("line {i} not on the page")))?;
    match op {
        UndoOp::FlagDelete => line.flags = (line.flags | NODE_DELETED) & !NODE_VERSIONED,
        UndoOp::ResetDelete => line.flags &= !(NODE_DELETED | NODE_VERSIONED),
        UndoOp::Data(d) => {
            line.data = d.clone();
            line.flags &= !NODE_VERSIONED;
        }
        UndoOp::FlagDeleteAndData(d) => {
            line.data = d.clone();
            line.flags = (line.flags | NODE_DELETED) & !NODE_VERSIONED;
        }
        UndoOp::Delta {
            offset,
            delta,
            width,
        } => {
            add_delta(&mut line.data, *offset, *delta, *width)?;
            line.flags &= !NODE_VERSIONED;
        }
    }
    Ok(())
}

/// Adds `delta` to the little-endian counter of `width` (4 or 8) bytes at
/// `offset` in a node's data (`ErrNDDelta`, node.cxx; a 32-bit counter
/// wraps as a signed 32-bit value).
pub fn add_delta(
    data: &mut [u8],
    offset: usize,
    delta: i64,
    width: usize,
) -> Result<(), FormatError> {
    let Some(counter) = offset
        .checked_add(width)
        .and_then(|end| data.get_mut(offset..end))
    else {
        return Err(page_mismatch("delta offset beyond the node's data".into()));
    };
    if width == 4 {
        let v = (u32_at(counter, 0) as i32).wrapping_add(delta as i32);
        counter.copy_from_slice(&v.to_le_bytes());
    } else {
        let v = (crate::parse::u64_at(counter, 0) as i64).wrapping_add(delta);
        counter.copy_from_slice(&v.to_le_bytes());
    }
    Ok(())
}

/// Descends from `root` to the leaf holding the bookmark; returns (pgno,
/// line). `read` gives a page image by number; `db` names the database
/// file in errors.
pub fn seek(
    db: &Path,
    root: u32,
    key: &[u8],
    bm_data: &[u8],
    unique: bool,
    read: &mut dyn FnMut(u32) -> Result<PageImage, Error>,
) -> Result<(u32, usize), Error> {
    // Page pgno sits after the two header pages (docs/format/pages.md §1).
    let fail = |pgno: u32, ps: usize, detail: String| {
        let offset = (u64::from(pgno) + 1) * ps as u64;
        Error::corrupt(db, page_mismatch(detail).at_base(offset))
    };
    let mut want = key.to_vec();
    if !unique {
        want.extend_from_slice(bm_data);
    }
    let mut pgno = root;
    for _depth in 0..64 {
        let p = read(pgno)?;
        if p.flags & FLAG_LEAF != 0 {
            for i in 0..p.lines.len() {
                if p.key(i) == key && (unique || p.lines[i].data == bm_data) {
                    return Ok((pgno, i));
                }
            }
            return Err(fail(
                pgno,
                p.page_size,
                format!("bookmark not found on leaf page {pgno}"),
            ));
        }
        // Internal: the first separator greater than the bookmark (empty
        // key = +infinity).
        let mut child = None;
        for i in 0..p.lines.len() {
            // Separators of non-unique trees carry key||data themselves.
            let sep = p.key(i);
            if sep.is_empty() || sep.as_slice() > want.as_slice() {
                child = Some(i);
                break;
            }
        }
        let i = child.ok_or_else(|| {
            fail(
                pgno,
                p.page_size,
                format!("no child for the bookmark on page {pgno}"),
            )
        })?;
        let d = &p.lines[i].data;
        if d.len() < 4 {
            return Err(fail(
                pgno,
                p.page_size,
                format!("internal node without child on page {pgno}"),
            ));
        }
        pgno = u32_at(d, d.len() - 4);
    }
    let detail = format!("the tree of FDP page {root} is deeper than 64 levels");
    Err(Error::corrupt(db, page_mismatch(detail)))
}
