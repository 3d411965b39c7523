//! The page store recovery writes into: a working copy in the output
//! folder, never the input files (unless `--in-place` was asked for).
//!
//! Scheme: every database being recovered lives in `OUT/<name>.recovering`
//! while redo runs (created empty for a database that enters by CreateDB,
//! or a copy of the input database: a reflink clone where the file system
//! supports `FICLONE`, else a byte copy made on a worker thread while redo
//! runs, hashing the input in the same pass: `store/overlap.rs`).
//! [`PageStore::commit`] renames it atomically to `OUT/<name>` after
//! [`PageStore::settle`] and [`PageStore::sync`]. An interrupted run leaves
//! only the `.recovering` file, which the next run overwrites: the scheme
//! is restartable, not resumable. With `--in-place` ([`PageStore::in_place`])
//! the database file itself is the working file: its header says Dirty
//! Shutdown until the end, so an interrupted run is run again like ESE's
//! own recovery; it is hashed on a worker thread while redo writes it, the
//! original bytes of the pages written ahead of the hasher kept for it.
//!
//! While the copy (or hash) runs, every read and write of the file goes
//! through it: a page neither copied nor written yet is read from the
//! input, a page written ahead of the copier is marked so that the copy
//! leaves it alone, a truncation stops the copy at the new end (in place:
//! waits for the hasher). `store/overlap.rs` says why this is race-free.
//!
//! Pages go through a bounded write-back cache (least recently used out):
//! a page is read from the file once, kept as bytes, sealed and written
//! only when it is evicted, before a header write and at [`PageStore::sync`].
//! Pages are kept as bytes, not decoded: the redo of node operations
//! changes them in place ([`PageStore::page_mut`], [`super::cpage`], with
//! the page's shape kept beside it), and [`super::page::PageImage`] replays
//! the changes made since its page was read to place the bytes as the
//! engine does, so an image kept across operations would place them
//! differently. The page count is tracked here, not asked of the file.
//!
//! Layout facts: two header pages, then page *pgno* at `(pgno + 1) · cbPage`
//! (`inc/io.hxx` ~26–28, docs/format/pages.md §1); data pages are sealed with
//! [`crate::checksum::seal_page`] (PGHDR2 carries its pgno at offset 64 on
//! 16/32 KiB pages, cpage.hxx ~1014), header pages with
//! [`crate::checksum::seal_header`] and written to both copies
//! (`ErrUtilWriteShadowedHeaderInternal`, `ese/_osu/fileu.cxx` ~789–870).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::cpage::Shape;
use super::evidence::{FileFacts, InputHash, ReadEvidence};
use crate::checksum::{seal_header, seal_page};
use crate::error::{Error, FormatError, Jet, Result};
use crate::file::HashAlgorithm;
use crate::parse::page::is_large;

pub(crate) mod census;
mod overlap;
use overlap::Background;

/// A database file being rebuilt.
#[derive(Debug)]
pub struct PageStore {
    /// Every data page written, with the dbtime of its last write; zeroed
    /// or truncated pages leave it. Read back by [`super::verify`].
    ledger: BTreeMap<u32, u64>,
    /// Pages zeroed ([`PageStore::zero_page`]); truncated pages leave it.
    zeroed: BTreeSet<u32>,
    /// The fewest data pages the file had since the store was made (a
    /// truncation lowers it): every page above was cut, grown or written.
    low_water: u32,
    file: File,
    tmp: PathBuf,
    target: PathBuf,
    page_size: usize,
    /// The working file is the database itself (`--in-place`).
    in_place: bool,
    /// How the working file was made.
    origin: Origin,
    /// The copy or the hash running beside redo (`overlap.rs`): every
    /// read and write of the file goes through it.
    background: Option<Background>,
    cache: RefCell<Cache>,
    /// Pages written (data pages, counting rewrites once per write).
    pub writes: u64,
    /// Of those, writes of redone page operations (the counterpart of
    /// `RedoStats::pages_redone`, checked before anything is committed).
    pub redone: u64,
}

/// How the working file of a store was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Created empty (CreateDB).
    Created,
    /// A reflink clone of the input (`FICLONE`): no bytes copied.
    Reflink,
    /// A byte copy of the input.
    Copy,
    /// The input itself (`--in-place`).
    InPlace,
}

/// Counters of a store's page cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CacheStats {
    /// Capacity in pages.
    pub capacity: usize,
    /// Reads served from the cache.
    pub hits: u64,
    /// Reads that went to the file.
    pub misses: u64,
    /// Pages written to the file (evictions, header writes, sync).
    pub write_backs: u64,
    /// Pages evicted.
    pub evictions: u64,
}

/// A cached page's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// As in the file.
    Clean,
    /// A data page to seal and write.
    Dirty,
    /// An all-zero page to write as it is (a trim).
    Zeroed,
    /// A write the fault-injection hook loses: never written.
    Lost,
}

#[derive(Debug)]
struct Cached {
    bytes: Vec<u8>,
    /// What [`super::cpage`] knows of the bytes (none until it looked, and
    /// again after any write but its own).
    shape: Option<Shape>,
    state: State,
}

/// A cached page lent for an in-place change ([`super::cpage`]).
#[derive(Debug)]
pub struct PageMut<'a> {
    /// The page's bytes.
    pub bytes: &'a mut [u8],
    /// Their shape as last seen by [`super::cpage`]; whoever changes the
    /// bytes sets it (to `None` when unknown).
    pub shape: &'a mut Option<Shape>,
}

/// A hasher for the small integer keys of redo's maps (page numbers,
/// session ids): a multiply-xorshift mix (splitmix64's finaliser) instead
/// of SipHash, a lookup being made several times per redone record.
#[derive(Debug, Default, Clone, Copy)]
pub struct IntHasher(u64);

impl std::hash::Hasher for IntHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u8(&mut self, n: u8) {
        self.0 = self.0.rotate_left(8) ^ u64::from(n);
    }
    fn write_u16(&mut self, n: u16) {
        self.0 = self.0.rotate_left(16) ^ u64::from(n);
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = self.0.rotate_left(32) ^ u64::from(n);
    }
}

/// A map keyed by small integers, hashed with [`IntHasher`].
pub type IntMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<IntHasher>>;

/// A set of small integers, hashed with [`IntHasher`].
pub type IntSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<IntHasher>>;

/// The bounded page cache and the file's length.
#[derive(Debug)]
struct Cache {
    /// Page → its slot in `slots`.
    index: IntMap<u32, u32>,
    /// The cached pages, linked from the least recently used (`head`) to
    /// the most recently used (`tail`): a touch is O(1). Slots of pages
    /// gone are reused (`free`).
    slots: Vec<Slot>,
    free: Vec<u32>,
    head: u32,
    tail: u32,
    /// The page last looked up and its slot (a node operation looks its
    /// page up three times).
    last: Option<(u32, u32)>,
    /// Data pages the database holds (what [`PageStore::page_count`] says).
    len: u32,
    /// Data pages the file holds now (becomes `len` at the next flush).
    file_len: u32,
    stats: CacheStats,
}

/// A cached page in the recency list of [`Cache`].
#[derive(Debug)]
struct Slot {
    pgno: u32,
    page: Cached,
    /// Slots of the less and the more recently used neighbours (`NIL`:
    /// none).
    prev: u32,
    next: u32,
}

/// No slot.
const NIL: u32 = u32::MAX;

impl Cache {
    fn new(capacity: usize, file_len: u32) -> Cache {
        Cache {
            index: IntMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            last: None,
            len: file_len,
            file_len,
            stats: CacheStats {
                capacity: capacity.max(1),
                ..Default::default()
            },
        }
    }

    /// Pages cached.
    fn pages(&self) -> usize {
        self.index.len()
    }

    /// The slot of page `pgno`.
    fn slot_of(&mut self, pgno: u32) -> Option<u32> {
        match self.last {
            Some((p, i)) if p == pgno => Some(i),
            _ => {
                let i = *self.index.get(&pgno)?;
                self.last = Some((pgno, i));
                Some(i)
            }
        }
    }

