//! JSON view of `/mk` (checkpoint dump).

use serde::Serialize;

use crate::parse::checkpoint::{Checkpoint, CheckpointPair};

/// Checksum facts of one checkpoint copy.
#[derive(Debug, Clone, Serialize)]
pub struct CkptCopyReport {
    /// Stored checksum.
    pub stored_checksum: String,
    /// Recomputed checksum.
    pub computed_checksum: String,
    /// Whether they match.
    pub checksum_ok: bool,
}

/// The `/mk --json` document.
#[derive(Debug, Clone, Serialize)]
pub struct MkReport {
    /// Always "eseutil-rs".
    pub tool: &'static str,
    /// Program version.
    pub version: &'static str,
    /// Always "mk".
    pub mode: &'static str,
    /// The file as given.
    pub file: String,
    /// File length.
    pub file_size: u64,
    /// Primary copy (offset 0).
    pub primary: CkptCopyReport,
    /// Shadow copy (offset 4096).
    pub shadow: Option<CkptCopyReport>,
    /// Whether the two copies are identical.
    pub copies_identical: bool,
    /// Which copy the fields come from: "primary" or "shadow".
    pub used_copy: &'static str,
    /// Every field of the used copy.
    pub checkpoint: Checkpoint,
    /// Warnings about the copies.
    pub warnings: Vec<String>,
}

/// Warnings about a checkpoint pair.
pub fn warnings(pair: &CheckpointPair) -> Vec<String> {
    let mut w = Vec::new();
    if pair.shadow.is_some() && !pair.identical {
        w.push("WARNING: primary checkpoint and shadow checkpoint are not identical.".into());
    }
    if !pair.primary.checksum_ok {
        w.push("WARNING: primary checkpoint has a checksum error.".into());
    }
    match &pair.shadow {
        None => {
            w.push("WARNING: shadow checkpoint is missing (file shorter than 8192 bytes).".into())
        }
        Some(s) if !s.checksum_ok => {
            w.push("WARNING: shadow checkpoint has a checksum error.".into())
        }
        _ => {}
    }
    if let Some(off) = pair.checkpoint().attach_list_error {
        w.push(format!(
            "WARNING: attached-database list is damaged at offset {} of the attach area.",
            off
        ));
    }
    w
}

impl MkReport {
    /// Builds the report.
    pub fn new(file: String, file_size: u64, pair: &CheckpointPair) -> Self {
        let c = |x: &crate::parse::checkpoint::CheckpointCopy| CkptCopyReport {
            stored_checksum: format!("0x{:08x}", x.stored_checksum),
            computed_checksum: format!("0x{:08x}", x.computed_checksum),
            checksum_ok: x.checksum_ok,
        };
        MkReport {
            tool: "eseutil-rs",
            version: env!("CARGO_PKG_VERSION"),
            mode: "mk",
            file,
            file_size,
            primary: c(&pair.primary),
            shadow: pair.shadow.as_ref().map(c),
            copies_identical: pair.identical,
            used_copy: if pair.used_shadow {
                "shadow"
            } else {
                "primary"
            },
            checkpoint: pair.checkpoint().clone(),
            warnings: warnings(pair),
        }
    }
}
