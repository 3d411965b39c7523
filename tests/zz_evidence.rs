//! Evidence safety: inputs are opened read-only and never change.
//!
//! Named `zz_` so that cargo, which runs integration-test binaries in name
//! order, runs it after the other suites: the corpus hashes it checks are
//! then the hashes after everything else has read the files.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{corpus, facts, run, sha256_file};
use eseutil::synth::{checkpoint, database, DbSpec};

#[test]
fn corpus_files_unchanged_after_the_suite() {
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
