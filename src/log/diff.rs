//! The differences a ReplaceD record carries: a list of runs, each a
//! DIFFHDR (or DIFFHDR2) then the run's length(s) and new bytes.
//!
//! Facts (`inc/logapi.hxx` ~16–60, `ErrLGGetAfterImage` in
//! `ese/logdiff.cxx` ~1150; docs/format/log-records.md): DIFFHDR is a u16
//! with the old-data offset in bits 0–12 (`ibOffsetMask` 0x1FFF) and the
//! flags `fReplaceWithSameLength` 0x2000, `fInsert` 0x4000,
//! `fUseTwoBytesForDataLength` 0x8000; DIFFHDR2 (the record's size word has
//! bit 15 set) is a u16 offset then a flag byte holding the same flags
//! shifted down by 8. Then the new length (1 or 2 bytes), the old length
//! unless the run inserts or replaces with the same length, then the new
//! bytes.

/// `DIFFHDR::ibOffsetMask`.
const IB_OFFSET_MASK: u16 = 0x1FFF;
/// `DIFFHDR2::fReplaceWithSameLength` (DIFFHDR's flag >> 8).
const REPLACE_WITH_SAME_LENGTH: u8 = 0x20;
/// `DIFFHDR2::fInsert`.
const INSERT: u8 = 0x40;
/// `DIFFHDR2::fUseTwoBytesForDataLength`.
const TWO_BYTE_LENGTHS: u8 = 0x80;

/// One run: at `offset` in the old data, `old_len` bytes are replaced by
/// `new_bytes` (an insert has `old_len` 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffRun<'a> {
    /// Offset in the old data.
    pub offset: usize,
    /// Old bytes replaced.
    pub old_len: usize,
    /// The new bytes.
    pub new_bytes: &'a [u8],
}

/// Decodes a ReplaceD difference list (`diff2`: DIFFHDR2 headers). Fails
/// with what is wrong when a run is cut short.
pub fn runs(diff: &[u8], diff2: bool) -> Result<Vec<DiffRun<'_>>, &'static str> {
    let mut rd = Reader { b: diff, at: 0 };
    let mut out = Vec::new();
    while rd.at < diff.len() {
        let (offset, flags) = if diff2 {
            let ib = rd.u16().ok_or("truncated DIFFHDR2")?;
            (ib as usize, rd.u8().ok_or("truncated DIFFHDR2")?)
        } else {
            let w = rd.u16().ok_or("truncated DIFFHDR")?;
            ((w & IB_OFFSET_MASK) as usize, (w >> 8) as u8)
        };
        let two = flags & TWO_BYTE_LENGTHS != 0;
        let new_len = rd.len(two).ok_or("truncated length")?;
        let old_len = if flags & INSERT != 0 {
            0
        } else if flags & REPLACE_WITH_SAME_LENGTH != 0 {
            new_len
        } else {
            rd.len(two).ok_or("truncated length")?
        };
        let new_bytes = rd.take(new_len).ok_or("runs past its end")?;
        out.push(DiffRun {
            offset,
            old_len,
            new_bytes,
        });
    }
    Ok(out)
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        let s = self.take(2)?;
        Some(u16::from_le_bytes([s[0], s[1]]))
    }
    fn len(&mut self, two_bytes: bool) -> Option<usize> {
        if two_bytes {
            self.u16().map(usize::from)
        } else {
            self.u8().map(usize::from)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_replace_insert_delete_runs() {
        let mut d = vec![];
        // ib 2, same length, 1-byte length 2: "XY".
        d.extend_from_slice(&(2u16 | 0x2000).to_le_bytes());
        d.extend_from_slice(&[2, b'X', b'Y']);
        // ib 5, insert 1 byte "Z".
        d.extend_from_slice(&(5u16 | 0x4000).to_le_bytes());
        d.extend_from_slice(&[1, b'Z']);
        // ib 6, new 0, old 1.
        d.extend_from_slice(&6u16.to_le_bytes());
        d.extend_from_slice(&[0, 1]);
        let r = runs(&d, false).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(
            (r[0].offset, r[0].old_len, r[0].new_bytes),
            (2, 2, &b"XY"[..])
        );
        assert_eq!((r[1].offset, r[1].old_len), (5, 0));
        assert_eq!((r[2].offset, r[2].old_len, r[2].new_bytes.len()), (6, 1, 0));
        assert!(runs(&d[..d.len() - 1], false).is_err());
        assert!(runs(&[1], true).is_err());
    }
}
