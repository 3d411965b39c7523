//! Flush map header and data page header: parse and render; never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = eseutil::parse::flush_map::read_flush_map_header(data) {
        let _ = eseutil::render::flush_map::header(&v);
    }
    if let Ok(d) = eseutil::parse::flush_map::parse_data_page_header(data) {
        let states = eseutil::parse::flush_map::flush_states(data);
        let _ = eseutil::render::flush_map::data_page(&d, 0, Some(&states));
    }
});
