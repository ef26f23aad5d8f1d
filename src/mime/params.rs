//! Structured field values: `value; name=value; …` (RFC 2045, RFC 2231).
//!
//! Content-Type and Content-Disposition carry a main value and parameters.
//! [`parse`] reads one such value as mail clients do, not as the grammar
//! says: folding and `(comments)` count as whitespace, unquoted values may
//! hold spaces, `/` and `=` (`boundary=----=_NextPart_000`), a quoted value
//! may lack its closing quote (it then runs to the end), `;` may appear
//! inside quotes, `;;` and empty values are fine. RFC 2231 extended values
//! (`name*=charset'lang'%XX`) are %-decoded and continuations (`name*0`,
//! `name*1*`, …) joined in numeric order.
//!
//! Ambiguity matters more than tolerance: malware hides a second boundary
//! or file name where one client sees it and another does not. So whenever a
//! value can be read in more than one way, every reading is kept:
//! `boundary="abc"def` yields the candidates `abc`, `abcdef` and `"abc"def`
//! (flagged `BAD_PARAMS`); an unterminated quote yields the run-to-end value
//! and the value up to the next `;`; `text/plain charset=x` (a missing `;`)
//! yields both `x` and nothing-split readings where that is possible; a
//! parameter given twice keeps both (flagged `DUPLICATE_PARAM`). The first
//! candidate is the main reading, which [`Params::get`] returns; the others
//! follow it in [`Params::params`], so [`Params::all`] and
//! [`Params::candidates`] see them.
//!
//! ```
//! use filter::mime::params::parse;
//! use filter::defect::Defects;
//!
//! let p = parse(b"multipart/mixed;\r\n\tboundary=\"----=_Part_1\" (x); charset=us-ascii");
//! assert_eq!(p.media_type(), Some((&b"multipart"[..], &b"mixed"[..])));
//! assert_eq!(p.boundary(), Some(&b"----=_Part_1"[..]));
//! assert!(p.defects.is_empty());
//!
//! let p = parse(b"attachment; filename*0*=utf-8''%C3%A9t; filename*1=\"e.pdf\"; filename=x.pdf");
//! assert_eq!(p.text("filename").unwrap(), "ét" .to_owned() + "e.pdf");
//!
//! let p = parse(b"multipart/mixed; boundary=\"abc\"def");
//! assert!(p.defects.contains(Defects::BAD_PARAMS));
//! assert_eq!(p.candidates("boundary"), [&b"abc"[..], b"abcdef", b"\"abc\"def"]);
//! ```
//!
//! [`Params::get`] prefers the RFC 2231 form of a parameter over the plain
//! one (`filename*` over `filename`), as Thunderbird and Python's
//! `get_filename` do. [`Params::text`] decodes a value to UTF-8: with its
//! RFC 2231 charset when it has one, else decoding RFC 2047 encoded-words
//! inside it (forbidden, universal; flagged `ENCODED_WORD_IN_QUOTES` when
//! quoted), else as UTF-8 or Latin-1.
//!
//! Deliberate differences from Python's `email.message.Message.get_param`:
//! Python keeps `"abc"def` as the single value `"abc"def` and keeps the
//! opening quote of an unterminated value; we offer several candidates,
//! the first being `abc`. Python does not strip comments; we strip comments
//! between tokens and a trailing `(comment)` after an unquoted value when a
//! space precedes it (so `name=foo(1).pdf` keeps its parentheses). The main
//! value keeps a comment that sits in its middle (`text/(x)plain`);
//! [`Params::media_type`] trims comments around each half.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use crate::decode::charset;
use crate::defect::Defects;
use crate::mime::encoded_word;

/// One parameter of a structured header field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    /// The name as written (compare case-insensitively).
    pub name: &'a [u8],
    /// The value: unquoted, RFC 2231 continuations joined and %-decoded.
    pub value: Cow<'a, [u8]>,
    /// The RFC 2231 charset, when given.
    pub charset: Option<Cow<'a, [u8]>>,
    /// The RFC 2231 language, when given.
    pub language: Option<Cow<'a, [u8]>>,
    /// True when the value came from the RFC 2231 `name*` form.
    pub extended: bool,
}

/// A parsed `value; name=value; …` field such as Content-Type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params<'a> {
    /// The main value before the first `;`, comments removed, trimmed.
    pub value: &'a [u8],
    /// The parameters in order.
    pub params: Vec<Param<'a>>,
    /// What was odd.
    pub defects: Defects,
}

