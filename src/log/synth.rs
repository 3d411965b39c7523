//! Builders of synthetic log files from the specification, for tests and
//! fixtures: an 8.x segment writer that lays records out as the engine's log
//! writer does, and 7.x LRCHECKSUM logs, both able to leave a torn record
//! behind a restart (see [`super::record::TornRecord`]).
//!
//! Facts: `ese/_log/logwrite.cxx` ~990–1080 (`LOG_WRITE_BUFFER`: a 40-byte
//! LGSEGHDR opens each 4 KiB segment; a record that does not fit is
//! fragmented as FragmentBegin {lrtyp 76, cbTotalLRSize u32, cbFragmentSize
//! u16} then Fragment {lrtyp 77, cbFragmentSize u16} at the start of each
//! following segment, unless fewer than `LOG_MIN_FRAGMENT_SIZE` = 32 bytes are
//! left, which are filled with NOPs), `inc/_logstream.hxx` ~12–25 (LGSEGHDR),
//! `inc/logapi.hxx` ~1859–1878 (LRCHECKSUM), `ese/_log/logread_legacy.cxx`
//! ~4909–5030 (range and short checksums); `testdata/README.md` lists the
//! layouts built here.

use crate::checksum::{seal_header, seal_page};
use crate::log::lrck::{checksum_bytes, LRCK_SIZE, RANGE_SEED, SHORT_OFF, SHORT_ON, SHORT_SEED};
use crate::log::segments::{SEGMENT_HEADER_SIZE, SEGMENT_SIZE};

/// `LOG_MIN_FRAGMENT_SIZE` (`inc/_logstream.hxx` ~25).
pub const MIN_FRAGMENT: usize = 32;

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// A LOGTIME on 2024-03-`day` at `hour`:00:00 (UTC flag set).
pub fn day(day: u8, hour: u8) -> [u8; 8] {
    crate::synth::logtime(2024, 3, day, hour, 0, 0, 0, true)
}

/// Begin0 (lrtyp 8, 8 bytes): procid 7, one level from 0, `trx`.
pub fn begin0(trx: u32) -> Vec<u8> {
    let mut r = vec![8, 7, 0, 0x10, 0, 0, 0, 0];
    put32(&mut r, 4, trx);
    r
}

/// Commit0 (lrtyp 9, 8 bytes): procid 7, `trx`.
pub fn commit0(trx: u32) -> Vec<u8> {
    let mut r = vec![9, 7, 0, 0, 0, 0, 0, 0];
    put32(&mut r, 4, trx);
    r
}

/// Trace (lrtyp 22, 5 + cb bytes) with `cb` bytes of text.
pub fn trace(cb: u16) -> Vec<u8> {
    let mut r = vec![22, 7, 0, 0, 0];
    put16(&mut r, 3, cb);
    r.extend((0..cb as usize).map(|k| b'a' + (k % 26) as u8));
    r
}

/// RecoveryUndo2 (lrtyp 51, 9 bytes): the first record of a restart's undo.
pub fn recovery_undo2(time: [u8; 8]) -> Vec<u8> {
    let mut r = vec![51];
    r.extend_from_slice(&time);
    r
}

/// Term2 (lrtyp 50, 26 bytes), all fields zero.
pub fn term2() -> Vec<u8> {
    let mut r = vec![0u8; 26];
    r[0] = 50;
    r
}

/// An 8.x log being written, segment by segment.
#[derive(Debug, Clone)]
pub struct Log8 {
    gen: i32,
    time: [u8; 8],
    segs: Vec<Vec<u8>>,
}

impl Log8 {
    /// An empty generation `gen` whose segments start at `time`.
    pub fn new(gen: i32, time: [u8; 8]) -> Self {
        Log8 {
            gen,
            time,
            segs: Vec::new(),
        }
    }

