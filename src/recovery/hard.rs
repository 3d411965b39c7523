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

use super::stream::{LogSource, LogStream, Prev};
use super::{recover_logs, LogIn, Options, Progress, Report, RestoreSource};
use crate::error::{Error, FormatError, Jet};
use crate::file::wrong_kind;
use crate::log::backup_set::find_restore_env;
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
    /// See [`Options::refuse_replacing`].
    pub refuse_replacing: bool,
    /// See [`Options::progress`].
    pub progress: Option<Progress>,
    /// Page cache and evidence hashing (never in place).
    pub io: super::evidence::IoOptions,
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
/// (−555), tmPrevGen = previous tmCreate (−556). Run by the log stream at
/// every boundary, the restored/play-forward one included.
fn check_next(prev: &Prev, l: &LogIn) -> Result<(), Error> {
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

/// The code a damaged log is reported under, as `ErrLGRSTExternalRestore`
/// reports it: −573 in the restored set, −574 in the play-forward folder.
fn damage_code(restored: bool) -> Jet {
    if restored {
        Jet::LOG_CORRUPT_DURING_HARD_RESTORE
    } else {
        Jet::LOG_CORRUPT_DURING_HARD_RECOVERY
    }
}

/// The verified header (first 4096 bytes) of a log, without its records; a
/// damaged header is reported as the full read would ([`damage_code`]).
fn read_header(path: &Path, restored: bool) -> Result<(Vec<u8>, u32), Error> {
    let size = crate::parse::log_header::LOG_HEADER_SIZE;
    let bytes = crate::file::read_prefix(path, size)?;
    match crate::parse::log_header::read_log_header(&bytes) {
        Ok(h) => Ok((bytes, h.header.generation as u32)),
        Err(fe) => Err(err(
            path,
            damage_code(restored),
            format!("{} ({})", fe.detail, fe.jet),
        )),
    }
}

/// Reads a whole log with [`damage_code`] (one generation in memory).
fn read_hard(path: &Path, restored: bool) -> Result<LogIn, Error> {
    let source = LogSource {
        path: path.to_path_buf(),
        damage: Some(damage_code(restored)),
        name_generation: None,
        hash: None,
    };
    super::stream::read_source(&source)
}

/// The file name the logs give the database of signature `sign_db`: the
/// first log header's attach list, then CreateDB (signDb @12) and AttachDB
/// (signDb @16) records — the restore map matches by signature
/// (`ErrBuildRstmapForRestore`, rstmap.cxx), the restored file's own name
/// does not matter. The records are read only when the header does not
/// name it, one generation at a time.
fn logged_name(
    first_header: &[u8],
    restored: &[LogSource],
    sign_db: &[u8],
) -> Result<Option<String>, Error> {
    if let Ok(h) = crate::parse::log_header::parse_log_header_fields(first_header) {
        for a in h.attachments {
            let same = crate::parse::primitives::signature(sign_db)
                .map(|(_, s)| s == a.sign_db)
                .unwrap_or(false);
            if same {
                return Ok(Some(super::file_name_of(&a.path)));
            }
        }
    }
    for s in restored {
        let l = super::stream::read_source(s)?;
        for r in &l.records {
            let Ok(rec) = r.decode() else { continue };
            match rec.signed_database() {
                Some((_, s, path)) if s.0[..] == *sign_db => {
                    return Ok(Some(super::file_name_of(&path.text())));
                }
                _ => {}
            }
        }
    }
    Ok(None)
}

/// What a restore folder names: its restore.env (absent with explicit
/// paths), the log base name and the database files. Read once, before
/// the output folder is checked (`/cc` needs the base name for that).
#[derive(Debug, Clone)]
pub struct RestoreInputs {
    /// restore.env read.
    pub env_path: Option<PathBuf>,
    /// Log base name (`--base`, LOG_BASE_NAME, else `edb`).
    pub base: String,
    /// The backup copies.
    pub db_files: Vec<PathBuf>,
}

/// Step 0: restore.env or explicit paths.
pub fn restore_inputs(o: &HardOptions) -> Result<RestoreInputs, Error> {
    let mut inputs = RestoreInputs {
        env_path: None,
        base: String::new(),
        db_files: Vec::new(),
    };
    let mut base = o.base.clone();
    if let Some(d) = &o.database {
        inputs.db_files.push(d.clone());
    } else {
        let (p, env) = read_restore_env(&o.restore_dir)?;
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
            let f = crate::parse::restore_env::map_into_folder(&o.restore_dir, name)
                .map_err(|m| Error::Usage(format!("{}: EDB_FILENAME: {m}", p.display())))?;
            inputs.db_files.push(f);
        }
        if inputs.db_files.is_empty() {
            return Err(err(
                &p,
                Jet::FILE_INVALID_TYPE,
                "restore.env names no database (EDB_FILENAME_ORIGINAL)".into(),
            ));
        }
        inputs.env_path = Some(p);
    }
    inputs.base = base.unwrap_or_else(|| "edb".into());
    let b = &inputs.base;
    if b.is_empty() || !b.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
        return Err(Error::Usage(format!("log base name {b:?} is not a name")));
    }
    Ok(inputs)
}

