//! Error types shared by the library.
//!
//! Every failure the library reports names the file, the byte offset inside it
//! and the JET error code that Microsoft's engine would raise for the same
//! condition (codes and names from `dev/ese/published/inc/jethdr.w` in the MIT
//! ESE source; see `docs/format/errors.md`).

use std::fmt;
use std::path::PathBuf;

use crate::lgpos::Lgpos;

/// A JET error code with its symbolic name and eseutil's description text.
///
/// The values are the negative `JET_err*` constants of `jethdr.w`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Jet {
    /// The (negative) JET error number, e.g. `-1018`.
    pub code: i32,
    /// The symbolic name, e.g. `JET_errReadVerifyFailure`.
    pub name: &'static str,
    /// The description eseutil prints after the name.
    pub description: &'static str,
}

impl fmt::Display for Jet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.name)
    }
}

macro_rules! jet_errors {
    ($($konst:ident = $code:expr, $name:literal, $desc:literal;)*) => {
        impl Jet {
            $(
                #[doc = concat!("`", $name, "` (", stringify!($code), "): ", $desc)]
                pub const $konst: Jet = Jet { code: $code, name: $name, description: $desc };
            )*

            /// Every JET error this crate knows, in code order as declared.
            pub const ALL: &'static [Jet] = &[$(Jet::$konst),*];
        }
    };
}

