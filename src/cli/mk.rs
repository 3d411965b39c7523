//! `/mk`: dump a checkpoint file.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{write_json, Ctx, ModeResult};
use crate::error::{Error, FormatError, Jet};
use crate::file::{identify, FileKind, Input};
use crate::parse::checkpoint::{read_checkpoint_pair, CHECKPOINT_COPY_SIZE};
use crate::render;
use crate::report::checkpoint::{warnings, MkReport};

/// Arguments of `/mk`.
#[derive(Debug, Args)]
pub struct MkArgs {
    /// The checkpoint file (`edb.chk`, `E00.chk`, `*.jcp`).
    pub file: PathBuf,
}

use super::stdout_err as io_err;

/// Runs `/mk`.
pub fn run(args: &MkArgs, ctx: &Ctx, out: &mut dyn Write) -> ModeResult {
    let path = &args.file;
    let shown = path.display().to_string();
    if !ctx.common.json {
        write!(
            out,
            "Initiating FILE DUMP mode...\n      Checkpoint file: {shown}\n\n"
        )
        .map_err(io_err)?;
    }
    let mut input = Input::open(path)?;
    let bytes = input.read_at(0, 2 * CHECKPOINT_COPY_SIZE)?;
    let kind = identify(&bytes);
    if kind != FileKind::Checkpoint {
        return Err(super::wrong_kind(path, kind, "a checkpoint"));
    }
    if bytes.len() < CHECKPOINT_COPY_SIZE {
        return Err(Error::corrupt(
            path,
            FormatError::new(
                bytes.len() as u64,
                Jet::CHECKPOINT_CORRUPT,
                format!(
                    "checkpoint is truncated: {} bytes, 8192 expected",
                    bytes.len()
                ),
            ),
        ));
    }
    let pair = read_checkpoint_pair(&bytes).map_err(|e| match e.jet {
        Jet::FILE_INVALID_TYPE => Error::not_ese(path, e),
        _ => Error::corrupt(path, e),
    })?;
    let damaged = pair.damaged() || pair.checkpoint().attach_list_error.is_some();
    if ctx.common.json {
        write_json(out, &MkReport::new(shown, input.len, &pair))?;
    } else {
        let mut text = render::checkpoint::checkpoint(pair.checkpoint());
        let w = warnings(&pair);
        if !w.is_empty() {
            text.push('\n');
            for line in w {
                text.push_str(&render::color::bad(&line, ctx.color));
                text.push('\n');
            }
        }
        text.push('\n');
        out.write_all(text.as_bytes()).map_err(io_err)?;
    }
    Ok(if damaged {
        super::exit::DAMAGE
    } else {
        super::exit::OK
    })
}
