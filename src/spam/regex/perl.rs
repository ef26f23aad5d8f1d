//! Perl pattern syntax, parsed into a small tree of bytes.
//!
//! SpamAssassin compiles every rule as `qr/(?FLAGS)PATTERN/aa` and matches it
//! against byte strings. The parser here reads that dialect and resolves
//! everything that depends on flags while it reads, so that the tree it
//! returns no longer has flags at all:
//!
//! * case-insensitivity becomes explicit byte classes (ASCII pairs, and the
//!   Latin-1 pairs `0xC0..=0xDE` / `0xE0..=0xFE` that Perl still folds under
//!   `/aa` because a byte string is read as Latin-1);
//! * `.` becomes "any byte" or "any byte but `\n`" according to `/s`;
//! * `^` and `$` become one of the [`Assert`] positions according to `/m`;
//! * `/x` whitespace and comments, `(?#…)`, and `/n` are gone.
//!
//! Every byte of the pattern stays a byte: a UTF-8 `é` in a `.cf` file is the
//! two bytes `C3 A9`, inside a class as well, exactly as Perl sees a byte
//! pattern. A code point above `0xFF` (`\x{100}`) can never match a byte
//! string, so it becomes the empty class.
//!
//! Three emitters turn the tree back into text: [`native`] for the regex
//! crate (it refuses what that crate cannot express exactly), [`fancy`] for
//! fancy-regex (look-around, backreferences, atomic groups, `\K`), and
//! [`relaxed`], a native pattern that matches a superset of the original and
//! serves as a quick pre-check and as the source of prefilter literals.

use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, Hir, Look, Repetition};

use super::RegexError;

/// A set of bytes.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub struct ByteSet(pub [u64; 4]);

impl ByteSet {
    /// The empty set.
    pub const EMPTY: ByteSet = ByteSet([0; 4]);
    /// All 256 bytes.
    pub const FULL: ByteSet = ByteSet([u64::MAX; 4]);

    /// Adds one byte.
    pub fn add(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    /// Adds an inclusive range.
    pub fn add_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.add(b);
        }
    }

    /// Tests one byte.
    pub fn has(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    /// Union.
    pub fn union(&mut self, o: &ByteSet) {
        for i in 0..4 {
            self.0[i] |= o.0[i];
        }
    }

    /// Complement.
    pub fn negate(&self) -> ByteSet {
        ByteSet([!self.0[0], !self.0[1], !self.0[2], !self.0[3]])
    }

    /// Number of bytes in the set.
    pub fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// True when no byte is in the set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when no byte is in both sets.
    pub fn is_disjoint(&self, o: &ByteSet) -> bool {
        self.0.iter().zip(&o.0).all(|(a, b)| a & b == 0)
    }

    /// The members, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u8> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                (w != 0).then(|| {
                    let b = w.trailing_zeros();
                    w &= w - 1;
                    (i as u32 * 64 + b) as u8
                })
            })
        })
    }

    /// The members as runs of consecutive bytes `(lo, hi)`, increasing.
    pub fn ranges(&self) -> impl Iterator<Item = (u8, u8)> + '_ {
        let mut members = self.iter().peekable();
        std::iter::from_fn(move || {
            let lo = members.next()?;
            let mut hi = lo;
            while let Some(&next) = members.peek() {
                if u16::from(next) != u16::from(hi) + 1 {
                    break;
                }
                hi = next;
                members.next();
            }
            Some((lo, hi))
        })
    }

    fn of(f: impl Fn(u8) -> bool) -> ByteSet {
        let mut s = ByteSet::EMPTY;
        for b in 0..=255u8 {
            if f(b) {
                s.add(b);
            }
        }
        s
    }

    /// Adds the case partners of every member (ASCII and Latin-1, as Perl
    /// folds a byte string under `/iaa`).
    pub fn fold(&self) -> ByteSet {
        let mut s = *self;
        for b in self.iter() {
            if let Some(p) = case_partner(b) {
                s.add(p);
            }
        }
        s
    }
}

/// The other case of `b` for Perl's `/iaa` on a byte string, if any.
pub fn case_partner(b: u8) -> Option<u8> {
    match b {
        b'a'..=b'z' | 0xE0..=0xFE if b != 0xF7 => Some(b - 0x20),
        b'A'..=b'Z' | 0xC0..=0xDE if b != 0xD7 => Some(b + 0x20),
        _ => None,
    }
}

/// A zero-width position test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Assert {
    /// `\A`, or `^` without `/m`.
    Start,
    /// `^` under `/m`: the start, or after a `\n` that is not the last byte.
    StartLine,
    /// `\z`.
    End,
    /// `\Z`, or `$` without `/m`: the end, or before a final `\n`.
    EndNl,
    /// `$` under `/m`: the end, or before any `\n`.
    EndLine,
    /// `\b` (ASCII word characters).
    Word,
    /// `\B`.
    NotWord,
    /// `\G`.
    Continue,
}

/// A parsed pattern with every flag resolved.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Node {
    /// Matches the empty string.
    Empty,
    /// One byte out of a set.
    Class(ByteSet),
    /// A sequence.
    Concat(Vec<Node>),
    /// Alternatives, leftmost first.
    Alt(Vec<Node>),
    /// A group; `true` when it captures.
    Group(bool, Box<Node>),
    /// A quantifier.
    Repeat {
        /// The repeated node.
        node: Box<Node>,
        /// Minimum count.
        min: u32,
        /// Maximum count (`None`: unbounded).
        max: Option<u32>,
        /// False for `*?` and friends.
        greedy: bool,
        /// True for `*+` and friends.
        possessive: bool,
    },
    /// A position test.
    Assert(Assert),
    /// `(?=…)`, `(?!…)`, `(?<=…)`, `(?<!…)`: (behind, negated, body).
    Look(bool, bool, Box<Node>),
    /// `(?>…)`.
    Atomic(Box<Node>),
    /// `\1`, `\g{1}`, `\k<name>`… resolved to a group number; `true`
    /// under `/i`, where Perl compares a byte string case-insensitively
    /// byte by byte: equal bytes, or [`case_partner`]s (ASCII and Latin-1
    /// letters, never a multi-byte fold such as `ß` against `ss`).
    Backref(u32, bool),
    /// `\K`.
    Keep,
}

impl Node {
    /// The fewest bytes a match consumes.
    pub fn min_len(&self) -> u64 {
        match self {
            Node::Class(_) => 1,
            Node::Concat(v) => v.iter().map(Node::min_len).fold(0, u64::saturating_add),
            Node::Alt(v) => v.iter().map(Node::min_len).min().unwrap_or(0),
            Node::Group(_, n) | Node::Atomic(n) => n.min_len(),
            Node::Repeat { node, min, .. } => node.min_len().saturating_mul(u64::from(*min)),
            _ => 0,
        }
    }

