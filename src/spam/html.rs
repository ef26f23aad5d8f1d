//! HTML rendered to text, the way SpamAssassin's rules see it.
//!
//! SpamAssassin does not show its rules the HTML source of a message: it
//! runs the part through an HTML tokenizer and hands the `body` rules the
//! text a reader would see, and its HTML eval tests a bag of facts noticed
//! on the way (how many tags were unknown, whether text was drawn in the
//! background colour, how big the images claim to be...). [`render`] does
//! the same with the WHATWG tokenizer of `html5gum`, which also decodes
//! character references.
//!
//! The rendering follows SpamAssassin 4.0's `HTML.pm` closely, because the
//! rules were tuned against exactly that text:
//!
//! * text is collected piece by piece; runs of ASCII white space inside a
//!   piece become one space;
//! * `<br>` and `<div>` insert a line break, `<p>`, `<hr>`, `<pre>`,
//!   `<blockquote>` and `<title>` a blank line, table cells, list items and
//!   headings a space (on open and on close);
//! * the text of `<script>` and `<style>` is not rendered (script text is
//!   kept in [`HtmlPart::scripts`]);
//! * each text piece is rated visible or invisible from the font in force:
//!   the same (or nearly the same) colour as its background, a size of 1 or
//!   less, `display:none` or `visibility:hidden`. Invisible text stays in
//!   [`Rendered::text`], which is what `body` rules read, and is left out
//!   of [`Rendered::visible`];
//! * URIs are taken from `href`, `src`, `action`, `background` and
//!   `<meta http-equiv=refresh>`, and resolved against `<base href>`.
//!
//! Everything is linear in the input: the tokenizer is, the style stack is
//! at most one entry per open tag, and every search is bounded.
//!
//! ```
//! use filter::spam::html::{render, Rendered};
//!
//! let mut r = Rendered::default();
//! render("<p>Hello <b>wor</b>ld<font color=white>hidden</font></p>\
//!         <a href='http://example.com/x'>click</a>", &mut r);
//! assert_eq!(r.text, "\n\nHello worldhidden\n\nclick");
//! assert_eq!(r.visible, "\n\nHello world\n\nclick");
//! assert_eq!(r.uris, ["http://example.com/x"]);
//! assert_eq!(r.part.anchor, ["click"]);
//! ```

use std::borrow::Cow;

use crate::decode::charset::utf8_lossy;

use html5gum::{DefaultEmitter, Emitter, ForwardingEmitter, State, Token, Tokenizer};

/// html5gum's default emitter without its parse errors: the renderer reads
/// none of them, and leaving them out spares the tokenizer its check of
/// every character (a tenth of its time).
struct Quiet(DefaultEmitter<usize>);

impl ForwardingEmitter for Quiet {
    type Token = Token<usize>;

    fn inner(&mut self) -> &mut impl Emitter<Token = Self::Token> {
        &mut self.0
    }

    fn should_emit_errors(&mut self) -> bool {
        false
    }
}

/// A tag's attribute: its name and value.
type Attr<'t> = (Cow<'t, str>, Cow<'t, str>);

/// Deepest nesting of styling tags followed; deeper ones are rendered in
/// the style in force (keeps the work per tag bounded).
const MAX_STYLE_DEPTH: usize = 256;

/// The longest URI kept; longer ones are cut (SpamAssassin's `MAX_URI_LENGTH`).
pub const MAX_URI_LENGTH: usize = 8192;

/// What SpamAssassin's HTML parser reports about one text/html part: the
/// values its `html_*` eval tests read, under the same names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HtmlPart {
    /// Every tag name seen, lower case and sorted, with its open count at
    /// the end of the document: +1 per start tag, -1 per end tag, never
    /// below 0 (`html_tag_exists`, `html_tag_balance`). A `<!doctype>`
    /// counts as `!doctype` with 0.
    pub inside: Vec<(String, i64)>,
    /// Characters of HTML source (`length`; `html_image_only`, `html_eval`).
    pub length: usize,
    /// Characters of rendered text (`html_length`).
    pub html_length: usize,
    /// Rendered characters that are not white space (`non_space_len`).
    pub non_space_len: usize,
    /// (source bytes - rendered characters) / source bytes (`ratio`).
    pub ratio: Option<f64>,
    /// Sum of the image areas `<img width height>` declares, 800x600 for
    /// percentages and 200 for a missing or zero side (`image_area`).
    pub image_area: u64,
    /// Smallest and largest font size seen (`min_size`, `max_size`).
    pub min_size: i64,
    /// See `min_size`.
    pub max_size: i64,
    /// Tags seen (start and end), and of them the HTML elements.
    pub tags: u32,
    /// Tags that are HTML elements (`elements`).
    pub elements: u32,
    /// End tags without an open start tag (`closed_extra`).
    pub closed_extra: u32,
    /// `closed_extra / tags`, when there were tags.
    pub closed_extra_ratio: Option<f64>,
    /// `(tags - elements) / tags`, when there were elements.
    pub bad_tag_ratio: Option<f64>,
    /// The same counting each tag name only while it is not open.
    pub non_element_ratio: Option<f64>,
    /// Text pieces that glue a word to the previous piece's word, per tag
    /// (`obfuscation_ratio`), when there was any.
    pub obfuscation_ratio: Option<f64>,
    /// Text pieces that glue a word to the previous piece's word.
    pub obfuscation: u32,
    /// Distinct (tail length, head length) pairs of short words split
    /// across pieces (`backhair_count`), when there was any.
    pub backhair_count: Option<u32>,
    /// Text in (nearly) the background colour was seen.
    pub font_low_contrast: bool,
    /// A colour SpamAssassin could not parse was in force for some text.
    pub font_invalid_color: bool,
    /// A `<font face>` that does not look like a font list.
    pub font_face_bad: bool,
    /// A `<form action>` with `mailto:`.
    pub form_action_mailto: bool,
    /// An `<object>` or `<embed>`.
    pub embeds: bool,
    /// `</html>` was seen.
    pub closed_html: bool,
    /// `</body>` was seen.
    pub closed_body: bool,
    /// A URI was cut to [`MAX_URI_LENGTH`].
    pub uri_truncated: bool,
    /// The text of each `<title>` (`title`).
    pub title: Vec<String>,
    /// Each comment, with its `<!--` and `-->` (`comment`).
    pub comment: Vec<String>,
    /// The text of each `<script>` element (`script`).
    pub script: Vec<String>,
    /// The text of each `<a>`, `<img>\n` for an image inside (`anchor`).
    pub anchor: Vec<String>,
    /// Charsets named by `<meta http-equiv=Content-Type>`, space separated
    /// (`charsets`).
    pub charsets: Option<String>,
    /// Start tags seen after `</html>`.
    pub tags_after_close: u32,
    /// Character references in the source.
    pub entities: u32,
    /// Comment characters, all comments.
    pub comment_bytes: usize,
    /// `<img>` start tags.
    pub images: u32,
    /// `<script>` start tags.
    pub scripts: u32,
    /// `<form>` start tags.
    pub forms: u32,
    /// Start tags whose name is not an element (or trick) SpamAssassin knows.
    pub unknown_tags: u32,
    /// Start tags by name, with counts, sorted.
    pub start_tags: Vec<(String, u32)>,
    /// Each `<a href>` with its text.
    pub anchors: Vec<(String, String)>,
}

