//! `export DB --logs DIR --as-of LGPOS`: the database as it was at a log
//! position, replayed by the recovery library (redo up to LGPOS, then undo
//! of the transactions still open there) into a scratch folder; inputs are
//! only read, the scratch folder is removed afterwards.

use std::path::{Path, PathBuf};

use crate::db::Database;
use crate::error::Error;
use crate::parse::primitives::Lgpos;

/// A replayed copy in a scratch folder, removed when dropped.
pub struct Scratch {
    dir: PathBuf,
    /// The replayed database.
    pub db: PathBuf,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Refuses a database whose pages may already hold changes after `at`: a
/// clean one consistent past it, a dirty one whose required range ends
/// after its generation (flushed pages cannot be taken back).
pub fn check_not_past(db: &Database, at: Lgpos) -> Result<(), Error> {
    let h = db.header();
    let past = match h.db_state {
        3 => h.lgpos_consistent > at,
        _ => h.gen_max_required > at.generation,
    };
    if past {
        return Err(Error::Usage(format!(
            "{}: the database is already past {} (consistent at {}, logs required up to generation {}); use an older copy (a backup) to go back",
            db.path().display(),
            at.eseutil_text(),
            h.lgpos_consistent.eseutil_text(),
            h.gen_max_required
        )));
    }
    Ok(())
}

/// Replays the logs `base` in `logs` onto a copy of `db` (found by the
/// file name the logs use: the database must keep it) up to `at`, or to
/// the end of the logs (`None`: the recovered view of a dirty database).
pub fn replay(db: &Database, logs: &Path, base: &str, at: Option<Lgpos>) -> Result<Scratch, Error> {
    if let Some(at) = at {
        check_not_past(db, at)?;
    }
    let dir = std::env::temp_dir().join(format!("eseutil-rs-as-of-{}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut scratch = Scratch {
        dir: dir.clone(),
        db: PathBuf::new(),
    };
    let db_dir = db
        .path()
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let opts = crate::recovery::Options {
        base: base.to_string(),
        log_dir: logs.to_path_buf(),
        system_dir: logs.to_path_buf(),
        db_dir,
        output: dir.join("out"),
        ignore_checkpoint: true,
        stop_at: at,
        ..Default::default()
    };
    let rep = crate::recovery::recover(&opts)?;
    let name = db.path().file_name().map(|n| n.to_os_string());
    let out = rep
        .databases
        .iter()
        .find(|d| Some(d.output.file_name().map(|n| n.to_os_string())) == Some(name.clone()))
        .or(rep.databases.first());
    match (rep.exit_status, &rep.error, out) {
        (0, None, Some(d)) => {
            scratch.db = d.output.clone();
            Ok(scratch)
        }
        (_, e, _) => Err(Error::Usage(format!(
            "replaying {} up to {} failed: {}",
            logs.display(),
            at.map_or_else(|| "their end".into(), |a| a.eseutil_text()),
            e.as_ref()
                .map(|e| e.to_string())
                .or(rep.not_recovered.first().cloned())
                .unwrap_or_else(|| "no database was produced".into())
        ))),
    }
}
