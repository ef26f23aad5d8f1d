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
//! within a byte or two. `Starts` tries each position in turn, skipping
//! those whose first two bytes no attempt can read (see `pairs`). On the
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
    /// Bit `a << 8 | b` of 65,536: whether an attempt can read the two
    /// bytes `a b` without dying, whatever byte stands before it (see
    /// `pairs`). `None` when the DFA could not tell.
    pairs: Option<Box<[u64; 1024]>>,
}

/// Which first two bytes an attempt can read without dying, from any of
/// the anchored start states (they differ only by the byte before the
/// attempt, for `\b` and `^`): an attempt whose first two bytes are not
/// in the table dies there without a match, so it need not be made. A
/// match state after the first byte (an empty match) or a state the DFA
/// quits on keeps the whole row, so such attempts are made and answer
/// as before. The stock rules' form patterns have words starting with
/// most letters, but few first pairs of letters: skipping the other
/// positions took about a third off their time over the public corpus
/// (380 to 250 ms, the same verdicts on all 6,046 messages).
///
/// Computed once, with a cache of its own, over the byte classes (one
/// byte stands for each class, the DFA cannot tell its members apart).
fn pairs(dfa: &DFA) -> Option<Box<[u64; 1024]>> {
    let mut cache = dfa.create_cache();
    let mut starts = Vec::new();
    for behind in std::iter::once(None).chain((0..=255).map(Some)) {
        let config = start::Config::new()
            .anchored(Anchored::Yes)
            .look_behind(behind);
        let sid = dfa.start_state(&mut cache, &config).ok()?;
        if !starts.contains(&sid) {
            starts.push(sid);
        }
    }
    let classes = dfa.byte_classes();
    let reps: Vec<u8> = classes
        .representatives(..)
        .filter_map(|u| u.as_u8())
        .collect();
    let mut members = vec![Vec::new(); classes.alphabet_len()];
    for x in 0..=255u8 {
        members[usize::from(classes.get(x))].push(x);
    }
    let mut bits = Box::new([0u64; 1024]);
    let mut set = |a: u8, b: u8| {
        for &x in &members[usize::from(classes.get(a))] {
            for &y in &members[usize::from(classes.get(b))] {
                let (word, bit) = pair_bit(x, y);
                bits[word] |= bit;
            }
        }
    };
    for &sid in &starts {
        for &a in &reps {
            let one = dfa.next_state(&mut cache, sid, a).ok()?;
            if one.is_dead() {
                continue;
            }
            for &b in &reps {
                let two = if one.is_match() || one.is_quit() {
                    one
                } else {
                    dfa.next_state(&mut cache, one, b).ok()?
                };
                if !two.is_dead() {
                    set(a, b);
                }
            }
        }
    }
    Some(bits)
}

/// Where the pair `a b` is in a `pairs` table: its word and bit.
fn pair_bit(a: u8, b: u8) -> (usize, u64) {
    let k = usize::from(a) << 8 | usize::from(b);
    (k >> 6, 1 << (k & 63))
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
        super::forward::lazy_dfa(hir, None).map(Starts::of)
    }

    /// The attempts of a lazy DFA already built for the pattern (the
    /// [`forward`](super::forward) one: its anchored start states are
    /// these), sharing its NFA; the attempts keep caches of their own.
    /// The stock form patterns' NFAs are large: building a second one took
    /// 2% of loading the rules.
    pub(crate) fn of(dfa: DFA) -> Starts {
        let for_caches = dfa.clone();
        let make: MakeCache = Box::new(move || for_caches.create_cache());
        Starts {
            pairs: pairs(&dfa),
            dfa,
            caches: Pool::new(make),
        }
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
            if let (Some(pairs), Some(&[a, b])) = (&self.pairs, text.get(start..start + 2)) {
                let (word, bit) = pair_bit(a, b);
                if pairs[word] & bit == 0 {
                    continue;
                }
            }
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
