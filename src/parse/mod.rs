//! Pure, zero-copy nom parsers, one module per on-disk structure.
//!
//! Nothing here performs I/O or prints: every parser takes a byte slice and
//! returns a typed view or a [`crate::error::FormatError`] that
//! names the offset (relative to the slice) and the JET error the engine would
//! raise. Facts come from Microsoft's MIT-licensed ESE source (repository
//! microsoft/Extensible-Storage-Engine, commit 7030fe74), as restated in
//! `docs/format/`; each module cites its file and section.

pub mod attach_info;
pub mod checkpoint;
pub mod db_header;
pub mod flush_map;
pub mod header_checksum;
pub mod log_header;
pub mod page;
pub mod patch;
pub mod primitives;
pub mod restore_env;

use crate::error::{FormatError, Jet};

/// Parser input: a byte slice.
pub type Input<'a> = &'a [u8];

/// nom result over [`Input`].
pub type PResult<'a, T> = nom::IResult<Input<'a>, T>;

/// Requires `input` to hold at least `need` bytes, else a truncation error
/// carrying `jet`.
pub fn need(input: &[u8], need: usize, what: &str, jet: Jet) -> Result<(), FormatError> {
    if input.len() < need {
        Err(FormatError::new(
            input.len() as u64,
            jet,
            format!(
                "{what} is truncated: {} bytes present, {need} needed",
                input.len()
            ),
        ))
    } else {
        Ok(())
    }
}

/// Runs a nom parser over an input already checked for length; a nom failure
/// there is an internal inconsistency and is reported as `jet` at offset 0.
pub fn run<'a, T>(
    input: Input<'a>,
    what: &str,
    jet: Jet,
    mut parser: impl nom::Parser<Input<'a>, Output = T, Error = nom::error::Error<Input<'a>>>,
) -> Result<T, FormatError> {
    match parser.parse(input) {
        Ok((_, v)) => Ok(v),
        Err(e) => {
            let off = match &e {
                nom::Err::Error(e) | nom::Err::Failure(e) => input.len() - e.input.len(),
                nom::Err::Incomplete(_) => input.len(),
            };
            Err(FormatError::new(
                off as u64,
                jet,
                format!("cannot decode {what}"),
            ))
        }
    }
}

/// Reads a little-endian u32 at `off` (caller guarantees bounds).
#[inline]
pub(crate) fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Reads a little-endian u64 at `off` (caller guarantees bounds).
#[inline]
pub(crate) fn u64_at(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_le_bytes(a)
}

/// Reads a little-endian u16 at `off` (caller guarantees bounds).
#[inline]
pub(crate) fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_le_bytes([b[off], b[off + 1]])
}
