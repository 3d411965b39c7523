//! Writes a synthetic ESE database with valid checksums, for the `/k`
//! benchmark (`scripts/bench-k.sh`): two sealed header pages, then plausible
//! data pages (every 16th page blank), sealed with
//! `eseutil::checksum::seal_page` in the ECC or legacy XOR format.
//!
//! Usage: `gen-db OUT SIZE_MIB PAGE_SIZE [ecc|xor]`

use std::io::Write;

use eseutil::checksum_scan::synth;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: gen-db OUT SIZE_MIB PAGE_SIZE [ecc|xor]");
        std::process::exit(2);
    }
    let out = &args[1];
    let mib: u64 = args[2].parse().expect("SIZE_MIB");
    let ps: usize = args[3].parse().expect("PAGE_SIZE");
    let ecc = args.get(4).map(|s| s != "xor").unwrap_or(true);
    let total_pages = mib * (1 << 20) / ps as u64;
    let f = std::fs::File::create(out).expect("create");
    let mut w = std::io::BufWriter::with_capacity(4 << 20, f);
    w.write_all(&synth::header(ps)).unwrap();
    w.write_all(&synth::header(ps)).unwrap();
    let mut page = vec![0u8; ps];
    for pgno in 1..=total_pages.saturating_sub(2) as u32 {
        if pgno % 16 == 0 {
            page.fill(0);
        } else {
            synth::fill_data_page(&mut page, pgno, pgno as u64, ecc);
        }
        w.write_all(&page).unwrap();
    }
    w.flush().unwrap();
}
