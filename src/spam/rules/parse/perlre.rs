//! Splitting a rule's `/pattern/flags` the way SpamAssassin's
//! `Util::compile_regexp` does before it hands the inner text to Perl.
//!
//! Accepted forms: `/.../`, `m` or `qr` followed by a bracket (`{}`, `()`,
//! `<>`, `[]`) or by any other non-word character except a backslash. The
//! closing delimiter must be followed only by modifier letters (`a`–`z`
//! without `e`), and Perl must accept those letters as inline modifiers. An
//! unescaped closing delimiter inside a non-bracket pattern is an error, as is
//! an embedded-code block `(?{...})`.
//!
//! SpamAssassin never lets Perl's lexer see the delimiters: the pattern between
//! them is compiled from a string, so `\/` stays a backslash-escaped slash,
//! which Perl matches as `/`. We unescape an escaped delimiter only where that
//! is exactly equivalent in a Perl pattern (the delimiter is punctuation that
//! is never a metacharacter, and `#` only without `x`), so the pattern the
//! compiler sees is simpler but means the same.

use crate::spam::rules::ast::PerlRe;

/// Why a delimited regex was refused (the texts follow SpamAssassin's).
pub(super) fn split(text: &str) -> Result<PerlRe, String> {
    let (body, close, open) = if let Some(rest) = text.strip_prefix('/') {
        (rest, '/', '/')
    } else {
        let rest = text
            .strip_prefix("qr")
            .or_else(|| text.strip_prefix('m'))
            .ok_or_else(|| "missing regexp delimiters".to_string())?;
        let mut chars = rest.chars();
        let open = chars
            .next()
            .ok_or_else(|| "missing regexp delimiters".to_string())?;
        let close = match open {
            '{' => '}',
            '(' => ')',
            '<' => '>',
            '[' => ']',
            '\\' => return Err("backslash delimiter not allowed".into()),
            c if is_perl_word(c) => return Err("missing regexp delimiters".into()),
            c => c,
        };
        (chars.as_str(), close, open)
    };

    // The closing delimiter followed by modifier letters only, at the end.
    let mods_len = body
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_lowercase() && *c != 'e')
        .map(char::len_utf8)
        .sum::<usize>();
    let before_mods = &body[..body.len() - mods_len];
    let flags = &body[body.len() - mods_len..];
    let Some(pattern) = before_mods.strip_suffix(close) else {
        return Err("invalid end delimiter/mods".into());
    };

    if contains_code_block(pattern) {
        return Err("eval (?{}) found".into());
    }
    if !matches!(close, '}' | ')' | ']') && has_unescaped(pattern, close) {
        return Err(format!("unquoted delimiter '{close}' found"));
    }
    check_mods(flags)?;
    check_groups(pattern, flags.contains('x'))?;

    let pattern = if unescape_safe(open, close, flags) {
        unescape_delims(pattern, open, close)
    } else {
        pattern.to_string()
    };
    Ok(PerlRe {
        pattern,
        flags: flags.to_string(),
    })
}

/// Perl's `\w` for a delimiter: letters, digits, `_` (Unicode aware).
fn is_perl_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `(?{` or `(??{`.
fn contains_code_block(p: &str) -> bool {
    p.contains("(?{") || p.contains("(??{")
}

/// SpamAssassin's check: drop every `\\` pair, then look for the delimiter
/// not preceded by a backslash.
fn has_unescaped(pattern: &str, delim: char) -> bool {
    let stripped = pattern.replace("\\\\", "");
    let mut prev = None;
    for c in stripped.chars() {
        if c == delim && prev != Some('\\') {
            return true;
        }
        prev = Some(c);
    }
    false
}

/// Perl compiles `(?FLAGS)pattern`: these are the letters it accepts there
/// without an error or a (fatal, in SpamAssassin) warning.
fn check_mods(flags: &str) -> Result<(), String> {
    let mut charset = None;
    let mut a_count = 0;
    for c in flags.chars() {
        match c {
            'i' | 'm' | 's' | 'x' | 'n' | 'p' => {}
            'a' => {
                a_count += 1;
                if a_count > 2 {
                    return Err("regexp modifier \"a\" may appear a maximum of twice".into());
                }
                if matches!(charset, Some(o) if o != 'a') {
                    return Err("regexp modifiers are mutually exclusive".into());
                }
                charset = Some('a');
            }
            'd' | 'l' | 'u' => {
                if charset.is_some() {
                    return Err("regexp modifiers are mutually exclusive".into());
                }
                charset = Some(c);
            }
            'c' | 'g' | 'o' => return Err(format!("useless (?{c}) modifier")),
            _ => return Err(format!("sequence (?{c}...) not recognized")),
        }
    }
    Ok(())
}

