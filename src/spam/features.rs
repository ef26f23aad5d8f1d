//! The message as SpamAssassin's rules see it.
//!
//! A SpamAssassin rule never reads the message as it was sent. A `body` rule
//! reads the *rendered* text: the Subject, then every text/plain and
//! text/html leaf transfer-decoded, converted to UTF-8, HTML rendered to
//! what a reader sees, and white space normalised so that one paragraph is
//! one line. A `rawbody` rule reads the transfer-decoded text leaves in
//! chunks. A `uri` rule reads every URI found in the rendered text and in
//! HTML attributes, together with the variants the canonicaliser adds. A
//! `header` rule reads what `get()` returns: every instance of the field,
//! unfolded, RFC 2047 decoded, each ending in a newline. [`Features`] holds
//! all of these views for one message; one lives in each scanner and is
//! refilled by [`Features::build`], reusing its buffers.
//!
//! The details follow SpamAssassin 4.0.1, because its rules were written
//! against them:
//!
//! * **Leaves.** A leaf inside a multipart has its raw lines longer than
//!   2048 bytes (with the line break) cut into lines of 2048 bytes before
//!   it is transfer-decoded, as SpamAssassin's MIME parser cuts them: in
//!   an unencoded HTML part written on one line, a link or a word may then
//!   hold a line break. A single-part message's body is not cut. (The
//!   parser cuts long header lines of such parts too; those are read
//!   whole here.)
//! * **Body.** Every leaf, in depth-first order, adds a newline to the text
//!   gathered so far (when that is not empty); text/plain and text/html
//!   leaves (or leaves named `*.htm(l)`) then add their text, cut near
//!   50 000 characters. Both halves of a multipart/alternative are
//!   rendered. Then a run of white space containing two newlines becomes a
//!   paragraph break, every other run of white space one space, and the
//!   Subject line goes in front. Lines longer than 2048 bytes are split at
//!   a space. Each [`Text`] line is one element of SpamAssassin's array,
//!   without its final newline (the last element usually has none).
//! * **Rawbody.** Leaves of type text/* (but not text/calendar) and
//!   message/*, transfer-decoded but not charset-converted, CRLF made LF,
//!   cut near 500 000 bytes, and split into chunks of 2048 to 4096 bytes
//!   (at a newline, a `>` or a space when there is one). A chunk holds many
//!   lines: rules match across its newlines, as SpamAssassin's do.
//! * **URIs.** See [`super::uri`]: the text URIs of every body line, then
//!   the HTML URIs, each with its canonical variants, each once.
//! * **Headers.** See [`Features::header`].
//!
//! ```
//! use filter::mime::Message;
//! use filter::spam::Features;
//! use filter::spam::rules::ast::HeaderMods;
//! use filter::Limits;
//!
//! let raw = b"Subject: =?utf-8?q?Hi_there?=\r\nTo: A <a@example.com>, b@example.org\r\n\
//! Content-Type: text/html\r\n\r\n<p>Visit <a href=\"http://example.com/x\">us</a>\r\n\
//! now</p><p>Bye</p>\r\n";
//! let msg = Message::parse(raw);
//! let mut f = Features::default();
//! f.build(&msg, &Limits::default());
//! let body: Vec<&[u8]> = f.body.iter().collect();
//! // The Subject, the paragraph break the <p> opens with, then the text.
//! assert_eq!(body, [&b"Hi there"[..], b"", b"Visit us now", b"Bye"]);
//! assert_eq!(f.uris.iter().collect::<Vec<_>>(), [&b"http://example.com/x"[..]]);
//!
//! let subject = f.header(&msg, "Subject", HeaderMods::default()).unwrap();
//! assert_eq!(&subject[..], b"Hi there\n");
//! let addr = HeaderMods { addr: true, ..HeaderMods::default() };
//! assert_eq!(&f.header(&msg, "To", addr).unwrap()[..], b"a@example.com\nb@example.org");
//! ```

use super::html::{self, HtmlPart, Rendered};
use super::origin;
use super::registry::Registry;
use super::rules::ast::HeaderMods;
use super::uri::{self, TextUris};
use crate::decode::Encoding;
use crate::decode::charset;
use crate::mime::{Message, Origin, Part, PartKind, address, encoded_word};
use std::borrow::Cow;
use std::collections::HashSet;

/// Lines of text in one buffer: what body, rawbody and uri rules read.
#[derive(Debug, Clone, Default)]
pub struct Text {
    /// All lines, each followed by `\n`.
    pub buf: Vec<u8>,
    /// Each line as `start..end` in `buf`, without its `\n`.
    pub lines: Vec<(u32, u32)>,
    /// For each line, whether SpamAssassin's copy of it ends in `\n`
    /// (a line cut short at 2,048 bytes, or the last line, may not).
    pub newline: Vec<bool>,
}

impl Text {
    /// Empties it, keeping the allocation.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.lines.clear();
        self.newline.clear();
    }
    /// Appends one line (a `\n` is added after it). A line that would
    /// take the buffer past 4 GiB (the offsets are `u32`) is dropped.
    pub fn push(&mut self, line: &[u8]) {
        self.push_line(line, false);
    }
    /// Appends one line, noting whether SpamAssassin's copy of it ends
    /// in `\n` (see [`Text::newline`]).
    pub fn push_line(&mut self, line: &[u8], newline: bool) {
        if self.buf.len() + line.len() >= u32::MAX as usize {
            return;
        }
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(line);
        let end = self.buf.len() as u32;
        self.buf.push(b'\n');
        self.lines.push((start, end));
        self.newline.push(newline);
    }
    /// The lines, each with its length as SpamAssassin measures it
    /// (counting the `\n` its copy ends in, if any).
    pub fn iter_sa(&self) -> impl Iterator<Item = (&[u8], usize)> + '_ {
        self.iter()
            .zip(&self.newline)
            .map(|(l, &nl)| (l, l.len() + usize::from(nl)))
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
    /// The type as SpamAssassin reads the Content-Type field: lower case,
    /// cut after `type/subtype`, and every `text...` type other than
    /// text/html, text/calendar and text/x-vcard (text/enriched,
    /// `text plain`...) taken as text/plain. It decides what feeds `body`
    /// and `rawbody`.
    pub sa_type: String,
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
    /// A leaf whose text feeds `body`: text/plain or text/html (or a leaf
    /// named `*.htm(l)`), attachment or not, as SpamAssassin renders them.
    pub is_text: bool,
    /// A leaf that feeds `rawbody`: text/* except text/calendar, and
    /// message/* leaves.
    pub is_raw_text: bool,
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
    /// Bytes of comments, `<!--` and `-->` included.
    pub comment_chars: usize,
    /// What SpamAssassin's HTML parser reports for each text/html part, in
    /// order: the values its `html_*` evals test (an eval is true when any
    /// part satisfies it). The fields above sum or merge these.
    pub per_part: Vec<RenderedPart>,
}

/// One rendered text/html part.
#[derive(Debug, Clone, Default)]
pub struct RenderedPart {
    /// The part's index in [`Message::walk`] order.
    pub index: usize,
    /// What SpamAssassin's HTML parser reports about it.
    pub facts: HtmlPart,
    /// Its rendered text, invisible text included (SpamAssassin's
    /// `rendered()`, which `multipart_alternative_difference` compares).
    pub text: String,
}

/// The rendered message: header views, body lines, URIs and part facts.
#[derive(Debug, Clone, Default)]
pub struct Features {
    /// `body`: the Subject first, then the rendered text of the text parts
    /// (HTML rendered to text), one line per paragraph as SpamAssassin
    /// splits it.
    pub body: Text,
    /// `rawbody`: the decoded text parts, not rendered, in chunks of
    /// 2048-4096 bytes that contain newlines (SpamAssassin's array).
    pub rawbody: Text,
    /// `uri`: every URI found, normalised, one per line, each once.
    pub uris: Text,
    /// Facts about each part, in walk order.
    pub parts: Vec<PartFacts>,
    /// Facts about the HTML.
    pub html: HtmlFacts,
    /// The visible rendered text (invisible HTML text left out), split
    /// like `body` (SpamAssassin's `get_visible_rendered_body_text_array`).
    pub visible_body: Text,
    /// The invisible HTML text, split like `body`, without the Subject.
    pub invisible_body: Text,
    /// A link was longer than SpamAssassin's `MAX_URI_LENGTH` (8,192) and
    /// was cut: in an HTML attribute, or once canonicalized.
    pub uri_truncated: bool,
    /// The Bayes classifier's probability that the message is spam, when
    /// the engine has a model ([`crate::spam::bayes::SharedModel`]); set
    /// by the scanner after [`Features::build`], read by `check_bayes`.
    pub bayes: Option<f64>,
    /// The limits the features were built under; the eval tests that
    /// decode a part again decode it under the same ones.
    pub(crate) limits: crate::Limits,
    scratch: Scratch,
}

