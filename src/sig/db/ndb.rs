//! `.ndb` body signatures: `name:target:offset:hexsig[:min[:max]]`.
//!
//! The flevel fields are looked at before the body, as ClamAV does, so a
//! signature written for a newer engine is skipped rather than refused even
//! when its body uses syntax we do not know.

use super::{BodySig, LineError, flevel_fields, flevel_ok};
use crate::sig::pattern::{Offset, Pattern};

/// A parsed `.ndb` line, or a skip.
pub(super) enum Parsed {
    /// Load this.
    Sig(BodySig),
    /// Outside our functionality level.
    SkipFlevel,
}

/// Parses a target field: a decimal number, or `*` (any, as 0). ClamAV
/// 1.4 defines targets 0 to 14 but loads larger numbers without complaint
/// (checked with clamscan: `Test:300:*:…` loads and never matches); we keep
/// them, saturated at 255, for the same effect.
pub(super) fn target(s: &str) -> Result<u8, LineError> {
    if s == "*" {
        return Ok(0);
    }
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(LineError::Number {
            field: "target",
            value: s.to_string(),
        });
    }
    Ok(s.parse::<u32>()
        .map_or(u8::MAX, |t| u8::try_from(t).unwrap_or(u8::MAX)))
}

pub(super) fn parse(line: &str, suffix: &str) -> Result<Parsed, LineError> {
    let mut fields = [""; 7];
    let mut n = 0;
    for (slot, part) in fields.iter_mut().zip(line.splitn(7, ':')) {
        *slot = part;
        n += 1;
    }
    let f = &fields[..n];
    if !(4..=6).contains(&f.len()) {
        return Err(LineError::Fields("4 to 6 `:`-separated fields"));
    }
    let name = f[0];
    if name.is_empty() {
        return Err(LineError::EmptyName);
    }
    let (lo, hi) = flevel_fields(f.get(4).copied(), f.get(5).copied(), false)?;
    if !flevel_ok(lo, hi) {
        return Ok(Parsed::SkipFlevel);
    }
    let target = target(f[1])?;
    let offset = Offset::parse(f[2]).map_err(|e| LineError::Offset(f[2].to_string(), e))?;
    let pattern = Pattern::parse(f[3]).map_err(LineError::Pattern)?;
    Ok(Parsed::Sig(BodySig {
        name: format!("{name}{suffix}"),
        target,
        offset,
        pattern,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors() {
        for bad in [
            "Name:0:*",
            ":0:*:6566",
            "Name:0:*:6566:1:2:3",
            "Name:x:*:6566",
            "Name:0:*:6566:abc",
        ] {
            assert!(parse(bad, "").is_err(), "{bad:?} loaded");
        }
    }

    #[test]
    fn flevel_checked_before_body() {
        let l = format!("Name:0:*:NOT-HEX-YET:{}", super::super::FLEVEL + 1);
        assert!(matches!(parse(&l, ""), Ok(Parsed::SkipFlevel)));
    }

    #[test]
    fn targets() {
        assert_eq!(target("*").unwrap(), 0);
        assert_eq!(target("7").unwrap(), 7);
        assert!(target("+7").is_err());
        assert_eq!(target("300").unwrap(), 255);
        assert!(target("").is_err());
    }

    /// Needs the pattern parser.
    #[test]
    fn loads_a_body() {
        let Ok(Parsed::Sig(s)) = parse("Test.Evil:0:*:6576696c", ".UNOFFICIAL") else {
            panic!("did not load");
        };
        assert_eq!(s.name, "Test.Evil.UNOFFICIAL");
        assert_eq!(s.target, 0);
        assert_eq!(s.offset, Offset::Any);
        assert_eq!(s.pattern, Pattern::parse("6576696c").unwrap());
        let Ok(Parsed::Sig(s)) = parse("T:1:EP+10,5:6576696c:51:255", "") else {
            panic!("did not load");
        };
        assert_eq!(s.target, 1);
        assert_eq!(s.offset, Offset::parse("EP+10,5").unwrap());
    }
}
