//! The bounded backtracking engine for what the regex crate cannot do.
//!
//! Look-around, backreferences, atomic groups, possessive quantifiers, `\K`
//! and `\G` go to fancy-regex in its ASCII bytes mode, where `.` and `\xHH`
//! are single bytes and `\w`, `\s`, `\d`, `\b` are ASCII, as SpamAssassin's
//! `/aa` makes them. Backtracking is exponential in the worst case, so every
//! run has a backtrack limit and the caller's [`Budget`](super::Budget)
//! limits how many runs a message may cost.
//!
//! Before a run, a *relaxed* native regex (the same pattern with
//! look-around dropped, backreferences widened to "anything" and atomic
//! groups made plain) must match: it accepts a superset of the texts, takes
//! linear time and so turns away most texts without any backtracking.
//!
//! ```
//! use filter::spam::regex::{Budget, EngineKind, SetBuilder};
//! let mut b = SetBuilder::new();
//! let (id, kind) = b.add(r"(\w)\1\1", "").unwrap();
//! assert_eq!(kind, EngineKind::Fallback);
//! let set = b.build();
//! let mut budget = Budget::new(10);
//! assert_eq!(set.count(id, b"aaa bbb cc", 5, &mut budget), 2);
//! assert_eq!(budget.left, 9);
//! ```

use fancy_regex::{BytesMode, RegexBuilder};

use super::RegexError;

/// Backtracking steps allowed per search.
pub const BACKTRACK_LIMIT: usize = 50_000;

/// A compiled fallback pattern.
#[derive(Debug)]
pub struct Fallback {
    re: fancy_regex::Regex,
    relaxed: Option<regex::bytes::Regex>,
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

impl Fallback {
    /// Compiles the fancy-regex pattern and, if it compiles natively, the
    /// relaxed pre-check.
    pub fn new(fancy: &str, relaxed: &str) -> Result<Fallback, RegexError> {
        let re = RegexBuilder::new(fancy)
            .bytes_mode(BytesMode::Ascii)
            .backtrack_limit(BACKTRACK_LIMIT)
            .seek(true)
            .delegate_size_limit(super::SIZE_LIMIT)
            .build()
            .map_err(|e| RegexError::Unsupported(format!("fallback engine: {e}")))?;
        let relaxed = super::native_regex(relaxed).ok();
        Ok(Fallback { re, relaxed })
    }

    /// True when the relaxed pre-check rules `text` out.
    pub fn ruled_out(&self, text: &[u8]) -> bool {
        self.relaxed.as_ref().is_some_and(|r| !r.is_match(text))
    }

    /// Counts non-overlapping matches up to `max`.
    pub fn count(&self, text: &[u8], max: usize) -> Result<usize, Exhausted> {
        super::count_perl(text.len(), max, |at| {
            self.re
                .find_from_pos(text, at)
                .map(|m| m.map(|m| m.range()))
                .map_err(|_| Exhausted)
        })
    }
}
