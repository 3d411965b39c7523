//! Log records: the size of every record type, the record stream of a log
//! file (8.x segments with fragments, 7.x contiguous) and a decoding of the
//! common prefixes and the database/transaction records.
//!
//! Facts: `inc/logapi.hxx` ~105–225 (lrtyp values), ~335–440 (LRPAGE_,
//! LRNODE_), ~630–1300 (page records), ~1600–1900 (database, instance and
//! LRCHECKSUM records); `ese/_log/logread.cxx` ~3057–3180 (`mplrtyplrd`
//! fixed sizes), ~3192–3420 (`CbLGSizeOfRec` variable sizes), ~2019–2350
//! (`ErrLGGetNextRecFF`: records confined to a segment, NOP padding,
//! fragments); `ese/logapi.cxx` ~4915–5027 (the 9-character names /ml /v
//! prints); docs/format/logs.md §5, log-records.md.

use serde::Serialize;

use std::sync::Arc;

use super::lrck::LrChecksum;
pub use super::record_bytes::RecordBytes;
use super::segments::{SEGMENT_HEADER_SIZE, SEGMENT_SIZE};
pub use super::typed::{
    AttachDb, BeforeImage, Bookmark, CreateDb, DecodeError, Delta, DeltaWidth, DetachDb, EmptyPage,
    Key, Level, LoggedPath, MacroOp, Merge, MergeFlags, NodeRef, PageFlags, PageMove, PageRef,
    Record, Replace, SignatureBytes, Split, Term,
};
use crate::error::{FormatError, Jet};
use crate::parse::primitives::{ansi_z, Lgpos};
use crate::parse::{u16_at, u32_at};

/// One past the highest record type (`lrtypMax`, logapi.hxx ~225).
pub const LRTYP_MAX: u8 = 102;
/// lrtyp NOP.
pub const NOP: u8 = 0;
/// lrtyp FragmentBegin.
pub const FRAGMENT_BEGIN: u8 = 76;
/// lrtyp Fragment.
pub const FRAGMENT: u8 = 77;

/// How the size of a record type is determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeRule {
    /// Fixed size.
    Fixed(u32),
    /// `base` + the u16 (or u32) fields at the listed offsets.
    Var {
        /// Size of the fixed part.
        base: u32,
        /// Offsets of u16 length fields added to `base`.
        u16s: &'static [usize],
        /// Offset of a u32 length field added to `base`, if any.
        u32_at: Option<usize>,
    },
    /// LRIGNORED layout: 5 + u32 at offset 1 (ignorable types 67–75, 82–91).
    Ignorable,
    /// Replace / ReplaceD: 50 + (u16@44 & 0x7FFF).
    Replace,
    /// CreateDB: 43 + u16@40 + 4 when flags u8@42 & 0x04.
    CreateDb,
    /// PageMove: 96 + cbPageHeader (u32@88) + cbPageTrailer (u32@92)
    /// (`LRPAGEMOVE::CbTotal`, inc/logapi.hxx; `CbLGSizeOfRec`, logread.cxx).
    PageMove,
    /// No size: obsolete or never logged; meeting one is corruption.
    Invalid,
}

const fn v(base: u32, u16s: &'static [usize]) -> SizeRule {
    SizeRule::Var {
        base,
        u16s,
        u32_at: None,
    }
}

const fn v32(base: u32, u16s: &'static [usize], at: usize) -> SizeRule {
    SizeRule::Var {
        base,
        u16s,
        u32_at: Some(at),
    }
}

/// Name (as /ml /v prints it, 9 characters) and size rule of an lrtyp.
pub fn lrtyp_info(t: u8) -> (&'static str, SizeRule) {
    use SizeRule::*;
    match t {
        0 => ("NOP      ", Fixed(1)),
        1 => ("Init     ", Fixed(568)),
        2 => ("Term     ", Fixed(18)),
        3 => ("MS       ", Fixed(9)),
        4 => ("End      ", Fixed(1)),
        5 => ("Begin    ", Fixed(4)),
        6 => ("Commit   ", Fixed(4)),
        7 => ("Rollback ", Fixed(4)),
        8 => ("Begin0   ", Fixed(8)),
        9 => ("Commit0  ", Fixed(8)),
        10 => ("Refresh  ", Fixed(7)),
        11 => ("McroBegin", Fixed(11)),
        12 => ("McroComit", Fixed(11)),
        13 => ("McroAbort", Fixed(11)),
        14 => ("CreateDB ", CreateDb),
        15 => ("AttachDB ", v(75, &[72])),
        16 => ("DetachDB ", v(7, &[4])),
        17 => ("RcvUndo  ", Fixed(1)),
        18 => ("RcvQuit  ", Fixed(18)),
        19 => ("FullBkUp ", v(3, &[1])),
        20 => ("IncBkUp  ", v(3, &[1])),
        21 => ("JetOp    ", Fixed(4)),
        22 => ("Trace    ", v(5, &[3])),
        23 => ("ShutDown ", Fixed(1)),
        24 => ("Create M ", Fixed(56)),
        25 => ("Create S ", Fixed(48)),
        26 => ("Convert  ", Fixed(60)),
        27 => ("Split    ", v(102, &[100, 96, 98])),
        28 => ("Merge    ", v(88, &[86])),
        29 => ("Insert   ", v(50, &[44, 46, 48])),
        30 => ("FInsert  ", v(48, &[44, 46])),
        31 => ("FInsertRD", v(52, &[44, 46])),
        32 => ("FDelete  ", Fixed(44)),
        33 => ("Replace  ", Replace),
        34 => ("ReplaceD ", Replace),
        35 => ("Delete   ", Fixed(44)),
        36 => ("UndoInfo ", v(56, &[54, 44, 46])),
        37 => ("Delta    ", v(54, &[44, 46])),
        38 => ("SetExtHdr", v(46, &[44])),
        39 => ("Undo     ", v(51, &[44, 46])),
        42 => ("Checksum ", Fixed(22)),
        45 => ("ExtRest  ", v(3, &[1])),
        46 => ("Backup   ", v(5, &[3])),
        48 => ("EmptyTree", v(46, &[44])),
        49 => ("Init     ", Fixed(576)),
        50 => ("Term     ", Fixed(26)),
        51 => ("RcvUndo  ", Fixed(9)),
        52 => ("RcvQuit  ", Fixed(26)),
        53 => ("BeginDT  ", Fixed(8)),
        54 => ("PreCommit", v32(7, &[], 3)),
        55 => ("PreRollbk", Fixed(3)),
        57 => ("FWriteLog", Fixed(3)),
        58 => ("Convert  ", Fixed(68)),
        59 => ("ExtRest2 ", v(3, &[1])),
        60 => ("Backup2  ", v(35, &[33])),
        61 => ("FRollLog ", v(5, &[3])),
        62 => ("Split2   ", v32(110, &[100, 96, 98], 106)),
        63 => ("Merge2   ", v32(96, &[86], 92)),
        64 => ("Scrub    ", v(54, &[52])),
        65 => ("PageMove ", PageMove),
        66 => ("PagePatch", Fixed(46)),
        67 => ("McroInfo ", Ignorable),
        68 => ("ExtendDB ", Ignorable),
        69 => ("CommitCtx", Ignorable),
        70 => ("ScanCheck", Ignorable),
        71 => ("NOP2     ", Ignorable),
        72 => ("ReAttach ", Ignorable),
        73 => ("McroInfo2", Ignorable),
        74 => ("FreeFDP  ", Ignorable),
        75 | 82..=91 => ("Ignored  ", Ignorable),
        76 => ("FragBegin", v(7, &[5])),
        77 => ("FragContd", v(3, &[1])),
        78 => ("ShrinkDB ", Fixed(10)),
        79 => ("CrDBFinsh", Fixed(4)),
        80 => ("RcvQKA   ", Fixed(26)),
        81 => ("TrimDB   ", Fixed(10)),
        92 => ("SetDbVer ", Fixed(14)),
        93 => ("Delta64  ", v(58, &[44, 46])),
        94 => ("ShrinkDB2", Fixed(10)),
        95 => ("NewPage  ", Fixed(20)),
        96 => ("PageMoveR", Fixed(16)),
        97 => ("SAttachDB", Fixed(2)),
        98 => ("ScanChk2 ", Fixed(27)),
        99 => ("ShrinkDB3", Fixed(18)),
        100 => ("ExtFreed ", Fixed(11)),
        101 => ("ExtFreed2", Fixed(19)),
        _ => ("*UNKNOWN*", Invalid),
    }
}

