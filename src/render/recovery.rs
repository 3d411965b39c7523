//! Text of `/r` and `/cc` (eseutil's "Initiating RECOVERY mode..." and
//! "Initiating HARD RECOVERY mode..." headings, then the run: redo start,
//! generations, counters, databases, inputs, verification, what was not
//! recovered).

use std::fmt::Write;

use crate::recovery::verify::{ChecksumCheck, Verification};
use crate::recovery::Report;
use crate::report::recovery::{HardRecovery, SoftRecovery};

/// The text of `/r`.
pub fn soft(d: &SoftRecovery) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Initiating RECOVERY mode...");
    let _ = writeln!(s, "    Logfile base name: {}", d.base);
    let _ = writeln!(s, "            Log files: {}", d.log_dir.display());
    let _ = writeln!(s, "         System files: {}", d.system_dir.display());
    let _ = writeln!(s, "       Database files: {}", d.db_dir.display());
    let _ = writeln!(s, "        Output folder: {}", d.output.display());
    let _ = writeln!(s);
    s.push_str(&run(d.report));
    for p in &d.replaced_in_place {
        let _ = writeln!(s, "Replaced in place: {}", p.display());
    }
    if let Some(why) = &d.no_database_written {
        let _ = write!(s, "\nNo database was written: {why}\n");
    }
    if d.in_place && d.report.error.is_some() {
        s.push_str("--in-place: recovery stopped; databases replayed in place were left in Dirty Shutdown (run /r again), nothing else in the database folder was changed\n");
    }
    if let Some(c) = &d.compare {
        s.push_str(&super::compare::compare_text(c));
    }
    s
}

/// The text of `/cc`.
pub fn hard(d: &HardRecovery) -> String {
    let r = d.report;
    let mut s = String::new();
    let _ = writeln!(s, "Initiating HARD RECOVERY mode...");
    if let Some(e) = &r.restore_env {
        let _ = writeln!(s, "{:>20} {}", "Using restore environment", e.display());
    }
    let _ = writeln!(s, "Restoring ....");
    if let Some(t) = &d.target_instance {
        let _ = writeln!(s, "Target Instance: {t}");
    }
    let _ = writeln!(s, "    Logfile base name: {}", r.log_base_name);
    let _ = writeln!(
        s,
        "    Restored logs: {} generations 0x{:X} - 0x{:X}",
        r.restored_log_dir.display(),
        r.restored_generations.0,
        r.restored_generations.1
    );
    if let Some(pf) = &r.play_forward {
        let g: Vec<String> = r
            .play_forward_generations
            .iter()
            .map(|g| format!("0x{g:X}"))
            .collect();
        let _ = writeln!(
            s,
            "    Play forward: {} ({})",
            pf.display(),
            if g.is_empty() {
                "nothing after the restored logs".to_string()
            } else {
                g.join(", ")
            }
        );
    }
    for b in &r.backups {
        let _ = writeln!(
            s,
            "    Backup copy: {} ({} backup, mark {}, generations 0x{:X} - 0x{:X}{})",
            b.file.display(),
            b.kind,
            b.mark.eseutil_text(),
            b.gen_low,
            b.gen_high,
            if b.from_trailer {
                ", genHigh from the trailer page"
            } else {
                ""
            }
        );
        if let Some(p) = &b.patch_file {
            let what = match &p.patch {
                Some(h) => format!(
                    "patch page of generations 0x{:X} - 0x{:X}, agrees with the header{}",
                    h.bkinfo.gen_low,
                    h.bkinfo.gen_high,
                    if p.checked_against_trailer {
                        " and the trailer page"
                    } else {
                        ""
                    }
                ),
                None => "empty".to_string(),
            };
            let _ = writeln!(s, "    Patch file: {} ({what})", p.path.display());
        }
    }
    let _ = writeln!(s, "        Output folder: {}", d.output.display());
    let _ = writeln!(s);
    s.push_str(&run(&r.recovery));
    if let Some(c) = &d.compare {
        s.push_str(&super::compare::compare_text(c));
    }
    s
}

