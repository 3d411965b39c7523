//! Logs that lived through a crash: a record the engine began and never
//! finished before it restarted is abandoned as ESE's log reader does
//! (`ErrLGIGetRecordAtPbNext`, logread.cxx; `ErrLGIGetNextChecksumFF`,
//! logread_legacy.cxx), for 8.x segments and 7.x LRCHECKSUM logs, inside a
//! generation and at its very end. Fixtures come from `eseutil::log::synth`
//! (built from the specification); one differential test re-lays the real
//! `secedit-logs-b` records with a torn record in the middle.

mod common;

use std::path::Path;

use eseutil::log::synth::{self, day};
use serde_json::Value;

use common::run_json as json;

fn os(s: &str) -> &std::ffi::OsStr {
    s.as_ref()
}

fn eseutil_text(v: &Value) -> &str {
    v["eseutil"].as_str().unwrap_or("null")
}

/// 8.x set: `edb.log` (generation 5) torn inside at (0x5,1,F00).
fn set_8x_inside(dir: &Path, segments: usize) {
    let (f, _) = synth::log8_torn(5, segments, false).finish(day(1, 10), None);
    std::fs::write(dir.join("edb.log"), f).unwrap();
}

/// 8.x set: `edb00005.log` ends with the torn record, `edb.log` (6) starts
/// with the restart.
fn set_8x_at_end(dir: &Path) {
    let (f5, acc) = synth::log8_torn(5, 1, true).finish(day(1, 10), None);
    let (f6, _) = synth::log8_restarted(6).finish(day(2, 9), Some((day(1, 10), acc)));
    std::fs::write(dir.join("edb00005.log"), f5).unwrap();
    std::fs::write(dir.join("edb.log"), f6).unwrap();
}

/// 7.x sets: torn inside `edb.log` (3), or `edb00003.log` torn at its end
/// and `edb.log` (4) restarted.
fn set_7x(dir: &Path, at_end: bool) {
    if at_end {
        let f3 = synth::log7_torn_at_end(3, day(1, 1), day(1, 0));
        let f4 = synth::log7_restarted(4, day(2, 9), day(1, 1));
        std::fs::write(dir.join("edb00003.log"), f3).unwrap();
        std::fs::write(dir.join("edb.log"), f4).unwrap();
    } else {
        let f = synth::log7_torn_inside(3, day(1, 1), day(1, 0));
        std::fs::write(dir.join("edb.log"), f).unwrap();
    }
}

/// One of the four torn-record sets: 8.x torn inside, 8.x torn at the end,
/// 7.x torn inside, 7.x torn at the end.
fn torn_set(dir: &Path, make: usize) {
    match make {
        0 => set_8x_inside(dir, 1),
        1 => set_8x_at_end(dir),
        2 => set_7x(dir, false),
        _ => set_7x(dir, true),
    }
}

fn ml_file(path: &Path) -> (i32, Value) {
    json(&[os("ml"), path.as_os_str(), os("--json")])
}

#[test]
fn ml_8x_torn_inside_is_not_damage() {
    for (segments, bytes) in [(1u64, 256u64), (2, 256 + 4056)] {
        let t = tempfile::tempdir().unwrap();
        set_8x_inside(t.path(), segments as usize);
        let log = t.path().join("edb.log");
        let (code, v) = ml_file(&log);
        assert_eq!(code, 0, "{v:#}");
        let i = &v["integrity"];
        assert_eq!(i["ok"], true);
        assert_eq!(i["walk_matches_end"], true);
        let tr = &i["torn_records"][0];
        assert_eq!(eseutil_text(&tr["lgpos"]), "(0x5,1,F00)");
        assert_eq!(tr["bytes"], bytes);
        let restart = format!("(0x5,{},0)", 1 + segments);
        assert_eq!(eseutil_text(&tr["restart_lgpos"]), restart);
        assert_eq!(tr["lrtyp"], 22);
        // Text: the note, the verdict, and the restart records at ESE's lgpos.
        let r = common::run(&[os("ml"), log.as_os_str(), os("--records")]);
        assert_eq!(r.code, 0, "{}", r.stdout);
        let note = format!("torn record at (0x5,1,F00) abandoned; engine restarted at {restart}");
        assert!(r.stdout.contains(&note), "{}", r.stdout);
        assert!(r.stdout.contains("Integrity check passed"), "{}", r.stdout);
        let undo = format!(">00000005,{:04X},0000 RcvUndo", 1 + segments);
        assert!(r.stdout.contains(&undo), "{}", r.stdout);
        let term = format!(">00000005,{:04X},0031 Term", 1 + segments);
        assert!(r.stdout.contains(&term), "{}", r.stdout);
    }
}