impl HtmlPart {
    /// Opens minus closes of `tag` (lower case) at the end of the
    /// document, when the part has the tag at all (SpamAssassin's
    /// `inside`).
    pub fn open_count(&self, tag: &str) -> Option<i64> {
        self.inside
            .binary_search_by(|(t, _)| t.as_str().cmp(tag))
            .ok()
            .map(|i| self.inside[i].1)
    }
}

/// One rendered text/html part. Reused across calls: [`render`] clears it.
#[derive(Debug, Clone, Default)]
pub struct Rendered {
    /// All rendered text, invisible text included (what `body` reads).
    pub text: String,
    /// Only the visible text.
    pub visible: String,
    /// Only the invisible text.
    pub invisible: String,
    /// URIs found, resolved against `<base href>`, each once, in order.
    pub uris: Vec<String>,
    /// The facts.
    pub part: HtmlPart,
}

// Element sets, after HTML.pm (facts: which tags SpamAssassin knows).
const ELEMENTS: &[&str] = &[
    "a",
    "abbr",
    "acronym",
    "address",
    "applet",
    "area",
    "b",
    "base",
    "basefont",
    "bdo",
    "big",
    "blockquote",
    "body",
    "br",
    "button",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "dfn",
    "dir",
    "div",
    "dl",
    "dt",
    "em",
    "fieldset",
    "font",
    "form",
    "frame",
    "frameset",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "html",
    "i",
    "iframe",
    "img",
    "input",
    "ins",
    "isindex",
    "kbd",
    "label",
    "legend",
    "li",
    "link",
    "map",
    "menu",
    "meta",
    "nobr",
    "noframes",
    "noscript",
    "object",
    "ol",
    "optgroup",
    "option",
    "p",
    "param",
    "pre",
    "q",
    "s",
    "samp",
    "script",
    "select",
    "small",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "title",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "x-sigsep",
    "x-tab",
];
/// Tags SpamAssassin treats as elements only to flag them.
const TRICKS: &[&str] = &["bgsound", "embed", "listing", "plaintext", "xmp"];
const TEXT_STYLE: &[&str] = &[
    "a", "basefont", "big", "body", "div", "font", "marquee", "p", "small", "span", "table", "td",
    "th", "tr",
];

/// Whether `t` (lower case) is one of [`ELEMENTS`]. Both HTML passes
/// ask it for every tag; a table indexed by a hash of the length and the
/// first and last bytes leaves one or two names to compare, where a
/// binary search compared seven (about 1% of scanning time with the stock
/// rules).
pub(crate) fn is_element(t: &str) -> bool {
    static TABLE: std::sync::LazyLock<Vec<Vec<&str>>> = std::sync::LazyLock::new(|| {
        let mut table = vec![Vec::new(); ELEMENT_SLOTS];
        for e in ELEMENTS {
            table[element_slot(e.as_bytes())].push(*e);
        }
        table
    });
    TABLE[element_slot(t.as_bytes())].contains(&t)
}

/// Buckets of [`is_element`]'s table.
const ELEMENT_SLOTS: usize = 256;

/// The bucket of a tag name in [`is_element`]'s table.
fn element_slot(b: &[u8]) -> usize {
    let (first, last) = (b.first().copied(), b.last().copied());
    let h = b.len().wrapping_mul(31)
        ^ usize::from(first.unwrap_or(0)).wrapping_mul(7)
        ^ usize::from(last.unwrap_or(0)).wrapping_mul(131);
    h % ELEMENT_SLOTS
}
/// Whether `t` (lower case) is one of [`TRICKS`].
pub(crate) fn is_trick(t: &str) -> bool {
    TRICKS.contains(&t)
}

/// Attributes each styling tag may change.
fn ok_attribute(tag: &str, name: &str) -> bool {
    match tag {
        "basefont" | "font" => matches!(name, "color" | "face" | "size"),
        "body" => matches!(
            name,
            "text" | "bgcolor" | "link" | "alink" | "vlink" | "background"
        ),
        "marquee" => matches!(name, "bgcolor" | "background"),
        "table" | "td" | "th" | "tr" => matches!(name, "bgcolor" | "style"),
        "span" | "p" | "div" | "a" => name == "style",
        _ => false,
    }
}

#[derive(Clone, Debug)]
struct Style {
    tag: String,
    fg: String,
    bg: String,
    size: i64,
    display: Option<String>,
    visibility: Option<String>,
}

#[derive(Clone, Copy, Default)]
struct Piece {
    start: usize,
    whitespace: bool,
    invisible: bool,
}

struct State_ {
    pieces: Vec<Piece>,
    styles: Vec<Style>,
    basefont: i64,
    inside: std::collections::HashMap<String, i64>,
    tags_seen: u32,
    elements_seen: u32,
    title_index: Option<usize>,
    base_href: Option<String>,
    backhair: Vec<(usize, usize)>,
    seen_uris: std::collections::HashSet<String>,
    /// `inside` of the elements asked about at every text ([`TRACKED`]),
    /// kept beside the map so a text costs no hashing.
    open: [i64; TRACKED.len()],
}

/// See `State_::open`.
const TRACKED: [&str; 4] = ["script", "style", "a", "title"];

