//! Node operations done in place on the bytes of one page, as the engine's
//! CPAGE does them (`ese/cpage.cxx`: `Insert_`, `Replace_`, `Delete_`,
//! `FreeSpace_`, `ReorganizeData_`), for the redo of single-page node
//! records and of the simpler page changes of splits and merges
//! (`super::split`): no decoding of the page into lines, no re-layout.
//!
//! The result is byte for byte what [`super::page::PageImage`] writes for
//! the same operation (parse, change, `to_bytes`): that type stays the
//! reference, used for everything else (node moves of splits and merges,
//! page moves, scrub, new pages) and for every page this module declines.
//! A page is taken only
//! when [`Shape::of`] finds it in the form `PageImage` would write it back
//! unchanged: every tag and node in its canonical encoding, every line in
//! the data area, the content fitting the page. An operation is done only
//! when the engine's placement can be followed without a case `PageImage`
//! resolves differently (an impossible layout it writes compacted, lines
//! overlapping); otherwise the function returns `false` and leaves the page
//! untouched, and the caller takes the `PageImage` path.
//!
//! Placement (same facts as `page.rs`): `Insert_` writes at `ibMicFree`
//! after `FreeSpace_` compacted the data area (`ReorganizeData_`: lines by
//! offset, moved down) when the contiguous free space between `ibMicFree`
//! and the tag array is too small; `Replace_` keeps a line in place when it
//! shrinks, or when it ends at `ibMicFree` and the contiguous space lets it
//! grow, else moves it to `ibMicFree` the same way; `Delete_` leaves a hole
//! and lowers `ibMicFree` only when the line ended there; a page left
//! without lines and with an empty tag 0 restarts at offset 0. The header
//! is rewritten as `PageImage` writes it: checksum and PGHDR2 checksums
//! zeroed, `cbFree` recomputed, `itagState` and flags normalised.
use crate::parse::page::{
    header_size, is_large, FLAG_ROOT, FLAG_SCRUBBED, FLAG_SPACE_TREE, KEY_COUNT_MASK,
    NODE_COMPRESSED, RESERVED_TAGS_MASK, RESERVED_TAGS_SHIFT, SPLIT_BUFFER_SIZE, TAG_FLAGS_SHIFT,
    TAG_MASK_LARGE, TAG_MASK_SMALL,
};
use crate::parse::{u16_at, u32_at};

/// Highest tag count the 12-bit `itagMicFree` holds.
const ITAG_MOST: usize = 0x0FFF;

#[cfg(test)]
thread_local! {
    /// Test counters of the placement paths taken: reorganized, moved,
    /// grown in place at ibMicFree.
    static PATHS: std::cell::Cell<[u32; 3]> = const { std::cell::Cell::new([0; 3]) };
}

/// Counts placement path `i` (tests only).
fn count(i: usize) {
    #[cfg(test)]
    PATHS.with(|p| {
        let mut v = p.get();
        v[i] += 1;
        p.set(v);
    });
    let _ = i;
}

/// What an operation needs to know of a page [`Shape::of`] accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    ps: usize,
    hs: usize,
    large: bool,
    /// itagMicFree: tags in use (tag 0 included).
    ntags: usize,
    /// ibMicFree.
    mic: usize,
    /// Bytes of every line, tag 0 included.
    cb_lines: usize,
    /// An end (data-area offset) no line goes beyond (exact when read by
    /// [`Shape::of`], an upper bound after changes).
    max_end: usize,
    /// No two lines share a byte (checked by [`Shape::of`], kept by the
    /// operations).
    disjoint: bool,
}

/// A tag's line: data-area offset, size, node flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TagLine {
    ib: usize,
    cb: usize,
    flags: u8,
}

/// A node's parts, as slices of the page.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    /// Node flags without `NODE_COMPRESSED`.
    pub flags: u8,
    /// Leading bytes of the page prefix that start the key.
    pub cb_prefix: usize,
    /// Key suffix.
    pub suffix: &'a [u8],
    /// Data.
    pub data: &'a [u8],
}

impl Shape {
    /// The shape of page `b` when the in-place operations may take it: it
    /// parses as [`super::page::PageImage::parse`] parses it, and writing it
    /// back unchanged through `PageImage` would give the same data area and
    /// tag array (canonical tags and nodes, content within the page).
    pub fn of(b: &[u8]) -> Option<Shape> {
        let ps = b.len();
        let hs = header_size(ps);
        if ps < hs || !matches!(ps, 4096 | 8192 | 16384 | 32768) {
            return None;
        }
        let large = is_large(ps);
        let ntags = (u16_at(b, 34) & 0x0FFF) as usize;
        if ntags == 0 || hs + 4 * ntags > ps {
            return None;
        }
        let limit = ps - 4 * ntags - hs;
        let (mut cb_lines, mut max_end) = (0, 0);
        for itag in 0..ntags {
            let t = canonical_tag(b, hs, large, itag)?;
            if t.ib + t.cb > limit {
                return None;
            }
            if itag > 0 {
                let line = &b[hs + t.ib..hs + t.ib + t.cb];
                node(line, t.flags).filter(|n| canonical_node(line, t.flags, n, large))?;
            }
            cb_lines += t.cb;
            max_end = max_end.max(t.ib + t.cb);
        }
        let mut sh = Shape {
            ps,
            hs,
            large,
            ntags,
            mic: u16_at(b, 32) as usize,
            cb_lines,
            max_end,
            disjoint: false,
        };
        sh.disjoint = lines_disjoint(b, &sh, None).is_some();
        (hs + cb_lines + 4 * ntags <= ps).then_some(sh)
    }

