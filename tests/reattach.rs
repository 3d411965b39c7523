//! A database detached and attached again, or created again, inside the
//! replayed logs; two databases of one name space; nothing committed before
//! the whole run succeeds. Log sets are made by `examples/make_log_set.rs`
//! (`build`: copies of secedit-logs-b's one real generation re-sealed as
//! generations 1..N, AttachDB consistent positions moved to their own
//! generation, optionally a second database name from generation 2).
//!
//! Needs the corpus log (no synthetic log of a whole database life exists):
//! skipped with a note when it is absent, a failure when `CI` is set.

mod common;

#[path = "../examples/make_log_set.rs"]
#[allow(dead_code)]
mod make_log_set;

use std::path::{Path, PathBuf};

use eseutil::parse::primitives::Lgpos;
use eseutil::recovery::{recover, Options, Report};

fn source_log() -> Option<Vec<u8>> {
    Some(std::fs::read(common::logs_b()?.join("edb.log")).expect("read secedit-logs-b/edb.log"))
}

fn write_set(dir: &Path, set: &[(String, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, b) in set {
        std::fs::write(dir.join(name), b).unwrap();
    }
}

fn run(set: &[(String, Vec<u8>)], d: &Path, tag: &str) -> (Report, PathBuf) {
    let logs = d.join(format!("{tag}-logs"));
    let out = d.join(format!("{tag}-out"));
    write_set(&logs, set);
    (
        recover(&common::log_only_opts(&logs, &out)).expect("recovery runs"),
        out,
    )
}

fn lg(generation: i32, sector: u16, offset: u16) -> Lgpos {
    Lgpos {
        generation,
        sector,
        offset,
    }
}

/// (state, lgposConsistent, lgposAttach, data pages) of a database file.
fn db(path: &Path) -> (u32, Lgpos, Lgpos, Vec<u8>) {
    let b = std::fs::read(path).unwrap();
    let ps = u32::from_le_bytes(b[236..240].try_into().unwrap()) as usize;
    (
        u32::from_le_bytes(b[52..56].try_into().unwrap()),
        common::lgpos_at(&b, 56),
        common::lgpos_at(&b, 80),
        b[2 * ps..].to_vec(),
    )
}

fn files(out: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The output folder holds one `secedit.sdb` in Clean Shutdown, consistent
/// at the last DetachDB (0x9D,A42) and attached at the second cycle's
/// AttachDB (0x35,0) of generation `g`, with the data pages of `rebuild`
/// (the one-generation rebuild's) when given.
fn assert_one_clean_db(out: &Path, g: i32, rebuild: Option<&[u8]>, what: &str) {
    assert_eq!(files(out), ["secedit.sdb"], "{what}");
    let (state, consistent, attach, pages) = db(&out.join("secedit.sdb"));
    assert_eq!(
        (state, consistent, attach),
        (3, lg(g, 0x9D, 0xA42), lg(g, 0x35, 0)),
        "{what}"
    );
    if let Some(r) = rebuild {
        assert!(
            pages == r,
            "{what}: data pages differ from the one-generation rebuild"
        );
    }
}

/// The one-generation rebuild: DetachDB (0x1,31,0) and AttachDB (0x1,32,0)
/// and a second cycle inside generation 1 re-open the same working file.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn detach_and_attach_inside_one_generation() {
    let Some(src) = source_log() else { return };
    let d = tempfile::tempdir().unwrap();
    let (rep, out) = run(&make_log_set::build(&src, 1, None), d.path(), "one");
    assert_eq!(rep.exit_status, 0, "{:?}", rep.error);
    assert_eq!(rep.databases.len(), 1);
    assert_eq!(rep.stats.pages_redone, 1228);
    assert_eq!(rep.databases[0].page_writes, 1228);
    assert!(rep.not_recovered.is_empty(), "{:?}", rep.not_recovered);
    assert_one_clean_db(&out, 1, None, "one generation");
}

/// Detached at the end of one generation, attached again in the next:
/// `split_at` cuts the real generation after the DetachDB's segment 0x31
/// (DetachDB at (0x1,31,0)); generation 2 begins with NOP-only segments and
/// its first AttachDB (at (0x2,1,0): an 8.x lgpos is where the previous
/// record ended, and the NOP segments hold none) remembers the consistent
/// position (0x1,31,0) of generation 1. The second cycle's AttachDB remembers a position of
/// generation 2. Replay re-opens the same working file across the
/// generation boundary: the database equals the one-generation rebuild.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn detach_and_attach_across_generations() {
    let Some(src) = source_log() else { return };
    let d = tempfile::tempdir().unwrap();
    let (one, out1) = run(&make_log_set::build(&src, 1, None), d.path(), "one");
    assert_eq!(one.exit_status, 0, "{:?}", one.error);
    let set = make_log_set::split_at(&src, 0x32);
    let walk = |b: &[u8]| {
        let mut b = b.to_vec();
        let scan = eseutil::log::scan::scan_log(&mut b).unwrap();
        eseutil::log::set::walk_records(&b, &scan).records
    };
    let detach: Vec<_> = walk(&set[0].1)
        .into_iter()
        .filter(|r| r.lrtyp == 16)
        .map(|r| r.lgpos)
        .collect();
    assert_eq!(detach.last(), Some(&lg(1, 0x31, 0)));
    let attach = walk(&set[1].1)
        .into_iter()
        .find(|r| r.lrtyp == 15)
        .expect("an AttachDB in generation 2");
    assert_eq!(attach.lgpos.generation, 2);
    assert_eq!(common::lgpos_at(&attach.data, 8), lg(1, 0x31, 0));

    let (rep, out) = run(&set, d.path(), "xgen");
    assert_eq!(rep.exit_status, 0, "{:?}", rep.error);
    assert_eq!(rep.databases.len(), 1);
    assert_eq!(rep.stats.pages_redone, 1228);
    assert_eq!(rep.databases[0].page_writes, 1228);
    assert!(rep.not_recovered.is_empty(), "{:?}", rep.not_recovered);
    let rebuild = db(&out1.join("secedit.sdb")).3;
    assert_one_clean_db(&out, 2, Some(&rebuild), "across generations");
}

