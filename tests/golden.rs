//! Golden outputs of `/mh` and `/mk` on real corpus files, text and JSON.
//!
//! Before a golden file was frozen its fields were checked against the
//! independent facts (tests/corpus.rs checks the JSON field by field; the
//! test `text_agrees_with_facts` below checks the text lines people grep),
//! and its layout against the captured esentutl samples in
//! docs/format/eseutil-output.md §2.1 (`layout_matches_captured_samples`).
//! Set `ESEUTIL_BLESS=1` to rewrite the golden files after a deliberate change,
//! then review the diff.

mod common;

use std::path::{Path, PathBuf};

use common::{corpus, facts, normalize_time, run};

/// (golden name, mode, corpus file)
const CASES: &[(&str, &str, &str)] = &[
    ("basic-edb", "mh", "dissect-esedb/basic.edb"),
    ("large-edb-32k", "mh", "dissect-esedb/large.edb"),
    ("windows-edb-dirty-32k", "mh", "dissect-esedb/Windows.edb"),
    (
        "webcache-dirty-32k",
        "mh",
        "dissect-target/webcache-dirty/WebCacheV01.dat",
    ),
    ("qmgr-db-16k-24h2", "mh", "go-ese/Samples/qmgr.db"),
    ("decompress-test-8k", "mh", "ese-parser/decompress_test.edb"),
    ("ravendb-2012-data-dirty", "mh", "ravendb-2012/Data"),
    ("secedit-2026-sdb", "mh", "secedit-db-2026/secedit.sdb"),
    (
        "ual-current-dirty",
        "mh",
        "go-ese/Sample_UAL/HyperV-PC/Current.mdb",
    ),
    ("secedit-logs-b-chk", "mk", "secedit-logs-b/edb.chk"),
    ("ravendb-2013-rvn-chk", "mk", "ravendb-2013/system/RVN.chk"),
];

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn normalize(s: &str, corpus: &Path) -> String {
    normalize_time(&s.replace(&corpus.display().to_string(), "<corpus>"))
}

