//! Defects: everything odd the walker and the decoders notice.
//!
//! Malformed mail is the norm in spam, and damaged structure is a favourite
//! trick of malware that wants one parser (the scanner's) to see something
//! different from another (the victim's mail client). So nothing is ever
//! "fixed" silently: each oddity sets one bit in a [`Defects`] set, on the part
//! where it was seen, and the whole message keeps the union.
//!
//! A `Defects` value is a plain `u64` bit set. It is `Copy`, costs nothing to
//! merge, and prints as the list of its names:
//!
//! ```
//! use filter::defect::Defects;
//!
//! let mut d = Defects::empty();
//! d |= Defects::BAD_BASE64;
//! d.insert(Defects::MISSING_CLOSE_BOUNDARY);
//! assert!(d.contains(Defects::BAD_BASE64));
//! assert_eq!(d.names().collect::<Vec<_>>(), ["MISSING_CLOSE_BOUNDARY", "BAD_BASE64"]);
//! assert_eq!(format!("{d}"), "MISSING_CLOSE_BOUNDARY,BAD_BASE64");
//! ```
//!
//! Limits that are hit are defects too (`NESTING_LIMIT`, `PART_LIMIT`,
//! `DECODED_SIZE_LIMIT`, …): a scan that stopped early must say so, never
//! pass for clean.

use core::fmt;
use core::ops::{BitOr, BitOrAssign};

/// A set of [`Defects`] bits. See the module docs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Defects(u64);

