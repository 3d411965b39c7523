//! The log position (LGPOS), a base type shared by every layer (the error
//! type names the position of a record redo refused). Parsed by
//! `parse::primitives::lgpos`, which re-exports it.

use serde::ser::{Serialize, SerializeStruct, Serializer};

/// LGPOS: a position in the log stream (`inc/daedef.hxx` ~871): u16 byte
/// offset, u16 sector (7.x) or segment (8.x) index, i32 generation. Ordered as
/// (generation, sector, offset).
#[doc(alias = "LGPOS")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub struct Lgpos {
    /// Log generation (signed on disk).
    pub generation: i32,
    /// Sector (7.x) or 4 KiB segment (8.x) index in the file.
    pub sector: u16,
    /// Byte offset inside the sector/segment.
    pub offset: u16,
}

impl Lgpos {
    /// Size on disk.
    pub const SIZE: usize = 8;

    /// eseutil's rendering `(0x%X,%X,%X)`.
    pub fn eseutil_text(&self) -> String {
        format!(
            "(0x{:X},{:X},{:X})",
            self.generation as u32, self.sector, self.offset
        )
    }

    /// The variant `(0x%x,%X,%X)` (lower-case generation) that `/ml` prints
    /// after "Last Lgpos:" (`ese/_log/logdump.cxx`, docs/format/eseutil-output.md §1).
    pub fn eseutil_last_lgpos_text(&self) -> String {
        format!(
            "(0x{:x},{:X},{:X})",
            self.generation as u32, self.sector, self.offset
        )
    }

    /// Whether all fields are zero.
    pub fn is_zero(&self) -> bool {
        *self == Lgpos::default()
    }
}

impl Serialize for Lgpos {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Lgpos", 4)?;
        st.serialize_field("generation", &self.generation)?;
        st.serialize_field("sector", &self.sector)?;
        st.serialize_field("offset", &self.offset)?;
        st.serialize_field("eseutil", &self.eseutil_text())?;
        st.end()
    }
}
