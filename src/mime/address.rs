//! Address lists: From, To, Cc, Reply-To, … (RFC 5322 §3.4, leniently).
//!
//! [`parse_list`] reads a field value into mailboxes: display names (atoms,
//! quoted strings, RFC 2047 encoded-words, decoded), angle addresses,
//! comments, groups (`Friends: a@b, c@d;` sets [`Address::group`];
//! `undisclosed-recipients:;` yields nothing), obsolete routes
//! (`<@relay:user@host>`, the route dropped) and bare addresses. A comment
//! after an address is its display name when there is no other, as in the
//! old `user@host (Full Name)` style.
//!
//! Broken lists are repaired the way clients repair them, and each repair
//! is flagged `BAD_ADDRESS`: a missing `>` ends at the next `,`/`;`; an
//! unterminated quote or comment loses its opening character; a display
//! name without angle brackets (`John Smith john@x.com`) is split off; `;`
//! used as a separator outside a group separates; a group missing its `;`
//! ends at the end. An address without `@` is kept and flagged.
//!
//! ```
//! use filter::mime::address::parse_list;
//! use filter::defect::Defects;
//!
//! let (a, d) = parse_list(b"\"Smith, J.\" <js@x.org>, =?utf-8?q?J=C3=B6rg?= <j@y.de>,\r\n bob@z.net (Bob)");
//! assert!(d.is_empty());
//! assert_eq!(a.len(), 3);
//! assert_eq!(a[0].name.as_deref(), Some("Smith, J."));
//! assert_eq!(a[1].name.as_deref(), Some("Jörg"));
//! assert_eq!((a[2].name.as_deref(), a[2].email.as_str()), (Some("Bob"), "bob@z.net"));
//!
//! let (a, d) = parse_list(b"Friends: a@b, c@d;, undisclosed-recipients:;");
//! assert_eq!(a.len(), 2);
//! assert_eq!(a[1].group.as_deref(), Some("Friends"));
//! assert!(d.is_empty());
//! ```
//!
//! Deliberate differences from Python's `email.utils.getaddresses`: for
//! `a@b <c@d>` Python returns two addresses, we return one, `c@d`, named
//! `a@b` (the mail client shows that name; it is a phishing trick worth
//! seeing). For `"John <a@b>` (an unterminated quote) Python returns one
//! bogus address `John <a@b>`; we drop the quote and find `a@b`. For a bare
//! `John Smith` Python returns `John`; we return `John Smith` (flagged). For
//! `John Smith john@x.com` Python returns one address
//! `John Smith john@x.com`; we return `john@x.com` named `John Smith`.
//! Python returns an empty entry for an empty group; we return nothing.

use std::borrow::Cow;

use crate::decode::charset;
use crate::defect::Defects;
use crate::mime::encoded_word;

/// One mailbox of an address list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Address {
    /// The display name, decoded to UTF-8.
    pub name: Option<String>,
    /// The addr-spec, as written.
    pub email: String,
    /// The group the mailbox belongs to, if any.
    pub group: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Atom,
    /// Raw span includes the quotes.
    Quoted,
    /// Raw span is the content, without the outer parentheses.
    Comment,
    /// `[…]`, raw span includes the brackets.
    DomainLit,
    Special(u8),
}

#[derive(Clone, Copy, Debug)]
struct Tok<'a> {
    kind: Kind,
    raw: &'a [u8],
    /// Whitespace or a comment came before this token.
    ws: bool,
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_special(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'@' | b',' | b';' | b':' | b'\\' | b'"' | b'[' | b']'
    )
}

/// The index after the quoted string starting at `s[i] == '"'`, if closed.
fn close_quote(s: &[u8], i: usize) -> Option<usize> {
    let mut k = i + 1;
    while k < s.len() {
        match s[k] {
            b'\\' => k += 1,
            b'"' => return Some(k + 1),
            _ => {}
        }
        k += 1;
    }
    None
}

