//! Spam heuristics: SpamAssassin-compatible rules over a rendered view of
//! the message.
//!
//! (Essay to be written when the pieces land.)

pub mod evals;
pub mod features;
pub mod html;
pub mod regex;
pub mod rules;
pub mod uri;

pub use features::Features;
