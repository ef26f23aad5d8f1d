//! The zero-copy MIME walker.

pub mod address;
pub mod encoded_word;
pub mod params;
