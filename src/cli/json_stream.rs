//! One JSON document written as it is made: the fields known at the start,
//! then an array whose items are written (and flushed) as each completes,
//! then the fields known only at the end. The bytes are those
//! [`super::write_json`] writes for the whole document at once (pretty
//! printed, `schema_version` first, `input_hashes` last when `--hash`), so a
//! mode over a thousand logs holds one item at a time, not the set.

use std::io::Write;

use serde::Serialize;

use super::{stdout_err, SCHEMA_VERSION};
use crate::error::Error;

/// A document under way: its head and the array's opening are written.
pub struct JsonArrayDoc {
    items: usize,
}

fn pretty<T: Serialize + ?Sized>(v: &T) -> Result<String, Error> {
    serde_json::to_string_pretty(v).map_err(|e| Error::Usage(e.to_string()))
}

/// Every line but the first indented by `n` spaces (a nested value).
fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.replace('\n', &format!("\n{pad}"))
}

impl JsonArrayDoc {
    /// Writes `{`, `schema_version`, the fields of `head` and `"key": [`.
    pub fn begin<H: Serialize>(
        out: &mut dyn Write,
        head: &H,
        key: &str,
    ) -> Result<JsonArrayDoc, Error> {
        #[derive(Serialize)]
        struct Versioned<'a, H> {
            schema_version: u32,
            #[serde(flatten)]
            head: &'a H,
        }
        let s = pretty(&Versioned {
            schema_version: SCHEMA_VERSION,
            head,
        })?;
        // `{ … \n}`: the object left open after its last field.
        let open = s.strip_suffix("\n}").unwrap_or("{");
        write!(out, "{open},\n  {}: [", pretty(key)?).map_err(stdout_err)?;
        Ok(JsonArrayDoc { items: 0 })
    }

    /// Writes one array item and flushes it.
    pub fn item<T: Serialize>(&mut self, out: &mut dyn Write, v: &T) -> Result<(), Error> {
        let sep = if self.items == 0 { "" } else { "," };
        write!(out, "{sep}\n    {}", indent(&pretty(v)?, 4)).map_err(stdout_err)?;
        self.items += 1;
        out.flush().map_err(stdout_err)
    }

    /// Closes the array, writes the fields of `tail` (and `input_hashes`
    /// under `--hash`) and closes the document.
    pub fn end<T: Serialize>(self, out: &mut dyn Write, tail: &T) -> Result<(), Error> {
        #[derive(Serialize)]
        struct Tail<'a, T> {
            #[serde(flatten)]
            tail: &'a T,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            input_hashes: Vec<serde_json::Value>,
        }
        let s = pretty(&Tail {
            tail,
            input_hashes: super::input_hashes(),
        })?;
        let close = if self.items == 0 { "]" } else { "\n  ]" };
        // `{\n  "a": …\n}` after the array: its fields follow a comma.
        let rest = match s.strip_prefix('{') {
            Some(r) if r != "}" => format!(",{r}"),
            _ => "\n}".to_string(),
        };
        writeln!(out, "{close}{rest}").map_err(stdout_err)?;
        out.flush().map_err(stdout_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Head {
        tool: &'static str,
        range: Option<(u32, u32)>,
    }
    #[derive(Serialize)]
    struct Item {
        file: String,
        n: Vec<u32>,
    }
    #[derive(Serialize)]
    struct Tail {
        ok: bool,
    }
    #[derive(Serialize)]
    struct Whole {
        tool: &'static str,
        range: Option<(u32, u32)>,
        files: Vec<Item>,
        ok: bool,
    }

    fn streamed(n: u32) -> String {
        let mut out = Vec::new();
        let head = Head {
            tool: "t",
            range: Some((1, 2)),
        };
        let mut doc = JsonArrayDoc::begin(&mut out, &head, "files").unwrap();
        for i in 0..n {
            let it = Item {
                file: format!("f{i}\n\"x\""),
                n: vec![i, i + 1],
            };
            doc.item(&mut out, &it).unwrap();
        }
        doc.end(&mut out, &Tail { ok: true }).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn streamed_document_is_the_whole_document() {
        for n in [0, 1, 3] {
            let whole = Whole {
                tool: "t",
                range: Some((1, 2)),
                files: (0..n)
                    .map(|i| Item {
                        file: format!("f{i}\n\"x\""),
                        n: vec![i, i + 1],
                    })
                    .collect(),
                ok: true,
            };
            let mut expected = Vec::new();
            super::super::write_json(&mut expected, &whole).unwrap();
            assert_eq!(streamed(n), String::from_utf8(expected).unwrap(), "n = {n}");
        }
    }
}
