//! ClamAV body patterns: the hex syntax of `.ndb` bodies and `.ldb`
//! subsignatures, their offsets and modifiers.
//!
//! A ClamAV body is a string of hex bytes (`4d5a`) mixed with a small set of
//! operators: nibble wildcards (`?a`, `a?`, `??`), gaps (`*`, `{n}`, `{-n}`,
//! `{n-}`, `{n-m}`), alternatives (`(aa|bbcc)`, possibly negated as
//! `!(aa|bb)` when every branch has the same length), anchored bytes
//! (`aa[n-m]` / `[n-m]aa`, a single byte at a bounded distance from the
//! body) and the character classes `(B)` (word boundary), `(L)` (line
//! boundary) and `(W)` (one non-alphanumeric byte). Logical subsignatures
//! may add modifiers (`i`, `w`, `f`, `a`).
//!
//! Parsing lowers all of this into a tiny, uniform item language: a
//! pattern is one or more *forms* (two when `::wa` asks for both the ASCII
//! and the wide spelling), each a sequence of [`Item`]s: a run of literal
//! bytes, a byte set (only where a position really is a class, such as
//! `??` or `(aa|bb)`), a gap with bounds, a list of alternatives, or a
//! zero-width assertion. A run of exact bytes is stored once however long
//! it is, so a hundred thousand bodies take a few megabytes rather than a
//! 32-byte set per byte. Anchored bytes become an ordinary bounded gap next
//! to a one-byte item, which is exactly what they mean for the start offset
//! of a match.
//!
//! Because every item is either fixed-width or a gap, the set of start
//! offsets at which a form matches can be computed right to left in one
//! pass per item over the data ([`Pattern::starts_in`]): `reach[i][p]` is
//! "items `i..` match from `p`", a gap becomes a sliding-window query over
//! a prefix count of `reach[i+1]`, so the cost is `O(len × items)` however
//! many candidate positions `*` or `{n-m}` admit. The matcher uses this as
//! its verifier; [`Pattern::naive_starts`] is an independent brute-force
//! reference kept for tests and fuzzing.
//!
//! Semantics notes (checked against clamscan 1.4.3): the character classes
//! depend on where they sit. At the very start or end of a body, `(B)`,
//! `(L)` and `(W)` take no bytes and only check the neighbouring byte (or
//! the file edge, which always counts): for `(B)` and `(W)` that byte must
//! not be alphanumeric (`_` counts as a boundary); a leading `(L)` needs
//! the previous byte to be LF and a trailing one needs the next bytes to
//! be LF or CRLF (a lone CR never counts). A leading class therefore makes
//! the match start on the following byte. In the middle of a body they
//! consume bytes: `(B)` and `(W)` exactly one non-alphanumeric byte (`_`
//! included), `(L)` either `\n` or `\r\n` (lowered to the alternative
//! `(0a|0d0a)`; a lone `\r` does not match).
//! Gaps at the very start or end of a body are refused, as ClamAV does.
//!
//! Known differences from ClamAV: ClamAV refuses bodies with fewer than
//! three static bytes ("too short"); we accept them. ClamAV also refuses a
//! `[n-m]` gap preceded by two bytes; we accept it.

use thiserror::Error;

use super::pe::Layout;

/// Longest body accepted, in characters.
pub const MAX_BODY: usize = 1 << 16;

/// Why a hex body, offset or modifier string was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatternError {
    /// Something outside the supported syntax.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The body is empty.
    #[error("empty body")]
    Empty,
    /// A character that is not part of the hex syntax.
    #[error("unexpected character {0:?} at {1}")]
    Unexpected(char, usize),
    /// A hex byte was cut in half.
    #[error("odd number of hex digits at {0}")]
    OddNibble(usize),
    /// A `{...}` or `[...]` range that does not parse or is reversed.
    #[error("bad range {0:?}")]
    BadRange(String),
    /// An unclosed `(`, `{` or `[`.
    #[error("unclosed {0:?}")]
    Unclosed(char),
    /// A negated alternative whose branches differ in length, or are empty.
    #[error("negated alternatives must be non-empty and of one length")]
    BadNegation,
    /// An empty alternative branch.
    #[error("empty alternative")]
    EmptyAlternative,
    /// A gap at the start or end of the body.
    #[error("body starts or ends with a gap")]
    EdgeGap,
    /// The body has no byte to match.
    #[error("body matches no byte")]
    NoBytes,
    /// The body is too long.
    #[error("body longer than {MAX_BODY} characters")]
    TooLong,
    /// An unknown modifier letter.
    #[error("unknown modifier {0:?}")]
    BadModifier(char),
    /// An offset that does not parse.
    #[error("bad offset {0:?}")]
    BadOffset(String),
}

/// Subsignature modifiers (`::i`, `::w`, `::f`, `::a` in `.ldb` files).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Modifiers {
    /// `i`: ASCII case-insensitive.
    pub nocase: bool,
    /// `w`: wide (UTF-16LE: every byte followed by `00`).
    pub wide: bool,
    /// `f`: whole word: the match is not preceded or followed by `[A-Za-z0-9_]`.
    pub fullword: bool,
    /// `a`: ASCII; with `w`, match both the ASCII and the wide form.
    pub ascii: bool,
}

impl Modifiers {
    /// Parses the letters after `::` (e.g. `"wi"`).
    pub fn parse(s: &str) -> Result<Modifiers, PatternError> {
        let mut m = Modifiers::default();
        for c in s.chars() {
            match c {
                'i' => m.nocase = true,
                'w' => m.wide = true,
                'f' => m.fullword = true,
                'a' => m.ascii = true,
                c => return Err(PatternError::BadModifier(c)),
            }
        }
        Ok(m)
    }
}

/// What an offset is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The start of the file (`n`).
    Start,
    /// The end of the file (`EOF-n`).
    Eof,
    /// The PE/ELF/Mach-O entry point (`EP+n`, `EP-n`).
    EntryPoint,
    /// The start of section `k` (`Sk+n`).
    Section(u16),
    /// The start of the last section (`SL+n`).
    LastSection,
    /// Anywhere inside section `k` (`SEk`).
    SectionEntire(u16),
    /// The version-information resource (`VI`); never resolved here.
    VersionInfo,
}

