//! Evidence safety: inputs are opened read-only and never change.
//!
//! The corpus check compares every file with the sha256 that facts.jsonl
//! recorded when the file was collected, so it holds whenever it runs; the
//! after-the-whole-suite check is `scripts/check-corpus-unchanged.py`, which
//! `.ci/run` calls once `cargo test` has finished.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{corpus, facts, run, sha256_file};
use eseutil::synth::{checkpoint, database, DbSpec};

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn corpus_files_equal_their_recorded_hashes() {
    let Some(dir) = corpus() else { return };
    let mut n = 0;
    for e in facts(&dir) {
        let p = dir.join(e["file"].as_str().unwrap());
        assert_eq!(
            sha256_file(&p),
            e["sha256"].as_str().unwrap(),
            "{} changed",
            p.display()
        );
        n += 1;
    }
    assert!(n >= 51);
}

#[test]
fn read_only_inputs_work_and_stay_unchanged() {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("ro.edb");
    std::fs::write(&db, database(&DbSpec::default(), 4, 2)).unwrap();
    let chk = d.path().join("ro.chk");
    std::fs::write(&chk, checkpoint(2, 9)).unwrap();
    for p in [&db, &chk] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    let before = (sha256_file(&db), sha256_file(&chk));
    for args in [["mh", db.to_str().unwrap()], ["mk", chk.to_str().unwrap()]] {
        let r = run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        let r = run(&[args[0], args[1], "--json"]);
        assert_eq!(r.code, 0);
    }
    assert_eq!((sha256_file(&db), sha256_file(&chk)), before);
    let meta = std::fs::metadata(&db).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o444);
}

/// Every mode on read-only copies of a database, its checkpoint, a log
/// folder, a flush map and a restore.env: each runs, none changes a byte.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn every_mode_works_on_read_only_inputs() {
    let Some(dir) = corpus() else { return };
    let d = tempfile::tempdir().unwrap();
    let copy = |rel: &str, name: &str| {
        let to = d.path().join(name);
        std::fs::copy(dir.join(rel), &to).unwrap();
        to
    };
    let db = copy("secedit-db-2018/secedit.sdb", "secedit.sdb");
    let jfm = copy("secedit-db-2018/secedit.jfm", "secedit.jfm");
    let logs = d.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    std::fs::copy(dir.join("secedit-logs-b/edb.log"), logs.join("edb.log")).unwrap();
    std::fs::copy(dir.join("secedit-logs-b/edb.chk"), logs.join("edb.chk")).unwrap();
    std::fs::write(
        logs.join("restore.env"),
        "<DATABASE_RESTORE_ENVIRONMENT><LOG_BASE_NAME>edb</LOG_BASE_NAME></DATABASE_RESTORE_ENVIRONMENT>",
    )
    .unwrap();
    let files = [
        db.clone(),
        jfm.clone(),
        logs.join("edb.log"),
        logs.join("edb.chk"),
        logs.join("restore.env"),
    ];
    for f in &files {
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    let before: Vec<String> = files.iter().map(|f| sha256_file(f)).collect();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let runs: Vec<Vec<String>> = vec![
        vec!["/mh".into(), s(&db)],
        vec!["/mm".into(), s(&db)],
        vec!["/ms".into(), s(&db)],
        vec!["/g".into(), s(&db)],
        vec!["/k".into(), s(&db)],
        vec!["/mp".into(), s(&jfm)],
        vec!["/mk".into(), s(&logs.join("edb.chk"))],
        vec!["/ml".into(), s(&logs.join("edb.log"))],
        vec!["/ml".into(), s(&logs)],
        vec!["/k".into(), s(&logs)],
        vec!["/cm".into(), s(&logs)],
        vec!["plan".into(), s(&logs), s(&db)],
    ];
    for args in runs {
        let r = run(&args);
        assert!(
            r.code == 0 || r.code == 1,
            "{args:?}: exit {} {}",
            r.code,
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{args:?}");
    }
    let after: Vec<String> = files.iter().map(|f| sha256_file(f)).collect();
    assert_eq!(before, after);
    // Nothing was created beside the inputs either.
    let mut names: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["edb.chk", "edb.log", "restore.env"]);
}
