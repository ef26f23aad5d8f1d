//! Hash signatures: `.hdb`/`.hsb` (whole-file digests), `.mdb`/`.msb` (PE
//! section digests), `.fp`/`.sfp` (allow-lists) and `.ign`/`.ign2`
//! (signatures to drop).
//!
//! This is the hot path of a load — `main.cvd` and `daily.cvd` carry
//! millions of hash lines — so a line is split by hand (the common
//! `hash:size:name` in one pass), the digest decoded straight into a fixed
//! array, and nothing is allocated: the loader appends the name to its
//! list's [`super::Names`] and the row to its [`super::HashList`].

use super::{HashKind, LineError, flevel_fields};

/// A parsed hash line, borrowing its name from the line.
#[derive(Debug)]
pub(super) struct Line<'a> {
    pub(super) kind: HashKind,
    /// Left-aligned; only `kind`'s length is meaningful.
    pub(super) digest: [u8; 32],
    pub(super) size: Option<u64>,
    /// As written (no suffix).
    pub(super) name: &'a str,
}

/// A parsed hash line, or a skip.
pub(super) enum Parsed<'a> {
    /// Load this.
    Sig(Line<'a>),
    /// Outside our functionality level.
    SkipFlevel,
}

/// Lowest minimum flevel ClamAV accepts on a hash line whose size is `*`.
const WILDCARD_SIZE_FLEVEL: u32 = 73;

/// Hex digit values; 0xff for anything else.
const HEX: [u8; 256] = {
    let mut t = [0xffu8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => 0xff,
        };
        i += 1;
    }
    t
};

/// Decodes a hex digest of 32, 40 or 64 digits.
pub(super) fn digest(hex: &str) -> Result<(HashKind, [u8; 32]), LineError> {
    let kind = match hex.len() {
        32 => HashKind::Md5,
        40 => HashKind::Sha1,
        64 => HashKind::Sha256,
        _ => return Err(LineError::Hash(hex.to_string())),
    };
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let (h, l) = (HEX[pair[0] as usize], HEX[pair[1] as usize]);
        bad |= h | l;
        *o = h << 4 | (l & 15);
    }
    if bad & 0xf0 != 0 {
        return Err(LineError::Hash(hex.to_string()));
    }
    Ok((kind, out))
}

fn size(s: &str) -> Result<Option<u64>, LineError> {
    if s == "*" {
        return Ok(None);
    }
    // `u64::from_str` accepts a leading `+`; ClamAV's atoi-style parse does
    // not want signs, and neither do we.
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LineError::Number {
            field: "size",
            value: s.to_string(),
        });
    }
    s.parse().map(Some).map_err(|_| LineError::Number {
        field: "size",
        value: s.to_string(),
    })
}

/// The common line, `hash:size:name` with no flevel fields, parsed in one
/// pass over its bytes; `None` sends anything else (errors included) to
/// the general parser.
fn fast(line: &str) -> Option<Line<'_>> {
    let b = line.as_bytes();
    let (kind, hl) = match (b.get(32), b.get(40), b.get(64)) {
        (Some(b':'), _, _) => (HashKind::Md5, 32),
        (_, Some(b':'), _) => (HashKind::Sha1, 40),
        (_, _, Some(b':')) => (HashKind::Sha256, 64),
        _ => return None,
    };
    let mut digest = [0u8; 32];
    let mut bad = 0u8;
    for (o, pair) in digest.iter_mut().zip(b[..hl].chunks_exact(2)) {
        let (h, l) = (HEX[pair[0] as usize], HEX[pair[1] as usize]);
        bad |= h | l;
        *o = h << 4 | (l & 15);
    }
    if bad & 0xf0 != 0 {
        return None;
    }
    let rest = &b[hl + 1..];
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 19 || rest.get(digits) != Some(&b':') {
        return None;
    }
    let size = rest[..digits]
        .iter()
        .fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
    let name = &line[hl + 1 + digits + 1..];
    if name.is_empty() || memchr::memchr(b':', name.as_bytes()).is_some() {
        return None;
    }
    Some(Line {
        kind,
        digest,
        size: Some(size),
        name,
    })
}

