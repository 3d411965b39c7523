//! `/ms`: space usage per object (owned pages, available pages, depth).

use std::io::Write;

use super::mm::DbArgs;
use super::{Ctx, ModeResult};
use crate::db::btree::{walk, Problem, WalkOptions};
use crate::db::catalog::{read_catalog, CATALOG_ROOT, DB_OBJID, DB_ROOT};
use crate::db::page::Page;
use crate::db::space::space_of;
use crate::db::Database;
use crate::error::Jet;
use crate::render;
use crate::report::db::{MsObject, MsReport};

fn object(
    db: &Database,
    name: &str,
    table: &str,
    kind: &'static str,
    objid: u32,
    root: u32,
    problems: &mut Vec<Problem>,
) -> MsObject {
    let opts = WalkOptions {
        objid: Some(objid),
        max_dbtime: 0,
    };
    let w = walk(db, root, opts, &mut |_, _| {});
    problems.extend(w.problems.iter().cloned());
    let mut o = MsObject {
        name: name.to_string(),
        table: table.to_string(),
        kind,
        objid,
        pgno_fdp: root,
        primary_extent: 0,
        multiple_extent: false,
        owned: 0,
        available: 0,
        depth: w.depth,
        tree_pages: w.pages.len(),
        space_tree_pages: 0,
        owned_extents: Vec::new(),
        available_extents: Vec::new(),
    };
    let bytes = db.read_page(root).ok();
    let class = bytes.as_ref().map(|b| db.classify(root, b));
    let page = bytes
        .filter(|_| class.as_ref().is_some_and(|c| c.is_readable_data()))
        .and_then(|b| Page::new(root, b).ok());
    let Some(page) = page else {
        let what = class
            .map(|c| format!(" (it is a {})", c.kind.describe()))
            .unwrap_or_default();
        problems.push(Problem {
            pgno: root,
            tree: root,
            jet: Jet::DATABASE_CORRUPTED,
            detail: format!("root page of {name} cannot be read{what}"),
        });
        return o;
    };
    match space_of(db, &page, opts) {
        Ok(sp) => {
            o.primary_extent = sp.header.cpg_primary;
            o.multiple_extent = sp.header.multiple_extent();
            o.owned = sp.owned_pages();
            o.available = sp.avail_pages();
            o.space_tree_pages = [&sp.oe, &sp.ae]
                .into_iter()
                .flatten()
                .map(|t| t.pages.len())
                .sum();
            for t in [&sp.oe, &sp.ae].into_iter().flatten() {
                problems.extend(t.problems.iter().cloned());
            }
            problems.extend(sp.problems.iter().cloned());
            o.owned_extents = sp.owned.iter().map(|e| (e.first, e.last)).collect();
            o.available_extents = sp.avail.iter().map(|e| (e.first, e.last, e.pool)).collect();
        }
        Err(p) => problems.push(p),
    }
    o
}

/// Builds the `/ms` document.
pub fn gather(db: &Database, file: String) -> MsReport {
    let mut problems = Vec::new();
    let mut objects = vec![object(
        db,
        "<database>",
        "",
        "database",
        DB_OBJID,
        DB_ROOT,
        &mut problems,
    )];
    let cat = read_catalog(
        db,
        CATALOG_ROOT,
        WalkOptions {
            objid: Some(2),
            max_dbtime: 0,
        },
    );
    for t in cat.tables() {
        objects.push(object(
            db,
            &t.name,
            &t.name,
            "table",
            t.objid,
            t.pgno_fdp,
            &mut problems,
        ));
        if let Some((objid, pg)) = t.long_values {
            objects.push(object(
                db,
                "<Long Values>",
                &t.name,
                "long_value",
                objid,
                pg,
                &mut problems,
            ));
        }
        for ix in &t.indexes {
            if ix.pgno_fdp != t.pgno_fdp {
                objects.push(object(
                    db,
                    &ix.name,
                    &t.name,
                    "index",
                    ix.objid,
                    ix.pgno_fdp,
                    &mut problems,
                ));
            }
        }
    }
    MsReport {
        tool: "eseutil-rs",
        version: env!("CARGO_PKG_VERSION"),
        mode: "ms",
        file,
        page_size: db.page_size,
        page_count: db.page_count,
        objects,
        problems,
    }
}

/// Runs `/ms`.
pub fn run(args: &DbArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let verbose = ctx.common.verbose;
    super::mm::run_dump(
        args,
        ctx,
        out,
        gather,
        |r: &MsReport| !r.problems.is_empty(),
        |r| render::db::ms(r, verbose),
    )
}
