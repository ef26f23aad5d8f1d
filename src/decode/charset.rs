//! STUB — to be written (helper B).

use std::borrow::Cow;

use crate::defect::Defects;

/// Converts a text body in `charset` (a MIME charset label, or none) to UTF-8.
pub fn decode_to_utf8<'a>(bytes: &'a [u8], charset: Option<&[u8]>) -> (Cow<'a, str>, Defects) {
    let _ = charset;
    (String::from_utf8_lossy(bytes), Defects::empty())
}

/// Converts raw header bytes to UTF-8: UTF-8 if valid, else the declared
/// charset, else Latin-1.
pub fn header_to_utf8<'a>(bytes: &'a [u8], declared: Option<&[u8]>) -> Cow<'a, str> {
    let _ = declared;
    String::from_utf8_lossy(bytes)
}