    /// Opens the next segment: LGSEGHDR with lgpos (gen, isec, 0), the
    /// segment's start time and the new-checksum flag.
    fn open_segment(&mut self) {
        let mut s = vec![0u8; SEGMENT_HEADER_SIZE];
        put16(&mut s, 10, self.segs.len() as u16 + 1);
        put32(&mut s, 12, self.gen as u32);
        s[16..24].copy_from_slice(&self.time);
        put32(&mut s, 36, 0x2000);
        self.segs.push(s);
    }

    fn room(&mut self) -> usize {
        if self.segs.last().is_none_or(|s| s.len() == SEGMENT_SIZE) {
            self.open_segment();
        }
        SEGMENT_SIZE - self.segs.last().map_or(0, |s| s.len())
    }

    fn cur(&mut self) -> &mut Vec<u8> {
        self.segs.last_mut().expect("a segment is open")
    }

    /// The lgpos the next record would start at if it fits the current
    /// segment.
    pub fn position(&self) -> (u16, u16) {
        match self.segs.last() {
            Some(s) if s.len() < SEGMENT_SIZE => (self.segs.len() as u16, s.len() as u16),
            _ => (self.segs.len() as u16 + 1, SEGMENT_HEADER_SIZE as u16),
        }
    }

    /// Appends a record, fragmenting it as the log writer does. With
    /// `stop_after`, writes only the FragmentBegin and `stop_after − 1`
    /// Fragment records (the engine stopped there) and returns whether the
    /// record was left unfinished.
    fn write(&mut self, r: &[u8], stop_after: Option<usize>) -> bool {
        let mut rest = r;
        let mut fragments = 0usize;
        loop {
            let room = self.room();
            if fragments == 0 {
                if room < rest.len() && room < MIN_FRAGMENT {
                    self.cur().resize(SEGMENT_SIZE, 0);
                    continue;
                }
                if room >= rest.len() {
                    self.cur().extend_from_slice(rest);
                    return false;
                }
                let cb = room - 7;
                let c = self.cur();
                c.push(76);
                c.extend_from_slice(&(r.len() as u32).to_le_bytes());
                c.extend_from_slice(&(cb as u16).to_le_bytes());
                c.extend_from_slice(&rest[..cb]);
                rest = &rest[cb..];
            } else {
                let cb = rest.len().min(room - 3);
                let c = self.cur();
                c.push(77);
                c.extend_from_slice(&(cb as u16).to_le_bytes());
                c.extend_from_slice(&rest[..cb]);
                rest = &rest[cb..];
                if rest.is_empty() {
                    return false;
                }
            }
            fragments += 1;
            if stop_after == Some(fragments) {
                return true;
            }
        }
    }

    /// Appends a whole record.
    pub fn record(&mut self, r: &[u8]) {
        self.write(r, None);
    }

    /// Writes the start of `r` — its FragmentBegin and `segments − 1`
    /// Fragments — and stops as a crash would: the record stays unfinished.
    /// Panics when `r` would be complete within `segments` segments.
    pub fn torn(&mut self, r: &[u8], segments: usize) {
        assert!(self.write(r, Some(segments)), "record fits: not torn");
    }

    /// The engine restarted at `time`: later records go to new segments
    /// that carry this start time.
    pub fn restart(&mut self, time: [u8; 8]) {
        self.time = time;
        if let Some(c) = self.segs.last_mut() {
            c.resize(SEGMENT_SIZE, 0);
        }
    }

