//! Finding uuencode, yEnc and BinHex blocks pasted into text bodies.
//!
//! Before MIME, and in some clients still, attachments travelled *inside*
//! the text: a `begin 644 name` … `end` uuencode block, a `=ybegin` …
//! `=yend` yEnc block, or a BinHex 4.0 block introduced by `(This file must
//! be converted with BinHex 4.0)`. Mail clients such as Outlook and
//! Thunderbird still show such blocks as attachments, so a scanner that only
//! looks at MIME parts would let them through unseen.
//!
//! [`scan`] finds them in one forward pass. It never looks at most of the
//! text: three `memmem` searches (for `begin`, `=ybegin` and the BinHex
//! banner) jump from candidate to candidate, and only a candidate at the
//! start of a line is examined. A block must look real to count:
//!
//! * uuencode: `begin`, a mode of three or four octal digits, a non-empty
//!   name, and a next line that is plausible uuencode (only characters from
//!   `' '` to `` ` ``, and as many of them as its length character calls
//!   for, give or take a few stripped trailing spaces). It ends with its
//!   `end` line.
//! * yEnc: an `=ybegin` line with a `name=`. It ends with its `=yend` line.
//! * BinHex: the banner line. It ends with the line that holds the closing
//!   `:` of the encoded data.
//!
//! A block runs from the start of its first line to the end of its last
//! line (without the line break), or to the end of the text if its end is
//! missing; the next search starts after it. Lines may end in LF, CRLF or a
//! bare CR. Each block's range is exactly what the matching decoder in
//! [`crate::decode`] accepts.
//!
//! ```
//! use filter::decode::{self, inline};
//!
//! let text = b"Hi,\r\nthe file:\r\nbegin 644 cat.txt\r\n#0V%T\r\n`\r\nend\r\nBye\r\n";
//! let mut blocks = Vec::new();
//! let more = inline::scan(text, &mut blocks, 10);
//! assert!(!more);
//! assert_eq!(blocks.len(), 1);
//! let b = &blocks[0];
//! assert_eq!(b.kind, inline::InlineKind::Uuencode);
//! assert_eq!(&text[b.name.clone().unwrap()], b"cat.txt");
//! assert!(text[b.range.clone()].ends_with(b"end"));
//!
//! let mut out = Vec::new();
//! let d = decode::decode(b.kind.encoding(), &text[b.range.clone()], &mut out, usize::MAX);
//! assert_eq!(out, b"Cat");
//! assert!(d.is_empty());
//! ```

use core::ops::Range;

use memchr::memmem::Finder;

use crate::decode::{Encoding, binhex, uu, yenc};

/// Which inline encoding a block uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InlineKind {
    /// `begin MODE NAME` … `end`.
    Uuencode,
    /// `=ybegin` … `=yend`.
    Yenc,
    /// BinHex 4.0.
    BinHex,
}

impl InlineKind {
    /// The transfer decoder for this kind.
    pub fn encoding(self) -> Encoding {
        match self {
            InlineKind::Uuencode => Encoding::Uuencode,
            InlineKind::Yenc => Encoding::Yenc,
            InlineKind::BinHex => Encoding::BinHex,
        }
    }
}

/// One inline block found by [`scan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlineBlock {
    /// The encoding.
    pub kind: InlineKind,
    /// Offsets of the whole block in the scanned text, begin line to end line.
    pub range: Range<usize>,
    /// Offsets of the file name in the scanned text, when the block names one
    /// (uuencode and yEnc; BinHex names live inside the encoded header).
    pub name: Option<Range<usize>>,
}

/// The line starting at `pos`: its content (without the line break) and
/// where the next line starts. LF, CRLF and a bare CR all end a line.
pub(crate) fn next_line(text: &[u8], pos: usize) -> (Range<usize>, usize) {
    let rest = text.get(pos..).unwrap_or_default();
    match memchr::memchr2(b'\n', b'\r', rest) {
        None => (pos..pos + rest.len(), pos + rest.len()),
        Some(i) => {
            let e = pos + i;
            let next = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                e + 2
            } else {
                e + 1
            };
            (pos..e, next)
        }
    }
}

/// True when `pos` is the start of a line.
pub(crate) fn at_line_start(text: &[u8], pos: usize) -> bool {
    pos == 0 || matches!(text.get(pos - 1), Some(b'\n' | b'\r'))
}

/// The end (without line break) of the line holding `pos`.
fn line_end(text: &[u8], pos: usize) -> usize {
    next_line(text, pos).0.end
}

/// The end of the first line at or after `from` that starts with `pat` and
/// satisfies `ok`, or the end of the text.
fn find_end_line(text: &[u8], from: usize, pat: &[u8], ok: impl Fn(&[u8]) -> bool) -> usize {
    let f = Finder::new(pat);
    let mut at = from;
    while let Some(i) = text.get(at..).and_then(|r| f.find(r)) {
        let p = at + i;
        if at_line_start(text, p) {
            let line = next_line(text, p).0;
            if ok(&text[line.clone()]) {
                return line.end;
            }
        }
        at = p + 1;
    }
    text.len()
}

