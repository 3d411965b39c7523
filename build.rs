//! Build script: tells the test suite whether the real-file corpus and the
//! peer reader (PyPI dissect.esedb) are present, so that tests needing them
//! show as *ignored* when they are absent instead of passing quietly.
//!
//! Under CI (`CI` set) both are taken as present: such tests then run and
//! fail loudly if the corpus or the peer is missing (tests/common/mod.rs).
//! Cargo does not see a Python package being installed: after
//! `pip install dissect.esedb`, `touch build.rs` to have the peer tests run
//! (and after `apt-get install libesedb-utils` for the libesedb ones).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(corpus_present)");
    println!("cargo::rustc-check-cfg=cfg(peer_present)");
    println!("cargo::rustc-check-cfg=cfg(libesedb_present)");
    // Set by cargo-fuzz: test-support code the fuzz targets use.
    println!("cargo::rustc-check-cfg=cfg(fuzzing)");
    println!("cargo::rerun-if-env-changed=ESEUTIL_CORPUS");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=build.rs");

    let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    let corpus = std::env::var_os("ESEUTIL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let dir = std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo");
            PathBuf::from(dir).join("../shared/corpus")
        });
    let facts = corpus.join("facts.jsonl");
    // A path that does not exist makes cargo rerun this script every build,
    // which is what we want: the corpus may appear later.
    println!("cargo::rerun-if-changed={}", facts.display());
    if ci || facts.is_file() {
        println!("cargo::rustc-cfg=corpus_present");
    }
    let peer = Command::new("python3")
        .args(["-c", "import dissect.esedb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ci || peer {
        println!("cargo::rustc-cfg=peer_present");
    }
    // libesedb's `esedbexport` (Debian libesedb-utils), the second peer.
    let libesedb = Command::new("esedbexport")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if ci || libesedb {
        println!("cargo::rustc-cfg=libesedb_present");
    }
}
