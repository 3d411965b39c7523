//! The database file header (DBFILEHDR) and its shadow copy.
//!
//! Facts: `inc/daedef.hxx` ~2785–3054 (layout, 748 bytes, file type at 667),
//! `_osu/fileu.cxx` ~120–450 (how the two copies and the page size are
//! chosen), restated in `docs/format/database-header.md`. The header page is
//! one database page long; page 0 of the file is the primary copy and page 1 the
//! shadow. Both are protected by the legacy XOR checksum over the whole page.

use nom::number::complete::{le_i32, le_u32, le_u64};
use serde::Serialize;

use super::header_checksum::{legacy_header_checksum, stored_header_checksum};
use super::primitives::{bkinfo, lgpos, log_time, signature, BkInfo, Lgpos, LogTime, Signature};
use super::{need, run, u32_at, Input, PResult};
use crate::error::{FormatError, Jet};

/// `ulDAEMagic`, stored at offset 4 of every ESE header.
pub const MAGIC: u32 = 0x89AB_CDEF;
/// Size of the DBFILEHDR structure proper.
pub const DB_HEADER_SIZE: usize = 748;
/// Offset of the common file-type field (database, log and checkpoint headers).
pub const FILE_TYPE_OFFSET: usize = 667;
/// Smallest and largest database page sizes the reader tries.
pub const PAGE_SIZES: [usize; 5] = [2048, 4096, 8192, 16384, 32768];

/// JET_filetype values (`published/inc/jethdr.w` ~5427): the u32 at offset 667.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FileType {
    /// 0: unknown / legacy file written before the field existed.
    Unknown,
    /// 1: database.
    Database,
    /// 2: streaming file (`.stm`).
    StreamingFile,
    /// 3: transaction log.
    Log,
    /// 4: checkpoint.
    Checkpoint,
    /// 5: temporary database.
    TempDatabase,
    /// 6: FTL trace file.
    FtlTrace,
    /// 7: flush map (`.jfm`).
    FlushMap,
    /// 8: cached file.
    CachedFile,
    /// 9: caching file.
    CachingFile,
    /// 10: revert snapshot (RBS).
    RevertSnapshot,
    /// 11: RBS revert checkpoint.
    RbsRevertCheckpoint,
    /// Any other value.
    Other(u32),
}

impl FileType {
    /// Decodes the u32 file-type field.
    pub fn from_u32(v: u32) -> Self {
        match v {
            0 => FileType::Unknown,
            1 => FileType::Database,
            2 => FileType::StreamingFile,
            3 => FileType::Log,
            4 => FileType::Checkpoint,
            5 => FileType::TempDatabase,
            6 => FileType::FtlTrace,
            7 => FileType::FlushMap,
            8 => FileType::CachedFile,
            9 => FileType::CachingFile,
            10 => FileType::RevertSnapshot,
            11 => FileType::RbsRevertCheckpoint,
            o => FileType::Other(o),
        }
    }

    /// A short English name.
    pub fn name(&self) -> &'static str {
        match self {
            FileType::Unknown => "UNKNOWN",
            FileType::Database => "Database",
            FileType::StreamingFile => "Streaming File",
            FileType::Log => "Log",
            FileType::Checkpoint => "Checkpoint",
            FileType::TempDatabase => "Temp Database",
            FileType::FtlTrace => "FTL Trace",
            FileType::FlushMap => "Flush Map",
            FileType::CachedFile => "Cached File",
            FileType::CachingFile => "Caching File",
            FileType::RevertSnapshot => "Revert Snapshot",
            FileType::RbsRevertCheckpoint => "RBS Revert Checkpoint",
            FileType::Other(_) => "UNKNOWN",
        }
    }
}

