//! A mutable page image for redo: header fields, the external line (tag 0)
//! and the nodes as (flags, cbPrefix, suffix, data), serialised with the
//! engine's byte placement.
//!
//! Facts: page header and tag array per docs/format/pages.md §2–§6
//! (`inc/cpage.hxx` ~992–1022, `ese/cpage.cxx` ~1797, ~1939), node layout
//! `NDILineToKeydataflags` (`ese/node.cxx` ~150–210), prefix rule (node
//! prefix = tag 0 on non-root pages, tag 0 after the 16-byte SPLIT_BUFFER on
//! space-tree roots, none on other roots, node.cxx ~430–460), and the
//! "common bytes must exceed cbPrefixOverhead (2)" rule of
//! `BTIComputePrefixAndInsert` (`ese/bt.cxx` ~12058).
//!
//! Placement (`ese/cpage.cxx`): a page read from disk remembers where each
//! line sat ([`Slot`]); [`PageImage::to_bytes`] keeps the bytes of that page
//! (stale bytes in holes and free space included) and redoes the changes as
//! CPAGE does: `Delete_` leaves a hole and lowers `ibMicFree` only when the
//! line ended there; `Replace_` keeps a line in place when it shrinks or when
//! it is the last line and the contiguous free space lets it grow, otherwise
//! moves it to `ibMicFree`; `Insert_` appends at `ibMicFree`; both call
//! `FreeSpace_`, which compacts the data area (`ReorganizeData_`: lines
//! sorted by offset, moved down) only when the contiguous free space between
//! `ibMicFree` and the tag array is too small. Pages built from scratch are
//! laid out in tag order from offset 0 (the order of the inserts that build
//! them). In every case `header + Σ lines + cbFree + 4·itagMicFree = cbPage`.
use crate::error::{FormatError, Jet};
use crate::parse::page::{
    header_size, is_large, line, parse_node, parse_page_header, read_tag, FLAG_NEW_CHECKSUM,
    FLAG_NEW_RECORD_FORMAT, FLAG_ROOT, FLAG_SPACE_TREE, NODE_COMPRESSED, SPLIT_BUFFER_SIZE,
};

/// `cbPrefixOverhead` (node.hxx): a prefix shorter than this is not used.
pub const CB_PREFIX_OVERHEAD: usize = 2;

/// Where a line sat on the page image it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The reading it comes from ([`PageImage::parse`] numbers them).
    token: u64,
    /// Its tag number there.
    itag: usize,
    /// Offset in the data area.
    ib: usize,
    /// Size.
    cb: usize,
}

/// One node (line) of a page.
#[derive(Debug, Clone, Default)]
pub struct Line {
    /// Node flags (`NODE_VERSIONED|NODE_DELETED`; `NODE_COMPRESSED` is
    /// derived from `cb_prefix`).
    pub flags: u8,
    /// Leading bytes of the page prefix that start the key.
    pub cb_prefix: usize,
    /// Key suffix.
    pub suffix: Vec<u8>,
    /// Data.
    pub data: Vec<u8>,
    /// Where the line sat on the page it was read from (none for new lines).
    pub slot: Option<Slot>,
}

/// Lines compare by content, not by where they sat.
impl PartialEq for Line {
    fn eq(&self, o: &Line) -> bool {
        (self.flags, self.cb_prefix, &self.suffix, &self.data)
            == (o.flags, o.cb_prefix, &o.suffix, &o.data)
    }
}
impl Eq for Line {}

impl Line {
    fn size(&self) -> usize {
        (if self.cb_prefix > 0 { 2 } else { 0 }) + 2 + self.suffix.len() + self.data.len()
    }

    /// The line's bytes and tag flags as the page stores them.
    fn encode(&self, large: bool) -> (Vec<u8>, u8) {
        let mut b = Vec::with_capacity(self.size());
        let flags = self.encode_into(&mut b, large);
        (b, flags)
    }

    /// [`Line::encode`] appended to `b`; returns the tag flags.
    fn encode_into(&self, b: &mut Vec<u8>, large: bool) -> u8 {
        let flags = self.flags
            | if self.cb_prefix > 0 {
                NODE_COMPRESSED
            } else {
                0
            };
        let start = b.len();
        if self.cb_prefix > 0 {
            b.extend_from_slice(&(self.cb_prefix as u16).to_le_bytes());
        }
        b.extend_from_slice(&(self.suffix.len() as u16).to_le_bytes());
        b.extend_from_slice(&self.suffix);
        b.extend_from_slice(&self.data);
        if large {
            let w = u16::from_le_bytes([b[start], b[start + 1]]) | ((flags as u16) << 13);
            b[start..start + 2].copy_from_slice(&w.to_le_bytes());
        }
        flags
    }
}

/// The page as it was read: its bytes and where tag 0 sat.
#[derive(Debug, Clone)]
struct Layout {
    token: u64,
    raw: Vec<u8>,
    ib_mic_free: usize,
    ext: Slot,
    /// Tag 0 is set through an empty prefix first (`NDSetPrefix` to null,
    /// then to the new prefix, as a split does on its split page).
    ext_reset: bool,
}

