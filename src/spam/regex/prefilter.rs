//! Required literals and the one automaton that looks for all of them.
//!
//! Most SpamAssassin rules cannot match a message unless some plain string
//! occurs in it: `/\bviagra\b/i` needs `viagra`, `/(?:cheap|free) pills/`
//! needs ` pills`. If every pattern's string is put into one Aho-Corasick
//! automaton, one pass over the text tells which patterns are worth running
//! at all, and the regex engines only see the few that are.
//!
//! [`required`] computes, from a pattern's HIR (regex-syntax), a set of
//! strings such that every match contains at least one of them:
//!
//! * a literal requires itself, and a small class (after merging ASCII case
//!   pairs) is a set of one-byte strings;
//! * a concatenation glues runs of children whose whole language is a small
//!   finite set (their cross product), and keeps the best of those runs and
//!   of its other children's own sets; when a product would grow too large,
//!   the run's strings already long enough are kept as they are and only
//!   the short ones go on growing;
//! * an alternation needs the union of its branches' sets, and has none as
//!   soon as one branch has none;
//! * a repetition with a minimum of at least one requires what its body
//!   requires; with a minimum of zero, nothing.
//!
//! A set is only usable when all its strings are at least [`MIN_LEN`] bytes
//! long; shorter ones would make the pattern a candidate on nearly every
//! text anyway. Strings and texts are folded before they meet:
//! ASCII lowercased, and every ASCII whitespace byte a space. That can
//! only add candidates, never lose one.
//!
//! The automaton reports overlapping matches, so every occurrence of every
//! string is seen: a match of `abc` cannot hide one of `bcd`.
//!
//! SpamAssassin's look-alike rules (`<V><I><A><G><R><A>`, each tag an
//! alternation of ASCII letters, UTF-8 homoglyphs and HTML character
//! references) have no required string at all, since every letter has a
//! hundred spellings. But most lines of mail are plain ASCII without `&`,
//! and there a tag is one of two or three bytes. [`required_plain`] reads
//! the pattern as if the text were plain ([`is_plain`]) and finds the
//! strings it needs there; such a pattern is a candidate on a line that is
//! not plain, and on a plain line only when one of those strings occurs in
//! it. On the stock rules this takes 41 of the 114 literal-less body rules
//! off most lines (callgrind, 400 corpus messages: 8.84 to 8.40 million
//! instructions per message).
//!
//! Other look-alike rules put separators between the letters,
//! `p[_\W]{0,3}h[_\W]{0,3}e...`, so no string survives even in plain
//! text. Deleting from a line everything but ASCII letters and digits (its
//! *skeleton*) deletes the separators too, and there the rule needs
//! `phe...` ([`required_skeleton`]). A second automaton looks for those
//! strings in the skeleton of each plain line (callgrind, the same 400
//! messages: 9.88 to 9.53 million instructions per message). A tag with
//! punctuation among its spellings (`[iIl|!1y?]`) may leave nothing in a
//! skeleton, so SpamAssassin's `FUZZY_*` words, every tag once or twice,
//! spell `pr` beside `pri`, `prl`, `ppr`...: too many strings to extend
//! them all, and `pr` too short to stop at. Growing only the short ones
//! gives those rules a set too: on the stock body rules, 32 rules run on
//! every text instead of 39.
//!
//! A skeleton is not only for plain text. A rule whose look-alikes are
//! ASCII or character references (`(?:i|&iuml;)`, `__DRUGS_ERECTILE10`),
//! with separators that take any non-word byte, keeps its letters in the
//! skeleton of any text: `&iuml;` leaves `iuml`, and the `&`, `;` and
//! 8-bit bytes go. Such a rule ([`required_letters`]) need not run on
//! every line that is not plain, which in HTML is nearly every line, but
//! only where its letters are. This is tried before the plain-text sets
//! and takes 2.4% off a corpus message (callgrind, stock rules, every 15th
//! message: 4.77 to 4.66 million instructions on the first pass, 3.47 to
//! 3.39 warm). A look-alike spelled with UTF-8 homoglyphs leaves nothing
//! of that letter, and stays a plain-text rule.
//!
//! The automaton also says where the strings are. Every match holds one
//! of its pattern's strings, so a pattern whose matches are at most `n`
//! bytes long matches inside a line only within `n` bytes of a string
//! found there: from `n` before the earliest end of one to `n` after the
//! latest start. [`Prefilter::candidate_lines`] gives each candidate line
//! those two places ([`Candidate`]), and a yes/no question about a body
//! paragraph reads only that stretch of it (`Set::is_match_near`).
//!
//! A pattern whose set is common (`chosen`, `account `) can have a second
//! set, of another part of the sequence it is ([`required_pair`]), in the
//! same automaton: it is a candidate only where both are found. Rules
//! such as `__YOU_WON_03` then stay off the lines with only one of their
//! two words.
//!
//! ```
//! use filter::spam::regex::SetBuilder;
//! let mut b = SetBuilder::new();
//! b.add(r"\bcheap (?:pills|meds)\b", "i").unwrap();
//! b.add(r"^\s*$", "").unwrap(); // no literal: always a candidate
//! let set = b.build();
//! let mut out = Vec::new();
//! set.candidates(b"nothing here", &mut out);
//! assert_eq!(out, [1]);
//! out.clear();
//! set.candidates(b"Buy CHEAP Meds now", &mut out);
//! assert_eq!(out, [0, 1]);
//! ```

use super::hash;

use aho_corasick::automaton::StateID;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Shortest string worth looking for.
pub const MIN_LEN: usize = 3;
/// Most strings in one set.
const MAX_SET: usize = 64;
/// Most strings in a required set: an alternation of many words (the stock
/// `__FILL_THIS_FORM_*` rules name hundreds of form fields) still needs one
/// of them, and looking for more strings costs the automaton little, while
/// a pattern without a set runs on every line. Measured on the stock rules
/// and the corpus: 64 left 157 body rules without a set, 256 left 145,
/// 1,024 leaves 139 (and takes the two costliest, `__FILL_THIS_FORM_LONG2`
/// and `_SHORT2`, from 60 µs to 7 µs per message each); more changes
/// nothing.
const MAX_REQUIRED: usize = 1024;
/// Most distinct bytes a class may have to count as a set of literals.
const MAX_CLASS: usize = 8;
/// Longest string handed to the automaton (a prefix is still required).
/// Sixteen bytes pick about the same candidates as 32 did, and the stock
/// body rules' automaton is a DFA of 4,245 strings in 9.9 MB of tables
/// instead of 4,577 in 14.0 MB: 5% less work to load the stock rules,
/// for 0.1% more per message. Shorter still (12, 10) adds more per
/// message than it saves in loading.
const MAX_LIT: usize = 16;

/// A first set scoring this or more gets no second set. A second set
/// costs its strings in the automaton, which takes longer to build, and
/// pays only where the first is common: on the stock rules, pairing all
/// 434 patterns that have a second set made loading 3.5% dearer and
/// scanning 2% cheaper; pairing the 220 below 60, loading 1.7% dearer and
/// scanning 2.3% cheaper (instructions, `valgrind
/// --tool=callgrind`, every fifteenth message of the public corpus).
const PAIR_BELOW: i64 = 60;

/// A set of strings, one of which must occur.
pub type Lits = Vec<Vec<u8>>;

/// What is known about one HIR node.
struct Info {
    /// The whole language, when small and finite.
    exact: Option<Lits>,
    /// The best usable required set.
    best: Option<Lits>,
    /// Every match starts with one of these (read [`Info::pre`]: with an
    /// exact language, that language, kept only there).
    pre: Option<Lits>,
    /// Every match ends with one of these (read [`Info::suf`], likewise).
    suf: Option<Lits>,
}

impl Info {
    /// The strings every match starts with.
    fn pre(&self) -> Option<&Lits> {
        self.pre.as_ref().or(self.exact.as_ref())
    }

    /// The strings every match ends with.
    fn suf(&self) -> Option<&Lits> {
        self.suf.as_ref().or(self.exact.as_ref())
    }
}

/// Rarity of a byte in mail text (higher is rarer).
fn weight(b: u8) -> u32 {
    match b {
        b' ' | b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b'h' | b'l' => 1,
        b'a'..=b'z' => 2,
        b'0'..=b'9' | b'.' | b',' | b'\n' => 2,
        _ => 3,
    }
}

fn usable(l: &Lits) -> bool {
    !l.is_empty() && l.len() <= MAX_REQUIRED && l.iter().all(|s| s.len() >= MIN_LEN)
}

/// Higher is better: the rarity of the weakest string, less a little for
/// set size.
fn score(l: &Lits) -> i64 {
    let min = l
        .iter()
        .map(|s| s.iter().map(|&b| i64::from(weight(b))).sum::<i64>())
        .min()
        .unwrap_or(0);
    min * 4 - i64::from(usize::BITS - l.len().leading_zeros())
}

