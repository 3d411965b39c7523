//! JSON documents of the database modes `/mm`, `/ms` and `/g`.
//!
//! Every document carries `tool`, `version`, `mode`, `file`, `page_size`
//! and `page_count` (data pages in the file), then the mode's content.
//! Problems are objects `{pgno, tree, jet: {code, name, description},
//! detail}` where `tree` is the root page of the tree being walked (0 when
//! none).

use serde::Serialize;

use crate::db::btree::Problem;
use crate::db::catalog::{CatalogEntry, ColumnInfo, IndexInfo, KeySegment};
use crate::db::check::{CheckReport, TreeSummary};

/// An index with its entry count.
#[derive(Debug, Clone, Serialize)]
pub struct MmIndex {
    /// Catalog facts.
    #[serde(flatten)]
    pub info: IndexInfo,
    /// Live entries in its tree (the table's record count for the primary
    /// index, whose tree is the table's own).
    pub entries: u64,
}

/// A long-value tree.
#[derive(Debug, Clone, Serialize)]
pub struct MmLongValues {
    /// Object id.
    pub objid: u32,
    /// Root page.
    pub pgno_fdp: u32,
    /// Live LV nodes (LV roots and chunks).
    pub nodes: u64,
}

/// A table in `/mm`.
#[derive(Debug, Clone, Serialize)]
pub struct MmTable {
    /// Name.
    pub name: String,
    /// Object id.
    pub objid: u32,
    /// Root page.
    pub pgno_fdp: u32,
    /// Initial pages.
    pub pages: u32,
    /// Density (percent).
    pub density: u32,
    /// Table flags (JET_bitObject*).
    pub flags: u32,
    /// Template table, if derived.
    pub template: Option<String>,
    /// Live records in the table's tree.
    pub records: u64,
    /// Flag-deleted records awaiting cleanup.
    pub deleted_records: u64,
    /// Long-value tree.
    pub long_values: Option<MmLongValues>,
    /// Columns.
    pub columns: Vec<ColumnInfo>,
    /// Indexes.
    pub indexes: Vec<MmIndex>,
    /// Callbacks (type, name).
    pub callbacks: Vec<(u32, String)>,
}

/// The `/mm --json` document.
#[derive(Debug, Clone, Serialize)]
pub struct MmReport {
    /// "eseutil-rs".
    pub tool: &'static str,
    /// Program version.
    pub version: &'static str,
    /// "mm".
    pub mode: &'static str,
    /// The file as given.
    pub file: String,
    /// Page size.
    pub page_size: usize,
    /// Data pages in the file.
    pub page_count: u32,
    /// Tables in catalog order.
    pub tables: Vec<MmTable>,
    /// Raw catalog records (only with --verbose).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog: Option<Vec<CatalogEntry>>,
    /// Problems met while reading (the metadata may be incomplete).
    pub problems: Vec<Problem>,
}

/// One object in `/ms`.
#[derive(Debug, Clone, Serialize)]
pub struct MsObject {
    /// Name.
    pub name: String,
    /// Owning table ("" for the database).
    pub table: String,
    /// database, table, index, long_value.
    pub kind: &'static str,
    /// Object id.
    pub objid: u32,
    /// Root page.
    pub pgno_fdp: u32,
    /// Primary extent (cpgPrimary; cpgLastAlloc for v2 headers).
    pub primary_extent: u32,
    /// Whether the object uses space trees ("-m" in eseutil's PriExt).
    pub multiple_extent: bool,
    /// Owned pages.
    pub owned: u64,
    /// Available pages.
    pub available: u64,
    /// Tree depth.
    pub depth: u32,
    /// Pages reached in the tree.
    pub tree_pages: usize,
    /// Pages of its OE and AE trees.
    pub space_tree_pages: usize,
    /// Owned extents (first, last).
    pub owned_extents: Vec<(u32, u32)>,
    /// Available extents (first, last, pool).
    pub available_extents: Vec<(u32, u32, u8)>,
}

/// The `/ms --json` document.
#[derive(Debug, Clone, Serialize)]
pub struct MsReport {
    /// "eseutil-rs".
    pub tool: &'static str,
    /// Program version.
    pub version: &'static str,
    /// "ms".
    pub mode: &'static str,
    /// The file as given.
    pub file: String,
    /// Page size.
    pub page_size: usize,
    /// Data pages in the file.
    pub page_count: u32,
    /// Objects: the database, then each table followed by its LV tree and
    /// indexes.
    pub objects: Vec<MsObject>,
    /// Problems met.
    pub problems: Vec<Problem>,
}

/// The `/g --json` document.
#[derive(Debug, Clone, Serialize)]
pub struct GReport {
    /// "eseutil-rs".
    pub tool: &'static str,
    /// Program version.
    pub version: &'static str,
    /// "g".
    pub mode: &'static str,
    /// The file as given.
    pub file: String,
    /// Page size.
    pub page_size: usize,
    /// Data pages in the file.
    pub page_count: u32,
    /// Dirty Shutdown state.
    pub dirty: bool,
    /// A backup copy (needs hard recovery, /cc).
    pub backup_copy: bool,
    /// Header dbtime.
    pub header_dbtime: u64,
    /// Trees checked.
    pub trees: Vec<TreeSummary>,
    /// Pages used by trees.
    pub pages_in_trees: u64,
    /// Pages available.
    pub pages_available: u64,
    /// Leaked pages.
    pub pages_unaccounted: Vec<u32>,
    /// The backup trailer (patch) page of a streaming-backup copy, if any.
    pub trailer_page: Option<u32>,
    /// Pages released by a database shrink.
    pub pages_shrunk: u64,
    /// Violations.
    pub violations: Vec<Problem>,
    /// Warnings (not counted).
    pub warnings: Vec<Problem>,
    /// "clean" or "damaged".
    pub verdict: &'static str,
    /// Exit status.
    pub exit_status: u8,
}

impl GReport {
    /// Builds the document from a check result.
    pub fn new(file: String, r: CheckReport, exit_status: u8) -> Self {
        GReport {
            tool: "eseutil-rs",
            version: env!("CARGO_PKG_VERSION"),
            mode: "g",
            file,
            page_size: r.page_size,
            page_count: r.page_count,
            dirty: r.dirty,
            backup_copy: r.backup_copy,
            header_dbtime: r.header_dbtime,
            verdict: if r.violations.is_empty() {
                "clean"
            } else {
                "damaged"
            },
            trees: r.trees,
            pages_in_trees: r.pages_in_trees,
            pages_available: r.pages_available,
            pages_unaccounted: r.pages_unaccounted,
            trailer_page: r.trailer_page,
            pages_shrunk: r.pages_shrunk,
            violations: r.violations,
            warnings: r.warnings,
            exit_status,
        }
    }
}

/// Text of a key (for rendering): column names with `+`/`-` direction.
pub fn key_text(names: &[String], segs: &[KeySegment]) -> String {
    names
        .iter()
        .zip(segs)
        .map(|(n, s)| format!("{}{n}", if s.descending { "-" } else { "+" }))
        .collect::<Vec<_>>()
        .join(",")
}