#[test]
fn ml_8x_torn_last_in_generation_links_to_the_next() {
    let t = tempfile::tempdir().unwrap();
    set_8x_at_end(t.path());
    let (code, v) = ml_file(&t.path().join("edb00005.log"));
    assert_eq!(code, 0, "{v:#}");
    let tr = &v["integrity"]["torn_records"][0];
    assert_eq!(eseutil_text(&tr["lgpos"]), "(0x5,1,F00)");
    assert!(tr["restart_lgpos"].is_null());
    let (code, v) = json(&[os("ml"), t.path().as_os_str(), os("--json")]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["ok"], true);
    let tr = &v["files"][0]["integrity"]["torn_records"][0];
    assert_eq!(eseutil_text(&tr["restart_lgpos"]), "(0x6,1,0)");
    let r = common::run(&[os("ml"), t.path().as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout
            .contains("NOTE: torn record at (0x5,1,F00) abandoned; engine restarted at (0x6,1,0)."),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("No damaged log files were found."));
}

#[test]
fn ml_7x_torn_inside_and_at_end() {
    let t = tempfile::tempdir().unwrap();
    set_7x(t.path(), false);
    let (code, v) = ml_file(&t.path().join("edb.log"));
    assert_eq!(code, 0, "{v:#}");
    let i = &v["integrity"];
    assert_eq!(
        (i["ok"].clone(), i["walk_matches_end"].clone()),
        (true.into(), true.into())
    );
    let tr = &i["torn_records"][0];
    assert_eq!(eseutil_text(&tr["lgpos"]), "(0x3,9,1EC)");
    assert_eq!(tr["bytes"], 60);
    assert_eq!(eseutil_text(&tr["restart_lgpos"]), "(0x3,A,28)");

    let t = tempfile::tempdir().unwrap();
    set_7x(t.path(), true);
    let (code, v) = json(&[os("ml"), t.path().as_os_str(), os("--json")]);
    assert_eq!(code, 0, "{v:#}");
    let tr = &v["files"][0]["integrity"]["torn_records"][0];
    assert_eq!(eseutil_text(&tr["lgpos"]), "(0x3,A,46)");
    assert_eq!(tr["bytes"], 22);
    assert_eq!(eseutil_text(&tr["restart_lgpos"]), "(0x4,8,0)");
}

#[test]
fn k_accepts_logs_with_torn_records() {
    for make in [0, 1, 2, 3] {
        let t = tempfile::tempdir().unwrap();
        torn_set(t.path(), make);
        let r = common::run(&[os("/k"), t.path().as_os_str()]);
        assert_eq!(r.code, 0, "{}", r.stdout);
        assert!(
            r.stdout.contains("Note: torn record at "),
            "/k names the torn record: {}",
            r.stdout
        );
        let (code, v) = json(&[os("/k"), t.path().as_os_str(), os("--json")]);
        assert_eq!(code, 0);
        let torn: usize = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|f| f["integrity"]["torn_records"].as_array())
            .map(|a| a.len())
            .sum();
        assert_eq!(torn, 1, "{v:#}");
    }
}

#[test]
fn plan_accepts_torn_records() {
    for make in [0, 1, 2, 3] {
        let t = tempfile::tempdir().unwrap();
        torn_set(t.path(), make);
        let (code, v) = json(&[os("plan"), t.path().as_os_str(), os("--json")]);
        assert_eq!(code, 0, "{v:#}");
        let s = &v["streams"][0];
        assert!(s["problems"].as_array().unwrap().is_empty(), "{s:#}");
        let torn: Vec<&Value> = s["logs"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|l| l["torn_records"].as_array().unwrap())
            .collect();
        assert_eq!(torn.len(), 1, "{s:#}");
        assert!(!torn[0]["restart_lgpos"].is_null(), "{s:#}");
        let notes = s["notes"].to_string();
        assert!(notes.contains("abandoned; engine restarted at"), "{notes}");
    }
}

