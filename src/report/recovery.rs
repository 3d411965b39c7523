//! The documents of `/r` and `/cc`: the recovery run ([`crate::recovery::Report`])
//! with the command's folders and what the command did after the run
//! (in-place replacement, comparison). Rendered by
//! [`crate::render::recovery`]; serialized as the JSON of both modes.

use std::path::PathBuf;

use serde::Serialize;

use crate::db::compare::CompareReport;
use crate::recovery::hard::HardReport;
use crate::recovery::Report;

/// The `/r` document.
#[derive(Debug, Serialize)]
pub struct SoftRecovery<'a> {
    /// `eseutil-rs`.
    pub tool: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// `r`.
    pub mode: &'static str,
    /// Log base name.
    pub base: String,
    /// Log folder.
    pub log_dir: PathBuf,
    /// System folder (checkpoint).
    pub system_dir: PathBuf,
    /// Database folder.
    pub db_dir: PathBuf,
    /// Output folder.
    pub output: PathBuf,
    /// Databases replaced by `--in-place` (empty otherwise).
    pub replaced_in_place: Vec<PathBuf>,
    /// Why no database was written, when none was (exit status 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_database_written: Option<String>,
    /// The run.
    #[serde(flatten)]
    pub report: &'a Report,
    /// `--compare-with`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<CompareReport>,
    /// `--in-place` was asked (text only).
    #[serde(skip)]
    pub in_place: bool,
}

/// The `/cc` document.
#[derive(Debug, Serialize)]
pub struct HardRecovery<'a> {
    /// `eseutil-rs`.
    pub tool: &'static str,
    /// Crate version.
    pub version: &'static str,
    /// `cc`.
    pub mode: &'static str,
    /// The restore folder.
    pub restore_dir: PathBuf,
    /// `/t` target instance (reported only).
    pub target_instance: Option<String>,
    /// Output folder.
    pub output: PathBuf,
    /// The checks and the run.
    #[serde(flatten)]
    pub report: &'a HardReport,
    /// `--compare-with`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<CompareReport>,
    /// Exit status of the process.
    pub exit_status: i32,
}
