//! Page, node and space-category dumps: `page DB PGNO` (eseutil `/m DB
//! /pN [/kKEY [/dDATA]]`), `nodes DB [--all]` (`/mn [/a]`) and
//! `space-category DB [RANGE]` (`/mc [/pRANGE]`). Page numbers and ranges
//! are read as eseutil.cxx reads them (see [`super::compat::wcstol0`] and
//! [`super::compat::spcat_range`]).

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use clap::Args;

use super::mm::open;
use super::{write_json, Ctx, ModeResult};
use crate::db::dump::{dump_page, PageDump};
use crate::db::page::Page;
use crate::db::Database;
use crate::error::{Error, ErrorKind, FormatError, Jet};
use crate::render;
use crate::report::dump::{
    HeaderPageReport, NodeLine, NodesSummary, PageReport, SpaceCategoryReport,
};

use super::stdout_err as io_err;

/// Arguments of `page`.
#[derive(Debug, Args)]
pub struct PageArgs {
    /// The database file (opened read-only).
    pub file: PathBuf,
    /// The page: decimal, 0x… hex or 0… octal as eseutil reads /p; -1 is
    /// the header, 0 its shadow.
    #[arg(allow_negative_numbers = true, value_name = "PGNO")]
    pub pgno: Option<String>,
    /// The page, as eseutil's /p (instead of PGNO).
    #[arg(
        long,
        value_name = "PGNO",
        allow_negative_numbers = true,
        conflicts_with = "pgno"
    )]
    pub page: Option<String>,
    /// From PGNO (a tree's root), seek down to the leaf holding this key
    /// (hex) and dump that page (eseutil /k, after /p).
    #[arg(long, value_name = "HEX")]
    pub key: Option<String>,
    /// With --key on a tree of non-unique keys: the data (hex) that follows
    /// the key (eseutil /d, after /k).
    #[arg(long, value_name = "HEX", requires = "key")]
    pub data: Option<String>,
    /// Force a page size instead of detecting it (eseutil /2 … /32).
    #[arg(long)]
    pub page_size: Option<usize>,
}

/// Arguments of `nodes`.
#[derive(Debug, Args)]
pub struct NodesArgs {
    /// The database file (opened read-only).
    pub file: PathBuf,
    /// Also list flag-deleted nodes and the nodes of freed pages (eseutil /a).
    #[arg(long)]
    pub all: bool,
    /// Only the pages of this table's trees: its records, indexes and long
    /// values (eseutil `/t<table>`; an empty name lists nothing, as eseutil).
    #[arg(long, value_name = "TABLE", num_args = 0..=1, default_missing_value = "")]
    pub table: Option<String>,
    /// Force a page size instead of detecting it.
    #[arg(long)]
    pub page_size: Option<usize>,
}

/// The object ids of the trees of table `name` (case-insensitive, as the
/// catalog's name index: esedump.cxx `ErrESEDUMPTables` seeks it there).
fn table_trees(db: &Database, name: &str) -> Result<std::collections::HashSet<u32>, Error> {
    if name.is_empty() {
        return Ok(Default::default());
    }
    let cat =
        crate::db::catalog::read_catalog(db, crate::db::catalog::CATALOG_ROOT, Default::default());
    let t = cat
        .tables()
        .into_iter()
        .find(|t| t.name.eq_ignore_ascii_case(name))
        .ok_or_else(|| Error::Usage(format!("table {name} not found")))?;
    let mut set: std::collections::HashSet<u32> = t.indexes.iter().map(|i| i.objid).collect();
    set.insert(t.objid);
    set.extend(t.long_values.map(|(objid, _)| objid));
    Ok(set)
}

/// Arguments of `space-category`.
#[derive(Debug, Args)]
pub struct SpaceCategoryArgs {
    /// The database file (opened read-only).
    pub file: PathBuf,
    /// Pages N, N:M or N:max (decimal, ≥ 1; default 1:max).
    #[arg(value_name = "RANGE")]
    pub range_pos: Option<String>,
    /// The range, as eseutil's /p (instead of RANGE).
    #[arg(long, value_name = "RANGE", conflicts_with = "range_pos")]
    pub range: Option<String>,
    /// Accepted for eseutil's /f (full categorization, always done).
    #[arg(long, hide = true)]
    pub full: bool,
    /// Force a page size instead of detecting it.
    #[arg(long)]
    pub page_size: Option<usize>,
}

