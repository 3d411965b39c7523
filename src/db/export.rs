//! Export: every record of a table decoded, streamed as the tree walk
//! yields it (a table is never collected), long values read from the
//! table's LV tree by key.
//!
//! LV tree (`ese/lv.cxx`, `inc/lv.hxx`): the root of a long value is keyed
//! by its LID (big-endian, 4 bytes, or 8 for LID64) and holds LVROOT
//! (u32 reference count, u32 size, …); its chunks are keyed LID ‖ offset
//! (u32 big-endian) and hold the bytes from that offset. A chunk shorter or
//! longer than the distance to the next offset is compressed (its header
//! byte names the scheme, [`super::compression`]).

use super::btree::{walk, TreeWalk, WalkOptions};
use super::compression::decompress;
use super::page::Page;
use super::record_values::{decode_record, LongValues, LvError, TableSchema, Value};
use super::Database;
use crate::parse::page::{is_large, FLAG_LEAF};

/// Greatest long value read (bytes); larger ones are reported, not read.
pub const MAX_LONG_VALUE: u64 = 1 << 28;

/// One chunk of a long value: its offset and stored bytes.
type Chunk = (u32, Vec<u8>);

/// Reads long values from one LV tree.
pub struct LvTree<'d> {
    db: &'d Database,
    root: Option<u32>,
}

impl<'d> LvTree<'d> {
    /// The LV tree rooted at `root` (`None`: the table has none).
    pub fn new(db: &'d Database, root: Option<u32>) -> Self {
        LvTree { db, root }
    }

    fn page(&self, pgno: u32) -> Result<Page, LvError> {
        let bytes = self
            .db
            .read_page(pgno)
            .map_err(|e| LvError::Missing(e.to_string()))?;
        Page::new(pgno, bytes).map_err(|e| LvError::Missing(format!("page {pgno}: {}", e.detail)))
    }

    /// The leaf page where keys ≥ `key` start: at each internal page the
    /// first child whose separator is ≥ `key` (the last, empty, is +∞).
    fn leaf_for(&self, key: &[u8]) -> Result<Page, LvError> {
        let mut pgno = self
            .root
            .ok_or_else(|| LvError::Missing("table has no LV tree".into()))?;
        for _ in 0..super::btree::MAX_DEPTH {
            let page = self.page(pgno)?;
            if page.hdr.flags & FLAG_LEAF != 0 {
                return Ok(page);
            }
            let nodes = page
                .nodes()
                .map_err(|e| LvError::Missing(format!("page {pgno}: {}", e.detail)))?;
            let child = nodes
                .iter()
                .find(|n| n.key.is_empty() || n.key.as_slice() >= key)
                .or(nodes.last())
                .and_then(|n| n.child())
                .ok_or_else(|| {
                    LvError::Missing(format!("page {pgno}: internal page without children"))
                })?;
            pgno = child;
        }
        Err(LvError::Missing("LV tree deeper than 64 levels".into()))
    }

    /// Root size and chunks (offset, bytes) of the long value keyed `key`,
    /// following the leaf chain while keys start with `key`.
    fn collect(&self, key: &[u8]) -> Result<(Option<u64>, Vec<Chunk>), LvError> {
        let mut page = self.leaf_for(key)?;
        let (mut size, mut chunks, mut total) = (None, Vec::new(), 0u64);
        for _ in 0..=self.db.page_count {
            // Node by node: a damaged node costs only the value it holds
            // (a missing chunk is caught by the offset checks in `fetch`).
            let nodes: Vec<_> = (1..page.tag_count())
                .filter_map(|i| page.node(i).ok())
                .collect();
            for n in nodes.iter().filter(|n| !n.is_deleted()) {
                if n.key.as_slice() < key {
                    continue;
                }
                if n.key == key {
                    if n.data.len() >= 8 {
                        size = Some(crate::parse::u32_at(n.data, 4) as u64);
                    }
                } else if n.key.starts_with(key) && n.key.len() == key.len() + 4 {
                    let k = &n.key[key.len()..];
                    total += n.data.len() as u64;
                    if total > MAX_LONG_VALUE {
                        return Err(LvError::Missing(format!(
                            "long value over {MAX_LONG_VALUE} bytes"
                        )));
                    }
                    chunks.push((
                        u32::from_be_bytes([k[0], k[1], k[2], k[3]]),
                        n.data.to_vec(),
                    ));
                } else {
                    return Ok((size, chunks));
                }
            }
            if page.hdr.pgno_next == 0 {
                break;
            }
            page = self.page(page.hdr.pgno_next)?;
        }
        Ok((size, chunks))
    }
}

