//! SpamAssassin's HTMLEval tests, over per-part HTML statistics.
//!
//! SpamAssassin keeps one result set per text/html part and a test hits
//! when any part satisfies it, so the statistics here are gathered per
//! part by a small tokenizer of their own (the message-wide
//! [`crate::spam::features::HtmlFacts`] cannot answer "in one part"). It
//! counts what `Mail::SpamAssassin::HTML` counts: tags and known elements
//! (for `bad_tag_ratio`, `non_element_ratio`), open minus closed per tag
//! (`inside`, for `html_tag_balance`), end tags with no start
//! (`closed_extra_ratio`), words split by tags (`obfuscation_ratio`),
//! image area against visible characters (`html_image_ratio`), the raw
//! length (`html_image_only`, `html_eval('length', …)`), and the title,
//! comment, anchor and script texts for `html_text_match`.
//!
//! ```
//! use filter::mime::Message;
//! use filter::spam::Features;
//! use filter::spam::evals::{Args, EvalCtx, lookup};
//!
//! let raw = b"Subject: x\r\nContent-Type: text/html\r\n\r\n<html><body>V<b></b>iagra</body></html>\r\n";
//! let msg = Message::parse(raw);
//! let features = Features::default();
//! let ctx = EvalCtx::new(&msg, &features);
//! let range = lookup("html_range").unwrap();
//! assert!(range(&ctx, &Args::new(vec!["obfuscation_ratio".into(), ".1".into(), ".3".into()])));
//! ```

use std::collections::HashMap;

use super::header::arg_f;
use super::{Args, EvalCtx};
use crate::decode::charset;
use crate::mime::{Decoder, Message, Origin, PartKind};
use crate::spam::html::{is_element, is_trick};

/// What SpamAssassin's HTML parser reports for one text/html part.
#[derive(Debug, Default, Clone)]
pub(crate) struct HtmlStat {
    /// Characters of HTML source.
    pub length: usize,
    pub tags: u32,
    pub elements: u32,
    pub tags_seen: u32,
    pub elements_seen: u32,
    pub closed_extra: u32,
    pub obfuscation: u32,
    /// Open minus closed, per tag (never below 0).
    pub inside: HashMap<String, i64>,
    pub image_area: u64,
    pub non_space_len: usize,
    pub max_size: i64,
    pub title: Vec<String>,
    pub comment: Vec<String>,
    pub anchor: Vec<String>,
    pub script: Vec<String>,
    pub embeds: bool,
    pub form_action_mailto: bool,
    pub font_face_bad: bool,
    /// The rendered text.
    pub rendered: String,
}

impl HtmlStat {
    /// A numeric result by SpamAssassin's name, when it is defined.
    fn value(&self, name: &str) -> Option<f64> {
        let tags = f64::from(self.tags);
        Some(match name {
            "length" => self.length as f64,
            "image_area" => self.image_area as f64,
            "max_size" => self.max_size as f64,
            "non_space_len" => self.non_space_len as f64,
            "closed_extra_ratio" if self.tags > 0 => f64::from(self.closed_extra) / tags,
            "bad_tag_ratio" if self.tags > 0 => f64::from(self.tags - self.elements) / tags,
            "non_element_ratio" if self.tags_seen > 0 => {
                f64::from(self.tags_seen - self.elements_seen) / f64::from(self.tags_seen)
            }
            "obfuscation_ratio" if self.tags > 0 && self.obfuscation > 0 => {
                f64::from(self.obfuscation) / tags
            }
            "html" => 1.0,
            "embeds" if self.embeds => 1.0,
            "form_action_mailto" if self.form_action_mailto => 1.0,
            "font_face_bad" if self.font_face_bad => 1.0,
            _ => return None,
        })
    }

    fn texts(&self, name: &str) -> &[String] {
        match name {
            "title" => &self.title,
            "comment" => &self.comment,
            "anchor" => &self.anchor,
            "script" => &self.script,
            _ => &[],
        }
    }
}