/// Is `line` plausibly the first data line of a uuencode block?
fn plausible_uu(line: &[u8]) -> bool {
    match uu::classify(line) {
        uu::Line::Data { n, .. } if n > 0 => {
            let have = line.len() - 1;
            let need = n.div_ceil(3) * 4;
            have <= need + 1 && have + 8 >= need
        }
        _ => false,
    }
}

fn uu_block(text: &[u8], at: usize) -> Option<InlineBlock> {
    let (line, next) = next_line(text, at);
    let b = uu::parse_begin(&text[line.clone()])?;
    if b.base64 || b.mode.len() < 3 || b.name.is_empty() {
        return None;
    }
    let (data, _) = next_line(text, next);
    if !plausible_uu(&text[data]) {
        return None;
    }
    let end = find_end_line(text, next, b"end", uu::is_end);
    Some(InlineBlock {
        kind: InlineKind::Uuencode,
        range: at..end,
        name: Some(line.start + b.name.start..line.start + b.name.end),
    })
}

fn yenc_block(text: &[u8], at: usize) -> Option<InlineBlock> {
    let (line, next) = next_line(text, at);
    let h = yenc::parse_header(&text[line.clone()])?;
    let name = h.name?;
    let end = find_end_line(text, next, b"=yend", |l| yenc::is_keyword(l, b"=yend"));
    Some(InlineBlock {
        kind: InlineKind::Yenc,
        range: at..end,
        name: Some(line.start + name.start..line.start + name.end),
    })
}

fn binhex_block(text: &[u8], at: usize) -> InlineBlock {
    let rest = &text[at..];
    let end = match binhex::data_start(rest) {
        Some(open) => match memchr::memchr(b':', &rest[open..]) {
            Some(close) => line_end(text, at + open + close),
            None => text.len(),
        },
        None => text.len(),
    };
    InlineBlock {
        kind: InlineKind::BinHex,
        range: at..end,
        name: None,
    }
}

