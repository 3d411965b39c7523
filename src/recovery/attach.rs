//! The attachment history of a replay: a database may be detached (by
//! DetachDB or by a Term) and attached again, or created again, within the
//! replayed logs.
//!
//! One working file per database *file* (output name): while it is
//! attached it is in [`Redo::dbs`] under its dbid, once detached in
//! [`Redo::detached`], finished (Clean Shutdown header written) and kept
//! open. A later AttachDB or CreateDB of the same name decides, as ESE's
//! redo does, whether that same file is attached again, the attachment is
//! deferred (its records skipped) or the file is re-created:
//!
//! * Term / Term2 / RecoveryQuit / RecoveryQuit2 end all sessions and
//!   detach every database (`ErrLGRIEndAllSessions` with fKeepDbAttached
//!   false, logredo.cxx ~12668–12715 → `ErrIOTermFMP` →
//!   `ErrIOTermUpdateAndWriteDatabaseHeader`, io.cxx ~766: Clean Shutdown,
//!   lgposConsistent = lgposDetach = lgposLastResize = the last
//!   ShutDownMark, `ErrIOTermGetShutDownMark` ~745);
//! * AttachDB: `ErrLGRICheckRedoAttachDb` (logredo.cxx ~5205–5690);
//! * CreateDB of a name whose working file this replay made: re-created
//!   (see [`create_known`] for how this departs from
//!   `ErrLGRICheckRedoCreateDb`, logredo.cxx ~4960–5200).

use super::redo::{redo_err, redo_store_err, DbRun, Redo};
use super::{file_name_of, finish_header, get_lgpos, put_lgpos};
use crate::error::{Error, Jet};
use crate::log::record::{AttachDb, CreateDb, LogRecord};
use crate::parse::primitives::Lgpos;

/// What a CreateDB / AttachDB found among the databases of this replay.
pub(crate) enum Known {
    /// Not a database of this replay (or re-created): open or create it.
    New,
    /// Done here (attached again, or deferred).
    Handled,
}

/// Two log positions of the same point. The engine reports a record
/// written at the start of a segment at offset 0, before the segment header
/// (secedit-logs-b: the DetachDB at (0x1,31,28) is remembered by the next
/// AttachDB as consistent (0x1,31,0)); redo sees it after the header (the
/// 8.x LGSEGHDR is 40 bytes).
fn same_point(a: Lgpos, b: Lgpos) -> bool {
    a == b
        || (a.generation == b.generation
            && a.sector == b.sector
            && a.offset.min(b.offset) == 0
            && a.offset.max(b.offset) <= 40)
}

fn same_name(db: &DbRun, name: &str) -> bool {
    file_name_of(&db.logged_path).eq_ignore_ascii_case(name)
}

/// Term-like records: sessions end, every attached database is detached
/// Clean Shutdown at the last ShutDownMark (or at the record when the
/// logs hold none after the attachment).
pub(crate) fn end_all_sessions(rd: &mut Redo, r: &LogRecord, logtime: &[u8]) -> Result<(), Error> {
    rd.end_all_sessions(r);
    let dbids: Vec<u8> = rd.dbs.keys().copied().collect();
    for dbid in dbids {
        let Some(mut db) = rd.dbs.remove(&dbid) else {
            continue;
        };
        let attach = get_lgpos(&db.header, 80);
        let at = rd.shutdown_mark.filter(|m| *m >= attach).unwrap_or(r.lgpos);
        finish_header(&mut db, at, logtime);
        db.attached = false;
        let h = db.header.clone();
        db.store.write_header(h).map_err(|x| redo_store_err(r, x))?;
        rd.retire_db(db).map_err(|x| redo_store_err(r, x))?;
    }
    rd.skipped_dbids.clear();
    Ok(())
}

/// A new attachment of `dbid` must not replace a database still attached.
fn check_free(rd: &Redo, r: &LogRecord, dbid: u8, name: &str, path: &str) -> Result<(), Error> {
    if let Some(db) = rd.dbs.get(&dbid) {
        return Err(redo_err(
            Jet::DATABASE_DUPLICATE,
            r,
            format!("dbid {dbid} is still attached to {} (no DetachDB or Term before this attachment of {path})", db.logged_path),
        ));
    }
    if let Some(db) = rd.dbs.values().find(|d| same_name(d, name)) {
        return Err(redo_err(
            Jet::DATABASE_DUPLICATE,
            r,
            format!(
                "{path} is still attached as dbid {} ({})",
                db.dbid, db.logged_path
            ),
        ));
    }
    Ok(())
}

