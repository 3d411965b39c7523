//! eseutil-rs: a Linux-native, ESEUTIL-compatible forensic and recovery suite
//! for Microsoft ESE ("JET Blue") databases, transaction logs, checkpoints,
//! flush maps and patch files.
//!
//! Layout:
//! * [`parse`]: pure nom parsers, one module per on-disk structure (no I/O);
//! * [`checksum`]: the legacy XOR and XOR+ECC checksums with bit location;
//! * [`mod@file`]: read-only file access and file-kind identification;
//! * [`lgpos`] and [`error`]: the base types (log position; the one error
//!   type with JET codes);
//! * [`checksum_scan`]: the whole-file page checksum scan of `/k` and
//!   `--fix-ecc`;
//! * [`log`]: transaction logs — naming, integrity scans (shared by `/ml`
//!   and `/k`), the record stream and the typed records;
//! * [`db`]: database pages, B-trees, catalog, records, checks, dumps,
//!   export;
//! * [`recovery`] and [`plan`]: soft and hard recovery; the recovery plan;
//! * [`report`]: serde view models (the documented JSON schema);
//! * [`render`]: eseutil-style text rendering (never parses);
//! * [`cli`]: the command line (eseutil `/mh` syntax and GNU subcommands).
//!
//! The format authority is Microsoft's MIT-licensed ESE source (repository
//! microsoft/Extensible-Storage-Engine); each parser cites the files and lines
//! its facts come from.

#![forbid(unsafe_code)]
#![deny(unused_must_use)]
#![warn(missing_docs)]

pub mod checksum;
pub mod checksum_scan;
pub mod cli;
pub mod db;
pub mod error;
pub mod file;
pub mod lgpos;
pub mod log;
pub mod parse;
pub mod plan;
pub mod recovery;
pub mod render;
pub mod report;
#[cfg(any(test, feature = "test-support"))]
pub mod synth;

pub use error::{Error, ErrorKind, FormatError, Jet, Result};
