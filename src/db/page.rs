//! A decoded database page: header, tags and nodes with their full keys.
//!
//! Builds on the pure parsers of [`crate::parse::page`]; the key of a node
//! is the first `cbPrefix` bytes of the page prefix followed by its suffix.
//! The prefix is tag 0 on non-root pages, tag 0 after the 16-byte
//! SPLIT_BUFFER on space-tree root pages, and empty on other root pages
//! (`NDIGetKeydataflags`, node.cxx). Every error names the page.

use crate::checksum::{verify_page, PageVerdict};
use crate::error::{FormatError, Jet};
use crate::parse::page::{
    line, parse_node, parse_page_header, parse_space_header, read_tag, PageHeader, SpaceHeader,
    Tag, SPLIT_BUFFER_SIZE,
};

/// One node of a page, with its full key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node<'a> {
    /// Tag number (1 … itagMicFree − 1).
    pub itag: usize,
    /// Node flags (`parse::page::NODE_*`).
    pub flags: u8,
    /// Full key (prefix + suffix).
    pub key: Vec<u8>,
    /// The node's data.
    pub data: &'a [u8],
}

impl Node<'_> {
    /// Flag-deleted node.
    pub fn is_deleted(&self) -> bool {
        self.flags & crate::parse::page::NODE_DELETED != 0
    }
    /// Child page of an internal node: the last 4 bytes of its data.
    pub fn child(&self) -> Option<u32> {
        let d = self.data;
        (d.len() >= 4).then(|| crate::parse::u32_at(d, d.len() - 4))
    }
}

/// Whether a page is blank (all zero: never written).
pub fn is_blank(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

/// A page and its decoded header.
#[derive(Debug, Clone)]
pub struct Page {
    /// Page number.
    pub pgno: u32,
    /// The raw bytes.
    pub bytes: Vec<u8>,
    /// The decoded header.
    pub hdr: PageHeader,
}

/// A page-level problem: JET error, page-relative offset and detail.
pub type PageError = FormatError;

fn tag_err(pgno: u32, e: FormatError) -> FormatError {
    FormatError::new(e.offset, e.jet, format!("page {pgno}: {}", e.detail))
}

impl Page {
    /// Decodes the header of `bytes`, the content of page `pgno`.
    pub fn new(pgno: u32, bytes: Vec<u8>) -> Result<Page, FormatError> {
        let hdr = parse_page_header(&bytes).map_err(|e| tag_err(pgno, e))?;
        Ok(Page { pgno, bytes, hdr })
    }

    /// The checksum verdict of the page.
    pub fn verify(&self) -> PageVerdict {
        verify_page(&self.bytes, self.pgno)
    }

    /// Number of tags in use (tag 0 included).
    pub fn tag_count(&self) -> usize {
        self.hdr.itag_mic_free as usize
    }

    /// Tag `itag`, bounds-checked.
    pub fn tag(&self, itag: usize) -> Result<Tag, FormatError> {
        if itag >= self.tag_count() {
            return Err(FormatError::new(
                0,
                Jet::DATABASE_CORRUPTED,
                format!("page {}: tag {itag} is not in use", self.pgno),
            ));
        }
        read_tag(&self.bytes, itag, self.tag_count()).map_err(|e| tag_err(self.pgno, e))
    }

    /// The external header line (tag 0).
    pub fn external_header(&self) -> Result<&[u8], FormatError> {
        if self.tag_count() == 0 {
            return Err(FormatError::new(
                34,
                Jet::DATABASE_CORRUPTED,
                format!("page {}: no tags (itagMicFree = 0)", self.pgno),
            ));
        }
        let t = self.tag(0)?;
        Ok(line(&self.bytes, &t))
    }

    /// The space header of a root page.
    pub fn space_header(&self) -> Result<SpaceHeader, FormatError> {
        let ext = self.external_header()?;
        parse_space_header(ext).map_err(|e| tag_err(self.pgno, e))
    }

    /// The key prefix nodes of this page may share.
    pub fn prefix(&self) -> Result<&[u8], FormatError> {
        if self.tag_count() == 0 {
            return Ok(&[]);
        }
        let ext = self.external_header()?;
        if !self.hdr.is_root() {
            Ok(ext)
        } else if self.hdr.is_space_tree() {
            Ok(ext.get(SPLIT_BUFFER_SIZE..).unwrap_or(&[]))
        } else {
            Ok(&[])
        }
    }

    /// Node `itag` (≥ 1) with its full key.
    pub fn node(&self, itag: usize) -> Result<Node<'_>, FormatError> {
        let t = self.tag(itag)?;
        let l = line(&self.bytes, &t);
        let base = (self.hdr.header_size + t.ib as usize) as u64;
        let parts = parse_node(l, t.flags).map_err(|e| {
            FormatError::new(
                base + e.offset,
                e.jet,
                format!("page {} tag {itag}: {}", self.pgno, e.detail),
            )
        })?;
        let prefix = self.prefix()?;
        let plen = parts.prefix_len as usize;
        let mut key = Vec::with_capacity(plen + parts.suffix.len());
        if plen > 0 {
            if self.hdr.is_root() && !self.hdr.is_space_tree() {
                // The engine ignores the prefix count on such pages.
            } else if plen > prefix.len() {
                return Err(FormatError::new(
                    base,
                    Jet::NODE_CORRUPTED,
                    format!(
                        "page {} tag {itag}: prefix of {plen} bytes but the page prefix has {}",
                        self.pgno,
                        prefix.len()
                    ),
                ));
            } else {
                key.extend_from_slice(&prefix[..plen]);
            }
        }
        key.extend_from_slice(parts.suffix);
        Ok(Node {
            itag,
            flags: t.flags,
            key,
            data: parts.data,
        })
    }

    /// All nodes (tags 1 …), stopping at the first damaged one.
    pub fn nodes(&self) -> Result<Vec<Node<'_>>, FormatError> {
        (1..self.tag_count()).map(|i| self.node(i)).collect()
    }

    /// Free-space arithmetic: header + Σ tag sizes + cbFree + 4·itagMicFree
    /// must equal the page size (docs/format/pages.md §5). Returns the sum.
    pub fn space_sum(&self) -> Result<usize, FormatError> {
        let mut sum = self.hdr.header_size + self.hdr.cb_free as usize + 4 * self.tag_count();
        for i in 0..self.tag_count() {
            sum += self.tag(i)?.cb as usize;
        }
        Ok(sum)
    }
}