/// The detached database of this replay with the output name of `path`;
/// another database of the same file name (another folder, another
/// signature) cannot share the output folder.
fn find_detached(
    rd: &Redo,
    r: &LogRecord,
    path: &str,
    sign_db: &[u8],
) -> Result<Option<usize>, Error> {
    let name = file_name_of(path);
    let Some(i) = rd.detached.iter().position(|d| same_name(d, &name)) else {
        return Ok(None);
    };
    let d = &rd.detached[i];
    if !d.logged_path.eq_ignore_ascii_case(path) && d.header[24..52] != *sign_db {
        return Err(redo_err(
            Jet::DATABASE_DUPLICATE,
            r,
            format!(
                "{path} and {} are different databases with the same file name: one output folder cannot hold both",
                d.logged_path
            ),
        ));
    }
    Ok(Some(i))
}

/// Attaches the detached database `i` again as `dbid` at `r`
/// (`DBISetHeaderAfterAttach`: Dirty Shutdown, lgposAttach, dbid).
fn reopen(rd: &mut Redo, i: usize, dbid: u8, r: &LogRecord, logtime: &[u8]) -> Result<(), Error> {
    let mut db = rd.detached.remove(i);
    db.dbid = dbid;
    db.attached = true;
    let h = &mut db.header;
    h[52..56].copy_from_slice(&2u32.to_le_bytes());
    put_lgpos(h, 80, r.lgpos);
    h[72..80].copy_from_slice(logtime);
    h[104..108].copy_from_slice(&(dbid as u32).to_le_bytes());
    rd.put_db(dbid, db).map_err(|x| redo_store_err(r, x))
}

fn defer(rd: &mut Redo, r: &LogRecord, dbid: u8, path: &str, why: &str) -> Known {
    rd.skipped_dbids.insert(dbid);
    rd.notes.push(format!(
        "{} at {} of {path} (dbid {dbid}) deferred as ESE's redo does: {why}; its page records are not replayed",
        crate::log::record::lrtyp_name(r.lrtyp).trim(),
        r.lgpos.eseutil_text()
    ));
    Known::Handled
}

/// CreateDB of a name this replay already produced and detached: the
/// application deleted that database and created a new one, so the working
/// file is discarded and created again. (ESE's own rule,
/// `ErrLGRICheckRedoCreateDb`, defers the attachment when the file on disk
/// was attached before the record — a stale copy it must not destroy —
/// unless `JET_bitRestoreMapOverwriteOnCreate`; a working file of this
/// replay is never such a copy: it is the record's own predecessor.)
pub(crate) fn create_known(
    rd: &mut Redo,
    r: &LogRecord,
    c: &CreateDb<'_>,
    path: &str,
) -> Result<Known, Error> {
    let (dbid, sign_db) = (c.dbid, &c.sign_db.0[..]);
    rd.skipped_dbids.remove(&dbid);
    check_free(rd, r, dbid, &file_name_of(path), path)?;
    if let Some(i) = find_detached(rd, r, path, sign_db)? {
        let old = rd.detached.remove(i);
        rd.discarded_redone += old.store.redone;
        rd.notes.push(format!(
            "CreateDB at {} re-created {path}: the database of that name attached at {} and detached at {} was deleted by the application and is not in the output",
            r.lgpos.eseutil_text(),
            get_lgpos(&old.header, 80).eseutil_text(),
            get_lgpos(&old.header, 96).eseutil_text()
        ));
        old.store.discard();
    }
    Ok(Known::New)
}

/// AttachDB of a name this replay already produced
/// (`ErrLGRICheckRedoAttachDb`; LRATTACHDB: dbid, lgposConsistent,
/// signDb, signLog).
pub(crate) fn attach_known(
    rd: &mut Redo,
    r: &LogRecord,
    a: &AttachDb<'_>,
    log_header: &[u8],
    path: &str,
) -> Result<Known, Error> {
    let (dbid, sign_db, logged_log) = (a.dbid, &a.sign_db.0[..], &a.sign_log.0[..]);
    rd.skipped_dbids.remove(&dbid);
    check_free(rd, r, dbid, &file_name_of(path), path)?;
    let Some(i) = find_detached(rd, r, path, sign_db)? else {
        return Ok(Known::New);
    };
    let h = &rd.detached[i].header;
    let (attach, consistent) = (get_lgpos(h, 80), get_lgpos(h, 56));
    let same_db = h[24..52] == *sign_db;
    let same_log = h[108..136] == log_header[44..72];
    let same_logged_log = h[108..136] == *logged_log;
    // A logged lgposConsistent from the future belongs to another log stream.
    let logged = a.lgpos_consistent;
    let logged = if logged >= r.lgpos {
        Lgpos::default()
    } else {
        logged
    };
    let mismatch = || {
        redo_err(
            Jet::CONSISTENT_TIME_MISMATCH,
            r,
            format!(
                "{path} was left consistent at {} by this replay, the record expects {}",
                consistent.eseutil_text(),
                logged.eseutil_text()
            ),
        )
    };
    if !same_log {
        if !same_logged_log {
            return Ok(defer(
                rd,
                r,
                dbid,
                path,
                "the file belongs to another log set",
            ));
        }
        if !same_point(logged, consistent) {
            return if same_db {
                Err(mismatch())
            } else {
                Ok(defer(rd, r, dbid, path, "another database signature"))
            };
        }
    }
    if !same_logged_log || same_point(logged, consistent) || consistent == Lgpos::default() {
        if !same_db {
            return Ok(defer(rd, r, dbid, path, "another database signature"));
        }
        if attach > r.lgpos {
            return Ok(defer(rd, r, dbid, path, "the file was attached later"));
        }
        if attach < r.lgpos && !same_logged_log {
            return Err(redo_err(
                Jet::ATTACHED_DATABASE_MISMATCH,
                r,
                format!("{path}: an attachment was skipped in this file"),
            ));
        }
        reopen(rd, i, dbid, r, &log_header[16..24])?;
        return Ok(Known::Handled);
    }
    if consistent > logged && consistent > r.lgpos {
        return Ok(defer(
            rd,
            r,
            dbid,
            path,
            "the file is consistent at a later point",
        ));
    }
    if same_db {
        return Err(mismatch());
    }
    Ok(defer(rd, r, dbid, path, "another database signature"))
}

