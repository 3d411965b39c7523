//! Work a [`super::PageStore`] does on a worker thread while redo runs:
//! the copy of the input database into the working file, hashing what it
//! reads ([`Copier`]), or the hash of a database replayed in place or of
//! the input of a reflink clone ([`Hasher`]); either classifies every page
//! it reads as `/k` does, for the verification (`census.rs`). Redo never
//! waits for either to finish; the store routes
//! its reads and writes so that the result and the hash are what a copy
//! (or a hash) made before redo would give:
//!
//! * **Copy.** The working file is made at the input's length; the copier
//!   reads the input chunk by chunk (a whole number of pages, about
//!   1 MiB), hashes the chunk and writes it, minus the pages the store has
//!   written, under a lock. The store marks a page it writes ahead of the
//!   copier (`done`) in a bitset under the same lock, so a chunk either
//!   was written before the mark (the store's write comes later and wins)
//!   or sees it and leaves the page alone. A page neither copied nor
//!   written is read from the input (only read): it holds what the copy
//!   will hold. A truncation lowers `end` under the lock: nothing is copied
//!   beyond the store's length any more (the hash still reads to the end).
//! * **In place.** The hasher reads the file sequentially; before the
//!   store first writes a page the hasher has not passed, the page's
//!   original bytes are read and kept (at most [`ORIGINALS_MAX`] bytes; a
//!   write beyond that waits for the hasher, which never waits for the
//!   store), and the hasher hashes them instead of what it read. A
//!   truncation waits until the hasher is done.
//!
//! [`super::PageStore::settle`] joins the worker (before anything reads
//! the whole working file, syncs or commits it); a copy that failed fails
//! the run. Dropped or discarded, the store stops the worker and joins it;
//! a hash still wanted by the report (the waiting end not dropped) is
//! finished first.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::census::PassCensus;
use crate::error::{Error, Result};
use crate::recovery::evidence::HashSlot;

/// Bytes read per chunk (rounded down to whole pages).
const CHUNK: usize = 1 << 20;

/// Original bytes of pages written ahead of the in-place hasher kept at
/// most at once.
pub(super) const ORIGINALS_MAX: usize = 16 << 20;

/// Worker states (`stop`).
const RUN: u8 = 0;
/// No more writes to the working file; a hash still wanted is finished.
const NO_WRITES: u8 = 1;
/// Stop now.
const ABORT: u8 = 2;

/// What hashing was stopped gives.
const STOPPED: &str = "unreadable: hashing stopped before the end of the file";

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn chunk_len(page_size: usize) -> usize {
    (CHUNK / page_size).max(1) * page_size
}

/// The worker of a store.
#[derive(Debug)]
pub(super) enum Background {
    Copy(Copier),
    Hash(Hasher),
}

impl Background {
    /// Reads `buf.len()` bytes at `off` as the working file holds them
    /// once the worker is done.
    pub(super) fn read_at(
        &self,
        work: &File,
        work_path: &Path,
        buf: &mut [u8],
        off: u64,
    ) -> Result<()> {
        if let Background::Copy(c) = self {
            if c.reads_input(off, buf.len() as u64) {
                return read_or_zeros(&c.input, buf, off).map_err(|e| Error::io(&c.input_path, e));
            }
        }
        work.read_exact_at(buf, off)
            .map_err(|e| Error::io(work_path, e))
    }

    /// Called before the store writes `len` bytes at `off`.
    pub(super) fn before_write(
        &self,
        work: &File,
        work_path: &Path,
        off: u64,
        len: u64,
    ) -> Result<()> {
        match self {
            Background::Copy(c) => {
                c.mark_written(off, len);
                Ok(())
            }
            Background::Hash(h) => h.keep_original(work, work_path, off, len),
        }
    }

    /// What the worker's pass saw of every page of the input (`census.rs`),
    /// once it read them all and (a copy) wrote them all; taken once, after
    /// [`Self::join`].
    pub(super) fn take_census(&self) -> Option<PassCensus> {
        let census = match self {
            Background::Copy(c) => &c.shared.census,
            Background::Hash(h) => &h.shared.census,
        };
        lock(census).take()
    }

    /// Called before the store cuts the file to `len` bytes.
    pub(super) fn before_truncate(&self, len: u64) {
        match self {
            Background::Copy(c) => c.lower_end(len),
            Background::Hash(h) => h.wait_until_done(len),
        }
    }