    /// The file: header (synth 8.4000.60 header of `gen`, created at `create`,
    /// with the previous generation's create time and accumulated segment
    /// checksum), sealed segments, zeros up to csecLGFile (256) segments.
    /// Returns the bytes and this file's accumulated segment checksum.
    pub fn finish(mut self, create: [u8; 8], prev: Option<([u8; 8], u64)>) -> (Vec<u8>, u64) {
        let mut f = crate::synth::log_header(self.gen);
        f[16..24].copy_from_slice(&create);
        if let Some((t, acc)) = prev {
            f[24..32].copy_from_slice(&t);
            f[653..661].copy_from_slice(&acc.to_le_bytes());
        }
        seal_header(&mut f[..4096]);
        let mut acc = 0u64;
        for (i, s) in self.segs.iter_mut().enumerate() {
            s.resize(SEGMENT_SIZE, 0);
            seal_page(s, i as u32 + 1);
            acc ^= u64::from_le_bytes(s[..8].try_into().expect("8 bytes"));
            f.extend_from_slice(s);
        }
        f.resize(256 * SEGMENT_SIZE, 0);
        (f, acc)
    }
}

/// Sector size of the 7.x builders.
pub const SEC7: usize = 512;

/// A 7.x log of 16 sectors of 512 bytes (csecHeader 8) for `gen`, created at
/// `create` after a generation created at `prev`; unused space holds the
/// 0xDA pattern. Facts as for `src/log/fixture7.rs` (`testdata/README.md`).
pub fn log7_file(gen: u32, create: [u8; 8], prev: [u8; 8]) -> Vec<u8> {
    let mut f = vec![0u8; 16 * SEC7];
    f[4096..].fill(0xDA);
    put32(&mut f, 4, gen);
    put16(&mut f, 8, SEC7 as u16);
    put16(&mut f, 10, 8);
    put16(&mut f, 12, 16);
    put16(&mut f, 14, 4096);
    f[16..24].copy_from_slice(&create);
    f[24..32].copy_from_slice(&prev);
    put32(&mut f, 32, 7);
    put32(&mut f, 36, 3704);
    put32(&mut f, 40, 15);
    put32(&mut f, 44, 0x1234_5678);
    f[48..56].copy_from_slice(&day(1, 0));
    put32(&mut f, 667, 3);
    seal_header(&mut f[..4096]);
    f
}

/// Writes an LRCHECKSUM at `pos` covering `back` bytes before it and `fwd`
/// after it, `next` bytes from its end to the next one, with the range and
/// (for a multi-sector range) short checksums of generation `gen`.
pub fn put_lrck(f: &mut [u8], pos: usize, back: u32, fwd: u32, next: u32, gen: u32) {
    let sec_end = (pos / SEC7 + 1) * SEC7;
    let multi = pos + LRCK_SIZE + fwd as usize > sec_end;
    f[pos] = 42;
    put32(f, pos + 1, back);
    put32(f, pos + 5, fwd);
    put32(f, pos + 9, next);
    f[pos + 21] = if multi { SHORT_ON } else { SHORT_OFF };
    let tail = back ^ fwd ^ next ^ f[pos + 21] as u32 ^ gen;
    let b0 = pos - back as usize;
    let fwd_end = pos + LRCK_SIZE + fwd as usize;
    let c = checksum_bytes(&f[b0..pos], RANGE_SEED);
    let c = checksum_bytes(&f[pos + LRCK_SIZE..fwd_end], c) ^ tail;
    put32(f, pos + 13, c);
    let short = if multi {
        let c = checksum_bytes(&f[b0..pos], SHORT_SEED);
        checksum_bytes(&f[pos + LRCK_SIZE..sec_end], c) ^ tail
    } else {
        0
    };
    put32(f, pos + 17, short);
}

/// Places `records` one after the other from `at`; returns the end.
pub fn place(f: &mut [u8], at: usize, records: &[Vec<u8>]) -> usize {
    let mut p = at;
    for r in records {
        f[p..p + r.len()].copy_from_slice(r);
        p += r.len();
    }
    p
}

/// The records a restarted engine writes first in the builders:
/// RecoveryUndo2, Term2, then a transaction.
pub fn restart_records(time: [u8; 8]) -> Vec<Vec<u8>> {
    vec![recovery_undo2(time), term2(), begin0(0x201), commit0(0x201)]
}