impl LongValues for LvTree<'_> {
    fn fetch(&self, lid: &[u8]) -> Result<Vec<u8>, LvError> {
        if lid.len() != 4 && lid.len() != 8 {
            return Err(LvError::Missing(format!("LID of {} bytes", lid.len())));
        }
        let key: Vec<u8> = lid.iter().rev().copied().collect();
        let (size, chunks) = self.collect(&key)?;
        let size =
            size.ok_or_else(|| LvError::Missing(format!("no LV root for LID {}", hex(&key))))?;
        if size > MAX_LONG_VALUE {
            return Err(LvError::Missing(format!("long value of {size} bytes")));
        }
        let mut out = Vec::with_capacity(size as usize);
        for (i, (off, data)) in chunks.iter().enumerate() {
            if *off as u64 != out.len() as u64 {
                return Err(LvError::Missing(format!(
                    "LID {}: chunk at {off}, expected {}",
                    hex(&key),
                    out.len()
                )));
            }
            let end = chunks.get(i + 1).map_or(size, |c| c.0 as u64);
            let want = end.saturating_sub(*off as u64) as usize;
            if data.len() == want {
                out.extend_from_slice(data);
            } else {
                let d = decompress(data, want).map_err(|u| LvError::Undecoded(u, data.clone()))?;
                out.extend_from_slice(&d);
            }
        }
        if out.len() as u64 != size {
            return Err(LvError::Missing(format!(
                "LID {}: {} of {size} bytes found",
                hex(&key),
                out.len()
            )));
        }
        Ok(out)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One exported record.
#[derive(Debug)]
pub struct Row {
    /// Leaf page holding it.
    pub pgno: u32,
    /// Its tag on that page.
    pub itag: usize,
    /// Values in schema column order.
    pub values: Vec<Value>,
    /// Where a record that is not live was found (`export --deleted`).
    pub found: Option<Found>,
    /// Byte offset in the page of a record carved from slack.
    pub offset: Option<usize>,
}

/// Where a deleted record was found and how sure its decoding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    /// `flag-deleted`: a node flagged `fNDDeleted` (node.hxx), deleted and
    /// not yet removed by cleanup; its bytes are the record as it was (when
    /// the node is also versioned, the delete may not have committed).
    pub place: &'static str,
    /// `high` when every value decoded, `medium` when some could not be
    /// read (a deleted record's long values are usually gone too); one step
    /// lower for `free-page`: a page in free space (an available extent of
    /// the table or of the database, or flagged `fPageEmpty`) that still
    /// holds leaf nodes of the table, whose records may be older than the
    /// last change made before the page was released.
    pub confidence: &'static str,
}

/// What exporting one table met.
#[derive(Debug, Default)]
pub struct TableExport {
    /// The walk of the primary tree (pages, problems).
    pub walk: TreeWalk,
    /// Records exported.
    pub records: u64,
    /// Leaf pages of the table not reachable through its (damaged) tree
    /// whose records were exported too (see [`orphan_leaves`]).
    pub orphan_pages: Vec<u32>,
    /// Records exported from those pages.
    pub orphan_records: u64,
    /// Records that could not be decoded: (page, tag, problem).
    pub bad_records: Vec<(u32, usize, String)>,
    /// Values that could not be read (LV missing, bad layout).
    pub value_errors: u64,
    /// The first few of them: (page, column, problem).
    pub value_error_samples: Vec<(u32, String, String)>,
    /// Values left compressed (scheme without decoder).
    pub undecoded: u64,
    /// Deleted records exported (`export --deleted`).
    pub deleted_records: u64,
    /// Pages in free space whose records were exported (`--deleted`).
    pub freed_pages: Vec<u32>,
    /// Records carved from page slack (`--deleted`; see [`super::slack`]).
    pub slack_records: u64,
    /// Slack records left out: copies of a live record (same fixed and
    /// variable data), left behind when a page was reorganized or split.
    pub slack_live_copies: u64,
}

