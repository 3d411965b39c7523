//! `/k` for databases: a bounded-memory, multi-threaded page checksum
//! scanner, plus the single-bit repair of a copy (`--fix-ecc`).
//!
//! What is checked and how (facts from `_esefile/checksum.cxx`
//! `ProcessESEPages`, restated in `docs/format/checksums.md` §8):
//!
//! * the file is cut into pages of the database page size (from the header,
//!   [`read_header_pair`]); a partial tail is ignored;
//! * physical pages 1 and 2 are the header and its shadow, shown as page −1
//!   and 0 "(header)", verified with the legacy header checksum (checksums.md §1);
//! * the last physical page, when its dwords 1, 2, 3 and 6 are zero, is a
//!   backup trailer/patch page, also verified with the legacy header checksum;
//! * every other page is logical page `physical − 2`, verified with
//!   [`crate::checksum::verify_page`] (legacy XOR or XOR+ECC with single-bit location);
//! * an all-zero page is "uninitialized" and not checksummed.
//!
//! The classification itself is the one every mode shares
//! ([`crate::db::classify`]); this module maps it to eseutil's verdicts and
//! counts the trailer page in its own category.
//!
//! On top of eseutil's verdicts a failed page is refined: "wrong page number"
//! when its content checksums as another page, and "not an ESE page" when its
//! header is not plausible (see [`implausible_page_header`]).
//!
//! The library never prints: progress and damaged pages are reported through
//! [`ScanObserver`], in file order, from the calling thread.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::checksum::{apply_correction, page_format, ChecksumFormat, PageVerdict};
use crate::error::{Error, FormatError, Jet, Result};
use crate::file::{Input, PROBE_SIZE};
use crate::parse::db_header::{read_header_pair, PAGE_SIZES};
use crate::parse::u64_at;

/// Number of pages at the start of a database file that hold the header and
/// its shadow (`cpgDBReserved`, `inc/io.hxx`).
pub const HEADER_PAGES: u64 = 2;

/// Default size of one read (1 MiB: with page-aligned buffers, 1–2 MiB
/// reads cost the least CPU time on the 2-core AMD VM, ~25 % less than
/// 128 KiB reads; see BENCHMARKS.md).
pub const DEFAULT_CHUNK: usize = 1 << 20;

/// Default cap on the worker threads (one per core up to this).
pub const MAX_DEFAULT_WORKERS: usize = 4;

/// Default cap on the damaged pages kept in memory for the report.
pub const DEFAULT_MAX_DAMAGED: usize = 100_000;

/// What a physical page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PageRole {
    /// Database header or its shadow (physical pages 1 and 2).
    Header,
    /// Backup trailer / patch page (last physical page, docs/format/checksums.md §8).
    Trailer,
    /// A data page.
    Data,
}

/// Serializes a u64 checksum as `0x…` hex.
fn hex64<S: serde::Serializer>(v: &u64, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("0x{v:016x}"))
}

/// The verdict on one page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The checksum verifies.
    Ok,
    /// All zero: never written, not checksummed.
    Uninitialized,
    /// One flipped bit, located; flipping it back makes the page verify.
    Correctable {
        /// Checksum block holding the bit.
        block: usize,
        /// Bit index from the start of the page (what eseutil prints).
        page_bit: u32,
        /// Byte offset of the damaged byte in the file.
        byte_offset: u64,
        /// Bit number inside that byte (0 = least significant).
        bit: u8,
        /// Stored checksum of the block.
        #[serde(serialize_with = "hex64")]
        stored: u64,
        /// Recomputed checksum of the block.
        #[serde(serialize_with = "hex64")]
        computed: u64,
    },
    /// Uncorrectable checksum mismatch.
    Bad {
        /// First failing block.
        block: usize,
        /// What the damage looks like, when recognisable (e.g. a partially
        /// written page whose first sectors are zero: a torn write).
        #[serde(skip_serializing_if = "Option::is_none")]
        note: Option<&'static str>,
        /// Stored checksum.
        #[serde(serialize_with = "hex64")]
        stored: u64,
        /// Recomputed checksum.
        #[serde(serialize_with = "hex64")]
        computed: u64,
    },
    /// Intact content that belongs to another page number.
    WrongPageNumber {
        /// The page number the content checksums as.
        actual_pgno: u32,
    },
    /// The checksum fails and the page header is not plausible for an ESE
    /// page: foreign data (disk residue, another file).
    NotEsePage {
        /// Which plausibility rule failed.
        reason: &'static str,
    },
}

impl Verdict {
    /// Counted as a failure by eseutil (bad checksum): bad, wrong page
    /// number and not-an-ESE-page.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Verdict::Bad { .. } | Verdict::WrongPageNumber { .. } | Verdict::NotEsePage { .. }
        )
    }
}

/// One page's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PageResult {
    /// Number as eseutil displays it: physical page − 2 (headers −1 and 0).
    pub page: i64,
    /// Role of the page.
    pub role: PageRole,
    /// Byte offset of the page in the file.
    pub file_offset: u64,
    /// Checksum scheme (`None` for header/trailer pages and blank pages,
    /// which use the legacy header checksum or none).
    pub format: Option<ChecksumFormat>,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl PageResult {
    /// eseutil's page-type suffix: ` (header)` for the two header pages.
    pub fn suffix(&self) -> &'static str {
        if self.role == PageRole::Header {
            " (header)"
        } else {
            ""
        }
    }
}

pub use crate::db::classify::implausible_page_header;
use crate::db::classify::{classify, PageKind, DBTIME_SHRUNK};