    fn get_mut(&mut self, pgno: u32) -> Option<&mut Cached> {
        let i = self.slot_of(pgno)?;
        Some(&mut self.slots[i as usize].page)
    }

    /// The cached pages, in no order.
    fn iter(&self) -> impl Iterator<Item = (u32, &Cached)> {
        self.index
            .iter()
            .map(|(&pgno, &i)| (pgno, &self.slots[i as usize].page))
    }

    /// Stores `bytes` for `pgno`, most recently used.
    fn put(&mut self, pgno: u32, bytes: Vec<u8>, state: State) {
        let page = Cached {
            bytes,
            shape: None,
            state,
        };
        if let Some(&i) = self.index.get(&pgno) {
            self.slots[i as usize].page = page;
            self.make_most_recent(i);
            return;
        }
        let slot = Slot {
            pgno,
            page,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(pgno, i);
        self.link_tail(i);
    }

    /// Removes the least recently used page.
    fn pop_lru(&mut self) -> Option<(u32, Cached)> {
        let pgno = self.slots.get(self.head as usize)?.pgno;
        self.remove(pgno).map(|c| (pgno, c))
    }

    fn remove(&mut self, pgno: u32) -> Option<Cached> {
        let i = self.index.remove(&pgno)?;
        if self.last.is_some_and(|(p, _)| p == pgno) {
            self.last = None;
        }
        self.unlink(i);
        self.free.push(i);
        let empty = Cached {
            bytes: Vec::new(),
            shape: None,
            state: State::Clean,
        };
        Some(std::mem::replace(&mut self.slots[i as usize].page, empty))
    }

    /// Empties the cache.
    fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.free.clear();
        (self.head, self.tail, self.last) = (NIL, NIL, None);
    }

    /// Moves slot `i` (linked) to the most recently used end.
    fn make_most_recent(&mut self, i: u32) {
        if self.tail != i {
            self.unlink(i);
            self.link_tail(i);
        }
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next)
        };
        match prev {
            NIL => self.head = next,
            p => self.slots[p as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            n => self.slots[n as usize].prev = prev,
        }
    }

    fn link_tail(&mut self, i: u32) {
        let tail = self.tail;
        {
            let s = &mut self.slots[i as usize];
            (s.prev, s.next) = (tail, NIL);
        }
        match tail {
            NIL => self.head = i,
            t => self.slots[t as usize].next = i,
        }
        self.tail = i;
    }
}

thread_local! {
    /// Test hook: from this many page writes on, writes are counted and
    /// recorded in the ledger but never reach the file (a lost write).
    static LOSE_WRITES_FROM: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Test hook (fault injection for the verification tests): from the
/// `n`-th page write of each store on this thread, writes are lost
/// (counted, kept in the cache, never written to the file). `None`
/// switches it off. Only with the `test-support` feature: without it the
/// hook stays `None`.
#[cfg(feature = "test-support")]
pub fn inject_lost_writes_from(n: Option<u64>) {
    LOSE_WRITES_FROM.with(|c| c.set(n));
}

/// Opens (creating or truncating) a working file for reading and writing.
fn open_new(tmp: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)
        .map_err(|e| Error::io(tmp, e))
}

/// Makes `dst` a reflink clone of `src` (`ioctl(FICLONE)`, Linux 4.5+:
/// Btrfs, XFS, bcachefs, OCFS2…); false where the file system cannot.
fn reflink(src: &File, dst: &File) -> bool {
    rustix::fs::ioctl_ficlone(dst, src).is_ok()
}

impl PageStore {
    fn new(
        file: File,
        tmp: PathBuf,
        target: &Path,
        page_size: usize,
        origin: Origin,
    ) -> Result<PageStore> {
        let len = file.metadata().map_err(|e| Error::io(&tmp, e))?.len();
        let pages = (len / page_size as u64).saturating_sub(2) as u32;
        Ok(PageStore {
            ledger: BTreeMap::new(),
            zeroed: BTreeSet::new(),
            low_water: pages,
            file,
            tmp,
            target: target.to_path_buf(),
            page_size,
            in_place: origin == Origin::InPlace,
            origin,
            background: None,
            cache: RefCell::new(Cache::new(
                super::evidence::DEFAULT_CACHE_MIB * (1 << 20) / page_size,
                pages,
            )),
            writes: 0,
            redone: 0,
        })
    }

    /// Creates an empty working file for `target` (the final path).
    pub fn create(target: &Path, page_size: usize) -> Result<PageStore> {
        let tmp = tmp_path(target);
        let file = open_new(&tmp)?;
        file.set_len(2 * page_size as u64)
            .map_err(|e| Error::io(&tmp, e))?;
        PageStore::new(file, tmp, target, page_size, Origin::Created)
    }

    /// Copies `input` (only read) to the working file for `target`.
    pub fn copy_of(input: &Path, target: &Path, page_size: usize) -> Result<PageStore> {
        Ok(PageStore::working_copy(input, target, page_size, None)?.0)
    }

    /// The working copy of `input` (only read) for `target`: a reflink
    /// clone when the file system supports it, else a copy made on a
    /// worker thread while redo runs (`overlap.rs`). With `hash`, the input
    /// is hashed in the copy pass, or after a clone by a worker thread the
    /// store owns.
    /// Returns what the input was.
    pub fn working_copy(
        input: &Path,
        target: &Path,
        page_size: usize,
        hash: Option<HashAlgorithm>,
    ) -> Result<(PageStore, ReadEvidence)> {
        PageStore::working_copy_gated(input, target, page_size, hash, false)
    }

    /// [`PageStore::working_copy`], the copier held before its first chunk
    /// when `gate_closed` (tests).
    fn working_copy_gated(
        input: &Path,
        target: &Path,
        page_size: usize,
        hash: Option<HashAlgorithm>,
        gate_closed: bool,
    ) -> Result<(PageStore, ReadEvidence)> {
        let tmp = tmp_path(target);
        let src = crate::file::open_read_only(input)?;
        let meta = src.metadata().map_err(|e| Error::io(input, e))?;
        let facts = FileFacts::of(&meta);
        let file = open_new(&tmp)?;
        if reflink(&src, &file) {
            let mut store = PageStore::new(file, tmp, target, page_size, Origin::Reflink)?;
            // The input is hashed (and its pages classified, `census.rs`)
            // beside redo; the store never writes it.
            let hash = store.hash_beside_redo(hash, input, meta.len(), gate_closed, true);
            let ev = ReadEvidence {
                facts: Some(facts),
                hash,
            };
            return Ok((store, ev));
        }
        file.set_len(meta.len()).map_err(|e| Error::io(&tmp, e))?;
        let (hash, slot) = match hash {
            Some(a) => {
                let (hash, slot) = InputHash::later(a);
                (hash, Some(slot))
            }
            None => (InputHash::None, None),
        };
        let copier = overlap::Copier::start(src, input, &file, &tmp, page_size, slot, gate_closed)?;
        let mut store = PageStore::new(file, tmp, target, page_size, Origin::Copy)?;
        store.background = Some(Background::Copy(copier));
        let ev = ReadEvidence {
            facts: Some(facts),
            hash,
        };
        Ok((store, ev))
    }

    /// The database `path` itself as the working file (`--in-place`): no
    /// copy; [`PageStore::commit`] renames nothing and
    /// [`PageStore::discard`] removes nothing. With `hash` the file is
    /// hashed on a worker thread while redo runs, the original bytes of
    /// the pages written before the hasher read them kept for it.
    pub fn in_place(
        path: &Path,
        page_size: usize,
        hash: Option<HashAlgorithm>,
    ) -> Result<(PageStore, ReadEvidence)> {
        PageStore::in_place_gated(path, page_size, hash, false)
    }

