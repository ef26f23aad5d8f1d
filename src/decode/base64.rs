//! Base64 (RFC 2045), decoded the lenient way mail clients decode it.
//!
//! Real mail bodies are rarely clean base64. Lines are wrapped at 76 (or 64,
//! or 72) columns with CRLF or LF, bodies are cut short, padding is missing,
//! and some senders glue several separately padded blobs together. Mail
//! clients decode all of that, so a scanner must too — and it must *say*
//! what it saw, because a body that decodes differently in two readers is a
//! classic way to smuggle content past a filter.
//!
//! The rules, byte by byte:
//!
//! * ASCII whitespace (space, tab, CR, LF, VT, FF) is skipped silently.
//! * Any other byte outside the alphabet `A–Z a–z 0–9 + /` and `=` is
//!   skipped and flags [`Defects::BAD_BASE64`].
//! * `=` closes the current 4-character group: two characters give one
//!   byte, three give two. A group that holds a single character cannot
//!   give a byte; it is dropped and flags `BAD_BASE64`. An `=` that closes
//!   nothing (beyond the one or two a group needs) flags
//!   [`Defects::BASE64_PADDING`].
//! * Data after padding is *decoded*, as a new group, and flags
//!   [`Defects::BASE64_AFTER_PADDING`]. Several clients do this (it is how
//!   concatenated blobs decode), so a scanner that stopped at the first `=`
//!   would miss what the victim sees.
//! * At the end, a group of two or three characters still gives its one or
//!   two bytes and flags `BASE64_PADDING`; a lone leftover character is
//!   dropped and flags `BAD_BASE64`. A group with one `=` where two were
//!   due (`Zg=`) flags `BASE64_PADDING` too. A body whose length is an
//!   exact multiple of four characters needs no padding and is not
//!   flagged.
//! * Non-zero unused bits in a final group are ignored, as every client
//!   does.
//!
//! Output stops at `limit` bytes (flagging [`Defects::DECODED_SIZE_LIMIT`]
//! when more would have followed); decoding then stops.
//!
//! ```
//! use filter::decode::base64;
//! use filter::defect::Defects;
//!
//! let mut out = Vec::new();
//! let d = base64::decode(b"aGVsbG8g\r\nd29ybGQ=\r\n", &mut out, usize::MAX);
//! assert_eq!(out, b"hello world");
//! assert!(d.is_empty());
//!
//! // Two padded blobs glued together, and a stray `*`.
//! out.clear();
//! let d = base64::decode(b"aGk=*IHRoZXJl", &mut out, usize::MAX);
//! assert_eq!(out, b"hi there");
//! assert!(d.contains(Defects::BASE64_AFTER_PADDING));
//! assert!(d.contains(Defects::BAD_BASE64));
//! ```
//!
//! # Speed
//!
//! Mail base64 is long runs of clean 4-character groups separated by line
//! breaks, so the decoder has a fast path for exactly that: while it sits at
//! a group boundary it decodes eight characters at a time through four
//! pre-shifted lookup tables (six output bytes per step, one validity test
//! per step), steps over line breaks without leaving the loop, and drops to
//! the careful byte-at-a-time state machine only for the group that holds
//! something unusual. Both paths implement the same rules; the tests check
//! that they agree on every input.
//!
//! On x86_64 CPUs with AVX2 (detected at run time) a vectorised kernel runs
//! ahead of that fast path: 32 characters per step, and whole lines at a
//! time once it has seen the line width and break (see `base64_simd.rs`);
//! with AVX-512 VBMI, a wider kernel runs ahead of that one.
//! It takes only stretches the scalar paths would decode the same way and
//! leaves everything else to them; [`decode_scalar`] is the decoder without
//! it, and the tests and the fuzz target check that both give the same
//! bytes and defects for every input and limit.

use crate::defect::Defects;

/// Character classes for the slow path: `0..64` are sextet values.
const PAD: u8 = 64;
const WS: u8 = 65;
const JUNK: u8 = 66;

const fn sextet(c: u8) -> u8 {
    match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        b'=' => PAD,
        b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c => WS,
        _ => JUNK,
    }
}

const CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = sextet(i as u8);
        i += 1;
    }
    t
};

/// A value with any of these bits set marks a non-alphabet character in the
/// pre-shifted tables.
const BAD: u32 = 0xff00_0000;