/// Renders `html` (already decoded to UTF-8) into `out`, which is cleared
/// first. Never panics; time and memory are linear in `html`.
pub fn render(html: &str, out: &mut Rendered) {
    out.text.clear();
    out.visible.clear();
    out.invisible.clear();
    out.uris.clear();
    out.part = HtmlPart {
        min_size: 3,
        max_size: 3,
        length: html.chars().count(),
        ..HtmlPart::default()
    };
    out.part.entities = count_entities(html.as_bytes());
    let src = preprocess(html);
    let mut st = State_ {
        pieces: Vec::new(),
        styles: vec![Style {
            tag: "default".into(),
            fg: "#000000".into(),
            bg: "#ffffff".into(),
            size: 3,
            display: None,
            visibility: None,
        }],
        basefont: 3,
        inside: std::collections::HashMap::new(),
        tags_seen: 0,
        elements_seen: 0,
        title_index: None,
        base_href: None,
        backhair: Vec::new(),
        seen_uris: std::collections::HashSet::new(),
        open: [0; TRACKED.len()],
    };
    // With spans, to tell a comment from a declaration (`<!x>`) and a
    // processing instruction (`<?x>`), which the tokenizer reports alike.
    let mut tok = Tokenizer::new_with_emitter(src.as_str(), Quiet(DefaultEmitter::new_with_span()));
    let mut pending = String::new();
    let mut start_tags: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    while let Some(t) = tok.next() {
        let Ok(t) = t;
        if let Token::String(s) = &t {
            pending.push_str(&utf8_lossy(&s.value));
            continue;
        }
        if !pending.is_empty() {
            text_event(&mut st, out, &pending);
            pending.clear();
        }
        match t {
            Token::StartTag(tag) => {
                let name = utf8_lossy(&tag.name);
                // Borrowed from the token unless a name or value is not
                // UTF-8.
                let attrs: Vec<Attr<'_>> = tag
                    .attributes
                    .iter()
                    .map(|(k, v)| (utf8_lossy(k), utf8_lossy(&v.value)))
                    .collect();
                match start_tags.get_mut(name.as_ref()) {
                    Some(n) => *n += 1,
                    None => {
                        start_tags.insert(name.to_string(), 1);
                    }
                }
                if out.part.closed_html {
                    out.part.tags_after_close += 1;
                }
                match name.as_ref() {
                    "img" => out.part.images += 1,
                    "script" => out.part.scripts += 1,
                    "form" => out.part.forms += 1,
                    _ => {}
                }
                if !is_element(&name) && !is_trick(&name) {
                    out.part.unknown_tags += 1;
                }
                if !tag.self_closing {
                    match name.as_ref() {
                        "script" => {
                            tok.set_state(State::ScriptData);
                        }
                        // HTML::Parser's literal-text elements.
                        "style" | "xmp" | "iframe" => {
                            tok.set_state(State::RawText);
                        }
                        "textarea" => {
                            tok.set_state(State::RcData);
                        }
                        "plaintext" => tok.set_state(State::PlainText),
                        _ => {}
                    }
                }
                html_tag(&mut st, out, &name, &attrs, 1);
            }
            Token::EndTag(tag) => {
                let name = utf8_lossy(&tag.name);
                html_tag(&mut st, out, &name, &[], -1);
            }
            Token::Comment(c) => {
                // HTML::Parser reports `<!x>` as a comment with its text
                // as written, and `<?x>` or `</ x>` as no comment at all.
                let written = src.get(c.span.start..c.span.end).unwrap_or("");
                if !written.starts_with("<!") {
                    continue;
                }
                let text = utf8_lossy(&c.value);
                out.part.comment_bytes += text.len();
                out.part.comment.push(if written.starts_with("<!--") {
                    format!("<!--{text}-->")
                } else {
                    written.to_string()
                });
            }
            Token::Doctype(_) => {
                out.part.elements += 1;
                out.part.tags += 1;
                set_inside(&mut st, "!doctype", |_| 0);
            }
            Token::String(_) | Token::Error(_) => {}
        }
    }
    if !pending.is_empty() {
        text_event(&mut st, out, &pending);
    }
    let p = &mut out.part;
    p.start_tags = start_tags.into_iter().collect();
    p.start_tags.sort_unstable();
    if p.tags > 0 {
        p.closed_extra_ratio = Some(p.closed_extra as f64 / p.tags as f64);
        if p.elements > 0 {
            p.bad_tag_ratio = Some((p.tags - p.elements.min(p.tags)) as f64 / p.tags as f64);
        }
        if p.obfuscation > 0 {
            p.obfuscation_ratio = Some(p.obfuscation as f64 / p.tags as f64);
        }
    }
    if st.tags_seen > 0 && st.elements_seen > 0 {
        p.non_element_ratio =
            Some((st.tags_seen - st.elements_seen.min(st.tags_seen)) as f64 / st.tags_seen as f64);
    }
    if !st.backhair.is_empty() {
        st.backhair.sort_unstable();
        st.backhair.dedup();
        p.backhair_count = Some(st.backhair.len() as u32);
    }
    p.inside = std::mem::take(&mut st.inside).into_iter().collect();
    p.inside.sort_unstable();
    // Assemble the texts.
    let n = st.pieces.len();
    for i in 0..n {
        let s = st.pieces[i].start;
        let e = if i + 1 < n {
            st.pieces[i + 1].start
        } else {
            out.text.len()
        };
        let piece = &out.text[s..e];
        if st.pieces[i].invisible {
            out.invisible.push_str(piece);
        } else {
            out.visible.push_str(piece);
        }
    }
    let chars = out.text.chars().count();
    let space = out.text.chars().filter(|c| c.is_whitespace()).count();
    p.html_length = chars;
    p.non_space_len = chars - space;
    if !html.is_empty() {
        p.ratio = Some((html.len() as f64 - chars as f64) / html.len() as f64);
    }
}

/// SpamAssassin's fixes before parsing: `&nbsp;` is a space, `<br/>` is
/// `<br>`, and curly double quotes are straight ones.
fn preprocess(html: &str) -> String {
    let mut s = String::with_capacity(html.len());
    let b = html.as_bytes();
    let mut i = 0;
    let mut last = 0;
    while i < b.len() {
        match b[i] {
            b'&' if b[i..].starts_with(b"&nbsp;") => {
                s.push_str(&html[last..i]);
                s.push(' ');
                i += 6;
                last = i;
            }
            b'<' => {
                // <word\s*/> -> <word>
                let mut j = i + 1;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j > i + 1 {
                    let mut k = j;
                    while k < b.len() && b[k].is_ascii_whitespace() {
                        k += 1;
                    }
                    if b[k..].starts_with(b"/>") {
                        s.push_str(&html[last..j]);
                        s.push('>');
                        i = k + 2;
                        last = i;
                        continue;
                    }
                }
                i = j.max(i + 1);
            }
            0xE2 if b[i..].starts_with("\u{201C}".as_bytes())
                || b[i..].starts_with("\u{201D}".as_bytes()) =>
            {
                s.push_str(&html[last..i]);
                s.push('"');
                i += 3;
                last = i;
            }
            _ => i += 1,
        }
    }
    s.push_str(&html[last..]);
    s
}

fn count_entities(b: &[u8]) -> u32 {
    let mut n = 0u32;
    for i in memchr::memchr_iter(b'&', b) {
        let rest = &b[i + 1..b.len().min(i + 34)];
        let body = rest.strip_prefix(b"#").unwrap_or(rest);
        let len = body
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric())
            .count();
        if len > 0 && (body.get(len) == Some(&b';') || rest.first() == Some(&b'#')) {
            n = n.saturating_add(1);
        }
    }
    n
}

/// Sets `tag`'s open count to `f` of the old one (0 if none); says
/// whether the tag had been seen.
fn set_inside(st: &mut State_, tag: &str, f: impl FnOnce(i64) -> i64) -> bool {
    let (seen, v) = match st.inside.get_mut(tag) {
        Some(v) => {
            *v = f(*v);
            (true, *v)
        }
        None => {
            let v = f(0);
            st.inside.insert(tag.to_string(), v);
            (false, v)
        }
    };
    if let Some(k) = TRACKED.iter().position(|t| *t == tag) {
        st.open[k] = v;
    }
    seen
}

