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

use super::json_stream::JsonArrayDoc;
use super::{write_json, Ctx, ModeResult};
use crate::error::{Error, Jet};
use crate::log::naming::{bases_in, is_base_name, parse_log_file_name};
use crate::log::set::{check_file, check_set_streamed_without_bytes, stats, SetStep};
use crate::parse::checkpoint::{read_checkpoint_pair, CHECKPOINT_COPY_SIZE};
use crate::parse::primitives::Lgpos;
use crate::render;
use crate::report::log_dump::{
    IntegrityReport, MlFileReport, MlSetHead, MlSetTail, RecordLine, SetFileReport,
};

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
    /// Write every record as CSV into FILE (eseutil /c), one row per
    /// `--records --json` line; for a base name or folder, every generation
    /// of --range. An existing FILE is refused unless --force.
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// With --csv: replace an existing FILE.
    #[arg(long, requires = "csv")]
    pub force: bool,
}

use super::stdout_err as io_err;

/// Parses a generation range as eseutil's `/r` does (`A-B` or `A`, hex;
/// see [`super::compat::gen_range`]): `A` alone, or an end of 0, runs to the
/// last generation; a start of 0 means the first.
pub fn parse_range(s: &str) -> Result<(u32, u32), Error> {
    let (a, b) = super::compat::gen_range(s).ok_or_else(|| {
        Error::Usage(format!("invalid generation range `{s}` (expected hex A-B)"))
    })?;
    Ok((a.max(1), b.unwrap_or(u32::MAX)))
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
    if let Some(csv) = &args.csv {
        return write_csv(t, csv, args.force, range, ctx, out);
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
/// as it completes, and so is each file's item of the JSON document's
/// `files` array. Returns the exit status and the first JET error of the set.
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
        out.write_all(render::log_dump::set_head(base, range).as_bytes())
            .map_err(io_err)?;
    }
    let mut doc: Option<JsonArrayDoc> = None;
    let mut missing = Vec::new();
    let v = check_set_streamed_without_bytes(dir, base, range, |step| {
        if let crate::log::set::SetStep::File(f, _) = &step {
            let len = std::fs::metadata(&f.path).map_or(0, |m| m.len());
            done.fetch_add(len, std::sync::atomic::Ordering::Relaxed);
        }
        if json {
            return match &step {
                SetStep::File(f, issues) => {
                    let d = match doc.as_mut() {
                        Some(d) => d,
                        None => doc.insert(JsonArrayDoc::begin(
                            &mut *out,
                            &set_head(dir, base, range),
                            "files",
                        )?),
                    };
                    d.item(&mut *out, &SetFileReport::new(f, issues))
                }
                SetStep::Missing(i) => {
                    missing.push(i.clone());
                    Ok(())
                }
            };
        }
        let text = render::log_dump::set_step(&step, ctx.color);
        match bar {
            Some(b) => b.suspend(|| out.write_all(text.as_bytes())),
            None => out.write_all(text.as_bytes()),
        }
        .map_err(io_err)
    });
    if !json {
        let v = v?;
        let mut tail = render::log_dump::set_backups(&v.backup_sets);
        tail.push_str(&render::log_dump::set_tail(v.ok, ctx.color));
        out.write_all(tail.as_bytes()).map_err(io_err)?;
        return Ok((set_code(v.ok), v.first_error));
    }
    let (v, error) = match (v, doc.is_some()) {
        (Ok(v), _) => (v, None),
        (Err(e), false) => return Err(e),
        // Files already written: the document is closed with the error.
        (Err(e), true) => {
            eprintln!("eseutil-rs: {e}");
            let code = super::exit::code_for_error(&e);
            let v = crate::log::set::SetVerdict {
                first_error: Some(e.jet().unwrap_or(Jet::DISK_IO)),
                ..Default::default()
            };
            (v, Some((super::error_json(&e), code)))
        }
    };
    let this = error.as_ref().map_or(set_code(v.ok), |(_, c)| *c);
    let tail = MlSetTail {
        missing,
        ok: v.ok,
        backup_sets: v.backup_sets.clone(),
        error: error.map(|(e, _)| e),
        exit_status: this,
    };
    match doc {
        Some(d) => d,
        None => JsonArrayDoc::begin(out, &set_head(dir, base, range), "files")?,
    }
    .end(out, &tail)?;
    Ok((this, v.first_error))
}

fn set_code(ok: bool) -> u8 {
    if ok {
        super::exit::OK
    } else {
        super::exit::DAMAGE
    }
}

fn set_head(dir: &Path, base: &str, range: Option<(u32, u32)>) -> MlSetHead {
    MlSetHead {
        tool: "eseutil-rs",
        version: env!("CARGO_PKG_VERSION"),
        mode: "ml",
        base: base.to_string(),
        dir: dir.display().to_string(),
        range,
    }
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
    let (dir, base) = dir_and_base(path);
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
            write_json_lines(&c, st.as_ref(), out)?;
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
        Some(s) => text.push_str(&render::log_dump::header(
            &base, &shown, checkpoint, &s.header,
        )),
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
        text.push_str(&render::log_dump::stats(st));
    }
    text.push_str(&render::log_dump::verdict(&c, &shown, ctx.color));
    text.push('\n');
    out.write_all(text.as_bytes()).map_err(io_err)?;
    Ok(code)
}