fn better(a: Option<Lits>, b: Option<Lits>) -> Option<Lits> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if score(&b) > score(&a) { b } else { a }),
        (a, b) => a.or(b),
    }
}

fn only_usable(l: Option<Lits>) -> Option<Lits> {
    l.filter(usable)
}

fn norm(mut l: Lits) -> Lits {
    for s in &mut l {
        s.make_ascii_lowercase();
    }
    l.sort_unstable();
    l.dedup();
    l
}

fn product(a: &Lits, b: &Lits) -> Option<Lits> {
    if a.len().saturating_mul(b.len()) > MAX_SET {
        return None;
    }
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            // One allocation of the final length (a clone of `x` would
            // grow again for `y`).
            let mut s = Vec::with_capacity(x.len() + y.len());
            s.extend_from_slice(x);
            s.extend_from_slice(y);
            out.push(s);
        }
    }
    Some(norm(out))
}

fn class_lits(c: &Class) -> Option<Lits> {
    let mut bytes: Vec<u8> = Vec::new();
    match c {
        Class::Bytes(b) => {
            for r in b.iter() {
                for x in r.start()..=r.end() {
                    bytes.push(x.to_ascii_lowercase());
                    if bytes.len() > 4 * MAX_CLASS {
                        return None;
                    }
                }
            }
        }
        Class::Unicode(u) => {
            for r in u.iter() {
                let (lo, hi) = (u32::from(r.start()), u32::from(r.end()));
                if hi >= 0x80 || hi - lo > 4 * MAX_CLASS as u32 {
                    return None;
                }
                for x in lo..=hi {
                    bytes.push((x as u8).to_ascii_lowercase());
                }
            }
        }
    }
    bytes.sort_unstable();
    bytes.dedup();
    (bytes.len() <= MAX_CLASS).then(|| bytes.into_iter().map(|b| vec![b]).collect())
}

fn none() -> Info {
    Info {
        exact: None,
        best: None,
        pre: None,
        suf: None,
    }
}

/// A node that matches nothing (an empty class, or a part of one).
fn never() -> Info {
    exact_info(Vec::new())
}

fn is_never(i: &Info) -> bool {
    i.exact.as_ref().is_some_and(Vec::is_empty)
}

/// A node whose whole language is `e` (its prefixes and suffixes are `e`
/// too, not copied).
fn exact_info(e: Lits) -> Info {
    Info {
        best: usable(&e).then(|| e.clone()),
        pre: None,
        suf: None,
        exact: Some(e),
    }
}

/// The union of sets added one at a time, as the sets of an
/// alternation's branches: unknown (`None`) as soon as one of them is, or
/// once the union outgrows [`MAX_SET`]. Normalised only when it grows past
/// the bound and at the end, not on every branch.
struct Union(Option<Lits>);

impl Union {
    fn new() -> Union {
        Union(Some(Vec::new()))
    }

    fn add(&mut self, b: Option<&Lits>) {
        let Some(a) = &mut self.0 else { return };
        let Some(b) = b else {
            self.0 = None;
            return;
        };
        a.extend(b.iter().cloned());
        if a.len() > MAX_SET {
            let n = norm(std::mem::take(a));
            self.0 = (n.len() <= MAX_SET).then_some(n);
        }
    }

    fn finish(self) -> Option<Lits> {
        self.0.map(norm)
    }
}

/// What is known about `h`, or with `leaf`, about `h` with every leaf
/// (literal, class, look-around assertion, empty) `x` read as `leaf(x)`,
/// without rebuilding the tree.
fn info(h: &Hir, depth: u32, leaf: Option<&dyn Fn(&Hir) -> Hir>) -> Info {
    if depth > 100 {
        return none();
    }
    if let Some(f) = leaf
        && matches!(
            h.kind(),
            HirKind::Empty | HirKind::Look(_) | HirKind::Literal(_) | HirKind::Class(_)
        )
    {
        return info(&f(h), depth + 1, None);
    }
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => exact_info(vec![Vec::new()]),
        HirKind::Literal(l) => exact_info(norm(vec![l.0.to_vec()])),
        HirKind::Class(c) => match class_lits(c) {
            Some(e) => exact_info(e),
            None => none(),
        },
        HirKind::Capture(c) => info(&c.sub, depth + 1, leaf),
        HirKind::Repetition(r) => {
            let sub = info(&r.sub, depth + 1, leaf);
            if is_never(&sub) {
                return if r.min == 0 {
                    exact_info(vec![Vec::new()])
                } else {
                    never()
                };
            }
            let mut exact = None;
            if let (Some(se), Some(mx)) = (&sub.exact, r.max)
                && mx <= 4
            {
                let mut all: Lits = Vec::new();
                let mut pow: Lits = vec![Vec::new()];
                let mut ok = true;
                for k in 0..=mx {
                    if k >= r.min {
                        all.extend(pow.iter().cloned());
                    }
                    if k < mx {
                        match product(&pow, se) {
                            Some(p) => pow = p,
                            None => {
                                ok = false;
                                break;
                            }
                        }
                    }
                }
                if ok && all.len() <= MAX_SET {
                    exact = Some(norm(all));
                }
            }
            if let Some(e) = exact {
                let mut i = exact_info(e);
                if r.min >= 1 {
                    i.best = better(i.best, sub.best);
                }
                return i;
            }
            if r.min == 0 {
                return none();
            }
            // At least `min` iterations: a match starts with the body's
            // prefix and ends with its suffix, and contains body^min.
            let mut best = sub.best;
            let (mut pre, mut suf) = (sub.pre, sub.suf);
            // (With an exact body, both are replaced here.)
            if let Some(se) = &sub.exact {
                let mut pow = se.clone();
                for _ in 1..r.min.min(8) {
                    match product(&pow, se) {
                        Some(p) => pow = p,
                        None => break,
                    }
                }
                best = better(best, only_usable(Some(pow.clone())));
                pre = Some(pow.clone());
                suf = Some(pow);
            }
            Info {
                exact: None,
                best,
                pre,
                suf,
            }
        }
        HirKind::Concat(subs) => concat(subs, depth, leaf, None),
        HirKind::Alternation(subs) => {
            let mut exact = Union::new();
            let mut best: Option<Lits> = Some(Vec::new());
            let mut pre = Union::new();
            let mut suf = Union::new();
            let mut live = 0;
            for s in subs {
                let i = info(s, depth + 1, leaf);
                if is_never(&i) {
                    // A branch that cannot match requires nothing.
                    continue;
                }
                live += 1;
                pre.add(i.pre());
                suf.add(i.suf());
                let b = better(i.best, i.exact.as_ref().filter(|e| usable(e)).cloned());
                match (&mut best, b) {
                    (Some(acc), Some(b)) => acc.extend(b),
                    _ => best = None,
                }
                exact.add(i.exact.as_ref());
                // Nothing is known any more (a live branch made it so),
                // and no other branch can bring it back. A look-alike
                // letter of SpamAssassin's stock rules, a class of more
                // than `MAX_CLASS` bytes and then dozens of UTF-8
                // spellings (`(?:[iIl|!1\xcc-\xcf\xec-\xef]|\xc3[\x8c-\x8f]|…)`),
                // ends at its first branch: 30% less time finding the
                // stock rules' required strings.
                if exact.0.is_none() && pre.0.is_none() && suf.0.is_none() && best.is_none() {
                    return none();
                }
            }
            if live == 0 {
                return never();
            }
            let (exact, pre, suf) = (exact.finish(), pre.finish(), suf.finish());
            let best = best.map(norm).filter(usable);
            let best = better(best, exact.as_ref().filter(|e| usable(e)).cloned());
            if exact.is_some() {
                // All branches exact: the prefixes and suffixes are the
                // language itself.
                return Info {
                    exact,
                    best,
                    pre: None,
                    suf: None,
                };
            }
            Info {
                exact,
                best,
                pre,
                suf,
            }
        }
    }
}

