//! Rendering of exported records: JSON Lines and CSV (RFC 4180).
//!
//! JSON values: NULL `null`; Bit `true`/`false`; integers as numbers;
//! floats as numbers (`"NaN"`, `"inf"`, `"-inf"` as strings); DateTime
//! `{"datetime": ISO-8601 or null, "raw": i64}`; Binary hex; Text a string;
//! GUID canonical form; multi-valued an array; an undecodable compressed
//! value `{"scheme": …, "raw_hex": …}`; an unreadable value
//! `{"error": …}`.

use serde_json::{json, Value as J};

use crate::db::record_values::{guid_text, ole_date_iso, ColumnSchema, TableSchema, Value};

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(2 * b.len());
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
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

/// One JSON Lines record: `"table"` first when given, then every column
/// by name in column-id order.
pub fn jsonl_line(table: Option<&str>, schema: &TableSchema, values: &[Value]) -> String {
    let mut s = String::from("{");
    let mut first = true;
    let mut field = |s: &mut String, k: &str, v: &J| {
        if !first {
            s.push(',');
        }
        first = false;
        s.push_str(&J::String(k.to_string()).to_string());
        s.push(':');
        s.push_str(&v.to_string());
    };
    if let Some(t) = table {
        field(&mut s, "table", &J::String(t.to_string()));
    }
    for (c, v) in schema.columns.iter().zip(values) {
        field(&mut s, &c.name, &value_json(v));
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

/// CSV header: column names; a DateTime column is followed by
/// `<name>.raw`.
pub fn csv_header(schema: &TableSchema) -> String {
    let mut cells = Vec::new();
    for c in &schema.columns {
        cells.push(csv_field(&c.name));
        if is_datetime(c) {
            cells.push(csv_field(&format!("{}.raw", c.name)));
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
