//! Redo over arbitrary records: each a length byte then the record (type
//! first), decoded and redone against a small synthetic database; half the
//! inputs aimed at its pages and dbtimes (first byte odd). Never panics.
#![no_main]
use eseutil::recovery::redo::fuzz;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("eseutil-fuzz-redo-{}", std::process::id()));
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let steer = data.first().is_some_and(|b| b & 1 == 1);
    fuzz::run(&dir, data.get(1..).unwrap_or_default(), steer);
});
