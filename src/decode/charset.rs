//! Charsets: from a MIME label to UTF-8 text.
//!
//! Mail declares charsets with whatever label its sender's software knew:
//! the WHATWG names browsers use, but also Microsoft code page names
//! (`cp1252`, `ks_c_5601-1987`), typos of the ISO names (`iso8859-1`), and
//! even Windows font-charset constants (`GB2312_CHARSET`, `chinesebig5`).
//! [`lookup`] resolves a label with `encoding_rs`'s WHATWG table first and
//! then with the aliases real mail uses. UTF-7, which the WHATWG world
//! dropped but spammers did not, is decoded here by hand; [`resolve`] knows
//! it, [`lookup`] (which returns an `encoding_rs` encoding) does not.
//!
//! [`decode_to_utf8`] converts a body; it borrows whenever the bytes already
//! are the UTF-8 they decode to, which for ASCII text in an ASCII-compatible
//! charset is checked first, word at a time. A byte order mark wins over the
//! declared charset, as it does in browsers and mail clients. [`header_to_utf8`]
//! converts raw 8-bit header bytes: UTF-8 if they are valid UTF-8, else the
//! declared charset, else Latin-1 (windows-1252).
//!
//! ```
//! use filter::decode::charset;
//! use filter::defect::Defects;
//! use std::borrow::Cow;
//!
//! let (text, d) = charset::decode_to_utf8(b"caf\xe9", Some(b"ISO8859-1"));
//! assert_eq!(text, "café");
//! assert!(d.is_empty());
//!
//! let (text, _) = charset::decode_to_utf8(b"plain", Some(b"us-ascii"));
//! assert!(matches!(text, Cow::Borrowed(_)));
//!
//! let (text, _) = charset::decode_to_utf8(b"Hi +AKM-1", Some(b"utf-7"));
//! assert_eq!(text, "Hi £1");
//!
//! let (text, d) = charset::decode_to_utf8(b"x", Some(b"no-such-charset"));
//! assert_eq!(text, "x");
//! assert!(d.contains(Defects::UNKNOWN_CHARSET));
//! ```
//!
//! Deliberate differences from Python's `email` package: Python knows
//! neither the WHATWG labels nor windows-1252 for `iso-8859-1`/`us-ascii`
//! (it decodes bytes 0x80–0x9F as C1 controls, and `us-ascii` 8-bit bytes
//! as errors); like browsers and Thunderbird we use windows-1252 for all of
//! them. A label `utf-16` without a byte order mark is big-endian
//! (RFC 2781), where Python would use the machine's byte order.

use std::borrow::Cow;

use encoding_rs::Encoding;

use crate::defect::Defects;

/// A resolved charset: an `encoding_rs` encoding or UTF-7.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// A charset `encoding_rs` decodes.
    Encoding(&'static Encoding),
    /// UTF-7 (RFC 2152), decoded by this module.
    Utf7,
}

/// Longest label we look at; real labels are far shorter.
const MAX_LABEL: usize = 64;

