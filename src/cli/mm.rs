//! `/mm`: dump database metadata (catalog) with record counts; also the
//! shared argument type and object list of `/ms` and `/g`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{write_json, Ctx, ModeResult};
use crate::db::btree::{walk, Problem, WalkOptions};
use crate::db::catalog::{read_catalog, TableInfo, CATALOG_ROOT};
use crate::db::Database;
use crate::error::Error;
use crate::render;
use crate::report::db::{MmIndex, MmLongValues, MmReport, MmTable};

/// Arguments of `/mm`, `/ms` and `/g`.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The database file (opened read-only).
    pub file: PathBuf,
    /// Force a page size instead of detecting it (eseutil /2 /4 /8 /16 /32).
    #[arg(long)]
    pub page_size: Option<usize>,
}

pub(crate) use super::stdout_err as io_err;

/// The driver `/mm` and `/ms` share: banner, read-only open, gather, exit
/// status (1 and `-1206` when reading met problems), JSON or text.
pub(crate) fn run_dump<R: serde::Serialize>(
    args: &DbArgs,
    ctx: &Ctx,
    out: &mut dyn Write,
    gather: impl FnOnce(&Database, String) -> R,
    has_problems: impl Fn(&R) -> bool,
    render: impl FnOnce(&R) -> String,
) -> ModeResult {
    let shown = args.file.display().to_string();
    if !ctx.common.json {
        write!(
            out,
            "Initiating FILE DUMP mode...\n         Database: {shown}\n\n"
        )
        .map_err(io_err)?;
    }
    let db = open(args)?;
    let report = gather(&db, shown);
    let code = if has_problems(&report) {
        ctx.terminated
            .set(Some(crate::error::Jet::DATABASE_CORRUPTED));
        super::exit::DAMAGE
    } else {
        super::exit::OK
    };
    if ctx.common.json {
        write_json(out, &report)?;
    } else {
        out.write_all(render(&report).as_bytes()).map_err(io_err)?;
    }
    Ok(code)
}

/// Opens the database named by `args`.
pub fn open(args: &DbArgs) -> Result<Database, Error> {
    if let Some(ps) = args.page_size {
        if !crate::parse::db_header::PAGE_SIZES.contains(&ps) {
            return Err(Error::Usage(format!(
                "--page-size {ps}: must be 2048, 4096, 8192, 16384 or 32768"
            )));
        }
    }
    check_is_database(&args.file, args.page_size.is_some())?;
    Database::open(&args.file, args.page_size)
}

/// Refuses a file that is not a database (a log, checkpoint, flush map …)
/// before a database mode reads it: -1812 with the mode that reads it, as
/// `/mh` does. A forced page size lets an unrecognised file through.
pub(crate) fn check_is_database(path: &std::path::Path, forced: bool) -> Result<(), Error> {
    use crate::file::{identify, FileKind, Input};
    let probe = Input::open(path)?.probe()?;
    match identify(&probe) {
        FileKind::Database | FileKind::TempDatabase => Ok(()),
        FileKind::Unknown | FileKind::Blank if forced => Ok(()),
        FileKind::Unknown
            if probe.len() >= 8
                && crate::parse::u32_at(&probe, 4) == crate::parse::db_header::MAGIC =>
        {
            Ok(())
        }
        other => Err(super::wrong_kind(path, other, "a database")),
    }
}

/// Counts the live leaf nodes of a tree (problems appended to `problems`).
pub fn count(db: &Database, root: u32, objid: u32, problems: &mut Vec<Problem>) -> (u64, u64) {
    let w = walk(
        db,
        root,
        WalkOptions {
            objid: Some(objid),
            max_dbtime: 0,
        },
        &mut |_, _| {},
    );
    problems.extend(w.problems);
    (w.records, w.deleted)
}

/// Reads the catalog and counts records: the `/mm` document.
pub fn gather(db: &Database, file: String, verbose: bool) -> MmReport {
    let cat = read_catalog(
        db,
        CATALOG_ROOT,
        WalkOptions {
            objid: Some(2),
            max_dbtime: 0,
        },
    );
    let mut problems = cat.walk.problems.clone();
    for (pg, d) in &cat.undecodable {
        problems.push(Problem {
            pgno: *pg,
            tree: CATALOG_ROOT,
            jet: crate::error::Jet::DATABASE_CORRUPTED,
            detail: format!("undecodable catalog record: {d}"),
        });
    }
    let tables = cat
        .tables()
        .into_iter()
        .map(|t: TableInfo| {
            let (records, deleted_records) = count(db, t.pgno_fdp, t.objid, &mut problems);
            let long_values = t.long_values.map(|(objid, pg)| MmLongValues {
                objid,
                pgno_fdp: pg,
                nodes: count(db, pg, objid, &mut problems).0,
            });
            let indexes = t
                .indexes
                .iter()
                .map(|ix| MmIndex {
                    info: ix.clone(),
                    entries: if ix.pgno_fdp == t.pgno_fdp {
                        records
                    } else {
                        count(db, ix.pgno_fdp, ix.objid, &mut problems).0
                    },
                })
                .collect();
            MmTable {
                name: t.name,
                objid: t.objid,
                pgno_fdp: t.pgno_fdp,
                pages: t.pages,
                density: t.density,
                flags: t.flags,
                template: t.template,
                records,
                deleted_records,
                long_values,
                columns: t.columns,
                indexes,
                callbacks: t.callbacks,
            }
        })
        .collect();
    MmReport {
        tool: "eseutil-rs",
        version: env!("CARGO_PKG_VERSION"),
        mode: "mm",
        file,
        page_size: db.page_size,
        page_count: db.page_count,
        tables,
        catalog: verbose.then(|| cat.entries.clone()),
        problems,
    }
}

/// Runs `/mm`.
pub fn run(args: &DbArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let verbose = ctx.common.verbose;
    run_dump(
        args,
        ctx,
        out,
        |db, shown| gather(db, shown, verbose),
        |r: &MmReport| !r.problems.is_empty(),
        |r| render::db::mm(r, verbose),
    )
}
