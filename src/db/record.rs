//! Record (row) decoding: fixed, variable and tagged columns.
//!
//! Layout (`inc/rec.hxx` REC, `inc/tagfld.hxx` TAGFLD): a 4-byte header
//! (u8 fidFixedLastInRec, u8 fidVarLastInRec, u16 ibEndOfFixedData), the
//! fixed columns from offset 4 in column-id order, the fixed-column null
//! bitmap (one bit per fixed column present, set = NULL) ending at
//! ibEndOfFixedData; then one u16 per variable column (ids 128 …
//! fidVarLastInRec) giving the *end* of its value relative to the start of
//! the variable data (bit 15 = NULL); the variable data; and the tagged
//! area: an array of (u16 fid, u16 ib) entries whose first ib / 4 is the
//! entry count, ib masked 0x1FFF on small pages and 0x7FFF on large ones,
//! values ending where the next begins. On small pages bit 0x4000 of ib
//! says the value starts with a flags byte; on large pages it always does.

use crate::error::{FormatError, Jet};
use crate::parse::u16_at;

/// A record, split into its column areas.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    raw: &'a [u8],
    /// Highest fixed column id present.
    pub fixed_last: u8,
    /// Highest variable column id present (127 = none).
    pub var_last: u8,
    ib_end_fixed: usize,
    var_data: usize,
    tagged: usize,
    large: bool,
}

fn bad(off: usize, what: String) -> FormatError {
    FormatError::new(off as u64, Jet::DATABASE_CORRUPTED, what)
}

/// A column's place in a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot<'a> {
    /// Not in the record (beyond the last column it stores).
    Absent,
    /// Stored as NULL.
    Null,
    /// Stored bytes.
    Value(&'a [u8]),
}

/// TAGFLD header flag bits (`inc/tagfld.hxx` TAGFLD_HEADER).
pub const TAGFLD_LONG_VALUE: u8 = 0x01;
/// The value (or its first instance) is compressed.
pub const TAGFLD_COMPRESSED: u8 = 0x02;
/// The value is a LID pointing into the long-value tree.
pub const TAGFLD_SEPARATED: u8 = 0x04;
/// Multi-valued: an array of u16 offsets opens the data.
pub const TAGFLD_MULTI_VALUES: u8 = 0x08;
/// Exactly two values: a size byte then both.
pub const TAGFLD_TWO_VALUES: u8 = 0x10;
/// NULL (large pages).
pub const TAGFLD_NULL: u8 = 0x20;
/// Encrypted.
pub const TAGFLD_ENCRYPTED: u8 = 0x40;

/// Offset bits of a variable column's end offset (`rec.hxx`; the high bit
/// marks NULL).
pub const VAR_OFFSET_MASK: u16 = 0x7FFF;
/// High bit of a variable column's end offset: the column is NULL.
pub const VAR_NULL: u16 = 0x8000;
/// Offset bits of a TAGFLD `ib` on small pages (`inc/tagfld.hxx`).
pub const TAGFLD_IB_MASK_SMALL: u16 = 0x1FFF;
/// Offset bits of a TAGFLD `ib` on large pages.
pub const TAGFLD_IB_MASK_LARGE: u16 = 0x7FFF;
/// Small pages: the value is NULL (`fNullSmallPage`).
pub const TAGFLD_IB_NULL: u16 = 0x2000;
/// Small pages: the value starts with a header byte (`fExtendedInfo`).
pub const TAGFLD_IB_EXTENDED_INFO: u16 = 0x4000;
/// The column is derived from a template table (`fDerived`, tagfld.hxx ~177).
pub const TAGFLD_IB_DERIVED: u16 = 0x8000;

/// One tagged column entry of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaggedField<'a> {
    /// Column id.
    pub fid: u16,
    /// Header byte (TAGFLD_*), 0 when the value has none.
    pub flags: u8,
    /// NULL.
    pub null: bool,
    /// Derived (inherited from a template table).
    pub derived: bool,
    /// The value without its header byte.
    pub data: &'a [u8],
}

