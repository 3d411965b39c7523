//! README's "Forensic examples on the corpus": each `eseutil-rs …` command
//! runs, from the project folder (the corpus path replaced by the one
//! tests/common finds), and prints the `#>` lines that follow it in README.
//! The pipelines need `sh` and `jq`; without jq, the eseutil-rs part of each
//! runs alone and must succeed with output.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const SECTION: &str = "### Forensic examples on the corpus";

/// (command, expected output lines) of the section's code block.
fn examples(readme: &str) -> Vec<(String, Vec<String>)> {
    let start = readme
        .find(SECTION)
        .expect("README has the corpus examples");
    let block = &readme[start..];
    let block = &block[block.find("```sh").expect("a sh block") + 5..];
    let block = &block[..block.find("```").expect("the block ends")];
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in block.lines() {
        if line.starts_with("eseutil-rs ") {
            out.push((line.to_string(), Vec::new()));
        } else if let Some(o) = line.strip_prefix("#> ") {
            out.last_mut()
                .expect("output after a command")
                .1
                .push(o.into());
        }
    }
    out
}

fn has_jq() -> bool {
    Command::new("jq")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn sh(cmd: &str, bin_dir: &Path) -> (bool, String) {
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .expect("sh");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn readme_corpus_examples_print_what_readme_says() {
    let Some(corpus) = common::corpus() else {
        return;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_eseutil-rs"))
        .parent()
        .unwrap()
        .to_path_buf();
    let corpus = corpus.to_string_lossy().to_string();
    let ex = examples(&readme);
    assert_eq!(ex.len(), 4, "SRUM, WebCache, two timelines");
    let jq = has_jq();
    if !jq {
        eprintln!("note: jq not found; only the eseutil-rs part of each example runs");
    }
    for (cmd, want) in &ex {
        assert!(!want.is_empty(), "{cmd}: README shows no output");
        let cmd = cmd.replace("../shared/corpus", &corpus);
        if jq {
            let (_, got) = sh(&cmd, &bin_dir);
            let got: Vec<&str> = got.lines().collect();
            assert_eq!(got, *want, "{cmd}");
        } else {
            let head = cmd.split(" | ").next().unwrap();
            let (ok, got) = sh(head, &bin_dir);
            assert!(ok && !got.is_empty(), "{head}");
        }
    }
}