const fn shifted(shift: u32) -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let v = CLASS[i];
        t[i] = if v < 64 { (v as u32) << shift } else { BAD };
        i += 1;
    }
    t
}

static T0: [u32; 256] = shifted(18);
static T1: [u32; 256] = shifted(12);
static T2: [u32; 256] = shifted(6);
static T3: [u32; 256] = shifted(0);

#[inline(always)]
fn quad(c: &[u8; 4]) -> u32 {
    T0[c[0] as usize] | T1[c[1] as usize] | T2[c[2] as usize] | T3[c[3] as usize]
}

/// The fast path. Decodes clean groups of `src` into `dst`, starting at a
/// group boundary, stepping over whitespace that sits between groups.
/// Stops at the first group holding anything else, when fewer than four
/// characters remain, when `dst` is nearly full, or when `max` output bytes
/// were produced. Returns (input consumed, output produced); the state after
/// it is again "at a group boundary, nothing pending".
#[inline]
fn fast(src: &[u8], dst: &mut [u8], max: usize) -> (usize, usize) {
    let mut i = 0;
    let mut o = 0;
    let max = max.min(dst.len().saturating_sub(2));
    loop {
        // Eight characters, six bytes, one test.
        while let (Some(c), true) = (src[i..].first_chunk::<8>(), o + 6 <= max) {
            let (a, b) = (c.first_chunk::<4>(), c.last_chunk::<4>());
            let (Some(a), Some(b)) = (a, b) else { break };
            let (a, b) = (quad(a), quad(b));
            if (a | b) & BAD != 0 {
                break;
            }
            let v = ((a as u64) << 40) | ((b as u64) << 16);
            let Some(d) = dst.get_mut(o..o + 8) else {
                break;
            };
            d.copy_from_slice(&v.to_be_bytes());
            i += 8;
            o += 6;
        }
        // One group.
        if let (Some(c), true) = (src[i..].first_chunk::<4>(), o + 3 <= max) {
            let a = quad(c);
            if a & BAD == 0
                && let Some(d) = dst.get_mut(o..o + 4)
            {
                d.copy_from_slice(&(a << 8).to_be_bytes());
                i += 4;
                o += 3;
                continue;
            }
        }
        // Line breaks between groups.
        match src.get(i) {
            Some(&c) if CLASS[c as usize] == WS => {
                i += 1;
                while let Some(&c) = src.get(i) {
                    if CLASS[c as usize] != WS {
                        break;
                    }
                    i += 1;
                }
                if src.len() - i < 4 {
                    break;
                }
            }
            _ => break,
        }
    }
    (i, o)
}

/// The slow path's state: the group being collected and what padding saw.
#[derive(Default)]
struct State {
    acc: u32,
    n: u8,
    pad_need: u8,
    after_pad: bool,
}

/// Where decoded bytes go: `out`, at most `room` more of them.
struct Sink<'a> {
    out: &'a mut Vec<u8>,
    room: usize,
}

impl Sink<'_> {
    /// Pushes `bytes`; false (after pushing what fits) when `room` ran out.
    #[inline]
    fn push(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() <= self.room {
            self.out.extend_from_slice(bytes);
            self.room -= bytes.len();
            true
        } else {
            self.out.extend_from_slice(&bytes[..self.room]);
            self.room = 0;
            false
        }
    }
}

const BUF: usize = 4096;

/// True for the whitespace the decoder skips silently.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn is_space(c: u8) -> bool {
    CLASS[c as usize] == WS
}

