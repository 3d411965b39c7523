//! XPRESS9 decoder (ESE compression scheme 5), written from the format as
//! Microsoft's MIT-licensed ESE source defines it (`_xpress9/`:
//! `Xpress9DecLz77.c` for the block header and state, `Xpress9Lz77Dec.i`
//! for the symbol loop, `Xpress9DecHuffman.c` for the code tables).
//!
//! A stream is a run of blocks. Each block opens with eight u32 LE words:
//! magic `0x4E86D72A`, uncompressed size, size of the block in bits (header
//! included), flags, 0, session signature, block index, and a CRC-32C of
//! the first 28 bytes. The flags hold the bits the code tables take
//! (0–12), the window size − 16 (13–15), the number of MTF offsets / 2
//! (16–17), the pointer minimum match − 3 (18) and the MTF minimum match − 2
//! (19). After the header comes a bit stream read least significant bit
//! first: the MTF state, two code-length tables (704 "short" symbols, 256
//! long-length symbols) and the Huffman-coded literals and matches. The
//! history carries over from one block to the next.
//!
//! No I/O, no panics; the output never exceeds the `max_out` given.

/// Block magic (`XPRESS9_MAGIC`, Xpress9Internal.h).
pub const MAGIC: u32 = 0x4E86_D72A;
/// Block header size in bytes (eight u32).
pub const HEADER_LEN: usize = 32;
/// Short-symbol alphabet: 256 literals, then (24 + 4) slots × 16 lengths
/// (`LZ77_SHORT_SYMBOL_ALPHABET_SIZE`).
const SHORT_SYMBOLS: usize = 256 + ((24 + 4) << 4);
/// Long-length alphabet (`LZ77_LONG_LENGTH_ALPHABET_SIZE`).
const LONG_SYMBOLS: usize = 256;
/// Long lengths from here on carry extra bits (`LZ77_MAX_LONG_LENGTH`).
const LONG_EXTRA_FROM: usize = LONG_SYMBOLS - 24;
/// Longest codeword of the main tables (`HUFFMAN_MAX_CODEWORD_LENGTH`).
const MAX_CODE_LEN: usize = 27;
/// Zero-fill boundary of the length tables (`LZ77_MAX_SHORT_LENGTH`).
const FILL_BOUNDARY: usize = 16;
/// Symbols of the small table that codes the code lengths: 0..=27 are
/// lengths, then fill, zero run, previous, row, row + 1
/// (`HUFFMAN_ENCODED_TABLE_*`).
const SMALL_SYMBOLS: usize = MAX_CODE_LEN + 6;
const SYM_FILL: u16 = MAX_CODE_LEN as u16 + 1;
const SYM_ZERO_RUN: u16 = MAX_CODE_LEN as u16 + 2;
const SYM_PREV: u16 = MAX_CODE_LEN as u16 + 3;
const SYM_ROW: u16 = MAX_CODE_LEN as u16 + 4;
const SYM_ROW_PLUS: u16 = MAX_CODE_LEN as u16 + 5;

type Res<T> = Result<T, String>;

/// CRC-32C (Castagnoli, reflected 0x82F63B78), the checksum of the block
/// header (`Xpress9Crc32`) and of ESE's uncompressed value
/// (`Crc32Checksum`, os/encrypt.cxx).
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0x82F6_3B78 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// Least-significant-bit-first reader; bits past the end read as zero and
/// are still counted, so overruns show in [`Bits::used`].
struct Bits<'a> {
    data: &'a [u8],
    next: usize,
    buf: u64,
    have: u32,
    used: usize,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            next: 0,
            buf: 0,
            have: 0,
            used: 0,
        }
    }

    fn fill(&mut self) {
        while self.have <= 56 {
            let b = self.data.get(self.next).copied().unwrap_or(0);
            self.next += 1;
            self.buf |= (b as u64) << self.have;
            self.have += 8;
        }
    }

    /// The next `n` (≤ 32) bits without consuming them.
    fn peek(&mut self, n: u32) -> u32 {
        if self.have < n {
            self.fill();
        }
        (self.buf & ((1u64 << n) - 1)) as u32
    }

    fn skip(&mut self, n: u32) {
        if self.have < n {
            self.fill();
        }
        self.buf >>= n;
        self.have -= n;
        self.used += n as usize;
    }

    fn read(&mut self, n: u32) -> u32 {
        let v = self.peek(n);
        self.skip(n);
        v
    }
}