/// The /ml /v name of a record type, trimmed.
pub fn lrtyp_name(t: u8) -> &'static str {
    lrtyp_info(t).0.trim_end()
}

/// Bytes needed before the size of a record can be computed.
pub fn size_prefix(t: u8) -> usize {
    match lrtyp_info(t).1 {
        SizeRule::Fixed(_) | SizeRule::Invalid => 1,
        SizeRule::Var { base, .. } => base as usize,
        SizeRule::Ignorable => 5,
        SizeRule::Replace => 50,
        SizeRule::CreateDb => 43,
        SizeRule::PageMove => 96,
    }
}

/// `CbLGSizeOfRec`: the size of the record starting at `b[0]`. `None` for an
/// invalid type, or when `b` is shorter than the fixed part.
pub fn record_size(b: &[u8]) -> Option<u32> {
    let t = *b.first()?;
    if b.len() < size_prefix(t) {
        return None;
    }
    match lrtyp_info(t).1 {
        SizeRule::Fixed(n) => Some(n),
        SizeRule::Invalid => None,
        SizeRule::Ignorable => Some(5u32.checked_add(u32_at(b, 1))?),
        SizeRule::Replace => Some(50 + (u16_at(b, 44) & 0x7FFF) as u32),
        SizeRule::CreateDb => {
            let extra = if b[42] & 0x04 != 0 { 4 } else { 0 };
            Some(43 + u16_at(b, 40) as u32 + extra)
        }
        SizeRule::PageMove => 96u32.checked_add(u32_at(b, 88))?.checked_add(u32_at(b, 92)),
        SizeRule::Var {
            base,
            u16s,
            u32_at: w,
        } => {
            let mut n = base;
            for &o in u16s {
                n += u16_at(b, o) as u32;
            }
            if let Some(o) = w {
                n = n.checked_add(u32_at(b, o))?;
            }
            Some(n)
        }
    }
}

/// One record of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The record's lgpos as ESE's reader gives it. 7.x: where it starts.
    /// 8.x: where the previous record ended — the start of a preceding NOP
    /// run, `(gen, isec, 0)` when the previous record filled its segment or
    /// for the first record, a restart's first record `(gen, isec, 0)`
    /// (`m_pbNext`, logread.cxx ~2040–2100, ~2290); a NOP run itself keeps its
    /// own position. For a reassembled record, the lgpos of its FragmentBegin
    /// so defined.
    pub lgpos: Lgpos,
    /// Record type.
    pub lrtyp: u8,
    /// `CbLGSizeOfRec` of the record; for a run of NOPs the run length.
    pub size: u32,
    /// Bytes the record occupies in the file (fragment headers included).
    pub disk_bytes: u32,
    /// Number of fragments (0 = not fragmented).
    pub fragments: u16,
    /// The record bytes (reassembled); a NOP run holds a single zero byte.
    /// A range of a buffer shared by the records of the generation
    /// ([`RecordBytes`]).
    pub data: RecordBytes,
}

impl LogRecord {
    /// The record with bytes of its own: for a record kept beyond its
    /// generation ([`RecordBytes::detached`]).
    pub fn detached(&self) -> LogRecord {
        LogRecord {
            data: self.data.detached(),
            ..self.clone()
        }
    }

    /// The record's fields ([`Record::decode`]): the one place record bytes
    /// are read.
    pub fn decode(&self) -> Result<Record<'_>, DecodeError> {
        Record::decode(&self.data)
    }
}

/// Geometry of the stream to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout<'a> {
    /// 8.x: good segments `first ..= last`, records after each LGSEGHDR.
    Segments {
        /// First data segment (csecHeader).
        first: u16,
        /// Last good segment.
        last: Option<u16>,
        /// The data ends where the writer stopped (the segment scan is
        /// clean), not at damage.
        clean_end: bool,
    },
    /// 7.x: contiguous bytes from `start` to `end` (file offsets), in the
    /// ranges of the verified LRCHECKSUM chain.
    Contiguous {
        /// Start of data.
        start: u64,
        /// End of verified data.
        end: u64,
        /// The verified LRCHECKSUM records, in file order.
        chain: &'a [LrChecksum],
        /// The chain ends with its last record (cbNext 0), not at damage.
        clean_end: bool,
    },
}

/// A record the engine began writing but never finished because it stopped
/// (a crash): the log reader abandons it and goes on with the records the
/// engine wrote after its restart. Not damage.
///
/// Facts: 8.x `LOG_READ_BUFFER::ErrLGIGetRecordAtPbNext` (logread.cxx
/// ~2200–2330): inside a fragmented record, a RecoveryUndo, RecoveryUndo2 or
/// UndoInfo record at the first record position of a segment (or there a
/// FragmentBegin of an UndoInfo) ends the partial record; the reader moves
/// its record position back to the start of that segment, "the lgpos the
/// record had at logging time". A partial record at the end of the log data
/// ends the data (`errLGNoMoreRecords`, ~2124). 7.x
/// `ErrLGIGetNextChecksumFF` (logread_legacy.cxx ~4420–4480): a record
/// hanging over the end of an LRCHECKSUM range whose next LRCHECKSUM does not
/// cover the bytes before it (cbBackwards ≠ its offset in the sector, the
/// range a restart patched) is unusable; the next record is that LRCHECKSUM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TornRecord {
    /// Where the abandoned record starts (8.x: its FragmentBegin).
    pub lgpos: Lgpos,
    /// Bytes of the file it occupies up to the restart (8.x: FragmentBegin
    /// and Fragment records; 7.x: up to the next LRCHECKSUM or the end of
    /// data).
    pub bytes: u32,
    /// The lgpos ESE gives the first record written after the restart;
    /// `null` when the log data ends with the torn record and the next
    /// generation is not known.
    pub restart_lgpos: Option<Lgpos>,
    /// Type of the abandoned record (its first byte), when written.
    pub lrtyp: Option<u8>,
}

impl TornRecord {
    /// `torn record at LGPOS abandoned; engine restarted at LGPOS` (or
    /// `…; end of the log data` when the restart is not known).
    pub fn text(&self) -> String {
        match self.restart_lgpos {
            Some(r) => format!(
                "torn record at {} abandoned; engine restarted at {}",
                self.lgpos.eseutil_text(),
                r.eseutil_text()
            ),
            None => format!(
                "torn record at {} abandoned; end of the log data",
                self.lgpos.eseutil_text()
            ),
        }
    }
}

/// Gives the torn records at the end of a generation's data the restart
/// position of the next generation: ESE reads each generation from its first
/// record, at `(next, csecHeader, 0)` (`ErrLGLocateFirstRedoLogRecFF`,
/// logread.cxx ~1927–1965).
pub fn link_torn_to_next(torn: &mut [TornRecord], next_generation: i32, next_csec_header: u16) {
    for t in torn.iter_mut().filter(|t| t.restart_lgpos.is_none()) {
        t.restart_lgpos = Some(Lgpos {
            generation: next_generation,
            sector: next_csec_header,
            offset: 0,
        });
    }
}

