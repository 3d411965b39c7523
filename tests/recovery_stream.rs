//! The boundaries of the streamed replay (`recovery::stream`: one
//! generation read, verified and decoded at a time ahead of redo): a
//! record fragmented up to the end of a file, a torn tail followed by the
//! next generation, a checkpoint inside a file, and a gap found mid-stream
//! (an error, nothing committed). Logs are built by `eseutil::log::synth`
//! (the project's 8.x log writer); the gap over a real database uses
//! `examples/make_log_set.rs` and the corpus.

mod common;

#[path = "../examples/make_log_set.rs"]
#[allow(dead_code)]
mod make_log_set;

use std::path::Path;

use eseutil::error::Jet;
use eseutil::log::synth::{self, day, Log8};
use eseutil::parse::primitives::Lgpos;
use eseutil::recovery::{recover, Report};

fn lg(generation: i32, sector: u16, offset: u16) -> Lgpos {
    Lgpos {
        generation,
        sector,
        offset,
    }
}

/// Usable bytes of a 4 KiB segment after its 40-byte LGSEGHDR; a Trace of
/// `cb` bytes takes `cb + 5`.
const SEGMENT_DATA: usize = 4096 - 40;

/// Writes the generations `(file name, log)` in order, each created a day
/// after the previous one and chained to it (tmPrevGen, segment checksum).
fn write_chain(dir: &Path, gens: Vec<(&str, Log8)>) {
    std::fs::create_dir_all(dir).unwrap();
    let mut prev = None;
    for (i, (name, log)) in gens.into_iter().enumerate() {
        let create = day(i as u8 + 1, 10);
        let (f, acc) = log.finish(create, prev);
        std::fs::write(dir.join(name), f).unwrap();
        prev = Some((create, acc));
    }
}

/// Generation `gen` with a committed transaction per segment for `segments`
/// segments (Begin0, a Trace filling the segment, Commit0).
fn full_segments(gen: i32, segments: u16) -> Log8 {
    let mut l = Log8::new(gen, day(1, 9));
    for s in 0..segments {
        let trx = 0x100 * gen as u32 + s as u32;
        l.record(&synth::begin0(trx));
        let (_, off) = l.position();
        let rest = 4096 - off as usize - synth::commit0(trx).len();
        l.record(&synth::trace((rest - 5) as u16));
        l.record(&synth::commit0(trx));
        assert_eq!(l.position(), (s + 2, 40));
    }
    l
}

/// The last segment of a generation's data: csecLGFile 256 sectors, the
/// header in sector 0, the last sector not used for data (the reader scans
/// sectors csecHeader .. csecLGFile − 1, `log::segments::scan_segments`).
const LAST_DATA_SEGMENT: u16 = 254;

/// Generation `gen` filled up to 0xF00 of segment `seg` (one Trace per
/// segment before it): the next record runs into segment `seg + 1`.
fn filled_to(gen: i32, seg: u16) -> Log8 {
    let mut l = Log8::new(gen, day(1, 9));
    for _ in 1..seg {
        l.record(&synth::trace((SEGMENT_DATA - 5) as u16));
    }
    assert_eq!(l.position(), (seg, 40));
    l.record(&synth::trace((0xF00 - 40 - 5) as u16));
    assert_eq!(l.position(), (seg, 0xF00));
    l
}

fn replay(logs: &Path, out: &Path) -> Report {
    recover(&common::log_only_opts(logs, out)).expect("recovery runs")
}

/// Records of the files as each is read on its own (`/ml`'s reader).
fn records_in(files: &[&Path]) -> Vec<Lgpos> {
    files
        .iter()
        .flat_map(|f| {
            let c = eseutil::log::set::check_file(f).unwrap();
            assert!(c.error().is_none(), "{}: {:?}", f.display(), c.error());
            c.walk.unwrap().records.into_iter().map(|r| r.lgpos)
        })
        .collect()
}

/// A record fragmented over the last two data segments of a full
/// generation (FragmentBegin in 253, its Fragment ends in 254, the last) is
/// replayed whole; the next generation follows.
#[test]
fn record_fragmented_up_to_the_end_of_a_file() {
    let t = tempfile::tempdir().unwrap();
    let logs = t.path().join("logs");
    let mut g5 = filled_to(5, LAST_DATA_SEGMENT - 1);
    g5.record(&synth::trace(4000));
    assert_eq!(
        g5.position().0,
        LAST_DATA_SEGMENT,
        "ends in the last segment"
    );
    write_chain(
        &logs,
        vec![("edb00005.log", g5), ("edb.log", full_segments(6, 3))],
    );
    let rep = replay(&logs, &t.path().join("out"));
    assert!(rep.error.is_none(), "{:?}", rep.error);
    assert!(rep.torn_records.is_empty(), "{:?}", rep.torn_records);
    assert_eq!(rep.generations, vec![5, 6]);
    let all = records_in(&[&logs.join("edb00005.log"), &logs.join("edb.log")]);
    assert_eq!(rep.stats.records, all.len() as u64);
    assert_eq!(rep.stats.trx_committed, 3);
}

