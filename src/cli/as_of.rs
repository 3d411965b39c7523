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
/// With no `db`, the database is rebuilt from the logs alone (they must
/// hold its creation: CreateDB in the first generation).
pub fn replay(
    db: Option<&Database>,
    logs: &Path,
    base: &str,
    at: Option<Lgpos>,
) -> Result<Scratch, Error> {
    if let (Some(db), Some(at)) = (db, at) {
        check_not_past(db, at)?;
    }
    let dir = std::env::temp_dir().join(format!("eseutil-rs-as-of-{}", std::process::id()));
    std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
    let mut scratch = Scratch {
        dir: dir.clone(),
        db: PathBuf::new(),
    };
    // No database: a folder that does not exist, so recovery finds no
    // input copy and creates the database as the logs do.
    let db_dir = match db {
        Some(db) => db
            .path()
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        None => dir.join("no-database"),
    };
    let opts = crate::recovery::Options {
        base: base.to_string(),
        log_dir: logs.to_path_buf(),
        system_dir: logs.to_path_buf(),
        db_dir,
        output: dir.join("out"),
        ignore_checkpoint: true,
        stop_at: at,
        // A scratch replay, deleted afterwards: no evidence hashes wanted.
        io: crate::recovery::evidence::IoOptions {
            no_hash: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let rep = crate::recovery::recover(&opts)?;
    let name = db.and_then(|d| d.path().file_name().map(|n| n.to_os_string()));
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

/// What `--as-of` names: a log position, or a time (ISO-8601) mapped to
/// the first log position whose log time is after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOf {
    /// A log position.
    At(Lgpos),
    /// A date-time: year, month, day, hour, minute, second, millisecond.
    Time(crate::log::time_lgpos::Clock),
}

/// Parses `--as-of`: an lgpos `(0xGEN,SEC,OFF)` or an ISO-8601 date-time
/// `YYYY-MM-DDTHH:MM[:SS[.mmm]]` (a trailing `Z` is accepted: log times
/// carry no zone unless flagged UTC, so the fields are compared as given).
pub fn parse_as_of(s: &str) -> Result<AsOf, String> {
    if s.contains(',') {
        return super::timeline::parse_lgpos(s).map(AsOf::At);
    }
    let bad =
        || format!("{s}: expected an lgpos like (0x1,2A,3F) or a time like 2024-05-01T13:45:00");
    let t = s.trim().trim_end_matches('Z');
    let (date, time) = t.split_once(['T', ' ']).ok_or_else(bad)?;
    let d: Vec<&str> = date.split('-').collect();
    let (hms, ms) = time.split_once('.').unwrap_or((time, "0"));
    let h: Vec<&str> = hms.split(':').collect();
    if d.len() != 3 || !(2..=3).contains(&h.len()) {
        return Err(bad());
    }
    let num = |x: &str| x.parse::<u32>().map_err(|_| bad());
    let ms = format!("{ms:0<3}");
    let clock = [
        num(d[0])?,
        num(d[1])?,
        num(d[2])?,
        num(h[0])?,
        num(h[1])?,
        h.get(2).map_or(Ok(0), |x| num(x))?,
        num(&ms[..3.min(ms.len())])?,
    ];
    let limits = [9999, 12, 31, 23, 59, 60, 999];
    if clock.iter().zip(limits).any(|(v, m)| *v > m) || clock[1] == 0 || clock[2] == 0 {
        return Err(bad());
    }
    Ok(AsOf::Time(clock))
}

/// The log position `as_of` names: a time becomes the first position of
/// the logs whose log time is after it (said on stderr).
pub fn resolve(as_of: AsOf, logs: &Path, base: &str) -> Result<Lgpos, Error> {
    let when = match as_of {
        AsOf::At(at) => return Ok(at),
        AsOf::Time(c) => c,
    };
    match crate::log::time_lgpos::first_lgpos_after(logs, base, when)? {
        Some((at, t)) => {
            eprintln!(
                "eseutil-rs: export: --as-of {:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}: replaying up to {}, the first log position with a later log time ({}; {})",
                when[0], when[1], when[2], when[3], when[4], when[5], when[6],
                at.eseutil_text(),
                t.iso8601().unwrap_or_default(),
                if t.is_utc() { "the log says UTC" } else { "log times are the writer's local time" }
            );
            Ok(at)
        }
        None => Err(Error::Usage(format!(
            "--as-of: no log time in {} is after the time given (log times are the writer's local time unless the log says UTC); export without --as-of, or with --logs alone, for the end of the logs",
            logs.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_as_of, AsOf};

    #[test]
    fn as_of_is_an_lgpos_or_a_time() {
        assert!(matches!(parse_as_of("(0x2,10,0)"), Ok(AsOf::At(_))));
        assert_eq!(
            parse_as_of("2024-05-01T13:45:07.5Z"),
            Ok(AsOf::Time([2024, 5, 1, 13, 45, 7, 500]))
        );
        assert_eq!(
            parse_as_of("2024-05-01 13:45"),
            Ok(AsOf::Time([2024, 5, 1, 13, 45, 0, 0]))
        );
        assert!(parse_as_of("2024-13-01T00:00").is_err());
        assert!(parse_as_of("yesterday").is_err());
    }
}
