//! Typed log records: the bytes of one record turned, once, into a
//! [`Record`] — a variant per record type with named fields — so that
//! recovery, `plan`, `/ml` and rendering match on variants instead of reading
//! offsets. The reader ([`super::record::read_stream`]) finds where records
//! are; this module says what they hold.
//!
//! Facts: `inc/logapi.hxx` (the `LR*` classes: LRPAGE_ ~377, LRNODE_ ~426,
//! LRSCRUB ~442, LRINSERT ~637 … LRSETDBVERSION ~2456), the redo of each type
//! in `ese/logredo.cxx` (`ErrLGRIRedoOperations`, `ErrLGIRedoNodeOperation`,
//! `ErrLGRIRedoSplitPath`, `ErrLGRIRedoMergePath`); restated with offsets in
//! docs/format/log-records.md.
//!
//! Every read is bounds-checked and labelled: a record too short for a field
//! is a [`DecodeError`] naming the type, the field and its offset, never a
//! panic. A record the reader produced always holds its fixed part (its size
//! was computed from it), so decoding its output fails only for damage the
//! size rule cannot see (a DBMS_PARAM, a bad signature).

use serde::Serialize;

use super::record::lrtyp_name;
use crate::error::{FormatError, Jet};
use crate::parse::primitives::{Lgpos, Signature};

/// A field a record does not hold: the record type, the field's name and
/// where it would be. Turned into a -501 [`FormatError`] by [`Self::at`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError {
    /// Record type.
    pub lrtyp: u8,
    /// The field that does not fit.
    pub field: &'static str,
    /// Its offset in the record.
    pub offset: usize,
    /// Bytes it needs.
    pub need: usize,
    /// Bytes the record has.
    pub len: usize,
}

impl DecodeError {
    /// One line: `log record type 29 (Insert): field key/data at offset 50
    /// needs 12 bytes, the record has 55`.
    pub fn text(&self) -> String {
        format!(
            "log record type {} ({}): field {} at offset {} needs {} bytes, the record has {}",
            self.lrtyp,
            lrtyp_name(self.lrtyp),
            self.field,
            self.offset,
            self.need,
            self.len
        )
    }

    /// The error for the record at `lgpos` (JET_errLogFileCorrupt).
    pub fn at(&self, lgpos: Lgpos) -> FormatError {
        FormatError::new(
            0,
            Jet::LOG_FILE_CORRUPT,
            format!("{} at lgpos {}", self.text(), lgpos.eseutil_text()),
        )
    }
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text())
    }
}

/// Labelled, bounds-checked little-endian reads over one record.
struct Fields<'a> {
    b: &'a [u8],
    lrtyp: u8,
}

impl<'a> Fields<'a> {
    fn bytes(&self, off: usize, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        off.checked_add(n)
            .and_then(|end| self.b.get(off..end))
            .ok_or(DecodeError {
                lrtyp: self.lrtyp,
                field,
                offset: off,
                need: n,
                len: self.b.len(),
            })
    }
    fn arr<const N: usize>(&self, off: usize, field: &'static str) -> Result<[u8; N], DecodeError> {
        let s = self.bytes(off, N, field)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }
    fn u8(&self, off: usize, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.arr::<1>(off, field)?[0])
    }
    fn u16(&self, off: usize, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.arr(off, field)?))
    }
    fn u32(&self, off: usize, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.arr(off, field)?))
    }
    fn u64(&self, off: usize, field: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.arr(off, field)?))
    }
    /// LGPOS: ib u16, isec u16, lGeneration i32 (daedef.hxx ~871).
    fn lgpos(&self, off: usize, field: &'static str) -> Result<Lgpos, DecodeError> {
        let a: [u8; 8] = self.arr(off, field)?;
        Ok(Lgpos {
            offset: u16::from_le_bytes([a[0], a[1]]),
            sector: u16::from_le_bytes([a[2], a[3]]),
            generation: i32::from_le_bytes([a[4], a[5], a[6], a[7]]),
        })
    }
    fn sig(&self, off: usize, field: &'static str) -> Result<SignatureBytes, DecodeError> {
        Ok(SignatureBytes(self.arr(off, field)?))
    }
}

/// The 28 bytes of a SIGNATURE as logged (daedef.hxx ~2297): kept raw so
/// they compare with a header's, decoded on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignatureBytes(pub [u8; Signature::SIZE]);

impl SignatureBytes {
    /// The decoded signature.
    pub fn value(&self) -> Signature {
        crate::parse::primitives::signature(&self.0)
            .map(|(_, s)| s)
            .unwrap_or_default()
    }
    /// eseutil's text of the signature.
    pub fn eseutil_text(&self) -> String {
        self.value().eseutil_text()
    }
}

/// `fLRPage*` flags of LRPAGE_ (logapi.hxx ~369).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct PageFlags(pub u8);

impl PageFlags {
    /// The node is versioned (the operation has a version-store entry).
    pub const VERSIONED: u8 = 0x01;
    /// The node is deleted (no longer logged).
    pub const DELETED: u8 = 0x02;
    /// The tree has unique keys.
    pub const UNIQUE: u8 = 0x04;
    /// A space-tree operation.
    pub const SPACE: u8 = 0x08;
    /// Done by a concurrent create-index.
    pub const CONCURRENT_CREATE_INDEX: u8 = 0x10;
    /// Done by a background system task.
    pub const SYSTEM_TASK: u8 = 0x20;

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
    /// [`Self::VERSIONED`].
    pub fn versioned(self) -> bool {
        self.has(Self::VERSIONED)
    }
    /// [`Self::UNIQUE`].
    pub fn unique(self) -> bool {
        self.has(Self::UNIQUE)
    }
}

/// A transaction level (0 = outside a transaction; ESE nests up to 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Serialize)]
#[serde(transparent)]
pub struct Level(pub u8);

/// LRPAGE_ (32 bytes, logapi.hxx ~377): what every page record starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRef {
    /// @1 session.
    pub procid: u16,
    /// @3 database id.
    pub dbid: u8,
    /// @4 the page.
    pub pgno: u32,
    /// @8 the page's dbtime after the operation.
    pub dbtime: u64,
    /// @16 the dbtime the page must carry before it.
    pub dbtime_before: u64,
    /// @24 trxBegin0 of the transaction.
    pub trx_begin0: u32,
    /// @28 transaction level.
    pub level: Level,
    /// @29 line on the page.
    pub iline: u16,
    /// @31 flags.
    pub flags: PageFlags,
}

/// LRNODE_ (44 bytes, logapi.hxx ~426): LRPAGE_ and the tree the node is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeRef {
    /// LRPAGE_.
    pub page: PageRef,
    /// @32 version-store entry id.
    pub rceid: u32,
    /// @36 the tree's FDP page.
    pub pgno_fdp: u32,
    /// @40 the tree's object id.
    pub objid_fdp: u32,
}

