//! Split2 / Merge2 redo at MacroCommit.
//!
//! Facts: `ErrLGRIRedoSplit` (`ese/_log/logredo.cxx` ~10279),
//! `ErrLGIRedoSplitStructures` ~8670 (records of the macro in log order
//! build the split path root → leaf; the macro's Insert / Replace /
//! FlagInsertAndReplaceData record is the operation, its key logged whole),
//! `ErrLGRIRedoInitializeSplit` ~7918 (field decoding, key parent, prefix
//! old/new), `ErrLGIRedoSplitLineinfo` ~7709 (line list = page lines with
//! the operation at ilineOper; cbPrefix = common bytes with the prefix when
//! above cbPrefixOverhead), `BTIPerformSplit` / `BTISplitMoveNodes` /
//! `BTISplitSetPrefixInSrcPage` / `BTIInsertPgnoNewAndSetPgnoSplit` /
//! `BTIInsertPgnoNew` / `BTISplitFixSiblings` (`ese/bt.cxx` ~11812–12745).
//! Merge: `ErrLGIRedoMergePath` ~8214, `ErrLGRIRedoInitializeMerge` ~8266,
//! `BTIPerformOneMerge`, `BTIMergeMoveNodes`, `BTIMergeDeleteFlagDeletedNodes`,
//! `BTIMergeFixSiblings`, `BTIChangeKeyOfPagePointer` (`ese/bt.cxx`
//! ~16266–17216), `NDEmptyPage` (`inc/node.hxx` ~608).
//!
//! The page before-images Split2/Merge2 carry are not used: the pages are
//! present (redo replays from their creation), and an image is only needed
//! when the split/merged page was flushed but the new/destination page was
//! not. Such a case is reported, not guessed.

use super::cpage::{self, Shape};
use super::page::{common, PageImage, CB_PREFIX_OVERHEAD};
use super::redo::{empty_page, redo_err, Checked, EditMode, Redo};
use crate::error::Jet;
use crate::log::record::LogRecord;
use crate::log::typed::{BeforeImage, Key, Merge, MergeFlags, Record, Split};
use crate::parse::page::{FLAG_EMPTY, FLAG_LEAF, FLAG_NEW_CHECKSUM, NODE_DELETED, NODE_VERSIONED};
use crate::parse::{u16_at, u32_at};

type R<T> = crate::error::Result<T>;

/// `CPAGE::maskFlushType` (cpage.hxx ~713): set by the buffer manager when
/// the page is written, not by the operation.
const FLUSH_TYPE_MASK: u32 = 0x18000;

/// SPLITTYPE (btsplit.hxx ~6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SplitType {
    /// `splittypeVertical`: the root's lines move to a new child.
    Vertical,
    /// `splittypeRight`: the lines from ilineSplit move to the new page.
    Right,
    /// `splittypeAppend`: the new page holds only the operation's node.
    Append,
}

/// MERGETYPE (btsplit.hxx ~16).
const MERGE_NONE: u8 = 0;
const MERGE_EMPTY_PAGE: u8 = 1;
const MERGE_FULL_RIGHT: u8 = 2;
const MERGE_PARTIAL_RIGHT: u8 = 3;
const MERGE_FULL_LEFT: u8 = 5;
const MERGE_PARTIAL_LEFT: u8 = 6;

/// A before-image flag (`ErrLGIDecompressPreimage`, logredo.cxx ~7838):
/// the image is dehydrated (tag array not at the end of the page).
const IMAGE_DEHYDRATED: u32 = 0x1;
/// The image is compressed (Xpress).
const IMAGE_XPRESS: u32 = 0x2;

/// A Split2 of the macro, with the fields redo uses (logapi.hxx ~845–950).
#[derive(Debug, Clone)]
struct SplitRec<'a> {
    record: &'a LogRecord,
    dbid: u8,
    pgno: u32,
    before: u64,
    pgno_new: u32,
    pgno_right: u32,
    right_before: u64,
    objid: u32,
    split_type: SplitType,
    /// splitoper ≠ splitoperNone: the split carries an operation.
    has_oper: bool,
    iline_oper: usize,
    iline_split: usize,
    clines: usize,
    new_flags: u32,
    split_flags: u32,
    unc_src: u16,
    unc_dest: u16,
    iline_prefix_new: i32,
    key_parent: &'a [u8],
    prefix_split_new: &'a [u8],
    before_image: Option<BeforeImage<'a>>,
}

fn split_rec<'a>(record: &'a LogRecord, s: &Split<'a>) -> R<SplitRec<'a>> {
    let split_type = match s.split_type {
        0 => SplitType::Vertical,
        1 => SplitType::Right,
        2 => SplitType::Append,
        t => {
            return Err(redo_err(
                Jet::LOG_FILE_CORRUPT,
                record,
                format!("unknown split type {t}"),
            ))
        }
    };
    Ok(SplitRec {
        record,
        dbid: s.page.dbid,
        pgno: s.page.pgno,
        before: s.page.dbtime_before,
        pgno_new: s.pgno_new,
        pgno_right: s.pgno_right,
        right_before: s.dbtime_right_before,
        objid: s.objid_fdp,
        split_type,
        has_oper: s.split_oper != 0,
        iline_oper: usize::from(s.iline_oper),
        iline_split: usize::from(s.iline_split),
        clines: usize::from(s.clines),
        new_flags: s.new_page_flags,
        split_flags: s.split_page_flags,
        unc_src: s.cb_unc_free_src,
        unc_dest: s.cb_unc_free_dest,
        iline_prefix_new: s.iline_prefix_new,
        key_parent: s.key_parent,
        prefix_split_new: s.prefix_split_new,
        before_image: s.before_image,
    })
}

/// The page before-image a Split2 or Merge2 carries, as a whole page:
/// `ErrLGIDecompressPreimage` (logredo.cxx ~7838) — Xpress-compressed or
/// dehydrated: `CPAGE::RehydratePage` (cpage.cxx ~5934) moves the tag array
/// to the end of the page and adds the growth to cbFree.
fn before_image(image: &BeforeImage, ps: usize) -> Option<Vec<u8>> {
    let (raw, flags) = (image.bytes, image.flags);
    if raw.is_empty() || raw.len() > ps {
        return None;
    }
    let dec;
    let img: &[u8] = if flags & IMAGE_XPRESS != 0 {
        // A compressed value: scheme byte, then the scheme's data
        // (compression.cxx ~1551, ~2290).
        dec = crate::db::compression::decompress(raw, ps).ok()?;
        &dec
    } else {
        raw
    };
    let cb = img.len();
    if cb == ps {
        return Some(img.to_vec());
    }
    if flags & IMAGE_DEHYDRATED == 0 || cb < 40 {
        return None;
    }
    let ntags = (u16_at(img, 34) & 0x0FFF) as usize;
    let tag_bytes = 4 * ntags;
    if tag_bytes > cb {
        return None;
    }
    let mut p = vec![0u8; ps];
    p[..cb - tag_bytes].copy_from_slice(&img[..cb - tag_bytes]);
    p[ps - tag_bytes..].copy_from_slice(&img[cb - tag_bytes..]);
    let free = u16_at(&p, 28) as usize + (ps - cb);
    p[28..30].copy_from_slice(&(free as u16).to_le_bytes());
    Some(p)
}

/// `BTISplitShrinkPages` / `BTIMergeShrinkPages` (bt.cxx): the engine
/// compacts the pages of a split or merge path when that lets them fit a
/// smaller buffer (`CPAGE::OptimizeInternalFragmentation`). Engines of the
/// Windows 7 generation (database format 0x620,17 and older) had no
/// dehydrated buffers and never did: the live Windows 7 store of the corpus
/// keeps a 5.5 KB hole in its catalog root after a vertical split.
fn shrink_page(redo: &Redo, dbid: u8, p: &mut PageImage) {
    if shrinks(redo, dbid) {
        p.optimize_internal_fragmentation();
    }
}

/// Whether [`shrink_page`] compacts the pages of database `dbid`.
fn shrinks(redo: &Redo, dbid: u8) -> bool {
    let update = redo
        .dbs
        .get(&dbid)
        .filter(|d| d.header.len() >= 236)
        .map(|d| u32_at(&d.header, 232));
    update.is_some_and(|u| u >= 20)
}

/// Page header offsets (docs/format/pages.md §2): pgnoPrev, pgnoNext,
/// cbUncommittedFree, fFlags.
const HDR_PREV: usize = 16;
const HDR_NEXT: usize = 20;
const HDR_UNC_FREE: usize = 30;
const HDR_FLAGS: usize = 36;

