//! The checkpoint file (CHECKPOINT, `<base>.chk` / `.jcp`).
//!
//! Facts: `inc/log.hxx` ~232–292 and `_log/log.cxx` ~2553–2620 (reading),
//! restated in `docs/format/checkpoint.md`. The file is 8192 bytes:
//! two 4096-byte copies (primary at 0, shadow at 4096), each protected by the
//! legacy XOR checksum over its 4096 bytes.

use nom::bytes::complete::take;
use nom::number::complete::{le_u32, le_u8};
use serde::Serialize;

use super::attach_info::{parse_attach_list, AttachInfo};
use super::header_checksum::{legacy_header_checksum, stored_header_checksum};
use super::primitives::{
    dbms_param, lgpos, log_time, signature, DbmsParam, Lgpos, LogTime, Signature,
};
use super::{need, run, Input, PResult};
use crate::error::{FormatError, Jet};

/// Size of one checkpoint copy.
pub const CHECKPOINT_COPY_SIZE: usize = 4096;
/// `fVersion` bit 0: the attach list is valid.
pub const ATTACH_INFO_PRESENT: u8 = 1;

/// One checkpoint copy.
#[doc(alias = "CHECKPOINT")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    /// @0 stored checksum.
    pub checksum: u32,
    /// @4 checkpoint of the last full backup.
    pub lgpos_last_full_backup_checkpoint: Lgpos,
    /// @12 the checkpoint: redo starts here.
    pub lgpos_checkpoint: Lgpos,
    /// @20 log stream signature.
    pub sign_log: Signature,
    /// @48 engine parameters.
    pub dbms_param: DbmsParam,
    /// @615 last full backup position.
    pub lgpos_full_backup: Lgpos,
    /// @623 its time.
    pub logtime_full_backup: LogTime,
    /// @631 last incremental backup position.
    pub lgpos_inc_backup: Lgpos,
    /// @639 its time.
    pub logtime_inc_backup: LogTime,
    /// @647 format version flags (bit 0: attach list present).
    pub version: u8,
    /// @648 database consistency position.
    pub lgpos_db_consistency: Lgpos,
    /// @667 file type (4, or 0 on old files).
    pub file_type: u32,
    /// @679 attached databases (only when `version & 1`).
    pub attachments: Vec<AttachInfo>,
    /// Offset in the attach area where decoding of a damaged list stopped.
    pub attach_list_error: Option<usize>,
}

fn fixed(i: Input<'_>) -> PResult<'_, Checkpoint> {
    let (i, checksum) = le_u32(i)?;
    let (i, lgpos_last_full_backup_checkpoint) = lgpos(i)?;
    let (i, lgpos_checkpoint) = lgpos(i)?;
    let (i, sign_log) = signature(i)?;
    let (i, dbms_param) = dbms_param(i)?;
    let (i, lgpos_full_backup) = lgpos(i)?;
    let (i, logtime_full_backup) = log_time(i)?;
    let (i, lgpos_inc_backup) = lgpos(i)?;
    let (i, logtime_inc_backup) = log_time(i)?;
    let (i, version) = le_u8(i)?;
    let (i, lgpos_db_consistency) = lgpos(i)?;
    let (i, _reserved) = take(11usize)(i)?;
    let (i, file_type) = le_u32(i)?;
    let (i, _reserved2) = take(8usize)(i)?;
    Ok((
        i,
        Checkpoint {
            checksum,
            lgpos_last_full_backup_checkpoint,
            lgpos_checkpoint,
            sign_log,
            dbms_param,
            lgpos_full_backup,
            logtime_full_backup,
            lgpos_inc_backup,
            logtime_inc_backup,
            version,
            lgpos_db_consistency,
            file_type,
            attachments: Vec::new(),
            attach_list_error: None,
        },
    ))
}

/// Offset of the attach area.
pub const ATTACH_OFFSET: usize = 679;

/// Parses one 4096-byte checkpoint copy (fields only; no checksum check).
pub fn parse_checkpoint(copy: &[u8]) -> Result<Checkpoint, FormatError> {
    need(
        copy,
        CHECKPOINT_COPY_SIZE,
        "checkpoint",
        Jet::CHECKPOINT_CORRUPT,
    )?;
    let mut c = run(
        &copy[..ATTACH_OFFSET],
        "checkpoint",
        Jet::CHECKPOINT_CORRUPT,
        fixed,
    )?;
    if c.version & ATTACH_INFO_PRESENT != 0 {
        let (list, err) = parse_attach_list(&copy[ATTACH_OFFSET..CHECKPOINT_COPY_SIZE]);
        c.attachments = list;
        c.attach_list_error = err;
    }
    Ok(c)
}

/// One verified checkpoint copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointCopy {
    /// Stored checksum.
    pub stored_checksum: u32,
    /// Recomputed checksum.
    pub computed_checksum: u32,
    /// Whether they match.
    pub checksum_ok: bool,
    /// Decoded fields.
    pub checkpoint: Checkpoint,
}

