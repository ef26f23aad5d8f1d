//! yEnc, the 8-bit binary encoding of Usenet, as it turns up in mail.
//!
//! yEnc adds 42 to every byte and escapes the few results a transport could
//! mangle (NUL, LF, CR, `=`, and at an encoder's whim others) as `=` followed
//! by the byte plus 64. Data sits between a header line and a trailer line:
//!
//! ```text
//! =ybegin part=1 total=2 line=128 size=123456 name=holiday photo.jpg
//! =ypart begin=1 end=65536
//! …data lines…
//! =yend size=65536 part=1 pcrc32=abcd1234 crc32=12345678
//! ```
//!
//! `name` is the rest of the header line, spaces and all. `=ypart` appears
//! only in multi-part posts, where `begin`/`end` give the part's place in
//! the whole file, `pcrc32` the part's CRC-32 and `crc32` the whole file's.
//!
//! How the decoder treats what it finds:
//!
//! * Text before `=ybegin` and between blocks is skipped.
//! * Every `=ybegin … =yend` block in the input is decoded and appended in
//!   the order it appears (a message that carries several parts of one file
//!   yields them back to back).
//! * Sizes and CRC-32s (IEEE, via [`crc32`]) are checked: the decoded part
//!   against `=ypart` (`end - begin + 1`), `=yend size`, `pcrc32`; a
//!   single-part block against `=ybegin size`, `=yend size` and `crc32`;
//!   the whole file's `crc32` when all its parts were seen in order. Any
//!   mismatch, a header without `size` or `name`, an unparsable number, an
//!   unknown `=y` line inside the data, or an `=` escape at the end of a
//!   line (which is dropped) flags [`Defects::BAD_YENC`].
//! * A block with no `=yend` runs to the next `=ybegin` or the end of input
//!   and flags `BAD_YENC` and [`Defects::TRUNCATED`].
//! * Input with no `=ybegin` line at all is decoded whole as yEnc data and
//!   flags `BAD_YENC` (there is nothing to check it against).
//! * CR and LF are line structure, never data.
//!
//! Output stops at `limit` bytes, flagging [`Defects::DECODED_SIZE_LIMIT`];
//! the cut part is not checked.
//!
//! ```
//! use filter::decode::yenc;
//!
//! let data = b"Cat=";
//! let enc: Vec<u8> = data.iter().map(|b| b.wrapping_add(42)).collect();
//! assert_eq!(enc, b"m\x8b\x9eg");
//! let crc = yenc::crc32(data);
//! let mut msg = b"=ybegin line=128 size=4 name=cat file\r\n".to_vec();
//! msg.extend_from_slice(&enc);
//! msg.extend_from_slice(format!("\r\n=yend size=4 crc32={crc:08x}\r\n").as_bytes());
//!
//! let mut out = Vec::new();
//! let d = yenc::decode(&msg, &mut out, usize::MAX);
//! assert_eq!(out, data);
//! assert!(d.is_empty());
//!
//! let line = b"=ybegin line=128 size=4 name=cat file";
//! let h = yenc::parse_header(line).unwrap();
//! assert_eq!(&line[h.name.unwrap()], b"cat file");
//! assert_eq!(h.size, Some(4));
//! ```

use core::ops::Range;

use crate::decode::inline::next_line;
use crate::defect::Defects;

static CRC_TABLE: [u32; 256] = {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// Continues a CRC-32 whose pre-inverted state is `state` over `data`.
fn crc_update(mut state: u32, data: &[u8]) -> u32 {
    for &b in data {
        state = CRC_TABLE[((state ^ b as u32) & 0xff) as usize] ^ (state >> 8);
    }
    state
}

/// The CRC-32 (IEEE 802.3, as zip and yEnc use it) of `data`.
pub fn crc32(data: &[u8]) -> u32 {
    !crc_update(!0, data)
}

/// A parsed `=ybegin` line. Missing fields are `None`; a field that is
/// present but not a number is `None` too, and sets `bad`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct YencHeader {
    /// `part=`, for multi-part posts.
    pub part: Option<u64>,
    /// `total=`, the number of parts.
    pub total: Option<u64>,
    /// `line=`, the encoder's line length.
    pub line: Option<u64>,
    /// `size=`, the whole file's size.
    pub size: Option<u64>,
    /// The file name: offsets in the line given to [`parse_header`], the
    /// rest of the line after `name=` without trailing whitespace.
    pub name: Option<Range<usize>>,
    /// True when some value did not parse as a number.
    pub bad: bool,
}

