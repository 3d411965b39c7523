//! Text rendering of `/mm`, `/ms` and `/g` in eseutil's layout
//! (`ese/dbutil.cxx`: `PrintTableBareMetaData`, `PrintIndexBareMetaData`,
//! `PrintTableMetaData`; the space dump's Name/Type/ObjidFDP/PgnoFDP/
//! PriExt/Owned/Available table).

use std::fmt::Write;

use crate::db::btree::Problem;
use crate::report::db::{key_text, GReport, MmReport, MsReport};

fn problem_lines(s: &mut String, title: &str, ps: &[Problem]) {
    if ps.is_empty() {
        return;
    }
    let _ = writeln!(s, "{title} ({}):", ps.len());
    for p in ps {
        let tree = if p.tree != 0 {
            format!(" (tree {})", p.tree)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "  page {}{tree}: {} [{} {}]",
            p.pgno, p.detail, p.jet.code, p.jet.name
        );
    }
    s.push('\n');
}

/// `/mm` text.
pub fn mm(r: &MmReport, verbose: bool) -> String {
    let mut s = String::new();
    s.push_str("******************************* META-DATA DUMP *******************************\n");
    s.push_str("Name                                               Type    ObjidFDP    PgnoFDP       Records\n");
    s.push_str("=============================================================================================\n");
    let short: String = r
        .file
        .rsplit('/')
        .next()
        .unwrap_or(&r.file)
        .chars()
        .take(51)
        .collect();
    let _ = writeln!(s, "{short:<51} Db   {:>10} {:>10}\n", 1, 1);
    for t in &r.tables {
        let _ = writeln!(
            s,
            "{:<51.51} Tbl  {:>10} {:>10} {:>13}",
            t.name, t.objid, t.pgno_fdp, t.records
        );
        if let Some(lv) = &t.long_values {
            let _ = writeln!(
                s,
                "  {:<49.49} LV   {:>10} {:>10} {:>13}",
                "<Long Values>", lv.objid, lv.pgno_fdp, lv.nodes
            );
        }
        for ix in &t.indexes {
            let kind = if ix.info.primary { "Pri" } else { "Idx" };
            let _ = writeln!(
                s,
                "  {:<49.49} {kind}  {:>10} {:>10} {:>13}",
                ix.info.name, ix.info.objid, ix.info.pgno_fdp, ix.entries
            );
        }
        if verbose {
            s.push_str(
                "    Column Name     Column Id  Column Type      Length  Code page  Flags\n",
            );
            s.push_str(
                "    --------------------------------------------------------------------\n",
            );
            for c in &t.columns {
                let _ = writeln!(
                    s,
                    "    {:<15.15} {:>9}  {:<15.15} {:>7}  {:>9}  0x{:x}",
                    c.name, c.id, c.type_name, c.max_length, c.codepage, c.flags
                );
            }
            s.push_str("    Index Name        PgnoFDP  ObjidFDP  Locale  Flags       Key\n");
            s.push_str("    ------------------------------------------------------------\n");
            for ix in &t.indexes {
                let _ = writeln!(
                    s,
                    "    {:<15.15} {:>9} {:>9}  {:>6}  0x{:08x}  {}",
                    ix.info.name,
                    ix.info.pgno_fdp,
                    ix.info.objid,
                    ix.info.locale,
                    ix.info.flags,
                    key_text(&ix.info.key_names, &ix.info.key)
                );
            }
            for (ty, name) in &t.callbacks {
                let _ = writeln!(s, "    Callback type {ty}: {name}");
            }
            s.push('\n');
        }
    }
    s.push_str(
        "******************************************************************************\n\n",
    );
    problem_lines(
        &mut s,
        "Problems met while reading the catalog and trees",
        &r.problems,
    );
    s
}

