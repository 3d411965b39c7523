//! JSON view of `plan` (what recovery needs and will do).

use serde::Serialize;

use crate::plan::Plan;

/// The `plan --json` document: the [`Plan`] with the tool header and the
/// exit status.
#[derive(Debug, Clone, Serialize)]
pub struct PlanReport<'a> {
    /// Always "eseutil-rs".
    pub tool: &'static str,
    /// Program version.
    pub version: &'static str,
    /// Always "plan".
    pub mode: &'static str,
    /// The paths as given.
    pub inputs: Vec<String>,
    /// Whether `/r` is implemented in this version (false: the command is
    /// for Microsoft's eseutil until it is).
    pub recovery_implemented: bool,
    /// The plan.
    #[serde(flatten)]
    pub plan: &'a Plan,
    /// 0 recovery can proceed or nothing is needed, 1 something required
    /// is missing or broken.
    pub exit_status: u8,
}
