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
    sw("c", Val::Required, "--csv"),
];
/// `/m DB /pN [/kKEY [/dTABLE]]` (eseutil.cxx `FEDBUTLParseDump`).
const PAGE_SWITCHES: &[Switch] = &[
    sw("p", Val::Required, "--page"),
    sw("k", Val::Required, "--key"),
    sw("d", Val::Required, "--data"),
];
/// `/mn [/a] [/t<table>]` (eseutil.cxx `FEDBUTLParseDump`: `/t` takes
/// the rest of its argument as the table name).
const NODES_SWITCHES: &[Switch] = &[sw("a", Val::Flag, "--all"), sw("t", Val::Glued, "--table")];
/// `/mc [/pRANGE] [/f]` (/f: full categorization, which is always done).
const SPACE_CATEGORY_SWITCHES: &[Switch] = &[
    sw("p", Val::Required, "--range"),
    sw("f", Val::Flag, "--full"),
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
        "page" => PAGE_SWITCHES,
        "nodes" => NODES_SWITCHES,
        "space-category" => SPACE_CATEGORY_SWITCHES,
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
    "mh",
    "mk",
    "ml",
    "mm",
    "mp",
    "ms",
    "k",
    "g",
    "r",
    "cm",
    "cc",
    "plan",
    "page",
    "nodes",
    "space-category",
];

/// The subcommand of an eseutil database dump switch (`/m`, `/mh`, `/mm`,
/// `/mn`, `/ms`, `/mc`), given the tokens after it. As in eseutil.cxx
/// (`FSetDumpModeModifier`, `FEDBUTLParseDump`), a `/p` switch turns every
/// one of them but `/mc` (and `/mp`, the flush map) into a page dump; `/m`
/// alone dumps the header.
fn dump_mode_of(token: &str, rest: &[OsString]) -> Option<&'static str> {
    let t = token
        .strip_prefix('/')
        .or_else(|| token.strip_prefix('-'))?;
    let lower = t.to_ascii_lowercase();
    if lower == "mc" {
        return Some("space-category");
    }
    if !["m", "mh", "mm", "mn", "ms"].contains(&lower.as_str()) {
        return None;
    }
    let has_p = rest.iter().take_while(|a| a.as_os_str() != "--").any(|a| {
        let s = a.to_string_lossy();
        is_switch_shaped(&s)
            && s[1..].to_ascii_lowercase().starts_with('p')
            && !Path::new(a).exists()
            && !in_existing_folder(a)
    });
    Some(match lower.as_str() {
        _ if has_p => "page",
        "m" => "mh",
        "mn" => "nodes",
        _ => return None,
    })
}

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

/// eseutil's order rule for the page dump: `/k` only after `/p`, `/d`
/// only after `/k` (eseutil.cxx `FEDBUTLParseDump`, usage error 4).
fn check_order(done: &[OsString], long: &str) -> Result<(), String> {
    let after = |prefix: &str| done.iter().any(|o| o.to_string_lossy().starts_with(prefix));
    match long {
        "--key" if !after("--page=") => Err("switch /k must follow /p".into()),
        "--data" if !after("--key=") => Err("switch /d must follow /p and /k".into()),
        _ => Ok(()),
    }
}

/// `wcstol(s, NULL, 0)` on Windows' 32-bit LONG, as eseutil reads `/p`:
/// leading blanks, a sign, `0x` for hex, a leading `0` for octal, digits up
/// to the first that does not fit; nothing read is 0, overflow saturates.
pub fn wcstol0(s: &str) -> i32 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let b = t.as_bytes();
    let hex_digit = b.get(2).is_some_and(u8::is_ascii_hexdigit);
    let (radix, digits) = if b.len() >= 2 && b[0] == b'0' && (b[1] | 0x20) == b'x' && hex_digit {
        (16, &t[2..])
    } else if b.first() == Some(&b'0') {
        (8, t)
    } else {
        (10, t)
    };
    let mut v: i64 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else { break };
        v = (v * radix as i64 + d as i64).min(1 << 32);
    }
    let v = if neg { -v } else { v };
    v.clamp(i32::MIN as i64, i32::MAX as i64) as i32
}

/// scanf's `%d` / `%x`: blanks, a sign, digits (`%x` also takes `0x`);
/// returns the value (wrapping to 32 bits) and the rest, or `None` when no
/// digit is read.
fn scan_int(s: &str, radix: u32) -> Option<(i32, &str)> {
    let t = s.trim_start();
    let (neg, mut t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if radix == 16 {
        if let Some(r) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
            if r.starts_with(|c: char| c.is_ascii_hexdigit()) {
                t = r;
            }
        }
    }
    let n = t.find(|c: char| !c.is_digit(radix)).unwrap_or(t.len());
    if n == 0 {
        return None;
    }
    let mut v: u32 = 0;
    for c in t[..n].chars() {
        v = v.wrapping_mul(radix).wrapping_add(c.to_digit(radix)?);
    }
    let v = v as i32;
    Some((if neg { v.wrapping_neg() } else { v }, &t[n..]))
}

