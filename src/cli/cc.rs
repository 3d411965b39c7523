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

use super::{write_json, Ctx, ModeResult};
use crate::error::Error;
use crate::recovery::hard::{hard_recover_from, restore_inputs, HardOptions};
use crate::report::recovery::HardRecovery;

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

/// Before replay: the output folder can be written and nothing there is
/// replaced that is not an earlier output of this restore (see `/r`; log
/// headers only, the records are checked before commit).
fn preflight(args: &CcArgs, base: &str) -> Result<(), Error> {
    use crate::recovery::output::check_writable_dir;
    let logs = args
        .logs
        .clone()
        .unwrap_or_else(|| args.restore_dir.clone());
    let mut expected = super::r::expected_outputs(&logs, base, &logs);
    if let Some(pf) = &args.play_forward {
        expected.add_log_headers(pf, base);
        expected.add_checkpoint(&pf.join(format!("{base}.chk")));
    }
    check_writable_dir(&args.output)?;
    expected.check_replaceable(&args.output, args.force)
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
        refuse_replacing: !args.force,
        progress: None,
        io: args.io.options(false, ctx.common.hash_algorithm),
    };
    // restore.env is read once: its base name serves the checks below.
    let inputs = restore_inputs(&o);
    let base = match &inputs {
        Ok(i) => i.base.clone(),
        Err(_) => args.base.clone().unwrap_or_else(|| "edb".into()),
    };
    preflight(args, &base)?;
    let inputs = inputs?;
    super::interrupt::on_interrupt(args.output.clone(), None);
    let (bar, progress) = super::r::progress_bar(ctx);
    let o = HardOptions { progress, ..o };
    let rep = hard_recover_from(&o, inputs);
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
    let doc = HardRecovery {
        tool: "eseutil-rs",
        version: env!("CARGO_PKG_VERSION"),
        mode: "cc",
        restore_dir: args.restore_dir.clone(),
        target_instance: args.target_instance.clone(),
        output: args.output.clone(),
        report: &rep,
        compare,
        exit_status: code as i32,
    };
    if ctx.common.json {
        write_json(out, &doc)?;
    } else {
        out.write_all(crate::render::recovery::hard(&doc).as_bytes())
            .map_err(|e| Error::io(PathBuf::from("<stdout>"), e))?;
    }
    if let Some(e) = &rep.recovery.error {
        ctx.terminated.set(e.jet());
    }
    Ok(code)
}
