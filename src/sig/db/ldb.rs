//! `.ldb` logical signatures:
//! `name;TargetDescriptionBlock;LogicalExpression;subsig0;subsig1;…`.
//!
//! Subsignatures come in four shapes, told apart the way ClamAV tells them
//! apart: a `/` makes a PCRE subsignature (`[offset:]trigger/regex/flags`),
//! `N(>>off#opts#cmp)` a byte-compare one, `${min-max}id$` a macro and
//! `fuzzy_img#…` an image fuzzy hash (both unsupported here), and anything
//! else is a hex body `[offset:]hex[::modifiers]`.
//!
//! PCREs are translated to the `regex` crate's byte regexes. What PCRE has
//! and `regex` lacks — look-around, backreferences, atomic groups,
//! possessive quantifiers, recursion, conditionals, `\K`, `\G` — makes the
//! subsignature [`SubSig::Unsupported`]: it counts no hits, the rest of the
//! signature stays loaded (an `|` branch without it may still match), and
//! the line is listed in `report.unsupported` with the construct named.

use regex::bytes::RegexBuilder;

use super::expr::{self, MAX_SUBSIGS};
use super::{ByteCompare, Expr, LineError, LogicalSig, SubSig, TargetBlock, flevel_ok};
use crate::sig::pattern::{Base, Modifiers, Offset, Pattern};

/// A parsed `.ldb` line.
pub(super) enum Parsed {
    /// Load this; the strings say what part of it is unsupported.
    Sig(LogicalSig, Vec<String>),
    /// Outside our functionality level.
    SkipFlevel,
    /// Skipped for the reason given.
    Skip(String),
}

/// A TargetDescriptionBlock range: `a-b` (ClamAV refuses a single number).
fn range(field: &'static str, v: &str) -> Result<(u64, u64), LineError> {
    let bad = || LineError::Number {
        field,
        value: v.to_string(),
    };
    let num = |s: &str| -> Result<u64, LineError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        s.parse().map_err(|_| bad())
    };
    let (a, b) = v.split_once('-').ok_or_else(bad)?;
    let (a, b) = (num(a)?, num(b)?);
    if a > b {
        return Err(bad());
    }
    Ok((a, b))
}

/// A parsed TargetDescriptionBlock.
struct Tdb {
    block: TargetBlock,
    /// `Engine:a-b`.
    engine: Option<(u64, u64)>,
    /// The first attribute ClamAV does not know, if any.
    unknown: Option<String>,
}

/// Lowest `Engine` minimum ClamAV accepts with attributes other than
/// `Target` (0.96's level).
const NEW_ATTRIBUTES_FLEVEL: u64 = 51;

/// Parses the TargetDescriptionBlock as ClamAV does (each rule checked
/// with clamscan): `Engine`, if given, comes first; `Target` is required;
/// any other attribute needs `Engine` with a minimum of at least 51;
/// ranges are `a-b`. An attribute ClamAV does not know makes it skip the
/// signature silently; we skip it and say so.
fn target_block(tdb: &str, notes: &mut Vec<String>) -> Result<Tdb, LineError> {
    let mut t = Tdb {
        block: TargetBlock::default(),
        engine: None,
        unknown: None,
    };
    let mut newer = false;
    for (i, attr) in tdb.split(',').enumerate() {
        let Some((k, v)) = attr.split_once(':') else {
            return Err(LineError::Tdb(attr.to_string()));
        };
        newer |= matches!(
            k,
            "FileSize"
                | "Container"
                | "EntryPoint"
                | "NumberOfSections"
                | "Intermediates"
                | "IconGroup1"
                | "IconGroup2"
                | "HandlerType"
        );
        match k {
            "Engine" if i > 0 => {
                return Err(LineError::Other(
                    "Engine must be the first attribute of the target description".into(),
                ));
            }
            "Engine" => t.engine = Some(range("Engine", v)?),
            "Target" => t.block.target = Some(super::ndb::target(v)?),
            "FileSize" => t.block.file_size = Some(range("FileSize", v)?),
            "Container" => {
                if v.is_empty() {
                    return Err(LineError::Tdb(attr.to_string()));
                }
                t.block.container = Some(v.to_string());
            }
            "EntryPoint" | "NumberOfSections" | "Intermediates" | "IconGroup1" | "IconGroup2"
            | "HandlerType" => {
                if matches!(k, "EntryPoint" | "NumberOfSections") {
                    range("range", v)?;
                }
                if v.is_empty() {
                    return Err(LineError::Tdb(attr.to_string()));
                }
                notes.push(format!("TargetDescriptionBlock {k} is not enforced"));
                t.block.other.push(attr.to_string());
            }
            _ => {
                t.unknown.get_or_insert_with(|| k.to_string());
            }
        }
    }
    if t.block.target.is_none() {
        return Err(LineError::Other(
            "no Target in the target description".into(),
        ));
    }
    if newer && t.engine.is_none_or(|(lo, _)| lo < NEW_ATTRIBUTES_FLEVEL) {
        return Err(LineError::Other(format!(
            "attributes other than Target need Engine:{NEW_ATTRIBUTES_FLEVEL}- or later"
        )));
    }
    Ok(t)
}

