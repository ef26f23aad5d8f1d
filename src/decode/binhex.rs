//! BinHex 4.0, the classic Mac encoding (`application/mac-binhex40`).
//!
//! BinHex wraps a whole Mac file — name, type and creator codes, data fork
//! and resource fork — in three layers, which the decoder peels in one
//! streaming pass without ever buffering more than it outputs:
//!
//! 1. **Text.** An optional `(This file must be converted with BinHex 4.0)`
//!    line, then the data between a `:` and the next `:`, in a 64-character
//!    alphabet of six bits each. CR, LF, spaces and tabs inside are ignored.
//! 2. **Run-length coding.** Byte `0x90` is a marker: `X 0x90 n` means `X`
//!    repeated `n` times in all, and `0x90 0x00` is a literal `0x90`.
//! 3. **Fork layout.** A header — name length, name, a zero byte, type (4),
//!    creator (4), flags (2), data fork length (4, big-endian), resource fork
//!    length (4) — then the data fork, then the resource fork, each of the
//!    three followed by its CRC-16 (polynomial 0x1021, initial value 0, the
//!    CRC-16/XMODEM flavour).
//!
//! [`decode`] outputs the data fork only: that is the part of the file a
//! non-Mac recipient gets, and what a scanner must look at. It stops after
//! the data fork's CRC. [`decode_file`] also decodes the resource fork and
//! returns the header.
//!
//! Damage is flagged with [`Defects::BAD_BINHEX`]: a character outside the
//! alphabet (skipped), a CRC that does not match, a name longer than 63
//! bytes or a non-zero version byte, a run-length marker with nothing to
//! repeat, data left over after the resource fork, or no data at all. Input
//! that ends early — inside the header or a fork, or without the closing
//! `:` — also flags [`Defects::TRUNCATED`]; what was decoded is kept. The
//! fork lengths in the header are never trusted for allocation: output is
//! bounded by `limit` (flagging [`Defects::DECODED_SIZE_LIMIT`]) and by what
//! the input really holds.
//!
//! ```
//! use filter::decode::binhex;
//!
//! // A file named "hi" holding "Hello!\n" (and no resource fork).
//! let text = b"(This file must be converted with BinHex 4.0)\r\n\r\n\
//!              :!QKT!&4&@&4dG(Kd!*!&\"`#3\")P[5'9XE'mK#[@)!!!:\r\n";
//! let mut out = Vec::new();
//! let file = binhex::decode_file(text, &mut out, usize::MAX);
//! assert_eq!(&out[file.data.clone()], b"Hello!\n");
//! assert_eq!(file.name, b"hi");
//! assert_eq!(&file.file_type, b"TEXT");
//!
//! // `decode` gives just the data fork.
//! out.clear();
//! let d = binhex::decode(text, &mut out, usize::MAX);
//! assert_eq!(out, b"Hello!\n");
//! assert!(d.is_empty());
//! assert!(file.defects.is_empty());
//! ```

use core::ops::Range;

use crate::decode::inline::{at_line_start, next_line};
use crate::defect::Defects;

/// The BinHex 4.0 alphabet, value order.
const ALPHABET: &[u8; 64] = b"!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";

const WS: u8 = 0xfe;
const JUNK: u8 = 0xff;
const COLON: u8 = 0xfd;

static VALUE: [u8; 256] = {
    let mut t = [JUNK; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t[b' ' as usize] = WS;
    t[b'\t' as usize] = WS;
    t[b'\r' as usize] = WS;
    t[b'\n' as usize] = WS;
    t[0x0b] = WS;
    t[0x0c] = WS;
    t[b':' as usize] = COLON;
    t
};

static CRC16: [u16; 256] = {
    let mut t = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u16) << 8;
        let mut k = 0;
        while k < 8 {
            c = if c & 0x8000 != 0 {
                (c << 1) ^ 0x1021
            } else {
                c << 1
            };
            k += 1;
        }
        t[i] = c;
        i += 1;
    }
    t
};

/// The BinHex CRC-16 (CRC-16/XMODEM) of `data`.
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0, |c, &b| crc16_byte(c, b))
}

#[inline]
fn crc16_byte(c: u16, b: u8) -> u16 {
    (c << 8) ^ CRC16[((c >> 8) as u8 ^ b) as usize]
}

