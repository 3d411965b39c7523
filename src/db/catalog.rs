//! The catalog: MSysObjects (root page 4, objid 2) and its copy
//! MSysObjectsShadow (root page 24, objid 3).
//!
//! Each catalog record describes one object, keyed by (ObjidTable, Type,
//! Id). Its columns are the catalog's own fixed schema (`inc/cat.hxx`
//! `fidMSO_*`, `ese/_cat.cxx` column table): fixed columns 1 ObjidTable
//! (4), 2 Type (2), 3 Id (4), 4 ColtypOrPgnoFDP (4), 5 SpaceUsage (4),
//! 6 Flags (4), 7 PagesOrLocale (4), 8 RootFlag (1), 9 RecordOffset (2),
//! 10 LCMapFlags (4), 11 KeyMost (2), 12 LVChunkMax (4),
//! 13 PgnoFDPLastSetTime (8); variable columns 128 Name, 129 Stats,
//! 130 TemplateTable / Callback, 131 DefaultValue, 132 KeyFldIDs,
//! 133 VarSegMac, 134 ConditionalColumns, 135 TupleLimits, 136 Version,
//! 137 SortID; tagged 256 CallbackData … 261 LocaleName. Types (`sysobj*`):
//! 1 table, 2 column, 3 index, 4 long-value tree, 5 callback.

use serde::Serialize;

use super::btree::{walk, TreeWalk, WalkOptions};
use super::record::Record;
use super::Database;
use crate::parse::{u16_at, u32_at};

/// Root page of MSysObjects (`pgnoFDPMSO`).
pub const CATALOG_ROOT: u32 = 4;
/// Object id of MSysObjects.
pub const CATALOG_OBJID: u32 = 2;
/// Root page of MSysObjectsShadow (`pgnoFDPMSOShadow`).
pub const SHADOW_ROOT: u32 = 24;
/// Object id of MSysObjectsShadow.
pub const SHADOW_OBJID: u32 = 3;
/// Root page of the database's own space (`pgnoSystemRoot`).
pub const DB_ROOT: u32 = 1;
/// Object id of the database (`objidSystemRoot`).
pub const DB_OBJID: u32 = 1;

/// Sizes of the catalog's fixed columns 1 … 13.
pub const FIXED_SIZES: [usize; 13] = [4, 2, 4, 4, 4, 4, 4, 1, 2, 4, 2, 4, 8];

/// `fCOLUMNIDTemplate` (`inc/daedef.hxx` ~716): the column id of a template
/// table's column as a derived table sees it.
pub const COLUMNID_TEMPLATE: u32 = 0x8000_0000;
/// `ffieldTemplateColumnESE98` (`inc/tdb.hxx` ~183), in a column's catalog
/// Flags: the records of derived tables store this template column's tagged
/// entries with the `fDerived` bit (`inc/rec.hxx`
/// `FRECUseDerivedBitForTemplateColumnInDerivedTable`).
pub const FIELD_TEMPLATE_ESE98: u32 = 0x0100;

/// `fidbPrimary`: the index is the table's primary index (`inc/idb.hxx` ~12).
pub const FIDB_PRIMARY: u32 = 0x0020;
/// `fIDXSEGDescending`: flag byte of a 4-byte key segment (`inc/daedef.hxx` ~711).
pub const IDXSEG_DESCENDING: u8 = 0x40;
/// `fIDXSEGTemplateColumn`: the segment's column is a template table's
/// (`inc/daedef.hxx` ~710).
pub const IDXSEG_TEMPLATE: u8 = 0x80;

/// Catalog object types (`sysobj*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectType {
    /// 1: a table.
    Table,
    /// 2: a column.
    Column,
    /// 3: an index.
    Index,
    /// 4: a long-value tree.
    LongValue,
    /// 5: a callback.
    Callback,
    /// Anything else (6 and 7 are obsolete SLV objects).
    Other(u16),
}

impl ObjectType {
    fn from(v: u16) -> Self {
        match v {
            1 => Self::Table,
            2 => Self::Column,
            3 => Self::Index,
            4 => Self::LongValue,
            5 => Self::Callback,
            o => Self::Other(o),
        }
    }
}

/// One key segment of an index (`IDXSEG`): column id and direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct KeySegment {
    /// Column id.
    pub column_id: u32,
    /// Descending order.
    pub descending: bool,
}

