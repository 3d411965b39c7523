//! The backup state a restored database copy carries outside its header:
//! the `.pat` patch file beside it and the trailer page at its end.
//!
//! Facts (ESE source):
//! * the restore looks for `<database name>.pat` in the restore folder
//!   (`BKIGetPatchName`, `ese/backup.cxx`; `LOG::ErrBuildRstmapForRestore`,
//!   `ese/_log/rstmap.cxx`). Modern engines leave it empty; older ones (the
//!   Windows 7 ESE of `winmail7-backup/`) wrote the backup's patch page
//!   into it, with a shadow copy (see [`crate::parse::patch`]);
//! * a patch page that does not verify is -535 `JET_errBadPatchPage`
//!   (`ErrDBReadAndCheckDBTrailer`, `ese/db.cxx`); one of another backup
//!   (database or log signature, backup mark) is -552
//!   `JET_errDatabasePatchFileMismatch` (`ErrLGCheckDBFiles`,
//!   `ese/_log/logutil.cxx`; `ErrDBCheckDBHeaderAndTrailer`, `ese/db.cxx`);
//! * a snapshot backup uses no patch file (`ErrLGCheckDBFiles`);
//! * soft recovery of a streaming-backup copy whose final state is still in
//!   its trailer (bkinfoFullCur genLow set, genHigh 0) is -544
//!   `JET_errSoftRecoveryOnBackupDatabase` (`LOG::ErrLGRICheckRedoCondition`
//!   area of `ese/_log/logredo.cxx`); once genHigh is in the header the
//!   engine only zeroes the trailer (`ErrDBUpdateHeaderFromTrailer`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, FormatError, Jet};
use crate::parse::db_header::DbHeader;
use crate::parse::patch::{check_file_against_trailer, read_patch_file, PatchHeader};

/// Largest `.pat` read: two pages of the largest page size.
const MAX_PATCH_FILE: usize = 2 * 32768;

/// What the `.pat` beside a backup copy holds.
#[derive(Debug, Clone, Serialize)]
pub struct PatchFileCheck {
    /// The file.
    pub path: PathBuf,
    /// `empty` (what modern engines write) or `patch_page` (checked).
    pub content: &'static str,
    /// The patch page, when there is one.
    pub patch: Option<PatchHeader>,
    /// Whether it was compared with the trailer page (else with the header
    /// only).
    pub checked_against_trailer: bool,
}

/// The `.pat` of `db`: `<stem>.pat` beside it, else in `restore_dir`.
pub fn find_patch_file(db: &Path, restore_dir: &Path) -> Option<PathBuf> {
    let stem = db.file_stem()?;
    let mut name = stem.to_os_string();
    name.push(".pat");
    let beside = db.parent().unwrap_or(Path::new(".")).join(&name);
    [beside, restore_dir.join(&name)]
        .into_iter()
        .find(|p| p.is_file())
}

fn mismatch(path: &Path, what: String) -> Error {
    Error::corrupt(
        path,
        FormatError::new(0, Jet::DATABASE_PATCH_FILE_MISMATCH, what),
    )
}

/// Reads and checks the `.pat` of a streaming-backup copy `db` (header `h`,
/// page size `page_size`, trailer page `trailer` when the copy has one):
/// the patch page must verify (-535) and describe the same backup as the
/// header and the trailer (-552). `None` when there is no `.pat`.
pub fn check_patch_file(
    db: &Path,
    restore_dir: &Path,
    h: &DbHeader,
    page_size: usize,
    trailer: Option<&PatchHeader>,
) -> Result<Option<PatchFileCheck>, Error> {
    let Some(path) = find_patch_file(db, restore_dir) else {
        return Ok(None);
    };
    let mut input = crate::file::Input::open(&path)?;
    if input.len == 0 {
        return Ok(Some(PatchFileCheck {
            path,
            content: "empty",
            patch: None,
            checked_against_trailer: false,
        }));
    }
    let bytes = input.read_at(0, MAX_PATCH_FILE)?;
    let f = read_patch_file(&bytes, input.len).map_err(|e| Error::corrupt(&path, e))?;
    if f.page_size != page_size {
        return Err(Error::corrupt(
            &path,
            FormatError::new(
                0,
                Jet::BAD_PATCH_PAGE,
                format!(
                    "patch page of {} bytes for a database of {page_size}-byte pages",
                    f.page_size
                ),
            ),
        ));
    }
    let p = f.header().clone();
    let bk = &h.bkinfo_full_cur;
    let differs = if p.sign_db != h.sign_db {
        Some("database signature")
    } else if p.sign_log != h.sign_log {
        Some("log signature")
    } else if p.bkinfo.mark != bk.mark {
        Some("backup mark (lgposMark)")
    } else if p.bkinfo.gen_low != bk.gen_low {
        Some("backup genLow")
    } else if bk.gen_high != 0 && p.bkinfo.gen_high != bk.gen_high {
        Some("backup genHigh")
    } else {
        None
    };
    if let Some(what) = differs {
        return Err(mismatch(
            &path,
            format!("the patch file and the database header differ in the {what}: the patch file is not from this backup"),
        ));
    }
    if let Some(t) = trailer {
        check_file_against_trailer(&p, t).map_err(|e| Error::corrupt(&path, e))?;
    }
    Ok(Some(PatchFileCheck {
        path,
        content: "patch_page",
        patch: Some(p),
        checked_against_trailer: trailer.is_some(),
    }))
}

/// Soft recovery (`/r`) of a database copy: a streaming-backup copy whose
/// final state is still in its trailer page is refused with -544; returns
/// whether the copy is a backup copy whose trailer (if any) must be zeroed.
pub fn soft_recovery_of_backup_copy(db: &Path, h: &DbHeader) -> Result<bool, Error> {
    let bk = &h.bkinfo_full_cur;
    if bk.gen_low == 0 {
        return Ok(false);
    }
    if bk.gen_high == 0 {
        return Err(Error::not_ese(
            db,
            FormatError::new(
                0,
                Jet::SOFT_RECOVERY_ON_BACKUP_DATABASE,
                "this is a streaming-backup copy whose final backup state is in its trailer page: restore it with hard recovery (/cc) instead of /r",
            ),
        ));
    }
    Ok(true)
}
