//! The transaction-log file header (LGFILEHDR), both log formats.
//!
//! Facts: `inc/log.hxx` ~141–212 (layout), `_log/log.cxx` ~924–1008
//! (validation), `inc/_logstream.hxx` ~27 (`FIsOldLrckLogFormat`: major ≤ 7),
//! restated in `docs/format/logs.md` §2–§4. The header occupies
//! the first 4096 bytes of every log file and is protected by the legacy XOR
//! checksum over those 4096 bytes. Format 7.x logs use the disk sector size
//! (512 typical, `csecHeader` = 8); format 8.x uses 4096-byte segments.

use nom::bytes::complete::take;
use nom::number::complete::{le_i32, le_u16, le_u32, le_u64, le_u8};
use serde::Serialize;

use super::attach_info::{parse_attach_list, AttachInfo};
use super::header_checksum::{legacy_header_checksum, stored_header_checksum};
use super::primitives::{
    dbms_param, lgpos, log_time, signature, DbmsParam, Lgpos, LogTime, Signature,
};
use super::{need, run, Input, PResult};
use crate::error::{FormatError, Jet};

/// Size of the log file header.
pub const LOG_HEADER_SIZE: usize = 4096;
/// Offset of the attach area.
pub const ATTACH_OFFSET: usize = 671;

/// The log file header.
#[doc(alias = "LGFILEHDR")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogHeader {
    /// @0 stored checksum.
    pub checksum: u32,
    /// @4 generation of this file.
    pub generation: i32,
    /// @8 bytes per sector (7.x) or segment (8.x, always 4096).
    pub cb_sec: u16,
    /// @10 header size in sectors.
    pub csec_header: u16,
    /// @12 file size in sectors.
    pub csec_lg_file: u16,
    /// @14 database page size of the instance (0 = 4096).
    pub cb_page_size: u16,
    /// @16 creation time of this generation.
    pub create_time: LogTime,
    /// @24 creation time of the previous generation.
    pub prev_gen_time: LogTime,
    /// @32 format major version (7 or 8).
    pub major: u32,
    /// @36 format minor version (3704 or 4000).
    pub minor: u32,
    /// @40 format update-major.
    pub update_major: u32,
    /// @44 log stream signature.
    pub sign_log: Signature,
    /// @72 engine parameters.
    pub dbms_param: DbmsParam,
    /// @639 flags: 0x1 reserve log in use, 0x2 circular logging on, 0x4 circular logging was on.
    pub lg_flags: u8,
    /// @640 checkpoint when this log was created.
    pub lgpos_checkpoint: Lgpos,
    /// @648 format update-minor.
    pub update_minor: u32,
    /// @652 disk sector size hint (0 unknown, 1 matches, 2..5 = 512..4096, 255 non-standard).
    pub disk_sec_size_mismatch: u8,
    /// @653 accumulated segment checksum of the previous generation (8.x).
    pub checksum_prev_log_all_segments: u64,
    /// @661 engine format version of the writer.
    pub efv_engine_current: u32,
    /// @667 file type (3, or 0 on old files).
    pub file_type: u32,
    /// @671 attached databases.
    pub attachments: Vec<AttachInfo>,
    /// Offset in the attach area where decoding of a damaged list stopped.
    pub attach_list_error: Option<usize>,
}

impl LogHeader {
    /// Whether this is the legacy LRCHECKSUM format (major ≤ 7).
    pub fn is_legacy_format(&self) -> bool {
        self.major <= 7
    }

    /// `major.minor.updateMajor.updateMinor`.
    pub fn version_text(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.major, self.minor, self.update_major, self.update_minor
        )
    }

    /// Expected file size in bytes (`csecLGFile · cbSec`).
    pub fn expected_file_size(&self) -> u64 {
        self.csec_lg_file as u64 * self.cb_sec as u64
    }

    /// Circular logging on in this file.
    pub fn circular_now(&self) -> bool {
        self.lg_flags & 2 != 0
    }

    /// Circular logging was on in the past.
    pub fn circular_past(&self) -> bool {
        self.lg_flags & 4 != 0
    }

    /// This file was a reserve log.
    pub fn reserve_log_used(&self) -> bool {
        self.lg_flags & 1 != 0
    }

    /// The suffix eseutil prints after `Env Log Sec size: N` (logdump.cxx).
    pub fn sector_size_note(&self) -> &'static str {
        match self.disk_sec_size_mismatch {
            0 => " (legacy, unknown actual)",
            1 => " (matches)",
            2 => " (actual @ log gen 512)",
            3 => " (actual @ log gen 1024)",
            4 => " (actual @ log gen 2048)",
            5 => " (actual @ log gen 4096)",
            _ => " (actual @ log gen NON-STANDARD)",
        }
    }
}

