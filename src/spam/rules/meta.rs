//! Meta rule expressions.
//!
//! A `meta` rule combines other rules' results with Perl's arithmetic and
//! boolean operators: `(__A && !__B) || (__C + __D + __E > 1)`. SpamAssassin
//! turns each rule name into its hit count (0 when it did not hit, more than
//! 1 for `tflags multiple` rules and for metas whose value is a count), pastes
//! the result into Perl and evaluates it. We parse the same token set once,
//! at compile time, into a small tree, and evaluate it with Perl's meaning of
//! each operator:
//!
//! - `&&` and `||` return one of their operands, not a boolean: `2 && 3` is
//!   3, `0 || 5` is 5;
//! - `!x` is 1 or 0;
//! - comparisons are numeric and give 1 or 0;
//! - `^` is Perl's integer exclusive or; `/` by zero gives 0 rather than
//!   dying (SpamAssassin's lint rejects metas that could);
//! - `?:` is the conditional.
//!
//! Precedence, from tightest: unary `! - +`; `* /`; `+ -`; `< > <= >=`;
//! `== !=`; `^`; `&&`; `||`; `?:`.
//!
//! `rules_matching(GLOB)` expands, as in SpamAssassin 4, to the sum of all
//! rules whose names match the glob (`*` and `?`), the meta itself excluded.
//!
//! ```
//! use filter::spam::rules::meta::Expr;
//!
//! let e = Expr::parse("(A && !B) || C + D > 1").unwrap();
//! let value = |name: &str| match name { "A" => 1.0, "C" => 1.0, "D" => 1.0, _ => 0.0 };
//! assert_eq!(e.eval(&|i| value(e.names()[i].as_str())), 1.0);
//! ```

use thiserror::Error;

/// Why an expression did not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetaError {
    /// A character or word the meta language does not have.
    #[error("invalid token {0:?}")]
    Token(String),
    /// Operands and operators in an impossible order, or unbalanced
    /// parentheses.
    #[error("syntax error at token {0}")]
    Syntax(usize),
    /// Deeper than [`MAX_DEPTH`] levels.
    #[error("expression nested too deeply")]
    TooDeep,
}

/// Parenthesis and operator nesting allowed in one expression.
pub const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Name(String),
    Op(&'static str),
    Open,
    Close,
}

#[derive(Debug, Clone, PartialEq)]
enum Node {
    Num(f64),
    Rule(usize),
    Not(Box<Node>),
    Neg(Box<Node>),
    Bin(&'static str, Box<Node>, Box<Node>),
    Cond(Box<Node>, Box<Node>, Box<Node>),
}

/// A parsed meta expression: a tree over rule names.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    root: Node,
    names: Vec<String>,
}

const OPS: [&str; 17] = [
    "&&", "||", "<=", ">=", "==", "!=", "!", "<", ">", "+", "-", "*", "/", "^", "?", ":", "=",
];

fn lex(s: &str) -> Result<Vec<Tok>, MetaError> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                i += 1;
            }
            let text = &s[start..i];
            let v = text
                .parse::<f64>()
                .map_err(|_| MetaError::Token(text.into()))?;
            out.push(Tok::Num(v));
        } else if c == b'_' || c.is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric() || b[i] == b':') {
                i += 1;
            }
            out.push(Tok::Name(s[start..i].to_string()));
        } else if c == b'(' {
            out.push(Tok::Open);
            i += 1;
        } else if c == b')' {
            out.push(Tok::Close);
            i += 1;
        } else {
            let op = OPS
                .iter()
                .find(|op| s[i..].starts_with(*op))
                .ok_or_else(|| MetaError::Token(s[i..].chars().next().unwrap_or('?').into()))?;
            if *op == "=" {
                return Err(MetaError::Token("=".into()));
            }
            out.push(Tok::Op(op));
            i += op.len();
        }
    }
    Ok(out)
}

struct P<'a> {
    toks: &'a [Tok],
    pos: usize,
    names: Vec<String>,
    depth: usize,
}

/// Binary operator levels, loosest first (the conditional is handled above
/// them).
const LEVELS: [&[&str]; 7] = [
    &["||"],
    &["&&"],
    &["^"],
    &["==", "!="],
    &["<", ">", "<=", ">="],
    &["+", "-"],
    &["*", "/"],
];

