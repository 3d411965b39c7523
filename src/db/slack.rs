//! Carving records from page slack: the bytes of a leaf page's data area
//! that no tag points to (cpage.cxx: the data area runs from the header to
//! the tag array at the page's end; `ibMicFree` is the first byte never
//! used, and a deleted node's line stays in place, uncounted, until the
//! page is reorganized). Old records survive there; a candidate is taken
//! when its record header (fixed last id, variable last id, end of fixed
//! data) agrees with the table's catalog and its variable offsets ascend.

use super::page::Page;
use super::record::{Record, VAR_OFFSET_MASK};
use super::record_values::TableSchema;
use crate::parse::page::{header_size, read_tag, KEY_COUNT_MASK};
use crate::parse::u16_at;

/// A record candidate found in slack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Carved {
    /// Byte offset of the record in the page.
    pub offset: usize,
    /// One past its last byte (the next candidate or the region's end;
    /// the end of its variable data when the table has no tagged column).
    pub end: usize,
    /// Start of its tagged area (end of its fixed and variable data).
    pub tagged_at: usize,
    /// Whether its tagged area (if any) splits cleanly.
    pub tagged_ok: bool,
    /// Whether `end` is the record's own end: when the table has no
    /// tagged column, or when the next carved record's node header (its
    /// key-suffix count, on a page without a key prefix) ends it. Else a
    /// tagged area runs to the end of the record and its last value has
    /// no stored length (`TAGFLD`, tagfld.hxx): a carved record's last
    /// tagged value may take in bytes that are not its own, and a tagged
    /// area that does not split may hide values.
    pub end_certain: bool,
}

/// Byte ranges `[start, end)` of the page's data area that no tag in use
/// covers: everything between the header and the tag array when the tag
/// array is gone (`itagMicFree` 0) or unreadable.
pub fn slack_regions(page: &Page) -> Vec<(usize, usize)> {
    let ps = page.bytes.len();
    let hs = header_size(ps);
    let ntags = page.tag_count();
    let data_end = ps.saturating_sub(4 * ntags).max(hs);
    let mut used: Vec<(usize, usize)> = (0..ntags)
        .filter_map(|i| read_tag(&page.bytes, i, ntags).ok())
        .map(|t| (hs + t.ib as usize, hs + t.ib as usize + t.cb as usize))
        .filter(|&(s, e)| s < e)
        .collect();
    used.sort_unstable();
    let mut out = Vec::new();
    let mut at = hs;
    for (s, e) in used {
        if s > at {
            out.push((at, s.min(data_end)));
        }
        at = at.max(e);
    }
    if at < data_end {
        out.push((at, data_end));
    }
    out.retain(|&(s, e)| e > s);
    out
}

/// End of the fixed data (with its null bitmap) a record whose last fixed
/// column is `fixed_last` has under `schema`; `None` when the table has no
/// such column.
fn expected_fixed_end(schema: &TableSchema, fixed_last: u8) -> Option<usize> {
    if fixed_last == 0 {
        return Some(4);
    }
    let c = schema.columns.iter().find(|c| c.id == fixed_last as u32)?;
    let (off, size) = c.fixed?;
    Some(off + size + (fixed_last as usize).div_ceil(8))
}

/// Length up to the start of the tagged area when `raw` (running to the
/// region's end) starts with a record header consistent with `schema`.
fn header_fits(raw: &[u8], schema: &TableSchema, var_max: u8) -> Option<usize> {
    if raw.len() < 4 || raw[1] < 127 || raw[1] > var_max {
        return None;
    }
    let ib = u16_at(raw, 2) as usize;
    if expected_fixed_end(schema, raw[0]) != Some(ib) {
        return None;
    }
    let n_var = raw[1] as usize - 127;
    let var_data = ib + 2 * n_var;
    if var_data > raw.len() {
        return None;
    }
    let mut prev = 0usize;
    for i in 0..n_var {
        let o = (u16_at(raw, ib + 2 * i) & VAR_OFFSET_MASK) as usize;
        if o < prev {
            return None;
        }
        prev = o;
    }
    let tagged = var_data + prev;
    (tagged <= raw.len()).then_some(tagged)
}

