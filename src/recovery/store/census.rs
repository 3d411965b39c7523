//! What the worker's pass over the input database (the copier, or the
//! hasher of a database replayed in place or of a reflink clone's input:
//! `overlap.rs`) saw of each page,
//! in `/k`'s terms, so that the verification (`super::super::verify`) reads
//! back only the pages that changed instead of scanning the file again.
//!
//! Each page read is classified by [`crate::checksum_scan::classify_page`]
//! (the function the `/k` scan uses) and kept as 2 bits, its class; for
//! the "highest page dbtime" fact, the [`TOP`] best (dbtime, pgno) of the
//! verified data pages and the best of each [`GROUP`] pages are kept.
//! Memory: 2 bits per page plus 16 bytes per group (9 MiB for 200 GB of
//! 8 KiB pages) plus [`TOP`] entries.
//!
//! At verification ([`PassCensus::fold`]) the pages whose bytes may differ
//! from what the pass read (headers, pages written or zeroed, pages beyond
//! the fewest the file had, the last page of the input and of the result,
//! whose trailer test depends on the file's length) are read back from the
//! final file and classified there; every other page is counted from its
//! class. The sum equals what [`crate::checksum_scan::scan_database`] gives
//! on the final file. Where the top list cannot tell the highest dbtime
//! (every entry kept is a page read back), the groups can: in the order of
//! their best page, a group whose best page is counted from the census
//! ends the search, one whose best page was read back has its other pages
//! read again, until no group left can beat what was found. Where the
//! census is not whole, `fold` gives `None` and the caller scans the file.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

use crate::checksum_scan::{
    classify_page, dbtime_candidate, Counts, PageResult, Verdict, HEADER_PAGES,
};
use crate::db::classify::expect_ecc_for;

/// Entries of the top list (16 bytes each: 256 KiB). The pages a replay
/// writes are mostly those of the highest dbtimes in the input (all 83 of
/// the 100-log bench set rank first); the list must outnumber them.
pub(crate) const TOP: usize = 16384;

/// Pages per group (1 MiB of 8 KiB pages).
pub(crate) const GROUP: u64 = 128;

/// A page's class, 2 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Class {
    Ok = 0,
    Uninitialized = 1,
    Correctable = 2,
    /// Counted as a bad checksum by eseutil (bad, wrong page number, not
    /// an ESE page).
    Failed = 3,
}

impl Class {
    fn of(v: &Verdict) -> Class {
        match v {
            Verdict::Ok => Class::Ok,
            Verdict::Uninitialized => Class::Uninitialized,
            Verdict::Correctable { .. } => Class::Correctable,
            _ => Class::Failed,
        }
    }
}

/// A page's rank for the highest dbtime: larger is better; of two pages
/// with the same dbtime the lower one, the first in file order, as `/k`
/// keeps it.
type Rank = (u64, Reverse<u32>);

fn rank(dbtime: u64, pgno: u32) -> Rank {
    (dbtime, Reverse(pgno))
}

/// `/k`'s classes of the pages of the input, as the worker read them.
#[derive(Debug)]
pub(crate) struct PassCensus {
    page_size: usize,
    expect_ecc: bool,
    /// Whole pages of the input (its last physical page).
    last_phys: u64,
    /// The next physical page to classify (pages come in file order).
    next_phys: u64,
    /// 2 bits per physical page, page 1 in the low bits of word 0.
    classes: Vec<u64>,
    /// The best `top_max` ranks of verified data pages (a min-heap).
    top: BinaryHeap<Reverse<Rank>>,
    /// [`TOP`] (smaller in tests).
    top_max: usize,
    /// The best (dbtime, pgno) of each [`GROUP`] physical pages (dbtime 0:
    /// none).
    groups: Vec<(u64, u32)>,
    /// Pages came out of order: the census is unusable.
    broken: bool,
}