fn db_args(file: &std::path::Path, page_size: Option<usize>) -> super::mm::DbArgs {
    super::mm::DbArgs {
        file: file.to_path_buf(),
        page_size,
    }
}

/// A page number the database does not have: the file, the offset the page
/// would be at, -1003, exit status 2.
fn bad_page(db: &Database, requested: i64) -> Error {
    let offset = u64::try_from(requested).map_or(0, |p| (p + 1) * db.page_size as u64);
    Error::Format {
        path: db.path().clone(),
        err: FormatError::new(
            offset,
            Jet::INVALID_PARAMETER,
            format!(
                "page {requested} is not in the file: pages are 1 to {} (-1 the header, 0 its shadow)",
                db.page_count
            ),
        ),
        kind: ErrorKind::Usage,
    }
}

fn hex_arg(what: &str, s: &str) -> Result<Vec<u8>, Error> {
    let t: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    let t = t.strip_prefix("0x").unwrap_or(&t);
    if t.len() % 2 != 0 || !t.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Usage(format!("{what} `{s}`: expected hex bytes")));
    }
    Ok((0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&t[i..i + 2], 16).unwrap_or(0))
        .collect())
}

/// Seeks from `start` down to the leaf whose key range holds `key`: at each
/// internal page, the first node whose key is ≥ the key (the last node's
/// empty key stands for +∞), as `ErrDBUTLSeekToKey_` walks (dbutil.cxx).
fn seek(db: &Database, start: u32, key: &[u8]) -> Result<(Page, Vec<u32>), Error> {
    let mut path = vec![start];
    let mut pgno = start;
    for _ in 0..crate::db::btree::MAX_DEPTH {
        let page = read_data_page(db, pgno)?;
        if page.hdr.is_leaf() {
            return Ok((page, path));
        }
        let nodes = page.nodes().map_err(|e| Error::corrupt(db.path(), e))?;
        let n = nodes.len();
        let child = nodes
            .iter()
            .enumerate()
            .find(|(i, nd)| *i + 1 == n || nd.key.as_slice() >= key)
            .and_then(|(_, nd)| nd.child());
        let Some(c) = child else {
            return Err(Error::corrupt(
                db.path(),
                FormatError::new(
                    db.page_offset(pgno),
                    Jet::DATABASE_CORRUPTED,
                    format!("page {pgno}: internal page without nodes"),
                ),
            ));
        };
        path.push(c);
        pgno = c;
    }
    Err(Error::corrupt(
        db.path(),
        FormatError::new(0, Jet::DATABASE_CORRUPTED, "tree deeper than 64 levels"),
    ))
}

fn read_data_page(db: &Database, pgno: u32) -> Result<Page, Error> {
    if pgno == 0 || pgno > db.page_count {
        return Err(bad_page(db, pgno as i64));
    }
    let bytes = db.read_page(pgno)?;
    Page::new(pgno, bytes).map_err(|e| Error::corrupt(db.path(), e.at_base(db.page_offset(pgno))))
}

