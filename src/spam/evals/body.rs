//! SpamAssassin's body-text eval tests (BodyEval, and MIMEEval's
//! uppercase test): they read the rendered body lines of
//! [`crate::spam::Features`], or the raw message for sizes.
//!
//! Tests that depend on a configured language or locale list
//! (`check_body_8bits`, `check_language`) follow SpamAssassin's defaults,
//! `ok_languages all` and `ok_locales all`, under which they never hit.
//!
//! ```
//! use filter::mime::Message;
//! use filter::spam::Features;
//! use filter::spam::evals::{Args, EvalCtx, lookup};
//!
//! let raw = b"Subject: x\r\n\r\nhi\r\n";
//! let msg = Message::parse(raw);
//! let mut features = Features::default();
//! features.body.push(b"x");
//! features.body.push(b"w  o  r  d  s");
//! let ctx = EvalCtx::new(&msg, &features);
//! // The raw body is 4 bytes.
//! assert!(lookup("check_body_length").unwrap()(&ctx, &Args::new(vec!["128".into()])));
//! // A line with more spaces than letters.
//! assert!(lookup("tvd_vertical_words").unwrap()(&ctx, &Args::new(vec!["100".into(), "101".into()])));
//! ```

use super::header::{arg_f, likely_caps_charset};
use super::{Args, EvalCtx};
use crate::decode::charset;
use crate::mime::{Decoder, Origin, PartKind};

/// `check_bayes(min, max)`: the Bayes probability is in `[min, max)`, or
/// is 1 and `max` is 1 (SpamAssassin's ranges: BAYES_99 is 0.99 to 1.00).
/// False when the engine has no Bayes model.
pub fn check_bayes(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(p), Some(min), Some(max)) = (ctx.features.bayes, arg_f(args, 0), arg_f(args, 1))
    else {
        return false;
    };
    p >= min && (p < max || (max >= 1.0 && p >= 1.0))
}

/// `check_body_length(MAX)`: the raw body (after the header) is at most
/// MAX bytes.
pub fn check_body_length(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let Some(max) = arg_f(args, 0) else {
        return false;
    };
    let root = ctx.msg.root();
    let len = ctx
        .msg
        .input()
        .len()
        .saturating_sub(root.body.start.min(ctx.msg.input().len()));
    len as f64 <= max
}

/// Charsets the uppercase test distrusts: the top-level Content-Type's and
/// every part's.
fn charset_likely_caps(ctx: &EvalCtx<'_, '_>) -> bool {
    ctx.msg.walk().any(|(_, p)| {
        p.charset.as_ref().is_some_and(|c| {
            let c = String::from_utf8_lossy(c);
            c.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && likely_caps_charset(&c)
        })
    })
}

/// The share (percent) of capitals among letters and digits in body lines
/// with at least two words, or 0 when under 200 characters were counted.
fn uppercase(ctx: &EvalCtx<'_, '_>) -> f64 {
    *ctx.memo.uppercase.get_or_init(|| uppercase_uncached(ctx))
}

fn uppercase_uncached(ctx: &EvalCtx<'_, '_>) -> f64 {
    if charset_likely_caps(ctx) {
        return 0.0;
    }
    let (mut len, mut lower, mut upper) = (0usize, 0usize, 0usize);
    for line in ctx.features.body.iter() {
        // Most lines are ASCII without escapes: there the checks below
        // read bytes, without validating UTF-8, trimming Unicode white
        // space or walking chars (the same counts).
        if line.is_ascii() && !line.contains(&0x1b) {
            if !has_two_words_ascii(line) || looks_base64_pair(line) {
                continue;
            }
            len += line.len();
            let (l, u) = count_cases(line);
            lower += l;
            upper += u;
            continue;
        }
        let s = String::from_utf8_lossy(line);
        if !has_two_words(&s) || looks_base64_pair(s.as_bytes()) {
            continue;
        }
        let s = strip_iso2022(&s);
        // Bytes, as SpamAssassin counts its UTF-8 body lines; the letters
        // and digits counted are ASCII, so bytes serve for them too.
        len += s.len();
        let (l, u) = count_cases(s.as_bytes());
        lower += l;
        upper += u;
    }
    if len < 200 || upper + lower == 0 {
        return 0.0;
    }
    upper as f64 / (upper + lower) as f64 * 100.0
}

/// ASCII lowercase letters and digits, and capitals, in `b`.
fn count_cases(b: &[u8]) -> (usize, usize) {
    b.iter().fold((0, 0), |(l, u), &c| {
        (
            l + usize::from(c.is_ascii_lowercase() || c.is_ascii_digit()),
            u + usize::from(c.is_ascii_uppercase()),
        )
    })
}

/// [`has_two_words`] of an ASCII line: the same whitespace (Unicode's,
/// which for ASCII is tab to carriage return and space).
fn has_two_words_ascii(b: &[u8]) -> bool {
    let ws = |c: &u8| matches!(c, b'\t'..=b'\r' | b' ');
    match (
        b.iter().position(|c| !ws(c)),
        b.iter().rposition(|c| !ws(c)),
    ) {
        (Some(s), Some(e)) => b[s..=e].iter().any(ws),
        _ => false,
    }
}

/// `\S\s+\S`.
fn has_two_words(s: &str) -> bool {
    let t = s.trim();
    t.contains(char::is_whitespace)
}

/// `^(?:[A-Za-z0-9+/=]{60,76} ){2}`: two base64 lines joined.
fn looks_base64_pair(s: &[u8]) -> bool {
    let mut rest = s;
    for _ in 0..2 {
        let n = rest
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            .count();
        if !(60..=76).contains(&n) || rest.get(n) != Some(&b' ') {
            return false;
        }
        rest = &rest[n + 1..];
    }
    true
}