impl PassCensus {
    /// A census of an input of `len` bytes with `page_size`-byte pages.
    pub(crate) fn new(len: u64, page_size: usize) -> PassCensus {
        let last_phys = len / page_size as u64;
        PassCensus {
            page_size,
            expect_ecc: expect_ecc_for(page_size),
            last_phys,
            next_phys: 1,
            classes: vec![0; last_phys.div_ceil(32) as usize],
            top: BinaryHeap::new(),
            top_max: TOP,
            groups: vec![(0, 0); last_phys.div_ceil(GROUP) as usize],
            broken: false,
        }
    }

    /// Classifies the whole pages of `bytes`, read at byte `off` of the
    /// input; chunks must come in file order, without a gap.
    pub(crate) fn see(&mut self, bytes: &[u8], off: u64) {
        let ps = self.page_size as u64;
        if off != (self.next_phys - 1) * ps {
            self.broken = true;
        }
        if self.broken {
            return;
        }
        for page in bytes.chunks_exact(self.page_size) {
            let phys = self.next_phys;
            if phys > self.last_phys {
                break;
            }
            let r = classify_page(page, phys, self.last_phys, self.expect_ecc);
            self.set(phys, Class::of(&r.verdict));
            if let Some(t) = dbtime_candidate(&r, page) {
                self.offer(rank(t, r.page as u32));
                let g = &mut self.groups[((phys - 1) / GROUP) as usize];
                if rank(t, r.page as u32) > rank(g.0, g.1) {
                    *g = (t, r.page as u32);
                }
            }
            self.next_phys += 1;
        }
    }

    /// Whether every page of the input was classified.
    pub(crate) fn is_whole(&self) -> bool {
        !self.broken && self.next_phys > self.last_phys
    }

    /// Page size.
    pub(crate) fn page_size(&self) -> usize {
        self.page_size
    }

    fn set(&mut self, phys: u64, c: Class) {
        let (w, s) = (((phys - 1) / 32) as usize, ((phys - 1) % 32) * 2);
        self.classes[w] = (self.classes[w] & !(3 << s)) | ((c as u64) << s);
    }

    fn class(&self, phys: u64) -> u64 {
        (self.classes[((phys - 1) / 32) as usize] >> (((phys - 1) % 32) * 2)) & 3
    }

    fn offer(&mut self, r: Rank) {
        if self.top.len() < self.top_max {
            self.top.push(Reverse(r));
        } else if self.top.peek().is_some_and(|w| r > w.0) {
            self.top.pop();
            self.top.push(Reverse(r));
        }
    }

    /// Pages of each class among physical pages `first..=last`.
    fn count(&self, first: u64, last: u64) -> [u64; 4] {
        let mut n = [0u64; 4];
        let mut p = first;
        while p <= last {
            if (p - 1) % 32 == 0 && p + 31 <= last {
                let w = self.classes[((p - 1) / 32) as usize];
                let (lo, hi) = (w & 0x5555_5555_5555_5555, (w >> 1) & 0x5555_5555_5555_5555);
                let three = (lo & hi).count_ones() as u64;
                let one = lo.count_ones() as u64 - three;
                let two = hi.count_ones() as u64 - three;
                n[1] += one;
                n[2] += two;
                n[3] += three;
                n[0] += 32 - one - two - three;
                p += 32;
            } else {
                n[self.class(p) as usize] += 1;
                p += 1;
            }
        }
        n
    }

    /// The best rank of a page `counted` says is counted from the census;
    /// `None` when the top list cannot tell (it is full and none of its
    /// pages is counted: the best counted page may have been left out).
    fn best(&self, counted: impl Fn(u32) -> bool) -> Option<Option<Rank>> {
        let best = self
            .top
            .iter()
            .map(|r| r.0)
            .filter(|r| counted(r.1 .0))
            .max();
        if best.is_none() && self.top.len() >= self.top_max {
            return None;
        }
        Some(best)
    }

