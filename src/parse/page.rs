//! Database pages: page header (both layouts), tag array, node (line) layout,
//! and the root external header (SPACE_HEADER).
//!
//! Facts (docs/format/pages.md; ESE source `inc/cpage.hxx` PGHDR/PGHDR2 and TAG,
//! `ese/cpage.cxx` `PtagFromItag_` / `PbFromIb_`, `ese/node.cxx`
//! `NDILineToKeydataflags` / `NDGetPtrExternalHeader`, `inc/node.hxx`
//! `usNDCbKeyMask`, `inc/space.hxx` SPACE_HEADER, `inc/fcb.hxx`
//! SPLIT_BUFFER):
//!
//! * pages of 2, 4 and 8 KiB carry the 40-byte PGHDR, 16 and 32 KiB pages the
//!   80-byte PGHDR2 (PGHDR + three block checksums + pgno + reserved);
//! * tag *i* is the 4 bytes at `cbPage − 4·(i+1)`: u16 cb, u16 ib. Small
//!   pages mask both with 0x1FFF and keep the node flags in ib's top 3 bits;
//!   large pages mask with 0x7FFF and keep the node flags in the top 3 bits
//!   of the node's first u16 (never for tag 0). ib is relative to the end of
//!   the page header;
//! * a node is `[u16 cbPrefix if compressed] u16 cbSuffix, suffix, data`, the
//!   key counts masked with 0x1FFF; every node has at least one data byte.
//!
//! Nothing here panics on hostile input: every offset is checked and a
//! failure is a [`FormatError`] (offset relative to the page) carrying
//! -1206 `JET_errDatabaseCorrupted` for header/tag damage or -358
//! `JET_errNodeCorrupted` for node damage.

use nom::number::complete::{le_u16, le_u32, le_u64};
use nom::Parser;

use super::{u16_at, u32_at, Input, PResult};
use crate::error::{FormatError, Jet};

/// Size of the small-page header PGHDR (pages ≤ 8 KiB).
pub const SMALL_HEADER: usize = 40;
/// Size of the large-page header PGHDR2 (16 and 32 KiB pages).
pub const LARGE_HEADER: usize = 80;

/// Page flag: root page of a tree (`fPageRoot`).
pub const FLAG_ROOT: u32 = 0x1;
/// Page flag: leaf page (`fPageLeaf`).
pub const FLAG_LEAF: u32 = 0x2;
/// Page flag: parent of leaf pages (`fPageParentOfLeaf`).
pub const FLAG_PARENT_OF_LEAF: u32 = 0x4;
/// Page flag: freed page, contents meaningless (`fPageEmpty`).
pub const FLAG_EMPTY: u32 = 0x8;
/// Page flag: page touched by repair (`fPageRepair`).
pub const FLAG_REPAIR: u32 = 0x10;
/// Page flag: page of a space tree (`fPageSpaceTree`).
pub const FLAG_SPACE_TREE: u32 = 0x20;
/// Page flag: page of a secondary index (`fPageIndex`).
pub const FLAG_INDEX: u32 = 0x40;
/// Page flag: page of a long-value tree (`fPageLongValue`).
pub const FLAG_LONG_VALUE: u32 = 0x80;
/// Page flag: tree with non-unique keys (`fPageNonUniqueKeys`).
pub const FLAG_NON_UNIQUE: u32 = 0x400;
/// Page flag: new record format (`fPageNewRecordFormat`).
pub const FLAG_NEW_RECORD_FORMAT: u32 = 0x800;
/// Page flag: XOR+ECC checksum format (`fPageNewChecksumFormat`).
pub const FLAG_NEW_CHECKSUM: u32 = 0x2000;
/// Page flag: page was scrubbed (`fPageScrubbed`).
pub const FLAG_SCRUBBED: u32 = 0x4000;
/// Page flag: page allocated with a header only (`fPagePreInit`).
pub const FLAG_PRE_INIT: u32 = 0x20000;

/// Node flag: versioned (an uncommitted change is pending) (`fNDVersion`).
pub const NODE_VERSIONED: u8 = 0x1;
/// Node flag: flag-deleted, awaiting cleanup (`fNDDeleted`).
pub const NODE_DELETED: u8 = 0x2;
/// Node flag: key-prefix compressed (`fNDCompressed`).
pub const NODE_COMPRESSED: u8 = 0x4;