pub(super) fn parse(line: &str, suffix: &str) -> Result<Parsed, LineError> {
    let f: Vec<&str> = line.split(';').collect();
    if f.len() < 4 {
        return Err(LineError::Fields("name;target block;expression;subsig…"));
    }
    let name = f[0];
    if name.is_empty() {
        return Err(LineError::EmptyName);
    }
    let mut notes = Vec::new();
    let Tdb {
        block: target,
        engine,
        unknown,
    } = target_block(f[1], &mut notes)?;
    if let Some((lo, hi)) = engine {
        let lo = u32::try_from(lo).unwrap_or(u32::MAX);
        let hi = u32::try_from(hi).unwrap_or(u32::MAX);
        if !flevel_ok(Some(lo), Some(hi)) {
            return Ok(Parsed::SkipFlevel);
        }
    }
    if let Some(k) = unknown {
        return Ok(Parsed::Skip(format!(
            "{name}: unknown target description attribute {k:?}; skipped, as ClamAV skips it"
        )));
    }
    let expr = expr::parse(f[2]).map_err(LineError::Expr)?;
    let raw = &f[3..];
    if raw.len() > MAX_SUBSIGS {
        return Err(LineError::TooManySubsigs(raw.len()));
    }
    // ClamAV insists that the expression names exactly the subsignatures
    // given: highest index + 1 == count (checked with clamscan).
    let named = expr::max_index(&expr).map_or(0, |m| m + 1);
    if named != raw.len() {
        return Err(LineError::SubsigCount {
            given: raw.len(),
            named,
        });
    }
    let mut subsigs = Vec::with_capacity(raw.len());
    for (k, s) in raw.iter().enumerate() {
        let sub = subsig(s, k).map_err(|e| LineError::Subsig(k, Box::new(e)))?;
        if let SubSig::Unsupported(why) = &sub {
            notes.push(format!("subsignature {k}: {why}"));
        }
        subsigs.push(sub);
    }
    // A byte compare reads around its trigger's matches, so the trigger must
    // be a body.
    for (k, s) in subsigs.iter().enumerate() {
        if let SubSig::ByteCompare(bc) = s
            && !matches!(subsigs.get(bc.of), Some(SubSig::Body { .. }))
        {
            return Err(LineError::Subsig(
                k,
                Box::new(LineError::Other(format!(
                    "byte compare refers to subsignature {}, which is not a hex body",
                    bc.of
                ))),
            ));
        }
    }
    Ok(Parsed::Sig(
        LogicalSig {
            name: format!("{name}{suffix}"),
            target,
            expr,
            subsigs,
        },
        notes,
    ))
}

/// Parses subsignature `k`.
fn subsig(s: &str, k: usize) -> Result<SubSig, LineError> {
    if s.is_empty() {
        return Err(LineError::Other("empty subsignature".into()));
    }
    if s.contains('/') {
        return pcre(s, k);
    }
    if s.starts_with("${") {
        return Ok(SubSig::Unsupported("macro subsignature".into()));
    }
    if s.starts_with("fuzzy_img#") {
        return Ok(SubSig::Unsupported("image fuzzy hash subsignature".into()));
    }
    if s.contains('#') {
        return byte_compare(s).map(SubSig::ByteCompare);
    }
    let (rest, modifiers) = match s.split_once("::") {
        Some((r, m)) => (
            r,
            Modifiers::parse(m).map_err(|e| LineError::Modifiers(m.to_string(), e))?,
        ),
        None => (s, Modifiers::default()),
    };
    let (offset, hex) = match rest.split_once(':') {
        Some((o, h)) => (
            Offset::parse(o).map_err(|e| LineError::Offset(o.to_string(), e))?,
            h,
        ),
        None => (Offset::Any, rest),
    };
    let pattern = Pattern::parse_with(hex, modifiers).map_err(LineError::Pattern)?;
    Ok(SubSig::Body { offset, pattern })
}