/// Buffers reused from message to message.
#[derive(Debug, Clone, Default)]
struct Scratch {
    pre: Vec<u8>,
    decoded: Vec<u8>,
    text: String,
    visible: String,
    invisible: String,
    norm: String,
    rendered: Rendered,
    html_uris: Vec<String>,
    text_uris: TextUris,
    found: Vec<String>,
    seen: HashSet<String>,
}

/// SpamAssassin's `MAX_BODY_LINE_LENGTH`.
const MAX_LINE: usize = 2048;
/// SpamAssassin's default `body_part_scan_size` (characters).
const BODY_PART_SCAN: usize = 50_000;
/// SpamAssassin's default `rawbody_part_scan_size` (bytes).
const RAWBODY_PART_SCAN: usize = 500_000;

impl Features {
    /// Empties everything, keeping allocations.
    pub fn clear(&mut self) {
        self.body.clear();
        self.rawbody.clear();
        self.uris.clear();
        self.parts.clear();
        self.html = HtmlFacts::default();
        self.visible_body.clear();
        self.invisible_body.clear();
        self.uri_truncated = false;
        self.bayes = None;
    }

    /// Refills `self` from `msg`. Decoding stays within `limits`: each part
    /// decodes to at most `max_decoded_part` bytes and the message to
    /// `max_decoded_total`; the rendered text of a part is cut near 50 000
    /// characters and the raw text near 500 000 bytes, as SpamAssassin does.
    /// Alternate readings of ambiguous structure and inline uuencode/yEnc
    /// blocks are not part of SpamAssassin's view and are left out.
    pub fn build(&mut self, msg: &Message<'_>, limits: &crate::Limits) {
        self.clear();
        self.limits = limits.clone();
        let mut sc = std::mem::take(&mut self.scratch);
        sc.text.clear();
        sc.visible.clear();
        sc.invisible.clear();
        sc.html_uris.clear();
        let mut left = limits.max_decoded_total;
        for (idx, part) in msg.walk() {
            if part.alternate || matches!(part.origin, Origin::Inline(_)) {
                continue;
            }
            let mut facts = part_facts(msg, idx, part);
            if part.kind != PartKind::Leaf {
                self.parts.push(facts);
                continue;
            }
            let limit = limits.max_decoded_part.min(left);
            sc.decoded.clear();
            let body = msg.body(part);
            // The line break after the body, which belongs to the
            // boundary (or ends the message).
            let tail = match msg.input().get(part.body.end..) {
                Some([b'\r', b'\n', ..]) => 2,
                Some([b'\r' | b'\n', ..]) => 1,
                _ => 0,
            };
            // Base64 decoding skips line breaks, so the cut changes nothing
            // there: the large parts (attachments) are not read for it.
            let split = part.encoding != Encoding::Base64
                && in_multipart(msg, part)
                && has_long_line(body, tail);
            if split || part.encoding == Encoding::QuotedPrintable {
                sc.pre.clear();
                if split {
                    split_long_lines(body, tail, &mut sc.pre);
                } else {
                    sc.pre.extend_from_slice(body);
                }
                // SpamAssassin's quoted-printable decoder first deletes the
                // blanks at the end of each line (RFC 2045), before `=20`s
                // are decoded.
                if part.encoding == Encoding::QuotedPrintable {
                    strip_ws_before_nl(&mut sc.pre);
                }
                crate::decode::decode(part.encoding, &sc.pre, &mut sc.decoded, limit);
            } else {
                crate::decode::decode(part.encoding, body, &mut sc.decoded, limit);
            }
            left -= sc.decoded.len().min(left);
            // SpamAssassin keeps the line break before a boundary as part
            // of the body; it survives decoding unless the body is base64.
            if !matches!(part.encoding, Encoding::Base64)
                && tail > 0
                && sc.decoded.len() < limits.max_decoded_part
            {
                sc.decoded.push(b'\n');
            }
            crlf_to_lf(&mut sc.decoded);
            if part.encoding != Encoding::Base64 {
                cap_blank_lines(&sc.decoded, &mut sc.pre);
                std::mem::swap(&mut sc.decoded, &mut sc.pre);
            }
            facts.decoded_len = sc.decoded.len();
            let ct = facts.sa_type.as_str();
            let effective_html = facts.filename.as_deref().is_some_and(is_html_name);
            let effective = if effective_html { "text/html" } else { ct };
            facts.is_raw_text = (starts_word(effective, "text")
                || starts_word(effective, "message"))
                && ct != "text/calendar";
            facts.is_text = effective == "text/plain" || effective == "text/html";
            // rawbody
            if facts.is_raw_text {
                let raw = cut_raw(&sc.decoded, RAWBODY_PART_SCAN);
                push_paragraphs(&mut self.rawbody, raw);
            }
            // body
            for t in [&mut sc.text, &mut sc.visible, &mut sc.invisible] {
                if !t.is_empty() {
                    t.push('\n');
                }
            }
            if facts.is_text {
                let cs = part.charset.as_deref();
                facts.bad_charset_bytes = bad_charset_bytes(&sc.decoded, cs);
                let text = to_utf8(&sc.decoded, cs);
                if effective == "text/html" && !text.is_empty() {
                    html::render(&text, &mut sc.rendered);
                    let r = &mut sc.rendered;
                    push_cut(&mut sc.text, &r.text);
                    push_cut(&mut sc.visible, &r.visible);
                    push_cut(&mut sc.invisible, &r.invisible);
                    sc.html_uris.extend(r.uris.iter().cloned());
                    let mut p = std::mem::take(&mut r.part);
                    self.uri_truncated |= p.uri_truncated;
                    p.ratio = (!sc.decoded.is_empty()).then(|| {
                        (sc.decoded.len() as f64 - p.html_length as f64) / sc.decoded.len() as f64
                    });
                    self.html
                        .add(&p, sc.decoded.len(), r.text.len(), r.invisible.len());
                    self.html.per_part.push(RenderedPart {
                        index: idx,
                        facts: p,
                        // Read above; the next render starts it anew.
                        text: std::mem::take(&mut r.text),
                    });
                } else {
                    push_cut(&mut sc.text, &text);
                    push_cut(&mut sc.visible, &text);
                }
            }
            self.parts.push(facts);
        }
        self.html.finish();
        // Subject, then the normalised text.
        // The last Subject, as SpamAssassin's scalar get_header gives it.
        let subject = get_header(msg, msg.root(), "Subject", false)
            .pop()
            .map(|s| {
                let mut v = s.into_owned();
                if v == b"\n" {
                    v.clear();
                }
                v
            })
            .unwrap_or_default();
        let subject: &[u8] = if subject.is_empty() { b"\n" } else { &subject };
        normalize_ws(&sc.text, &mut sc.norm);
        split_short_lines(&mut self.body, subject, sc.norm.as_bytes());
        normalize_ws(&sc.visible, &mut sc.norm);
        split_short_lines(&mut self.visible_body, subject, sc.norm.as_bytes());
        normalize_ws(&sc.invisible, &mut sc.norm);
        split_short_lines(&mut self.invisible_body, b"", sc.norm.as_bytes());
        // URIs: the rendered text, then the HTML attributes.
        sc.text_uris.reset();
        sc.seen.clear();
        sc.found.clear();
        for i in 0..self.body.lines.len() {
            let (s, e) = self.body.lines[i];
            // SpamAssassin's lines end in "\n" except the last.
            let line = &self.body.buf[s as usize..(e as usize + 1).min(self.body.buf.len())];
            sc.text_uris.scan(line, &mut sc.found);
        }
        for u in &sc.found {
            let variants = uri::canonicalize_flagging(u, &mut self.uri_truncated);
            if variants.iter().any(|v| uri::has_domain(v)) {
                for v in variants {
                    if sc.seen.insert(v.clone()) {
                        self.uris.push(v.as_bytes());
                    }
                }
            }
        }
        for u in &sc.html_uris {
            for v in uri::canonicalize_flagging(u, &mut self.uri_truncated) {
                if sc.seen.insert(v.clone()) {
                    self.uris.push(v.as_bytes());
                }
            }
        }
        self.scratch = sc;
    }

