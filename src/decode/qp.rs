//! Quoted-printable (RFC 2045 §6.7), decoded as mail clients decode it.
//!
//! Quoted-printable is text with escapes: `=XX` stands for the byte with
//! hex value `XX`, and an `=` at the end of a line is a *soft* line break
//! that joins the line to the next. Everything else is literal. The decoder
//! copies literal runs whole (it looks only for `=`), so plain text costs
//! little more than a copy.
//!
//! What it accepts, and what it does with the rest:
//!
//! * `=XX` with upper- *or* lower-case hex digits (RFC 2045 wants upper
//!   case; every client takes both). Not flagged.
//! * Soft line breaks `=` CRLF, `=` LF and `=` CR, and also `=` followed by
//!   spaces or tabs and then the line end: RFC 2045 notes that transports
//!   add such trailing whitespace, and asks decoders to cope. Not flagged.
//! * An `=` as the very last byte is a soft break with nothing after it
//!   (the MIME walker hands over bodies without the CRLF that belongs to the
//!   next boundary, so this is the normal end of a soft-wrapped last line).
//!   It is dropped, not flagged.
//! * Any other `=` — `=4G`, `= `, `=` before a lone hex digit at the end —
//!   is kept literally, with what follows it decoded normally, and flags
//!   [`Defects::BAD_QP`]. This is what Python's `email` package and most
//!   clients do.
//! * Line endings are kept exactly as they are in the input (CRLF stays
//!   CRLF, LF stays LF).
//! * Trailing whitespace at the end of a line is *kept*. RFC 2045 says a
//!   decoder should remove it, but Python's `email` package
//!   (`Message.get_payload(decode=True)`, i.e. `quopri` and
//!   `binascii.a2b_qp`) keeps it, and so do most clients; a scanner should
//!   see the bytes the recipient sees.
//! * Over-long lines are accepted as they are: length costs nothing here,
//!   and clients decode them.
//!
//! Output stops at `limit` bytes, flagging [`Defects::DECODED_SIZE_LIMIT`].
//!
//! ```
//! use filter::decode::qp;
//! use filter::defect::Defects;
//!
//! let mut out = Vec::new();
//! let d = qp::decode(b"caf=C3=a9 =\r\nau lait=3D=\r\n", &mut out, usize::MAX);
//! assert_eq!(out, "café au lait=".as_bytes());
//! assert!(d.is_empty());
//!
//! out.clear();
//! let d = qp::decode(b"100% =ZZ pure", &mut out, usize::MAX);
//! assert_eq!(out, b"100% =ZZ pure");
//! assert_eq!(d, Defects::BAD_QP);
//! ```

use crate::defect::Defects;

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Appends `bytes` to `out` within `room`; false when cut.
fn push(out: &mut Vec<u8>, room: &mut usize, bytes: &[u8]) -> bool {
    if bytes.len() <= *room {
        out.extend_from_slice(bytes);
        *room -= bytes.len();
        true
    } else {
        out.extend_from_slice(&bytes[..*room]);
        *room = 0;
        false
    }
}

/// What an `=` at `rest[0]` means: `Ok((byte, len))` for an escape,
/// `Err(len)` with `len` bytes to skip for a soft break, or `Err(0)` for a
/// malformed escape.
fn escape(rest: &[u8]) -> Result<(u8, usize), usize> {
    match rest.get(1..3) {
        Some(&[a, b]) => {
            if let (Some(h), Some(l)) = (hex(a), hex(b)) {
                return Ok(((h << 4) | l, 3));
            }
        }
        _ if rest.len() == 1 => return Err(1),
        _ => {}
    }
    // Soft break: `=`, optional spaces/tabs, then CRLF, LF, CR or the end.
    let mut k = 1;
    while k < rest.len() && (rest[k] == b' ' || rest[k] == b'\t') {
        k += 1;
    }
    match rest.get(k) {
        None => Err(k),
        Some(b'\n') => Err(k + 1),
        Some(b'\r') if rest.get(k + 1) == Some(&b'\n') => Err(k + 2),
        Some(b'\r') => Err(k + 1),
        Some(_) => Err(0),
    }
}

