//! Building the part tree in one pass.
//!
//! The obvious way to parse nested multiparts is recursive: find the
//! parent's boundaries, cut its body into pieces, then parse each piece,
//! which finds its own boundaries in turn. That reads every byte once per
//! level of nesting, and the nesting is chosen by the sender.
//!
//! This builder reads the input once. It keeps a stack of the boundaries of
//! every multipart that is open at the current position, and every line that
//! starts with `--` is looked up among them, innermost first. The match
//! decides what the line is: the next part of the innermost multipart, its
//! end, or (when it matches an outer boundary) the end of every multipart
//! inside it, which are then flagged `MISSING_CLOSE_BOUNDARY`. A boundary
//! matches only when nothing but whitespace follows it on its line, so a
//! boundary that is a prefix of another (`abc` and `abcdef`) never steals
//! its lines. The lookup is a hash of the line, not a comparison with each
//! open boundary, so a line costs its own length however deep the nesting.
//!
//! Bodies are never copied: a part is a pair of spans (header and body) into
//! the input, plus what its header says about it.
//!
//! Ambiguous structure gets more than one reading. When a header carries two
//! different Content-Type fields, two different boundaries, two different
//! transfer encodings, or a multipart type with no boundary at all, the
//! primary reading follows the first field (as most clients do) and an
//! *alternate* reading of the same body is parsed afterwards and hung under
//! the ambiguous part, every node of it flagged `AMBIGUOUS_STRUCTURE`. A
//! scanner walks both, so it cannot be evaded by a disagreement between
//! parsers. Alternate readings never nest, and together they may read at
//! most as many bytes as the input holds (`ALTERNATE_LIMIT` past that), so
//! the work stays linear.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::decode::Encoding;
use crate::decode::inline::{self, InlineBlock};
use crate::defect::Defects;
use crate::limits::Limits;
use crate::mime::header::{Field, line_end};
use crate::mime::params;
use crate::mime::{Origin, Part, PartKind, Span};

/// A line that matched a boundary on the stack.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Cand {
    /// Start of the boundary line.
    line_start: usize,
    /// Start of the line after it.
    next: usize,
    /// Index into the stack of the multipart it belongs to.
    level: usize,
    /// True for a close delimiter (`--b--`).
    close: bool,
}

/// What to do with an ambiguous part once the primary reading is done.
enum AltReading<'a> {
    /// Read the body as this Content-Type field value says.
    ContentType(&'a [u8]),
    /// Read the body as a multipart with this boundary.
    Boundary(Cow<'a, [u8]>),
    /// Read the (leaf) body with this transfer encoding.
    Encoding(Encoding),
    /// Read the body as a multipart with the boundary a client would guess:
    /// that of its first `--` line.
    Guess,
}

struct Alt<'a> {
    part: usize,
    reading: AltReading<'a>,
}

/// What a header says about its part.
struct Info<'a> {
    media: (&'a [u8], &'a [u8]),
    boundary: Option<Cow<'a, [u8]>>,
    charset: Option<Cow<'a, [u8]>>,
    encoding: Encoding,
}

pub(crate) struct Builder<'a> {
    pub(crate) input: &'a [u8],
    pub(crate) limits: Limits,
    pub(crate) parts: Vec<Part<'a>>,
    pub(crate) fields: Vec<Field>,
    pub(crate) mbox_from: Option<Span>,
    pub(crate) defects: Defects,
    /// Indices (into `parts`) of the open multiparts, outermost first.
    stack: Vec<usize>,
    /// The open boundaries, each with the stack levels that use it.
    open: HashMap<Cow<'a, [u8]>, Vec<usize>>,
    alts: Vec<Alt<'a>>,
    alt_budget: usize,
    in_alternate: bool,
    inline_scratch: Vec<InlineBlock>,
    /// Bytes examined, for the linearity tests: every byte a search passes
    /// over and every byte compared against a boundary.
    pub(crate) work: std::cell::Cell<u64>,
}

