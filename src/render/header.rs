//! Text rendering of the database header in esentutl's layout
//! (`ErrDUMPHeader` / `ErrDUMPHeaderStandard`, `ese/dbdump.cxx` ~116–665).

use std::fmt::Write;

use super::color;
use crate::error::FormatError;
use crate::parse::db_header::{DbHeader, DbHeaderPair, FileType, HeaderCopy, UsedCopy};
use crate::parse::patch::PatchHeader;
use crate::parse::primitives::{BkInfo, Lgpos, LogTime};
use crate::report::header::{ENGINE_DB_VERSION, ENGINE_EFV};

fn lt(t: &LogTime) -> String {
    t.eseutil_text()
}

fn lg(p: &Lgpos) -> String {
    p.eseutil_text()
}

fn bkinfo(s: &mut String, b: &BkInfo, ty: u32) {
    let (lo, hi) = (b.gen_low, b.gen_high);
    let suffix = match ty {
        0 => "",
        1 => " - OSSnapshot",
        2 => " - Snapshot",
        _ => " - UNKNOWN",
    };
    let _ = writeln!(s, "        Log Gen: {lo}-{hi} (0x{lo:x}-0x{hi:x}){suffix}");
    let _ = writeln!(s, "           Mark: {}", lg(&b.mark));
    let _ = writeln!(s, "           Mark: {}", lt(&b.mark_time));
}

/// The `Checksum Information:` block and field dump of one header copy,
/// starting with the `DATABASE HEADER:` (or shadow) title line. `patch` is
/// the pre-rendered `Patch Current Full Backup:` block, when there is one.
pub fn header_copy(title: &str, copy: &HeaderCopy, patch: Option<&str>, color: bool) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\n{title}");
    let _ = writeln!(s, "Checksum Information:");
    let _ = writeln!(s, "Expected Checksum: 0x{:08x}", copy.stored_checksum);
    let _ = writeln!(s, "  Actual Checksum: 0x{:08x}", copy.computed_checksum);
    if let Some(h) = &copy.header {
        s.push_str(&fields(h, color));
        if let Some(p) = patch {
            s.push_str(p);
        }
        s.push_str(&flush_signatures(h));
    }
    s
}

/// The whole text dump of a database header: the copy in use (and the
/// shadow under `verbose`), the trailer page's patch block or why it cannot
/// be used, the header's warnings, and a note when the file size is not a
/// multiple of the page size.
pub fn database_dump(
    pair: &DbHeaderPair,
    patch: Option<&PatchHeader>,
    patch_error: Option<&FormatError>,
    file_len: u64,
    verbose: bool,
    color: bool,
) -> String {
    let patch_text = patch.map(patch_block);
    let mut text = String::new();
    match pair.used {
        UsedCopy::Primary => {
            text.push_str(&header_copy(
                "DATABASE HEADER:",
                &pair.primary,
                patch_text.as_deref(),
                color,
            ));
            if verbose {
                if let Some(s) = &pair.shadow {
                    text.push_str(&header_copy("DATABASE SHADOW HEADER:", s, None, color));
                }
            }
        }
        UsedCopy::Shadow => {
            let s = pair.shadow.as_ref().expect("shadow copy in use");
            text.push_str(&header_copy(
                "DATABASE SHADOW HEADER:",
                s,
                patch_text.as_deref(),
                color,
            ));
        }
    }
    if let Some(e) = patch_error {
        text.push_str(&format!("\nWARNING: backup trailer (patch) page: {e}\n"));
    }
    text.push('\n');
    for w in pair.warnings() {
        text.push_str(&color::bad(&w, color));
        text.push('\n');
    }
    let ps = pair.page_size as u64;
    if file_len % ps != 0 {
        // Not an eseutil line: a truncated or carved copy is worth saying.
        let w = format!(
            "WARNING: file size {file_len} is not a multiple of the page size {ps} ({} bytes after the last whole page).",
            file_len % ps
        );
        text.push_str(&color::bad(&w, color));
        text.push('\n');
    }
    text
}

fn counter(s: &mut String, label: &str, n: u32, date_label: Option<(&str, &LogTime)>) {
    if n != 0 {
        let _ = writeln!(s, "{label}: found ({n})");
        if let Some((dl, t)) = date_label {
            let _ = writeln!(s, "{dl}: {}", lt(t));
        }
    } else {
        let _ = writeln!(s, "{label}: none");
    }
}

/// The `Fields:` block (`ErrDUMPHeaderStandard`).
pub fn fields(h: &DbHeader, color: bool) -> String {
    let mut s = String::new();
    identity_fields(&mut s, h, color);
    log_and_repair_fields(&mut s, h);
    reseed_fields(&mut s, h);
    backup_fields(&mut s, h);
    resize_fields(&mut s, h);
    if h.file_type() == FileType::Database {
        maintenance_fields(&mut s, h);
    }
    s
}