    /// Whether this shape, kept across changes, still holds for `b`: what
    /// [`Shape::of`] reads from it, `max_end` an upper bound (a check for
    /// debug builds and tests).
    pub fn describes(&self, b: &[u8]) -> bool {
        Shape::of(b).is_some_and(|f| {
            (f.ps, f.hs, f.large, f.ntags, f.mic, f.cb_lines)
                == (
                    self.ps,
                    self.hs,
                    self.large,
                    self.ntags,
                    self.mic,
                    self.cb_lines,
                )
                && f.max_end <= self.max_end
                && (f.disjoint || !self.disjoint)
        })
    }

    /// Nodes on the page (tags after tag 0).
    pub fn lines(&self) -> usize {
        self.ntags - 1
    }

    /// Whether no two lines share a byte (then compaction cannot decline).
    pub fn disjoint(&self) -> bool {
        self.disjoint
    }

    /// Whether the page uses the large format (flags inside the nodes).
    pub fn large(&self) -> bool {
        self.large
    }

    /// Bytes free once the content changes by `grow` bytes and `tags` tags
    /// (the `used ≤ cbPage` condition of `PageImage::to_bytes`).
    fn fits(&self, grow: isize, tags: usize) -> bool {
        let used = self.hs + self.cb_lines + 4 * (self.ntags + tags);
        used.checked_add_signed(grow).is_some_and(|u| u <= self.ps)
    }

    /// `CbContiguousFree_` with `ntags` tags.
    fn contiguous(&self, ntags: usize) -> usize {
        (self.ps - self.hs).saturating_sub(self.mic + 4 * ntags)
    }
}

/// Tag `itag` of an accepted page (its 4 bytes canonical).
fn tag_at(b: &[u8], sh: &Shape, itag: usize) -> TagLine {
    let off = sh.ps - 4 * (itag + 1);
    let (cb, ib_word) = (u16_at(b, off) as usize, u16_at(b, off + 2));
    let ib = (ib_word
        & if sh.large {
            TAG_MASK_LARGE
        } else {
            TAG_MASK_SMALL
        }) as usize;
    let flags = if !sh.large {
        (ib_word >> TAG_FLAGS_SHIFT) as u8
    } else if itag > 0 && cb >= 2 {
        (u16_at(b, sh.hs + ib) >> 13) as u8
    } else {
        0
    };
    TagLine { ib, cb, flags }
}

/// Reads tag `itag` when its two words are as `PageImage` writes them
/// (no stray high bits, no flags on tag 0), as `read_tag` decodes it.
fn canonical_tag(b: &[u8], hs: usize, large: bool, itag: usize) -> Option<TagLine> {
    let ps = b.len();
    let off = ps - 4 * (itag + 1);
    let (raw_cb, raw_ib) = (u16_at(b, off), u16_at(b, off + 2));
    let mask = if large {
        TAG_MASK_LARGE
    } else {
        TAG_MASK_SMALL
    };
    if raw_cb & !mask != 0 || (large && raw_ib & !mask != 0) || (itag == 0 && raw_ib & !mask != 0) {
        return None;
    }
    let (ib, cb) = ((raw_ib & mask) as usize, raw_cb as usize);
    let flags = if !large {
        (raw_ib >> TAG_FLAGS_SHIFT) as u8
    } else if itag > 0 && cb >= 2 && hs + ib + 2 <= ps {
        (u16_at(b, hs + ib) >> 13) as u8
    } else {
        0
    };
    Some(TagLine { ib, cb, flags })
}

/// Splits a line as `parse_node` does (`None` where it errs).
fn node(line: &[u8], flags: u8) -> Option<Node<'_>> {
    let mut pos = 0;
    let mut cb_prefix = 0;
    if flags & NODE_COMPRESSED != 0 {
        if line.len() < 2 {
            return None;
        }
        cb_prefix = (u16_at(line, 0) & KEY_COUNT_MASK) as usize;
        pos = 2;
    }
    if line.len() < pos + 2 {
        return None;
    }
    let cb_suffix = (u16_at(line, pos) & KEY_COUNT_MASK) as usize;
    pos += 2;
    if pos + cb_suffix >= line.len() {
        return None;
    }
    Some(Node {
        flags: flags & !NODE_COMPRESSED,
        cb_prefix,
        suffix: &line[pos..pos + cb_suffix],
        data: &line[pos + cb_suffix..],
    })
}

/// Whether `line` (tag flags `flags`) is what `Line::encode` writes for
/// its parts: the compressed flag set exactly when there is a prefix,
/// counts without stray high bits (on large pages the first word's high
/// bits are the flags).
fn canonical_node(line: &[u8], flags: u8, n: &Node, large: bool) -> bool {
    let compressed = n.cb_prefix > 0;
    if (flags & NODE_COMPRESSED != 0) != compressed {
        return false;
    }
    let first = u16_at(line, 0);
    let first_count = if compressed {
        n.cb_prefix
    } else {
        n.suffix.len()
    };
    let first_ok = if large {
        first & KEY_COUNT_MASK == first_count as u16
    } else {
        first == first_count as u16
    };
    first_ok && (!compressed || u16_at(line, 2) == n.suffix.len() as u16)
}

/// Node `iline` (0-based) of an accepted page.
pub fn node_at<'a>(b: &'a [u8], sh: &Shape, iline: usize) -> Node<'a> {
    let t = tag_at(b, sh, iline + 1);
    let line = &b[sh.hs + t.ib..sh.hs + t.ib + t.cb];
    node(line, t.flags).expect("checked by Shape::of")
}

/// The page's key prefix (tag 0 on non-root pages, tag 0 after the split
/// buffer on space-tree roots, none on other roots; as `PageImage::prefix`).
pub fn prefix<'a>(b: &'a [u8], sh: &Shape) -> &'a [u8] {
    let t = tag_at(b, sh, 0);
    let ext = &b[sh.hs + t.ib..sh.hs + t.ib + t.cb];
    let flags = u32_at(b, 36);
    if flags & FLAG_ROOT == 0 {
        ext
    } else if flags & FLAG_SPACE_TREE != 0 && ext.len() >= SPLIT_BUFFER_SIZE {
        &ext[SPLIT_BUFFER_SIZE..]
    } else {
        &[]
    }
}

