//! One match attempt at a time, for patterns whose DFA never settles.
//!
//! An unanchored lazy DFA follows every match attempt at once. Its state is
//! the set of places, across all the attempts under way, that the text read
//! so far may have reached. For most patterns these sets are few and recur,
//! so after a few messages every state is cached and a search costs a table
//! lookup per byte. A pattern like SpamAssassin's `__FILL_THIS_FORM_LONG2`
//! is different. It asks for five form fields in a row, each an alternation
//! of hundreds of words, and on a line full of form words the attempts
//! overlap in ever new combinations. Nearly every byte then builds a new
//! state, and each state of such a pattern holds thousands of NFA states.
//!
//! Anchored at one position, the same DFA follows one attempt. Its states
//! are the prefixes of the pattern the text can reach from there. They
//! recur from message to message and stay cached, and most attempts die
//! within a byte or two. `Starts` tries each position in turn. On the
//! form lines that pass a pattern's [`CountGate`](super::prefilter::CountGate),
//! this costs about a third less than the unanchored search.
//!
//! A line made of one long partial match would make this quadratic. So
//! the attempts share a budget of [`STEPS_PER_BYTE`] steps per byte of the
//! text (plus [`STEPS`]). When it runs out, `Starts::is_match` gives
//! up, and the caller runs the unanchored search, which is linear.
//!
//! The set uses it for yes/no questions on the patterns that have a count
//! gate:
//!
//! ```
//! use filter::spam::regex::{Budget, SetBuilder};
//!
//! let mut b = SetBuilder::new();
//! let (form, _) = b.add(r"(?:(?:your\s)?(?:name|city|phone)[:,]?\s*){3}", "i").unwrap();
//! let set = b.build();
//! let mut budget = Budget::new(10);
//! assert_eq!(set.count(form, b"Send us your name, your city, phone:", 1, &mut budget), 1);
//! assert_eq!(set.count(form, b"name, city and no phone", 1, &mut budget), 0);
//! ```

use regex_automata::Anchored;
use regex_automata::hybrid::LazyStateID;
use regex_automata::hybrid::dfa::{Cache, DFA};
use regex_automata::nfa::thompson;
use regex_automata::util::pool::Pool;
use regex_automata::util::start;
use regex_syntax::hir::Hir;

/// Steps the attempts on one text may take per byte of it.
pub const STEPS_PER_BYTE: usize = 16;
/// Steps they may take on any text.
pub const STEPS: usize = 256;

type MakeCache =
    Box<dyn Fn() -> Cache + Send + Sync + std::panic::UnwindSafe + std::panic::RefUnwindSafe>;

/// A lazy DFA run anchored at each position of a text.
pub(crate) struct Starts {
    dfa: DFA,
    caches: Pool<Cache, MakeCache>,
}

impl std::fmt::Debug for Starts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Starts").finish_non_exhaustive()
    }
}

impl Starts {
    /// Compiles `hir` under the module's size limits; `None` when it is too
    /// large.
    pub(crate) fn new(hir: &Hir) -> Option<Starts> {
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .nfa_size_limit(Some(super::SIZE_LIMIT))
                    .which_captures(thompson::WhichCaptures::None),
            )
            .build_from_hir(hir)
            .ok()?;
        let dfa = DFA::builder()
            .configure(DFA::config().cache_capacity(super::DFA_SIZE_LIMIT))
            .build_from_nfa(nfa)
            .ok()?;
        let for_caches = dfa.clone();
        let make: MakeCache = Box::new(move || for_caches.create_cache());
        Some(Starts {
            dfa,
            caches: Pool::new(make),
        })
    }

    /// Whether the pattern matches somewhere in `text`, or `None` when the
    /// budget ran out or the DFA could not go on (a byte it must quit on, a
    /// cache too small): then only the unanchored search can tell.
    pub(crate) fn is_match(&self, text: &[u8]) -> Option<bool> {
        let mut cache = self.caches.get();
        let dfa = &self.dfa;
        let mut steps = STEPS_PER_BYTE
            .saturating_mul(text.len())
            .saturating_add(STEPS);
        // The start state depends only on the byte before the attempt (for
        // `\b` and `^`), so it is looked up once per distinct byte, not at
        // every position; slot 256 is the start of the text. Clearing the
        // cache invalidates the remembered states.
        let mut first = [None::<LazyStateID>; 257];
        let mut clears = cache.clear_count();
        for start in 0..=text.len() {
            if cache.clear_count() != clears {
                first = [None; 257];
                clears = cache.clear_count();
            }
            let behind = start.checked_sub(1).map(|i| text[i]);
            let slot = behind.map_or(256, usize::from);
            let mut sid = match first[slot] {
                Some(sid) => sid,
                None => {
                    let config = start::Config::new()
                        .anchored(Anchored::Yes)
                        .look_behind(behind);
                    let sid = dfa.start_state(&mut cache, &config).ok()?;
                    first[slot] = Some(sid);
                    sid
                }
            };
            // A lazy DFA reports a match one byte late: a match state
            // after byte `i` means a match ended before it.
            for &b in &text[start..] {
                steps = steps.checked_sub(1)?;
                sid = dfa.next_state(&mut cache, sid, b).ok()?;
                if sid.is_tagged() {
                    if sid.is_match() {
                        return Some(true);
                    }
                    if sid.is_dead() {
                        break;
                    }
                    if sid.is_quit() {
                        return None;
                    }
                }
            }
            if !sid.is_dead() && dfa.next_eoi_state(&mut cache, sid).ok()?.is_match() {
                return Some(true);
            }
        }
        Some(false)
    }
}
