//! Text rendering of a flush map in esentutl's layout (`/mp`;
//! `DumpFmHdr_` / `DumpFmDataPage_`, `ese/flushmap.cxx` ~3557–3938).

use std::fmt::Write;

use crate::parse::flush_map::{FlushMapDataPage, VerifiedFlushMapHeader, DB_PAGES_PER_FM_PAGE};

fn field(s: &mut String, label: &str, value: &str) {
    let _ = writeln!(s, "{label:>36}: {value}");
}

/// C's `%#x`: `0` for zero, else `0x…`.
fn alt_hex(v: i32) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{:#x}", v as u32)
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

/// The header dump.
pub fn header(v: &VerifiedFlushMapHeader) -> String {
    let h = &v.header;
    let mut s = String::new();
    let _ = writeln!(s, "\nChecksum Information:");
    field(
        &mut s,
        "Persisted Checksum",
        &format!("0x{:016x}", v.stored_checksum),
    );
    field(
        &mut s,
        "Calculated Checksum",
        &format!("0x{:016x}", v.computed_checksum),
    );
    let _ = writeln!(s, "\nFields:");
    field(&mut s, "Version", &h.version_text());
    field(
        &mut s,
        "Flags",
        &format!(
            "0x{:08x} (Clean:{}, NewChecksumFormat:{})",
            h.flags,
            yes_no(h.clean()),
            yes_no(h.flags & 0x2000 != 0)
        ),
    );
    field(&mut s, "File Type", &h.file_type.to_string());
    field(
        &mut s,
        "Flush Map Creation",
        &h.logtime_create.eseutil_text(),
    );
    field(
        &mut s,
        "Last Flush Map Attach",
        &h.logtime_attach.eseutil_text(),
    );
    field(
        &mut s,
        "Last Flush Map Detach",
        &h.logtime_detach.eseutil_text(),
    );
    field(
        &mut s,
        "Log Required Min.",
        &format!("{} ({})", h.gen_min_required, alt_hex(h.gen_min_required)),
    );
    field(
        &mut s,
        "Log Required Min. (Next)",
        &format!(
            "{} ({})",
            h.gen_min_required_target,
            alt_hex(h.gen_min_required_target)
        ),
    );
    field(
        &mut s,
        "Last Flush Map Full Flush Started",
        &h.logtime_flush_last_started.eseutil_text(),
    );
    field(
        &mut s,
        "Last Flush Map Full Flush Completed",
        &h.logtime_flush_last_completed.eseutil_text(),
    );
    field(
        &mut s,
        "DB Header Flush Signature",
        &h.sign_db_hdr_flush.eseutil_text(),
    );
    field(
        &mut s,
        "Flush Map Header Flush Signature",
        &h.sign_flush_map_hdr_flush.eseutil_text(),
    );
    s
}

/// A data page dump; `states` adds the flush-state table (eseutil `/v`).
pub fn data_page(d: &FlushMapDataPage, computed: u64, states: Option<&[u8]>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\nChecksum Information:");
    field(
        &mut s,
        "Persisted Checksum",
        &format!("0x{:016x}", d.checksum),
    );
    field(&mut s, "Calculated Checksum", &format!("0x{computed:016x}"));
    let _ = writeln!(s, "\nFields:");
    field(
        &mut s,
        "DB Time Max.",
        &format!("{} (0x{:016x})", d.dbtime_max, d.dbtime_max),
    );
    field(
        &mut s,
        "Flush Map Page Number",
        &format!("{} (0x{:08x})", d.fmpgno, d.fmpgno as u32),
    );
    field(
        &mut s,
        "Flags",
        &format!(
            "0x{:08x} (NewChecksumFormat:{})",
            d.flags,
            yes_no(d.flags & 0x2000 != 0)
        ),
    );
    if let Some(states) = states {
        let _ = write!(
            s,
            "\nFlush States ({DB_PAGES_PER_FM_PAGE} database pages):\nPGNO      : FLUSH STATE"
        );
        // u64: a hostile fmpgno times 32 512 overflows u32 (found by fuzzing).
        let first = d.fmpgno.max(0) as u64 * DB_PAGES_PER_FM_PAGE as u64;
        for (slot, state) in states.iter().enumerate() {
            if slot % 32 == 0 {
                let _ = write!(s, "\n0x{:08x}: ", first + slot as u64);
            }
            let _ = write!(s, "{state} ");
        }
        s.push_str("\n\n");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (fuzz target flush_map): a huge flush-map page number made
    /// the first database page number overflow.
    #[test]
    fn huge_fmpgno_does_not_overflow() {
        let d = FlushMapDataPage {
            checksum: 0,
            dbtime_max: 0,
            fmpgno: i32::MAX,
            flags: 0,
        };
        let page = vec![0u8; 8192];
        let text = data_page(&d, 0, Some(&crate::parse::flush_map::flush_states(&page)));
        assert!(text.contains(&format!("0x{:08x}: ", i32::MAX as u64 * 32512)));
    }
}