fn fixed(i: Input<'_>) -> PResult<'_, LogHeader> {
    let (i, checksum) = le_u32(i)?;
    let (i, generation) = le_i32(i)?;
    let (i, cb_sec) = le_u16(i)?;
    let (i, csec_header) = le_u16(i)?;
    let (i, csec_lg_file) = le_u16(i)?;
    let (i, cb_page_size) = le_u16(i)?;
    let (i, create_time) = log_time(i)?;
    let (i, prev_gen_time) = log_time(i)?;
    let (i, major) = le_u32(i)?;
    let (i, minor) = le_u32(i)?;
    let (i, update_major) = le_u32(i)?;
    let (i, sign_log) = signature(i)?;
    let (i, dbms_param) = dbms_param(i)?;
    let (i, lg_flags) = le_u8(i)?;
    let (i, lgpos_checkpoint) = lgpos(i)?;
    let (i, update_minor) = le_u32(i)?;
    let (i, disk_sec_size_mismatch) = le_u8(i)?;
    let (i, checksum_prev_log_all_segments) = le_u64(i)?;
    let (i, efv_engine_current) = le_u32(i)?;
    let (i, _reserved) = take(2usize)(i)?;
    let (i, file_type) = le_u32(i)?;
    Ok((
        i,
        LogHeader {
            checksum,
            generation,
            cb_sec,
            csec_header,
            csec_lg_file,
            cb_page_size,
            create_time,
            prev_gen_time,
            major,
            minor,
            update_major,
            sign_log,
            dbms_param,
            lg_flags,
            lgpos_checkpoint,
            update_minor,
            disk_sec_size_mismatch,
            checksum_prev_log_all_segments,
            efv_engine_current,
            file_type,
            attachments: Vec::new(),
            attach_list_error: None,
        },
    ))
}

/// Parses the fields of a log header (no checksum or consistency check).
pub fn parse_log_header_fields(b: &[u8]) -> Result<LogHeader, FormatError> {
    need(b, LOG_HEADER_SIZE, "log file header", Jet::LOG_FILE_CORRUPT)?;
    let mut h = run(
        &b[..ATTACH_OFFSET],
        "log file header",
        Jet::LOG_FILE_CORRUPT,
        fixed,
    )?;
    let (list, err) = parse_attach_list(&b[ATTACH_OFFSET..LOG_HEADER_SIZE]);
    h.attachments = list;
    h.attach_list_error = err;
    Ok(h)
}

/// A log header with its checksum verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedLogHeader {
    /// Stored checksum.
    pub stored_checksum: u32,
    /// Recomputed checksum.
    pub computed_checksum: u32,
    /// Decoded fields.
    pub header: LogHeader,
}

/// Reads and validates a log header the way `ErrLGIReadFileHeader` does:
/// checksum (`-501 JET_errLogFileCorrupt`), file type 0 or 3 (`-1812
/// JET_errFileInvalidType`), a sector size that fits the format (8.x must use
/// 4096, `-501`), and a sane header length.
pub fn read_log_header(b: &[u8]) -> Result<VerifiedLogHeader, FormatError> {
    let header = parse_log_header_fields(b)?;
    let stored = stored_header_checksum(b);
    let computed = legacy_header_checksum(&b[..LOG_HEADER_SIZE]);
    if stored != computed {
        return Err(FormatError::new(
            0,
            Jet::LOG_FILE_CORRUPT,
            format!("log file header checksum mismatch (stored 0x{stored:08x}, computed 0x{computed:08x})"),
        ));
    }
    if header.file_type != 0 && header.file_type != 3 {
        return Err(FormatError::new(
            667,
            Jet::FILE_INVALID_TYPE,
            format!("file type {} is not a log file (3)", header.file_type),
        ));
    }
    let sec = header.cb_sec as usize;
    let sane_sec = matches!(sec, 512 | 1024 | 2048 | 4096);
    if !sane_sec || (!header.is_legacy_format() && sec != 4096) {
        return Err(FormatError::new(
            8,
            Jet::LOG_FILE_CORRUPT,
            format!(
                "sector size {sec} is not valid for log format {}",
                header.version_text()
            ),
        ));
    }
    if header.csec_header as usize * sec < LOG_HEADER_SIZE
        || header.csec_lg_file <= header.csec_header
    {
        return Err(FormatError::new(
            10,
            Jet::LOG_FILE_CORRUPT,
            format!(
                "header sectors {} / file sectors {} are inconsistent with sector size {sec}",
                header.csec_header, header.csec_lg_file
            ),
        ));
    }
    Ok(VerifiedLogHeader {
        stored_checksum: stored,
        computed_checksum: computed,
        header,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_part_ends_at_attach_area() {
        let b = vec![0u8; 4096];
        let (rest, _) = fixed(&b).unwrap();
        assert_eq!(b.len() - rest.len(), ATTACH_OFFSET);
    }
}