/// Walks the table's primary tree and hands every live record, decoded,
/// to `visit` as it comes; flag-deleted nodes are skipped.
pub fn export_table(
    db: &Database,
    schema: &TableSchema,
    visit: &mut dyn FnMut(&Row),
) -> TableExport {
    export_table_of(db, schema, false, visit)
}

/// [`export_table`], or with `deleted` only the flag-deleted records the
/// tree still holds, each with its [`Found`].
pub fn export_table_of(
    db: &Database,
    schema: &TableSchema,
    deleted: bool,
    visit: &mut dyn FnMut(&Row),
) -> TableExport {
    let large = is_large(db.page_size);
    let lv = LvTree::new(db, schema.long_values.map(|(_, root)| root));
    let mut ex = TableExport::default();
    let opts = WalkOptions {
        objid: Some(schema.objid),
        max_dbtime: 0,
    };
    let mut live = std::collections::HashSet::new();
    let w = walk(db, schema.pgno_fdp, opts, &mut |page, node| {
        if node.is_deleted() == deleted {
            export_node(schema, large, &lv, page, node, &mut ex, visit);
        } else if deleted {
            live.insert(head_hash(node.data, large));
        }
    });
    if deleted {
        for &pgno in &w.pages {
            if let Some(page) = leaf_of(db, schema, pgno) {
                export_slack((schema, &lv, &live), &page, "slack", &mut ex, visit);
            }
        }
        let reached: std::collections::HashSet<u32> = w.pages.iter().copied().collect();
        for page in freed_leaves(db, schema, &reached) {
            ex.freed_pages.push(page.pgno);
            for i in 1..page.tag_count() {
                if let Ok(node) = page.node(i) {
                    export_node(schema, large, &lv, &page, &node, &mut ex, visit);
                }
            }
            export_slack((schema, &lv, &live), &page, "free-page", &mut ex, visit);
        }
    }
    if !w.problems.is_empty() {
        let reached: std::collections::HashSet<u32> = w.pages.iter().copied().collect();
        for page in orphan_leaves(db, schema, &reached) {
            let before = ex.records;
            for i in 1..page.tag_count() {
                match page.node(i) {
                    Ok(node) if node.is_deleted() == deleted => {
                        export_node(schema, large, &lv, &page, &node, &mut ex, visit);
                    }
                    _ => {}
                }
            }
            ex.orphan_records += ex.records - before;
            ex.orphan_pages.push(page.pgno);
        }
    }
    ex.walk = w;
    ex
}

/// A hash of a record's fixed and variable data (its tagged area left out:
/// a carved record's end is uncertain); 0 for bytes that do not parse.
fn head_hash(data: &[u8], large: bool) -> u64 {
    use std::hash::{Hash, Hasher};
    let end = super::record::Record::parse(data, large).map_or(0, |r| r.tagged_start());
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data[..end.min(data.len())].hash(&mut h);
    h.finish()
}

/// Page `pgno` when it is a leaf of the table's primary tree (read again:
/// the walk keeps page numbers only, so memory stays one page).
fn leaf_of(db: &Database, schema: &TableSchema, pgno: u32) -> Option<Page> {
    use crate::parse::page::{FLAG_INDEX, FLAG_LONG_VALUE, FLAG_SPACE_TREE};
    let page = Page::new(pgno, db.read_page(pgno).ok()?).ok()?;
    let h = &page.hdr;
    let other = FLAG_SPACE_TREE | FLAG_INDEX | FLAG_LONG_VALUE;
    (h.objid == schema.objid && h.flags & FLAG_LEAF != 0 && h.flags & other == 0).then_some(page)
}