static NEXT_TOKEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A page being redone.
#[derive(Debug, Clone)]
pub struct PageImage {
    /// Page size.
    pub page_size: usize,
    /// dbtimeDirtied.
    pub dbtime: u64,
    /// pgnoPrev.
    pub prev: u32,
    /// pgnoNext.
    pub next: u32,
    /// objidFDP.
    pub objid: u32,
    /// cbUncommittedFree.
    pub cb_unc_free: u16,
    /// Reserved tag count (itagState bits 12–14), kept as read.
    pub reserved_tags: u8,
    /// Page flags.
    pub flags: u32,
    /// Tag 0 (external header / prefix line).
    pub ext: Vec<u8>,
    /// Nodes 1 … itagMicFree − 1.
    pub lines: Vec<Line>,
    /// The page as read (none for a page built from scratch).
    layout: Option<Layout>,
    /// Compact the data area when that lets the page fit a smaller buffer
    /// ([`PageImage::optimize_internal_fragmentation`]).
    optimize: bool,
}

/// Pages compare by content (header fields, tag 0, lines), not placement.
impl PartialEq for PageImage {
    fn eq(&self, o: &PageImage) -> bool {
        (
            self.page_size,
            self.dbtime,
            self.prev,
            self.next,
            self.objid,
            self.cb_unc_free,
            self.reserved_tags,
            self.flags,
        ) == (
            o.page_size,
            o.dbtime,
            o.prev,
            o.next,
            o.objid,
            o.cb_unc_free,
            o.reserved_tags,
            o.flags,
        ) && self.ext == o.ext
            && self.lines == o.lines
    }
}
impl Eq for PageImage {}

fn corrupt(detail: String) -> FormatError {
    FormatError::new(0, Jet::DATABASE_CORRUPTED, detail)
}

impl PageImage {
    /// A freshly formatted page (`CPAGE::ConsumePreInitPage`, cpage.cxx
    /// ~2191–2215, which always adds fPageNewRecordFormat): header, empty
    /// tag 0. The new checksum format flag is set as every 8.x page has it.
    pub fn new(page_size: usize, objid: u32, flags: u32, dbtime: u64) -> PageImage {
        PageImage {
            page_size,
            dbtime,
            prev: 0,
            next: 0,
            objid,
            cb_unc_free: 0,
            reserved_tags: 0,
            flags: flags | FLAG_NEW_CHECKSUM | FLAG_NEW_RECORD_FORMAT,
            ext: Vec::new(),
            lines: Vec::new(),
            layout: None,
            optimize: false,
        }
    }

    /// Decodes a page.
    pub fn parse(b: &[u8]) -> Result<PageImage, FormatError> {
        let h = parse_page_header(b)?;
        let token = NEXT_TOKEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut ext = Vec::new();
        let mut ext_slot = None;
        let mut lines = Vec::new();
        let n = h.itag_mic_free as usize;
        for itag in 0..n {
            let t = read_tag(b, itag, n)?;
            let l = line(b, &t);
            let slot = Slot {
                token,
                itag,
                ib: t.ib as usize,
                cb: t.cb as usize,
            };
            if itag == 0 {
                ext = l.to_vec();
                ext_slot = Some(slot);
                continue;
            }
            let np = parse_node(l, t.flags)?;
            lines.push(Line {
                flags: t.flags & !NODE_COMPRESSED,
                cb_prefix: np.prefix_len as usize,
                suffix: np.suffix.to_vec(),
                data: np.data.to_vec(),
                slot: Some(slot),
            });
        }
        // A page without tags (never formatted) has no placement to keep.
        let layout = ext_slot.map(|ext| Layout {
            token,
            raw: b.to_vec(),
            ib_mic_free: h.ib_mic_free as usize,
            ext,
            ext_reset: false,
        });
        Ok(PageImage {
            page_size: b.len(),
            dbtime: h.dbtime,
            prev: h.pgno_prev,
            next: h.pgno_next,
            objid: h.objid,
            cb_unc_free: h.cb_uncommitted_free,
            reserved_tags: h.reserved_tags,
            flags: h.flags,
            ext,
            lines,
            layout,
            optimize: false,
        })
    }

    /// Sets tag 0 the way a split sets the prefix of its split page: first
    /// to nothing, then to `ext` once the lines are re-expressed
    /// (`BTISplitSetPrefixInSrcPage`, bt.cxx).
    pub fn reset_prefix(&mut self, ext: Vec<u8>) {
        self.ext = ext;
        if let Some(l) = &mut self.layout {
            l.ext_reset = true;
        }
    }

    /// Replaces line `i`, keeping its place on the page (a `Replace_`).
    pub fn replace_line(&mut self, i: usize, mut l: Line) {
        l.slot = self.lines[i].slot;
        self.lines[i] = l;
    }

