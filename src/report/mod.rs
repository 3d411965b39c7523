//! Serde view models: the documented JSON schema of every mode
//! (`man/eseutil-rs.1`, section JSON OUTPUT).

pub mod db;
pub mod dump;
pub mod findings;
pub mod k;
pub mod mh;
pub mod mk;
pub mod ml;
pub mod plan;
pub mod recovery;
pub mod timeline;
