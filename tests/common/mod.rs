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

/// True when libesedb's `esedbexport` runs; false (and a note) otherwise,
/// a panic under CI, where `.ci/run` installs it when it can.
pub fn libesedb_present() -> bool {
    let ok = Command::new("esedbexport")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && in_ci() {
        panic!("CI is set but esedbexport (libesedb-utils) does not run");
    }
    if !ok {
        eprintln!("note: esedbexport (libesedb-utils) not found; libesedb comparison skipped");
    }
    ok
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

/// BLAKE3 of a file, lower-case hex (the default `--hash-algorithm`),
/// from the reference crate rather than the project's wrapper.
pub fn blake3_file(p: &std::path::Path) -> String {
    let b = std::fs::read(p).expect("read file");
    blake3::hash(&b).to_hex().to_string()
}

/// Runs `eseutil-rs` with `args`: the exit status and stdout as JSON
/// (a panic naming the output when it is not JSON).
pub fn run_json<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> (i32, serde_json::Value) {
    let r = run(args);
    let v = serde_json::from_str(&r.stdout).unwrap_or_else(|e| {
        let a: Vec<&std::ffi::OsStr> = args.iter().map(|s| s.as_ref()).collect();
        panic!("{a:?}: not JSON ({e}): {}\n{}", r.stdout, r.stderr)
    });
    (r.code, v)
}

/// Runs `eseutil-rs` with `args` and `--json`: the exit status, stdout as
/// JSON (`Null` when it is not) and stderr.
pub fn run_with_json(args: &[&std::ffi::OsStr]) -> (i32, serde_json::Value, String) {
    let mut a = args.to_vec();
    a.push("--json".as_ref());
    let r = run(&a);
    let v = serde_json::from_str(&r.stdout).unwrap_or(serde_json::Value::Null);
    (r.code, v, r.stderr)
}

/// The corpus set `secedit-logs-b` (one 8.x log, `edb.log`), when present.
pub fn logs_b() -> Option<PathBuf> {
    corpus_set("secedit-logs-b", "edb.log")
}

/// The corpus folder `rel` when it holds `file`; `None` (and a note) when the
/// corpus or the set is absent, a panic under CI, where both must exist.
pub fn corpus_set(rel: &str, file: &str) -> Option<PathBuf> {
    let d = corpus()?.join(rel);
    if d.join(file).exists() {
        Some(d)
    } else if in_ci() {
        panic!("CI is set but the corpus has no {rel}/{file}");
    } else {
        eprintln!("note: corpus set {rel} absent; skipped");
        None
    }
}

/// Copies one file to `to` with write permission (corpus files are
/// read-only, and `std::fs::copy` keeps the mode).
pub fn copy_writable(from: &std::path::Path, to: &std::path::Path) {
    std::fs::copy(from, to).unwrap();
    let mut p = std::fs::metadata(to).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    p.set_readonly(false);
    std::fs::set_permissions(to, p).unwrap();
}

/// Recovery options replaying the `edb` logs of `logs` (checkpoint
/// ignored) into `out`, with no database folder to find an input in.
pub fn log_only_opts(logs: &std::path::Path, out: &std::path::Path) -> eseutil::recovery::Options {
    eseutil::recovery::Options {
        base: "edb".into(),
        log_dir: logs.to_path_buf(),
        system_dir: logs.to_path_buf(),
        db_dir: out.join("no-such-dir"),
        output: out.to_path_buf(),
        ignore_checkpoint: true,
        ..Default::default()
    }
}

/// Copies the files (not the folders) of `from` into `to`, created, each
/// copy writable: corpus files are read-only, and tests edit their copies.
pub fn copy_dir_writable(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            let t = to.join(e.file_name());
            std::fs::copy(e.path(), &t).unwrap();
            let mut p = std::fs::metadata(&t).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            p.set_readonly(false);
            std::fs::set_permissions(&t, p).unwrap();
        }
    }
}

/// `PY scripts/NAME FILE...` (a peer script: canonical_dump.py,
/// peer_tables.py) → its JSON document, keyed by file.
pub fn peer_script(py: &str, name: &str, args: &[&std::path::Path]) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(name);
    let out = Command::new(py)
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {py} scripts/{name}: {e}"));
    assert!(
        out.status.success(),
        "scripts/{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("peer script output is JSON")
}

/// [`peer_script`] with `flags` on `files`: the document of each file, in
/// order; a panic when the peer could not read one.
pub fn peer_docs(
    py: &str,
    name: &str,
    flags: &[&str],
    files: &[&std::path::Path],
) -> Vec<serde_json::Value> {
    let mut args: Vec<&std::path::Path> = flags.iter().map(std::path::Path::new).collect();
    args.extend_from_slice(files);
    let v = peer_script(py, name, &args);
    files
        .iter()
        .map(|f| {
            let d = v[f.to_str().unwrap()].clone();
            assert!(d.get("error").is_none(), "{}: {d}", f.display());
            d
        })
        .collect()
}

/// The LGPOS stored at `off` of a header (offset, sector, generation).
pub fn lgpos_at(h: &[u8], off: usize) -> eseutil::parse::primitives::Lgpos {
    eseutil::parse::primitives::lgpos(&h[off..off + 8])
        .expect("8 bytes")
        .1
}

/// Writes `p` as the LGPOS at `off` of a header.
pub fn put_lgpos(h: &mut [u8], off: usize, p: eseutil::parse::primitives::Lgpos) {
    h[off..off + 2].copy_from_slice(&p.offset.to_le_bytes());
    h[off + 2..off + 4].copy_from_slice(&p.sector.to_le_bytes());
    h[off + 4..off + 8].copy_from_slice(&p.generation.to_le_bytes());
}

/// A play-forward of the corpus set `winmail7-backup` (`set`) prepared in
/// `tmp`: the database's path in `restore` (a writable copy of
/// `Backup-new`, the restored backup), beside `fwd` (the live `edb.log`,
/// generation 2); `out` is left to `/cc`.
pub struct PlayForward {
    pub restore: PathBuf,
    pub fwd: PathBuf,
    pub out: PathBuf,
    pub db: PathBuf,
}

impl PlayForward {
    pub fn new(set: &std::path::Path, tmp: &std::path::Path) -> Self {
        let (restore, fwd, out) = (tmp.join("restore"), tmp.join("fwd"), tmp.join("out"));
        copy_dir_writable(&set.join("Backup-new"), &restore);
        std::fs::create_dir_all(&fwd).unwrap();
        std::fs::copy(set.join("edb.log"), fwd.join("edb.log")).unwrap();
        let db = restore.join("WindowsMail.MSMessageStore");
        PlayForward {
            restore,
            fwd,
            out,
            db,
        }
    }

    /// `/cc` of the restored database through `fwd` into `out`, `--json`.
    pub fn cc(&self) -> Run {
        run(&[
            "/cc".as_ref(),
            self.restore.as_os_str(),
            "--database".as_ref(),
            self.db.as_os_str(),
            "--logs".as_ref(),
            self.restore.as_os_str(),
            "/f".as_ref(),
            self.fwd.as_os_str(),
            "--output".as_ref(),
            self.out.as_os_str(),
            "--json".as_ref(),
        ])
    }
}
