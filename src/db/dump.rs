//! Page and node dumps (eseutil `/m DB /pN`, `/mn`, `/mn /a`): everything a
//! page's bytes say, decoded without trusting them.
//!
//! Facts (ESE source): the page header and tag array as in
//! [`crate::parse::page`] (`inc/cpage.hxx`); a node's key is the first
//! `cbPrefix` bytes of the page prefix followed by its suffix and its flags
//! are `fNDVersion` / `fNDDeleted` / `fNDCompressed` (`inc/node.hxx`,
//! `NDILineToKeydataflags` in `ese/node.cxx`); the child page of an internal
//! node is its data's last 4 bytes. `DBUTLDumpPage` (`ese/dbutil.cxx`) dumps
//! the same facts.
//!
//! A damaged tag or node is recorded as an error on that tag or node; the
//! rest of the page is still dumped. Building a dump does no I/O.

use serde::Serialize;

use crate::checksum::PageVerdict;
use crate::db::classify::PageClass;
use crate::db::page::Page;
use crate::parse::page::{
    line, parse_node, read_tag, PageHeader, SpaceHeader, NODE_COMPRESSED, NODE_DELETED,
    NODE_VERSIONED,
};

/// Names of the page flags set in `flags` (`fPage*`, cpage.hxx).
pub fn page_flag_names(flags: u32) -> Vec<&'static str> {
    const NAMES: &[(u32, &str)] = &[
        (0x1, "root"),
        (0x2, "leaf"),
        (0x4, "parent-of-leaf"),
        (0x8, "empty"),
        (0x10, "repair"),
        (0x20, "space-tree"),
        (0x40, "index"),
        (0x80, "long-value"),
        (0x400, "non-unique-keys"),
        (0x800, "new-record-format"),
        (0x2000, "new-checksum-format"),
        (0x4000, "scrubbed"),
        (0x20000, "pre-init"),
    ];
    NAMES
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| *n)
        .collect()
}

/// Names of the node flags set in `flags` (`fND*`, node.hxx).
pub fn node_flag_names(flags: u8) -> Vec<&'static str> {
    let mut v = Vec::new();
    if flags & NODE_VERSIONED != 0 {
        v.push("versioned");
    }
    if flags & NODE_DELETED != 0 {
        v.push("deleted");
    }
    if flags & NODE_COMPRESSED != 0 {
        v.push("compressed");
    }
    v
}

/// Lower-case hex of `b`.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

