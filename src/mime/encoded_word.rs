//! RFC 2047 encoded-words: `=?charset?B?…?=` and `=?charset?Q?…?=`.
//!
//! Header fields are 7-bit; text in other scripts travels in encoded-words.
//! [`decode`] takes a raw field value, unfolds it (line breaks are removed,
//! the whitespace after them kept), decodes every encoded-word and converts
//! the result to UTF-8. It is lenient the way Thunderbird and Python are:
//!
//! * encoded-words glued to surrounding text (`foo=?utf-8?q?bar?=baz`) are
//!   decoded; inside a quoted string they are decoded too, and flagged
//!   `ENCODED_WORD_IN_QUOTES`;
//! * whitespace between two adjacent encoded-words is dropped, and adjacent
//!   words in the same charset are joined *before* charset conversion, so a
//!   multi-byte character split across two words survives; base64 split in
//!   the middle of a quantum is rejoined too (see below);
//! * Q text may contain spaces, B text may lack its padding, the charset may
//!   carry an RFC 2231 language (`utf-8*en`);
//! * an unknown charset is flagged `UNKNOWN_CHARSET` and its bytes read as
//!   UTF-8 when valid, else windows-1252;
//! * a malformed word (no `?=`, an unknown encoding letter, base64 text with
//!   characters outside the alphabet) stays literal and is flagged
//!   `BAD_ENCODED_WORD`; a bad `=XX` escape in Q text is kept literally and
//!   flagged the same way;
//! * raw 8-bit bytes outside encoded-words are converted with
//!   [`charset::header_to_utf8`] and flagged `EIGHT_BIT_HEADER`.
//!
//! ```
//! use filter::mime::encoded_word::decode;
//! use filter::defect::Defects;
//! use std::borrow::Cow;
//!
//! let (s, d) = decode(b"=?UTF-8?B?w6k=?=\r\n =?utf-8?q?t=C3=A9_!?= ok", None);
//! assert_eq!(s, "été ! ok");
//! assert!(d.is_empty());
//!
//! // A character split across two words.
//! assert_eq!(decode(b"=?utf-8?q?=E3=81?= =?utf-8?q?=82?=", None).0, "あ");
//!
//! // Nothing to do: borrowed.
//! assert!(matches!(decode(b"Hello", None).0, Cow::Borrowed("Hello")));
//!
//! let (s, d) = decode(b"\"=?utf-8?q?Bob?=\" x", None);
//! assert_eq!(s, "\"Bob\" x");
//! assert!(d.contains(Defects::ENCODED_WORD_IN_QUOTES));
//! ```
//!
//! **Base64 split across words.** Some encoders cut one base64 stream into
//! words at arbitrary characters; others encode each word on its own and
//! forget the padding. For a run of adjacent B words in one charset both
//! readings are computed: word by word, and as one stream. When a word does
//! not end cleanly on its own (a lone sixth bit group, or non-zero leftover
//! bits), or when some word of the run is padded, the stream reading is
//! used; otherwise, when the readings differ, the one that is valid in the
//! charset wins, the word-by-word reading on a tie.
//!
//! Deliberate differences from Python's `email.header.decode_header`:
//! Python raises on base64 it cannot decode and on unknown charsets (when
//! converting to `str`); we never fail. Python joins adjacent words after
//! decoding each on its own, so base64 split mid-quantum breaks there; we
//! rejoin it. Python does not unfold a value that contains bare CR or LF not
//! followed by whitespace; we drop every CR and LF.

use std::borrow::Cow;

use crate::decode::charset::{self, Charset};
use crate::defect::Defects;

/// Decodes the RFC 2047 encoded-words of a header field value (which may
/// still be folded) to UTF-8; `fallback` is the charset tried for raw 8-bit
/// bytes that are not UTF-8.
pub fn decode<'a>(value: &'a [u8], fallback: Option<&[u8]>) -> (Cow<'a, str>, Defects) {
    decode_impl(value, fallback, false)
}

/// Like [`decode`], for text that was inside a quoted string (a display
/// name, a parameter value): every encoded-word found is flagged
/// `ENCODED_WORD_IN_QUOTES`, and still decoded.
pub fn decode_quoted<'a>(value: &'a [u8], fallback: Option<&[u8]>) -> (Cow<'a, str>, Defects) {
    decode_impl(value, fallback, true)
}

