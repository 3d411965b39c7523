//! Verification of recovered databases before they are renamed into place
//! and called Clean Shutdown (`/r` and `/cc`).
//!
//! Every database about to be committed is checked, and nothing is renamed
//! unless every check of every database passes:
//!
//! 1. **writes**: every redone page operation reached a file — the redone
//!    writes of the databases produced plus those of working files
//!    discarded on purpose (a database re-created) equal the page operations
//!    redone (a store replaced or dropped during the run loses its writes:
//!    "N redone, 0 pages written" fails here), and every page written reads
//!    back from the working file with the dbtime of its last write and a
//!    valid checksum;
//! 2. **dbtime**: the header dbtime is at least every page's dbtime
//!    (shrunk pages, `dbtimeShrunk`, excepted);
//! 3. **before-images**: the logged Split2/Merge2 page images compared with
//!    the redone pages without a difference (the counters of
//!    [`super::redo::BeforeImageCheck`]);
//! 4. **checksums**: the `/k` scan ([`crate::checksum_scan::scan_database`]) of the
//!    working file finds no failed page. Where the worker beside redo
//!    (the copier, or the hasher of the input) classified every page of
//!    the input as it read it (`store/census.rs`), only the pages the run
//!    changed (written, zeroed, grown or cut, the headers and the last
//!    page) are read back and the others counted from that pass: the same
//!    result without reading the file a second time;
//! 5. **structure**: the `/g` check ([`crate::db::check`]) finds no
//!    violation — the whole database up to [`WHOLE_DATABASE_LIMIT`] pages,
//!    above it every tree whose pages the replay wrote;
//! 6. **attach history**: the CreateDB / AttachDB / DetachDB records of the
//!    replayed range and the attachments at the start of redo agree with
//!    the databases produced: one output per database, signDb as logged,
//!    Clean Shutdown, consistent (and detached) at the last DetachDB or at
//!    the end of the replay.
//!
//! ESE itself checks pages against the expected state while it replays
//! (`LOG::ErrLGIAccessPage`, `ese/_log/logredo.cxx` ~640–770) and fails
//! with −1123 `JET_errRecoveryVerifyFailure`; here the whole result is
//! checked once more after the replay. A failure is −1123, or the more
//! specific error of the check (−1018 for a checksum, the `/g` violation's
//! error, −1216 for a database missing or of another signature).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use serde::Serialize;

use super::get_lgpos;
use super::redo::{Redo, DBTIME_SHRUNK};
use super::store::census::{PassCensus, Tally};
use crate::checksum_scan::{PageRole, Verdict, HEADER_PAGES};
use crate::error::{Error, Jet};
use crate::log::record::{AttachDb, CreateDb, LogRecord, Record};
use crate::parse::attach_info::AttachInfo;
use crate::parse::primitives::{Lgpos, Signature};
use crate::parse::{u32_at, u64_at};

/// Above this many pages the structural check covers only the trees the
/// replay wrote to.
pub const WHOLE_DATABASE_LIMIT: u32 = 100_000;

/// How many pages or problems a check lists (the counts are complete).
const LIST_MAX: usize = 10;

/// The verification of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Every check of every database passed.
    pub passed: bool,
    /// The error of the first failed check.
    pub jet: Option<Jet>,
    /// One line per failed check.
    pub failures: Vec<String>,
    /// Redone page operations against the page writes of the outputs.
    pub writes: WritesCheck,
    /// Logged page before-images against the redone pages.
    pub before_images: ImagesCheck,
    /// Attach/detach history of the logs against the outputs.
    pub attach_history: HistoryCheck,
    /// Per-database checks.
    pub databases: Vec<DbCheck>,
}

/// Check 1, run-wide part.
#[derive(Debug, Clone, Serialize)]
pub struct WritesCheck {
    /// Page operations redone.
    pub pages_redone: u64,
    /// Of those, writes into the databases produced (`PageStore::redone`).
    pub redone_in_outputs: u64,
    /// Of those, writes into working files discarded on purpose (a database
    /// re-created over an earlier one of the same name).
    pub redone_in_discarded: u64,
    /// Page writes of the databases produced (redo, undo, resets).
    pub page_writes: u64,
    /// Distinct pages written in the databases produced.
    pub pages_written: u64,
    /// Whether every redone operation has a write.
    pub passed: bool,
}