/// `/r` replays through the torn record: the transaction written after the
/// restart is redone (two begun, two committed), and the report lists it.
#[test]
fn r_replays_through_torn_records() {
    for make in [0, 1, 2, 3] {
        let t = tempfile::tempdir().unwrap();
        match make {
            0 => set_8x_inside(t.path(), 2),
            1 => set_8x_at_end(t.path()),
            2 => set_7x(t.path(), false),
            _ => set_7x(t.path(), true),
        }
        let out = t.path().join("out");
        let (code, v) = json(&[
            os("/r"),
            t.path().join("edb").as_os_str(),
            os("--ignore-checkpoint"),
            os("--json"),
            os("--output"),
            out.as_os_str(),
        ]);
        // The fixtures carry no database: the replay runs through, and /r
        // says that it wrote none (exit 1).
        assert_eq!(code, 1, "{v:#}");
        assert_eq!(v["exit_status"], 1, "{v:#}");
        assert!(v["no_database_written"].is_string(), "{v:#}");
        assert!(v["error"].is_null(), "{v:#}");
        let tr = v["torn_records"].as_array().unwrap();
        assert_eq!(tr.len(), 1, "{v:#}");
        assert!(!tr[0]["restart_lgpos"].is_null());
        // Commit0 records in the logs: the restart's own one always counts.
        let st = &v["stats"];
        let committed = [2, 2, 1, 2][make];
        assert_eq!(st["trx_committed"], committed, "{st:#}");
        assert!(st["per_type"]["RcvUndo"].is_array(), "{st:#}");
        let r = common::run(&[
            os("/r"),
            t.path().join("edb").as_os_str(),
            os("--ignore-checkpoint"),
            os("--output"),
            t.path().join("out2").as_os_str(),
        ]);
        assert_eq!(r.code, 1, "{}", r.stdout);
        assert!(r.stdout.contains("No database was written"), "{}", r.stdout);
        assert!(
            r.stdout.contains("abandoned; engine restarted at"),
            "{}",
            r.stdout
        );
    }
}

/// The records of the real log `src` re-laid by the log writer as
/// generation 1, with a torn Trace record begun after half of them and the
/// engine's restart (RecoveryUndo2 at the next segment, a day later) before
/// the other half. Returns the file and the number of records re-laid.
fn relaid_secedit(src: &Path) -> (Vec<u8>, usize) {
    let mut bytes = std::fs::read(src).expect("secedit-logs-b/edb.log in the corpus");
    let scan = eseutil::log::scan::scan_log(&mut bytes).unwrap();
    let w = eseutil::log::set::walk_records(&bytes, &scan);
    assert!(w.error.is_none());
    let recs: Vec<&[u8]> = w
        .records
        .iter()
        .filter(|r| r.lrtyp != 0)
        .map(|r| r.data.as_slice())
        .collect();
    let mid = recs.len() / 2;
    let mut l = synth::Log8::new(1, day(1, 10));
    for r in &recs[..mid] {
        l.record(r);
    }
    l.torn(&synth::trace(5000), 1);
    l.restart(day(2, 9));
    l.record(&synth::recovery_undo2(day(2, 9)));
    for r in &recs[mid..] {
        l.record(r);
    }
    let mut f = l.finish(day(1, 10), None).0;
    reconnect_attachments(&mut f);
    (f, recs.len())
}