/// Finds `key=` among the space-separated fields of `line` after `from`;
/// returns the value's offsets. A `name=` field takes the rest of the line,
/// so nothing after it is a field.
fn field(line: &[u8], from: usize, key: &[u8]) -> Option<Range<usize>> {
    let mut i = from;
    loop {
        while line.get(i).is_some_and(|&c| c == b' ' || c == b'\t') {
            i += 1;
        }
        if i >= line.len() {
            return None;
        }
        let rest = &line[i..];
        if rest.starts_with(b"name=") {
            if key != b"name" {
                return None;
            }
            let mut e = line.len();
            while e > i + 5 && line[e - 1].is_ascii_whitespace() {
                e -= 1;
            }
            return Some(i + 5..e);
        }
        let end = rest
            .iter()
            .position(|&c| c == b' ' || c == b'\t')
            .map_or(line.len(), |p| i + p);
        let tok = &line[i..end];
        if tok.len() > key.len() && tok.starts_with(key) && tok[key.len()] == b'=' {
            return Some(i + key.len() + 1..end);
        }
        i = end;
    }
}

fn parse_dec(v: &[u8]) -> Option<u64> {
    let v = v.trim_ascii();
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u64, |a, &c| a * 10 + (c - b'0') as u64))
}

fn parse_hex(v: &[u8]) -> Option<u32> {
    let v = v.trim_ascii();
    let v = v
        .strip_prefix(b"0x")
        .or_else(|| v.strip_prefix(b"0X"))
        .unwrap_or(v);
    if v.is_empty() || v.len() > 8 || !v.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    Some(v.iter().fold(0u32, |a, &c| {
        (a << 4) | (c as char).to_digit(16).unwrap_or(0)
    }))
}

/// Looks up a decimal field; `Err` when present but not a number.
fn num(line: &[u8], from: usize, key: &[u8]) -> Result<Option<u64>, ()> {
    match field(line, from, key) {
        None => Ok(None),
        Some(r) => parse_dec(&line[r]).map(Some).ok_or(()),
    }
}

/// Looks up a hex CRC field; `Err` when present but not hex.
fn crc_field(line: &[u8], from: usize, key: &[u8]) -> Result<Option<u32>, ()> {
    match field(line, from, key) {
        None => Ok(None),
        Some(r) => parse_hex(&line[r]).map(Some).ok_or(()),
    }
}

/// Parses an `=ybegin` line (without its line ending). None when the line
/// is not one.
pub fn parse_header(line: &[u8]) -> Option<YencHeader> {
    let rest = line.strip_prefix(b"=ybegin")?;
    if !(rest.is_empty() || rest[0] == b' ' || rest[0] == b'\t') {
        return None;
    }
    let mut bad = false;
    let mut get = |k: &[u8]| {
        num(line, 7, k).unwrap_or_else(|()| {
            bad = true;
            None
        })
    };
    let (part, total, lin, size) = (get(b"part"), get(b"total"), get(b"line"), get(b"size"));
    Some(YencHeader {
        part,
        total,
        line: lin,
        size,
        name: field(line, 7, b"name"),
        bad,
    })
}

/// True when `line` starts with the keyword `kw` (e.g. `=yend`) followed by
/// a blank or nothing.
pub(crate) fn is_keyword(line: &[u8], kw: &[u8]) -> bool {
    line.strip_prefix(kw)
        .is_some_and(|r| r.is_empty() || r[0] == b' ' || r[0] == b'\t' || r[0] == b'\r')
}