    /// The bytes a match can start with, and whether a match can be empty
    /// (position tests and look-around consume nothing; a backreference
    /// may start with anything, or be empty).
    pub fn first_bytes(&self) -> (ByteSet, bool) {
        match self {
            Node::Class(c) => (*c, false),
            Node::Concat(v) => {
                let mut set = ByteSet::EMPTY;
                for n in v {
                    let (f, nullable) = n.first_bytes();
                    set.union(&f);
                    if !nullable {
                        return (set, false);
                    }
                }
                (set, true)
            }
            Node::Alt(v) => v.iter().fold((ByteSet::EMPTY, false), |(mut set, e), n| {
                let (f, nullable) = n.first_bytes();
                set.union(&f);
                (set, e || nullable)
            }),
            Node::Group(_, n) | Node::Atomic(n) => n.first_bytes(),
            Node::Repeat { node, min, .. } => {
                let (f, e) = node.first_bytes();
                (f, e || *min == 0)
            }
            Node::Backref(..) => (ByteSet::FULL, true),
            Node::Empty | Node::Assert(_) | Node::Look(..) | Node::Keep => (ByteSet::EMPTY, true),
        }
    }

    /// How many nodes the tree has.
    pub fn size(&self) -> usize {
        1 + match self {
            Node::Concat(v) | Node::Alt(v) => v.iter().map(Node::size).sum(),
            Node::Group(_, n) | Node::Atomic(n) | Node::Look(_, _, n) => n.size(),
            Node::Repeat { node, .. } => node.size(),
            _ => 0,
        }
    }

    /// The node with each child `c` replaced by `f(c)`.
    pub fn map_children(&self, mut f: impl FnMut(&Node) -> Node) -> Node {
        match self {
            Node::Concat(v) => Node::Concat(v.iter().map(f).collect()),
            Node::Alt(v) => Node::Alt(v.iter().map(f).collect()),
            Node::Group(c, n) => Node::Group(*c, Box::new(f(n))),
            Node::Atomic(n) => Node::Atomic(Box::new(f(n))),
            Node::Look(b, neg, n) => Node::Look(*b, *neg, Box::new(f(n))),
            Node::Repeat {
                node,
                min,
                max,
                greedy,
                possessive,
            } => Node::Repeat {
                node: Box::new(f(node)),
                min: *min,
                max: *max,
                greedy: *greedy,
                possessive: *possessive,
            },
            _ => self.clone(),
        }
    }

    /// Whether `f` holds for this node or any node inside it.
    pub fn any(&self, f: &mut impl FnMut(&Node) -> bool) -> bool {
        if f(self) {
            return true;
        }
        match self {
            Node::Concat(v) | Node::Alt(v) => v.iter().any(|n| n.any(f)),
            Node::Group(_, n)
            | Node::Atomic(n)
            | Node::Look(_, _, n)
            | Node::Repeat { node: n, .. } => n.any(f),
            _ => false,
        }
    }

    /// The highest group a backreference names (0: none).
    pub fn max_backref(&self) -> u32 {
        match self {
            Node::Backref(g, _) => *g,
            Node::Concat(v) | Node::Alt(v) => v.iter().map(Node::max_backref).max().unwrap_or(0),
            Node::Group(_, n) | Node::Atomic(n) | Node::Look(_, _, n) => n.max_backref(),
            Node::Repeat { node, .. } => node.max_backref(),
            _ => 0,
        }
    }

    /// The most bytes a match consumes (`None`: unbounded).
    pub fn max_len(&self) -> Option<u64> {
        match self {
            Node::Class(_) => Some(1),
            Node::Concat(v) => v
                .iter()
                .try_fold(0u64, |a, n| n.max_len().map(|m| a.saturating_add(m))),
            Node::Alt(v) => v
                .iter()
                .try_fold(0u64, |a, n| n.max_len().map(|m| a.max(m))),
            Node::Group(_, n) | Node::Atomic(n) => n.max_len(),
            Node::Repeat { node, max, .. } => {
                let m = node.max_len()?;
                if m == 0 {
                    Some(0)
                } else {
                    max.map(|x| m.saturating_mul(u64::from(x)))
                }
            }
            Node::Backref(..) => None,
            _ => Some(0),
        }
    }

    /// True when the node needs the fallback engine whatever its context.
    pub fn needs_fallback(&self) -> Option<&'static str> {
        match self {
            Node::Look(..) => Some("look-around"),
            Node::Backref(..) => Some("backreference"),
            Node::Atomic(_) => Some("atomic group"),
            Node::Keep => Some("\\K"),
            Node::Assert(Assert::Continue) => Some("\\G"),
            Node::Repeat {
                possessive: true, ..
            } => Some("possessive quantifier"),
            Node::Concat(v) | Node::Alt(v) => v.iter().find_map(Node::needs_fallback),
            Node::Group(_, n) => n.needs_fallback(),
            Node::Repeat { node, .. } => node.needs_fallback(),
            _ => None,
        }
    }

    fn is_void(&self) -> bool {
        match self {
            Node::Empty => true,
            Node::Group(_, n) => n.is_void(),
            Node::Concat(v) => v.iter().all(Node::is_void),
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Default)]
struct Flags {
    i: bool,
    m: bool,
    s: bool,
    x: bool,
    xx: bool,
    n: bool,
}

/// Parses `pattern` with SpamAssassin's `flags` (letters after the closing
/// delimiter). Returns the tree and the number of capture groups.
pub fn parse(pattern: &[u8], flags: &str) -> Result<(Node, u32), RegexError> {
    let mut f = Flags::default();
    for c in flags.chars() {
        match c {
            'i' => f.i = true,
            'm' => f.m = true,
            's' => f.s = true,
            'x' => f.x = true,
            'n' => f.n = true,
            // Charset and no-op modifiers Perl accepts; the character set
            // stays /aa as SpamAssassin compiles it.
            'p' | 'a' | 'u' | 'l' | 'd' => {}
            'g' | 'o' | 'c' => {
                return Err(RegexError::Invalid(format!(
                    "useless (?{c}) modifier (SpamAssassin rejects the warning)"
                )));
            }
            _ => return Err(RegexError::Invalid(format!("unknown modifier {c:?}"))),
        }
    }
    if flags.matches('x').count() >= 2 {
        f.xx = true;
    }
    if pattern.windows(2).any(|w| w == b"?{") && contains_code_block(pattern) {
        return Err(RegexError::Invalid("code block (?{…})".into()));
    }
    let mut p = Parser {
        s: pattern,
        i: 0,
        groups: 0,
        total_groups: count_groups(pattern),
        names: Vec::new(),
        depth: 0,
    };
    let node = p.alt(&mut f)?;
    if p.i < p.s.len() {
        return Err(p.err("unmatched )"));
    }
    if node.max_backref() > p.groups {
        return Err(RegexError::Invalid("reference to nonexistent group".into()));
    }
    Ok((node, p.groups))
}

