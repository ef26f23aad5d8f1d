//! SpamAssassin's HTMLEval tests, over per-part HTML statistics.
//!
//! SpamAssassin keeps one result set per text/html part and a test hits
//! when any part satisfies it. The renderer ([`crate::spam::html`]) already
//! counts, for each part, what `Mail::SpamAssassin::HTML` counts while it
//! builds the `body` text, and [`Features`] keeps those facts part by part
//! ([`HtmlFacts::per_part`]), so these tests read them there: tags and
//! known elements (`bad_tag_ratio`, `non_element_ratio`), open minus
//! closed per tag (`html_tag_balance`), end tags with no start
//! (`closed_extra_ratio`), words split by tags (`obfuscation_ratio`),
//! image area against visible characters (`html_image_ratio`), the source
//! length (`html_image_only`, `html_eval('length', …)`), the colour flags
//! of the text-style stack (`font_low_contrast`, `font_invalid_color`), and
//! the title, comment, anchor and script texts for `html_text_match`.
//!
//! ```
//! use filter::mime::Message;
//! use filter::spam::Features;
//! use filter::spam::evals::{Args, EvalCtx, lookup};
//!
//! let raw = b"Subject: x\r\nContent-Type: text/html\r\n\r\n<html><body>V<b></b>iagra</body></html>\r\n";
//! let msg = Message::parse(raw);
//! let mut features = Features::default();
//! features.build(&msg, &filter::Limits::default());
//! let ctx = EvalCtx::new(&msg, &features);
//! let range = lookup("html_range").unwrap();
//! assert!(range(&ctx, &Args::new(vec!["obfuscation_ratio".into(), ".1".into(), ".3".into()])));
//! ```
//!
//! [`Features`]: crate::spam::Features
//! [`HtmlFacts::per_part`]: crate::spam::features::HtmlFacts::per_part

use super::header::arg_f;
use super::{Args, EvalCtx};
use crate::spam::html::HtmlPart;

/// A numeric result of one part by SpamAssassin's name, when it is
/// defined (the ratios only once their counts are).
fn value(h: &HtmlPart, name: &str) -> Option<f64> {
    let flag = |b: bool| b.then_some(1.0);
    match name {
        "length" => Some(h.length as f64),
        "image_area" => Some(h.image_area as f64),
        "max_size" => Some(h.max_size as f64),
        "min_size" => Some(h.min_size as f64),
        "non_space_len" => Some(h.non_space_len as f64),
        "closed_extra_ratio" => h.closed_extra_ratio,
        "bad_tag_ratio" => h.bad_tag_ratio,
        "non_element_ratio" => h.non_element_ratio,
        "obfuscation_ratio" => h.obfuscation_ratio,
        "backhair_count" => h.backhair_count.map(f64::from),
        "html" => Some(1.0),
        "embeds" => flag(h.embeds),
        "form_action_mailto" => flag(h.form_action_mailto),
        "font_face_bad" => flag(h.font_face_bad),
        "font_low_contrast" => flag(h.font_low_contrast),
        "font_invalid_color" => flag(h.font_invalid_color),
        _ => None,
    }
}

/// The texts `html_text_match` can ask about.
fn texts<'h>(h: &'h HtmlPart, name: &str) -> &'h [String] {
    match name {
        "title" => &h.title,
        "comment" => &h.comment,
        "anchor" => &h.anchor,
        "script" => &h.script,
        _ => &[],
    }
}

/// The statistics of the message's text/html parts, as the renderer kept
/// them.
fn stats<'c>(ctx: &'c EvalCtx<'_, '_>) -> impl Iterator<Item = &'c HtmlPart> {
    ctx.features.html.per_part.iter().map(|p| &p.facts)
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
        .filter_map(|h| h.open_count(&tag))
        .any(|v| compare(v as f64, expr))
}

/// `html_image_only(MIN, MAX)`: an HTML part with an image and MIN < length
/// <= MAX characters of source.
pub fn html_image_only(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(min), Some(max)) = (arg_f(args, 0), arg_f(args, 1)) else {
        return false;
    };
    stats(ctx).any(|h| {
        h.open_count("img").is_some() && (h.length as f64) > min && (h.length as f64) <= max
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
    stats(ctx).any(|h| h.open_count(&tag).is_some())
}

/// `html_test(TEST)`: a flag of some HTML part: `html` (there is one),
/// `embeds` (object/embed), `form_action_mailto`, `font_face_bad`,
/// `font_low_contrast` (text in nearly its background colour),
/// `font_invalid_color` (a colour SpamAssassin cannot parse).
pub fn html_test(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let Some(test) = args.first() else {
        return false;
    };
    stats(ctx).any(|h| value(h, test).is_some_and(|v| v != 0.0))
}

/// `html_eval(TEST, EXPR)`: a numeric result of some HTML part satisfies
/// EXPR (`html_eval('length', '< 384')`).
pub fn html_eval(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(test), Some(expr)) = (args.first(), args.get(1)) else {
        return false;
    };
    stats(ctx)
        .filter_map(|h| value(h, test))
        .any(|v| compare(v, expr))
}

/// `html_text_match(WHAT, REGEX)`: some title, comment, anchor or script
/// text of an HTML part matches REGEX.
pub fn html_text_match(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let (Some(what), Some(re)) = (args.first(), args.regex(1)) else {
        return false;
    };
    stats(ctx).any(|h| {
        texts(h, what)
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
        texts(h, what)
            .iter()
            .any(|s| !re.is_match(s).unwrap_or(true))
    })
}

