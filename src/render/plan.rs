//! Text rendering of a recovery plan: plain sections an administrator can
//! read (no eseutil equivalent exists, so the layout is ours).

use std::fmt::Write;

use super::color::{bad, good, state};
use crate::plan::{LoggedDatabase, Plan, StreamPlan};

fn verdict_line(s: &StreamPlan, color: bool) -> String {
    match s.verdict {
        "nothing_to_do" => good("NOTHING TO DO: every database is in Clean Shutdown", color),
        "ready" => good("READY: soft recovery can proceed", color),
        "hard_recovery" => good(
            "RESTORED BACKUP SET: hard recovery (/cc) replays it; no current log by design",
            color,
        ),
        _ => bad(
            "BLOCKED: recovery cannot complete until the problems below are solved",
            color,
        ),
    }
}

fn logged(s: &mut String, d: &LoggedDatabase, verbose: bool) {
    let how = match d.outcome {
        "recreated" => "re-created from the logs (CreateDB): no file needed".to_string(),
        "replayed" => format!(
            "replayed onto {}",
            d.file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        ),
        "missing" => "MISSING: the database file is needed (-1216 JET_errAttachedDatabaseMismatch)"
            .to_string(),
        "skipped" => {
            "absent; detached again in the replayed logs, its records are skipped".to_string()
        }
        o => o.to_string(),
    };
    let _ = writeln!(s, "    dbid {}  {}", d.dbid, d.path);
    if let Some(sig) = &d.sign_db {
        let _ = writeln!(s, "        Signature: {}", sig.eseutil_text());
    }
    let entry = match d.enters {
        "attach_list" => "attach list where redo starts",
        "created" => "CreateDB record",
        "attached" => "AttachDB record",
        _ => "DetachDB record",
    };
    let _ = writeln!(s, "        Enters redo by: {entry}");
    let shown = if verbose { d.records.len() } else { 8 };
    for r in d.records.iter().take(shown) {
        let extra = match r.lgpos_consistent {
            Some(c) => format!(" (database consistent at {})", c.eseutil_text()),
            None => String::new(),
        };
        let _ = writeln!(
            s,
            "        {:<7} at {}{extra}",
            r.kind,
            r.lgpos.eseutil_text()
        );
    }
    if d.records.len() > shown {
        let _ = writeln!(
            s,
            "        ... {} more records (-v lists them all)",
            d.records.len() - shown
        );
    }
    let _ = writeln!(
        s,
        "        Attached after redo: {}",
        if d.attached_at_end {
            "yes"
        } else {
            "no (detached)"
        }
    );
    let _ = writeln!(s, "        Outcome: {how}");
}

/// One stream's sections.
/// The stream's signature, base name, folder and verdict.
fn stream_head(s: &mut String, p: &StreamPlan, color: bool) {
    let _ = writeln!(
        s,
        "Log stream: {}",
        p.sign_log
            .map(|x| x.eseutil_text())
            .unwrap_or_else(|| "unknown".into())
    );
    let _ = writeln!(
        s,
        "    Base name: {}",
        p.base
            .as_deref()
            .unwrap_or("unknown (no log or checkpoint given)")
    );
    if let Some(d) = &p.log_dir {
        let _ = writeln!(s, "    Log folder: {}", d.display());
    }
    let _ = writeln!(s, "  Verdict: {}", verdict_line(p, color));
    let _ = writeln!(s, "  {}", p.summary);
    s.push('\n');
}

/// Each database given: state, logs required, verdict.
fn databases_given(s: &mut String, p: &StreamPlan, color: bool) {
    if !p.databases.is_empty() {
        let _ = writeln!(s, "Databases:");
        for d in &p.databases {
            let _ = writeln!(s, "    {}", d.path.display());
            let _ = writeln!(s, "        State: {}", state(d.state_name, color));
            if d.state != 3 {
                let _ = writeln!(
                    s,
                    "        Log Required: {}-{} (0x{:x}-0x{:x})",
                    d.required.0, d.required.1, d.required.0, d.required.1
                );
                let _ = writeln!(
                    s,
                    "        Log Committed max: {} (0x{:x})",
                    d.committed_max, d.committed_max
                );
                let _ = writeln!(s, "        Required files: {}", d.required_files.join(", "));
            }
            let v = match d.verdict {
                "clean" => good("clean: nothing needed", color),
                "can_recover" => good("can be brought to Clean Shutdown", color),
                "hard_recovery" => good(
                    "backup copy: hard recovery (/cc) brings it to Clean Shutdown",
                    color,
                ),
                _ => bad("cannot be recovered yet", color),
            };
            let _ = writeln!(s, "        Verdict: {v}");
            for x in &d.problems {
                let _ = writeln!(
                    s,
                    "        Error {} ({}): {}",
                    x.jet.code, x.jet.name, x.message
                );
            }
        }
        s.push('\n');
    }
}