    /// Marks the page for `CPAGE::OptimizeInternalFragmentation` (cpage.cxx
    /// ~5696, with `FDTC_0_REORG_DEHYDRATE_PLAN_B` defined in esestd.hxx),
    /// which the engine runs on the pages of a split path
    /// (`BTISplitShrinkPages`) and of a merge (`BTIMergeShrinkPages`, bt.cxx)
    /// whose dbtime changed: the data area is compacted when the compacted
    /// page fits a smaller buffer size class than the page as laid out.
    pub fn optimize_internal_fragmentation(&mut self) {
        self.optimize = true;
    }

    /// Inserts `lines` one after the other, each at its key's place, as a
    /// sequence of `CPAGE::Insert_` calls: each lands at ibMicFree, so the
    /// byte order follows the insertion order, not the key order.
    pub fn insert_in_order(&mut self, lines: Vec<Line>) -> Result<(), FormatError> {
        for l in lines {
            let mut p = PageImage::parse(&self.to_bytes()?)?;
            p.optimize = self.optimize;
            let mut key = p.prefix()[..l.cb_prefix.min(p.prefix().len())].to_vec();
            key.extend_from_slice(&l.suffix);
            let at = (0..p.lines.len())
                .find(|&i| p.key(i) > key)
                .unwrap_or(p.lines.len());
            p.lines.insert(at, l);
            *self = p;
        }
        Ok(())
    }

    /// Drops the memory of the original placement: the page is written
    /// compacted in tag order, as a page built from scratch.
    pub fn forget_layout(&mut self) {
        self.layout = None;
    }

    /// The key prefix of the page (see module facts).
    pub fn prefix(&self) -> &[u8] {
        if self.flags & FLAG_ROOT != 0 {
            if self.flags & FLAG_SPACE_TREE != 0 && self.ext.len() >= SPLIT_BUFFER_SIZE {
                &self.ext[SPLIT_BUFFER_SIZE..]
            } else {
                &[]
            }
        } else {
            &self.ext
        }
    }

    /// Full key of line `i` (0-based node index = iline).
    pub fn key(&self, i: usize) -> Vec<u8> {
        let l = &self.lines[i];
        let p = self.prefix();
        let mut k = p[..l.cb_prefix.min(p.len())].to_vec();
        k.extend_from_slice(&l.suffix);
        k
    }

    /// Bytes used by lines, tag 0 and tags.
    pub fn used(&self) -> usize {
        header_size(self.page_size)
            + self.ext.len()
            + self.lines.iter().map(Line::size).sum::<usize>()
            + 4 * (self.lines.len() + 1)
    }

    /// Common prefix length of `key` with the page prefix, 0 when not
    /// above `cbPrefixOverhead`.
    pub fn cb_common(&self, key: &[u8]) -> usize {
        let n = common(self.prefix(), key);
        if n > CB_PREFIX_OVERHEAD {
            n
        } else {
            0
        }
    }

    /// Builds a line for a full key compressed by `cb_prefix` bytes.
    pub fn make_line(&self, key: &[u8], cb_prefix: usize, data: &[u8], flags: u8) -> Line {
        let cb = cb_prefix.min(key.len());
        Line {
            flags,
            cb_prefix: cb,
            suffix: key[cb..].to_vec(),
            data: data.to_vec(),
            slot: None,
        }
    }

    /// Re-expresses every line against a new prefix line (tag 0), keeping
    /// the keys (`NDSetPrefix` + grow/shrink of cbPrefix).
    pub fn set_prefix_recompress(&mut self, ext: Vec<u8>) {
        let keys: Vec<Vec<u8>> = (0..self.lines.len()).map(|i| self.key(i)).collect();
        self.ext = ext;
        for (i, k) in keys.iter().enumerate() {
            let cb = self.cb_common(k);
            let f = self.lines[i].flags;
            let d = std::mem::take(&mut self.lines[i].data);
            let l = self.make_line(k, cb, &d, f);
            self.replace_line(i, l);
        }
    }