/// [`info`] of a concatenation. With `found`, every set found on the way
/// that a match needs (a part's, a run's) is also pushed there.
fn concat(
    subs: &[Hir],
    depth: u32,
    leaf: Option<&dyn Fn(&Hir) -> Hir>,
    mut found: Option<&mut Vec<Lits>>,
) -> Info {
    let mut seen = |l: Option<Lits>| {
        if let (Some(f), Some(l)) = (found.as_deref_mut(), &l) {
            f.push(l.clone());
        }
        l
    };
    let empty = || vec![Vec::new()];
    // The run: what the children since the last break spell, each
    // string still growing. `closed`: strings of the run long
    // enough to be required as they are, no longer extended (see
    // below); the run then only holds the short ones' extensions.
    let mut run: Lits = empty();
    let mut closed: Lits = Vec::new();
    let with_closed = |closed: &Lits, run: Lits| {
        if closed.is_empty() {
            return run;
        }
        let mut all = closed.clone();
        all.extend(run);
        all
    };
    let mut all_exact = true;
    let mut best: Option<Lits> = None;
    let mut pre: Option<Lits> = None;
    for s in subs {
        let i = info(s, depth + 1, leaf);
        if is_never(&i) {
            return never();
        }
        best = better(best, seen(i.best));
        if let Some(e) = &i.exact {
            // One string (a literal, a letter under /i): grown in place,
            // as the product would give it, without a new set per letter.
            if let [x] = &e[..]
                && run.len() <= MAX_SET
            {
                for s in &mut run {
                    s.extend_from_slice(x);
                }
                // A common suffix keeps strings distinct, but not always in
                // order (`a` < `ab`, `az` > `abz`).
                if !run.is_sorted() {
                    run.sort_unstable();
                }
                continue;
            }
            if let Some(p) = product(&run, e) {
                run = p;
                continue;
            }
            if all_exact && pre.is_none() {
                pre = Some(run.clone());
            }
            all_exact = false;
            // Too many strings to extend them all. A match holds
            // one of the run's strings followed by one of `e`'s:
            // the long ones are required as they are, and only the
            // short ones, which are not, need extending. Look-alike
            // rules (`p\W?r\W?[i!|]...` in a skeleton, where a tag
            // of punctuation is nothing) spell a two-letter run
            // with many three- and four-letter ones beside it.
            if !usable(&run) {
                let (long, short): (Lits, Lits) =
                    run.iter().cloned().partition(|s| s.len() >= MIN_LEN);
                if let Some(p) = product(&short, e)
                    && closed.len() + long.len() + p.len() <= MAX_REQUIRED
                {
                    closed.extend(long);
                    run = p;
                    continue;
                }
            }
            best = better(best, seen(only_usable(Some(with_closed(&closed, run)))));
            closed.clear();
            run = e.clone();
            continue;
        }
        // A child with no finite language: the run so far, extended
        // by the child's prefix, is required; a new run starts with
        // the child's suffix.
        let ext = i.pre.as_ref().and_then(|p| product(&run, p));
        if all_exact && pre.is_none() {
            pre = Some(ext.clone().unwrap_or_else(|| run.clone()));
        }
        all_exact = false;
        best = better(best, seen(only_usable(Some(with_closed(&closed, run)))));
        best = better(
            best,
            seen(only_usable(ext.map(|x| with_closed(&closed, x)))),
        );
        closed.clear();
        run = i.suf.unwrap_or_else(empty);
    }
    let ended = closed.is_empty();
    best = better(
        best,
        seen(only_usable(Some(with_closed(&closed, run.clone())))),
    );
    if all_exact {
        return Info {
            exact: Some(run),
            best,
            pre: None,
            suf: None,
        };
    }
    Info {
        exact: None,
        best,
        pre,
        // With closed strings, a match may end past any of them.
        suf: ended.then_some(run),
    }
}

/// A set of strings, one of which every match of `hir` contains
/// (lowercased: compare ASCII case-insensitively), or `None` when there is
/// no usable set.
pub fn required(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    strings(info(hir, 0, None))
}

/// [`required`], and a second set of strings every match of `hir`
/// contains besides one of the first, or `None`.
///
/// A match of a sequence holds a match of each of its parts, so each
/// part's own set is required too. The prefilter picks one set per
/// pattern, and on a rule such as `__YOU_WON_03` (`... (?:was|were|has
/// been) ... (?:randomly selected|lottery|...)`) the set it picks, the
/// most selective by the bytes' rarity, is still in most messages. A
/// second part's set, looked for by the same automaton, keeps the pattern
/// off the lines where only one of the two occurs. The walk that finds the
/// first set meets the others on its way (each part's, and each run of
/// parts that spells a few strings, such as `w` and `(?:as|ere)`); the
/// second is the best of those the first does not imply (a set whose
/// every string contains one of them adds nothing).
pub fn required_pair(hir: &Hir) -> (Option<Lits>, Option<Lits>) {
    let mut h = hir;
    while let HirKind::Capture(c) = h.kind() {
        h = &c.sub;
    }
    let HirKind::Concat(parts) = h.kind() else {
        return (required(hir), None);
    };
    let mut found = Vec::new();
    let Some(first) = strings(concat(parts, 0, None, Some(&mut found))) else {
        return (None, None);
    };
    if score(&first) >= PAIR_BELOW {
        return (Some(first), None);
    }
    let implied = |l: &Lits| {
        first
            .iter()
            .all(|f| l.iter().any(|s| f.windows(s.len()).any(|w| w == &s[..])))
    };
    let second = found
        .into_iter()
        .map(cut)
        .filter(|l| !implied(l))
        .max_by_key(score);
    (Some(first), second)
}

/// The usable set of a node, cut and minimised.
fn strings(i: Info) -> Option<Lits> {
    better(i.best, only_usable(i.exact)).map(cut)
}

/// A usable set cut to [`MAX_LIT`] bytes a string and minimised.
fn cut(mut l: Lits) -> Lits {
    for s in &mut l {
        s.truncate(MAX_LIT);
    }
    minimize(l)
}

/// [`strings`] for a projection of a pattern, where a node that can never
/// match needs nothing: `Some` of an empty set.
fn strings_or_never(h: &Hir, leaf: &dyn Fn(&Hir) -> Hir) -> Option<Lits> {
    let i = info(h, 0, Some(leaf));
    if is_never(&i) {
        return Some(Vec::new());
    }
    strings(i)
}

/// Whether `b` may occur in plain text: ASCII, and not `&` (which starts
/// the HTML character references that SpamAssassin's look-alike tags
/// spell out).
#[inline]
fn plain_byte(b: u8) -> bool {
    b < 0x80 && b != b'&'
}

/// Whether `text` is plain: ASCII without `&`.
#[inline]
pub fn is_plain(text: &[u8]) -> bool {
    // Branch-free per chunk so that the compiler vectorizes it.
    text.chunks(64).all(|c| {
        c.iter()
            .fold(0u8, |acc, &b| acc | (b & 0x80) | u8::from(b == b'&') << 7)
            == 0
    })
}

/// A leaf of a pattern restricted to plain text: a class loses its
/// non-plain bytes and a literal with a non-plain byte matches nothing.
/// Every match of a pattern that lies in plain text is a match of the
/// pattern with its leaves so read.
fn plain(h: &Hir) -> Hir {
    use regex_syntax::hir::{ClassBytes, ClassBytesRange, ClassUnicode, ClassUnicodeRange};
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => h.clone(),
        HirKind::Literal(l) => {
            if l.0.iter().all(|&b| plain_byte(b)) {
                h.clone()
            } else {
                Hir::fail()
            }
        }
        HirKind::Class(Class::Bytes(c)) => {
            let mut c = c.clone();
            c.intersect(&ClassBytes::new([
                ClassBytesRange::new(0, b'&' - 1),
                ClassBytesRange::new(b'&' + 1, 0x7f),
            ]));
            Hir::class(Class::Bytes(c))
        }
        HirKind::Class(Class::Unicode(c)) => {
            let mut c = c.clone();
            c.intersect(&ClassUnicode::new([
                ClassUnicodeRange::new('\0', '%'),
                ClassUnicodeRange::new('\'', '\x7f'),
            ]));
            Hir::class(Class::Unicode(c))
        }
        _ => h.clone(),
    }
}

/// Like [`required`], but only for matches in plain text (see
/// [`is_plain`]): `Some` of an empty set when the pattern cannot match
/// plain text at all. SpamAssassin's look-alike rules (`<A><P><P><L><E>`,
/// each tag an alternation of ASCII letters, UTF-8 homoglyphs and
/// character references) have no required string, but restricted to plain
/// text they need one of a few ASCII spellings.
pub fn required_plain(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    strings_or_never(hir, &plain)
}

