//! The page store recovery writes into: a working copy in the output
//! folder, never the input files.
//!
//! Scheme: every database being recovered lives in `OUT/<name>.recovering`
//! while redo runs (created empty for a database that enters by CreateDB,
//! or a byte copy of the input database). [`PageStore::commit`] flushes it
//! (`fsync`) and renames it atomically to `OUT/<name>`. An interrupted run
//! leaves only the `.recovering` file, which the next run overwrites: the
//! scheme is restartable, not resumable.
//!
//! Layout facts: two header pages, then page *pgno* at `(pgno + 1) · cbPage`
//! (`inc/io.hxx` ~26–28, docs/format/pages.md §1); data pages are sealed with
//! [`crate::checksum::seal_page`] (PGHDR2 carries its pgno at offset 64 on
//! 16/32 KiB pages, cpage.hxx ~1014), header pages with
//! [`crate::checksum::seal_header`] and written to both copies
//! (`ErrUtilWriteShadowedHeaderInternal`, `ese/_osu/fileu.cxx` ~789–870).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::checksum::{seal_header, seal_page};
use crate::error::{Error, Result};
use crate::parse::page::is_large;

/// A database file being rebuilt.
#[derive(Debug)]
pub struct PageStore {
    /// Every data page written, with the dbtime of its last write; zeroed
    /// or truncated pages leave it. Read back by [`super::verify`].
    ledger: BTreeMap<u32, u64>,
    file: File,
    tmp: PathBuf,
    target: PathBuf,
    page_size: usize,
    /// Pages written (data pages, counting rewrites once per write).
    pub writes: u64,
    /// Of those, writes of redone page operations (the counterpart of
    /// `RedoStats::pages_redone`, checked before anything is committed).
    pub redone: u64,
}

thread_local! {
    /// Test hook: from this many page writes on, writes are counted and
    /// recorded in the ledger but never reach the file (a lost write).
    static LOSE_WRITES_FROM: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
}

/// Test hook (fault injection for the verification tests): from the
/// `n`-th page write of each store on this thread, writes are lost
/// (counted, never written). `None` switches it off. Only with the
/// `test-support` feature: without it the hook stays `None`.
#[cfg(feature = "test-support")]
pub fn inject_lost_writes_from(n: Option<u64>) {
    LOSE_WRITES_FROM.with(|c| c.set(n));
}

impl PageStore {
    /// Creates an empty working file for `target` (the final path).
    pub fn create(target: &Path, page_size: usize) -> Result<PageStore> {
        let tmp = tmp_path(target);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        file.set_len(2 * page_size as u64)
            .map_err(|e| Error::io(&tmp, e))?;
        Ok(PageStore {
            ledger: BTreeMap::new(),
            file,
            tmp,
            target: target.to_path_buf(),
            page_size,
            writes: 0,
            redone: 0,
        })
    }

