//! Hard recovery (`/cc`): a restored backup copy of a database replayed
//! through the restored logs and, optionally, the following generations of
//! a play-forward folder (docs/format/recovery.md §7).
//!
//! Facts: `LOG::ErrLGRestore` (`ese/_log/logutil.cxx` ~957–1270),
//! `ErrLGRSTExternalRestore` (~1365–1650), `ErrLGCheckDBFiles` (~9–250:
//! backup copy check −615, trailer −535/−552, range −553/−554, header patch),
//! `ErrLGIRSTCheckSignaturesLogSequence` (~262–560: −555/−556/−557/−565) and
//! `ErrIOTermUpdateAndWriteDatabaseHeader` (`ese/io.cxx` ~766–850: backup
//! history after hard recovery). The redo/undo run itself is the soft
//! recovery engine (`recovery::recover_logs`); only the inputs differ.
//!
//! Inputs are never written: the database is copied into the output folder
//! (`OUT/<name>.recovering`, renamed when complete) and patched there.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{read_log, recover_logs, LogIn, Options, Report, RestoreSource};
use crate::error::{Error, FormatError, Jet};
use crate::log::naming::{list_logs, LogNameKind};
use crate::parse::primitives::Lgpos;
use crate::parse::u32_at;

/// What `/cc` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct HardOptions {
    /// The restore folder (restore.env, restored database, restored logs).
    pub restore_dir: PathBuf,
    /// Explicit database (no restore.env needed).
    pub database: Option<PathBuf>,
    /// Explicit folder of the restored logs (default: the restore folder).
    pub logs: Option<PathBuf>,
    /// Explicit log base name (default: restore.env's LOG_BASE_NAME, else `edb`).
    pub base: Option<String>,
    /// `/f`: folder with the generations after the restored ones, up to
    /// the current log.
    pub play_forward: Option<PathBuf>,
    /// Output folder.
    pub output: PathBuf,
}

/// How the database copy identifies itself as a backup.
#[derive(Debug, Clone, Serialize)]
pub struct BackupCopy {
    /// The restored file.
    pub file: PathBuf,
    /// "streaming" (bkinfoFullCur) or "snapshot" (bkinfoSnapshotCur).
    pub kind: &'static str,
    /// Backup mark.
    pub mark: Lgpos,
    /// genLow of the backup.
    pub gen_low: u32,
    /// genHigh of the backup (from the header or the trailer page).
    pub gen_high: u32,
    /// genHigh came from the trailer page.
    pub from_trailer: bool,
    /// The `.pat` beside the copy, checked against the header and trailer.
    pub patch_file: Option<super::patch_file::PatchFileCheck>,
}

/// The `/cc` report: the checks made, then the redo run.
#[derive(Debug, Serialize)]
pub struct HardReport {
    /// restore.env read (absent with explicit paths).
    pub restore_env: Option<PathBuf>,
    /// Log base name.
    pub log_base_name: String,
    /// Folder of the restored logs.
    pub restored_log_dir: PathBuf,
    /// Restored generations (genLow, genHigh).
    pub restored_generations: (u32, u32),
    /// Play-forward folder.
    pub play_forward: Option<PathBuf>,
    /// Generations taken from the play-forward folder.
    pub play_forward_generations: Vec<u32>,
    /// The backup copies restored.
    pub backups: Vec<BackupCopy>,
    /// The redo/undo run.
    pub recovery: Report,
}

fn err(path: &Path, jet: Jet, msg: String) -> Error {
    Error::corrupt(path, FormatError::new(0, jet, msg))
}

/// Zeroes the backup history after hard recovery (`io.cxx` ~800–826):
/// FullCur/SnapshotCur/IncPrev, then (hard recovery) Full/Inc/Copy/Diff
/// Prev and the two prev types back to `backupNormal` (0). Logs are never
/// truncated here (`FBKLogsTruncated` false), so FullCur is not moved.
pub fn clear_backup_history(h: &mut [u8]) {
    // bkinfoFullPrev @136, IncPrev @160, FullCur @184 (24 bytes each),
    // SnapshotCur @316, CopyPrev @420, DiffPrev @444.
    for o in [136, 160, 184, 316, 420, 444] {
        h[o..o + 24].fill(0);
    }
    // bkinfoTypeFullPrev @356, TypeIncPrev @360.
    h[356..364].fill(0);
}

/// Checks one restore-set log against the previous one: same signature
/// (−555), tmPrevGen = previous tmCreate (−556).
fn check_next(prev: &LogIn, l: &LogIn) -> Result<(), Error> {
    if l.header[44..72] != prev.header[44..72] {
        return Err(err(
            &l.path,
            Jet::GIVEN_LOG_FILE_HAS_BAD_SIGNATURE,
            format!(
                "generation {:#X} has another log signature than generation {:#X}",
                l.generation, prev.generation
            ),
        ));
    }
    if l.header[24..32] != prev.header[16..24] {
        return Err(err(
            &l.path,
            Jet::GIVEN_LOG_FILE_IS_NOT_CONTIGUOUS,
            format!(
                "generation {:#X}'s previous-generation time differs from the creation time of generation {:#X}",
                l.generation, prev.generation
            ),
        ));
    }
    Ok(())
}

