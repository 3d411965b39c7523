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

#[path = "../examples/make_workload.rs"]
#[allow(dead_code)]
mod make_workload;

/// A workload of the generator (no corpus): OUT/start, OUT/logs, OUT/expected.
fn workload(out: &Path) {
    workload_sized(out, 8192);
}

fn workload_sized(out: &Path, page_size: usize) {
    make_workload::make_workload(&make_workload::Config {
        out: out.to_path_buf(),
        db_mib: 2,
        log_mib: 1,
        page_size,
        seed: 4,
    })
    .expect("workload written");
}

/// `/r edb` of OUT/logs into the database of `dir` (a copy of the start
/// database, perhaps damaged): in place, or into `dir/out`; `extra`
/// switches. (exit status, JSON report, the database verified).
fn replay_json(out: &Path, dir: &Path, in_place: bool, extra: &[&str]) -> (i32, Value, PathBuf) {
    let logs = out.join("logs");
    let target = dir.join("out");
    let mut a = replay_args(&logs, dir);
    if in_place {
        a.push("--in-place".as_ref());
    } else {
        a.extend(["--output".as_ref(), target.as_os_str()]);
    }
    a.extend(extra.iter().map(std::ffi::OsStr::new));
    let (code, v, _) = r_json(&a);
    let db = if in_place { dir } else { &target }.join(make_workload::DB_NAME);
    let db = if db.exists() {
        db
    } else {
        target.join(format!("{}.recovering", make_workload::DB_NAME))
    };
    (code, v, db)
}

/// `/r edb /l LOGS /s LOGS /d DIR`.
fn replay_args<'a>(logs: &'a Path, dir: &'a Path) -> Vec<&'a std::ffi::OsStr> {
    vec![
        "/r".as_ref(),
        "edb".as_ref(),
        "/l".as_ref(),
        logs.as_os_str(),
        "/s".as_ref(),
        logs.as_os_str(),
        "/d".as_ref(),
        dir.as_os_str(),
    ]
}

/// A copy of the start database in a folder of its own.
fn start_copy(out: &Path, name: &str) -> PathBuf {
    let dir = out.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let db = make_workload::DB_NAME;
    std::fs::copy(out.join("start").join(db), dir.join(db)).unwrap();
    dir
}

/// The verification's `/k` of database 0 against a full scan of `db`.
fn assert_k_is_the_full_scan(v: &Value, db: &Path, method: &str) {
    let d = &v["verification"]["databases"][0];
    let k = &d["checksum"];
    let s = eseutil::checksum_scan::scan_database(
        db,
        &Default::default(),
        &mut eseutil::checksum_scan::Quiet,
    )
    .unwrap();
    let c = &s.counts;
    assert_eq!(k["method"], method, "{d:#}");
    assert_eq!(k["pages_seen"], c.pages_seen, "{d:#}");
    assert_eq!(k["ok"], c.ok);
    assert_eq!(k["uninitialized"], c.uninitialized);
    assert_eq!(k["bad"], c.eseutil_bad());
    assert_eq!(k["passed"], !s.failed());
    assert_eq!(d["highest_page_dbtime"], c.highest_dbtime);
    assert_eq!(d["highest_page_dbtime_pgno"], c.highest_dbtime_pgno);
    let (from, read) = (k["pages_from_pass"].as_u64(), k["pages_read"].as_u64());
    if method == "full scan" {
        assert_eq!((from, read), (Some(0), Some(c.pages_seen)));
    } else {
        assert_eq!(from.unwrap() + read.unwrap(), c.pages_seen);
        assert!(from.unwrap() > read.unwrap(), "{d:#}");
    }
}

