//! eseutil-style text rendering of reports. Rendering never parses: every
//! function here takes decoded values and returns text.

pub mod checkpoint;
pub mod checksum_scan;
pub mod color;
pub mod compare;
pub mod db;
pub mod dump;
pub mod export;
pub mod flush_map;
pub mod header;
pub mod log_dump;
pub mod plan;
pub mod recovery;
pub mod restore_env;
pub mod timeline;

use std::fmt::Write;

use crate::parse::attach_info::AttachInfo;

/// The detail lines of one attached database, as `/mk` and `/ml` print them
/// (`DUMPIAttachInfo`, `ese/_log/logdump.cxx` ~10–54): the two modes differ
/// only in the indentation (`/mk`: 8 spaces, `/ml`: two tabs and a space).
pub fn attach_details(s: &mut String, a: &AttachInfo, indent: &str) {
    let _ = writeln!(
        s,
        "{indent}dbtime: {} ({}-{})",
        a.dbtime,
        a.dbtime >> 32,
        a.dbtime & 0xFFFF_FFFF
    );
    let _ = writeln!(s, "{indent}objidLast: {}", a.objid_last);
    let _ = writeln!(s, "{indent}Signature: {}", a.sign_db.eseutil_text());
    let _ = writeln!(s, "{indent}MaxDbSize: {} pages", a.cpg_database_size_max);
    let _ = writeln!(s, "{indent}Last Attach: {}", a.lgpos_attach.eseutil_text());
    let _ = writeln!(
        s,
        "{indent}Last Consistent: {}",
        a.lgpos_consistent.eseutil_text()
    );
}