fn contains_code_block(p: &[u8]) -> bool {
    p.windows(3).any(|w| w == b"(?{") || p.windows(4).any(|w| w == b"(??{")
}

/// Counts the capture groups roughly (for `\10`: backreference or octal).
fn count_groups(p: &[u8]) -> u32 {
    let mut n = 0u32;
    let mut i = 0;
    let mut in_class = false;
    while i < p.len() {
        match p[i] {
            b'\\' => i += 1,
            b'[' if !in_class => in_class = true,
            b']' if in_class => in_class = false,
            b'(' if !in_class => {
                let rest = &p[i + 1..];
                if !rest.starts_with(b"?")
                    || (rest.starts_with(b"?<")
                        && !rest.starts_with(b"?<=")
                        && !rest.starts_with(b"?<!"))
                    || rest.starts_with(b"?'")
                    || rest.starts_with(b"?P<")
                {
                    n = n.saturating_add(1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    n
}

const MAX_DEPTH: u32 = 200;
const MAX_REPEAT: u32 = 65534;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    groups: u32,
    total_groups: u32,
    names: Vec<(Vec<u8>, u32)>,
    depth: u32,
}

enum Item {
    Node(Node),
    Nothing,
}

impl Parser<'_> {
    fn err(&self, msg: &str) -> RegexError {
        RegexError::Invalid(format!("{msg} at byte {}", self.i))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i.min(self.s.len())..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn skip_x(&mut self, f: &Flags) {
        if !f.x {
            return;
        }
        while let Some(c) = self.peek() {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b'\x0B' | b'\x0C') {
                self.i += 1;
            } else if c == b'#' {
                while let Some(c) = self.peek() {
                    self.i += 1;
                    if c == b'\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    fn alt(&mut self, f: &mut Flags) -> Result<Node, RegexError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(RegexError::Unsupported("nesting too deep".into()));
        }
        let mut branches = vec![self.concat(f)?];
        while self.eat(b"|") {
            branches.push(self.concat(f)?);
        }
        self.depth -= 1;
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self, f: &mut Flags) -> Result<Node, RegexError> {
        let mut items: Vec<Node> = Vec::new();
        // Whether the last item may take a quantifier.
        let mut quantifiable = false;
        loop {
            self.skip_x(f);
            let Some(c) = self.peek() else { break };
            if c == b'|' || c == b')' {
                break;
            }
            // Quantifiers.
            if let Some((min, max, end)) = self.quantifier_at(self.i)? {
                if !quantifiable {
                    if c == b'{' {
                        // A brace that follows nothing is literal.
                        self.i += 1;
                        items.push(lit(b'{', f));
                        quantifiable = true;
                        continue;
                    }
                    return Err(self.err("quantifier follows nothing"));
                }
                self.i = end;
                let mut greedy = true;
                let mut possessive = false;
                if self.eat(b"?") {
                    greedy = false;
                } else if self.eat(b"+") {
                    possessive = true;
                }
                if max.is_some_and(|m| m < min) {
                    return Err(self.err("quantifier {n,m} with n > m"));
                }
                let node = Box::new(items.pop().unwrap_or(Node::Empty));
                if node.max_len() == Some(0) && max != Some(1) {
                    return Err(self
                        .err("quantified zero-length expression matches null string many times"));
                }
                items.push(Node::Repeat {
                    node,
                    min,
                    max,
                    greedy,
                    possessive,
                });
                quantifiable = false;
                self.skip_x(f);
                if self.quantifier_at(self.i)?.is_some() {
                    return Err(self.err("nested quantifiers"));
                }
                continue;
            }
            if c == b'{' {
                if quantifiable {
                    return Err(self.err("unescaped left brace"));
                }
                self.i += 1;
                items.push(lit(b'{', f));
                quantifiable = true;
                continue;
            }
            match self.atom(f)? {
                Item::Node(n) => {
                    quantifiable = !matches!(n, Node::Assert(_));
                    items.push(n);
                }
                Item::Nothing => {}
            }
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    /// A quantifier starting at `at`: (min, max, end).
    fn quantifier_at(&self, at: usize) -> Result<Option<(u32, Option<u32>, usize)>, RegexError> {
        match self.s.get(at) {
            Some(b'*') => Ok(Some((0, None, at + 1))),
            Some(b'+') => Ok(Some((1, None, at + 1))),
            Some(b'?') => Ok(Some((0, Some(1), at + 1))),
            Some(b'{') => {
                // {n}, {n,}, {n,m}, {,m}, with blanks allowed inside (5.34+).
                let mut j = at + 1;
                let blanks = |j: &mut usize| {
                    while matches!(self.s.get(*j), Some(b' ' | b'\t')) {
                        *j += 1;
                    }
                };
                let num = |j: &mut usize| -> Option<u64> {
                    let st = *j;
                    let mut v: u64 = 0;
                    while let Some(d @ b'0'..=b'9') = self.s.get(*j) {
                        v = v.saturating_mul(10).saturating_add(u64::from(d - b'0'));
                        *j += 1;
                    }
                    (*j > st).then_some(v)
                };
                blanks(&mut j);
                let lo = num(&mut j);
                blanks(&mut j);
                let (min, max) = if self.s.get(j) == Some(&b',') {
                    j += 1;
                    blanks(&mut j);
                    let hi = num(&mut j);
                    blanks(&mut j);
                    if lo.is_none() && hi.is_none() {
                        return Ok(None);
                    }
                    (lo.unwrap_or(0), hi)
                } else {
                    match lo {
                        Some(v) => (v, Some(v)),
                        None => return Ok(None),
                    }
                };
                if self.s.get(j) != Some(&b'}') {
                    return Ok(None);
                }
                let big = |v: u64| v > u64::from(MAX_REPEAT);
                if big(min) || max.is_some_and(big) {
                    return Err(RegexError::Invalid(format!(
                        "quantifier in {{,}} bigger than {MAX_REPEAT}"
                    )));
                }
                Ok(Some((min as u32, max.map(|m| m as u32), j + 1)))
            }
            _ => Ok(None),
        }
    }

    fn atom(&mut self, f: &mut Flags) -> Result<Item, RegexError> {
        let Some(c) = self.peek() else {
            return Ok(Item::Nothing);
        };
        self.i += 1;
        Ok(Item::Node(match c {
            b'(' => return self.group(f),
            b'[' => Node::Class(self.class(f)?),
            b'.' => Node::Class(if f.s { ByteSet::FULL } else { not_nl() }),
            b'^' => Node::Assert(if f.m {
                Assert::StartLine
            } else {
                Assert::Start
            }),
            b'$' => Node::Assert(if f.m { Assert::EndLine } else { Assert::EndNl }),
            b'\\' => self.escape(f)?,
            _ => lit(c, f),
        }))
    }

    fn group(&mut self, f: &mut Flags) -> Result<Item, RegexError> {
        if self.eat(b"*") {
            return Err(RegexError::Unsupported("backtracking verb (*…)".into()));
        }
        if !self.eat(b"?") {
            let cap = !f.n;
            if cap {
                self.groups += 1;
            }
            return self.group_body(f, cap);
        }
        if self.eat(b"#") {
            while let Some(c) = self.peek() {
                self.i += 1;
                if c == b')' {
                    return Ok(Item::Nothing);
                }
            }
            return Err(self.err("unterminated (?#"));
        }
        if self.eat(b":") {
            return self.group_body(f, false);
        }
        if self.eat(b"=") || self.eat(b"!") {
            let neg = self.s[self.i - 1] == b'!';
            return self.look(f, false, neg);
        }
        if self.eat(b"<=") || self.eat(b"<!") {
            let neg = self.s[self.i - 1] == b'!';
            return self.look(f, true, neg);
        }
        if self.eat(b">") {
            let mut g = *f;
            let body = self.alt(&mut g)?;
            self.close()?;
            return Ok(Item::Node(Node::Atomic(Box::new(body))));
        }
        if self.eat(b"P=") {
            let name = self.name(b')')?;
            return Ok(Item::Node(Node::Backref(self.lookup(&name)?, f.i)));
        }
        if self.eat(b"P>") || self.eat(b"&") || self.eat(b"R") || self.eat(b"(") || self.eat(b"|") {
            return Err(RegexError::Unsupported(
                "recursion, conditional or branch reset".into(),
            ));
        }
        if matches!(self.peek(), Some(b'0'..=b'9' | b'+')) || self.s[self.i..].starts_with(b"-1") {
            return Err(RegexError::Unsupported("recursion".into()));
        }
        let named = if self.eat(b"P<") || self.eat(b"<") {
            Some(b'>')
        } else if self.eat(b"'") {
            Some(b'\'')
        } else {
            None
        };
        if let Some(close) = named {
            let name = self.name(close)?;
            self.groups += 1;
            self.names.push((name, self.groups));
            return self.group_body(f, true);
        }
        // Flags: (?^imnsx-imnsx) or (?imnsx-imnsx:…).
        let mut g = *f;
        if self.eat(b"^") {
            g = Flags::default();
        }
        let mut on = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated group"));
            };
            self.i += 1;
            match c {
                b'i' => g.i = on,
                b'm' => g.m = on,
                b's' => g.s = on,
                b'x' => {
                    if on && g.x && self.s.get(self.i - 2) == Some(&b'x') {
                        g.xx = true;
                    }
                    g.x = on;
                    if !on {
                        g.xx = false;
                    }
                }
                b'n' => g.n = on,
                b'p' | b'a' | b'u' | b'l' | b'd' => {}
                b'-' if on => on = false,
                b')' => {
                    *f = g;
                    return Ok(Item::Nothing);
                }
                b':' => {
                    let body = self.alt(&mut g)?;
                    self.close()?;
                    return Ok(Item::Node(Node::Group(false, Box::new(body))));
                }
                b'g' | b'o' | b'c' => {
                    return Err(self.err("useless (?g), (?o) or (?c)"));
                }
                _ => return Err(self.err("unknown group or flag")),
            }
        }
    }

    fn group_body(&mut self, f: &Flags, cap: bool) -> Result<Item, RegexError> {
        let mut g = *f;
        let body = self.alt(&mut g)?;
        self.close()?;
        Ok(Item::Node(Node::Group(cap, Box::new(body))))
    }

    fn look(&mut self, f: &Flags, behind: bool, neg: bool) -> Result<Item, RegexError> {
        let mut g = *f;
        let body = self.alt(&mut g)?;
        self.close()?;
        if behind && body.max_len().is_none_or(|m| m > 255) {
            return Err(self.err("lookbehind longer than 255 not implemented"));
        }
        Ok(Item::Node(Node::Look(behind, neg, Box::new(body))))
    }

    fn close(&mut self) -> Result<(), RegexError> {
        if self.eat(b")") {
            Ok(())
        } else {
            Err(self.err("unmatched ("))
        }
    }

    fn name(&mut self, close: u8) -> Result<Vec<u8>, RegexError> {
        let st = self.i;
        while let Some(c) = self.peek() {
            if c == close {
                let n = self.s[st..self.i].to_vec();
                self.i += 1;
                if n.is_empty() || !n.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_') {
                    return Err(self.err("bad group name"));
                }
                return Ok(n);
            }
            self.i += 1;
        }
        Err(self.err("unterminated group name"))
    }

    fn lookup(&self, name: &[u8]) -> Result<u32, RegexError> {
        self.names
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, g)| *g)
            .ok_or_else(|| self.err("reference to nonexistent named group"))
    }

    fn backref(&self, n: i64, f: &Flags) -> Result<Node, RegexError> {
        if n < 1 || n > i64::from(self.total_groups) {
            return Err(self.err("reference to nonexistent group"));
        }
        Ok(Node::Backref(n as u32, f.i))
    }

    /// After a `\` outside a class.
    fn escape(&mut self, f: &Flags) -> Result<Node, RegexError> {
        let Some(c) = self.peek() else {
            return Err(self.err("trailing \\"));
        };
        self.i += 1;
        Ok(match c {
            b'A' => Node::Assert(Assert::Start),
            b'z' => Node::Assert(Assert::End),
            b'Z' => Node::Assert(Assert::EndNl),
            b'b' | b'B' => {
                if self.peek() == Some(b'{') {
                    return Err(RegexError::Unsupported("\\b{…}".into()));
                }
                Node::Assert(if c == b'b' {
                    Assert::Word
                } else {
                    Assert::NotWord
                })
            }
            b'G' => Node::Assert(Assert::Continue),
            b'K' => Node::Keep,
            b'R' => Node::Atomic(Box::new(Node::Alt(vec![
                Node::Concat(vec![byte(b'\r'), byte(b'\n')]),
                Node::Class(vertical()),
            ]))),
            b'N' if self.peek() != Some(b'{') => Node::Class(not_nl()),
            b'1'..=b'9' => {
                let st = self.i - 1;
                let mut j = st;
                let mut v: i64 = 0;
                while let Some(d @ b'0'..=b'9') = self.s.get(j) {
                    v = v.saturating_mul(10).saturating_add(i64::from(d - b'0'));
                    j += 1;
                }
                if v < 10 || v <= i64::from(self.total_groups) {
                    self.i = j;
                    self.backref(v, f)?
                } else {
                    // Octal, up to three digits.
                    self.i = st;
                    let b = self.octal(3)?;
                    self.code(b, f)
                }
            }
            b'g' => {
                let braced = self.eat(b"{");
                let st = self.i;
                let neg = self.eat(b"-");
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.i += 1;
                }
                let digits = &self.s[if neg { st + 1 } else { st }..self.i];
                if digits.is_empty() {
                    if !braced {
                        return Err(self.err("bad \\g"));
                    }
                    self.i = st;
                    let name = self.name(b'}')?;
                    return Ok(Node::Backref(self.lookup(&name)?, f.i));
                }
                let v: i64 = std::str::from_utf8(digits)
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(i64::MAX);
                if braced && !self.eat(b"}") {
                    return Err(self.err("unterminated \\g{"));
                }
                let n = if neg {
                    i64::from(self.groups) + 1 - v
                } else {
                    v
                };
                self.backref(n, f)?
            }
            b'k' => {
                let close = match self.peek() {
                    Some(b'<') => b'>',
                    Some(b'{') => b'}',
                    Some(b'\'') => b'\'',
                    _ => return Err(self.err("bad \\k")),
                };
                self.i += 1;
                let name = self.name(close)?;
                Node::Backref(self.lookup(&name)?, f.i)
            }
            _ => {
                self.i -= 1;
                match self.class_escape(false)? {
                    Esc::Byte(b) => self.code(u32::from(b), f),
                    Esc::Code(cp) => self.code(cp, f),
                    Esc::Set(s) => Node::Class(s),
                }
            }
        })
    }

    /// A code point as a node (with case folding).
    fn code(&self, cp: u32, f: &Flags) -> Node {
        match u8::try_from(cp) {
            Ok(b) => lit(b, f),
            Err(_) => Node::Class(ByteSet::EMPTY),
        }
    }

    fn octal(&mut self, max: usize) -> Result<u32, RegexError> {
        let mut v = 0u32;
        let mut n = 0;
        while n < max {
            match self.peek() {
                Some(d @ b'0'..=b'7') => {
                    v = v * 8 + u32::from(d - b'0');
                    self.i += 1;
                    n += 1;
                }
                Some(b'8' | b'9') if n > 0 => {
                    return Err(self.err("non-octal character terminates octal escape"));
                }
                _ => break,
            }
        }
        if n == 0 {
            return Err(self.err("reference to nonexistent group"));
        }
        Ok(v)
    }

    /// Escapes shared by classes and the outside: the byte after `\` is at
    /// `self.i`.
    fn class_escape(&mut self, in_class: bool) -> Result<Esc, RegexError> {
        let Some(c) = self.peek() else {
            return Err(self.err("trailing \\"));
        };
        self.i += 1;
        Ok(match c {
            b'd' => Esc::Set(digit()),
            b'D' => Esc::Set(digit().negate()),
            b'w' => Esc::Set(word()),
            b'W' => Esc::Set(word().negate()),
            b's' => Esc::Set(space()),
            b'S' => Esc::Set(space().negate()),
            b'h' => Esc::Set(horizontal()),
            b'H' => Esc::Set(horizontal().negate()),
            b'v' => Esc::Set(vertical()),
            b'V' => Esc::Set(vertical().negate()),
            b't' => Esc::Byte(b'\t'),
            b'n' => Esc::Byte(b'\n'),
            b'r' => Esc::Byte(b'\r'),
            b'f' => Esc::Byte(0x0C),
            b'e' => Esc::Byte(0x1B),
            b'a' => Esc::Byte(0x07),
            b'b' if in_class => Esc::Byte(0x08),
            b'0' => {
                self.i -= 1;
                Esc::Code(self.octal(3)?)
            }
            b'1'..=b'7' if in_class => {
                self.i -= 1;
                Esc::Code(self.octal(3)?)
            }
            b'o' => {
                if !self.eat(b"{") {
                    return Err(self.err("missing braces on \\o{}"));
                }
                let st = self.i;
                let v = self.octal(11)?;
                if !self.eat(b"}") || self.i == st {
                    return Err(self.err("bad \\o{}"));
                }
                Esc::Code(v)
            }
            b'x' => {
                if self.eat(b"{") {
                    let st = self.i;
                    while matches!(self.peek(), Some(c) if c != b'}') {
                        self.i += 1;
                    }
                    let body: Vec<u8> = self.s[st..self.i]
                        .iter()
                        .copied()
                        .filter(|c| *c != b'_' && *c != b' ' && *c != b'\t')
                        .collect();
                    if !self.eat(b"}") {
                        return Err(self.err("missing right brace on \\x{}"));
                    }
                    Esc::Code(hex(&body))
                } else {
                    let st = self.i;
                    while self.i < st + 2 && matches!(self.peek(), Some(c) if c.is_ascii_hexdigit())
                    {
                        self.i += 1;
                    }
                    Esc::Code(hex(&self.s[st..self.i]))
                }
            }
            b'c' => {
                let Some(x) = self.peek() else {
                    return Err(self.err("character following \\c must be printable ASCII"));
                };
                if !(0x20..0x7F).contains(&x) {
                    return Err(self.err("character following \\c must be printable ASCII"));
                }
                self.i += 1;
                Esc::Byte(x.to_ascii_uppercase() ^ 0x40)
            }
            b'N' => {
                // \N{U+hex}
                if !self.eat(b"{U+") {
                    return Err(RegexError::Unsupported("named character \\N{…}".into()));
                }
                let st = self.i;
                while matches!(self.peek(), Some(c) if c.is_ascii_hexdigit() || c == b'.') {
                    self.i += 1;
                }
                let body = self.s[st..self.i].to_vec();
                if !self.eat(b"}") || body.contains(&b'.') {
                    return Err(RegexError::Unsupported("\\N{U+…} sequence".into()));
                }
                Esc::Code(hex(&body))
            }
            b'p' | b'P' | b'X' => {
                return Err(RegexError::Unsupported(format!(
                    "Unicode escape \\{}",
                    c as char
                )));
            }
            c if c.is_ascii_alphanumeric() => {
                return Err(self.err(&format!(
                    "unrecognized escape \\{} (SpamAssassin rejects the warning)",
                    c as char
                )));
            }
            c => Esc::Byte(c),
        })
    }

    /// After `[`.
    fn class(&mut self, f: &Flags) -> Result<ByteSet, RegexError> {
        let neg = self.eat(b"^");
        let body_start = self.i;
        let mut set = ByteSet::EMPTY;
        let mut first = true;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unmatched ["));
            };
            if f.xx && (c == b' ' || c == b'\t') {
                self.i += 1;
                continue;
            }
            if c == b']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            if c == b'[' {
                let rest = &self.s[self.i + 1..];
                if let Some(&d) = rest.first()
                    && matches!(d, b':' | b'=' | b'.')
                    && let Some(end) = find_posix_end(rest, d)
                {
                    let inner = &rest[1..end];
                    if d != b':' {
                        return Err(self.err("POSIX syntax [= =] and [. .] is reserved"));
                    }
                    let (pneg, name) = match inner.strip_prefix(b"^") {
                        Some(n) => (true, n),
                        None => (false, inner),
                    };
                    let s = posix(name).ok_or_else(|| self.err("unknown POSIX class"))?;
                    set.union(&if pneg { s.negate() } else { s });
                    self.i += 1 + end + 2;
                    continue;
                }
            }
            // One element: a byte or a set.
            self.i += 1;
            let elem = if c == b'\\' {
                self.class_escape(true)?
            } else {
                Esc::Byte(c)
            };
            let elem = match elem {
                Esc::Code(cp) => match u8::try_from(cp) {
                    Ok(b) => Esc::Byte(b),
                    Err(_) => {
                        continue;
                    }
                },
                e => e,
            };
            match elem {
                Esc::Set(s) => {
                    if self.peek() == Some(b'-') && self.s.get(self.i + 1) != Some(&b']') {
                        return Err(self.err("false [] range"));
                    }
                    set.union(&s);
                }
                Esc::Byte(b) => {
                    // Range?
                    if self.peek() == Some(b'-')
                        && self.s.get(self.i + 1).is_some_and(|&n| n != b']')
                    {
                        self.i += 1;
                        let hc = self.peek().unwrap_or(b']');
                        self.i += 1;
                        let hi = if hc == b'\\' {
                            match self.class_escape(true)? {
                                Esc::Byte(h) => u32::from(h),
                                Esc::Code(cp) => cp,
                                Esc::Set(_) => return Err(self.err("false [] range")),
                            }
                        } else {
                            u32::from(hc)
                        };
                        if hi < u32::from(b) {
                            return Err(self.err("invalid [] range"));
                        }
                        set.add_range(b, u8::try_from(hi).unwrap_or(255));
                    } else {
                        set.add(b);
                    }
                }
                Esc::Code(_) => {}
            }
        }
        // `[:alpha:]` outside a bracket class: a fatal warning in SA.
        let body = &self.s[body_start..self.i - 1];
        if body.len() >= 2 && body[0] == b':' && body[body.len() - 1] == b':' {
            return Err(self.err("POSIX syntax [: :] belongs inside character classes"));
        }
        if f.i {
            set = set.fold();
        }
        Ok(if neg { set.negate() } else { set })
    }
}