/// Generation 2 creates the database again (the application deleted it):
/// the working file is re-created, the output is generation 2's database,
/// page for page the one-generation rebuild (what each life wrote is the
/// same), its header of generation 2. Before the fix this ended in -1811
/// after committing the first life.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn create_again_in_a_later_generation_recreates_the_file() {
    let Some(src) = source_log() else { return };
    let d = tempfile::tempdir().unwrap();
    let (one, out1) = run(&make_log_set::build(&src, 1, None), d.path(), "one");
    assert_eq!(one.exit_status, 0);
    for n in [2u32, 3] {
        let (rep, out) = run(
            &make_log_set::build(&src, n, None),
            d.path(),
            &format!("n{n}"),
        );
        assert_eq!(rep.exit_status, 0, "{n}: {:?}", rep.error);
        assert_eq!(rep.databases.len(), 1, "{n}");
        assert_eq!(rep.stats.pages_redone, 1228 * n as u64);
        assert_eq!(rep.databases[0].page_writes, 1228, "the last life's writes");
        let recreated = rep
            .not_recovered
            .iter()
            .filter(|x| x.contains("re-created"))
            .count();
        assert_eq!(recreated, n as usize - 1, "{:?}", rep.not_recovered);
        let rebuild = db(&out1.join("secedit.sdb")).3;
        assert_one_clean_db(&out, n as i32, Some(&rebuild), &format!("{n} generations"));
    }
}

/// Two databases: generation 1 builds secedit.sdb, generations 2.. build
/// secedix.sdb (another name and signDb, the same dbid after the detach).
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn two_databases_get_their_own_working_files() {
    let Some(src) = source_log() else { return };
    let d = tempfile::tempdir().unwrap();
    let (one, out1) = run(&make_log_set::build(&src, 1, None), d.path(), "one");
    assert_eq!(one.exit_status, 0);
    let rebuild = db(&out1.join("secedit.sdb")).3;
    let set = make_log_set::build(&src, 3, Some(("secedit.sdb", "secedix.sdb")));
    let (rep, out) = run(&set, d.path(), "two");
    assert_eq!(rep.exit_status, 0, "{:?}", rep.error);
    assert_eq!(rep.databases.len(), 2);
    assert_eq!(files(&out), ["secedit.sdb", "secedix.sdb"]);
    let a = db(&out.join("secedit.sdb"));
    let b = db(&out.join("secedix.sdb"));
    assert_eq!((a.0, a.1, a.2), (3, lg(1, 0x9D, 0xA42), lg(1, 0x35, 0)));
    assert_eq!((b.0, b.1, b.2), (3, lg(3, 0x9D, 0xA42), lg(3, 0x35, 0)));
    assert!(
        a.3 == rebuild && b.3 == rebuild,
        "data pages differ from the rebuild"
    );
    let written: u64 = rep.databases.iter().map(|x| x.page_writes).sum();
    assert_eq!(
        written + 1228,
        rep.stats.pages_redone,
        "one life of secedix re-created"
    );
}

/// Puts an AttachDB's remembered consistent generation back to 1 in the
/// last generation of `set` (as the old make_log_set left it): ESE's
/// `ErrLGRICheckRedoAttachDb` then meets a file consistent elsewhere, -551.
fn stale_attach(set: &mut [(String, Vec<u8>)]) {
    let b = &mut set.last_mut().unwrap().1;
    let mut scan_bytes = b.clone();
    let scan = eseutil::log::scan::scan_log(&mut scan_bytes).unwrap();
    let walk = eseutil::log::set::walk_records(&scan_bytes, &scan);
    let r = walk
        .records
        .iter()
        .find(|r| r.lrtyp == 15)
        .expect("an AttachDB");
    // An 8.x lgpos is where the previous record ended: the record's bytes
    // lie at or after it (past the segment header at a segment start).
    let seg = r.lgpos.sector as usize * 4096;
    let from = seg + (r.lgpos.offset as usize).max(40);
    let off = from
        + b[from..seg + 4096]
            .windows(r.data.len())
            .position(|x| x == &r.data[..])
            .expect("the AttachDB's bytes");
    b[off + 12..off + 16].copy_from_slice(&1u32.to_le_bytes());
    eseutil::checksum::seal_page(&mut b[seg..seg + 4096], r.lgpos.sector as u32);
}

