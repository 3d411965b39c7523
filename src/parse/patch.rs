//! The backup trailer ("patch") page, PATCHHDR.
//!
//! Facts: `inc/cpage.hxx` ~1674–1694 (layout), `ese/backup.cxx` ~4627–4702
//! (`BKIMakeDbTrailer`), `ese/db.cxx` ~3632–3681 (`ErrDBReadAndCheckDBTrailer`,
//! checks), `ese/dbdump.cxx` ~374–413 (how `/mh` prints it); restated in
//! `docs/format/backup.md` §1–§2.
//!
//! Modern ESE creates the `<db>.pat` file of a streaming backup empty
//! (`ErrBKIPrepareDatabase`-era code in `ese/backup.cxx` ~2301–2320 creates
//! it and writes nothing) and appends this page as the **last page** of the
//! database copy instead ("the former patch file header", backup.cxx ~162,
//! ~2381). Older engines (the Windows 7 ESE of the corpus set
//! `winmail7-backup/`) wrote the same page into the `.pat` file itself,
//! twice: a header page and an identical shadow copy, each one database page
//! long; the corpus file is byte-identical to the trailer page of its
//! database copy. The restore of the public source only requires `*.pat`
//! files to exist in the restore folder (`LOG::ErrBuildRstmapForRestore`,
//! `ese/_log/rstmap.cxx`: none is -538 `JET_errPatchFileMissing`) and reads
//! the backup state from the trailer page (`ErrLGCheckDBFiles`,
//! `ese/_log/logutil.cxx`).
//!
//! Layout (`PATCHHDR`, `inc/cpage.hxx` ~1680–1692, packed): a 40-byte
//! `CPAGE::PGHDR` of which only the checksum (@0) is set, BKINFO @40
//! (lgposMark @40, logtimeMark @48, genLow @56, genHigh @60,
//! `inc/daedef.hxx` ~2306), signDb @64, signLog @92, lgenMinReq @120,
//! lgenMaxReq @124, lgenMaxCommitted @128, logtimeGenMaxRequired @132,
//! logtimeGenMaxCommitted @140; the rest of the page is zero. The page is
//! checksummed as a database header (`SetPageChecksum(…, databaseHeader, 0)`
//! in `BKIMakeDbTrailer`): `0x89ABCDEF` XOR every dword from dword 1 on.

use nom::number::complete::le_u32;
use serde::Serialize;

use super::db_header::{UsedCopy, PAGE_SIZES};
use super::header_checksum::{legacy_header_checksum, stored_header_checksum};
use super::primitives::{bkinfo, log_time, signature, BkInfo, LogTime, Signature};
use super::{need, run, Input, PResult};
use crate::error::{FormatError, Jet};

/// Bytes of PATCHHDR that carry data.
pub const PATCH_HEADER_SIZE: usize = 148;

/// The trailer/patch page.
#[doc(alias = "PATCHHDR")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchHeader {
    /// @0 stored legacy checksum.
    pub checksum: u32,
    /// @40 the backup: mark, time, genLow, genHigh.
    pub bkinfo: BkInfo,
    /// @64 copy of the database signature.
    pub sign_db: Signature,
    /// @92 copy of the log signature.
    pub sign_log: Signature,
    /// @120 lGenMinRequired at the end of the backup (efv ≥ 9300, else 0).
    pub gen_min_required: u32,
    /// @124 lGenMaxRequired.
    pub gen_max_required: u32,
    /// @128 lGenMaxCommitted.
    pub gen_max_committed: u32,
    /// @132 creation time of gen_max_required.
    pub logtime_gen_max_required: LogTime,
    /// @140 creation time of gen_max_committed.
    pub logtime_gen_max_committed: LogTime,
}

impl PatchHeader {
    /// Whether the optional "Log Required / Log Committed" lines are printed.
    pub fn has_log_fields(&self) -> bool {
        self.gen_min_required != 0
            || self.gen_max_required != 0
            || self.gen_max_committed != 0
            || self.logtime_gen_max_required.is_set()
            || self.logtime_gen_max_committed.is_set()
    }
}

