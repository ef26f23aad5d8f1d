//! `.cdb` container-metadata signatures:
//! `name:containertype:containersize:filenameregex:filesizeincontainer:
//! filesizereal:isencrypted:filepos:res1:res2[:minfl[:maxfl]]`.
//!
//! Sizes and positions are `*`, `n` or `a-b`. ClamAV compiles the file name
//! pattern as a POSIX extended regex and searches (does not anchor) with it;
//! we use the `regex` crate on the name's bytes, which reads ERE the same
//! way for everything but collating elements. `Res1` is a CRC for ZIP and
//! RAR members, which we do not check: a signature that sets it loads
//! without it and is listed in `report.unsupported`.

use regex::bytes::RegexBuilder;

use super::{ContainerSig, LineError, flevel_fields, flevel_ok};

/// A parsed `.cdb` line.
pub(super) enum Parsed {
    /// Load this; the string, if any, says what part is ignored.
    Sig(Box<ContainerSig>, Option<String>),
    /// Outside our functionality level.
    SkipFlevel,
}

fn range(field: &'static str, v: &str) -> Result<Option<(u64, u64)>, LineError> {
    if v == "*" {
        return Ok(None);
    }
    let bad = || LineError::Number {
        field,
        value: v.to_string(),
    };
    let num = |s: &str| -> Result<u64, LineError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let (a, b) = match v.split_once('-') {
        Some((a, b)) => (num(a)?, num(b)?),
        None => {
            let a = num(v)?;
            (a, a)
        }
    };
    if a > b {
        return Err(bad());
    }
    Ok(Some((a, b)))
}

pub(super) fn parse(line: &str, suffix: &str) -> Result<Parsed, LineError> {
    // ClamAV splits on every `:`, so a name pattern cannot contain one; nor
    // can ours.
    let f: Vec<&str> = line.split(':').collect();
    if !(10..=12).contains(&f.len()) {
        return Err(LineError::Fields("10 to 12 `:`-separated fields"));
    }
    if f[0].is_empty() {
        return Err(LineError::EmptyName);
    }
    let (lo, hi) = flevel_fields(f.get(10).copied(), f.get(11).copied(), false)?;
    if !flevel_ok(lo, hi) {
        return Ok(Parsed::SkipFlevel);
    }
    let container = match f[1] {
        "*" => None,
        t if t.starts_with("CL_TYPE_") && t.len() > 8 => Some(t.to_string()),
        t => return Err(LineError::Other(format!("bad container type {t:?}"))),
    };
    let name_regex = match f[3] {
        "*" => None,
        re => Some(
            RegexBuilder::new(re)
                .unicode(false)
                .build()
                .map_err(|e| LineError::Regex(re.to_string(), e.to_string()))?,
        ),
    };
    let encrypted = match f[6] {
        "*" => None,
        "0" => Some(false),
        "1" => Some(true),
        v => {
            return Err(LineError::Number {
                field: "encrypted",
                value: v.to_string(),
            });
        }
    };
    let note = match f[8] {
        "*" | "" => None,
        crc if crc.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some("Res1 (member CRC) is not checked".to_string())
        }
        v => {
            return Err(LineError::Number {
                field: "res1",
                value: v.to_string(),
            });
        }
    };
    Ok(Parsed::Sig(
        Box::new(ContainerSig {
            name: format!("{}{suffix}", f[0]),
            container,
            container_size: range("container size", f[2])?,
            name_regex,
            size_in_container: range("size in container", f[4])?,
            size_real: range("real size", f[5])?,
            encrypted,
            file_pos: range("file position", f[7])?,
        }),
        note,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(line: &str) -> (ContainerSig, Option<String>) {
        match parse(line, ".UNOFFICIAL") {
            Ok(Parsed::Sig(s, n)) => (*s, n),
            Ok(Parsed::SkipFlevel) => panic!("skipped"),
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn fields() {
        let (s, note) = load(r"Bad.Zip:CL_TYPE_ZIP:100-2000:.*\.exe$:*:1234:1:1:*:*");
        assert_eq!(s.name, "Bad.Zip.UNOFFICIAL");
        assert_eq!(s.container.as_deref(), Some("CL_TYPE_ZIP"));
        assert_eq!(s.container_size, Some((100, 2000)));
        assert!(s.name_regex.as_ref().unwrap().is_match(b"dir/a.exe"));
        assert!(!s.name_regex.as_ref().unwrap().is_match(b"a.exe.txt"));
        assert_eq!(s.size_in_container, None);
        assert_eq!(s.size_real, Some((1234, 1234)));
        assert_eq!(s.encrypted, Some(true));
        assert_eq!(s.file_pos, Some((1, 1)));
        assert!(note.is_none());
        let (s, note) = load("Any:*:*:*:*:*:*:*:deadbeef:*:51:255");
        assert!(s.container.is_none() && s.name_regex.is_none() && s.encrypted.is_none());
        assert!(note.is_some());
    }

    #[test]
    fn errors_and_flevel() {
        for bad in [
            "X:CL_TYPE_ZIP:*:*:*:*:*:*:*",
            "X:ZIP:*:*:*:*:*:*:*:*",
            "X:*:5-1:*:*:*:*:*:*:*",
            "X:*:*:(:*:*:*:*:*:*",
            "X:*:*:*:*:*:2:*:*:*",
            "X:*:*:*:*:*:*:x:*:*",
            "X:*:*:*:*:*:*:*:zz:*",
            ":*:*:*:*:*:*:*:*:*",
            "X:*:*:*:*:*:*:*:*:*:1:2:3",
        ] {
            assert!(parse(bad, "").is_err(), "{bad:?} loaded");
        }
        let l = format!("X:*:*:*:*:*:*:*:*:*:{}", super::super::FLEVEL + 1);
        assert!(matches!(parse(&l, ""), Ok(Parsed::SkipFlevel)));
    }
}
