//! The backup trailer ("patch") page, PATCHHDR.
//!
//! Facts: `inc/cpage.hxx` ~1674–1694 (layout), `ese/backup.cxx` ~4627–4702
//! (`BKIMakeDbTrailer`), `ese/db.cxx` ~3632–3681 (`ErrDBReadAndCheckDBTrailer`,
//! checks), `ese/dbdump.cxx` ~374–413 (how `/mh` prints it); restated in
//! `docs/format/backup.md` §1–§2.
//!
//! Exchange 2000-era ESE wrote the final backup state to a separate
//! `<db>.pat` patch file; the public source no longer contains that file's
//! format: modern ESE creates the `.pat` file empty (0 bytes) and instead
//! appends this trailer page as the **last page** of a streaming-backup copy
//! of the database. The same structure is what a non-empty `.pat` file would
//! begin with, so the parser accepts either. The page is one database page
//! long, starts with a 40-byte small page header (only its checksum is used)
//! and is protected by the legacy XOR header checksum over the whole page.

use nom::number::complete::le_u32;
use serde::Serialize;

use super::primitives::{bkinfo, log_time, signature, BkInfo, LogTime, Signature};
use super::{need, run, Input, PResult};
use crate::checksum::{legacy_header_checksum, stored_header_checksum};
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

/// Checks a trailer against its database header (`ErrDBCheckDBHeaderAndTrailer`):
/// same database and log signatures and the same backup mark, else `-552
/// JET_errDatabasePatchFileMismatch`.
pub fn check_against_header(
    p: &PatchHeader,
    header: &super::db_header::DbHeader,
) -> Result<(), FormatError> {
    if p.sign_db != header.sign_db
        || p.sign_log != header.sign_log
        || p.bkinfo.mark != header.bkinfo_full_cur.mark
    {
        return Err(FormatError::new(
            0,
            Jet::DATABASE_PATCH_FILE_MISMATCH,
            "patch page does not belong to this backup (signature or backup mark differs)",
        ));
    }
    Ok(())
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
}