/// Classifies one physical page (1-based `phys`), the file having
/// `last_phys` whole pages, with the shared classification
/// ([`crate::db::classify::classify`]) in `/k`'s terms.
pub fn classify_page(page: &[u8], phys: u64, last_phys: u64, expect_ecc: bool) -> PageResult {
    let ps = page.len() as u64;
    let file_offset = (phys - 1) * ps;
    let c = classify(page, phys, last_phys, expect_ecc);
    let role = match c.kind {
        PageKind::Header | PageKind::ShadowHeader => PageRole::Header,
        PageKind::Trailer => PageRole::Trailer,
        _ => PageRole::Data,
    };
    let format = match c.checksum {
        PageVerdict::Uninitialized => None,
        _ if c.kind.is_header_format() => None,
        _ => Some(page_format(page)),
    };
    let verdict = match c.checksum {
        PageVerdict::Uninitialized => Verdict::Uninitialized,
        PageVerdict::Ok { .. } => Verdict::Ok,
        PageVerdict::Correctable {
            bit,
            block,
            stored,
            computed,
            ..
        } => Verdict::Correctable {
            block,
            page_bit: bit,
            byte_offset: file_offset + (bit / 8) as u64,
            bit: (bit % 8) as u8,
            stored,
            computed,
        },
        PageVerdict::WrongPageNumber { actual_pgno, .. } => {
            Verdict::WrongPageNumber { actual_pgno }
        }
        PageVerdict::Bad {
            block,
            stored,
            computed,
            ..
        } => match (c.kind, c.note) {
            (PageKind::Foreign, Some(reason)) => Verdict::NotEsePage { reason },
            (_, note) => Verdict::Bad {
                block,
                note,
                stored,
                computed,
            },
        },
    };
    PageResult {
        page: phys as i64 - HEADER_PAGES as i64,
        role,
        file_offset,
        format,
        verdict,
    }
}

/// Options of a database scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Page size to use instead of the header's (eseutil /p… page-size switch).
    pub page_size: Option<usize>,
    /// Verify only this page (displayed number: −1 and 0 are the headers).
    pub page: Option<i64>,
    /// Bytes per sequential read (rounded down to whole pages).
    pub chunk_size: usize,
    /// Reading and verifying threads (0 = one per core, at most
    /// [`MAX_DEFAULT_WORKERS`]).
    pub workers: usize,
    /// Whether every data page must carry the ECC flag (`None`: yes for
    /// 16/32 KiB pages, which are always written in the ECC format).
    pub expect_ecc: Option<bool>,
    /// How many damaged pages to keep in [`DbScan::damaged`].
    pub max_damaged: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            page_size: None,
            page: None,
            chunk_size: DEFAULT_CHUNK,
            workers: 0,
            expect_ecc: None,
            max_damaged: DEFAULT_MAX_DAMAGED,
        }
    }
}

/// Receives progress and damaged pages during a scan, in file order, on the
/// calling thread.
pub trait ScanObserver {
    /// `done` of `total` bytes have been verified.
    fn progress(&mut self, _done: u64, _total: u64) {}
    /// A page that is not ok and not uninitialized.
    fn damaged(&mut self, _page: &PageResult) {}
}

/// An observer that ignores everything.
pub struct Quiet;
impl ScanObserver for Quiet {}

/// Counters of a scan (eseutil's CHECKSUM_STATS, with finer verdicts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Pages looked at, headers and blank pages included.
    pub pages_seen: u64,
    /// Pages whose checksum verifies (headers included, trailer excluded).
    pub ok: u64,
    /// Backup trailer (patch) pages whose header checksum verifies (a
    /// failing one counts as bad).
    pub trailer: u64,
    /// Verified pages released by a database shrink (also counted in `ok`).
    pub shrunk: u64,
    /// Uncorrectable checksum mismatches (our finer "bad" only).
    pub bad: u64,
    /// Pages with one located, correctable flipped bit.
    pub correctable: u64,
    /// All-zero pages.
    pub uninitialized: u64,
    /// Intact pages found at the wrong place.
    pub wrong_page_numbers: u64,
    /// Failed pages whose header is not plausible.
    pub not_ese_pages: u64,
    /// Highest dbtime of a verified (or correctable) data page.
    pub highest_dbtime: u64,
    /// Its page number.
    pub highest_dbtime_pgno: u32,
}

impl Counts {
    /// eseutil's "bad checksums": every failed page (bad + wrong page number +
    /// not an ESE page).
    pub fn eseutil_bad(&self) -> u64 {
        self.bad + self.wrong_page_numbers + self.not_ese_pages
    }

    /// Counts one page: `r` is [`classify_page`]'s result for `page`,
    /// pages added in file order (the first page of the highest dbtime
    /// is kept).
    pub fn add(&mut self, r: &PageResult, page: &[u8]) {
        self.pages_seen += 1;
        match r.verdict {
            Verdict::Ok if r.role == PageRole::Trailer => self.trailer += 1,
            Verdict::Ok => {
                self.ok += 1;
                if r.role == PageRole::Data && u64_at(page, 8) == DBTIME_SHRUNK {
                    self.shrunk += 1;
                }
            }
            Verdict::Uninitialized => self.uninitialized += 1,
            Verdict::Correctable { .. } => self.correctable += 1,
            Verdict::Bad { .. } => self.bad += 1,
            Verdict::WrongPageNumber { .. } => self.wrong_page_numbers += 1,
            Verdict::NotEsePage { .. } => self.not_ese_pages += 1,
        }
        if let Some(dbtime) = dbtime_candidate(r, page) {
            if dbtime > self.highest_dbtime {
                self.highest_dbtime = dbtime;
                self.highest_dbtime_pgno = r.page as u32;
            }
        }
    }

    fn merge(&mut self, o: &Counts) {
        self.pages_seen += o.pages_seen;
        self.ok += o.ok;
        self.trailer += o.trailer;
        self.shrunk += o.shrunk;
        self.bad += o.bad;
        self.correctable += o.correctable;
        self.uninitialized += o.uninitialized;
        self.wrong_page_numbers += o.wrong_page_numbers;
        self.not_ese_pages += o.not_ese_pages;
        // Strictly greater: the first page in file order wins a tie, as in eseutil.
        if o.highest_dbtime > self.highest_dbtime {
            self.highest_dbtime = o.highest_dbtime;
            self.highest_dbtime_pgno = o.highest_dbtime_pgno;
        }
    }
}