fn set_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// `NDEmptyPage` on the bytes (see [`cpage::empty`]) with fPageEmpty set.
fn emptied(b: &mut [u8], sh: &mut Shape) -> bool {
    cpage::empty(b, sh) && {
        add_flags(b, FLAG_EMPTY);
        true
    }
}

/// Sets page flags `flags` in the header.
fn add_flags(b: &mut [u8], flags: u32) {
    let f = u32_at(b, HDR_FLAGS) | flags;
    set_u32(b, HDR_FLAGS, f);
}

/// A page of a split or merge path.
#[derive(Clone, Copy)]
struct PageAt<'a> {
    record: &'a LogRecord,
    dbid: u8,
    pgno: u32,
}

/// A sibling pointer to set.
#[derive(Clone, Copy)]
enum Side {
    Prev(u32),
    Next(u32),
}

/// Sets a sibling pointer of page `at` (checked as `c`) and writes it
/// (`BTISplitFixSiblings`, `BTIMergeFixSiblings`): in place on the header
/// when the page allows, else through [`PageImage`].
fn set_sibling(
    redo: &mut Redo,
    at: PageAt,
    c: Checked,
    side: Side,
    shrink: bool,
    dbtime: u64,
) -> R<()> {
    let PageAt { record, dbid, pgno } = at;
    if let Checked::InPlace = c {
        let edit = |b: &mut [u8], _: &mut Shape, _: &mut Vec<u8>| {
            match side {
                Side::Prev(v) => set_u32(b, HDR_PREV, v),
                Side::Next(v) => set_u32(b, HDR_NEXT, v),
            }
            true
        };
        let mode = EditMode {
            shrink,
            steps: false,
        };
        if redo.edit_at(record, dbid, pgno, dbtime, mode, edit)? {
            return Ok(());
        }
    }
    if let Some(mut p) = redo.image_of(record, dbid, pgno, c)? {
        match side {
            Side::Prev(v) => p.prev = v,
            Side::Next(v) => p.next = v,
        }
        if shrink {
            p.optimize_internal_fragmentation();
        }
        redo.write(record, dbid, pgno, p, dbtime)?;
    }
    Ok(())
}

/// Where the logged image and our serialisation of the same content place
/// the lines differently: ibMicFree, then the first tag whose (ib, cb)
/// differs; `None` when they agree.
fn placement_difference(img: &[u8], ours: &PageImage) -> Option<String> {
    use crate::parse::page::{parse_page_header, read_tag};
    let b = match ours.to_bytes() {
        Ok(b) => b,
        Err(e) => return Some(e.detail),
    };
    let (Ok(h1), Ok(h2)) = (parse_page_header(img), parse_page_header(&b)) else {
        return Some("header unreadable".into());
    };
    if h1.ib_mic_free != h2.ib_mic_free {
        return Some(format!(
            "ibMicFree {} logged, {} redone",
            h1.ib_mic_free, h2.ib_mic_free
        ));
    }
    let n = h1.itag_mic_free as usize;
    for itag in 0..n.min(h2.itag_mic_free as usize) {
        let (Ok(a), Ok(o)) = (read_tag(img, itag, n), read_tag(&b, itag, n)) else {
            return Some(format!("tag {itag} unreadable"));
        };
        if (a.ib, a.cb) != (o.ib, o.cb) {
            return Some(format!(
                "tag {itag} at {}+{} logged, {}+{} redone",
                a.ib, a.cb, o.ib, o.cb
            ));
        }
    }
    None
}

/// Compares a logged before-image with the page redo built.
fn compare_before_image(
    redo: &mut Redo,
    record: &LogRecord,
    pgno: u32,
    img: Option<Vec<u8>>,
    ours: &PageImage,
) {
    let st = &mut redo.stats.before_images;
    let Some(img) = img else {
        st.not_compared += 1;
        return;
    };
    st.checked += 1;
    let theirs = match PageImage::parse(&img) {
        Ok(p) => p,
        Err(e) => {
            st.differences.push(format!(
                "{} page {pgno}: before-image unreadable: {}",
                record.lgpos.eseutil_text(),
                e.detail
            ));
            return;
        }
    };
    let mut diffs = Vec::new();
    // Flush-type and checksum-format bits are set when the page is
    // written; the image was taken after the page got the record's dbtime.
    let mask = !(FLUSH_TYPE_MASK | FLAG_NEW_CHECKSUM);
    if (theirs.prev, theirs.next, theirs.objid, theirs.flags & mask)
        != (ours.prev, ours.next, ours.objid, ours.flags & mask)
    {
        diffs.push(format!(
            "header (prev {}/{} next {}/{} objid {}/{} flags {:x}/{:x})",
            theirs.prev,
            ours.prev,
            theirs.next,
            ours.next,
            theirs.objid,
            ours.objid,
            theirs.flags,
            ours.flags
        ));
    }
    if theirs.ext != ours.ext {
        diffs.push("external header / prefix".into());
    }
    let mut version_only = false;
    if theirs.lines.len() != ours.lines.len() {
        diffs.push(format!(
            "{} nodes logged, {} redone",
            theirs.lines.len(),
            ours.lines.len()
        ));
    } else {
        for i in 0..ours.lines.len() {
            let (a, b) = (&theirs.lines[i], &ours.lines[i]);
            if a.flags != b.flags && (a.flags ^ b.flags) == NODE_VERSIONED {
                version_only = true;
            }
            if theirs.key(i) != ours.key(i)
                || a.data != b.data
                || (a.flags & !NODE_VERSIONED) != (b.flags & !NODE_VERSIONED)
            {
                diffs.push(format!(
                    "node {i} differs (flags {:x}/{:x}, key {}/{} bytes, data {}/{} bytes)",
                    a.flags,
                    b.flags,
                    theirs.key(i).len(),
                    ours.key(i).len(),
                    a.data.len(),
                    b.data.len()
                ));
                break;
            }
        }
    }
    if diffs.is_empty() {
        st.matched += 1;
        if version_only {
            st.version_bit_only += 1;
        }
        match placement_difference(&img, ours) {
            None => st.same_placement += 1,
            Some(d) => st
                .placement_differences
                .push(format!("{} page {pgno}: {d}", record.lgpos.eseutil_text())),
        }
    } else {
        st.differences.push(format!(
            "{} page {pgno}: {}",
            record.lgpos.eseutil_text(),
            diffs.join("; ")
        ));
    }
}

/// A line being moved: full key, data, flags.
#[derive(Debug, Clone)]
struct Kdf {
    key: Vec<u8>,
    data: Vec<u8>,
    flags: u8,
    /// Where the line sat on its page (kept when it stays there).
    slot: Option<crate::recovery::page::Slot>,
}

fn kdfs(p: &PageImage) -> Vec<Kdf> {
    (0..p.lines.len())
        .map(|i| Kdf {
            key: p.key(i),
            data: p.lines[i].data.clone(),
            flags: p.lines[i].flags,
            slot: p.lines[i].slot,
        })
        .collect()
}

fn cb_prefix(prefix: &[u8], key: &[u8]) -> usize {
    let n = common(prefix, key);
    if n > CB_PREFIX_OVERHEAD {
        n
    } else {
        0
    }
}

/// The page's lines become `lines`, each encoded against `prefix_key`
/// (their data moved, not copied).
fn fill(p: &mut PageImage, lines: Vec<Kdf>, prefix_key: Option<&[u8]>) {
    let prefix = prefix_key.unwrap_or_default();
    p.lines = lines
        .into_iter()
        .map(|k| {
            let cb = cb_prefix(prefix, &k.key);
            let mut l = p.make_line(&k.key, cb, &[], k.flags);
            l.data = k.data;
            l.slot = k.slot;
            l
        })
        .collect();
}

/// SPLITOPER (btsplit.hxx ~32): what the split's operation does to its
/// node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OperKind {
    /// `splitoperInsert`: a new node at ilineOper.
    Insert,
    /// `splitoperReplace`: the node's data replaced.
    Replace,
    /// `splitoperFlagInsertAndReplaceData`: the node undeleted, its data
    /// replaced.
    FlagInsertAndReplaceData,
}

/// The operation of a split (the macro's node record), borrowed from the
/// decoded record (or, above the leaf, from the child's split record).
#[derive(Debug, Clone, Copy)]
struct Oper<'a> {
    key: Key<'a>,
    data: OperData<'a>,
    versioned: bool,
    kind: OperKind,
}

/// The data of an [`Oper`]: the logged node's, or a separator's page
/// number (little-endian).
#[derive(Debug, Clone, Copy)]
enum OperData<'a> {
    Logged(&'a [u8]),
    Pgno([u8; 4]),
}

