//! JSON view of `/mh` (database header dump).

use serde::Serialize;

use crate::file::FileKind;
use crate::parse::db_header::{DbHeader, DbHeaderPair, HeaderCopy, UsedCopy};
use crate::parse::primitives::bkinfo_type_name;

/// The engine version eseutil-rs reports on the `Engine ulVersion` line: the
/// newest database format the public ESE source knows (`ese/sysver.cxx`,
/// highest table entry). Newer files are shown, never rejected.
pub const ENGINE_DB_VERSION: (u32, u32, u32) = (0x620, 290, 600);
/// The engine format version (EFV) of that entry.
pub const ENGINE_EFV: u32 = 9600;

/// A generation range `min-max` with eseutil's text.
#[derive(Debug, Clone, Serialize)]
pub struct GenRange {
    /// Low generation.
    pub min: i64,
    /// High generation.
    pub max: i64,
    /// eseutil's `%u-%u (0x%x-0x%x)`.
    pub eseutil: String,
    /// The log file names of the range for base `edb`-style names are not
    /// knowable from the database alone; the generations in hex are.
    pub hex: String,
}

impl GenRange {
    fn new(min: i32, max: i32) -> Self {
        let (a, b) = (min as u32, max as u32);
        GenRange {
            min: min as i64,
            max: max as i64,
            eseutil: format!("{a}-{b} (0x{a:x}-0x{b:x})"),
            hex: format!("0x{a:X}-0x{b:X}"),
        }
    }
}

/// Values derived from the raw header for convenience.
#[derive(Debug, Clone, Serialize)]
pub struct Decoded {
    /// eseutil's state word.
    pub state: &'static str,
    /// Whether the database is in Clean Shutdown.
    pub clean_shutdown: bool,
    /// `0x620,U,u`.
    pub format_version: String,
    /// `0x620,U` at creation.
    pub created_version: String,
    /// Effective page size in bytes.
    pub page_size: u32,
    /// Log Required range.
    pub log_required: GenRange,
    /// Log Committed range (`0-N`).
    pub log_committed: GenRange,
    /// Shadowing enabled.
    pub shadowed: bool,
    /// `(M.m.B SP n NLS x.y)`.
    pub os_version: String,
    /// BKINFOTYPE names of the previous backups.
    pub backup_types: BackupTypes,
    /// True when `bkinfoFullCur.genLow != 0 && genHigh == 0` (a streaming
    /// backup copy whose final state is in the trailer/patch page).
    pub needs_patch_page: bool,
}

/// BKINFOTYPE names.
#[derive(Debug, Clone, Serialize)]
pub struct BackupTypes {
    /// Previous full backup.
    pub full_prev: &'static str,
    /// Previous incremental.
    pub inc_prev: &'static str,
    /// Previous copy.
    pub copy_prev: &'static str,
    /// Previous differential.
    pub diff_prev: &'static str,
}

impl Decoded {
    /// Derives the values from a header.
    pub fn from_header(h: &DbHeader) -> Self {
        Decoded {
            state: h.state_name(),
            clean_shutdown: h.db_state == crate::parse::db_header::STATE_CLEAN_SHUTDOWN,
            format_version: h.format_text(),
            created_version: format!("0x{:x},{}", h.create_version, h.create_update as i16),
            page_size: h.page_size(),
            log_required: GenRange::new(h.gen_min_required, h.gen_max_required),
            log_committed: GenRange::new(0, h.gen_max_committed),
            shadowed: !h.shadowing_disabled(),
            os_version: h.os_version_text(),
            backup_types: BackupTypes {
                full_prev: bkinfo_type_name(h.bkinfo_type_full_prev),
                inc_prev: bkinfo_type_name(h.bkinfo_type_inc_prev),
                copy_prev: bkinfo_type_name(h.bkinfo_type_copy_prev),
                diff_prev: bkinfo_type_name(h.bkinfo_type_diff_prev),
            },
            needs_patch_page: h.bkinfo_full_cur.gen_low != 0 && h.bkinfo_full_cur.gen_high == 0,
        }
    }
}

/// Checksum facts of one header copy.
#[derive(Debug, Clone, Serialize)]
pub struct CopyReport {
    /// Stored checksum.
    pub stored_checksum: String,
    /// Recomputed checksum.
    pub computed_checksum: String,
    /// Whether they match.
    pub checksum_ok: bool,
}

impl CopyReport {
    fn new(stored: u32, computed: u32, ok: bool) -> Self {
        CopyReport {
            stored_checksum: format!("0x{stored:08x}"),
            computed_checksum: format!("0x{computed:08x}"),
            checksum_ok: ok,
        }
    }

    fn from(c: &HeaderCopy) -> Self {
        Self::new(c.stored_checksum, c.computed_checksum, c.checksum_ok)
    }
}

