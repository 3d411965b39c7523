//! Rendering of exported records: JSON Lines and CSV (RFC 4180).
//!
//! JSON values: NULL `null`; Bit `true`/`false`; integers as numbers;
//! floats as numbers (`"NaN"`, `"inf"`, `"-inf"` as strings); DateTime
//! `{"datetime": ISO-8601 or null, "raw": i64}`; Binary hex; Text a string;
//! GUID canonical form; multi-valued an array; an undecodable compressed
//! value `{"scheme": …, "raw_hex": …}`; an unreadable value
//! `{"error": …}`.
//!
//! Export adds fields of its own to a record: `table` (on standard
//! output), `view` (a dirty or replayed database) and, for deleted
//! records, `found`, `confidence`, `pgno`, `itag`, `offset` ([`ADDED_FIELDS`]).
//! A column bearing one of those names is written as `column.NAME` (see
//! [`field_name`]): ESE refuses `.` in a column name (`ese/util.cxx`
//! `ErrUTILICheckName`, `rgbValidName`), so that key can belong to no other
//! column and never meets an added field.

use std::borrow::Cow;

use serde_json::{json, Value as J};

use crate::db::record_values::{guid_text, ole_date_iso, ColumnSchema, TableSchema, Value};

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(s: &mut String, b: &[u8]) {
    s.reserve(2 * b.len());
    for &x in b {
        s.push(HEX[(x >> 4) as usize] as char);
        s.push(HEX[(x & 15) as usize] as char);
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::new();
    push_hex(&mut s, b);
    s
}

/// A JSON string literal (RFC 8259 escapes), scanned by bytes: only
/// ASCII bytes need escaping, and none occurs inside a multi-byte UTF-8
/// sequence.
fn push_str_lit(s: &mut String, t: &str) {
    s.push('"');
    let b = t.as_bytes();
    // Most names and values need no escape: one branch-free pass over the
    // bytes (which the compiler vectorises) decides, then one copy.
    let plain = b
        .iter()
        .fold(true, |ok, &c| ok & (c >= 0x20) & (c != b'"') & (c != b'\\'));
    if plain {
        s.push_str(t);
        s.push('"');
        return;
    }
    let mut start = 0;
    for (i, &c) in b.iter().enumerate() {
        if c >= 0x20 && c != b'"' && c != b'\\' {
            continue;
        }
        s.push_str(&t[start..i]);
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            b'\t' => s.push_str("\\t"),
            _ => s.push_str(&format!("\\u{c:04x}")),
        }
        start = i + 1;
    }
    s.push_str(&t[start..]);
    s.push('"');
}

/// Appends one value as JSON (the same text as [`value_json`], without
/// building a tree).
pub fn push_value(s: &mut String, v: &Value) {
    use std::fmt::Write as _;
    match v {
        Value::Null => s.push_str("null"),
        Value::Bool(b) => s.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(s, "{i}");
        }
        Value::UInt(u) => {
            let _ = write!(s, "{u}");
        }
        Value::Binary(b) => {
            s.push('"');
            push_hex(s, b);
            s.push('"');
        }
        Value::Text(t) => push_str_lit(s, t),
        Value::Multi(vs) => {
            s.push('[');
            for (i, v) in vs.iter().enumerate() {
                if i > 0 {
                    s.push(',');
                }
                push_value(s, v);
            }
            s.push(']');
        }
        other => s.push_str(&value_json(other).to_string()),
    }
}

fn float(f: f64) -> J {
    if f.is_finite() {
        json!(f)
    } else {
        J::String(f.to_string())
    }
}

/// One value as JSON.
pub fn value_json(v: &Value) -> J {
    match v {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => json!(i),
        Value::UInt(u) => json!(u),
        Value::F32(f) => float(*f as f64),
        Value::F64(f) => float(*f),
        Value::DateTime(raw) => json!({
            "datetime": ole_date_iso(f64::from_bits(*raw as u64)),
            "raw": raw,
        }),
        Value::Binary(b) => J::String(hex(b)),
        Value::Text(s) => J::String(s.clone()),
        Value::Guid(g) => J::String(guid_text(g)),
        Value::Multi(vs) => J::Array(vs.iter().map(value_json).collect()),
        Value::Undecoded { scheme, raw } => json!({"scheme": scheme, "raw_hex": hex(raw)}),
        Value::Error(e) => json!({ "error": e }),
    }
}

/// Names of the fields export adds to a record line (JSON keys, CSV
/// header cells), reserved: a column of that name is renamed.
pub const ADDED_FIELDS: [&str; 7] = [
    "table",
    "view",
    "found",
    "confidence",
    "pgno",
    "itag",
    "offset",
];

/// Prefix of a column whose name is one of [`ADDED_FIELDS`].
pub const RENAMED_PREFIX: &str = "column.";

/// The key (JSON) or header cell (CSV) of a column: its name, or
/// `column.NAME` when the name is one of [`ADDED_FIELDS`].
pub fn field_name(name: &str) -> Cow<'_, str> {
    if ADDED_FIELDS.contains(&name) {
        Cow::Owned(format!("{RENAMED_PREFIX}{name}"))
    } else {
        Cow::Borrowed(name)
    }
}