/// True when `value` contains something that starts like an encoded-word.
pub fn has_encoded_word(value: &[u8]) -> bool {
    memchr::memmem::find(value, b"=?").is_some()
}

fn decode_impl<'a>(
    value: &'a [u8],
    fallback: Option<&[u8]>,
    quoted: bool,
) -> (Cow<'a, str>, Defects) {
    let folded = memchr::memchr2(b'\r', b'\n', value).is_some();
    let plain = |v: &'a [u8]| {
        let d = if v.is_ascii() {
            Defects::empty()
        } else {
            Defects::EIGHT_BIT_HEADER
        };
        (charset::header_to_utf8(v, fallback), d)
    };
    if !folded && !has_encoded_word(value) {
        return plain(value);
    }
    let unfolded: Cow<'a, [u8]> = if folded {
        Cow::Owned(
            value
                .iter()
                .copied()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect(),
        )
    } else {
        Cow::Borrowed(value)
    };
    let mut out = String::with_capacity(unfolded.len());
    let (d, words) = run(&unfolded, fallback, quoted, &mut out);
    if !words && !folded {
        let (t, pd) = plain(value);
        return (t, pd | d);
    }
    (Cow::Owned(out), d)
}

/// A parsed encoded-word.
struct Word<'s> {
    charset: &'s [u8],
    b: bool,
    text: &'s [u8],
    end: usize,
}

/// Outcome of trying to parse an encoded-word at a `=?`.
enum Try<'s> {
    Word(Word<'s>),
    /// Not an encoded-word.
    No,
    /// Looked like one but is broken.
    Bad,
}

const MAX_CHARSET: usize = 75;

/// Parses the encoded-word starting at `j` (where `src[j..]` starts `=?`).
fn parse_word(src: &[u8], j: usize) -> Try<'_> {
    let cs = j + 2;
    let mut k = cs;
    while k < src.len() && k - cs <= MAX_CHARSET {
        let c = src[k];
        if c == b'?' {
            break;
        }
        if c <= b' ' || c >= 0x7f || matches!(c, b'=' | b'"' | b'(' | b')' | b',' | b';') {
            return Try::No;
        }
        k += 1;
    }
    if k == cs || k >= src.len() || src[k] != b'?' {
        return Try::No;
    }
    let charset = &src[cs..k];
    let b = match src.get(k + 1) {
        Some(b'b' | b'B') => true,
        Some(b'q' | b'Q') => false,
        Some(c) if c.is_ascii_alphabetic() && src.get(k + 2) == Some(&b'?') => return Try::Bad,
        _ => return Try::No,
    };
    if src.get(k + 2) != Some(&b'?') {
        return Try::No;
    }
    let ts = k + 3;
    // The text runs to the first `?=`; it cannot contain `?` in valid
    // words, so searching for `?` keeps the scans of successive attempts
    // disjoint (linear time on `=?=?=?…`).
    let Some(q) = memchr::memchr(b'?', &src[ts..]).map(|q| ts + q) else {
        return Try::Bad;
    };
    if src.get(q + 1) != Some(&b'=') {
        return Try::Bad;
    }
    let text = &src[ts..q];
    if b && !text
        .iter()
        .all(|&c| b64(c).is_some() || c == b'=' || c == b' ' || c == b'\t')
    {
        return Try::Bad;
    }
    Try::Word(Word {
        charset,
        b,
        text,
        end: q + 2,
    })
}

