//! Building blocks shared by every ESE header: LOGTIME, SIGNATURE, LGPOS,
//! BKINFO and DBMS_PARAM.
//!
//! Facts: `inc/daedef.hxx` of the ESE source (LOGTIME ~2208, SIGNATURE ~2297,
//! LGPOS ~871, BKINFO ~2305, DBMS_PARAM ~3835), restated in
//! `docs/format/primitives.md`. All integers are little-endian and the
//! structures are byte-packed.

use nom::bytes::complete::take;
use nom::number::complete::{le_i32, le_u16, le_u32, le_u8};
use nom::Parser;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use super::{Input, PResult};

/// LOGTIME: an 8-byte broken-down timestamp (`inc/daedef.hxx` ~2208).
///
/// Byte 0 seconds, 1 minutes, 2 hours, 3 day, 4 month (1–12 in real files,
/// although the source comment says 0–11), 5 year − 1900, byte 6 bit 0 = UTC
/// flag and bits 1–7 = low 7 bits of the milliseconds, byte 7 bits 1–3 = high
/// 3 bits of the milliseconds (bit 0 reserved). The time is whatever clock the
/// writer used: local time unless the UTC flag is set. We never convert it.
#[doc(alias = "LOGTIME")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct LogTime {
    /// The 8 raw bytes.
    pub raw: [u8; 8],
}

impl LogTime {
    /// Size on disk.
    pub const SIZE: usize = 8;

    /// Seconds (0–59, 60 tolerated).
    pub fn seconds(&self) -> u8 {
        self.raw[0]
    }
    /// Minutes.
    pub fn minutes(&self) -> u8 {
        self.raw[1]
    }
    /// Hours.
    pub fn hours(&self) -> u8 {
        self.raw[2]
    }
    /// Day of month.
    pub fn day(&self) -> u8 {
        self.raw[3]
    }
    /// Month as stored (1–12 in practice).
    pub fn month(&self) -> u8 {
        self.raw[4]
    }
    /// Full year (stored byte + 1900).
    pub fn year(&self) -> u32 {
        1900 + self.raw[5] as u32
    }
    /// Milliseconds, rebuilt from the two split fields.
    pub fn millis(&self) -> u16 {
        ((self.raw[6] >> 1) as u16) | ((((self.raw[7] >> 1) & 7) as u16) << 7)
    }
    /// Whether the writer flagged the time as UTC.
    pub fn is_utc(&self) -> bool {
        self.raw[6] & 1 != 0
    }
    /// Byte 7 bit 0, `fReserved` ("OS snapshot" in the source comment).
    pub fn reserved_bit(&self) -> bool {
        self.raw[7] & 1 != 0
    }
    /// "Set" as the engine defines it (`FIsSet`): any byte non-zero.
    pub fn is_set(&self) -> bool {
        self.raw != [0; 8]
    }

    /// eseutil's rendering, `MM/DD/YYYY HH:MM:SS.mmm UTC|LOC`
    /// (`DUMPPrintLogTime`, `ese/dbdump.cxx` ~65).
    pub fn eseutil_text(&self) -> String {
        format!(
            "{} {}",
            self.eseutil_text_no_zone(),
            if self.is_utc() { "UTC" } else { "LOC" }
        )
    }

    /// The same without the zone marker (signature times print this way).
    pub fn eseutil_text_no_zone(&self) -> String {
        format!(
            "{:02}/{:02}/{:04} {:02}:{:02}:{:02}.{:03}",
            self.month(),
            self.day(),
            self.year(),
            self.hours(),
            self.minutes(),
            self.seconds(),
            self.millis()
        )
    }

    /// ISO-8601 text (`YYYY-MM-DDTHH:MM:SS.mmm`, with `Z` only when the UTC flag
    /// is set), or `None` when the time is unset.
    pub fn iso8601(&self) -> Option<String> {
        if !self.is_set() {
            return None;
        }
        Some(format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{}",
            self.year(),
            self.month(),
            self.day(),
            self.hours(),
            self.minutes(),
            self.seconds(),
            self.millis(),
            if self.is_utc() { "Z" } else { "" }
        ))
    }
}

impl Serialize for LogTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("LogTime", 6)?;
        st.serialize_field("iso8601", &self.iso8601())?;
        st.serialize_field("eseutil", &self.eseutil_text())?;
        st.serialize_field("utc", &self.is_utc())?;
        st.serialize_field(
            "time_zone",
            if self.is_utc() {
                "UTC"
            } else {
                "local time of the writer"
            },
        )?;
        st.serialize_field("reserved_bit", &self.reserved_bit())?;
        st.serialize_field("raw", &hex(&self.raw))?;
        st.end()
    }
}

