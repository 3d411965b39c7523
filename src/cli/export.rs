//! `export`: every record of every (or the named) table, as JSON Lines on
//! standard output (a `"table"` field per line) or one file per table in
//! `--output DIR` (`DIR/<table>.jsonl` or `.csv`). Records stream from the
//! tree walk to the output; files are written to a temporary name and
//! renamed. Damage (pages or records that could not be read, values that
//! could not be decoded) is named on stderr with a summary line, exit 1.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::mm::DbArgs;
use super::{exit, Common};
use crate::db::catalog::{read_catalog, CATALOG_ROOT};
use crate::db::export::{export_table_of, Found, TableExport};
use crate::db::record_values::TableSchema;
use crate::db::Database;
use crate::error::Error;
use crate::render::export::{csv_header, csv_row, jsonl_line, JsonKeys};

/// Output format of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// JSON Lines, one record per line.
    Jsonl,
    /// CSV (RFC 4180, header line, CRLF); needs --output.
    Csv,
}

/// Arguments of `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The database (opened read-only); none with --logs when the logs hold
    /// its creation: it is rebuilt from them into a scratch folder.
    #[arg(value_name = "DB", required_unless_present = "logs")]
    pub file: Option<PathBuf>,
    /// Force a page size instead of detecting it.
    #[arg(long)]
    pub page_size: Option<usize>,
    /// Export only this table (repeatable; system tables may be named).
    #[arg(long = "table", value_name = "T")]
    pub tables: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,
    /// Write one file per table into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Include the system tables (MSys*) when no --table is given.
    #[arg(long)]
    pub system: bool,
    /// Replace existing output files.
    #[arg(long)]
    pub force: bool,
    /// Export the deleted records instead of the live ones: records
    /// flag-deleted but not yet cleaned up, on freed leaf pages, and carved
    /// from page slack, each with `found` ("flag-deleted", "free-page",
    /// "slack"), `confidence`, its page and tag (and byte offset if carved).
    #[arg(long)]
    pub deleted: bool,
    /// The folder of the database's logs (only read): replayed onto a
    /// scratch copy, to their end (the `recovered` view) or to --as-of.
    #[arg(long, value_name = "DIR")]
    pub logs: Option<PathBuf>,
    /// The tables as they were at this log position: the logs replayed onto
    /// a scratch copy up to it, open transactions undone (lgpos as
    /// `(0xGEN,SEC,OFF)`, or an ISO-8601 time: the first position whose log
    /// time is after it); a database already past it is refused.
    #[arg(long, value_name = "LGPOS|TIME", requires = "logs", value_parser = super::as_of::parse_as_of)]
    pub as_of: Option<super::as_of::AsOf>,
    /// With --logs: the log base name (default `edb`).
    #[arg(long, value_name = "NAME", default_value = "edb", requires = "logs")]
    pub base: String,
}

/// Runs `export` (it owns standard output: no banner, no closing line).
pub fn main(args: &ExportArgs, _common: &Common) -> std::process::ExitCode {
    exit::finish_owning_stdout(run(args))
}

