//! Header blocks: splitting fields, unfolding, and the three views of a value.
//!
//! A header block is a run of lines, each either a new field (`Name: value`)
//! or a continuation of the previous one (it starts with a space or a tab),
//! ended by an empty line. Real mail bends every part of that sentence, so
//! the splitter here is lenient the way Python's `email` package is, and it
//! records what it bent:
//!
//! * Lines may end in CRLF, LF or a bare CR, mixed within one message.
//! * A first line that is a continuation is dropped
//!   (`FIRST_LINE_IS_CONTINUATION`).
//! * `Name : value` is accepted as `Name` (`SPACE_BEFORE_COLON`); Thunderbird
//!   and Outlook accept it too. Python ends the header there instead; this is
//!   a deliberate difference, since a scanner must see what clients see.
//! * A line that is neither a field nor a continuation ends the header and
//!   starts the body (`MISSING_HEADER_BODY_SEPARATOR`).
//! * Inside a multipart, a boundary line ends the header as well: the walker
//!   never lets a part's header swallow its siblings.
//!
//! Fields are stored as two [`Span`]s (name and raw value) into the input, so
//! splitting copies nothing. The value can be read three ways: raw
//! ([`crate::mime::Message::field_raw`]), unfolded ([`unfold`]), and decoded
//! to UTF-8 with RFC 2047 encoded-words resolved
//! ([`crate::mime::encoded_word::decode`]).
//!
//! ```
//! use filter::mime::header::unfold;
//!
//! assert_eq!(&*unfold(b" a\r\n\tb\n c "), b"a\tb c");
//! assert!(matches!(unfold(b" plain"), std::borrow::Cow::Borrowed(_)));
//! ```

use std::borrow::Cow;

use crate::defect::Defects;
use crate::mime::Span;
use crate::mime::tree::Builder;

/// One header field: where its name and raw value lie in the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// The field name, without the colon or any space before it.
    pub name: Span,
    /// The raw value: everything after the colon up to the end of the
    /// field's last continuation line, line ending excluded. Folding and
    /// surrounding whitespace are still in it.
    pub value: Span,
}

/// Removes folding (line breaks followed by whitespace) and trims the value.
/// Borrows when there is nothing to remove.
pub fn unfold(value: &[u8]) -> Cow<'_, [u8]> {
    let v = value.trim_ascii();
    if memchr::memchr2(b'\r', b'\n', v).is_none() {
        return Cow::Borrowed(v);
    }
    let mut out = Vec::with_capacity(v.len());
    for &b in v {
        if b != b'\r' && b != b'\n' {
            out.push(b);
        }
    }
    Cow::Owned(out)
}

/// The end of the line that starts at `pos`: `(content_end, next_line_start)`.
/// A line ends at CRLF, LF or a bare CR.
#[inline]
pub(crate) fn line_end(input: &[u8], pos: usize, end: usize) -> (usize, usize) {
    match memchr::memchr2(b'\n', b'\r', &input[pos..end]) {
        None => (end, end),
        Some(i) => {
            let at = pos + i;
            if input[at] == b'\r' && at + 1 < end && input[at + 1] == b'\n' {
                (at, at + 2)
            } else {
                (at, at + 1)
            }
        }
    }
}

/// Length of a field name at the start of `line`, and where its colon is,
/// if the line is a field. Also says whether whitespace stood before the
/// colon.
fn field_name(line: &[u8]) -> Option<(usize, usize, bool)> {
    let mut i = 0;
    while i < line.len() {
        let b = line[i];
        if b == b':' {
            return (i > 0).then_some((i, i, false));
        }
        if b == b' ' || b == b'\t' {
            // `Name   : value` — accepted, flagged.
            let name_len = i;
            while i < line.len() && (line[i] == b' ' || line[i] == b'\t') {
                i += 1;
            }
            return (name_len > 0 && i < line.len() && line[i] == b':')
                .then_some((name_len, i, true));
        }
        if !(33..=126).contains(&b) {
            return None;
        }
        i += 1;
    }
    None
}

/// Where the header block parsed by [`Builder::parse_header`] ended.
pub(crate) struct HeaderEnd {
    /// First byte of the body.
    pub body_start: usize,
    /// True when a boundary line of an enclosing multipart ended the header
    /// (the body is then empty and starts at that line).
    pub at_boundary: bool,
}