/// Decodes the common character references in text.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '#'))
            .map_or(rest.len(), |e| e + 1);
        let ent = &rest[1..end];
        let c = match ent {
            "nbsp" => Some('\u{a0}'),
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => ent
                .strip_prefix("#x")
                .or_else(|| ent.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| ent.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) if end > 1 => {
                out.push(c);
                rest = &rest[end..];
                if rest.starts_with(';') {
                    rest = &rest[1..];
                }
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Attributes of a start tag, names lower case, values entity-decoded.
fn attrs(s: &str) -> HashMap<String, String> {
    let mut m = HashMap::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_ascii_whitespace() || b[i] == b'/') {
            i += 1;
        }
        let ns = i;
        while i < b.len() && !b[i].is_ascii_whitespace() && b[i] != b'=' && b[i] != b'/' {
            i += 1;
        }
        if ns == i {
            i += 1;
            continue;
        }
        let name = s[ns..i].to_ascii_lowercase();
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut val = String::new();
        if i < b.len() && b[i] == b'=' {
            i += 1;
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == b'"' || b[i] == b'\'') {
                let q = b[i];
                let vs = i + 1;
                i = vs;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                val = s[vs..i].to_string();
                i += 1;
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_ascii_whitespace() {
                    i += 1;
                }
                val = s[vs..i].to_string();
            }
        }
        m.entry(name).or_insert_with(|| decode_entities(&val));
    }
    m
}

fn is_word_char(c: char) -> bool {
    // Not whitespace, not ASCII punctuation.
    !(c.is_whitespace() || c.is_ascii_punctuation())
}

/// The elements the parser asks about at every tag or text: first those
/// whose content HTML::Parser reads as literal text (only the matching end
/// tag counts inside them), in the order checked, then `a`. Their open
/// counts are kept beside the map (`Parser::open`), so that a tag costs
/// one map lookup rather than a dozen hashed strings.
const TRACKED: [&str; 8] = [
    "script",
    "style",
    "iframe",
    "title",
    "textarea",
    "xmp",
    "plaintext",
    "a",
];
const SCRIPT: usize = 0;
const STYLE: usize = 1;
const TITLE: usize = 3;
const ANCHOR: usize = 7;

struct Parser {
    st: HtmlStat,
    /// Rendered text chunks, and whether each was inserted whitespace.
    chunks: Vec<(String, bool)>,
    /// `st.inside` of each [`TRACKED`] element.
    open: [i64; TRACKED.len()],
}

