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

use super::{write_json, Ctx, ModeResult};
use crate::db::compare::{compare_candidates, CompareReport};
use crate::error::Error;
use crate::recovery::output::check_writable_dir;
use crate::recovery::stream::ExpectedOutputs;
use crate::recovery::{recover, Options, Report};
use crate::report::recovery::SoftRecovery;

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
    /// Page cache of the run in MiB, shared evenly by the databases attached
    /// at the time (default 64; pages are written back when evicted and at
    /// the end).
    #[arg(long = "cache-mib", value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub cache_mib: Option<u32>,
    /// Do not hash the inputs (the report says so); the after-run check of
    /// size, mtime and inode is still made.
    #[arg(long = "no-hash", conflicts_with = "verify_inputs")]
    pub no_hash: bool,
    /// After the run, read every input again and compare its hash with
    /// the one taken while it was read (default: size, mtime and inode).
    #[arg(long = "verify-inputs")]
    pub verify_inputs: bool,
}

impl RecoveryIoArgs {
    /// The recovery's I/O options.
    pub(crate) fn options(
        &self,
        in_place: bool,
        hash_algorithm: crate::file::HashAlgorithm,
    ) -> crate::recovery::evidence::IoOptions {
        crate::recovery::evidence::IoOptions {
            cache_mib: self.cache_mib.map(|n| n as usize),
            no_hash: self.no_hash,
            hash_algorithm,
            verify_inputs: self.verify_inputs,
            in_place,
        }
    }
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
fn options(args: &RArgs, hash: crate::file::HashAlgorithm) -> Result<Options, Error> {
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
        io: args.io.options(args.in_place, hash),
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
    let opts = options(args, ctx.common.hash_algorithm)?;
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
    let (bar, progress) = progress_bar(ctx);
    let opts = Options {
        progress,
        refuse_replacing: !args.in_place && !args.force,
        ..opts
    };
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
    let refused = rep
        .error
        .as_ref()
        .is_some_and(|e| e.kind() == crate::error::ErrorKind::Usage);
    let code = match exit_code(&rep) {
        _ if refused => super::exit::USAGE,
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
    let doc = SoftRecovery {
        tool: "eseutil-rs",
        version: env!("CARGO_PKG_VERSION"),
        mode: "r",
        base,
        log_dir,
        system_dir: opts.system_dir.clone(),
        db_dir: opts.db_dir.clone(),
        output: opts.output.clone(),
        replaced_in_place: replaced,
        no_database_written: nothing_written,
        report: &rep,
        compare,
        in_place: args.in_place,
    };
    if ctx.common.json {
        write_json(out, &doc)?;
    } else {
        out.write_all(crate::render::recovery::soft(&doc).as_bytes())
            .map_err(|e| Error::io(PathBuf::from("<stdout>"), e))?;
    }
    if let Some(e) = &rep.error {
        ctx.terminated.set(e.jet());
        if refused {
            eprintln!("eseutil-rs: {e}");
        }
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

/// The databases a replay of these logs writes, as far as the log headers
/// and the checkpoint name them (one header read per log: the records are
/// checked as they stream by, again before commit, see
/// `Options::refuse_replacing`).
pub(crate) fn expected_outputs(log_dir: &Path, base: &str, system_dir: &Path) -> ExpectedOutputs {
    let mut out = ExpectedOutputs::default();
    out.add_log_headers(log_dir, base);
    out.add_checkpoint(&system_dir.join(format!("{base}.chk")));
    out
}

/// Before replay: the output folder can be written (else -1032, exit 3)
/// and no file there would be replaced that is not an earlier output of
/// this recovery (else exit 1, unless `--force`).
pub(crate) fn preflight(opts: &Options, force: bool) -> Result<(), Error> {
    check_writable_dir(&opts.output)?;
    expected_outputs(&opts.log_dir, &opts.base, &opts.system_dir)
        .check_replaceable(&opts.output, force)
}

/// Before an in-place replay: no database it would write is read-only
/// (refused as a usage error, nothing written).
fn preflight_in_place(opts: &Options) -> Result<(), Error> {
    for name in expected_outputs(&opts.log_dir, &opts.base, &opts.system_dir).names() {
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

/// Logs of at least this many bytes get a progress bar (about 50 logs of
/// 1 MiB).
const PROGRESS_MIN_BYTES: u64 = 50 << 20;

/// A progress bar on standard error for long replays (at least
/// [`PROGRESS_MIN_BYTES`] of logs), only on a terminal and never with
/// `--json`: the bar (cleared by [`finish_progress`]) and the observer
/// recovery calls.
pub(crate) fn progress_bar(
    ctx: &Ctx,
) -> (
    Option<indicatif::ProgressBar>,
    Option<crate::recovery::Progress>,
) {
    use std::io::IsTerminal;
    if let Some(pause) = super::interrupt::test_pause() {
        let pause = crate::recovery::Progress::new(move |done, total| {
            if done == total {
                std::thread::sleep(pause);
            }
        });
        return (None, Some(pause));
    }
    if ctx.common.json || !std::io::stderr().is_terminal() {
        return (None, None);
    }
    let bar = indicatif::ProgressBar::hidden();
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "Restore Status {bar:50} {percent:>3}% {bytes}/{total_bytes}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let b = bar.clone();
    let observer = crate::recovery::Progress::new(move |done, total| {
        if total >= PROGRESS_MIN_BYTES {
            if b.is_hidden() {
                b.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            }
            b.set_length(total);
            b.set_position(done);
        }
    });
    (Some(bar), Some(observer))
}

/// Clears the bar.
pub(crate) fn finish_progress(bar: Option<indicatif::ProgressBar>) {
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

/// The exit status of a recovery report (0, 1 redo stopped, 5 verification
/// failed; shared with `/cc`).
pub(crate) fn exit_code(r: &Report) -> u8 {
    match r.exit_status {
        0 => super::exit::OK,
        5 => super::exit::CORRUPT,
        _ => super::exit::DAMAGE,
    }
}
