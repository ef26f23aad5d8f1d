//! A bounded tar reader: POSIX ustar, GNU and pax archives, and old v7
//! tars, read in place.
//!
//! A tar is a run of 512-byte headers, each followed by its member's data
//! padded to a whole block, and ends with two zero blocks. The reader
//! checks every header's checksum (ClamAV and GNU tar accept the sum of the
//! header bytes taken as unsigned or as signed; so do we) and stops at the
//! first bad one, marking the archive corrupt: past a damaged header there
//! is no telling where the next one starts.
//!
//! Names come from, in order of preference: a pax `path=` record (from the
//! member's own `x` header, else the last global `g` header), a GNU
//! `././@LongLink` (`L`) entry, and the header's own `name`, prefixed with
//! the ustar `prefix` field when there is one. Only regular files are
//! visited (`0`, NUL and `7`); directories, links, devices and FIFOs are
//! skipped, and do not count towards `max_members` or positions.
//!
//! Member data is borrowed straight from the input. A member cut short by
//! the end of the input is visited with what exists and the archive is
//! marked corrupt. The end of the input at a block boundary, without the
//! closing zero blocks, ends the archive quietly — many tars in the wild
//! are written that way.

use std::ops::Range;

use super::{Bounds, LimitHit, Member, Outcome};

const BLOCK: usize = 512;

/// Parses an octal numeric field (leading spaces/NULs, terminated by space
/// or NUL), or a GNU base-256 one (high bit of the first byte set).
fn number(field: &[u8]) -> Option<u64> {
    if let Some(&first) = field.first()
        && first & 0x80 != 0
    {
        // Base-256: the remaining bits, big-endian. Negative values (0xff
        // lead) are not sizes.
        if first == 0xff {
            return None;
        }
        let mut n: u64 = u64::from(first & 0x7f);
        for &b in &field[1..] {
            n = n.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(n);
    }
    // An all-blank field reads as 0 (old tars leave unused fields empty).
    let mut n: u64 = 0;
    let mut i = 0;
    while i < field.len() && (field[i] == b' ' || field[i] == 0) {
        i += 1;
    }
    while i < field.len() {
        match field[i] {
            c @ b'0'..=b'7' => {
                n = n.checked_mul(8)?.checked_add(u64::from(c - b'0'))?;
            }
            b' ' | 0 => break,
            _ => return None,
        }
        i += 1;
    }
    Some(n)
}

/// Whether the header's checksum is right.
fn checksum_ok(h: &[u8]) -> bool {
    let Some(stored) = number(&h[148..156]) else {
        return false;
    };
    let mut unsigned: u64 = 0;
    let mut signed: i64 = 0;
    for (i, &b) in h.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += u64::from(b);
        signed += i64::from(b as i8);
    }
    stored == unsigned || i64::try_from(stored).is_ok_and(|s| s == signed)
}

/// A NUL-terminated field.
fn cstr(f: &[u8]) -> &[u8] {
    match memchr::memchr(0, f) {
        Some(n) => &f[..n],
        None => f,
    }
}

/// The `path` record of a pax extended header, if any.
fn pax_path(mut data: &[u8]) -> Option<&[u8]> {
    let mut path = None;
    // Records: "<len> <key>=<value>\n", len counting the whole record.
    while !data.is_empty() {
        let sp = memchr::memchr(b' ', data)?;
        let len: usize = std::str::from_utf8(&data[..sp]).ok()?.parse().ok()?;
        if len <= sp + 1 || len > data.len() {
            return path;
        }
        let rec = &data[sp + 1..len];
        let rec = rec.strip_suffix(b"\n").unwrap_or(rec);
        if let Some(v) = rec.strip_prefix(b"path=") {
            path = Some(v);
        }
        data = &data[len..];
    }
    path
}