    /// Serialises the page (checksum not sealed; see the module facts for
    /// the placement). Errors when the content does not fit.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        let ps = self.page_size;
        let hs = header_size(ps);
        let large = is_large(ps);
        let used = self.used();
        if used > ps {
            return Err(corrupt(format!(
                "page content needs {used} bytes, more than the page size {ps}"
            )));
        }
        let (mut pl, flags) = match &self.layout {
            Some(lay) if lay.raw.len() == ps => {
                let items: Vec<(Vec<u8>, u8)> = std::iter::once((self.ext.clone(), 0))
                    .chain(self.lines.iter().map(|l| l.encode(large)))
                    .collect();
                let pl = self.replay_layout(lay, &items);
                if pl.fits(&items) {
                    (pl, items.iter().map(|(_, f)| *f).collect())
                } else {
                    // A layout the engine could not have produced (damaged
                    // input, or sizes no CPAGE sequence reaches): written
                    // compacted.
                    self.compact(hs, large)
                }
            }
            _ => self.compact(hs, large),
        };
        if self.lines.is_empty() && self.ext.is_empty() {
            // CPAGE::Delete_: an empty page restarts at offset 0.
            pl.mic = 0;
        }
        if self.optimize {
            let tags = 4 * flags.len();
            let now = round2(hs + pl.mic + tags);
            let packed = round2(used);
            if now != packed && buffer_class(packed) < buffer_class(now) {
                pl.reorganize();
            }
        }
        self.write_header_and_tags(&mut pl, &flags)?;
        Ok(pl.buf)
    }

    /// The compacted layout, written directly: every item in order from
    /// offset 0 of the data area, zeros up to the end (what
    /// [`Placer::place`] gives on an empty page, without a buffer per line
    /// and without zeroing the bytes the lines fill). Fits: the caller
    /// checked [`PageImage::used`]. With the tag flags of each item.
    fn compact(&self, hs: usize, large: bool) -> (Placer, Vec<u8>) {
        let ps = self.page_size;
        let ntags = self.lines.len() + 1;
        let mut buf = Vec::with_capacity(ps);
        buf.resize(hs, 0);
        let mut pos = Vec::with_capacity(ntags);
        let mut flags = Vec::with_capacity(ntags);
        buf.extend_from_slice(&self.ext);
        pos.push(Some((0, self.ext.len())));
        flags.push(0);
        for l in &self.lines {
            let ib = buf.len() - hs;
            flags.push(l.encode_into(&mut buf, large));
            pos.push(Some((ib, buf.len() - hs - ib)));
        }
        let mic = buf.len() - hs;
        let overflow = buf.len() + 4 * ntags > ps;
        buf.resize(ps, 0);
        let pl = Placer {
            buf,
            hs,
            ntags,
            mic,
            pos: if overflow { vec![None; ntags] } else { pos },
            overflow,
        };
        (pl, flags)
    }

    /// Redoes the changes since the page was read, in the order the engine
    /// makes them: deletions (last line first, `NDBulkDelete`), tag 0 going
    /// through an empty prefix, growing lines, shrinking lines, the new
    /// prefix, then new lines.
    fn replay_layout(&self, lay: &Layout, items: &[(Vec<u8>, u8)]) -> Placer {
        let hs = header_size(self.page_size);
        let mut pl = Placer::new(lay.raw.clone(), hs, items.len(), lay.ib_mic_free);
        // Which original slot each item keeps (one claim per slot; a flag
        // per tag number, the tags of one page being few).
        let originals = original_lines(&lay.raw, lay.token);
        let most = self
            .lines
            .iter()
            .filter_map(|l| l.slot.map(|s| s.itag))
            .chain(originals.iter().map(|(s, _)| s.itag))
            .chain([lay.ext.itag])
            .max()
            .unwrap_or(0);
        let mut claimed = vec![false; most + 1];
        let mut claim = |itag: usize| !std::mem::replace(&mut claimed[itag], true);
        let mut slot_of: Vec<Option<Slot>> = Vec::with_capacity(items.len());
        slot_of.push(Some(lay.ext));
        claim(lay.ext.itag);
        for l in &self.lines {
            let s = l
                .slot
                .filter(|s| s.token == lay.token && s.itag != 0 && claim(s.itag));
            slot_of.push(s);
        }
        // Content-identical lines rebuilt without their slot keep it too.
        for (i, (bytes, _)) in items.iter().enumerate().skip(1) {
            if slot_of[i].is_none() {
                let hit = originals
                    .iter()
                    .find(|(s, b)| !claimed[s.itag] && *b == &bytes[..]);
                if let Some((s, _)) = hit {
                    claimed[s.itag] = true;
                    slot_of[i] = Some(*s);
                }
            }
        }
        let mut gone: Vec<&(Slot, &[u8])> =
            originals.iter().filter(|(s, _)| !claimed[s.itag]).collect();
        gone.sort_by_key(|g| std::cmp::Reverse(g.0.itag));
        for (s, _) in gone {
            pl.release(s.ib, s.cb);
        }
        for (i, s) in slot_of.iter().enumerate() {
            pl.pos[i] = s.map(|s| (s.ib, s.cb));
        }
        if lay.ext_reset {
            pl.shrink_to_nothing(0);
        }
        let kept = |i: usize| slot_of[i].is_some() && !(i == 0 && lay.ext_reset);
        for (i, (b, _)) in items.iter().enumerate() {
            if kept(i) && pl.pos[i].is_some_and(|(_, cb)| b.len() > cb) {
                pl.replace(i, b);
            }
        }
        for (i, (b, _)) in items.iter().enumerate() {
            if kept(i) && pl.pos[i].is_some_and(|(_, cb)| b.len() <= cb) {
                pl.replace(i, b);
            }
        }
        if lay.ext_reset {
            pl.replace(0, &items[0].0);
        }
        for (i, (b, _)) in items.iter().enumerate() {
            if slot_of[i].is_none() {
                pl.place(i, b);
            }
        }
        pl
    }

    fn write_header_and_tags(&self, pl: &mut Placer, flags: &[u8]) -> Result<(), FormatError> {
        let ps = self.page_size;
        let large = is_large(ps);
        let b = &mut pl.buf;
        b[0..8].fill(0);
        b[8..16].copy_from_slice(&self.dbtime.to_le_bytes());
        b[16..20].copy_from_slice(&self.prev.to_le_bytes());
        b[20..24].copy_from_slice(&self.next.to_le_bytes());
        b[24..28].copy_from_slice(&self.objid.to_le_bytes());
        let cb_free = (ps - self.used()) as u16;
        b[28..30].copy_from_slice(&cb_free.to_le_bytes());
        b[30..32].copy_from_slice(&self.cb_unc_free.to_le_bytes());
        b[32..34].copy_from_slice(&(pl.mic as u16).to_le_bytes());
        let ntags = flags.len();
        let itag_state = (ntags as u16 & 0x0FFF) | ((self.reserved_tags as u16 & 7) << 12);
        b[34..36].copy_from_slice(&itag_state.to_le_bytes());
        b[36..40].copy_from_slice(&self.flags.to_le_bytes());
        if large {
            // PGHDR2 checksums and pgno are filled in by the store.
            b[40..68].fill(0);
        }
        for (itag, flags) in flags.iter().enumerate() {
            let Some((ib, cb)) = pl.pos[itag] else {
                return Err(corrupt(format!("tag {itag} was not placed")));
            };
            let off = ps - 4 * (itag + 1);
            let ibw = if large {
                ib as u16
            } else {
                (ib as u16) | ((*flags as u16) << 13)
            };
            b[off..off + 2].copy_from_slice(&(cb as u16).to_le_bytes());
            b[off + 2..off + 4].copy_from_slice(&ibw.to_le_bytes());
        }
        Ok(())
    }
}