/// The start of the line ending that precedes `pos`, but never before `floor`.
fn before_eol(input: &[u8], pos: usize, floor: usize) -> usize {
    if pos <= floor {
        return floor;
    }
    if input[pos - 1] == b'\n' {
        if pos - 1 > floor && input[pos - 2] == b'\r' {
            pos - 2
        } else {
            pos - 1
        }
    } else if input[pos - 1] == b'\r' {
        pos - 1
    } else {
        pos
    }
}

/// The most nesting levels the walker follows, whatever the limits say.
pub const MAX_DEPTH_CAP: usize = 128;

/// The lookup key of a boundary: without trailing blanks.
fn key<'a>(b: Option<&Cow<'a, [u8]>>) -> Cow<'a, [u8]> {
    match b {
        Some(Cow::Borrowed(b)) => Cow::Borrowed(b.trim_ascii_end()),
        Some(Cow::Owned(b)) => Cow::Owned(b.trim_ascii_end().to_vec()),
        None => Cow::Borrowed(b""),
    }
}

fn is(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

impl<'a> Builder<'a> {
    pub(crate) fn new(input: &'a [u8], limits: &Limits) -> Self {
        let mut limits = limits.clone();
        // Recursion follows nesting, at under 1 KiB of stack a level in
        // release builds: the cap keeps a parse inside 128 KiB of stack, so
        // it is safe on any thread an MTA runs it on.
        limits.max_depth = limits.max_depth.min(MAX_DEPTH_CAP);
        Builder {
            input,
            limits,
            parts: Vec::new(),
            fields: Vec::new(),
            mbox_from: None,
            defects: Defects::empty(),
            stack: Vec::new(),
            open: HashMap::new(),
            alts: Vec::new(),
            alt_budget: input.len(),
            in_alternate: false,
            inline_scratch: Vec::new(),
            work: std::cell::Cell::new(0),
        }
    }

    pub(crate) fn run(&mut self) {
        let end = self.input.len();
        self.entity(0, end, None, 0, false, true);
        self.alternates();
        let mut all = self.defects;
        for p in &self.parts {
            all |= p.defects;
        }
        self.defects = all;
    }

    /// If the line at `pos` (which starts with `--`) is a boundary line of an
    /// open multipart, which one.
    pub(crate) fn boundary_at(&self, pos: usize, end: usize) -> Option<Cand> {
        if self.stack.is_empty() {
            return None;
        }
        let (content_end, next) = line_end(self.input, pos, end);
        let line = &self.input[pos + 2..content_end];
        let token = line.trim_ascii_end();
        self.count(line.len() + 1);
        // Boundaries are keyed without trailing blanks; the line must then
        // carry the boundary exactly, blanks included.
        let level_of = |t: &[u8]| {
            let level = *self.open.get(t.trim_ascii_end())?.last()?;
            let b = self.parts[self.stack[level]]
                .boundary
                .as_deref()
                .unwrap_or_default();
            line.starts_with(b).then_some(level)
        };
        let open = level_of(token);
        let close = token.strip_suffix(b"--").and_then(level_of);
        match (open, close) {
            (Some(o), Some(c)) if c > o => Some(Cand {
                line_start: pos,
                next,
                level: c,
                close: true,
            }),
            (Some(o), _) => Some(Cand {
                line_start: pos,
                next,
                level: o,
                close: false,
            }),
            (None, Some(c)) => Some(Cand {
                line_start: pos,
                next,
                level: c,
                close: true,
            }),
            (None, None) => None,
        }
    }

    /// Opens part `idx` (a multipart with its boundary set) at a new level.
    fn push(&mut self, idx: usize) -> usize {
        let level = self.stack.len();
        self.stack.push(idx);
        let key = key(self.parts[idx].boundary.as_ref());
        self.open.entry(key).or_default().push(level);
        level
    }

    /// Closes every level from `level` up.
    fn pop_to(&mut self, level: usize) {
        while self.stack.len() > level {
            let idx = self.stack.pop().unwrap_or_default();
            let b = self.parts[idx]
                .boundary
                .as_deref()
                .unwrap_or_default()
                .trim_ascii_end();
            if let Some(levels) = self.open.get_mut(b) {
                levels.pop();
                if levels.is_empty() {
                    self.open.remove(b);
                }
            }
        }
    }

    /// The next boundary line at or after `from` (a line start), before `end`.
    fn next_boundary(&self, from: usize, end: usize) -> Option<Cand> {
        if self.stack.is_empty() {
            return None;
        }
        let mut pos = from;
        while let Some(line) = self.dash_line(from, pos, end) {
            if let Some(c) = self.boundary_at(line, end) {
                return Some(c);
            }
            pos = line + 2;
        }
        None
    }

    /// The next line at or after `pos` that starts with `--`, where `first`
    /// counts as a line start. One `memchr` for `-` finds it: boundary
    /// lines are rare and base64 has no `-`, so this runs at memory speed;
    /// a run of dashes is skipped whole, so rules of `-----` cost one call.
    fn dash_line(&self, first: usize, mut pos: usize, end: usize) -> Option<usize> {
        let input = self.input;
        while pos < end {
            let Some(i) = memchr::memchr(b'-', &input[pos..end]) else {
                self.count(end - pos);
                return None;
            };
            let hit = pos + i;
            let at_line_start = hit == first || matches!(input[hit - 1], b'\n' | b'\r');
            if at_line_start && hit + 1 < end && input[hit + 1] == b'-' {
                self.count(i + 2);
                return Some(hit);
            }
            pos = hit + 1;
            while pos < end && input[pos] == b'-' {
                pos += 1;
            }
            self.count(pos - (hit - i));
        }
        None
    }

    fn count(&self, n: usize) {
        self.work.set(self.work.get() + n as u64);
    }

    fn new_part(
        &mut self,
        parent: Option<usize>,
        depth: usize,
        start: usize,
        origin: Origin,
    ) -> usize {
        let idx = self.parts.len();
        let nfields = self.fields.len();
        self.parts.push(Part {
            kind: PartKind::Leaf,
            origin,
            alternate: self.in_alternate,
            depth: depth as u32,
            parent: parent.map(|p| p as u32),
            first_child: None,
            last_child: None,
            next_sibling: None,
            header: Span::new(start, start),
            body: Span::new(start, start),
            fields: Span::new(nfields, nfields),
            media_type: b"text",
            media_subtype: b"plain",
            boundary: None,
            charset: None,
            encoding: Encoding::SevenBit,
            preamble: None,
            epilogue: None,
            defects: if self.in_alternate {
                Defects::AMBIGUOUS_STRUCTURE
            } else {
                Defects::empty()
            },
        });
        if let Some(p) = parent {
            self.link_child(p, idx);
        }
        idx
    }

    fn link_child(&mut self, parent: usize, child: usize) {
        match self.parts[parent].last_child {
            None => self.parts[parent].first_child = Some(child as u32),
            Some(last) => self.parts[last as usize].next_sibling = Some(child as u32),
        }
        self.parts[parent].last_child = Some(child as u32);
    }

    fn full(&self) -> bool {
        self.parts.len() >= self.limits.max_parts
    }

    /// Reads what the header of part `idx` says, queueing alternate readings
    /// of ambiguous headers.
    fn info(&mut self, idx: usize, digest_child: bool) -> Info<'a> {
        let input = self.input;
        let fs = self.parts[idx].fields;
        let mut ct: Option<&'a [u8]> = None;
        let mut ct_other: Option<&'a [u8]> = None;
        let mut cte: Option<Encoding> = None;
        let mut cte_other: Option<Encoding> = None;
        let mut defects = Defects::empty();
        for f in &self.fields[fs.start..fs.end] {
            let name = &input[f.name.start..f.name.end];
            let value = &input[f.value.start..f.value.end];
            if is(name, "content-type") {
                match ct {
                    None => ct = Some(value),
                    Some(first) => {
                        defects.insert(Defects::DUPLICATE_CONTENT_TYPE);
                        if ct_other.is_none() && first.trim_ascii() != value.trim_ascii() {
                            ct_other = Some(value);
                        }
                    }
                }
            } else if is(name, "content-transfer-encoding") {
                let e = Encoding::parse(&crate::mime::header::unfold(value));
                match cte {
                    None => cte = Some(e),
                    Some(first) => {
                        defects.insert(Defects::DUPLICATE_CTE);
                        if cte_other.is_none() && first != e {
                            cte_other = Some(e);
                        }
                    }
                }
            }
        }
        let encoding = cte.unwrap_or_default();
        defects.set_if(encoding == Encoding::Unknown, Defects::UNKNOWN_CTE);
        let default: (&'a [u8], &'a [u8]) = if digest_child {
            (b"message", b"rfc822")
        } else {
            (b"text", b"plain")
        };
        let mut info = Info {
            media: default,
            boundary: None,
            charset: None,
            encoding,
        };
        if let Some(v) = ct {
            let p = params::parse(v);
            defects |= p.defects;
            match p.media_type() {
                Some(m) => info.media = m,
                None => defects.insert(Defects::BAD_CONTENT_TYPE),
            }
            info.charset = p.get("charset").map(|c| c.value.clone());
            if is(info.media.0, "multipart") {
                let mut bounds = p
                    .all("boundary")
                    .map(|b| &b.value)
                    .filter(|b| !b.is_empty());
                info.boundary = bounds.next().cloned();
                if let Some(first) = info.boundary.clone() {
                    defects.set_if(first.len() > 70, Defects::BAD_BOUNDARY);
                    // Every other candidate (`boundary="a"b` has three) is
                    // another reading; a few are plenty.
                    let mut seen: Vec<&Cow<'a, [u8]>> = Vec::new();
                    for other in bounds.filter(|b| **b != first).take(4) {
                        if !seen.contains(&other) {
                            defects.insert(Defects::DUPLICATE_BOUNDARY);
                            self.queue(idx, AltReading::Boundary(other.clone()));
                            seen.push(other);
                        }
                    }
                } else {
                    defects.insert(Defects::NO_BOUNDARY_PARAM);
                }
            }
        }
        if let Some(v) = ct_other {
            self.queue(idx, AltReading::ContentType(v));
        }
        if let Some(e) = cte_other {
            self.queue(idx, AltReading::Encoding(e));
        }
        self.parts[idx].defects |= defects;
        info
    }

    fn queue(&mut self, part: usize, reading: AltReading<'a>) {
        if !self.in_alternate {
            self.alts.push(Alt { part, reading });
        }
    }

    /// Parses one entity (header and body) that starts at `start`. Returns
    /// the boundary line that ended it, if one did.
    fn entity(
        &mut self,
        start: usize,
        end: usize,
        parent: Option<usize>,
        depth: usize,
        digest_child: bool,
        top: bool,
    ) -> Option<Cand> {
        let idx = self.new_part(parent, depth, start, Origin::Mime);
        let mut defects = Defects::empty();
        let fields_start = self.fields.len();
        let h = self.parse_header(start, end, top, &mut defects);
        let header_end = before_eol(self.input, h.body_start, start).max(start);
        {
            let p = &mut self.parts[idx];
            p.header = Span::new(start, header_end.min(h.body_start));
            p.fields = Span::new(fields_start, self.fields.len());
            p.defects |= defects;
        }
        let info = self.info(idx, digest_child);
        let body_start = h.body_start;
        {
            let p = &mut self.parts[idx];
            (p.media_type, p.media_subtype) = info.media;
            p.charset = info.charset;
            p.encoding = info.encoding;
        }
        if h.at_boundary {
            self.parts[idx].body = Span::new(body_start, body_start);
            return self.boundary_at(body_start, end);
        }
        self.body(idx, body_start, end, depth, info.boundary)
    }

    /// Parses the body of part `idx`, whose header is already read.
    fn body(
        &mut self,
        idx: usize,
        body_start: usize,
        end: usize,
        depth: usize,
        boundary: Option<Cow<'a, [u8]>>,
    ) -> Option<Cand> {
        let (mt, st, enc) = {
            let p = &self.parts[idx];
            (p.media_type, p.media_subtype, p.encoding)
        };
        let deep = depth + 1 >= self.limits.max_depth;
        if is(mt, "multipart") && boundary.is_some() {
            if !enc.is_identity() {
                self.parts[idx].defects.insert(Defects::CTE_ON_COMPOSITE);
            }
            if deep {
                self.parts[idx].defects.insert(Defects::NESTING_LIMIT);
            } else {
                self.parts[idx].kind = PartKind::Multipart;
                self.parts[idx].boundary = boundary;
                let digest = is(st, "digest");
                return self.multipart(idx, body_start, end, depth, digest);
            }
        } else if is(mt, "multipart") {
            // No boundary: read as text now, and as a multipart with a
            // guessed boundary later.
            self.queue(idx, AltReading::Guess);
        } else if is(mt, "message") && (is(st, "rfc822") || is(st, "global")) {
            if !enc.is_identity() {
                // An encoded message: the walker keeps it a leaf; decode it
                // and parse the result as a message of its own.
                self.parts[idx].defects.insert(Defects::CTE_ON_COMPOSITE);
            } else if deep {
                self.parts[idx].defects.insert(Defects::NESTING_LIMIT);
            } else if self.full() {
                self.parts[idx].defects.insert(Defects::PART_LIMIT);
            } else {
                self.parts[idx].kind = PartKind::Message;
                let fields = self.fields.len();
                let c = self.entity(body_start, end, Some(idx), depth + 1, false, false);
                // A message with no header fields at all is not a message.
                let child = self.parts[idx].first_child.map_or(idx, |c| c as usize);
                if self.parts[child].fields.start == fields && self.parts[child].fields.is_empty() {
                    self.parts[idx].defects.insert(Defects::BAD_MESSAGE_PART);
                }
                let body_end = match c {
                    Some(c) => before_eol(self.input, c.line_start, body_start),
                    None => end,
                };
                self.parts[idx].body = Span::new(body_start, body_end);
                return c;
            }
        }
        self.leaf(idx, body_start, end, depth)
    }

    fn leaf(&mut self, idx: usize, body_start: usize, end: usize, depth: usize) -> Option<Cand> {
        let c = self.next_boundary(body_start, end);
        let body_end = match c {
            Some(c) => before_eol(self.input, c.line_start, body_start),
            None => end,
        };
        let (mt, st) = (self.parts[idx].media_type, self.parts[idx].media_subtype);
        if self.parts[idx].encoding.is_identity() && is(mt, "application") && is(st, "mac-binhex40")
        {
            self.parts[idx].encoding = Encoding::BinHex;
        }
        self.parts[idx].body = Span::new(body_start, body_end);
        let enc = self.parts[idx].encoding;
        if is(mt, "text") && enc.is_identity() && body_end > body_start {
            let body = &self.input[body_start..body_end];
            let d = &mut self.parts[idx].defects;
            d.set_if(memchr::memchr(0, body).is_some(), Defects::NUL_IN_BODY);
            d.set_if(
                enc == Encoding::SevenBit && !body.is_ascii(),
                Defects::EIGHT_BIT_IN_7BIT,
            );
            self.inline_blocks(idx, depth);
        }
        c
    }

    /// Hangs inline uuencode, yEnc and BinHex blocks of a text leaf under it.
    fn inline_blocks(&mut self, idx: usize, depth: usize) {
        let body = self.parts[idx].body;
        let text = &self.input[body.start..body.end];
        let room = self.limits.max_parts.saturating_sub(self.parts.len());
        let mut blocks = std::mem::take(&mut self.inline_scratch);
        blocks.clear();
        let more = inline::scan(text, &mut blocks, room);
        if more {
            self.parts[idx].defects.insert(Defects::PART_LIMIT);
        }
        for b in &blocks {
            let child = self.new_part(
                Some(idx),
                depth + 1,
                body.start + b.range.start,
                Origin::Inline(b.kind),
            );
            let p = &mut self.parts[child];
            p.body = Span::new(body.start + b.range.start, body.start + b.range.end);
            p.header = Span::new(p.body.start, p.body.start);
            p.encoding = b.kind.encoding();
            p.media_type = b"application";
            p.media_subtype = b"octet-stream";
            let flag = match b.kind {
                inline::InlineKind::Uuencode => Defects::INLINE_UUENCODE,
                inline::InlineKind::Yenc => Defects::INLINE_YENC,
                inline::InlineKind::BinHex => Defects::INLINE_BINHEX,
            };
            self.parts[idx].defects.insert(flag);
        }
        self.inline_scratch = blocks;
    }

    /// Parses a multipart body. Part `idx` has its boundary set.
    fn multipart(
        &mut self,
        idx: usize,
        body_start: usize,
        end: usize,
        depth: usize,
        digest: bool,
    ) -> Option<Cand> {
        let level = self.push(idx);
        let input = self.input;
        let finish = |b: &mut Self, body_end: usize, c: Option<Cand>| {
            b.pop_to(level);
            b.parts[idx].body = Span::new(body_start, body_end);
            c
        };

        // The preamble.
        let first = self.next_boundary(body_start, end);
        let mut pos = match first {
            Some(c) if c.level == level => {
                let pre_end = before_eol(input, c.line_start, body_start);
                self.parts[idx].preamble = Some(Span::new(body_start, pre_end));
                if c.close {
                    self.parts[idx].defects.insert(Defects::EMPTY_MULTIPART);
                    return self.epilogue(idx, level, body_start, c.next, end);
                }
                c.next
            }
            other => {
                // The boundary never opens: the body is text, as Python,
                // mail-parser and mime4j read it, and a guessed multipart.
                self.pop_to(level);
                let body_end = other.map_or(end, |c| before_eol(input, c.line_start, body_start));
                let p = &mut self.parts[idx];
                p.kind = PartKind::Leaf;
                p.body = Span::new(body_start, body_end);
                p.defects.insert(Defects::BOUNDARY_NOT_FOUND);
                self.queue(idx, AltReading::Guess);
                return other;
            }
        };

        loop {
            let c = if self.full() {
                // Past the part limit: the rest is one leaf that ignores our
                // own part delimiters.
                self.parts[idx].defects.insert(Defects::PART_LIMIT);
                let child = self.new_part(Some(idx), depth + 1, pos, Origin::Overflow);
                self.parts[child].media_type = b"application";
                self.parts[child].media_subtype = b"octet-stream";
                self.parts[child].defects.insert(Defects::PART_LIMIT);
                let mut from = pos;
                let c = loop {
                    match self.next_boundary(from, end) {
                        Some(c) if c.level == level && !c.close => from = c.next,
                        other => break other,
                    }
                };
                let body_end = c.map_or(end, |c| before_eol(input, c.line_start, pos));
                self.parts[child].body = Span::new(pos, body_end);
                c
            } else {
                self.entity(pos, end, Some(idx), depth + 1, digest, false)
            };
            match c {
                None => {
                    self.parts[idx]
                        .defects
                        .insert(Defects::MISSING_CLOSE_BOUNDARY);
                    return finish(self, end, None);
                }
                Some(c) if c.level == level && !c.close => pos = c.next,
                Some(c) if c.level == level => {
                    return self.epilogue(idx, level, body_start, c.next, end);
                }
                Some(c) => {
                    self.parts[idx]
                        .defects
                        .insert(Defects::MISSING_CLOSE_BOUNDARY);
                    let body_end = before_eol(input, c.line_start, body_start);
                    return finish(self, body_end, Some(c));
                }
            }
        }
    }

    /// After the close delimiter of the multipart at `level`: the epilogue
    /// runs to the next boundary of an enclosing multipart.
    fn epilogue(
        &mut self,
        idx: usize,
        level: usize,
        body_start: usize,
        from: usize,
        end: usize,
    ) -> Option<Cand> {
        self.pop_to(level);
        let c = self.next_boundary(from, end);
        let epi_end = c.map_or(end, |c| before_eol(self.input, c.line_start, from));
        let epi_end = epi_end.max(from.min(end));
        let p = &mut self.parts[idx];
        p.epilogue = Some(Span::new(from.min(epi_end), epi_end));
        p.body = Span::new(body_start, epi_end);
        if !self.input[from.min(epi_end)..epi_end]
            .trim_ascii()
            .is_empty()
        {
            p.defects.insert(Defects::NON_EMPTY_EPILOGUE);
        }
        c
    }

    /// Parses the queued alternate readings.
    fn alternates(&mut self) {
        self.in_alternate = true;
        let alts = std::mem::take(&mut self.alts);
        for alt in alts {
            let orig = alt.part;
            let body = self.parts[orig].body;
            let len = body.end - body.start;
            let guess = match alt.reading {
                AltReading::Guess => match self.guess_boundary(body) {
                    Some(g) => Some(g),
                    None => continue,
                },
                _ => None,
            };
            if len > self.alt_budget || self.full() {
                self.defects.insert(Defects::ALTERNATE_LIMIT);
                continue;
            }
            self.alt_budget -= len;
            let depth = self.parts[orig].depth as usize;
            let twin = self.new_part(
                Some(orig),
                depth + 1,
                self.parts[orig].header.start,
                Origin::Alternate,
            );
            {
                let (header, fields, mt, st, cs, enc) = {
                    let o = &self.parts[orig];
                    (
                        o.header,
                        o.fields,
                        o.media_type,
                        o.media_subtype,
                        o.charset.clone(),
                        o.encoding,
                    )
                };
                let t = &mut self.parts[twin];
                t.header = header;
                t.fields = fields;
                (t.media_type, t.media_subtype, t.charset, t.encoding) = (mt, st, cs, enc);
                t.body = body;
            }
            self.parts[orig]
                .defects
                .insert(Defects::AMBIGUOUS_STRUCTURE);
            match alt.reading {
                AltReading::Encoding(e) => {
                    self.parts[twin].encoding = e;
                    self.leaf(twin, body.start, body.end, depth + 1);
                }
                AltReading::Guess => {
                    let b = guess.unwrap_or_default();
                    self.body(
                        twin,
                        body.start,
                        body.end,
                        depth + 1,
                        Some(Cow::Borrowed(b)),
                    );
                }
                AltReading::Boundary(b) => {
                    self.body(twin, body.start, body.end, depth + 1, Some(b));
                }
                AltReading::ContentType(v) => {
                    let p = params::parse(v);
                    let (mt, st) = p.media_type().unwrap_or((b"text", b"plain"));
                    let boundary = p
                        .all("boundary")
                        .map(|b| b.value.clone())
                        .find(|b| !b.is_empty());
                    self.parts[twin].media_type = mt;
                    self.parts[twin].media_subtype = st;
                    self.parts[twin].charset = p.get("charset").map(|c| c.value.clone());
                    self.body(twin, body.start, body.end, depth + 1, boundary);
                }
            }
            self.pop_to(0);
        }
        self.in_alternate = false;
    }

    /// The boundary a client would guess for a multipart that names none:
    /// the first line of the body that starts with `--`.
    fn guess_boundary(&self, body: Span) -> Option<&'a [u8]> {
        let input: &'a [u8] = self.input;
        let hit = self.dash_line(body.start, body.start, body.end)?;
        let (ce, _) = line_end(input, hit, body.end);
        let b = input[hit + 2..ce].trim_ascii_end();
        let b = b.strip_suffix(b"--").unwrap_or(b);
        (!b.is_empty() && b.len() <= 200).then_some(b)
    }
}
