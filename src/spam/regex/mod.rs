//! Perl regexes as SpamAssassin writes them, run in one pass per text.
//!
//! SpamAssassin compiles each rule with `qr/(?FLAGS)PATTERN/aa` and matches
//! it against bytes: `\d`, `\s`, `\w` and `\b` are ASCII, `.` is one byte,
//! `$` also matches before a final newline, and `/i` folds ASCII letters
//! and, because a byte string is read as Latin-1, the Latin-1 letters too.
//! This module keeps those semantics with two engines and a prefilter.
//!
//! **Translation.** [`perl`] parses the Perl dialect into a small tree with
//! every flag already applied (case folding becomes byte classes, `.`
//! becomes a class, `^`/`$` become explicit positions), and writes it back
//! in the regex crate's syntax with Unicode off, every non-alphanumeric
//! byte as `\xHH`. Perl's `$` is "end, or before a final `\n`"; the regex
//! crate has no such assertion, so at the end of a pattern it is written
//! `(?:\n?\z)`, which accepts the same texts. Where the exact meaning
//! cannot be written without look-around (a `$` with more pattern after
//! it, a `/m` `^` before a tail that may be empty), the pattern goes to the
//! fallback engine instead of being approximated. The regex crate's octal
//! option is never used: `\1` is a backreference in Perl. The set builds
//! the same syntax tree directly ([`perl::native_hir`]) instead of writing
//! and parsing it, which takes an eighth off loading the stock rules.
//!
//! **Native.** A translated pattern runs on the regex crate's meta engine,
//! which compiles it forwards and backwards (to find where a match
//! starts). A set for short texts (header values, body lines) compiles a
//! pattern with required strings forwards only, since its questions never
//! need a start; see [`forward`].
//!
//! **Fallback.** Look-around, backreferences, atomic groups, possessive
//! quantifiers, `\K` and `\G` run on fancy-regex, bounded per search by a
//! backtrack limit and per message by a [`Budget`]; see [`fallback`].
//! A pattern that only opens with an atomic run of one class
//! (`^(?>\s{0,50})…`) is rewritten exactly instead: the run's length is
//! fixed at each start, and the rest runs natively from where it ends
//! ([`lead`]). So is one that opens with look-aheads (`(?!viagra)` before
//! its look-alike spellings): the rest runs natively, and the look-aheads
//! are tested, anchored, where its matches start.
//!
//! **Split engine.** Most fallback patterns are a sequence with a capture
//! group, backreferences to it and look-aheads; for a yes/no question those
//! run on lazy DFAs piece by piece instead, in about linear time, and
//! report as [`EngineKind::Fallback`] all the same; see [`split`].
//!
//! **Prefilter.** Each pattern contributes the strings one of which any of
//! its matches must contain; one Aho-Corasick automaton finds them all, and
//! [`Set::candidates`] names the patterns worth running. A pattern that
//! repeats such a part (`(?:field words){5}`) must also find that many of
//! its strings side by side before it runs ([`prefilter::CountGate`]),
//! and its yes/no questions then run one match attempt at a time, whose
//! DFA states recur where the unanchored search's do not ([`starts`]).
//! See [`prefilter`].
//!
//! **What is not Perl here.** The charset modifiers `u`, `l`, `d` are
//! accepted and ignored (the set stays `/aa`). Counting follows the regex
//! crate for empty matches: an empty match right after a non-empty one is
//! not counted (Perl counts it); rules that can match the empty string are
//! always true anyway. Recursion, conditionals, branch reset, `\p{…}`,
//! `\X`, named characters other than `\N{U+…}` and backtracking verbs are
//! rejected as [`RegexError::Unsupported`]; what Perl (with SpamAssassin's
//! "warnings are fatal" compile) rejects is [`RegexError::Invalid`].
//!
//! ```
//! use filter::spam::regex::{Budget, EngineKind, SetBuilder};
//!
//! let mut b = SetBuilder::new();
//! let (viagra, kind) = b.add(r"\bv[i1]agra\b", "i").unwrap();
//! assert_eq!(kind, EngineKind::Native);
//! let (subject, _) = b.add(r"^Subject: .*free$", "m").unwrap();
//! let set = b.build();
//!
//! let text = b"Subject: it is free\n\nBuy VIAGRA, v1agra!\n";
//! let mut ids = Vec::new();
//! set.candidates(text, &mut ids);
//! assert_eq!(ids, [viagra, subject]);
//! let mut budget = Budget::new(100);
//! assert_eq!(set.count(viagra, text, 10, &mut budget), 2);
//! assert_eq!(set.count(subject, text, 1, &mut budget), 1);
//! ```

pub mod fallback;
pub mod forward;
pub mod hash;
pub mod lead;
pub mod perl;
pub mod possessive;
pub mod prefilter;
pub mod sieve;
pub mod split;
pub mod starts;
pub mod trim;

#[cfg(test)]
mod tests;

use fallback::Fallback;
use prefilter::Prefilter;
pub use prefilter::{ALL_LINES, Candidate, Scratch as SetScratch};

/// Size limit for one compiled native regex (bytes of program).
pub const SIZE_LIMIT: usize = 4 << 20;
/// Lazy DFA cache limit per native regex.
const DFA_SIZE_LIMIT: usize = 8 << 20;

/// Why a Perl pattern could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegexError {
    /// The pattern does not parse (as Perl or after translation).
    #[error("invalid pattern: {0}")]
    Invalid(String),
    /// The pattern needs a feature neither engine has.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// How a compiled pattern runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Translated to the regex crate's syntax: linear time.
    Native,
    /// Look-around or backreferences: run by the bounded fallback engine.
    Fallback,
}