/// What [`decode_file`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BinHexFile {
    /// The file name from the header (at most 255 bytes).
    pub name: Vec<u8>,
    /// The Mac file type code.
    pub file_type: [u8; 4],
    /// The Mac creator code.
    pub creator: [u8; 4],
    /// The Finder flags.
    pub flags: u16,
    /// The data fork length the header declares.
    pub data_len: u32,
    /// The resource fork length the header declares.
    pub rsrc_len: u32,
    /// Where the data fork went in the output buffer.
    pub data: Range<usize>,
    /// Where the resource fork went in the output buffer (empty for
    /// [`decode`]).
    pub rsrc: Range<usize>,
    /// What was wrong.
    pub defects: Defects,
}

/// The two lower layers: six-bit text, then run-length expansion.
struct Stream<'a> {
    input: &'a [u8],
    pos: usize,
    acc: u32,
    bits: u32,
    /// The closing `:` was seen.
    closed: bool,
    /// The input ended without it.
    ended: bool,
    /// The last byte output, for runs.
    last: Option<u8>,
    /// Copies of `last` still to output.
    repeat: u32,
    d: Defects,
}

impl Stream<'_> {
    /// The next byte of the six-bit layer.
    fn raw(&mut self) -> Option<u8> {
        while self.bits < 8 {
            if self.closed || self.ended {
                return None;
            }
            let Some(&c) = self.input.get(self.pos) else {
                self.ended = true;
                return None;
            };
            self.pos += 1;
            match VALUE[c as usize] {
                v @ 0..64 => {
                    self.acc = (self.acc << 6) | v as u32;
                    self.bits += 6;
                }
                WS => {}
                COLON => self.closed = true,
                _ => self.d |= Defects::BAD_BINHEX,
            }
        }
        self.bits -= 8;
        let b = (self.acc >> self.bits) as u8;
        self.acc &= (1 << self.bits) - 1;
        Some(b)
    }

    /// The next byte after run-length expansion.
    fn next(&mut self) -> Option<u8> {
        if self.repeat > 0 {
            self.repeat -= 1;
            return self.last;
        }
        loop {
            let b = self.raw()?;
            if b != 0x90 {
                self.last = Some(b);
                return Some(b);
            }
            let n = self.raw()?;
            if n == 0 {
                self.last = Some(0x90);
                return Some(0x90);
            }
            match self.last {
                Some(l) => {
                    if n >= 2 {
                        self.repeat = n as u32 - 2;
                        return Some(l);
                    }
                    // A run of one: the byte already went out.
                }
                None => self.d |= Defects::BAD_BINHEX,
            }
        }
    }
}

/// The fork layer: bytes with a running CRC.
struct Reader<'a> {
    s: Stream<'a>,
    crc: u16,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = self.s.next()?;
        self.crc = crc16_byte(self.crc, b);
        Some(b)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let mut a = [0u8; N];
        for x in &mut a {
            *x = self.byte()?;
        }
        Some(a)
    }

    /// Reads a CRC (not itself summed) and compares; resets the sum.
    fn check(&mut self) -> Option<bool> {
        let want = self.crc;
        let got = u16::from_be_bytes([self.s.next()?, self.s.next()?]);
        self.crc = 0;
        Some(want == got)
    }

    /// Reads `len` bytes of a fork into `out` within `room`. Returns
    /// `Err(true)` when the limit cut it, `Err(false)` when input ran out.
    fn fork(&mut self, len: u32, out: &mut Vec<u8>, room: &mut usize) -> Result<(), bool> {
        for _ in 0..len {
            if *room == 0 {
                return Err(true);
            }
            let b = self.byte().ok_or(false)?;
            out.push(b);
            *room -= 1;
        }
        Ok(())
    }
}

/// Where the encoded data starts (just after its opening `:`): after the
/// `(This file must be converted with BinHex` line when there is one, at the
/// first `:` that starts a line, or failing that the first `:` at all.
pub(crate) fn data_start(input: &[u8]) -> Option<usize> {
    let from = match memchr::memmem::find(input, b"(This file must be converted with BinHex") {
        Some(i) => next_line(input, i).1,
        None => 0,
    };
    let rest = input.get(from..)?;
    let mut first = None;
    for i in memchr::memchr_iter(b':', rest) {
        let p = from + i;
        if at_line_start(input, p) {
            return Some(p + 1);
        }
        first.get_or_insert(p + 1);
    }
    first
}