    /// The best rank of a page `counted` says is counted from the census,
    /// found through the groups (physical pages up to `top`), pages of a
    /// group whose best page is not counted read again with `read`.
    fn best_by_groups(
        &self,
        counted: impl Fn(u32) -> bool,
        top: u64,
        read: &mut impl FnMut(u64) -> crate::error::Result<Vec<u8>>,
    ) -> crate::error::Result<Option<Rank>> {
        let mut order: Vec<Rank> = (self.groups.iter())
            .filter(|g| g.0 > 0)
            .map(|g| rank(g.0, g.1))
            .collect();
        order.sort_unstable_by(|a, b| b.cmp(a));
        let mut best: Option<Rank> = None;
        for g in order {
            if best.is_some_and(|b| b > g) {
                break;
            }
            if counted(g.1 .0) {
                return Ok(best.max(Some(g)));
            }
            let first = (g.1 .0 as u64 + HEADER_PAGES - 1) / GROUP * GROUP + 1;
            for phys in first.max(HEADER_PAGES + 1)..=(first + GROUP - 1).min(top) {
                let pgno = (phys - HEADER_PAGES) as u32;
                let c = self.class(phys);
                if !counted(pgno) || (c != Class::Ok as u64 && c != Class::Correctable as u64) {
                    continue;
                }
                let b = read(phys)?;
                let r = classify_page(&b, phys, self.last_phys, self.expect_ecc);
                if let Some(t) = dbtime_candidate(&r, &b) {
                    best = best.max(Some(rank(t, pgno)));
                }
            }
        }
        Ok(best)
    }

    /// The `/k` of the final file: the pages of `changes` read back with
    /// `read` (a physical page's bytes in the final file) into `tally`,
    /// every other page counted from the census. `None` when the census
    /// cannot give the result (not whole, another page size): scan the
    /// file instead.
    pub(crate) fn fold(
        &self,
        changes: &Changes,
        mut tally: Tally,
        mut read: impl FnMut(u64) -> crate::error::Result<Vec<u8>>,
    ) -> crate::error::Result<Option<Folded>> {
        if !self.is_whole() || tally.page_size != self.page_size {
            return Ok(None);
        }
        let last = tally.last_phys;
        // Physical pages the census may answer for: below the fewest the
        // file had, within the final file.
        let top = self.last_phys.min(changes.low_water_phys).min(last);
        let mut read_here: BTreeSet<u64> = (1..=HEADER_PAGES.min(last)).collect();
        read_here.extend(changes.zeroed.iter().copied());
        read_here.extend([self.last_phys, last]);
        read_here.extend(top + 1..=last);
        read_here.retain(|&p| (1..=last).contains(&p) && !changes.written.contains(&p));
        for &phys in &read_here {
            let b = read(phys)?;
            tally.page(phys, &b);
        }
        let not_counted: BTreeSet<u64> = read_here
            .iter()
            .chain(changes.written.iter())
            .copied()
            .filter(|p| (HEADER_PAGES + 1..=top).contains(p))
            .collect();
        let counted = |pgno: u32| {
            let p = pgno as u64 + HEADER_PAGES;
            (HEADER_PAGES + 1..=top).contains(&p) && !not_counted.contains(&p)
        };
        let best = match self.best(counted) {
            Some(best) => best,
            None => self.best_by_groups(counted, top, &mut read)?,
        };
        let mut n = if top > HEADER_PAGES {
            self.count(HEADER_PAGES + 1, top)
        } else {
            [0; 4]
        };
        for &p in &not_counted {
            n[self.class(p) as usize] -= 1;
        }
        let from_pass: u64 = n.iter().sum();
        let mut counts = tally.counts;
        counts.pages_seen += from_pass;
        counts.ok += n[Class::Ok as usize];
        counts.uninitialized += n[Class::Uninitialized as usize];
        counts.correctable += n[Class::Correctable as usize];
        counts.bad += n[Class::Failed as usize];
        if let Some((t, pg)) = tally.best.max(best) {
            counts.highest_dbtime = t;
            counts.highest_dbtime_pgno = pg.0;
        } else {
            counts.highest_dbtime = 0;
            counts.highest_dbtime_pgno = 0;
        }
        if counts.pages_seen != last {
            // Every page counted once: anything else is a mistake here.
            return Ok(None);
        }
        Ok(Some(Folded {
            counts,
            from_pass,
            read_back: tally.pages,
        }))
    }
}