/// Check 3.
#[derive(Debug, Clone, Serialize)]
pub struct ImagesCheck {
    /// Images compared.
    pub checked: u64,
    /// Images equal to the redone page.
    pub matched: u64,
    /// Images whose format was not decoded.
    pub not_compared: u64,
    /// Differences.
    pub differences: usize,
    /// No difference.
    pub passed: bool,
}

/// Check 6.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryCheck {
    /// CreateDB / AttachDB / DetachDB records in the replayed range.
    pub records: usize,
    /// Databases attached at the start of redo.
    pub attached_at_start: usize,
    /// Databases the history says must be produced.
    pub databases_expected: usize,
    /// Databases produced.
    pub databases_produced: usize,
    /// What disagrees.
    pub problems: Vec<String>,
    /// Nothing disagrees.
    pub passed: bool,
}

/// Checks 1, 2, 4 and 5 of one database.
#[derive(Debug, Clone, Serialize)]
pub struct DbCheck {
    /// Path as logged.
    pub logged_path: String,
    /// Working file checked.
    pub file: PathBuf,
    /// Pages written (distinct, still in the file).
    pub pages_written: usize,
    /// Of those, pages read back with the dbtime of their last write and a
    /// valid checksum.
    pub pages_read_back: usize,
    /// Pages that did not read back (first few).
    pub pages_not_in_file: Vec<u32>,
    /// Header dbtime (dbtimeDirtied).
    pub header_dbtime: u64,
    /// Highest dbtime of a data page.
    pub highest_page_dbtime: u64,
    /// Its page.
    pub highest_page_dbtime_pgno: u32,
    /// Pages whose dbtime is above the header's (first few).
    pub pages_above_header_dbtime: Vec<u32>,
    /// `/k` of the working file.
    pub checksum: ChecksumCheck,
    /// `/g` of the working file.
    pub structure: StructureCheck,
    /// Every check of this database passed.
    pub passed: bool,
}

/// Check 4.
#[derive(Debug, Clone, Serialize)]
pub struct ChecksumCheck {
    /// Pages looked at (headers included).
    pub pages_seen: u64,
    /// Pages whose checksum verifies.
    pub ok: u64,
    /// All-zero pages.
    pub uninitialized: u64,
    /// Failed pages (eseutil's "bad checksums").
    pub bad: u64,
    /// No failed page.
    pub passed: bool,
    /// How the pages were looked at: "full scan" (the file read again),
    /// "copy pass" or "hash pass" (the pages the run did not change
    /// counted from the classes the copier, or the hasher of the input,
    /// gave them as it read them, the others read back).
    pub method: &'static str,
    /// Pages counted from the copy or hash pass (0 for a full scan).
    pub pages_from_pass: u64,
    /// Pages read from the working file for this check.
    pub pages_read: u64,
}

/// Check 5.
#[derive(Debug, Clone, Serialize)]
pub struct StructureCheck {
    /// "database" (whole-database `/g`) or "touched trees".
    pub scope: &'static str,
    /// Pages in the file.
    pub page_count: u32,
    /// Trees walked.
    pub trees_checked: usize,
    /// Pages used by the trees walked.
    pub pages_in_trees: u64,
    /// Violations.
    pub violations: usize,
    /// The first violations.
    pub first_violations: Vec<String>,
    /// No violation.
    pub passed: bool,
    /// Whether a violation fails verification (not when undo was skipped
    /// on request: −579, the trees may hold half a transaction).
    pub enforced: bool,
}

/// What the replay was, for the history check.
pub(crate) struct Context<'a> {
    /// The CreateDB, AttachDB, DetachDB, Term and RecoveryQuit records of
    /// the logs replayed, in log order (collected as the logs stream by).
    pub history: &'a [LogRecord],
    /// Where redo started (`None`: the first record).
    pub redo_start: Option<Lgpos>,
    /// Where it ended (end of the logs or the stop position).
    pub end: Lgpos,
    /// Databases attached when redo started.
    pub initial: &'a [AttachInfo],
    /// `/i`: attachments of missing databases were skipped.
    pub ignore_missing: bool,
    /// Undo was skipped (library option `Options::skip_undo`): the trees
    /// may hold half a transaction, so `/g` violations are reported but do
    /// not fail the run.
    pub skip_undo: bool,
}

