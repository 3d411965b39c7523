//! `timeline` on real log sets: secedit-logs-b without a database (the
//! catalog comes from the logs, which hold the database's creation) and
//! datasharing-dirty with its dirty database; the committed inserts and
//! flag-deletes of the timeline add up to the records `export` shows after
//! `/r`; --from/--to; the Timesketch form.

mod common;

use std::collections::BTreeMap;

use serde_json::Value;

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

fn timeline(args: &[&str]) -> Vec<Value> {
    let mut a = vec!["timeline"];
    a.extend_from_slice(args);
    let r = common::run(&a);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("changes ("), "{}", r.stderr);
    lines(&r.stdout)
}

#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn secedit_logs_b_without_database_names_every_table_from_the_logs() {
    let Some(dir) = common::logs_b() else {
        return;
    };
    let v = timeline(&[dir.to_str().unwrap()]);
    assert!(v.len() > 900, "{} changes", v.len());
    for c in &v {
        assert!(c["table"].is_string(), "{c}");
        assert!(c["lgpos"]["text"].as_str().unwrap().starts_with("(0x1,"));
        assert_eq!(c["time_zone"], "UTC", "{c}");
        assert_eq!(
            c["database"],
            "C:\\WINDOWS\\Security\\Database\\secedit.sdb"
        );
    }
    let rows = |t: &str| {
        v.iter()
            .filter(|c| c["table"] == t && c["tree"] == "primary")
            .count()
    };
    assert_eq!(rows("SmTblSection"), 15);
    assert!(rows("SmTblSmp") > 300);
    // An insert's after image decodes as a row of its table, key columns
    // included.
    let ins = v
        .iter()
        .find(|c| c["table"] == "SmTblSection" && c["op"] == "insert" && c["tree"] == "primary")
        .unwrap();
    assert!(ins["after"]["columns"].is_object(), "{ins}");
    assert!(ins["key_columns"].is_object(), "{ins}");
    assert_eq!(ins["outcome"], "committed");
}

/// Rows per table from the timeline: committed inserts and flag-inserts
/// minus committed flag-deletes on the primary tree.
fn live_rows(v: &[Value]) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for c in v {
        if c["tree"] != "primary" || c["outcome"] != "committed" {
            continue;
        }
        let d = match c["op"].as_str().unwrap() {
            "insert" | "flag-insert" | "flag-insert-replace-data" => 1,
            "flag-delete" => -1,
            _ => 0,
        };
        *m.entry(c["table"].as_str().unwrap().to_string())
            .or_default() += d;
    }
    m
}