/// Mail aliases WHATWG lacks, after lower-casing (exact match).
const ALIASES: &[(&str, &str)] = &[
    ("cp-1252", "windows-1252"),
    ("ansi", "windows-1252"),
    ("ascii-us", "windows-1252"),
    ("iso646-us", "windows-1252"),
    ("iso-646-us", "windows-1252"),
    ("csascii", "windows-1252"),
    ("cp367", "windows-1252"),
    ("ibm367", "windows-1252"),
    ("us", "windows-1252"),
    ("iso-ir-6", "windows-1252"),
    ("cp20127", "windows-1252"),
    ("cp28591", "windows-1252"),
    ("8859-1", "windows-1252"),
    ("cp936", "gbk"),
    ("ms936", "gbk"),
    ("windows-936", "gbk"),
    ("gb2312-80", "gbk"),
    ("euc-cn", "gbk"),
    ("euccn", "gbk"),
    ("x-euc-cn", "gbk"),
    ("cn-gb", "gbk"),
    ("gb", "gbk"),
    ("chinesebig5", "big5"),
    ("cp950", "big5"),
    ("ms950", "big5"),
    ("windows-950", "big5"),
    ("big-5", "big5"),
    ("big-five", "big5"),
    ("bigfive", "big5"),
    ("cn-big5", "big5"),
    ("x-x-big5", "big5"),
    ("cp932", "shift_jis"),
    ("ms932", "shift_jis"),
    ("windows-932", "shift_jis"),
    ("shiftjis", "shift_jis"),
    ("shift-jis", "shift_jis"),
    ("sjis", "shift_jis"),
    ("x-ms-cp932", "shift_jis"),
    ("cp949", "euc-kr"),
    ("ms949", "euc-kr"),
    ("uhc", "euc-kr"),
    ("ks_c_5601", "euc-kr"),
    ("ks_c_5601-1989", "euc-kr"),
    ("ksc5601", "euc-kr"),
    ("ksc_5601", "euc-kr"),
    ("ks-c-5601-1987", "euc-kr"),
    ("x-windows-949", "euc-kr"),
    ("hangeul", "euc-kr"),
    ("hangul", "euc-kr"),
    ("cp874", "windows-874"),
    ("ms874", "windows-874"),
    ("tis620", "windows-874"),
    ("tis-620-2533", "windows-874"),
    ("iso-2022-jp-1", "iso-2022-jp"),
    ("iso-2022-jp-2", "iso-2022-jp"),
    ("iso-2022-jp-3", "iso-2022-jp"),
    ("iso-2022-jp-2004", "iso-2022-jp"),
    ("x-euc-jp", "euc-jp"),
    ("eucjp", "euc-jp"),
    ("euckr", "euc-kr"),
    ("koi8r", "koi8-r"),
    ("koi8u", "koi8-u"),
    ("koi8", "koi8-r"),
    ("cp65001", "utf-8"),
    ("utf-8n", "utf-8"),
    ("x-utf-8", "utf-8"),
    ("x-utf8", "utf-8"),
    ("utf_8", "utf-8"),
    ("ucs-2le", "utf-16le"),
    ("ucs-2be", "utf-16be"),
    ("cp1200", "utf-16le"),
    ("cp1201", "utf-16be"),
    ("mac", "macintosh"),
    ("macroman", "macintosh"),
    ("mac-roman", "macintosh"),
    ("x-mac", "macintosh"),
    ("cp10000", "macintosh"),
    ("x-mac-cyrillic", "x-mac-cyrillic"),
    ("mac-cyrillic", "x-mac-cyrillic"),
    ("cp10007", "x-mac-cyrillic"),
    ("latin-1", "windows-1252"),
    ("latin-2", "iso-8859-2"),
    ("latin-9", "iso-8859-15"),
    ("latin9", "iso-8859-15"),
    ("latin-0", "iso-8859-15"),
    ("latin0", "iso-8859-15"),
    ("cyrillic-asian", "koi8-u"),
];

/// Windows font-charset constants (`GB2312_CHARSET`…), without the
/// `_charset` suffix, which Outlook Express-era software wrote as labels.
const FONT_CHARSETS: &[(&str, &str)] = &[
    ("ansi", "windows-1252"),
    ("gb2312", "gbk"),
    ("chinesebig5", "big5"),
    ("shiftjis", "shift_jis"),
    ("hangeul", "euc-kr"),
    ("hangul", "euc-kr"),
    ("easteurope", "windows-1250"),
    ("russian", "windows-1251"),
    ("greek", "windows-1253"),
    ("turkish", "windows-1254"),
    ("hebrew", "windows-1255"),
    ("arabic", "windows-1256"),
    ("baltic", "windows-1257"),
    ("vietnamese", "windows-1258"),
    ("thai", "windows-874"),
    ("mac", "macintosh"),
];

/// Resolves a MIME charset label (case, surrounding whitespace and quotes
/// do not matter) to a [`Charset`], UTF-7 included.
///
/// ```
/// use filter::decode::charset::{self, Charset};
/// assert_eq!(charset::resolve(b"UNICODE-1-1-UTF-7"), Some(Charset::Utf7));
/// assert_eq!(charset::resolve(b" \"cp-1252\" "),
///            Some(Charset::Encoding(encoding_rs::WINDOWS_1252)));
/// assert_eq!(charset::resolve(b"unknown-8bit"), None);
/// ```
pub fn resolve(label: &[u8]) -> Option<Charset> {
    let mut buf = [0u8; MAX_LABEL];
    let norm = normalize(label, &mut buf)?;
    if matches!(
        norm,
        b"utf-7"
            | b"utf7"
            | b"unicode-1-1-utf-7"
            | b"x-unicode-2-0-utf-7"
            | b"csunicode11utf7"
            | b"cp65000"
    ) {
        return Some(Charset::Utf7);
    }
    resolve_encoding(norm).map(Charset::Encoding)
}