macro_rules! defects {
    ($($(#[$doc:meta])* $name:ident = $bit:expr;)*) => {
        impl Defects {
            $( $(#[$doc])* pub const $name: Defects = Defects(1 << $bit); )*

            /// Every defect with its name, in bit order.
            pub const ALL: &'static [(Defects, &'static str)] = &[
                $( (Defects::$name, stringify!($name)), )*
            ];
        }
    };
}

defects! {
    // ---- structure -------------------------------------------------------
    /// A multipart body ended without its `--boundary--` line.
    MISSING_CLOSE_BOUNDARY = 0;
    /// A multipart/* Content-Type without a usable boundary parameter.
    NO_BOUNDARY_PARAM = 1;
    /// More than one Content-Type field in one header.
    DUPLICATE_CONTENT_TYPE = 2;
    /// More than one Content-Transfer-Encoding field in one header.
    DUPLICATE_CTE = 3;
    /// A Content-Transfer-Encoding we do not know; the body is taken as is.
    UNKNOWN_CTE = 4;
    /// More than one boundary parameter, with different values.
    DUPLICATE_BOUNDARY = 5;
    /// A multipart whose boundary never occurs in its body.
    BOUNDARY_NOT_FOUND = 6;
    /// A non-identity transfer encoding on a multipart or message part.
    CTE_ON_COMPOSITE = 7;
    /// The header block ended at a line that is not a header field, with no
    /// blank line between header and body.
    MISSING_HEADER_BODY_SEPARATOR = 8;
    /// The first header line is a continuation line.
    FIRST_LINE_IS_CONTINUATION = 9;
    /// Whitespace between a field name and its colon (`Subject : x`).
    SPACE_BEFORE_COLON = 10;
    /// The input ended inside a header block or an encoded body.
    TRUNCATED = 11;
    /// A multipart with no parts at all.
    EMPTY_MULTIPART = 12;
    /// This part belongs to an alternative reading of an ambiguous
    /// structure; some mail client would act on it.
    AMBIGUOUS_STRUCTURE = 13;
    /// A Content-Type value that does not parse as `type/subtype`.
    BAD_CONTENT_TYPE = 14;
    /// A boundary parameter that is longer than RFC 2046's 70 characters or
    /// contains characters it forbids.
    BAD_BOUNDARY = 15;
    /// Text after the close boundary of a nested multipart that is not
    /// whitespace (an epilogue where none is expected).
    NON_EMPTY_EPILOGUE = 16;
    /// Mixed or bare-CR line endings.
    MIXED_LINE_ENDINGS = 17;
    /// A message/* part whose body is not a message.
    BAD_MESSAGE_PART = 18;
    // ---- headers ---------------------------------------------------------
    /// A NUL byte inside a header block.
    NUL_IN_HEADER = 20;
    /// Raw 8-bit bytes in a header field.
    EIGHT_BIT_HEADER = 21;
    /// A header field longer than the line-length limit.
    HEADER_TOO_LONG = 22;
    /// More header fields, or header bytes, than the limits allow.
    HEADER_LIMIT = 23;
    /// An RFC 2047 encoded-word that does not decode cleanly.
    BAD_ENCODED_WORD = 24;
    /// A charset name that is not known; Latin-1 was used instead.
    UNKNOWN_CHARSET = 25;
    /// Bytes that are not valid in their declared charset.
    BAD_CHARSET_DATA = 26;
    /// RFC 2231 parameter continuations out of order, missing or repeated.
    BAD_RFC2231 = 27;
    /// A parameter list with a syntax error (unterminated quote, missing `=`).
    BAD_PARAMS = 28;
    /// A parameter given twice.
    DUPLICATE_PARAM = 29;
    /// An address list that does not parse.
    BAD_ADDRESS = 30;
    /// RFC 2047 encoded-words inside a quoted string or parameter value,
    /// which RFC 2047 forbids but every client decodes.
    ENCODED_WORD_IN_QUOTES = 31;
    // ---- bodies ----------------------------------------------------------
    /// Characters outside the base64 alphabet were skipped.
    BAD_BASE64 = 32;
    /// Base64 padding was missing or misplaced.
    BASE64_PADDING = 33;
    /// Data after base64 padding.
    BASE64_AFTER_PADDING = 34;
    /// A malformed quoted-printable escape or an over-long line.
    BAD_QP = 35;
    /// A malformed uuencode line, length byte or missing `end`.
    BAD_UUENCODE = 36;
    /// A malformed yEnc block: bad header, size or CRC mismatch.
    BAD_YENC = 37;
    /// A malformed BinHex 4.0 block: bad character, CRC or length.
    BAD_BINHEX = 38;
    /// A NUL byte in a text body.
    NUL_IN_BODY = 40;
    /// Raw 8-bit bytes in a 7bit part.
    EIGHT_BIT_IN_7BIT = 41;
    /// An inline uuencode block in a text body.
    INLINE_UUENCODE = 42;
    /// An inline yEnc block in a text body.
    INLINE_YENC = 43;
    /// An inline BinHex block in a text body.
    INLINE_BINHEX = 44;
    // ---- limits ----------------------------------------------------------
    /// Parts nested deeper than the limit; deeper structure is a leaf.
    NESTING_LIMIT = 56;
    /// More parts than the limit; the rest of the body is one leaf.
    PART_LIMIT = 57;
    /// Decoding stopped at the per-part or per-message limit.
    DECODED_SIZE_LIMIT = 58;
    /// The budget for alternative readings of ambiguous structure ran out.
    ALTERNATE_LIMIT = 59;
}

/// Defects that mean "a limit was hit and not everything was examined".
pub const LIMIT_DEFECTS: Defects = Defects(
    Defects::NESTING_LIMIT.0
        | Defects::PART_LIMIT.0
        | Defects::DECODED_SIZE_LIMIT.0
        | Defects::HEADER_LIMIT.0
        | Defects::ALTERNATE_LIMIT.0,
);

impl Defects {
    /// The empty set.
    pub const fn empty() -> Self {
        Defects(0)
    }
    /// The raw bits.
    pub const fn bits(self) -> u64 {
        self.0
    }
    /// A set from raw bits (unknown bits are kept).
    pub const fn from_bits(bits: u64) -> Self {
        Defects(bits)
    }
    /// True when no bit is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// True when every bit of `other` is set in `self`.
    pub const fn contains(self, other: Defects) -> bool {
        self.0 & other.0 == other.0
    }
    /// True when any bit of `other` is set in `self`.
    pub const fn intersects(self, other: Defects) -> bool {
        self.0 & other.0 != 0
    }
    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: Defects) {
        self.0 |= other.0;
    }
    /// Sets the bits of `other` when `cond` holds.
    pub fn set_if(&mut self, cond: bool, other: Defects) {
        if cond {
            self.0 |= other.0;
        }
    }
    /// The names of the set bits, in bit order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        Defects::ALL
            .iter()
            .filter(move |(d, _)| self.contains(*d))
            .map(|(_, n)| *n)
    }
    /// Looks a defect up by its name.
    pub fn from_name(name: &str) -> Option<Defects> {
        Defects::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(d, _)| *d)
    }
}

impl BitOr for Defects {
    type Output = Defects;
    fn bitor(self, rhs: Defects) -> Defects {
        Defects(self.0 | rhs.0)
    }
}

impl BitOrAssign for Defects {
    fn bitor_assign(&mut self, rhs: Defects) {
        self.0 |= rhs.0;
    }
}

impl fmt::Display for Defects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for n in self.names() {
            if !first {
                f.write_str(",")?;
            }
            f.write_str(n)?;
            first = false;
        }
        Ok(())
    }
}

impl fmt::Debug for Defects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Defects({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = 0u64;
        for (d, n) in Defects::ALL {
            assert_eq!(d.bits().count_ones(), 1, "{n}");
            assert_eq!(seen & d.bits(), 0, "bit reused by {n}");
            seen |= d.bits();
            assert_eq!(Defects::from_name(n), Some(*d));
        }
    }

    #[test]
    fn limit_defects_are_a_subset() {
        assert!(LIMIT_DEFECTS.contains(Defects::PART_LIMIT));
        assert!(!LIMIT_DEFECTS.contains(Defects::BAD_QP));
    }
}