/// A key as logged: a prefix shared with the page's prefix, then the suffix
/// (LRINSERT keeps `cbPrefix` bytes first, logapi.hxx ~637).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Key<'a> {
    /// Prefix bytes.
    pub prefix: &'a [u8],
    /// Suffix bytes.
    pub suffix: &'a [u8],
}

impl Key<'_> {
    /// Total length.
    pub fn len(&self) -> usize {
        self.prefix.len() + self.suffix.len()
    }
    /// Whether the key is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The whole key.
    pub fn to_vec(&self) -> Vec<u8> {
        [self.prefix, self.suffix].concat()
    }
}

/// A bookmark as logged (Undo, UndoInfo, Delta): the node's key and, in a
/// non-unique tree, its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bookmark<'a> {
    /// Key (logged whole: no prefix).
    pub key: Key<'a>,
    /// Data part (non-unique trees).
    pub data: &'a [u8],
}

/// A page image a Split2 or Merge2 carries (`cbPageBeforeImage`,
/// logapi.hxx ~926, ~1012): flag 0x1 dehydrated, 0x2 Xpress-compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeforeImage<'a> {
    /// @102 (Split2) / @88 (Merge2) flags.
    pub flags: u32,
    /// The image bytes (may be empty).
    pub bytes: &'a [u8],
}

/// Split and Split2 (LRSPLIT_ ~873, LRSPLITNEW ~926).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    /// LRPAGE_ (pgno = the page split).
    pub page: PageRef,
    /// @32 new page.
    pub pgno_new: u32,
    /// @36 right sibling.
    pub pgno_right: u32,
    /// @40 its dbtime before.
    pub dbtime_right_before: u64,
    /// @48 parent.
    pub pgno_parent: u32,
    /// @52 its dbtime before.
    pub dbtime_parent_before: u64,
    /// @60 FDP.
    pub pgno_fdp: u32,
    /// @64 object id.
    pub objid_fdp: u32,
    /// @68 splittype.
    pub split_type: u8,
    /// @69 splitoper.
    pub split_oper: u8,
    /// @70 ilineOper.
    pub iline_oper: u16,
    /// @72 ilineSplit.
    pub iline_split: u16,
    /// @74 clines.
    pub clines: u16,
    /// @76 flags of the new page.
    pub new_page_flags: u32,
    /// @80 flags of the split page.
    pub split_page_flags: u32,
    /// @84 cbUncFreeSrc.
    pub cb_unc_free_src: u16,
    /// @86 cbUncFreeDest.
    pub cb_unc_free_dest: u16,
    /// @88 ilinePrefixSplit.
    pub iline_prefix_split: i32,
    /// @92 ilinePrefixNew.
    pub iline_prefix_new: i32,
    /// Parent key (cbKeyParent @100), first of the variable part.
    pub key_parent: &'a [u8],
    /// Old prefix of the split page (cbPrefixSplitOld @96).
    pub prefix_split_old: &'a [u8],
    /// New prefix (cbPrefixSplitNew @98).
    pub prefix_split_new: &'a [u8],
    /// Split2 only: the page's before-image.
    pub before_image: Option<BeforeImage<'a>>,
}

/// `fLRMerge*`-less merge flags byte @84 of LRMERGE_ (logapi.hxx ~954).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeFlags(pub u8);

impl MergeFlags {
    /// The parent's separator key changes.
    pub const KEY_CHANGE: u8 = 0x1;
    /// The parent's node is deleted.
    pub const DELETE_NODE: u8 = 0x2;
    /// The merged page becomes empty.
    pub const EMPTY_PAGE: u8 = 0x4;

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u8) -> bool {
        self.0 & mask == mask
    }
}

/// Merge and Merge2 (LRMERGE_ ~954, LRMERGENEW ~1012).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Merge<'a> {
    /// LRPAGE_ (pgno = the page merged).
    pub page: PageRef,
    /// @32 right sibling.
    pub pgno_right: u32,
    /// @36 its dbtime before.
    pub dbtime_right_before: u64,
    /// @44 left sibling.
    pub pgno_left: u32,
    /// @48 its dbtime before.
    pub dbtime_left_before: u64,
    /// @56 parent.
    pub pgno_parent: u32,
    /// @60 its dbtime before.
    pub dbtime_parent_before: u64,
    /// @68 FDP.
    pub pgno_fdp: u32,
    /// @72 object id.
    pub objid_fdp: u32,
    /// @76 cbSizeTotal.
    pub cb_size_total: u16,
    /// @78 cbSizeMaxTotal.
    pub cb_size_max_total: u16,
    /// @80 cbUncFreeDest.
    pub cb_unc_free_dest: u16,
    /// @82 ilineMerge.
    pub iline_merge: u16,
    /// @84 flags.
    pub flags: MergeFlags,
    /// @85 mergetype.
    pub merge_type: u8,
    /// Separator key (cbKeyParentSep @86).
    pub key_sep: &'a [u8],
    /// Merge2 only: the page's before-image.
    pub before_image: Option<BeforeImage<'a>>,
}

/// PageMove (LRPAGEMOVE, logapi.hxx ~1098).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageMove<'a> {
    /// LRPAGE_ (pgno = the source page).
    pub page: PageRef,
    /// @32 destination.
    pub pgno_dest: u32,
    /// @36 left sibling.
    pub pgno_left: u32,
    /// @40 right sibling.
    pub pgno_right: u32,
    /// @44 parent.
    pub pgno_parent: u32,
    /// @48 left sibling's dbtime before.
    pub dbtime_left_before: u64,
    /// @56 right sibling's dbtime before.
    pub dbtime_right_before: u64,
    /// @64 parent's dbtime before.
    pub dbtime_parent_before: u64,
    /// @72 FDP.
    pub pgno_fdp: u32,
    /// @76 object id.
    pub objid_fdp: u32,
    /// @80 line of the parent's pointer.
    pub iline_parent: u32,
    /// @84 fMoveFlags.
    pub move_flags: u32,
    /// Source page header image (cbPageHeader @88).
    pub header_image: &'a [u8],
    /// Source page trailer image (cbPageTrailer @92).
    pub trailer_image: &'a [u8],
}

/// CreateDB (LRCREATEDB, logapi.hxx ~1608).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CreateDb<'a> {
    /// @1 session.
    pub procid: u16,
    /// @3 database id.
    pub dbid: u8,
    /// @4 grbit.
    pub grbit: u32,
    /// @8 cpgDatabaseSizeMax.
    pub cpg_max: u32,
    /// @12 signDb.
    pub sign_db: SignatureBytes,
    /// @42 flags (0x04 version present, 0x08 Unicode path, 0x10 sparse).
    pub flags: u8,
    /// @43 (version, update-major) when flag 0x04 is set.
    pub version: Option<(u16, u16)>,
    /// Path bytes (cbPath @40), at 47 with a version, 43 without.
    pub path: LoggedPath<'a>,
}