/// A `/mc /p` page range (eseutil.cxx `FEDBUTLParseDump`): `N`, `N:M` or
/// `N:max`, decimal, both ≥ 1; `None` for the last page means the end of
/// the file. `None` when eseutil would refuse it.
pub fn spcat_range(s: &str) -> Option<(u32, Option<u32>)> {
    let (first, rest) = scan_int(s, 10)?;
    if first < 1 {
        return None;
    }
    if s.contains(":max") {
        return Some((first as u32, None));
    }
    if let Some((last, _)) = rest.strip_prefix(':').and_then(|r| scan_int(r, 10)) {
        return (last >= 1).then_some((first as u32, Some(last as u32)));
    }
    Some((first as u32, Some(first as u32)))
}

/// A `/ml /r` generation range (eseutil.cxx `FEDBUTLParseDump`): `A-B` or
/// `A`, hexadecimal; `A` alone runs to the last generation (`None`), an end
/// of 0 too. `None` when eseutil would refuse it (no number, a negative
/// start, an end before the start).
pub fn gen_range(s: &str) -> Option<(u32, Option<u32>)> {
    let (start, rest) = scan_int(s, 16)?;
    let end = rest
        .strip_prefix('-')
        .and_then(|r| scan_int(r, 16))
        .map_or(0, |(e, _)| e);
    if start < 0 || (end != 0 && end < start) {
        return None;
    }
    Some((start as u32, (end > 0).then_some(end as u32)))
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
            let rest = it.clone().cloned().collect::<Vec<_>>();
            if let Some(m) = dump_mode_of(&s, &rest).or_else(|| mode_of(&s)) {
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
                check_order(&out, w.long)?;
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
    fn eseutil_dump_switches() {
        assert_eq!(t(&["/m", "x.edb", "/p5"]), ["page", "x.edb", "--page=5"]);
        assert_eq!(t(&["/m", "x.edb"]), ["mh", "x.edb"]);
        assert_eq!(
            t(&["/MH", "x.edb", "/P0x10"]),
            ["page", "x.edb", "--page=0x10"]
        );
        assert_eq!(
            t(&["/m", "x.edb", "/p-1", "/kab", "/dT"]),
            ["page", "x.edb", "--page=-1", "--key=ab", "--data=T"]
        );
        assert_eq!(t(&["/mn", "x.edb", "/a"]), ["nodes", "x.edb", "--all"]);
        assert_eq!(t(&["/mn", "x.edb"]), ["nodes", "x.edb"]);
        assert_eq!(
            t(&["/mn", "x.edb", "/tMSysObjects", "/a"]),
            ["nodes", "x.edb", "--table=MSysObjects", "--all"]
        );
        assert_eq!(t(&["/mn", "x.edb", "/t"]), ["nodes", "x.edb", "--table"]);
        assert_eq!(t(&["/mn", "x.edb", "/p3"]), ["page", "x.edb", "--page=3"]);
        assert_eq!(
            t(&["/mc", "x.edb", "/p5:max", "/f"]),
            ["space-category", "x.edb", "--range=5:max", "--full"]
        );
        assert_eq!(
            t(&["/ml", "edb", "/cout.csv", "/r1A-2F"]),
            ["ml", "edb", "--csv=out.csv", "--range=1A-2F"]
        );
        assert_eq!(
            t(&["/ml", "e.log", "/c", "o.csv"]),
            ["ml", "e.log", "--csv=o.csv"]
        );
        let err = |v: &[&str]| translate(&v.iter().map(OsString::from).collect::<Vec<_>>());
        assert!(err(&["/m", "x.edb", "/kab", "/p5"]).is_err());
        assert!(err(&["/m", "x.edb", "/p5", "/dT"]).is_err());
    }

    #[test]
    fn eseutil_numbers() {
        for (s, v) in [
            ("5", 5),
            ("0x1f", 31),
            ("0X1F", 31),
            ("010", 8),
            ("-1", -1),
            ("0", 0),
            ("  7", 7),
            ("12abc", 12),
            ("abc", 0),
            ("0x", 0),
            ("99999999999", i32::MAX),
            ("-99999999999", i32::MIN),
        ] {
            assert_eq!(wcstol0(s), v, "{s}");
        }
        assert_eq!(spcat_range("5"), Some((5, Some(5))));
        assert_eq!(spcat_range("5:9"), Some((5, Some(9))));
        assert_eq!(spcat_range("5:max"), Some((5, None)));
        assert_eq!(spcat_range("5:MAX"), Some((5, Some(5))));
        assert_eq!(spcat_range("0:4"), None);
        assert_eq!(spcat_range("4:0"), None);
        assert_eq!(spcat_range("x"), None);
        assert_eq!(gen_range("1A-2F"), Some((0x1A, Some(0x2F))));
        assert_eq!(gen_range("0x1a"), Some((0x1A, None)));
        assert_eq!(gen_range("1-1"), Some((1, Some(1))));
        assert_eq!(gen_range("5-0"), Some((5, None)));
        assert_eq!(gen_range("5-3"), None);
        assert_eq!(gen_range("-5"), None);
        assert_eq!(gen_range("zz"), None);
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
