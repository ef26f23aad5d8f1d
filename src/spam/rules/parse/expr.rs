//! The little expression language shared by `meta` rules and `if` lines.
//!
//! SpamAssassin lexes both with one regex (`ARITH_EXPRESSION_LEXER`): numbers,
//! names, parentheses and Perl operators, silently skipping any character no
//! alternative matches. A `meta` line is valid when every name is a rule name,
//! every other token a number or one- or two-character punctuation, and the
//! result (names replaced by `0`) is a Perl expression; an `if` line is
//! evaluated as Perl with `plugin(...)`, `can(...)`, `has(...)`, `version`,
//! `perl_version` and `local_tests_only` bound. Both are done here by a small
//! precedence-climbing parser over the same tokens, with Perl's precedence:
//! unary `! - +`, `* /`, `+ -`, `< > <= >=`, `== !=`, `^`, `&&`, `||`, `?:`.

/// Splits `text` into tokens as `ARITH_EXPRESSION_LEXER` does.
pub(super) fn lex(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let is_num = |c: u8| c == b'-' || c == b'+' || c == b'.' || c.is_ascii_digit();
        let is_word = |c: u8| c == b'_' || c.is_ascii_alphanumeric() || c >= 0x80;
        if is_num(c) {
            while i < b.len() && is_num(b[i]) {
                i += 1;
            }
        } else if is_word(c) {
            i += 1;
            while i < b.len() && (is_word(b[i]) || b[i] == b':') {
                i += 1;
            }
            // Stay on a char boundary when a non-ASCII char was swallowed.
            while !text.is_char_boundary(i) {
                i += 1;
            }
        } else {
            let next = b.get(i + 1).copied();
            i += match (c, next) {
                (b'|', Some(b'|')) | (b'&', Some(b'&')) => 2,
                (b'>' | b'<' | b'=' | b'!', Some(b'=')) => 2,
                (b'(' | b')' | b'^' | b'!' | b'>' | b'<' | b'*' | b'/' | b'?' | b':', _) => 1,
                _ => {
                    // Not a token: skipped, as the Perl lexer's //g does.
                    i += 1;
                    while !text.is_char_boundary(i) {
                        i += 1;
                    }
                    continue;
                }
            };
        }
        out.push(&text[start..i]);
    }
    out
}

/// `RULENAME_RE` anchored: `[_a-zA-Z][_a-zA-Z0-9]{0,127}`.
pub(super) fn is_rule_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0] == b'_' || b[0].is_ascii_alphabetic())
        && b.iter().all(|c| *c == b'_' || c.is_ascii_alphanumeric())
}

/// A Perl scalar, as far as these expressions need one.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Value {
    /// `undef` (an unloaded plugin, a missing method).
    Undef,
    /// A number.
    Num(f64),
    /// A string (a quoted class name).
    Str(String),
}

impl Value {
    pub(super) fn truthy(&self) -> bool {
        match self {
            Value::Undef => false,
            Value::Num(n) => *n != 0.0,
            Value::Str(s) => !s.is_empty() && s != "0",
        }
    }
    fn num(&self) -> f64 {
        match self {
            Value::Undef => 0.0,
            Value::Num(n) => *n,
            Value::Str(s) => {
                let end = s
                    .char_indices()
                    .find(|(i, c)| !(c.is_ascii_digit() || *c == '.' || (*i == 0 && *c == '-')))
                    .map_or(s.len(), |(i, _)| i);
                s[..end].parse().unwrap_or(0.0)
            }
        }
    }
}

/// One token after the caller has bound names: an operand or an operator.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    /// A value.
    Val(Value),
    /// A function of one argument (`plugin`, `can`, `has`), resolved by the
    /// callback given to [`eval`].
    Func(&'static str),
    /// An operator or parenthesis.
    Op(String),
}

/// Parses and evaluates `toks`; `call` answers `plugin`/`can`/`has`.
/// `Err` is a Perl syntax error.
pub(super) fn eval(toks: &[Tok], call: &mut dyn FnMut(&str, &Value) -> Value) -> Result<Value, ()> {
    let mut p = P {
        toks,
        pos: 0,
        depth: 0,
        call,
    };
    if toks.is_empty() {
        return Err(());
    }
    let v = p.ternary()?;
    if p.pos != toks.len() {
        return Err(());
    }
    Ok(v)
}

/// Deepest nesting accepted (Perl has no such limit; real rules nest < 10).
const MAX_DEPTH: u32 = 200;

struct P<'a, 'c> {
    toks: &'a [Tok],
    pos: usize,
    /// Nesting of parentheses and unary operators, bounded so that no
    /// input can exhaust the stack.
    depth: u32,
    call: &'c mut dyn FnMut(&str, &Value) -> Value,
}