/// AttachDB (LRATTACHDB, logapi.hxx ~1696).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachDb<'a> {
    /// @1 session.
    pub procid: u16,
    /// @3 database id.
    pub dbid: u8,
    /// @4 cpgDatabaseSizeMax.
    pub cpg_max: u32,
    /// @8 lgposConsistent.
    pub lgpos_consistent: Lgpos,
    /// @16 signDb.
    pub sign_db: SignatureBytes,
    /// @44 signLog.
    pub sign_log: SignatureBytes,
    /// @74 flags (0x08 Unicode path, 0x10 sparse).
    pub flags: u8,
    /// Path bytes (cbPath @72) at 75.
    pub path: LoggedPath<'a>,
}

/// DetachDB (LRDETACHCOMMON / LRDETACHDB, logapi.hxx ~1739).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetachDb<'a> {
    /// @1 session.
    pub procid: u16,
    /// @3 database id.
    pub dbid: u8,
    /// @6 flags (0x10 Unicode path).
    pub flags: u8,
    /// Path bytes (cbPath @4) at 7.
    pub path: LoggedPath<'a>,
}

/// A database path as logged: ANSI, or UTF-16 when the record's flag says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedPath<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// UTF-16LE.
    pub unicode: bool,
}

impl LoggedPath<'_> {
    /// The path as text.
    pub fn text(&self) -> String {
        if self.unicode {
            crate::parse::attach_info::decode_name(self.bytes, true)
        } else {
            crate::parse::primitives::ansi_z(self.bytes)
        }
    }
}

/// Term, Term2, RecoveryQuit(2), RecoveryQuitKeepAttachments (LRTERMREC,
/// LRTERMREC2, logapi.hxx ~1905).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// @1 the last beginning of undo.
    pub lgpos_undo: Lgpos,
    /// @9 lgposRedoFrom.
    pub lgpos_redo_from: Lgpos,
    /// @17 fHard.
    pub hard: u8,
    /// @18 the time (the "2" types).
    pub logtime: Option<[u8; 8]>,
}

/// MacroBegin / MacroCommit / MacroAbort.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacroOp {
    /// lrtyp 11.
    Begin,
    /// lrtyp 12.
    Commit,
    /// lrtyp 13.
    Abort,
}

/// The width of a Delta (Delta 32 bits, Delta64 64 bits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeltaWidth {
    /// LRDELTA32.
    W32,
    /// LRDELTA64.
    W64,
}

/// Delta / Delta64 (`_LRDELTA`, logapi.hxx ~750).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta<'a> {
    /// LRNODE_.
    pub node: NodeRef,
    /// Bookmark (lengths @44, @46; bytes after the fixed part).
    pub bookmark: Bookmark<'a>,
    /// @48 the delta, sign-extended.
    pub delta: i64,
    /// Width of the counter.
    pub width: DeltaWidth,
    /// @52 (Delta) / @56 (Delta64) offset of the counter in the node's data.
    pub offset: u16,
}

/// Replace / ReplaceD (LRREPLACE, logapi.hxx ~708).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replace<'a> {
    /// LRNODE_.
    pub node: NodeRef,
    /// Bit 15 of the u16 @44: ReplaceD's differences are DIFFHDR2.
    pub diff2: bool,
    /// @46 cbOldData.
    pub cb_old: u16,
    /// @48 cbNewData.
    pub cb_new: u16,
    /// The after-image (Replace) or the differences (ReplaceD), cb & 0x7FFF
    /// bytes at 50.
    pub data: &'a [u8],
}

