//! The eseutil argv translator: never panics, and translating its own output
//! again changes nothing (the canonical form is a fixed point). The value
//! parsers of the dump switches (`/p` as wcstol reads it, `/mc` ranges,
//! `/ml /r` hex generation ranges) never panic and keep their invariants.
#![no_main]
use std::ffi::OsString;

use eseutil::cli::compat::{gen_range, spcat_range, translate, wcstol0};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let args: Vec<OsString> = s.split('\0').map(OsString::from).collect();
    if let Ok(once) = translate(&args) {
        let twice = translate(&once).expect("canonical form translates");
        assert_eq!(once, twice);
    }
    // The dump switches, with this input as their value.
    for (mode, switch) in [("/m", "/p"), ("/mn", "/a"), ("/mc", "/p"), ("/ml", "/r"), ("/ml", "/c")] {
        let argv: Vec<OsString> = [mode, "x.edb", &format!("{switch}{s}")]
            .iter()
            .map(OsString::from)
            .collect();
        if let Ok(once) = translate(&argv) {
            assert_eq!(translate(&once).expect("canonical form translates"), once);
        }
    }
    let _ = wcstol0(s);
    if let Some((first, last)) = spcat_range(s) {
        assert!(first >= 1 && last.is_none_or(|l| l >= 1));
    }
    if let Some((start, end)) = gen_range(s) {
        assert!(start <= i32::MAX as u32 && end.is_none_or(|e| e >= start));
    }
});
