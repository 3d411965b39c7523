//! Integrity verdict of one log file: header (checksum, type, geometry),
//! file size (`csecLGFile · cbSec`, else -541), then the format's own scan —
//! 8.x segments ([`super::segments`]) or the 7.x LRCHECKSUM chain
//! ([`super::lrck`]).
//!
//! Facts: `ese/_log/log.cxx` ~924–1008 (`ErrLGIReadFileHeader`), ~1231
//! (`FLGVersionZeroFilled`: ≥ 8.4000.2), `ese/_log/logdump.cxx` ~1337–1380
//! (what /ml reports: "Last Lgpos" = `LgposFileEnd`, the accumulated
//! checksum); docs/format/logs.md §3, §7.

use serde::Serialize;

use super::lrck::{scan_lrck, LrckOutcome, LrckScan};
use super::segments::{scan_segments, SegmentOutcome, SegmentScan};
use crate::error::{Error, FormatError, Jet};
use crate::file::Input;
use crate::parse::log_header::{read_log_header, LogHeader, LOG_HEADER_SIZE};
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

/// The bytes of a log file read for [`scan_log_sized`]: never more than the
/// file's legitimate size, however long the file really is.
#[derive(Debug, Clone)]
pub struct LogBytes {
    /// The header (4096 bytes) and, when it verifies, the data up to
    /// `csecLGFile · cbSec` (≤ 65535 · 4096 bytes) or the end of the file.
    pub bytes: Vec<u8>,
    /// The real length of the file.
    pub file_size: u64,
}

/// Reads a log file for scanning with bounded memory: the 4096-byte header
/// first, then — only when it verifies — the rest of `csecLGFile · cbSec`
/// bytes. A file longer than that is not read past it (the mismatch is
/// reported from `file_size`, -541); a file whose header does not verify
/// is read no further than the header.
pub fn read_log_bytes(input: &mut Input) -> Result<LogBytes, Error> {
    read_log_bytes_into(input, Vec::new())
}

/// [`read_log_bytes`] into a buffer a previous file used: its allocation is
/// kept and, where its length already covers this file, not cleared again
/// (every byte kept is overwritten by the read).
pub fn read_log_bytes_into(input: &mut Input, mut bytes: Vec<u8>) -> Result<LogBytes, Error> {
    let mut len = read_span(input, &mut bytes, 0, LOG_HEADER_SIZE as u64)?;
    if let Ok(h) = read_log_header(&bytes[..len]) {
        let want = h.header.expected_file_size();
        if want > len as u64 {
            len = read_span(input, &mut bytes, len as u64, want - len as u64)?;
        }
    }
    // Cut only now: a buffer already long enough is never zeroed again.
    bytes.truncate(len);
    Ok(LogBytes {
        bytes,
        file_size: input.len,
    })
}

/// Reads up to `n` bytes at `off` (fewer at the end of the file) into
/// `bytes[off..]`, growing it when it is shorter; returns where the read
/// ends. Evidence hashing sees the read as [`Input::read_at`] reports it.
fn read_span(input: &mut Input, bytes: &mut Vec<u8>, off: u64, n: u64) -> Result<usize, Error> {
    use std::io::{Read, Seek, SeekFrom};
    let avail = input.len.saturating_sub(off).min(n) as usize;
    let (start, end) = (off as usize, off as usize + avail);
    if bytes.len() < end {
        bytes.resize(end, 0);
    }
    let io = |e| Error::io(&input.path, e);
    input.file.seek(SeekFrom::Start(off)).map_err(io)?;
    input.file.read_exact(&mut bytes[start..end]).map_err(io)?;
    crate::file::hash_tap::feed(&input.path, off, &bytes[start..end]);
    Ok(end)
}

/// Scans a whole log file held in memory (see [`scan_log_sized`]).
pub fn scan_log(file: &mut [u8]) -> Result<LogScan, FormatError> {
    let len = file.len() as u64;
    scan_log_sized(file, len)
}

/// Scans a log file whose bytes are in `file` (at most its legitimate size,
/// see [`read_log_bytes`]) and whose real length is `file_size`. `file` may
/// be modified: located single-bit errors of 8.x segments are corrected in
/// place (the file on disk is never written). An unreadable header is
/// returned as `Err` (eseutil's "Cannot read log file header").
pub fn scan_log_sized(file: &mut [u8], file_size: u64) -> Result<LogScan, FormatError> {
    let header = read_log_header(file)?.header;
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

    /// An 8 GiB sparse file whose header says 8 KiB: only 8 KiB are read,
    /// the mismatch (-541) comes from the real length.
    #[cfg(unix)]
    #[test]
    fn oversized_file_is_read_only_up_to_its_legitimate_size() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("edb.log");
        std::fs::write(&p, fixture7::clean_log()).unwrap();
        let big = 8u64 << 30;
        let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        f.set_len(big).unwrap();
        let mut b = read_log_bytes(&mut Input::open(&p).unwrap()).unwrap();
        assert_eq!((b.bytes.len(), b.file_size), (8192, big));
        let s = scan_log_sized(&mut b.bytes, b.file_size).unwrap();
        let e = s.error.unwrap();
        assert_eq!((e.jet, e.offset), (Jet::LOG_FILE_SIZE_MISMATCH, 8192));
        assert_eq!(s.scan, scan_log(&mut fixture7::clean_log()).unwrap().scan);
        // a header that does not verify: nothing past it is read
        let mut h = fixture7::clean_log();
        h[100] ^= 1;
        std::fs::write(&p, &h).unwrap();
        f.set_len(big).unwrap();
        let b = read_log_bytes(&mut Input::open(&p).unwrap()).unwrap();
        assert_eq!(b.bytes.len(), LOG_HEADER_SIZE);
    }

    /// A recycled buffer longer than the file: the file's bytes, cut to its
    /// length (nothing of the old contents left), or to the header alone.
    #[test]
    fn recycled_buffer_is_cut_to_what_was_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("edb.log");
        let log = fixture7::clean_log();
        std::fs::write(&p, &log).unwrap();
        let old = vec![0xAA; 3 * log.len()];
        let b = read_log_bytes_into(&mut Input::open(&p).unwrap(), old).unwrap();
        assert_eq!(b.bytes, log);
        let mut h = log.clone();
        h[100] ^= 1;
        std::fs::write(&p, &h).unwrap();
        let b = read_log_bytes_into(&mut Input::open(&p).unwrap(), b.bytes).unwrap();
        assert_eq!(b.bytes, h[..LOG_HEADER_SIZE]);
    }

    #[test]
    fn damaged_header_is_an_error() {
        let mut f = fixture7::clean_log();
        f[100] ^= 1;
        assert_eq!(scan_log(&mut f).unwrap_err().jet, Jet::LOG_FILE_CORRUPT);
    }
}
