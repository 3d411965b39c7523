//! Verification before commit (`/r`, `/cc`): the normal runs show the
//! section and pass; a replay whose writes are lost, a database whose
//! untouched page fails its checksum and one whose tree is broken all fail
//! it: nothing is renamed into place, exit status 5, the JET error named.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{logs_b, run_with_json as r_json};

/// Page `pgno` of a database file with `ps`-byte pages, edited and
/// re-sealed (or written raw when `seal` is false).
fn edit_page(file: &Path, ps: usize, pgno: u32, seal: bool, f: impl Fn(&mut [u8])) {
    let mut b = std::fs::read(file).unwrap();
    let off = (pgno as usize + 1) * ps;
    let page = &mut b[off..off + ps];
    f(page);
    if seal {
        eseutil::checksum::seal_page(page, pgno);
    }
    std::fs::write(file, b).unwrap();
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn normal_rebuild_passes_and_shows_every_check() {
    let Some(logs) = logs_b() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let log = logs.join("edb.log");
    let (code, v, err) = r_json(&[
        "/r".as_ref(),
        log.as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
    let ver = &v["verification"];
    assert_eq!(ver["passed"], true, "{ver:#}");
    assert!(ver["jet"].is_null());
    assert_eq!(ver["writes"]["pages_redone"], 1228);
    assert!(ver["writes"]["page_writes"].as_u64().unwrap() >= 1228);
    assert_eq!(ver["writes"]["pages_written"], 53);
    assert_eq!(ver["before_images"]["checked"], 9);
    assert_eq!(ver["before_images"]["differences"], 0);
    assert_eq!(ver["attach_history"]["passed"], true);
    assert_eq!(ver["attach_history"]["databases_expected"], 1);
    let d = &ver["databases"][0];
    assert_eq!(d["pages_read_back"], 53);
    assert_eq!(d["header_dbtime"], 0x523);
    assert_eq!(d["highest_page_dbtime"], 0x523);
    assert_eq!(d["checksum"]["bad"], 0);
    assert_eq!(d["structure"]["scope"], "database");
    assert_eq!(d["structure"]["trees_checked"], 20);
    assert_eq!(d["structure"]["violations"], 0);
    // The text report carries the same section.
    let t = common::run(&[
        "/r".as_ref(),
        log.as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "--output".as_ref(),
        tmp.path().join("out2").as_os_str(),
    ]);
    assert_eq!(t.code, 0);
    assert!(
        t.stdout.contains("Verification before commit: passed"),
        "{}",
        t.stdout
    );
    assert!(
        t.stdout.contains(
            "Page writes: 1228 operations redone, 1228 page writes, 53 pages written: ok"
        ),
        "{}",
        t.stdout
    );
    assert!(t
        .stdout
        .contains("/g (database) 20 trees, 0 violations: ok"));
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn lost_writes_fail_with_1123_and_nothing_is_renamed() {
    let Some(logs) = logs_b() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // The last page write of the replay (1 228 in all) is counted but
    // never reaches the file (test hook of the page store); earlier lost
    // writes would stop redo itself with a dbtime mismatch.
    eseutil::recovery::store::inject_lost_writes_from(Some(1227));
    let r = eseutil::recovery::recover(&common::log_only_opts(&logs, &out));
    eseutil::recovery::store::inject_lost_writes_from(None);
    let r = r.unwrap();
    assert_eq!(r.exit_status, 5, "{:?}", r.error);
    let e = r.error.as_ref().expect("verification error");
    assert_eq!(e.jet().map(|j| j.code), Some(-1123), "{e:?}");
    let v = r.verification.as_ref().unwrap();
    assert!(!v.passed);
    let d = &v.databases[0];
    assert!(!d.pages_not_in_file.is_empty());
    assert!(d.pages_read_back < d.pages_written);
    assert!(!out.join("secedit.sdb").exists(), "renamed despite failure");
    let left = out.join("secedit.sdb.recovering");
    assert!(left.exists());
    // The working file left behind says Dirty Shutdown.
    let h = std::fs::read(&left).unwrap();
    assert_eq!(u32::from_le_bytes(h[52..56].try_into().unwrap()), 2);
    assert_eq!(r.databases[0].state, "Dirty Shutdown");
}

/// A rebuild placed in the database folder and damaged there; `/r` replays
/// over it (every operation already applied) and must refuse the result.
fn replay_over_damaged(
    tag: &str,
    seal: bool,
    pgno: u32,
    f: impl Fn(&mut [u8]),
) -> (i32, Value, PathBuf) {
    let logs = logs_b().unwrap();
    let tmp = tempfile::tempdir().unwrap().keep();
    let first = tmp.join("first");
    eseutil::recovery::recover(&common::log_only_opts(&logs, &first)).unwrap();
    let dbdir = tmp.join(format!("db-{tag}"));
    std::fs::create_dir_all(&dbdir).unwrap();
    let db = dbdir.join("secedit.sdb");
    std::fs::copy(first.join("secedit.sdb"), &db).unwrap();
    edit_page(&db, 4096, pgno, seal, f);
    let before = std::fs::read(&db).unwrap();
    let out = tmp.join(format!("out-{tag}"));
    let log = logs.join("edb.log");
    let (code, v, _) = r_json(&[
        "/r".as_ref(),
        log.as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "--db-dir".as_ref(),
        dbdir.as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(std::fs::read(&db).unwrap(), before, "input changed");
    assert!(!out.join("secedit.sdb").exists(), "renamed despite failure");
    assert!(out.join("secedit.sdb.recovering").exists());
    let text = common::run(&[
        "/r".as_ref(),
        log.as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "--db-dir".as_ref(),
        dbdir.as_os_str(),
        "--output".as_ref(),
        tmp.join(format!("out2-{tag}")).as_os_str(),
    ]);
    assert_eq!(text.code, code);
    assert!(
        text.stdout.contains("Verification before commit: FAILED"),
        "{}",
        text.stdout
    );
    let _ = std::fs::remove_dir_all(&tmp);
    (code, v, out)
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn a_page_failing_its_checksum_fails_verification_with_1018() {
    if logs_b().is_none() {
        return;
    }
    // Page 200 is blank in the rebuild and never touched by the log.
    let (code, v, _) = replay_over_damaged("k", false, 200, |p| p[100] = 0x5A);
    assert_eq!(code, 5, "{v:#}");
    assert_eq!(v["exit_status"], 5);
    assert_eq!(v["error"]["jet"]["code"], -1018);
    let d = &v["verification"]["databases"][0];
    assert_eq!(d["checksum"]["passed"], false);
    assert!(d["checksum"]["bad"].as_u64().unwrap() >= 1);
    assert_eq!(v["databases"][0]["state"], "Dirty Shutdown");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn a_broken_tree_fails_verification_with_the_g_error() {
    if logs_b().is_none() {
        return;
    }
    // The catalog root (page 4) re-sealed with another objid: /k is clean,
    // /g is not.
    let (code, v, _) = replay_over_damaged("g", true, 4, |p| {
        p[24..28].copy_from_slice(&999u32.to_le_bytes())
    });
    assert_eq!(code, 5, "{v:#}");
    let ver = &v["verification"];
    assert_eq!(ver["passed"], false);
    let d = &ver["databases"][0];
    assert_eq!(d["checksum"]["passed"], true, "{d:#}");
    assert_eq!(d["structure"]["passed"], false);
    assert!(d["structure"]["violations"].as_u64().unwrap() >= 1);
    assert_eq!(v["error"]["jet"]["code"], ver["jet"]["code"]);
    assert!(v["error"]["jet"]["code"].as_i64().unwrap() < 0);
}

/// The structural check of large databases covers the trees the replay
/// touched: asked for every tree, it finds what the whole-database check
/// finds, tree by tree; asked for two, it walks those two.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn touched_trees_check_agrees_with_the_whole_database_check() {
    let Some(logs) = logs_b() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    eseutil::recovery::recover(&common::log_only_opts(&logs, &out)).unwrap();
    let db = eseutil::db::Database::open(&out.join("secedit.sdb"), None).unwrap();
    let (whole, _) = eseutil::db::check::check(&db);
    let all: std::collections::BTreeSet<u32> = whole.trees.iter().map(|t| t.objid).collect();
    let part = eseutil::db::check::check_trees(&db, &all);
    let key = |r: &eseutil::db::check::CheckReport| {
        let mut v: Vec<(u32, u32, u64, usize)> = r
            .trees
            .iter()
            .map(|t| (t.objid, t.pgno_fdp, t.records, t.pages))
            .collect();
        v.sort();
        v
    };
    assert_eq!(key(&part), key(&whole));
    assert!(part.violations.is_empty() && whole.violations.is_empty());
    assert_eq!(part.pages_in_trees, whole.pages_in_trees);
    let two: std::collections::BTreeSet<u32> = [2, whole.trees.last().unwrap().objid].into();
    let some = eseutil::db::check::check_trees(&db, &two);
    assert_eq!(some.trees.len(), 2, "{:?}", some.trees);
}