/// `JET_dbstateJustCreated` (`published/inc/jethdr.w` ~5406).
pub const STATE_JUST_CREATED: u32 = 1;
/// `JET_dbstateDirtyShutdown`: recovery must run before the database is used.
pub const STATE_DIRTY_SHUTDOWN: u32 = 2;
/// `JET_dbstateCleanShutdown`: consistent.
pub const STATE_CLEAN_SHUTDOWN: u32 = 3;
/// `JET_dbstateBeingConverted`.
pub const STATE_BEING_CONVERTED: u32 = 4;
/// `JET_dbstateIncrementalReseedInProgress`.
pub const STATE_INCREMENTAL_RESEED: u32 = 6;
/// `JET_dbstateDirtyAndPatchedShutdown`.
pub const STATE_DIRTY_AND_PATCHED_SHUTDOWN: u32 = 7;
/// `JET_dbstateRevertInProgress`.
pub const STATE_REVERT_IN_PROGRESS: u32 = 8;

/// `fDbShadowingDisabled`: bit 0 of the database flags (`inc/daedef.hxx` ~2767).
pub const DB_FLAG_SHADOWING_DISABLED: u32 = 0x01;

/// Database state names exactly as eseutil prints them (`rgszDBState`,
/// `ese/dbdump.cxx` ~10–40). 5 (`JET_dbstateForceDetach`) and unknown
/// values print `Illegal`.
pub fn db_state_name(state: u32) -> &'static str {
    match state {
        STATE_JUST_CREATED => "Just Created",
        STATE_DIRTY_SHUTDOWN => "Dirty Shutdown",
        STATE_CLEAN_SHUTDOWN => "Clean Shutdown",
        STATE_BEING_CONVERTED => "Being Converted",
        STATE_INCREMENTAL_RESEED => "Incremental Reseed In Progress",
        STATE_DIRTY_AND_PATCHED_SHUTDOWN => "Dirty and Patched Shutdown",
        STATE_REVERT_IN_PROGRESS => "Database Revert in Progress",
        _ => "Illegal",
    }
}