impl Parser {
    fn tag(&mut self, name: &str, attr: &str, num: i64) {
        let namespace = {
            let n = name.trim_end_matches('/');
            (n.starts_with("o:")
                || (n.starts_with("st") && n[2..].starts_with(|c: char| c.is_ascii_digit())))
                && n.contains(':')
        };
        let known = is_element(name);
        let (seen, v) = match self.st.inside.get_mut(name) {
            Some(v) => (true, v),
            None => (false, self.st.inside.entry(name.to_string()).or_insert(0)),
        };
        *v += num;
        let closed_extra = *v < 0;
        if closed_extra {
            *v = 0;
        }
        let v = *v;
        if let Some(k) = TRACKED.iter().position(|t| *t == name) {
            self.open[k] = v;
        }
        self.st.closed_extra += u32::from(closed_extra);
        if known || namespace {
            self.st.elements += 1;
            if !seen {
                self.st.elements_seen += 1;
            }
        }
        self.st.tags += 1;
        if !seen {
            self.st.tags_seen += 1;
        }
        if namespace || !(known || is_trick(name)) {
            return;
        }
        if num == 1 {
            // Only these read attributes.
            let a = if matches!(name, "font" | "img" | "form") {
                attrs(attr)
            } else {
                HashMap::new()
            };
            if name == "font"
                && let Some(sz) = a.get("size")
            {
                let t = sz.trim();
                let digits: String = t
                    .trim_start_matches(['+', '-'])
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .take(6)
                    .collect();
                if let Ok(n) = digits.parse::<i64>() {
                    let size = if t.starts_with('+') {
                        3 + n
                    } else if t.starts_with('-') {
                        3 - n
                    } else {
                        n
                    };
                    self.st.max_size = self.st.max_size.max(size);
                }
            }
            if name == "img"
                && self.open[ANCHOR] > 0
                && let Some(last) = self.st.anchor.last_mut()
            {
                last.push_str("<img>\n");
            }
            if name == "img"
                && let (Some(w), Some(h)) = (a.get("width"), a.get("height"))
            {
                let dim = |v: &str, mult: u64| -> u64 {
                    let d: String = v.chars().take_while(char::is_ascii_digit).take(9).collect();
                    let rest = &v[d.len()..];
                    if d.is_empty() || !(rest.is_empty() || rest == "%") {
                        return 0;
                    }
                    let n: u64 = d.parse().unwrap_or(0);
                    if rest == "%" { n * mult } else { n }
                };
                let mut wd = dim(w, 8);
                let mut ht = dim(h, 6);
                if wd == 0 {
                    wd = 200;
                }
                if ht == 0 {
                    ht = 200;
                }
                self.st.image_area = self.st.image_area.saturating_add(wd * ht);
            }
            if name == "form"
                && a.get("action")
                    .is_some_and(|v| v.to_ascii_lowercase().contains("mailto:"))
            {
                self.st.form_action_mailto = true;
            }
            if name == "font"
                && let Some(face) = a.get("face")
                && !face_ok(face)
            {
                self.st.font_face_bad = true;
            }
            if name == "object" || name == "embed" {
                self.st.embeds = true;
            }
            if name == "a" {
                self.st.anchor.push(String::new());
            }
            if name == "title" {
                self.st.title.push(String::new());
            }
        }
        let ws = match name {
            "br" | "div" => Some("\n"),
            "li" | "th" | "td" | "dt" | "dd" | "embed" | "h1" | "h2" | "h3" | "h4" | "h5"
            | "h6" => Some(" "),
            "p" | "hr" | "blockquote" | "pre" | "listing" | "plaintext" | "xmp" | "title" => {
                Some("\n\n")
            }
            _ => None,
        };
        if let Some(ws) = ws {
            if let Some((last, false)) = self.chunks.last_mut()
                && last.ends_with(' ')
            {
                last.pop();
            }
            self.chunks.push((ws.to_string(), true));
        }
    }

    fn text(&mut self, raw: &str) {
        let text = decode_entities(raw);
        if self.open[SCRIPT] > 0 {
            self.st.script.push(text);
            return;
        }
        if self.open[STYLE] > 0 {
            return;
        }
        if self.open[ANCHOR] > 0
            && let Some(last) = self.st.anchor.last_mut()
        {
            last.push_str(&text);
        }
        if self.open[TITLE] > 0
            && let Some(last) = self.st.title.last_mut()
        {
            last.push_str(&text);
        }
        if let Some((prev, _)) = self.chunks.last()
            && text.chars().next().is_some_and(is_word_char)
            && prev.chars().last().is_some_and(is_word_char)
        {
            self.st.obfuscation += 1;
        }
        // Whitespace runs become one space; a leading space goes after
        // inserted whitespace.
        let mut norm = String::with_capacity(text.len());
        let mut ws = false;
        for c in text.chars() {
            if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c' | '\x0b' | '\u{a0}') {
                if !ws {
                    norm.push(' ');
                }
                ws = true;
            } else {
                norm.push(c);
                ws = false;
            }
        }
        if self.chunks.last().is_some_and(|(_, w)| *w) && norm.starts_with(' ') {
            norm.remove(0);
        }
        self.chunks.push((norm, false));
    }
}