/// A per-message work budget for fallback patterns. The core reads no
/// clock, so the budget counts work, not time: each fallback run that gets
/// past its linear pre-check costs one unit, and each run is itself capped
/// at [`fallback::BACKTRACK_LIMIT`] backtracking steps per search.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Fallback runs still allowed.
    pub left: u64,
    /// Set when a fallback run was refused or cut short.
    pub exhausted: bool,
}

impl Budget {
    /// A budget of `runs` fallback runs.
    pub fn new(runs: u64) -> Budget {
        Budget {
            left: runs,
            exhausted: false,
        }
    }
}

/// A pattern in both target dialects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    /// The regex crate pattern (bytes, Unicode off), or why there is none.
    pub native: Result<String, &'static str>,
    /// The fancy-regex pattern (ASCII bytes mode).
    pub fancy: String,
    /// A native pattern matching a superset of the texts.
    pub relaxed: String,
}

/// Translates a Perl pattern and SpamAssassin flags.
///
/// ```
/// let t = filter::spam::regex::translate(r"a$", "").unwrap();
/// assert_eq!(t.native.unwrap(), r"a(?:\n?\z)");
/// let t = filter::spam::regex::translate(r"a(?=b)", "").unwrap();
/// assert_eq!(t.native, Err("look-around"));
/// ```
pub fn translate(pattern: &str, flags: &str) -> Result<Translation, RegexError> {
    translate_bytes(pattern.as_bytes(), flags)
}

/// [`translate`] for a pattern that is not UTF-8 (bytes from a `.cf` file).
pub fn translate_bytes(pattern: &[u8], flags: &str) -> Result<Translation, RegexError> {
    let (node, _groups) = perl::parse(pattern, flags)?;
    Ok(translate_node(&possessive::plain_runs(&node)))
}

fn translate_node(node: &perl::Node) -> Translation {
    Translation {
        native: perl::native(node),
        fancy: perl::fancy(node),
        relaxed: perl::relaxed(node),
    }
}

/// A compiled native pattern: the regex crate's meta engine, built from a
/// syntax tree made once (the same tree gives the prefilter its literals
/// and the line rules their whole-text form).
pub(crate) type Native = regex_automata::meta::Regex;

/// Parses a translated native pattern (bytes, Unicode off).
fn parse_native(s: &str) -> Result<regex_syntax::hir::Hir, RegexError> {
    regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(s)
        .map_err(|e| RegexError::Invalid(format!("translation: {e}")))
}

/// Compiles a native syntax tree: bytes, the size limits above.
fn native_from_hir(hir: &regex_syntax::hir::Hir) -> Result<Native, RegexError> {
    native_with(hir, Skip::Own)
}

/// How a native regex skips to where a match may start.
enum Skip {
    /// With the literal prefilter the regex crate finds for it.
    Own,
    /// With a prefilter of the caller's in place of the regex crate's
    /// literal analysis (which must be sound: every match starts where it
    /// finds a candidate).
    Given(regex_automata::util::prefilter::Prefilter),
    /// With a prefilter of the pattern's prefixes alone, as [`Skip::Own`]
    /// builds when the regex crate's inner-literal search cannot pay.
    Prefix,
    /// Not at all: the regex only reads short windows, or runs anchored.
    Never,
}

/// [`native_from_hir`], skipping as `skip` says.
fn native_with(hir: &regex_syntax::hir::Hir, skip: Skip) -> Result<Native, RegexError> {
    let mut config = regex_automata::meta::Config::new()
        .nfa_size_limit(Some(SIZE_LIMIT))
        .onepass_size_limit(Some(SIZE_LIMIT))
        .hybrid_cache_capacity(DFA_SIZE_LIMIT)
        .dfa_size_limit(Some(DFA_SIZE_LIMIT))
        .utf8_empty(false);
    match skip {
        Skip::Own if inner_literal_may_pay(hir) => {}
        Skip::Own | Skip::Prefix => {
            // The prefilter the regex crate would find, without its
            // reverse searches (see `inner_literal_may_pay`). An exact
            // set keeps the crate's analysis, which may then answer
            // with a literal search alone.
            if let (pre, false) = prefixes(hir) {
                config = config.prefilter(pre).auto_prefilter(false);
            }
        }
        Skip::Given(pre) => config = config.prefilter(Some(pre)).auto_prefilter(false),
        Skip::Never => config = config.auto_prefilter(false),
    }
    regex_automata::meta::Builder::new()
        .configure(config)
        .build_from_hir(hir)
        .map_err(|e| match e.size_limit() {
            Some(_) => RegexError::Unsupported("pattern too large".into()),
            None => RegexError::Invalid(format!("translation: {e}")),
        })
}

/// The prefilter of `hir`'s prefixes that the regex crate would pick, and
/// whether they are exact (every match of one is a match of `hir`).
fn prefixes(
    hir: &regex_syntax::hir::Hir,
) -> (Option<regex_automata::util::prefilter::Prefilter>, bool) {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let mut seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
    seq.optimize_for_prefix_by_preference();
    let kind = regex_automata::MatchKind::LeftmostFirst;
    let pre = seq
        .literals()
        .and_then(|l| regex_automata::util::prefilter::Prefilter::new(kind, l));
    (pre, seq.is_exact())
}