/// Links the torn records of consecutive generations, given in order as
/// (generation, csecHeader, torn records) ([`link_torn_to_next`]), and
/// returns all of them.
pub fn link_torn_records<'a>(
    gens: impl IntoIterator<Item = (i32, u16, &'a mut Vec<TornRecord>)>,
) -> Vec<TornRecord> {
    let mut all = Vec::new();
    let mut prev: Option<(i32, &'a mut Vec<TornRecord>)> = None;
    for (g, csec, torn) in gens {
        if let Some((pg, p)) = prev.take() {
            if pg + 1 == g {
                link_torn_to_next(p, g, csec);
            }
            all.extend(p.iter().copied());
        }
        prev = Some((g, torn));
    }
    if let Some((_, p)) = prev {
        all.extend(p.iter().copied());
    }
    all
}

/// The records of a log file as the engine's reader returns them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordStream {
    /// Records in order (NOP runs collapsed).
    pub records: Vec<LogRecord>,
    /// Records abandoned by a restart ([`TornRecord`]).
    pub torn: Vec<TornRecord>,
    /// 7.x: bytes between the end of an LRCHECKSUM range and the next
    /// LRCHECKSUM that the latter does not cover (skipped by the reader).
    pub skipped_bytes: u64,
}

/// A stream being read: the records point into `file` (the bytes of the
/// log file; none when they are read without bytes), reassembled records
/// into the chunks of `arena`, shared once the stream is read
/// ([`Sink::finish`]).
struct Sink {
    out: RecordStream,
    file: Option<Arc<Vec<u8>>>,
    arena: Arena,
    /// The records whose bytes are in `arena`: (record index, chunk).
    in_arena: Vec<(usize, usize)>,
}

impl Sink {
    /// The bytes of the record at `at` of the file, `len` long (nothing
    /// when the stream is read without record bytes).
    fn keep(&self, at: usize, len: usize) -> RecordBytes {
        match &self.file {
            Some(f) => RecordBytes::shared(f, at, len),
            None => RecordBytes::default(),
        }
    }

    /// Adds a record reassembled in the last chunk of `arena`.
    fn push_reassembled(&mut self, r: LogRecord) {
        let chunk = self.arena.chunks.len() - 1;
        self.in_arena.push((self.out.records.len(), chunk));
        self.out.records.push(r);
    }

    /// The stream, the reassembled records pointed at the shared chunks.
    fn finish(mut self) -> RecordStream {
        let chunks: Vec<Arc<Vec<u8>>> = self.arena.chunks.into_iter().map(Arc::new).collect();
        for &(i, c) in &self.in_arena {
            self.out.records[i].data.rebase(&chunks[c]);
        }
        self.out
    }
}

/// The buffers reassembled records are copied into: chunks of at least
/// [`Arena::CHUNK`] bytes made with room for the next record, which never
/// spans two (a chunk grows, and is copied, only for a record longer than
/// [`Arena::MOST_AHEAD`]).
#[derive(Default)]
struct Arena {
    chunks: Vec<Vec<u8>>,
}

impl Arena {
    /// Smallest chunk.
    const CHUNK: usize = 64 << 10;
    /// Most room made ahead for one record (a FragmentBegin's total is
    /// not trusted beyond it: the record's bytes grow the chunk instead).
    const MOST_AHEAD: usize = 1 << 20;

    /// The chunk for a record of `total` bytes, with room for it.
    fn room(&mut self, total: usize) -> &mut Vec<u8> {
        let total = total.min(Self::MOST_AHEAD);
        if self
            .chunks
            .last()
            .is_none_or(|c| c.capacity() - c.len() < total)
        {
            self.chunks.push(Vec::with_capacity(total.max(Self::CHUNK)));
        }
        self.last()
    }

    /// The chunk of the record being reassembled.
    fn last(&mut self) -> &mut Vec<u8> {
        if self.chunks.is_empty() {
            self.chunks.push(Vec::new());
        }
        let n = self.chunks.len() - 1;
        &mut self.chunks[n]
    }
}

/// Reads every record of a log file. Unknown or unsized record types, a
/// record that overruns its segment or the end of data, and broken fragment
/// chains are errors naming the LGPOS (-501); records a restart abandoned are
/// listed in [`RecordStream::torn`]; nothing else is skipped.
///
/// The records share one copy of the file's log data
/// ([`read_stream_shared`] reads a file already shared without a copy).
pub fn read_stream(
    file: &[u8],
    generation: i32,
    cb_sec: u16,
    layout: Layout<'_>,
) -> (RecordStream, Option<FormatError>) {
    let copy = Arc::new(file[..data_end(file, &layout)].to_vec());
    read_stream_as(file, generation, cb_sec, layout, Some(copy))
}

/// [`read_stream`] where the records keep no bytes (`data` empty but for
/// reassembled fragments): the walk of a verification that only counts and
/// places records (`/ml` of a sequence), without a copy of every record.
pub fn read_stream_without_bytes(
    file: &[u8],
    generation: i32,
    cb_sec: u16,
    layout: Layout<'_>,
) -> (RecordStream, Option<FormatError>) {
    read_stream_as(file, generation, cb_sec, layout, None)
}

/// [`read_stream`] of a file already in a shared buffer: the records point
/// into it (no copy; only reassembled records are copied, into chunks of
/// at least 64 KiB). The buffer lives as long as one of its records.
pub fn read_stream_shared(
    file: &Arc<Vec<u8>>,
    generation: i32,
    cb_sec: u16,
    layout: Layout<'_>,
) -> (RecordStream, Option<FormatError>) {
    read_stream_as(file, generation, cb_sec, layout, Some(file.clone()))
}

/// Bytes of log data per record expected when room is made for the
/// records of a file (records of the workload logs average ~175 bytes).
const EXPECTED_RECORD_BYTES: usize = 128;

/// Where the log data of `layout` ends in the file: records lie before it.
fn data_end(file: &[u8], layout: &Layout<'_>) -> usize {
    let end = match *layout {
        Layout::Segments { last, .. } => last.map_or(0, |l| (l as usize + 1) * SEGMENT_SIZE),
        Layout::Contiguous { end, .. } => usize::try_from(end).unwrap_or(usize::MAX),
    };
    end.min(file.len())
}

fn read_stream_as(
    file: &[u8],
    generation: i32,
    cb_sec: u16,
    layout: Layout<'_>,
    shared: Option<Arc<Vec<u8>>>,
) -> (RecordStream, Option<FormatError>) {
    // Room for the records at an average of 128 bytes (the vector is not
    // grown, and copied, a dozen times per file).
    let expected = data_end(file, &layout) / EXPECTED_RECORD_BYTES;
    let mut out = Sink {
        out: RecordStream {
            records: Vec::with_capacity(expected),
            ..RecordStream::default()
        },
        file: shared,
        arena: Arena::default(),
        in_arena: Vec::new(),
    };
    let r = match layout {
        Layout::Segments {
            first,
            last,
            clean_end,
        } => read_segments(file, generation, first, last, clean_end, &mut out),
        Layout::Contiguous {
            start,
            end,
            chain,
            clean_end,
        } => {
            let range = Ranges {
                chain,
                end: end as usize,
                cb_sec: cb_sec as usize,
                clean_end,
            };
            read_contiguous(file, generation, start as usize, &range, &mut out)
        }
    };
    (out.finish(), r.err())
}

/// [`read_stream`] without the torn records.
pub fn read_records(
    file: &[u8],
    generation: i32,
    cb_sec: u16,
    layout: Layout<'_>,
) -> Result<Vec<LogRecord>, (Vec<LogRecord>, FormatError)> {
    match read_stream(file, generation, cb_sec, layout) {
        (s, None) => Ok(s.records),
        (s, Some(e)) => Err((s.records, e)),
    }
}

fn pos_err(generation: i32, cb_sec: u16, off: usize, what: String) -> FormatError {
    let p = super::scan::lgpos_of(generation, cb_sec, off as u64);
    FormatError::new(
        off as u64,
        Jet::LOG_FILE_CORRUPT,
        format!(
            "{what} at lgpos {} (>{:08X},{:04X},{:04X})",
            p.eseutil_text(),
            p.generation as u32,
            p.sector,
            p.offset
        ),
    )
}

fn unknown(t: u8) -> String {
    if t >= LRTYP_MAX {
        format!("unknown log record type {t}")
    } else {
        format!(
            "log record type {t} ({}) has no size (invalid)",
            lrtyp_name(t)
        )
    }
}