/// Reads a log, mapping a damaged one to −573 (restored set) or −574
/// (play-forward), as `ErrLGRSTExternalRestore` reports it.
fn read_hard(path: &Path, restored: bool) -> Result<LogIn, Error> {
    read_log(path).map_err(|e| match e {
        Error::Format { path, err: fe, .. } => {
            let jet = if restored {
                Jet::LOG_CORRUPT_DURING_HARD_RESTORE
            } else {
                Jet::LOG_CORRUPT_DURING_HARD_RECOVERY
            };
            err(&path, jet, format!("{} ({})", fe.detail, fe.jet))
        }
        other => other,
    })
}

/// The file name the logs give the database of signature `sign_db`: the
/// first log header's attach list, then CreateDB (signDb @12) and AttachDB
/// (signDb @16) records — the restore map matches by signature
/// (`ErrBuildRstmapForRestore`, rstmap.cxx), the restored file's own name
/// does not matter.
fn logged_name(logs: &[LogIn], sign_db: &[u8]) -> Option<String> {
    let first = &logs.first()?.header;
    if let Ok(h) = crate::parse::log_header::parse_log_header_fields(first) {
        for a in h.attachments {
            let same = crate::parse::primitives::signature(sign_db)
                .map(|(_, s)| s == a.sign_db)
                .unwrap_or(false);
            if same {
                return Some(super::file_name_of(&a.path));
            }
        }
    }
    for l in logs {
        for r in &l.records {
            let Ok(rec) = r.decode() else { continue };
            match rec.signed_database() {
                Some((_, s, path)) if s.0[..] == *sign_db => {
                    return Some(super::file_name_of(&path.text()));
                }
                _ => {}
            }
        }
    }
    None
}