    /// [`PageStore::in_place`], the hasher held before its first chunk
    /// when `gate_closed` (tests).
    fn in_place_gated(
        path: &Path,
        page_size: usize,
        hash: Option<HashAlgorithm>,
        gate_closed: bool,
    ) -> Result<(PageStore, ReadEvidence)> {
        let facts = FileFacts::now(path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut store = PageStore::new(file, path.to_path_buf(), path, page_size, Origin::InPlace)?;
        let hash = store.hash_beside_redo(hash, path, size, gate_closed, false);
        Ok((store, ReadEvidence { facts, hash }))
    }

    /// With `hash`, starts the hasher of `path` (its first `size` bytes)
    /// as the store's worker and returns where its hash will be; the
    /// input of a reflink clone is `clone_input` (never written).
    fn hash_beside_redo(
        &mut self,
        hash: Option<HashAlgorithm>,
        path: &Path,
        size: u64,
        gate_closed: bool,
        clone_input: bool,
    ) -> InputHash {
        let Some(algorithm) = hash else {
            return InputHash::None;
        };
        let (input_hash, slot) = InputHash::later(algorithm);
        let ps = self.page_size;
        match overlap::Hasher::start(path, size, ps, slot, gate_closed, clone_input) {
            Ok(h) => {
                self.background = Some(Background::Hash(h));
                input_hash
            }
            Err(e) => InputHash::Done(format!("unreadable: {e}")),
        }
    }

    /// Waits for the copy or hash running beside redo (`overlap.rs`); a copy
    /// that failed is an error (of the input, or of the working file).
    /// Called before anything reads the whole working file; [`Self::sync`]
    /// and [`Self::commit`] call it too.
    pub fn settle(&self) -> Result<()> {
        match &self.background {
            Some(b) => b.join(),
            None => Ok(()),
        }
    }

    /// Sets the cache capacity (bytes; at least one page is kept).
    pub fn with_cache_bytes(self, bytes: usize) -> PageStore {
        self.cache.borrow_mut().stats.capacity = (bytes / self.page_size).max(1);
        self
    }

    /// Changes the cache capacity to `bytes` (at least one page is kept),
    /// writing back at once the least recently used pages beyond it.
    pub fn set_cache_bytes(&mut self, bytes: usize) -> Result<()> {
        let c = self.cache.get_mut();
        c.stats.capacity = (bytes / self.page_size).max(1);
        let mut c = self.cache.borrow_mut();
        self.evict(&mut c)
    }

    /// Page size.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// How the working file was made.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The cache's counters.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.borrow().stats
    }

    /// Number of data pages the database holds.
    pub fn page_count(&self) -> Result<u32> {
        Ok(self.cache.borrow().len)
    }

    /// Grows the database so that `pgno_last` exists (never shrinks; the
    /// file follows at the next flush).
    pub fn extend_to(&mut self, pgno_last: u32) -> Result<()> {
        let c = self.cache.get_mut();
        c.len = c.len.max(pgno_last);
        Ok(())
    }

    /// Shrinks the file so that `pgno_last` is its last page (never grows;
    /// `ErrIONewSize` with `JET_bitResizeDatabaseOnlyShrink`). Cached pages
    /// beyond it are dropped unwritten.
    pub fn truncate_to(&mut self, pgno_last: u32) -> Result<()> {
        self.ledger.retain(|&p, _| p <= pgno_last);
        self.zeroed.retain(|&p| p <= pgno_last);
        self.low_water = self.low_water.min(pgno_last);
        let c = self.cache.get_mut();
        let gone: Vec<u32> = c
            .iter()
            .map(|(p, _)| p)
            .filter(|&p| p > pgno_last)
            .collect();
        for p in gone {
            c.remove(p);
        }
        c.len = c.len.min(pgno_last);
        if c.file_len > pgno_last {
            let len = (pgno_last as u64 + 2) * self.page_size as u64;
            if let Some(b) = &self.background {
                b.before_truncate(len);
            }
            self.file
                .set_len(len)
                .map_err(|e| Error::io(&self.tmp, e))?;
            c.file_len = pgno_last;
        }
        Ok(())
    }

    /// Brings page `pgno` into the cache as the most recently used page
    /// (a read: a hit, or a miss read from the file) and returns its slot;
    /// `None` for page 0 and beyond the end of the database, which read as
    /// zeros.
    fn load(&self, pgno: u32) -> Result<Option<u32>> {
        let mut c = self.cache.borrow_mut();
        if pgno == 0 || pgno > c.len {
            return Ok(None);
        }
        if let Some(i) = c.slot_of(pgno) {
            c.make_most_recent(i);
            c.stats.hits += 1;
            return Ok(Some(i));
        }
        c.stats.misses += 1;
        let mut b = vec![0u8; self.page_size];
        if pgno <= c.file_len {
            self.read_at(&mut b, self.offset(pgno))?;
        }
        c.put(pgno, b, State::Clean);
        // The page just put is the most recently used: eviction (down to
        // at least one page) leaves it, and its slot, in place.
        self.evict(&mut c)?;
        Ok(c.slot_of(pgno))
    }

    /// Reads page `pgno` (zeros beyond the end of the database).
    pub fn read_page(&self, pgno: u32) -> Result<Vec<u8>> {
        let Some(i) = self.load(pgno)? else {
            return Ok(vec![0u8; self.page_size]);
        };
        Ok(self.cache.borrow().slots[i as usize].page.bytes.clone())
    }

