//! The command line: eseutil syntax (`/mh FILE`) and GNU subcommands
//! (`mh FILE --json`), one module per mode.
//!
//! Each mode gathers facts through the library, builds a report (the JSON
//! schema) and hands it to a renderer; this module owns the banner, the
//! closing "Operation completed…" line and the mapping of errors to exit
//! statuses.

pub mod as_of;
pub mod cc;
pub mod cm;
pub mod compat;
pub mod dump;
pub mod exit;
pub mod export;
pub mod g;
pub mod gen;
pub mod interrupt;
pub mod json_stream;
pub mod k;
pub mod mh;
pub mod mk;
pub mod ml;
pub mod mm;
pub mod mp;
pub mod ms;
pub mod plan;
pub mod r;
pub mod timeline;

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::error::Error;
use crate::file::HashAlgorithm;
use crate::render::color::{use_color, ColorWhen};

/// Options every mode shares (listed apart in `--help`).
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Print one JSON document instead of eseutil-style text (with a
    /// `schema_version`); `/ml --records --json` prints JSON Lines instead:
    /// one object per record.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,
    /// When to use color: auto (terminal only, honours NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, global = true, help_heading = GLOBAL)]
    pub color: ColorWhen,
    /// Do not print the banner (eseutil /o).
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_logo: bool,
    /// More detail (eseutil /v).
    #[arg(short, long, global = true, help_heading = GLOBAL)]
    pub verbose: bool,
    /// Add the hash of every input file to the JSON (and the text), for
    /// chain of custody; off by default so checks keep their speed.
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub hash: bool,
    /// The hash taken of inputs (by --hash, and by /r and /cc as evidence):
    /// blake3 (as b3sum prints it) or sha256 (as sha256sum prints it).
    #[arg(long = "hash-algorithm", value_name = "ALGO", value_enum, default_value_t = HashAlgorithm::Blake3, global = true, help_heading = GLOBAL)]
    pub hash_algorithm: HashAlgorithm,
}

/// The names `--hash-algorithm` takes.
impl clap::ValueEnum for HashAlgorithm {
    fn value_variants<'a>() -> &'a [Self] {
        &HashAlgorithm::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()))
    }
}

/// The `--help` heading of the options every mode shares.
const GLOBAL: &str = "Global options";

/// The version of the JSON documents' layout (`schema_version` in every
/// document): raised when a field changes meaning or is removed.
pub const SCHEMA_VERSION: u32 = 2;

/// eseutil-rs: ESEUTIL-compatible tools for ESE databases, logs and checkpoints.
///
/// Modes can be given as eseutil switches (/mh, /MH, -mh) or as subcommands
/// (mh). Options may be eseutil switches glued to their letter (/lC:\logs,
/// /r1A-2F) or GNU long options (--log-dir, --range).
#[derive(Debug, Parser)]
#[command(name = "eseutil-rs", version, about, long_about = None, disable_help_subcommand = true)]
pub struct Cli {
    /// Shared options.
    #[command(flatten)]
    pub common: Common,
    /// The mode.
    #[command(subcommand)]
    pub mode: Mode,
}

/// The modes (eseutil switch in brackets).
#[derive(Debug, Subcommand)]
pub enum Mode {
    /// [/mh] Dump a database header (also identifies logs, checkpoints, flush maps).
    Mh(mh::MhArgs),
    /// [/mk] Dump a checkpoint file.
    Mk(mk::MkArgs),
    /// [/mp] Dump a flush-map file (.jfm).
    Mp(mp::MpArgs),
    /// [/ml] Dump and verify a log file or a log sequence.
    Ml(ml::MlArgs),
    /// [/mm] Dump database metadata (catalog) with record counts.
    Mm(mm::DbArgs),
    /// [/ms] Dump database space usage per object.
    Ms(mm::DbArgs),
    /// [/k] Verify checksums of databases, logs and checkpoints; repair
    /// single-bit errors into a copy (--fix-ecc --output COPY).
    K(k::KArgs),
    /// [/g] Verify database structural integrity (read-only).
    G(mm::DbArgs),
    /// [/r] Soft recovery: replay the logs into databases rebuilt in --output.
    R(r::RArgs),
    /// [/cm] Dump a restore environment (restore.env, Exchange 2007+ format).
    Cm(cm::CmArgs),
    /// [/cc] Hard recovery: a restored backup replayed through its logs
    /// (and /f play-forward logs) into --output.
    Cc(cc::CcArgs),
    /// Say what recovery needs and would do: required logs, checkpoint,
    /// attached databases, missing or foreign files, the command to run.
    Plan(plan::PlanArgs),
    /// [/m /p] Dump one database page: header, tags, nodes (key, data,
    /// flags) and its bytes; -1 the header, 0 its shadow.
    Page(dump::PageArgs),
    /// [/mn] Dump every node of every page (--all: also flag-deleted
    /// nodes and freed pages).
    Nodes(dump::NodesArgs),
    /// [/mc] Space category of each page of a range: which tree uses it and
    /// how (root, internal, leaf, space tree), available, leaked, not owned.
    SpaceCategory(dump::SpaceCategoryArgs),
    /// Export every record of the tables as JSON Lines or CSV (no eseutil
    /// equivalent).
    Export(export::ExportArgs),
    /// Every row change the logs hold, as JSON Lines (or Timesketch
    /// JSONL), with its transaction's outcome (no eseutil equivalent).
    Timeline(timeline::TimelineArgs),
    /// Print a shell completion script (bash, zsh, fish) on standard output.
    Completions(gen::CompletionsArgs),
    /// Write a man page per binary and per mode into DIR, generated from
    /// these definitions (the main page is man/eseutil-rs.1).
    Manpages(gen::ManpagesArgs),
}