/// One catalog record, decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogEntry {
    /// Object id of the table this object belongs to.
    pub objid_table: u32,
    /// Object type.
    pub kind: ObjectType,
    /// Id: objid (table, index, LV) or column id (column).
    pub id: u32,
    /// Column type (columns) or root page (tables, indexes, LV trees).
    pub coltyp_or_pgno_fdp: u32,
    /// Max length (columns) or density (trees).
    pub space_usage: u32,
    /// Flags (column grbit, index IDB|IDX<<16 flags, table flags).
    pub flags: u32,
    /// Initial pages (tables, LV), code page (columns), LCID (indexes).
    pub pages_or_locale: u32,
    /// RootFlag (set for tables).
    pub root_flag: bool,
    /// RecordOffset (fixed columns).
    pub record_offset: Option<u16>,
    /// LCMapFlags (indexes).
    pub lcmap_flags: Option<u32>,
    /// KeyMost (indexes).
    pub key_most: Option<u16>,
    /// LVChunkMax (tables).
    pub lv_chunk_max: Option<u32>,
    /// Name.
    pub name: String,
    /// TemplateTable (tables) or callback name (columns, callbacks).
    pub template_or_callback: Option<String>,
    /// Key segments (indexes).
    pub key_segments: Vec<KeySegment>,
    /// Tagged column ids present.
    pub tagged: Vec<u16>,
    /// DefaultValue (columns), raw bytes.
    #[serde(skip)]
    pub default_value: Option<Vec<u8>>,
    /// The leaf page holding the record.
    pub pgno: u32,
}

fn text(b: &[u8]) -> String {
    let b = b.strip_suffix(&[0]).unwrap_or(b);
    b.iter().map(|&c| c as char).collect()
}

/// Decodes the key segments of an index (`KeyFldIDs`): 4-byte `IDXSEG`s
/// (flags byte, reserved byte, u16 fid; 0x40 = descending, 0x80 = a
/// template column, whose id then carries [`COLUMNID_TEMPLATE`]) when the
/// index flags carry `fIDXExtendedColumns` (0x1 in the high half), else
/// 2-byte signed fids, negative meaning descending (`IDXSEG_OLD`).
pub fn key_segments(raw: &[u8], flags: u32) -> Vec<KeySegment> {
    if (flags >> 16) & 1 != 0 && raw.len() % 4 == 0 {
        raw.chunks_exact(4)
            .map(|c| KeySegment {
                column_id: u16_at(c, 2) as u32
                    | if c[0] & IDXSEG_TEMPLATE != 0 {
                        COLUMNID_TEMPLATE
                    } else {
                        0
                    },
                descending: c[0] & IDXSEG_DESCENDING != 0,
            })
            .collect()
    } else {
        raw.chunks_exact(2)
            .map(|c| {
                let v = i16::from_le_bytes([c[0], c[1]]);
                KeySegment {
                    column_id: v.unsigned_abs() as u32,
                    descending: v < 0,
                }
            })
            .collect()
    }
}

/// Decodes one catalog record.
pub fn decode_entry(
    data: &[u8],
    large: bool,
    pgno: u32,
) -> Result<CatalogEntry, crate::error::FormatError> {
    let r = Record::parse(data, large)?;
    let f = |fid: u8| r.fixed(fid, &FIXED_SIZES);
    let u32f = |fid: u8| f(fid).map(|b| u32_at(b, 0));
    let missing = |what: &str| {
        crate::error::FormatError::new(
            0,
            crate::error::Jet::DATABASE_CORRUPTED,
            format!("catalog record on page {pgno} lacks {what}"),
        )
    };
    let objid_table = u32f(1).ok_or_else(|| missing("ObjidTable"))?;
    let kind = ObjectType::from(f(2).map(|b| u16_at(b, 0)).ok_or_else(|| missing("Type"))?);
    let id = u32f(3).ok_or_else(|| missing("Id"))?;
    let flags = u32f(6).unwrap_or(0);
    let tagged = r
        .tagged()
        .map(|v| v.iter().map(|(fid, _)| *fid).collect())
        .unwrap_or_default();
    Ok(CatalogEntry {
        objid_table,
        kind,
        id,
        coltyp_or_pgno_fdp: u32f(4).unwrap_or(0),
        space_usage: u32f(5).unwrap_or(0),
        flags,
        pages_or_locale: u32f(7).unwrap_or(0),
        root_flag: f(8).is_some_and(|b| b[0] != 0),
        record_offset: f(9).map(|b| u16_at(b, 0)),
        lcmap_flags: u32f(10),
        key_most: f(11).map(|b| u16_at(b, 0)),
        lv_chunk_max: u32f(12),
        name: r.var(128).map(text).unwrap_or_default(),
        template_or_callback: r.var(130).map(text),
        key_segments: r
            .var(132)
            .map(|k| key_segments(k, flags))
            .unwrap_or_default(),
        tagged,
        default_value: r.var(131).map(<[u8]>::to_vec),
        pgno,
    })
}