/// A font face list of plain names (`Arial, "Times New Roman"`).
fn face_ok(face: &str) -> bool {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"(?i)^\s*["'.]?[a-z ][a-z -]*[a-z]\d?["']?(?:,\s*["']?[a-z][a-z -]*[a-z]\d?["']?)*;?$"#,
        )
        .expect("static regex")
    });
    RE.is_match(face)
}

/// Parses one HTML document.
pub(crate) fn parse_html(html: &str) -> HtmlStat {
    let mut p = Parser {
        st: HtmlStat {
            length: html.chars().count(),
            max_size: 3,
            ..Default::default()
        },
        chunks: Vec::new(),
        open: [0; TRACKED.len()],
    };
    let html = html.replace("&nbsp;", " ");
    let lower = html.to_ascii_lowercase();
    let b = html.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let next = b.get(i + 1).copied().unwrap_or(0);
        let is_tag = next.is_ascii_alphabetic() || next == b'/' || next == b'!' || next == b'?';
        if !is_tag {
            i += 1;
            continue;
        }
        // Inside the elements HTML::Parser reads as literal text (script,
        // style, iframe, title, textarea, xmp, plaintext), only the
        // matching end tag counts.
        let raw_mode = TRACKED[..ANCHOR].iter().zip(p.open).find(|&(_, n)| n > 0);
        if let Some((t, _)) = raw_mode
            && !(lower[i..].starts_with("</") && lower[i + 2..].starts_with(t))
        {
            i += 1;
            continue;
        }
        if text_start < i {
            p.text(&html[text_start..i]);
        }
        if lower[i..].starts_with("<!--") {
            let end = lower[i + 4..]
                .find("-->")
                .map_or(b.len(), |e| i + 4 + e + 3);
            p.st.comment.push(html[i..end].to_string());
            i = end;
        } else if next == b'!' {
            let end = html[i..].find('>').map_or(b.len(), |e| i + e + 1);
            if lower[i..].starts_with("<!doctype") {
                p.st.elements += 1;
                p.st.tags += 1;
                p.st.inside.insert("!doctype".into(), 0);
            } else {
                p.st.comment.push(html[i..end].to_string());
            }
            i = end;
        } else if next == b'?' {
            i = html[i..].find('>').map_or(b.len(), |e| i + e + 1);
        } else {
            let end = find_tag_end(b, i);
            // Without its `>` (an unterminated tag runs to the end).
            let inner_end = if b.get(end.wrapping_sub(1)) == Some(&b'>') && end > i + 1 {
                end - 1
            } else {
                end
            };
            let inner = &html[i + 1..inner_end];
            let (num, inner) = match inner.strip_prefix('/') {
                Some(r) => (-1, r),
                None => (1, inner),
            };
            let name_len = inner
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .unwrap_or(inner.len());
            let name = inner[..name_len].to_ascii_lowercase();
            if !name.is_empty() {
                p.tag(&name, &inner[name_len..], num);
            }
            i = end;
        }
        text_start = i;
    }
    if text_start < b.len() {
        p.text(&html[text_start..]);
    }
    p.st.rendered = p.chunks.iter().map(|(s, _)| s.as_str()).collect();
    p.st.non_space_len = p.st.rendered.chars().filter(|c| !c.is_whitespace()).count();
    p.st
}

/// The end of the tag starting at `i`: after the `>` that is not inside a
/// quoted attribute value.
fn find_tag_end(b: &[u8], i: usize) -> usize {
    let mut q = 0u8;
    let mut j = i + 1;
    while j < b.len() {
        let c = b[j];
        if q != 0 {
            if c == q {
                q = 0;
            }
        } else if c == b'"' || c == b'\'' {
            // Quotes only count right after `=`.
            if b[..j].trim_ascii_end().ends_with(b"=") {
                q = c;
            }
        } else if c == b'>' {
            return j + 1;
        }
        j += 1;
    }
    b.len()
}