/// Where a match may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    /// `*`: anywhere.
    Any,
    /// `base+delta[,shift]`: the match starts at `base + delta + k` for some
    /// `0 <= k <= shift`. `delta` may be negative only for `EP` and `EOF`.
    At {
        /// What `delta` is counted from.
        base: Base,
        /// Signed distance from the base.
        delta: i64,
        /// Extra slack (`,maxshift`).
        shift: u64,
    },
}

fn parse_u64(s: &str, whole: &str) -> Result<u64, PatternError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PatternError::BadOffset(whole.to_string()));
    }
    s.parse()
        .ok()
        .filter(|&v: &u64| v <= i64::MAX as u64 / 4)
        .ok_or_else(|| PatternError::BadOffset(whole.to_string()))
}

impl Offset {
    /// Parses `*`, `n`, `n,m`, `EOF-n`, `EP+n`, `EP-n`, `Sx+n`, `SL+n`,
    /// `SEx`, `VI` (each with an optional `,shift`).
    pub fn parse(s: &str) -> Result<Offset, PatternError> {
        let bad = || PatternError::BadOffset(s.to_string());
        if s == "*" {
            return Ok(Offset::Any);
        }
        let (head, shift) = match s.split_once(',') {
            Some((h, sh)) => (h, parse_u64(sh, s)?),
            None => (s, 0),
        };
        let signed = |rest: &str, allow_neg: bool| -> Result<i64, PatternError> {
            if let Some(r) = rest.strip_prefix('+') {
                Ok(parse_u64(r, s)? as i64)
            } else if let Some(r) = rest.strip_prefix('-').filter(|_| allow_neg) {
                Ok(-(parse_u64(r, s)? as i64))
            } else {
                Err(bad())
            }
        };
        let (base, delta) = if let Some(r) = head.strip_prefix("EOF") {
            let d = signed(r, true)?;
            if d > 0 {
                return Err(bad());
            }
            (Base::Eof, d)
        } else if let Some(r) = head.strip_prefix("EP") {
            (Base::EntryPoint, signed(r, true)?)
        } else if head == "VI" {
            (Base::VersionInfo, 0)
        } else if let Some(r) = head.strip_prefix("SL") {
            (Base::LastSection, signed(r, false)?)
        } else if let Some(r) = head.strip_prefix("SE") {
            let k = parse_u64(r, s)?;
            (Base::SectionEntire(u16::try_from(k).map_err(|_| bad())?), 0)
        } else if let Some(r) = head.strip_prefix('S') {
            let split = r.find(['+', '-']).ok_or_else(bad)?;
            let k = parse_u64(&r[..split], s)?;
            (
                Base::Section(u16::try_from(k).map_err(|_| bad())?),
                signed(&r[split..], false)?,
            )
        } else {
            (Base::Start, parse_u64(head, s)? as i64)
        };
        Ok(Offset::At { base, delta, shift })
    }

    /// Whether this offset can be resolved on `layout` (`None` means the
    /// offset needs a layout the file does not have, so it cannot match).
    pub fn needs_layout(&self) -> bool {
        !matches!(
            self,
            Offset::Any
                | Offset::At {
                    base: Base::Start | Base::Eof,
                    ..
                }
        )
    }

    /// The inclusive range of start offsets allowed in a file of `len`
    /// bytes, or `None` when the offset cannot be resolved or lies outside.
    pub fn resolve(&self, len: u64, layout: &Layout) -> Option<(u64, u64)> {
        let (base, delta, shift) = match *self {
            Offset::Any => return Some((0, len)),
            Offset::At { base, delta, shift } => (base, delta, shift),
        };
        let (b, extra): (i128, u64) = match base {
            Base::Start => (0, 0),
            Base::Eof => (len as i128, 0),
            Base::EntryPoint => (layout.entry_point? as i128, 0),
            Base::Section(k) => (layout.sections.get(k as usize)?.raw_offset as i128, 0),
            Base::LastSection => (layout.sections.last()?.raw_offset as i128, 0),
            Base::SectionEntire(k) => {
                let s = layout.sections.get(k as usize)?;
                if s.raw_size == 0 {
                    return None;
                }
                (s.raw_offset as i128, s.raw_size - 1)
            }
            Base::VersionInfo => return None,
        };
        let lo = b + delta as i128;
        let hi = lo + shift as i128 + extra as i128;
        if hi < 0 || lo > len as i128 {
            return None;
        }
        Some((lo.max(0) as u64, hi.min(len as i128) as u64))
    }
}

/// A set of byte values, as a 256-bit mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ByteSet(pub [u64; 4]);

impl ByteSet {
    /// The empty set.
    pub const EMPTY: ByteSet = ByteSet([0; 4]);

    /// Whether `b` is in the set.
    #[inline]
    pub fn contains(&self, b: u8) -> bool {
        self.0[(b >> 6) as usize] >> (b & 63) & 1 != 0
    }

    /// Adds `b`.
    pub fn insert(&mut self, b: u8) {
        self.0[(b >> 6) as usize] |= 1 << (b & 63);
    }

    /// The set of one byte.
    pub fn single(b: u8) -> ByteSet {
        let mut s = ByteSet::EMPTY;
        s.insert(b);
        s
    }

    /// Number of members.
    pub fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The lowest member.
    pub fn first(&self) -> Option<u8> {
        let (i, w) = self.0.iter().enumerate().find(|(_, w)| **w != 0)?;
        Some((i as u32 * 64 + w.trailing_zeros()) as u8)
    }

    fn nocase(mut self) -> ByteSet {
        for b in b'A'..=b'Z' {
            if self.contains(b) || self.contains(b + 32) {
                self.insert(b);
                self.insert(b + 32);
            }
        }
        self
    }
}

