//! eseutil-style text rendering of reports. Rendering never parses: every
//! function here takes decoded values and returns text.

pub mod color;
pub mod db;
pub mod mh;
pub mod mk;
pub mod ml;
pub mod mp;
