//! `restore.env`, the restore environment an Exchange backup leaves in the
//! restore folder for hard recovery (`eseutil /cm`, `/cc`).
//!
//! Two formats exist (`docs/format/backup.md` §3):
//! * Exchange 2007/2010+ VSS writers write `<Base>Restore.env` as a tagged
//!   text document, documented by Microsoft ("Restore.env file", Exchange
//!   Server 2010 developer documentation): a `<DATABASE_RESTORE_ENVIRONMENT>`
//!   element holding `<VERSION_STAMP>`, `<DATABASE_GUID_ORIGINAL>`,
//!   `<DATABASE_GUID_TARGET>`, `<EDB_LOCATION_ORIGINAL|TARGET>`,
//!   `<EDB_FILENAME_ORIGINAL|TARGET>`, `<PRIVATE_MDB>`, `<LOG_SIGNATURE_ID>`,
//!   `<LOG_SIGNATURE_TIMESTAMP>`, `<LOG_BASE_NAME>`, `<LOG_PATH_ORIGINAL|TARGET>`,
//!   `<SYSTEM_PATH_ORIGINAL|TARGET>`, `<CIRCULAR_LOGGING>`, `<RECOVERY>` …, each
//!   value between an opening and a closing tag, surrounded by white space.
//!   The published example closes `VERSION_STAMP` with a second opening tag;
//!   the parser accepts that. The file may be 8-bit or UTF-16LE text.
//! * Exchange 2000/2003 streaming restores write a binary structure read by
//!   ESEBCLI2.DLL; neither its layout nor a sample is public. It is detected
//!   (not text) and reported as unsupported.
//!
//! No real sample of either format is public; this parser follows the
//! documented element list and is tolerant of unknown elements, which it keeps.

use serde::Serialize;

use crate::error::{FormatError, Jet};

/// Largest restore.env accepted (real ones are a few KiB).
pub const MAX_RESTORE_ENV_SIZE: usize = 1 << 20;
/// Longest element name accepted.
pub const MAX_TAG_LEN: usize = 64;

/// Which restore.env format a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RestoreEnvFormat {
    /// Exchange 2007/2010+ tagged text.
    Tagged,
    /// Exchange 2000/2003 binary (ESEBCLI2): not publicly specified.
    Binary,
}

/// One element as it appears in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Element {
    /// Element name (upper case as written).
    pub tag: String,
    /// Trimmed text value.
    pub value: String,
    /// Index of the `<DATABASE_RESTORE_ENVIRONMENT>` block it belongs to (0 when outside any).
    pub block: usize,
}

/// One database of the restore set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RestoreDatabase {
    /// `DATABASE_GUID_ORIGINAL`.
    pub guid_original: Option<String>,
    /// `DATABASE_GUID_TARGET`.
    pub guid_target: Option<String>,
    /// `EDB_LOCATION_ORIGINAL` (a Windows folder).
    pub edb_location_original: Option<String>,
    /// `EDB_LOCATION_TARGET`.
    pub edb_location_target: Option<String>,
    /// `EDB_FILENAME_ORIGINAL`.
    pub edb_filename_original: Option<String>,
    /// `EDB_FILENAME_TARGET`.
    pub edb_filename_target: Option<String>,
    /// `PRIVATE_MDB` (mailbox vs public folder store).
    pub private_mdb: Option<String>,
}