/// The database header (DBFILEHDR, 748 bytes). Field comments give the byte
/// offset in the header page.
#[doc(alias = "DBFILEHDR")]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DbHeader {
    /// @0 stored legacy XOR checksum.
    pub checksum: u32,
    /// @4 `ulMagic`, 0x89ABCDEF.
    pub magic: u32,
    /// @8 major format version (0x620 for every modern database).
    pub version: u32,
    /// @12 attrib (0 = database).
    pub attrib: u32,
    /// @16 database time at the last header flush.
    pub dbtime_dirtied: u64,
    /// @24 database signature.
    pub sign_db: Signature,
    /// @52 JET_dbstate.
    pub db_state: u32,
    /// @56 log position of the last consistent point.
    pub lgpos_consistent: Lgpos,
    /// @64 time of that.
    pub logtime_consistent: LogTime,
    /// @72 last attach time.
    pub logtime_attach: LogTime,
    /// @80 last attach log position.
    pub lgpos_attach: Lgpos,
    /// @88 last detach time.
    pub logtime_detach: LogTime,
    /// @96 last detach log position.
    pub lgpos_detach: Lgpos,
    /// @104 attachment slot at the last attach.
    pub dbid: u32,
    /// @108 signature of the log stream this database belongs to.
    pub sign_log: Signature,
    /// @136 last full backup.
    pub bkinfo_full_prev: BkInfo,
    /// @160 last incremental backup.
    pub bkinfo_inc_prev: BkInfo,
    /// @184 backup in progress / restored backup.
    pub bkinfo_full_cur: BkInfo,
    /// @208 flags (byte 0: 0x01 shadowing disabled, 0x02 upgrade DB; byte 3:
    /// attached-by bits).
    pub db_flags: u32,
    /// @212 highest object id used.
    pub objid_last: u32,
    /// @216 OS major version of the last attaching system.
    pub os_major: u32,
    /// @220 OS minor version.
    pub os_minor: u32,
    /// @224 OS build number.
    pub os_build: u32,
    /// @228 OS service pack.
    pub os_sp: u32,
    /// @232 format update-major.
    pub update_major: u32,
    /// @236 page size in bytes (0 = 4096).
    pub page_size_field: u32,
    /// @240 repair count.
    pub repair_count: u32,
    /// @244 time of the last repair.
    pub logtime_repair: LogTime,
    /// @280 dbtime of the last scrub.
    pub dbtime_last_scrub: u64,
    /// @288 time of the last scrub.
    pub logtime_scrub: LogTime,
    /// @296 lowest log generation needed to replay.
    pub gen_min_required: i32,
    /// @300 highest generation needed (waypoint).
    pub gen_max_required: i32,
    /// @304 cpgUpgrade55Format.
    pub cpg_upgrade_55_format: u32,
    /// @308 cpgUpgradeFreePages.
    pub cpg_upgrade_free_pages: u32,
    /// @312 cpgUpgradeSpaceMapPages.
    pub cpg_upgrade_space_map_pages: u32,
    /// @316 current (VSS) snapshot backup.
    pub bkinfo_snapshot_cur: BkInfo,
    /// @340 format version at creation.
    pub create_version: u32,
    /// @344 update-major at creation.
    pub create_update: u32,
    /// @348 creation time of generation `gen_max_committed`.
    pub logtime_gen_max_create: LogTime,
    /// @356 BKINFOTYPE of the previous full backup.
    pub bkinfo_type_full_prev: u32,
    /// @360 BKINFOTYPE of the previous incremental backup.
    pub bkinfo_type_inc_prev: u32,
    /// @364 repair count before the last reset.
    pub repair_count_old: u32,
    /// @368 successful single-bit ECC fixes.
    pub ecc_fix_success: u32,
    /// @372 time of the last one.
    pub logtime_ecc_fix_success: LogTime,
    /// @380 old count.
    pub ecc_fix_success_old: u32,
    /// @384 failed ECC fixes.
    pub ecc_fix_fail: u32,
    /// @388 time of the last one.
    pub logtime_ecc_fix_fail: LogTime,
    /// @396 old count.
    pub ecc_fix_fail_old: u32,
    /// @400 uncorrectable checksum errors.
    pub bad_checksum: u32,
    /// @404 time of the last one.
    pub logtime_bad_checksum: LogTime,
    /// @412 old count.
    pub bad_checksum_old: u32,
    /// @416 last generation that committed work to this database.
    pub gen_max_committed: i32,
    /// @420 last copy backup.
    pub bkinfo_copy_prev: BkInfo,
    /// @444 last differential backup.
    pub bkinfo_diff_prev: BkInfo,
    /// @468 BKINFOTYPE of the previous copy backup.
    pub bkinfo_type_copy_prev: u32,
    /// @472 BKINFOTYPE of the previous differential backup.
    pub bkinfo_type_diff_prev: u32,
    /// @476 incremental reseed count.
    pub incremental_reseed_count: u32,
    /// @480 time of the last incremental reseed.
    pub logtime_incremental_reseed: LogTime,
    /// @488 old count.
    pub incremental_reseed_count_old: u32,
    /// @492 page patch count.
    pub page_patch_count: u32,
    /// @496 time of the last page patch.
    pub logtime_page_patch: LogTime,
    /// @504 old count.
    pub page_patch_count_old: u32,
    /// @508 deprecated sort version (high dword NLS, low dword defined).
    pub sort_version: u64,
    /// @516 last background checksum (database maintenance) finish.
    pub logtime_dbscan_prev: LogTime,
    /// @524 current database maintenance start.
    pub logtime_dbscan_start: LogTime,
    /// @532 highest continuous page scanned.
    pub pgno_dbscan_highest_continuous: u32,
    /// @536 generation being redone right now (0 when not recovering).
    pub gen_recovering: i32,
    /// @540 extend count.
    pub extend_count: u32,
    /// @544 time of the last extend.
    pub logtime_last_extend: LogTime,
    /// @552 shrink count.
    pub shrink_count: u32,
    /// @556 time of the last shrink.
    pub logtime_last_shrink: LogTime,
    /// @564 time of the last re-attach.
    pub logtime_last_reattach: LogTime,
    /// @572 log position of the last re-attach.
    pub lgpos_last_reattach: Lgpos,
    /// @580 trim count.
    pub trim_count: u32,
    /// @584 signature regenerated at every header flush.
    pub sign_db_hdr_flush: Signature,
    /// @612 same, for the flush map.
    pub sign_flush_map_hdr_flush: Signature,
    /// @640 lowest generation needed to reach a consistent state.
    pub gen_min_consistent: i32,
    /// @644 format update-minor.
    pub update_minor: u32,
    /// @648 highest engine format version (EFV) of any binary that attached.
    pub efv_max_bin_attach: u32,
    /// @652 highest page scanned by database maintenance.
    pub pgno_dbscan_highest: u32,
    /// @656 log position of the last resize.
    pub lgpos_last_resize: Lgpos,
    /// @667 file type (1 = database, 0 on very old files).
    pub file_type: u32,
    /// @672 creation time of generation `gen_max_required`.
    pub logtime_gen_max_required: LogTime,
    /// @680 pre-redo minimum consistent generation.
    pub gen_pre_redo_min_consistent: i32,
    /// @684 pre-redo minimum required generation.
    pub gen_pre_redo_min_required: i32,
    /// @688 revert-snapshot header flush signature.
    pub sign_rbs_hdr_flush: Signature,
    /// @716 revert count.
    pub revert_count: u32,
    /// @720 revert-from time.
    pub logtime_revert_from: LogTime,
    /// @728 revert-to time.
    pub logtime_revert_to: LogTime,
    /// @736 pages reverted.
    pub revert_page_count: u32,
    /// @740 last commit before the revert.
    pub lgpos_commit_before_revert: Lgpos,
}