/// The checkpoint and where redo starts and ends.
fn checkpoint_and_redo(s: &mut String, p: &StreamPlan) {
    if let Some(c) = &p.checkpoint {
        let _ = writeln!(s, "Checkpoint:");
        let _ = writeln!(s, "    File: {}", c.path.display());
        let _ = writeln!(
            s,
            "    Checkpoint: {}  generation 0x{:X} ({})",
            c.lgpos.eseutil_text(),
            c.lgpos.generation,
            c.file_name
        );
        let _ = writeln!(
            s,
            "    Attach list in checkpoint: {}",
            if c.attach_info_present { "yes" } else { "no" }
        );
        s.push('\n');
    }

    if p.redo_start.is_some() || !p.logs.is_empty() {
        let _ = writeln!(s, "Redo:");
        if let Some(r) = p.redo_start {
            let _ = writeln!(
                s,
                "    Starts at: {}  {}",
                r.eseutil_text(),
                p.redo_start_reason
            );
        }
        if let Some(e) = p.redo_end_generation {
            let _ = writeln!(s, "    Ends with generation: 0x{e:X}");
        }
        s.push('\n');
    }
}

/// Each log file: generation, status, role.
fn log_files(s: &mut String, p: &StreamPlan, color: bool, verbose: bool) {
    if !p.logs.is_empty() {
        let _ = writeln!(s, "Log files:");
        for l in &p.logs {
            let g = l
                .generation
                .map(|g| format!("0x{g:X}"))
                .unwrap_or_else(|| "?".into());
            let role = match l.role {
                "replayed" => "replayed",
                "before_start" => "not needed (before redo start)",
                "misnamed" => "MISNAMED (not replayed: another generation's name)",
                _ => "FOREIGN (another log stream)",
            };
            let st = match l.status {
                "ok" => good("OK", color),
                "patchable" => "OK (torn write, patched by recovery)".to_string(),
                _ => bad("DAMAGED", color),
            };
            let _ = writeln!(s, "    {:<16} gen {:<8} {st:<4}  {role}", l.file_name, g);
            if let Some(x) = &l.problem {
                let _ = writeln!(
                    s,
                    "        Error {} ({}): {}",
                    x.jet.code, x.jet.name, x.message
                );
            }
            if verbose {
                if let Some(sig) = &l.signature {
                    let _ = writeln!(s, "        Signature: {sig}");
                }
            }
        }
        s.push('\n');
    }
}

/// The log files missing.
fn missing_logs(s: &mut String, p: &StreamPlan) {
    if !p.missing.is_empty() || p.current_log_missing {
        let _ = writeln!(s, "Missing log files:");
        for m in &p.missing {
            let _ = writeln!(s, "    {}", m.text);
        }
        if p.current_log_missing {
            if let Some(b) = &p.base {
                let why = if p.backup_sets.is_empty() {
                    ""
                } else {
                    ": none by design in a restored backup set"
                };
                let _ = writeln!(s, "    {b}.log (current log){why}");
            }
        }
        s.push('\n');
    }
}

/// The databases the replayed logs name, and those created before the start.
fn logged_databases(s: &mut String, p: &StreamPlan, verbose: bool) {
    if !p.logged_databases.is_empty() {
        let _ = writeln!(s, "Databases named by the replayed logs:");
        for d in &p.logged_databases {
            logged(s, d, verbose);
        }
        s.push('\n');
    }
    if !p.rebuildable_without_checkpoint.is_empty() {
        let _ = writeln!(s, "Databases created by the logs before the redo start:");
        for d in &p.rebuildable_without_checkpoint {
            logged(s, d, verbose);
        }
        s.push('\n');
    }
}

/// Problems, notes and what to do.
fn problems_notes_steps(s: &mut String, p: &StreamPlan, color: bool) {
    if !p.problems.is_empty() {
        let _ = writeln!(s, "Problems:");
        for x in &p.problems {
            let _ = writeln!(
                s,
                "    {} {} ({}): {}",
                bad("Error", color),
                x.jet.code,
                x.jet.name,
                x.message
            );
        }
        s.push('\n');
    }
    if !p.notes.is_empty() {
        let _ = writeln!(s, "Notes:");
        for n in &p.notes {
            let _ = writeln!(s, "    {n}");
        }
        s.push('\n');
    }
    if !p.steps.is_empty() {
        let _ = writeln!(s, "What to do:");
        for (i, st) in p.steps.iter().enumerate() {
            let _ = writeln!(s, "    {}. {st}", i + 1);
        }
        s.push('\n');
    }
}

/// One stream of the plan, section by section.
pub fn stream(p: &StreamPlan, color: bool, verbose: bool) -> String {
    let mut s = String::new();
    stream_head(&mut s, p, color);
    databases_given(&mut s, p, color);
    checkpoint_and_redo(&mut s, p);
    log_files(&mut s, p, color, verbose);
    missing_logs(&mut s, p);
    logged_databases(&mut s, p, verbose);
    problems_notes_steps(&mut s, p, color);
    s
}

/// The whole plan.
pub fn plan(p: &Plan, color: bool, verbose: bool) -> String {
    let mut s = String::from("Initiating RECOVERY PLAN mode...\n\n");
    for (i, st) in p.streams.iter().enumerate() {
        if p.streams.len() > 1 {
            let _ = writeln!(s, "===== {} of {} =====", i + 1, p.streams.len());
        }
        s.push_str(&stream(st, color, verbose));
    }
    if !p.ignored.is_empty() {
        let _ = writeln!(s, "Files not used:");
        for (f, why) in &p.ignored {
            let _ = writeln!(s, "    {}: {why}", f.display());
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "Overall: {}",
        if p.ok {
            good("recovery can proceed (or nothing is needed)", color)
        } else {
            bad("something recovery requires is missing or broken", color)
        }
    );
    s.push('\n');
    s
}
