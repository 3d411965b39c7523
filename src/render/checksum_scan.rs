//! Text rendering of `/k` in eseutil's layout (`eseutil.cxx` ~6181–6325,
//! `_esefile/checksum.cxx` `PrintChecksumStats` and `ProcessESEPages`;
//! `docs/format/checksums.md` §8, `eseutil-output.md` §4).

use std::fmt::Write;

use crate::checksum_scan::{DbScan, FixReport, PageResult, Verdict};
use crate::report::checksum_scan::{CkptReport, LogIntegrity, LogVerdict};

/// First line of the mode.
pub const BANNER: &str = "Initiating CHECKSUM mode...\n";

/// The lines eseutil prints before checksumming a database; the `File:`
/// line shows the first 64 characters of the name.
pub fn db_intro(path: &str) -> String {
    let short: String = path.chars().take(64).collect();
    format!("        Database: {path}\n  Temp. Database: <none>\n\n\nFile: {short}\n\n")
}

/// eseutil's per-page message (stderr).
pub fn page_message(r: &PageResult) -> String {
    match r.verdict {
        Verdict::Correctable { page_bit, .. } => format!(
            "WARNING: page {}{} checksum verification failed but the corruption ( bit {} ) can be corrected",
            r.page,
            r.suffix(),
            page_bit
        ),
        _ => format!("ERROR: page {}{} checksum failed", r.page, r.suffix()),
    }
}

/// Our finer detail for a damaged page (stderr, after the eseutil line).
pub fn page_detail(r: &PageResult) -> String {
    let what = match &r.verdict {
        Verdict::Correctable {
            block,
            page_bit,
            byte_offset,
            bit,
            stored,
            computed,
        } => format!(
            "one flipped bit: byte 0x{byte_offset:x} of the file, bit {bit} (page bit {page_bit}, block {block}); stored 0x{stored:016x}, computed 0x{computed:016x}"
        ),
        Verdict::Bad {
            block,
            note,
            stored,
            computed,
        } => format!(
            "uncorrectable checksum mismatch in block {block}: stored 0x{stored:x}, computed 0x{computed:x}{}",
            note.map(|n| format!("; {n}")).unwrap_or_default()
        ),
        Verdict::WrongPageNumber { actual_pgno } => format!(
            "wrong page number: the content is intact and belongs to page {actual_pgno}"
        ),
        Verdict::NotEsePage { reason } => format!("not an ESE page ({reason})"),
        Verdict::Ok | Verdict::Uninitialized => "ok".to_string(),
    };
    format!(
        "        page {} (file offset 0x{:x}): {what}",
        r.page, r.file_offset
    )
}

/// The statistics block (`PrintChecksumStats`). The "bad checksums" line
/// counts every failed page as eseutil does; "wrong page numbers" shows our
/// real count of misplaced pages, a subset of the bad checksums (eseutil
/// never increments that counter and always prints 0).
pub fn db_summary(s: &DbScan) -> String {
    let c = &s.counts;
    let mut t = String::from("\n\n");
    let _ = writeln!(t, "{} pages seen", c.pages_seen);
    let _ = writeln!(t, "{} bad checksums", c.eseutil_bad());
    let _ = writeln!(t, "{} correctable checksums", c.correctable);
    let _ = writeln!(t, "{} uninitialized pages", c.uninitialized);
    let _ = writeln!(t, "{} wrong page numbers", c.wrong_page_numbers);
    if c.trailer > 0 {
        // Not an eseutil line: the backup trailer is neither data nor damage.
        let _ = writeln!(t, "{} backup trailer (patch) page", c.trailer);
    }
    let _ = writeln!(
        t,
        "0x{:x} highest dbtime (pgno 0x{:x})",
        c.highest_dbtime, c.highest_dbtime_pgno
    );
    t.push('\n');
    let io = &s.io;
    let mb = c.pages_seen / ((1 << 20) / s.page_size as u64).max(1);
    // The measured time, not rounded up to a whole second (0.02 s is not
    // "1 seconds taken"); the rate from the exact byte count.
    let bytes = c.pages_seen as f64 * s.page_size as f64;
    let _ = writeln!(t, "{} reads performed", io.reads);
    let _ = writeln!(t, "{mb} MB read");
    let _ = writeln!(t, "{:.3} seconds taken", io.seconds);
    let rate = bytes / (1u64 << 20) as f64 / io.seconds.max(1e-6);
    let _ = writeln!(t, "{rate:.0} MB/second");
    let _ = writeln!(t, "{} milliseconds used", io.read_ms_total);
    let per = io.read_ms_total.checked_div(io.reads).unwrap_or(0);
    let _ = writeln!(t, "{per} milliseconds per read");
    let _ = writeln!(t, "{} milliseconds for the slowest read", io.read_ms_max);
    let _ = writeln!(t, "{} milliseconds for the fastest read", io.read_ms_min);
    t.push('\n');
    t
}

