//! The command line: eseutil syntax, subcommands and per-mode binaries agree.

mod common;

use common::{normalize_time, run, run_bin};
use eseutil::synth::{checkpoint, database, DbSpec};

fn fixture() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let db = d.path().join("fixture.edb");
    std::fs::write(&db, database(&DbSpec::default(), 4, 2)).unwrap();
    let chk = d.path().join("edb.chk");
    std::fs::write(&chk, checkpoint(5, 3)).unwrap();
    (d, db, chk)
}

#[test]
fn all_spellings_of_mh_give_identical_output() {
    let (_d, db, chk) = fixture();
    for (mode, file, bin) in [
        ("mh", &db, env!("CARGO_BIN_EXE_eseutil-mh")),
        ("mk", &chk, env!("CARGO_BIN_EXE_eseutil-mk")),
    ] {
        let reference = normalize_time(&run(&[mode, file.to_str().unwrap()]).stdout);
        assert!(reference.contains("Initiating FILE DUMP mode..."));
        let upper = mode.to_uppercase();
        for spelling in [
            format!("/{mode}"),
            format!("/{upper}"),
            format!("-{mode}"),
            format!("-{upper}"),
            upper.clone(),
        ] {
            let r = run(&[spelling.as_str(), file.to_str().unwrap()]);
            assert_eq!(r.code, 0, "{spelling}");
            assert_eq!(normalize_time(&r.stdout), reference, "{spelling}");
        }
        let r = run_bin(bin, &[file.as_os_str()]);
        assert_eq!(r.code, 0);
        assert_eq!(normalize_time(&r.stdout), reference, "{bin}");
        // JSON is identical too.
        let a = run(&[mode, file.to_str().unwrap(), "--json"]).stdout;
        let b = run(&[
            format!("/{upper}").as_str(),
            file.to_str().unwrap(),
            "--json",
        ])
        .stdout;
        assert_eq!(a, b);
        serde_json::from_str::<serde_json::Value>(&a).unwrap();
    }
}

#[test]
fn help_lists_every_mode() {
    for args in [vec!["/?"], vec!["--help"], vec!["-?"]] {
        let r = run(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        for m in [
            "mh", "mk", "ml", "mm", "mp", "ms", "k", "g", "r", "cm", "cc", "plan",
        ] {
            assert!(
                r.stdout
                    .lines()
                    .any(|l| l.trim_start().starts_with(&format!("{m} "))),
                "{args:?}: mode {m} missing:\n{}",
                r.stdout
            );
        }
    }
}

#[test]
fn no_binary_has_a_bare_mode_name() {
    let dir = std::path::Path::new(env!("CARGO_BIN_EXE_eseutil-rs"))
        .parent()
        .unwrap()
        .to_path_buf();
    for bare in ["cc", "k", "mh", "ml", "mk", "cm"] {
        assert!(
            !dir.join(bare).exists(),
            "a binary named {bare} would shadow other tools"
        );
    }
    for shim in [
        "eseutil-mh",
        "eseutil-mk",
        "eseutil-ml",
        "eseutil-k",
        "eseutil-cm",
        "eseutil-cc",
    ] {
        assert!(dir.join(shim).exists(), "{shim} missing");
    }
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["/mh"]).code, 2);
    assert_eq!(run(&["/nosuchmode", "x"]).code, 2);
    let r = run(&["/r", "edb", "/l"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("-1003 JET_errInvalidParameter"),
        "{}",
        r.stderr
    );
}

#[test]
fn cc_without_restore_env_asks_for_explicit_paths() {
    let r = run(&["/cc", "/nonexistent/restore-folder"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("--database FILE"), "{}", r.stderr);
}

#[test]
fn banner_and_closing_line() {
    let (_d, db, _) = fixture();
    let r = run(&["/mh", db.to_str().unwrap()]);
    assert!(r
        .stdout
        .starts_with("Extensible Storage Engine Utilities for Linux (eseutil-rs)\nVersion "));
    let last = r.stdout.trim_end().lines().last().unwrap();
    assert!(
        last.starts_with("Operation completed successfully in ") && last.ends_with(" seconds."),
        "{last}"
    );
    let r = run(&["/mh", db.to_str().unwrap(), "/o"]);
    assert!(r.stdout.starts_with("Initiating FILE DUMP mode...\n"));
    let r = run(&["mh", db.to_str().unwrap(), "--json"]);
    assert!(r.stdout.starts_with('{') && !r.stdout.contains("Operation completed"));
}

#[test]
fn color_only_when_asked() {
    let (_d, db, _) = fixture();
    // Not a terminal: no escape codes by default, with NO_COLOR, or with --color never.
    let r = run(&["/mh", db.to_str().unwrap()]);
    assert!(!r.stdout.contains('\u{1b}'));
    let r = run(&["--color", "never", "/mh", db.to_str().unwrap()]);
    assert!(!r.stdout.contains('\u{1b}'));
    let r = run(&["--color", "always", "/mh", db.to_str().unwrap()]);
    assert!(
        r.stdout.contains("\u{1b}[32mClean Shutdown\u{1b}[39m"),
        "{}",
        r.stdout
    );
    let r = run(&["--color", "always", "mh", db.to_str().unwrap(), "--json"]);
    assert!(!r.stdout.contains('\u{1b}'));
}