jet_errors! {
    NODE_CORRUPTED = -358, "JET_errNodeCorrupted", "A node in a B-tree is corrupted";
    LOG_FILE_CORRUPT = -501, "JET_errLogFileCorrupt", "Log file is corrupt";
    MISSING_PREVIOUS_LOG_FILE = -509, "JET_errMissingPreviousLogFile", "Missing the log file for check point";
    LOG_GENERATION_MISMATCH = -513, "JET_errLogGenerationMismatch", "Name of logfile does not match internal generation number";
    BAD_LOG_VERSION = -514, "JET_errBadLogVersion", "Version of log file is not compatible with Jet version";
    INVALID_LOG_SEQUENCE = -515, "JET_errInvalidLogSequence", "Timestamp in next log does not match expected";
    MISSING_LOG_FILE = -528, "JET_errMissingLogFile", "Current log file missing";
    BAD_LOG_SIGNATURE = -530, "JET_errBadLogSignature", "Bad signature for a log file";
    BAD_DB_SIGNATURE = -531, "JET_errBadDbSignature", "Bad signature for a db file";
    BAD_CHECKPOINT_SIGNATURE = -532, "JET_errBadCheckpointSignature", "Bad signature for a checkpoint file";
    CHECKPOINT_CORRUPT = -533, "JET_errCheckpointCorrupt", "Checkpoint file not found or corrupt";
    BAD_PATCH_PAGE = -535, "JET_errBadPatchPage", "Patch file page is not valid";
    PATCH_FILE_MISSING = -538, "JET_errPatchFileMissing", "Hard restore detected that patch file is missing from backup set";
    DATABASE_LOG_SET_MISMATCH = -539, "JET_errDatabaseLogSetMismatch", "Database does not belong with the current set of log files";
    LOG_FILE_SIZE_MISMATCH = -541, "JET_errLogFileSizeMismatch", "actual log file size does not match JET_paramLogFileSize";
    CHECKPOINT_FILE_NOT_FOUND = -542, "JET_errCheckpointFileNotFound", "Could not locate checkpoint file";
    REQUIRED_LOG_FILES_MISSING = -543, "JET_errRequiredLogFilesMissing", "The required log files for recovery is missing.";
    SOFT_RECOVERY_ON_BACKUP_DATABASE = -544, "JET_errSoftRecoveryOnBackupDatabase", "Soft recovery is intended on a backup database. Restore should be used instead";
    DATABASE_DIRTY_SHUTDOWN = -550, "JET_errDatabaseDirtyShutdown", "Database was not shutdown cleanly. Recovery must first be run to properly complete database operations for the previous shutdown.";
    CONSISTENT_TIME_MISMATCH = -551, "JET_errConsistentTimeMismatch", "Database last consistent time unmatched";
    DATABASE_PATCH_FILE_MISMATCH = -552, "JET_errDatabasePatchFileMismatch", "Patch file is not generated from this backup";
    ENDING_RESTORE_LOG_TOO_LOW = -553, "JET_errEndingRestoreLogTooLow", "The starting log number too low for the restore";
    STARTING_RESTORE_LOG_TOO_HIGH = -554, "JET_errStartingRestoreLogTooHigh", "The starting log number too high for the restore";
    GIVEN_LOG_FILE_HAS_BAD_SIGNATURE = -555, "JET_errGivenLogFileHasBadSignature", "Restore log file has bad signature";
    GIVEN_LOG_FILE_IS_NOT_CONTIGUOUS = -556, "JET_errGivenLogFileIsNotContiguous", "Restore log file is not contiguous";
    MISSING_RESTORE_LOG_FILES = -557, "JET_errMissingRestoreLogFiles", "Some restore log files are missing";
    MISSING_CURRENT_LOG_FILES = -565, "JET_errMissingCurrentLogFiles", "Some current log files are missing for continuous restore";
    DB_TIME_TOO_OLD = -566, "JET_errDbTimeTooOld", "dbtime on page smaller than dbtimeBefore in record";
    DB_TIME_TOO_NEW = -567, "JET_errDbTimeTooNew", "dbtime on page in advance of the dbtimeBefore in record";
    LOG_TORN_WRITE_DURING_HARD_RESTORE = -570, "JET_errLogTornWriteDuringHardRestore", "torn-write was detected in a backup set during hard restore";
    LOG_TORN_WRITE_DURING_HARD_RECOVERY = -571, "JET_errLogTornWriteDuringHardRecovery", "torn-write was detected during hard recovery (log was not part of a backup set)";
    LOG_CORRUPT_DURING_HARD_RESTORE = -573, "JET_errLogCorruptDuringHardRestore", "corruption was detected in a backup set during hard restore";
    LOG_CORRUPT_DURING_HARD_RECOVERY = -574, "JET_errLogCorruptDuringHardRecovery", "corruption was detected during hard recovery (log was not part of a backup set)";
    RECOVERED_WITHOUT_UNDO = -579, "JET_errRecoveredWithoutUndo", "Soft recovery successfully replayed all operations, but the Undo phase of recovery was skipped";
    COMMITTED_LOG_FILES_MISSING = -582, "JET_errCommittedLogFilesMissing", "One or more logs that were committed to this database, are missing.";
    COMMITTED_LOG_FILE_CORRUPT = -586, "JET_errCommittedLogFileCorrupt", "One or more logs were found to be corrupt during recovery.";
    LOG_SEQUENCE_CHECKSUM_MISMATCH = -590, "JET_errLogSequenceChecksumMismatch", "The previous log's accumulated segment checksum doesn't match the next log";
    LOG_READ_VERIFY_FAILURE = -612, "JET_errLogReadVerifyFailure", "Checksum error in log file during backup";
    RESTORE_OF_NON_BACKUP_DATABASE = -615, "JET_errRestoreOfNonBackupDatabase", "hard recovery attempted on a database that wasn't a backup database";
    DB_TIME_BEYOND_MAX_REQUIRED = -625, "JET_errDbTimeBeyondMaxRequired", "dbtime on page greater than the maximum dbtime required by the log";
    INVALID_PARAMETER = -1003, "JET_errInvalidParameter", "Invalid API parameter";
    READ_VERIFY_FAILURE = -1018, "JET_errReadVerifyFailure", "Checksum error on a database page";
    PAGE_NOT_INITIALIZED = -1019, "JET_errPageNotInitialized", "Blank database page";
    DISK_IO = -1022, "JET_errDiskIO", "Disk IO error";
    INVALID_PATH = -1023, "JET_errInvalidPath", "Invalid file path";
    FILE_ACCESS_DENIED = -1032, "JET_errFileAccessDenied", "Cannot access file, the file is locked or in use";
    RECOVERY_VERIFY_FAILURE = -1123, "JET_errRecoveryVerifyFailure", "One or more database pages read from disk during recovery do not match the expected state";
    DATABASE_DUPLICATE = -1201, "JET_errDatabaseDuplicate", "Database already exists";
    DATABASE_CORRUPTED = -1206, "JET_errDatabaseCorrupted", "Non database file or corrupted db";
    INVALID_DATABASE_VERSION = -1209, "JET_errInvalidDatabaseVersion", "Database engine is incompatible with database";
    PAGE_SIZE_MISMATCH = -1213, "JET_errPageSizeMismatch", "The database page size does not match the engine";
    ATTACHED_DATABASE_MISMATCH = -1216, "JET_errAttachedDatabaseMismatch", "An outstanding database attachment has been detected at the start or end of recovery, but database is missing or does not match attachment info";
    INVALID_CREATE_DB_VERSION = -1225, "JET_errInvalidCreateDbVersion", "recovery tried to replay a database creation, but the database was originally created with an incompatible (likely older) version of the database engine";
    FILE_NOT_FOUND = -1811, "JET_errFileNotFound", "File not found";
    FILE_INVALID_TYPE = -1812, "JET_errFileInvalidType", "Invalid file type";
}