/// What changed in the file since the pass read it, by physical page.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// Pages written (the store's ledger), already read back into the
    /// tally by the caller.
    pub written: BTreeSet<u64>,
    /// Pages zeroed and not written since.
    pub zeroed: BTreeSet<u64>,
    /// The fewest whole pages the file had since the pass began: the
    /// pages above were cut or grown, none is what the pass read.
    pub low_water_phys: u64,
}

/// Pages of the final file read back and classified, for [`PassCensus::fold`].
#[derive(Debug)]
pub(crate) struct Tally {
    page_size: usize,
    expect_ecc: bool,
    /// Whole pages of the final file.
    last_phys: u64,
    counts: Counts,
    best: Option<Rank>,
    pages: u64,
}

impl Tally {
    /// A tally for a final file of `len` bytes with `page_size`-byte pages.
    pub(crate) fn new(len: u64, page_size: usize) -> Tally {
        Tally {
            page_size,
            expect_ecc: expect_ecc_for(page_size),
            last_phys: len / page_size as u64,
            counts: Counts::default(),
            best: None,
            pages: 0,
        }
    }

    /// Whether data page `pgno` of the store is one of the final file:
    /// read back, it is classified into the tally (page 0 would be the
    /// shadow header, read apart).
    pub(crate) fn holds_data_page(&self, pgno: u32) -> bool {
        pgno >= 1 && pgno as u64 + HEADER_PAGES <= self.last_phys
    }

    /// Classifies physical page `phys` of the final file and counts it;
    /// its result.
    pub(crate) fn page(&mut self, phys: u64, bytes: &[u8]) -> PageResult {
        let r = classify_page(bytes, phys, self.last_phys, self.expect_ecc);
        self.counts.add(&r, bytes);
        if let Some(t) = dbtime_candidate(&r, bytes) {
            self.best = self.best.max(Some(rank(t, r.page as u32)));
        }
        self.pages += 1;
        r
    }
}

/// The `/k` of a final file made from the census and the pages read back.
#[derive(Debug)]
pub(crate) struct Folded {
    /// The counters, as the scan of the final file gives them (the failed
    /// pages of the census all in `bad`).
    pub counts: Counts,
    /// Pages counted from the census.
    pub from_pass: u64,
    /// Pages read back from the final file.
    pub read_back: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum_scan::synth::{data_page, header};
    use crate::checksum_scan::{scan_database, Quiet, ScanOptions};

    const PS: usize = 8192;

    fn page_at(b: &[u8], phys: u64) -> Vec<u8> {
        let o = (phys - 1) as usize * PS;
        b[o..o + PS].to_vec()
    }

    fn put(b: &mut Vec<u8>, phys: u64, page: &[u8]) {
        let o = (phys - 1) as usize * PS;
        if b.len() < o + PS {
            b.resize(o + PS, 0);
        }
        b[o..o + PS].copy_from_slice(page);
    }

    /// A database of `n` data pages, dbtime = 100 + pgno, with a few
    /// blank, damaged and correctable pages.
    fn input(n: u32) -> Vec<u8> {
        let mut b = header(PS);
        b.extend(header(PS));
        for pg in 1..=n {
            let mut p = data_page(PS, pg, 100 + pg as u64, pg % 2 == 0);
            match pg % 17 {
                3 => p.fill(0),
                5 => p[200] ^= 0x10,
                7 => p[300] ^= 0x5A,
                _ => {}
            }
            b.extend(p);
        }
        b
    }

