//! An exact, linear-ish existence test for patterns with backreferences and
//! look-ahead, built from lazy DFAs.
//!
//! Most SpamAssassin patterns that need the fallback engine are a plain
//! sequence with a few irregular pieces in it: `A (G) C \1 D`, a leading
//! `^(?!X)`, a look-ahead `(?=X)` in the middle or at the end. Backtracking
//! tries every way the regular pieces can match and pays for it on long
//! headers; this engine instead cuts the pattern at the irregular pieces
//! and walks the pieces left to right over *all* their match ends:
//!
//! 1. a pass of a DFA for the leading regular piece gives every position
//!    where it can end;
//! 2. from each such position the next piece runs anchored, and every
//!    position where its DFA is in a match state is a place the piece can
//!    end (for a capture group, the captured text);
//! 3. a backreference compares bytes (under `/i` as Perl does on a byte
//!    string: equal, or ASCII / Latin-1 case partners); `(?=X)` and `(?!X)`
//!    run `X` anchored and stop at its first match; a look-ahead at the very
//!    end of the pattern is read as part of the sequence, since there it
//!    changes only where a match ends, never whether one exists.
//!
//! An alternation whose branches hold such pieces is distributed, giving a
//! few sequences, any of which may match. Pieces die fast (the byte after a
//! capture must start the next piece), and four things keep the rest
//! cheap:
//!
//! * a piece's match end goes on to the next step only when the byte there
//!   can start that step (a regular piece that cannot match empty has a
//!   set of first bytes): `([^\n\s>;]+)>?;` tries the rest after a
//!   capture only where `>` or `;` follows, not at every end of the run;
//! * where the leading piece has a native translation, the regex crate
//!   (with its literal prefilters) finds where it starts, and the DFA runs
//!   only from there;
//! * a piece followed by a backreference reads no further than the last
//!   place the captured text occurs; when the piece ends in a run of
//!   single bytes and then a bounded stretch (`Subject: [^\n]{0,100}`
//!   before `\1`), only the captured text's occurrences within that reach
//!   of the run count, and where there are none the piece is not run at
//!   all;
//! * a scan records its DFA state per position; a later scan of the same
//!   text that reaches one of those positions in the same state has the
//!   same future, and takes the recorded match ends instead of reading on
//!   (scans of `(?:[^\n]+\n+)*Subject:` from several captures meet at the
//!   next line).
//!
//! The total work per run is counted: past the limit the run reports
//! [`SplitError::Exhausted`] and the caller falls back to the backtracking
//! engine.
//!
//! The DFAs are built lazily from a small Thompson NFA of the parsed tree
//! (every flag already resolved), over byte classes, with Perl's positions:
//! a state remembers what kind of byte came before it (start, `\n`, word,
//! other), and the next input symbol is a byte, "the final `\n`" (for `$`
//! and `\Z`) or the end. Caches live in a small pool, so a [`Split`] is
//! `Send + Sync`.
//!
//! Only existence is decided: counting several matches needs Perl's
//! leftmost-first order, which stays with the backtracking engine.
//!
//! ```
//! use filter::spam::regex::perl::parse;
//! use filter::spam::regex::split::Split;
//!
//! let (node, _) = parse(br"^To: (\w+)@\S+\n(?:.*\n)*Subject: .*\b\1\b", "mi").unwrap();
//! let s = Split::new(&node).expect("supported shape");
//! let hit = b"To: bob@x.org\nX: y\nSubject: hi BOB!\n";
//! let miss = b"To: bob@x.org\nSubject: hi bobby\n";
//! assert_eq!(s.is_match(hit, 1_000_000), Ok(true));
//! assert_eq!(s.is_match(miss, 1_000_000), Ok(false));
//! ```

use std::collections::BTreeSet;
use std::sync::Mutex;

use super::hash;
use super::perl::{Assert, ByteSet, Node, case_partner};

/// Why a run stopped without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// The work limit of the run was reached.
    #[error("work limit exhausted")]
    Exhausted,
}

/// Most NFA states one regular piece may have.
const MAX_NFA: usize = 20_000;
/// Most sequences an alternation may distribute into.
const MAX_SEQS: usize = 16;
/// Most DFA states a cache keeps before it is cleared.
const MAX_DFA_STATES: usize = 10_000;

// ---------------------------------------------------------------------------
// NFA

#[derive(Debug, Clone)]
enum NState {
    Byte(ByteSet, u32),
    Eps(Vec<u32>),
    Assert(Assert, u32),
    Match,
}

#[derive(Debug)]
struct Nfa {
    states: Vec<NState>,
    start: u32,
}

impl Nfa {
    fn new(node: &Node) -> Option<Nfa> {
        let mut n = Nfa {
            states: vec![NState::Match],
            start: 0,
        };
        n.start = n.compile(node, 0)?;
        Some(n)
    }

    fn push(&mut self, s: NState) -> Option<u32> {
        if self.states.len() >= MAX_NFA {
            return None;
        }
        self.states.push(s);
        u32::try_from(self.states.len() - 1).ok()
    }

