//! Pre-flight checks of where recovery (`/r`, `/cc`) and `/k --fix-ecc`
//! will write, run before any replay or copy starts: the output folder can
//! be written, and no file there is replaced unless it is an earlier output
//! of the same recovery (a database with the signature the logs expect).

use std::path::Path;

use crate::error::{Error, ErrorKind, FormatError, Jet};
use crate::parse::primitives::Signature;

/// Checks, without creating anything, that `dir` can be written: a folder
/// (or, when it does not exist yet, its nearest existing parent) with no
/// write permission bits, or an existing folder where a probe file cannot be
/// created, is refused as access denied (-1032, exit status 3).
pub fn check_writable_dir(dir: &Path) -> Result<(), Error> {
    let denied = |what: &Path| {
        Error::io(
            dir,
            std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                format!("{} is read-only; nothing was written", what.display()),
            ),
        )
    };
    let mut at = dir;
    let meta = loop {
        match std::fs::metadata(at) {
            Ok(m) => break m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match at.parent() {
                Some(p) if p.as_os_str().is_empty() => at = Path::new("."),
                Some(p) => at = p,
                None => return Ok(()),
            },
            Err(e) => return Err(Error::io(at, e)),
        }
    };
    if !meta.is_dir() {
        return Err(Error::io(
            dir,
            std::io::Error::other(format!("{} is not a folder", at.display())),
        ));
    }
    if meta.permissions().readonly() {
        return Err(denied(at));
    }
    if at != dir {
        return Ok(());
    }
    let probe = dir.join(format!(".eseutil-rs-probe.{}", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(denied(at)),
        Err(e) => Err(Error::io(dir, e)),
    }
}

/// The database signature of an existing file, `None` when it is not a
/// database whose header verifies.
pub fn database_signature(path: &Path) -> Option<Signature> {
    let bytes = crate::file::read_prefix(path, crate::file::PROBE_SIZE).ok()?;
    let pair = crate::parse::db_header::read_header_pair(&bytes).ok()?;
    Some(pair.header().sign_db)
}

/// Checks that `target` may be replaced by an output whose database
/// signature is one of `expected`: a missing file, or a database with one of
/// those signatures (an earlier run of the same recovery). Anything else is
/// refused (exit status 1, -531 JET_errBadDbSignature) unless `force`.
pub fn check_replaceable(target: &Path, expected: &[Signature], force: bool) -> Result<(), Error> {
    if force || std::fs::symlink_metadata(target).is_err() {
        return Ok(());
    }
    let want = expected
        .first()
        .map(Signature::eseutil_text)
        .unwrap_or_else(|| "unknown".into());
    let detail = match database_signature(target) {
        Some(s) if expected.contains(&s) => return Ok(()),
        Some(s) => format!(
            "exists and is another database (signature {}; this recovery writes {want}): not replaced; use --force to replace it or choose another output",
            s.eseutil_text()
        ),
        None => format!(
            "exists and is not an earlier output of this recovery (not a database; this recovery writes {want}): not replaced; use --force to replace it or choose another output"
        ),
    };
    Err(Error::Format {
        path: target.to_path_buf(),
        // signDb lies at offset 24 of the header (docs/format/database-header.md §3).
        err: FormatError::new(24, Jet::BAD_DB_SIGNATURE, detail),
        kind: ErrorKind::Damage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{database, DbSpec};

    #[test]
    fn same_signature_is_replaceable_other_files_are_not() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("a.edb");
        std::fs::write(&db, database(&DbSpec::default(), 2, 1)).unwrap();
        let sig = database_signature(&db).unwrap();
        assert!(check_replaceable(&db, &[sig], false).is_ok());
        assert!(check_replaceable(&d.path().join("none"), &[], false).is_ok());
        let mut other = sig;
        other.random ^= 1;
        let e = check_replaceable(&db, &[other], false).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Damage);
        assert!(e.to_string().contains("another database"), "{e}");
        assert!(check_replaceable(&db, &[other], true).is_ok());
        let txt = d.path().join("notes.txt");
        std::fs::write(&txt, b"hello").unwrap();
        assert!(check_replaceable(&txt, &[sig], false).is_err());
    }
}