/// The decoded catalog.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog {
    /// Root page read (4 or 24).
    pub root: u32,
    /// Every live record, in key order.
    pub entries: Vec<CatalogEntry>,
    /// Records that could not be decoded: (page, problem).
    pub undecodable: Vec<(u32, String)>,
    /// The walk of the catalog tree (problems included).
    pub walk: TreeWalk,
}

/// Reads the catalog tree rooted at `root` (4, or 24 for the shadow).
pub fn read_catalog(db: &Database, root: u32, opts: WalkOptions) -> Catalog {
    let large = crate::parse::page::is_large(db.page_size);
    let mut entries = Vec::new();
    let mut undecodable = Vec::new();
    let walk = walk(db, root, opts, &mut |page, node| {
        if node.is_deleted() {
            return;
        }
        match decode_entry(node.data, large, page.pgno) {
            Ok(e) => entries.push(e),
            Err(e) => undecodable.push((page.pgno, format!("tag {}: {}", node.itag, e.detail))),
        }
    });
    Catalog {
        root,
        entries,
        undecodable,
        walk,
    }
}

/// A column of a table.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnInfo {
    /// Column id.
    pub id: u32,
    /// Name.
    pub name: String,
    /// JET_coltyp number.
    pub coltyp: u32,
    /// JET_coltyp name.
    pub type_name: &'static str,
    /// Maximum length (0 = default).
    pub max_length: u32,
    /// Code page (text columns).
    pub codepage: u32,
    /// Column flags (JET_bitColumn*).
    pub flags: u32,
    /// Offset of a fixed column in the record (RecordOffset).
    #[serde(skip)]
    pub record_offset: Option<u16>,
    /// Default value (DefaultValue), raw bytes.
    #[serde(skip)]
    pub default_value: Option<Vec<u8>>,
}

/// An index of a table.
#[derive(Debug, Clone, Serialize)]
pub struct IndexInfo {
    /// Name.
    pub name: String,
    /// Object id of its tree.
    pub objid: u32,
    /// Root page of its tree.
    pub pgno_fdp: u32,
    /// Density (percent).
    pub density: u32,
    /// Flags (IDB flags in the low half, IDX flags in the high half).
    pub flags: u32,
    /// Primary index (IDB flag 0x0020: `fIDBPrimary`, idb.hxx).
    pub primary: bool,
    /// Locale (LCID).
    pub locale: u32,
    /// LCMapString flags.
    pub lcmap_flags: Option<u32>,
    /// Key segments.
    pub key: Vec<KeySegment>,
    /// Key segment column names (same order).
    pub key_names: Vec<String>,
}

/// A table with its objects.
#[derive(Debug, Clone, Serialize)]
pub struct TableInfo {
    /// Name.
    pub name: String,
    /// Object id.
    pub objid: u32,
    /// Root page.
    pub pgno_fdp: u32,
    /// Initial pages.
    pub pages: u32,
    /// Density (percent).
    pub density: u32,
    /// Table flags.
    pub flags: u32,
    /// Template table name, if derived.
    pub template: Option<String>,
    /// LV tree (objid, root page).
    pub long_values: Option<(u32, u32)>,
    /// Columns in id order.
    pub columns: Vec<ColumnInfo>,
    /// Indexes in catalog order.
    pub indexes: Vec<IndexInfo>,
    /// Callbacks (type, name).
    pub callbacks: Vec<(u32, String)>,
}

/// Name of a JET_coltyp.
pub fn coltyp_name(t: u32) -> &'static str {
    match t {
        0 => "Nil",
        1 => "Bit",
        2 => "UnsignedByte",
        3 => "Short",
        4 => "Long",
        5 => "Currency",
        6 => "IEEESingle",
        7 => "IEEEDouble",
        8 => "DateTime",
        9 => "Binary",
        10 => "Text",
        11 => "LongBinary",
        12 => "LongText",
        13 => "SLV",
        14 => "UnsignedLong",
        15 => "LongLong",
        16 => "GUID",
        17 => "UnsignedShort",
        _ => "Unknown",
    }
}

