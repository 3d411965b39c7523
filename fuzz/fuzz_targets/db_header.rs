//! Database header pair: parse, then render text and JSON; never panics.
#![no_main]
use eseutil::file::{identify, FileKind};
use eseutil::parse::db_header::{read_header_pair, read_unverified};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = identify(data);
    if let Ok(pair) = read_header_pair(data) {
        // The chosen copy always decodes and lies inside the input.
        assert!(2 * pair.page_size <= data.len() || pair.shadow.is_none());
        let h = pair.header();
        let _ = eseutil::render::header::fields(h, false);
        let _ = eseutil::render::header::flush_signatures(h);
        let _ = pair.warnings();
        let r = eseutil::report::header::MhReport::new("f".into(), data.len() as u64, FileKind::Database, &pair);
        let _ = serde_json::to_string(&r).unwrap();
    }
    if let Some((_, copy)) = read_unverified(data) {
        let _ = eseutil::render::header::header_copy("X", &copy, None, false);
    }
});