/// The index of the `)` closing the comment at `s[i] == '('`, if any.
fn close_comment(s: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut k = i;
    while k < s.len() {
        match s[k] {
            b'\\' => k += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
        k += 1;
    }
    None
}

fn tokenize<'a>(s: &'a [u8], d: &mut Defects) -> Vec<Tok<'a>> {
    let mut toks = Vec::new();
    let mut ws = false;
    let mut comment_repaired = false;
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        let mut push = |kind, raw, ws: &mut bool| {
            toks.push(Tok { kind, raw, ws: *ws });
            *ws = false;
        };
        match c {
            _ if is_ws(c) => {
                ws = true;
                i += 1;
            }
            b'"' => match close_quote(s, i) {
                Some(e) => {
                    push(Kind::Quoted, &s[i..e], &mut ws);
                    i = e;
                }
                None => {
                    // No other quote follows: drop this one.
                    *d |= Defects::BAD_ADDRESS;
                    i += 1;
                }
            },
            b'(' => match close_comment(s, i) {
                Some(e) => {
                    push(Kind::Comment, &s[i + 1..e], &mut ws);
                    ws = true;
                    i = e + 1;
                }
                None if !comment_repaired => {
                    // Drop the `(` once; a second unclosed comment runs to
                    // the end (this keeps `((((…` linear).
                    *d |= Defects::BAD_ADDRESS;
                    comment_repaired = true;
                    i += 1;
                }
                None => {
                    *d |= Defects::BAD_ADDRESS;
                    push(Kind::Comment, &s[i + 1..], &mut ws);
                    i = s.len();
                }
            },
            b'[' => {
                let e = memchr::memchr(b']', &s[i..]).map(|k| i + k + 1);
                if e.is_none() {
                    *d |= Defects::BAD_ADDRESS;
                }
                let e = e.unwrap_or(s.len());
                push(Kind::DomainLit, &s[i..e], &mut ws);
                i = e;
            }
            b')' | b']' | b'\\' => {
                *d |= Defects::BAD_ADDRESS;
                ws = true;
                i += 1;
            }
            b'<' | b'>' | b'@' | b',' | b';' | b':' => {
                push(Kind::Special(c), &s[i..i + 1], &mut ws);
                i += 1;
            }
            _ => {
                let st = i;
                while i < s.len() && !is_ws(s[i]) && !is_special(s[i]) {
                    i += 1;
                }
                push(Kind::Atom, &s[st..i], &mut ws);
            }
        }
    }
    toks
}

/// Unescapes and unfolds the content of a quoted string (raw with quotes).
fn unquote(raw: &[u8]) -> Vec<u8> {
    let inner = &raw[1..raw.len().saturating_sub(1).max(1)];
    let mut out = Vec::with_capacity(inner.len());
    let mut k = 0;
    while k < inner.len() {
        match inner[k] {
            b'\\' if k + 1 < inner.len() => {
                out.push(inner[k + 1]);
                k += 1;
            }
            b'\r' | b'\n' => {}
            c => out.push(c),
        }
        k += 1;
    }
    out
}