/// Decodes one line of yEnc data into `out` within `room`; false when cut.
fn data_line(line: &[u8], out: &mut Vec<u8>, room: &mut usize, d: &mut Defects) -> bool {
    let mut i = 0;
    while i < line.len() {
        let rest = &line[i..];
        let run = memchr::memchr(b'=', rest).unwrap_or(rest.len());
        let take = run.min(*room);
        out.extend(rest[..take].iter().map(|b| b.wrapping_sub(42)));
        *room -= take;
        if take < run {
            return false;
        }
        i += run;
        if i < line.len() {
            match line.get(i + 1) {
                Some(&c) => {
                    if *room == 0 {
                        return false;
                    }
                    out.push(c.wrapping_sub(64 + 42));
                    *room -= 1;
                    i += 2;
                }
                None => {
                    *d |= Defects::BAD_YENC;
                    i += 1;
                }
            }
        }
    }
    true
}

/// Appends the decoding of `input` to `out`, at most `limit` bytes.
///
/// See the module docs for the checks made and what is flagged.
pub fn decode(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Defects {
    let mut d = Defects::empty();
    let mut room = limit;
    let mut pos = 0;
    let mut found = false;
    // The whole file's CRC state across parts: (next expected begin, state).
    let mut file: Option<(u64, u32)> = None;
    while pos < input.len() {
        let (lr, next) = next_line(input, pos);
        pos = next;
        let line = &input[lr];
        let Some(h) = parse_header(line) else {
            continue;
        };
        found = true;
        if h.bad || h.size.is_none() || h.name.is_none() {
            d |= Defects::BAD_YENC;
        }
        // Optional =ypart.
        let mut part: Option<(u64, u64)> = None;
        if pos < input.len() {
            let (lr, next) = next_line(input, pos);
            let l = &input[lr];
            if is_keyword(l, b"=ypart") {
                pos = next;
                match (num(l, 6, b"begin"), num(l, 6, b"end")) {
                    (Ok(Some(b)), Ok(Some(e))) if b >= 1 && e >= b => part = Some((b, e)),
                    _ => d |= Defects::BAD_YENC,
                }
            }
        }
        let start = out.len();
        let mut trailer: Option<&[u8]> = None;
        while pos < input.len() {
            let (lr, next) = next_line(input, pos);
            let l = &input[lr];
            // Only the three keywords are keyword lines: `=y` alone is an
            // escaped 0x0f at the start of a data line.
            if is_keyword(l, b"=yend") {
                pos = next;
                trailer = Some(l);
                break;
            }
            if is_keyword(l, b"=ybegin") {
                break;
            }
            if is_keyword(l, b"=ypart") {
                d |= Defects::BAD_YENC;
                pos = next;
                continue;
            }
            pos = next;
            if !data_line(l, out, &mut room, &mut d) {
                return d | Defects::DECODED_SIZE_LIMIT;
            }
        }
        let got = &out[start..];
        let len = got.len() as u64;
        let Some(t) = trailer else {
            d |= Defects::BAD_YENC | Defects::TRUNCATED;
            file = None;
            continue;
        };
        let mut ok = true;
        let (yend_size, pcrc, fcrc) = (
            num(t, 5, b"size"),
            crc_field(t, 5, b"pcrc32"),
            crc_field(t, 5, b"crc32"),
        );
        let (Ok(yend_size), Ok(pcrc), Ok(fcrc)) = (yend_size, pcrc, fcrc) else {
            d |= Defects::BAD_YENC;
            file = None;
            continue;
        };
        ok &= yend_size.is_none_or(|s| s == len);
        let state = crc_update(!0, got);
        ok &= pcrc.is_none_or(|c| c == !state);
        match part {
            Some((b, e)) => {
                ok &= e - b + 1 == len;
                ok &= h.size.is_none_or(|s| e <= s);
                // Carry the whole-file CRC across parts seen in order.
                file = match file {
                    _ if b == 1 => Some((e + 1, crc_update(!0, got))),
                    Some((nb, st)) if nb == b => Some((e + 1, crc_update(st, got))),
                    _ => None,
                };
                if let (Some((nb, st)), Some(size)) = (file, h.size)
                    && nb == size + 1
                {
                    ok &= fcrc.is_none_or(|c| c == !st);
                    file = None;
                }
            }
            None => {
                ok &= h.size.is_none_or(|s| s == len);
                ok &= fcrc.is_none_or(|c| c == !state);
                file = None;
            }
        }
        if !ok {
            d |= Defects::BAD_YENC;
        }
    }
    if !found {
        d |= Defects::BAD_YENC;
        let mut pos = 0;
        while pos < input.len() {
            let (lr, next) = next_line(input, pos);
            pos = next;
            if !data_line(&input[lr], out, &mut room, &mut d) {
                return d | Defects::DECODED_SIZE_LIMIT;
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A naive encoder: escapes NUL, LF, CR, `=` and (at random) anything.
    fn encode_data(data: &[u8], width: usize, escape_all: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut col = 0;
        for &b in data {
            let e = b.wrapping_add(42);
            let critical = |c: u8| matches!(c, 0 | b'\n' | b'\r' | b'=');
            // Optional escapes only where the escaped form is safe.
            if critical(e) || (escape_all && !matches!(e.wrapping_add(64), 0 | b'\n' | b'\r')) {
                out.extend_from_slice(&[b'=', e.wrapping_add(64)]);
                col += 2;
            } else {
                out.push(e);
                col += 1;
            }
            if col >= width {
                out.extend_from_slice(b"\r\n");
                col = 0;
            }
        }
        if col > 0 {
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    fn single(data: &[u8], name: &str) -> Vec<u8> {
        let mut m = format!("=ybegin line=128 size={} name={name}\r\n", data.len()).into_bytes();
        m.extend(encode_data(data, 128, false));
        m.extend(format!("=yend size={} crc32={:08x}\r\n", data.len(), crc32(data)).into_bytes());
        m
    }

    /// The naive oracle for data: byte by byte, an escape flag.
    fn naive_data(input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut esc = false;
        for &c in input {
            if c == b'\r' || c == b'\n' {
                esc = false;
            } else if esc {
                out.push(((c as u16 + 256 * 2 - 64 - 42) % 256) as u8);
                esc = false;
            } else if c == b'=' {
                esc = true;
            } else {
                out.push(((c as u16 + 256 - 42) % 256) as u8);
            }
        }
        out
    }

    fn dec(input: &[u8]) -> (Vec<u8>, Defects) {
        let mut out = Vec::new();
        let d = decode(input, &mut out, usize::MAX);
        (out, d)
    }

    #[test]
    fn crc_known_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn normal() {
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let m = single(&data, "a b.bin");
        assert_eq!(dec(&m), (data.clone(), Defects::empty()));
        let mut m2 = b"Some text first\r\n\r\n".to_vec();
        m2.extend(&m);
        m2.extend(b"and after\r\n");
        assert_eq!(dec(&m2), (data, Defects::empty()));
    }

    #[test]
    fn header() {
        let l = b"=ybegin part=2 total=3 line=128 size=9 name= x y \r";
        let h = parse_header(l).unwrap();
        assert_eq!(
            (h.part, h.total, h.line, h.size),
            (Some(2), Some(3), Some(128), Some(9))
        );
        assert_eq!(&l[h.name.unwrap()], b" x y");
        assert!(!h.bad);
        assert!(parse_header(b"=ybegin size=x name=a").unwrap().bad);
        assert_eq!(parse_header(b"=ybeginner"), None);
        assert_eq!(parse_header(b"text"), None);
    }

    #[test]
    fn multipart() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 31) as u8).collect();
        let (a, b) = data.split_at(120);
        let mut m = Vec::new();
        for (k, (p, begin)) in [(a, 1), (b, 121)].into_iter().enumerate() {
            m.extend(
                format!(
                    "=ybegin part={} total=2 line=128 size=300 name=f\r\n",
                    k + 1
                )
                .into_bytes(),
            );
            m.extend(format!("=ypart begin={begin} end={}\r\n", begin + p.len() - 1).into_bytes());
            m.extend(encode_data(p, 128, false));
            m.extend(
                format!(
                    "=yend size={} part={} pcrc32={:08x} crc32={:08x}\r\n",
                    p.len(),
                    k + 1,
                    crc32(p),
                    crc32(&data)
                )
                .into_bytes(),
            );
        }
        assert_eq!(dec(&m), (data.clone(), Defects::empty()));
        // A wrong whole-file CRC is caught at the last part.
        let bad = String::from_utf8_lossy(&m)
            .replace(&format!("crc32={:08x}", crc32(&data)), "crc32=00000000");
        assert_eq!(dec(bad.as_bytes()).1, Defects::BAD_YENC);
    }

    #[test]
    fn malformed() {
        let data = b"hello world".to_vec();
        let m = single(&data, "x");
        // Corrupt one data byte: CRC mismatch.
        let mut bad = m.clone();
        let at = bad.iter().position(|&c| c == b'\n').unwrap() + 1;
        bad[at] ^= 1;
        assert_eq!(dec(&bad).1, Defects::BAD_YENC);
        // Size mismatch.
        let s = String::from_utf8_lossy(&m).replace("=yend size=11", "=yend size=12");
        assert_eq!(dec(s.as_bytes()).1, Defects::BAD_YENC);
        // Missing =yend.
        let cut = &m[..m.len() - 30];
        assert_eq!(
            dec(cut),
            (data.clone(), Defects::BAD_YENC | Defects::TRUNCATED)
        );
        // No header.
        assert_eq!(
            dec(&encode_data(&data, 5, false)),
            (data.clone(), Defects::BAD_YENC)
        );
        // Escape at line end.
        assert_eq!(
            dec(b"=ybegin size=0 name=a\r\n=\r\n=yend size=0\r\n").1,
            Defects::BAD_YENC
        );
    }

    #[test]
    fn limit_is_honoured() {
        let data: Vec<u8> = (0..500u32).map(|i| (i * 7) as u8).collect();
        let m = single(&data, "x");
        for limit in [0, 1, 50, 499, 500, 501] {
            let mut out = vec![1];
            let d = decode(&m, &mut out, limit);
            assert_eq!(&out[1..], &data[..limit.min(500)]);
            assert_eq!(d.contains(Defects::DECODED_SIZE_LIMIT), limit < 500);
        }
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(any::<u8>(), 0..600), width in 1usize..200, esc in any::<bool>()) {
            let mut m = format!("=ybegin line={width} size={} name=f\n", data.len()).into_bytes();
            m.extend(encode_data(&data, width, esc));
            m.extend(format!("=yend size={} crc32={:08x}\n", data.len(), crc32(&data)).into_bytes());
            prop_assert_eq!(dec(&m), (data, Defects::empty()));
        }

        #[test]
        fn headerless_matches_oracle(input in proptest::collection::vec(prop_oneof![
            3 => proptest::sample::select(b"=\r\nab\x00\xff".to_vec()),
            1 => any::<u8>(),
        ], 0..300)) {
            // Inputs with a "=ybegin" line are not headerless; the alphabet
            // above cannot spell one.
            prop_assert_eq!(dec(&input).0, naive_data(&input));
        }

        #[test]
        fn arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..400), limit in 0usize..300) {
            let mut out = Vec::new();
            decode(&input, &mut out, limit);
            prop_assert!(out.len() <= limit);
        }
    }
}