/// A torn tail: a record left unfinished at the end of a generation's
/// data — after its first fragment (`log8_torn`), with its fragments up to
/// the last data segment, or with a fragment past it (the reader never
/// reads that sector) — is abandoned and linked to the next generation's
/// first record `(6, csecHeader 1, 0)`; redo goes on in generation 6.
#[test]
fn torn_tail_followed_by_the_next_generation() {
    for case in 0..3 {
        let t = tempfile::tempdir().unwrap();
        let logs = t.path().join("logs");
        let g5 = match case {
            0 => synth::log8_torn(5, 1, true),
            // FragmentBegin in 253, a Fragment filling 254: the data ends.
            1 => {
                let mut g = filled_to(5, LAST_DATA_SEGMENT - 1);
                g.torn(&synth::trace(6000), 2);
                g
            }
            // FragmentBegin in 254, its Fragment in the last sector.
            _ => {
                let mut g = filled_to(5, LAST_DATA_SEGMENT);
                g.record(&synth::trace(4000));
                g
            }
        };
        write_chain(
            &logs,
            vec![("edb00005.log", g5), ("edb.log", synth::log8_restarted(6))],
        );
        let rep = replay(&logs, &t.path().join("out"));
        assert!(rep.error.is_none(), "{:?}", rep.error);
        assert_eq!(rep.generations, vec![5, 6]);
        assert_eq!(rep.torn_records.len(), 1, "{:?}", rep.torn_records);
        let torn = rep.torn_records[0];
        assert_eq!(torn.lgpos.generation, 5);
        assert_eq!(torn.restart_lgpos, Some(lg(6, 1, 0)), "case {case}");
        // The restart's RecoveryUndo2 / Term2 / transaction were redone.
        assert!(rep.stats.trx_committed >= 1, "{:?}", rep.stats);
        let all = records_in(&[&logs.join("edb00005.log"), &logs.join("edb.log")]);
        assert_eq!(rep.stats.records, all.len() as u64);
    }
}

/// A checkpoint inside generation 6 of 5..7: generation 5 is not read (ESE
/// opens the checkpoint's generation first), redo starts at the checkpoint
/// (the records before it in generation 6 are not redone).
#[test]
fn checkpoint_inside_a_file() {
    let t = tempfile::tempdir().unwrap();
    let logs = t.path().join("logs");
    write_chain(
        &logs,
        vec![
            ("edb00005.log", full_segments(5, 4)),
            ("edb00006.log", full_segments(6, 4)),
            ("edb.log", full_segments(7, 4)),
        ],
    );
    std::fs::write(logs.join("edb.chk"), eseutil::synth::checkpoint(6, 3)).unwrap();
    let opts = eseutil::recovery::Options {
        ignore_checkpoint: false,
        ..common::log_only_opts(&logs, &t.path().join("out"))
    };
    let rep = recover(&opts).expect("recovery runs");
    assert!(rep.error.is_none(), "{:?}", rep.error);
    assert_eq!(rep.redo_start, Some(lg(6, 3, 0)));
    assert_eq!(rep.generations, vec![6, 7]);
    assert!(!rep.inputs.iter().any(|i| i.path.ends_with("edb00005.log")));
    let files = ["edb00005.log", "edb00006.log", "edb.log"].map(|f| logs.join(f));
    let all = records_in(&files.each_ref().map(|p| p.as_path()));
    let after = all.iter().filter(|p| **p >= lg(6, 3, 0)).count();
    assert!(after < all.len() && after > 0);
    assert_eq!(rep.stats.records, after as u64);
    // Segments 3 and 4 of generation 6 and the 4 of generation 7.
    assert_eq!(rep.stats.trx_committed, 6);
}

/// A generation missing in the middle of the set (5, 6, 8, 9): redo runs
/// through 5 and 6, the stream reports the gap at 8 (−528, the missing
/// file named), and the run is an error: no output folder is left.
#[test]
fn gap_found_mid_stream_is_an_error() {
    let t = tempfile::tempdir().unwrap();
    let logs = t.path().join("logs");
    write_chain(
        &logs,
        vec![
            ("edb00005.log", full_segments(5, 2)),
            ("edb00006.log", full_segments(6, 2)),
            ("edb00007.log", full_segments(7, 2)),
            ("edb00008.log", full_segments(8, 2)),
            ("edb.log", full_segments(9, 2)),
        ],
    );
    std::fs::remove_file(logs.join("edb00007.log")).unwrap();
    let out = t.path().join("out");
    let e = recover(&common::log_only_opts(&logs, &out)).unwrap_err();
    assert_eq!(e.jet(), Some(Jet::MISSING_LOG_FILE), "{e}");
    assert!(
        e.to_string()
            .contains("0x8 follows 0x6: edb00007.log is missing"),
        "{e}"
    );
    assert!(!out.exists(), "nothing is left of a failed run");
}

/// The same over a real database (secedit-logs-b re-sealed as generations
/// 1..4, generation 3 removed): the database was attached and redone in
/// generations 1 and 2 when the gap is found; nothing is committed (no
/// database, no working copy, no output folder).
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn gap_mid_stream_commits_nothing() {
    let Some(b) = common::logs_b() else { return };
    let src = std::fs::read(b.join("edb.log")).unwrap();
    let t = tempfile::tempdir().unwrap();
    let logs = t.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    for (name, bytes) in make_log_set::build(&src, 4, None) {
        std::fs::write(logs.join(name), bytes).unwrap();
    }
    let third = eseutil::log::naming::list_logs(&logs, "edb").unwrap().0[2]
        .path
        .clone();
    std::fs::remove_file(&third).unwrap();
    let out = t.path().join("out");
    let e = recover(&common::log_only_opts(&logs, &out)).unwrap_err();
    assert_eq!(e.jet(), Some(Jet::MISSING_LOG_FILE), "{e}");
    assert!(e.to_string().contains("0x4 follows 0x2"), "{e}");
    assert!(!out.exists(), "nothing is left of a failed run");
    // The CLI: the same error, exit status of a damaged log set.
    let r = common::run(&[
        "/r".as_ref(),
        logs.join("edb").as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("-528"), "{}", r.stderr);
    assert!(
        !out.exists(),
        "{:?}",
        std::fs::read_dir(&out).ok().map(|d| d.count())
    );
}
