//! libfilter: an embeddable, sans-IO e-mail scanner.
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod decode;
pub mod defect;
pub mod limits;
pub mod mime;
pub mod sniff;

pub use defect::Defects;
pub use limits::Limits;