impl P<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.pos) {
            Some(Tok::Op(o)) => Some(o),
            _ => None,
        }
    }

    fn enter(&mut self) -> Result<(), MetaError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            Err(MetaError::TooDeep)
        } else {
            Ok(())
        }
    }

    fn cond(&mut self) -> Result<Node, MetaError> {
        self.enter()?;
        let c = self.binary(0)?;
        let r = if self.peek_op() == Some("?") {
            self.pos += 1;
            let a = self.cond()?;
            if self.peek_op() != Some(":") {
                return Err(MetaError::Syntax(self.pos));
            }
            self.pos += 1;
            let b = self.cond()?;
            Node::Cond(Box::new(c), Box::new(a), Box::new(b))
        } else {
            c
        };
        self.depth -= 1;
        Ok(r)
    }

    fn binary(&mut self, level: usize) -> Result<Node, MetaError> {
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        while let Some(op) = self.peek_op().filter(|o| LEVELS[level].contains(o)) {
            self.pos += 1;
            let right = self.binary(level + 1)?;
            left = Node::Bin(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, MetaError> {
        self.enter()?;
        let r = match self.toks.get(self.pos) {
            Some(Tok::Op("!")) => {
                self.pos += 1;
                Node::Not(Box::new(self.unary()?))
            }
            Some(Tok::Op("-")) => {
                self.pos += 1;
                Node::Neg(Box::new(self.unary()?))
            }
            Some(Tok::Op("+")) => {
                self.pos += 1;
                self.unary()?
            }
            Some(Tok::Num(v)) => {
                self.pos += 1;
                Node::Num(*v)
            }
            Some(Tok::Name(n)) => {
                self.pos += 1;
                let i = match self.names.iter().position(|x| x == n) {
                    Some(i) => i,
                    None => {
                        self.names.push(n.clone());
                        self.names.len() - 1
                    }
                };
                Node::Rule(i)
            }
            Some(Tok::Open) => {
                self.pos += 1;
                let e = self.cond()?;
                if self.toks.get(self.pos) != Some(&Tok::Close) {
                    return Err(MetaError::Syntax(self.pos));
                }
                self.pos += 1;
                e
            }
            _ => return Err(MetaError::Syntax(self.pos)),
        };
        self.depth -= 1;
        Ok(r)
    }
}

fn truth(v: f64) -> bool {
    v != 0.0 && !v.is_nan()
}

fn bool_num(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

fn eval(n: &Node, value: &dyn Fn(usize) -> f64) -> f64 {
    match n {
        Node::Num(v) => *v,
        Node::Rule(i) => value(*i),
        Node::Not(a) => bool_num(!truth(eval(a, value))),
        Node::Neg(a) => -eval(a, value),
        Node::Cond(c, a, b) => {
            if truth(eval(c, value)) {
                eval(a, value)
            } else {
                eval(b, value)
            }
        }
        Node::Bin(op, a, b) => {
            let x = eval(a, value);
            match *op {
                "&&" => {
                    if truth(x) {
                        eval(b, value)
                    } else {
                        x
                    }
                }
                "||" => {
                    if truth(x) {
                        x
                    } else {
                        eval(b, value)
                    }
                }
                _ => {
                    let y = eval(b, value);
                    match *op {
                        "+" => x + y,
                        "-" => x - y,
                        "*" => x * y,
                        "/" => {
                            if y == 0.0 {
                                0.0
                            } else {
                                x / y
                            }
                        }
                        "<" => bool_num(x < y),
                        ">" => bool_num(x > y),
                        "<=" => bool_num(x <= y),
                        ">=" => bool_num(x >= y),
                        "==" => bool_num(x == y),
                        "!=" => bool_num(x != y),
                        "^" => ((x as i64) ^ (y as i64)) as f64,
                        _ => 0.0,
                    }
                }
            }
        }
    }
}

impl Expr {
    /// Parses an expression. `rules_matching(...)` must have been expanded
    /// already (see [`expand_rules_matching`]).
    pub fn parse(s: &str) -> Result<Expr, MetaError> {
        let toks = lex(s)?;
        let mut p = P {
            toks: &toks,
            pos: 0,
            names: Vec::new(),
            depth: 0,
        };
        let root = p.cond()?;
        if p.pos != toks.len() {
            return Err(MetaError::Syntax(p.pos));
        }
        Ok(Expr {
            root,
            names: p.names,
        })
    }

    /// The rule names the expression reads, each once; [`Expr::eval`]'s
    /// callback is given indexes into this list.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Evaluates with `value(i)` as the value of `names()[i]`.
    pub fn eval(&self, value: &dyn Fn(usize) -> f64) -> f64 {
        eval(&self.root, value)
    }

    /// Compiles the expression for [`Program::run`]: name `i` reads
    /// `values[slot(i)]`, or is 0 when `slot(i)` is `None`.
    pub fn program(&self, slot: &dyn Fn(usize) -> Option<u32>) -> Program {
        self.program_by_cost(slot, &|_| 0)
    }

    /// What evaluating the expression is expected to cost, given each
    /// slot's `cost`: a rule's cost, summed over arithmetic and `||`; an
    /// `&&` chain goes on past an operand `X` one time in ten (rules
    /// seldom hit), past `!X` nine times in ten. The measure
    /// [`Expr::program_by_cost`] orders by.
    pub fn cost(&self, slot: &dyn Fn(usize) -> Option<u32>, cost: &dyn Fn(u32) -> u64) -> u64 {
        Emit { slot, cost }.cost(&self.root)
    }

    /// [`Expr::program`], where each `&&` chain runs its cheap operands
    /// first: the rule tests that are not negated and whose `cost(slot)`
    /// (summed over what an operand reads, see [`Expr::cost`]) is small.
    /// The first false operand decides, and the others never run. The
    /// value is Perl's all the same: the first false operand (0), or the
    /// last one written when all are true, even when it ran early.
    pub fn program_by_cost(
        &self,
        slot: &dyn Fn(usize) -> Option<u32>,
        cost: &dyn Fn(u32) -> u64,
    ) -> Program {
        let mut p = Program::default();
        let e = Emit { slot, cost };
        p.emit(&self.root, &e);
        p
    }
}

/// What a [`Program`] is compiled against: each name's slot, and each
/// slot's cost.
struct Emit<'a> {
    slot: &'a dyn Fn(usize) -> Option<u32>,
    cost: &'a dyn Fn(u32) -> u64,
}

impl Emit<'_> {
    /// The expected cost of evaluating `n`: an `&&` chain runs its
    /// operands in [`Emit::order`], and goes on past `X` one time in ten
    /// (rules seldom hit), past `!X` nine times in ten.
    fn cost(&self, n: &Node) -> u64 {
        match n {
            Node::Num(_) => 0,
            Node::Rule(i) => (self.slot)(*i).map_or(0, |s| (self.cost)(s)),
            Node::Not(a) | Node::Neg(a) => self.cost(a),
            Node::Bin("&&", ..) => {
                let mut operands = Vec::new();
                and_chain(n, &mut operands);
                let mut total = 0f64;
                let mut reach = 1f64;
                for (i, cost) in self.order(&operands) {
                    total += reach * cost as f64;
                    reach *= if matches!(operands[i], Node::Not(_)) {
                        0.9
                    } else {
                        0.1
                    };
                }
                total.ceil() as u64
            }
            Node::Bin(_, a, b) => self.cost(a).saturating_add(self.cost(b)),
            Node::Cond(c, a, b) => self
                .cost(c)
                .saturating_add(self.cost(a))
                .saturating_add(self.cost(b)),
        }
    }

    /// The order an `&&` chain runs its operands in, each with its cost:
    /// first the cheap rule tests that are not negated (a rule seldom
    /// hits, so `X` is usually false and ends the chain), then the rest,
    /// each group in written order. Rule authors put the selective
    /// operand first, and a finer order by cost did worse than theirs on
    /// the stock rules: negations and metas cost more to run than their
    /// static cost says, and seldom end a chain. What this order catches
    /// is a costly body test written before a cheap header test.
    fn order(&self, operands: &[&Node]) -> Vec<(usize, u64)> {
        let mut order: Vec<(usize, u64)> = operands
            .iter()
            .enumerate()
            .map(|(i, o)| (i, self.cost(o)))
            .collect();
        order.sort_by_key(|&(i, cost)| matches!(operands[i], Node::Not(_)) || cost > CHEAP);
        order
    }
}

/// The most an `&&` operand may cost to run before the others: a native
/// header or body test with a required string (see `compile::cost`).
const CHEAP: u64 = 5;

/// The operands of the `&&` chain `n`, left to right (`(A && B) && C` and
/// `A && (B && C)` are both `A, B, C`: Perl's value is the same).
fn and_chain<'n>(n: &'n Node, out: &mut Vec<&'n Node>) {
    match n {
        Node::Bin("&&", a, b) => {
            and_chain(a, out);
            and_chain(b, out);
        }
        _ => out.push(n),
    }
}

