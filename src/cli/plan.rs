//! `plan PATH…`: say what soft recovery needs and will do (no eseutil
//! equivalent). Reads databases, checkpoints and log folders
//! ([`crate::plan::gather`]), plans ([`crate::plan::plan`]) and prints the
//! plan as sections of plain text or as one JSON document.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{write_json, Ctx, ModeResult};
use crate::error::Error;
use crate::plan::{gather, plan};
use crate::report::plan::PlanReport;

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Databases, checkpoints, log files, base names (`DIR/edb`) or folders.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

/// Runs `plan`.
pub fn run(args: &PlanArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let facts = gather(&args.paths)?;
    let p = plan(&facts);
    let code = if p.ok {
        super::exit::OK
    } else {
        super::exit::DAMAGE
    };
    if ctx.common.json {
        let rep = PlanReport {
            tool: "eseutil-rs",
            version: env!("CARGO_PKG_VERSION"),
            mode: "plan",
            inputs: args.paths.iter().map(|p| p.display().to_string()).collect(),
            recovery_implemented: true,
            plan: &p,
            exit_status: code,
        };
        write_json(out, &rep)?;
    } else {
        let text = crate::render::plan::plan(&p, ctx.color, ctx.common.verbose);
        out.write_all(text.as_bytes())
            .map_err(|e| Error::io(PathBuf::from("<stdout>"), e))?;
    }
    if code != super::exit::OK {
        let first = p
            .streams
            .iter()
            .flat_map(|s| s.problems.iter())
            .map(|x| x.jet)
            .next();
        ctx.terminated.set(first);
    }
    Ok(code)
}