fn run(input: &[u8], out: &mut Vec<u8>, limit: usize, rsrc: bool) -> BinHexFile {
    let mut f = BinHexFile {
        data: out.len()..out.len(),
        rsrc: out.len()..out.len(),
        ..BinHexFile::default()
    };
    let Some(start) = data_start(input) else {
        f.defects = Defects::BAD_BINHEX;
        return f;
    };
    let mut r = Reader {
        s: Stream {
            input,
            pos: start,
            acc: 0,
            bits: 0,
            closed: false,
            ended: false,
            last: None,
            repeat: 0,
            d: Defects::empty(),
        },
        crc: 0,
    };
    let truncated = Defects::BAD_BINHEX | Defects::TRUNCATED;
    let d = body(&mut r, &mut f, out, limit, rsrc)
        .err()
        .unwrap_or_default();
    f.defects |= d | r.s.d;
    if d.is_empty() && rsrc {
        // Everything was read: the closing `:` must come next.
        if r.s.next().is_some() {
            f.defects |= Defects::BAD_BINHEX;
        } else if !r.s.closed {
            f.defects |= truncated;
        }
    }
    f
}

/// Reads header and forks; `Err` carries the defects that stopped it.
fn body(
    r: &mut Reader<'_>,
    f: &mut BinHexFile,
    out: &mut Vec<u8>,
    limit: usize,
    rsrc: bool,
) -> Result<(), Defects> {
    let truncated = Defects::BAD_BINHEX | Defects::TRUNCATED;
    let n = r.byte().ok_or(truncated)?;
    for _ in 0..n {
        f.name.push(r.byte().ok_or(truncated)?);
    }
    let version = r.byte().ok_or(truncated)?;
    f.file_type = r.array().ok_or(truncated)?;
    f.creator = r.array().ok_or(truncated)?;
    f.flags = u16::from_be_bytes(r.array().ok_or(truncated)?);
    f.data_len = u32::from_be_bytes(r.array().ok_or(truncated)?);
    f.rsrc_len = u32::from_be_bytes(r.array().ok_or(truncated)?);
    if n > 63 || version != 0 {
        f.defects |= Defects::BAD_BINHEX;
    }
    if !r.check().ok_or(truncated)? {
        f.defects |= Defects::BAD_BINHEX;
    }
    let mut room = limit;
    out.reserve((f.data_len as usize).min(limit).min(r.s.input.len()));
    // The data fork, then (when asked for) the resource fork, each
    // followed by its CRC.
    let forks = if rsrc { 2 } else { 1 };
    for fork in 0..forks {
        let len = if fork == 0 { f.data_len } else { f.rsrc_len };
        let s = out.len();
        let res = r.fork(len, out, &mut room);
        *(if fork == 0 { &mut f.data } else { &mut f.rsrc }) = s..out.len();
        res.map_err(|cut| {
            if cut {
                Defects::DECODED_SIZE_LIMIT
            } else {
                truncated
            }
        })?;
        if !r.check().ok_or(truncated)? {
            f.defects |= Defects::BAD_BINHEX;
        }
    }
    Ok(())
}