fn patch_header(i: Input<'_>) -> PResult<'_, PatchHeader> {
    let (i, checksum) = le_u32(i)?;
    let (i, _pghdr_rest) = nom::bytes::complete::take(36usize)(i)?;
    let (i, bkinfo) = bkinfo(i)?;
    let (i, sign_db) = signature(i)?;
    let (i, sign_log) = signature(i)?;
    let (i, gen_min_required) = le_u32(i)?;
    let (i, gen_max_required) = le_u32(i)?;
    let (i, gen_max_committed) = le_u32(i)?;
    let (i, logtime_gen_max_required) = log_time(i)?;
    let (i, logtime_gen_max_committed) = log_time(i)?;
    Ok((
        i,
        PatchHeader {
            checksum,
            bkinfo,
            sign_db,
            sign_log,
            gen_min_required,
            gen_max_required,
            gen_max_committed,
            logtime_gen_max_required,
            logtime_gen_max_committed,
        },
    ))
}

/// Parses and verifies a trailer/patch page (the whole page, one database
/// page long). A checksum mismatch is `-535 JET_errBadPatchPage`.
pub fn read_patch_page(page: &[u8]) -> Result<PatchHeader, FormatError> {
    need(page, PATCH_HEADER_SIZE, "patch page", Jet::BAD_PATCH_PAGE)?;
    let h = run(
        &page[..PATCH_HEADER_SIZE],
        "patch page",
        Jet::BAD_PATCH_PAGE,
        patch_header,
    )?;
    let computed = legacy_header_checksum(page);
    let stored = stored_header_checksum(page);
    if computed != stored {
        return Err(FormatError::new(
            0,
            Jet::BAD_PATCH_PAGE,
            format!(
                "patch page checksum mismatch (stored 0x{stored:08x}, computed 0x{computed:08x})"
            ),
        ));
    }
    Ok(h)
}

/// Checks a trailer against its database header (`ErrDBCheckDBHeaderAndTrailer`,
/// `ese/db.cxx`): same database and log signatures, a genHigh set and the
/// same backup mark, else `-552 JET_errDatabasePatchFileMismatch`.
pub fn check_against_header(
    p: &PatchHeader,
    header: &super::db_header::DbHeader,
) -> Result<(), FormatError> {
    if p.sign_db != header.sign_db
        || p.sign_log != header.sign_log
        || p.bkinfo.gen_high == 0
        || p.bkinfo.mark != header.bkinfo_full_cur.mark
    {
        return Err(FormatError::new(
            0,
            Jet::DATABASE_PATCH_FILE_MISMATCH,
            "patch page does not belong to this backup (signature or backup mark differs, or genHigh is 0)",
        ));
    }
    Ok(())
}

/// Whether `page` (at least [`PATCH_HEADER_SIZE`] bytes) has the shape of a
/// patch page: every PGHDR field but the checksum zero (dwords 1–9, as
/// `BKIMakeDbTrailer` zero-fills the page), a backup genLow set, and the
/// header checksum verifying over the `page_size` first bytes.
pub fn looks_like_patch_page(page: &[u8], page_size: usize) -> bool {
    page.len() >= page_size.max(PATCH_HEADER_SIZE)
        && page[4..40].iter().all(|&b| b == 0)
        && crate::parse::u32_at(page, 56) != 0
        && stored_header_checksum(page) == legacy_header_checksum(&page[..page_size])
}

/// One copy of the patch page in a `.pat` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchCopy {
    /// Stored checksum (first u32).
    pub stored_checksum: u32,
    /// Checksum recomputed over the page.
    pub computed_checksum: u32,
    /// Whether they match.
    pub checksum_ok: bool,
    /// The decoded fields.
    pub header: PatchHeader,
}

impl PatchCopy {
    fn read(page: &[u8]) -> Result<PatchCopy, FormatError> {
        need(page, PATCH_HEADER_SIZE, "patch page", Jet::BAD_PATCH_PAGE)?;
        let header = run(
            &page[..PATCH_HEADER_SIZE],
            "patch page",
            Jet::BAD_PATCH_PAGE,
            patch_header,
        )?;
        let stored = stored_header_checksum(page);
        let computed = legacy_header_checksum(page);
        Ok(PatchCopy {
            stored_checksum: stored,
            computed_checksum: computed,
            checksum_ok: stored == computed,
            header,
        })
    }
}

