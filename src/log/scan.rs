//! Integrity verdict of one log file: header (checksum, type, geometry),
//! file size (`csecLGFile · cbSec`, else -541), then the format's own scan —
//! 8.x segments ([`super::segments`]) or the 7.x LRCHECKSUM chain
//! ([`super::lrck`]).
//!
//! Facts: `ese/_log/log.cxx` ~924–1008 (`ErrLGIReadFileHeader`), ~1231
//! (`FLGVersionZeroFilled`: ≥ 8.4000.2), `ese/_log/logdump.cxx` ~1337–1380
//! (what /ml reports: "Last Lgpos" = `LgposFileEnd`, the accumulated
//! checksum); format notes §4.3, §4.7.

use serde::Serialize;

use super::lrck::{scan_lrck, LrckOutcome, LrckScan};
use super::segments::{scan_segments, SegmentOutcome, SegmentScan};
use crate::error::{FormatError, Jet};
use crate::parse::log_header::{read_log_header, LogHeader};
use crate::parse::primitives::Lgpos;

/// The format-specific part of a scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum FormatScan {
    /// 8.x: segments.
    Segments(SegmentScan),
    /// 7.x: LRCHECKSUM chain.
    Lrck(LrckScan),
}

/// Integrity verdict of one log file whose header could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogScan {
    /// The decoded header.
    pub header: LogHeader,
    /// Actual file size.
    pub file_size: u64,
    /// `csecLGFile · cbSec`.
    pub expected_size: u64,
    /// Format scan.
    pub scan: FormatScan,
    /// End of verified data (eseutil's "Last Lgpos").
    pub end: Lgpos,
    /// Accumulated segment checksum (8.x only).
    pub accumulated_checksum: Option<u64>,
    /// Set when a torn last write could be patched from its shadow copy.
    pub patchable_at: Option<Lgpos>,
    /// The first integrity failure (file offset, JET error, detail), if any
    /// (rendered by the report layer).
    #[serde(skip)]
    pub error: Option<FormatError>,
}

impl LogScan {
    /// No integrity failure (a patchable torn write still counts as damage
    /// for the exit status but not as an error).
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// Absolute file offset of an lgpos of this file.
    pub fn offset_of(&self, p: Lgpos) -> u64 {
        p.sector as u64 * self.header.cb_sec as u64 + p.offset as u64
    }
}

/// Whether the writer of this header zero-fills unused space (≥ 8.4000.2).
pub fn zero_filled(h: &LogHeader) -> bool {
    (h.major, h.minor, h.update_major) >= (8, 4000, 2)
}

/// The lgpos of an absolute file offset for sector size `cb_sec`.
pub fn lgpos_of(generation: i32, cb_sec: u16, off: u64) -> Lgpos {
    Lgpos {
        generation,
        sector: (off / cb_sec as u64) as u16,
        offset: (off % cb_sec as u64) as u16,
    }
}

/// Scans a whole log file held in memory. `file` may be modified: located
/// single-bit errors of 8.x segments are corrected in place (the file on disk
/// is never written). An unreadable header is returned as `Err` (eseutil's
/// "Cannot read log file header").
pub fn scan_log(file: &mut [u8]) -> Result<LogScan, FormatError> {
    let header = read_log_header(file)?.header;
    let file_size = file.len() as u64;
    let expected_size = header.expected_file_size();
    let mut error = None;
    if file_size != expected_size {
        error = Some(FormatError::new(
            file_size.min(expected_size),
            Jet::LOG_FILE_SIZE_MISMATCH,
            format!("log file is {file_size} bytes, header says {expected_size} (csecLGFile {} × cbSec {})", header.csec_lg_file, header.cb_sec),
        ));
    }
    let gen = header.generation;
    let cb = header.cb_sec;
    let mut patchable_at = None;
    let (scan, end, acc) = if header.is_legacy_format() {
        let s = scan_lrck(file, gen, cb, header.csec_header);
        let end = lgpos_of(gen, cb, s.end_offset);
        match &s.outcome {
            LrckOutcome::Clean => {}
            LrckOutcome::Patchable { offset } => patchable_at = Some(lgpos_of(gen, cb, *offset)),
            LrckOutcome::Corrupt { offset, reason } => {
                error.get_or_insert_with(|| {
                    FormatError::new(*offset, Jet::LOG_FILE_CORRUPT, reason.clone())
                });
            }
        }
        (FormatScan::Lrck(s), end, None)
    } else {
        let s = scan_segments(
            file,
            gen,
            header.csec_header,
            header.csec_lg_file,
            zero_filled(&header),
        );
        let end = s.end;
        match &s.outcome {
            SegmentOutcome::Clean => {}
            SegmentOutcome::Patchable { segment } => {
                patchable_at = Some(Lgpos {
                    generation: gen,
                    sector: *segment,
                    offset: 0,
                })
            }
            SegmentOutcome::Corrupt { segment, reason } => {
                error.get_or_insert_with(|| {
                    FormatError::new(
                        *segment as u64 * cb as u64,
                        Jet::LOG_FILE_CORRUPT,
                        format!("segment {segment:X}: {reason}"),
                    )
                });
            }
        }
        let acc = s.accumulated_checksum;
        (FormatScan::Segments(s), end, Some(acc))
    };
    Ok(LogScan {
        header,
        file_size,
        expected_size,
        scan,
        end,
        accumulated_checksum: acc,
        patchable_at,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::fixture7;

    #[test]
    fn seven_x_file_verdicts() {
        let mut f = fixture7::clean_log();
        let s = scan_log(&mut f).unwrap();
        assert!(s.header.is_legacy_format());
        assert!(s.ok(), "{:?}", s.error);
        assert_eq!(
            s.end,
            Lgpos {
                generation: 3,
                sector: 10,
                offset: 92
            }
        );
        assert_eq!(s.accumulated_checksum, None);
        let s = scan_log(&mut fixture7::torn_log()).unwrap();
        assert!(s.ok());
        assert_eq!(
            s.patchable_at,
            Some(Lgpos {
                generation: 3,
                sector: 10,
                offset: 40
            })
        );
        let s = scan_log(&mut fixture7::corrupt_log()).unwrap();
        assert_eq!(s.error.unwrap().jet, Jet::LOG_FILE_CORRUPT);
    }

    #[test]
    fn size_mismatch_is_541() {
        let mut f = fixture7::clean_log();
        f.truncate(f.len() - 512);
        let s = scan_log(&mut f).unwrap();
        let e = s.error.unwrap();
        assert_eq!(e.jet, Jet::LOG_FILE_SIZE_MISMATCH);
        assert_eq!(e.offset, 7680);
    }

    #[test]
    fn damaged_header_is_an_error() {
        let mut f = fixture7::clean_log();
        f[100] ^= 1;
        assert_eq!(scan_log(&mut f).unwrap_err().jet, Jet::LOG_FILE_CORRUPT);
    }
}