/// A file name for a table: bytes outside `[A-Za-z0-9 _.-]`, and a leading
/// dot, percent-encoded.
pub fn file_name(table: &str, ext: &str) -> String {
    let mut s = String::new();
    for (i, b) in table.bytes().enumerate() {
        let keep = b.is_ascii_alphanumeric() || b" _-".contains(&b) || (b == b'.' && i > 0);
        if keep {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{s}.{ext}")
}

fn select(args: &ExportArgs, all: Vec<TableSchema>) -> Result<Vec<TableSchema>, Error> {
    if args.tables.is_empty() {
        return Ok(all
            .into_iter()
            .filter(|t| args.system || !t.name.starts_with("MSys"))
            .collect());
    }
    let mut out = Vec::new();
    for name in &args.tables {
        let t = all
            .iter()
            .find(|t| &t.name == name)
            .ok_or_else(|| Error::Usage(format!("--table {name}: no such table in the catalog")))?;
        out.push(t.clone());
    }
    Ok(out)
}

/// Names on stderr each column written as `column.NAME` because its name
/// is that of a field export adds (`render::export::field_name`).
fn note_renamed_columns(tables: &[TableSchema]) {
    for t in tables {
        for c in &t.columns {
            let key = crate::render::export::field_name(&c.name);
            if key != c.name.as_str() {
                eprintln!(
                    "eseutil-rs: export: table {}: column {} is written as \"{key}\" (\"{}\" is a field export adds)",
                    t.name, c.name, c.name
                );
            }
        }
    }
}

fn run(args: &ExportArgs) -> Result<u8, Error> {
    if args.format == Format::Csv && args.output.is_none() {
        return Err(Error::Usage("--format csv needs --output DIR".into()));
    }
    let input = match &args.file {
        Some(file) => Some(super::mm::open(&DbArgs {
            file: file.clone(),
            page_size: args.page_size,
        })?),
        None => None,
    };
    let (view, _scratch, db) = match (&args.logs, args.as_of, input) {
        (Some(logs), at, input) => {
            let at = match at {
                Some(a) => Some(super::as_of::resolve(a, logs, &args.base)?),
                None => None,
            };
            let s = super::as_of::replay(input.as_ref(), logs, &args.base, at)?;
            let db = Database::open(&s.db, None)?;
            let view = if at.is_some() { "as-of" } else { "recovered" };
            (Some(view), Some(s), db)
        }
        (None, _, Some(db)) => (raw_view(&db), None, db),
        (None, _, None) => return Err(Error::Usage("a database or --logs DIR is needed".into())),
    };
    let cat = read_catalog(&db, CATALOG_ROOT, Default::default());
    let mut damage = Damage {
        view,
        ..Damage::default()
    };
    for p in &cat.walk.problems {
        damage.page("MSysObjects", p.pgno, &p.detail);
    }
    for (pgno, what) in &cat.undecodable {
        damage.record("MSysObjects", *pgno, what);
    }
    let all: Vec<TableSchema> = cat.tables().iter().map(TableSchema::from_table).collect();
    let tables = select(args, all)?;
    note_renamed_columns(&tables);
    match &args.output {
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            for t in &tables {
                let ex = write_table(
                    &db,
                    t,
                    Some(&t.name),
                    (Format::Jsonl, args.deleted, view),
                    &mut out,
                    Path::new("<stdout>"),
                )?;
                damage.table(&t.name, &ex);
            }
            out.flush().map_err(super::stdout_err)?;
        }
        Some(dir) => to_files(args, dir, &db, &tables, &mut damage)?,
    }
    Ok(damage.summary(tables.len()))
}

fn to_files(
    args: &ExportArgs,
    dir: &Path,
    db: &Database,
    tables: &[TableSchema],
    damage: &mut Damage,
) -> Result<(), Error> {
    let ext = if args.format == Format::Csv {
        "csv"
    } else {
        "jsonl"
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let targets: Vec<PathBuf> = tables
        .iter()
        .map(|t| dir.join(file_name(&t.name, ext)))
        .collect();
    for p in &targets {
        if !args.force && std::fs::symlink_metadata(p).is_ok() {
            return Err(Error::Usage(format!(
                "{} exists: not replaced; use --force to replace it or choose another --output",
                p.display()
            )));
        }
    }
    // Tables are written on two threads (one file each); damage is named
    // in table order once all are done.
    let results = in_parallel(tables.len(), |i| {
        write_table_file(args, db, &tables[i], &targets[i], damage.view)
    });
    for (t, r) in tables.iter().zip(results) {
        damage.table(&t.name, &r?);
    }
    Ok(())
}

/// Runs `job(0..n)` on at most two threads; the results in index order.
fn in_parallel<T: Send>(n: usize, job: impl Fn(usize) -> T + Sync) -> Vec<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let slots: std::sync::Mutex<Vec<Option<T>>> =
        std::sync::Mutex::new((0..n).map(|_| None).collect());
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        if i >= n {
            break;
        }
        let r = job(i);
        if let Ok(mut v) = slots.lock() {
            v[i] = Some(r);
        }
    };
    std::thread::scope(|sc| {
        if n > 1 {
            sc.spawn(work);
        }
        work();
    });
    slots
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// Writes one table into `target` through a new temporary file renamed
/// into place once complete and synced.
fn write_table_file(
    args: &ExportArgs,
    db: &Database,
    t: &TableSchema,
    target: &Path,
    view: Option<&str>,
) -> Result<TableExport, Error> {
    // A new temporary file only: never through a symlink or over another
    // file; the target was checked by the caller (`--force`).
    let mut file = crate::file::AtomicFile::create(target)?;
    let tmp = file.tmp_path().to_path_buf();
    let mut w = std::io::BufWriter::new(file.file());
    if args.format == Format::Csv {
        let mut h = csv_header(t);
        if args.deleted {
            h = with_found_cells(h, "found,confidence,pgno,itag,offset");
        }
        w.write_all(h.as_bytes()).map_err(|e| Error::io(&tmp, e))?;
    }
    let ex = write_table(db, t, None, (args.format, args.deleted, view), &mut w, &tmp)?;
    w.flush().map_err(|e| Error::io(&tmp, e))?;
    drop(w);
    file.commit()?;
    Ok(ex)
}

/// A CSV line (header or row) with `cells` appended before its line end.
fn with_found_cells(line: String, cells: &str) -> String {
    let body = line.trim_end_matches(['\r', '\n']);
    let end = &line[body.len()..];
    format!("{body},{cells}{end}")
}

/// A record line with where a deleted record was found: JSON fields
/// `found`, `confidence`, `pgno`, `itag` (0 for a carved record) and, for a
/// record carved from slack, `offset` (its byte offset in the page); or the
/// same CSV cells (`offset` empty for a node).
fn with_found(line: String, format: Format, f: &Found, at: (u32, usize, Option<usize>)) -> String {
    let (pgno, itag, offset) = at;
    match format {
        Format::Csv => {
            let off = offset.map(|o| o.to_string()).unwrap_or_default();
            with_found_cells(
                line,
                &format!("{},{},{pgno},{itag},{off}", f.place, f.confidence),
            )
        }
        Format::Jsonl => {
            let body = line.trim_end();
            let body = body.strip_suffix('}').unwrap_or(body);
            let sep = if body.ends_with('{') { "" } else { "," };
            let off = offset
                .map(|o| format!(",\"offset\":{o}"))
                .unwrap_or_default();
            format!(
                "{body}{sep}\"found\":\"{}\",\"confidence\":\"{}\",\"pgno\":{pgno},\"itag\":{itag}{off}}}\n",
                f.place, f.confidence
            )
        }
    }
}

/// `Some("raw")`, with a warning on stderr, when the database is not in
/// Clean Shutdown: the file as it is, while its logs may hold newer records.
fn raw_view(db: &Database) -> Option<&'static str> {
    let state = db.header().db_state;
    if state == crate::parse::db_header::STATE_CLEAN_SHUTDOWN {
        return None;
    }
    eprintln!(
        "eseutil-rs: export: {} is in {} state: exporting the raw view (the file as it is); its logs may hold newer records (give them with --logs DIR for the recovered view)",
        db.path().display(),
        crate::parse::db_header::db_state_name(state)
    );
    Some("raw")
}

