//! The flush-map file (`.jfm`): header page and data-page header.
//!
//! Facts: `inc/flushmap.hxx` ~170–300 (structures and their static
//! asserts), `ese/flushmap.cxx` ~57–185 (geometry, checksum), ~2147–2260
//! (validation), ~3557–3938 (dump), `inc/daedef.hxx` ~2681 (version 3.0.0).
//! Pages are always 8192 bytes whatever the database page size: the header
//! at offset 0 (no shadow copy), data page `k` at `(k + 1) · 8192`. The header
//! uses the legacy XOR checksum over the whole 8 KiB page; data pages use the
//! XOR+ECC checksum with pgno = their flush-map page number. Each data page
//! holds a 64-byte header then 2 bits of flush state per database page
//! (32 512 database pages per map page).

use nom::number::complete::{le_i32, le_u32, le_u64};
use serde::Serialize;

use super::header_checksum::{legacy_header_checksum, stored_header_checksum};
use super::primitives::{log_time, signature, LogTime, Signature};
use super::{need, run, Input, PResult};
use crate::error::{FormatError, Jet};

/// Size of every flush-map page.
pub const FM_PAGE_SIZE: usize = 8192;
/// Size of FMFILEHDR.
pub const FM_HEADER_SIZE: usize = 671;
/// Size of a data page header.
pub const FM_DATA_HEADER_SIZE: usize = 64;
/// Database pages covered by one data page.
pub const DB_PAGES_PER_FM_PAGE: u32 = ((FM_PAGE_SIZE - FM_DATA_HEADER_SIZE) * 8 / 2) as u32;

/// The flush-map header (FMFILEHDR).
#[doc(alias = "FMFILEHDR")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlushMapHeader {
    /// @0 stored checksum.
    pub checksum: u32,
    /// @4 format major (3).
    pub version_major: u32,
    /// @8 update major.
    pub version_update_major: u32,
    /// @12 update minor.
    pub version_update_minor: u32,
    /// @36 flags: 0x1 clean, 0x2000 new checksum format (never set on the header).
    pub flags: u32,
    /// @40 creation time.
    pub logtime_create: LogTime,
    /// @48 last attach.
    pub logtime_attach: LogTime,
    /// @56 last detach.
    pub logtime_detach: LogTime,
    /// @64 minimum log generation needed to rebuild the map.
    pub gen_min_required: i32,
    /// @68 target of that while a full flush runs.
    pub gen_min_required_target: i32,
    /// @72 last full flush start.
    pub logtime_flush_last_started: LogTime,
    /// @80 last full flush completion.
    pub logtime_flush_last_completed: LogTime,
    /// @88 database header flush signature (pairs with DBFILEHDR @584).
    pub sign_db_hdr_flush: Signature,
    /// @116 flush-map header flush signature (pairs with DBFILEHDR @612).
    pub sign_flush_map_hdr_flush: Signature,
    /// @667 file type (7).
    pub file_type: u32,
}

impl FlushMapHeader {
    /// Clean flag.
    pub fn clean(&self) -> bool {
        self.flags & 1 != 0
    }
    /// `major.updateMajor.updateMinor`.
    pub fn version_text(&self) -> String {
        format!(
            "{}.{}.{}",
            self.version_major, self.version_update_major, self.version_update_minor
        )
    }
}

fn fm_header(i: Input<'_>) -> PResult<'_, FlushMapHeader> {
    let (i, checksum) = le_u32(i)?;
    let (i, version_major) = le_u32(i)?;
    let (i, version_update_major) = le_u32(i)?;
    let (i, version_update_minor) = le_u32(i)?;
    let (i, _pad) = nom::bytes::complete::take(20usize)(i)?;
    let (i, flags) = le_u32(i)?;
    let (i, logtime_create) = log_time(i)?;
    let (i, logtime_attach) = log_time(i)?;
    let (i, logtime_detach) = log_time(i)?;
    let (i, gen_min_required) = le_i32(i)?;
    let (i, gen_min_required_target) = le_i32(i)?;
    let (i, logtime_flush_last_started) = log_time(i)?;
    let (i, logtime_flush_last_completed) = log_time(i)?;
    let (i, sign_db_hdr_flush) = signature(i)?;
    let (i, sign_flush_map_hdr_flush) = signature(i)?;
    let (i, _pad2) = nom::bytes::complete::take(523usize)(i)?;
    let (i, file_type) = le_u32(i)?;
    Ok((
        i,
        FlushMapHeader {
            checksum,
            version_major,
            version_update_major,
            version_update_minor,
            flags,
            logtime_create,
            logtime_attach,
            logtime_detach,
            gen_min_required,
            gen_min_required_target,
            logtime_flush_last_started,
            logtime_flush_last_completed,
            sign_db_hdr_flush,
            sign_flush_map_hdr_flush,
            file_type,
        },
    ))
}

/// A verified flush-map header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifiedFlushMapHeader {
    /// Stored checksum.
    pub stored_checksum: u32,
    /// Recomputed checksum.
    pub computed_checksum: u32,
    /// Decoded fields.
    pub header: FlushMapHeader,
}