/// Appends the inline blocks of `text` to `out`, at most `max` of them.
/// Returns true when more blocks were present than `max`.
///
/// Runs in time linear in `text`. See the module docs for what counts as a
/// block.
pub fn scan(text: &[u8], out: &mut Vec<InlineBlock>, max: usize) -> bool {
    const BANNER: &[u8] = b"(This file must be converted with BinHex";
    let finders = [
        Finder::new(b"begin"),
        Finder::new(b"=ybegin"),
        Finder::new(BANNER),
    ];
    // The next hit of each finder at or after `pos`; `usize::MAX` when
    // there is none left.
    let mut hits = [0usize; 3];
    let mut from = [0usize; 3];
    let mut stale = [true; 3];
    let mut pos = 0;
    let mut found = 0;
    loop {
        for k in 0..3 {
            if hits[k] != usize::MAX && (stale[k] || hits[k] < pos) {
                let s = from[k].max(pos);
                hits[k] = text
                    .get(s..)
                    .and_then(|r| finders[k].find(r))
                    .map_or(usize::MAX, |i| s + i);
                stale[k] = false;
            }
        }
        let Some(k) = (0..3)
            .filter(|&k| hits[k] != usize::MAX)
            .min_by_key(|&k| hits[k])
        else {
            return false;
        };
        let at = hits[k];
        from[k] = at + 1;
        stale[k] = true;
        if !at_line_start(text, at) {
            continue;
        }
        let block = match k {
            0 => uu_block(text, at),
            1 => yenc_block(text, at),
            _ => Some(binhex_block(text, at)),
        };
        let Some(block) = block else { continue };
        if found == max {
            return true;
        }
        found += 1;
        pos = block.range.end;
        out.push(block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn blocks(text: &[u8]) -> Vec<InlineBlock> {
        let mut v = Vec::new();
        scan(text, &mut v, 100);
        v
    }

    /// The naive oracle for the block starts: every line start, examined
    /// the slow way.
    fn naive_starts(text: &[u8]) -> Vec<(usize, InlineKind)> {
        let mut v = Vec::new();
        let mut p = 0;
        while p < text.len() {
            let (line, next) = next_line(text, p);
            let l = &text[line];
            let kind = if uu_block(text, p).is_some() {
                Some(InlineKind::Uuencode)
            } else if yenc_block(text, p).is_some() {
                Some(InlineKind::Yenc)
            } else if l.starts_with(b"(This file must be converted with BinHex") {
                Some(InlineKind::BinHex)
            } else {
                None
            };
            if let Some(k) = kind {
                v.push((p, k));
                let b = match k {
                    InlineKind::Uuencode => uu_block(text, p),
                    InlineKind::Yenc => yenc_block(text, p),
                    InlineKind::BinHex => Some(binhex_block(text, p)),
                };
                let end = b.map_or(next, |b| b.range.end);
                p = if end > p { end } else { next };
                continue;
            }
            p = next;
        }
        v
    }

    #[test]
    fn line_splitting() {
        let t = b"a\r\nb\nc\rd";
        assert_eq!(next_line(t, 0), (0..1, 3));
        assert_eq!(next_line(t, 3), (3..4, 5));
        assert_eq!(next_line(t, 5), (5..6, 7));
        assert_eq!(next_line(t, 7), (7..8, 8));
        assert_eq!(next_line(t, 8), (8..8, 8));
        assert_eq!(next_line(t, 99), (99..99, 99));
    }

    #[test]
    fn uu_in_text() {
        for eol in ["\n", "\r\n", "\r"] {
            let text = format!(
                "hello{eol}begin 644 a file.bin{eol}#0V%T{eol}`{eol}end{eol}more text{eol}"
            );
            let b = blocks(text.as_bytes());
            assert_eq!(b.len(), 1, "{eol:?}");
            assert_eq!(&text[b[0].name.clone().unwrap()], "a file.bin");
            assert_eq!(
                &text[b[0].range.clone()],
                format!("begin 644 a file.bin{eol}#0V%T{eol}`{eol}end")
            );
        }
        // Not at line start, bad mode, no plausible data line: nothing.
        assert!(blocks(b"we begin 644 x\n#0V%T\nend\n").is_empty());
        assert!(blocks(b"begin 64 x\n#0V%T\nend\n").is_empty());
        assert!(blocks(b"begin 644 x\nhello there\nend\n").is_empty());
        assert!(blocks(b"begin the story\n").is_empty());
        // Unterminated: runs to the end.
        let t = b"begin 644 x\n#0V%T\nsend\n";
        assert_eq!(blocks(t)[0].range, 0..t.len());
    }

    #[test]
    fn yenc_in_text() {
        let t = b"x\n=ybegin line=128 size=3 name=f.bin\nabc\n=yend size=3\ny\n=ybegin size=1 name=g\nz\n";
        let b = blocks(t);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].kind, InlineKind::Yenc);
        assert_eq!(&t[b[0].name.clone().unwrap()], b"f.bin");
        assert_eq!(
            &t[b[0].range.clone()],
            b"=ybegin line=128 size=3 name=f.bin\nabc\n=yend size=3"
        );
        assert_eq!(b[1].range.end, t.len());
        assert!(blocks(b"=ybegin size=3\nabc\n=yend\n").is_empty());
    }

    #[test]
    fn binhex_in_text() {
        let t =
            b"Hi\r\n(This file must be converted with BinHex 4.0)\r\n\r\n:abc\r\ndef:\r\nbye\r\n";
        let b = blocks(t);
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].kind, InlineKind::BinHex);
        assert_eq!(&t[b[0].range.clone()], &t[4..t.len() - 7]);
        assert_eq!(b[0].name, None);
    }

    #[test]
    fn max_is_honoured() {
        let one = "begin 644 x\n#0V%T\nend\n";
        let t = one.repeat(5);
        let mut v = Vec::new();
        assert!(scan(t.as_bytes(), &mut v, 3));
        assert_eq!(v.len(), 3);
        let mut v = Vec::new();
        assert!(!scan(t.as_bytes(), &mut v, 5));
        assert_eq!(v.len(), 5);
        let mut v = Vec::new();
        assert!(scan(t.as_bytes(), &mut v, 0));
        assert!(v.is_empty());
    }

    #[test]
    fn blocks_decode() {
        let text =
            b"text\n=ybegin line=128 size=3 name=f\n\x6b\x6c\x6d\n=yend size=3 crc32=a3830348\nbye";
        let b = blocks(text);
        let mut out = Vec::new();
        let d = crate::decode::decode(
            b[0].kind.encoding(),
            &text[b[0].range.clone()],
            &mut out,
            99,
        );
        assert_eq!(out, b"ABC");
        assert!(d.is_empty(), "{d}");
    }

    proptest! {
        #[test]
        fn matches_naive(lines in proptest::collection::vec(prop_oneof![
            Just("begin 644 x.bin".to_string()),
            Just("begin 64 x".to_string()),
            Just("#0V%T".to_string()),
            Just("M".to_string()),
            Just("end".to_string()),
            Just("=ybegin size=3 name=y".to_string()),
            Just("=yend size=3".to_string()),
            Just("(This file must be converted with BinHex 4.0)".to_string()),
            Just(":ab".to_string()),
            Just("c:".to_string()),
            "[ -~]{0,12}",
        ], 0..30), eols in proptest::collection::vec(prop_oneof![Just("\n"), Just("\r\n"), Just("\r")], 30)) {
            let mut text = String::new();
            for (l, e) in lines.iter().zip(&eols) {
                text.push_str(l);
                text.push_str(e);
            }
            let t = text.as_bytes();
            let got: Vec<_> = blocks(t).iter().map(|b| (b.range.start, b.kind)).collect();
            prop_assert_eq!(got, naive_starts(t));
        }

        #[test]
        fn arbitrary_bytes(text in proptest::collection::vec(any::<u8>(), 0..500)) {
            let mut v = Vec::new();
            scan(&text, &mut v, 10);
            for b in &v {
                prop_assert!(b.range.start < b.range.end || b.range.end == text.len());
                prop_assert!(b.range.end <= text.len());
            }
        }
    }
}
