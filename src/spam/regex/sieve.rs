//! A quick "no" for patterns that no string gives away.
//!
//! The prefilter chooses the rules worth running on a text by the strings
//! they require. A pattern that requires none runs on every text: its
//! whole-text form reads all of the text, at the lazy DFA's two to three
//! nanoseconds a byte, and nearly always finds nothing. The stock rules
//! have about a hundred such patterns on the body, most of them
//! look-alike spellings (`FUZZY_*`, `__DRUGS_*`) that start with `\b` or
//! `(?:\b|\s)[^a-z0-9]{0,3}`: a start the regex crate finds no literal
//! in, so it has nothing to skip ahead to.
//!
//! Every match of a sequence `a b c d` contains a match of its tail
//! `c d`. A sieve is such a tail, chosen so that the bytes it can start
//! with are few and rare in mail (an `x`, a `v`, a `\`), and compiled
//! with a prefilter on those bytes: the search jumps from one of them to
//! the next and runs the DFA only there. Where the sieve finds nothing,
//! the pattern cannot match, and its whole-text pass is skipped. Where it
//! finds something, the pass runs as before. Nothing is lost, only the
//! passes on texts without the rare bytes in the right order.
//!
//! ```
//! use filter::spam::regex::sieve::sieve;
//!
//! let parse = |s: &str| {
//!     regex_syntax::ParserBuilder::new().unicode(false).utf8(false).build().parse(s).unwrap()
//! };
//! // `\b[^a-z0-9]{0,3}` can start anywhere; `[Xx]` starts the sieve.
//! let hir = parse(r"(?i)\b[^a-z0-9]{0,3}x[^a-z0-9]?a[^a-z0-9]?n[^a-z0-9]?a[^a-z0-9]?x");
//! let s = sieve(&hir).unwrap();
//! assert!(s.is_match(b"cheap X.A.N.A.X here"));
//! assert!(!s.is_match(b"nothing to see"));
//! // A pattern the regex crate finds a literal in needs no sieve.
//! assert!(sieve(&parse(r"hello\s+world")).is_none());
//! ```

use regex_automata::MatchKind;
use regex_automata::util::prefilter::Prefilter;
use regex_syntax::hir::{Class, Hir, HirKind};

/// The most a sieve's first bytes may occur in mail, in bytes per
/// thousand (see [`byte_weight`]): about one candidate every 25 bytes.
pub const MOST_WEIGHT: u32 = 40;

/// A regex that matches wherever `hir` does, with a prefilter on a few
/// rare first bytes; `None` when `hir` has a fast literal prefilter of its
/// own or no tail of it starts with rare enough bytes.
pub fn sieve(hir: &Hir) -> Option<regex_automata::meta::Regex> {
    if Prefilter::from_hir_prefix(MatchKind::LeftmostFirst, hir).is_some_and(|p| p.is_fast()) {
        return None;
    }
    let mut h = hir;
    while let HirKind::Capture(c) = h.kind() {
        h = &c.sub;
    }
    let parts = match h.kind() {
        HirKind::Concat(v) => &v[..],
        _ => std::slice::from_ref(h),
    };
    // The tail whose first bytes are rarest, among those that still
    // read three bytes or more.
    let mut best: Option<(u32, usize, Vec<u8>)> = None;
    for k in 0..parts.len() {
        let rest = &parts[k..];
        let least: usize = rest
            .iter()
            .map(|p| p.properties().minimum_len().unwrap_or(0))
            .sum();
        if least < 3 {
            break;
        }
        let mut set = [false; 256];
        if rest.iter().all(|p| first_bytes(p, &mut set)) {
            break;
        }
        let bytes: Vec<u8> = (0..=255u8).filter(|&b| set[usize::from(b)]).collect();
        let weight = bytes.iter().map(|&b| byte_weight(b)).sum();
        if best.as_ref().is_none_or(|(w, ..)| weight < *w) {
            best = Some((weight, k, bytes));
        }
    }
    let (weight, k, bytes) = best?;
    if weight > MOST_WEIGHT {
        return None;
    }
    let needles: Vec<[u8; 1]> = bytes.iter().map(|&b| [b]).collect();
    let pre = Prefilter::new(MatchKind::LeftmostFirst, &needles)?;
    super::native_with(&Hir::concat(parts[k..].to_vec()), super::Skip::Given(pre)).ok()
}

/// Adds to `set` the bytes a non-empty match of `h` can start with;
/// returns whether `h` can match the empty string (then what follows `h`
/// can start a match too). A superset is fine: an empty class adds
/// nothing and counts as possibly empty.
pub fn first_bytes(h: &Hir, set: &mut [bool; 256]) -> bool {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(l) => {
            set[usize::from(l.0[0])] = true;
            false
        }
        HirKind::Class(Class::Bytes(c)) => {
            for r in c.ranges() {
                for b in r.start()..=r.end() {
                    set[usize::from(b)] = true;
                }
            }
            c.ranges().is_empty()
        }
        HirKind::Class(Class::Unicode(c)) => {
            for r in c.ranges() {
                let (a, z) = (u32::from(r.start()), u32::from(r.end()));
                // Past ASCII: any byte of a UTF-8 encoding.
                let last = if z < 0x80 { z } else { 0xff };
                for b in a.min(0x80)..=last {
                    set[b as usize] = true;
                }
            }
            c.ranges().is_empty()
        }
        HirKind::Repetition(r) => first_bytes(&r.sub, set) || r.min == 0,
        HirKind::Capture(c) => first_bytes(&c.sub, set),
        HirKind::Concat(v) => v.iter().all(|x| first_bytes(x, set)),
        HirKind::Alternation(v) => {
            // Every branch adds its bytes.
            let mut empty = false;
            for x in v {
                empty |= first_bytes(x, set);
            }
            empty
        }
    }
}