impl<'a> Record<'a> {
    /// Splits a record; `large` for 16/32 KiB pages.
    pub fn parse(raw: &'a [u8], large: bool) -> Result<Record<'a>, FormatError> {
        if raw.len() < 4 {
            return Err(bad(
                0,
                format!("record of {} bytes has no header", raw.len()),
            ));
        }
        let fixed_last = raw[0];
        let var_last = raw[1];
        let ib_end_fixed = u16_at(raw, 2) as usize;
        let n_var = (var_last as usize + 1).saturating_sub(128);
        let var_data = ib_end_fixed + 2 * n_var;
        if ib_end_fixed < 4 || var_data > raw.len() {
            return Err(bad(
                2,
                format!("record header: fixed data ends at {ib_end_fixed}, {n_var} variable columns, record is {} bytes", raw.len()),
            ));
        }
        let tagged = if n_var == 0 {
            var_data
        } else {
            var_data + (u16_at(raw, var_data - 2) & VAR_OFFSET_MASK) as usize
        };
        if tagged > raw.len() {
            return Err(bad(
                var_data - 2,
                "variable data runs past the record".into(),
            ));
        }
        Ok(Record {
            raw,
            fixed_last,
            var_last,
            ib_end_fixed,
            var_data,
            tagged,
            large,
        })
    }

    /// Fixed column `fid` (1-based) given the sizes of fixed columns 1, 2, …;
    /// `None` when absent or NULL.
    pub fn fixed(&self, fid: u8, sizes: &[usize]) -> Option<&'a [u8]> {
        if fid == 0 || fid > self.fixed_last || fid as usize > sizes.len() {
            return None;
        }
        let off = 4 + sizes[..fid as usize - 1].iter().sum::<usize>();
        let end = off + sizes[fid as usize - 1];
        let bitmap = self
            .ib_end_fixed
            .checked_sub((self.fixed_last as usize).div_ceil(8))?;
        if end > bitmap {
            return None;
        }
        let i = fid as usize - 1;
        if self.raw.get(bitmap + i / 8)? & (1 << (i % 8)) != 0 {
            return None;
        }
        self.raw.get(off..end)
    }

