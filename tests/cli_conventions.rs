//! Issue 13: the command line as users meet it. Every input is made by the
//! project's own code in a temporary folder (no corpus needed).

mod common;

use std::path::{Path, PathBuf};

use common::run;
use eseutil::synth::{checkpoint, database, DbSpec};

/// A database, a checkpoint and a log header file in a temporary folder.
fn kinds() -> (tempfile::TempDir, PathBuf, PathBuf, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("x.edb");
    std::fs::write(&db, database(&DbSpec::default(), 4, 2)).unwrap();
    let chk = d.path().join("edb.chk");
    std::fs::write(&chk, checkpoint(5, 3)).unwrap();
    let mut log = eseutil::synth::log_header(1);
    log.resize(256 * 4096, 0);
    let log_path = d.path().join("edb.log");
    std::fs::write(&log_path, &log).unwrap();
    (d, db, chk, log_path)
}

fn os(p: &Path) -> &std::ffi::OsStr {
    p.as_os_str()
}

/// Point 3: every mode checks what kind of file it got.
#[test]
fn every_mode_refuses_the_wrong_kind_of_file_with_1812() {
    let (_d, db, chk, log) = kinds();
    let cases: [(&str, &Path, &str); 9] = [
        ("g", &log, "/ml"),
        ("g", &chk, "/mk"),
        ("mm", &chk, "/mk"),
        ("mm", &log, "/ml"),
        ("ms", &log, "/ml"),
        ("ms", &chk, "/mk"),
        ("mk", &db, "/mh"),
        ("ml", &db, "/mh"),
        ("cm", &db, "/mh"),
    ];
    for (mode, file, want) in cases {
        let r = run(&[std::ffi::OsStr::new(mode), os(file)]);
        assert_eq!(r.code, 4, "{mode} {file:?}: {}{}", r.stdout, r.stderr);
        assert!(
            r.stderr.contains("-1812 JET_errFileInvalidType"),
            "{mode} {file:?}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!("use `eseutil-rs {want} ")),
            "{mode} {file:?}: {}",
            r.stderr
        );
    }
    // The right kind still works.
    for mode in ["g", "mm", "ms"] {
        let r = run(&[std::ffi::OsStr::new(mode), os(&db)]);
        assert_ne!(r.code, 4, "{mode}: {}", r.stderr);
    }
}

/// Point 4: a read-only output folder is refused before replay, exit 3,
/// with a line on stderr.
#[test]
fn read_only_output_folder_is_refused_before_replay() {
    use std::os::unix::fs::PermissionsExt;
    let (d, _db, _chk, _log) = kinds();
    let out = d.path().join("ro");
    std::fs::create_dir(&out).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o555)).unwrap();
    let base = d.path().join("edb");
    let r = run(&[
        "/r".as_ref(),
        base.as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("read-only") && r.stderr.contains("-1032"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
}

/// Point 4: `… | head` — the reader goes away, the run ends quietly with 0.
#[test]
fn closed_pipe_ends_quietly_with_status_0() {
    use std::process::{Command, Stdio};
    let (_d, db, _chk, _log) = kinds();
    for args in [vec!["/mh"], vec!["mh", "--json"], vec!["/mh", "-v"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_eseutil-rs"))
            .args(&args[..1])
            .arg(&db)
            .args(&args[1..])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?}: {err}");
    }
}

/// Point 4: `/cc` whose restored logs are missing: a required file is
/// missing, exit 3 as for every -1811.
#[test]
fn cc_with_missing_restored_logs_exits_3() {
    let (d, db, _chk, _log) = kinds();
    let restore = d.path().join("restore");
    std::fs::create_dir(&restore).unwrap();
    let r = run(&[
        "/cc".as_ref(),
        restore.as_os_str(),
        "--database".as_ref(),
        db.as_os_str(),
        "--output".as_ref(),
        d.path().join("out").as_os_str(),
    ]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("-1811"), "{}", r.stderr);
}

use common::logs_b;

fn r_into(logs: &Path, out: &Path, extra: &[&str]) -> common::Run {
    let mut a: Vec<&std::ffi::OsStr> = vec![
        "/r".as_ref(),
        "--no-logo".as_ref(),
        "--ignore-checkpoint".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ];
    let base = logs.join("edb");
    a.insert(1, base.as_os_str());
    a.extend(extra.iter().map(std::ffi::OsStr::new));
    run(&a)
}

/// Point 4: Ctrl-C (SIGINT) and SIGTERM during `/r`: the `.recovering`
/// file is removed, one line on stderr, exit status 130.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn interrupted_recovery_removes_its_unfinished_file_and_exits_130() {
    use std::process::{Command, Stdio};
    let Some(logs) = logs_b() else { return };
    for sig in ["-INT", "-TERM"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let child = Command::new(env!("CARGO_BIN_EXE_eseutil-rs"))
            .arg("/r")
            .arg(logs.join("edb"))
            .args(["--ignore-checkpoint", "--output"])
            .arg(&out)
            .env("ESEUTIL_TEST_PAUSE_MS", "20000")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let unfinished = out.join("secedit.sdb.recovering");
        let t = std::time::Instant::now();
        while !unfinished.exists() && t.elapsed().as_secs() < 20 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(unfinished.exists(), "replay never started");
        let k = Command::new("kill")
            .arg(sig)
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(k.success());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(130), "{sig}: {err}");
        assert_eq!(err.lines().count(), 1, "{sig}: {err}");
        assert!(err.contains("interrupted"), "{err}");
        assert!(!unfinished.exists(), "{sig}: .recovering left behind");
        assert!(!out.join("secedit.sdb").exists());
    }
}

/// Point 1: `--output` holding another database is refused before replay
/// (exit 1, both signatures named) unless `--force`; an earlier output of
/// the same recovery is replaced.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn output_holding_another_database_is_not_replaced() {
    let Some(logs) = logs_b() else { return };
    let other = logs.parent().unwrap().join("secedit-db-2018/secedit.sdb");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let target = out.join("secedit.sdb");
    common::copy_writable(&other, &target);
    let before = common::sha256_file(&target);
    let r = r_into(&logs, &out, &[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("secedit.sdb"), "{}", r.stderr);
    assert_eq!(r.stderr.matches("Create time:").count(), 2, "{}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert_eq!(common::sha256_file(&target), before, "replaced");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1, "replay ran");
    // Any other file too.
    std::fs::write(&target, b"notes").unwrap();
    assert_eq!(r_into(&logs, &out, &[]).code, 1);
    // --force replaces it; a rerun over the earlier output is allowed.
    let r = r_into(&logs, &out, &["--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let first = common::sha256_file(&target);
    let r = r_into(&logs, &out, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(common::sha256_file(&target), first);
}

/// Point 1: `/k --fix-ecc --output` refuses to replace another file.
#[test]
fn fix_ecc_output_is_not_replaced_unless_earlier_copy_or_forced() {
    let (d, db, _chk, _log) = kinds();
    let copy = d.path().join("copy.edb");
    std::fs::write(&copy, b"not a database").unwrap();
    let k = |extra: &[&str]| {
        let mut a: Vec<&std::ffi::OsStr> = vec![
            "/k".as_ref(),
            db.as_os_str(),
            "--fix-ecc".as_ref(),
            "--output".as_ref(),
            copy.as_os_str(),
        ];
        a.extend(extra.iter().map(std::ffi::OsStr::new));
        run(&a)
    };
    let r = k(&[]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("copy.edb") && r.stderr.contains("--force"));
    assert_eq!(std::fs::read(&copy).unwrap(), b"not a database");
    // Another database (other signature) is refused too.
    let spec = DbSpec {
        page_size: 8192,
        ..Default::default()
    };
    std::fs::write(&copy, database(&spec, 2, 1)).unwrap();
    let mut other = std::fs::read(&copy).unwrap();
    other[24] ^= 0x5A;
    eseutil::checksum::seal_header(&mut other[..8192]);
    std::fs::write(&copy, &other).unwrap();
    assert_eq!(k(&[]).code, 1);
    let r = k(&["--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // An earlier corrected copy of the same database is replaced.
    let r = k(&[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// Point 5: hints where people trip.
#[test]
fn hints_for_windows_paths_folders_and_databases_given_to_r() {
    let (d, db, _chk, _log) = kinds();
    let out = d.path().join("out");
    let o = out.to_str().unwrap();
    // A Windows path and a trailing backslash in /l.
    let r = run(&["/r", "edb", "/lC:\\Exchange\\Logs", "--output", o]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr.contains("hint: this looks like a Windows path"),
        "{}",
        r.stderr
    );
    let logs = format!("{}\\", d.path().display());
    let r = run(&["/r", "edb", "/l", &logs, "--output", o]);
    assert!(
        r.stderr.contains("hint: a path ends in a backslash"),
        "{}",
        r.stderr
    );
    // A folder given to /mh names the modes that take folders.
    let r = run(&["/mh", d.path().to_str().unwrap()]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("is a directory"), "{}", r.stderr);
    assert!(r.stderr.contains("/k, /ml, plan"), "{}", r.stderr);
    // /r given a database explains the base name.
    let r = run(&["/r", db.to_str().unwrap(), "--output", o]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("is an ESE database") && r.stderr.contains("base name of the logs"),
        "{}",
        r.stderr
    );
    let r = run(&["/r", "qmgr.db", "--output", o]);
    assert!(r.stderr.contains("base name of the logs"), "{}", r.stderr);
    assert!(!out.exists(), "nothing written");
}

/// Point 5: `/k`'s timing lines print the measured time, not `1 seconds`.
#[test]
fn k_timing_is_not_rounded_up_to_one_second() {
    let (_d, db, _chk, _log) = kinds();
    let r = run(&["/k", db.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("\n1 seconds taken"), "{}", r.stdout);
    assert!(r.stdout.contains(" seconds taken"), "{}", r.stdout);
    let closing = r
        .stdout
        .lines()
        .find(|l| l.contains("completed successfully"))
        .unwrap();
    let secs = closing
        .split(" in ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap();
    assert_eq!(secs.split('.').nth(1).unwrap().len(), 3, "{closing}");
}

fn plan_json(paths: &[&Path]) -> (i32, serde_json::Value) {
    let mut a: Vec<&std::ffi::OsStr> = vec!["plan".as_ref(), "--json".as_ref()];
    a.extend(paths.iter().map(|p| p.as_os_str()));
    let r = run(&a);
    (r.code, serde_json::from_str(&r.stdout).expect("plan JSON"))
}

/// Point 2: plan's command is the one that works; a `/r` writing nothing
/// says so (exit 1).
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn plan_command_rebuilds_secedit_logs_b_and_empty_replay_says_so() {
    let Some(logs) = logs_b() else { return };
    let (code, v) = plan_json(&[&logs]);
    assert_eq!(code, 0, "{v:#}");
    let cmd = v["streams"][0]["command"].as_str().unwrap().to_string();
    assert!(cmd.ends_with("--ignore-checkpoint"), "{cmd}");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let mut args: Vec<String> = cmd.split(' ').skip(1).map(String::from).collect();
    args.extend(["--output".into(), out.display().to_string()]);
    let r = run(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(out.join("secedit.sdb").is_file());
    // Without --ignore-checkpoint nothing is written: said, exit 1.
    let out2 = tmp.path().join("out2");
    let r = run(&[
        "/r".as_ref(),
        logs.join("edb").as_os_str(),
        "--output".as_ref(),
        out2.as_os_str(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("no database was written"), "{}", r.stderr);
    assert!(r.stderr.contains("--ignore-checkpoint"), "{}", r.stderr);
    assert!(r.stdout.contains("No database was written"), "{}", r.stdout);
}

/// Point 2: the current log deleted, the checkpoint kept: not "nothing to do".
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn plan_with_checkpoint_and_no_log_is_blocked() {
    let Some(logs) = logs_b() else { return };
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(logs.join("edb.chk"), tmp.path().join("edb.chk")).unwrap();
    let (code, v) = plan_json(&[tmp.path()]);
    assert_eq!(code, 1, "{v:#}");
    let s = &v["streams"][0];
    assert_eq!(s["verdict"], "blocked", "{s:#}");
    assert!(s["problems"][0]["message"]
        .as_str()
        .unwrap()
        .contains("edb.log"));
    let r = run(&["plan".as_ref(), tmp.path().as_os_str()]);
    assert!(!r.stdout.contains("NOTHING TO DO"), "{}", r.stdout);
}

/// Point 2: a copy of generation 1 named as generation 3 is flagged, the
/// missing generation 2 listed, database events printed once, `/a` in
/// every suggested command.
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn plan_flags_a_misnamed_generation_and_lists_the_missing_one() {
    let Some(logs) = logs_b() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for n in ["edb00001.log", "edb00003.log"] {
        std::fs::copy(logs.join("edb.log"), tmp.path().join(n)).unwrap();
    }
    let (_, v) = plan_json(&[tmp.path()]);
    let s = &v["streams"][0];
    let roles: Vec<(String, String)> = s["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["file_name"].as_str().unwrap().to_string(),
                l["role"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        roles.contains(&("edb00003.log".into(), "misnamed".into())),
        "{roles:?}"
    );
    let missing = s["missing"].to_string();
    assert!(missing.contains("edb00002.log"), "{missing}");
    let r = run(&["plan".as_ref(), tmp.path().as_os_str()]);
    assert_eq!(
        r.stdout.matches("create  at (0x1,1,268)").count(),
        1,
        "{}",
        r.stdout
    );
    for line in r.stdout.lines().filter(|l| l.contains("eseutil-rs /r edb")) {
        assert!(line.contains(" /a"), "{line}");
    }
}

/// Point 7: completions and man pages generated from the clap definitions.
#[test]
fn completions_and_manpages_are_generated() {
    for (shell, needle) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef eseutil-rs"),
        ("fish", "complete -c eseutil-rs"),
    ] {
        let r = run(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(
            r.stdout.contains(needle),
            "{shell}: {}",
            &r.stdout[..200.min(r.stdout.len())]
        );
        assert!(r.stdout.contains("ignore-checkpoint"), "{shell}");
        assert!(
            !r.stdout.contains("Extensible Storage Engine Utilities"),
            "no banner"
        );
    }
    let d = tempfile::tempdir().unwrap();
    let r = run(&["manpages".as_ref(), d.path().as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for page in [
        "eseutil-mh.1",
        "eseutil-k.1",
        "eseutil-cc.1",
        "eseutil-rs-r.1",
        "eseutil-rs-plan.1",
    ] {
        let t = std::fs::read_to_string(d.path().join(page)).unwrap_or_default();
        assert!(t.contains(".TH"), "{page}");
    }
    let k = std::fs::read_to_string(d.path().join("eseutil-k.1")).unwrap();
    assert!(k.contains("fix\\-ecc"), "{k}");
}

/// Point 7: `schema_version` in every JSON document; global options apart.
#[test]
fn every_json_document_has_a_schema_version_and_help_groups_global_options() {
    let (d, db, chk, log) = kinds();
    let docs = [
        run(&["mh".as_ref(), db.as_os_str(), "--json".as_ref()]),
        run(&["mk".as_ref(), chk.as_os_str(), "--json".as_ref()]),
        run(&["k".as_ref(), db.as_os_str(), "--json".as_ref()]),
        run(&["mm".as_ref(), db.as_os_str(), "--json".as_ref()]),
        run(&["ms".as_ref(), db.as_os_str(), "--json".as_ref()]),
        run(&["g".as_ref(), db.as_os_str(), "--json".as_ref()]),
        run(&["ml".as_ref(), log.as_os_str(), "--json".as_ref()]),
        run(&["plan".as_ref(), d.path().as_os_str(), "--json".as_ref()]),
        run(&["mh".as_ref(), chk.as_os_str(), "--json".as_ref()]),
    ];
    for r in docs {
        let v: serde_json::Value = serde_json::from_str(&r.stdout).expect(&r.stdout);
        assert_eq!(v["schema_version"], 2, "{v:#}");
    }
    let r = run(&["mh", "--help"]);
    let global = r.stdout.find("Global options:").expect("heading");
    let json = r.stdout.find("--json").unwrap();
    let page = r.stdout.find("--page-size").unwrap();
    assert!(page < global && global < json, "{}", r.stdout);
}

/// Point 6: README's first command runs on what the repository holds.
#[test]
fn readme_quick_start_runs_on_a_fresh_clone() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let block = readme.split("```sh\n").nth(1).unwrap();
    let mut n = 0;
    for line in block.lines().take_while(|l| !l.starts_with("```")) {
        let Some(args) = line.split(" -- ").nth(1) else {
            continue;
        };
        let args: Vec<String> = args
            .split_whitespace()
            .take_while(|a| !a.starts_with('#'))
            .map(|a| {
                if a.starts_with("testdata/") {
                    root.join(a).display().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect();
        assert!(!line.contains("../shared"), "{line}");
        let r = run(&args);
        assert_eq!(r.code, 0, "{line}: {}", r.stderr);
        n += 1;
    }
    assert!(n >= 1, "no command in the quick start");
    assert!(readme.contains("ESEUTIL_CORPUS"));
}

/// Point 7: `--hash` adds each input's hash (JSON and text): BLAKE3 by
/// default, SHA-256 with `--hash-algorithm sha256`.
#[test]
fn hash_adds_the_hash_of_each_input() {
    let (_d, db, chk, log) = kinds();
    for (mode, f) in [
        ("mh", &db),
        ("mk", &chk),
        ("ml", &log),
        ("k", &db),
        ("g", &db),
    ] {
        let r = run(&[
            mode.as_ref(),
            f.as_os_str(),
            "--json".as_ref(),
            "--hash".as_ref(),
        ]);
        let v: serde_json::Value = serde_json::from_str(&r.stdout).expect(&r.stdout);
        // Every input read (`/ml` also reads the checkpoint beside the log).
        let h = v["input_hashes"].as_array().expect("input_hashes").clone();
        let mine = h
            .iter()
            .find(|e| e["path"] == f.display().to_string())
            .unwrap_or_else(|| panic!("{mode}: {v:#}"));
        assert_eq!(mine["algorithm"], "blake3", "{mode}");
        assert_eq!(mine["hash"], common::blake3_file(f), "{mode}");
        let r = run(&[mode.as_ref(), f.as_os_str(), "--hash".as_ref()]);
        assert!(
            r.stdout
                .contains(&format!("blake3 (--hash): {}", common::blake3_file(f))),
            "{mode}: {}",
            r.stdout
        );
        // SHA-256 on request, as sha256sum prints it.
        let sha = |json: bool| {
            let mut a = vec![
                mode.as_ref(),
                f.as_os_str(),
                "--hash".as_ref(),
                "--hash-algorithm".as_ref(),
                "sha256".as_ref(),
            ];
            if json {
                a.push("--json".as_ref());
            }
            run(&a)
        };
        let v: serde_json::Value = serde_json::from_str(&sha(true).stdout).expect("JSON");
        let mine = v["input_hashes"]
            .as_array()
            .and_then(|h| h.iter().find(|e| e["path"] == f.display().to_string()))
            .unwrap_or_else(|| panic!("{mode}: {v:#}"))
            .clone();
        assert_eq!(mine["algorithm"], "sha256", "{mode}");
        assert_eq!(mine["hash"], common::sha256_file(f), "{mode}");
        let r = sha(false);
        assert!(
            r.stdout
                .contains(&format!("sha256 (--hash): {}", common::sha256_file(f))),
            "{mode}: {}",
            r.stdout
        );
        // Off by default.
        let r = run(&[mode.as_ref(), f.as_os_str(), "--json".as_ref()]);
        assert!(!r.stdout.contains("input_hashes"), "{mode}");
    }
}

/// Point 5: generations in `/r`'s gap message are hex, with the missing
/// file names (`0x3 follows 0x1: edb00002.log is missing`).
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn r_gap_message_names_generations_in_hex_and_the_missing_file() {
    let Some(logs) = logs_b() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let src = std::fs::read(logs.join("edb.log")).unwrap();
    std::fs::write(tmp.path().join("edb00001.log"), &src).unwrap();
    // Generation 0xC9 as the current log: re-sealed header (stale segments
    // read as an empty log).
    let mut b = src.clone();
    b[4..8].copy_from_slice(&0xC9u32.to_le_bytes());
    b[16] = 0x33;
    b[24..32].copy_from_slice(&src[16..24]);
    b[653..661].copy_from_slice(&0u64.to_le_bytes());
    eseutil::checksum::seal_header(&mut b[..4096]);
    std::fs::write(tmp.path().join("edb.log"), &b).unwrap();
    let r = run(&[
        "/r".as_ref(),
        tmp.path().join("edb").as_os_str(),
        "--output".as_ref(),
        tmp.path().join("out").as_os_str(),
    ]);
    assert_ne!(r.code, 0);
    assert!(
        r.stderr
            .contains("0xC9 follows 0x1: edb00002.log … edb000C8.log (199 files) are missing"),
        "{}",
        r.stderr
    );
}
