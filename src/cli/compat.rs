//! Translates eseutil's command syntax into the canonical subcommand form.
//!
//! eseutil takes the mode switch first (`/mh`, `/MH`, `-mh`; case-insensitive)
//! and options glued to their letter (`/p123`, `/r1A-2F`, `/lC:\logs`) or
//! followed by a separate value (`/l /path`). The switch letters per mode come
//! from eseutil's usage text (`eseutil/eseutil.cxx`). This module only
//! rewrites tokens: `/mh db.edb /v` becomes `mh db.edb --verbose`. Tokens that
//! name an existing file, tokens after `--`, and anything unknown pass through
//! unchanged, so Linux paths such as `/mnt/evidence/db.edb` keep working.

use std::ffi::OsString;
use std::path::Path;

/// How a switch takes its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Val {
    /// No value (`/v`).
    Flag,
    /// A value, glued (`/lpath`) or as the next token (`/l path`).
    Required,
    /// A value only when glued (`/t` alone, or `/tInstance`).
    Glued,
}

/// One eseutil switch: letters, value style, the GNU option it becomes.
struct Switch {
    letters: &'static str,
    val: Val,
    long: &'static str,
}

const fn sw(letters: &'static str, val: Val, long: &'static str) -> Switch {
    Switch { letters, val, long }
}

/// Switches every mode accepts.
const COMMON: &[Switch] = &[
    sw("o", Val::Flag, "--no-logo"),
    sw("v", Val::Flag, "--verbose"),
];

const PAGE_SIZE_SWITCHES: &[Switch] = &[
    sw("32", Val::Flag, "--page-size=32768"),
    sw("16", Val::Flag, "--page-size=16384"),
    sw("8", Val::Flag, "--page-size=8192"),
    sw("4", Val::Flag, "--page-size=4096"),
    sw("2", Val::Flag, "--page-size=2048"),
];
const MP_SWITCHES: &[Switch] = &[sw("p", Val::Required, "--page")];
const ML_SWITCHES: &[Switch] = &[
    sw("r", Val::Required, "--range"),
    sw("a", Val::Required, "--range"),
];
const K_SWITCHES: &[Switch] = &[
    sw("32", Val::Flag, "--page-size=32768"),
    sw("16", Val::Flag, "--page-size=16384"),
    sw("8", Val::Flag, "--page-size=8192"),
    sw("4", Val::Flag, "--page-size=4096"),
    sw("2", Val::Flag, "--page-size=2048"),
    sw("p", Val::Required, "--page"),
    sw("t", Val::Glued, "--temp-db"),
    sw("e", Val::Flag, "--skip-db"),
    sw("i", Val::Flag, "--skip-streaming"),
];
const R_SWITCHES: &[Switch] = &[
    sw("l", Val::Required, "--log-dir"),
    sw("s", Val::Required, "--system-dir"),
    sw("d", Val::Required, "--db-dir"),
    sw("i", Val::Flag, "--ignore-missing-db"),
    sw("a", Val::Flag, "--allow-loss"),
    sw("t", Val::Glued, "--temp-db"),
    sw("n", Val::Required, "--new-location"),
];
const CC_SWITCHES: &[Switch] = &[
    sw("t", Val::Glued, "--target-instance"),
    sw("f", Val::Required, "--play-forward"),
    sw("k", Val::Flag, "--keep-logs"),
];

/// A Linux path whose folder exists (`/tmp/logs/edb`: a log base name is
/// not a file itself): two or more `/` and a parent other than `/` that is
/// a directory. `/lC:\logs` or `/l/var/x` (glued switches) do not qualify
/// unless such a folder really exists.
fn in_existing_folder(a: &std::ffi::OsStr) -> bool {
    let p = Path::new(a);
    let s = a.to_string_lossy();
    s.matches('/').count() >= 2
        && p.parent()
            .is_some_and(|d| d != Path::new("/") && d.is_dir())
}