impl Verification {
    /// The error recovery reports when verification failed.
    pub fn error(&self, at: Lgpos) -> Option<Error> {
        if self.passed {
            return None;
        }
        Some(Error::redo(
            at,
            "verification",
            self.jet.unwrap_or(Jet::RECOVERY_VERIFY_FAILURE),
            format!(
                "the recovered database failed verification before commit ({}); nothing was renamed into place",
                self.failures.join("; ")
            ),
        ))
    }

    fn fail(&mut self, jet: Jet, what: String) {
        if self.passed {
            self.jet = Some(jet);
        }
        self.passed = false;
        self.failures.push(what);
    }
}

/// Runs every check on the databases of `rd.detached` (all finished,
/// headers final in memory). Each header is first written to its working
/// file, so that the file checked is the file that would be renamed.
pub(crate) fn before_commit(rd: &mut Redo, ctx: &Context) -> Verification {
    let bi = &rd.stats.before_images;
    let mut v = Verification {
        passed: true,
        jet: None,
        failures: Vec::new(),
        writes: WritesCheck {
            pages_redone: rd.stats.pages_redone,
            redone_in_outputs: rd.detached.iter().map(|d| d.store.redone).sum(),
            redone_in_discarded: rd.discarded_redone,
            page_writes: rd.detached.iter().map(|d| d.store.writes).sum(),
            pages_written: rd
                .detached
                .iter()
                .map(|d| d.store.ledger().len() as u64)
                .sum(),
            passed: true,
        },
        before_images: ImagesCheck {
            checked: bi.checked,
            matched: bi.matched,
            not_compared: bi.not_compared,
            differences: bi.differences.len(),
            passed: bi.differences.is_empty(),
        },
        attach_history: history(rd, ctx),
        databases: Vec::new(),
    };
    let w = v.writes.clone();
    let kept = w.pages_redone.saturating_sub(w.redone_in_discarded);
    if w.redone_in_outputs + w.redone_in_discarded != w.pages_redone
        || w.page_writes < w.redone_in_outputs
        || (kept > 0 && w.pages_written == 0)
    {
        v.writes.passed = false;
        let t = format!(
            "{} page operations redone, {} of them in the databases produced ({} in re-created ones), {} page writes ({} pages)",
            w.pages_redone, w.redone_in_outputs, w.redone_in_discarded, w.page_writes, w.pages_written
        );
        v.fail(Jet::RECOVERY_VERIFY_FAILURE, t);
    }
    if !v.before_images.passed {
        let t = format!(
            "{} logged before-image(s) differ from the redone page",
            v.before_images.differences
        );
        v.fail(Jet::RECOVERY_VERIFY_FAILURE, t);
    }
    if !v.attach_history.passed {
        let t = format!(
            "attach/detach history: {}",
            v.attach_history.problems.join("; ")
        );
        let jet = if v
            .attach_history
            .problems
            .iter()
            .any(|p| p.contains("signature") || p.contains("no output"))
        {
            Jet::ATTACHED_DATABASE_MISMATCH
        } else {
            Jet::RECOVERY_VERIFY_FAILURE
        };
        v.fail(jet, t);
    }
    for db in &mut rd.detached {
        let header = db.header.clone();
        let c = match db.store.write_header(header) {
            Ok(()) => check_db(db, !ctx.skip_undo),
            Err(e) => {
                v.fail(Jet::DISK_IO, format!("{}: {e}", db.logged_path));
                continue;
            }
        };
        record_db(&mut v, c);
    }
    if !v.passed {
        // The working files stay behind as what they are: not consistent.
        for db in &mut rd.detached {
            db.header[52..56].copy_from_slice(&2u32.to_le_bytes());
        }
    }
    v
}

/// Adds a database's result and its failures.
fn record_db(v: &mut Verification, c: (DbCheck, Vec<(Jet, String)>)) {
    let (c, failures) = c;
    for (jet, t) in failures {
        v.fail(jet, format!("{}: {t}", c.logged_path));
    }
    v.databases.push(c);
}

