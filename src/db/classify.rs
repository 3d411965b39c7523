//! One classification of the physical pages of a database file, shared by
//! every mode that looks at pages (`/k`, `/g`, `/mh`, `/ms`, `/r`, `/cc`).
//!
//! Facts (ESE source, restated):
//! * physical pages 1 and 2 are the header and its shadow (`cpgDBReserved`,
//!   `inc/io.hxx`), verified with the legacy header checksum;
//! * the last physical page of a streaming-backup copy is the backup trailer
//!   (`PATCHHDR`, `inc/cpage.hxx`; written by `BKIMakeDbTrailer`,
//!   `ese/backup.cxx`): a page whose checksum high dword, dbtimeDirtied and
//!   objidFDP are zero is treated as a header-format page and verified with
//!   the header checksum (`ErrIsamGetPageInfo`-style test in
//!   `ese/jetapi.cxx`; `ProcessESEPages` in `_esefile/checksum.cxx`);
//!   recovery checks it with `ErrDBReadAndCheckDBTrailer` (-535 when the
//!   checksum fails) and then zeroes it (`ErrDBTryToZeroDBTrailer`,
//!   `ese/db.cxx`);
//! * an all-zero page was never written (or was trimmed, or is a zeroed
//!   trailer);
//! * a page the engine released at the end of the file while shrinking is
//!   written with dbtime `dbtimeShrunk` = 0xFFFFFFFFFFFFFFFD
//!   (`CPAGE::GetShrunkPage`, `ese/cpage.cxx`; `inc/daedef.hxx`);
//! * every other page is a data page verified with its own number (legacy
//!   XOR or XOR+ECC); one that fails is an ESE page with a bad checksum, or
//!   foreign content when its header is not plausible for an ESE page.

use serde::Serialize;

use crate::checksum::{
    is_all_zero, legacy_header_checksum, stored_header_checksum, verify_page, ChecksumFormat,
    PageVerdict, FLAG_NEW_CHECKSUM,
};
use crate::parse::{u16_at, u32_at, u64_at};

/// Physical pages at the start of a database file holding the header and its
/// shadow (`cpgDBReserved`, `inc/io.hxx`).
pub const HEADER_PAGES: u64 = 2;

/// dbtime of a page released by a database shrink (`dbtimeShrunk`,
/// `inc/daedef.hxx`).
pub const DBTIME_SHRUNK: u64 = 0xFFFF_FFFF_FFFF_FFFD;

/// What a physical page of a database file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageKind {
    /// Physical page 1: the database header.
    Header,
    /// Physical page 2: the shadow copy of the header.
    ShadowHeader,
    /// The backup trailer (patch) page: last page of a streaming-backup copy.
    Trailer,
    /// An ESE data page whose checksum verifies (or is correctable).
    Data,
    /// All zero: never written, trimmed, or a zeroed trailer.
    Blank,
    /// A page released by a database shrink (dbtime = `dbtimeShrunk`).
    Shrunk,
    /// The checksum fails and the header is not plausible for an ESE page.
    Foreign,
    /// An ESE page whose checksum fails (bad, torn, or at the wrong place).
    BadChecksum,
}

impl PageKind {
    /// Header, shadow header or trailer: a header-format page (legacy header
    /// checksum, pgno 0) rather than a data page.
    pub fn is_header_format(self) -> bool {
        matches!(
            self,
            PageKind::Header | PageKind::ShadowHeader | PageKind::Trailer
        )
    }

    /// Short human name.
    pub fn describe(self) -> &'static str {
        match self {
            PageKind::Header => "database header",
            PageKind::ShadowHeader => "shadow database header",
            PageKind::Trailer => "backup trailer (patch) page",
            PageKind::Data => "data page",
            PageKind::Blank => "blank (never written) page",
            PageKind::Shrunk => "page released by a database shrink",
            PageKind::Foreign => "not an ESE page",
            PageKind::BadChecksum => "page with a bad checksum",
        }
    }
}

/// The classification of one page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageClass {
    /// What the page is.
    pub kind: PageKind,
    /// The checksum verdict behind it. Header-format pages give `Ok` or
    /// `Bad` (block 0, the 32-bit header checksums widened).
    pub checksum: PageVerdict,
    /// Why the page is foreign, or what a bad page looks like (torn write).
    pub note: Option<&'static str>,
}

impl PageClass {
    /// Whether the page's checksum holds (blank pages included).
    pub fn checksum_ok(&self) -> bool {
        self.checksum.is_good()
    }

    /// A header-format page whose header checksum verifies: what
    /// `ErrDBReadAndCheckDBTrailer` accepts for the last page.
    pub fn is_good_trailer(&self) -> bool {
        self.kind == PageKind::Trailer && self.checksum_ok()
    }

    /// A data page whose content can be read (verifies, or one located bit
    /// that the reader corrects in memory).
    pub fn is_readable_data(&self) -> bool {
        self.kind == PageKind::Data
    }
}