/// Decodes `src` (already unfolded) into `out`; returns the defects and
/// whether any encoded-word was decoded.
fn run(src: &[u8], fallback: Option<&[u8]>, quoted: bool, out: &mut String) -> (Defects, bool) {
    let mut d = Defects::empty();
    let mut in_quotes = false;
    let mut escaped = false;
    let mut lit_start = 0;
    let mut i = 0;
    let mut words = false;
    let mut pending: Option<Pending<'_>> = None;
    while let Some(off) = memchr::memchr(b'=', &src[i..]) {
        let j = i + off;
        if src.get(j + 1) != Some(&b'?') {
            i = j + 1;
            continue;
        }
        match parse_word(src, j) {
            Try::No => i = j + 1,
            Try::Bad => {
                d |= Defects::BAD_ENCODED_WORD;
                i = j + 1;
            }
            Try::Word(w) => {
                words = true;
                let lit = &src[lit_start..j];
                let only_ws = lit.iter().all(|&c| c == b' ' || c == b'\t');
                let (cs, _lang) = split_lang(w.charset);
                match &mut pending {
                    Some(p) if only_ws && p.charset.eq_ignore_ascii_case(cs) => {}
                    _ => {
                        let had = pending.is_some();
                        if let Some(p) = pending.take() {
                            d |= p.flush(out);
                        }
                        if !(only_ws && had) {
                            d |= literal(lit, fallback, out);
                        }
                        pending = Some(Pending {
                            charset: cs,
                            words: Vec::new(),
                        });
                    }
                }
                // Track quotes over the literal text we just passed.
                for &c in lit {
                    if escaped {
                        escaped = false;
                    } else if c == b'\\' {
                        escaped = true;
                    } else if c == b'"' {
                        in_quotes = !in_quotes;
                    }
                }
                escaped = false;
                if quoted || in_quotes {
                    d |= Defects::ENCODED_WORD_IN_QUOTES;
                }
                if let Some(p) = &mut pending {
                    p.words.push((w.b, w.text));
                }
                i = w.end;
                lit_start = w.end;
            }
        }
    }
    if let Some(p) = pending.take() {
        d |= p.flush(out);
    }
    d |= literal(&src[lit_start..], fallback, out);
    (d, words)
}

/// Splits RFC 2231's `charset*language`.
fn split_lang(cs: &[u8]) -> (&[u8], Option<&[u8]>) {
    match memchr::memchr(b'*', cs) {
        Some(s) => (&cs[..s], Some(&cs[s + 1..])),
        None => (cs, None),
    }
}

fn literal(lit: &[u8], fallback: Option<&[u8]>, out: &mut String) -> Defects {
    out.push_str(&charset::header_to_utf8(lit, fallback));
    if lit.is_ascii() {
        Defects::empty()
    } else {
        Defects::EIGHT_BIT_HEADER
    }
}

/// Adjacent encoded-words in one charset, not yet converted.
struct Pending<'s> {
    charset: &'s [u8],
    /// (is base64, text)
    words: Vec<(bool, &'s [u8])>,
}

impl Pending<'_> {
    fn flush(self, out: &mut String) -> Defects {
        let mut d = Defects::empty();
        let cs = charset::resolve(self.charset);
        let (bytes, bad) = self.bytes(cs);
        d.set_if(bad, Defects::BAD_ENCODED_WORD);
        match cs {
            None => {
                d |= Defects::UNKNOWN_CHARSET;
                out.push_str(&charset::header_to_utf8(&bytes, None));
            }
            Some(Charset::Utf7) => {
                let (t, bad) = charset::decode_utf7(&bytes);
                d.set_if(bad, Defects::BAD_CHARSET_DATA);
                out.push_str(&t);
            }
            Some(Charset::Encoding(e)) => {
                let bytes = if e == encoding_rs::ISO_2022_JP {
                    drop_empty_shifts(bytes)
                } else {
                    bytes
                };
                let (t, dd) = charset::decode_with(&bytes, e);
                d |= dd;
                out.push_str(&t);
            }
        }
        d
    }

    /// The decoded bytes of the run, and whether something was malformed.
    fn bytes(&self, cs: Option<Charset>) -> (Vec<u8>, bool) {
        // Word by word.
        let mut per_word = Vec::new();
        let mut bad = false;
        let mut clean = true;
        let mut prev_b = false;
        let mut stream_differs = false;
        for &(b, text) in &self.words {
            if b {
                let mut st = B64::default();
                st.feed(text, &mut per_word);
                if !st.clean() {
                    clean = false;
                }
                bad |= st.nbits == 6;
                if prev_b && !st_len(text).is_multiple_of(4) {
                    stream_differs = true;
                }
                if st.nbits != 0 {
                    stream_differs = true;
                }
            } else {
                bad |= decode_q(text, &mut per_word);
            }
            prev_b = b;
        }
        if !stream_differs || self.words.iter().filter(|w| w.0).count() < 2 {
            return (per_word, bad);
        }
        // As one stream (Q words in between break the stream).
        let mut stream = Vec::new();
        let mut sbad = false;
        let mut st = B64::default();
        for &(b, text) in &self.words {
            if b {
                st.feed(text, &mut stream);
            } else {
                sbad |= st.nbits == 6;
                st = B64::default();
                sbad |= decode_q(text, &mut stream);
            }
        }
        sbad |= st.nbits == 6;
        // An encoder that pads is not one that forgets padding: when some
        // word is padded, a word ending mid-quantum is a split stream.
        let padded = self.words.iter().any(|&(b, t)| b && t.contains(&b'='));
        if !clean || padded || stream == per_word {
            return (stream, sbad);
        }
        let valid = |v: &[u8]| match cs {
            Some(Charset::Encoding(e)) => e
                .decode_without_bom_handling_and_without_replacement(v)
                .is_some(),
            Some(Charset::Utf7) => !charset::decode_utf7(v).1,
            None => std::str::from_utf8(v).is_ok(),
        };
        if valid(&stream) && !valid(&per_word) {
            (stream, sbad)
        } else {
            (per_word, bad)
        }
    }
}