    /// Waits for the worker: the copy's error (and an error again at each
    /// later call).
    pub(super) fn join(&self) -> Result<()> {
        let (worker, path) = match self {
            Background::Copy(c) => (&c.worker, &c.input_path),
            Background::Hash(h) => (&h.worker, &h.path),
        };
        let mut w = lock(worker);
        let r = match std::mem::replace(&mut *w, Worker::Joined) {
            Worker::Running(h) => h
                .join()
                .unwrap_or_else(|_| Err(Error::io(path, std::io::Error::other("worker panicked")))),
            Worker::Joined => Ok(()),
            Worker::Failed => Err(Error::io(
                path,
                std::io::Error::other("the copy of the database failed"),
            )),
        };
        if r.is_err() {
            *w = Worker::Failed;
        }
        r
    }

    /// Stops the worker (the store is discarded): no more writes; a hash
    /// the report still waits for is finished, else it stops now.
    pub(super) fn stop(self) {
        let (stop, slot) = match &self {
            Background::Copy(c) => (&c.shared.stop, c.slot.as_ref()),
            Background::Hash(h) => (&h.shared.stop, Some(&h.slot)),
        };
        let wanted = slot.is_some_and(|s| s.wanted());
        stop.store(if wanted { NO_WRITES } else { ABORT }, Ordering::Release);
        self.gate().open();
        let _ = self.join();
    }

    fn gate(&self) -> &Gate {
        match self {
            Background::Copy(c) => &c.shared.gate,
            Background::Hash(h) => &h.shared.gate,
        }
    }

    /// Test hook: lets the worker take `chunks` more chunks (`None`: all),
    /// the worker having been started with none allowed.
    #[cfg(test)]
    pub(super) fn allow(&self, chunks: Option<u64>) {
        self.gate().allow(chunks);
    }

    /// Test hook: a function that opens the gate from another thread.
    #[cfg(test)]
    pub(super) fn gate_opener(&self) -> Box<dyn FnOnce() + Send> {
        match self {
            Background::Copy(c) => {
                let sh = Arc::clone(&c.shared);
                Box::new(move || sh.gate.open())
            }
            Background::Hash(h) => {
                let sh = Arc::clone(&h.shared);
                Box::new(move || sh.gate.open())
            }
        }
    }

    /// Test hook: waits until the worker has finished `bytes` bytes.
    #[cfg(test)]
    pub(super) fn wait_done(&self, bytes: u64) {
        let done = match self {
            Background::Copy(c) => &c.shared.done,
            Background::Hash(h) => &h.shared.done,
        };
        while done.load(Ordering::Acquire) < bytes {
            std::thread::yield_now();
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let stop = match self {
            Background::Copy(c) => &c.shared.stop,
            Background::Hash(h) => &h.shared.stop,
        };
        stop.store(ABORT, Ordering::Release);
        self.gate().open();
        let _ = self.join();
    }
}

/// A worker thread and how it ended.
#[derive(Debug)]
enum Worker {
    Running(JoinHandle<Result<()>>),
    Joined,
    Failed,
}

/// Test hook: how many chunks a worker may take (unlimited unless a test
/// closed it).
#[derive(Debug, Default)]
struct Gate {
    /// `None`: no limit.
    allowed: Mutex<Option<u64>>,
    moved: Condvar,
}

impl Gate {
    fn closed(closed: bool) -> Gate {
        Gate {
            allowed: Mutex::new(closed.then_some(0)),
            moved: Condvar::new(),
        }
    }