impl Oper<'_> {
    fn data(&self) -> &[u8] {
        match &self.data {
            OperData::Logged(d) => d,
            OperData::Pgno(p) => p,
        }
    }
}

fn oper_of<'a>(record: &LogRecord, decoded: &Record<'a>) -> R<Oper<'a>> {
    let versioned = decoded.node().is_some_and(|n| n.page.flags.versioned());
    let (key, data, kind) = match *decoded {
        Record::Insert { key, data, .. } => (key, data, OperKind::Insert),
        Record::Replace(ref x) => (Key::default(), x.data, OperKind::Replace),
        Record::FlagInsertAndReplaceData { key, data, .. } => {
            let key = Key {
                prefix: &[],
                suffix: key,
            };
            (key, data, OperKind::FlagInsertAndReplaceData)
        }
        _ => {
            return Err(redo_err(
                Jet::LOG_FILE_CORRUPT,
                record,
                format!(
                    "unsupported operation record type {} inside a split macro",
                    record.lrtyp
                ),
            ))
        }
    };
    Ok(Oper {
        key,
        data: OperData::Logged(data),
        versioned,
        kind,
    })
}

/// Redoes the split path of one macro (`ErrLGRIRedoSplit` ~10279).
pub(crate) fn redo_split(
    redo: &mut Redo,
    splits: &[(&LogRecord, &Split)],
    op: Option<(&LogRecord, &Record)>,
    dbtime: u64,
) -> R<()> {
    let recs: Vec<SplitRec> = splits
        .iter()
        .map(|(record, s)| split_rec(record, s))
        .collect::<R<_>>()?;
    let leaf_op = op
        .map(|(record, decoded)| oper_of(record, decoded))
        .transpose()?;
    // Top-down, as BTIPerformSplit: level i's operation is the child's
    // (level i+1) key parent, the leaf's is the macro's record.
    for (i, s) in recs.iter().enumerate() {
        let child = recs.get(i + 1);
        if s.pgno_new == 0 {
            insert_separator(redo, s, child, dbtime)?;
            continue;
        }
        let oper = split_operation(s, child, leaf_op)?;
        split_one(redo, s, oper, child, dbtime)?;
    }
    Ok(())
}

/// A path page without split: the child's separator is inserted and the
/// next node repointed (`BTIInsertPgnoNewAndSetPgnoSplit`).
fn insert_separator(redo: &mut Redo, s: &SplitRec, child: Option<&SplitRec>, dbtime: u64) -> R<()> {
    let c = child.ok_or_else(|| {
        redo_err(
            Jet::LOG_FILE_CORRUPT,
            s.record,
            "split path ends without a split",
        )
    })?;
    let checked = redo.check_in_cache(s.record, s.dbid, s.pgno, dbtime, s.before)?;
    if let Checked::InPlace = checked {
        let shrink = shrinks(redo, s.dbid);
        let edit = |b: &mut [u8], sh: &mut Shape, scratch: &mut Vec<u8>| {
            separator_in_place(b, sh, scratch, c)
        };
        let mode = EditMode {
            shrink,
            steps: true,
        };
        if redo.edit_at(s.record, s.dbid, s.pgno, dbtime, mode, edit)? {
            return Ok(());
        }
    }
    let Some(mut p) = redo.image_of(s.record, s.dbid, s.pgno, checked)? else {
        return Ok(());
    };
    separator_image(&mut p, s, c)?;
    shrink_page(redo, s.dbid, &mut p);
    redo.write(s.record, s.dbid, s.pgno, p, dbtime)
}

/// [`insert_separator`]'s change through [`PageImage`].
fn separator_image(p: &mut PageImage, s: &SplitRec, c: &SplitRec) -> R<()> {
    let at = first_after(p.lines.len(), |j| {
        let k = p.key(j);
        k.is_empty() || k.as_slice() > c.key_parent
    })
    .ok_or_else(|| {
        redo_err(
            Jet::DATABASE_CORRUPTED,
            s.record,
            format!("no place for the separator on page {}", s.pgno),
        )
    })?;
    let cb = p.cb_common(c.key_parent);
    let line = p.make_line(c.key_parent, cb, &c.pgno.to_le_bytes(), 0);
    p.lines.insert(at, line);
    p.lines[at + 1].data = c.pgno_new.to_le_bytes().to_vec();
    Ok(())
}

/// [`insert_separator`] on the bytes of the parent page, as its
/// [`PageImage`] path writes it (a changed line is rewritten before a new
/// one is placed): the node at the separator's place points at the new
/// page (`Replace_`), then the separator goes before it (`Insert_`).
/// `false`: declined.
fn separator_in_place(b: &mut [u8], sh: &mut Shape, scratch: &mut Vec<u8>, c: &SplitRec) -> bool {
    let at = first_after(sh.lines(), |j| empty_or_after(b, sh, j, c.key_parent));
    let Some(at) = at else {
        return false;
    };
    let next = cpage::node_at(b, sh, at);
    let (cb, suffix) = (next.cb_prefix, next.suffix.len());
    scratch.clear();
    let f = cpage::encode_node(
        scratch,
        sh.large(),
        next.flags,
        cb,
        next.suffix,
        &c.pgno_new.to_le_bytes(),
    );
    if !cpage::plain_node(cb, suffix, 4) || !cpage::replace(b, sh, at + 1, scratch, f) {
        return false;
    }
    let cb = cb_prefix(cpage::prefix(b, sh), c.key_parent);
    let key = c.key_parent;
    scratch.clear();
    let f = cpage::encode_node(
        scratch,
        sh.large(),
        0,
        cb,
        &key[cb..],
        &c.pgno.to_le_bytes(),
    );
    cpage::plain_node(cb, key.len() - cb, 4) && cpage::insert(b, sh, at + 1, scratch, f)
}

/// The operation of one split level: the macro's record at the leaf, the
/// child's separator above it.
fn split_operation<'a>(
    s: &SplitRec,
    child: Option<&'a SplitRec>,
    leaf_op: Option<Oper<'a>>,
) -> R<Option<Oper<'a>>> {
    if !s.has_oper {
        return Ok(None);
    }
    if s.new_flags & FLAG_LEAF != 0 {
        let op = leaf_op.ok_or_else(|| {
            redo_err(
                Jet::LOG_FILE_CORRUPT,
                s.record,
                "split with an operation but no operation record in the macro",
            )
        })?;
        return Ok(Some(op));
    }
    let c = child.ok_or_else(|| {
        redo_err(
            Jet::LOG_FILE_CORRUPT,
            s.record,
            "internal split without child split",
        )
    })?;
    Ok(Some(Oper {
        key: Key {
            prefix: &[],
            suffix: c.key_parent,
        },
        data: OperData::Pgno(c.pgno.to_le_bytes()),
        versioned: false,
        kind: OperKind::Insert,
    }))
}

/// The node flags an operation gives its node (fNDVersion on leaves).
fn oper_flags(o: &Oper, leaf: bool) -> u8 {
    if o.versioned && leaf {
        NODE_VERSIONED
    } else {
        0
    }
}

/// One split (`BTIPerformSplit`): the line info, the new page, the split
/// page re-expressed, the child pointer, siblings.
fn split_one(
    redo: &mut Redo,
    s: &SplitRec,
    oper: Option<Oper>,
    child: Option<&SplitRec>,
    dbtime: u64,
) -> R<()> {
    let record = s.record;
    let leaf = s.new_flags & FLAG_LEAF != 0;
    let Some((src, redo_new)) = split_source(redo, s, oper, dbtime)? else {
        return Ok(());
    };
    if let Checked::InPlace = src {
        if append_in_place(redo, s, oper, child, redo_new, dbtime)? {
            return Ok(());
        }
    }
    let Some(mut src) = redo.image_of(record, s.dbid, s.pgno, src)? else {
        return Ok(());
    };
    if let Some(image) = s.before_image.filter(|i| !i.bytes.is_empty()) {
        let ps = redo.page_size(record, s.dbid)?;
        let img = before_image(&image, ps);
        compare_before_image(redo, record, s.pgno, img, &src);
    }
    let mut lines = split_line_info(s, kdfs(&src), 0, oper)?;
    let moved = lines.split_off(s.iline_split);
    let mut newp = split_new_page(redo, s, src.objid, moved, dbtime)?;
    split_source_page(s, &mut src, lines);
    if leaf {
        newp.cb_unc_free = s.unc_dest;
        src.cb_unc_free = s.unc_src;
    }
    // Internal level with a child split: repoint line ilineOper+1.
    if let Some(c) = child.filter(|_| !leaf && s.has_oper) {
        repoint_child(s, c, &mut src, &mut newp)?;
    }
    let horizontal_leaf = s.split_type != SplitType::Vertical && leaf;
    if horizontal_leaf {
        newp.prev = s.pgno;
        src.next = s.pgno_new;
        if s.pgno_right != 0 {
            newp.next = s.pgno_right;
        }
    }
    shrink_page(redo, s.dbid, &mut src);
    redo.write(record, s.dbid, s.pgno, src, dbtime)?;
    if redo_new {
        redo.write(record, s.dbid, s.pgno_new, newp, dbtime)?;
    }
    if horizontal_leaf {
        right_sibling(redo, s, dbtime)?;
    }
    Ok(())
}

