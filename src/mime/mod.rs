//! The zero-copy MIME walker.
//!
//! [`Message::parse`] reads an RFC 5322 message from the caller's bytes and
//! builds an index of it: a tree of [`Part`]s, each a header span and a body
//! span into the input, with what its header says (type, boundary, charset,
//! transfer encoding) and the [`Defects`] seen on the way. Nothing is copied
//! and nothing is decoded until asked for: a scanner that wants a part's
//! bytes decodes them into its own scratch buffer with a [`Decoder`].
//!
//! The tree holds every part a mail client could act on:
//!
//! * multipart bodies, with their preamble and epilogue, to any depth the
//!   [`Limits`] allow;
//! * message/rfc822 and message/global bodies, parsed as messages;
//! * uuencode, yEnc and BinHex blocks pasted inline into text bodies, as
//!   children of their text part ([`Origin::Inline`]);
//! * alternate readings of ambiguous structure ([`Origin::Alternate`]): two
//!   different Content-Type fields, boundaries or transfer encodings, a
//!   boundary both quoted and not (`boundary="a"b`), and a multipart whose
//!   boundary is missing or never occurs (read as text, and as a multipart
//!   with the boundary of its first `--` line). The primary reading follows
//!   the first field, as most clients do; a scanner walks both.
//!
//! The parser is built for hostile input. It never panics, reads the input
//! once (the boundary lines of all open multiparts are matched by one hash
//! lookup per line, so nesting costs nothing extra), and stops at
//! every limit with a defect rather than an error: a `Message` always comes
//! back, however broken the bytes.
//!
//! ```
//! use filter::mime::{Decoder, Message, PartKind};
//! use filter::Limits;
//!
//! let raw = b"From: a@example.com\r\n\
//! Subject: =?utf-8?q?caf=C3=A9?=\r\n\
//! Content-Type: multipart/mixed; boundary=\"XX\"\r\n\
//! \r\n\
//! preamble\r\n\
//! --XX\r\n\
//! Content-Type: text/plain\r\n\
//! \r\n\
//! hello\r\n\
//! --XX\r\n\
//! Content-Type: application/octet-stream; name=\"a.bin\"\r\n\
//! Content-Transfer-Encoding: base64\r\n\
//! \r\n\
//! AAEC\r\n\
//! --XX--\r\n";
//! let msg = Message::parse(raw);
//! let root = msg.root();
//! assert_eq!(root.kind, PartKind::Multipart);
//! assert_eq!(msg.header(root, "subject"), Some(&b" =?utf-8?q?caf=C3=A9?="[..]));
//!
//! let leaves: Vec<_> = msg.walk().filter(|(_, p)| p.kind == PartKind::Leaf).collect();
//! assert_eq!(leaves.len(), 2);
//! assert_eq!(msg.body(leaves[0].1), b"hello");
//!
//! let mut dec = Decoder::new(&Limits::default());
//! let mut out = Vec::new();
//! dec.decode(&msg, leaves[1].1, &mut out);
//! assert_eq!(out, [0, 1, 2]);
//! assert!(msg.defects().is_empty());
//! ```

pub mod address;
pub mod encoded_word;
pub mod header;
pub mod params;
#[cfg(test)]
mod tests;
mod tree;

use std::borrow::Cow;

use crate::decode::{self, Encoding, inline::InlineKind};
use crate::defect::Defects;
use crate::limits::Limits;

pub use header::Field;
pub use tree::MAX_DEPTH_CAP;

/// A half-open byte range `start..end` into the input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub const fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    /// Its length in bytes.
    pub const fn len(self) -> usize {
        self.end - self.start
    }
    /// True when it holds no bytes.
    pub const fn is_empty(self) -> bool {
        self.end == self.start
    }
}

/// What a part is, structurally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartKind {
    /// multipart/*: its children are the parts between its boundaries.
    Multipart,
    /// message/rfc822 or message/global: its one child is the message.
    Message,
    /// Anything else: its body is content, to be decoded.
    Leaf,
}