/// Resolves a MIME charset label to an `encoding_rs` encoding: the WHATWG
/// labels plus the aliases mail uses. UTF-7 is not an `encoding_rs`
/// encoding: this returns `None` for it; use [`resolve`] to see it.
///
/// ```
/// use filter::decode::charset::lookup;
/// assert_eq!(lookup(b"ks_c_5601-1987"), Some(encoding_rs::EUC_KR));
/// assert_eq!(lookup(b"GB2312_CHARSET"), Some(encoding_rs::GBK));
/// assert_eq!(lookup(b"windows1251"), Some(encoding_rs::WINDOWS_1251));
/// assert_eq!(lookup(b"iso-2022-kr"), None); // no decoder
/// ```
pub fn lookup(label: &[u8]) -> Option<&'static Encoding> {
    match resolve(label)? {
        Charset::Encoding(e) => Some(e),
        Charset::Utf7 => None,
    }
}

/// Trims whitespace and quotes and lower-cases into `buf`.
fn normalize<'b>(label: &[u8], buf: &'b mut [u8; MAX_LABEL]) -> Option<&'b [u8]> {
    let l = label.trim_ascii();
    let l = l.strip_prefix(b"\"").unwrap_or(l);
    let l = l.strip_suffix(b"\"").unwrap_or(l);
    let l = l.strip_prefix(b"'").unwrap_or(l);
    let l = l.strip_suffix(b"'").unwrap_or(l);
    let l = l.trim_ascii();
    if l.is_empty() || l.len() > MAX_LABEL {
        return None;
    }
    let out = &mut buf[..l.len()];
    for (o, &b) in out.iter_mut().zip(l) {
        *o = b.to_ascii_lowercase();
    }
    Some(out)
}

fn resolve_encoding(norm: &[u8]) -> Option<&'static Encoding> {
    if norm == b"utf-16" || norm == b"ucs-2" || norm == b"iso-10646-ucs-2" {
        // RFC 2781: no byte order mark means big-endian.
        return Some(encoding_rs::UTF_16BE);
    }
    if let Some(e) = simple(norm) {
        return Some(e);
    }
    // `gb2312_charset`, `chinesebig5_charset`, …
    if let Some(base) = norm
        .strip_suffix(b"_charset")
        .or_else(|| norm.strip_suffix(b"-charset"))
    {
        for (k, v) in FONT_CHARSETS {
            if base == k.as_bytes() {
                return Encoding::for_label_no_replacement(v.as_bytes());
            }
        }
    }
    if let Some(rest) = norm.strip_prefix(b"x-")
        && let Some(e) = simple(rest)
    {
        return Some(e);
    }
    compact(norm)
}

fn simple(norm: &[u8]) -> Option<&'static Encoding> {
    for (k, v) in ALIASES {
        if norm == k.as_bytes() {
            return Encoding::for_label_no_replacement(v.as_bytes());
        }
    }
    Encoding::for_label_no_replacement(norm)
}

