//! restore.env parsing and the path mapping: never panic; a mapped path
//! always stays inside the folder.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = eseutil::parse::restore_env::parse_restore_env(data) {
        let _ = eseutil::render::restore_env::dump("/r", &env, Some((1, 2)));
        let folder = std::path::Path::new("/restore");
        for e in &env.elements {
            if let Ok(p) = eseutil::parse::restore_env::map_into_folder(folder, &e.value) {
                assert_eq!(p.parent(), Some(folder), "{:?}", e.value);
            }
        }
    }
});