/// Appends the full key of node `iline` to `out`.
pub fn key_into(b: &[u8], sh: &Shape, iline: usize, out: &mut Vec<u8>) {
    let n = node_at(b, sh, iline);
    let p = prefix(b, sh);
    out.extend_from_slice(&p[..n.cb_prefix.min(p.len())]);
    out.extend_from_slice(n.suffix);
}

/// Whether a node of these parts is written in the form [`Shape::of`]
/// accepts (counts within 13 bits, some data: `parse_node` refuses a node
/// without data), so that a page changed in place stays one it accepts.
pub fn plain_node(cb_prefix: usize, suffix: usize, data: usize) -> bool {
    cb_prefix <= KEY_COUNT_MASK as usize && suffix <= KEY_COUNT_MASK as usize && data > 0
}

/// Appends a node's bytes as `Line::encode` lays them out and returns the
/// flags its tag carries.
pub fn encode_node(
    out: &mut Vec<u8>,
    large: bool,
    flags: u8,
    cb_prefix: usize,
    suffix: &[u8],
    data: &[u8],
) -> u8 {
    let flags = flags | if cb_prefix > 0 { NODE_COMPRESSED } else { 0 };
    let start = out.len();
    if cb_prefix > 0 {
        out.extend_from_slice(&(cb_prefix as u16).to_le_bytes());
    }
    out.extend_from_slice(&(suffix.len() as u16).to_le_bytes());
    out.extend_from_slice(suffix);
    out.extend_from_slice(data);
    if large {
        let w = u16_at(out, start) | ((flags as u16) << 13);
        out[start..start + 2].copy_from_slice(&w.to_le_bytes());
    }
    flags
}

/// Writes tag `itag`'s two words.
fn set_tag(b: &mut [u8], sh: &Shape, itag: usize, ib: usize, cb: usize, flags: u8) {
    let off = sh.ps - 4 * (itag + 1);
    let ibw = if sh.large {
        ib as u16
    } else {
        (ib as u16) | ((flags as u16) << TAG_FLAGS_SHIFT)
    };
    b[off..off + 2].copy_from_slice(&(cb as u16).to_le_bytes());
    b[off + 2..off + 4].copy_from_slice(&ibw.to_le_bytes());
}

/// Whether no line but `skip` has a byte in `[lo, hi)` of the data area
/// (a line of another tag there would be rewritten over the new bytes).
fn clear_of_others(b: &[u8], sh: &Shape, skip: Option<usize>, lo: usize, hi: usize) -> bool {
    // Disjoint lines, all below ibMicFree: only `skip`'s own bytes or the
    // free space can be asked about.
    if sh.disjoint && sh.max_end <= sh.mic && skip.is_some_and(|i| covers(b, sh, i, lo, hi)) {
        return true;
    }
    if sh.max_end <= lo {
        return true;
    }
    (0..sh.ntags).all(|itag| {
        let t = tag_at(b, sh, itag);
        Some(itag) == skip || t.cb == 0 || t.ib + t.cb <= lo || t.ib >= hi
    })
}

/// Where tag 0's line ends (it alone may be empty, so outside the
/// disjointness of the lines).
fn ext_end(b: &[u8], sh: &Shape) -> usize {
    let t = tag_at(b, sh, 0);
    t.ib + t.cb
}

/// Whether `[lo, hi)` lies in tag `itag`'s line or from its start on
/// beyond ibMicFree (a line that ends at ibMicFree growing in place).
fn covers(b: &[u8], sh: &Shape, itag: usize, lo: usize, hi: usize) -> bool {
    let t = tag_at(b, sh, itag);
    lo >= t.ib && (hi <= t.ib + t.cb || t.ib + t.cb == sh.mic)
}

/// `FreeSpace_` + the write at `ibMicFree`: places `bytes` (for tag
/// `itag`, whose old line, if any, is no longer counted) with `ntags` tags
/// on the finished page, compacting first when the contiguous space is too
/// small. Returns the offset, or `None` (nothing changed) where `PageImage`
/// would not place it this way.
fn place(
    b: &mut [u8],
    sh: &mut Shape,
    itag: Option<usize>,
    bytes: &[u8],
    ntags: usize,
) -> Option<usize> {
    let n = bytes.len();
    if sh.contiguous(ntags) >= n {
        let ib = sh.mic;
        let limit = sh.ps - sh.hs - 4 * ntags;
        if sh.max_end > limit || !clear_of_others(b, sh, itag, ib, ib + n) {
            return None;
        }
        b[sh.hs + ib..sh.hs + ib + n].copy_from_slice(bytes);
        sh.mic += n;
        sh.max_end = sh.max_end.max(sh.mic);
        return Some(ib);
    }
    reorganize(b, sh, itag, ntags, n)?;
    count(0);
    let ib = sh.mic;
    b[sh.hs + ib..sh.hs + ib + n].copy_from_slice(bytes);
    sh.mic += n;
    sh.max_end = sh.mic;
    Some(ib)
}

/// The lines but `skip` as (offset, tag, size) by offset (tag number
/// among equals), when no two of them share a byte.
fn lines_disjoint(b: &[u8], sh: &Shape, skip: Option<usize>) -> Option<Vec<(usize, usize, usize)>> {
    let mut order: Vec<(usize, usize, usize)> = (0..sh.ntags)
        .filter(|&i| Some(i) != skip)
        .map(|i| {
            let t = tag_at(b, sh, i);
            (t.ib, i, t.cb)
        })
        .collect();
    order.sort_unstable();
    let mut end = 0;
    for &(ib, _, cb) in &order {
        if cb > 0 {
            if ib < end {
                return None;
            }
            end = ib + cb;
        }
    }
    Some(order)
}