    /// The value a `header` rule reads for one header name (case-insensitive),
    /// as SpamAssassin 4.0's `get()` returns it in list context, joined the
    /// way its header rules join it (with nothing when the values end in a
    /// newline, else with `\n`). `None` when the header is absent.
    ///
    /// * Plain: every instance, in order, folding removed (a line break and
    ///   the white space after it become one space), trimmed, RFC 2047
    ///   encoded-words decoded (except in Received, Message-ID, Date,
    ///   MIME-Version, References, In-Reply-To and List-* fields, as
    ///   SpamAssassin does), 8-bit bytes read as UTF-8 (else Latin-1), each
    ///   followed by `\n`.
    /// * `:raw`: every instance exactly as written after the colon (leading
    ///   space and folding kept, CRLF made LF), each followed by `\n`.
    /// * `:addr`: every address of every instance, without newlines at the
    ///   end, joined by `\n`. `:name`: every display name likewise, decoded,
    ///   white space collapsed, surrounding single quotes removed.
    /// * `ALL`: every field as `Name: value\n`, decoded as above;
    ///   `ALL` with `:raw`: the header block as written.
    /// * `ToCc`: the To values, then the Cc values (`:raw` keeps the
    ///   leading space but removes folding).
    /// * `MESSAGEID`: X-Message-Id, Resent-Message-Id, X-Original-Message-ID
    ///   and Message-Id values, the non-empty ones.
    /// * `:first` / `:last`: only the first / last instance (applied before
    ///   `:addr` and `:name`).
    /// * `:host`: the host of each value (after the last `@` with `:addr`,
    ///   else of an address in it, else its first word that is a valid host
    ///   name); `:domain`: that host's registered domain, as
    ///   SpamAssassin's `trim_domain` cuts it (see
    ///   [`Registry`]). `:ip` /
    ///   `:revip`: the first IPv4 address in each value, reversed for
    ///   `:revip`. Values without one are dropped.
    /// * `EnvelopeFrom`: the envelope sender the Received line of the last
    ///   untrusted hop records (`envelope-from <...>`; the oldest trusted
    ///   hop's when every hop is trusted), else the address of
    ///   X-Envelope-From, Envelope-Sender or Return-Path, the first that is
    ///   not below a Received field; without a newline.
    /// * `X-Spam-Relays-Trusted`, `-Untrusted`, `-Internal`, `-External`:
    ///   SpamAssassin's pseudo-headers, written by
    ///   [`origin::Chain::pseudo_header`] (one value, no newline; empty
    ///   when no relay is on that side).
    ///
    /// Here the trust boundary is inferred, as SpamAssassin draws it
    /// without `trusted_networks`. The rules read the relay pseudo-headers
    /// from their [`EvalCtx`](crate::spam::evals::EvalCtx) instead, with
    /// the boundary their configuration sets.
    ///
    /// `:domain` cuts hosts with the built-in registry list
    /// ([`Registry::builtin`]); [`Features::header_in`] takes a rule set's.
    pub fn header<'m>(
        &self,
        msg: &Message<'m>,
        name: &str,
        mods: HeaderMods,
    ) -> Option<Cow<'m, [u8]>> {
        self.header_in(msg, name, mods, Registry::builtin())
    }

    /// [`Features::header`], with `:domain` cutting hosts under `registry`
    /// (the rule files' `util_rb_2tld` and `util_rb_3tld`), as
    /// SpamAssassin's `trim_domain` does.
    pub fn header_in<'m>(
        &self,
        msg: &Message<'m>,
        name: &str,
        mods: HeaderMods,
        registry: &Registry,
    ) -> Option<Cow<'m, [u8]>> {
        let root = msg.root();
        let vals: Vec<Cow<'m, [u8]>> = if name == "ALL" {
            if mods.raw {
                let h = msg.slice(root.header);
                if h.is_empty() {
                    return None;
                }
                let mut h = trim_to_fields(h);
                if !h.ends_with(b"\n") {
                    let mut v = h.into_owned();
                    v.push(b'\n');
                    h = Cow::Owned(v);
                }
                return Some(h);
            }
            let fields = msg.fields(root);
            if fields.is_empty() {
                return None;
            }
            let mut out = Vec::new();
            for f in fields {
                let n = msg.field_name(f);
                out.extend_from_slice(n);
                out.extend_from_slice(b": ");
                out.extend_from_slice(decode_header(n, msg.field_raw(f)).as_bytes());
                out.push(b'\n');
            }
            return Some(Cow::Owned(out));
        } else if name.eq_ignore_ascii_case("ToCc") {
            let mut v = get_header(msg, root, "To", mods.raw);
            v.extend(get_header(msg, root, "Cc", mods.raw));
            v
        } else if name == "MESSAGEID" {
            let mut v = Vec::new();
            for n in [
                "X-Message-Id",
                "Resent-Message-Id",
                "X-Original-Message-ID",
                "Message-Id",
            ] {
                v.extend(
                    get_header(msg, root, n, mods.raw)
                        .into_iter()
                        .filter(|x| !x.is_empty()),
                );
            }
            v
        } else if name.eq_ignore_ascii_case("EnvelopeFrom") {
            return envelope_from(msg).map(|s| Cow::Owned(s.into_bytes()));
        } else if let Some(which) = origin::RelaysHeader::from_name(name) {
            // SpamAssassin's metadata: one value, no trailing newline, empty
            // (but present) when no relay falls on that side.
            let lines = origin::received_lines(msg);
            let chain = origin::Chain::build(
                lines.iter().map(String::as_str),
                origin::originating_ips(msg),
                &origin::OriginConfig::default(),
            );
            return Some(Cow::Owned(chain.pseudo_header(which).into_bytes()));
        } else if mods.raw || mods.addr || mods.name {
            msg.headers(root, name)
                .map(|v| {
                    let mut o = crlf_lf(v).into_owned();
                    o.push(b'\n');
                    Cow::Owned(o)
                })
                .collect()
        } else {
            msg.headers(root, name)
                .map(|v| {
                    let mut o = decode_header(name.as_bytes(), v).into_owned().into_bytes();
                    o.push(b'\n');
                    Cow::Owned(o)
                })
                .collect()
        };
        if vals.is_empty() {
            return None;
        }
        let mut vals = vals;
        if mods.first {
            vals.truncate(1);
        } else if mods.last {
            let l = vals.pop();
            vals = l.into_iter().collect();
        }
        if mods.addr || mods.name {
            let mut out = Vec::new();
            for v in &vals {
                for a in address::parse_list(v).0 {
                    if mods.addr {
                        if !a.email.is_empty() {
                            out.push(Cow::Owned(a.email.into_bytes()));
                        }
                    } else if let Some(n) = a.name {
                        out.push(Cow::Owned(clean_name(&n).into_bytes()));
                    }
                }
            }
            vals = out;
        }
        if mods.host || mods.domain || mods.ip || mods.revip {
            let mut out = Vec::new();
            for v in &vals {
                let line = String::from_utf8_lossy(v);
                let found = if mods.host || mods.domain {
                    find_host(&line, mods.addr).map(|h| {
                        if mods.domain {
                            registry.trim_domain(&h)
                        } else {
                            h
                        }
                    })
                } else {
                    find_ipv4(&line).map(|ip| {
                        if mods.revip {
                            ip.split('.').rev().collect::<Vec<_>>().join(".")
                        } else {
                            ip
                        }
                    })
                };
                if let Some(h) = found {
                    out.push(Cow::Owned(h.into_bytes()));
                }
            }
            vals = out;
        }
        if vals.is_empty() {
            return None;
        }
        Some(join_values(vals))
    }

    /// The values a `mimeheader` rule reads: for every part SpamAssassin
    /// sees (the root included, depth first), the last instance of header
    /// `name`, decoded and ending in `\n` as in [`Features::header`], or as
    /// written when `raw`. Parts without the header are left out.
    pub fn mime_header<'m>(&self, msg: &Message<'m>, name: &str, raw: bool) -> Vec<Cow<'m, [u8]>> {
        let mut out = Vec::new();
        for (_, part) in msg.walk() {
            if part.alternate || matches!(part.origin, Origin::Inline(_)) {
                continue;
            }
            if let Some(v) = get_header(msg, part, name, raw).pop() {
                out.push(v);
            }
        }
        out
    }
}