/// Mask of the key-count fields of a node (`usNDCbKeyMask`, node.hxx).
pub const KEY_COUNT_MASK: u16 = 0x1FFF;

/// Size of the SPACE_HEADER (space.hxx).
pub const SPACE_HEADER_SIZE: usize = 16;
/// Size of the SPLIT_BUFFER that opens tag 0 of a space-tree root page
/// (fcb.hxx: two extent infos of pgnoLast + cpg).
pub const SPLIT_BUFFER_SIZE: usize = 16;

/// Low 12 bits of the page header's itag word: `itagMicFree` (`CPAGE::PGHDR`,
/// cpage.hxx ~992; docs/format/pages.md §2).
pub const ITAG_MIC_FREE_MASK: u16 = 0x0FFF;
/// Shift of the reserved-tag count above `itagMicFree` in that word.
pub const RESERVED_TAGS_SHIFT: u16 = 12;
/// Mask of the reserved-tag count after the shift.
pub const RESERVED_TAGS_MASK: u16 = 0x7;
/// Small pages: `cb` and `ib` of a tag are 13 bits, the top 3 bits of `ib`
/// are the node flags (`CPAGE::TAG`, cpage.hxx ~936; pages.md §5).
pub const TAG_MASK_SMALL: u16 = 0x1FFF;
/// Shift of the node flags in a small page's tag `ib`.
pub const TAG_FLAGS_SHIFT: u16 = 13;
/// Large pages: `cb` and `ib` of a tag are 15 bits (flags live in the node).
pub const TAG_MASK_LARGE: u16 = 0x7FFF;
/// `fSPHMultipleExtent`: the tree has its own space trees (`inc/space.hxx` ~26).
pub const SPACE_MULTIPLE_EXTENT: u8 = 0x01;
/// Space-tree key of 5 bytes: the first byte carries this bit and a pool
/// number (`SPEXTKEY`, space.cxx).
pub const EXTENT_KEY_POOL_FLAG: u8 = 0x80;
/// Mask of the pool number in that byte.
pub const EXTENT_POOL_MASK: u8 = 0x07;

/// True when pages of `page_size` bytes use the large (80-byte) header.
pub fn is_large(page_size: usize) -> bool {
    page_size > 8192
}

/// Header size for pages of `page_size` bytes.
pub fn header_size(page_size: usize) -> usize {
    if is_large(page_size) {
        LARGE_HEADER
    } else {
        SMALL_HEADER
    }
}

/// The page header (`PGHDR`, and for large pages the `PGHDR2` extension).
#[doc(alias = "PGHDR")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PageHeader {
    /// Offset 0, 8 bytes: the page checksum (see `crate::checksum`).
    pub checksum: u64,
    /// Offset 8: dbtime of the last change (`dbtimeDirtied`).
    pub dbtime: u64,
    /// Offset 16: left sibling at the same level (0 = none).
    pub pgno_prev: u32,
    /// Offset 20: right sibling at the same level (0 = none).
    pub pgno_next: u32,
    /// Offset 24: object id of the tree owning the page (`objidFDP`).
    pub objid: u32,
    /// Offset 28: free bytes on the page.
    pub cb_free: u16,
    /// Offset 30: part of cbFree reclaimable only after rollback.
    pub cb_uncommitted_free: u16,
    /// Offset 32: first free byte of the data area (relative to the header end).
    pub ib_mic_free: u16,
    /// Offset 34, low 12 bits: number of tags in use (`itagMicFree`).
    pub itag_mic_free: u16,
    /// Offset 34, bits 12–14: reserved tag count (efv 9560+).
    pub reserved_tags: u8,
    /// Offset 36: page flags (`FLAG_*`).
    pub flags: u32,
    /// Offset 64 (large pages only): the page's own number.
    pub pgno: Option<u32>,
    /// Header size: 40 (small pages) or 80 (large pages).
    pub header_size: usize,
}