    /// States for `node` followed by state `next`; returns the entry.
    fn compile(&mut self, node: &Node, next: u32) -> Option<u32> {
        Some(match node {
            Node::Empty => next,
            Node::Class(s) => self.push(NState::Byte(*s, next))?,
            Node::Concat(v) => {
                let mut cur = next;
                for n in v.iter().rev() {
                    cur = self.compile(n, cur)?;
                }
                cur
            }
            Node::Alt(v) => {
                let mut alts = Vec::with_capacity(v.len());
                for n in v {
                    alts.push(self.compile(n, next)?);
                }
                self.push(NState::Eps(alts))?
            }
            Node::Group(_, n) => self.compile(n, next)?,
            Node::Assert(Assert::Continue) => return None,
            Node::Assert(a) => self.push(NState::Assert(*a, next))?,
            Node::Repeat {
                node,
                min,
                max,
                possessive: false,
                ..
            } => {
                if node.max_len() == Some(0) {
                    // As the emitters do: a zero-width body at most once.
                    return if *min > 0 {
                        self.compile(node, next)
                    } else {
                        Some(next)
                    };
                }
                let mut cur = match max {
                    Some(m) => {
                        let mut cur = next;
                        for _ in *min..*m {
                            let body = self.compile(node, cur)?;
                            cur = self.push(NState::Eps(vec![body, next]))?;
                        }
                        cur
                    }
                    None => {
                        let l = self.push(NState::Eps(Vec::new()))?;
                        let body = self.compile(node, l)?;
                        self.states[l as usize] = NState::Eps(vec![body, next]);
                        l
                    }
                };
                for _ in 0..*min {
                    cur = self.compile(node, cur)?;
                }
                cur
            }
            _ => return None,
        })
    }

    fn uses(&self, f: impl Fn(Assert) -> bool) -> bool {
        self.states
            .iter()
            .any(|s| matches!(s, NState::Assert(a, _) if f(*a)))
    }
}

// ---------------------------------------------------------------------------
// Lazy DFA

/// The previous byte's kind.
const PREV_START: u8 = 0;
const PREV_NL: u8 = 1;
const PREV_WORD: u8 = 2;
const PREV_OTHER: u8 = 3;

const UNKNOWN: u32 = u32::MAX;
const DEAD: u32 = 0;

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// An input symbol: a byte class, or one of the two specials.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sym {
    Byte(u8),
    FinalNl,
    Eoi,
}

#[derive(Debug)]
struct Dfa {
    nfa: Nfa,
    unanchored: bool,
    /// Byte to class.
    class: [u8; 256],
    /// A representative byte per class.
    rep: Vec<u8>,
    /// Columns per state: classes, final newline, end.
    stride: usize,
    uses_word: bool,
    uses_line: bool,
    uses_start: bool,
}

/// An earlier scan of the current text: its state before each byte from
/// `start` on, and where matches ended.
#[derive(Debug, Default)]
struct Memo {
    resets: u64,
    start: usize,
    states: Vec<u32>,
    ends: Vec<usize>,
    /// The state after the last byte read, when the scan stopped at a
    /// limit rather than at the end or a dead state.
    resume: Option<u32>,
}

#[derive(Debug, Default)]
struct DfaCache {
    /// How often the cache was reset (state ids renumbered).
    resets: u64,
    /// The last complete scan of this text, when memoizing.
    memo: Option<Memo>,
    /// Where the step's [`Window`] run of bytes occurs in this text, once
    /// a run has needed it.
    occ: Option<Vec<usize>>,
    /// The scan being recorded.
    rec: Memo,
    /// Start state per kind of previous byte (0: not built).
    starts: [u32; 4],
    map: hash::Map<(Box<[u32]>, u8), u32>,
    kernels: Vec<(Box<[u32]>, u8)>,
    trans: Vec<u32>,
    stack: Vec<u32>,
    mark: Vec<u32>,
    generation: u32,
}

impl Dfa {
    fn new(node: &Node, unanchored: bool) -> Option<Dfa> {
        let nfa = Nfa::new(node)?;
        let uses_word = nfa.uses(|a| matches!(a, Assert::Word | Assert::NotWord));
        let uses_line = nfa.uses(|a| a == Assert::StartLine);
        let uses_start = nfa.uses(|a| matches!(a, Assert::Start | Assert::StartLine));
        // Byte classes: bytes that every set (and `\n`, and `\w` when
        // `\b` is used) treats alike.
        let mut sets: Vec<ByteSet> = nfa
            .states
            .iter()
            .filter_map(|s| match s {
                NState::Byte(b, _) => Some(*b),
                _ => None,
            })
            .collect();
        let mut nl = ByteSet::EMPTY;
        nl.add(b'\n');
        sets.push(nl);
        if uses_word {
            let mut w = ByteSet::EMPTY;
            for b in 0..=255u8 {
                if is_word(b) {
                    w.add(b);
                }
            }
            sets.push(w);
        }
        sets.sort_by_key(|s| s.0);
        sets.dedup();
        let mut ids: hash::Map<Vec<bool>, u8> = hash::Map::default();
        let mut class = [0u8; 256];
        let mut rep = Vec::new();
        for b in 0..=255u8 {
            let sig: Vec<bool> = sets.iter().map(|s| s.has(b)).collect();
            let next = ids.len();
            let id = *ids.entry(sig).or_insert_with(|| {
                rep.push(b);
                next as u8
            });
            class[usize::from(b)] = id;
        }
        let stride = rep.len() + 2;
        Some(Dfa {
            nfa,
            unanchored,
            class,
            rep,
            stride,
            uses_word,
            uses_line,
            uses_start,
        })
    }