fn prec(op: &str) -> Option<u8> {
    Some(match op {
        "||" => 1,
        "&&" => 2,
        "^" => 3,
        "==" | "!=" => 4,
        "<" | ">" | "<=" | ">=" => 5,
        "+" | "-" => 6,
        "*" | "/" => 7,
        _ => return None,
    })
}

impl P<'_, '_> {
    fn peek_op(&self) -> Option<&str> {
        match self.toks.get(self.pos) {
            Some(Tok::Op(o)) => Some(o.as_str()),
            _ => None,
        }
    }

    fn ternary(&mut self) -> Result<Value, ()> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            Err(())
        } else {
            self.ternary_inner()
        };
        self.depth -= 1;
        r
    }

    fn ternary_inner(&mut self) -> Result<Value, ()> {
        let c = self.binary(1)?;
        if self.peek_op() == Some("?") {
            self.pos += 1;
            let a = self.ternary()?;
            if self.peek_op() != Some(":") {
                return Err(());
            }
            self.pos += 1;
            let b = self.ternary()?;
            return Ok(if c.truthy() { a } else { b });
        }
        Ok(c)
    }

    fn binary(&mut self, min: u8) -> Result<Value, ()> {
        let mut lhs = self.unary()?;
        while let Some(op) = self.peek_op() {
            let Some(p) = prec(op) else { break };
            if p < min {
                break;
            }
            let op = op.to_string();
            self.pos += 1;
            let rhs = self.binary(p + 1)?;
            let (a, b) = (lhs.num(), rhs.num());
            lhs = match op.as_str() {
                "||" => {
                    if lhs.truthy() {
                        lhs
                    } else {
                        rhs
                    }
                }
                "&&" => {
                    if lhs.truthy() {
                        rhs
                    } else {
                        lhs
                    }
                }
                "^" => Value::Num(((a as i64) ^ (b as i64)) as f64),
                "==" => Value::Num(f64::from(u8::from(a == b))),
                "!=" => Value::Num(f64::from(u8::from(a != b))),
                "<" => Value::Num(f64::from(u8::from(a < b))),
                ">" => Value::Num(f64::from(u8::from(a > b))),
                "<=" => Value::Num(f64::from(u8::from(a <= b))),
                ">=" => Value::Num(f64::from(u8::from(a >= b))),
                "+" => Value::Num(a + b),
                "-" => Value::Num(a - b),
                "*" => Value::Num(a * b),
                // Perl dies on division by zero: an error, like a syntax one.
                "/" if b == 0.0 => return Err(()),
                "/" => Value::Num(a / b),
                _ => return Err(()),
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Value, ()> {
        self.depth += 1;
        let r = if self.depth > MAX_DEPTH {
            Err(())
        } else {
            self.unary_inner()
        };
        self.depth -= 1;
        r
    }

    fn unary_inner(&mut self) -> Result<Value, ()> {
        match self.toks.get(self.pos) {
            Some(Tok::Op(o)) if o == "!" => {
                self.pos += 1;
                let v = self.unary()?;
                Ok(Value::Num(f64::from(u8::from(!v.truthy()))))
            }
            Some(Tok::Op(o)) if o == "-" || o == "+" => {
                let neg = o == "-";
                self.pos += 1;
                let v = self.unary()?;
                Ok(if neg { Value::Num(-v.num()) } else { v })
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Value, ()> {
        let t = self.toks.get(self.pos).ok_or(())?.clone();
        self.pos += 1;
        match t {
            Tok::Val(v) => Ok(v),
            Tok::Func(name) => {
                if self.peek_op() != Some("(") {
                    return Err(());
                }
                self.pos += 1;
                let arg = if self.peek_op() == Some(")") {
                    Value::Undef
                } else {
                    self.ternary()?
                };
                if self.peek_op() != Some(")") {
                    return Err(());
                }
                self.pos += 1;
                Ok((self.call)(name, &arg))
            }
            Tok::Op(o) if o == "(" => {
                if self.peek_op() == Some(")") {
                    // `()`: an empty list, undef in scalar context.
                    self.pos += 1;
                    return Ok(Value::Undef);
                }
                let v = self.ternary()?;
                if self.peek_op() != Some(")") {
                    return Err(());
                }
                self.pos += 1;
                Ok(v)
            }
            Tok::Op(_) => Err(()),
        }
    }
}

/// `rules_matching(GLOB)` (`META_RULES_MATCHING_RE`): byte ranges of each
/// call and its glob.
pub(super) fn rules_matching(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let mut out = Vec::new();
    let key = "rules_matching(";
    let mut from = 0;
    while let Some(off) = text[from..].find(key) {
        let start = from + off;
        from = start + key.len();
        let before = text[..start].chars().next_back();
        if matches!(before, Some(c) if c == '_' || c.is_alphanumeric()) {
            continue;
        }
        let rest = &text[from..];
        let inner_ws = rest.len() - rest.trim_start().len();
        let glob_start = from + inner_ws;
        let glob: String = text[glob_start..]
            .chars()
            .take_while(|c| *c == '_' || *c == '*' || *c == '?' || c.is_ascii_alphanumeric())
            .collect();
        let first_ok = glob
            .chars()
            .next()
            .is_some_and(|c| c == '_' || c == '*' || c == '?' || c.is_ascii_alphabetic());
        if !first_ok || glob.len() > 128 {
            continue;
        }
        let after = &text[glob_start + glob.len()..];
        let trail = after.len() - after.trim_start().len();
        if after[trail..].starts_with(')') {
            let end = glob_start + glob.len() + trail + 1;
            out.push((start..end, glob));
            from = end;
        }
    }
    out
}

/// SpamAssassin's `is_meta_valid`: `Err(reason)` when it would refuse the
/// expression.
pub(super) fn check_meta(text: &str) -> Result<(), String> {
    if text.contains("::") || text.contains("->") || text.contains(['$', '@', '%', ';', '{', '}']) {
        return Err("invalid meta rule (forbidden characters)".into());
    }
    if text.contains('*') {
        let b = text.as_bytes();
        for (i, _) in text.match_indices('*') {
            let rest = &b[i + 1..];
            let skip = rest.iter().take_while(|c| c.is_ascii_whitespace()).count();
            if rest.get(skip) == Some(&b'*') {
                return Err("invalid '**' or '* *' operator".into());
            }
        }
    }
    let mut replaced = String::with_capacity(text.len());
    let mut last = 0;
    for (range, _) in rules_matching(text) {
        replaced.push_str(&text[last..range.start]);
        replaced.push_str(" 0 ");
        last = range.end;
    }
    replaced.push_str(&text[last..]);

    let mut toks = Vec::new();
    for t in lex(&replaced) {
        if is_rule_name(t) {
            toks.push(Tok::Val(Value::Num(0.0)));
        } else if is_decimal(t) {
            toks.push(Tok::Val(Value::Num(t.parse().unwrap_or(0.0))));
        } else if t == "+-" || t == "-+" {
            // Perl reads these as a binary and a unary operator.
            toks.push(Tok::Op(t[..1].to_string()));
            toks.push(Tok::Op(t[1..].to_string()));
        } else if t.chars().count() <= 2 && t.chars().all(|c| c.is_ascii_punctuation()) {
            toks.push(Tok::Op(t.to_string()));
        } else {
            return Err(format!("invalid meta token: {t}"));
        }
    }
    let mut none = |_: &str, _: &Value| Value::Undef;
    match eval(&toks, &mut none) {
        Ok(_) => Ok(()),
        // Perl evaluates `0/0` at run time; a division error is not syntax.
        Err(()) if toks.iter().any(|t| *t == Tok::Op("/".into())) => {
            Err("division by zero possible".into())
        }
        Err(()) => Err("invalid expression".into()),
    }
}

/// `\d+(?:\.\d+)?`.
pub(super) fn is_decimal(t: &str) -> bool {
    let (a, b) = match t.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (t, None),
    };
    !a.is_empty()
        && a.bytes().all(|c| c.is_ascii_digit())
        && b.is_none_or(|b| !b.is_empty() && b.bytes().all(|c| c.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "(".repeat(100_000) + "A" + &")".repeat(100_000);
        assert!(check_meta(&deep).is_err());
        let bangs = "!".repeat(100_000) + "A";
        assert!(check_meta(&bangs).is_err());
        let chain = "A ? B : ".repeat(100_000) + "C";
        assert!(check_meta(&chain).is_err());
        let ok = "(".repeat(50) + "A" + &")".repeat(50);
        assert!(check_meta(&ok).is_ok());
    }

    #[test]
    fn lexes_like_perl() {
        assert_eq!(
            lex("A && !(B||C) > 1"),
            ["A", "&&", "!", "(", "B", "||", "C", ")", ">", "1"]
        );
        assert_eq!(lex("A-1 | B"), ["A", "-1", "B"]);
        assert_eq!(lex("A != B"), ["A", "!=", "B"]);
    }

    #[test]
    fn meta_validity() {
        assert!(check_meta("A && (B || !C)").is_ok());
        assert!(check_meta("(A + B + C) > 1").is_ok());
        assert!(check_meta("A ? B : C").is_ok());
        assert!(check_meta("()").is_ok());
        assert!(check_meta("rules_matching(FOO_*) > 2").is_ok());
        assert!(check_meta("A B").is_err());
        assert!(check_meta("A && ").is_err());
        assert!(check_meta("A ** 2").is_err());
        assert!(check_meta("A > -1").is_err());
        assert!(check_meta("$x").is_err());
        assert!(check_meta("A | B").is_err());
        assert!(check_meta("1.2.3").is_err());
    }
}