/// A zero-width condition on the bytes around a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assertion {
    /// `(B)`/`(W)` at the start of a body: the previous byte is not
    /// alphanumeric (`_` counts as a boundary), or there is none.
    NonAlnumBefore,
    /// `(B)`/`(W)` at the end of a body: the next byte is not alphanumeric,
    /// or there is none.
    NonAlnumAfter,
    /// `(L)` at the start of a body: the previous byte is LF, or there is
    /// none (a lone CR does not count).
    LineBefore,
    /// `(L)` at the end of a body: the next bytes are LF or CRLF, or there
    /// are none (a lone CR does not count).
    LineAfter,
    /// `f` at the start: not preceded by a word character.
    NotWordBefore,
    /// `f` at the end: not followed by a word character.
    NotWordAfter,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl Assertion {
    /// Whether the assertion holds at position `p` of `data`.
    pub fn holds(self, data: &[u8], p: usize) -> bool {
        let before = p.checked_sub(1).and_then(|i| data.get(i)).copied();
        let after = data.get(p).copied();
        match self {
            Assertion::NonAlnumBefore => !before.is_some_and(|b| b.is_ascii_alphanumeric()),
            Assertion::NonAlnumAfter => !after.is_some_and(|b| b.is_ascii_alphanumeric()),
            Assertion::LineBefore => before.is_none_or(|b| b == b'\n'),
            Assertion::LineAfter => {
                p >= data.len() || data[p] == b'\n' || data[p..].starts_with(b"\r\n")
            }
            Assertion::NotWordBefore => !before.is_some_and(is_word),
            Assertion::NotWordAfter => !after.is_some_and(is_word),
        }
    }
}

/// One element of a lowered body.
///
/// Items are kept small (24 bytes): a run of exact bytes is one
/// [`Item::Lit`] however long, and the rarer byte classes and alternatives
/// are boxed, so that a hundred thousand bodies cost a few megabytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A run of exact bytes (never empty).
    Lit(Box<[u8]>),
    /// One byte from the set (never a single byte: that is a [`Item::Lit`]).
    Set(Box<ByteSet>),
    /// Between `min` and `max` (unbounded when `None`) arbitrary bytes.
    Gap {
        /// Fewest bytes.
        min: u32,
        /// Most bytes, or unbounded.
        max: Option<u32>,
    },
    /// One of several byte-set sequences.
    Alt(Box<Alt>),
    /// A zero-width condition.
    Assert(Assertion),
}

/// The branches of an [`Item::Alt`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alt {
    /// The branches.
    pub branches: Vec<Vec<ByteSet>>,
    /// `!(..)`: any sequence of the (common) length that matches none of
    /// the branches.
    pub negated: bool,
}

impl Item {
    /// Fewest and most bytes the item spans (`None`: unbounded).
    pub fn span(&self) -> (usize, Option<usize>) {
        match self {
            Item::Lit(b) => (b.len(), Some(b.len())),
            Item::Set(_) => (1, Some(1)),
            Item::Gap { min, max } => (*min as usize, max.map(|m| m as usize)),
            Item::Alt(a) => (
                a.branches.iter().map(Vec::len).min().unwrap_or(0),
                a.branches.iter().map(Vec::len).max(),
            ),
            Item::Assert(_) => (0, Some(0)),
        }
    }
}

/// Appends one byte set to `items`: singletons join (or start) a literal run.
fn push_set(items: &mut Vec<Item>, set: ByteSet) {
    if set.len() == 1 {
        let b = set.first().expect("one member");
        push_lit(items, &[b]);
    } else {
        items.push(Item::Set(Box::new(set)));
    }
}

/// Appends exact bytes to `items`, extending a literal run that ends it.
fn push_lit(items: &mut Vec<Item>, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    if let Some(Item::Lit(prev)) = items.last_mut() {
        let mut v = std::mem::take(prev).into_vec();
        v.extend_from_slice(bytes);
        *prev = v.into_boxed_slice();
    } else {
        items.push(Item::Lit(bytes.into()));
    }
}

/// One parsed body: the hex syntax with its modifiers applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    forms: Vec<Vec<Item>>,
    nocase: bool,
}

fn hexval(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|v| v as u8)
}

/// Parses a run of nibbles (hex digits and `?`) into byte sets.
fn parse_bytes(s: &[u8], at: usize) -> Result<Vec<ByteSet>, PatternError> {
    if !s.len().is_multiple_of(2) {
        return Err(PatternError::OddNibble(at + s.len()));
    }
    let mut out = Vec::with_capacity(s.len() / 2);
    for (k, pair) in s.chunks(2).enumerate() {
        let nib = |c: u8, i: usize| -> Result<Option<u8>, PatternError> {
            if c == b'?' {
                Ok(None)
            } else {
                hexval(c)
                    .map(Some)
                    .ok_or(PatternError::Unexpected(c as char, at + 2 * k + i))
            }
        };
        let (hi, lo) = (nib(pair[0], 0)?, nib(pair[1], 1)?);
        let set = match (hi, lo) {
            // The common case: one exact byte.
            (Some(h), Some(l)) => ByteSet::single(h << 4 | l),
            _ => {
                let mut set = ByteSet::EMPTY;
                for b in 0..=255u8 {
                    if hi.is_none_or(|h| b >> 4 == h) && lo.is_none_or(|l| b & 15 == l) {
                        set.insert(b);
                    }
                }
                set
            }
        };
        out.push(set);
    }
    Ok(out)
}

/// Lowers a run of nibbles (hex digits and `?`) straight into items:
/// exact bytes gather into literal runs without a byte set each.
fn hex_run(s: &[u8], at: usize, items: &mut Vec<Item>) -> Result<(), PatternError> {
    if !s.len().is_multiple_of(2) {
        return Err(PatternError::OddNibble(at + s.len()));
    }
    // The common case: no wildcard, one literal sized exactly.
    let mut lit: Vec<u8> = Vec::with_capacity(s.len() / 2);
    for pair in s.chunks_exact(2) {
        match (HEX[pair[0] as usize], HEX[pair[1] as usize]) {
            (Some(h), Some(l)) => lit.push(h << 4 | l),
            _ => break,
        }
    }
    if lit.len() == s.len() / 2 {
        if !lit.is_empty() {
            match items.last_mut() {
                Some(Item::Lit(_)) => push_lit(items, &lit),
                _ => items.push(Item::Lit(lit.into_boxed_slice())),
            }
        }
        return Ok(());
    }
    lit.clear();
    for (k, pair) in s.chunks_exact(2).enumerate() {
        if let (Some(h), Some(l)) = (HEX[pair[0] as usize], HEX[pair[1] as usize]) {
            lit.push(h << 4 | l);
            continue;
        }
        // A nibble wildcard (or a bad digit, reported by parse_bytes).
        push_lit(items, &lit);
        lit.clear();
        let set = parse_bytes(pair, at + 2 * k)?;
        push_set(items, set[0]);
    }
    push_lit(items, &lit);
    Ok(())
}