/// Appends the data fork of the BinHex file in `input` to `out`, at most
/// `limit` bytes.
///
/// See the module docs for what is checked.
pub fn decode(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Defects {
    run(input, out, limit, false).defects
}

/// Decodes the whole BinHex file in `input`: appends its data fork and then
/// its resource fork to `out` (at most `limit` bytes together) and returns
/// the header, where the forks went, and the defects.
pub fn decode_file(input: &[u8], out: &mut Vec<u8>, limit: usize) -> BinHexFile {
    run(input, out, limit, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The un-encoded layout of a file: header, forks, CRCs.
    fn plain_file(name: &[u8], data: &[u8], rsrc: &[u8]) -> Vec<u8> {
        let mut plain = Vec::new();
        let name = &name[..name.len().min(63)];
        plain.push(name.len() as u8);
        plain.extend_from_slice(name);
        plain.push(0);
        plain.extend_from_slice(b"TEXTttxt");
        plain.extend_from_slice(&[0, 0]);
        plain.extend_from_slice(&(data.len() as u32).to_be_bytes());
        plain.extend_from_slice(&(rsrc.len() as u32).to_be_bytes());
        let c = crc16(&plain);
        plain.extend_from_slice(&c.to_be_bytes());
        for fork in [data, rsrc] {
            plain.extend_from_slice(fork);
            plain.extend_from_slice(&crc16(fork).to_be_bytes());
        }
        plain
    }

    /// A naive encoder: run-length coding, then six-bit text at 64 columns.
    fn encode_plain(plain: &[u8], out: &mut Vec<u8>) {
        // Run-length coding.
        let mut rle = Vec::new();
        let mut i = 0;
        while i < plain.len() {
            let b = plain[i];
            let mut n = 1;
            while i + n < plain.len() && plain[i + n] == b && n < 255 {
                n += 1;
            }
            if b == 0x90 {
                rle.extend_from_slice(&[0x90, 0]);
                n = 1;
            } else if n >= 3 {
                rle.extend_from_slice(&[b, 0x90, n as u8]);
            } else {
                rle.push(b);
                n = 1;
            }
            i += n;
        }
        // Six-bit text, 64 columns.
        out.extend_from_slice(b"(This file must be converted with BinHex 4.0)\r\n\r\n:");
        let mut col = 1;
        for g in rle.chunks(3) {
            let v = (g[0] as u32) << 16
                | (*g.get(1).unwrap_or(&0) as u32) << 8
                | *g.get(2).unwrap_or(&0) as u32;
            for k in 0..=g.len() {
                out.push(ALPHABET[(v >> (18 - 6 * k) & 63) as usize]);
                col += 1;
                if col == 64 {
                    out.extend_from_slice(b"\r\n");
                    col = 0;
                }
            }
        }
        out.extend_from_slice(b":\r\n");
    }

    fn encode_for_tests(name: &[u8], data: &[u8], rsrc: &[u8], out: &mut Vec<u8>) {
        encode_plain(&plain_file(name, data, rsrc), out);
    }

    fn enc(name: &[u8], data: &[u8], rsrc: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        encode_for_tests(name, data, rsrc, &mut v);
        v
    }

    fn dec(input: &[u8]) -> (Vec<u8>, Defects) {
        let mut out = Vec::new();
        let d = decode(input, &mut out, usize::MAX);
        (out, d)
    }

    /// The naive oracle: decode the text to bytes, expand runs, slice the
    /// forks out of the whole buffer.
    fn naive(input: &[u8]) -> Option<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        let start = data_start(input)?;
        let mut bits = Vec::new();
        for &c in &input[start..] {
            if c == b':' {
                break;
            }
            if let Some(v) = ALPHABET.iter().position(|&a| a == c) {
                for k in (0..6).rev() {
                    bits.push((v >> k) & 1);
                }
            }
        }
        let raw: Vec<u8> = bits
            .chunks_exact(8)
            .map(|c| c.iter().fold(0u8, |a, &b| (a << 1) | b as u8))
            .collect();
        let mut plain: Vec<u8> = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            if raw[i] == 0x90 && i + 1 < raw.len() {
                let n = raw[i + 1];
                if n == 0 {
                    plain.push(0x90);
                } else {
                    let last = *plain.last()?;
                    for _ in 1..n {
                        plain.push(last);
                    }
                }
                i += 2;
            } else {
                plain.push(raw[i]);
                i += 1;
            }
        }
        let n = plain[0] as usize;
        let name = plain[1..1 + n].to_vec();
        let h = 1 + n + 1 + 10;
        let dl = u32::from_be_bytes(plain[h..h + 4].try_into().unwrap()) as usize;
        let rl = u32::from_be_bytes(plain[h + 4..h + 8].try_into().unwrap()) as usize;
        let d0 = h + 10;
        let data = plain[d0..d0 + dl].to_vec();
        let r0 = d0 + dl + 2;
        Some((name, data, plain[r0..r0 + rl].to_vec()))
    }

    #[test]
    fn alphabet_and_crc() {
        let mut seen = [false; 256];
        for &c in ALPHABET {
            assert!(!seen[c as usize]);
            seen[c as usize] = true;
        }
        // Same value as Python's binascii.crc_hqx(b"123456789", 0).
        assert_eq!(crc16(b"123456789"), 0x31c3);
    }

    #[test]
    fn name_without_data() {
        let e = enc(b"evil.exe", &[7u8; 5000], b"");
        let mut out = Vec::new();
        let f = decode_file(&e, &mut out, 0);
        assert_eq!((f.name.as_slice(), out.len()), (&b"evil.exe"[..], 0));
        assert!(f.defects.contains(Defects::DECODED_SIZE_LIMIT));
    }

    #[test]
    fn normal() {
        let data = b"Hello, world!\n\x90\x90\x90 zeros: \0\0\0\0\0\0\0\0\0\0 end".to_vec();
        let e = enc(b"greeting.txt", &data, b"RSRC");
        assert_eq!(dec(&e), (data.clone(), Defects::empty()));
        let mut out = b"x".to_vec();
        let f = decode_file(&e, &mut out, usize::MAX);
        assert_eq!(f.defects, Defects::empty());
        assert_eq!(f.name, b"greeting.txt");
        assert_eq!(&out[f.data.clone()], &data[..]);
        assert_eq!(&out[f.rsrc.clone()], b"RSRC");
        assert_eq!((f.data_len, f.rsrc_len), (data.len() as u32, 4));
        assert_eq!(&f.file_type, b"TEXT");
        // Without the banner line, with LF only.
        let lf: Vec<u8> = e.iter().copied().filter(|&c| c != b'\r').collect();
        let at = lf.iter().position(|&c| c == b':').unwrap();
        assert_eq!(dec(&lf[at..]), (data, Defects::empty()));
    }

    #[test]
    fn malformed() {
        let data = b"some data here".to_vec();
        let e = enc(b"f", &data, b"");
        // A bad character is skipped and flagged; the CRC then still holds.
        let mut bad = e.clone();
        let at = bad.len() - 10;
        bad.insert(at, b'~');
        assert_eq!(dec(&bad), (data.clone(), Defects::BAD_BINHEX));
        // A changed character breaks a CRC.
        let mut bad = e.clone();
        let colon = bad.iter().position(|&c| c == b':').unwrap();
        let at = colon + 30;
        bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
        assert!(dec(&bad).1.contains(Defects::BAD_BINHEX));
        // Truncated.
        let cut = &e[..colon + 20];
        let (out, d) = dec(cut);
        assert!(d.contains(Defects::TRUNCATED | Defects::BAD_BINHEX));
        assert!(data.starts_with(&out));
        // No colon at all.
        assert_eq!(dec(b"nothing here"), (vec![], Defects::BAD_BINHEX));
        // Missing closing colon (decode_file notices).
        let open = &e[..e.len() - 3];
        let mut out = Vec::new();
        let f = decode_file(open, &mut out, usize::MAX);
        assert_eq!(f.defects, Defects::BAD_BINHEX | Defects::TRUNCATED);
        assert_eq!(&out[f.data], &data[..]);
    }

    #[test]
    fn huge_declared_length_is_not_trusted() {
        // Header claims a 4 GB data fork; input holds a few bytes.
        let mut plain = plain_file(b"f", b"abc", b"");
        plain[13..17].copy_from_slice(&u32::MAX.to_be_bytes());
        let c = crc16(&plain[..21]);
        plain[21..23].copy_from_slice(&c.to_be_bytes());
        let mut e = Vec::new();
        encode_plain(&plain, &mut e);
        let mut out = Vec::new();
        let d = decode(&e, &mut out, usize::MAX);
        assert_eq!(d, Defects::BAD_BINHEX | Defects::TRUNCATED);
        assert!(out.starts_with(b"abc"));
        assert!(out.capacity() < 1 << 20);
    }

    #[test]
    fn limit_is_honoured() {
        let data: Vec<u8> = (0..300u32).map(|i| (i / 7) as u8).collect();
        let e = enc(b"f", &data, b"");
        for limit in [0, 1, 7, 299, 300, 301] {
            let mut out = vec![1];
            let d = decode(&e, &mut out, limit);
            assert_eq!(&out[1..], &data[..limit.min(300)]);
            assert_eq!(d.contains(Defects::DECODED_SIZE_LIMIT), limit < 300);
        }
    }

    proptest! {
        #[test]
        fn round_trip(
            name in proptest::collection::vec(any::<u8>(), 0..70),
            data in proptest::collection::vec(prop_oneof![Just(0u8), Just(0x90), any::<u8>()], 0..600),
            rsrc in proptest::collection::vec(prop_oneof![Just(7u8), any::<u8>()], 0..100),
        ) {
            let e = enc(&name, &data, &rsrc);
            prop_assert_eq!(dec(&e), (data.clone(), Defects::empty()));
            let mut out = Vec::new();
            let f = decode_file(&e, &mut out, usize::MAX);
            prop_assert_eq!(f.defects, Defects::empty());
            let (nname, ndata, nrsrc) = naive(&e).unwrap();
            prop_assert_eq!(&f.name, &nname);
            prop_assert_eq!(&out[f.data], &ndata[..]);
            prop_assert_eq!(&out[f.rsrc], &nrsrc[..]);
            prop_assert_eq!(ndata, data);
        }

        #[test]
        fn arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..400), limit in 0usize..300) {
            let mut out = Vec::new();
            decode(&input, &mut out, limit);
            prop_assert!(out.len() <= limit);
            let mut out = Vec::new();
            decode_file(&input, &mut out, limit);
            prop_assert!(out.len() <= limit);
        }

        #[test]
        fn arbitrary_alphabet_text(body in proptest::collection::vec(proptest::sample::select(ALPHABET.to_vec()), 0..400)) {
            let mut input = b":".to_vec();
            input.extend(body);
            input.push(b':');
            let mut out = Vec::new();
            decode_file(&input, &mut out, 10_000);
            prop_assert!(out.len() <= 10_000);
        }
    }
}