/// A display name (or group name) from phrase tokens.
fn phrase_text(toks: &[Tok<'_>], d: &mut Defects) -> Option<String> {
    let mut out = String::new();
    let mut run: Vec<u8> = Vec::new();
    let mut run_ws = false;
    let flush = |run: &mut Vec<u8>, run_ws: bool, out: &mut String, d: &mut Defects| {
        if run.is_empty() {
            return;
        }
        if run_ws && !out.is_empty() {
            out.push(' ');
        }
        let (t, dd) = encoded_word::decode(run, None);
        *d |= dd;
        out.push_str(&t);
        run.clear();
    };
    for t in toks {
        match t.kind {
            Kind::Comment => {}
            Kind::Quoted => {
                flush(&mut run, run_ws, &mut out, d);
                if t.ws && !out.is_empty() {
                    out.push(' ');
                }
                let v = unquote(t.raw);
                let (s, dd) = encoded_word::decode_quoted(&v, None);
                *d |= dd;
                out.push_str(&s);
            }
            _ => {
                if run.is_empty() {
                    run_ws = t.ws;
                } else if t.ws {
                    run.push(b' ');
                }
                run.extend_from_slice(t.raw);
            }
        }
    }
    flush(&mut run, run_ws, &mut out, d);
    let trimmed = out.trim();
    if trimmed.is_empty() {
        None
    } else if trimmed.len() == out.len() {
        Some(out)
    } else {
        Some(trimmed.to_owned())
    }
}

/// The text of the comments, joined, as a fallback display name.
fn comment_text(toks: &[Tok<'_>], d: &mut Defects) -> Option<String> {
    let mut out = String::new();
    for t in toks.iter().filter(|t| t.kind == Kind::Comment) {
        let (s, dd) = encoded_word::decode(t.raw, None);
        *d |= dd;
        let s = s.trim();
        if !s.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(s);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// An addr-spec from its tokens, as written (whitespace and comments
/// dropped).
fn addr_text(toks: &[Tok<'_>], d: &mut Defects) -> String {
    let mut raw: Vec<u8> = Vec::new();
    for t in toks {
        if t.kind != Kind::Comment {
            raw.extend_from_slice(t.raw);
        }
    }
    if !raw.is_ascii() {
        *d |= Defects::EIGHT_BIT_HEADER;
    }
    match charset::header_to_utf8(&raw, None) {
        Cow::Borrowed(s) => s.to_owned(),
        Cow::Owned(s) => s,
    }
}

fn is(t: &Tok<'_>, c: u8) -> bool {
    t.kind == Kind::Special(c)
}

/// True when `b` continues the addr-spec word that `a` is part of
/// (`a@b@c` stays one word).
fn joined(a: &Tok<'_>, b: &Tok<'_>) -> bool {
    let glue = |t: &Tok<'_>| !is_special_tok(t) || is(t, b'@');
    glue(a) && glue(b) && (!b.ws || a.raw.ends_with(b".") || b.raw.starts_with(b"."))
}

#[derive(Default)]
struct Mailbox<'a> {
    phrase: Vec<Tok<'a>>,
    comments: Vec<Tok<'a>>,
    angle: Option<Vec<Tok<'a>>>,
    angle_closed: bool,
    /// Inside `<@route,@route:` (before its `:`), where `,` is no separator.
    in_route: bool,
}

impl<'a> Mailbox<'a> {
    fn in_angle(&self) -> bool {
        self.angle.is_some() && !self.angle_closed
    }

    /// Finishes the mailbox into `out`.
    fn finish(&mut self, group: &Option<String>, out: &mut Vec<Address>, d: &mut Defects) {
        let mb = std::mem::take(self);
        if let Some(angle) = mb.angle {
            if !mb.angle_closed {
                *d |= Defects::BAD_ADDRESS;
            }
            // Drop an obsolete route: `<@a,@b:user@host>`.
            let mut spec: &[Tok<'_>] = &angle;
            if spec.first().is_some_and(|t| is(t, b'@'))
                && let Some(c) = spec.iter().position(|t| is(t, b':'))
            {
                spec = &spec[c + 1..];
            }
            let email = addr_text(spec, d);
            if !email.is_empty() && !email.contains('@') {
                *d |= Defects::BAD_ADDRESS;
            }
            let name = phrase_text(&mb.phrase, d).or_else(|| comment_text(&mb.comments, d));
            out.push(Address {
                name,
                email,
                group: group.clone(),
            });
            return;
        }
        let p = &mb.phrase;
        if p.is_empty() {
            return;
        }
        let Some(at) = p.iter().position(|t| is(t, b'@')) else {
            *d |= Defects::BAD_ADDRESS;
            let mut raw = Vec::new();
            for t in p {
                if t.ws && !raw.is_empty() {
                    raw.push(b' ');
                }
                raw.extend_from_slice(t.raw);
            }
            let email = charset::header_to_utf8(&raw, None).into_owned();
            d.set_if(!raw.is_ascii(), Defects::EIGHT_BIT_HEADER);
            let name = comment_text(&mb.comments, d);
            out.push(Address {
                name,
                email,
                group: group.clone(),
            });
            return;
        };
        // The local part: the word right before `@`.
        let mut ls = at;
        if at > 0 {
            ls = at - 1;
            while ls > 0 && joined(&p[ls - 1], &p[ls]) {
                ls -= 1;
            }
        }
        // The domain: the word right after `@`.
        let mut de = at + 1;
        if de < p.len() && !is_special_tok(&p[de]) {
            de += 1;
            while de < p.len() && joined(&p[de - 1], &p[de]) {
                de += 1;
            }
        }
        if ls == at || de == at + 1 || de < p.len() {
            *d |= Defects::BAD_ADDRESS;
        }
        let email = addr_text(&p[ls..de], d);
        let mut name = None;
        if ls > 0 {
            *d |= Defects::BAD_ADDRESS;
            name = phrase_text(&p[..ls], d);
        }
        let name = name.or_else(|| comment_text(&mb.comments, d));
        out.push(Address {
            name,
            email,
            group: group.clone(),
        });
    }
}

fn is_special_tok(t: &Tok<'_>) -> bool {
    matches!(t.kind, Kind::Special(_))
}

/// Parses an address-list field value (it may still contain folding).
pub fn parse_list(value: &[u8]) -> (Vec<Address>, Defects) {
    let mut d = Defects::empty();
    let toks = tokenize(value, &mut d);
    let mut out = Vec::new();
    let mut group: Option<String> = None;
    let mut mb = Mailbox::default();
    for t in toks {
        if t.kind == Kind::Comment {
            mb.comments.push(t);
            continue;
        }
        if mb.in_angle() {
            let first = mb.angle.as_ref().is_some_and(|a| a.is_empty());
            if first && is(&t, b'@') {
                mb.in_route = true;
            } else if is(&t, b':') {
                mb.in_route = false;
            }
            let route = mb.in_route;
            match t.kind {
                Kind::Special(b'>') => mb.angle_closed = true,
                Kind::Special(b'<') => d |= Defects::BAD_ADDRESS,
                Kind::Special(b',') if route => mb.angle.get_or_insert_with(Vec::new).push(t),
                Kind::Special(b',') => mb.finish(&group, &mut out, &mut d),
                Kind::Special(b';') => {
                    mb.finish(&group, &mut out, &mut d);
                    end_group(&mut group, &mut d);
                }
                _ => mb.angle.get_or_insert_with(Vec::new).push(t),
            }
            continue;
        }
        match t.kind {
            Kind::Special(b'<') => {
                if mb.angle.is_some() {
                    // A second angle address in one mailbox.
                    d |= Defects::BAD_ADDRESS;
                    mb.finish(&group, &mut out, &mut d);
                }
                mb.angle = Some(Vec::new());
            }
            Kind::Special(b'>') => d |= Defects::BAD_ADDRESS,
            Kind::Special(b':') => {
                if group.is_some() || mb.angle.is_some() {
                    d |= Defects::BAD_ADDRESS;
                    mb = Mailbox::default();
                } else {
                    let mut dd = Defects::empty();
                    let name = phrase_text(&mb.phrase, &mut dd).unwrap_or_default();
                    d |= dd;
                    group = Some(name);
                    mb = Mailbox::default();
                }
            }
            Kind::Special(b',') => mb.finish(&group, &mut out, &mut d),
            Kind::Special(b';') => {
                mb.finish(&group, &mut out, &mut d);
                end_group(&mut group, &mut d);
            }
            _ => {
                if mb.angle_closed {
                    // Text after `>`.
                    d |= Defects::BAD_ADDRESS;
                } else {
                    mb.phrase.push(t);
                }
            }
        }
    }
    mb.finish(&group, &mut out, &mut d);
    if group.is_some() {
        d |= Defects::BAD_ADDRESS;
    }
    (out, d)
}

fn end_group(group: &mut Option<String>, d: &mut Defects) {
    if group.take().is_none() {
        // `;` used as a list separator.
        *d |= Defects::BAD_ADDRESS;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Triple = (Option<String>, String, Option<String>);

    fn p(v: &str) -> (Vec<Triple>, Defects) {
        let (a, d) = parse_list(v.as_bytes());
        (
            a.into_iter().map(|a| (a.name, a.email, a.group)).collect(),
            d,
        )
    }

    fn one(v: &str) -> (Option<String>, String, Defects) {
        let (mut a, d) = p(v);
        assert_eq!(a.len(), 1, "{v}: {a:?}");
        let (n, e, _) = a.remove(0);
        (n, e, d)
    }

    fn ok(n: Option<&str>, e: &str) -> (Option<String>, String, Defects) {
        (n.map(str::to_owned), e.to_owned(), Defects::empty())
    }

    fn bad(n: Option<&str>, e: &str) -> (Option<String>, String, Defects) {
        (n.map(str::to_owned), e.to_owned(), Defects::BAD_ADDRESS)
    }

    #[test]
    fn well_formed() {
        assert_eq!(one("a@b"), ok(None, "a@b"));
        assert_eq!(
            one("John  Q.  Public <a@b>"),
            ok(Some("John Q. Public"), "a@b")
        );
        assert_eq!(
            one("\"Smith, \\\"J\\\"\" <a@b>"),
            ok(Some("Smith, \"J\""), "a@b")
        );
        assert_eq!(one("a@b (Name)"), ok(Some("Name"), "a@b"));
        assert_eq!(one("Real <a@b> (comment)"), ok(Some("Real"), "a@b"));
        assert_eq!(one("\"john doe\"@x.com"), ok(None, "\"john doe\"@x.com"));
        assert_eq!(one("john . doe @ x . com"), ok(None, "john.doe@x.com"));
        assert_eq!(one("<@r1,@r2:u@h>"), ok(None, "u@h"));
        assert_eq!(one("MAILER-DAEMON <>"), ok(Some("MAILER-DAEMON"), ""));
        assert_eq!(one("u@[1.2.3.4]"), ok(None, "u@[1.2.3.4]"));
        assert_eq!(
            one("=?utf-8?q?a?= =?utf-8?q?b?= <x@y>"),
            ok(Some("ab"), "x@y")
        );
        assert_eq!(
            one("=?utf-8?q?a?=\r\n =?utf-8?q?b?= c <x@y>"),
            ok(Some("ab c"), "x@y")
        );
        assert_eq!(one("a@b <c@d>"), ok(Some("a@b"), "c@d"));
        let (a, d) = p("Friends: a@b, \"C\" <c@d>;, e@f, undisclosed-recipients:;");
        assert!(d.is_empty());
        assert_eq!(a.len(), 3);
        assert_eq!(
            a[1],
            (Some("C".into()), "c@d".into(), Some("Friends".into()))
        );
        assert_eq!(a[2].2, None);
        assert_eq!(p("undisclosed-recipients:;"), (vec![], Defects::empty()));
        assert_eq!(p(""), (vec![], Defects::empty()));
        assert_eq!(
            p(" , a@b,,"),
            (vec![(None, "a@b".into(), None)], Defects::empty())
        );
    }

    #[test]
    fn repaired() {
        assert_eq!(one("John <a@b"), bad(Some("John"), "a@b"));
        assert_eq!(one("\"John <a@b>"), bad(Some("John"), "a@b"));
        assert_eq!(one("(John <a@b>"), bad(Some("John"), "a@b"));
        assert_eq!(
            one("John Smith john@x.com"),
            bad(Some("John Smith"), "john@x.com")
        );
        assert_eq!(one("John Smith"), bad(None, "John Smith"));
        assert_eq!(one("<postmaster>"), bad(None, "postmaster"));
        assert_eq!(
            one("oolas@Cybertizens@msn.net"),
            ok(None, "oolas@Cybertizens@msn.net")
        );
        assert_eq!(one("<a@b> junk"), bad(None, "a@b"));
        let (a, d) = p("a@b; c@d");
        assert_eq!(a.len(), 2);
        assert_eq!(d, Defects::BAD_ADDRESS);
        let (a, d) = p("G: a@b, c@d");
        assert_eq!(a.len(), 2);
        assert_eq!(d, Defects::BAD_ADDRESS);
        let (a, _) = p("John <a@b, Jane <c@d>");
        assert_eq!(a[0], (Some("John".into()), "a@b".into(), None));
        assert_eq!(a[1], (Some("Jane".into()), "c@d".into(), None));
    }

    #[test]
    fn encoded_and_eight_bit() {
        let (a, d) = p("\"=?utf-8?q?J=C3=B6rg?=\" <j@y>");
        assert_eq!(a[0].0.as_deref(), Some("Jörg"));
        assert_eq!(d, Defects::ENCODED_WORD_IN_QUOTES);
        let (a, d) = parse_list("Jörg <j@ÿ.de>".as_bytes());
        assert_eq!(a[0].name.as_deref(), Some("Jörg"));
        assert_eq!(a[0].email, "j@ÿ.de");
        assert!(d.contains(Defects::EIGHT_BIT_HEADER));
        let (a, _) = parse_list(b"J\xf6rg <j@y>");
        assert_eq!(a[0].name.as_deref(), Some("Jörg"));
    }

    #[test]
    fn linear() {
        for pat in [
            &b"("[..],
            b"\"",
            b"<",
            b"a:",
            b"a@",
            b"<@a,",
            b"a b ",
            b"=?",
        ] {
            // No clock: a quadratic parse of these would run for
            // minutes, and the test run's limit catches it.
            let big = pat.repeat(100_000);
            let (list, _) = parse_list(&big);
            assert!(
                list.len() <= big.len() && list.iter().all(|a| a.email.len() <= big.len()),
                "{:?}",
                String::from_utf8_lossy(pat)
            );
        }
    }

    fn quote(s: &str) -> String {
        let mut o = String::from("\"");
        for c in s.chars() {
            if c == '"' || c == '\\' {
                o.push('\\');
            }
            o.push(c);
        }
        o.push('"');
        o
    }

    proptest! {
        #[test]
        fn round_trip(list in proptest::collection::vec(
            (proptest::option::of("[ -~]{0,12}"), "[a-z0-9._+-]{1,8}", "[a-z0-9-]{1,8}(\\.[a-z]{2,4})?",
             0u8..3), 0..6),
            grouped in any::<bool>()) {
            let mut v = String::new();
            let mut want = Vec::new();
            if grouped {
                v.push_str("Team \"A\": ");
            }
            for (k, (name, local, domain, style)) in list.iter().enumerate() {
                if k > 0 {
                    v.push_str(if k % 2 == 0 { ",\r\n " } else { ", " });
                }
                let email = format!("{local}@{domain}");
                let name = name.as_ref().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
                match (style, &name) {
                    (0, Some(n)) | (1, Some(n)) => v.push_str(&format!("{} <{email}>", quote(n))),
                    (2, Some(n)) if !n.contains(['(', ')', '\\']) => v.push_str(&format!("{email} ({n})")),
                    _ => { v.push_str(&email); want.push((None, email)); continue; }
                }
                want.push((name, email));
            }
            if grouped {
                v.push(';');
            }
            let (got, d) = parse_list(v.as_bytes());
            prop_assert!(d.is_empty(), "{} {}", v, d);
            let got: Vec<_> = got.into_iter().map(|a| {
                assert_eq!(a.group.as_deref(), grouped.then_some("Team A"));
                (a.name, a.email)
            }).collect();
            prop_assert_eq!(got, want);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse_list(&bytes);
        }

        #[test]
        fn never_panics_structured(parts in proptest::collection::vec(
            prop::sample::select(vec!["<", ">", "@", ",", ";", ":", "\"", "\\", "(", ")", "[", "]",
                                      "a", "b.c", " ", "\r\n ", "=?utf-8?q?x?=", "\u{e9}"]), 0..40)) {
            let v = parts.concat();
            let _ = parse_list(v.as_bytes());
        }
    }
}