fn check_golden(name: &str, actual: &str) {
    let path = golden_dir().join(name);
    if std::env::var_os("ESEUTIL_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden file {}; run with ESEUTIL_BLESS=1 and review",
            path.display()
        )
    });
    if expected != actual {
        let diff: Vec<String> = expected
            .lines()
            .zip(actual.lines())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .take(10)
            .map(|(i, (a, b))| format!("line {}:\n  golden: {a}\n  actual: {b}", i + 1))
            .collect();
        panic!(
            "{name} differs from its golden file ({} vs {} lines):\n{}\n(ESEUTIL_BLESS=1 rewrites golden files)",
            expected.lines().count(),
            actual.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn golden_text_and_json() {
    let Some(dir) = corpus() else { return };
    for (name, mode, file) in CASES {
        let p = dir.join(file);
        let text = run(&[
            std::ffi::OsStr::new(mode),
            p.as_os_str(),
            "--no-logo".as_ref(),
        ]);
        assert_eq!(text.code, 0, "{name}: {}", text.stderr);
        check_golden(
            &format!("{name}.{mode}.txt"),
            &normalize(&text.stdout, &dir),
        );
        let json = run(&[std::ffi::OsStr::new(mode), p.as_os_str(), "--json".as_ref()]);
        assert_eq!(json.code, 0, "{name}: {}", json.stderr);
        let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        assert_eq!(v["mode"], *mode);
        check_golden(
            &format!("{name}.{mode}.json"),
            &normalize(&json.stdout, &dir),
        );
    }
}

fn line_value<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .unwrap_or_else(|| panic!("no line `{label}` in:\n{text}"))
        .trim()
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn text_agrees_with_facts() {
    let Some(dir) = corpus() else { return };
    let mut n = 0;
    for e in facts(&dir) {
        let f = &e["facts"];
        if f["type"] != "database" {
            continue;
        }
        let p = dir.join(e["file"].as_str().unwrap());
        let r = run(&[std::ffi::OsStr::new("/mh"), p.as_os_str()]);
        let t = &r.stdout;
        let state = match f["dbstate_name"].as_str().unwrap() {
            "CleanShutdown" => "Clean Shutdown",
            "DirtyShutdown" => "Dirty Shutdown",
            "JustCreated" => "Just Created",
            other => other,
        };
        assert_eq!(line_value(t, "State:"), state, "{p:?}");
        let (lo, hi) = (
            f["gen_min_required"].as_u64().unwrap(),
            f["gen_max_required"].as_u64().unwrap(),
        );
        assert!(
            line_value(t, "Log Required:").starts_with(&format!("{lo}-{hi} (0x{lo:x}-0x{hi:x})")),
            "{p:?}"
        );
        let dbt = f["dbtime_dirtied"].as_u64().unwrap();
        assert_eq!(line_value(t, "dbtime:"), format!("{dbt} (0x{dbt:x})"));
        assert!(
            line_value(t, "Format ulVersion:").starts_with(f["format"]["text"].as_str().unwrap())
        );
        assert_eq!(line_value(t, "cbDbPage:"), f["page_size"].to_string());
        assert!(
            line_value(t, "Last Consistent:").starts_with(f["lgpos_consistent"].as_str().unwrap())
        );
        assert!(line_value(t, "Last Attach:").starts_with(f["lgpos_attach"].as_str().unwrap()));
        assert_eq!(
            line_value(t, "Expected Checksum:"),
            format!("0x{}", f["header_checksum"]["stored"].as_str().unwrap())
        );
        let rnd = f["sign_db"]["random"].as_u64().unwrap();
        assert!(line_value(t, "DB Signature:").contains(&format!(" Rand:{rnd} ")));
        n += 1;
    }
    assert!(n >= 35, "only {n} databases checked");
}

/// Label alignment and order against the captured Windows Server 2022 and
/// Exchange 2010 `/mh` runs (docs/format/eseutil-output.md §2.1).
#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn layout_matches_captured_samples() {
    let Some(dir) = corpus() else { return };
    let p = dir.join("dissect-esedb/Windows.edb");
    let r = run(&[std::ffi::OsStr::new("/mh"), p.as_os_str()]);
    let after = r
        .stdout
        .split_once("Initiating FILE DUMP mode...\n")
        .unwrap()
        .1;
    let lines: Vec<&str> = after.lines().collect();
    // Captured (Windows Server 2022 esentutl on a Windows.edb), path replaced.
    let sample = [
        "         Database: Windows.edb",
        "",
        "",
        "DATABASE HEADER:",
        "Checksum Information:",
        "Expected Checksum: 0x",
        "  Actual Checksum: 0x",
        "",
        "Fields:",
        "        File Type: Database",
        "         Checksum: 0x",
        "   Format ulMagic: 0x89abcdef",
        "   Engine ulMagic: 0x89abcdef",
        " Format ulVersion: 0x620,",
    ];
    for (i, s) in sample.iter().enumerate() {
        if i == 0 {
            assert!(lines[0].starts_with("         Database: "), "{}", lines[0]);
        } else {
            assert!(
                lines[i].starts_with(s),
                "line {i}: {:?} vs sample {:?}",
                lines[i],
                s
            );
        }
    }
    // Exchange 2010 capture: label columns of the next fields.
    for label in [
        " Engine ulVersion: ",
        "Created ulVersion: ",
        "     DB Signature: Create time:",
        "         cbDbPage: ",
        "           dbtime: ",
        "            State: ",
        "     Log Required: ",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(label)),
            "no line starting {label:?}"
        );
    }
    assert!(lines
        .iter()
        .any(|l| l.contains(" Format ulVersion: 0x620,") && l.contains("  (attached by ")));
}
