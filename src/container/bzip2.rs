//! bzip2.
//!
//! A bzip2 file holds one compressed file and no name, so it is one
//! member with an empty name. Parallel compressors (`pbzip2`) write
//! several complete streams back to back, which `bunzip2` joins; we join
//! them too. Output is bounded as it is produced (see [`super`]); a
//! damaged or truncated stream, or trailing bytes that are neither another
//! stream nor zero padding, set [`Outcome::corrupt`], and what was
//! expanded before the damage is still visited.

use super::{Bounds, Budget, Codec, End, Member, Outcome, expand};

/// Walks a bzip2 file: one member, every stream's output joined.
pub(crate) fn walk(
    data: &[u8],
    bounds: &Bounds,
    scratch: &mut Vec<u8>,
    visit: &mut dyn FnMut(&Member<'_>, &[u8]),
) -> Outcome {
    let mut budget = Budget::new(bounds);
    if !data.starts_with(b"BZh") {
        budget.out.corrupt = true;
        return budget.out;
    }
    let Some(position) = budget.next_position() else {
        return budget.out;
    };
    scratch.clear();
    let cap = budget.cap();
    let mut pos = 0usize;
    let mut limit = None;
    while pos < data.len() {
        if !data[pos..].starts_with(b"BZh") {
            if data[pos..].iter().any(|&b| b != 0) {
                budget.out.corrupt = true;
            }
            break;
        }
        let mut codec = Codec::bzip2();
        let (used, end) = expand(
            &mut codec,
            &data[pos..],
            data.len() as u64,
            scratch,
            cap,
            &budget,
        );
        match end {
            End::Complete => pos += used.max(1),
            End::Damaged => {
                budget.out.corrupt = true;
                break;
            }
            End::Limit(hit) => {
                limit = Some(hit);
                break;
            }
        }
    }
    budget.out.expanded += scratch.len() as u64;
    if let Some(hit) = limit {
        budget.hit(hit);
    }
    let member = Member {
        name: &[],
        position,
        compressed_size: data.len() as u64,
        size: scratch.len() as u64,
        encrypted: false,
    };
    visit(&member, scratch);
    budget.out
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::super::*;
    use std::io::Write;

    fn bz(body: &[u8]) -> Vec<u8> {
        let mut e = ::bzip2::write::BzEncoder::new(Vec::new(), ::bzip2::Compression::fast());
        e.write_all(body).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn round_trip() {
        let data = bz(b"hello bzip2");
        let (got, out) = collect(Kind::Bzip2, &data, &roomy());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, b"");
        assert_eq!(got[0].3, b"hello bzip2");
        assert!(!out.corrupt && out.limit.is_none());
        assert_eq!(out.expanded, 11);
    }

    #[test]
    fn concatenated_streams() {
        let mut data = bz(b"one ");
        data.extend(bz(b"two"));
        let (got, out) = collect(Kind::Bzip2, &data, &roomy());
        assert_eq!(got[0].3, b"one two");
        assert!(!out.corrupt);
    }

    #[test]
    fn truncation_never_panics() {
        let body: Vec<u8> = (0..5000u32).map(|i| (i * 13 % 97) as u8).collect();
        let data = bz(&body);
        for cut in 0..data.len() {
            let (got, out) = collect(Kind::Bzip2, &data[..cut], &roomy());
            assert!(out.corrupt, "cut {cut}");
            if let Some(m) = got.first() {
                assert!(body.starts_with(&m.3));
            }
        }
        let mut bad = data.clone();
        bad[20] ^= 0x55;
        let _ = collect(Kind::Bzip2, &bad, &roomy());
    }

    #[test]
    fn bounds() {
        let data = bz(&[7u8; 100_000]);
        let b = Bounds {
            max_member_size: 4096,
            ..roomy()
        };
        let (got, out) = collect(Kind::Bzip2, &data, &b);
        assert_eq!(got[0].3.len(), 4096);
        assert_eq!(out.limit, Some(LimitHit::MemberSize));
        let b = Bounds {
            max_total: 4096,
            ..roomy()
        };
        let (_, out) = collect(Kind::Bzip2, &data, &b);
        assert_eq!(out.limit, Some(LimitHit::Total));
        // 20 MiB of one byte compresses far past 1000:1.
        let data = bz(&vec![0u8; 20 << 20]);
        let (_, out) = collect(Kind::Bzip2, &data, &roomy());
        assert_eq!(out.limit, Some(LimitHit::Ratio));
    }
}
