//! Soft recovery (`/r`) rebuilding `secedit-logs-b` from its single log
//! (CreateDB onwards), checked by the other modes and by dissect.esedb.
//! Skipped with a note when the corpus is absent.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::logs_b;

fn recover(logs: &Path, out: &Path, extra: &[&str]) -> (i32, Value) {
    let log = logs.join("edb.log");
    let mut args: Vec<std::ffi::OsString> = vec![
        "/r".into(),
        log.into(),
        "--ignore-checkpoint".into(),
        "--json".into(),
        "--output".into(),
        out.into(),
    ];
    args.extend(extra.iter().map(Into::into));
    let r = common::run(&args);
    let v: Value = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr));
    (r.code, v)
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn rebuilds_secedit_from_logs_b() {
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let hashes: Vec<String> = ["edb.log", "edb.chk"]
        .iter()
        .map(|f| common::sha256_file(&logs.join(f)))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, v) = recover(&logs, &out, &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["error"].is_null(), "{}", v["error"]);
    let st = &v["stats"];
    assert_eq!(st["records"], 2576);
    assert_eq!(st["mismatches"].as_array().unwrap().len(), 0);
    assert_eq!(st["pages_already_applied"], 0);
    assert!(st["pages_redone"].as_u64().unwrap() > 1000);
    assert_eq!(st["trx_begun"], 154);
    assert_eq!(st["trx_committed"], 154);
    assert_eq!(st["macros_committed"], 32);
    assert_eq!(st["trx_open_at_end"].as_array().unwrap().len(), 0);
    assert_eq!(v["generations"], serde_json::json!([1]));
    assert!(v["not_recovered"].as_array().unwrap().is_empty());
    // The 9 Xpress-compressed page before-images of Split2/Merge2 equal the
    // pages redo had built at that point (7 exactly, 2 but for fNDVersion).
    let bi = &st["before_images"];
    assert_eq!(
        (bi["checked"].as_u64(), bi["matched"].as_u64()),
        (Some(9), Some(9)),
        "{bi}"
    );
    assert_eq!(bi["version_bit_only"], 2);
    // Every record type of the log was handled (redone or known no-op).
    for t in [
        "Split2",
        "Merge2",
        "ReplaceD",
        "Convert",
        "EmptyTree",
        "FInsertRD",
    ] {
        let e = &st["per_type"][t];
        assert!(e[0].as_u64().unwrap() > 0, "{t}: {e}");
        assert!(e[1].as_u64().unwrap() > 0, "{t} never applied: {e}");
    }
    // Input files are only read.
    for i in v["inputs"].as_array().unwrap() {
        assert_eq!(i["unchanged"], true, "{i}");
    }
    let after: Vec<String> = ["edb.log", "edb.chk"]
        .iter()
        .map(|f| common::sha256_file(&logs.join(f)))
        .collect();
    assert_eq!(hashes, after);
    let db = out.join("secedit.sdb");
    assert_eq!(v["databases"][0]["output"], db.display().to_string());
    assert!(!out.join("secedit.sdb.recovering").exists());

    // /k: every page valid.
    let r = common::run(&["/k".as_ref(), db.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    // /g: zero violations.
    let r = common::run(&["/g".as_ref(), db.as_os_str(), "--json".as_ref()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let g: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        g["violations"].as_array().unwrap().len(),
        0,
        "{}",
        g["violations"]
    );
    assert_eq!(g["verdict"], "clean");
    // /mh: Clean Shutdown, consistent at the final DetachDB.
    let r = common::run(&["/mh".as_ref(), db.as_os_str()]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("State: Clean Shutdown"), "{}", r.stdout);
    assert!(
        r.stdout.contains("Last Consistent: (0x1,9D,A42)"),
        "{}",
        r.stdout
    );
    // /mm: the secedit tables, same catalog shape as the real files.
    let r = common::run(&["/mm".as_ref(), db.as_os_str(), "--json".as_ref()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let mm: Value = serde_json::from_str(&r.stdout).unwrap();
    let names: Vec<&str> = mm["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for t in [
        "MSysObjects",
        "MSysObjectsShadow",
        "MSysObjids",
        "MSysLocales",
        "SmTblVersion",
        "SmTblSection",
        "SmTblScp",
        "SmTblSmp",
        "SmTblScp2",
        "SmTblGpo",
        "SmTblTattoo",
    ] {
        assert!(names.contains(&t), "{t} missing from {names:?}");
    }
    let rec = |n: &str| {
        mm["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == n)
            .unwrap()["records"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(rec("MSysObjects"), rec("MSysObjectsShadow"));
    assert_eq!(rec("SmTblSection"), 15);

    // dissect.esedb opens it and reads every column of every record.
    // (Under CI peer_python() fails the test when the peer is missing.)
    if let Some(py) = common::peer_python() {
        let script = "import sys\nfrom dissect.esedb import EseDB\ndb=EseDB(open(sys.argv[1],'rb'))\nfor t in db.tables():\n    n=0\n    for r in t.records():\n        [r.get(c.name) for c in t.columns]\n        n+=1\n    print(t.name, n)\n";
        let o = std::process::Command::new(py)
            .args(["-c", script])
            .arg(&db)
            .output()
            .unwrap();
        let s = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert!(s.contains("SmTblSection 15"), "{s}");
        assert_eq!(s.lines().count(), names.len(), "{s}");
    }

    // A second /r over the recovered database is a no-op: every page
    // operation is already applied and the file is byte-identical.
    let out2 = tmp.path().join("out2");
    let (code, v2) = recover(&logs, &out2, &["--db-dir", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{v2:#}");
    assert_eq!(v2["stats"]["pages_redone"], 0);
    assert_eq!(
        v2["stats"]["pages_already_applied"], st["pages_redone"],
        "every page operation skipped"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        std::fs::read(out2.join("secedit.sdb")).unwrap()
    );
    assert!(v2["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["path"] == db.display().to_string() && i["unchanged"] == true));
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn honouring_the_checkpoint_replays_nothing() {
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let log = logs.join("edb.log");
    let r = common::run(&[
        "/r".as_ref(),
        log.as_os_str(),
        "--json".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    // Nothing written: said, with the reason, exit 1 (issue 13).
    assert_eq!(r.code, 1, "{}", r.stdout);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v["no_database_written"]
        .as_str()
        .unwrap()
        .contains("--ignore-checkpoint"));
    assert_eq!(v["redo_start"]["eseutil"], "(0x1,9E,0)");
    assert_eq!(v["stats"]["pages_redone"], 0);
    assert!(v["databases"].as_array().unwrap().is_empty());
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn a_page_ahead_of_the_log_stops_with_567() {
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, _) = recover(&logs, &out, &[]);
    assert_eq!(code, 0);
    // Give the catalog root of a copy a dbtime between the record's before
    // (0x53) and after (0x72) of its first Insert (re-sealed): replaying over
    // it must report -567 (too new) with the record's lgpos.
    let dbdir = tmp.path().join("d");
    std::fs::create_dir_all(&dbdir).unwrap();
    let mut b = std::fs::read(out.join("secedit.sdb")).unwrap();
    let off = 5 * 4096; // pgno 4
    b[off + 8..off + 16].copy_from_slice(&0x60u64.to_le_bytes());
    eseutil::checksum::seal_page(&mut b[off..off + 4096], 4);
    std::fs::write(dbdir.join("secedit.sdb"), &b).unwrap();
    let out2 = tmp.path().join("out2");
    let (code, v) = recover(&logs, &out2, &["--db-dir", dbdir.to_str().unwrap()]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["error"]["jet"]["code"], -567, "{}", v["error"]);
    assert_eq!(v["error"]["lgpos"]["eseutil"], "(0x1,2,23E)");
    let m = &v["stats"]["mismatches"][0];
    assert_eq!(m["pgno"], 4);
    assert_eq!(m["page_dbtime"], 0x60);
    assert_eq!(
        (m["dbtime_before"].as_u64(), m["dbtime_after"].as_u64()),
        (Some(0x53), Some(0x72))
    );
    assert!(out2.join("secedit.sdb.recovering").exists());
    assert!(!out2.join("secedit.sdb").exists());
}

fn snap_opts(
    logs: &Path,
    db_dir: &Path,
    out: &Path,
    stop: Option<eseutil::parse::primitives::Lgpos>,
) -> eseutil::recovery::Options {
    eseutil::recovery::Options {
        skip_undo: true,
        ..lib_opts(logs, db_dir, out, stop)
    }
}

fn lib_opts(
    logs: &Path,
    db_dir: &Path,
    out: &Path,
    stop: Option<eseutil::parse::primitives::Lgpos>,
) -> eseutil::recovery::Options {
    eseutil::recovery::Options {
        db_dir: db_dir.to_path_buf(),
        stop_at: stop,
        ..common::log_only_opts(logs, out)
    }
}

fn record_positions(logs: &Path) -> Vec<eseutil::parse::primitives::Lgpos> {
    let c = eseutil::log::set::check_file(&logs.join("edb.log")).unwrap();
    c.walk.unwrap().records.iter().map(|r| r.lgpos).collect()
}

/// Redo over the database as it stood at many points of the log (a
/// "flushed up to here" state) converges to the same file as the rebuild
/// from nothing: every page operation before the point is skipped by the
/// dbtime rule, every one after it redone, splits and merges included.
/// Recovering as if the log ended at each point (undo included) gives a
/// database /g finds clean.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn replay_over_intermediate_states_converges() {
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let clean = tmp.path().join("clean");
    let full = eseutil::recovery::recover(&lib_opts(&logs, &empty, &clean, None)).unwrap();
    assert!(full.error.is_none());
    let want = std::fs::read(clean.join("secedit.sdb")).unwrap();
    let pos = record_positions(&logs);
    let mut checked = 0;
    for k in (60..pos.len()).step_by(97) {
        let snap = tmp.path().join(format!("s{k}"));
        let r = eseutil::recovery::recover(&snap_opts(&logs, &empty, &snap, Some(pos[k]))).unwrap();
        assert!(r.error.is_none(), "{k}: {:?}", r.error);
        if r.databases.is_empty() {
            continue; // detached at that point or not yet created
        }
        // Recovery as if the log ended there (open transaction rolled back)
        // gives a structurally valid database: "crash at any point".
        let undone = tmp.path().join(format!("u{k}"));
        let ru =
            eseutil::recovery::recover(&lib_opts(&logs, &empty, &undone, Some(pos[k]))).unwrap();
        assert!(
            ru.error.is_none() && ru.undo.failures.is_empty(),
            "{k}: {:?}",
            ru.undo.failures
        );
        let g = common::run(&[
            "/g".as_ref(),
            undone.join("secedit.sdb").as_os_str(),
            "--json".as_ref(),
        ]);
        assert_eq!(g.code, 0, "{k} at {}: {}", pos[k].eseutil_text(), g.stdout);
        let out = tmp.path().join(format!("f{k}"));
        let r2 = eseutil::recovery::recover(&lib_opts(&logs, &snap, &out, None)).unwrap();
        assert!(
            r2.error.is_none(),
            "{k} at {}: {:?}",
            pos[k].eseutil_text(),
            r2.error
        );
        assert!(r2.stats.mismatches.is_empty());
        assert_eq!(
            r2.stats.pages_redone + r2.stats.pages_already_applied,
            full.stats.pages_redone,
            "{k}"
        );
        let got = std::fs::read(out.join("secedit.sdb")).unwrap();
        let n = want.len() / 4096;
        let diff: Vec<usize> = (0..n)
            .filter(|&i| want[i * 4096..(i + 1) * 4096] != got[i * 4096..(i + 1) * 4096])
            .collect();
        assert!(
            diff.is_empty(),
            "{k} at {}: pages differ {diff:?}",
            pos[k].eseutil_text()
        );
        checked += 1;
    }
    assert!(checked >= 15, "{checked}");
}

/// Same header fields, tag array and line bytes (free-space bytes aside).
fn same_lines_and_offsets(x: &[u8], y: &[u8]) -> bool {
    use eseutil::parse::page::{header_size, parse_page_header};
    let (Ok(mut hx), Ok(hy)) = (parse_page_header(x), parse_page_header(y)) else {
        return false;
    };
    hx.checksum = hy.checksum;
    let hs = header_size(x.len());
    let tags = 4 * hx.itag_mic_free as usize;
    let used = hs + hx.ib_mic_free as usize;
    eseutil::db::compare::compare_pages(x, y) == eseutil::db::compare::Verdict::PlacementOnly
        && hx == hy
        && x[8..used] == y[8..used]
        && x[x.len() - tags..] == y[y.len() - tags..]
}

/// A database whose pages were flushed at different points (each page
/// from one of two states of the log, as after a crash with partial
/// flushing): redo brings every page forward from its own dbtime, or
/// reports why it cannot.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn replay_over_mixed_page_states() {
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let clean = tmp.path().join("clean");
    let full = eseutil::recovery::recover(&lib_opts(&logs, &empty, &clean, None)).unwrap();
    let want = std::fs::read(clean.join("secedit.sdb")).unwrap();
    let pos = record_positions(&logs);
    let mut converged = 0;
    let mut used = 0;
    let mut refused: Vec<String> = Vec::new();
    for (a, b) in [
        (300, 700),
        (600, 1100),
        (900, 1500),
        (1200, 2000),
        (450, 2300),
        (1700, 2500),
    ] {
        let sa = tmp.path().join(format!("a{a}"));
        let sb = tmp.path().join(format!("b{b}"));
        let ra = eseutil::recovery::recover(&snap_opts(&logs, &empty, &sa, Some(pos[a]))).unwrap();
        let rb = eseutil::recovery::recover(&snap_opts(&logs, &empty, &sb, Some(pos[b]))).unwrap();
        if ra.databases.is_empty() || rb.databases.is_empty() {
            continue;
        }
        let pa = std::fs::read(sa.join("secedit.sdb")).unwrap();
        let mut m = std::fs::read(sb.join("secedit.sdb")).unwrap();
        for pg in (1..pa.len() / 4096 - 1).step_by(3) {
            let o = (pg + 1) * 4096;
            m[o..o + 4096].copy_from_slice(&pa[o..o + 4096]);
        }
        let mdir = tmp.path().join(format!("m{a}-{b}"));
        std::fs::create_dir_all(&mdir).unwrap();
        std::fs::write(mdir.join("secedit.sdb"), &m).unwrap();
        let out = tmp.path().join(format!("o{a}-{b}"));
        let r = eseutil::recovery::recover(&lib_opts(&logs, &mdir, &out, None)).unwrap();
        match &r.error {
            None => {
                let got = std::fs::read(out.join("secedit.sdb")).unwrap();
                // A page restarted from a logged before-image continues from
                // the engine's own bytes: the image carries no free space
                // (dehydrated), so only stale free-space bytes may differ
                // from the straight rebuild; lines sit at the same offsets.
                let diff: Vec<usize> = (2..want.len() / 4096)
                    .filter(|&i| {
                        let (x, y) = (
                            &want[i * 4096..(i + 1) * 4096],
                            &got[i * 4096..(i + 1) * 4096],
                        );
                        x != y && !same_lines_and_offsets(x, y)
                    })
                    .collect();
                assert!(diff.is_empty(), "{a}/{b}: pages differ {diff:?}");
                // A page restarted from a before-image was first counted as
                // already applied.
                assert_eq!(
                    r.stats.pages_redone + r.stats.pages_already_applied,
                    full.stats.pages_redone + r.stats.before_images.used
                );
                used += r.stats.before_images.used;
                converged += 1;
            }
            Some(e) => refused.push(format!("{a}/{b}: {e}")),
        }
    }
    eprintln!("converged {converged}, before-images used {used}, refused {refused:#?}");
    assert!(refused.is_empty(), "{refused:#?}");
    assert_eq!(converged, 6);
    assert!(used > 0, "no split/merge restarted from its before-image");
}

/// secedit-logs-a attaches a database that is not there: −1216 at the
/// AttachDB record; with `/i` the attachment and its page records are
/// skipped and said so.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn missing_attached_database_1216_and_i() {
    let Some(c) = common::corpus() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let logs = c.join("secedit-logs-a");
    assert!(
        logs.join("edb.log").is_file(),
        "corpus lacks secedit-logs-a/edb.log"
    );
    let tmp = tempfile::tempdir().unwrap();
    let base = logs.join("edb");
    let out = tmp.path().join("o");
    let r = common::run(&[
        "/r".as_ref(),
        base.as_os_str(),
        "--json".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["error"]["jet"]["code"], -1216);
    assert_eq!(v["error"]["lgpos"]["eseutil"], "(0x1,1,268)");
    let r = common::run(&[
        "/r".as_ref(),
        base.as_os_str(),
        "/i".as_ref(),
        "--json".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    // Every database skipped: nothing written, said, exit 1 (issue 13).
    assert_eq!(r.code, 1, "{}", r.stdout);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v["error"].is_null());
    assert!(v["no_database_written"].is_string());
    assert!(v["databases"].as_array().unwrap().is_empty());
    let notes = v["not_recovered"].to_string();
    assert!(
        notes.contains("skipped with its page records (/i)"),
        "{notes}"
    );
}

/// (key, data) of the live leaf nodes of one tree.
type Nodes = Vec<(Vec<u8>, Vec<u8>)>;

/// Live leaf content of every table, index and LV tree, by name.
fn live_content(db: &Path) -> std::collections::BTreeMap<String, Nodes> {
    use eseutil::db::btree::{walk, WalkOptions};
    let d = eseutil::db::Database::open(db, None).unwrap();
    let cat = eseutil::db::catalog::read_catalog(&d, 4, WalkOptions::default());
    let mut out = std::collections::BTreeMap::new();
    let mut trees: Vec<(String, u32)> = Vec::new();
    for t in cat.tables() {
        trees.push((t.name.clone(), t.pgno_fdp));
        for i in &t.indexes {
            if !i.primary {
                trees.push((format!("{}/{}", t.name, i.name), i.pgno_fdp));
            }
        }
        if let Some((_, lv)) = t.long_values {
            trees.push((format!("{}/LV", t.name), lv));
        }
    }
    for (name, root) in trees {
        let mut v = Vec::new();
        walk(&d, root, WalkOptions::default(), &mut |_, n| {
            if !n.is_deleted() {
                v.push((n.key.clone(), n.data.to_vec()));
            }
        });
        out.insert(name, v);
    }
    out
}

/// Transactions open at the end of the log are rolled back (docs/format/recovery.md §5): a
/// database stopped just before a Commit0 and undone holds the same live
/// records as the database stopped just before the matching Begin0.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn open_transactions_are_rolled_back() {
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let c = eseutil::log::set::check_file(&logs.join("edb.log")).unwrap();
    let recs = c.walk.unwrap().records;
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let mut tested = 0;
    let mut undone_total = 0;
    // Before CreateDBFinish the catalog roots are still blank: a database
    // stopped there fails verification (/g) and is not compared.
    let created = recs.iter().position(|r| r.lrtyp == 79).unwrap_or(0);
    let mut i = 0;
    while i < recs.len() {
        if recs[i].lrtyp != 8 {
            i += 1;
            continue;
        }
        let procid = u16::from_le_bytes([recs[i].data[1], recs[i].data[2]]);
        let Some(j) = (i + 1..recs.len()).find(|&j| {
            recs[j].lrtyp == 9 && u16::from_le_bytes([recs[j].data[1], recs[j].data[2]]) == procid
        }) else {
            break;
        };
        // Only transactions of one session with node operations, no other
        // session in between, and the database attached throughout.
        let others = recs[i..j].iter().any(|r| {
            r.data.len() >= 3
                && matches!(r.lrtyp, 5..=13 | 24..=39 | 62 | 63)
                && u16::from_le_bytes([r.data[1], r.data[2]]) != procid
        });
        let nodes = recs[i..j]
            .iter()
            .filter(|r| matches!(r.lrtyp, 29..=35))
            .count();
        let dbrec = recs[i..j].iter().any(|r| matches!(r.lrtyp, 14..=16));
        if others || nodes < 3 || dbrec || tested >= 12 {
            i = j + 1;
            continue;
        }
        let at_begin = tmp.path().join(format!("b{i}"));
        let at_commit = tmp.path().join(format!("c{i}"));
        let rb =
            eseutil::recovery::recover(&lib_opts(&logs, &empty, &at_begin, Some(recs[i].lgpos)))
                .unwrap();
        let rc =
            eseutil::recovery::recover(&lib_opts(&logs, &empty, &at_commit, Some(recs[j].lgpos)))
                .unwrap();
        let rb_unverified = i < created && rb.exit_status == 5;
        if rb_unverified {
            assert!(rb.verification.as_ref().is_some_and(|v| !v.passed));
            assert!(!at_begin.join("secedit.sdb").exists());
        }
        assert!(
            (rb.error.is_none() || rb_unverified) && rc.error.is_none(),
            "{:?} {:?}",
            rb.error,
            rc.error
        );
        if rb.databases.is_empty() {
            i = j + 1;
            continue;
        }
        assert_eq!(rc.stats.trx_open_at_end, vec![procid]);
        assert_eq!(rc.undo.sessions_rolled_back, vec![procid]);
        assert!(rc.undo.failures.is_empty(), "{:?}", rc.undo.failures);
        assert!(
            rc.undo.operations_undone > 0,
            "{} {:?} {:?}",
            recs[i].lgpos.eseutil_text(),
            rc.undo,
            rc.verification.as_ref().map(|v| &v.failures)
        );
        undone_total += rc.undo.operations_undone;
        let b = live_content(&at_commit.join("secedit.sdb"));
        let a = if rb_unverified {
            b.clone()
        } else {
            live_content(&at_begin.join("secedit.sdb"))
        };
        assert_eq!(
            a,
            b,
            "transaction {} at {}",
            i,
            recs[i].lgpos.eseutil_text()
        );
        let r = common::run(&["/g".as_ref(), at_commit.join("secedit.sdb").as_os_str()]);
        assert_eq!(r.code, 0, "{}", r.stdout);
        tested += 1;
        i = j + 1;
    }
    eprintln!("{tested} transactions rolled back, {undone_total} operations undone");
    assert!(tested >= 5, "{tested}");
}

/// The ordinary case: a dirty database flushed up to some point, and a
/// checkpoint there that lists it as attached. The checkpoint is the real
/// edb.chk of the corpus with its position and attach list rewritten (in a
/// temporary folder); the database is the state as of that position.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn dirty_database_with_checkpoint() {
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let clean = tmp.path().join("clean");
    eseutil::recovery::recover(&lib_opts(&logs, &empty, &clean, None)).unwrap();
    let want = std::fs::read(clean.join("secedit.sdb")).unwrap();
    let pos = record_positions(&logs);
    let chk_real = std::fs::read(logs.join("edb.chk")).unwrap();
    let mut tested = 0;
    for k in [400usize, 1000, 1600, 2200] {
        let snap = tmp.path().join(format!("d{k}"));
        let r = eseutil::recovery::recover(&snap_opts(&logs, &empty, &snap, Some(pos[k]))).unwrap();
        if r.databases.is_empty() {
            continue;
        }
        let dbf = snap.join("secedit.sdb");
        let mut db = std::fs::read(&dbf).unwrap();
        // Dirty Shutdown, as a crashed database is.
        for copy in 0..2 {
            let h = &mut db[copy * 4096..(copy + 1) * 4096];
            h[52..56].copy_from_slice(&2u32.to_le_bytes());
            eseutil::checksum::seal_header(h);
        }
        std::fs::write(&dbf, &db).unwrap();
        // Checkpoint at pos[k] with the database attached as dbid 1.
        let mut c = chk_real[..4096].to_vec();
        let p = pos[k];
        let mut lg = [0u8; 8];
        lg[0..2].copy_from_slice(&p.offset.to_le_bytes());
        lg[2..4].copy_from_slice(&p.sector.to_le_bytes());
        lg[4..8].copy_from_slice(&p.generation.to_le_bytes());
        c[12..20].copy_from_slice(&lg);
        c[647] |= 1;
        let name: Vec<u8> = "C:\\WINDOWS\\Security\\Database\\secedit.sdb\0"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let a = &mut c[679..679 + 2048];
        a.fill(0);
        a[0] = 1;
        a[1] = 0x20;
        a[2..4].copy_from_slice(&(name.len() as u16).to_le_bytes());
        a[36..64].copy_from_slice(&db[24..52]);
        a[64..64 + name.len()].copy_from_slice(&name);
        eseutil::checksum::seal_header(&mut c);
        let sys = tmp.path().join(format!("s{k}"));
        std::fs::create_dir_all(&sys).unwrap();
        let mut f = c.clone();
        f.extend_from_slice(&c);
        std::fs::write(sys.join("edb.chk"), &f).unwrap();
        let out = tmp.path().join(format!("o{k}"));
        let log = logs.join("edb.log");
        let r = common::run(&[
            "/r".as_ref(),
            log.as_os_str(),
            "/s".as_ref(),
            sys.as_os_str(),
            "/d".as_ref(),
            snap.as_os_str(),
            "--json".as_ref(),
            "--output".as_ref(),
            out.as_os_str(),
        ]);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["redo_start"]["eseutil"], p.eseutil_text());
        assert!(v["stats"]["pages_redone"].as_u64().unwrap() > 0);
        assert_eq!(v["stats"]["mismatches"].as_array().unwrap().len(), 0);
        let got = std::fs::read(out.join("secedit.sdb")).unwrap();
        let diff: Vec<usize> = (2..want.len() / 4096)
            .filter(|&i| want[i * 4096..(i + 1) * 4096] != got[i * 4096..(i + 1) * 4096])
            .collect();
        assert!(diff.is_empty(), "{k}: pages differ {diff:?}");
        let r = common::run(&["/mh".as_ref(), out.join("secedit.sdb").as_os_str()]);
        assert!(r.stdout.contains("State: Clean Shutdown"));
        // The input database was only read.
        assert_eq!(std::fs::read(&dbf).unwrap(), db);
        tested += 1;
    }
    assert!(tested >= 2, "{tested}");
}

/// Guards: output = database folder is refused (inputs are never written);
/// a missing current log needs /a.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn refuses_to_write_over_inputs_and_wants_a_for_missing_current_log() {
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let (code, _) = recover(&logs, &out, &[]);
    assert_eq!(code, 0);
    let before = common::sha256_file(&out.join("secedit.sdb"));
    let log = logs.join("edb.log");
    let r = common::run(&[
        "/r".as_ref(),
        log.as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "/d".as_ref(),
        out.as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(r.code, 2, "{}{}", r.stdout, r.stderr);
    assert_eq!(before, common::sha256_file(&out.join("secedit.sdb")));
    // Archived generation only (renamed copy in a temp folder): -528 without /a.
    let ldir = tmp.path().join("logs");
    std::fs::create_dir_all(&ldir).unwrap();
    std::fs::copy(&log, ldir.join("edb00001.log")).unwrap();
    let o2 = tmp.path().join("o2");
    let base = ldir.join("edb");
    let r = common::run(&[
        "/r".as_ref(),
        base.as_os_str(),
        "--output".as_ref(),
        o2.as_os_str(),
    ]);
    assert_eq!(r.code, 5, "{}{}", r.stdout, r.stderr);
    assert!(format!("{}{}", r.stdout, r.stderr).contains("-528"));
    let r = common::run(&[
        "/r".as_ref(),
        base.as_os_str(),
        "/a".as_ref(),
        "--json".as_ref(),
        "--output".as_ref(),
        o2.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["stats"]["mismatches"].as_array().unwrap().len(), 0);
    assert_eq!(v["databases"][0]["state"], "Clean Shutdown");
}

/// A fixed-seed xorshift64* generator: reproducible kill delays.
struct Prng(u64);

impl Prng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

/// `/r` killed with SIGKILL at reproducible random moments spread over the
/// whole length of a run (measured first, clamped to 16–250 ms) never leaves a partial `secedit.sdb`: the final
/// name only ever holds the complete database (checked while the child
/// runs and after each kill), the next run into the same folder completes,
/// the result is byte-identical to an uninterrupted run, and the inputs are
/// unchanged. A run that finishes before its kill still counts.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn kill_9_at_random_moments_never_leaves_a_partial_database() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let inputs: Vec<PathBuf> = ["edb.log", "edb.chk"]
        .iter()
        .map(|f| logs.join(f))
        .collect();
    let hashes: Vec<String> = inputs.iter().map(|p| common::sha256_file(p)).collect();
    let tmp = tempfile::tempdir().unwrap();
    let reference = tmp.path().join("reference");
    let (code, v) = recover(&logs, &reference, &[]);
    assert_eq!(code, 0, "{v:#}");
    let good = std::fs::read(reference.join("secedit.sdb")).unwrap();
    let out = tmp.path().join("out");
    let final_db = out.join("secedit.sdb");
    let check_final = |when: &str| {
        if let Ok(b) = std::fs::read(&final_db) {
            assert!(
                b == good,
                "{when}: {} is not the complete database",
                final_db.display()
            );
        }
    };
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_eseutil-rs"))
            .arg("/r")
            .arg(logs.join("edb"))
            .arg("--ignore-checkpoint")
            .arg("--output")
            .arg(&out)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn eseutil-rs")
    };
    // How long an uninterrupted run takes here (spawn included); the kill
    // delays are spread over it, one per band of 1/16, jittered by the PRNG.
    let t0 = Instant::now();
    assert!(spawn().wait().unwrap().success());
    let run_us = (t0.elapsed().as_micros() as u64).clamp(16_000, 250_000);
    std::fs::remove_file(&final_db).unwrap();
    let band = run_us / 16;
    let mut rng = Prng(0x5EED_0E5E_u64);
    let (mut killed, mut finished) = (0, 0);
    for i in 0..16u64 {
        let delay = Duration::from_micros(i * band + rng.next() % band);
        let mut child = spawn();
        let t0 = Instant::now();
        let mut done = None;
        while t0.elapsed() < delay {
            if let Some(s) = child.try_wait().unwrap() {
                done = Some(s);
                break;
            }
            check_final(&format!("run {i} while running"));
            std::thread::sleep(Duration::from_micros(300));
        }
        match done {
            Some(s) => {
                assert!(s.success(), "run {i} failed: {s}");
                finished += 1;
            }
            None => {
                // SIGKILL (std's kill sends SIGKILL on Unix).
                child.kill().unwrap();
                let s = child.wait().unwrap();
                if s.success() {
                    finished += 1; // finished just before the kill
                } else {
                    killed += 1;
                }
            }
        }
        check_final(&format!("after run {i} ({delay:?})"));
    }
    eprintln!("kill -9 test: {killed} runs killed, {finished} finished before the kill");
    // Complete the recovery in the same folder.
    let s = spawn().wait().unwrap();
    assert!(s.success(), "final run: {s}");
    assert!(
        std::fs::read(&final_db).unwrap() == good,
        "final database differs"
    );
    assert!(!out.join("secedit.sdb.recovering").exists());
    let after: Vec<String> = inputs.iter().map(|p| common::sha256_file(p)).collect();
    assert_eq!(hashes, after, "inputs changed");
}

/// `--in-place`: a database saved part-way through the log, in the log
/// folder, is replaced by its recovered version (equal to a rebuild); the
/// log is untouched, no temporary folder is left; a read-only database is
/// refused and left as it was.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn in_place_replaces_the_database_atomically() {
    use std::os::unix::fs::PermissionsExt;
    let Some(c) = common::corpus() else { return };
    let logs_b = c.join("secedit-logs-b");
    let t = tempfile::tempdir().unwrap();
    // The full rebuild, for comparison.
    let full = t.path().join("full");
    let r = common::run(&[
        "/r",
        logs_b.join("edb").to_str().unwrap(),
        "--ignore-checkpoint",
        "--output",
        full.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want = std::fs::read(full.join("secedit.sdb")).unwrap();
    // A partial database: recovery stopped at record 1500.
    let walk = eseutil::log::set::check_file(&logs_b.join("edb.log"))
        .unwrap()
        .walk
        .unwrap();
    let part = t.path().join("part");
    let o = eseutil::recovery::Options {
        base: "edb".into(),
        log_dir: logs_b.clone(),
        system_dir: logs_b.clone(),
        db_dir: t.path().join("none"),
        output: part.clone(),
        ignore_checkpoint: true,
        stop_at: Some(walk.records[1500].lgpos),
        skip_undo: true,
        ..Default::default()
    };
    assert!(eseutil::recovery::recover(&o).unwrap().error.is_none());
    let work = t.path().join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::copy(logs_b.join("edb.log"), work.join("edb.log")).unwrap();
    std::fs::copy(part.join("secedit.sdb"), work.join("secedit.sdb")).unwrap();
    let before = std::fs::read(work.join("secedit.sdb")).unwrap();
    assert_ne!(before, want);
    let log_hash = common::sha256_file(&work.join("edb.log"));
    // Read-only database: refused, nothing replaced.
    std::fs::set_permissions(
        work.join("secedit.sdb"),
        std::fs::Permissions::from_mode(0o444),
    )
    .unwrap();
    let r = common::run(&[
        "/r",
        work.join("edb").to_str().unwrap(),
        "--ignore-checkpoint",
        "--in-place",
        "--json",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("read-only"), "{}", r.stderr);
    assert_eq!(std::fs::read(work.join("secedit.sdb")).unwrap(), before);
    std::fs::set_permissions(
        work.join("secedit.sdb"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    // Writable: replaced by the recovered database.
    let r = common::run(&[
        "/r",
        work.join("edb").to_str().unwrap(),
        "--ignore-checkpoint",
        "--in-place",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["replaced_in_place"].as_array().unwrap().len(), 1);
    assert_eq!(std::fs::read(work.join("secedit.sdb")).unwrap(), want);
    assert_eq!(common::sha256_file(&work.join("edb.log")), log_hash);
    let mut names: Vec<String> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["edb.log", "secedit.sdb"]);
    // --in-place and --output together are a usage error.
    let r = common::run(&[
        "/r",
        work.join("edb").to_str().unwrap(),
        "--in-place",
        "--output",
        "x",
    ]);
    assert_eq!(r.code, 2);
}

/// The progress observer the CLI's bar uses sees the replay advance to the
/// last byte of the logs (the bar itself is drawn only on a terminal for long replays).
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn progress_observer_reaches_the_last_record() {
    let Some(c) = common::corpus() else { return };
    let logs_b = c.join("secedit-logs-b");
    let t = tempfile::tempdir().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let o = eseutil::recovery::Options {
        base: "edb".into(),
        log_dir: logs_b.clone(),
        system_dir: logs_b.clone(),
        db_dir: t.path().join("none"),
        output: t.path().join("out"),
        ignore_checkpoint: true,
        progress: Some(eseutil::recovery::Progress::new(move |done, total| {
            s.lock().unwrap().push((done, total))
        })),
        ..Default::default()
    };
    let rep = eseutil::recovery::recover(&o).unwrap();
    assert!(rep.error.is_none());
    let seen = seen.lock().unwrap();
    // By bytes, once per generation: the last call covers every log.
    let total: u64 = rep
        .inputs
        .iter()
        .filter(|i| i.path.extension().is_some_and(|e| e == "log"))
        .map(|i| std::fs::metadata(&i.path).unwrap().len())
        .sum();
    assert_eq!(seen.len(), rep.generations.len(), "{seen:?}");
    assert_eq!(seen.last(), Some(&(total, total)), "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
}

/// `--compare-with`: verdicts against a real database of another instance
/// and against the rebuild itself; a report that never changes the exit
/// status.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn compare_with_reports_page_verdicts() {
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let real = logs.parent().unwrap().join("secedit-db-2026/secedit.sdb");
    let tmp = tempfile::tempdir().unwrap();
    let out1 = tmp.path().join("one");
    let (code, v) = recover(&logs, &out1, &["--compare-with", real.to_str().unwrap()]);
    assert_eq!(code, 0);
    let c = &v["compare"];
    assert_eq!(c["same_signature"], false, "{c}");
    assert_eq!(c["pages_recovered"], 254);
    assert_eq!(c["pages_reference"], 254);
    // pages never changed after creation differ only in their flush history
    assert_eq!(c["flush_type_only"], serde_json::json!([1, 2, 5, 11, 12]));
    let n = &c["counts"];
    let sum: u64 = [
        "identical",
        "flush_type_only",
        "placement_only",
        "different",
    ]
    .iter()
    .map(|k| n[k].as_u64().unwrap())
    .sum();
    assert_eq!(sum, 254);
    // every logged before-image has ESE's byte placement
    let bi = &v["stats"]["before_images"];
    assert_eq!(bi["same_placement"], bi["checked"], "{bi}");
    // against itself: all identical; text report; a missing file is reported
    let first = out1.join("secedit.sdb");
    let out2 = tmp.path().join("two");
    let (code, v) = recover(&logs, &out2, &["--compare-with", first.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert_eq!(v["compare"]["counts"]["identical"], 254);
    assert_eq!(v["compare"]["same_signature"], true);
    assert_eq!(
        v["compare"]["headers_identical"],
        serde_json::json!([true, true])
    );
    let out3 = tmp.path().join("three");
    let log = logs.join("edb.log");
    let args: Vec<&std::ffi::OsStr> = vec![
        "/r".as_ref(),
        log.as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "--output".as_ref(),
        out3.as_os_str(),
        "--compare-with".as_ref(),
        real.as_os_str(),
    ];
    let r = common::run(&args);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout
            .contains("identical except flush-type bits and checksum: 1-2, 5, 11-12"),
        "{}",
        r.stdout
    );
    let out4 = tmp.path().join("four");
    let missing = tmp.path().join("missing.edb");
    let (code, v) = recover(&logs, &out4, &["--compare-with", missing.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(v["compare"]["error"].is_string(), "{}", v["compare"]);
}
