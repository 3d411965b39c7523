//! `export` on a database crafted byte by byte (no corpus): a template
//! table and a table derived from it (whose records hold the template's
//! columns: fixed and variable ones by id, tagged ones with the `fDerived`
//! bit, `inc/tagfld.hxx`), and a table whose columns bear the names of the
//! fields export adds (`table`, `view`, `found`, `offset`), written as
//! `column.NAME` (docs/canonical-records.md, "Added fields").
//!
//! Layouts: the catalog record (`inc/cat.hxx` fidMSO_*: fixed 1 ObjidTable,
//! 2 Type, 3 Id, 4 ColtypOrPgnoFDP, 5 SpaceUsage, 6 Flags, 7 PagesOrLocale,
//! 8 RootFlag, 9 RecordOffset; variable 128 Name, 130 TemplateTable), the
//! record (`inc/rec.hxx`), the page and its tags (`inc/cpage.hxx`, small
//! pages: cb and ib u16, node flags in the top three bits of ib).

mod common;

use std::path::{Path, PathBuf};

use eseutil::checksum::seal_page;
use serde_json::Value;

const PS: usize = 4096;

fn put16(p: &mut [u8], off: usize, v: u16) {
    p[off..off + 2].copy_from_slice(&v.to_le_bytes());
}

/// A record: fixed column values (ids 1…, none NULL), variable ones (ids
/// 128…, `None` NULL) and tagged entries (fid, fDerived, value without a
/// header byte), in the engine's order (derived entries first).
fn record(fixed: &[&[u8]], var: &[Option<&[u8]>], tagged: &[(u16, bool, &[u8])]) -> Vec<u8> {
    let mut r = vec![fixed.len() as u8, (127 + var.len()) as u8, 0, 0];
    for f in fixed {
        r.extend_from_slice(f);
    }
    r.resize(r.len() + fixed.len().div_ceil(8), 0); // null bitmap: none NULL
    let ib = r.len() as u16;
    put16(&mut r, 2, ib);
    let (mut end, mut data) = (0u16, Vec::new());
    for v in var {
        match v {
            Some(b) => {
                data.extend_from_slice(b);
                end += b.len() as u16;
                r.extend_from_slice(&end.to_le_bytes());
            }
            None => r.extend_from_slice(&(end | 0x8000).to_le_bytes()),
        }
    }
    r.extend_from_slice(&data);
    let mut ib = 4 * tagged.len();
    for (fid, derived, v) in tagged {
        r.extend_from_slice(&fid.to_le_bytes());
        let flag = if *derived { 0x8000 } else { 0 };
        r.extend_from_slice(&(ib as u16 | flag).to_le_bytes());
        ib += v.len();
    }
    for (_, _, v) in tagged {
        r.extend_from_slice(v);
    }
    r
}

/// One catalog entry of a table (type 1) or column (type 2).
struct Entry<'a> {
    objid_table: u32,
    kind: u16,
    id: u32,
    coltyp_or_pgno: u32,
    flags: u32,
    codepage: u32,
    record_offset: u16,
    name: &'a str,
    template: Option<&'a str>,
}

fn catalog_record(e: &Entry) -> Vec<u8> {
    let root = u8::from(e.kind == 1);
    record(
        &[
            &e.objid_table.to_le_bytes(),
            &e.kind.to_le_bytes(),
            &e.id.to_le_bytes(),
            &e.coltyp_or_pgno.to_le_bytes(),
            &80u32.to_le_bytes(),
            &e.flags.to_le_bytes(),
            &e.codepage.to_le_bytes(),
            &[root],
            &e.record_offset.to_le_bytes(),
        ],
        &[Some(e.name.as_bytes()), None, e.template.map(str::as_bytes)],
        &[],
    )
}

fn table(objid: u32, name: &str, flags: u32, template: Option<&str>) -> Vec<u8> {
    catalog_record(&Entry {
        objid_table: objid,
        kind: 1,
        id: objid,
        coltyp_or_pgno: objid, // root page = objid here
        flags,
        codepage: 1,
        record_offset: 0,
        name,
        template,
    })
}