/// A JSON line with `"view"` added (a dirty or replayed database).
fn with_view(line: String, view: &str) -> String {
    let body = line.trim_end();
    let body = body.strip_suffix('}').unwrap_or(body);
    let sep = if body.ends_with('{') { "" } else { "," };
    format!("{body}{sep}\"view\":\"{view}\"}}\n")
}

/// Streams one table's records into `out` (`deleted`: its deleted records
/// instead of the live ones; `view`: labels each JSON line).
fn write_table(
    db: &Database,
    t: &TableSchema,
    table_field: Option<&str>,
    (format, deleted, view): (Format, bool, Option<&str>),
    out: &mut dyn Write,
    dest: &Path,
) -> Result<TableExport, Error> {
    let mut failed: Option<std::io::Error> = None;
    let keys = JsonKeys::of(t);
    let ex = export_table_of(db, t, deleted, &mut |row| {
        if failed.is_some() {
            return;
        }
        let mut line = match format {
            Format::Jsonl => jsonl_line(table_field, &keys, &row.values),
            Format::Csv => csv_row(t, &row.values),
        };
        if let Some(f) = &row.found {
            line = with_found(line, format, f, (row.pgno, row.itag, row.offset));
        }
        if let (Format::Jsonl, Some(v)) = (format, view) {
            line = with_view(line, v);
        }
        if let Err(e) = out.write_all(line.as_bytes()) {
            failed = Some(e);
        }
    });
    match failed {
        Some(e) => Err(Error::io(dest, e)),
        None => Ok(ex),
    }
}