    fn prev_of(&self, text: &[u8], at: usize) -> u8 {
        let p = match at.checked_sub(1).map(|i| text[i]) {
            None => PREV_START,
            Some(b'\n') => PREV_NL,
            Some(b) if is_word(b) => PREV_WORD,
            Some(_) => PREV_OTHER,
        };
        self.canon(p)
    }

    fn canon(&self, p: u8) -> u8 {
        match p {
            PREV_START if !self.uses_start => PREV_OTHER,
            PREV_NL if !self.uses_line => PREV_OTHER,
            PREV_WORD if !self.uses_word => PREV_OTHER,
            p => p,
        }
    }

    #[inline]
    fn column(&self, s: Sym) -> usize {
        match s {
            Sym::Byte(b) => usize::from(self.class[usize::from(b)]),
            Sym::FinalNl => self.stride - 2,
            Sym::Eoi => self.stride - 1,
        }
    }

    fn intern(&self, c: &mut DfaCache, kernel: Box<[u32]>, prev: u8) -> u32 {
        if kernel.is_empty() && !self.unanchored {
            return DEAD;
        }
        let key = (kernel, prev);
        if let Some(&id) = c.map.get(&key) {
            return id;
        }
        let id = c.kernels.len() as u32;
        c.kernels.push(key.clone());
        c.map.insert(key, id);
        c.trans.extend(std::iter::repeat_n(UNKNOWN, self.stride));
        id
    }

    fn reset(&self, c: &mut DfaCache) {
        c.resets += 1;
        c.starts = [0; 4];
        c.map.clear();
        c.kernels.clear();
        c.trans.clear();
        // State 0: dead.
        c.kernels.push((Box::new([]), PREV_OTHER));
        c.trans.extend(std::iter::repeat_n(DEAD << 1, self.stride));
    }

    /// The state to start in at `at`.
    fn start(&self, c: &mut DfaCache, text: &[u8], at: usize) -> u32 {
        if c.kernels.is_empty() || c.kernels.len() > MAX_DFA_STATES {
            self.reset(c);
        }
        let prev = self.prev_of(text, at);
        let cached = c.starts[usize::from(prev)];
        if cached != 0 {
            return cached;
        }
        let id = self.intern(c, Box::new([self.nfa.start]), prev);
        c.starts[usize::from(prev)] = id;
        id
    }

    fn holds(a: Assert, prev: u8, s: Sym) -> bool {
        let next_word = matches!(s, Sym::Byte(b) if is_word(b));
        let next_nl = matches!(s, Sym::Byte(b'\n'));
        match a {
            Assert::Start => prev == PREV_START,
            Assert::StartLine => prev == PREV_START || (prev == PREV_NL && s != Sym::Eoi),
            Assert::End => s == Sym::Eoi,
            Assert::EndNl => matches!(s, Sym::Eoi | Sym::FinalNl),
            Assert::EndLine => next_nl || matches!(s, Sym::Eoi | Sym::FinalNl),
            Assert::Word => (prev == PREV_WORD) != next_word,
            Assert::NotWord => (prev == PREV_WORD) == next_word,
            Assert::Continue => false,
        }
    }

    /// The transition of `state` on `sym`: (next state, whether a match
    /// ends right before `sym`). A table lookup once the transition is
    /// known; [`Dfa::build_step`] works it out the first time.
    #[inline]
    fn step(&self, c: &mut DfaCache, state: u32, sym: Sym) -> (u32, bool) {
        let t = c.trans[state as usize * self.stride + self.column(sym)];
        if t != UNKNOWN {
            return (t >> 1, t & 1 == 1);
        }
        self.build_step(c, state, sym)
    }

    /// [`Dfa::step`] for a transition not in the table yet: kept out of
    /// line, so the lookup above inlines into the scan loop.
    #[cold]
    #[inline(never)]
    fn build_step(&self, c: &mut DfaCache, state: u32, sym: Sym) -> (u32, bool) {
        let col = self.column(sym);
        let (kernel, prev) = c.kernels[state as usize].clone();
        let sym = match sym {
            Sym::Byte(b) => Sym::Byte(self.rep[usize::from(self.class[usize::from(b)])]),
            s => s,
        };
        c.generation = c.generation.wrapping_add(1);
        if c.generation == 0 {
            c.mark.iter_mut().for_each(|m| *m = 0);
            c.generation = 1;
        }
        c.mark.resize(self.nfa.states.len(), 0);
        c.stack.clear();
        c.stack.extend(kernel.iter().rev());
        let byte = match sym {
            Sym::Byte(b) => Some(b),
            Sym::FinalNl => Some(b'\n'),
            Sym::Eoi => None,
        };
        let mut next = Vec::new();
        let mut matched = false;
        while let Some(q) = c.stack.pop() {
            let m = &mut c.mark[q as usize];
            if *m == c.generation {
                continue;
            }
            *m = c.generation;
            match &self.nfa.states[q as usize] {
                NState::Byte(set, t) => {
                    if byte.is_some_and(|b| set.has(b)) {
                        next.push(*t);
                    }
                }
                NState::Eps(v) => c.stack.extend(v.iter().rev()),
                NState::Assert(a, t) => {
                    if Self::holds(*a, prev, sym) {
                        c.stack.push(*t);
                    }
                }
                NState::Match => matched = true,
            }
        }
        let target = match byte {
            None => DEAD,
            Some(b) => {
                if self.unanchored {
                    next.push(self.nfa.start);
                }
                next.sort_unstable();
                next.dedup();
                let p = if b == b'\n' {
                    PREV_NL
                } else if is_word(b) {
                    PREV_WORD
                } else {
                    PREV_OTHER
                };
                let p = self.canon(p);
                if c.kernels.len() > MAX_DFA_STATES {
                    // Full: start over, keeping the source state's row.
                    self.reset(c);
                    let id = self.intern(c, kernel.clone(), prev);
                    let target = self.intern(c, next.into_boxed_slice(), p);
                    c.trans[id as usize * self.stride + col] = (target << 1) | u32::from(matched);
                    return (target, matched);
                }
                self.intern(c, next.into_boxed_slice(), p)
            }
        };
        c.trans[state as usize * self.stride + col] = (target << 1) | u32::from(matched);
        (target, matched)
    }

