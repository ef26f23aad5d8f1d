//! The message as SpamAssassin's rules see it. (Contract; implementation
//! owned by the rendering helper.)
//!
//! One [`Features`] lives in each scanner and is refilled for every message
//! by [`Features::build`], reusing its buffers.

use super::rules::ast::HeaderMods;
use crate::decode::Encoding;
use crate::mime::Message;
use std::borrow::Cow;

/// Lines of text in one buffer: what body, rawbody and uri rules read.
#[derive(Debug, Clone, Default)]
pub struct Text {
    /// All lines, each followed by `\n`.
    pub buf: Vec<u8>,
    /// Each line as `start..end` in `buf`, without its `\n`.
    pub lines: Vec<(u32, u32)>,
}

impl Text {
    /// Empties it, keeping the allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.lines.clear();
    }
    /// Appends one line (a `\n` is added after it).
    pub fn push(&mut self, line: &[u8]) {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(line);
        let end = self.buf.len() as u32;
        self.buf.push(b'\n');
        self.lines.push((start, end));
    }
    /// The lines.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.lines
            .iter()
            .map(|&(s, e)| &self.buf[s as usize..e as usize])
    }
    /// Number of lines.
    pub fn len(&self) -> usize {
        self.lines.len()
    }
    /// True when there are no lines.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }
}

/// What one MIME part looked like.
#[derive(Debug, Clone)]
pub struct PartFacts {
    /// Index in [`Message::parts`].
    pub index: u32,
    /// `type/subtype`, lower case.
    pub content_type: String,
    /// The charset parameter, lower case, if any.
    pub charset: Option<String>,
    /// Content-Transfer-Encoding.
    pub encoding: Encoding,
    /// The file name, if any.
    pub filename: Option<String>,
    /// Raw body bytes.
    pub raw_len: usize,
    /// Decoded body bytes.
    pub decoded_len: usize,
    /// A text/* leaf that is not an attachment (it feeds body and rawbody).
    pub is_text: bool,
    /// Content-Disposition: attachment, or a file name on a non-text part.
    pub is_attachment: bool,
    /// Depth in the tree (root 0).
    pub depth: u32,
    /// Index of the enclosing multipart's [`PartFacts`], if any.
    pub parent: Option<u32>,
    /// Bytes of the decoded text that are not valid in the declared charset
    /// (or not ASCII when none is declared).
    pub bad_charset_bytes: usize,
}

/// An `<a href>` with its visible text.
#[derive(Debug, Clone, Default)]
pub struct Anchor {
    /// The href, entity-decoded.
    pub href: String,
    /// The visible text inside the anchor.
    pub text: String,
}

/// Facts about the text/html parts, for SpamAssassin's HTML eval tests.
#[derive(Debug, Clone, Default)]
pub struct HtmlFacts {
    /// text/html parts seen.
    pub parts: u32,
    /// Decoded HTML bytes, all parts.
    pub bytes: usize,
    /// Bytes of rendered visible text.
    pub text_bytes: usize,
    /// Bytes of text that would not be visible (same colour as the
    /// background, tiny fonts, display:none, ...).
    pub invisible_bytes: usize,
    /// Start tags by lower-case name, with counts, sorted by name.
    pub tags: Vec<(String, u32)>,
    /// Tags whose name HTML does not define.
    pub unknown_tags: u32,
    /// Start tags left unclosed at the end / end tags without a start tag.
    pub unbalanced: u32,
    /// `<img>` count.
    pub images: u32,
    /// Sum of width×height of images that declare both.
    pub image_area: u64,
    /// Comments.
    pub comments: u32,
    /// Characters of comments.
    pub comment_bytes: usize,
    /// The `<title>` text.
    pub title: String,
    /// Anchors.
    pub anchors: Vec<Anchor>,
    /// Words broken up with tags or entities to hide them (`V<b></b>iagra`,
    /// `&#86;iagra`): how many were seen.
    pub obfuscated_words: u32,
    /// Character references (`&#..;`, `&name;`) in text.
    pub entities: u32,
    /// `<script>` elements.
    pub scripts: u32,
    /// `<form>` elements.
    pub forms: u32,
    /// Tags after `</html>`.
    pub after_close: bool,
}

/// The rendered message: header views, body lines, URIs and part facts.
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// `body`: the Subject first, then the rendered text of the text parts
    /// (HTML rendered to text), one line per paragraph as SpamAssassin
    /// splits it.
    pub body: Text,
    /// `rawbody`: the decoded text parts, not rendered, line by line.
    pub rawbody: Text,
    /// `uri`: every URI found, normalised, one per line, each once.
    pub uris: Text,
    /// Facts about each part, in walk order.
    pub parts: Vec<PartFacts>,
    /// Facts about the HTML.
    pub html: HtmlFacts,
}

impl Features {
    /// Empties everything, keeping allocations.
    pub fn clear(&mut self) {
        self.body.clear();
        self.rawbody.clear();
        self.uris.clear();
        self.parts.clear();
        self.html = HtmlFacts::default();
    }

    /// Refills `self` from `msg`. Decoding stays within `limits`.
    pub fn build(&mut self, msg: &Message<'_>, limits: &crate::Limits) {
        let _ = (msg, limits);
        self.clear();
    }

    /// The value a `header` rule reads for one header name (case-insensitive),
    /// as SpamAssassin's `get()` returns it: all instances joined with `\n`,
    /// decoded (RFC 2047) and unfolded unless `mods.raw`; `:addr` / `:name`
    /// reduce it to the first address / display name. `None` when absent.
    /// The pseudo-headers `ALL`, `ToCc`, `EnvelopeFrom` and `MESSAGEID` are
    /// answered here too.
    pub fn header<'m>(
        &self,
        msg: &Message<'m>,
        name: &str,
        mods: HeaderMods,
    ) -> Option<Cow<'m, [u8]>> {
        let _ = (msg, name, mods);
        None
    }

    /// The values a `mimeheader` rule reads: header `name` of every MIME
    /// part below the root, each decoded unless `raw`.
    pub fn mime_header<'m>(&self, msg: &Message<'m>, name: &str, raw: bool) -> Vec<Cow<'m, [u8]>> {
        let _ = (msg, name, raw);
        Vec::new()
    }
}