/// Whether the regex crate might search `hir` backwards from an inner
/// literal: whether a part of its top-level sequence after the first
/// starts with strings it would search for quickly (one string, up to
/// three single bytes, or up to 64 strings of three bytes or more).
///
/// Without a quick prefilter for a pattern's prefixes, the crate tries
/// that for every part in turn, after rebuilding the whole tree without
/// its groups; on the stock rules it pays for two patterns of some 250
/// and cost a tenth of loading them. The guess here reads each part's
/// prefixes once, as the crate does, and rebuilds nothing; a pattern it
/// turns away keeps its prefix prefilter.
fn inner_literal_may_pay(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::HirKind;
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let mut h = hir;
    let parts = loop {
        match h.kind() {
            HirKind::Capture(c) => h = &c.sub,
            HirKind::Concat(v) => break v,
            _ => return false,
        }
    };
    parts.iter().skip(1).any(|p| {
        let mut seq = Extractor::new().kind(ExtractKind::Prefix).extract(p);
        seq.make_inexact();
        seq.optimize_for_prefix_by_preference();
        seq.literals().is_some_and(|lits| {
            let len = |l: &regex_syntax::hir::literal::Literal| l.as_bytes().len();
            let shortest = lits.iter().map(len).min().unwrap_or(0);
            let longest = lits.iter().map(len).max().unwrap_or(0);
            shortest > 0
                && (lits.len() == 1
                    || lits.len() <= 3 && longest == 1
                    || lits.len() <= 64 && shortest >= 3)
        })
    })
}

/// Compiles the native regex of a pattern whose prefilter strings are
/// `req`, for a set whose regexes only read short stretches (`short`, see
/// [`SetBuilder::short`]).
///
/// A line rule with required strings whose matches have a bounded length
/// answers its yes/no questions in windows around those strings
/// ([`Set::is_match_near`]), and a header rule mostly reads one header's
/// value: a literal prefilter of its own would find little to skip. The
/// regex crate's search for one (prefixes, then a suffix, then an inner
/// literal to search backwards from, each tried on the whole tree) is a
/// large part of building such a pattern, so it is built without: loading
/// the stock rules takes 5% fewer instructions, and scanning the corpus
/// sample as many as before. A set for long texts, where such a pattern
/// runs over the whole text, gives it a prefilter of its prefixes: the
/// header block's `\n(?:Message-id|Content-type|...):` then skips to its
/// line starts (scanning: 14 K fewer instructions per message).
fn native_for(
    hir: &regex_syntax::hir::Hir,
    req: &prefilter::Required,
    short: bool,
) -> Result<Native, RegexError> {
    let near = req.strings().is_some() && hir.properties().maximum_len().is_some();
    native_with(
        hir,
        match (near, short) {
            (true, true) => Skip::Never,
            (true, false) => Skip::Prefix,
            (false, _) => Skip::Own,
        },
    )
}

/// The matcher of a native pattern whose prefilter strings are `req`, for
/// a set whose regexes only read short stretches (`short`).
///
/// In such a set a pattern with required strings is compiled forwards
/// only (see [`forward`]) unless a match may be empty or the regex crate
/// would search it backwards from an inner literal: one whose matches may
/// be long gets the prefilter of its prefixes, the one the meta engine
/// gives it. On the stock rules that takes 3.4% off loading, with the same
/// instructions per message; the patterns with an inner literal would
/// take 2.8% more off, but their messages would cost 0.5% more. Anything
/// else gets the meta engine ([`native_for`]).
fn native_matcher(
    hir: &regex_syntax::hir::Hir,
    req: &prefilter::Required,
    short: bool,
) -> Result<Matcher, RegexError> {
    if short && req.strings().is_some() {
        // `Some` of the prefilter to give it; `None` for the meta engine.
        let pre = match hir.properties().maximum_len() {
            Some(_) => Some(None),
            None if !inner_literal_may_pay(hir) => Some(prefixes(hir).0),
            None => None,
        };
        if let Some(f) = pre.and_then(|pre| forward::Forward::new(hir, pre)) {
            return Ok(Matcher::Forward(Box::new(f)));
        }
    }
    native_for(hir, req, short).map(Matcher::Native)
}

/// The whole-text form of a line pattern: its start-of-text and
/// end-of-text assertions made start-of-line and end-of-line.
///
/// On lines joined by `\n`, a match inside one line is a match of this
/// form at the same place (`\b` at the line's edges sees `\n`, a non-word
/// byte, as it saw the edge; start-of-line sees the `\n` before), so no
/// match over the whole text means no line matches, and a line can only
/// match where a match of this form starts. That holds for lines with
/// line breaks of their own too (rawbody paragraphs): the form then
/// matches at more places. On lines without line breaks of their own, a
/// match that contains no `\n` is also a match of the original inside its
/// line, so the form counts for them; only a match that spans a line
/// break says nothing. Per-line calls cost about
/// half a microsecond each on the stock rules, mostly in starting the
/// search; one call per text saves a third of the time of the
/// literal-less body rules.
/// `form` is [`whole_hir`] of `hir`, made once by the caller (the sieve
/// reads it too).
fn whole_from_hir(
    hir: &regex_syntax::hir::Hir,
    form: Option<&regex_syntax::hir::Hir>,
    same: Option<&Native>,
) -> Option<Native> {
    match form {
        Some(h) => native_from_hir(h).ok(),
        // The pattern as it stands: its regex, when compiled already.
        None => same.cloned().or_else(|| native_from_hir(hir).ok()),
    }
}

/// Sets pattern `id`'s entry of a per-pattern list that ends at its last
/// entry.
fn put<T>(v: &mut Vec<Option<T>>, id: u32, x: T) {
    let i = id as usize;
    if v.len() <= i {
        v.resize_with(i + 1, || None);
    }
    v[i] = Some(x);
}

/// Most strings a [`literal_counter`] holds.
const MAX_COUNTER: usize = 64;