/// A leaf of a pattern as seen in a skeleton: the text with every byte
/// that is not an ASCII letter or digit deleted. A literal keeps its
/// letters and digits; a class matches one of its letters and digits, or
/// nothing if it has other bytes too. Every match of a pattern in a text,
/// reduced to its skeleton, is a match of the pattern with its leaves so
/// read in the text's skeleton.
fn skeleton(h: &Hir) -> Hir {
    use regex_syntax::hir::{ClassBytes, ClassBytesRange};
    let alnum = || {
        ClassBytes::new([
            ClassBytesRange::new(b'0', b'9'),
            ClassBytesRange::new(b'A', b'Z'),
            ClassBytesRange::new(b'a', b'z'),
        ])
    };
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => Hir::empty(),
        HirKind::Literal(l) => {
            let kept: Vec<u8> =
                l.0.iter()
                    .copied()
                    .filter(u8::is_ascii_alphanumeric)
                    .collect();
            Hir::literal(kept)
        }
        HirKind::Class(c) => {
            let mut bytes = match c {
                Class::Bytes(b) => b.clone(),
                Class::Unicode(u) => match u.to_byte_class() {
                    Some(b) => b,
                    // Non-ASCII members: bytes that are no letters or digits.
                    None => {
                        let mut b = ClassBytes::new(u.iter().filter_map(|r| {
                            let (lo, hi) = (u32::from(r.start()), u32::from(r.end()).min(0x7f));
                            (lo <= hi).then(|| ClassBytesRange::new(lo as u8, hi as u8))
                        }));
                        b.push(ClassBytesRange::new(0x80, 0x80));
                        b
                    }
                },
            };
            let mut other = bytes.clone();
            other.difference(&alnum());
            bytes.intersect(&alnum());
            let kept = Hir::class(Class::Bytes(bytes));
            if other.ranges().is_empty() {
                kept
            } else {
                Hir::alternation(vec![kept, Hir::empty()])
            }
        }
        _ => h.clone(),
    }
}

/// Like [`required_plain`], but the strings are looked for in the
/// skeleton of plain text (letters and digits only): look-alike rules
/// that put `[_\W]{0,3}` between letters (`p[_\W]{0,3}h[_\W]{0,3}e...`)
/// need `phe...` there.
pub fn required_skeleton(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    strings_or_never(hir, &|h| skeleton(&plain(h)))
}

/// Like [`required_skeleton`], but for matches in any text, plain or not.
///
/// The walk reads at most [`LETTERS_LEAVES`] leaves; past them, a leaf
/// reads as any text, which requires nothing. The look-alike rules of
/// 25_replace.cf spell each letter with dozens of UTF-8 sequences, which
/// have no letters in a skeleton, so their walk finds nothing, and took a
/// sixth of the time of loading the stock rules finding it. Those that
/// find a set (`V[_\W]?(?:i|&iuml;)...`) are short: the longest of the
/// stock rules has 254 leaves.
pub fn required_letters(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let left = std::cell::Cell::new(LETTERS_LEAVES);
    let anything = Hir::repetition(regex_syntax::hir::Repetition {
        min: 0,
        max: None,
        greedy: true,
        sub: Box::new(Hir::dot(regex_syntax::hir::Dot::AnyByte)),
    });
    strings_or_never(hir, &|h| match left.get() {
        0 => anything.clone(),
        n => {
            left.set(n - 1);
            skeleton(h)
        }
    })
}

/// Leaves [`required_letters`] reads.
pub const LETTERS_LEAVES: u32 = 1_000;

/// Drops strings that contain another string of the set.
///
/// Shortest first, a string is kept when none of the kept ones occurs in
/// it: when none of its substrings of a kept length is a kept string.
/// The strings are at most [`MAX_LIT`] bytes, so that is a few dozen set
/// lookups a string, where searching it for every kept string is half a
/// million searches on a set of a thousand.
fn minimize(mut l: Lits) -> Lits {
    l.sort_by_key(Vec::len);
    // The kept strings are looked up where they lie in `l`, not copied.
    let mut keep = vec![false; l.len()];
    let mut kept: hash::Set<&[u8]> = hash::Set::default();
    let mut lens: Vec<usize> = Vec::new();
    for (s, keep) in l.iter().zip(&mut keep) {
        let inside = lens
            .iter()
            .any(|&n| n == 0 || s.windows(n).any(|w| kept.contains(w)));
        if !inside {
            if lens.last() != Some(&s.len()) {
                lens.push(s.len());
            }
            kept.insert(s);
            *keep = true;
        }
    }
    drop(kept);
    l.into_iter()
        .zip(keep)
        .filter_map(|(s, k)| k.then_some(s))
        .collect()
}

/// Each byte's skeleton: an ASCII letter lower-cased, a digit as it is,
/// anything else 0 (left out).
const SKELETON: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_alphanumeric() {
            t[i] = b.to_ascii_lowercase();
        }
        i += 1;
    }
    t
};

/// Appends the [skeleton](SKELETON) of `text` to `out`: every byte is
/// written, and the write position only moves past kept ones, so the
/// loop has no branch on the text.
fn skeleton_of(text: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + text.len(), 0);
    // Before byte `i` is read, `w` is at most `start + i`: in bounds.
    let mut w = start;
    for &b in text {
        let c = SKELETON[b as usize];
        out[w] = c;
        w += usize::from(c != 0);
    }
    out.truncate(w);
}

/// `text` [folded](fold_byte) into `buf`.
fn fold<'b>(text: &[u8], buf: &'b mut Vec<u8>) -> &'b [u8] {
    buf.clear();
    buf.extend(text.iter().map(|&b| fold_byte(b)));
    buf
}

/// What the automata compare: ASCII letters lowercased, and the six
/// ASCII whitespace bytes (`\s` in a rule: space, tab, `\n`, vertical
/// tab, form feed, `\r`) all a space. Strings and texts are both folded
/// (a text into a scratch copy, offsets unchanged), so a string is found
/// wherever it occurs up to case and kind of whitespace: more places than
/// before folding, never fewer. A rule's `\s` makes a string for each
/// whitespace byte, and two `\s` thirty-six; folded they are one. On the
/// stock body rules, with strings of up to 32 bytes, the automaton looked
/// for 4,521 strings instead of 6,826, and as a DFA over 14 MB of tables
/// instead of 39 MB.
///
/// By arithmetic rather than a table lookup, so that the compiler runs it
/// on many bytes at once: `A`-`Z` gain 32, and `\t` to `\r` become a
/// space.
#[inline]
fn fold_byte(b: u8) -> u8 {
    let upper = u8::from(b.wrapping_sub(b'A') < 26);
    let space = u8::from(b.wrapping_sub(b'\t') < 5);
    b.wrapping_add(upper * 32)
        .wrapping_add(space * b' '.wrapping_sub(b))
}

/// A set of strings: a DFA, searched by loops of our own, or what the
/// crate picks for a set too large for one. The automaton of an [`Index`]
/// (every occurrence), and of a list of strings the set counts (one
/// leftmost-first match after another, see `literal_counter`).
#[derive(Debug)]
pub(super) enum Strings {
    Dfa(Box<aho_corasick::dfa::DFA>),
    Other(AhoCorasick),
}

impl Strings {
    /// `strings` (none empty) matched as `kind` says: `Standard` for
    /// [`Strings::each`], `LeftmostFirst` for [`Strings::count`].
    pub(super) fn new<I, P>(kind: MatchKind, strings: I) -> Option<Strings>
    where
        I: IntoIterator<Item = P> + Clone,
        P: AsRef<[u8]>,
    {
        if let Ok(dfa) = aho_corasick::dfa::DFA::builder()
            .match_kind(kind)
            .prefilter(false)
            .build(strings.clone())
        {
            return Some(Strings::Dfa(Box::new(dfa)));
        }
        // Too big for a DFA: let the crate pick.
        AhoCorasick::builder()
            .match_kind(kind)
            .build(strings)
            .ok()
            .map(Strings::Other)
    }

    /// The leftmost-first matches in `text`, one after the other, up to
    /// `max` (the set built `LeftmostFirst`).
    pub(super) fn count(&self, text: &[u8], max: usize) -> usize {
        match self {
            Strings::Dfa(dfa) => leftmost_count(dfa, text, max),
            Strings::Other(ac) => ac.find_iter(text).take(max).count(),
        }
    }

    /// Calls `f(string, start, end)` for every occurrence of every string
    /// in `text`, overlapping ones too, in order of their ends.
    ///
    /// The crate's overlapping search keeps its place in a state object
    /// between matches and checks for a prefilter at every step; the DFA's
    /// own loop is a table lookup per byte, and a test for a match state.
    ///
    /// A DFA reads a long text in [`LANES`] pieces at once (see
    /// [`each_in_lanes`]); `lanes` keeps the pieces' matches until all
    /// are read.
    #[inline]
    fn each(&self, text: &[u8], lanes: &mut Lanes, mut f: impl FnMut(usize, usize, usize)) {
        match self {
            Strings::Dfa(dfa) => each_in_lanes(dfa, text, lanes, f),
            Strings::Other(ac) => {
                for m in ac.find_overlapping_iter(text) {
                    f(m.pattern().as_usize(), m.start(), m.end());
                }
            }
        }
    }
}