/// A run that fails after one database was complete commits nothing: the
/// finished secedit.sdb of generation 1 is not renamed into place when
/// generation 2 stops with -551.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn nothing_is_committed_before_the_whole_run_succeeds() {
    let Some(src) = source_log() else { return };
    let d = tempfile::tempdir().unwrap();
    let mut set = make_log_set::build(&src, 2, Some(("secedit.sdb", "secedix.sdb")));
    stale_attach(&mut set);
    let (rep, out) = run(&set, d.path(), "fail");
    assert_eq!(rep.exit_status, 1);
    let e = rep.error.as_ref().expect("an error");
    assert_eq!(e.jet().map(|j| j.code), Some(-551), "{e:?}");
    assert_eq!(e.lgpos(), Some(lg(2, 0x32, 0)));
    assert_eq!(
        files(&out),
        ["secedit.sdb.recovering", "secedix.sdb.recovering"]
    );
    for f in files(&out) {
        assert_eq!(db(&out.join(f)).0, 2, "left Dirty Shutdown");
    }
    // The same through the CLI: exit 1, and a rerun over the same output
    // with the good set succeeds and leaves no working file.
    let logs = d.path().join("fail-logs");
    let r = common::run(&[
        "/r".as_ref(),
        logs.join("edb").as_os_str(),
        "--ignore-checkpoint".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    write_set(
        &logs,
        &make_log_set::build(&src, 2, Some(("secedit.sdb", "secedix.sdb"))),
    );
    let rep = recover(&common::log_only_opts(&logs, &out)).unwrap();
    assert_eq!(rep.exit_status, 0, "{:?}", rep.error);
    assert_eq!(files(&out), ["secedit.sdb", "secedix.sdb"]);
}

/// `/cc` across the restored / play-forward boundary: the backup copy (the
/// database as flushed at record 1200 of generation 1, marked as a
/// streaming backup of generation 1) replayed through the restored
/// generation 1, which detaches it, and the play-forward generation 2,
/// which creates it again: the output is generation 2's database.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn hard_recovery_recreates_across_the_play_forward_boundary() {
    let Some(src) = source_log() else { return };
    let d = tempfile::tempdir().unwrap();
    let set = make_log_set::build(&src, 2, None);
    let (one, out1) = run(&make_log_set::build(&src, 1, None), d.path(), "one");
    assert_eq!(one.exit_status, 0);
    // The backup copy: the one-generation replay stopped at record 1200.
    let logs1 = d.path().join("one-logs");
    let c = eseutil::log::set::check_file(&logs1.join("edb.log")).unwrap();
    let mark = c.walk.unwrap().records[1200].lgpos;
    let cut = d.path().join("cut");
    let o = Options {
        stop_at: Some(mark),
        skip_undo: true,
        ..common::log_only_opts(&logs1, &cut)
    };
    assert!(recover(&o).unwrap().error.is_none());
    let mut bak = std::fs::read(cut.join("secedit.sdb")).unwrap();
    {
        let h = &mut bak[..4096];
        h[184..186].copy_from_slice(&mark.offset.to_le_bytes());
        h[186..188].copy_from_slice(&mark.sector.to_le_bytes());
        h[188..192].copy_from_slice(&mark.generation.to_le_bytes());
        for (off, v) in [(200, 1u32), (204, 1), (52, 2), (296, 1), (300, 1)] {
            h[off..off + 4].copy_from_slice(&v.to_le_bytes());
        }
        eseutil::checksum::seal_header(h);
        let h = h.to_vec();
        bak[4096..8192].copy_from_slice(&h);
    }
    let (restore, fwd, out) = (
        d.path().join("restore"),
        d.path().join("fwd"),
        d.path().join("cc-out"),
    );
    std::fs::create_dir_all(&restore).unwrap();
    std::fs::create_dir_all(&fwd).unwrap();
    std::fs::write(restore.join("secedit.sdb"), &bak).unwrap();
    std::fs::write(restore.join("edb00000001.log"), &set[0].1).unwrap();
    std::fs::write(fwd.join("edb.log"), &set[1].1).unwrap();
    let r = common::run(&[
        "/cc".as_ref(),
        restore.as_os_str(),
        "--database".as_ref(),
        restore.join("secedit.sdb").as_os_str(),
        "/f".as_ref(),
        fwd.as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("re-created"), "{}", r.stdout);
    let rebuild = db(&out1.join("secedit.sdb")).3;
    assert_one_clean_db(
        &out,
        2,
        Some(&rebuild),
        "/cc across the play-forward boundary",
    );
}