/// Joining ISO-2022-JP words puts the `ESC ( B` that ends one word right
/// before the `ESC $ B` that starts the next; the WHATWG decoder (rightly,
/// for a lone stream) calls two escapes in a row an error. Drops every
/// escape sequence that is immediately followed by another escape.
fn drop_empty_shifts(bytes: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0x1b && bytes.get(i + 3) == Some(&0x1b) && bytes.get(i + 1) == Some(&b'(') {
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Base64 characters in `text`, padding included, whitespace not.
fn st_len(text: &[u8]) -> usize {
    text.iter().filter(|&&c| c != b' ' && c != b'\t').count()
}

use crate::decode::charset::b64;

/// Streaming base64 state.
#[derive(Default)]
struct B64 {
    acc: u32,
    nbits: u32,
}

impl B64 {
    fn feed(&mut self, text: &[u8], out: &mut Vec<u8>) {
        for &c in text {
            if let Some(v) = b64(c) {
                self.acc = (self.acc << 6) | v;
                self.nbits += 6;
                if self.nbits >= 8 {
                    self.nbits -= 8;
                    out.push((self.acc >> self.nbits) as u8);
                    self.acc &= (1 << self.nbits) - 1;
                }
            } else if c == b'=' {
                self.acc = 0;
                self.nbits = 0;
            }
        }
    }
    /// True when the text fed so far ends like a complete encoding.
    fn clean(&self) -> bool {
        self.nbits == 0 || (self.nbits < 6 && self.acc == 0)
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes Q text; returns true when an escape was malformed.
fn decode_q(text: &[u8], out: &mut Vec<u8>) -> bool {
    let mut bad = false;
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        match c {
            b'_' => out.push(b' '),
            b'=' => {
                if let (Some(h), Some(l)) = (
                    text.get(i + 1).and_then(|&c| hex(c)),
                    text.get(i + 2).and_then(|&c| hex(c)),
                ) {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                bad = true;
                out.push(b'=');
            }
            _ => out.push(c),
        }
        i += 1;
    }
    bad
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn s(v: &[u8]) -> (String, Defects) {
        let (t, d) = decode(v, None);
        (t.into_owned(), d)
    }

    #[test]
    fn basics() {
        assert_eq!(s(b"=?iso-8859-1?q?caf=E9?=").0, "café");
        assert_eq!(s(b"=?ISO-8859-1?Q?a_b?=").0, "a b");
        assert_eq!(s(b"=?utf-8?b?YQ?=").0, "a");
        assert_eq!(s(b"=?utf-8?q?a b?=").0, "a b");
        assert_eq!(
            s(b"foo=?utf-8?q?bar?=baz"),
            ("foobarbaz".into(), Defects::empty())
        );
        assert_eq!(s(b"=?utf-8?q?a?= b =?utf-8?q?c?=").0, "a b c");
        assert_eq!(s(b"=?utf-8?q?a?=  \t =?utf-8?q?c?=").0, "ac");
        assert_eq!(s(b"=?utf-8?q?a?=\r\n =?iso-8859-1?q?c?=").0, "ac");
        assert_eq!(s(b"=?us-ascii*en?q?hi?=").0, "hi");
        assert_eq!(s(b"a\r\n\tb").0, "a\tb");
        assert_eq!(s(b"=?utf-8?b?44GC?==?utf-8?b?44GE?=").0, "あい");
    }

    #[test]
    fn malformed() {
        let (t, d) = s(b"=?utf-8?q?open");
        assert_eq!(t, "=?utf-8?q?open");
        assert_eq!(d, Defects::BAD_ENCODED_WORD);
        let (t, d) = s(b"=?utf-8?x?abc?=");
        assert_eq!(t, "=?utf-8?x?abc?=");
        assert_eq!(d, Defects::BAD_ENCODED_WORD);
        let (t, d) = s(b"=?utf-8?b?a*b?=");
        assert_eq!(t, "=?utf-8?b?a*b?=");
        assert_eq!(d, Defects::BAD_ENCODED_WORD);
        let (t, d) = s(b"=?utf-8?q?100=?=");
        assert_eq!(t, "100=");
        assert_eq!(d, Defects::BAD_ENCODED_WORD);
        let (t, d) = s(b"what =? no");
        assert_eq!(t, "what =? no");
        assert!(d.is_empty());
        let (t, d) = s(b"=?bogus?q?=C3=A9?=");
        assert_eq!(t, "é");
        assert_eq!(d, Defects::UNKNOWN_CHARSET);
        let (t, d) = s(b"=?bogus?q?=E9?=");
        assert_eq!(t, "é");
        assert_eq!(d, Defects::UNKNOWN_CHARSET);
        let (t, d) = s(b"=?utf-8?q?=FF?=");
        assert_eq!(t, "\u{fffd}");
        assert_eq!(d, Defects::BAD_CHARSET_DATA);
    }

    #[test]
    fn eight_bit() {
        let (t, d) = decode(b"caf\xe9 =?utf-8?q?=C3=A9?=", Some(b"iso-8859-2"));
        assert_eq!(t, "caf\u{e9} é");
        assert_eq!(d, Defects::EIGHT_BIT_HEADER);
        let (t, d) = decode("naïve".as_bytes(), None);
        assert!(matches!(t, Cow::Borrowed("naïve")));
        assert_eq!(d, Defects::EIGHT_BIT_HEADER);
        let (t, _) = decode(b"\xb1", Some(b"iso-8859-2"));
        assert_eq!(t, "ą");
    }

    #[test]
    fn split_base64() {
        // "日本語" = E6 97 A5 E6 9C AC E8 AA 9E = "5pel5pys6Kqe"
        assert_eq!(s(b"=?utf-8?b?5pel5p?= =?utf-8?b?ys6Kqe?=").0, "日本語");
        assert_eq!(s(b"=?utf-8?b?5pel5py?= =?utf-8?b?s6Kqe?=").0, "日本語");
        // Independent words without padding.
        assert_eq!(s(b"=?utf-8?b?YQ?= =?utf-8?b?Yg?=").0, "ab");
        // ISO-2022-JP: each word returns to ASCII, the joined stream must
        // not read as two escapes in a row.
        let (t, d) = s(b"=?ISO-2022-JP?B?GyRCJDIbKEI=?=");
        assert_eq!((t.as_str(), d), ("げ", Defects::empty()));
        let (t, d) =
            s(b"=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=\r\n  =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=");
        assert_eq!((t.as_str(), d), ("テストテスト", Defects::empty()));
    }

    #[test]
    fn quotes_and_utf7() {
        let (t, d) = decode_quoted(b"=?utf-8?q?x?=", None);
        assert_eq!(t, "x");
        assert_eq!(d, Defects::ENCODED_WORD_IN_QUOTES);
        let (_, d) = s(b"\"a\\\"\" =?utf-8?q?x?=");
        assert!(d.is_empty());
        assert_eq!(s(b"=?utf-7?q?+AOk-?=").0, "é");
    }

    #[test]
    fn linear_on_pathological_input() {
        for pat in [&b"=?"[..], b"=?a?q?", b"=?a?b?=", b"=?a?", b"=?utf-8?q?a?="] {
            // No clock: a quadratic decode would run for minutes, and
            // the test run's limit catches it.
            let big = pat.repeat(200_000);
            let (text, _) = decode(&big, None);
            assert!(text.len() <= 3 * big.len());
        }
    }

    fn b64_encode(b: &[u8]) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut o = String::new();
        for c in b.chunks(3) {
            let n = c
                .iter()
                .enumerate()
                .fold(0u32, |a, (i, &x)| a | u32::from(x) << (16 - 8 * i));
            for k in 0..4 {
                if k <= c.len() {
                    o.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
                } else {
                    o.push('=');
                }
            }
        }
        o
    }

    fn q_encode(b: &[u8]) -> String {
        b.iter()
            .map(|&c| {
                if c.is_ascii_alphanumeric() {
                    (c as char).to_string()
                } else {
                    format!("={c:02X}")
                }
            })
            .collect()
    }

    proptest! {
        #[test]
        fn round_trip(items in proptest::collection::vec(
            (any::<bool>(), any::<bool>(), "[a-zA-Z0-9,.!]{1,8}", "\\PC{0,8}"), 0..6)) {
            // (is_word, base64, plain text, word text), joined with spaces.
            let mut enc = String::new();
            let mut want = String::new();
            let mut prev_word = None;
            for (is_word, b, plain, text) in &items {
                if prev_word.is_some() {
                    enc.push(' ');
                    if !(prev_word == Some(true) && *is_word) {
                        want.push(' ');
                    }
                }
                if *is_word {
                    let t = if *b { b64_encode(text.as_bytes()) } else { q_encode(text.as_bytes()) };
                    enc.push_str(&format!("=?UTF-8?{}?{}?=", if *b { "B" } else { "q" }, t));
                    want.push_str(text);
                } else {
                    enc.push_str(plain);
                    want.push_str(plain);
                }
                prev_word = Some(*is_word);
            }
            let (got, d) = decode(enc.as_bytes(), None);
            prop_assert_eq!(got.as_ref(), want.as_str());
            prop_assert!(d.is_empty());
        }

        #[test]
        fn split_anywhere(text in "\\PC{1,20}", cut in any::<prop::sample::Index>()) {
            // One padded base64 stream cut at any character into two words.
            // Unpadded streams split where the leftover bits happen to be
            // zero are truly ambiguous; see the module docs.
            let mut text = text;
            if text.len() % 3 == 0 {
                text.push('x');
            }
            let e = b64_encode(text.as_bytes());
            let k = cut.index(e.len() + 1);
            let (a, b) = e.split_at(k);
            let enc = format!("=?utf-8?b?{a}?=\r\n =?utf-8?b?{b}?=");
            let got = decode(enc.as_bytes(), None).0;
            prop_assert_eq!(got.as_ref(), text.as_str());
        }

        #[test]
        fn split_bytes_at_quanta(text in "\\PC{1,20}", cut in any::<prop::sample::Index>()) {
            // Words cut between bytes (mid-character), each encoded alone.
            let bytes = text.as_bytes();
            let k = cut.index(bytes.len() + 1);
            let enc = format!("=?utf-8?b?{}?= =?utf-8?q?{}?=",
                b64_encode(&bytes[..k]), q_encode(&bytes[k..]));
            let got = decode(enc.as_bytes(), None).0;
            prop_assert_eq!(got.as_ref(), text.as_str());
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = decode(&bytes, None);
            let _ = decode_quoted(&bytes, Some(b"shift_jis"));
        }

        #[test]
        fn never_panics_wordish(parts in proptest::collection::vec(
            prop::sample::select(vec!["=?", "?=", "?", "=", "q", "B", "utf-8", "YQ", "=C3",
                                      " ", "\r\n ", "\"", "\\", "_", "\u{e9}", "*"]), 0..40)) {
            let v = parts.concat();
            let _ = decode(v.as_bytes(), None);
        }
    }
}