/// Parses a LOGTIME.
pub fn log_time(i: Input<'_>) -> PResult<'_, LogTime> {
    let (i, b) = take(8usize)(i)?;
    let mut raw = [0u8; 8];
    raw.copy_from_slice(b);
    Ok((i, LogTime { raw }))
}

/// SIGNATURE: 28 bytes identifying a database or a log stream
/// (`inc/daedef.hxx` ~2297): u32 random number, LOGTIME of creation, 16-byte
/// NUL-padded ANSI computer name. Compared byte for byte everywhere.
#[doc(alias = "SIGNATURE")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Signature {
    /// Random number.
    pub random: u32,
    /// Creation time.
    pub create_time: LogTime,
    /// Computer name bytes (NUL padded).
    pub computer: [u8; 16],
}

impl Signature {
    /// Size on disk.
    pub const SIZE: usize = 28;

    /// The computer name up to the first NUL, as Latin-1 text.
    pub fn computer_name(&self) -> String {
        let end = self.computer.iter().position(|&b| b == 0).unwrap_or(16);
        self.computer[..end].iter().map(|&b| b as char).collect()
    }

    /// eseutil's rendering `Create time:MM/DD/YYYY HH:MM:SS.mmm Rand:N Computer:NAME`
    /// (`SigToSz`, daedef.hxx ~3258): no zone marker.
    pub fn eseutil_text(&self) -> String {
        format!(
            "Create time:{} Rand:{} Computer:{}",
            self.create_time.eseutil_text_no_zone(),
            self.random,
            self.computer_name()
        )
    }

    /// Whether all 28 bytes are zero (logging disabled / never set).
    pub fn is_zero(&self) -> bool {
        self.random == 0 && !self.create_time.is_set() && self.computer == [0; 16]
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Signature", 4)?;
        st.serialize_field("random", &self.random)?;
        st.serialize_field("create_time", &self.create_time)?;
        st.serialize_field("computer", &self.computer_name())?;
        st.serialize_field("eseutil", &self.eseutil_text())?;
        st.end()
    }
}

/// Parses a SIGNATURE.
pub fn signature(i: Input<'_>) -> PResult<'_, Signature> {
    let (i, (random, create_time, name)) = (le_u32, log_time, take(16usize)).parse(i)?;
    let mut computer = [0u8; 16];
    computer.copy_from_slice(name);
    Ok((
        i,
        Signature {
            random,
            create_time,
            computer,
        },
    ))
}

pub use crate::lgpos::Lgpos;

/// Parses an LGPOS.
pub fn lgpos(i: Input<'_>) -> PResult<'_, Lgpos> {
    let (i, (offset, sector, generation)) = (le_u16, le_u16, le_i32).parse(i)?;
    Ok((
        i,
        Lgpos {
            generation,
            sector,
            offset,
        },
    ))
}

/// BKINFOTYPE (`inc/daedef.hxx` ~2886): the kind of a recorded backup.
pub fn bkinfo_type_name(t: u32) -> &'static str {
    match t {
        0 => "normal",
        1 => "OSSnapshot",
        2 => "Snapshot",
        3 => "Surrogate",
        _ => "unknown",
    }
}

/// BKINFO: 24 bytes describing one backup (`inc/daedef.hxx` ~2305): LGPOS
/// mark, LOGTIME of the mark, lowest and highest log generation of the set.
#[doc(alias = "BKINFO")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct BkInfo {
    /// Log position identifying the backup.
    pub mark: Lgpos,
    /// Time of the mark.
    pub mark_time: LogTime,
    /// Lowest generation in the backup set.
    pub gen_low: u32,
    /// Highest generation in the backup set.
    pub gen_high: u32,
}

impl BkInfo {
    /// Size on disk.
    pub const SIZE: usize = 24;

    /// Whether the record is all zero (no such backup).
    pub fn is_empty(&self) -> bool {
        *self == BkInfo::default()
    }
}

