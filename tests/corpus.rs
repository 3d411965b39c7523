//! Every file of the real corpus, checked field by field against the
//! independent checker's facts (`../shared/corpus/facts.jsonl`).
//!
//! Databases go through `eseutil-rs mh --json`, checkpoints through
//! `eseutil-rs mk --json`; logs, flush maps and blank files through the
//! library's parsers and file identification. A disagreement fails the test
//! with the file and field named.

mod common;

use serde_json::Value;

use common::{corpus, facts};

/// Collects mismatches instead of stopping at the first.
struct Cmp<'a> {
    file: &'a str,
    errors: Vec<String>,
    checked: usize,
}

impl Cmp<'_> {
    fn eq<A: PartialEq + std::fmt::Debug, B: Into<A>>(&mut self, field: &str, ours: A, theirs: B) {
        self.checked += 1;
        let theirs = theirs.into();
        if ours != theirs {
            self.errors.push(format!(
                "{}: {field}: ours {ours:?} != facts {theirs:?}",
                self.file
            ));
        }
    }
}

fn s(v: &Value) -> String {
    v.as_str()
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string())
}

/// The facts write every time with a trailing `Z`; the file says whether it
/// is UTC. Compare the clock reading only (our JSON keeps the UTC flag).
/// The facts mark LOGTIME byte 7 bit 0 (`fReserved`) with a suffix; we
/// expose it as `reserved_bit`.
fn time_eq(c: &mut Cmp, field: &str, ours: &Value, theirs: &Value) {
    let o = ours["iso8601"]
        .as_str()
        .map(|t| t.trim_end_matches('Z').to_string());
    let reserved = theirs.as_str().is_some_and(|t| t.ends_with(" [fReserved]"));
    let t = theirs.as_str().map(|t| {
        t.trim_end_matches(" [fReserved]")
            .trim_end_matches('Z')
            .to_string()
    });
    c.eq(field, o, t);
    if theirs.is_string() {
        c.eq(
            &format!("{field}.reserved_bit"),
            ours["reserved_bit"].as_bool(),
            Some(reserved),
        );
    }
}

/// The facts write an all-zero signature as `null`.
fn sig_eq(c: &mut Cmp, field: &str, ours: &Value, theirs: &Value) {
    if theirs.is_null() {
        c.eq(
            &format!("{field} (all zero)"),
            (
                ours["random"].as_u64(),
                ours["create_time"]["iso8601"].is_null(),
                s(&ours["computer"]),
            ),
            (Some(0u64), true, String::new()),
        );
        return;
    }
    c.eq(
        &format!("{field}.random"),
        ours["random"].as_u64(),
        theirs["random"].as_u64(),
    );
    c.eq(
        &format!("{field}.computer"),
        s(&ours["computer"]),
        s(&theirs["computer"]),
    );
    time_eq(
        c,
        &format!("{field}.create_time"),
        &ours["create_time"],
        &theirs["create_time"],
    );
}

/// A BKINFO of `/mh --json` against its facts: generations and mark.
fn bkinfo_eq(c: &mut Cmp, field: &str, ours: &Value, theirs: &Value) {
    for g in ["gen_low", "gen_high"] {
        c.eq(
            &format!("{field}.{g}"),
            ours[g].as_u64(),
            theirs[g].as_u64(),
        );
    }
    c.eq(
        &format!("{field}.lgpos_mark"),
        s(&ours["mark"]["eseutil"]),
        s(&theirs["lgpos_mark"]),
    );
}

/// The header checksum of `/mh --json` (`primary`) against the facts'
/// `hc`: stored, computed (when the facts give it) and ok.
fn header_checksum_eq(c: &mut Cmp, hc: &Value, primary: &Value, computed: bool) {
    c.eq(
        "header_checksum.stored",
        s(&primary["stored_checksum"]),
        format!("0x{}", s(&hc["stored"])),
    );
    if computed {
        c.eq(
            "header_checksum.computed",
            s(&primary["computed_checksum"]),
            format!("0x{}", s(&hc["computed"])),
        );
    }
    c.eq(
        "header_checksum.ok",
        primary["checksum_ok"].as_bool(),
        hc["ok"].as_bool(),
    );
}

