//! Integration tests of `/k` (issue #3): corpus verdicts against
//! `facts.jsonl`, exhaustive single-bit location and `--fix-ecc`, logs and
//! checkpoints, read-only inputs.
//!
//! The corpus is `$ESEUTIL_CORPUS` or `../shared/corpus`; corpus tests print
//! a note and pass when it is absent (tests/common: a failure under `CI`).

mod common;

use std::process::{Command, Output};

use eseutil::checksum_scan::{classify_page, synth, Verdict};
use serde_json::Value;

use common::{corpus, facts, sha256_file as sha};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_eseutil-rs"))
}

fn k_json(args: &[&str]) -> (Value, Output) {
    let out = bin().arg("k").args(args).arg("--json").output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out)
}

// ---------------------------------------------------------------- acceptance 1

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn corpus_databases_match_facts() {
    let Some(c) = corpus() else { return };
    let mut n = 0;
    for f in facts(&c) {
        let Some(pages) = f["facts"].get("pages").filter(|p| p.is_object()) else {
            continue;
        };
        let file = c.join(f["file"].as_str().unwrap());
        let (v, out) = k_json(&[file.to_str().unwrap()]);
        let d = &v["files"][0];
        let s = &d["summary"];
        let st = &pages["status"];
        let name = f["file"].as_str().unwrap();
        // ok in facts counts data pages; ours includes the two header pages.
        assert_eq!(
            s["ok"].as_u64().unwrap(),
            st["ok"].as_u64().unwrap() + 2,
            "{name}"
        );
        assert_eq!(s["bad_checksums"], st["bad"], "{name}");
        assert_eq!(s["uninitialized_pages"], st["uninitialized"], "{name}");
        // The backup trailer page of a streaming-backup copy: its own category.
        assert_eq!(
            s["trailer_pages"].as_u64(),
            Some(st["trailer"].as_u64().unwrap_or(0)),
            "{name}"
        );
        let failed: Vec<i64> = d["damaged_pages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["verdict"] != "correctable")
            .map(|p| p["page"].as_i64().unwrap())
            .collect();
        let first: Vec<i64> = pages["first_bad_pgnos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_i64().unwrap())
            .collect();
        assert_eq!(failed.len() as u64, st["bad"].as_u64().unwrap(), "{name}");
        assert_eq!(&failed[..first.len()], &first[..], "{name}");
        let expect_exit = if st["bad"].as_u64().unwrap() > 0 {
            1
        } else {
            0
        };
        assert_eq!(out.status.code(), Some(expect_exit), "{name}");
        n += 1;
    }
    assert!(n >= 30, "only {n} databases in facts");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn srudb_foreign_pages_are_not_ese_pages() {
    let Some(c) = corpus() else { return };
    let f = c.join("dissect-esedb/SRUDB.dat");
    let (v, out) = k_json(&[f.to_str().unwrap()]);
    let d = v["files"][0]["damaged_pages"].as_array().unwrap();
    let pages: Vec<i64> = d.iter().map(|p| p["page"].as_i64().unwrap()).collect();
    assert_eq!(pages, (143..=158).collect::<Vec<_>>());
    assert!(d.iter().all(|p| p["verdict"] == "not_ese_page"), "{d:?}");
    assert_eq!(v["files"][0]["summary"]["not_ese_pages"], 16);
    // text mode: eseutil's messages on stderr, summary and trailer on stdout
    let out2 = bin().args(["/k", f.to_str().unwrap()]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out2.stderr);
    let stdout = String::from_utf8_lossy(&out2.stdout);
    assert!(stderr.contains("ERROR: page 143 checksum failed\n"));
    assert!(stderr.contains("not an ESE page"));
    assert!(stdout.contains("\n160 pages seen\n16 bad checksums\n0 correctable checksums\n63 uninitialized pages\n0 wrong page numbers\n"));
    assert!(stdout.contains("Operation terminated with error -1018 (JET_errReadVerifyFailure"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(out2.status.code(), Some(1));
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn webcache_dirty_torn_pages_are_reported() {
    let Some(c) = corpus() else { return };
    let f = c.join("dissect-target/webcache-dirty/WebCacheV01.dat");
    let (v, _) = k_json(&[f.to_str().unwrap()]);
    let d = v["files"][0]["damaged_pages"].as_array().unwrap();
    assert_eq!(d.len(), 36);
    let torn = d
        .iter()
        .filter(|p| p["note"].as_str().is_some_and(|n| n.contains("torn")))
        .count();
    assert!(torn >= 5, "{torn}");
}

// ---------------------------------------------------------------- acceptance 2

fn flip(p: &mut [u8], bit: usize) {
    p[bit / 8] ^= 1 << (bit % 8);
}

/// Flips bits of `page` (logical `pgno`) and checks every flip is located
/// exactly, or bad where the engine cannot correct (stored checksum, flag).
fn check_flips(page: &[u8], pgno: u32, stride: usize) {
    let ps = page.len();
    let phys = pgno as u64 + 2;
    let base = (phys - 1) * ps as u64;
    let ecc = u32::from_le_bytes(page[36..40].try_into().unwrap()) & 0x2000 != 0;
    let mut p = page.to_vec();
    for bit in (0..ps * 8).step_by(stride) {
        flip(&mut p, bit);
        let r = classify_page(&p, phys, phys + 10, false);
        let uncorrectable = !ecc || bit < 64 || bit == 301;
        match r.verdict {
            Verdict::Correctable {
                byte_offset,
                bit: b,
                page_bit,
                ..
            } if !uncorrectable => {
                assert_eq!(page_bit as usize, bit, "ps {ps}");
                assert_eq!(byte_offset, base + (bit / 8) as u64);
                assert_eq!(b as usize, bit % 8);
                let mut fixed = p.clone();
                assert!(eseutil::checksum::apply_correction(
                    &mut fixed, pgno, page_bit
                ));
                assert_eq!(fixed, page, "ps {ps} bit {bit}");
            }
            ref v if uncorrectable => assert!(r.verdict.is_failure(), "ps {ps} bit {bit}: {v:?}"),
            ref v => panic!("ps {ps} ecc {ecc} bit {bit}: {v:?}"),
        }
        flip(&mut p, bit);
    }
}

#[test]
fn every_single_flip_is_located_synthetic() {
    for (ps, stride) in [(4096usize, 1usize), (8192, 3), (16384, 7), (32768, 13)] {
        let page = synth::data_page(ps, 77, 5, true);
        check_flips(&page, 77, stride);
        let page = synth::data_page(ps, 77, 5, false);
        check_flips(&page, 77, stride * 11);
    }
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn every_single_flip_is_located_corpus() {
    let Some(c) = corpus() else { return };
    for (file, ps, pgno, stride) in [
        ("dissect-esedb/basic.edb", 4096usize, 5u32, 1usize),
        ("ese-parser/decompress_test.edb", 8192, 3, 3),
        ("go-ese/Samples/qmgr.db", 16384, 10, 7),
        ("dissect-esedb/large.edb", 32768, 20, 13),
    ] {
        let b = std::fs::read(c.join(file)).unwrap();
        let off = (pgno as usize + 1) * ps;
        let page = &b[off..off + ps];
        assert_eq!(
            classify_page(page, pgno as u64 + 2, 1 << 20, false).verdict,
            Verdict::Ok
        );
        check_flips(page, pgno, stride);
    }
}

fn synthetic_db(ps: usize, npages: u32, ecc: bool) -> Vec<u8> {
    let mut f = synth::header(ps);
    f.extend(synth::header(ps));
    for pg in 1..=npages {
        if pg % 4 == 0 {
            f.extend(vec![0u8; ps]);
        } else {
            f.extend(synth::data_page(ps, pg, pg as u64, ecc));
        }
    }
    f
}

#[test]
fn fix_ecc_restores_original_bytes_and_double_flips_are_bad() {
    let dir = tempfile::tempdir().unwrap();
    for ps in [4096usize, 8192, 16384, 32768] {
        let orig = synthetic_db(ps, 12, true);
        let mut bad = orig.clone();
        // one flip in pages 1, 2, 3 (different blocks), bits chosen across the page
        let flips = [(1u32, 64 + 9), (2, ps * 4 + 5), (3, ps * 8 - 1)];
        for (pg, bit) in flips {
            flip(&mut bad, (pg as usize + 1) * ps * 8 + bit);
        }
        let input = dir.path().join(format!("in{ps}.edb"));
        std::fs::write(&input, &bad).unwrap();
        let out_path = dir.path().join(format!("out{ps}.edb"));
        let (v, out) = k_json(&[
            input.to_str().unwrap(),
            "--fix-ecc",
            "--output",
            out_path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{v}");
        let d = &v["files"][0];
        assert_eq!(d["summary"]["correctable_checksums"], 3);
        for (i, (pg, bit)) in flips.iter().enumerate() {
            let p = &d["damaged_pages"][i];
            assert_eq!(p["page"], *pg as i64);
            assert_eq!(
                p["byte_offset"].as_u64().unwrap() as usize,
                (*pg as usize + 1) * ps + bit / 8
            );
            assert_eq!(p["bit"].as_u64().unwrap() as usize, bit % 8);
        }
        assert_eq!(d["fix"]["fixes"].as_array().unwrap().len(), 3);
        assert_eq!(std::fs::read(&out_path).unwrap(), orig, "ps {ps}");
        assert_eq!(std::fs::read(&input).unwrap(), bad, "input untouched");
        // two flips in one block: uncorrectable
        let mut two = orig.clone();
        flip(&mut two, (5 * ps + 100) * 8 + 1);
        flip(&mut two, (5 * ps + 900) * 8 + 6);
        std::fs::write(&input, &two).unwrap();
        let (v, out) = k_json(&[input.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1));
        let p = &v["files"][0]["damaged_pages"][0];
        assert_eq!(p["page"], 4);
        assert_eq!(p["verdict"], "bad");
    }
}

#[test]
fn wrong_page_number_and_single_page() {
    let dir = tempfile::tempdir().unwrap();
    let ps = 8192;
    let mut f = synthetic_db(ps, 10, true);
    // copy page 5 over page 7
    let p5 = f[6 * ps..7 * ps].to_vec();
    f[8 * ps..9 * ps].copy_from_slice(&p5);
    let input = dir.path().join("moved.edb");
    std::fs::write(&input, &f).unwrap();
    let (v, out) = k_json(&[input.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let p = &v["files"][0]["damaged_pages"][0];
    assert_eq!(p["page"], 7);
    assert_eq!(p["verdict"], "wrong_page_number");
    assert_eq!(p["actual_pgno"], 5);
    assert_eq!(v["files"][0]["summary"]["bad_checksums"], 1);
    // eseutil syntax: /k FILE /p5 checks one page
    let out = bin()
        .args(["/k", input.to_str().unwrap(), "/p5", "--json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"][0]["summary"]["pages_seen"], 1);
    assert_eq!(out.status.code(), Some(0));
    let out = bin()
        .args(["/k", input.to_str().unwrap(), "/p7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ERROR: page 7 checksum failed"));
}

// ---------------------------------------------------------------- acceptance 3

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn corpus_logs_and_checkpoints_verify() {
    let Some(c) = corpus() else { return };
    let (mut logs, mut ckpts) = (0, 0);
    for f in facts(&c) {
        let name = f["file"].as_str().unwrap();
        let facts = &f["facts"];
        let path = c.join(name);
        if facts["filetype_name"] == "Log" && facts["format"]["major"] == 8 {
            let (v, out) = k_json(&[path.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(0), "{name}");
            let i = &v["files"][0]["integrity"];
            assert_eq!(i["verdict"], "clean", "{name}");
            assert_eq!(i["header_ok"], true);
            let scan = &facts["log_scan"];
            assert_eq!(i["good_segments"], scan["segments_valid"], "{name}");
            assert_eq!(
                i["accumulated_checksum"].as_str().unwrap(),
                format!(
                    "0x{}",
                    scan["accumulated_segment_checksum"].as_str().unwrap()
                )
            );
            // scanned = every segment but the header and the last
            assert_eq!(
                i["segments_scanned"].as_u64().unwrap(),
                facts["csec_lg_file"].as_u64().unwrap() - 2
            );
            logs += 1;
        } else if facts["filetype_name"] == "Checkpoint" {
            let (v, out) = k_json(&[path.to_str().unwrap()]);
            assert_eq!(out.status.code(), Some(0), "{name}");
            let d = &v["files"][0];
            assert_eq!(d["kind"], "checkpoint");
            assert_eq!(d["primary"]["ok"], true);
            assert_eq!(d["shadow"]["ok"], true);
            assert_eq!(d["copies_identical"], true);
            ckpts += 1;
        }
    }
    assert!(logs >= 2 && ckpts >= 4, "{logs} logs, {ckpts} checkpoints");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn flipped_bit_in_log_is_reported_at_its_position() {
    let Some(c) = corpus() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut b = std::fs::read(c.join("secedit-logs-b/edb.log")).unwrap();
    let seg = 10usize;
    b[seg * 4096 + 1234] ^= 1 << 3;
    let p = dir.path().join("edb.log");
    std::fs::write(&p, &b).unwrap();
    let (v, out) = k_json(&[p.to_str().unwrap()]);
    let i = &v["files"][0]["integrity"];
    assert_eq!(i["corrected_segments"], 1);
    assert_eq!(i["segments"][0]["lgpos"], "(0x1,A,4D2)");
    assert_eq!(i["segments"][0]["corrected_bit"], 3);
    assert_eq!(out.status.code(), Some(0));
    let text = bin().args(["/k", p.to_str().unwrap()]).output().unwrap();
    assert!(String::from_utf8_lossy(&text.stderr).contains("log position (0x1,A,4D2)"));
    // a second flip in the same segment: corrupt at (gen, 10, 0)
    b[seg * 4096 + 3000] ^= 1;
    std::fs::write(&p, &b).unwrap();
    let (v, out) = k_json(&[p.to_str().unwrap()]);
    let i = &v["files"][0]["integrity"];
    assert_eq!(i["verdict"], "corrupt");
    assert_eq!(i["first_damage"], "(0x1,A,0)");
    assert_eq!(out.status.code(), Some(1));
}

/// A log far larger than its header says (an 8 GiB sparse file whose header
/// says 1 MiB): `/k` and `/ml` read only the legitimate 1 MiB, report -541
/// from the real length, and finish fast under a 512 MiB address-space
/// limit (reading the whole file would need 8 GiB).
#[cfg(unix)]
#[test]
fn oversized_sparse_log_is_541_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("edb.log");
    let mut log = eseutil::synth::log_header(1); // csecLGFile 256 × 4096
    log.resize(256 * 4096, 0);
    std::fs::write(&p, &log).unwrap();
    let big = 8u64 << 30;
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(big)
        .unwrap();
    let limited = |args: &[&str]| {
        let t = std::time::Instant::now();
        let out = Command::new("sh")
            .arg("-c")
            .arg("ulimit -v 524288 && exec \"$0\" \"$@\"")
            .arg(env!("CARGO_BIN_EXE_eseutil-rs"))
            .args(args)
            .output()
            .unwrap();
        assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
        out
    };
    let path = p.to_str().unwrap();
    let out = limited(&["k", path, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["files"][0];
    assert_eq!(f["file_size"], big);
    let i = &f["integrity"];
    assert_eq!(i["error"]["jet_code"], -541, "{i}");
    assert_eq!(i["error"]["offset"], 256 * 4096);
    assert_eq!(i["verdict"], "corrupt");
    assert_eq!(i["segments_scanned"], 254);
    let out = limited(&["/k", path]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("-541 JET_errLogFileSizeMismatch"), "{err}");
    let out = limited(&["ml", path, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["integrity"]["error"]["jet_code"], -541, "{v}");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn folder_is_checked_file_by_file() {
    let Some(c) = corpus() else { return };
    let (v, out) = k_json(&[c.join("secedit-logs-a").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{v}");
    let kinds: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"log") && kinds.contains(&"checkpoint") && kinds.contains(&"skipped"));
}

// ---------------------------------------------------------------- read-only

#[cfg(unix)]
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn input_is_opened_read_only() {
    use std::os::unix::fs::PermissionsExt;
    let Some(c) = corpus() else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("SRUDB.dat");
    std::fs::copy(c.join("dissect-esedb/SRUDB.dat"), &p).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o444)).unwrap();
    let before = sha(&p);
    let out = bin().args(["/k", p.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    // refuse to write over the input, refuse --in-place on a read-only file
    let out = bin()
        .args(["k", p.to_str().unwrap(), "--fix-ecc", "--output"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .args(["k", p.to_str().unwrap(), "--fix-ecc", "--in-place"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = bin()
        .args(["k", p.to_str().unwrap(), "--fix-ecc"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(sha(&p), before);
}

/// The not-an-ESE-page heuristic never fires on a page that verifies: no
/// false positive on any valid page of the corpus.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn heuristic_accepts_every_valid_corpus_page() {
    let Some(c) = corpus() else { return };
    let mut checked = 0u64;
    for f in facts(&c) {
        let Some(ps) = f["facts"]["page_size"].as_u64() else {
            continue;
        };
        if !f["facts"].get("pages").is_some_and(|p| p.is_object()) {
            continue;
        }
        let b = std::fs::read(c.join(f["file"].as_str().unwrap())).unwrap();
        let ps = ps as usize;
        let last = (b.len() / ps) as u64;
        for (i, page) in b.chunks_exact(ps).enumerate().skip(2) {
            let phys = i as u64 + 1;
            let r = classify_page(page, phys, last, false);
            if r.verdict == Verdict::Ok && r.role == eseutil::checksum_scan::PageRole::Data {
                assert_eq!(
                    eseutil::checksum_scan::implausible_page_header(page, ps > 8192),
                    None,
                    "{} page {}",
                    f["file"],
                    r.page
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 3000, "{checked}");
}