impl<'a> Params<'a> {
    /// The parameter `name` (case-insensitive); the RFC 2231 form wins,
    /// otherwise the first.
    pub fn get(&self, name: &str) -> Option<&Param<'a>> {
        let mut first = None;
        let n = name.as_bytes();
        for p in self
            .params
            .iter()
            .filter(|p| p.name.eq_ignore_ascii_case(n))
        {
            if p.extended {
                return Some(p);
            }
            first = first.or(Some(p));
        }
        first
    }

    /// Every parameter called `name`, in order (alternative readings of an
    /// ambiguous value included).
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Param<'a>> + 's {
        self.params
            .iter()
            .filter(move |p| p.name.eq_ignore_ascii_case(name.as_bytes()))
    }

    /// The distinct values of `name`, the one [`get`](Self::get) returns
    /// first, then the others in order.
    pub fn candidates(&self, name: &str) -> Vec<&[u8]> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let first = self.get(name);
        let n = name.as_bytes();
        let all = self
            .params
            .iter()
            .filter(|p| p.name.eq_ignore_ascii_case(n));
        for p in first.into_iter().chain(all) {
            if seen.insert(&*p.value) {
                out.push(&*p.value);
            }
        }
        out
    }

    /// The value of `name` as raw bytes.
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(|p| &*p.value)
    }

    /// The `boundary` parameter.
    pub fn boundary(&self) -> Option<&[u8]> {
        self.bytes("boundary")
    }

    /// The value of `name` as UTF-8 text (see the module docs).
    pub fn text(&self, name: &str) -> Option<Cow<'a, str>> {
        self.get(name).map(text_of)
    }

    /// The main value split into `type` and `subtype`, each trimmed of
    /// whitespace and comments; `None` without a `/` or with an empty half.
    ///
    /// ```
    /// let p = filter::mime::params::parse(b" Text / HTML (x) ; charset=utf-8");
    /// assert_eq!(p.media_type(), Some((&b"Text"[..], &b"HTML"[..])));
    /// assert_eq!(filter::mime::params::parse(b"text").media_type(), None);
    /// ```
    pub fn media_type(&self) -> Option<(&'a [u8], &'a [u8])> {
        let v = self.value;
        let slash = memchr::memchr(b'/', v)?;
        let t = trim_comments(&v[..slash]);
        let mut s = trim_comments(&v[slash + 1..]);
        if let Some(e) = s.iter().position(|&c| c.is_ascii_whitespace() || c == b'(') {
            s = &s[..e];
        }
        let unq = |x: &'a [u8]| -> &'a [u8] {
            let x = x.strip_prefix(b"\"").unwrap_or(x);
            x.strip_suffix(b"\"").unwrap_or(x)
        };
        let (t, s) = (unq(t), unq(s));
        if t.is_empty() || s.is_empty() {
            None
        } else {
            Some((t, s))
        }
    }
}

/// A parameter's value as UTF-8 text.
pub fn text_of<'a>(p: &Param<'a>) -> Cow<'a, str> {
    match &p.value {
        Cow::Borrowed(b) => convert(p, b),
        Cow::Owned(o) => Cow::Owned(convert(p, o).into_owned()),
    }
}