/// The folder of a log file and its base name (from the file name, else
/// its first three characters).
fn dir_and_base(path: &Path) -> (PathBuf, String) {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let fname = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let base = parse_log_file_name(fname)
        .map(|n| n.base)
        .unwrap_or_else(|| fname.chars().take(3).collect());
    (dir, base)
}

/// `/ml FILE --records --json`: one JSON line per record, then the torn
/// records, the error and the statistics, each on its own line.
fn write_json_lines(
    c: &crate::log::set::LogFileCheck,
    st: Option<&crate::log::set::RecordStats>,
    out: &mut dyn Write,
) -> Result<(), Error> {
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
        let v = serde_json::json!({ "error": crate::report::log_dump::ErrorReport::from(e) });
        writeln!(out, "{v}").map_err(io_err)?;
    }
    if let Some(st) = st {
        let v = serde_json::json!({ "stats": st });
        writeln!(out, "{v}").map_err(io_err)?;
    }
    Ok(())
}

/// `/ml FILE --records`: one line per record, written as it is rendered; a
/// torn record before the first record at or after its lgpos.
fn write_record_lines(w: &crate::log::set::RecordWalk, out: &mut dyn Write) -> Result<(), Error> {
    let mut out = std::io::BufWriter::new(out);
    let mut torn = w.torn.iter().peekable();
    for r in &w.records {
        while let Some(t) = torn.next_if(|t| t.lgpos <= r.lgpos) {
            writeln!(out, "{}", render::log_dump::torn_line(t)).map_err(io_err)?;
        }
        let rec = r.decode().ok();
        writeln!(out, "{}", render::log_dump::record_line(r, rec.as_ref())).map_err(io_err)?;
    }
    for t in torn {
        writeln!(out, "{}", render::log_dump::torn_line(t)).map_err(io_err)?;
    }
    out.flush().map_err(io_err)
}

/// The log files `/ml … /c` reads: the file itself, or the generations of
/// `range` of a base name or of every base in a folder.
fn csv_inputs(t: &Path, range: Option<(u32, u32)>) -> Result<Vec<PathBuf>, Error> {
    if t.is_file() {
        return Ok(vec![t.to_path_buf()]);
    }
    let (dir, bases) = if t.is_dir() {
        (t.to_path_buf(), bases_in(t)?)
    } else {
        let name = t.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let parent = t
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
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
    let (lo, hi) = range.unwrap_or((1, u32::MAX));
    let mut files = Vec::new();
    for base in &bases {
        let (logs, _) = crate::log::naming::list_logs(&dir, base)?;
        for f in logs {
            let keep = match f.name.kind {
                crate::log::naming::LogNameKind::Generation(g) => g >= lo && g <= hi,
                // The current log's generation is in its header: filtered
                // by the records' positions.
                _ => true,
            };
            if keep {
                files.push(f.path);
            }
        }
    }
    Ok(files)
}

/// `/ml … /c FILE`: the records of every input as CSV, written to a new
/// temporary file beside FILE and renamed over it when complete.
fn write_csv(
    t: &Path,
    csv: &Path,
    force: bool,
    range: Option<(u32, u32)>,
    ctx: &Ctx,
    out: &mut dyn Write,
) -> ModeResult {
    let mut file = crate::file::AtomicFile::create_new(csv, force, "another file")?;
    let inputs = csv_inputs(t, range)?;
    let (lo, hi) = range.unwrap_or((1, u32::MAX));
    let mut rows = 0u64;
    let mut code = super::exit::OK;
    let tmp = file.tmp_path().to_path_buf();
    let mut w = std::io::BufWriter::new(file.file());
    w.write_all(render::dump::ML_CSV_HEADER.as_bytes())
        .map_err(|e| Error::io(&tmp, e))?;
    for p in &inputs {
        let c = check_file(p)?;
        if c.damaged() {
            code = super::exit::DAMAGE;
            ctx.terminated
                .set(Some(c.error().map_or(Jet::LOG_FILE_CORRUPT, |e| e.jet)));
        }
        for r in c.walk.iter().flat_map(|w| &w.records) {
            let g = r.lgpos.generation as u32;
            if g < lo || g > hi {
                continue;
            }
            w.write_all(render::dump::ml_csv_row(&RecordLine::new(r)).as_bytes())
                .map_err(|e| Error::io(&tmp, e))?;
            rows += 1;
        }
    }
    w.flush().map_err(|e| Error::io(&tmp, e))?;
    drop(w);
    file.commit()?;
    if ctx.common.json {
        let doc = serde_json::json!({
            "tool": "eseutil-rs", "version": env!("CARGO_PKG_VERSION"), "mode": "ml",
            "csv": csv.display().to_string(), "logs": inputs, "rows": rows, "range": range,
            "exit_status": code,
        });
        write_json(out, &doc)?;
    } else {
        writeln!(
            out,
            "      Csv file: {}\n      {rows} records from {} log files\n",
            csv.display(),
            inputs.len()
        )
        .map_err(io_err)?;
    }
    Ok(code)
}