/// lrtyp RecoveryUndo, UndoInfo, RecoveryUndo2.
const RECOVERY_UNDO: u8 = 17;
const UNDO_INFO: u8 = 36;
const RECOVERY_UNDO2: u8 = 51;

/// A fragmented record being reassembled at `at` of the last chunk of the
/// stream's arena (the last bytes there).
struct Partial {
    start: Lgpos,
    total: u32,
    at: usize,
    disk: u32,
    count: u16,
}

impl Partial {
    /// The record abandoned: its bytes leave the arena.
    fn torn(&self, restart: Option<Lgpos>, arena: &mut Vec<u8>) -> TornRecord {
        let lrtyp = arena.get(self.at).copied();
        arena.truncate(self.at);
        TornRecord {
            lgpos: self.start,
            bytes: self.disk,
            restart_lgpos: restart,
            lrtyp,
        }
    }
}

/// What the record at the first record position of a segment means while a
/// fragmented record is open (logread.cxx ~2200–2330): the engine restarted
/// here, and the lgpos the reader gives the next record — the start of the
/// segment for a plain record, the open record's own lgpos for a
/// FragmentBegin of an UndoInfo (the reader's position is not moved then).
fn restart_at(seg: &[u8], p: usize, here: Lgpos, open: &Partial) -> Option<Lgpos> {
    if p != SEGMENT_HEADER_SIZE {
        return None;
    }
    match seg[p] {
        RECOVERY_UNDO | RECOVERY_UNDO2 | UNDO_INFO => Some(Lgpos { offset: 0, ..here }),
        FRAGMENT_BEGIN if seg.get(p + 7) == Some(&UNDO_INFO) => Some(open.start),
        _ => None,
    }
}

/// Adds a Fragment at `p` to `part` (in `arena`); returns the bytes it took
/// and the reassembled record once complete (its bytes at `part.at` of the
/// arena, [`RecordBytes::pending`]).
fn continue_fragment(
    seg: &[u8],
    p: usize,
    (mut part, arena): (Partial, &mut Vec<u8>),
    err: &dyn Fn(usize, String) -> FormatError,
) -> Result<(usize, Result<LogRecord, Partial>), FormatError> {
    if seg.len() - p < 3 {
        return Err(err(p, "truncated Fragment record".into()));
    }
    let cb = u16_at(seg, p + 1) as usize;
    let have = arena.len() - part.at;
    if p + 3 + cb > SEGMENT_SIZE || have + cb > part.total as usize {
        return Err(err(
            p,
            "Fragment record overruns its segment or the record".into(),
        ));
    }
    arena.extend_from_slice(&seg[p + 3..p + 3 + cb]);
    part.disk += 3 + cb as u32;
    part.count += 1;
    if have + cb < part.total as usize {
        return Ok((3 + cb, Err(part)));
    }
    let data = &arena[part.at..];
    let size = record_size(data);
    if size != Some(part.total) {
        return Err(pos_err(
            part.start.generation,
            SEGMENT_SIZE as u16,
            base_of(part.start),
            format!(
                "reassembled record of type {} has size {size:?}, fragments add up to {}",
                data[0], part.total
            ),
        ));
    }
    Ok((
        3 + cb,
        Ok(LogRecord {
            lgpos: part.start,
            lrtyp: data[0],
            size: part.total,
            disk_bytes: part.disk,
            fragments: part.count,
            data: RecordBytes::pending(part.at, data.len()),
        }),
    ))
}

/// Starts a fragmented record with the FragmentBegin at `p` (which must end
/// its segment), its bytes at the end of `arena`.
fn begin_fragment(
    seg: &[u8],
    (p, start): (usize, Lgpos),
    arena: &mut Arena,
    err: &dyn Fn(usize, String) -> FormatError,
) -> Result<Partial, FormatError> {
    if SEGMENT_SIZE - p < 7 {
        return Err(err(p, "truncated FragmentBegin record".into()));
    }
    let total = u32_at(seg, p + 1);
    let cb = u16_at(seg, p + 5) as usize;
    if p + 7 + cb > SEGMENT_SIZE || cb as u32 >= total {
        return Err(err(p, "FragmentBegin record overruns its segment".into()));
    }
    if p + 7 + cb != SEGMENT_SIZE {
        return Err(err(
            p + 7 + cb,
            "FragmentBegin does not end its segment".into(),
        ));
    }
    let arena = arena.room(total as usize);
    let at = arena.len();
    arena.extend_from_slice(&seg[p + 7..p + 7 + cb]);
    Ok(Partial {
        start,
        total,
        at,
        disk: 7 + cb as u32,
        count: 1,
    })
}

/// A whole record at `p` of a segment (at `base` of the file).
fn plain_record(
    (seg, base): (&[u8], usize),
    (p, lgpos): (usize, Lgpos),
    out: &Sink,
    err: &dyn Fn(usize, String) -> FormatError,
) -> Result<LogRecord, FormatError> {
    let t = seg[p];
    let Some(size) = record_size(&seg[p..]) else {
        let what = if t >= LRTYP_MAX || matches!(lrtyp_info(t).1, SizeRule::Invalid) {
            unknown(t)
        } else {
            format!(
                "record of type {t} ({}) is cut by the segment end",
                lrtyp_name(t)
            )
        };
        return Err(err(p, what));
    };
    if size == 0 || p + size as usize > SEGMENT_SIZE {
        return Err(err(
            p,
            format!(
                "record of type {t} ({}) and size {size} overruns its segment",
                lrtyp_name(t)
            ),
        ));
    }
    Ok(LogRecord {
        lgpos,
        lrtyp: t,
        size,
        disk_bytes: size,
        fragments: 0,
        data: out.keep(base + p, size as usize),
    })
}

/// The run of NOPs starting `b` (at `at` of the file): its data is the
/// first zero byte.
fn nop_run(b: &[u8], at: usize, lgpos: Lgpos, out: &Sink) -> LogRecord {
    let run = b.iter().take_while(|&&x| x == NOP).count();
    LogRecord {
        lgpos,
        lrtyp: NOP,
        size: run as u32,
        disk_bytes: run as u32,
        fragments: 0,
        data: out.keep(at, 1),
    }
}

fn read_segments(
    file: &[u8],
    gen: i32,
    first: u16,
    last: Option<u16>,
    clean_end: bool,
    out: &mut Sink,
) -> Result<(), FormatError> {
    let Some(last) = last else { return Ok(()) };
    let mut frag: Option<Partial> = None;
    // ESE's record position: where the previous record ended (NOPs are not
    // records for its reader), the segment start at the start of the data.
    let mut next_pos = Lgpos {
        generation: gen,
        sector: first,
        offset: 0,
    };
    let after = |isec: u16, end: usize| Lgpos {
        generation: gen,
        sector: isec + (end / SEGMENT_SIZE) as u16,
        offset: (end % SEGMENT_SIZE) as u16,
    };
    for isec in first..=last {
        let base = isec as usize * SEGMENT_SIZE;
        let seg = &file[base..base + SEGMENT_SIZE];
        let err = |p: usize, what: String| pos_err(gen, SEGMENT_SIZE as u16, base + p, what);
        let mut p = SEGMENT_HEADER_SIZE;
        // The lgpos the reader gives the next record after a restart.
        let mut restarted: Option<Lgpos> = None;
        while p < SEGMENT_SIZE {
            let here = Lgpos {
                generation: gen,
                sector: isec,
                offset: p as u16,
            };
            let t = seg[p];
            if let Some(part) = frag.take() {
                if t == FRAGMENT && p == SEGMENT_HEADER_SIZE {
                    let (n, r) = continue_fragment(seg, p, (part, out.arena.last()), &err)?;
                    p += n;
                    match r {
                        Ok(rec) => {
                            out.push_reassembled(rec);
                            next_pos = after(isec, p);
                        }
                        Err(part) => frag = Some(part),
                    }
                    continue;
                }
                let Some(restart) = restart_at(seg, p, here, &part) else {
                    return Err(err(p, format!("expected a Fragment record continuing the record of {}, found type {t}", part.start.eseutil_text())));
                };
                let torn = part.torn(Some(restart), out.arena.last());
                out.out.torn.push(torn);
                restarted = Some(restart);
            }
            let lgpos = restarted.take().unwrap_or(next_pos);
            match t {
                NOP => {
                    let r = nop_run(&seg[p..], base + p, here, out);
                    p += r.size as usize;
                    out.out.records.push(r);
                }
                FRAGMENT_BEGIN => {
                    frag = Some(begin_fragment(seg, (p, lgpos), &mut out.arena, &err)?);
                    p = SEGMENT_SIZE;
                }
                FRAGMENT => {
                    return Err(err(p, "Fragment record without FragmentBegin".into()));
                }
                _ => {
                    let r = plain_record((seg, base), (p, lgpos), out, &err)?;
                    p += r.size as usize;
                    out.out.records.push(r);
                    next_pos = after(isec, p);
                }
            }
        }
    }
    if let Some(part) = frag {
        // The writer stopped inside the record: ESE's reader ends the data
        // there (logread.cxx ~2124). Where the data ends at damage, the rest
        // of the record may lie in the damaged segment: an error.
        if !clean_end {
            return Err(pos_err(
                gen,
                SEGMENT_SIZE as u16,
                base_of(part.start),
                "fragmented record is incomplete at the end of the log data".into(),
            ));
        }
        let torn = part.torn(None, out.arena.last());
        out.out.torn.push(torn);
    }
    Ok(())
}