impl HtmlFacts {
    fn add(&mut self, p: &HtmlPart, bytes: usize, text_bytes: usize, invisible_bytes: usize) {
        self.parts += 1;
        self.bytes += bytes;
        self.text_bytes += text_bytes;
        self.invisible_bytes += invisible_bytes;
        for (name, n) in &p.start_tags {
            match self.tags.binary_search_by(|(t, _)| t.as_str().cmp(name)) {
                Ok(i) => self.tags[i].1 = self.tags[i].1.saturating_add(*n),
                Err(i) => self.tags.insert(i, (name.clone(), *n)),
            }
        }
        self.unknown_tags += p.unknown_tags;
        self.unbalanced += p.closed_extra
            + p.inside
                .iter()
                .filter(|(t, _)| {
                    !matches!(
                        t.as_str(),
                        "!doctype"
                            | "p"
                            | "br"
                            | "img"
                            | "li"
                            | "hr"
                            | "meta"
                            | "input"
                            | "td"
                            | "tr"
                            | "option"
                            | "link"
                            | "base"
                    )
                })
                .map(|(_, n)| *n as u32)
                .sum::<u32>();
        self.images += p.images;
        self.image_area = self.image_area.saturating_add(p.image_area);
        self.comments += p.comment.len() as u32;
        self.comment_bytes += p.comment_bytes;
        self.comment_chars += p.comment.iter().map(String::len).sum::<usize>();
        if self.title.is_empty()
            && let Some(t) = p.title.iter().find(|t| !t.is_empty())
        {
            self.title = t.clone();
        }
        for (href, text) in &p.anchors {
            self.anchors.push(Anchor {
                href: href.clone(),
                text: text.clone(),
            });
        }
        self.obfuscated_words += p.obfuscation;
        self.entities += p.entities;
        self.scripts += p.scripts;
        self.forms += p.forms;
        self.after_close |= p.tags_after_close > 0;
    }

    fn finish(&mut self) {}
}

fn part_facts(msg: &Message<'_>, idx: usize, part: &Part<'_>) -> PartFacts {
    let content_type = part.content_type();
    let sa_type = sa_content_type(msg.header(part, "content-type"));
    let filename = msg.filename(part).map(|c| c.into_owned());
    let disposition_attachment = msg.header(part, "content-disposition").is_some_and(|v| {
        v.trim_ascii_start().len() >= 10
            && v.trim_ascii_start()[..10].eq_ignore_ascii_case(b"attachment")
    });
    let is_attachment = disposition_attachment || (filename.is_some() && !part.is_type("text"));
    PartFacts {
        index: idx as u32,
        content_type,
        sa_type,
        charset: part
            .charset
            .as_deref()
            .map(|c| String::from_utf8_lossy(c).to_ascii_lowercase()),
        encoding: part.encoding,
        filename,
        raw_len: part.body.len(),
        decoded_len: 0,
        is_text: false,
        is_raw_text: false,
        is_attachment,
        depth: part.depth,
        parent: part.parent,
        bad_charset_bytes: 0,
    }
}

/// SpamAssassin's `parse_content_type`, the type part.
pub(crate) fn sa_content_type(field: Option<&[u8]>) -> String {
    let v = field.unwrap_or(b"").trim_ascii_start();
    let v = v.split(|&b| b == b';').next().unwrap_or(b"");
    // ^([^/]+(?:/[^/\s]*)?)
    let end = match memchr::memchr(b'/', v) {
        Some(0) | None => v.len(),
        Some(i) => {
            i + 1
                + v[i + 1..]
                    .iter()
                    .take_while(|&&b| b != b'/' && !b.is_ascii_whitespace())
                    .count()
        }
    };
    let mut t = String::from_utf8_lossy(&v[..end]).to_lowercase();
    let is_text =
        t.starts_with("text") && !t[4..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
    if t.is_empty()
        || (is_text && !matches!(t.as_str(), "text/x-vcard" | "text/calendar" | "text/html"))
    {
        return "text/plain".into();
    }
    t.retain(|c| {
        let u = c as u32;
        !(u <= 0x20
            || u >= 0x7f
            || matches!(c, '"' | '(' | ')' | ',' | '@' | '[' | '\\' | ']')
            || (0x3a..=0x3f).contains(&u))
    });
    t
}

/// `ty` is `word` or starts with `word/`.
fn starts_word(ty: &str, word: &str) -> bool {
    ty.strip_prefix(word)
        .is_some_and(|r| r.is_empty() || !r.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// `\.s?html?$`, any case.
fn is_html_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    [".htm", ".html", ".shtm", ".shtml"]
        .iter()
        .any(|e| l.ends_with(e))
}

/// Whether `part` lies inside a multipart, at any depth.
fn in_multipart(msg: &Message<'_>, part: &Part<'_>) -> bool {
    let parts = msg.parts();
    let mut up = part.parent;
    // Each step goes to a part parsed before this one: at most
    // `parts.len()` steps.
    for _ in 0..parts.len() {
        let Some(p) = up.and_then(|i| parts.get(i as usize)) else {
            return false;
        };
        if p.kind == PartKind::Multipart {
            return true;
        }
        up = p.parent;
    }
    false
}

/// Whether a line of `body` is longer than [`MAX_LINE`] bytes with its
/// line break, the last line's being the `tail` bytes after `body`.
fn has_long_line(body: &[u8], tail: usize) -> bool {
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', body) {
        if nl + 1 - start > MAX_LINE {
            return true;
        }
        start = nl + 1;
    }
    body.len() - start + tail > MAX_LINE
}

/// Writes `body`, the raw body of a part inside a multipart, to `out`
/// with its long lines split as SpamAssassin's MIME parser splits them
/// before decoding: while a line (with its line break) is longer than
/// [`MAX_LINE`] bytes, its first `MAX_LINE` bytes become a line of their
/// own, with a `\n` added. So a line of exactly 2048 bytes before its
/// `\n` is followed by an empty line. The last line's break is the
/// `tail` bytes after `body`; a piece that would end inside that break
/// (2047 bytes and CRLF) is left whole.
fn split_long_lines(body: &[u8], tail: usize, out: &mut Vec<u8>) {
    let mut start = 0;
    while start < body.len() {
        let (end, virt) = match memchr::memchr(b'\n', &body[start..]) {
            Some(i) => (start + i + 1, 0),
            None => (body.len(), tail),
        };
        let mut at = start;
        while end + virt - at > MAX_LINE {
            if at + MAX_LINE > end {
                break;
            }
            out.extend_from_slice(&body[at..at + MAX_LINE]);
            out.push(b'\n');
            at += MAX_LINE;
        }
        out.extend_from_slice(&body[at..end]);
        start = end;
    }
}

fn crlf_to_lf(v: &mut Vec<u8>) {
    if memchr::memmem::find(v, b"\r\n").is_none() {
        return;
    }
    let mut w = 0;
    for r in 0..v.len() {
        let c = v[r];
        if c == b'\r' && v.get(r + 1) == Some(&b'\n') {
            continue;
        }
        v[w] = c;
        w += 1;
    }
    v.truncate(w);
}

/// Deletes blanks at the end of each line, as SpamAssassin's
/// quoted-printable decoder does (RFC 2045).
fn strip_ws_before_nl(v: &mut Vec<u8>) {
    let mut w = 0;
    let mut pending = 0; // blanks seen but not yet written
    for r in 0..v.len() {
        let c = v[r];
        if c == b' ' || c == b'\t' {
            pending += 1;
            continue;
        }
        let eol = c == b'\n' || (c == b'\r' && v.get(r + 1) == Some(&b'\n'));
        if !eol {
            for k in r - pending..r {
                v[w] = v[k];
                w += 1;
            }
        }
        pending = 0;
        v[w] = c;
        w += 1;
    }
    let n = v.len();
    for k in n - pending..n {
        v[w] = v[k];
        w += 1;
    }
    v.truncate(w);
}

/// SpamAssassin keeps at most 20 blank (white-space only) lines in a row
/// of a message body: the first and the last 19.
fn cap_blank_lines(src: &[u8], out: &mut Vec<u8>) {
    const MAX: usize = 20;
    out.clear();
    let mut run: Vec<(usize, usize)> = Vec::new();
    let flush = |run: &mut Vec<(usize, usize)>, out: &mut Vec<u8>| {
        if run.len() > MAX {
            let (s, e) = run[0];
            out.extend_from_slice(&src[s..e]);
            for &(s, e) in &run[run.len() - (MAX - 1)..] {
                out.extend_from_slice(&src[s..e]);
            }
        } else {
            for &(s, e) in run.iter() {
                out.extend_from_slice(&src[s..e]);
            }
        }
        run.clear();
    };
    let mut pos = 0;
    while pos < src.len() {
        let end = memchr::memchr(b'\n', &src[pos..]).map_or(src.len(), |i| pos + i + 1);
        let line = &src[pos..end];
        if line.iter().all(u8::is_ascii_whitespace) {
            run.push((pos, end));
        } else {
            flush(&mut run, out);
            out.extend_from_slice(line);
        }
        pos = end;
    }
    flush(&mut run, out);
}

fn crlf_lf(v: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memmem::find(v, b"\r\n").is_none() {
        return Cow::Borrowed(v);
    }
    let mut o = v.to_vec();
    crlf_to_lf(&mut o);
    Cow::Owned(o)
}

/// The decoded text as UTF-8: valid UTF-8 is taken as it is whatever was
/// declared (as SpamAssassin's normaliser does for ASCII and UTF-8
/// labels), else the declared charset is used.
fn to_utf8<'a>(b: &'a [u8], cs: Option<&[u8]>) -> Cow<'a, str> {
    let ascii_or_utf8 = cs.is_none_or(|c| {
        c.eq_ignore_ascii_case(b"us-ascii")
            || c.eq_ignore_ascii_case(b"utf-8")
            || c.eq_ignore_ascii_case(b"utf8")
    });
    if ascii_or_utf8 && let Ok(s) = std::str::from_utf8(b) {
        return Cow::Borrowed(s);
    }
    charset::decode_to_utf8(b, cs).0
}

