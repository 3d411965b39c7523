//! The files in testdata/synth are made by eseutil::synth from the format
//! specification; this test proves they are exactly what the generator
//! writes (ESEUTIL_BLESS=1 rewrites them).

use std::path::PathBuf;

use eseutil::synth::{checkpoint, database, DbSpec};

fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("clean-4k.edb", database(&DbSpec::default(), 6, 3)),
        (
            "dirty-16k.edb",
            database(
                &DbSpec {
                    page_size: 16384,
                    state: 2,
                    gen_required: (0x1E2E4, 0x1E2E6),
                    update: (300, 620),
                },
                2,
                1,
            ),
        ),
        ("edb.chk", checkpoint(0x1E2E4, 0x13)),
    ]
}

#[test]
fn synthetic_fixtures_are_reproducible() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/synth");
    for (name, bytes) in fixtures() {
        let p = dir.join(name);
        if std::env::var_os("ESEUTIL_BLESS").is_some() {
            std::fs::write(&p, &bytes).unwrap();
        }
        let on_disk = std::fs::read(&p)
            .unwrap_or_else(|_| panic!("{} missing (ESEUTIL_BLESS=1 writes it)", p.display()));
        assert_eq!(on_disk, bytes, "{name} differs from the generator's output");
    }
}