/// A decimal or `0x` hexadecimal number, as byte compares write them.
fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) if !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u64::from_str_radix(h, 16).ok()
        }
        Some(_) => None,
        None if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        None => None,
    }
}

/// `N(>>off#opts#cmp[,cmp])`.
fn byte_compare(s: &str) -> Result<ByteCompare, LineError> {
    let bad = |why: &str| LineError::Other(format!("byte compare {s:?}: {why}"));
    let (of, rest) = s.split_once('(').ok_or_else(|| bad("expected `N(`"))?;
    let inner = rest
        .strip_suffix(')')
        .ok_or_else(|| bad("expected `)` at the end"))?;
    let of: usize = if !of.is_empty() && of.bytes().all(|b| b.is_ascii_digit()) {
        of.parse().map_err(|_| bad("bad trigger"))?
    } else {
        return Err(bad("bad trigger"));
    };
    let mut parts = inner.split('#');
    let (Some(off), Some(opts), Some(cmps), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("expected offset#options#comparisons"));
    };
    let (neg, off) = if let Some(o) = off.strip_prefix(">>") {
        (false, o)
    } else if let Some(o) = off.strip_prefix("<<") {
        (true, o)
    } else {
        return Err(bad("offset must start with >> or <<"));
    };
    let off = number(off)
        .and_then(|o| i64::try_from(o).ok())
        .ok_or_else(|| bad("bad offset"))?;
    let delta = if neg { -off } else { off };

    // [h|d|a|i][l|b][e]num_bytes
    let ob = opts.as_bytes();
    let mut i = 0;
    let base = match ob.first() {
        Some(&c @ (b'h' | b'd' | b'a' | b'i')) => {
            i += 1;
            c
        }
        _ => return Err(bad("options must start with h, d, a or i")),
    };
    let endian = match ob.get(i) {
        Some(&c @ (b'l' | b'b')) => {
            i += 1;
            Some(c)
        }
        _ => None,
    };
    if ob.get(i) == Some(&b'e') {
        i += 1;
    }
    let len = number(&opts[i..])
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| bad("bad byte count"))?;
    if base == b'd' && endian == Some(b'l') {
        return Err(bad("decimal is big-endian only"));
    }
    if base == b'i' && ![1, 2, 4, 8].contains(&len) {
        return Err(bad("binary reads 1, 2, 4 or 8 bytes"));
    }
    if len == 0 || len > 64 {
        return Err(bad("bad byte count"));
    }
    let mut comparisons = Vec::new();
    for c in cmps.split(',') {
        let mut ch = c.chars();
        let op = ch.next().filter(|o| matches!(o, '<' | '>' | '='));
        let (Some(op), Some(v)) = (op, number(ch.as_str())) else {
            return Err(bad("bad comparison"));
        };
        comparisons.push((op, v));
    }
    if comparisons.len() > 2 {
        return Err(bad("at most two comparisons"));
    }
    Ok(ByteCompare {
        of,
        delta,
        options: opts[..i].to_string(),
        len,
        comparisons,
    })
}