impl Builder<'_> {
    /// Splits the header block that starts at `start`, pushing its fields.
    /// Stops at the empty line, at a line that is not a field, at a boundary
    /// line of an open multipart, or at `end`.
    pub(crate) fn parse_header(
        &mut self,
        start: usize,
        end: usize,
        top: bool,
        defects: &mut Defects,
    ) -> HeaderEnd {
        let input = self.input;
        let mut pos = start;
        let mut have_field = false;
        let mut indexed = 0usize;
        let mut at_boundary = false;
        let mut body_start = end;
        let max_bytes_end = start.saturating_add(self.limits.max_header_bytes).min(end);
        let (mut crlf, mut lf, mut cr) = (false, false, false);

        while pos < end {
            if pos >= max_bytes_end {
                defects.insert(Defects::HEADER_LIMIT);
                body_start = pos;
                break;
            }
            let (content_end, next) = line_end(input, pos, end);
            self.work.set(self.work.get() + (next - pos) as u64);
            match next - content_end {
                2 => crlf = true,
                1 if input[content_end] == b'\n' => lf = true,
                1 => cr = true,
                _ => {}
            }
            let line = &input[pos..content_end];
            if line.is_empty() {
                body_start = next;
                break;
            }
            if line[0] == b'-'
                && line.len() > 1
                && line[1] == b'-'
                && self.boundary_at(pos, end).is_some()
            {
                at_boundary = true;
                body_start = pos;
                break;
            }
            if line[0] == b' ' || line[0] == b'\t' {
                if have_field {
                    if indexed <= self.limits.max_headers
                        && let Some(f) = self.fields.last_mut()
                    {
                        f.value.end = content_end;
                    }
                    defects.set_if(
                        line.len() > self.limits.max_line_len,
                        Defects::HEADER_TOO_LONG,
                    );
                } else {
                    defects.insert(Defects::FIRST_LINE_IS_CONTINUATION);
                }
                pos = next;
                continue;
            }
            if top && pos == start && line.starts_with(b"From ") && self.mbox_from.is_none() {
                self.mbox_from = Some(Span::new(pos, content_end));
                pos = next;
                continue;
            }
            match field_name(line) {
                Some((name_len, colon, spaced)) => {
                    defects.set_if(spaced, Defects::SPACE_BEFORE_COLON);
                    defects.set_if(
                        line.len() > self.limits.max_line_len,
                        Defects::HEADER_TOO_LONG,
                    );
                    have_field = true;
                    indexed += 1;
                    if indexed <= self.limits.max_headers {
                        self.fields.push(Field {
                            name: Span::new(pos, pos + name_len),
                            value: Span::new(pos + colon + 1, content_end),
                        });
                    } else {
                        defects.insert(Defects::HEADER_LIMIT);
                    }
                }
                None => {
                    defects.insert(Defects::MISSING_HEADER_BODY_SEPARATOR);
                    body_start = pos;
                    break;
                }
            }
            pos = next;
        }
        if pos >= end && body_start == end && pos > start {
            // Ran off the end of the input inside the header.
            body_start = end;
        }
        let block = &input[start..body_start.min(end)];
        defects.set_if(memchr::memchr(0, block).is_some(), Defects::NUL_IN_HEADER);
        defects.set_if(!block.is_ascii(), Defects::EIGHT_BIT_HEADER);
        defects.set_if(
            (crlf as u8 + lf as u8 + cr as u8) > 1 || cr,
            Defects::MIXED_LINE_ENDINGS,
        );
        HeaderEnd {
            body_start,
            at_boundary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names() {
        assert_eq!(field_name(b"Subject: x"), Some((7, 7, false)));
        assert_eq!(field_name(b"Subject : x"), Some((7, 8, true)));
        assert_eq!(field_name(b": x"), None);
        assert_eq!(field_name(b"no colon here"), None);
        assert_eq!(field_name(b"X-\x01: y"), None);
    }

    #[test]
    fn unfold_keeps_whitespace_drops_breaks() {
        assert_eq!(&*unfold(b"a\r\n b"), b"a b");
        assert_eq!(&*unfold(b"a\r b"), b"a b");
        assert_eq!(&*unfold(b"  "), b"");
    }

    #[test]
    fn line_ends() {
        assert_eq!(line_end(b"ab\r\ncd", 0, 6), (2, 4));
        assert_eq!(line_end(b"ab\rcd", 0, 5), (2, 3));
        assert_eq!(line_end(b"ab\ncd", 0, 5), (2, 3));
        assert_eq!(line_end(b"abcd", 0, 4), (4, 4));
        // A CR at the very end of the range is a bare CR.
        assert_eq!(line_end(b"ab\r\n", 0, 3), (2, 3));
    }
}
