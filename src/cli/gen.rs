//! `completions SHELL` and `manpages DIR`: shell completion scripts and man
//! pages generated from the clap definitions (clap_complete, clap_mangen),
//! so that they never drift from the options the program accepts.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory};

use super::{exit, Cli};
use crate::error::Error;

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh or fish (also elvish, powershell).
    pub shell: clap_complete::Shell,
}

/// Arguments of `manpages`.
#[derive(Debug, Args)]
pub struct ManpagesArgs {
    /// Folder to write the pages into (created if missing).
    pub dir: PathBuf,
}

/// The per-mode binaries and the mode each runs.
pub const MODE_BINARIES: &[(&str, &str)] = &[
    ("eseutil-mh", "mh"),
    ("eseutil-mk", "mk"),
    ("eseutil-ml", "ml"),
    ("eseutil-k", "k"),
    ("eseutil-cm", "cm"),
    ("eseutil-cc", "cc"),
];

/// Prints the completion script of `eseutil-rs` for a shell.
pub fn completions(a: &CompletionsArgs, out: &mut dyn Write) -> ExitCode {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "eseutil-rs", &mut buf);
    match out.write_all(&buf).and_then(|_| out.flush()) {
        Ok(()) => exit::exit(exit::OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::exit(exit::OK),
        Err(e) => {
            eprintln!("eseutil-rs: {}", super::stdout_err(e));
            exit::exit(exit::UNREADABLE)
        }
    }
}

/// Renders one page into `dir/<name>.1` (tmp + rename).
fn write_page(dir: &Path, cmd: clap::Command) -> Result<PathBuf, Error> {
    let name = cmd.get_name().to_string();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .map_err(|e| Error::io(dir, e))?;
    let path = dir.join(format!("{name}.1"));
    // A page this command wrote before is replaced (generated output).
    let mut out = crate::file::AtomicFile::create(&path)?;
    std::io::Write::write_all(out.file(), &buf).map_err(|e| Error::io(out.tmp_path(), e))?;
    out.commit()?;
    Ok(path)
}

/// The pages: one per per-mode binary (`eseutil-mh.1` …) and one per mode
/// of `eseutil-rs` (`eseutil-rs-mh.1` …, as git does). `eseutil-rs.1`
/// itself is the hand-written page in `man/` (exit status, JSON schema).
pub fn pages() -> Vec<clap::Command> {
    let mut root = Cli::command();
    root.build();
    let mut v = Vec::new();
    for (bin, mode) in MODE_BINARIES {
        if let Some(c) = root.find_subcommand(mode) {
            v.push(c.clone().name(*bin).display_name(*bin).bin_name(*bin));
        }
    }
    for c in root.get_subcommands() {
        let name = format!("eseutil-rs-{}", c.get_name());
        if matches!(c.get_name(), "completions" | "manpages") {
            continue;
        }
        v.push(
            c.clone()
                .name(name.clone())
                .display_name(name.clone())
                .bin_name(name),
        );
    }
    v
}

/// Writes every page into `a.dir`.
pub fn manpages(a: &ManpagesArgs) -> ExitCode {
    let run = || -> Result<usize, Error> {
        std::fs::create_dir_all(&a.dir).map_err(|e| Error::io(&a.dir, e))?;
        let mut n = 0;
        for c in pages() {
            write_page(&a.dir, c)?;
            n += 1;
        }
        Ok(n)
    };
    match run() {
        Ok(n) => {
            eprintln!("eseutil-rs: {n} man pages written to {}", a.dir.display());
            exit::exit(exit::OK)
        }
        Err(e) => {
            eprintln!("eseutil-rs: {e}");
            exit::exit(exit::code_for_error(&e))
        }
    }
}