/// Appends the decoding of `input` to `out`, at most `limit` bytes.
///
/// See the module docs for what is accepted and what is flagged.
pub fn decode(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Defects {
    out.reserve(input.len().min(limit));
    let mut room = limit;
    let mut d = Defects::empty();
    let mut i = 0;
    while i < input.len() {
        let rest = &input[i..];
        // Escape-dense text (binary data) has short runs; look for the
        // next `=` by hand for a few bytes before paying for a `memchr`.
        let run = match rest.iter().take(16).position(|&c| c == b'=') {
            Some(p) => p,
            None => memchr::memchr(b'=', rest).unwrap_or(rest.len()),
        };
        if run > 0 && !push(out, &mut room, &rest[..run]) {
            return d | Defects::DECODED_SIZE_LIMIT;
        }
        i += run;
        if i == input.len() {
            break;
        }
        let (bytes, n): (&[u8], usize) = match escape(&input[i..]) {
            Ok((b, n)) => {
                if room == 0 {
                    return d | Defects::DECODED_SIZE_LIMIT;
                }
                out.push(b);
                room -= 1;
                i += n;
                continue;
            }
            Err(0) => {
                d |= Defects::BAD_QP;
                (b"=", 1)
            }
            Err(n) => (b"", n),
        };
        if !push(out, &mut room, bytes) {
            return d | Defects::DECODED_SIZE_LIMIT;
        }
        i += n;
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dec(input: &[u8]) -> (Vec<u8>, Defects) {
        let mut out = Vec::new();
        let d = decode(input, &mut out, usize::MAX);
        (out, d)
    }

    /// The naive oracle: one byte at a time, with the rules written out
    /// longhand.
    fn naive(input: &[u8]) -> (Vec<u8>, Defects) {
        let mut out = Vec::new();
        let mut d = Defects::empty();
        let is_hex = |c: Option<&u8>| c.is_some_and(|c| c.is_ascii_hexdigit());
        let mut i = 0;
        while i < input.len() {
            if input[i] != b'=' {
                out.push(input[i]);
                i += 1;
                continue;
            }
            if is_hex(input.get(i + 1)) && is_hex(input.get(i + 2)) {
                let s = std::str::from_utf8(&input[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(s, 16).unwrap());
                i += 3;
                continue;
            }
            let mut j = i + 1;
            while j < input.len() && b" \t".contains(&input[j]) {
                j += 1;
            }
            if j == input.len() {
                i = j;
            } else if input[j..].starts_with(b"\r\n") {
                i = j + 2;
            } else if input[j] == b'\n' || input[j] == b'\r' {
                i = j + 1;
            } else {
                d |= Defects::BAD_QP;
                out.push(b'=');
                i += 1;
            }
        }
        (out, d)
    }

    /// A naive encoder: escapes what must be escaped, soft-wraps at `width`.
    fn naive_encode(data: &[u8], width: usize, eol: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut col = 0;
        for &b in data {
            let piece = if (33..=126).contains(&b) && b != b'=' {
                vec![b]
            } else {
                format!("={b:02X}").into_bytes()
            };
            if col + piece.len() > width {
                out.push(b'=');
                out.extend_from_slice(eol);
                col = 0;
            }
            col += piece.len();
            out.extend_from_slice(&piece);
        }
        out
    }

    #[test]
    fn normal() {
        assert_eq!(dec(b"a=3Db=3db"), (b"a=b=b".to_vec(), Defects::empty()));
        assert_eq!(
            dec(b"soft=\r\nbreak=\nx=\ry"),
            (b"softbreakxy".to_vec(), Defects::empty())
        );
        assert_eq!(
            dec(b"line\r\nline2\n"),
            (b"line\r\nline2\n".to_vec(), Defects::empty())
        );
        assert_eq!(
            dec(b"trail  \r\n"),
            (b"trail  \r\n".to_vec(), Defects::empty())
        );
        assert_eq!(dec(b"ws= \t\r\nx"), (b"wsx".to_vec(), Defects::empty()));
        assert_eq!(dec(b"end="), (b"end".to_vec(), Defects::empty()));
        assert_eq!(dec(b"end=  "), (b"end".to_vec(), Defects::empty()));
    }

    #[test]
    fn malformed() {
        assert_eq!(dec(b"a=4g"), (b"a=4g".to_vec(), Defects::BAD_QP));
        assert_eq!(dec(b"a=4"), (b"a=4".to_vec(), Defects::BAD_QP));
        assert_eq!(dec(b"a= b"), (b"a= b".to_vec(), Defects::BAD_QP));
        assert_eq!(dec(b"==41"), (b"=A".to_vec(), Defects::BAD_QP));
        assert_eq!(dec(b"=\xff=00"), (b"=\xff\x00".to_vec(), Defects::BAD_QP));
    }

    #[test]
    fn limit_is_honoured() {
        let input = b"ab=41cd=\r\nef";
        let full = dec(input).0;
        for limit in 0..=full.len() + 1 {
            let mut out = b"x".to_vec();
            let d = decode(input, &mut out, limit);
            assert_eq!(&out[1..], &full[..limit.min(full.len())]);
            assert_eq!(d.contains(Defects::DECODED_SIZE_LIMIT), limit < full.len());
        }
    }

    proptest! {
        #[test]
        fn round_trip(
            data in proptest::collection::vec(any::<u8>(), 0..500),
            width in 4usize..100,
            crlf in any::<bool>(),
        ) {
            let enc = naive_encode(&data, width, if crlf { b"\r\n" } else { b"\n" });
            prop_assert_eq!(dec(&enc), (data, Defects::empty()));
        }

        #[test]
        fn matches_oracle(input in proptest::collection::vec(prop_oneof![
            4 => proptest::sample::select(b"=0aF9gZ \t\r\nx".to_vec()),
            1 => any::<u8>(),
        ], 0..200)) {
            prop_assert_eq!(dec(&input), naive(&input));
        }

        #[test]
        fn arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..300), limit in 0usize..400) {
            let (full, _) = naive(&input);
            let mut out = Vec::new();
            let d = decode(&input, &mut out, limit);
            prop_assert_eq!(&out[..], &full[..full.len().min(limit)]);
            prop_assert_eq!(d.contains(Defects::DECODED_SIZE_LIMIT), full.len() > limit);
        }
    }
}
