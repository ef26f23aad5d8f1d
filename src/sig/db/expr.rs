//! Logical expressions: the third field of an `.ldb` line and the trigger of
//! a PCRE subsignature.
//!
//! The grammar is small — subsignature numbers, `&`, `|`, parentheses and
//! the count modifiers `=N`, `>N`, `<N` with an optional `,M` — but two of
//! its rules are not the ones a reader would guess, and both were checked
//! against clamscan 1.4.3:
//!
//! - There is no precedence and chains group to the *right*: `0|1&2` reads
//!   as `0|(1&2)` and `1&2|0` as `1&(2|0)`. A modifier binds to the operand
//!   just before it, so `0&(1|2)=0` is `0&((1|2)=0)`.
//! - A modifier on a group compares the hits the group *generates*: the sum
//!   of its subsignatures' hits, where a part of the group that does not
//!   hold (an `&` with a missing operand, a modifier that fails) generates
//!   nothing. So `(0&1&2)>1` fails when 1 is missing even if 0 and 2 hit
//!   twice between them, `(1|2)=0` holds when neither hits, and
//!   `((0|2)=2|1)=1` fails when 0 and 2 hit once each (the group generates
//!   2). `,M` asks in addition that at least `M` distinct subsignatures of
//!   the group generated hits. On a bare subsignature ClamAV ignores `,M`
//!   (`0=2,5` is `0=2`), and a modifier there that holds marks the
//!   subsignature as having generated hits even with none (`0<1`), which
//!   an enclosing group's `,M` counts. A modifier may follow a group only
//!   when the group has an `&`/`|` of its own: ClamAV refuses `(0)>1` and
//!   `((0|1))>1` as malformed, and so do we.

use thiserror::Error;

use super::{CountOp, Expr};

/// Most subsignatures a logical signature may have (ClamAV's limit).
pub const MAX_SUBSIGS: usize = 64;

/// Why a logical expression was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ExprError {
    /// The expression is empty (or a group is).
    #[error("empty expression")]
    Empty,
    /// A character that has no place in an expression.
    #[error("unexpected {0:?} at byte {1} of the expression")]
    Unexpected(char, usize),
    /// The expression ended where an operand or `)` was expected.
    #[error("expression ends early")]
    Truncated,
    /// A number too large (subsignature index or count).
    #[error("number out of range at byte {0} of the expression")]
    Number(usize),
    /// A subsignature index of 64 or more.
    #[error("subsignature {0} out of range (at most {MAX_SUBSIGS} subsignatures)")]
    Index(usize),
    /// Nesting deeper than we follow.
    #[error("expression nested too deeply")]
    TooDeep,
}

/// Deepest parenthesis nesting accepted (keeps the recursive parser and
/// evaluator off the end of the stack on hostile input).
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn number(&mut self) -> Result<u64, ExprError> {
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(c - b'0')))
                .ok_or(ExprError::Number(start))?;
            self.pos += 1;
        }
        if self.pos == start {
            return Err(match self.peek() {
                Some(c) => ExprError::Unexpected(c as char, self.pos),
                None => ExprError::Truncated,
            });
        }
        Ok(n)
    }

    fn count32(&mut self) -> Result<u32, ExprError> {
        let at = self.pos;
        u32::try_from(self.number()?).map_err(|_| ExprError::Number(at))
    }

    /// `operand [op expr]`, grouping to the right.
    fn expr(&mut self, depth: usize) -> Result<Expr, ExprError> {
        self.expr_op(depth).map(|(e, _)| e)
    }

    /// As [`Parser::expr`], and whether an `&`/`|` was found at this level.
    fn expr_op(&mut self, depth: usize) -> Result<(Expr, bool), ExprError> {
        if depth > MAX_DEPTH {
            return Err(ExprError::TooDeep);
        }
        let first = self.operand(depth)?;
        match self.peek() {
            Some(op @ (b'&' | b'|')) => {
                self.pos += 1;
                let rest = self.expr(depth + 1)?;
                let mut parts = vec![first];
                // Flatten `a&(b&c)` chains (same meaning, shallower tree),
                // but only those that came from the right-grouping chain
                // itself: a parenthesised group is kept as the parser made it
                // only when its operator differs.
                match (op, rest) {
                    (b'&', Expr::And(more)) | (b'|', Expr::Or(more)) => parts.extend(more),
                    (_, rest) => parts.push(rest),
                }
                let e = if op == b'&' {
                    Expr::And(parts)
                } else {
                    Expr::Or(parts)
                };
                Ok((e, true))
            }
            _ => Ok((first, false)),
        }
    }

    /// A subsignature number or a parenthesised group, with modifiers.
    fn operand(&mut self, depth: usize) -> Result<Expr, ExprError> {
        // ClamAV takes a modifier after `)` only when the group has an
        // `&`/`|` of its own: `(0)>1` and `((0|1))>1` are malformed there
        // (checked with clamscan), though `(0)` and `((0|1))` are not.
        let mut group_without_op = false;
        let mut e = match self.peek() {
            None => return Err(ExprError::Truncated),
            Some(b'(') => {
                self.pos += 1;
                if self.peek() == Some(b')') {
                    return Err(ExprError::Empty);
                }
                let (inner, had_op) = self.expr_op(depth + 1)?;
                group_without_op = !had_op;
                match self.peek() {
                    Some(b')') => self.pos += 1,
                    Some(c) => return Err(ExprError::Unexpected(c as char, self.pos)),
                    None => return Err(ExprError::Truncated),
                }
                inner
            }
            Some(b'0'..=b'9') => {
                let n = self.number()?;
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n >= MAX_SUBSIGS {
                    return Err(ExprError::Index(n));
                }
                Expr::Sub(n)
            }
            Some(c) => return Err(ExprError::Unexpected(c as char, self.pos)),
        };
        // ClamAV allows one modifier per operand; a second (`0=1=2`) is an
        // error there too.
        if let Some(c @ (b'=' | b'>' | b'<')) = self.peek() {
            if group_without_op {
                return Err(ExprError::Unexpected(c as char, self.pos));
            }
            self.pos += 1;
            let op = match c {
                b'=' => CountOp::Eq,
                b'>' => CountOp::Gt,
                _ => CountOp::Lt,
            };
            let n = self.count32()?;
            let distinct = if self.peek() == Some(b',') {
                self.pos += 1;
                Some(self.count32()?)
            } else {
                None
            };
            e = Expr::Count {
                inner: Box::new(e),
                op,
                n,
                distinct,
            };
        }
        Ok(e)
    }
}