    /// Copies `input` (only read) to the working file for `target`.
    pub fn copy_of(input: &Path, target: &Path, page_size: usize) -> Result<PageStore> {
        let tmp = tmp_path(target);
        std::fs::copy(input, &tmp).map_err(|e| Error::io(input, e))?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&tmp)
            .map_err(|e| Error::io(&tmp, e))?;
        Ok(PageStore {
            ledger: BTreeMap::new(),
            file,
            tmp,
            target: target.to_path_buf(),
            page_size,
            writes: 0,
            redone: 0,
        })
    }

    /// Page size.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Number of data pages the file holds.
    pub fn page_count(&self) -> Result<u32> {
        let len = self
            .file
            .metadata()
            .map_err(|e| Error::io(&self.tmp, e))?
            .len();
        Ok((len / self.page_size as u64).saturating_sub(2) as u32)
    }

    /// Grows the file so that `pgno_last` exists (never shrinks).
    pub fn extend_to(&mut self, pgno_last: u32) -> Result<()> {
        if self.page_count()? < pgno_last {
            let len = (pgno_last as u64 + 2) * self.page_size as u64;
            self.file
                .set_len(len)
                .map_err(|e| Error::io(&self.tmp, e))?;
        }
        Ok(())
    }

    /// Shrinks the file so that `pgno_last` is its last page (never grows;
    /// `ErrIONewSize` with `JET_bitResizeDatabaseOnlyShrink`).
    pub fn truncate_to(&mut self, pgno_last: u32) -> Result<()> {
        self.ledger.retain(|&p, _| p <= pgno_last);
        if self.page_count()? > pgno_last {
            let len = (pgno_last as u64 + 2) * self.page_size as u64;
            self.file
                .set_len(len)
                .map_err(|e| Error::io(&self.tmp, e))?;
        }
        Ok(())
    }

    /// Reads page `pgno` (zeros beyond the end of the file).
    pub fn read_page(&self, pgno: u32) -> Result<Vec<u8>> {
        let mut b = vec![0u8; self.page_size];
        if pgno == 0 || pgno > self.page_count()? {
            return Ok(b);
        }
        let off = (pgno as u64 + 1) * self.page_size as u64;
        self.file
            .read_exact_at(&mut b, off)
            .map_err(|e| Error::io(&self.tmp, e))?;
        Ok(b)
    }

    /// Seals and writes page `pgno`, growing the file when needed.
    pub fn write_page(&mut self, pgno: u32, mut b: Vec<u8>) -> Result<()> {
        debug_assert_eq!(b.len(), self.page_size);
        if is_large(self.page_size) {
            b[64..68].copy_from_slice(&pgno.to_le_bytes());
        }
        seal_page(&mut b, pgno);
        self.extend_to(pgno)?;
        let off = (pgno as u64 + 1) * self.page_size as u64;
        let lost = LOSE_WRITES_FROM
            .with(|c| c.get())
            .is_some_and(|n| self.writes >= n);
        if !lost {
            self.file
                .write_all_at(&b, off)
                .map_err(|e| Error::io(&self.tmp, e))?;
        }
        self.writes += 1;
        self.ledger.insert(pgno, crate::parse::u64_at(&b, 8));
        Ok(())
    }

    /// Writes an all-zero (uninitialized) page, as a trim leaves it.
    pub fn zero_page(&mut self, pgno: u32) -> Result<()> {
        self.ledger.remove(&pgno);
        let off = (pgno as u64 + 1) * self.page_size as u64;
        self.file
            .write_all_at(&vec![0u8; self.page_size], off)
            .map_err(|e| Error::io(&self.tmp, e))?;
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
        self.file
            .read_exact_at(&mut b, 0)
            .map_err(|e| Error::io(&self.tmp, e))?;
        Ok(b)
    }

    /// Seals a header page and writes it to both copies.
    pub fn write_header(&mut self, mut h: Vec<u8>) -> Result<()> {
        h.resize(self.page_size, 0);
        seal_header(&mut h);
        for copy in 0..2u64 {
            self.file
                .write_all_at(&h, copy * self.page_size as u64)
                .map_err(|e| Error::io(&self.tmp, e))?;
        }
        Ok(())
    }

    /// Pages written, each with the dbtime of its last write.
    pub fn ledger(&self) -> &BTreeMap<u32, u64> {
        &self.ledger
    }

    /// Working file path.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Final path.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Flushes the working file (`fsync`), before any output is renamed.
    pub fn sync(&self) -> Result<()> {
        self.file.sync_all().map_err(|e| Error::io(&self.tmp, e))
    }

    /// Renames the working file to its final name; the caller has
    /// [`PageStore::sync`]ed it (every output is flushed before any rename).
    pub fn commit(self) -> Result<PathBuf> {
        drop(self.file);
        std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::io(&self.target, e))?;
        Ok(self.target)
    }

    /// Drops the working file (recovery failed).
    pub fn discard(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.tmp);
    }
}

fn tmp_path(target: &Path) -> PathBuf {
    let mut s = target.as_os_str().to_owned();
    s.push(".recovering");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_write_read_commit() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("x.edb");
        let mut s = PageStore::create(&t, 4096).unwrap();
        assert_eq!(s.page_count().unwrap(), 0);
        let mut p = vec![0u8; 4096];
        p[36..40].copy_from_slice(&0x2000u32.to_le_bytes());
        s.write_page(3, p).unwrap();
        assert_eq!(s.page_count().unwrap(), 3);
        assert!(crate::checksum::verify_page(&s.read_page(3).unwrap(), 3).is_good());
        assert!(s.read_page(2).unwrap().iter().all(|&b| b == 0));
        s.write_header(vec![1u8; 748]).unwrap();
        s.sync().unwrap();
        let out = s.commit().unwrap();
        assert_eq!(std::fs::metadata(&out).unwrap().len(), 5 * 4096);
        assert!(!d.path().join("x.edb.recovering").exists());
    }

    #[test]
    fn only_a_verifying_trailer_is_zeroed() {
        let d = tempfile::tempdir().unwrap();
        let t = d.path().join("x.edb");
        let mut s = PageStore::create(&t, 4096).unwrap();
        let mut p = vec![0u8; 4096];
        p[24..28].copy_from_slice(&5u32.to_le_bytes());
        p[36..40].copy_from_slice(&0x2000u32.to_le_bytes());
        s.write_page(3, p).unwrap();
        // A data page last: kept.
        assert!(!s.zero_trailer_page().unwrap());
        assert!(!s.read_page(3).unwrap().iter().all(|&b| b == 0));
        // A trailer (PATCHHDR, header checksum) last: zeroed, length kept.
        let mut tr = vec![0u8; 4096];
        tr[56..60].copy_from_slice(&1u32.to_le_bytes());
        tr[60..64].copy_from_slice(&1u32.to_le_bytes());
        seal_header(&mut tr);
        s.file.write_all_at(&tr, 5 * 4096).unwrap();
        assert_eq!(s.page_count().unwrap(), 4);
        assert!(s.zero_trailer_page().unwrap());
        assert_eq!(s.page_count().unwrap(), 4);
        assert!(s.read_page(4).unwrap().iter().all(|&b| b == 0));
        // A damaged trailer is not zeroed (the engine reports -535 earlier).
        tr[100] ^= 1;
        s.file.write_all_at(&tr, 5 * 4096).unwrap();
        assert!(!s.zero_trailer_page().unwrap());
    }
}