impl Catalog {
    /// Groups the entries by table, in catalog (objid) order.
    pub fn tables(&self) -> Vec<TableInfo> {
        let mut out: Vec<TableInfo> = Vec::new();
        for e in &self.entries {
            if e.kind == ObjectType::Table {
                out.push(TableInfo {
                    name: e.name.clone(),
                    objid: e.id,
                    pgno_fdp: e.coltyp_or_pgno_fdp,
                    pages: e.pages_or_locale,
                    density: e.space_usage,
                    flags: e.flags,
                    template: e.template_or_callback.clone().filter(|s| !s.is_empty()),
                    long_values: None,
                    columns: Vec::new(),
                    indexes: Vec::new(),
                    callbacks: Vec::new(),
                });
            }
        }
        for e in &self.entries {
            let Some(t) = out.iter_mut().find(|t| t.objid == e.objid_table) else {
                continue;
            };
            match e.kind {
                ObjectType::Column => t.columns.push(ColumnInfo {
                    id: e.id,
                    name: e.name.clone(),
                    coltyp: e.coltyp_or_pgno_fdp,
                    type_name: coltyp_name(e.coltyp_or_pgno_fdp),
                    max_length: e.space_usage,
                    codepage: e.pages_or_locale,
                    flags: e.flags,
                    record_offset: e.record_offset,
                    default_value: e.default_value.clone(),
                }),
                ObjectType::Index => t.indexes.push(IndexInfo {
                    name: e.name.clone(),
                    objid: e.id,
                    pgno_fdp: e.coltyp_or_pgno_fdp,
                    density: e.space_usage,
                    flags: e.flags,
                    primary: e.flags & FIDB_PRIMARY != 0,
                    locale: e.pages_or_locale,
                    lcmap_flags: e.lcmap_flags,
                    key: e.key_segments.clone(),
                    key_names: Vec::new(),
                }),
                ObjectType::LongValue => t.long_values = Some((e.id, e.coltyp_or_pgno_fdp)),
                ObjectType::Callback => t.callbacks.push((
                    e.coltyp_or_pgno_fdp,
                    e.template_or_callback.clone().unwrap_or_default(),
                )),
                _ => {}
            }
        }
        for t in &mut out {
            t.columns.sort_by_key(|c| c.id);
        }
        inherit_template_columns(&mut out);
        for t in &mut out {
            let cols = t.columns.clone();
            for ix in &mut t.indexes {
                // A template table's own segments carry the template flag
                // while its columns, listed alone, do not: then the id
                // without the flag names the column.
                let plain = |id: u32| id & !COLUMNID_TEMPLATE;
                ix.key_names = ix
                    .key
                    .iter()
                    .map(|k| {
                        cols.iter()
                            .find(|c| c.id == k.column_id)
                            .or_else(|| cols.iter().find(|c| plain(c.id) == plain(k.column_id)))
                            .map(|c| c.name.clone())
                            .unwrap_or_else(|| format!("#{}", k.column_id))
                    })
                    .collect();
            }
        }
        out
    }
}

/// A derived table (catalog TemplateTable set, `JET_bitTableCreateTemplateTable`
/// on the template) stores the template's columns in its records without
/// listing them in its own catalog entries (`ese/fileopen.cxx`: its own
/// fixed and variable ids start after the template's last ones): they come
/// first in its column list, their ids carrying [`COLUMNID_TEMPLATE`] as the
/// engine's column ids do. A template not found by name leaves the table as
/// it is.
fn inherit_template_columns(tables: &mut [TableInfo]) {
    for i in 0..tables.len() {
        let Some(name) = &tables[i].template else {
            continue;
        };
        let Some(template) = tables
            .iter()
            .find(|t| t.objid != tables[i].objid && t.name.eq_ignore_ascii_case(name))
        else {
            continue;
        };
        let mut columns: Vec<ColumnInfo> = template
            .columns
            .iter()
            .filter(|c| c.id & COLUMNID_TEMPLATE == 0)
            .map(|c| ColumnInfo {
                id: c.id | COLUMNID_TEMPLATE,
                ..c.clone()
            })
            .collect();
        columns.append(&mut tables[i].columns);
        tables[i].columns = columns;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 4-byte IDXSEGs: descending and template flags; 2-byte ones: sign.
    #[test]
    fn key_segments_flags() {
        let ext = 1 << 16; // fIDXExtendedColumns
        let raw = [0x40, 0, 3, 0, 0x80, 0, 0, 1];
        let segs = key_segments(&raw, ext);
        assert_eq!(segs[0].column_id, 3);
        assert!(segs[0].descending);
        assert_eq!(segs[1].column_id, COLUMNID_TEMPLATE | 256);
        assert!(!segs[1].descending);
        let old = key_segments(&(-3i16).to_le_bytes(), 0);
        assert_eq!(old[0].column_id, 3);
        assert!(old[0].descending);
    }
}