/// Per-mode switch tables. Longer letters first so `/32` wins over `/3`.
fn table(mode: &str) -> &'static [Switch] {
    match mode {
        "mh" | "mk" | "mm" | "ms" => PAGE_SIZE_SWITCHES,
        "ml" => ML_SWITCHES,
        "mp" => MP_SWITCHES,
        "k" => K_SWITCHES,
        "r" => R_SWITCHES,
        "cc" => CC_SWITCHES,
        _ => &[],
    }
}

/// The eseutil mode a first token selects, in canonical (lower-case) form.
pub fn mode_of(token: &str) -> Option<&'static str> {
    let t = token
        .strip_prefix('/')
        .or_else(|| token.strip_prefix('-'))?;
    if t.starts_with('-') {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    MODES.iter().copied().find(|m| *m == lower)
}

/// Every mode name, as subcommand and as eseutil switch.
pub const MODES: &[&str] = &[
    "mh", "mk", "ml", "mm", "mp", "ms", "k", "g", "r", "cm", "cc", "plan",
];

/// GNU long options that take their value as the next token: that token is
/// passed through untouched (a path such as `/tmp/x` is not a switch there).
const VALUE_LONG: &[&str] = &[
    "--output",
    "--page",
    "--page-size",
    "--threads",
    "--chunk-size",
    "--color",
    "--range",
    "--log-dir",
    "--system-dir",
    "--db-dir",
    "--new-location",
    "--play-forward",
    "--database",
    "--logs",
    "--base",
    "--compare-with",
    "--cache-mib",
];

fn is_switch_shaped(s: &str) -> bool {
    (s.starts_with('/') || (s.starts_with('-') && !s.starts_with("--"))) && s.len() >= 2
}