impl Jet {
    /// Looks a JET error up by number.
    pub fn from_code(code: i32) -> Option<Jet> {
        Jet::ALL.iter().copied().find(|j| j.code == code)
    }
}

/// What went wrong while decoding bytes, independent of any file.
///
/// Parsers return this; the I/O layer wraps it with the file name in
/// [`Error::Format`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    /// Byte offset (relative to the start of the file, once wrapped) where the
    /// problem was detected.
    pub offset: u64,
    /// The JET error the engine would raise.
    pub jet: Jet,
    /// Human-readable detail.
    pub detail: String,
}

impl FormatError {
    /// Builds a format error at `offset`.
    pub fn new(offset: u64, jet: Jet, detail: impl Into<String>) -> Self {
        FormatError {
            offset,
            jet,
            detail: detail.into(),
        }
    }

    /// Shifts the offset by `base` (used when a parser ran on a slice that
    /// starts at `base` in the file).
    pub fn at_base(mut self, base: u64) -> Self {
        self.offset += base;
        self
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "offset {} (0x{:X}): {} ({})",
            self.offset, self.offset, self.detail, self.jet
        )
    }
}

impl std::error::Error for FormatError {}

/// The kind of failure, which decides the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The command line was wrong.
    Usage,
    /// The file could not be opened or read.
    Unreadable,
    /// The file is not an ESE file of the kind expected, or a format this
    /// tool does not support.
    NotEse,
    /// The file is of the right kind but too damaged to be used.
    Corrupt,
    /// The operation ran to the end and found damage (bad checksums …); the
    /// mode has already reported the details.
    Damage,
}

/// The library's error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening or reading a file failed.
    #[error("{}: {source} ({jet})", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
        /// The JET error eseutil would report (-1811 for a missing file,
        /// -1032 for access denied, -1022 otherwise).
        jet: Jet,
    },
    /// The file's content is not what was expected.
    #[error("{}: {err}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What and where.
        err: FormatError,
        /// Whether this means "not this kind of file" or "damaged".
        kind: ErrorKind,
    },
    /// Bad command-line usage.
    #[error("{0}")]
    Usage(String),
    /// A mode, format or feature this version does not support.
    #[error("{0}")]
    Unsupported(String),
    /// The operation completed and found damage (exit status 1); the text
    /// trailer names `jet` as eseutil does (`Operation terminated with error
    /// -1018 …`).
    #[error("{detail}")]
    Damage {
        /// The JET error eseutil ends with.
        jet: Jet,
        /// A one-line summary of the damage.
        detail: String,
    },
    /// Replaying the log record at `lgpos` failed; recovery stops there.
    /// Text: `-567 (JET_errDbTimeTooNew) at lgpos (0x1,2,23E) (Replace): …`.
    #[error("{}", redo_text(*jet, *lgpos, record, detail))]
    Redo {
        /// Where in the log (the end of the log for checks made after it).
        lgpos: Lgpos,
        /// The record type's name (empty for checks made after the log).
        record: String,
        /// The JET error: the one ESE's redo raises for the same condition,
        /// or the source's own (an I/O error stays -1022 / -1811 / -1032).
        jet: Jet,
        /// What went wrong.
        detail: String,
        /// The failure underneath (page-store I/O …), kept as it was.
        #[source]
        source: Option<Box<Error>>,
    },
}

