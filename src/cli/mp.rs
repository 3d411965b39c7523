//! `/mp`: dump a flush-map file (`.jfm`).

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{write_json, Ctx, ModeResult};
use crate::checksum::{ecc_block_checksum, legacy_page_checksum, page_format, ChecksumFormat};
use crate::error::{Error, FormatError, Jet};
use crate::file::{identify, FileKind, Input};
use crate::parse::flush_map::{parse_data_page_header, read_flush_map_header, FM_PAGE_SIZE};
use crate::render;

/// Arguments of `/mp`.
#[derive(Debug, Args)]
pub struct MpArgs {
    /// The flush-map file (`*.jfm`).
    pub file: PathBuf,
    /// Dump this data page instead of the header (eseutil /p; -1 = header).
    #[arg(long, allow_negative_numbers = true, default_value_t = -1)]
    pub page: i64,
}

use super::stdout_err as io_err;

/// Runs `/mp`.
pub fn run(args: &MpArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let path = &args.file;
    let shown = path.display().to_string();
    if !ctx.common.json {
        write!(
            out,
            "Initiating FILE DUMP mode...\nFlush map file: {shown}\n\n"
        )
        .map_err(io_err)?;
    }
    let mut input = Input::open(path)?;
    let head = input.read_at(0, FM_PAGE_SIZE)?;
    let kind = identify(&head);
    if kind != FileKind::FlushMap {
        return Err(super::wrong_kind(path, kind, "a flush map"));
    }
    let hdr = read_flush_map_header(&head).map_err(|e| Error::corrupt(path, e))?;
    if args.page < -1 {
        return Err(Error::Usage(format!(
            "--page {}: must be -1 (header) or a data page number",
            args.page
        )));
    }
    if args.page == -1 {
        if ctx.common.json {
            let doc = serde_json::json!({
                "tool": "eseutil-rs", "version": env!("CARGO_PKG_VERSION"), "mode": "mp",
                "file": shown, "file_size": input.len,
                "data_pages": input.len / FM_PAGE_SIZE as u64 - 1,
                "stored_checksum": format!("0x{:08x}", hdr.stored_checksum),
                "computed_checksum": format!("0x{:08x}", hdr.computed_checksum),
                "header": hdr.header,
                "clean": hdr.header.clean(),
                "version_text": hdr.header.version_text(),
            });
            write_json(out, &doc)?;
        } else {
            let mut t = render::flush_map::header(&hdr);
            t.push_str("\n\n");
            out.write_all(t.as_bytes()).map_err(io_err)?;
        }
        return Ok(super::exit::OK);
    }
    let off = (args.page as u64 + 1) * FM_PAGE_SIZE as u64;
    let page = input.read_at(off, FM_PAGE_SIZE)?;
    if page.len() < FM_PAGE_SIZE {
        return Err(Error::corrupt(
            path,
            FormatError::new(
                off,
                Jet::READ_VERIFY_FAILURE,
                format!("data page {} lies beyond the end of the file", args.page),
            ),
        ));
    }
    if page.iter().all(|&b| b == 0) {
        if !ctx.common.json {
            out.write_all(b"\nFlush map data page is empty.\n\n\n")
                .map_err(io_err)?;
        }
        return Ok(super::exit::OK);
    }
    let d = parse_data_page_header(&page).map_err(|e| Error::corrupt(path, e.at_base(off)))?;
    let fmpgno = args.page as u32;
    let computed = match page_format(&page) {
        ChecksumFormat::Ecc => ecc_block_checksum(&page, fmpgno, true),
        ChecksumFormat::Xor => legacy_page_checksum(&page, fmpgno).1,
    };
    let ok = computed == d.checksum;
    if ctx.common.json {
        let doc = serde_json::json!({
            "tool": "eseutil-rs", "version": env!("CARGO_PKG_VERSION"), "mode": "mp",
            "file": shown, "page": args.page, "data_page": d,
            "computed_checksum": format!("0x{computed:016x}"), "checksum_ok": ok,
        });
        write_json(out, &doc)?;
    } else {
        let states = ctx
            .common
            .verbose
            .then(|| crate::parse::flush_map::flush_states(&page));
        let mut t = render::flush_map::data_page(&d, computed, states.as_deref());
        t.push_str("\n\n");
        out.write_all(t.as_bytes()).map_err(io_err)?;
    }
    Ok(if ok {
        super::exit::OK
    } else {
        super::exit::DAMAGE
    })
}