/// A column: (table, fid, JET_coltyp, catalog Flags, RecordOffset, name).
fn column(
    objid: u32,
    fid: u32,
    coltyp: u32,
    flags: u32,
    record_offset: u16,
    name: &str,
) -> Vec<u8> {
    catalog_record(&Entry {
        objid_table: objid,
        kind: 2,
        id: fid,
        coltyp_or_pgno: coltyp,
        flags,
        codepage: if coltyp == 10 { 1252 } else { 0 },
        record_offset,
        name,
        template: None,
    })
}

/// A root leaf page of `objid` holding `records` (keys 1, 2, … big-endian).
fn leaf(pgno: u32, objid: u32, records: &[Vec<u8>]) -> Vec<u8> {
    let mut page = vec![0u8; PS];
    page[8..16].copy_from_slice(&0x300u64.to_le_bytes());
    page[24..28].copy_from_slice(&objid.to_le_bytes());
    page[36..40].copy_from_slice(&(0x1u32 | 0x2 | 0x800 | 0x2000).to_le_bytes());
    let mut lines: Vec<Vec<u8>> = vec![Vec::new()]; // tag 0: no external header
    for (i, r) in records.iter().enumerate() {
        let mut l = 4u16.to_le_bytes().to_vec();
        l.extend_from_slice(&(i as u32 + 1).to_be_bytes());
        l.extend_from_slice(r);
        lines.push(l);
    }
    let mut ib = 0usize;
    for (itag, l) in lines.iter().enumerate() {
        page[40 + ib..40 + ib + l.len()].copy_from_slice(l);
        let t = PS - 4 * (itag + 1);
        put16(&mut page, t, l.len() as u16);
        put16(&mut page, t + 2, ib as u16);
        ib += l.len();
    }
    put16(&mut page, 28, (PS - 40 - ib - 4 * lines.len()) as u16);
    put16(&mut page, 32, ib as u16);
    put16(&mut page, 34, lines.len() as u16);
    seal_page(&mut page, pgno);
    page
}

const TEMPLATE: u32 = 0x2000_0000; // JET_bitObjectTableTemplate
const DERIVED: u32 = 0x1000_0000; // JET_bitObjectTableDerived
const ESE98: u32 = 0x0100; // ffieldTemplateColumnESE98

/// The crafted database: catalog on page 4; `Tpl` (template, page 5),
/// `Derived` (page 6, one record), `Clash` (page 7, one record), `Tpl97`
/// (page 8) and `Derived97` (page 9, one record).
fn crafted_db(dir: &Path) -> PathBuf {
    let spec = eseutil::synth::DbSpec::default();
    let mut f = eseutil::synth::database(&spec, 10, 10);
    let catalog = vec![
        table(5, "Tpl", TEMPLATE, None),
        column(5, 1, 4, ESE98, 4, "Id"),
        column(5, 128, 10, ESE98, 0, "Name"),
        column(5, 256, 10, ESE98, 0, "Note"),
        table(6, "Derived", DERIVED, Some("Tpl")),
        column(6, 2, 3, 0, 8, "Count"),
        column(6, 129, 9, 0, 0, "Blob"),
        column(6, 256, 10, 0, 0, "Extra"),
        // An ESE97 template (no ffieldTemplateColumnESE98): its tagged
        // entries carry no fDerived bit, the derived table's own tagged
        // ids start after the template's (ese/fileopen.cxx).
        table(8, "Tpl97", TEMPLATE, None),
        column(8, 256, 10, 0, 0, "Old"),
        table(9, "Derived97", DERIVED, Some("Tpl97")),
        column(9, 257, 10, 0, 0, "Own"),
        table(7, "Clash", 0, None),
        column(7, 1, 4, 0, 4, "table"),
        column(7, 128, 10, 0, 0, "view"),
        column(7, 256, 10, 0, 0, "found"),
        column(7, 257, 4, 0, 0, "offset"),
        column(7, 258, 10, 0, 0, "Other"),
    ];
    let derived = record(
        &[&7i32.to_le_bytes(), &3i16.to_le_bytes()],
        &[Some(b"tname"), Some(&[0xab])],
        &[(256, true, b"tnote"), (256, false, b"extra")],
    );
    let clash = record(
        &[&42i32.to_le_bytes()],
        &[Some(b"v")],
        &[
            (256, false, b"f"),
            (257, false, &5i32.to_le_bytes()),
            (258, false, b"o"),
        ],
    );
    let derived97 = record(&[], &[], &[(256, false, b"old"), (257, false, b"own")]);
    let pages = [
        (4, 2, catalog),
        (8, 8, vec![]),
        (9, 9, vec![derived97]),
        (5, 5, vec![]),
        (6, 6, vec![derived]),
        (7, 7, vec![clash]),
    ];
    for (pgno, objid, records) in pages {
        let at = (pgno as usize + 1) * PS;
        f[at..at + PS].copy_from_slice(&leaf(pgno, objid, &records));
    }
    let p = dir.join("crafted.edb");
    std::fs::write(&p, f).unwrap();
    p
}