/// Finds and parses the restore.env of `dir`.
fn read_restore_env(dir: &Path) -> Result<(PathBuf, crate::parse::restore_env::RestoreEnv), Error> {
    let p = find_restore_env(dir).map_err(|_| {
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
    let bytes = crate::file::read_prefix(&p, crate::parse::restore_env::MAX_RESTORE_ENV_SIZE + 1)?;
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
    Ok((p, env))
}

/// Steps 1–2: the restored logs, archived generations of the base without
/// a gap (by name; each file's header is checked against its name as it
/// streams).
fn restored_sources(log_dir: &Path, base: &str) -> Result<Vec<LogSource>, Error> {
    let (found, _) = list_logs(log_dir, base)?;
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
            log_dir,
            Jet::FILE_NOT_FOUND,
            format!("no restored log {base}XXXXXXXX.log in this folder"),
        ));
    }
    for w in restored.windows(2) {
        if w[1].0 != w[0].0 + 1 {
            return Err(err(
                &w[1].1,
                Jet::MISSING_RESTORE_LOG_FILES,
                format!(
                    "restored generation {:#X} follows {:#X}: generation(s) missing",
                    w[1].0, w[0].0
                ),
            ));
        }
    }
    Ok(restored
        .into_iter()
        .map(|(g, path)| LogSource {
            path,
            damage: Some(damage_code(true)),
            name_generation: Some(g),
            hash: None, // set from the options by the caller
        })
        .collect())
}

/// The restored set as the databases are checked against it.
struct RestoredSet<'a> {
    /// The restore folder (the `.pat` files).
    dir: &'a Path,
    gen_low: u32,
    gen_high: u32,
    /// The first restored log's header (signLog, attach list).
    first_header: Vec<u8>,
    sources: &'a [LogSource],
}