impl DbHeader {
    /// The page size the header declares (0 means 4096).
    pub fn page_size(&self) -> u32 {
        if self.page_size_field == 0 {
            4096
        } else {
            self.page_size_field
        }
    }

    /// eseutil's state string.
    pub fn state_name(&self) -> &'static str {
        db_state_name(self.db_state)
    }

    /// Shadowing disabled flag (db flags byte 0 bit 0).
    pub fn shadowing_disabled(&self) -> bool {
        self.db_flags & DB_FLAG_SHADOWING_DISABLED != 0
    }

    /// Decoded file type.
    pub fn file_type(&self) -> FileType {
        FileType::from_u32(self.file_type)
    }

    /// `(major.minor.build SP n NLS hi.lo)` as eseutil prints the OS version
    /// and the deprecated sort version.
    pub fn os_version_text(&self) -> String {
        format!(
            "({}.{}.{} SP {} NLS {:x}.{:x})",
            self.os_major,
            self.os_minor,
            self.os_build,
            self.os_sp,
            self.sort_version >> 32,
            self.sort_version & 0xFFFF_FFFF
        )
    }

    /// Format version triple `0x620,U,u` as eseutil prints it.
    pub fn format_text(&self) -> String {
        format!(
            "0x{:x},{},{}",
            self.version, self.update_major, self.update_minor
        )
    }
}

fn u32s<const N: usize>(mut i: Input<'_>) -> PResult<'_, [u32; N]> {
    let mut out = [0u32; N];
    for o in out.iter_mut() {
        let (r, v) = le_u32(i)?;
        *o = v;
        i = r;
    }
    Ok((i, out))
}

/// nom parser of the 748-byte DBFILEHDR.
pub fn db_header(i: Input<'_>) -> PResult<'_, DbHeader> {
    let mut h = DbHeader::default();
    let (i, ()) = db_header_state(i, &mut h)?;
    let (i, ()) = db_header_backups_and_versions(i, &mut h)?;
    let (i, ()) = db_header_counters(i, &mut h)?;
    let (i, ()) = db_header_reseed_and_patch(i, &mut h)?;
    let (i, ()) = db_header_maintenance(i, &mut h)?;
    let (i, ()) = db_header_tail(i, &mut h)?;
    Ok((i, h))
}

/// @0–@135: checksum, magic, version, database signature, state,
/// consistent/attach/detach positions, dbid, log signature.
fn db_header_state<'a>(mut i: Input<'a>, h: &mut DbHeader) -> PResult<'a, ()> {
    (i, [h.checksum, h.magic, h.version, h.attrib]) = u32s::<4>(i)?;
    (i, h.dbtime_dirtied) = le_u64(i)?;
    (i, h.sign_db) = signature(i)?;
    (i, h.db_state) = le_u32(i)?;
    (i, h.lgpos_consistent) = lgpos(i)?;
    (i, h.logtime_consistent) = log_time(i)?;
    (i, h.logtime_attach) = log_time(i)?;
    (i, h.lgpos_attach) = lgpos(i)?;
    (i, h.logtime_detach) = log_time(i)?;
    (i, h.lgpos_detach) = lgpos(i)?;
    (i, h.dbid) = le_u32(i)?;
    (i, h.sign_log) = signature(i)?;
    Ok((i, ()))
}

