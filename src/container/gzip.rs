//! gzip (RFC 1952).
//!
//! A gzip file is one or more members, each a header, a raw deflate
//! stream and a CRC-32/size trailer. `gunzip` writes the members out one
//! after the other as a single file, and so do we: the whole file is one
//! container member, named by the first header's `FNAME` field (the
//! original file name, as stored bytes).
//!
//! The output is bounded by the [`Bounds`] as it is produced. A bad
//! header, a damaged stream, a missing trailer, a CRC or size mismatch and
//! trailing bytes that are neither another member nor zero padding all set
//! [`Outcome::corrupt`]; whatever was inflated before the damage is still
//! visited.

use super::Bounds;
use super::{Budget, Codec, End, Member, Outcome, expand, u32le};

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

/// A parsed member header: where the deflate stream starts, and the name.
struct Header<'d> {
    body: usize,
    name: &'d [u8],
}

/// Parses a member header at `at`; `None` when it is not one.
fn header(data: &[u8], at: usize) -> Option<Header<'_>> {
    let h = data.get(at..at.checked_add(10)?)?;
    if h[0] != 0x1f || h[1] != 0x8b || h[2] != 8 || h[3] & 0xe0 != 0 {
        return None;
    }
    let flags = h[3];
    let mut pos = at + 10;
    if flags & FEXTRA != 0 {
        let xlen = super::u16le(data, pos)? as usize;
        pos = pos.checked_add(2 + xlen)?;
    }
    let mut name: &[u8] = &[];
    if flags & FNAME != 0 {
        let rest = data.get(pos..)?;
        let n = memchr::memchr(0, rest)?;
        name = &rest[..n];
        pos += n + 1;
    }
    if flags & FCOMMENT != 0 {
        let rest = data.get(pos..)?;
        pos += memchr::memchr(0, rest)? + 1;
    }
    if flags & FHCRC != 0 {
        pos += 2;
    }
    if pos > data.len() {
        return None;
    }
    Some(Header { body: pos, name })
}