/// [`Strings::each`] for a DFA. A function of its own: the DFA is a
/// parameter, so the compiler knows that `f` does not change its tables
/// and reads their address once, not at every byte.
#[inline]
fn each_in(dfa: &aho_corasick::dfa::DFA, text: &[u8], mut f: impl FnMut(usize, usize, usize)) {
    use aho_corasick::Anchored;
    use aho_corasick::automaton::Automaton;
    let Ok(mut sid) = dfa.start_state(Anchored::No) else {
        return;
    };
    // An empty string ends at the start, too.
    if dfa.is_match(sid) {
        report(dfa, sid, 0, &mut f);
    }
    for (i, &b) in text.iter().enumerate() {
        sid = dfa.next_state(Anchored::No, sid, b);
        if dfa.is_special(sid) && dfa.is_match(sid) {
            report(dfa, sid, i + 1, &mut f);
        }
    }
}

/// Pieces of a text an automaton reads at once.
const LANES: usize = 4;

/// Texts shorter than this many times the longest string are read in
/// one piece: the pieces' overlaps would cost more than they save.
const LANES_FROM: usize = 8;

/// The match states each piece of a text reached, with where the
/// matches end, kept until all the pieces are read.
#[derive(Debug, Default, Clone)]
struct Lanes([Vec<(StateID, u32)>; LANES]);

/// [`each_in`], reading `text` in [`LANES`] pieces side by side, with the
/// same calls in the same order.
///
/// Reading a byte is a table lookup at an address that depends on the
/// lookup before it. The stock body rules' automaton has 4,683 strings in
/// 11 MB of tables, so many lookups miss the nearer caches, and one chain
/// of lookups waits for each. Four pieces read in turn are four chains
/// that do not wait for one another.
///
/// A piece starts `m` bytes (the longest string's length) before the part
/// of the text whose match ends it reports. After reading `m` bytes an
/// automaton is in the state it would be in had it read the text from the
/// start: the state stands for the longest end of what was read that
/// begins a string, and that is at most `m` bytes long. So each piece
/// finds exactly the matches that end in its part, and its matches,
/// reported piece after piece, are the whole text's, in the same order.
#[allow(clippy::needless_range_loop)] // byte `i` of every piece in turn
fn each_in_lanes(
    dfa: &aho_corasick::dfa::DFA,
    text: &[u8],
    lanes: &mut Lanes,
    mut f: impl FnMut(usize, usize, usize),
) {
    use aho_corasick::Anchored;
    use aho_corasick::automaton::Automaton;
    let Ok(start) = dfa.start_state(Anchored::No) else {
        return;
    };
    let (n, m) = (text.len(), dfa.max_pattern_len());
    // Each piece reads `len` bytes (the last one `last`): piece `c`
    // starts at `c * step`.
    let len = (n + (LANES - 1) * m).div_ceil(LANES);
    let step = len.saturating_sub(m);
    let last = n.saturating_sub((LANES - 1) * step);
    if n < LANES_FROM * m.max(1) || last < m {
        return each_in(dfa, text, f);
    }
    // An empty string ends at the start, too.
    if dfa.is_match(start) {
        report(dfa, start, 0, &mut f);
    }
    for l in &mut lanes.0 {
        l.clear();
    }
    let pieces: [&[u8]; LANES] = std::array::from_fn(|c| &text[c * step..(c * step + len).min(n)]);
    let mut s = [start; LANES];
    // Match states are rare: one branch on all the pieces' states.
    let special = |s: &[StateID]| s.iter().fold(false, |a, &x| a | dfa.is_special(x));
    for i in 0..last {
        for c in 0..LANES {
            s[c] = dfa.next_state(Anchored::No, s[c], pieces[c][i]);
        }
        if special(&s) {
            lanes.note(dfa, &s, i, m, step);
        }
    }
    // The last piece is done; the others have `len - last` bytes left.
    let s = &mut s[..LANES - 1];
    for i in last..len {
        for c in 0..LANES - 1 {
            s[c] = dfa.next_state(Anchored::No, s[c], pieces[c][i]);
        }
        if special(s) {
            lanes.note(dfa, s, i, m, step);
        }
    }
    for l in &lanes.0 {
        for &(sid, end) in l {
            report(dfa, sid, end as usize, &mut f);
        }
    }
}

impl Lanes {
    /// Keeps the match states among the states `s` of the first pieces
    /// after reading their byte `i`, with where the matches end: piece
    /// `c` starts at `c * step` and reports nothing in its first `m`
    /// bytes, unless it is the first.
    #[cold]
    #[inline(never)]
    fn note(
        &mut self,
        dfa: &aho_corasick::dfa::DFA,
        s: &[StateID],
        i: usize,
        m: usize,
        step: usize,
    ) {
        use aho_corasick::automaton::Automaton;
        for (c, &sid) in s.iter().enumerate() {
            // The first `m` bytes of a later piece only bring its state
            // in line.
            if dfa.is_match(sid) && (c == 0 || i >= m) {
                self.0[c].push((sid, (c * step + i + 1) as u32));
            }
        }
    }
}

/// Calls `f(string, start, end)` for each string that match state `sid`
/// reports ending at `end`.
#[inline(always)]
fn report(
    dfa: &aho_corasick::dfa::DFA,
    sid: StateID,
    end: usize,
    f: &mut impl FnMut(usize, usize, usize),
) {
    use aho_corasick::automaton::Automaton;
    for k in 0..dfa.match_len(sid) {
        let p = dfa.match_pattern(sid, k);
        f(p.as_usize(), end - dfa.pattern_len(p), end);
    }
}

/// [`Strings::count`] for a DFA: from where the last match ended, the DFA
/// runs until it dies (or the text ends), and the last match state it
/// passed ends the match, as the crate's own search does; the crate's
/// iterator starts a search, with its checks, at every match.
fn leftmost_count(dfa: &aho_corasick::dfa::DFA, text: &[u8], max: usize) -> usize {
    use aho_corasick::Anchored;
    use aho_corasick::automaton::Automaton;
    let Ok(start) = dfa.start_state(Anchored::No) else {
        return 0;
    };
    let (mut n, mut at) = (0, 0);
    while n < max {
        let mut sid = start;
        let mut end = None;
        for (i, &b) in text.iter().enumerate().skip(at) {
            sid = dfa.next_state(Anchored::No, sid, b);
            if dfa.is_special(sid) {
                if dfa.is_dead(sid) {
                    break;
                }
                if dfa.is_match(sid) {
                    end = Some(i + 1);
                }
            }
        }
        let Some(e) = end else { break };
        n += 1;
        at = e;
    }
    n
}

/// Strings and, for each, the patterns that need it, in one automaton.
#[derive(Debug, Default)]
struct Index {
    ac: Option<Strings>,
    /// Pattern ids for each automaton string.
    owners: Vec<Vec<u32>>,
}

impl Index {
    /// `None` when the strings are too many for any automaton.
    fn build<'s>(sets: impl Iterator<Item = (u32, &'s Lits)>) -> Option<Index> {
        let mut index: hash::Map<Vec<u8>, usize> = hash::Map::default();
        let mut lits: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<u32>> = Vec::new();
        for (id, set) in sets {
            for s in set {
                let s: Vec<u8> = s.iter().map(|&b| fold_byte(b)).collect();
                let k = *index.entry(s.clone()).or_insert_with(|| {
                    lits.push(s);
                    owners.push(Vec::new());
                    lits.len() - 1
                });
                if owners[k].last() != Some(&id) {
                    owners[k].push(id);
                }
            }
        }
        if lits.is_empty() {
            return Some(Index::default());
        }
        Strings::new(MatchKind::Standard, &lits).map(|ac| Index {
            ac: Some(ac),
            owners,
        })
    }

    /// Sets the bit of every pattern that owns a string found in `text`
    /// ([folded](fold_byte)).
    fn mark(&self, text: &[u8], bits: &mut [u64], seen: &mut Vec<u64>, lanes: &mut Lanes) {
        let Some(ac) = &self.ac else { return };
        seen.clear();
        seen.resize(self.owners.len().div_ceil(64), 0);
        ac.each(text, lanes, |k, _, _| {
            let (w, bit) = (k / 64, 1u64 << (k % 64));
            if seen[w] & bit != 0 {
                return;
            }
            seen[w] |= bit;
            for &id in &self.owners[k] {
                bits[id as usize / 64] |= 1 << (id % 64);
            }
        });
    }

    /// Pushes a [`Candidate`] for every string found wholly inside a line
    /// of `text` ([folded](fold_byte); `lines` as in
    /// [`Prefilter::candidate_lines`]): one per owner, string and line,
    /// covering every occurrence of the string there.
    fn lines(&self, text: &[u8], lines: &[(u32, u32)], out: &mut Vec<Candidate>, sc: &mut Scratch) {
        let Some(ac) = &self.ac else { return };
        // `last[k]` is the line string `k` was last found in, stamped with
        // this call's number: older stamps mean "not yet", so the array is
        // not cleared on every text.
        sc.stamp = sc.stamp.wrapping_add(1);
        if sc.stamp == 0 {
            sc.last.clear();
            sc.stamp = 1;
        }
        let (last, at, stamp) = (&mut sc.last, &mut sc.at, u64::from(sc.stamp) << 32);
        // Never shrunk: the sets of a rule file share these arrays.
        if last.len() < self.owners.len() {
            last.resize(self.owners.len(), 0);
            at.resize(self.owners.len(), 0);
        }
        // Lines starting at or before the end of the current match: the
        // matches come in order of their ends, and a match is short, so
        // its start is in that line or one just before.
        let mut upto = 0;
        ac.each(text, &mut sc.lanes, |k, s, e| {
            while lines.get(upto).is_some_and(|&(ls, _)| ls as usize <= e) {
                upto += 1;
            }
            // The last line starting at or before `s`.
            let Some(mut i) = upto.checked_sub(1) else {
                return;
            };
            while lines[i].0 as usize > s {
                let Some(j) = i.checked_sub(1) else { break };
                i = j;
            }
            if lines[i].0 as usize > s || e > lines[i].1 as usize {
                return;
            }
            let line = i as u32;
            let owners = &self.owners[k];
            if last[k] == stamp | u64::from(line) {
                // The same string again, starting later (one string's
                // occurrences end, so start, in order).
                let from = at[k] as usize;
                for c in &mut out[from..from + owners.len()] {
                    c.last_start = s as u32;
                }
                return;
            }
            last[k] = stamp | u64::from(line);
            at[k] = out.len() as u32;
            out.extend(owners.iter().map(|&id| Candidate {
                id,
                line,
                first_end: e as u32,
                last_start: s as u32,
            }));
        });
    }
}

