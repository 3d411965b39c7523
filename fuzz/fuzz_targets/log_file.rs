//! A whole log file: header, segment/LRCHECKSUM scan and record walk never
//! panic; every record lies inside the file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut file = data.to_vec();
    if let Ok(scan) = eseutil::log::scan::scan_log(&mut file) {
        let walk = eseutil::log::set::walk_records(&file, &scan);
        let _ = walk.lands_on_end();
        let _ = serde_json::to_string(&scan.header).unwrap();
    }
});