/// Parses `hash:size:name[:min[:max]]` (`section = false`) or
/// `size:hash:name[:min[:max]]` (`section = true`).
pub(super) fn parse(line: &str, section: bool) -> Result<Parsed<'_>, LineError> {
    if !section && let Some(l) = fast(line) {
        return Ok(Parsed::Sig(l));
    }
    // Split by hand: this runs a million times per load.
    let mut f: [Option<&str>; 5] = [None; 5];
    let mut rest = line;
    let mut n = 0;
    loop {
        if n == 5 {
            return Err(LineError::Fields("3 to 5 `:`-separated fields"));
        }
        match rest.bytes().position(|c| c == b':') {
            Some(i) => {
                f[n] = Some(&rest[..i]);
                rest = &rest[i + 1..];
                n += 1;
            }
            None => {
                f[n] = Some(rest);
                break;
            }
        }
    }
    let (Some(a), Some(b), Some(name)) = (f[0], f[1], f[2]) else {
        return Err(LineError::Fields("3 to 5 `:`-separated fields"));
    };
    let (min, max) = (f[3], f[4]);
    let (hash, size_s) = if section { (b, a) } else { (a, b) };
    let (kind, digest) = digest(hash)?;
    let size = size(size_s)?;
    if name.is_empty() {
        return Err(LineError::EmptyName);
    }
    // ClamAV reads these with atoi: `x` and the empty string are 0.
    let (lo, hi) = flevel_fields(min, max, true)?;
    if size.is_none() && lo.is_none_or(|lo| lo < WILDCARD_SIZE_FLEVEL) {
        return Err(LineError::WildcardSize);
    }
    if !super::flevel_ok(lo, hi) {
        return Ok(Parsed::SkipFlevel);
    }
    Ok(Parsed::Sig(Line {
        kind,
        digest,
        size,
        name,
    }))
}