/// The dbtime a page offers for [`Counts::highest_dbtime`] (`r` is
/// [`classify_page`]'s result for `page`): that of a verified or
/// correctable data page, above 0; a shrunk page's dbtime is a marker, not
/// a time.
pub fn dbtime_candidate(r: &PageResult, page: &[u8]) -> Option<u64> {
    let counted =
        r.role == PageRole::Data && matches!(r.verdict, Verdict::Ok | Verdict::Correctable { .. });
    let dbtime = u64_at(page, 8);
    (counted && dbtime != crate::db::classify::DBTIME_SHRUNK && dbtime > 0).then_some(dbtime)
}

/// I/O statistics (eseutil prints them after the counters).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IoStats {
    /// Reads issued.
    pub reads: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Total time spent in reads, ms.
    pub read_ms_total: u64,
    /// Slowest read, ms.
    pub read_ms_max: u64,
    /// Fastest read, ms.
    pub read_ms_min: u64,
    /// Wall time of the scan, seconds.
    pub seconds: f64,
}

/// Result of scanning a database file.
#[derive(Debug, Clone, Serialize)]
pub struct DbScan {
    /// The file.
    pub path: PathBuf,
    /// File size in bytes.
    pub file_size: u64,
    /// Page size used.
    pub page_size: usize,
    /// Where the page size came from: `header` or `option`.
    pub page_size_source: &'static str,
    /// Bytes after the last whole page (ignored, as eseutil does).
    pub ignored_tail_bytes: u64,
    /// Counters.
    pub counts: Counts,
    /// I/O statistics.
    pub io: IoStats,
    /// Damaged pages (everything not ok and not blank), in file order, up to
    /// [`ScanOptions::max_damaged`].
    pub damaged: Vec<PageResult>,
    /// Damaged pages left out of `damaged` because of the cap.
    pub damaged_omitted: u64,
}

impl DbScan {
    /// Whether eseutil would fail the file (any failed page, or nothing seen).
    pub fn failed(&self) -> bool {
        self.counts.eseutil_bad() > 0 || self.counts.pages_seen == 0
    }
}

/// Determines the page size: the option, else the verified header.
fn page_size_of(input: &mut Input, opt: Option<usize>) -> Result<(usize, &'static str)> {
    if let Some(ps) = opt {
        if !PAGE_SIZES.contains(&ps) {
            return Err(Error::Usage(format!(
                "page size {ps} is not one of 2048, 4096, 8192, 16384, 32768"
            )));
        }
        return Ok((ps, "option"));
    }
    let probe = input.read_at(0, PROBE_SIZE)?;
    let pair = read_header_pair(&probe).map_err(|e| {
        let e = FormatError::new(
            e.offset,
            Jet::DATABASE_CORRUPTED,
            format!(
                "{}; give the page size with --page-size to checksum the pages anyway",
                e.detail
            ),
        );
        Error::corrupt(&input.path, e)
    })?;
    Ok((pair.page_size, "header"))
}

/// What one chunk gave: its length, how long its read took, its counters
/// and its damaged pages (file order).
struct ChunkResult {
    len: usize,
    read_ms: u64,
    counts: Counts,
    damaged: Vec<PageResult>,
}

/// Verifies the whole pages of `bytes`, the first being physical page
/// `first_phys`.
fn verify_pages(bytes: &[u8], first_phys: u64, geo: Geometry) -> (Counts, Vec<PageResult>) {
    let mut counts = Counts::default();
    let mut damaged = Vec::new();
    for (i, page) in bytes.chunks_exact(geo.ps).enumerate() {
        let r = classify_page(page, first_phys + i as u64, geo.last_phys, geo.expect_ecc);
        counts.add(&r, page);
        if !matches!(r.verdict, Verdict::Ok | Verdict::Uninitialized) {
            damaged.push(r);
        }
    }
    (counts, damaged)
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// Scans a database file. The file is opened read-only; `workers` threads
/// (the calling one included) each read the next
/// [`ScanOptions::chunk_size`] piece with a positioned read into their own
/// buffer and verify its pages while they are in cache; results are merged
/// in file order. Memory: one chunk buffer per worker (2 MiB with the
/// default 1 MiB chunks on 2 cores) plus the results of at most
/// `4 × workers` chunks waiting for the merge.
pub fn scan_database(
    path: &Path,
    opts: &ScanOptions,
    obs: &mut dyn ScanObserver,
) -> Result<DbScan> {
    let start = Instant::now();
    let mut input = Input::open(path)?;
    let (ps, ps_source) = page_size_of(&mut input, opts.page_size)?;
    let geo = Geometry {
        ps,
        last_phys: input.len / ps as u64,
        expect_ecc: opts.expect_ecc.unwrap_or(ps > 8192),
    };
    let mut scan = DbScan {
        path: path.to_path_buf(),
        file_size: input.len,
        page_size: ps,
        page_size_source: ps_source,
        ignored_tail_bytes: input.len % ps as u64,
        counts: Counts::default(),
        io: IoStats::default(),
        damaged: Vec::new(),
        damaged_omitted: 0,
    };
    if let Some(n) = opts.page {
        scan_one_page(&mut input, n, geo, opts, &mut scan, obs)?;
    } else {
        scan.io = scan_all_pages(input.file, path, geo, opts, &mut scan, obs)?;
    }
    scan.io.seconds = start.elapsed().as_secs_f64();
    Ok(scan)
}

/// Page size and page count of the file being scanned.
#[derive(Clone, Copy)]
struct Geometry {
    ps: usize,
    /// Number of whole pages (the last physical page number).
    last_phys: u64,
    /// Whether pages without the new-format flag are expected in ECC form.
    expect_ecc: bool,
}

impl DbScan {
    /// Reports a damaged page and keeps it, up to the cap.
    fn keep(&mut self, r: PageResult, max_damaged: usize, obs: &mut dyn ScanObserver) {
        obs.damaged(&r);
        if self.damaged.len() < max_damaged {
            self.damaged.push(r);
        } else {
            self.damaged_omitted += 1;
        }
    }
}

/// `--page N`: reads and verifies the one page (displayed number `n`).
fn scan_one_page(
    input: &mut Input,
    n: i64,
    geo: Geometry,
    opts: &ScanOptions,
    scan: &mut DbScan,
    obs: &mut dyn ScanObserver,
) -> Result<()> {
    let (ps, last_phys) = (geo.ps, geo.last_phys);
    let phys = n + HEADER_PAGES as i64;
    if phys < 1 || phys as u64 > last_phys {
        return Err(Error::Usage(format!(
            "page {n} is outside the file (pages -1 to {})",
            last_phys as i64 - HEADER_PAGES as i64
        )));
    }
    let t = Instant::now();
    let page = input.read_at((phys as u64 - 1) * ps as u64, ps)?;
    let d = ms(t.elapsed());
    scan.io = IoStats {
        reads: 1,
        bytes_read: ps as u64,
        read_ms_total: d,
        read_ms_max: d,
        read_ms_min: d,
        seconds: 0.0,
    };
    let r = classify_page(&page, phys as u64, last_phys, geo.expect_ecc);
    scan.counts.add(&r, &page);
    if !matches!(r.verdict, Verdict::Ok | Verdict::Uninitialized) {
        scan.keep(r, opts.max_damaged, obs);
    }
    obs.progress(ps as u64, ps as u64);
    Ok(())
}

/// How far (in chunks) a worker may run ahead of the oldest chunk not yet
/// merged, per worker: bounds the results waiting for the in-order merge.
const WINDOW_PER_WORKER: usize = 4;

/// Worker count: the option, else one per core, at most [`MAX_DEFAULT_WORKERS`].
fn worker_count(opt: usize) -> usize {
    if opt > 0 {
        return opt;
    }
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, MAX_DEFAULT_WORKERS)
}