fn bad_charset_bytes(b: &[u8], cs: Option<&[u8]>) -> usize {
    match cs {
        None => b.iter().filter(|c| !c.is_ascii()).count(),
        Some(c) if c.eq_ignore_ascii_case(b"us-ascii") => {
            b.iter().filter(|c| !c.is_ascii()).count()
        }
        Some(c) if c.eq_ignore_ascii_case(b"utf-8") || c.eq_ignore_ascii_case(b"utf8") => {
            b.utf8_chunks().map(|ch| ch.invalid().len()).sum()
        }
        Some(_) => {
            let (t, _) = charset::decode_to_utf8(b, cs);
            t.matches('\u{fffd}').count()
        }
    }
}

/// Appends `t` cut as SpamAssassin cuts a rendered part: past 50 000
/// characters, at the next newline or space within 1024 characters.
fn push_cut(out: &mut String, t: &str) {
    // No more characters than bytes: a short text is not counted.
    let cut = if t.len() > BODY_PART_SCAN {
        t.char_indices().nth(BODY_PART_SCAN)
    } else {
        None
    };
    let Some((cut_byte, _)) = cut else {
        out.push_str(t);
        return;
    };
    let rest = &t[cut_byte..];
    let within = |c: char| {
        rest.char_indices()
            .take(1025)
            .find(|&(_, x)| x == c)
            .map(|(i, x)| cut_byte + i + x.len_utf8())
    };
    let end = within('\n').or_else(|| within(' ')).unwrap_or(cut_byte);
    out.push_str(&t[..end]);
}

/// Cuts the raw text as SpamAssassin cuts a rawbody part: past 500 000
/// bytes, after the next newline, `>` or space within 1024 bytes.
fn cut_raw(b: &[u8], max: usize) -> &[u8] {
    if b.len() <= max {
        return b;
    }
    let win = &b[max..b.len().min(max + 1025)];
    for c in [b'\n', b'>', b' '] {
        if let Some(i) = memchr::memchr(c, win) {
            return &b[..max + i + 1];
        }
    }
    &b[..max]
}

/// SpamAssassin's `split_into_array_of_short_paragraphs`.
fn push_paragraphs(out: &mut Text, b: &[u8]) {
    let n = b.len();
    if n <= MAX_LINE {
        push_elem(out, b);
        return;
    }
    let mut ofs = 0;
    while n - ofs > 2 * MAX_LINE {
        let from = ofs + MAX_LINE;
        let find = |c: u8| {
            memchr::memchr(c, &b[from..])
                .map(|i| from + i)
                .filter(|&j| j - ofs < 2 * MAX_LINE)
        };
        let j = find(b'\n')
            .or_else(|| find(b'>'))
            .or_else(|| find(b' '))
            .unwrap_or(ofs + MAX_LINE);
        push_elem(out, &b[ofs..=j]);
        ofs = j + 1;
    }
    if ofs < n {
        push_elem(out, &b[ofs..]);
    }
}

/// Pushes one element of a SpamAssassin array, dropping its final newline
/// (the [`Text`] adds one back).
fn push_elem(out: &mut Text, e: &[u8]) {
    match e.strip_suffix(b"\n") {
        Some(l) => out.push_line(l, true),
        None => out.push(e),
    }
}

/// Whether a white-space character can start with byte `b`: ASCII white space,
/// and the lead bytes of the others in UTF-8 (U+0085 and U+00A0 start
/// with `C2`, U+1680 with `E1`, U+2000 to U+205F with `E2`, U+3000 with
/// `E3`). Every other byte, continuation bytes included, is skipped
/// without decoding. By arithmetic rather than a table lookup, so that
/// the compiler runs it on many bytes at once.
#[inline]
fn ws_start(b: u8) -> bool {
    (b.wrapping_sub(b'\t') < 5) | (b == b' ') | (b == 0xC2) | (b.wrapping_sub(0xE1) < 3)
}

/// Whether none of the first sixteen bytes of `w` starts a run
/// [`normalize_ws`] must look at: each is no [`ws_start`] byte, or a lone
/// space (the byte after it, the seventeenth for the last, none either).
/// Branch-free, so that it runs on all sixteen at once.
#[inline]
fn quiet(w: &[u8; 17]) -> bool {
    let mut busy = false;
    for j in 0..16 {
        let (c, n) = (w[j], w[j + 1]);
        busy |= ws_start(c) & !((c == b' ') & !ws_start(n));
    }
    !busy
}