/// The JSON keys of a table's columns, each escaped once (`"NAME":`, by
/// [`field_name`]): a table with tens of thousands of columns writes them
/// for every record.
pub struct JsonKeys(Vec<String>);

impl JsonKeys {
    /// The keys of `schema`'s columns in column order.
    pub fn of(schema: &TableSchema) -> JsonKeys {
        JsonKeys(
            schema
                .columns
                .iter()
                .map(|c| {
                    let mut k = String::new();
                    push_str_lit(&mut k, &field_name(&c.name));
                    k.push(':');
                    k
                })
                .collect(),
        )
    }
}

/// One JSON Lines record: `"table"` first when given, then every column
/// by its key ([`JsonKeys`]) in column order.
pub fn jsonl_line(table: Option<&str>, keys: &JsonKeys, values: &[Value]) -> String {
    let mut s = String::with_capacity(256);
    s.push('{');
    if let Some(t) = table {
        s.push_str("\"table\":");
        push_str_lit(&mut s, t);
    }
    for (i, (k, v)) in keys.0.iter().zip(values).enumerate() {
        if i > 0 || table.is_some() {
            s.push(',');
        }
        s.push_str(k);
        push_value(&mut s, v);
    }
    s.push_str("}\n");
    s
}

/// RFC 4180 field: quoted when it holds a comma, quote, CR or LF.
pub fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

fn is_datetime(c: &ColumnSchema) -> bool {
    c.coltyp == 8
}

/// CSV header: column names ([`field_name`]); a DateTime column is
/// followed by `<name>.raw`.
pub fn csv_header(schema: &TableSchema) -> String {
    let mut cells = Vec::new();
    for c in &schema.columns {
        let name = field_name(&c.name);
        cells.push(csv_field(&name));
        if is_datetime(c) {
            cells.push(csv_field(&format!("{name}.raw")));
        }
    }
    cells.join(",") + "\r\n"
}

/// CSV cell text of a value: NULL empty, scalars plain, the rest as JSON.
fn csv_cell(v: &Value) -> String {
    match value_json(v) {
        J::Null => String::new(),
        J::String(s) => s,
        other => other.to_string(),
    }
}

/// One CSV record (CRLF-terminated).
pub fn csv_row(schema: &TableSchema, values: &[Value]) -> String {
    let mut cells = Vec::new();
    for (c, v) in schema.columns.iter().zip(values) {
        match (is_datetime(c), v) {
            (true, Value::DateTime(raw)) => {
                let iso = ole_date_iso(f64::from_bits(*raw as u64)).unwrap_or_default();
                cells.push(csv_field(&iso));
                cells.push(raw.to_string());
            }
            (true, other) => {
                cells.push(csv_field(&csv_cell(other)));
                cells.push(String::new());
            }
            _ => cells.push(csv_field(&csv_cell(v))),
        }
    }
    cells.join(",") + "\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_json_equals_serde_json() {
        let vs = [
            Value::Text("a\"b\\c\n\u{1}é🦊".into()),
            Value::Binary(vec![0, 0xAB, 0xFF]),
            Value::Multi(vec![
                Value::Int(-3),
                Value::UInt(7),
                Value::Null,
                Value::Bool(true),
            ]),
            Value::F64(0.1),
            Value::DateTime(4675210852477960192),
        ];
        for v in &vs {
            let mut s = String::new();
            push_value(&mut s, v);
            let parsed: J = serde_json::from_str(&s).unwrap();
            assert_eq!(parsed, value_json(v), "{s}");
        }
    }

    /// A column named like a field export adds is renamed `column.NAME`
    /// in JSON and CSV; other names are kept.
    #[test]
    fn added_field_names_never_collide() {
        let col = |id: u32, name: &str| ColumnSchema {
            id,
            name: name.into(),
            coltyp: 4,
            codepage: 0,
            fixed: None,
            default: None,
        };
        let mut columns: Vec<ColumnSchema> = ADDED_FIELDS
            .iter()
            .enumerate()
            .map(|(i, n)| col(256 + i as u32, n))
            .collect();
        columns.push(col(300, "Table"));
        let schema = TableSchema {
            name: "t".into(),
            objid: 9,
            pgno_fdp: 9,
            long_values: None,
            columns,
        };
        let values: Vec<Value> = (0..8).map(Value::Int).collect();
        let line: J =
            serde_json::from_str(&jsonl_line(Some("t"), &JsonKeys::of(&schema), &values)).unwrap();
        assert_eq!(line["table"], "t");
        for (i, n) in ADDED_FIELDS.iter().enumerate() {
            assert_eq!(line[format!("column.{n}")], i as i64, "{line}");
        }
        assert_eq!(line["Table"], 7);
        assert_eq!(line.as_object().unwrap().len(), 9);
        assert!(csv_header(&schema).starts_with("column.table,column.view,column.found,"));
    }

    #[test]
    fn csv_quoting() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(
            value_json(&Value::Undecoded {
                scheme: "xpress9".into(),
                raw: vec![0x28, 1]
            }),
            json!({"scheme": "xpress9", "raw_hex": "2801"})
        );
    }
}