fn lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Item 1 (template tables): the derived table's record is decoded with the
/// template's columns first (fixed 1, variable 128, tagged 256 marked
/// fDerived), then its own (fixed 2, variable 129, tagged 256).
#[test]
fn derived_table_rows_carry_the_template_columns() {
    let d = tempfile::tempdir().unwrap();
    let db = crafted_db(d.path());
    let r = common::run(&[
        "export".as_ref(),
        db.as_os_str(),
        "--table".as_ref(),
        "Derived".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = lines(&r.stdout);
    assert_eq!(rows.len(), 1, "{}", r.stdout);
    let want = serde_json::json!({
        "table": "Derived", "Id": 7, "Name": "tname", "Note": "tnote",
        "Count": 3, "Blob": "ab", "Extra": "extra"
    });
    assert_eq!(rows[0], want);
    assert_eq!(
        r.stdout,
        "{\"table\":\"Derived\",\"Id\":7,\"Name\":\"tname\",\"Note\":\"tnote\",\
         \"Count\":3,\"Blob\":\"ab\",\"Extra\":\"extra\"}\n",
        "template columns first"
    );
    // `mm` lists them with the engine's template bit in their ids.
    let (code, mm) = common::run_json(&["mm".as_ref(), db.as_os_str(), "--json".as_ref()]);
    assert_eq!(code, 0);
    let t = mm["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Derived")
        .unwrap();
    assert_eq!(t["template"], "Tpl");
    let ids: Vec<u64> = t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [0x8000_0001, 0x8000_0080, 0x8000_0100, 2, 129, 256]);
}

/// An ESE97-format template: its tagged columns are matched without the
/// fDerived bit.
#[test]
fn ese97_template_columns_carry_no_derived_bit() {
    let d = tempfile::tempdir().unwrap();
    let db = crafted_db(d.path());
    let r = common::run(&[
        "export".as_ref(),
        db.as_os_str(),
        "--table".as_ref(),
        "Derived97".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "{\"table\":\"Derived97\",\"Old\":\"old\",\"Own\":\"own\"}\n"
    );
}

/// Item 3 (collisions): columns named like export's own fields are written
/// `column.NAME`, in JSON Lines and CSV, with a note on stderr; the added
/// fields keep their names.
#[test]
fn columns_named_like_added_fields_are_renamed() {
    let d = tempfile::tempdir().unwrap();
    let db = crafted_db(d.path());
    let r = common::run(&[
        "export".as_ref(),
        db.as_os_str(),
        "--table".as_ref(),
        "Clash".as_ref(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = lines(&r.stdout);
    let want = serde_json::json!({
        "table": "Clash", "column.table": 42, "column.view": "v",
        "column.found": "f", "column.offset": 5, "Other": "o"
    });
    assert_eq!(rows, [want]);
    assert!(
        r.stderr
            .contains("table Clash: column table is written as \"column.table\""),
        "{}",
        r.stderr
    );
    let out = d.path().join("out");
    let r = common::run(&[
        "export".as_ref(),
        db.as_os_str(),
        "--format".as_ref(),
        "csv".as_ref(),
        "--output".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let csv = std::fs::read_to_string(out.join("Clash.csv")).unwrap();
    assert_eq!(
        csv,
        "column.table,column.view,column.found,column.offset,Other\r\n42,v,f,5,o\r\n"
    );
}