/// Hex digit values, `None` for anything else.
const HEX: [Option<u8>; 256] = {
    let mut t = [None; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        };
        i += 1;
    }
    t
};

fn parse_range(s: &str, brace: bool) -> Result<(u32, Option<u32>), PatternError> {
    let bad = || PatternError::BadRange(s.to_string());
    let num = |t: &str| -> Result<u32, PatternError> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        t.parse::<u32>()
            .ok()
            .filter(|&v| v <= 1 << 24)
            .ok_or_else(bad)
    };
    match s.split_once('-') {
        None if brace => {
            let n = num(s)?;
            Ok((n, Some(n)))
        }
        None => Err(bad()),
        Some(("", m)) if brace => Ok((0, Some(num(m)?))),
        Some((n, "")) if brace => Ok((num(n)?, None)),
        Some((n, m)) => {
            let (n, m) = (num(n)?, num(m)?);
            if n > m {
                return Err(bad());
            }
            Ok((n, Some(m)))
        }
    }
}

fn lower(hex: &str) -> Result<Vec<Item>, PatternError> {
    let s = hex.trim().as_bytes();
    if s.is_empty() {
        return Err(PatternError::Empty);
    }
    if s.len() > MAX_BODY {
        return Err(PatternError::TooLong);
    }
    let mut items = Vec::with_capacity(8);
    let mut classes: Vec<(usize, u8)> = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        match c {
            b'*' => {
                items.push(Item::Gap { min: 0, max: None });
                i += 1;
            }
            b'{' | b'[' => {
                let close = if c == b'{' { b'}' } else { b']' };
                let end = s[i..]
                    .iter()
                    .position(|&x| x == close)
                    .ok_or(PatternError::Unclosed(c as char))?
                    + i;
                let body = std::str::from_utf8(&s[i + 1..end])
                    .map_err(|_| PatternError::BadRange(String::new()))?;
                let (min, max) = parse_range(body, c == b'{')?;
                items.push(Item::Gap { min, max });
                i = end + 1;
            }
            b'(' | b'!' => {
                let negated = c == b'!';
                if negated && s.get(i + 1) != Some(&b'(') {
                    return Err(PatternError::Unexpected('!', i));
                }
                let open = if negated { i + 1 } else { i };
                let end = s[open..]
                    .iter()
                    .position(|&x| x == b')')
                    .ok_or(PatternError::Unclosed('('))?
                    + open;
                let body = &s[open + 1..end];
                if !negated && body.len() == 1 {
                    // Character classes depend on where they sit; resolved
                    // below once the whole body is known.
                    if !matches!(body[0], b'B' | b'L' | b'W') {
                        return Err(PatternError::Unexpected(body[0] as char, open + 1));
                    }
                    classes.push((items.len(), body[0]));
                    items.push(Item::Gap {
                        min: 0,
                        max: Some(0),
                    });
                    i = end + 1;
                    continue;
                }
                let mut branches = Vec::new();
                let mut at = open + 1;
                for part in body.split(|&x| x == b'|') {
                    if part.is_empty() {
                        return Err(PatternError::EmptyAlternative);
                    }
                    branches.push(parse_bytes(part, at)?);
                    at += part.len() + 1;
                }
                if negated && branches.iter().any(|b| b.len() != branches[0].len()) {
                    return Err(PatternError::BadNegation);
                }
                if !negated && branches.iter().all(|b| b.len() == 1) {
                    let mut set = ByteSet::EMPTY;
                    for b in &branches {
                        for k in 0..4 {
                            set.0[k] |= b[0].0[k];
                        }
                    }
                    push_set(&mut items, set);
                } else {
                    items.push(Item::Alt(Box::new(Alt { branches, negated })));
                }
                i = end + 1;
            }
            b'?' | b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                let start = i;
                while i < s.len() && (s[i] == b'?' || s[i].is_ascii_hexdigit()) {
                    i += 1;
                }
                hex_run(&s[start..i], start, &mut items)?;
            }
            x => return Err(PatternError::Unexpected(x as char, i)),
        }
    }
    // ClamAV: a class at either end of the body takes no bytes and checks
    // the neighbouring byte (or file edge); in the middle it consumes.
    let last = items.len() - 1;
    for (at, class) in classes {
        items[at] = match (class, at) {
            (b'L', 0) => Item::Assert(Assertion::LineBefore),
            (b'L', a) if a == last => Item::Assert(Assertion::LineAfter),
            (b'L', _) => Item::Alt(Box::new(Alt {
                branches: vec![
                    vec![ByteSet::single(b'\n')],
                    vec![ByteSet::single(b'\r'), ByteSet::single(b'\n')],
                ],
                negated: false,
            })),
            (_, 0) => Item::Assert(Assertion::NonAlnumBefore),
            (_, a) if a == last => Item::Assert(Assertion::NonAlnumAfter),
            _ => {
                let mut set = ByteSet::EMPTY;
                for b in 0..=255u8 {
                    if !b.is_ascii_alphanumeric() {
                        set.insert(b);
                    }
                }
                Item::Set(Box::new(set))
            }
        };
    }
    if matches!(items.first(), Some(Item::Gap { .. }))
        || matches!(items.last(), Some(Item::Gap { .. }))
    {
        return Err(PatternError::EdgeGap);
    }
    // Merge adjacent gaps and literal runs (rare: most bodies need no new
    // vector).
    let adjacent = items.windows(2).any(|w| {
        matches!(
            (&w[0], &w[1]),
            (Item::Gap { .. }, Item::Gap { .. }) | (Item::Lit(_), Item::Lit(_))
        )
    });
    if !adjacent {
        if !items
            .iter()
            .any(|it| matches!(it, Item::Lit(_) | Item::Set(_) | Item::Alt(_)))
        {
            return Err(PatternError::NoBytes);
        }
        return Ok(exact(items));
    }
    let mut merged: Vec<Item> = Vec::with_capacity(items.len());
    for it in items {
        if let Item::Lit(b) = &it {
            push_lit(&mut merged, b);
            continue;
        }
        if let (Some(Item::Gap { min, max }), Item::Gap { min: m2, max: x2 }) =
            (merged.last_mut(), &it)
        {
            *min = min.saturating_add(*m2);
            *max = match (*max, *x2) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                _ => None,
            };
            continue;
        }
        merged.push(it);
    }
    if !merged
        .iter()
        .any(|it| matches!(it, Item::Lit(_) | Item::Set(_) | Item::Alt(_)))
    {
        return Err(PatternError::NoBytes);
    }
    Ok(exact(merged))
}

