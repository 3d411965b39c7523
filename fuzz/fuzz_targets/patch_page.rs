//! Backup trailer (patch) page: never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = eseutil::parse::patch::read_patch_page(data) {
        let _ = eseutil::render::mh::patch_block(&p);
    }
});
