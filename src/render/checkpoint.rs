//! Text rendering of a checkpoint in esentutl's layout
//! (`LOG::ErrLGDumpCheckpoint`, `ese/_log/logdump.cxx` ~67–160).

use std::fmt::Write;

use crate::parse::attach_info::AttachInfo;
use crate::parse::checkpoint::Checkpoint;

/// The per-database block of a checkpoint's attach list (`DUMPIAttachInfo`
/// for ATCHCHK): dbid and path, then 8-space indented details. A pure reader
/// has no engine state, so the LogOn/VerOn/RW flags print as the defaults.
pub fn attachment(s: &mut String, a: &AttachInfo) {
    let _ = writeln!(s, "{:7} {} LogOn VerOn RW", a.dbid, a.path);
    super::attach_details(s, a, "        ");
}

/// The checkpoint field dump.
pub fn checkpoint(c: &Checkpoint) -> String {
    let mut s = String::new();
    let w = &mut s;
    let _ = writeln!(
        w,
        "      LastFullBackupCheckpoint: {}",
        c.lgpos_last_full_backup_checkpoint.eseutil_text()
    );
    let _ = writeln!(w, "      Checkpoint: {}", c.lgpos_checkpoint.eseutil_text());
    let _ = writeln!(
        w,
        "      DbConsistency: {}",
        c.lgpos_db_consistency.eseutil_text()
    );
    let _ = writeln!(
        w,
        "      FullBackup: {}",
        c.lgpos_full_backup.eseutil_text()
    );
    let _ = writeln!(
        w,
        "      FullBackup time: {}",
        c.logtime_full_backup.eseutil_text()
    );
    let _ = writeln!(w, "      IncBackup: {}", c.lgpos_inc_backup.eseutil_text());
    let _ = writeln!(
        w,
        "      IncBackup time: {}",
        c.logtime_inc_backup.eseutil_text()
    );
    let _ = writeln!(w, "      Signature: {}", c.sign_log.eseutil_text());
    let (head, vals) = c.dbms_param.eseutil_lines();
    let _ = writeln!(w, "      {head}");
    let _ = writeln!(w, "      {vals}");
    for a in &c.attachments {
        attachment(w, a);
    }
    s
}