fn find_posix_end(rest: &[u8], d: u8) -> Option<usize> {
    // rest starts with d; look for d] before any ]
    let mut j = 1;
    while j + 1 < rest.len() {
        if rest[j] == b']' {
            return None;
        }
        if rest[j] == d && rest[j + 1] == b']' {
            return Some(j);
        }
        j += 1;
    }
    None
}

enum Esc {
    Byte(u8),
    Code(u32),
    Set(ByteSet),
}

fn hex(d: &[u8]) -> u32 {
    let mut v: u32 = 0;
    for &c in d {
        let Some(x) = (c as char).to_digit(16) else {
            break;
        };
        v = v.saturating_mul(16).saturating_add(x);
    }
    v
}

fn byte(b: u8) -> Node {
    let mut s = ByteSet::EMPTY;
    s.add(b);
    Node::Class(s)
}

fn lit(b: u8, f: &Flags) -> Node {
    let mut s = ByteSet::EMPTY;
    s.add(b);
    Node::Class(if f.i { s.fold() } else { s })
}

fn not_nl() -> ByteSet {
    ByteSet::of(|b| b != b'\n')
}
fn digit() -> ByteSet {
    ByteSet::of(|b| b.is_ascii_digit())
}
fn word() -> ByteSet {
    ByteSet::of(|b| b.is_ascii_alphanumeric() || b == b'_')
}
fn space() -> ByteSet {
    ByteSet::of(|b| matches!(b, b'\t' | b'\n' | 0x0B | 0x0C | b'\r' | b' '))
}
fn horizontal() -> ByteSet {
    ByteSet::of(|b| matches!(b, b'\t' | b' ' | 0xA0))
}
fn vertical() -> ByteSet {
    ByteSet::of(|b| matches!(b, b'\n' | 0x0B | 0x0C | b'\r' | 0x85))
}