/// From `File Type:` to `State:`: what the file is and its version.
fn identity_fields(w: &mut String, h: &DbHeader, color: bool) {
    let _ = writeln!(w, "\nFields:");
    let _ = writeln!(
        w,
        "        File Type: {}",
        if h.attrib == 0 { "Database" } else { "UNKNOWN" }
    );
    let _ = writeln!(w, "         Checksum: 0x{:x}", h.checksum);
    let _ = writeln!(w, "   Format ulMagic: 0x{:x}", h.magic);
    let _ = writeln!(
        w,
        "   Engine ulMagic: 0x{:x}",
        crate::parse::db_header::MAGIC
    );
    let _ = writeln!(
        w,
        " Format ulVersion: 0x{:x},{},{}  (attached by {})",
        h.version, h.update_major, h.update_minor, h.efv_max_bin_attach
    );
    let (ev, eu, em) = ENGINE_DB_VERSION;
    let _ = writeln!(
        w,
        " Engine ulVersion: 0x{ev:x},{eu},{em}  (efvCurrent = {ENGINE_EFV})"
    );
    let _ = writeln!(
        w,
        "Created ulVersion: 0x{:x},{}",
        h.create_version, h.create_update as i16
    );
    let _ = writeln!(w, "     DB Signature: {}", h.sign_db.eseutil_text());
    let _ = writeln!(w, "         cbDbPage: {}", h.page_size_field);
    let _ = writeln!(
        w,
        "           dbtime: {} (0x{:x})",
        h.dbtime_dirtied, h.dbtime_dirtied
    );
    let _ = writeln!(
        w,
        "            State: {}",
        color::state(h.state_name(), color)
    );
}

/// From `Log Required:` to `OS Version:`: log generations, scrub, repair, attach and detach positions.
fn log_and_repair_fields(w: &mut String, h: &DbHeader) {
    let (lo, hi, pre) = (
        h.gen_min_required as u32,
        h.gen_max_required as u32,
        h.gen_pre_redo_min_required as u32,
    );
    let _ = writeln!(
        w,
        "     Log Required: {lo}-{hi} (0x{lo:x}-0x{hi:x}) [Min. Req. Pre-Redo: {pre} (0x{pre:x})]"
    );
    let _ = writeln!(
        w,
        "Gen. Max. Req. Creation Time: {}",
        lt(&h.logtime_gen_max_required)
    );
    let c = h.gen_max_committed as u32;
    let _ = writeln!(w, "    Log Committed: 0-{c} (0x0-0x{c:x})");
    let _ = writeln!(
        w,
        "Gen. Max. Com. Creation Time: {}",
        lt(&h.logtime_gen_max_create)
    );
    let (mc, pc) = (
        h.gen_min_consistent as u32,
        h.gen_pre_redo_min_consistent as u32,
    );
    let _ = writeln!(
        w,
        "   Log Consistent: {mc} (0x{mc:x}) [Pre-Redo: {pc} (0x{pc:x})]"
    );
    let r = h.gen_recovering as u32;
    let _ = writeln!(w, "   Log Recovering: {r} (0x{r:x})");
    let _ = writeln!(
        w,
        "         Shadowed: {}",
        if h.shadowing_disabled() { "No" } else { "Yes" }
    );
    let _ = writeln!(w, "       Last Objid: {}", h.objid_last);
    let _ = writeln!(
        w,
        "     Scrub Dbtime: {} (0x{:x})",
        h.dbtime_last_scrub, h.dbtime_last_scrub
    );
    let _ = writeln!(w, "       Scrub Date: {}", lt(&h.logtime_scrub));
    let _ = writeln!(w, "     Repair Count: {}", h.repair_count);
    let _ = writeln!(w, "      Repair Date: {}", lt(&h.logtime_repair));
    let _ = writeln!(w, " Old Repair Count: {}", h.repair_count_old);
    let _ = writeln!(
        w,
        "  Last Consistent: {}  {}",
        lg(&h.lgpos_consistent),
        lt(&h.logtime_consistent)
    );
    let _ = writeln!(
        w,
        "      Last Attach: {}  {}",
        lg(&h.lgpos_attach),
        lt(&h.logtime_attach)
    );
    let _ = writeln!(
        w,
        "      Last Detach: {}  {}",
        lg(&h.lgpos_detach),
        lt(&h.logtime_detach)
    );
    let _ = writeln!(
        w,
        "    Last ReAttach: {}  {}",
        lg(&h.lgpos_last_reattach),
        lt(&h.logtime_last_reattach)
    );
    let _ = writeln!(w, "             Dbid: {}", h.dbid as i16);
    let _ = writeln!(w, "    Log Signature: {}", h.sign_log.eseutil_text());
    let _ = writeln!(w, "       OS Version: {}", h.os_version_text());
}