/// `ReorganizeData_`: every line but `skip`, by offset (tag number among
/// equals), moved down from offset 0; checked first: the lines must not
/// overlap and `need` bytes must then fit before the tag array of `ntags`
/// tags. Returns `None` with the page untouched when they do not.
fn reorganize(
    b: &mut [u8],
    sh: &mut Shape,
    skip: Option<usize>,
    ntags: usize,
    need: usize,
) -> Option<()> {
    let order = lines_disjoint(b, sh, skip)?;
    let total: usize = order.iter().map(|&(_, _, cb)| cb).sum();
    if (sh.ps - sh.hs).saturating_sub(total + 4 * ntags) < need {
        return None;
    }
    let mut dest = 0;
    for (ib, itag, cb) in order {
        b.copy_within(sh.hs + ib..sh.hs + ib + cb, sh.hs + dest);
        let flags = tag_at(b, sh, itag).flags;
        // Small pages keep the flags in the tag; on large ones they moved
        // with the line.
        set_tag(b, sh, itag, dest, cb, flags);
        dest += cb;
    }
    sh.mic = dest;
    sh.max_end = dest;
    sh.disjoint = true;
    Some(())
}

/// `Insert_`: a new line `bytes` (tag flags `flags`) as tag `itag`, the
/// tags from there on shifted up. `false`: not done, page untouched.
pub fn insert(b: &mut [u8], sh: &mut Shape, itag: usize, bytes: &[u8], flags: u8) -> bool {
    let ntags = sh.ntags + 1;
    if itag == 0 || itag > sh.ntags || ntags > ITAG_MOST || !sh.fits(bytes.len() as isize, 1) {
        return false;
    }
    // The lines are rewritten where they are before the new one is placed:
    // one reaching the new tag's slot is a layout `PageImage` compacts.
    if sh.max_end > sh.ps - sh.hs - 4 * ntags {
        return false;
    }
    let Some(ib) = place(b, sh, None, bytes, ntags) else {
        return false;
    };
    // Tags itag.. move one slot down in memory (the array grows downward).
    let (lo, hi) = (sh.ps - 4 * sh.ntags, sh.ps - 4 * itag);
    b.copy_within(lo..hi, lo - 4);
    sh.ntags = ntags;
    sh.cb_lines += bytes.len();
    set_tag(b, sh, itag, ib, bytes.len(), flags);
    true
}

/// `Replace_`: tag `itag`'s line becomes `bytes` (tag flags `flags`): in
/// place when it shrinks or when it ends at `ibMicFree` with room to grow,
/// else moved. `false`: not done, page untouched.
pub fn replace(b: &mut [u8], sh: &mut Shape, itag: usize, bytes: &[u8], flags: u8) -> bool {
    if itag >= sh.ntags {
        return false;
    }
    let t = tag_at(b, sh, itag);
    let n = bytes.len();
    if !sh.fits(n as isize - t.cb as isize, 0) {
        return false;
    }
    let at_end = t.ib + t.cb == sh.mic;
    let ib = if n <= t.cb || (at_end && sh.contiguous(sh.ntags) >= n - t.cb) {
        if !clear_of_others(b, sh, Some(itag), t.ib, t.ib + n) {
            return false;
        }
        if at_end {
            if n > t.cb {
                count(2);
            }
            sh.mic = t.ib + n;
        }
        b[sh.hs + t.ib..sh.hs + t.ib + n].copy_from_slice(bytes);
        sh.max_end = if sh.disjoint && t.ib + t.cb == sh.max_end {
            (t.ib + n).max(ext_end(b, sh))
        } else {
            sh.max_end.max(t.ib + n)
        };
        t.ib
    } else {
        match place(b, sh, Some(itag), bytes, sh.ntags) {
            Some(ib) => {
                count(1);
                ib
            }
            None => return false,
        }
    };
    sh.cb_lines = sh.cb_lines - t.cb + n;
    set_tag(b, sh, itag, ib, n, flags);
    true
}

/// `Delete_`: tag `itag` (≥ 1) goes, the tags after it shift down; a hole
/// stays where the line was unless it ended at `ibMicFree`.
pub fn delete(b: &mut [u8], sh: &mut Shape, itag: usize) -> bool {
    if itag == 0 || itag >= sh.ntags {
        return false;
    }
    let t = tag_at(b, sh, itag);
    if t.ib + t.cb == sh.mic {
        sh.mic = t.ib;
    }
    if sh.disjoint && t.cb > 0 && t.ib + t.cb == sh.max_end {
        // the other lines end at or before its start (tag 0 may be empty,
        // anywhere)
        sh.max_end = t.ib.max(ext_end(b, sh));
    }
    let (lo, hi) = (sh.ps - 4 * sh.ntags, sh.ps - 4 * (itag + 1));
    b.copy_within(lo..hi, lo + 4);
    sh.ntags -= 1;
    sh.cb_lines -= t.cb;
    true
}

/// Writes the header as `PageImage::to_bytes` does after an operation:
/// checksum (and PGHDR2 checksums) zeroed, the new dbtime, fPageScrubbed
/// cleared (`CPAGE::Dirty`), cbFree, ibMicFree (0 on a page left with
/// nothing), itagState.
pub fn finish(b: &mut [u8], sh: &mut Shape, dbtime: u64) {
    if sh.ntags == 1 && tag_at(b, sh, 0).cb == 0 {
        sh.mic = 0;
    }
    let mic = sh.mic;
    b[0..8].fill(0);
    b[8..16].copy_from_slice(&dbtime.to_le_bytes());
    let cb_free = sh.ps - (sh.hs + sh.cb_lines + 4 * sh.ntags);
    b[28..30].copy_from_slice(&(cb_free as u16).to_le_bytes());
    b[32..34].copy_from_slice(&(mic as u16).to_le_bytes());
    let reserved = (u16_at(b, 34) >> RESERVED_TAGS_SHIFT) & RESERVED_TAGS_MASK;
    let itag_state = (sh.ntags as u16 & 0x0FFF) | (reserved << RESERVED_TAGS_SHIFT);
    b[34..36].copy_from_slice(&itag_state.to_le_bytes());
    let flags = u32_at(b, 36) & !FLAG_SCRUBBED;
    b[36..40].copy_from_slice(&flags.to_le_bytes());
    if sh.large {
        b[40..68].fill(0);
    }
}

