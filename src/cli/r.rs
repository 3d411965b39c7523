//! `/r BASE`: soft recovery into an output folder ([`crate::recovery`]).
//!
//! eseutil's meanings (eseutil.cxx usage of `/r`): BASE is the 3-character
//! log base name (here also accepted as a log file path or `DIR/edb`);
//! `/l` log folder, `/s` system folder (checkpoint), `/d` database folder,
//! `/i` ignore mismatched/missing database attachments, `/a` allow
//! recovery with a missing current log. Unlike eseutil, nothing is written
//! next to the inputs: databases are rebuilt in `--output` (default
//! `./recovered/`) and the logs and checkpoint are only read.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use serde::Serialize;

use super::{write_json, Ctx, ModeResult};
use crate::db::compare::{compare_candidates, CompareReport};
use crate::error::Error;
use crate::parse::checkpoint::CHECKPOINT_COPY_SIZE;
use crate::parse::primitives::Signature;
use crate::recovery::output::{check_replaceable, check_writable_dir};
use crate::recovery::{recover, Options, Report};

/// Arguments of `/r`.
#[derive(Debug, Args)]
pub struct RArgs {
    /// Log base name (`edb`), `DIR/edb`, or a log file (`DIR/edb.log`).
    pub base: PathBuf,
    /// [/l] Folder of the logs (default: the base's folder, else `.`).
    #[arg(long = "log-dir")]
    pub log_dir: Option<PathBuf>,
    /// [/s] System folder with the checkpoint (default: the log folder).
    #[arg(long = "system-dir")]
    pub system_dir: Option<PathBuf>,
    /// [/d] Folder of existing databases (default: the log folder).
    #[arg(long = "db-dir")]
    pub db_dir: Option<PathBuf>,
    /// [/i] Skip attachments whose database is missing or mismatched.
    #[arg(long = "ignore-missing-db")]
    pub ignore_missing: bool,
    /// [/a] Allow a missing current log (lossy).
    #[arg(long = "allow-loss")]
    pub allow_loss: bool,
    /// [/t] Accepted for compatibility; no temporary database is used.
    #[arg(long = "temp-db", num_args = 0..=1, default_missing_value = "")]
    pub temp_db: Option<String>,
    /// [/n] Not supported (new database locations).
    #[arg(long = "new-location")]
    pub new_location: Option<PathBuf>,
    /// Replace a file in the output folder even when it is not an earlier
    /// output of this recovery (another database, any other file).
    #[arg(long)]
    pub force: bool,
    /// Replay from the first log even when a checkpoint exists.
    #[arg(long = "ignore-checkpoint")]
    pub ignore_checkpoint: bool,
    /// Output folder for the recovered databases.
    #[arg(long, default_value = "recovered")]
    pub output: PathBuf,
    /// Replay into the databases in the database folder themselves, as
    /// eseutil does (for admins working on a restored copy): no copy is
    /// made; each database says Dirty Shutdown until recovery has finished
    /// and verified, so an interrupted run is simply run again. Databases
    /// the logs create are built beside them and renamed in only when
    /// recovery succeeded. The logs and the checkpoint are never written.
    #[arg(long = "in-place", conflicts_with = "output")]
    pub in_place: bool,
    /// Page cache and evidence options.
    #[command(flatten)]
    pub io: RecoveryIoArgs,
    /// Compare the recovered database page by page with DB (a report; the
    /// exit status does not change).
    #[arg(long = "compare-with", value_name = "DB")]
    pub compare_with: Option<PathBuf>,
}

/// Page cache and evidence options of `/r` and `/cc`.
#[derive(Debug, Args)]
pub struct RecoveryIoArgs {
    /// Page cache of each database being recovered, in MiB (default 64;
    /// pages are written back when evicted and at the end).
    #[arg(long = "cache-mib", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub cache_mib: Option<u32>,
    /// Do not hash the inputs (the report says so); the after-run check of
    /// size, mtime and inode is still made.
    #[arg(long = "no-hash", conflicts_with = "verify_inputs")]
    pub no_hash: bool,
    /// After the run, read every input again and compare its sha256 with
    /// the one taken while it was read (default: size, mtime and inode).
    #[arg(long = "verify-inputs")]
    pub verify_inputs: bool,
}

