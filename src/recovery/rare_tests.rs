//! Redo of the record types no corpus log contains (ReAttach, ExtRestore,
//! ExtentFreed, ShrinkDB/2/3, Scrub): each record is built from its
//! documented layout (docs/format/log-records.md, `inc/logapi.hxx`) and applied
//! through [`super::apply_record`] to a copy of the database rebuilt from
//! `secedit-logs-b`. Skipped with a note when the corpus is absent.

use std::path::PathBuf;

use super::page::PageImage;
use super::redo::{DbRun, Redo, DBTIME_SHRUNK};
use super::store::PageStore;
use super::{apply_record, read_log, recover, LogIn, Options};
use crate::error::Jet;
use crate::log::record::LogRecord;
use crate::parse::page::{FLAG_LEAF, FLAG_SCRUBBED, NODE_VERSIONED};
use crate::parse::primitives::Lgpos;
use crate::parse::{u32_at, u64_at};

struct Fx {
    _tmp: tempfile::TempDir,
    rd: Redo,
    l: LogIn,
    opts: Options,
    ps: usize,
}

fn logs_b() -> Option<PathBuf> {
    let c = std::env::var_os("ESEUTIL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    let d = c.join("secedit-logs-b");
    if d.join("edb.log").is_file() {
        Some(d)
    } else {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty()),
            "CI is set but the corpus is missing at {}",
            c.display()
        );
        eprintln!("corpus absent: skipped");
        None
    }
}

const DBID: u8 = 1;

/// The rebuilt secedit database, copied into a working store attached as
/// dbid 1 of a fresh redo pass.
fn fixture() -> Option<Fx> {
    let logs = logs_b()?;
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let opts = Options {
        base: "edb".into(),
        log_dir: logs.clone(),
        system_dir: logs.clone(),
        db_dir: empty,
        output: tmp.path().join("base"),
        ignore_checkpoint: true,
        ..Default::default()
    };
    let rep = recover(&opts).unwrap();
    assert!(rep.error.is_none(), "{:?}", rep.error);
    let src = opts.output.join("secedit.sdb");
    let hdr = std::fs::read(&src).unwrap();
    let ps = u32_at(&hdr, 236) as usize;
    let w = tmp.path().join("work");
    std::fs::create_dir_all(&w).unwrap();
    let store = PageStore::copy_of(&src, &w.join("secedit.sdb"), ps).unwrap();
    let header = store.read_header().unwrap();
    let db = DbRun {
        dbid: DBID,
        logged_path: "secedit.sdb".into(),
        dbtime_max: u64_at(&header, 16),
        objid_max: u32_at(&header, 212),
        store,
        header,
        attached: true,
        pages: Default::default(),
        created: false,
    };
    let mut rd = Redo::default();
    rd.dbs.insert(DBID, db);
    let l = read_log(&logs.join("edb.log"), None, Vec::new()).unwrap();
    let opts = Options { output: w, ..opts };
    Some(Fx {
        _tmp: tmp,
        rd,
        l,
        opts,
        ps,
    })
}

impl Fx {
    fn apply(&mut self, r: &LogRecord) -> crate::error::Result<bool> {
        apply_record(&mut self.rd, r, &self.l, self.ps, &self.opts)
    }
    fn db(&self) -> &DbRun {
        &self.rd.dbs[&DBID]
    }
    fn page(&self, pgno: u32) -> Vec<u8> {
        self.db().store.read_page(pgno).unwrap()
    }
    fn file(&self) -> Vec<u8> {
        self.db().store.sync().unwrap();
        std::fs::read(self.db().store.tmp_path()).unwrap()
    }
    fn page_count(&self) -> u32 {
        self.db().store.page_count().unwrap()
    }
}

fn rec(lrtyp: u8, data: Vec<u8>, sector: u16) -> LogRecord {
    LogRecord {
        lgpos: Lgpos {
            generation: 1,
            sector,
            offset: 0x10,
        },
        lrtyp,
        size: data.len() as u32,
        disk_bytes: data.len() as u32,
        fragments: 0,
        data: data.into(),
    }
}