/// `NDEmptyPage` (inc/node.hxx ~608) on the bytes, as `PageImage` writes
/// a page whose lines and tag 0 it cleared: the lines deleted last first,
/// tag 0 emptied where it is (the caller sets fPageEmpty). Never declines
/// (tag 0 alone shrinking in place).
pub fn empty(b: &mut [u8], sh: &mut Shape) -> bool {
    for itag in (1..sh.ntags).rev() {
        delete(b, sh, itag);
    }
    replace(b, sh, 0, &[], 0)
}

/// `CPAGE::OptimizeInternalFragmentation` (cpage.cxx ~5696) as
/// `PageImage::to_bytes` applies it to a page marked for it: the data area
/// compacted (`ReorganizeData_`) when the compacted page fits a smaller
/// buffer size class. `false`: lines overlap, page untouched.
pub fn optimize_internal_fragmentation(b: &mut [u8], sh: &mut Shape) -> bool {
    use super::page::{buffer_class, round2};
    let mic = if sh.ntags == 1 && tag_at(b, sh, 0).cb == 0 {
        0
    } else {
        sh.mic
    };
    let tags = 4 * sh.ntags;
    let now = round2(sh.hs + mic + tags);
    let packed = round2(sh.hs + sh.cb_lines + tags);
    if now == packed || buffer_class(packed) >= buffer_class(now) {
        return true;
    }
    reorganize(b, sh, None, sh.ntags, 0).is_some()
}

/// Tag `itag`'s line bytes.
pub fn line_at<'a>(b: &'a [u8], sh: &Shape, itag: usize) -> &'a [u8] {
    let t = tag_at(b, sh, itag);
    &b[sh.hs + t.ib..sh.hs + t.ib + t.cb]
}

