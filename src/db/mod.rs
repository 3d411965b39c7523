//! Read-only access to a database file: header pair, page size, page reads,
//! and on top of them the page view ([`page`]), B-tree traversal
//! ([`btree`]), space trees ([`space`]), the catalog ([`catalog`]), record
//! decoding ([`record`]), the structural check ([`check`]) and the one
//! page classification every mode uses ([`classify`]).
//!
//! Page *n* (≥ 1) lives at file offset `(n + 1) · cbPage` (docs/format/pages.md
//! §1). The file is opened read-only and read with positioned reads; no
//! mode in this module can write.

pub mod btree;
pub mod catalog;
pub mod check;
pub mod classify;
pub mod compare;
pub mod compression;
pub mod dump;
pub mod export;
pub mod page;
pub mod record;
pub mod record_values;
pub mod slack;
pub mod space;
pub mod spacecat;
pub mod xpress9;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, FormatError, Jet, Result};
use crate::file::Input;
use crate::parse::db_header::{read_header_pair, DbHeader, DbHeaderPair};

/// An open database (read-only).
#[derive(Debug)]
pub struct Database {
    /// The file.
    pub input: Input,
    /// Both header copies.
    pub pair: DbHeaderPair,
    /// Page size in bytes.
    pub page_size: usize,
    /// Number of data pages in the file (file length / page size − 2).
    pub page_count: u32,
    /// Page bytes read so far: a caller may watch it from another thread to
    /// show progress (the db layer never prints).
    pub bytes_read: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Database {
    /// Opens `path` read-only and reads its header pair. `page_size`, when
    /// given, overrides detection.
    pub fn open(path: &Path, page_size: Option<usize>) -> Result<Database> {
        let mut input = Input::open(path)?;
        let mut probe = input.probe()?;
        if let Some(ps) = page_size {
            probe.truncate(2 * ps);
        }
        let pair = read_header_pair(&probe).map_err(|e| {
            if e.detail.starts_with("not an ESE file") {
                Error::not_ese(path, e)
            } else {
                Error::corrupt(path, e)
            }
        })?;
        let ps = pair.page_size;
        let pages = (input.len / ps as u64).saturating_sub(2);
        let page_count = u32::try_from(pages).unwrap_or(u32::MAX);
        Ok(Database {
            input,
            pair,
            page_size: ps,
            page_count,
            bytes_read: Default::default(),
        })
    }

    /// The authoritative header.
    pub fn header(&self) -> &DbHeader {
        self.pair.header()
    }

    /// The file's path.
    pub fn path(&self) -> &PathBuf {
        &self.input.path
    }

    /// File offset of page `pgno`.
    pub fn page_offset(&self, pgno: u32) -> u64 {
        (pgno as u64 + 1) * self.page_size as u64
    }

    /// Classifies the bytes of page `pgno` with the shared classification
    /// ([`classify::classify`]): the last page of the file may be a backup
    /// trailer.
    pub fn classify(&self, pgno: u32, bytes: &[u8]) -> classify::PageClass {
        classify::classify(
            bytes,
            pgno as u64 + classify::HEADER_PAGES,
            self.page_count as u64 + classify::HEADER_PAGES,
            classify::expect_ecc_for(self.page_size),
        )
    }

    /// Reads the raw bytes of page `pgno` (1-based). A page number outside
    /// the file is a -1206 format error.
    pub fn read_page(&self, pgno: u32) -> Result<Vec<u8>> {
        if pgno == 0 || pgno > self.page_count {
            return Err(Error::corrupt(
                &self.input.path,
                FormatError::new(
                    self.input.len,
                    Jet::DATABASE_CORRUPTED,
                    format!(
                        "page {pgno} is outside the file ({} pages)",
                        self.page_count
                    ),
                ),
            ));
        }
        let mut buf = vec![0u8; self.page_size];
        self.input
            .file
            .read_exact_at(&mut buf, self.page_offset(pgno))
            .map_err(|e| Error::io(&self.input.path, e))?;
        self.bytes_read
            .fetch_add(buf.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(buf)
    }
}