/// SpamAssassin's body white space rule: a run of white space holding two
/// newlines (from the first newline to the last) is a paragraph break,
/// every other run of white space is one space.
fn normalize_ws(t: &str, out: &mut String) {
    out.clear();
    let b = t.as_bytes();
    // Text up to `i` is done; `t[kept..i]` holds no white space and is
    // copied in one piece when a run starts.
    let (mut i, mut kept) = (0, 0);
    // Where to look next for sixteen bytes that start no run.
    let mut probe = 0;
    while i < b.len() {
        if i >= probe {
            while let Some(w) = b.get(i..i + 17).and_then(|w| <&[u8; 17]>::try_from(w).ok()) {
                if !quiet(w) {
                    break;
                }
                i += 16;
            }
            // A busy stretch is read a byte at a time before the next try.
            probe = i + 16;
            if i >= b.len() {
                break;
            }
        }
        if !ws_start(b[i]) {
            i += 1;
            continue;
        }
        if b[i] == b' ' && b.get(i + 1).is_none_or(|&n| !ws_start(n)) {
            // A lone space, the common run, stays as it is.
            i += 1;
            continue;
        }
        let ws = match b[i] {
            b'\t'..=b'\r' | b' ' => 1,
            // A lead byte: `i` is a character boundary.
            _ => match t[i..].chars().next() {
                Some(c) if c.is_whitespace() => c.len_utf8(),
                _ => {
                    i += 1;
                    continue;
                }
            },
        };
        out.push_str(&t[kept..i]);
        // The whole run.
        let start = i;
        i += ws;
        while let Some(c) = t[i..].chars().next().filter(|c| c.is_whitespace()) {
            i += c.len_utf8();
        }
        kept = i;
        push_run(&t[start..i], out);
    }
    out.push_str(&t[kept..]);
}

/// What a run of white space becomes: a paragraph break (`\n`, with a
/// space on a side where the run went on past its first or last newline)
/// when it holds two newlines, else one space.
fn push_run(run: &str, out: &mut String) {
    match (run.find('\n'), run.rfind('\n')) {
        (Some(a), Some(z)) if a != z => {
            if a > 0 {
                out.push(' ');
            }
            out.push('\n');
            if z + 1 < run.len() {
                out.push(' ');
            }
        }
        _ => out.push(' '),
    }
}

/// SpamAssassin's `split_into_array_of_short_lines` over `subject` + `text`.
fn split_short_lines(out: &mut Text, subject: &[u8], text: &[u8]) {
    out.clear();
    let mut carry: Vec<u8> = Vec::new();
    let emit = |line: &[u8], out: &mut Text| {
        let mut line = line;
        while line.len() > MAX_LINE {
            let sp = line[..=MAX_LINE].iter().rposition(|&c| c == b' ');
            let len = match sp {
                Some(i) => i + 1,
                None => MAX_LINE,
            };
            out.push(&line[..len]);
            line = &line[len..];
        }
        push_elem(out, line);
    };
    // The subject ends in "\n"; a subject without one joins the first line.
    let mut rest = text;
    if subject.ends_with(b"\n") {
        emit(subject, out);
    } else {
        carry.extend_from_slice(subject);
        let e = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        carry.extend_from_slice(&rest[..e]);
        rest = &rest[e..];
        if !carry.is_empty() {
            emit(&carry, out);
        }
    }
    while !rest.is_empty() {
        let e = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        emit(&rest[..e], out);
        rest = &rest[e..];
    }
}

/// SpamAssassin's `_decode_header`: unfolded, trimmed, RFC 2047 decoded
/// unless the field is one it leaves alone.
fn decode_header<'a>(name: &[u8], raw: &'a [u8]) -> Cow<'a, str> {
    let unfolded = unfold_sa(raw);
    let exempt = [
        &b"received"[..],
        b"message-id",
        b"resent-message-id",
        b"date",
        b"resent-date",
        b"mime-version",
        b"references",
        b"in-reply-to",
    ]
    .iter()
    .any(|n| name.eq_ignore_ascii_case(n))
        || name
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"list-"));
    let s: Cow<'_, str> = if exempt || !encoded_word::has_encoded_word(&unfolded) {
        match unfolded {
            Cow::Borrowed(b) => charset::header_to_utf8(b, None),
            Cow::Owned(b) => Cow::Owned(charset::header_to_utf8(&b, None).into_owned()),
        }
    } else {
        Cow::Owned(encoded_word::decode(&unfolded, None).0.into_owned())
    };
    s
}

/// Removes folding as SpamAssassin does: a line break and the blanks after
/// it become one space, other line breaks vanish; then trims.
fn unfold_sa(raw: &[u8]) -> Cow<'_, [u8]> {
    let t = raw.trim_ascii();
    if memchr::memchr2(b'\r', b'\n', t).is_none() {
        return Cow::Borrowed(t);
    }
    let mut o = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        let c = t[i];
        if c == b'\r' && t.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        if c == b'\n' {
            let mut j = i + 1;
            while j < t.len() && (t[j] == b' ' || t[j] == b'\t') {
                j += 1;
            }
            if j > i + 1 {
                o.push(b' ');
            }
            i = j;
            continue;
        }
        o.push(c);
        i += 1;
    }
    let trimmed = o.trim_ascii().to_vec();
    Cow::Owned(trimmed)
}

/// `get_header` in list context: decoded values (or raw with folding
/// removed), each ending in `\n`.
fn get_header<'m>(msg: &Message<'m>, part: &Part<'_>, name: &str, raw: bool) -> Vec<Cow<'m, [u8]>> {
    msg.headers(part, name)
        .map(|v| {
            let mut o: Vec<u8> = if raw {
                // s/\r?\n\s+/ /g
                let mut o = Vec::with_capacity(v.len() + 1);
                let mut i = 0;
                while i < v.len() {
                    let nl = if v[i] == b'\r' && v.get(i + 1) == Some(&b'\n') {
                        2
                    } else if v[i] == b'\n' {
                        1
                    } else {
                        0
                    };
                    if nl > 0 {
                        let mut j = i + nl;
                        while j < v.len() && v[j].is_ascii_whitespace() {
                            j += 1;
                        }
                        if j > i + nl {
                            o.push(b' ');
                            i = j;
                        } else {
                            o.extend_from_slice(&v[i..i + nl]);
                            i += nl;
                        }
                        continue;
                    }
                    o.push(v[i]);
                    i += 1;
                }
                o
            } else {
                decode_header(name.as_bytes(), v).into_owned().into_bytes()
            };
            o.push(b'\n');
            Cow::Owned(o)
        })
        .collect()
}

/// The top-level header fields of one message, each decoded once as
/// [`Features::header`] decodes it and followed by `\n`, in order: the
/// header rules read a hundred groups of them (the named headers, ALL,
/// ToCc), and without this would decode every field several times.
#[derive(Debug, Default)]
pub(crate) struct DecodedFields {
    buf: Vec<u8>,
    /// Where each field's value ends in `buf` (it starts where the one
    /// before ends).
    ends: Vec<u32>,
}

impl DecodedFields {
    /// Decodes every top-level field of `msg`.
    pub(crate) fn new(msg: &Message<'_>) -> DecodedFields {
        let fields = msg.fields(msg.root());
        let mut d = DecodedFields {
            buf: Vec::with_capacity(msg.slice(msg.root().header).len() + fields.len()),
            ends: Vec::with_capacity(fields.len()),
        };
        for f in fields {
            d.buf
                .extend_from_slice(decode_header(msg.field_name(f), msg.field_raw(f)).as_bytes());
            d.buf.push(b'\n');
            d.ends.push(d.buf.len() as u32);
        }
        d
    }

