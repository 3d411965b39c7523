//! Evidence of the inputs of `/r` without extra passes (issue 11 points 3
//! and 4): hashes taken while the inputs are read, the after-run check the
//! report states (size/mtime/inode, or `--verify-inputs`), `--no-hash`,
//! the page cache at its smallest, and `--in-place` replaying into the
//! database itself (same inode, no copy left behind).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use common::logs_b;

fn r(logs: &Path, out: &Path, extra: &[&str]) -> common::Run {
    let mut args: Vec<std::ffi::OsString> = vec![
        "/r".into(),
        logs.join("edb.log").into(),
        "--ignore-checkpoint".into(),
        "--output".into(),
        out.into(),
    ];
    args.extend(extra.iter().map(Into::into));
    common::run(&args)
}

fn json(run: &common::Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr))
}

fn inputs(v: &Value) -> &Vec<Value> {
    v["inputs"].as_array().expect("inputs")
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn default_hashes_while_reading_and_checks_metadata_after() {
    let Some(logs) = logs_b() else { return };
    let t = tempfile::tempdir().unwrap();
    let run = r(&logs, &t.path().join("a"), &["--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    assert_eq!(v["input_check"]["hash"], "while_read");
    assert_eq!(v["input_check"]["after"], "size_mtime_inode");
    assert_eq!(v["input_check"]["algorithm"], "blake3");
    assert!(!inputs(&v).is_empty());
    // The streamed logs are inputs too, hashed from the bytes the reader read.
    assert!(
        inputs(&v)
            .iter()
            .any(|i| i["path"].as_str().is_some_and(|p| p.ends_with("edb.log"))),
        "{v}"
    );
    for i in inputs(&v) {
        let p = PathBuf::from(i["path"].as_str().unwrap());
        assert_eq!(i["hash_before"], common::blake3_file(&p), "{i}");
        assert!(i["hash_after"].is_null(), "{i}");
        assert_eq!(i["unchanged"], true, "{i}");
        assert_eq!(i["facts_before"], i["facts_after"], "{i}");
        assert_eq!(
            i["facts_before"]["size"],
            std::fs::metadata(&p).unwrap().len()
        );
    }
    let run = r(&logs, &t.path().join("b"), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains(
            "Inputs (blake3 taken while read; checked after the run by size, mtime and inode"
        ),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains(" unchanged "), "{}", run.stdout);
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn no_hash_takes_no_hash_and_says_so() {
    let Some(logs) = logs_b() else { return };
    let t = tempfile::tempdir().unwrap();
    let run = r(&logs, &t.path().join("a"), &["--json", "--no-hash"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    assert_eq!(v["input_check"]["hash"], "not_hashed");
    for i in inputs(&v) {
        assert!(i["hash_before"].is_null(), "{i}");
        assert_eq!(i["unchanged"], true, "{i}");
    }
    let run = r(&logs, &t.path().join("b"), &["--no-hash"]);
    assert!(
        run.stdout.contains("Inputs (not hashed (--no-hash)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("(not hashed) unchanged"),
        "{}",
        run.stdout
    );
    // Nothing to re-hash without hashes: the two options exclude each other.
    let run = r(
        &logs,
        &t.path().join("c"),
        &["--no-hash", "--verify-inputs"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn verify_inputs_rehashes_after_the_run() {
    let Some(logs) = logs_b() else { return };
    let t = tempfile::tempdir().unwrap();
    let run = r(&logs, &t.path().join("a"), &["--json", "--verify-inputs"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    assert_eq!(v["input_check"]["after"], "hash_reread");
    for i in inputs(&v) {
        assert!(i["hash_after"].is_string(), "{i}");
        assert_eq!(i["hash_before"], i["hash_after"], "{i}");
        assert_eq!(i["unchanged"], true, "{i}");
    }
    let run = r(
        &logs,
        &t.path().join("b"),
        &["--verify-inputs", "--hash-algorithm", "sha256"],
    );
    assert!(
        run.stdout
            .contains("sha256 taken while read = sha256 re-read after the run (--verify-inputs)"),
        "{}",
        run.stdout
    );
}

/// `--hash-algorithm sha256`: every input's SHA-256, as sha256sum gives it.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn sha256_on_request() {
    let Some(logs) = logs_b() else { return };
    let t = tempfile::tempdir().unwrap();
    let run = r(
        &logs,
        &t.path().join("a"),
        &["--json", "--hash-algorithm", "sha256"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    assert_eq!(v["input_check"]["algorithm"], "sha256");
    assert!(!inputs(&v).is_empty());
    for i in inputs(&v) {
        let p = PathBuf::from(i["path"].as_str().unwrap());
        assert_eq!(i["hash_before"], common::sha256_file(&p), "{i}");
    }
}

/// The whole replay through a cache of one page (every read and write
/// evicts) gives the same database, byte for byte, as the default cache.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn a_one_page_cache_gives_the_same_database() {
    let Some(logs) = logs_b() else { return };
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    let ra = eseutil::recovery::recover(&common::log_only_opts(&logs, &a)).unwrap();
    assert!(ra.error.is_none(), "{:?}", ra.error);
    let mut o = common::log_only_opts(&logs, &b);
    o.io.cache_mib = Some(0);
    let rb = eseutil::recovery::recover(&o).unwrap();
    assert!(rb.error.is_none(), "{:?}", rb.error);
    let c = rb.databases[0].cache;
    assert_eq!(c.capacity, 1);
    assert!(c.evictions > 1000 && c.write_backs > 0, "{c:?}");
    let name = "secedit.sdb";
    assert_eq!(
        std::fs::read(a.join(name)).unwrap(),
        std::fs::read(b.join(name)).unwrap()
    );
}

/// A database in the database folder, saved part-way through the log:
/// `(folder with edb.log and secedit.sdb, the full rebuild's bytes)`.
fn partial_database(t: &Path) -> (PathBuf, Vec<u8>) {
    let logs = logs_b().expect("corpus");
    let full = t.join("full");
    let rep = eseutil::recovery::recover(&common::log_only_opts(&logs, &full)).unwrap();
    assert!(rep.error.is_none());
    let walk = eseutil::log::set::check_file(&logs.join("edb.log"))
        .unwrap()
        .walk
        .unwrap();
    let part = t.join("part");
    let mut o = common::log_only_opts(&logs, &part);
    o.stop_at = Some(walk.records[1500].lgpos);
    o.skip_undo = true;
    assert!(eseutil::recovery::recover(&o).unwrap().error.is_none());
    let work = t.join("work");
    std::fs::create_dir(&work).unwrap();
    common::copy_writable(&logs.join("edb.log"), &work.join("edb.log"));
    common::copy_writable(&part.join("secedit.sdb"), &work.join("secedit.sdb"));
    (work, std::fs::read(full.join("secedit.sdb")).unwrap())
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn the_database_is_hashed_in_the_copy_pass() {
    if logs_b().is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (work, want) = partial_database(t.path());
    let db = work.join("secedit.sdb");
    let out = t.path().join("out");
    let run = common::run(&[
        "/r".as_ref(),
        work.join("edb").as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "--json".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    let d = &v["databases"][0];
    assert!(
        d["working_file"] == "copy" || d["working_file"] == "reflink",
        "{d}"
    );
    let i = inputs(&v)
        .iter()
        .find(|i| i["path"] == db.display().to_string())
        .expect("the database is an input");
    assert_eq!(i["hash_before"], common::blake3_file(&db));
    assert_eq!(i["unchanged"], true);
    assert_eq!(i["written_in_place"], false);
    assert_eq!(std::fs::read(out.join("secedit.sdb")).unwrap(), want);
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn in_place_replays_into_the_file_itself() {
    if logs_b().is_none() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (work, want) = partial_database(t.path());
    let db = work.join("secedit.sdb");
    let ino = std::fs::metadata(&db).unwrap().ino();
    let log_hash = common::sha256_file(&work.join("edb.log"));
    let db_hash = common::sha256_file(&db);
    // SHA-256 here (the copy-pass test above takes the default BLAKE3).
    let run = common::run(&[
        "/r".as_ref(),
        work.join("edb").as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "--in-place".as_ref(),
        "--json".as_ref(),
        "--hash-algorithm".as_ref(),
        "sha256".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    assert_eq!(v["databases"][0]["working_file"], "in_place");
    assert_eq!(v["replaced_in_place"][0], db.display().to_string());
    assert_eq!(std::fs::metadata(&db).unwrap().ino(), ino, "not copied");
    assert_eq!(std::fs::read(&db).unwrap(), want);
    assert_eq!(common::sha256_file(&work.join("edb.log")), log_hash);
    let i = inputs(&v)
        .iter()
        .find(|i| i["path"] == db.display().to_string())
        .expect("the database is an input");
    assert_eq!(i["written_in_place"], true);
    // The hash is of the database as it was before redo wrote it.
    assert_eq!(i["hash_before"], db_hash);
    assert_eq!(v["input_check"]["algorithm"], "sha256");
    // No working copy, no temporary folder.
    let mut names: Vec<String> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["edb.log", "secedit.sdb"]);
    // Text: the database is marked as written in place, not as CHANGED.
    let run = common::run(&[
        "/r".as_ref(),
        work.join("edb").as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "--in-place".as_ref(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("written in place (--in-place)"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("CHANGED"), "{}", run.stdout);
}