/// 7.x, torn inside the file: flush 1 (LRCHECKSUM at 4096, sectors 8–9)
/// ends with a Trace at 5100 whose 105 bytes run past the end of its range
/// (5120); the engine stopped; after the restart the LRCHECKSUM at 5160
/// (sector 10, offset 0x28) was written with cbBackwards 0 — it does not
/// cover the 40 bytes before it — followed by the restart records.
pub fn log7_torn_inside(gen: u32, create: [u8; 8], prev: [u8; 8]) -> Vec<u8> {
    let mut f = log7_file(gen, create, prev);
    let end1 = place(&mut f, 4118, &[begin0(0x101), trace(969)]);
    assert_eq!(end1, 5100);
    let torn = trace(100);
    f[5100..5160].copy_from_slice(&torn[..60]);
    let end2 = place(&mut f, 5182, &restart_records(day(2, 9)));
    put_lrck(&mut f, 5160, 0, (end2 - 5182) as u32, 0, gen);
    put_lrck(&mut f, 4096, 0, 1002, (5160 - 4118) as u32, gen);
    f
}

/// 7.x, torn at the very end of the generation: the last LRCHECKSUM (5160,
/// cbBackwards 40) covers a Begin0 and the first 22 bytes of a Trace of 205
/// bytes at 5190; nothing more was written.
pub fn log7_torn_at_end(gen: u32, create: [u8; 8], prev: [u8; 8]) -> Vec<u8> {
    let mut f = log7_file(gen, create, prev);
    let end1 = place(&mut f, 4118, &[begin0(0x101), trace(1021), commit0(0x102)]);
    assert_eq!(end1, 5160);
    place(&mut f, 5182, &[begin0(0x103)]);
    let torn = trace(200);
    f[5190..5212].copy_from_slice(&torn[..22]);
    put_lrck(&mut f, 5160, 40, 30, 0, gen);
    put_lrck(&mut f, 4096, 0, 1002, (5160 - 4118) as u32, gen);
    f
}

/// 7.x, the generation after [`log7_torn_at_end`]: one LRCHECKSUM at 4096
/// and the restart records.
pub fn log7_restarted(gen: u32, create: [u8; 8], prev: [u8; 8]) -> Vec<u8> {
    let mut f = log7_file(gen, create, prev);
    let end = place(&mut f, 4118, &restart_records(create));
    put_lrck(&mut f, 4096, 0, (end - 4118) as u32, 0, gen);
    f
}

/// 8.x, torn inside the file (generation `gen`): Begin0/Trace/Commit0 records
/// fill segment 1 up to 0xF00, a Trace of 6000 bytes is begun there
/// (FragmentBegin to the end of segment 1, `segments − 1` Fragments after),
/// the engine stops; after the restart (a day later) the restart records
/// start the next segment. With `end_torn`, the generation instead ends with
/// the torn record and nothing follows it.
pub fn log8_torn(gen: i32, segments: usize, end_torn: bool) -> Log8 {
    let mut l = Log8::new(gen, day(1, 10));
    l.record(&begin0(0x101));
    l.record(&trace(3000));
    l.record(&commit0(0x101));
    let (_, off) = l.position();
    l.record(&trace((0xF00 - off as usize - 5) as u16));
    assert_eq!(l.position(), (1, 0xF00));
    l.torn(&trace(6000), segments);
    if !end_torn {
        l.restart(day(2, 9));
        for r in restart_records(day(2, 9)) {
            l.record(&r);
        }
    }
    l
}

