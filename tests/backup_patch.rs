//! The real Windows 7 streaming backup of `winmail7-backup/Backup-new`:
//! the trailer page and the `.pat` patch file, through `/mh`, `/k`, `/g`,
//! `/cc` and `/r`, on copies in a temporary folder (the corpus is only
//! read). Skipped with a note when the corpus is absent.

mod common;

use std::path::{Path, PathBuf};

use eseutil::checksum::seal_header;
use serde_json::Value;

const DB: &str = "WindowsMail.MSMessageStore";
const PS: usize = 8192;

fn backup_set() -> Option<PathBuf> {
    common::corpus_set("winmail7-backup/Backup-new", DB)
}

/// Rewrites both copies of the patch page in `dir`'s `.pat` with `f`,
/// re-sealed (`seal`) or not.
fn edit_pat(dir: &Path, seal: bool, f: impl Fn(&mut [u8])) {
    let p = dir.join("WindowsMail.pat");
    let mut b = std::fs::read(&p).unwrap();
    for copy in b.chunks_mut(PS) {
        f(copy);
        if seal {
            seal_header(copy);
        }
    }
    std::fs::write(&p, b).unwrap();
}

fn cc(dir: &Path, out: &Path) -> (i32, Value, String) {
    let db = dir.join(DB);
    let r = common::run(&[
        "/cc".as_ref(),
        dir.as_os_str(),
        "--database".as_ref(),
        db.as_os_str(),
        "--output".as_ref(),
        out.as_os_str(),
        "--json".as_ref(),
    ]);
    let v = serde_json::from_str(&r.stdout).unwrap_or(Value::Null);
    (r.code, v, r.stderr)
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn hard_recovery_reads_the_patch_file_and_zeroes_the_trailer() {
    let Some(src) = backup_set() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("restore");
    common::copy_dir_writable(&src, &dir);
    let before = common::sha256_file(&src.join(DB));
    let out = tmp.path().join("out");
    let (code, v, err) = cc(&dir, &out);
    assert_eq!(code, 0, "{err} {v:#}");
    let b = &v["backups"][0];
    assert_eq!(b["from_trailer"], true);
    let pf = &b["patch_file"];
    assert_eq!(pf["content"], "patch_page", "{pf:#}");
    assert_eq!(pf["checked_against_trailer"], true);
    assert_eq!(pf["patch"]["bkinfo"]["gen_high"], 1);
    assert_eq!(pf["patch"]["bkinfo"]["mark"]["eseutil"], "(0x1,2,C22)");
    // The engine keeps the trailer page, zeroed (ErrDBTryToZeroDBTrailer).
    let got = std::fs::read(out.join(DB)).unwrap();
    let input = std::fs::read(src.join(DB)).unwrap();
    assert_eq!(got.len(), input.len());
    assert!(got[got.len() - PS..].iter().all(|&x| x == 0));
    assert_eq!(common::sha256_file(&src.join(DB)), before);
    // /k and /g see a blank last page and no damage.
    let r = common::run(&["k".as_ref(), out.join(DB).as_os_str(), "--json".as_ref()]);
    let k: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(k["files"][0]["summary"]["trailer_pages"], 0);
    let r = common::run(&["g".as_ref(), out.join(DB).as_os_str(), "--json".as_ref()]);
    let g: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert_eq!(g["trailer_page"], Value::Null);

    // An empty .pat (what modern engines write) is accepted.
    let d2 = tmp.path().join("empty");
    common::copy_dir_writable(&src, &d2);
    std::fs::write(d2.join("WindowsMail.pat"), b"").unwrap();
    let (code, v, err) = cc(&d2, &tmp.path().join("out2"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["backups"][0]["patch_file"]["content"], "empty");
}

/// A tampering of the `.pat`: name, re-seal, edit, expected JET error.
type Tamper = (&'static str, bool, fn(&mut [u8]), &'static str);

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn hard_recovery_refuses_a_contradicting_patch_file() {
    let Some(src) = backup_set() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cases: [Tamper; 4] = [
        // Both copies damaged, not re-sealed: the page does not verify.
        ("damaged", false, |p| p[100] ^= 1, "-535"),
        // Another generation range than the trailer page's.
        (
            "genhigh",
            true,
            |p| p[60..64].copy_from_slice(&2u32.to_le_bytes()),
            "-552",
        ),
        // Another backup mark than the header's.
        ("mark", true, |p| p[40] ^= 0x10, "-552"),
        // Another database.
        ("signdb", true, |p| p[64] ^= 1, "-552"),
    ];
    for (name, seal, f, jet) in cases {
        let dir = tmp.path().join(name);
        common::copy_dir_writable(&src, &dir);
        edit_pat(&dir, seal, f);
        let out = tmp.path().join(format!("out-{name}"));
        let (code, _, err) = cc(&dir, &out);
        assert_eq!(code, 5, "{name}: {err}");
        assert!(err.contains(jet), "{name}: {err}");
        assert!(err.contains("WindowsMail.pat"), "{name}: {err}");
        assert!(!out.join(DB).exists(), "{name}: output written");
    }
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn soft_recovery_of_the_backup_copy_is_refused() {
    let Some(src) = backup_set() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("set");
    common::copy_dir_writable(&src, &dir);
    let out = tmp.path().join("out");
    let d = dir.as_os_str();
    let r = common::run(&[
        "/r".as_ref(),
        "edb".as_ref(),
        "--log-dir".as_ref(),
        d,
        "--system-dir".as_ref(),
        d,
        "--db-dir".as_ref(),
        d,
        "--ignore-checkpoint".as_ref(),
        "--allow-loss".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("-544"), "{all}");
    assert!(!out.join(DB).exists());
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn mh_dumps_the_patch_file_and_the_trailer() {
    let Some(src) = backup_set() else { return };
    let pat = src.join("WindowsMail.pat");
    let r = common::run(&["/mh".as_ref(), pat.as_os_str()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for line in [
        "PATCH FILE HEADER:",
        "Expected Checksum: 0x83afe2e0",
        "  Actual Checksum: 0x83afe2e0",
        "      Shadow Copy: identical",
        "        Log Gen: 1-1 (0x1-0x1)",
        "           Mark: (0x1,2,C22)",
    ] {
        assert!(r.stdout.contains(line), "{line}: {}", r.stdout);
    }
    // A damaged primary: the shadow is used, exit 1 with a warning.
    let tmp = tempfile::tempdir().unwrap();
    let mut b = std::fs::read(&pat).unwrap();
    b[100] ^= 1;
    let p = tmp.path().join("x.pat");
    std::fs::write(&p, &b).unwrap();
    let r = common::run(&["mh".as_ref(), p.as_os_str(), "--json".as_ref()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["used_copy"], "shadow");
    assert_eq!(v["patch"]["bkinfo"]["gen_low"], 1);
    // The database copy: the trailer page in the header dump.
    let r = common::run(&["/mh".as_ref(), src.join(DB).as_os_str()]);
    assert!(
        r.stdout.contains("Patch Current Full Backup:"),
        "{}",
        r.stdout
    );
}

#[test]
#[cfg_attr(
    not(corpus_present),
    ignore = "needs the corpus: ../shared/corpus or ESEUTIL_CORPUS"
)]
fn k_verifies_both_copies_of_the_patch_file() {
    let Some(src) = backup_set() else { return };
    let pat = src.join("WindowsMail.pat");
    let r = common::run(&["k".as_ref(), pat.as_os_str(), "--json".as_ref()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let f = &v["files"][0];
    assert_eq!(f["kind"], "patch");
    assert_eq!(f["shadow"]["offset"], PS);
    assert_eq!(f["copies_identical"], true);
    // A damaged shadow: exit 1, -1018.
    let tmp = tempfile::tempdir().unwrap();
    let mut b = std::fs::read(&pat).unwrap();
    b[PS + 100] ^= 1;
    let p = tmp.path().join("x.pat");
    std::fs::write(&p, &b).unwrap();
    let r = common::run(&["/k".as_ref(), p.as_os_str()]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("Shadow copy (offset 8192)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("FAILED"), "{}", r.stdout);
    assert!(r.stdout.contains("-1018"), "{}", r.stdout);
}