/// For a pattern that is an alternation of plain strings (after case
/// folding, a class of a few bytes is as many strings), none empty and
/// none with a line break: an automaton with those strings in the
/// pattern's order. Its leftmost-first matches are the regex's, one after
/// the other, so counting them needs no regex search (SpamAssassin's
/// `__E_LIKE_LETTER`, `/e/` up to 230 times, start one search a match).
fn literal_counter(hir: &regex_syntax::hir::Hir) -> Option<Counter> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    if !hir.properties().look_set().is_empty() {
        return None;
    }
    let seq = Extractor::new()
        .kind(ExtractKind::Prefix)
        .limit_total(MAX_COUNTER * 8)
        .extract(hir);
    let lits = seq.literals()?;
    if !seq.is_exact()
        || lits.is_empty()
        || lits.len() > MAX_COUNTER
        || lits
            .iter()
            .any(|l| l.as_bytes().is_empty() || l.as_bytes().contains(&b'\n'))
    {
        return None;
    }
    let bytes: Option<Vec<u8>> = lits
        .iter()
        .map(|l| match l.as_bytes() {
            &[b] => Some(b),
            _ => None,
        })
        .collect();
    match bytes.as_deref() {
        Some(&[a]) => return Some(Counter::One(a)),
        Some(&[a, b]) => return Some(Counter::Two(a, b)),
        Some(&[a, b, c]) => return Some(Counter::Three(a, b, c)),
        _ => {}
    }
    prefilter::Strings::new(
        aho_corasick::MatchKind::LeftmostFirst,
        lits.iter().map(|l| l.as_bytes()),
    )
    .map(Counter::Strings)
}

/// What counts the matches of a list of strings ([`literal_counter`]).
#[derive(Debug)]
enum Counter {
    /// One to three strings of one byte each: every occurrence of one of
    /// the bytes is a match, and `memchr` finds them many bytes at a time.
    /// SpamAssassin's `__LOWER_E` (`/e/`, up to 230 hits) is one; the
    /// automaton's iterator spent a search on each `e`.
    One(u8),
    Two(u8, u8),
    Three(u8, u8, u8),
    /// Other strings: one leftmost-first match after another
    /// ([`prefilter::Strings::count`]).
    Strings(prefilter::Strings),
}

impl Counter {
    /// The matches in `text`, up to `max`.
    fn count(&self, text: &[u8], max: usize) -> usize {
        match *self {
            Counter::One(a) => memchr::memchr_iter(a, text).take(max).count(),
            Counter::Two(a, b) => memchr::memchr2_iter(a, b, text).take(max).count(),
            Counter::Three(a, b, c) => memchr::memchr3_iter(a, b, c, text).take(max).count(),
            Counter::Strings(ref strings) => strings.count(text, max),
        }
    }
}

/// The syntax of [`whole_from_hir`]'s regex, or `None` when that is `hir`
/// as it stands.
fn whole_hir(hir: &regex_syntax::hir::Hir) -> Option<regex_syntax::hir::Hir> {
    use regex_syntax::hir::{Capture, Hir, HirKind, Look, Repetition};
    /// The rewritten node, or `None` when it holds no start-of-text or
    /// end-of-text assertion (then it stays as it is, uncopied).
    fn lines(h: &Hir) -> Option<Hir> {
        let looks = h.properties().look_set();
        if !looks.contains(Look::Start) && !looks.contains(Look::End) {
            return None;
        }
        let or_same = |c: &Hir| lines(c).unwrap_or_else(|| c.clone());
        Some(match h.kind() {
            HirKind::Look(Look::Start) => Hir::look(Look::StartLF),
            HirKind::Look(Look::End) => Hir::look(Look::EndLF),
            HirKind::Look(_) | HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) => {
                return None;
            }
            HirKind::Repetition(r) => Hir::repetition(Repetition {
                min: r.min,
                max: r.max,
                greedy: r.greedy,
                sub: Box::new(or_same(&r.sub)),
            }),
            HirKind::Capture(c) => Hir::capture(Capture {
                index: c.index,
                name: c.name.clone(),
                sub: Box::new(or_same(&c.sub)),
            }),
            HirKind::Concat(v) => Hir::concat(v.iter().map(or_same).collect()),
            HirKind::Alternation(v) => Hir::alternation(v.iter().map(or_same).collect()),
        })
    }
    lines(hir)
}

/// [`whole_from_hir`] of a translated native pattern.
#[cfg(test)]
pub(crate) fn whole_text(native: &str) -> Option<Native> {
    let hir = parse_native(native).ok()?;
    whole_from_hir(&hir, whole_hir(&hir).as_ref(), None)
}

/// The whole-text form of a literal-less line pattern; see
/// [`SetBuilder::lines`].
#[derive(Debug)]
pub(crate) enum Whole {
    /// The pattern itself, when it is native: its whole-text matches
    /// without a line break are its per-line matches.
    Exact(Native),
    /// For a fallback pattern (look-around, backreferences), its native
    /// superset (`Translation::relaxed`): no match over the whole text
    /// means the pattern matches no line, and the lines need not be run.
    Gate(Native),
}

impl Whole {
    /// The regex. Either form names the lines worth running: a line the
    /// pattern matches holds the start of a match of this regex over the
    /// whole text (see `rules::eval::whole_lines`).
    pub(crate) fn regex(&self) -> &Native {
        match self {
            Whole::Exact(re) | Whole::Gate(re) => re,
        }
    }
}

/// Compiles a translated native pattern.
pub(crate) fn native_regex(s: &str) -> Result<Native, RegexError> {
    native_from_hir(&parse_native(s)?)
}

/// Counts matches up to `max` the way Perl's `//g` walks a string: after
/// a non-empty match ending at `e` the next search starts at `e` and may
/// find an empty match there; after an empty match at `p` it starts at
/// `p + 1`. (The regex crate's own iterator skips an empty match right
/// after a non-empty one, so `/$/` would count once on `"a\n"` where Perl
/// counts twice.)
pub(crate) fn count_perl<E>(
    len: usize,
    max: usize,
    mut find: impl FnMut(usize) -> Result<Option<std::ops::Range<usize>>, E>,
) -> Result<usize, E> {
    let mut n = 0;
    let mut at = 0;
    while n < max && at <= len {
        let Some(m) = find(at)? else { break };
        n += 1;
        at = if m.is_empty() { m.end + 1 } else { m.end };
    }
    Ok(n)
}