/// The whole file: `workers` threads (the calling thread one of them) each
/// claim the next chunk, read it with a positioned read into their own
/// buffer and verify its pages while they are still in cache; results are
/// merged in file order on the calling thread ([`run_in_order`]). Returns
/// the summed I/O statistics.
fn scan_all_pages(
    file: File,
    path: &Path,
    geo: Geometry,
    opts: &ScanOptions,
    scan: &mut DbScan,
    obs: &mut dyn ScanObserver,
) -> Result<IoStats> {
    let ps = geo.ps;
    let chunk = (opts.chunk_size / ps).max(1) * ps;
    let total = geo.last_phys * ps as u64;
    let n = total.div_ceil(chunk as u64) as usize;
    // `--hash` sees the bytes as they are read, in order: one thread then.
    let hashing = crate::file::hash_tap::enabled();
    let workers = if hashing {
        1
    } else {
        worker_count(opts.workers)
    };
    // Advisory (larger read-ahead on a cold cache); a failure changes nothing.
    let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::Sequential);
    let read_and_verify = |idx: usize, buf: &mut Vec<u8>| -> Result<ChunkResult> {
        let off = idx as u64 * chunk as u64;
        let len = (total - off).min(chunk as u64) as usize;
        let buf = crate::file::page_aligned(buf, len);
        let t = Instant::now();
        file.read_exact_at(buf, off)
            .map_err(|e| read_error(path, off, len, e))?;
        let read_ms = ms(t.elapsed());
        if hashing {
            crate::file::hash_tap::feed(path, off, buf); // --hash, same pass
        }
        let (counts, damaged) = verify_pages(buf, off / ps as u64 + 1, geo);
        Ok(ChunkResult {
            len,
            read_ms,
            counts,
            damaged,
        })
    };
    let mut io = IoStats {
        read_ms_min: u64::MAX,
        ..Default::default()
    };
    let mut failure = None;
    let mut done = 0u64;
    let merge = |r: Result<ChunkResult>| match r {
        Ok(c) => {
            io.reads += 1;
            io.bytes_read += c.len as u64;
            io.read_ms_total += c.read_ms;
            io.read_ms_max = io.read_ms_max.max(c.read_ms);
            io.read_ms_min = io.read_ms_min.min(c.read_ms);
            scan.counts.merge(&c.counts);
            for r in c.damaged {
                scan.keep(r, opts.max_damaged, obs);
            }
            done += c.len as u64;
            obs.progress(done, total);
            true
        }
        Err(e) => {
            failure = Some(e);
            false
        }
    };
    run_in_order(
        n,
        workers,
        WINDOW_PER_WORKER * workers,
        read_and_verify,
        merge,
    );
    if let Some(e) = failure {
        return Err(e);
    }
    if io.reads == 0 {
        io.read_ms_min = 0;
    }
    Ok(io)
}

/// A failed read of `len` bytes at `off`, naming the file and the offset.
fn read_error(path: &Path, off: u64, len: usize, e: std::io::Error) -> Error {
    let what = if e.kind() == std::io::ErrorKind::UnexpectedEof {
        "the file ended early (truncated during the scan?)".to_string()
    } else {
        e.to_string()
    };
    let msg = format!("reading {len} bytes at offset {off} (0x{off:X}): {what}");
    Error::io(path, std::io::Error::new(e.kind(), msg))
}

/// Hands out chunk indexes in order and holds a worker back while its
/// chunk is `window` or more chunks ahead of the oldest unmerged one.
struct Gate {
    next: AtomicUsize,
    n: usize,
    window: usize,
    state: Mutex<GateState>,
    moved: Condvar,
}

struct GateState {
    /// Chunks merged so far (= index of the oldest unmerged chunk).
    merged: usize,
    /// Workers blocked in [`Gate::enter`].
    waiters: usize,
    /// The merge gave up (an error): nothing more is started.
    stop: bool,
}