/// Runs `page`.
pub fn run_page(args: &PageArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let Some(raw) = args.page.as_deref().or(args.pgno.as_deref()) else {
        return Err(Error::Usage(
            "page: give a page number (PGNO or --page; -1 the header, 0 its shadow)".into(),
        ));
    };
    let requested = super::compat::wcstol0(raw);
    let shown = args.file.display().to_string();
    if !ctx.common.json {
        write!(out, "Initiating FILE DUMP mode...\n      Database: {shown}\n          Page: {requested}\n\n").map_err(io_err)?;
    }
    let db = open(&db_args(&args.file, args.page_size))?;
    if requested == -1 || requested == 0 {
        return header_page(&db, requested, shown, ctx, out);
    }
    if requested < -1 || requested as u32 > db.page_count {
        return Err(bad_page(&db, requested as i64));
    }
    let (page, seek_path) = match &args.key {
        Some(k) => {
            let mut key = hex_arg("--key", k)?;
            if let Some(d) = &args.data {
                key.extend(hex_arg("--data", d)?);
            }
            seek(&db, requested as u32, &key)?
        }
        None => (read_data_page(&db, requested as u32)?, Vec::new()),
    };
    let class = db.classify(page.pgno, &page.bytes);
    let dump: PageDump = dump_page(&page, class, db.page_offset(page.pgno));
    let code = if dump.damaged() {
        ctx.terminated.set(Some(Jet::READ_VERIFY_FAILURE));
        super::exit::DAMAGE
    } else {
        super::exit::OK
    };
    let report = PageReport {
        tool: "eseutil-rs",
        version: env!("CARGO_PKG_VERSION"),
        mode: "page",
        file: shown,
        requested,
        seek_path,
        page: dump,
    };
    if ctx.common.json {
        write_json(out, &report)?;
    } else {
        out.write_all(render::dump::page(&report, &page.bytes, ctx.color).as_bytes())
            .map_err(io_err)?;
    }
    Ok(code)
}

fn header_page(
    db: &Database,
    requested: i32,
    file: String,
    ctx: &Ctx,
    out: &mut dyn Write,
) -> ModeResult {
    let offset = if requested == -1 {
        0
    } else {
        db.page_size as u64
    };
    let copy = if requested == -1 {
        Some(db.pair.primary.clone())
    } else {
        db.pair.shadow.clone()
    };
    let Some(copy) = copy else {
        return Err(bad_page(db, requested as i64));
    };
    let mut bytes = vec![0u8; db.page_size];
    db.input
        .file
        .read_exact_at(&mut bytes, offset)
        .map_err(|e| Error::io(db.path(), e))?;
    let code = if copy.checksum_ok {
        super::exit::OK
    } else {
        ctx.terminated.set(Some(Jet::DATABASE_CORRUPTED));
        super::exit::DAMAGE
    };
    let report = HeaderPageReport {
        tool: "eseutil-rs",
        version: env!("CARGO_PKG_VERSION"),
        mode: "page",
        file,
        requested,
        which: if requested == -1 {
            "header"
        } else {
            "shadow header"
        },
        file_offset: offset,
        page_size: db.page_size,
        copy,
    };
    if ctx.common.json {
        write_json(out, &report)?;
    } else {
        out.write_all(render::dump::header_page(&report, &bytes, ctx.color).as_bytes())
            .map_err(io_err)?;
    }
    Ok(code)
}

/// Runs `nodes`: every node of every readable page, in file order, written
/// as it is read (text lines, or JSON Lines with a closing summary line).
pub fn run_nodes(args: &NodesArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let shown = args.file.display().to_string();
    if !ctx.common.json {
        write!(
            out,
            "Initiating FILE DUMP mode...\n         Database: {shown}\n\n"
        )
        .map_err(io_err)?;
    }
    let db = open(&db_args(&args.file, args.page_size))?;
    let only = match &args.table {
        Some(name) => Some(table_trees(&db, name)?),
        None => None,
    };
    let mut out = std::io::BufWriter::new(out);
    let mut sum = NodesSummary {
        schema_version: super::SCHEMA_VERSION,
        mode: "nodes",
        file: shown,
        pages: db.page_count,
        pages_with_nodes: 0,
        nodes: 0,
        deleted_nodes: 0,
        unreadable_pages: Vec::new(),
        bad_nodes: 0,
        all: args.all,
        table: args.table.clone(),
    };
    for pgno in 1..=db.page_count {
        let bytes = db.read_page(pgno)?;
        let class = db.classify(pgno, &bytes);
        if !class.is_readable_data() {
            if class.kind == crate::db::classify::PageKind::BadChecksum
                || class.kind == crate::db::classify::PageKind::Foreign
            {
                sum.unreadable_pages.push(pgno);
            }
            continue;
        }
        let Ok(page) = Page::new(pgno, bytes) else {
            continue;
        };
        if page.hdr.is_empty() && !args.all {
            continue;
        }
        if only.as_ref().is_some_and(|o| !o.contains(&page.hdr.objid)) {
            continue;
        }
        write_page_nodes(&page, args.all, ctx.common.json, &mut sum, &mut out)?;
    }
    let code = if sum.unreadable_pages.is_empty() && sum.bad_nodes == 0 {
        super::exit::OK
    } else {
        ctx.terminated.set(Some(Jet::READ_VERIFY_FAILURE));
        super::exit::DAMAGE
    };
    if ctx.common.json {
        let line = serde_json::to_string(&sum).map_err(|e| Error::Usage(e.to_string()))?;
        writeln!(out, "{line}").map_err(io_err)?;
    } else {
        writeln!(
            out,
            "\n{} nodes on {} pages ({} flag-deleted {}); {} nodes could not be decoded; unreadable pages: {}\n",
            sum.nodes,
            sum.pages_with_nodes,
            sum.deleted_nodes,
            if args.all { "listed" } else { "skipped; /a lists them" },
            sum.bad_nodes,
            if sum.unreadable_pages.is_empty() { "none".to_string() } else { format!("{:?}", sum.unreadable_pages) }
        )
        .map_err(io_err)?;
    }
    out.flush().map_err(io_err)?;
    Ok(code)
}