#[derive(Debug)]
enum Matcher {
    Native(Native),
    /// A native pattern compiled forwards only: see [`forward`].
    Forward(Box<forward::Forward>),
    Fallback(Box<Fallback>),
    /// A Perl-only pattern rewritten exactly: see [`lead`].
    Lead(Box<lead::Lead>),
    /// A pattern that opens with look-aheads: see [`lead`].
    Ahead(Box<lead::Ahead>),
}

/// The split engine for a fallback pattern, where it pays: patterns with
/// a backreference. (Look-ahead alone is cheap on the backtracking engine,
/// which skips ahead to a literal; the split engine would read more.)
fn split_for(node: &perl::Node) -> Option<split::Split> {
    if node.max_backref() == 0 {
        return None;
    }
    split::Split::new(node)
}

/// A pattern's count gate, and for a native pattern the engine that
/// answers its yes/no questions once the gate passes.
#[derive(Debug)]
struct Gated {
    gate: prefilter::CountGate,
    /// Which of the set's distinct string sets the gate counts: patterns
    /// with the same one can share a count per text (see [`Set::gate`]).
    shared: u32,
    starts: Option<starts::Starts>,
}

/// Builds a [`Set`].
#[derive(Debug, Default)]
pub struct SetBuilder {
    matchers: Vec<Matcher>,
    literals: Vec<prefilter::Required>,
    /// Per pattern, the second set of [`prefilter::required_pair`].
    seconds: Vec<Option<prefilter::Lits>>,
    gates: Vec<Option<Box<Gated>>>,
    /// The distinct string sets of the gates, each with a gate on it that
    /// needs as many occurrences as the most any pattern on it needs.
    gate_strings: Vec<(prefilter::Lits, prefilter::CountGate)>,
    reach: Vec<Option<u32>>,
    line_start: Vec<bool>,
    /// With [`SetBuilder::lines`]: each pattern's native syntax tree (the
    /// relaxed superset for a fallback pattern) and whether it is exact.
    syntax: Option<Vec<(regex_syntax::hir::Hir, bool)>>,
    /// Whether the regexes only read short stretches
    /// ([`SetBuilder::short`]).
    short: bool,
}

impl SetBuilder {
    /// An empty builder.
    pub fn new() -> SetBuilder {
        SetBuilder::default()
    }

    /// A builder for patterns run line by line (body, rawbody and uri
    /// rules): each pattern without a required literal, a candidate on
    /// every line, also gets a form that runs once over the whole text.
    pub(crate) fn lines() -> SetBuilder {
        SetBuilder {
            syntax: Some(Vec::new()),
            short: true,
            ..SetBuilder::default()
        }
    }

    /// A builder for patterns run over short texts, such as one header's
    /// value: a pattern whose matches have a bounded length gets no literal
    /// search of its own (see `native_for`), as the line rules' do, which
    /// ask near the prefilter's strings. A pattern of a set for long texts
    /// (the whole header block, the raw message) gets one for its
    /// prefixes.
    pub(crate) fn short() -> SetBuilder {
        SetBuilder {
            short: true,
            ..SetBuilder::default()
        }
    }

    /// Adds a Perl pattern with its flags (`i`, `s`, `m`, `x`; unknown
    /// flags ignored as SpamAssassin does) and returns its id (0, 1, 2, ...
    /// in order of addition) and engine.
    ///
    /// Flags are the letters after the closing delimiter. Perl accepts
    /// `i m s x xx n p a aa u l d`; `g`, `o` and `c` make Perl warn, which
    /// SpamAssassin turns into a compile error, so they are
    /// [`RegexError::Invalid`] here too.
    pub fn add(&mut self, pattern: &str, flags: &str) -> Result<(u32, EngineKind), RegexError> {
        self.add_bytes(pattern.as_bytes(), flags)
    }

    /// [`SetBuilder::add`] for a pattern that is not UTF-8.
    pub fn add_bytes(
        &mut self,
        pattern: &[u8],
        flags: &str,
    ) -> Result<(u32, EngineKind), RegexError> {
        self.add_with(pattern, flags, false)
    }

    /// [`SetBuilder::add`] for a pattern that will only be asked whether a
    /// text holds a match ([`Set::count`] up to 1, as a rule without
    /// `tflags multiple` asks): the optional parts it starts with are left
    /// out (see [`trim`]). Asked for more, it may count differently.
    pub fn add_yes_no(
        &mut self,
        pattern: &str,
        flags: &str,
    ) -> Result<(u32, EngineKind), RegexError> {
        self.add_with(pattern.as_bytes(), flags, true)
    }

