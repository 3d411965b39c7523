//! `/cc` hard recovery, built from the one real log generation of
//! `secedit-logs-b`: the "full backup" is the database as flushed at a log
//! position inside edb.log (soft recovery stopped there, open transactions
//! left as they were), marked as a streaming backup copy (bkinfoFullCur
//! genLow = genHigh = 1, mark = that position, Dirty Shutdown, both header
//! copies re-sealed); the restore folder holds it, edb.log renamed
//! `edb00000001.log` (the restored generation) and a restore.env in the
//! Exchange 2007+ tagged format. Skipped with a note when the corpus is absent.

mod common;

use std::path::Path;

use eseutil::checksum::seal_header;
use eseutil::parse::primitives::Lgpos;
use serde_json::Value;

use common::{logs_b, put_lgpos};

fn opts(logs: &Path, out: &Path, stop: Option<Lgpos>) -> eseutil::recovery::Options {
    eseutil::recovery::Options {
        stop_at: stop,
        skip_undo: stop.is_some(),
        ..common::log_only_opts(logs, out)
    }
}

fn env_text(edb: &str) -> String {
    format!(
        "<DATABASE_RESTORE_ENVIRONMENT>\r\n  <VERSION_STAMP>1.0</VERSION_STAMP>\r\n  \
         <DATABASE_GUID_ORIGINAL>{{A2CFF078-782F-4BFE-9443-4BFEA1B46055}}</DATABASE_GUID_ORIGINAL>\r\n  \
         <EDB_LOCATION_ORIGINAL>C:\\Windows\\security\\Database</EDB_LOCATION_ORIGINAL>\r\n  \
         <EDB_FILENAME_ORIGINAL>{edb}</EDB_FILENAME_ORIGINAL>\r\n  \
         <LOG_BASE_NAME>edb</LOG_BASE_NAME>\r\n  \
         <LOG_PATH_ORIGINAL>C:\\Windows\\security\\logs</LOG_PATH_ORIGINAL>\r\n\
         </DATABASE_RESTORE_ENVIRONMENT>\r\n"
    )
}

/// Both header copies re-sealed after `f` changed the primary.
fn edit_header(db: &mut [u8], f: impl Fn(&mut [u8])) {
    f(&mut db[..4096]);
    seal_header(&mut db[..4096]);
    let h = db[..4096].to_vec();
    db[4096..8192].copy_from_slice(&h);
}

/// The database as flushed at record `idx` of edb.log.
fn db_at(logs: &Path, tmp: &Path, idx: usize) -> (Vec<u8>, Lgpos) {
    let c = eseutil::log::set::check_file(&logs.join("edb.log")).unwrap();
    let at = c.walk.unwrap().records[idx].lgpos;
    let out = tmp.join(format!("at{idx}"));
    let r = eseutil::recovery::recover(&opts(logs, &out, Some(at))).unwrap();
    assert!(r.error.is_none(), "{:?}", r.error);
    (std::fs::read(out.join("secedit.sdb")).unwrap(), at)
}

/// Marks `db` as a streaming backup copy of generation 1 taken at `mark`
/// (genHigh 1 in the header, or 0 when a trailer page will carry it).
fn as_backup(db: &mut [u8], mark: Lgpos, gen_high: u32) {
    edit_header(db, |h| {
        put_lgpos(h, 184, mark);
        h[200..204].copy_from_slice(&1u32.to_le_bytes());
        h[204..208].copy_from_slice(&gen_high.to_le_bytes());
        h[52..56].copy_from_slice(&2u32.to_le_bytes()); // Dirty Shutdown
        h[296..300].copy_from_slice(&1u32.to_le_bytes());
        h[300..304].copy_from_slice(&1u32.to_le_bytes());
    });
}

/// The restore folder: database, restored log, restore.env.
fn restore_folder(logs: &Path, dir: &Path, db: &[u8], edb_name: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("secedit.sdb"), db).unwrap();
    std::fs::copy(logs.join("edb.log"), dir.join("edb00000001.log")).unwrap();
    std::fs::write(dir.join("restore.env"), env_text(edb_name)).unwrap();
}