/// Re-laying moves every record into a log of another signature, so an
/// AttachDB's remembered consistent position (LRATTACHDB @8: ib, isec,
/// generation) is set to where the reader now puts the DetachDB before it,
/// and its log signature to the new log's, as the engine would have logged
/// them (`ErrLGRICheckRedoAttachDb` checks both).
fn reconnect_attachments(f: &mut [u8]) {
    let mut scan_bytes = f.to_vec();
    let scan = eseutil::log::scan::scan_log(&mut scan_bytes).unwrap();
    let w = eseutil::log::set::walk_records(&scan_bytes, &scan);
    let mut detached_at = None;
    for r in &w.records {
        match r.lrtyp {
            16 => detached_at = Some(r.lgpos),
            15 if r.fragments == 0 && r.data[8..16].iter().any(|&x| x != 0) => {
                let Some(at) = detached_at else { continue };
                // The record's bytes lie at or after its lgpos (an 8.x lgpos
                // is where the previous record ended).
                let seg = at_segment(r.lgpos.sector);
                let from = seg + (r.lgpos.offset as usize).max(40);
                let off = from
                    + f[from..seg + 4096]
                        .windows(r.data.len())
                        .position(|x| x == &r.data[..])
                        .expect("the AttachDB's bytes");
                f[off + 8..off + 10].copy_from_slice(&at.offset.to_le_bytes());
                f[off + 10..off + 12].copy_from_slice(&at.sector.to_le_bytes());
                f[off + 12..off + 16].copy_from_slice(&at.generation.to_le_bytes());
                // …and the log signature it remembers (signLog @44) is this
                // file's (log header @44).
                let sign_log: Vec<u8> = f[44..72].to_vec();
                f[off + 44..off + 72].copy_from_slice(&sign_log);
                eseutil::checksum::seal_page(&mut f[seg..seg + 4096], r.lgpos.sector as u32);
            }
            _ => {}
        }
    }
}

fn at_segment(sector: u16) -> usize {
    sector as usize * 4096
}

/// The real records of `secedit-logs-b` (CreateDB onwards) re-laid by the
/// log writer with a torn record and a restart in the middle: `/r` replays
/// through it and builds the same database pages as from the real log.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn r_through_a_torn_record_builds_the_same_database() {
    let Some(c) = common::corpus() else { return };
    let src = c.join("secedit-logs-b/edb.log");
    let (relaid, n) = relaid_secedit(&src);
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    std::fs::copy(&src, a.join("edb.log")).unwrap();
    std::fs::write(b.join("edb.log"), relaid).unwrap();
    let r = common::run(&[os("ml"), b.join("edb.log").as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("abandoned; engine restarted at"),
        "{}",
        r.stdout
    );
    let mut reports = Vec::new();
    for d in [&a, &b] {
        let (code, v) = json(&[
            os("/r"),
            d.join("edb").as_os_str(),
            os("--ignore-checkpoint"),
            os("--json"),
            os("--output"),
            d.join("out").as_os_str(),
        ]);
        assert_eq!(code, 0, "{v:#}");
        reports.push(v);
    }
    let (ra, rb) = (&reports[0], &reports[1]);
    assert_eq!(rb["torn_records"].as_array().unwrap().len(), 1);
    for k in [
        "pages_redone",
        "trx_begun",
        "trx_committed",
        "macros_committed",
    ] {
        assert_eq!(ra["stats"][k], rb["stats"][k], "{k}");
    }
    let da = std::fs::read(a.join("out/secedit.sdb")).unwrap();
    let db = std::fs::read(b.join("out/secedit.sdb")).unwrap();
    assert_eq!(da.len(), db.len());
    let ps = u32::from_le_bytes(da[236..240].try_into().unwrap()) as usize;
    let differing: Vec<usize> = (2..da.len() / ps)
        .filter(|&p| da[p * ps..(p + 1) * ps] != db[p * ps..(p + 1) * ps])
        .collect();
    assert!(differing.is_empty(), "pages differ: {differing:?}");
    eprintln!(
        "{} records re-laid, torn record {}; pages redone {}; {} data pages identical",
        n,
        rb["torn_records"][0]["lgpos"]["eseutil"],
        rb["stats"]["pages_redone"],
        da.len() / ps - 2
    );
}