impl PageHeader {
    /// `fPageRoot`.
    pub fn is_root(&self) -> bool {
        self.flags & FLAG_ROOT != 0
    }
    /// `fPageLeaf`.
    pub fn is_leaf(&self) -> bool {
        self.flags & FLAG_LEAF != 0
    }
    /// `fPageEmpty`.
    pub fn is_empty(&self) -> bool {
        self.flags & FLAG_EMPTY != 0
    }
    /// `fPageSpaceTree`.
    pub fn is_space_tree(&self) -> bool {
        self.flags & FLAG_SPACE_TREE != 0
    }
    /// `fPagePreInit`.
    pub fn is_pre_init(&self) -> bool {
        self.flags & FLAG_PRE_INIT != 0
    }
    /// `fPageNonUniqueKeys`.
    pub fn is_non_unique(&self) -> bool {
        self.flags & FLAG_NON_UNIQUE != 0
    }
    /// The kind of tree, from the flags.
    pub fn kind_name(&self) -> &'static str {
        if self.flags & FLAG_SPACE_TREE != 0 {
            "space"
        } else if self.flags & FLAG_LONG_VALUE != 0 {
            "long-value"
        } else if self.flags & FLAG_INDEX != 0 {
            "index"
        } else {
            "data"
        }
    }
}

/// nom parser of the page header; `large` selects the PGHDR2 layout.
pub fn page_header(large: bool) -> impl Fn(Input<'_>) -> PResult<'_, PageHeader> {
    move |i| {
        let (i, (checksum, dbtime, pgno_prev, pgno_next, objid)) =
            (le_u64, le_u64, le_u32, le_u32, le_u32).parse(i)?;
        let (i, (cb_free, cb_uncommitted_free, ib_mic_free, itag_state, flags)) =
            (le_u16, le_u16, le_u16, le_u16, le_u32).parse(i)?;
        let (i, pgno) = if large {
            let (i, _block_checksums) = nom::bytes::complete::take(24usize)(i)?;
            let (i, pgno) = le_u32(i)?;
            let (i, _reserved) = nom::bytes::complete::take(12usize)(i)?;
            (i, Some(pgno))
        } else {
            (i, None)
        };
        Ok((
            i,
            PageHeader {
                checksum,
                dbtime,
                pgno_prev,
                pgno_next,
                objid,
                cb_free,
                cb_uncommitted_free,
                ib_mic_free,
                itag_mic_free: itag_state & ITAG_MIC_FREE_MASK,
                reserved_tags: ((itag_state >> RESERVED_TAGS_SHIFT) & RESERVED_TAGS_MASK) as u8,
                flags,
                pgno,
                header_size: if large { LARGE_HEADER } else { SMALL_HEADER },
            },
        ))
    }
}

/// Parses the header of a whole page (`page.len()` is the page size).
pub fn parse_page_header(page: &[u8]) -> Result<PageHeader, FormatError> {
    let large = is_large(page.len());
    let hs = header_size(page.len());
    super::need(page, hs, "page header", Jet::DATABASE_CORRUPTED)?;
    super::run(
        page,
        "page header",
        Jet::DATABASE_CORRUPTED,
        page_header(large),
    )
}

/// One tag (line pointer), decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Tag {
    /// Line size in bytes.
    pub cb: u16,
    /// Line offset, relative to the end of the page header.
    pub ib: u16,
    /// Node flags (`NODE_*`), from ib (small pages) or the node's first
    /// u16 (large pages; 0 for tag 0).
    pub flags: u8,
}

/// Page offset of tag `itag`'s 4 bytes, or `None` when outside the page.
pub fn tag_offset(page_size: usize, itag: usize) -> Option<usize> {
    page_size.checked_sub(4usize.checked_mul(itag.checked_add(1)?)?)
}