/// Record candidates in `bytes[start..end]` for `schema`.
pub fn carve(bytes: &[u8], (start, end): (usize, usize), schema: &TableSchema) -> Vec<Carved> {
    let large = crate::parse::page::is_large(bytes.len());
    let var_max = schema
        .columns
        .iter()
        .filter(|c| (128..256).contains(&c.id))
        .map(|c| c.id as u8)
        .max()
        .unwrap_or(127);
    let has_tagged = schema.columns.iter().any(|c| c.id >= 256);
    let end = end.min(bytes.len());
    let mut found: Vec<(usize, usize)> = Vec::new();
    let mut o = start;
    while o + 4 <= end {
        match header_fits(&bytes[o..end], schema, var_max) {
            Some(t) => {
                found.push((o, o + t));
                o += t.max(4);
            }
            None => o += 1,
        }
    }
    let splits = |s: usize, stop: usize| {
        Record::parse(&bytes[s..stop], large)
            .and_then(|r| r.tagged_fields().map(|_| ()))
            .is_ok()
    };
    // Without a page prefix (tag 0 empty) no node carries a prefix count,
    // so the key-suffix count is the node's first field.
    let no_prefix = crate::parse::page::parse_page_header(bytes)
        .ok()
        .and_then(|h| read_tag(bytes, 0, h.itag_mic_free as usize).ok())
        .is_some_and(|t| t.cb == 0);
    let mut out = Vec::with_capacity(found.len());
    for (i, &(s, tagged_at)) in found.iter().enumerate() {
        let next = found.get(i + 1).map(|n| n.0);
        let by_next = next
            .filter(|_| has_tagged && no_prefix)
            .and_then(|n| next_node_start(bytes, tagged_at, n))
            .filter(|&e| splits(s, e));
        let stop = match (has_tagged, by_next) {
            (false, _) => tagged_at,
            (true, Some(e)) => e,
            (true, None) => next.unwrap_or(end),
        };
        let tagged_ok = splits(s, stop);
        out.push(Carved {
            offset: s,
            end: if tagged_ok { stop } else { tagged_at },
            tagged_at,
            tagged_ok,
            end_certain: !has_tagged || by_next.is_some(),
        });
    }
    out
}