fn base_of(p: Lgpos) -> usize {
    p.sector as usize * SEGMENT_SIZE + p.offset as usize
}

/// The LRCHECKSUM ranges of a 7.x log.
struct Ranges<'a> {
    chain: &'a [LrChecksum],
    end: usize,
    cb_sec: usize,
    clean_end: bool,
}

impl Ranges<'_> {
    /// The LRCHECKSUM after range `k`, if any.
    fn next(&self, k: usize) -> Option<usize> {
        self.chain.get(k + 1).map(|n| n.offset as usize)
    }

    /// Whether the next LRCHECKSUM after range `k` covers the bytes before it
    /// in its sector (cbBackwards = its offset in the sector): a record of
    /// range `k` may then end there (logread_legacy.cxx ~4420–4460).
    fn next_covers_backwards(&self, k: usize) -> bool {
        self.chain
            .get(k + 1)
            .is_some_and(|n| n.cb_backwards as usize == n.offset as usize % self.cb_sec)
    }

    /// Where a record read in range `k` must end.
    fn limit(&self, k: usize) -> usize {
        match (self.next(k), self.chain.get(k)) {
            (Some(n), _) if self.next_covers_backwards(k) => n,
            (Some(_), Some(c)) => {
                c.offset as usize + super::lrck::LRCK_SIZE + c.cb_forwards as usize
            }
            _ => self.end,
        }
    }

    /// The record at `p` of range `k` does not fit before the limit: where
    /// the reader goes on when the engine abandoned it (the next LRCHECKSUM
    /// that does not cover it, or the end of clean data).
    fn torn_resume(&self, k: usize) -> Option<usize> {
        match self.next(k) {
            Some(n) if !self.next_covers_backwards(k) => Some(n),
            None if self.clean_end => Some(self.end),
            _ => None,
        }
    }
}

fn read_contiguous(
    file: &[u8],
    gen: i32,
    start: usize,
    rg: &Ranges<'_>,
    out: &mut Sink,
) -> Result<(), FormatError> {
    let cb_sec = rg.cb_sec as u16;
    let mut p = start;
    let mut k = 0usize;
    while p < rg.end {
        if rg.next(k) == Some(p) {
            k += 1;
        }
        let here = super::scan::lgpos_of(gen, cb_sec, p as u64);
        let lim = rg.limit(k).min(rg.end);
        if p >= lim {
            // Bytes before an LRCHECKSUM that does not cover them: skipped.
            let n = rg.next(k).unwrap_or(rg.end);
            if n <= p || n >= rg.end {
                break;
            }
            out.out.skipped_bytes += (n - p) as u64;
            p = n;
            continue;
        }
        let t = file[p];
        if t == NOP {
            let r = nop_run(&file[p..lim], p, here, out);
            p += r.size as usize;
            out.out.records.push(r);
            continue;
        }
        let size = record_size(&file[p..lim]);
        if t >= LRTYP_MAX || matches!(lrtyp_info(t).1, SizeRule::Invalid) {
            return Err(pos_err(gen, cb_sec, p, unknown(t)));
        }
        match size {
            Some(size) if size > 0 && p + size as usize <= lim => {
                let data = out.keep(p, size as usize);
                out.out.records.push(LogRecord {
                    lgpos: here,
                    lrtyp: t,
                    size,
                    disk_bytes: size,
                    fragments: 0,
                    data,
                });
                p += size as usize;
            }
            _ => {
                let Some(resume) = rg.torn_resume(k) else {
                    let what = match size {
                        Some(size) => format!(
                            "record of type {t} ({}) and size {size} runs past the end of data",
                            lrtyp_name(t)
                        ),
                        None => format!(
                            "record of type {t} ({}) is cut by the end of data",
                            lrtyp_name(t)
                        ),
                    };
                    return Err(pos_err(gen, cb_sec, p, what));
                };
                let restart =
                    (resume < rg.end).then(|| super::scan::lgpos_of(gen, cb_sec, resume as u64));
                out.out.torn.push(TornRecord {
                    lgpos: here,
                    bytes: (resume - p) as u32,
                    restart_lgpos: restart,
                    lrtyp: Some(t),
                });
                p = resume;
            }
        }
    }
    Ok(())
}

/// Record types whose body starts with LRPAGE_ (logapi.hxx ~377).
pub fn is_page_record(t: u8) -> bool {
    matches!(t, 24..=39 | 48 | 58 | 62..=65 | 93)
}

/// Record types whose body starts with LRNODE_ (logapi.hxx ~426).
pub fn is_node_record(t: u8) -> bool {
    matches!(t, 29..=39 | 48 | 64 | 93)
}

/// The LRPAGE_ prefix (32 bytes, logapi.hxx ~377–420).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PagePrefix {
    /// @1 session/process id.
    pub procid: u16,
    /// @3 database id.
    pub dbid: u8,
    /// @4 page number.
    pub pgno: u32,
    /// @8 page dbtime after the operation.
    pub dbtime: u64,
    /// @16 page dbtime before the operation.
    pub dbtime_before: u64,
    /// @24 transaction (trxBegin0).
    pub trx_begin0: u32,
    /// @28 transaction level.
    pub level: u8,
    /// @29 line on the page.
    pub iline: u16,
    /// @31 flags.
    pub flags: u8,
    /// LRNODE_ @32 rceid, when the record is a node record.
    pub rceid: Option<u32>,
    /// LRNODE_ @36 FDP page.
    pub pgno_fdp: Option<u32>,
    /// LRNODE_ @40 FDP object id.
    pub objid_fdp: Option<u32>,
}

impl PagePrefix {
    /// The prefix of a decoded page record.
    pub fn new(p: &PageRef, node: Option<&NodeRef>) -> PagePrefix {
        PagePrefix {
            procid: p.procid,
            dbid: p.dbid,
            pgno: p.pgno,
            dbtime: p.dbtime,
            dbtime_before: p.dbtime_before,
            trx_begin0: p.trx_begin0,
            level: p.level.0,
            iline: p.iline,
            flags: p.flags.0,
            rceid: node.map(|n| n.rceid),
            pgno_fdp: node.map(|n| n.pgno_fdp),
            objid_fdp: node.map(|n| n.objid_fdp),
        }
    }
}

