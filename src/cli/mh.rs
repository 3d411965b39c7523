//! `/mh`: dump a database header.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{write_json, Ctx, ModeResult};
use crate::db::classify::{classify, expect_ecc_for, PageKind};
use crate::error::{Error, FormatError, Jet};
use crate::file::{identify, FileKind, Input};
use crate::parse::db_header::{read_header_pair, read_unverified, DbHeaderPair};
use crate::parse::patch::{check_against_header, read_patch_page, PatchHeader};
use crate::render;
use crate::report::header::MhReport;

/// Arguments of `/mh`.
#[derive(Debug, Args)]
pub struct MhArgs {
    /// The database file.
    pub file: PathBuf,
    /// Force a page size instead of detecting it (eseutil /2 /4 /8 /16 /32).
    #[arg(long)]
    pub page_size: Option<usize>,
}

use super::stdout_err as io_err;

/// Runs `/mh`.
pub fn run(args: &MhArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let path = &args.file;
    let shown = path.display().to_string();
    if !ctx.common.json {
        write!(
            out,
            "Initiating FILE DUMP mode...\n         Database: {shown}\n\n"
        )
        .map_err(io_err)?;
    }
    let mut input = Input::open(path)?;
    let probe = input.probe()?;
    let kind = identify(&probe);
    match kind {
        FileKind::Patch => return run_patch(path, shown, &mut input, ctx, out),
        FileKind::Database | FileKind::TempDatabase => {}
        FileKind::Unknown
            if probe.len() >= 8
                && crate::parse::u32_at(&probe, 4) == crate::parse::db_header::MAGIC => {}
        other => return Err(super::wrong_kind(path, other, "a database")),
    }
    let mut probe = probe;
    if let Some(ps) = args.page_size {
        if !crate::parse::db_header::PAGE_SIZES.contains(&ps) {
            return Err(Error::Usage(format!(
                "--page-size {ps}: must be 2048, 4096, 8192, 16384 or 32768"
            )));
        }
        probe.truncate(2 * ps);
    }
    let pair = read_verified_pair(path, &probe, ctx, out)?;
    let mut damaged = pair.damaged();
    let (patch, patch_error, last_kind) = trailer_of(&mut input, &pair)?;
    damaged |= patch_error.is_some();
    if ctx.common.json {
        let mut report = MhReport::new(shown, input.len, kind, &pair);
        report.patch_page = patch.clone();
        report.last_page = last_kind;
        report.patch_page_error = patch_error.as_ref().map(|e| e.to_string());
        write_json(out, &report)?;
    } else {
        let text = render::header::database_dump(
            &pair,
            patch.as_ref(),
            patch_error.as_ref(),
            input.len,
            ctx.common.verbose,
            ctx.color,
        );
        out.write_all(text.as_bytes()).map_err(io_err)?;
    }
    Ok(if damaged {
        super::exit::DAMAGE
    } else {
        super::exit::OK
    })
}

/// Reads the header pair; when neither copy verifies, prints (text mode)
/// what the primary claims under `-v` and the two warnings, and fails.
fn read_verified_pair(
    path: &std::path::Path,
    probe: &[u8],
    ctx: &Ctx,
    out: &mut dyn Write,
) -> Result<DbHeaderPair, Error> {
    let e = match read_header_pair(probe) {
        Ok(p) => return Ok(p),
        Err(e) => e,
    };
    if !ctx.common.json {
        if let (true, Some((_, copy))) = (ctx.common.verbose, read_unverified(probe)) {
            let text = render::header::header_copy(
                "DATABASE HEADER (UNVERIFIED):",
                &copy,
                None,
                ctx.color,
            );
            out.write_all(text.as_bytes()).map_err(io_err)?;
        }
        writeln!(out).map_err(io_err)?;
        writeln!(out, "WARNING: primary header has a checksum error.").map_err(io_err)?;
        writeln!(out, "WARNING: shadow header has a checksum error.").map_err(io_err)?;
    }
    Err(if e.detail.starts_with("not an ESE file") {
        Error::not_ese(path, e)
    } else {
        Error::corrupt(path, e)
    })
}

/// `/mh` on a `.pat` patch file: its patch page and shadow.
fn run_patch(
    path: &std::path::Path,
    shown: String,
    input: &mut Input,
    ctx: &Ctx,
    out: &mut dyn Write,
) -> ModeResult {
    // Two pages of the largest size at most: the file is small by format.
    let bytes = input.read_at(0, 2 * 32768)?;
    let f = crate::parse::patch::read_patch_file(&bytes, input.len)
        .map_err(|e| Error::corrupt(path, e))?;
    let warnings = crate::report::header::patch_file_warnings(&f);
    if ctx.common.json {
        let report = crate::report::header::PatchFileReport::new(shown, input.len, &f);
        write_json(out, &report)?;
    } else {
        let text = render::header::patch_file(&f, &warnings, ctx.color);
        out.write_all(text.as_bytes()).map_err(io_err)?;
    }
    Ok(if warnings.is_empty() {
        super::exit::OK
    } else {
        super::exit::DAMAGE
    })
}

/// The trailer page, why it cannot be used, and the class of the last page.
type TrailerState = (Option<PatchHeader>, Option<FormatError>, Option<PageKind>);

/// The trailer (patch) page of a streaming-backup copy: a database keeps its
/// final backup state in its last page (docs/format/backup.md §1) when the header
/// says so (bkinfoFullCur genLow set, genHigh 0); the last page is also read
/// when the shared classification calls it a trailer. Returns the page, why
/// it cannot be used (-535 / -552), and the class of the last page.
fn trailer_of(
    input: &mut Input,
    pair: &crate::parse::db_header::DbHeaderPair,
) -> Result<TrailerState, Error> {
    let h = pair.header();
    let ps = pair.page_size as u64;
    let last = if input.len >= 3 * ps {
        let phys = input.len / ps;
        let page = input.read_at((phys - 1) * ps, ps as usize)?;
        let kind = classify(&page, phys, phys, expect_ecc_for(ps as usize)).kind;
        Some(((phys - 1) * ps, page, kind))
    } else {
        None
    };
    let needs = h.bkinfo_full_cur.gen_low != 0 && h.bkinfo_full_cur.gen_high == 0;
    let kind = last.as_ref().map(|l| l.2);
    if !needs && kind != Some(PageKind::Trailer) {
        return Ok((None, None, kind));
    }
    let res = match &last {
        None => Err(FormatError::new(
            input.len,
            Jet::DATABASE_CORRUPTED,
            "file too short to hold a backup trailer page",
        )),
        Some((off, page, _)) => read_patch_page(page)
            .and_then(|p| {
                // Once genHigh is in the header the trailer is only left over.
                if needs {
                    check_against_header(&p, h)?;
                }
                Ok(p)
            })
            .map_err(|e| e.at_base(*off)),
    };
    Ok(match res {
        Ok(p) => (Some(p), None, kind),
        Err(e) => (None, Some(e), kind),
    })
}