/// A binary operator of a compiled [`Program`] (`&&` and `||` become jumps).
#[derive(Debug, Clone, Copy, PartialEq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    Xor,
}

impl BinOp {
    fn of(op: &str) -> Option<BinOp> {
        Some(match op {
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "*" => BinOp::Mul,
            "/" => BinOp::Div,
            "<" => BinOp::Lt,
            ">" => BinOp::Gt,
            "<=" => BinOp::Le,
            ">=" => BinOp::Ge,
            "==" => BinOp::Eq,
            "!=" => BinOp::Ne,
            "^" => BinOp::Xor,
            _ => return None,
        })
    }

    fn apply(self, x: f64, y: f64) -> f64 {
        match self {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mul => x * y,
            BinOp::Div => {
                if y == 0.0 {
                    0.0
                } else {
                    x / y
                }
            }
            BinOp::Lt => bool_num(x < y),
            BinOp::Gt => bool_num(x > y),
            BinOp::Le => bool_num(x <= y),
            BinOp::Ge => bool_num(x >= y),
            BinOp::Eq => bool_num(x == y),
            BinOp::Ne => bool_num(x != y),
            BinOp::Xor => ((x as i64) ^ (y as i64)) as f64,
        }
    }
}

/// One step of a [`Program`], a stack machine.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    /// Push a constant.
    Num(f64),
    /// Push `values[i]`.
    Load(u32),
    Not,
    Neg,
    Bin(BinOp),
    /// `&&`: if the top is false, jump (keeping it); else pop it.
    And(u32),
    /// `&&` after the chain's last operand, run early: if the top is
    /// false, jump (keeping it); else keep it as the chain's value, under
    /// the operands still to run.
    AndKeep(u32),
    /// `&&` after an operand run once the last one is kept: if the top is
    /// false, it replaces the kept value and the chain jumps; else pop it.
    AndUnder(u32),
    /// `||`: if the top is true, jump (keeping it); else pop it.
    Or(u32),
    /// `?:`: pop the condition; jump when it is false.
    Else(u32),
    Jump(u32),
    /// Before an `&&` tree: when one of its rule operands
    /// (`leaves[at..at + len]`) is known to be 0 without running it, the
    /// tree is 0; push that and jump past it.
    ZeroIf {
        at: u32,
        len: u32,
        to: u32,
    },
}