/// Rewrites every byte position of `items` through `f` (one set in, a
/// sequence out), keeping gaps and assertions, and re-packs literal runs.
fn map_sets(items: &[Item], f: &dyn Fn(ByteSet) -> Vec<ByteSet>) -> Vec<Item> {
    let mut out = Vec::new();
    for it in items {
        match it {
            Item::Lit(bytes) => {
                for &b in bytes.iter() {
                    for s in f(ByteSet::single(b)) {
                        push_set(&mut out, s);
                    }
                }
            }
            Item::Set(s) => {
                for s in f(**s) {
                    push_set(&mut out, s);
                }
            }
            Item::Alt(a) => out.push(Item::Alt(Box::new(Alt {
                branches: a
                    .branches
                    .iter()
                    .map(|b| b.iter().flat_map(|s| f(*s)).collect())
                    .collect(),
                negated: a.negated,
            }))),
            other => out.push(other.clone()),
        }
    }
    exact(out)
}

/// `items` in a vector of exactly its length. A copy rather than
/// `shrink_to_fit`: shrinking in place frees the tail next to the heap's
/// top, which makes glibc consolidate its free lists on every body (a
/// third of the load time of 100,000 bodies); the scratch freed here is
/// reused by the next body instead.
fn exact(mut items: Vec<Item>) -> Vec<Item> {
    let mut out = Vec::with_capacity(items.len());
    out.append(&mut items);
    out
}

impl Pattern {
    /// Parses a hex body (`.ndb` field 4, or an `.ldb` subsignature without
    /// its offset and `::modifiers`).
    pub fn parse(hex: &str) -> Result<Pattern, PatternError> {
        Ok(Pattern {
            forms: vec![lower(hex)?],
            nocase: false,
        })
    }

    /// Parses a body and applies modifiers.
    pub fn parse_with(hex: &str, modifiers: Modifiers) -> Result<Pattern, PatternError> {
        let mut base = lower(hex)?;
        if modifiers.nocase {
            base = map_sets(&base, &|s| vec![s.nocase()]);
        }
        let mut forms = Vec::new();
        if !modifiers.wide || modifiers.ascii {
            forms.push(base.clone());
        }
        if modifiers.wide {
            let mut w = map_sets(&base, &|s| vec![s, ByteSet::single(0)]);
            for it in &mut w {
                if let Item::Gap { min, max } = it {
                    *min = min.saturating_mul(2);
                    *max = max.map(|m| m.saturating_mul(2));
                }
            }
            forms.push(w);
        }
        if modifiers.fullword {
            for f in &mut forms {
                f.insert(0, Item::Assert(Assertion::NotWordBefore));
                f.push(Item::Assert(Assertion::NotWordAfter));
            }
        }
        Ok(Pattern {
            forms,
            nocase: modifiers.nocase,
        })
    }

    /// The lowered forms (one, or two for `::wa`).
    pub fn forms(&self) -> &[Vec<Item>] {
        &self.forms
    }

    /// Whether `i` was applied.
    pub fn nocase(&self) -> bool {
        self.nocase
    }

    /// Shortest number of bytes a match can span.
    pub fn min_len(&self) -> usize {
        self.forms.iter().map(|f| form_len(f).0).min().unwrap_or(0)
    }

    /// Longest number of bytes a match can span (`None`: unbounded).
    pub fn max_len(&self) -> Option<usize> {
        let mut m = 0;
        for f in &self.forms {
            m = m.max(form_len(f).1?);
        }
        Some(m)
    }

    /// Distinct start offsets of matches in `data[lo..]` whose start lies
    /// in `[lo, hi]`, computed in `O((len - lo) × items)`. Calls `out` with
    /// each start ascending; returns the work done.
    #[allow(clippy::needless_range_loop)]
    pub fn starts_in(&self, data: &[u8], lo: usize, hi: usize, out: &mut dyn FnMut(u64)) -> u64 {
        let n = data.len();
        if lo > n || lo > hi {
            return 0;
        }
        let hi = hi.min(n);
        let end = match self.max_len() {
            Some(m) => (hi + m).min(n),
            None => n,
        };
        let width = end - lo + 1;
        let mut any = vec![false; hi - lo + 1];
        let mut work = 0u64;
        let mut next = vec![false; width];
        let mut cur = vec![false; width];
        let mut prefix = vec![0u32; width + 1];
        for form in &self.forms {
            next.iter_mut().for_each(|x| *x = true);
            for item in form.iter().rev() {
                work += width as u64 * item_cost(item);
                match item {
                    Item::Lit(bytes) => {
                        let l = bytes.len();
                        for k in 0..width {
                            let p = lo + k;
                            cur[k] = k + l < width && next[k + l] && data[p..p + l] == bytes[..];
                        }
                    }
                    Item::Set(set) => {
                        for k in 0..width {
                            let p = lo + k;
                            cur[k] = p < n && k + 1 < width && set.contains(data[p]) && next[k + 1];
                        }
                    }
                    Item::Assert(a) => {
                        for k in 0..width {
                            cur[k] = next[k] && a.holds(data, lo + k);
                        }
                    }
                    Item::Gap { min, max } => {
                        for k in 0..width {
                            prefix[k + 1] = prefix[k] + next[k] as u32;
                        }
                        for k in 0..width {
                            let a = k.saturating_add(*min as usize);
                            let b = match max {
                                Some(m) => k.saturating_add(*m as usize).min(width - 1),
                                None => width - 1,
                            };
                            cur[k] = a <= b && prefix[b + 1] > prefix[a];
                        }
                    }
                    Item::Alt(alt) => {
                        let (branches, negated) = (&alt.branches, &alt.negated);
                        for k in 0..width {
                            let p = lo + k;
                            cur[k] = if *negated {
                                let l = branches[0].len();
                                k + l < width
                                    && next[k + l]
                                    && !branches.iter().any(|b| seq_at(b, data, p))
                            } else {
                                branches.iter().any(|b| {
                                    k + b.len() < width && next[k + b.len()] && seq_at(b, data, p)
                                })
                            };
                        }
                    }
                }
                std::mem::swap(&mut cur, &mut next);
            }
            for (k, a) in any.iter_mut().enumerate() {
                *a |= next[k];
            }
        }
        for (k, a) in any.iter().enumerate() {
            if *a {
                out((lo + k) as u64);
            }
        }
        work
    }

