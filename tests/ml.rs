//! Integration tests of `/ml` against the shared corpus (skipped with a note
//! when it is absent) and against sets fabricated from corpus logs in a
//! temporary folder.

mod common;

use std::path::Path;
use std::process::Command;

use eseutil::checksum::{seal_header, seal_page};

use common::corpus;

fn run(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_eseutil-rs"))
        .args(args)
        .output()
        .expect("run eseutil-rs");
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> (i32, serde_json::Value) {
    let (code, out, err) = run(args);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    (code, v)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Acceptance 1: every record of both real logs is read from the header to
/// the end of written data, no unknown record, no checksum error, and the
/// record sizes plus segment headers add up exactly to the end position.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn real_logs_walk_to_the_exact_end() {
    let Some(c) = corpus() else { return };
    // (folder, last lgpos sector, accumulated checksum from facts.jsonl)
    for (dir, end_sec, acc) in [
        ("secedit-logs-a", 2, "0x18861886af141423"),
        ("secedit-logs-b", 0x9E, "0x183d67c21fe0f86b"),
    ] {
        let f = c.join(dir).join("edb.log");
        let (code, v) = json(&["ml", s(&f), "--stats", "--json"]);
        assert_eq!(code, 0, "{v}");
        let i = &v["integrity"];
        assert_eq!(i["ok"], true, "{dir}");
        assert_eq!(i["error"], serde_json::Value::Null);
        assert_eq!(i["accumulated_segment_checksum"], acc);
        assert_eq!(i["last_lgpos"]["sector"], end_sec);
        assert_eq!(i["walk_matches_end"], true);
        let st = &v["stats"];
        let rb = st["record_bytes"].as_u64().unwrap();
        let hb = st["segment_header_bytes"].as_u64().unwrap();
        assert_eq!(rb + hb, st["data_bytes"].as_u64().unwrap());
        assert_eq!(st["data_bytes"].as_u64().unwrap(), (end_sec - 1) * 4096);
        let mut n = 0;
        let mut bytes = 0;
        for t in st["by_type"].as_array().unwrap() {
            assert_ne!(t["name"], "*UNKNOWN*");
            n += t["count"].as_u64().unwrap();
            bytes += t["bytes"].as_u64().unwrap();
        }
        assert_eq!(n, st["records"].as_u64().unwrap());
        assert_eq!(bytes, rb);
    }
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn real_log_record_lines_and_transactions() {
    let Some(c) = corpus() else { return };
    let f = c.join("secedit-logs-b/edb.log");
    let (code, out, _) = run(&["ml", s(&f), "--records", "--json"]);
    assert_eq!(code, 0);
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2576);
    assert_eq!(lines[0]["type"], "Init");
    assert_eq!(lines[1]["type"], "CreateDB");
    assert_eq!(
        lines[1]["path"],
        "C:\\WINDOWS\\Security\\Database\\secedit.sdb"
    );
    let frags = lines
        .iter()
        .filter(|l| l["fragments"].as_u64() > Some(0))
        .count();
    assert_eq!(frags, 15);
    let (_, v) = json(&["ml", s(&f), "--stats", "--json"]);
    let t = &v["stats"]["transactions"];
    assert_eq!(
        (t["begun"].as_u64(), t["committed"].as_u64()),
        (Some(154), Some(154))
    );
    assert_eq!(t["open_at_end"], 0);
    // eseutil syntax: /v lists records with the >gen,isec,ib prefix.
    let (code, out, _) = run(&["/ml", s(&f), "/v", "/o"]);
    assert_eq!(code, 0);
    // LrToSz text (logapi.cxx ~7201, ~7484, ~7525) for the types it covers.
    for line in [
        ">00000001,0002,023E Insert    72,53,c:2(5,[1:4:0],U:V:ND:NSP:USR:NCI,0,13,45,rceid:4294967215,objid:[1:2])\n",
        ">00000001,0002,0032 Begin0    (5,from:0,to:1) 4\n",
        ">00000001,0002,0072 Commit0   (5,to:0) 8\n",
        ">00000001,0002,023A Begin     (5,from:1,to:2)\n",
        ">00000001,0002,034C Commit    (5,to:1)\n",
    ] {
        assert!(out.contains(line), "{line}");
    }
    // Types without LrToSz text yet keep the field list.
    assert!(
        out.contains(">00000001,0001,0268 CreateDB  procid:5 db:1 path:C:\\WINDOWS\\Security\\Database\\secedit.sdb"),
        "{out}"
    );
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn real_log_text_dump() {
    let Some(c) = corpus() else { return };
    let f = c.join("secedit-logs-a/edb.log");
    let (code, out, _) = run(&["/ml", s(&f)]);
    assert_eq!(code, 0);
    for want in [
        "      Base name: edb\n",
        "      lGeneration: 1 (0x1)\n",
        "      Format LGVersion: (8.4000.60.140) (generated by 9180)\n",
        "      Signature: Create time:09/09/2025 11:08:17.854 Rand:3958749024 Computer:\n",
        "      Circular Logging Flag (current file): on\n",
        "      Checkpoint at log creation time: (0x1,1,0)\n",
        "      Last Lgpos: (0x1,2,0)\n",
        "      Accumulated segment checksum: 0x18861886af141423\n",
        "Integrity check passed for log file: ",
        "Operation completed successfully",
    ] {
        assert!(out.contains(want), "missing {want:?} in\n{out}");
    }
    assert!(out.contains("      Checkpoint: (0x"), "{out}");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn real_folder_and_base_name() {
    let Some(c) = corpus() else { return };
    let d = c.join("secedit-logs-b");
    let (code, out, _) = run(&["/ml", s(&d.join("edb")), "/r1-1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Log generation range: 0x1-0x1"));
    assert!(out.contains("edb.log - OK"));
    assert!(out.contains("No damaged log files were found."));
    let (code, v) = json(&["ml", s(&d), "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["ok"], true);
    assert_eq!(v["files"].as_array().unwrap().len(), 1);
}

fn real_log(c: &Path) -> Vec<u8> {
    std::fs::read(c.join("secedit-logs-b/edb.log")).unwrap()
}

/// Rewrites header fields of a log copy and re-seals its checksum.
fn reseal(b: &mut [u8], gen: u32, prev_time: Option<[u8; 8]>, prev_acc: Option<u64>) {
    b[4..8].copy_from_slice(&gen.to_le_bytes());
    if let Some(t) = prev_time {
        b[24..32].copy_from_slice(&t);
    }
    if let Some(a) = prev_acc {
        b[653..661].copy_from_slice(&a.to_le_bytes());
    }
    seal_header(&mut b[..4096]);
}

fn create_time(b: &[u8]) -> [u8; 8] {
    b[16..24].try_into().unwrap()
}

const ACC_B: u64 = 0x183d_67c2_1fe0_f86b;

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn flipped_byte_in_a_record_is_501_with_position() {
    let Some(c) = corpus() else { return };
    let d = tempfile::tempdir().unwrap();
    let mut b = real_log(&c);
    b[2 * 4096 + 0x23E + 20] ^= 0xFF; // inside the Insert at (0x1,2,23E)
    let f = d.path().join("edb.log");
    std::fs::write(&f, &b).unwrap();
    let (code, v) = json(&["ml", s(&f), "--json"]);
    assert_eq!(code, 1);
    assert_eq!(v["integrity"]["error"]["jet_code"], -501);
    assert_eq!(v["integrity"]["error"]["offset"], 2 * 4096);
    assert_eq!(v["integrity"]["last_lgpos"]["sector"], 2);
    let (code, out, _) = run(&["/ml", s(&f)]);
    assert_eq!(code, 1);
    assert!(
        out.contains("ERROR: Log damaged (unusable). Last Lgpos: (0x1,2,0). Error -501."),
        "{out}"
    );
    assert!(
        out.contains("Operation terminated with error -501 (JET_errLogFileCorrupt"),
        "{out}"
    );
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn unknown_record_type_in_a_valid_segment_is_501() {
    let Some(c) = corpus() else { return };
    let d = tempfile::tempdir().unwrap();
    let mut b = real_log(&c);
    b[2 * 4096 + 0x23E] = 102; // lrtypMax, then re-seal the segment
    seal_page(&mut b[2 * 4096..3 * 4096], 2);
    let f = d.path().join("edb.log");
    std::fs::write(&f, &b).unwrap();
    let (code, v) = json(&["ml", s(&f), "--json"]);
    assert_eq!(code, 1);
    let e = &v["integrity"]["error"];
    assert_eq!(e["jet_code"], -501);
    assert_eq!(e["offset"], 2 * 4096 + 0x23E);
    assert!(e["detail"].as_str().unwrap().contains("(0x1,2,23E)"), "{e}");
    assert_eq!(v["integrity"]["walk_matches_end"], false);
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn truncated_log_is_541() {
    let Some(c) = corpus() else { return };
    let d = tempfile::tempdir().unwrap();
    let b = real_log(&c);
    let f = d.path().join("edb.log");
    std::fs::write(&f, &b[..10 * 4096 + 1000]).unwrap();
    let (code, v) = json(&["ml", s(&f), "--json"]);
    assert_eq!(code, 1);
    assert_eq!(v["integrity"]["error"]["jet_code"], -541);
    // Truncated inside the written data: the segment scan fails there too.
    let scan = &v["integrity"]["scan"];
    assert_eq!(scan["outcome"]["verdict"], "corrupt", "{scan}");
    assert_eq!(scan["outcome"]["segment"], 10);
}

/// Writes gen 1 (the real log) as edb00001.log and a re-sealed copy as the
/// next generations.
fn make_set(c: &Path, dir: &Path, next: &[(&str, u32, bool, u64)]) {
    let b1 = real_log(c);
    std::fs::write(dir.join("edb00001.log"), &b1).unwrap();
    for (name, gen, good_time, acc) in next {
        let mut b = b1.clone();
        let t = if *good_time { create_time(&b1) } else { [0; 8] };
        reseal(&mut b, *gen, Some(t), Some(*acc));
        std::fs::write(dir.join(name), &b).unwrap();
    }
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn good_two_generation_set() {
    let Some(c) = corpus() else { return };
    let d = tempfile::tempdir().unwrap();
    make_set(&c, d.path(), &[("edb.log", 2, true, ACC_B)]);
    let (code, out, _) = run(&["/ml", s(&d.path().join("edb"))]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("edb00001.log - OK"));
    assert!(out.contains("edb.log - OK"));
    assert!(out.contains("No damaged log files were found."));
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn sequence_errors_515_590_528_513() {
    let Some(c) = corpus() else { return };
    let d = tempfile::tempdir().unwrap();
    make_set(&c, d.path(), &[("edb00002.log", 2, false, 0x1234)]);
    let (code, v) = json(&["ml", s(&d.path().join("edb")), "--json"]);
    assert_eq!(code, 1);
    let codes: Vec<i64> = v["files"][1]["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["jet"]["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [-515, -590]);
    // No current log: -528.
    assert_eq!(v["missing"][0]["jet"]["code"], -528);
    assert_eq!(v["missing"][0]["message"], "Missing log file: edb.log");

    let d = tempfile::tempdir().unwrap();
    make_set(
        &c,
        d.path(),
        &[
            ("edb00003.log", 3, true, ACC_B),
            ("edb00007.log", 6, true, ACC_B),
            ("edb.log", 8, true, ACC_B),
        ],
    );
    let (code, out, _) = run(&["/ml", s(&d.path().join("edb")), "/o"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("      Missing log file: edb00002.log\n"),
        "{out}"
    );
    assert!(
        out.contains("      Missing log files: edb{00004 - 00006}.log\n"),
        "{out}"
    );
    assert!(out.contains("ERROR: Mismatched log generation 6 (0x6) with log file name. Expected generation 7 (0x7)."), "{out}");
    assert!(
        out.contains("Operation terminated with error -528"),
        "{out}"
    );
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn other_signature_is_530() {
    let Some(c) = corpus() else { return };
    let d = tempfile::tempdir().unwrap();
    let b1 = real_log(&c);
    std::fs::write(d.path().join("edb00001.log"), &b1).unwrap();
    // Generation 2 from the other corpus folder: another stream signature.
    let mut b2 = std::fs::read(c.join("secedit-logs-a/edb.log")).unwrap();
    reseal(&mut b2, 2, Some(create_time(&b1)), Some(ACC_B));
    std::fs::write(d.path().join("edb.log"), &b2).unwrap();
    let (code, out, _) = run(&["/ml", s(d.path()), "/o"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(
            "ERROR: Invalid log signature: Create time:09/09/2025 11:08:17.854 Rand:3958749024"
        ),
        "{out}"
    );
    assert!(
        out.contains("Expected signature: Create time:06/26/2024 17:34:23.234 Rand:3369478985"),
        "{out}"
    );
    assert!(out.contains("(Error -530)"), "{out}");
}

#[test]
fn missing_target_and_bad_range() {
    let (code, _, err) = run(&["ml", "/nonexistent/dir/xyz.log"]);
    assert_eq!(code, 3, "{err}");
    let (code, _, _) = run(&["ml", ".", "--range", "zz-1"]);
    assert_eq!(code, 2);
}
