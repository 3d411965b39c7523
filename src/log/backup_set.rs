//! Recognizing a restored backup set in a log folder.
//!
//! A streaming (online) backup copies the database, the logs of the
//! backup's generations and, with 2000/2003-era engines, a `.pat` patch
//! file; a snapshot backup copies the database and the logs. Neither
//! contains a current log `<base>.log`: the set ends with the archived
//! generation genHigh. Such a folder is not damaged, it is waiting for hard
//! recovery (`/cc`), which replays the restored logs (and, with `/f`, the
//! live folder's later generations) into the copy.
//!
//! A database copy is a backup when its header's bkinfoFullCur (streaming)
//! or bkinfoSnapshotCur (snapshot) has genLow ≠ 0 (`ErrLGCheckDBFiles`,
//! `ese/_log/logutil.cxx` ~9–250, the −615 check). A streaming copy whose
//! header genHigh is 0 carries the final state in its trailer page, the
//! last page of the file (`BKIMakeDbTrailer`, `ese/backup.cxx` ~4627); a
//! non-empty `<name>.pat` beside it begins with the same PATCHHDR.
//!
//! Only the header pages, the last page and the first page of a `.pat`
//! file are read.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Error;
use crate::file::{identify, FileKind, Input};
use crate::parse::patch::{check_against_header, read_patch_page};
use crate::parse::primitives::Lgpos;

/// A backup copy of a database found beside the logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupSet {
    /// The database copy.
    pub database: PathBuf,
    /// "streaming" (bkinfoFullCur) or "snapshot" (bkinfoSnapshotCur).
    pub kind: &'static str,
    /// Backup mark.
    pub mark: Lgpos,
    /// First generation the backup needs.
    pub gen_low: u32,
    /// Last generation the backup needs (0: unknown).
    pub gen_high: u32,
    /// Where genHigh came from: "header", "trailer page", "patch file" or
    /// "" (unknown).
    pub gen_high_from: &'static str,
    /// Whether the copy ends with a valid trailer page of this backup.
    pub trailer_page: bool,
    /// The `.pat` file beside the copy, and whether it is empty.
    pub patch_file: Option<PathBuf>,
    /// `.pat` file length in bytes.
    pub patch_file_len: u64,
    /// The `.pat` file holds a PATCHHDR of this backup.
    pub patch_file_matches: bool,
    /// What hard recovery needs, as one sentence with the command.
    pub advice: String,
}

/// The backup copies among the files of `dir` (sorted by name): every
/// database whose header records a current full or snapshot backup.
pub fn find_backup_sets(dir: &Path, base: &str) -> Vec<BackupSet> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|f| backup_copy(f, dir, base))
        .collect()
}

/// `f` as a backup copy, when it is one.
fn backup_copy(f: &Path, dir: &Path, base: &str) -> Option<BackupSet> {
    let mut input = Input::open(f).ok()?;
    let probe = input.probe().ok()?;
    if identify(&probe) != FileKind::Database {
        return None;
    }
    let pair = crate::parse::db_header::read_header_pair(&probe).ok()?;
    let h = pair.header();
    let (kind, bk) = if h.bkinfo_full_cur.gen_low != 0 {
        ("streaming", h.bkinfo_full_cur)
    } else if h.bkinfo_snapshot_cur.gen_low != 0 {
        ("snapshot", h.bkinfo_snapshot_cur)
    } else {
        return None;
    };
    let ps = h.page_size() as u64;
    let (mut gen_high, mut from) = (bk.gen_high, if bk.gen_high != 0 { "header" } else { "" });
    // The trailer page: the last page, when the file has more than the
    // two header pages.
    let trailer = (input.len >= 3 * ps)
        .then(|| input.read_at(input.len - ps, ps as usize).ok())
        .flatten()
        .and_then(|p| read_patch_page(&p).ok())
        .filter(|p| check_against_header(p, h).is_ok());
    if let Some(t) = &trailer {
        if gen_high == 0 {
            (gen_high, from) = (t.bkinfo.gen_high, "trailer page");
        }
    }
    let pat = f.with_extension("pat");
    let (patch_file, patch_file_len, patch_file_matches) = match std::fs::metadata(&pat) {
        Ok(m) if m.is_file() => {
            let page = crate::file::read_prefix(&pat, ps as usize).unwrap_or_default();
            let p = read_patch_page(&page)
                .ok()
                .filter(|p| check_against_header(p, h).is_ok());
            if let (Some(p), 0) = (&p, gen_high) {
                (gen_high, from) = (p.bkinfo.gen_high, "patch file");
            }
            (Some(pat), m.len(), p.is_some())
        }
        _ => (None, 0, false),
    };
    let advice = advice(f, dir, base, kind);
    Some(BackupSet {
        database: f.to_path_buf(),
        kind,
        mark: bk.mark,
        gen_low: bk.gen_low,
        gen_high,
        gen_high_from: from,
        trailer_page: trailer.is_some(),
        patch_file,
        patch_file_len,
        patch_file_matches,
        advice,
    })
}

fn advice(db: &Path, dir: &Path, base: &str, kind: &str) -> String {
    format!(
        "a restored {kind} backup set has no current log by design: hard recovery replays the restored logs into the copy: eseutil-rs /cc {} --database {} --logs {} --base {base} [/f FOLDER-WITH-THE-LATER-LOGS] --output OUT",
        dir.display(),
        db.display(),
        dir.display()
    )
}

/// The restored logs must span the backup's generations, as hard recovery
/// requires (`ErrLGCheckDBFiles`): the first present after genLow is −554
/// `JET_errStartingRestoreLogTooHigh`, the last before genHigh −553
/// `JET_errEndingRestoreLogTooLow`.
pub fn coverage_issues(sets: &[BackupSet], span: Option<(u32, u32)>) -> Vec<super::set::SetStep> {
    use super::set::{SetFinding, SetIssue, SetStep};
    let Some((low, high)) = span else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for b in sets {
        if low > b.gen_low {
            out.push(SetStep::Missing(SetIssue::new(
                SetFinding::BackupStartsLate {
                    database: b.database.clone(),
                    needed: b.gen_low,
                    present: low,
                },
            )));
        }
        if b.gen_high > high {
            out.push(SetStep::Missing(SetIssue::new(
                SetFinding::BackupEndsEarly {
                    database: b.database.clone(),
                    needed: b.gen_high,
                    present: high,
                },
            )));
        }
    }
    out
}

/// Finds the restore.env of a restore folder: `restore.env` or any
/// `*restore.env` (case-insensitive), the first in name order.
pub fn find_restore_env(path: &Path) -> Result<PathBuf, Error> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let rd = std::fs::read_dir(path).map_err(|e| Error::io(path, e))?;
    let mut found: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.to_ascii_lowercase().ends_with("restore.env"))
        })
        .collect();
    found.sort();
    found.into_iter().next().ok_or_else(|| {
        Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no restore.env in this folder",
            ),
        )
    })
}