/// A non-empty `.pat` file: the patch page and its shadow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatchFile {
    /// Page size (from the file length, else from where the shadow starts).
    pub page_size: usize,
    /// First copy.
    pub primary: PatchCopy,
    /// Second copy (absent when the file holds one page only).
    pub shadow: Option<PatchCopy>,
    /// Whether both copies are byte-identical.
    pub identical: bool,
    /// The copy the fields come from (the primary unless only the shadow
    /// verifies, as for shadowed headers).
    pub used: UsedCopy,
}

impl PatchFile {
    /// The copy in use.
    pub fn header(&self) -> &PatchHeader {
        match (&self.used, &self.shadow) {
            (UsedCopy::Shadow, Some(s)) => &s.header,
            _ => &self.primary.header,
        }
    }
}

/// The page size of a patch file: the file length when it is two (or one)
/// pages of a valid size, else the first page size at which a verifying
/// copy of the page starts again.
fn patch_page_size(b: &[u8], file_len: u64) -> Option<usize> {
    for copies in [2u64, 1] {
        if let Some(&ps) = PAGE_SIZES
            .iter()
            .find(|&&ps| ps as u64 * copies == file_len)
        {
            return Some(ps);
        }
    }
    PAGE_SIZES
        .iter()
        .copied()
        .find(|&ps| b.len() >= 2 * ps && looks_like_patch_page(&b[ps..], ps))
}

/// Whether the first bytes of a file are a patch file (see
/// [`looks_like_patch_page`]); `file_len` is the whole file's length.
pub fn is_patch_file(b: &[u8], file_len: u64) -> bool {
    patch_page_size(b, file_len).is_some_and(|ps| {
        looks_like_patch_page(b, ps) || (b.len() >= 2 * ps && looks_like_patch_page(&b[ps..], ps))
    })
}

/// Reads a `.pat` file (`b`: its first bytes, at least two pages when the
/// file has them). Neither copy verifying is -535 `JET_errBadPatchPage`.
pub fn read_patch_file(b: &[u8], file_len: u64) -> Result<PatchFile, FormatError> {
    let ps = patch_page_size(b, file_len).ok_or_else(|| {
        FormatError::new(
            0,
            Jet::BAD_PATCH_PAGE,
            format!("not a patch file: length {file_len} is not one or two pages and no shadow copy was found"),
        )
    })?;
    need(b, ps, "patch page", Jet::BAD_PATCH_PAGE)?;
    let primary = PatchCopy::read(&b[..ps])?;
    let shadow = if b.len() >= 2 * ps {
        Some(PatchCopy::read(&b[ps..2 * ps]).map_err(|e| e.at_base(ps as u64))?)
    } else {
        None
    };
    let identical = b.len() >= 2 * ps && b[..ps] == b[ps..2 * ps];
    let used = match (&primary, &shadow) {
        (p, _) if p.checksum_ok => UsedCopy::Primary,
        (_, Some(s)) if s.checksum_ok => UsedCopy::Shadow,
        (p, _) => {
            return Err(FormatError::new(
                0,
                Jet::BAD_PATCH_PAGE,
                format!(
                    "neither copy of the patch page verifies (primary stored 0x{:08x}, computed 0x{:08x})",
                    p.stored_checksum, p.computed_checksum
                ),
            ))
        }
    };
    Ok(PatchFile {
        page_size: ps,
        primary,
        shadow,
        identical,
        used,
    })
}