fn posix(name: &[u8]) -> Option<ByteSet> {
    Some(match name {
        b"alpha" => ByteSet::of(|b| b.is_ascii_alphabetic()),
        b"digit" => digit(),
        b"alnum" => ByteSet::of(|b| b.is_ascii_alphanumeric()),
        b"upper" => ByteSet::of(|b| b.is_ascii_uppercase()),
        b"lower" => ByteSet::of(|b| b.is_ascii_lowercase()),
        b"space" => space(),
        b"blank" => ByteSet::of(|b| b == b' ' || b == b'\t'),
        b"cntrl" => ByteSet::of(|b| b < 0x20 || b == 0x7F),
        b"graph" => ByteSet::of(|b| (0x21..0x7F).contains(&b)),
        b"print" => ByteSet::of(|b| (0x20..0x7F).contains(&b)),
        b"punct" => ByteSet::of(|b| b.is_ascii_punctuation()),
        b"xdigit" => ByteSet::of(|b| b.is_ascii_hexdigit()),
        b"word" => word(),
        b"ascii" => ByteSet::of(|b| b < 0x80),
        _ => return None,
    })
}

// ---------------------------------------------------------------------------
// Emitters

/// Which dialect to write.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Native,
    Relaxed,
    Fancy,
}

/// What follows a node up to the end of the pattern.
#[derive(Clone, Copy)]
struct Cont {
    /// Nothing at all follows.
    empty: bool,
    /// What follows must consume at least one byte.
    consumes: bool,
}