/// Reads tag `itag` of `page` and checks that its line lies inside the data
/// area (between the header and the tag array of `itag_mic_free` tags).
pub fn read_tag(page: &[u8], itag: usize, itag_mic_free: usize) -> Result<Tag, FormatError> {
    let ps = page.len();
    let hs = header_size(ps);
    let large = is_large(ps);
    let off = match tag_offset(ps, itag) {
        Some(o) if o >= hs => o,
        _ => {
            return Err(FormatError::new(
                0,
                Jet::DATABASE_CORRUPTED,
                format!("tag {itag} lies outside the page"),
            ))
        }
    };
    let raw_cb = u16_at(page, off);
    let raw_ib = u16_at(page, off + 2);
    let (cb, ib, mut flags) = if large {
        (raw_cb & TAG_MASK_LARGE, raw_ib & TAG_MASK_LARGE, 0u8)
    } else {
        (
            raw_cb & TAG_MASK_SMALL,
            raw_ib & TAG_MASK_SMALL,
            (raw_ib >> TAG_FLAGS_SHIFT) as u8,
        )
    };
    let tag_array_start = tag_offset(ps, itag_mic_free.saturating_sub(1)).unwrap_or(0);
    let start = hs + ib as usize;
    let end = start + cb as usize;
    if end > tag_array_start.max(hs) || end > ps {
        return Err(FormatError::new(
            off as u64,
            Jet::DATABASE_CORRUPTED,
            format!(
                "tag {itag}: line at page offset {start} of {cb} bytes runs into the tag array (offset {tag_array_start})"
            ),
        ));
    }
    if large && itag > 0 && cb >= 2 {
        flags = (u16_at(page, start) >> 13) as u8;
    }
    Ok(Tag { cb, ib, flags })
}

/// The bytes of a tag's line (caller got `tag` from [`read_tag`] on the same
/// page, so the range is in bounds).
pub fn line<'a>(page: &'a [u8], tag: &Tag) -> &'a [u8] {
    let hs = header_size(page.len());
    let s = hs + tag.ib as usize;
    &page[s..s + tag.cb as usize]
}

/// A node split into its parts (`KEYDATAFLAGS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeParts<'a> {
    /// Node flags (`NODE_*`).
    pub flags: u8,
    /// Number of leading bytes of the page prefix that start the key.
    pub prefix_len: u16,
    /// The key suffix stored in the node.
    pub suffix: &'a [u8],
    /// The node's data.
    pub data: &'a [u8],
}

/// Splits a node line (`NDILineToKeydataflags`). On large pages the flags in
/// the top 3 bits of the first u16 are masked away by [`KEY_COUNT_MASK`].
pub fn parse_node(line: &[u8], flags: u8) -> Result<NodeParts<'_>, FormatError> {
    let mut pos = 0usize;
    let mut prefix_len = 0u16;
    if flags & NODE_COMPRESSED != 0 {
        if line.len() < 2 {
            return Err(FormatError::new(
                0,
                Jet::NODE_CORRUPTED,
                "compressed node too short for its prefix count",
            ));
        }
        prefix_len = u16_at(line, 0) & KEY_COUNT_MASK;
        pos = 2;
    }
    if line.len() < pos + 2 {
        return Err(FormatError::new(
            pos as u64,
            Jet::NODE_CORRUPTED,
            "node too short for its suffix count",
        ));
    }
    let cb_suffix = (u16_at(line, pos) & KEY_COUNT_MASK) as usize;
    pos += 2;
    if pos + cb_suffix >= line.len() {
        return Err(FormatError::new(
            (pos - 2) as u64,
            Jet::NODE_CORRUPTED,
            format!(
                "key suffix of {cb_suffix} bytes leaves no data in a {}-byte node",
                line.len()
            ),
        ));
    }
    Ok(NodeParts {
        flags,
        prefix_len,
        suffix: &line[pos..pos + cb_suffix],
        data: &line[pos + cb_suffix..],
    })
}

/// The space header of a tree's root page (SPACE_HEADER, space.hxx).
#[doc(alias = "SPACE_HEADER")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SpaceHeader {
    /// Bytes 0–3: cpgPrimary (v1) or cpgLastAlloc (v2).
    pub cpg_primary: u32,
    /// Bytes 4–7: root page of the parent tree (`pgnoParentFDP`).
    pub pgno_parent: u32,
    /// Byte 8: flags (0x1 multiple extent, 0x2 non-unique, 0x4 v2).
    pub flags: u8,
    /// Bytes 12–15: available-page bitmap (single extent) or pgnoOE.
    pub avail_or_oe: u32,
}

impl SpaceHeader {
    /// `fSPHMultipleExtent`: the tree has space trees.
    pub fn multiple_extent(&self) -> bool {
        self.flags & SPACE_MULTIPLE_EXTENT != 0
    }
    /// Root of the owned-extent tree (multiple-extent trees).
    pub fn pgno_oe(&self) -> Option<u32> {
        self.multiple_extent().then_some(self.avail_or_oe)
    }
    /// Root of the available-extent tree: always pgnoOE + 1.
    pub fn pgno_ae(&self) -> Option<u32> {
        self.pgno_oe().map(|p| p.wrapping_add(1))
    }
}