/// What a record says, as far as this tool decodes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RecordInfo {
    /// Session id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub procid: Option<u16>,
    /// Transaction id (trxBegin0 / trxCommit0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trx: Option<u32>,
    /// Database id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dbid: Option<u8>,
    /// Page numbers touched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pgnos: Vec<u32>,
    /// dbtime before the operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dbtime_before: Option<u64>,
    /// dbtime after the operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dbtime_after: Option<u64>,
    /// Page prefix, for page records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<PagePrefix>,
    /// Database path (CreateDB, AttachDB, DetachDB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Database signature (CreateDB, AttachDB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_db: Option<String>,
    /// Free text (type-specific details).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// Decodes the fields /ml shows for a record (see the module facts). A
/// record that does not decode shows nothing but its type.
pub fn record_info(r: &LogRecord) -> RecordInfo {
    match r.decode() {
        Ok(rec) => info_of(&rec),
        Err(_) => RecordInfo::default(),
    }
}

/// [`record_info`] of a decoded record.
pub fn info_of(rec: &Record<'_>) -> RecordInfo {
    if let Some(p) = rec.page() {
        return page_info(rec, p);
    }
    let mut i = RecordInfo::default();
    match *rec {
        Record::Begin { .. }
        | Record::Commit { .. }
        | Record::Rollback { .. }
        | Record::Refresh { .. }
        | Record::Macro { .. }
        | Record::Session { .. }
        | Record::Trace { .. } => session_info(rec, &mut i),
        Record::CreateDb(c) => {
            (i.procid, i.dbid) = (Some(c.procid), Some(c.dbid));
            i.path = Some(c.path.text());
            i.sign_db = Some(c.sign_db.eseutil_text());
            i.detail = format!("cpgMax {} grbit 0x{:x}", c.cpg_max, c.grbit);
        }
        Record::AttachDb(a) => {
            (i.procid, i.dbid) = (Some(a.procid), Some(a.dbid));
            i.path = Some(a.path.text());
            i.sign_db = Some(a.sign_db.eseutil_text());
            let consistent = a.lgpos_consistent.eseutil_text();
            i.detail = format!("cpgMax {} consistent {consistent}", a.cpg_max);
        }
        Record::DetachDb(d) => {
            (i.procid, i.dbid) = (Some(d.procid), Some(d.dbid));
            i.path = Some(d.path.text());
        }
        Record::Init { dbms_param, .. } => {
            if let Ok((_, d)) = crate::parse::primitives::dbms_param(dbms_param) {
                i.detail = d.eseutil_lines().1.trim().to_string();
            }
        }
        Record::Term(t) | Record::RecoveryQuit { term: t, .. } => {
            i.detail = format!(
                "undo from {} redo from {} fHard {}",
                t.lgpos_undo.eseutil_text(),
                t.lgpos_redo_from.eseutil_text(),
                t.hard
            );
        }
        _ => database_info(rec, &mut i),
    }
    i
}

/// Page records: the prefix, and the other pages of a split or merge.
fn page_info(rec: &Record<'_>, p: &PageRef) -> RecordInfo {
    let mut i = RecordInfo {
        procid: Some(p.procid),
        trx: Some(p.trx_begin0),
        dbid: Some(p.dbid),
        pgnos: vec![p.pgno],
        dbtime_before: Some(p.dbtime_before),
        dbtime_after: Some(p.dbtime),
        page: Some(PagePrefix::new(p, rec.node())),
        ..Default::default()
    };
    let others = match rec {
        Record::Split(s) => {
            i.detail = format!("splittype {} splitoper {}", s.split_type, s.split_oper);
            [s.pgno_new, s.pgno_right, s.pgno_parent]
        }
        Record::Merge(m) => {
            i.detail = format!("mergetype {}", m.merge_type);
            [m.pgno_right, m.pgno_left, m.pgno_parent]
        }
        _ => return i,
    };
    i.pgnos.extend(others.into_iter().filter(|&pg| pg != 0));
    i
}

/// Transaction, macro and trace records.
fn session_info(rec: &Record<'_>, i: &mut RecordInfo) {
    match *rec {
        Record::Begin {
            procid,
            from,
            count,
            trx_begin0,
            ..
        } => {
            i.procid = Some(procid);
            i.trx = trx_begin0;
            if trx_begin0.is_none() {
                i.detail = format!("levelBeginFrom:{} clevelsToBegin:{count}", from.0);
            }
        }
        Record::Commit {
            procid,
            to,
            trx_commit0,
        } => {
            i.procid = Some(procid);
            i.trx = trx_commit0;
            if trx_commit0.is_none() {
                i.detail = format!("levelCommitTo:{}", to.0);
            }
        }
        Record::Rollback { procid, levels } => {
            i.procid = Some(procid);
            i.detail = format!("levelRollback:{levels}");
        }
        Record::Refresh { procid, trx_begin0 } => {
            i.procid = Some(procid);
            i.trx = Some(trx_begin0);
        }
        Record::Macro { procid, dbtime, .. } => {
            i.procid = Some(procid);
            i.dbtime_after = Some(dbtime);
        }
        Record::Trace { procid, text, .. } => {
            i.procid = Some(procid);
            i.detail = ansi_z(text);
        }
        Record::Session { procid, .. } => i.procid = Some(procid),
        _ => {}
    }
}