/// `[offset:]trigger/regex/[flags]`.
fn pcre(s: &str, k: usize) -> Result<SubSig, LineError> {
    let bad = |why: String| LineError::Other(format!("PCRE: {why}"));
    let first = s.find('/').unwrap_or(0);
    let last = s.rfind('/').unwrap_or(0);
    if last == first {
        return Err(bad("expected trigger/regex/flags".into()));
    }
    let (head, re, flags) = (&s[..first], &s[first + 1..last], &s[last + 1..]);
    if re.is_empty() {
        return Err(bad("empty regex".into()));
    }
    let (offset, trigger) = match head.rsplit_once(':') {
        Some((o, t)) => (
            Offset::parse(o).map_err(|e| LineError::Offset(o.to_string(), e))?,
            t,
        ),
        None => (Offset::Any, head),
    };
    let trigger: Expr = expr::parse(trigger).map_err(LineError::Expr)?;
    if expr::max_index(&trigger).is_some_and(|m| m >= k) {
        return Err(bad(
            "the trigger may only name subsignatures before this one".into(),
        ));
    }
    let (mut rolling, mut anchored) = (false, false);
    let multi = flags.contains('m');
    let dollar_endonly = flags.contains('E');
    let translated = dollars(re, !multi && !dollar_endonly);
    let mut b = RegexBuilder::new(&translated);
    b.unicode(false);
    for f in flags.chars() {
        match f {
            'i' => {
                b.case_insensitive(true);
            }
            's' => {
                b.dot_matches_new_line(true);
            }
            'm' => {
                b.multi_line(true);
            }
            'x' => {
                b.ignore_whitespace(true);
            }
            'U' => {
                b.swap_greed(true);
            }
            // Handled by `dollars`.
            'E' => {}
            'A' => anchored = true,
            'r' => rolling = true,
            // `g` (all matches) and `e` (confine to offset..offset+shift):
            // counts are taken over all matches anyway; the end of a match is
            // not confined.
            'g' | 'e' => {}
            _ => return Err(bad(format!("unknown flag {f:?}"))),
        }
    }
    if let Some(why) = pcre_only(re) {
        return Ok(SubSig::Unsupported(format!("PCRE uses {why}")));
    }
    let regex = match b.build() {
        Ok(r) => r,
        Err(e) => {
            let msg = e.to_string();
            let line = msg
                .lines()
                .rfind(|l| l.starts_with("error:"))
                .unwrap_or("not accepted by the regex crate");
            return Ok(SubSig::Unsupported(format!("PCRE {line}")));
        }
    };
    // ClamAV anchors a PCRE at its offset unless `r` (rolling) is given;
    // `A` anchors it at the offset, or at the start of the file without one.
    let offset = match offset {
        Offset::Any if anchored => Offset::At {
            base: Base::Start,
            delta: 0,
            shift: 0,
        },
        Offset::At { base, delta, .. } if rolling && !anchored => Offset::At {
            base,
            delta,
            shift: i64::MAX as u64,
        },
        o => o,
    };
    Ok(SubSig::Pcre {
        trigger,
        regex,
        offset,
    })
}

/// Rewrites PCRE's end-of-subject assertions for the `regex` crate. In
/// PCRE, `\Z` — and `$` unless `m` or `E` is given (`final_newline`) —
/// also matches before a newline that ends the subject, which `regex`'s `$`
/// and `\z` do not; `(?:\n?\z)` does, and since only where a match
/// *starts* is used, consuming that newline changes nothing.
fn dollars(re: &str, final_newline: bool) -> std::borrow::Cow<'_, str> {
    const END: &str = r"(?:\n?\z)";
    if !re.contains('$') && !re.contains(r"\Z") {
        return re.into();
    }
    let mut out = String::with_capacity(re.len() + 16);
    let mut chars = re.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('Z') if !in_class => out.push_str(END),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            },
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    out.push(chars.next().unwrap_or(']'));
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '$' if !in_class && final_newline => out.push_str(END),
            c => out.push(c),
        }
    }
    out.into()
}