    /// The cached bytes of page `pgno` to change in place, read as
    /// [`PageStore::read_page`] reads it (`None` where that gives zeros:
    /// page 0, beyond the end). Changes count once
    /// [`PageStore::mark_written`] is called.
    pub fn page_mut(&mut self, pgno: u32) -> Result<Option<PageMut<'_>>> {
        let Some(i) = self.load(pgno)? else {
            return Ok(None);
        };
        let e = &mut self.cache.get_mut().slots[i as usize].page;
        Ok(Some(PageMut {
            bytes: &mut e.bytes[..],
            shape: &mut e.shape,
        }))
    }

    /// The cached bytes of page `pgno`, as they are (no read counted, no
    /// change in the eviction order): for the page [`PageStore::page_mut`]
    /// has just brought in.
    pub fn cached_mut(&mut self, pgno: u32) -> Result<PageMut<'_>> {
        let offset = self.offset(pgno);
        match self.cache.get_mut().get_mut(pgno) {
            Some(e) => Ok(PageMut {
                bytes: &mut e.bytes[..],
                shape: &mut e.shape,
            }),
            None => Err(not_cached(&self.tmp, offset)),
        }
    }

    /// Writes page `pgno` (sealed when it leaves the cache), growing the
    /// database when needed.
    pub fn write_page(&mut self, pgno: u32, b: Vec<u8>) -> Result<()> {
        debug_assert_eq!(b.len(), self.page_size);
        self.cache.get_mut().put(pgno, b, State::Clean);
        self.mark_written(pgno)
    }

    /// Records the cached page `pgno` as written (changed through
    /// [`PageStore::page_mut`] or just put there): its pgno stamped on
    /// 16/32 KiB pages (PGHDR2), the write counted and put in the ledger,
    /// the page dirty and most recently used.
    pub fn mark_written(&mut self, pgno: u32) -> Result<()> {
        let large = is_large(self.page_size);
        let lost = LOSE_WRITES_FROM
            .with(|c| c.get())
            .is_some_and(|n| self.writes >= n);
        let c = self.cache.get_mut();
        let Some(i) = c.slot_of(pgno) else {
            return Err(not_cached(&self.tmp, self.offset(pgno)));
        };
        let e = &mut c.slots[i as usize].page;
        if large {
            e.bytes[64..68].copy_from_slice(&pgno.to_le_bytes());
        }
        e.state = if lost { State::Lost } else { State::Dirty };
        self.ledger.insert(pgno, crate::parse::u64_at(&e.bytes, 8));
        self.writes += 1;
        c.len = c.len.max(pgno);
        c.make_most_recent(i);
        let mut c = self.cache.borrow_mut();
        self.evict(&mut c)
    }

    /// Writes an all-zero (uninitialized) page, as a trim leaves it.
    pub fn zero_page(&mut self, pgno: u32) -> Result<()> {
        self.ledger.remove(&pgno);
        self.zeroed.insert(pgno);
        let c = self.cache.get_mut();
        c.len = c.len.max(pgno);
        c.put(pgno, vec![0u8; self.page_size], State::Zeroed);
        let mut c = self.cache.borrow_mut();
        self.evict(&mut c)
    }

    fn offset(&self, pgno: u32) -> u64 {
        (pgno as u64 + 1) * self.page_size as u64
    }

    /// Reads the file at `off` as it is once the copy is done.
    fn read_at(&self, buf: &mut [u8], off: u64) -> Result<()> {
        match &self.background {
            Some(b) => b.read_at(&self.file, &self.tmp, buf, off),
            None => self
                .file
                .read_exact_at(buf, off)
                .map_err(|e| Error::io(&self.tmp, e)),
        }
    }

    /// Writes `buf` at `off`, the copy or hash running beside told first.
    fn write_at(&self, buf: &[u8], off: u64) -> Result<()> {
        if let Some(b) = &self.background {
            b.before_write(&self.file, &self.tmp, off, buf.len() as u64)?;
        }
        self.file
            .write_all_at(buf, off)
            .map_err(|e| Error::io(&self.tmp, e))
    }

    /// Evicts least recently used pages beyond the capacity, writing the
    /// dirty ones.
    fn evict(&self, c: &mut Cache) -> Result<()> {
        while c.pages() > c.stats.capacity {
            let Some((pgno, e)) = c.pop_lru() else {
                break;
            };
            c.stats.evictions += 1;
            self.write_back(c, pgno, e.bytes, e.state)?;
        }
        Ok(())
    }

    /// Writes one page leaving the cache as its state says (sealed data
    /// page, zero page, nothing).
    fn write_back(&self, c: &mut Cache, pgno: u32, mut b: Vec<u8>, state: State) -> Result<()> {
        match state {
            State::Clean | State::Lost => return Ok(()),
            State::Dirty => seal_page(&mut b, pgno),
            State::Zeroed => {}
        }
        self.write_at(&b, self.offset(pgno))?;
        c.stats.write_backs += 1;
        c.file_len = c.file_len.max(pgno);
        Ok(())
    }

    /// Writes every dirty page (in page order), gives the file the
    /// database's length, and, with `empty`, empties the cache so that the
    /// next reads are reads of the file.
    fn flush(&self, empty: bool) -> Result<()> {
        let mut c = self.cache.borrow_mut();
        if c.file_len != c.len {
            let len = (c.len as u64 + 2) * self.page_size as u64;
            self.file
                .set_len(len)
                .map_err(|e| Error::io(&self.tmp, e))?;
            c.file_len = c.len;
        }
        let mut dirty: Vec<u32> = c
            .iter()
            .filter(|(_, e)| e.state != State::Clean)
            .map(|(p, _)| p)
            .collect();
        dirty.sort_unstable();
        for p in dirty {
            let Some(e) = c.remove(p) else { continue };
            let keep = (!empty && e.state != State::Lost).then(|| e.bytes.clone());
            self.write_back(&mut c, p, e.bytes, e.state)?;
            if let Some(b) = keep {
                c.put(p, b, State::Clean);
            }
        }
        if empty {
            c.clear();
        }
        Ok(())
    }

    /// Zeroes the last page when it is a backup trailer page whose header
    /// checksum verifies, and returns whether it did. This is what the
    /// engine does once the trailer's state is in the header
    /// (`ErrDBTryToZeroDBTrailer` after `ErrDBReadAndCheckDBTrailer`,
    /// `ese/db.cxx`, called by `ErrLGCheckDBFiles` in hard recovery and by
    /// `ErrDBUpdateHeaderFromTrailer` in soft recovery): the page is kept,
    /// zeroed, so the file keeps its length; any other last page is left
    /// alone. The shared classification decides ([`crate::db::classify`]).
    pub fn zero_trailer_page(&mut self) -> Result<bool> {
        let last = self.page_count()?;
        if last == 0 {
            return Ok(false);
        }
        let page = self.read_page(last)?;
        let phys = last as u64 + crate::db::classify::HEADER_PAGES;
        let class = crate::db::classify::classify(
            &page,
            phys,
            phys,
            crate::db::classify::expect_ecc_for(self.page_size),
        );
        if !class.is_good_trailer() {
            return Ok(false);
        }
        self.zero_page(last)?;
        Ok(true)
    }

    /// Reads the primary header page.
    pub fn read_header(&self) -> Result<Vec<u8>> {
        let mut b = vec![0u8; self.page_size];
        self.read_at(&mut b, 0)?;
        Ok(b)
    }

    /// Seals a header page and writes it to both copies, after every page
    /// it describes (the cache is written back first and emptied: what is
    /// read after a header write is read from the file, which is what the
    /// verification reads back).
    pub fn write_header(&mut self, mut h: Vec<u8>) -> Result<()> {
        self.flush(true)?;
        h.resize(self.page_size, 0);
        seal_header(&mut h);
        for copy in 0..2u64 {
            self.write_at(&h, copy * self.page_size as u64)?;
        }
        Ok(())
    }

    /// Pages written, each with the dbtime of its last write.
    pub fn ledger(&self) -> &BTreeMap<u32, u64> {
        &self.ledger
    }

    /// Pages zeroed and still in the file (a page written again since is
    /// in the ledger too).
    pub fn zeroed(&self) -> &BTreeSet<u32> {
        &self.zeroed
    }

    /// The fewest data pages the file had since the store was made.
    pub fn low_water(&self) -> u32 {
        self.low_water
    }

    /// What the copy or hash beside redo saw of every page of the input
    /// (`store/census.rs`), when it read them all; taken once, after
    /// [`Self::settle`].
    pub(crate) fn take_census(&self) -> Option<census::PassCensus> {
        self.background.as_ref().and_then(Background::take_census)
    }

    /// `/k` of the working file (settled, header written) from the pass
    /// beside redo ([`census::PassCensus::fold`]): the ledger's pages are in
    /// `tally` already (the verification read them back), the other pages
    /// the run changed are read here. `None`: scan the whole file.
    pub(crate) fn fold_census(
        &self,
        pass: &census::PassCensus,
        tally: census::Tally,
    ) -> Result<Option<census::Folded>> {
        let phys = |pg: &u32| *pg as u64 + crate::checksum_scan::HEADER_PAGES;
        let changes = census::Changes {
            written: (self.ledger.keys())
                .filter(|&&pg| tally.holds_data_page(pg))
                .map(phys)
                .collect(),
            zeroed: self.zeroed.iter().map(phys).collect(),
            low_water_phys: phys(&self.low_water),
        };
        let f = crate::file::open_read_only(&self.tmp)?;
        let ps = pass.page_size();
        let read = |p: u64| {
            let mut b = vec![0u8; ps];
            f.read_exact_at(&mut b, (p - 1) * ps as u64)
                .map_err(|e| Error::io(&self.tmp, e))?;
            Ok(b)
        };
        pass.fold(&changes, tally, read)
    }

    /// Working file path.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Writes every cached page back and flushes the working file
    /// (`fsync`), before any output is renamed; the copy running beside
    /// redo is waited for first ([`Self::settle`]).
    pub fn sync(&self) -> Result<()> {
        self.settle()?;
        self.flush(false)?;
        self.file.sync_all().map_err(|e| Error::io(&self.tmp, e))
    }

    /// Renames the working file to its final name (nothing to rename in
    /// place); the caller has [`PageStore::sync`]ed it (every output is
    /// flushed before any rename).
    pub fn commit(self) -> Result<PathBuf> {
        self.settle()?;
        drop(self.file);
        if !self.in_place {
            std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::io(&self.target, e))?;
        }
        Ok(self.target)
    }

    /// Drops the working file (recovery failed); a database replayed in
    /// place is kept (its header says Dirty Shutdown: run recovery again).
    /// The copy running beside redo stops (a hash the report still waits
    /// for is finished first).
    pub fn discard(mut self) {
        if let Some(b) = self.background.take() {
            b.stop();
        }
        drop(self.file);
        if !self.in_place {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A page expected in the cache is not there (a caller's mistake, reported
/// rather than a panic).
fn not_cached(path: &Path, offset: u64) -> Error {
    let e = FormatError::new(offset, Jet::DATABASE_CORRUPTED, "page not in the cache");
    Error::corrupt(path, e)
}

fn tmp_path(target: &Path) -> PathBuf {
    let mut s = target.as_os_str().to_owned();
    s.push(".recovering");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data page of `ps` bytes with dbtime `t` (objid 5, new checksum).
    fn page(ps: usize, t: u64) -> Vec<u8> {
        let mut p = vec![0u8; ps];
        p[8..16].copy_from_slice(&t.to_le_bytes());
        p[24..28].copy_from_slice(&5u32.to_le_bytes());
        p[36..40].copy_from_slice(&0x2000u32.to_le_bytes());
        p
    }

    fn file_page(s: &PageStore, pgno: u32) -> Vec<u8> {
        let all = std::fs::read(s.tmp_path()).unwrap();
        let ps = s.page_size();
        let off = (pgno as usize + 1) * ps;
        all.get(off..off + ps)
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    }

    fn file_len(s: &PageStore) -> u64 {
        std::fs::metadata(s.tmp_path()).unwrap().len()
    }

    #[test]
    fn create_write_read_commit() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("x.edb");
        let mut s = PageStore::create(&t, 4096).unwrap();
        assert_eq!(s.page_count().unwrap(), 0);
        s.write_page(3, page(4096, 7)).unwrap();
        assert_eq!(s.page_count().unwrap(), 3);
        assert!(s.read_page(2).unwrap().iter().all(|&b| b == 0));
        s.write_header(vec![1u8; 748]).unwrap();
        assert!(crate::checksum::verify_page(&s.read_page(3).unwrap(), 3).is_good());
        s.sync().unwrap();
        let out = s.commit().unwrap();
        assert_eq!(std::fs::metadata(&out).unwrap().len(), 5 * 4096);
        assert!(!d.path().join("x.edb.recovering").exists());
    }

    #[test]
    fn a_dirty_page_evicted_is_written_sealed_and_reads_back() {
        let d = tempfile::tempdir().unwrap();
        let mut s = PageStore::create(&d.path().join("x.edb"), 4096)
            .unwrap()
            .with_cache_bytes(2 * 4096);
        for pg in 1..=3 {
            s.write_page(pg, page(4096, pg as u64)).unwrap();
        }
        // Page 1 left the cache: written, sealed; 2 and 3 not yet.
        assert!(crate::checksum::verify_page(&file_page(&s, 1), 1).is_good());
        assert!(file_page(&s, 3).is_empty() || file_page(&s, 3).iter().all(|&b| b == 0));
        let st = s.cache_stats();
        assert_eq!((st.evictions, st.write_backs), (1, 1));
        let back = s.read_page(1).unwrap();
        assert_eq!(u64::from_le_bytes(back[8..16].try_into().unwrap()), 1);
        assert!(crate::checksum::verify_page(&back, 1).is_good());
        assert_eq!(s.cache_stats().misses, 1);
    }

    #[test]
    fn truncate_drops_dirty_pages_beyond_the_end() {
        let d = tempfile::tempdir().unwrap();
        let mut s = PageStore::create(&d.path().join("x.edb"), 4096).unwrap();
        for pg in 1..=5 {
            s.write_page(pg, page(4096, 10 + pg as u64)).unwrap();
        }
        s.truncate_to(2).unwrap();
        assert_eq!(s.page_count().unwrap(), 2);
        assert_eq!(s.ledger().keys().copied().collect::<Vec<_>>(), [1, 2]);
        // Grown again: the truncated pages are gone, never written back.
        s.extend_to(5).unwrap();
        for pg in 3..=5 {
            assert!(s.read_page(pg).unwrap().iter().all(|&b| b == 0), "{pg}");
        }
        s.sync().unwrap();
        assert_eq!(file_len(&s), 7 * 4096);
        for pg in 3..=5 {
            assert!(file_page(&s, pg).iter().all(|&b| b == 0), "{pg}");
        }
        assert!(crate::checksum::verify_page(&file_page(&s, 2), 2).is_good());
    }

    #[test]
    fn truncate_of_written_pages_shrinks_the_file_now() {
        let d = tempfile::tempdir().unwrap();
        let mut s = PageStore::create(&d.path().join("x.edb"), 4096).unwrap();
        for pg in 1..=5 {
            s.write_page(pg, page(4096, pg as u64)).unwrap();
        }
        s.sync().unwrap();
        s.truncate_to(3).unwrap();
        assert_eq!(file_len(&s), 5 * 4096);
        s.extend_to(5).unwrap();
        assert!(s.read_page(5).unwrap().iter().all(|&b| b == 0));
        assert_eq!(
            u64::from_le_bytes(s.read_page(3).unwrap()[8..16].try_into().unwrap()),
            3
        );
    }

    #[test]
    fn extend_then_read_without_asking_the_file() {
        let d = tempfile::tempdir().unwrap();
        let mut s = PageStore::create(&d.path().join("x.edb"), 8192).unwrap();
        s.extend_to(10).unwrap();
        assert_eq!(s.page_count().unwrap(), 10);
        assert!(s.read_page(10).unwrap().iter().all(|&b| b == 0));
        assert!(s.read_page(11).unwrap().iter().all(|&b| b == 0));
        assert_eq!(file_len(&s), 2 * 8192, "the file follows at the flush");
        s.extend_to(4).unwrap();
        assert_eq!(s.page_count().unwrap(), 10, "never shrinks");
        s.sync().unwrap();
        assert_eq!(file_len(&s), 12 * 8192);
    }

    #[test]
    fn sync_flushes_every_page_and_keeps_them_cached() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("x.edb");
        let mut s = PageStore::create(&t, 32768).unwrap();
        for pg in 1..=4 {
            s.write_page(pg, page(32768, pg as u64)).unwrap();
        }
        s.zero_page(2).unwrap();
        assert_eq!(s.cache_stats().write_backs, 0);
        s.sync().unwrap();
        assert_eq!(s.cache_stats().write_backs, 4);
        for pg in [1, 3, 4] {
            let b = file_page(&s, pg);
            assert!(crate::checksum::verify_page(&b, pg).is_good(), "{pg}");
            // 16/32 KiB pages carry their pgno (PGHDR2).
            assert_eq!(u32::from_le_bytes(b[64..68].try_into().unwrap()), pg);
        }
        assert!(file_page(&s, 2).iter().all(|&b| b == 0));
        let hits = s.cache_stats().hits;
        s.read_page(4).unwrap();
        assert_eq!(s.cache_stats().hits, hits + 1);
        s.sync().unwrap();
        assert_eq!(
            s.cache_stats().write_backs,
            4,
            "clean pages are not rewritten"
        );
        let out = s.commit().unwrap();
        assert_eq!(std::fs::metadata(out).unwrap().len(), 6 * 32768);
    }

    #[test]
    fn a_cache_of_one_page() {
        let d = tempfile::tempdir().unwrap();
        let mut s = PageStore::create(&d.path().join("x.edb"), 4096)
            .unwrap()
            .with_cache_bytes(0);
        assert_eq!(s.cache_stats().capacity, 1);
        s.write_page(1, page(4096, 1)).unwrap();
        s.write_page(2, page(4096, 2)).unwrap();
        assert_eq!(
            u64::from_le_bytes(s.read_page(1).unwrap()[8..16].try_into().unwrap()),
            1
        );
        s.write_page(1, page(4096, 3)).unwrap();
        assert_eq!(
            u64::from_le_bytes(s.read_page(2).unwrap()[8..16].try_into().unwrap()),
            2
        );
        assert_eq!(
            u64::from_le_bytes(s.read_page(1).unwrap()[8..16].try_into().unwrap()),
            3
        );
        s.sync().unwrap();
        assert_eq!(
            u64::from_le_bytes(file_page(&s, 1)[8..16].try_into().unwrap()),
            3
        );
        assert!(crate::checksum::verify_page(&file_page(&s, 2), 2).is_good());
    }

    /// The cache evicts as an exact LRU list would, reusing its slots.
    #[test]
    fn eviction_follows_an_exact_lru_list() {
        let mut c = Cache::new(4, 0);
        // Least recently used first.
        let mut model: Vec<u32> = Vec::new();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let pgno = (x % 9) as u32 + 1;
            let cached = model.contains(&pgno);
            match x >> 60 {
                0 => {
                    assert_eq!(c.remove(pgno).is_some(), cached);
                    model.retain(|&p| p != pgno);
                }
                1..=4 => {
                    c.put(pgno, Vec::new(), State::Clean);
                    model.retain(|&p| p != pgno);
                    model.push(pgno);
                }
                _ => {
                    let slot = c.slot_of(pgno);
                    assert_eq!(slot.is_some(), cached);
                    if let Some(i) = slot {
                        c.make_most_recent(i);
                        model.retain(|&p| p != pgno);
                        model.push(pgno);
                    }
                }
            }
            while c.pages() > c.stats.capacity {
                let (p, _) = c.pop_lru().expect("a page to evict");
                assert_eq!(p, model.remove(0));
            }
            assert!(c.slots.len() <= c.stats.capacity + 1);
            // The page looked up last is never one gone.
            let p = (x >> 8) as u32 % 9 + 1;
            let found = c.slot_of(p).map(|i| c.slots[i as usize].pgno);
            assert_eq!(found, model.contains(&p).then_some(p));
        }
    }

    #[test]
    fn lost_writes_stay_in_the_cache_and_never_reach_the_file() {
        let d = tempfile::tempdir().unwrap();
        let mut s = PageStore::create(&d.path().join("x.edb"), 4096).unwrap();
        inject_lost_writes_from(Some(1));
        let r = (|| {
            s.write_page(1, page(4096, 1))?;
            s.write_page(2, page(4096, 2))?;
            Ok::<_, Error>(())
        })();
        inject_lost_writes_from(None);
        r.unwrap();
        assert_eq!(s.writes, 2);
        assert_eq!(
            u64::from_le_bytes(s.read_page(2).unwrap()[8..16].try_into().unwrap()),
            2
        );
        // A header write flushes and empties the cache: reads are of the file.
        s.write_header(vec![1u8; 748]).unwrap();
        assert!(s.read_page(2).unwrap().iter().all(|&b| b == 0));
        assert!(crate::checksum::verify_page(&s.read_page(1).unwrap(), 1).is_good());
        assert_eq!(s.ledger().len(), 2);
    }

    #[test]
    fn in_place_writes_the_file_itself_and_discard_keeps_it() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("x.edb");
        let mut s = PageStore::create(&t, 4096).unwrap();
        s.write_page(1, page(4096, 1)).unwrap();
        s.sync().unwrap();
        s.commit().unwrap();
        use std::os::unix::fs::MetadataExt;
        let ino = std::fs::metadata(&t).unwrap().ino();
        let (mut s, ev) = PageStore::in_place(&t, 4096, HASH).unwrap();
        assert_eq!(s.origin(), Origin::InPlace);
        assert!(matches!(ev.hash, InputHash::Later(_)));
        s.write_page(2, page(4096, 2)).unwrap();
        s.sync().unwrap();
        assert_eq!(s.commit().unwrap(), t);
        let (s, _) = PageStore::in_place(&t, 4096, None).unwrap();
        assert_eq!(s.page_count().unwrap(), 2);
        s.discard();
        assert_eq!(std::fs::metadata(&t).unwrap().ino(), ino);
        assert_eq!(std::fs::metadata(&t).unwrap().len(), 4 * 4096);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }

    #[test]
    fn working_copy_hashes_in_the_copy_pass() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("in.edb");
        let bytes: Vec<u8> = (0..(3 << 20) + 4096).map(|i| (i % 251) as u8).collect();
        std::fs::write(&src, &bytes).unwrap();
        let (s, ev) = PageStore::working_copy(&src, &d.path().join("out.edb"), 4096, HASH).unwrap();
        assert!(matches!(s.origin(), Origin::Copy | Origin::Reflink));
        let want = crate::file::hash_file(&src, HashAlgorithm::Blake3).unwrap();
        s.settle().unwrap();
        assert_eq!(ev.hash.wait().unwrap(), want);
        assert_eq!(std::fs::read(s.tmp_path()).unwrap(), bytes);
        assert_eq!(ev.facts.unwrap().size, bytes.len() as u64);
        assert_eq!(s.page_count().unwrap(), ((bytes.len() / 4096) - 2) as u32);
        let (_, ev) = PageStore::working_copy(&src, &d.path().join("o2.edb"), 4096, None).unwrap();
        assert!(matches!(ev.hash, InputHash::None));
    }

    /// An input of `pages` 4 KiB pages (headers included) and `tail` more
    /// bytes, each page different.
    fn input_db(d: &Path, pages: usize, tail: usize) -> (PathBuf, Vec<u8>) {
        let p = d.join("in.edb");
        let bytes: Vec<u8> = (0..pages * 4096 + tail)
            .map(|i| ((i / 4096) as u8) ^ (i % 251) as u8)
            .collect();
        std::fs::write(&p, &bytes).unwrap();
        (p, bytes)
    }

    /// Page `pgno` of `bytes` (a whole database file).
    fn page_of(bytes: &[u8], pgno: u32) -> &[u8] {
        let off = (pgno as usize + 1) * 4096;
        &bytes[off..off + 4096]
    }

    /// The hash the tests take.
    const HASH: Option<HashAlgorithm> = Some(HashAlgorithm::Blake3);

    fn digest(b: &[u8]) -> String {
        HashAlgorithm::Blake3.of(b)
    }

    /// A copy on a file system without reflink (else the copier is not
    /// used): `None` where the temporary folder clones.
    fn gated_copy(
        src: &Path,
        d: &Path,
        hash: Option<HashAlgorithm>,
    ) -> Option<(PageStore, ReadEvidence)> {
        let (s, ev) =
            PageStore::working_copy_gated(src, &d.join("out.edb"), 4096, hash, true).unwrap();
        (s.origin() == Origin::Copy).then_some((s, ev))
    }

    fn bg(s: &PageStore) -> &Background {
        s.background.as_ref().unwrap()
    }

    #[test]
    fn the_copy_never_overwrites_a_page_written_ahead_of_it() {
        let d = tempfile::tempdir().unwrap();
        let (src, bytes) = input_db(d.path(), 600, 100);
        let Some((s, ev)) = gated_copy(&src, d.path(), HASH) else {
            return;
        };
        let mut s = s.with_cache_bytes(0);
        // Nothing copied yet: a read is served by the input.
        assert_eq!(s.read_page(300).unwrap(), page_of(&bytes, 300));
        assert_eq!(s.read_header().unwrap(), &bytes[..4096]);
        // Written ahead of the copier (evicted: in the file), read back.
        s.write_page(400, page(4096, 9)).unwrap();
        s.write_page(401, page(4096, 10)).unwrap();
        assert_eq!(u64_at(&s.read_page(400).unwrap(), 8), 9);
        // One chunk (256 pages) copied: read from the working file.
        bg(&s).allow(Some(1));
        bg(&s).wait_done(1 << 20);
        assert_eq!(file_page(&s, 10), page_of(&bytes, 10));
        assert!(file_page(&s, 300).iter().all(|&b| b == 0));
        assert_eq!(s.read_page(10).unwrap(), page_of(&bytes, 10));
        bg(&s).allow(None);
        s.sync().unwrap();
        let out = std::fs::read(s.tmp_path()).unwrap();
        assert_eq!(out.len(), bytes.len());
        for pg in [400, 401] {
            assert!(crate::checksum::verify_page(page_of(&out, pg), pg).is_good());
        }
        let mut want = bytes.clone();
        want[401 * 4096..403 * 4096].copy_from_slice(&out[401 * 4096..403 * 4096]);
        assert_eq!(out, want, "everything else copied, the tail too");
        assert_eq!(ev.hash.wait().unwrap(), digest(&bytes));
    }

    fn u64_at(b: &[u8], off: usize) -> u64 {
        crate::parse::u64_at(b, off)
    }

    #[test]
    fn truncation_and_extension_while_the_copy_runs() {
        let d = tempfile::tempdir().unwrap();
        let (src, bytes) = input_db(d.path(), 600, 100);
        let Some((mut s, ev)) = gated_copy(&src, d.path(), HASH) else {
            return;
        };
        bg(&s).allow(Some(1));
        s.truncate_to(100).unwrap();
        s.extend_to(120).unwrap();
        s.write_page(110, page(4096, 5)).unwrap();
        assert!(s.read_page(105).unwrap().iter().all(|&b| b == 0));
        assert_eq!(s.read_page(50).unwrap(), page_of(&bytes, 50));
        bg(&s).allow(None);
        s.sync().unwrap();
        let out = std::fs::read(s.tmp_path()).unwrap();
        assert_eq!(out.len(), 122 * 4096);
        assert_eq!(out[..102 * 4096], bytes[..102 * 4096]);
        for pg in (101..=120).filter(|&p| p != 110) {
            assert!(page_of(&out, pg).iter().all(|&b| b == 0), "{pg}");
        }
        assert_eq!(u64_at(page_of(&out, 110), 8), 5);
        // The hash is of the whole input, the truncated part too.
        assert_eq!(ev.hash.wait().unwrap(), digest(&bytes));
    }

    #[test]
    fn a_failed_copy_is_the_runs_error() {
        let d = tempfile::tempdir().unwrap();
        let (src, _) = input_db(d.path(), 600, 0);
        let Some((s, ev)) = gated_copy(&src, d.path(), HASH) else {
            return;
        };
        // The input shrinks under the copier: its read fails.
        let shrink = || {
            let f = File::options().write(true).open(&src).unwrap();
            f.set_len(300 * 4096).unwrap();
        };
        shrink();
        bg(&s).allow(None);
        let e = s.settle().unwrap_err();
        assert!(e.to_string().contains("in.edb"), "{e}");
        assert!(s.sync().is_err(), "and again at the sync");
        assert!(ev.hash.wait().unwrap().starts_with("unreadable"));
        s.discard();
        // Without a hash (the kernel copies) too.
        input_db(d.path(), 600, 0);
        let (s, _) = gated_copy(&src, d.path(), None).unwrap();
        shrink();
        bg(&s).allow(None);
        assert!(s.settle().is_err());
    }

    #[test]
    fn a_discarded_copy_stops_and_a_wanted_hash_is_finished() {
        let d = tempfile::tempdir().unwrap();
        let (src, bytes) = input_db(d.path(), 600, 0);
        let Some((s, ev)) = gated_copy(&src, d.path(), HASH) else {
            return;
        };
        let tmp = s.tmp_path().to_path_buf();
        s.discard();
        assert!(!tmp.exists());
        assert_eq!(ev.hash.wait().unwrap(), digest(&bytes));
        // Not wanted (or not hashing): stopped at once, never waits.
        let (s, ev) = gated_copy(&src, d.path(), HASH).unwrap();
        drop(ev);
        s.discard();
        let (s, _) = gated_copy(&src, d.path(), None).unwrap();
        drop(s);
    }

    #[test]
    fn a_copy_without_hash_runs_beside_redo_too() {
        let d = tempfile::tempdir().unwrap();
        let (src, bytes) = input_db(d.path(), 600, 0);
        let Some((mut s, ev)) = gated_copy(&src, d.path(), None) else {
            return;
        };
        assert!(matches!(ev.hash, InputHash::None));
        s.write_page(500, page(4096, 3)).unwrap();
        bg(&s).allow(None);
        s.sync().unwrap();
        let out = std::fs::read(s.tmp_path()).unwrap();
        assert_eq!(out[..501 * 4096], bytes[..501 * 4096]);
        assert_eq!(u64_at(page_of(&out, 500), 8), 3);
        assert_eq!(out[502 * 4096..], bytes[502 * 4096..]);
        s.commit().unwrap();
    }

    #[test]
    fn in_place_hash_is_of_the_file_before_redo_wrote_it() {
        let d = tempfile::tempdir().unwrap();
        let (db, bytes) = input_db(d.path(), 600, 0);
        let (s, ev) = PageStore::in_place_gated(&db, 4096, HASH, true).unwrap();
        let mut s = s.with_cache_bytes(0);
        s.write_header(vec![7u8; 4096]).unwrap();
        for pg in [3, 300, 301, 598] {
            s.write_page(pg, page(4096, pg as u64)).unwrap();
            s.write_page(pg, page(4096, 1000 + pg as u64)).unwrap();
        }
        bg(&s).allow(Some(1));
        s.write_page(10, page(4096, 1)).unwrap();
        bg(&s).allow(None);
        s.sync().unwrap();
        s.settle().unwrap();
        assert_eq!(ev.hash.wait().unwrap(), digest(&bytes));
        let now = std::fs::read(&db).unwrap();
        assert_eq!(u64_at(page_of(&now, 300), 8), 1300);
        assert_ne!(now[..4096], bytes[..4096]);
    }

    #[test]
    fn in_place_writes_wait_when_the_originals_kept_are_full() {
        let d = tempfile::tempdir().unwrap();
        let (db, bytes) = input_db(d.path(), 600, 0);
        let (mut s, ev) = PageStore::in_place_gated(&db, 4096, HASH, true).unwrap();
        if let Some(Background::Hash(h)) = s.background.as_mut() {
            h.set_max_kept(2 * 4096);
        }
        let mut s = s.with_cache_bytes(0);
        let open = bg(&s).gate_opener();
        let t = std::time::Instant::now();
        let opener = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            open();
        });
        // Page 1 waits in the cache; 2 and 3 keep two originals; the write of
        // 4 waits for the hasher.
        for pg in 2..=6 {
            s.write_page(pg, page(4096, pg as u64)).unwrap();
        }
        assert!(t.elapsed() >= std::time::Duration::from_millis(90));
        opener.join().unwrap();
        s.sync().unwrap();
        assert_eq!(ev.hash.wait().unwrap(), digest(&bytes));
    }

    #[test]
    fn in_place_truncation_waits_for_the_hasher() {
        let d = tempfile::tempdir().unwrap();
        let (db, bytes) = input_db(d.path(), 600, 0);
        let (mut s, ev) = PageStore::in_place_gated(&db, 4096, HASH, true).unwrap();
        let open = bg(&s).gate_opener();
        let opener = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            open();
        });
        s.truncate_to(10).unwrap();
        opener.join().unwrap();
        assert_eq!(std::fs::metadata(&db).unwrap().len(), 12 * 4096);
        assert_eq!(ev.hash.wait().unwrap(), digest(&bytes));
        s.discard();
    }

    #[test]
    fn only_a_verifying_trailer_is_zeroed() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("x.edb");
        let mut s = PageStore::create(&t, 4096).unwrap();
        s.write_page(3, page(4096, 7)).unwrap();
        // A data page last: kept.
        assert!(!s.zero_trailer_page().unwrap());
        assert!(!s.read_page(3).unwrap().iter().all(|&b| b == 0));
        // A trailer (PATCHHDR, header checksum) last: zeroed, length kept.
        let mut tr = vec![0u8; 4096];
        tr[56..60].copy_from_slice(&1u32.to_le_bytes());
        tr[60..64].copy_from_slice(&1u32.to_le_bytes());
        seal_header(&mut tr);
        let put_last = |s: &mut PageStore, tr: &[u8]| {
            s.sync().unwrap();
            s.file.write_all_at(tr, 5 * 4096).unwrap();
            let c = s.cache.get_mut();
            c.remove(4);
            (c.len, c.file_len) = (4, 4);
        };
        put_last(&mut s, &tr);
        assert_eq!(s.page_count().unwrap(), 4);
        assert!(s.zero_trailer_page().unwrap());
        assert_eq!(s.page_count().unwrap(), 4);
        assert!(s.read_page(4).unwrap().iter().all(|&b| b == 0));
        s.sync().unwrap();
        assert!(file_page(&s, 4).iter().all(|&b| b == 0));
        // A damaged trailer is not zeroed (the engine reports -535 earlier).
        tr[100] ^= 1;
        put_last(&mut s, &tr);
        assert!(!s.zero_trailer_page().unwrap());
    }

    /// A database of `n` 4 KiB data pages (dbtime 10 + pgno, every third
    /// one in the ECC format) whose pages `bad` fail their checksum and
    /// page `blank` is all zero.
    fn synth_db(d: &Path, n: u32, bad: &[u32], blank: u32) -> PathBuf {
        use crate::checksum_scan::synth::{data_page, header};
        let mut b = header(4096);
        b.extend(header(4096));
        for pg in 1..=n {
            let mut p = data_page(4096, pg, 10 + pg as u64, pg % 3 == 0);
            if bad.contains(&pg) {
                p[1000] ^= 0x33;
            }
            if pg == blank {
                p.fill(0);
            }
            b.extend(p);
        }
        let p = d.join("db.edb");
        std::fs::write(&p, b).unwrap();
        p
    }

    /// A redone page.
    fn redone(pgno: u32, dbtime: u64) -> Vec<u8> {
        crate::checksum_scan::synth::data_page(4096, pgno, dbtime, false)
    }

    /// `/k` of the settled store's working file from its pass, as the
    /// verification makes it (ledger pages read back first).
    fn census_k(s: &PageStore) -> Option<crate::checksum_scan::Counts> {
        let pass = s.take_census()?;
        let len = std::fs::metadata(s.tmp_path()).unwrap().len();
        let mut t = census::Tally::new(len, 4096);
        for &pg in s.ledger().keys() {
            if t.holds_data_page(pg) {
                t.page(pg as u64 + 2, &s.read_page(pg).unwrap());
            }
        }
        s.fold_census(&pass, t).unwrap().map(|f| f.counts)
    }

    /// The full `/k` scan of a file.
    fn full_k(p: &Path) -> crate::checksum_scan::Counts {
        use crate::checksum_scan::{scan_database, Quiet, ScanOptions};
        scan_database(p, &ScanOptions::default(), &mut Quiet)
            .unwrap()
            .counts
    }

    fn same_k(a: &crate::checksum_scan::Counts, b: &crate::checksum_scan::Counts) {
        let key = |c: &crate::checksum_scan::Counts| {
            (
                c.pages_seen,
                c.ok,
                c.uninitialized,
                c.correctable,
                c.eseutil_bad(),
                c.highest_dbtime,
                c.highest_dbtime_pgno,
            )
        };
        assert_eq!(key(a), key(b));
    }

    #[test]
    fn in_place_census_gives_the_full_scan_kept_originals_ignored() {
        let d = tempfile::tempdir().unwrap();
        let db = synth_db(d.path(), 700, &[40, 450, 600], 33);
        let (s, _ev) = PageStore::in_place_gated(&db, 4096, HASH, true).unwrap();
        let mut s = s.with_cache_bytes(0);
        // Ahead of the hasher (originals kept): page 450, bad in the
        // input, rewritten; a zeroed page; the header.
        s.write_page(450, redone(450, 5000)).unwrap();
        s.write_page(300, redone(300, 4000)).unwrap();
        s.zero_page(301).unwrap();
        bg(&s).allow(Some(1));
        bg(&s).wait_done(1 << 20);
        // Behind it.
        s.write_page(5, redone(5, 4500)).unwrap();
        bg(&s).allow(None);
        s.write_header(crate::checksum_scan::synth::header(4096))
            .unwrap();
        s.settle().unwrap();
        let k = census_k(&s).expect("the hasher read every page");
        same_k(&k, &full_k(&db));
        // 40 and 600 were never written: bad; 450 was: not.
        assert_eq!(k.eseutil_bad(), 2);
        assert_eq!((k.highest_dbtime, k.highest_dbtime_pgno), (5000, 450));
        // Taken once.
        assert!(s.take_census().is_none());
        s.discard();
    }

    #[test]
    fn copy_census_gives_the_full_scan_after_a_cut_and_growth() {
        let d = tempfile::tempdir().unwrap();
        let db = synth_db(d.path(), 700, &[40, 650], 33);
        let Some((s, _ev)) = gated_copy(&db, d.path(), HASH) else {
            return;
        };
        let mut s = s.with_cache_bytes(0);
        s.write_page(600, redone(600, 9000)).unwrap();
        bg(&s).allow(Some(1));
        s.truncate_to(500).unwrap();
        s.write_page(520, redone(520, 8000)).unwrap();
        s.write_page(40, redone(40, 100)).unwrap();
        bg(&s).allow(None);
        s.write_header(crate::checksum_scan::synth::header(4096))
            .unwrap();
        s.settle().unwrap();
        let k = census_k(&s).expect("the copier read every page");
        same_k(&k, &full_k(s.tmp_path()));
        // 650 cut, 40 rewritten, 501..519 blank.
        assert_eq!(k.eseutil_bad(), 0);
        assert_eq!(k.uninitialized, 1 + 19);
        assert_eq!((k.highest_dbtime, k.highest_dbtime_pgno), (8000, 520));
        s.discard();
    }

    /// The hasher of a reflink clone's input: the store's writes and cuts
    /// (of the clone) neither keep originals nor wait for it, and its
    /// census gives the full scan of the clone.
    #[test]
    fn the_hash_of_a_clones_input_never_holds_redo_back() {
        let d = tempfile::tempdir().unwrap();
        let db = synth_db(d.path(), 600, &[40, 500], 33);
        let clone = d.path().join("clone.edb");
        std::fs::copy(&db, &clone).unwrap();
        let size = std::fs::metadata(&db).unwrap().len();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&clone)
            .unwrap();
        let mut s = PageStore::new(file, clone.clone(), &clone, 4096, Origin::Reflink)
            .unwrap()
            .with_cache_bytes(0);
        let (sha, slot) = InputHash::later(HashAlgorithm::Blake3);
        let h = overlap::Hasher::start(&db, size, 4096, slot, true, true).unwrap();
        s.background = Some(Background::Hash(h));
        // The gate is closed: an in-place hasher would hold both.
        s.write_page(40, redone(40, 7000)).unwrap();
        s.truncate_to(450).unwrap();
        s.write_header(crate::checksum_scan::synth::header(4096))
            .unwrap();
        bg(&s).allow(None);
        s.settle().unwrap();
        assert_eq!(
            sha.wait().unwrap(),
            crate::file::hash_file(&db, HashAlgorithm::Blake3).unwrap()
        );
        let k = census_k(&s).expect("the hasher read every page");
        same_k(&k, &full_k(&clone));
        assert_eq!(k.eseutil_bad(), 0);
        s.discard();
    }

    #[test]
    fn no_census_without_a_pass_that_read_every_page() {
        let d = tempfile::tempdir().unwrap();
        let db = synth_db(d.path(), 300, &[], 0);
        // In place without a hash: no worker.
        let (s, _) = PageStore::in_place(&db, 4096, None).unwrap();
        assert!(s.take_census().is_none());
        s.discard();
        // A copy without a hash: the kernel copies, nothing is read.
        if let Some((s, _)) = gated_copy(&db, d.path(), None) {
            bg(&s).allow(None);
            s.settle().unwrap();
            assert!(s.take_census().is_none());
            s.discard();
        }
        // A hash not at the end yet (held before its first chunk).
        let (s, _ev) = PageStore::in_place_gated(&db, 4096, HASH, true).unwrap();
        assert!(s.take_census().is_none());
        s.discard();
    }
}