/// Parses an `.ign2` line (`name` or `name:md5`) or an old `.ign` line
/// (`db:line:name`, or the `.ign2` forms). Returns the name to drop and,
/// for `name:md5`, the MD5 the signature's line must have.
pub(super) fn ignore(line: &str, old: bool) -> Result<(&str, Option<[u8; 16]>), LineError> {
    let fields: Vec<&str> = line.split(':').collect();
    let (name, md5) = match fields.as_slice() {
        [name] => (*name, None),
        [name, md5] => {
            // ClamAV refuses a second field that is not an MD5 (checked with
            // clamscan: "Malformed MD5 string").
            let (kind, d) = digest(md5)?;
            if kind != HashKind::Md5 {
                return Err(LineError::Hash(md5.to_string()));
            }
            let mut m = [0u8; 16];
            m.copy_from_slice(&d[..16]);
            (*name, Some(m))
        }
        [_, _, name] if old => (*name, None),
        _ => return Err(LineError::Fields("`name` or `name:md5`")),
    };
    if name.is_empty() {
        return Err(LineError::EmptyName);
    }
    Ok((name, md5))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(line: &str) -> Line<'_> {
        match parse(line, false) {
            Ok(Parsed::Sig(s)) => s,
            Ok(Parsed::SkipFlevel) => panic!("{line}: skipped"),
            Err(e) => panic!("{line}: {e}"),
        }
    }

    #[test]
    fn digests_by_length() {
        let s = sig("44d88612fea8a8f36de82e1278abb02f:68:Eicar");
        assert_eq!(s.kind, HashKind::Md5);
        assert_eq!(&s.digest[..4], &[0x44, 0xd8, 0x86, 0x12]);
        assert_eq!(&s.digest[16..], &[0; 16]);
        assert_eq!(s.size, Some(68));
        assert_eq!(s.name, "Eicar");
        let l = format!("{}:1:X", "AB".repeat(20));
        let s = sig(&l);
        assert_eq!(s.kind, HashKind::Sha1);
        assert_eq!(s.digest[19], 0xab);
        let l = format!("{}:*:X:73", "0f".repeat(32));
        let s = sig(&l);
        assert_eq!(s.kind, HashKind::Sha256);
        assert_eq!(s.size, None);
    }

    #[test]
    fn fast_path_agrees_with_the_general_one() {
        let m = "44d88612fea8a8f36de82e1278abb02f";
        for line in [
            format!("{m}:68:Eicar"),
            format!("{m}:0:X.Y-1"),
            format!("{}:1:X", "AB".repeat(20)),
            format!("{}:123:Sha256", "0f".repeat(32)),
            format!("{m}:9999999999999999999:Big"),
        ] {
            let f = fast(&line).expect(&line);
            let general = format!("{line}:1");
            let Ok(Parsed::Sig(g)) = parse(&general, false) else {
                panic!("{line}")
            };
            assert_eq!((f.kind, f.digest, f.size), (g.kind, g.digest, g.size));
            assert_eq!(f.name, g.name);
        }
        for line in [
            format!("{m}:99999999999999999999:Big"),
            format!("{m}:68:"),
            format!("{m}:68:X:1"),
            format!("{m}:*:X:73"),
            format!("{m}:+1:X"),
            "44d88612fea8a8f36de82e1278abb0zz:68:X".to_string(),
        ] {
            assert!(fast(&line).is_none(), "{line}");
        }
    }

    #[test]
    fn section_order() {
        let Ok(Parsed::Sig(s)) = parse("4096:44d88612fea8a8f36de82e1278abb02f:Sec", true) else {
            panic!()
        };
        assert_eq!(s.size, Some(4096));
        assert_eq!(s.name, "Sec");
    }

    #[test]
    fn errors() {
        for bad in [
            "44d88612fea8a8f36de82e1278abb02f:68",
            "44d88612fea8a8f36de82e1278abb02:68:X",
            "44d88612fea8a8f36de82e1278abb0zz:68:X",
            "44d88612fea8a8f36de82e1278abb02f:-1:X",
            "44d88612fea8a8f36de82e1278abb02f:+1:X",
            "44d88612fea8a8f36de82e1278abb02f:68:",
            "44d88612fea8a8f36de82e1278abb02f:68:X:1:2:3",
            "44d88612fea8a8f36de82e1278abb02f:*:X",
            "44d88612fea8a8f36de82e1278abb02f:*:X:72",
            "",
        ] {
            assert!(parse(bad, false).is_err(), "{bad:?} loaded");
        }
    }

    #[test]
    fn flevel() {
        let skip = |l: &str| matches!(parse(l, false), Ok(Parsed::SkipFlevel));
        let m = "44d88612fea8a8f36de82e1278abb02f:68:X";
        assert!(!skip(&format!("{m}:{}", super::super::FLEVEL)));
        assert!(skip(&format!("{m}:{}", super::super::FLEVEL + 1)));
        assert!(skip(&format!("{m}:1:{}", super::super::FLEVEL - 1)));
        assert!(!skip(&format!("{m}:1:{}", super::super::FLEVEL)));
    }

    #[test]
    fn ignore_lines() {
        assert_eq!(ignore("Eicar-Test", false).unwrap(), ("Eicar-Test", None));
        let (name, md5) = ignore("Eicar-Test:44d88612fea8a8f36de82e1278abb02f", false).unwrap();
        assert_eq!(name, "Eicar-Test");
        assert_eq!(md5.unwrap()[..2], [0x44, 0xd8]);
        assert!(ignore("Eicar-Test:abc", false).is_err());
        assert!(ignore("Eicar-Test:0123456789abcdef0123456789abcdef01234567", false).is_err());
        assert!(ignore("a:b:Name", false).is_err());
        assert_eq!(ignore("daily.ndb:12:Name", true).unwrap(), ("Name", None));
        assert!(ignore("", false).is_err());
    }
}