fn convert<'x>(p: &Param<'_>, v: &'x [u8]) -> Cow<'x, str> {
    if p.extended {
        if let Some(cs) = &p.charset
            && charset::resolve(cs).is_some()
        {
            return charset::decode_to_utf8(v, Some(cs)).0;
        }
        return charset::header_to_utf8(v, None);
    }
    if encoded_word::has_encoded_word(v) {
        return encoded_word::decode(v, None).0;
    }
    charset::header_to_utf8(v, None)
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Trims whitespace and leading/trailing `(comments)`.
fn trim_comments(mut v: &[u8]) -> &[u8] {
    loop {
        v = v.trim_ascii();
        if v.first() == Some(&b'(') {
            let mut d = Defects::empty();
            let e = skip_comment(v, 0, &mut d);
            v = &v[e..];
            continue;
        }
        if v.last() == Some(&b')')
            && let Some(o) = comment_start_backwards(v)
        {
            v = &v[..o];
            continue;
        }
        return v;
    }
}

/// For `v` ending in `)`, the index of its matching `(`.
fn comment_start_backwards(v: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    for k in (0..v.len()).rev() {
        match v[k] {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// Skips the comment starting at `s[i] == '('`; unterminated comments run
/// to the end (flagged).
fn skip_comment(s: &[u8], mut i: usize, d: &mut Defects) -> usize {
    let mut depth = 0usize;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 1,
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    *d |= Defects::BAD_PARAMS;
    s.len()
}

/// Skips whitespace (folding included) and comments.
fn skip_cfws(s: &[u8], mut i: usize, d: &mut Defects) -> usize {
    while i < s.len() {
        if is_ws(s[i]) {
            i += 1;
        } else if s[i] == b'(' {
            i = skip_comment(s, i, d);
        } else {
            break;
        }
    }
    i
}

/// The index of the next `;` outside quotes and comments, or the end.
fn skip_to_semi(s: &[u8], mut i: usize, d: &mut Defects) -> usize {
    while i < s.len() {
        match s[i] {
            b';' => return i,
            b'(' => {
                i = skip_comment(s, i, d);
                continue;
            }
            b'"' => {
                let (_, e, closed) = quoted(s, i);
                if !closed {
                    *d |= Defects::BAD_PARAMS;
                }
                i = e;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    s.len()
}

/// Reads the quoted string at `s[i] == '"'`: its unescaped, unfolded
/// content, the index after it, and whether it was closed.
fn quoted(s: &[u8], i: usize) -> (Cow<'_, [u8]>, usize, bool) {
    let start = i + 1;
    let mut k = start;
    let mut owned: Option<Vec<u8>> = None;
    while k < s.len() {
        let c = s[k];
        match c {
            b'"' => {
                let v = match owned {
                    Some(o) => Cow::Owned(o),
                    None => Cow::Borrowed(&s[start..k]),
                };
                return (v, k + 1, true);
            }
            b'\\' | b'\r' | b'\n' => {
                let o = owned.get_or_insert_with(|| s[start..k].to_vec());
                if c == b'\\'
                    && let Some(&n) = s.get(k + 1)
                {
                    o.push(n);
                    k += 1;
                }
            }
            _ => {
                if let Some(o) = &mut owned {
                    o.push(c);
                }
            }
        }
        k += 1;
    }
    let v = match owned {
        Some(o) => Cow::Owned(o),
        None => Cow::Borrowed(&s[start..]),
    };
    (v, s.len(), false)
}

/// Drops CR and LF (unfolding), borrowing when there are none.
fn unfold(v: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr2(b'\r', b'\n', v).is_some() {
        Cow::Owned(
            v.iter()
                .copied()
                .filter(|&c| c != b'\r' && c != b'\n')
                .collect(),
        )
    } else {
        Cow::Borrowed(v)
    }
}

/// If `v` (an unquoted value or a main value) holds whitespace followed by
/// `token =`, the index of that whitespace: a missing `;`.
fn missing_semi(v: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < v.len() {
        if is_ws(v[i]) {
            let w = i;
            while i < v.len() && is_ws(v[i]) {
                i += 1;
            }
            let ts = i;
            while i < v.len() && !is_ws(v[i]) && !matches!(v[i], b'=' | b'"' | b'(' | b')' | b'/') {
                i += 1;
            }
            let te = i;
            while i < v.len() && is_ws(v[i]) {
                i += 1;
            }
            if te > ts && v.get(i) == Some(&b'=') {
                return Some(w);
            }
            continue;
        }
        i += 1;
    }
    None
}

/// A parameter as written, before RFC 2231 joining.
struct Raw<'a> {
    name: &'a [u8],
    value: Cow<'a, [u8]>,
    quoted: bool,
    alts: Vec<Cow<'a, [u8]>>,
}

/// Parses a raw field value (it may still contain folding).
pub fn parse(value: &[u8]) -> Params<'_> {
    let s = value;
    let mut d = Defects::empty();

    // ---- the main value -------------------------------------------------
    let semi = skip_to_semi(s, 0, &mut d);
    let (mut first, mut last) = (None, 0);
    let mut i = 0;
    while i < semi {
        i = skip_cfws(s, i, &mut d).min(semi);
        if i >= semi {
            break;
        }
        first.get_or_insert(i);
        if s[i] == b'"' {
            let (_, e, _) = quoted(s, i);
            i = e.min(semi);
        } else {
            while i < semi && !is_ws(s[i]) && s[i] != b'(' && s[i] != b'"' {
                i += 1;
            }
        }
        last = i;
    }
    let first = first.unwrap_or(0);
    let mut main = &s[first..last.max(first)];
    let mut pos = semi;
    if let Some(w) = missing_semi(main) {
        d |= Defects::BAD_PARAMS;
        pos = first + w;
        main = &main[..w];
    }

    // ---- the parameters as written --------------------------------------
    let mut raws: Vec<Raw<'_>> = Vec::new();
    let mut i = pos;
    let mut next_semi = 0;
    let mut split_segment = None;
    loop {
        i = skip_cfws(s, i, &mut d);
        if i >= s.len() {
            break;
        }
        if s[i] == b';' {
            i += 1;
            continue;
        }
        let ns = i;
        while i < s.len() && !is_ws(s[i]) && !matches!(s[i], b'=' | b';' | b'"' | b'(') {
            i += 1;
        }
        let name = &s[ns..i];
        let j = skip_cfws(s, i, &mut d);
        if j >= s.len() || s[j] != b'=' {
            // A parameter without `=`.
            d |= Defects::BAD_PARAMS;
            i = skip_to_semi(s, j, &mut d);
            continue;
        }
        if name.is_empty() {
            d |= Defects::BAD_PARAMS;
        }
        i = skip_cfws(s, j + 1, &mut d);
        let mut raw = Raw {
            name,
            value: Cow::Borrowed(&b""[..]),
            quoted: false,
            alts: Vec::new(),
        };
        if i < s.len() && s[i] == b'"' {
            raw.quoted = true;
            let (v, e, closed) = quoted(s, i);
            if !closed {
                d |= Defects::BAD_PARAMS;
                if let Some(k) = memchr::memchr(b';', &v) {
                    let cut = v[..k].trim_ascii_end().to_vec();
                    raw.alts.push(Cow::Owned(cut));
                }
                raw.value = v;
                i = e;
            } else {
                let k = skip_cfws(s, e, &mut d);
                if k < s.len() && s[k] != b';' {
                    // Text after the closing quote: `"abc"def`.
                    d |= Defects::BAD_PARAMS;
                    let je = skip_to_semi(s, k, &mut d);
                    let junk = trim_value(&s[k..je]);
                    let mut joined = v.to_vec();
                    joined.extend_from_slice(&unfold(junk));
                    raw.alts.push(Cow::Owned(joined));
                    raw.alts.push(unfold(trim_value(&s[i..je])));
                    i = je;
                } else {
                    i = k;
                }
                raw.value = v;
            }
        } else {
            if next_semi < i {
                next_semi = memchr::memchr(b';', &s[i..]).map_or(s.len(), |k| i + k);
            }
            let ve = next_semi;
            if let Some(w) = missing_semi(&s[i..ve]) {
                // `a=b c=d`: a missing `;`. The whole rest as one value is
                // the other reading (kept once per `;`-segment, so that
                // `a=b c=d e=f …` stays linear).
                d |= Defects::BAD_PARAMS;
                raw.value = unfold(trim_value(&s[i..i + w]));
                if split_segment != Some(ve) {
                    split_segment = Some(ve);
                    raw.alts.push(unfold(trim_value(&s[i..ve])));
                }
                i += w;
            } else {
                raw.value = unfold(trim_value(&s[i..ve]));
                i = ve;
            }
        }
        if !name.is_empty() {
            raws.push(raw);
        }
    }

    let params = join(raws, &mut d);
    Params {
        value: main,
        params,
        defects: d,
    }
}

/// Trims whitespace and trailing comments that follow whitespace.
fn trim_value(mut v: &[u8]) -> &[u8] {
    loop {
        v = v.trim_ascii();
        if v.last() == Some(&b')')
            && let Some(o) = comment_start_backwards(v)
            && (o == 0 || is_ws(v[o - 1]))
        {
            v = &v[..o];
            continue;
        }
        return v;
    }
}

/// How a parameter name reads under RFC 2231.
enum Form {
    Plain,
    /// `name*`
    Extended,
    /// `name*N` or `name*N*`
    Section(u32, bool),
}

fn form(name: &[u8]) -> (&[u8], Form, bool) {
    let Some(star) = memchr::memchr(b'*', name) else {
        return (name, Form::Plain, true);
    };
    let base = &name[..star];
    let rest = &name[star + 1..];
    if rest.is_empty() {
        return (base, Form::Extended, true);
    }
    let (digits, ext) = match rest.strip_suffix(b"*") {
        Some(d) => (d, true),
        None => (rest, false),
    };
    if !digits.is_empty() && digits.len() <= 9 && digits.iter().all(u8::is_ascii_digit) {
        let n = digits
            .iter()
            .fold(0u32, |a, &c| a * 10 + u32::from(c - b'0'));
        return (base, Form::Section(n, ext), true);
    }
    (name, Form::Plain, false)
}

fn sub<'a>(v: &Cow<'a, [u8]>, a: usize, b: usize) -> Cow<'a, [u8]> {
    match v {
        Cow::Borrowed(s) => Cow::Borrowed(&s[a..b]),
        Cow::Owned(o) => Cow::Owned(o[a..b].to_vec()),
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|v| v as u8)
}

/// %-decodes; flags malformed escapes.
fn pct<'a>(v: Cow<'a, [u8]>, d: &mut Defects) -> Cow<'a, [u8]> {
    if memchr::memchr(b'%', &v).is_none() {
        return v;
    }
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'%' {
            if let (Some(h), Some(l)) = (
                v.get(i + 1).and_then(|&c| hex(c)),
                v.get(i + 2).and_then(|&c| hex(c)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
            *d |= Defects::BAD_RFC2231;
        }
        out.push(v[i]);
        i += 1;
    }
    Cow::Owned(out)
}

type Ext<'a> = (Option<Cow<'a, [u8]>>, Option<Cow<'a, [u8]>>, Cow<'a, [u8]>);

/// Splits `charset'language'value` and %-decodes the value.
fn extended<'a>(v: Cow<'a, [u8]>, d: &mut Defects) -> Ext<'a> {
    let q1 = memchr::memchr(b'\'', &v);
    let q2 = q1.and_then(|a| memchr::memchr(b'\'', &v[a + 1..]).map(|b| a + 1 + b));
    match (q1, q2) {
        (Some(a), Some(b)) => {
            let cs = (a > 0).then(|| sub(&v, 0, a));
            let lang = (b > a + 1).then(|| sub(&v, a + 1, b));
            let rest = sub(&v, b + 1, v.len());
            (cs, lang, pct(rest, d))
        }
        _ => {
            *d |= Defects::BAD_RFC2231;
            (None, None, pct(v, d))
        }
    }
}