    /// Calls `f` with every position where a match that starts at `from`
    /// (or anywhere from `from` on, when unanchored) ends, in increasing
    /// order, until `f` returns true (then true). Positions past the
    /// scan's limit are not read.
    ///
    /// A cache reset inside a run may renumber states: the current state
    /// is re-interned by `step`, so the id it returns stays valid.
    fn ends(
        &self,
        c: &mut DfaCache,
        text: &[u8],
        from: usize,
        scan: &mut Scan<'_>,
        work: &mut u64,
        mut f: impl FnMut(usize, &mut u64) -> Result<bool, SplitError>,
    ) -> Result<bool, SplitError> {
        let mut s = self.start(c, text, from);
        let len = text.len();
        let mut at = from;
        let resets = c.resets;
        let mut memo = scan.memo;
        let limit = &mut scan.limit;
        if memo {
            c.rec.states.clear();
            c.rec.ends.clear();
        }
        loop {
            if memo {
                // In the state an earlier scan had here: its ends are ours
                // as far as it read; then go on from where it stopped.
                if let Some(m) = &c.memo
                    && m.resets == c.resets
                    && at >= m.start
                    && m.states.get(at - m.start) == Some(&s)
                {
                    let lim = limit.get(at - from, work)?;
                    let last = m.start + m.states.len() - 1;
                    let i = m.ends.partition_point(|&e| e < at);
                    let j = m.ends.partition_point(|&e| e <= lim.min(last));
                    let ends = m.ends[i..j.max(i)].to_vec();
                    let resume = m.resume;
                    for e in ends {
                        if f(e, work)? {
                            return Ok(true);
                        }
                    }
                    match resume {
                        Some(r) if lim > last && r != DEAD => {
                            memo = false;
                            s = r;
                            at = last + 1;
                            continue;
                        }
                        _ => return Ok(false),
                    }
                }
                c.rec.states.push(s);
            }
            let sym = if at == len {
                Sym::Eoi
            } else if at + 1 == len && text[at] == b'\n' {
                Sym::FinalNl
            } else {
                Sym::Byte(text[at])
            };
            let (next, matched) = self.step(c, s, sym);
            if matched {
                if memo {
                    c.rec.ends.push(at);
                }
                if f(at, work)? {
                    return Ok(true);
                }
            }
            let done = next == DEAD || at == len;
            if done || at >= limit.get(at - from, work)? {
                if memo && c.resets == resets {
                    let mut m = std::mem::take(&mut c.rec);
                    m.resets = resets;
                    m.start = from;
                    m.resume = (!done).then_some(next);
                    c.rec = c.memo.take().unwrap_or_default();
                    c.memo = Some(m);
                }
                return Ok(false);
            }
            *work = work.checked_sub(1).ok_or(SplitError::Exhausted)?;
            s = next;
            at += 1;
        }
    }
}

// ---------------------------------------------------------------------------
// Shapes

/// One piece of a sequence, before compiling.
#[derive(Debug, Clone)]
enum Item {
    Re(Node),
    Cap(u32, Node),
    Back { group: u32, casei: bool, times: u32 },
    Look { neg: bool, body: Node },
    NotBack { group: u32, casei: bool },
}

fn count_caps(n: &Node) -> u32 {
    match n {
        Node::Group(cap, b) => u32::from(*cap) + count_caps(b),
        Node::Concat(v) | Node::Alt(v) => v.iter().map(count_caps).sum(),
        Node::Repeat { node, .. } | Node::Atomic(node) | Node::Look(_, _, node) => count_caps(node),
        _ => 0,
    }
}

fn backrefs(n: &Node, out: &mut BTreeSet<u32>) {
    match n {
        Node::Backref(g, _) => {
            out.insert(*g);
        }
        Node::Group(_, b) => backrefs(b, out),
        Node::Concat(v) | Node::Alt(v) => v.iter().for_each(|c| backrefs(c, out)),
        Node::Repeat { node, .. } | Node::Atomic(node) | Node::Look(_, _, node) => {
            backrefs(node, out)
        }
        _ => {}
    }
}

/// True when `n` is regular and holds no referenced group (numbered from
/// `first`).
fn plain(n: &Node, first: u32, referenced: &BTreeSet<u32>) -> bool {
    let k = count_caps(n);
    n.needs_fallback().is_none() && referenced.range(first..first + k).next().is_none()
}