/// @136–@303: full and incremental backups, flags, OS version, page size,
/// repair and scrub, required generations.
fn db_header_backups_and_versions<'a>(mut i: Input<'a>, h: &mut DbHeader) -> PResult<'a, ()> {
    (i, h.bkinfo_full_prev) = bkinfo(i)?;
    (i, h.bkinfo_inc_prev) = bkinfo(i)?;
    (i, h.bkinfo_full_cur) = bkinfo(i)?;
    (
        i,
        [
            h.db_flags,
            h.objid_last,
            h.os_major,
            h.os_minor,
            h.os_build,
            h.os_sp,
            h.update_major,
        ],
    ) = u32s::<7>(i)?;
    (i, [h.page_size_field, h.repair_count]) = u32s::<2>(i)?;
    (i, h.logtime_repair) = log_time(i)?;
    (i, _) = nom::bytes::complete::take(28usize)(i)?;
    (i, h.dbtime_last_scrub) = le_u64(i)?;
    (i, h.logtime_scrub) = log_time(i)?;
    (i, h.gen_min_required) = le_i32(i)?;
    (i, h.gen_max_required) = le_i32(i)?;
    Ok((i, ()))
}

/// @304–@419: upgrade counts, snapshot backup, creation version, ECC and
/// checksum counters, committed generation.
fn db_header_counters<'a>(mut i: Input<'a>, h: &mut DbHeader) -> PResult<'a, ()> {
    (
        i,
        [
            h.cpg_upgrade_55_format,
            h.cpg_upgrade_free_pages,
            h.cpg_upgrade_space_map_pages,
        ],
    ) = u32s::<3>(i)?;
    (i, h.bkinfo_snapshot_cur) = bkinfo(i)?;
    (i, [h.create_version, h.create_update]) = u32s::<2>(i)?;
    (i, h.logtime_gen_max_create) = log_time(i)?;
    (
        i,
        [
            h.bkinfo_type_full_prev,
            h.bkinfo_type_inc_prev,
            h.repair_count_old,
            h.ecc_fix_success,
        ],
    ) = u32s::<4>(i)?;
    (i, h.logtime_ecc_fix_success) = log_time(i)?;
    (i, [h.ecc_fix_success_old, h.ecc_fix_fail]) = u32s::<2>(i)?;
    (i, h.logtime_ecc_fix_fail) = log_time(i)?;
    (i, [h.ecc_fix_fail_old, h.bad_checksum]) = u32s::<2>(i)?;
    (i, h.logtime_bad_checksum) = log_time(i)?;
    (i, h.bad_checksum_old) = le_u32(i)?;
    (i, h.gen_max_committed) = le_i32(i)?;
    Ok((i, ()))
}

/// @420–@515: copy and differential backups, reseed and page-patch
/// counters, sort version.
fn db_header_reseed_and_patch<'a>(mut i: Input<'a>, h: &mut DbHeader) -> PResult<'a, ()> {
    (i, h.bkinfo_copy_prev) = bkinfo(i)?;
    (i, h.bkinfo_diff_prev) = bkinfo(i)?;
    (
        i,
        [
            h.bkinfo_type_copy_prev,
            h.bkinfo_type_diff_prev,
            h.incremental_reseed_count,
        ],
    ) = u32s::<3>(i)?;
    (i, h.logtime_incremental_reseed) = log_time(i)?;
    (i, [h.incremental_reseed_count_old, h.page_patch_count]) = u32s::<2>(i)?;
    (i, h.logtime_page_patch) = log_time(i)?;
    (i, h.page_patch_count_old) = le_u32(i)?;
    (i, h.sort_version) = le_u64(i)?;
    Ok((i, ()))
}

