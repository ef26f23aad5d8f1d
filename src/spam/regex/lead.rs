//! Patterns that open with what the regex crate cannot write, run
//! without backtracking.
//!
//! **Atomic runs.** Perl's atomic group `(?>…)` and possessive quantifier
//! `*+` keep what they matched and never give it back. The regex crate has
//! neither, so such a pattern goes to the backtracking engine. One stock
//! rule (`__FILL_THIS_FORM_PARTIAL_RAW`) starts `^(?>\s{0,50})` and
//! continues with hundreds of form words under `/im`. Backtracking it from
//! every line start of a raw body cost about half a millisecond per
//! message that reached it.
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
//!
//! **Leading look-aheads** (`Ahead`). A pattern that opens with
//! look-aheads, `(?!phentermine)` before forty look-alike spellings of
//! the word, or `^(?=[^@]+@gmail\.com)` before a list of hundreds of
//! names, is a native regex (the rest) tested at each place it could
//! start. A look-ahead consumes nothing, so the pattern matches at `s`
//! exactly when the rest matches there and each look-ahead's body does
//! (or, negated, does not) match anchored at `s`; the match is the
//! rest's. Perl takes the first start where that holds, and the starts
//! where the rest matches come one by one from its leftmost-first
//! search, each with the match Perl's backtracking would find. The stock
//! rules have 50 such patterns; compiling them for the backtracking
//! engine took about a quarter of loading the stock rules (130 ms), far
//! more than their two or three native regexes each.
//!
//! ```
//! use filter::spam::regex::{Budget, SetBuilder};
//!
//! let mut b = SetBuilder::new();
//! let (id, _) = b.add(r"\b(?!free)fr[e3]{2}\b", "i").unwrap();
//! let set = b.build();
//! let mut budget = Budget::new(10);
//! // The plain word is not a look-alike; its spellings with a 3 are.
//! assert_eq!(set.count(id, b"FREE fr33 and fre3", 5, &mut budget), 2);
//! assert_eq!(budget.left, 10);
//! ```

use std::ops::Range;

use regex_automata::{Anchored, Input};

use super::Native;
use super::fallback::{Exhausted, SPLIT_WORK, SPLIT_WORK_PER_BYTE};
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

/// `(?=X)(?!Y)…REST`: a pattern that opens with look-aheads (and position
/// tests), each with a native body, before a native rest. See the module
/// docs.
#[derive(Debug)]
pub(crate) struct Ahead {
    /// Per look-ahead: negated, its body, and the longest match of the
    /// body when bounded (the search for it reads no further).
    looks: Vec<(bool, Native, Option<usize>)>,
    rest: Native,
}

impl Ahead {
    /// The matcher for `node` when it has the shape, with the rest's
    /// syntax tree and required strings (which the prefilter and the
    /// whole-text form read: every match of the pattern is one of the
    /// rest). `short` as for [`super::native_for`].
    pub(crate) fn new(
        node: &Node,
        short: bool,
    ) -> Option<(Ahead, regex_syntax::hir::Hir, super::prefilter::Required)> {
        let v = match ungroup(node) {
            Node::Concat(v) => v.as_slice(),
            _ => return None,
        };
        let mut looks = Vec::new();
        // Position tests before the rest or between the look-aheads hold
        // at the same place as the look-aheads: they stay in the rest.
        let mut rest = Vec::new();
        let mut i = 0;
        while let Some(n) = v.get(i) {
            match ungroup(n) {
                Node::Look(false, negated, body) => {
                    let hir = super::perl::native_hir(body).ok()?;
                    let longest = hir.properties().maximum_len();
                    // Only ever run anchored: nothing to skip to.
                    let re = super::native_with(&hir, super::Skip::Never).ok()?;
                    looks.push((*negated, re, longest));
                }
                Node::Assert(a) if *a != Assert::Continue => rest.push(n.clone()),
                _ => break,
            }
            i += 1;
        }
        if looks.is_empty() {
            return None;
        }
        rest.extend_from_slice(&v[i..]);
        let hir = super::perl::native_hir(&Node::Concat(rest)).ok()?;
        let req = super::prefilter::Required::of(&hir);
        let rest = super::native_for(&hir, &req, short).ok()?;
        Some((Ahead { looks, rest }, hir, req))
    }

    /// The rest's regex.
    pub(crate) fn rest(&self) -> &Native {
        &self.rest
    }

    /// Whether every look-ahead holds at `s`.
    fn looks_hold(&self, text: &[u8], s: usize, work: &mut u64) -> bool {
        self.looks.iter().all(|(negated, re, longest)| {
            let end = longest.map_or(text.len(), |l| s.saturating_add(l).min(text.len()));
            *work = work.saturating_add((end - s) as u64);
            let input = Input::new(text).range(s..end).anchored(Anchored::Yes);
            re.is_match(input) != *negated
        })
    }

    /// The first match that starts at or after `at` and ends by `end`;
    /// `work` counts the bytes read, roughly.
    fn find(
        &self,
        text: &[u8],
        at: usize,
        end: usize,
        work: &mut u64,
        limit: u64,
    ) -> Result<Option<Range<usize>>, Exhausted> {
        let mut s = at;
        while s <= end {
            let Some(m) = self.rest.search(&Input::new(text).range(s..end)) else {
                return Ok(None);
            };
            *work = work.saturating_add((m.end() - s) as u64);
            if self.looks_hold(text, m.start(), work) {
                return Ok(Some(m.range()));
            }
            if *work > limit {
                return Err(Exhausted);
            }
            s = m.start() + 1;
        }
        Ok(None)
    }

    /// Counts Perl's `//g` matches, up to `max`, among those inside
    /// `span`: for a yes/no question (`max` 1) only a match there counts;
    /// otherwise `span` is the whole text. A run that reads more than the
    /// split engine's work limit ([`SPLIT_WORK`]) gives up.
    pub(crate) fn count(
        &self,
        text: &[u8],
        span: Range<usize>,
        max: usize,
    ) -> Result<usize, Exhausted> {
        let limit =
            SPLIT_WORK.saturating_add(SPLIT_WORK_PER_BYTE.saturating_mul(text.len() as u64));
        let mut work = 0u64;
        let end = span.end.min(text.len());
        super::count_perl(end, max, |at| {
            self.find(text, at.max(span.start), end, &mut work, limit)
        })
    }
}
