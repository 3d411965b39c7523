//! Decompression of compressed column values and long-value chunks.
//!
//! A compressed value opens with a header byte whose high five bits name
//! the scheme (`ese/compression.cxx`, `COMPRESS_*`): 1 7-bit ASCII, 2 7-bit
//! Unicode, 3 Xpress, 4 scrub, 5 XPRESS9, 6 XPRESS10, 7 LZ4. The low three
//! bits of a 7-bit header hold the number of bits used in the last byte,
//! minus one (`ErrDecompress7BitAscii_`). An Xpress value follows its header
//! byte with the uncompressed size (u16 LE) and then a stream in the
//! "Plain LZ77" format of [MS-XCA] §2.3–2.4 (decoder written from the
//! specification's pseudocode). An LZ4 value likewise follows its header
//! byte with the uncompressed size (u16 LE, `Lz4Header`) and then one LZ4
//! block (`ErrDecompressLz4_`; decoder written from the public LZ4 block
//! format description). An XPRESS9 value follows its header byte with the
//! CRC-32C of the uncompressed value (u32 LE, `Xpress9Header`) and then an
//! XPRESS9 stream ([`super::xpress9`]); it counts as decoded only when the
//! checksum matches (`ErrDecompressXpress9_`). Scrub (4), XPRESS10 (6) and
//! unknown numbers have no decoder here: they come back as [`Undecoded`]
//! with the scheme named.
//!
//! Every decoder is bounded by the size the value declares and by `max_out`.

use super::xpress9;

/// Scheme numbers (`COMPRESS_*`, compression.cxx).
pub const SEVEN_BIT_ASCII: u8 = 1;
/// 7-bit Unicode.
pub const SEVEN_BIT_UNICODE: u8 = 2;
/// Xpress (MS-XCA Plain LZ77).
pub const XPRESS: u8 = 3;
/// XPRESS9 (`_xpress9/`, decoded in [`super::xpress9`]).
pub const XPRESS9: u8 = 5;
/// LZ4 (one LZ4 block).
pub const LZ4: u8 = 7;

/// A value whose compression could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecoded {
    /// Scheme name (`7bit-ascii`, `xpress`, `xpress9`, …).
    pub scheme: String,
    /// Why (for stderr).
    pub reason: String,
}

/// Name of a compression scheme number.
pub fn scheme_name(id: u8) -> String {
    match id {
        0 => "none".into(),
        1 => "7bit-ascii".into(),
        2 => "7bit-unicode".into(),
        3 => "xpress".into(),
        4 => "scrub".into(),
        5 => "xpress9".into(),
        6 => "xpress10".into(),
        7 => "lz4".into(),
        n => format!("scheme-{n}"),
    }
}

fn undecoded(id: u8, reason: impl Into<String>) -> Undecoded {
    Undecoded {
        scheme: scheme_name(id),
        reason: reason.into(),
    }
}

/// Decompresses `buf` (header byte included) into at most `max_out` bytes.
pub fn decompress(buf: &[u8], max_out: usize) -> Result<Vec<u8>, Undecoded> {
    let Some(&hdr) = buf.first() else {
        return Err(undecoded(0, "empty compressed value"));
    };
    let id = hdr >> 3;
    match id {
        SEVEN_BIT_ASCII | SEVEN_BIT_UNICODE => seven_bit(buf, id == SEVEN_BIT_UNICODE, max_out),
        XPRESS | LZ4 => {
            if buf.len() < 3 {
                return Err(undecoded(id, "header truncated"));
            }
            let size = u16::from_le_bytes([buf[1], buf[2]]) as usize;
            if size > max_out {
                return Err(undecoded(
                    id,
                    format!("declares {size} bytes, over {max_out}"),
                ));
            }
            let out = if id == XPRESS {
                plain_lz77(&buf[3..], size)
            } else {
                lz4_block(&buf[3..], size)
            };
            out.map_err(|e| undecoded(id, e))
        }
        XPRESS9 => xpress9_value(buf, max_out).map_err(|e| undecoded(id, e)),
        _ => Err(undecoded(id, "no decoder for this scheme")),
    }
}

/// XPRESS9: header byte, CRC-32C of the uncompressed value (u32 LE,
/// `Xpress9Header`), then the stream; the value is good only when its
/// checksum matches (`ErrDecompressXpress9_`).
fn xpress9_value(buf: &[u8], max_out: usize) -> Result<Vec<u8>, String> {
    let hdr = buf.get(..5).ok_or("header truncated")?;
    let crc = u32::from_le_bytes([hdr[1], hdr[2], hdr[3], hdr[4]]);
    let out = xpress9::decompress(&buf[5..], max_out)?;
    if xpress9::crc32c(&out) != crc {
        return Err("checksum of the decoded value does not match".into());
    }
    Ok(out)
}