/// Appends the leading single-byte pieces and assertions of `n` to `out`;
/// returns false where something else stops them.
fn leading_bytes(n: &Node, out: &mut Vec<Node>) -> bool {
    match n {
        Node::Class(_) | Node::Assert(_) | Node::Empty => {
            out.push(n.clone());
            true
        }
        Node::Concat(v) => v.iter().all(|c| leading_bytes(c, out)),
        Node::Group(_, b) => leading_bytes(b, out),
        _ => false,
    }
}

/// A backreference, possibly wrapped in non-capturing groups.
fn as_backref(n: &Node) -> Option<(u32, bool)> {
    match n {
        Node::Backref(g, ci) => Some((*g, *ci)),
        Node::Group(false, b) => as_backref(b),
        Node::Concat(v) if v.len() == 1 => as_backref(&v[0]),
        _ => None,
    }
}

struct Shaper<'a> {
    next_group: u32,
    referenced: &'a BTreeSet<u32>,
}

impl Shaper<'_> {
    /// The alternative item sequences of `n`; `tail` when `n` ends the
    /// pattern (a positive look-ahead there joins the sequence).
    fn items(&mut self, n: &Node, tail: bool) -> Option<Vec<Vec<Item>>> {
        let first = self.next_group + 1;
        if plain(n, first, self.referenced) {
            self.next_group += count_caps(n);
            return Some(vec![vec![Item::Re(n.clone())]]);
        }
        match n {
            Node::Concat(v) => {
                let mut acc: Vec<Vec<Item>> = vec![Vec::new()];
                for (i, c) in v.iter().enumerate() {
                    let alts = self.items(c, tail && i + 1 == v.len())?;
                    let mut out = Vec::new();
                    for a in &acc {
                        for b in &alts {
                            let mut s = a.clone();
                            s.extend(b.iter().cloned());
                            out.push(s);
                        }
                    }
                    if out.len() > MAX_SEQS {
                        return None;
                    }
                    acc = out;
                }
                Some(acc)
            }
            Node::Alt(v) => {
                let mut out = Vec::new();
                for c in v {
                    out.extend(self.items(c, tail)?);
                }
                (out.len() <= MAX_SEQS).then_some(out)
            }
            Node::Group(false, b) => self.items(b, tail),
            Node::Group(true, b) => {
                self.next_group += 1;
                let g = self.next_group;
                if !self.referenced.contains(&g) {
                    return self.items(b, tail);
                }
                if !plain(b, g + 1, self.referenced) {
                    return None;
                }
                self.next_group += count_caps(b);
                Some(vec![vec![Item::Cap(g, (**b).clone())]])
            }
            Node::Backref(g, ci) => Some(vec![vec![Item::Back {
                group: *g,
                casei: *ci,
                times: 1,
            }]]),
            Node::Repeat {
                node,
                min,
                max: Some(max),
                possessive: false,
                ..
            } if min == max => {
                let (group, casei) = as_backref(node)?;
                Some(vec![vec![Item::Back {
                    group,
                    casei,
                    times: *min,
                }]])
            }
            Node::Look(false, false, body) if tail => self.items(body, true),
            Node::Look(false, neg, body) => {
                if plain(body, first, self.referenced) {
                    self.next_group += count_caps(body);
                    return Some(vec![vec![Item::Look {
                        neg: *neg,
                        body: (**body).clone(),
                    }]]);
                }
                let (group, casei) = as_backref(body)?;
                neg.then(|| vec![vec![Item::NotBack { group, casei }]])
            }
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------
// The engine

#[derive(Debug)]
enum Step {
    /// The leading piece: an unanchored DFA, or, when a native regex
    /// finds where matches start, an anchored one run from each start.
    First {
        dfa: Dfa,
        starts: Option<super::Native>,
    },
    Re {
        dfa: Dfa,
        cap: Option<u32>,
        window: Option<Window>,
    },
    Look {
        dfa: Dfa,
        neg: bool,
    },
    Back {
        group: u32,
        casei: bool,
        times: u32,
    },
    NotBack {
        group: u32,
        casei: bool,
    },
}

/// A compiled pattern of a supported shape.
#[derive(Debug)]
pub struct Split {
    /// Each step with the bytes the next step must start with, when that
    /// is a regular piece that cannot match empty: a piece's match end
    /// followed by any other byte (or the end) leads nowhere.
    seqs: Vec<Vec<(Step, Option<ByteSet>)>>,
    groups: usize,
    pool: Mutex<Vec<Vec<Vec<DfaCache>>>>,
}

impl Split {
    /// Compiles `node` (from [`perl::parse`](super::perl::parse)), or
    /// `None` when it is not a supported shape: a sequence (after
    /// distributing alternations) of regular pieces, capture groups with a
    /// regular body at the top level, backreferences to them (also
    /// repeated a fixed number of times), look-aheads with a regular body,
    /// `(?!\N)`, and a final positive look-ahead of any of these.
    /// Look-behind, atomic groups, possessive quantifiers, `\K`, `\G` and
    /// backreferences inside other quantifiers are not supported.
    pub fn new(node: &Node) -> Option<Split> {
        let mut referenced = BTreeSet::new();
        backrefs(node, &mut referenced);
        let mut sh = Shaper {
            next_group: 0,
            referenced: &referenced,
        };
        let alts = sh.items(node, true)?;
        let mut seqs = Vec::new();
        'seq: for items in alts {
            // Merge neighbouring regular pieces.
            let mut merged: Vec<Item> = Vec::new();
            for it in items {
                if let (Some(Item::Re(a)), Item::Re(b)) = (merged.last_mut(), &it) {
                    *a = Node::Concat(vec![a.clone(), b.clone()]);
                } else {
                    merged.push(it);
                }
            }
            // With no leading regular piece, matches start where the
            // first capture can.
            let mut lead = None;
            if !matches!(merged.first(), Some(Item::Re(_))) {
                if let Some(Item::Cap(_, n)) = merged.first() {
                    lead = Some(n.clone());
                }
                merged.insert(0, Item::Re(Node::Empty));
            }
            let mut set = BTreeSet::new();
            let mut steps = Vec::new();
            let mut firsts = Vec::new();
            for (i, it) in merged.into_iter().enumerate() {
                let own = match &it {
                    Item::Re(n) | Item::Cap(_, n) => match n.first_bytes() {
                        (f, false) => Some(f),
                        _ => None,
                    },
                    _ => None,
                };
                steps.push(match it {
                    Item::Re(n) if i == 0 => {
                        let from = lead.as_ref().unwrap_or(&n);
                        // Its leading bytes find the same starts (and
                        // perhaps more) with the cheapest search.
                        let mut head = Vec::new();
                        leading_bytes(from, &mut head);
                        let head = Node::Concat(head);
                        let from = if head.min_len() >= 3 { &head } else { from };
                        let starts = if from.min_len() > 0 {
                            super::perl::native(from)
                                .ok()
                                .and_then(|s| super::native_regex(&s).ok())
                        } else {
                            None
                        };
                        Step::First {
                            dfa: Dfa::new(&n, starts.is_none())?,
                            starts,
                        }
                    }
                    Item::Re(n) => Step::Re {
                        dfa: Dfa::new(&n, false)?,
                        cap: None,
                        window: Window::of(&n),
                    },
                    Item::Cap(g, n) => {
                        set.insert(g);
                        Step::Re {
                            dfa: Dfa::new(&n, false)?,
                            cap: Some(g),
                            window: Window::of(&n),
                        }
                    }
                    Item::Look { neg, body } => Step::Look {
                        dfa: Dfa::new(&body, false)?,
                        neg,
                    },
                    Item::Back { times: 0, .. } => continue,
                    Item::Back {
                        group,
                        casei,
                        times,
                    } => {
                        if !set.contains(&group) {
                            // Perl: a reference to an unset group fails.
                            continue 'seq;
                        }
                        Step::Back {
                            group,
                            casei,
                            times,
                        }
                    }
                    Item::NotBack { group, casei } => {
                        if !set.contains(&group) {
                            // A reference to an unset group fails, so
                            // `(?!\N)` holds.
                            continue;
                        }
                        Step::NotBack { group, casei }
                    }
                });
                firsts.push(own);
            }
            let nexts = firsts.into_iter().skip(1).chain([None]);
            seqs.push(steps.into_iter().zip(nexts).collect());
        }
        Some(Split {
            seqs,
            groups: sh.next_group.max(referenced.last().copied().unwrap_or(0)) as usize + 1,
            pool: Mutex::new(Vec::new()),
        })
    }

    /// How many pieces have a [`Window`].
    #[cfg(test)]
    pub(crate) fn windows(&self) -> usize {
        self.seqs
            .iter()
            .flatten()
            .filter(|(s, _)| {
                matches!(
                    s,
                    Step::Re {
                        window: Some(_),
                        ..
                    }
                )
            })
            .count()
    }

    /// Whether `text` has a match, within `work` units (about one per byte
    /// a DFA reads or a backreference compares).
    pub fn is_match(&self, text: &[u8], work: u64) -> Result<bool, SplitError> {
        self.run(text, work).0
    }

    /// [`Split::is_match`] and the work it used.
    pub fn run(&self, text: &[u8], work: u64) -> (Result<bool, SplitError>, u64) {
        let mut caches = self
            .pool
            .lock()
            .ok()
            .and_then(|mut p| p.pop())
            .unwrap_or_else(|| {
                self.seqs
                    .iter()
                    .map(|s| s.iter().map(|_| DfaCache::default()).collect())
                    .collect()
            });
        let budget = work;
        let mut work = work;
        for c in caches.iter_mut().flatten() {
            c.memo = None;
            c.occ = None;
        }
        let mut caps = vec![(0usize, 0usize); self.groups];
        let mut r = Ok(false);
        for (seq, cache) in self.seqs.iter().zip(caches.iter_mut()) {
            r = go(seq, cache, text, 0, &mut caps, &mut work);
            if r != Ok(false) {
                break;
            }
        }
        if let Ok(mut p) = self.pool.lock() {
            p.push(caches);
        }
        (r, budget - work)
    }
}

/// Fewest single bytes in a [`Window`]'s run.
const WINDOW_RUN: usize = 3;
/// Most bytes a [`Window`] may reach past its run.
const WINDOW_REACH: u64 = 1024;
/// Most bytes one of a [`Window`]'s run's pieces may match (a letter under
/// `/i` matches two).
const WINDOW_WIDTH: u32 = 2;

/// Where a regular piece can end, when it ends in a run of single bytes
/// (each from a small set) and then a stretch of bounded length: at most
/// `reach` bytes after an occurrence of the run. `Subject: [^\n]{0,100}`
/// ends within 100 bytes after a `Subject: `, so before a backreference
/// only the captured text's occurrences there matter.
#[derive(Debug)]
struct Window {
    /// Finds the run.
    run: super::Native,
    /// The run's length.
    len: usize,
    /// The most bytes after the run.
    reach: usize,
}

/// The pieces of `n` in sequence, groups opened.
fn flatten<'n>(n: &'n Node, out: &mut Vec<&'n Node>) {
    match n {
        Node::Concat(v) => v.iter().for_each(|c| flatten(c, out)),
        Node::Group(_, b) => flatten(b, out),
        _ => out.push(n),
    }
}