impl Gate {
    fn new(n: usize, window: usize) -> Self {
        Gate {
            next: AtomicUsize::new(0),
            n,
            window: window.max(1),
            state: Mutex::new(GateState {
                merged: 0,
                waiters: 0,
                stop: false,
            }),
            moved: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next chunk index, or `None` when every chunk is claimed.
    fn claim(&self) -> Option<usize> {
        let idx = self.next.fetch_add(1, Ordering::Relaxed);
        (idx < self.n).then_some(idx)
    }

    /// Blocks until chunk `idx` is inside the window; false once stopped.
    fn enter(&self, idx: usize) -> bool {
        let mut st = self.lock();
        while !st.stop && idx >= st.merged + self.window {
            st.waiters += 1;
            st = self.moved.wait(st).unwrap_or_else(PoisonError::into_inner);
            st.waiters -= 1;
        }
        !st.stop
    }

    /// Records that `merged` chunks are merged, waking held-back workers.
    fn advance(&self, merged: usize) {
        let mut st = self.lock();
        st.merged = merged;
        let wake = st.waiters > 0;
        drop(st);
        if wake {
            self.moved.notify_all();
        }
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.moved.notify_all();
    }
}

/// Stops the gate when a thread unwinds, so that no other thread waits
/// forever for a chunk that will never come (a panic stays a panic, not a
/// hang).
struct StopOnPanic<'g>(&'g Gate);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// A spawned worker: claims, waits for the window, works, sends.
fn work_chunks<T, W>(gate: &Gate, work: &W, tx: Sender<(usize, T)>)
where
    W: Fn(usize, &mut Vec<u8>) -> T,
{
    let _guard = StopOnPanic(gate);
    let mut buf = Vec::new();
    while let Some(idx) = gate.claim() {
        if !gate.enter(idx) || tx.send((idx, work(idx, &mut buf))).is_err() {
            break;
        }
    }
}

/// The calling thread's side of [`run_in_order`]: results that arrived
/// early wait in `pending` until every chunk before them is merged.
struct Merger<'g, T, M> {
    gate: &'g Gate,
    rx: Receiver<(usize, T)>,
    pending: BTreeMap<usize, T>,
    merged: usize,
    merge: M,
    ok: bool,
    peak_pending: usize,
}

impl<T, M: FnMut(T) -> bool> Merger<'_, T, M> {
    fn accept(&mut self, idx: usize, t: T) {
        self.pending.insert(idx, t);
        self.peak_pending = self.peak_pending.max(self.pending.len());
    }

    /// Merges every result whose predecessors are all merged.
    fn merge_ready(&mut self) {
        let before = self.merged;
        while self.ok {
            let Some(t) = self.pending.remove(&self.merged) else {
                break;
            };
            self.merged += 1;
            if !(self.merge)(t) {
                self.ok = false;
                self.gate.stop();
            }
        }
        if self.merged != before {
            self.gate.advance(self.merged);
        }
    }

    /// Takes whatever the workers have sent, without blocking.
    fn poll(&mut self) {
        while let Ok((idx, t)) = self.rx.try_recv() {
            self.accept(idx, t);
        }
        self.merge_ready();
    }

    /// Blocks for one result; false when every worker is gone.
    fn wait_one(&mut self) -> bool {
        match self.rx.recv() {
            Ok((idx, t)) => {
                self.accept(idx, t);
                self.merge_ready();
                true
            }
            Err(_) => false,
        }
    }
}

/// What [`run_in_order`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RunSummary {
    /// Chunks merged (all `n` unless the merge gave up).
    merged: usize,
    /// Most results ever waiting for their predecessors (≤ the window).
    peak_pending: usize,
}

/// Runs `work(idx, buffer)` for every chunk index `0..n` on `workers`
/// threads, the calling thread being one of them (each thread owns one
/// buffer), and hands each result to `merge` on the calling thread in index
/// order; `merge` returns false to stop (nothing more is started). A chunk
/// is started only while it is less than `window` chunks ahead of the
/// oldest unmerged one, so at most `window` results are ever held.
fn run_in_order<T, W, M>(n: usize, workers: usize, window: usize, work: W, merge: M) -> RunSummary
where
    T: Send,
    W: Fn(usize, &mut Vec<u8>) -> T + Sync,
    M: FnMut(T) -> bool,
{
    let gate = Gate::new(n, window);
    let (tx, rx) = channel::<(usize, T)>();
    std::thread::scope(|s| {
        for _ in 1..workers.max(1) {
            let (gate, work, tx) = (&gate, &work, tx.clone());
            s.spawn(move || work_chunks(gate, work, tx));
        }
        drop(tx);
        let _guard = StopOnPanic(&gate);
        let mut m = Merger {
            gate: &gate,
            rx,
            pending: BTreeMap::new(),
            merged: 0,
            merge,
            ok: true,
            peak_pending: 0,
        };
        let mut buf = Vec::new();
        'claims: while let Some(idx) = gate.claim() {
            // This thread never blocks on the gate: it merges instead.
            while m.ok && idx >= m.merged + gate.window {
                if !m.wait_one() {
                    break 'claims;
                }
            }
            if !m.ok {
                break;
            }
            let t = work(idx, &mut buf);
            m.accept(idx, t);
            m.poll();
        }
        while m.ok && m.merged < n && m.wait_one() {}
        gate.stop(); // releases held-back workers after an early stop
        RunSummary {
            merged: m.merged,
            peak_pending: m.peak_pending,
        }
    })
}

/// One bit changed by `--fix-ecc`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BitFix {
    /// Page number (displayed).
    pub page: i64,
    /// Byte offset in the file.
    pub file_offset: u64,
    /// Bit inside the byte (0 = least significant).
    pub bit: u8,
    /// Byte value before.
    pub before: u8,
    /// Byte value after.
    pub after: u8,
}

