//! The bytes of one log record without an allocation of their own: a range
//! of a buffer shared by every record of a generation — the bytes read from
//! the log file for whole records, one side buffer for the records
//! reassembled from fragments. Cloning a record is a reference-count bump;
//! a generation's buffer lives as long as one of its records does.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A record's bytes: `len` bytes at `start` of a shared buffer (none for
/// empty bytes). Dereferences to the bytes; compares and prints as them.
/// 16 bytes: offsets are `u32` (a log file is at most 65535 · 4096 bytes).
#[derive(Clone, Default)]
pub struct RecordBytes {
    buf: Option<Arc<Vec<u8>>>,
    start: u32,
    len: u32,
}

impl RecordBytes {
    /// `len` bytes at `start` of `buf`; empty when the range is not inside
    /// the buffer, or lies beyond 4 GiB.
    pub fn shared(buf: &Arc<Vec<u8>>, start: usize, len: usize) -> RecordBytes {
        let inside = start.checked_add(len).is_some_and(|end| end <= buf.len());
        match (inside && len > 0, u32::try_from(start), u32::try_from(len)) {
            (true, Ok(start), Ok(len)) => RecordBytes {
                buf: Some(buf.clone()),
                start,
                len,
            },
            _ => RecordBytes::default(),
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self
    }

    /// The same bytes in a buffer of their own: for a record kept beyond
    /// its generation, which would otherwise keep the whole buffer alive.
    pub fn detached(&self) -> RecordBytes {
        match &self.buf {
            Some(b) if b.len() != self.len as usize => RecordBytes::from(self.to_vec()),
            _ => self.clone(),
        }
    }

    /// Points the bytes at `buf` (same range): a record placed in a buffer
    /// that was still growing when the record was made.
    pub(crate) fn rebase(&mut self, buf: &Arc<Vec<u8>>) {
        *self = RecordBytes::shared(buf, self.start as usize, self.len as usize);
    }

    /// The range of a record placed in a buffer not shared yet
    /// ([`RecordBytes::rebase`]); reads as empty until then.
    pub(crate) fn pending(start: usize, len: usize) -> RecordBytes {
        match (u32::try_from(start), u32::try_from(len)) {
            (Ok(start), Ok(len)) => RecordBytes {
                buf: None,
                start,
                len,
            },
            _ => RecordBytes::default(),
        }
    }
}

impl Deref for RecordBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.buf {
            Some(b) => {
                let start = self.start as usize;
                b.get(start..start + self.len as usize).unwrap_or(&[])
            }
            None => &[],
        }
    }
}

impl AsRef<[u8]> for RecordBytes {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl From<Vec<u8>> for RecordBytes {
    fn from(v: Vec<u8>) -> RecordBytes {
        let len = v.len();
        RecordBytes::shared(&Arc::new(v), 0, len)
    }
}

impl From<&[u8]> for RecordBytes {
    fn from(b: &[u8]) -> RecordBytes {
        RecordBytes::from(b.to_vec())
    }
}

impl fmt::Debug for RecordBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq for RecordBytes {
    fn eq(&self, o: &RecordBytes) -> bool {
        **self == **o
    }
}

impl Eq for RecordBytes {}

impl PartialEq<[u8]> for RecordBytes {
    fn eq(&self, o: &[u8]) -> bool {
        **self == *o
    }
}

impl PartialEq<&[u8]> for RecordBytes {
    fn eq(&self, o: &&[u8]) -> bool {
        **self == **o
    }
}

impl PartialEq<Vec<u8>> for RecordBytes {
    fn eq(&self, o: &Vec<u8>) -> bool {
        **self == **o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_one_buffer_and_reads_as_its_range() {
        let buf = Arc::new(b"..abc..".to_vec());
        let a = RecordBytes::shared(&buf, 2, 3);
        let b = a.clone();
        assert_eq!(&*a, b"abc");
        assert_eq!(a, b"abc".to_vec());
        assert_eq!(Arc::strong_count(&buf), 3);
        assert_eq!(format!("{b:?}"), format!("{:?}", b"abc"));
        // Detached: same bytes, the shared buffer no longer held.
        let d = a.detached();
        drop((a, b));
        assert_eq!(Arc::strong_count(&buf), 1);
        assert_eq!(d, RecordBytes::from(b"abc".to_vec()));
        // Outside the buffer, or empty: no bytes, no buffer held.
        assert!(RecordBytes::shared(&buf, 6, 2).is_empty());
        assert!(RecordBytes::shared(&buf, usize::MAX, 2).is_empty());
        assert!(RecordBytes::shared(&buf, 1, 0).is_empty());
        assert_eq!(Arc::strong_count(&buf), 1);
    }

    #[test]
    fn pending_reads_empty_until_rebased() {
        let mut p = RecordBytes::pending(1, 2);
        assert!(p.is_empty());
        p.rebase(&Arc::new(vec![1, 2, 3]));
        assert_eq!(&*p, &[2, 3]);
    }

    #[test]
    fn a_record_is_small() {
        assert_eq!(std::mem::size_of::<RecordBytes>(), 16);
        assert_eq!(std::mem::size_of::<super::super::record::LogRecord>(), 40);
    }
}