/// Reads and validates the header page as the engine's dump mode does
/// (`ErrValidateFmHdr_`): all-zero → -1019, checksum → -1018, file type ≠ 7 →
/// -1812. A newer version is reported by the caller, not rejected.
pub fn read_flush_map_header(page: &[u8]) -> Result<VerifiedFlushMapHeader, FormatError> {
    need(
        page,
        FM_PAGE_SIZE,
        "flush map header page",
        Jet::READ_VERIFY_FAILURE,
    )?;
    let page = &page[..FM_PAGE_SIZE];
    if page.iter().all(|&b| b == 0) {
        return Err(FormatError::new(
            0,
            Jet::PAGE_NOT_INITIALIZED,
            "flush map file header is empty",
        ));
    }
    let header = run(
        &page[..FM_HEADER_SIZE],
        "flush map header",
        Jet::READ_VERIFY_FAILURE,
        fm_header,
    )?;
    let stored = stored_header_checksum(page);
    let computed = legacy_header_checksum(page);
    if stored != computed {
        return Err(FormatError::new(
            0,
            Jet::READ_VERIFY_FAILURE,
            format!("flush map header checksum mismatch (stored 0x{stored:08x}, computed 0x{computed:08x})"),
        ));
    }
    if header.file_type != 7 {
        return Err(FormatError::new(
            667,
            Jet::FILE_INVALID_TYPE,
            format!("file type {} is not a flush map (7)", header.file_type),
        ));
    }
    Ok(VerifiedFlushMapHeader {
        stored_checksum: stored,
        computed_checksum: computed,
        header,
    })
}

/// The 64-byte header of a flush-map data page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlushMapDataPage {
    /// @0 stored XOR+ECC checksum.
    pub checksum: u64,
    /// @8 highest dbtime of the database pages covered.
    pub dbtime_max: u64,
    /// @16 flush-map page number (0-based).
    pub fmpgno: i32,
    /// @36 flags (0x2000 new checksum format).
    pub flags: u32,
}

/// Parses a data page header (no checksum check; see
/// [`crate::checksum::verify_page`] with pgno = fmpgno).
pub fn parse_data_page_header(page: &[u8]) -> Result<FlushMapDataPage, FormatError> {
    need(
        page,
        FM_DATA_HEADER_SIZE,
        "flush map data page",
        Jet::READ_VERIFY_FAILURE,
    )?;
    run(
        &page[..FM_DATA_HEADER_SIZE],
        "flush map data page",
        Jet::READ_VERIFY_FAILURE,
        |i| {
            let (i, checksum) = le_u64(i)?;
            let (i, dbtime_max) = le_u64(i)?;
            let (i, fmpgno) = le_i32(i)?;
            let (i, _pad) = nom::bytes::complete::take(16usize)(i)?;
            let (i, flags) = le_u32(i)?;
            let (i, _pad2) = nom::bytes::complete::take(24usize)(i)?;
            Ok((
                i,
                FlushMapDataPage {
                    checksum,
                    dbtime_max,
                    fmpgno,
                    flags,
                },
            ))
        },
    )
}

/// Flush state (0 unknown, 1 rock, 2 paper, 3 scissors) of database page
/// slot `i` in a data page: 2 bits, most significant first within a byte.
pub fn flush_state(page: &[u8], slot: u32) -> Option<u8> {
    let byte = FM_DATA_HEADER_SIZE + slot as usize / 4;
    let b = *page.get(byte)?;
    Some((b >> (6 - 2 * (slot % 4))) & 3)
}

/// Every flush state of a data page, slot by slot
/// ([`DB_PAGES_PER_FM_PAGE`] entries; slots past the end of a short page are 0).
pub fn flush_states(page: &[u8]) -> Vec<u8> {
    (0..DB_PAGES_PER_FM_PAGE)
        .map(|slot| flush_state(page, slot).unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_parser_ends_at_671() {
        let b = vec![0u8; FM_HEADER_SIZE];
        let (rest, _) = fm_header(&b).unwrap();
        assert!(rest.is_empty());
        assert_eq!(DB_PAGES_PER_FM_PAGE, 32512);
    }

    #[test]
    fn flush_state_bit_order() {
        let mut p = vec![0u8; 128];
        p[64] = 0b01_10_11_00;
        assert_eq!(flush_state(&p, 0), Some(1));
        assert_eq!(flush_state(&p, 1), Some(2));
        assert_eq!(flush_state(&p, 2), Some(3));
        assert_eq!(flush_state(&p, 3), Some(0));
    }
}
