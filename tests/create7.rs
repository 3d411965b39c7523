//! Rebuild of a Windows 7 store from its whole-life 7.x logs
//! (`winmail7-backup/edb00001.log` begins with an implicit CreateDB, whose
//! catalog the engine created unlogged): `/r` re-creates the catalog as the
//! engine did and the result equals the live `WindowsMail.MSMessageStore`
//! table by table (dissect.esedb, canonical per-record dump), with `/k` and
//! `/g` clean. Corpus- and peer-dependent (tests/common: skipped with a note
//! when absent, failing under `CI`).

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn winmail7() -> Option<PathBuf> {
    common::corpus_set("winmail7-backup", "edb00001.log")
}

/// `/r` of the `edb` logs of `logs` alone (checkpoint ignored) into `out`,
/// with `extra` flags.
fn rebuild(logs: &Path, out: &Path, extra: &[&str]) -> common::Run {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "/r".as_ref(),
        "edb".as_ref(),
        "/l".as_ref(),
        logs.as_os_str(),
        "/s".as_ref(),
        logs.as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    common::run(&args)
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
#[cfg_attr(
    not(peer_present),
    ignore = "needs the peer: python3 with dissect.esedb"
)]
fn rebuild_from_whole_life_7x_logs_equals_the_live_store() {
    let Some(set) = winmail7() else {
        return;
    };
    let Some(py) = common::peer_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&logs).unwrap();
    for f in ["edb00001.log", "edb.log"] {
        std::fs::copy(set.join(f), logs.join(f)).unwrap();
    }
    let r = rebuild(&logs, &out, &["--json"]);
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr));
    assert_eq!(r.code, 0, "{v:#}");
    let st = &v["stats"];
    assert_eq!(st["mismatches"].as_array().unwrap().len(), 0);
    assert_eq!(st["pages_already_applied"], 0);
    assert!(st["pages_redone"].as_u64().unwrap() >= 200, "{st}");
    assert_eq!(v["generations"], serde_json::json!([1, 2]));
    let rebuilt = out.join("WindowsMail.MSMessageStore");
    let live = set.join("WindowsMail.MSMessageStore");
    // Same file size (the implicit creation's 256 pages).
    assert_eq!(
        std::fs::metadata(&rebuilt).unwrap().len(),
        std::fs::metadata(&live).unwrap().len()
    );
    let k = common::run(["/k".as_ref(), rebuilt.as_os_str()].as_slice());
    assert_eq!(k.code, 0, "{}", k.stdout);
    let g = common::run(["/g".as_ref(), rebuilt.as_os_str(), "--json".as_ref()].as_slice());
    assert_eq!(g.code, 0, "{}", g.stdout);
    let mh = common::run(["/mh".as_ref(), rebuilt.as_os_str()].as_slice());
    assert!(mh.stdout.contains("Clean Shutdown"), "{}", mh.stdout);
    assert!(mh.stdout.contains("(0x2,9,643)"), "{}", mh.stdout);
    // Table by table: names, columns, counts and every column value.
    let d = common::peer_docs(&py, "canonical_dump.py", &[], &[&live, &rebuilt]);
    let (a, b) = (&d[0]["tables"], &d[1]["tables"]);
    let names: Vec<&String> = a.as_object().unwrap().keys().collect();
    assert_eq!(names, b.as_object().unwrap().keys().collect::<Vec<_>>());
    assert_eq!(names.len(), 6);
    for n in names {
        assert_eq!(a[n]["columns"], b[n]["columns"], "{n}");
        assert_eq!(a[n]["count"], b[n]["count"], "{n}");
        assert_eq!(a[n]["records"], b[n]["records"], "{n}");
    }
    assert_eq!(a["MSysObjects"]["count"], 117);
    // Every data page holds the live page's nodes; most are byte-identical.
    let (x, y) = (
        std::fs::read(&live).unwrap(),
        std::fs::read(&rebuilt).unwrap(),
    );
    let identical = (2..x.len() / 8192)
        .filter(|&i| x[i * 8192..(i + 1) * 8192] == y[i * 8192..(i + 1) * 8192])
        .count();
    assert!(identical >= 248, "{identical} of 256 pages identical");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn older_create_db_versions_are_refused_with_1225() {
    let Some(set) = winmail7() else {
        return;
    };
    // The same log with its header claiming 7.3704.14 (before Windows 7's
    // update 15): ESE refuses to re-create such a database (-1225).
    let tmp = tempfile::tempdir().unwrap();
    let logs = tmp.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let mut b = std::fs::read(set.join("edb00001.log")).unwrap();
    b[40] = 14;
    eseutil::checksum::seal_header(&mut b[..4096]);
    std::fs::write(logs.join("edb.log"), &b).unwrap();
    let out = tmp.path().join("out");
    let r = rebuild(&logs, &out, &[]);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert_ne!(r.code, 0, "{all}");
    assert!(all.contains("-1225"), "{all}");
    assert!(all.contains("JET_errInvalidCreateDbVersion"), "{all}");
    assert!(!out.join("WindowsMail.MSMessageStore").exists());
}
