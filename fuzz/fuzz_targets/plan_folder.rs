//! The recovery planner over a fuzzed folder: the input is split into up to
//! five files (a database, a checkpoint, the current log and two archived
//! generations) written to a fresh temporary folder; gathering and planning
//! never panic, whatever the bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 5] = ["db.edb", "edb.chk", "edb.log", "edb00001.log", "edb00002.log"];

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("eseutil-fuzz-plan-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Files are separated by the byte 0xFE.
    for (i, part) in data.split(|&b| b == 0xFE).take(NAMES.len()).enumerate() {
        std::fs::write(dir.join(NAMES[i]), part).unwrap();
    }
    if let Ok(facts) = eseutil::plan::gather(&[dir.clone()]) {
        let plan = eseutil::plan::plan(&facts);
        let _ = eseutil::render::plan::plan(&plan, false, true);
        let _ = serde_json::to_string(&plan).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
});
