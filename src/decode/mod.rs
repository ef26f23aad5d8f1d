//! Transfer decoders: lenient, bounded, writing into the caller's buffer.
//!
//! Every decoder here has the same shape:
//!
//! ```text
//! pub fn decode(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Defects
//! ```
//!
//! It *appends* the decoded bytes of `input` to `out` (it never clears it),
//! writes at most `limit` bytes, and returns the defects it saw. Decoders
//! are lenient the way mail clients are: junk is skipped, missing padding is
//! accepted, broken escapes pass through, and each of those is flagged.
//! They never fail and never panic.
//!
//! ```
//! use filter::decode::{self, Encoding};
//! use filter::defect::Defects;
//!
//! let mut out = Vec::new();
//! let d = decode::decode(Encoding::Base64, b"aGVs\nbG8", &mut out, usize::MAX);
//! assert_eq!(out, b"hello");
//! assert!(d.contains(Defects::BASE64_PADDING));
//! ```

pub mod base64;
mod base64_simd;
pub mod binhex;
pub mod charset;
pub mod inline;
pub mod qp;
pub mod uu;
pub mod yenc;

use crate::defect::Defects;

/// A Content-Transfer-Encoding, as declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Encoding {
    /// `7bit`, or no Content-Transfer-Encoding at all.
    #[default]
    SevenBit,
    /// `8bit`.
    EightBit,
    /// `binary`.
    Binary,
    /// `base64`.
    Base64,
    /// `quoted-printable`.
    QuotedPrintable,
    /// `x-uuencode`, `x-uue`, `uuencode`, `x-uu`.
    Uuencode,
    /// `x-yencode`, `yenc`, `x-yenc`.
    Yenc,
    /// `x-binhex`, `x-binhex40`, `binhex`; also set for
    /// application/mac-binhex40 bodies.
    BinHex,
    /// Anything else; the body is taken as is and flagged `UNKNOWN_CTE`.
    Unknown,
}

impl Encoding {
    /// Parses a Content-Transfer-Encoding value (already trimmed); case and
    /// surrounding whitespace or comments do not matter.
    pub fn parse(value: &[u8]) -> Encoding {
        let v = trim_cte(value);
        let is = |s: &str| v.eq_ignore_ascii_case(s.as_bytes());
        if v.is_empty() || is("7bit") {
            Encoding::SevenBit
        } else if is("base64") {
            Encoding::Base64
        } else if is("quoted-printable") {
            Encoding::QuotedPrintable
        } else if is("8bit") {
            Encoding::EightBit
        } else if is("binary") {
            Encoding::Binary
        } else if is("x-uuencode") || is("x-uue") || is("uuencode") || is("x-uu") || is("uue") {
            Encoding::Uuencode
        } else if is("x-yencode") || is("yenc") || is("x-yenc") || is("yencode") {
            Encoding::Yenc
        } else if is("x-binhex") || is("x-binhex40") || is("binhex") || is("binhex40") {
            Encoding::BinHex
        } else {
            Encoding::Unknown
        }
    }

    /// The canonical lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::SevenBit => "7bit",
            Encoding::EightBit => "8bit",
            Encoding::Binary => "binary",
            Encoding::Base64 => "base64",
            Encoding::QuotedPrintable => "quoted-printable",
            Encoding::Uuencode => "x-uuencode",
            Encoding::Yenc => "x-yencode",
            Encoding::BinHex => "x-binhex",
            Encoding::Unknown => "unknown",
        }
    }

    /// True for 7bit, 8bit, binary and unknown: the body is its own decoding.
    pub fn is_identity(self) -> bool {
        matches!(
            self,
            Encoding::SevenBit | Encoding::EightBit | Encoding::Binary | Encoding::Unknown
        )
    }
}

/// Strips whitespace, quotes and a trailing `(comment)` from a CTE value.
fn trim_cte(v: &[u8]) -> &[u8] {
    let v = match memchr::memchr(b'(', v) {
        Some(i) => &v[..i],
        None => v,
    };
    let v = v.trim_ascii();
    let v = v.strip_prefix(b"\"").unwrap_or(v);
    let v = v.strip_suffix(b"\"").unwrap_or(v);
    let v = v.trim_ascii();
    // Some senders write `base64;` or `base64 foo`.
    let end = v
        .iter()
        .position(|&b| b == b';' || b.is_ascii_whitespace())
        .unwrap_or(v.len());
    &v[..end]
}

/// Decodes `input` with `enc`, appending at most `limit` bytes to `out`.
pub fn decode(enc: Encoding, input: &[u8], out: &mut Vec<u8>, limit: usize) -> Defects {
    match enc {
        Encoding::Base64 => base64::decode(input, out, limit),
        Encoding::QuotedPrintable => qp::decode(input, out, limit),
        Encoding::Uuencode => uu::decode(input, out, limit),
        Encoding::Yenc => yenc::decode(input, out, limit),
        Encoding::BinHex => binhex::decode(input, out, limit),
        Encoding::SevenBit | Encoding::EightBit | Encoding::Binary | Encoding::Unknown => {
            copy_limited(input, out, limit)
        }
    }
}

/// Appends `input` to `out`, at most `limit` bytes; flags the cut.
pub fn copy_limited(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Defects {
    if input.len() > limit {
        out.extend_from_slice(&input[..limit]);
        Defects::DECODED_SIZE_LIMIT
    } else {
        out.extend_from_slice(input);
        Defects::empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cte_names() {
        assert_eq!(Encoding::parse(b" Base64 "), Encoding::Base64);
        assert_eq!(
            Encoding::parse(b"\"quoted-printable\""),
            Encoding::QuotedPrintable
        );
        assert_eq!(Encoding::parse(b"7bit (comment)"), Encoding::SevenBit);
        assert_eq!(Encoding::parse(b""), Encoding::SevenBit);
        assert_eq!(Encoding::parse(b"x-uuencode"), Encoding::Uuencode);
        assert_eq!(Encoding::parse(b"gzip"), Encoding::Unknown);
    }

    #[test]
    fn copy_is_limited() {
        let mut out = Vec::new();
        assert_eq!(
            copy_limited(b"abcdef", &mut out, 3),
            Defects::DECODED_SIZE_LIMIT
        );
        assert_eq!(out, b"abc");
    }
}