/// Where a part came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An ordinary MIME entity.
    Mime,
    /// An inline uuencode, yEnc or BinHex block inside a text body. It has
    /// no header; its body is the block, begin and end lines included.
    Inline(InlineKind),
    /// Another reading of an ambiguous part: it is a child of that part,
    /// with the same header and body spans, read another way.
    Alternate,
    /// The rest of a multipart once the part limit was reached.
    Overflow,
}

/// One node of the part tree. All spans index the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part<'a> {
    /// Multipart, message or leaf.
    pub kind: PartKind,
    /// Where the part came from.
    pub origin: Origin,
    /// True when this part belongs to an alternate reading.
    pub alternate: bool,
    /// Nesting depth; the root is 0.
    pub depth: u32,
    /// Index of the parent in [`Message::parts`].
    pub parent: Option<u32>,
    /// Index of the first child.
    pub first_child: Option<u32>,
    /// Index of the last child.
    pub last_child: Option<u32>,
    /// Index of the next sibling.
    pub next_sibling: Option<u32>,
    /// The raw header block (without the blank line that ends it).
    pub header: Span,
    /// The raw body. For a multipart: preamble, parts and epilogue.
    pub body: Span,
    /// This part's fields, as a range of [`Message::fields`].
    pub fields: Span,
    /// The media type as declared (`text` when none was), original case.
    pub media_type: &'a [u8],
    /// The media subtype as declared (`plain` when none was), original case.
    pub media_subtype: &'a [u8],
    /// The boundary in use, for a multipart.
    pub boundary: Option<Cow<'a, [u8]>>,
    /// The charset parameter, if any.
    pub charset: Option<Cow<'a, [u8]>>,
    /// The transfer encoding of the body.
    pub encoding: Encoding,
    /// Text before the first boundary, for a multipart.
    pub preamble: Option<Span>,
    /// Text after the close boundary, for a multipart.
    pub epilogue: Option<Span>,
    /// What was odd about this part.
    pub defects: Defects,
}

impl Part<'_> {
    /// `type/subtype`, lower-cased.
    pub fn content_type(&self) -> String {
        let mut s = String::with_capacity(self.media_type.len() + self.media_subtype.len() + 1);
        s.push_str(&String::from_utf8_lossy(self.media_type).to_ascii_lowercase());
        s.push('/');
        s.push_str(&String::from_utf8_lossy(self.media_subtype).to_ascii_lowercase());
        s
    }
    /// True when the media type is `t` (case-insensitive).
    pub fn is_type(&self, t: &str) -> bool {
        self.media_type.eq_ignore_ascii_case(t.as_bytes())
    }
    /// True when the media type and subtype are `t` and `s`.
    pub fn is(&self, t: &str, s: &str) -> bool {
        self.is_type(t) && self.media_subtype.eq_ignore_ascii_case(s.as_bytes())
    }
}

/// A parsed message: the input and an index of its parts.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    input: &'a [u8],
    parts: Vec<Part<'a>>,
    fields: Vec<Field>,
    defects: Defects,
    mbox_from: Option<Span>,
}

impl<'a> Message<'a> {
    /// Parses `input` with the default [`Limits`].
    pub fn parse(input: &'a [u8]) -> Message<'a> {
        Self::parse_with(input, &Limits::default())
    }

    /// Parses `input` within `limits`. Never fails: whatever is wrong is in
    /// [`Message::defects`].
    pub fn parse_with(input: &'a [u8], limits: &Limits) -> Message<'a> {
        let mut b = tree::Builder::new(input, limits);
        b.run();
        Message {
            input,
            parts: b.parts,
            fields: b.fields,
            defects: b.defects,
            mbox_from: b.mbox_from,
        }
    }

    /// Parses `input` and returns how many bytes the parser examined (every
    /// byte a search passed over, every byte compared with a boundary). The
    /// tests use it to show that work grows linearly with the input.
    #[doc(hidden)]
    pub fn parse_work(input: &[u8], limits: &Limits) -> u64 {
        let mut b = tree::Builder::new(input, limits);
        b.run();
        b.work.get()
    }

    /// The bytes this message was parsed from.
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// Every part, in the order they were found: the primary reading depth
    /// first, then the alternate readings. The root is `parts()[0]`.
    pub fn parts(&self) -> &[Part<'a>] {
        &self.parts
    }

    /// The top-level part.
    pub fn root(&self) -> &Part<'a> {
        &self.parts[0]
    }

    /// Every defect seen anywhere in the message.
    pub fn defects(&self) -> Defects {
        self.defects
    }

    /// The mbox `From ` line that preceded the header, if any.
    pub fn mbox_from(&self) -> Option<&'a [u8]> {
        self.mbox_from.map(|s| self.slice(s))
    }

