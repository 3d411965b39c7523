//! Ctrl-C and SIGTERM during a recovery (`/r`, `/cc`): the unfinished
//! `OUTPUT/<name>.recovering` files (and the `--in-place` work folder) are
//! removed, one line goes to stderr, and the process exits with 130
//! (128 + SIGINT, the shell convention).
//!
//! The `ctrlc` crate runs the handler on its own thread (the crate forbids
//! `unsafe`, so no hand-written signal handler). Finished databases are
//! renamed from `.recovering` atomically, so whatever the moment of the
//! signal, the output folder holds only complete databases afterwards.

use std::path::{Path, PathBuf};

/// Exit status after an interrupt.
pub const INTERRUPTED: i32 = 130;

/// Removes every `*.recovering` file directly in `dir`; returns how many.
pub fn remove_unfinished(dir: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    rd.filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "recovering") && p.is_file())
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count()
}

/// Installs the handler for a recovery writing into `output`; `workdir` is
/// a temporary folder to remove whole (`--in-place`). A second call in the
/// same process (never made by the CLI) is ignored.
pub fn on_interrupt(output: PathBuf, workdir: Option<PathBuf>) {
    let _ = ctrlc::set_handler(move || {
        let n = remove_unfinished(&output);
        if let Some(w) = &workdir {
            let _ = std::fs::remove_dir_all(w);
        }
        eprintln!(
            "eseutil-rs: interrupted: recovery stopped, {n} unfinished .recovering file(s) removed from {}; inputs untouched",
            output.display()
        );
        std::process::exit(INTERRUPTED);
    });
}

/// Test hook: `ESEUTIL_TEST_PAUSE_MS` makes a recovery sleep that long once
/// replay has read its last record (so that a test can interrupt it at a
/// known moment). Not for users.
pub fn test_pause() -> Option<std::time::Duration> {
    std::env::var("ESEUTIL_TEST_PAUSE_MS")
        .ok()?
        .parse()
        .ok()
        .map(std::time::Duration::from_millis)
}