impl RecoveryIoArgs {
    /// The recovery's I/O options.
    pub(crate) fn options(&self, in_place: bool) -> crate::recovery::evidence::IoOptions {
        crate::recovery::evidence::IoOptions {
            cache_mib: self.cache_mib.map(|n| n as usize),
            no_hash: self.no_hash,
            verify_inputs: self.verify_inputs,
            in_place,
        }
    }
}

#[derive(Serialize)]
struct RReport<'a> {
    tool: &'static str,
    version: &'static str,
    mode: &'static str,
    base: String,
    log_dir: PathBuf,
    system_dir: PathBuf,
    db_dir: PathBuf,
    output: PathBuf,
    /// Databases replaced by `--in-place` (empty otherwise).
    replaced_in_place: Vec<PathBuf>,
    /// Why no database was written, when none was (exit status 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    no_database_written: Option<String>,
    #[serde(flatten)]
    report: &'a Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    compare: Option<CompareReport>,
}

fn split_base(base: &Path) -> (Option<PathBuf>, String) {
    let name = base
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let dir = base
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf);
    let stem = match crate::log::naming::parse_log_file_name(&name) {
        Some(n) => n.base,
        None => name,
    };
    (dir, stem)
}

/// Why a recovery that stopped on no error wrote no database, or `None`
/// when it wrote one (or stopped on an error, which says it all).
fn nothing_written(rep: &Report, args: &RArgs) -> Option<String> {
    if !rep.databases.is_empty() || rep.error.is_some() {
        return None;
    }
    let mut why = match rep.redo_start {
        Some(p) => format!(
            "replay started at the checkpoint {} and no record after it attaches or creates a database",
            p.eseutil_text()
        ),
        None => "the logs attach or create no database".to_string(),
    };
    if rep.redo_start.is_some() && !args.ignore_checkpoint {
        why.push_str("; to rebuild the databases the logs create before the checkpoint, replay from the first log with --ignore-checkpoint (`eseutil-rs plan` shows the command)");
    }
    if !rep.not_recovered.is_empty() {
        why.push_str(" (see \"Not recovered\")");
    }
    Some(why)
}

/// Explains a `/r` argument that is not a log base name (`/r qmgr.db`):
/// `/r` takes the logs' base name and finds the databases through them.
fn not_a_base_name(arg: &Path) -> Option<String> {
    use crate::file::{identify, FileKind, Input};
    let name = arg.file_name()?.to_string_lossy().to_string();
    if crate::log::naming::parse_log_file_name(&name).is_some() {
        return None;
    }
    let what = if arg.is_file() {
        let kind = Input::open(arg)
            .and_then(|mut i| i.probe())
            .map(|p| identify(&p))
            .unwrap_or(FileKind::Unknown);
        if matches!(kind, FileKind::Log) {
            return None;
        }
        format!("{} is {}", arg.display(), kind.describe())
    } else if name.contains('.') {
        format!("{} is not a log base name", arg.display())
    } else {
        return None;
    };
    let dir = arg
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    Some(format!(
        "{what}: /r takes the base name of the logs (`edb`, `E00`, or `DIR/edb`) and finds the databases the logs name in /d DBDIR; e.g. `eseutil-rs /r {}/edb /d {}` (`eseutil-rs plan {}` prints the command)",
        dir.display(),
        dir.display(),
        arg.display()
    ))
}

