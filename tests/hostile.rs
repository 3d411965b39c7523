//! Malformed inputs: every one gives a clear message naming the file, the
//! documented exit status, no panic, and finishes quickly.
//!
//! Exit statuses (man/eseutil-rs.1): 0 ok, 1 damage found, 2 usage,
//! 3 unreadable, 4 not an ESE file / unsupported, 5 corrupt.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::run;
use eseutil::synth::{checkpoint, database, db_header_page, DbSpec};

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Runs a mode on a file and checks the exit status, that stderr names the
/// file, that no panic happened and that it was quick.
fn expect(mode: &str, file: &Path, code: i32, needle: &str) -> common::Run {
    let t = Instant::now();
    let r = run(&[
        std::ffi::OsStr::new(mode),
        file.as_os_str(),
        "--no-logo".as_ref(),
    ]);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "{mode} {file:?} took {:?}",
        t.elapsed()
    );
    assert!(
        !r.stderr.contains("panicked"),
        "{mode} {file:?} panicked: {}",
        r.stderr
    );
    assert_eq!(
        r.code, code,
        "{mode} {file:?}: stdout {} stderr {}",
        r.stdout, r.stderr
    );
    if code >= 2 {
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(
            r.stderr.contains(name.as_ref()),
            "stderr does not name the file: {}",
            r.stderr
        );
    }
    assert!(
        r.stderr.contains(needle) || r.stdout.contains(needle),
        "{mode} {file:?}: expected {needle:?} in output\nstdout: {}\nstderr: {}",
        r.stdout,
        r.stderr
    );
    r
}

#[test]
fn empty_and_one_byte_files() {
    let d = tmp();
    for mode in ["mh", "mk", "mp"] {
        expect(
            mode,
            &write(d.path(), "empty.edb", b""),
            4,
            "not an ESE file",
        );
        expect(
            mode,
            &write(d.path(), "one.edb", b"\x01"),
            4,
            "not an ESE file",
        );
    }
}

#[test]
fn missing_file_and_directory() {
    let d = tmp();
    expect(
        "mh",
        &d.path().join("nope.edb"),
        3,
        "-1811 JET_errFileNotFound",
    );
    expect("mh", d.path(), 3, "is a directory");
}

