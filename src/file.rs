//! Read-only file access and identification of ESE file kinds.
//!
//! Every input is opened read-only; outputs are written only through
//! [`AtomicFile`] (a temporary file renamed into place). Files
//! are identified by their header (file-type field at offset 667, magic and
//! checksums), never by their name: a recycled log generation can sit under
//! a `tmp` name and a database can have any extension.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;

mod atomic;
mod digest;
mod hash_feed;
pub use atomic::AtomicFile;
pub use digest::{hash_file, hash_of_read, HashAlgorithm, Hasher};
pub use hash_feed::{Chunk, HashFeed};

use crate::checksum::{legacy_header_checksum, stored_header_checksum};
use crate::error::{Error, Result};
use crate::parse::db_header::{FileType, FILE_TYPE_OFFSET, MAGIC, PAGE_SIZES};
use crate::parse::u32_at;

/// How many bytes are enough to identify any file kind and read both
/// database header copies at the largest page size.
pub const PROBE_SIZE: usize = 2 * 32768;

/// Opens `path` for reading only.
pub fn open_read_only(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| Error::io(path, e))
}

/// A file opened for reading, with its length.
#[derive(Debug)]
pub struct Input {
    /// The path as given.
    pub path: PathBuf,
    /// The open handle (read-only).
    pub file: File,
    /// File length in bytes.
    pub len: u64,
}

impl Input {
    /// Opens `path` read-only and records its length. Directories are refused.
    pub fn open(path: &Path) -> Result<Input> {
        let file = open_read_only(path)?;
        let meta = file.metadata().map_err(|e| Error::io(path, e))?;
        if meta.is_dir() {
            return Err(Error::io(path, std::io::Error::other("is a directory")));
        }
        Ok(Input {
            path: path.to_path_buf(),
            file,
            len: meta.len(),
        })
    }

    /// Reads up to `n` bytes from offset `off` (fewer at end of file).
    pub fn read_at(&mut self, off: u64, n: usize) -> Result<Vec<u8>> {
        let avail = self.len.saturating_sub(off).min(n as u64) as usize;
        let mut buf = vec![0u8; avail];
        self.file
            .seek(SeekFrom::Start(off))
            .map_err(|e| Error::io(&self.path, e))?;
        self.file
            .read_exact(&mut buf)
            .map_err(|e| Error::io(&self.path, e))?;
        hash_tap::feed(&self.path, off, &buf);
        Ok(buf)
    }

    /// Reads the first [`PROBE_SIZE`] bytes (or the whole file if shorter).
    pub fn probe(&mut self) -> Result<Vec<u8>> {
        self.read_at(0, PROBE_SIZE)
    }
}

/// What a file is, judged from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// An ESE database (file type 1, or 0 with the database magic).
    Database,
    /// A temporary database (file type 5).
    TempDatabase,
    /// A streaming file (`.stm`, file type 2).
    StreamingFile,
    /// A transaction log (file type 3, or 0 with a valid log header).
    Log,
    /// A checkpoint (file type 4).
    Checkpoint,
    /// A flush map (`.jfm`, file type 7).
    FlushMap,
    /// A streaming-backup patch file (`.pat`): the backup's patch page and
    /// its shadow (`PATCHHDR`, see [`crate::parse::patch`]).
    Patch,
    /// Another ESE file type (trace, RBS, cached file …).
    OtherEse(u32),
    /// All zero in the first page: an unused reserve log or preallocated file.
    Blank,
    /// Nothing recognisable.
    Unknown,
}

impl FileKind {
    /// A short human name.
    pub fn describe(&self) -> String {
        match self {
            FileKind::Database => "an ESE database".into(),
            FileKind::TempDatabase => "an ESE temporary database".into(),
            FileKind::StreamingFile => "an ESE streaming file (.stm)".into(),
            FileKind::Log => "an ESE transaction log file".into(),
            FileKind::Checkpoint => "an ESE checkpoint file".into(),
            FileKind::Patch => "an ESE backup patch file (.pat)".into(),
            FileKind::FlushMap => "an ESE flush map file (.jfm)".into(),
            FileKind::OtherEse(t) => format!(
                "an ESE file of type {t} ({})",
                FileType::from_u32(*t).name()
            ),
            FileKind::Blank => {
                "a blank (all-zero) file or log-extend fill: an unused reserve or temporary log"
                    .into()
            }
            FileKind::Unknown => "not an ESE file".into(),
        }
    }

