//! Rendering of `timeline` changes: JSON Lines, and the Timesketch/plaso
//! JSONL form (`datetime`, `timestamp_desc`, `message` plus the same
//! fields). Values as `export` writes them ([`super::export::value_json`]).

use serde_json::{json, Map, Value as J};

use super::export::value_json;
use crate::db::record_values::Value;
use crate::report::timeline::{Change, Image, Tree};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A column value; a separated long value not read is `{"lid", "unresolved"}`.
fn column_json(v: &Value, i: &Image) -> J {
    match v {
        Value::Error(e) => i
            .long_values
            .iter()
            .find(|r| r.error_text().as_deref() == Some(e.as_str()))
            .map_or_else(
                || value_json(v),
                |r| json!({ "lid": r.lid, "unresolved": r.unresolved }),
            ),
        Value::Multi(vs) => J::Array(vs.iter().map(|x| column_json(x, i)).collect()),
        _ => value_json(v),
    }
}

fn image(i: &Image) -> J {
    let mut m = Map::new();
    m.insert("source".into(), json!(i.source));
    match &i.values {
        Some(v) => {
            let cols: Map<String, J> = v
                .iter()
                .map(|(n, v)| (n.clone(), column_json(v, i)))
                .collect();
            m.insert("columns".into(), J::Object(cols));
        }
        None => {
            m.insert("raw_hex".into(), json!(hex(&i.raw)));
        }
    }
    let read: Vec<J> = i
        .long_values
        .iter()
        .filter_map(|r| r.source.map(|s| json!({ "lid": r.lid, "source": s })))
        .collect();
    if !read.is_empty() {
        m.insert("long_values".into(), J::Array(read));
    }
    if let Some(n) = &i.note {
        m.insert("note".into(), json!(n));
    }
    J::Object(m)
}

fn tree(t: &Tree) -> J {
    match t {
        Tree::Primary => json!("primary"),
        Tree::Index(n) => json!({ "index": n }),
        Tree::LongValues => json!("long-values"),
        Tree::Unknown => J::Null,
    }
}

/// The fields of one change, in output order.
pub fn change_fields(c: &Change) -> Map<String, J> {
    let mut m = Map::new();
    let mut put = |k: &str, v: J| {
        m.insert(k.to_string(), v);
    };
    put(
        "lgpos",
        json!({
            "gen": c.lgpos.generation,
            "isec": c.lgpos.sector,
            "ib": c.lgpos.offset,
            "text": c.lgpos.eseutil_text(),
        }),
    );
    put("time", json!(c.time.and_then(|t| t.iso8601())));
    put(
        "time_zone",
        json!(if c.time.is_some_and(|t| t.is_utc()) {
            "UTC"
        } else {
            "writer-local"
        }),
    );
    put("time_source", json!(c.time_source));
    put("database", json!(c.database));
    put("dbid", json!(c.dbid));
    put("table", json!(c.table));
    put("tree", tree(&c.tree));
    put("op", json!(c.op));
    put("outcome", json!(c.outcome.name()));
    put("trx", json!(c.trx));
    put("procid", json!(c.procid));
    put("level", json!(c.level));
    put("system_task", json!(c.system_task));
    put("lrtyp", json!(c.lrtyp));
    put("rceid", json!(c.rceid));
    if let Some(u) = c.undoes {
        put("undoes", json!(u.eseutil_text()));
    }
    put("objid", json!(c.objid));
    put("pgno", json!(c.pgno));
    put("iline", json!(c.iline));
    put("key", json!(c.key.as_deref().map(hex)));
    put("key_source", json!(c.key_source));
    if !c.key_columns.is_empty() {
        let kc: Map<String, J> = c
            .key_columns
            .iter()
            .map(|(n, v)| (n.clone(), value_json(v)))
            .collect();
        put("key_columns", J::Object(kc));
    }
    put("before", c.before.as_ref().map_or(J::Null, image));
    if let Some(why) = &c.before_unknown {
        put("before_unknown", json!(why));
    }
    put("after", c.after.as_ref().map_or(J::Null, image));
    if let Some((d, off)) = c.delta {
        put("delta", json!({ "value": d, "offset": off }));
    }
    if !c.notes.is_empty() {
        put("notes", json!(c.notes));
    }
    m
}

/// One JSON Lines record.
pub fn jsonl_line(c: &Change) -> String {
    let mut s = J::Object(change_fields(c)).to_string();
    s.push('\n');
    s
}

/// One Timesketch/plaso JSONL record: `datetime` (ISO-8601; without a zone
/// suffix when the writer's time is local), `timestamp_desc`, `message`,
/// then the fields of [`change_fields`].
pub fn timesketch_line(c: &Change) -> String {
    let mut m = Map::new();
    m.insert("datetime".into(), json!(c.time.and_then(|t| t.iso8601())));
    m.insert(
        "timestamp_desc".into(),
        json!(format!("ESE log time ({})", c.time_source)),
    );
    let what = c.table.as_deref().unwrap_or("?");
    let key = c.key.as_deref().map_or("?".into(), hex);
    m.insert(
        "message".into(),
        json!(format!(
            "{} {} key {} ({}) at {} trx {}",
            c.op,
            what,
            key,
            c.outcome.name(),
            c.lgpos.eseutil_text(),
            c.trx
        )),
    );
    m.extend(change_fields(c));
    let mut s = J::Object(m).to_string();
    s.push('\n');
    s
}
