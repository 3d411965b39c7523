//! The documented exit-status table (see `man/eseutil-rs.1`, EXIT STATUS).

use std::process::ExitCode;

use crate::error::{Error, ErrorKind, Jet};

/// Success: the operation completed and found nothing wrong.
pub const OK: u8 = 0;
/// The operation completed but found damage (bad checksums, a header copy
/// that does not verify, a broken log sequence …).
pub const DAMAGE: u8 = 1;
/// The command line was wrong.
pub const USAGE: u8 = 2;
/// A file could not be opened or read.
pub const UNREADABLE: u8 = 3;
/// A file is not an ESE file of the kind the mode needs, or uses a format or
/// feature this version does not support.
pub const NOT_ESE: u8 = 4;
/// A file is of the right kind but too damaged for the operation to run.
pub const CORRUPT: u8 = 5;

/// Exit status of an error kind.
pub fn code_for(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Usage => USAGE,
        ErrorKind::Unreadable => UNREADABLE,
        ErrorKind::NotEse => NOT_ESE,
        ErrorKind::Corrupt => CORRUPT,
        ErrorKind::Damage => DAMAGE,
    }
}

/// Exit status of an error: its kind's, except that a required file that
/// is missing or denied (-1811, -1032) is "unreadable" (3) whichever layer
/// reported it, as the README's table says.
pub fn code_for_error(e: &Error) -> u8 {
    match e.jet() {
        Some(j) if j == Jet::FILE_NOT_FOUND || j == Jet::FILE_ACCESS_DENIED => UNREADABLE,
        _ => code_for(e.kind()),
    }
}

/// Whether `e` is a write to standard output that failed because the reader
/// went away (`… | head`): the run then ends quietly with status 0.
pub fn is_closed_pipe(e: &Error) -> bool {
    matches!(e, Error::Io { path, source, .. }
        if source.kind() == std::io::ErrorKind::BrokenPipe && path.as_os_str() == "<stdout>")
}

/// The exit of a mode that owns standard output (no banner, no closing
/// line): the mode's status, 0 when the reader of stdout went away, else
/// the error on stderr and its status.
pub fn finish_owning_stdout(result: Result<u8, Error>) -> ExitCode {
    let code = match result {
        Ok(code) => code,
        Err(e) if is_closed_pipe(&e) => OK,
        Err(e) => {
            eprintln!("eseutil-rs: {e}");
            code_for_error(&e)
        }
    };
    exit(code)
}

/// Converts to a process exit code.
pub fn exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}