fn check_database(c: &mut Cmp, f: &Value, j: &Value) {
    let h = &j["header"];
    c.eq("dbstate", h["db_state"].as_u64(), f["dbstate"].as_u64());
    c.eq(
        "dbtime_dirtied",
        h["dbtime_dirtied"].as_u64(),
        f["dbtime_dirtied"].as_u64(),
    );
    c.eq(
        "dbtime_last_scrub",
        h["dbtime_last_scrub"].as_u64(),
        f["dbtime_last_scrub"].as_u64(),
    );
    c.eq("attrib", h["attrib"].as_u64(), f["attrib"].as_u64());
    c.eq("db_flags", h["db_flags"].as_u64(), f["db_flags"].as_u64());
    c.eq("dbid", h["dbid"].as_u64(), f["dbid"].as_u64());
    c.eq(
        "objid_last",
        h["objid_last"].as_u64(),
        f["objid_last"].as_u64(),
    );
    c.eq(
        "repair_count",
        h["repair_count"].as_u64(),
        f["repair_count"].as_u64(),
    );
    c.eq(
        "filetype_field",
        h["file_type"].as_u64(),
        f["filetype_field"].as_u64(),
    );
    let fm = &f["format"];
    c.eq(
        "format.ulVersion",
        format!("0x{:x}", h["version"].as_u64().unwrap()),
        s(&fm["ulVersion"]),
    );
    c.eq(
        "format.magic",
        format!("{:x}", h["magic"].as_u64().unwrap()),
        s(&fm["magic"]),
    );
    c.eq(
        "format.ulDaeUpdateMajor",
        h["update_major"].as_u64(),
        fm["ulDaeUpdateMajor"].as_u64(),
    );
    c.eq(
        "format.ulDaeUpdateMinor",
        h["update_minor"].as_u64(),
        fm["ulDaeUpdateMinor"].as_u64(),
    );
    c.eq(
        "format.efv_max_bin_attach",
        h["efv_max_bin_attach"].as_u64(),
        fm["efv_max_bin_attach"].as_u64(),
    );
    c.eq(
        "format.text",
        s(&j["decoded"]["format_version"]),
        s(&fm["text"]),
    );
    c.eq(
        "format.created",
        s(&j["decoded"]["created_version"]),
        s(&fm["created"]),
    );
    for g in [
        "gen_min_required",
        "gen_max_required",
        "gen_max_committed",
        "gen_min_consistent",
        "gen_recovering",
        "gen_pre_redo_min_consistent",
        "gen_pre_redo_min_required",
    ] {
        c.eq(g, h[g].as_i64(), f[g].as_i64());
    }
    header_checksum_eq(c, &f["header_checksum"], &j["primary"], true);
    c.eq(
        "shadow_header.checksum_ok",
        j["shadow"]["checksum_ok"].as_bool(),
        f["shadow_header"]["checksum_ok"].as_bool(),
    );
    c.eq(
        "shadow_header.identical",
        j["copies_identical"].as_bool(),
        f["shadow_header"]["identical"].as_bool(),
    );
    for (ours, theirs) in [
        ("lgpos_attach", "lgpos_attach"),
        ("lgpos_consistent", "lgpos_consistent"),
        ("lgpos_detach", "lgpos_detach"),
        ("lgpos_last_reattach", "lgpos_last_reattach"),
        ("lgpos_last_resize", "lgpos_last_resize"),
    ] {
        c.eq(theirs, s(&h[ours]["eseutil"]), s(&f[theirs]));
    }
    for (ours, theirs) in [
        ("logtime_attach", "logtime_attach"),
        ("logtime_consistent", "logtime_consistent"),
        ("logtime_detach", "logtime_detach"),
        ("logtime_dbscan_prev", "logtime_dbscan_prev"),
        ("logtime_dbscan_start", "logtime_dbscan_start"),
        ("logtime_gen_max_create", "logtime_gen_max_create"),
        ("logtime_gen_max_required", "logtime_gen_max_required"),
        ("logtime_last_reattach", "logtime_last_reattach"),
        ("logtime_repair", "logtime_repair"),
        ("logtime_scrub", "logtime_scrub"),
    ] {
        time_eq(c, theirs, &h[ours], &f[theirs]);
    }
    for (ours, theirs) in [
        ("sign_db", "sign_db"),
        ("sign_log", "sign_log"),
        ("sign_db_hdr_flush", "sign_db_hdr_flush"),
        ("sign_flush_map_hdr_flush", "sign_flushmap_hdr_flush"),
    ] {
        sig_eq(c, theirs, &h[ours], &f[theirs]);
    }
    let os = format!(
        "{}.{}.{} SP{}",
        h["os_major"].as_u64().unwrap(),
        h["os_minor"].as_u64().unwrap(),
        h["os_build"].as_u64().unwrap(),
        h["os_sp"].as_u64().unwrap()
    );
    c.eq("os_version", os, s(&f["os_version"]));
    c.eq(
        "sort_version",
        format!("{:016x}", h["sort_version"].as_u64().unwrap()),
        s(&f["sort_version"]),
    );
    c.eq(
        "page_size",
        j["page_size"].as_u64(),
        f["page_size"].as_u64(),
    );
    c.eq(
        "page_count",
        j["file_pages"].as_u64().map(|p| p - 2),
        f["page_count"].as_u64(),
    );
    c.eq("size", j["file_size"].as_u64(), f["size"].as_u64());
    c.eq(
        "size_is_page_multiple",
        j["size_is_page_multiple"].as_bool(),
        f["size_is_page_multiple"].as_bool(),
    );
    c.eq(
        "pgno_dbscan_highest",
        h["pgno_dbscan_highest"].as_u64(),
        f["pgno_dbscan_highest"].as_u64(),
    );
    c.eq(
        "pgno_dbscan_highest_continuous",
        h["pgno_dbscan_highest_continuous"].as_u64(),
        f["pgno_dbscan_highest_continuous"].as_u64(),
    );
    let ct = &f["counters"];
    for (ours, theirs) in [
        ("bad_checksum", "bad_checksum"),
        ("ecc_fix_fail", "ecc_fix_fail"),
        ("ecc_fix_success", "ecc_fix_success"),
        ("extend_count", "extend"),
        ("incremental_reseed_count", "incremental_reseed"),
        ("page_patch_count", "page_patch"),
        ("revert_count", "revert"),
        ("shrink_count", "shrink"),
        ("trim_count", "trim"),
    ] {
        c.eq(
            &format!("counters.{theirs}"),
            h[ours].as_u64(),
            ct[theirs].as_u64(),
        );
    }
    // Every BKINFO the facts list is compared; the others must be empty.
    let backup = &f["backup"];
    for (ours, theirs, ty) in [
        ("bkinfo_full_prev", "full_prev", Some("full_prev")),
        ("bkinfo_inc_prev", "inc_prev", Some("inc_prev")),
        ("bkinfo_full_cur", "full_cur", None),
        ("bkinfo_copy_prev", "copy_prev", Some("copy_prev")),
        ("bkinfo_diff_prev", "diff_prev", Some("diff_prev")),
        ("bkinfo_snapshot_cur", "snapshot_cur", None),
    ] {
        let b = &h[ours];
        let t = &backup[theirs];
        if t.is_null() {
            c.eq(
                &format!("backup.{theirs}.gen_high"),
                b["gen_high"].as_u64(),
                Some(0u64),
            );
            c.eq(
                &format!("backup.{theirs}.mark"),
                s(&b["mark"]["eseutil"]),
                "(0x0,0,0)".to_string(),
            );
            continue;
        }
        bkinfo_eq(c, &format!("backup.{theirs}"), b, t);
        time_eq(
            c,
            &format!("backup.{theirs}.logtime_mark"),
            &b["mark_time"],
            &t["logtime_mark"],
        );
        if let (Some(ty), Some(tt)) = (ty, t.get("type")) {
            c.eq(
                &format!("backup.{theirs}.type"),
                s(&j["decoded"]["backup_types"][ty]),
                s(tt),
            );
        }
    }
    // Text output agrees with JSON on the fields people grep.
}