/// Result of writing a corrected copy.
#[derive(Debug, Clone, Serialize)]
pub struct FixReport {
    /// Where the corrected copy was written (or the file fixed in place).
    pub output: PathBuf,
    /// Whether the input itself was modified (`--in-place`).
    pub in_place: bool,
    /// Every bit changed.
    pub fixes: Vec<BitFix>,
    /// Correctable pages that did not verify after the fix (should be none).
    pub failed_pages: Vec<i64>,
    /// Pages that remain damaged (not correctable).
    pub uncorrectable_pages: u64,
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// Applies the correction of one correctable page to `page` (in memory) and
/// returns the bits changed, or `None` when the page does not verify after.
fn fix_page(page: &mut [u8], r: &PageResult) -> Option<Vec<BitFix>> {
    let Verdict::Correctable { page_bit, .. } = r.verdict else {
        return None;
    };
    let before = page.to_vec();
    let pgno = r.page as u32;
    if !apply_correction(page, pgno, page_bit) {
        page.copy_from_slice(&before);
        return None;
    }
    let mut fixes = Vec::new();
    for (i, (a, b)) in before.iter().zip(page.iter()).enumerate() {
        let x = a ^ b;
        for bit in 0..8u8 {
            if x >> bit & 1 == 1 {
                fixes.push(BitFix {
                    page: r.page,
                    file_offset: r.file_offset + i as u64,
                    bit,
                    before: *a,
                    after: *b,
                });
            }
        }
    }
    Some(fixes)
}

/// Corrects every correctable page of `scan.path` (a finished scan of it):
/// writes a corrected copy to `output` through a temporary file in the
/// target directory and a rename (the input is never opened for writing),
/// re-verifying each fixed page. With `output == None`, fixes the input in
/// place (the caller must have asked explicitly).
pub fn fix_ecc(scan: &DbScan, output: Option<&Path>) -> Result<FixReport> {
    if scan.damaged_omitted > 0 {
        return Err(Error::Unsupported(format!(
            "{} damaged pages were not kept in memory; rerun with a higher cap",
            scan.damaged_omitted
        )));
    }
    let ps = scan.page_size;
    let correctable: Vec<&PageResult> = scan
        .damaged
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Correctable { .. }))
        .collect();
    let uncorrectable = scan.damaged.len() as u64 - correctable.len() as u64;
    let mut report = FixReport {
        output: output.unwrap_or(&scan.path).to_path_buf(),
        in_place: output.is_none(),
        fixes: Vec::new(),
        failed_pages: Vec::new(),
        uncorrectable_pages: uncorrectable,
    };
    let fix_all = |f: &mut File, report: &mut FixReport, what: &Path| -> Result<()> {
        for r in &correctable {
            let mut page = vec![0u8; ps];
            f.seek(SeekFrom::Start(r.file_offset))
                .and_then(|_| f.read_exact(&mut page))
                .map_err(|e| Error::io(what, e))?;
            match fix_page(&mut page, r) {
                Some(fixes) => {
                    f.seek(SeekFrom::Start(r.file_offset))
                        .and_then(|_| f.write_all(&page))
                        .map_err(|e| Error::io(what, e))?;
                    report.fixes.extend(fixes);
                }
                None => report.failed_pages.push(r.page),
            }
        }
        f.sync_all().map_err(|e| Error::io(what, e))
    };
    match output {
        None => {
            let mut f = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&scan.path)
                .map_err(|e| Error::io(&scan.path, e))?;
            fix_all(&mut f, &mut report, &scan.path)?;
        }
        Some(out) => {
            if out.exists() && same_file(out, &scan.path) {
                return Err(Error::Usage(format!(
                    "--output {} is the input file; refusing to write over it",
                    out.display()
                )));
            }
            // The caller decided the target may be replaced (an earlier
            // corrected copy of the same database, or --force).
            let mut f = crate::file::AtomicFile::create(out)?;
            let tmp = f.tmp_path().to_path_buf();
            let mut src = File::open(&scan.path).map_err(|e| Error::io(&scan.path, e))?;
            std::io::copy(&mut src, f.file()).map_err(|e| Error::io(&tmp, e))?;
            fix_all(f.file(), &mut report, &tmp)?;
            f.commit()?;
        }
    }
    Ok(report)
}

/// Synthetic database pages for tests, the benchmark generator and fuzzing:
/// a verifiable header and plausible data pages with valid checksums.
#[cfg(any(test, feature = "test-support"))]
pub mod synth {
    use crate::checksum::{seal_header, seal_page, FLAG_NEW_CHECKSUM};
    use crate::parse::db_header::MAGIC;

    /// A database header page (magic, file type 1, cbPageSize at 236),
    /// sealed with the legacy header checksum.
    pub fn header(ps: usize) -> Vec<u8> {
        let mut h = vec![0u8; ps];
        h[4..8].copy_from_slice(&MAGIC.to_le_bytes());
        h[8..12].copy_from_slice(&0x620u32.to_le_bytes());
        h[236..240].copy_from_slice(&(ps as u32).to_le_bytes());
        h[667..671].copy_from_slice(&1u32.to_le_bytes());
        seal_header(&mut h);
        h
    }

    /// A plausible leaf page of tree 7 at logical page `pgno` with valid
    /// checksums (ECC format when `ecc`, else legacy XOR; large pages are
    /// always ECC in real files but either works here).
    pub fn data_page(ps: usize, pgno: u32, dbtime: u64, ecc: bool) -> Vec<u8> {
        let mut p = vec![0u8; ps];
        fill_data_page(&mut p, pgno, dbtime, ecc);
        p
    }