    /// The eseutil mode that dumps this kind of file.
    pub fn dump_mode(&self) -> Option<&'static str> {
        match self {
            FileKind::Database
            | FileKind::TempDatabase
            | FileKind::StreamingFile
            | FileKind::Patch => Some("/mh"),
            FileKind::FlushMap => Some("/mp"),
            FileKind::Log => Some("/ml"),
            FileKind::Checkpoint => Some("/mk"),
            _ => None,
        }
    }
}

fn header_ok_at(b: &[u8], size: usize) -> bool {
    b.len() >= size && stored_header_checksum(b) == legacy_header_checksum(&b[..size])
}

/// Whether `b` is the engine's 512-byte log-extend pattern repeated: 0xDA
/// (`bLOGUnusedFill`) with every 16th byte 0xDA + its offset in the 512
/// bytes (`ErrUtilInitLogExtendPattern`-era code in `ese/_osu/fileu.cxx`),
/// what 7.x engines fill unused reserve logs with.
fn is_log_extend_fill(b: &[u8]) -> bool {
    !b.is_empty()
        && b.iter().enumerate().all(|(i, &x)| {
            let ib = i % 512;
            x == if ib % 16 == 0 {
                0xDAu8.wrapping_add(ib as u8)
            } else {
                0xDA
            }
        })
}

/// Identifies a file from its first bytes (see [`Input::probe`]).
pub fn identify(b: &[u8]) -> FileKind {
    if b.len() < FILE_TYPE_OFFSET + 4 {
        return FileKind::Unknown;
    }
    let first = &b[..b.len().min(4096)];
    if first.iter().all(|&x| x == 0) || is_log_extend_fill(first) {
        return FileKind::Blank;
    }
    let ft = u32_at(b, FILE_TYPE_OFFSET);
    let magic = u32_at(b, 4) == MAGIC;
    match ft {
        1 if magic => FileKind::Database,
        5 if magic => FileKind::TempDatabase,
        2 => FileKind::StreamingFile,
        3 => FileKind::Log,
        4 => FileKind::Checkpoint,
        7 => FileKind::FlushMap,
        0 => {
            if magic {
                FileKind::Database
            } else if crate::parse::patch::is_patch_file(b, b.len() as u64) {
                // Checked before the old log/checkpoint rule: the patch
                // page's checksum also verifies over its first 4 KiB.
                FileKind::Patch
            } else if header_ok_at(b, 4096) {
                // Old log or checkpoint without the file-type field: a log
                // header has its generation at 4 and a sector size at 8.
                let cb_sec = u16::from_le_bytes([b[8], b[9]]);
                if matches!(cb_sec, 512 | 1024 | 2048 | 4096) {
                    FileKind::Log
                } else {
                    FileKind::Checkpoint
                }
            } else {
                FileKind::Unknown
            }
        }
        t if (6..=11).contains(&t) || t == 1 || t == 5 => FileKind::OtherEse(t),
        _ => {
            // A damaged primary database header may still have a good shadow.
            if PAGE_SIZES.iter().any(|&ps| {
                b.len() >= 2 * ps && u32_at(&b[ps..], 4) == MAGIC && header_ok_at(&b[ps..], ps)
            }) {
                FileKind::Database
            } else {
                FileKind::Unknown
            }
        }
    }
}

/// Reads at most `max` bytes from the start of `path` (read-only): for small
/// structures (checkpoints, restore.env, headers) whose file may be hostile
/// and huge.
pub fn read_prefix(path: &Path, max: usize) -> Result<Vec<u8>> {
    let mut input = Input::open(path)?;
    input.read_at(0, max)
}