/// A record, decoded. `Other` carries the types nothing consumes field by
/// field (names and sizes only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record<'a> {
    /// 0: padding.
    Nop,
    /// 1 / 49: DBMS_PARAM @1 (LRINIT ~1883); `v2` adds a LOGTIME.
    Init {
        /// The 567 bytes of DBMS_PARAM.
        dbms_param: &'a [u8],
        /// Init2 (49).
        v2: bool,
    },
    /// 2 / 50.
    Term(Term),
    /// 18 / 52 / 80.
    RecoveryQuit {
        /// The fields.
        term: Term,
        /// RecoveryQuitKeepAttachments (80).
        keep_attachments: bool,
    },
    /// 17 / 51.
    RecoveryUndo {
        /// RecoveryUndo2: the time @1.
        logtime: Option<[u8; 8]>,
    },
    /// 23.
    ShutDownMark,
    /// 5 Begin, 8 Begin0, 53 BeginDT (LRBEGIN ~1376: levelBeginFrom low
    /// nibble, clevelsToBegin high nibble of byte 3; LRBEGIN0 + trxBegin0 @4).
    Begin {
        /// @1 session.
        procid: u16,
        /// Level the begin starts from.
        from: Level,
        /// Levels begun.
        count: u8,
        /// Begin0 / BeginDT: trxBegin0 @4.
        trx_begin0: Option<u32>,
        /// BeginDT.
        distributed: bool,
    },
    /// 6 Commit, 9 Commit0 (LRCOMMIT ~1433: levelCommitTo @3; LRCOMMIT0 +
    /// trxCommit0 @4).
    Commit {
        /// @1 session.
        procid: u16,
        /// @3 levelCommitTo.
        to: Level,
        /// Commit0: trxCommit0 @4.
        trx_commit0: Option<u32>,
    },
    /// 7 (LRROLLBACK ~1455: levelRollback @3).
    Rollback {
        /// @1 session.
        procid: u16,
        /// @3 levels rolled back.
        levels: u8,
    },
    /// 10 (LRREFRESH ~1407).
    Refresh {
        /// @1 session.
        procid: u16,
        /// @3 trxBegin0.
        trx_begin0: u32,
    },
    /// 54 PrepCommit, 55 PrepRollback, 57 ForceWriteLog: LRTRX_ (procid @1)
    /// is all that is read.
    Session {
        /// Record type.
        lrtyp: u8,
        /// @1 session.
        procid: u16,
    },
    /// 11–13 (LRMACROBEGIN ~1474, LRMACROEND ~1485).
    Macro {
        /// Which.
        op: MacroOp,
        /// @1 session.
        procid: u16,
        /// @3 the macro's dbtime.
        dbtime: u64,
    },
    /// 14.
    CreateDb(CreateDb<'a>),
    /// 15.
    AttachDb(AttachDb<'a>),
    /// 16.
    DetachDb(DetachDb<'a>),
    /// 79 (LRCREATEDBFINISH ~1679).
    CreateDbFinish {
        /// @1 session.
        procid: u16,
        /// @3 database id.
        dbid: u8,
    },
    /// 72 (LRREATTACHDB ~2396, LRIGNORED shape).
    ReAttach {
        /// @5 database id.
        dbid: u8,
        /// @6 lgposAttach.
        lgpos_attach: Lgpos,
        /// @14 lgposConsistent.
        lgpos_consistent: Lgpos,
        /// @22 signDb.
        sign_db: SignatureBytes,
    },
    /// 22 Trace, 61 ForceLogRollover (LRTRACE ~2059): procid @1, text
    /// (cb @3) @5.
    Trace {
        /// @1 session.
        procid: u16,
        /// The text bytes.
        text: &'a [u8],
        /// ForceLogRollover.
        rollover: bool,
    },
    /// 24 (LRCREATEMEFDP ~1270).
    CreateMultipleExtentFdp {
        /// LRPAGE_.
        page: PageRef,
        /// @32 new tree's object id.
        objid: u32,
        /// @36 owned-extent tree root.
        pgno_oe: u32,
        /// @40 available-extent tree root.
        pgno_ae: u32,
        /// @44 parent FDP.
        pgno_fdp_parent: u32,
        /// @48 primary extent size.
        cpg_primary: u32,
        /// @52 page flags.
        page_flags: u32,
    },
    /// 25 (LRCREATESEFDP ~1286).
    CreateSingleExtentFdp {
        /// LRPAGE_.
        page: PageRef,
        /// @32 object id.
        objid: u32,
        /// @36 parent FDP.
        pgno_fdp_parent: u32,
        /// @40 primary extent size.
        cpg_primary: u32,
        /// @44 page flags.
        page_flags: u32,
    },
    /// 58 (LRCONVERTFDP ~1320).
    ConvertFdp {
        /// LRPAGE_.
        page: PageRef,
        /// @32 object id.
        objid: u32,
        /// @36 owned-extent root.
        pgno_oe: u32,
        /// @40 available-extent root.
        pgno_ae: u32,
        /// @44 parent FDP.
        pgno_fdp_parent: u32,
        /// @48 first page of the secondary extent.
        pgno_secondary_first: u32,
        /// @52 primary extent size.
        cpg_primary: u32,
        /// @56 secondary extent size.
        cpg_secondary: u32,
        /// @60 availability bitmap.
        rgbit_avail: u32,
        /// @64 page flags.
        page_flags: u32,
    },
    /// 26: the pre-Split2 ConvertFDP (only its page prefix is used).
    ConvertFdpOld {
        /// LRPAGE_.
        page: PageRef,
    },
    /// 27 / 62.
    Split(Split<'a>),
    /// 28 / 63.
    Merge(Merge<'a>),
    /// 29 (LRINSERT ~637).
    Insert {
        /// LRNODE_.
        node: NodeRef,
        /// Key (cbSuffix @44, cbPrefix @46) at 50.
        key: Key<'a>,
        /// Data (cbData @48) after the key.
        data: &'a [u8],
    },
    /// 30 (LRFLAGINSERT ~662).
    FlagInsert {
        /// LRNODE_.
        node: NodeRef,
        /// Key (cbKey @44) at 48.
        key: &'a [u8],
        /// Data (cbData @46).
        data: &'a [u8],
    },
    /// 31 (LRFLAGINSERTANDREPLACEDATA ~684).
    FlagInsertAndReplaceData {
        /// LRNODE_.
        node: NodeRef,
        /// Key (cbKey @44) at 52.
        key: &'a [u8],
        /// Data (cbData @46).
        data: &'a [u8],
        /// @48 rceidReplace.
        rceid_replace: u32,
    },
    /// 32.
    FlagDelete {
        /// LRNODE_.
        node: NodeRef,
    },
    /// 33.
    Replace(Replace<'a>),
    /// 34.
    ReplaceD(Replace<'a>),
    /// 35.
    Delete {
        /// LRNODE_.
        node: NodeRef,
    },
    /// 36 (LRUNDOINFO ~829).
    UndoInfo {
        /// LRNODE_.
        node: NodeRef,
        /// Bookmark (@44, @46) at 56.
        bookmark: Bookmark<'a>,
        /// @48 the operation undone.
        oper: u16,
        /// @50 cbMaxSize.
        cb_max_size: i16,
        /// @52 cbDelta.
        cb_delta: i16,
        /// The before-image (cbData @54) after the bookmark.
        data: &'a [u8],
    },
    /// 37.
    Delta(Delta<'a>),
    /// 93.
    Delta64(Delta<'a>),
    /// 38 (LRSETEXTERNALHEADER ~855).
    SetExternalHeader {
        /// LRNODE_.
        node: NodeRef,
        /// The header (cbData @44) at 46.
        data: &'a [u8],
    },
    /// 39 (LRUNDO ~805).
    Undo {
        /// LRNODE_.
        node: NodeRef,
        /// Bookmark (@44, @46) at 51.
        bookmark: Bookmark<'a>,
        /// @48 the operation undone.
        oper: u16,
        /// @50 level.
        level: Level,
    },
    /// 48 (LREMPTYTREE ~1037).
    EmptyTree {
        /// LRNODE_.
        node: NodeRef,
        /// EMPTYPAGE entries (cb @44) at 46: see [`EmptyPage::list`].
        empty_pages: &'a [u8],
    },
    /// 64 (LRSCRUB ~442).
    Scrub {
        /// LRNODE_.
        node: NodeRef,
        /// @44 flags (0x1: the page is unused).
        flags: u32,
        /// @48 count of operations.
        cscrub_oper: u32,
        /// One SCRUBOPER byte per line (cb @52) at 54.
        ops: &'a [u8],
    },
    /// 65.
    PageMove(PageMove<'a>),
    /// 66 (LRPAGEPATCHREQUEST ~323).
    PagePatch {
        /// @1 database id.
        dbid: u8,
        /// @2 page.
        pgno: u32,
        /// @6 dbtime.
        dbtime: u64,
    },
    /// 95 (LRNEWPAGE ~1055).
    NewPage {
        /// @1 session.
        procid: u16,
        /// @3 database id.
        dbid: u8,
        /// @4 page.
        pgno: u32,
        /// @8 object id.
        objid: u32,
        /// @12 dbtime after.
        dbtime_after: u64,
    },
    /// 96 (LRROOTPAGEMOVE ~1218).
    RootPageMove {
        /// @1 dbtime after.
        dbtime_after: u64,
        /// @9 database id.
        dbid: u8,
        /// @10 object id.
        objid: u32,
        /// @14 session.
        procid: u16,
    },
    /// 78 / 94 / 99 (LRSHRINKDB ~2254, LRSHRINKDB3 ~2315).
    ShrinkDb {
        /// @1 database id.
        dbid: u8,
        /// @2 pgnoLast.
        pgno_last: u32,
        /// @6 cpgShrunk.
        cpg_shrunk: u32,
        /// ShrinkDB3: dbtime @10.
        dbtime: Option<u64>,
    },
    /// 81 (LRTRIMDB ~2351).
    TrimDb {
        /// @1 database id.
        dbid: u8,
        /// @2 first page zeroed.
        pgno_start: u32,
        /// @6 pages zeroed.
        cpg: u32,
    },
    /// 68 (LREXTENDDB ~2084, LRIGNORED shape).
    ExtendDb {
        /// @5 database id.
        dbid: u8,
        /// @6 pgnoLast.
        pgno_last: u32,
    },
    /// 92 (LRSETDBVERSION ~2456).
    SetDbVersion {
        /// @1 database id.
        dbid: u8,
        /// @2 the three u32 (major, update-major, update-minor) as logged.
        version: [u8; 12],
    },
    /// 97 (LRSIGNALATTACHDB ~1777), 100 / 101 (LREXTENTFREED ~2496): the
    /// database id @1 only.
    DbSignal {
        /// Record type.
        lrtyp: u8,
        /// @1 database id.
        dbid: u8,
    },
    /// 73 / 74 (LRMACROINFO2 ~1548, LRFREEFDP ~1339): ignorable, the
    /// database id @5.
    IgnorableDb {
        /// Record type.
        lrtyp: u8,
        /// @5 database id.
        dbid: u8,
    },
    /// Every other type: nothing is read beyond the type.
    Other {
        /// Record type.
        lrtyp: u8,
    },
}

/// One EMPTYPAGE entry of an EmptyTree (16 bytes: dbtimeBefore u64, pgno
/// u32, padding; logapi.hxx ~1037, `ErrLGRIRedoEmptyTree`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmptyPage {
    /// dbtime before.
    pub dbtime_before: u64,
    /// Page.
    pub pgno: u32,
}

impl EmptyPage {
    /// The entries of an EmptyTree's list (a trailing partial entry is
    /// ignored, as ESE's loop does).
    pub fn list(bytes: &[u8]) -> impl Iterator<Item = EmptyPage> + '_ {
        bytes.chunks_exact(16).map(|e| EmptyPage {
            dbtime_before: u64::from_le_bytes(e[0..8].try_into().unwrap_or([0; 8])),
            pgno: u32::from_le_bytes(e[8..12].try_into().unwrap_or([0; 4])),
        })
    }
}

type D<T> = Result<T, DecodeError>;

impl PageRef {
    /// LRPAGE_ at the start of `b`, whatever the type byte says.
    pub fn read(b: &[u8]) -> Result<PageRef, DecodeError> {
        page_ref(&Fields {
            b,
            lrtyp: b.first().copied().unwrap_or(0),
        })
    }
}

impl NodeRef {
    /// LRNODE_ at the start of `b`, whatever the type byte says.
    pub fn read(b: &[u8]) -> Result<NodeRef, DecodeError> {
        node_ref(&Fields {
            b,
            lrtyp: b.first().copied().unwrap_or(0),
        })
    }
}

fn page_ref(f: &Fields<'_>) -> D<PageRef> {
    Ok(PageRef {
        procid: f.u16(1, "procid")?,
        dbid: f.u8(3, "dbid")?,
        pgno: f.u32(4, "pgno")?,
        dbtime: f.u64(8, "dbtime")?,
        dbtime_before: f.u64(16, "dbtimeBefore")?,
        trx_begin0: f.u32(24, "trxBegin0")?,
        level: Level(f.u8(28, "level")?),
        iline: f.u16(29, "iline")?,
        flags: PageFlags(f.u8(31, "flags")?),
    })
}

fn node_ref(f: &Fields<'_>) -> D<NodeRef> {
    Ok(NodeRef {
        page: page_ref(f)?,
        rceid: f.u32(32, "rceid")?,
        pgno_fdp: f.u32(36, "pgnoFDP")?,
        objid_fdp: f.u32(40, "objidFDP")?,
    })
}

/// Consecutive variable parts after a fixed part.
struct Tail<'f, 'a> {
    f: &'f Fields<'a>,
    at: usize,
}

impl<'a> Tail<'_, 'a> {
    fn take(&mut self, n: usize, field: &'static str) -> D<&'a [u8]> {
        let s = self.f.bytes(self.at, n, field)?;
        self.at += n;
        Ok(s)
    }
}

fn whole_key(k: &[u8]) -> Key<'_> {
    Key {
        prefix: &[],
        suffix: k,
    }
}

fn bookmark<'a>(f: &Fields<'a>, at: usize) -> D<(Bookmark<'a>, usize)> {
    let (ck, cd) = (
        f.u16(44, "cbBookmarkKey")? as usize,
        f.u16(46, "cbBookmarkData")? as usize,
    );
    let mut t = Tail { f, at };
    let key = whole_key(t.take(ck, "bookmark key")?);
    let data = t.take(cd, "bookmark data")?;
    Ok((Bookmark { key, data }, t.at))
}

fn trx_record(f: &Fields<'_>, t: u8) -> D<Record<'static>> {
    let procid = f.u16(1, "procid")?;
    Ok(match t {
        5 | 8 | 53 => {
            let lv = f.u8(3, "levels")?;
            Record::Begin {
                procid,
                from: Level(lv & 0xF),
                count: lv >> 4,
                trx_begin0: if t == 5 {
                    None
                } else {
                    Some(f.u32(4, "trxBegin0")?)
                },
                distributed: t == 53,
            }
        }
        6 | 9 => Record::Commit {
            procid,
            to: Level(f.u8(3, "levelCommitTo")?),
            trx_commit0: if t == 9 {
                Some(f.u32(4, "trxCommit0")?)
            } else {
                None
            },
        },
        7 => Record::Rollback {
            procid,
            levels: f.u8(3, "levelRollback")?,
        },
        10 => Record::Refresh {
            procid,
            trx_begin0: f.u32(3, "trxBegin0")?,
        },
        _ => Record::Macro {
            op: match t {
                11 => MacroOp::Begin,
                12 => MacroOp::Commit,
                _ => MacroOp::Abort,
            },
            procid,
            dbtime: f.u64(3, "dbtime")?,
        },
    })
}

fn term(f: &Fields<'_>, v2: bool) -> D<Term> {
    Ok(Term {
        lgpos_undo: f.lgpos(1, "lgpos")?,
        lgpos_redo_from: f.lgpos(9, "lgposRedoFrom")?,
        hard: f.u8(17, "fHard")?,
        logtime: if v2 {
            Some(f.arr(18, "logtime")?)
        } else {
            None
        },
    })
}

fn create_db<'a>(f: &Fields<'a>) -> D<CreateDb<'a>> {
    let flags = f.u8(42, "flags")?;
    let cb = f.u16(40, "cbPath")? as usize;
    let version = if flags & 0x04 != 0 {
        Some((f.u16(43, "version")?, f.u16(45, "update-major")?))
    } else {
        None
    };
    let at = if version.is_some() { 47 } else { 43 };
    Ok(CreateDb {
        procid: f.u16(1, "procid")?,
        dbid: f.u8(3, "dbid")?,
        grbit: f.u32(4, "grbit")?,
        cpg_max: f.u32(8, "cpgMax")?,
        sign_db: f.sig(12, "signDb")?,
        flags,
        version,
        path: LoggedPath {
            bytes: f.bytes(at, cb, "path")?,
            unicode: flags & 0x08 != 0,
        },
    })
}

fn attach_db<'a>(f: &Fields<'a>) -> D<AttachDb<'a>> {
    let flags = f.u8(74, "flags")?;
    Ok(AttachDb {
        procid: f.u16(1, "procid")?,
        dbid: f.u8(3, "dbid")?,
        cpg_max: f.u32(4, "cpgMax")?,
        lgpos_consistent: f.lgpos(8, "lgposConsistent")?,
        sign_db: f.sig(16, "signDb")?,
        sign_log: f.sig(44, "signLog")?,
        flags,
        path: LoggedPath {
            bytes: f.bytes(75, f.u16(72, "cbPath")? as usize, "path")?,
            unicode: flags & 0x08 != 0,
        },
    })
}

fn detach_db<'a>(f: &Fields<'a>) -> D<DetachDb<'a>> {
    let flags = f.u8(6, "flags")?;
    Ok(DetachDb {
        procid: f.u16(1, "procid")?,
        dbid: f.u8(3, "dbid")?,
        flags,
        path: LoggedPath {
            bytes: f.bytes(7, f.u16(4, "cbPath")? as usize, "path")?,
            unicode: flags & 0x10 != 0,
        },
    })
}

