//! SpamAssassin's eval tests, implemented natively. (Stub: owned by the
//! evals helper.)

use super::Features;
use crate::mime::Message;

/// What an eval test sees.
pub struct EvalCtx<'a, 'm> {
    /// The parsed message.
    pub msg: &'a Message<'m>,
    /// The rendered message.
    pub features: &'a Features,
}

/// A native eval test: the context and the rule's arguments (quotes
/// removed); true when the test hits.
pub type EvalFn = fn(&EvalCtx<'_, '_>, &[String]) -> bool;

/// The native implementation of SpamAssassin eval function `name`, if any.
pub fn lookup(name: &str) -> Option<EvalFn> {
    let _ = name;
    None
}

/// Names of every eval function implemented natively, sorted.
pub fn names() -> &'static [&'static str] {
    &[]
}
