//! The legacy XOR checksum of header pages (database header, log header,
//! checkpoint copy, flush map header, patch file header), which every header
//! parser verifies. It lives with the parsers so that they need nothing from
//! the layer above; [`crate::checksum`] re-exports it beside the page checksums.
//!
//! Facts: `checksum/checksum.cxx` ~160–240 (`ChecksumOldFormat*`), restated in
//! `docs/format/checksums.md` §1.

use super::u32_at;

/// Seed of the legacy XOR checksum (`ulDAEMagic`).
pub const XOR_SEED: u32 = 0x89AB_CDEF;

/// XOR of every little-endian u32 of `b` (length a multiple of 4).
#[inline]
pub fn xor_words(b: &[u8]) -> u32 {
    let mut acc64 = 0u64;
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        acc64 ^= u64::from_le_bytes(c.try_into().unwrap());
    }
    let mut acc = (acc64 as u32) ^ ((acc64 >> 32) as u32);
    for c in chunks.remainder().chunks_exact(4) {
        acc ^= u32::from_le_bytes(c.try_into().unwrap());
    }
    acc
}

/// The legacy header checksum of a header page (database header, log header,
/// checkpoint copy, backup trailer page): `0x89ABCDEF` XOR every u32 of the
/// page except the first, which is where the result is stored (docs/format/checksums.md §1).
pub fn legacy_header_checksum(page: &[u8]) -> u32 {
    XOR_SEED ^ xor_words(&page[4..])
}

/// The stored legacy header checksum (first u32 of the page).
pub fn stored_header_checksum(page: &[u8]) -> u32 {
    u32_at(page, 0)
}