/// Parses `s` (surrounding whitespace is not allowed, as in ClamAV).
pub(super) fn parse(s: &str) -> Result<Expr, ExprError> {
    if s.is_empty() {
        return Err(ExprError::Empty);
    }
    let mut p = Parser {
        s: s.as_bytes(),
        pos: 0,
    };
    let e = p.expr(0)?;
    match p.peek() {
        None => Ok(e),
        Some(c) => Err(ExprError::Unexpected(c as char, p.pos)),
    }
}

/// What a (sub)expression generates: whether it holds, the hits it
/// generates, and which subsignatures generated them.
#[derive(Debug, Clone, Copy)]
struct Value {
    holds: bool,
    hits: u64,
    distinct: u64,
}

const NOTHING: Value = Value {
    holds: false,
    hits: 0,
    distinct: 0,
};

pub(super) fn eval(e: &Expr, counts: &[u32]) -> bool {
    value(e, counts).holds
}

fn value(e: &Expr, counts: &[u32]) -> Value {
    match e {
        Expr::Sub(i) => {
            let hits = u64::from(counts.get(*i).copied().unwrap_or(0));
            Value {
                holds: hits > 0,
                hits,
                distinct: if hits > 0 && *i < 64 { 1 << i } else { 0 },
            }
        }
        Expr::And(parts) => {
            let mut acc = Value {
                holds: true,
                hits: 0,
                distinct: 0,
            };
            for p in parts {
                let v = value(p, counts);
                if !v.holds {
                    return NOTHING;
                }
                acc.hits = acc.hits.saturating_add(v.hits);
                acc.distinct |= v.distinct;
            }
            acc
        }
        Expr::Or(parts) => {
            let mut acc = NOTHING;
            for p in parts {
                let v = value(p, counts);
                acc.holds |= v.holds;
                acc.hits = acc.hits.saturating_add(v.hits);
                acc.distinct |= v.distinct;
            }
            acc
        }
        Expr::Count {
            inner,
            op,
            n,
            distinct,
        } => {
            let v = value(inner, counts);
            let n = u64::from(*n);
            let compared = match op {
                CountOp::Eq => v.hits == n,
                CountOp::Gt => v.hits > n,
                CountOp::Lt => v.hits < n,
            };
            // On a bare subsignature ClamAV reads only `N`: a `,M` there is
            // ignored (`0=2,5` holds when 0 hits twice; checked with
            // clamscan), and a modifier that holds marks the subsignature
            // as one that generated hits even with none (`0<1`), which an
            // enclosing group's `,M` then counts.
            if let Expr::Sub(i) = **inner {
                return if compared {
                    Value {
                        holds: true,
                        hits: v.hits,
                        distinct: if i < 64 { 1 << i } else { 0 },
                    }
                } else {
                    NOTHING
                };
            }
            let ok = compared
                && distinct.is_none_or(|m| u64::from(v.distinct.count_ones()) >= u64::from(m));
            if ok {
                Value { holds: true, ..v }
            } else {
                NOTHING
            }
        }
    }
}

