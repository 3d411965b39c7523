//! Integration tests of `plan` on the corpus (skipped with a note when it is
//! absent) and on folders fabricated in a temporary directory from corpus
//! logs re-sealed under the signature of a synthetic database
//! (`eseutil::synth`).

mod common;

use std::path::Path;

use eseutil::checksum::seal_header;
use eseutil::synth;
use serde_json::Value;

fn plan_json(paths: &[&Path]) -> (i32, Value) {
    let mut args: Vec<&std::ffi::OsStr> = vec!["plan".as_ref(), "--json".as_ref()];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let r = common::run(&args);
    let v = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr));
    (r.code, v)
}

fn plan_text(paths: &[&Path]) -> (i32, String) {
    let mut args: Vec<&std::ffi::OsStr> = vec!["plan".as_ref(), "--no-logo".as_ref()];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let r = common::run(&args);
    (r.code, r.stdout)
}

fn codes(stream: &Value) -> Vec<i64> {
    stream["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["jet"]["code"].as_i64().unwrap())
        .collect()
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn secedit_logs_a_attaches_a_missing_database_1216() {
    let Some(c) = common::corpus() else { return };
    let dir = c.join("secedit-logs-a");
    let (code, v) = plan_json(&[&dir]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ok"], false);
    let s = &v["streams"][0];
    assert_eq!(s["verdict"], "blocked");
    assert_eq!(s["base"], "edb");
    assert_eq!(codes(s), [-1216]);
    let d = &s["logged_databases"][0];
    assert_eq!(d["path"], "C:\\WINDOWS\\Security\\Database\\secedit.sdb");
    assert_eq!(d["dbid"], 1);
    assert_eq!(d["enters"], "attached");
    assert_eq!(d["outcome"], "missing");
    assert_eq!(d["records"][0]["kind"], "attach");
    assert_eq!(d["records"][0]["lgpos"]["eseutil"], "(0x1,1,268)");
    assert_eq!(d["records"][0]["lgpos_consistent"]["eseutil"], "(0x2,7,36)");
    // Checkpoint (0x1,1,0): redo starts there, in the current log.
    assert_eq!(s["checkpoint"]["lgpos"]["eseutil"], "(0x1,1,0)");
    assert_eq!(s["checkpoint"]["file_name"], "edb.log");
    assert_eq!(s["redo_start"]["eseutil"], "(0x1,1,0)");
    assert_eq!(s["logs"][0]["file_name"], "edb.log");
    assert_eq!(s["logs"][0]["role"], "replayed");
    assert_eq!(s["current_log_missing"], false);
    let (code, out) = plan_text(&[&dir]);
    assert_eq!(code, 1);
    assert!(out.contains("Error -1216 (JET_errAttachedDatabaseMismatch): database C:\\WINDOWS\\Security\\Database\\secedit.sdb (dbid 1"), "{out}");
    assert!(
        out.contains("writes the recovered databases to ./recovered/"),
        "{out}"
    );
    assert!(
        out.contains("Operation terminated with error -1216"),
        "{out}"
    );
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn secedit_logs_b_creates_its_database_and_can_rebuild_it() {
    let Some(c) = common::corpus() else { return };
    let dir = c.join("secedit-logs-b");
    let (code, v) = plan_json(&[&dir]);
    assert_eq!(code, 0, "{v}");
    let s = &v["streams"][0];
    assert_eq!(s["verdict"], "ready");
    assert!(codes(s).is_empty());
    // The checkpoint is at the end of the log: the CreateDB is before it.
    assert_eq!(s["checkpoint"]["lgpos"]["eseutil"], "(0x1,9E,0)");
    assert_eq!(s["checkpoint"]["exact"], true);
    let r = &s["rebuildable_without_checkpoint"][0];
    assert_eq!(r["path"], "C:\\WINDOWS\\Security\\Database\\secedit.sdb");
    assert_eq!(r["enters"], "created");
    assert_eq!(r["outcome"], "recreated");
    assert_eq!(r["records"][0]["kind"], "create");
    assert_eq!(r["records"][0]["lgpos"]["eseutil"], "(0x1,1,268)");
    let kinds: Vec<&str> = r["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["create", "detach", "attach", "detach", "attach", "detach"]
    );
    assert_eq!(r["attached_at_end"], false);
    assert!(
        s["summary"]
            .as_str()
            .unwrap()
            .contains("rebuild it from the logs alone"),
        "{}",
        s["summary"]
    );
    let cmd = s["command"].as_str().unwrap();
    assert!(cmd.starts_with("eseutil-rs /r edb /l "), "{cmd}");
    assert!(s["steps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x.as_str().unwrap().contains("--ignore-checkpoint")));
}

/// Dirty databases without logs: the required generations are named as
/// files with the pattern (base unknown) and with the usual base.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn dirty_databases_without_logs_name_the_required_generations() {
    let Some(c) = common::corpus() else { return };
    for (f, gen) in [
        ("go-ese/Sample_UAL/HyperV-PC/Current.mdb", 0x7Cu32),
        ("go-ese/Sample_UAL/Nondomain-User/Current.mdb", 0x7D),
        ("go-ese/Samples/qmgr.db", 0x17),
        ("dissect-target/webcache-dirty", 0x14),
        ("dissect-esedb/Windows.edb", 0x28),
    ] {
        let p = c.join(f);
        let (code, v) = plan_json(&[&p]);
        assert_eq!(code, 1, "{f}: {v}");
        let s = &v["streams"][0];
        assert_eq!(s["verdict"], "blocked", "{f}");
        assert_eq!(s["base"], Value::Null, "{f}");
        let d = &s["databases"][0];
        assert_eq!(d["state_name"], "Dirty Shutdown", "{f}");
        assert_eq!(d["required"][0], gen, "{f}");
        assert_eq!(d["required"][1], gen, "{f}");
        assert_eq!(d["verdict"], "cannot_recover", "{f}");
        let pattern = format!("<base>{gen:05X}.log");
        assert_eq!(d["required_files"][0], pattern.as_str(), "{f}");
        assert_eq!(codes(s), [-543], "{f}");
        let msg = d["problems"][0]["message"].as_str().unwrap();
        assert!(msg.contains(&format!("edb{gen:05X}.log")), "{f}: {msg}");
        assert_eq!(s["missing"][0]["first"], gen);
    }
    let (code, out) = plan_text(&[&c.join("go-ese/Sample_UAL/HyperV-PC/Current.mdb")]);
    assert_eq!(code, 1);
    assert!(out.contains("Log Required: 124-124 (0x7c-0x7c)"), "{out}");
    assert!(out.contains("Required files: <base>0007C.log"), "{out}");
    assert!(
        out.contains("Error -543 (JET_errRequiredLogFilesMissing)"),
        "{out}"
    );
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn clean_databases_need_nothing() {
    let Some(c) = common::corpus() else { return };
    for f in [
        "secedit-db-2018/secedit.sdb",
        "dissect-target/webcache-clean",
    ] {
        let (code, v) = plan_json(&[&c.join(f)]);
        assert_eq!(code, 0, "{f}: {v}");
        let s = &v["streams"][0];
        assert_eq!(s["verdict"], "nothing_to_do", "{f}");
        assert_eq!(s["databases"][0]["verdict"], "clean");
        assert_eq!(s["command"], Value::Null);
    }
    // Several paths: one blocked stream makes the whole plan fail.
    let (code, v) = plan_json(&[
        &c.join("secedit-db-2018/secedit.sdb"),
        &c.join("secedit-logs-b"),
        &c.join("dissect-esedb/Windows.edb"),
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["streams"].as_array().unwrap().len(), 3);
}

// ---------------------------------------------------------------------------
// Fabricated folders
// ---------------------------------------------------------------------------

/// The corpus log re-sealed as generation `gen` of the synthetic stream
/// (signature of `synth::log_header`, the same as the synthetic database's
/// and checkpoint's), following `prev` (create time) when given.
fn synth_log(c: &Path, gen: u32, prev: Option<&[u8]>, other_stream: bool) -> Vec<u8> {
    let src = if other_stream {
        "secedit-logs-a/edb.log"
    } else {
        "secedit-logs-b/edb.log"
    };
    let mut b = std::fs::read(c.join(src)).unwrap();
    b[4..8].copy_from_slice(&gen.to_le_bytes());
    if !other_stream {
        let h = synth::log_header(1);
        b[44..72].copy_from_slice(&h[44..72]);
    }
    // A distinct create time per generation.
    b[16] = gen as u8;
    if let Some(p) = prev {
        b[24..32].copy_from_slice(&p[16..24]);
        // The re-sealed copies keep generation 1 in their segment headers,
        // so their segments read as stale (an empty log) and their
        // accumulated checksum is 0: store 0 ("not recorded").
        b[653..661].copy_from_slice(&0u64.to_le_bytes());
    }
    seal_header(&mut b[..4096]);
    b
}

fn dirty_db(min: i32, max: i32) -> Vec<u8> {
    synth::database(
        &synth::DbSpec {
            state: 2,
            gen_required: (min, max),
            ..Default::default()
        },
        4,
        4,
    )
}

/// Writes generations `gens` (the last one as `edb.log` when `current`).
fn write_logs(c: &Path, dir: &Path, gens: &[u32], current: bool) {
    let mut prev: Option<Vec<u8>> = None;
    for (i, &g) in gens.iter().enumerate() {
        let b = synth_log(c, g, prev.as_deref(), false);
        let name = if current && i + 1 == gens.len() {
            "edb.log".to_string()
        } else {
            format!("edb{g:05X}.log")
        };
        std::fs::write(dir.join(name), &b).unwrap();
        prev = Some(b);
    }
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn dirty_database_with_all_its_logs_can_recover() {
    let Some(c) = common::corpus() else { return };
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("db.edb"), dirty_db(2, 3)).unwrap();
    std::fs::write(d.path().join("edb.chk"), synth::checkpoint(2, 1)).unwrap();
    write_logs(&c, d.path(), &[2, 3], true);
    let (code, v) = plan_json(&[d.path()]);
    assert_eq!(code, 0, "{v}");
    let s = &v["streams"][0];
    assert_eq!(s["verdict"], "ready", "{}", s["problems"]);
    assert_eq!(s["databases"][0]["verdict"], "can_recover");
    assert_eq!(
        s["databases"][0]["required_files"],
        serde_json::json!(["edb00002.log", "edb00003.log"])
    );
    assert_eq!(s["checkpoint"]["file_name"], "edb00002.log");
    assert_eq!(s["redo_start"]["eseutil"], "(0x2,1,0)");
    assert_eq!(s["redo_end_generation"], 3);
    assert!(s["missing"].as_array().unwrap().is_empty());
    let roles: Vec<&str> = s["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["replayed", "replayed"]);
    let dir = d.path().display().to_string();
    assert_eq!(
        s["command"],
        format!("eseutil-rs /r edb /l {dir} /s {dir} /d {dir}").as_str()
    );
    let (code, out) = plan_text(&[d.path()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("Verdict: can be brought to Clean Shutdown"),
        "{out}"
    );
    assert!(out.contains("Operation completed successfully"), "{out}");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn log_of_another_stream_is_foreign() {
    let Some(c) = common::corpus() else { return };
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("db.edb"), dirty_db(2, 3)).unwrap();
    std::fs::write(d.path().join("edb.chk"), synth::checkpoint(2, 1)).unwrap();
    write_logs(&c, d.path(), &[2, 3], true);
    // Replace generation 2 by another stream's log.
    std::fs::write(d.path().join("edb00002.log"), synth_log(&c, 2, None, true)).unwrap();
    let (code, v) = plan_json(&[d.path()]);
    assert_eq!(code, 1, "{v}");
    let s = &v["streams"][0];
    assert_eq!(s["logs"][0]["file_name"], "edb00002.log");
    assert_eq!(s["logs"][0]["role"], "foreign");
    let c = codes(s);
    assert!(c.contains(&-530), "{c:?}");
    assert!(c.contains(&-509), "{c:?}"); // the checkpoint's generation is not there
    assert_eq!(s["missing"][0]["file_names"][0], "edb00002.log");
    assert_eq!(s["databases"][0]["verdict"], "cannot_recover");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn gap_and_missing_current_log() {
    let Some(c) = common::corpus() else { return };
    // Generations 2, 4 (current); 3 is missing.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("db.edb"), dirty_db(2, 4)).unwrap();
    write_logs(&c, d.path(), &[2], false);
    write_logs(&c, d.path(), &[4], true);
    let (code, v) = plan_json(&[d.path()]);
    assert_eq!(code, 1);
    let s = &v["streams"][0];
    assert!(s["redo_start_reason"]
        .as_str()
        .unwrap()
        .contains("lowest archived"));
    assert_eq!(s["missing"][0]["text"], "edb00003.log");
    let cs = codes(s);
    assert!(cs.contains(&-528), "{cs:?}");
    assert!(cs.contains(&-543), "{cs:?}");

    // Generations 2 and 3 archived, no current log: /a needed.
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("db.edb"), dirty_db(2, 3)).unwrap();
    write_logs(&c, d.path(), &[2, 3], false);
    let (code, v) = plan_json(&[d.path()]);
    assert_eq!(code, 1);
    let s = &v["streams"][0];
    assert_eq!(s["current_log_missing"], true);
    assert_eq!(codes(s), [-528]);
    assert!(s["command"].as_str().unwrap().ends_with(" /a"));
    // The database's own generations are all there.
    assert!(s["databases"][0]["problems"].as_array().unwrap().is_empty());
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn separate_paths_and_base_name() {
    let Some(c) = common::corpus() else { return };
    let logs = tempfile::tempdir().unwrap();
    let dbs = tempfile::tempdir().unwrap();
    std::fs::write(dbs.path().join("db.edb"), dirty_db(2, 3)).unwrap();
    write_logs(&c, logs.path(), &[2, 3], true);
    let base = logs.path().join("edb");
    let db = dbs.path().join("db.edb");
    let (code, v) = plan_json(&[&db, &base]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["streams"].as_array().unwrap().len(), 1);
    let s = &v["streams"][0];
    assert_eq!(s["databases"][0]["verdict"], "can_recover");
    let cmd = s["command"].as_str().unwrap();
    assert!(
        cmd.contains(&format!("/d {}", dbs.path().display())),
        "{cmd}"
    );
}

#[test]
fn missing_path_is_an_error() {
    let r = common::run(&["plan", "/nonexistent/xyz/db.edb"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let r = common::run(&["plan"]);
    assert_eq!(r.code, 2);
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn broken_chain_blocks_recovery_515() {
    let Some(c) = common::corpus() else { return };
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("db.edb"), dirty_db(2, 3)).unwrap();
    write_logs(&c, d.path(), &[2, 3], true);
    // Generation 3 no longer names generation 2's create time.
    let p = d.path().join("edb.log");
    let mut b = std::fs::read(&p).unwrap();
    b[24..32].copy_from_slice(&[0; 8]);
    seal_header(&mut b[..4096]);
    std::fs::write(&p, &b).unwrap();
    let (code, v) = plan_json(&[d.path()]);
    assert_eq!(code, 1, "{v}");
    let s = &v["streams"][0];
    assert_eq!(codes(s), [-515]);
    assert_eq!(s["logs"][1]["problem"]["jet"]["code"], -515);
    assert_eq!(s["databases"][0]["verdict"], "cannot_recover");
}