/// What follows the whole pattern: nothing.
const END: Cont = Cont {
    empty: true,
    consumes: false,
};

/// The pattern in the regex crate's syntax (bytes, Unicode off), or the
/// reason it needs the fallback engine.
pub fn native(node: &Node) -> Result<String, &'static str> {
    if let Some(why) = node.needs_fallback() {
        return Err(why);
    }
    let mut out = String::new();
    emit(node, Mode::Native, END, &mut out)?;
    Ok(out)
}

/// A native pattern that matches wherever the original can (and perhaps
/// elsewhere): look-around and `\K` dropped, backreferences as "anything",
/// atomic groups and possessive quantifiers as plain ones, and counted
/// repetitions with wide bounds (`{0,200}`) without their upper bound.
/// The last is for speed: the relaxed form gates the fallback engine on
/// every text it might match, and a lazy DFA for `[^\n]{0,200}` makes a
/// state per count where `[^\n]*` makes one (stock rules, callgrind over
/// 400 corpus messages: 8.88 to 8.36 million instructions per message).
pub fn relaxed(node: &Node) -> String {
    let mut out = String::new();
    // Relaxed never fails.
    let _ = emit(&relaxed_node(node), Mode::Relaxed, END, &mut out);
    out
}

/// The tree the relaxed form renders: backreferences replaced by what
/// their groups match ([`backrefs_as_groups`]).
fn relaxed_node(node: &Node) -> Node {
    let mut groups = Vec::new();
    capture_groups(node, &mut groups);
    backrefs_as_groups(node, &groups)
}