impl Window {
    /// The window of piece `n`: its last run of at least [`WINDOW_RUN`]
    /// narrow single bytes that only a bounded stretch follows.
    fn of(n: &Node) -> Option<Window> {
        let narrow =
            |n: &Node| matches!(n, Node::Class(c) if (1..=WINDOW_WIDTH).contains(&c.len()));
        let mut items = Vec::new();
        flatten(n, &mut items);
        let mut reach = 0u64;
        let mut i = items.len();
        while i > 0 {
            if narrow(items[i - 1]) {
                let end = i;
                while i > 0 && narrow(items[i - 1]) {
                    i -= 1;
                }
                if end - i >= WINDOW_RUN {
                    let run = Node::Concat(items[i..end].iter().map(|&n| n.clone()).collect());
                    let run = super::native_regex(&super::perl::native(&run).ok()?).ok()?;
                    return Some(Window {
                        run,
                        len: end - i,
                        reach: usize::try_from(reach).ok()?,
                    });
                }
                reach += (end - i) as u64;
            } else {
                reach = reach.saturating_add(items[i - 1].max_len()?);
                i -= 1;
            }
            if reach > WINDOW_REACH {
                return None;
            }
        }
        None
    }

    /// Every position where the run occurs in `text`, overlapping ones
    /// included.
    fn occurrences(&self, text: &[u8], work: &mut u64) -> Result<Vec<usize>, SplitError> {
        let cost = text.len() as u64 / 8 + 1;
        *work = work.checked_sub(cost).ok_or(SplitError::Exhausted)?;
        let mut out = Vec::new();
        let mut from = 0;
        while from <= text.len()
            && let Some(m) = self
                .run
                .find(regex_automata::Input::new(text).range(from..))
        {
            *work = work.checked_sub(16).ok_or(SplitError::Exhausted)?;
            out.push(m.start());
            from = m.start() + 1;
        }
        Ok(out)
    }