/// What `--fix-ecc` changed.
pub fn fix_summary(f: &FixReport) -> String {
    let mut t = String::new();
    if f.in_place {
        let _ = writeln!(t, "Corrected in place: {}", f.output.display());
    } else {
        let _ = writeln!(t, "Corrected copy: {}", f.output.display());
    }
    for x in &f.fixes {
        let _ = writeln!(
            t,
            "  page {}: byte 0x{:x}, bit {}: 0x{:02x} -> 0x{:02x}",
            x.page, x.file_offset, x.bit, x.before, x.after
        );
    }
    let _ = writeln!(t, "{} bits corrected", f.fixes.len());
    for p in &f.failed_pages {
        let _ = writeln!(
            t,
            "ERROR: page {p} did not verify after correction (left unchanged)"
        );
    }
    if f.uncorrectable_pages > 0 {
        let _ = writeln!(
            t,
            "{} damaged pages cannot be corrected and were left as they are",
            f.uncorrectable_pages
        );
    }
    t.push('\n');
    t
}

/// A checkpoint's two copies.
pub fn checkpoint(path: &str, r: &CkptReport) -> String {
    copies(format!(" Checkpoint File: {path}\n\n"), r)
}

/// A patch file's verification: its two copies of the patch page.
pub fn patch_file(path: &str, r: &CkptReport) -> String {
    copies(format!("      Patch File: {path}\n\n"), r)
}

fn copies(mut t: String, r: &CkptReport) -> String {
    for (name, c) in [("Primary", &r.primary), ("Shadow", &r.shadow)] {
        match c {
            Some(c) => {
                let _ = writeln!(
                    t,
                    "{name} copy (offset {}): checksum {} (computed {}): {}",
                    c.offset,
                    c.stored_checksum,
                    c.computed_checksum,
                    if c.ok { "OK" } else { "FAILED" }
                );
            }
            None => {
                let _ = writeln!(t, "{name} copy: missing (file too short)");
            }
        }
    }
    let _ = writeln!(
        t,
        "Copies identical: {}\n",
        if r.copies_identical { "yes" } else { "no" }
    );
    t
}

/// A log file's verification.
pub fn log(path: &str, r: &LogIntegrity) -> String {
    let mut t = format!("      Log File: {path}\n\n");
    let _ = writeln!(
        t,
        "Log header checksum: 0x{:08x} (computed 0x{:08x}): {}",
        r.header_stored,
        r.header_computed,
        if r.header_ok { "OK" } else { "FAILED" }
    );
    let _ = writeln!(t, "Generation: 0x{:X}, format {}", r.generation, r.version);
    if !r.data_scanned {
        // the header failed: nothing after it was read
    } else if r.legacy_format {
        let _ = writeln!(t, "{} LRCHECKSUM records verified", r.lrck_records);
        let _ = writeln!(
            t,
            "End of data: {}",
            r.end_of_data.as_deref().unwrap_or("(unknown)")
        );
    } else {
        let _ = writeln!(
            t,
            "{} segments scanned: {} good, {} empty, {} corrected",
            r.segments_scanned, r.good_segments, r.empty_segments, r.corrected_segments
        );
        let _ = writeln!(
            t,
            "Last good segment: {}",
            r.last_good.as_deref().unwrap_or("(none)")
        );
        let _ = writeln!(
            t,
            "Accumulated segment checksum: {}",
            r.accumulated_checksum
        );
    }
    if let Some(d) = &r.first_damage {
        let _ = writeln!(t, "First damaged position: {d}");
    }
    if let Some(e) = &r.error {
        let _ = writeln!(t, "Error: {} {}: {}", e.jet_code, e.jet_name, e.detail);
    }
    for torn in &r.torn_records {
        let _ = writeln!(t, "Note: {}", torn.text());
    }
    let verdict = match r.verdict {
        LogVerdict::Clean => "OK",
        LogVerdict::Patchable => "torn write (patchable by recovery)",
        LogVerdict::Corrupt => "CORRUPT",
    };
    let _ = writeln!(t, "Result: {verdict}\n");
    t
}

/// stderr messages for a log's reported segments, then for an error that
/// no segment explains (header, file size).
pub fn log_messages(r: &LogIntegrity) -> Vec<String> {
    let mut v: Vec<String> = r
        .segments
        .iter()
        .map(|s| match s.corrected_bit {
            Some(bit) => format!(
                "WARNING: log position {} checksum verification failed but the corruption ( bit {bit} ) can be corrected",
                s.lgpos
            ),
            None => format!("ERROR: log position {} {}", s.lgpos, s.detail),
        })
        .collect();
    let explained = r.segments.iter().any(|s| s.corrected_bit.is_none());
    if let (Some(e), false) = (&r.error, explained) {
        v.push(format!(
            "ERROR: offset 0x{:x}: {} ({} {})",
            e.offset, e.detail, e.jet_code, e.jet_name
        ));
    }
    v
}