/// The `/mh --json` document.
#[derive(Debug, Clone, Serialize)]
pub struct MhReport {
    /// Always "eseutil-rs".
    pub tool: &'static str,
    /// Program version.
    pub version: &'static str,
    /// Always "mh".
    pub mode: &'static str,
    /// The file as given.
    pub file: String,
    /// File length in bytes.
    pub file_size: u64,
    /// What the file is.
    pub file_kind: FileKind,
    /// Page size used to read the header copies.
    pub page_size: usize,
    /// Number of whole pages in the file, header pages included.
    pub file_pages: u64,
    /// Whether the file length is a whole number of pages.
    pub size_is_page_multiple: bool,
    /// Primary copy checksum facts.
    pub primary: CopyReport,
    /// Shadow copy checksum facts (absent if the file is too short).
    pub shadow: Option<CopyReport>,
    /// Whether both copies are byte-identical.
    pub copies_identical: bool,
    /// Which copy the fields come from.
    pub used_copy: UsedCopy,
    /// Every header field, raw (timestamps, signatures and log positions also
    /// carry their decoded forms).
    pub header: DbHeader,
    /// Derived values.
    pub decoded: Decoded,
    /// eseutil's warnings.
    pub warnings: Vec<String>,
    /// Engine version line values eseutil-rs reports.
    pub engine: EngineVersion,
    /// The backup trailer (patch) page, when the header says there is one.
    pub patch_page: Option<crate::parse::patch::PatchHeader>,
    /// Why the trailer page could not be used (-535 / -552), if so.
    pub patch_page_error: Option<String>,
    /// What the last page of the file is (the shared page classification):
    /// `trailer` on a streaming-backup copy.
    pub last_page: Option<crate::db::classify::PageKind>,
}

/// The engine values printed on the `Engine ulVersion` line.
#[derive(Debug, Clone, Serialize)]
pub struct EngineVersion {
    /// `0x620,U,u`.
    pub version: String,
    /// EFV.
    pub efv: u32,
}

impl MhReport {
    /// Builds the report.
    pub fn new(file: String, file_size: u64, file_kind: FileKind, pair: &DbHeaderPair) -> Self {
        let h = pair.header().clone();
        let ps = pair.page_size as u64;
        MhReport {
            tool: "eseutil-rs",
            version: env!("CARGO_PKG_VERSION"),
            mode: "mh",
            file,
            file_size,
            file_kind,
            page_size: pair.page_size,
            file_pages: file_size / ps,
            size_is_page_multiple: file_size % ps == 0,
            primary: CopyReport::from(&pair.primary),
            shadow: pair.shadow.as_ref().map(CopyReport::from),
            copies_identical: pair.identical,
            used_copy: pair.used,
            decoded: Decoded::from_header(&h),
            header: h,
            warnings: pair.warnings(),
            engine: EngineVersion {
                version: format!(
                    "0x{:x},{},{}",
                    ENGINE_DB_VERSION.0, ENGINE_DB_VERSION.1, ENGINE_DB_VERSION.2
                ),
                efv: ENGINE_EFV,
            },
            patch_page: None,
            patch_page_error: None,
            last_page: None,
        }
    }
}

/// The `/mh --json` document for a `.pat` patch file.
#[derive(Debug, Clone, Serialize)]
pub struct PatchFileReport {
    /// Always "eseutil-rs".
    pub tool: &'static str,
    /// Program version.
    pub version: &'static str,
    /// Always "mh".
    pub mode: &'static str,
    /// The file as given.
    pub file: String,
    /// File length in bytes.
    pub file_size: u64,
    /// Always `patch`.
    pub file_kind: FileKind,
    /// Page size of the patch page.
    pub page_size: usize,
    /// Number of whole pages in the file.
    pub file_pages: u64,
    /// Primary copy checksum facts.
    pub primary: CopyReport,
    /// Shadow copy checksum facts (absent when the file holds one page).
    pub shadow: Option<CopyReport>,
    /// Whether both copies are byte-identical.
    pub copies_identical: bool,
    /// Which copy the fields come from.
    pub used_copy: UsedCopy,
    /// The patch page (PATCHHDR): BKINFO of the backup, signatures, the
    /// log range captured at the end of the backup.
    pub patch: crate::parse::patch::PatchHeader,
    /// Problems found (a copy that fails its checksum, copies that differ).
    pub warnings: Vec<String>,
}

impl PatchFileReport {
    /// Builds the report.
    pub fn new(file: String, file_size: u64, f: &crate::parse::patch::PatchFile) -> Self {
        let copy = |c: &crate::parse::patch::PatchCopy| {
            CopyReport::new(c.stored_checksum, c.computed_checksum, c.checksum_ok)
        };
        PatchFileReport {
            tool: "eseutil-rs",
            version: env!("CARGO_PKG_VERSION"),
            mode: "mh",
            file,
            file_size,
            file_kind: FileKind::Patch,
            page_size: f.page_size,
            file_pages: file_size / f.page_size as u64,
            primary: copy(&f.primary),
            shadow: f.shadow.as_ref().map(copy),
            copies_identical: f.identical,
            used_copy: f.used,
            patch: f.header().clone(),
            warnings: patch_file_warnings(f),
        }
    }
}

/// The warnings of a patch file, text and JSON alike.
pub fn patch_file_warnings(f: &crate::parse::patch::PatchFile) -> Vec<String> {
    let mut w = Vec::new();
    if !f.primary.checksum_ok {
        w.push("WARNING: primary patch page has a checksum error.".to_string());
    }
    match &f.shadow {
        Some(s) if !s.checksum_ok => {
            w.push("WARNING: shadow patch page has a checksum error.".to_string())
        }
        Some(_) if !f.identical => {
            w.push("WARNING: the primary and shadow patch pages differ.".to_string())
        }
        None => w.push("WARNING: the patch file has no shadow copy.".to_string()),
        _ => {}
    }
    w
}