/// What the prefilter knows of one pattern, best first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Required {
    /// Every match contains one of these strings.
    Strings(Lits),
    /// Every match in plain text ([`is_plain`]) contains one of these.
    Plain(Lits),
    /// Every match in plain text, with everything but ASCII letters and
    /// digits deleted (the *skeleton*), contains one of these.
    Skeleton(Lits),
    /// Every match, in any text, with everything but ASCII letters and
    /// digits deleted, contains one of these ([`required_letters`]).
    Letters(Lits),
    /// Nothing usable: a candidate everywhere.
    Nothing,
}

impl Required {
    /// The best of [`required`], [`required_letters`], [`required_plain`]
    /// and [`required_skeleton`] for `hir`.
    pub fn of(hir: &Hir) -> Required {
        Required::with_second(hir).0
    }

    /// [`Required::of`], and with [`Required::Strings`], the second set
    /// of [`required_pair`].
    pub fn with_second(hir: &Hir) -> (Required, Option<Lits>) {
        let (first, second) = required_pair(hir);
        let req = if let Some(l) = first {
            Required::Strings(l)
        } else if let Some(l) = required_letters(hir) {
            Required::Letters(l)
        } else if let Some(l) = required_plain(hir) {
            Required::Plain(l)
        } else if let Some(l) = required_skeleton(hir) {
            Required::Skeleton(l)
        } else {
            Required::Nothing
        };
        (req, second)
    }

    /// The plain strings, when this is [`Required::Strings`].
    pub fn strings(&self) -> Option<&Lits> {
        match self {
            Required::Strings(l) => Some(l),
            _ => None,
        }
    }
}

/// A count of required strings a text must hold: every match of a
/// pattern with a repetition `X{n,}` (`n` at least 2) holds `n` matches of
/// `X` side by side, and each of those one of `X`'s required strings, so
/// a text with fewer than `n` disjoint occurrences of them cannot match.
///
/// The prefilter only asks for one occurrence. SpamAssassin's form-filling
/// rules (`__FILL_THIS_FORM_LONG2`: five form fields in a row, each an
/// alternation of hundreds of words) find theirs on about three lines of
/// every message, and their lazy DFAs, too large to settle, build new
/// states on each: about 10 µs a line. Five disjoint field words are on
/// one of those lines in twelve, three words on one in four.
#[derive(Debug)]
pub struct CountGate {
    /// Disjoint occurrences needed.
    n: usize,
    /// The strings, compared ASCII case-insensitively.
    strings: AhoCorasick,
}

impl CountGate {
    /// The gate of `hir`, when it has a repetition of at least two copies
    /// of something with a usable required set.
    pub fn of(hir: &Hir) -> Option<CountGate> {
        let (n, strings) = CountGate::strings_of(hir)?;
        CountGate::new(n, &strings)
    }

    /// What the gate of `hir` counts: occurrences needed, and the strings.
    pub fn strings_of(hir: &Hir) -> Option<(usize, Lits)> {
        repeated(hir)
    }

    /// A gate needing `n` disjoint occurrences of `strings`.
    pub fn new(n: usize, strings: &Lits) -> Option<CountGate> {
        // A DFA: overlapping search on the others follows failure links
        // byte by byte, three times slower on form words.
        let strings = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .kind(Some(AhoCorasickKind::DFA))
            .build(strings)
            .ok()?;
        Some(CountGate { n, strings })
    }

    /// The same strings, `n` occurrences needed (the automaton is shared).
    pub fn needing(&self, n: usize) -> CountGate {
        CountGate {
            n,
            strings: self.strings.clone(),
        }
    }

    /// Occurrences needed.
    pub fn needs(&self) -> usize {
        self.n
    }

    /// The most disjoint occurrences in `text`, counted up to `upto`
    /// (see [`CountGate::passes`]).
    pub fn count(&self, text: &[u8], upto: usize) -> usize {
        self.strings.find_iter(text).take(upto).count()
    }

    /// False when `text` cannot hold a match. Taking, again and again,
    /// the occurrence that ends first among those starting after the last
    /// one taken counts the most disjoint ones there are; that is what the
    /// automaton's non-overlapping search with standard semantics reports
    /// (the first match to end, then a new search from its end).
    pub fn passes(&self, text: &[u8]) -> bool {
        self.strings.find_iter(text).nth(self.n - 1).is_some()
    }
}

/// The largest `n` such that every match of `h` holds `n` disjoint
/// matches of one node with a usable required set, with that set: looked
/// for through groups, concatenations and repetitions.
fn repeated(h: &Hir) -> Option<(usize, Lits)> {
    match h.kind() {
        HirKind::Capture(c) => repeated(&c.sub),
        HirKind::Concat(v) => v
            .iter()
            .filter_map(repeated)
            .max_by_key(|(n, l)| (*n, score(l))),
        HirKind::Repetition(r) if r.min >= 1 => {
            let min = r.min as usize;
            let inner = repeated(&r.sub).map(|(k, l)| (k.saturating_mul(min), l));
            let direct = (min >= 2)
                .then(|| required(&r.sub))
                .flatten()
                .map(|l| (min, l));
            [inner, direct]
                .into_iter()
                .flatten()
                .max_by_key(|(n, l)| (*n, score(l)))
        }
        _ => None,
    }
    .filter(|(n, _)| *n >= 2)
}

/// The compiled prefilter over all patterns of a set.
#[derive(Debug)]
pub struct Prefilter {
    /// Strings looked for in the text.
    text: Index,
    /// Strings looked for in the text's skeleton.
    skel: Index,
    /// Patterns without a usable set.
    always: Vec<u32>,
    /// Patterns with a set for plain text only ([`Required::Plain`] and
    /// [`Required::Skeleton`]): candidates on every text that is not plain.
    cond: Vec<u32>,
    /// Patterns with a second set ([`required_pair`]), sorted. Pattern
    /// `id`'s second set is in `text` under the id `n + id`: a candidate
    /// only where both sets are found.
    paired: Vec<u32>,
    /// Whether a pattern has [`Required::Letters`]: the skeleton is then
    /// searched in text that is not plain too.
    letters: bool,
    /// Number of patterns.
    n: usize,
}

impl Prefilter {
    /// Builds from each pattern's required set (index = pattern id).
    pub fn new(sets: &[Option<Vec<Vec<u8>>>]) -> Prefilter {
        let req: Vec<Required> = sets
            .iter()
            .map(|s| s.clone().map_or(Required::Nothing, Required::Strings))
            .collect();
        Prefilter::with_required(&req, &[])
    }

