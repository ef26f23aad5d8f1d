//! STUB — to be written (helper B).

use std::borrow::Cow;

use crate::defect::Defects;

/// One parameter of a structured header field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Param<'a> {
    /// The name as written (compare case-insensitively).
    pub name: &'a [u8],
    /// The value: unquoted, RFC 2231 continuations joined and %-decoded.
    pub value: Cow<'a, [u8]>,
    /// The RFC 2231 charset, when given.
    pub charset: Option<Cow<'a, [u8]>>,
    /// The RFC 2231 language, when given.
    pub language: Option<Cow<'a, [u8]>>,
    /// True when the value came from the RFC 2231 `name*` form.
    pub extended: bool,
}

/// A parsed `value; name=value; …` field such as Content-Type.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params<'a> {
    /// The main value before the first `;`, comments removed, trimmed.
    pub value: &'a [u8],
    /// The parameters in order.
    pub params: Vec<Param<'a>>,
    /// What was odd.
    pub defects: Defects,
}

impl<'a> Params<'a> {
    /// The parameter `name` (case-insensitive); the RFC 2231 form wins.
    pub fn get(&self, name: &str) -> Option<&Param<'a>> {
        self.params.iter().find(|p| p.name.eq_ignore_ascii_case(name.as_bytes()))
    }
    /// Every parameter called `name`, in order.
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Param<'a>> + 's {
        self.params.iter().filter(move |p| p.name.eq_ignore_ascii_case(name.as_bytes()))
    }
    /// The value of `name` as UTF-8 text.
    pub fn text(&self, name: &str) -> Option<Cow<'a, str>> {
        self.get(name).map(|p| Cow::Owned(String::from_utf8_lossy(&p.value).into_owned()))
    }
}

/// Parses a raw field value (it may still contain folding).
pub fn parse(value: &[u8]) -> Params<'_> {
    let mut it = value.splitn(2, |&b| b == b';');
    Params { value: it.next().unwrap_or(b"").trim_ascii(), params: Vec::new(), defects: Defects::empty() }
}