/// The bodies of the capturing groups, in the order Perl numbers them
/// (by opening parenthesis).
pub(crate) fn capture_groups<'a>(node: &'a Node, out: &mut Vec<&'a Node>) {
    match node {
        Node::Group(cap, n) => {
            if *cap {
                out.push(n);
            }
            capture_groups(n, out);
        }
        Node::Concat(v) | Node::Alt(v) => v.iter().for_each(|n| capture_groups(n, out)),
        Node::Atomic(n) | Node::Look(_, _, n) | Node::Repeat { node: n, .. } => {
            capture_groups(n, out)
        }
        _ => {}
    }
}

/// Largest group body a relaxed backreference copies, in nodes.
const BACKREF_COPY: usize = 64;

/// The tree with each backreference replaced by what its group matches
/// (for the relaxed form). A backreference repeats text its group
/// matched, so the group's pattern accepts it; with look-around and
/// position tests dropped, because the text now stands somewhere else;
/// folded under `/i`; and with the copy's own backreferences left as
/// they are (the relaxed form makes them "anything"). Far stronger than
/// "anything": `-([0-9a-f]{3})-\1-` no longer matches across lines. A
/// large group keeps "anything", to keep the relaxed regex small.
fn backrefs_as_groups(node: &Node, groups: &[&Node]) -> Node {
    match node {
        Node::Backref(g, casei) => match groups.get((*g as usize).wrapping_sub(1)) {
            Some(body) if body.size() <= BACKREF_COPY => {
                Node::Group(false, Box::new(as_copy(body, *casei)))
            }
            _ => node.clone(),
        },
        _ => node.map_children(|n| backrefs_as_groups(n, groups)),
    }
}

/// A group's pattern as a backreference to it may match: see
/// [`backrefs_as_groups`]. Only the relaxed form reads it, which makes
/// atomic groups and possessive quantifiers plain anyway.
fn as_copy(node: &Node, casei: bool) -> Node {
    match node {
        Node::Class(s) if casei => Node::Class(s.fold()),
        Node::Assert(_) | Node::Look(..) | Node::Keep => Node::Empty,
        _ => node.map_children(|n| as_copy(n, casei)),
    }
}

/// [`native`] as the regex crate's syntax tree, built directly: what
/// parsing the written pattern gives, without writing and parsing it.
///
/// ```
/// use filter::spam::regex::perl::{native, native_hir, parse};
/// let (node, _) = parse(br"\bfree$", "i").unwrap();
/// let written = native(&node).unwrap();
/// let parsed = regex_syntax::ParserBuilder::new()
///     .unicode(false)
///     .utf8(false)
///     .build()
///     .parse(&written)
///     .unwrap();
/// assert_eq!(native_hir(&node), Ok(parsed));
/// let (look, _) = parse(br"free(?!dom)", "").unwrap();
/// assert_eq!(native_hir(&look), Err("look-around"));
/// ```
pub fn native_hir(node: &Node) -> Result<Hir, &'static str> {
    if let Some(why) = node.needs_fallback() {
        return Err(why);
    }
    build(node, Mode::Native, END)
}

/// [`relaxed`] as the regex crate's syntax tree, built directly.
pub fn relaxed_hir(node: &Node) -> Hir {
    // Relaxed never fails.
    build(&relaxed_node(node), Mode::Relaxed, END).unwrap_or_else(|_| Hir::fail())
}

/// The tree [`emit`] writes, for the native and relaxed modes.
fn build(node: &Node, mode: Mode, cont: Cont) -> Result<Hir, &'static str> {
    Ok(match node {
        Node::Empty => Hir::empty(),
        Node::Class(s) => Hir::class(Class::Bytes(ClassBytes::new(
            s.ranges().map(|(lo, hi)| ClassBytesRange::new(lo, hi)),
        ))),
        Node::Concat(v) => {
            let subs = v
                .iter()
                .zip(concat_conts(v, cont))
                .map(|(n, c)| build(n, mode, c));
            Hir::concat(subs.collect::<Result<_, _>>()?)
        }
        Node::Alt(v) => {
            let subs = v.iter().map(|n| build(n, mode, cont));
            Hir::alternation(subs.collect::<Result<_, _>>()?)
        }
        Node::Group(_, n) => build(n, mode, cont)?,
        Node::Repeat {
            node,
            min,
            max,
            greedy,
            possessive,
        } => {
            if node.max_len() == Some(0) {
                // As `emit` writes it.
                return if *min > 0 {
                    build(node, mode, cont)
                } else {
                    Ok(Hir::empty())
                };
            }
            if mode == Mode::Native && *possessive {
                return Err("possessive quantifier");
            }
            let c = Cont {
                empty: cont.empty && *max == Some(1),
                consumes: cont.consumes,
            };
            let max = match max {
                Some(m) if mode == Mode::Relaxed && *m > min.saturating_add(RELAX_SPAN) => None,
                m => *m,
            };
            Hir::repetition(Repetition {
                min: *min,
                max,
                greedy: *greedy,
                sub: Box::new(build(node, mode, c)?),
            })
        }
        Node::Assert(a) => match (a, mode) {
            (Assert::Start, _) => Hir::look(Look::Start),
            (Assert::End, _) => Hir::look(Look::End),
            (Assert::Word, _) => Hir::look(Look::WordAscii),
            (Assert::NotWord, _) => Hir::look(Look::WordAsciiNegate),
            (Assert::EndLine, _) => Hir::look(Look::EndLF),
            (Assert::StartLine, Mode::Native) if !cont.consumes => {
                return Err("^ under /m before a tail that may be empty");
            }
            (Assert::StartLine, _) => Hir::look(Look::StartLF),
            (Assert::EndNl, _) if cont.empty => Hir::concat(vec![
                Hir::repetition(Repetition {
                    min: 0,
                    max: Some(1),
                    greedy: true,
                    sub: Box::new(Hir::literal(*b"\n")),
                }),
                Hir::look(Look::End),
            ]),
            (Assert::EndNl, Mode::Native) => return Err("$ before more pattern"),
            (Assert::Continue, Mode::Native) => return Err("\\G"),
            (Assert::EndNl | Assert::Continue, _) => Hir::empty(),
        },
        Node::Look(..) | Node::Keep if mode == Mode::Relaxed => Hir::empty(),
        Node::Look(..) => return Err("look-around"),
        Node::Keep => return Err("\\K"),
        Node::Atomic(n) if mode == Mode::Relaxed => build(n, mode, cont)?,
        Node::Atomic(_) => return Err("atomic group"),
        Node::Backref(..) if mode == Mode::Relaxed => Hir::repetition(Repetition {
            min: 0,
            max: None,
            greedy: true,
            sub: Box::new(Hir::class(Class::Bytes(ClassBytes::new([
                ClassBytesRange::new(0, 255),
            ])))),
        }),
        Node::Backref(..) => return Err("backreference"),
    })
}

/// The pattern in fancy-regex syntax (bytes mode, ASCII).
pub fn fancy(node: &Node) -> String {
    let mut out = String::new();
    let _ = emit(node, Mode::Fancy, END, &mut out);
    out
}