    /// Builds from what each pattern requires (index = pattern id) and, for
    /// a pattern with [`Required::Strings`], the second set of
    /// [`required_pair`] it may have (missing entries are `None`).
    pub fn with_required(req: &[Required], seconds: &[Option<Lits>]) -> Prefilter {
        let n = req.len();
        let paired: Vec<u32> = (0..n)
            .filter(|&id| {
                matches!(req[id], Required::Strings(_))
                    && seconds.get(id).is_some_and(Option::is_some)
            })
            .map(|id| id as u32)
            .collect();
        let mut always = Vec::new();
        let mut cond = Vec::new();
        for (id, r) in req.iter().enumerate() {
            match r {
                Required::Strings(_) | Required::Letters(_) => {}
                Required::Plain(_) | Required::Skeleton(_) => cond.push(id as u32),
                Required::Nothing => always.push(id as u32),
            }
        }
        let text = Index::build(
            req.iter()
                .enumerate()
                .filter_map(|(id, r)| match r {
                    Required::Strings(l) | Required::Plain(l) => Some((id as u32, l)),
                    _ => None,
                })
                .chain(paired.iter().filter_map(|&id| {
                    let l = seconds.get(id as usize)?.as_ref()?;
                    Some((n as u32 + id, l))
                })),
        );
        let skel = Index::build(req.iter().enumerate().filter_map(|(id, r)| match r {
            Required::Skeleton(l) | Required::Letters(l) => Some((id as u32, l)),
            _ => None,
        }));
        match (text, skel) {
            (Some(text), Some(skel)) => Prefilter {
                text,
                skel,
                always,
                cond,
                paired,
                letters: req.iter().any(|r| matches!(r, Required::Letters(_))),
                n,
            },
            // Too many strings for any automaton. Keep soundness: every
            // pattern becomes a candidate.
            _ => Prefilter {
                text: Index::default(),
                skel: Index::default(),
                always: (0..n as u32).collect(),
                cond: Vec::new(),
                paired: Vec::new(),
                letters: false,
                n,
            },
        }
    }

    /// Number of patterns that are candidates on every text.
    pub fn always_count(&self) -> usize {
        self.always.len()
    }

    /// Number of patterns that are candidates on every text that is not
    /// plain, and otherwise only when a required string occurs.
    pub fn plain_only_count(&self) -> usize {
        self.cond.len()
    }

    /// Number of distinct strings in the automata.
    pub fn literal_count(&self) -> usize {
        self.text.owners.len() + self.skel.owners.len()
    }

    /// Appends the candidate ids for `text`, sorted and distinct.
    pub fn candidates(&self, text: &[u8], out: &mut Vec<u32>) {
        self.candidates_with(text, out, &mut Scratch::default());
    }

    /// [`Prefilter::candidates`] with reusable buffers.
    pub fn candidates_with(&self, text: &[u8], out: &mut Vec<u32>, scratch: &mut Scratch) {
        let bits = &mut scratch.bits;
        bits.clear();
        bits.resize(self.ids().div_ceil(64), 0);
        for &id in &self.always {
            bits[id as usize / 64] |= 1 << (id % 64);
        }
        let plain = self.cond.is_empty() || is_plain(text);
        if !plain {
            for &id in &self.cond {
                bits[id as usize / 64] |= 1 << (id % 64);
            }
        }
        if self.text.ac.is_some() {
            let folded = fold(text, &mut scratch.folded);
            self.text
                .mark(folded, bits, &mut scratch.seen, &mut scratch.lanes);
        }
        if (plain || self.letters) && self.skel.ac.is_some() {
            scratch.skel.clear();
            skeleton_of(text, &mut scratch.skel);
            self.skel
                .mark(&scratch.skel, bits, &mut scratch.seen, &mut scratch.lanes);
        }
        let bit = |bits: &[u64], id: usize| bits[id / 64] & (1 << (id % 64)) != 0;
        for &id in &self.paired {
            let id = id as usize;
            if !bit(bits, self.n + id) {
                bits[id / 64] &= !(1 << (id % 64));
            }
        }
        // The second sets' ids are not patterns.
        let last = self.n.div_ceil(64);
        if !self.n.is_multiple_of(64) && last > 0 {
            bits[last - 1] &= (1 << (self.n % 64)) - 1;
        }
        for (w, &word) in bits[..last].iter().enumerate() {
            let mut word = word;
            while word != 0 {
                let b = word.trailing_zeros();
                out.push((w * 64) as u32 + b);
                word &= word - 1;
            }
        }
    }

    /// Appends a [`Candidate`] for each pattern and line where it may
    /// match, sorted by pattern and line, one per pair: pattern `id` may
    /// match inside line `line` (an index into `lines`, each a `start..end`
    /// range of `text`, in increasing order and not overlapping), because
    /// one of its required strings lies wholly inside that line. A pattern
    /// with no required set gets the single line [`ALL_LINES`], and so does
    /// a plain-text-only one when most of the text is not plain; such a
    /// pattern is named with no other line. A
    /// pattern not named with a line cannot match inside it.
    pub fn candidate_lines(
        &self,
        text: &[u8],
        lines: &[(u32, u32)],
        out: &mut Vec<Candidate>,
        scratch: &mut Scratch,
    ) {
        let start = out.len();
        for &id in &self.always {
            out.push(Candidate::whole(id, ALL_LINES));
        }
        if !self.cond.is_empty() {
            let odd = &mut scratch.odd;
            odd.clear();
            // What running a pattern on each odd line would read, counting
            // each call as ODD_LINE_COST bytes more.
            let mut cost = 0;
            for (i, &(s, e)) in lines.iter().enumerate() {
                if !is_plain(&text[s as usize..e as usize]) {
                    odd.push(i as u32);
                    cost += (e - s) as usize + ODD_LINE_COST;
                }
            }
            if cost > text.len() {
                // Lines that are not plain make up most of the text: run
                // the patterns on every line (or once over the whole
                // text).
                for &id in &self.cond {
                    out.push(Candidate::whole(id, ALL_LINES));
                }
            } else {
                for &id in &self.cond {
                    for &line in odd.iter() {
                        out.push(Candidate::whole(id, line));
                    }
                }
            }
        }
        if self.text.ac.is_some() {
            let mut folded = std::mem::take(&mut scratch.folded);
            self.text
                .lines(fold(text, &mut folded), lines, out, scratch);
            scratch.folded = folded;
        }
        if self.skel.ac.is_some() {
            // Each line's letters and digits, lines kept apart by `\n`
            // (never in a skeleton string).
            let mut skel = std::mem::take(&mut scratch.skel);
            let mut spans = std::mem::take(&mut scratch.spans);
            skel.clear();
            spans.clear();
            for &(s, e) in lines {
                let from = skel.len();
                skeleton_of(&text[s as usize..e as usize], &mut skel);
                spans.push((from as u32, skel.len() as u32));
                skel.push(b'\n');
            }
            let from = out.len();
            self.skel.lines(&skel, &spans, out, scratch);
            // Places in the skeleton are not places in the line.
            for c in &mut out[from..] {
                *c = Candidate::whole(c.id, c.line);
            }
            (scratch.skel, scratch.spans) = (skel, spans);
        }
        sort_by_pattern(&mut out[start..], self.ids(), scratch);
        // One per pattern and line: the earliest end, the latest start. A
        // pattern named with every line (sorted last among its own) keeps
        // no line of its own: the places found on a line need not bound a
        // plain-text-only pattern's matches there when the line is not
        // plain.
        let mut w = start;
        let mut own = start; // where the current pattern's candidates begin
        for r in start..out.len() {
            let c = out[r];
            if w > start && out[w - 1].id == c.id {
                if out[w - 1].line == c.line {
                    let prev = &mut out[w - 1];
                    prev.last_start = prev.last_start.max(c.last_start);
                    continue;
                }
            } else {
                own = w;
            }
            if c.line == ALL_LINES {
                w = own;
            }
            out[w] = c;
            w += 1;
        }
        out.truncate(w);
        if !self.paired.is_empty() {
            self.keep_paired(out, start);
        }
    }

    /// How many ids the automaton reports: the patterns', and with second
    /// sets, theirs too (`n + id`).
    fn ids(&self) -> usize {
        if self.paired.is_empty() {
            self.n
        } else {
            2 * self.n
        }
    }

    /// Drops, from the sorted candidates in `out[start..]`, a paired
    /// pattern's lines where its second set was not found, and then
    /// the second sets' own entries (ids `n` and up, sorted last).
    fn keep_paired(&self, out: &mut Vec<Candidate>, start: usize) {
        let n = self.n as u32;
        let split = start + out[start..].partition_point(|c| c.id < n);
        let mut w = start;
        for r in start..split {
            let c = out[r];
            let needs = self.paired.binary_search(&c.id).is_ok();
            if needs {
                let key = (n + c.id, c.line);
                if out[split..]
                    .binary_search_by(|p| (p.id, p.line).cmp(&key))
                    .is_err()
                {
                    continue;
                }
            }
            out[w] = c;
            w += 1;
        }
        out.truncate(w);
    }
}