/// Both copies of a checkpoint file and which one is used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointPair {
    /// Copy at offset 0.
    pub primary: CheckpointCopy,
    /// Copy at offset 4096 (absent when the file is short).
    pub shadow: Option<CheckpointCopy>,
    /// Whether both 4096-byte copies are byte-identical.
    pub identical: bool,
    /// True when the shadow is the authoritative copy.
    pub used_shadow: bool,
}

impl CheckpointPair {
    /// The authoritative copy.
    pub fn checkpoint(&self) -> &Checkpoint {
        if self.used_shadow {
            &self.shadow.as_ref().expect("shadow").checkpoint
        } else {
            &self.primary.checkpoint
        }
    }

    /// Whether either copy is damaged or they differ.
    pub fn damaged(&self) -> bool {
        !self.primary.checksum_ok
            || !self.shadow.as_ref().is_some_and(|s| s.checksum_ok)
            || !self.identical
    }
}

fn copy_at(b: &[u8]) -> Result<CheckpointCopy, FormatError> {
    let checkpoint = parse_checkpoint(b)?;
    let stored = stored_header_checksum(b);
    let computed = legacy_header_checksum(&b[..CHECKPOINT_COPY_SIZE]);
    Ok(CheckpointCopy {
        stored_checksum: stored,
        computed_checksum: computed,
        checksum_ok: stored == computed,
        checkpoint,
    })
}

/// Reads both copies of a checkpoint file. Fails with `-533
/// JET_errCheckpointCorrupt` when neither verifies, and `-1812
/// JET_errFileInvalidType` when the file type is neither 0 nor 4.
pub fn read_checkpoint_pair(file: &[u8]) -> Result<CheckpointPair, FormatError> {
    let primary = copy_at(file)?;
    let shadow = if file.len() >= 2 * CHECKPOINT_COPY_SIZE {
        Some(copy_at(&file[CHECKPOINT_COPY_SIZE..])?)
    } else {
        None
    };
    let identical = file.len() >= 2 * CHECKPOINT_COPY_SIZE
        && file[..CHECKPOINT_COPY_SIZE] == file[CHECKPOINT_COPY_SIZE..2 * CHECKPOINT_COPY_SIZE];
    let used_shadow = !primary.checksum_ok && shadow.as_ref().is_some_and(|s| s.checksum_ok);
    if !primary.checksum_ok && !used_shadow {
        return Err(FormatError::new(
            0,
            Jet::CHECKPOINT_CORRUPT,
            format!(
                "neither checkpoint copy verifies (primary stored 0x{:08x}, computed 0x{:08x})",
                primary.stored_checksum, primary.computed_checksum
            ),
        ));
    }
    let pair = CheckpointPair {
        primary,
        shadow,
        identical,
        used_shadow,
    };
    let ft = pair.checkpoint().file_type;
    if ft != 0 && ft != 4 {
        return Err(FormatError::new(
            667 + if used_shadow {
                CHECKPOINT_COPY_SIZE as u64
            } else {
                0
            },
            Jet::FILE_INVALID_TYPE,
            format!("file type {ft} is not a checkpoint (4)"),
        ));
    }
    Ok(pair)
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