/// A parsed restore.env.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RestoreEnv {
    /// `VERSION_STAMP`.
    pub version_stamp: Option<String>,
    /// `LOG_SIGNATURE_ID` (the random part of the log signature).
    pub log_signature_id: Option<String>,
    /// `LOG_SIGNATURE_TIMESTAMP`.
    pub log_signature_timestamp: Option<String>,
    /// `LOG_BASE_NAME` (e.g. `E01`).
    pub log_base_name: Option<String>,
    /// `LOG_PATH_ORIGINAL`.
    pub log_path_original: Option<String>,
    /// `LOG_PATH_TARGET`.
    pub log_path_target: Option<String>,
    /// `SYSTEM_PATH_ORIGINAL`.
    pub system_path_original: Option<String>,
    /// `SYSTEM_PATH_TARGET`.
    pub system_path_target: Option<String>,
    /// `CIRCULAR_LOGGING`.
    pub circular_logging: Option<String>,
    /// `RECOVERY`.
    pub recovery: Option<String>,
    /// One entry per `<DATABASE_RESTORE_ENVIRONMENT>` block.
    pub databases: Vec<RestoreDatabase>,
    /// Every element in file order, known or not.
    pub elements: Vec<Element>,
}

/// Decides the format from the first bytes.
pub fn detect(b: &[u8]) -> RestoreEnvFormat {
    match decode_text(b) {
        Some(t) if t.trim_start().starts_with('<') => RestoreEnvFormat::Tagged,
        _ => RestoreEnvFormat::Binary,
    }
}

/// Decodes 8-bit or UTF-16LE text (with or without BOM); `None` when the
/// bytes are not text.
fn decode_text(b: &[u8]) -> Option<String> {
    let utf16 =
        b.starts_with(&[0xFF, 0xFE]) || (b.len() >= 4 && b[1] == 0 && b[3] == 0 && b[0] != 0);
    let text = if utf16 {
        let start = if b.starts_with(&[0xFF, 0xFE]) { 2 } else { 0 };
        let units: Vec<u16> = b[start..]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).ok()?
    } else {
        let b = b.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(b);
        match std::str::from_utf8(b) {
            Ok(s) => s.to_string(),
            Err(_) => b.iter().map(|&c| c as char).collect(),
        }
    };
    let bad = text
        .chars()
        .filter(|c| c.is_control() && !c.is_whitespace())
        .count();
    (bad == 0).then_some(text)
}

fn is_tag_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_TAG_LEN
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// Parses a restore.env. Binary (Exchange 2000/2003) files are refused with
/// `-1812 JET_errFileInvalidType` and a message saying the format is not
/// public; malformed tagged text names the byte offset.
pub fn parse_restore_env(b: &[u8]) -> Result<RestoreEnv, FormatError> {
    if b.len() > MAX_RESTORE_ENV_SIZE {
        return Err(FormatError::new(
            MAX_RESTORE_ENV_SIZE as u64,
            Jet::FILE_INVALID_TYPE,
            format!("restore.env is {} bytes; more than {MAX_RESTORE_ENV_SIZE} is not a restore environment", b.len()),
        ));
    }
    if detect(b) == RestoreEnvFormat::Binary {
        return Err(FormatError::new(
            0,
            Jet::FILE_INVALID_TYPE,
            "binary restore.env (Exchange 2000/2003 streaming restore): its layout is not publicly \
             specified and is not supported; run /cc with explicit database and log paths instead",
        ));
    }
    let text = decode_text(b).expect("detected as text");
    let mut env = RestoreEnv::default();
    let mut block = 0usize;
    let mut open: Option<(String, usize)> = None; // element name, value start
    let mut i = 0usize;
    while let Some(rel) = text[i..].find('<') {
        let lt = i + rel;
        let Some(gt_rel) = text[lt..].find('>') else {
            return Err(FormatError::new(
                lt as u64,
                Jet::FILE_INVALID_TYPE,
                "unterminated tag in restore.env",
            ));
        };
        let gt = lt + gt_rel;
        let inner = text[lt + 1..gt].trim();
        let (closing, name) = match inner.strip_prefix('/') {
            Some(n) => (true, n.trim()),
            None => (false, inner),
        };
        if !is_tag_name(name) {
            return Err(FormatError::new(
                lt as u64,
                Jet::FILE_INVALID_TYPE,
                format!(
                    "invalid element name <{}> in restore.env",
                    inner.chars().take(40).collect::<String>()
                ),
            ));
        }
        let name = name.to_ascii_uppercase();
        if name == "DATABASE_RESTORE_ENVIRONMENT" {
            if !closing {
                block += 1;
                env.databases.push(RestoreDatabase::default());
            }
            open = None;
        } else if let Some((o, start)) = open.take() {
            // A value ends at its closing tag, or (documented quirk) at a
            // repeated opening tag of the same name.
            if o == name {
                let value = text[start..lt].trim().to_string();
                env.apply(&name, &value, block);
            } else if !closing {
                open = Some((name, gt + 1));
            }
        } else if !closing {
            open = Some((name, gt + 1));
        }
        i = gt + 1;
    }
    if env.elements.is_empty() {
        return Err(FormatError::new(
            0,
            Jet::FILE_INVALID_TYPE,
            "no restore-environment element found",
        ));
    }
    Ok(env)
}