/// Walks `data` as a tar, calling `visit` for each regular file with its
/// data (cut to the bounds).
pub(crate) fn walk(
    data: &[u8],
    bounds: &Bounds,
    visit: &mut dyn FnMut(&Member<'_>, &[u8]),
) -> Outcome {
    walk_spans(data, bounds, &mut |m, r| visit(m, &data[r]))
}

/// As [`walk`], but gives each member's data as its place in `data`.
fn walk_spans(
    data: &[u8],
    bounds: &Bounds,
    visit: &mut dyn FnMut(&Member<'_>, Range<usize>),
) -> Outcome {
    let mut out = Outcome::default();
    let mut pos = 0usize;
    let mut long_name: Option<&[u8]> = None;
    let mut pax_name: Option<&[u8]> = None;
    let mut global_name: Option<&[u8]> = None;
    let mut joined = Vec::new();
    let hit = |out: &mut Outcome, l: LimitHit| {
        out.limit.get_or_insert(l);
    };
    loop {
        if pos == data.len() {
            break;
        }
        let Some(h) = data.get(pos..pos + BLOCK) else {
            out.corrupt = true;
            break;
        };
        if h.iter().all(|&b| b == 0) {
            // One zero block then the end, or two zero blocks: the end. A
            // zero block followed by more headers is tolerated (some
            // writers concatenate archives).
            match data.get(pos + BLOCK..pos + 2 * BLOCK) {
                None => break,
                Some(next) if next.iter().all(|&b| b == 0) => break,
                Some(_) => {
                    pos += BLOCK;
                    continue;
                }
            }
        }
        if !checksum_ok(h) {
            out.corrupt = true;
            break;
        }
        let Some(size) = number(&h[124..136]) else {
            out.corrupt = true;
            break;
        };
        let kind = h[156];
        // Types whose size field does not describe following data.
        let size = if matches!(kind, b'1' | b'2' | b'3' | b'4' | b'5' | b'6') {
            0
        } else {
            size
        };
        let start = pos + BLOCK;
        let avail = data.len().saturating_sub(start);
        let end = usize::try_from(size)
            .ok()
            .and_then(|s| start.checked_add(s))
            .filter(|&e| e <= data.len());
        let body = start..end.unwrap_or(start + avail);
        let next = end
            .and_then(|e| e.checked_add(BLOCK - 1))
            .map(|e| e / BLOCK * BLOCK);

        match kind {
            b'L' => long_name = Some(cstr(&data[body.clone()])),
            b'x' => pax_name = pax_path(&data[body.clone()]),
            b'g' => global_name = pax_path(&data[body.clone()]).or(global_name),
            // A GNU long link target: not a name we use.
            b'K' => {}
            b'0' | 0 | b'7' => {
                let (pax, long) = (pax_name.take(), long_name.take());
                let name: &[u8] = if let Some(n) = pax.or(global_name) {
                    n
                } else if let Some(n) = long {
                    n
                } else {
                    let name = cstr(&h[..100]);
                    let prefix = if &h[257..263] == b"ustar\0" {
                        cstr(&h[345..500])
                    } else {
                        &[]
                    };
                    if prefix.is_empty() {
                        name
                    } else {
                        joined.clear();
                        joined.extend_from_slice(prefix);
                        joined.push(b'/');
                        joined.extend_from_slice(name);
                        &joined[..]
                    }
                };
                if out.members >= bounds.max_members {
                    hit(&mut out, LimitHit::Members);
                    return out;
                }
                let mut len = body.len() as u64;
                if len > bounds.max_member_size {
                    len = bounds.max_member_size;
                    hit(&mut out, LimitHit::MemberSize);
                }
                let room = bounds.max_total.saturating_sub(out.expanded);
                let mut stop = false;
                if len > room {
                    len = room;
                    hit(&mut out, LimitHit::Total);
                    stop = true;
                }
                out.members += 1;
                out.expanded += len;
                let m = Member {
                    name,
                    position: out.members,
                    compressed_size: size,
                    size,
                    encrypted: false,
                };
                visit(&m, body.start..body.start + len as usize);
                if stop {
                    return out;
                }
            }
            _ => {
                // Directories, links, devices, GNU volume headers, sparse
                // files (`S`: data layout we do not follow): skipped.
                long_name = None;
                pax_name = None;
            }
        }
        match next {
            Some(n) => pos = n.min(data.len()),
            None => {
                out.corrupt = true;
                break;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const WIDE: Bounds = Bounds {
        max_members: 1000,
        max_member_size: 1 << 30,
        max_total: 1 << 30,
        max_ratio: u64::MAX,
    };

    fn header(name: &[u8], size: usize, kind: u8, prefix: &[u8]) -> [u8; 512] {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name);
        h[100..107].copy_from_slice(b"0000644");
        h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = kind;
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        h[345..345 + prefix.len()].copy_from_slice(prefix);
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        h
    }

    fn entry(out: &mut Vec<u8>, name: &[u8], data: &[u8], kind: u8, prefix: &[u8]) {
        out.extend_from_slice(&header(name, data.len(), kind, prefix));
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    fn pax(rec: &str) -> Vec<u8> {
        // "<len> path=<v>\n" where len counts itself.
        let body = format!(" path={rec}\n");
        let mut len = body.len() + 1;
        if (len + 1).to_string().len() > len.to_string().len() {
            len += 1;
        }
        let n = body.len() + len.to_string().len();
        format!("{n}{body}").into_bytes()
    }

    fn list(data: &[u8], bounds: &Bounds) -> (Vec<(String, Vec<u8>, usize)>, Outcome) {
        let mut v = Vec::new();
        let o = walk(data, bounds, &mut |m, d| {
            v.push((
                String::from_utf8_lossy(m.name).into_owned(),
                d.to_vec(),
                m.position,
            ))
        });
        (v, o)
    }

    fn sample() -> Vec<u8> {
        let mut t = Vec::new();
        entry(&mut t, b"dir/", b"", b'5', b"");
        entry(&mut t, b"a.txt", b"hello", b'0', b"");
        entry(&mut t, b"b.txt", b"", b'0', b"some/prefix");
        let long = "x".repeat(150);
        entry(&mut t, b"././@LongLink", long.as_bytes(), b'L', b"");
        entry(&mut t, b"truncated-name", &[7u8; 600], b'0', b"");
        entry(&mut t, b"PaxHeader", &pax("from/pax.bin"), b'x', b"");
        entry(&mut t, b"short", b"pp", 0, b"");
        entry(&mut t, b"link", b"", b'2', b"");
        t.extend_from_slice(&[0u8; 1024]);
        t
    }

    #[test]
    fn names_and_data() {
        let t = sample();
        let (v, o) = list(&t, &WIDE);
        assert_eq!(o.members, 4);
        assert!(!o.corrupt && o.limit.is_none());
        assert_eq!(o.expanded, 5 + 600 + 2);
        assert_eq!(v[0], ("a.txt".into(), b"hello".to_vec(), 1));
        assert_eq!(v[1].0, "some/prefix/b.txt");
        assert_eq!(v[2].0, "x".repeat(150));
        assert_eq!(v[2].1, vec![7u8; 600]);
        assert_eq!(v[3], ("from/pax.bin".into(), b"pp".to_vec(), 4));
    }

    #[test]
    fn global_pax_applies_to_following() {
        let mut t = Vec::new();
        entry(&mut t, b"g", &pax("global.name"), b'g', b"");
        entry(&mut t, b"a", b"1", b'0', b"");
        entry(&mut t, b"b", b"2", b'0', b"");
        let (v, _) = list(&t, &WIDE);
        assert_eq!(v[0].0, "global.name");
        assert_eq!(v[1].0, "global.name");
    }

    #[test]
    fn name_sources_are_used_once() {
        let mut t = Vec::new();
        entry(&mut t, b"PaxHeader", &pax("pax.name"), b'x', b"");
        entry(&mut t, b"././@LongLink", b"long.name\0", b'L', b"");
        entry(&mut t, b"././@LongLink", b"link.target\0", b'K', b"");
        entry(&mut t, b"first", b"1", b'0', b"");
        entry(&mut t, b"second", b"2", b'0', b"");
        entry(&mut t, b"old", b"3", b'0', b"");
        // An old (v7) header: no magic, so the prefix field is not a prefix.
        let n = t.len() - 1024;
        t[n + 257..n + 265].fill(0);
        t[n + 345..n + 350].copy_from_slice(b"junk/");
        t[n + 148..n + 156].copy_from_slice(b"        ");
        let sum: u32 = t[n..n + 512].iter().map(|&b| u32::from(b)).sum();
        t[n + 148..n + 155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        let (v, o) = list(&t, &WIDE);
        assert!(!o.corrupt);
        let names: Vec<&str> = v.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(names, ["pax.name", "second", "old"]);
    }

    #[test]
    fn bad_checksum_stops() {
        let mut t = sample();
        t[512 + 10] ^= 1; // a.txt's header (after the dir entry)
        let (v, o) = list(&t, &WIDE);
        assert!(v.is_empty());
        assert!(o.corrupt);
    }

    #[test]
    fn truncated_member() {
        let t = sample();
        // Cut inside the 600-byte member (its header is block 6).
        let cut = 7 * 512 + 100;
        let (v, o) = list(&t[..cut], &WIDE);
        assert!(o.corrupt);
        assert_eq!(v.len(), 3);
        assert_eq!(v[2].0, "x".repeat(150));
        assert_eq!(v[2].1, vec![7u8; 100]); // what exists
        // Cut inside a header.
        let (_, o) = list(&t[..512 + 100], &WIDE);
        assert!(o.corrupt);
        // Clean end at a block boundary without zero blocks.
        let (v, o) = list(&t[..3 * 512], &WIDE);
        assert!(!o.corrupt);
        assert_eq!(v.len(), 1);
    }

    #[test]
    fn bounds() {
        let t = sample();
        let b = Bounds {
            max_members: 2,
            ..WIDE
        };
        let (v, o) = list(&t, &b);
        assert_eq!(v.len(), 2);
        assert_eq!(o.limit, Some(LimitHit::Members));
        let b = Bounds {
            max_member_size: 3,
            ..WIDE
        };
        let (v, o) = list(&t, &b);
        assert_eq!(v.len(), 4);
        assert_eq!(v[0].1, b"hel");
        assert_eq!(o.limit, Some(LimitHit::MemberSize));
        let b = Bounds {
            max_total: 10,
            ..WIDE
        };
        let (v, o) = list(&t, &b);
        assert_eq!(o.limit, Some(LimitHit::Total));
        assert_eq!(o.expanded, 10);
        assert_eq!(v.len(), 3);
        assert_eq!(v[2].1.len(), 5);
    }

    #[test]
    fn numbers() {
        assert_eq!(number(b"00000000017\0"), Some(15));
        assert_eq!(number(b"   17 \0"), Some(15));
        assert_eq!(number(b"\0\0\0"), Some(0));
        assert_eq!(number(b"0009"), None);
        assert_eq!(number(&[0x80, 0, 0, 1, 0]), Some(256));
        assert_eq!(number(&[0xff, 0xff]), None);
    }

    #[test]
    fn garbage_never_panics() {
        let t = sample();
        for i in 0..t.len().min(4096) {
            let mut u = t.clone();
            u[i] = u[i].wrapping_add(0x55);
            let _ = list(&u, &WIDE);
            let _ = list(&t[..i], &WIDE);
        }
    }
}
