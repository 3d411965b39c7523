//! Log file header and attach list: never panics; attach entries stay inside
//! the 2048-byte area.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = eseutil::parse::log_header::read_log_header(data);
    if let Ok(h) = eseutil::parse::log_header::parse_log_header_fields(data) {
        for a in &h.attachments {
            assert!(a.offset < eseutil::parse::attach_info::ATTACH_AREA_SIZE);
        }
        let _ = serde_json::to_string(&h).unwrap();
    }
    let (list, _) = eseutil::parse::attach_info::parse_attach_list(data);
    for a in list {
        assert!(a.offset + eseutil::parse::attach_info::ATTACH_FIXED_SIZE <= data.len().min(2048));
    }
});