impl RestoreEnv {
    fn apply(&mut self, tag: &str, value: &str, block: usize) {
        self.elements.push(Element {
            tag: tag.to_string(),
            value: value.to_string(),
            block,
        });
        let v = Some(value.to_string());
        if self.databases.is_empty() {
            self.databases.push(RestoreDatabase::default());
        }
        let db = self.databases.last_mut().expect("one database");
        let first = |slot: &mut Option<String>| {
            if slot.is_none() {
                *slot = v.clone();
            }
        };
        match tag {
            "VERSION_STAMP" => first(&mut self.version_stamp),
            "LOG_SIGNATURE_ID" => first(&mut self.log_signature_id),
            "LOG_SIGNATURE_TIMESTAMP" => first(&mut self.log_signature_timestamp),
            "LOG_BASE_NAME" => first(&mut self.log_base_name),
            "LOG_PATH_ORIGINAL" => first(&mut self.log_path_original),
            "LOG_PATH_TARGET" => first(&mut self.log_path_target),
            "SYSTEM_PATH_ORIGINAL" => first(&mut self.system_path_original),
            "SYSTEM_PATH_TARGET" => first(&mut self.system_path_target),
            "CIRCULAR_LOGGING" => first(&mut self.circular_logging),
            "RECOVERY" => first(&mut self.recovery),
            "DATABASE_GUID_ORIGINAL" => db.guid_original = v,
            "DATABASE_GUID_TARGET" => db.guid_target = v,
            "EDB_LOCATION_ORIGINAL" => db.edb_location_original = v,
            "EDB_LOCATION_TARGET" => db.edb_location_target = v,
            "EDB_FILENAME_ORIGINAL" => db.edb_filename_original = v,
            "EDB_FILENAME_TARGET" => db.edb_filename_target = v,
            "PRIVATE_MDB" => db.private_mdb = v,
            _ => {}
        }
    }
}