/// One tag of the tag array.
#[derive(Debug, Clone, Serialize)]
pub struct TagDump {
    /// Tag number.
    pub itag: usize,
    /// Page offset of the tag's 4 bytes.
    pub tag_offset: usize,
    /// Line size.
    pub cb: u16,
    /// Line offset relative to the end of the page header.
    pub ib: u16,
    /// Node flags.
    pub flags: u8,
    /// Why the tag cannot be used, when it cannot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One node, decoded.
#[derive(Debug, Clone, Serialize)]
pub struct NodeDump {
    /// Page number.
    pub pgno: u32,
    /// Tag number (≥ 1).
    pub itag: usize,
    /// Page offset of the node's first byte.
    pub offset: usize,
    /// Node size in bytes.
    pub cb: u16,
    /// Node flags (`fND*`).
    pub flags: u8,
    /// Their names: `versioned`, `deleted`, `compressed`.
    pub flag_names: Vec<&'static str>,
    /// Bytes of the page prefix the key starts with.
    pub prefix_len: u16,
    /// Key suffix stored in the node (hex).
    pub suffix_hex: String,
    /// Full key, prefix + suffix (hex).
    pub key_hex: String,
    /// Data (hex).
    pub data_hex: String,
    /// Data size.
    pub data_len: usize,
    /// Child page (internal pages: the data's last 4 bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child: Option<u32>,
    /// What is wrong with the node, when it cannot be decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl NodeDump {
    /// Flag-deleted (`fNDDeleted`).
    pub fn is_deleted(&self) -> bool {
        self.flags & NODE_DELETED != 0
    }
}

/// Everything a data page says.
#[derive(Debug, Clone, Serialize)]
pub struct PageDump {
    /// Page number.
    pub pgno: u32,
    /// File offset of the page.
    pub file_offset: u64,
    /// Page size.
    pub page_size: usize,
    /// What the page is (shared classification) and its checksum verdict.
    pub class: PageClass,
    /// The decoded header.
    pub header: PageHeader,
    /// Names of the page flags.
    pub flag_names: Vec<&'static str>,
    /// The kind of tree, from the flags.
    pub tree_kind: &'static str,
    /// Tag array, tag 0 first.
    pub tags: Vec<TagDump>,
    /// Tag 0 (external header or key prefix), hex.
    pub external_header_hex: String,
    /// The space header (root pages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub space_header: Option<SpaceHeader>,
    /// Nodes (tags 1 …).
    pub nodes: Vec<NodeDump>,
    /// Nodes that are flag-deleted.
    pub deleted_nodes: usize,
    /// Nodes that are versioned.
    pub versioned_nodes: usize,
}

impl PageDump {
    /// Whether the checksum fails (torn or damaged page).
    pub fn damaged(&self) -> bool {
        matches!(
            self.class.checksum,
            PageVerdict::Bad { .. } | PageVerdict::WrongPageNumber { .. }
        )
    }
}

/// The tag array of `page`, one entry per tag in use (`itagMicFree`),
/// bounded by the room the page has for tags.
pub fn dump_tags(page: &Page) -> Vec<TagDump> {
    let hs = page.hdr.header_size;
    let room = page.bytes.len().saturating_sub(hs) / 4;
    let n = page.tag_count().min(room);
    (0..n)
        .map(|itag| {
            let tag_offset = page.bytes.len() - 4 * (itag + 1);
            match read_tag(&page.bytes, itag, n) {
                Ok(t) => TagDump {
                    itag,
                    tag_offset,
                    cb: t.cb,
                    ib: t.ib,
                    flags: t.flags,
                    error: None,
                },
                Err(e) => TagDump {
                    itag,
                    tag_offset,
                    cb: crate::parse::u16_at(&page.bytes, tag_offset),
                    ib: crate::parse::u16_at(&page.bytes, tag_offset + 2),
                    flags: 0,
                    error: Some(e.detail),
                },
            }
        })
        .collect()
}

/// Node `itag` of `page`, decoded; a damaged node carries its error.
pub fn dump_node(page: &Page, itag: usize) -> NodeDump {
    let mut d = NodeDump {
        pgno: page.pgno,
        itag,
        offset: 0,
        cb: 0,
        flags: 0,
        flag_names: Vec::new(),
        prefix_len: 0,
        suffix_hex: String::new(),
        key_hex: String::new(),
        data_hex: String::new(),
        data_len: 0,
        child: None,
        error: None,
    };
    let tag = match page.tag(itag) {
        Ok(t) => t,
        Err(e) => {
            d.error = Some(e.to_string());
            return d;
        }
    };
    d.offset = page.hdr.header_size + tag.ib as usize;
    d.cb = tag.cb;
    d.flags = tag.flags;
    d.flag_names = node_flag_names(tag.flags);
    if let Ok(parts) = parse_node(line(&page.bytes, &tag), tag.flags) {
        d.prefix_len = parts.prefix_len;
        d.suffix_hex = hex(parts.suffix);
    }
    match page.node(itag) {
        Ok(n) => {
            d.key_hex = hex(&n.key);
            d.data_hex = hex(n.data);
            d.data_len = n.data.len();
            if !page.hdr.is_leaf() {
                d.child = n.child();
            }
        }
        Err(e) => d.error = Some(e.to_string()),
    }
    d
}

/// Dumps page `pgno` from its bytes and classification.
pub fn dump_page(page: &Page, class: PageClass, file_offset: u64) -> PageDump {
    let tags = dump_tags(page);
    let ext = tags
        .first()
        .filter(|t| t.error.is_none())
        .and_then(|_| page.external_header().ok())
        .unwrap_or(&[]);
    let space_header = if page.hdr.is_root() {
        page.space_header().ok()
    } else {
        None
    };
    // Lines may overlap on a hostile page: past a budget of a few pages of
    // node bytes, nodes keep their layout but not their hex.
    let mut budget = 8 * page.bytes.len();
    let nodes: Vec<NodeDump> = (1..tags.len())
        .map(|i| {
            let mut n = dump_node(page, i);
            budget = budget.saturating_sub(n.cb as usize);
            if budget == 0 && n.error.is_none() {
                n.key_hex.clear();
                n.data_hex.clear();
                n.suffix_hex.clear();
                n.error =
                    Some("not shown: the page's lines overlap beyond 8 pages of bytes".into());
            }
            n
        })
        .collect();
    PageDump {
        pgno: page.pgno,
        file_offset,
        page_size: page.bytes.len(),
        class,
        header: page.hdr,
        flag_names: page_flag_names(page.hdr.flags),
        tree_kind: page.hdr.kind_name(),
        external_header_hex: hex(ext),
        space_header,
        deleted_nodes: nodes.iter().filter(|n| n.is_deleted()).count(),
        versioned_nodes: nodes
            .iter()
            .filter(|n| n.flags & NODE_VERSIONED != 0)
            .count(),
        tags,
        nodes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_names() {
        assert_eq!(
            page_flag_names(0x2803),
            ["root", "leaf", "new-record-format", "new-checksum-format"]
        );
        assert_eq!(node_flag_names(0x7), ["versioned", "deleted", "compressed"]);
        assert_eq!(hex(&[0, 0xab]), "00ab");
    }
}
