//! Record decoding with every column type, fixed / variable / tagged, on
//! small and large pages, long values refused, and the slack carver over
//! the same bytes: never panics.
#![no_main]
use eseutil::db::record_values::{
    decode_record, ColumnSchema, LongValues, LvError, TableSchema,
};
use libfuzzer_sys::fuzz_target;

struct NoLv;
impl LongValues for NoLv {
    fn fetch(&self, _lid: &[u8]) -> Result<Vec<u8>, LvError> {
        Err(LvError::Missing("none".into()))
    }
}

fuzz_target!(|data: &[u8]| {
    let mut columns = Vec::new();
    let mut off = 4;
    for (i, t) in (1u32..=17).enumerate() {
        let size = eseutil::db::record_values::fixed_size(t, 8);
        columns.push(ColumnSchema {
            id: i as u32 + 1,
            name: format!("f{t}"),
            coltyp: t,
            codepage: 1200,
            fixed: Some((off, size)),
            default: None,
        });
        off += size;
    }
    for (i, t) in [9u32, 10, 11, 12].iter().enumerate() {
        for base in [128u32, 256] {
            columns.push(ColumnSchema {
                id: base + i as u32,
                name: format!("v{base}-{t}"),
                coltyp: *t,
                codepage: if i % 2 == 0 { 1252 } else { 1200 },
                fixed: None,
                default: Some(vec![1, 2, 3]),
            });
        }
    }
    columns.sort_by_key(|c| c.id);
    let schema = TableSchema {
        name: "t".into(),
        objid: 1,
        pgno_fdp: 1,
        long_values: None,
        columns,
    };
    for large in [false, true] {
        let _ = decode_record(data, large, &schema, &NoLv);
    }
    // Records carved from page slack with the same schema (export --deleted).
    for c in eseutil::db::slack::carve(data, (0, data.len()), &schema) {
        let _ = c;
    }
});