/// The host of `scheme://HOST` at the start of a link (http or https),
/// or, with `https_only`, of the first `https://HOST` in a link's text,
/// ending at white space too; schemes in any case.
fn host_after(s: &str, https_only: bool) -> Option<&str> {
    let b = s.as_bytes();
    let starts = |at: usize, p: &[u8]| {
        b.get(at..at + p.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(p))
    };
    let rest = if https_only {
        let at = (0..b.len()).find(|&i| starts(i, b"https://"))?;
        &s[at + 8..]
    } else if starts(0, b"https://") {
        &s[8..]
    } else if starts(0, b"http://") {
        &s[7..]
    } else {
        return None;
    };
    let stop = |c: char| matches!(c, '/' | ':' | '?' | '#') || (https_only && c.is_whitespace());
    let host = &rest[..rest.find(stop).unwrap_or(rest.len())];
    (!host.is_empty()).then_some(host)
}

/// `check_https_http_mismatch([MIN[, MAX]])`: in some HTML part, a link
/// to an `http(s)://` host shows text that names another `https://`
/// domain (registered domains compared; addresses and names under unknown
/// top-level domains left out), and the part has at least MIN (default
/// 1) and fewer than MAX such links with text, counted once per address.
pub fn check_https_http_mismatch(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let min = arg_f(args, 0).filter(|&m| m != 0.0).unwrap_or(1.0);
    let max = arg_f(args, 1);
    let registry = &ctx.cfg.registry;
    let is_ip = |h: &str| h.parse::<std::net::IpAddr>().is_ok();
    stats(ctx).any(|h| {
        // The texts of each address, in the order the addresses came (a
        // part may hold a hundred thousand links: no search per link).
        let mut links: Vec<(&str, Vec<&str>)> = Vec::new();
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (href, text) in &h.anchors {
            let k = *index.entry(href.as_str()).or_insert_with(|| {
                links.push((href, Vec::new()));
                links.len() - 1
            });
            links[k].1.push(text);
        }
        let (mut hit, mut anchors) = (false, 0.0);
        for (href, texts) in &links {
            let Some(host) = host_after(href, false) else {
                continue;
            };
            if is_ip(host) {
                continue;
            }
            let domain = registry.trim_domain(host);
            if !crate::spam::uri::is_domain_valid(&domain) {
                continue;
            }
            anchors += 1.0;
            hit = hit
                || texts.iter().any(|t| {
                    let Some(shown) = host_after(t, true) else {
                        return false;
                    };
                    let shown = if is_ip(shown) {
                        shown.to_string()
                    } else {
                        let d = registry.trim_domain(shown);
                        if !crate::spam::uri::is_domain_valid(&d) {
                            return false;
                        }
                        d
                    };
                    shown != domain
                });
        }
        hit && anchors >= min && max.is_none_or(|m| anchors < m)
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
    stats(ctx)
        .filter_map(|h| value(h, test))
        .any(|v| match max {
            None => v > min,
            Some(max) => v > min && v <= max,
        })
}

/// `check_uri_truncated()`: a link longer than SpamAssassin's 8,192
/// characters was cut, in an HTML attribute or once canonicalized
/// (URIEval).
pub fn check_uri_truncated(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    ctx.features.uri_truncated
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mime::Message;
    use crate::spam::Features;

    /// Whether eval `name` with `args` hits on a message with one
    /// text/html part holding `html`.
    fn hits(html: &str, name: &str, args: &[&str]) -> bool {
        let raw = format!("Subject: s\r\nContent-Type: text/html\r\n\r\n{html}\r\n");
        let msg = Message::parse(raw.as_bytes());
        let mut features = Features::default();
        features.build(&msg, &crate::Limits::default());
        let ctx = EvalCtx::new(&msg, &features);
        let args = Args::new(args.iter().map(|a| a.to_string()).collect());
        super::super::lookup(name).expect("known eval")(&ctx, &args)
    }

    #[test]
    fn evals_read_the_rendered_parts() {
        let doc = "<html><head><title>T</title></head><body>V<b></b>iagra<foo></foo></p>\
                   <img src=x width=10 height=20><!-- c --></body></html>";
        assert!(hits(doc, "html_range", &["obfuscation_ratio", "0", "1"]));
        assert!(hits(doc, "html_range", &["closed_extra_ratio", "0", "1"]));
        assert!(hits(doc, "html_eval", &["image_area", "== 200"]));
        assert!(hits(doc, "html_tag_exists", &["IMG"]));
        assert!(!hits(doc, "html_tag_exists", &["table"]));
        assert!(hits(doc, "html_tag_balance", &["html", "== 0"]));
        assert!(hits(doc, "html_text_match", &["comment", "c"]));
        assert!(hits(doc, "html_text_match", &["title", "^T$"]));
        assert!(hits(doc, "html_test", &["html"]));
        assert!(!hits(doc, "html_test", &["embeds"]));
        // The renderer's text-style stack: white on white is low contrast.
        let hidden = "<html><body>seen<font color=white>hidden text</font></body></html>";
        assert!(hits(hidden, "html_test", &["font_low_contrast"]));
        assert!(!hits(doc, "html_test", &["font_low_contrast"]));
        // No HTML part: nothing to satisfy.
        let msg = Message::parse(b"Subject: s\r\n\r\nplain\r\n");
        let features = Features::default();
        let ctx = EvalCtx::new(&msg, &features);
        assert!(!html_test(&ctx, &Args::new(vec!["html".into()])));
    }

    #[test]
    fn compare_reads_only_operators_and_numbers() {
        assert!(compare(1.0, "!= 0") && compare(300.0, "< 384") && !compare(1.0, "; drop"));
    }
}
