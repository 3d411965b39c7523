//! Checkpoint pair: parse, render, serialize; never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(pair) = eseutil::parse::checkpoint::read_checkpoint_pair(data) {
        let _ = eseutil::render::checkpoint::checkpoint(pair.checkpoint());
        let r = eseutil::report::checkpoint::MkReport::new("f".into(), data.len() as u64, &pair);
        let _ = serde_json::to_string(&r).unwrap();
    }
});