    /// Variable column `fid` (128 …); `None` when absent or NULL.
    pub fn var(&self, fid: u8) -> Option<&'a [u8]> {
        if fid < 128 || fid > self.var_last {
            return None;
        }
        let i = (fid - 128) as usize;
        let end_raw = u16_at(self.raw, self.ib_end_fixed + 2 * i);
        if end_raw & VAR_NULL != 0 {
            return None;
        }
        let start = if i == 0 {
            0
        } else {
            (u16_at(self.raw, self.ib_end_fixed + 2 * (i - 1)) & VAR_OFFSET_MASK) as usize
        };
        let end = (end_raw & VAR_OFFSET_MASK) as usize;
        if start > end {
            return None;
        }
        self.raw.get(self.var_data + start..self.var_data + end)
    }

    /// Fixed column `fid` at record offset `offset` (the catalog's
    /// RecordOffset, from the record start) of `size` bytes. `Absent` when
    /// the record ends before it (the column was added later), `Null` when
    /// its bit in the null bitmap is set.
    pub fn fixed_at(&self, fid: u8, offset: usize, size: usize) -> Slot<'a> {
        if fid == 0 || fid > self.fixed_last {
            return Slot::Absent;
        }
        let Some(bitmap) = self
            .ib_end_fixed
            .checked_sub((self.fixed_last as usize).div_ceil(8))
        else {
            return Slot::Absent;
        };
        let i = fid as usize - 1;
        match self.raw.get(bitmap + i / 8) {
            Some(b) if b & (1 << (i % 8)) != 0 => Slot::Null,
            _ if offset + size > bitmap => Slot::Absent,
            Some(_) => self
                .raw
                .get(offset..offset + size)
                .map_or(Slot::Absent, Slot::Value),
            None => Slot::Absent,
        }
    }

    /// Variable column `fid` (128 …) as a [`Slot`].
    pub fn var_slot(&self, fid: u8) -> Slot<'a> {
        if fid < 128 || fid > self.var_last {
            return Slot::Absent;
        }
        let i = (fid - 128) as usize;
        if u16_at(self.raw, self.ib_end_fixed + 2 * i) & VAR_NULL != 0 {
            return Slot::Null;
        }
        self.var(fid).map_or(Slot::Absent, Slot::Value)
    }

    /// Offset of the tagged area (the end of the variable data).
    pub fn tagged_start(&self) -> usize {
        self.tagged
    }

    /// The TAGFLD array with each value's header byte decoded
    /// (`inc/tagfld.hxx`: on small pages ib carries 0x2000 fNull, 0x4000
    /// fExtendedInfo and 0x8000 fDerived; on large pages 0x8000 fDerived,
    /// every value has a header byte and fNull is its 0x20 bit).
    pub fn tagged_fields(&self) -> Result<Vec<TaggedField<'a>>, FormatError> {
        let t = &self.raw[self.tagged..];
        if t.is_empty() {
            return Ok(Vec::new());
        }
        if t.len() < 4 {
            return Err(bad(
                self.tagged,
                "tagged area shorter than one entry".into(),
            ));
        }
        let mask = if self.large {
            TAGFLD_IB_MASK_LARGE
        } else {
            TAGFLD_IB_MASK_SMALL
        };
        let first = (u16_at(t, 2) & mask) as usize;
        if first < 4 || first % 4 != 0 || first > t.len() {
            return Err(bad(
                self.tagged + 2,
                format!("tagged area: first offset {first}"),
            ));
        }
        let n = first / 4;
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let fid = u16_at(t, 4 * i);
            let raw_ib = u16_at(t, 4 * i + 2);
            let s = (raw_ib & mask) as usize;
            let e = if i + 1 < n {
                (u16_at(t, 4 * i + 6) & mask) as usize
            } else {
                t.len()
            };
            if s > e || e > t.len() {
                return Err(bad(
                    self.tagged + 4 * i,
                    format!("tagged column {fid}: value {s}..{e} out of order"),
                ));
            }
            let mut v = &t[s..e];
            let has_hdr = self.large || raw_ib & TAGFLD_IB_EXTENDED_INFO != 0;
            let mut flags = 0;
            if has_hdr && !v.is_empty() {
                flags = v[0];
                v = &v[1..];
            }
            let null = if self.large {
                flags & TAGFLD_NULL != 0
            } else {
                raw_ib & TAGFLD_IB_NULL != 0
            };
            out.push(TaggedField {
                fid,
                flags,
                null,
                derived: raw_ib & TAGFLD_IB_DERIVED != 0,
                data: v,
            });
        }
        Ok(out)
    }

    /// Tagged columns as (fid, value without its flags byte).
    pub fn tagged(&self) -> Result<Vec<(u16, &'a [u8])>, FormatError> {
        Ok(self
            .tagged_fields()?
            .into_iter()
            .map(|f| (f.fid, f.data))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_var_tagged() {
        // two fixed (4, 2), one var, one tagged
        let mut r = vec![2u8, 128, 0, 0];
        r.extend_from_slice(&7u32.to_le_bytes());
        r.extend_from_slice(&9u16.to_le_bytes());
        r.push(0); // null bitmap
        let ib = r.len() as u16;
        r[2..4].copy_from_slice(&ib.to_le_bytes());
        r.extend_from_slice(&3u16.to_le_bytes());
        r.extend_from_slice(b"abc");
        r.extend_from_slice(&256u16.to_le_bytes());
        r.extend_from_slice(&4u16.to_le_bytes());
        r.extend_from_slice(b"xy");
        let rec = Record::parse(&r, false).unwrap();
        assert_eq!(rec.fixed(1, &[4, 2]), Some(&7u32.to_le_bytes()[..]));
        assert_eq!(rec.fixed(2, &[4, 2]), Some(&9u16.to_le_bytes()[..]));
        assert_eq!(rec.fixed(3, &[4, 2, 1]), None);
        assert_eq!(rec.var(128), Some(&b"abc"[..]));
        assert_eq!(rec.var(129), None);
        assert_eq!(rec.tagged().unwrap(), vec![(256, &b"xy"[..])]);
        assert!(Record::parse(&[0, 200, 4, 0], false).is_err());
    }
}