/// 8.x, the generation after `log8_torn(.., end_torn = true)`: the restart
/// records from the first segment.
pub fn log8_restarted(gen: i32) -> Log8 {
    let mut l = Log8::new(gen, day(2, 9));
    for r in restart_records(day(2, 9)) {
        l.record(&r);
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::record::{read_stream, Layout};
    use crate::log::scan::scan_log;
    use crate::log::set::walk_records;
    use crate::parse::primitives::Lgpos;

    fn lg(generation: i32, sector: u16, offset: u16) -> Lgpos {
        Lgpos {
            generation,
            sector,
            offset,
        }
    }

    #[test]
    fn writer_fragments_and_pads_as_the_engine() {
        let mut l = Log8::new(3, day(1, 1));
        l.record(&trace(4000)); // 4005 bytes fit after the 40-byte header
        assert_eq!(l.position(), (1, 4045));
        l.record(&begin0(1)); // fits (51 bytes left)
        l.record(&trace(100)); // 43 left < 32? no: 43 ≥ 32, fragmented
        let (f, _) = l.finish(day(1, 1), None);
        let (s, e) = read_stream(
            &f,
            3,
            4096,
            Layout::Segments {
                first: 1,
                last: Some(2),
                clean_end: true,
            },
        );
        assert!(e.is_none(), "{e:?}");
        let t: Vec<(u8, u16)> = s.records.iter().map(|r| (r.lrtyp, r.fragments)).collect();
        assert_eq!(t, [(22, 0), (8, 0), (22, 2), (0, 0)]);
    }

    #[test]
    fn eight_x_torn_inside_restarts_at_the_next_segment() {
        for segments in [1, 2] {
            let (mut f, _) = log8_torn(5, segments, false).finish(day(1, 10), None);
            let scan = scan_log(&mut f).unwrap();
            assert!(scan.ok());
            let w = walk_records(&f, &scan);
            assert!(w.error.is_none(), "{:?}", w.error);
            let restart = lg(5, 1 + segments as u16, 0);
            assert_eq!(w.torn.len(), 1);
            let t = w.torn[0];
            assert_eq!(t.lgpos, lg(5, 1, 0xF00));
            assert_eq!(t.restart_lgpos, Some(restart));
            assert_eq!(t.lrtyp, Some(22));
            let frag = 4096 - 0xF00;
            assert_eq!(t.bytes as usize, frag + (segments - 1) * (4096 - 40));
            let i = w.records.iter().position(|r| r.lrtyp == 51).unwrap();
            assert_eq!(w.records[i].lgpos, restart);
            assert_eq!(w.records[i + 1].lgpos, lg(5, restart.sector, 40 + 9));
            assert!(w.lands_on_end());
        }
    }

    /// An UndoInfo (lrtyp 36) of `56 + cb` bytes.
    fn undo_info(cb: u16) -> Vec<u8> {
        let mut r = vec![0u8; 56 + cb as usize];
        r[0] = 36;
        put16(&mut r, 54, cb);
        r
    }

    fn walk_8x(l: Log8) -> crate::log::set::RecordWalk {
        let (mut f, _) = l.finish(day(1, 10), None);
        let scan = scan_log(&mut f).unwrap();
        walk_records(&f, &scan)
    }

    #[test]
    fn fragmented_undo_info_after_a_torn_record_keeps_the_torn_lgpos() {
        let mut l = log8_torn(5, 1, true);
        l.restart(day(2, 9));
        l.record(&undo_info(5000));
        l.record(&begin0(9));
        let w = walk_8x(l);
        assert!(w.error.is_none(), "{:?}", w.error);
        let torn = lg(5, 1, 0xF00);
        assert_eq!(w.torn[0].restart_lgpos, Some(torn));
        let u = w.records.iter().find(|r| r.lrtyp == 36).unwrap();
        assert_eq!((u.lgpos, u.fragments), (torn, 2));
        // A plain UndoInfo restarts at the segment's start.
        let mut l = log8_torn(5, 1, true);
        l.restart(day(2, 9));
        l.record(&undo_info(10));
        let w = walk_8x(l);
        assert_eq!(w.torn[0].restart_lgpos, Some(lg(5, 2, 0)));
    }

    #[test]
    fn other_records_after_a_partial_record_stay_corrupt() {
        // Not a restart record type.
        let mut l = log8_torn(5, 1, true);
        l.restart(day(2, 9));
        l.record(&begin0(9));
        let w = walk_8x(l);
        let e = w.error.expect("corrupt");
        assert_eq!(e.jet, crate::error::Jet::LOG_FILE_CORRUPT);
        assert!(e.detail.contains("found type 8"), "{}", e.detail);
        // A restart record not at the first record position of its segment.
        let mut l = log8_torn(5, 1, true);
        l.restart(day(2, 9));
        l.record(&[0u8; 4]); // NOPs first
        l.record(&recovery_undo2(day(2, 9)));
        assert!(walk_8x(l).error.is_some());
    }

    #[test]
    fn eight_x_torn_at_the_end_of_data() {
        let (mut f, _) = log8_torn(5, 1, true).finish(day(1, 10), None);
        let scan = scan_log(&mut f).unwrap();
        let w = walk_records(&f, &scan);
        assert!(w.error.is_none(), "{:?}", w.error);
        assert_eq!(w.torn.len(), 1);
        assert_eq!(w.torn[0].restart_lgpos, None);
        assert!(w.lands_on_end());
    }

    #[test]
    fn seven_x_torn_inside_restarts_at_the_lrchecksum() {
        let mut f = log7_torn_inside(3, day(1, 1), day(1, 0));
        let scan = scan_log(&mut f).unwrap();
        assert!(scan.ok(), "{:?}", scan.error);
        let w = walk_records(&f, &scan);
        assert!(w.error.is_none(), "{:?}", w.error);
        assert_eq!(w.torn.len(), 1);
        let t = w.torn[0];
        assert_eq!(t.lgpos, lg(3, 9, 0x1EC));
        assert_eq!(t.bytes, 60);
        assert_eq!(t.restart_lgpos, Some(lg(3, 10, 0x28)));
        let kinds: Vec<u8> = w.records.iter().map(|r| r.lrtyp).collect();
        assert_eq!(kinds, [42, 8, 22, 42, 51, 50, 8, 9]);
        assert_eq!(w.records[3].lgpos, lg(3, 10, 0x28));
        assert!(w.lands_on_end());
    }

    #[test]
    fn seven_x_uncovered_bytes_without_a_partial_record_are_skipped() {
        let mut f = log7_file(3, day(1, 1), day(1, 0));
        assert_eq!(place(&mut f, 4118, &[begin0(1), trace(989)]), 5120);
        let end = place(&mut f, 5182, &restart_records(day(2, 9)));
        put_lrck(&mut f, 5160, 0, (end - 5182) as u32, 0, 3);
        put_lrck(&mut f, 4096, 0, 1002, (5160 - 4118) as u32, 3);
        let scan = scan_log(&mut f).unwrap();
        let w = walk_records(&f, &scan);
        assert!(w.error.is_none() && w.torn.is_empty(), "{:?}", w.error);
        assert_eq!(w.abandoned_bytes, 40);
        assert!(w.lands_on_end());
        assert_eq!(w.records[3].lgpos, lg(3, 10, 0x28));
    }

    #[test]
    fn seven_x_torn_at_the_end() {
        let mut f = log7_torn_at_end(3, day(1, 1), day(1, 0));
        let scan = scan_log(&mut f).unwrap();
        assert!(scan.ok(), "{:?}", scan.error);
        let w = walk_records(&f, &scan);
        assert!(w.error.is_none(), "{:?}", w.error);
        assert_eq!(w.torn.len(), 1);
        assert_eq!(w.torn[0].lgpos, lg(3, 10, 0x46));
        assert_eq!((w.torn[0].bytes, w.torn[0].restart_lgpos), (22, None));
        assert!(w.lands_on_end());
        let mut g = log7_restarted(4, day(2, 9), day(1, 1));
        let s2 = scan_log(&mut g).unwrap();
        assert!(s2.ok(), "{:?}", s2.error);
        let w2 = walk_records(&g, &s2);
        assert!(w2.error.is_none() && w2.torn.is_empty());
    }
}
