//! The hashes taken of inputs, for recovery's evidence and for `--hash`:
//! BLAKE3 by default, SHA-256 on request (`--hash-algorithm sha256`).
//!
//! Why BLAKE3 by default: the hash of a database is one stream that no
//! second core can share, so its speed bounds a recovery's. On the 2-core
//! AMD EPYC of BENCHMARKS.md one core hashes 4.5 GB/s with BLAKE3 against
//! 1.8 GB/s for SHA-256 with SHA-NI (and about 0.5 GB/s on CPUs without
//! SHA-NI), while `cat` of a cached file runs at 6–9 GB/s. Both are
//! cryptographic hashes; `b3sum` and `sha256sum` give the same values.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;
use sha2::Digest as _;

use crate::error::{Error, Result};

/// Which hash is taken of inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// BLAKE3, 256-bit output (as `b3sum` prints it).
    #[default]
    Blake3,
    /// SHA-256 (as `sha256sum` prints it).
    Sha256,
}

impl HashAlgorithm {
    /// Every algorithm, in the order the command line lists them.
    pub const ALL: [HashAlgorithm; 2] = [HashAlgorithm::Blake3, HashAlgorithm::Sha256];

    /// Its name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Blake3 => "blake3",
            HashAlgorithm::Sha256 => "sha256",
        }
    }

    /// A hasher at its start.
    pub fn start(self) -> Hasher {
        match self {
            HashAlgorithm::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
            HashAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
        }
    }

    /// The hash of `bytes`, lower-case hex.
    pub fn of(self, bytes: &[u8]) -> String {
        let mut h = self.start();
        h.update(bytes);
        h.hex()
    }
}

/// A hash being taken.
#[derive(Debug, Clone)]
pub enum Hasher {
    /// BLAKE3 (boxed: its state is ~1.9 KB).
    Blake3(Box<blake3::Hasher>),
    /// SHA-256.
    Sha256(sha2::Sha256),
}

impl Hasher {
    /// Adds `bytes` to what is hashed.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Blake3(h) => {
                h.update(bytes);
            }
            Hasher::Sha256(h) => h.update(bytes),
        }
    }

    /// The digest, lower-case hex.
    pub fn hex(self) -> String {
        match self {
            Hasher::Blake3(h) => h.finalize().to_hex().to_string(),
            Hasher::Sha256(h) => h.finalize().iter().map(|x| format!("{x:02x}")).collect(),
        }
    }

    /// Adds the bytes of the file at `path` from `offset` to its end, 1 MiB
    /// at a time, so that memory stays bounded whatever the file size.
    pub(crate) fn update_from_file(&mut self, path: &Path, offset: u64) -> Result<()> {
        let mut f = super::open_read_only(path)?;
        if offset > 0 {
            f.seek(SeekFrom::Start(offset))
                .map_err(|e| Error::io(path, e))?;
        }
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
            if n == 0 {
                return Ok(());
            }
            self.update(&buf[..n]);
        }
    }
}

/// The hash of a file, lower-case hex.
pub fn hash_file(path: &Path, algorithm: HashAlgorithm) -> Result<String> {
    let mut h = algorithm.start();
    h.update_from_file(path, 0)?;
    Ok(h.hex())
}

/// The hash of a file of `file_size` bytes whose first bytes, `bytes`,
/// were read already: only what was not read is read (usually nothing).
pub fn hash_of_read(
    path: &Path,
    algorithm: HashAlgorithm,
    bytes: &[u8],
    file_size: u64,
) -> Result<String> {
    let mut h = algorithm.start();
    h.update(bytes);
    if file_size > bytes.len() as u64 {
        h.update_from_file(path, bytes.len() as u64)?;
    }
    Ok(h.hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // The empty input: FIPS 180-4's SHA-256 and BLAKE3's reference value.
        assert_eq!(
            HashAlgorithm::Sha256.of(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            HashAlgorithm::Blake3.of(b""),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_eq!(
            HashAlgorithm::Sha256.of(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_file_read_in_part_hashes_as_the_whole() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let bytes: Vec<u8> = (0..3_000_001u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &bytes).unwrap();
        for a in HashAlgorithm::ALL {
            let whole = a.of(&bytes);
            assert_eq!(hash_file(&p, a).unwrap(), whole);
            for head in [0usize, 4096, bytes.len()] {
                let got = hash_of_read(&p, a, &bytes[..head], bytes.len() as u64).unwrap();
                assert_eq!(got, whole, "{a:?} {head}");
            }
        }
    }
}