/// The split page to work from and whether the new page needs redo;
/// `None` when nothing more is to be done (the split page carries the
/// split: only the new page of an append split, or the right sibling).
fn split_source(
    redo: &mut Redo,
    s: &SplitRec,
    oper: Option<Oper>,
    dbtime: u64,
) -> R<Option<(Checked, bool)>> {
    let record = s.record;
    let src = redo.check_in_cache(record, s.dbid, s.pgno, dbtime, s.before)?;
    let redo_new = redo.check_new(record, s.dbid, s.pgno_new, dbtime)?;
    match src {
        Checked::Skip if !redo_new => {
            right_sibling(redo, s, dbtime)?;
            Ok(None)
        }
        Checked::Skip if s.split_type == SplitType::Append => {
            append_new_page(redo, s, oper, dbtime)?;
            right_sibling(redo, s, dbtime)?;
            Ok(None)
        }
        Checked::Skip => {
            // ErrLGRIRedoInitializeSplit ~8000: the split page was flushed
            // after the split, the new page was not; restart from the
            // logged before-image at dbtimeBefore (ErrReplacePageImage ~107).
            let ps = redo.page_size(record, s.dbid)?;
            let p = restart_image(redo, record, s.before_image, ps, s.before).ok_or_else(|| {
                redo_err(
                    Jet::DB_TIME_TOO_NEW,
                    record,
                    format!(
                        "split page {} already carries the split but new page {} does not, and the record has no usable before-image",
                        s.pgno, s.pgno_new
                    ),
                )
            })??;
            Ok(Some((Checked::Image(p), true)))
        }
        c => Ok(Some((c, redo_new))),
    }
}

/// An append split (`splittypeAppend`) whose operation lands on the new
/// page, done on the bytes of the split page: the lines that move to the
/// new page deleted (last first), the header's cbUncommittedFree and
/// pgnoNext set (`BTISplitSetCbAvailAndUncommitted`,
/// `BTISplitFixSiblings`); the lines that stay are kept as they are
/// (`BTISplitSetPrefixInSrcPage` keeps the prefix), which is what the
/// [`PageImage`] path writes when each of them is already encoded against
/// the prefix as [`fill`] encodes it. `false`: not taken, nothing written.
fn append_in_place(
    redo: &mut Redo,
    s: &SplitRec,
    oper: Option<Oper>,
    child: Option<&SplitRec>,
    redo_new: bool,
    dbtime: u64,
) -> R<bool> {
    let has_image = s.before_image.is_some_and(|i| !i.bytes.is_empty());
    if s.split_type != SplitType::Append
        || has_image
        || oper.is_some_and(|_| s.iline_oper < s.iline_split)
    {
        return Ok(false);
    }
    let (record, leaf) = (s.record, s.new_flags & FLAG_LEAF != 0);
    // The lines that move: from ilineSplit on (the operation among them).
    let (from, tail, objid) = {
        let c = redo.page_at(record, s.dbid, s.pgno)?;
        match *c.shape {
            Some(sh) if kept_as_filled(c.bytes, &sh, s.iline_split) => {
                let from = s.iline_split.min(sh.lines());
                (from, moving_lines(c.bytes, &sh, from), u32_at(c.bytes, 24))
            }
            _ => return Ok(false),
        }
    };
    let mut moved = split_line_info(s, tail, from, oper)?;
    let moved = moved.split_off(s.iline_split - from);
    let mut newp = split_new_page(redo, s, objid, moved, dbtime)?;
    if let Some(c) = child.filter(|_| !leaf && s.has_oper) {
        // ilineOper + 1 ≥ ilineSplit: on the new page.
        let line = newp.lines.get_mut(s.iline_oper + 1 - s.iline_split);
        let line = line.ok_or_else(|| {
            redo_err(
                Jet::DATABASE_CORRUPTED,
                record,
                "page pointer after the separator is missing",
            )
        })?;
        line.data = c.pgno_new.to_le_bytes().to_vec();
    }
    if leaf {
        newp.cb_unc_free = s.unc_dest;
        newp.prev = s.pgno;
        if s.pgno_right != 0 {
            newp.next = s.pgno_right;
        }
    }
    let shrink = shrinks(redo, s.dbid);
    let edit = |b: &mut [u8], sh: &mut Shape, _: &mut Vec<u8>| append_source(b, sh, s);
    let mode = EditMode {
        shrink,
        steps: false,
    };
    if !redo.edit_at(record, s.dbid, s.pgno, dbtime, mode, edit)? {
        return Ok(false);
    }
    if redo_new {
        redo.write(record, s.dbid, s.pgno_new, newp, dbtime)?;
    }
    if leaf {
        right_sibling(redo, s, dbtime)?;
    }
    Ok(true)
}

/// The split page of [`append_in_place`] on its bytes: the lines from
/// ilineSplit on deleted, last first; on a leaf cbUncommittedFree and
/// pgnoNext set.
fn append_source(b: &mut [u8], sh: &mut Shape, s: &SplitRec) -> bool {
    for itag in (s.iline_split + 1..sh.lines() + 1).rev() {
        cpage::delete(b, sh, itag);
    }
    if s.new_flags & FLAG_LEAF != 0 {
        b[HDR_UNC_FREE..HDR_UNC_FREE + 2].copy_from_slice(&s.unc_src.to_le_bytes());
        set_u32(b, HDR_NEXT, s.pgno_new);
    }
    true
}

/// Whether the lines before `iline_split` are each encoded against the
/// page prefix as [`fill`] would encode them again (cbPrefix = the common
/// bytes with the prefix when above cbPrefixOverhead).
fn kept_as_filled(b: &[u8], sh: &Shape, iline_split: usize) -> bool {
    let prefix = cpage::prefix(b, sh);
    (0..iline_split.min(sh.lines())).all(|j| {
        let n = cpage::node_at(b, sh, j);
        let c = n.cb_prefix.min(prefix.len());
        let same = if c < prefix.len() {
            c + common(&prefix[c..], n.suffix)
        } else {
            c
        };
        let want = if same > CB_PREFIX_OVERHEAD { same } else { 0 };
        want == n.cb_prefix
    })
}

/// The page's lines from `from` on, read whole, for [`split_line_info`].
fn moving_lines(b: &[u8], sh: &Shape, from: usize) -> Vec<Kdf> {
    (from..sh.lines())
        .map(|j| {
            let n = cpage::node_at(b, sh, j);
            let mut key = Vec::new();
            cpage::key_into(b, sh, j, &mut key);
            Kdf {
                key,
                data: n.data.to_vec(),
                flags: n.flags,
                slot: None,
            }
        })
        .collect()
}

/// The page a logged before-image restarts from, at `dbtime_before`;
/// `None` when there is no usable image.
fn restart_image(
    redo: &mut Redo,
    record: &LogRecord,
    image: Option<BeforeImage>,
    ps: usize,
    dbtime_before: u64,
) -> Option<R<PageImage>> {
    let img = before_image(&image?, ps)?;
    let parsed = PageImage::parse(&img).map(|mut p| {
        p.dbtime = dbtime_before;
        // The image predates the write that sets the checksum format;
        // flush-type bits belong to the buffer manager.
        p.flags = (p.flags | FLAG_NEW_CHECKSUM) & !FLUSH_TYPE_MASK;
        redo.stats.before_images.used += 1;
        p
    });
    Some(parsed.map_err(|e| {
        redo_err(
            Jet::LOG_FILE_CORRUPT,
            record,
            format!("before-image: {}", e.detail),
        )
    }))
}

/// Append split, split page already written, new page not
/// (ErrLGIRedoSplitLineinfo ~7728): the new page holds only the
/// operation's node.
fn append_new_page(redo: &mut Redo, s: &SplitRec, oper: Option<Oper>, dbtime: u64) -> R<()> {
    let leaf = s.new_flags & FLAG_LEAF != 0;
    let ps = redo.page_size(s.record, s.dbid)?;
    let mut newp = PageImage::new(ps, s.objid, s.new_flags, dbtime);
    if let Some(o) = oper.filter(|o| o.kind == OperKind::Insert) {
        let k = Kdf {
            key: o.key.to_vec(),
            data: o.data().to_vec(),
            flags: oper_flags(&o, leaf),
            slot: None,
        };
        let prefix = (s.iline_prefix_new >= 0).then(|| o.key.to_vec());
        if let Some(p) = &prefix {
            newp.ext = p.clone();
        }
        fill(&mut newp, vec![k], prefix.as_deref());
    }
    if leaf {
        newp.prev = s.pgno;
        newp.next = s.pgno_right;
        newp.cb_unc_free = s.unc_dest;
    }
    redo.write(s.record, s.dbid, s.pgno_new, newp, dbtime)
}

