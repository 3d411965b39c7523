//! Log file names: `<base>.log|jtx` (current), `<base><gen>.log|jtx`
//! (archived, 5 upper-case hex digits while the generation is ≤ 0xFFFFF,
//! otherwise 8), `<base>tmp.log|jtx` (next log being prepared) and
//! `<base>res0000N.jrs` (reserve logs).
//!
//! Facts: `inc/daeconst.hxx` ~10–33 (extensions, base length),
//! `ese/_log/logstream.cxx` ~265–330 and ~774–830 (name building),
//! ~3420–3432 (5-digit names), restated in docs/format/logs.md §1.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// Largest generation written with 5 hex digits (`lGenerationMaxDuringRecovery`
/// of the old 5-digit naming, logstream.cxx ~790).
pub const MAX_FIVE_DIGIT_GENERATION: u32 = 0xF_FFFF;

/// Extension of a log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogExt {
    /// `.log` (legacy extension, daeconst.hxx ~15).
    Log,
    /// `.jtx` (new extension, daeconst.hxx ~20).
    Jtx,
    /// `.jrs` (reserve logs, daeconst.hxx ~25).
    Jrs,
}

impl LogExt {
    /// The extension without the dot.
    pub fn as_str(self) -> &'static str {
        match self {
            LogExt::Log => "log",
            LogExt::Jtx => "jtx",
            LogExt::Jrs => "jrs",
        }
    }

    fn parse(s: &str) -> Option<LogExt> {
        match s.to_ascii_lowercase().as_str() {
            "log" => Some(LogExt::Log),
            "jtx" => Some(LogExt::Jtx),
            "jrs" => Some(LogExt::Jrs),
            _ => None,
        }
    }
}

/// What a log file name says about the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "number", rename_all = "lowercase")]
pub enum LogNameKind {
    /// `<base>.log`: the current (newest) generation; the number is in the header.
    Current,
    /// `<base><hex>.log`: an archived generation.
    Generation(u32),
    /// `<base>tmp.log`: the next log being prepared (no header until used).
    Temp,
    /// `<base>resNNNNN.jrs`: a reserve log (no header until used).
    Reserve(u32),
}

/// A decoded log file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct LogFileName {
    /// The 3-character base name as written (`edb`, `E00`, `j50` …).
    pub base: String,
    /// What the name denotes.
    pub kind: LogNameKind,
    /// The extension.
    pub ext: LogExt,
    /// Number of hex digits of an archived generation (5 or 8), else 0.
    pub digits: u8,
}

/// Whether `s` is a plausible 3-character base name (letters and digits).
pub fn is_base_name(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Decodes a file name (without directory). Returns `None` for anything that
/// is not a log-family name. Base and extension compare case-insensitively,
/// as on Windows; the generation digits are hexadecimal in either case.
pub fn parse_log_file_name(name: &str) -> Option<LogFileName> {
    let (stem, ext) = name.rsplit_once('.')?;
    let ext = LogExt::parse(ext)?;
    if stem.len() < 3 || !stem.is_char_boundary(3) {
        return None;
    }
    let (base, rest) = stem.split_at(3);
    if !is_base_name(base) {
        return None;
    }
    let (kind, digits) = if ext == LogExt::Jrs {
        let n = rest
            .get(..3)
            .filter(|p| p.eq_ignore_ascii_case("res"))
            .map(|_| &rest[3..])?;
        if n.len() != 5 || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        (LogNameKind::Reserve(n.parse().ok()?), 0)
    } else if rest.is_empty() {
        (LogNameKind::Current, 0)
    } else if rest.eq_ignore_ascii_case("tmp") {
        (LogNameKind::Temp, 0)
    } else if (rest.len() == 5 || rest.len() == 8) && rest.bytes().all(|b| b.is_ascii_hexdigit()) {
        let g = u32::from_str_radix(rest, 16).ok()?;
        (LogNameKind::Generation(g), rest.len() as u8)
    } else {
        return None;
    };
    Some(LogFileName {
        base: base.to_string(),
        kind,
        ext,
        digits,
    })
}

/// The archived file name of generation `generation`: 5 upper-case hex digits
/// while ≤ 0xFFFFF, otherwise 8 (logstream.cxx ~774–830).
pub fn generation_file_name(base: &str, generation: u32, ext: LogExt) -> String {
    format!("{base}{}.{}", generation_digits(generation), ext.as_str())
}

/// The name of generation `generation` written with `digits` hex digits
/// (5 or 8), as in a sequence whose existing names use that width
/// (`LGFileHelper::LGSzLogIdAppend`, logdump.cxx ~720–740); widths other
/// than 5 and 8 fall back to [`generation_file_name`].
pub fn generation_file_name_width(base: &str, generation: u32, digits: u8, ext: LogExt) -> String {
    match digits {
        5 if generation <= MAX_FIVE_DIGIT_GENERATION => {
            format!("{base}{generation:05X}.{}", ext.as_str())
        }
        8 => format!("{base}{generation:08X}.{}", ext.as_str()),
        _ => generation_file_name(base, generation, ext),
    }
}

/// The hex digits of a generation as they appear in a file name.
pub fn generation_digits(generation: u32) -> String {
    if generation <= MAX_FIVE_DIGIT_GENERATION {
        format!("{generation:05X}")
    } else {
        format!("{generation:08X}")
    }
}

/// The current log's file name (`<base>.log`).
pub fn current_file_name(base: &str, ext: LogExt) -> String {
    format!("{base}.{}", ext.as_str())
}

/// One log-family file found in a folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundLog {
    /// Full path.
    pub path: PathBuf,
    /// Decoded name.
    pub name: LogFileName,
}

