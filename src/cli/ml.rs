//! `/ml`: dump and verify a log file, or verify a log sequence.
//!
//! `/ml FILE` prints the header in esentutl's layout and the integrity
//! verdict (`LOG::ErrLGDumpLog`, `ese/_log/logdump.cxx` ~937–1380);
//! `/ml BASE` or `/ml FOLDER` verifies every generation in order and the
//! links between them (`ErrDUMPLog` ~585–760). `--records` (eseutil /v) lists
//! the records, `--stats` counts them, `--range A-B` (eseutil /r, /a) limits a
//! sequence to generations A..B (hex).

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;

use super::{write_json, Ctx, ModeResult};
use crate::error::{Error, Jet};
use crate::log::naming::{bases_in, is_base_name, parse_log_file_name};
use crate::log::set::{check_file, check_set_streamed, stats};
use crate::parse::checkpoint::{read_checkpoint_pair, CHECKPOINT_COPY_SIZE};
use crate::parse::primitives::Lgpos;
use crate::render;
use crate::report::ml::{IntegrityReport, MlFileReport, RecordLine, SetReportBuilder};

/// Arguments of `/ml`.
#[derive(Debug, Args)]
pub struct MlArgs {
    /// A log file (`edb.log`, `E0000000012.log`), a 3-character base name
    /// (`edb`, `/logs/E00`) or a folder.
    pub target: PathBuf,
    /// Limit a sequence to generations A-B, hexadecimal (eseutil /r, /a).
    #[arg(long, value_name = "A-B")]
    pub range: Option<String>,
    /// List every record, one line each (JSON Lines with --json); also --verbose.
    #[arg(long)]
    pub records: bool,
    /// Count records per type, per database and per transaction outcome.
    #[arg(long)]
    pub stats: bool,
}

use super::stdout_err as io_err;

/// Parses `A-B` (hex) or `A` into an inclusive generation range.
pub fn parse_range(s: &str) -> Result<(u32, u32), Error> {
    let bad = || Error::Usage(format!("invalid generation range `{s}` (expected hex A-B)"));
    let h = |t: &str| {
        let t = t.trim().trim_start_matches("0x").trim_start_matches("0X");
        u32::from_str_radix(t, 16).map_err(|_| bad())
    };
    let (a, b) = match s.split_once('-') {
        Some((a, b)) if b.trim().is_empty() => (h(a)?, u32::MAX),
        Some((a, b)) => (h(a)?, h(b)?),
        None => {
            let a = h(s)?;
            (a, a)
        }
    };
    if a > b {
        return Err(bad());
    }
    Ok((a, b))
}

/// The checkpoint position from `<base>.jcp` or `<base>.chk` in `dir`.
fn checkpoint_of(dir: &Path, base: &str) -> Option<Lgpos> {
    for ext in ["jcp", "chk"] {
        let p = dir.join(format!("{base}.{ext}"));
        if let Ok(b) = crate::file::read_prefix(&p, 2 * CHECKPOINT_COPY_SIZE) {
            if b.len() >= CHECKPOINT_COPY_SIZE {
                if let Ok(pair) = read_checkpoint_pair(&b) {
                    return Some(pair.checkpoint().lgpos_checkpoint);
                }
            }
        }
    }
    None
}

