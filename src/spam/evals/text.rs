//! String tests that stand in for regexes the Perl builds from message
//! data.
//!
//! A few SpamAssassin tests interpolate a header value into a pattern and
//! match it against another header: the To address against the Subject
//! (`check_for_to_in_subject`), the recipient's domain and user against
//! the envelope sender (`check_ratware_envelope_from`), a piece of the
//! Message-ID against the From (`check_ratware_name_id`). Compiling such
//! a regex costs far more than the match, and it would be compiled once
//! per message, so the functions here answer the same questions by hand.
//!
//! They keep the exact meaning of the regexes the `regex` crate would
//! build (the behaviour this module replaced, and what the tests compare
//! with): case-insensitive means Unicode simple case folding, character
//! by character (so `k` also matches the Kelvin sign), as
//! [`regex_syntax`] folds a literal under `(?i)`; `\b` is the Unicode word
//! boundary of [`regex_syntax::is_word_character`]; `\s` is
//! [`char::is_whitespace`]; `.` is any character but `\n`; and `$` is the
//! end of the text. The tests compare each function with the regex it
//! replaces on tables of cases and on random text.

use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};

/// A literal compiled for case-insensitive matching: for each character,
/// the characters it matches.
struct Folded(Vec<Fold>);

/// The characters one literal character matches under `(?i)`.
enum Fold {
    /// An ASCII character whose only case variant (if any) is ASCII.
    Ascii(u8),
    /// Any other character: its simple case-folding class.
    Set(Vec<char>),
}

impl Fold {
    fn new(c: char) -> Fold {
        // `k`, `s` and their capitals also fold to non-ASCII letters (the
        // Kelvin sign, the long s); every other ASCII letter folds to its
        // ASCII pair only.
        if c.is_ascii() && !matches!(c, 'k' | 'K' | 's' | 'S') {
            return Fold::Ascii(c.to_ascii_lowercase() as u8);
        }
        let mut class = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
        class.case_fold_simple();
        Fold::Set(class.iter().flat_map(|r| r.start()..=r.end()).collect())
    }

    fn matches(&self, c: char) -> bool {
        match self {
            Fold::Ascii(a) => c.is_ascii() && c.to_ascii_lowercase() as u8 == *a,
            Fold::Set(set) => set.contains(&c),
        }
    }
}