/// Maps a Windows path recorded in a restore.env to a file inside `folder`,
/// by file name only, as the restore is relocated. Refused with
/// `-1023 JET_errInvalidPath`: any `..` component, a path that is absolute in
/// Unix terms or a UNC path, NUL characters, and names that are empty or `.`.
/// The error's offset is relative to `recorded` (where the refused part
/// starts), as a parser's offset is relative to its slice.
pub fn map_into_folder(
    folder: &std::path::Path,
    recorded: &str,
) -> Result<std::path::PathBuf, FormatError> {
    let refuse = |at: usize, why: &str| {
        Err(FormatError::new(
            at as u64,
            Jet::INVALID_PATH,
            format!("path {recorded:?} {why}"),
        ))
    };
    if let Some(at) = recorded.find('\0') {
        return refuse(at, "contains a NUL character");
    }
    if recorded.starts_with('/') || recorded.starts_with("\\\\") {
        return refuse(0, "is absolute outside the restore folder (refused)");
    }
    let mut at = 0;
    for part in recorded.split(['\\', '/']) {
        if part.trim() == ".." {
            return refuse(at, "climbs out of its folder with `..` (refused)");
        }
        at += part.len() + 1;
    }
    let last = recorded.rsplit(['\\', '/']).next().unwrap_or("").trim();
    let name = last.rsplit(':').next().unwrap_or("");
    if name.is_empty() || name == "." {
        return refuse(recorded.len(), "names no file");
    }
    Ok(folder.join(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "<DATABASE_RESTORE_ENVIRONMENT>\r\n    <VERSION_STAMP>\r\n        1.0\r\n    <VERSION_STAMP>\r\n    <DATABASE_GUID_ORIGINAL>\r\n        {A2CFF078-782F-4BFE-9443-4BFEA1B46055}\r\n    </DATABASE_GUID_ORIGINAL>\r\n    <EDB_LOCATION_ORIGINAL>\r\n        D:\\DB\r\n    </EDB_LOCATION_ORIGINAL>\r\n    <EDB_FILENAME_ORIGINAL> Mailbox Database.edb </EDB_FILENAME_ORIGINAL>\r\n    <LOG_BASE_NAME>E01</LOG_BASE_NAME>\r\n    <FUTURE_THING>x</FUTURE_THING>\r\n</DATABASE_RESTORE_ENVIRONMENT>\r\n";

    #[test]
    fn documented_layout_with_version_stamp_quirk() {
        let e = parse_restore_env(SAMPLE.as_bytes()).unwrap();
        assert_eq!(e.version_stamp.as_deref(), Some("1.0"));
        assert_eq!(e.log_base_name.as_deref(), Some("E01"));
        assert_eq!(e.databases.len(), 1);
        assert_eq!(
            e.databases[0].edb_filename_original.as_deref(),
            Some("Mailbox Database.edb")
        );
        assert_eq!(
            e.databases[0].guid_original.as_deref(),
            Some("{A2CFF078-782F-4BFE-9443-4BFEA1B46055}")
        );
        assert!(e
            .elements
            .iter()
            .any(|x| x.tag == "FUTURE_THING" && x.value == "x"));
    }

    #[test]
    fn utf16_text_is_read() {
        let mut b = vec![0xFF, 0xFE];
        b.extend(SAMPLE.encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(
            parse_restore_env(&b).unwrap().log_base_name.as_deref(),
            Some("E01")
        );
    }

    #[test]
    fn binary_is_unsupported() {
        let b = [0x01u8, 0x00, 0x02, 0x00, 0x10, 0x20, 0x00, 0x05];
        assert_eq!(detect(&b), RestoreEnvFormat::Binary);
        let e = parse_restore_env(&b).unwrap_err();
        assert!(e.detail.contains("not publicly"));
    }

    #[test]
    fn malformed_text_names_offset() {
        let e = parse_restore_env(b"<LOG_BASE_NAME>E01</LOG_BASE_NAME><BAD NAME>").unwrap_err();
        assert_eq!(e.offset, 34);
        assert!(parse_restore_env(b"<LOG_BASE_NAME").is_err());
    }

    #[test]
    fn paths_are_mapped_by_name_and_traversal_refused() {
        let f = std::path::Path::new("/restore");
        assert_eq!(
            map_into_folder(f, "D:\\DB\\priv1.edb").unwrap(),
            f.join("priv1.edb")
        );
        assert!(map_into_folder(f, "..\\..\\etc").is_err());
        let e = map_into_folder(f, "D:\\x\\..\\y.edb").unwrap_err();
        assert_eq!((e.offset, e.jet), (5, Jet::INVALID_PATH));
        assert!(map_into_folder(f, "/etc/passwd").is_err());
        assert!(map_into_folder(f, "\\\\server\\share\\a.edb").is_err());
        assert!(map_into_folder(f, "D:\\DB\\").is_err());
        assert_eq!(
            map_into_folder(f, "C:priv.edb").unwrap(),
            f.join("priv.edb")
        );
    }
}