/// The recovery options of a `/r` command line, checked: a base name, and
/// an output folder other than the database folder.
fn options(args: &RArgs) -> Result<Options, Error> {
    if args.new_location.is_some() {
        return Err(Error::Usage(
            "/n (new database locations) is not supported".into(),
        ));
    }
    let (dir, base) = split_base(&args.base);
    if base.is_empty() {
        return Err(Error::Usage("/r needs a log base name".into()));
    }
    if let Some(msg) = not_a_base_name(&args.base) {
        return Err(Error::Usage(msg));
    }
    let log_dir = args
        .log_dir
        .clone()
        .or(dir)
        .unwrap_or_else(|| PathBuf::from("."));
    let db_dir = args.db_dir.clone().unwrap_or_else(|| log_dir.clone());
    let output = if args.in_place {
        in_place_workdir(&db_dir)?
    } else {
        args.output.clone()
    };
    let opts = Options {
        base: base.clone(),
        system_dir: args.system_dir.clone().unwrap_or_else(|| log_dir.clone()),
        db_dir,
        log_dir: log_dir.clone(),
        output,
        ignore_checkpoint: args.ignore_checkpoint,
        ignore_missing: args.ignore_missing,
        lossy: args.allow_loss,
        stop_at: None,
        skip_undo: false,
        io: args.io.options(args.in_place),
        ..Default::default()
    };
    if let (Ok(a), Ok(b)) = (
        std::fs::canonicalize(&opts.db_dir),
        std::fs::canonicalize(&opts.output),
    ) {
        if a == b {
            return Err(Error::Usage(format!(
                "--output {} is the database folder: recovery never writes over its inputs; choose another --output",
                opts.output.display()
            )));
        }
    }
    Ok(opts)
}

/// Runs `/r`.
pub fn run(args: &RArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let opts = options(args)?;
    let (base, log_dir) = (opts.base.clone(), opts.log_dir.clone());
    if args.in_place {
        preflight_in_place(&opts)?;
    } else {
        preflight(&opts, args.force)?;
    }
    super::interrupt::on_interrupt(
        opts.output.clone(),
        args.in_place.then(|| opts.output.clone()),
    );
    let bar = progress_bar(ctx);
    let rep = recover(&opts);
    finish_progress(bar);
    let mut replaced = Vec::new();
    let rep = match (args.in_place, rep) {
        (true, Ok(rep)) => {
            let placed = place_in(&rep, &opts);
            let _ = std::fs::remove_dir_all(&opts.output);
            replaced = placed?;
            rep
        }
        (true, Err(e)) => {
            let _ = std::fs::remove_dir_all(&opts.output);
            return Err(e);
        }
        (false, r) => r?,
    };
    let nothing_written = nothing_written(&rep, args);
    let code = match exit_code(&rep) {
        super::exit::OK if nothing_written.is_some() => super::exit::DAMAGE,
        c => c,
    };
    let outputs: Vec<PathBuf> = if args.in_place {
        replaced.clone()
    } else {
        rep.databases.iter().map(|d| d.output.clone()).collect()
    };
    let compare = args
        .compare_with
        .as_deref()
        .map(|w| compare_outputs(&rep, &outputs, w));
    if let Some(why) = &nothing_written {
        eprintln!("eseutil-rs: no database was written: {why}");
    }
    // The JSON's exit status is the process's.
    let mut rep = rep;
    rep.exit_status = code as i32;
    if ctx.common.json {
        write_json(
            out,
            &RReport {
                no_database_written: nothing_written.clone(),
                tool: "eseutil-rs",
                version: env!("CARGO_PKG_VERSION"),
                mode: "r",
                base,
                log_dir,
                system_dir: opts.system_dir.clone(),
                db_dir: opts.db_dir.clone(),
                output: opts.output.clone(),
                replaced_in_place: replaced.clone(),
                report: &rep,
                compare,
            },
        )?;
    } else {
        let mut t = text(&rep, &opts);
        for p in &replaced {
            t.push_str(&format!("Replaced in place: {}\n", p.display()));
        }
        if let Some(why) = &nothing_written {
            t.push_str(&format!("\nNo database was written: {why}\n"));
        }
        if args.in_place && rep.error.is_some() {
            t.push_str("--in-place: recovery stopped; databases replayed in place were left in Dirty Shutdown (run /r again), nothing else in the database folder was changed\n");
        }
        if let Some(c) = &compare {
            t.push_str(&crate::render::compare::compare_text(c));
        }
        out.write_all(t.as_bytes())
            .map_err(|e| Error::io(PathBuf::from("<stdout>"), e))?;
    }
    if let Some(e) = &rep.error {
        ctx.terminated.set(Some(e.jet));
    }
    Ok(code)
}