/// Run-time context shared by the modes.
pub struct Ctx {
    /// Shared options.
    pub common: Common,
    /// Resolved color decision.
    pub color: bool,
    /// Start of the operation, for the closing line.
    pub start: Instant,
    /// Set by a mode that completed but found damage: the closing line then
    /// reads "Operation terminated with error …" for this JET error while
    /// the mode's own exit status (DAMAGE) is kept.
    pub terminated: std::cell::Cell<Option<crate::error::Jet>>,
}

impl Ctx {
    /// Elapsed time: seconds, a dot and three digits of milliseconds.
    /// (eseutil's `EDBUTLGetTime` does not zero-pad the milliseconds, so
    /// 20 ms reads `0.20`; eseutil-rs prints `0.020`.)
    pub fn elapsed_text(&self) -> String {
        let ms = self.start.elapsed().as_millis();
        format!("{}.{:03}", ms / 1000, ms % 1000)
    }
}

/// The banner (eseutil's logo; suppressed by /o, --no-logo and --json).
pub fn banner() -> String {
    format!(
        "Extensible Storage Engine Utilities for Linux (eseutil-rs)\nVersion {}\nMIT License. Not a Microsoft product; output follows esentutl's layout.\n\n",
        env!("CARGO_PKG_VERSION")
    )
}

/// What a mode returns: its exit status (0 ok, 1 damage found).
pub type ModeResult = Result<u8, Error>;

/// Entry point of the `eseutil-rs` binary. `args` excludes the program name.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let translated = match compat::translate(&args) {
        Ok(t) => t,
        Err(msg) => {
            eprintln!("eseutil-rs: {msg} (-1003 JET_errInvalidParameter)");
            return exit::exit(exit::USAGE);
        }
    };
    let argv = std::iter::once(OsString::from("eseutil-rs")).chain(translated);
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            let _ = e.print();
            return exit::exit(code);
        }
    };
    run(cli)
}

/// Entry point of the per-mode binaries (`eseutil-mh` …): `mode` is put in
/// front of the arguments.
pub fn main_mode(mode: &str, args: Vec<OsString>) -> ExitCode {
    let mut v = vec![OsString::from(mode)];
    v.extend(args);
    main(v)
}

