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
//! A yes/no question (a count up to one) on a pattern of a shape the
//! [`split`](super::split) engine knows is answered by that engine first,
//! in about linear time; only when its work limit runs out does the
//! backtracking engine answer instead.
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
use super::split::Split;

/// Backtracking steps allowed per search.
pub const BACKTRACK_LIMIT: usize = 50_000;

/// Work units a split-engine run may spend: this plus
/// [`SPLIT_WORK_PER_BYTE`] per byte of text.
pub const SPLIT_WORK: u64 = 100_000;
/// See [`SPLIT_WORK`].
pub const SPLIT_WORK_PER_BYTE: u64 = 64;

/// A compiled fallback pattern.
#[derive(Debug)]
pub struct Fallback {
    re: fancy_regex::Regex,
    relaxed: Option<super::Native>,
    split: Option<Split>,
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted;

impl Fallback {
    /// Compiles the fancy-regex pattern and, if it compiles natively, the
    /// relaxed pre-check.
    pub fn new(fancy: &str, relaxed: &str) -> Result<Fallback, RegexError> {
        let relaxed = super::parse_native(relaxed)
            .ok()
            .and_then(|h| super::native_from_hir(&h).ok());
        Fallback::with_relaxed(fancy, relaxed)
    }

    /// [`Fallback::new`] with the relaxed pre-check already compiled.
    pub(crate) fn with_relaxed(
        fancy: &str,
        relaxed: Option<super::Native>,
    ) -> Result<Fallback, RegexError> {
        let re = RegexBuilder::new(fancy)
            .bytes_mode(BytesMode::Ascii)
            .backtrack_limit(BACKTRACK_LIMIT)
            .seek(true)
            .delegate_size_limit(super::SIZE_LIMIT)
            .build()
            .map_err(|e| RegexError::Unsupported(format!("fallback engine: {e}")))?;
        Ok(Fallback {
            re,
            relaxed,
            split: None,
        })
    }

    /// Adds the split engine for yes/no questions.
    pub fn with_split(mut self, split: Option<Split>) -> Fallback {
        self.split = split;
        self
    }

    /// True when yes/no questions go to the split engine.
    pub fn has_split(&self) -> bool {
        self.split.is_some()
    }

    /// The relaxed pre-check, when it compiled.
    pub(crate) fn relaxed(&self) -> Option<&super::Native> {
        self.relaxed.as_ref()
    }

    /// True when the relaxed pre-check rules `text` out.
    pub fn ruled_out(&self, text: &[u8]) -> bool {
        self.relaxed.as_ref().is_some_and(|r| !r.is_match(text))
    }

    /// Counts non-overlapping matches up to `max`.
    pub fn count(&self, text: &[u8], max: usize) -> Result<usize, Exhausted> {
        if max == 1
            && let Some(split) = &self.split
        {
            let work =
                SPLIT_WORK.saturating_add(SPLIT_WORK_PER_BYTE.saturating_mul(text.len() as u64));
            if let Ok(hit) = split.is_match(text, work) {
                return Ok(usize::from(hit));
            }
        }
        super::count_perl(text.len(), max, |at| {
            self.re
                .find_from_pos(text, at)
                .map(|m| m.map(|m| m.range()))
                .map_err(|_| Exhausted)
        })
    }
}