/// A canonical prefix code: codes assigned in order of (length, symbol),
/// sent most significant bit first (the order `HuffmanDecodeFillTables`
/// lays its tables out in).
struct Code {
    count: [u16; MAX_CODE_LEN + 1],
    symbols: Vec<u16>,
    /// A table with one symbol: it takes its length in bits, whatever they
    /// hold (`HuffmanCreateDecodeTables`).
    single: Option<(u16, u32)>,
    max_len: usize,
}

impl Code {
    /// `HuffmanCreateDecodeTables`: at least one symbol, and more than one
    /// only as a complete code (`HuffmanDecodeVerifyTree`).
    fn new(lengths: &[u8]) -> Res<Code> {
        let mut count = [0u16; MAX_CODE_LEN + 1];
        let mut max_len = 0;
        for &l in lengths {
            let l = l as usize;
            if l > MAX_CODE_LEN {
                return Err(format!("code length {l}"));
            }
            if l > 0 {
                count[l] += 1;
                max_len = max_len.max(l);
            }
        }
        let mut symbols = Vec::new();
        for len in 1..=max_len {
            for (s, &l) in lengths.iter().enumerate() {
                if l as usize == len {
                    symbols.push(s as u16);
                }
            }
        }
        match symbols.len() {
            0 => return Err("code table without symbols".into()),
            1 => {
                let len = max_len as u32;
                if len > 15 {
                    return Err("single-symbol code longer than 15 bits".into());
                }
                return Ok(Code {
                    count,
                    single: Some((symbols[0], len)),
                    symbols,
                    max_len,
                });
            }
            _ => {}
        }
        let mut n = 0usize;
        for len in (1..=MAX_CODE_LEN).rev() {
            n += count[len] as usize;
            if n & 1 != 0 {
                return Err("incomplete prefix code".into());
            }
            n >>= 1;
        }
        if n != 1 {
            return Err("over- or under-subscribed prefix code".into());
        }
        Ok(Code {
            count,
            symbols,
            single: None,
            max_len,
        })
    }