fn split<'a>(f: &Fields<'a>, v2: bool) -> D<Split<'a>> {
    let (ckp, cpo, cpn) = (
        f.u16(100, "cbKeyParent")? as usize,
        f.u16(96, "cbPrefixSplitOld")? as usize,
        f.u16(98, "cbPrefixSplitNew")? as usize,
    );
    let mut t = Tail {
        f,
        at: if v2 { 110 } else { 102 },
    };
    let key_parent = t.take(ckp, "key parent")?;
    let prefix_split_old = t.take(cpo, "prefix split old")?;
    let prefix_split_new = t.take(cpn, "prefix split new")?;
    let before_image = if v2 {
        let cb = f.u32(106, "cbPageBeforeImage")? as usize;
        Some(BeforeImage {
            flags: f.u32(102, "flags")?,
            bytes: t.take(cb, "page before-image")?,
        })
    } else {
        None
    };
    Ok(Split {
        page: page_ref(f)?,
        pgno_new: f.u32(32, "pgnoNew")?,
        pgno_right: f.u32(36, "pgnoRight")?,
        dbtime_right_before: f.u64(40, "dbtimeRightBefore")?,
        pgno_parent: f.u32(48, "pgnoParent")?,
        dbtime_parent_before: f.u64(52, "dbtimeParentBefore")?,
        pgno_fdp: f.u32(60, "pgnoFDP")?,
        objid_fdp: f.u32(64, "objidFDP")?,
        split_type: f.u8(68, "splittype")?,
        split_oper: f.u8(69, "splitoper")?,
        iline_oper: f.u16(70, "ilineOper")?,
        iline_split: f.u16(72, "ilineSplit")?,
        clines: f.u16(74, "clines")?,
        new_page_flags: f.u32(76, "fNewPageFlags")?,
        split_page_flags: f.u32(80, "fSplitPageFlags")?,
        cb_unc_free_src: f.u16(84, "cbUncFreeSrc")?,
        cb_unc_free_dest: f.u16(86, "cbUncFreeDest")?,
        iline_prefix_split: f.u32(88, "ilinePrefixSplit")? as i32,
        iline_prefix_new: f.u32(92, "ilinePrefixNew")? as i32,
        key_parent,
        prefix_split_old,
        prefix_split_new,
        before_image,
    })
}

