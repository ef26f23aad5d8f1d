//! Tests: Perl-semantics table, translation shapes, property tests
//! against the fallback engine and a naive prefilter oracle, and an ignored
//! measurement over the stock rules and the corpus.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::*;

/// (pattern, flags, text, Perl's count of `//g` matches; -1: Perl, compiling
/// as SpamAssassin does with warnings fatal, rejects the pattern).
///
/// Every row was produced by perl 5.36 with `qr/(?FLAGS)PATTERN/aa` and
/// `() = $text =~ /$qr/g`.
const PERL: &[(&str, &str, &[u8], i32)] = &[
    (r#"a$"#, "", b"a\n", 1),
    (r#"a$"#, "", b"a\nb", 0),
    (r#"a$\n"#, "", b"a\n", 1),
    (r#"$"#, "", b"a\n", 2),
    (r#"^"#, "m", b"a\nb\n", 2),
    (r#"^$"#, "m", b"a\n\nb\n", 1),
    (r#"^\s*$"#, "m", b"x\n\n", 1),
    (r#"foo$"#, "m", b"foo\nbar", 1),
    (r#"^bar"#, "m", b"foo\nbar", 1),
    (r#"^bar"#, "", b"foo\nbar", 0),
    (r#"a\Z"#, "", b"a\n", 1),
    (r#"a\z"#, "", b"a\n", 0),
    (r#"\Aa"#, "", b"ba", 0),
    (r#"\xC9"#, "i", b"\xE9", 1),
    (r#"é"#, "i", b"\xE3\xA9", 1),
    (r#"é"#, "", b"\xC3\xA9", 1),
    (r#"[é]"#, "", b"\xA9", 1),
    (r#"\xDF"#, "i", b"ss", 0),
    (r#"\bfoo\b"#, "", b"a foo.", 1),
    (r#"\bfoo\b"#, "", b"\xE9foo\xE9", 1),
    (r#"\w+"#, "", b"\xE9t\xE9", 1),
    (r#"\s"#, "", b"\x85", 0),
    (r#"\s"#, "", b"\x0B", 1),
    (r#"\h"#, "", b"\xA0", 1),
    (r#"\v"#, "", b"\x85", 1),
    (r#"\v"#, "", b"\x0B", 1),
    (r#"\H"#, "", b"\xA0", 0),
    (r#"\d"#, "", b"\xB2", 0),
    (r#"[[:alpha:]]+"#, "", b"ab\xE9", 1),
    (r#"[[:^digit:]]"#, "", b"12a", 1),
    (r#"[[:upper:]]"#, "i", b"a", 1),
    (r#"[^a]"#, "i", b"A", 0),
    (r#"[a-c]+"#, "i", b"ABCD", 1),
    (r#"\x41"#, "i", b"a", 1),
    (r#"\x{41}"#, "", b"A", 1),
    (r#"\x{100}"#, "", b"\xC4\x80", 0),
    (r#"\101"#, "", b"A", 1),
    (r#"\0"#, "", b"\0", 1),
    (r#"\012"#, "", b"\n", 1),
    (r#"\10"#, "", b"\x08", 1),
    (r#"(a)\1"#, "", b"aa", 1),
    (r#"(a)\10"#, "", b"a\x08", 1),
    (r#"\cA"#, "", b"\x01", 1),
    (r#"\e"#, "", b"\x1B", 1),
    (r#"a{,3}"#, "", b"aaaa", 3),
    (r#"a{ 1 , 2 }b"#, "", b"aab", 1),
    (r#"{"#, "", b"{", 1),
    (r#"a{2}+"#, "", b"aaaa", 2),
    (r#"a++b"#, "", b"aab", 1),
    (r#"(?>a+)b"#, "", b"aab", 1),
    (r#"(?>a+)a"#, "", b"aaa", 0),
    (r#"a*+a"#, "", b"aaa", 0),
    (r#"a(?=b)"#, "", b"ab ac", 1),
    (r#"a(?!b)"#, "", b"ab ac", 1),
    (r#"(?<=a)b"#, "", b"ab cb", 1),
    (r#"(?<!a)b"#, "", b"ab cb", 1),
    (r#"(?<n>a)\k<n>"#, "", b"aa", 1),
    (r#"(?P<n>a)(?P=n)"#, "", b"aa", 1),
    (r#"(a)\g{-1}"#, "", b"aa", 1),
    (r#"(a)\g1"#, "", b"aa", 1),
    (r#"a\Kb"#, "", b"ab", 1),
    (r#"\R"#, "", b"\r\n\n", 2),
    (r#"\R\n"#, "", b"\r\n", 0),
    (r#"(?i)abc"#, "", b"ABC", 1),
    (r#"(?i:a)b"#, "", b"AB Ab", 1),
    (r#"(?^i:a)"#, "", b"A", 1),
    (r#"(?i)a(?^)a"#, "", b"aA AA", 0),
    (r#"(?#comment)a"#, "", b"a", 1),
    (r#"a b # c"#, "x", b"ab", 1),
    (r#"[ a]"#, "x", b"\x20", 1),
    (r#"[ a]"#, "xx", b"\x20", 0),
    (r#"\ a"#, "x", b" a", 1),
    (r#"a(?x) b"#, "", b"ab", 1),
    (r#"(?s)."#, "", b"\n", 1),
    (r#"."#, "", b"\n", 0),
    (r#"(?m)^a"#, "", b"b\na", 1),
    (r#"a.c"#, "s", b"a\nc", 1),
    (r#"\N"#, "", b"\n", 0),
    (r#"a|b"#, "", b"abc", 2),
    (r#"(?:ab)*c"#, "", b"ababc", 1),
    (r#"x{2,3}?"#, "", b"xxx", 1),
    (r#"x*?y"#, "", b"xxy", 1),
    (r#"[\]]"#, "", b"]", 1),
    (r#"[]a]"#, "", b"]", 1),
    (r#"[^]a]"#, "", b"b", 1),
    (r#"[a-]"#, "", b"-", 1),
    (r#"[\w-]"#, "", b"-", 1),
    (r#"[\x41-\x43]"#, "", b"B", 1),
    (r#"\."#, "", b".", 1),
    (r#"\/"#, "", b"/", 1),
    (r#"[\d.]+"#, "", b"1.2", 1),
    (r#"\Qa.b\E"#, "", b"a.b", -1),
    (r#"\y"#, "", b"y", -1),
    (r#"a{"#, "", b"a{", -1),
    (r#"\d{"#, "", b"1{", -1),
    (r#"*a"#, "", b"a", -1),
    (r#"a**"#, "", b"a", -1),
    (r#"[z-a]"#, "", b"a", -1),
    (r#"[\w-z]"#, "", b"-", -1),
    (r#"[:alpha:]"#, "", b"a", -1),
    (r#"(a"#, "", b"a", -1),
    (r#"a)"#, "", b"a", -1),
    (r#"\"#, "", b"a", -1),
    (r#"a{3,1}"#, "", b"aaa", -1),
    (r#"(?<=a+)b"#, "", b"ab", -1),
    (r#"(?{ 1 })"#, "", b"a", -1),
    (r#"\8"#, "", b"8", -1),
    (r#"\08"#, "", b"\0", -1),
    (r#"\bfoo"#, "g", b"foo", -1),
    (r#"(?<=ab|c)d"#, "", b"cd abd", 2),
    (r#"^\s*$"#, "", b"", 1),
    (r#"\s+$"#, "", b"a  \n", 1),
    (r#"(?i)\bFREE\b"#, "", b"free Free FREE", 3),
];

fn count_all(pattern: &str, flags: &str, text: &[u8]) -> Result<usize, RegexError> {
    let mut b = SetBuilder::new();
    let (id, _) = b.add(pattern, flags)?;
    let set = b.build();
    let mut budget = Budget::new(10);
    let n = set.count(id, text, 1000, &mut budget);
    assert!(!budget.exhausted, "{pattern:?}: budget exhausted");
    // The prefilter must name the pattern whenever it matches.
    if n > 0 {
        let mut c = Vec::new();
        set.candidates(text, &mut c);
        assert_eq!(c, [id], "{pattern:?}: prefilter lost a match");
    }
    Ok(n)
}

#[test]
fn perl_table() {
    let mut bad = Vec::new();
    for &(p, f, text, want) in PERL {
        let got = match count_all(p, f, text) {
            Ok(n) => n as i32,
            Err(RegexError::Invalid(_)) => -1,
            Err(e) => panic!("{p:?}/{f}: {e}"),
        };
        if got != want {
            bad.push(format!("{p:?} /{f} on {text:?}: perl {want}, here {got}"));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn unsupported_is_not_invalid() {
    for p in [
        r"\p{L}",
        r"(?(1)a|b)",
        r"(?R)",
        r"(?|(a)|(b))",
        r"(*FAIL)",
        r"\X",
    ] {
        assert!(
            matches!(translate(p, ""), Err(RegexError::Unsupported(_))),
            "{p}"
        );
    }
}

#[test]
fn engine_choice() {
    let cases = [
        (r"\bfoo\b", "i", EngineKind::Native),
        (r"foo$", "", EngineKind::Native),
        (r"(?:foo$|bar$)", "", EngineKind::Native),
        (r"foo$\n", "", EngineKind::Fallback),
        (r"^foo", "m", EngineKind::Native),
        (r"^\s*$", "m", EngineKind::Fallback),
        (r"foo(?=bar)", "", EngineKind::Fallback),
        (r"(a)\1", "", EngineKind::Fallback),
        (r"a++", "", EngineKind::Fallback),
        (r"\R", "", EngineKind::Fallback),
        (r"(?<n>a)b", "", EngineKind::Native),
    ];
    for (p, f, want) in cases {
        let mut b = SetBuilder::new();
        assert_eq!(b.add(p, f).map(|r| r.1), Ok(want), "{p}");
    }
}

#[test]
fn translation_shapes() {
    let t = translate("é", "").unwrap();
    assert_eq!(t.native.unwrap(), r"\xC3\xA9");
    let t = translate("a.b", "").unwrap();
    assert_eq!(t.native.unwrap(), r"a[\x00-\x09\x0B-\xFF]b");
    let t = translate("A", "i").unwrap();
    assert_eq!(t.native.unwrap(), r"[\x41\x61]");
    // Never octal: a backreference stays a backreference.
    let t = translate(r"(a)\1", "").unwrap();
    assert_eq!(t.fancy, r"(a)(?:\1)");
    // The relaxed form reads a backreference as its group's pattern:
    // without position tests, folded under /i, its own backreferences
    // "anything".
    assert_eq!(t.relaxed, r"(?:a)(?:a)");
    let t = translate(r"(\ba)\1", "i").unwrap();
    assert_eq!(t.relaxed, r"(?:\b[\x41\x61])(?:[\x41\x61])");
    let t = translate(r"(a)(?i:\1)", "").unwrap();
    assert_eq!(t.relaxed, r"(?:a)(?:(?:[\x41\x61]))");
    let t = translate(r"(a(?=b))(\1c)\2", "").unwrap();
    assert_eq!(t.relaxed, r"(?:a)(?:(?:a)c)(?:[\x00-\xFF]*c)");
    // A large group stays "anything".
    let t = translate(&format!("({})\\1", "a".repeat(70)), "").unwrap();
    assert!(t.relaxed.ends_with(r"[\x00-\xFF]*"), "{}", t.relaxed);
    // The relaxed form keeps narrow bounds and drops wide upper ones.
    let t = translate(r"(a)x{1,3}y{2,9}\1", "").unwrap();
    assert_eq!(t.relaxed, r"(?:a)(?:x){1,3}(?:y){2,}(?:a)");
}

#[test]
fn modifiers() {
    for f in [
        "", "i", "m", "s", "x", "xx", "ism", "n", "p", "a", "aa", "u", "l", "d",
    ] {
        assert!(translate("a", f).is_ok(), "{f}");
    }
    for f in ["g", "o", "c", "e", "q", "ig"] {
        assert!(
            matches!(translate("a", f), Err(RegexError::Invalid(_))),
            "{f}"
        );
    }
    // /n: plain groups do not capture, so \1 has nothing to refer to.
    assert!(translate(r"(a)\1", "n").is_err());
}

#[test]
fn budget_is_charged_and_refused() {
    let mut b = SetBuilder::new();
    let (id, kind) = b.add(r"(\w+)\s+\1", "").unwrap();
    assert_eq!(kind, EngineKind::Fallback);
    let set = b.build();
    let mut budget = Budget::new(1);
    // Ruled out by the linear pre-check: free.
    assert_eq!(set.count(id, b"x", 1, &mut budget), 0);
    assert_eq!(budget.left, 1);
    assert_eq!(set.count(id, b"the the", 1, &mut budget), 1);
    assert_eq!(budget.left, 0);
    assert!(!budget.exhausted);
    assert_eq!(set.count(id, b"the the", 1, &mut budget), 0);
    assert!(budget.exhausted);
}

#[test]
fn catastrophic_backtracking_is_cut() {
    let mut b = SetBuilder::new();
    let (id, _) = b.add(r"^((?=a)a|a)+(?=b)\1", "").unwrap();
    let set = b.build();
    let mut budget = Budget::new(10);
    let text = [b"a".repeat(28), b"x!".to_vec()].concat();
    assert_eq!(set.count(id, &text, 1, &mut budget), 0);
    assert!(budget.exhausted);
}

#[test]
fn count_limits_and_unknown_ids() {
    let mut b = SetBuilder::new();
    let (id, _) = b.add("a", "").unwrap();
    let set = b.build();
    let mut budget = Budget::new(0);
    assert_eq!(set.count(id, b"aaaa", 3, &mut budget), 3);
    assert_eq!(set.count(id, b"aaaa", 0, &mut budget), 0);
    assert_eq!(set.count(99, b"aaaa", 3, &mut budget), 0);
    assert_eq!(set.len(), 1);
    assert_eq!(set.kind(id), Some(EngineKind::Native));
}

#[test]
fn candidates_are_sorted_and_distinct() {
    let mut b = SetBuilder::new();
    for p in ["hello", "hel+o", "world", r"\d+", "o w"] {
        b.add(p, "").unwrap();
    }
    let set = b.build();
    let mut out = vec![77];
    set.candidates(b"HELLO WORLD hello", &mut out);
    assert_eq!(out, [77, 0, 1, 2, 3, 4]);
    out.clear();
    set.candidates(b"nothing", &mut out);
    assert_eq!(out, [3]);
}

#[test]
fn strings_are_looked_for_up_to_case_and_whitespace() {
    // `\s` makes a string for each whitespace byte; the automaton keeps
    // one, and still finds every spelling.
    let mut b = SetBuilder::new();
    b.add(r"bank\sdraft", "i").unwrap();
    b.add(r"wire\stransfer", "").unwrap();
    let set = b.build();
    assert_eq!(set.literal_count(), 2);
    for (text, want) in [
        (&b"a BANK\tDraft"[..], &[0u32][..]),
        (b"bank\x0bdraft", &[0]),
        (b"bank\r\ndraft", &[]),
        (b"wire\x0ctransfer", &[1]),
        // The automaton ignores case; the regex does not.
        (b"WIRE TRANSFER", &[1]),
        (b"bankdraft wiretransfer", &[]),
    ] {
        let mut out = Vec::new();
        set.candidates(text, &mut out);
        assert_eq!(out, want, "{}", String::from_utf8_lossy(text));
    }
    let mut budget = Budget::new(0);
    assert_eq!(set.count(1, b"WIRE TRANSFER", 1, &mut budget), 0);
}

#[test]
fn required_literal_shapes() {
    let lits = |p: &str, f: &str| {
        let t = translate(p, f).unwrap();
        let s = t.native.unwrap_or(t.relaxed);
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(&s)
            .unwrap();
        prefilter::required(&hir).map(|v| {
            v.into_iter()
                .map(|s| String::from_utf8_lossy(&s).into_owned())
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(lits(r"\bviagra\b", "i"), Some(vec!["viagra".into()]));
    assert_eq!(
        lits(r"v[i1]agra", ""),
        Some(vec!["v1agra".into(), "viagra".into()])
    );
    assert_eq!(
        lits(r"(?:cheap|free) \w+ pills", ""),
        Some(vec![" pills".into()])
    );
    assert_eq!(
        lits(r"colou?r", ""),
        Some(vec!["color".into(), "colour".into()])
    );
    assert_eq!(lits(r"a|bcd", ""), None);
    assert_eq!(lits(r".*", ""), None);
    assert_eq!(lits(r"(?:abc)?x", ""), None);
    assert_eq!(lits(r"(?:abc)+x", ""), Some(vec!["abcx".into()]));
    assert_eq!(lits(r"foo(?=barbaz)", ""), Some(vec!["foo".into()]));
    // A run that overflows the set bound is no longer the whole language
    // (regex-syntax factors the common "o" out of the alternation).
    let l = lits(r"\b(?:on\s(?:my|our)\sbehalf|of\sbehalf\sof)\b", "i").unwrap();
    for text in ["on my behalf", "on\tour\nbehalf", "of behalf of"] {
        assert!(l.iter().any(|s| text.contains(s.as_str())), "{text}: {l:?}");
    }
}

#[test]
fn look_alike_words_with_vanishing_letters_are_not_always_candidates() {
    // SpamAssassin's FUZZY_* shape: every tag once or twice, separators
    // between, and tags whose punctuation spellings (`!` for i, `@` for c)
    // leave nothing in a skeleton, so that `pr` alone is certain there.
    let tag = |t: &str| format!("(?:{t}|\\xd1\\x80){{1,2}}");
    let word = ["[pP]", "[rR]", "[iIl|!1y?]", "[cCk@]", "[eE3]", "[sSz]"]
        .map(tag)
        .join(r"\W{0,2}");
    let mut b = SetBuilder::lines();
    b.add(&format!("(?!price){word}"), "i").unwrap();
    let set = b.build();
    assert_eq!(set.always_candidates(), 0);
    for (line, want) in [
        ("p.r.!.c.e.s", true),
        ("ppr|ces now", true),
        ("PR!!@3S", true),
        ("cheap PRYCES", true),
        ("nothing to see in this line", false),
        ("a paragraph of ordinary words", false),
    ] {
        let pairs = line_pairs(&set, &[line.to_string()], true);
        assert_eq!(!pairs.is_empty(), want, "{line}: {pairs:?}");
        if want {
            assert_eq!(
                set.count(0, line.as_bytes(), 1, &mut Budget::new(10)),
                1,
                "{line}"
            );
        }
    }
}

/// A look-alike word whose letters are spelled in ASCII or as character
/// references, with separators that take any non-word byte
/// (`__DRUGS_ERECTILE10`'s shape), keeps its letters in the skeleton of
/// any text: it is a candidate on a line that is not plain only where
/// those letters are, not on every such line.
#[test]
fn letters_keep_look_alikes_off_lines_that_are_not_plain() {
    let p = r"\b_{0,3}V[_\W]?(?:i|\&iuml\;)[_\W]?(?:a|\&agrave|\&aring)\;?[_\W]?g[_\W]?r[_\W]?(?:a|\&agrave|\&aring)\b";
    let (node, _) = perl::parse(p.as_bytes(), "i").unwrap();
    let hir = perl::native_hir(&node).unwrap();
    assert!(matches!(
        prefilter::Required::of(&hir),
        prefilter::Required::Letters(_)
    ));
    let mut b = SetBuilder::lines();
    let (id, _) = b.add(p, "i").unwrap();
    let set = b.build();
    assert_eq!(set.always_candidates(), 0);
    assert_eq!(set.plain_only_candidates(), 0);
    for (line, want) in [
        ("V&iuml;&agrave;gra", true),
        ("buy v.i.a.g.r.a now", true),
        ("caf\u{e9}: V&iuml;_a g r&aring;", true),
        ("caf\u{e9} &amp; cr\u{e8}me br\u{fb}l\u{e9}e", false),
        ("&nbsp;&nbsp; a line of markup &copy; 2004", false),
        ("plain words only", false),
    ] {
        let pairs = line_pairs(&set, &[line.to_string()], true);
        assert_eq!(!pairs.is_empty(), want, "{line}: {pairs:?}");
        let mut c = Vec::new();
        set.candidates(line.as_bytes(), &mut c);
        assert_eq!(c.contains(&id), want, "{line}");
        if want {
            assert_eq!(
                set.count(id, line.as_bytes(), 1, &mut Budget::new(10)),
                1,
                "{line}"
            );
        }
    }
}

#[test]
fn letters_stop_reading_long_patterns() {
    // Letters that may be UTF-8 look-alikes, which a skeleton drops, and
    // then a word spelled with separators and references: the word's
    // letters are required.
    let pattern = |n: usize| {
        format!(
            r"{}V[_\W]?(?:i|\&iuml\;)[_\W]?(?:a|\&agrave)\;?[_\W]?g[_\W]?r[_\W]?a",
            r"(?:x|\xce\x91)".repeat(n)
        )
    };
    let (node, _) = perl::parse(pattern(10).as_bytes(), "").unwrap();
    let hir = perl::native_hir(&node).unwrap();
    assert!(prefilter::required_letters(&hir).is_some());
    // Past `LETTERS_LEAVES` leaves the walk stops: what it has not read
    // may be anything, and there was nothing in what it read.
    let long = pattern(prefilter::LETTERS_LEAVES as usize);
    let (node, _) = perl::parse(long.as_bytes(), "").unwrap();
    let hir = perl::native_hir(&node).unwrap();
    assert_eq!(prefilter::required_letters(&hir), None);
    // It keeps its set for plain text, and is a candidate where it matches.
    assert!(matches!(
        prefilter::Required::of(&hir),
        prefilter::Required::Plain(_)
    ));
    let text = format!(
        "{}V.i.a.g.r.a",
        "x".repeat(prefilter::LETTERS_LEAVES as usize)
    );
    let mut b = SetBuilder::lines();
    let (id, _) = b.add(&long, "").unwrap();
    let set = b.build();
    let mut c = Vec::new();
    set.candidates(text.as_bytes(), &mut c);
    assert_eq!(c, [id]);
    assert_eq!(set.count(id, text.as_bytes(), 1, &mut Budget::new(10)), 1);
}

// ---------------------------------------------------------------------------
// Property tests

/// Pattern `p` alone in a set: whenever it matches `t`, it is `t`'s one
/// candidate.
fn sole_pattern_is_a_candidate_where_it_matches(
    p: &str,
    f: &str,
    t: &str,
) -> Result<(), TestCaseError> {
    let mut b = SetBuilder::new();
    let Ok((id, _)) = b.add(p, f) else {
        return Ok(());
    };
    let set = b.build();
    let mut cands = Vec::new();
    set.candidates(t.as_bytes(), &mut cands);
    if set.count(id, t.as_bytes(), 1, &mut Budget::new(10)) > 0 {
        prop_assert_eq!(cands, vec![id], "{}", p);
    }
    Ok(())
}

/// Small random Perl patterns over a small alphabet.
fn pattern() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("a".to_string()),
        Just("b".to_string()),
        Just("ab".to_string()),
        Just("abc".to_string()),
        Just("A".to_string()),
        Just(".".to_string()),
        Just(r"\w".to_string()),
        Just(r"\W".to_string()),
        Just(r"\s".to_string()),
        Just(r"\d".to_string()),
        Just("[ab]".to_string()),
        Just("[^a]".to_string()),
        Just("^".to_string()),
        Just("$".to_string()),
        Just(r"\b".to_string()),
        Just(r"\B".to_string()),
        Just(r"\n".to_string()),
        Just(r"\Z".to_string()),
        Just(r"\z".to_string()),
        Just(r"\A".to_string()),
        Just("é".to_string()),
        Just(r"\xE9".to_string()),
        Just(r"\h".to_string()),
        Just(r"\v".to_string()),
    ];
    leaf.prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(|v| v.concat()),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}|{b}")),
            inner.clone().prop_map(|a| format!("({a})")),
            (inner.clone(), 0..9usize).prop_map(|(a, q)| {
                // Wide bounds too, which the relaxed form drops.
                let q = ["*", "+", "?", "{1,2}", "*?", "{2}", "??", "{0,5}", "{2,7}?"][q];
                format!("(?:{a}){q}")
            }),
            inner.prop_map(|a| format!("(?i:{a})")),
        ]
    })
}

/// The lines one after another, each followed by `\n` when `apart` (else
/// side by side), and each line's `start..end` range in the result.
fn joined(lines: &[String], apart: bool) -> (Vec<u8>, Vec<(u32, u32)>) {
    let mut buf = Vec::new();
    let mut ranges = Vec::new();
    for l in lines {
        let s = buf.len() as u32;
        buf.extend_from_slice(l.as_bytes());
        ranges.push((s, buf.len() as u32));
        if apart {
            buf.push(b'\n');
        }
    }
    (buf, ranges)
}

/// `candidate_lines` of `lines` (see [`joined`]) as (pattern, line) pairs.
fn line_pairs(set: &Set, lines: &[String], apart: bool) -> Vec<(u32, u32)> {
    let (buf, ranges) = joined(lines, apart);
    let mut pairs = Vec::new();
    set.candidate_lines(&buf, &ranges, &mut pairs, &mut SetScratch::default());
    pairs.iter().map(|c| (c.id, c.line)).collect()
}

/// The oracle of the look-alike prefilter tests: words of `tags` (indexes
/// into it) joined by `gap`, each a pattern of one set, and lines made of
/// pieces. Whenever a pattern matches in a line, `candidate_lines` names
/// that line or every line, and `candidates` names the pattern.
fn tags_prefilter_is_sound(
    tags: &[&str],
    words: &[Vec<usize>],
    gap: &str,
    lines: &[Vec<&str>],
) -> Result<(), TestCaseError> {
    let mut b = SetBuilder::lines();
    let mut ids = Vec::new();
    for w in words {
        let p: Vec<&str> = w.iter().map(|&i| tags[i]).collect();
        if let Ok((id, _)) = b.add(&p.join(gap), "i") {
            ids.push(id);
        }
    }
    let set = b.build();
    let lines: Vec<String> = lines.iter().map(|l| l.concat()).collect();
    let pairs = line_pairs(&set, &lines, true);
    for &id in &ids {
        for (i, l) in lines.iter().enumerate() {
            if set.count(id, l.as_bytes(), 1, &mut Budget::new(10)) > 0 {
                prop_assert!(
                    pairs.contains(&(id, i as u32)) || pairs.contains(&(id, ALL_LINES)),
                    "{} {:?}",
                    id,
                    l
                );
                let mut c = Vec::new();
                set.candidates(l.as_bytes(), &mut c);
                prop_assert!(c.contains(&id), "{} {:?}", id, l);
            }
        }
    }
    Ok(())
}

/// A pattern whose parts each need a string of their own is a candidate
/// only where both the prefilter's set and a second part's set occur: on a
/// line with one of them it does not run.
#[test]
fn second_sets_keep_patterns_off_lines_with_one_part() {
    let p = r"\b(?:was|were)\s(?:\w+\s){0,2}(?:randomly\s)?(?:selected|chosen)\b";
    let (node, _) = perl::parse(p.as_bytes(), "i").unwrap();
    let hir = perl::native_hir(&node).unwrap();
    let (first, second) = prefilter::required_pair(&hir);
    assert_eq!(first, prefilter::required(&hir));
    assert_ne!(first, second);
    assert!(second.is_some());
    // A set the first one implies adds nothing.
    let (node, _) = perl::parse(b"selected[a-z]+", "").unwrap();
    let hir = perl::native_hir(&node).unwrap();
    assert_eq!(prefilter::required_pair(&hir).1, None);

    let mut b = SetBuilder::lines();
    let (id, _) = b.add(p, "i").unwrap();
    let set = b.build();
    let lines = [
        "it was a sunny day",
        "you were randomly selected",
        "the selected few",
        "WERE   CHOSEN",
    ];
    let named: Vec<u32> = line_pairs(&set, &lines.map(String::from), true)
        .into_iter()
        .filter(|&(p, _)| p == id)
        .map(|(_, line)| line)
        .collect();
    assert_eq!(named, [1, 3]);
    let mut cands = Vec::new();
    set.candidates(lines[0].as_bytes(), &mut cands);
    assert!(cands.is_empty());
    set.candidates(lines[1].as_bytes(), &mut cands);
    assert_eq!(cands, [id]);
}

/// SpamAssassin's `__E_LIKE_LETTER` shape gets an automaton counter, one
/// with a line break or a look-around does not.
#[test]
fn literal_counters_are_for_lists_of_strings() {
    let mut b = SetBuilder::lines();
    let (e, _) = b.add(r"(?:e|\xc3[\xa8-\xab]|\xd0\xb5)", "").unwrap();
    let (nl, _) = b.add(r"e\n|x", "").unwrap();
    let (bound, _) = b.add(r"\be", "").unwrap();
    let set = b.build();
    let text = "caf\u{e9} \u{435}e\nee".as_bytes();
    assert_eq!(set.count_literals(e, text, 10), Some(5));
    assert_eq!(set.count_literals(e, text, 3), Some(3));
    assert_eq!(set.count_literals(nl, text, 10), None);
    assert_eq!(set.count_literals(bound, text, 10), None);
}

/// A text of the words `picks` names, each followed by its glue.
fn of_words(words: &[String], picks: &[(prop::sample::Index, String)]) -> String {
    picks
        .iter()
        .map(|(i, glue)| format!("{}{}", i.get(words), glue))
        .collect()
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b'a'),
            Just(b'b'),
            Just(b'c'),
            Just(b'A'),
            Just(b' '),
            Just(b'\n'),
            Just(b'1'),
            Just(0xE9),
            Just(0xC9),
            Just(0xC3),
            Just(0xA9),
            Just(0xA0),
        ],
        0..24,
    )
}

fn flags() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just(""),
        Just("i"),
        Just("m"),
        Just("s"),
        Just("ms"),
        Just("is")
    ]
}

/// A whole-text form that shares the pattern's own regex (or a fallback
/// pattern's relaxed one) matches what a freshly compiled form matches.
#[test]
fn shared_whole_text_forms_match_fresh_ones() {
    let pats = [
        (r"[a-f]\d", ""),
        (r"(\w)\1", ""),
        (r"^\s*\S$", "m"),
        (r"\d$", ""),
        (r"[xy](?![ab])", "i"),
        (r"\b\w{2}\b", ""),
    ];
    let mut b = SetBuilder::lines();
    for (p, f) in pats {
        b.add(p, f).unwrap();
    }
    let set = b.build();
    let texts: [&[u8]; 6] = [
        b"a1\n",
        b"xyz\nzz\n",
        b"  x\n",
        b"Ya\nyc\n",
        b"q7\nab\n",
        b"-\n",
    ];
    for (id, (p, f)) in pats.iter().enumerate() {
        let t = translate(p, f).unwrap();
        let fresh = whole_text(t.native.as_deref().unwrap_or(&t.relaxed)).unwrap();
        let shared = set.whole(id as u32).expect("literal-less").regex();
        for text in texts {
            assert_eq!(
                shared.is_match(text),
                fresh.is_match(text),
                "{p} on {text:?}"
            );
        }
    }
}

proptest! {
    /// A byte set's members, from its bit words, and its folding and
    /// class text from them, against a test of every byte.
    #[test]
    fn byte_set_members_agree_with_every_byte(words in any::<[u64; 4]>(), sparse in any::<[u8; 4]>()) {
        for s in [perl::ByteSet(words), perl::ByteSet(words.map(|w| w & u64::from(sparse[0]) << 7 | w & 1 << 63))] {
            let naive: Vec<u8> = (0..=255u8).filter(|&b| s.has(b)).collect();
            prop_assert_eq!(s.iter().collect::<Vec<u8>>(), naive.clone());
            let mut folded = s;
            for &b in &naive {
                if let Some(p) = perl::case_partner(b) {
                    folded.add(p);
                }
            }
            prop_assert_eq!(s.fold(), folded);
            // The class as the native syntax reads it back: the same bytes.
            let class = perl::native(&perl::Node::Class(s)).unwrap();
            let re = native_regex(&format!("^{class}$")).unwrap();
            for b in 0..=255u8 {
                prop_assert_eq!(re.is_match(&[b][..]), s.has(b), "{} {}", class, b);
            }
        }
    }
}

/// The tree [`translate`] renders: parsed, possessive runs made plain
/// where they can be.
fn node_of(p: &str, f: &str) -> perl::Node {
    possessive::plain_runs(&perl::parse(p.as_bytes(), f).unwrap().0)
}

/// Compares [`perl::native_hir`] and [`perl::relaxed_hir`] with the
/// parsed written forms; `Err` says how they differ.
fn same_trees(p: &str, f: &str) -> Result<(), String> {
    let Ok((node, _)) = perl::parse(p.as_bytes(), f) else {
        return Ok(());
    };
    let node = possessive::plain_runs(&node);
    let written = perl::native(&node).map(|s| parse_native(&s).unwrap());
    if perl::native_hir(&node) != written {
        return Err(format!("native {p} /{f}: {written:?}"));
    }
    let relaxed = parse_native(&perl::relaxed(&node)).unwrap();
    if perl::relaxed_hir(&node) != relaxed {
        return Err(format!("relaxed {p} /{f}: {relaxed:?}"));
    }
    Ok(())
}

/// Lines side by side: a string that ends where the next line starts is
/// in the line before.
#[test]
fn candidate_lines_side_by_side() {
    let mut b = SetBuilder::new();
    b.add("abc", "").unwrap();
    b.add("def", "").unwrap();
    let set = b.build();
    let mut pairs = Vec::new();
    let lines = [(0, 5), (5, 5), (5, 8), (8, 12)];
    set.candidate_lines(
        b"xxabcdefabcd",
        &lines,
        &mut pairs,
        &mut SetScratch::default(),
    );
    let lines: Vec<(u32, u32)> = pairs.iter().map(|c| (c.id, c.line)).collect();
    assert_eq!(lines, [(0, 0), (0, 3), (1, 2)]);
}

/// A backreference to a group that holds a word boundary or a
/// look-around: fancy-regex's seek prefilter would test the copied
/// assertion at the wrong place and skip these matches (counts from perl
/// 5.36).
#[test]
fn backreferences_to_groups_with_assertions_are_found() {
    for (p, t, n) in [
        (r"(\ba)\1", "x aa aa", 2),
        (r"((?:\b|c)a)\1", "aa caca", 2),
        (r"(\b\w)\1", "ab cc dd", 2),
        (r"((?<=x)a)\1", "xaa aa", 1),
    ] {
        let fb = Fallback::new(&node_of(p, "")).unwrap();
        assert_eq!(fb.count(t.as_bytes(), 9), Ok(n), "{p} on {t:?}");
    }
}

/// [`same_trees`] on the shapes random patterns rarely reach: wide and
/// narrow counted repetitions, every assertion in every place, each
/// Perl-only construct.
#[test]
fn trees_built_directly_cover_every_construct() {
    let cases = [
        (r"a{0,200}b", ""),
        (r"a{1,4}b{2,5}c{3}d{4,}e{2,6}", ""),
        (r"(?:x|y){0,9}?", "i"),
        (r"^a$", ""),
        (r"^a$", "m"),
        (r"a$b", ""),
        (r"a$\n", "m"),
        (r"\Aa\z\Z", ""),
        (r"\ba\B", ""),
        (r"\Ga", ""),
        (r"(?=a)b(?!c)(?<=b)(?<!d)", ""),
        (r"(?>a+)b", ""),
        (r"a++b", ""),
        (r"a\Kb", ""),
        (r"(a|bc)x\1", "i"),
        (r"(\w{1,80})@\1", ""),
        (r"[^\x00-\xFF]", ""),
        (r".", "s"),
        (r"(?:)|a", ""),
        (r"(?:\b)?x(?:^)*", "m"),
    ];
    for (p, f) in cases {
        same_trees(p, f).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The syntax trees built directly are the ones the written native and
    /// relaxed patterns parse to.
    #[test]
    fn trees_built_directly_are_the_written_ones(p in pattern(), f in flags()) {
        if let Err(e) = same_trees(&p, f) {
            prop_assert!(false, "{}", e);
        }
    }

    /// The native translation and the fallback engine (an independent
    /// rendering of the same tree, with Perl's `$` and `/m ^` written as
    /// look-around) count the same matches.
    #[test]
    fn native_agrees_with_fallback(p in pattern(), f in flags(), t in text()) {
        let Ok(tr) = translate(&p, f) else { return Ok(()) };
        if let Ok(native) = &tr.native {
            let re = native_regex(native).unwrap();
            let fb = Fallback::new(&node_of(&p, f)).unwrap();
            let n: Result<usize, ()> =
                count_perl(t.len(), 50, |at| {
                    Ok(re.find(regex_automata::Input::new(&t).range(at..)).map(|m| m.range()))
                });
            let m = fb.count(&t, 50);
            if p.contains('$') || p.contains("\\Z") {
                // The native `$` (and `\Z`) consumes the final newline it stands
                // before, so a second match that would start on that
                // newline is not counted: yes/no agrees, counts may not.
                prop_assert_eq!(n.ok().map(|n| n > 0), m.ok().map(|m| m > 0), "{} /{} native {} fancy {}", p, f, native, tr.fancy);
            } else {
                prop_assert_eq!(n.ok(), m.ok(), "{} /{} native {} fancy {}", p, f, native, tr.fancy);
            }
        }
    }

    /// The relaxed pattern accepts every text the real one matches.
    #[test]
    fn relaxed_is_a_superset(p in pattern(), f in flags(), t in text()) {
        let Ok(tr) = translate(&p, f) else { return Ok(()) };
        let fb = Fallback::new(&node_of(&p, f)).unwrap();
        if fb.count(&t, 1) == Ok(1) {
            prop_assert!(!fb.ruled_out(&t), "{} /{}: relaxed {}", p, f, tr.relaxed);
        }
    }

    /// So with backreferences, which the relaxed form reads as their
    /// group's pattern: texts that repeat a piece, groups with look-around
    /// and position tests, backreferences under /i and inside the group
    /// another one copies.
    #[test]
    fn relaxed_backrefs_are_a_superset(
        a in prop_oneof![3 => pattern(), 1 => "[ab]{1,3}"],
        b in pattern(),
        look in prop_oneof![Just(""), Just("(?=a)"), Just("(?!b)"), Just(r"\b"), Just("^")],
        back in prop_oneof![Just(r"\1"), Just(r"(?i:\1)"), Just(r"(?:\1)+"), Just(r"\1?"), Just(r"(\1c)\2")],
        f in flags(),
        x in text(),
        y in text(),
    ) {
        let p = format!("({a}{look})(?:{b})?{back}");
        let Ok(tr) = translate(&p, f) else { return Ok(()) };
        let Ok(fb) = Fallback::new(&node_of(&p, f)) else { return Ok(()) };
        let upper: Vec<u8> = x.to_ascii_uppercase();
        let word = a.as_bytes();
        let texts = [
            [&x[..], &x, &y].concat(),
            [&y[..], &x, &upper].concat(),
            [&x[..], &x, b"c", &x].concat(),
            [&y[..], word, &word.to_ascii_uppercase()].concat(),
        ];
        for t in texts {
            if fb.count(&t, 1) == Ok(1) {
                prop_assert!(!fb.ruled_out(&t), "{} /{}: relaxed {} on {:?}", p, f, tr.relaxed, t);
            }
        }
    }

    /// Prefilter soundness: whenever a pattern matches a text, or any
    /// slice of it, the pattern is a candidate for the whole text.
    #[test]
    fn prefilter_is_sound(
        ps in prop::collection::vec((pattern(), flags()), 1..8),
        t in text(),
        cut in (0usize..24, 0usize..24),
    ) {
        let mut b = SetBuilder::new();
        let mut ids = Vec::new();
        let mut added = Vec::new();
        for (p, f) in &ps {
            if let Ok((id, _)) = b.add(p, f) {
                ids.push(id);
                added.push((p, f));
            }
        }
        let set = b.build();
        let mut cands = Vec::new();
        set.candidates(&t, &mut cands);
        let (lo, hi) = (cut.0.min(t.len()), cut.1.min(t.len()));
        let slice = &t[lo.min(hi)..hi.max(lo)];
        for &id in &ids {
            let mut budget = Budget::new(10);
            if set.count(id, &t, 1, &mut budget) > 0 || set.count(id, slice, 1, &mut budget) > 0 {
                prop_assert!(cands.contains(&id), "{:?}", added[id as usize]);
            }
        }
    }

    /// Literal-heavy patterns, where the prefilter does prune.
    #[test]
    fn prefilter_is_sound_on_words(
        words in prop::collection::vec("[abcAB ]{1,6}", 1..6),
        sep in prop_oneof![Just("|"), Just(""), Just(r"\s*"), Just("(?:x|y)?"), Just(".")],
        f in flags(),
        t in "[abcxyAB \n]{0,40}",
    ) {
        sole_pattern_is_a_candidate_where_it_matches(&words.join(sep), f, &t)?;
    }

    /// Runs of classes and optional parts whose cross product outgrows a
    /// set, so that the long strings of a run are kept and only the short
    /// ones grow on: still sound.
    #[test]
    fn prefilter_is_sound_on_large_products(
        parts in prop::collection::vec(prop_oneof![
            Just("[abcdefgh]"), Just("[abcdefgh]?"), Just("[ab]{1,2}"), Just("[cd]{0,2}"),
            Just("x?"), Just("ab"), Just(r"\W?"), Just("[efgh][abcd]"), Just("(?:a|bcd)"),
            Just("(?:ef|gabc|h)"),
        ], 3..8),
        t in "[abcdefghx .]{0,40}",
    ) {
        sole_pattern_is_a_candidate_where_it_matches(&parts.concat(), "", &t)?;
    }

    /// The count gate's count against a naive one: the most disjoint
    /// occurrences of the words (compared ASCII case-insensitively),
    /// worked out by trying, at each position, both skipping it and
    /// taking each word that starts there.
    #[test]
    fn count_gate_counts_the_most_disjoint_words(
        words in prop::collection::vec("[abAB]{3,4}", 1..4),
        n in 2usize..5,
        t in "[abAB ]{0,24}",
    ) {
        let tr = translate(&format!("(?:{}){{{n}}}", words.join("|")), "i").unwrap();
        let hir = parse_native(tr.native.as_ref().unwrap()).unwrap();
        let Some(gate) = prefilter::CountGate::of(&hir) else { return Ok(()) };
        prop_assert_eq!(gate.needs(), n);
        let t = t.as_bytes();
        // most[i]: the most disjoint occurrences in t[i..].
        let mut most = vec![0usize; t.len() + 1];
        for i in (0..t.len()).rev() {
            most[i] = most[i + 1];
            for w in &words {
                let e = i + w.len();
                if e <= t.len() && t[i..e].eq_ignore_ascii_case(w.as_bytes()) {
                    most[i] = most[i].max(1 + most[e]);
                }
            }
        }
        prop_assert_eq!(gate.passes(t), most[0] >= n, "{:?} {:?}", words, String::from_utf8_lossy(t));
    }

    /// The count gate never turns away a text the pattern matches. The
    /// oracle is the fallback engine, which knows nothing of gates.
    #[test]
    fn count_gate_is_sound(
        words in prop::collection::vec("[abcAB]{3,5}", 1..5),
        sep in prop_oneof![Just(""), Just(r"\s?"), Just(r"[ ,]{0,2}"), Just("(?:x|y)?")],
        n in 2u32..5,
        tail in prop_oneof![Just(""), Just("c"), Just(r"(?:ab){2}")],
        f in flags(),
        picks in prop::collection::vec((any::<prop::sample::Index>(), "[abcxy ,\n]{0,2}"), 0..10),
    ) {
        // Texts made of the words, so that matches are common.
        let t = of_words(&words, &picks);
        let p = format!("(?:(?:{}){}){{{},}}{}", words.join("|"), sep, n, tail);
        let Ok(tr) = translate(&p, f) else { return Ok(()) };
        let Ok(native) = &tr.native else { return Ok(()) };
        let Some(gate) = prefilter::CountGate::of(&parse_native(native).unwrap()) else {
            return Ok(());
        };
        let fb = Fallback::new(&node_of(&p, f)).unwrap();
        if fb.count(t.as_bytes(), 1) == Ok(1) {
            prop_assert!(gate.passes(t.as_bytes()), "{} /{} on {:?}", p, f, t);
        }
    }

    /// One attempt at a time ([`starts::Starts`]) answers as the
    /// unanchored search does, or gives up, on gated patterns and texts
    /// made of their own words (with `\b` and `^` to test the context kept
    /// before each start).
    #[test]
    fn starts_agree_with_the_unanchored_search(
        words in prop::collection::vec("[abcAB]{1,4}", 1..5),
        sep in prop_oneof![Just(""), Just(r"\s?"), Just(r"[ ,]{0,2}"), Just(r"\b")],
        n in 2u32..5,
        head in prop_oneof![Just(""), Just(r"\b"), Just("^"), Just(r"\B")],
        tail in prop_oneof![Just(""), Just("c"), Just("$"), Just(r"\b")],
        f in flags(),
        picks in prop::collection::vec((any::<prop::sample::Index>(), "[abcxy ,\n]{0,2}"), 0..12),
    ) {
        let t = of_words(&words, &picks);
        let p = format!("{}(?:(?:{}){}){{{},}}{}", head, words.join("|"), sep, n, tail);
        let Ok(tr) = translate(&p, f) else { return Ok(()) };
        let Ok(native) = &tr.native else { return Ok(()) };
        let hir = parse_native(native).unwrap();
        let re = native_from_hir(&hir).unwrap();
        let want = re.is_match(t.as_bytes());
        let own = starts::Starts::new(&hir).unwrap();
        // Sharing a forward-only matcher's DFA (and its prefilter, which
        // anchored attempts never use).
        let pre = prefixes(&hir).0;
        let shared = forward::Forward::new(&hir, pre).map(|f| starts::Starts::of(f.dfa().clone()));
        for starts in std::iter::once(own).chain(shared) {
            if let Some(got) = starts.is_match(t.as_bytes()) {
                prop_assert_eq!(got, want, "{} /{} on {:?}", p, f, t);
            }
        }
    }

    /// A pattern that opens with an atomic or possessive run of one class
    /// ([`lead`]) counts what the backtracking engine counts.
    #[test]
    fn atomic_lead_agrees_with_backtracking(
        start in prop_oneof![Just("^"), Just(r"\A")],
        class in prop_oneof![Just(r"\s"), Just("[ab]"), Just(r"\w"), Just("a")],
        bounds in prop_oneof![Just("{0,3}"), Just("{1,2}"), Just("*"), Just("+"), Just("{2}")],
        possessive in any::<bool>(),
        rest in pattern(),
        f in flags(),
        t in text(),
    ) {
        let p = if possessive {
            format!("{start}{class}{bounds}+(?:{rest})")
        } else {
            format!("{start}(?>{class}{bounds})(?:{rest})")
        };
        let Ok((node, _)) = perl::parse(p.as_bytes(), f) else { return Ok(()) };
        let Some(lead) = lead::Lead::new(&node) else { return Ok(()) };
        let fb = Fallback::new(&node).unwrap();
        for max in [1, 5] {
            let Ok(want) = fb.count(&t, max) else { continue };
            prop_assert_eq!(lead.count(&t, max), want, "{} /{} max {} on {:?}", p, f, max, t);
        }
    }

    /// A pattern that opens with look-aheads ([`lead::Ahead`]) counts what
    /// the backtracking engine counts, on the whole text and (a yes/no
    /// question) inside a span.
    #[test]
    fn leading_look_aheads_agree_with_backtracking(
        start in prop_oneof![Just(""), Just("^"), Just(r"\A"), Just(r"\b")],
        looks in prop::collection::vec((any::<bool>(), pattern()), 1..3),
        rest in pattern(),
        f in flags(),
        t in text(),
        cut in any::<prop::sample::Index>(),
    ) {
        let looks: String = looks
            .iter()
            .map(|(neg, x)| format!("(?{}{x})", if *neg { '!' } else { '=' }))
            .collect();
        let p = format!("{start}{looks}(?:{rest})");
        let Ok((node, _)) = perl::parse(p.as_bytes(), f) else { return Ok(()) };
        let Some((ahead, ..)) = lead::Ahead::new(&node, true) else { return Ok(()) };
        let fb = Fallback::new(&node).unwrap();
        for max in [1, 5] {
            let Ok(want) = fb.count(&t, max) else { continue };
            prop_assert_eq!(ahead.count(&t, 0..t.len(), max), Ok(want), "{} /{} max {} on {:?}", p, f, max, t);
        }
        // Inside a span: a match there is a match of the whole text, and
        // a span that holds every match of the text finds one.
        let end = cut.index(t.len() + 1);
        let inside = ahead.count(&t, 0..end, 1).unwrap();
        let Ok(want) = fb.count(&t, 1) else { return Ok(()) };
        if inside > 0 {
            prop_assert_eq!(want, 1, "{} /{} on {:?}", p, f, t);
        }
        if end == t.len() {
            prop_assert_eq!(inside, want, "{} /{} on {:?}", p, f, t);
        }
    }

    /// Line-level soundness: whenever a pattern matches inside one line of
    /// a text made of lines joined by `\n` (or side by side, with nothing
    /// between them), `candidate_lines` names that line (or every line) for
    /// it, and the pairs are sorted and distinct.
    #[test]
    fn candidate_lines_are_sound(
        ps in prop::collection::vec((pattern(), flags()), 1..8),
        words in prop::collection::vec("[abcAB \n]{1,6}", 1..6),
        lines in prop::collection::vec("[abcxyAB .\n]{0,16}", 0..6),
        apart in any::<bool>(),
    ) {
        let mut b = SetBuilder::new();
        let mut ids = Vec::new();
        for (p, f) in &ps {
            if let Ok((id, _)) = b.add(p, f) {
                ids.push(id);
            }
        }
        if let Ok((id, _)) = b.add(&words.join(r"\s*"), "i") {
            ids.push(id);
        }
        let set = b.build();
        let pairs = line_pairs(&set, &lines, apart);
        prop_assert!(pairs.windows(2).all(|w| w[0] < w[1]));
        for &id in &ids {
            for (i, l) in lines.iter().enumerate() {
                let mut budget = Budget::new(10);
                if set.count(id, l.as_bytes(), 1, &mut budget) > 0 {
                    prop_assert!(
                        pairs.contains(&(id, i as u32)) || pairs.contains(&(id, ALL_LINES)),
                        "{} {:?}", id, l
                    );
                }
            }
        }
    }

    /// Patterns of several parts, each with strings of its own (so that
    /// they get a second set), on lines that hold some of those strings:
    /// whenever a pattern matches inside a line, `candidate_lines` names
    /// that line, and `candidates` of the line names the pattern.
    #[test]
    fn paired_prefilter_is_sound(
        ps in prop::collection::vec(
            (prop::collection::vec("(abc|bca|cab|xyz|zyx)", 2..4),
             prop_oneof![Just("."), Just(r"\s*"), Just(".{0,4}"), Just("(?:a|b)?"), Just("")],
             flags()),
            1..6),
        lines in prop::collection::vec("(abc|bca|cab|xyz|zyx|ABC|XYZ| |a|\n){0,12}", 0..6),
        apart in any::<bool>(),
    ) {
        let mut b = SetBuilder::lines();
        let mut added = Vec::new();
        for (words, sep, f) in &ps {
            let p = words.join(sep);
            if let Ok((id, _)) = b.add(&p, f) {
                added.push((id, p, *f));
            }
        }
        let set = b.build();
        let pairs = line_pairs(&set, &lines, apart);
        prop_assert!(pairs.windows(2).all(|w| w[0] < w[1]));
        for (i, l) in lines.iter().enumerate() {
            let mut cands = Vec::new();
            set.candidates(l.as_bytes(), &mut cands);
            for (id, p, f) in &added {
                if set.count(*id, l.as_bytes(), 1, &mut Budget::new(10)) > 0 {
                    prop_assert!(pairs.contains(&(*id, i as u32)) || pairs.contains(&(*id, ALL_LINES)), "{} /{} {:?}", p, f, l);
                    prop_assert!(cands.contains(id), "{} /{} {:?}", p, f, l);
                }
            }
        }
    }

    /// Near the required strings: on every line `candidate_lines` names
    /// for a pattern, [`Set::is_match_near`] answers what a yes/no count
    /// over the whole line answers, for native patterns and for the
    /// relaxed pre-checks of Perl-only ones, with strings that occur once
    /// or several times in lines much longer than a match.
    #[test]
    fn matches_near_the_strings_are_the_matches_in_the_line(
        ps in prop::collection::vec((pattern(), flags(), 0..5usize, any::<bool>()), 1..6),
        lines in prop::collection::vec("(abc|ab|[abcAB .1\n\u{e9}]){0,30}", 0..5),
        apart in any::<bool>(),
    ) {
        const TAILS: [&str; 5] = ["", "(?!a)", r"(\w)\1", "(?<=b)c", r"\b"];
        let mut b = SetBuilder::lines();
        for (p, f, tail, lit) in &ps {
            let p = if *lit { format!("(?:{p})abc{}", TAILS[*tail]) } else { format!("{p}{}", TAILS[*tail]) };
            let _ = b.add(&p, f);
        }
        let set = b.build();
        let (buf, ranges) = joined(&lines, apart);
        let mut cands = Vec::new();
        set.candidate_lines(&buf, &ranges, &mut cands, &mut SetScratch::default());
        for c in cands.iter().filter(|c| c.line != ALL_LINES) {
            let (s, e) = ranges[c.line as usize];
            let line = &buf[s as usize..e as usize];
            let near = set.is_match_near(c, line, s, &mut Budget::new(10));
            let whole = set.count(c.id, line, 1, &mut Budget::new(10)) > 0;
            prop_assert_eq!(near, whole, "{:?} in {:?}", c, String::from_utf8_lossy(line));
        }
    }

    /// The plain-text and skeleton fast paths (look-alike tags: each letter
    /// an alternation of ASCII spellings, UTF-8 homoglyphs and character
    /// references, with or without separators between letters) against the
    /// oracle of running every pattern on every
    /// line: whenever a pattern matches in a line, `candidate_lines` names
    /// that line or every line, and `candidates` names the pattern.
    #[test]
    fn plain_prefilter_is_sound(
        words in prop::collection::vec(prop::collection::vec(0usize..5, 3..6), 1..4),
        gap in prop_oneof![Just(""), Just(r"\W?"), Just(r"\s*"), Just(r"[_\W]{0,3}"), Just(r"[-\s_]?")],
        lines in prop::collection::vec(
            prop::collection::vec(prop_oneof![
                Just("a"), Just("@"), Just("p"), Just("l"), Just("1"), Just("e"), Just("3"),
                Just(" "), Just("&#97;"), Just("\u{e0}"), Just("\u{430}"), Just("x"), Just("&"),
                Just("_"), Just("-"), Just("."), Just("><"), Just("ap"), Just("pl"),
            ], 0..14),
            0..8,
        ),
    ) {
        // Tags for a, p, l, e, x, in SpamAssassin's shape.
        const TAGS: [&str; 5] = [
            r"(?:[aA@\xe0]|\xd0\xb0|&\#97;)",
            r"(?:[pP]|\xd1\x80)",
            r"(?:[lL1|]|&\#108;)",
            r"(?:[eE3]|\xc3\xa9)",
            r"(?:[xX]|><)",
        ];
        tags_prefilter_is_sound(&TAGS, &words, gap, &lines)?;
    }

    /// Look-alike words spelled in ASCII or with character references,
    /// with separators that take any non-word byte: the skeleton of any
    /// text ([`prefilter::Required::Letters`]) against the oracle of
    /// running every pattern on every line, on lines with references,
    /// 8-bit bytes and `&` about.
    #[test]
    fn letters_prefilter_is_sound(
        words in prop::collection::vec(prop::collection::vec(0usize..5, 3..6), 1..4),
        gap in prop_oneof![Just(""), Just(r"[_\W]?"), Just(r"\W{0,2}"), Just(r"[_\W]{0,3}")],
        lines in prop::collection::vec(
            prop::collection::vec(prop_oneof![
                Just("a"), Just("p"), Just("l"), Just("1"), Just("e"), Just("3"), Just("x"),
                Just("&#97;"), Just("&agrave;"), Just("&#108;"), Just("&eacute;"), Just("&times;"),
                Just("\u{e0}"), Just("\u{e9}"), Just("&"), Just(";"), Just(" "), Just("_"),
                Just("."), Just("ap"), Just("pl"), Just("97"),
            ], 0..14),
            0..8,
        ),
    ) {
        // Tags for a, p, l, e, x: ASCII and character references only.
        const TAGS: [&str; 5] = [
            r"(?:[aA@]|&\#97;|&agrave;)",
            r"(?:[pP]|&\#112;)",
            r"(?:[lL1]|&\#108;)",
            r"(?:[eE3]|&eacute;)",
            r"(?:[xX]|&times;)",
        ];
        tags_prefilter_is_sound(&TAGS, &words, gap, &lines)?;
    }

    /// A pattern whose matches start lines runs one anchored attempt on a
    /// text without a line break: the oracle is the same regex run
    /// unanchored, match after match.
    #[test]
    fn line_start_patterns_count_as_unanchored_ones(
        p in pattern(),
        flags in prop_oneof![Just("m"), Just("ms"), Just("mi")],
        text in "(a|b|ab|c| |\n|\u{e9}){0,12}",
        max in 1usize..4,
    ) {
        let p = format!("^{p}");
        let mut b = SetBuilder::lines();
        let Ok((id, EngineKind::Native)) = b.add(&p, flags) else { return Ok(()) };
        let set = b.build();
        let t = translate(&p, flags).unwrap();
        let re = native_regex(t.native.as_deref().unwrap()).unwrap();
        let text = text.as_bytes();
        let want: Result<usize, ()> = count_perl(text.len(), max, |at| {
            Ok(re.find(regex_automata::Input::new(text).range(at..)).map(|m| m.range()))
        });
        prop_assert_eq!(set.count(id, text, max, &mut Budget::new(10)), want.unwrap());
    }

    /// A pattern that is a list of strings is counted by an automaton
    /// over the lines joined by `\n`: the oracle is the regex, counted
    /// line by line, up to the same maximum.
    #[test]
    fn literal_counts_are_the_regex_counts(
        alts in prop::collection::vec(r"(a|b|ab|\[ab\]|\\xc3\[\\xa8\\xa9\]|e|E|\\n){1,2}", 1..5),
        flags in prop_oneof![Just(""), Just("i")],
        lines in prop::collection::vec("(a|b|ab|e|E|\u{e8}|\u{e9}| |\r){0,12}", 0..5),
        max in 1usize..6,
    ) {
        let mut b = SetBuilder::lines();
        let (id, _) = b.add(&alts.join("|"), flags).unwrap();
        let set = b.build();
        let (buf, ranges) = joined(&lines, true);
        let Some(n) = set.count_literals(id, &buf, max) else {
            // A line break, or a required string (then the prefilter
            // decides): nothing to check.
            return Ok(());
        };
        let mut want = 0;
        for &(s, e) in &ranges {
            want += set.count(id, &buf[s as usize..e as usize], max - want, &mut Budget::new(10));
        }
        prop_assert_eq!(n, want);
    }

    /// Lines built to match a gapped look-alike word (one ASCII spelling
    /// per letter, separators between): the skeleton prefilter must keep
    /// the word a candidate on that line.
    #[test]
    fn skeleton_prefilter_keeps_gapped_words(
        word in prop::collection::vec((0usize..6, 0usize..3, 0usize..5, any::<bool>()), 3..7),
        gap in prop_oneof![Just(r"[_\W]{0,3}"), Just(r"[-\s_]?"), Just(r"\W{0,2}")],
        // SpamAssassin's `post P2`: every tag once or twice.
        twice in any::<bool>(),
        pre in "[a-z ]{0,6}",
        post in "[a-z .]{0,6}",
    ) {
        const TAGS: [&str; 6] = [
            r"(?:[aA@4]|\xd0\xb0)", r"(?:[pP]|\xd1\x80)", r"(?:[lL1|]|&\#108;)",
            r"(?:[eE3]|\xc3\xa9)", r"(?:[iIl|!1y?]|\xc3\xac)", r"(?:[cCk@]|\xd1\x81)",
        ];
        const SPELL: [&[&str]; 6] = [
            &["a", "@", "4"], &["p", "P", "p"], &["l", "1", "|"], &["e", "3", "E"],
            &["i", "!", "?"], &["c", "@", "k"],
        ];
        const SEP: [&str; 5] = ["", " ", "_", "-", "."];
        let rep = if twice { "{1,2}" } else { "" };
        let p: Vec<String> = word.iter().map(|&(t, _, _, _)| format!("{}{rep}", TAGS[t])).collect();
        let mut b = SetBuilder::lines();
        let Ok((id, _)) = b.add(&p.join(gap), "i") else { return Ok(()) };
        let set = b.build();
        let mut line = pre.clone();
        for (i, &(t, sp, sep, double)) in word.iter().enumerate() {
            if i > 0 {
                line.push_str(SEP[sep]);
            }
            line.push_str(SPELL[t][sp]);
            if twice && double {
                line.push_str(SPELL[t][(sp + 1) % 3]);
            }
        }
        line.push_str(&post);
        let mut budget = Budget::new(10);
        if set.count(id, line.as_bytes(), 1, &mut budget) > 0 {
            let pairs = line_pairs(&set, &[line.clone()], true);
            prop_assert!(pairs == [(id, 0)] || pairs == [(id, ALL_LINES)], "{:?} {:?}", line, pairs);
            let mut c = Vec::new();
            set.candidates(line.as_bytes(), &mut c);
            prop_assert_eq!(c, vec![id]);
        }
    }

    /// Arbitrary patterns, flags and texts: errors are fine, panics are not.
    #[test]
    fn no_panic(p in "\\PC{0,40}", raw in prop::collection::vec(any::<u8>(), 0..40), f in "[a-z]{0,3}", t in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut b = SetBuilder::new();
        let _ = b.add(&p, &f);
        let _ = b.add_bytes(&raw, &f);
        let set = b.build();
        let mut c = Vec::new();
        set.candidates(&t, &mut c);
        let mut budget = Budget::new(4);
        for id in 0..set.len() as u32 {
            let _ = set.count(id, &t, 3, &mut budget);
        }
    }

    /// Perl metacharacter soup, which reaches far more of the parser.
    #[test]
    fn no_panic_meta(p in r"[-a\\()\[\]{}|*+?.^$:=!<>#0-9ghkxoNQEbBRKzZAG ,'P]{0,30}", f in "[imsxn]{0,3}", t in "[a\n (){}0-9]{0,30}") {
        let mut b = SetBuilder::new();
        let _ = b.add(&p, &f);
        let set = b.build();
        let mut c = Vec::new();
        set.candidates(t.as_bytes(), &mut c);
        let mut budget = Budget::new(4);
        for id in 0..set.len() as u32 {
            let _ = set.count(id, t.as_bytes(), 3, &mut budget);
        }
    }
}

/// A look-ahead pattern whose look-aheads fail at every start, each after
/// reading to the end of the text, stops at the split engine's work limit
/// instead of taking quadratic time, and marks the budget exhausted.
#[test]
fn leading_look_ahead_stops_at_its_work_limit() {
    let (node, _) = perl::parse(br"(?=a*b)a", "").unwrap();
    let (ahead, ..) = lead::Ahead::new(&node, true).unwrap();
    let text = vec![b'a'; 4000];
    assert_eq!(
        ahead.count(&text, 0..text.len(), 1),
        Err(fallback::Exhausted)
    );
    // Short texts stay under it and answer.
    assert_eq!(ahead.count(b"aaab", 0..4, 5), Ok(3));
    let mut b = SetBuilder::new();
    let (id, _) = b.add(r"(?=a*b)a", "").unwrap();
    let set = b.build();
    let mut budget = Budget::new(10);
    assert_eq!(set.count(id, &text, 1, &mut budget), 0);
    assert!(budget.exhausted);
}

/// The guess that keeps the regex crate's inner-literal search for a
/// pattern: where a part after the first starts with a string it finds
/// quickly, and nowhere else.
#[test]
fn inner_literal_guess() {
    let hir = |p: &str| perl::native_hir(&perl::parse(p.as_bytes(), "").unwrap().0).unwrap();
    // A stock rawbody rule: `<!` after a class.
    assert!(inner_literal_may_pay(&hir(r"[^\s>](?:<![^>]*>)+[^\s<]")));
    assert!(inner_literal_may_pay(&hir(r"[a-z]{2}<span\s")));
    assert!(inner_literal_may_pay(&hir(r"\w+(?:@|%)\w")));
    // Classes only, a literal first, or too short and too many.
    assert!(!inner_literal_may_pay(&hir(r"\w+\s+\d+")));
    assert!(!inner_literal_may_pay(&hir(r"free\w+")));
    assert!(!inner_literal_may_pay(&hir(r"\d(?:ab|cd|ef|gh)")));
}

/// A bounded pattern with required strings gets a prefilter of its own in
/// a set for long texts, none in one for short texts (where it is compiled
/// forwards only); both answer alike.
#[test]
fn long_texts_get_a_prefix_prefilter() {
    let pattern = r"\n(?:Message-id|Content-type|from|subject|to|cc): ?\S{1,9}@";
    let prefilter = |mut b: SetBuilder| {
        let (id, _) = b.add(pattern, "sm").unwrap();
        let set = b.build();
        let header = b"Subject: hi\nFrom: a@b\nX-Y: z\nto: c@d\n";
        let mut budget = Budget::new(10);
        assert_eq!(set.count(id, header, 1, &mut budget), 1);
        assert_eq!(set.count(id, &header[..30], 1, &mut budget), 0);
        match &set.matchers[id as usize] {
            Matcher::Native(re) => re.get_config().get_prefilter().is_some(),
            Matcher::Forward(_) => false,
            _ => panic!("a native pattern"),
        }
    };
    assert!(prefilter(SetBuilder::new()));
    assert!(!prefilter(SetBuilder::short()));
}

use fallback::Fallback;

// ---------------------------------------------------------------------------
// The split engine

/// (pattern, flags, text, whether Perl finds a match), produced by perl
/// 5.36 with `qr/(?FLAGS)PATTERN/aa`. Under `/i` a backreference compares
/// a byte string byte by byte, each byte equal or its ASCII / Latin-1 case
/// partner (`\xE9` against `\xC9`), never `ß` against `ss`.
const PERL_SPLIT: &[(&str, &str, &[u8], i32)] = &[
    (r"(a)\1", "", b"aa", 1),
    (r"(a)\1", "i", b"aA", 1),
    (r"(\xE9)\1", "i", b"\xE9\xC9", 1),
    (r"(\w+) \1", "i", b"Bob BOB", 1),
    (r"(\w+) \1\b", "", b"bob bobby", 0),
    (r"(\w+) \1\b", "", b"bob bobby bob", 0),
    (r"(.)\1", "i", b"\xDFss", 1),
    (r"(..)\1", "i", b"\xDFxSSx", 0),
    (r"([a-z]{1,2})(?:\1){3}", "i", b"xabababab", 1),
    (r"([a-z]{1,2})(?:\1){3}", "i", b"xababab", 0),
    (
        r"^(?!mail)[^@]*([a-z]{1,2})(?:\1){3}",
        "mi",
        b"mailaaaa@x",
        0,
    ),
    (
        r"^(?!mail)[^@]*([a-z]{1,2})(?:\1){3}",
        "mi",
        b"xmailaaaa@x",
        1,
    ),
    (
        r"^(?!mail)[^@]*([a-z]{1,2})(?:\1){3}",
        "mi",
        b"mail\x0Azzzz",
        1,
    ),
    (
        r"^From:\s+(\S+)\s(?=.{1,20}^\1\r?$)",
        "sm",
        b"From: bob x\x0Abob\x0D\x0A",
        1,
    ),
    (
        r"^From:\s+(\S+)\s(?=.{1,20}^\1\r?$)",
        "sm",
        b"From: bob x\x0Abobby\x0A",
        0,
    ),
    (
        r"^From:\s+(\S+)\s(?=.{1,5}^\1\r?$)",
        "sm",
        b"From: bob xxxxxxxxxx\x0Abob\x0A",
        0,
    ),
    (r"a(?=b)", "", b"ac ab", 1),
    (r"a(?!b)c", "", b"ab ac", 1),
    (r"(a|b)(?!\1)", "", b"aa", 1),
    (r"(a|b)(?!\1)", "", b"ab", 1),
    (r"(?:(a)|b)\1", "", b"bb", 0),
    (r"(?:(a)|b)\1", "", b"aa", 1),
    (r"(\w+)$\n\1", "m", b"ab\x0Aab", 1),
    (r"(\w+)\Z", "", b"ab\x0A", 1),
    (r"(\w)\b\1", "", b"a a", 0),
    (r"x(\d+)y\1$", "", b"x12y12\x0A", 1),
    (r"x(\d+)y\1$", "", b"x12y12\x0A\x0A", 0),
    (
        r"\nTo: (?:[^\n<]{0,80}<)?([^\n\s>,]+)>?\n+(?:[^\n]{1,200}\n+)*Subject: [^\n]{0,100}\1[^a-z0-9]",
        "ism",
        b"x\x0ATo: Joe <JOE@x.com>\x0AA: b\x0ASubject: hi joe@x.com!\x0A",
        1,
    ),
    (
        r"\nTo: (?:[^\n<]{0,80}<)?([^\n\s>,]+)>?\n+(?:[^\n]{1,200}\n+)*Subject: [^\n]{0,100}\1[^a-z0-9]",
        "ism",
        b"x\x0ATo: Joe <JOE@x.com>\x0AA: b\x0ASubject: hi joe@x.comb\x0A",
        0,
    ),
];

fn split_of(pattern: &str, flags: &str) -> Option<split::Split> {
    let (node, _) = perl::parse(pattern.as_bytes(), flags).unwrap();
    split::Split::new(&node)
}

#[test]
fn split_perl_table() {
    for &(p, f, t, want) in PERL_SPLIT {
        let s = split_of(p, f).unwrap_or_else(|| panic!("{p:?} /{f}: not a split shape"));
        assert_eq!(
            s.is_match(t, 1_000_000),
            Ok(want == 1),
            "{p:?} /{f} on {t:?}"
        );
        // Through a set, the same answer (the set may use either engine).
        let mut b = SetBuilder::new();
        let (id, kind) = b.add(p, f).unwrap();
        let set = b.build();
        // Through a set, only patterns with a backreference use it.
        let backref = perl::parse(p.as_bytes(), f).unwrap().0.max_backref() > 0;
        assert_eq!(
            set.is_split(id),
            backref && kind == EngineKind::Fallback,
            "{p:?}"
        );
        let mut budget = Budget::new(10);
        assert_eq!(
            set.count(id, t, 1, &mut budget),
            usize::from(want == 1),
            "{p:?} /{f}"
        );
    }
}

#[test]
fn split_shapes() {
    // Supported.
    for (p, f) in [
        (r"(a)\1", ""),
        (r"x(?=y)", ""),
        (r"^(?!a)b", "m"),
        (r"(a|b)(?!\1)c", ""),
        (r"(?:(a)|(b))\2", ""),
        (r"a(?=.*\bb\b)", "s"),
        (r"(a(b))\2", ""),
        (r"(\w+)(?:\1){2}", ""),
    ] {
        assert!(split_of(p, f).is_some(), "{p:?}");
    }
    // Not supported: these stay on the backtracking engine.
    for (p, f) in [
        (r"(?<=a)b", ""),
        (r"(?>a+)b", ""),
        (r"a++b", ""),
        (r"a\Kb", ""),
        (r"\Ga", ""),
        (r"(?:(a)\1)+", ""),
        (r"(a)\1{1,2}", ""),
        (r"(a(b))\1\2", ""),
        (r"(?=(a))\1", ""),
        (r"((a)\2)\1", ""),
    ] {
        assert!(split_of(p, f).is_none(), "{p:?}");
    }
}

#[test]
fn split_work_limit_falls_back() {
    let s = split_of(r"(a+)b\1c", "").unwrap();
    let text = [b'a'; 300];
    assert_eq!(s.is_match(&text, 50), Err(split::SplitError::Exhausted));
    assert_eq!(s.is_match(&text, u64::MAX), Ok(false));
    // Through a set the answer still comes (from the backtracking engine).
    let mut b = SetBuilder::new();
    let (id, _) = b.add(r"(a+)b\1c", "").unwrap();
    let set = b.build();
    let mut budget = Budget::new(10);
    assert_eq!(set.count(id, b"xaab aac", 1, &mut budget), 0);
    assert_eq!(set.count(id, b"xaabaac", 1, &mut budget), 1);
    assert!(!budget.exhausted);
}

#[test]
fn split_counts_many_on_the_backtracking_engine() {
    // Counting needs Perl's match order: still exact past one.
    let mut b = SetBuilder::new();
    let (id, _) = b.add(r"(\w)\1", "").unwrap();
    let set = b.build();
    let mut budget = Budget::new(10);
    assert_eq!(set.count(id, b"aa bb cc", 5, &mut budget), 3);
    assert_eq!(set.count(id, b"aa bb cc", 1, &mut budget), 1);
}

/// Fragments of real headers, for texts the stock patterns care about.
const HEADER_BITS: &[&str] = &[
    "\n",
    "\n\n",
    "\r\n",
    " ",
    "\t",
    "From: ",
    "To: ",
    "Cc: ",
    "Subject: ",
    "Received: from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org",
    " for <bob@example.org>; Mon, 1 Jan 2024",
    "Message-Id: <abcd1234abcd$0123abcd$>",
    "boundary=\"----=_NextPart_000_0001_1234abcd.",
    "\"Bob Smith\" <bob@example.org>",
    "Bob Smith",
    "bob",
    "BOB",
    "bob@example.org",
    "Bob@Example.ORG",
    "example",
    "<",
    ">",
    "@",
    ",",
    ";",
    "!",
    "\"",
    "123",
    "aaaa",
    "abab",
    "zzzzz",
    "mail_",
    "X-Spam-Relays-External: [ ip=192.0.2.1 rdns= helo=x by=y ident= envfrom= intl=0 id= auth= msa=0 ]",
    "[ ip=192.0.2.1 ",
    "helo=",
    "X-Random-Header: 1a2b3c4d5e6f",
    "Content-Type: text/plain",
    "http://www.example.com/",
    "https://a.example.com/x",
    "\u{E9}",
    "\u{A0}",
];

/// Bytes of a pattern's literal runs: what its matches are made of.
fn pattern_bits(p: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut i = 0;
    while i < p.len() {
        let c = p[i];
        if c == b'\\' && i + 1 < p.len() {
            let e = p[i + 1];
            i += 2;
            match e {
                b'n' => cur.push(b'\n'),
                b'r' => cur.push(b'\r'),
                b's' => cur.push(b' '),
                b'd' => cur.push(b'1'),
                b'w' => cur.push(b'w'),
                b'b' | b'B' | b'A' | b'z' | b'Z' | b'1'..=b'9' => {}
                e if !e.is_ascii_alphanumeric() => cur.push(e),
                _ => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
            }
            continue;
        }
        i += 1;
        if b"[](){}|*+?^$.".contains(&c) {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A text of `picks` from `bits`, each upper-cased when asked.
fn assemble(bits: &[Vec<u8>], picks: &[(usize, bool)]) -> Vec<u8> {
    let mut t = Vec::new();
    for &(i, upper) in picks {
        let b = &bits[i % bits.len()];
        if upper {
            t.extend(b.to_ascii_uppercase());
        } else {
            t.extend(b);
        }
    }
    t
}

fn header_bits() -> Vec<Vec<u8>> {
    HEADER_BITS
        .iter()
        .map(|s| s.chars().map(|c| c as u32 as u8).collect())
        .collect()
}

/// A stock pattern on both engines: name, backtracking engine (the
/// oracle), whether a backreference folds case, split engine, text
/// fragments.
type StockSplit = (String, Fallback, bool, split::Split, Vec<Vec<u8>>);

/// True when a backreference compares case-insensitively: where
/// fancy-regex, the oracle, departs from Perl on bytes above 0x7F.
fn casei_backref(n: &perl::Node) -> bool {
    use perl::Node;
    match n {
        Node::Backref(_, ci) => *ci,
        Node::Concat(v) | Node::Alt(v) => v.iter().any(casei_backref),
        Node::Group(_, b) | Node::Atomic(b) | Node::Look(_, _, b) => casei_backref(b),
        Node::Repeat { node, .. } => casei_backref(node),
        _ => false,
    }
}

/// The stock fallback patterns the split engine takes, with the
/// backtracking engine (the oracle) and a cached split engine.
fn stock_split() -> &'static [StockSplit] {
    static S: std::sync::OnceLock<Vec<StockSplit>> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let mut out = Vec::new();
        for r in stock_rules() {
            let Ok((node, _)) = perl::parse(&r.pattern, &r.flags) else {
                continue;
            };
            if perl::native(&node).is_ok() {
                continue;
            }
            let Some(sp) = split::Split::new(&node) else {
                continue;
            };
            let Ok(fb) = Fallback::new(&node) else {
                continue;
            };
            let mut bits = header_bits();
            bits.extend(pattern_bits(&r.pattern));
            out.push((
                format!(
                    "{} /{}/{}",
                    r.name,
                    String::from_utf8_lossy(&r.pattern),
                    r.flags
                ),
                fb,
                casei_backref(&node),
                sp,
                bits,
            ));
        }
        out
    })
}

fn small_shape() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("a"),
        Just("b"),
        Just("[ab]"),
        Just(r"\w"),
        Just(r"\s"),
        Just("."),
        Just("^"),
        Just("$"),
        Just(r"\b"),
        Just(r"\n"),
        Just("A"),
        Just(r"\xE9"),
    ];
    let quant = prop_oneof![
        Just(""),
        Just("+"),
        Just("*"),
        Just("?"),
        Just("{1,3}"),
        Just("*?")
    ];
    let regular = prop::collection::vec((piece, quant), 0..4).prop_map(|v| {
        v.into_iter()
            .map(|(p, q)| format!("(?:{p}){q}"))
            .collect::<String>()
    });
    let back = prop_oneof![
        Just(r"\1".to_string()),
        Just(r"(?:\1){2}".to_string()),
        Just(r"(?!\1)".to_string()),
        Just(r"(?=\w)".to_string()),
        Just(r"(?!a)".to_string()),
    ];
    (
        regular.clone(),
        regular.clone(),
        regular.clone(),
        back,
        regular.clone(),
        any::<bool>(),
        regular,
    )
        .prop_map(|(a, g, c, b, d, alt, e)| {
            // A capture that can be empty, repeated by reference, trips
            // fancy-regex: `\s((?:^)?)(?:\1){2}` matches " " in Perl and
            // in the split engine, not in fancy-regex. Keep it non-empty.
            let g = format!("{g}[ab ]");
            if alt {
                format!("{a}(?:({g})|{e}){c}{b}{d}")
            } else {
                format!("{a}({g}){c}{b}{d}(?={e})")
            }
        })
}

/// Patterns where a piece ending in a run of single bytes and a bounded
/// stretch comes before a backreference (the split engine's window), with
/// texts made of the run and small pieces.
fn window_case() -> impl Strategy<Value = (String, Vec<u8>)> {
    // A run piece and a byte it matches.
    let byte = prop_oneof![
        Just(("a", b'a')),
        Just(("b", b'b')),
        Just(("A", b'A')),
        Just((" ", b' ')),
        Just((r"\n", b'\n')),
        Just(("[ab]", b'b')),
        Just((r"\xE9", 0xE9)),
    ];
    let run = prop::collection::vec(byte, 3..5);
    let stretch = prop_oneof![
        Just(""),
        Just(".{0,3}"),
        Just("[ab]?"),
        Just(r"\s{0,2}b?"),
        Just("$"),
        Just(r"\b"),
        Just("a "),
    ];
    let before = prop_oneof![Just(""), Just(".*"), Just(r"(?:[^\n]+\n+)*"), Just(r"\s*"),];
    let cap = prop_oneof![Just("[ab]+"), Just(r"\w"), Just("[^ ]{1,3}")];
    let after = prop_oneof![Just(""), Just("c"), Just(r"\b")];
    // Long fillers: a scan reads 16 bytes before it asks how far to go.
    let picks = prop::collection::vec(0..11usize, 0..32);
    (cap, before, run, stretch, after, picks).prop_map(|(g, b, r, k, d, picks)| {
        let (pieces, sample): (Vec<&str>, Vec<u8>) = r.into_iter().unzip();
        let pattern = format!("({g}){b}{}{k}\\1{d}", pieces.concat());
        let small: [&[u8]; 10] = [
            b"a",
            b"b",
            b"ab",
            b"A",
            b" ",
            b"\n",
            b"c",
            b"\xE9",
            b"abababababababababab",
            b"a b\nab ba\nc a\nb b a",
        ];
        let mut text = Vec::new();
        for i in picks {
            match small.get(i) {
                Some(p) => text.extend_from_slice(p),
                None => text.extend_from_slice(&sample),
            }
        }
        (pattern, text)
    })
}

/// Pattern `p` (flags `f`) takes the split engine, which answers on `t` as
/// the backtracking engine does.
fn split_agrees(p: &str, f: &str, t: &[u8]) -> Result<(), TestCaseError> {
    // Perl rejects some (a quantified zero-width piece).
    let Ok((node, _)) = perl::parse(p.as_bytes(), f) else {
        return Ok(());
    };
    let sp = split::Split::new(&node);
    prop_assert!(sp.is_some(), "{}", p);
    let fb = Fallback::new(&node).unwrap();
    // fancy-regex folds only ASCII in a backreference (Perl and the split
    // engine fold Latin-1 letters too), and gives up on a folded comparison
    // next to a byte that is not UTF-8: `([ab ])\s(?:\1){2}` /is matches
    // "a AA\xA9" in Perl, not in fancy-regex.
    if casei_backref(&node) && !t.is_ascii() {
        return Ok(());
    }
    if let Ok(want) = fb.count(t, 1) {
        prop_assert_eq!(
            sp.unwrap().is_match(t, u64::MAX),
            Ok(want == 1),
            "{} /{} on {:?}",
            p,
            f,
            t
        );
    }
    Ok(())
}

#[test]
fn windows_are_found_where_expected() {
    for (p, f, windows) in [
        (r"(\w+);(?:[^\n]+\n+)*Subject: [^\n]{0,100}\1", "i", 1),
        (r"(\w+) abc\1", "", 1),
        // The run is too short, or an unbounded stretch follows it.
        (r"(\w+)ab\1", "", 0),
        (r"(\w+)abc.*\1", "", 0),
        // Wide pieces are not part of a run.
        (r"(\w+)\w\w\w\1", "", 0),
    ] {
        let s = split_of(p, f).unwrap_or_else(|| panic!("{p:?}: not a split shape"));
        assert_eq!(s.windows(), windows, "{p:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// A piece with a window before a backreference answers as the
    /// backtracking engine does.
    #[test]
    fn split_windows_agree((p, t) in window_case(), f in flags()) {
        split_agrees(&p, f, &t)?;
    }

    /// Every stock pattern the split engine takes answers yes/no as the
    /// backtracking engine does, on texts made of its own literals and
    /// header fragments.
    #[test]
    fn split_agrees_on_stock_patterns(
        which in any::<prop::sample::Index>(),
        picks in prop::collection::vec((any::<usize>(), any::<bool>()), 0..16),
    ) {
        let all = stock_split();
        prop_assume!(!all.is_empty());
        let (name, fb, casei, sp, bits) = &all[which.index(all.len())];
        let t = assemble(bits, &picks);
        if *casei && !t.is_ascii() {
            return Ok(());
        }
        if let Ok(want) = fb.count(&t, 1) {
            prop_assert_eq!(sp.is_match(&t, u64::MAX), Ok(want == 1), "{} on {:?}", name, String::from_utf8_lossy(&t));
        }
    }

    /// Generated patterns of the supported shapes agree with the
    /// backtracking engine.
    #[test]
    fn split_agrees_on_generated_shapes(p in small_shape(), f in flags(), t in text()) {
        split_agrees(&p, f, &t)?;
    }
}

// ---------------------------------------------------------------------------
// Measurement over the stock rules and the corpus (run with
// `cargo test --release --lib spam::regex::tests::measure -- --ignored --nocapture`).

/// A stock rule's regex: kind, name, header (for header rules), pattern,
/// flags.
struct StockRule {
    kind: String,
    name: String,
    header: String,
    pattern: Vec<u8>,
    flags: String,
}

/// A rule's regex from a line of a `.cf` file (a quick line-based
/// extraction, good enough for measuring).
fn rule_regex(line: &str) -> Option<StockRule> {
    let line = line.trim_start();
    let (kind, rest) = line.split_once([' ', '\t'])?;
    if !matches!(
        kind,
        "header" | "body" | "rawbody" | "full" | "uri" | "mimeheader"
    ) {
        return None;
    }
    let (name, rest) = rest.trim_start().split_once([' ', '\t'])?;
    let mut rest = rest.trim();
    if rest.starts_with("eval:") || rest.starts_with("exists:") {
        return None;
    }
    let mut header = String::new();
    if matches!(kind, "header" | "mimeheader") {
        let op = rest.find("=~").or_else(|| rest.find("!~"))?;
        header = rest[..op].trim().to_string();
        rest = rest[op + 2..].trim();
        if let Some(i) = rest.find("[if-unset:") {
            rest = rest[..i].trim();
        }
    }
    let (open, body) = if let Some(b) = rest.strip_prefix('/') {
        ('/', b)
    } else {
        let b = rest.strip_prefix('m')?;
        let c = b.chars().next()?;
        (c, &b[c.len_utf8()..])
    };
    let close = match open {
        '{' => '}',
        '(' => ')',
        '<' => '>',
        '[' => ']',
        c => c,
    };
    let end = body.rfind(close)?;
    let flags = body[end + 1..].trim();
    if !flags.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    // The line was read as Latin-1: take the pattern's bytes back.
    Some(StockRule {
        kind: kind.to_string(),
        name: name.to_string(),
        header,
        pattern: body[..end].chars().map(|c| c as u32 as u8).collect(),
        flags: flags.to_string(),
    })
}

fn stock_rules() -> Vec<StockRule> {
    let dir = Path::new("/usr/share/spamassassin");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "cf"));
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        for line in bytes.split(|&b| b == b'\n') {
            let s: String = line.iter().map(|&b| b as char).collect();
            out.extend(rule_regex(&s));
        }
    }
    out
}

fn corpus() -> Vec<Vec<u8>> {
    let dir = std::env::var_os("LIBFILTER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/spamassassin")
        });
    let mut files = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "labels.tsv") {
                files.push(p);
            }
        }
    }
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// A message split the way the measurement feeds the rules: the raw header
/// block, each header's raw (folded) values, and the raw body.
struct Split<'a> {
    head: &'a [u8],
    body: &'a [u8],
    fields: Vec<(String, &'a [u8])>,
}

fn split(m: &[u8]) -> Split<'_> {
    let end = memchr::memmem::find(m, b"\n\n")
        .map(|i| i + 1)
        .unwrap_or(m.len());
    let (head, body) = (&m[..end], &m[end.min(m.len())..]);
    let mut fields: Vec<(String, &[u8])> = Vec::new();
    let mut i = 0;
    while i < head.len() {
        let mut j = i;
        // A field runs to a newline not followed by a blank.
        loop {
            match memchr::memchr(b'\n', &head[j..]) {
                Some(k) => {
                    j += k + 1;
                    if !matches!(head.get(j), Some(b' ' | b'\t')) {
                        break;
                    }
                }
                None => {
                    j = head.len();
                    break;
                }
            }
        }
        let line = &head[i..j];
        if let Some(c) = memchr::memchr(b':', line) {
            let name = String::from_utf8_lossy(&line[..c]).to_ascii_lowercase();
            let mut v = &line[c + 1..];
            while let [b' ' | b'\t', rest @ ..] = v {
                v = rest;
            }
            fields.push((name, v));
        }
        i = j;
    }
    Split { head, body, fields }
}

/// The text a header rule runs on, as a proxy: the named header's raw
/// values (the first one), or the whole block for `ALL`.
fn header_text<'a>(s: &Split<'a>, spec: &str) -> Option<&'a [u8]> {
    let name = spec.split(':').next().unwrap_or("").to_ascii_lowercase();
    let name = match name.as_str() {
        "all" => return Some(s.head),
        "messageid" => "message-id".to_string(),
        "tocc" => "to".to_string(),
        "envelopefrom" => "return-path".to_string(),
        _ => name,
    };
    s.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

#[test]
#[ignore]
fn measure() {
    use std::collections::BTreeMap;
    use std::time::Instant;

    let rules = stock_rules();
    let t0 = Instant::now();
    let mut hb = SetBuilder::new();
    let mut bb = SetBuilder::new();
    let (mut native, mut fallback) = (0, 0);
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut rejected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut head_rules, mut body_rules) = (Vec::new(), Vec::new());
    for r in &rules {
        let is_head = matches!(r.kind.as_str(), "header" | "mimeheader");
        let b = if is_head { &mut hb } else { &mut bb };
        match b.add_bytes(&r.pattern, &r.flags) {
            Ok((_, EngineKind::Native)) => native += 1,
            Ok((_, EngineKind::Fallback)) => {
                fallback += 1;
                if let Ok(t) = translate_bytes(&r.pattern, &r.flags)
                    && let Err(why) = t.native
                {
                    *reasons.entry(why.to_string()).or_default() += 1;
                }
            }
            Err(e) => {
                let key = e.to_string();
                let key = key.split(" at byte").next().unwrap_or("").to_string();
                rejected.entry(key).or_default().push(format!(
                    "{} /{}/{}",
                    r.name,
                    String::from_utf8_lossy(&r.pattern),
                    r.flags
                ));
                continue;
            }
        }
        if is_head {
            head_rules.push(r);
        } else {
            body_rules.push(r);
        }
    }
    let (hs, bs) = (hb.build(), bb.build());
    println!(
        "stock rules: {} regexes ({} header, {} body/rawbody/uri/full): {native} native, {fallback} fallback, {} rejected; build {:?}",
        rules.len(),
        head_rules.len(),
        body_rules.len(),
        rejected.values().map(Vec::len).sum::<usize>(),
        t0.elapsed()
    );
    println!("fallback reasons: {reasons:?}");
    for (set, rules) in [(&hs, &head_rules), (&bs, &body_rules)] {
        let mut on_split = 0;
        for id in 0..set.len() as u32 {
            if set.is_split(id) {
                on_split += 1;
            } else if set.kind(id) == Some(EngineKind::Fallback) {
                println!("  backtracking: {}", rules[id as usize].name);
            }
        }
        println!("on the split engine: {on_split}");
    }
    for (k, v) in &rejected {
        println!("rejected ({}): {k}: {:?}", v.len(), &v[..v.len().min(4)]);
    }
    for (what, set) in [("header", &hs), ("body", &bs)] {
        println!(
            "{what} prefilter: {} literals, {} of {} patterns always candidates",
            set.literal_count(),
            set.always_candidates(),
            set.len()
        );
        if std::env::var_os("SHOW_ALWAYS").is_some() {
            let names = if what == "header" {
                &head_rules
            } else {
                &body_rules
            };
            let mut c = Vec::new();
            set.candidates(b"", &mut c);
            for id in c {
                println!("  always: {}", names[id as usize].name);
            }
        }
    }

    let msgs = corpus();
    assert!(!msgs.is_empty(), "no corpus");
    let splits: Vec<Split> = msgs.iter().map(|m| split(m)).collect();
    let bytes: usize = msgs.iter().map(Vec::len).sum();

    // One rule pass: returns the ids that hit, per set.
    let pass = |s: &Split, budget: &mut Budget, cands: &mut Vec<u32>, stats: &mut [usize; 2]| {
        let mut hits = (Vec::new(), Vec::new());
        cands.clear();
        hs.candidates(s.head, cands);
        stats[0] += cands.len();
        for &id in cands.iter() {
            if let Some(text) = header_text(s, &head_rules[id as usize].header)
                && hs.count(id, text, 1, budget) > 0
            {
                hits.0.push(id);
            }
        }
        cands.clear();
        bs.candidates(s.body, cands);
        stats[1] += cands.len();
        for &id in cands.iter() {
            if bs.count(id, s.body, 1, budget) > 0 {
                hits.1.push(id);
            }
        }
        hits
    };

    let t0 = Instant::now();
    let mut cands = Vec::new();
    let mut stats = [0usize; 2];
    let mut exhausted = 0usize;
    let mut all_hits = Vec::with_capacity(msgs.len());
    let mut nhits = 0;
    for s in &splits {
        let mut budget = Budget::new(200);
        let h = pass(s, &mut budget, &mut cands, &mut stats);
        nhits += h.0.len() + h.1.len();
        exhausted += usize::from(budget.exhausted);
        all_hits.push(h);
    }
    let dt = t0.elapsed();
    let n = msgs.len() as f64;
    println!(
        "prefiltered pass: {} msgs ({:.1} MB) in {:.2?} = {:.0} msg/s; candidates/msg: {:.1} of {} header, {:.1} of {} body; {:.1} hits/msg; budget exhausted on {exhausted}",
        msgs.len(),
        bytes as f64 / 1e6,
        dt,
        n / dt.as_secs_f64(),
        stats[0] as f64 / n,
        hs.len(),
        stats[1] as f64 / n,
        bs.len(),
        nhits as f64 / n,
    );

    // The two halves alone.
    let t0 = Instant::now();
    for s in &splits {
        let mut budget = Budget::new(200);
        cands.clear();
        hs.candidates(s.head, &mut cands);
        for &id in cands.iter() {
            if let Some(text) = header_text(s, &head_rules[id as usize].header) {
                hs.count(id, text, 1, &mut budget);
            }
        }
    }
    let dh = t0.elapsed();
    let t0 = Instant::now();
    for s in &splits {
        let mut budget = Budget::new(200);
        cands.clear();
        bs.candidates(s.body, &mut cands);
        for &id in cands.iter() {
            bs.count(id, s.body, 1, &mut budget);
        }
    }
    let db = t0.elapsed();
    println!("header rules alone: {dh:.2?}; body rules alone: {db:.2?}");

    let t0 = Instant::now();
    for s in &splits {
        cands.clear();
        hs.candidates(s.head, &mut cands);
        cands.clear();
        bs.candidates(s.body, &mut cands);
    }
    let dt = t0.elapsed();
    println!("candidates alone: {:.0} msg/s", n / dt.as_secs_f64());

    if std::env::var_os("PROFILE").is_some() {
        let mut time = vec![std::time::Duration::ZERO; bs.len()];
        for s in splits.iter().take(1000) {
            cands.clear();
            bs.candidates(s.body, &mut cands);
            let mut budget = Budget::new(200);
            for &id in &cands {
                let t = Instant::now();
                bs.count(id, s.body, 1, &mut budget);
                time[id as usize] += t.elapsed();
            }
        }
        let mut order: Vec<usize> = (0..bs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(time[i]));
        for &i in order.iter().take(25) {
            println!(
                "{:>10.1?} {:?} {}",
                time[i],
                bs.kind(i as u32),
                body_rules[i].name
            );
        }
    }

    // Every pattern on every message, checking prefilter soundness.
    let t0 = Instant::now();
    let mut lost = Vec::new();
    for (i, s) in splits.iter().enumerate() {
        let mut budget = Budget::new(u64::MAX);
        for id in 0..hs.len() as u32 {
            if let Some(text) = header_text(s, &head_rules[id as usize].header)
                && hs.count(id, text, 1, &mut budget) > 0
                && all_hits[i].0.binary_search(&id).is_err()
            {
                lost.push((i, head_rules[id as usize].name.clone()));
            }
        }
        for id in 0..bs.len() as u32 {
            if bs.count(id, s.body, 1, &mut budget) > 0 && all_hits[i].1.binary_search(&id).is_err()
            {
                lost.push((i, body_rules[id as usize].name.clone()));
            }
        }
    }
    let dt = t0.elapsed();
    println!(
        "every pattern on every message: {:.2?} = {:.0} msg/s",
        dt,
        n / dt.as_secs_f64()
    );
    assert!(
        lost.is_empty(),
        "prefilter lost matches: {:?}",
        &lost[..lost.len().min(20)]
    );
}

/// Time of the split engine against the backtracking engine on the stock
/// patterns it takes, over the corpus header blocks (run with
/// `cargo test --release --lib split_timing -- --ignored --nocapture`).
#[test]
#[ignore]
fn split_timing() {
    use std::time::Instant;
    let msgs = corpus();
    // As `ALL` reads: each field unfolded, `Name: value` (from the real
    // feature code when SPLIT_LIST names a list of message files).
    let listed: Option<Vec<Vec<u8>>> = std::env::var("SPLIT_LIST").ok().map(|l| {
        let list = std::fs::read_to_string(l).unwrap_or_default();
        let limits = crate::Limits::default();
        let mut features = crate::spam::Features::default();
        list.lines()
            .take(300)
            .filter_map(|p| std::fs::read(p).ok())
            .filter_map(|data| {
                let msg = crate::mime::Message::parse_with(&data, &limits);
                features.build(&msg, &limits);
                features
                    .header(&msg, "ALL", Default::default())
                    .map(|c| c.into_owned())
            })
            .collect()
    });
    let heads: Vec<Vec<u8>> = listed.unwrap_or_else(|| {
        msgs.iter()
            .map(|m| {
                let mut out = Vec::new();
                let s = split(m);
                for (name, v) in &s.fields {
                    out.extend_from_slice(name.as_bytes());
                    out.extend_from_slice(b": ");
                    let mut v = v.to_vec();
                    while v.last().is_some_and(|b| b.is_ascii_whitespace()) {
                        v.pop();
                    }
                    let mut i = 0;
                    while i < v.len() {
                        if v[i] == b'\r' || v[i] == b'\n' {
                            i += 1;
                            continue;
                        }
                        out.push(v[i]);
                        i += 1;
                    }
                    out.push(b'\n');
                }
                out
            })
            .collect()
    });
    let only = std::env::var("ONLY").unwrap_or_default();
    let n = heads.len().max(1) as f64;
    for (name, fb, _, sp, _) in stock_split() {
        if !name.contains(&only) {
            continue;
        }
        let t0 = Instant::now();
        let mut hits = 0;
        let mut failed = 0;
        for h in &heads {
            if fb.ruled_out(h) {
                continue;
            }
            match sp.is_match(h, fallback::SPLIT_WORK + 64 * h.len() as u64) {
                Ok(true) => hits += 1,
                Ok(false) => {}
                Err(_) => failed += 1,
            }
        }
        let ts = t0.elapsed().as_secs_f64() * 1e6 / n;
        let t0 = Instant::now();
        let mut fhits = 0;
        for h in &heads {
            if !fb.ruled_out(h) && fb.count(h, 1) == Ok(1) {
                fhits += 1;
            }
        }
        let tf = t0.elapsed().as_secs_f64() * 1e6 / n;
        // Through a set, as the rules run it.
        let (pat, flags) = name
            .split_once(" /")
            .and_then(|(_, r)| r.rsplit_once('/'))
            .unwrap_or_default();
        let mut b = SetBuilder::new();
        let Ok((id, _)) = b.add_bytes(
            &pat.chars().map(|c| c as u32 as u8).collect::<Vec<u8>>(),
            flags,
        ) else {
            continue;
        };
        let set = b.build();
        let t0 = Instant::now();
        let mut shits = 0;
        let mut budget = Budget::new(u64::MAX);
        for h in &heads {
            shits += set.count(id, h, 1, &mut budget);
        }
        let tset = t0.elapsed().as_secs_f64() * 1e6 / n;
        let t0 = Instant::now();
        let passed = heads.iter().filter(|h| !fb.ruled_out(h)).count();
        let trel = t0.elapsed().as_secs_f64() * 1e6 / n;
        println!("  relaxed pre-check alone: {trel:.1} us ({passed} passed)");
        println!(
            "{ts:8.1} us split ({hits} hits, {failed} over) {tf:8.1} us fancy ({fhits} hits) {tset:8.1} us set ({shits} hits, split {}) {name:.60}",
            set.is_split(id)
        );
    }
}

/// A pattern needing three form words in a row gets a gate that counts
/// them: disjoint occurrences only, and case does not matter.
#[test]
fn count_gate_counts_disjoint_words() {
    let tr = translate(r"(?:(?:name|city|phone)[,:]?\s*){3}", "i").unwrap();
    let hir = parse_native(tr.native.as_ref().unwrap()).unwrap();
    let gate = prefilter::CountGate::of(&hir).expect("a gate");
    assert_eq!(gate.needs(), 3);
    assert!(!gate.passes(b"Name: city"));
    assert!(gate.passes(b"NAME: CITY, PHONE"));
    // Two words side by side are two, three are three.
    assert!(!gate.passes(b"phonename"));
    assert!(gate.passes(b"phonenamecity"));
    // Without a repetition there is nothing to count.
    let one = parse_native(&translate(r"name|city", "").unwrap().native.unwrap()).unwrap();
    assert!(prefilter::CountGate::of(&one).is_none());
    // And the set counts through it.
    let p = r"(?:(?:name|city|phone)[,:]?\s*){3}";
    assert_eq!(count_all(p, "i", b"name, city"), Ok(0));
    assert_eq!(count_all(p, "i", b"Your name, city, phone:"), Ok(1));
}

#[test]
fn starts_give_up_on_long_attempts_and_the_set_still_answers() {
    // Every position starts an attempt that runs to the end of the text:
    // quadratic, so the step budget runs out.
    let p = r"(?:(?:x|a)+b\s?){2}";
    let hir = parse_native(translate(p, "").unwrap().native.as_ref().unwrap()).unwrap();
    let starts = starts::Starts::new(&hir).unwrap();
    let long = "a".repeat(4000);
    assert_eq!(starts.is_match(long.as_bytes()), None);
    // A short text is answered within the budget, both ways.
    assert_eq!(starts.is_match(b"ab aab"), Some(true));
    assert_eq!(starts.is_match(b"ab a"), Some(false));
    // And the set, which has a count gate for this pattern, answers the
    // long text with the unanchored search.
    let mut b = SetBuilder::new();
    let (id, _) = b.add(p, "").unwrap();
    let set = b.build();
    let with_b = format!("{long}b {long}b");
    let mut budget = Budget::new(10);
    assert_eq!(set.count(id, with_b.as_bytes(), 1, &mut budget), 1);
    assert_eq!(set.count(id, long.as_bytes(), 1, &mut budget), 0);
}

proptest! {
    /// A possessive run made plain ([`possessive`]) counts what the
    /// backtracking engine counts for the possessive pattern, and so does
    /// the engine a set picks for the rewritten pattern.
    #[test]
    fn plain_runs_count_as_possessive_ones(
        pre in prop_oneof![Just(String::new()), pattern()],
        class in prop_oneof![Just("[ab]"), Just(r"\s"), Just("a"), Just("[^b]"), Just(r"\w")],
        q in prop_oneof![Just("++"), Just("*+"), Just("?+"), Just("{1,3}+"), Just("{2,}+")],
        atomic in any::<bool>(),
        post in prop_oneof![
            Just(String::new()), pattern(), Just("b".to_string()), Just("c?b".to_string()),
            Just(r"\B".to_string()), Just("(?=a)".to_string()),
        ],
        f in flags(),
        t in prop_oneof![text(), prop::collection::vec(prop::sample::select(&b"abAB c\n"[..]), 0..14)],
    ) {
        let run = if atomic {
            format!("(?>{class}{})", q.trim_end_matches('+'))
        } else {
            format!("{class}{q}")
        };
        let p = format!("(?:{pre}){run}(?:{post})");
        let Ok((node, _)) = perl::parse(p.as_bytes(), f) else { return Ok(()) };
        let plain = possessive::plain_runs(&node);
        let Ok(orig) = Fallback::new(&node) else {
            return Ok(());
        };
        let mut b = SetBuilder::new();
        let (id, _) = b.add_bytes(p.as_bytes(), f).unwrap();
        let set = b.build();
        let new = Fallback::new(&plain).unwrap();
        for max in [1, 5] {
            let Ok(want) = orig.count(&t, max) else { continue };
            if let Ok(got) = new.count(&t, max) {
                prop_assert_eq!(got, want, "{} /{} max {} on {:?}", p, f, max, t);
            }
            let mut budget = Budget::new(10);
            prop_assert_eq!(set.count(id, &t, max, &mut budget), want, "set: {} /{} on {:?}", p, f, t);
        }
    }
}

#[test]
fn possessive_runs_made_plain() {
    // SpamAssassin's __PDS_TO_EQ_FROM_NAME_1: both runs become plain, and
    // the pattern a shape the split engine knows.
    let pds = br#"\nTo: (?:[^\n<]{0,80}<)?([^\n\s>]+)>?\n+(?:[^\n]{1,100}\n+)*From:\W+(\1)([^\n\w<]++<)?((?!\1)[^\n">]++)>?\n"#;
    let (node, _) = perl::parse(pds, "ism").unwrap();
    assert!(split::Split::new(&node).is_none());
    let plain = possessive::plain_runs(&node);
    assert!(
        !perl::fancy(&plain).contains("++"),
        "{}",
        perl::fancy(&plain)
    );
    assert!(split::Split::new(&plain).is_some());
    let mut b = SetBuilder::new();
    let (id, _) = b.add_bytes(pds, "ism").unwrap();
    let set = b.build();
    assert!(set.is_split(id));
    for (text, want) in [
        (
            &b"\nTo: bob@x.org\nSubject: hi\nFrom: bob@x.org <eve@y.org>\n"[..],
            1,
        ),
        (b"\nTo: bob@x.org\nFrom: bob@x.org\n", 0),
        (b"\nTo: bob@x.org\nFrom: \"bob@x.org\" <eve@y.org>\n", 1),
        (b"\nTo: bob@x.org\nFrom: \"bob@x.org\" <bob@x.org>\n", 0),
    ] {
        let mut budget = Budget::new(10);
        assert_eq!(set.count(id, text, 1, &mut budget), want, "{text:?}");
    }
    // Runs that may give something back, or end the pattern, or sit in a
    // look-around: left alone.
    // (`a++\B` on `aa!`: the possessive run fails where `a+` gives an
    // `a` back and matches.)
    for p in [
        &br"a++a"[..],
        br"[ab]++",
        br"x(?=a++b)",
        br"(?>\s*)\s",
        br"a++\B",
    ] {
        let (node, _) = perl::parse(p, "").unwrap();
        assert_eq!(possessive::plain_runs(&node), node, "{p:?}");
    }
    // A repeated group: the next pass may start with the run's byte.
    let (node, _) = perl::parse(br"(?:a++b)*ab", "").unwrap();
    assert_ne!(possessive::plain_runs(&node), node);
    let (node, _) = perl::parse(br"(?:b[ab]++)*c", "").unwrap();
    assert_eq!(possessive::plain_runs(&node), node);
}

/// Patterns whose gates count the same strings share one count per text:
/// the set names the same string set for both, with what each needs, and
/// counts as far as the larger needs. Past a checked gate, the answers are
/// the set's own.
#[test]
fn gates_on_the_same_strings_share_a_count() {
    let mut b = SetBuilder::lines();
    let (three, _) = b.add(r"(?:(?:name|city|phone)[,:]?\s*){3}", "i").unwrap();
    let (five, _) = b.add(r"(?:(?:name|city|phone)\W*){5}", "i").unwrap();
    let (other, _) = b.add(r"(?:(?:age|sex)\s*){2}", "i").unwrap();
    let (plain, _) = b.add(r"name", "i").unwrap();
    let set = b.build();
    let (g3, n3) = set.gate(three).expect("a gate");
    let (g5, n5) = set.gate(five).expect("a gate");
    let (go, _) = set.gate(other).expect("a gate");
    assert_eq!((g3, n3, n5), (g5, 3, 5));
    assert_ne!(go, g3);
    assert_eq!(set.gate(plain), None);
    let line = b"Name: city, phone, name, city, phone, name";
    // Counted up to five for either pattern, not seven.
    assert_eq!(set.gate_count(three, line), 5);
    assert_eq!(set.gate_count(five, b"name city"), 2);
    let mut budget = Budget::new(100);
    for text in [
        &line[..],
        b"name, city, phone",
        b"Name City Phone Name City",
    ] {
        for id in [three, five] {
            if set.gate_count(id, text) >= set.gate(id).unwrap().1 {
                assert_eq!(
                    set.count_past_gate(id, text, 1, &mut budget),
                    set.count(id, text, 1, &mut budget),
                    "{id} {:?}",
                    String::from_utf8_lossy(text)
                );
            }
        }
    }
}

proptest! {
    /// A pattern with its optional start left out ([`trim`]) holds a
    /// match in the same texts as the whole, by the backtracking engine
    /// on both; and a set's yes/no answer for a pattern added with
    /// [`SetBuilder::add_yes_no`] is the whole's.
    #[test]
    fn trimmed_patterns_match_the_same_texts(
        front in prop_oneof![
            Just(""), Just("(?:your\\s)?"), Just("a*"), Just("(?:b|c\\s?)*"),
            Just("(?:x|)"), Just("\\b?"), Just("(a)?"), Just("(?>a*)"), Just("a*+"),
            Just("(?:(a)|b)*"),
        ],
        mid in pattern(),
        back in prop_oneof![
            Just(""), Just("\\s*"), Just("(?:c?b)?"), Just("(?=a)?"), Just("(?:\\.|$)?"),
            Just("\\1"), Just("(?:a|\\1)"),
        ],
        times in prop_oneof![Just(""), Just("{2}"), Just("{1,3}"), Just("+")],
        f in flags(),
        t in prop_oneof![text(), prop::collection::vec(prop::sample::select(&b"abAB c\n"[..]), 0..14)],
    ) {
        let p = format!("(?:{front}(?:{mid}){back}){times}");
        let Ok((node, _)) = perl::parse(p.as_bytes(), f) else { return Ok(()) };
        let Ok(whole) = Fallback::new(&node) else { return Ok(()) };
        let Ok(want) = whole.count(&t, 1) else { return Ok(()) };
        if let Some(trimmed) = trim::start(&node) {
            let cut = Fallback::new(&trimmed).unwrap();
            if let Ok(got) = cut.count(&t, 1) {
                prop_assert_eq!(got, want, "{} /{} trimmed to {} on {:?}", p, f, perl::fancy(&trimmed), t);
            }
        }
        let mut b = SetBuilder::new();
        let (id, _) = b.add_yes_no(&p, f).unwrap();
        let set = b.build();
        let mut budget = Budget::new(10);
        prop_assert_eq!(set.count(id, &t, 1, &mut budget), want, "set: {} /{} on {:?}", p, f, t);
    }
}

#[test]
fn optional_starts_are_left_out() {
    let trimmed = |p: &[u8]| {
        let (node, _) = perl::parse(p, "").unwrap();
        trim::start(&node).map(|t| perl::fancy(&t))
    };
    let fancy = |p: &[u8]| perl::fancy(&perl::parse(p, "").unwrap().0);
    // SpamAssassin's form rules: the optional `<FF_YOUR>` in front, also
    // in the first pass of a repeat.
    assert_eq!(
        trimmed(br"(?:your\s)?(?:full\s){0,3}name:"),
        Some(fancy(b"name:"))
    );
    assert_eq!(
        trimmed(br"(?:(?:your\s)?name:\s*){3}"),
        Some(fancy(br"(?:name:\s*)(?:(?:your\s)?name:\s*){2}"))
    );
    // Without backreferences, captures are only groups.
    assert_eq!(trimmed(br"(a)?name"), Some(fancy(b"name")));
    assert_eq!(
        trimmed(br"(?:(?:your\s)?name){1,3}"),
        Some(fancy(br"(?:name)(?:(?:your\s)?name){0,2}"))
    );
    // Tests, captures, backreferences and runs that keep what they take
    // stay: leaving them out would change which texts match, or what `\1`
    // names.
    for p in [
        &br"\bname"[..],
        br"(?=n)?name",
        br"(a)?name\1",
        br"(?:(a)?name){2}\1",
        br"(?>a*)ab",
        br"a*+ab",
        br"name$",
        br"a*",
        br"name",
        br"((?:your\s)?name){2}",
    ] {
        assert_eq!(trimmed(p), None, "{p:?}");
    }
    // Where it counts: a rule without `multiple` is added trimmed, and its
    // count gate is the whole pattern's.
    let form = r"(?:(?:your\s)?(?:name|city|phone)[:,]?\s*){3}";
    let mut b = SetBuilder::new();
    let (yes_no, _) = b.add_yes_no(form, "i").unwrap();
    let (counted, _) = b.add(form, "i").unwrap();
    let set = b.build();
    assert_eq!(
        set.gate(yes_no).map(|g| g.1),
        set.gate(counted).map(|g| g.1)
    );
    let mut budget = Budget::new(10);
    for (text, want) in [
        (&b"Send us your name, your city, phone:"[..], 1),
        (b"name city", 0),
        (b"your your name, your city, your phone", 1),
    ] {
        assert_eq!(set.count(yes_no, text, 1, &mut budget), want, "{text:?}");
        assert_eq!(set.count(counted, text, 1, &mut budget), want, "{text:?}");
    }
}