    fn decode(&self, bits: &mut Bits) -> Res<u16> {
        if let Some((s, len)) = self.single {
            bits.skip(len);
            return Ok(s);
        }
        let window = bits.peek(MAX_CODE_LEN as u32);
        let (mut code, mut first, mut index) = (0usize, 0usize, 0usize);
        for len in 1..=self.max_len {
            code |= ((window >> (len - 1)) & 1) as usize;
            let count = self.count[len] as usize;
            if code < first + count {
                bits.skip(len as u32);
                return Ok(self.symbols[index + code - first]);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("no codeword matches".into())
    }
}

/// The small table (33 symbols) that codes the code lengths: for each, one
/// bit "same as before", else 3 bits, one more when not below the previous
/// (`HuffmanDecodeLengthTable`).
fn small_table(bits: &mut Bits) -> Res<Code> {
    let mut lengths = [0u8; SMALL_SYMBOLS];
    let mut prev = 4u32;
    for l in lengths.iter_mut() {
        if bits.read(1) == 0 {
            *l = prev as u8;
            continue;
        }
        let mut k = bits.read(3);
        if k >= prev {
            k += 1;
            if k > 8 {
                return Err("small code length above 8".into());
            }
        }
        *l = k as u8;
        prev = k;
    }
    Code::new(&lengths)
}

/// One table of code lengths (`HuffmanDecodeLengthTable`): 3 bits, 0 for
/// the flat code (⌊log2 n⌋ bits for the first 2^(⌊log2 n⌋+1) − n symbols,
/// one more for the rest), 1 for lengths coded with the small table.
fn length_table(bits: &mut Bits, n: usize) -> Res<Vec<u8>> {
    let mut lengths = vec![0u8; n];
    match bits.read(3) {
        0 => {
            let msb = usize::BITS - 1 - n.leading_zeros();
            let short = (1usize << (msb + 1)) - n;
            for (i, l) in lengths.iter_mut().enumerate() {
                *l = if i < short { msb as u8 } else { msb as u8 + 1 };
            }
            return Ok(lengths);
        }
        1 => {}
        k => return Err(format!("unknown code-table coding {k}")),
    }
    let small = small_table(bits)?;
    let (mut i, mut prev) = (0usize, 8u8);
    while i < n {
        match small.decode(bits)? {
            SYM_FILL => loop {
                lengths[i] = 0;
                i += 1;
                if i % FILL_BOUNDARY == 0 || i >= n {
                    break;
                }
            },
            SYM_ZERO_RUN => {
                let run = zero_run(bits, i, n)?;
                i += run; // lengths are already zero
            }
            SYM_PREV => {
                lengths[i] = prev;
                i += 1;
            }
            s @ (SYM_ROW | SYM_ROW_PLUS) => {
                let above = i
                    .checked_sub(FILL_BOUNDARY)
                    .map(|j| lengths[j])
                    .ok_or("row reference in the first row")?;
                let l = above + u8::from(s == SYM_ROW_PLUS);
                if above == 0 || l as usize > MAX_CODE_LEN {
                    return Err(format!("row reference gives length {l}"));
                }
                lengths[i] = l;
                prev = l;
                i += 1;
            }
            s => {
                lengths[i] = s as u8;
                i += 1;
                if s != 0 {
                    prev = s as u8;
                }
            }
        }
    }
    Ok(lengths)
}

/// A run of zero lengths: 2 bits + 5, and while the last field is all ones
/// a further 3 bits; the run stays inside its row of 16.
fn zero_run(bits: &mut Bits, i: usize, n: usize) -> Res<usize> {
    let mut k = bits.read(2) as usize;
    let mut run = k + 5;
    let fits = |run: usize| i + run <= n && (i ^ (i + run)) < FILL_BOUNDARY;
    if k == 3 {
        loop {
            k = bits.read(3) as usize;
            run += k;
            if !fits(run) {
                return Err("zero run past its row".into());
            }
            if k != 7 {
                break;
            }
        }
    }
    if !fits(run) {
        return Err("zero run past its row".into());
    }
    Ok(run)
}

/// Parameters a block header declares.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Params {
    window_log2: u32,
    mtf: usize,
    ptr_min: usize,
    mtf_min: usize,
}

/// One block header, checked as `Xpress9DecoderFetchDecompressedData` does.
struct Header {
    orig_size: usize,
    total_bits: usize,
    table_bits: usize,
    signature: u32,
    index: u32,
    params: Params,
}

fn header(h: &[u8]) -> Res<Header> {
    let w = |i: usize| u32::from_le_bytes([h[4 * i], h[4 * i + 1], h[4 * i + 2], h[4 * i + 3]]);
    if w(0) != MAGIC {
        return Err("bad block magic".into());
    }
    if w(4) != 0 {
        return Err("reserved header word is not 0".into());
    }
    if crc32c(&h[..28]) != w(7) {
        return Err("block header CRC mismatch".into());
    }
    let flags = w(3);
    if flags >> 20 != 0 {
        return Err("reserved flag bits set".into());
    }
    let mtf = (((flags >> 16) & 3) << 1) as usize;
    if mtf > 4 {
        return Err(format!("{mtf} MTF entries"));
    }
    let hd = Header {
        orig_size: w(1) as usize,
        total_bits: w(2) as usize,
        table_bits: (flags & 0x1FFF) as usize,
        signature: w(5),
        index: w(6),
        params: Params {
            window_log2: ((flags >> 13) & 7) + 16,
            mtf,
            ptr_min: ((flags >> 18) & 1) as usize + 3,
            mtf_min: ((flags >> 19) & 1) as usize + 2,
        },
    };
    if hd.total_bits <= hd.table_bits + HEADER_LEN * 8 {
        return Err("block shorter than its header and tables".into());
    }
    Ok(hd)
}

/// Decodes a whole XPRESS9 stream (every block, history carried over) into
/// at most `max_out` bytes.
pub fn decompress(input: &[u8], max_out: usize) -> Res<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0usize;
    let mut first: Option<(u32, Params)> = None;
    let mut index = 0u32;
    while at < input.len() {
        let h = input
            .get(at..at + HEADER_LEN)
            .ok_or("truncated block header")?;
        let hd = header(h)?;
        match first {
            None => first = Some((hd.signature, hd.params)),
            Some((sig, p)) if sig != hd.signature || p != hd.params => {
                return Err("block disagrees with the session's first block".into())
            }
            Some(_) => {}
        }
        if hd.index != index {
            return Err(format!("block index {} where {index} expected", hd.index));
        }
        if hd.orig_size > max_out - out.len() {
            return Err(format!(
                "blocks declare more than the {max_out} bytes allowed"
            ));
        }
        let len = hd.total_bits.div_ceil(8);
        let block = input
            .get(at + HEADER_LEN..at + len)
            .ok_or("block runs past the input")?;
        out.reserve(hd.orig_size);
        block_body(block, &hd, &mut out)?;
        at += len;
        index = index.wrapping_add(1);
    }
    if first.is_none() {
        return Err("empty stream".into());
    }
    Ok(out)
}

