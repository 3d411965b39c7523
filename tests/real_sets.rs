//! Differential tests on real sets of the corpus (issue 10 §7), compared
//! table by table with the peer dissect.esedb (record counts and per-table
//! record digests, scripts/canonical_dump.py; table shapes,
//! scripts/peer_tables.py).

mod common;

use std::path::Path;

use serde_json::Value;

fn r(args: &[&std::ffi::OsStr]) -> (i32, Value) {
    let (code, v, _) = common::run_with_json(args);
    (code, v)
}

fn clean_and_g_clean(db: &Path) {
    let mh = common::run(&["/mh".as_ref(), db.as_os_str()]);
    assert!(mh.stdout.contains("State: Clean Shutdown"), "{}", mh.stdout);
    let g = common::run(&["/g".as_ref(), db.as_os_str()]);
    assert_eq!(g.code, 0, "{}", g.stdout);
}

/// datasharing-dirty: DSTokenDB2.dat (Dirty Shutdown) with DSS00001.log,
/// DSS.log and DSS.chk, recovered from the checkpoint and from the first
/// log (--ignore-checkpoint): the same database, table by table; Clean
/// Shutdown; /g clean; verification passed.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
#[cfg_attr(
    not(peer_present),
    ignore = "needs the peer: python3 with dissect.esedb"
)]
fn datasharing_dirty_with_and_without_checkpoint_agree() {
    let Some(c) = common::corpus() else { return };
    let set = c.join("datasharing-dirty");
    let tmp = tempfile::tempdir().unwrap();
    let base = set.join("DSS");
    let mut outs = Vec::new();
    for (tag, extra) in [("chk", None), ("nochk", Some("--ignore-checkpoint"))] {
        let out = tmp.path().join(tag);
        let mut args: Vec<&std::ffi::OsStr> = vec![
            "/r".as_ref(),
            base.as_os_str(),
            "--output".as_ref(),
            out.as_os_str(),
        ];
        if let Some(e) = extra {
            args.push(e.as_ref());
        }
        let (code, v) = r(&args);
        assert_eq!(code, 0, "{v:#}");
        assert_eq!(v["verification"]["passed"], true, "{v:#}");
        assert_eq!(v["databases"][0]["state"], "Clean Shutdown");
        for i in v["inputs"].as_array().unwrap() {
            assert_eq!(i["unchanged"], true, "{i}");
        }
        let db = out.join("DSTokenDB2.dat");
        clean_and_g_clean(&db);
        outs.push((db, v));
    }
    // The checkpoint replays the last generation only; the full replay
    // walks both (and finds every page operation already applied).
    assert!(outs[1].1["stats"]["records"].as_u64() > outs[0].1["stats"]["records"].as_u64());
    let Some(py) = common::peer_python() else {
        return;
    };
    let d = common::peer_docs(
        &py,
        "canonical_dump.py",
        &["--digests-only"],
        &[&outs[0].0, &outs[1].0],
    );
    assert_eq!(d[0]["tables"], d[1]["tables"], "tables differ");
    let tables = d[0]["tables"].as_object().unwrap();
    assert!(tables.contains_key("Token") && tables.contains_key("TokenScope"));
    assert!(tables["MSysObjects"]["count"].as_u64().unwrap() > 0);
}

/// secedit-logs-b rebuilt from its log alone: /g clean, and the catalog of
/// the real secedit-db-2018/secedit.sdb: each of its tables with the same
/// columns and indexes; the one extra table of the rebuild is SmTblTattoo
/// (the machine of the logs had it, the 2018 one did not).
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
#[cfg_attr(
    not(peer_present),
    ignore = "needs the peer: python3 with dissect.esedb"
)]
fn secedit_logs_b_rebuild_has_the_catalog_shape_of_secedit_db_2018() {
    let Some(c) = common::corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let log = c.join("secedit-logs-b").join("edb.log");
    let (code, v) = r(&[
        "/r".as_ref(),
        log.as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["verification"]["passed"], true);
    let db = out.join("secedit.sdb");
    clean_and_g_clean(&db);
    let Some(py) = common::peer_python() else {
        return;
    };
    let real = c.join("secedit-db-2018").join("secedit.sdb");
    let p = common::peer_docs(&py, "peer_tables.py", &[], &[&db, &real]);
    let (ours, theirs) = (&p[0]["schema"], &p[1]["schema"]);
    let theirs = theirs.as_object().unwrap();
    assert!(theirs.len() >= 10);
    for (name, shape) in theirs {
        assert_eq!(&ours[name.as_str()], shape, "table {name}");
    }
    let extra: Vec<&String> = ours
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| !theirs.contains_key(*k))
        .collect();
    assert_eq!(extra, vec!["SmTblTattoo"]);
}