pub(crate) fn round2(n: usize) -> usize {
    n + (n & 1)
}

/// `CbBFGetBufferSize` (bf.cxx ~2498): the buffer size class holding `cb`
/// bytes — 4 KiB at least, then steps of 4 KiB up to 32 KiB
/// (`g_rgcbPageSize`).
pub(crate) fn buffer_class(cb: usize) -> usize {
    cb.div_ceil(4096).max(1) * 4096
}

/// Every line (tag ≥ 1) of a page as read: slot and bytes.
fn original_lines(raw: &[u8], token: u64) -> Vec<(Slot, &[u8])> {
    let Ok(h) = parse_page_header(raw) else {
        return Vec::new();
    };
    let n = h.itag_mic_free as usize;
    (1..n)
        .filter_map(|itag| {
            let t = read_tag(raw, itag, n).ok()?;
            let slot = Slot {
                token,
                itag,
                ib: t.ib as usize,
                cb: t.cb as usize,
            };
            Some((slot, line(raw, &t)))
        })
        .collect()
}

/// The data area being laid out as CPAGE lays it out (`ese/cpage.cxx`).
struct Placer {
    buf: Vec<u8>,
    hs: usize,
    /// Tags on the finished page.
    ntags: usize,
    /// ibMicFree.
    mic: usize,
    /// (ib, cb) of each item (tag) currently on the page.
    pos: Vec<Option<(usize, usize)>>,
    /// A write would have reached the tag array.
    overflow: bool,
}

impl Placer {
    fn new(buf: Vec<u8>, hs: usize, ntags: usize, mic: usize) -> Placer {
        Placer {
            buf,
            hs,
            ntags,
            mic,
            pos: vec![None; ntags],
            overflow: false,
        }
    }

    /// `CbContiguousFree_`: bytes between ibMicFree and the tag array.
    fn contiguous(&self) -> usize {
        (self.buf.len() - self.hs).saturating_sub(self.mic + 4 * self.ntags)
    }

    /// Writes at offset `ib` of the data area; a write that would reach
    /// the tag array is refused and remembered (see [`Placer::fits`]).
    fn write(&mut self, ib: usize, bytes: &[u8]) {
        let s = self.hs + ib;
        if s + bytes.len() > self.buf.len().saturating_sub(4 * self.ntags) {
            self.overflow = true;
            return;
        }
        self.buf[s..s + bytes.len()].copy_from_slice(bytes);
    }

    /// Every item placed with its final size, nothing overlapping the tag
    /// array.
    fn fits(&self, items: &[(Vec<u8>, u8)]) -> bool {
        let limit = self.buf.len().saturating_sub(4 * self.ntags);
        !self.overflow
            && items.iter().zip(&self.pos).all(|((b, _), p)| {
                p.is_some_and(|(ib, cb)| cb == b.len() && self.hs + ib + cb <= limit)
            })
    }

    /// `Delete_`: the space is reclaimed only when the line ended at
    /// ibMicFree.
    fn release(&mut self, ib: usize, cb: usize) {
        if ib + cb == self.mic {
            self.mic = ib;
        }
    }

    /// Tag `i` set to zero bytes in place (`NDSetPrefix` to null).
    fn shrink_to_nothing(&mut self, i: usize) {
        if let Some((ib, cb)) = self.pos[i] {
            self.release(ib, cb);
            self.pos[i] = Some((ib, 0));
        }
    }

    /// `FreeSpace_` + `Insert_`: at ibMicFree, after compacting when the
    /// contiguous free space is too small.
    fn place(&mut self, i: usize, bytes: &[u8]) {
        if self.contiguous() < bytes.len() {
            self.reorganize();
        }
        let ib = self.mic;
        self.write(ib, bytes);
        self.pos[i] = Some((ib, bytes.len()));
        self.mic += bytes.len();
    }

