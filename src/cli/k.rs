//! `/k`: verify the checksums of databases, checkpoints and log files.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::json_stream::JsonArrayDoc;
use super::{error_json, Ctx, ModeResult};
use crate::checksum_scan::{fix_ecc, scan_database, PageResult, ScanObserver, ScanOptions};
use crate::error::{Error, FormatError, Jet};
use crate::file::{identify, FileKind, Input, PROBE_SIZE};
use crate::log::set::{scan_files_streamed, ScannedLog};
use crate::parse::checkpoint::CHECKPOINT_COPY_SIZE;
use crate::parse::log_header::{parse_log_header_fields, LOG_HEADER_SIZE};
use crate::render;
use crate::report::checksum_scan::{
    CkptReport, DbReport, KFile, KHead, KTail, LogIntegrity, LogReport,
};

/// Arguments of `/k`.
#[derive(Debug, Args)]
pub struct KArgs {
    /// Databases, checkpoints, log files, folders (every file in a folder
    /// is identified and checked) or log base names (`DIR/edb`: its logs).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Check only this page (eseutil /p; -1 and 0 are the header pages).
    #[arg(long, allow_hyphen_values = true)]
    pub page: Option<i64>,
    /// Page size to use instead of the header's (eseutil /2 /4 /8 /16 /32).
    #[arg(long)]
    pub page_size: Option<usize>,
    /// Correct every single-bit (correctable) page error; needs --output
    /// COPY, or --in-place.
    #[arg(long)]
    pub fix_ecc: bool,
    /// Where --fix-ecc writes the corrected copy (never the input).
    #[arg(long, requires = "fix_ecc")]
    pub output: Option<PathBuf>,
    /// Let --fix-ecc replace an existing --output file that is not an
    /// earlier corrected copy of the same database.
    #[arg(long, requires = "output")]
    pub force: bool,
    /// Let --fix-ecc modify the input file itself (must be writable).
    #[arg(long, requires = "fix_ecc", conflicts_with = "output")]
    pub in_place: bool,
    /// Reading and verifying threads (default: one per core, at most 4).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Bytes per read (default 1 MiB).
    #[arg(long, hide = true)]
    pub chunk_size: Option<usize>,
    /// eseutil /t (temporary database name): accepted and ignored, no
    /// temporary database is created.
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    pub temp_db: Option<String>,
    /// eseutil /e (skip the database): accepted and ignored.
    #[arg(long)]
    pub skip_db: bool,
    /// eseutil /i (skip the streaming file): accepted and ignored.
    #[arg(long)]
    pub skip_streaming: bool,
}

fn io_err(e: std::io::Error) -> Error {
    Error::io(PathBuf::from("<stdout>"), e)
}

/// Observer that draws a progress bar and prints damaged pages on stderr.
struct CliObserver {
    bar: Option<ProgressBar>,
    print: bool,
}