/// A `.pat` patch file through `/mh --json`: the backup's BKINFO, the
/// header checksum, the page size and the shadow copy.
fn check_patch(c: &mut Cmp, f: &Value, j: &Value) {
    bkinfo_eq(c, "bkinfo", &j["patch"]["bkinfo"], &f["bkinfo"]);
    header_checksum_eq(c, &f["header_checksum"], &j["primary"], false);
    c.eq(
        "page_size",
        j["page_size"].as_u64(),
        f["page_size"].as_u64(),
    );
    c.eq(
        "shadow_identical",
        j["copies_identical"].as_bool(),
        f["shadow_identical"].as_bool(),
    );
}

fn check_checkpoint(c: &mut Cmp, f: &Value, j: &Value) {
    let k = &j["checkpoint"];
    for (ours, theirs) in [
        ("lgpos_checkpoint", "lgpos_checkpoint"),
        ("lgpos_db_consistency", "lgpos_db_consistency"),
        ("lgpos_full_backup", "lgpos_full_backup"),
        ("lgpos_inc_backup", "lgpos_inc_backup"),
        (
            "lgpos_last_full_backup_checkpoint",
            "lgpos_last_full_backup_checkpoint",
        ),
    ] {
        c.eq(theirs, s(&k[ours]["eseutil"]), s(&f[theirs]));
    }
    c.eq(
        "checkpoint_generation",
        k["lgpos_checkpoint"]["generation"].as_i64(),
        f["checkpoint_generation"].as_i64(),
    );
    time_eq(
        c,
        "logtime_full_backup",
        &k["logtime_full_backup"],
        &f["logtime_full_backup"],
    );
    time_eq(
        c,
        "logtime_inc_backup",
        &k["logtime_inc_backup"],
        &f["logtime_inc_backup"],
    );
    sig_eq(c, "sign_log", &k["sign_log"], &f["sign_log"]);
    c.eq("f_version", k["version"].as_u64(), f["f_version"].as_u64());
    c.eq(
        "filetype_field",
        k["file_type"].as_u64(),
        f["filetype_field"].as_u64(),
    );
    let hc = &f["header_checksum"];
    c.eq(
        "header_checksum.stored",
        s(&j["primary"]["stored_checksum"]),
        format!("0x{}", s(&hc["stored"])),
    );
    c.eq(
        "header_checksum.computed",
        s(&j["primary"]["computed_checksum"]),
        format!("0x{}", s(&hc["computed"])),
    );
    c.eq(
        "shadow_header.checksum_ok",
        j["shadow"]["checksum_ok"].as_bool(),
        f["shadow_header"]["checksum_ok"].as_bool(),
    );
    c.eq(
        "shadow_header.identical",
        j["copies_identical"].as_bool(),
        f["shadow_header"]["identical"].as_bool(),
    );
    dbms_eq(c, &k["dbms_param"], &f["dbms_param"]);
    // The facts give `null` when fVersion bit 0 says the list is absent.
    let theirs = f["attached_dbs"].as_array().map(Vec::len).unwrap_or(0);
    c.eq(
        "attached_dbs.len",
        k["attachments"].as_array().map(Vec::len),
        Some(theirs),
    );
}

