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

use super::page::{common, PageImage, CB_PREFIX_OVERHEAD};
use super::redo::{redo_err, Redo, DBTIME_NIL};
use crate::error::Jet;
use crate::log::record::{page_prefix, LogRecord};
use crate::parse::page::{FLAG_EMPTY, FLAG_LEAF, NODE_DELETED, NODE_VERSIONED};
use crate::parse::{u16_at, u32_at, u64_at};

type R<T> = crate::error::Result<T>;

/// Decoded Split / Split2 fields (logapi.hxx ~845–950).
#[derive(Debug, Clone)]
struct SplitRec<'a> {
    r: &'a LogRecord,
    dbid: u8,
    pgno: u32,
    before: u64,
    pgno_new: u32,
    pgno_right: u32,
    right_before: u64,
    splittype: u8,
    splitoper: u8,
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
}

fn decode_split(r: &LogRecord) -> R<SplitRec<'_>> {
    let b = &r.data[..];
    if b.len() < 110 {
        return Err(redo_err(
            Jet::LOG_FILE_CORRUPT,
            r,
            "Split2 record too short",
        ));
    }
    let (ckp, cpo, cpn) = (
        u16_at(b, 100) as usize,
        u16_at(b, 96) as usize,
        u16_at(b, 98) as usize,
    );
    if b.len() < 110 + ckp + cpo + cpn {
        return Err(redo_err(
            Jet::LOG_FILE_CORRUPT,
            r,
            "Split2 record too short for its keys",
        ));
    }
    Ok(SplitRec {
        r,
        dbid: b[3],
        pgno: u32_at(b, 4),
        before: u64_at(b, 16),
        pgno_new: u32_at(b, 32),
        pgno_right: u32_at(b, 36),
        right_before: u64_at(b, 40),
        splittype: b[68],
        splitoper: b[69],
        iline_oper: u16_at(b, 70) as usize,
        iline_split: u16_at(b, 72) as usize,
        clines: u16_at(b, 74) as usize,
        new_flags: u32_at(b, 76),
        split_flags: u32_at(b, 80),
        unc_src: u16_at(b, 84),
        unc_dest: u16_at(b, 86),
        iline_prefix_new: u32_at(b, 92) as i32,
        key_parent: &b[110..110 + ckp],
        prefix_split_new: &b[110 + ckp + cpo..110 + ckp + cpo + cpn],
    })
}