/// The statistics of one text/html part.
#[derive(Debug)]
pub(crate) struct PartHtml {
    /// The part's index in the message's walk.
    pub index: usize,
    pub stat: HtmlStat,
}

/// Statistics of every text/html part SpamAssassin would render; the
/// context keeps them (see [`EvalCtx`]), so each part is parsed once per
/// message.
pub(crate) fn html_parts(msg: &Message<'_>, limits: &crate::Limits) -> Vec<PartHtml> {
    let mut dec = Decoder::new(limits);
    let mut buf = Vec::new();
    msg.walk()
        .filter(|(_, p)| {
            !p.alternate
                && p.origin == Origin::Mime
                && p.kind == PartKind::Leaf
                && p.is("text", "html")
        })
        .map(|(index, p)| {
            dec.decode(msg, p, &mut buf);
            let text = charset::decode_to_utf8(&buf, p.charset.as_deref()).0;
            PartHtml {
                index,
                stat: parse_html(&text),
            }
        })
        .collect()
}

/// The statistics of the message's HTML parts, from the context's memo.
fn stats<'c>(ctx: &'c EvalCtx<'_, '_>) -> impl Iterator<Item = &'c HtmlStat> {
    ctx.html().iter().map(|p| &p.stat)
}

/// Compares `val` with an expression such as `< 384`, `!= 0`, `== 1`.
fn compare(val: f64, expr: &str) -> bool {
    if !expr.bytes().all(|b| b"<>=!-+ 0123456789".contains(&b)) {
        return false;
    }
    let e = expr.trim();
    let (op, rest) = ["<=", ">=", "==", "!=", "<", ">"]
        .iter()
        .find_map(|op| e.strip_prefix(op).map(|r| (*op, r)))
        .unwrap_or(("", e));
    let Ok(n) = rest.replace(' ', "").parse::<f64>() else {
        return false;
    };
    match op {
        "<=" => val <= n,
        ">=" => val >= n,
        "==" => val == n,
        "!=" => val != n,
        "<" => val < n,
        ">" => val > n,
        _ => false,
    }
}

/// `html_tag_balance(TAG, EXPR)`: in some HTML part, opens minus closes
/// of TAG satisfy EXPR (`!= 0`, `> 0`, ...).
pub fn html_tag_balance(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(tag), Some(expr)) = (args.first(), args.get(1)) else {
        return false;
    };
    if tag.is_empty() || !tag.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let tag = tag.to_ascii_lowercase();
    stats(ctx)
        .filter_map(|h| h.inside.get(&tag))
        .any(|&v| compare(v as f64, expr))
}

/// `html_image_only(MIN, MAX)`: an HTML part with an image and MIN < length
/// <= MAX characters of source.
pub fn html_image_only(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(min), Some(max)) = (arg_f(args, 0), arg_f(args, 1)) else {
        return false;
    };
    stats(ctx).any(|h| {
        h.inside.contains_key("img") && (h.length as f64) > min && (h.length as f64) <= max
    })
}

/// `html_image_ratio(MIN, MAX)`: visible non-space characters per pixel of
/// declared image area is in `(MIN, MAX]`.
pub fn html_image_ratio(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(min), Some(max)) = (arg_f(args, 0), arg_f(args, 1)) else {
        return false;
    };
    stats(ctx).any(|h| {
        h.image_area > 0 && {
            let r = h.non_space_len as f64 / h.image_area as f64;
            r > min && r <= max
        }
    })
}

/// `html_charset_faraway`: false with SpamAssassin's default `ok_locales
/// all`.
pub fn html_charset_faraway(_: &EvalCtx<'_, '_>, _: &Args) -> bool {
    false
}

/// `html_tag_exists(TAG)`: some HTML part has the tag.
pub fn html_tag_exists(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let Some(tag) = args.first() else {
        return false;
    };
    let tag = tag.to_ascii_lowercase();
    stats(ctx).any(|h| h.inside.contains_key(&tag))
}