/// `--compare-with` (shared with `/cc`): the recovered database among
/// `outputs` against `with`; nothing is compared when recovery stopped.
pub(crate) fn compare_outputs(rep: &Report, outputs: &[PathBuf], with: &Path) -> CompareReport {
    if rep.error.is_some() {
        return CompareReport {
            reference: with.to_path_buf(),
            result: None,
            error: Some("recovery stopped; nothing was compared".into()),
        };
    }
    compare_candidates(outputs, with)
}

/// The databases a replay of these logs writes: file name (as logged, last
/// path component) and the signatures it may carry, from the log headers'
/// and the checkpoint's attachment lists and the logs' CreateDB/AttachDB
/// records. Unreadable logs give nothing: recovery reports them itself.
pub(crate) fn expected_outputs(
    log_dir: &Path,
    base: &str,
    system_dir: &Path,
) -> Vec<(String, Vec<Signature>)> {
    let mut out: Vec<(String, Vec<Signature>)> = Vec::new();
    let mut add = |logged: &str, sig: Option<Signature>| {
        let name = logged
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or(logged)
            .to_string();
        if name.is_empty() {
            return;
        }
        let i = match out.iter().position(|(n, _)| *n == name) {
            Some(i) => i,
            None => {
                out.push((name, Vec::new()));
                out.len() - 1
            }
        };
        if let Some(s) = sig.filter(|s| !out[i].1.contains(s)) {
            out[i].1.push(s);
        }
    };
    if let Ok(set) = crate::plan::gather_log_set(log_dir, base) {
        for l in &set.logs {
            for a in &l.attachments {
                add(&a.path, Some(a.sign_db));
            }
            for r in &l.db_records {
                add(&r.path, r.sign_db);
            }
        }
    }
    let chk = system_dir.join(format!("{base}.chk"));
    if let Ok(b) = crate::file::read_prefix(&chk, 2 * CHECKPOINT_COPY_SIZE) {
        if let Ok(pair) = crate::parse::checkpoint::read_checkpoint_pair(&b) {
            for a in &pair.checkpoint().attachments {
                add(&a.path, Some(a.sign_db));
            }
        }
    }
    out
}

/// Before replay: the output folder can be written (else -1032, exit 3)
/// and no file there would be replaced that is not an earlier output of
/// this recovery (else exit 1, unless `--force`).
pub(crate) fn preflight(opts: &Options, force: bool) -> Result<(), Error> {
    check_writable_dir(&opts.output)?;
    for (name, sigs) in expected_outputs(&opts.log_dir, &opts.base, &opts.system_dir) {
        check_replaceable(&opts.output.join(name), &sigs, force)?;
    }
    Ok(())
}

/// Before an in-place replay: no database it would write is read-only
/// (refused as a usage error, nothing written).
fn preflight_in_place(opts: &Options) -> Result<(), Error> {
    for (name, _) in expected_outputs(&opts.log_dir, &opts.base, &opts.system_dir) {
        let target = opts.db_dir.join(name);
        if std::fs::metadata(&target).is_ok_and(|m| m.permissions().readonly()) {
            let _ = std::fs::remove_dir_all(&opts.output);
            return Err(Error::Usage(format!(
                "--in-place: {} is read-only; nothing was replaced",
                target.display()
            )));
        }
    }
    Ok(())
}

