//! Uuencode, including its `begin-base64` cousin.
//!
//! A uuencoded file is a `begin MODE NAME` line, data lines, and an `end`
//! line. Each data line starts with a length character (`' ' + n`, with
//! `` ` `` commonly standing for zero) and carries `n` bytes as `4·⌈n/3⌉`
//! characters from `' '` to `` ` ``, six bits each. Decades of mail
//! gateways have mangled it: trailing spaces stripped, length characters
//! that disagree with the line, CRLF turned to LF or CR, text pasted before
//! `begin`. Clients decode through all of that, so this decoder does too:
//!
//! * Lines before the `begin` line (blank lines, a covering note) are
//!   skipped silently. With no `begin` line at all, lines are decoded from
//!   the start and [`Defects::BAD_UUENCODE`] is flagged.
//! * A data line yields as many bytes as its length character says. If the
//!   line is short of characters (usually trailing spaces, i.e. zero
//!   sextets, stripped in transit) the missing ones count as zero; if it has
//!   more than one character too many (one extra is an old checksum
//!   character) the excess is ignored. Either way it flags `BAD_UUENCODE`.
//! * A line holding a character outside `' '..=` `` ` `` cannot be uuencode
//!   (no lowercase letter can, for example). It is skipped and flagged.
//!   Blank lines are skipped silently (a stripped `" "` zero-length line).
//! * Decoding stops at the `end` line. Everything after it is ignored. A
//!   missing `end` flags `BAD_UUENCODE` and [`Defects::TRUNCATED`].
//! * `begin-base64 MODE NAME` (the POSIX `uuencode -m` format) is base64,
//!   not uuencode: its lines up to `====` are handed to
//!   [`crate::decode::base64::decode`], whose defects are passed on. A
//!   missing `====` flags `BAD_UUENCODE` and `TRUNCATED`.
//!
//! Lines may end in LF, CRLF or a bare CR. Output stops at `limit` bytes,
//! flagging [`Defects::DECODED_SIZE_LIMIT`].
//!
//! ```
//! use filter::decode::uu;
//!
//! let text = b"Here you go:\r\n\r\nbegin 644 hi.txt\r\n&:&5L;&\\*\r\n`\r\nend\r\n";
//! let mut out = Vec::new();
//! let d = uu::decode(text, &mut out, usize::MAX);
//! assert_eq!(out, b"hello\n");
//! assert!(d.is_empty());
//!
//! let begin = uu::parse_begin(b"begin 644 hi.txt").unwrap();
//! assert_eq!(&b"begin 644 hi.txt"[begin.name], b"hi.txt");
//! ```

use core::ops::Range;

use crate::decode::inline::next_line;
use crate::defect::Defects;

/// A parsed `begin` line; ranges index the line given to [`parse_begin`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UuBegin {
    /// The octal mode digits.
    pub mode: Range<usize>,
    /// The file name: the rest of the line, without trailing whitespace.
    /// Empty when the line names no file.
    pub name: Range<usize>,
    /// True for `begin-base64` (base64 data up to a `====` line).
    pub base64: bool,
}

/// Parses a `begin MODE NAME` or `begin-base64 MODE NAME` line (without its
/// line ending). `MODE` is one to four octal digits; `NAME` may be missing.
pub fn parse_begin(line: &[u8]) -> Option<UuBegin> {
    let (base64, mut i) = if line.starts_with(b"begin-base64") {
        (true, 12)
    } else if line.starts_with(b"begin") {
        (false, 5)
    } else {
        return None;
    };
    let blank = |c: u8| c == b' ' || c == b'\t';
    if !line.get(i).copied().is_some_and(blank) {
        return None;
    }
    while line.get(i).copied().is_some_and(blank) {
        i += 1;
    }
    let m = i;
    while line.get(i).is_some_and(|c| (b'0'..=b'7').contains(c)) {
        i += 1;
    }
    if i == m || i - m > 4 {
        return None;
    }
    let mode = m..i;
    let rest_ok = match line.get(i) {
        None => true,
        Some(&c) => blank(c),
    };
    if !rest_ok {
        return None;
    }
    while line.get(i).copied().is_some_and(blank) {
        i += 1;
    }
    let mut e = line.len();
    while e > i && line[e - 1].is_ascii_whitespace() {
        e -= 1;
    }
    Some(UuBegin {
        mode,
        name: i..e,
        base64,
    })
}

/// True for an `end` line (trailing whitespace allowed).
pub(crate) fn is_end(line: &[u8]) -> bool {
    line.trim_ascii_end() == b"end"
}

/// What one data line looks like.
pub(crate) enum Line {
    /// Blank: nothing to decode.
    Blank,
    /// Not uuencode at all (a byte outside `' '..='`'`).
    Junk,
    /// A data line: its length byte count and whether the characters agree
    /// with it.
    Data { n: usize, exact: bool },
}