/// Removes ISO-2022-JP escape sequences `ESC $ B … ESC ( B`.
fn strip_iso2022(s: &str) -> std::borrow::Cow<'_, str> {
    let Some(a) = s.find("\x1b$B") else {
        return s.into();
    };
    match s.rfind("\x1b(B") {
        Some(b) if b > a => format!("{}{}", &s[..a], &s[b + 3..]).into(),
        _ => s.into(),
    }
}

/// `check_for_uppercase(MIN, MAX)`: capitals make more than MIN and at
/// most MAX percent of the body's letters and digits (200 characters at
/// least; Asian and Cyrillic charsets exempt).
pub fn check_for_uppercase(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(min), Some(max)) = (arg_f(args, 0), arg_f(args, 1)) else {
        return false;
    };
    let u = uppercase(ctx);
    u > min && u <= max
}

/// `check_blank_line_ratio(MIN, MAX, MINLINES)`: blank lines make more
/// than MIN (or, MIN being 0, at least 0) and at most MAX percent of the
/// decoded text lines; fewer than MINLINES lines give -1.
pub fn check_blank_line_ratio(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(min), Some(max)) = (arg_f(args, 0), arg_f(args, 1)) else {
        return false;
    };
    let minlines = arg_f(args, 2).filter(|&m| m >= 1.0).unwrap_or(1.0);
    let n = ctx.features.rawbody.len();
    let blank = ctx
        .features
        .rawbody
        .iter()
        .filter(|l| l.iter().all(u8::is_ascii_whitespace))
        .count();
    let ratio = if (n as f64) < minlines {
        -1.0
    } else {
        100.0 * blank as f64 / n as f64
    };
    (min == 0.0 || ratio > min) && ratio <= max
}

/// `tvd_vertical_words(MIN, MAX)`: the most space-filled body line (spaces
/// per non-space, percent, 100 when spaces win) is in `[MIN, MAX)`.
pub fn tvd_vertical_words(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(min), Some(mut max)) = (arg_f(args, 0), arg_f(args, 1)) else {
        return false;
    };
    if max >= 100.0 {
        max = 101.0;
    }
    let mut best = -1i64;
    // Lengths in bytes of UTF-8, as SpamAssassin measures its body lines.
    for (line, len) in ctx.features.body.iter_sa() {
        if len <= 5 {
            continue;
        }
        let spaces = line.iter().filter(|&&c| c == b' ').count();
        let non = len - spaces;
        let pct = if spaces > non || non == 0 {
            100
        } else {
            (100 * spaces / non) as i64
        };
        best = best.max(pct);
    }
    (best as f64) >= min && (best as f64) < max
}

/// `check_stock_info(MIN)`: the first text/plain part has MIN or more
/// distinct stock-tip labels (`Symbol:`, `Target price:`, ...).
pub fn check_stock_info(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let Some(min) = arg_f(args, 0) else {
        return false;
    };
    let Some((_, part)) = ctx.msg.walk().find(|(_, p)| {
        !p.alternate
            && p.origin == Origin::Mime
            && p.kind == PartKind::Leaf
            && p.is("text", "plain")
    }) else {
        return min == 0.0;
    };
    let mut buf = Vec::new();
    Decoder::new(&ctx.features.limits).decode(ctx.msg, part, &mut buf);
    let text = charset::decode_to_utf8(&buf, part.charset.as_deref()).0;
    let mut hits: Vec<String> = Vec::new();
    for line in text.lines() {
        let t = line.trim_start();
        let Some(colon) = t.find(':') else { continue };
        let label = t[..colon].trim_end();
        let after = t[colon + 1..].trim_start();
        let n = label.chars().count();
        if !(3..=30).contains(&n) || after.is_empty() {
            continue;
        }
        let s: String = label
            .to_lowercase()
            .chars()
            .filter(char::is_ascii_lowercase)
            .collect();
        if let Some(k) = stock_label(&s)
            && !hits.contains(&k)
        {
            hits.push(k);
        }
    }
    min == 0.0 || hits.len() as f64 >= min
}

/// The stock-tip label that `s` (letters only, lower case) ends with, if
/// any: that is what is counted.
fn stock_label(s: &str) -> Option<String> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(^trad(?:e|ing)date|company(?:name)?|s\w?(?:t\w?o\w?c\w?k|y\w?m(?:\w?b\w?o\w?l)?)|t(?:arget|icker)|(?:opening|current)p(?:rice)?|p(?:rojected|osition)|expectations|weeks?high|marketperformance|(?:year|week|month|day|price)(?:target|estimates?)|sector|r(?:ecommendation|ating))$",
        )
        .expect("static regex")
    });
    RE.captures(s).map(|c| c[1].to_string())
}

/// `check_body_8bits`: false under SpamAssassin's default `ok_languages
/// all` (the TextCat plugin is not loaded by default either).
pub fn check_body_8bits(_: &EvalCtx<'_, '_>, _: &Args) -> bool {
    false
}

/// `check_language`: false under the default `ok_languages all`.
pub fn check_language(_: &EvalCtx<'_, '_>, _: &Args) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The byte check of an ASCII line agrees with the UTF-8 one
        /// (vertical tab and form feed among the whitespace).
        #[test]
        fn ascii_checks_agree(line in "[ \t\x0b\x0c\r\naB1+/=.]{0,200}") {
            prop_assert_eq!(has_two_words_ascii(line.as_bytes()), has_two_words(&line));
        }
    }
}