/// Roughly how often byte `b` occurs in the text of mail, in bytes per
/// thousand: English letter frequencies, capitals an eighth as often,
/// space most of all, digits and common punctuation a little, bytes past
/// ASCII hardly at all.
pub fn byte_weight(b: u8) -> u32 {
    const BY_FREQUENCY: &[u8; 26] = b"etaoinshrdlcumwfgypbvkjxqz";
    const WEIGHT: [u32; 26] = [
        60, 45, 40, 38, 35, 35, 32, 30, 30, 22, 20, 14, 14, 12, 12, 11, 10, 10, 9, 8, 5, 4, 1, 1,
        1, 1,
    ];
    let letter = |c: u8| {
        let i = BY_FREQUENCY.iter().position(|&x| x == c).unwrap_or(25);
        WEIGHT[i]
    };
    match b {
        b' ' => 150,
        b'a'..=b'z' => letter(b),
        b'A'..=b'Z' => letter(b.to_ascii_lowercase()) / 8 + 1,
        b'0'..=b'9' | b'.' | b',' | b'\n' => 5,
        0x80..=0xff => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Hir {
        regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(s)
            .unwrap()
    }

    fn regex(s: &str) -> regex_automata::meta::Regex {
        super::super::native_regex(s).unwrap()
    }

    /// Pieces of look-alike patterns, each with a text it matches.
    const PIECES: &[(&str, &str)] = &[
        (r"\b", ""),
        (r"(?:\b|\s)", " "),
        (r"[^a-z0-9]{0,3}", "-."),
        (r"[_\W]?", "_"),
        (r"[Xx]", "X"),
        (r"[Vv]", "v"),
        (r"(?:\\/|[Vv])", "\\/"),
        (r"[a4@]", "4"),
        (r"[Nn]", "n"),
        (r"x", "x"),
        (r"\s*", "  "),
        (r"(?m:^)", ""),
        (r"[a-z]+", "abc"),
        (r"z{2}", "zz"),
    ];

    /// A pattern, and a text that often holds a match of it: the pieces'
    /// texts between random ones, one byte of them sometimes replaced.
    fn case() -> impl Strategy<Value = (String, Vec<u8>)> {
        const NOISE: &str = "[xXvV/\\\\a4@nNz .\n_-]{0,8}";
        (
            prop::collection::vec(0..PIECES.len(), 1..7),
            NOISE,
            NOISE,
            prop::option::of((any::<prop::sample::Index>(), any::<u8>())),
        )
            .prop_map(|(v, before, after, change)| {
                let pattern: String = v.iter().map(|&i| PIECES[i].0).collect();
                let mut middle: Vec<u8> = v.iter().flat_map(|&i| PIECES[i].1.bytes()).collect();
                if let Some((at, b)) = change
                    && !middle.is_empty()
                {
                    let i = at.index(middle.len());
                    middle[i] = b;
                }
                let text = [before.as_bytes(), &middle, after.as_bytes()].concat();
                (pattern, text)
            })
    }

    proptest! {
        // About one case in ten has a sieve and a match.
        #![proptest_config(ProptestConfig::with_cases(1024))]

        /// A sieve matches every text its pattern matches.
        #[test]
        fn a_sieve_never_says_no_to_a_match((p, text) in case()) {
            if let Some(s) = sieve(&parse(&p))
                && regex(&p).is_match(&text)
            {
                prop_assert!(s.is_match(&text), "{:?} on {:?}", p, text);
            }
        }

        /// Every non-empty match starts with a byte `first_bytes` names,
        /// and an empty match is possible only when it says so (checked
        /// against an anchored search at every position).
        #[test]
        fn first_bytes_names_every_first_byte((p, text) in case()) {
            let mut set = [false; 256];
            let empty = first_bytes(&parse(&p), &mut set);
            let re = regex(&p);
            for at in 0..=text.len() {
                let input = regex_automata::Input::new(&text)
                    .range(at..)
                    .anchored(regex_automata::Anchored::Yes);
                if let Some(m) = re.find(input) {
                    if m.is_empty() {
                        prop_assert!(empty, "{:?} matches empty at {}", p, at);
                    } else {
                        prop_assert!(set[usize::from(text[at])], "{:?} at {}", p, at);
                    }
                }
            }
        }
    }

    #[test]
    fn look_alike_patterns_get_a_sieve_on_their_rare_letter() {
        let s = sieve(&parse(
            r"(?:\b|\s)[^a-z0-9]{0,3}[Xx][^a-z0-9]{0,3}[a4@][^a-z0-9]{0,3}[Nn]",
        ))
        .unwrap();
        assert!(s.is_match(b"buy x-a-n now"));
        assert!(!s.is_match(b"a plain sentence about nothing"));
    }

    #[test]
    fn common_or_empty_starts_get_none() {
        // Every tail starts with a common letter or a space.
        assert!(sieve(&parse(r"\b(?:[a-z]{8,}[\s.]+){6}")).is_none());
        // Too short to be worth a pass.
        assert!(sieve(&parse(r"\bx")).is_none());
        // Can match the empty string.
        assert!(sieve(&parse(r"x*")).is_none());
    }

    #[test]
    fn weights_rank_rare_bytes_low() {
        assert!(byte_weight(b'x') < byte_weight(b'e'));
        assert!(byte_weight(b'E') < byte_weight(b'e'));
        assert!(byte_weight(0xc3) < byte_weight(b'z') + 1);
        assert_eq!(byte_weight(b' '), 150);
    }
}