/// Classifies a data line (without its line ending).
pub(crate) fn classify(line: &[u8]) -> Line {
    let Some((&len, chars)) = line.split_first() else {
        return Line::Blank;
    };
    if !line.iter().all(|c| (0x20..=0x60).contains(c)) {
        return Line::Junk;
    }
    let n = ((len - 0x20) & 0x3f) as usize;
    let need = n.div_ceil(3) * 4;
    let exact = chars.len() == need || chars.len() == need + 1;
    Line::Data { n, exact }
}

/// Decodes one data line of `n` bytes into `out` within `room`; false when
/// cut. Missing characters count as zero.
fn decode_line(chars: &[u8], n: usize, out: &mut Vec<u8>, room: &mut usize) -> bool {
    let six = |k: usize| (chars.get(k).copied().unwrap_or(b' ').wrapping_sub(0x20) & 0x3f) as u32;
    let mut left = n;
    let mut k = 0;
    while left > 0 {
        let v = (six(k) << 18) | (six(k + 1) << 12) | (six(k + 2) << 6) | six(k + 3);
        let b = v.to_be_bytes();
        let take = left.min(3);
        if take > *room {
            out.extend_from_slice(&b[1..1 + *room]);
            *room = 0;
            return false;
        }
        out.extend_from_slice(&b[1..1 + take]);
        *room -= take;
        left -= take;
        k += 4;
    }
    true
}