/// The one Perl compile error we look for: unbalanced parentheses or an
/// unterminated character class (the usual result of a stray delimiter
/// inside a bracket-delimited pattern). Escapes, classes, `(?#...)` and
/// `x`-mode comments are skipped; a pattern that turns `x` on inline is not
/// checked at all rather than risk refusing a valid one.
fn check_groups(p: &str, x: bool) -> Result<(), String> {
    let b = p.as_bytes();
    let inline_x = p.match_indices("(?").any(|(i, _)| {
        b[i + 2..]
            .iter()
            .take_while(|c| c.is_ascii_alphabetic() || **c == b'^' || **c == b'-')
            .any(|c| *c == b'x')
    });
    if inline_x {
        return Ok(());
    }
    let find = |from: usize, needle: &[u8]| {
        b.get(from..)
            .and_then(|rest| rest.windows(needle.len()).position(|w| w == needle))
            .map(|k| from + k)
    };
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => {
                let mut j = i + 1;
                if b.get(j) == Some(&b'^') {
                    j += 1;
                }
                if b.get(j) == Some(&b']') {
                    j += 1;
                }
                loop {
                    match b.get(j) {
                        None => return Err("unmatched [ in regex".into()),
                        Some(b'\\') => j += 2,
                        Some(b'[') if matches!(b.get(j + 1), Some(b':' | b'.' | b'=')) => {
                            j = find(j + 2, &[b[j + 1], b']']).map_or(j + 1, |k| k + 2);
                        }
                        Some(b']') => break,
                        Some(_) => j += 1,
                    }
                }
                i = j;
            }
            b'(' if b[i + 1..].starts_with(b"?#") => match find(i + 3, b")") {
                Some(k) => i = k,
                None => return Err("sequence (?#... not terminated".into()),
            },
            b'(' => depth += 1,
            b')' => {
                if depth == 0 {
                    return Err("unmatched ) in regex".into());
                }
                depth -= 1;
            }
            b'#' if x => match find(i, b"\n") {
                Some(k) => i = k,
                None => break,
            },
            _ => {}
        }
        i += 1;
    }
    if depth == 0 {
        Ok(())
    } else {
        Err("unmatched ( in regex".into())
    }
}

/// Delimiters whose escaped and plain forms mean the same in a Perl pattern.
fn unescape_safe(open: char, close: char, flags: &str) -> bool {
    let safe = |c: char| {
        matches!(
            c,
            '/' | '!'
                | ','
                | '@'
                | '%'
                | '"'
                | '\''
                | '~'
                | '<'
                | '>'
                | ':'
                | ';'
                | '='
                | '&'
                | '`'
        ) || (c == '#' && !flags.contains('x'))
    };
    safe(open) && safe(close)
}

/// `\D` → `D` for the delimiters, where the backslash really escapes `D`.
fn unescape_delims(pattern: &str, open: char, close: char) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n) if n == open || n == close => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(t: &str) -> (String, String) {
        let r = split(t).unwrap();
        (r.pattern, r.flags)
    }

    #[test]
    fn forms() {
        assert_eq!(ok("/a\\/b/i"), ("a/b".into(), "i".into()));
        assert_eq!(ok("m{a}b}"), ("a}b".into(), String::new()));
        assert_eq!(ok("m{a\\}b}"), ("a\\}b".into(), String::new()));
        assert_eq!(ok("m!a\\!b!s"), ("a!b".into(), "s".into()));
        assert_eq!(ok("m|a\\|b|"), ("a\\|b".into(), String::new()));
        assert_eq!(ok("qr<a\\>b>"), ("a>b".into(), String::new()));
        assert_eq!(ok("m#a\\#b#x"), ("a\\#b".into(), "x".into()));
        assert_eq!(ok("/a\\\\/"), ("a\\\\".into(), String::new()));
    }

    #[test]
    fn refusals() {
        assert!(split("abc").is_err());
        assert!(split("/abc").is_err());
        assert!(split("/a/b/").is_err());
        assert!(split("/a\\\\/b/").is_err());
        assert!(split("/abc/e").is_err());
        assert!(split("/abc/g").is_err());
        assert!(split("/abc/ul").is_err());
        assert!(split("m\\abc\\").is_err());
        assert!(split("mxabcx").is_err());
        assert!(split("/(?{ 1 })/").is_err());
        assert!(split("m").is_err());
        assert!(split("/").is_err());
        assert!(split("m(a)b)").is_err());
        assert!(split("/(a/").is_err());
        assert!(split("/[a/").is_err());
        assert!(split("/a)/").is_err());
    }

    #[test]
    fn groups_that_look_unbalanced_but_are_not() {
        for ok in [
            "/[(]/",
            "/\\(/",
            "/[]()]/",
            "/[^]()]/",
            "/[[:alpha:])]/",
            "/(?#( comment)x/",
            "/a # (/x",
            "/(?x) a # (/",
            "/(?<n>a)(?:b)(?=c)(?!d)(?<=e)/",
        ] {
            assert!(split(ok).is_ok(), "{ok}");
        }
    }
}