fn merge<'a>(f: &Fields<'a>, v2: bool) -> D<Merge<'a>> {
    let ck = f.u16(86, "cbKeyParentSep")? as usize;
    let mut t = Tail {
        f,
        at: if v2 { 96 } else { 88 },
    };
    let key_sep = t.take(ck, "separator key")?;
    let before_image = if v2 {
        let cb = f.u32(92, "cbPageBeforeImage")? as usize;
        Some(BeforeImage {
            flags: f.u32(88, "flags")?,
            bytes: t.take(cb, "page before-image")?,
        })
    } else {
        None
    };
    Ok(Merge {
        page: page_ref(f)?,
        pgno_right: f.u32(32, "pgnoRight")?,
        dbtime_right_before: f.u64(36, "dbtimeRightBefore")?,
        pgno_left: f.u32(44, "pgnoLeft")?,
        dbtime_left_before: f.u64(48, "dbtimeLeftBefore")?,
        pgno_parent: f.u32(56, "pgnoParent")?,
        dbtime_parent_before: f.u64(60, "dbtimeParentBefore")?,
        pgno_fdp: f.u32(68, "pgnoFDP")?,
        objid_fdp: f.u32(72, "objidFDP")?,
        cb_size_total: f.u16(76, "cbSizeTotal")?,
        cb_size_max_total: f.u16(78, "cbSizeMaxTotal")?,
        cb_unc_free_dest: f.u16(80, "cbUncFreeDest")?,
        iline_merge: f.u16(82, "ilineMerge")?,
        flags: MergeFlags(f.u8(84, "flags")?),
        merge_type: f.u8(85, "mergetype")?,
        key_sep,
        before_image,
    })
}

fn page_move<'a>(f: &Fields<'a>) -> D<PageMove<'a>> {
    let (cbh, cbt) = (
        f.u32(88, "cbPageHeader")? as usize,
        f.u32(92, "cbPageTrailer")? as usize,
    );
    let mut t = Tail { f, at: 96 };
    Ok(PageMove {
        page: page_ref(f)?,
        pgno_dest: f.u32(32, "pgnoDest")?,
        pgno_left: f.u32(36, "pgnoLeft")?,
        pgno_right: f.u32(40, "pgnoRight")?,
        pgno_parent: f.u32(44, "pgnoParent")?,
        dbtime_left_before: f.u64(48, "dbtimeLeftBefore")?,
        dbtime_right_before: f.u64(56, "dbtimeRightBefore")?,
        dbtime_parent_before: f.u64(64, "dbtimeParentBefore")?,
        pgno_fdp: f.u32(72, "pgnoFDP")?,
        objid_fdp: f.u32(76, "objidFDP")?,
        iline_parent: f.u32(80, "ilineParent")?,
        move_flags: f.u32(84, "fMoveFlags")?,
        header_image: t.take(cbh, "page header image")?,
        trailer_image: t.take(cbt, "page trailer image")?,
    })
}