/// Appends the decoding of `input` to `out`, at most `limit` bytes.
///
/// See the module docs for how damaged input is handled.
pub fn decode(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Defects {
    let mut d = Defects::empty();
    // Find the begin line.
    let mut pos = 0;
    let mut start = None;
    while pos < input.len() {
        let (line, next) = next_line(input, pos);
        if let Some(b) = parse_begin(&input[line]) {
            start = Some((b.base64, next));
            break;
        }
        pos = next;
    }
    let (base64, mut pos) = match start {
        Some(s) => s,
        None => {
            d |= Defects::BAD_UUENCODE;
            (false, 0)
        }
    };
    if base64 {
        // Up to the `====` line.
        let body = pos;
        while pos < input.len() {
            let (line, next) = next_line(input, pos);
            if input[line.clone()].trim_ascii_end() == b"====" {
                return d | crate::decode::base64::decode(&input[body..line.start], out, limit);
            }
            pos = next;
        }
        d |= Defects::BAD_UUENCODE | Defects::TRUNCATED;
        return d | crate::decode::base64::decode(&input[body..], out, limit);
    }
    let mut room = limit;
    while pos < input.len() {
        let (line, next) = next_line(input, pos);
        pos = next;
        let line = &input[line];
        if is_end(line) {
            return d;
        }
        match classify(line) {
            Line::Blank => {}
            Line::Junk => d |= Defects::BAD_UUENCODE,
            Line::Data { n, exact } => {
                if !exact {
                    d |= Defects::BAD_UUENCODE;
                }
                if !decode_line(&line[1..], n, out, &mut room) {
                    return d | Defects::DECODED_SIZE_LIMIT;
                }
            }
        }
    }
    d | Defects::BAD_UUENCODE | Defects::TRUNCATED
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A naive encoder: 45-byte lines, `` ` `` for zero, with `begin`/`end`.
    fn naive_encode(data: &[u8], eol: &str) -> Vec<u8> {
        let ch = |v: u32| if v == 0 { b'`' } else { (v as u8) + 0x20 };
        let mut out = format!("begin 644 f.bin{eol}").into_bytes();
        for line in data.chunks(45) {
            out.push(ch(line.len() as u32));
            for g in line.chunks(3) {
                let mut v = 0u32;
                for k in 0..3 {
                    v = (v << 8) | *g.get(k).unwrap_or(&0) as u32;
                }
                for k in 0..4 {
                    out.push(ch((v >> (18 - 6 * k)) & 63));
                }
            }
            out.extend_from_slice(eol.as_bytes());
        }
        out.extend_from_slice(format!("`{eol}end{eol}").as_bytes());
        out
    }

    /// The naive oracle for data lines: bit by bit, length char first.
    fn naive_line(line: &[u8]) -> Vec<u8> {
        let n = ((line[0] - 0x20) & 63) as usize;
        let mut bits = Vec::new();
        for k in 0..n.div_ceil(3) * 4 {
            let v = (line.get(1 + k).copied().unwrap_or(b' ') - 0x20) & 63;
            for s in (0..6).rev() {
                bits.push((v >> s) & 1);
            }
        }
        bits.chunks(8)
            .take(n)
            .map(|c| c.iter().fold(0u8, |a, &b| (a << 1) | b))
            .collect()
    }

    fn dec(input: &[u8]) -> (Vec<u8>, Defects) {
        let mut out = Vec::new();
        let d = decode(input, &mut out, usize::MAX);
        (out, d)
    }

    #[test]
    fn normal() {
        let text = b"begin 644 cat.txt\n#0V%T\n`\nend\n";
        assert_eq!(dec(text), (b"Cat".to_vec(), Defects::empty()));
        let text = b"junk\r\n\r\nbegin 0644 a b.txt\r\n#0V%T\r\n \r\nend";
        assert_eq!(dec(text), (b"Cat".to_vec(), Defects::empty()));
        let text = b"begin 644 cat.txt\r#0V%T\r`\rend\r";
        assert_eq!(dec(text), (b"Cat".to_vec(), Defects::empty()));
    }

    #[test]
    fn begin_line() {
        let b = parse_begin(b"begin 644 my file.txt \r").unwrap();
        assert_eq!(b.mode, 6..9);
        assert_eq!(b.name, 10..21);
        assert!(!b.base64);
        assert!(parse_begin(b"begin-base64 600 x").unwrap().base64);
        assert_eq!(parse_begin(b"begin 644").unwrap().name, 9..9);
        assert_eq!(parse_begin(b"beginning 644 x"), None);
        assert_eq!(parse_begin(b"begin the story"), None);
        assert_eq!(parse_begin(b"begin 6449 x"), None);
        assert_eq!(parse_begin(b"begin 64499 x"), None);
    }

    #[test]
    fn lenient() {
        // No begin line.
        assert_eq!(
            dec(b"#0V%T\n"),
            (b"Cat".to_vec(), Defects::BAD_UUENCODE | Defects::TRUNCATED)
        );
        // Trailing spaces stripped: "#0V%@" encodes "Ca\0"; strip the zeros.
        let (out, d) = dec(b"begin 644 x\n#0V$\nend\n");
        assert_eq!(out, b"Ca\0");
        assert_eq!(d, Defects::BAD_UUENCODE);
        // Length char says fewer than present: trust the length char.
        let (out, d) = dec(b"begin 644 x\n\"0V%T0V%T\nend\n");
        assert_eq!(out, b"Ca");
        assert_eq!(d, Defects::BAD_UUENCODE);
        // One checksum char extra is fine.
        assert_eq!(
            dec(b"begin 644 x\n#0V%T!\nend\n"),
            (b"Cat".to_vec(), Defects::empty())
        );
        // A text line inside: skipped.
        assert_eq!(
            dec(b"begin 644 x\n#0V%T\nhello\nend\n"),
            (b"Cat".to_vec(), Defects::BAD_UUENCODE)
        );
        // Missing end.
        assert_eq!(
            dec(b"begin 644 x\n#0V%T\n"),
            (b"Cat".to_vec(), Defects::BAD_UUENCODE | Defects::TRUNCATED)
        );
        // Stops at end.
        assert_eq!(
            dec(b"begin 644 x\n#0V%T\nend\n#0V%T\n"),
            (b"Cat".to_vec(), Defects::empty())
        );
    }

    #[test]
    fn begin_base64() {
        assert_eq!(
            dec(b"begin-base64 644 x\nQ2F0\n====\nQ2F0\n"),
            (b"Cat".to_vec(), Defects::empty())
        );
        assert_eq!(
            dec(b"begin-base64 644 x\r\nQ2F0\r\n"),
            (b"Cat".to_vec(), Defects::BAD_UUENCODE | Defects::TRUNCATED)
        );
    }

    #[test]
    fn limit_is_honoured() {
        let data: Vec<u8> = (0..200u8).collect();
        let enc = naive_encode(&data, "\n");
        for limit in [0, 1, 2, 3, 4, 44, 45, 46, 199, 200, 201] {
            let mut out = vec![9];
            let d = decode(&enc, &mut out, limit);
            assert_eq!(&out[1..], &data[..limit.min(200)]);
            assert_eq!(d.contains(Defects::DECODED_SIZE_LIMIT), limit < 200);
        }
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..500), crlf in any::<bool>()) {
            let enc = naive_encode(&data, if crlf { "\r\n" } else { "\n" });
            prop_assert_eq!(dec(&enc), (data, Defects::empty()));
        }

        #[test]
        fn lines_match_oracle(lines in proptest::collection::vec(
            proptest::collection::vec(0x20u8..=0x60, 1..70), 0..10)) {
            let mut text = b"begin 644 x\n".to_vec();
            let mut want = Vec::new();
            for l in &lines {
                text.extend_from_slice(l);
                text.push(b'\n');
                want.extend(naive_line(l));
            }
            text.extend_from_slice(b"end\n");
            prop_assert_eq!(dec(&text).0, want);
        }

        #[test]
        fn arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..400), limit in 0usize..300) {
            let mut out = Vec::new();
            decode(&input, &mut out, limit);
            prop_assert!(out.len() <= limit);
        }
    }
}
