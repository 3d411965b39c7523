//! Column-value decompression (7-bit, Xpress / MS-XCA Plain LZ77, XPRESS9,
//! LZ4):
//! never panics, never returns more than the bound it is given.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let max = data.first().map_or(0, |&b| b as usize * 64);
    if let Ok(v) = eseutil::db::compression::decompress(data, max) {
        assert!(v.len() <= max);
    }
    if data.len() > 2 {
        let size = u16::from_le_bytes([data[0], data[1]]) as usize;
        if let Ok(v) = eseutil::db::compression::plain_lz77(&data[2..], size) {
            assert_eq!(v.len(), size);
        }
        if let Ok(v) = eseutil::db::compression::lz4_block(&data[2..], size) {
            assert_eq!(v.len(), size);
        }
        // XPRESS9 (scheme 5), the stream alone and as an ESE value.
        if let Ok(v) = eseutil::db::xpress9::decompress(&data[2..], size) {
            assert!(v.len() <= size);
        }
        let mut value = vec![5 << 3];
        value.extend_from_slice(&data[2..]);
        if let Ok(v) = eseutil::db::compression::decompress(&value, size) {
            assert!(v.len() <= size);
        }
    }
});
