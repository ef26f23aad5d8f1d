//! libfilter: an embeddable, sans-IO e-mail scanner.
#![deny(unsafe_code)]
#![deny(missing_docs)]

#[allow(unsafe_code)]
pub mod capi;
pub mod container;
pub mod decode;
pub mod defect;
pub mod engine;
pub mod envelope;
pub mod limits;
pub mod mime;
pub mod report;
pub mod sig;
pub mod sniff;
pub mod spam;
pub mod stats;
pub mod throttle;

pub use defect::Defects;
pub use engine::{BATCH, Engine, EngineBuilder, Scanner};
pub use limits::Limits;
pub use report::{Detection, DetectionKind, Report};