fn cc(args: &[&Path], extra: &[&str]) -> (i32, Value, String) {
    let mut a: Vec<std::ffi::OsString> = vec!["/cc".into()];
    a.extend(args.iter().map(|p| p.as_os_str().to_owned()));
    a.extend(extra.iter().map(Into::into));
    a.push("--json".into());
    let r = common::run(&a);
    let v = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
    (r.code, v, r.stderr)
}

fn hashes(dir: &Path) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), common::sha256_file(&p)))
        .collect();
    v.sort();
    v
}

/// A log generation fabricated from edb.log: generation `gen`, following
/// `prev` (create time), optionally of another stream. The re-sealed copy
/// keeps generation 1 in its segment headers, so it reads as an empty log.
fn fab_log(logs: &Path, gen: u32, prev: &[u8], other_stream: bool, contiguous: bool) -> Vec<u8> {
    let mut b = std::fs::read(logs.join("edb.log")).unwrap();
    b[4..8].copy_from_slice(&gen.to_le_bytes());
    b[16] = b[16].wrapping_add(gen as u8);
    if contiguous {
        b[24..32].copy_from_slice(&prev[16..24]);
    }
    if other_stream {
        b[44] ^= 0x5A;
    }
    b[653..661].copy_from_slice(&0u64.to_le_bytes());
    seal_header(&mut b[..4096]);
    b
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn hard_recovery_of_a_backup_copy_equals_the_rebuild() {
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let reference = t.join("ref");
    eseutil::recovery::recover(&opts(&logs, &reference, None)).unwrap();
    let good = std::fs::read(reference.join("secedit.sdb")).unwrap();
    let corpus_before = hashes(&logs);
    for (n, idx) in [300usize, 1200, 2400].into_iter().enumerate() {
        let (mut db, mark) = db_at(&logs, t, idx);
        as_backup(&mut db, mark, 1);
        let rdir = t.join(format!("restore{n}"));
        restore_folder(
            &logs,
            &rdir,
            &db,
            "C:\\Windows\\security\\Database\\secedit.sdb",
        );
        let before = hashes(&rdir);
        let out = t.join(format!("out{n}"));
        let (code, v, err) = cc(
            &[&rdir],
            &["--output", out.to_str().unwrap(), "/k", "/tFirst"],
        );
        assert_eq!(code, 0, "{v:#} {err}");
        assert_eq!(v["mode"], "cc");
        assert_eq!(v["target_instance"], "First");
        assert_eq!(v["restored_generations"], serde_json::json!([1, 1]));
        assert_eq!(v["backups"][0]["kind"], "streaming");
        assert!(v["recovery"]["error"].is_null());
        assert_eq!(v["recovery"]["verification"]["passed"], true);
        // Byte-identical, header pages included: the backup-history fields
        // are cleared and the finishing is the same as the rebuild's.
        let got = std::fs::read(out.join("secedit.sdb")).unwrap();
        assert!(
            got == good,
            "record {idx}: /cc result differs from the /r rebuild"
        );
        assert!(
            v["recovery"]["stats"]["pages_already_applied"]
                .as_u64()
                .unwrap()
                > 0
                || idx < 400
        );
        assert_eq!(hashes(&rdir), before, "restore folder changed");
        for i in v["recovery"]["inputs"].as_array().unwrap() {
            assert_eq!(i["unchanged"], true, "{i}");
        }
        let db_out = out.join("secedit.sdb");
        assert_eq!(
            common::run(&[std::ffi::OsStr::new("/k"), db_out.as_os_str()]).code,
            0
        );
        assert_eq!(
            common::run(&[std::ffi::OsStr::new("/g"), db_out.as_os_str()]).code,
            0
        );
        let mh = common::run(&[std::ffi::OsStr::new("/mh"), db_out.as_os_str()]);
        assert!(mh.stdout.contains("Clean Shutdown"), "{}", mh.stdout);
        assert_eq!(
            common::run(&[std::ffi::OsStr::new("/cm"), rdir.as_os_str()]).code,
            0
        );
    }
    assert_eq!(hashes(&logs), corpus_before, "corpus changed");
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn play_forward_trailer_and_explicit_paths() {
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let reference = t.join("ref");
    eseutil::recovery::recover(&opts(&logs, &reference, None)).unwrap();
    let good = std::fs::read(reference.join("secedit.sdb")).unwrap();
    let (mut db, mark) = db_at(&logs, t, 1000);
    as_backup(&mut db, mark, 1);
    let rdir = t.join("restore");
    restore_folder(&logs, &rdir, &db, "secedit.sdb");
    // /f = an empty folder, and /f = the corpus folder (its edb.log is
    // generation 1, already restored): nothing more to replay.
    let empty = t.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    for (i, pf) in [&empty, &logs].into_iter().enumerate() {
        let out = t.join(format!("pf{i}"));
        let (code, v, err) = cc(
            &[&rdir],
            &[
                "/f",
                pf.to_str().unwrap(),
                "--output",
                out.to_str().unwrap(),
            ],
        );
        assert_eq!(code, 0, "{v:#} {err}");
        assert_eq!(v["play_forward_generations"], serde_json::json!([]));
        assert!(std::fs::read(out.join("secedit.sdb")).unwrap() == good);
    }
    // /f = a folder whose current log is a fabricated (empty) generation 2
    // continuing the restored one: it is checked and walked after it.
    let pf = t.join("pf");
    std::fs::create_dir_all(&pf).unwrap();
    let g1 = std::fs::read(logs.join("edb.log")).unwrap();
    std::fs::write(pf.join("edb.log"), fab_log(&logs, 2, &g1, false, true)).unwrap();
    let out = t.join("pf2");
    let (code, v, err) = cc(
        &[&rdir],
        &[
            "/f",
            pf.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{v:#} {err}");
    assert_eq!(v["play_forward_generations"], serde_json::json!([2]));
    assert_eq!(v["recovery"]["generations"], serde_json::json!([1, 2]));
    assert!(std::fs::read(out.join("secedit.sdb")).unwrap() == good);
    // A gap in the play-forward folder: generation 4 archived without 3.
    std::fs::write(
        pf.join("edb00000004.log"),
        fab_log(&logs, 4, &g1, false, true),
    )
    .unwrap();
    std::fs::write(
        pf.join("edb00000002.log"),
        fab_log(&logs, 2, &g1, false, true),
    )
    .unwrap();
    let (code, _, err) = cc(
        &[&rdir],
        &[
            "/f",
            pf.to_str().unwrap(),
            "--output",
            t.join("x").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("-565"), "{err}");

    // Trailer page: genHigh 0 in the header, the final state in a PATCHHDR
    // appended as the last page. The result is page-identical to the
    // rebuild: the same bytes, plus the trailer page zeroed at the end
    // (ErrDBTryToZeroDBTrailer keeps the file length).
    let (mut db, mark) = db_at(&logs, t, 1000);
    as_backup(&mut db, mark, 0);
    let mut trailer = vec![0u8; 4096];
    trailer[40..64].copy_from_slice(&db[184..208]);
    trailer[60..64].copy_from_slice(&1u32.to_le_bytes());
    trailer[64..92].copy_from_slice(&db[24..52]);
    trailer[92..120].copy_from_slice(&db[108..136]);
    seal_header(&mut trailer);
    db.extend_from_slice(&trailer);
    let tdir = t.join("trailer");
    std::fs::create_dir_all(&tdir).unwrap();
    std::fs::write(tdir.join("backup.sdb"), &db).unwrap();
    std::fs::copy(logs.join("edb.log"), tdir.join("edb00000001.log")).unwrap();
    // Explicit paths (no restore.env): the copy is found by signature in
    // the logs (CreateDB of secedit.sdb), whatever its own file name.
    let out = t.join("tr");
    let dbp = tdir.join("backup.sdb");
    let (code, v, err) = cc(
        &[&tdir],
        &[
            "--database",
            dbp.to_str().unwrap(),
            "--output",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{v:#} {err}");
    assert_eq!(v["backups"][0]["from_trailer"], true);
    assert_eq!(v["backups"][0]["gen_high"], 1);
    let got = std::fs::read(out.join("secedit.sdb")).unwrap();
    assert_eq!(got.len(), good.len() + 4096);
    assert!(got[..good.len()] == good[..]);
    assert!(got[good.len()..].iter().all(|&b| b == 0));
    // A damaged trailer: -535.
    let mut bad = db.clone();
    let n = bad.len();
    bad[n - 100] ^= 1;
    std::fs::write(&dbp, &bad).unwrap();
    let (code, _, err) = cc(
        &[&tdir],
        &[
            "--database",
            dbp.to_str().unwrap(),
            "--output",
            t.join("y").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("-535"), "{err}");
    // A log file given as the database: said to be a log, exit 4.
    let (code, _, err) = cc(
        &[&tdir],
        &[
            "--database",
            tdir.join("edb00000001.log").to_str().unwrap(),
            "--output",
            t.join("z").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains("not a database") && err.contains("-1812"),
        "{err}"
    );
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn refusals() {
    let Some(logs) = logs_b() else {
        eprintln!("corpus absent: skipped");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (plain, mark) = db_at(&logs, t, 1000);
    let mut backup = plain.clone();
    as_backup(&mut backup, mark, 1);
    let out = t.join("out");
    let o = out.to_str().unwrap();
    // Traversal and absolute paths in restore.env: usage error, nothing written.
    for name in [
        "..\\..\\etc",
        "/etc/passwd",
        "\\\\server\\share\\secedit.sdb",
    ] {
        let d = t.join("trav");
        restore_folder(&logs, &d, &backup, name);
        let (code, _, err) = cc(&[&d], &["--output", o]);
        assert_eq!(code, 2, "{name}: {err}");
        assert!(err.contains("refused"), "{err}");
        assert!(!out.exists());
    }
    // Binary (Exchange 2000/2003) restore.env: unsupported, exit 4, with
    // the explicit-path advice.
    let d = t.join("bin");
    restore_folder(&logs, &d, &backup, "secedit.sdb");
    std::fs::write(d.join("restore.env"), [1u8, 0, 2, 0, 0x10, 0x20, 0, 5]).unwrap();
    let (code, _, err) = cc(&[&d], &["--output", o]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("--database FILE"), "{err}");
    // Not a backup copy: -615.
    let d = t.join("plain");
    restore_folder(&logs, &d, &plain, "secedit.sdb");
    let (code, _, err) = cc(&[&d], &["--output", o]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("-615"), "{err}");
    // Backup needing generation 2 with only generation 1 restored: -553.
    let mut high = backup.clone();
    edit_header(&mut high, |h| {
        h[204..208].copy_from_slice(&2u32.to_le_bytes())
    });
    let d = t.join("high");
    restore_folder(&logs, &d, &high, "secedit.sdb");
    let (code, _, err) = cc(&[&d], &["--output", o]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("-553"), "{err}");
    // A backup copy of another database (signDb no restored log knows): -539.
    let mut other = backup.clone();
    edit_header(&mut other, |h| h[24] ^= 0x5A);
    let d = t.join("other");
    restore_folder(&logs, &d, &other, "secedit.sdb");
    let (code, _, err) = cc(&[&d], &["--output", o]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("-539"), "{err}");
    // Restored set problems (fabricated generations next to generation 1).
    let g1 = std::fs::read(logs.join("edb.log")).unwrap();
    for (name, log, gen, code_text) in [
        ("sig", fab_log(&logs, 2, &g1, true, true), 2u32, "-555"),
        ("contig", fab_log(&logs, 2, &g1, false, false), 2, "-556"),
        ("gap", fab_log(&logs, 3, &g1, false, true), 3, "-557"),
    ] {
        let d = t.join(name);
        restore_folder(&logs, &d, &backup, "secedit.sdb");
        std::fs::write(d.join(format!("edb{gen:08X}.log")), log).unwrap();
        let (code, _, err) = cc(&[&d], &["--output", o]);
        assert_eq!(code, 5, "{name}: {err}");
        assert!(err.contains(code_text), "{name}: {err}");
    }
    assert!(!out.exists(), "nothing is written before the checks pass");
}