/// Where a [`Program`] gets its values.
pub trait Values {
    /// The value of `slot`. `stack` is the program's own, lent to runs
    /// nested inside (see [`Program::run_with`]).
    fn load(&mut self, slot: u32, stack: &mut Vec<f64>) -> f64;
    /// True when `slot` is certainly 0 and finding out cost next to
    /// nothing; `false` when unsure.
    fn known_zero(&mut self, slot: u32) -> bool;
}

/// A table of values, all known.
struct Table<'a>(&'a [f64]);

impl Values for Table<'_> {
    fn load(&mut self, slot: u32, _: &mut Vec<f64>) -> f64 {
        self.0.get(slot as usize).copied().unwrap_or(0.0)
    }
    fn known_zero(&mut self, slot: u32) -> bool {
        self.0.get(slot as usize).is_none_or(|&v| v == 0.0)
    }
}

/// An [`Expr`] compiled against a table of values: a flat list of stack
/// machine steps with jumps for `&&`, `||` and `?:`, so that one message's
/// ~900 stock metas cost a few nanoseconds each instead of a walk over
/// boxed nodes. Same results as [`Expr::eval`] (a property test checks).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Program {
    ops: Vec<Op>,
    /// The rule operands of each `&&` tree, for [`Op::ZeroIf`].
    leaves: Vec<u32>,
}

impl Program {
    /// Evaluates with `values[slot]` for each name's slot (see
    /// [`Expr::program`]); `stack` is scratch space, reused across calls.
    pub fn run(&self, values: &[f64], stack: &mut Vec<f64>) -> f64 {
        stack.clear();
        self.run_with(stack, &mut Table(values))
    }

    /// Evaluates, loading a slot's value only when the expression reads
    /// it: `&&`, `||` and `?:` skip the operands they do not need, so a
    /// rule behind a false `&&` operand is never loaded (and a program
    /// made by [`Expr::program_by_cost`] puts the cheap operands of a
    /// chain in front). And before an
    /// `&&` tree is evaluated, its rule operands are asked whether they
    /// are known to be 0 (a regex whose literal is absent, a rule already
    /// run): if one is, the tree is 0 and nothing in it is loaded. (Perl
    /// would give the first false operand instead, which is 0 too unless
    /// it is NaN; rule values and `/` here never are.)
    ///
    /// The stack is shared with runs nested inside `load` (which gets it
    /// back): each run works above the top it found and leaves the stack
    /// as it was.
    pub fn run_with(&self, stack: &mut Vec<f64>, values: &mut dyn Values) -> f64 {
        let base = stack.len();
        // Compiled from a tree, a program never pops below its base; the
        // guards only keep a broken one from reading its caller's values.
        let pop = |stack: &mut Vec<f64>| {
            if stack.len() > base {
                stack.pop().unwrap_or(0.0)
            } else {
                0.0
            }
        };
        let top = |stack: &Vec<f64>| {
            if stack.len() > base {
                stack.last().copied().unwrap_or(0.0)
            } else {
                0.0
            }
        };
        let ops = &self.ops;
        let mut pc = 0;
        while let Some(op) = ops.get(pc) {
            pc += 1;
            match *op {
                Op::Num(v) => stack.push(v),
                Op::Load(i) => {
                    let v = values.load(i, stack);
                    stack.push(v);
                }
                Op::ZeroIf { at, len, to } => {
                    let leaves = self.leaves.get(at as usize..(at + len) as usize);
                    if leaves.is_some_and(|l| l.iter().any(|&i| values.known_zero(i))) {
                        stack.push(0.0);
                        pc = to as usize;
                    }
                }
                Op::Not => {
                    let t = pop(stack);
                    stack.push(bool_num(!truth(t)));
                }
                Op::Neg => {
                    let t = pop(stack);
                    stack.push(-t);
                }
                Op::Bin(b) => {
                    let y = pop(stack);
                    let x = pop(stack);
                    stack.push(b.apply(x, y));
                }
                Op::And(to) => {
                    if truth(top(stack)) {
                        pop(stack);
                    } else {
                        pc = to as usize;
                    }
                }
                Op::AndKeep(to) => {
                    if !truth(top(stack)) {
                        pc = to as usize;
                    }
                }
                Op::AndUnder(to) => {
                    let t = pop(stack);
                    if !truth(t) {
                        pop(stack);
                        stack.push(t);
                        pc = to as usize;
                    }
                }
                Op::Or(to) => {
                    if truth(top(stack)) {
                        pc = to as usize;
                    } else {
                        pop(stack);
                    }
                }
                Op::Else(to) => {
                    if !truth(pop(stack)) {
                        pc = to as usize;
                    }
                }
                Op::Jump(to) => pc = to as usize,
            }
        }
        let v = pop(stack);
        stack.truncate(base);
        v
    }