fn dbms_eq(c: &mut Cmp, ours: &Value, theirs: &Value) {
    for (o, t) in [
        ("max_buffers", "cache_size_max"),
        ("log_file_sectors", "csec_lg_file"),
        ("max_cursors", "cursors_max"),
        ("flags", "flags"),
        ("log_buffers", "log_buffers"),
        ("max_open_tables", "open_tables_max"),
        ("max_sessions", "sessions_max"),
        ("max_version_pages", "ver_pages_max"),
    ] {
        c.eq(
            &format!("dbms_param.{t}"),
            ours[o].as_u64(),
            theirs[t].as_u64(),
        );
    }
    c.eq(
        "dbms_param.circular_logging",
        ours["circular_logging"].as_bool(),
        theirs["circular_logging"].as_bool(),
    );
    c.eq(
        "dbms_param.log_path",
        s(&ours["log_file_path"]),
        s(&theirs["log_path"]),
    );
    c.eq(
        "dbms_param.system_path",
        s(&ours["system_path"]),
        s(&theirs["system_path"]),
    );
}

fn check_flush_map(c: &mut Cmp, f: &Value, j: &Value) {
    let h = &j["header"];
    c.eq(
        "filetype_field",
        h["file_type"].as_u64(),
        f["filetype_field"].as_u64(),
    );
    c.eq(
        "format.text",
        s(&j["version_text"]),
        s(&f["format"]["text"]),
    );
    c.eq(
        "fm_flags.value",
        h["flags"].as_u64(),
        f["fm_flags"]["value"].as_u64(),
    );
    c.eq(
        "fm_flags.clean",
        j["clean"].as_bool(),
        f["fm_flags"]["clean"].as_bool(),
    );
    c.eq(
        "gen_min_required",
        h["gen_min_required"].as_i64(),
        f["gen_min_required"].as_i64(),
    );
    c.eq(
        "gen_min_required_target",
        h["gen_min_required_target"].as_i64(),
        f["gen_min_required_target"].as_i64(),
    );
    c.eq(
        "data_pages",
        j["data_pages"].as_u64(),
        f["data_pages"].as_u64(),
    );
    for (ours, theirs) in [
        ("logtime_create", "logtime_create"),
        ("logtime_attach", "logtime_attach"),
        ("logtime_detach", "logtime_detach"),
        ("logtime_flush_last_started", "logtime_flush_last_started"),
        (
            "logtime_flush_last_completed",
            "logtime_flush_last_completed",
        ),
    ] {
        time_eq(c, theirs, &h[ours], &f[theirs]);
    }
    sig_eq(
        c,
        "sign_db_hdr_flush",
        &h["sign_db_hdr_flush"],
        &f["sign_db_hdr_flush"],
    );
    sig_eq(
        c,
        "sign_flushmap_hdr_flush",
        &h["sign_flush_map_hdr_flush"],
        &f["sign_flushmap_hdr_flush"],
    );
    let hc = &f["header_checksum"];
    c.eq(
        "header_checksum.stored",
        s(&j["stored_checksum"]),
        format!("0x{}", s(&hc["stored"])),
    );
    c.eq(
        "header_checksum.computed",
        s(&j["computed_checksum"]),
        format!("0x{}", s(&hc["computed"])),
    );
}