/// The open count of `tag`: kept in `open` for a [`TRACKED`] element,
/// else from the map.
fn inside(st: &State_, tag: &str) -> i64 {
    TRACKED
        .iter()
        .position(|t| *t == tag)
        .map_or_else(|| st.inside.get(tag).copied().unwrap_or(0), |k| st.open[k])
}

fn is_namespace(tag: &str) -> bool {
    // ^(?:o|st\d):[\w-]+/?$
    let rest = if let Some(r) = tag.strip_prefix("o:") {
        r
    } else if let Some(r) = tag.strip_prefix("st") {
        let mut c = r.chars();
        match (c.next(), c.as_str().strip_prefix(':')) {
            (Some(d), Some(r)) if d.is_ascii_digit() => r,
            _ => return false,
        }
    } else {
        return false;
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

fn html_tag(st: &mut State_, out: &mut Rendered, tag: &str, attrs: &[Attr<'_>], num: i64) {
    let ns = is_namespace(tag);
    let mut extra = false;
    let was_known = set_inside(st, tag, |v| {
        let n = v + num;
        if n < 0 {
            extra = true;
            0
        } else {
            n
        }
    });
    if is_element(tag) || ns {
        out.part.elements += 1;
        if !was_known {
            st.elements_seen += 1;
        }
    }
    out.part.tags += 1;
    if !was_known {
        st.tags_seen += 1;
    }
    if extra {
        out.part.closed_extra += 1;
    }
    if ns || !(is_element(tag) || is_trick(tag)) {
        return;
    }
    if TEXT_STYLE.contains(&tag) {
        text_style(st, out, tag, attrs, num);
    }
    html_whitespace(st, out, tag);
    if num == 1 {
        html_uri(st, out, tag, attrs);
        html_tests(st, out, tag, attrs);
    } else {
        if tag == "html" {
            out.part.closed_html = true;
        }
        if tag == "body" {
            out.part.closed_body = true;
        }
    }
}

fn html_whitespace(st: &mut State_, out: &mut Rendered, tag: &str) {
    let ws = match tag {
        "br" | "div" => "\n",
        "li" | "th" | "td" | "dt" | "dd" | "embed" | "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => " ",
        "p" | "hr" | "blockquote" | "pre" | "listing" | "plaintext" | "xmp" | "title" => "\n\n",
        _ => return,
    };
    display_text(st, out, ws, true, false);
}

fn display_text(
    st: &mut State_,
    out: &mut Rendered,
    text: &str,
    whitespace: bool,
    invisible: bool,
) {
    if whitespace {
        if let Some(last) = st.pieces.last()
            && !last.whitespace
            && !last.invisible
            && out.text.len() > last.start
            && out.text.ends_with(' ')
        {
            out.text.pop();
        }
        st.pieces.push(Piece {
            start: out.text.len(),
            whitespace: true,
            invisible,
        });
        out.text.push_str(text);
        return;
    }
    let start = out.text.len();
    let mut in_ws = false;
    for c in text.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c' | '\x0b') {
            if !in_ws {
                out.text.push(' ');
            }
            in_ws = true;
        } else {
            out.text.push(c);
            in_ws = false;
        }
    }
    if !invisible
        && st.pieces.last().is_some_and(|p| p.whitespace)
        && out.text[start..].starts_with(' ')
    {
        out.text.remove(start);
    }
    st.pieces.push(Piece {
        start,
        whitespace: false,
        invisible,
    });
}

/// SpamAssassin's "not a word character" set: white space and ASCII
/// punctuation.
fn is_sep(c: char) -> bool {
    c.is_whitespace()
        || matches!(c, '\x21'..='\x2f' | '\x3a'..='\x40' | '\x5b'..='\x60' | '\x7b'..='\x7e')
}
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn text_event(st: &mut State_, out: &mut Rendered, text: &str) {
    if inside(st, "script") > 0 {
        out.part.script.push(text.to_string());
        return;
    }
    if inside(st, "style") > 0 {
        return;
    }
    if inside(st, "a") > 0 {
        if let Some(a) = out.part.anchor.last_mut() {
            a.push_str(text);
        }
        if let Some(a) = out.part.anchors.last_mut() {
            a.1.push_str(text);
        }
    }
    if inside(st, "title") > 0
        && let Some(i) = st.title_index
        && let Some(t) = out.part.title.get_mut(i)
    {
        t.push_str(text);
    }
    let mut invisible = false;
    if text
        .chars()
        .any(|c| !matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c' | '\x0b' | '\u{a0}'))
    {
        invisible = font_invisible(st, out);
    }
    if let Some(last) = st.pieces.last() {
        let prev = &out.text[last.start..];
        let first = text.chars().next();
        let lastc = prev.chars().next_back();
        if first.is_some_and(|c| !is_sep(c)) && lastc.is_some_and(|c| !is_sep(c)) {
            out.part.obfuscation += 1;
        }
        // \b(\w-ish{1,7})\z in prev, ^(\w-ish{1,7})\b in text
        let tail: Vec<char> = prev
            .chars()
            .rev()
            .take(8)
            .take_while(|&c| !is_sep(c))
            .collect();
        let head: Vec<char> = text.chars().take(8).take_while(|&c| !is_sep(c)).collect();
        let tail_ok = !tail.is_empty()
            && tail.len() <= 7
            && tail.last().is_some_and(|&c| is_word(c))
            && (tail.len() == 8 || {
                // The char before the tail must not be a word char (\b).
                let before = prev.chars().rev().nth(tail.len());
                before.is_none_or(|c| !is_word(c))
            });
        let head_ok = !head.is_empty()
            && head.len() <= 7
            && head.last().is_some_and(|&c| is_word(c))
            && text.chars().nth(head.len()).is_none_or(|c| !is_word(c));
        if tail_ok && head_ok && st.backhair.len() < 4096 {
            st.backhair.push((tail.len(), head.len()));
        }
    }
    display_text(st, out, text, false, invisible);
}

fn font_invisible(st: &State_, out: &mut Rendered) -> bool {
    let Some(s) = st.styles.last() else {
        return false;
    };
    fn tail(c: &str) -> &str {
        c.get(c.len().saturating_sub(6)..).unwrap_or(c)
    }
    if tail(&s.fg) == tail(&s.bg) {
        out.part.font_low_contrast = true;
        return true;
    }
    if let (Some(a), Some(b)) = (rgb(&s.fg), rgb(&s.bg)) {
        let d = |x: u8, y: u8, w: f64| (w * (x as f64 - y as f64)).powi(2);
        let dist = (d(a.0, b.0, 0.2126) + d(a.1, b.1, 0.7152) + d(a.2, b.2, 0.0722)).sqrt();
        if dist < 12.0 {
            out.part.font_low_contrast = true;
            return true;
        }
    }
    if s.fg == "invalid" || s.bg == "invalid" {
        out.part.font_invalid_color = true;
        return true;
    }
    if s.size <= 1 {
        return true;
    }
    if s.display
        .as_deref()
        .is_some_and(|d| d.eq_ignore_ascii_case("none"))
    {
        return true;
    }
    s.visibility
        .as_deref()
        .is_some_and(|d| d.eq_ignore_ascii_case("hidden"))
}

/// `#rrggbb` (the `#` optional) to its components.
fn rgb(c: &str) -> Option<(u8, u8, u8)> {
    let h = c.strip_prefix('#').unwrap_or(c);
    if h.len() != 6 || !h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let p = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some((p(0)?, p(2)?, p(4)?))
}

/// Colour names SpamAssassin knows (the HTML 4 sixteen and common CSS
/// names), as `0xRRGGBB`.
const COLORS: &[(&str, u32)] = &[
    ("aqua", 0x00ffff),
    ("beige", 0xf5f5dc),
    ("black", 0x000000),
    ("blue", 0x0000ff),
    ("brown", 0xa52a2a),
    ("cyan", 0x00ffff),
    ("darkblue", 0x00008b),
    ("darkgray", 0xa9a9a9),
    ("darkgreen", 0x006400),
    ("darkgrey", 0xa9a9a9),
    ("darkred", 0x8b0000),
    ("fuchsia", 0xff00ff),
    ("gold", 0xffd700),
    ("gray", 0x808080),
    ("green", 0x008000),
    ("grey", 0x808080),
    ("ivory", 0xfffff0),
    ("lightgray", 0xd3d3d3),
    ("lightgrey", 0xd3d3d3),
    ("lightyellow", 0xffffe0),
    ("lime", 0x00ff00),
    ("magenta", 0xff00ff),
    ("maroon", 0x800000),
    ("navy", 0x000080),
    ("olive", 0x808000),
    ("orange", 0xffa500),
    ("pink", 0xffc0cb),
    ("purple", 0x800080),
    ("red", 0xff0000),
    ("silver", 0xc0c0c0),
    ("snow", 0xfffafa),
    ("teal", 0x008080),
    ("white", 0xffffff),
    ("whitesmoke", 0xf5f5f5),
    ("yellow", 0xffff00),
];

/// A colour as SpamAssassin normalises it: `#rrggbb` or `invalid`.
pub fn name_to_rgb(color: &str) -> String {
    let c = color.trim().to_ascii_lowercase();
    if let Ok(i) = COLORS.binary_search_by(|(n, _)| n.cmp(&c.as_str())) {
        return format!("#{:06x}", COLORS[i].1);
    }
    let hexish = c.bytes().all(|b| b == b'#' || b.is_ascii_hexdigit());
    let mut c = c;
    if !hexish {
        if let Some(v) = parse_rgb_fn(&c) {
            c = format!("#{:02x}{:02x}{:02x}", v.0, v.1, v.2);
        } else {
            return "invalid".into();
        }
    }
    if !c.starts_with('#') {
        return "invalid".into();
    }
    let mut h: String = c.chars().filter(|ch| ch.is_ascii_hexdigit()).collect();
    if h.len() > 6 {
        h.truncate(6);
    }
    if h.len() > 3 && h.len() < 6 {
        h.truncate(3);
    }
    while !h.len().is_multiple_of(3) {
        h.push('0');
    }
    if h.len() == 3 {
        let b: Vec<char> = h.chars().collect();
        h = [b[0], b[0], b[1], b[1], b[2], b[2]].iter().collect();
    }
    format!("#{h}")
}

/// `rgb(r, g, b)` or `rgb(r%, g%, b%)`.
fn parse_rgb_fn(c: &str) -> Option<(u32, u32, u32)> {
    let i = c.find("rgb(")?;
    let inner = &c[i + 4..];
    let inner = &inner[..inner.find(')')?];
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    if parts.len() != 3 {
        return None;
    }
    let pct = parts.iter().all(|p| p.ends_with('%'));
    let mut v = [0u32; 3];
    for (k, p) in parts.iter().enumerate() {
        let n: u32 = p.trim_end_matches('%').parse().ok()?;
        v[k] = if pct { n * 255 / 100 } else { n };
    }
    Some((v[0], v[1], v[2]))
}

fn text_style(st: &mut State_, out: &mut Rendered, tag: &str, attrs: &[Attr<'_>], num: i64) {
    let tag = if tag == "th" { "td" } else { tag };
    if num != 1 {
        if tag != "body" && st.styles.iter().any(|s| s.tag == tag) {
            while let Some(s) = st.styles.pop() {
                if s.tag == tag {
                    break;
                }
            }
            if st.styles.is_empty() {
                st.styles.push(default_style());
            }
        }
        return;
    }
    if tag == "basefont" {
        if let Some((_, v)) = attrs.iter().find(|(k, _)| k == "size")
            && let Some(n) = leading_int(v.trim_start())
        {
            st.basefont = n;
        }
        return;
    }
    if (tag == "td" || tag == "tr") && st.styles.iter().any(|s| s.tag == tag) {
        while let Some(top) = st.styles.last() {
            let t = top.tag.as_str();
            if (tag == "td" && (t == "font" || t == "td"))
                || (tag == "tr" && matches!(t, "font" | "td" | "tr"))
            {
                st.styles.pop();
            } else {
                break;
            }
        }
        if st.styles.is_empty() {
            st.styles.push(default_style());
        }
    }
    let mut new = st.styles.last().cloned().unwrap_or_else(default_style);
    new.tag = tag.to_string();
    if tag == "big" || tag == "small" {
        new.size += if tag == "big" { 1 } else { -1 };
        if st.styles.len() < MAX_STYLE_DEPTH {
            st.styles.push(new);
        }
        return;
    }
    let p = &mut out.part;
    for (name, value) in attrs {
        if !ok_attribute(tag, name) {
            continue;
        }
        match name.as_ref() {
            "text" | "color" => new.fg = name_to_rgb(value),
            "size" => {
                let v = value.trim_start();
                if v.starts_with(['+', '-']) {
                    if let Some(n) = leading_int(&v[1..])
                        .filter(|_| v[1..].starts_with(|c: char| c.is_ascii_digit()))
                    {
                        let n = if v.starts_with('-') { -n } else { n };
                        new.size = st.basefont.saturating_add(n);
                    }
                } else if let Some(n) = leading_int(v) {
                    new.size = n;
                }
            }
            "style" => apply_style(&mut new, value, st.styles.last()),
            _ => {}
        }
        if new.size > p.max_size {
            p.max_size = new.size;
        } else if new.size < p.min_size {
            p.min_size = new.size;
        }
    }
    if st.styles.len() < MAX_STYLE_DEPTH {
        st.styles.push(new);
    }
}

fn default_style() -> Style {
    Style {
        tag: "default".into(),
        fg: "#000000".into(),
        bg: "#ffffff".into(),
        size: 3,
        display: None,
        visibility: None,
    }
}

fn leading_int(s: &str) -> Option<i64> {
    let d: String = s
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .take(9)
        .collect();
    d.parse().ok()
}

fn apply_style(new: &mut Style, style: &str, parent: Option<&Style>) {
    for decl in style.split(';') {
        let d = decl.trim_start();
        let lower = d.to_ascii_lowercase();
        if let Some((is_bg, rest)) = lower
            .strip_prefix("background-color:")
            .map(|r| (true, r))
            .or_else(|| lower.strip_prefix("color:").map(|r| (false, r)))
        {
            let mut value = rest.trim().to_string();
            if let Some(i) = value.rfind('!')
                && value[i + 1..].trim() == "important"
            {
                value.truncate(i);
                value = value.trim_end().to_string();
            }
            let color = if value.contains("rgb") {
                let digits: String = value
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == ',')
                    .collect();
                let mut v = digits
                    .split(',')
                    .map(|x| x.parse::<u64>().unwrap_or(0).min(255));
                let (r, g, b) = (
                    v.next().unwrap_or(0),
                    v.next().unwrap_or(0),
                    v.next().unwrap_or(0),
                );
                Some(format!("#{r:02x}{g:02x}{b:02x}"))
            } else if value == "inherit" {
                None
            } else if value == "transparent" {
                Some(value)
            } else {
                Some(name_to_rgb(&value))
            };
            if let Some(c) = color {
                if is_bg {
                    new.bg = c;
                } else {
                    new.fg = c;
                }
            }
        } else if let Some(rest) = d.strip_prefix("background:") {
            let layers = css_background(&rest.trim().to_ascii_lowercase());
            if let Some(last) = layers.last() {
                for v in last {
                    let c = name_to_rgb(v);
                    if c != "invalid" {
                        new.bg = c;
                        break;
                    }
                }
            }
        } else if let Some((k, v)) = d.split_once(':') {
            let k = k.trim_end();
            let v = v.trim();
            if !k.is_empty()
                && !v.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'-')
            {
                match k {
                    "display" => new.display = Some(v.to_string()),
                    "visibility" => new.visibility = Some(v.to_string()),
                    _ => {}
                }
            }
        }
    }
    if new.bg == "transparent" {
        new.bg = parent.map_or_else(|| "#ffffff".into(), |p| p.bg.clone());
    }
    if new.fg == "transparent" {
        new.fg = new.bg.clone();
    }
}

/// Splits a CSS `background` value into layers of values.
fn css_background(bg: &str) -> Vec<Vec<String>> {
    let mut layers = Vec::new();
    let mut tokens = Vec::new();
    let mut token = String::new();
    let mut stack: Vec<u8> = Vec::new();
    let mut state = 0u8;
    for ch in bg.chars() {
        match state {
            0 => match ch {
                ' ' => {
                    if !token.is_empty() {
                        tokens.push(std::mem::take(&mut token));
                    }
                }
                '(' | '"' | '\'' => {
                    token.push(ch);
                    stack.push(state);
                    state = match ch {
                        '(' => 1,
                        '"' => 2,
                        _ => 3,
                    };
                }
                ',' => {
                    if !token.is_empty() {
                        tokens.push(std::mem::take(&mut token));
                    }
                    layers.push(std::mem::take(&mut tokens));
                }
                _ => token.push(ch),
            },
            1 => {
                token.push(ch);
                match ch {
                    ')' => {
                        tokens.push(std::mem::take(&mut token));
                        state = stack.pop().unwrap_or(0);
                    }
                    '"' => {
                        stack.push(state);
                        state = 2;
                    }
                    '\'' => {
                        stack.push(state);
                        state = 3;
                    }
                    _ => {}
                }
            }
            2 | 3 => {
                token.push(ch);
                if (state == 2 && ch == '"') || (state == 3 && ch == '\'') {
                    state = stack.pop().unwrap_or(0);
                }
            }
            _ => {}
        }
    }
    if !token.is_empty() {
        tokens.push(token);
    }
    if !tokens.is_empty() {
        layers.push(tokens);
    }
    layers
}

fn attr<'a>(attrs: &'a [Attr<'_>], name: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_ref())
}

fn canon_uri(uri: &str, part: &mut HtmlPart) -> String {
    let u = uri.trim_matches(|c: char| c.is_whitespace() || c == '\u{a0}');
    if u.len() > MAX_URI_LENGTH {
        part.uri_truncated = true;
        let mut end = MAX_URI_LENGTH;
        while !u.is_char_boundary(end) {
            end -= 1;
        }
        return u[..end].to_string();
    }
    u.to_string()
}

fn push_uri(st: &mut State_, out: &mut Rendered, uri: &str) {
    let uri = canon_uri(uri, &mut out.part);
    if uri.is_empty() {
        return;
    }
    let lower: String = uri.chars().take(7).collect::<String>().to_ascii_lowercase();
    let target = if ["data:", "mailto:", "file:", "cid:", "tel:"]
        .iter()
        .any(|p| lower.starts_with(p))
    {
        uri
    } else {
        super::uri::target_uri(st.base_href.as_deref().unwrap_or(""), &uri)
    };
    if !target.is_empty() && out.uris.len() < 10_000 && st.seen_uris.insert(target.clone()) {
        out.uris.push(target);
    }
}

fn html_uri(st: &mut State_, out: &mut Rendered, tag: &str, attrs: &[Attr<'_>]) {
    match tag {
        "body" | "table" | "tr" | "td" => {
            if let Some(v) = attr(attrs, "background") {
                push_uri(st, out, v);
            }
        }
        "a" | "area" | "link" => {
            if let Some(v) = attr(attrs, "href") {
                let v = v.replace('\u{feff}', "");
                push_uri(st, out, &v);
            }
            if let Some(v) = attr(attrs, "data-saferedirecturl") {
                push_uri(st, out, v);
            }
        }
        "img" | "frame" | "iframe" | "embed" | "script" | "bgsound" => {
            if let Some(v) = attr(attrs, "src") {
                push_uri(st, out, v);
            }
        }
        "form" => {
            if let Some(v) = attr(attrs, "action") {
                push_uri(st, out, v);
            }
        }
        "base" => {
            if let Some(v) = attr(attrs, "href").filter(|v| !v.is_empty()) {
                let uri = canon_uri(v, &mut out.part);
                push_uri(st, out, &uri);
                let l = uri.to_ascii_lowercase();
                if l.starts_with("http:") || l.starts_with("https:") || l.starts_with("ftp:") {
                    st.base_href = Some(base_dir(&uri));
                }
            }
        }
        "meta" => {
            if let (Some(he), Some(content)) = (attr(attrs, "http-equiv"), attr(attrs, "content"))
                && he.to_ascii_lowercase().contains("refresh")
            {
                let lc = content.to_ascii_lowercase();
                if let Some(i) = find_url_eq(&lc) {
                    let rest = content[i..].trim_start();
                    let rest = match rest.find(';') {
                        Some(j) => rest[..j].trim_end(),
                        None => rest,
                    };
                    push_uri(st, out, rest);
                }
            }
        }
        _ => {}
    }
}

/// Where the value of `url\s*=\s*` starts in a refresh `content`, after the
/// last such `url=` (the greedy `.*` of SpamAssassin's pattern).
fn find_url_eq(lc: &str) -> Option<usize> {
    let b = lc.as_bytes();
    let mut found = None;
    let mut i = 0;
    while let Some(j) = lc[i..].find("url") {
        let at = i + j;
        let boundary = at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'_');
        let mut k = at + 3;
        while k < b.len() && b[k].is_ascii_whitespace() {
            k += 1;
        }
        if boundary && k < b.len() && b[k] == b'=' {
            found = Some(k + 1);
        }
        i = at + 3;
    }
    found
}

/// A base URI without its trailing file name, ending in `/`.
fn base_dir(uri: &str) -> String {
    // ^([a-z]+:/{0,2}[^/]+/.*?)[^/\.]+\.[^/\.]{2,4}$ -> $1
    let mut u = uri.to_string();
    let after_scheme = u.find(':').map_or(0, |i| i + 1);
    let slashes = u[after_scheme..]
        .bytes()
        .take(2)
        .take_while(|&b| b == b'/')
        .count();
    let host_start = after_scheme + slashes;
    if let Some(p) = u[host_start..].find('/').map(|p| p + host_start)
        && p > host_start
        && let Some(last_slash) = u.rfind('/')
        && last_slash >= p
    {
        let file = &u[last_slash + 1..];
        if let Some(dot) = file.rfind('.') {
            let (stem, ext) = (&file[..dot], &file[dot + 1..]);
            if !stem.is_empty()
                && !stem.contains('.')
                && (2..=4).contains(&ext.len())
                && !ext.contains('.')
            {
                u.truncate(last_slash + 1);
            }
        }
    }
    if !u.ends_with('/') {
        u.push('/');
    }
    u
}

fn font_face_ok(face: &str) -> bool {
    // ^\s*["'.]?[a-z ][a-z -]*[a-z]\d?["']?(?:,\s*["']?[a-z][a-z -]*[a-z]\d?["']?)*;?$
    let s = face.trim_start();
    let s = s.strip_suffix(';').unwrap_or(s);
    let mut first = true;
    for item in s.split(',') {
        let mut it = if first { item } else { item.trim_start() };
        let q = if first {
            ['"', '\'', '.']
        } else {
            ['"', '\'', '"']
        };
        if let Some(r) = it.strip_prefix(q) {
            it = r;
        }
        it = it.strip_suffix(['"', '\'']).unwrap_or(it);
        let it = it.strip_suffix(|c: char| c.is_ascii_digit()).unwrap_or(it);
        let b = it.as_bytes();
        if b.len() < 2 {
            return false;
        }
        let ok_first = b[0].is_ascii_alphabetic() || (first && b[0] == b' ');
        if !ok_first || !b[b.len() - 1].is_ascii_alphabetic() {
            return false;
        }
        if !b[1..b.len() - 1]
            .iter()
            .all(|&c| c.is_ascii_alphabetic() || c == b' ' || c == b'-')
        {
            return false;
        }
        first = false;
    }
    true
}

fn html_tests(st: &mut State_, out: &mut Rendered, tag: &str, attrs: &[Attr<'_>]) {
    if tag == "a" {
        let href = attr(attrs, "href")
            .map(|h| canon_uri(h, &mut out.part))
            .unwrap_or_default();
        // SpamAssassin files the anchor text under the unresolved href,
        // which thereby becomes a URI of its own (an empty one for an
        // anchor without href).
        if out.uris.len() < 10_000 && st.seen_uris.insert(href.clone()) {
            out.uris.push(href.clone());
        }
        if out.part.anchor.len() < 100_000 {
            out.part.anchor.push(String::new());
            out.part.anchors.push((href, String::new()));
        }
    }
    let p = &mut out.part;
    if tag == "font"
        && let Some(face) = attr(attrs, "face")
        && !font_face_ok(face)
    {
        p.font_face_bad = true;
    }
    if tag == "img" && inside(st, "a") > 0 {
        if let Some(a) = p.anchor.last_mut() {
            a.push_str("<img>\n");
        }
        if let Some(a) = p.anchors.last_mut() {
            a.1.push_str("<img>\n");
        }
    }
    if tag == "img"
        && let (Some(w), Some(h)) = (attr(attrs, "width"), attr(attrs, "height"))
    {
        let dim = |v: &str, pct: u64| -> u64 {
            let (num, is_pct) = match v.strip_suffix('%') {
                Some(n) => (n, true),
                None => (v, false),
            };
            if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                return 0;
            }
            let n: u64 = num
                .get(..num.len().min(9))
                .unwrap_or("0")
                .parse()
                .unwrap_or(0);
            if is_pct { n * pct } else { n }
        };
        let mut wd = dim(w, 8);
        let mut ht = dim(h, 6);
        if wd == 0 {
            wd = 200;
        }
        if ht == 0 {
            ht = 200;
        }
        p.image_area = p.image_area.saturating_add(wd.saturating_mul(ht));
    }
    if tag == "form"
        && attr(attrs, "action").is_some_and(|a| a.to_ascii_lowercase().contains("mailto:"))
    {
        p.form_action_mailto = true;
    }
    if tag == "object" || tag == "embed" {
        p.embeds = true;
    }
    if tag == "title" && p.title.len() < 10_000 {
        p.title.push(String::new());
        st.title_index = Some(p.title.len() - 1);
    }
    if tag == "meta"
        && let (Some(he), Some(content)) = (attr(attrs, "http-equiv"), attr(attrs, "content"))
        && he.to_ascii_lowercase().contains("content-type")
    {
        let lc = content.to_ascii_lowercase();
        if let Some(i) = lc.find("charset") {
            let rest = lc[i + 7..].trim_start();
            if let Some(rest) = rest.strip_prefix('=') {
                let rest = rest.trim_start().trim_start_matches(['"', '\'']);
                let cs: String = rest
                    .chars()
                    .take_while(|&c| c != '"' && c != '\'')
                    .collect();
                if !cs.is_empty() {
                    let start = i + 7 + (lc[i + 7..].len() - rest.len());
                    let orig = &content[start.min(content.len())..];
                    let orig: String = orig.chars().take(cs.chars().count()).collect();
                    match &mut p.charsets {
                        Some(c) => {
                            c.push(' ');
                            c.push_str(&orig);
                        }
                        None => p.charsets = Some(orig),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(html: &str) -> Rendered {
        let mut r = Rendered::default();
        render(html, &mut r);
        r
    }

    #[test]
    fn comments_are_reported_as_html_parser_reports_them() {
        let p = r("a<!-- one -->b<!x y>c<?xml version=1?>d</ e>f<!-- open").part;
        assert_eq!(p.comment, ["<!-- one -->", "<!x y>", "<!-- open-->"]);
        assert_eq!(r("a<!-- one -->b<!x y>c<?pi>d</ e>f").text, "abcdf");
        assert_eq!(r("<!doctype html>x").part.comment, Vec::<String>::new());
    }

    #[test]
    fn block_tags_break_lines() {
        assert_eq!(r("a<br>b<div>c</div>d").text, "a\nb\nc\nd");
        assert_eq!(r("<p>one</p><p>two</p>").text, "\n\none\n\n\n\ntwo\n\n");
        assert_eq!(r("<td>x</td><td>y</td>").text, " x  y ");
    }

    #[test]
    fn script_and_style_are_not_text() {
        let x = r("<style>p{color:red}</style>hi<script>var a='<b>';</script>");
        assert_eq!(x.text, "hi");
        assert_eq!(x.part.script, ["var a='<b>';"]);
    }

    #[test]
    fn invisible_text() {
        let x = r(
            "<body>A<font color=\"#fffffe\">B</font><span style='display:none'>C</span>\
                   <font size=1>D</font>",
        );
        assert_eq!(x.text, "ABCD");
        assert_eq!(x.visible, "A");
        assert_eq!(x.invisible, "BCD");
        assert!(x.part.font_low_contrast);
    }

    #[test]
    fn obfuscation_counts_glued_words() {
        let x = r("V<b></b>iagra");
        assert_eq!(x.text, "Viagra");
        assert_eq!(x.part.obfuscation, 1);
        assert_eq!(x.part.tags, 2);
        assert_eq!(x.part.obfuscation_ratio, Some(0.5));
    }

    #[test]
    fn uris_and_base() {
        let x = r(
            "<base href='http://ex.com/dir/page.html'><a href='x/y.htm'>t</a>\
                   <img src=' http://img.example/a.gif '><form action='mailto:a@b.c'>\
                   <meta http-equiv=refresh content='0; URL=http://r.example/'>",
        );
        assert_eq!(
            x.uris,
            [
                "http://ex.com/dir/page.html",
                "http://ex.com/dir/x/y.htm",
                "x/y.htm",
                "http://img.example/a.gif",
                "mailto:a@b.c",
                "http://r.example/"
            ]
        );
        assert!(x.part.form_action_mailto);
    }

    #[test]
    fn tag_balance_and_ratios() {
        let x = r("<html><body><foo>x</bar></body>");
        let get = |t: &str| x.part.inside.iter().find(|(n, _)| n == t).map(|p| p.1);
        assert_eq!(get("html"), Some(1));
        assert_eq!(get("body"), Some(0));
        assert_eq!(get("bar"), Some(0));
        assert_eq!(x.part.closed_extra, 1);
        assert_eq!(x.part.tags, 5);
        assert_eq!(x.part.bad_tag_ratio, Some(2.0 / 5.0));
        assert!(x.part.closed_body && !x.part.closed_html);
        assert_eq!(x.part.unknown_tags, 1);
    }

    #[test]
    fn tables_are_sorted() {
        assert!(ELEMENTS.windows(2).all(|w| w[0] < w[1]));
        assert!(COLORS.windows(2).all(|w| w[0].0 < w[1].0));
    }

    /// 20,000 open font tags, then 20,000 stray end tags and cells: the
    /// style stack stops at `MAX_STYLE_DEPTH`, so a tag costs at most that
    /// many steps, and every cell's text survives. No clock: a quadratic
    /// renderer would run for minutes, and the test run's limit catches it.
    #[test]
    fn hostile_nesting_is_bounded() {
        let html = "<font color=red>".repeat(20_000) + &"</span><td>x".repeat(20_000);
        let x = r(&html);
        assert!(x.text.len() <= html.len());
        assert_eq!(x.text.matches('x').count(), 20_000);
    }

    #[test]
    fn colors() {
        assert_eq!(name_to_rgb("White"), "#ffffff");
        assert_eq!(name_to_rgb("#abc"), "#aabbcc");
        assert_eq!(name_to_rgb("#abcd"), "#aabbcc");
        assert_eq!(name_to_rgb("12"), "invalid");
        assert_eq!(name_to_rgb("rgb(255, 0, 10)"), "#ff000a");
        assert_eq!(name_to_rgb("nosuch"), "invalid");
    }

    #[test]
    fn images_and_titles() {
        let x = r("<title>Hi there</title><a href=x><img width=10 height=20%></a>");
        assert_eq!(x.part.title, ["Hi there"]);
        assert_eq!(x.part.image_area, 10 * 120);
        assert_eq!(x.part.anchor, ["<img>\n"]);
        assert_eq!(x.part.images, 1);
    }

    #[test]
    fn nbsp_and_self_closing() {
        assert_eq!(r("a&nbsp;&nbsp;b<br/>c").text, "a b\nc");
        assert_eq!(r("x &amp; y").text, "x & y");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        /// Any input renders without panicking, and the text is bounded by
        /// the input (a character reference or a NUL may grow to 3 bytes).
        #[test]
        fn render_never_panics_and_is_bounded(
            html in "(<[/!]?[a-zA-Z]{0,6}( [a-z]{1,6}=(\"[^\"]{0,12}\"|[^ >]{0,8}))*/?>|&[#a-zA-Z0-9]{0,8};?|[^<&]{0,12}|<!--|-->|\u{0}){0,40}"
        ) {
            let x = r(&html);
            proptest::prop_assert!(x.text.len() <= 3 * html.len() + 16);
            proptest::prop_assert_eq!(x.text.len(), x.visible.len() + x.invisible.len());
            proptest::prop_assert!(x.uris.iter().all(|u| u.len() <= 2 * MAX_URI_LENGTH));
        }

        /// The element table answers as a search of the list does: for
        /// every element, each with a byte changed, cut or added, and
        /// arbitrary names.
        #[test]
        fn element_table_is_the_list(
            i in 0..ELEMENTS.len(),
            at in 0usize..12,
            b in proptest::prelude::any::<u8>(),
            name in "[a-z0-9:!-]{0,10}",
        ) {
            let e = ELEMENTS[i].as_bytes();
            let mut changed = e.to_vec();
            let k = at % e.len();
            changed[k] = b;
            let mut longer = e.to_vec();
            longer.insert(at.min(e.len()), b);
            for n in [e, &changed, &e[..k], &longer, name.as_bytes()] {
                if let Ok(n) = std::str::from_utf8(n) {
                    proptest::prop_assert_eq!(is_element(n), ELEMENTS.contains(&n), "{}", n);
                }
            }
        }

        #[test]
        fn render_arbitrary_strings(html in ".{0,300}") {
            let x = r(&html);
            proptest::prop_assert!(x.text.len() <= 3 * html.len() + 16);
        }
    }
}