#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn committed_inserts_match_export_after_recovery() {
    let Some(dir) = common::logs_b() else {
        return;
    };
    let v = timeline(&[dir.to_str().unwrap()]);
    let tmp = tempfile::tempdir().unwrap();
    let rep = eseutil::recovery::recover(&common::log_only_opts(&dir, tmp.path())).unwrap();
    assert_eq!(rep.exit_status, 0);
    let db = tmp.path().join("secedit.sdb");
    let r = common::run(&["export", db.to_str().unwrap(), "--system"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut exported: BTreeMap<String, i64> = BTreeMap::new();
    for l in lines(&r.stdout) {
        *exported
            .entry(l["table"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let live = live_rows(&v);
    for (t, n) in &exported {
        assert_eq!(live.get(t).copied().unwrap_or(0), *n, "table {t}");
    }
    for (t, n) in &live {
        assert_eq!(exported.get(t).copied().unwrap_or(0), *n, "table {t}");
    }
}

#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn datasharing_dirty_with_its_database() {
    let Some(dir) = common::corpus_set("datasharing-dirty", "DSTokenDB2.dat") else {
        return;
    };
    let db = dir.join("DSTokenDB2.dat");
    let v = timeline(&[dir.to_str().unwrap(), "--database", db.to_str().unwrap()]);
    assert!(v.len() > 300, "{} changes", v.len());
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    for c in &v {
        assert!(c["table"].is_string(), "{c}");
        *outcomes
            .entry(c["outcome"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(outcomes.values().sum::<usize>(), v.len());
    assert!(outcomes["committed"] > 300, "{outcomes:?}");
    // Two generations: positions in both.
    assert!(v.iter().any(|c| c["lgpos"]["gen"] == 2));
}

#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn from_and_to_bound_the_positions() {
    let Some(dir) = common::logs_b() else {
        return;
    };
    let d = dir.to_str().unwrap();
    let all = timeline(&[d]);
    let part = timeline(&[d, "--from", "(0x1,10,0)", "--to", "0x1,20,0"]);
    let pos = |c: &Value| {
        let l = &c["lgpos"];
        (
            l["gen"].as_i64().unwrap(),
            l["isec"].as_i64().unwrap(),
            l["ib"].as_i64().unwrap(),
        )
    };
    let inside = |c: &&Value| pos(c) >= (1, 0x10, 0) && pos(c) <= (1, 0x20, 0);
    assert!(!part.is_empty());
    assert!(part.iter().all(|c| inside(&c)));
    assert_eq!(part.len(), all.iter().filter(inside).count());
    let r = common::run(&["timeline", d, "--from", "1,2"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn timesketch_lines_carry_datetime_description_and_message() {
    let Some(dir) = common::logs_b() else {
        return;
    };
    let v = timeline(&[dir.to_str().unwrap(), "--format", "timesketch"]);
    assert!(!v.is_empty());
    for c in &v {
        let dt = c["datetime"].as_str().unwrap();
        assert!(dt.starts_with("2024-") && dt.ends_with('Z'), "{dt}");
        assert!(c["timestamp_desc"]
            .as_str()
            .unwrap()
            .starts_with("ESE log time"));
        let m = c["message"].as_str().unwrap();
        assert!(m.contains(c["op"].as_str().unwrap()), "{m}");
        assert!(c["table"].is_string());
    }
}

/// The keys the timeline gives Delete / FlagDelete / Replace records (which
/// log only a line number) come from following the pages through inserts,
/// splits and merges: every flag-delete must hit a live key of its tree,
/// every delete a flag-deleted one, every replace an existing one.
#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn keys_from_tracked_pages_are_consistent() {
    let Some(dir) = common::logs_b() else {
        return;
    };
    let mut v = timeline(&[dir.to_str().unwrap()]);
    let pos = |c: &Value| {
        let l = &c["lgpos"];
        (
            l["gen"].as_i64().unwrap(),
            l["isec"].as_i64().unwrap(),
            l["ib"].as_i64().unwrap(),
        )
    };
    v.sort_by_key(pos);
    let mut state: BTreeMap<(i64, String), &str> = BTreeMap::new();
    let mut checked = 0;
    for c in &v {
        let key = c["key"].as_str().expect("every change has a key here");
        let k = (c["objid"].as_i64().unwrap(), key.to_string());
        let now = state.get(&k).copied();
        let (want, next): (&[Option<&str>], Option<&str>) = match c["op"].as_str().unwrap() {
            "insert" => (&[None], Some("live")),
            "flag-delete" => (&[Some("live")], Some("flagged")),
            "delete" => (&[Some("flagged")], None),
            // A replace may hit a flag-deleted node (7 in this log, by the
            // transaction that then cleans the page up).
            _ => (&[Some("live"), Some("flagged")], now),
        };
        assert!(want.contains(&now), "{c} on a {now:?} key");
        match next {
            Some(n) => state.insert(k, n),
            None => state.remove(&k),
        };
        checked += 1;
    }
    assert!(checked > 1000);
}

/// `export DB --logs DIR --as-of LGPOS`: an older copy of the database
/// (its pages as of (0x1,30,0)) brought to the end of the logs equals the
/// full replay table by table; an earlier position gives another view; a
/// database already past the position is refused.
#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn export_as_of_replays_an_older_copy() {
    let Some(dir) = common::logs_b() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (full, old) = (tmp.path().join("full"), tmp.path().join("old"));
    let rep = eseutil::recovery::recover(&common::log_only_opts(&dir, &full)).unwrap();
    assert_eq!(rep.exit_status, 0);
    let mut o = common::log_only_opts(&dir, &old);
    o.stop_at = Some(eseutil::parse::primitives::Lgpos {
        generation: 1,
        sector: 0x30,
        offset: 0,
    });
    // The pages as flushed at that position (a copy taken then), open
    // transactions kept: an undone copy would be a fork the later records
    // do not apply to.
    o.skip_undo = true;
    let rep = eseutil::recovery::recover(&o).unwrap();
    assert!(rep
        .databases
        .iter()
        .any(|d| d.output.ends_with("secedit.sdb")));
    let counts = |args: &[&str]| {
        let mut a = vec!["export", "--system"];
        a.extend_from_slice(args);
        let r = common::run(&a);
        (r.code, r.stderr.clone(), {
            let mut m: BTreeMap<String, usize> = BTreeMap::new();
            for l in lines(&r.stdout) {
                *m.entry(l["table"].as_str().unwrap().to_string())
                    .or_default() += 1;
            }
            m
        })
    };
    let full_db = full.join("secedit.sdb");
    let old_db = old.join("secedit.sdb");
    let d = dir.to_str().unwrap();
    let (_, _, want) = counts(&[full_db.to_str().unwrap()]);
    let (code, err, got) = counts(&[
        old_db.to_str().unwrap(),
        "--logs",
        d,
        "--as-of",
        "(0x1,9E,0)",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(got, want);
    let (code, err, early) = counts(&[
        old_db.to_str().unwrap(),
        "--logs",
        d,
        "--as-of",
        "(0x1,40,0)",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_ne!(early, want);
    let (code, err, _) = counts(&[
        full_db.to_str().unwrap(),
        "--logs",
        d,
        "--as-of",
        "(0x1,40,0)",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("already past"), "{err}");
}

#[path = "../examples/make_workload.rs"]
#[allow(dead_code)]
mod make_workload;

/// A workload (examples/make_workload.rs): its logs from generation 1, its
/// start database (as flushed at the checkpoint).
fn workload(out: &std::path::Path) -> make_workload::Summary {
    make_workload::make_workload(&make_workload::Config {
        out: out.to_path_buf(),
        db_mib: 2,
        log_mib: 1,
        page_size: 8192,
        seed: 7,
    })
    .expect("workload written")
}

fn lgpos(c: &Value) -> (i64, i64, i64) {
    let p = &c["lgpos"];
    (
        p["gen"].as_i64().unwrap(),
        p["isec"].as_i64().unwrap(),
        p["ib"].as_i64().unwrap(),
    )
}

#[test]
fn workload_before_images_outcomes_and_order() {
    let tmp = tempfile::tempdir().unwrap();
    workload(tmp.path());
    let logs = tmp.path().join("logs");
    let db = tmp.path().join("start").join(make_workload::DB_NAME);
    let v = timeline(&[logs.to_str().unwrap(), "--database", db.to_str().unwrap()]);
    assert!(v.len() > 1000, "{} changes", v.len());
    // Log order, every outcome the workload makes.
    assert!(v.windows(2).all(|w| lgpos(&w[0]) <= lgpos(&w[1])));
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &v {
        *outcomes.entry(c["outcome"].as_str().unwrap()).or_default() += 1;
    }
    for o in ["committed", "rolled-back", "open-at-end"] {
        assert!(outcomes.get(o).is_some_and(|&n| n > 0), "{outcomes:?}");
    }
    // A before image, or the reason it is not known, for every operation
    // that has one; the before image of a change is the row the previous
    // change of that key left (once the pages are followed).
    let mut last: BTreeMap<(u64, String), String> = BTreeMap::new();
    let (mut checked, mut known) = (0, 0);
    for c in &v {
        let op = c["op"].as_str().unwrap();
        let has_before = op != "insert";
        assert_eq!(
            c["before"].is_null() && has_before,
            c["before_unknown"].is_string(),
            "{c}"
        );
        if c["tree"] != "primary" {
            continue;
        }
        let objid = c["objid"].as_u64().unwrap();
        if c["key"].is_null() {
            // A change of a row not known: forget the tree's rows.
            last.retain(|(o, _), _| *o != objid);
            continue;
        }
        let k = (objid, c["key"].to_string());
        let raw = |i: &Value| i["columns"].to_string();
        if !c["before"].is_null() {
            known += 1;
            if let Some(prev) = last.get(&k) {
                assert_eq!(prev, &raw(&c["before"]), "{c}");
                checked += 1;
            }
        }
        // A flag-delete leaves the row; otherwise what follows is the after
        // image, or not known.
        if !c["after"].is_null() {
            last.insert(k, raw(&c["after"]));
        } else if op != "flag-delete" {
            last.remove(&k);
        }
    }
    assert!(
        known > 100 && checked > 100,
        "{known} known, {checked} checked"
    );
    // Undo records name the change they undo, which is rolled back (or,
    // for the transaction the crash left open, open at the end).
    let undos: Vec<&Value> = v.iter().filter(|c| c["op"] == "undo").collect();
    assert!(!undos.is_empty());
    for u in &undos {
        let at = u["undoes"].as_str().expect("undoes");
        let undone = v
            .iter()
            .find(|c| c["lgpos"]["text"] == at)
            .expect("the undone change is in the output");
        assert_eq!(undone["outcome"], "rolled-back", "{undone}");
        assert_eq!(undone["rceid"], u["rceid"]);
    }
}

#[test]
fn workload_commit_order_groups_transactions_and_a_small_buffer_stays_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    workload(tmp.path());
    let logs = tmp.path().join("logs");
    let l = logs.to_str().unwrap();
    let by_log = timeline(&[l]);
    let by_commit = timeline(&[l, "--order", "commit"]);
    assert_eq!(by_log.len(), by_commit.len());
    // Same changes; in commit order a transaction's changes are together.
    let mut a: Vec<String> = by_log.iter().map(|c| c.to_string()).collect();
    let mut b: Vec<String> = by_commit.iter().map(|c| c.to_string()).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    let mut seen = std::collections::BTreeSet::new();
    let mut prev = None;
    for c in by_commit.iter().filter(|c| c["level"] != 0) {
        let t = (c["procid"].as_u64(), c["trx"].as_u64());
        if prev != Some(t) {
            assert!(seen.insert(t), "transaction {t:?} split in commit order");
            prev = Some(t);
        }
    }
    // --max-buffer 0: every change waiting goes out at once, undecided,
    // still in log order, with a message.
    let r = common::run(&["timeline", l, "--max-buffer", "0"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("undecided"), "{}", r.stderr);
    let small = lines(&r.stdout);
    assert_eq!(small.len(), by_log.len());
    assert!(small.windows(2).all(|w| lgpos(&w[0]) <= lgpos(&w[1])));
    assert!(small.iter().any(|c| c["outcome"] == "undecided"));
}

/// Real UndoInfo records (SRUM and Windows Update logs, no database): each
/// completes the open change with its rceid (key, and for a replace the
/// before-image) or is an `undo-info` change of its own; every operation
/// without a before image says why; transactions spanning generations keep
/// their changes and end committed.
#[test]
#[cfg_attr(not(corpus_present), ignore = "needs ../shared/corpus")]
fn undo_info_and_transactions_across_generations_on_real_logs() {
    let Some(c) = common::corpus() else {
        return;
    };
    for (set, base, used, alone, spanning) in [
        ("srum-logs", "SRU", 477, 56, 1),
        ("wu-datastore-logs", "edb", 43, 8, 44),
    ] {
        let dir = c.join(set);
        let r = common::run(&["timeline", dir.to_str().unwrap(), "--base", base]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let want = format!("UndoInfo: {used} completed a change, {alone} alone");
        assert!(r.stderr.contains(&want), "{set}: {}", r.stderr);
        let v = lines(&r.stdout);
        assert_eq!(v.iter().filter(|c| c["op"] == "undo-info").count(), alone);
        assert!(v.iter().any(|c| c["key_source"] == "undo-info"));
        let mut gens: BTreeMap<(u64, u64), Vec<&Value>> = BTreeMap::new();
        for c in &v {
            let op = c["op"].as_str().unwrap();
            if c["before"].is_null() && op != "insert" {
                assert!(c["before_unknown"].is_string(), "{c}");
            }
            if c["level"] != 0 {
                let t = (c["procid"].as_u64().unwrap(), c["trx"].as_u64().unwrap());
                gens.entry(t).or_default().push(c);
            }
        }
        let across: Vec<_> = gens
            .values()
            .filter(|cs| {
                cs.iter()
                    .any(|c| c["lgpos"]["gen"] != cs[0]["lgpos"]["gen"])
            })
            .collect();
        assert_eq!(across.len(), spanning, "{set}");
        for cs in across {
            assert!(cs.iter().all(|c| c["outcome"] == "committed"));
        }
    }
}