/// `/cc`: a streaming backup copy taken early in the re-laid log (before the
/// torn record), restored with that log, is rolled forward through the torn
/// record to the same database as `/r` builds from the log alone.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn cc_through_a_torn_record_equals_the_rebuild() {
    use eseutil::checksum::seal_header;
    use eseutil::parse::primitives::Lgpos;
    let Some(c) = common::corpus() else { return };
    let (relaid, _) = relaid_secedit(&c.join("secedit-logs-b/edb.log"));
    let t = tempfile::tempdir().unwrap();
    let logs = t.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    std::fs::write(logs.join("edb.log"), &relaid).unwrap();
    let opts = |out: &Path, stop: Option<Lgpos>| eseutil::recovery::Options {
        stop_at: stop,
        skip_undo: stop.is_some(),
        ..common::log_only_opts(&logs, out)
    };
    let reference = t.path().join("ref");
    let r = eseutil::recovery::recover(&opts(&reference, None)).unwrap();
    assert!(r.error.is_none() && r.torn_records.len() == 1);
    let good = std::fs::read(reference.join("secedit.sdb")).unwrap();
    // The database as flushed at record 300, marked as a streaming backup
    // of generation 1 (header fields as tests/cc.rs sets them).
    let check = eseutil::log::set::check_file(&logs.join("edb.log")).unwrap();
    let mark = check.walk.unwrap().records[300].lgpos;
    let at = t.path().join("at");
    eseutil::recovery::recover(&opts(&at, Some(mark))).unwrap();
    let mut db = std::fs::read(at.join("secedit.sdb")).unwrap();
    {
        let h = &mut db[..4096];
        h[184..186].copy_from_slice(&mark.offset.to_le_bytes());
        h[186..188].copy_from_slice(&mark.sector.to_le_bytes());
        h[188..192].copy_from_slice(&mark.generation.to_le_bytes());
        h[200..204].copy_from_slice(&1u32.to_le_bytes());
        h[204..208].copy_from_slice(&1u32.to_le_bytes());
        h[52..56].copy_from_slice(&2u32.to_le_bytes());
        h[296..300].copy_from_slice(&1u32.to_le_bytes());
        h[300..304].copy_from_slice(&1u32.to_le_bytes());
        seal_header(h);
    }
    let h = db[..4096].to_vec();
    db[4096..8192].copy_from_slice(&h);
    let rdir = t.path().join("restore");
    std::fs::create_dir_all(&rdir).unwrap();
    std::fs::write(rdir.join("secedit.sdb"), &db).unwrap();
    std::fs::write(rdir.join("edb00000001.log"), &relaid).unwrap();
    std::fs::write(
        rdir.join("restore.env"),
        "<DATABASE_RESTORE_ENVIRONMENT>\r\n  <VERSION_STAMP>1.0</VERSION_STAMP>\r\n  \
         <DATABASE_GUID_ORIGINAL>{A2CFF078-782F-4BFE-9443-4BFEA1B46055}</DATABASE_GUID_ORIGINAL>\r\n  \
         <EDB_LOCATION_ORIGINAL>C:\\Windows\\security\\Database</EDB_LOCATION_ORIGINAL>\r\n  \
         <EDB_FILENAME_ORIGINAL>C:\\Windows\\security\\Database\\secedit.sdb</EDB_FILENAME_ORIGINAL>\r\n  \
         <LOG_BASE_NAME>edb</LOG_BASE_NAME>\r\n  \
         <LOG_PATH_ORIGINAL>C:\\Windows\\security\\logs</LOG_PATH_ORIGINAL>\r\n\
         </DATABASE_RESTORE_ENVIRONMENT>\r\n",
    )
    .unwrap();
    let out = t.path().join("out");
    let (code, v) = json(&[
        os("/cc"),
        rdir.as_os_str(),
        os("--output"),
        out.as_os_str(),
        os("--json"),
    ]);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["recovery"]["error"].is_null(), "{v:#}");
    let tr = v["recovery"]["torn_records"].as_array().unwrap();
    assert_eq!(tr.len(), 1, "{v:#}");
    assert!(std::fs::read(out.join("secedit.sdb")).unwrap() == good);
    let r = common::run(&[
        os("/cc"),
        rdir.as_os_str(),
        os("--output"),
        t.path().join("out2").as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.contains("abandoned; engine restarted at"),
        "{}",
        r.stdout
    );
}