/// Page flags this engine generation defines (cpage.hxx ~676–724): any bit
/// above 0x40000 is unknown.
const KNOWN_FLAGS: u32 = 0x7FFFF;

/// Plausibility heuristic for a page whose checksum failed: returns why the
/// page cannot be an ESE page, or `None` when it looks like one (a torn or
/// bit-rotted ESE page).
///
/// Only fields of the page header are used (the first 40 bytes are written
/// atomically with the rest of the first sector, so a torn page keeps a
/// consistent header). Rules, each of which holds on every valid page of
/// every sample (docs/format/pages.md §2–§5):
/// 1. no flag bit above 0x40000 is set;
/// 2. the checksum-format flag is set when the database uses the ECC format
///    for every page (`expect_ecc`: always for 16/32 KiB pages);
/// 3. objidFDP ≠ 0 (every written page belongs to a tree);
/// 4. cbUncommittedFree ≤ cbFree ≤ page size − header size;
/// 5. the data area and the tag array fit: header + ibMicFree + 4·itagMicFree
///    ≤ page size;
/// 6. the free space accounts for the rest of the page:
///    header + ibMicFree + 4·itagMicFree + cbFree ≥ page size (node bytes
///    never exceed ibMicFree, and header + Σnodes + cbFree + 4·itags = page).
pub fn implausible_page_header(page: &[u8], expect_ecc: bool) -> Option<&'static str> {
    let ps = page.len();
    let hdr = if ps > 8192 { 80 } else { 40 };
    if ps < hdr {
        return Some("shorter than a page header");
    }
    let flags = u32_at(page, 36);
    if flags & !KNOWN_FLAGS != 0 {
        return Some("unknown page flags set");
    }
    if expect_ecc && flags & FLAG_NEW_CHECKSUM == 0 {
        return Some("checksum-format flag clear on a database whose pages all use ECC checksums");
    }
    if u32_at(page, 24) == 0 {
        return Some("objidFDP is 0");
    }
    let cb_free = u16_at(page, 28) as usize;
    let cb_uncommitted = u16_at(page, 30) as usize;
    let ib_mic = u16_at(page, 32) as usize;
    let itag = (u16_at(page, 34) & crate::parse::page::ITAG_MIC_FREE_MASK) as usize;
    if cb_free > ps - hdr {
        return Some("cbFree larger than the page");
    }
    if cb_uncommitted > cb_free {
        return Some("cbUncommittedFree larger than cbFree");
    }
    if hdr + ib_mic + 4 * itag > ps {
        return Some("ibMicFree and the tag array overlap");
    }
    if hdr + ib_mic + 4 * itag + cb_free < ps {
        return Some("cbFree, ibMicFree and itagMicFree do not account for the page");
    }
    None
}

/// Whether a non-header page has the shape of a trailer: checksum high
/// dword, dbtimeDirtied and objidFDP zero (dwords 1, 2, 3 and 6).
pub fn looks_like_trailer(page: &[u8]) -> bool {
    page.len() >= 28
        && u32_at(page, 4) == 0
        && u32_at(page, 8) == 0
        && u32_at(page, 12) == 0
        && u32_at(page, 24) == 0
}

/// The legacy header checksum of a header-format page as a verdict.
fn header_checksum(page: &[u8]) -> PageVerdict {
    let stored = stored_header_checksum(page);
    let computed = legacy_header_checksum(page);
    if stored == computed {
        PageVerdict::Ok {
            format: ChecksumFormat::Xor,
        }
    } else {
        PageVerdict::Bad {
            format: ChecksumFormat::Xor,
            block: 0,
            stored: stored as u64,
            computed: computed as u64,
        }
    }
}

/// Classifies physical page `phys` (1-based) of a file of `last_phys` whole
/// pages. `expect_ecc`: every data page of this database uses the ECC
/// format (see [`implausible_page_header`]).
pub fn classify(page: &[u8], phys: u64, last_phys: u64, expect_ecc: bool) -> PageClass {
    let mk = |kind, checksum, note| PageClass {
        kind,
        checksum,
        note,
    };
    let header_kind = match phys {
        1 => Some(PageKind::Header),
        2 => Some(PageKind::ShadowHeader),
        _ => None,
    };
    if is_all_zero(page) {
        return mk(
            header_kind.unwrap_or(PageKind::Blank),
            PageVerdict::Uninitialized,
            None,
        );
    }
    if let Some(kind) = header_kind {
        return mk(kind, header_checksum(page), None);
    }
    if phys == last_phys && looks_like_trailer(page) {
        return mk(PageKind::Trailer, header_checksum(page), None);
    }
    let pgno = u32::try_from(phys.saturating_sub(HEADER_PAGES)).unwrap_or(u32::MAX);
    classify_data(page, pgno, expect_ecc)
}