/// Checks 1 (read back), 2, 4 and 5 of one working file.
fn check_db(db: &super::redo::DbRun, enforce_structure: bool) -> (DbCheck, Vec<(Jet, String)>) {
    let mut fails = Vec::new();
    let file = db.store.tmp_path().to_path_buf();
    // The pass beside redo, and the tally of the pages read back for it.
    let pass = db.store.take_census();
    let mut tally = pass
        .as_ref()
        .and_then(|p| final_tally(&file, p.page_size()));
    let (read_back, missing, objids) = read_back(db, tally.as_mut());
    if !missing.is_empty() {
        fails.push((
            Jet::RECOVERY_VERIFY_FAILURE,
            format!(
                "{} written page(s) do not read back as written (pages {:?})",
                missing.len(),
                &missing[..missing.len().min(LIST_MAX)]
            ),
        ));
    }
    let header_dbtime = u64_at(&db.header, 16);
    let checksum = match pass.zip(tally) {
        Some((p, t)) => checksum_from_pass(db, &p, t).transpose(),
        None => None,
    };
    if cfg!(debug_assertions) {
        same_as_full_scan(checksum.as_ref(), &file);
    }
    let (checksum, highest, highest_pgno) = match checksum.unwrap_or_else(|| checksum_scan(&file)) {
        Ok(x) => x,
        Err(e) => {
            fails.push((Jet::READ_VERIFY_FAILURE, format!("/k could not run: {e}")));
            let c = checksum_check(&crate::checksum_scan::Counts::default(), false);
            (c, 0, 0)
        }
    };
    if !checksum.passed {
        fails.push((
            Jet::READ_VERIFY_FAILURE,
            format!("/k finds {} page(s) failing their checksum", checksum.bad),
        ));
    }
    let above = if highest > header_dbtime {
        pages_above(db, header_dbtime)
    } else {
        Vec::new()
    };
    if !above.is_empty() {
        fails.push((
            Jet::RECOVERY_VERIFY_FAILURE,
            format!(
                "header dbtime 0x{header_dbtime:x} is below the dbtime of page(s) {:?}",
                &above[..above.len().min(LIST_MAX)]
            ),
        ));
    }
    let mut structure = structure(&file, &objids);
    structure.0.enforced = enforce_structure;
    if let Some((jet, t)) = structure.1.filter(|_| enforce_structure) {
        fails.push((jet, t));
    }
    let c = DbCheck {
        logged_path: db.logged_path.clone(),
        file,
        pages_written: db.store.ledger().len(),
        pages_read_back: read_back,
        pages_not_in_file: missing.into_iter().take(LIST_MAX).collect(),
        header_dbtime,
        highest_page_dbtime: highest,
        highest_page_dbtime_pgno: highest_pgno,
        pages_above_header_dbtime: above.into_iter().take(LIST_MAX).collect(),
        checksum,
        structure: structure.0,
        passed: fails.is_empty(),
    };
    (c, fails)
}

/// Reads back every page of the store's ledger: (pages as written, pages
/// not, objids of the pages written). With a `tally` (`/k` from the pass
/// beside redo) each page read is classified into it as well.
fn read_back(
    db: &super::redo::DbRun,
    mut tally: Option<&mut Tally>,
) -> (usize, Vec<u32>, BTreeSet<u32>) {
    let (mut ok, mut missing, mut objids) = (0usize, Vec::new(), BTreeSet::new());
    for (&pg, &dbtime) in db.store.ledger() {
        let Ok(b) = db.store.read_page(pg) else {
            missing.push(pg);
            continue;
        };
        let sum_good = checksum_good(&b, pg, tally.as_deref_mut());
        if u64_at(&b, 8) == dbtime && sum_good {
            ok += 1;
            objids.insert(u32_at(&b, 24));
        } else {
            missing.push(pg);
        }
    }
    (ok, missing, objids)
}

/// Whether data page `pg` read back verifies (or is blank), classified
/// into `tally` when there is one (one checksum for both).
fn checksum_good(b: &[u8], pg: u32, tally: Option<&mut Tally>) -> bool {
    let tallied = tally
        .filter(|t| t.holds_data_page(pg))
        .map(|t| t.page(pg as u64 + HEADER_PAGES, b))
        .filter(|r| r.role == PageRole::Data);
    match tallied {
        // `classify_page`'s verdict on a data page is `verify_page`'s.
        Some(r) => matches!(r.verdict, Verdict::Ok | Verdict::Uninitialized),
        None => crate::checksum::verify_page(b, pg).is_good(),
    }
}

/// The tally of the pages read back from the final working file, when
/// its header gives the page size of the pass (else the full scan runs,
/// and says what is wrong).
fn final_tally(file: &std::path::Path, page_size: usize) -> Option<Tally> {
    let mut input = crate::file::Input::open(file).ok()?;
    let probe = input.probe().ok()?;
    let pair = crate::parse::db_header::read_header_pair(&probe).ok()?;
    (pair.page_size == page_size).then(|| Tally::new(input.len, page_size))
}