    fn emit(&mut self, n: &Node, e: &Emit<'_>) {
        if let Node::Bin("&&", ..) = n {
            self.emit_and(n, e);
            return;
        }
        match n {
            Node::Num(v) => self.ops.push(Op::Num(*v)),
            Node::Rule(i) => self.ops.push(match (e.slot)(*i) {
                Some(s) => Op::Load(s),
                None => Op::Num(0.0),
            }),
            Node::Not(a) => {
                self.emit(a, e);
                self.ops.push(Op::Not);
            }
            Node::Neg(a) => {
                self.emit(a, e);
                self.ops.push(Op::Neg);
            }
            Node::Cond(c, a, b) => {
                self.emit(c, e);
                let at_else = self.ops.len();
                self.ops.push(Op::Else(0));
                self.emit(a, e);
                let at_jump = self.ops.len();
                self.ops.push(Op::Jump(0));
                self.ops[at_else] = Op::Else(self.ops.len() as u32);
                self.emit(b, e);
                self.ops[at_jump] = Op::Jump(self.ops.len() as u32);
            }
            Node::Bin(op, a, b) => {
                self.emit(a, e);
                match BinOp::of(op) {
                    Some(bin) => {
                        self.emit(b, e);
                        self.ops.push(Op::Bin(bin));
                    }
                    None => {
                        let at = self.ops.len();
                        self.ops.push(Op::Jump(0));
                        self.emit(b, e);
                        let end = self.ops.len() as u32;
                        self.ops[at] = match *op {
                            "||" => Op::Or(end),
                            // The tree evaluates an unknown operator to 0.
                            _ => {
                                self.ops.truncate(at);
                                self.ops.push(Op::Num(0.0));
                                return;
                            }
                        };
                    }
                }
            }
        }
    }

    /// An `&&` chain: first an [`Op::ZeroIf`] over its rule operands, then
    /// the operands cheapest first (ties in written order). Perl's value
    /// is the first false operand, or the last one when all are true; the
    /// last is kept aside when it runs early ([`Op::AndKeep`]), and a
    /// false operand after it takes its place ([`Op::AndUnder`]).
    fn emit_and(&mut self, n: &Node, e: &Emit<'_>) {
        let mut operands = Vec::new();
        and_chain(n, &mut operands);
        let leaves: Vec<u32> = operands
            .iter()
            .filter_map(|o| match o {
                Node::Rule(i) => (e.slot)(*i),
                _ => None,
            })
            .collect();
        let zero_if = (!leaves.is_empty()).then(|| {
            let at = self.leaves.len() as u32;
            self.leaves.extend(&leaves);
            self.ops.push(Op::Jump(0));
            (self.ops.len() - 1, at, leaves.len() as u32)
        });
        let order = e.order(&operands);
        let last = operands.len() - 1;
        let mut kept = false;
        let mut jumps = Vec::with_capacity(order.len());
        for (i, _) in order {
            self.emit(operands[i], e);
            jumps.push(self.ops.len());
            self.ops.push(if i == last {
                kept = true;
                Op::AndKeep(0)
            } else if kept {
                Op::AndUnder(0)
            } else {
                Op::And(0)
            });
        }
        let end = self.ops.len() as u32;
        for j in jumps {
            self.ops[j] = match self.ops[j] {
                Op::AndKeep(_) => Op::AndKeep(end),
                Op::AndUnder(_) => Op::AndUnder(end),
                _ => Op::And(end),
            };
        }
        if let Some((at, from, len)) = zero_if {
            self.ops[at] = Op::ZeroIf {
                at: from,
                len,
                to: end,
            };
        }
    }
}