    fn add_with(
        &mut self,
        pattern: &[u8],
        flags: &str,
        yes_no: bool,
    ) -> Result<(u32, EngineKind), RegexError> {
        let id = u32::try_from(self.matchers.len())
            .map_err(|_| RegexError::Unsupported("too many patterns".into()))?;
        let (node, _groups) = perl::parse(pattern, flags)?;
        let node = if possessive::has_runs(&node) {
            possessive::plain_runs(&node)
        } else {
            node
        };
        // A trimmed pattern keeps the count gate of the whole: a text
        // that holds a match of one holds a match of the other.
        let (node, untrimmed) = match yes_no.then(|| trim::start(&node)).flatten() {
            Some(trimmed) => (trimmed, Some(node)),
            None => (node, None),
        };
        // The native syntax tree is built once: for the matcher, the
        // prefilter and the whole-text form.
        let (matcher, hir, kind, req, second) = match perl::native_hir(&node) {
            Ok(hir) => {
                let (req, second) = prefilter::Required::with_second(&hir);
                let matcher = native_matcher(&hir, &req, self.short)?;
                (matcher, hir, EngineKind::Native, req, second)
            }
            // A pattern that opens with look-aheads: the prefilter and the
            // whole-text form read its native rest, which every match is a
            // match of.
            Err(_) if let Some((ahead, rest, req)) = lead::Ahead::new(&node, self.short) => (
                Matcher::Ahead(Box::new(ahead)),
                rest,
                EngineKind::Fallback,
                req,
                None,
            ),
            Err(_) => {
                let hir = perl::relaxed_hir(&node);
                let (req, second) = prefilter::Required::with_second(&hir);
                let matcher = match lead::Lead::new(&node) {
                    Some(lead) => Matcher::Lead(Box::new(lead)),
                    None => {
                        let relaxed = native_for(&hir, &req, self.short).ok();
                        let fb =
                            Fallback::with_relaxed(&node, relaxed)?.with_split(split_for(&node));
                        Matcher::Fallback(Box::new(fb))
                    }
                };
                (matcher, hir, EngineKind::Fallback, req, second)
            }
        };
        // `(?m)^...`: every match starts a line.
        self.line_start.push(
            matches!(matcher, Matcher::Native(_) | Matcher::Forward(_))
                && hir
                    .properties()
                    .look_set_prefix()
                    .contains(regex_syntax::hir::Look::StartLF),
        );
        self.seconds.push(second);
        self.literals.push(req);
        // The prefilter's strings are those of `hir`, and so is the
        // longest match of the regex that runs near them.
        self.reach.push(match matcher {
            Matcher::Lead(_) => None,
            _ => hir
                .properties()
                .maximum_len()
                .and_then(|n| u32::try_from(n).ok()),
        });
        let whole = untrimmed.as_ref().map(perl::relaxed_hir);
        let gated = whole.as_ref().unwrap_or(&hir);
        let gate = prefilter::CountGate::strings_of(gated).and_then(|(n, strings)| {
            let k = match self.gate_strings.iter().position(|(s, _)| *s == strings) {
                Some(k) => k,
                None => {
                    let gate = prefilter::CountGate::new(n, &strings)?;
                    self.gate_strings.push((strings, gate));
                    self.gate_strings.len() - 1
                }
            };
            // One automaton for all gates on the same strings.
            let most = &mut self.gate_strings[k].1;
            let gate = most.needing(n);
            if n > most.needs() {
                *most = gate.needing(n);
            }
            Some((gate, k as u32))
        });
        self.gates.push(gate.map(|(gate, shared)| {
            // A pattern with a count gate repeats a large part: its yes/no
            // questions run one attempt at a time.
            let starts = match &matcher {
                Matcher::Native(_) => starts::Starts::new(&hir),
                Matcher::Forward(f) => Some(starts::Starts::of(f.dfa().clone())),
                _ => None,
            };
            Box::new(Gated {
                gate,
                shared,
                starts,
            })
        }));
        if let Some(syntax) = &mut self.syntax {
            syntax.push((hir, kind == EngineKind::Native));
        }
        self.matchers.push(matcher);
        Ok((id, kind))
    }

    /// Compiles the prefilter.
    pub fn build(self) -> Set {
        let prefilter = Prefilter::with_required(&self.literals, &self.seconds);
        let mut whole: Vec<Option<Whole>> = Vec::new();
        let mut sieves: Vec<Option<Native>> = Vec::new();
        let mut counters: Vec<Option<Counter>> = Vec::new();
        if let Some(syntax) = &self.syntax {
            for (id, req) in self.literals.iter().enumerate() {
                if req.strings().is_some() {
                    continue;
                }
                let id = id as u32;
                // The regex already compiled from the same syntax: the
                // native matcher, or a fallback's relaxed pre-check.
                let same = match self.matchers.get(id as usize) {
                    Some(Matcher::Native(re)) => Some(re),
                    Some(Matcher::Fallback(fb)) => fb.relaxed(),
                    Some(Matcher::Ahead(a)) => Some(a.rest()),
                    _ => None,
                };
                let Some((hir, exact)) = syntax.get(id as usize) else {
                    continue;
                };
                let form = whole_hir(hir);
                if let Some(re) = whole_from_hir(hir, form.as_ref(), same) {
                    if let Some(sieve) = sieve::sieve(form.as_ref().unwrap_or(hir)) {
                        put(&mut sieves, id, sieve);
                    }
                    if *exact && let Some(ac) = literal_counter(hir) {
                        put(&mut counters, id, ac);
                    }
                    let form = if *exact {
                        Whole::Exact(re)
                    } else {
                        Whole::Gate(re)
                    };
                    put(&mut whole, id, form);
                }
            }
        }
        Set {
            prefilter,
            matchers: self.matchers,
            gates: self.gates,
            gate_upto: self.gate_strings.iter().map(|(_, g)| g.needs()).collect(),
            whole,
            sieves,
            counters,
            reach: self.reach,
            line_start: self.line_start,
        }
    }
}

/// Compiled patterns plus a prefilter of their required literals.
/// Immutable, `Send + Sync`.
#[derive(Debug)]
pub struct Set {
    matchers: Vec<Matcher>,
    /// Per pattern, a [`prefilter::CountGate`] it must pass first.
    gates: Vec<Option<Box<Gated>>>,
    /// Per distinct gate string set, the most occurrences a gate on it
    /// needs: what [`Set::gate_count`] counts up to.
    gate_upto: Vec<usize>,
    prefilter: Prefilter,
    /// Per pattern, its whole-text form (see [`Whole`]); none past the
    /// last pattern that has one.
    whole: Vec<Option<Whole>>,
    /// Per pattern with a whole-text form, its [`sieve`] when it has one;
    /// none past the last that has.
    sieves: Vec<Option<Native>>,
    /// Per native pattern without a required literal that is a short
    /// list of strings, an automaton that counts its matches (see
    /// [`literal_counter`]); none past the last that has one.
    counters: Vec<Option<Counter>>,
    /// Per pattern, the longest match of the native pattern (or of a
    /// fallback's relaxed pre-check), when it is bounded: see
    /// [`Set::is_match_near`].
    reach: Vec<Option<u32>>,
    /// Per pattern, true when it is native and every match of it starts
    /// a line (`(?m)^` first): in a text without a line break, only at
    /// its start.
    line_start: Vec<bool>,
}

