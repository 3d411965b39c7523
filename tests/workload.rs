//! The workload generator (`examples/make_workload.rs`) end to end, with no
//! corpus: `/r` of its start database and logs must give its expected
//! database page for page, pass `/g`, and (with the peer) read the same
//! rows in dissect.esedb.

mod common;

use std::path::Path;

#[path = "../examples/make_workload.rs"]
#[allow(dead_code)]
mod make_workload;

use eseutil::db::compare::compare_candidates;
use make_workload::{make_workload, Config, DB_NAME};

fn make(out: &Path, db_mib: u64, log_mib: u64, seed: u64) -> make_workload::Summary {
    make_sized(out, db_mib, log_mib, seed, 8192)
}

fn make_sized(
    out: &Path,
    db_mib: u64,
    log_mib: u64,
    seed: u64,
    page_size: usize,
) -> make_workload::Summary {
    make_workload(&Config {
        out: out.to_path_buf(),
        db_mib,
        log_mib,
        page_size,
        seed,
    })
    .expect("workload written")
}

/// `/r edb /l OUT/logs /s OUT/logs /d OUT/start --output X` → X/DB_NAME.
fn recover(out: &Path, x: &Path) -> std::path::PathBuf {
    recover_from(out, &out.join("logs"), &out.join("start"), x)
}

/// `/r edb /l OUT/logs /s SYSTEM /d DBS --output X` → X/DB_NAME.
fn recover_from(out: &Path, system: &Path, dbs: &Path, x: &Path) -> std::path::PathBuf {
    let logs = out.join("logs");
    let run = common::run(&[
        "/r".as_ref(),
        "edb".as_ref(),
        "/l".as_ref(),
        logs.as_os_str(),
        "/s".as_ref(),
        system.as_os_str(),
        "/d".as_ref(),
        dbs.as_os_str(),
        "--output".as_ref(),
        x.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "/r failed:\n{}\n{}", run.stdout, run.stderr);
    x.join(DB_NAME)
}

/// `/cc OUT/backup-streaming /f OUT/logs --output X` → X/DB_NAME.
fn restore_streaming(out: &Path, x: &Path) -> std::path::PathBuf {
    let (dir, logs) = (out.join("backup-streaming"), out.join("logs"));
    let run = common::run(&[
        "/cc".as_ref(),
        dir.as_os_str(),
        "/f".as_ref(),
        logs.as_os_str(),
        "--output".as_ref(),
        x.as_os_str(),
    ]);
    assert_eq!(run.code, 0, "/cc failed:\n{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("Patch file:") && run.stdout.contains("streaming backup"),
        "{}",
        run.stdout
    );
    x.join(DB_NAME)
}

fn assert_same_pages(recovered: &Path, expected: &Path) {
    let r = compare_candidates(&[recovered.to_path_buf()], expected);
    let c = r.result.unwrap_or_else(|| panic!("compare: {:?}", r.error));
    assert_eq!(c.pages_recovered, c.pages_reference);
    assert_eq!(
        c.counts.identical, c.pages_reference,
        "pages differing from the expected database: placement {:?}, different {:?}, \
         flush bits {:?}, only in one file {:?} {:?}",
        c.placement_only, c.different, c.flush_type_only, c.only_in_recovered, c.only_in_reference
    );
}

#[test]
fn replay_of_the_workload_gives_the_expected_database() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("wl");
    // 8 MiB: the bulk table's tree has three levels (root, parents, leaves).
    let s = make(&out, 8, 3, 7);
    // one generation before the checkpoint, three after it
    assert_eq!((s.checkpoint_generation, s.generations), (2, 4));
    assert_eq!(s.backup_generation, 3);
    for kind in [
        "Insert",
        "Replace",
        "Delta",
        "FlagDelete",
        "Delete",
        "Commit0",
    ] {
        assert!(
            s.ops.get(kind).copied().unwrap_or(0) > 100,
            "{kind}: {:?}",
            s.ops
        );
    }
    // the user trees grew past their root page: split macros replayed
    for kind in ["split (vertical)", "split (right)", "MacroCommit"] {
        assert!(
            s.ops.get(kind).copied().unwrap_or(0) > 0,
            "{kind}: {:?}",
            s.ops
        );
    }
    let start = std::fs::read(out.join("start").join(DB_NAME)).unwrap();
    let recovered = recover(&out, &tmp.path().join("x"));
    assert_same_pages(&recovered, &out.join("expected").join(DB_NAME));
    // inputs are only read
    assert_eq!(
        std::fs::read(out.join("start").join(DB_NAME)).unwrap(),
        start
    );
    let g = common::run(&["/g".as_ref(), recovered.as_os_str()]);
    assert_eq!(g.code, 0, "/g:\n{}\n{}", g.stdout, g.stderr);
    // the mid-run backup rolled forward with the later logs: the same result
    let backup = out.join("backup");
    let restored = recover_from(&out, &backup, &backup, &tmp.path().join("y"));
    assert_same_pages(&restored, &out.join("expected").join(DB_NAME));
}

/// Seed 3 makes an append split (a new last key on a full last leaf) as
/// well as vertical and right ones.
#[test]
fn an_append_split_replays_page_for_page() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("wl");
    let s = make(&out, 2, 4, 3);
    assert!(
        s.ops.get("split (append)").copied().unwrap_or(0) > 0,
        "{:?}",
        s.ops
    );
    let recovered = recover(&out, &tmp.path().join("x"));
    assert_same_pages(&recovered, &out.join("expected").join(DB_NAME));
}

