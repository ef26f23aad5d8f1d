//! STUB — to be written (helper B).

use std::borrow::Cow;

use crate::defect::Defects;

/// Decodes the RFC 2047 encoded-words of an unfolded header value to UTF-8.
pub fn decode<'a>(value: &'a [u8], fallback: Option<&[u8]>) -> (Cow<'a, str>, Defects) {
    let _ = fallback;
    (String::from_utf8_lossy(value), Defects::empty())
}