/// The logs of base `base` (case-insensitive) in `dir`: archived generations
/// in generation order, then the current log(s) (`.jtx` before `.log`). Temp
/// and reserve files are returned separately in the second vector.
pub fn list_logs(dir: &Path, base: &str) -> Result<(Vec<FoundLog>, Vec<FoundLog>)> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut logs = Vec::new();
    let mut others = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| Error::io(dir, e))?;
        let fname = ent.file_name();
        let Some(s) = fname.to_str() else { continue };
        let Some(name) = parse_log_file_name(s) else {
            continue;
        };
        if !name.base.eq_ignore_ascii_case(base) {
            continue;
        }
        let found = FoundLog {
            path: ent.path(),
            name,
        };
        match found.name.kind {
            LogNameKind::Generation(_) | LogNameKind::Current => logs.push(found),
            _ => others.push(found),
        }
    }
    let key = |f: &FoundLog| match f.name.kind {
        LogNameKind::Generation(g) => (0u8, g, f.name.ext as u8),
        LogNameKind::Current => (1, 0, f.name.ext as u8 ^ 1),
        LogNameKind::Temp => (2, 0, 0),
        LogNameKind::Reserve(n) => (3, n, 0),
    };
    logs.sort_by_key(key);
    others.sort_by_key(key);
    Ok((logs, others))
}

/// Log base names present in `dir` (each distinct 3-character base that has at
/// least one current or archived log), sorted.
pub fn bases_in(dir: &Path) -> Result<Vec<String>> {
    let rd = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut v: Vec<String> = Vec::new();
    for ent in rd.flatten() {
        if let Some(n) = ent.file_name().to_str().and_then(parse_log_file_name) {
            if matches!(n.kind, LogNameKind::Current | LogNameKind::Generation(_))
                && !v.iter().any(|b| b.eq_ignore_ascii_case(&n.base))
            {
                v.push(n.base);
            }
        }
    }
    v.sort();
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> LogFileName {
        parse_log_file_name(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn bases_and_kinds() {
        for base in ["edb", "E00", "j50", "sru", "V01", "RVN", "USS"] {
            let n = p(&format!("{base}.log"));
            assert_eq!(n.base, base);
            assert_eq!(n.kind, LogNameKind::Current);
            assert_eq!(p(&format!("{base}.jtx")).ext, LogExt::Jtx);
            assert_eq!(p(&format!("{base}tmp.log")).kind, LogNameKind::Temp);
            assert_eq!(p(&format!("{base}tmp.jtx")).kind, LogNameKind::Temp);
            assert_eq!(
                p(&format!("{base}res00002.jrs")).kind,
                LogNameKind::Reserve(2)
            );
            assert_eq!(
                p(&format!("{base}0000D.log")).kind,
                LogNameKind::Generation(0xD)
            );
        }
    }

    #[test]
    fn five_and_eight_digits() {
        let n = p("edb0000D.log");
        assert_eq!((n.kind, n.digits), (LogNameKind::Generation(13), 5));
        let n = p("E000000007B.log");
        assert_eq!((n.kind, n.digits), (LogNameKind::Generation(0x7B), 8));
        let n = p("edb000ab12c.jtx");
        assert_eq!(n.kind, LogNameKind::Generation(0xAB12C));
        assert_eq!(n.ext, LogExt::Jtx);
    }

    #[test]
    fn rejects_non_logs() {
        for s in [
            "edb.chk",
            "ed.log",
            "edb0001.log",
            "edb000001.log",
            "edbres00001.log",
            "edbres1.jrs",
            "edb0000G.log",
            "secedit.jfm",
            "e-b.log",
            "edb.jrs",
        ] {
            assert!(parse_log_file_name(s).is_none(), "{s}");
        }
    }

    #[test]
    fn formatting() {
        assert_eq!(
            generation_file_name("edb", 0xA, LogExt::Log),
            "edb0000A.log"
        );
        assert_eq!(
            generation_file_name("E00", 0xFFFFF, LogExt::Log),
            "E00FFFFF.log"
        );
        assert_eq!(
            generation_file_name("E00", 0x100000, LogExt::Jtx),
            "E0000100000.jtx"
        );
        assert_eq!(
            generation_file_name("sru", 0xab, LogExt::Log),
            "sru000AB.log"
        );
        assert_eq!(current_file_name("RVN", LogExt::Log), "RVN.log");
        assert_eq!(
            generation_file_name_width("E00", 0xA5, 8, LogExt::Log),
            "E00000000A5.log"
        );
        assert_eq!(
            generation_file_name_width("edb", 0xA5, 5, LogExt::Log),
            "edb000A5.log"
        );
        for g in [1u32, 0x7B, 0xFFFFF, 0x100000, 0xFFFF_FFFF] {
            let n = p(&generation_file_name("edb", g, LogExt::Log));
            assert_eq!(n.kind, LogNameKind::Generation(g));
        }
    }

    #[test]
    fn listing_orders_generations_then_current() {
        let d = tempfile::tempdir().unwrap();
        for f in [
            "edb.log",
            "edb00010.log",
            "edb00002.log",
            "edbtmp.log",
            "edbres00001.jrs",
            "E00.log",
            "edb.chk",
        ] {
            std::fs::write(d.path().join(f), b"x").unwrap();
        }
        let (logs, others) = list_logs(d.path(), "edb").unwrap();
        let names: Vec<_> = logs
            .iter()
            .map(|f| f.path.file_name().unwrap().to_str().unwrap().to_string())
            .collect();
        assert_eq!(names, ["edb00002.log", "edb00010.log", "edb.log"]);
        assert_eq!(others.len(), 2);
        assert_eq!(bases_in(d.path()).unwrap(), ["E00", "edb"]);
    }
}