/// @516–@655: database maintenance, extend/shrink/trim, flush signatures,
/// consistent generation, minor version.
fn db_header_maintenance<'a>(mut i: Input<'a>, h: &mut DbHeader) -> PResult<'a, ()> {
    (i, h.logtime_dbscan_prev) = log_time(i)?;
    (i, h.logtime_dbscan_start) = log_time(i)?;
    (i, h.pgno_dbscan_highest_continuous) = le_u32(i)?;
    (i, h.gen_recovering) = le_i32(i)?;
    (i, h.extend_count) = le_u32(i)?;
    (i, h.logtime_last_extend) = log_time(i)?;
    (i, h.shrink_count) = le_u32(i)?;
    (i, h.logtime_last_shrink) = log_time(i)?;
    (i, h.logtime_last_reattach) = log_time(i)?;
    (i, h.lgpos_last_reattach) = lgpos(i)?;
    (i, h.trim_count) = le_u32(i)?;
    (i, h.sign_db_hdr_flush) = signature(i)?;
    (i, h.sign_flush_map_hdr_flush) = signature(i)?;
    (i, h.gen_min_consistent) = le_i32(i)?;
    (
        i,
        [h.update_minor, h.efv_max_bin_attach, h.pgno_dbscan_highest],
    ) = u32s::<3>(i)?;
    Ok((i, ()))
}

/// @656–@747: last resize, file type, pre-redo generations and the revert
/// block.
fn db_header_tail<'a>(mut i: Input<'a>, h: &mut DbHeader) -> PResult<'a, ()> {
    (i, h.lgpos_last_resize) = lgpos(i)?;
    (i, _) = nom::bytes::complete::take(3usize)(i)?;
    (i, h.file_type) = le_u32(i)?;
    (i, _) = nom::bytes::complete::take(1usize)(i)?;
    (i, h.logtime_gen_max_required) = log_time(i)?;
    (i, h.gen_pre_redo_min_consistent) = le_i32(i)?;
    (i, h.gen_pre_redo_min_required) = le_i32(i)?;
    (i, h.sign_rbs_hdr_flush) = signature(i)?;
    (i, h.revert_count) = le_u32(i)?;
    (i, h.logtime_revert_from) = log_time(i)?;
    (i, h.logtime_revert_to) = log_time(i)?;
    (i, h.revert_page_count) = le_u32(i)?;
    (i, h.lgpos_commit_before_revert) = lgpos(i)?;
    Ok((i, ()))
}

/// Parses a DBFILEHDR from the start of `input` (at least 748 bytes).
pub fn parse_db_header(input: &[u8]) -> Result<DbHeader, FormatError> {
    need(
        input,
        DB_HEADER_SIZE,
        "database header",
        Jet::DATABASE_CORRUPTED,
    )?;
    run(
        &input[..DB_HEADER_SIZE],
        "database header",
        Jet::DATABASE_CORRUPTED,
        db_header,
    )
}

/// One copy (primary or shadow) of the header page, as read at one page size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeaderCopy {
    /// Stored checksum (first u32 of the page).
    pub stored_checksum: u32,
    /// Checksum recomputed over the whole header page.
    pub computed_checksum: u32,
    /// Whether they match.
    pub checksum_ok: bool,
    /// Whether the stored checksum is zero (eseutil warns about that).
    pub zeroed_checksum: bool,
    /// The decoded fields (present whenever enough bytes exist).
    pub header: Option<DbHeader>,
}

impl HeaderCopy {
    fn read(page: &[u8]) -> HeaderCopy {
        let stored = stored_header_checksum(page);
        let computed = legacy_header_checksum(page);
        HeaderCopy {
            stored_checksum: stored,
            computed_checksum: computed,
            checksum_ok: stored == computed,
            zeroed_checksum: stored == 0,
            header: parse_db_header(page).ok(),
        }
    }

    fn valid_for(&self, page_size: usize) -> bool {
        self.checksum_ok
            && self
                .header
                .as_ref()
                .is_some_and(|h| h.page_size() as usize == page_size)
    }
}

/// Which copy a reader ended up using.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UsedCopy {
    /// Page 0.
    Primary,
    /// Page 1 (the primary is unusable).
    Shadow,
}