/// The redo/undo part of the text (shared by `/r` and `/cc`).
pub fn run(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Redo start: {}",
        match r.redo_start {
            Some(p) => format!("{} ({})", p.eseutil_text(), r.redo_start_reason),
            None => r.redo_start_reason.clone(),
        }
    );
    let gens: Vec<String> = r.generations.iter().map(|g| format!("0x{g:X}")).collect();
    let _ = writeln!(s, "Generations replayed: {}", gens.join(", "));
    if let Some(e) = r.redo_end {
        let _ = writeln!(s, "End of logs: {}", e.eseutil_text());
    }
    for t in &r.torn_records {
        let _ = writeln!(s, "Note: {} ({} bytes).", t.text(), t.bytes);
    }
    let st = &r.stats;
    let _ = writeln!(s, "Records: {}", st.records);
    let _ = writeln!(
        s,
        "Page operations: {} redone, {} already applied, {} dbtime mismatches",
        st.pages_redone,
        st.pages_already_applied,
        st.mismatches.len()
    );
    let _ = writeln!(
        s,
        "Transactions: {} begun, {} committed, {} rollback records, {} open at end",
        st.trx_begun,
        st.trx_committed,
        st.rollbacks,
        st.trx_open_at_end.len()
    );
    let _ = writeln!(
        s,
        "Macros (split/merge): {} committed, {} aborted",
        st.macros_committed, st.macros_aborted
    );
    let _ = writeln!(
        s,
        "Undo: {} session(s) rolled back at the end, {} operation(s) undone, {} failure(s)",
        r.undo.sessions_rolled_back.len(),
        r.undo.operations_undone,
        r.undo.failures.len()
    );
    let bi = &st.before_images;
    let _ = writeln!(
        s,
        "Logged page before-images: {} compared, {} equal to the redone page ({} with the same byte placement), {} used to restart a split/merge",
        bi.checked, bi.matched, bi.same_placement, bi.used
    );
    let _ = writeln!(s);
    for d in &r.databases {
        let _ = writeln!(
            s,
            "Database {} -> {}: {}, {} pages, {} pages written, dbtime 0x{:x}{}",
            d.logged_path,
            d.output.display(),
            d.state,
            d.page_count,
            d.pages_written,
            d.dbtime,
            if d.created {
                ", recreated from CreateDB"
            } else {
                ""
            }
        );
    }
    if !r.inputs.is_empty() {
        let _ = writeln!(s);
        let _ = writeln!(s, "Inputs ({}):", r.input_check.describe());
        for i in &r.inputs {
            let same = match (i.written_in_place, i.unchanged) {
                (true, _) => "written in place (--in-place)",
                (false, true) => "unchanged",
                (false, false) => "CHANGED",
            };
            let hash = i.hash_before.as_deref().unwrap_or("(not hashed)");
            let _ = writeln!(s, "  {hash} {same} {}", i.path.display());
        }
    }
    if let Some(v) = &r.verification {
        let _ = writeln!(s);
        s.push_str(&verification(v));
    }
    for n in &r.not_recovered {
        let _ = writeln!(s, "Not recovered: {n}");
    }
    if let Some(e) = &r.error {
        let _ = writeln!(s);
        let _ = writeln!(s, "Recovery stopped: {e}");
    }
    s
}

/// How `/k` was made: "full scan", or "N from the copy pass, M read back".
fn k_method(c: &ChecksumCheck) -> String {
    if c.method == "full scan" {
        return c.method.to_string();
    }
    format!(
        "{} from the {}, {} read back",
        c.pages_from_pass, c.method, c.pages_read
    )
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "FAILED"
    }
}

/// The verification section of the report.
fn verification(v: &Verification) -> String {
    let mut s = String::new();
    let head = match (v.passed, v.jet) {
        (true, _) => "passed".to_string(),
        (false, Some(j)) => format!("FAILED ({j}): nothing was renamed into place"),
        (false, None) => "FAILED: nothing was renamed into place".to_string(),
    };
    let _ = writeln!(s, "Verification before commit: {head}");
    let w = &v.writes;
    let _ = writeln!(
        s,
        "  Page writes: {} operations redone, {} page writes, {} pages written: {}",
        w.pages_redone,
        w.page_writes,
        w.pages_written,
        verdict(w.passed)
    );
    let b = &v.before_images;
    let _ = writeln!(
        s,
        "  Logged before-images: {} compared, {} equal, {} differ: {}",
        b.checked,
        b.matched,
        b.differences,
        verdict(b.passed)
    );
    let h = &v.attach_history;
    let _ = writeln!(
        s,
        "  Attach/detach history: {} records, {} attached at start, {} database(s) expected, {} produced: {}",
        h.records,
        h.attached_at_start,
        h.databases_expected,
        h.databases_produced,
        verdict(h.passed)
    );
    for d in &v.databases {
        let _ = writeln!(
            s,
            "  {}: {}/{} written pages read back; header dbtime 0x{:x}, highest page dbtime 0x{:x} (page {}); /k {} pages ({}), {} bad; /g ({}) {} trees, {} violations: {}",
            d.logged_path,
            d.pages_read_back,
            d.pages_written,
            d.header_dbtime,
            d.highest_page_dbtime,
            d.highest_page_dbtime_pgno,
            d.checksum.pages_seen,
            k_method(&d.checksum),
            d.checksum.bad,
            d.structure.scope,
            d.structure.trees_checked,
            d.structure.violations,
            verdict(d.passed)
        );
    }
    for f in &v.failures {
        let _ = writeln!(s, "  Failed: {f}");
    }
    s
}