/// Rewrites an argument vector (without the program name).
///
/// Returns the canonical vector, or an error message for a malformed switch
/// (for example `/l` at the end with no value).
pub fn translate(args: &[OsString]) -> Result<Vec<OsString>, String> {
    let mut out = Vec::with_capacity(args.len() + 2);
    let mut it = args.iter().peekable();
    // Leading global options (e.g. --color never) pass through.
    let mut mode: Option<&str> = None;
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--" {
            out.push(a.clone());
            out.extend(it.by_ref().cloned());
            break;
        }
        if mode.is_none() {
            if let Some(m) = mode_of(&s) {
                mode = Some(m);
                out.push(OsString::from(m));
                continue;
            }
            if MODES.contains(&s.to_ascii_lowercase().as_str()) {
                let m = MODES
                    .iter()
                    .copied()
                    .find(|m| *m == s.to_ascii_lowercase())
                    .unwrap();
                mode = Some(m);
                out.push(OsString::from(m));
                continue;
            }
            if s == "/?" || s == "-?" || s == "/h" || s == "/H" {
                out.push(OsString::from("--help"));
                continue;
            }
            out.push(a.clone());
            continue;
        }
        let m = mode.unwrap();
        if s == "/?" || s == "-?" {
            out.push(OsString::from("--help"));
            continue;
        }
        if !is_switch_shaped(&s) || Path::new(a).exists() || in_existing_folder(a) {
            out.push(a.clone());
            if VALUE_LONG.contains(&s.as_ref()) {
                out.extend(it.next().cloned());
            }
            continue;
        }
        let body = &s[1..];
        let lower = body.to_ascii_lowercase();
        let found = table(m)
            .iter()
            .chain(COMMON.iter())
            .find(|w| lower.starts_with(w.letters) && (w.val != Val::Flag || lower == w.letters));
        match found {
            None => out.push(a.clone()),
            Some(w) => {
                let glued = &body[w.letters.len()..];
                match w.val {
                    Val::Flag => out.push(OsString::from(w.long)),
                    Val::Glued => {
                        if glued.is_empty() {
                            out.push(OsString::from(w.long));
                        } else {
                            out.push(OsString::from(format!("{}={glued}", w.long)));
                        }
                    }
                    Val::Required => {
                        if !glued.is_empty() {
                            out.push(OsString::from(format!("{}={glued}", w.long)));
                        } else if let Some(v) = it.next() {
                            let mut o = OsString::from(format!("{}=", w.long));
                            o.push(v);
                            out.push(o);
                        } else {
                            return Err(format!("switch /{} needs a value", w.letters));
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[&str]) -> Vec<String> {
        let a: Vec<OsString> = v.iter().map(OsString::from).collect();
        translate(&a)
            .unwrap()
            .into_iter()
            .map(|o| o.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn base_name_in_an_existing_folder_is_a_path() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("edb");
        let b = base.to_str().unwrap();
        assert_eq!(t(&["/r", b, "/a"]), ["r", b, "--allow-loss"]);
        // A glued switch whose "folder" does not exist stays a switch.
        assert_eq!(
            t(&["/r", "edb", "/l/nonexistent/logs"]),
            ["r", "edb", "--log-dir=/nonexistent/logs"]
        );
        // --compare-with takes a path that must not be read as a switch.
        assert_eq!(
            t(&["/r", "edb", "--compare-with", "/s/live.edb"]),
            ["r", "edb", "--compare-with", "/s/live.edb"]
        );
    }

    #[test]
    fn mode_switch_any_case_and_prefix() {
        for m in ["/mh", "/MH", "-mh", "-Mh", "mh", "MH"] {
            assert_eq!(t(&[m, "x.edb"]), ["mh", "x.edb"], "{m}");
        }
        assert_eq!(t(&["/k", "x"]), ["k", "x"]);
        assert_eq!(t(&["/CC", "dir"]), ["cc", "dir"]);
    }

    #[test]
    fn glued_and_separate_values() {
        assert_eq!(
            t(&["/r", "edb", "/lC:\\logs"]),
            ["r", "edb", "--log-dir=C:\\logs"]
        );
        assert_eq!(
            t(&["/r", "edb", "/l", "/nonexistent/logs", "/i"]),
            [
                "r",
                "edb",
                "--log-dir=/nonexistent/logs",
                "--ignore-missing-db"
            ]
        );
        assert_eq!(
            t(&["/ml", "edb", "/r1A-2F"]),
            ["ml", "edb", "--range=1A-2F"]
        );
        assert_eq!(t(&["/k", "x.edb", "/p123"]), ["k", "x.edb", "--page=123"]);
        assert_eq!(t(&["/cc", "d", "/t"]), ["cc", "d", "--target-instance"]);
        assert_eq!(
            t(&["/cc", "d", "/tFirst", "/K"]),
            ["cc", "d", "--target-instance=First", "--keep-logs"]
        );
        assert_eq!(
            t(&["/mh", "x", "/32", "/O"]),
            ["mh", "x", "--page-size=32768", "--no-logo"]
        );
    }

    #[test]
    fn paths_and_gnu_options_pass_through() {
        assert_eq!(t(&["/mh", "/"]), ["mh", "/"]);
        assert_eq!(t(&["mh", "db.edb", "--json"]), ["mh", "db.edb", "--json"]);
        assert_eq!(
            t(&["--color", "never", "/mh", "x"]),
            ["--color", "never", "mh", "x"]
        );
        assert_eq!(t(&["/mh", "--", "/v"]), ["mh", "--", "/v"]);
        assert_eq!(
            t(&["/k", "x", "--fix-ecc", "--output", "/nonexistent/t.edb"]),
            ["k", "x", "--fix-ecc", "--output", "/nonexistent/t.edb"]
        );
        assert_eq!(t(&["/?"]), ["--help"]);
    }

    #[test]
    fn missing_value_is_an_error() {
        assert!(translate(&[
            OsString::from("/r"),
            OsString::from("edb"),
            OsString::from("/l")
        ])
        .is_err());
    }
}