/// The outcome of reading both header copies (`ErrUtilReadSpecificShadowedHeader`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DbHeaderPair {
    /// Page size the copies were read at.
    pub page_size: usize,
    /// Page 0.
    pub primary: HeaderCopy,
    /// Page 1, when the file is long enough to hold it.
    pub shadow: Option<HeaderCopy>,
    /// Whether both copies are byte-identical over the whole header page.
    pub identical: bool,
    /// Which copy is authoritative.
    pub used: UsedCopy,
}

impl DbHeaderPair {
    /// The authoritative header.
    pub fn header(&self) -> &DbHeader {
        match self.used {
            UsedCopy::Primary => self.primary.header.as_ref(),
            UsedCopy::Shadow => self.shadow.as_ref().and_then(|s| s.header.as_ref()),
        }
        .expect("a used copy always has a decoded header")
    }

    /// The authoritative copy.
    pub fn used_copy(&self) -> &HeaderCopy {
        match self.used {
            UsedCopy::Primary => &self.primary,
            UsedCopy::Shadow => self.shadow.as_ref().expect("shadow used"),
        }
    }

    /// eseutil's warning lines, in its order (`ErrDUMPHeader` ~620–650).
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        let shadow_ok = self.shadow.as_ref().is_some_and(|s| s.checksum_ok);
        if self.shadow.is_some() && !self.identical {
            w.push("WARNING: primary header and shadow header are not identical.".to_string());
        }
        if !self.primary.checksum_ok {
            w.push("WARNING: primary header has a checksum error.".to_string());
        }
        if self.shadow.is_none() {
            w.push("WARNING: shadow header is missing (file too short).".to_string());
        } else if !shadow_ok {
            w.push("WARNING: shadow header has a checksum error.".to_string());
        }
        if self.primary.zeroed_checksum {
            w.push("WARNING: primary header has a zeroed checksum.".to_string());
        }
        if self.shadow.as_ref().is_some_and(|s| s.zeroed_checksum) {
            w.push("WARNING: shadow header has a zeroed checksum.".to_string());
        }
        if self.page_size == 2048 {
            w.push("WARNING: this is a legacy database using a 2KB page size, which is no longer supported in this version of ESE.".to_string());
        }
        w
    }

    /// Whether anything is wrong with either copy.
    pub fn damaged(&self) -> bool {
        !self.primary.checksum_ok
            || match &self.shadow {
                Some(s) => !s.checksum_ok || !self.identical,
                None => true,
            }
    }
}

/// Reads both header copies from the first bytes of a database file
/// (`start` should hold the first 64 KiB, or the whole file if shorter).
///
/// For each candidate page size from 2 KiB doubling to 32 KiB, a copy is good
/// if its checksum verifies and its page-size field equals the candidate.
/// Both good and identical: primary. Both good but different: primary (the
/// shadow is treated as bad). One good: that one. None good: when the magic
/// is present, the error is `-1206 JET_errDatabaseCorrupted` (the caller may
/// still show the unverified primary); otherwise the file is not an ESE file.
pub fn read_header_pair(start: &[u8]) -> Result<DbHeaderPair, FormatError> {
    need(
        start,
        DB_HEADER_SIZE,
        "database header",
        Jet::DATABASE_CORRUPTED,
    )?;
    for &ps in PAGE_SIZES.iter() {
        if start.len() < ps {
            break;
        }
        let primary = HeaderCopy::read(&start[..ps]);
        let shadow = (start.len() >= 2 * ps).then(|| HeaderCopy::read(&start[ps..2 * ps]));
        let p_ok = primary.valid_for(ps);
        let s_ok = shadow.as_ref().is_some_and(|s| s.valid_for(ps));
        if !p_ok && !s_ok {
            continue;
        }
        let identical = start.len() >= 2 * ps && start[..ps] == start[ps..2 * ps];
        let used = if p_ok {
            UsedCopy::Primary
        } else {
            UsedCopy::Shadow
        };
        let mut pair = DbHeaderPair {
            page_size: ps,
            primary,
            shadow,
            identical,
            used,
        };
        if p_ok && s_ok && !identical {
            // Both verify but differ: the engine trusts the primary.
            if let Some(s) = pair.shadow.as_mut() {
                s.checksum_ok = s.stored_checksum == s.computed_checksum;
            }
        }
        return Ok(pair);
    }
    if u32_at(start, 4) != MAGIC {
        return Err(FormatError::new(
            4,
            Jet::DATABASE_CORRUPTED,
            format!(
                "not an ESE file: magic 0x{:08x} (expected 0x{MAGIC:08x})",
                u32_at(start, 4)
            ),
        ));
    }
    Err(FormatError::new(
        0,
        Jet::DATABASE_CORRUPTED,
        "neither the primary nor the shadow database header verifies (checksum or page size)",
    ))
}