/// A contradiction between a `.pat` file and the trailer page of its
/// database copy: they describe the same backup (same signatures, backup
/// mark and generation range), else -552 `JET_errDatabasePatchFileMismatch`
/// (the error `ErrLGCheckDBFiles` gives a patch page of another backup).
pub fn check_file_against_trailer(
    file: &PatchHeader,
    trailer: &PatchHeader,
) -> Result<(), FormatError> {
    let what = if file.sign_db != trailer.sign_db {
        "database signature"
    } else if file.sign_log != trailer.sign_log {
        "log signature"
    } else if file.bkinfo.mark != trailer.bkinfo.mark {
        "backup mark (lgposMark)"
    } else if file.bkinfo.gen_low != trailer.bkinfo.gen_low
        || file.bkinfo.gen_high != trailer.bkinfo.gen_high
    {
        "generation range (genLow-genHigh)"
    } else {
        return Ok(());
    };
    Err(FormatError::new(
        0,
        Jet::DATABASE_PATCH_FILE_MISMATCH,
        format!("the patch file and the database's trailer page differ in the {what}: they come from different backups"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_at_documented_offsets_and_checksum() {
        let mut page = vec![0u8; 4096];
        page[56..60].copy_from_slice(&3u32.to_le_bytes()); // genLow
        page[60..64].copy_from_slice(&9u32.to_le_bytes()); // genHigh
        page[64..68].copy_from_slice(&0xABCDu32.to_le_bytes()); // signDb.random
        page[128..132].copy_from_slice(&9u32.to_le_bytes());
        crate::checksum::seal_header(&mut page);
        let p = read_patch_page(&page).unwrap();
        assert_eq!((p.bkinfo.gen_low, p.bkinfo.gen_high), (3, 9));
        assert_eq!(p.sign_db.random, 0xABCD);
        assert!(p.has_log_fields());
        page[100] ^= 1;
        assert_eq!(read_patch_page(&page).unwrap_err().jet, Jet::BAD_PATCH_PAGE);
    }

    fn patch_page(ps: usize, gen_low: u32, gen_high: u32) -> Vec<u8> {
        let mut page = vec![0u8; ps];
        page[40..48].copy_from_slice(&[0x22, 0x0c, 2, 0, 1, 0, 0, 0]); // (0x1,2,C22)
        page[56..60].copy_from_slice(&gen_low.to_le_bytes());
        page[60..64].copy_from_slice(&gen_high.to_le_bytes());
        page[64..68].copy_from_slice(&0x10FBAu32.to_le_bytes());
        crate::checksum::seal_header(&mut page);
        page
    }

    #[test]
    fn patch_file_with_shadow() {
        let page = patch_page(8192, 1, 1);
        let mut file = page.clone();
        file.extend_from_slice(&page);
        assert!(is_patch_file(&file, file.len() as u64));
        let f = read_patch_file(&file, file.len() as u64).unwrap();
        assert_eq!(f.page_size, 8192);
        assert!(f.identical && f.primary.checksum_ok);
        assert_eq!(f.used, UsedCopy::Primary);
        assert_eq!(f.header().bkinfo.mark.eseutil_text(), "(0x1,2,C22)");
        assert_eq!(
            (f.header().bkinfo.gen_low, f.header().bkinfo.gen_high),
            (1, 1)
        );
        // A damaged primary: the shadow is used.
        file[100] ^= 1;
        let f = read_patch_file(&file, file.len() as u64).unwrap();
        assert_eq!(f.used, UsedCopy::Shadow);
        assert!(!f.identical);
        // Both damaged: -535.
        file[8192 + 100] ^= 1;
        let e = read_patch_file(&file, file.len() as u64).unwrap_err();
        assert_eq!(e.jet, Jet::BAD_PATCH_PAGE);
        // Not a patch file: a database header has its magic at 4.
        let mut h = vec![0u8; 8192];
        h[4..8].copy_from_slice(&0x89AB_CDEFu32.to_le_bytes());
        crate::checksum::seal_header(&mut h);
        assert!(!is_patch_file(&h, 8192));
    }

    #[test]
    fn file_and_trailer_must_agree() {
        let a = read_patch_page(&patch_page(4096, 1, 1)).unwrap();
        assert!(check_file_against_trailer(&a, &a).is_ok());
        let b = read_patch_page(&patch_page(4096, 1, 3)).unwrap();
        let e = check_file_against_trailer(&a, &b).unwrap_err();
        assert_eq!(e.jet, Jet::DATABASE_PATCH_FILE_MISMATCH);
        assert!(e.detail.contains("generation range"), "{}", e.detail);
    }

    #[test]
    fn truncated_and_flipped_patch_files_never_panic() {
        let page = patch_page(8192, 1, 1);
        let mut file = page.clone();
        file.extend_from_slice(&page);
        for cut in (0..=file.len()).step_by(64) {
            let b = &file[..cut];
            let _ = is_patch_file(b, cut as u64);
            let _ = read_patch_file(b, cut as u64);
            let _ = read_patch_file(b, file.len() as u64);
        }
        for i in (0..file.len()).step_by(97) {
            let mut b = file.clone();
            b[i] ^= 0xFF;
            if let Ok(f) = read_patch_file(&b, b.len() as u64) {
                assert!(f.primary.checksum_ok || f.shadow.is_some_and(|s| s.checksum_ok));
            }
        }
    }
}