impl CliObserver {
    fn new(ctx: &Ctx, total: u64) -> CliObserver {
        let large = total >= super::PROGRESS_MIN_BYTES;
        let bar = (large && !ctx.common.json && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::new(total);
            b.set_style(
                ProgressStyle::with_template(
                    "Checksum Status {bar:50} {percent:>3}% {binary_bytes_per_sec}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        CliObserver {
            bar,
            print: !ctx.common.json,
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

impl ScanObserver for CliObserver {
    fn progress(&mut self, done: u64, total: u64) {
        if let Some(b) = &self.bar {
            b.set_length(total);
            b.set_position(done);
        }
    }

    fn damaged(&mut self, r: &PageResult) {
        if !self.print {
            return;
        }
        let msg = format!(
            "{}\n{}",
            render::checksum_scan::page_message(r),
            render::checksum_scan::page_detail(r)
        );
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{msg}")),
            None => eprintln!("{msg}"),
        }
    }
}

/// Expands folders into their files (sorted, not recursive) and a base
/// name (`DIR/edb`, no such file) into its logs in generation order, the
/// current log last.
fn expand(files: &[PathBuf]) -> Result<Vec<(PathBuf, bool)>, Error> {
    let mut out = Vec::new();
    for f in files {
        if let Some((dir, base)) = base_name(f) {
            let (logs, _) = crate::log::naming::list_logs(&dir, &base)?;
            if logs.is_empty() {
                return Err(Error::io(
                    f,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no log files of this base name",
                    ),
                ));
            }
            out.extend(logs.into_iter().map(|l| (l.path, false)));
        } else if f.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(f)
                .map_err(|e| Error::io(f, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            v.sort();
            out.extend(v.into_iter().map(|p| (p, false)));
        } else {
            out.push((f.clone(), true));
        }
    }
    Ok(out)
}

/// `DIR/edb`: a path that is no file or folder and whose name is a log
/// base name, in an existing folder.
fn base_name(f: &Path) -> Option<(PathBuf, String)> {
    let name = f.file_name()?.to_str()?;
    let dir = f
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    (!f.exists() && crate::log::naming::is_base_name(name) && dir.is_dir())
        .then(|| (dir, name.to_string()))
}

fn check_fix_args(args: &KArgs, n: usize) -> Result<(), Error> {
    if !args.fix_ecc {
        return Ok(());
    }
    if n != 1 || args.files[0].is_dir() || base_name(&args.files[0]).is_some() {
        return Err(Error::Usage(
            "--fix-ecc works on exactly one database file".into(),
        ));
    }
    if args.output.is_none() && !args.in_place {
        return Err(Error::Usage(
            "--fix-ecc needs --output COPY (or --in-place to modify the input)".into(),
        ));
    }
    if args.in_place {
        let meta = std::fs::metadata(&args.files[0]).map_err(|e| Error::io(&args.files[0], e))?;
        if meta.permissions().readonly() {
            return Err(Error::Usage(format!(
                "--in-place: {} is not writable",
                args.files[0].display()
            )));
        }
    }
    if args.page.is_some() {
        return Err(Error::Usage(
            "--fix-ecc cannot be combined with --page".into(),
        ));
    }
    if let Some(copy) = &args.output {
        // Only an earlier corrected copy of the same database is replaced.
        use crate::recovery::output::{check_replaceable, check_writable_dir, database_signature};
        let parent = copy.parent().filter(|p| !p.as_os_str().is_empty());
        check_writable_dir(parent.unwrap_or(Path::new(".")))?;
        let sig: Vec<_> = database_signature(&args.files[0]).into_iter().collect();
        check_replaceable(copy, &sig, args.force)?;
    }
    Ok(())
}

/// Outcome of one file: the report entry and the JET error if damaged.
struct Checked {
    entry: KFile,
    damage: Option<Jet>,
}

fn check_database(
    args: &KArgs,
    ctx: &Ctx,
    path: &Path,
    out: &mut dyn Write,
) -> Result<Checked, Error> {
    let shown = path.display().to_string();
    if !ctx.common.json {
        out.write_all(render::checksum_scan::db_intro(&shown).as_bytes())
            .map_err(io_err)?;
        let _ = out.flush();
    }
    let opts = ScanOptions {
        page_size: args.page_size,
        page: args.page,
        workers: args.threads.unwrap_or(0),
        chunk_size: args
            .chunk_size
            .unwrap_or(crate::checksum_scan::DEFAULT_CHUNK),
        ..Default::default()
    };
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let mut obs = CliObserver::new(ctx, len);
    let scan = scan_database(path, &opts, &mut obs);
    obs.finish();
    let scan = scan?;
    let fix = if args.fix_ecc {
        Some(fix_ecc(&scan, args.output.as_deref())?)
    } else {
        None
    };
    if !ctx.common.json {
        out.write_all(render::checksum_scan::db_summary(&scan).as_bytes())
            .map_err(io_err)?;
        if let Some(f) = &fix {
            out.write_all(render::checksum_scan::fix_summary(f).as_bytes())
                .map_err(io_err)?;
        }
    }
    let damage = scan.failed().then_some(Jet::READ_VERIFY_FAILURE);
    Ok(Checked {
        entry: KFile::Database(DbReport::new(shown, &scan, fix)),
        damage,
    })
}

fn check_checkpoint(ctx: &Ctx, input: &mut Input, out: &mut dyn Write) -> Result<Checked, Error> {
    let shown = input.path.display().to_string();
    let bytes = input.read_at(0, 2 * CHECKPOINT_COPY_SIZE)?;
    let r = CkptReport::two_copies(
        shown.clone(),
        input.len,
        &bytes,
        CHECKPOINT_COPY_SIZE,
        false,
    );
    if !ctx.common.json {
        out.write_all(render::checksum_scan::checkpoint(&shown, &r).as_bytes())
            .map_err(io_err)?;
    }
    Ok(Checked {
        damage: r.failed.then_some(Jet::READ_VERIFY_FAILURE),
        entry: KFile::Checkpoint(r),
    })
}

/// A `.pat` patch file: both copies of the patch page verify and agree.
fn check_patch_file(ctx: &Ctx, input: &mut Input, out: &mut dyn Write) -> Result<Checked, Error> {
    let shown = input.path.display().to_string();
    let bytes = input.read_at(0, 2 * 32768)?;
    let f = crate::parse::patch::read_patch_file(&bytes, input.len);
    let ps = f.as_ref().map(|f| f.page_size).unwrap_or(bytes.len() / 2);
    let r = CkptReport::two_copies(shown.clone(), input.len, &bytes, ps, f.is_err());
    if !ctx.common.json {
        out.write_all(render::checksum_scan::patch_file(&shown, &r).as_bytes())
            .map_err(io_err)?;
    }
    Ok(Checked {
        damage: r.failed.then_some(Jet::READ_VERIFY_FAILURE),
        entry: KFile::Patch(r),
    })
}

/// The report of one log file read and scanned by the read-ahead pipeline
/// ([`scan_files_streamed`]).
fn check_log(
    ctx: &Ctx,
    path: &Path,
    log: ScannedLog<'_>,
    out: &mut dyn Write,
) -> Result<Checked, Error> {
    let shown = path.display().to_string();
    let ScannedLog {
        bytes,
        file_size,
        scan,
    } = log;
    let h = parse_log_header_fields(bytes).map_err(|e| Error::corrupt(path, e))?;
    let head = &bytes[..LOG_HEADER_SIZE];
    let mut integrity = LogIntegrity::new(head, &h, scan.as_ref());
    // Records a restart abandoned are reported, not counted as damage.
    if let Ok(s) = &scan {
        if s.error.is_none() {
            integrity.torn_records = crate::log::set::walk_records(bytes, s).torn;
        }
    }
    let failed = integrity.failed();
    if !ctx.common.json {
        for m in render::checksum_scan::log_messages(&integrity) {
            eprintln!("{m}");
        }
        out.write_all(render::checksum_scan::log(&shown, &integrity).as_bytes())
            .map_err(io_err)?;
        let _ = out.flush();
    }
    let error = match &scan {
        Ok(s) => s.error.as_ref(),
        Err(e) => Some(e),
    };
    let damage = error
        .map(|e| e.jet)
        .or(failed.then_some(Jet::LOG_FILE_CORRUPT));
    Ok(Checked {
        entry: KFile::Log(LogReport {
            file: shown,
            file_size,
            integrity,
            failed,
        }),
        damage,
    })
}

/// Checks a run of log files one generation at a time through the
/// read-ahead pipeline of the log modes: each file is reported (text, or
/// its JSON array item) as it completes; memory is that of a few files
/// whatever the number of logs.
fn check_logs(
    ctx: &Ctx,
    paths: &[&Path],
    tally: &mut Tally,
    out: &mut dyn Write,
) -> Result<(), Error> {
    scan_files_streamed(paths, |path, log| {
        let checked = log.and_then(|l| check_log(ctx, path, l, &mut *out));
        tally.add(path, checked, &mut *out)
    })
}

fn check_one(
    args: &KArgs,
    ctx: &Ctx,
    path: &Path,
    explicit: bool,
    out: &mut dyn Write,
) -> Result<Checked, Error> {
    let mut input = Input::open(path)?;
    let probe = input.read_at(0, PROBE_SIZE)?;
    let mut kind = identify(&probe);
    if args.page_size.is_some() && matches!(kind, FileKind::Unknown | FileKind::Blank) && explicit {
        kind = FileKind::Database;
    }
    let shown = path.display().to_string();
    let skip = |reason: String| Checked {
        entry: KFile::Skipped {
            file: shown.clone(),
            reason,
        },
        damage: None,
    };
    match kind {
        FileKind::Database => {
            drop(input);
            check_database(args, ctx, path, out)
        }
        FileKind::Checkpoint => check_checkpoint(ctx, &mut input, out),
        FileKind::Patch => check_patch_file(ctx, &mut input, out),
        FileKind::Log => {
            drop(input);
            let mut one = None;
            scan_files_streamed(&[path], |p, log| {
                one = Some(log.and_then(|l| check_log(ctx, p, l, &mut *out)));
                Ok(())
            })?;
            one.unwrap_or_else(|| Err(Error::io(path, std::io::Error::other("log not read"))))
        }
        FileKind::TempDatabase => {
            if !ctx.common.json {
                writeln!(
                    out,
                    "        Database: {shown}\n\nThis is a temporary database. Checksums are not maintained for such databases.\n"
                )
                .map_err(io_err)?;
            }
            Ok(skip("temporary database: checksums are not maintained".into()))
        }
        other if explicit && args.files.len() == 1 => Err(Error::not_ese(
            path,
            FormatError::new(
                667,
                Jet::FILE_INVALID_TYPE,
                format!(
                    "this is {}; /k checks databases, checkpoints and log files (give --page-size to force a database scan)",
                    other.describe()
                ),
            ),
        )),
        other => {
            if !ctx.common.json {
                writeln!(out, "Skipping {shown}: {}\n", other.describe()).map_err(io_err)?;
            }
            Ok(skip(format!("{} (not checked by /k)", other.describe())))
        }
    }
}

/// How many of `files`, from the first, are log files (by their header):
/// a run that goes through the read-ahead pipeline together.
fn leading_logs(files: &[(PathBuf, bool)]) -> usize {
    files
        .iter()
        .take_while(|(p, _)| {
            let probe = Input::open(p).and_then(|mut i| i.read_at(0, PROBE_SIZE));
            probe.is_ok_and(|b| identify(&b) == FileKind::Log)
        })
        .count()
}

/// What `/k` has found so far; under `--json` each file's entry is written
/// as it completes (one document, its `files` array streamed).
struct Tally {
    single: bool,
    json: bool,
    doc: Option<JsonArrayDoc>,
    first_jet: Option<Jet>,
    damaged_files: usize,
    errors: usize,
}

impl Tally {
    /// Counts one file's outcome and writes its JSON entry. With a single
    /// input its error is the run's.
    fn add(
        &mut self,
        path: &Path,
        r: Result<Checked, Error>,
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let entry = match r {
            Ok(c) => {
                if let Some(j) = c.damage {
                    self.damaged_files += 1;
                    self.first_jet.get_or_insert(j);
                }
                c.entry
            }
            Err(e) if self.single => return Err(e),
            Err(e) => {
                self.errors += 1;
                eprintln!("eseutil-rs: {e}");
                self.first_jet
                    .get_or_insert(e.jet().unwrap_or(Jet::DISK_IO));
                KFile::Error {
                    file: path.display().to_string(),
                    error: error_json(&e),
                }
            }
        };
        if self.json {
            self.begun(out)?.item(out, &entry)?;
        }
        Ok(())
    }

    /// The document, its head written on first use.
    fn begun(&mut self, out: &mut dyn Write) -> Result<&mut JsonArrayDoc, Error> {
        if self.doc.is_none() {
            let head = KHead {
                tool: "eseutil-rs",
                version: env!("CARGO_PKG_VERSION"),
                mode: "k",
            };
            self.doc = Some(JsonArrayDoc::begin(out, &head, "files")?);
        }
        Ok(self.doc.as_mut().expect("begun above"))
    }

    /// Closes the document; the run's verdict.
    fn finish(mut self, out: &mut dyn Write) -> ModeResult {
        let bad = self.damaged_files + self.errors > 0;
        if self.json {
            let tail = KTail {
                damaged: bad,
                exit_status: if bad {
                    super::exit::DAMAGE
                } else {
                    super::exit::OK
                },
            };
            self.begun(out)?;
            if let Some(doc) = self.doc.take() {
                doc.end(out, &tail)?;
            }
        }
        if !bad {
            return Ok(super::exit::OK);
        }
        let mut what = Vec::new();
        if self.damaged_files > 0 {
            what.push(format!(
                "{} file(s) failed checksum verification",
                self.damaged_files
            ));
        }
        if self.errors > 0 {
            what.push(format!("{} file(s) could not be checked", self.errors));
        }
        Err(Error::Damage {
            jet: self.first_jet.unwrap_or(Jet::READ_VERIFY_FAILURE),
            detail: what.join(", "),
        })
    }
}

/// Runs `/k`: files in order, each run of log files streamed.
pub fn run(args: &KArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    check_fix_args(args, args.files.len())?;
    let files = expand(&args.files)?;
    if !ctx.common.json {
        out.write_all(render::checksum_scan::BANNER.as_bytes())
            .map_err(io_err)?;
    }
    let mut tally = Tally {
        single: files.len() == 1,
        json: ctx.common.json,
        doc: None,
        first_jet: None,
        damaged_files: 0,
        errors: 0,
    };
    let mut i = 0;
    while i < files.len() {
        let logs = if files.len() > 1 {
            leading_logs(&files[i..])
        } else {
            0
        };
        if logs > 0 {
            let paths: Vec<&Path> = files[i..i + logs]
                .iter()
                .map(|(p, _)| p.as_path())
                .collect();
            check_logs(ctx, &paths, &mut tally, out)?;
            i += logs;
            continue;
        }
        let (path, explicit) = &files[i];
        let r = check_one(args, ctx, path, *explicit, out);
        tally.add(path, r, out)?;
        i += 1;
    }
    tally.finish(out)
}