fn run(cli: Cli) -> ExitCode {
    match &cli.mode {
        Mode::Completions(a) => return gen::completions(a, &mut std::io::stdout().lock()),
        Mode::Manpages(a) => return gen::manpages(a),
        Mode::Export(a) => return export::main(a, &cli.common),
        Mode::Timeline(a) => return timeline::main(a, &cli.common),
        _ => {}
    }
    if cli.common.hash {
        crate::file::hash_tap::enable(cli.common.hash_algorithm);
    }
    let color = !cli.common.json && use_color(cli.common.color);
    let ctx = Ctx {
        common: cli.common.clone(),
        color,
        start: Instant::now(),
        terminated: std::cell::Cell::new(None),
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if !ctx.common.json && !ctx.common.no_logo {
        let _ = out.write_all(banner().as_bytes());
    }
    let result = match &cli.mode {
        Mode::Mh(a) => mh::run(a, &ctx, &mut out),
        Mode::Mk(a) => mk::run(a, &ctx, &mut out),
        Mode::Mp(a) => mp::run(a, &ctx, &mut out),
        Mode::Ml(a) => ml::run(a, &ctx, &mut out),
        Mode::Mm(a) => mm::run(a, &ctx, &mut out),
        Mode::Ms(a) => ms::run(a, &ctx, &mut out),
        Mode::K(a) => k::run(a, &ctx, &mut out),
        Mode::G(a) => g::run(a, &ctx, &mut out),
        Mode::R(a) => r::run(a, &ctx, &mut out),
        Mode::Cm(a) => cm::run(a, &ctx, &mut out),
        Mode::Cc(a) => cc::run(a, &ctx, &mut out),
        Mode::Plan(a) => plan::run(a, &ctx, &mut out),
        Mode::Page(a) => dump::run_page(a, &ctx, &mut out),
        Mode::Nodes(a) => dump::run_nodes(a, &ctx, &mut out),
        Mode::SpaceCategory(a) => dump::run_space_category(a, &ctx, &mut out),
        // Handled above, before the banner.
        Mode::Completions(_) | Mode::Manpages(_) | Mode::Export(_) | Mode::Timeline(_) => {
            Ok(exit::OK)
        }
    };
    let code = finish(&ctx, &mut out, result);
    let _ = out.flush();
    exit::exit(code)
}

/// Prints the closing line (text mode) or the JSON error document, and the
/// error message on stderr; returns the exit status.
pub fn finish(ctx: &Ctx, out: &mut dyn Write, result: ModeResult) -> u8 {
    if !ctx.common.json {
        for (p, a, h) in crate::file::hash_tap::finish() {
            let _ = writeln!(out, "{} (--hash): {h}  {}", a.name(), p.display());
        }
    }
    match result {
        Ok(code) => {
            if let (Some(j), false) = (ctx.terminated.get(), ctx.common.json) {
                let _ = write!(
                    out,
                    "Operation terminated with error {} ({}, {}) after {} seconds.\n\n",
                    j.code,
                    j.name,
                    j.description,
                    ctx.elapsed_text()
                );
            } else if !ctx.common.json {
                let _ = write!(
                    out,
                    "Operation completed successfully in {} seconds.\n\n",
                    ctx.elapsed_text()
                );
            }
            code
        }
        Err(e) if exit::is_closed_pipe(&e) => exit::OK,
        Err(e) => {
            let code = exit::code_for_error(&e);
            eprintln!("eseutil-rs: {e}");
            if let Some(h) = hint_for(&e) {
                eprintln!("eseutil-rs: hint: {h}");
            }
            if ctx.common.json && matches!(e, Error::Damage { .. }) {
                // The mode has printed its JSON report, which says it all.
            } else if ctx.common.json {
                let doc = serde_json::json!({
                    "schema_version": SCHEMA_VERSION,
                    "tool": "eseutil-rs",
                    "version": env!("CARGO_PKG_VERSION"),
                    "error": error_json(&e),
                    "exit_status": code,
                });
                let _ = writeln!(
                    out,
                    "{}",
                    serde_json::to_string_pretty(&doc).unwrap_or_default()
                );
            } else if let Some(j) = e.jet() {
                let _ = write!(
                    out,
                    "Operation terminated with error {} ({}, {}) after {} seconds.\n\n",
                    j.code,
                    j.name,
                    j.description,
                    ctx.elapsed_text()
                );
            } else {
                let _ = write!(
                    out,
                    "Operation terminated unsuccessfully after {} seconds.\n\n",
                    ctx.elapsed_text()
                );
            }
            code
        }
    }
}

/// A hint for errors people trip over: a Windows path (`C:\\logs`), a
/// trailing backslash, a folder given to a mode that reads one file.
pub fn hint_for(e: &Error) -> Option<String> {
    let Error::Io { path, source, .. } = e else {
        return None;
    };
    let text = path.to_string_lossy();
    let drive =
        text.len() >= 2 && text.as_bytes()[1] == b':' && text.as_bytes()[0].is_ascii_alphabetic();
    if source.kind() == std::io::ErrorKind::NotFound {
        if path
            .components()
            .any(|c| c.as_os_str().to_string_lossy().ends_with('\\'))
        {
            return Some(
                "a path ends in a backslash (`/l DIR\\`): on Linux folders are written without it (`/l DIR` or `/l DIR/`)".into(),
            );
        }
        if drive || text.contains('\\') {
            return Some(
                "this looks like a Windows path: eseutil-rs runs on Linux; give the folder the files were copied or mounted to, with `/` (e.g. /mnt/evidence/logs)".into(),
            );
        }
    }
    if path.is_dir() {
        return Some(format!(
            "{} is a folder: the modes that take a folder are /k, /ml, plan, /cm and /cc (a restore folder); this mode reads one file",
            path.display()
        ));
    }
    None
}

/// Inputs at least this large get a progress line on a terminal.
pub const PROGRESS_MIN_BYTES: u64 = 64 << 20;

/// A one-line progress bar on standard error, by bytes, for modes whose
/// library layer counts what it has read (`/g`: [`crate::db::Database::bytes_read`];
/// `/ml`: files done): only on a terminal, never with `--json`, and only for
/// inputs of [`PROGRESS_MIN_BYTES`] or more. With `counter`, a watcher thread
/// moves the bar until [`Activity::finish`] (or drop).
pub fn activity(
    ctx: &Ctx,
    label: &str,
    bytes: u64,
    counter: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
) -> Option<Activity> {
    use std::io::IsTerminal;
    if ctx.common.json || bytes < PROGRESS_MIN_BYTES || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = if counter.is_some() {
        let b = indicatif::ProgressBar::new(bytes);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        b
    } else {
        // Nothing to count: an activity line with the elapsed time.
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    };
    bar.set_message(format!("{label} ({} MiB)", bytes >> 20));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = counter.map(|c| {
        let (bar, stop) = (bar.clone(), stop.clone());
        std::thread::spawn(move || {
            use std::sync::atomic::Ordering::Relaxed;
            while !stop.load(Relaxed) {
                bar.set_position(c.load(Relaxed).min(bytes));
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        })
    });
    Some(Activity { bar, stop, watcher })
}

/// A progress bar from [`activity`] and its watcher thread.
pub struct Activity {
    /// The bar (callers without a counter advance it themselves).
    pub bar: indicatif::ProgressBar,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    watcher: Option<std::thread::JoinHandle<()>>,
}

impl Activity {
    /// Stops the watcher and clears the line.
    pub fn finish(mut self) {
        self.stop_watcher();
        self.bar.finish_and_clear();
    }

    fn stop_watcher(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(w) = self.watcher.take() {
            let _ = w.join();
        }
    }
}

impl Drop for Activity {
    fn drop(&mut self) {
        self.stop_watcher();
    }
}

/// An error writing to standard output.
pub(crate) fn stdout_err(e: std::io::Error) -> Error {
    Error::io(PathBuf::from("<stdout>"), e)
}

pub use crate::file::wrong_kind;

/// JSON form of an error.
pub fn error_json(e: &Error) -> serde_json::Value {
    let (file, offset) = match e {
        Error::Io { path, .. } => (Some(path.display().to_string()), None),
        Error::Format { path, err, .. } => (Some(path.display().to_string()), Some(err.offset)),
        _ => (None, None),
    };
    serde_json::json!({
        "message": e.to_string(),
        "kind": format!("{:?}", e.kind()),
        "file": file,
        "offset": offset,
        "jet": e.jet(),
        "hint": hint_for(e),
    })
}

/// `--hash`: the inputs read so far, as the documents list them.
fn input_hashes() -> Vec<serde_json::Value> {
    crate::file::hash_tap::finish()
        .into_iter()
        .map(|(p, a, h)| serde_json::json!({ "path": p, "algorithm": a, "hash": h }))
        .collect()
}

/// Writes a serializable report as pretty JSON followed by a newline.
pub fn write_json<T: serde::Serialize>(out: &mut dyn Write, v: &T) -> Result<(), Error> {
    /// Every document starts with the layout's version.
    #[derive(serde::Serialize)]
    struct Versioned<'a, T> {
        schema_version: u32,
        #[serde(flatten)]
        doc: &'a T,
        /// `--hash`: the inputs read for this document.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        input_hashes: Vec<serde_json::Value>,
    }
    let doc = Versioned {
        schema_version: SCHEMA_VERSION,
        doc: v,
        input_hashes: input_hashes(),
    };
    // Serialised straight into a buffer of its own: a large document (a
    // plan over thousands of logs) is never held whole as text.
    let mut w = std::io::BufWriter::with_capacity(64 * 1024, out);
    serde_json::to_writer_pretty(&mut w, &doc).map_err(|e| match e.io_error_kind() {
        Some(k) => stdout_err(std::io::Error::from(k)),
        None => Error::Usage(e.to_string()),
    })?;
    w.write_all(b"\n").map_err(stdout_err)?;
    w.flush().map_err(stdout_err)
}