/// The reseed and page-patch counters, printed only when one of them is set.
fn reseed_fields(w: &mut String, h: &DbHeader) {
    if h.incremental_reseed_count != 0
        || h.incremental_reseed_count_old != 0
        || h.page_patch_count != 0
        || h.page_patch_count_old != 0
    {
        let _ = writeln!(w, "     Reseed Count: {}", h.incremental_reseed_count);
        let _ = writeln!(
            w,
            "      Reseed Date: {}",
            lt(&h.logtime_incremental_reseed)
        );
        let _ = writeln!(w, " Old Reseed Count: {}", h.incremental_reseed_count_old);
        let _ = writeln!(w, "      Patch Count: {}", h.page_patch_count);
        let _ = writeln!(w, "       Patch Date: {}", lt(&h.logtime_page_patch));
        let _ = writeln!(w, "  Old Patch Count: {}", h.page_patch_count_old);
    }
}

/// The previous and current backup blocks.
fn backup_fields(w: &mut String, h: &DbHeader) {
    for (title, b, ty) in [
        (
            "Previous Full Backup:",
            &h.bkinfo_full_prev,
            h.bkinfo_type_full_prev,
        ),
        (
            "Previous Incremental Backup:",
            &h.bkinfo_inc_prev,
            h.bkinfo_type_inc_prev,
        ),
        (
            "Previous Copy Backup:",
            &h.bkinfo_copy_prev,
            h.bkinfo_type_copy_prev,
        ),
        (
            "Previous Differential Backup:",
            &h.bkinfo_diff_prev,
            h.bkinfo_type_diff_prev,
        ),
        ("Current Full Backup:", &h.bkinfo_full_cur, 0),
        ("Current Shadow copy backup:", &h.bkinfo_snapshot_cur, 0),
    ] {
        let _ = writeln!(w, "\n{title}");
        bkinfo(w, b, ty);
    }
}

/// The upgrade page counts, last resize, extend, shrink and trim.
fn resize_fields(w: &mut String, h: &DbHeader) {
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "     cpgUpgrade55Format: {}",
        h.cpg_upgrade_55_format as i32
    );
    let _ = writeln!(
        w,
        "    cpgUpgradeFreePages: {}",
        h.cpg_upgrade_free_pages as i32
    );
    let _ = writeln!(
        w,
        "cpgUpgradeSpaceMapPages: {}",
        h.cpg_upgrade_space_map_pages as i32
    );
    let _ = writeln!(w);
    let note = if h.lgpos_last_resize == h.lgpos_attach {
        "(Matches \"Last Attach\", no subsequent resize)"
    } else if h.lgpos_last_resize == h.lgpos_consistent {
        "(Matches \"Last Consistent\", no subsequent resize)"
    } else {
        ""
    };
    let _ = writeln!(w, "      Last Resize: {}  {note}", lg(&h.lgpos_last_resize));
    let _ = writeln!(w);
    let _ = writeln!(w, "     Extend Count: {}", h.extend_count);
    let _ = writeln!(w, "      Extend Date: {}", lt(&h.logtime_last_extend));
    let _ = writeln!(w);
    let _ = writeln!(w, "     Shrink Count: {}", h.shrink_count);
    let _ = writeln!(w, "      Shrink Date: {}", lt(&h.logtime_last_shrink));
    let _ = writeln!(w);
    let _ = writeln!(w, "       Trim Count: {}", h.trim_count);
}

/// The ECC and checksum counters and database maintenance (database files
/// only).
fn maintenance_fields(w: &mut String, h: &DbHeader) {
    let _ = writeln!(w);
    counter(
        w,
        "       ECC Fix Success Count",
        h.ecc_fix_success,
        Some(("   Last ECC Fix Success Date", &h.logtime_ecc_fix_success)),
    );
    counter(
        w,
        "   Old ECC Fix Success Count",
        h.ecc_fix_success_old,
        None,
    );
    counter(
        w,
        "         ECC Fix Error Count",
        h.ecc_fix_fail,
        Some(("     Last ECC Fix Error Date", &h.logtime_ecc_fix_fail)),
    );
    counter(w, "     Old ECC Fix Error Count", h.ecc_fix_fail_old, None);
    counter(
        w,
        "    Bad Checksum Error Count",
        h.bad_checksum,
        Some(("Last Bad Checksum Error Date", &h.logtime_bad_checksum)),
    );
    counter(w, "Old bad Checksum Error Count", h.bad_checksum_old, None);
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "  Last Database Maintenance Finish Date: {}",
        lt(&h.logtime_dbscan_prev)
    );
    let _ = writeln!(
        w,
        "Current Database Maintenance Start Date: {}",
        lt(&h.logtime_dbscan_start)
    );
    let _ = writeln!(
        w,
        "      Highest Continuous Database Maintenance Page: {}",
        h.pgno_dbscan_highest_continuous
    );
    let _ = writeln!(
        w,
        "      Highest Database Maintenance Page: {}",
        h.pgno_dbscan_highest
    );
}