impl Set {
    /// Appends to `out` (sorted, without duplicates) the ids of the patterns
    /// that may match somewhere in `text`: those whose required literals
    /// occur in it, and those with no required literal. A pattern not
    /// returned cannot match `text` or any part of it.
    pub fn candidates(&self, text: &[u8], out: &mut Vec<u32>) {
        self.prefilter.candidates(text, out);
    }

    /// [`Set::candidates`] with reusable buffers.
    pub fn candidates_with(&self, text: &[u8], out: &mut Vec<u32>, scratch: &mut SetScratch) {
        self.prefilter.candidates_with(text, out, scratch);
    }

    /// Like [`Set::candidates`], but says in which lines each candidate
    /// may match, and where there its required strings are: appends one
    /// [`Candidate`] per pattern and line, sorted, where the line indexes
    /// `lines` (`start..end` ranges of `text`, increasing, not
    /// overlapping) or is [`ALL_LINES`] for a pattern with no required
    /// string. A match of pattern `id` inside a line not named for it is
    /// impossible; [`Set::is_match_near`] uses the places.
    pub fn candidate_lines(
        &self,
        text: &[u8],
        lines: &[(u32, u32)],
        out: &mut Vec<Candidate>,
        scratch: &mut SetScratch,
    ) {
        self.prefilter.candidate_lines(text, lines, out, scratch);
    }

    /// Whether pattern `id` matches in `line`, which starts at offset
    /// `at` of the text that `c` (a [`Set::candidate_lines`] answer for
    /// this line) was found in: [`Set::count`] up to one, except that a
    /// pattern whose matches have a bounded length only looks near its
    /// required strings, from `c.first_end` back and from `c.last_start`
    /// on by that length. Every match holds one of the strings, so none
    /// is lost; on paragraphs of hundreds of bytes, a rule whose string
    /// occurs once reads a few dozen.
    pub fn is_match_near(&self, c: &Candidate, line: &[u8], at: u32, budget: &mut Budget) -> bool {
        self.near(c, line, at, budget, true)
    }

    /// [`Set::is_match_near`] for a line whose gate count ([`Set::gate`])
    /// the caller has checked.
    pub fn is_match_near_past_gate(
        &self,
        c: &Candidate,
        line: &[u8],
        at: u32,
        budget: &mut Budget,
    ) -> bool {
        self.near(c, line, at, budget, false)
    }

    /// The patterns that count a gate's strings ([`prefilter::CountGate`])
    /// before they run: which of the set's distinct string sets pattern
    /// `id` counts, and how many disjoint occurrences it needs. Patterns
    /// with the same set can share one [`Set::gate_count`] per text: the
    /// four `__FILL_THIS_FORM_{SHORT,LONG}{1,2}` rules count the same 307
    /// form words on the same lines.
    pub fn gate(&self, id: u32) -> Option<(u32, usize)> {
        let g = self.gates.get(id as usize)?.as_ref()?;
        Some((g.shared, g.gate.needs()))
    }

    /// The disjoint occurrences in `text` of the strings of pattern `id`'s
    /// gate, counted as far as any gate on the same strings needs.
    pub fn gate_count(&self, id: u32, text: &[u8]) -> usize {
        match self.gates.get(id as usize) {
            Some(Some(g)) => {
                let upto = self.gate_upto.get(g.shared as usize).copied();
                g.gate.count(text, upto.unwrap_or(g.gate.needs()))
            }
            _ => 0,
        }
    }

    fn near(&self, c: &Candidate, line: &[u8], at: u32, budget: &mut Budget, gate: bool) -> bool {
        let span = match self.reach.get(c.id as usize) {
            Some(&Some(n)) => {
                let from = (c.first_end.saturating_sub(at)).saturating_sub(n) as usize;
                let to = (c.last_start.saturating_sub(at)).saturating_add(n) as usize;
                from.min(line.len())..to.min(line.len())
            }
            _ => 0..line.len(),
        };
        self.count_in(c.id, line, span, 1, budget, gate) > 0
    }

    /// Counts the non-overlapping matches of pattern `id` in `text`, up to
    /// `max` (use 1 for a yes/no test). An unknown id counts 0. A fallback
    /// pattern that finds the budget empty, or exceeds its backtrack limit,
    /// counts 0 and sets `budget.exhausted`.
    pub fn count(&self, id: u32, text: &[u8], max: usize, budget: &mut Budget) -> usize {
        self.count_in(id, text, 0..text.len(), max, budget, true)
    }

    /// [`Set::count`] for a text whose gate count ([`Set::gate`]) the
    /// caller has checked.
    pub fn count_past_gate(&self, id: u32, text: &[u8], max: usize, budget: &mut Budget) -> usize {
        self.count_in(id, text, 0..text.len(), max, budget, false)
    }