/// Damage met, named on stderr as it is found.
#[derive(Default)]
struct Damage {
    /// The view exported (`raw`, `recovered`, `as-of`), when labelled.
    view: Option<&'static str>,
    pages: u64,
    /// Pages named (unusable ones), for the summary line.
    bad_pages: std::collections::BTreeSet<u32>,
    records: u64,
    values: u64,
    undecoded: u64,
    exported: u64,
}

impl Damage {
    fn page(&mut self, table: &str, pgno: u32, what: &str) {
        self.pages += 1;
        self.bad_pages.insert(pgno);
        eprintln!("eseutil-rs: export: {table}: page {pgno}: {what}");
    }
    fn record(&mut self, table: &str, pgno: u32, what: &str) {
        self.records += 1;
        eprintln!("eseutil-rs: export: {table}: record on page {pgno}: {what}");
    }
    fn table(&mut self, name: &str, ex: &TableExport) {
        self.exported += ex.records;
        for p in &ex.walk.problems {
            self.page(name, p.pgno, &p.detail);
        }
        for (pgno, itag, what) in &ex.bad_records {
            self.record(name, *pgno, &format!("tag {itag}: {what}"));
        }
        if !ex.orphan_pages.is_empty() {
            eprintln!(
                "eseutil-rs: export: {name}: {} records read from {} leaf pages the damaged tree no longer reaches: pages {}",
                ex.orphan_records,
                ex.orphan_pages.len(),
                ex.orphan_pages
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if ex.slack_live_copies > 0 {
            eprintln!(
                "eseutil-rs: export: {name}: {} records in page slack left out: copies of live records",
                ex.slack_live_copies
            );
        }
        for (pgno, column, what) in &ex.value_error_samples {
            eprintln!("eseutil-rs: export: {name}: page {pgno}: column {column}: {what}");
        }
        if ex.value_errors > 0 {
            eprintln!(
                "eseutil-rs: export: {name}: {} values could not be read",
                ex.value_errors
            );
        }
        if ex.undecoded > 0 {
            eprintln!(
                "eseutil-rs: export: {name}: {} values left compressed (scheme without decoder)",
                ex.undecoded
            );
        }
        self.values += ex.value_errors;
        self.undecoded += ex.undecoded;
    }
    /// Prints the summary line; the exit status.
    fn summary(&self, tables: usize) -> u8 {
        let bad = self.pages + self.records + self.values > 0;
        let named = if self.bad_pages.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = self.bad_pages.iter().map(u32::to_string).collect();
            format!(" (pages not used: {})", list.join(", "))
        };
        let view = self.view.map(|v| format!("view {v}: ")).unwrap_or_default();
        eprintln!(
            "eseutil-rs: export: {view}{tables} tables, {} records; {} page problems{named}, {} unreadable records, {} unreadable values, {} values left compressed",
            self.exported, self.pages, self.records, self.values, self.undecoded
        );
        if bad {
            exit::DAMAGE
        } else {
            exit::OK
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn found_fields_and_cells() {
        use super::{with_found, Format, Found};
        let f = Found {
            place: "flag-deleted",
            confidence: "high",
        };
        assert_eq!(
            with_found(
                "{\"table\":\"T\",\"a\":1}\n".into(),
                Format::Jsonl,
                &f,
                (7, 3, None)
            ),
            "{\"table\":\"T\",\"a\":1,\"found\":\"flag-deleted\",\"confidence\":\"high\",\"pgno\":7,\"itag\":3}\n"
        );
        assert_eq!(
            with_found("1,x\r\n".into(), Format::Csv, &f, (7, 3, None)),
            "1,x,flag-deleted,high,7,3,\r\n"
        );
    }

    #[test]
    fn view_after_a_trailing_object() {
        assert_eq!(
            super::with_view("{\"a\":{\"raw\":1}}\n".into(), "raw"),
            "{\"a\":{\"raw\":1},\"view\":\"raw\"}\n"
        );
    }

    #[test]
    fn file_names() {
        assert_eq!(super::file_name("Table", "csv"), "Table.csv");
        assert_eq!(super::file_name("a/b%", "jsonl"), "a%2Fb%25.jsonl");
        assert_eq!(super::file_name(".x", "csv"), "%2Ex.csv");
        assert_eq!(
            super::file_name("{D10CA2FE-6FCF}", "csv"),
            "%7BD10CA2FE-6FCF%7D.csv"
        );
    }
}
