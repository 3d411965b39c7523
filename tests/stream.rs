//! `/ml` and `plan` verify a log set one generation at a time
//! (`eseutil::log::set::check_set_streamed`): these tests put the set-level
//! facts at generation boundaries — a transaction open across a boundary, a
//! torn record at the end of a middle generation linked to the next file's
//! restart, a torn tail in the last generation — and check that the
//! streamed verdicts, text and JSON agree with the whole-set view.

mod common;

use std::path::Path;

use eseutil::log::set::{check_set_streamed, SetStep};
use eseutil::log::synth::{self, begin0, commit0, day, trace, Log8};
use serde_json::Value;

#[path = "../examples/make_log_set.rs"]
#[allow(dead_code)]
mod make_log_set;

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

fn json(args: &[&std::ffi::OsStr]) -> (i32, Value) {
    let r = common::run(args);
    let v = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr));
    (r.code, v)
}

/// Writes generations `first..` of one chain (each created a day after the
/// previous, with its accumulated checksum); the last is `edb.log`.
fn write_chain(dir: &Path, first: i32, gens: Vec<Log8>) {
    let n = gens.len();
    let mut prev = None;
    for (k, l) in gens.into_iter().enumerate() {
        let g = first + k as i32;
        let created = day(1 + k as u8, 10);
        let (f, acc) = l.finish(created, prev);
        prev = Some((created, acc));
        let name = if k + 1 == n {
            "edb.log".to_string()
        } else {
            format!("edb{g:05X}.log")
        };
        std::fs::write(dir.join(name), f).unwrap();
    }
}

/// Generation 5 begins transaction 0x101 and ends inside it; 6 continues
/// and commits it; 7 runs a whole transaction.
fn set_mid_transaction(dir: &Path) {
    let mut g5 = Log8::new(5, day(1, 10));
    g5.record(&begin0(0x101));
    g5.record(&trace(3000));
    let mut g6 = Log8::new(6, day(2, 10));
    g6.record(&trace(2000));
    g6.record(&commit0(0x101));
    let mut g7 = Log8::new(7, day(3, 10));
    g7.record(&begin0(0x102));
    g7.record(&commit0(0x102));
    write_chain(dir, 5, vec![g5, g6, g7]);
}