/// Docs rows by Id → Body (hex) as `export` prints them.
fn exported_docs(db: &Path) -> std::collections::BTreeMap<u64, String> {
    let run = common::run(&[
        "export".as_ref(),
        db.as_os_str(),
        "--table".as_ref(),
        "Docs".as_ref(),
    ]);
    assert_eq!(run.code, 0, "export:\n{}\n{}", run.stdout, run.stderr);
    run.stdout
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            let body = v["Body"].as_str().unwrap_or_else(|| panic!("Body: {l}"));
            (v["Id"].as_u64().expect("Id"), body.to_string())
        })
        .collect()
}

/// Separated long values (LVROOT + chunks in Docs' LV tree, values of one
/// and two chunks) created, rewritten and deleted through the log, the LV
/// tree growing by append splits and giving emptied pages back by
/// empty-page merges: the replay equals the expected database, whose rows
/// carry whole values.
#[test]
fn long_values_replay_and_export_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("wl");
    let s = make(&out, 2, 3, 7);
    for kind in [
        "long value created",
        "long value replaced",
        "long value dereferenced",
        "long value deleted",
        "split (append)",
        "merge (empty page)",
    ] {
        assert!(
            s.ops.get(kind).copied().unwrap_or(0) > 10,
            "{kind}: {:?}",
            s.ops
        );
    }
    let recovered = recover(&out, &tmp.path().join("x"));
    let expected = out.join("expected").join(DB_NAME);
    assert_same_pages(&recovered, &expected);
    let rows = exported_docs(&expected);
    assert_eq!(rows, exported_docs(&recovered));
    let want: std::collections::BTreeMap<u64, usize> = s
        .long_values
        .iter()
        .map(|&(id, n)| (id as u64, n))
        .collect();
    let got: std::collections::BTreeMap<u64, usize> =
        rows.iter().map(|(&id, hex)| (id, hex.len() / 2)).collect();
    assert_eq!(got, want);
    assert!(want.values().all(|&n| n > 1023));
    assert!(want.values().any(|&n| n > 8110), "a value of two chunks");
}

/// 4 KiB pages: the start database's catalog spills over several leaves
/// (it does not fit one page with the user tables); splits, merges, long
/// values of several 4014-byte chunks, both backups — all replay page for
/// page, and the result passes `/g`.
#[test]
fn four_kib_pages_replay_page_for_page() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("wl");
    let s = make_sized(&out, 2, 2, 5, 4096);
    for kind in ["split (right)", "merge (empty page)", "long value created"] {
        assert!(
            s.ops.get(kind).copied().unwrap_or(0) > 0,
            "{kind}: {:?}",
            s.ops
        );
    }
    let expected = out.join("expected").join(DB_NAME);
    assert_eq!(std::fs::metadata(&expected).unwrap().len(), 2 << 20);
    let recovered = recover(&out, &tmp.path().join("x"));
    assert_same_pages(&recovered, &expected);
    let g = common::run(&["/g".as_ref(), recovered.as_os_str()]);
    assert_eq!(g.code, 0, "/g:\n{}\n{}", g.stdout, g.stderr);
    let backup = out.join("backup");
    let restored = recover_from(&out, &backup, &backup, &tmp.path().join("y"));
    assert_same_pages(&restored, &expected);
    let streamed = restore_streaming(&out, &tmp.path().join("z"));
    assert_same_pages(&streamed, &expected);
}

/// The streaming backup (database copy with bkinfoFullCur, `.pat` patch
/// file, its generation, restore.env) restored by `/cc` and rolled
/// forward through the later logs gives the expected database.
#[test]
fn the_streaming_backup_restores_to_the_expected_database() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("wl");
    let s = make(&out, 2, 3, 9);
    assert_eq!(s.streaming_backup_generation, 3);
    let pat = out.join("backup-streaming").join("workload.pat");
    assert_eq!(std::fs::metadata(&pat).unwrap().len(), 2 * 8192);
    let restored = restore_streaming(&out, &tmp.path().join("z"));
    assert_same_pages(&restored, &out.join("expected").join(DB_NAME));
}

#[test]
fn the_seed_changes_the_workload_and_the_same_seed_repeats_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    make(&a, 2, 1, 1);
    make(&b, 2, 1, 1);
    make(&c, 2, 1, 2);
    let log = |d: &Path| std::fs::read(d.join("logs/edb.log")).unwrap();
    assert_eq!(log(&a), log(&b));
    assert_ne!(log(&a), log(&c));
}

#[test]
#[cfg_attr(not(peer_present), ignore = "needs python3 with dissect.esedb")]
fn the_peer_reads_the_same_rows_in_the_replayed_and_the_expected_database() {
    let Some(py) = common::peer_python() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("wl");
    // 3 MiB: a small bulk table, so that the peer reads it quickly.
    make(&out, 3, 2, 11);
    let recovered = recover(&out, &tmp.path().join("x"));
    let expected = out.join("expected").join(DB_NAME);
    let d = common::peer_docs(
        &py,
        "canonical_dump.py",
        &["--digests-only"],
        &[&recovered, &expected],
    );
    assert_eq!(d[0], d[1]);
    let tables = d[0]["tables"].as_object().unwrap();
    for t in ["Orders", "Events", "Docs", "Bulk", "MSysObjects"] {
        assert!(
            tables[t]["count"].as_u64().unwrap() > 0,
            "{t}: {:?}",
            tables[t]
        );
    }
}