    fn census_of(b: &[u8], chunk: usize) -> PassCensus {
        census_top(b, chunk, TOP)
    }

    fn census_top(b: &[u8], chunk: usize, top_max: usize) -> PassCensus {
        let mut c = PassCensus::new(b.len() as u64, PS);
        c.top_max = top_max;
        for (i, piece) in b.chunks(chunk * PS).enumerate() {
            c.see(piece, (i * chunk * PS) as u64);
        }
        c
    }

    fn scan(b: &[u8]) -> Counts {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("x.edb");
        std::fs::write(&f, b).unwrap();
        scan_database(&f, &ScanOptions::default(), &mut Quiet)
            .unwrap()
            .counts
    }

    /// Folds `out` (the final file) with `census` of the input, the pages
    /// of `written` read back first as the verification does.
    fn fold(census: &PassCensus, out: &[u8], ch: &Changes) -> Option<Folded> {
        let mut t = Tally::new(out.len() as u64, PS);
        for &p in &ch.written {
            t.page(p, &page_at(out, p));
        }
        census.fold(ch, t, |p| Ok(page_at(out, p))).unwrap()
    }

    fn same(f: &Folded, s: &Counts) {
        let c = &f.counts;
        assert_eq!(c.pages_seen, s.pages_seen);
        assert_eq!(c.ok, s.ok);
        assert_eq!(c.uninitialized, s.uninitialized);
        assert_eq!(c.correctable, s.correctable);
        assert_eq!(c.eseutil_bad(), s.eseutil_bad());
        assert_eq!(
            (c.highest_dbtime, c.highest_dbtime_pgno),
            (s.highest_dbtime, s.highest_dbtime_pgno)
        );
        assert_eq!(f.from_pass + f.read_back, s.pages_seen);
    }

    #[test]
    fn two_bits_count_by_class_across_words() {
        let b = input(200);
        let c = census_of(&b, 7);
        assert!(c.is_whole());
        let mut want = [0u64; 4];
        for p in 5..=150 {
            want[c.class(p) as usize] += 1;
        }
        assert_eq!(c.count(5, 150), want);
        assert_eq!(c.count(1, 202).iter().sum::<u64>(), 202);
        assert!(c.count(1, 202)[Class::Failed as usize] > 0);
        assert!(c.count(1, 202)[Class::Correctable as usize] > 0);
    }

    #[test]
    fn unchanged_file_folds_to_the_scan() {
        let b = input(300);
        let c = census_of(&b, 16);
        let ch = Changes {
            low_water_phys: 302,
            ..Default::default()
        };
        let f = fold(&c, &b, &ch).unwrap();
        same(&f, &scan(&b));
        // Headers and the last page only.
        assert_eq!(f.read_back, 3);
    }

    #[test]
    fn written_damaged_and_zeroed_pages_count_as_the_final_file_has_them() {
        let b = input(300);
        let c = census_of(&b, 16);
        let mut out = b.clone();
        let mut ch = Changes {
            low_water_phys: 302,
            ..Default::default()
        };
        // Page 7 damaged in the input (7 % 17 == 7) rewritten: not bad any more.
        for pg in [7u32, 30, 250] {
            put(
                &mut out,
                pg as u64 + 2,
                &data_page(PS, pg, 5000 + pg as u64, false),
            );
            ch.written.insert(pg as u64 + 2);
        }
        // A good page zeroed.
        put(&mut out, 40 + 2, &vec![0u8; PS]);
        ch.zeroed.insert(42);
        let f = fold(&c, &out, &ch).unwrap();
        same(&f, &scan(&out));
        assert_eq!(f.counts.highest_dbtime, 5250);
        assert_eq!(f.counts.highest_dbtime_pgno, 250);
        // Page 24 (7 % 17) stays bad: never written.
        assert!(f.counts.eseutil_bad() > 0);
    }