    /// [`data_page`] into an existing buffer.
    pub fn fill_data_page(p: &mut [u8], pgno: u32, dbtime: u64, ecc: bool) {
        let ps = p.len();
        let hdr = if ps > 8192 { 80 } else { 40 };
        p.fill(0);
        p[8..16].copy_from_slice(&dbtime.to_le_bytes());
        p[24..28].copy_from_slice(&7u32.to_le_bytes());
        let itag = 3usize;
        let ib = ps / 2;
        let free = ps - hdr - ib - 4 * itag;
        p[28..30].copy_from_slice(&(free as u16).to_le_bytes());
        p[32..34].copy_from_slice(&(ib as u16).to_le_bytes());
        p[34..36].copy_from_slice(&(itag as u16).to_le_bytes());
        let flags = 2 | if ecc { FLAG_NEW_CHECKSUM } else { 0 };
        p[36..40].copy_from_slice(&flags.to_le_bytes());
        let mut x = 0x9E37_79B9u32 ^ pgno.wrapping_mul(0x85EB_CA6B);
        for b in p[hdr..hdr + ib].iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        if ps > 8192 {
            p[64..68].copy_from_slice(&pgno.to_le_bytes());
        }
        seal_page(p, pgno);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::{seal_header, seal_page, FLAG_NEW_CHECKSUM};

    fn data_page(ps: usize, pgno: u32, dbtime: u64) -> Vec<u8> {
        let mut p = vec![0u8; ps];
        let hdr = if ps > 8192 { 80 } else { 40 };
        p[8..16].copy_from_slice(&dbtime.to_le_bytes());
        p[24..28].copy_from_slice(&7u32.to_le_bytes());
        // one tag of 100 bytes; free space accounts for the rest
        let itag = 1usize;
        let ib = 100usize;
        let free = ps - hdr - ib - 4 * itag;
        p[28..30].copy_from_slice(&(free as u16).to_le_bytes());
        p[32..34].copy_from_slice(&(ib as u16).to_le_bytes());
        p[34..36].copy_from_slice(&(itag as u16).to_le_bytes());
        p[36..40].copy_from_slice(&(FLAG_NEW_CHECKSUM | 2).to_le_bytes());
        for (i, b) in p[hdr..hdr + ib].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) ^ pgno as u8;
        }
        if ps > 8192 {
            p[64..68].copy_from_slice(&pgno.to_le_bytes());
        }
        seal_page(&mut p, pgno);
        p
    }

    fn db(ps: usize, npages: u32) -> Vec<u8> {
        let mut f = vec![0u8; ps * (npages as usize + 2)];
        let mut h = vec![0u8; ps];
        h[4..8].copy_from_slice(&crate::parse::db_header::MAGIC.to_le_bytes());
        seal_header(&mut h);
        f[..ps].copy_from_slice(&h);
        f[ps..2 * ps].copy_from_slice(&h);
        for pg in 1..=npages {
            if pg % 3 == 0 {
                continue;
            }
            let off = (pg as usize + 1) * ps;
            f[off..off + ps].copy_from_slice(&data_page(ps, pg, pg as u64 * 10));
        }
        f
    }

    #[test]
    fn synthetic_pages_are_plausible_and_ok() {
        for ps in [4096, 8192, 16384, 32768] {
            let p = data_page(ps, 5, 1);
            assert_eq!(implausible_page_header(&p, true), None);
            let r = classify_page(&p, 7, 100, true);
            assert_eq!(r.verdict, Verdict::Ok, "{ps}");
        }
    }

    #[test]
    fn pipeline_counts_and_order() {
        let ps = 4096;
        let mut f = db(ps, 50);
        // damage pages 4 (correctable), 10 (bad), 20 (not ESE)
        f[5 * ps + 1000] ^= 0x10;
        f[11 * ps + 100] ^= 1;
        f[11 * ps + 200] ^= 1;
        for b in &mut f[21 * ps + 8..22 * ps] {
            *b = 0x41;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.edb");
        std::fs::write(&path, &f).unwrap();
        let opts = ScanOptions {
            page_size: Some(ps),
            chunk_size: 3 * ps,
            workers: 2,
            ..Default::default()
        };
        let s = scan_database(&path, &opts, &mut Quiet).unwrap();
        assert_eq!(s.counts.pages_seen, 52);
        assert_eq!(s.counts.correctable, 1);
        assert_eq!(s.counts.bad, 1);
        assert_eq!(s.counts.not_ese_pages, 1);
        let pages: Vec<i64> = s.damaged.iter().map(|r| r.page).collect();
        assert_eq!(pages, [4, 10, 20]);
        match s.damaged[0].verdict {
            Verdict::Correctable {
                byte_offset, bit, ..
            } => {
                assert_eq!(byte_offset, (5 * ps + 1000) as u64);
                assert_eq!(bit, 4);
            }
            ref v => panic!("{v:?}"),
        }
        // flattened verdict fields must not collide with the page's fields
        let j = serde_json::to_string(&s.damaged[0]).unwrap();
        assert_eq!(j.matches("\"file_offset\"").count(), 1, "{j}");
        assert_eq!(s.counts.highest_dbtime, 500);
        assert_eq!(s.counts.highest_dbtime_pgno, 50);
        // fix a copy
        let out = dir.path().join("fixed.edb");
        let rep = fix_ecc(&s, Some(&out)).unwrap();
        assert_eq!(rep.fixes.len(), 1);
        let fixed = std::fs::read(&out).unwrap();
        assert_eq!(fixed[5 * ps + 1000], f[5 * ps + 1000] ^ 0x10);
        assert!(fix_ecc(&s, Some(&path)).is_err());
    }

    /// Records what the scan reported, in the order it reported it.
    #[derive(Default)]
    struct Recorder {
        damaged: Vec<i64>,
        progress: Vec<u64>,
    }

    impl ScanObserver for Recorder {
        fn progress(&mut self, done: u64, _total: u64) {
            self.progress.push(done);
        }
        fn damaged(&mut self, r: &PageResult) {
            self.damaged.push(r.page);
        }
    }

    /// 8 KiB ECC pages, 4 pages per chunk: damage on the first and last
    /// page of chunks (correctable, bad, moved, foreign) and in the short
    /// last chunk.
    fn damaged_at_chunk_boundaries(ps: usize) -> (Vec<u8>, usize) {
        let mut f = db(ps, 62); // 64 physical pages: 16 chunks of 4
        let phys = |n: usize| (n - 1) * ps; // file offset of physical page n
        for n in [5, 8, 11] {
            // pgno 3, 6, 9: blank in `db`, written here
            let pgno = n as u32 - 2;
            f[phys(n)..phys(n + 1)].copy_from_slice(&data_page(ps, pgno, pgno as u64 * 10));
        }
        f[phys(5) + 777] ^= 0x04; // first page of chunk 1: correctable
        f[phys(8) + 100] ^= 1; // last page of chunk 1: bad (two flips)
        f[phys(8) + 300] ^= 1;
        f[phys(9) + 5000] ^= 0x80; // first page of chunk 2: correctable
        let moved = f[phys(11)..phys(12)].to_vec(); // pgno 9, valid
        f[phys(12)..phys(13)].copy_from_slice(&moved); // last of chunk 2: moved
        for b in &mut f[phys(13) + 8..phys(14)] {
            *b = 0x41; // first page of chunk 3: foreign data
        }
        f[phys(64) + 40] ^= 0x01; // the last page of the file: correctable
        let chunk = 4 * ps;
        (f, chunk)
    }

    #[test]
    fn parallel_scan_reports_exactly_what_one_thread_does() {
        let ps = 8192;
        let (f, chunk) = damaged_at_chunk_boundaries(ps);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.edb");
        std::fs::write(&path, &f).unwrap();
        // The reference: every page classified in order, no threads.
        let last = (f.len() / ps) as u64;
        let mut want = Counts::default();
        let mut want_damaged = Vec::new();
        for (i, page) in f.chunks_exact(ps).enumerate() {
            let r = classify_page(page, i as u64 + 1, last, false);
            want.add(&r, page);
            if !matches!(r.verdict, Verdict::Ok | Verdict::Uninitialized) {
                want_damaged.push(r);
            }
        }
        let pages: Vec<i64> = want_damaged.iter().map(|r| r.page).collect();
        assert_eq!(pages, [3, 6, 7, 10, 11, 62], "the crafted damage");
        let kinds: Vec<&str> = want_damaged
            .iter()
            .map(|r| match r.verdict {
                Verdict::Correctable { .. } => "fix",
                Verdict::Bad { .. } => "bad",
                Verdict::WrongPageNumber { actual_pgno: 9 } => "moved",
                Verdict::NotEsePage { .. } => "foreign",
                _ => "?",
            })
            .collect();
        assert_eq!(kinds, ["fix", "bad", "fix", "moved", "foreign", "fix"]);
        for workers in [1, 2, 3, 4, 7] {
            for chunk in [ps, 3 * ps, chunk, 5 * ps, 64 * ps, 1 << 20] {
                let opts = ScanOptions {
                    page_size: Some(ps),
                    chunk_size: chunk,
                    workers,
                    ..Default::default()
                };
                let mut rec = Recorder::default();
                let s = scan_database(&path, &opts, &mut rec).unwrap();
                let at = format!("{workers} workers, {chunk}-byte chunks");
                assert_eq!(s.counts, want, "{at}");
                assert_eq!(s.damaged, want_damaged, "{at}");
                assert_eq!(rec.damaged, pages, "{at}: observer order");
                assert!(rec.progress.windows(2).all(|w| w[0] < w[1]), "{at}");
                assert_eq!(rec.progress.last(), Some(&(f.len() as u64)), "{at}");
                assert_eq!(s.io.bytes_read, f.len() as u64, "{at}");
                assert_eq!(s.io.reads, f.len().div_ceil(chunk) as u64, "{at}");
            }
        }
    }

    #[test]
    fn damaged_cap_keeps_the_first_pages_in_file_order() {
        let ps = 8192;
        let (f, chunk) = damaged_at_chunk_boundaries(ps);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.edb");
        std::fs::write(&path, &f).unwrap();
        let opts = ScanOptions {
            page_size: Some(ps),
            chunk_size: chunk,
            workers: 4,
            max_damaged: 3,
            ..Default::default()
        };
        let s = scan_database(&path, &opts, &mut Quiet).unwrap();
        let pages: Vec<i64> = s.damaged.iter().map(|r| r.page).collect();
        assert_eq!(pages, [3, 6, 7]);
        assert_eq!(s.damaged_omitted, 3);
    }

    #[test]
    fn in_order_merge_holds_back_workers_far_ahead() {
        use std::sync::atomic::AtomicUsize;
        let n = 300;
        let window = 5;
        let merged = AtomicUsize::new(0);
        let furthest_ahead = AtomicUsize::new(0);
        let work = |idx: usize, buf: &mut Vec<u8>| {
            buf.resize(16, idx as u8);
            // Chunk 0 (and every 50th) is slow: the others race ahead.
            if idx % 50 == 0 {
                std::thread::sleep(Duration::from_millis(30));
            }
            let ahead = idx - merged.load(Ordering::SeqCst);
            furthest_ahead.fetch_max(ahead, Ordering::SeqCst);
            idx
        };
        let mut order = Vec::new();
        let merge = |idx: usize| {
            order.push(idx);
            merged.store(idx + 1, Ordering::SeqCst);
            true
        };
        let sum = run_in_order(n, 4, window, work, merge);
        assert_eq!(order, (0..n).collect::<Vec<_>>());
        assert_eq!(sum.merged, n);
        assert!(sum.peak_pending <= window, "{sum:?}");
        assert!(furthest_ahead.load(Ordering::SeqCst) < window);
    }

    #[test]
    fn in_order_merge_stops_starting_work_after_a_failure() {
        use std::sync::atomic::AtomicUsize;
        let started = AtomicUsize::new(0);
        let work = |idx: usize, _: &mut Vec<u8>| {
            started.fetch_add(1, Ordering::SeqCst);
            idx
        };
        let sum = run_in_order(10_000, 3, 4, work, |idx| idx != 7);
        assert_eq!(sum.merged, 8, "chunk 7 failed: nothing after it merged");
        // Nothing is started 4 or more chunks past the failed one.
        assert!(started.load(Ordering::SeqCst) <= 8 + 4, "{sum:?}");
        // Nothing at all to do, and one thread.
        assert_eq!(run_in_order(0, 4, 4, work, |_| true).merged, 0);
        assert_eq!(run_in_order(9, 1, 1, work, |_| true).merged, 9);
    }

    #[test]
    fn read_errors_name_the_offset() {
        let e = read_error(
            Path::new("x.edb"),
            0x20000,
            8192,
            std::io::ErrorKind::UnexpectedEof.into(),
        );
        let t = e.to_string();
        assert!(
            t.contains("x.edb") && t.contains("offset 131072 (0x20000)"),
            "{t}"
        );
        assert!(t.contains("ended early"), "{t}");
    }

    #[test]
    fn a_panicking_worker_does_not_hang_the_others() {
        // Chunk 3 panics; the others must not wait for it forever.
        let work = |idx: usize, _: &mut Vec<u8>| {
            if idx == 3 {
                panic!("worker failure on purpose");
            }
            std::thread::sleep(Duration::from_millis(1));
            idx
        };
        for workers in [1, 2, 4] {
            let r = std::panic::catch_unwind(|| run_in_order(1000, workers, 2, work, |_| true));
            assert!(r.is_err(), "{workers} workers: the panic propagates");
        }
    }
}