#[cfg(test)]
mod tests {
    use super::super::store::PageStore;
    use super::*;

    fn run_of(dir: &std::path::Path, name: &str, redone: u64) -> DbRun {
        let mut store = PageStore::create(&dir.join(name), 4096).unwrap();
        store.redone = redone;
        DbRun {
            dbid: 1,
            logged_path: format!("C:\\db\\{name}"),
            store,
            header: vec![0; 4096],
            attached: false,
            dbtime_max: 0,
            objid_max: 0,
            pages: Default::default(),
            created: true,
        }
    }

    /// `--cache-mib` is the run's budget: shared evenly by the databases
    /// open, a detached database keeps one page, its share goes back.
    #[test]
    fn cache_budget_is_shared_by_the_databases_open() {
        let d = tempfile::tempdir().unwrap();
        let mut rd = Redo::default();
        rd.cache_budget = 12 * 4096;
        rd.put_db(1, run_of(d.path(), "a.edb", 0)).unwrap();
        assert_eq!(rd.dbs[&1].store.cache_stats().capacity, 12);
        rd.put_db(2, run_of(d.path(), "b.edb", 0)).unwrap();
        rd.put_db(3, run_of(d.path(), "c.edb", 0)).unwrap();
        let caps: Vec<usize> = rd
            .dbs
            .values()
            .map(|db| db.store.cache_stats().capacity)
            .collect();
        assert_eq!(caps, [4, 4, 4]);
        let gone = rd.dbs.remove(&2).unwrap();
        rd.retire_db(gone).unwrap();
        assert_eq!(rd.detached[0].store.cache_stats().capacity, 1);
        let caps: Vec<usize> = rd
            .dbs
            .values()
            .map(|db| db.store.cache_stats().capacity)
            .collect();
        assert_eq!(caps, [6, 6]);
    }

    /// "N operations redone, 0 pages written" cannot pass: the redone count
    /// must be found in the outputs (plus the re-created files).
    #[test]
    fn redone_operations_must_reach_the_outputs() {
        let d = tempfile::tempdir().unwrap();
        let end = Lgpos::default();
        let mut rd = Redo::default();
        rd.stats.pages_redone = 156;
        rd.detached.push(run_of(d.path(), "a.edb", 0));
        let e = super::super::check_outputs(&rd, end).expect("refused");
        assert_eq!(e.jet(), Some(Jet::RECOVERY_VERIFY_FAILURE));
        assert!(
            e.to_string()
                .contains("156 page operations were redone but 0 reached"),
            "{e}"
        );
        rd.detached[0].store.redone = 100;
        rd.discarded_redone = 56;
        assert!(super::super::check_outputs(&rd, end).is_none());
        // Two working files for one output name.
        rd.detached.push(run_of(d.path(), "a.edb", 0));
        let e = super::super::check_outputs(&rd, end).expect("refused");
        assert!(
            e.to_string().contains("two databases would be written"),
            "{e}"
        );
    }

    #[test]
    fn segment_start_positions_are_the_same_point() {
        let p = |sector, offset| Lgpos {
            generation: 1,
            sector,
            offset,
        };
        assert!(same_point(p(0x31, 0), p(0x31, 0x28)));
        assert!(same_point(p(0x31, 0x28), p(0x31, 0x28)));
        assert!(!same_point(p(0x31, 0x28), p(0x31, 0x30)));
        assert!(!same_point(p(0x31, 0), p(0x32, 0x28)));
        assert!(!same_point(p(0x31, 0), p(0x31, 0x29)));
    }
}
