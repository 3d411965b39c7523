//! JSON documents of the page, node and space-category dumps (`/m /p`,
//! `/mn`, `/mc`) and the CSV form of the log dump (`/ml /c`).

use serde::Serialize;

use crate::db::btree::Problem;
use crate::db::dump::{NodeDump, PageDump};
use crate::db::spacecat::{PageCategory, SpaceObject};
use crate::parse::db_header::HeaderCopy;

/// `page DB PGNO` for a data page.
#[derive(Debug, Serialize)]
pub struct PageReport {
    /// Always "eseutil-rs".
    pub tool: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// Always "page".
    pub mode: &'static str,
    /// The database.
    pub file: String,
    /// The page as eseutil read it (`/p` value).
    pub requested: i32,
    /// When `--key` was given: the pages visited from the start page down
    /// to the dumped leaf.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seek_path: Vec<u32>,
    /// The page.
    #[serde(flatten)]
    pub page: PageDump,
}

/// `page DB -1` (the header) or `page DB 0` (its shadow).
#[derive(Debug, Serialize)]
pub struct HeaderPageReport {
    /// Always "eseutil-rs".
    pub tool: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// Always "page".
    pub mode: &'static str,
    /// The database.
    pub file: String,
    /// -1 (header) or 0 (shadow).
    pub requested: i32,
    /// "header" or "shadow header".
    pub which: &'static str,
    /// File offset of the copy.
    pub file_offset: u64,
    /// Page size.
    pub page_size: usize,
    /// The copy: checksums and decoded fields.
    pub copy: HeaderCopy,
}

/// One JSON line of `nodes DB --json`.
#[derive(Debug, Serialize)]
pub struct NodeLine<'a> {
    /// The node.
    #[serde(flatten)]
    pub node: &'a NodeDump,
    /// Object id of the page.
    pub objid: u32,
    /// Flags of the page it is on.
    pub page_flags: u32,
    /// Whether the page is marked freed (`fPageEmpty`).
    pub page_empty: bool,
}

/// The last JSON line of `nodes DB --json`.
#[derive(Debug, Serialize)]
pub struct NodesSummary {
    /// Layout version.
    pub schema_version: u32,
    /// Always "nodes".
    pub mode: &'static str,
    /// The database.
    pub file: String,
    /// Pages read.
    pub pages: u32,
    /// Pages whose nodes were listed.
    pub pages_with_nodes: u32,
    /// Nodes listed.
    pub nodes: u64,
    /// Flag-deleted nodes listed (`--all`) or skipped.
    pub deleted_nodes: u64,
    /// Pages that could not be read (bad checksum, foreign): page numbers.
    pub unreadable_pages: Vec<u32>,
    /// Nodes that could not be decoded.
    pub bad_nodes: u64,
    /// Whether flag-deleted nodes and freed pages were included.
    pub all: bool,
    /// The table whose trees were listed (`--table`, eseutil /t).
    pub table: Option<String>,
}

/// `space-category DB [RANGE]`.
#[derive(Debug, Serialize)]
pub struct SpaceCategoryReport {
    /// Always "eseutil-rs".
    pub tool: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// Always "space-category".
    pub mode: &'static str,
    /// The database.
    pub file: String,
    /// First page asked for.
    pub first: u32,
    /// Last page asked for (`None`: the end of the file).
    pub last: Option<u32>,
    /// Pages in the file.
    pub page_count: u32,
    /// The trees, by objid.
    pub objects: Vec<SpaceObject>,
    /// One entry per page of the range.
    pub pages: Vec<PageCategory>,
    /// Pages per category name.
    pub totals: std::collections::BTreeMap<&'static str, u64>,
    /// Problems met while walking the trees.
    pub problems: Vec<Problem>,
}