/// MTF state at the start of a block (`Xpress9DecodeState`): a "last was a
/// pointer" bit, then per entry 5 bits of msb and msb bits of offset.
struct Mtf {
    last_ptr: bool,
    off: [usize; 4],
}

fn mtf_state(bits: &mut Bits, p: &Params) -> Res<Mtf> {
    let mut m = Mtf {
        last_ptr: false,
        off: [0; 4],
    };
    if p.mtf == 0 {
        return Ok(m);
    }
    m.last_ptr = bits.read(1) != 0;
    for o in m.off.iter_mut().take(p.mtf) {
        let msb = bits.read(5);
        if msb >= p.window_log2 {
            return Err(format!("MTF offset msb {msb}"));
        }
        *o = bits.read(msb) as usize + (1usize << msb);
    }
    Ok(m)
}

/// The body of one block: state, tables, then symbols until the block's
/// size is reached, which must use exactly the bits the header declares.
fn block_body(block: &[u8], hd: &Header, out: &mut Vec<u8>) -> Res<()> {
    let p = &hd.params;
    let mut bits = Bits::new(block);
    let mut mtf = mtf_state(&mut bits, p)?;
    let short = Code::new(&length_table(&mut bits, SHORT_SYMBOLS)?)?;
    let long = Code::new(&length_table(&mut bits, LONG_SYMBOLS)?)?;
    if bits.used != hd.table_bits {
        return Err(format!(
            "tables took {} bits, header says {}",
            bits.used, hd.table_bits
        ));
    }
    let body_bits = hd.total_bits - HEADER_LEN * 8;
    let end = out.len() + hd.orig_size;
    while out.len() < end {
        if bits.used > body_bits {
            return Err("block bit stream overrun".into());
        }
        let sym = short.decode(&mut bits)? as usize;
        if sym < 256 {
            out.push(sym as u8);
            mtf.last_ptr = false;
            continue;
        }
        let (len, offset) = match_of(&mut bits, sym - 256, p, &long, &mut mtf)?;
        let start = out
            .len()
            .checked_sub(offset)
            .ok_or("match before the start of the output")?;
        if len > end - out.len() {
            return Err("match past the end of the block".into());
        }
        for i in start..start + len {
            let b = out[i];
            out.push(b);
        }
    }
    if bits.used != body_bits {
        return Err(format!(
            "block used {} bits, header says {body_bits}",
            bits.used
        ));
    }
    Ok(())
}

