//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The real-file corpus: `$ESEUTIL_CORPUS`, else `../shared/corpus` beside
/// the project. `None` (and a note on stderr) when it is absent.
pub fn corpus() -> Option<PathBuf> {
    let p = std::env::var_os("ESEUTIL_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus"));
    if p.join("facts.jsonl").is_file() {
        Some(p)
    } else if in_ci() {
        panic!(
            "CI is set but the corpus is missing at {} (set ESEUTIL_CORPUS)",
            p.display()
        );
    } else {
        eprintln!(
            "note: corpus not found at {} (set ESEUTIL_CORPUS); corpus checks skipped",
            p.display()
        );
        None
    }
}

/// True when running under CI (`CI` set and not empty): tests that need
/// the corpus or the peer must then fail instead of skipping.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
}

/// `python3` when it can import the peer reader dissect.esedb; `None` (and
/// a note) otherwise, a panic under CI, where `.ci/run` installs it.
pub fn peer_python() -> Option<String> {
    let ok = Command::new("python3")
        .args(["-c", "import dissect.esedb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some("python3".to_string())
    } else if in_ci() {
        panic!("CI is set but python3 cannot import dissect.esedb (.ci/run installs it)");
    } else {
        eprintln!("note: python3 with dissect.esedb not importable; peer comparison skipped");
        None
    }
}

/// Every line of facts.jsonl.
pub fn facts(corpus: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(corpus.join("facts.jsonl"))
        .expect("read facts.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("facts line is JSON"))
        .collect()
}

/// Output of one run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs a binary of this package with `args`, with color and progress off.
pub fn run_bin(bin: &str, args: &[&std::ffi::OsStr]) -> Run {
    let out = Command::new(bin)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("ESEUTIL_BLESS")
        .output()
        .expect("run binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `eseutil-rs` with `args`.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let a: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_ref()).collect();
    run_bin(env!("CARGO_BIN_EXE_eseutil-rs"), &a)
}

/// Replaces the elapsed-time figures of eseutil's closing line by `X.Y`.
pub fn normalize_time(s: &str) -> String {
    s.lines()
        .map(|l| {
            for (pre, post) in [(" in ", " seconds."), (" after ", " seconds.")] {
                if let (Some(a), true) = (l.rfind(pre), l.ends_with(post)) {
                    let num = &l[a + pre.len()..l.len() - post.len()];
                    if num.chars().all(|c| c.is_ascii_digit() || c == '.') {
                        return format!("{}{pre}X.Y{post}", &l[..a]);
                    }
                }
            }
            l.to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
        + if s.ends_with('\n') { "\n" } else { "" }
}

/// sha256 of a file, lower-case hex.
pub fn sha256_file(p: &std::path::Path) -> String {
    use sha2::Digest;
    let b = std::fs::read(p).expect("read file");
    let d = sha2::Sha256::digest(&b);
    d.iter().map(|x| format!("{x:02x}")).collect()
}
