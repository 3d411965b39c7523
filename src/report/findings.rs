//! eseutil's wording of the facts the log layer finds ([`SetFinding`]):
//! the `/ml` text and JSON both carry it, so it lives here, below the
//! renderers, and a [`SetIssue`] serialises as `{jet, message}`; a plan
//! problem holding one ([`ProblemText`]) is worded here too.

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::log::naming::{current_file_name, generation_file_name_width};
use crate::log::set::{SetFinding, SetIssue};
use crate::plan::ProblemText;

/// The eseutil-style message of a sequence problem (without indentation).
pub fn message(f: &SetFinding) -> String {
    match f {
        SetFinding::GenerationMismatch { header, name } => format!(
            "ERROR: Mismatched log generation {header} (0x{header:X}) with log file name. Expected generation {name} (0x{name:X})."
        ),
        SetFinding::BadSignature { found, expected } => format!(
            "ERROR: Invalid log signature: {}\n   Expected signature: {}",
            found.eseutil_text(),
            expected.eseutil_text()
        ),
        SetFinding::PrevGenTime { found, expected } => format!(
            "ERROR: Invalid log sequence. Previous generation time is [{}], but expected [{}].",
            found.eseutil_text(),
            expected.eseutil_text()
        ),
        SetFinding::AccumulatedChecksum { stored, expected } => format!(
            "ERROR: Invalid log sequence. Previous generation accumulated segment checksum is 0x{stored:016x}, but expected 0x{expected:016x}."
        ),
        SetFinding::MissingGenerations {
            base,
            first,
            last,
            digits,
            ext,
        } => {
            let a = generation_file_name_width(base, *first, *digits, *ext);
            if first == last {
                return format!("Missing log file: {a}");
            }
            let b = generation_file_name_width(base, *last, *digits, *ext);
            let strip = |s: &str| s[base.len()..s.len() - 4].to_string();
            format!(
                "Missing log files: {base}{{{} - {}}}.{}",
                strip(&a),
                strip(&b),
                ext.as_str()
            )
        }
        SetFinding::MissingCurrent { base, ext } => {
            format!("Missing log file: {}", current_file_name(base, *ext))
        }
        SetFinding::BackupStartsLate {
            database,
            needed,
            present,
        } => format!(
            "Backup set incomplete: {} needs generation {needed:#X} onwards, the logs here start at {present:#X}",
            database.display()
        ),
        SetFinding::BackupEndsEarly {
            database,
            needed,
            present,
        } => format!(
            "Backup set incomplete: {} needs generations up to {needed:#X}, the logs here end at {present:#X}",
            database.display()
        ),
    }
}

impl SetIssue {
    /// The eseutil-style message (without indentation).
    pub fn message(&self) -> String {
        message(&self.finding)
    }
}

impl Serialize for SetIssue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("SetIssue", 2)?;
        st.serialize_field("jet", &self.jet)?;
        st.serialize_field("message", &self.message())?;
        st.end()
    }
}

/// A plan problem's text: the plan's sentence, or the finding's wording
/// after the file it is about (`edb00002.log: ERROR: …`).
impl std::fmt::Display for ProblemText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProblemText::Text(t) => f.write_str(t),
            ProblemText::Set {
                file: Some(file),
                issue,
            } => write!(f, "{file}: {}", issue.message()),
            ProblemText::Set { file: None, issue } => f.write_str(&issue.message()),
        }
    }
}

/// Serialised as the text (a JSON string, as before the facts were kept).
impl Serialize for ProblemText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Jet;
    use crate::plan::Problem;

    #[test]
    fn a_plan_problem_holding_a_finding_reads_as_the_sentence_it_replaced() {
        let issue = SetIssue::new(SetFinding::GenerationMismatch { header: 5, name: 6 });
        let words = issue.message();
        let p = Problem {
            jet: issue.jet,
            message: ProblemText::Set {
                file: Some("edb00006.log".into()),
                issue: issue.clone(),
            },
        };
        let text = format!("edb00006.log: {words}");
        assert_eq!(p.message.to_string(), text);
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["message"], serde_json::Value::String(text));
        let bare = ProblemText::Set { file: None, issue };
        assert_eq!(bare.to_string(), words);
        let said: ProblemText = "plain".into();
        assert_eq!(serde_json::to_value(&said).unwrap(), "plain");
        assert_eq!(Jet::LOG_GENERATION_MISMATCH, p.jet);
    }
}