/// `/ms` text.
pub fn ms(r: &MsReport, verbose: bool) -> String {
    let mut s = String::new();
    s.push_str("******************************** SPACE DUMP **********************************\n");
    s.push_str("Name                           Type   ObjidFDP    PgnoFDP  PriExt      Owned  Available  Depth\n");
    s.push_str("==============================================================================================\n");
    for o in &r.objects {
        let (indent, ty) = match o.kind {
            "database" => ("", "Db "),
            "table" => ("  ", "Tbl"),
            "long_value" => ("    ", "LV "),
            _ => ("    ", "Idx"),
        };
        let name = format!("{indent}{}", o.name);
        let pri = format!(
            "{}-{}",
            o.primary_extent,
            if o.multiple_extent { "m" } else { "s" }
        );
        let _ = writeln!(
            s,
            "{name:<30.30} {ty}  {:>9} {:>10} {pri:>7} {:>10} {:>10} {:>6}",
            o.objid, o.pgno_fdp, o.owned, o.available, o.depth
        );
        if verbose {
            let ext = |v: Vec<String>| {
                if v.is_empty() {
                    "-".to_string()
                } else {
                    v.join(" ")
                }
            };
            let _ = writeln!(
                s,
                "{:32}owned: {}",
                "",
                ext(o
                    .owned_extents
                    .iter()
                    .map(|(a, b)| format!("{a}-{b}"))
                    .collect())
            );
            let _ = writeln!(
                s,
                "{:32}available: {}",
                "",
                ext(o
                    .available_extents
                    .iter()
                    .map(|(a, b, p)| if *p == 0 {
                        format!("{a}-{b}")
                    } else {
                        format!("{a}-{b}(pool {p})")
                    })
                    .collect())
            );
        }
    }
    s.push_str("----------------------------------------------------------------------------------------------\n\n");
    problem_lines(
        &mut s,
        "Problems met while reading space trees",
        &r.problems,
    );
    s
}

/// `/g` text.
pub fn g(r: &GReport, verbose: bool) -> String {
    let mut s = String::new();
    s.push_str("Checking database integrity.\n\n");
    s.push_str("                     Scanning Status (% complete)\n\n");
    s.push_str("          0    10   20   30   40   50   60   70   80   90  100\n");
    s.push_str("          |----|----|----|----|----|----|----|----|----|----|\n");
    s.push_str("          ...................................................\n\n");
    if verbose {
        s.push_str(
            "Tree                           Kind        ObjidFDP  PgnoFDP  Depth  Pages  Records\n",
        );
        for t in &r.trees {
            let _ = writeln!(
                s,
                "{:<30.30} {:<10} {:>9} {:>8} {:>6} {:>6} {:>8}",
                t.name,
                t.kind,
                t.objid,
                t.pgno_fdp,
                t.depth,
                t.pages + t.space_tree_pages,
                t.records
            );
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "{} trees checked; {} pages in trees, {} available, {} leaked, of {} pages.\n",
        r.trees.len(),
        r.pages_in_trees,
        r.pages_available,
        r.pages_unaccounted.len(),
        r.page_count
    );
    if let Some(t) = r.trailer_page {
        let _ = writeln!(
            s,
            "Page {t} is the backup trailer (patch) page of a streaming-backup copy: not a data page.\n"
        );
    }
    if r.pages_shrunk > 0 {
        let _ = writeln!(
            s,
            "{} page(s) released by a database shrink.\n",
            r.pages_shrunk
        );
    }
    problem_lines(&mut s, "Integrity violations", &r.violations);
    problem_lines(&mut s, "Warnings", &r.warnings);
    if r.dirty && r.backup_copy {
        s.push_str("Note: the database is a backup copy in Dirty Shutdown state; dbtimes newer than\nthe header are what an online backup leaves. Restore it with hard recovery (/cc) first.\n\n");
    } else if r.dirty {
        s.push_str("Note: the database is in Dirty Shutdown state; torn pages and dbtimes newer than\nthe header are what an interrupted shutdown leaves. Run recovery (/r) first.\n\n");
    }
    if r.violations.is_empty() {
        s.push_str("Integrity check successful.\n\n");
    } else {
        let _ = writeln!(
            s,
            "Integrity check found {} violation(s).\n",
            r.violations.len()
        );
    }
    s
}