fn write_page_nodes(
    page: &Page,
    all: bool,
    json: bool,
    sum: &mut NodesSummary,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let tags = crate::db::dump::dump_tags(page).len();
    let mut any = false;
    for itag in 1..tags {
        let n = crate::db::dump::dump_node(page, itag);
        if n.is_deleted() {
            sum.deleted_nodes += 1;
            if !all {
                continue;
            }
        }
        if n.error.is_some() {
            sum.bad_nodes += 1;
        }
        any = true;
        sum.nodes += 1;
        let line = NodeLine {
            node: &n,
            objid: page.hdr.objid,
            page_flags: page.hdr.flags,
            page_empty: page.hdr.is_empty(),
        };
        let text = if json {
            serde_json::to_string(&line).map_err(|e| Error::Usage(e.to_string()))?
        } else {
            render::dump::node_line(&line)
        };
        writeln!(out, "{text}").map_err(io_err)?;
    }
    if any {
        sum.pages_with_nodes += 1;
    }
    Ok(())
}

/// Runs `space-category`.
pub fn run_space_category(args: &SpaceCategoryArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let raw = args
        .range
        .as_deref()
        .or(args.range_pos.as_deref())
        .unwrap_or("1:max");
    let Some((first, last)) = super::compat::spcat_range(raw) else {
        return Err(Error::Usage(format!(
            "page range `{raw}`: expected N, N:M or N:max (decimal, ≥ 1)"
        )));
    };
    let shown = args.file.display().to_string();
    if !ctx.common.json {
        write!(
            out,
            "Initiating FILE DUMP mode...\n         Database: {shown}\n"
        )
        .map_err(io_err)?;
    }
    let db = open(&db_args(&args.file, args.page_size))?;
    if first > db.page_count || last.is_some_and(|l| l < first) {
        return Err(bad_page(&db, first as i64));
    }
    let (pages, objects, problems) =
        crate::db::spacecat::space_categories(&db, first, last.unwrap_or(u32::MAX));
    let mut totals = std::collections::BTreeMap::new();
    for p in &pages {
        for c in &p.categories {
            *totals.entry(*c).or_insert(0u64) += 1;
        }
    }
    let code = if problems.is_empty() {
        super::exit::OK
    } else {
        ctx.terminated.set(Some(Jet::DATABASE_CORRUPTED));
        super::exit::DAMAGE
    };
    let report = SpaceCategoryReport {
        tool: "eseutil-rs",
        version: env!("CARGO_PKG_VERSION"),
        mode: "space-category",
        file: shown,
        first,
        last,
        page_count: db.page_count,
        objects,
        pages,
        totals,
        problems,
    };
    if ctx.common.json {
        write_json(out, &report)?;
    } else {
        out.write_all(render::dump::space_category(&report).as_bytes())
            .map_err(io_err)?;
    }
    Ok(code)
}