fn lgpos_bytes(p: Lgpos) -> Vec<u8> {
    let mut v = p.offset.to_le_bytes().to_vec();
    v.extend(p.sector.to_le_bytes());
    v.extend(p.generation.to_le_bytes());
    v
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn ext_restore_and_extent_freed_leave_the_database_alone() {
    let Some(mut fx) = fixture() else { return };
    let before = fx.file();
    // ExtRestore / ExtRestore2: lrtyp, cbPath u16@1, path.
    for t in [45u8, 59] {
        let mut b = vec![t, 4, 0];
        b.extend(b"a\0b\0");
        assert!(!fx.apply(&rec(t, b, 0x100)).unwrap());
    }
    // ExtentFreed: dbid@1 pgnoFirst@2 cpg@6 flags@10; ExtentFreed2 + dbtime@11.
    let mut ef = vec![100, DBID];
    ef.extend(5u32.to_le_bytes());
    ef.extend(3u32.to_le_bytes());
    ef.push(0);
    assert!(!fx.apply(&rec(100, ef.clone(), 0x101)).unwrap());
    let mut ef2 = ef.clone();
    ef2[0] = 101;
    ef2.extend(0x9999u64.to_le_bytes());
    assert!(!fx.apply(&rec(101, ef2, 0x102)).unwrap());
    assert_eq!(fx.file(), before, "no page changes");
    assert_eq!(fx.rd.stats.pages_redone, 0);
    // An ExtentFreed2 with the ExtentFreed length is refused.
    let mut short = ef;
    short[0] = 101;
    let e = fx.apply(&rec(101, short, 0x103)).unwrap_err();
    assert_eq!(e.jet(), Some(Jet::LOG_FILE_CORRUPT));
    assert_eq!(fx.rd.stats.per_type.get("ExtRest").unwrap().0, 1);
    assert_eq!(fx.rd.stats.per_type.get("ExtFreed2").unwrap(), (2, 0));
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn reattach_sets_the_last_reattach_position_and_time() {
    let Some(mut fx) = fixture() else { return };
    let h0 = fx.db().header.clone();
    assert_eq!(&h0[564..580], &[0u8; 16], "no reattach before");
    let r = rec(72, reattach(DBID), 0x120);
    assert!(fx.apply(&r).unwrap());
    let h = &fx.db().header;
    assert_eq!(&h[572..580], &lgpos_bytes(r.lgpos)[..]);
    assert_eq!(&h[564..572], &fx.l.header[16..24]);
    assert_eq!(&h[..564], &h0[..564]);
    assert_eq!(&h[580..], &h0[580..]);
    // Another dbid: nothing happens.
    assert!(fx.apply(&rec(72, reattach(5), 0x121)).unwrap());
    // Too short for its dbid: -501.
    let e = fx.apply(&rec(72, vec![72, 1, 0, 0, 0], 0x122)).unwrap_err();
    assert_eq!(e.jet(), Some(Jet::LOG_FILE_CORRUPT));
    assert_eq!(&fx.db().header[572..580], &lgpos_bytes(r.lgpos)[..]);
}

/// ReAttach (LRREATTACHDB logapi.hxx ~2396): the LRIGNORED header (type,
/// cb u32 of what follows), dbid, lgposAttach, lgposConsistent, signDb.
fn reattach(dbid: u8) -> Vec<u8> {
    let mut b = vec![72u8];
    b.extend(45u32.to_le_bytes());
    b.push(dbid);
    b.extend([0u8; 8 + 8 + 28]);
    b
}

fn shrink(t: u8, last: u32, cpg: u32, dbtime: Option<u64>) -> Vec<u8> {
    let mut b = vec![t, DBID];
    b.extend(last.to_le_bytes());
    b.extend(cpg.to_le_bytes());
    if let Some(d) = dbtime {
        b.extend(d.to_le_bytes());
    }
    b
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn shrink_truncates_the_file() {
    let Some(mut fx) = fixture() else { return };
    let n = fx.page_count();
    assert!(n > 40);
    let keep: Vec<Vec<u8>> = (1..=n - 10).map(|p| fx.page(p)).collect();
    let mut r = rec(78, shrink(78, n - 10, 10, None), 0x130);
    assert!(fx.apply(&r).unwrap());
    assert_eq!(fx.page_count(), n - 10);
    assert_eq!(
        std::fs::metadata(fx.db().store.tmp_path()).unwrap().len(),
        (n as u64 - 10 + 2) * fx.ps as u64
    );
    for (i, k) in keep.iter().enumerate() {
        assert_eq!(&fx.page(i as u32 + 1), k);
    }
    assert!(fx.page(n - 5).iter().all(|&x| x == 0));
    let h = fx.db().header.clone();
    assert_eq!(u32_at(&h, 552), 1, "ulShrinkCount");
    assert_eq!(&h[556..564], &fx.l.header[16..24]);
    assert_eq!(&h[656..664], &lgpos_bytes(r.lgpos)[..], "lgposLastResize");
    // ShrinkDB2 and ShrinkDB3 (no later resize): truncate further.
    r = rec(94, shrink(94, n - 12, 2, None), 0x131);
    assert!(fx.apply(&r).unwrap());
    assert_eq!(fx.page_count(), n - 12);
    r = rec(
        99,
        shrink(99, n - 15, 3, Some(fx.db().dbtime_max + 7)),
        0x132,
    );
    let dbt = fx.db().dbtime_max + 7;
    assert!(fx.apply(&r).unwrap());
    assert_eq!(fx.page_count(), n - 15);
    assert_eq!(u32_at(&fx.db().header, 552), 3);
    assert_eq!(fx.db().dbtime_max, dbt, "ShrinkDB3 raises the dbtime");
    // A too-short ShrinkDB3 is refused.
    assert!(fx.apply(&rec(99, shrink(99, 9, 1, None), 0x133)).is_err());
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn shrink_already_done_resets_pages_by_dbtime() {
    let Some(mut fx) = fixture() else { return };
    let n = fx.page_count();
    // The header says the file was resized after these records.
    let later = Lgpos {
        generation: 1,
        sector: 0x7000,
        offset: 0,
    };
    let lb = lgpos_bytes(later);
    fx.rd.dbs.get_mut(&DBID).unwrap().header[656..664].copy_from_slice(&lb);
    let all: Vec<Vec<u8>> = (1..=n).map(|p| fx.page(p)).collect();
    let file0 = fx.file();
    // ShrinkDB / ShrinkDB2: skipped.
    assert!(fx
        .apply(&rec(78, shrink(78, 10, n - 10, None), 0x140))
        .unwrap());
    assert!(fx
        .apply(&rec(94, shrink(94, 10, n - 10, None), 0x141))
        .unwrap());
    assert_eq!(fx.file(), file0);
    // ShrinkDB3: pages 11..=n with 0 < dbtime < dbtimeShrink become shrunk.
    let mut times: Vec<u64> = all[10..]
        .iter()
        .filter(|p| p.iter().any(|&x| x != 0))
        .map(|p| u64_at(p, 8))
        .collect();
    times.sort();
    assert!(times.len() >= 4, "{times:?}");
    let cut = times[times.len() / 2];
    let before_hdr = fx.db().header.clone();
    assert!(fx
        .apply(&rec(99, shrink(99, 10, n - 10, Some(cut)), 0x142))
        .unwrap());
    assert_eq!(fx.page_count(), n, "no truncation");
    let (mut reset, mut kept) = (0, 0);
    for pg in 1..=n {
        let old = &all[pg as usize - 1];
        let now = fx.page(pg);
        let t = u64_at(old, 8);
        if pg <= 10 || old.iter().all(|&x| x == 0) || t >= cut {
            assert_eq!(&now, old, "page {pg} unchanged");
            kept += (pg > 10 && t >= cut) as u32;
        } else {
            let p = PageImage::parse(&now).unwrap();
            assert_eq!(p.dbtime, DBTIME_SHRUNK, "page {pg}");
            assert_eq!(p.objid, 0);
            assert!(p.lines.is_empty());
            reset += 1;
        }
    }
    assert!(reset > 0 && kept > 0, "{reset} {kept}");
    assert_eq!(u32_at(&fx.db().header, 552), u32_at(&before_hdr, 552));
    // A NewPage on a shrunk page formats it (a shrunk page counts as blank).
    let pg = (11..=n)
        .find(|&p| u64_at(&fx.page(p), 8) == DBTIME_SHRUNK)
        .unwrap();
    let mut np = vec![95u8, 1, 0, DBID];
    np.extend(pg.to_le_bytes());
    np.extend(77u32.to_le_bytes());
    np.extend(5u64.to_le_bytes());
    assert!(fx.apply(&rec(95, np, 0x143)).unwrap());
    let p = PageImage::parse(&fx.page(pg)).unwrap();
    assert_eq!((p.dbtime, p.objid), (5, 77));
}

/// LRSCRUB: LRNODE_ (44 bytes) + flags@44, cscrubOper@48, cbData@52, ops.
fn scrub(pgno: u32, after: u64, before: u64, unused: bool, ops: &[u8]) -> Vec<u8> {
    let mut b = vec![64u8, 9, 0, DBID];
    b.extend(pgno.to_le_bytes());
    b.extend(after.to_le_bytes());
    b.extend(before.to_le_bytes());
    b.extend([0u8; 44 - 24]);
    b.extend((unused as u32).to_le_bytes());
    b.extend((ops.len() as u32).to_le_bytes());
    b.extend((ops.len() as u16).to_le_bytes());
    b.extend(ops);
    b
}

fn leaves(fx: &Fx) -> Vec<(u32, PageImage)> {
    (1..=fx.page_count())
        .filter_map(|pg| {
            let b = fx.page(pg);
            if b.iter().all(|&x| x == 0) {
                return None;
            }
            let p = PageImage::parse(&b).ok()?;
            (p.flags & FLAG_LEAF != 0 && p.lines.len() >= 3 && p.lines[1].data.len() >= 2)
                .then_some((pg, p))
        })
        .collect()
}

fn free_area(b: &[u8], ps: usize, nlines: usize) -> &[u8] {
    let start = crate::parse::page::header_size(ps) + crate::parse::u16_at(b, 32) as usize;
    &b[start..ps - 4 * (nlines + 1)]
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn scrub_overwrites_listed_nodes_under_the_dbtime_rule() {
    let Some(mut fx) = fixture() else { return };
    let ls = leaves(&fx);
    assert!(ls.len() >= 3, "{}", ls.len());
    let (pg, p0) = ls[0].clone();
    let n = p0.lines.len();
    let mut ops = vec![0u8; n];
    ops[0] = 1;
    ops[1] = 2;
    let after = fx.db().dbtime_max + 1;
    let r = rec(64, scrub(pg, after, p0.dbtime, false, &ops), 0x150);
    assert!(fx.apply(&r).unwrap());
    let b = fx.page(pg);
    let p = PageImage::parse(&b).unwrap();
    assert_eq!(p.dbtime, after);
    assert_ne!(p.flags & FLAG_SCRUBBED, 0);
    assert_eq!(p.flags & !FLAG_SCRUBBED, p0.flags);
    assert_eq!(p.lines.len(), n);
    assert!(p.lines[0].data.iter().all(|&x| x == b'D'));
    assert_eq!(p.lines[0].data.len(), p0.lines[0].data.len());
    assert_eq!(p.lines[1].data[0], 0x20);
    assert!(p.lines[1].data[1..].iter().all(|&x| x == b'L'));
    assert_eq!(p.lines[0].flags, p0.lines[0].flags & !NODE_VERSIONED);
    for i in 0..n {
        assert_eq!(p.key(i), p0.key(i));
        if i >= 2 {
            assert_eq!(p.lines[i], p0.lines[i]);
        }
    }
    let free = free_area(&b, fx.ps, n);
    assert!(!free.is_empty() && free.iter().all(|&x| x == b'Z'));
    // Replayed again: already applied, nothing written.
    let (applied0, file0) = (fx.rd.stats.pages_already_applied, fx.file());
    assert!(!fx.apply(&r).unwrap());
    assert_eq!(fx.rd.stats.pages_already_applied, applied0 + 1);
    assert_eq!(fx.file(), file0);

    // Unused page: every line goes, free space 'U', tag 0 kept.
    let (pg2, q0) = ls[1].clone();
    let after2 = after + 1;
    assert!(fx
        .apply(&rec(64, scrub(pg2, after2, q0.dbtime, true, &[]), 0x151))
        .unwrap());
    let b2 = fx.page(pg2);
    let q = PageImage::parse(&b2).unwrap();
    assert!(q.lines.is_empty());
    assert_eq!(q.ext, q0.ext);
    assert_eq!(q.dbtime, after2);
    assert!(free_area(&b2, fx.ps, 0).iter().all(|&x| x == b'U'));

    // dbtime mismatches: before above the page → −566, below → −567.
    let (pg3, s0) = ls[2].clone();
    let ops3 = vec![0u8; s0.lines.len()];
    let e = fx
        .apply(&rec(
            64,
            scrub(pg3, after2 + 5, s0.dbtime + 1, false, &ops3),
            0x152,
        ))
        .unwrap_err();
    assert_eq!(e.jet(), Some(Jet::DB_TIME_TOO_OLD));
    let e = fx
        .apply(&rec(
            64,
            scrub(pg3, after2 + 5, s0.dbtime - 1, false, &ops3),
            0x153,
        ))
        .unwrap_err();
    assert_eq!(e.jet(), Some(Jet::DB_TIME_TOO_NEW));
    assert_eq!(fx.rd.stats.mismatches.len(), 2);
    // Operation count different from the page's lines: refused.
    let e = fx
        .apply(&rec(
            64,
            scrub(pg3, after2 + 5, s0.dbtime, false, &ops3[1..]),
            0x154,
        ))
        .unwrap_err();
    assert_eq!(e.jet(), Some(Jet::LOG_FILE_CORRUPT));
    assert_eq!(PageImage::parse(&fx.page(pg3)).unwrap(), s0);
    // A later node operation on the scrubbed page clears fPageScrubbed.
    let mut fd = vec![32u8, 9, 0, DBID];
    fd.extend(pg.to_le_bytes());
    fd.extend((after2 + 10).to_le_bytes());
    fd.extend(after.to_le_bytes());
    fd.extend([0u8; 5]);
    fd.extend(2u16.to_le_bytes());
    fd.extend([0u8; 44 - 31]);
    assert!(fx.apply(&rec(32, fd, 0x155)).unwrap());
    assert_eq!(
        PageImage::parse(&fx.page(pg)).unwrap().flags & FLAG_SCRUBBED,
        0
    );
}

/// A leaf with both siblings and the internal page pointing at it.
fn movable(fx: &Fx) -> Option<(u32, u32, usize)> {
    for q in 1..=fx.page_count() {
        let b = fx.page(q);
        if b.iter().all(|&x| x == 0) {
            continue;
        }
        let Ok(p) = PageImage::parse(&b) else {
            continue;
        };
        if p.flags & FLAG_LEAF != 0 {
            continue;
        }
        for (i, l) in p.lines.iter().enumerate() {
            if l.data.len() != 4 {
                continue;
            }
            let c = u32_at(&l.data, 0);
            let cb = fx.page(c);
            if cb.iter().all(|&x| x == 0) {
                continue;
            }
            let cp = PageImage::parse(&cb).ok()?;
            if cp.flags & FLAG_LEAF != 0 && cp.prev != 0 && cp.next != 0 && !cp.lines.is_empty() {
                return Some((q, c, i));
            }
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn page_move(
    src: u32,
    dest: u32,
    left: u32,
    right: u32,
    parent: u32,
    after: u64,
    befores: [u64; 4],
    iline_parent: u32,
    img: (&[u8], &[u8]),
) -> Vec<u8> {
    let mut b = vec![65u8, 9, 0, DBID];
    b.extend(src.to_le_bytes());
    b.extend(after.to_le_bytes());
    b.extend(befores[0].to_le_bytes());
    b.extend([0u8; 8]);
    for x in [dest, left, right, parent] {
        b.extend(x.to_le_bytes());
    }
    for x in &befores[1..] {
        b.extend(x.to_le_bytes());
    }
    b.extend(0u32.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend(iline_parent.to_le_bytes());
    b.extend(0u32.to_le_bytes());
    b.extend((img.0.len() as u32).to_le_bytes());
    b.extend((img.1.len() as u32).to_le_bytes());
    b.extend(img.0);
    b.extend(img.1);
    b
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn page_move_relocates_a_leaf_and_fixes_its_neighbours() {
    let Some(mut fx) = fixture() else { return };
    let (parent, src, iline) = movable(&fx).expect("a movable leaf");
    let n = fx.page_count();
    let dest = (1..=n)
        .rev()
        .find(|&p| fx.page(p).iter().all(|&x| x == 0))
        .unwrap();
    let sb = fx.page(src);
    let s0 = PageImage::parse(&sb).unwrap();
    let (left, right) = (s0.prev, s0.next);
    let par0 = PageImage::parse(&fx.page(parent)).unwrap();
    let l0 = PageImage::parse(&fx.page(left)).unwrap();
    let r0 = PageImage::parse(&fx.page(right)).unwrap();
    assert_eq!((l0.next, r0.prev), (src, src));
    // the logged image: header + used data, and the tag array
    let ps = fx.ps;
    let cbh = crate::parse::page::header_size(ps) + crate::parse::u16_at(&sb, 32) as usize;
    let cbt = 4 * (s0.lines.len() + 1);
    let img = (&sb[..cbh], &sb[ps - cbt..]);
    let after = fx.db().dbtime_max + 1;
    let befores = [s0.dbtime, l0.dbtime, r0.dbtime, par0.dbtime];
    let data = page_move(
        src,
        dest,
        left,
        right,
        parent,
        after,
        befores,
        iline as u32,
        img,
    );
    let r = rec(65, data.clone(), 0x160);
    assert!(fx.apply(&r).unwrap());
    let d = PageImage::parse(&fx.page(dest)).unwrap();
    assert_eq!(d.dbtime, after);
    assert_eq!(
        (&d.lines, &d.ext, d.prev, d.next, d.objid, d.flags),
        (&s0.lines, &s0.ext, s0.prev, s0.next, s0.objid, s0.flags)
    );
    let s = PageImage::parse(&fx.page(src)).unwrap();
    assert!(s.lines.is_empty() && s.ext.is_empty());
    assert_ne!(s.flags & crate::parse::page::FLAG_EMPTY, 0);
    assert_eq!(s.dbtime, after);
    let par = PageImage::parse(&fx.page(parent)).unwrap();
    assert_eq!(par.lines[iline].data, dest.to_le_bytes());
    for (i, l) in par.lines.iter().enumerate() {
        if i != iline {
            assert_eq!(l, &par0.lines[i]);
        }
    }
    assert_eq!(par.dbtime, after);
    let (l1, r1) = (
        PageImage::parse(&fx.page(left)).unwrap(),
        PageImage::parse(&fx.page(right)).unwrap(),
    );
    assert_eq!((l1.next, l1.prev, l1.dbtime), (dest, l0.prev, after));
    assert_eq!((r1.prev, r1.next, r1.dbtime), (dest, r0.next, after));
    assert_eq!(l1.lines, l0.lines);
    assert_eq!(fx.rd.stats.pages_redone, 5);
    // Again: everything already applied.
    let file1 = fx.file();
    let dest1 = fx.page(dest);
    assert!(!fx.apply(&r).unwrap());
    assert_eq!(fx.file(), file1);
    // Destination lost (blank), source flushed: the source is rebuilt from
    // the logged image and the move redone.
    fx.rd
        .dbs
        .get_mut(&DBID)
        .unwrap()
        .store
        .zero_page(dest)
        .unwrap();
    let used0 = fx.rd.stats.before_images.used;
    assert!(fx.apply(&r).unwrap());
    assert_eq!(fx.rd.stats.before_images.used, used0 + 1);
    assert_eq!(fx.page(dest), dest1);
    assert_eq!(fx.file(), file1);
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn page_move_dbtime_mismatch_and_bad_parent() {
    let Some(mut fx) = fixture() else { return };
    let (parent, src, iline) = movable(&fx).expect("a movable leaf");
    let n = fx.page_count();
    let dest = (1..=n)
        .rev()
        .find(|&p| fx.page(p).iter().all(|&x| x == 0))
        .unwrap();
    let s0 = PageImage::parse(&fx.page(src)).unwrap();
    let (left, right) = (s0.prev, s0.next);
    let dt = |fx: &Fx, p: u32| u64_at(&fx.page(p), 8);
    let after = fx.db().dbtime_max + 1;
    let b0 = [dt(&fx, src), dt(&fx, left), dt(&fx, right), dt(&fx, parent)];
    let file0 = fx.file();
    // parent before below the page: −567; left before above the page: −566.
    let mut b = b0;
    b[3] -= 1;
    let e = fx
        .apply(&rec(
            65,
            page_move(
                src,
                dest,
                left,
                right,
                parent,
                after,
                b,
                iline as u32,
                (&[], &[]),
            ),
            0x170,
        ))
        .unwrap_err();
    assert_eq!(e.jet(), Some(Jet::DB_TIME_TOO_NEW));
    let mut b = b0;
    b[1] += 1;
    let e = fx
        .apply(&rec(
            65,
            page_move(
                src,
                dest,
                left,
                right,
                parent,
                after,
                b,
                iline as u32,
                (&[], &[]),
            ),
            0x171,
        ))
        .unwrap_err();
    assert_eq!(e.jet(), Some(Jet::DB_TIME_TOO_OLD));
    assert_eq!(fx.file(), file0, "nothing written before the checks pass");
    // The parent line does not point at the source: refused.
    let other = (iline + 1) % PageImage::parse(&fx.page(parent)).unwrap().lines.len();
    let e = fx
        .apply(&rec(
            65,
            page_move(
                src,
                dest,
                left,
                right,
                parent,
                after,
                b0,
                other as u32,
                (&[], &[]),
            ),
            0x172,
        ))
        .unwrap_err();
    assert_eq!(e.jet(), Some(Jet::DATABASE_CORRUPTED));
    // Root page moves only inside their macro.
    let mut d = page_move(
        src,
        dest,
        left,
        right,
        parent,
        after,
        b0,
        iline as u32,
        (&[], &[]),
    );
    d[84] = 1;
    let e = fx.apply(&rec(65, d, 0x173)).unwrap_err();
    assert!(
        e.to_string().contains("outside its RootPageMove macro"),
        "{}",
        e
    );
    let mut rpm = vec![96u8];
    rpm.extend([0u8; 15]);
    let e = fx.apply(&rec(96, rpm, 0x174)).unwrap_err();
    assert!(
        e.to_string().contains("RootPageMove outside a macro"),
        "{}",
        e
    );
}

fn lrnode(t: u8, pgno: u32, after: u64, before: u64, iline: u16, objid: u32) -> Vec<u8> {
    let mut b = vec![t, 9, 0, DBID];
    b.extend(pgno.to_le_bytes());
    b.extend(after.to_le_bytes());
    b.extend(before.to_le_bytes());
    b.extend([0u8; 5]);
    b.extend(iline.to_le_bytes());
    b.push(0);
    b.extend([0u8; 8]);
    b.extend(objid.to_le_bytes());
    b
}

struct RootMove {
    fdp: u32,
    oe: u32,
    ae: u32,
    child: u32,
    cat: u32,
    dests: [u32; 3],
}

fn root_move_case(fx: &Fx) -> Option<RootMove> {
    let n = fx.page_count();
    let imgs: Vec<Option<PageImage>> = (1..=n)
        .map(|p| {
            let b = fx.page(p);
            (!b.iter().all(|&x| x == 0))
                .then(|| PageImage::parse(&b).ok())
                .flatten()
        })
        .collect();
    let get = |p: u32| imgs.get(p as usize - 1).and_then(|x| x.as_ref());
    let root = |p: &PageImage| p.flags & crate::parse::page::FLAG_ROOT != 0 && p.ext.len() == 16;
    for fdp in 1..=n {
        let Some(f) = get(fdp) else { continue };
        if !root(f) || f.ext[8] & 1 == 0 || f.objid <= 1 {
            continue;
        }
        let oe = u32_at(&f.ext, 12);
        let (Some(o), Some(a)) = (get(oe), get(oe + 1)) else {
            continue;
        };
        if o.objid != f.objid || a.objid != f.objid {
            continue;
        }
        let Some(child) = (1..=n)
            .find(|&c| c != fdp && get(c).is_some_and(|p| root(p) && u32_at(&p.ext, 4) == fdp))
        else {
            continue;
        };
        let cat = (1..=n).find(|&c| {
            ![fdp, oe, oe + 1, child].contains(&c)
                && get(c).is_some_and(|p| {
                    (p.objid == 2 || p.objid == 3) && p.flags & FLAG_LEAF != 0 && p.lines.len() >= 2
                })
        })?;
        let mut blanks = (1..=n).rev().filter(|&p| get(p).is_none());
        let dests = [blanks.next()?, blanks.next()?, blanks.next()?];
        return Some(RootMove {
            fdp,
            oe,
            ae: oe + 1,
            child,
            cat,
            dests,
        });
    }
    None
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn root_page_move_macro_moves_root_oe_ae_and_repoints_children_and_catalog() {
    let Some(mut fx) = fixture() else { return };
    let Some(c) = root_move_case(&fx) else {
        for p in 1..=fx.page_count() {
            if let Ok(q) = PageImage::parse(&fx.page(p)) {
                if q.flags & crate::parse::page::FLAG_ROOT != 0 {
                    eprintln!(
                        "root {p} objid {} flags {:x} ext {:02x?}",
                        q.objid, q.flags, q.ext
                    );
                }
            }
        }
        panic!("no case");
    };
    let ps = fx.ps;
    let img = |b: &[u8]| {
        let p = PageImage::parse(b).unwrap();
        let cbh = crate::parse::page::header_size(ps) + crate::parse::u16_at(b, 32) as usize;
        let cbt = 4 * (p.lines.len() + 1);
        (b[..cbh].to_vec(), b[ps - cbt..].to_vec())
    };
    let old: Vec<Vec<u8>> = [c.fdp, c.oe, c.ae, c.child, c.cat]
        .iter()
        .map(|&p| fx.page(p))
        .collect();
    let olds: Vec<PageImage> = old.iter().map(|b| PageImage::parse(b).unwrap()).collect();
    let objid = olds[0].objid;
    let after = fx.db().dbtime_max + 1;
    let mut new_sph = olds[3].ext.clone();
    new_sph[4..8].copy_from_slice(&c.dests[0].to_le_bytes());
    let mut new_cat = olds[4].lines[0].data.clone();
    *new_cat.last_mut().unwrap() ^= 0x5A;
    let macro_recs = |befores: [u64; 5]| -> Vec<LogRecord> {
        let mut v = Vec::new();
        let mut mb = vec![11u8, 9, 0];
        mb.extend(after.to_le_bytes());
        v.push(mb);
        let mut rpm = vec![96u8];
        rpm.extend(after.to_le_bytes());
        rpm.push(DBID);
        rpm.extend(objid.to_le_bytes());
        rpm.extend(9u16.to_le_bytes());
        v.push(rpm);
        for (i, (src, flag)) in [(c.fdp, 1u32), (c.oe, 2), (c.ae, 4)]
            .into_iter()
            .enumerate()
        {
            let (h, t) = img(&old[i]);
            let mut pm = page_move(
                src,
                c.dests[i],
                0,
                0,
                0,
                after,
                [befores[i], 0, 0, 0],
                0,
                (&h, &t),
            );
            pm[84..88].copy_from_slice(&flag.to_le_bytes());
            v.push(pm);
        }
        let mut seh = lrnode(38, c.child, after, befores[3], 0, olds[3].objid);
        seh.extend((new_sph.len() as u16).to_le_bytes());
        seh.extend(&new_sph);
        v.push(seh);
        let mut rp = lrnode(33, c.cat, after, befores[4], 0, 2);
        rp.extend((new_cat.len() as u16).to_le_bytes());
        rp.extend((olds[4].lines[0].data.len() as u16).to_le_bytes());
        rp.extend((new_cat.len() as u16).to_le_bytes());
        rp.extend(&new_cat);
        v.push(rp);
        let mut mc = vec![12u8, 9, 0];
        mc.extend(after.to_le_bytes());
        v.push(mc);
        v.into_iter()
            .enumerate()
            .map(|(i, d)| rec(d[0], d, 0x200 + i as u16))
            .collect()
    };
    let befores: [u64; 5] = [0, 1, 2, 3, 4].map(|i| olds[i].dbtime);
    // A wrong before on the OE page: −566, nothing written.
    let file0 = fx.file();
    let mut bad = befores;
    bad[1] += 1;
    let recs = macro_recs(bad);
    let mut res = Ok(false);
    for r in &recs {
        res = fx.apply(r);
        if res.is_err() {
            break;
        }
    }
    assert_eq!(res.unwrap_err().jet(), Some(Jet::DB_TIME_TOO_OLD));
    assert_eq!(fx.file(), file0);
    // The real one.
    let recs = macro_recs(befores);
    for r in &recs {
        fx.apply(r).unwrap();
    }
    let pg = |fx: &Fx, p: u32| PageImage::parse(&fx.page(p)).unwrap();
    for (i, &d) in c.dests.iter().enumerate() {
        let n = pg(&fx, d);
        assert_eq!(n.dbtime, after);
        assert_eq!(
            (&n.lines, n.prev, n.next, n.objid),
            (&olds[i].lines, olds[i].prev, olds[i].next, objid)
        );
        let mut ext = olds[i].ext.clone();
        if i == 0 {
            ext[12..16].copy_from_slice(&c.dests[1].to_le_bytes());
        }
        assert_eq!(n.ext, ext, "dest {i}");
        let s = pg(&fx, [c.fdp, c.oe, c.ae][i]);
        assert!(s.lines.is_empty() && s.ext.is_empty());
        assert_ne!(s.flags & crate::parse::page::FLAG_EMPTY, 0);
        assert_eq!(s.dbtime, after);
    }
    let ch = pg(&fx, c.child);
    assert_eq!((ch.ext.clone(), ch.dbtime), (new_sph.clone(), after));
    assert_eq!(ch.lines, olds[3].lines);
    let cat = pg(&fx, c.cat);
    assert_eq!(
        (cat.lines[0].data.clone(), cat.dbtime),
        (new_cat.clone(), after)
    );
    assert_eq!(cat.lines[1..], olds[4].lines[1..]);
    // Replayed: nothing changes.
    let file1 = fx.file();
    let root1 = fx.page(c.dests[0]);
    for r in &recs {
        fx.apply(r).unwrap();
    }
    assert_eq!(fx.file(), file1);
    // New root page lost: rebuilt from the logged image.
    fx.rd
        .dbs
        .get_mut(&DBID)
        .unwrap()
        .store
        .zero_page(c.dests[0])
        .unwrap();
    for r in &recs {
        fx.apply(r).unwrap();
    }
    assert_eq!(fx.page(c.dests[0]), root1);
    assert_eq!(fx.file(), file1);
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn old_split_merge_convert_are_refused_as_ese_does() {
    let Some(mut fx) = fixture() else { return };
    let file0 = fx.file();
    for (t, len) in [(26u8, 60usize), (27, 102), (28, 88)] {
        let mut b = lrnode(t, 4, fx.db().dbtime_max + 1, 1, 0, 2);
        b.resize(len, 0);
        let e = fx.apply(&rec(t, b, 0x300 + t as u16)).unwrap_err();
        assert_eq!(e.jet(), Some(Jet::BAD_LOG_VERSION), "{t}");
        assert!(e.to_string().contains("deprecated record type"), "{e}");
    }
    assert_eq!(fx.file(), file0);
}