/// Last resort: drop separators and match `iso8859N`, `windowsN`, `cpN`,
/// `winN`, `latinN`, `utf8`, … .
fn compact(norm: &[u8]) -> Option<&'static Encoding> {
    let mut buf = [0u8; MAX_LABEL];
    let mut n = 0;
    for &b in norm {
        if !matches!(b, b'-' | b'_' | b' ' | b'.' | b':') {
            buf[n] = b;
            n += 1;
        }
    }
    let c = &buf[..n];
    let digits = |p: &[u8]| -> Option<u32> {
        let d = c.strip_prefix(p)?;
        if d.is_empty() || d.len() > 5 || !d.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(d.iter().fold(0u32, |a, &b| a * 10 + u32::from(b - b'0')))
    };
    let by_name = |s: String| Encoding::for_label_no_replacement(s.as_bytes());
    if let Some(n) = digits(b"iso8859") {
        return by_name(format!("iso-8859-{n}"));
    }
    if let Some(n) = digits(b"latin") {
        return simple(format!("latin{n}").as_bytes());
    }
    for p in [&b"windows"[..], b"win", b"cp", b"ms", b"ibm", b"ansi"] {
        if let Some(n) = digits(p) {
            return by_name(format!("windows-{n}"))
                .or_else(|| by_name(format!("cp{n}")))
                .or_else(|| simple(format!("cp{n}").as_bytes()));
        }
    }
    match c {
        b"utf8" | b"unicode11utf8" | b"unicode20utf8" => Some(encoding_rs::UTF_8),
        b"utf16" | b"ucs2" => Some(encoding_rs::UTF_16BE),
        b"utf16le" => Some(encoding_rs::UTF_16LE),
        b"utf16be" => Some(encoding_rs::UTF_16BE),
        b"usascii" | b"ascii" | b"ansix341968" => Some(encoding_rs::WINDOWS_1252),
        b"shiftjis" | b"sjis" => Some(encoding_rs::SHIFT_JIS),
        b"eucjp" => Some(encoding_rs::EUC_JP),
        b"euckr" | b"ksc56011987" | b"ksc5601" => Some(encoding_rs::EUC_KR),
        b"euccn" | b"gb2312" | b"gbk" => Some(encoding_rs::GBK),
        b"gb18030" => Some(encoding_rs::GB18030),
        b"big5" | b"big5hkscs" => Some(encoding_rs::BIG5),
        b"iso2022jp" => Some(encoding_rs::ISO_2022_JP),
        b"koi8r" => Some(encoding_rs::KOI8_R),
        b"koi8u" => Some(encoding_rs::KOI8_U),
        b"tis620" => Some(encoding_rs::WINDOWS_874),
        _ => None,
    }
}

/// Converts a text body in `charset` (a MIME charset label, or none) to UTF-8.
///
/// No charset: UTF-8 if valid, else windows-1252. An unknown label:
/// windows-1252, flagged `UNKNOWN_CHARSET`. Bytes not valid in the charset
/// become U+FFFD, flagged `BAD_CHARSET_DATA`. Borrows whenever the input is
/// already its own UTF-8 decoding.
pub fn decode_to_utf8<'a>(bytes: &'a [u8], charset: Option<&[u8]>) -> (Cow<'a, str>, Defects) {
    let Some(label) = charset else {
        return (utf8_or_latin1(bytes), Defects::empty());
    };
    match resolve(label) {
        None => {
            if bytes.is_ascii() {
                return (utf8_lossy(bytes), Defects::UNKNOWN_CHARSET);
            }
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(bytes);
            (text, Defects::UNKNOWN_CHARSET)
        }
        Some(Charset::Utf7) => {
            let (text, bad) = decode_utf7(bytes);
            (text, flag(bad))
        }
        Some(Charset::Encoding(enc)) => decode_with(bytes, enc),
    }
}

/// Decodes with `enc` (byte order mark sniffing included), borrowing ASCII
/// fast when `enc` is ASCII-compatible.
pub fn decode_with<'a>(bytes: &'a [u8], enc: &'static Encoding) -> (Cow<'a, str>, Defects) {
    if enc.is_ascii_compatible() && bytes.is_ascii() {
        return (utf8_lossy(bytes), Defects::empty());
    }
    let (text, _, bad) = enc.decode(bytes);
    (text, flag(bad))
}

fn flag(bad: bool) -> Defects {
    if bad {
        Defects::BAD_CHARSET_DATA
    } else {
        Defects::empty()
    }
}

/// `bytes` as text, invalid UTF-8 replaced as `String::from_utf8_lossy`
/// replaces it. Checking first is faster for the usual valid text:
/// `str::from_utf8` checks ASCII a word at a time, `from_utf8_lossy` a
/// byte at a time.
pub(crate) fn utf8_lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// UTF-8 if valid (byte order mark removed), else windows-1252.
fn utf8_or_latin1(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        return utf8_lossy(bytes);
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s.strip_prefix('\u{feff}').unwrap_or(s)),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0,
    }
}