    /// SpamAssassin's `ALL-TRUSTED`, `ALL-INTERNAL`, `ALL-UNTRUSTED` and
    /// `ALL-EXTERNAL` (`get_all_hdrs_in_rcvd_index_range`): the fields as
    /// `ALL` writes them, from the Received field numbered `from` (from
    /// the top, 0 the first; `None` for the first field) down to the one
    /// numbered `to`, included, and no further (`None` for the last
    /// field). `None` when no field is in the range; with `raw`, each
    /// field as written.
    pub(crate) fn received_range(
        &self,
        msg: &Message<'_>,
        from: Option<isize>,
        to: Option<isize>,
        raw: bool,
    ) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut at: isize = -1;
        for (i, f) in msg.fields(msg.root()).iter().enumerate() {
            let name = msg.field_name(f);
            if name.eq_ignore_ascii_case(b"Received") {
                at += 1;
            }
            if from.is_some_and(|s| at < s) {
                continue;
            }
            out.extend_from_slice(name);
            if raw {
                out.push(b':');
                out.extend_from_slice(msg.field_raw(f));
                if !out.ends_with(b"\n") {
                    out.push(b'\n');
                }
            } else {
                out.extend_from_slice(b": ");
                out.extend_from_slice(self.value(i));
            }
            // The range ends with its last Received field itself.
            if to == Some(at) {
                break;
            }
        }
        (!out.is_empty()).then_some(out)
    }

    /// Field `i`'s decoded value and its `\n`.
    fn value(&self, i: usize) -> &[u8] {
        let start = i.checked_sub(1).map_or(0, |j| self.ends[j] as usize);
        &self.buf[start..self.ends[i] as usize]
    }

    /// What [`Features::header`] gives for `name` and `mods`, read from the
    /// decoded fields: `None` when the pseudo-header or modifiers need the
    /// general path (`:raw`, `:addr`, `:name`, `:host` and the others,
    /// `MESSAGEID`, `EnvelopeFrom`, the relay pseudo-headers).
    pub(crate) fn header<'d>(
        &'d self,
        msg: &Message<'_>,
        name: &str,
        mods: HeaderMods,
    ) -> Option<Option<Cow<'d, [u8]>>> {
        let plain = HeaderMods {
            first: false,
            last: false,
            ..mods
        };
        if plain != HeaderMods::default()
            || name == "MESSAGEID"
            || name.eq_ignore_ascii_case("EnvelopeFrom")
            || origin::RelaysHeader::from_name(name).is_some()
        {
            return None;
        }
        let fields = msg.fields(msg.root());
        debug_assert_eq!(fields.len(), self.ends.len());
        if name == "ALL" {
            if mods.first || mods.last {
                return None;
            }
            if fields.is_empty() {
                return Some(None);
            }
            let mut out = Vec::with_capacity(self.buf.len() + 32 * fields.len());
            for (i, f) in fields.iter().enumerate() {
                out.extend_from_slice(msg.field_name(f));
                out.extend_from_slice(b": ");
                out.extend_from_slice(self.value(i));
            }
            return Some(Some(Cow::Owned(out)));
        }
        let mut picked: Vec<usize> = Vec::new();
        let mut named = |n: &str| {
            for (i, f) in fields.iter().enumerate() {
                if msg.field_name(f).eq_ignore_ascii_case(n.as_bytes()) {
                    picked.push(i);
                }
            }
        };
        if name.eq_ignore_ascii_case("ToCc") {
            named("To");
            named("Cc");
        } else {
            named(name);
        }
        if mods.first {
            picked.truncate(1);
        } else if mods.last {
            picked = picked.pop().into_iter().collect();
        }
        Some(match picked[..] {
            [] => None,
            [i] => Some(Cow::Borrowed(self.value(i))),
            _ => Some(Cow::Owned(
                picked
                    .iter()
                    .map(|&i| self.value(i))
                    .collect::<Vec<_>>()
                    .concat(),
            )),
        })
    }
}

/// Joins values as SpamAssassin's header rules do.
fn join_values(vals: Vec<Cow<'_, [u8]>>) -> Cow<'_, [u8]> {
    if vals.len() == 1 {
        return vals.into_iter().next().unwrap_or(Cow::Borrowed(b""));
    }
    let sep: &[u8] = if vals[0].ends_with(b"\n") { b"" } else { b"\n" };
    Cow::Owned(vals.join(sep))
}

/// A display name as SpamAssassin's `:name` gives it.
fn clean_name(n: &str) -> String {
    if n.trim().is_empty() {
        return n.to_string();
    }
    let s = n.split_whitespace().collect::<Vec<_>>().join(" ");
    match s.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        Some(inner) => inner.to_string(),
        None => s,
    }
}

/// The header block without a trailing blank line.
fn trim_to_fields(h: &[u8]) -> Cow<'_, [u8]> {
    Cow::Borrowed(h)
}

/// The first address of the first field `name`, if any.
fn first_addr(msg: &Message<'_>, name: &str) -> Option<String> {
    let v = msg.header(msg.root(), name)?;
    address::parse_list(v).0.into_iter().map(|a| a.email).next()
}

/// True when a Received field comes before the last field called `name`:
/// SpamAssassin then distrusts the field as an envelope (its test is
/// `get('ALL') =~ /^Received:.*?^NAME:/smi`, which any field of the name
/// below the first Received field meets, not only the first one).
pub(crate) fn below_received(msg: &Message<'_>, name: &str) -> bool {
    let fields = msg.fields(msg.root());
    let first_rcvd = fields
        .iter()
        .position(|f| msg.field_name(f).eq_ignore_ascii_case(b"received"));
    let last = fields
        .iter()
        .rposition(|f| msg.field_name(f).eq_ignore_ascii_case(name.as_bytes()));
    matches!((first_rcvd, last), (Some(r), Some(l)) if r < l)
}

/// The `EnvelopeFrom` pseudo-header (see [`Features::header`]): the
/// envelope sender the last untrusted hop's Received line records (the
/// oldest trusted hop's when all are trusted; trust inferred), else the
/// envelope headers. `None` for the null sender and when nothing says.
fn envelope_from(msg: &Message<'_>) -> Option<String> {
    let lines = origin::received_lines(msg);
    let chain = origin::Chain::build(
        lines.iter().map(String::as_str),
        origin::originating_ips(msg),
        &origin::OriginConfig::default(),
    );
    let hop = chain.untrusted().first().or(chain.trusted().last());
    match hop.and_then(|r| r.envfrom.as_deref()) {
        Some("") => None,
        Some(e) if e.find('@').is_some_and(|i| i > 0) => Some(e.to_string()),
        _ => envelope_from_headers(msg),
    }
}

/// The envelope sender the headers give: X-Envelope-From, Envelope-Sender
/// or Return-Path, the first that is not below a Received field (none
/// when X-Sender and a fetchmail Received line say fetchmail guessed).
/// Also askdns's `_SENDERDOMAIN_` when no hop records one.
pub(crate) fn envelope_from_headers(msg: &Message<'_>) -> Option<String> {
    if first_addr(msg, "X-Sender").is_some_and(|x| x.contains('@'))
        && msg
            .headers(msg.root(), "Received")
            .any(|r| memchr::memmem::find(r, b"(fetchmail").is_some())
    {
        return None;
    }
    if let Some(e) = first_addr(msg, "X-Envelope-From") {
        return (!below_received(msg, "X-Envelope-From")).then_some(e);
    }
    for n in ["Envelope-Sender", "Return-Path"] {
        if let Some(e) = first_addr(msg, n)
            && !below_received(msg, n)
        {
            return Some(e);
        }
    }
    None
}