/// A progress bar on standard error for long replays (at least 50 000
/// records), only on a terminal and never with `--json`.
pub(crate) fn progress_bar(ctx: &Ctx) -> Option<std::rc::Rc<indicatif::ProgressBar>> {
    use std::io::IsTerminal;
    if let Some(pause) = super::interrupt::test_pause() {
        crate::recovery::set_progress(Some(Box::new(move |done, total| {
            if done == total {
                std::thread::sleep(pause);
            }
        })));
        return None;
    }
    if ctx.common.json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = std::rc::Rc::new(indicatif::ProgressBar::hidden());
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "Restore Status {bar:50} {percent:>3}% {pos}/{len} records",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let b = bar.clone();
    crate::recovery::set_progress(Some(Box::new(move |done, total| {
        if total >= 50_000 {
            if b.is_hidden() {
                b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            b.set_length(total);
            b.set_position(done);
        }
    })));
    Some(bar)
}

/// Removes the observer and clears the bar.
pub(crate) fn finish_progress(bar: Option<std::rc::Rc<indicatif::ProgressBar>>) {
    crate::recovery::set_progress(None);
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}

/// The temporary output folder of `--in-place`: inside the database folder,
/// so that the final renames stay on one file system. Refused when the
/// database folder cannot be written.
fn in_place_workdir(db_dir: &Path) -> Result<PathBuf, Error> {
    let meta = std::fs::metadata(db_dir).map_err(|e| Error::io(db_dir, e))?;
    if meta.permissions().readonly() {
        return Err(Error::Usage(format!(
            "--in-place: the database folder {} is read-only",
            db_dir.display()
        )));
    }
    let dir = db_dir.join(format!(".eseutil-rs-recovering.{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    Ok(dir)
}

/// Moves every recovered database of a successful run over its original in
/// the database folder (atomic renames, after checking every target can be
/// replaced); returns the paths replaced.
fn place_in(rep: &Report, o: &Options) -> Result<Vec<PathBuf>, Error> {
    if rep.error.is_some() {
        return Ok(Vec::new());
    }
    let mut moves = Vec::new();
    for d in &rep.databases {
        let Some(name) = d.output.file_name() else {
            continue;
        };
        let target = o.db_dir.join(name);
        if d.working_file == crate::recovery::store::Origin::InPlace {
            // Replayed in the file itself: nothing to move.
            moves.push((target.clone(), target));
            continue;
        }
        if std::fs::metadata(&target).is_ok_and(|m| m.permissions().readonly()) {
            return Err(Error::Usage(format!(
                "--in-place: {} is read-only; nothing was replaced (the recovered copies were discarded)",
                target.display()
            )));
        }
        moves.push((d.output.clone(), target));
    }
    for (from, to) in moves.iter().filter(|(f, t)| f != t) {
        std::fs::rename(from, to).map_err(|e| Error::io(to, e))?;
    }
    Ok(moves.into_iter().map(|(_, to)| to).collect())
}

fn text(r: &Report, o: &Options) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "Initiating RECOVERY mode...");
    let _ = writeln!(s, "    Logfile base name: {}", o.base);
    let _ = writeln!(s, "            Log files: {}", o.log_dir.display());
    let _ = writeln!(s, "         System files: {}", o.system_dir.display());
    let _ = writeln!(s, "       Database files: {}", o.db_dir.display());
    let _ = writeln!(s, "        Output folder: {}", o.output.display());
    let _ = writeln!(s);
    s.push_str(&report_text(r));
    s
}

/// The redo/undo part of the report (shared with `/cc`).
pub(crate) fn report_text(r: &Report) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Redo start: {}",
        match r.redo_start {
            Some(p) => format!("{} ({})", p.eseutil_text(), r.redo_start_reason),
            None => r.redo_start_reason.clone(),
        }
    );
    let gens: Vec<String> = r.generations.iter().map(|g| format!("0x{g:X}")).collect();
    let _ = writeln!(s, "Generations replayed: {}", gens.join(", "));
    if let Some(e) = r.redo_end {
        let _ = writeln!(s, "End of logs: {}", e.eseutil_text());
    }
    for t in &r.torn_records {
        let _ = writeln!(s, "Note: {} ({} bytes).", t.text(), t.bytes);
    }
    let st = &r.stats;
    let _ = writeln!(s, "Records: {}", st.records);
    let _ = writeln!(
        s,
        "Page operations: {} redone, {} already applied, {} dbtime mismatches",
        st.pages_redone,
        st.pages_already_applied,
        st.mismatches.len()
    );
    let _ = writeln!(
        s,
        "Transactions: {} begun, {} committed, {} rollback records, {} open at end",
        st.trx_begun,
        st.trx_committed,
        st.rollbacks,
        st.trx_open_at_end.len()
    );
    let _ = writeln!(
        s,
        "Macros (split/merge): {} committed, {} aborted",
        st.macros_committed, st.macros_aborted
    );
    let _ = writeln!(
        s,
        "Undo: {} session(s) rolled back at the end, {} operation(s) undone, {} failure(s)",
        r.undo.sessions_rolled_back.len(),
        r.undo.operations_undone,
        r.undo.failures.len()
    );
    let bi = &st.before_images;
    let _ = writeln!(
        s,
        "Logged page before-images: {} compared, {} equal to the redone page ({} with the same byte placement), {} used to restart a split/merge",
        bi.checked, bi.matched, bi.same_placement, bi.used
    );
    let _ = writeln!(s);
    for d in &r.databases {
        let _ = writeln!(
            s,
            "Database {} -> {}: {}, {} pages, {} pages written, dbtime 0x{:x}{}",
            d.logged_path,
            d.output.display(),
            d.state,
            d.page_count,
            d.pages_written,
            d.dbtime,
            if d.created {
                ", recreated from CreateDB"
            } else {
                ""
            }
        );
    }
    if !r.inputs.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Inputs ({}):", r.input_check.describe());
        for i in &r.inputs {
            let same = match (i.written_in_place, i.unchanged) {
                (true, _) => "written in place (--in-place)",
                (false, true) => "unchanged",
                (false, false) => "CHANGED",
            };
            let sha = i.sha256_before.as_deref().unwrap_or("(not hashed)");
            let _ = writeln!(s, "  {sha} {same} {}", i.path.display());
        }
    }
    if let Some(v) = &r.verification {
        let _ = writeln!(s);
        s.push_str(&verification_text(v));
    }
    for n in &r.not_recovered {
        let _ = writeln!(s, "Not recovered: {n}");
    }
    if let Some(e) = &r.error {
        let _ = writeln!(s);
        let _ = writeln!(s, "Recovery stopped: {e}");
    }
    s
}

