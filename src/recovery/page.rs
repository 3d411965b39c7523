//! A mutable page image for redo: header fields, the external line (tag 0)
//! and the nodes as (flags, cbPrefix, suffix, data), serialised compactly.
//!
//! Facts: page header and tag array per docs/format/pages.md §2–§6
//! (`inc/cpage.hxx` ~992–1022, `ese/cpage.cxx` ~1797, ~1939), node layout
//! `NDILineToKeydataflags` (`ese/node.cxx` ~150–210), prefix rule (node
//! prefix = tag 0 on non-root pages, tag 0 after the 16-byte SPLIT_BUFFER on
//! space-tree roots, none on other roots, node.cxx ~430–460), and the
//! "common bytes must exceed cbPrefixOverhead (2)" rule of
//! `BTIComputePrefixAndInsert` (`ese/bt.cxx` ~12058).
//!
//! Serialisation is always defragmented (lines packed in tag order after
//! the header), which keeps the pages.md §5 invariant
//! `header + Σ line sizes + cbFree + 4·itagMicFree = cbPage` by construction.
//! ESE's own byte placement inside the data area is not reproduced; the
//! logical content (ilines, keys, data, flags, prefixes) is.

use crate::error::{FormatError, Jet};
use crate::parse::page::{
    header_size, is_large, line, parse_node, parse_page_header, read_tag, FLAG_NEW_CHECKSUM,
    FLAG_NEW_RECORD_FORMAT, FLAG_ROOT, FLAG_SPACE_TREE, NODE_COMPRESSED, SPLIT_BUFFER_SIZE,
};

/// `cbPrefixOverhead` (node.hxx): a prefix shorter than this is not used.
pub const CB_PREFIX_OVERHEAD: usize = 2;

/// One node (line) of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl Line {
    fn size(&self) -> usize {
        (if self.cb_prefix > 0 { 2 } else { 0 }) + 2 + self.suffix.len() + self.data.len()
    }
}

/// A page being redone.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

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
        }
    }

    /// Decodes a page.
    pub fn parse(b: &[u8]) -> Result<PageImage, FormatError> {
        let h = parse_page_header(b)?;
        let mut ext = Vec::new();
        let mut lines = Vec::new();
        let n = h.itag_mic_free as usize;
        for itag in 0..n {
            let t = read_tag(b, itag, n)?;
            let l = line(b, &t);
            if itag == 0 {
                ext = l.to_vec();
                continue;
            }
            let np = parse_node(l, t.flags)?;
            lines.push(Line {
                flags: t.flags & !NODE_COMPRESSED,
                cb_prefix: np.prefix_len as usize,
                suffix: np.suffix.to_vec(),
                data: np.data.to_vec(),
            });
        }
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
        })
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
            self.lines[i] = self.make_line(k, cb, &d, f);
        }
    }

    /// Serialises the page (checksum not sealed). Errors when the content
    /// does not fit.
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
        let mut b = vec![0u8; ps];
        b[8..16].copy_from_slice(&self.dbtime.to_le_bytes());
        b[16..20].copy_from_slice(&self.prev.to_le_bytes());
        b[20..24].copy_from_slice(&self.next.to_le_bytes());
        b[24..28].copy_from_slice(&self.objid.to_le_bytes());
        let cb_free = (ps - used) as u16;
        b[28..30].copy_from_slice(&cb_free.to_le_bytes());
        b[30..32].copy_from_slice(&self.cb_unc_free.to_le_bytes());
        let ntags = self.lines.len() + 1;
        let itag_state = (ntags as u16 & 0x0FFF) | ((self.reserved_tags as u16 & 7) << 12);
        b[34..36].copy_from_slice(&itag_state.to_le_bytes());
        b[36..40].copy_from_slice(&self.flags.to_le_bytes());
        let mut ib = 0usize;
        let put_tag = |b: &mut Vec<u8>, itag: usize, cb: usize, ib: usize, flags: u8| {
            let off = ps - 4 * (itag + 1);
            let (cbw, ibw) = if large {
                (cb as u16, ib as u16)
            } else {
                (cb as u16, (ib as u16) | ((flags as u16) << 13))
            };
            b[off..off + 2].copy_from_slice(&cbw.to_le_bytes());
            b[off + 2..off + 4].copy_from_slice(&ibw.to_le_bytes());
        };
        b[hs..hs + self.ext.len()].copy_from_slice(&self.ext);
        put_tag(&mut b, 0, self.ext.len(), 0, 0);
        ib += self.ext.len();
        for (i, l) in self.lines.iter().enumerate() {
            let start = hs + ib;
            let mut p = start;
            let flags = l.flags | if l.cb_prefix > 0 { NODE_COMPRESSED } else { 0 };
            if l.cb_prefix > 0 {
                b[p..p + 2].copy_from_slice(&(l.cb_prefix as u16).to_le_bytes());
                p += 2;
            }
            b[p..p + 2].copy_from_slice(&(l.suffix.len() as u16).to_le_bytes());
            p += 2;
            b[p..p + l.suffix.len()].copy_from_slice(&l.suffix);
            p += l.suffix.len();
            b[p..p + l.data.len()].copy_from_slice(&l.data);
            p += l.data.len();
            if large {
                let w = u16::from_le_bytes([b[start], b[start + 1]]) | ((flags as u16) << 13);
                b[start..start + 2].copy_from_slice(&w.to_le_bytes());
            }
            put_tag(&mut b, i + 1, p - start, ib, flags);
            ib += p - start;
        }
        b[32..34].copy_from_slice(&(ib as u16).to_le_bytes());
        if large {
            // PGHDR2: pgno is filled in by the store when sealing.
        }
        Ok(b)
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
}