fn delta<'a>(f: &Fields<'a>, width: DeltaWidth) -> D<Delta<'a>> {
    let (delta, offset, fixed) = match width {
        DeltaWidth::W32 => (
            f.u32(48, "delta")? as i32 as i64,
            f.u16(52, "cbOffset")?,
            54,
        ),
        DeltaWidth::W64 => (f.u64(48, "delta")? as i64, f.u16(56, "cbOffset")?, 58),
    };
    Ok(Delta {
        node: node_ref(f)?,
        bookmark: bookmark(f, fixed)?.0,
        delta,
        width,
        offset,
    })
}

fn replace<'a>(f: &Fields<'a>) -> D<Replace<'a>> {
    let cb = f.u16(44, "cb")?;
    Ok(Replace {
        node: node_ref(f)?,
        diff2: cb & 0x8000 != 0,
        cb_old: f.u16(46, "cbOldData")?,
        cb_new: f.u16(48, "cbNewData")?,
        data: f.bytes(50, (cb & 0x7FFF) as usize, "data")?,
    })
}

fn node_record<'a>(f: &Fields<'a>, t: u8) -> D<Record<'a>> {
    let node = node_ref(f)?;
    Ok(match t {
        29 => {
            let (cs, cp, cd) = (
                f.u16(44, "cbSuffix")? as usize,
                f.u16(46, "cbPrefix")? as usize,
                f.u16(48, "cbData")? as usize,
            );
            let mut tl = Tail { f, at: 50 };
            let prefix = tl.take(cp, "key prefix")?;
            let suffix = tl.take(cs, "key suffix")?;
            Record::Insert {
                node,
                key: Key { prefix, suffix },
                data: tl.take(cd, "data")?,
            }
        }
        30 | 31 => {
            let (ck, cd) = (f.u16(44, "cbKey")? as usize, f.u16(46, "cbData")? as usize);
            let mut tl = Tail {
                f,
                at: if t == 30 { 48 } else { 52 },
            };
            let key = tl.take(ck, "key")?;
            let data = tl.take(cd, "data")?;
            if t == 30 {
                Record::FlagInsert { node, key, data }
            } else {
                Record::FlagInsertAndReplaceData {
                    node,
                    key,
                    data,
                    rceid_replace: f.u32(48, "rceidReplace")?,
                }
            }
        }
        32 => Record::FlagDelete { node },
        33 => Record::Replace(replace(f)?),
        34 => Record::ReplaceD(replace(f)?),
        35 => Record::Delete { node },
        36 => {
            let (bookmark, end) = bookmark(f, 56)?;
            let cb = f.u16(54, "cbData")? as usize;
            Record::UndoInfo {
                node,
                bookmark,
                oper: f.u16(48, "oper")?,
                cb_max_size: f.u16(50, "cbMaxSize")? as i16,
                cb_delta: f.u16(52, "cbDelta")? as i16,
                data: f.bytes(end, cb, "before-image")?,
            }
        }
        37 => Record::Delta(delta(f, DeltaWidth::W32)?),
        93 => Record::Delta64(delta(f, DeltaWidth::W64)?),
        38 => Record::SetExternalHeader {
            node,
            data: f.bytes(46, f.u16(44, "cbData")? as usize, "data")?,
        },
        39 => Record::Undo {
            node,
            bookmark: bookmark(f, 51)?.0,
            oper: f.u16(48, "oper")?,
            level: Level(f.u8(50, "level")?),
        },
        48 => Record::EmptyTree {
            node,
            empty_pages: f.bytes(46, f.u16(44, "cbEmptyPageList")? as usize, "empty pages")?,
        },
        _ => Record::Scrub {
            node,
            flags: f.u32(44, "flags")?,
            cscrub_oper: f.u32(48, "cscrubOper")?,
            ops: f.bytes(54, f.u16(52, "cbData")? as usize, "scrub operations")?,
        },
    })
}

fn fdp_record<'a>(f: &Fields<'a>, t: u8) -> D<Record<'a>> {
    let page = page_ref(f)?;
    Ok(match t {
        24 => Record::CreateMultipleExtentFdp {
            page,
            objid: f.u32(32, "objidFDP")?,
            pgno_oe: f.u32(36, "pgnoOE")?,
            pgno_ae: f.u32(40, "pgnoAE")?,
            pgno_fdp_parent: f.u32(44, "pgnoFDPParent")?,
            cpg_primary: f.u32(48, "cpgPrimary")?,
            page_flags: f.u32(52, "fPageFlags")?,
        },
        25 => Record::CreateSingleExtentFdp {
            page,
            objid: f.u32(32, "objidFDP")?,
            pgno_fdp_parent: f.u32(36, "pgnoFDPParent")?,
            cpg_primary: f.u32(40, "cpgPrimary")?,
            page_flags: f.u32(44, "fPageFlags")?,
        },
        26 => Record::ConvertFdpOld { page },
        _ => Record::ConvertFdp {
            page,
            objid: f.u32(32, "objidFDP")?,
            pgno_oe: f.u32(36, "pgnoOE")?,
            pgno_ae: f.u32(40, "pgnoAE")?,
            pgno_fdp_parent: f.u32(44, "pgnoFDPParent")?,
            pgno_secondary_first: f.u32(48, "pgnoSecondaryFirst")?,
            cpg_primary: f.u32(52, "cpgPrimary")?,
            cpg_secondary: f.u32(56, "cpgSecondary")?,
            rgbit_avail: f.u32(60, "rgbitAvail")?,
            page_flags: f.u32(64, "fPageFlags")?,
        },
    })
}

fn database_record<'a>(f: &Fields<'a>, t: u8) -> D<Record<'a>> {
    Ok(match t {
        14 => Record::CreateDb(create_db(f)?),
        15 => Record::AttachDb(attach_db(f)?),
        16 => Record::DetachDb(detach_db(f)?),
        79 => Record::CreateDbFinish {
            procid: f.u16(1, "procid")?,
            dbid: f.u8(3, "dbid")?,
        },
        72 => Record::ReAttach {
            dbid: f.u8(5, "dbid")?,
            lgpos_attach: f.lgpos(6, "lgposAttach")?,
            lgpos_consistent: f.lgpos(14, "lgposConsistent")?,
            sign_db: f.sig(22, "signDb")?,
        },
        78 | 94 | 99 => Record::ShrinkDb {
            dbid: f.u8(1, "dbid")?,
            pgno_last: f.u32(2, "pgnoLast")?,
            cpg_shrunk: f.u32(6, "cpgShrunk")?,
            dbtime: if t == 99 {
                Some(f.u64(10, "dbtime")?)
            } else {
                None
            },
        },
        81 => Record::TrimDb {
            dbid: f.u8(1, "dbid")?,
            pgno_start: f.u32(2, "pgnoStartZeroes")?,
            cpg: f.u32(6, "cpgZeroLength")?,
        },
        68 => Record::ExtendDb {
            dbid: f.u8(5, "dbid")?,
            pgno_last: f.u32(6, "pgnoLast")?,
        },
        92 => Record::SetDbVersion {
            dbid: f.u8(1, "dbid")?,
            version: f.arr(2, "version")?,
        },
        97 | 100 | 101 => Record::DbSignal {
            lrtyp: t,
            dbid: f.u8(1, "dbid")?,
        },
        _ => Record::IgnorableDb {
            lrtyp: t,
            dbid: f.u8(5, "dbid")?,
        },
    })
}