/// The differential property test: random pages (built through
/// `PageImage`, aged by random operations so that holes, stale bytes and
/// moved lines exist; every page size), random node operations; after
/// every one the in-place result must equal the `PageImage` path byte for
/// byte, and a declined operation must leave the page untouched.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::log::record::LogRecord;
    use crate::log::typed::{
        Bookmark, Delta, DeltaWidth, Key, Level, NodeRef, PageFlags, PageRef, Record, Replace,
    };
    use crate::parse::page::{FLAG_LEAF, FLAG_PARENT_OF_LEAF, NODE_DELETED, NODE_VERSIONED};
    use crate::parse::primitives::Lgpos;
    use crate::recovery::page::PageImage;
    use crate::recovery::redo::{node_op, node_op_in_place, undo_in_place};
    use crate::recovery::undo::UndoOp;

    const PGNO: u32 = 5;

    /// xorshift64.
    pub(crate) struct Rng(pub(crate) u64);
    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        pub(crate) fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next() % n as u64) as usize
            }
        }
        pub(crate) fn one_in(&mut self, n: usize) -> bool {
            self.below(n) == 0
        }
        pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
            // a small alphabet, so that keys share prefixes
            (0..n).map(|_| b'a' + (self.next() % 4) as u8).collect()
        }
    }

    /// What a node operation is, with the bytes its record points at.
    #[derive(Debug, Clone)]
    enum Op {
        Insert {
            prefix: Vec<u8>,
            suffix: Vec<u8>,
            data: Vec<u8>,
        },
        FlagInsert,
        FlagInsertData(Vec<u8>),
        FlagDelete,
        Delete,
        Replace(Vec<u8>, u16),
        ReplaceD(Vec<u8>, u16),
        Delta(i64, u16, DeltaWidth),
        SetExt(Vec<u8>),
    }

    pub(crate) fn rec() -> LogRecord {
        LogRecord {
            lgpos: Lgpos::default(),
            lrtyp: 33,
            size: 0,
            disk_bytes: 0,
            fragments: 0,
            data: vec![].into(),
        }
    }

    fn node_ref(iline: usize, versioned: bool, dbtime: u64) -> NodeRef {
        NodeRef {
            page: PageRef {
                procid: 1,
                dbid: 1,
                pgno: PGNO,
                dbtime,
                dbtime_before: dbtime - 1,
                trx_begin0: 0,
                level: Level(1),
                iline: iline as u16,
                flags: PageFlags(if versioned { PageFlags::VERSIONED } else { 0 }),
            },
            rceid: 1,
            pgno_fdp: 1,
            objid_fdp: 7,
        }
    }

    fn record<'a>(op: &'a Op, node: NodeRef) -> Record<'a> {
        let bookmark = Bookmark::default();
        match op {
            Op::Insert {
                prefix,
                suffix,
                data,
            } => Record::Insert {
                node,
                key: Key { prefix, suffix },
                data,
            },
            Op::FlagInsert => Record::FlagInsert {
                node,
                key: &[],
                data: &[],
            },
            Op::FlagInsertData(d) => Record::FlagInsertAndReplaceData {
                node,
                key: &[],
                data: d,
                rceid_replace: 0,
            },
            Op::FlagDelete => Record::FlagDelete { node },
            Op::Delete => Record::Delete { node },
            Op::Replace(d, cb_new) => Record::Replace(Replace {
                node,
                diff2: false,
                cb_old: 0,
                cb_new: *cb_new,
                data: d,
            }),
            Op::ReplaceD(d, cb_new) => Record::ReplaceD(Replace {
                node,
                diff2: false,
                cb_old: 0,
                cb_new: *cb_new,
                data: d,
            }),
            Op::Delta(delta, offset, width) => {
                let d = Delta {
                    node,
                    bookmark,
                    delta: *delta,
                    width: *width,
                    offset: *offset,
                };
                match width {
                    DeltaWidth::W32 => Record::Delta(d),
                    DeltaWidth::W64 => Record::Delta64(d),
                }
            }
            Op::SetExt(d) => Record::SetExternalHeader { node, data: d },
        }
    }

    /// A ReplaceD difference list (DIFFHDR) turning part of `old` into
    /// something else; returns it with the after-image's length.
    fn diff_for(rng: &mut Rng, old: &[u8]) -> (Vec<u8>, usize) {
        let mut d = Vec::new();
        let mut at = 0;
        let mut len = old.len();
        for _ in 0..1 + rng.below(3) {
            if at > old.len() {
                break;
            }
            let ib = at + rng.below(old.len() - at + 1);
            let room = old.len() - ib;
            match rng.below(3) {
                0 if room > 0 => {
                    let n = 1 + rng.below(room.min(8));
                    d.extend_from_slice(&(ib as u16 | 0x2000).to_le_bytes());
                    d.push(n as u8);
                    d.extend(rng.bytes(n));
                    at = ib + n;
                }
                1 => {
                    let most = if rng.one_in(4) { 200 } else { 8 };
                    let n = 1 + rng.below(most);
                    d.extend_from_slice(&(ib as u16 | 0x4000).to_le_bytes());
                    d.push(n as u8);
                    d.extend(rng.bytes(n));
                    len += n;
                    at = ib;
                }
                _ => {
                    let old_n = rng.below(room.min(10) + 1);
                    let n = rng.below(10);
                    d.extend_from_slice(&(ib as u16).to_le_bytes());
                    d.push(n as u8);
                    d.push(old_n as u8);
                    d.extend(rng.bytes(n));
                    len = len + n - old_n;
                    at = ib + old_n;
                }
            }
        }
        (d, len)
    }

    /// A random operation for page `p` (mostly valid, sometimes not).
    fn random_op(rng: &mut Rng, p: &PageImage) -> (Op, usize) {
        let n = p.lines.len();
        let iline = if n == 0 || rng.one_in(40) {
            n + rng.below(2)
        } else {
            rng.below(n)
        };
        let big = p.page_size / 3;
        let data_len = |rng: &mut Rng| {
            if rng.one_in(8) {
                1 + rng.below(big)
            } else {
                1 + rng.below(60)
            }
        };
        let old = p
            .lines
            .get(iline)
            .map(|l| l.data.clone())
            .unwrap_or_default();
        let op = match rng.below(20) {
            0..=4 => {
                let pre = p.prefix().to_vec();
                let mut cb = rng.below(pre.len().min(12) + 1);
                if rng.one_in(3) {
                    cb = 0;
                }
                let mut prefix = pre[..cb].to_vec();
                if rng.one_in(30) {
                    prefix.push(b'!');
                }
                let iline = rng.below(n + 1) + usize::from(rng.one_in(40));
                let (ns, nd) = (rng.below(20), data_len(rng));
                let op = Op::Insert {
                    prefix,
                    suffix: rng.bytes(ns),
                    data: rng.bytes(nd),
                };
                return (op, iline);
            }
            5 => Op::FlagInsert,
            6 => {
                let nd = data_len(rng);
                Op::FlagInsertData(rng.bytes(nd))
            }
            7 | 8 => Op::FlagDelete,
            9..=11 => Op::Delete,
            12..=14 => {
                let len = match rng.below(4) {
                    0 => old.len(),
                    1 => old.len().saturating_sub(rng.below(old.len().max(1))).max(1),
                    _ => data_len(rng),
                };
                let cb_new = if rng.one_in(30) { len + 1 } else { len };
                Op::Replace(rng.bytes(len), cb_new as u16)
            }
            15 | 16 => {
                let (d, len) = diff_for(rng, &old);
                let cb_new = if rng.one_in(30) { len + 1 } else { len };
                Op::ReplaceD(d, cb_new as u16)
            }
            17 | 18 => {
                let width = if rng.one_in(2) {
                    DeltaWidth::W32
                } else {
                    DeltaWidth::W64
                };
                let off = rng.below(old.len() + 2);
                Op::Delta(rng.next() as i64 >> 40, off as u16, width)
            }
            _ => {
                let len = if rng.one_in(5) { 0 } else { rng.below(48) };
                Op::SetExt(rng.bytes(len))
            }
        };
        (op, iline)
    }

    /// The reference: what redo does through `PageImage` (check's parse,
    /// the change, `write`'s header changes, the store's PGHDR2 pgno).
    pub(crate) fn reference_with<F>(b: &[u8], dbtime: u64, edit: F) -> Option<Vec<u8>>
    where
        F: FnOnce(PageImage) -> Option<PageImage>,
    {
        let mut p = edit(PageImage::parse(b).ok()?)?;
        p.dbtime = dbtime;
        p.flags &= !FLAG_SCRUBBED;
        let mut out = p.to_bytes().ok()?;
        if is_large(out.len()) {
            out[64..68].copy_from_slice(&PGNO.to_le_bytes());
        }
        Some(out)
    }

    /// The reference of a node record (`node_op`).
    fn reference(b: &[u8], decoded: &Record, dbtime: u64) -> Option<Vec<u8>> {
        reference_with(b, dbtime, |p| node_op(&rec(), decoded, p).ok())
    }

    /// The same through the in-place path (`false`: declined), starting
    /// from the shape kept from the last in-place operation, if any, as
    /// redo does; `memo` is left with the shape after it.
    pub(crate) fn in_place_with<F>(
        b: &mut [u8],
        dbtime: u64,
        scratch: &mut Vec<u8>,
        memo: &mut Option<Shape>,
        edit: F,
    ) -> bool
    where
        F: FnOnce(&mut [u8], &mut Shape, &mut Vec<u8>) -> bool,
    {
        let Some(mut sh) = memo.take().or_else(|| Shape::of(b)) else {
            return false;
        };
        *memo = Some(sh);
        if !edit(b, &mut sh, scratch) {
            return false;
        }
        finish(b, &mut sh, dbtime);
        assert!(sh.describes(b), "{sh:?} vs {:?}", Shape::of(b));
        *memo = Some(sh);
        if sh.large {
            b[64..68].copy_from_slice(&PGNO.to_le_bytes());
        }
        true
    }

    /// A node record in place.
    fn in_place(
        b: &mut [u8],
        decoded: &Record,
        dbtime: u64,
        scratch: &mut Vec<u8>,
        memo: &mut Option<Shape>,
    ) -> bool {
        in_place_with(b, dbtime, scratch, memo, |b, sh, s| {
            node_op_in_place(decoded, b, sh, s)
        })
    }

    /// A random physical undo (line, inverse) for page `p`.
    fn random_undo(rng: &mut Rng, p: &PageImage) -> (usize, UndoOp) {
        let n = p.lines.len();
        let iline = if rng.one_in(30) { n } else { rng.below(n) };
        let old = p.lines.get(iline).map_or(0, |l| l.data.len());
        let len = if rng.one_in(3) {
            old
        } else {
            1 + rng.below(100)
        };
        let op = match rng.below(5) {
            0 => UndoOp::FlagDelete,
            1 => UndoOp::ResetDelete,
            2 => UndoOp::Data(rng.bytes(len)),
            3 => UndoOp::FlagDeleteAndData(rng.bytes(len)),
            _ => UndoOp::Delta {
                offset: rng.below(old + 2),
                delta: rng.next() as i64 >> 40,
                width: if rng.one_in(2) { 4 } else { 8 },
            },
        };
        (iline, op)
    }

    /// [`reference`], or the reference of a physical undo when one is given.
    fn reference_any(
        b: &[u8],
        decoded: &Record,
        undo: Option<&(usize, UndoOp)>,
        dbtime: u64,
    ) -> Option<Vec<u8>> {
        let Some((iline, op)) = undo else {
            return reference(b, decoded, dbtime);
        };
        reference_with(b, dbtime, |mut p| {
            crate::recovery::undo::apply(&mut p, *iline, op).ok()?;
            Some(p)
        })
    }

    /// [`in_place`], or the in-place physical undo when one is given.
    fn in_place_any(
        b: &mut [u8],
        decoded: &Record,
        undo: Option<&(usize, UndoOp)>,
        dbtime: u64,
        scratch: &mut Vec<u8>,
        memo: &mut Option<Shape>,
    ) -> bool {
        let Some((iline, op)) = undo else {
            return in_place(b, decoded, dbtime, scratch, memo);
        };
        in_place_with(b, dbtime, scratch, memo, |b, sh, s| {
            undo_in_place(b, sh, *iline, op, s)
        })
    }

    /// A random page built through `PageImage`, then aged.
    pub(crate) fn random_page(rng: &mut Rng) -> Vec<u8> {
        let ps = [4096, 8192, 16384, 32768][rng.below(4)];
        let root = rng.one_in(4);
        let space = root && rng.one_in(2);
        let mut flags = if rng.one_in(4) {
            FLAG_PARENT_OF_LEAF
        } else {
            FLAG_LEAF
        };
        flags |= if root { FLAG_ROOT } else { 0 } | if space { FLAG_SPACE_TREE } else { 0 };
        if rng.one_in(4) {
            flags |= FLAG_SCRUBBED;
        }
        let mut p = PageImage::new(ps, 7, flags, 10);
        p.ext = if space {
            let mut e = vec![0u8; 16];
            let n = rng.below(8);
            e.extend(rng.bytes(n));
            e
        } else if rng.one_in(4) {
            Vec::new()
        } else {
            let n = rng.below(24);
            rng.bytes(n)
        };
        p.reserved_tags = if rng.one_in(5) { rng.below(8) as u8 } else { 0 };
        let target = rng.below(ps * 9 / 10);
        while p.used() < target {
            let mut key = p.prefix()[..rng.below(p.prefix().len() + 1)].to_vec();
            let n = rng.below(16);
            key.extend(rng.bytes(n));
            let cb = if rng.one_in(3) { 0 } else { p.cb_common(&key) };
            let nd = if rng.one_in(6) {
                1 + rng.below(ps / 8)
            } else {
                1 + rng.below(80)
            };
            let data = rng.bytes(nd);
            let l = p.make_line(&key, cb, &data, rng.below(3) as u8);
            if p.used() + 4 + key.len() + data.len() + 4 > ps {
                break;
            }
            p.lines.push(l);
        }
        let mut b = p.to_bytes().expect("built to fit");
        // aged by earlier operations (holes, moved lines, stale bytes)
        let mut dbtime = 11;
        for _ in 0..rng.below(30) {
            let Ok(img) = PageImage::parse(&b) else { break };
            let (op, iline) = random_op(rng, &img);
            let d = record(&op, node_ref(iline, rng.one_in(2), dbtime));
            if let Some(nb) = reference(&b, &d, dbtime) {
                b = nb;
                dbtime += 1;
            }
        }
        junk(rng, &mut b);
        b
    }

    /// What disk pages carry that `PageImage` rewrites: a checksum, PGHDR2
    /// bytes, stray bytes in the free space, bit 15 of itagState.
    fn junk(rng: &mut Rng, b: &mut [u8]) {
        let ps = b.len();
        b[0..8].copy_from_slice(&rng.next().to_le_bytes());
        if is_large(ps) {
            for x in &mut b[40..80] {
                *x = rng.next() as u8;
            }
        }
        if let Some(sh) = Shape::of(b) {
            let (lo, hi) = (sh.hs + sh.max_end.max(sh.mic), ps - 4 * sh.ntags);
            if lo < hi && rng.one_in(2) {
                for x in &mut b[lo..hi] {
                    *x = rng.next() as u8;
                }
            }
        }
        if rng.one_in(6) {
            b[35] |= 0x80;
        }
    }

    /// Keys and data read from the bytes equal the decoded page's.
    fn same_nodes(b: &[u8], sh: &Shape) {
        let p = PageImage::parse(b).unwrap();
        assert_eq!(sh.lines(), p.lines.len());
        assert_eq!(prefix(b, sh), p.prefix());
        for i in 0..p.lines.len() {
            let mut k = Vec::new();
            key_into(b, sh, i, &mut k);
            assert_eq!(k, p.key(i));
            let n = node_at(b, sh, i);
            assert_eq!(n.data, &p.lines[i].data[..]);
            assert_eq!(n.flags, p.lines[i].flags);
        }
    }

    /// (ib, cb) of every tag, ibMicFree, cbFree.
    fn layout(b: &[u8]) -> (Vec<(u16, u16)>, u16, u16) {
        let n = (u16_at(b, 34) & 0xFFF) as usize;
        let tags = (0..n)
            .map(|i| {
                let off = b.len() - 4 * (i + 1);
                (u16_at(b, off + 2) & 0x7FFF, u16_at(b, off))
            })
            .collect();
        (tags, u16_at(b, 32), u16_at(b, 28))
    }

    /// Asserts the in-place result equals the reference, saying where not.
    pub(crate) fn same(before: &[u8], mine: &[u8], want: Option<&[u8]>, what: &str) {
        let Some(want) = want else {
            panic!("{what}: done in place, refused by PageImage");
        };
        if mine != want {
            let at = mine.iter().zip(want).position(|(a, b)| a != b);
            panic!(
                "{what}: page of {} bytes differs first at {at:?}\nbefore {:?}\nmine   {:?}\nwant   {:?}",
                mine.len(),
                layout(before),
                layout(mine),
                layout(want)
            );
        }
    }

    #[test]
    fn in_place_operations_equal_the_page_image_path() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut scratch = Vec::new();
        let (mut done, mut declined, mut refused, mut rejected) = (0u32, 0u32, 0u32, 0u32);
        let mut per_size = [0u32; 4];
        for case in 0..400 {
            let mut b = random_page(&mut rng);
            let mut dbtime = 1000;
            let mut memo = None;
            for step in 0..60 {
                let Ok(img) = PageImage::parse(&b) else {
                    break;
                };
                match Shape::of(&b) {
                    Some(sh) => same_nodes(&b, &sh),
                    None => rejected += 1,
                }
                let (op, iline) = random_op(&mut rng, &img);
                let d = record(&op, node_ref(iline, rng.one_in(2), dbtime));
                let undo = rng.one_in(6).then(|| random_undo(&mut rng, &img));
                let (want, mut mine) = (reference_any(&b, &d, undo.as_ref(), dbtime), b.clone());
                if in_place_any(
                    &mut mine,
                    &d,
                    undo.as_ref(),
                    dbtime,
                    &mut scratch,
                    &mut memo,
                ) {
                    let what =
                        format!("case {case} step {step}: {op:?} at iline {iline}, {undo:?}");
                    same(&b, &mine, want.as_deref(), &what);
                    done += 1;
                    per_size[b.len().trailing_zeros() as usize - 12] += 1;
                } else {
                    assert_eq!(mine, b, "case {case} step {step}: declined but changed");
                    if want.is_some() {
                        declined += 1;
                    } else {
                        refused += 1;
                    }
                }
                if let Some(w) = want {
                    if w != mine {
                        memo = None; // written by the PageImage path
                    }
                    b = w;
                    dbtime += 1;
                }
            }
        }
        let [reorganized, moved, grown] = PATHS.with(|p| p.get());
        eprintln!(
            "{done} in place, {declined} declined to PageImage, {refused} refused by both, \
             {rejected} pages rejected; by size {per_size:?}; {reorganized} reorganized, \
             {moved} moved, {grown} grown at ibMicFree"
        );
        assert!(reorganized > 100 && moved > 500 && grown > 100);
        assert!(done > 10_000, "{done}");
        assert!(declined * 50 < done, "{declined} declined of {done}");
        assert!(per_size.iter().all(|&n| n > 1000), "{per_size:?}");
    }

    /// Damaged or non-canonical pages: whatever `Shape::of` accepts gives
    /// the `PageImage` result; the rest is declined untouched.
    #[test]
    fn damaged_pages_are_declined_or_equal() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let mut scratch = Vec::new();
        let mut accepted = 0;
        for case in 0..3000 {
            let mut b = random_page(&mut rng);
            let ps = b.len();
            let n = (u16_at(&b, 34) & 0xFFF) as usize;
            for _ in 0..1 + rng.below(3) {
                let at = match rng.below(3) {
                    0 => ps - 4 * (1 + rng.below(n.max(1))) + rng.below(4),
                    1 => 28 + rng.below(12),
                    _ => rng.below(ps),
                };
                b[at] ^= 1 << rng.below(8);
            }
            let Ok(img) = PageImage::parse(&b) else {
                assert!(
                    Shape::of(&b).is_none(),
                    "case {case}: accepted an unparsable page"
                );
                continue;
            };
            let (op, iline) = random_op(&mut rng, &img);
            let d = record(&op, node_ref(iline, true, 2000));
            let want = reference(&b, &d, 2000);
            let mut mine = b.clone();
            if in_place(&mut mine, &d, 2000, &mut scratch, &mut None) {
                accepted += 1;
                same(
                    &b,
                    &mine,
                    want.as_deref(),
                    &format!("case {case}: {op:?} at {iline}"),
                );
            } else {
                assert_eq!(mine, b);
            }
        }
        assert!(accepted > 300, "{accepted}");
        let _ = (NODE_DELETED, NODE_VERSIONED);
    }
}
