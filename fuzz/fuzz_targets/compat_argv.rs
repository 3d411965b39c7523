//! The eseutil argv translator: never panics, and translating its own output
//! again changes nothing (the canonical form is a fixed point).
#![no_main]
use std::ffi::OsString;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let args: Vec<OsString> = s.split('\0').map(OsString::from).collect();
    if let Ok(once) = eseutil::cli::compat::translate(&args) {
        let twice = eseutil::cli::compat::translate(&once).expect("canonical form translates");
        assert_eq!(once, twice);
    }
});