/// Walks a gzip file: one member, the members' output concatenated.
pub(crate) fn walk(
    data: &[u8],
    bounds: &Bounds,
    scratch: &mut Vec<u8>,
    visit: &mut dyn FnMut(&Member<'_>, &[u8]),
) -> Outcome {
    let mut budget = Budget::new(bounds);
    let Some(first) = header(data, 0) else {
        budget.out.corrupt = true;
        return budget.out;
    };
    let Some(position) = budget.next_position() else {
        return budget.out;
    };
    scratch.clear();
    let cap = budget.cap();
    let mut declared: u64 = 0;
    let mut pos = 0usize;
    let mut limit = None;
    loop {
        let Some(h) = header(data, pos) else {
            // Trailing bytes: zero padding is common (tape blocks); any
            // other garbage is damage.
            if data[pos..].iter().any(|&b| b != 0) {
                budget.out.corrupt = true;
            }
            break;
        };
        let mut codec = Codec::deflate();
        let before = scratch.len();
        let (used, end) = expand(
            &mut codec,
            &data[h.body..],
            data.len() as u64,
            scratch,
            cap,
            &budget,
        );
        match end {
            End::Complete => {}
            End::Damaged => {
                budget.out.corrupt = true;
                break;
            }
            End::Limit(hit) => {
                limit = Some(hit);
                break;
            }
        }
        let trailer = h.body + used;
        match (u32le(data, trailer), u32le(data, trailer + 4)) {
            (Some(crc), Some(isize)) => {
                let mut c = flate2::Crc::new();
                c.update(&scratch[before..]);
                let len = (scratch.len() - before) as u32;
                if c.sum() != crc || isize != len {
                    budget.out.corrupt = true;
                }
                declared += u64::from(isize);
                pos = trailer + 8;
            }
            _ => {
                budget.out.corrupt = true;
                break;
            }
        }
        if pos >= data.len() {
            break;
        }
    }
    budget.out.expanded += scratch.len() as u64;
    if let Some(hit) = limit {
        budget.hit(hit);
    }
    let member = Member {
        name: first.name,
        position,
        compressed_size: data.len() as u64,
        size: if declared > 0 {
            declared
        } else {
            scratch.len() as u64
        },
        encrypted: false,
    };
    visit(&member, scratch);
    budget.out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gz(name: Option<&str>, body: &[u8]) -> Vec<u8> {
        let mut b = flate2::GzBuilder::new();
        if let Some(n) = name {
            b = b.filename(n);
        }
        let mut e = b.write(Vec::new(), Compression::default());
        e.write_all(body).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn round_trip_with_name() {
        let data = gz(Some("invoice.exe"), b"hello gzip world");
        let (got, out) = collect(Kind::Gzip, &data, &roomy());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, b"invoice.exe");
        assert_eq!(got[0].1, 1);
        assert_eq!(got[0].3, b"hello gzip world");
        assert_eq!(out.members, 1);
        assert_eq!(out.expanded, 16);
        assert!(!out.corrupt && out.limit.is_none());
    }

    #[test]
    fn concatenated_members_are_one() {
        let mut data = gz(Some("a"), b"first ");
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(b"second").unwrap();
        data.extend(e.finish().unwrap());
        let (got, out) = collect(Kind::Gzip, &data, &roomy());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].3, b"first second");
        assert!(!out.corrupt);
    }

    #[test]
    fn truncation_is_corrupt_never_panics() {
        let body: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let data = gz(Some("x"), &body);
        for cut in 0..data.len() {
            let (got, out) = collect(Kind::Gzip, &data[..cut], &roomy());
            assert!(out.corrupt, "cut {cut}");
            if let Some(m) = got.first() {
                assert!(body.starts_with(&m.3));
            }
        }
    }

    #[test]
    fn crc_mismatch_is_corrupt() {
        let mut data = gz(None, b"some text here");
        let n = data.len();
        data[n - 8] ^= 1;
        let (got, out) = collect(Kind::Gzip, &data, &roomy());
        assert!(out.corrupt);
        assert_eq!(got[0].3, b"some text here");
    }

    #[test]
    fn member_size_bound() {
        let data = gz(None, &[b'a'; 10_000]);
        let b = Bounds {
            max_member_size: 1000,
            ..roomy()
        };
        let (got, out) = collect(Kind::Gzip, &data, &b);
        assert_eq!(got[0].3.len(), 1000);
        assert_eq!(out.limit, Some(LimitHit::MemberSize));
        assert_eq!(out.expanded, 1000);
        // Exactly at the bound is not a hit.
        let b = Bounds {
            max_member_size: 10_000,
            ..roomy()
        };
        let (_, out) = collect(Kind::Gzip, &data, &b);
        assert_eq!(out.limit, None);
    }

    #[test]
    fn total_bound() {
        let data = gz(None, &[b'a'; 10_000]);
        let b = Bounds {
            max_total: 500,
            ..roomy()
        };
        let (got, out) = collect(Kind::Gzip, &data, &b);
        assert_eq!(got[0].3.len(), 500);
        assert_eq!(out.limit, Some(LimitHit::Total));
    }

    #[test]
    fn ratio_bound() {
        let zeros = vec![0u8; 50 << 20];
        let data = gz(None, &zeros);
        let (got, out) = collect(Kind::Gzip, &data, &roomy());
        assert_eq!(out.limit, Some(LimitHit::Ratio));
        assert!(got[0].3.len() < zeros.len());
    }

    #[test]
    fn members_bound_zero() {
        let data = gz(None, b"x");
        let b = Bounds {
            max_members: 0,
            ..roomy()
        };
        let (got, out) = collect(Kind::Gzip, &data, &b);
        assert!(got.is_empty());
        assert_eq!(out.limit, Some(LimitHit::Members));
    }
}
