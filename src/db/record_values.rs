//! Column values of a record, decoded as the catalog says: JET_coltyp,
//! code page, fixed / variable / tagged place, multi-valued instances,
//! compressed and separated (long-value tree) data, default values.
//!
//! Facts: `inc/rec.hxx` (REC), `inc/tagfld.hxx` (TAGFLD, TAGFLD_HEADER,
//! multi-valued layout: a u16 offset per instance, 0x8000 = separated
//! instance; fTwoValues: a size byte then both instances), `ese/lv.cxx`
//! (LIDs stored little-endian in the record, big-endian in LV keys),
//! `jet.h` (JET_coltyp numbers). No I/O here: long values come through
//! the [`LongValues`] trait.

use super::catalog::{ColumnInfo, TableInfo, COLUMNID_TEMPLATE, FIELD_TEMPLATE_ESE98};
use super::compression::{decompress, Undecoded};
use super::record::{
    Record, Slot, TaggedField, TAGFLD_COMPRESSED, TAGFLD_ENCRYPTED, TAGFLD_MULTI_VALUES,
    TAGFLD_SEPARATED, TAGFLD_TWO_VALUES,
};

/// Greatest size a decompressed intrinsic value may take.
pub const MAX_INTRINSIC: usize = 1 << 24;

/// Offset bits of a multi-valued column's instance offset (`MULTIVALUES`,
/// `inc/tagfld.hxx`).
pub const MV_OFFSET_MASK: u16 = 0x7FFF;
/// High bit of an instance offset: the instance is a separated long value.
pub const MV_SEPARATED: u16 = 0x8000;

/// One decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// NULL or absent without default.
    Null,
    /// JET_coltypBit.
    Bool(bool),
    /// Signed integers (Short, Long, Currency, LongLong).
    Int(i64),
    /// Unsigned integers (UnsignedByte, UnsignedShort, UnsignedLong).
    UInt(u64),
    /// IEEESingle.
    F32(f32),
    /// IEEEDouble.
    F64(f64),
    /// DateTime: the 8 stored bytes as a little-endian i64 (an OLE
    /// automation date, a double, in the engine's own use).
    DateTime(i64),
    /// Binary, LongBinary (and a fixed-size type stored with a wrong size).
    Binary(Vec<u8>),
    /// Text, LongText.
    Text(String),
    /// GUID: the 16 stored bytes.
    Guid([u8; 16]),
    /// A multi-valued column: its instances in stored order.
    Multi(Vec<Value>),
    /// Compressed with a scheme that could not be decoded.
    Undecoded {
        /// Scheme name.
        scheme: String,
        /// The stored bytes (header included).
        raw: Vec<u8>,
    },
    /// The value could not be read (missing long value, bad layout).
    Error(String),
}

/// Where long values come from (the table's LV tree).
pub trait LongValues {
    /// The long value with `lid` (as stored in the record, little-endian).
    fn fetch(&self, lid: &[u8]) -> Result<Vec<u8>, LvError>;
}

/// Why a long value could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LvError {
    /// A chunk used a compression without decoder.
    Undecoded(Undecoded, Vec<u8>),
    /// Anything else (missing root, broken chain, page unreadable).
    Missing(String),
}

/// A column prepared for decoding.
#[derive(Debug, Clone)]
pub struct ColumnSchema {
    /// Column id; bit 31 ([`COLUMNID_TEMPLATE`]) set on a template table's
    /// tagged column whose entries carry the `fDerived` bit in a derived
    /// table's records.
    pub id: u32,
    /// Name.
    pub name: String,
    /// JET_coltyp.
    pub coltyp: u32,
    /// Code page (text).
    pub codepage: u32,
    /// Fixed columns: offset in the record and size.
    pub fixed: Option<(usize, usize)>,
    /// Default value (raw).
    pub default: Option<Vec<u8>>,
}