/// The exit status of a recovery report (0, 1 redo stopped, 5 verification
/// failed; shared with `/cc`).
pub(crate) fn exit_code(r: &Report) -> u8 {
    match r.exit_status {
        0 => super::exit::OK,
        5 => super::exit::CORRUPT,
        _ => super::exit::DAMAGE,
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "FAILED"
    }
}

/// The verification section of the report.
fn verification_text(v: &crate::recovery::verify::Verification) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let head = match (v.passed, v.jet) {
        (true, _) => "passed".to_string(),
        (false, Some(j)) => format!("FAILED ({j}): nothing was renamed into place"),
        (false, None) => "FAILED: nothing was renamed into place".to_string(),
    };
    let _ = writeln!(s, "Verification before commit: {head}");
    let w = &v.writes;
    let _ = writeln!(
        s,
        "  Page writes: {} operations redone, {} page writes, {} pages written: {}",
        w.pages_redone,
        w.page_writes,
        w.pages_written,
        verdict(w.passed)
    );
    let b = &v.before_images;
    let _ = writeln!(
        s,
        "  Logged before-images: {} compared, {} equal, {} differ: {}",
        b.checked,
        b.matched,
        b.differences,
        verdict(b.passed)
    );
    let h = &v.attach_history;
    let _ = writeln!(
        s,
        "  Attach/detach history: {} records, {} attached at start, {} database(s) expected, {} produced: {}",
        h.records,
        h.attached_at_start,
        h.databases_expected,
        h.databases_produced,
        verdict(h.passed)
    );
    for d in &v.databases {
        let _ = writeln!(
            s,
            "  {}: {}/{} written pages read back; header dbtime 0x{:x}, highest page dbtime 0x{:x} (page {}); /k {} pages, {} bad; /g ({}) {} trees, {} violations: {}",
            d.logged_path,
            d.pages_read_back,
            d.pages_written,
            d.header_dbtime,
            d.highest_page_dbtime,
            d.highest_page_dbtime_pgno,
            d.checksum.pages_seen,
            d.checksum.bad,
            d.structure.scope,
            d.structure.trees_checked,
            d.structure.violations,
            verdict(d.passed)
        );
    }
    for f in &v.failures {
        let _ = writeln!(s, "  Failed: {f}");
    }
    s
}