    /// Waits until chunk `n` may be taken or the worker is stopped.
    fn pass(&self, n: u64, stop: &AtomicU8) {
        let mut a = lock(&self.allowed);
        while a.is_some_and(|a| n >= a) && stop.load(Ordering::Acquire) == RUN {
            a = self.moved.wait(a).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn open(&self) {
        *lock(&self.allowed) = None;
        self.moved.notify_all();
    }

    #[cfg(test)]
    fn allow(&self, chunks: Option<u64>) {
        let mut a = lock(&self.allowed);
        *a = match (chunks, *a) {
            (Some(n), Some(now)) => Some(now + n),
            _ => None,
        };
        self.moved.notify_all();
    }
}

/// Reads `buf.len()` bytes at `off`, zeros past the end of the file.
fn read_or_zeros(f: &File, buf: &mut [u8], off: u64) -> std::io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match f.read_at(&mut buf[got..], off + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf[got..].fill(0);
    Ok(())
}

/// Puts the fallback text into the slot when the worker ends without a
/// hash (stopped, failed, panicked).
struct Deliver(Option<Arc<HashSlot>>);

impl Drop for Deliver {
    fn drop(&mut self) {
        if let Some(s) = &self.0 {
            s.put(STOPPED.into());
        }
    }
}

/// The copy of the input into the working file.
#[derive(Debug)]
pub(super) struct Copier {
    shared: Arc<CopyShared>,
    worker: Mutex<Worker>,
    /// The input, only read: pages not yet copied are read here.
    input: File,
    input_path: PathBuf,
    page_size: u64,
    slot: Option<Arc<HashSlot>>,
}

#[derive(Debug)]
struct CopyShared {
    /// Held by the copier while it writes a chunk, and by the store while
    /// it marks a page ahead of the copier or lowers `end`.
    lock: Mutex<()>,
    /// One bit per page of the input (header pages included) the store
    /// wrote ahead of the copier; set by the store only, under `lock`.
    written: Vec<AtomicU64>,
    /// Bytes the copier may still write (the store's length after a
    /// truncation); lowered by the store only, under `lock`.
    end: AtomicU64,
    /// Bytes of the input the copier is done with (written, or left to
    /// the store), set under `lock`; `u64::MAX` once the copy is whole.
    done: AtomicU64,
    stop: AtomicU8,
    gate: Gate,
    /// The pass's census, put there when the copy is whole.
    census: Mutex<Option<PassCensus>>,
}

impl CopyShared {
    fn is_written(&self, page: u64) -> bool {
        self.written
            .get((page / 64) as usize)
            .is_some_and(|w| w.load(Ordering::Relaxed) & (1 << (page % 64)) != 0)
    }
}

/// Where the copier writes.
struct CopyTo {
    file: File,
    path: PathBuf,
    size: u64,
    page_size: usize,
}

impl Copier {
    /// Starts copying `input` (`size` bytes, only read) into `work` (made
    /// that long already) on a worker thread, hashing into `slot`.
    pub(super) fn start(
        input: File,
        input_path: &Path,
        work: &File,
        work_path: &Path,
        page_size: usize,
        slot: Option<Arc<HashSlot>>,
        gate_closed: bool,
    ) -> Result<Copier> {
        let size = input
            .metadata()
            .map_err(|e| Error::io(input_path, e))?
            .len();
        let pages = size.div_ceil(page_size as u64);
        let shared = Arc::new(CopyShared {
            lock: Mutex::new(()),
            written: (0..pages.div_ceil(64)).map(|_| AtomicU64::new(0)).collect(),
            end: AtomicU64::new(size),
            done: AtomicU64::new(0),
            stop: AtomicU8::new(RUN),
            gate: Gate::closed(gate_closed),
            census: Mutex::new(None),
        });
        let to = CopyTo {
            file: work.try_clone().map_err(|e| Error::io(work_path, e))?,
            path: work_path.to_path_buf(),
            size,
            page_size,
        };
        let from = input.try_clone().map_err(|e| Error::io(input_path, e))?;
        let (sh, p, s) = (Arc::clone(&shared), input_path.to_path_buf(), slot.clone());
        let worker = std::thread::Builder::new()
            .name("copy".into())
            .spawn(move || copy_run(&sh, &from, &p, &to, s))
            .map_err(|e| Error::io(input_path, e))?;
        Ok(Copier {
            shared,
            worker: Mutex::new(Worker::Running(worker)),
            input,
            input_path: input_path.to_path_buf(),
            page_size: page_size as u64,
            slot,
        })
    }

    /// Whether `len` bytes at `off` are read from the input: neither
    /// copied nor written by the store, and below `end`.
    fn reads_input(&self, off: u64, len: u64) -> bool {
        let sh = &self.shared;
        off.saturating_add(len) > sh.done.load(Ordering::Acquire)
            && off < sh.end.load(Ordering::Relaxed)
            && !sh.is_written(off / self.page_size)
    }

    /// Marks the pages of `len` bytes at `off` written when the copier may
    /// still write them.
    fn mark_written(&self, off: u64, len: u64) {
        let sh = &self.shared;
        let end = off.saturating_add(len);
        if end <= sh.done.load(Ordering::Acquire) || off >= sh.end.load(Ordering::Relaxed) {
            return;
        }
        let _g = lock(&sh.lock);
        for page in off / self.page_size..end.div_ceil(self.page_size) {
            if let Some(w) = sh.written.get((page / 64) as usize) {
                w.fetch_or(1 << (page % 64), Ordering::Relaxed);
            }
        }
    }

    fn lower_end(&self, len: u64) {
        let sh = &self.shared;
        let _g = lock(&sh.lock);
        if len < sh.end.load(Ordering::Relaxed) {
            sh.end.store(len, Ordering::Relaxed);
        }
    }
}

/// The copier's loop: read a chunk, hash it, classify its pages (the
/// census), write it minus the pages the store wrote (without a hash, the
/// kernel copies: `copy_file_range`, and there is no census). A read or
/// write error stops it and is its result.
fn copy_run(
    sh: &CopyShared,
    from: &File,
    from_path: &Path,
    to: &CopyTo,
    slot: Option<Arc<HashSlot>>,
) -> Result<()> {
    let deliver = Deliver(slot);
    let mut hash = deliver.0.as_ref().map(|s| s.algorithm().start());
    let mut census = hash
        .as_ref()
        .map(|_| PassCensus::new(to.size, to.page_size));
    let chunk = chunk_len(to.page_size);
    let mut storage = Vec::new();
    let buf = crate::file::page_aligned(&mut storage, if hash.is_some() { chunk } else { 0 });
    let mut pos = 0u64;
    let mut n_chunk = 0u64;
    while pos < to.size {
        sh.gate.pass(n_chunk, &sh.stop);
        let stop = sh.stop.load(Ordering::Acquire);
        let wanted = deliver.0.as_ref().is_some_and(|s| s.wanted());
        if stop == ABORT || (stop == NO_WRITES && !wanted) {
            return Ok(());
        }
        let n = (chunk as u64).min(to.size - pos) as usize;
        let piece = match hash.as_mut() {
            Some(h) => {
                from.read_exact_at(&mut buf[..n], pos)
                    .map_err(|e| Error::io(from_path, e))?;
                h.update(&buf[..n]);
                if let Some(c) = census.as_mut() {
                    c.see(&buf[..n], pos);
                }
                Piece::Read(&buf[..n])
            }
            None => Piece::Kernel(from, n),
        };
        if stop == RUN {
            write_chunk(sh, to, piece, pos).map_err(|e| Error::io(&to.path, e))?;
        }
        pos += n as u64;
        n_chunk += 1;
    }
    let _g = lock(&sh.lock);
    if sh.stop.load(Ordering::Acquire) == RUN {
        sh.done.store(u64::MAX, Ordering::Release);
        *lock(&sh.census) = census;
    }
    if let (Some(s), Some(h)) = (&deliver.0, hash) {
        s.put(h.hex());
    }
    Ok(())
}

/// A chunk to write: the bytes read (and hashed), or `n` bytes the kernel
/// copies from the input.
enum Piece<'a> {
    Read(&'a [u8]),
    Kernel(&'a File, usize),
}

impl Piece<'_> {
    fn len(&self) -> usize {
        match self {
            Piece::Read(b) => b.len(),
            Piece::Kernel(_, n) => *n,
        }
    }

    /// Writes bytes `a..b` of the chunk at `pos + a`.
    fn write(&self, to: &File, pos: u64, a: usize, b: usize) -> std::io::Result<()> {
        match self {
            Piece::Read(buf) => to.write_all_at(&buf[a..b], pos + a as u64),
            Piece::Kernel(from, _) => kernel_copy(from, to, pos + a as u64, b - a),
        }
    }
}

/// Copies `len` bytes at `off` from `from` to the same offset of `to` in
/// the kernel (`copy_file_range`), by a read and a write where it cannot.
fn kernel_copy(from: &File, to: &File, off: u64, len: usize) -> std::io::Result<()> {
    use rustix::io::Errno;
    let (mut done, mut off_in, mut off_out) = (0usize, off, off);
    while done < len {
        match rustix::fs::copy_file_range(
            from,
            Some(&mut off_in),
            to,
            Some(&mut off_out),
            len - done,
        ) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => done += n,
            Err(Errno::INTR) => {}
            Err(Errno::XDEV | Errno::NOSYS | Errno::OPNOTSUPP | Errno::INVAL) => {
                let mut b = vec![0u8; len - done];
                let at = off + done as u64;
                from.read_exact_at(&mut b, at)?;
                return to.write_all_at(&b, at);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Writes the chunk read at `pos`, below `end`, minus the pages the store
/// wrote; all under the lock the store takes to mark a page.
fn write_chunk(sh: &CopyShared, to: &CopyTo, piece: Piece<'_>, pos: u64) -> std::io::Result<()> {
    let _g = lock(&sh.lock);
    if sh.stop.load(Ordering::Acquire) != RUN {
        return Ok(());
    }
    let ps = to.page_size as u64;
    let chunk_end = pos + piece.len() as u64;
    let limit = chunk_end.min(sh.end.load(Ordering::Relaxed));
    let mut p = pos;
    while p < limit {
        if sh.is_written(p / ps) {
            p = (p / ps + 1) * ps;
            continue;
        }
        let mut q = p;
        while q < limit && !sh.is_written(q / ps) {
            q = (q / ps + 1) * ps;
        }
        let q = q.min(limit);
        piece.write(&to.file, pos, (p - pos) as usize, (q - pos) as usize)?;
        p = q;
    }
    sh.done.store(chunk_end, Ordering::Release);
    Ok(())
}

/// The hash of a database replayed in place, or of the input of a
/// reflink clone (`of_input`).
#[derive(Debug)]
pub(super) struct Hasher {
    shared: Arc<HashShared>,
    worker: Mutex<Worker>,
    path: PathBuf,
    /// The file's length when the run began (what is hashed).
    size: u64,
    slot: Arc<HashSlot>,
    /// At most this many bytes of originals kept ([`ORIGINALS_MAX`]).
    max_kept: usize,
    /// The file hashed is the input of a reflink clone, which the store
    /// never writes: no original to keep, no truncation to wait for.
    of_input: bool,
}

#[derive(Debug, Default)]
struct Originals {
    /// Offset → original bytes of a page the store wrote ahead of the
    /// hasher.
    pages: std::collections::BTreeMap<u64, Vec<u8>>,
    bytes: usize,
}

#[derive(Debug)]
struct HashShared {
    originals: Mutex<Originals>,
    /// Signalled when the hasher moved (or stopped).
    moved: Condvar,
    /// Bytes hashed, set under `originals`; `u64::MAX` once it stopped.
    done: AtomicU64,
    stop: AtomicU8,
    gate: Gate,
    /// The pass's census, put there when the hash is whole.
    census: Mutex<Option<PassCensus>>,
}

impl Hasher {
    /// Starts hashing `path` (its first `size` bytes) into `slot`; `of_input`:
    /// `path` is not the working file (the input of a reflink clone).
    pub(super) fn start(
        path: &Path,
        size: u64,
        page_size: usize,
        slot: Arc<HashSlot>,
        gate_closed: bool,
        of_input: bool,
    ) -> Result<Hasher> {
        let file = crate::file::open_read_only(path)?;
        let shared = Arc::new(HashShared {
            originals: Mutex::new(Originals::default()),
            moved: Condvar::new(),
            done: AtomicU64::new(0),
            stop: AtomicU8::new(RUN),
            gate: Gate::closed(gate_closed),
            census: Mutex::new(None),
        });
        let (sh, p, s) = (Arc::clone(&shared), path.to_path_buf(), Arc::clone(&slot));
        let worker = std::thread::Builder::new()
            .name("hash".into())
            .spawn(move || {
                hash_run(&sh, &file, &p, size, page_size, s);
                Ok(())
            })
            .map_err(|e| Error::io(path, e))?;
        Ok(Hasher {
            shared,
            worker: Mutex::new(Worker::Running(worker)),
            path: path.to_path_buf(),
            size,
            slot,
            max_kept: ORIGINALS_MAX,
            of_input,
        })
    }

    /// Test hook: keeps at most `bytes` of originals.
    #[cfg(test)]
    pub(super) fn set_max_kept(&mut self, bytes: usize) {
        self.max_kept = bytes;
    }

    /// Before the store writes `len` bytes at `off`: the original bytes
    /// the hasher has not read yet are kept for it (once per page).
    fn keep_original(&self, work: &File, work_path: &Path, off: u64, len: u64) -> Result<()> {
        let sh = &self.shared;
        let end = off.saturating_add(len).min(self.size);
        if self.of_input || off >= end || end <= sh.done.load(Ordering::Acquire) {
            return Ok(());
        }
        let want = (end - off) as usize;
        let mut o = lock(&sh.originals);
        loop {
            if end <= sh.done.load(Ordering::Acquire) || o.pages.contains_key(&off) {
                return Ok(());
            }
            if o.bytes == 0 || o.bytes + want <= self.max_kept {
                break;
            }
            o = sh.moved.wait(o).unwrap_or_else(|e| e.into_inner());
        }
        let mut b = vec![0u8; want];
        work.read_exact_at(&mut b, off)
            .map_err(|e| Error::io(work_path, e))?;
        o.pages.insert(off, b);
        o.bytes += want;
        Ok(())
    }

    /// Before the store cuts the file to `len` bytes: waits until the
    /// hasher has read what the cut removes.
    fn wait_until_done(&self, len: u64) {
        if self.of_input || len >= self.size {
            return;
        }
        let sh = &self.shared;
        let mut o = lock(&sh.originals);
        while sh.done.load(Ordering::Acquire) < self.size {
            o = sh.moved.wait(o).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// The hasher's loop: read a chunk, put back the originals of the pages
/// the store wrote in it, hash it and classify its pages (the census; a
/// page put back is one the store wrote: the verification reads it back
/// and ignores its class). Read errors give `unreadable: …`.
fn hash_run(
    sh: &HashShared,
    f: &File,
    path: &Path,
    size: u64,
    page_size: usize,
    slot: Arc<HashSlot>,
) {
    let chunk = chunk_len(page_size);
    // The hash on a thread of its own: this one reads and classifies.
    let mut feed = crate::file::HashFeed::start(slot.algorithm(), chunk);
    let deliver = Deliver(Some(slot));
    let mut census = PassCensus::new(size, page_size);
    let mut pos = 0u64;
    let mut n_chunk = 0u64;
    let text = loop {
        if pos >= size {
            break Some(None);
        }
        sh.gate.pass(n_chunk, &sh.stop);
        let stop = sh.stop.load(Ordering::Acquire);
        let wanted = deliver.0.as_ref().is_some_and(|s| s.wanted());
        if stop == ABORT || (stop == NO_WRITES && !wanted) {
            break None;
        }
        let n = (chunk as u64).min(size - pos) as usize;
        let mut c = feed.take();
        let buf = c.fill(n);
        if let Err(e) = f.read_exact_at(buf, pos) {
            break Some(Some(format!("unreadable: {}", Error::io(path, e))));
        }
        let end = pos + n as u64;
        {
            let mut o = lock(&sh.originals);
            let kept: Vec<u64> = o.pages.range(pos..end).map(|(&k, _)| k).collect();
            for k in kept {
                if let Some(b) = o.pages.remove(&k) {
                    // Pages never straddle a chunk (both are whole pages).
                    let at = (k - pos) as usize;
                    let m = b.len().min(n - at);
                    buf[at..at + m].copy_from_slice(&b[..m]);
                    o.bytes -= b.len();
                }
            }
            sh.done.store(end, Ordering::Release);
        }
        sh.moved.notify_all();
        census.see(buf, pos);
        feed.hash(c);
        pos = end;
        n_chunk += 1;
    };
    // Some(None): every byte was handed to the hash; Some(Some(t)): `t`
    // instead of the hash; None: stopped.
    let text = text.map(|t| {
        let digest = feed.finish();
        t.or(digest)
            .unwrap_or_else(|| "unreadable: the hashing thread failed".into())
    });
    {
        let _o = lock(&sh.originals);
        sh.done.store(u64::MAX, Ordering::Release);
        if pos >= size {
            *lock(&sh.census) = Some(census);
        }
    }
    sh.moved.notify_all();
    if let (Some(t), Some(s)) = (text, &deliver.0) {
        s.put(t);
    }
}