/// Line info (`ErrLGIRedoSplitLineinfo` ~7709): the page's lines with the
/// operation at ilineOper; as many as the record says. `lines` are the
/// page's lines from `from` on (`from` ≤ ilineOper when there is an
/// operation), and so is the result.
fn split_line_info(
    s: &SplitRec,
    mut lines: Vec<Kdf>,
    from: usize,
    oper: Option<Oper>,
) -> R<Vec<Kdf>> {
    let record = s.record;
    let leaf = s.new_flags & FLAG_LEAF != 0;
    if let Some(o) = oper {
        let n = from + lines.len() + usize::from(o.kind == OperKind::Insert);
        if s.iline_oper >= n {
            return Err(redo_err(
                Jet::DATABASE_CORRUPTED,
                record,
                format!("ilineOper {} beyond {} lines", s.iline_oper, n),
            ));
        }
        let at = s.iline_oper.checked_sub(from).ok_or_else(|| {
            redo_err(
                Jet::DATABASE_CORRUPTED,
                record,
                "ilineOper before the lines read",
            )
        })?;
        let flags = oper_flags(&o, leaf);
        match o.kind {
            OperKind::Insert => lines.insert(
                at,
                Kdf {
                    key: o.key.to_vec(),
                    data: o.data().to_vec(),
                    flags,
                    slot: None,
                },
            ),
            // The operation's node is deleted and inserted again
            // (BTISplitMoveNodes): it loses its place.
            OperKind::Replace => {
                let line = &mut lines[at];
                line.data.clear();
                line.data.extend_from_slice(o.data());
                line.flags |= flags;
                line.slot = None;
            }
            OperKind::FlagInsertAndReplaceData => {
                let line = &mut lines[at];
                line.data.clear();
                line.data.extend_from_slice(o.data());
                line.flags = (line.flags & !NODE_DELETED) | flags;
                line.slot = None;
            }
        }
    }
    let total = from + lines.len();
    if total != s.clines {
        return Err(redo_err(
            Jet::DATABASE_CORRUPTED,
            record,
            format!(
                "split of page {}: {} lines with the operation, the record says {}",
                s.pgno, total, s.clines
            ),
        ));
    }
    if s.iline_split > total {
        return Err(redo_err(
            Jet::DATABASE_CORRUPTED,
            record,
            "ilineSplit beyond the lines",
        ));
    }
    Ok(lines)
}

/// The new page: the moved lines under their prefix (ilinePrefixNew).
fn split_new_page(
    redo: &mut Redo,
    s: &SplitRec,
    objid: u32,
    moved: Vec<Kdf>,
    dbtime: u64,
) -> R<PageImage> {
    let ps = redo.page_size(s.record, s.dbid)?;
    let mut newp = PageImage::new(ps, objid, s.new_flags, dbtime);
    let prefix_new: Option<Vec<u8>> = if s.iline_prefix_new >= 0 {
        let k = moved.get(s.iline_prefix_new as usize).ok_or_else(|| {
            redo_err(
                Jet::DATABASE_CORRUPTED,
                s.record,
                "ilinePrefixNew beyond the moved lines",
            )
        })?;
        Some(k.key.clone())
    } else {
        None
    };
    fill(&mut newp, moved, prefix_new.as_deref());
    if let Some(pk) = prefix_new {
        newp.ext = pk;
    }
    Ok(newp)
}

/// The split page after the split (`BTISplitSetPrefixInSrcPage`): a
/// vertical split leaves the root one node (empty key, data pgnoNew);
/// otherwise the lines left, re-expressed against the new prefix (append
/// splits keep the page's prefix).
fn split_source_page(s: &SplitRec, src: &mut PageImage, lines: Vec<Kdf>) {
    match s.split_type {
        SplitType::Vertical => {
            src.flags = s.split_flags | (src.flags & FLAG_NEW_CHECKSUM);
            src.lines.clear();
            let root = src.make_line(&[], 0, &s.pgno_new.to_le_bytes(), 0);
            src.lines.push(root);
        }
        SplitType::Right => {
            src.reset_prefix(s.prefix_split_new.to_vec());
            fill(src, lines, Some(s.prefix_split_new));
        }
        SplitType::Append => {
            let prefix = src.prefix().to_vec();
            fill(src, lines, Some(&prefix));
        }
    }
}

/// The node after the separator points at the child's new page.
fn repoint_child(s: &SplitRec, c: &SplitRec, src: &mut PageImage, newp: &mut PageImage) -> R<()> {
    let j = s.iline_oper + 1;
    let target = if j >= s.iline_split {
        newp.lines.get_mut(j - s.iline_split)
    } else {
        src.lines.get_mut(j)
    };
    let line = target.ok_or_else(|| {
        redo_err(
            Jet::DATABASE_CORRUPTED,
            s.record,
            "page pointer after the separator is missing",
        )
    })?;
    line.data = c.pgno_new.to_le_bytes().to_vec();
    Ok(())
}

/// `BTISplitFixSiblings`: the right sibling of a leaf split points back at
/// the new page.
fn right_sibling(redo: &mut Redo, s: &SplitRec, dbtime: u64) -> R<()> {
    if s.pgno_right == 0 || s.new_flags & FLAG_LEAF == 0 {
        return Ok(());
    }
    let (record, dbid, pgno) = (s.record, s.dbid, s.pgno_right);
    let c = redo.check_in_cache(record, dbid, pgno, dbtime, s.right_before)?;
    let at = PageAt { record, dbid, pgno };
    set_sibling(redo, at, c, Side::Prev(s.pgno_new), false, dbtime)
}

/// A Merge2 of the macro, with the fields redo uses (logapi.hxx ~954–1030).
struct MergeRec<'a> {
    record: &'a LogRecord,
    dbid: u8,
    pgno: u32,
    before: u64,
    iline: usize,
    pgno_right: u32,
    right_before: u64,
    pgno_left: u32,
    left_before: u64,
    unc_dest: u16,
    iline_merge: usize,
    flags: MergeFlags,
    merge_type: u8,
    key_sep: &'a [u8],
    before_image: Option<BeforeImage<'a>>,
}

fn merge_rec<'a>(record: &'a LogRecord, m: &Merge<'a>) -> MergeRec<'a> {
    MergeRec {
        record,
        dbid: m.page.dbid,
        pgno: m.page.pgno,
        before: m.page.dbtime_before,
        iline: usize::from(m.page.iline),
        pgno_right: m.pgno_right,
        right_before: m.dbtime_right_before,
        pgno_left: m.pgno_left,
        left_before: m.dbtime_left_before,
        unc_dest: m.cb_unc_free_dest,
        iline_merge: usize::from(m.iline_merge),
        flags: m.flags,
        merge_type: m.merge_type,
        key_sep: m.key_sep,
        before_image: m.before_image,
    }
}

/// Redoes the merge path of one macro (`ErrLGRIRedoMerge` ~10141).
pub(crate) fn redo_merge(
    redo: &mut Redo,
    merges: &[(&LogRecord, &Merge)],
    all: &[(&LogRecord, Record)],
    dbtime: u64,
) -> R<()> {
    if let Some((record, _)) = all.iter().find(|(_, d)| !matches!(d, Record::Merge(_))) {
        return Err(redo_err(
            Jet::LOG_FILE_CORRUPT,
            record,
            "unsupported: a node record inside a merge macro",
        ));
    }
    let recs: Vec<MergeRec> = merges
        .iter()
        .map(|(record, m)| merge_rec(record, m))
        .collect();
    // Leaf = the last record of the path (ErrLGIRedoMergeStructures builds
    // root → leaf in log order).
    let Some((leaf, path)) = recs.split_last() else {
        return Ok(());
    };
    for m in path {
        merge_parent(redo, m, leaf, dbtime)?;
    }
    merge_leaf(redo, leaf, dbtime)
}