/// Converts raw header bytes to UTF-8: UTF-8 if valid, else the declared
/// charset (when it decodes the bytes without error), else Latin-1
/// (windows-1252, which maps every byte).
///
/// ```
/// use filter::decode::charset::header_to_utf8;
/// assert_eq!(header_to_utf8("né".as_bytes(), Some(b"koi8-r")), "né");
/// assert_eq!(header_to_utf8(b"\xcf\xd2", Some(b"koi8-r")), "ор");
/// assert_eq!(header_to_utf8(b"caf\xe9", None), "café");
/// ```
pub fn header_to_utf8<'a>(bytes: &'a [u8], declared: Option<&[u8]>) -> Cow<'a, str> {
    if bytes.is_ascii() {
        return utf8_lossy(bytes);
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    if let Some(Charset::Encoding(enc)) = declared.and_then(resolve)
        && enc.is_ascii_compatible()
        && enc != encoding_rs::UTF_8
        && let Some(text) = enc.decode_without_bom_handling_and_without_replacement(bytes)
    {
        return text;
    }
    encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(bytes)
        .0
}

/// Value of a base64 digit (the standard alphabet; no padding). UTF-7 and
/// RFC 2047 B-words both use it.
pub(crate) fn b64(b: u8) -> Option<u32> {
    Some(match b {
        b'A'..=b'Z' => b - b'A',
        b'a'..=b'z' => b - b'a' + 26,
        b'0'..=b'9' => b - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// Decodes UTF-7 (RFC 2152). Returns the text and whether anything was
/// malformed (8-bit bytes, bad shift sequences, lone surrogates, non-zero
/// trailing bits); malformed pieces become U+FFFD.
///
/// ```
/// use filter::decode::charset::decode_utf7;
/// assert_eq!(decode_utf7(b"A+ImIDkQ.").0, "A\u{2262}\u{391}.");
/// assert_eq!(decode_utf7(b"1 +- 1").0, "1 + 1");
/// assert_eq!(decode_utf7(b"+2D3eAQ-"), ("\u{1f601}".into(), false));
/// ```
pub fn decode_utf7(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    if bytes.is_ascii() && memchr::memchr(b'+', bytes).is_none() {
        return (utf8_lossy(bytes), false);
    }
    let mut out = String::with_capacity(bytes.len());
    let mut bad = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'+' {
            i += 1;
            if bytes.get(i) == Some(&b'-') {
                out.push('+');
                i += 1;
                continue;
            }
            let start = i;
            let mut bits: u32 = 0;
            let mut nbits = 0u32;
            let mut high: Option<u32> = None;
            while let Some(v) = bytes.get(i).and_then(|&c| b64(c)) {
                bits = (bits << 6) | v;
                nbits += 6;
                if nbits >= 16 {
                    nbits -= 16;
                    let unit = (bits >> nbits) & 0xFFFF;
                    bits &= (1 << nbits) - 1;
                    push_unit(&mut out, &mut high, unit, &mut bad);
                }
                i += 1;
            }
            if high.take().is_some() {
                out.push('\u{FFFD}');
                bad = true;
            }
            if nbits >= 6 || bits != 0 {
                bad = true;
            }
            if i == start && bytes.get(i) != Some(&b'-') {
                // `+` not followed by base64: keep it literally.
                out.push('+');
                bad = true;
            }
            if bytes.get(i) == Some(&b'-') {
                i += 1;
            }
        } else if b < 0x80 {
            out.push(b as char);
            i += 1;
        } else {
            out.push('\u{FFFD}');
            bad = true;
            i += 1;
        }
    }
    (Cow::Owned(out), bad)
}

fn push_unit(out: &mut String, high: &mut Option<u32>, unit: u32, bad: &mut bool) {
    match unit {
        0xD800..=0xDBFF => {
            if high.replace(unit).is_some() {
                out.push('\u{FFFD}');
                *bad = true;
            }
        }
        0xDC00..=0xDFFF => match high.take() {
            Some(h) => {
                let c = 0x10000 + ((h - 0xD800) << 10) + (unit - 0xDC00);
                out.push(char::from_u32(c).unwrap_or('\u{FFFD}'));
            }
            None => {
                out.push('\u{FFFD}');
                *bad = true;
            }
        },
        _ => {
            if high.take().is_some() {
                out.push('\u{FFFD}');
                *bad = true;
            }
            out.push(char::from_u32(unit).unwrap_or('\u{FFFD}'));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn corpus_labels_resolve() {
        let labels: &[&str] = &[
            "us-ascii",
            "iso-8859-1",
            "windows-1252",
            "iso-8859-15",
            "big5",
            "utf-8",
            "gb2312",
            "iso-8859-2",
            "windows-1251",
            "ks_c_5601-1987",
            "koi8-r",
            "iso-2022-jp",
            "windows-1254",
            "iso-8859-9",
            "euc-kr",
            "windows-1256",
            "unicode",
            "iso-8859-3",
            "gb2312_charset",
            "chinesebig5",
            "windows-1258",
            "iso8859-1",
            "unicode-1-1-utf-7",
            "utf-7",
            "shift_jis",
            "utf-16",
            "utf-16le",
            "utf-16be",
            "windows-1250",
            "utf8",
            "iso-8859-8",
            "euc-jp",
            "gbk",
            "x-mac-roman",
            "macintosh",
            "cp1252",
            "cp-1252",
            "windows1252",
            "latin1",
            "ascii",
            "ansi_x3.4-1968",
            "x-sjis",
            "unicode-1-1-utf-8",
            "x-gbk",
            "cp936",
            "big5-hkscs",
            "tis-620",
            "x-user-defined",
            "ISO_8859-1",
            "iso_8859_1",
            "latin-1",
            "cp932",
            "cp949",
            "cp950",
            "cp874",
            "windows-874",
            "WIN-1251",
            "iso 8859-2",
            "cp866",
            "x-windows-1252",
            "latin9",
            "utf_8",
            "koi8u",
        ];
        for l in labels {
            assert!(resolve(l.as_bytes()).is_some(), "{l}");
        }
        for l in [
            "default",
            "default_charset",
            "unknown-8bit",
            "x-unknown",
            "",
            "uft-8",
            "iso-2022-kr",
        ] {
            assert!(resolve(l.as_bytes()).is_none(), "{l}");
        }
        assert_eq!(lookup(b"iso8859-15"), Some(encoding_rs::ISO_8859_15));
        assert_eq!(lookup(b"cp936"), Some(encoding_rs::GBK));
        assert_eq!(lookup(b"utf-16"), Some(encoding_rs::UTF_16BE));
        assert_eq!(lookup(b"utf-7"), None);
        assert_eq!(lookup(b"chinesebig5"), Some(encoding_rs::BIG5));
        assert_eq!(lookup(b"win1250"), Some(encoding_rs::WINDOWS_1250));
        assert_eq!(lookup(b"cp874"), Some(encoding_rs::WINDOWS_874));
        assert_eq!(lookup(&[b'a'; 200]), None);
    }

    #[test]
    fn bodies() {
        let (t, d) = decode_to_utf8(b"abc", None);
        assert!(matches!(t, Cow::Borrowed("abc")) && d.is_empty());
        let (t, _) = decode_to_utf8("é".as_bytes(), None);
        assert!(matches!(t, Cow::Borrowed("é")));
        let (t, _) = decode_to_utf8(b"\x80", None);
        assert_eq!(t, "€");
        let (t, d) = decode_to_utf8(b"\xff", Some(b"utf-8"));
        assert_eq!(t, "\u{fffd}");
        assert_eq!(d, Defects::BAD_CHARSET_DATA);
        let (t, d) = decode_to_utf8(b"\xe9", Some(b"bogus"));
        assert_eq!(t, "é");
        assert_eq!(d, Defects::UNKNOWN_CHARSET);
        let (t, _) = decode_to_utf8(b"\x1b$B$\"\x1b(B", Some(b"iso-2022-jp"));
        assert_eq!(t, "あ");
        let (t, _) = decode_to_utf8(b"\x00a", Some(b"utf-16"));
        assert_eq!(t, "a");
        let (t, _) = decode_to_utf8(b"\xff\xfea\x00", Some(b"utf-16"));
        assert_eq!(t, "a");
        let (t, _) = decode_to_utf8(b"\xb0\xa1", Some(b"gb2312_charset"));
        assert_eq!(t, "啊");
    }

    #[test]
    fn utf7() {
        assert_eq!(decode_utf7(b"Hi Mom -+Jjo--!").0, "Hi Mom -\u{263a}-!");
        assert_eq!(decode_utf7(b"+ZeVnLIqe-"), ("日本語".into(), false));
        assert!(decode_utf7(b"a+b").1); // truncated bits
        assert_eq!(decode_utf7(b"+ ").0, "+ ");
        assert!(decode_utf7(b"+ ").1);
        assert_eq!(decode_utf7(b"+2D0-").0, "\u{fffd}"); // lone high surrogate
        assert_eq!(decode_utf7(b"\xe9").0, "\u{fffd}");
        let (t, d) = decode_to_utf8(b"+AOk-t+AOk-", Some(b"unicode-1-1-utf-7"));
        assert_eq!((t.as_ref(), d), ("été", Defects::empty()));
    }

    #[test]
    fn headers() {
        assert!(matches!(
            header_to_utf8(b"x", Some(b"utf-16")),
            Cow::Borrowed("x")
        ));
        assert_eq!(header_to_utf8(b"\x82\xa0", Some(b"shift_jis")), "あ");
        // Invalid in the declared charset: Latin-1.
        assert_eq!(header_to_utf8(b"\xe9", Some(b"shift_jis")), "é");
        assert_eq!(header_to_utf8(b"\xe9", Some(b"utf-7")), "é");
    }

    /// A naive UTF-7 encoder, for the round trip.
    fn encode_utf7(s: &str) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        let mut units: Vec<u16> = Vec::new();
        let flush = |units: &mut Vec<u16>, out: &mut String| {
            if units.is_empty() {
                return;
            }
            out.push('+');
            let mut bits = 0u32;
            let mut n = 0;
            for &u in units.iter() {
                bits = (bits << 16) | u32::from(u);
                n += 16;
                while n >= 6 {
                    n -= 6;
                    out.push(A[((bits >> n) & 63) as usize] as char);
                }
                bits &= (1 << n) - 1;
            }
            if n > 0 {
                out.push(A[((bits << (6 - n)) & 63) as usize] as char);
            }
            out.push('-');
            units.clear();
        };
        for c in s.chars() {
            if c.is_ascii() && c != '+' && c != '-' {
                flush(&mut units, &mut out);
                out.push(c);
            } else if c == '+' {
                flush(&mut units, &mut out);
                out.push_str("+-");
            } else {
                let mut b = [0u16; 2];
                units.extend_from_slice(c.encode_utf16(&mut b));
            }
        }
        flush(&mut units, &mut out);
        out
    }

    proptest! {
        #[test]
        fn utf7_round_trip(s in "\\PC*") {
            let e = encode_utf7(&s);
            let (d, bad) = decode_utf7(e.as_bytes());
            prop_assert_eq!(d.as_ref(), s.as_str());
            prop_assert!(!bad);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200),
                        label in "[a-zA-Z0-9_ -]{0,20}") {
            let _ = decode_to_utf8(&bytes, Some(label.as_bytes()));
            let _ = decode_to_utf8(&bytes, Some(b"utf-7"));
            let _ = decode_to_utf8(&bytes, None);
            let _ = header_to_utf8(&bytes, Some(label.as_bytes()));
            let _ = resolve(&bytes);
        }

        #[test]
        fn utf8_borrows(s in "\\PC*") {
            let (t, d) = decode_to_utf8(s.as_bytes(), Some(b"utf-8"));
            prop_assert!(matches!(t, Cow::Borrowed(_)));
            prop_assert!(d.is_empty());
            let h = header_to_utf8(s.as_bytes(), Some(b"koi8-r"));
            prop_assert!(matches!(h, Cow::Borrowed(x) if x == s));
        }

        #[test]
        fn latin1_oracle(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            // ISO-8859-15 differs from Latin-1 in eight places only.
            // A byte order mark would win over the label: start with `x`.
            let mut bytes = bytes;
            bytes.insert(0, b'x');
            let (t, _) = decode_to_utf8(&bytes, Some(b"iso8859_15"));
            let naive: String = bytes.iter().map(|&b| match b {
                0xA4 => '€', 0xA6 => 'Š', 0xA8 => 'š', 0xB4 => 'Ž', 0xB8 => 'ž',
                0xBC => 'Œ', 0xBD => 'œ', 0xBE => 'Ÿ', _ => b as char,
            }).collect();
            prop_assert_eq!(t.as_ref(), naive.as_str());
        }
    }
}