/// 7-bit packing: values of 7 bits, least significant bit first, after the
/// header byte (`ErrDecompress7BitAscii_`, `ErrDecompress7BitUnicode_`).
fn seven_bit(buf: &[u8], wide: bool, max_out: usize) -> Result<Vec<u8>, Undecoded> {
    let id = buf[0] >> 3;
    if buf.len() < 2 {
        return Err(undecoded(id, "7-bit value without data"));
    }
    let bits_final = (buf[0] & 7) as usize + 1;
    let bits = (buf.len() - 2) * 8 + bits_final;
    let count = bits / 7;
    let out_len = if wide { count * 2 } else { count };
    if out_len > max_out {
        return Err(undecoded(
            id,
            format!("declares {out_len} bytes, over {max_out}"),
        ));
    }
    let data = &buf[1..];
    let mut out = Vec::with_capacity(out_len);
    for i in 0..count {
        let bit = i * 7;
        let (byte, shift) = (bit / 8, bit % 8);
        let lo = data[byte] as u16;
        let hi = data.get(byte + 1).copied().unwrap_or(0) as u16;
        let v = (((hi << 8) | lo) >> shift) as u8 & 0x7F;
        out.push(v);
        if wide {
            out.push(0);
        }
    }
    Ok(out)
}

/// [MS-XCA] §2.4.4 Plain LZ77 decompression, output capped at `size`.
pub fn plain_lz77(input: &[u8], size: usize) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::with_capacity(size);
    let (mut pos, mut flags, mut nflags, mut half) = (0usize, 0u32, 0u32, None::<usize>);
    let rd16 = |p: usize| {
        input
            .get(p..p + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    while out.len() < size {
        if nflags == 0 {
            let Some(b) = input.get(pos..pos + 4) else {
                break;
            };
            flags = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            pos += 4;
            nflags = 32;
        }
        nflags -= 1;
        if flags & (1 << nflags) == 0 {
            let Some(&b) = input.get(pos) else { break };
            out.push(b);
            pos += 1;
            continue;
        }
        let Some(m) = rd16(pos) else { break };
        pos += 2;
        let offset = m / 8 + 1;
        let mut len = m % 8;
        if len == 7 {
            len = match half.take() {
                None => {
                    let b = *input.get(pos).ok_or("truncated length nibble")?;
                    half = Some(pos);
                    pos += 1;
                    (b % 16) as usize
                }
                Some(h) => (input[h] / 16) as usize,
            };
            if len == 15 {
                len = *input.get(pos).ok_or("truncated length byte")? as usize;
                pos += 1;
                if len == 255 {
                    len = rd16(pos).ok_or("truncated length word")?;
                    pos += 2;
                    if len == 0 {
                        let b = input.get(pos..pos + 4).ok_or("truncated length dword")?;
                        len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
                        pos += 4;
                    }
                    len = len.checked_sub(15 + 7).ok_or("length below 22")?;
                }
                len += 15;
            }
            len += 7;
        }
        len += 3;
        let start = out
            .len()
            .checked_sub(offset)
            .ok_or("match before the start of the output")?;
        for i in 0..len.min(size - out.len()) {
            let b = out[start + i];
            out.push(b);
        }
    }
    if out.len() != size {
        return Err(format!("stream ended after {} of {size} bytes", out.len()));
    }
    Ok(out)
}

/// An LZ4 length: `nibble`, plus the bytes that follow while they are 255
/// (LZ4 block format: "linear small-integer code").
fn lz4_length(input: &[u8], pos: &mut usize, nibble: usize) -> Result<usize, String> {
    let mut len = nibble;
    if nibble == 15 {
        loop {
            let b = *input.get(*pos).ok_or("truncated length")?;
            *pos += 1;
            len = len.checked_add(b as usize).ok_or("length overflow")?;
            if b != 255 {
                break;
            }
        }
    }
    Ok(len)
}

/// One LZ4 block decoded into exactly `size` bytes: sequences of a token
/// (literal length, match length − 4), the literals, a u16 LE offset back
/// into the output and the match; the last sequence has literals only.
pub fn lz4_block(input: &[u8], size: usize) -> Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::with_capacity(size);
    let mut pos = 0usize;
    while pos < input.len() {
        let token = input[pos] as usize;
        pos += 1;
        let lits = lz4_length(input, &mut pos, token >> 4)?;
        let end = pos.checked_add(lits).ok_or("literal length overflow")?;
        let src = input.get(pos..end).ok_or("literals past the input")?;
        if out.len() + src.len() > size {
            return Err(format!("more than the {size} bytes declared"));
        }
        out.extend_from_slice(src);
        pos = end;
        if pos == input.len() {
            break; // the last sequence: literals only
        }
        let off = input.get(pos..pos + 2).ok_or("truncated offset")?;
        let offset = u16::from_le_bytes([off[0], off[1]]) as usize;
        pos += 2;
        let len = lz4_length(input, &mut pos, token & 15)? + 4;
        let start = out
            .len()
            .checked_sub(offset)
            .filter(|_| offset > 0)
            .ok_or("match offset outside the output")?;
        if out.len() + len > size {
            return Err(format!("more than the {size} bytes declared"));
        }
        for i in 0..len {
            let b = out[start + i];
            out.push(b);
        }
    }
    if out.len() != size {
        return Err(format!("block ended after {} of {size} bytes", out.len()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_bit_ascii() {
        // "ab": 0x61, 0x62 packed LSB first = 14 bits → 2 bytes, 6 bits in last
        let v = 0x61u16 | (0x62u16 << 7);
        let buf = [(1 << 3) | 5, v as u8, (v >> 8) as u8];
        assert_eq!(decompress(&buf, 100).unwrap(), b"ab");
        let buf = [(2 << 3) | 5, v as u8, (v >> 8) as u8];
        assert_eq!(decompress(&buf, 100).unwrap(), b"a\0b\0");
    }

    /// Schemes without a decoder here (`COMPRESS_*`, compression.cxx: 4
    /// scrub, 6 XPRESS10, 8–31 unassigned) and 0, and an XPRESS9 or LZ4
    /// value whose stream does not decode: each is named, never decoded
    /// into bytes.
    #[test]
    fn every_undecodable_scheme_is_named() {
        let names = [
            (0u8, "none"),
            (4, "scrub"),
            (5, "xpress9"),
            (6, "xpress10"),
            (7, "lz4"),
            (8, "scheme-8"),
            (31, "scheme-31"),
        ];
        for (id, name) in names {
            // Header byte, then bytes an Xpress header would read as a size.
            let buf = [id << 3, 4, 0, 0xAA, 0xBB, 0xCC, 0xDD];
            let e = decompress(&buf, 1 << 16).unwrap_err();
            assert_eq!(e.scheme, name, "scheme {id}");
        }
        assert_eq!(decompress(&[], 10).unwrap_err().scheme, "none");
    }

    /// LZ4 (scheme 7): header byte, u16 size, one block. "abcabcabcX": 3
    /// literals, a match of 6 at offset 3, then the last literal.
    #[test]
    fn lz4_block_decodes() {
        let block = [0x32, b'a', b'b', b'c', 3, 0, 0x10, b'X'];
        assert_eq!(lz4_block(&block, 10).unwrap(), b"abcabcabcX");
        let mut v = vec![LZ4 << 3, 10, 0];
        v.extend_from_slice(&block);
        assert_eq!(decompress(&v, 100).unwrap(), b"abcabcabcX");
        assert!(lz4_block(&block, 9).is_err(), "more than declared");
        assert!(lz4_block(&block, 11).is_err(), "fewer than declared");
        assert!(lz4_block(&[0x32, b'a', b'b', b'c', 0, 0, 0x10, b'X'], 10).is_err());
        assert!(lz4_block(&[0x32, b'a', b'b', b'c', 9, 0, 0x10, b'X'], 10).is_err());
        // A long literal run: 15 + 255 + 2 = 272 bytes.
        let mut long = vec![0xF0, 255, 2];
        long.extend(std::iter::repeat_n(b'z', 272));
        assert_eq!(lz4_block(&long, 272).unwrap().len(), 272);
    }

    /// XPRESS9 (scheme 5): header byte, CRC-32C of the value, stream. A
    /// checksum that does not match leaves the value undecoded.
    #[test]
    fn xpress9_value_decodes_and_is_checked() {
        let data = b"abcabcabc abcabcabc";
        let mut v = vec![XPRESS9 << 3];
        v.extend_from_slice(&xpress9::crc32c(data).to_le_bytes());
        v.extend_from_slice(&xpress9::encode_simple(data, true));
        assert_eq!(decompress(&v, 100).unwrap(), data);
        assert_eq!(decompress(&v, 10).unwrap_err().scheme, "xpress9");
        v[1] ^= 1;
        let e = decompress(&v, 100).unwrap_err();
        assert_eq!(e.scheme, "xpress9");
        assert!(e.reason.contains("checksum"), "{}", e.reason);
        assert_eq!(decompress(&v[..4], 100).unwrap_err().scheme, "xpress9");
    }

    #[test]
    fn lz77_spec_example() {
        // MS-XCA §3.1 example: "abcdefghijklmnopqrstuvwxyz" is all literals.
        let mut input = 0u32.to_le_bytes().to_vec();
        input.extend_from_slice(b"abcdefghijklmnopqrstuvwxyz");
        assert_eq!(
            plain_lz77(&input, 26).unwrap(),
            b"abcdefghijklmnopqrstuvwxyz"
        );
        // "abc" then a match of 6 at offset 3 → "abcabcabc"
        let flags: u32 = 1 << 28; // 4th flag (after 3 literals) is a match
        let mut input = flags.to_le_bytes().to_vec();
        input.extend_from_slice(b"abc");
        input.extend_from_slice(&(((3 - 1) * 8 + (6 - 3)) as u16).to_le_bytes());
        assert_eq!(plain_lz77(&input, 9).unwrap(), b"abcabcabc");
        assert!(plain_lz77(&input, 20).is_err());
        assert_eq!(
            decompress(&[5 << 3, 1, 2], 10).unwrap_err().scheme,
            "xpress9"
        );
    }
}