    /// Brute-force reference: every distinct start offset allowed by
    /// `offset` at which the pattern matches, ascending. Exponential in the
    /// worst case; for tests and fuzzing only.
    #[doc(hidden)]
    pub fn naive_starts(&self, offset: &Offset, data: &[u8], layout: &Layout) -> Vec<u64> {
        let Some((lo, hi)) = offset.resolve(data.len() as u64, layout) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for p in lo as usize..=hi as usize {
            if self
                .forms
                .iter()
                .any(|f| naive_at(f, data, p, &mut std::collections::HashSet::new()))
            {
                out.push(p as u64);
            }
        }
        out
    }
}

fn item_cost(item: &Item) -> u64 {
    match item {
        // As much as the bytes one at a time: the work bound does not
        // depend on how a body is stored.
        Item::Lit(b) => b.len() as u64,
        Item::Alt(a) => a
            .branches
            .iter()
            .map(|b| b.len() as u64)
            .sum::<u64>()
            .max(1),
        _ => 1,
    }
}

fn seq_at(seq: &[ByteSet], data: &[u8], p: usize) -> bool {
    p + seq.len() <= data.len() && seq.iter().zip(&data[p..]).all(|(s, &b)| s.contains(b))
}

fn form_len(f: &[Item]) -> (usize, Option<usize>) {
    let mut lo = 0usize;
    let mut hi = Some(0usize);
    for it in f {
        let (a, b) = it.span();
        lo += a;
        hi = match (hi, b) {
            (Some(x), Some(y)) => Some(x + y),
            _ => None,
        };
    }
    (lo, hi)
}

fn naive_at(
    items: &[Item],
    data: &[u8],
    p: usize,
    failed: &mut std::collections::HashSet<(usize, usize)>,
) -> bool {
    naive_rec(items, 0, data, p, failed)
}