/// Where the node holding the record carved at `next` starts, when the
/// bytes before it end with a key-suffix count equal to the key length
/// between them (node.cxx `NDILineToKeydataflags`: cbSuffix u16, then the
/// suffix, then the data; the caller makes sure no prefix count comes
/// first); `None` when no length from 1 to 255 fits, or two do.
fn next_node_start(bytes: &[u8], from: usize, next: usize) -> Option<usize> {
    let fits = |k: usize| {
        let at = next.checked_sub(k + 2).filter(|&a| a >= from)?;
        (usize::from(u16_at(bytes, at) & KEY_COUNT_MASK) == k).then_some(at)
    };
    let mut hits = (1..=255).filter_map(fits);
    let first = hits.next()?;
    hits.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::record_values::ColumnSchema;

    fn schema() -> TableSchema {
        let col = |id: u32, coltyp: u32, fixed| ColumnSchema {
            id,
            name: format!("c{id}"),
            coltyp,
            codepage: 1252,
            fixed,
            default: None,
        };
        TableSchema {
            name: "T".into(),
            objid: 9,
            pgno_fdp: 4,
            long_values: None,
            columns: vec![col(1, 4, Some((4, 4))), col(128, 9, None)],
        }
    }

    /// Record: fixed column 1 (u32) and variable column 128 (`var`).
    fn record(v: u32, var: &[u8]) -> Vec<u8> {
        let mut r = vec![1, 128, 9, 0];
        r.extend_from_slice(&v.to_le_bytes());
        r.push(0); // null bitmap: column 1 present
        r.extend_from_slice(&(var.len() as u16).to_le_bytes());
        r.extend_from_slice(var);
        r
    }

    /// A 4 KiB leaf page built byte by byte: tag 0 empty, tag 1 a live node
    /// (key "k", record 7/"abc"), then a deleted node's bytes no tag points
    /// to (record 8/"old"), then zeros up to the tag array.
    fn page() -> Page {
        let mut b = vec![0u8; 4096];
        let live = [&[1u8, 0, b'k'][..], &record(7, b"abc")].concat();
        let dead = [&[1u8, 0, b'q'][..], &record(8, b"old")].concat();
        let hs = 40;
        b[hs..hs + live.len()].copy_from_slice(&live);
        b[hs + live.len()..hs + live.len() + dead.len()].copy_from_slice(&dead);
        b[24..28].copy_from_slice(&9u32.to_le_bytes()); // objid
        b[32..34].copy_from_slice(&((live.len() + dead.len()) as u16).to_le_bytes());
        b[34..36].copy_from_slice(&2u16.to_le_bytes()); // itagMicFree
        b[36..40].copy_from_slice(&0x2u32.to_le_bytes()); // leaf
        let tag1 = 4096 - 8;
        b[tag1..tag1 + 2].copy_from_slice(&(live.len() as u16).to_le_bytes());
        Page::new(5, b).unwrap()
    }

    #[test]
    fn slack_holds_the_deleted_node_only() {
        let p = page();
        let regions = slack_regions(&p);
        assert_eq!(regions, vec![(40 + 17, 4096 - 8)]);
        let found = carve(&p.bytes, regions[0], &schema());
        assert_eq!(found.len(), 1, "{found:?}");
        let c = &found[0];
        assert_eq!(c.offset, 40 + 17 + 3);
        assert_eq!(&p.bytes[c.offset..c.end], &record(8, b"old")[..]);
        assert!(c.tagged_ok);
    }

    #[test]
    fn a_tagged_table_leaves_the_end_uncertain_and_inside_the_region() {
        let p = page();
        let mut tagged = schema();
        tagged.columns.push(ColumnSchema {
            id: 256,
            name: "t".into(),
            coltyp: 11,
            codepage: 1252,
            fixed: None,
            default: None,
        });
        let regions = slack_regions(&p);
        // The region cut just after the record: its last byte is the end.
        let cut = (regions[0].0, regions[0].0 + 3 + record(8, b"old").len());
        for region in [regions[0], cut] {
            let found = carve(&p.bytes, region, &tagged);
            assert_eq!(found.len(), 1, "{found:?}");
            let c = &found[0];
            assert!(!c.end_certain);
            assert!(
                c.offset >= region.0 && c.end <= region.1,
                "{c:?} {region:?}"
            );
            // Decoding reads only the carved bytes.
            let large = crate::parse::page::is_large(p.bytes.len());
            let _ = crate::db::record_values::decode_record(
                &p.bytes[c.offset..c.end],
                large,
                &tagged,
                &NoLv,
            );
        }
        assert!(carve(&p.bytes, regions[0], &schema())[0].end_certain);
    }

    struct NoLv;
    impl crate::db::record_values::LongValues for NoLv {
        fn fetch(&self, _: &[u8]) -> Result<Vec<u8>, crate::db::record_values::LvError> {
            Err(crate::db::record_values::LvError::Missing("none".into()))
        }
    }

    #[test]
    fn a_header_the_catalog_denies_is_not_taken() {
        let p = page();
        let mut other = schema();
        other.columns[0].fixed = Some((4, 8)); // column 1 would be 8 bytes
        assert!(carve(&p.bytes, (40, 4096 - 8), &other).is_empty());
        // Zeros (a never-used data area) give nothing.
        assert!(carve(&[0u8; 4096], (40, 4096), &schema()).is_empty());
    }
}
