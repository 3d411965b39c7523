//! ATTACHINFO: the list of attached databases carried by log headers and
//! checkpoints (`inc/log.hxx` ~82–125; `docs/format/logs.md` §4).
//!
//! A sequence of variable-length entries inside a 2048-byte area, ended by an
//! entry whose first byte (dbid) is 0. Each entry is 64 fixed bytes followed by
//! `cbNames` bytes of NUL-terminated path (ANSI, or UTF-16LE when flag 0x20).

use nom::bytes::complete::take;
use nom::number::complete::{le_u16, le_u32, le_u64, le_u8};
use serde::Serialize;

use super::primitives::{lgpos, signature, Lgpos, Signature};
use super::{Input, PResult};

/// Size of the attach area in log and checkpoint headers.
pub const ATTACH_AREA_SIZE: usize = 2048;
/// Fixed part of one entry.
pub const ATTACH_FIXED_SIZE: usize = 64;

/// Flag: names are UTF-16LE.
pub const FLAG_UNICODE: u8 = 0x20;
/// Flag: sparse file.
pub const FLAG_SPARSE: u8 = 0x40;

/// One attached database.
#[doc(alias = "ATTACHINFO")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttachInfo {
    /// Byte offset of the entry inside the attach area.
    pub offset: usize,
    /// Attachment slot.
    pub dbid: u8,
    /// Flags (0x20 Unicode names, 0x40 sparse).
    pub flags: u8,
    /// Database time at attach.
    pub dbtime: u64,
    /// Highest object id.
    pub objid_last: u32,
    /// Maximum database size in pages.
    pub cpg_database_size_max: u32,
    /// Attach position.
    pub lgpos_attach: Lgpos,
    /// Consistent position.
    pub lgpos_consistent: Lgpos,
    /// Database signature.
    pub sign_db: Signature,
    /// Database path as recorded (informational; never used to open files).
    pub path: String,
}

impl AttachInfo {
    /// Whether the sparse flag is set.
    pub fn sparse(&self) -> bool {
        self.flags & FLAG_SPARSE != 0
    }
}

/// Decodes a NUL-terminated name, UTF-16LE or ANSI.
pub fn decode_name(b: &[u8], unicode: bool) -> String {
    if unicode {
        let units: Vec<u16> = b
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        String::from_utf16_lossy(&units)
    } else {
        super::primitives::ansi_z(b)
    }
}

fn entry(offset: usize) -> impl Fn(Input<'_>) -> PResult<'_, AttachInfo> {
    move |i| {
        let (i, dbid) = le_u8(i)?;
        let (i, flags) = le_u8(i)?;
        let (i, cb_names) = le_u16(i)?;
        let (i, dbtime) = le_u64(i)?;
        let (i, objid_last) = le_u32(i)?;
        let (i, cpg_database_size_max) = le_u32(i)?;
        let (i, lgpos_attach) = lgpos(i)?;
        let (i, lgpos_consistent) = lgpos(i)?;
        let (i, sign_db) = signature(i)?;
        let (i, names) = take(cb_names as usize)(i)?;
        let path = decode_name(names, flags & FLAG_UNICODE != 0);
        Ok((
            i,
            AttachInfo {
                offset,
                dbid,
                flags,
                dbtime,
                objid_last,
                cpg_database_size_max,
                lgpos_attach,
                lgpos_consistent,
                sign_db,
                path,
            },
        ))
    }
}

/// Parses the attach list from an attach area (at most 2048 bytes are
/// considered). Returns the entries and, if the list ran past the area or an
/// entry was cut short, the area offset where decoding stopped.
pub fn parse_attach_list(area: &[u8]) -> (Vec<AttachInfo>, Option<usize>) {
    let area = &area[..area.len().min(ATTACH_AREA_SIZE)];
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < area.len() {
        if area[off] == 0 {
            return (out, None);
        }
        match entry(off)(&area[off..]) {
            Ok((rest, e)) => {
                off = area.len() - rest.len();
                out.push(e);
            }
            Err(_) => return (out, Some(off)),
        }
    }
    (out, Some(off))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_entry_then_terminator() {
        let mut a = vec![0u8; 2048];
        a[0] = 1;
        a[1] = FLAG_UNICODE | FLAG_SPARSE;
        let name: Vec<u8> = "C:\\x.edb\0"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        a[2..4].copy_from_slice(&(name.len() as u16).to_le_bytes());
        a[4..12].copy_from_slice(&77u64.to_le_bytes());
        a[64..64 + name.len()].copy_from_slice(&name);
        let (list, err) = parse_attach_list(&a);
        assert_eq!(err, None);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].path, "C:\\x.edb");
        assert_eq!(list[0].dbtime, 77);
        assert!(list[0].sparse());
    }

    #[test]
    fn overlong_name_is_reported_not_panicking() {
        let mut a = vec![0u8; 100];
        a[0] = 1;
        a[2..4].copy_from_slice(&5000u16.to_le_bytes());
        let (list, err) = parse_attach_list(&a);
        assert!(list.is_empty());
        assert_eq!(err, Some(0));
    }
}
