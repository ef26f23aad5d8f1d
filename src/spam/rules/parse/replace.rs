//! The ReplaceTags plugin: `<TAG>` placeholders in the patterns of the rules
//! named by `replace_rules`, substituted once every file has been read.
//!
//! Per rule, up to six passes: each pass takes out the first `<pre NAME>`,
//! `<post NAME>` and `<inter NAME>` markers (start and end strings as set by
//! `replace_start`/`replace_end`), cuts the pattern into pieces at every
//! `<...>` (always angle brackets, as the plugin does), puts the `pre` text
//! before and the `post` text after the tag in each tag piece, fills the empty
//! pieces between two adjacent tags with the `inter` text, and replaces each
//! defined tag by its `replace_tag` value. Another pass follows while a
//! replacement brought in a new `<...>`. Undefined tags stay as written.

use std::collections::HashMap;

/// The plugin's settings.
#[derive(Clone, Debug)]
pub(super) struct ReplaceTags {
    pub tags: HashMap<String, String>,
    pub pre: HashMap<String, String>,
    pub post: HashMap<String, String>,
    pub inter: HashMap<String, String>,
    /// Rule names, in first-mention order.
    pub rules: Vec<String>,
    pub start: String,
    pub end: String,
}

impl Default for ReplaceTags {
    fn default() -> Self {
        ReplaceTags {
            tags: HashMap::new(),
            pre: HashMap::new(),
            post: HashMap::new(),
            inter: HashMap::new(),
            rules: Vec::new(),
            start: "<".into(),
            end: ">".into(),
        }
    }
}

impl ReplaceTags {
    /// Takes out the first `START` `kind` ` ` NAME `END` marker.
    fn take_marker(&self, re: &mut String, kind: &str) -> Option<String> {
        let open = format!("{}{} ", self.start, kind);
        let at = re.find(&open)?;
        let name_start = at + open.len();
        // `(.+?)END`: at least one character, up to the first END after it.
        let first = re[name_start..].chars().next()?;
        let search_from = name_start + first.len_utf8();
        let rel = re[search_from..].find(&self.end)?;
        let name = re[name_start..search_from + rel].to_string();
        re.replace_range(at..search_from + rel + self.end.len(), "");
        Some(name)
    }

    /// `START(.+?)END` in `piece`: the range of the whole tag and its name.
    fn find_tag(&self, piece: &str) -> Option<(std::ops::Range<usize>, String)> {
        let at = piece.find(&self.start)?;
        let name_start = at + self.start.len();
        let first = piece[name_start..].chars().next()?;
        let from = name_start + first.len_utf8();
        let rel = piece[from..].find(&self.end)?;
        Some((
            at..from + rel + self.end.len(),
            piece[name_start..from + rel].to_string(),
        ))
    }

    /// The pattern with its tags replaced.
    pub(super) fn apply(&self, pattern: &str) -> String {
        let mut re = pattern.to_string();
        let mut passes = 0;
        loop {
            let pre = self.take_marker(&mut re, "pre");
            let post = self.take_marker(&mut re, "post");
            let inter = self.take_marker(&mut re, "inter");
            let mut pieces = split_tags(&re);
            if let Some(pre) = pre.and_then(|n| self.pre.get(&n)).filter(|v| !v.is_empty()) {
                for p in &mut pieces {
                    if let Some((r, _)) = self.find_tag(p) {
                        p.insert_str(r.start, pre);
                    }
                }
            }
            if let Some(post) = post
                .and_then(|n| self.post.get(&n))
                .filter(|v| !v.is_empty())
            {
                for p in &mut pieces {
                    let mut out = String::new();
                    let mut rest = p.as_str();
                    while let Some((r, _)) = self.find_tag(rest) {
                        out.push_str(&rest[..r.end]);
                        out.push_str(post);
                        rest = &rest[r.end..];
                    }
                    out.push_str(rest);
                    *p = out;
                }
            }
            if let Some(inter) = inter
                .and_then(|n| self.inter.get(&n))
                .filter(|v| !v.is_empty())
            {
                // Empty pieces lie between adjacent tags (the real pattern
                // string starts with `(?aa)`, so never at the very start).
                for (i, p) in pieces.iter_mut().enumerate() {
                    if p.is_empty() && i > 0 {
                        *p = inter.clone();
                    }
                }
            }
            let mut again = false;
            for p in &mut pieces {
                let Some((_, name)) = self.find_tag(p) else {
                    continue;
                };
                let Some(value) = self.tags.get(&name).filter(|v| !v.is_empty()) else {
                    continue;
                };
                let tag = format!("{}{}{}", self.start, name, self.end);
                *p = p.replace(&tag, value);
                if has_angle_tag(value) {
                    again = true;
                }
            }
            re = pieces.concat();
            passes += 1;
            if !again || passes > 5 {
                break;
            }
        }
        re
    }
}

/// Perl's `split(/(<[^<>]+>)/, $re)`: text and tags alternating, trailing
/// empty pieces dropped.
fn split_tags(re: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut last = 0;
    let b = re.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'<' {
            let close = b[i + 1..].iter().position(|c| *c == b'<' || *c == b'>');
            if let Some(off) = close {
                let j = i + 1 + off;
                if b[j] == b'>' && off > 0 {
                    out.push(re[last..i].to_string());
                    out.push(re[i..=j].to_string());
                    last = j + 1;
                    i = j + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.push(re[last..].to_string());
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// `/<[^>]+>/`.
fn has_angle_tag(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, c)| {
        *c == b'<'
            && b[i + 1..]
                .iter()
                .position(|c| *c == b'>')
                .is_some_and(|off| off > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> ReplaceTags {
        let mut r = ReplaceTags::default();
        r.tags.insert("A".into(), "[a@]".into());
        r.tags.insert("B".into(), "[b8]".into());
        r.tags.insert("AB".into(), "<A><B>".into());
        r.inter.insert("W".into(), "\\W?".into());
        r.pre.insert("P".into(), "\\b".into());
        r.post.insert("Q".into(), "+".into());
        r
    }

    #[test]
    fn replaces() {
        let r = rt();
        assert_eq!(r.apply("x<A>y"), "x[a@]y");
        assert_eq!(r.apply("<inter W>x<A><B>"), "x[a@]\\W?[b8]");
        assert_eq!(r.apply("<pre P>x<A>y<B>"), "x\\b[a@]y\\b[b8]");
        assert_eq!(r.apply("<post Q>x<A>y"), "x[a@]+y");
        assert_eq!(r.apply("x<AB>"), "x[a@][b8]");
        assert_eq!(r.apply("x<C>{1,3}"), "x<C>{1,3}");
        assert_eq!(r.apply("(?<n>x)"), "(?<n>x)");
    }
}