    /// [`Set::count`], where a yes/no answer (`max` 1) only depends on
    /// whether a match lies inside `span`: the native engines read only
    /// that, with the rest of `text` around it for `^`, `$` and `\b`.
    /// Without `gate`, the pattern's count gate is taken as passed.
    fn count_in(
        &self,
        id: u32,
        text: &[u8],
        span: std::ops::Range<usize>,
        max: usize,
        budget: &mut Budget,
        gate: bool,
    ) -> usize {
        if max == 0 {
            return 0;
        }
        let near = regex_automata::Input::new(text).range(span);
        // A pattern whose matches start lines, on one line: a match can
        // only start where the line does, so a window that starts later
        // holds none.
        let one_line = self.line_start.get(id as usize).copied().unwrap_or(false)
            && memchr::memchr(b'\n', text).is_none();
        if one_line && max == 1 && near.start() > 0 {
            return 0;
        }
        if let Some(Some(g)) = self.gates.get(id as usize) {
            if gate && !g.gate.passes(text) {
                return 0;
            }
            if max == 1
                && !one_line
                && let Some(hit) = g.starts.as_ref().and_then(|s| s.is_match(text))
            {
                return usize::from(hit);
            }
        }
        match self.matchers.get(id as usize) {
            None => 0,
            // One anchored attempt (the regex crate would read the whole
            // line looking for another line start); a match there is the
            // only one.
            Some(Matcher::Native(re)) if one_line => {
                let input = match max {
                    1 => near,
                    _ => regex_automata::Input::new(text),
                };
                usize::from(re.is_match(input.anchored(regex_automata::Anchored::Yes)))
            }
            Some(Matcher::Forward(re)) if one_line => {
                let input = match max {
                    1 => near,
                    _ => regex_automata::Input::new(text),
                };
                usize::from(re.is_match_anchored(input))
            }
            Some(Matcher::Forward(re)) => match max {
                1 => usize::from(re.is_match(near)),
                _ => re.count(text, max),
            },
            Some(Matcher::Native(re)) => {
                if max == 1 {
                    usize::from(re.is_match(near))
                } else {
                    let r: Result<usize, ()> = count_perl(text.len(), max, |at| {
                        let input = regex_automata::Input::new(text).range(at..);
                        Ok(re.find(input).map(|m| m.range()))
                    });
                    r.unwrap_or(0)
                }
            }
            Some(Matcher::Lead(lead)) => lead.count(text, max),
            Some(Matcher::Ahead(ahead)) => {
                let span = match max {
                    1 => near.get_span().range(),
                    _ => 0..text.len(),
                };
                ahead.count(text, span, max).unwrap_or_else(|_| {
                    budget.exhausted = true;
                    0
                })
            }
            Some(Matcher::Fallback(fb)) => {
                if fb.ruled_out(near) {
                    return 0;
                }
                if budget.left == 0 {
                    budget.exhausted = true;
                    return 0;
                }
                budget.left -= 1;
                match fb.count(text, max) {
                    Ok(n) => n,
                    Err(_) => {
                        budget.exhausted = true;
                        0
                    }
                }
            }
        }
    }

    /// The whole-text form of pattern `id`, for a set built with
    /// [`SetBuilder::lines`] and a pattern without a required literal.
    pub(crate) fn whole(&self, id: u32) -> Option<&Whole> {
        self.whole.get(id as usize)?.as_ref()
    }

    /// The [`sieve`] of pattern `id`, which has a whole-text form
    /// ([`Set::whole`]): where it finds no match in a text, that form
    /// finds none either, and no line of the text matches the pattern.
    pub(crate) fn sieve(&self, id: u32) -> Option<&Native> {
        self.sieves.get(id as usize)?.as_ref()
    }

    /// Counts, up to `max`, the matches of pattern `id` in `text`, lines
    /// joined by `\n`, when it is a list of strings without a line break
    /// ([`literal_counter`]): then each match lies in one line, and the
    /// count is the sum of the lines' counts.
    pub(crate) fn count_literals(&self, id: u32, text: &[u8], max: usize) -> Option<usize> {
        Some(self.counters.get(id as usize)?.as_ref()?.count(text, max))
    }

    /// True when some pattern has a whole-text form.
    pub(crate) fn has_whole(&self) -> bool {
        !self.whole.is_empty()
    }

    /// Roughly what running pattern `id` once costs: the heap size of its
    /// regex (a fallback's relaxed pre-check), and of its whole-text form.
    /// Lazy DFAs of large regexes build states all along, and their
    /// searches cost in proportion.
    pub fn weight(&self, id: u32) -> usize {
        let own = match self.matchers.get(id as usize) {
            Some(Matcher::Native(re)) => re.memory_usage(),
            Some(Matcher::Forward(re)) => re.memory_usage(),
            Some(Matcher::Fallback(fb)) => fb.relaxed().map_or(0, Native::memory_usage),
            Some(Matcher::Ahead(a)) => a.rest().memory_usage(),
            _ => 0,
        };
        own + self.whole(id).map_or(0, |w| w.regex().memory_usage())
    }

    /// True when pattern `id` has a [`prefilter::CountGate`]: it repeats a
    /// large part, and its questions are the costliest a set answers.
    pub fn is_gated(&self, id: u32) -> bool {
        matches!(self.gates.get(id as usize), Some(Some(_)))
    }

    /// The engine of pattern `id`.
    pub fn kind(&self, id: u32) -> Option<EngineKind> {
        self.matchers.get(id as usize).map(|m| match m {
            Matcher::Native(_) | Matcher::Forward(_) => EngineKind::Native,
            Matcher::Fallback(_) | Matcher::Lead(_) | Matcher::Ahead(_) => EngineKind::Fallback,
        })
    }

    /// True when pattern `id` answers yes/no questions on the
    /// [`split`] engine (it still reports [`EngineKind::Fallback`]).
    pub fn is_split(&self, id: u32) -> bool {
        matches!(self.matchers.get(id as usize), Some(Matcher::Fallback(f)) if f.has_split())
    }

    /// Number of patterns that are candidates on every text (no usable
    /// required literal).
    pub fn always_candidates(&self) -> usize {
        self.prefilter.always_count()
    }

    /// Number of patterns that are candidates on every text that is not
    /// plain ASCII, and on plain text only when a required string occurs.
    pub fn plain_only_candidates(&self) -> usize {
        self.prefilter.plain_only_count()
    }

    /// Number of distinct strings in the prefilter automaton.
    pub fn literal_count(&self) -> usize {
        self.prefilter.literal_count()
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.matchers.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