fn naive_rec(
    items: &[Item],
    i: usize,
    data: &[u8],
    p: usize,
    failed: &mut std::collections::HashSet<(usize, usize)>,
) -> bool {
    if i == items.len() {
        return true;
    }
    if failed.contains(&(i, p)) {
        return false;
    }
    let ok = match &items[i] {
        Item::Lit(b) => {
            data.get(p..p + b.len()) == Some(&b[..])
                && naive_rec(items, i + 1, data, p + b.len(), failed)
        }
        Item::Set(s) => {
            p < data.len() && s.contains(data[p]) && naive_rec(items, i + 1, data, p + 1, failed)
        }
        Item::Assert(a) => a.holds(data, p) && naive_rec(items, i + 1, data, p, failed),
        Item::Gap { min, max } => {
            let top = max.map_or(data.len(), |m| p + m as usize);
            (p + *min as usize..=top.min(data.len()))
                .any(|q| naive_rec(items, i + 1, data, q, failed))
        }
        Item::Alt(a) if !a.negated => a
            .branches
            .iter()
            .any(|b| seq_at(b, data, p) && naive_rec(items, i + 1, data, p + b.len(), failed)),
        Item::Alt(a) => {
            let l = a.branches[0].len();
            p + l <= data.len()
                && !a.branches.iter().any(|b| seq_at(b, data, p))
                && naive_rec(items, i + 1, data, p + l, failed)
        }
    };
    if !ok {
        failed.insert((i, p));
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sig::matcher::{MatchState, MatcherBuilder};
    use crate::sig::pe::Section;
    use proptest::prelude::*;

    fn starts(hex: &str, data: &[u8]) -> Vec<u64> {
        Pattern::parse(hex)
            .unwrap()
            .naive_starts(&Offset::Any, data, &Layout::default())
    }

    fn fast(p: &Pattern, off: Offset, data: &[u8], layout: &Layout) -> (u32, Vec<u64>) {
        let mut b = MatcherBuilder::new();
        let id = b.add(p.clone(), off);
        let m = b.build();
        let mut st = MatchState::new();
        m.scan(data, layout, &mut st);
        (st.count(id), st.offsets(id).to_vec())
    }

    fn check(hex: &str, data: &[u8], want: &[u64]) {
        let p = Pattern::parse(hex).unwrap();
        assert_eq!(starts(hex, data), want, "naive {hex}");
        let (c, o) = fast(&p, Offset::Any, data, &Layout::default());
        assert_eq!(c as usize, want.len(), "count {hex}");
        assert_eq!(o, want, "fast {hex}");
    }

    #[test]
    fn plain_and_nibbles() {
        check("4142", b"xABAB", &[1, 3]);
        check("41?2", b"ABAx", &[0]);
        check("4?42", b"ABOB", &[0, 2]);
        check("41??43", b"AxCAC", &[0]);
        check("4142", b"xx", &[]);
    }

    #[test]
    fn gaps() {
        check("41*43", b"AAxC", &[0, 1]);
        check("41*43", b"CA", &[]);
        check("41{2}43", b"AxxC AxC", &[0]);
        check("41{-1}43", b"AC AxC AxxC", &[0, 3]);
        check("41{2-}43", b"AxC AxxC AxxxC", &[0, 4, 9]);
        check("41{1-2}43", b"AC AxC AxxC AxxxC", &[3, 7]);
        check("41[1-2]4243", b"AxBC AxxBC AxxxBC", &[0, 5]);
        check("4243[1-2]41", b"BCxA BCxxxA", &[0]);
    }

    #[test]
    fn alternatives() {
        check("41(42|43)44", b"ABD ACD AED", &[0, 4]);
        check("41(4243|44)45", b"ABCE ADE ABE", &[0, 5]);
        check("41(4?|50)", b"AB AP AQ", &[0, 3]);
        check("41!(42|43)44", b"ABD AED", &[4]);
        check("41!(4243|4445)46", b"ABCF AXYF", &[5]);
        assert_eq!(
            Pattern::parse("41!(42|4344)"),
            Err(PatternError::BadNegation)
        );
    }

    #[test]
    fn classes() {
        // (B) at the ends: zero-width, neighbour non-alphanumeric or edge.
        check("(B)616263", b"xabc abc_abc", &[5, 9]);
        check("(B)616263", b"abc xabc", &[0]);
        check("616263(B)", b"abcx abc_abc", &[5, 9]);
        check("616263(B)", b"abc1 abc", &[5]);
        // (B) in the middle consumes exactly one non-alphanumeric byte.
        check("787878(B)616263", b"xxx abc", &[0]);
        check("787878(B)616263", b"xxx_abc", &[0]);
        check("787878(B)616263", b"xxxabc", &[]);
        check("787878(B)616263", b"xxx--abc", &[]);
        check("787878(B)616263", b"xxx1abc", &[]);
        // (L) in the middle: LF or CRLF, not a lone CR.
        check("41(L)42", b"A\nB A\r\nB A\rB AB", &[0, 4]);
        // (L) at the ends: zero-width, neighbour CR/LF or edge.
        check(
            "(L)414243",
            b"ABC\nABC xABC\rABC\r\nABC\n\rABC",
            &[0, 4, 18],
        );
        check(
            "414243(L)",
            b"ABC\nABCd ABC\rx ABC\r\n ABC\n\r ABC",
            &[0, 15, 21, 27],
        );
        check("414243(L)", b"xxABC\r", &[]);
        // (W) in the middle: one non-alphanumeric byte, `_` included.
        check("41(W)42", b"A B AxB A.B A_B A1B AB", &[0, 8, 12]);
        // (W) at the ends: zero-width, start lands on the following byte.
        check("(W)414243", b"ABC xABC _ABC 1ABC", &[0, 10]);
        check("414243(W)", b"ABCx ABC_ ABC", &[5, 10]);
    }

    #[test]
    fn modifiers() {
        let m = Modifiers::parse("i").unwrap();
        let p = Pattern::parse_with("414243", m).unwrap();
        assert_eq!(
            p.naive_starts(&Offset::Any, b"abc ABC aBc", &Layout::default()),
            vec![0, 4, 8]
        );
        let w = Pattern::parse_with("4142", Modifiers::parse("w").unwrap()).unwrap();
        assert_eq!(
            w.naive_starts(&Offset::Any, b"A\0B\0 AB", &Layout::default()),
            vec![0]
        );
        let wa = Pattern::parse_with("4142", Modifiers::parse("wa").unwrap()).unwrap();
        assert_eq!(
            wa.naive_starts(&Offset::Any, b"A\0B\0 AB", &Layout::default()),
            vec![0, 5]
        );
        let f = Pattern::parse_with("4142", Modifiers::parse("f").unwrap()).unwrap();
        assert_eq!(
            f.naive_starts(&Offset::Any, b"AB xAB AB_ AB.", &Layout::default()),
            vec![0, 11]
        );
        assert!(Modifiers::parse("x").is_err());
        for p in [p, w, wa, f] {
            let (c, o) = fast(
                &p,
                Offset::Any,
                b"A\0B\0 AB aBc abc xAB AB.",
                &Layout::default(),
            );
            let n = p.naive_starts(
                &Offset::Any,
                b"A\0B\0 AB aBc abc xAB AB.",
                &Layout::default(),
            );
            assert_eq!((c as usize, o), (n.len(), n));
        }
    }

    #[test]
    fn errors() {
        for bad in [
            "",
            "4",
            "41*",
            "*41",
            "41{2-1}42",
            "41{x}42",
            "41(42",
            "zz",
            "41()",
            "41(4|42)",
            "41[3]42",
        ] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets() {
        assert_eq!(Offset::parse("*").unwrap(), Offset::Any);
        assert_eq!(
            Offset::parse("10,5").unwrap(),
            Offset::At {
                base: Base::Start,
                delta: 10,
                shift: 5
            }
        );
        assert_eq!(
            Offset::parse("EOF-3").unwrap(),
            Offset::At {
                base: Base::Eof,
                delta: -3,
                shift: 0
            }
        );
        assert_eq!(
            Offset::parse("EP-3,2").unwrap(),
            Offset::At {
                base: Base::EntryPoint,
                delta: -3,
                shift: 2
            }
        );
        assert_eq!(
            Offset::parse("S2+4").unwrap(),
            Offset::At {
                base: Base::Section(2),
                delta: 4,
                shift: 0
            }
        );
        assert_eq!(
            Offset::parse("SL+0").unwrap(),
            Offset::At {
                base: Base::LastSection,
                delta: 0,
                shift: 0
            }
        );
        assert_eq!(
            Offset::parse("SE1").unwrap(),
            Offset::At {
                base: Base::SectionEntire(1),
                delta: 0,
                shift: 0
            }
        );
        assert_eq!(
            Offset::parse("VI").unwrap(),
            Offset::At {
                base: Base::VersionInfo,
                delta: 0,
                shift: 0
            }
        );
        for bad in ["", "x", "EOF+3", "EP", "S+1", "1,", "-1", "SL-1"] {
            assert!(Offset::parse(bad).is_err(), "{bad}");
        }
        let data = b"ABxxABxxAB";
        let p = Pattern::parse("4142").unwrap();
        let lay = Layout {
            entry_point: Some(4),
            sections: vec![
                Section {
                    raw_offset: 2,
                    raw_size: 4,
                    ..Default::default()
                },
                Section {
                    raw_offset: 8,
                    raw_size: 2,
                    ..Default::default()
                },
            ],
        };
        for (o, want) in [
            ("0", vec![0]),
            ("1", vec![]),
            ("1,4", vec![4]),
            ("EOF-2", vec![8]),
            ("EP+0", vec![4]),
            ("EP-4,4", vec![0, 4]),
            ("S1+0", vec![8]),
            ("SL+0", vec![8]),
            ("SE0", vec![4]),
            ("VI", vec![]),
        ] {
            let off = Offset::parse(o).unwrap();
            assert_eq!(p.naive_starts(&off, data, &lay), want, "{o}");
            let (c, f) = fast(&p, off, data, &lay);
            assert_eq!((c as usize, f), (want.len(), want.clone()), "{o}");
        }
        let off = Offset::parse("EP+0").unwrap();
        assert_eq!(fast(&p, off, data, &Layout::default()).0, 0);
    }

    fn arb_bytes() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                Just("41"),
                Just("42"),
                Just("43"),
                Just("00"),
                Just("4?"),
                Just("??")
            ],
            1..4,
        )
        .prop_map(|v| v.concat())
    }

    fn arb_pattern() -> impl Strategy<Value = String> {
        let elem = prop_oneof![
            4 => arb_bytes(),
            1 => Just("*".to_string()),
            1 => (0u32..3, 0u32..3).prop_map(|(a, b)| format!("{{{}-{}}}", a, a + b)),
            1 => (0u32..3).prop_map(|a| format!("{{{a}}}")),
            1 => (0u32..3).prop_map(|a| format!("{{-{a}}}")),
            1 => (0u32..3).prop_map(|a| format!("{{{a}-}}")),
            1 => prop::collection::vec(arb_bytes(), 1..3).prop_map(|v| format!("({})", v.join("|"))),
            1 => prop::collection::vec(prop_oneof![Just("41"), Just("4?"), Just("00")], 1..3)
                .prop_map(|v| format!("!({})", v.join("|"))),
            1 => prop_oneof![Just("(B)"), Just("(L)"), Just("(W)")].prop_map(String::from),
        ];
        (arb_bytes(), prop::collection::vec(elem, 0..4), arb_bytes())
            .prop_map(|(a, m, b)| format!("{a}{}{b}", m.concat()))
    }

    fn arb_offset() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => Just("*".to_string()),
            1 => (0u32..8, 0u32..8).prop_map(|(a, s)| format!("{a},{s}")),
            1 => (0u32..8).prop_map(|a| format!("{a}")),
            1 => (0u32..8).prop_map(|a| format!("EOF-{a}")),
            1 => (0u32..4, 0u32..4).prop_map(|(a, s)| format!("EP-{a},{s}")),
            1 => (0u32..4).prop_map(|a| format!("EP+{a}")),
            1 => (0u32..3).prop_map(|a| format!("S{a}+1")),
            1 => (0u32..3).prop_map(|a| format!("SE{a}")),
        ]
    }

    fn arb_data() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                Just(0x41u8),
                Just(0x42),
                Just(0x43),
                Just(0),
                Just(b'\n'),
                Just(b' '),
                Just(b'a')
            ],
            0..48,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(600))]
        #[test]
        fn matcher_equals_naive(
            pats in prop::collection::vec((arb_pattern(), arb_offset(), "[iwfa]{0,3}"), 1..5),
            data in arb_data(),
            ep in prop::option::of(0u64..20),
        ) {
            let layout = Layout {
                entry_point: ep,
                sections: vec![Section { raw_offset: 3, raw_size: 10, ..Default::default() }, Section { raw_offset: 20, raw_size: 5, ..Default::default() }],
            };
            let mut b = MatcherBuilder::new();
            let mut want = Vec::new();
            for (hex, off, mods) in &pats {
                let Ok(p) = Pattern::parse_with(hex, Modifiers::parse(mods).unwrap()) else { continue };
                let off = Offset::parse(off).unwrap();
                want.push(p.naive_starts(&off, &data, &layout));
                b.add(p, off);
            }
            let m = b.build();
            let mut st = MatchState::new();
            for _ in 0..2 {
                m.scan(&data, &layout, &mut st);
                prop_assert!(!st.truncated());
                for (id, w) in want.iter().enumerate() {
                    prop_assert_eq!(st.count(id as u32) as usize, w.len());
                    prop_assert_eq!(st.offsets(id as u32), &w[..w.len().min(16)]);
                }
                prop_assert_eq!(st.hits().len(), want.iter().filter(|w| !w.is_empty()).count());
            }
        }

        /// A few plain patterns over two letters, on texts of the same
        /// two letters: their 4-byte anchors overlap themselves (`AAAA` in
        /// `AAAAA` twice), which a search for non-overlapping occurrences
        /// would miss.
        #[test]
        fn self_overlapping_anchors_equal_naive(
            pats in prop::collection::vec(
                prop::collection::vec(prop::sample::select(vec!["41", "42"]), 4..9),
                1..6,
            ),
            data in prop::collection::vec(prop::sample::select(b"AB".to_vec()), 0..200),
        ) {
            plain_patterns_equal_naive(&pats, &data)?;
        }

        /// Many plain patterns of four or more bytes, so that the quad
        /// filter, sized by the number of anchors, has more than its
        /// smallest size and its bits collide.
        #[test]
        fn many_plain_patterns_equal_naive(
            pats in prop::collection::vec(
                prop::collection::vec(prop::sample::select(vec!["41", "42", "43", "61", "20"]), 4..9),
                1..400,
            ),
            data in prop::collection::vec(prop::sample::select(b"ABCa ".to_vec()), 0..400),
        ) {
            plain_patterns_equal_naive(&pats, &data)?;
        }
    }

    /// Patterns given as lists of hex bytes, matched anywhere in `data`:
    /// the matcher's counts and offsets against the naive search.
    fn plain_patterns_equal_naive(
        pats: &[Vec<&str>],
        data: &[u8],
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let mut b = MatcherBuilder::new();
        let mut want = Vec::new();
        for hex in pats {
            let p = Pattern::parse(&hex.concat()).unwrap();
            want.push(p.naive_starts(&Offset::Any, data, &Layout::default()));
            b.add(p, Offset::Any);
        }
        let m = b.build();
        let mut st = MatchState::new();
        m.scan(data, &Layout::default(), &mut st);
        for (id, w) in want.iter().enumerate() {
            prop_assert_eq!(st.count(id as u32) as usize, w.len());
            prop_assert_eq!(
                st.offsets(id as u32),
                &w[..w.len().min(MatchState::MAX_OFFSETS)]
            );
        }
        Ok(())
    }
}