/// Steps 4–5: one restored database: a backup copy (−615), its range
/// against the restored logs (−553/−554), trailer (−535/−552), `.pat`, and
/// the patched header (`ErrLGCheckDBFiles` ~215–235).
fn backup_copy(f: &Path, set: &RestoredSet) -> Result<(RestoreSource, BackupCopy), Error> {
    // Only the header pages are read here (and the trailer page): a
    // database may be far larger than memory.
    let mut input = crate::file::Input::open(f)?;
    let bytes = input.probe()?;
    let kind = crate::file::identify(&bytes);
    if kind != crate::file::FileKind::Database {
        return Err(wrong_kind(f, kind, "a database"));
    }
    let pair = crate::parse::db_header::read_header_pair(&bytes).map_err(|e| {
        err(
            f,
            Jet::DATABASE_CORRUPTED,
            format!("database header unreadable: {}", e.detail),
        )
    })?;
    let h = pair.header();
    let copy = backup_kind(f, &mut input, h, &bytes[108..136], set)?;
    let (gen_low, gen_high) = (set.gen_low, set.gen_high);
    if copy.gen_low < gen_low {
        return Err(err(
            f,
            Jet::STARTING_RESTORE_LOG_TOO_HIGH,
            format!(
                "the backup starts at generation {:#X} but the restored logs start at {gen_low:#X}",
                copy.gen_low
            ),
        ));
    }
    if copy.gen_high > gen_high {
        return Err(err(
            f,
            Jet::ENDING_RESTORE_LOG_TOO_LOW,
            format!(
                "the backup needs generation {:#X} but the restored logs end at {gen_high:#X}",
                copy.gen_high
            ),
        ));
    }
    // Step 5: the patched header (ErrLGCheckDBFiles ~215–235).
    let mut hp = bytes[..h.page_size() as usize].to_vec();
    if h.bkinfo_full_cur.gen_low != 0 {
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
    let name = logged_name(&set.first_header, set.sources, &bytes[24..52])?.ok_or_else(|| {
        err(
            f,
            Jet::DATABASE_LOG_SET_MISMATCH,
            format!(
                "no restored log attaches or creates a database with this signature (generations {gen_low:#X}-{gen_high:#X})"
            ),
        )
    })?;
    let source = RestoreSource {
        name,
        source: f.to_path_buf(),
        header: Some(hp),
        zero_trailer: true,
    };
    Ok((source, copy))
}

/// How the copy is a backup: streaming (bkinfoFullCur, genHigh possibly in
/// the trailer page, `.pat` beside it) or snapshot (bkinfoSnapshotCur, of
/// this log stream).
fn backup_kind(
    f: &Path,
    input: &mut crate::file::Input,
    h: &crate::parse::db_header::DbHeader,
    sign_log: &[u8],
    set: &RestoredSet,
) -> Result<BackupCopy, Error> {
    let ps = h.page_size() as usize;
    let (full, snap) = (h.bkinfo_full_cur, h.bkinfo_snapshot_cur);
    let (kind, bk) = if full.gen_low != 0 {
        ("streaming", full)
    } else if snap.gen_low != 0 {
        ("snapshot", snap)
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
    if kind == "snapshot" && sign_log != &set.first_header[44..72] {
        return Err(err(
            f,
            Jet::DATABASE_PATCH_FILE_MISMATCH,
            "snapshot backup of another log stream (signLog differs)".into(),
        ));
    }
    let (mut gh, mut trailer) = (bk.gen_high, None);
    if kind == "streaming" && gh == 0 {
        // The final state is in the trailer page (last page of the file).
        let file_len = input.len;
        if file_len < 3 * ps as u64 {
            return Err(err(
                f,
                Jet::BAD_PATCH_PAGE,
                "genHigh is 0 and the file has no trailer page".into(),
            ));
        }
        let page = input.read_at(file_len - ps as u64, ps)?;
        let p = crate::parse::patch::read_patch_page(&page).map_err(|e| Error::corrupt(f, e))?;
        crate::parse::patch::check_against_header(&p, h).map_err(|e| Error::corrupt(f, e))?;
        gh = p.bkinfo.gen_high;
        if p.bkinfo.gen_low != bk.gen_low {
            return Err(err(
                f,
                Jet::DATABASE_PATCH_FILE_MISMATCH,
                "trailer page genLow differs from the header's".into(),
            ));
        }
        trailer = Some(p);
    }
    // The .pat beside the copy (snapshot backups have none).
    let patch_file = match kind {
        "streaming" => super::patch_file::check_patch_file(f, set.dir, h, ps, trailer.as_ref())?,
        _ => None,
    };
    Ok(BackupCopy {
        file: f.to_path_buf(),
        kind,
        mark: bk.mark,
        gen_low: bk.gen_low,
        gen_high: gh,
        from_trailer: trailer.is_some(),
        patch_file,
    })
}

/// Step 3: the play-forward folder: generations after genHigh, up to the
/// current log, without gaps (by name; the current log's generation from
/// its header).
fn play_forward_sources(pf: &Path, base: &str, gen_high: u32) -> Result<Vec<LogSource>, Error> {
    let (found, _) = list_logs(pf, base)?;
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
    let mut expected = gen_high + 1;
    let missing = |first: bool| {
        if first {
            Jet::MISSING_RESTORE_LOG_FILES
        } else {
            Jet::MISSING_CURRENT_LOG_FILES
        }
    };
    let source = |path: PathBuf| LogSource {
        path,
        damage: Some(damage_code(false)),
        name_generation: None,
        hash: None, // set from the options by the caller
    };
    let mut out = Vec::new();
    for (g, p) in next {
        if g != expected {
            return Err(err(
                &p,
                missing(out.is_empty()),
                format!(
                    "generation {g:#X} in the play-forward folder, but {expected:#X} is missing"
                ),
            ));
        }
        out.push(source(p));
        expected += 1;
    }
    let Some(c) = current else {
        if out.is_empty() {
            return Ok(out);
        }
        return Err(err(
            pf,
            Jet::MISSING_CURRENT_LOG_FILES,
            format!("{base}.log (the current log) is missing from the play-forward folder"),
        ));
    };
    let (_, g) = read_header(&c, false)?;
    if g < expected {
        // A current log at or below genHigh holds nothing newer; it is
        // still read whole (a damaged one is reported).
        read_hard(&c, false)?;
        return Ok(out);
    }
    if g != expected {
        return Err(err(
            &c,
            missing(out.is_empty()),
            format!("the current log is generation {g:#X} but {expected:#X} is missing"),
        ));
    }
    out.push(source(c));
    Ok(out)
}

/// Runs hard recovery.
pub fn hard_recover(o: &HardOptions) -> Result<HardReport, Error> {
    let inputs = restore_inputs(o)?;
    hard_recover_from(o, inputs)
}

/// Runs hard recovery of what [`restore_inputs`] found.
pub fn hard_recover_from(o: &HardOptions, inputs: RestoreInputs) -> Result<HardReport, Error> {
    let dir = &o.restore_dir;
    let base = inputs.base;
    // 1–2. The restored logs (names and the first header here; every file
    // is read and checked as it streams into redo).
    let log_dir = o.logs.clone().unwrap_or_else(|| dir.clone());
    let restored = restored_sources(&log_dir, &base)?;
    let first_header = read_header(&restored[0].path, true)?.0;
    let gen_of = |s: &LogSource| s.name_generation.unwrap_or(0);
    let set = RestoredSet {
        dir,
        gen_low: gen_of(&restored[0]),
        gen_high: gen_of(&restored[restored.len() - 1]),
        first_header,
        sources: &restored,
    };
    // 4–5. The databases: backup copies, range, patched header.
    let mut map = Vec::new();
    let mut backups = Vec::new();
    for f in &inputs.db_files {
        let (m, b) = backup_copy(f, &set)?;
        map.push(m);
        backups.push(b);
    }
    let (gen_low, gen_high) = (set.gen_low, set.gen_high);
    // 3. The play-forward folder.
    let pf = match &o.play_forward {
        Some(pf) => play_forward_sources(pf, &base, gen_high)?,
        None => Vec::new(),
    };
    let pf_gens = (gen_high + 1..).take(pf.len()).collect();
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
        refuse_replacing: o.refuse_replacing,
        progress: o.progress.clone(),
        io: super::evidence::IoOptions {
            in_place: false,
            ..o.io.clone()
        },
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
    let mut sources = restored;
    sources.extend(pf);
    for s in &mut sources {
        s.hash = o.io.hash();
    }
    let logs = LogStream::start(sources, Box::new(check_next));
    let extra = inputs.env_path.iter().cloned().collect();
    let recovery = recover_logs(&opts, logs, extra)?;
    Ok(HardReport {
        restore_env: inputs.env_path,
        log_base_name: base,
        restored_log_dir: log_dir,
        restored_generations: (gen_low, gen_high),
        play_forward: o.play_forward.clone(),
        play_forward_generations: pf_gens,
        backups,
        recovery,
    })
}