/// `/k` from the pass beside redo ([`PassCensus::fold`]): the ledger's
/// pages already in `tally`, the other pages the run changed read back
/// here. `None` when the pass cannot tell: the full scan runs.
fn checksum_from_pass(
    db: &super::redo::DbRun,
    pass: &PassCensus,
    tally: Tally,
) -> crate::error::Result<Option<(ChecksumCheck, u64, u32)>> {
    let Some(folded) = db.store.fold_census(pass, tally)? else {
        return Ok(None);
    };
    let c = &folded.counts;
    let mut check = checksum_check(c, true);
    check.method = match db.store.origin() {
        super::store::Origin::Copy => "copy pass",
        _ => "hash pass",
    };
    check.pages_from_pass = folded.from_pass;
    check.pages_read = folded.read_back;
    Ok(Some((check, c.highest_dbtime, c.highest_dbtime_pgno)))
}

/// The check of `/k`'s counters `c`, failed as
/// [`crate::checksum_scan::DbScan::failed`] judges; `ran` false: `/k`
/// could not run (failed).
fn checksum_check(c: &crate::checksum_scan::Counts, ran: bool) -> ChecksumCheck {
    ChecksumCheck {
        pages_seen: c.pages_seen,
        ok: c.ok,
        uninitialized: c.uninitialized,
        bad: c.eseutil_bad(),
        passed: ran && c.eseutil_bad() == 0 && c.pages_seen > 0,
        method: "full scan",
        pages_from_pass: 0,
        pages_read: c.pages_seen,
    }
}

/// Debug builds (every test run): `/k` made from the pass is what the full
/// scan of the file gives.
fn same_as_full_scan(
    from_pass: Option<&crate::error::Result<(ChecksumCheck, u64, u32)>>,
    file: &std::path::Path,
) {
    let (Some(Ok((c, t, pg))), Ok((s, st, spg))) = (from_pass, checksum_scan(file)) else {
        return;
    };
    let key = |c: &ChecksumCheck| (c.pages_seen, c.ok, c.uninitialized, c.bad, c.passed);
    assert_eq!(
        (key(c), *t, *pg),
        (key(&s), st, spg),
        "/k from the pass differs from the full scan of {}",
        file.display()
    );
}

/// The `/k` scan: (result, highest page dbtime, its page).
fn checksum_scan(file: &std::path::Path) -> crate::error::Result<(ChecksumCheck, u64, u32)> {
    let opts = crate::checksum_scan::ScanOptions {
        workers: 1,
        ..Default::default()
    };
    let s = crate::checksum_scan::scan_database(file, &opts, &mut crate::checksum_scan::Quiet)?;
    let c = &s.counts;
    let check = checksum_check(c, true);
    debug_assert_eq!(check.passed, !s.failed());
    Ok((check, c.highest_dbtime, c.highest_dbtime_pgno))
}

/// Pages whose dbtime is above `bound` (shrunk pages excepted).
fn pages_above(db: &super::redo::DbRun, bound: u64) -> Vec<u32> {
    let n = db.store.page_count().unwrap_or(0);
    (1..=n)
        .filter(|&pg| {
            db.store.read_page(pg).is_ok_and(|b| {
                let t = u64_at(&b, 8);
                !crate::checksum::is_all_zero(&b) && t > bound && t != DBTIME_SHRUNK
            })
        })
        .collect()
}

/// The `/g` check: whole database when small, else the trees of `objids`.
fn structure(
    file: &std::path::Path,
    objids: &BTreeSet<u32>,
) -> (StructureCheck, Option<(Jet, String)>) {
    let db = match crate::db::Database::open(file, None) {
        Ok(db) => db,
        Err(e) => {
            let s = StructureCheck {
                scope: "database",
                page_count: 0,
                trees_checked: 0,
                pages_in_trees: 0,
                violations: 1,
                first_violations: vec![e.to_string()],
                passed: false,
                enforced: true,
            };
            let jet = e.jet().unwrap_or(Jet::DATABASE_CORRUPTED);
            return (s, Some((jet, format!("/g could not open it: {e}"))));
        }
    };
    let whole = db.page_count <= WHOLE_DATABASE_LIMIT;
    let rep = if whole {
        crate::db::check::check(&db).0
    } else {
        crate::db::check::check_trees(&db, objids)
    };
    let s = StructureCheck {
        scope: if whole { "database" } else { "touched trees" },
        page_count: db.page_count,
        trees_checked: rep.trees.len(),
        pages_in_trees: rep.pages_in_trees,
        violations: rep.violations.len(),
        first_violations: rep
            .violations
            .iter()
            .take(LIST_MAX)
            .map(|p| {
                format!(
                    "page {} (tree {}): {} ({})",
                    p.pgno, p.tree, p.detail, p.jet
                )
            })
            .collect(),
        passed: rep.violations.is_empty(),
        enforced: true,
    };
    let fail = rep.violations.first().map(|p| {
        (
            p.jet,
            format!(
                "/g finds {} violation(s), the first at page {}: {}",
                rep.violations.len(),
                p.pgno,
                p.detail
            ),
        )
    });
    (s, fail)
}