/// Replaces each `rules_matching(GLOB)` in `s` with `(A + B + ...)` over
/// the names in `all` matching GLOB (sorted, `own` excluded), or `0`.
pub fn expand_rules_matching<'a>(
    s: &str,
    own: &str,
    all: impl Iterator<Item = &'a str> + Clone,
) -> String {
    const KEY: &str = "rules_matching(";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find(KEY) {
        let preceded_by_word = rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c == '_' || c.is_ascii_alphanumeric());
        let Some(close) = rest[at..].find(')') else {
            break;
        };
        let glob = rest[at + KEY.len()..at + close].trim();
        out.push_str(&rest[..at]);
        if preceded_by_word {
            out.push_str(&rest[at..at + close + 1]);
        } else {
            let mut names: Vec<&str> = all
                .clone()
                .filter(|n| *n != own && glob_match(glob, n))
                .collect();
            names.sort_unstable();
            names.dedup();
            if names.is_empty() {
                out.push_str(" 0 ");
            } else {
                out.push_str(" (");
                out.push_str(&names.join("+"));
                out.push_str(") ");
            }
        }
        rest = &rest[at + close + 1..];
    }
    out.push_str(rest);
    out
}

/// `*` and `?` glob over ASCII names, linear-time (greedy with backtrack to
/// the last star).
fn glob_match(glob: &str, name: &str) -> bool {
    let (g, n) = (glob.as_bytes(), name.as_bytes());
    let (mut gi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if gi < g.len() && (g[gi] == b'?' || g[gi] == n[ni]) {
            gi += 1;
            ni += 1;
        } else if gi < g.len() && g[gi] == b'*' {
            star = Some((gi, ni));
            gi += 1;
        } else if let Some((sg, sn)) = star {
            gi = sg + 1;
            ni = sn + 1;
            star = Some((sg, sn + 1));
        } else {
            return false;
        }
    }
    while gi < g.len() && g[gi] == b'*' {
        gi += 1;
    }
    gi == g.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str, vals: &[(&str, f64)]) -> f64 {
        let e = Expr::parse(s).unwrap();
        let names = e.names().to_vec();
        e.eval(&|i| {
            vals.iter()
                .find(|(n, _)| *n == names[i])
                .map(|v| v.1)
                .unwrap_or(0.0)
        })
    }

    #[test]
    fn perl_semantics() {
        // (expression, values, expected) — each checked with perl -e.
        type Case<'a> = (&'a str, &'a [(&'a str, f64)], f64);
        let cases: &[Case] = &[
            ("A && B", &[("A", 2.0), ("B", 3.0)], 3.0),
            ("A && B", &[("B", 3.0)], 0.0),
            ("A || B", &[("B", 5.0)], 5.0),
            ("A || B", &[("A", 2.0), ("B", 5.0)], 2.0),
            ("!A", &[], 1.0),
            ("!A", &[("A", 3.0)], 0.0),
            ("A + B + C > 1", &[("A", 1.0), ("C", 1.0)], 1.0),
            ("A + B + C > 1", &[("A", 1.0)], 0.0),
            ("1 + 2 * 3", &[], 7.0),
            ("(1 + 2) * 3", &[], 9.0),
            ("A - B", &[("A", 1.0), ("B", 1.0)], 0.0),
            ("-A + 2", &[("A", 1.0)], 1.0),
            ("A == 1 && B != 1", &[("A", 1.0)], 1.0),
            ("A >= 2 || B <= 0", &[("A", 1.0), ("B", 1.0)], 0.0),
            ("A ? B : C", &[("A", 1.0), ("B", 4.0), ("C", 5.0)], 4.0),
            ("A ? B : C", &[("B", 4.0), ("C", 5.0)], 5.0),
            ("A ^ B", &[("A", 1.0)], 1.0),
            ("A ^ B", &[("A", 1.0), ("B", 1.0)], 0.0),
            ("1 / 0", &[], 0.0),
            ("1 < 2 == 1", &[], 1.0),
            ("!A && !B", &[], 1.0),
            ("0.5 * A", &[("A", 3.0)], 1.5),
            ("A || B && C", &[("B", 1.0)], 0.0),
        ];
        for (s, vals, want) in cases {
            assert_eq!(run(s, vals), *want, "{s}");
        }
    }

    #[test]
    fn errors() {
        for bad in ["A &&", "(A", "A)", "A = B", "A; B", "$x", "A B", ""] {
            assert!(Expr::parse(bad).is_err(), "{bad}");
        }
        let deep = "(".repeat(200) + "A" + &")".repeat(200);
        assert_eq!(Expr::parse(&deep), Err(MetaError::TooDeep));
    }

    /// Values that record what was loaded; the slots named in `known`
    /// answer `known_zero` truthfully, the others say "unsure".
    struct Recorder<'a> {
        values: [f64; 4],
        known: &'a str,
        loaded: String,
    }

    fn name(slot: u32) -> char {
        char::from(b'A' + slot as u8)
    }

    impl Values for Recorder<'_> {
        fn load(&mut self, slot: u32, _: &mut Vec<f64>) -> f64 {
            self.loaded.push(name(slot));
            self.values[slot as usize]
        }
        fn known_zero(&mut self, slot: u32) -> bool {
            self.known.contains(name(slot)) && self.values[slot as usize] == 0.0
        }
    }

    /// (expression over A, B, C, D; their values; the names whose zero is
    /// known for free; the value; the names loaded, in order).
    const LAZY: &[(&str, [f64; 4], &str, f64, &str)] = &[
        ("A && B", [0.0, 1.0, 0.0, 0.0], "", 0.0, "A"),
        ("A && B", [2.0, 3.0, 0.0, 0.0], "", 3.0, "AB"),
        ("A || B", [2.0, 3.0, 0.0, 0.0], "", 2.0, "A"),
        ("A ? B : C", [0.0, 1.0, 5.0, 0.0], "", 5.0, "AC"),
        ("(A || B) + C > 1", [0.0, 1.0, 1.0, 0.0], "", 1.0, "ABC"),
        // A rule operand known to be 0 settles the whole `&&` tree, nested
        // `&&`s included, before anything in it is loaded.
        ("A && B && C", [1.0, 1.0, 0.0, 1.0], "ABCD", 0.0, ""),
        ("A && (B && C)", [1.0, 1.0, 0.0, 1.0], "ABCD", 0.0, ""),
        ("A && B && C", [1.0, 2.0, 3.0, 1.0], "ABCD", 3.0, "ABC"),
        // Only direct operands count: inside `||` or `!` a 0 settles
        // nothing.
        ("A && (B || C)", [1.0, 0.0, 0.0, 0.0], "BC", 0.0, "ABC"),
        ("A && !B", [1.0, 0.0, 0.0, 0.0], "B", 1.0, "AB"),
        // Under `+` the `&&` is its own tree.
        ("(A && B) + D", [1.0, 0.0, 0.0, 4.0], "B", 4.0, "D"),
    ];

    #[test]
    fn loads_only_what_the_value_needs() {
        for &(src, values, known, value, loaded) in LAZY {
            let e = Expr::parse(src).unwrap();
            let slot = |i: usize| Some(u32::from(e.names()[i].as_bytes()[0] - b'A'));
            let mut r = Recorder {
                values,
                known,
                loaded: String::new(),
            };
            let v = e.program(&slot).run_with(&mut Vec::new(), &mut r);
            assert_eq!((v, r.loaded.as_str()), (value, loaded), "{src}");
        }
    }

    #[test]
    fn runs_the_cheap_operands_of_a_chain_first() {
        // (expression; values of A, B, C, D; the value; loaded, in order)
        // with costs A 50, B 1, C 5, D 1: B, C and D are cheap.
        const CASES: &[(&str, [f64; 4], f64, &str)] = &[
            // B, cheap, is false: A never runs.
            ("A && B", [1.0, 0.0, 0.0, 0.0], 0.0, "B"),
            // All true: the value is the last operand's, run first.
            ("A && B", [1.0, 2.0, 0.0, 0.0], 2.0, "BA"),
            // The last operand ran early and A, run after it, is false.
            ("A && B", [0.0, 2.0, 0.0, 0.0], 0.0, "BA"),
            ("B && A", [3.0, 2.0, 0.0, 0.0], 3.0, "BA"),
            // The cheap ones in written order, then the others.
            ("A && C && B", [1.0, 2.0, 1.0, 0.0], 2.0, "CBA"),
            // A negation waits: `!X` seldom ends a chain.
            ("A && !D", [0.0, 0.0, 0.0, 0.0], 0.0, "A"),
            ("!D && A", [0.0, 0.0, 0.0, 0.0], 0.0, "DA"),
            // Nested chains are one chain; `||` keeps its order, and
            // costs what its operands cost together.
            ("(A && B) && (C || D)", [1.0, 1.0, 0.0, 1.0], 1.0, "BACD"),
        ];
        let costs = [50, 1, 5, 1];
        for &(src, values, value, loaded) in CASES {
            let e = Expr::parse(src).unwrap();
            let slot = |i: usize| Some(u32::from(e.names()[i].as_bytes()[0] - b'A'));
            let mut r = Recorder {
                values,
                known: "",
                loaded: String::new(),
            };
            let prog = e.program_by_cost(&slot, &|s| costs[s as usize]);
            let v = prog.run_with(&mut Vec::new(), &mut r);
            assert_eq!((v, r.loaded.as_str()), (value, loaded), "{src}");
            assert_eq!(v, e.eval(&|i| values[slot(i).unwrap() as usize]), "{src}");
        }
    }

    #[test]
    fn rules_matching() {
        let all = ["FOO_A", "FOO_B", "BAR", "META"];
        let s = expand_rules_matching("rules_matching(FOO_*) > 1", "META", all.iter().copied());
        assert_eq!(s.trim(), "(FOO_A+FOO_B)  > 1");
        let s = expand_rules_matching("rules_matching(NONE?) && X", "META", all.iter().copied());
        assert_eq!(s.trim(), "0  && X");
        assert!(glob_match("F*_?", "FOO_A"));
        assert!(!glob_match("F*_?", "FOO_AB"));
        assert!(glob_match("*", ""));
    }

    use proptest::prelude::*;

    /// A small expression tree, printed fully parenthesised, with its value
    /// computed directly: the oracle the parser and evaluator must agree with.
    #[derive(Debug, Clone)]
    enum T {
        Num(u8),
        Var(u8),
        Not(Box<T>),
        Bin(&'static str, Box<T>, Box<T>),
    }

    fn tree() -> impl Strategy<Value = T> {
        let leaf = prop_oneof![(0u8..4).prop_map(T::Num), (0u8..4).prop_map(T::Var)];
        leaf.prop_recursive(5, 40, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|a| T::Not(Box::new(a))),
                (
                    prop::sample::select(vec![
                        "&&", "||", "+", "-", "*", "<", ">", "<=", ">=", "==", "!="
                    ]),
                    inner.clone(),
                    inner
                )
                    .prop_map(|(op, a, b)| T::Bin(op, Box::new(a), Box::new(b))),
            ]
        })
    }

    fn show(t: &T) -> String {
        match t {
            T::Num(n) => n.to_string(),
            T::Var(v) => format!("R{v}"),
            T::Not(a) => format!("!({})", show(a)),
            T::Bin(op, a, b) => format!("({}) {op} ({})", show(a), show(b)),
        }
    }

    fn value(t: &T, vars: &[f64; 4]) -> f64 {
        let b = |x: bool| if x { 1.0 } else { 0.0 };
        match t {
            T::Num(n) => f64::from(*n),
            T::Var(v) => vars[*v as usize],
            T::Not(a) => b(value(a, vars) == 0.0),
            T::Bin(op, x, y) => {
                let l = value(x, vars);
                match *op {
                    "&&" => {
                        if l != 0.0 {
                            value(y, vars)
                        } else {
                            l
                        }
                    }
                    "||" => {
                        if l != 0.0 {
                            l
                        } else {
                            value(y, vars)
                        }
                    }
                    _ => {
                        let r = value(y, vars);
                        match *op {
                            "+" => l + r,
                            "-" => l - r,
                            "*" => l * r,
                            "<" => b(l < r),
                            ">" => b(l > r),
                            "<=" => b(l <= r),
                            ">=" => b(l >= r),
                            "==" => b(l == r),
                            _ => b(l != r),
                        }
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn agrees_with_the_tree_it_prints(t in tree(), vars in prop::array::uniform4(0u8..3)) {
            let vars = vars.map(f64::from);
            let e = Expr::parse(&show(&t)).unwrap();
            let names = e.names().to_vec();
            let got = e.eval(&|i| vars[names[i][1..].parse::<usize>().unwrap()]);
            prop_assert_eq!(got, value(&t, &vars));
            let prog = e.program(&|i| names[i][1..].parse::<u32>().ok());
            let ran = prog.run(&vars, &mut Vec::new());
            prop_assert!(ran == got || (ran.is_nan() && got.is_nan()), "{} vs {}", ran, got);
        }

        /// Running `&&` operands cheapest first changes what is loaded,
        /// never the value: the chain's last operand, run early, stays
        /// its value unless a later one is false.
        #[test]
        fn cost_order_keeps_the_value(
            t in tree(),
            vars in prop::array::uniform4(0u8..3),
            costs in prop::array::uniform4(0u64..40),
        ) {
            let vars = vars.map(f64::from);
            let e = Expr::parse(&show(&t)).unwrap();
            let names = e.names().to_vec();
            let slot = |i: usize| names[i][1..].parse::<u32>().ok();
            let want = e.eval(&|i| vars[names[i][1..].parse::<usize>().unwrap()]);
            let prog = e.program_by_cost(&slot, &|s| costs[s as usize]);
            let ran = prog.run(&vars, &mut Vec::new());
            prop_assert!(ran == want || (ran.is_nan() && want.is_nan()), "{} vs {}", ran, want);
        }

        #[test]
        fn never_panics(s in "[A-Z_()!&|<>=+*/?:^ 0-9.-]{0,60}") {
            if let Ok(e) = Expr::parse(&s) {
                let v = e.eval(&|_| 1.0);
                let ran = e.program(&|i| Some(i as u32)).run(&vec![1.0; e.names().len()], &mut Vec::new());
                prop_assert!(ran == v || (ran.is_nan() && v.is_nan()));
            }
        }
    }
}
