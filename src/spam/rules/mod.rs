//! SpamAssassin rule files: parsed ([`parse`]) into a [`ast::Config`],
//! compiled ([`compile`]) into an immutable rule set, and evaluated
//! ([`eval`]) on a message's [`Features`](crate::spam::Features).

pub mod ast;
pub mod parse;