/// One attachment history of the replayed range: a database (file name
/// and signDb) and how its last attachment ended.
struct Expected {
    /// Position of its last CreateDB/AttachDB (the start of redo for an
    /// attachment listed by the checkpoint or the first log header).
    attached_at: Lgpos,
    /// How the last attachment ended.
    end: AttachEnd,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AttachEnd {
    /// Still attached at the end of the replay: consistent there.
    Open,
    /// A DetachDB record: consistent and detached there.
    Detach(Lgpos),
    /// A Term / RecoveryQuit record ended it (it detaches every database,
    /// `ErrLGRIEndEverySession`): consistent no later than the end.
    Term,
}

type Key = (String, Option<Signature>);

fn name_key(path: &str) -> String {
    super::file_name_of(path).to_ascii_lowercase()
}

fn sign_of(b: &[u8]) -> Option<Signature> {
    crate::parse::primitives::signature(b).ok().map(|(_, s)| s)
}

/// The attach/detach histories of the replayed range, by (file name,
/// signDb): a database of the same name created again with another
/// signature is another history (ESE keeps or replaces the earlier one,
/// `ErrLGRICheckRedoCreateDb`; either way each output must match one).
fn expected_history(ctx: &Context) -> (HashMap<Key, Expected>, usize) {
    let mut by_key: HashMap<Key, Expected> = HashMap::new();
    let mut dbid_key: BTreeMap<u8, Key> = BTreeMap::new();
    let start = ctx.redo_start.unwrap_or_default();
    for a in ctx.initial {
        let k = (name_key(&a.path), Some(a.sign_db));
        dbid_key.insert(a.dbid, k.clone());
        let e = Expected {
            attached_at: start,
            end: AttachEnd::Open,
        };
        by_key.insert(k, e);
    }
    let mut records = 0;
    let recs = ctx.history.iter();
    for r in recs.filter(|r| ctx.redo_start.is_none_or(|s| r.lgpos >= s) && r.lgpos < ctx.end) {
        let (dbid, key) = match r.decode() {
            Ok(Record::CreateDb(CreateDb {
                dbid,
                sign_db,
                path,
                ..
            }))
            | Ok(Record::AttachDb(AttachDb {
                dbid,
                sign_db,
                path,
                ..
            })) => (dbid, (name_key(&path.text()), Some(sign_db.value()))),
            Ok(Record::DetachDb(d)) => {
                records += 1;
                if let Some(e) = dbid_key.remove(&d.dbid).and_then(|k| by_key.get_mut(&k)) {
                    e.end = AttachEnd::Detach(r.lgpos);
                }
                continue;
            }
            // Term, RecoveryQuit (1 and 2).
            Ok(Record::Term(_))
            | Ok(Record::RecoveryQuit {
                keep_attachments: false,
                ..
            }) => {
                for k in std::mem::take(&mut dbid_key).into_values() {
                    if let Some(e) = by_key.get_mut(&k) {
                        e.end = AttachEnd::Term;
                    }
                }
                continue;
            }
            _ => continue,
        };
        records += 1;
        dbid_key.insert(dbid, key.clone());
        let e = Expected {
            attached_at: r.lgpos,
            end: AttachEnd::Open,
        };
        by_key.insert(key, e);
    }
    (by_key, records)
}

/// What is wrong with one output against its history.
fn history_problems(name: &str, h: &[u8], e: &Expected, end: Lgpos) -> Vec<String> {
    let mut out = Vec::new();
    if u32_at(h, 52) != 3 {
        out.push(format!(
            "{name}: state {} is not Clean Shutdown",
            u32_at(h, 52)
        ));
    }
    let consistent = get_lgpos(h, 56);
    let ok = match e.end {
        AttachEnd::Open => consistent == end,
        AttachEnd::Detach(d) => consistent == d && get_lgpos(h, 96) == d,
        AttachEnd::Term => e.attached_at <= consistent && consistent <= end,
    };
    if !ok {
        let want = match e.end {
            AttachEnd::Open => format!("the end of the replay {}", end.eseutil_text()),
            AttachEnd::Detach(d) => format!("its DetachDB record {}", d.eseutil_text()),
            AttachEnd::Term => format!(
                "between its attachment {} and the end {}",
                e.attached_at.eseutil_text(),
                end.eseutil_text()
            ),
        };
        out.push(format!(
            "{name}: consistent at {} (detach {}), its history ends at {want}",
            consistent.eseutil_text(),
            get_lgpos(h, 96).eseutil_text()
        ));
    }
    out
}

/// Check 6.
fn history(rd: &Redo, ctx: &Context) -> HistoryCheck {
    let (expected, records) = expected_history(ctx);
    let mut problems = Vec::new();
    let mut outputs: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for db in &rd.detached {
        *outputs.entry(db.store.target().to_path_buf()).or_default() += 1;
    }
    for (p, n) in &outputs {
        if *n > 1 {
            problems.push(format!(
                "{n} databases would be committed to {}",
                p.display()
            ));
        }
    }
    for db in &rd.detached {
        let name = name_key(&db.logged_path);
        let key = (name.clone(), sign_of(&db.header[24..52]));
        match expected.get(&key) {
            Some(e) => problems.extend(history_problems(&name, &db.header, e, ctx.end)),
            None if expected.keys().any(|(n, _)| *n == name) => problems.push(format!(
                "{name}: its signature is not the one of any CreateDB/AttachDB record or attachment of the replayed range"
            )),
            None => problems.push(format!(
                "{name}: produced but never attached in the replayed range"
            )),
        }
    }
    let names: BTreeSet<&String> = expected.keys().map(|(n, _)| n).collect();
    for name in &names {
        let produced = rd
            .detached
            .iter()
            .any(|d| name_key(&d.logged_path) == **name);
        if !produced && !ctx.ignore_missing {
            problems.push(format!(
                "{name}: attached in the logs but no output database"
            ));
        }
    }
    HistoryCheck {
        records,
        attached_at_start: ctx.initial.len(),
        databases_expected: names.len(),
        databases_produced: rd.detached.len(),
        passed: problems.is_empty(),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(generation: i32, sector: u16, offset: u16) -> Lgpos {
        Lgpos {
            generation,
            sector,
            offset,
        }
    }

    fn header(state: u32, consistent: Lgpos, detach: Lgpos) -> Vec<u8> {
        let mut h = vec![0u8; 4096];
        h[52..56].copy_from_slice(&state.to_le_bytes());
        super::super::put_lgpos(&mut h, 56, consistent);
        super::super::put_lgpos(&mut h, 96, detach);
        h
    }

    #[test]
    fn history_positions_by_how_the_attachment_ended() {
        let (a, d, t, end) = (at(1, 2, 0), at(1, 5, 16), at(1, 7, 0), at(2, 1, 0));
        let open = Expected {
            attached_at: a,
            end: AttachEnd::Open,
        };
        let detached = Expected {
            attached_at: a,
            end: AttachEnd::Detach(d),
        };
        let term = Expected {
            attached_at: a,
            end: AttachEnd::Term,
        };
        assert!(history_problems("x", &header(3, end, end), &open, end).is_empty());
        assert_eq!(
            history_problems("x", &header(3, d, end), &open, end).len(),
            1
        );
        assert!(history_problems("x", &header(3, d, d), &detached, end).is_empty());
        // Detach position wrong, then state not Clean Shutdown.
        assert_eq!(
            history_problems("x", &header(3, d, t), &detached, end).len(),
            1
        );
        assert_eq!(
            history_problems("x", &header(2, d, d), &detached, end).len(),
            1
        );
        // A Term ends it anywhere between its attachment and the end.
        assert!(history_problems("x", &header(3, t, t), &term, end).is_empty());
        assert!(history_problems("x", &header(3, end, end), &term, end).is_empty());
        assert_eq!(
            history_problems("x", &header(3, at(1, 1, 0), at(1, 1, 0)), &term, end).len(),
            1
        );
    }
}
