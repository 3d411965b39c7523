//! All record decoding: the typed decoder over arbitrary bytes (the input
//! as one record of whatever type), and the record reader over arbitrary
//! 8.x segment data and 7.x contiguous data with every record it yields
//! decoded, described (`/ml` fields) and rendered (`/ml /v` line). Never
//! panics; a record the reader yields always decodes unless its type
//! declares its own length (the ignorable types, lrtyp 67–75 and 82–91).
//! Reading from a shared buffer yields the same records as from a slice.
#![no_main]
use std::sync::Arc;

use eseutil::log::record::{
    info_of, read_records, read_stream_shared, record_info, record_size, Layout, Record,
};
use eseutil::render::log_dump::{lr_to_sz_tail, record_line};
use libfuzzer_sys::fuzz_target;

fn ignorable(t: u8) -> bool {
    matches!(t, 67..=75 | 82..=91)
}

fuzz_target!(|data: &[u8]| {
    let _ = record_size(data);
    if let Ok(rec) = Record::decode(data) {
        let _ = info_of(&rec);
        let _ = lr_to_sz_tail(&rec);
    }
    let n = (data.len() / 4096) as u16;
    let mut file = vec![0u8; 4096];
    file.extend_from_slice(data);
    for layout in [
        Layout::Segments {
            first: 1,
            last: (n > 0).then_some(n),
            clean_end: true,
        },
        Layout::Contiguous {
            start: 4096,
            end: file.len() as u64,
            chain: &[],
            clean_end: true,
        },
    ] {
        let recs = match read_records(&file, 1, 512, layout) {
            Ok(r) => r,
            Err((r, _)) => r,
        };
        let shared = Arc::new(file.clone());
        assert_eq!(read_stream_shared(&shared, 1, 512, layout).0.records, recs);
        for r in &recs {
            let rec = r.decode();
            if let Err(e) = &rec {
                assert!(ignorable(r.lrtyp), "the reader yielded {e}");
            }
            let _ = record_line(r, rec.as_ref().ok());
            let _ = record_info(r);
        }
    }
});
