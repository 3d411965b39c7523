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