    /// The bytes of a span.
    pub fn slice(&self, s: Span) -> &'a [u8] {
        &self.input[s.start..s.end]
    }

    /// The raw body of a part.
    pub fn body(&self, part: &Part<'_>) -> &'a [u8] {
        self.slice(part.body)
    }

    /// Every header field of every part; see [`Part::fields`].
    pub fn all_fields(&self) -> &[Field] {
        &self.fields
    }

    /// The header fields of a part, in order.
    pub fn fields(&self, part: &Part<'_>) -> &[Field] {
        &self.fields[part.fields.start..part.fields.end]
    }

    /// A field's name.
    pub fn field_name(&self, f: &Field) -> &'a [u8] {
        self.slice(f.name)
    }

    /// A field's raw value (folding and surrounding space included).
    pub fn field_raw(&self, f: &Field) -> &'a [u8] {
        self.slice(f.value)
    }

    /// The raw value of the first field called `name` (case-insensitive).
    pub fn header(&self, part: &Part<'_>, name: &str) -> Option<&'a [u8]> {
        self.headers(part, name).next()
    }

    /// The raw values of every field called `name`, in order. For
    /// `Received` this is the relay chain, newest first.
    pub fn headers<'s>(
        &'s self,
        part: &Part<'_>,
        name: &'s str,
    ) -> impl Iterator<Item = &'a [u8]> + 's {
        let input = self.input;
        self.fields(part)
            .iter()
            .filter(move |f| input[f.name.start..f.name.end].eq_ignore_ascii_case(name.as_bytes()))
            .map(move |f| &input[f.value.start..f.value.end])
    }

    /// The first field called `name`, unfolded and trimmed.
    pub fn header_unfolded(&self, part: &Part<'_>, name: &str) -> Option<Cow<'a, [u8]>> {
        self.header(part, name).map(header::unfold)
    }

    /// The first field called `name`, unfolded, with RFC 2047 encoded-words
    /// decoded and 8-bit bytes read as UTF-8, else the part's charset, else
    /// Latin-1.
    pub fn header_text(&self, part: &Part<'_>, name: &str) -> Option<Cow<'a, str>> {
        let raw = self.header(part, name)?;
        Some(self.decode_value(part, raw))
    }

    /// A raw field value decoded as in [`Message::header_text`].
    pub fn decode_value(&self, part: &Part<'_>, raw: &'a [u8]) -> Cow<'a, str> {
        encoded_word::decode(raw.trim_ascii(), part.charset.as_deref()).0
    }

    /// The addresses of the first field called `name` (From, To, Cc, …).
    pub fn addresses(&self, part: &Part<'_>, name: &str) -> Vec<address::Address> {
        self.header(part, name)
            .map(|v| address::parse_list(v).0)
            .unwrap_or_default()
    }

    /// The part's file name: Content-Disposition `filename*` or `filename`,
    /// else Content-Type `name*` or `name`, else the name on an inline
    /// uuencode or yEnc begin line. A BinHex part's own name, from its
    /// encoded header, comes first: it is the name the Mac will use.
    pub fn filename(&self, part: &Part<'_>) -> Option<Cow<'a, str>> {
        if part.encoding == Encoding::BinHex {
            // The name lives in the encoded BinHex header.
            let f = decode::binhex::decode_file(self.body(part), &mut Vec::new(), 0);
            if !f.name.is_empty() {
                let name =
                    decode::charset::header_to_utf8(&f.name, Some(b"macintosh")).into_owned();
                return Some(Cow::Owned(name));
            }
        }
        if let Origin::Inline(_) = part.origin {
            return inline_name(self.body(part)).map(|n| decode::charset::header_to_utf8(n, None));
        }
        let from = |field: &str, param: &str| {
            self.header(part, field)
                .and_then(|v| params::parse(v).text(param))
                .filter(|n| !n.trim().is_empty())
        };
        from("content-disposition", "filename").or_else(|| from("content-type", "name"))
    }

    /// The children of part `idx`, in order.
    pub fn children(&self, part: &Part<'_>) -> Children<'_, 'a> {
        Children {
            msg: self,
            next: part.first_child,
        }
    }

    /// Every part, depth first, each with its index. Alternate readings come
    /// right after the ambiguous part's own children.
    pub fn walk(&self) -> Walk<'_, 'a> {
        Walk {
            msg: self,
            next: Some(0),
        }
    }
}

/// The file name on the first line of an inline block: `begin 644 NAME`
/// or `=ybegin … name=NAME`.
fn inline_name(block: &[u8]) -> Option<&[u8]> {
    let line = &block[..memchr::memchr2(b'\r', b'\n', block).unwrap_or(block.len())];
    let name = if let Some(rest) = line.strip_prefix(b"begin") {
        // `begin MODE NAME` or `begin-base64 MODE NAME`.
        let rest = rest
            .strip_prefix(b"-base64")
            .unwrap_or(rest)
            .trim_ascii_start();
        let mode_end = rest.iter().position(|b| b.is_ascii_whitespace())?;
        &rest[mode_end..]
    } else {
        let at = memchr::memmem::find(line, b" name=")?;
        &line[at + 6..]
    };
    let name = name.trim_ascii();
    (!name.is_empty()).then_some(name)
}

/// Iterator over a part's children; see [`Message::children`].
pub struct Children<'m, 'a> {
    msg: &'m Message<'a>,
    next: Option<u32>,
}

impl<'m, 'a> Iterator for Children<'m, 'a> {
    type Item = &'m Part<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        let p = &self.msg.parts[self.next? as usize];
        self.next = p.next_sibling;
        Some(p)
    }
}