/// A page above the merged leaf: its node deleted or its separator key
/// changed (`BTIPerformOneMerge`, `BTIChangeKeyOfPagePointer`). A parent's
/// dbtimeBefore comes from its child's dbtimeParentBefore
/// (ErrLGIRedoMergePath); they agree in well-formed logs.
fn merge_parent(redo: &mut Redo, m: &MergeRec, leaf: &MergeRec, dbtime: u64) -> R<()> {
    let checked = redo.check_in_cache(m.record, m.dbid, m.pgno, dbtime, m.before)?;
    if let Checked::InPlace = checked {
        let shrink = shrinks(redo, m.dbid);
        let edit = |b: &mut [u8], sh: &mut Shape, scratch: &mut Vec<u8>| {
            parent_in_place(b, sh, scratch, m, leaf.merge_type)
        };
        // A deletion may be followed by a Replace_ that declines.
        let steps = m.flags.has(MergeFlags::DELETE_NODE) && !m.flags.has(MergeFlags::EMPTY_PAGE);
        let mode = EditMode { shrink, steps };
        if redo.edit_at(m.record, m.dbid, m.pgno, dbtime, mode, edit)? {
            return Ok(());
        }
    }
    let Some(mut p) = redo.image_of(m.record, m.dbid, m.pgno, checked)? else {
        return Ok(());
    };
    parent_image(&mut p, m, leaf.merge_type)?;
    shrink_page(redo, m.dbid, &mut p);
    redo.write(m.record, m.dbid, m.pgno, p, dbtime)
}

/// [`merge_parent`]'s change through [`PageImage`].
fn parent_image(p: &mut PageImage, m: &MergeRec, leaf_type: u8) -> R<()> {
    let delete_node = m.flags.has(MergeFlags::DELETE_NODE);
    let key_change = m.flags.has(MergeFlags::KEY_CHANGE);
    if leaf_type == MERGE_FULL_LEFT && delete_node && key_change {
        return Err(redo_err(
            Jet::LOG_FILE_CORRUPT,
            m.record,
            "unsupported merge variant (full left merge with key change)",
        ));
    } else if delete_node {
        if m.iline >= p.lines.len() {
            return Err(redo_err(
                Jet::DATABASE_CORRUPTED,
                m.record,
                "merge: iline beyond the page",
            ));
        }
        let null_last = p.key(m.iline).is_empty();
        p.lines.remove(m.iline);
        if null_last && m.iline > 0 {
            let j = m.iline - 1;
            let d = p.lines[j].data.clone();
            let line = p.make_line(&[], 0, &d, 0);
            p.replace_line(j, line);
        }
    } else if key_change {
        let j = if leaf_type == MERGE_PARTIAL_LEFT {
            m.iline.wrapping_sub(1)
        } else {
            m.iline
        };
        if j >= p.lines.len() {
            return Err(redo_err(
                Jet::DATABASE_CORRUPTED,
                m.record,
                "merge: key change beyond the page",
            ));
        }
        let d = p.lines[j].data.clone();
        let cb = p.cb_common(m.key_sep);
        let line = p.make_line(m.key_sep, cb, &d, 0);
        p.replace_line(j, line);
    }
    if m.flags.has(MergeFlags::EMPTY_PAGE) {
        empty_page(p);
    }
    Ok(())
}