/// RFC 2231 joining, duplicate detection, alternative readings.
fn join<'a>(raws: Vec<Raw<'a>>, d: &mut Defects) -> Vec<Param<'a>> {
    struct Group<'a> {
        name: &'a [u8],
        sections: Vec<(u32, bool, Cow<'a, [u8]>)>,
    }
    // Output slots: a finished parameter (plus its alternatives), or a
    // continuation group, at the place of its first section.
    enum Slot<'a> {
        Done(Param<'a>, Vec<Cow<'a, [u8]>>),
        Group(usize),
    }
    let mut slots: Vec<Slot<'a>> = Vec::new();
    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut by_name: HashMap<Vec<u8>, usize> = HashMap::new();
    for raw in raws {
        let (base, f, ok) = form(raw.name);
        if !ok {
            *d |= Defects::BAD_RFC2231;
        }
        if raw.quoted && encoded_word::has_encoded_word(&raw.value) {
            let (_, dd) = encoded_word::decode_quoted(&raw.value, None);
            d.set_if(
                dd.contains(Defects::ENCODED_WORD_IN_QUOTES),
                Defects::ENCODED_WORD_IN_QUOTES,
            );
        }
        match f {
            Form::Plain => slots.push(Slot::Done(
                Param {
                    name: base,
                    value: raw.value,
                    charset: None,
                    language: None,
                    extended: false,
                },
                raw.alts,
            )),
            Form::Extended => {
                let (charset, language, value) = extended(raw.value, d);
                slots.push(Slot::Done(
                    Param {
                        name: base,
                        value,
                        charset,
                        language,
                        extended: true,
                    },
                    Vec::new(),
                ));
            }
            Form::Section(n, ext) => {
                let key = base.to_ascii_lowercase();
                let g = *by_name.entry(key).or_insert_with(|| {
                    groups.push(Group {
                        name: base,
                        sections: Vec::new(),
                    });
                    slots.push(Slot::Group(groups.len() - 1));
                    groups.len() - 1
                });
                groups[g].sections.push((n, ext, raw.value));
            }
        }
    }

    let mut out = Vec::with_capacity(slots.len());
    let mut groups: Vec<Option<Group<'a>>> = groups.into_iter().map(Some).collect();
    let mut seen: HashSet<(Vec<u8>, bool)> = HashSet::new();
    for slot in slots {
        let (p, alts) = match slot {
            Slot::Done(p, alts) => (p, alts),
            Slot::Group(g) => {
                let Some(mut g) = groups[g].take() else {
                    continue;
                };
                let in_order = g.sections.windows(2).all(|w| w[0].0 < w[1].0);
                g.sections.sort_by_key(|s| s.0);
                let mut bad = !in_order || g.sections.first().map(|s| s.0) != Some(0);
                let mut value: Option<Cow<'a, [u8]>> = None;
                let (mut charset, mut language) = (None, None);
                let mut prev: Option<u32> = None;
                for (k, (n, ext, v)) in g.sections.into_iter().enumerate() {
                    if let Some(p) = prev {
                        if n == p {
                            bad = true; // a repeated section: keep the first
                            continue;
                        }
                        if n != p + 1 {
                            bad = true;
                        }
                    }
                    prev = Some(n);
                    let v = if ext && k == 0 {
                        let (c, l, v) = extended(v, d);
                        charset = c;
                        language = l;
                        v
                    } else if ext {
                        pct(v, d)
                    } else {
                        v
                    };
                    value = Some(match value {
                        None => v,
                        Some(acc) => {
                            let mut acc = acc.into_owned();
                            acc.extend_from_slice(&v);
                            Cow::Owned(acc)
                        }
                    });
                }
                if bad {
                    *d |= Defects::BAD_RFC2231;
                }
                let value = value.unwrap_or(Cow::Borrowed(&b""[..]));
                (
                    Param {
                        name: g.name,
                        value,
                        charset,
                        language,
                        extended: true,
                    },
                    Vec::new(),
                )
            }
        };
        if !seen.insert((p.name.to_ascii_lowercase(), p.extended)) {
            *d |= Defects::DUPLICATE_PARAM;
        }
        let name = p.name;
        out.push(p);
        for a in alts {
            out.push(Param {
                name,
                value: a,
                charset: None,
                language: None,
                extended: false,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vals<'a>(p: &'a Params<'_>, n: &'a str) -> Vec<&'a [u8]> {
        p.all(n).map(|p| &*p.value).collect()
    }

    #[test]
    fn basics() {
        let p = parse(b"text/plain; charset=\"us-ascii\"; format=flowed");
        assert_eq!(p.value, b"text/plain");
        assert_eq!(p.bytes("CHARSET"), Some(&b"us-ascii"[..]));
        assert_eq!(p.bytes("format"), Some(&b"flowed"[..]));
        assert!(p.defects.is_empty());
        assert!(matches!(p.get("charset").unwrap().value, Cow::Borrowed(_)));

        let p = parse(b"multipart/alternative;\n boundary=----=_NextPart_000_0001_01C2.ABCD");
        assert_eq!(
            p.boundary(),
            Some(&b"----=_NextPart_000_0001_01C2.ABCD"[..])
        );
        let p = parse(b"a; name=\"x\\\"y;z\"; ;; e=; f");
        assert_eq!(p.bytes("name"), Some(&b"x\"y;z"[..]));
        assert_eq!(p.bytes("e"), Some(&b""[..]));
        assert_eq!(p.get("f"), None);
        assert_eq!(p.defects, Defects::BAD_PARAMS);
        let p = parse(b"a; name=my file.txt; b=c");
        assert_eq!(p.bytes("name"), Some(&b"my file.txt"[..]));
        let p = parse(b"a (comment; here) ; name=foo(1).pdf ; x=y (note)");
        assert_eq!(p.value, b"a");
        assert_eq!(p.bytes("name"), Some(&b"foo(1).pdf"[..]));
        assert_eq!(p.bytes("x"), Some(&b"y"[..]));
        let p = parse(b"a; name=\"folded\r\n value\"");
        assert_eq!(p.bytes("name"), Some(&b"folded value"[..]));
        let p = parse(b"");
        assert_eq!(p.value, b"");
        assert!(p.params.is_empty());
    }

    #[test]
    fn ambiguity() {
        let p = parse(b"multipart/mixed; boundary=\"abc\"def; x=1");
        assert_eq!(p.boundary(), Some(&b"abc"[..]));
        assert_eq!(
            vals(&p, "boundary"),
            [&b"abc"[..], b"abcdef", b"\"abc\"def"]
        );
        assert_eq!(p.bytes("x"), Some(&b"1"[..]));
        assert_eq!(p.defects, Defects::BAD_PARAMS);

        let p = parse(b"a; filename=\"evil.exe; size=1");
        assert_eq!(
            p.candidates("filename"),
            [&b"evil.exe; size=1"[..], b"evil.exe"]
        );
        assert!(p.defects.contains(Defects::BAD_PARAMS));

        let p = parse(b"multipart/mixed; boundary=a; BOUNDARY=\"b\"");
        assert_eq!(p.candidates("boundary"), [&b"a"[..], b"b"]);
        assert_eq!(p.defects, Defects::DUPLICATE_PARAM);

        let p = parse(b"attachment filename=evil.exe");
        assert_eq!(p.value, b"attachment");
        assert_eq!(p.bytes("filename"), Some(&b"evil.exe"[..]));
        assert_eq!(p.defects, Defects::BAD_PARAMS);

        let p = parse(b"text/plain; charset=us-ascii format=flowed");
        assert_eq!(p.bytes("charset"), Some(&b"us-ascii"[..]));
        assert_eq!(p.bytes("format"), Some(&b"flowed"[..]));
        assert_eq!(
            p.candidates("charset"),
            [&b"us-ascii"[..], b"us-ascii format=flowed"]
        );
    }

    #[test]
    fn rfc2231() {
        let p = parse(b"a; filename=\"x.pdf\"; filename*=UTF-8''f%C3%B6o.pdf");
        assert_eq!(p.text("filename").unwrap(), "föo.pdf");
        assert!(p.defects.is_empty());
        let f = p.get("filename").unwrap();
        assert_eq!(f.charset.as_deref(), Some(&b"UTF-8"[..]));
        assert!(f.extended);

        let p = parse(b"a; title*1*=%20b; title*0*=us-ascii'en'a; title*2=\" c\"");
        assert_eq!(p.text("title").unwrap(), "a b c");
        assert_eq!(
            p.get("title").unwrap().language.as_deref(),
            Some(&b"en"[..])
        );
        assert_eq!(p.defects, Defects::BAD_RFC2231); // out of order

        let p = parse(b"a; n*0=a; n*2=c");
        assert_eq!(p.bytes("n"), Some(&b"ac"[..]));
        assert_eq!(p.defects, Defects::BAD_RFC2231);
        let p = parse(b"a; n*0=a; n*0=b; n*1=c");
        assert_eq!(p.bytes("n"), Some(&b"ac"[..]));
        assert_eq!(p.defects, Defects::BAD_RFC2231);
        let p = parse(b"a; n*=%zz");
        assert_eq!(p.bytes("n"), Some(&b"%zz"[..]));
        assert_eq!(p.defects, Defects::BAD_RFC2231);
        let p = parse(b"a; n*=\"iso-8859-1''caf%E9\"");
        assert_eq!(p.text("n").unwrap(), "café");
        let p = parse(b"a; n*=bogus''caf%C3%A9");
        assert_eq!(p.text("n").unwrap(), "café");
    }

    #[test]
    fn encoded_words_in_values() {
        let p = parse(b"a; name=\"=?utf-8?B?w6kuZXhl?=\"");
        assert_eq!(p.text("name").unwrap(), "é.exe");
        assert_eq!(p.defects, Defects::ENCODED_WORD_IN_QUOTES);
        let p = parse(b"a; name==?utf-8?q?x?=");
        assert_eq!(p.text("name").unwrap(), "x");
        assert!(p.defects.is_empty());
        let p = parse(b"a; name=caf\xe9");
        assert_eq!(p.text("name").unwrap(), "café");
        let p = parse("a; name=café".as_bytes());
        assert!(matches!(p.text("name").unwrap(), Cow::Borrowed("café")));
    }

    #[test]
    fn media_types() {
        assert_eq!(
            parse(b"text/(c)plain").media_type(),
            Some((&b"text"[..], &b"plain"[..]))
        );
        assert_eq!(parse(b"text/").media_type(), None);
        assert_eq!(parse(b"/plain").media_type(), None);
        assert_eq!(
            parse(b"\"text/html\"").media_type(),
            Some((&b"text"[..], &b"html"[..]))
        );
    }

    #[test]
    fn linear() {
        for pat in [
            &b"a=\"b\"c;"[..],
            b"(",
            b"((",
            b"a*0=",
            b";",
            b"\"",
            b"x y=",
            b"a=b)",
        ] {
            // No clock: a quadratic parse would run for minutes, and the
            // test run's limit catches it.
            let big = pat.repeat(100_000);
            let p = parse(&big);
            assert!(
                p.params.len() <= big.len() && p.params.iter().all(|q| q.value.len() <= big.len()),
                "{:?}",
                String::from_utf8_lossy(pat)
            );
        }
    }

    fn quote(v: &[u8]) -> Vec<u8> {
        let mut o = vec![b'"'];
        for &c in v {
            if c == b'"' || c == b'\\' {
                o.push(b'\\');
            }
            o.push(c);
        }
        o.push(b'"');
        o
    }

    proptest! {
        #[test]
        fn round_trip(main in "[a-z]{1,8}/[a-z0-9.+-]{1,8}",
                      ps in proptest::collection::vec(
                          (0u8..3, proptest::collection::vec(0x20u8..0x7f, 0..12),
                           proptest::collection::vec(1usize..5, 0..4)), 0..5)) {
            let mut raw = main.clone().into_bytes();
            for (k, (style, v, cuts)) in ps.iter().enumerate() {
                raw.extend_from_slice(format!(";\r\n\tp{k}").as_bytes());
                match style {
                    0 => { raw.push(b'='); raw.extend(quote(v)); }
                    1 => {
                        // RFC 2231, split into continuations at `cuts`.
                        let enc: Vec<u8> = v.iter().flat_map(|c| format!("%{c:02X}").into_bytes()).collect();
                        let mut pieces = Vec::new();
                        let mut at = 0;
                        for c in cuts {
                            let e = (at + c * 3).min(enc.len());
                            pieces.push(&enc[at..e]);
                            at = e;
                        }
                        pieces.push(&enc[at..]);
                        for (n, piece) in pieces.iter().enumerate() {
                            if n > 0 { raw.extend_from_slice(format!("; p{k}").as_bytes()); }
                            raw.extend_from_slice(format!("*{n}*=").as_bytes());
                            if n == 0 { raw.extend_from_slice(b"us-ascii'en'"); }
                            raw.extend_from_slice(piece);
                        }
                    }
                    _ => {
                        // A token: the oracle is the value itself.
                        raw.push(b'=');
                        let t: Vec<u8> = v.iter().copied()
                            .filter(|c| c.is_ascii_alphanumeric() || b"-._/=+".contains(c)).collect();
                        raw.extend_from_slice(if t.is_empty() { b"x" } else { &t });
                    }
                }
            }
            let p = parse(&raw);
            prop_assert_eq!(p.value, main.as_bytes());
            prop_assert!(p.defects.is_empty(), "{}", p.defects);
            prop_assert_eq!(p.params.len(), ps.len());
            for (k, (style, v, _)) in ps.iter().enumerate() {
                let got = p.bytes(&format!("p{k}")).unwrap();
                match style {
                    2 => {
                        let t: Vec<u8> = v.iter().copied()
                            .filter(|c| c.is_ascii_alphanumeric() || b"-._/=+".contains(c)).collect();
                        prop_assert_eq!(got, if t.is_empty() { &b"x"[..] } else { &t[..] });
                    }
                    _ => prop_assert_eq!(got, &v[..]),
                }
            }
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let p = parse(&bytes);
            let _ = p.media_type();
            for q in &p.params {
                let _ = text_of(q);
            }
            let _ = p.candidates("boundary");
        }

        #[test]
        fn never_panics_structured(parts in proptest::collection::vec(
            prop::sample::select(vec![";", "=", "\"", "\\", "(", ")", "*", "*0", "*1*", "'",
                                      "%", "%4", "a", "name", " ", "\r\n ", "/", "=?utf-8?q?x?="]), 0..40)) {
            let v = parts.concat();
            let p = parse(v.as_bytes());
            let _ = p.media_type();
            let _ = p.text("name");
        }
    }
}