#[test]
fn random_bytes() {
    let d = tmp();
    let mut x = 0x9E37_79B9u32;
    let bytes: Vec<u8> = (0..65536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let p = write(d.path(), "random.bin", &bytes);
    for mode in ["mh", "mk", "mp"] {
        let r = run(&[std::ffi::OsStr::new(mode), p.as_os_str()]);
        assert_eq!(r.code, 4, "{mode}: {}", r.stderr);
        assert!(r.stderr.contains("random.bin") && r.stderr.contains("JET_err"));
    }
}

/// A valid two-copy header truncated at every 64-byte boundary.
#[test]
fn header_truncated_at_every_64_byte_boundary() {
    let d = tmp();
    let full = database(&DbSpec::default(), 2, 1);
    for cut in (0..=2 * 4096).step_by(64) {
        let p = write(d.path(), &format!("cut{cut}.edb"), &full[..cut]);
        let r = run(&[std::ffi::OsStr::new("mh"), p.as_os_str()]);
        assert!(!r.stderr.contains("panicked"), "cut {cut}: {}", r.stderr);
        let expected = match cut {
            0..=7 => 4,       // too short to carry the magic: not an ESE file
            8..=4095 => 5,    // magic present, no whole header page: corrupt (-1206)
            4096..=8191 => 1, // primary verifies, shadow missing: damage found
            _ => 0,           // both copies
        };
        assert_eq!(r.code, expected, "cut {cut}: {} {}", r.stdout, r.stderr);
        if expected == 5 {
            assert!(
                r.stderr.contains("-1206 JET_errDatabaseCorrupted"),
                "cut {cut}: {}",
                r.stderr
            );
        }
        if expected == 1 {
            assert!(
                r.stdout.contains("WARNING: shadow header is missing"),
                "cut {cut}"
            );
        }
    }
}

/// Every byte of the stored checksum of the primary, then of both copies.
#[test]
fn every_checksum_byte_flipped() {
    let d = tmp();
    let good = database(&DbSpec::default(), 2, 1);
    for byte in 0..4 {
        let mut f = good.clone();
        f[byte] ^= 0xFF;
        let p = write(d.path(), &format!("flip{byte}.edb"), &f);
        let r = expect("mh", &p, 1, "WARNING: primary header has a checksum error.");
        assert!(r.stdout.contains("DATABASE SHADOW HEADER:"), "shadow used");
        assert!(r
            .stdout
            .contains("WARNING: primary header and shadow header are not identical."));
        f[4096 + byte] ^= 0xFF;
        let p = write(d.path(), &format!("flipboth{byte}.edb"), &f);
        let r = expect("mh", &p, 5, "-1206 JET_errDatabaseCorrupted");
        assert!(r.stdout.contains("Operation terminated with error -1206"));
    }
    // A checkpoint with one copy damaged still dumps; with both, -533.
    let mut c = checkpoint(3, 7);
    c[1] ^= 0x10;
    let p = write(d.path(), "one.chk", &c);
    expect(
        "mk",
        &p,
        1,
        "WARNING: primary checkpoint has a checksum error.",
    );
    c[4097] ^= 0x10;
    let p = write(d.path(), "both.chk", &c);
    expect("mk", &p, 5, "-533 JET_errCheckpointCorrupt");
}

#[test]
fn wrong_kind_of_file_names_the_right_mode() {
    let d = tmp();
    let db = write(d.path(), "x.edb", &database(&DbSpec::default(), 2, 1));
    let chk = write(d.path(), "x.chk", &checkpoint(1, 2));
    let mut log = eseutil::synth::log_header(1);
    log.resize(256 * 4096, 0);
    let log = write(d.path(), "x.log", &log);
    expect("mk", &db, 4, "use `eseutil-rs /mh");
    expect("mh", &chk, 4, "use `eseutil-rs /mk");
    expect("mh", &log, 4, "use `eseutil-rs /ml");
    expect("mp", &db, 4, "not a flush map");
    let blank = write(d.path(), "edbres00001.jrs", &vec![0u8; 8192]);
    expect("mh", &blank, 4, "blank (all-zero) file");
}

#[test]
fn short_checkpoint_and_page_size_override() {
    let d = tmp();
    let c = checkpoint(1, 2);
    let p = write(d.path(), "short.chk", &c[..4096]);
    expect("mk", &p, 1, "WARNING: shadow checkpoint is missing");
    let p = write(d.path(), "tiny.chk", &c[..1000]);
    expect("mk", &p, 5, "-533 JET_errCheckpointCorrupt");
    let db = write(d.path(), "x.edb", &database(&DbSpec::default(), 2, 1));
    let r = run(&[
        std::ffi::OsStr::new("mh"),
        db.as_os_str(),
        "--page-size".as_ref(),
        "3000".as_ref(),
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn dirty_and_newer_format_is_shown_not_rejected() {
    let d = tmp();
    let spec = DbSpec {
        page_size: 16384,
        state: 2,
        gen_required: (0x1E2E4, 0x1E2E6),
        update: (300, 620),
    };
    let p = write(d.path(), "new.edb", &database(&spec, 2, 1));
    let r = expect("mh", &p, 0, "State: Dirty Shutdown");
    assert!(r
        .stdout
        .contains(" Format ulVersion: 0x620,300,620  (attached by 9180)"));
    assert!(r
        .stdout
        .contains("     Log Required: 123620-123622 (0x1e2e4-0x1e2e6)"));
}

#[test]
fn backup_sections_and_patch_page() {
    let d = tmp();
    let spec = DbSpec::default();
    let mut f = database(&spec, 3, 1);
    // bkinfoFullPrev (@136) from an OS snapshot, bkinfoFullCur (@184) with
    // genLow set and genHigh 0: the final state is in the trailer page.
    let mut h = db_header_page(&spec);
    h[136 + 16..136 + 20].copy_from_slice(&7u32.to_le_bytes());
    h[136 + 20..136 + 24].copy_from_slice(&9u32.to_le_bytes());
    h[356..360].copy_from_slice(&1u32.to_le_bytes());
    h[184..186].copy_from_slice(&0x20u16.to_le_bytes());
    h[188..192].copy_from_slice(&10u32.to_le_bytes());
    h[184 + 16..184 + 20].copy_from_slice(&10u32.to_le_bytes());
    eseutil::checksum::seal_header(&mut h);
    f[..4096].copy_from_slice(&h);
    f[4096..8192].copy_from_slice(&h);
    let last = f.len() - 4096;
    let mut t = vec![0u8; 4096];
    t[40..48].copy_from_slice(&h[184..192]); // same mark
    t[56..60].copy_from_slice(&10u32.to_le_bytes());
    t[60..64].copy_from_slice(&12u32.to_le_bytes());
    t[64..92].copy_from_slice(&h[24..52]); // signDb
    t[92..120].copy_from_slice(&h[108..136]); // signLog
    eseutil::checksum::seal_header(&mut t);
    f[last..].copy_from_slice(&t);
    let p = write(d.path(), "backup.edb", &f);
    let r = expect("mh", &p, 0, "Patch Current Full Backup:");
    assert!(r
        .stdout
        .contains("Previous Full Backup:\n        Log Gen: 7-9 (0x7-0x9) - OSSnapshot\n"));
    assert!(r.stdout.contains("Patch Current Full Backup:\n        Log Gen: 10-12 (0xa-0xc)\n           Mark: (0xA,0,20)\n"));
    // A trailer from another backup: -552, reported as damage.
    f[last + 60] = 13;
    let mut t2 = f[last..].to_vec();
    t2[40] ^= 1;
    eseutil::checksum::seal_header(&mut t2);
    f[last..].copy_from_slice(&t2);
    let p = write(d.path(), "mismatch.edb", &f);
    expect("mh", &p, 1, "-552 JET_errDatabasePatchFileMismatch");
    // A torn trailer: -535.
    f[last + 100] ^= 1;
    let p = write(d.path(), "badtrailer.edb", &f);
    expect("mh", &p, 1, "-535 JET_errBadPatchPage");
}

/// A synthetic 8.x log: a valid header and zero-filled data (no segment
/// written yet), `sectors` long.
fn log_file(sectors: u16) -> Vec<u8> {
    let mut h = eseutil::synth::log_header(1);
    h[12..14].copy_from_slice(&sectors.to_le_bytes());
    eseutil::checksum::seal_header(&mut h);
    h.resize(sectors as usize * 4096, 0);
    h
}

fn reseal_log(mut f: Vec<u8>, edit: impl Fn(&mut [u8])) -> Vec<u8> {
    edit(&mut f[..4096]);
    eseutil::checksum::seal_header(&mut f[..4096]);
    f
}

#[test]
fn malformed_logs() {
    let d = tmp();
    let good = log_file(16);
    let r = expect(
        "ml",
        &write(d.path(), "edb.log", &good),
        0,
        "Integrity check passed for log file:",
    );
    assert!(r.stdout.contains("lGeneration: 1 (0x1)"));
    // Header checksum flipped.
    let mut f = good.clone();
    f[100] ^= 1;
    expect("ml", &write(d.path(), "badsum.log", &f), 1, "-501");
    // File size does not match csecLGFile · cbSec.
    expect(
        "ml",
        &write(d.path(), "short.log", &good[..good.len() - 4096]),
        1,
        "-541",
    );
    // 8.x log with a 512-byte sector size.
    let f = reseal_log(good.clone(), |h| {
        h[8..10].copy_from_slice(&512u16.to_le_bytes())
    });
    expect("ml", &write(d.path(), "sec512.log", &f), 1, "-501");
    // Sector size that no disk has.
    let f = reseal_log(good.clone(), |h| {
        h[8..10].copy_from_slice(&1000u16.to_le_bytes())
    });
    expect("ml", &write(d.path(), "sec1000.log", &f), 1, "-501");
    // Header sectors larger than the file.
    let f = reseal_log(good.clone(), |h| {
        h[10..12].copy_from_slice(&40u16.to_le_bytes())
    });
    expect("ml", &write(d.path(), "csechdr.log", &f), 1, "-501");
    // Header shorter than 4096 bytes.
    expect("ml", &write(d.path(), "stub.log", &good[..3000]), 1, "");
    // A checkpoint handed to /ml.
    expect(
        "ml",
        &write(d.path(), "x.chk", &checkpoint(1, 1)),
        4,
        "use `eseutil-rs /mk",
    );
    expect(
        "ml",
        &write(d.path(), "edbtmp.log", &vec![0u8; 65536]),
        4,
        "blank (all-zero) file",
    );
    // An attach entry whose name length runs past the attach area: shown,
    // reported, no over-read.
    let f = reseal_log(good.clone(), |h| {
        h[671] = 1;
        h[673..675].copy_from_slice(&3000u16.to_le_bytes());
    });
    let r = run(&[
        std::ffi::OsStr::new("ml"),
        write(d.path(), "attach.log", &f).as_os_str(),
    ]);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    // A valid segment 1 whose first record has an undefined type.
    let mut f = good.clone();
    let seg = 4096;
    f[seg + 8..seg + 16].copy_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0]); // lgpos (1,1,0)
    f[seg + 36..seg + 40].copy_from_slice(&0x2000u32.to_le_bytes());
    f[seg + 40] = 47; // lrtyp 47 (UpgradeDB) has no size: corruption
    let ck = eseutil::checksum::ecc_block_checksum(&f[seg..seg + 4096], 1, true);
    f[seg..seg + 8].copy_from_slice(&ck.to_le_bytes());
    expect("ml", &write(d.path(), "lrtyp.log", &f), 1, "-501");
}

#[test]
fn malformed_flush_maps() {
    let d = tmp();
    let mut hdr = vec![0u8; 8192];
    hdr[4..8].copy_from_slice(&3u32.to_le_bytes());
    hdr[36] = 1;
    hdr[667..671].copy_from_slice(&7u32.to_le_bytes());
    eseutil::checksum::seal_header(&mut hdr);
    let mut good = hdr.clone();
    good.extend_from_slice(&[0u8; 8192]);
    expect("mp", &write(d.path(), "ok.jfm", &good), 0, "Version: 3.0.0");
    // Empty data page is fine and says so.
    let p = write(d.path(), "ok2.jfm", &good);
    let r = run(&[std::ffi::OsStr::new("mp"), p.as_os_str(), "/p0".as_ref()]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("Flush map data page is empty."));
    // Data page beyond the end of the file.
    let r = run(&[
        std::ffi::OsStr::new("mp"),
        p.as_os_str(),
        "--page".as_ref(),
        "5".as_ref(),
    ]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(r.stderr.contains("beyond the end of the file"));
    // Header checksum damaged: -1018.
    let mut f = good.clone();
    f[50] ^= 4;
    expect(
        "mp",
        &write(d.path(), "bad.jfm", &f),
        5,
        "-1018 JET_errReadVerifyFailure",
    );
    // A data page with a damaged checksum: dumped, damage reported.
    let mut f = good.clone();
    f[8192 + 36..8192 + 40].copy_from_slice(&0x2000u32.to_le_bytes());
    f[8192 + 8] = 9;
    let p = write(d.path(), "baddata.jfm", &f);
    let r = run(&[std::ffi::OsStr::new("mp"), p.as_os_str(), "/p0".as_ref()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
}

/// A sparse database larger than 4 GiB whose damaged page lies beyond the
/// 4 GiB mark: offsets are reported as 64-bit values; a file whose size is
/// not a multiple of the page size is reported, not crashed on.
#[test]
fn sparse_database_beyond_4_gib() {
    use std::io::{Seek, SeekFrom, Write};
    let d = tmp();
    let p = d.path().join("big.edb");
    let spec = DbSpec::default();
    let h = db_header_page(&spec);
    let mut f = std::fs::File::create(&p).unwrap();
    f.write_all(&h).unwrap();
    f.write_all(&h).unwrap();
    let pgno: u64 = (4u64 << 30) / 4096 + 10; // file offset (pgno + 1) · 4096 > 4 GiB
    let page = &database(&spec, 1, 1)[2 * 4096..3 * 4096];
    let mut page = page.to_vec();
    page[4] = 0; // re-number: seal as `pgno`
    eseutil::checksum::seal_page(&mut page, pgno as u32);
    page[1000] ^= 0x10; // one flipped bit: correctable
    f.seek(SeekFrom::Start((pgno + 1) * 4096)).unwrap();
    f.write_all(&page).unwrap();
    f.set_len((pgno + 8) * 4096 + 100).unwrap(); // not a page multiple
    drop(f);
    let r = expect("mh", &p, 0, "WARNING: file size");
    assert!(r
        .stdout
        .contains("is not a multiple of the page size 4096 (100 bytes after the last whole page)"));
    let r = run(&[std::ffi::OsStr::new("k"), p.as_os_str(), "--json".as_ref()]);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let dmg = &v["files"][0]["damaged_pages"];
    assert_eq!(dmg.as_array().unwrap().len(), 1, "{dmg}");
    assert_eq!(dmg[0]["page"].as_u64(), Some(pgno));
    assert_eq!(dmg[0]["verdict"], "correctable");
    assert_eq!(
        dmg[0]["byte_offset"].as_u64(),
        Some((pgno + 1) * 4096 + 1000)
    );
    assert!(dmg[0]["byte_offset"].as_u64().unwrap() > 4 << 30);
}

/// Small structures in huge files: a checkpoint and a restore.env extended
/// sparsely to 8 GiB are never read whole (each mode answers at once).
#[test]
fn huge_sparse_checkpoint_and_restore_env() {
    let d = tmp();
    let chk = write(d.path(), "edb.chk", &checkpoint(1, 2));
    std::fs::OpenOptions::new()
        .write(true)
        .open(&chk)
        .unwrap()
        .set_len(8 << 30)
        .unwrap();
    let r = expect("mk", &chk, 0, "Checkpoint: (0x1,2,0)");
    assert!(r.stdout.contains("DbConsistency"));
    let t = Instant::now();
    let r = run(&[std::ffi::OsStr::new("plan"), d.path().as_os_str()]);
    assert!(
        !r.stderr.contains("panicked") && t.elapsed() < Duration::from_secs(5),
        "{}",
        r.stderr
    );
    let env = write(
        d.path(),
        "restore.env",
        b"<LOG_BASE_NAME>edb</LOG_BASE_NAME>",
    );
    std::fs::OpenOptions::new()
        .write(true)
        .open(&env)
        .unwrap()
        .set_len(8 << 30)
        .unwrap();
    for mode in ["cm", "cc"] {
        let t = Instant::now();
        let out = d.path().join("out");
        let mut args = vec![std::ffi::OsStr::new(mode), d.path().as_os_str()];
        if mode == "cc" {
            args.extend([std::ffi::OsStr::new("--output"), out.as_os_str()]);
        }
        let r = run(&args);
        assert!(!r.stderr.contains("panicked"), "{mode}: {}", r.stderr);
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{mode} took {:?}",
            t.elapsed()
        );
        assert!(r.code >= 2, "{mode}: {}", r.stderr);
        assert!(
            r.stderr.contains("restore.env") || r.stderr.contains("restore environment"),
            "{mode}: {}",
            r.stderr
        );
    }
}
