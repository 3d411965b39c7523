//! `/cc RESTOREDIR [/t[instance]] [/f logdir] [/k]`: hard recovery of a
//! restored backup ([`crate::recovery::hard`]).
//!
//! eseutil's meanings (`eseutil.cxx` ~4056–4240, `ErrDBUTLRestoreComplete`):
//! `/t` target instance, `/f` the folder holding the logs that follow the
//! restored ones (play forward), `/k` keep the restored logs. Here the
//! restored files are never written or deleted (`/k` is always true), the
//! target instance is only reported, and the database is rebuilt in
//! `--output` (default `./recovered/`). Without a restore.env (or with an
//! Exchange 2000/2003 binary one) the backup copy is named explicitly:
//! `--database FILE [--logs DIR] [--base BASE]`.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{write_json, Ctx, ModeResult};
use crate::error::Error;
use crate::recovery::hard::{hard_recover, HardOptions, HardReport};

/// Arguments of `/cc`.
#[derive(Debug, Args)]
pub struct CcArgs {
    /// The restore folder (restore.env, the restored database and logs).
    pub restore_dir: PathBuf,
    /// [/t] Target instance (reported only).
    #[arg(long = "target-instance", num_args = 0..=1, default_missing_value = "")]
    pub target_instance: Option<String>,
    /// [/f] Folder with the generations after the restored ones, up to the
    /// current log (play forward).
    #[arg(long = "play-forward")]
    pub play_forward: Option<PathBuf>,
    /// [/k] Keep the restored logs (always: inputs are never changed).
    #[arg(long = "keep-logs")]
    pub keep_logs: bool,
    /// The backup copy of the database, when there is no usable restore.env.
    #[arg(long)]
    pub database: Option<PathBuf>,
    /// Folder of the restored logs (default: the restore folder).
    #[arg(long)]
    pub logs: Option<PathBuf>,
    /// Log base name (default: restore.env's LOG_BASE_NAME, else `edb`).
    #[arg(long)]
    pub base: Option<String>,
    /// Output folder for the recovered databases.
    #[arg(long, default_value = "recovered")]
    pub output: PathBuf,
    /// Compare the recovered database page by page with DB (a report; the
    /// exit status does not change).
    #[arg(long = "compare-with", value_name = "DB")]
    pub compare_with: Option<PathBuf>,
    /// Replace a file in the output folder even when it is not an earlier
    /// output of this recovery.
    #[arg(long)]
    pub force: bool,
    /// Page cache and evidence options.
    #[command(flatten)]
    pub io: super::r::RecoveryIoArgs,
}

/// The log base name of the restore: `--base`, else restore.env's
/// LOG_BASE_NAME, else `edb`.
fn base_of(args: &CcArgs) -> String {
    if let Some(b) = &args.base {
        return b.clone();
    }
    super::cm::find_restore_env(&args.restore_dir)
        .ok()
        .and_then(|p| {
            crate::file::read_prefix(&p, crate::parse::restore_env::MAX_RESTORE_ENV_SIZE).ok()
        })
        .and_then(|b| crate::parse::restore_env::parse_restore_env(&b).ok())
        .and_then(|e| e.log_base_name)
        .unwrap_or_else(|| "edb".into())
}

/// Before replay: the output folder can be written and nothing there is
/// replaced that is not an earlier output of this restore (see `/r`).
fn preflight(args: &CcArgs) -> Result<(), Error> {
    use crate::recovery::output::{check_replaceable, check_writable_dir};
    let base = base_of(args);
    let logs = args
        .logs
        .clone()
        .unwrap_or_else(|| args.restore_dir.clone());
    let mut expected = super::r::expected_outputs(&logs, &base, &logs);
    if let Some(pf) = &args.play_forward {
        expected.extend(super::r::expected_outputs(pf, &base, pf));
    }
    check_writable_dir(&args.output)?;
    for (name, sigs) in expected {
        check_replaceable(&args.output.join(name), &sigs, args.force)?;
    }
    Ok(())
}

#[derive(Serialize)]
struct CcReport<'a> {
    tool: &'static str,
    version: &'static str,
    mode: &'static str,
    restore_dir: PathBuf,
    target_instance: Option<String>,
    output: PathBuf,
    #[serde(flatten)]
    report: &'a HardReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    compare: Option<crate::db::compare::CompareReport>,
    exit_status: i32,
}

/// Runs `/cc`.
pub fn run(args: &CcArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let o = HardOptions {
        restore_dir: args.restore_dir.clone(),
        database: args.database.clone(),
        logs: args.logs.clone(),
        base: args.base.clone(),
        play_forward: args.play_forward.clone(),
        output: args.output.clone(),
        io: args.io.options(false),
    };
    preflight(args)?;
    super::interrupt::on_interrupt(args.output.clone(), None);
    let bar = super::r::progress_bar(ctx);
    let rep = hard_recover(&o);
    super::r::finish_progress(bar);
    let rep = rep?;
    let code = super::r::exit_code(&rep.recovery);
    let compare = args.compare_with.as_deref().map(|w| {
        let outs: Vec<PathBuf> = rep
            .recovery
            .databases
            .iter()
            .map(|d| d.output.clone())
            .collect();
        super::r::compare_outputs(&rep.recovery, &outs, w)
    });
    if ctx.common.json {
        write_json(
            out,
            &CcReport {
                tool: "eseutil-rs",
                version: env!("CARGO_PKG_VERSION"),
                mode: "cc",
                restore_dir: args.restore_dir.clone(),
                target_instance: args.target_instance.clone(),
                output: args.output.clone(),
                report: &rep,
                compare,
                exit_status: code as i32,
            },
        )?;
    } else {
        let mut t = text(&rep, args);
        if let Some(c) = &compare {
            t.push_str(&crate::render::compare::compare_text(c));
        }
        out.write_all(t.as_bytes())
            .map_err(|e| Error::io(PathBuf::from("<stdout>"), e))?;
    }
    if let Some(e) = &rep.recovery.error {
        ctx.terminated.set(Some(e.jet));
    }
    Ok(code)
}

fn text(r: &HardReport, a: &CcArgs) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(s, "Initiating HARD RECOVERY mode...");
    if let Some(e) = &r.restore_env {
        let _ = writeln!(s, "{:>20} {}", "Using restore environment", e.display());
    }
    let _ = writeln!(s, "Restoring ....");
    if let Some(t) = &a.target_instance {
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
    let _ = writeln!(s, "        Output folder: {}", a.output.display());
    let _ = writeln!(s);
    s.push_str(&super::r::report_text(&r.recovery));
    s
}