/// The verification's `/k` made from the copy pass, from the in-place
/// hash pass, and by a full scan (no hash) all equal a full scan of the
/// replayed database; the text report says which it was.
#[test]
fn checksum_check_from_the_pass_beside_redo_equals_a_full_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("w");
    workload(&out);
    let (code, v, db) = replay_json(&out, &start_copy(&out, "copy"), false, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_k_is_the_full_scan(&v, &db, "copy pass");
    let (code, v, db) = replay_json(&out, &start_copy(&out, "in-place"), true, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_k_is_the_full_scan(&v, &db, "hash pass");
    let (code, v, db) = replay_json(&out, &start_copy(&out, "no-hash"), true, &["--no-hash"]);
    assert_eq!(code, 0, "{v:#}");
    assert_k_is_the_full_scan(&v, &db, "full scan");
    let dir = start_copy(&out, "text");
    let logs = out.join("logs");
    let mut a = replay_args(&logs, &dir);
    a.push("--in-place".as_ref());
    let t = common::run(&a);
    assert_eq!(t.code, 0, "{}", t.stderr);
    assert!(
        t.stdout.contains("from the hash pass, ") && t.stdout.contains(" read back), 0 bad;"),
        "{}",
        t.stdout
    );
}

/// The other page sizes (ECC pages at 16 and 32 KiB): the same from the
/// in-place hash pass.
#[test]
fn checksum_check_from_the_pass_at_every_page_size() {
    for ps in [4096, 16384, 32768] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("w");
        workload_sized(&out, ps);
        let (code, v, db) = replay_json(&out, &start_copy(&out, "in-place"), true, &[]);
        assert_eq!(code, 0, "{ps}: {v:#}");
        assert_k_is_the_full_scan(&v, &db, "hash pass");
    }
}

/// Physical page `phys` of a database file's bytes.
fn phys_page(b: &[u8], ps: usize, phys: usize) -> &[u8] {
    &b[(phys - 1) * ps..phys * ps]
}

/// A page blank in the input and never written is reported bad when
/// damaged; one damaged in the input but rewritten by redo is not.
#[test]
fn damage_in_the_input_counts_only_where_redo_left_the_page() {
    const PS: usize = 8192;
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("w");
    workload(&out);
    let start = std::fs::read(out.join("start").join(make_workload::DB_NAME)).unwrap();
    let expected = std::fs::read(out.join("expected").join(make_workload::DB_NAME)).unwrap();
    let blank = |b: &[u8], p| phys_page(b, PS, p).iter().all(|&x| x == 0);
    let pages = start.len().min(expected.len()) / PS;
    // Blank before and after the replay: never written.
    let untouched = (3..pages)
        .find(|&p| blank(&start, p) && blank(&expected, p))
        .expect("a page the replay leaves blank");
    // Blank before, written by the replay (a page it formats: its old
    // bytes are never read as a page).
    let rewritten = (3..pages)
        .find(|&p| blank(&start, p) && !blank(&expected, p))
        .expect("a page the replay formats");
    let dir = start_copy(&out, "damaged");
    let db = dir.join(make_workload::DB_NAME);
    let mut b = std::fs::read(&db).unwrap();
    for p in [untouched, rewritten] {
        b[(p - 1) * PS + 1000] = 0x5A;
    }
    std::fs::write(&db, &b).unwrap();
    let before = eseutil::checksum_scan::scan_database(
        &db,
        &Default::default(),
        &mut eseutil::checksum_scan::Quiet,
    )
    .unwrap();
    assert_eq!(
        before.counts.eseutil_bad(),
        2,
        "both pages bad in the input"
    );
    let (code, v, db) = replay_json(&out, &dir, true, &[]);
    assert_eq!(code, 5, "{v:#}");
    assert_eq!(v["error"]["jet"]["code"], -1018, "{v:#}");
    let k = &v["verification"]["databases"][0]["checksum"];
    assert_eq!(k["bad"], 1, "{k:#}");
    assert_eq!(k["passed"], false);
    assert_k_is_the_full_scan(&v, &db, "hash pass");
    // The same through the copy pass.
    let dir2 = start_copy(&out, "damaged-copy");
    std::fs::write(dir2.join(make_workload::DB_NAME), &b).unwrap();
    let (code, v, db) = replay_json(&out, &dir2, false, &[]);
    assert_eq!(code, 5, "{v:#}");
    assert_eq!(v["verification"]["databases"][0]["checksum"]["bad"], 1);
    assert_k_is_the_full_scan(&v, &db, "copy pass");
}
