//! Transaction logs: file naming, integrity scans of both formats (8.x
//! segments, 7.x LRCHECKSUM chains) and the record stream.
//!
//! Facts come from the MIT ESE source as restated in
//! `docs/format/logs.md` and `log-records.md`; each module cites the source files.

pub mod backup_set;
pub mod diff;
#[cfg(test)]
pub(crate) mod fixture7;
pub mod lrck;
pub mod naming;
pub mod record;
pub mod record_bytes;
pub mod scan;
pub mod segments;
pub mod set;
#[cfg(any(test, feature = "test-support"))]
pub mod synth;
pub mod time_lgpos;
pub mod typed;