/// Classifies a page read as data page `pgno` (never a header or trailer).
pub fn classify_data(page: &[u8], pgno: u32, expect_ecc: bool) -> PageClass {
    let v = verify_page(page, pgno);
    let (kind, note) = match &v {
        PageVerdict::Uninitialized => (PageKind::Blank, None),
        PageVerdict::Ok { .. } if u64_at(page, 8) == DBTIME_SHRUNK => (PageKind::Shrunk, None),
        PageVerdict::Ok { .. } | PageVerdict::Correctable { .. } => (PageKind::Data, None),
        PageVerdict::WrongPageNumber { .. } => (PageKind::BadChecksum, None),
        PageVerdict::Bad { .. } => {
            let hdr = if page.len() > 8192 { 80 } else { 40 };
            if is_all_zero(&page[..hdr.min(page.len())]) {
                // Leading sectors never written: a torn (partial) write of an
                // ESE page, not foreign data.
                (
                    PageKind::BadChecksum,
                    Some("page header is zero: partially written page (torn write)"),
                )
            } else {
                match implausible_page_header(page, expect_ecc) {
                    Some(reason) => (PageKind::Foreign, Some(reason)),
                    None => (PageKind::BadChecksum, None),
                }
            }
        }
    };
    PageClass {
        kind,
        checksum: v,
        note,
    }
}

/// Whether a data page holds nothing redo can build on: blank, or released
/// by a shrink (the engine treats a shrunk page as uninitialized,
/// `LOG::ErrLGIAccessPage` / `FShrunkPage` in `ese/_log/logredo.cxx`).
/// Cheaper than [`classify`]: no checksum is computed.
pub fn is_unwritten(page: &[u8]) -> bool {
    is_all_zero(page) || (page.len() >= 16 && u64_at(page, 8) == DBTIME_SHRUNK)
}

/// Whether every data page of a database of this page size uses the ECC
/// format (16 and 32 KiB pages always do).
pub fn expect_ecc_for(page_size: usize) -> bool {
    page_size > 8192
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed_data(ps: usize, pgno: u32, dbtime: u64) -> Vec<u8> {
        let mut p = vec![0u8; ps];
        p[8..16].copy_from_slice(&dbtime.to_le_bytes());
        p[24..28].copy_from_slice(&7u32.to_le_bytes());
        let hdr = if ps > 8192 { 80 } else { 40 };
        p[28..30].copy_from_slice(&((ps - hdr) as u16).to_le_bytes());
        p[36..40].copy_from_slice(&(0x2000u32 | 0x800).to_le_bytes());
        p[ps - 8] = 0x5A; // some content after the header
        crate::checksum::seal_page(&mut p, pgno);
        p
    }

    #[test]
    fn every_kind() {
        let ps = 8192;
        let mut h = vec![0u8; ps];
        h[4..8].copy_from_slice(&0x89AB_CDEFu32.to_le_bytes());
        crate::checksum::seal_header(&mut h);
        assert_eq!(classify(&h, 1, 10, false).kind, PageKind::Header);
        assert_eq!(classify(&h, 2, 10, false).kind, PageKind::ShadowHeader);
        assert!(classify(&h, 2, 10, false).checksum_ok());
        let mut t = vec![0u8; ps];
        t[56..60].copy_from_slice(&1u32.to_le_bytes());
        crate::checksum::seal_header(&mut t);
        let c = classify(&t, 10, 10, false);
        assert!(c.is_good_trailer(), "{c:?}");
        // The same bytes elsewhere are not a trailer.
        assert_ne!(classify(&t, 9, 10, false).kind, PageKind::Trailer);
        t[100] ^= 1;
        let c = classify(&t, 10, 10, false);
        assert_eq!(c.kind, PageKind::Trailer);
        assert!(!c.checksum_ok());
        assert_eq!(classify(&vec![0u8; ps], 5, 10, false).kind, PageKind::Blank);
        let d = sealed_data(ps, 3, 0x42);
        assert_eq!(classify(&d, 5, 10, false).kind, PageKind::Data);
        assert_eq!(classify(&d, 6, 10, false).kind, PageKind::BadChecksum);
        let s = sealed_data(ps, 3, DBTIME_SHRUNK);
        assert_eq!(classify(&s, 5, 10, false).kind, PageKind::Shrunk);
        let mut f = vec![0xA5u8; ps];
        f[36..40].copy_from_slice(&0xFFFF_0000u32.to_le_bytes());
        let c = classify(&f, 5, 10, false);
        assert_eq!(c.kind, PageKind::Foreign);
        assert!(c.note.is_some());
        let mut torn = d.clone();
        torn[..40].fill(0);
        let c = classify(&torn, 5, 10, false);
        assert_eq!(c.kind, PageKind::BadChecksum);
        assert!(c.note.unwrap().contains("torn"));
    }
}