/// Database-level records other than CreateDB/AttachDB/DetachDB.
fn database_info(rec: &Record<'_>, i: &mut RecordInfo) {
    match *rec {
        Record::ShrinkDb {
            dbid, pgno_last, ..
        } => {
            i.dbid = Some(dbid);
            i.pgnos.push(pgno_last);
        }
        Record::TrimDb { dbid, .. }
        | Record::SetDbVersion { dbid, .. }
        | Record::DbSignal { dbid, .. }
        | Record::IgnorableDb { dbid, .. } => i.dbid = Some(dbid),
        Record::NewPage {
            procid,
            dbid,
            pgno,
            dbtime_after,
            ..
        } => {
            (i.procid, i.dbid) = (Some(procid), Some(dbid));
            i.pgnos.push(pgno);
            i.dbtime_after = Some(dbtime_after);
        }
        Record::ExtendDb { dbid, pgno_last } => {
            i.dbid = Some(dbid);
            i.pgnos.push(pgno_last);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// (size observed when walking the real log, bytes from the start of the
    /// record) — excerpts of `secedit-logs-b/edb.log` (8.4000.5.16), the first
    /// record of each type, at the lgpos in the comment. Only the bytes the
    /// size rule needs are kept for the long records.
    const REAL: &[(u32, &str)] = &[
        // Init at (0x1,1,28)
        (576, "31"),
        // CreateDB at (0x1,1,268)
        (129, "0e05000102000000000000006deb2b7c1722111a067c33040000000000000000000000000000000052000c0200000043003a005c00570049004e0044004f00570053005c00530065006300750072006900740079005c00440061007400610062006100730065005c0073006500630065006400690074002e007300640062000000"),
        // NOP2 at (0x1,1,2E9)
        (3351, "47120d0000"),
        // ExtendDB at (0x1,2,28)
        (10, "440500000001fe000000"),
        // Begin0 at (0x1,2,32)
        (8, "0805001004000000"),
        // Create M at (0x1,2,3A)
        (56, "18050001010000004900000000000000ffffffffffffffff0400000001000004010000000200000003000000"),
        // Commit0 at (0x1,2,72)
        (8, "0905000008000000"),
        // Replace at (0x1,2,82)
        (54, "21050001030000004a0000000000000049000000000000000c0000000100000c000000000100000001000000040004000400"),
        // Begin at (0x1,2,23A)
        (4, "05050011"),
        // Insert at (0x1,2,23E)
        (108, "1d05000104000000720000000000000053000000000000000c00000002000005afffffff04000000020000000d0000002d00"),
        // Commit at (0x1,2,34C)
        (4, "06050001"),
        // McroBegin at (0x1,6,156)
        (11, "0b05000d01000000000000"),
        // Split2 at (0x1,6,161)
        (1485, "3e050001040000000d0100000000000007010000000000000c000000020000040d00000000000000ffffffffffffffff00000000ffffffffffffffff04000000020000000001320000003300020800000508000000000000ffffffff01000000000000000000020000005f050000"),
        // McroComit at (0x1,6,794)
        (11, "0c05000d01000000000000"),
        // McroInfo at (0x1,6,79F)
        (13, "4308000000040000000d000000"),
        // FDelete at (0x1,7,5F8)
        (44, "200500011a00000024010000000000000f010000000000000c0000000200000c000000001800000003000000"),
        // CrDBFinsh at (0x1,9,28)
        (4, "4f050001"),
        // Create S at (0x1,A,66)
        (48, "190500011d0000003c01000000000000ffffffffffffffff1800000002000004060000000100000001000000"),
        // SetExtHdr at (0x1,F,65B)
        (62, "26050001200000009601000000000000870100000000000080000000010000040000000020000000090000001000"),
        // ReplaceD at (0x1,25,D82)
        (53, "220500013e0000006b0200000000000069020000000000007c01000003070005350300003e0000000d000000030047004700"),
        // Convert at (0x1,27,1CD)
        (68, "3a0500013f00000096020000000000008a020000000000007c010000030000000e0000004200000043000000"),
        // Delete at (0x1,27,E41)
        (44, "2305000143000000a602000000000000a5020000000000007c01000003010008000000003f0000000e000000"),
        // DetachDB at (0x1,31,28)
        (89, "1005000152001043003a005c00570049004e0044004f00570053005c00530065006300750072006900740079005c00440061007400610062006100730065005c0073006500630065006400690074002e007300640062000000"),
        // AttachDB at (0x1,32,28)
        (157, "0f0500010000000000003100010000006deb2b7c1722111a067c330400000000000000000000000000000000492bd6c81722111a067cd5020000000000000000000000000000000052000843003a005c00570049004e0044004f00570053005c00530065006300750072006900740079005c00440061007400610062006100730065005c0073006500630065006400690074002e007300640062000000"),
        // Merge2 at (0x1,5F,797)
        (96, "3f0700013e000000dd030000000000005703000000000000580400000100000400000000ffffffffffffffff00000000ffffffffffffffff00000000ffffffffffffffff3e0000000d0000000000000000000000020000000000000000000000"),
        // EmptyTree at (0x1,9D,3DC)
        (62, "300300013f0000000705000000000000c504000000000000ec09000001000000000000003f0000000e0000001000"),
        // FInsertRD at (0x1,9D,41A)
        (60, "1f030001430000000805000000000000c704000000000000ec09000001000008000000003f0000000e0000000400040000000000"),
    ];

    #[test]
    fn sizes_of_real_records() {
        for (size, h) in REAL {
            let b = unhex(h);
            assert_eq!(
                record_size(&b),
                Some(*size),
                "lrtyp {} ({})",
                b[0],
                lrtyp_name(b[0])
            );
        }
    }

    /// PageMove carries the source page's header part and trailer part: both
    /// lengths count (`LRPAGEMOVE::CbTotal`).
    #[test]
    fn page_move_size_counts_header_and_trailer_images() {
        let mut b = vec![0u8; 96];
        b[0] = 65;
        b[88..92].copy_from_slice(&40u32.to_le_bytes());
        b[92..96].copy_from_slice(&8u32.to_le_bytes());
        assert_eq!(record_size(&b), Some(96 + 40 + 8));
        b[92..96].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(record_size(&b), None);
    }

    #[test]
    fn every_type_has_a_rule() {
        for t in 0..=255u8 {
            let (name, rule) = lrtyp_info(t);
            assert_eq!(name.len(), 9);
            let invalid = matches!(rule, SizeRule::Invalid);
            assert_eq!(
                invalid,
                matches!(t, 40 | 41 | 43 | 44 | 47 | 56) || t >= LRTYP_MAX,
                "lrtyp {t}"
            );
        }
        for t in (67..=75).chain(82..=91) {
            assert_eq!(lrtyp_info(t).1, SizeRule::Ignorable);
            assert_eq!(record_size(&[t, 3, 0, 0, 0]), Some(8));
        }
        assert_eq!(record_size(&[49]), Some(576));
        assert_eq!(record_size(&[40]), None);
        assert_eq!(record_size(&[29, 0]), None); // fixed part incomplete
    }

    /// A record from an excerpt, padded with zeros to its size.
    fn rec(h: &str) -> LogRecord {
        let mut data = unhex(h);
        data.resize(record_size(&data).unwrap() as usize, 0);
        LogRecord {
            lgpos: Lgpos::default(),
            lrtyp: data[0],
            size: data.len() as u32,
            disk_bytes: data.len() as u32,
            fragments: 0,
            data: data.into(),
        }
    }

    fn real(t: u8) -> &'static str {
        REAL.iter().find(|(_, h)| unhex(&h[..2])[0] == t).unwrap().1
    }

    #[test]
    fn decodes_real_database_records() {
        let a = record_info(&rec(real(15)));
        assert_eq!(a.dbid, Some(1));
        assert_eq!(
            a.path.as_deref(),
            Some("C:\\WINDOWS\\Security\\Database\\secedit.sdb")
        );
        assert!(a.sign_db.unwrap().contains("Rand:2083253101"));
        let c = record_info(&rec(real(14)));
        assert_eq!(c.path, a.path);
        assert_eq!(c.dbid, Some(1));
        let d = record_info(&rec(real(16)));
        assert_eq!(d.path, a.path);
        let b = record_info(&rec(real(8)));
        assert_eq!((b.procid, b.trx), (Some(5), Some(4)));
        let c0 = record_info(&rec(real(9)));
        assert_eq!(c0.trx, Some(8));
        let m = record_info(&rec(real(11)));
        assert_eq!(m.dbtime_after, Some(0x10D)); // the Split2 that follows carries dbtime 0x10D
    }

    #[test]
    fn decodes_real_page_records() {
        let i = record_info(&rec(real(29)));
        let p = i.page.unwrap();
        assert_eq!((p.procid, p.dbid, p.pgno), (5, 1, 4));
        assert_eq!((p.dbtime, p.dbtime_before), (0x72, 0x53));
        assert_eq!((p.trx_begin0, p.level, p.iline, p.flags), (12, 2, 0, 5));
        assert_eq!(p.rceid, Some(0xFFFF_FFAF));
        let s = record_info(&rec(real(62)));
        assert_eq!(s.pgnos[0], 4);
        assert!(s.pgnos.contains(&0xD));
    }

    #[test]
    fn typed_fields_of_real_records() {
        let r = rec(real(29));
        let Ok(Record::Insert { node, key, data }) = r.decode() else {
            panic!("{:?}", r.decode())
        };
        assert_eq!(
            (key.prefix.len(), key.suffix.len(), data.len()),
            (0, 13, 45)
        );
        assert_eq!(
            (node.rceid, node.pgno_fdp, node.objid_fdp),
            (0xFFFF_FFAF, 4, 2)
        );
        assert!(node.page.flags.versioned() && node.page.flags.unique());
        assert_eq!(node.page.level, Level(2));
        let r = rec(real(5));
        let Ok(Record::Begin {
            procid,
            from,
            count,
            trx_begin0: None,
            ..
        }) = r.decode()
        else {
            panic!("{:?}", r.decode())
        };
        assert_eq!((procid, from, count), (5, Level(1), 1));
        let r = rec(real(15));
        let Ok(Record::AttachDb(a)) = r.decode() else {
            panic!("{:?}", r.decode())
        };
        assert_eq!(a.lgpos_consistent.eseutil_text(), "(0x1,31,0)");
        assert_eq!(
            a.path.text(),
            "C:\\WINDOWS\\Security\\Database\\secedit.sdb"
        );
        let r = rec(real(14));
        let (dbid, sign, _) = r
            .decode()
            .unwrap()
            .signed_database()
            .map(|(d, s, p)| (d, *s, p))
            .unwrap();
        assert_eq!((dbid, sign.0), (1, a.sign_db.0));
        let r = rec(real(62));
        let Ok(Record::Split(sp)) = r.decode() else {
            panic!("{:?}", r.decode())
        };
        assert_eq!((sp.page.pgno, sp.pgno_new), (4, 0xD));
        let img = sp.before_image.unwrap();
        assert_eq!(
            110 + sp.key_parent.len()
                + sp.prefix_split_old.len()
                + sp.prefix_split_new.len()
                + img.bytes.len(),
            r.data.len()
        );
    }

    /// Builds an 8.x data area: segments 1..=n of 4096 bytes after a blank header.
    fn segs(contents: &[&[u8]]) -> Vec<u8> {
        let mut f = vec![0u8; 4096];
        for c in contents {
            let mut s = vec![0u8; 4096];
            s[40..40 + c.len()].copy_from_slice(c);
            f.extend_from_slice(&s);
        }
        f
    }

    #[test]
    fn stream_with_real_fragment_headers() {
        // FragmentBegin / Fragment headers as found at (0x1,3,FBF) and
        // (0x1,4,28) of the real log: total 116 = 58 + 58.
        let body = unhex(real(29)); // 48-byte prefix of an Insert, sizes say 108
        let mut whole = body.clone();
        whole.resize(108, 0);
        whole.truncate(108);
        let mut r116 = whole.clone();
        r116.resize(116, 0);
        // Patch the Insert's cbData so that 50 + cbSuffix 13 + cbPrefix 0 +
        // cbData = 116, the total the real FragmentBegin announces.
        r116[48..50].copy_from_slice(&53u16.to_le_bytes());
        assert_eq!(record_size(&r116), Some(116));
        // A Begin0, then NOPs up to the FragmentBegin at the segment's end.
        let mut seg1 = unhex(real(8));
        seg1.resize(4096 - 40 - 65, 0);
        let mut fb = unhex("4c740000003a00");
        fb.extend_from_slice(&r116[..58]);
        seg1.extend_from_slice(&fb);
        assert_eq!(seg1.len(), 4056);
        let mut seg2 = unhex("4d3a00");
        seg2.extend_from_slice(&r116[58..]);
        seg2.extend_from_slice(&unhex(real(9)));
        let f = segs(&[&seg1, &seg2]);
        let recs = read_records(
            &f,
            1,
            4096,
            Layout::Segments {
                first: 1,
                last: Some(2),
                clean_end: true,
            },
        )
        .unwrap();
        let kinds: Vec<u8> = recs.iter().map(|r| r.lrtyp).collect();
        assert_eq!(kinds, [8, 0, 29, 9, 0]);
        let ins = &recs[2];
        assert_eq!((ins.size, ins.disk_bytes, ins.fragments), (116, 126, 2));
        // ESE's reader gives the Insert the position where the Begin0 ended
        // (the NOP run before it is not a record for it); the NOP run and the
        // Begin0 keep theirs, the first record is at the segment's start.
        let at = |sector, offset| Lgpos {
            generation: 1,
            sector,
            offset,
        };
        assert_eq!(recs[1].lgpos, at(1, 0x30));
        assert_eq!(ins.lgpos, at(1, 0x30));
        assert_eq!(recs[0].lgpos, at(1, 0));
        // The Commit0 follows the last Fragment directly.
        assert_eq!(recs[3].lgpos, at(2, 40 + 3 + 58));
        assert_eq!(ins.data, r116);
        let total: u32 = recs.iter().map(|r| r.disk_bytes).sum();
        assert_eq!(total, 2 * (4096 - 40));
        // Read from a shared buffer: the same records; the whole ones point
        // into the buffer, the reassembled one into a buffer of its own.
        let shared = Arc::new(f.clone());
        let layout = Layout::Segments {
            first: 1,
            last: Some(2),
            clean_end: true,
        };
        let (s, e) = read_stream_shared(&shared, 1, 4096, layout);
        assert!(e.is_none());
        assert_eq!(s.records, recs);
        assert_eq!(Arc::strong_count(&shared), 1 + 4);
        drop(s);
        assert_eq!(Arc::strong_count(&shared), 1);
        // Without bytes: only the reassembled record keeps its bytes.
        let (s, _) = read_stream_without_bytes(&f, 1, 4096, layout);
        let kept: Vec<usize> = s.records.iter().map(|r| r.data.len()).collect();
        assert_eq!(kept, [0, 0, 116, 0, 0]);
        assert_eq!(s.records[2].data, r116);
    }

    /// A record torn at the end of the data leaves no bytes behind; the
    /// records before it keep theirs.
    #[test]
    fn torn_fragment_at_the_end_keeps_no_bytes() {
        let mut seg1 = unhex(real(8));
        seg1.resize(4056 - 7 - 20, 0);
        let mut fb = unhex("4c740000001400");
        fb.extend_from_slice(&[29; 20]);
        seg1.extend_from_slice(&fb);
        let f = Arc::new(segs(&[&seg1]));
        let layout = Layout::Segments {
            first: 1,
            last: Some(1),
            clean_end: true,
        };
        let (s, e) = read_stream_shared(&f, 1, 4096, layout);
        assert!(e.is_none(), "{e:?}");
        let kinds: Vec<u8> = s.records.iter().map(|r| r.lrtyp).collect();
        assert_eq!(kinds, [8, 0]);
        assert_eq!(s.records[0].data, unhex(real(8)));
        assert_eq!(s.records[1].data, [0u8].to_vec());
        assert_eq!((s.torn.len(), s.torn[0].lrtyp), (1, Some(29)));
    }

    #[test]
    fn unknown_type_is_an_error_with_position() {
        let mut seg = unhex(real(8));
        seg.push(102);
        let f = segs(&[&seg]);
        let (got, e) = read_records(
            &f,
            7,
            4096,
            Layout::Segments {
                first: 1,
                last: Some(1),
                clean_end: true,
            },
        )
        .unwrap_err();
        assert_eq!(got.len(), 1);
        assert_eq!(e.jet, Jet::LOG_FILE_CORRUPT);
        assert_eq!(e.offset, 4096 + 48);
        assert!(e.detail.contains("(0x7,1,30)"), "{}", e.detail);
        let mut seg = unhex(real(8));
        seg.push(44);
        let f = segs(&[&seg]);
        let (_, e) = read_records(
            &f,
            7,
            4096,
            Layout::Segments {
                first: 1,
                last: Some(1),
                clean_end: true,
            },
        )
        .unwrap_err();
        assert!(e.detail.contains("no size"), "{}", e.detail);
    }

    #[test]
    fn record_overrunning_a_segment_is_an_error() {
        let mut seg = vec![0u8; 4056 - 4];
        seg[0] = 0; // NOP run
        let mut f = segs(&[&seg]);
        f[4096 + 4092..4096 + 4096].copy_from_slice(&unhex("08050010"));
        let (_, e) = read_records(
            &f,
            1,
            4096,
            Layout::Segments {
                first: 1,
                last: Some(1),
                clean_end: true,
            },
        )
        .unwrap_err();
        assert_eq!(e.offset, 4096 + 4092);
    }

    #[test]
    fn seven_x_stream_lands_on_every_lrchecksum() {
        use crate::log::fixture7;
        let f = fixture7::clean_log();
        let recs = read_records(
            &f,
            3,
            512,
            Layout::Contiguous {
                start: 4096,
                end: fixture7::END as u64,
                chain: &[],
                clean_end: false,
            },
        )
        .unwrap();
        let kinds: Vec<u8> = recs.iter().map(|r| r.lrtyp).collect();
        assert_eq!(kinds, [42, 8, 22, 9, 42, 8, 22, 9]);
        assert_eq!(
            recs[4].lgpos,
            Lgpos {
                generation: 3,
                sector: 10,
                offset: 40
            }
        );
        let total: u32 = recs.iter().map(|r| r.disk_bytes).sum();
        assert_eq!(total as usize, fixture7::END - 4096);
        // Ending mid-record is an error.
        let e = read_records(
            &f,
            3,
            512,
            Layout::Contiguous {
                start: 4096,
                end: 5200,
                chain: &[],
                clean_end: false,
            },
        )
        .unwrap_err();
        assert_eq!(e.1.offset, 5190);
    }
}