fn redo_text(jet: Jet, lgpos: Lgpos, record: &str, detail: &str) -> String {
    format!(
        "{} ({}) at lgpos {} ({record}): {detail}",
        jet.code,
        jet.name,
        lgpos.eseutil_text()
    )
}

impl Error {
    /// Wraps an I/O error for `path`, choosing the JET code from its kind.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let jet = match source.kind() {
            std::io::ErrorKind::NotFound => Jet::FILE_NOT_FOUND,
            std::io::ErrorKind::PermissionDenied => Jet::FILE_ACCESS_DENIED,
            _ => Jet::DISK_IO,
        };
        Error::Io {
            path: path.into(),
            source,
            jet,
        }
    }

    /// A damaged-file error.
    pub fn corrupt(path: impl Into<PathBuf>, err: FormatError) -> Self {
        Error::Format {
            path: path.into(),
            err,
            kind: ErrorKind::Corrupt,
        }
    }

    /// A wrong-kind-of-file error.
    pub fn not_ese(path: impl Into<PathBuf>, err: FormatError) -> Self {
        Error::Format {
            path: path.into(),
            err,
            kind: ErrorKind::NotEse,
        }
    }

    /// A redo failure of the record `record` (type name) at `lgpos`.
    pub fn redo(lgpos: Lgpos, record: &str, jet: Jet, detail: impl Into<String>) -> Self {
        Error::Redo {
            lgpos,
            record: record.to_string(),
            jet,
            detail: detail.into(),
            source: None,
        }
    }

    /// A redo failure caused by `source` (its JET code and kind are kept:
    /// a page-store I/O error stays an I/O error).
    pub fn redo_from(lgpos: Lgpos, record: &str, source: Error) -> Self {
        Error::Redo {
            lgpos,
            record: record.to_string(),
            jet: source.jet().unwrap_or(Jet::DISK_IO),
            detail: source.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// The log position of a redo failure.
    pub fn lgpos(&self) -> Option<Lgpos> {
        match self {
            Error::Redo { lgpos, .. } => Some(*lgpos),
            _ => None,
        }
    }

    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Redo {
                source: Some(s), ..
            } => s.kind(),
            Error::Redo { .. } => ErrorKind::Corrupt,
            Error::Io { .. } => ErrorKind::Unreadable,
            Error::Format { kind, .. } => *kind,
            Error::Usage(_) => ErrorKind::Usage,
            Error::Unsupported(_) => ErrorKind::NotEse,
            Error::Damage { .. } => ErrorKind::Damage,
        }
    }

    /// The JET error this corresponds to, when there is one.
    pub fn jet(&self) -> Option<Jet> {
        match self {
            Error::Io { jet, .. } => Some(*jet),
            Error::Format { err, .. } => Some(err.jet),
            Error::Usage(_) => Some(Jet::INVALID_PARAMETER),
            Error::Unsupported(_) => None,
            Error::Damage { jet, .. } => Some(*jet),
            Error::Redo { jet, .. } => Some(*jet),
        }
    }
}

/// Reports serialise an error as `{jet: {code, name, description}, detail}`, a redo
/// failure also with `lgpos` and `lrtyp` (the record type's name).
impl serde::Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let jet = self.jet();
        match self {
            Error::Redo {
                lgpos,
                record,
                detail,
                ..
            } => {
                let mut st = s.serialize_struct("Error", 4)?;
                st.serialize_field("jet", &jet)?;
                st.serialize_field("lgpos", lgpos)?;
                st.serialize_field("lrtyp", record)?;
                st.serialize_field("detail", detail)?;
                st.end()
            }
            other => {
                let mut st = s.serialize_struct("Error", 2)?;
                st.serialize_field("jet", &jet)?;
                st.serialize_field("detail", &other.to_string())?;
                st.end()
            }
        }
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