/// Depth-first iterator over all parts; see [`Message::walk`].
pub struct Walk<'m, 'a> {
    msg: &'m Message<'a>,
    next: Option<u32>,
}

impl<'m, 'a> Iterator for Walk<'m, 'a> {
    type Item = (usize, &'m Part<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        let idx = self.next? as usize;
        let parts = &self.msg.parts;
        let p = &parts[idx];
        self.next = p.first_child.or_else(|| {
            let mut cur = p;
            loop {
                if let Some(s) = cur.next_sibling {
                    return Some(s);
                }
                cur = &parts[cur.parent? as usize];
            }
        });
        Some((idx, p))
    }
}

/// Decodes part bodies within the per-part and per-message limits.
///
/// One `Decoder` serves one message: it counts the bytes decoded so far and
/// cuts every part once the message total is reached.
#[derive(Clone, Debug)]
pub struct Decoder {
    max_part: usize,
    left: usize,
}

impl Decoder {
    /// A decoder for one message under `limits`.
    pub fn new(limits: &Limits) -> Self {
        Decoder {
            max_part: limits.max_decoded_part,
            left: limits.max_decoded_total,
        }
    }

    /// Decodes `part`'s body into `out` (cleared first) and returns the
    /// decoder's defects. Multipart and message parts decode to nothing.
    pub fn decode(&mut self, msg: &Message<'_>, part: &Part<'_>, out: &mut Vec<u8>) -> Defects {
        out.clear();
        if part.kind != PartKind::Leaf {
            return Defects::empty();
        }
        let limit = self.max_part.min(self.left);
        let d = decode::decode(part.encoding, msg.body(part), out, limit);
        self.left -= out.len().min(self.left);
        d
    }

    /// Bytes the message may still decode to.
    pub fn remaining(&self) -> usize {
        self.left
    }
}
