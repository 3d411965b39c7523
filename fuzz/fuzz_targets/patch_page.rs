//! Backup trailer (patch) page, `.pat` patch files and the shared page
//! classification: never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = eseutil::parse::patch::read_patch_page(data) {
        let _ = eseutil::render::header::patch_block(&p);
    }
    let len = data.len() as u64;
    if eseutil::parse::patch::is_patch_file(data, len) {
        if let Ok(f) = eseutil::parse::patch::read_patch_file(data, len) {
            let w = eseutil::report::header::patch_file_warnings(&f);
            let _ = eseutil::render::header::patch_file(&f, &w, false);
        }
    }
    if !data.is_empty() {
        let _ = eseutil::db::classify::classify(data, 3, 3, data.len() > 8192);
    }
});
