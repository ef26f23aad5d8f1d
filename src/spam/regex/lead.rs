//! Patterns that open with an atomic run of one class, run without
//! backtracking.
//!
//! Perl's atomic group `(?>…)` and possessive quantifier `*+` keep what they
//! matched and never give it back. The regex crate has neither, so such a
//! pattern goes to the backtracking engine. One stock rule
//! (`__FILL_THIS_FORM_PARTIAL_RAW`) starts `^(?>\s{0,50})` and continues
//! with hundreds of form words under `/im`. Backtracking it from every line
//! start of a raw body cost about half a millisecond per message that
//! reached it.
//!
//! When the atomic part is a repetition of one byte class at the start of
//! the pattern (or of a line, under `/m`), what it keeps is fixed: from a
//! start, it takes as many bytes of the class as it may, up to its maximum.
//! So a match starts at a line start `s` exactly when the rest of the
//! pattern, a native regex, matches anchored where that run ends. Perl
//! tries the starts in order, and the rest's first match is the one the
//! regex crate's leftmost-first search finds, so the matches and their
//! count are Perl's. Each start costs one anchored search, which is linear
//! in what it reads.
//!
//! ```
//! use filter::spam::regex::{Budget, EngineKind, SetBuilder};
//!
//! let mut b = SetBuilder::new();
//! let (id, kind) = b.add(r"^(?>\s{0,3})\sname", "m").unwrap();
//! assert_eq!(kind, EngineKind::Fallback);
//! let set = b.build();
//! let mut budget = Budget::new(10);
//! // The run keeps every space it can take, three at most, so `\s`
//! // finds one only after exactly four.
//! assert_eq!(set.count(id, b" name\n    name\n     name", 5, &mut budget), 1);
//! assert_eq!(set.count(id, b"   name", 5, &mut budget), 0);
//! ```

use std::ops::Range;

use regex_automata::{Anchored, Input};

use super::Native;
use super::perl::{Assert, ByteSet, Node};

/// `^(?>C{min,max})REST`: see the module docs.
#[derive(Debug)]
pub(crate) struct Lead {
    /// Under `/m`: a start is a line start, not only the text's.
    lines: bool,
    class: ByteSet,
    min: usize,
    max: usize,
    rest: Native,
}

fn ungroup(mut n: &Node) -> &Node {
    while let Node::Group(false, inner) = n {
        n = inner;
    }
    n
}

impl Lead {
    /// The matcher for `node`, when it has the module's shape,
    /// `^(?>C{min,max})REST` (or `C{min,max}+`), and REST is native.
    pub(crate) fn new(node: &Node) -> Option<Lead> {
        let Node::Concat(v) = node else { return None };
        let lines = match v.first()? {
            Node::Assert(Assert::StartLine) => true,
            Node::Assert(Assert::Start) => false,
            _ => return None,
        };
        let run = match v.get(1)? {
            Node::Atomic(n) => ungroup(n),
            n @ Node::Repeat {
                possessive: true, ..
            } => n,
            _ => return None,
        };
        let Node::Repeat {
            node,
            min,
            max,
            greedy: true,
            ..
        } = run
        else {
            return None;
        };
        let Node::Class(class) = ungroup(node) else {
            return None;
        };
        let rest = super::perl::native(&Node::Concat(v[2..].to_vec())).ok()?;
        Some(Lead {
            lines,
            class: *class,
            min: *min as usize,
            max: max.map_or(usize::MAX, |m| m as usize),
            rest: super::native_regex(&rest).ok()?,
        })
    }

    /// The first match that starts at or after `at`.
    fn find(&self, text: &[u8], at: usize) -> Option<Range<usize>> {
        let n = text.len();
        let mut s = at;
        loop {
            if s > 0 {
                // A line start: after a `\n` that is not the last byte.
                if !self.lines {
                    return None;
                }
                if text[s - 1] != b'\n' {
                    s += memchr::memchr(b'\n', &text[s..])? + 1;
                }
                if s >= n {
                    return None;
                }
            }
            let mut q = s;
            while q < n && q - s < self.max && self.class.has(text[q]) {
                q += 1;
            }
            if q - s >= self.min {
                let input = Input::new(text).range(q..).anchored(Anchored::Yes);
                if let Some(m) = self.rest.search(&input) {
                    return Some(s..m.end());
                }
            }
            if s >= n {
                return None;
            }
            s += 1;
        }
    }

    /// Counts Perl's `//g` matches, up to `max`.
    pub(crate) fn count(&self, text: &[u8], max: usize) -> usize {
        let r: Result<usize, ()> = super::count_perl(text.len(), max, |at| Ok(self.find(text, at)));
        r.unwrap_or(0)
    }
}