/// A play-forward hard recovery of the real Windows 7 backup passes
/// verification (before the fix of issue 10 §1 it was refused: exit 5,
/// "156 redone, 0 page writes", nothing renamed).
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn winmail7_play_forward_passes_verification() {
    let Some(c) = common::corpus() else { return };
    let set = c.join("winmail7-backup");
    let tmp = tempfile::tempdir().unwrap();
    let pf = common::PlayForward::new(&set, tmp.path());
    let out = &pf.out;
    let run = pf.cc();
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let ver = &v["recovery"]["verification"];
    let placed = out.join("WindowsMail.MSMessageStore");
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(ver["writes"]["pages_redone"], 156);
    match run.code {
        0 => {
            assert_eq!(ver["passed"], true);
            assert!(placed.exists());
            clean_and_g_clean(&placed);
        }
        5 => {
            assert_eq!(ver["passed"], false);
            assert!(!placed.exists(), "renamed despite a failed verification");
            assert!(out.join("WindowsMail.MSMessageStore.recovering").exists());
        }
        c => panic!("exit {c}: {}", run.stderr),
    }
}

/// A restored backup set has no current log by design: /ml and plan say
/// what it is (backup state, trailer page, .pat) and give the /cc command
/// instead of −528.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn backup_set_is_recognized_not_missing_its_current_log() {
    let Some(c) = common::corpus() else { return };
    let dir = c.join("winmail7-backup").join("Backup-new");
    let ml = common::run(&["/ml".as_ref(), dir.as_os_str(), "--json".as_ref()]);
    assert_eq!(ml.code, 0, "{}{}", ml.stdout, ml.stderr);
    let v: Value = serde_json::from_str(&ml.stdout).unwrap();
    let b = &v["backup_sets"][0];
    assert_eq!(b["kind"], "streaming");
    assert_eq!(b["mark"]["eseutil"], "(0x1,2,C22)");
    assert_eq!(b["gen_low"], 1);
    assert_eq!(b["gen_high"], 1);
    assert_eq!(b["gen_high_from"], "trailer page");
    assert_eq!(b["trailer_page"], true);
    assert_eq!(b["patch_file_len"], 16384);
    assert_eq!(b["patch_file_matches"], true);
    assert!(b["advice"].as_str().unwrap().contains("eseutil-rs /cc"));
    let text = common::run(&["/ml".as_ref(), dir.as_os_str()]);
    assert!(
        text.stdout.contains("Restored backup set:"),
        "{}",
        text.stdout
    );
    assert!(!text.stdout.contains("-528"));
    let plan = common::run(&["plan".as_ref(), dir.as_os_str(), "--json".as_ref()]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    let p: Value = serde_json::from_str(&plan.stdout).unwrap();
    let s = p["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["verdict"] == "hard_recovery")
        .expect("a hard_recovery stream");
    assert!(s["problems"].as_array().unwrap().is_empty());
    assert!(s["command"]
        .as_str()
        .unwrap()
        .starts_with("eseutil-rs /cc "));
    // The .pat file is not taken for a checkpoint of another stream.
    assert_eq!(p["streams"].as_array().unwrap().len(), 1, "{p:#}");
}

/// A backup set whose trailer page asks for a generation the folder lacks
/// is incomplete: −553, as hard recovery would answer.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn backup_set_missing_its_last_generation_is_553() {
    let Some(c) = common::corpus() else { return };
    let tmp = tempfile::tempdir().unwrap();
    common::copy_dir_writable(&c.join("winmail7-backup").join("Backup-new"), tmp.path());
    let db = tmp.path().join("WindowsMail.MSMessageStore");
    let mut b = std::fs::read(&db).unwrap();
    let at = b.len() - 8192;
    let page = &mut b[at..];
    // PATCHHDR bkinfo genHigh @60, legacy header checksum @0.
    page[60..64].copy_from_slice(&2u32.to_le_bytes());
    let sum = eseutil::checksum::legacy_header_checksum(page);
    page[0..4].copy_from_slice(&sum.to_le_bytes());
    std::fs::write(&db, b).unwrap();
    let ml = common::run(&["/ml".as_ref(), tmp.path().as_os_str(), "--json".as_ref()]);
    let v: Value = serde_json::from_str(&ml.stdout).unwrap();
    assert_ne!(ml.code, 0);
    assert_eq!(v["backup_sets"][0]["gen_high"], 2);
    assert_eq!(v["missing"][0]["jet"]["code"], -553, "{v:#}");
    let plan = common::run(&["plan".as_ref(), tmp.path().as_os_str(), "--json".as_ref()]);
    let p: Value = serde_json::from_str(&plan.stdout).unwrap();
    assert_eq!(p["streams"][0]["verdict"], "blocked", "{p:#}");
    assert_eq!(p["streams"][0]["problems"][0]["jet"]["code"], -553);
}