/// Appends the MIME base64 encoding of `data` to `out`: 76-column lines,
/// each ended by CRLF, the last one too. The library never needs to encode
/// while scanning; this is for building messages (tests, benches, and
/// callers that wrap what they extract).
///
/// ```
/// let mut out = Vec::new();
/// filter::decode::base64::encode(b"hello", &mut out);
/// assert_eq!(out, b"aGVsbG8=\r\n");
/// ```
pub fn encode(data: &[u8], out: &mut Vec<u8>) {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.reserve(data.len() / 3 * 4 + data.len() / 57 * 2 + 6);
    for line in data.chunks(57) {
        for c in line.chunks(3) {
            let n = (c[0] as u32) << 16
                | (*c.get(1).unwrap_or(&0) as u32) << 8
                | *c.get(2).unwrap_or(&0) as u32;
            for k in 0..4 {
                out.push(if k <= c.len() {
                    ALPHABET[(n >> (18 - 6 * k) & 63) as usize]
                } else {
                    b'='
                });
            }
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends the decoding of `input` to `out`, at most `limit` bytes.
///
/// See the module docs for the rules on junk and padding.
pub fn decode(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Defects {
    decode_with::<true>(input, out, limit)
}

/// [`decode`] without the SIMD kernel: the portable path, and the oracle the
/// SIMD kernel is tested and fuzzed against. Same results for every input.
#[doc(hidden)]
pub fn decode_scalar(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Defects {
    decode_with::<false>(input, out, limit)
}

#[inline]
fn decode_with<const SIMD: bool>(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Defects {
    out.reserve((input.len() / 4 * 3 + 3).min(limit));
    let mut sink = Sink { out, room: limit };
    let mut d = Defects::empty();
    let mut st = State::default();
    let mut buf = [0u8; BUF];
    let mut i = 0;
    while i < input.len() {
        let c = input[i];
        let v = CLASS[c as usize];
        if v < 64 && st.n == 0 && st.pad_need == 0 && !st.after_pad {
            let simd = if SIMD {
                simd(&input[i..], &mut sink)
            } else {
                0
            };
            i += simd;
            let (ci, co) = fast(&input[i..], &mut buf, sink.room);
            if ci > 0 {
                // `fast` never produces more than `room`.
                sink.push(&buf[..co]);
                i += ci;
                continue;
            }
            if simd > 0 {
                continue;
            }
        }
        i += 1;
        if !step(&mut st, v, &mut sink, &mut d) {
            return d | Defects::DECODED_SIZE_LIMIT;
        }
    }
    if !finish(&st, &mut sink, &mut d) {
        d |= Defects::DECODED_SIZE_LIMIT;
    }
    d
}

/// The SIMD fast path, where there is one: decodes the clean start of
/// `src` straight into the sink (the same contract as [`fast`]) and returns
/// the input it consumed.
#[cfg(target_arch = "x86_64")]
#[inline]
fn simd(src: &[u8], sink: &mut Sink<'_>) -> usize {
    let (ci, co) = super::base64_simd::decode_clean(src, sink.out, sink.room);
    // The kernel never appends more than `room`.
    sink.room -= co;
    ci
}

/// No SIMD kernel for this architecture: the scalar paths do it all.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn simd(_src: &[u8], _sink: &mut Sink<'_>) -> usize {
    0
}

/// One byte of class `v` through the state machine. False when the output
/// limit cut it.
#[inline]
fn step(st: &mut State, v: u8, sink: &mut Sink<'_>, d: &mut Defects) -> bool {
    match v {
        0..64 => {
            if st.after_pad {
                *d |= Defects::BASE64_AFTER_PADDING;
                if st.pad_need > 0 {
                    *d |= Defects::BASE64_PADDING;
                }
                st.after_pad = false;
                st.pad_need = 0;
            }
            st.acc = (st.acc << 6) | v as u32;
            st.n += 1;
            if st.n == 4 {
                st.n = 0;
                let b = st.acc.to_be_bytes();
                st.acc = 0;
                return sink.push(&b[1..4]);
            }
            true
        }
        PAD => {
            st.after_pad = true;
            let n = st.n;
            let acc = st.acc;
            st.n = 0;
            st.acc = 0;
            match n {
                0 => {
                    if st.pad_need > 0 {
                        st.pad_need -= 1;
                    } else {
                        *d |= Defects::BASE64_PADDING;
                    }
                    true
                }
                1 => {
                    *d |= Defects::BAD_BASE64;
                    st.pad_need = 0;
                    true
                }
                2 => {
                    st.pad_need = 1;
                    sink.push(&[(acc >> 4) as u8])
                }
                _ => {
                    st.pad_need = 0;
                    sink.push(&((acc >> 2) as u16).to_be_bytes())
                }
            }
        }
        WS => true,
        _ => {
            *d |= Defects::BAD_BASE64;
            true
        }
    }
}

/// The end of input: a partial group and missing padding. False when the
/// output limit cut it.
fn finish(st: &State, sink: &mut Sink<'_>, d: &mut Defects) -> bool {
    if st.pad_need > 0 {
        *d |= Defects::BASE64_PADDING;
    }
    match st.n {
        0 => true,
        1 => {
            *d |= Defects::BAD_BASE64;
            true
        }
        2 => {
            *d |= Defects::BASE64_PADDING;
            sink.push(&[(st.acc >> 4) as u8])
        }
        _ => {
            *d |= Defects::BASE64_PADDING;
            sink.push(&((st.acc >> 2) as u16).to_be_bytes())
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    const ALPHA: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    /// A naive encoder: padded, wrapped at `width` characters (0 = no
    /// wrapping) with `eol`.
    pub(crate) fn naive_encode(data: &[u8], width: usize, eol: &[u8]) -> Vec<u8> {
        let mut flat = Vec::new();
        for chunk in data.chunks(3) {
            let mut bits = 0u32;
            for k in 0..3 {
                bits = (bits << 8) | *chunk.get(k).unwrap_or(&0) as u32;
            }
            for k in 0..4 {
                if k <= chunk.len() {
                    flat.push(ALPHA[((bits >> (18 - 6 * k)) & 63) as usize]);
                } else {
                    flat.push(b'=');
                }
            }
        }
        if width == 0 {
            return flat;
        }
        let mut out = Vec::new();
        for line in flat.chunks(width) {
            out.extend_from_slice(line);
            out.extend_from_slice(eol);
        }
        out
    }

    /// The naive oracle: a bit accumulator, one byte at a time, following
    /// the rules in the module docs and nothing else.
    pub(crate) fn naive_decode(input: &[u8]) -> (Vec<u8>, Defects) {
        let mut out = Vec::new();
        let mut d = Defects::empty();
        let mut bits: Vec<bool> = Vec::new();
        let mut chars = 0; // characters in the current group
        let mut owed_pad = 0; // '=' still expected
        let mut padded = false; // an '=' was seen since the last character
        let flush = |bits: &mut Vec<bool>, out: &mut Vec<u8>| {
            while bits.len() >= 8 {
                let mut b = 0u8;
                for &x in &bits[..8] {
                    b = (b << 1) | x as u8;
                }
                out.push(b);
                bits.drain(..8);
            }
            bits.clear();
        };
        for &c in input {
            if let Some(v) = ALPHA.iter().position(|&a| a == c) {
                if padded {
                    d |= Defects::BASE64_AFTER_PADDING;
                    if owed_pad > 0 {
                        d |= Defects::BASE64_PADDING;
                    }
                    padded = false;
                    owed_pad = 0;
                }
                for k in (0..6).rev() {
                    bits.push((v >> k) & 1 == 1);
                }
                chars += 1;
                if chars == 4 {
                    flush(&mut bits, &mut out);
                    chars = 0;
                }
            } else if c == b'=' {
                padded = true;
                match chars {
                    0 => {
                        if owed_pad > 0 {
                            owed_pad -= 1;
                        } else {
                            d |= Defects::BASE64_PADDING;
                        }
                    }
                    1 => {
                        d |= Defects::BAD_BASE64;
                        owed_pad = 0;
                    }
                    2 => owed_pad = 1,
                    _ => owed_pad = 0,
                }
                flush(&mut bits, &mut out);
                chars = 0;
            } else if b" \t\r\n\x0b\x0c".contains(&c) {
            } else {
                d |= Defects::BAD_BASE64;
            }
        }
        if owed_pad > 0 {
            d |= Defects::BASE64_PADDING;
        }
        match chars {
            0 => {}
            1 => d |= Defects::BAD_BASE64,
            _ => {
                d |= Defects::BASE64_PADDING;
                flush(&mut bits, &mut out);
            }
        }
        (out, d)
    }

    fn dec(input: &[u8]) -> (Vec<u8>, Defects) {
        let mut out = Vec::new();
        let d = decode(input, &mut out, usize::MAX);
        (out, d)
    }

    fn dec_limited(input: &[u8], limit: usize) -> (Vec<u8>, Defects) {
        let mut out = b"pre".to_vec();
        let d = decode(input, &mut out, limit);
        (out, d)
    }

    fn dec_scalar(input: &[u8], limit: usize) -> (Vec<u8>, Defects) {
        let mut out = b"pre".to_vec();
        let d = decode_scalar(input, &mut out, limit);
        (out, d)
    }

    /// Every alignment of a clean body against the 32-byte blocks, every
    /// usual line width and break, at limits around block edges.
    #[test]
    fn simd_matches_scalar_clean_bodies() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 31 + i / 7) as u8).collect();
        for width in [0, 4, 8, 60, 64, 68, 72, 76, 77, 78, 80, 120, 124, 128] {
            for eol in [&b"\r\n"[..], b"\n", b"\r"] {
                let enc = naive_encode(&data, width, eol);
                for skip in 0..8 {
                    let enc = &enc[skip..];
                    for limit in [
                        usize::MAX,
                        0,
                        1,
                        23,
                        24,
                        25,
                        47,
                        48,
                        49,
                        56,
                        57,
                        58,
                        95,
                        96,
                        97,
                        113,
                        114,
                        115,
                        1000,
                        2249,
                    ] {
                        assert_eq!(
                            dec_limited(enc, limit),
                            dec_scalar(enc, limit),
                            "width {width} eol {eol:?} skip {skip} limit {limit}"
                        );
                    }
                }
            }
        }
    }

    /// Every byte of the first lines of a wrapped body replaced (and, in
    /// turn, a byte inserted) with each kind of unusual character (0xc1 and
    /// 0xaf are `A` and `/` with bit 7 set): the SIMD line modes must hand
    /// each one back at exactly the right place.
    #[test]
    fn simd_matches_scalar_junk_everywhere() {
        let data: Vec<u8> = (0..900u32).map(|i| (i * 37 + i / 11) as u8).collect();
        for width in [64, 68, 72, 76, 80, 124, 128] {
            for eol in [&b"\r\n"[..], b"\n"] {
                let enc = naive_encode(&data, width, eol);
                let span = (3 * (width + eol.len()) + 70).min(enc.len());
                for at in 0..span {
                    for c in [
                        b'*', b'=', b' ', b'\n', b'\r', 0x80, 0xff, 0x00, 0xc1, 0xaf, b'A',
                    ] {
                        let mut e = enc.clone();
                        e[at] = c;
                        for limit in [usize::MAX, 100, 171] {
                            assert_eq!(
                                dec_limited(&e, limit),
                                dec_scalar(&e, limit),
                                "width {width} eol {eol:?} at {at} byte {c} limit {limit}"
                            );
                        }
                        let mut e = enc.clone();
                        e.insert(at, c);
                        assert_eq!(
                            dec_limited(&e, usize::MAX),
                            dec_scalar(&e, usize::MAX),
                            "width {width} eol {eol:?} insert at {at} byte {c}"
                        );
                    }
                }
                // Every limit around the first lines and blocks.
                for limit in 0..400 {
                    assert_eq!(
                        dec_limited(&enc, limit),
                        dec_scalar(&enc, limit),
                        "width {width} eol {eol:?} limit {limit}"
                    );
                }
            }
        }
    }

    #[test]
    fn clean() {
        assert_eq!(dec(b""), (vec![], Defects::empty()));
        assert_eq!(dec(b"Zm9v"), (b"foo".to_vec(), Defects::empty()));
        assert_eq!(dec(b"Zm9vYg=="), (b"foob".to_vec(), Defects::empty()));
        assert_eq!(dec(b"Zm9vYmE="), (b"fooba".to_vec(), Defects::empty()));
        assert_eq!(
            dec(b"Zm9v\r\nYmFy\r\n"),
            (b"foobar".to_vec(), Defects::empty())
        );
        assert_eq!(
            dec(b" Zm 9v\tYm\nFy "),
            (b"foobar".to_vec(), Defects::empty())
        );
    }

    #[test]
    fn appends() {
        let mut out = b"x".to_vec();
        decode(b"Zm9v", &mut out, usize::MAX);
        assert_eq!(out, b"xfoo");
    }

    #[test]
    fn lenient() {
        assert_eq!(dec(b"Zm9vYg"), (b"foob".to_vec(), Defects::BASE64_PADDING));
        assert_eq!(dec(b"Zm9vYg="), (b"foob".to_vec(), Defects::BASE64_PADDING));
        assert_eq!(
            dec(b"Zm9vYmE"),
            (b"fooba".to_vec(), Defects::BASE64_PADDING)
        );
        assert_eq!(dec(b"Zm9vY"), (b"foo".to_vec(), Defects::BAD_BASE64));
        assert_eq!(dec(b"Zm9v*YmFy"), (b"foobar".to_vec(), Defects::BAD_BASE64));
        assert_eq!(
            dec(b"Zm9v\x00\xffYmFy"),
            (b"foobar".to_vec(), Defects::BAD_BASE64)
        );
        assert_eq!(
            dec(b"Zg==Zm9v"),
            (b"ffoo".to_vec(), Defects::BASE64_AFTER_PADDING)
        );
        assert_eq!(
            dec(b"Zg=Zm9v"),
            (
                b"ffoo".to_vec(),
                Defects::BASE64_AFTER_PADDING | Defects::BASE64_PADDING
            )
        );
        assert_eq!(dec(b"Zm9v===="), (b"foo".to_vec(), Defects::BASE64_PADDING));
        assert_eq!(
            dec(b"Zm9vYg===\n"),
            (b"foob".to_vec(), Defects::BASE64_PADDING)
        );
        assert_eq!(
            dec(b"Z==="),
            (vec![], Defects::BAD_BASE64 | Defects::BASE64_PADDING)
        );
    }

    #[test]
    fn big_clean_body() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        for eol in [&b"\r\n"[..], b"\n", b"\r"] {
            let enc = naive_encode(&data, 76, eol);
            assert_eq!(dec(&enc), (data.clone(), Defects::empty()));
        }
    }

    #[test]
    fn limit_is_honoured() {
        let data: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        let enc = naive_encode(&data, 76, b"\r\n");
        for limit in [0, 1, 2, 3, 5, 6, 7, 100, 999, 1000, 1001] {
            let mut out = b"pre".to_vec();
            let d = decode(&enc, &mut out, limit);
            let n = limit.min(1000);
            assert_eq!(&out[3..], &data[..n]);
            assert_eq!(
                d.contains(Defects::DECODED_SIZE_LIMIT),
                limit < 1000,
                "{limit}"
            );
        }
    }

    proptest! {
        #[test]
        fn round_trip(
            data in proptest::collection::vec(any::<u8>(), 0..600),
            width in prop_oneof![Just(0usize), Just(76), Just(64), 1usize..100],
            crlf in any::<bool>(),
        ) {
            let enc = naive_encode(&data, width, if crlf { b"\r\n" } else { b"\n" });
            let (out, d) = dec(&enc);
            prop_assert_eq!(out, data);
            prop_assert_eq!(d, Defects::empty());
        }

        #[test]
        fn round_trip_with_junk(
            data in proptest::collection::vec(any::<u8>(), 0..400),
            width in 1usize..100,
            junk in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        ) {
            let mut enc = naive_encode(&data, width, b"\n");
            // Strip padding so junk never lands after it.
            while enc.last().is_some_and(|&c| c == b'=' || c == b'\n') {
                enc.pop();
            }
            let mut junked = enc.clone();
            let mut any_junk = false;
            for (at, c) in junk {
                if CLASS[c as usize] == JUNK {
                    any_junk = true;
                    junked.insert(at.index(junked.len() + 1), c);
                }
            }
            let (out, d) = dec(&junked);
            prop_assert_eq!(out, data);
            prop_assert_eq!(d.contains(Defects::BAD_BASE64), any_junk);
        }

        #[test]
        fn encode_round_trips_cleanly(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut enc = Vec::new();
            encode(&data, &mut enc);
            prop_assert!(enc.split(|&b| b == b'\n').all(|l| l.len() <= 77));
            let (out, d) = dec(&enc);
            prop_assert_eq!(out, data);
            prop_assert!(d.is_empty());
        }

        #[test]
        fn fast_path_matches_oracle(input in proptest::collection::vec(
            prop_oneof![
                8 => proptest::sample::select(ALPHA.to_vec()),
                1 => proptest::sample::select(b"=\r\n \t*-".to_vec()),
                1 => any::<u8>(),
            ], 0..300)) {
            prop_assert_eq!(dec(&input), naive_decode(&input));
        }

        #[test]
        fn arbitrary_bytes_match_oracle(input in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(dec(&input), naive_decode(&input));
        }

        // The SIMD kernel (where the CPU has one) against the scalar path:
        // bytes and defects, at any limit. Long enough inputs to go through
        // many 32-byte blocks, with line breaks of every kind.
        #[test]
        fn simd_matches_scalar_encoded(
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            width in prop_oneof![Just(76usize), Just(64), Just(72), Just(0), 1usize..140],
            eol in prop_oneof![Just(&b"\r\n"[..]), Just(&b"\n"[..]), Just(&b"\r"[..]),
                Just(&b" \r\n"[..]), Just(&b"\r\r\n"[..])],
            edits in proptest::collection::vec(
                (any::<prop::sample::Index>(), prop_oneof![
                    3 => proptest::sample::select(b"=\r\n \t\x0b\x0c*-.:\x00\x80\xff".to_vec()),
                    1 => any::<u8>(),
                ], any::<bool>()),
                0..6),
            limit in prop_oneof![Just(usize::MAX), 0usize..1600],
        ) {
            let mut enc = naive_encode(&data, width, eol);
            for (at, c, replace) in edits {
                let at = at.index(enc.len() + 1);
                if replace && at < enc.len() {
                    enc[at] = c;
                } else {
                    enc.insert(at, c);
                }
            }
            prop_assert_eq!(dec_limited(&enc, limit), dec_scalar(&enc, limit));
        }

        // Long bodies in the line widths the AVX-512 line mode takes (and
        // their neighbours), with separately padded blobs glued together
        // and a few edits, at limits anywhere.
        #[test]
        fn simd_matches_scalar_wide_lines(
            blobs in proptest::collection::vec(
                proptest::collection::vec(any::<u8>(), 0..1500), 1..4),
            width in prop_oneof![
                4 => Just(76usize), 1 => Just(64), 1 => Just(72), 1 => Just(124),
                1 => (15usize..33).prop_map(|q| q * 4), 1 => 60usize..132,
            ],
            eol in prop_oneof![Just(&b"\r\n"[..]), Just(&b"\n"[..]), Just(&b"\r"[..]),
                Just(&b"\n\r"[..]), Just(&b"\r\r\n"[..])],
            edits in proptest::collection::vec(
                (any::<prop::sample::Index>(), prop_oneof![
                    3 => proptest::sample::select(b"=\r\n \t*\x00\x7f\x80\xff".to_vec()),
                    1 => any::<u8>(),
                ], any::<bool>()),
                0..4),
            limit in prop_oneof![Just(usize::MAX), 0usize..4000],
        ) {
            let mut enc = Vec::new();
            for b in &blobs {
                enc.extend_from_slice(&naive_encode(b, width, eol));
            }
            for (at, c, replace) in edits {
                let at = at.index(enc.len() + 1);
                if replace && at < enc.len() {
                    enc[at] = c;
                } else {
                    enc.insert(at, c);
                }
            }
            prop_assert_eq!(dec_limited(&enc, limit), dec_scalar(&enc, limit));
        }

        #[test]
        fn simd_matches_scalar_mixed(
            input in proptest::collection::vec(prop_oneof![
                40 => proptest::sample::select(ALPHA.to_vec()),
                2 => proptest::sample::select(b"\r\n".to_vec()),
                1 => proptest::sample::select(b"= \t\x0b\x0c*".to_vec()),
                1 => any::<u8>(),
            ], 0..1500),
            limit in prop_oneof![Just(usize::MAX), 0usize..1200],
        ) {
            prop_assert_eq!(dec_limited(&input, limit), dec_scalar(&input, limit));
        }

        #[test]
        fn simd_matches_scalar_arbitrary(
            input in proptest::collection::vec(any::<u8>(), 0..600),
            limit in prop_oneof![Just(usize::MAX), 0usize..500],
        ) {
            prop_assert_eq!(dec_limited(&input, limit), dec_scalar(&input, limit));
        }

        #[test]
        fn limit_matches_oracle(
            input in proptest::collection::vec(prop_oneof![
                10 => proptest::sample::select(ALPHA.to_vec()),
                1 => proptest::sample::select(b"=\r\n*".to_vec()),
            ], 0..300),
            limit in 0usize..250,
        ) {
            let (full, _) = naive_decode(&input);
            let mut out = Vec::new();
            let d = decode(&input, &mut out, limit);
            prop_assert_eq!(&out[..], &full[..full.len().min(limit)]);
            prop_assert_eq!(d.contains(Defects::DECODED_SIZE_LIMIT), full.len() > limit);
        }
    }
}
