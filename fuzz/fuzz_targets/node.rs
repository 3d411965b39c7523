//! Node, extent, space-header and record parsers on hostile bytes: never
//! panic; a parsed node's parts add up to the line.
#![no_main]
use eseutil::db::record::Record;
use eseutil::parse::page::{parse_extent, parse_node, parse_space_header, NODE_COMPRESSED};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let flags = data[0] & 7;
    let line = &data[1..];
    if let Ok(n) = parse_node(line, flags) {
        let counts = if flags & NODE_COMPRESSED != 0 { 4 } else { 2 };
        assert_eq!(counts + n.suffix.len() + n.data.len(), line.len());
        assert!(!n.data.is_empty());
    }
    let _ = parse_space_header(line);
    if line.len() >= 4 {
        let _ = parse_extent(&line[..line.len().min(5)], &line[line.len().min(5)..]);
    }
    for large in [false, true] {
        if let Ok(r) = Record::parse(line, large) {
            for fid in 0..=20u8 {
                let _ = r.fixed(fid, &eseutil::db::catalog::FIXED_SIZES);
            }
            for fid in 128..=140u8 {
                let _ = r.var(fid);
            }
            let _ = r.tagged();
        }
        let _ = eseutil::db::catalog::decode_entry(line, large, 1);
    }
});