/// The page before-image a Split2 (after key parent and both prefixes) or
/// Merge2 (after the separator key) carries: `ErrLGIDecompressPreimage`
/// (logredo.cxx ~7838) — flag 0x2 Xpress (not decoded here), flag 0x1
/// dehydrated: `CPAGE::RehydratePage` (cpage.cxx ~5934) moves the tag array
/// to the end of the page and adds the growth to cbFree.
fn before_image(b: &[u8], off: usize, flags: u32, cb: usize, ps: usize) -> Option<Vec<u8>> {
    let raw = b.get(off..off + cb)?;
    if cb == 0 || cb > ps {
        return None;
    }
    let dec;
    let img: &[u8] = if flags & 0x2 != 0 {
        // COMPRESS_XPRESS: signature byte (3 << 3), u16 uncompressed size,
        // then Xpress data (compression.cxx ~1551, ~2290).
        if raw.len() < 3 || raw[0] >> 3 != 3 {
            return None;
        }
        let n = u16_at(raw, 1) as usize;
        dec = crate::db::compression::plain_lz77(&raw[3..], n).ok()?;
        &dec
    } else {
        raw
    };
    let cb = img.len();
    if cb == ps {
        return Some(img.to_vec());
    }
    if flags & 0x1 == 0 || cb < 40 {
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
fn shrink_page(rd: &Redo, dbid: u8, p: &mut PageImage) {
    let update = rd
        .dbs
        .get(&dbid)
        .filter(|d| d.header.len() >= 236)
        .map(|d| u32_at(&d.header, 232));
    if update.is_some_and(|u| u >= 20) {
        p.optimize_internal_fragmentation();
    }
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
    rd: &mut Redo,
    r: &LogRecord,
    pgno: u32,
    img: Option<Vec<u8>>,
    ours: &PageImage,
) {
    let st = &mut rd.stats.before_images;
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
                r.lgpos.eseutil_text(),
                e.detail
            ));
            return;
        }
    };
    let mut diffs = Vec::new();
    // Flush-type and checksum-format bits are set when the page is
    // written; the image was taken after the page got the record's dbtime.
    let mask = !(0x18000u32 | crate::parse::page::FLAG_NEW_CHECKSUM);
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
                .push(format!("{} page {pgno}: {d}", r.lgpos.eseutil_text())),
        }
    } else {
        st.differences.push(format!(
            "{} page {pgno}: {}",
            r.lgpos.eseutil_text(),
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

fn fill(p: &mut PageImage, lines: &[Kdf], prefix_key: Option<&[u8]>) {
    let prefix = prefix_key.map(<[u8]>::to_vec).unwrap_or_default();
    p.lines = lines
        .iter()
        .map(|k| {
            let cb = cb_prefix(&prefix, &k.key);
            let mut l = p.make_line(&k.key, cb, &k.data, k.flags);
            l.slot = k.slot;
            l
        })
        .collect();
}

/// The operation of a split (the macro's node record).
struct Oper {
    key: Vec<u8>,
    data: Vec<u8>,
    versioned: bool,
    kind: u8,
}

fn oper_of(r: &LogRecord) -> R<Oper> {
    let b = &r.data[..];
    let pp = page_prefix(b).ok_or_else(|| redo_err(Jet::LOG_FILE_CORRUPT, r, "short record"))?;
    let versioned = pp.flags & 1 != 0;
    let short = || redo_err(Jet::LOG_FILE_CORRUPT, r, "record too short");
    match r.lrtyp {
        29 => {
            let (cs, cp, cd) = (
                u16_at(b, 44) as usize,
                u16_at(b, 46) as usize,
                u16_at(b, 48) as usize,
            );
            let k = b.get(50..50 + cp + cs).ok_or_else(short)?.to_vec();
            let d = b
                .get(50 + cp + cs..50 + cp + cs + cd)
                .ok_or_else(short)?
                .to_vec();
            Ok(Oper {
                key: k,
                data: d,
                versioned,
                kind: 1,
            })
        }
        33 => {
            let cb = (u16_at(b, 44) & 0x7FFF) as usize;
            let d = b.get(50..50 + cb).ok_or_else(short)?.to_vec();
            Ok(Oper {
                key: vec![],
                data: d,
                versioned,
                kind: 2,
            })
        }
        31 => {
            let (ck, cd) = (u16_at(b, 44) as usize, u16_at(b, 46) as usize);
            let k = b.get(52..52 + ck).ok_or_else(short)?.to_vec();
            let d = b.get(52 + ck..52 + ck + cd).ok_or_else(short)?.to_vec();
            Ok(Oper {
                key: k,
                data: d,
                versioned,
                kind: 3,
            })
        }
        t => Err(redo_err(
            Jet::LOG_FILE_CORRUPT,
            r,
            format!("unsupported operation record type {t} inside a split macro"),
        )),
    }
}

/// Redoes the split path of one macro.
pub(crate) fn redo_split(
    rd: &mut Redo,
    splits: &[&LogRecord],
    op: Option<&LogRecord>,
    dbtime: u64,
) -> R<()> {
    let recs: Vec<SplitRec> = splits.iter().map(|r| decode_split(r)).collect::<R<_>>()?;
    let leaf_op = op.map(oper_of).transpose()?;
    // Top-down, as BTIPerformSplit: level i's operation is the child's
    // (level i+1) key parent, the leaf's is the macro's record.
    for (i, s) in recs.iter().enumerate() {
        let child = recs.get(i + 1);
        if s.pgno_new == 0 {
            // Path page without split: insert the child's separator and
            // repoint the next node (BTIInsertPgnoNewAndSetPgnoSplit).
            let c = child.ok_or_else(|| {
                redo_err(
                    Jet::LOG_FILE_CORRUPT,
                    s.r,
                    "split path ends without a split",
                )
            })?;
            let Some(mut p) = rd.check_pub(s.r, s.dbid, s.pgno, dbtime, s.before)? else {
                continue;
            };
            let at = (0..p.lines.len())
                .find(|&j| {
                    let k = p.key(j);
                    k.is_empty() || k.as_slice() > c.key_parent
                })
                .ok_or_else(|| {
                    redo_err(
                        Jet::DATABASE_CORRUPTED,
                        s.r,
                        format!("no place for the separator on page {}", s.pgno),
                    )
                })?;
            let cb = p.cb_common(c.key_parent);
            let l = p.make_line(c.key_parent, cb, &c.pgno.to_le_bytes(), 0);
            p.lines.insert(at, l);
            p.lines[at + 1].data = c.pgno_new.to_le_bytes().to_vec();
            shrink_page(rd, s.dbid, &mut p);
            rd.write_pub(s.r, s.dbid, s.pgno, p, dbtime)?;
            continue;
        }
        let leaf = s.new_flags & FLAG_LEAF != 0;
        let oper: Option<Oper> = if s.splitoper == 0 {
            None
        } else if leaf {
            Some(
                leaf_op
                    .as_ref()
                    .map(|o| Oper {
                        key: o.key.clone(),
                        data: o.data.clone(),
                        versioned: o.versioned,
                        kind: o.kind,
                    })
                    .ok_or_else(|| {
                        redo_err(
                            Jet::LOG_FILE_CORRUPT,
                            s.r,
                            "split with an operation but no operation record in the macro",
                        )
                    })?,
            )
        } else {
            let c = child.ok_or_else(|| {
                redo_err(
                    Jet::LOG_FILE_CORRUPT,
                    s.r,
                    "internal split without child split",
                )
            })?;
            Some(Oper {
                key: c.key_parent.to_vec(),
                data: c.pgno.to_le_bytes().to_vec(),
                versioned: false,
                kind: 1,
            })
        };
        split_one(rd, s, oper, child, dbtime)?;
    }
    Ok(())
}

fn split_one(
    rd: &mut Redo,
    s: &SplitRec,
    oper: Option<Oper>,
    child: Option<&SplitRec>,
    dbtime: u64,
) -> R<()> {
    let r = s.r;
    let src = rd.check_pub(r, s.dbid, s.pgno, dbtime, s.before)?;
    let redo_new = rd.check_new_pub(r, s.dbid, s.pgno_new, dbtime)?;
    let leaf = s.new_flags & FLAG_LEAF != 0;
    let mut src = match src {
        Some(p) => p,
        None if !redo_new => return right_sibling(rd, s, dbtime),
        None if s.splittype == 2 => {
            // Append split, split page already written, new page not
            // (ErrLGIRedoSplitLineinfo ~7728): the new page holds only the
            // operation's node.
            let ps = rd.page_size(r, s.dbid)?;
            let objid = u32_at(&r.data, 64);
            let mut newp = PageImage::new(ps, objid, s.new_flags, dbtime);
            if let Some(o) = oper.as_ref().filter(|o| o.kind == 1) {
                let f = if o.versioned && leaf {
                    NODE_VERSIONED
                } else {
                    0
                };
                let k = Kdf {
                    key: o.key.clone(),
                    data: o.data.clone(),
                    flags: f,
                    slot: None,
                };
                let pre = (s.iline_prefix_new >= 0).then(|| o.key.clone());
                if let Some(p) = &pre {
                    newp.ext = p.clone();
                }
                fill(&mut newp, &[k], pre.as_deref());
            }
            if leaf {
                newp.prev = s.pgno;
                newp.next = s.pgno_right;
                newp.cb_unc_free = s.unc_dest;
            }
            rd.write_pub(r, s.dbid, s.pgno_new, newp, dbtime)?;
            return right_sibling(rd, s, dbtime);
        }
        None => {
            // ErrLGRIRedoInitializeSplit ~8000: the split page was flushed
            // after the split, the new page was not; restart from the
            // logged before-image at dbtimeBefore (ErrReplacePageImage ~107).
            let b = &r.data[..];
            let off = 110 + s.key_parent.len() + u16_at(b, 96) as usize + s.prefix_split_new.len();
            let (fl, cb) = (u32_at(b, 102), u32_at(b, 106) as usize);
            let ps = rd.page_size(r, s.dbid)?;
            let img = before_image(b, off, fl, cb, ps).ok_or_else(|| {
                redo_err(
                    Jet::DB_TIME_TOO_NEW,
                    r,
                    format!(
                        "split page {} already carries the split but new page {} does not, and the record has no usable before-image",
                        s.pgno, s.pgno_new
                    ),
                )
            })?;
            let mut p = PageImage::parse(&img).map_err(|e| {
                redo_err(
                    Jet::LOG_FILE_CORRUPT,
                    r,
                    format!("before-image: {}", e.detail),
                )
            })?;
            p.dbtime = s.before;
            // The image predates the write that sets the checksum format;
            // flush-type bits (0x18000) belong to the buffer manager.
            p.flags = (p.flags | crate::parse::page::FLAG_NEW_CHECKSUM) & !0x18000;
            rd.stats.before_images.used += 1;
            p
        }
    };
    if r.lrtyp == 62 && r.data.len() >= 110 {
        let b = &r.data[..];
        let off = 110 + s.key_parent.len() + u16_at(b, 96) as usize + s.prefix_split_new.len();
        let (fl, cb) = (u32_at(b, 102), u32_at(b, 106) as usize);
        if cb > 0 {
            let ps = rd.page_size(r, s.dbid)?;
            let img = before_image(b, off, fl, cb, ps);
            compare_before_image(rd, r, s.pgno, img, &src);
        }
    }
    // Line info: the page's lines with the operation at ilineOper.
    let mut lines = kdfs(&src);
    let vflag = |o: &Oper| {
        if o.versioned && leaf {
            NODE_VERSIONED
        } else {
            0
        }
    };
    if let Some(o) = &oper {
        let n = lines.len() + usize::from(o.kind == 1);
        if s.iline_oper >= n {
            return Err(redo_err(
                Jet::DATABASE_CORRUPTED,
                r,
                format!("ilineOper {} beyond {} lines", s.iline_oper, n),
            ));
        }
        match o.kind {
            1 => lines.insert(
                s.iline_oper,
                Kdf {
                    key: o.key.clone(),
                    data: o.data.clone(),
                    flags: vflag(o),
                    slot: None,
                },
            ),
            // The operation's node is deleted and inserted again
            // (BTISplitMoveNodes): it loses its place.
            2 => {
                let l = &mut lines[s.iline_oper];
                l.data = o.data.clone();
                l.flags |= vflag(o);
                l.slot = None;
            }
            _ => {
                let l = &mut lines[s.iline_oper];
                l.data = o.data.clone();
                l.flags = (l.flags & !NODE_DELETED) | vflag(o);
                l.slot = None;
            }
        }
    }
    if lines.len() != s.clines {
        return Err(redo_err(
            Jet::DATABASE_CORRUPTED,
            r,
            format!(
                "split of page {}: {} lines with the operation, the record says {}",
                s.pgno,
                lines.len(),
                s.clines
            ),
        ));
    }
    if s.iline_split > lines.len() {
        return Err(redo_err(
            Jet::DATABASE_CORRUPTED,
            r,
            "ilineSplit beyond the lines",
        ));
    }
    let moved = lines.split_off(s.iline_split);
    let ps = rd.page_size(r, s.dbid)?;
    let mut newp = PageImage::new(ps, src.objid, s.new_flags, dbtime);
    let prefix_new: Option<Vec<u8>> = if s.iline_prefix_new >= 0 {
        let k = moved.get(s.iline_prefix_new as usize).ok_or_else(|| {
            redo_err(
                Jet::DATABASE_CORRUPTED,
                r,
                "ilinePrefixNew beyond the moved lines",
            )
        })?;
        Some(k.key.clone())
    } else {
        None
    };
    if let Some(pk) = &prefix_new {
        newp.ext = pk.clone();
    }
    fill(&mut newp, &moved, prefix_new.as_deref());
    if s.splittype == 0 {
        // Vertical: the root keeps one node, empty key, data pgnoNew.
        src.flags = s.split_flags | (src.flags & crate::parse::page::FLAG_NEW_CHECKSUM);
        src.lines.clear();
        src.lines
            .push(src.make_line(&[], 0, &s.pgno_new.to_le_bytes(), 0));
    } else {
        // Lines left on the split page, re-expressed against the new prefix
        // (append splits keep the page's prefix).
        if s.splittype == 1 {
            src.reset_prefix(s.prefix_split_new.to_vec());
            let pre = s.prefix_split_new.to_vec();
            fill(&mut src, &lines, Some(&pre));
        } else {
            let pre = src.prefix().to_vec();
            fill(&mut src, &lines, Some(&pre));
        }
    }
    if leaf {
        newp.cb_unc_free = s.unc_dest;
        src.cb_unc_free = s.unc_src;
    }
    // Internal level with a child split: repoint line ilineOper+1.
    if let Some(c) = child.filter(|_| !leaf && s.splitoper != 0) {
        let j = s.iline_oper + 1;
        let target = if j >= s.iline_split {
            newp.lines.get_mut(j - s.iline_split)
        } else {
            src.lines.get_mut(j)
        };
        let t = target.ok_or_else(|| {
            redo_err(
                Jet::DATABASE_CORRUPTED,
                r,
                "page pointer after the separator is missing",
            )
        })?;
        t.data = c.pgno_new.to_le_bytes().to_vec();
    }
    if s.splittype != 0 && leaf {
        newp.prev = s.pgno;
        src.next = s.pgno_new;
        if s.pgno_right != 0 {
            newp.next = s.pgno_right;
        }
    }
    shrink_page(rd, s.dbid, &mut src);
    rd.write_pub(r, s.dbid, s.pgno, src, dbtime)?;
    if redo_new {
        rd.write_pub(r, s.dbid, s.pgno_new, newp, dbtime)?;
    }
    if s.splittype != 0 && leaf {
        right_sibling(rd, s, dbtime)?;
    }
    Ok(())
}

fn right_sibling(rd: &mut Redo, s: &SplitRec, dbtime: u64) -> R<()> {
    if s.pgno_right == 0 || s.new_flags & FLAG_LEAF == 0 {
        return Ok(());
    }
    if let Some(mut p) = rd.check_pub(s.r, s.dbid, s.pgno_right, dbtime, s.right_before)? {
        p.prev = s.pgno_new;
        rd.write_pub(s.r, s.dbid, s.pgno_right, p, dbtime)?;
    }
    Ok(())
}

/// Decoded Merge / Merge2 fields (logapi.hxx ~954–1030).
struct MergeRec<'a> {
    r: &'a LogRecord,
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
    flags: u8,
    mergetype: u8,
    key_sep: &'a [u8],
}

fn decode_merge(r: &LogRecord) -> R<MergeRec<'_>> {
    let b = &r.data[..];
    if b.len() < 96 {
        return Err(redo_err(
            Jet::LOG_FILE_CORRUPT,
            r,
            "Merge2 record too short",
        ));
    }
    let ck = u16_at(b, 86) as usize;
    if b.len() < 96 + ck {
        return Err(redo_err(
            Jet::LOG_FILE_CORRUPT,
            r,
            "Merge2 record too short for its key",
        ));
    }
    Ok(MergeRec {
        r,
        dbid: b[3],
        pgno: u32_at(b, 4),
        before: u64_at(b, 16),
        iline: u16_at(b, 29) as usize,
        pgno_right: u32_at(b, 32),
        right_before: u64_at(b, 36),
        pgno_left: u32_at(b, 44),
        left_before: u64_at(b, 48),
        unc_dest: u16_at(b, 80),
        iline_merge: u16_at(b, 82) as usize,
        flags: b[84],
        mergetype: b[85],
        key_sep: &b[96..96 + ck],
    })
}

const MERGE_KEY_CHANGE: u8 = 0x1;
const MERGE_DELETE_NODE: u8 = 0x2;
const MERGE_EMPTY_PAGE: u8 = 0x4;

fn empty_page(p: &mut PageImage) {
    p.ext.clear();
    p.lines.clear();
    p.flags |= FLAG_EMPTY;
}

/// Redoes the merge path of one macro.
pub(crate) fn redo_merge(
    rd: &mut Redo,
    merges: &[&LogRecord],
    all: &[LogRecord],
    dbtime: u64,
) -> R<()> {
    if let Some(r) = all.iter().find(|r| r.lrtyp != 63) {
        return Err(redo_err(
            Jet::LOG_FILE_CORRUPT,
            r,
            "unsupported: a node record inside a merge macro",
        ));
    }
    let recs: Vec<MergeRec> = merges.iter().map(|r| decode_merge(r)).collect::<R<_>>()?;
    let n = recs.len();
    // Leaf = the last record of the path (ErrLGIRedoMergeStructures builds
    // root → leaf in log order).
    let leaf = &recs[n - 1];
    for (i, m) in recs.iter().enumerate() {
        // A parent's dbtimeBefore comes from its child's dbtimeParentBefore
        // (ErrLGIRedoMergePath); they agree in well-formed logs.
        let before = m.before;
        let is_leaf = i == n - 1;
        if is_leaf {
            merge_leaf(rd, m, dbtime)?;
            continue;
        }
        let Some(mut p) = rd.check_pub(m.r, m.dbid, m.pgno, dbtime, before)? else {
            continue;
        };
        let fl = m.flags;
        if leaf.mergetype == 5 && fl & MERGE_DELETE_NODE != 0 && fl & MERGE_KEY_CHANGE != 0 {
            return Err(redo_err(
                Jet::LOG_FILE_CORRUPT,
                m.r,
                "unsupported merge variant (full left merge with key change)",
            ));
        } else if fl & MERGE_DELETE_NODE != 0 {
            if m.iline >= p.lines.len() {
                return Err(redo_err(
                    Jet::DATABASE_CORRUPTED,
                    m.r,
                    "merge: iline beyond the page",
                ));
            }
            let null_last = p.key(m.iline).is_empty();
            p.lines.remove(m.iline);
            if null_last && m.iline > 0 {
                let j = m.iline - 1;
                let d = p.lines[j].data.clone();
                let l = p.make_line(&[], 0, &d, 0);
                p.replace_line(j, l);
            }
        } else if fl & MERGE_KEY_CHANGE != 0 {
            let j = if leaf.mergetype == 6 {
                m.iline.wrapping_sub(1)
            } else {
                m.iline
            };
            if j >= p.lines.len() {
                return Err(redo_err(
                    Jet::DATABASE_CORRUPTED,
                    m.r,
                    "merge: key change beyond the page",
                ));
            }
            let d = p.lines[j].data.clone();
            let cb = p.cb_common(m.key_sep);
            let l = p.make_line(m.key_sep, cb, &d, 0);
            p.replace_line(j, l);
        }
        if fl & MERGE_EMPTY_PAGE != 0 {
            empty_page(&mut p);
        }
        shrink_page(rd, m.dbid, &mut p);
        rd.write_pub(m.r, m.dbid, m.pgno, p, dbtime)?;
    }
    Ok(())
}

fn merge_leaf(rd: &mut Redo, m: &MergeRec, dbtime: u64) -> R<()> {
    let r = m.r;
    let src = rd.check_pub(r, m.dbid, m.pgno, dbtime, m.before)?;
    let right = m.pgno_right != 0;
    let left = m.pgno_left != 0;
    let mut pleft = if left {
        rd.check_pub(r, m.dbid, m.pgno_left, dbtime, m.left_before)?
    } else {
        None
    };
    let mut pright = if right {
        rd.check_pub(r, m.dbid, m.pgno_right, dbtime, m.right_before)?
    } else {
        None
    };
    let dest_needs = (m.mergetype == 2 || m.mergetype == 3) && pright.is_some()
        || (m.mergetype == 5 || m.mergetype == 6) && pleft.is_some();
    let src = match src {
        None if dest_needs => {
            // ErrLGRIRedoInitializeMerge ~8340: the merged page was flushed,
            // its destination was not: restart from the before-image.
            let b = &r.data[..];
            let (fl, cb) = (u32_at(b, 88), u32_at(b, 92) as usize);
            let ps = rd.page_size(r, m.dbid)?;
            let img = before_image(b, 96 + m.key_sep.len(), fl, cb, ps).ok_or_else(|| {
                redo_err(
                    Jet::DB_TIME_TOO_NEW,
                    r,
                    "merged page already redone but its destination is not, and the record has no usable before-image",
                )
            })?;
            let mut p = PageImage::parse(&img).map_err(|e| {
                redo_err(
                    Jet::LOG_FILE_CORRUPT,
                    r,
                    format!("before-image: {}", e.detail),
                )
            })?;
            p.dbtime = m.before;
            p.flags = (p.flags | crate::parse::page::FLAG_NEW_CHECKSUM) & !0x18000;
            rd.stats.before_images.used += 1;
            Some(p)
        }
        x => x,
    };
    let Some(mut src) = src else {
        // Siblings only.
        fix_siblings(m, &mut pleft, &mut pright);
        if let Some(mut p) = pleft {
            shrink_page(rd, m.dbid, &mut p);
            rd.write_pub(r, m.dbid, m.pgno_left, p, dbtime)?;
        }
        if let Some(mut p) = pright {
            shrink_page(rd, m.dbid, &mut p);
            rd.write_pub(r, m.dbid, m.pgno_right, p, dbtime)?;
        }
        return Ok(());
    };
    {
        let b = &r.data[..];
        let (fl, cb) = (u32_at(b, 88), u32_at(b, 92) as usize);
        if cb > 0 {
            let ps = rd.page_size(r, m.dbid)?;
            let img = before_image(b, 96 + m.key_sep.len(), fl, cb, ps);
            compare_before_image(rd, r, m.pgno, img, &src);
        }
    }
    let lines = kdfs(&src);
    match m.mergetype {
        0 | 1 => {}
        2 | 3 | 5 | 6 => {
            let right_merge = matches!(m.mergetype, 2 | 3);
            let dest = if right_merge {
                pright.as_mut()
            } else {
                pleft.as_mut()
            };
            if let Some(d) = dest {
                let (lo, hi) = if right_merge {
                    (m.iline_merge, lines.len())
                } else {
                    (0, m.iline_merge + 1)
                };
                if lo > hi || hi > lines.len() {
                    return Err(redo_err(
                        Jet::DATABASE_CORRUPTED,
                        r,
                        "ilineMerge beyond the page",
                    ));
                }
                let pre = d.prefix().to_vec();
                let moving: Vec<_> = lines[lo..hi]
                    .iter()
                    .filter(|k| k.flags & NODE_DELETED == 0)
                    .map(|k| {
                        let cb = cb_prefix(&pre, &k.key);
                        d.make_line(&k.key, cb, &k.data, k.flags)
                    })
                    .collect();
                if right_merge {
                    d.lines.splice(0..0, moving);
                } else {
                    d.lines.extend(moving);
                }
                d.cb_unc_free = m.unc_dest;
            }
            if m.mergetype == 3 {
                src.lines.truncate(m.iline_merge.min(src.lines.len()));
            } else if m.mergetype == 6 {
                let k = (m.iline_merge + 1).min(src.lines.len());
                src.lines.drain(..k);
            }
        }
        t => {
            return Err(redo_err(
                Jet::LOG_FILE_CORRUPT,
                r,
                format!("unsupported merge type {t}"),
            ))
        }
    }
    if !matches!(m.mergetype, 3 | 6) {
        fix_siblings(m, &mut pleft, &mut pright);
    }
    if m.flags & MERGE_EMPTY_PAGE != 0 {
        empty_page(&mut src);
    }
    shrink_page(rd, m.dbid, &mut src);
    rd.write_pub(r, m.dbid, m.pgno, src, dbtime)?;
    if let Some(mut p) = pleft {
        shrink_page(rd, m.dbid, &mut p);
        rd.write_pub(r, m.dbid, m.pgno_left, p, dbtime)?;
    }
    if let Some(mut p) = pright {
        shrink_page(rd, m.dbid, &mut p);
        rd.write_pub(r, m.dbid, m.pgno_right, p, dbtime)?;
    }
    let _ = DBTIME_NIL;
    Ok(())
}

fn fix_siblings(m: &MergeRec, l: &mut Option<PageImage>, r: &mut Option<PageImage>) {
    if let Some(p) = l {
        p.next = m.pgno_right;
    }
    if let Some(p) = r {
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
        let img = before_image(&d, 0, 0x1, cb, 4096).unwrap();
        assert_eq!(PageImage::parse(&img).unwrap(), p);
        assert_eq!(u16_at(&img, 28), u16_at(&full, 28));
    }
}