/// Length and offset of the match a short symbol (less 256) opens
/// (`Xpress9Lz77Dec`): low 4 bits a length, 15 meaning a long-length
/// symbol follows; the rest a slot, below the MTF count an MTF entry,
/// else the offset's msb with that many bits after.
fn match_of(
    bits: &mut Bits,
    s: usize,
    p: &Params,
    long: &Code,
    mtf: &mut Mtf,
) -> Res<(usize, usize)> {
    let mut len = s & 15;
    let slot = s >> 4;
    if len == 15 {
        len = long.decode(bits)? as usize;
        if len >= LONG_EXTRA_FROM {
            let n = (len - LONG_EXTRA_FROM) as u32;
            len = bits.read(n) as usize + (1usize << n) + LONG_EXTRA_FROM - 1;
        }
        len += 15;
    }
    let offset = if slot < p.mtf {
        len += p.mtf_min;
        mtf_offset(mtf, slot, p.mtf)?
    } else {
        len += p.ptr_min;
        let n = (slot - p.mtf) as u32;
        let o = bits.read(n) as usize + (1usize << n);
        mtf.off.copy_within(0..3, 1);
        mtf.off[0] = o;
        o
    };
    mtf.last_ptr = true;
    Ok((len, offset))
}

/// An MTF match: after a pointer, entry 0 is excluded (the encoder would
/// have extended that match) and symbol k names entry k + 1; otherwise
/// symbol k names entry k. The entry used moves to the front.
fn mtf_offset(mtf: &mut Mtf, slot: usize, count: usize) -> Res<usize> {
    let k = if mtf.last_ptr { slot + 1 } else { slot };
    if k >= count {
        return Err("MTF symbol out of range after a pointer".into());
    }
    let o = mtf.off[k];
    mtf.off.copy_within(0..k, 1);
    mtf.off[0] = o;
    Ok(o)
}

/// A minimal XPRESS9 encoder for tests: one block, flat code tables, no
/// MTF, pointer minimum 3, and greedy matches found by a naive search.
#[cfg(any(test, feature = "test-support"))]
pub fn encode_simple(data: &[u8], with_matches: bool) -> Vec<u8> {
    let mut w = BitWriter::default();
    w.put(0, 3); // short table: flat code
    w.put(0, 3); // long table: flat code
    let table_bits = w.bits;
    let mut i = 0;
    while i < data.len() {
        let (len, off) = if with_matches {
            longest_match(data, i)
        } else {
            (0, 0)
        };
        if len < 3 {
            put_short(&mut w, data[i] as usize);
            i += 1;
            continue;
        }
        let msb = usize::BITS - 1 - off.leading_zeros();
        let l = len - 3;
        put_short(&mut w, 256 + ((msb as usize) << 4) + l.min(15));
        if l >= 15 {
            let ll = l - 15;
            if ll < LONG_EXTRA_FROM {
                w.put_code(ll as u32, 8); // flat code: the symbol, 8 bits
            } else {
                let v = ll - (LONG_EXTRA_FROM - 1);
                let n = usize::BITS - 1 - v.leading_zeros();
                w.put_code((LONG_EXTRA_FROM + n as usize) as u32, 8);
                w.put((v - (1 << n)) as u32, n);
            }
        }
        w.put((off - (1 << msb)) as u32, msb);
        i += len;
    }
    let total_bits = (HEADER_LEN * 8 + w.bits) as u32;
    let mut out = Vec::new();
    for v in [
        MAGIC,
        data.len() as u32,
        total_bits,
        table_bits as u32,
        0,
        0x5EED,
        0,
    ] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let crc = crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&w.finish());
    out
}