/// `len` bytes of `buf` starting at a 4 KiB boundary (grown on first use).
/// The kernel copies page-cache pages much faster into a page-aligned
/// buffer: a large `Vec` from the allocator starts 16 bytes into a page,
/// which made every copied cache line straddle two (measured: ~1.7× the
/// system time of `cat` for the same reads).
pub(crate) fn page_aligned(buf: &mut Vec<u8>, len: usize) -> &mut [u8] {
    const ALIGN: usize = 4096;
    if buf.len() < len + ALIGN {
        buf.resize(len + ALIGN, 0);
    }
    let start = buf.as_ptr().align_offset(ALIGN).min(ALIGN);
    &mut buf[start..start + len]
}

/// The error for a file of another kind than the mode reads: says what the
/// file is (identified by its header) and which mode reads it (`-1812
/// JET_errFileInvalidType`, exit status 4).
pub fn wrong_kind(path: &Path, kind: FileKind, wanted: &str) -> Error {
    let hint = kind
        .dump_mode()
        .map(|m| format!("; use `eseutil-rs {m} {}`", path.display()))
        .unwrap_or_default();
    Error::not_ese(
        path,
        crate::error::FormatError::new(
            667,
            crate::error::Jet::FILE_INVALID_TYPE,
            format!("this is {}, not {wanted}{hint}", kind.describe()),
        ),
    )
}

/// `--hash`: the hash of every input, fed by the reads the modes make
/// anyway (same pass: a file read from its start in order is hashed as it is
/// read); [`hash_tap::finish`] reads only what no mode read.
pub mod hash_tap {
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    use super::{HashAlgorithm, Hasher};

    struct Tap {
        path: PathBuf,
        pos: u64,
        hasher: Hasher,
    }

    struct Taps {
        algorithm: HashAlgorithm,
        files: Vec<Tap>,
    }

    static TAPS: Mutex<Option<Taps>> = Mutex::new(None);

    /// Starts hashing, with `algorithm`, every file read through
    /// [`super::Input`].
    pub fn enable(algorithm: HashAlgorithm) {
        if let Ok(mut t) = TAPS.lock() {
            t.get_or_insert_with(|| Taps {
                algorithm,
                files: Vec::new(),
            });
        }
    }

    /// Whether [`enable`] was called (readers that could read out of order
    /// then read in order, so that no byte has to be read twice).
    pub(crate) fn enabled() -> bool {
        TAPS.lock().map(|t| t.is_some()).unwrap_or(false)
    }

    /// Feeds a read of `buf` at `off` (ignored unless it continues the
    /// bytes hashed so far).
    pub(crate) fn feed(path: &Path, off: u64, buf: &[u8]) {
        let Ok(mut guard) = TAPS.lock() else { return };
        let Some(taps) = guard.as_mut() else { return };
        let i = match taps.files.iter().position(|t| t.path == path) {
            Some(i) => i,
            None => {
                taps.files.push(Tap {
                    path: path.to_path_buf(),
                    pos: 0,
                    hasher: taps.algorithm.start(),
                });
                taps.files.len() - 1
            }
        };
        let t = &mut taps.files[i];
        if off <= t.pos && off + buf.len() as u64 > t.pos {
            let skip = (t.pos - off) as usize;
            t.hasher.update(&buf[skip..]);
            t.pos = off + buf.len() as u64;
        }
    }

    /// Completes and returns the hashes of the files read since the last
    /// call (path, algorithm, lower-case hex), reading whatever part of each
    /// file no mode read (1 MiB at a time).
    pub fn finish() -> Vec<(PathBuf, HashAlgorithm, String)> {
        let (algorithm, taps) = match TAPS.lock() {
            Ok(mut g) => match g.as_mut() {
                Some(v) => (v.algorithm, std::mem::take(&mut v.files)),
                None => return Vec::new(),
            },
            Err(_) => return Vec::new(),
        };
        let mut out = Vec::new();
        for mut t in taps {
            let hex = match t.hasher.update_from_file(&t.path, t.pos) {
                Ok(()) => t.hasher.hex(),
                Err(e) => format!("unreadable: {e}"),
            };
            out.push((t.path, algorithm, hex));
        }
        out
    }
}
