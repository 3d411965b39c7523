//! The record reader over arbitrary 8.x segment data and 7.x contiguous data:
//! never panics; record decoding of whatever it yields never panics.
#![no_main]
use eseutil::log::record::{read_records, record_info, record_size, Layout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = record_size(data);
    let n = (data.len() / 4096) as u16;
    let mut file = vec![0u8; 4096];
    file.extend_from_slice(data);
    for layout in [
        Layout::Segments { first: 1, last: (n > 0).then_some(n) },
        Layout::Contiguous { start: 4096, end: file.len() as u64 },
    ] {
        let recs = match read_records(&file, 1, 512, layout) {
            Ok(r) => r,
            Err((r, _)) => r,
        };
        for r in &recs {
            let _ = record_info(r);
        }
    }
});