/// Naive longest match (offset < 64 KiB, length ≤ 4096) at `i`.
#[cfg(any(test, feature = "test-support"))]
fn longest_match(data: &[u8], i: usize) -> (usize, usize) {
    let mut best = (0, 0);
    for off in 1..=i.min(65535) {
        let mut n = 0;
        while i + n < data.len() && n < 4096 && data[i + n] == data[i + n - off] {
            n += 1;
        }
        if n > best.0 {
            best = (n, off);
        }
    }
    best
}

/// A short symbol under the flat code of 704 symbols: the first 320 take
/// 9 bits (codes 0..320), the rest 10 (codes from 640).
#[cfg(any(test, feature = "test-support"))]
fn put_short(w: &mut BitWriter, s: usize) {
    if s < 320 {
        w.put_code(s as u32, 9);
    } else {
        w.put_code((640 + s - 320) as u32, 10);
    }
}

#[cfg(any(test, feature = "test-support"))]
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    acc: u64,
    n: u32,
    bits: usize,
}

#[cfg(any(test, feature = "test-support"))]
impl BitWriter {
    /// `n` bits of `v`, least significant first.
    fn put(&mut self, v: u32, n: u32) {
        self.acc |= (v as u64) << self.n;
        self.n += n;
        self.bits += n as usize;
        while self.n >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman codeword: most significant bit first.
    fn put_code(&mut self, code: u32, len: u32) {
        for k in (0..len).rev() {
            self.put((code >> k) & 1, 1);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "abcabcabc" as [`encode_simple`] writes it: three literals, then a
    /// match of 6 at offset 3 (short symbol 256 + (1 << 4) + 3, then the
    /// offset's one low bit).
    const ABC3: &str = concat!(
        "2ad7864e", // magic
        "09000000", // 9 bytes
        "2b010000", // 299 bits: 256 header + 6 tables + 3 × 9 + 9 + 1
        "06000000", // flags: 6 table bits, window 2^16, no MTF, minimum 3
        "00000000", // reserved
        "ed5e0000", // session signature
        "00000000", // block 0
        "36d63beb", // CRC-32C of the 28 bytes above
        "0043468c2307"
    );

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn crafted_block_with_a_match() {
        let stream = hex(ABC3);
        assert_eq!(encode_simple(b"abcabcabc", true), stream);
        assert_eq!(decompress(&stream, 100).unwrap(), b"abcabcabc");
        assert!(decompress(&stream, 8).is_err(), "over max_out");
    }

    #[test]
    fn literals_only() {
        for data in [&b"a"[..], b"hello, world", &[0u8, 255, 128, 1]] {
            let s = encode_simple(data, false);
            assert_eq!(decompress(&s, data.len()).unwrap(), data);
        }
    }

    #[test]
    fn matches_short_long_and_extra_bits() {
        let mut data = b"The quick brown fox. ".repeat(3);
        data.extend(std::iter::repeat_n(b'z', 300)); // long length, extra bits
        data.extend((0..=255u8).collect::<Vec<_>>());
        data.extend(std::iter::repeat_n(b'q', 20)); // long length, no extra
        data.extend_from_slice(b"The quick brown fox. ");
        let s = encode_simple(&data, true);
        assert!(s.len() < data.len());
        assert_eq!(decompress(&s, data.len()).unwrap(), data);
    }

    #[test]
    fn two_blocks_share_history() {
        let a = encode_simple(b"abcdefgh", false);
        // A second block of the session: index 1, a match into block 0.
        let mut w = BitWriter::default();
        w.put(0, 3);
        w.put(0, 3);
        put_short(&mut w, 256 + (3 << 4) + 5); // length 8, offset 8 = 2^3
        w.put(0, 3);
        let b = block(8, 6, 1, w);
        let mut s = a.clone();
        s.extend_from_slice(&b);
        assert_eq!(decompress(&s, 16).unwrap(), b"abcdefghabcdefgh");
        assert!(decompress(&s, 15).is_err());
        // The same block alone has no history to copy from.
        assert!(decompress(&b, 16).is_err());
    }

    /// A block header before `w`'s bits (signature 0x5EED).
    fn block(orig: u32, flags: u32, index: u32, w: BitWriter) -> Vec<u8> {
        let bits = (HEADER_LEN * 8 + w.bits) as u32;
        let mut b = Vec::new();
        for v in [MAGIC, orig, bits, flags, 0, 0x5EED, index] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let crc = crc32c(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        b.extend_from_slice(&w.finish());
        b
    }

    /// Two MTF entries (flags bits 16–17 = 1), MTF minimum 2: the state
    /// holds offsets 1 and 2; after a literal slot k is entry k, after a
    /// match entry k + 1; the entry used and every pointer go to the front.
    #[test]
    fn mtf_matches() {
        let mut w = BitWriter::default();
        w.put(0, 1); // last item was not a match
        w.put(0, 5); // entry 0: msb 0 → offset 1
        w.put(1, 5); // entry 1: msb 1 …
        w.put(0, 1); // … + 0 → offset 2
        w.put(0, 3);
        w.put(0, 3);
        let table_bits = w.bits as u32;
        put_short(&mut w, b'a' as usize);
        put_short(&mut w, b'b' as usize);
        put_short(&mut w, 256 + (1 << 4)); // entry 1 (offset 2), length 2: "ab"
        put_short(&mut w, b'c' as usize);
        put_short(&mut w, 256); // after a literal: entry 0 (offset 2): "bc"
        put_short(&mut w, 256 + 1); // after a match: entry 1 (offset 1), 3: "ccc"
        put_short(&mut w, 256 + ((3 + 2) << 4)); // pointer, msb 3 …
        w.put(0, 3); // … offset 8, length 3: "abc"
        let s = block(13, table_bits | (1 << 16), 0, w);
        assert_eq!(decompress(&s, 13).unwrap(), b"ababcbccccabc");
    }

    #[test]
    fn header_checks() {
        let good = hex(ABC3);
        for (at, why) in [(0, "magic"), (16, "reserved"), (28, "crc"), (24, "index")] {
            let mut s = good.clone();
            s[at] ^= 1;
            assert!(decompress(&s, 100).is_err(), "{why}");
        }
        assert!(decompress(&[], 100).is_err());
    }

    #[test]
    fn truncated_and_flipped_streams_never_panic() {
        let data = b"abracadabra, abracadabra, abracadabra!".repeat(4);
        let s = encode_simple(&data, true);
        for len in 0..s.len() {
            assert!(decompress(&s[..len], 1000).is_err(), "truncated to {len}");
        }
        for bit in 0..s.len() * 8 {
            let mut m = s.clone();
            m[bit / 8] ^= 1 << (bit % 8);
            if let Ok(v) = decompress(&m, 200) {
                assert!(v.len() <= 200);
            }
        }
    }

    #[test]
    fn garbage_never_panics() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for n in 0..2000usize {
            let mut g = hex(ABC3);
            g.truncate(32);
            for _ in 0..n % 97 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                g.push(x as u8);
            }
            // A valid header over random bits: sizes and tables vary.
            g[4..8].copy_from_slice(&((n as u32) % 300).to_le_bytes());
            let bits = (g.len() * 8) as u32;
            g[8..12].copy_from_slice(&bits.to_le_bytes());
            g[12..16].copy_from_slice(&((x as u32) & 0x000F_00FF).to_le_bytes());
            let crc = crc32c(&g[..28]);
            g[28..32].copy_from_slice(&crc.to_le_bytes());
            if let Ok(v) = decompress(&g, 300) {
                assert!(v.len() <= 300);
            }
        }
    }
}