/// The tail after the field dump: flush signatures and the revert block.
pub fn flush_signatures(h: &DbHeader) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w);
    let _ = writeln!(
        w,
        "  Database Header Flush Signature: {}",
        h.sign_db_hdr_flush.eseutil_text()
    );
    let _ = writeln!(
        w,
        " Flush Map Header Flush Signature: {}",
        h.sign_flush_map_hdr_flush.eseutil_text()
    );
    let _ = writeln!(
        w,
        "       RBS Header Flush Signature: {}",
        h.sign_rbs_hdr_flush.eseutil_text()
    );
    if h.revert_count > 0 || h.revert_page_count > 0 {
        let _ = writeln!(w);
        let _ = writeln!(w, "     Revert Count: {}", h.revert_count);
        let _ = writeln!(w, " Revert From Date: {}", lt(&h.logtime_revert_from));
        let _ = writeln!(w, "   Revert To Date: {}", lt(&h.logtime_revert_to));
        let _ = writeln!(w, "Revert Page Count: {}", h.revert_page_count);
        let _ = writeln!(
            w,
            "Last Commit Before Revert: {}  ",
            lg(&h.lgpos_commit_before_revert)
        );
    }
    s
}

/// The `Patch Current Full Backup:` block (`ese/dbdump.cxx` ~374–413), printed
/// when the header says a streaming backup is in the file's trailer page.
/// eseutil omits the newline after the first creation time (so "Log
/// Committed" continues that line); we keep each value on its own line.
pub fn patch_block(p: &crate::parse::patch::PatchHeader) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(w, "\nPatch Current Full Backup:");
    bkinfo(w, &p.bkinfo, 0);
    if p.has_log_fields() {
        let (lo, hi) = (p.gen_min_required, p.gen_max_required);
        let _ = writeln!(w, "   Log Required: {lo}-{hi} (0x{lo:x}-0x{hi:x})");
        let _ = writeln!(
            w,
            "   Gen. Max. Req. Creation Time: {}",
            lt(&p.logtime_gen_max_required)
        );
        let c = p.gen_max_committed;
        let _ = writeln!(w, "  Log Committed: {c} (0x{c:x})");
        let _ = writeln!(
            w,
            "  Gen. Max. Com. Creation Time: {}",
            lt(&p.logtime_gen_max_committed)
        );
    }
    s
}

/// The dump of a `.pat` patch file: the checksum facts of the page and the
/// backup it describes, in the layout of the database header dump (there is
/// no eseutil dump of a patch file to follow).
pub fn patch_file(f: &crate::parse::patch::PatchFile, warnings: &[String], color: bool) -> String {
    let mut s = String::new();
    let p = f.header();
    let title = match f.used {
        crate::parse::db_header::UsedCopy::Primary => "PATCH FILE HEADER:",
        crate::parse::db_header::UsedCopy::Shadow => "PATCH FILE SHADOW HEADER:",
    };
    let copy = match (&f.used, &f.shadow) {
        (crate::parse::db_header::UsedCopy::Shadow, Some(c)) => c,
        _ => &f.primary,
    };
    let w = &mut s;
    let _ = writeln!(w, "\n{title}");
    let _ = writeln!(w, "Checksum Information:");
    let _ = writeln!(w, "Expected Checksum: 0x{:08x}", copy.stored_checksum);
    let _ = writeln!(w, "  Actual Checksum: 0x{:08x}", copy.computed_checksum);
    let _ = writeln!(w, "\nFields:");
    let _ = writeln!(w, "        File Type: Patch (backup patch page, PATCHHDR)");
    let _ = writeln!(w, "        Page Size: {}", f.page_size);
    let shadow = match (&f.shadow, f.identical) {
        (None, _) => "absent",
        (Some(_), true) => "identical",
        (Some(_), false) => "differs",
    };
    let _ = writeln!(w, "      Shadow Copy: {shadow}");
    let _ = writeln!(w, "     DB Signature: {}", p.sign_db.eseutil_text());
    let _ = writeln!(w, "    Log Signature: {}", p.sign_log.eseutil_text());
    s.push_str(&patch_block(p));
    s.push('\n');
    for x in warnings {
        s.push_str(&color::bad(x, color));
        s.push('\n');
    }
    s
}