/// `html_test(TEST)`: a flag of some HTML part: `html` (there is one),
/// `embeds` (object/embed), `form_action_mailto`, `font_face_bad`. The
/// colour flags (`font_low_contrast`, `font_invalid_color`) need
/// SpamAssassin's text-style stack and are not computed: they never hit.
pub fn html_test(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let Some(test) = args.first() else {
        return false;
    };
    stats(ctx).any(|h| h.value(test).is_some_and(|v| v != 0.0))
}

/// `html_eval(TEST, EXPR)`: a numeric result of some HTML part satisfies
/// EXPR (`html_eval('length', '< 384')`).
pub fn html_eval(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(test), Some(expr)) = (args.first(), args.get(1)) else {
        return false;
    };
    stats(ctx)
        .filter_map(|h| h.value(test))
        .any(|v| compare(v, expr))
}

/// `html_text_match(WHAT, REGEX)`: some title, comment, anchor or script
/// text of an HTML part matches REGEX.
pub fn html_text_match(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(what), Some(re)) = (args.first(), args.regex(1)) else {
        return false;
    };
    stats(ctx).any(|h| {
        h.texts(what)
            .iter()
            .any(|s| re.is_match(s).unwrap_or(false))
    })
}

/// `html_text_not_match(WHAT, REGEX)`: some such text does not match.
pub fn html_text_not_match(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(what), Some(re)) = (args.first(), args.regex(1)) else {
        return false;
    };
    stats(ctx).any(|h| {
        h.texts(what)
            .iter()
            .any(|s| !re.is_match(s).unwrap_or(true))
    })
}

/// `html_title_subject_ratio(RATIO)`: a title more than RATIO times as
/// long as the Subject.
pub fn html_title_subject_ratio(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let Some(ratio) = arg_f(args, 0) else {
        return false;
    };
    let subject = ctx.get("Subject");
    if subject.is_empty() {
        return false;
    }
    let sl = subject.chars().count() as f64;
    stats(ctx).any(|h| {
        h.title
            .iter()
            .filter(|t| !t.is_empty() && t.as_str() != "0")
            .map(|t| t.chars().count() as f64 / sl)
            .fold(0.0, f64::max)
            > ratio
    })
}

/// `html_range(TEST, MIN, MAX)`: a numeric result of some HTML part is in
/// `(MIN, MAX]` (`MAX` absent or `inf`: above MIN).
pub fn html_range(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let Some(test) = args.first() else {
        return false;
    };
    let Some(min) = arg_f(args, 1) else {
        return false;
    };
    let max = args
        .get(2)
        .filter(|m| m.trim() != "inf")
        .and_then(|m| m.trim().parse::<f64>().ok());
    stats(ctx).filter_map(|h| h.value(test)).any(|v| match max {
        None => v > min,
        Some(max) => v > min && v <= max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats() {
        let h = parse_html(
            "<html><head><title>T</title></head><body>V<b></b>iagra<foo></foo></p>\
             <img src=x width=10 height=20><!-- c --></body></html>",
        );
        // Unterminated tags and multi-byte text at the end are fine.
        assert_eq!(parse_html("<a href='\u{e9}").tags, 1);
        assert_eq!(parse_html("<b \u{e9}").tags, 1);
        assert_eq!(h.obfuscation, 1);
        assert_eq!(h.closed_extra, 1);
        assert_eq!(h.image_area, 200);
        assert_eq!(h.title, ["T"]);
        assert_eq!(h.comment, ["<!-- c -->"]);
        assert_eq!(h.inside.get("html"), Some(&0));
        assert_eq!(h.tags - h.elements, 2);
        assert!(compare(1.0, "!= 0") && compare(300.0, "< 384") && !compare(1.0, "; drop"));
    }
}