fn push_byte(b: u8, out: &mut String) {
    if b.is_ascii_alphanumeric() {
        out.push(b as char);
    } else {
        push_hex(b, out);
    }
}

/// `\xHH`, without a formatting allocation (classes are written byte by
/// byte, thousands of them for SpamAssassin's look-alike tags).
fn push_hex(b: u8, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push_str("\\x");
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 15)]));
}

fn push_class(s: &ByteSet, out: &mut String) {
    let n = s.len();
    if n == 1 {
        if let Some(b) = s.iter().next() {
            push_byte(b, out);
        }
        return;
    }
    if n == 0 {
        out.push_str("[^\\x00-\\xFF]");
        return;
    }
    if n == 256 {
        out.push_str("[\\x00-\\xFF]");
        return;
    }
    out.push('[');
    for (lo, hi) in s.ranges() {
        push_hex(lo, out);
        if hi > lo {
            out.push('-');
            push_hex(hi, out);
        }
    }
    out.push(']');
}

/// What follows each child of a concatenation `v` that `cont` follows:
/// worked out from the back in one pass.
fn concat_conts(v: &[Node], cont: Cont) -> Vec<Cont> {
    let mut conts = vec![cont; v.len()];
    let mut after = cont;
    for (c, n) in conts.iter_mut().zip(v).rev() {
        *c = after;
        after = Cont {
            empty: after.empty && n.is_void(),
            consumes: after.consumes || n.min_len() > 0,
        };
    }
    conts
}

/// A counted repetition whose bounds differ by more than this loses its
/// upper bound in the relaxed form.
const RELAX_SPAN: u32 = 3;

fn emit(node: &Node, mode: Mode, cont: Cont, out: &mut String) -> Result<(), &'static str> {
    match node {
        Node::Empty => {}
        Node::Class(s) => push_class(s, out),
        Node::Concat(v) => {
            for (n, c) in v.iter().zip(concat_conts(v, cont)) {
                emit(n, mode, c, out)?;
            }
        }
        Node::Alt(v) => {
            out.push_str("(?:");
            for (i, n) in v.iter().enumerate() {
                if i > 0 {
                    out.push('|');
                }
                emit(n, mode, cont, out)?;
            }
            out.push(')');
        }
        Node::Group(cap, n) => {
            out.push_str(if *cap && mode == Mode::Fancy {
                "("
            } else {
                "(?:"
            });
            emit(n, mode, cont, out)?;
            out.push(')');
        }
        Node::Repeat {
            node,
            min,
            max,
            greedy,
            possessive,
        } => {
            let c = Cont {
                empty: cont.empty && *max == Some(1),
                consumes: cont.consumes,
            };
            if node.max_len() == Some(0) {
                // `(?:\b)?`: the parser only lets a zero-width body repeat
                // at most once, and skipping it always succeeds.
                if *min > 0 {
                    return emit(node, mode, cont, out);
                }
                return Ok(());
            }
            if mode == Mode::Native && *possessive {
                return Err("possessive quantifier");
            }
            out.push_str("(?:");
            emit(node, mode, c, out)?;
            out.push(')');
            match max {
                Some(m) if m == min => out.push_str(&format!("{{{min}}}")),
                // The relaxed form drops a wide upper bound: a superset
                // still, and `[^\n]{0,200}` costs a DFA one state per
                // count where `[^\n]*` costs one.
                Some(m) if mode == Mode::Relaxed && *m > min.saturating_add(RELAX_SPAN) => {
                    out.push_str(&format!("{{{min},}}"))
                }
                Some(m) => out.push_str(&format!("{{{min},{m}}}")),
                None => out.push_str(&format!("{{{min},}}")),
            }
            if !greedy {
                out.push('?');
            } else if *possessive && mode == Mode::Fancy {
                out.push('+');
            }
        }
        Node::Assert(a) => emit_assert(*a, mode, cont, out)?,
        Node::Look(behind, neg, body) => match mode {
            Mode::Native => return Err("look-around"),
            Mode::Relaxed => {}
            Mode::Fancy => {
                out.push_str(match (behind, neg) {
                    (false, false) => "(?=",
                    (false, true) => "(?!",
                    (true, false) => "(?<=",
                    (true, true) => "(?<!",
                });
                emit(
                    body,
                    mode,
                    Cont {
                        empty: false,
                        consumes: false,
                    },
                    out,
                )?;
                out.push(')');
            }
        },
        Node::Atomic(n) => match mode {
            Mode::Native => return Err("atomic group"),
            Mode::Relaxed => {
                out.push_str("(?:");
                emit(n, mode, cont, out)?;
                out.push(')');
            }
            Mode::Fancy => {
                out.push_str("(?>");
                emit(n, mode, cont, out)?;
                out.push(')');
            }
        },
        Node::Backref(g, casei) => match mode {
            Mode::Native => return Err("backreference"),
            Mode::Relaxed => out.push_str("[\\x00-\\xFF]*"),
            // fancy-regex folds ASCII only; Latin-1 letters compare exactly.
            Mode::Fancy if *casei => out.push_str(&format!("(?i:\\{g})")),
            Mode::Fancy => out.push_str(&format!("(?:\\{g})")),
        },
        Node::Keep => match mode {
            Mode::Native => return Err("\\K"),
            Mode::Relaxed => {}
            Mode::Fancy => out.push_str("\\K"),
        },
    }
    Ok(())
}

fn emit_assert(a: Assert, mode: Mode, cont: Cont, out: &mut String) -> Result<(), &'static str> {
    let s = match (a, mode) {
        (Assert::Start, _) => "\\A",
        (Assert::End, _) => "\\z",
        (Assert::Word, _) => "\\b",
        (Assert::NotWord, _) => "\\B",
        (Assert::EndLine, Mode::Fancy) => "(?=\\n|\\z)",
        (Assert::EndLine, _) => "(?m:$)",
        (Assert::StartLine, Mode::Fancy) => "(?:\\A|(?<=\\n)(?!\\z))",
        (Assert::StartLine, Mode::Relaxed) => "(?m:^)",
        (Assert::StartLine, Mode::Native) => {
            if cont.consumes {
                "(?m:^)"
            } else {
                return Err("^ under /m before a tail that may be empty");
            }
        }
        (Assert::EndNl, Mode::Fancy) => "(?=\\n?\\z)",
        (Assert::EndNl, _) if cont.empty => "(?:\\n?\\z)",
        (Assert::EndNl, Mode::Relaxed) => "",
        (Assert::EndNl, Mode::Native) => return Err("$ before more pattern"),
        (Assert::Continue, Mode::Fancy) => "\\G",
        (Assert::Continue, Mode::Relaxed) => "",
        (Assert::Continue, Mode::Native) => return Err("\\G"),
    };
    out.push_str(s);
    Ok(())
}
