//! Compares two database files page by page, as `/r --compare-with` does,
//! without running a recovery (for example a backup copy against the live
//! database, or two rebuilds).
//!
//! `cargo run --example compare_pages -- RECOVERED.edb REFERENCE.edb [--json]`
//!
//! Exit status 0 when compared (whatever the verdicts), 2 on usage, 3 when a
//! file cannot be compared.

use std::path::PathBuf;

use eseutil::db::compare::compare_candidates;
use eseutil::render::compare::compare_text;

fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    let json = a.iter().any(|x| x == "--json");
    let files: Vec<&String> = a.iter().filter(|x| *x != "--json").collect();
    if files.len() != 2 {
        eprintln!("usage: compare_pages RECOVERED REFERENCE [--json]");
        std::process::exit(2);
    }
    let r = compare_candidates(&[PathBuf::from(files[0])], &PathBuf::from(files[1]));
    if json {
        println!("{}", serde_json::to_string_pretty(&r).expect("serialise"));
    } else {
        print!("{}", compare_text(&r));
    }
    if r.result.is_none() {
        std::process::exit(3);
    }
}