/// Runs `/ml`.
pub fn run(args: &MlArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let range = args.range.as_deref().map(parse_range).transpose()?;
    let t = &args.target;
    if !ctx.common.json {
        write!(out, "Initiating FILE DUMP mode...\n\n").map_err(io_err)?;
    }
    if t.is_file() {
        return single(args, ctx, out);
    }
    let (dir, bases) = if t.is_dir() {
        let b = bases_in(t)?;
        if b.is_empty() {
            return Err(Error::io(
                t,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no log files in this folder"),
            ));
        }
        (t.clone(), b)
    } else {
        let name = t.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let parent = t
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        if !is_base_name(name) || !parent.is_dir() {
            return Err(Error::io(
                t,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such log file, base name or folder",
                ),
            ));
        }
        (parent, vec![name.to_string()])
    };
    let mut code = super::exit::OK;
    let mut first_err: Option<Jet> = None;
    for base in &bases {
        let bytes = crate::log::naming::list_logs(&dir, base)
            .map(|(l, _)| {
                l.iter()
                    .filter_map(|f| std::fs::metadata(&f.path).ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0);
        let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let bar = super::activity(
            ctx,
            &format!("Verifying logs of {base}"),
            bytes,
            Some(done.clone()),
        );
        let verdict = verify_set(
            &dir,
            base,
            range,
            ctx,
            bar.as_ref().map(|a| &a.bar),
            &done,
            out,
        );
        if let Some(b) = bar {
            b.finish();
        }
        let (this, err) = verdict?;
        code = code.max(this);
        if first_err.is_none() {
            first_err = err;
        }
    }
    if code != super::exit::OK {
        ctx.terminated
            .set(first_err.or(Some(Jet::LOG_FILE_CORRUPT)));
    }
    Ok(code)
}

/// Verifies one sequence a generation at a time: text is written per file
/// as it completes; the JSON document is gathered from small per-file
/// summaries. Returns the exit status and the first JET error of the set.
fn verify_set(
    dir: &Path,
    base: &str,
    range: Option<(u32, u32)>,
    ctx: &Ctx,
    bar: Option<&indicatif::ProgressBar>,
    done: &std::sync::atomic::AtomicU64,
    out: &mut dyn Write,
) -> Result<(u8, Option<Jet>), Error> {
    let json = ctx.common.json;
    if !json {
        out.write_all(render::ml::set_head(base, range).as_bytes())
            .map_err(io_err)?;
    }
    let mut doc = SetReportBuilder::default();
    let v = check_set_streamed(dir, base, range, |step| {
        if let crate::log::set::SetStep::File(f, _) = &step {
            let len = std::fs::metadata(&f.path).map_or(0, |m| m.len());
            done.fetch_add(len, std::sync::atomic::Ordering::Relaxed);
        }
        if json {
            doc.add(&step);
            return Ok(());
        }
        let text = render::ml::set_step(&step, ctx.color);
        match bar {
            Some(b) => b.suspend(|| out.write_all(text.as_bytes())),
            None => out.write_all(text.as_bytes()),
        }
        .map_err(io_err)
    })?;
    let this = if v.ok {
        super::exit::OK
    } else {
        super::exit::DAMAGE
    };
    if json {
        write_json(
            out,
            &doc.finish(base, dir, range, v.ok, v.backup_sets.clone(), this),
        )?;
    } else {
        let mut tail = render::ml::set_backups(&v.backup_sets);
        tail.push_str(&render::ml::set_tail(v.ok, ctx.color));
        out.write_all(tail.as_bytes()).map_err(io_err)?;
    }
    Ok((this, v.first_error))
}

fn single(args: &MlArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let path = &args.target;
    let shown = path.display().to_string();
    // Identify by header, not name: another ESE file kind gets a pointer to
    // the mode that reads it.
    let mut input = crate::file::Input::open(path)?;
    let kind = crate::file::identify(&input.probe()?);
    use crate::file::FileKind;
    if !matches!(kind, FileKind::Log | FileKind::Unknown) {
        return Err(super::wrong_kind(path, kind, "a log file"));
    }
    let bar = super::activity(ctx, "Verifying log", input.len, None);
    drop(input);
    let c = check_file(path);
    if let Some(b) = bar {
        b.finish();
    }
    let c = c?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let fname = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let base = parse_log_file_name(fname)
        .map(|n| n.base)
        .unwrap_or_else(|| fname.chars().take(3).collect());
    let checkpoint = checkpoint_of(&dir, &base);
    let damaged = c.damaged();
    let code = if damaged {
        super::exit::DAMAGE
    } else {
        super::exit::OK
    };
    if let Some(e) = c.error() {
        ctx.terminated.set(Some(e.jet));
    } else if damaged {
        ctx.terminated.set(Some(Jet::LOG_FILE_CORRUPT));
    }
    let show_records = args.records || ctx.common.verbose;
    let st = if args.stats {
        c.walk.as_ref().map(stats)
    } else {
        None
    };
    if ctx.common.json {
        if show_records {
            if let Some(w) = &c.walk {
                for r in &w.records {
                    let line = serde_json::to_string(&RecordLine::new(r))
                        .map_err(|e| Error::Usage(e.to_string()))?;
                    writeln!(out, "{line}").map_err(io_err)?;
                }
                if !w.torn.is_empty() {
                    let v = serde_json::json!({ "torn_records": w.torn });
                    writeln!(out, "{v}").map_err(io_err)?;
                }
            }
            if let Some(e) = c.error() {
                let v = serde_json::json!({ "error": crate::report::ml::ErrorReport::from(e) });
                writeln!(out, "{v}").map_err(io_err)?;
            }
            if let Some(st) = &st {
                let v = serde_json::json!({ "stats": st });
                writeln!(out, "{v}").map_err(io_err)?;
            }
            return Ok(code);
        }
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let rep = MlFileReport {
            tool: "eseutil-rs",
            version: env!("CARGO_PKG_VERSION"),
            mode: "ml",
            file: shown,
            name: c.name.clone(),
            base,
            file_size: len,
            checkpoint,
            format_version: c.scan.as_ref().map(|s| s.header.version_text()),
            header: c.scan.as_ref().map(|s| s.header.clone()),
            integrity: IntegrityReport::new(&c, true),
            stats: st,
            exit_status: code,
        };
        write_json(out, &rep)?;
        return Ok(code);
    }
    let mut text = String::new();
    match &c.scan {
        Some(s) => text.push_str(&render::ml::header(&base, &shown, checkpoint, &s.header)),
        None => {
            text.push_str(&format!("      Base name: {base}\n      Log file: {shown}"));
        }
    }
    if show_records {
        if let Some(w) = &c.walk {
            text.push('\n');
            out.write_all(text.as_bytes()).map_err(io_err)?;
            text.clear();
            write_record_lines(w, out)?;
        }
    }
    if let Some(st) = &st {
        text.push_str(&render::ml::stats(st));
    }
    text.push_str(&render::ml::verdict(&c, &shown, ctx.color));
    text.push('\n');
    out.write_all(text.as_bytes()).map_err(io_err)?;
    Ok(code)
}

/// `/ml FILE --records`: one line per record, written as it is rendered; a
/// torn record before the first record at or after its lgpos.
fn write_record_lines(w: &crate::log::set::RecordWalk, out: &mut dyn Write) -> Result<(), Error> {
    let mut out = std::io::BufWriter::new(out);
    let mut torn = w.torn.iter().peekable();
    for r in &w.records {
        while let Some(t) = torn.next_if(|t| t.lgpos <= r.lgpos) {
            writeln!(out, "{}", render::ml::torn_line(t)).map_err(io_err)?;
        }
        let rec = r.decode().ok();
        writeln!(out, "{}", render::ml::record_line(r, rec.as_ref())).map_err(io_err)?;
    }
    for t in torn {
        writeln!(out, "{}", render::ml::torn_line(t)).map_err(io_err)?;
    }
    out.flush().map_err(io_err)
}