/// Names a PCRE construct the `regex` crate lacks, if `re` uses one.
fn pcre_only(re: &str) -> Option<&'static str> {
    let b = re.as_bytes();
    let mut i = 0;
    let mut in_class = false;
    while i < b.len() {
        let c = b[i];
        if c == b'\\' {
            let Some(&n) = b.get(i + 1) else { break };
            match n {
                b'1'..=b'9' if !in_class => return Some("a backreference"),
                b'k' | b'g' if !in_class => return Some("a backreference"),
                b'K' => return Some("\\K"),
                b'G' => return Some("\\G"),
                b'Q' => return Some("\\Q…\\E quoting"),
                b'h' | b'H' | b'v' | b'V' | b'R' | b'X' | b'C' => {
                    return Some("a PCRE-only escape");
                }
                _ => {}
            }
            i += 2;
            continue;
        }
        if in_class {
            if c == b']' {
                in_class = false;
            }
            i += 1;
            continue;
        }
        match c {
            b'[' => {
                in_class = true;
                // `[]…]` and `[^]…]`: a leading `]` is literal.
                if b.get(i + 1) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i + 1) == Some(&b']') {
                    i += 1;
                }
            }
            b'(' if b.get(i + 1) == Some(&b'?') => {
                let rest = &b[i + 2..];
                if rest.starts_with(b"=")
                    || rest.starts_with(b"!")
                    || rest.starts_with(b"<=")
                    || rest.starts_with(b"<!")
                {
                    return Some("look-around");
                }
                if rest.starts_with(b">") {
                    return Some("an atomic group");
                }
                if rest.starts_with(b"(") {
                    return Some("a conditional");
                }
                let digit_at = |j: usize| rest.get(j).is_some_and(u8::is_ascii_digit);
                if rest.starts_with(b"R")
                    || rest.starts_with(b"&")
                    || rest.starts_with(b"P>")
                    || digit_at(0)
                    || (matches!(rest.first(), Some(b'+' | b'-')) && digit_at(1))
                {
                    return Some("recursion");
                }
                if rest.starts_with(b"P=") {
                    return Some("a backreference");
                }
                if rest.starts_with(b"|") {
                    return Some("a branch-reset group");
                }
                if rest.starts_with(b"#") {
                    return Some("a comment group");
                }
            }
            b'(' if b.get(i + 1) == Some(&b'*') => return Some("a PCRE verb"),
            b'*' | b'+' | b'?' | b'}' if b.get(i + 1) == Some(&b'+') => {
                return Some("a possessive quantifier");
            }
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(line: &str) -> (LogicalSig, Vec<String>) {
        match parse(line, ".UNOFFICIAL") {
            Ok(Parsed::Sig(s, n)) => (s, n),
            Ok(Parsed::SkipFlevel | Parsed::Skip(_)) => panic!("{line}: skipped"),
            Err(e) => panic!("{line}: {e}"),
        }
    }

    #[test]
    fn target_blocks() {
        let mut notes = vec![];
        let Tdb {
            block: tb,
            engine: eng,
            unknown,
        } = target_block(
            "Engine:51-255,Target:1,FileSize:10-2000,Container:CL_TYPE_ZIP,EntryPoint:0-100",
            &mut notes,
        )
        .unwrap();
        assert!(unknown.is_none());
        assert_eq!(eng, Some((51, 255)));
        assert_eq!(tb.target, Some(1));
        assert_eq!(tb.file_size, Some((10, 2000)));
        assert_eq!(tb.container.as_deref(), Some("CL_TYPE_ZIP"));
        assert_eq!(tb.other, ["EntryPoint:0-100"]);
        assert_eq!(notes.len(), 1);
        for bad in [
            "Target",
            "Engine:51-255,Target:0,FileSize:9-1",
            "Engine:51-255,Target:0,FileSize:x",
            "Engine:51-255,Target:0,FileSize:12",
            "Engine:a-b,Target:0",
            "Target:x",
            "Engine:51-255,Target:0,Container:",
            "Target:0,Engine:51-255",
            "Engine:51-255",
            "Target:0,FileSize:1-2",
            "Engine:50-255,Target:0,FileSize:1-2",
            "Engine:51-255,Target:0,NumberOfSections:3",
        ] {
            assert!(target_block(bad, &mut notes).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_attribute_skips() {
        let l = "X;Target:0,Bogus:1;0;NOT-PARSED";
        match parse(l, "") {
            Ok(Parsed::Skip(why)) => assert!(why.contains("Bogus")),
            _ => panic!("not skipped"),
        }
    }

    #[test]
    fn flevel_skip() {
        let l = format!(
            "X;Engine:{}-255,Target:0;0;NOT-PARSED",
            super::super::FLEVEL + 1
        );
        assert!(matches!(parse(&l, ""), Ok(Parsed::SkipFlevel)));
        let l = "X;Engine:1-2,Target:0;0;NOT-PARSED";
        assert!(matches!(parse(l, ""), Ok(Parsed::SkipFlevel)));
    }

    #[test]
    fn structural_errors() {
        for bad in [
            "X;Target:0;0",
            ";Target:0;0;4141",
            "X;Target:0;0&1;4141",
            "X;Target:0;0;4141;4242",
            "X;Target:0;0&;4141",
            "X;Target:0;0;",
        ] {
            assert!(parse(bad, "").is_err(), "{bad:?} loaded");
        }
        let many = format!("X;Target:0;0;{}", vec!["4141"; 65].join(";"));
        assert!(matches!(
            parse(&many, ""),
            Err(LineError::TooManySubsigs(65))
        ));
    }

    #[test]
    fn byte_compares() {
        let bc = byte_compare("0(>>26#ib2#>512)").unwrap();
        assert_eq!(
            bc,
            ByteCompare {
                of: 0,
                delta: 26,
                options: "ib".into(),
                len: 2,
                comparisons: vec![('>', 512)],
            }
        );
        let bc = byte_compare("3(<<0x10#hle0x4#>0x10,<100)").unwrap();
        assert_eq!(bc.of, 3);
        assert_eq!(bc.delta, -16);
        assert_eq!(bc.options, "hle");
        assert_eq!(bc.len, 4);
        assert_eq!(bc.comparisons, vec![('>', 16), ('<', 100)]);
        for bad in [
            "0>>26#ib2#>512",
            "(>>26#ib2#>512)",
            "0(26#ib2#>512)",
            "0(>>26#ib3#>512)",
            "0(>>26#dl2#>512)",
            "0(>>26#x2#>512)",
            "0(>>26#h2#!5)",
            "0(>>26#h2#>5,<6,=7)",
            "0(>>26#h2)",
            "0(>>zz#h2#>5)",
        ] {
            assert!(byte_compare(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pcre_translation() {
        let SubSig::Pcre {
            trigger,
            regex,
            offset,
        } = pcre("0/CLAMAV/i", 1).unwrap()
        else {
            panic!()
        };
        assert_eq!(trigger, Expr::Sub(0));
        assert!(regex.is_match(b"xx clamav"));
        assert_eq!(offset, Offset::Any);
        let SubSig::Pcre { regex, .. } = pcre("0&1/a.b/s", 2).unwrap() else {
            panic!()
        };
        assert!(regex.is_match(b"a\nb"));
        let SubSig::Pcre { offset, .. } = pcre("0/abc/A", 1).unwrap() else {
            panic!()
        };
        assert_eq!(
            offset,
            Offset::At {
                base: Base::Start,
                delta: 0,
                shift: 0
            }
        );
        // Binary-safe: `.` and classes work on bytes.
        let SubSig::Pcre { regex, .. } = pcre(r"0/\xff.\x00/", 1).unwrap() else {
            panic!()
        };
        assert!(regex.is_match(b"\xff\xfe\x00"));
        for (re, why) in [
            ("0/a(?=b)/", "look-around"),
            ("0/(?<!a)b/", "look-around"),
            (r"0/(a)\1/", "backreference"),
            ("0/(?>ab)/", "atomic"),
            ("0/a++/", "possessive"),
            ("0/(?R)/", "recursion"),
            (r"0/a\Kb/", "\\K"),
        ] {
            match pcre(re, 1).unwrap() {
                SubSig::Unsupported(w) => assert!(w.contains(why), "{re}: {w}"),
                _ => panic!("{re} supported"),
            }
        }
        // `$` and `\Z` match before a final newline unless `E` (or `m`).
        let m = |s: &str, hay: &[u8]| match pcre(s, 1).unwrap() {
            SubSig::Pcre { regex, .. } => regex.is_match(hay),
            _ => panic!("{s}"),
        };
        assert!(m("0/d$/", b"world\n"));
        assert!(!m("0/d$/E", b"world\n"));
        assert!(m("0/d$/E", b"world"));
        assert!(m(r"0/d\Z/", b"world\n"));
        assert!(m("0/d$/m", b"world\nmore"));
        assert!(!m("0/d$/", b"world\nmore"));
        assert!(m("0/[$]x/", b"$x"));
        assert_eq!(dollars(r"a\$[$]$", true), r"a\$[$](?:\n?\z)");
        // Classes are not mistaken for constructs.
        assert!(matches!(
            pcre(r"0/[(?=]x/", 1).unwrap(),
            SubSig::Pcre { .. }
        ));
        assert!(pcre("0/abc/q", 1).is_err());
        assert!(pcre("1/abc/", 1).is_err());
        assert!(pcre("0//", 1).is_err());
        assert!(pcre("0/abc", 1).is_err());
    }

    /// Needs the pattern parser.
    #[test]
    fn full_line() {
        let (s, notes) =
            load("Sig1;Engine:81-255,Target:0;(0&1)|2;6b6f74656b;100:616c61::i;0/wor(?=ld)/");
        assert_eq!(s.name, "Sig1.UNOFFICIAL");
        assert_eq!(s.subsigs.len(), 3);
        assert!(matches!(s.subsigs[0], SubSig::Body { .. }));
        assert!(matches!(
            s.subsigs[1],
            SubSig::Body {
                offset: Offset::At { .. },
                ..
            }
        ));
        assert!(matches!(s.subsigs[2], SubSig::Unsupported(_)));
        assert_eq!(notes.len(), 1);
        let (s, _) = load("BC;Target:0;0&1;4d5a;0(>>60#il4#<1000)");
        assert!(matches!(s.subsigs[1], SubSig::ByteCompare(_)));
        assert!(parse("BC;Target:0;0&1;0/a/;0(>>60#il4#<1000)", "").is_err());
    }
}
