//! `timeline LOGDIR`: every row change the logs hold, as JSON Lines on
//! standard output (or Timesketch/plaso JSONL). The logs are read one
//! generation at a time; a summary goes to standard error. No eseutil
//! equivalent.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{exit, Common};
use crate::error::Error;
use crate::parse::primitives::Lgpos;
use crate::render::timeline::{jsonl_line, timesketch_line};
use crate::report::timeline::{timeline, Order, TimelineOptions, TimelineSummary};

/// Output format of `timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON Lines, one change per line.
    Jsonl,
    /// Timesketch/plaso JSONL: `datetime`, `timestamp_desc`, `message`
    /// and the same fields.
    Timesketch,
}

/// Arguments of `timeline`.
#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// The folder holding the logs (only read).
    pub logdir: PathBuf,
    /// A database of these logs (only read): its catalog names the tables
    /// and its pages give the lines the logs start from. Without it the
    /// catalog comes from the logs (when they hold the database's creation).
    #[arg(long, value_name = "DB")]
    pub database: Option<PathBuf>,
    /// Log base name (default: the only base in LOGDIR).
    #[arg(long, value_name = "NAME")]
    pub base: Option<String>,
    /// First log position written, eseutil syntax `(0xGEN,SEC,OFF)` or
    /// `GEN,SEC,OFF` (hexadecimal).
    #[arg(long, value_name = "LGPOS", value_parser = parse_lgpos)]
    pub from: Option<Lgpos>,
    /// Last log position written (inclusive), same syntax.
    #[arg(long, value_name = "LGPOS", value_parser = parse_lgpos)]
    pub to: Option<Lgpos>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Order of the lines: `log` (lgpos order; a change is written once
    /// its transaction, and every earlier change's, has ended) or `commit`
    /// (each transaction's changes together when it ends).
    #[arg(long, value_enum, default_value_t = OrderArg::Log)]
    pub order: OrderArg,
    /// MiB of changes held while their transactions are open; past it the
    /// oldest is written with the outcome `undecided`.
    #[arg(long, value_name = "MIB", default_value_t = 256)]
    pub max_buffer: usize,
}

/// Output order of `timeline`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OrderArg {
    /// Log order (lgpos).
    Log,
    /// Transactions in the order they end.
    Commit,
}

/// Parses `(0x1,2A,3F)`, `0x1,2A,3F` or `1,2A,3F` (hexadecimal fields, as
/// eseutil prints an lgpos).
pub fn parse_lgpos(s: &str) -> Result<Lgpos, String> {
    let t = s.trim().trim_start_matches('(').trim_end_matches(')');
    let parts: Vec<&str> = t.split(',').map(str::trim).collect();
    let bad = || format!("{s}: expected an lgpos like (0x1,2A,3F) (hexadecimal)");
    if parts.len() != 3 {
        return Err(bad());
    }
    let hex = |p: &str| {
        let p = p.trim_start_matches("0x").trim_start_matches("0X");
        u32::from_str_radix(p, 16).map_err(|_| bad())
    };
    let (g, sec, off) = (hex(parts[0])?, hex(parts[1])?, hex(parts[2])?);
    Ok(Lgpos {
        generation: i32::try_from(g).map_err(|_| bad())?,
        sector: u16::try_from(sec).map_err(|_| bad())?,
        offset: u16::try_from(off).map_err(|_| bad())?,
    })
}

/// Runs `timeline` (it owns standard output: no banner, no closing line).
pub fn main(args: &TimelineArgs, _common: &Common) -> std::process::ExitCode {
    exit::finish_owning_stdout(run(args))
}

fn base_of(args: &TimelineArgs) -> Result<String, Error> {
    if let Some(b) = &args.base {
        return Ok(b.clone());
    }
    let bases = crate::log::naming::bases_in(&args.logdir)?;
    match bases.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::Usage(format!(
            "{}: no log files found",
            args.logdir.display()
        ))),
        many => Err(Error::Usage(format!(
            "{}: several log bases ({}); choose one with --base",
            args.logdir.display(),
            many.join(", ")
        ))),
    }
}

fn run(args: &TimelineArgs) -> Result<u8, Error> {
    let base = base_of(args)?;
    let db = match &args.database {
        Some(p) => Some(super::mm::open(&super::mm::DbArgs {
            file: p.clone(),
            page_size: None,
        })?),
        None => None,
    };
    let opts = TimelineOptions {
        from: args.from,
        to: args.to,
        order: match args.order {
            OrderArg::Log => Order::Log,
            OrderArg::Commit => Order::Commit,
        },
        max_buffer: args.max_buffer.saturating_mul(1 << 20),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let sum = timeline(&args.logdir, &base, db.as_ref(), opts, |c| {
        let line = match args.format {
            Format::Jsonl => jsonl_line(c),
            Format::Timesketch => timesketch_line(c),
        };
        out.write_all(line.as_bytes()).map_err(super::stdout_err)
    })?;
    out.flush().map_err(super::stdout_err)?;
    Ok(summary(&sum))
}

/// Prints the summary on standard error; the exit status (1 when the log
/// set is damaged or incomplete).
fn summary(s: &TimelineSummary) -> u8 {
    for p in s.problems.iter().chain(&s.notes) {
        eprintln!("eseutil-rs: timeline: {p}");
    }
    let counts = |m: &std::collections::BTreeMap<&str, u64>| {
        if m.is_empty() {
            return "none".to_string();
        }
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    eprintln!(
        "eseutil-rs: timeline: {} generations, {} records, {} changes ({}; {}); {} without a known key, {} on trees the catalog does not name, {} space-tree operations skipped, {} catalog rows learnt from the logs",
        s.generations,
        s.records,
        s.changes,
        counts(&s.ops),
        counts(&s.outcomes),
        s.unknown_keys,
        s.unknown_tables,
        s.space_ops,
        s.catalog_rows_from_logs
    );
    eprintln!(
        "eseutil-rs: timeline: before images: {} known, {} not known; UndoInfo: {} completed a change, {} alone; separated long values: {}",
        s.before_known,
        s.before_unknown,
        s.undo_info_used,
        s.undo_info_alone,
        counts(&s.long_values)
    );
    let warnings = [
        (
            s.undecided,
            "changes were written before their transaction ended (outcome `undecided`): more than --max-buffer MiB waited; raise it or use --order commit".to_string(),
        ),
        (
            s.pages_dropped,
            format!(
                "pages stopped being followed (at most {} are): some before images are not known",
                crate::report::timeline::MAX_TRACKED_PAGES
            ),
        ),
    ];
    for (n, what) in warnings.iter().filter(|w| w.0 > 0) {
        eprintln!("eseutil-rs: timeline: {n} {what}");
    }
    if s.problems.is_empty() {
        exit::OK
    } else {
        exit::DAMAGE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lgpos_syntax() {
        let p = parse_lgpos("(0x1,2A,3F)").unwrap();
        assert_eq!((p.generation, p.sector, p.offset), (1, 0x2A, 0x3F));
        assert_eq!(parse_lgpos("1,2a,3f").unwrap(), p);
        assert!(parse_lgpos("1,2").is_err());
        assert!(parse_lgpos("1,10000,0").is_err());
    }
}
