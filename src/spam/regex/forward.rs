//! A lazy DFA that only reads forwards, for patterns whose matches are
//! never asked where they start.
//!
//! The regex crate's meta engine compiles every pattern twice: forwards,
//! and backwards to find where a match starts once its end is known. A
//! line rule with required strings never asks for a start. Its yes/no
//! questions (in windows around its strings, see `Set::is_match_near`)
//! only need to know whether the forward scan meets a match state, and
//! counting matches the way Perl does (`tflags multiple`) only needs each
//! match's end, where the next search begins, as long as no match is
//! empty. For those patterns one forward NFA without capture states is
//! enough: on the stock rules it costs a third of what the meta engine's
//! build does, and the searches are the same lazy DFA's.
//!
//! The DFA never gives up (no cache-clear limit, no quit bytes: the
//! patterns are byte-oriented, with ASCII `\b`), so the search cannot
//! fail; were it to, a PikeVM over the same NFA answers instead.
//!
//! Sets for short texts (header values, body lines) compile their
//! patterns with required strings and bounded, non-empty matches this way;
//! the answers are the meta engine's:
//!
//! ```
//! use filter::spam::regex::{Budget, SetBuilder};
//! let mut b = SetBuilder::new();
//! let (id, _) = b.add(r"\bmoney\s?back\b", "i").unwrap();
//! let set = b.build();
//! let mut budget = Budget::new(10);
//! assert_eq!(set.count(id, b"Money back! money  back, moneyback", 5, &mut budget), 2);
//! ```

use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson::{self, pikevm::PikeVM};
use regex_automata::util::pool::Pool;
use regex_automata::util::prefilter::Prefilter;
use regex_automata::{Anchored, Input};
use regex_syntax::hir::{Hir, Look};

type MakeCache =
    Box<dyn Fn() -> Cache + Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>;

/// A pattern compiled forwards only.
pub(crate) struct Forward {
    dfa: DFA,
    caches: Pool<Cache, MakeCache>,
    /// Answers if the DFA ever cannot.
    vm: PikeVM,
    /// The shortest match.
    min_len: usize,
    /// Whether every match starts at the start of the text (`\A`).
    at_start: bool,
    /// Whether every match ends at the end of the text (`\z`).
    at_end: bool,
}

impl std::fmt::Debug for Forward {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forward").finish_non_exhaustive()
    }
}

impl Forward {
    /// Compiles `hir` under the module's size limits, skipping ahead with
    /// `pre` (which must be sound: every match starts where it finds a
    /// candidate); `None` when a match may be empty (counting would need
    /// its start), when the meta engine would search it backwards from the
    /// end of the text (every match ends there, `\z`, and not every match
    /// starts at the start), or when the pattern does not build.
    pub(crate) fn new(hir: &Hir, pre: Option<Prefilter>) -> Option<Forward> {
        let props = hir.properties();
        let min_len = props.minimum_len().filter(|&n| n > 0)?;
        let at_start = props.look_set_prefix().contains(Look::Start);
        let at_end = props.look_set_suffix().contains(Look::End);
        if at_end && !at_start {
            return None;
        }
        let dfa = lazy_dfa(hir, pre)?;
        let vm = PikeVM::new_from_nfa(dfa.get_nfa().clone()).ok()?;
        let for_caches = dfa.clone();
        let make: MakeCache = Box::new(move || for_caches.create_cache());
        Some(Forward {
            dfa,
            caches: Pool::new(make),
            vm,
            min_len,
            at_start,
            at_end,
        })
    }

    /// True when no match can lie in `input`'s span, by its length and
    /// where it starts alone (as the meta engine checks before a search).
    fn impossible(&self, input: &Input<'_>) -> bool {
        input.get_span().len() < self.min_len
            || self.at_start && input.start() > 0
            || self.at_end && input.end() < input.haystack().len()
    }

    /// Whether a match lies in `input`'s span.
    pub(crate) fn is_match(&self, input: Input<'_>) -> bool {
        if self.impossible(&input) {
            return false;
        }
        let input = input.earliest(true);
        let found = self.dfa.try_search_fwd(&mut self.caches.get(), &input);
        match found {
            Ok(m) => m.is_some(),
            Err(_) => self.vm.is_match(&mut self.vm.create_cache(), input),
        }
    }

    /// Where the leftmost-first match in `input`'s span ends.
    fn end(&self, input: &Input<'_>) -> Option<usize> {
        if self.impossible(input) {
            return None;
        }
        match self.dfa.try_search_fwd(&mut self.caches.get(), input) {
            Ok(m) => m.map(|m| m.offset()),
            Err(_) => {
                let mut cache = self.vm.create_cache();
                self.vm.find(&mut cache, input.clone()).map(|m| m.end())
            }
        }
    }

