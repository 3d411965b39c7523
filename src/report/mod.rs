//! Serde view models: the documented JSON schema of every mode
//! (`man/eseutil-rs.1`, section JSON OUTPUT).

pub mod checkpoint;
pub mod checksum_scan;
pub mod db;
pub mod dump;
pub mod findings;
pub mod header;
pub mod log_dump;
pub mod plan;
pub mod recovery;
pub mod timeline;