/// Each file the streamed check hands out (read ahead on a worker thread,
/// into recycled buffers) holds the same records as the file checked alone
/// with a fresh buffer, and the set verdict agrees with its steps.
fn assert_streamed_equals_whole(dir: &Path) {
    let mut files = Vec::new();
    let mut ok = true;
    let v = check_set_streamed(dir, "edb", None, |s| {
        ok &= s.ok();
        if let SetStep::File(f, _) = s {
            files.push(*f);
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(v.ok, ok);
    assert!(!files.is_empty());
    for f in &files {
        let alone = eseutil::log::set::check_file(&f.path).unwrap();
        let recs = |c: &eseutil::log::set::LogFileCheck| {
            c.walk
                .as_ref()
                .map(|w| w.records.clone())
                .unwrap_or_default()
        };
        assert_eq!(recs(f), recs(&alone), "{}", f.path.display());
        assert_eq!(
            f.error().map(|e| e.offset),
            alone.error().map(|e| e.offset),
            "{}",
            f.path.display()
        );
    }
}

#[test]
fn transaction_open_across_a_generation_boundary() {
    let t = tempfile::tempdir().unwrap();
    set_mid_transaction(t.path());
    assert_streamed_equals_whole(t.path());
    let r = common::run(&[os("ml"), t.path().join("edb").as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(r.stdout.matches(" - OK").count(), 3, "{}", r.stdout);
    assert!(r.stdout.contains("No damaged log files were found."));
    let (code, v) = json(&[os("plan"), t.path().as_os_str(), os("--json")]);
    assert_eq!(code, 0, "{v:#}");
    let s = &v["streams"][0];
    assert!(s["problems"].as_array().unwrap().is_empty(), "{s:#}");
    assert_eq!(s["logs"].as_array().unwrap().len(), 3, "{s:#}");
}

/// 4 plain, 5 ends with a torn record, 6 restarts, 7 ends torn (the last
/// generation: nothing follows, no restart to link).
fn set_torn_in_the_middle_and_at_the_end(dir: &Path) {
    let mut g4 = Log8::new(4, day(1, 10));
    g4.record(&begin0(0x100));
    g4.record(&commit0(0x100));
    let g5 = synth::log8_torn(5, 1, true);
    let g6 = synth::log8_restarted(6);
    let g7 = synth::log8_torn(7, 1, true);
    write_chain(dir, 4, vec![g4, g5, g6, g7]);
}

#[test]
fn torn_tail_of_a_middle_generation_links_to_the_next_restart() {
    let t = tempfile::tempdir().unwrap();
    set_torn_in_the_middle_and_at_the_end(t.path());
    assert_streamed_equals_whole(t.path());
    let (code, v) = json(&[os("ml"), t.path().as_os_str(), os("--json")]);
    assert_eq!(code, 0, "{v:#}");
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 4, "{v:#}");
    let torn = |k: usize| files[k]["integrity"]["torn_records"].clone();
    assert!(torn(0).as_array().unwrap().is_empty());
    assert_eq!(torn(1)[0]["restart_lgpos"]["eseutil"], "(0x6,1,0)", "{v:#}");
    assert!(torn(2).as_array().unwrap().is_empty());
    assert!(torn(3)[0]["restart_lgpos"].is_null(), "{v:#}");
    let r = common::run(&[os("ml"), t.path().as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(r
        .stdout
        .contains("NOTE: torn record at (0x5,1,F00) abandoned; engine restarted at (0x6,1,0)."));
    let (code, v) = json(&[os("plan"), t.path().as_os_str(), os("--json")]);
    assert_eq!(code, 0, "{v:#}");
    let logs = v["streams"][0]["logs"].as_array().unwrap();
    assert_eq!(
        logs[1]["torn_records"][0]["restart_lgpos"]["eseutil"],
        "(0x6,1,0)"
    );
}

/// A missing generation between two torn-free files: the gap is reported
/// between them and no torn link crosses it.
#[test]
fn gap_is_reported_in_order_while_streaming() {
    let t = tempfile::tempdir().unwrap();
    set_mid_transaction(t.path());
    std::fs::remove_file(t.path().join("edb00006.log")).unwrap();
    assert_streamed_equals_whole(t.path());
    let r = common::run(&[os("ml"), t.path().join("edb").as_os_str()]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    let a = r.stdout.find("edb00005.log").unwrap();
    let m = r.stdout.find("Missing log file: edb00006.log").unwrap();
    let b = r.stdout.find("edb.log").unwrap();
    assert!(a < m && m < b, "{}", r.stdout);
}

/// A longer real-data set: every generation verifies, in order, and the
/// JSON document lists each file once.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn many_generations_of_real_records() {
    let Some(c) = common::corpus() else { return };
    let src = std::fs::read(c.join("secedit-logs-b/edb.log")).unwrap();
    let t = tempfile::tempdir().unwrap();
    for (name, b) in make_log_set::build(&src, 12, None) {
        std::fs::write(t.path().join(name), b).unwrap();
    }
    assert_streamed_equals_whole(t.path());
    let (code, v) = json(&[os("ml"), t.path().join("edb").as_os_str(), os("--json")]);
    assert_eq!(code, 0, "{v:#}");
    let gens: Vec<i64> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["generation"].as_i64().unwrap())
        .collect();
    assert_eq!(gens, (1..=12).collect::<Vec<_>>());
}

/// `/k` on a folder and on a base name checks every log through the
/// read-ahead pipeline, one text block per file in order; `--json` is one
/// document whose `files` array has an item per file (streamed as each
/// completes); a damaged middle generation is reported and the others pass.
#[test]
fn k_on_a_folder_and_a_base_name_streams_each_log() {
    let t = tempfile::tempdir().unwrap();
    set_mid_transaction(t.path());
    std::fs::write(t.path().join("notes.txt"), b"not an ESE file").unwrap();
    let r = common::run(&[os("k"), t.path().as_os_str()]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let order: Vec<usize> = ["edb.log", "edb00005.log", "edb00006.log", "notes.txt"]
        .iter()
        .map(|n| {
            r.stdout
                .find(n)
                .unwrap_or_else(|| panic!("{n}: {}", r.stdout))
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{}", r.stdout);
    let (code, v) = json(&[os("k"), t.path().join("edb").as_os_str(), os("--json")]);
    assert_eq!(code, 0, "{v:#}");
    let files = v["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(names.len(), 3, "{v:#}");
    assert!(
        names[0].ends_with("edb00005.log") && names[2].ends_with("edb.log"),
        "{names:?}"
    );
    assert_eq!(v["damaged"], false, "{v:#}");
    assert_eq!(v["schema_version"], 2, "{v:#}");
    // A flipped byte in the middle generation's data: that file fails.
    let mid = t.path().join("edb00006.log");
    let mut b = std::fs::read(&mid).unwrap();
    b[4096 + 600] ^= 0x5A;
    std::fs::write(&mid, b).unwrap();
    let (code, v) = json(&[os("k"), t.path().as_os_str(), os("--json")]);
    assert_eq!(code, 1, "{v:#}");
    let failed: Vec<bool> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] != "skipped")
        .map(|f| f["failed"].as_bool().unwrap_or(false))
        .collect();
    assert_eq!(failed, [false, false, true], "{v:#}");
    assert_eq!(v["damaged"], true, "{v:#}");
}

/// `/ml BASE --json` of a set with a gap: one document, files streamed,
/// the gap in `missing`, the verdict after the array.
#[test]
fn ml_json_of_a_set_is_one_streamed_document() {
    let t = tempfile::tempdir().unwrap();
    set_mid_transaction(t.path());
    std::fs::remove_file(t.path().join("edb00006.log")).unwrap();
    let (code, v) = json(&[os("ml"), t.path().join("edb").as_os_str(), os("--json")]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["files"].as_array().unwrap().len(), 2, "{v:#}");
    assert_eq!(v["missing"].as_array().unwrap().len(), 1, "{v:#}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["exit_status"], 1);
    assert_eq!(v["base"], "edb");
}