/// Parses a BKINFO.
pub fn bkinfo(i: Input<'_>) -> PResult<'_, BkInfo> {
    let (i, (mark, mark_time, gen_low, gen_high)) = (lgpos, log_time, le_u32, le_u32).parse(i)?;
    Ok((
        i,
        BkInfo {
            mark,
            mark_time,
            gen_low,
            gen_high,
        },
    ))
}

/// DBMS_PARAM: the 567-byte engine-parameter block carried by log and
/// checkpoint headers (`inc/daedef.hxx` ~3835). The two paths are
/// informational only.
#[doc(alias = "DBMS_PARAM")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbmsParam {
    /// System path (ANSI, NUL terminated inside 261 bytes).
    pub system_path: String,
    /// Log file path (ANSI, NUL terminated inside 261 bytes).
    pub log_file_path: String,
    /// Flags byte; bit 0 = circular logging.
    pub flags: u8,
    /// Whether circular logging was on.
    pub circular_logging: bool,
    /// Maximum sessions.
    pub max_sessions: u32,
    /// Maximum open tables.
    pub max_open_tables: u32,
    /// Maximum version-store pages.
    pub max_version_pages: u32,
    /// Maximum cursors.
    pub max_cursors: u32,
    /// Log buffers.
    pub log_buffers: u32,
    /// Log file size in sectors (`csecLGFile`).
    pub log_file_sectors: u32,
    /// Maximum cache size (buffers).
    pub max_buffers: u32,
}

impl DbmsParam {
    /// Size on disk.
    pub const SIZE: usize = 567;

    /// eseutil's two-line rendering, each line without indentation:
    /// the column heading and the values (`logdump.cxx` ~115).
    pub fn eseutil_lines(&self) -> (String, String) {
        (
            "Env (CircLog,Session,Opentbl,VerPage,Cursors,LogBufs,LogFile,Buffers)".to_string(),
            format!(
                "    ({},{:7},{:7},{:7},{:7},{:7},{:7},{:7})",
                if self.circular_logging {
                    "     on"
                } else {
                    "    off"
                },
                self.max_sessions,
                self.max_open_tables,
                self.max_version_pages,
                self.max_cursors,
                self.log_buffers,
                self.log_file_sectors,
                self.max_buffers
            ),
        )
    }
}

/// Decodes a NUL-terminated ANSI string (Latin-1 mapping) from a fixed field.
pub fn ansi_z(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    b[..end].iter().map(|&c| c as char).collect()
}

/// Parses a DBMS_PARAM.
pub fn dbms_param(i: Input<'_>) -> PResult<'_, DbmsParam> {
    let (i, (sys, log, flags)) = (take(261usize), take(261usize), le_u8).parse(i)?;
    let (i, (max_sessions, max_open_tables, max_version_pages, max_cursors)) =
        (le_u32, le_u32, le_u32, le_u32).parse(i)?;
    let (i, (log_buffers, log_file_sectors, max_buffers, _reserved)) =
        (le_u32, le_u32, le_u32, take(16usize)).parse(i)?;
    Ok((
        i,
        DbmsParam {
            system_path: ansi_z(sys),
            log_file_path: ansi_z(log),
            flags,
            circular_logging: flags & 1 != 0,
            max_sessions,
            max_open_tables,
            max_version_pages,
            max_cursors,
            log_buffers,
            log_file_sectors,
            max_buffers,
        },
    ))
}

/// Lower-case hex of a byte slice.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logtime_fields_and_text() {
        // 2022-08-19 11:46:32.952 local: ms 952 = 0b111_0111000 -> low7 = 0x38, high3 = 7
        let raw = [32, 46, 11, 19, 8, 122, 0x38 << 1, 7 << 1];
        let (_, t) = log_time(&raw).unwrap();
        assert_eq!(t.millis(), 952);
        assert_eq!(t.eseutil_text(), "08/19/2022 11:46:32.952 LOC");
        assert_eq!(t.iso8601().unwrap(), "2022-08-19T11:46:32.952");
        let mut utc = raw;
        utc[6] |= 1;
        assert_eq!(
            log_time(&utc).unwrap().1.eseutil_text(),
            "08/19/2022 11:46:32.952 UTC"
        );
        assert_eq!(
            LogTime::default().eseutil_text(),
            "00/00/1900 00:00:00.000 LOC"
        );
        assert_eq!(LogTime::default().iso8601(), None);
    }

    #[test]
    fn lgpos_order_and_text() {
        let b = [0x0C, 0x01, 0x0E, 0x00, 0xE4, 0xE2, 0x01, 0x00];
        let (rest, p) = lgpos(&b).unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            p,
            Lgpos {
                generation: 0x1E2E4,
                sector: 14,
                offset: 268
            }
        );
        assert_eq!(p.eseutil_text(), "(0x1E2E4,E,10C)");
        assert_eq!(p.eseutil_last_lgpos_text(), "(0x1e2e4,E,10C)");
        assert!(
            Lgpos {
                generation: 2,
                sector: 0,
                offset: 0
            } > Lgpos {
                generation: 1,
                sector: 9,
                offset: 9
            }
        );
    }

    #[test]
    fn dbms_param_consumes_567() {
        let b = vec![0u8; 600];
        let (rest, _) = dbms_param(&b).unwrap();
        assert_eq!(b.len() - rest.len(), DbmsParam::SIZE);
    }
}