fn check_log(c: &mut Cmp, f: &Value, path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap();
    let v = eseutil::parse::log_header::read_log_header(&bytes).expect("log header verifies");
    let j = serde_json::to_value(&v.header).unwrap();
    c.eq(
        "generation",
        j["generation"].as_i64(),
        f["generation"].as_i64(),
    );
    c.eq("cb_sec", j["cb_sec"].as_u64(), f["cb_sec"].as_u64());
    c.eq(
        "csec_header",
        j["csec_header"].as_u64(),
        f["csec_header"].as_u64(),
    );
    c.eq(
        "csec_lg_file",
        j["csec_lg_file"].as_u64(),
        f["csec_lg_file"].as_u64(),
    );
    c.eq(
        "db_page_size",
        v.header.cb_page_size as u64,
        f["db_page_size"].as_u64().unwrap(),
    );
    c.eq(
        "log_file_size_from_header",
        v.header.expected_file_size(),
        f["log_file_size_from_header"].as_u64().unwrap(),
    );
    c.eq(
        "format.text",
        v.header.version_text(),
        s(&f["format"]["text"]),
    );
    c.eq(
        "format.efv_engine_current",
        j["efv_engine_current"].as_u64(),
        f["format"]["efv_engine_current"].as_u64(),
    );
    c.eq(
        "filetype_field",
        j["file_type"].as_u64(),
        f["filetype_field"].as_u64(),
    );
    c.eq(
        "lg_flags",
        j["lg_flags"].as_u64(),
        f["lg_flags"]["value"].as_u64(),
    );
    c.eq(
        "lg_flags.circular_current",
        v.header.circular_now(),
        f["lg_flags"]["circular_current"].as_bool().unwrap(),
    );
    c.eq(
        "lg_flags.circular_history",
        v.header.circular_past(),
        f["lg_flags"]["circular_history"].as_bool().unwrap(),
    );
    c.eq(
        "lg_flags.reserved_log",
        v.header.reserve_log_used(),
        f["lg_flags"]["reserved_log"].as_bool().unwrap(),
    );
    c.eq(
        "disk_sec_size_mismatch",
        j["disk_sec_size_mismatch"].as_u64(),
        f["disk_sec_size_mismatch"].as_u64(),
    );
    c.eq(
        "checksum_prev_log_all_segments",
        format!("{:016x}", v.header.checksum_prev_log_all_segments),
        s(&f["checksum_prev_log_all_segments"]),
    );
    c.eq(
        "lgpos_checkpoint_at_create",
        s(&j["lgpos_checkpoint"]["eseutil"]),
        s(&f["lgpos_checkpoint_at_create"]),
    );
    time_eq(c, "tm_create", &j["create_time"], &f["tm_create"]);
    time_eq(c, "tm_prev_gen", &j["prev_gen_time"], &f["tm_prev_gen"]);
    sig_eq(c, "sign_log", &j["sign_log"], &f["sign_log"]);
    dbms_eq(c, &j["dbms_param"], &f["dbms_param"]);
    c.eq(
        "header_checksum.stored",
        format!("{:08x}", v.stored_checksum),
        s(&f["header_checksum"]["stored"]),
    );
    c.eq(
        "attached_dbs.len",
        v.header.attachments.len(),
        f["attached_dbs"].as_array().map(Vec::len).unwrap(),
    );
    for (i, a) in v.header.attachments.iter().enumerate() {
        let t = &f["attached_dbs"][i];
        if let Some(p) = t.get("path").or_else(|| t.get("name")) {
            c.eq("attached_dbs.path", a.path.clone(), s(p));
        }
        if let Some(d) = t.get("dbid") {
            c.eq("attached_dbs.dbid", a.dbid as u64, d.as_u64().unwrap());
        }
    }
}