/// Decodes the space header from tag 0 of a (non-space-tree) root page: 16
/// bytes, or a presence mask byte followed by the fields
/// (`NDGetPtrExternalHeader`; bit 0 = space header present).
pub fn parse_space_header(ext: &[u8]) -> Result<SpaceHeader, FormatError> {
    let body = match ext.len() {
        SPACE_HEADER_SIZE => ext,
        n if n > SPACE_HEADER_SIZE && ext[0] & 1 != 0 => &ext[1..],
        n => {
            return Err(FormatError::new(
                0,
                Jet::DATABASE_CORRUPTED,
                format!("root external header of {n} bytes holds no space header"),
            ))
        }
    };
    Ok(SpaceHeader {
        cpg_primary: u32_at(body, 0),
        pgno_parent: u32_at(body, 4),
        flags: body[8],
        avail_or_oe: u32_at(body, 12),
    })
}

/// Decodes a space-tree leaf node: key = big-endian pgnoLast (4 bytes, or 5
/// with a leading pool byte 0x80|pool), data = u32 page count (`SPEXTKEY`,
/// space.cxx). Returns (pool, pgnoLast, cpg).
pub fn parse_extent(key: &[u8], data: &[u8]) -> Result<(u8, u32, u32), FormatError> {
    let (pool, k) = match key.len() {
        4 => (0u8, key),
        5 if key[0] & EXTENT_KEY_POOL_FLAG != 0 => (key[0] & EXTENT_POOL_MASK, &key[1..]),
        n => {
            return Err(FormatError::new(
                0,
                Jet::NODE_CORRUPTED,
                format!("space-tree key of {n} bytes"),
            ))
        }
    };
    if data.len() < 4 {
        return Err(FormatError::new(
            0,
            Jet::NODE_CORRUPTED,
            format!("space-tree data of {} bytes", data.len()),
        ));
    }
    let last = u32::from_be_bytes([k[0], k[1], k[2], k[3]]);
    Ok((pool, last, u32_at(data, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_parts_and_errors() {
        let line = [2u8, 0, b'a', b'b', 9];
        let n = parse_node(&line, 0).unwrap();
        assert_eq!(n.suffix, b"ab");
        assert_eq!(n.data, &[9]);
        assert!(parse_node(&[2, 0, 1, 2], 0).is_err());
        let c = parse_node(&[3, 0, 1, 0, b'z', 7], NODE_COMPRESSED).unwrap();
        assert_eq!((c.prefix_len, c.suffix, c.data), (3, &b"z"[..], &[7u8][..]));
        assert!(parse_node(&[1], NODE_COMPRESSED).is_err());
        // large-page flags in the top bits are masked away
        let f = parse_node(&[1, 0x40, b'k', 1], 0).unwrap();
        assert_eq!(f.suffix, b"k");
    }

    #[test]
    fn tags_are_bounds_checked() {
        let mut p = vec![0u8; 4096];
        // tag 0 claims 8000 bytes
        p[4092..4094].copy_from_slice(&8000u16.to_le_bytes());
        assert!(read_tag(&p, 0, 1).is_err());
        assert!(read_tag(&p, 5000, 1).is_err());
        p[4092..4094].copy_from_slice(&4u16.to_le_bytes());
        p[4094..4096].copy_from_slice(&(0x4000u16 | 8).to_le_bytes());
        let t = read_tag(&p, 0, 1).unwrap();
        assert_eq!((t.cb, t.ib, t.flags), (4, 8, 2));
    }

    #[test]
    fn extents() {
        assert_eq!(
            parse_extent(&[0, 0, 1, 0], &[4, 0, 0, 0]).unwrap(),
            (0, 256, 4)
        );
        assert_eq!(
            parse_extent(&[0x81, 0, 0, 0, 9], &[1, 0, 0, 0]).unwrap(),
            (1, 9, 1)
        );
        assert!(parse_extent(&[1, 2], &[0; 4]).is_err());
    }
}