impl Folded {
    fn new(lit: &str) -> Folded {
        Folded(lit.chars().map(Fold::new).collect())
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    /// True when `text[at..]` starts with the literal, case folded.
    fn at(&self, text: &[char], at: usize) -> bool {
        text.len() >= at + self.len() && self.0.iter().zip(&text[at..]).all(|(f, &c)| f.matches(c))
    }
}

/// True when `text[at..]` starts with `lit`, exactly.
fn exact_at(text: &[char], at: usize, lit: &[char]) -> bool {
    text.get(at..at + lit.len()) == Some(lit)
}

/// `\b` before `text[i]`: a word character on one side only.
fn boundary(text: &[char], i: usize) -> bool {
    let word = |c: Option<&char>| c.is_some_and(|&c| regex_syntax::is_word_character(c));
    word(i.checked_sub(1).and_then(|j| text.get(j))) != word(text.get(i))
}

fn is_punct(c: char) -> bool {
    matches!(c, ',' | ':' | ';' | '!' | '?' | '-')
}

/// `(?i)\bLIT\b` matches somewhere in `text`.
pub(crate) fn contains_word_ci(text: &str, lit: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    let f = Folded::new(lit);
    (0..=t.len()).any(|i| boundary(&t, i) && f.at(&t, i) && boundary(&t, i + f.len()))
}

/// The user test of `check_for_to_in_subject`: the regex
///
/// ```text
/// (?ix)^(?:(?:re|fw):\s*(?:\w+\s+)?Q$|(?-i:Q)\s*[,:;!?-](?:$|\s)|Q$|,\s*Q[,:;!?-]$)
/// ```
///
/// with `Q` the escaped local part `user`, matches `subject`. The `^`
/// anchors every branch at the start. Under `x` the local part's
/// whitespace is not part of the pattern.
pub(crate) fn user_in_subject(subject: &str, user: &str) -> bool {
    let q: Vec<char> = user.chars().filter(|c| !c.is_whitespace()).collect();
    let qs: String = q.iter().collect();
    let f = Folded::new(&qs);
    let t: Vec<char> = subject.chars().collect();
    let n = t.len();
    let skip_ws = |mut j: usize| {
        while j < n && t[j].is_whitespace() {
            j += 1;
        }
        j
    };
    // `^Q$`
    if n == q.len() && f.at(&t, 0) {
        return true;
    }
    // `^(?-i:Q)\s*[,:;!?-](?:$|\s)`
    if exact_at(&t, 0, &q) {
        let j = skip_ws(q.len());
        if j < n && is_punct(t[j]) && t.get(j + 1).is_none_or(|c| c.is_whitespace()) {
            return true;
        }
    }
    // `^,\s*Q[,:;!?-]$`
    if t.first() == Some(&',') {
        let j = skip_ws(1);
        if j + q.len() + 1 == n && f.at(&t, j) && is_punct(t[n - 1]) {
            return true;
        }
    }
    // `^(?:re|fw):\s*(?:\w+\s+)?Q$`
    let (re, fw) = (Folded::new("re:"), Folded::new("fw:"));
    if n >= 3 + q.len() && (re.at(&t, 0) || fw.at(&t, 0)) && f.at(&t, n - q.len()) {
        // What lies between must be `\s*` or `\s*\w+\s+`.
        let end = n - q.len();
        let mut j = 3;
        while j < end && t[j].is_whitespace() {
            j += 1;
        }
        if j == end {
            return true;
        }
        let word_start = j;
        while j < end && regex_syntax::is_word_character(t[j]) {
            j += 1;
        }
        let ws_start = j;
        while j < end && t[j].is_whitespace() {
            j += 1;
        }
        return j == end && ws_start > word_start && j > ws_start;
    }
    false
}

/// The test of `check_ratware_envelope_from`: `(?i)\bDOM.USER@` matches
/// `from` (the `.` is any character but a newline).
pub(crate) fn dom_user_at(from: &str, dom: &str, user: &str) -> bool {
    let t: Vec<char> = from.chars().collect();
    let (d, u) = (Folded::new(dom), Folded::new(user));
    (0..=t.len()).any(|i| {
        let j = i + d.len();
        boundary(&t, i)
            && d.at(&t, i)
            && t.get(j).is_some_and(|&c| c != '\n')
            && u.at(&t, j + 1)
            && t.get(j + 1 + u.len()) == Some(&'@')
    })
}

/// The test of `check_ratware_name_id`: `"[^"]+"\s*<ID>` matches `from`,
/// case-sensitive.
pub(crate) fn quoted_name_before(from: &str, id: &str) -> bool {
    let t: Vec<char> = from.chars().collect();
    let lit: Vec<char> = std::iter::once('<')
        .chain(id.chars())
        .chain(std::iter::once('>'))
        .collect();
    (0..t.len()).any(|i| {
        if !exact_at(&t, i, &lit) {
            return false;
        }
        // Back over `\s*` to the closing quote, then over `[^"]+` to the
        // opening one.
        let Some(close) = t[..i].iter().rposition(|c| !c.is_whitespace()) else {
            return false;
        };
        t[close] == '"'
            && t[..close]
                .iter()
                .rposition(|&c| c == '"')
                .is_some_and(|open| open + 1 < close)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex::Regex;

    // The regexes these functions replace, built as the old code built them.

    fn re_word(text: &str, lit: &str) -> bool {
        Regex::new(&format!(r"(?i)\b{}\b", regex::escape(lit))).is_ok_and(|r| r.is_match(text))
    }

    fn re_user(subject: &str, user: &str) -> bool {
        let q = regex::escape(user);
        Regex::new(&format!(
            r"(?ix)^(?:(?:re|fw):\s*(?:\w+\s+)?{q}$|(?-i:{q})\s*[,:;!?-](?:$|\s)|{q}$|,\s*{q}[,:;!?-]$)"
        ))
        .is_ok_and(|r| r.is_match(subject))
    }

    fn re_dom_user(from: &str, dom: &str, user: &str) -> bool {
        Regex::new(&format!(
            r"(?i)\b{}.{}@",
            regex::escape(dom),
            regex::escape(user)
        ))
        .is_ok_and(|r| r.is_match(from))
    }

    fn re_name(from: &str, id: &str) -> bool {
        Regex::new(&format!(r#""[^"]+"\s*<{}>"#, regex::escape(id))).is_ok_and(|r| r.is_match(from))
    }

    #[test]
    fn ascii_shortcut_is_the_fold() {
        for b in 0u8..128 {
            let c = char::from(b);
            let mut class = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
            class.case_fold_simple();
            let set: Vec<char> = class.iter().flat_map(|r| r.start()..=r.end()).collect();
            let f = Fold::new(c);
            for x in (0..0x3000).filter_map(char::from_u32) {
                assert_eq!(f.matches(x), set.contains(&x), "{c:?} {x:?}");
            }
        }
    }

    #[test]
    fn word_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("hello bob@example.com!", "BOB@example.com", true),
            ("hello xbob@example.com", "bob@example.com", false),
            ("bob@example.comx", "bob@example.com", false),
            ("re: bob@example.com", "bob@example.com", true),
            ("\u{212a}im@x.org here", "kim@x.org", true),
            ("-a", "-a", false),
            ("x-a", "-a", true),
            (" -a", "-a", false),
            ("", "a", false),
            ("caf\u{e9}@x.fr", "CAF\u{c9}@X.FR", true),
        ];
        for &(text, lit, want) in cases {
            assert_eq!(contains_word_ci(text, lit), want, "{text:?} {lit:?}");
            assert_eq!(re_word(text, lit), want, "regex {text:?} {lit:?}");
        }
    }

    #[test]
    fn user_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("bob", "bob", true),
            ("BOB", "bob", true),
            ("Hello bob", "bob", false),
            ("bob, your order", "bob", true),
            ("BOB, your order", "bob", false),
            ("bob ! x", "bob", true),
            ("bob !x", "bob", false),
            (", bob!", "bob", true),
            (",   BOB?", "bob", true),
            ("news, bob!", "bob", false),
            ("Re: bob", "bob", true),
            ("FW:hi bob", "bob", true),
            ("Re: hi  there bob", "bob", false),
            ("Re: hi bob", "bo", false),
            ("bobby", "bob", false),
            ("", "", true),
            ("anything", "", false),
            ("- x", "", true),
            ("john doe", "john doe", false),
            ("johndoe", "john doe", true),
            ("a.b-", "a.b", true),
            ("\u{17f}", "S", true),
            ("\u{212a}", "k", true),
        ];
        for &(text, user, want) in cases {
            assert_eq!(user_in_subject(text, user), want, "{text:?} {user:?}");
            assert_eq!(re_user(text, user), want, "regex {text:?} {user:?}");
        }
    }

    #[test]
    fn ratware_tables() {
        let cases: &[(&str, &str, &str, bool)] = &[
            ("example.com.bob@spam.net", "example.com", "bob", true),
            ("EXAMPLE.COM-BOB@spam.net", "example.com", "bob", true),
            ("xexample.com.bob@spam.net", "example.com", "bob", false),
            ("example.com\nbob@spam.net", "example.com", "bob", false),
            ("example.combob@spam.net", "example.com", "bob", false),
            ("example.com.bob", "example.com", "bob", false),
        ];
        for &(from, dom, user, want) in cases {
            assert_eq!(dom_user_at(from, dom, user), want, "{from:?}");
            assert_eq!(re_dom_user(from, dom, user), want, "regex {from:?}");
        }
        let cases: &[(&str, &str, bool)] = &[
            ("\"Bob\" <a@b.c>", "a@b.c", true),
            ("\"Bob\"<a@b.c>", "a@b.c", true),
            ("\"\" <a@b.c>", "a@b.c", false),
            ("\"x\"\" <a@b.c>", "a@b.c", false),
            ("Bob <a@b.c>", "a@b.c", false),
            ("\"Bob\" x <a@b.c>", "a@b.c", false),
            ("\"Bob\" <a@b.c> \"B\" <a@b.c>", "a@b.c", true),
        ];
        for &(from, id, want) in cases {
            assert_eq!(quoted_name_before(from, id), want, "{from:?}");
            assert_eq!(re_name(from, id), want, "regex {from:?}");
        }
    }

    // Small alphabets make matches likely; the odd characters are the
    // ones case folding, `\b` and `\s` treat specially.
    const TEXT: &str = "[abkKsS\u{212a}\u{17f}\u{e9}\u{c9}_1 \t\n\u{a0},:;!?\\-@.\"<>]{0,24}";
    const LIT: &str = "[abkKsS\u{212a}\u{17f}\u{e9}_1 ,!#\\-@.\"]{0,5}";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn word_matches_regex(text in TEXT, lit in LIT) {
            prop_assert_eq!(contains_word_ci(&text, &lit), re_word(&text, &lit));
        }

        #[test]
        fn user_matches_regex(text in TEXT, user in LIT) {
            prop_assert_eq!(user_in_subject(&text, &user), re_user(&text, &user));
        }

        #[test]
        fn user_shaped_matches_regex(
            pre in "(|[rR][eE]:|[fF][wW]:|,)[ \t\u{a0}]{0,2}([a\u{e9}_1]{1,3}[ \t]{1,2})?",
            user in LIT,
            tail in "[ ,!?x\u{17f}-]{0,3}",
        ) {
            // Subjects shaped like the anchored branches.
            let text = format!("{pre}{user}{tail}");
            prop_assert_eq!(user_in_subject(&text, &user), re_user(&text, &user));
        }

        #[test]
        fn dom_user_matches_regex(pre in TEXT, dom in LIT, sep in "[.\n-]", user in LIT, post in TEXT) {
            let from = format!("{pre}{dom}{sep}{user}@{post}");
            prop_assert_eq!(dom_user_at(&from, &dom, &user), re_dom_user(&from, &dom, &user));
            prop_assert_eq!(dom_user_at(&pre, &dom, &user), re_dom_user(&pre, &dom, &user));
        }

        #[test]
        fn name_matches_regex(pre in TEXT, id in LIT, post in TEXT) {
            let from = format!("{pre}<{id}>{post}");
            prop_assert_eq!(quoted_name_before(&from, &id), re_name(&from, &id));
            prop_assert_eq!(quoted_name_before(&pre, &id), re_name(&pre, &id));
        }
    }
}
