//! Hash signatures: `.hdb`/`.hsb` (whole-file digests), `.mdb`/`.msb` (PE
//! section digests), `.fp`/`.sfp` (allow-lists) and `.ign`/`.ign2`
//! (signatures to drop).
//!
//! This is the hot path of a load — `main.cvd` and `daily.cvd` carry
//! millions of hash lines — so a line is split by hand, the digest decoded
//! straight into the fixed array, and the only allocation is the name.

use super::{HashKind, HashSig, LineError, flevel_fields};

/// A parsed hash line, or a skip.
pub(super) enum Parsed {
    /// Load this.
    Sig(HashSig),
    /// Outside our functionality level.
    SkipFlevel,
}

/// Lowest minimum flevel ClamAV accepts on a hash line whose size is `*`.
const WILDCARD_SIZE_FLEVEL: u32 = 73;

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes a hex digest of 32, 40 or 64 digits.
pub(super) fn digest(hex: &str) -> Result<(HashKind, [u8; 32]), LineError> {
    let kind = match hex.len() {
        32 => HashKind::Md5,
        40 => HashKind::Sha1,
        64 => HashKind::Sha256,
        _ => return Err(LineError::Hash(hex.to_string())),
    };
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        match (hex_val(pair[0]), hex_val(pair[1])) {
            (Some(h), Some(l)) => *o = h << 4 | l,
            _ => return Err(LineError::Hash(hex.to_string())),
        }
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

/// Parses `hash:size:name[:min[:max]]` (`section = false`) or
/// `size:hash:name[:min[:max]]` (`section = true`).
pub(super) fn parse(line: &str, section: bool, suffix: &str) -> Result<Parsed, LineError> {
    let mut f = line.splitn(6, ':');
    let (a, b, name) = match (f.next(), f.next(), f.next()) {
        (Some(a), Some(b), Some(n)) => (a, b, n),
        _ => return Err(LineError::Fields("3 to 5 `:`-separated fields")),
    };
    let (min, max) = (f.next(), f.next());
    if f.next().is_some() {
        return Err(LineError::Fields("3 to 5 `:`-separated fields"));
    }
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
    let mut n = String::with_capacity(name.len() + suffix.len());
    n.push_str(name);
    n.push_str(suffix);
    Ok(Parsed::Sig(HashSig {
        kind,
        digest,
        size,
        name: n,
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

    fn sig(line: &str) -> HashSig {
        match parse(line, false, ".UNOFFICIAL") {
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
        assert_eq!(s.name, "Eicar.UNOFFICIAL");
        let s = sig(&format!("{}:1:X", "AB".repeat(20)));
        assert_eq!(s.kind, HashKind::Sha1);
        assert_eq!(s.digest[19], 0xab);
        let s = sig(&format!("{}:*:X:73", "0f".repeat(32)));
        assert_eq!(s.kind, HashKind::Sha256);
        assert_eq!(s.size, None);
    }

    #[test]
    fn section_order() {
        let Ok(Parsed::Sig(s)) = parse("4096:44d88612fea8a8f36de82e1278abb02f:Sec", true, "")
        else {
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
            assert!(parse(bad, false, "").is_err(), "{bad:?} loaded");
        }
    }

    #[test]
    fn flevel() {
        let skip = |l: &str| matches!(parse(l, false, ""), Ok(Parsed::SkipFlevel));
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