/// Exports the records carved from the page's slack ([`super::slack`]):
/// confidence `medium` when the record's end is known (no tagged column)
/// and every value decodes, `low` otherwise (the header checks alone
/// passed, or its last tagged value may run past its own bytes).
/// `live`: [`head_hash`] of every live record, whose slack copies are
/// left out.
fn export_slack(
    (schema, lv, live): (&TableSchema, &LvTree<'_>, &std::collections::HashSet<u64>),
    page: &Page,
    place: &'static str,
    ex: &mut TableExport,
    visit: &mut dyn FnMut(&Row),
) {
    let large = is_large(page.bytes.len());
    for region in super::slack::slack_regions(page) {
        for c in super::slack::carve(&page.bytes, region, schema) {
            let head = &page.bytes[c.offset..c.tagged_at];
            if live.contains(&head_hash(head, large)) {
                ex.slack_live_copies += 1;
                continue;
            }
            let Ok(values) = decode_record(&page.bytes[c.offset..c.end], large, schema, lv) else {
                continue;
            };
            let mut errors = 0;
            values
                .iter()
                .for_each(|v| count_value(v, &mut errors, &mut 0));
            let clean = errors == 0 && c.tagged_ok && c.end_certain;
            ex.records += 1;
            ex.deleted_records += 1;
            ex.slack_records += 1;
            visit(&Row {
                pgno: page.pgno,
                itag: 0,
                values,
                found: Some(Found {
                    place,
                    confidence: if clean { "medium" } else { "low" },
                }),
                offset: Some(c.offset),
            });
        }
    }
}

/// Value problems named one by one per table (the rest only counted).
pub const MAX_SAMPLES: usize = 10;

fn first_error(v: &Value) -> Option<String> {
    match v {
        Value::Error(e) => Some(e.clone()),
        Value::Multi(vs) => vs.iter().find_map(first_error),
        _ => None,
    }
}

fn export_node(
    schema: &TableSchema,
    large: bool,
    lv: &LvTree<'_>,
    page: &Page,
    node: &super::page::Node<'_>,
    ex: &mut TableExport,
    visit: &mut dyn FnMut(&Row),
) {
    match decode_record(node.data, large, schema, lv) {
        Ok(values) => {
            let errors_before = ex.value_errors;
            for (c, v) in schema.columns.iter().zip(&values) {
                let before = ex.value_errors;
                count_value(v, &mut ex.value_errors, &mut ex.undecoded);
                if ex.value_errors > before && ex.value_error_samples.len() < MAX_SAMPLES {
                    let what = first_error(v).unwrap_or_default();
                    ex.value_error_samples
                        .push((page.pgno, c.name.clone(), what));
                }
            }
            ex.records += 1;
            let clean = ex.value_errors == errors_before;
            let freed = ex.freed_pages.last() == Some(&page.pgno);
            let found = if freed {
                Some(Found {
                    place: "free-page",
                    confidence: if clean { "medium" } else { "low" },
                })
            } else {
                node.is_deleted().then_some(Found {
                    place: "flag-deleted",
                    confidence: if clean { "high" } else { "medium" },
                })
            };
            if found.is_some() {
                ex.deleted_records += 1;
            }
            visit(&Row {
                pgno: page.pgno,
                itag: node.itag,
                values,
                found,
                offset: None,
            });
        }
        Err(e) => ex.bad_records.push((page.pgno, node.itag, e.detail)),
    }
}

/// Leaf pages of the table that its tree walk did not reach (a torn page
/// above them): every page of the file that verifies, carries the table's
/// objid, is a leaf of the primary tree (not space, index or LV) and is not
/// among the table's available (free) extents when its space can be read.
/// Only called when the walk met problems.
pub fn orphan_leaves(
    db: &Database,
    schema: &TableSchema,
    reached: &std::collections::HashSet<u32>,
) -> Vec<Page> {
    use crate::parse::page::{FLAG_EMPTY, FLAG_INDEX, FLAG_LONG_VALUE, FLAG_SPACE_TREE};
    let avail: Vec<super::space::Extent> = db
        .read_page(schema.pgno_fdp)
        .ok()
        .and_then(|b| Page::new(schema.pgno_fdp, b).ok())
        .and_then(|root| super::space::space_of(db, &root, WalkOptions::default()).ok())
        .map(|s| s.avail)
        .unwrap_or_default();
    let other = FLAG_SPACE_TREE | FLAG_INDEX | FLAG_LONG_VALUE | FLAG_EMPTY;
    let mut out = Vec::new();
    for pgno in 1..=db.page_count {
        if reached.contains(&pgno) || avail.iter().any(|e| (e.first..=e.last).contains(&pgno)) {
            continue;
        }
        let Ok(bytes) = db.read_page(pgno) else {
            continue;
        };
        let class = db.classify(pgno, &bytes);
        if class.kind != super::classify::PageKind::Data
            || !matches!(class.checksum, crate::checksum::PageVerdict::Ok { .. })
        {
            continue;
        }
        let Ok(page) = Page::new(pgno, bytes) else {
            continue;
        };
        let h = &page.hdr;
        if h.objid == schema.objid && h.flags & FLAG_LEAF != 0 && h.flags & other == 0 {
            out.push(page);
        }
    }
    out
}

/// Leaf pages of the table's primary tree lying in free space, which its
/// walk did not reach: pages that verify, carry the table's objid, are
/// leaves (not space, index or LV pages) and are in an available extent of
/// the table or of the database, or flagged `fPageEmpty` (cpage.hxx).
pub fn freed_leaves(
    db: &Database,
    schema: &TableSchema,
    reached: &std::collections::HashSet<u32>,
) -> Vec<Page> {
    use crate::parse::page::{FLAG_EMPTY, FLAG_INDEX, FLAG_LONG_VALUE, FLAG_SPACE_TREE};
    let avail_of = |root: u32| -> Vec<super::space::Extent> {
        db.read_page(root)
            .ok()
            .and_then(|b| Page::new(root, b).ok())
            .and_then(|p| super::space::space_of(db, &p, WalkOptions::default()).ok())
            .map(|s| s.avail)
            .unwrap_or_default()
    };
    let mut avail = avail_of(schema.pgno_fdp);
    avail.extend(avail_of(super::catalog::DB_ROOT));
    let other = FLAG_SPACE_TREE | FLAG_INDEX | FLAG_LONG_VALUE;
    let mut out = Vec::new();
    for pgno in 1..=db.page_count {
        if reached.contains(&pgno) {
            continue;
        }
        let Ok(bytes) = db.read_page(pgno) else {
            continue;
        };
        if crate::parse::u32_at(&bytes, 24) != schema.objid {
            continue;
        }
        let class = db.classify(pgno, &bytes);
        if !matches!(class.checksum, crate::checksum::PageVerdict::Ok { .. }) {
            continue;
        }
        let Ok(page) = Page::new(pgno, bytes) else {
            continue;
        };
        let h = &page.hdr;
        let free =
            h.flags & FLAG_EMPTY != 0 || avail.iter().any(|e| (e.first..=e.last).contains(&pgno));
        if free && h.flags & FLAG_LEAF != 0 && h.flags & other == 0 {
            out.push(page);
        }
    }
    out
}

fn count_value(v: &Value, errors: &mut u64, undecoded: &mut u64) {
    match v {
        Value::Error(_) => *errors += 1,
        Value::Undecoded { .. } => *undecoded += 1,
        Value::Multi(vs) => vs.iter().for_each(|v| count_value(v, errors, undecoded)),
        _ => {}
    }
}