    #[test]
    fn grown_and_shrunk_files_read_what_changed() {
        let b = input(300);
        let c = census_of(&b, 16);
        // Grown by 20 pages, two written, the rest blank.
        let mut out = b.clone();
        out.resize(out.len() + 20 * PS, 0);
        let mut ch = Changes {
            low_water_phys: 302,
            ..Default::default()
        };
        for pg in [305u32, 310] {
            put(
                &mut out,
                pg as u64 + 2,
                &data_page(PS, pg, 9000 + pg as u64, false),
            );
            ch.written.insert(pg as u64 + 2);
        }
        let f = fold(&c, &out, &ch).unwrap();
        same(&f, &scan(&out));
        // Cut to 200 pages, then grown to 250 (the pages between blank).
        let mut out = b[..202 * PS].to_vec();
        out.resize(252 * PS, 0);
        let ch = Changes {
            low_water_phys: 202,
            ..Default::default()
        };
        let f = fold(&c, &out, &ch).unwrap();
        same(&f, &scan(&out));
        // Cut only.
        let out = b[..150 * PS].to_vec();
        let ch = Changes {
            low_water_phys: 150,
            ..Default::default()
        };
        same(&fold(&c, &out, &ch).unwrap(), &scan(&out));
    }

    #[test]
    fn equal_dbtimes_keep_the_first_page_and_the_groups_answer_past_the_top_list() {
        let mut b = header(PS);
        b.extend(header(PS));
        const TOP_MAX: usize = 50;
        let n = 400u32;
        for pg in 1..=n {
            // Page 390 newer than the others.
            b.extend(data_page(PS, pg, if pg == 390 { 8 } else { 7 }, false));
        }
        let c = census_top(&b, 16, TOP_MAX);
        let ch = Changes {
            low_water_phys: n as u64 + 2,
            ..Default::default()
        };
        let f = fold(&c, &b, &ch).unwrap();
        same(&f, &scan(&b));
        assert_eq!(f.counts.highest_dbtime_pgno, 390);
        // Every page of the top list (390, then 1 to 49) and more, across
        // the first groups, rewritten with an older dbtime: the groups
        // give the best page left, 201.
        let rewrite = |written: &BTreeSet<u64>| {
            let mut out = b.clone();
            for &p in written {
                put(&mut out, p, &data_page(PS, (p - 2) as u32, 5, false));
            }
            out
        };
        let mut ch = ch;
        ch.written = (3..=202).chain([392]).collect();
        let out = rewrite(&ch.written);
        let f = fold(&c, &out, &ch).unwrap();
        same(&f, &scan(&out));
        assert_eq!(f.counts.highest_dbtime_pgno, 201);
        // One page of the list left as it was: it is the answer.
        ch.written.remove(&20);
        let out = rewrite(&ch.written);
        let f = fold(&c, &out, &ch).unwrap();
        same(&f, &scan(&out));
        assert_eq!(f.counts.highest_dbtime_pgno, 18);
        // No page left verified: none.
        ch.written = (3..=402).collect();
        let mut out = b.clone();
        for &p in &ch.written {
            put(&mut out, p, &vec![0u8; PS]);
        }
        let f = fold(&c, &out, &ch).unwrap();
        same(&f, &scan(&out));
        assert_eq!(f.counts.highest_dbtime, 0);
    }

    #[test]
    fn an_incomplete_or_out_of_order_pass_is_not_used() {
        let b = input(100);
        let mut c = PassCensus::new(b.len() as u64, PS);
        c.see(&b[..50 * PS], 0);
        let ch = Changes {
            low_water_phys: 102,
            ..Default::default()
        };
        assert!(fold(&c, &b, &ch).is_none());
        c.see(&b[60 * PS..], 60 * PS as u64);
        assert!(!c.is_whole());
        assert!(fold(&c, &b, &ch).is_none());
    }
}