/// Sorts candidates of patterns below `n` as `sort_unstable` would: by
/// pattern first, with a counting pass (the candidates of a body text are a
/// few hundred, over a thousand patterns), then each pattern's few by line
/// and places, when they are not in order already (the automata report a
/// pattern's strings in the order of their ends, so mostly they are).
fn sort_by_pattern(c: &mut [Candidate], n: usize, scratch: &mut Scratch) {
    let (counts, tmp) = (&mut scratch.counts, &mut scratch.sorted);
    counts.clear();
    counts.resize(n + 1, 0);
    for x in c.iter() {
        match counts.get_mut(x.id as usize + 1) {
            Some(k) => *k += 1,
            // Not a pattern of this set: leave it to a comparison sort.
            None => return c.sort_unstable(),
        }
    }
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
    tmp.clear();
    tmp.extend_from_slice(c);
    for x in tmp.iter() {
        let at = &mut counts[x.id as usize];
        c[*at as usize] = *x;
        *at += 1;
    }
    // `counts[id]` is now where pattern `id + 1`'s candidates start.
    let mut from = 0;
    for &end in counts.iter().take(n) {
        let run = &mut c[from..end as usize];
        if !run.is_sorted() {
            run.sort_unstable();
        }
        from = end as usize;
    }
}

/// A pattern that may match inside a line, and where in the text its
/// required strings were found there: every match inside the line holds
/// one of them, so it ends at or after `first_end` (the earliest end of
/// one) and starts at or before `last_start` (the latest start). A pattern
/// whose matches are at most `n` bytes long matches inside the line only
/// if it matches in `first_end - n .. last_start + n`.
///
/// Without places (a pattern with no strings, or with strings looked for
/// in the skeleton) `first_end` is 0 and `last_start` is `u32::MAX`, so
/// that range is the whole line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Candidate {
    /// The pattern.
    pub id: u32,
    /// The line, or [`ALL_LINES`].
    pub line: u32,
    /// The earliest end of a required string in the line (an offset in the
    /// text).
    pub first_end: u32,
    /// The latest start of one.
    pub last_start: u32,
}

impl Candidate {
    /// A candidate with no places: anywhere in the line.
    pub fn whole(id: u32, line: u32) -> Candidate {
        Candidate {
            id,
            line,
            first_end: 0,
            last_start: u32::MAX,
        }
    }
}

/// The line index that stands for "every line" in
/// [`Prefilter::candidate_lines`].
pub const ALL_LINES: u32 = u32::MAX;

/// What one call of a pattern on a line costs beyond reading it, in bytes
/// read. When the lines that are not plain, each counted this much more,
/// add up to more than the text, the plain-text-only patterns are
/// candidates on every line (one pass over the whole text each) rather
/// than on each of those lines. A fixed count of four such lines took the
/// whole-text pass on many a message with a few typographic quotes or a
/// signature in Latin-1. Callgrind, stock rules, 404 corpus messages,
/// instructions per message less the engine build: 6.34 million with four
/// lines, 6.15 with 16, 6.08 with 64, 6.13 with this bound, which unlike a
/// fixed count keeps a text of many short odd lines to one pass each.
const ODD_LINE_COST: usize = 64;

/// Reusable buffers for the prefilter.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    bits: Vec<u64>,
    seen: Vec<u64>,
    last: Vec<u64>,
    at: Vec<u32>,
    stamp: u32,
    odd: Vec<u32>,
    folded: Vec<u8>,
    skel: Vec<u8>,
    spans: Vec<(u32, u32)>,
    /// Candidates per pattern, and a copy of the candidates, for
    /// `sort_by_pattern`.
    counts: Vec<u32>,
    sorted: Vec<Candidate>,
    lanes: Lanes,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The arithmetic fold lower-cases ASCII and makes the other five
    /// white space bytes a space, and leaves every other byte alone.
    #[test]
    fn fold_byte_folds_case_and_white_space() {
        for b in 0..=255u8 {
            let want = match b {
                b'\t' | b'\n' | 0x0b | 0x0c | b'\r' => b' ',
                _ => b.to_ascii_lowercase(),
            };
            assert_eq!(fold_byte(b), want, "byte {b:#04x}");
        }
    }

    /// The DFA of `lits` that an [`Index`] builds: every occurrence, no
    /// prefilter.
    fn standard_dfa(lits: &[Vec<u8>]) -> aho_corasick::dfa::DFA {
        aho_corasick::dfa::DFA::builder()
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(lits)
            .unwrap()
    }

    proptest! {
        /// The branch-free skeleton keeps what filtering each byte keeps,
        /// appended after what the buffer held.
        #[test]
        fn skeleton_keeps_letters_and_digits(
            before in prop::collection::vec(any::<u8>(), 0..8),
            text in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut out = before.clone();
            skeleton_of(&text, &mut out);
            let mut want = before;
            want.extend(
                text.iter()
                    .filter(|b| b.is_ascii_alphanumeric())
                    .map(u8::to_ascii_lowercase),
            );
            prop_assert_eq!(out, want);
        }

        /// The counting sort orders candidates exactly as a comparison
        /// sort does, patterns out of range included, with the scratch
        /// reused across calls.
        #[test]
        fn sort_by_pattern_is_a_sort(
            lists in prop::collection::vec(
                prop::collection::vec((0u32..12, 0u32..5, 0u32..4, 0u32..4), 0..40),
                1..4,
            ),
            n in 0usize..14,
        ) {
            let mut scratch = Scratch::default();
            for list in lists {
                let mut c: Vec<Candidate> = list
                    .iter()
                    .map(|&(id, line, first_end, last_start)| Candidate {
                        id,
                        line: if line == 4 { ALL_LINES } else { line },
                        first_end,
                        last_start,
                    })
                    .collect();
                let mut want = c.clone();
                want.sort_unstable();
                sort_by_pattern(&mut c, n, &mut scratch);
                prop_assert_eq!(c, want);
            }
        }

        /// Looking up a string's substrings among the kept strings keeps
        /// what searching it for each kept string keeps, in the same
        /// order: on a two-letter alphabet, where strings often hold one
        /// another, empty strings and duplicates included.
        #[test]
        fn minimize_keeps_what_pairwise_search_keeps(
            l in prop::collection::vec(prop::collection::vec(b'a'..=b'b', 0..7), 0..40),
        ) {
            let mut sorted = l.clone();
            sorted.sort_by_key(Vec::len);
            let mut want: Lits = Vec::new();
            for s in sorted {
                if !want.iter().any(|o| memchr::memmem::find(&s, o).is_some()) {
                    want.push(s);
                }
            }
            prop_assert_eq!(minimize(l), want);
        }

        /// Reading a text in pieces side by side makes the calls reading
        /// it in one piece makes, in the same order: texts from empty to
        /// fifty times the longest string, strings that overlap and hold
        /// one another on a three-letter alphabet, empty strings too, and
        /// the pieces' buffers reused.
        #[test]
        fn pieces_report_what_one_reading_does(
            lits in prop::collection::vec(prop::collection::vec(b'a'..=b'c', 0..9), 1..12),
            text in prop::collection::vec(b'a'..=b'd', 0..400),
        ) {
            let dfa = standard_dfa(&lits);
            let mut one = Vec::new();
            each_in(&dfa, &text, |k, s, e| one.push((k, s, e)));
            let mut lanes = Lanes::default();
            for _ in 0..2 {
                let mut got = Vec::new();
                each_in_lanes(&dfa, &text, &mut lanes, |k, s, e| got.push((k, s, e)));
                prop_assert_eq!(&got, &one);
            }
        }

        /// The DFA's own loop finds every occurrence of every string, as
        /// comparing each string at each end does, in order of the ends
        /// and, at one end, in the order the crate's overlapping search
        /// reports them. On a three-letter alphabet strings overlap and
        /// hold one another; duplicates included.
        #[test]
        fn each_finds_every_occurrence(
            lits in prop::collection::vec(prop::collection::vec(b'a'..=b'c', 1..5), 1..12),
            text in prop::collection::vec(b'a'..=b'd', 0..40),
        ) {
            let dfa = standard_dfa(&lits);
            let mut got = Vec::new();
            Strings::Dfa(Box::new(dfa)).each(&text, &mut Lanes::default(), |k, s, e| got.push((e, k, s)));
            let mut want = Vec::new();
            for e in 0..=text.len() {
                for (k, l) in lits.iter().enumerate() {
                    if e >= l.len() && text[e - l.len()..e] == l[..] {
                        want.push((e, k, e - l.len()));
                    }
                }
            }
            let mut sorted = got.clone();
            sorted.sort_unstable();
            prop_assert_eq!(sorted, want);
            let crate_order: Vec<_> = AhoCorasick::builder()
                .match_kind(MatchKind::Standard)
                .build(&lits)
                .unwrap()
                .find_overlapping_iter(&text)
                .map(|m| (m.end(), m.pattern().as_usize(), m.start()))
                .collect();
            prop_assert_eq!(got, crate_order);
        }
    }
}