/// `:host`: with `:addr`, what follows the last `@`; else the host of an
/// address or Message-ID in the line, else the first word that is a valid
/// host name with a known top-level domain.
fn find_host(line: &str, after_addr: bool) -> Option<String> {
    if after_addr {
        let i = line.rfind('@')?;
        let h: String = line[i + 1..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        return (!h.is_empty()).then_some(h);
    }
    let clean = |w: &str| -> Option<String> {
        let w = w.trim_matches(|c: char| !(c.is_ascii_alphanumeric()));
        let l = w.to_ascii_lowercase();
        (uri::is_fqdn_valid(&l) && uri::is_domain_valid(&l)).then(|| w.to_string())
    };
    if let Some(i) = line.rfind('@') {
        let w: String = line[i + 1..]
            .chars()
            .take_while(|c| !c.is_whitespace())
            .collect();
        if let Some(h) = clean(&w) {
            return Some(h);
        }
    }
    line.split(|c: char| c.is_whitespace() || "()<>[];,\"'@=".contains(c))
        .find_map(clean)
}

/// The first dotted-quad IPv4 address in the line, not part of a longer
/// dotted run.
fn find_ipv4(line: &str) -> Option<String> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit()
            && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.'))
        {
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                j += 1;
            }
            let cand = line[i..j].trim_end_matches('.');
            let trailing_dot = cand.len() < j - i;
            if !(trailing_dot || j < b.len() && b[j].is_ascii_alphanumeric())
                && cand.parse::<std::net::Ipv4Addr>().is_ok()
            {
                return Some(cand.to_string());
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// [`normalize_ws`] finding its runs character by character.
    fn normalize_ws_naive(t: &str) -> String {
        let mut out = String::new();
        let mut it = t.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            if !c.is_whitespace() {
                out.push(c);
                continue;
            }
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = it.peek() {
                if !d.is_whitespace() {
                    break;
                }
                end = j + d.len_utf8();
                it.next();
            }
            push_run(&t[i..end], &mut out);
        }
        out
    }

    proptest! {
        /// The decoded fields give every header group the text the
        /// general path builds: named headers in any case, repeated ones,
        /// folded and encoded values, the exempt names (Received, Date,
        /// List-*), ToCc, ALL, `:first` and `:last`.
        #[test]
        fn decoded_fields_read_as_the_general_path(
            fields in prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "To", "cc", "CC", "From", "Subject", "received", "Received", "Date",
                        "List-Id", "X-Mailer", "Message-Id",
                    ]),
                    prop::sample::select(vec![
                        " plain", " a@b.c", "  =?utf-8?q?caf=C3=A9?= x", "\r\n\tfolded line",
                        " =?iso-8859-1?b?6Q==?=", " caf\u{e9}", "", " \t", " two\n words",
                    ]),
                ),
                0..8,
            ),
            first in any::<bool>(),
            last in any::<bool>(),
        ) {
            let mut raw = String::new();
            for (n, v) in &fields {
                raw.push_str(&format!("{n}:{v}\n"));
            }
            raw.push_str("\nbody\n");
            let msg = Message::parse(raw.as_bytes());
            let decoded = DecodedFields::new(&msg);
            let features = Features::default();
            let mods = HeaderMods { first, last: last && !first, ..HeaderMods::default() };
            for name in ["ALL", "ToCc", "To", "cc", "FROM", "Received", "Date", "List-Id", "Subject", "X-Absent"] {
                if name == "ALL" && (mods.first || mods.last) {
                    prop_assert!(decoded.header(&msg, name, mods).is_none());
                    continue;
                }
                let fast = decoded.header(&msg, name, mods).expect("a plain group");
                prop_assert_eq!(fast, features.header(&msg, name, mods), "{}", name);
            }
            for special in ["MESSAGEID", "EnvelopeFrom", "X-Spam-Relays-External"] {
                prop_assert!(decoded.header(&msg, special, mods).is_none());
            }
            let raw_mods = HeaderMods { raw: true, ..mods };
            prop_assert!(decoded.header(&msg, "To", raw_mods).is_none());
        }
    }

    proptest! {
        /// The byte-run fast path agrees with the character-by-character
        /// rule, with ASCII and Unicode white space (NEL, NBSP, U+2028,
        /// U+3000) and other multi-byte characters about.
        #[test]
        fn normalize_ws_agrees_with_the_naive_rule(
            t in prop::collection::vec(
                prop::sample::select(vec![
                    "a", "bc", " ", "\n", "\t", "\r", "\x0b", "\x0c", "\u{85}", "\u{a0}",
                    "\u{2028}", "\u{3000}", "é", "\u{1c}", "日本", "\u{a2}", "\u{1680}",
                    "\u{1681}", "\u{2009}", "\u{2010}", "\u{205f}", "\u{3001}", "\u{202f}",
                    "lorem ipsum dolor sit", "0123456789abcdefghij",
                ]),
                0..40,
            ),
        ) {
            let t = t.concat();
            let mut out = String::new();
            normalize_ws(&t, &mut out);
            prop_assert_eq!(out, normalize_ws_naive(&t));
        }
    }

    /// SpamAssassin's loop over a part's lines, each with its line break
    /// (`body` then `tail`): while a line is longer than 2048 bytes, its
    /// first 2048 go out with a `\n`; the break after the body is taken
    /// off again at the end.
    fn split_naive(body: &[u8], tail: &[u8]) -> Vec<u8> {
        let mut all = body.to_vec();
        all.extend_from_slice(tail);
        let mut out = Vec::new();
        for line in all.split_inclusive(|&b| b == b'\n') {
            let mut line = line;
            while line.len() > MAX_LINE {
                out.extend_from_slice(&line[..MAX_LINE]);
                out.push(b'\n');
                line = &line[MAX_LINE..];
            }
            out.extend_from_slice(line);
        }
        out.truncate(out.len() - tail.len());
        out
    }

    proptest! {
        /// Splitting agrees with SpamAssassin's loop, lines near and at
        /// the limit included, and the check for long lines says whether
        /// it changes anything.
        #[test]
        fn long_lines_split_as_spamassassin_splits_them(
            lens in prop::collection::vec(
                prop::sample::select(vec![0usize, 1, 7, 2046, 2047, 2048, 2049, 4095, 4096, 4097, 6200]),
                1..5,
            ),
            tail in 0usize..2,
            cr in any::<bool>(),
        ) {
            let mut body = Vec::new();
            for (k, &n) in lens.iter().enumerate() {
                if k > 0 {
                    body.extend_from_slice(if cr { b"\r\n" } else { b"\n" });
                }
                body.extend((0..n).map(|i| b'a' + (i % 26) as u8));
            }
            let tail_bytes: &[u8] = if tail == 1 { b"\n" } else { b"" };
            let mut out = Vec::new();
            split_long_lines(&body, tail, &mut out);
            let want = split_naive(&body, tail_bytes);
            prop_assert_eq!(&out, &want);
            prop_assert_eq!(has_long_line(&body, tail), want != body);
        }
    }

    /// A last line whose CRLF after the body would be cut in two (2047
    /// bytes, then CRLF: SpamAssassin makes a line of the bytes and the
    /// CR) stays whole; with the break counted, 2048 bytes and a CRLF
    /// still split.
    #[test]
    fn a_break_after_the_body_is_not_cut() {
        let body = vec![b'x'; 2047];
        let mut out = Vec::new();
        split_long_lines(&body, 2, &mut out);
        assert_eq!(out, body);
        assert!(has_long_line(&body, 2));
        let body = vec![b'x'; 2048];
        out.clear();
        split_long_lines(&body, 2, &mut out);
        assert_eq!(out.len(), 2049);
        assert_eq!(out.last(), Some(&b'\n'));
    }

    /// Only the parts inside a multipart have their long lines split, as
    /// SpamAssassin's MIME parser splits them: a single-part message's
    /// body stays as it is.
    #[test]
    fn long_lines_split_only_inside_multiparts() {
        let word = "w".repeat(3000);
        let single = format!("Subject: s\n\n{word}\n");
        let (msg, f) = built(&single);
        assert!(!in_multipart(&msg, &msg.parts()[0]));
        assert_eq!(f.rawbody.buf, format!("{word}\n").into_bytes());
        let multi = format!(
            "Subject: s\nContent-Type: multipart/mixed; boundary=B\n\n--B\n\n{word}\n--B--\n"
        );
        let (msg, f) = built(&multi);
        let leaf = msg
            .parts()
            .iter()
            .find(|p| p.kind == PartKind::Leaf)
            .unwrap();
        assert!(in_multipart(&msg, leaf));
        let want = format!("{}\n{}\n", &word[..2048], &word[2048..]);
        assert_eq!(f.rawbody.buf, want.into_bytes());
        // Base64 skips line breaks: its long lines need no cut.
        let mut b64 = Vec::new();
        crate::decode::base64::encode(word.as_bytes(), &mut b64);
        let b64 = String::from_utf8(b64).unwrap().replace(['\r', '\n'], "");
        assert!(b64.len() > MAX_LINE);
        let encoded = format!(
            "Subject: s\nContent-Type: multipart/mixed; boundary=B\n\n--B\n\
             Content-Transfer-Encoding: base64\n\n{b64}\n--B--\n"
        );
        let (_, f) = built(&encoded);
        assert_eq!(f.rawbody.buf, format!("{word}\n").into_bytes());
    }

    fn built(raw: &str) -> (Message<'_>, Features) {
        let msg = Message::parse(raw.as_bytes());
        let mut f = Features::default();
        f.build(&msg, &crate::Limits::default());
        (msg, f)
    }

    /// The arithmetic test picks ASCII white space and the three lead
    /// bytes, and nothing else.
    #[test]
    fn ws_start_picks_white_space_leads() {
        for b in 0..=255u8 {
            let want = matches!(b, b'\t'..=b'\r' | b' ' | 0xC2 | 0xE1 | 0xE2 | 0xE3);
            assert_eq!(ws_start(b), want, "byte {b:#04x}");
        }
    }
}