/// The unverified primary copy at the page size it declares, for a
/// best-effort display when [`read_header_pair`] fails with the magic present.
pub fn read_unverified(start: &[u8]) -> Option<(usize, HeaderCopy)> {
    let h = parse_db_header(start).ok()?;
    let ps = (h.page_size() as usize).clamp(DB_HEADER_SIZE, start.len());
    Some((ps, HeaderCopy::read(&start[..ps.min(start.len())])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_consumes_exactly_748_bytes() {
        let b = vec![0u8; 1000];
        let (rest, _) = db_header(&b).unwrap();
        assert_eq!(b.len() - rest.len(), DB_HEADER_SIZE);
    }

    #[test]
    fn field_offsets() {
        // Put a distinct marker at a few documented offsets and read them back.
        let mut b = vec![0u8; 4096];
        let put =
            |b: &mut Vec<u8>, off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_le_bytes());
        put(&mut b, 52, 2);
        put(&mut b, 232, 300);
        put(&mut b, 236, 16384);
        put(&mut b, 296, 0x11);
        put(&mut b, 300, 0x22);
        put(&mut b, 416, 0x33);
        put(&mut b, 536, 0x44);
        put(&mut b, 640, 0x55);
        put(&mut b, 644, 620);
        put(&mut b, 648, 9620);
        put(&mut b, 667, 1);
        put(&mut b, 680, 0x66);
        put(&mut b, 684, 0x77);
        put(&mut b, 736, 0x88);
        let h = parse_db_header(&b).unwrap();
        assert_eq!(h.db_state, 2);
        assert_eq!(h.state_name(), "Dirty Shutdown");
        assert_eq!(
            (h.update_major, h.update_minor, h.efv_max_bin_attach),
            (300, 620, 9620)
        );
        assert_eq!(h.page_size(), 16384);
        assert_eq!(
            (h.gen_min_required, h.gen_max_required, h.gen_max_committed),
            (0x11, 0x22, 0x33)
        );
        assert_eq!((h.gen_recovering, h.gen_min_consistent), (0x44, 0x55));
        assert_eq!(h.file_type(), FileType::Database);
        assert_eq!(
            (h.gen_pre_redo_min_consistent, h.gen_pre_redo_min_required),
            (0x66, 0x77)
        );
        assert_eq!(h.revert_page_count, 0x88);
    }

    #[test]
    fn shadow_used_when_primary_bad() {
        let mut page = vec![0u8; 4096];
        page[4..8].copy_from_slice(&MAGIC.to_le_bytes());
        page[8..12].copy_from_slice(&0x620u32.to_le_bytes());
        page[236..240].copy_from_slice(&4096u32.to_le_bytes());
        crate::checksum::seal_header(&mut page);
        let mut file = page.clone();
        file.extend_from_slice(&page);
        file[0] ^= 0xFF;
        let pair = read_header_pair(&file).unwrap();
        assert_eq!(pair.used, UsedCopy::Shadow);
        assert!(pair.damaged());
        assert_eq!(
            pair.warnings()[0],
            "WARNING: primary header and shadow header are not identical."
        );
        file[4096] ^= 0xFF;
        assert_eq!(
            read_header_pair(&file).unwrap_err().jet,
            Jet::DATABASE_CORRUPTED
        );
        file[5] ^= 1;
        file[4096 + 5] ^= 1;
        assert!(read_header_pair(&file)
            .unwrap_err()
            .detail
            .contains("not an ESE file"));
    }
}
