//! `/g`: structural integrity check (read-only: no temporary database, no
//! writes). Exit status 1 (DAMAGE) when a violation is found.

use std::io::Write;

use super::mm::{io_err, open, DbArgs};
use super::{write_json, Ctx, ModeResult};
use crate::db::check::check;
use crate::error::Jet;
use crate::render;
use crate::report::db::GReport;

/// Runs `/g`.
pub fn run(args: &DbArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let shown = args.file.display().to_string();
    if !ctx.common.json {
        write!(
            out,
            "Initiating INTEGRITY mode...\n        Database: {shown}\n  Temp. Database: (none: eseutil-rs checks in place, read-only)\n\n"
        )
        .map_err(io_err)?;
    }
    let db = open(args)?;
    let len = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let bar = super::activity(ctx, "Integrity check", len, Some(db.bytes_read.clone()));
    let (r, _) = check(&db);
    if let Some(b) = bar {
        b.finish();
    }
    let code = if r.violations.is_empty() {
        super::exit::OK
    } else {
        let j = if r
            .violations
            .iter()
            .all(|v| v.jet == Jet::READ_VERIFY_FAILURE)
        {
            Jet::READ_VERIFY_FAILURE
        } else {
            Jet::DATABASE_CORRUPTED
        };
        ctx.terminated.set(Some(j));
        super::exit::DAMAGE
    };
    let report = GReport::new(shown, r, code);
    if ctx.common.json {
        write_json(out, &report)?;
    } else {
        out.write_all(render::db::g(&report, ctx.common.verbose).as_bytes())
            .map_err(io_err)?;
    }
    Ok(code)
}