/// Runs hard recovery.
pub fn hard_recover(o: &HardOptions) -> Result<HardReport, Error> {
    let dir = &o.restore_dir;
    // 0. restore.env or explicit paths.
    let mut env_path = None;
    let mut base = o.base.clone();
    let mut db_files: Vec<PathBuf> = Vec::new();
    if let Some(d) = &o.database {
        db_files.push(d.clone());
    } else {
        let p = crate::cli::cm::find_restore_env(dir).map_err(|_| {
            Error::io(
                dir,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no restore.env here; pass the backup copy and its logs explicitly (--database FILE [--logs DIR] [--base BASE])",
                ),
            )
        })?;
        // One byte more than the largest restore.env accepted, so that the
        // parser sees an oversized file as such without it being read whole.
        let bytes =
            crate::file::read_prefix(&p, crate::parse::restore_env::MAX_RESTORE_ENV_SIZE + 1)?;
        let env = crate::parse::restore_env::parse_restore_env(&bytes).map_err(|e| {
            if e.jet == Jet::FILE_INVALID_TYPE
                && crate::parse::restore_env::detect(&bytes)
                    == crate::parse::restore_env::RestoreEnvFormat::Binary
            {
                Error::Unsupported(format!(
                    "{}: {}; pass --database FILE [--logs DIR] [--base BASE]",
                    p.display(),
                    e.detail
                ))
            } else {
                Error::corrupt(&p, e)
            }
        })?;
        if base.is_none() {
            base = env.log_base_name.clone();
        }
        for d in &env.databases {
            let Some(name) = d
                .edb_filename_original
                .as_ref()
                .or(d.edb_filename_target.as_ref())
            else {
                continue;
            };
            let f = crate::parse::restore_env::map_into_folder(dir, name)
                .map_err(|m| Error::Usage(format!("{}: EDB_FILENAME: {m}", p.display())))?;
            db_files.push(f);
        }
        if db_files.is_empty() {
            return Err(err(
                &p,
                Jet::FILE_INVALID_TYPE,
                "restore.env names no database (EDB_FILENAME_ORIGINAL)".into(),
            ));
        }
        env_path = Some(p);
    }
    let base = base.unwrap_or_else(|| "edb".into());
    if base.is_empty() || !base.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        return Err(Error::Usage(format!(
            "log base name {base:?} is not a name"
        )));
    }
    // 1–2. The restored logs: archived generations of the base, checked.
    let log_dir = o.logs.clone().unwrap_or_else(|| dir.clone());
    let (found, _) = list_logs(&log_dir, &base)?;
    let mut restored: Vec<(u32, PathBuf)> = found
        .iter()
        .filter_map(|f| match f.name.kind {
            LogNameKind::Generation(g) => Some((g, f.path.clone())),
            _ => None,
        })
        .collect();
    restored.sort();
    if restored.is_empty() {
        return Err(err(
            &log_dir,
            Jet::FILE_NOT_FOUND,
            format!("no restored log {base}XXXXXXXX.log in this folder"),
        ));
    }
    let mut logs: Vec<LogIn> = Vec::new();
    for (g, p) in &restored {
        if let Some(prev) = logs.last() {
            if *g != prev.generation + 1 {
                return Err(err(
                    p,
                    Jet::MISSING_RESTORE_LOG_FILES,
                    format!(
                        "restored generation {g:#X} follows {:#X}: generation(s) missing",
                        prev.generation
                    ),
                ));
            }
        }
        let l = read_hard(p, true)?;
        if l.generation != *g {
            return Err(err(
                p,
                Jet::LOG_GENERATION_MISMATCH,
                format!(
                    "file name says generation {g:#X}, header {:#X}",
                    l.generation
                ),
            ));
        }
        if let Some(prev) = logs.last() {
            check_next(prev, &l)?;
        }
        logs.push(l);
    }
    let (gen_low, gen_high) = (restored[0].0, restored[restored.len() - 1].0);
    let sign_log = logs[0].header[44..72].to_vec();
    // 4–5. The databases: backup copies, range, patched header.
    let mut map = Vec::new();
    let mut backups = Vec::new();
    for f in &db_files {
        // Only the header pages are read here (and the trailer page below):
        // a database may be far larger than memory.
        let mut input = crate::file::Input::open(f)?;
        let bytes = input.probe()?;
        let file_len = input.len;
        let kind = crate::file::identify(&bytes);
        if kind != crate::file::FileKind::Database {
            return Err(crate::cli::wrong_kind(f, kind, "a database"));
        }
        let pair = crate::parse::db_header::read_header_pair(&bytes).map_err(|e| {
            err(
                f,
                Jet::DATABASE_CORRUPTED,
                format!("database header unreadable: {}", e.detail),
            )
        })?;
        let h = pair.header();
        let ps = h.page_size() as usize;
        let full = h.bkinfo_full_cur;
        let snap = h.bkinfo_snapshot_cur;
        let (kind, bk, mut gh, mut from_trailer) = if full.gen_low != 0 {
            ("streaming", full, full.gen_high, false)
        } else if snap.gen_low != 0 {
            ("snapshot", snap, snap.gen_high, false)
        } else {
            return Err(Error::not_ese(
                f,
                FormatError::new(
                    0,
                    Jet::RESTORE_OF_NON_BACKUP_DATABASE,
                    "the database is not a backup copy (bkinfoFullCur and bkinfoSnapshotCur are empty): use /r for soft recovery",
                ),
            ));
        };
        if kind == "snapshot" && bytes[108..136] != sign_log[..] {
            return Err(err(
                f,
                Jet::DATABASE_PATCH_FILE_MISMATCH,
                "snapshot backup of another log stream (signLog differs)".into(),
            ));
        }
        let mut trailer = None;
        if kind == "streaming" && gh == 0 {
            // The final state is in the trailer page (last page of the file).
            if file_len < 3 * ps as u64 {
                return Err(err(
                    f,
                    Jet::BAD_PATCH_PAGE,
                    "genHigh is 0 and the file has no trailer page".into(),
                ));
            }
            let page = input.read_at(file_len - ps as u64, ps)?;
            let p =
                crate::parse::patch::read_patch_page(&page).map_err(|e| Error::corrupt(f, e))?;
            crate::parse::patch::check_against_header(&p, h).map_err(|e| Error::corrupt(f, e))?;
            gh = p.bkinfo.gen_high;
            from_trailer = true;
            trailer = Some(p.clone());
            if p.bkinfo.gen_low != bk.gen_low {
                return Err(err(
                    f,
                    Jet::DATABASE_PATCH_FILE_MISMATCH,
                    "trailer page genLow differs from the header's".into(),
                ));
            }
        }
        // The .pat beside the copy (snapshot backups have none).
        let patch_file = match kind {
            "streaming" => super::patch_file::check_patch_file(f, dir, h, ps, trailer.as_ref())?,
            _ => None,
        };
        if bk.gen_low < gen_low {
            return Err(err(
                f,
                Jet::STARTING_RESTORE_LOG_TOO_HIGH,
                format!(
                    "the backup starts at generation {:#X} but the restored logs start at {gen_low:#X}",
                    bk.gen_low
                ),
            ));
        }
        if gh > gen_high {
            return Err(err(
                f,
                Jet::ENDING_RESTORE_LOG_TOO_LOW,
                format!(
                    "the backup needs generation {gh:#X} but the restored logs end at {gen_high:#X}"
                ),
            ));
        }
        // Step 5: the patched header (ErrLGCheckDBFiles ~215–235).
        let mut hp = bytes[..ps].to_vec();
        if full.gen_low != 0 {
            hp[204..208].copy_from_slice(&gen_high.to_le_bytes());
        }
        if gen_high > u32_at(&hp, 416) {
            hp[348..356].fill(0); // logtimeGenMaxCreate
            hp[416..420].copy_from_slice(&gen_high.to_le_bytes());
        }
        if gen_high > u32_at(&hp, 300) {
            hp[672..680].fill(0); // logtimeGenMaxRequired
            hp[300..304].copy_from_slice(&gen_high.to_le_bytes());
        }
        let name = logged_name(&logs, &bytes[24..52]).ok_or_else(|| {
            err(
                f,
                Jet::DATABASE_LOG_SET_MISMATCH,
                format!(
                    "no restored log attaches or creates a database with this signature (generations {gen_low:#X}-{gen_high:#X})"
                ),
            )
        })?;
        map.push(RestoreSource {
            name,
            source: f.clone(),
            header: Some(hp),
            zero_trailer: true,
        });
        backups.push(BackupCopy {
            file: f.clone(),
            kind,
            mark: bk.mark,
            gen_low: bk.gen_low,
            gen_high: gh,
            from_trailer,
            patch_file,
        });
    }
    // 3. The play-forward folder: generations after genHigh, up to the
    // current log, without gaps.
    let mut pf_gens = Vec::new();
    if let Some(pf) = &o.play_forward {
        let (found, _) = list_logs(pf, &base)?;
        let mut next: Vec<(u32, PathBuf)> = Vec::new();
        let mut current = None;
        for f in &found {
            match f.name.kind {
                LogNameKind::Generation(g) if g > gen_high => next.push((g, f.path.clone())),
                LogNameKind::Current => current = Some(f.path.clone()),
                _ => {}
            }
        }
        next.sort();
        let mut pf_logs: Vec<LogIn> = Vec::new();
        for (g, p) in &next {
            let expected = pf_logs
                .last()
                .map(|l| l.generation + 1)
                .unwrap_or(gen_high + 1);
            if *g != expected {
                let jet = if pf_logs.is_empty() {
                    Jet::MISSING_RESTORE_LOG_FILES
                } else {
                    Jet::MISSING_CURRENT_LOG_FILES
                };
                return Err(err(
                    p,
                    jet,
                    format!("generation {g:#X} in the play-forward folder, but {expected:#X} is missing"),
                ));
            }
            pf_logs.push(read_hard(p, false)?);
        }
        if let Some(c) = current {
            let l = read_hard(&c, false)?;
            let expected = pf_logs
                .last()
                .map(|l| l.generation + 1)
                .unwrap_or(gen_high + 1);
            if l.generation >= expected {
                if l.generation != expected {
                    return Err(err(
                        &c,
                        if pf_logs.is_empty() {
                            Jet::MISSING_RESTORE_LOG_FILES
                        } else {
                            Jet::MISSING_CURRENT_LOG_FILES
                        },
                        format!(
                            "the current log is generation {:#X} but {expected:#X} is missing",
                            l.generation
                        ),
                    ));
                }
                pf_logs.push(l);
            }
            // A current log at or below genHigh holds nothing newer.
        } else if !pf_logs.is_empty() {
            return Err(err(
                pf,
                Jet::MISSING_CURRENT_LOG_FILES,
                format!("{base}.log (the current log) is missing from the play-forward folder"),
            ));
        }
        for l in pf_logs {
            check_next(logs.last().expect("restored logs"), &l)?;
            pf_gens.push(l.generation);
            logs.push(l);
        }
    }
    // 6–8. Redo from the start of genLow, undo, finish (hard).
    let opts = Options {
        base: base.clone(),
        log_dir: log_dir.clone(),
        system_dir: log_dir.clone(),
        db_dir: dir.clone(),
        output: o.output.clone(),
        ignore_checkpoint: true,
        restore_map: map,
        hard: true,
        ..Default::default()
    };
    for m in &opts.restore_map {
        let t = o.output.join(&m.name);
        if super::same_file_path(&m.source, &t) {
            return Err(Error::Usage(format!(
                "--output {} holds the restored database {}: choose another --output",
                o.output.display(),
                m.source.display()
            )));
        }
    }
    let extra = env_path.iter().cloned().collect();
    let recovery = recover_logs(&opts, logs, extra)?;
    Ok(HardReport {
        restore_env: env_path,
        log_base_name: base,
        restored_log_dir: log_dir,
        restored_generations: (gen_low, gen_high),
        play_forward: o.play_forward.clone(),
        play_forward_generations: pf_gens,
        backups,
        recovery,
    })
}