/// A table prepared for export.
#[derive(Debug, Clone)]
pub struct TableSchema {
    /// Name.
    pub name: String,
    /// Object id.
    pub objid: u32,
    /// Root page of the primary tree.
    pub pgno_fdp: u32,
    /// LV tree (objid, root page).
    pub long_values: Option<(u32, u32)>,
    /// Columns in id order.
    pub columns: Vec<ColumnSchema>,
}

/// Size of a fixed column of type `coltyp` (`jet.h`; Binary / Text fixed
/// columns take their maximum length).
pub fn fixed_size(coltyp: u32, max_length: u32) -> usize {
    match coltyp {
        1 | 2 => 1,
        3 | 17 => 2,
        4 | 6 | 14 => 4,
        5 | 7 | 8 | 15 => 8,
        16 => 16,
        _ => max_length as usize,
    }
}

impl TableSchema {
    /// From the catalog's view of a table. Fixed offsets come from the
    /// catalog's RecordOffset when those increase with the column id, else
    /// from the sizes of the columns before (the catalog's entries for its
    /// own columns carry RecordOffset 4 throughout: the engine takes that
    /// schema from `_cat.cxx`, not from the records).
    pub fn from_table(t: &TableInfo) -> TableSchema {
        let fid = |c: &ColumnInfo| c.id & !COLUMNID_TEMPLATE;
        let fixed: Vec<&ColumnInfo> = t.columns.iter().filter(|c| fid(c) < 128).collect();
        let use_catalog = fixed.iter().all(|c| c.record_offset.is_some())
            && fixed
                .windows(2)
                .all(|w| w[0].record_offset < w[1].record_offset);
        let mut next = 4usize;
        let columns = t
            .columns
            .iter()
            .map(|c: &ColumnInfo| {
                let fixed = (fid(c) < 128).then(|| {
                    let size = fixed_size(c.coltyp, c.max_length);
                    let off = match c.record_offset {
                        Some(o) if use_catalog => o as usize,
                        _ => next,
                    };
                    next = off + size;
                    (off, size)
                });
                // Template columns: only ESE98 tagged ones are marked in
                // the records (fixed and variable ids do not overlap).
                let derived_tag = c.id & COLUMNID_TEMPLATE != 0
                    && fid(c) >= 256
                    && c.flags & FIELD_TEMPLATE_ESE98 != 0;
                ColumnSchema {
                    id: if derived_tag { c.id } else { fid(c) },
                    name: c.name.clone(),
                    coltyp: c.coltyp,
                    codepage: c.codepage,
                    fixed,
                    default: c.default_value.clone(),
                }
            })
            .collect();
        TableSchema {
            name: t.name.clone(),
            objid: t.objid,
            pgno_fdp: t.pgno_fdp,
            long_values: t.long_values,
            columns,
        }
    }
}

/// Decodes every column of `raw` (a leaf node's data) in schema order.
pub fn decode_record(
    raw: &[u8],
    large: bool,
    schema: &TableSchema,
    lv: &dyn LongValues,
) -> Result<Vec<Value>, crate::error::FormatError> {
    let rec = Record::parse(raw, large)?;
    let mut tagged = rec.tagged_fields()?;
    // Entries with fDerived belong to the template's columns (a derived
    // table's own tagged ids may equal them).
    tagged.sort_by_key(|f| (f.derived, f.fid));
    Ok(schema
        .columns
        .iter()
        .map(|c| decode_column(&rec, &tagged, c, lv))
        .collect())
}

