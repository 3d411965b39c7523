//! Separated long values for the timeline: the LV-tree nodes the logs
//! write (kept, bounded), then the database's LV tree, else the LID named
//! with the reason.
//!
//! LV tree layout (`inc/lv.hxx`, `ese/lv.cxx`): a long value's root is
//! keyed by its LID (big-endian) and holds LVROOT (reference count @0, size
//! @4); its chunks are keyed LID ‖ offset (big-endian u32) and hold the
//! bytes from that offset, compressed when their length is not the
//! distance to the next chunk ([`crate::db::compression`]).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use super::{LvRef, MAX_LV_BYTES};
use crate::db::compression::decompress;
use crate::db::export::{LvTree, MAX_LONG_VALUE};
use crate::db::record_values::{LongValues, LvError};

/// LV-tree nodes (key → data) the logs wrote, per (dbid, LV tree objid).
#[derive(Debug, Default)]
pub(super) struct LvChunks {
    trees: HashMap<(u8, u32), BTreeMap<Vec<u8>, Vec<u8>>>,
    bytes: usize,
    /// Nodes not kept because of [`MAX_LV_BYTES`].
    pub(super) skipped: u64,
}

impl LvChunks {
    /// Keeps the node `key` of LV tree `objid` as the logs left it. Deleted
    /// nodes stay: the before image of a deleted row may still name them.
    pub(super) fn learn(&mut self, dbid: u8, objid: u32, key: &[u8], data: &[u8]) {
        let tree = self.trees.entry((dbid, objid)).or_default();
        let old = tree.get(key).map_or(0, |d| key.len() + d.len());
        let new = self.bytes - old + key.len() + data.len();
        if new > MAX_LV_BYTES {
            self.skipped += 1;
            return;
        }
        self.bytes = new;
        tree.insert(key.to_vec(), data.to_vec());
    }

    /// The long value keyed `lid_be` of LV tree `objid`, from the nodes kept.
    fn read(&self, dbid: u8, objid: u32, lid_be: &[u8]) -> Result<Vec<u8>, LvError> {
        let missing = |m: &str| LvError::Missing(m.to_string());
        let tree = self
            .trees
            .get(&(dbid, objid))
            .ok_or_else(|| missing("the logs read wrote no node of its LV tree"))?;
        let root = tree
            .get(lid_be)
            .ok_or_else(|| missing("the logs read did not write its root"))?;
        let size = root
            .get(4..8)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
            .ok_or_else(|| missing("its root is shorter than LVROOT"))?;
        if size > MAX_LONG_VALUE {
            return Err(LvError::Missing(format!("long value of {size} bytes")));
        }
        // The chunks in key order: offset and bytes.
        let offsets: Vec<(u64, &Vec<u8>)> = tree
            .range(lid_be.to_vec()..)
            .skip(1)
            .take_while(|(k, _)| k.len() == lid_be.len() + 4 && k.starts_with(lid_be))
            .map(|(k, d)| {
                let o = &k[lid_be.len()..];
                (u32::from_be_bytes([o[0], o[1], o[2], o[3]]) as u64, d)
            })
            .collect();
        let mut value = Vec::with_capacity(size as usize);
        for (n, &(at, bytes)) in offsets.iter().enumerate() {
            if at != value.len() as u64 {
                return Err(LvError::Missing(format!(
                    "the logs read did not write its bytes from {}",
                    value.len()
                )));
            }
            let next = offsets.get(n + 1).map_or(size, |x| x.0);
            let span = next.saturating_sub(at) as usize;
            match bytes.len() == span {
                true => value.extend_from_slice(bytes),
                false => value.extend(
                    decompress(bytes, span).map_err(|u| LvError::Undecoded(u, bytes.clone()))?,
                ),
            }
        }
        if value.len() as u64 != size {
            return Err(LvError::Missing(format!(
                "the logs read wrote {} of its {size} bytes",
                value.len()
            )));
        }
        Ok(value)
    }
}

