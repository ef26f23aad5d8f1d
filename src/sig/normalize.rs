//! The normalised views that ClamAV target types 3 (HTML) and 7 (text)
//! match against.
//!
//! A signature writer cannot list every way to spell `eval(` in a page, so
//! ClamAV matches those two targets against a canonical form instead of the
//! bytes as sent. We build the same forms, checked against clamscan 1.4:
//!
//! - **text** (target 7): ASCII letters lowercased, and every run of
//!   whitespace (space, tab, CR, LF, FF, VT) becomes one space.
//! - **HTML** (target 3): the same, plus comments (`<!-- … -->`) removed and
//!   character references (`&lt;`, `&#60;`, `&#x3c;` and the common named
//!   ones) decoded, so `&lt;script` reads as `<script`.
//!
//! Both run in one linear pass into a caller-owned buffer.
//!
//! ```
//! use filter::sig::normalize;
//!
//! let mut out = Vec::new();
//! normalize::text(b"Hello \r\n\tWORLD", &mut out);
//! assert_eq!(out, b"hello world");
//! normalize::html(b"<B>x</B><!-- hidden -->&lt;p&gt;", &mut out);
//! assert_eq!(out, b"<b>x</b><p>");
//! ```
//!
//! Where we differ: ClamAV's HTML normaliser also writes a tag-free copy
//! and a copy of decoded scripts; signatures that only match those copies
//! are not found here.

/// Bytes that end a run of bytes copied as they are (lower-cased): white
/// space, and in HTML the `<` of a comment and the `&` of a reference.
const fn stops(html: bool) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = is_space(b) || (html && (b == b'<' || b == b'&'));
        i += 1;
    }
    t
}

const TEXT_STOPS: [bool; 256] = stops(false);
const HTML_STOPS: [bool; 256] = stops(true);

/// The white space that collapses to one space.
const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// Copies the run at the start of `data` that holds no byte of `stops`,
/// lower-cased, and returns its length.
fn copy_run(data: &[u8], stops: &[bool; 256], out: &mut Vec<u8>, space: &mut bool) -> usize {
    let n = data
        .iter()
        .position(|&b| stops[usize::from(b)])
        .unwrap_or(data.len());
    if n > 0 {
        out.extend(data[..n].iter().map(u8::to_ascii_lowercase));
        *space = false;
    }
    n
}

/// Writes the text view of `data` into `out` (cleared first).
pub fn text(data: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(data.len());
    let mut space = false;
    let mut i = 0;
    while i < data.len() {
        i += copy_run(&data[i..], &TEXT_STOPS, out, &mut space);
        if let Some(&b) = data.get(i) {
            push(out, b, &mut space);
            i += 1;
        }
    }
}

/// Writes the HTML view of `data` into `out` (cleared first).
pub fn html(data: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(data.len());
    let mut space = false;
    let mut i = 0;
    while i < data.len() {
        i += copy_run(&data[i..], &HTML_STOPS, out, &mut space);
        if i < data.len() {
            i = html_step(data, i, out, &mut space);
        }
    }
}

/// The HTML view of what starts at `data[i]`: a comment dropped, a
/// character reference decoded, or one byte. Returns where the rest
/// starts.
fn html_step(data: &[u8], i: usize, out: &mut Vec<u8>, space: &mut bool) -> usize {
    let b = data[i];
    if b == b'<' && data[i..].starts_with(b"<!--") {
        return match memchr::memmem::find(&data[i + 4..], b"-->") {
            Some(end) => i + 4 + end + 3,
            None => data.len(),
        };
    }
    if b == b'&'
        && let Some((c, len)) = entity(&data[i..])
    {
        push(out, c, space);
        return i + len;
    }
    push(out, b, space);
    i + 1
}

/// Appends one byte: lowercased, with whitespace runs collapsed.
fn push(out: &mut Vec<u8>, b: u8, space: &mut bool) {
    if is_space(b) {
        if !*space {
            out.push(b' ');
            *space = true;
        }
    } else {
        out.push(b.to_ascii_lowercase());
        *space = false;
    }
}

/// Decodes a character reference at the start of `s` to one byte (only
/// references to ASCII are decoded), with the reference's length.
fn entity(s: &[u8]) -> Option<(u8, usize)> {
    let end = s.iter().take(12).position(|&b| b == b';')?;
    let body = &s[1..end];
    let value = if let Some(num) = body.strip_prefix(b"#") {
        let (digits, radix) = match num.first() {
            Some(b'x' | b'X') => (&num[1..], 16),
            _ => (num, 10),
        };
        u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()?
    } else {
        match body.to_ascii_lowercase().as_slice() {
            b"lt" => b'<' as u32,
            b"gt" => b'>' as u32,
            b"amp" => b'&' as u32,
            b"quot" => b'"' as u32,
            b"apos" => b'\'' as u32,
            b"nbsp" => b' ' as u32,
            _ => return None,
        }
    };
    (value < 0x80).then_some((value as u8, end + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lowercases_and_collapses() {
        let mut out = Vec::new();
        text(b"  Hello   World\r\n\tFOO bar\n", &mut out);
        assert_eq!(out, b" hello world foo bar ");
        text(b"", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn html_drops_comments_and_decodes_entities() {
        let mut out = Vec::new();
        html(
            b"<B>X</B> <!-- secret --> A     B &lt;and&#60;b&#x3E;&bogus;",
            &mut out,
        );
        assert_eq!(out, b"<b>x</b> a b <and<b>&bogus;");
        // an unterminated comment hides the rest, as a browser would
        html(b"a<!-- b", &mut out);
        assert_eq!(out, b"a");
    }

    /// The text view a byte at a time.
    fn text_naive(data: &[u8]) -> Vec<u8> {
        let (mut out, mut space) = (Vec::new(), false);
        for &b in data {
            push(&mut out, b, &mut space);
        }
        out
    }

    /// The HTML view a step at a time, with no run copied whole.
    fn html_naive(data: &[u8]) -> Vec<u8> {
        let (mut out, mut space) = (Vec::new(), false);
        let mut i = 0;
        while i < data.len() {
            i = html_step(data, i, &mut out, &mut space);
        }
        out
    }

    /// Bytes of the kinds both views treat specially, often.
    fn markup() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            Just(b"<!--".to_vec()),
            Just(b"-->".to_vec()),
            Just(b"&lt;".to_vec()),
            Just(b"&#65;".to_vec()),
            Just(b"&nbsp;".to_vec()),
            Just(b"&bogus;".to_vec()),
            prop::collection::vec(
                prop::sample::select(b" \t\r\n\x0b\x0c<&;#xAbZ9\x80".to_vec()),
                1..6
            ),
            prop::collection::vec(any::<u8>(), 1..6),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        /// The run-at-a-time views equal the byte-at-a-time ones.
        #[test]
        fn runs_agree_with_bytes(data in markup()) {
            let mut out = vec![b'x'];
            text(&data, &mut out);
            proptest::prop_assert_eq!(&out, &text_naive(&data));
            html(&data, &mut out);
            proptest::prop_assert_eq!(&out, &html_naive(&data));
        }

        #[test]
        fn text_is_idempotent_and_never_longer(data: Vec<u8>) {
            let mut once = Vec::new();
            text(&data, &mut once);
            let mut twice = Vec::new();
            text(&once, &mut twice);
            proptest::prop_assert_eq!(&once, &twice);
            proptest::prop_assert!(once.len() <= data.len());
        }
    }
}