fn decode_column(
    rec: &Record<'_>,
    tagged: &[TaggedField<'_>],
    c: &ColumnSchema,
    lv: &dyn LongValues,
) -> Value {
    let fid = c.id & !COLUMNID_TEMPLATE;
    let slot = if let Some((off, size)) = c.fixed {
        rec.fixed_at(fid as u8, off, size)
    } else if fid < 256 {
        rec.var_slot(fid as u8)
    } else {
        let key = (c.id & COLUMNID_TEMPLATE != 0, fid);
        match tagged.binary_search_by_key(&key, |f| (f.derived, f.fid as u32)) {
            Ok(i) if tagged[i].null => Slot::Null,
            Ok(i) => return decode_tagged(&tagged[i], c, lv),
            Err(_) => Slot::Absent,
        }
    };
    match slot {
        Slot::Null => Value::Null,
        Slot::Value(b) => typed(b, c),
        Slot::Absent => c.default.as_deref().map_or(Value::Null, |d| typed(d, c)),
    }
}

fn decode_tagged(f: &TaggedField<'_>, c: &ColumnSchema, lv: &dyn LongValues) -> Value {
    if f.flags & TAGFLD_ENCRYPTED != 0 {
        return Value::Undecoded {
            scheme: "encrypted".into(),
            raw: f.data.to_vec(),
        };
    }
    if f.flags & (TAGFLD_MULTI_VALUES | TAGFLD_TWO_VALUES) != 0 {
        return decode_multi(f, c, lv);
    }
    let bytes = if f.flags & TAGFLD_SEPARATED != 0 {
        lv.fetch(f.data)
    } else if f.flags & TAGFLD_COMPRESSED != 0 {
        decompress(f.data, MAX_INTRINSIC).map_err(|u| LvError::Undecoded(u, f.data.to_vec()))
    } else {
        return typed(f.data, c);
    };
    finish(bytes, c)
}

fn finish(bytes: Result<Vec<u8>, LvError>, c: &ColumnSchema) -> Value {
    match bytes {
        Ok(b) => typed(&b, c),
        Err(LvError::Undecoded(u, raw)) => Value::Undecoded {
            scheme: u.scheme,
            raw,
        },
        Err(LvError::Missing(m)) => Value::Error(m),
    }
}

/// Multi-valued data: u16 offsets (bit 15 = separated instance), or the
/// two-values form; with fCompressed the first instance is compressed.
fn decode_multi(f: &TaggedField<'_>, c: &ColumnSchema, lv: &dyn LongValues) -> Value {
    let d = f.data;
    let mut parts: Vec<(&[u8], bool)> = Vec::new();
    if f.flags & TAGFLD_TWO_VALUES != 0 {
        let Some(&n) = d.first() else {
            return Value::Error("two-values column without data".into());
        };
        let n = n as usize;
        if 1 + n > d.len() {
            return Value::Error("two-values column: first size past the value".into());
        }
        parts.push((&d[1..1 + n], false));
        parts.push((&d[1 + n..], false));
    } else {
        if d.len() < 2 {
            return Value::Error("multi-valued column without offsets".into());
        }
        let first = (u16::from_le_bytes([d[0], d[1]]) & MV_OFFSET_MASK) as usize;
        let n = first / 2;
        if n == 0 || first > d.len() {
            return Value::Error(format!("multi-valued column: first offset {first}"));
        }
        let off = |i: usize| u16::from_le_bytes([d[2 * i], d[2 * i + 1]]);
        for i in 0..n {
            let s = (off(i) & MV_OFFSET_MASK) as usize;
            let e = if i + 1 < n {
                (off(i + 1) & MV_OFFSET_MASK) as usize
            } else {
                d.len()
            };
            if s > e || e > d.len() {
                return Value::Error(format!("multi-valued column: instance {i} at {s}..{e}"));
            }
            parts.push((&d[s..e], off(i) & MV_SEPARATED != 0));
        }
    }
    let values = parts
        .into_iter()
        .enumerate()
        .map(|(i, (b, separated))| {
            if separated {
                finish(lv.fetch(b), c)
            } else if i == 0 && f.flags & TAGFLD_COMPRESSED != 0 {
                finish(
                    decompress(b, MAX_INTRINSIC).map_err(|u| LvError::Undecoded(u, b.to_vec())),
                    c,
                )
            } else {
                typed(b, c)
            }
        })
        .collect();
    Value::Multi(values)
}

/// Bytes as the column type says.
pub fn typed(b: &[u8], c: &ColumnSchema) -> Value {
    fn arr<const N: usize>(b: &[u8]) -> Option<[u8; N]> {
        b.try_into().ok()
    }
    let v = match c.coltyp {
        1 => arr::<1>(b).map(|a| Value::Bool(a[0] != 0)),
        2 => arr::<1>(b).map(|a| Value::UInt(a[0] as u64)),
        3 => arr(b).map(|a| Value::Int(i16::from_le_bytes(a) as i64)),
        4 => arr(b).map(|a| Value::Int(i32::from_le_bytes(a) as i64)),
        5 | 15 => arr(b).map(|a| Value::Int(i64::from_le_bytes(a))),
        6 => arr(b).map(|a| Value::F32(f32::from_le_bytes(a))),
        7 => arr(b).map(|a| Value::F64(f64::from_le_bytes(a))),
        8 => arr(b).map(|a| Value::DateTime(i64::from_le_bytes(a))),
        10 | 12 => Some(Value::Text(decode_text(b, c.codepage))),
        14 => arr(b).map(|a| Value::UInt(u32::from_le_bytes(a) as u64)),
        16 => arr(b).map(Value::Guid),
        17 => arr(b).map(|a| Value::UInt(u16::from_le_bytes(a) as u64)),
        _ => None,
    };
    v.unwrap_or_else(|| Value::Binary(b.to_vec()))
}

/// Text in the column's code page: 1200 UTF-16LE (an odd last byte padded
/// with 0), 20127 ASCII, else Windows-1252. Bytes the code page cannot
/// decode are written `\xNN`; trailing NUL characters are dropped (the
/// terminator applications store).
pub fn decode_text(b: &[u8], codepage: u32) -> String {
    let mut s = String::with_capacity(b.len());
    if codepage == 1200 {
        let units: Vec<u16> = b
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c.get(1).copied().unwrap_or(0)]))
            .collect();
        for (i, r) in char::decode_utf16(units.iter().copied()).enumerate() {
            let _ = i;
            match r {
                Ok(ch) => s.push(ch),
                Err(e) => {
                    let u = e.unpaired_surrogate();
                    s.push_str(&format!("\\x{:02x}\\x{:02x}", u & 0xFF, u >> 8));
                }
            }
        }
    } else {
        for &byte in b {
            match cp1252(byte, codepage == 20127) {
                Some(ch) => s.push(ch),
                None => s.push_str(&format!("\\x{byte:02x}")),
            }
        }
    }
    let end = s.trim_end_matches('\0').len();
    s.truncate(end);
    s
}

