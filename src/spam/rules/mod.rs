//! SpamAssassin rule files: parsed ([`parse`]) into a [`ast::Config`],
//! compiled ([`compile`]) into an immutable [`Rules`], and run ([`eval`])
//! on a message's [`Features`](crate::spam::Features).

pub mod ast;
pub mod compile;
pub mod eval;
pub mod meta;
pub mod parse;

pub use compile::{Rules, ScoreSet};
pub use eval::{DnsPending, Hit, Outcome, Scratch};
pub use parse::Parser;