    /// The last position at or after `at` where a match of the piece
    /// could end with `text[cap]` following: inside the reach of a run
    /// that occurs at or after `at` (`occ`, from [`Window::occurrences`]).
    fn last_end(
        &self,
        text: &[u8],
        occ: &[usize],
        at: usize,
        cap: (usize, usize),
        casei: bool,
        work: &mut u64,
    ) -> Result<Option<usize>, SplitError> {
        let w = &text[cap.0..cap.1];
        let Some(top) = text.len().checked_sub(w.len()) else {
            return Ok(None);
        };
        let from = occ.partition_point(|&p| p < at);
        for &p in occ[from..].iter().rev() {
            let lo = p + self.len;
            let hi = (lo + self.reach).min(top);
            if lo > hi {
                continue;
            }
            *work = work
                .checked_sub((hi - lo + 1) as u64)
                .ok_or(SplitError::Exhausted)?;
            let Some(&first) = w.first() else {
                return Ok(Some(hi));
            };
            let other = if casei {
                case_partner(first).unwrap_or(first)
            } else {
                first
            };
            let found = memchr::memrchr2_iter(first, other, &text[lo..=hi])
                .map(|i| lo + i)
                .find(|&x| eq_bytes(&text[x..x + w.len()], w, casei));
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }
}

fn eq_bytes(a: &[u8], b: &[u8], casei: bool) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(&x, &y)| x == y || (casei && case_partner(x) == Some(y)))
}

/// The last position at or after `from` where `text[s..e]` occurs.
fn last_occurrence(text: &[u8], from: usize, s: usize, e: usize, casei: bool) -> Option<usize> {
    let w = &text[s..e];
    let Some(&first) = w.first() else {
        return Some(text.len());
    };
    let other = if casei {
        case_partner(first).unwrap_or(first)
    } else {
        first
    };
    let mut end = text.len().checked_sub(w.len())? + 1;
    while end > from {
        let i = from + memchr::memrchr2(first, other, &text[from..end])?;
        if eq_bytes(&text[i..i + w.len()], w, casei) {
            return Some(i);
        }
        end = i;
    }
    None
}

/// How a scan runs: how far it may read, and whether it records itself
/// for later scans of the same text to join.
struct Scan<'a> {
    limit: Limit<'a>,
    memo: bool,
}

impl Scan<'_> {
    fn plain() -> Scan<'static> {
        Scan {
            limit: Limit::Known(usize::MAX),
            memo: false,
        }
    }
}

/// How far a scan may usefully read: computed only once the scan has
/// gone some way, since most scans die within a few bytes.
enum Limit<'a> {
    Known(usize),
    Lazy(&'a dyn Fn(&mut u64) -> Result<Option<usize>, SplitError>),
}