/// The highest subsignature index `e` names, if any.
pub(super) fn max_index(e: &Expr) -> Option<usize> {
    match e {
        Expr::Sub(i) => Some(*i),
        Expr::And(v) | Expr::Or(v) => v.iter().filter_map(max_index).max(),
        Expr::Count { inner, .. } => max_index(inner),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Expr {
        parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn holds(s: &str, counts: &[u32]) -> bool {
        p(s).eval(counts)
    }

    #[test]
    fn parses_basic_forms() {
        assert_eq!(p("0"), Expr::Sub(0));
        assert_eq!(
            p("0&1&2"),
            Expr::And(vec![Expr::Sub(0), Expr::Sub(1), Expr::Sub(2)])
        );
        assert_eq!(
            p("(0|1)>5,2"),
            Expr::Count {
                inner: Box::new(Expr::Or(vec![Expr::Sub(0), Expr::Sub(1)])),
                op: CountOp::Gt,
                n: 5,
                distinct: Some(2),
            }
        );
        assert_eq!(
            p("0|1&2"),
            Expr::Or(vec![
                Expr::Sub(0),
                Expr::And(vec![Expr::Sub(1), Expr::Sub(2)])
            ])
        );
        p("((0|1|2)>5,2)&(3|1)");
        p("(0&1&2&3)&(4|1)");
        p("((0|1)&(2|3))&4");
        p("0<2,1");
        p("63");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "()",
            "(0",
            "0)",
            "0&",
            "&0",
            "0&&1",
            "a",
            "0 & 1",
            "0=",
            "0=x",
            "0=1,",
            "64",
            "0=99999999999",
            "0|",
            "0=1=2",
            "((0)",
            "0,1",
            "(0)>0",
            "(0)>1,2",
            "((0|1))>0",
            "(0)=1&1",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} parsed");
        }
        let deep = format!("{}0{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(parse(&deep), Err(ExprError::TooDeep));
    }

    // Each case below was run through clamscan 1.4.3 with subsigs
    // 0="hello", 1="xyz", 2="world" on "hello world\n" (counts [1,0,1]),
    // or on "hello hello world\n" (counts [2,0,1]).
    #[test]
    fn agrees_with_clamscan() {
        let f = [1, 0, 1];
        let g = [2, 0, 1];
        let cases: &[(&str, &[u32], bool)] = &[
            ("0|1&2", &f, true),
            ("1&2|0", &f, false),
            ("(0|1|2)>0,1", &f, true),
            ("(0|1|2)>0,2", &f, true),
            ("(1|2)=0", &[1, 0, 0], true),
            ("0&(1|2)=0", &[1, 0, 0], true),
            ("(0&1&2)>1", &f, false),
            ("(0&1&2)>1,2", &f, false),
            ("(0|1|2)=2", &f, true),
            ("2&0=1", &f, true),
            ("(0)|1&2", &f, true),
            ("((0|1)=1|2)=1", &f, false),
            ("(0&1|2)>0", &f, true),
            ("((0|2)=2|1)=1", &f, false),
            ("((0|2)>1|1)=1", &f, false),
            ("(0&2)=2", &f, true),
            ("(0&2)>1,2", &f, true),
            ("((0|1)|2)=2,2", &f, true),
            ("(0=1|1|2)=2", &f, true),
            ("(0|1)=2", &g, true),
            ("(0=2|1)=1", &g, false),
            // `,M` on a bare subsignature is ignored; a modifier that holds
            // with no hits still marks the subsignature for a group's `,M`
            // (0="ZZZZ", 1="AAAA" on "AAAA BBBB CCCC": counts [0,1]).
            ("0=2,5", &g, true),
            ("0>1,2", &g, true),
            ("0>2", &g, false),
            ("(0<1|1)=1,2", &[0, 1], true),
            ("(0=0|1)=1,2", &[0, 1], true),
            ("(0|1)=1,2", &[0, 1], false),
        ];
        for &(s, counts, want) in cases {
            assert_eq!(holds(s, counts), want, "{s} on {counts:?}");
        }
    }

    #[test]
    fn count_forms() {
        assert!(holds("0=2", &[2]));
        assert!(!holds("0=2", &[3]));
        assert!(holds("0=0", &[]));
        assert!(holds("0>1", &[2]));
        assert!(!holds("0>1", &[1]));
        assert!(holds("0<2", &[1]));
        assert!(holds("0<2", &[0]));
        assert!(!holds("0<2", &[2]));
        assert!(holds("(0|1)=3,2", &[2, 1]));
        assert!(!holds("(0|1)=3,2", &[3, 0]));
        assert!(holds("(0|1)<3,2", &[1, 1]));
        assert!(!holds("(0|1)<3,2", &[2, 0]));
        assert!(holds("(0|1|2)>2,3", &[1, 1, 1]));
        assert!(!holds("(0|1|2)>2,3", &[3, 1, 0]));
        // Missing counts are zero.
        assert!(!holds("5", &[1]));
        assert_eq!(max_index(&p("(0|7)&3=1")), Some(7));
    }

    /// A naive reading of the same semantics, written independently of
    /// `value`: the hits an expression generates, `None` when it does not
    /// hold.
    fn naive(e: &Expr, c: &[u32]) -> Option<(u64, Vec<usize>)> {
        match e {
            Expr::Sub(i) => {
                let h = u64::from(c.get(*i).copied().unwrap_or(0));
                (h > 0).then(|| (h, vec![*i]))
            }
            Expr::And(v) => {
                let parts: Option<Vec<_>> = v.iter().map(|x| naive(x, c)).collect();
                let parts = parts?;
                let mut ids: Vec<usize> = parts.iter().flat_map(|p| p.1.clone()).collect();
                ids.sort();
                ids.dedup();
                Some((parts.iter().map(|p| p.0).sum(), ids))
            }
            Expr::Or(v) => {
                let parts: Vec<_> = v.iter().filter_map(|x| naive(x, c)).collect();
                if parts.is_empty() {
                    return None;
                }
                let mut ids: Vec<usize> = parts.iter().flat_map(|p| p.1.clone()).collect();
                ids.sort();
                ids.dedup();
                Some((parts.iter().map(|p| p.0).sum(), ids))
            }
            Expr::Count {
                inner,
                op,
                n,
                distinct,
            } => {
                let (h, ids) = naive(inner, c).unwrap_or((0, vec![]));
                let n = u64::from(*n);
                let ok = match op {
                    CountOp::Eq => h == n,
                    CountOp::Gt => h > n,
                    CountOp::Lt => h < n,
                };
                if let Expr::Sub(i) = **inner {
                    return ok.then(|| (h, vec![i]));
                }
                let ok = ok && distinct.is_none_or(|m| ids.len() >= m as usize);
                ok.then_some((h, ids))
            }
        }
    }

    fn arb_expr() -> impl Strategy<Value = Expr> {
        let leaf = (0usize..6).prop_map(Expr::Sub);
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
                prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
                (
                    inner,
                    prop_oneof![Just(CountOp::Eq), Just(CountOp::Gt), Just(CountOp::Lt)],
                    0u32..4,
                    prop::option::of(0u32..4)
                )
                    // ClamAV has no way to write a count of a count.
                    .prop_filter("count of a count", |(i, ..)| {
                        !matches!(i, Expr::Count { .. })
                    })
                    .prop_map(|(i, op, n, distinct)| Expr::Count {
                        inner: Box::new(i),
                        op,
                        n,
                        distinct,
                    }),
            ]
        })
    }

    /// Writes `e` back in ClamAV syntax, fully parenthesised.
    fn show(e: &Expr) -> String {
        match e {
            Expr::Sub(i) => i.to_string(),
            Expr::And(v) | Expr::Or(v) => {
                let op = if matches!(e, Expr::And(_)) { "&" } else { "|" };
                let parts: Vec<String> = v.iter().map(|x| format!("({})", show(x))).collect();
                parts.join(op)
            }
            Expr::Count {
                inner,
                op,
                n,
                distinct,
            } => {
                let op = match op {
                    CountOp::Eq => '=',
                    CountOp::Gt => '>',
                    CountOp::Lt => '<',
                };
                let d = distinct.map(|m| format!(",{m}")).unwrap_or_default();
                // A modifier follows a bare subsignature or a group with an
                // operator of its own, never `(0)`.
                match **inner {
                    Expr::Sub(i) => format!("{i}{op}{n}{d}"),
                    _ => format!("({}){op}{n}{d}", show(inner)),
                }
            }
        }
    }

    proptest! {
        #[test]
        fn eval_matches_naive(e in arb_expr(), counts in prop::collection::vec(0u32..3, 0..6)) {
            prop_assert_eq!(e.eval(&counts), naive(&e, &counts).is_some());
        }

        #[test]
        fn parse_show_roundtrip(e in arb_expr(), counts in prop::collection::vec(0u32..3, 0..6)) {
            let text = show(&e);
            let back = parse(&text).unwrap();
            prop_assert_eq!(back.eval(&counts), e.eval(&counts), "{}", text);
        }

        #[test]
        fn parse_never_panics(s in "[0-9&|()=<>,]{0,40}") {
            let _ = parse(&s);
        }
    }
}