fn misc_record<'a>(f: &Fields<'a>, t: u8) -> D<Record<'a>> {
    Ok(match t {
        0 => Record::Nop,
        1 | 49 => Record::Init {
            dbms_param: f.bytes(1, 567, "DBMS_PARAM")?,
            v2: t == 49,
        },
        2 | 50 => Record::Term(term(f, t == 50)?),
        18 | 52 | 80 => Record::RecoveryQuit {
            term: term(f, t != 18)?,
            keep_attachments: t == 80,
        },
        17 => Record::RecoveryUndo { logtime: None },
        51 => Record::RecoveryUndo {
            logtime: Some(f.arr(1, "logtime")?),
        },
        23 => Record::ShutDownMark,
        22 | 61 => Record::Trace {
            procid: f.u16(1, "procid")?,
            text: f.bytes(5, f.u16(3, "cb")? as usize, "text")?,
            rollover: t == 61,
        },
        66 => Record::PagePatch {
            dbid: f.u8(1, "dbid")?,
            pgno: f.u32(2, "pgno")?,
            dbtime: f.u64(6, "dbtime")?,
        },
        95 => Record::NewPage {
            procid: f.u16(1, "procid")?,
            dbid: f.u8(3, "dbid")?,
            pgno: f.u32(4, "pgno")?,
            objid: f.u32(8, "objid")?,
            dbtime_after: f.u64(12, "dbtimeAfter")?,
        },
        54 | 55 | 57 => Record::Session {
            lrtyp: t,
            procid: f.u16(1, "procid")?,
        },
        96 => Record::RootPageMove {
            dbtime_after: f.u64(1, "dbtimeAfter")?,
            dbid: f.u8(9, "dbid")?,
            objid: f.u32(10, "objid")?,
            procid: f.u16(14, "procid")?,
        },
        _ => Record::Other { lrtyp: t },
    })
}

impl<'a> Record<'a> {
    /// Decodes one record (its bytes from the type byte on). Bytes after
    /// the last field a type has are not looked at.
    pub fn decode(b: &'a [u8]) -> Result<Record<'a>, DecodeError> {
        let Some(&t) = b.first() else {
            return Err(DecodeError {
                lrtyp: 0,
                field: "lrtyp",
                offset: 0,
                need: 1,
                len: 0,
            });
        };
        let f = Fields { b, lrtyp: t };
        match t {
            5..=13 | 53 => Ok(trx_record(&f, t)?),
            14..=16 | 68 | 72..=74 | 78 | 79 | 81 | 92 | 94 | 97 | 99..=101 => {
                database_record(&f, t)
            }
            24..=26 | 58 => fdp_record(&f, t),
            27 | 62 => Ok(Record::Split(split(&f, t == 62)?)),
            28 | 63 => Ok(Record::Merge(merge(&f, t == 63)?)),
            29..=39 | 48 | 64 | 93 => node_record(&f, t),
            65 => Ok(Record::PageMove(page_move(&f)?)),
            _ => misc_record(&f, t),
        }
    }

    /// LRPAGE_ of a page record.
    pub fn page(&self) -> Option<&PageRef> {
        use Record::*;
        match self {
            CreateMultipleExtentFdp { page, .. }
            | CreateSingleExtentFdp { page, .. }
            | ConvertFdp { page, .. }
            | ConvertFdpOld { page } => Some(page),
            Split(s) => Some(&s.page),
            Merge(m) => Some(&m.page),
            PageMove(m) => Some(&m.page),
            _ => self.node().map(|n| &n.page),
        }
    }

    /// CreateDB and AttachDB: the database id, signature and path they
    /// log (signDb @12 and @16 respectively).
    pub fn signed_database(&self) -> Option<(u8, &SignatureBytes, LoggedPath<'a>)> {
        match self {
            Record::CreateDb(c) => Some((c.dbid, &c.sign_db, c.path)),
            Record::AttachDb(a) => Some((a.dbid, &a.sign_db, a.path)),
            _ => None,
        }
    }

    /// LRNODE_ of a node record.
    pub fn node(&self) -> Option<&NodeRef> {
        use Record::*;
        match self {
            Insert { node, .. }
            | FlagInsert { node, .. }
            | FlagInsertAndReplaceData { node, .. }
            | FlagDelete { node }
            | Delete { node }
            | UndoInfo { node, .. }
            | SetExternalHeader { node, .. }
            | Undo { node, .. }
            | EmptyTree { node, .. }
            | Scrub { node, .. } => Some(node),
            Replace(r) | ReplaceD(r) => Some(&r.node),
            Delta(d) | Delta64(d) => Some(&d.node),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::record::{lrtyp_info, record_size, SizeRule, LRTYP_MAX};

    /// A tiny deterministic generator (xorshift) for the no-panic sweep.
    fn next(s: &mut u64) -> u64 {
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        *s
    }

    /// Every type, random bytes of every length up to 700 and every
    /// truncation of a record of its own size: decoding never panics, and a
    /// record of exactly its computed size decodes.
    #[test]
    fn random_and_truncated_bytes_never_panic() {
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        for t in 0..=255u8 {
            for round in 0..24 {
                let len = (next(&mut s) % 700) as usize;
                let mut b: Vec<u8> = (0..len.max(1)).map(|_| next(&mut s) as u8).collect();
                b[0] = t;
                if round % 2 == 0 {
                    // Small lengths so that the variable parts fit.
                    for x in b.iter_mut().skip(1) {
                        *x &= 0x07;
                    }
                }
                for cut in 0..=b.len() {
                    let _ = Record::decode(&b[..cut]);
                }
                if let Some(n) = record_size(&b) {
                    let n = n as usize;
                    // Ignorable types declare their own length: a short
                    // one is damage the size rule cannot see.
                    let sized = !matches!(lrtyp_info(t).1, SizeRule::Invalid | SizeRule::Ignorable);
                    if t < LRTYP_MAX && n <= b.len() && sized {
                        let r = Record::decode(&b[..n]);
                        assert!(r.is_ok(), "lrtyp {t}: {:?}", r.err());
                    }
                }
            }
        }
    }

    #[test]
    fn error_names_type_field_and_offset() {
        let e = Record::decode(&[29, 5, 0, 1]).unwrap_err();
        assert_eq!((e.lrtyp, e.field, e.offset), (29, "pgno", 4));
        assert!(e.text().contains("(Insert)"), "{}", e.text());
        assert_eq!(Record::decode(&[]).unwrap_err().need, 1);
    }
}