/// The first of nodes `0..n` for which `after` holds, by binary search
/// (as `NDSeek` looks up a page's sorted keys): on a sorted page, whose
/// keys are ascending and whose only empty key is its last (every page
/// the engine writes), the node a scan in order finds. Both paths of
/// [`insert_separator`] search with it, so that they agree on any page.
fn first_after(n: usize, after: impl Fn(usize) -> bool) -> Option<usize> {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if after(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    (lo < n).then_some(lo)
}

/// Whether node `j`'s key (the prefix bytes it uses, then its suffix) is
/// empty or sorts after `key`, read without copying.
fn empty_or_after(b: &[u8], sh: &Shape, j: usize, key: &[u8]) -> bool {
    let n = cpage::node_at(b, sh, j);
    let p = cpage::prefix(b, sh);
    let head = &p[..n.cb_prefix.min(p.len())];
    if head.is_empty() && n.suffix.is_empty() {
        return true;
    }
    let k = head.len().min(key.len());
    match head[..k].cmp(&key[..k]) {
        std::cmp::Ordering::Equal if head.len() <= key.len() => n.suffix > &key[head.len()..],
        std::cmp::Ordering::Equal => true,
        o => o == std::cmp::Ordering::Greater,
    }
}

/// [`merge_parent`] on the bytes of the page, as its [`PageImage`] path
/// writes it: the node deleted (`BTIPerformOneMerge`), the node before a
/// deleted last node given the null key, or the separator key changed
/// (`BTIChangeKeyOfPagePointer`); an emptied page only loses every line
/// (`NDEmptyPage`). `false`: declined (errors are the other path's).
fn parent_in_place(
    b: &mut [u8],
    sh: &mut Shape,
    scratch: &mut Vec<u8>,
    m: &MergeRec,
    leaf_type: u8,
) -> bool {
    let delete_node = m.flags.has(MergeFlags::DELETE_NODE);
    let key_change = m.flags.has(MergeFlags::KEY_CHANGE);
    let empty = m.flags.has(MergeFlags::EMPTY_PAGE);
    let j = if delete_node {
        m.iline
    } else if leaf_type == MERGE_PARTIAL_LEFT {
        m.iline.wrapping_sub(1)
    } else {
        m.iline
    };
    if (delete_node || key_change) && j >= sh.lines()
        || leaf_type == MERGE_FULL_LEFT && delete_node && key_change
    {
        return false;
    }
    if empty {
        // The PageImage path drops every line: the edits before leave no
        // trace on the page.
        return emptied(b, sh);
    }
    if delete_node {
        let n = cpage::node_at(b, sh, j);
        let null_last = n.suffix.is_empty() && n.cb_prefix.min(cpage::prefix(b, sh).len()) == 0;
        cpage::delete(b, sh, j + 1);
        if !null_last || j == 0 {
            return true;
        }
        let n = cpage::node_at(b, sh, j - 1);
        let len = n.data.len();
        scratch.clear();
        let f = cpage::encode_node(scratch, sh.large(), 0, 0, &[], n.data);
        return cpage::plain_node(0, 0, len) && cpage::replace(b, sh, j, scratch, f);
    }
    if key_change {
        let cb = cb_prefix(cpage::prefix(b, sh), m.key_sep);
        let n = cpage::node_at(b, sh, j);
        let (key, len) = (m.key_sep, n.data.len());
        scratch.clear();
        let f = cpage::encode_node(scratch, sh.large(), 0, cb, &key[cb..], n.data);
        return cpage::plain_node(cb, key.len() - cb, len)
            && cpage::replace(b, sh, j + 1, scratch, f);
    }
    true
}

/// The merged leaf, its siblings and the nodes moved between them
/// (`BTIPerformOneMerge`, `BTIMergeMoveNodes`, `BTIMergeFixSiblings`). An
/// empty-page merge (or a page already merged) changes the siblings'
/// pointers only and empties the page: done in place where the pages allow.
fn merge_leaf(redo: &mut Redo, m: &MergeRec, dbtime: u64) -> R<()> {
    let (src, left, right) = merge_pages(redo, m, dbtime)?;
    let has_image = m.before_image.is_some_and(|i| !i.bytes.is_empty());
    let simple = matches!(m.merge_type, MERGE_NONE | MERGE_EMPTY_PAGE) && !has_image;
    let skip = matches!(src, Checked::Skip);
    if !simple && !skip {
        return merge_leaf_images(redo, m, src, left, right, dbtime);
    }
    if !skip {
        emptied_page(redo, m, src, dbtime)?;
    }
    let shrink = shrinks(redo, m.dbid);
    let (record, dbid) = (m.record, m.dbid);
    let at = |pgno| PageAt { record, dbid, pgno };
    if m.pgno_left != 0 {
        let side = Side::Next(m.pgno_right);
        set_sibling(redo, at(m.pgno_left), left, side, shrink, dbtime)?;
    }
    if m.pgno_right != 0 {
        let side = Side::Prev(m.pgno_left);
        set_sibling(redo, at(m.pgno_right), right, side, shrink, dbtime)?;
    }
    Ok(())
}

/// The merged page of an empty-page merge: emptied when the record says
/// so (`NDEmptyPage`), written.
fn emptied_page(redo: &mut Redo, m: &MergeRec, src: Checked, dbtime: u64) -> R<()> {
    let shrink = shrinks(redo, m.dbid);
    let empty = m.flags.has(MergeFlags::EMPTY_PAGE);
    if let Checked::InPlace = src {
        let edit = |b: &mut [u8], sh: &mut Shape, _: &mut Vec<u8>| !empty || emptied(b, sh);
        let mode = EditMode {
            shrink,
            steps: false,
        };
        if redo.edit_at(m.record, m.dbid, m.pgno, dbtime, mode, edit)? {
            return Ok(());
        }
    }
    if let Some(mut p) = redo.image_of(m.record, m.dbid, m.pgno, src)? {
        if empty {
            empty_page(&mut p);
        }
        shrink_page(redo, m.dbid, &mut p);
        redo.write(m.record, m.dbid, m.pgno, p, dbtime)?;
    }
    Ok(())
}

/// [`merge_leaf`] through [`PageImage`]: nodes move between the pages.
fn merge_leaf_images(
    redo: &mut Redo,
    m: &MergeRec,
    src: Checked,
    left: Checked,
    right: Checked,
    dbtime: u64,
) -> R<()> {
    let record = m.record;
    let Some(mut src) = redo.image_of(record, m.dbid, m.pgno, src)? else {
        return Ok(());
    };
    let mut left = redo.image_of(record, m.dbid, m.pgno_left, left)?;
    let mut right = redo.image_of(record, m.dbid, m.pgno_right, right)?;
    if let Some(image) = m.before_image.filter(|i| !i.bytes.is_empty()) {
        let ps = redo.page_size(record, m.dbid)?;
        let img = before_image(&image, ps);
        compare_before_image(redo, record, m.pgno, img, &src);
    }
    match m.merge_type {
        MERGE_NONE | MERGE_EMPTY_PAGE => {}
        MERGE_FULL_RIGHT | MERGE_PARTIAL_RIGHT | MERGE_FULL_LEFT | MERGE_PARTIAL_LEFT => {
            let to_right = matches!(m.merge_type, MERGE_FULL_RIGHT | MERGE_PARTIAL_RIGHT);
            let dest = if to_right {
                right.as_mut()
            } else {
                left.as_mut()
            };
            if let Some(d) = dest {
                merge_move_nodes(m, &src, d, to_right)?;
            }
            if m.merge_type == MERGE_PARTIAL_RIGHT {
                src.lines.truncate(m.iline_merge.min(src.lines.len()));
            } else if m.merge_type == MERGE_PARTIAL_LEFT {
                let k = (m.iline_merge + 1).min(src.lines.len());
                src.lines.drain(..k);
            }
        }
        t => {
            return Err(redo_err(
                Jet::LOG_FILE_CORRUPT,
                record,
                format!("unsupported merge type {t}"),
            ))
        }
    }
    if !matches!(m.merge_type, MERGE_PARTIAL_RIGHT | MERGE_PARTIAL_LEFT) {
        fix_siblings(m, &mut left, &mut right);
    }
    if m.flags.has(MergeFlags::EMPTY_PAGE) {
        empty_page(&mut src);
    }
    shrink_page(redo, m.dbid, &mut src);
    redo.write(record, m.dbid, m.pgno, src, dbtime)?;
    write_siblings(redo, m, left, right, dbtime)
}

/// The merged page and its siblings under the dbtime rule; the merged page
/// restarted from its before-image when it was flushed after the merge and
/// its destination was not (ErrLGRIRedoInitializeMerge ~8340).
fn merge_pages(redo: &mut Redo, m: &MergeRec, dbtime: u64) -> R<(Checked, Checked, Checked)> {
    let record = m.record;
    let src = redo.check_in_cache(record, m.dbid, m.pgno, dbtime, m.before)?;
    let left = match m.pgno_left {
        0 => Checked::Skip,
        pgno => redo.check_in_cache(record, m.dbid, pgno, dbtime, m.left_before)?,
    };
    let right = match m.pgno_right {
        0 => Checked::Skip,
        pgno => redo.check_in_cache(record, m.dbid, pgno, dbtime, m.right_before)?,
    };
    let is = |c: &Checked| !matches!(c, Checked::Skip);
    let dest_needs = matches!(m.merge_type, MERGE_FULL_RIGHT | MERGE_PARTIAL_RIGHT) && is(&right)
        || matches!(m.merge_type, MERGE_FULL_LEFT | MERGE_PARTIAL_LEFT) && is(&left);
    let src = match src {
        Checked::Skip if dest_needs => {
            let ps = redo.page_size(record, m.dbid)?;
            let p = restart_image(redo, record, m.before_image, ps, m.before).ok_or_else(|| {
                redo_err(
                    Jet::DB_TIME_TOO_NEW,
                    record,
                    "merged page already redone but its destination is not, and the record has no usable before-image",
                )
            })??;
            Checked::Image(p)
        }
        x => x,
    };
    Ok((src, left, right))
}

/// `BTIMergeMoveNodes`: the live nodes from ilineMerge (right merges) or up
/// to it (left merges) move to the destination, before or after its own.
fn merge_move_nodes(m: &MergeRec, src: &PageImage, dest: &mut PageImage, to_right: bool) -> R<()> {
    let lines = kdfs(src);
    let (lo, hi) = if to_right {
        (m.iline_merge, lines.len())
    } else {
        (0, m.iline_merge + 1)
    };
    if lo > hi || hi > lines.len() {
        return Err(redo_err(
            Jet::DATABASE_CORRUPTED,
            m.record,
            "ilineMerge beyond the page",
        ));
    }
    let prefix = dest.prefix().to_vec();
    let moving: Vec<_> = lines[lo..hi]
        .iter()
        .filter(|k| k.flags & NODE_DELETED == 0)
        .map(|k| {
            let cb = cb_prefix(&prefix, &k.key);
            dest.make_line(&k.key, cb, &k.data, k.flags)
        })
        .collect();
    if to_right {
        dest.lines.splice(0..0, moving);
    } else {
        dest.lines.extend(moving);
    }
    dest.cb_unc_free = m.unc_dest;
    Ok(())
}

fn write_siblings(
    redo: &mut Redo,
    m: &MergeRec,
    left: Option<PageImage>,
    right: Option<PageImage>,
    dbtime: u64,
) -> R<()> {
    for (pgno, page) in [(m.pgno_left, left), (m.pgno_right, right)] {
        if let Some(mut p) = page {
            shrink_page(redo, m.dbid, &mut p);
            redo.write(m.record, m.dbid, pgno, p, dbtime)?;
        }
    }
    Ok(())
}

fn fix_siblings(m: &MergeRec, left: &mut Option<PageImage>, right: &mut Option<PageImage>) {
    if let Some(p) = left {
        p.next = m.pgno_right;
    }
    if let Some(p) = right {
        p.prev = m.pgno_left;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lz77_spec_examples() {
        // MS-XCA §3.1: 26 literals; "abc" × 100 with a long match.
        let mut a = vec![0x3f, 0, 0, 0];
        a.extend(b'a'..=b'z');
        assert_eq!(
            crate::db::compression::plain_lz77(&a, 26).unwrap(),
            (b'a'..=b'z').collect::<Vec<u8>>()
        );
        let b = [
            0xff, 0xff, 0xff, 0x1f, 0x61, 0x62, 0x63, 0x17, 0x00, 0x0f, 0xff, 0x26, 0x01,
        ];
        assert_eq!(
            crate::db::compression::plain_lz77(&b, 300).unwrap(),
            b"abc".repeat(100)
        );
        assert!(crate::db::compression::plain_lz77(&b, 301).is_err());
        assert!(crate::db::compression::plain_lz77(&b[..6], 300).is_err());
    }

    use crate::recovery::cpage::tests::{
        in_place_with, random_page, rec, reference_with, same, Rng,
    };

    fn split_for(record: &LogRecord) -> SplitRec<'_> {
        SplitRec {
            record,
            dbid: 1,
            pgno: 5,
            before: 1,
            pgno_new: 0,
            pgno_right: 0,
            right_before: 0,
            objid: 7,
            split_type: SplitType::Append,
            has_oper: false,
            iline_oper: 0,
            iline_split: 0,
            clines: 0,
            new_flags: 0,
            split_flags: 0,
            unc_src: 0,
            unc_dest: 0,
            iline_prefix_new: -1,
            key_parent: &[],
            prefix_split_new: &[],
            before_image: None,
        }
    }

    fn merge_for<'a>(
        record: &'a LogRecord,
        iline: usize,
        flags: u8,
        key_sep: &'a [u8],
    ) -> MergeRec<'a> {
        MergeRec {
            record,
            dbid: 1,
            pgno: 5,
            before: 1,
            iline,
            pgno_right: 0,
            right_before: 0,
            pgno_left: 0,
            left_before: 0,
            unc_dest: 0,
            iline_merge: 0,
            flags: MergeFlags(flags),
            merge_type: MERGE_EMPTY_PAGE,
            key_sep,
            before_image: None,
        }
    }

    /// An in-place edit of page bytes.
    type Edit<'e> = dyn FnMut(&mut [u8], &mut Shape, &mut Vec<u8>) -> bool + 'e;

    /// A key near the page's keys (one of them, cut or extended), or random.
    fn key_near(rng: &mut Rng, p: &PageImage) -> Vec<u8> {
        if p.lines.is_empty() || rng.one_in(4) {
            let n = rng.below(12);
            return rng.bytes(n);
        }
        let mut k = p.key(rng.below(p.lines.len()));
        k.truncate(rng.below(k.len() + 1));
        let n = rng.below(6);
        k.extend(rng.bytes(n));
        k
    }

    /// One random split or merge edit of page `b` (`kind` 0–3): the
    /// [`PageImage`] result and whether the in-place edit was done on `mine`.
    fn random_edit(
        rng: &mut Rng,
        kind: usize,
        b: &[u8],
        mine: &mut [u8],
    ) -> (Option<Vec<u8>>, bool) {
        let record = rec();
        let p = PageImage::parse(b).unwrap();
        let n = p.lines.len();
        let shrink = rng.one_in(2);
        let key = key_near(rng, &p);
        let mut scratch = Vec::new();
        let opt =
            |b: &mut [u8], sh: &mut Shape| !shrink || cpage::optimize_internal_fragmentation(b, sh);
        let ref_opt = |mut p: PageImage| {
            if shrink {
                p.optimize_internal_fragmentation();
            }
            Some(p)
        };
        let mut s = split_for(&record);
        let mut edit = |f: &mut Edit| {
            in_place_with(mine, 2000, &mut scratch, &mut None, |b, sh, sc| {
                f(b, sh, sc) && opt(b, sh)
            })
        };
        match kind {
            0 => {
                let flags = rng.below(8) as u8;
                let lt = [0, 1, 2, 3, 5, 6][rng.below(6)];
                let m = merge_for(&record, rng.below(n + 1), flags, &key);
                let want = reference_with(b, 2000, |mut p| {
                    parent_image(&mut p, &m, lt).ok()?;
                    ref_opt(p)
                });
                (
                    want,
                    edit(&mut |b, sh, sc| parent_in_place(b, sh, sc, &m, lt)),
                )
            }
            1 => {
                let mut c = split_for(&record);
                (c.key_parent, c.pgno, c.pgno_new) = (&key, 0x1234_5678, 0x0A0B_0C0D);
                let want = reference_with(b, 2000, |mut p| {
                    separator_image(&mut p, &s, &c).ok()?;
                    ref_opt(p)
                });
                (
                    want,
                    edit(&mut |b, sh, sc| separator_in_place(b, sh, sc, &c)),
                )
            }
            2 => {
                (s.iline_split, s.clines) = (rng.below(n + 1), n);
                (s.unc_src, s.pgno_new) = (rng.below(300) as u16, 99);
                s.new_flags = if rng.one_in(3) { 0 } else { FLAG_LEAF };
                let want = reference_with(b, 2000, |mut p| {
                    let mut lines = split_line_info(&s, kdfs(&p), 0, None).ok()?;
                    lines.truncate(s.iline_split);
                    split_source_page(&s, &mut p, lines);
                    if s.new_flags & FLAG_LEAF != 0 {
                        (p.cb_unc_free, p.next) = (s.unc_src, s.pgno_new);
                    }
                    ref_opt(p)
                });
                let done = edit(&mut |b, sh, _| {
                    kept_as_filled(b, sh, s.iline_split) && append_source(b, sh, &s)
                });
                (want, done)
            }
            _ => {
                let empty = rng.one_in(2);
                let want = reference_with(b, 2000, |mut p| {
                    if empty {
                        empty_page(&mut p);
                    }
                    p.prev = 42;
                    ref_opt(p)
                });
                let done = edit(&mut |b, sh, _| {
                    set_u32(b, HDR_PREV, 42);
                    !empty || emptied(b, sh)
                });
                (want, done)
            }
        }
    }

    /// The differential property test of the in-place split and merge
    /// edits: on random aged pages of every size, each edit done in place
    /// equals the [`PageImage`] path byte for byte (compaction by
    /// `OptimizeInternalFragmentation` included).
    #[test]
    fn in_place_split_and_merge_edits_equal_the_page_image_path() {
        let mut rng = Rng(0x5EED_5B11_7A11_0001);
        let (mut done, mut declined, mut refused) = ([0u32; 4], [0u32; 4], 0u32);
        let mut compacted = 0;
        for case in 0..6000 {
            let b = random_page(&mut rng);
            if PageImage::parse(&b).is_err() {
                continue;
            }
            let kind = case % 4;
            let mut mine = b.clone();
            let (want, ok) = random_edit(&mut rng, kind, &b, &mut mine);
            if ok {
                same(
                    &b,
                    &mine,
                    want.as_deref(),
                    &format!("case {case} kind {kind}"),
                );
                done[kind] += 1;
                // data area compacted (ibMicFree = Σ line sizes) where it was not
                let packed = |x: &[u8]| {
                    let n = (u16_at(x, 34) & 0xFFF) as usize;
                    let sum: usize = (0..n)
                        .map(|i| u16_at(x, x.len() - 4 * (i + 1)) as usize)
                        .sum();
                    sum == u16_at(x, 32) as usize
                };
                compacted += usize::from(packed(&mine) && !packed(&b));
            } else if want.is_some() {
                declined[kind] += 1;
            } else {
                refused += 1;
            }
        }
        eprintln!("{done:?} in place by kind, {declined:?} declined, {refused} refused by both, {compacted} compacted");
        assert!(done.iter().all(|&n| n > 600), "{done:?}");
        assert!(declined.iter().sum::<u32>() * 4 < done.iter().sum::<u32>());
        assert!(compacted > 100, "{compacted}");
    }

    /// On sorted parent pages (ascending keys, equal ones, prefix
    /// compression, a last node with the empty key) the binary search of
    /// the separator's place finds what a scan in order finds.
    #[test]
    fn the_separator_search_equals_a_scan_on_sorted_pages() {
        let mut rng = Rng(0x5EED_0000_5EA2_C401);
        for case in 0..2000 {
            let mut p = PageImage::new(8192, 7, crate::parse::page::FLAG_PARENT_OF_LEAF, 10);
            let n = rng.below(12);
            p.ext = rng.bytes(n);
            let mut keys: Vec<Vec<u8>> = (0..rng.below(40))
                .map(|_| {
                    let mut k = p.ext[..rng.below(p.ext.len() + 1)].to_vec();
                    let n = rng.below(6);
                    k.extend(rng.bytes(n));
                    k
                })
                .filter(|k| !k.is_empty())
                .collect();
            keys.sort();
            if rng.one_in(2) {
                keys.push(Vec::new());
            }
            for k in &keys {
                let cb = if rng.one_in(3) { 0 } else { p.cb_common(k) };
                p.lines.push(p.make_line(k, cb, &[1, 2, 3, 4], 0));
            }
            let b = p.to_bytes().unwrap();
            let sh = Shape::of(&b).expect("a plain page");
            let mut key = keys
                .get(rng.below(keys.len() + 1))
                .cloned()
                .unwrap_or_default();
            key.truncate(rng.below(key.len() + 1));
            let n = rng.below(3);
            key.extend(rng.bytes(n));
            let scan = (0..sh.lines()).find(|&j| empty_or_after(&b, &sh, j, &key));
            let search = first_after(sh.lines(), |j| empty_or_after(&b, &sh, j, &key));
            assert_eq!(search, scan, "case {case}: {keys:?} {key:?}");
            let scan = (0..keys.len()).find(|&j| keys[j].is_empty() || keys[j] > key);
            assert_eq!(search, scan, "case {case}: {keys:?} {key:?}");
        }
    }

    #[test]
    fn rehydrates_a_dehydrated_image() {
        let mut p = PageImage::new(4096, 5, FLAG_LEAF, 9);
        p.lines.push(p.make_line(b"key", 0, b"data", 0));
        let full = p.to_bytes().unwrap();
        let used = 40 + u16_at(&full, 32) as usize;
        let mut d = full[..used].to_vec();
        d.extend_from_slice(&full[4096 - 8..]);
        let free = u16_at(&full, 28) as usize - (4096 - d.len());
        d[28..30].copy_from_slice(&(free as u16).to_le_bytes());
        let cb = d.len();
        let img = before_image(
            &BeforeImage {
                flags: IMAGE_DEHYDRATED,
                bytes: &d[..cb],
            },
            4096,
        )
        .unwrap();
        assert_eq!(PageImage::parse(&img).unwrap(), p);
        assert_eq!(u16_at(&img, 28), u16_at(&full, 28));
    }
}