    /// `Replace_`: in place when shrinking, or when the line ends at
    /// ibMicFree and the contiguous free space lets it grow; else moved.
    fn replace(&mut self, i: usize, bytes: &[u8]) {
        let Some((ib, cb)) = self.pos[i] else {
            self.place(i, bytes);
            return;
        };
        let n = bytes.len();
        let at_end = ib + cb == self.mic;
        if n <= cb || (at_end && self.contiguous() >= n - cb) {
            if at_end {
                self.mic = ib + n;
            }
            self.write(ib, bytes);
            self.pos[i] = Some((ib, n));
        } else {
            self.pos[i] = None;
            self.place(i, bytes);
        }
    }

    /// `ReorganizeData_`: lines sorted by offset and moved down, first to
    /// last; the bytes left above keep what was there.
    fn reorganize(&mut self) {
        let mut order: Vec<usize> = (0..self.pos.len())
            .filter(|&i| self.pos[i].is_some())
            .collect();
        order.sort_by_key(|&i| self.pos[i].map(|p| p.0));
        let mut dest = 0;
        for i in order {
            if let Some((ib, cb)) = self.pos[i] {
                let s = self.hs + ib;
                if s + cb > self.buf.len() {
                    self.overflow = true;
                    return;
                }
                self.buf.copy_within(s..s + cb, self.hs + dest);
                self.pos[i] = Some((dest, cb));
                dest += cb;
            }
        }
        self.mic = dest;
    }
}