/// Windows-1252 (or ASCII) decoding of one byte; `None` for the five
/// undefined 1252 bytes, and for bytes ≥ 0x80 in ASCII.
fn cp1252(b: u8, ascii: bool) -> Option<char> {
    const HIGH: [u16; 32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
        0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
        0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
    ];
    match b {
        0..=0x7F => Some(b as char),
        _ if ascii => None,
        0x80..=0x9F => match HIGH[(b - 0x80) as usize] {
            0 => None,
            u => char::from_u32(u as u32),
        },
        _ => Some(b as char),
    }
}

/// An OLE automation date (days since 1899-12-30, the fraction's absolute
/// value the time of day) as ISO-8601 with milliseconds, `None` outside
/// years 100–9999 or when not finite.
pub fn ole_date_iso(d: f64) -> Option<String> {
    if !d.is_finite() || !(-657434.0..2958466.0).contains(&d) {
        return None;
    }
    let days = d.trunc();
    let mut ms = ((d - days).abs() * 86_400_000.0).round() as i64;
    let mut day = days as i64 - 25569; // to days since 1970-01-01
    if ms >= 86_400_000 {
        ms -= 86_400_000;
        day += 1;
    }
    let (y, m, dd) = civil_from_days(day);
    Some(format!(
        "{y:04}-{m:02}-{dd:02}T{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    ))
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A GUID in canonical form (first three fields little-endian).
pub fn guid_text(g: &[u8; 16]) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{}",
        u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
        g[8],
        g[9],
        g[10..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    struct OneLv;
    impl LongValues for OneLv {
        fn fetch(&self, lid: &[u8]) -> Result<Vec<u8>, LvError> {
            match lid {
                [1, 0, 0, 0] => Ok(vec![1, 2]),
                _ => Err(LvError::Missing("no such LID".into())),
            }
        }
    }

    fn col(
        id: u32,
        coltyp: u32,
        fixed: Option<(usize, usize)>,
        default: Option<&[u8]>,
    ) -> ColumnSchema {
        ColumnSchema {
            id,
            name: format!("c{id}"),
            coltyp,
            codepage: 1252,
            fixed,
            default: default.map(<[u8]>::to_vec),
        }
    }

    /// A record crafted byte by byte (small page): one fixed Long, then
    /// tagged columns: multi-valued text, a separated long binary, a 7-bit
    /// compressed text, a separated value whose LID is missing; a fifth
    /// tagged column absent, with a default.
    #[test]
    fn tagged_multi_separated_compressed_default() {
        let mut r = vec![1u8, 127, 9, 0];
        r.extend_from_slice(&(-5i32).to_le_bytes());
        r.push(0); // null bitmap
        let seven = 0x61u16 | (0x62u16 << 7);
        let values: Vec<Vec<u8>> = vec![
            vec![0x08, 4, 0, 5, 0, b'a', b'b', b'c'],
            vec![0x05, 1, 0, 0, 0],
            vec![0x02, (1 << 3) | 5, seven as u8, (seven >> 8) as u8],
            vec![0x05, 9, 0, 0, 0],
        ];
        let mut ib = 4 * values.len();
        for (i, v) in values.iter().enumerate() {
            r.extend_from_slice(&(256 + i as u16).to_le_bytes());
            r.extend_from_slice(&(ib as u16 | 0x4000).to_le_bytes());
            ib += v.len();
        }
        for v in &values {
            r.extend_from_slice(v);
        }
        let schema = TableSchema {
            name: "t".into(),
            objid: 9,
            pgno_fdp: 9,
            long_values: None,
            columns: vec![
                col(1, 4, Some((4, 4)), None),
                col(256, 10, None, None),
                col(257, 11, None, None),
                col(258, 12, None, None),
                col(259, 11, None, None),
                col(260, 17, None, Some(&[7, 0])),
            ],
        };
        let v = decode_record(&r, false, &schema, &OneLv).unwrap();
        assert_eq!(v[0], Value::Int(-5));
        assert_eq!(
            v[1],
            Value::Multi(vec![Value::Text("a".into()), Value::Text("bc".into())])
        );
        assert_eq!(v[2], Value::Binary(vec![1, 2]));
        assert_eq!(v[3], Value::Text("ab".into()));
        assert!(matches!(v[4], Value::Error(_)));
        assert_eq!(v[5], Value::UInt(7));
    }

    /// A value compressed with a scheme that has no decoder here (scrub,
    /// XPRESS10: compression.cxx `COMPRESS_*` 4, 6) or whose XPRESS9 stream
    /// (5) or LZ4 block (7) does not decode, intrinsic or in a separated
    /// long value, comes back as its stored bytes with the scheme named,
    /// never as decoded bytes.
    #[test]
    fn undecodable_schemes_keep_their_bytes() {
        struct Xpress9Lv;
        impl LongValues for Xpress9Lv {
            fn fetch(&self, _: &[u8]) -> Result<Vec<u8>, LvError> {
                let raw = vec![5 << 3, 1, 2, 3, 4, 9];
                let u = decompress(&raw, 100).unwrap_err();
                Err(LvError::Undecoded(u, raw))
            }
        }
        for (id, scheme) in [(4u8, "scrub"), (5, "xpress9"), (6, "xpress10"), (7, "lz4")] {
            let stored = vec![id << 3, 8, 0, 0x11, 0x22, 0x33];
            // Tagged 256: fCompressed (0x02) then the stored value; tagged
            // 257: fSeparated (0x04) then a LID whose chunk is XPRESS9.
            let mut first = vec![0x02];
            first.extend_from_slice(&stored);
            let second = [0x04, 1, 0, 0, 0];
            let mut r = vec![0u8, 127, 4, 0];
            r.extend_from_slice(&256u16.to_le_bytes());
            r.extend_from_slice(&(8u16 | 0x4000).to_le_bytes());
            r.extend_from_slice(&257u16.to_le_bytes());
            r.extend_from_slice(&((8 + first.len()) as u16 | 0x4000).to_le_bytes());
            r.extend_from_slice(&first);
            r.extend_from_slice(&second);
            let schema = TableSchema {
                name: "t".into(),
                objid: 9,
                pgno_fdp: 9,
                long_values: None,
                columns: vec![col(256, 12, None, None), col(257, 11, None, None)],
            };
            let v = decode_record(&r, false, &schema, &Xpress9Lv).unwrap();
            assert_eq!(
                v[0],
                Value::Undecoded {
                    scheme: scheme.into(),
                    raw: stored
                },
                "scheme {id}"
            );
            assert_eq!(
                v[1],
                Value::Undecoded {
                    scheme: "xpress9".into(),
                    raw: vec![5 << 3, 1, 2, 3, 4, 9]
                }
            );
        }
    }

    /// An intrinsic XPRESS9 value (scheme 5) whose stream and checksum are
    /// good comes back decoded.
    #[test]
    fn xpress9_value_decodes() {
        let data = b"xpress9 xpress9 xpress9";
        let mut stored = vec![0x02, 5 << 3];
        stored.extend_from_slice(&crate::db::xpress9::crc32c(data).to_le_bytes());
        stored.extend_from_slice(&crate::db::xpress9::encode_simple(data, true));
        let mut r = vec![0u8, 127, 4, 0];
        r.extend_from_slice(&256u16.to_le_bytes());
        r.extend_from_slice(&(4u16 | 0x4000).to_le_bytes());
        r.extend_from_slice(&stored);
        let schema = TableSchema {
            name: "t".into(),
            objid: 9,
            pgno_fdp: 9,
            long_values: None,
            columns: vec![col(256, 11, None, None)],
        };
        struct NoLv;
        impl LongValues for NoLv {
            fn fetch(&self, _: &[u8]) -> Result<Vec<u8>, LvError> {
                unreachable!("no separated value here")
            }
        }
        let v = decode_record(&r, false, &schema, &NoLv).unwrap();
        assert_eq!(v[0], Value::Binary(data.to_vec()));
    }

    #[test]
    fn dates_text_guid() {
        assert_eq!(ole_date_iso(0.0).unwrap(), "1899-12-30T00:00:00.000");
        assert_eq!(ole_date_iso(-1.25).unwrap(), "1899-12-29T06:00:00.000");
        assert_eq!(ole_date_iso(45000.5).unwrap(), "2023-03-15T12:00:00.000");
        assert_eq!(ole_date_iso(f64::NAN), None);
        assert_eq!(decode_text(b"a\x00b\x00\x00\x00", 1200), "ab");
        assert_eq!(decode_text(b"\x00\xd8", 1200), "\\x00\\xd8");
        assert_eq!(decode_text(b"\x80\x81", 1252), "€\\x81");
        let g = [
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ];
        assert_eq!(guid_text(&g), "00112233-4455-6677-8899-aabbccddeeff");
    }
}