impl Limit<'_> {
    const AFTER: usize = 16;

    /// The limit, once `read` bytes have been read.
    fn get(&mut self, read: usize, work: &mut u64) -> Result<usize, SplitError> {
        match self {
            Limit::Known(n) => Ok(*n),
            Limit::Lazy(f) if read >= Self::AFTER => {
                // `None`: nothing further can help.
                let n = f(work)?.unwrap_or(0);
                *self = Limit::Known(n);
                Ok(n)
            }
            Limit::Lazy(_) => Ok(usize::MAX),
        }
    }
}

/// Runs `steps` from `at`.
fn go(
    steps: &[(Step, Option<ByteSet>)],
    caches: &mut [DfaCache],
    text: &[u8],
    at: usize,
    caps: &mut [(usize, usize)],
    work: &mut u64,
) -> Result<bool, SplitError> {
    let Some(((step, next), rest)) = steps.split_first() else {
        return Ok(true);
    };
    // Whether the next step can start at `end`.
    let leads = |end: usize| next.is_none_or(|f| text.get(end).is_some_and(|&b| f.has(b)));
    *work = work.checked_sub(1).ok_or(SplitError::Exhausted)?;
    let (cache, rest_caches) = caches.split_first_mut().ok_or(SplitError::Exhausted)?;
    match step {
        Step::First { dfa, starts: None } => {
            dfa.ends(cache, text, at, &mut Scan::plain(), work, |end, work| {
                if !leads(end) {
                    return Ok(false);
                }
                go(rest, rest_caches, text, end, caps, work)
            })
        }
        Step::First {
            dfa,
            starts: Some(re),
        } => {
            // Ends reached from two starts are tried once.
            let mut seen = vec![0u64; text.len() / 64 + 1];
            let mut from = at;
            while let Some(m) = re.find(regex_automata::Input::new(text).range(from..)) {
                let st = m.start();
                let hit = dfa.ends(cache, text, st, &mut Scan::plain(), work, |end, work| {
                    if !leads(end) {
                        return Ok(false);
                    }
                    let (w, bit) = (end / 64, 1u64 << (end % 64));
                    if seen[w] & bit != 0 {
                        return Ok(false);
                    }
                    seen[w] |= bit;
                    go(rest, rest_caches, text, end, caps, work)
                })?;
                if hit {
                    return Ok(true);
                }
                *work = work.checked_sub(16).ok_or(SplitError::Exhausted)?;
                from = st + 1;
                if from > text.len() {
                    break;
                }
            }
            Ok(false)
        }
        Step::Re { dfa, cap, window } => {
            // Before a backreference: no need to read past the last place
            // the captured text occurs (within the window's reach of its
            // run of bytes, when the piece has a window).
            let lazy;
            let mut held = None;
            let limit = match rest.first().map(|(s, _)| s) {
                Some(Step::Back { group, casei, .. }) if *cap != Some(*group) => {
                    let cap = caps[*group as usize];
                    let casei = *casei;
                    match window {
                        Some(w) => {
                            let occ = match cache.occ.take() {
                                Some(o) => o,
                                None => w.occurrences(text, work)?,
                            };
                            let last = w.last_end(text, &occ, at, cap, casei, work)?;
                            held = Some(occ);
                            match last {
                                Some(x) => Limit::Known(x),
                                None => {
                                    cache.occ = held;
                                    return Ok(false);
                                }
                            }
                        }
                        None => {
                            lazy = move |work: &mut u64| {
                                // A scan of the text: charge for it.
                                let cost = (text.len() - at.min(text.len())) as u64 / 8 + 1;
                                *work = work.checked_sub(cost).ok_or(SplitError::Exhausted)?;
                                Ok(last_occurrence(text, at, cap.0, cap.1, casei))
                            };
                            Limit::Lazy(&lazy)
                        }
                    }
                }
                _ => Limit::Known(usize::MAX),
            };
            let found = dfa.ends(
                cache,
                text,
                at,
                &mut Scan {
                    limit,
                    memo: cap.is_none(),
                },
                work,
                |end, work| {
                    if !leads(end) {
                        return Ok(false);
                    }
                    if let Some(g) = cap {
                        caps[*g as usize] = (at, end);
                    }
                    go(rest, rest_caches, text, end, caps, work)
                },
            );
            if held.is_some() {
                cache.occ = held;
            }
            found
        }
        Step::Look { dfa, neg } => {
            let found = dfa.ends(cache, text, at, &mut Scan::plain(), work, |_, _| Ok(true))?;
            if found != *neg {
                go(rest, rest_caches, text, at, caps, work)
            } else {
                Ok(false)
            }
        }
        Step::Back {
            group,
            casei,
            times,
        } => {
            let (s, e) = caps[*group as usize];
            let len = e - s;
            let mut p = at;
            for _ in 0..*times {
                *work = work.checked_sub(len as u64).ok_or(SplitError::Exhausted)?;
                match text.get(p..p + len) {
                    Some(t) if eq_bytes(t, &text[s..e], *casei) => p += len,
                    _ => return Ok(false),
                }
            }
            go(rest, rest_caches, text, p, caps, work)
        }
        Step::NotBack { group, casei } => {
            let (s, e) = caps[*group as usize];
            let hit = text
                .get(at..at + (e - s))
                .is_some_and(|t| eq_bytes(t, &text[s..e], *casei));
            if hit {
                Ok(false)
            } else {
                go(rest, rest_caches, text, at, caps, work)
            }
        }
    }
}