/// Length of the common prefix of two byte strings.
pub fn common(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::page::FLAG_LEAF;

    #[test]
    fn round_trip_and_invariant() {
        let mut p = PageImage::new(4096, 7, FLAG_LEAF, 0x10);
        p.ext = b"abcdef".to_vec();
        let k = b"abcdxyz";
        let cb = p.cb_common(k);
        assert_eq!(cb, 4);
        p.lines.push(p.make_line(k, cb, b"DATA", 1));
        p.lines.push(p.make_line(b"zz", 0, b"D2", 0));
        let b = p.to_bytes().unwrap();
        let q = PageImage::parse(&b).unwrap();
        assert_eq!(q, p);
        assert_eq!(q.key(0), k);
        let h = parse_page_header(&b).unwrap();
        let sizes: usize = (0..3)
            .map(|i| read_tag(&b, i, 3).unwrap().cb as usize)
            .sum();
        assert_eq!(40 + sizes + h.cb_free as usize + 4 * 3, 4096);
        p.set_prefix_recompress(Vec::new());
        assert_eq!(p.key(0), k);
        assert_eq!(p.lines[0].cb_prefix, 0);
    }

    /// (ib, cb) of every tag and ibMicFree of serialised page bytes.
    fn layout_of(b: &[u8]) -> (Vec<(u16, u16)>, u16, u16) {
        let h = parse_page_header(b).unwrap();
        let n = h.itag_mic_free as usize;
        let tags = (0..n)
            .map(|i| {
                let t = read_tag(b, i, n).unwrap();
                (t.ib, t.cb)
            })
            .collect();
        (tags, h.ib_mic_free, h.cb_free)
    }

    /// A 4 KiB leaf as written to disk: three 100-byte lines, no prefix
    /// (each line: 2 + 4-byte key + 94 data bytes).
    fn disk_page() -> Vec<u8> {
        let mut p = PageImage::new(4096, 7, FLAG_LEAF, 0x10);
        for k in [b"key1", b"key2", b"key3"] {
            p.lines.push(p.make_line(k, 0, &[k[3]; 94], 0));
        }
        p.to_bytes().unwrap()
    }

    fn check_invariant(b: &[u8]) {
        let h = parse_page_header(b).unwrap();
        let n = h.itag_mic_free as usize;
        let sizes: usize = (0..n).map(|i| read_tag(b, i, n).unwrap().cb as usize).sum();
        assert_eq!(
            header_size(b.len()) + sizes + h.cb_free as usize + 4 * n,
            b.len()
        );
    }

    #[test]
    fn new_pages_are_laid_out_in_tag_order() {
        let b = disk_page();
        let (tags, mic, _) = layout_of(&b);
        assert_eq!(tags, vec![(0, 0), (0, 100), (100, 100), (200, 100)]);
        assert_eq!(mic, 300);
    }

    #[test]
    fn delete_leaves_a_hole_and_insert_appends_at_ib_mic_free() {
        let mut p = PageImage::parse(&disk_page()).unwrap();
        p.lines.remove(1);
        let b = p.to_bytes().unwrap();
        let (tags, mic, free) = layout_of(&b);
        // CPAGE::Delete_: the middle line leaves a hole, ibMicFree stays.
        assert_eq!(tags, vec![(0, 0), (0, 100), (200, 100)]);
        assert_eq!(mic, 300);
        assert_eq!(free as usize, 4096 - 40 - 200 - 12);
        // the deleted bytes are still there (no scrubbing by default)
        assert_eq!(b[40 + 100 + 6], b'2');
        check_invariant(&b);
        // Insert_ goes to ibMicFree, not into the hole.
        let mut q = PageImage::parse(&b).unwrap();
        let l = q.make_line(b"key2", 0, &[b'x'; 10], 0);
        q.lines.insert(1, l);
        let b2 = q.to_bytes().unwrap();
        let (tags, mic, _) = layout_of(&b2);
        assert_eq!(tags, vec![(0, 0), (0, 100), (300, 16), (200, 100)]);
        assert_eq!(mic, 316);
        check_invariant(&b2);
        // Deleting the last line gives its space back to ibMicFree.
        let mut r = PageImage::parse(&b2).unwrap();
        r.lines.remove(1);
        let (tags, mic, _) = layout_of(&r.to_bytes().unwrap());
        assert_eq!(tags, vec![(0, 0), (0, 100), (200, 100)]);
        assert_eq!(mic, 300);
        // A page left without any line or tag 0 starts again at 0.
        let mut e = PageImage::parse(&disk_page()).unwrap();
        e.lines.clear();
        assert_eq!(layout_of(&e.to_bytes().unwrap()).1, 0);
    }

    #[test]
    fn replace_shrinks_in_place_and_grows_by_moving() {
        let base = disk_page();
        // shrinking a middle line: same offset, hole behind it
        let mut p = PageImage::parse(&base).unwrap();
        p.lines[1].data.truncate(50);
        let (tags, mic, _) = layout_of(&p.to_bytes().unwrap());
        assert_eq!(tags[2], (100, 56));
        assert_eq!(mic, 300);
        // shrinking the last line lowers ibMicFree
        let mut p = PageImage::parse(&base).unwrap();
        p.lines[2].data.truncate(50);
        let (tags, mic, _) = layout_of(&p.to_bytes().unwrap());
        assert_eq!(tags[3], (200, 56));
        assert_eq!(mic, 256);
        // growing the last line: in place while the contiguous space lasts
        let mut p = PageImage::parse(&base).unwrap();
        p.lines[2].data.extend_from_slice(&[0xEE; 40]);
        let (tags, mic, _) = layout_of(&p.to_bytes().unwrap());
        assert_eq!(tags[3], (200, 140));
        assert_eq!(mic, 340);
        // growing a middle line: moved to ibMicFree, the old place a hole
        let mut p = PageImage::parse(&base).unwrap();
        p.lines[0].data.extend_from_slice(&[0xEE; 40]);
        let b = p.to_bytes().unwrap();
        let (tags, mic, _) = layout_of(&b);
        assert_eq!(tags, vec![(0, 0), (300, 140), (100, 100), (200, 100)]);
        assert_eq!(mic, 440);
        assert_eq!(b[40 + 6], b'1', "stale bytes stay in the hole");
        check_invariant(&b);
        assert_eq!(PageImage::parse(&b).unwrap(), p);
    }

    #[test]
    fn insert_without_contiguous_room_reorganizes_by_offset() {
        // a page whose lines sit in reverse order, with a hole, and a full
        // contiguous area: the next insert compacts by offset, then appends
        let mut p = PageImage::new(4096, 7, FLAG_LEAF, 0x10);
        for k in [b"key1", b"key2", b"key3"] {
            p.lines.push(p.make_line(k, 0, &[k[3]; 94], 0));
        }
        let l = p.make_line(b"key4", 0, &vec![b'4'; 3600], 0);
        p.lines.push(l);
        let mut q = PageImage::parse(&p.to_bytes().unwrap()).unwrap();
        q.lines.remove(3); // hole at the end: ibMicFree back to 300
        let mut q = PageImage::parse(&q.to_bytes().unwrap()).unwrap();
        q.lines[0].data.extend_from_slice(&[b'+'; 3000]); // moved to 300
        let b = q.to_bytes().unwrap();
        let (tags, mic, _) = layout_of(&b);
        assert_eq!(tags[1], (300, 3100));
        assert_eq!(mic, 3400);
        // 700 bytes needed: 4096-40-3400-20 = 636 contiguous, 736 in all
        let mut r = PageImage::parse(&b).unwrap();
        let l = r.make_line(b"key9", 0, &[b'9'; 694], 0);
        r.lines.push(l);
        let b2 = r.to_bytes().unwrap();
        let (tags, mic, free) = layout_of(&b2);
        // ReorganizeData_: by offset key2 (100), key3 (200), key1 (300)
        assert_eq!(
            tags,
            vec![(0, 0), (200, 3100), (0, 100), (100, 100), (3300, 700)]
        );
        assert_eq!(mic, 4000);
        assert_eq!(free, 36);
        check_invariant(&b2);
        assert_eq!(PageImage::parse(&b2).unwrap(), r);
    }

    #[test]
    fn unchanged_page_serialises_to_its_own_bytes() {
        let mut p = PageImage::parse(&disk_page()).unwrap();
        p.lines.remove(1);
        let mut b = p.to_bytes().unwrap();
        b[40 + 2000] = 0x5A; // stale byte in the free area
        let q = PageImage::parse(&b).unwrap();
        assert_eq!(q.to_bytes().unwrap(), b);
        // a line rebuilt from its content keeps its place
        let mut r = PageImage::parse(&b).unwrap();
        let k = r.key(1);
        let d = r.lines[1].data.clone();
        r.lines[1] = r.make_line(&k, 0, &d, 0);
        assert_eq!(r.to_bytes().unwrap(), b);
    }

    #[test]
    fn split_prefix_reset_moves_tag_0_after_the_lines() {
        let mut p = PageImage::new(4096, 7, FLAG_LEAF, 0x10);
        p.ext = b"key".to_vec();
        for k in [b"key1", b"key2"] {
            let cb = p.cb_common(k);
            p.lines.push(p.make_line(k, cb, &[k[3]; 20], 0));
        }
        let mut q = PageImage::parse(&p.to_bytes().unwrap()).unwrap();
        // tag 0 at 0+3, lines at 3+25 and 28+25; the prefix goes to nothing,
        // the lines grow to 26 bytes (moved to ibMicFree in turn), then the
        // new prefix is placed last (BTISplitSetPrefixInSrcPage)
        q.reset_prefix(b"kex".to_vec());
        let keys: Vec<Vec<u8>> = (0..2).map(|i| q.key(i)).collect();
        for (i, k) in keys.iter().enumerate() {
            let d = q.lines[i].data.clone();
            let l = q.make_line(k, 0, &d, 0);
            q.replace_line(i, l);
        }
        let b = q.to_bytes().unwrap();
        let (tags, mic, _) = layout_of(&b);
        assert_eq!(tags, vec![(105, 3), (53, 26), (79, 26)]);
        assert_eq!(mic, 108);
        check_invariant(&b);
    }

    /// A `ps`-byte leaf page of objid 7 with two lines: key "a" with `a` bytes
    /// of 1, key "b" with `b` bytes of 2.
    fn leaf_a_b(ps: usize, a: usize, b: usize) -> PageImage {
        let mut p = PageImage::new(ps, 7, FLAG_LEAF, 0x10);
        let la = p.make_line(b"a", 0, &vec![1u8; a], 0);
        let lb = p.make_line(b"b", 0, &vec![2u8; b], 0);
        p.lines.push(la);
        p.lines.push(lb);
        p
    }

    #[test]
    fn optimize_internal_fragmentation_compacts_to_a_smaller_buffer() {
        // 8 KiB page: 5000 bytes of lines, then the first 4500 deleted
        let p = leaf_a_b(8192, 4500, 500);
        let b = p.to_bytes().unwrap();
        let mut q = PageImage::parse(&b).unwrap();
        q.lines.remove(0);
        let (tags, _, _) = layout_of(&q.to_bytes().unwrap());
        assert_eq!(tags[1].0, 4503, "without the rule the line stays");
        q.optimize_internal_fragmentation();
        let b2 = q.to_bytes().unwrap();
        let (tags, mic, _) = layout_of(&b2);
        assert_eq!(tags[1], (0, 503));
        assert_eq!(mic, 503);
        check_invariant(&b2);
        // no gain in buffer class (4 KiB pages: always 4 KiB) → unchanged
        let mut r = PageImage::parse(&disk_page()).unwrap();
        r.lines.remove(0);
        r.optimize_internal_fragmentation();
        assert_eq!(layout_of(&r.to_bytes().unwrap()).0[1], (100, 100));
    }

    #[test]
    fn insertion_order_sets_the_offsets() {
        // SPIConvertUpdateOE: the secondary extent (higher key) first, then
        // the primary, which takes iline 0 but lands after it in bytes
        let mut p = PageImage::new(8192, 9, FLAG_LEAF, 0x20);
        p.ext = vec![0u8; 16];
        let sec = p.make_line(&40u32.to_be_bytes(), 0, &8u32.to_le_bytes(), 0);
        let pri = p.make_line(&12u32.to_be_bytes(), 0, &4u32.to_le_bytes(), 0);
        p.insert_in_order(vec![sec, pri]).unwrap();
        assert_eq!(p.key(0), 12u32.to_be_bytes());
        let (tags, mic, _) = layout_of(&p.to_bytes().unwrap());
        assert_eq!(tags, vec![(0, 16), (26, 10), (16, 10)]);
        assert_eq!(mic, 36);
    }

    #[test]
    fn impossible_layouts_fall_back_to_compaction() {
        // a page whose lines fill it, then every line grows while the
        // first one keeps its old (larger) slot until it shrinks: no CPAGE
        // order fits, the page is written compacted instead of panicking
        let p = leaf_a_b(4096, 2000, 1990);
        let mut q = PageImage::parse(&p.to_bytes().unwrap()).unwrap();
        q.lines[0].data.truncate(10);
        q.lines[1].data.extend_from_slice(&vec![3u8; 1980]);
        let bytes = q.to_bytes().unwrap();
        check_invariant(&bytes);
        assert_eq!(PageImage::parse(&bytes).unwrap(), q);
    }
}
