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
use super::perl::{self, Node};
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
    /// Compiles the pattern for fancy-regex and, if it compiles natively,
    /// its relaxed pre-check.
    pub fn new(node: &Node) -> Result<Fallback, RegexError> {
        let relaxed = super::native_from_hir(&perl::relaxed_hir(node)).ok();
        Fallback::with_relaxed(node, relaxed)
    }

    /// [`Fallback::new`] with the relaxed pre-check already compiled.
    pub(crate) fn with_relaxed(
        node: &Node,
        relaxed: Option<super::Native>,
    ) -> Result<Fallback, RegexError> {
        let re = RegexBuilder::new(&perl::fancy(node))
            .bytes_mode(BytesMode::Ascii)
            .backtrack_limit(BACKTRACK_LIMIT)
            .seek(seek_is_safe(node))
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

    /// True when the relaxed pre-check rules `text` out (a haystack, or
    /// an [`Input`](regex_automata::Input) whose span must hold any match).
    pub fn ruled_out<'h>(&self, text: impl Into<regex_automata::Input<'h>>) -> bool {
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

/// Whether fancy-regex's seek prefilter (which skips to where a match may
/// start, and makes its runs about three times faster on the stock rules)
/// is exact for `node`. To approximate a backreference it copies the
/// group's pattern, assertions and all, so a word boundary or a
/// look-around there is tested where the copy stands instead of where the
/// group matched, and real matches are skipped: with seek, fancy-regex
/// 0.20 finds nothing for `(\ba)\1` in "aa". Such patterns run without it.
fn seek_is_safe(node: &Node) -> bool {
    let mut groups = Vec::new();
    perl::capture_groups(node, &mut groups);
    !node.any(&mut |n| {
        matches!(n, Node::Backref(g, _)
        if groups.get((*g as usize).wrapping_sub(1)).is_none_or(|body| {
            body.any(&mut |m| matches!(m, Node::Assert(_) | Node::Look(..)))
        }))
    })
}
