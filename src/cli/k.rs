//! `/k`: verify the checksums of databases, checkpoints and log files.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use super::{error_json, write_json, Ctx, ModeResult};
use crate::checksum_scan::{fix_ecc, scan_database, PageResult, ScanObserver, ScanOptions};
use crate::error::{Error, FormatError, Jet};
use crate::file::{identify, FileKind, Input, PROBE_SIZE};
use crate::log::scan::{read_log_bytes, scan_log_sized, LogBytes};
use crate::parse::checkpoint::CHECKPOINT_COPY_SIZE;
use crate::parse::log_header::{parse_log_header_fields, LOG_HEADER_SIZE};
use crate::render;
use crate::report::checksum_scan::{CkptReport, DbReport, KFile, KReport, LogIntegrity, LogReport};

/// Arguments of `/k`.
#[derive(Debug, Args)]
pub struct KArgs {
    /// Databases, checkpoints, log files, or folders (every file in a
    /// folder is identified and checked).
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
    /// Verifying threads (default: one per core, at most 8).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Bytes per read (default 2 MiB).
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

/// Expands folders into their files (sorted, not recursive).
fn expand(files: &[PathBuf]) -> Result<Vec<(PathBuf, bool)>, Error> {
    let mut out = Vec::new();
    for f in files {
        if f.is_dir() {
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

fn check_fix_args(args: &KArgs, n: usize) -> Result<(), Error> {
    if !args.fix_ecc {
        return Ok(());
    }
    if n != 1 || args.files[0].is_dir() {
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

fn check_log(ctx: &Ctx, input: &mut Input, out: &mut dyn Write) -> Result<Checked, Error> {
    let shown = input.path.display().to_string();
    let LogBytes {
        mut bytes,
        file_size,
    } = read_log_bytes(input)?;
    let h = parse_log_header_fields(&bytes).map_err(|e| Error::corrupt(&input.path, e))?;
    let head = bytes[..LOG_HEADER_SIZE].to_vec();
    let scan = scan_log_sized(&mut bytes, file_size);
    let mut integrity = LogIntegrity::new(&head, &h, scan.as_ref());
    // Records a restart abandoned are reported, not counted as damage.
    if let Ok(s) = &scan {
        if s.error.is_none() {
            integrity.torn_records = crate::log::set::walk_records(&bytes, s).torn;
        }
    }
    let failed = integrity.failed();
    if !ctx.common.json {
        for m in render::checksum_scan::log_messages(&integrity) {
            eprintln!("{m}");
        }
        out.write_all(render::checksum_scan::log(&shown, &integrity).as_bytes())
            .map_err(io_err)?;
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
        FileKind::Log => check_log(ctx, &mut input, out),
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

/// Runs `/k`.
pub fn run(args: &KArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    check_fix_args(args, args.files.len())?;
    let files = expand(&args.files)?;
    if !ctx.common.json {
        out.write_all(render::checksum_scan::BANNER.as_bytes())
            .map_err(io_err)?;
    }
    let single = files.len() == 1;
    let mut entries = Vec::new();
    let mut first_jet: Option<Jet> = None;
    let mut damaged_files = 0usize;
    let mut errors = 0usize;
    for (path, explicit) in &files {
        match check_one(args, ctx, path, *explicit, out) {
            Ok(c) => {
                if let Some(j) = c.damage {
                    damaged_files += 1;
                    first_jet.get_or_insert(j);
                }
                entries.push(c.entry);
            }
            Err(e) if single => return Err(e),
            Err(e) => {
                errors += 1;
                eprintln!("eseutil-rs: {e}");
                entries.push(KFile::Error {
                    file: path.display().to_string(),
                    error: error_json(&e),
                });
                first_jet.get_or_insert(e.jet().unwrap_or(Jet::DISK_IO));
            }
        }
    }
    let bad = damaged_files + errors > 0;
    if ctx.common.json {
        let doc = KReport {
            tool: "eseutil-rs",
            version: env!("CARGO_PKG_VERSION"),
            mode: "k",
            files: entries,
            damaged: bad,
            exit_status: if bad {
                super::exit::DAMAGE
            } else {
                super::exit::OK
            },
        };
        write_json(out, &doc)?;
    }
    if bad {
        let jet = first_jet.unwrap_or(Jet::READ_VERIFY_FAILURE);
        let mut what = Vec::new();
        if damaged_files > 0 {
            what.push(format!(
                "{damaged_files} file(s) failed checksum verification"
            ));
        }
        if errors > 0 {
            what.push(format!("{errors} file(s) could not be checked"));
        }
        return Err(Error::Damage {
            jet,
            detail: what.join(", "),
        });
    }
    Ok(super::exit::OK)
}