/// The long values one image decodes with, and what became of each.
pub(super) struct ImageLongValues<'a> {
    /// (chunks, dbid, LV tree objid), when the table has an LV tree.
    pub(super) logs: Option<(&'a LvChunks, u8, u32)>,
    /// The database's LV tree, when the database is the change's.
    pub(super) db: Option<LvTree<'a>>,
    /// Every LID met, in decoding order.
    pub(super) met: RefCell<Vec<LvRef>>,
}

impl LongValues for ImageLongValues<'_> {
    fn fetch(&self, lid: &[u8]) -> Result<Vec<u8>, LvError> {
        let lid_be: Vec<u8> = lid.iter().rev().copied().collect();
        let mut r = LvRef {
            lid: lid_be.iter().map(|b| format!("{b:02x}")).collect(),
            source: None,
            unresolved: None,
        };
        let from_logs = match self.logs {
            Some((c, dbid, objid)) => c.read(dbid, objid, &lid_be),
            None => Err(LvError::Missing("the table has no LV tree known".into())),
        };
        let out = match from_logs {
            Err(LvError::Missing(why_logs)) => match self.db.as_ref().map(|t| t.fetch(lid)) {
                Some(Err(LvError::Missing(why_db))) => {
                    r.unresolved = Some(format!("logs: {why_logs}; database: {why_db}"));
                    Err(LvError::Missing(r.error_text().unwrap_or_default()))
                }
                None => {
                    r.unresolved =
                        Some(format!("logs: {why_logs}; no database of this dbid given"));
                    Err(LvError::Missing(r.error_text().unwrap_or_default()))
                }
                Some(from_db) => {
                    r.source = Some("database");
                    from_db
                }
            },
            from_logs => {
                r.source = Some("logs");
                from_logs
            }
        };
        self.met.borrow_mut().push(r);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(size: u32) -> Vec<u8> {
        let mut r = 1u32.to_le_bytes().to_vec();
        r.extend(size.to_le_bytes());
        r
    }

    fn chunk_key(lid: u32, off: u32) -> Vec<u8> {
        let mut k = lid.to_be_bytes().to_vec();
        k.extend(off.to_be_bytes());
        k
    }

    #[test]
    fn chunks_the_logs_wrote_make_the_value_else_the_lid_is_named() {
        let mut c = LvChunks::default();
        c.learn(1, 30, &5u32.to_be_bytes(), &root(6));
        c.learn(1, 30, &chunk_key(5, 0), b"abcd");
        c.learn(1, 30, &chunk_key(5, 4), b"ef");
        // A root without all its bytes.
        c.learn(1, 30, &6u32.to_be_bytes(), &root(9));
        c.learn(1, 30, &chunk_key(6, 3), b"xyz");
        let lvs = ImageLongValues {
            logs: Some((&c, 1, 30)),
            db: None,
            met: Default::default(),
        };
        // The record holds the LID little-endian.
        assert_eq!(lvs.fetch(&5u32.to_le_bytes()).unwrap(), b"abcdef");
        let e = lvs.fetch(&6u32.to_le_bytes());
        let met = lvs.met.into_inner();
        assert_eq!(met[0].source, Some("logs"));
        assert_eq!((met[1].lid.as_str(), met[1].source), ("00000006", None));
        let why = met[1].unresolved.as_deref().unwrap();
        assert!(
            why.contains("its bytes from 0") && why.contains("no database"),
            "{why}"
        );
        match e {
            Err(LvError::Missing(m)) => assert_eq!(Some(m), met[1].error_text()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn kept_bytes_are_bounded() {
        let mut c = LvChunks::default();
        let big = vec![0u8; MAX_LV_BYTES / 2];
        c.learn(1, 30, b"a", &big);
        c.learn(1, 30, b"b", &big);
        assert_eq!(c.skipped, 1);
        // Replacing a node kept counts only the difference.
        c.learn(1, 30, b"a", b"small");
        c.learn(1, 30, b"b", &big);
        assert_eq!(c.skipped, 1);
    }
}