    /// Non-overlapping matches in `text`, counted up to `max` as Perl
    /// counts them: each search starts where the last match ended (never
    /// where it started, since no match is empty).
    pub(crate) fn count(&self, text: &[u8], max: usize) -> usize {
        let mut n = 0;
        let mut at = 0;
        while n < max && at <= text.len() {
            let input = Input::new(text).range(at..);
            let Some(end) = self.end(&input) else { break };
            n += 1;
            at = end.max(at + 1);
        }
        n
    }

    /// A match anchored at the start of `input`'s span.
    pub(crate) fn is_match_anchored(&self, input: Input<'_>) -> bool {
        self.is_match(input.anchored(Anchored::Yes))
    }

    /// The lazy DFA, for [`Starts`](super::starts::Starts) to share.
    pub(crate) fn dfa(&self) -> &DFA {
        &self.dfa
    }

    /// Heap bytes of the compiled pattern (not of its caches).
    pub(crate) fn memory_usage(&self) -> usize {
        self.dfa.memory_usage() + self.vm.get_nfa().memory_usage()
    }
}

/// A forward lazy DFA of `hir` under the module's size limits: one
/// Thompson NFA without capture states, skipping ahead with `pre` in
/// unanchored searches. [`Forward`] searches it, and
/// [`Starts`](super::starts::Starts) runs its anchored attempts on it.
pub(crate) fn lazy_dfa(hir: &Hir, pre: Option<Prefilter>) -> Option<DFA> {
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .utf8(false)
                .nfa_size_limit(Some(super::SIZE_LIMIT))
                .which_captures(thompson::WhichCaptures::None),
        )
        .build_from_hir(hir)
        .ok()?;
    DFA::builder()
        .configure(
            DFA::config()
                .cache_capacity(super::DFA_SIZE_LIMIT)
                .prefilter(pre),
        )
        .build_from_nfa(nfa)
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hir(p: &str) -> Hir {
        super::super::parse_native(p).unwrap()
    }

    /// Patterns that may match empty, or that the meta engine would read
    /// backwards from the end, have no forward-only form.
    #[test]
    fn empty_matches_keep_the_meta_engine() {
        assert!(Forward::new(&hir("a*"), None).is_none());
        assert!(Forward::new(&hir(r"\b"), None).is_none());
        assert!(Forward::new(&hir("a+"), None).is_some());
        // Every match ends the text and not every match starts it: the
        // meta engine reads such a pattern backwards from the end.
        assert!(Forward::new(&hir(r"a+\z"), None).is_none());
        assert!(Forward::new(&hir(r"\Aa+\z"), None).is_some());
    }

    proptest! {
        /// Yes/no answers (anchored or not, over any span) and Perl-style
        /// counts agree with the meta engine's, which finds starts too,
        /// with and without a prefilter of the pattern's prefixes.
        #[test]
        fn forward_answers_as_the_meta_engine(
            pat in prop::sample::select(vec![
                r"ab", r"a+b", r"(?i)ab\b", r"\bab?c", r"(?m)^a.b$", r"a(?:b|bc)",
                r"(?:ab|a)(?:c|bcd)", r"[ab]{2,3}", r"\x80a", r"a\s+b", r"(?s)a.{0,3}c",
                r"\Aab?", r"(?m)^bc", r"\Ac\z", r"(?:\Aa|b)c",
            ]),
            text in "[abc \n\u{80}]{0,24}",
            from in 0usize..26,
            to in 0usize..26,
            max in 1usize..6,
            skip in any::<bool>(),
        ) {
            let h = hir(pat);
            let pre = if skip { super::super::prefixes(&h).0 } else { None };
            let f = Forward::new(&h, pre).unwrap();
            let m = super::super::native_from_hir(&h).unwrap();
            let text = text.as_bytes();
            let (from, to) = (from.min(text.len()), to.min(text.len()));
            let (from, to) = (from.min(to), from.max(to));
            let input = || Input::new(text).range(from..to);
            prop_assert_eq!(f.is_match(input()), m.is_match(input()));
            prop_assert_eq!(
                f.is_match_anchored(input()),
                m.is_match(input().anchored(Anchored::Yes))
            );
            let counted = super::super::count_perl(text.len(), max, |at| {
                Ok::<_, ()>(m.find(Input::new(text).range(at..)).map(|m| m.range()))
            });
            prop_assert_eq!(Ok(f.count(text, max)), counted);
        }
    }
}