/// `eseutil-rs MODE PATH --json`: the exit status and the JSON document.
fn mode_json(mode: &str, path: &std::path::Path) -> (i32, Value) {
    common::run_json(&[
        std::ffi::OsStr::new(mode),
        path.as_os_str(),
        "--json".as_ref(),
    ])
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn every_corpus_file_matches_the_independent_facts() {
    let Some(dir) = corpus() else { return };
    let mut errors = Vec::new();
    let mut checked = 0usize;
    let mut files = 0usize;
    for entry in facts(&dir) {
        let file = entry["file"].as_str().unwrap();
        let f = &entry["facts"];
        let path = dir.join(file);
        let mut c = Cmp {
            file,
            errors: Vec::new(),
            checked: 0,
        };
        let bytes = std::fs::read(&path).unwrap();
        let kind = eseutil::file::identify(&bytes[..bytes.len().min(eseutil::file::PROBE_SIZE)]);
        match f["type"].as_str().unwrap() {
            "database" => {
                c.eq("kind", kind, eseutil::file::FileKind::Database);
                let (code, j) = mode_json("mh", &path);
                check_database(&mut c, f, &j);
                // A clean header pair means exit 0, as eseutil.
                c.eq("exit", code, 0);
            }
            "checkpoint" => {
                c.eq("kind", kind, eseutil::file::FileKind::Checkpoint);
                let (code, j) = mode_json("mk", &path);
                check_checkpoint(&mut c, f, &j);
                c.eq("exit", code, 0);
            }
            "log" => {
                c.eq("kind", kind, eseutil::file::FileKind::Log);
                check_log(&mut c, f, &path);
            }
            "flushmap" => {
                c.eq("kind", kind, eseutil::file::FileKind::FlushMap);
                let (code, j) = mode_json("mp", &path);
                check_flush_map(&mut c, f, &j);
                c.eq("exit", code, 0);
            }
            "patch" => {
                c.eq("kind", kind, eseutil::file::FileKind::Patch);
                let (code, j) = mode_json("mh", &path);
                check_patch(&mut c, f, &j);
                c.eq("exit", code, 0);
            }
            "blank" => c.eq("kind", kind, eseutil::file::FileKind::Blank),
            other => c.errors.push(format!("{file}: unknown facts type {other}")),
        }
        assert!(c.checked > 0, "{file}: nothing compared");
        checked += c.checked;
        files += 1;
        errors.extend(c.errors);
    }
    eprintln!("compared {checked} fields over {files} corpus files");
    assert!(
        files >= 51,
        "facts.jsonl lists {files} files, expected at least 51"
    );
    assert!(
        errors.is_empty(),
        "{} disagreement(s):\n{}",
        errors.len(),
        errors.join("\n")
    );
}
