//! One pass of the compiled rules over one message.
//!
//! SpamAssassin runs every rule, kind by kind, one regex at a time, then
//! the metas. Here each text (a header value, the body lines, the URI
//! list, ...) goes once through its set's literal prefilter, and only the
//! rules the prefilter selects run their regex, line by line as
//! SpamAssassin runs them.
//!
//! And a rule runs only when its value is needed. The rules that show
//! (not sub-rules, `__NAME`) always are; a sub-rule is needed when a meta
//! reads it, and a meta reads its operands left to right, skipping those
//! `&&`, `||` and `?:` make irrelevant. Before an `&&` it first asks
//! whether one of its rule operands is known to be 0 for free (the
//! prefilter ruled the regex out, or it already ran): then nothing in the
//! `&&` runs at all. On the stock rules about 700 of the 2,465 rules that
//! can run are never asked for on a typical message, and a check costs
//! 11% fewer instructions (callgrind, 400 corpus messages: 8.37 to 7.47
//! million per message); the verdict is the same as running everything,
//! which [`Rules::check_all`] does, for debugging.
//!
//! Several messages can go through at once ([`Rules::check_many`]). The
//! rules then run one root at a time across all of them. With the stock
//! rules a message runs about a thousand, whose compiled regexes and lazy
//! DFA states are spread over the 200 MB the rules take, far more than the
//! caches hold; going rule by rule reads each rule's data once per batch
//! instead of once per message. On the stock rules and the public corpus,
//! batches of 64 took about a quarter off the rules' CPU time. Each
//! message still runs its rules in the same order with its own budget, so
//! its outcome is the one `check` gives it. The rules' values follow the
//! same order: one rule's values for the whole batch lie side by side, so
//! running it writes a few cache lines rather than one per message, and
//! a stamp per value, rather than a clearing pass per message, tells this
//! batch's values from older ones (callgrind with a 2 MB last-level
//! cache, 404 corpus messages in batches of 64: 12% fewer data misses).
//!
//! Hit counting follows SpamAssassin's `got_hit`: a rule counts one hit and
//! adds its score once, unless it has `tflags multiple`, in which case every
//! match (up to `maxhits`) counts and adds the score again. A meta's value
//! is its expression's value; metas read the other rules' counts.

use super::ast::{HeaderMods, HeaderTarget};
use super::compile::{Kind, Rules, TEXT_TARGETS};
use super::meta::Values;
use crate::mime::Message;
use crate::spam::Features;
use crate::spam::dns::{Answer, Lookup, Query, Tags};
use crate::spam::evals::EvalCtx;
use crate::spam::origin::RelaysHeader;
use crate::spam::regex::{ALL_LINES, Budget, Candidate, Native, SetScratch, Whole};
use std::borrow::Cow;
use std::cell::Cell;

#[cfg(test)]
thread_local! {
    /// Set by a test: the next text rule this thread runs panics once its
    /// text's candidates are computed, as a bug there would (see
    /// `engine::tests`).
    pub(crate) static PANIC_IN_TEXT: Cell<bool> = const { Cell::new(false) };
}

/// Header groups of at most this many regexes skip the literal prefilter.
const SMALL_GROUP: usize = 4;

/// Fallback-engine runs allowed per message (see [`Budget`]).
pub const FALLBACK_RUNS: u64 = 20_000;

/// Per-thread scratch for [`Rules::check`]; reuse it across messages.
#[derive(Debug, Default)]
pub struct Scratch {
    /// The rules' values (for [`Rules::check_many`], kept by the first
    /// message's scratch for the whole batch).
    board: Board,
    /// This message's rules with a nonzero value, in the order they ran.
    nonzero: Vec<u32>,
    /// The values [`Rules::resolve`] recomputes, one per rule.
    resolved: Vec<f64>,
    cands: Vec<u32>,
    /// The header groups' candidates, one range per group read.
    hcands: Vec<u32>,
    /// Per text slot: the candidate patterns and lines (line 0 for
    /// `full`), whether they are computed, and whether the text's lines
    /// are single (see `regex::Whole`).
    pairs: [Vec<Candidate>; 4],
    /// Per text slot: where each pattern's pairs start in `pairs` (one
    /// more entry than patterns).
    starts: [Vec<u32>; 4],
    ready: [bool; 4],
    single: [bool; 4],
    /// Gate counts (`Set::gate_count`) by slot, shared gate and line.
    gate_counts: crate::spam::regex::hash::Map<(u8, u32, u32), usize>,
    pre: SetScratch,
    header: Vec<u8>,
    stack: Vec<f64>,
}

/// The rules' values for a batch of messages, rule-major: the values of
/// one rule for every message of the batch lie side by side, so running a
/// rule across the batch ([`Rules::check_many`]) writes a few cache lines
/// rather than one per message. A value is this batch's when its stamp is
/// the batch's; older ones are left in place, so a batch starts without
/// clearing anything (but every 255th, when the stamp wraps).
#[derive(Debug, Default)]
struct Board {
    /// Rules, and messages in the batch.
    rules: usize,
    width: usize,
    values: Vec<Cell<f64>>,
    stamps: Vec<Cell<u8>>,
    stamp: u8,
}

impl Board {
    /// Starts a batch of `width` messages over `rules` rules. The room
    /// only grows: a value left by a batch of another shape is stale all
    /// the same, by its stamp.
    fn start(&mut self, rules: usize, width: usize) {
        let n = rules.saturating_mul(width);
        if self.values.len() < n {
            self.values.resize_with(n, || Cell::new(0.0));
            self.stamps.resize_with(n, || Cell::new(0));
        }
        (self.rules, self.width) = (rules, width);
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.stamps.iter().for_each(|s| s.set(0));
            self.stamp = 1;
        }
    }

    /// Where message `col`'s value of rule `rule` is.
    fn slot(&self, rule: usize, col: usize) -> Option<usize> {
        (rule < self.rules && col < self.width).then(|| rule * self.width + col)
    }

    /// The value in `slot`, when this batch has one.
    fn get(&self, slot: usize) -> Option<f64> {
        (self.stamps[slot].get() == self.stamp).then(|| self.values[slot].get())
    }

    fn set(&self, slot: usize, v: f64) {
        self.stamps[slot].set(self.stamp);
        self.values[slot].set(v);
    }
}

/// One rule that hit.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index in [`Rules::rules`].
    pub rule: u32,
    /// Hit count (or the meta's value).
    pub count: f64,
    /// Score added for it.
    pub score: f64,
}

/// What the rules said about one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Sum of the scores of the rules hit.
    pub score: f64,
    /// Rules hit that show (sub-rules `__X` left out), sorted by name.
    pub hits: Vec<Hit>,
    /// Sub-rules (`__X`) that hit, with their values (score 0), sorted by
    /// name: what metas read, for tests and debugging. [`Rules::check`]
    /// runs only the sub-rules its metas needed; [`Rules::check_all`] runs
    /// them all.
    pub subrules: Vec<Hit>,
    /// A fallback regex was skipped or cut short for lack of budget.
    pub budget_exhausted: bool,
    /// When the rule set has DNS blocklist tests: the names to look up,
    /// and the nonzero values before any answer, from which
    /// [`Rules::resolve`] finishes the verdict once the answers are in.
    pub dns: Option<DnsPending>,
}

/// What a check leaves for [`Rules::resolve`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsPending {
    /// The names to look up.
    pub queries: Vec<Query>,
    /// Rule index and value of each rule that hit before the answers.
    values: Vec<(u32, f64)>,
}

impl Rules {
    /// Runs the rules on `msg`, whose rendered view is `features`.
    ///
    /// Every rule that shows runs. A sub-rule (`__NAME`) runs only when a
    /// meta reads it, and a meta reads its operands left to right,
    /// skipping what `&&`, `||` and `?:` make irrelevant: in
    /// `__A && __B`, `__B` never runs on a message where `__A` is false.
    /// The verdict is the one of running everything; only
    /// [`Outcome::subrules`] can be shorter (see [`Rules::check_all`]).
    pub fn check(&self, msg: &Message<'_>, features: &Features, scratch: &mut Scratch) -> Outcome {
        self.pass(msg, features, scratch, false)
    }

    /// [`Rules::check`], but every rule that runs at all runs, so
    /// [`Outcome::subrules`] lists every sub-rule that hits, as
    /// SpamAssassin's debug output would: for tests and debugging.
    pub fn check_all(
        &self,
        msg: &Message<'_>,
        features: &Features,
        scratch: &mut Scratch,
    ) -> Outcome {
        self.pass(msg, features, scratch, true)
    }

    /// [`Rules::check`] on several messages at once, each with its
    /// rendered view, giving the same outcomes in the same order.
    ///
    /// The rules run rule by rule across the messages instead of message
    /// by message: each rule's compiled regex and lazy DFA states are
    /// read from memory once for all the messages rather than once for
    /// each. With the stock rules a message runs about a thousand rules
    /// and their data do not fit in the second-level cache, so this is
    /// faster where messages can wait for each other (a queue, a mailbox,
    /// a corpus); 32 to 64 messages a call gain most. `scratches` grows to
    /// one scratch per message and can be kept for the next call.
    pub fn check_many(
        &self,
        items: &[(&Message<'_>, &Features)],
        scratches: &mut Vec<Scratch>,
    ) -> Vec<Outcome> {
        if scratches.len() < items.len() {
            scratches.resize_with(items.len(), Scratch::default);
        }
        let Some(first) = scratches.first_mut() else {
            return Vec::new();
        };
        let mut board = std::mem::take(&mut first.board);
        board.start(self.rules.len(), items.len());
        let ctxs: Vec<EvalCtx<'_, '_>> = items
            .iter()
            .map(|&(msg, features)| EvalCtx::with_config(msg, features, &self.eval_cfg))
            .collect();
        let mut passes: Vec<Pass<'_, '_, '_>> = items
            .iter()
            .zip(&ctxs)
            .zip(scratches.iter_mut())
            .enumerate()
            .map(|(col, ((&(msg, features), ctx), scratch))| {
                self.begin(msg, features, ctx, scratch, &board, col)
            })
            .collect();
        self.run(&mut passes, false);
        let out = passes.into_iter().map(|p| self.finish(p)).collect();
        scratches[0].board = board;
        out
    }

    fn pass(
        &self,
        msg: &Message<'_>,
        features: &Features,
        scratch: &mut Scratch,
        all: bool,
    ) -> Outcome {
        let ctx = EvalCtx::with_config(msg, features, &self.eval_cfg);
        let mut board = std::mem::take(&mut scratch.board);
        board.start(self.rules.len(), 1);
        let mut passes = [self.begin(msg, features, &ctx, scratch, &board, 0)];
        self.run(&mut passes, all);
        let [pass] = passes;
        let out = self.finish(pass);
        scratch.board = board;
        out
    }

    /// A pass over `msg` with nothing run yet.
    fn begin<'p, 'a, 'm>(
        &'p self,
        msg: &'p Message<'m>,
        features: &'p Features,
        ctx: &'p EvalCtx<'a, 'm>,
        scratch: &'p mut Scratch,
        board: &'p Board,
        col: usize,
    ) -> Pass<'p, 'a, 'm> {
        scratch.nonzero.clear();
        scratch.ready = [false; 4];
        scratch.gate_counts.clear();
        scratch.hcands.clear();
        Pass {
            rules: self,
            msg,
            features,
            ctx,
            budget: Budget::new(FALLBACK_RUNS),
            headers: (0..self.header_keys.len()).map(|_| None).collect(),
            mimes: (0..self.mime_keys.len()).map(|_| None).collect(),
            scratch,
            board,
            col,
        }
    }

    /// Runs the rules on each pass, rule by rule: the roots (with what
    /// they read) or, with `all`, every rule; then what DNS answers may
    /// need. Each message's rules run in the same order whatever the
    /// number of passes, so its outcome does not depend on the others.
    fn run(&self, passes: &mut [Pass<'_, '_, '_>], all: bool) {
        let Some(first) = passes.first_mut() else {
            return;
        };
        let mut stack = std::mem::take(&mut first.scratch.stack);
        stack.clear();
        let mut each = |ri: u32| {
            for pass in passes.iter_mut() {
                pass.value(ri, &mut stack);
            }
        };
        if all {
            for ri in 0..self.rules.len() as u32 {
                each(ri);
            }
        } else {
            for &ri in &self.roots {
                each(ri);
            }
            // What the metas that DNS answers can change read must be
            // known when `resolve` runs them again.
            for &ri in &self.dns_metas {
                if let Kind::Meta { deps, .. } = &self.rules[ri as usize].kind {
                    for &d in deps.iter().flatten() {
                        each(d);
                    }
                }
            }
        }
        if let Some(first) = passes.first_mut() {
            first.scratch.stack = stack;
        }
    }

    /// The outcome of a pass that has run.
    fn finish(&self, pass: Pass<'_, '_, '_>) -> Outcome {
        let (msg, features, ctx) = (pass.msg, pass.features, pass.ctx);
        let exhausted = pass.budget.exhausted;
        let (board, col) = (pass.board, pass.col);
        let scratch = pass.scratch;
        // The rules that hit, in rule order, with their values.
        scratch.nonzero.sort_unstable();
        let hits: Vec<(u32, f64)> = scratch
            .nonzero
            .iter()
            .filter_map(|&ri| {
                let v = board.slot(ri as usize, col).and_then(|s| board.get(s))?;
                Some((ri, v))
            })
            .collect();
        let dns = (!self.dns.is_empty()).then(|| {
            let (untrusted, last_external, first_trusted) = ctx.blocklist_ips();
            let hosts: Vec<String> = features.uris.iter().filter_map(uri_host).collect();
            DnsPending {
                queries: self.dns.queries_with(
                    &Lookup {
                        untrusted: &untrusted,
                        last_external,
                        first_trusted,
                        uri_hosts: &hosts,
                    },
                    &Tags::of(msg, ctx.origin()),
                ),
                values: hits.clone(),
            }
        });
        let mut out = self.summarize(&hits, exhausted);
        out.dns = dns;
        out
    }

    /// Finishes a check whose rule set has DNS tests, with the A records
    /// that came back for [`DnsPending::queries`]: the blocklist rules
    /// that the answers satisfy hit, the metas that read them run again,
    /// and the score is summed anew. Without pending DNS work, the outcome
    /// as it is.
    pub fn resolve(&self, outcome: &Outcome, answers: &[Answer], scratch: &mut Scratch) -> Outcome {
        let Some(pending) = &outcome.dns else {
            return outcome.clone();
        };
        let values = &mut scratch.resolved;
        values.clear();
        values.resize(self.rules.len(), 0.0);
        for &(i, v) in &pending.values {
            if let Some(x) = values.get_mut(i as usize) {
                *x = v;
            }
        }
        for t in self.dns.hits(&pending.queries, answers) {
            if let Some(&ri) = self.dns_rules.get(t as usize)
                && self.rules[ri as usize].runs()
            {
                values[ri as usize] = 1.0;
            }
        }
        for &ri in &self.dns_metas {
            if let Kind::Meta { prog, .. } = &self.rules[ri as usize].kind
                && self.rules[ri as usize].runs()
            {
                values[ri as usize] = meta_value(prog.run(values, &mut scratch.stack));
            }
        }
        let hits: Vec<(u32, f64)> = values
            .iter()
            .enumerate()
            .filter(|&(_, &v)| v != 0.0)
            .map(|(i, &v)| (i as u32, v))
            .collect();
        let mut out = self.summarize(&hits, outcome.budget_exhausted);
        out.dns = outcome.dns.clone();
        out
    }

    /// The outcome of the nonzero values (rule, value) of rules that ran,
    /// in rule order: hits, sub-rules and the score.
    fn summarize(&self, values: &[(u32, f64)], budget_exhausted: bool) -> Outcome {
        let mut out = Outcome {
            budget_exhausted,
            ..Outcome::default()
        };
        for &(i, v) in values {
            let i = i as usize;
            let rule = &self.rules[i];
            if rule.is_subrule() {
                out.subrules.push(Hit {
                    rule: i as u32,
                    count: v,
                    score: 0.0,
                });
                continue;
            }
            let times = if rule.tflags.multiple { v } else { 1.0 };
            let score = rule.score * times;
            out.score += score;
            out.hits.push(Hit {
                rule: i as u32,
                count: v,
                score,
            });
        }
        let by_name = |a: &Hit, b: &Hit| {
            self.rules[a.rule as usize]
                .name
                .cmp(&self.rules[b.rule as usize].name)
        };
        out.hits.sort_by(by_name);
        out.subrules.sort_by(by_name);
        out
    }
}

/// The value of a rule that matched `n` times, or of its negation (`!~`,
/// which hits once when nothing matched).
fn negated(negate: bool, n: usize) -> f64 {
    match (negate, n) {
        (false, n) => n as f64,
        (true, 0) => 1.0,
        (true, _) => 0.0,
    }
}

/// A meta's value from its expression's: a hit counts at least 1 (a
/// negative value is a hit of 1), and NaN is no hit.
fn meta_value(v: f64) -> f64 {
    if v != 0.0 && !v.is_nan() {
        if v > 0.0 { v } else { 1.0 }
    } else {
        0.0
    }
}

impl Values for Pass<'_, '_, '_> {
    fn load(&mut self, ri: u32, stack: &mut Vec<f64>) -> f64 {
        self.value(ri, stack)
    }

    /// Known without running a regex: a rule already run, one that never
    /// runs, a regex whose prefilter rules it out (the text's prefilter
    /// runs if it has not), a header that is absent for `exists:`.
    fn known_zero(&mut self, ri: u32) -> bool {
        let i = ri as usize;
        let Some(slot) = self.board.slot(i, self.col) else {
            return true;
        };
        if let Some(v) = self.board.get(slot) {
            return v == 0.0;
        }
        let rule = &self.rules.rules[i];
        if !rule.runs() {
            return true;
        }
        match rule.kind {
            Kind::Header {
                group,
                id,
                negate: false,
            } => !self.header_candidate(group as usize, id),
            Kind::Exists { group } => !self.header_text(group as usize).present,
            Kind::Text { slot, id } => self.candidates(slot as usize, id).is_empty(),
            Kind::Dns | Kind::Never | Kind::Unused => true,
            _ => false,
        }
    }
}

/// A header group's text, read once per message when a rule first needs
/// it.
struct HeaderText<'p> {
    text: Cow<'p, [u8]>,
    present: bool,
    /// `start..end` in `Scratch::hcands`: the group's candidates, or
    /// `None` for a small group that skips the prefilter.
    cands: Option<(u32, u32)>,
}

/// One message's pass over the rules: each rule's value is computed the
/// first time something asks for it, and kept.
struct Pass<'p, 'a, 'm> {
    rules: &'p Rules,
    msg: &'p Message<'m>,
    features: &'p Features,
    ctx: &'p EvalCtx<'a, 'm>,
    budget: Budget,
    headers: Vec<Option<HeaderText<'p>>>,
    /// Each of [`Rules::mime_keys`]' values, gathered on first use.
    mimes: Vec<Option<Vec<Cow<'m, [u8]>>>>,
    scratch: &'p mut Scratch,
    /// The batch's values, and this message's column in it.
    board: &'p Board,
    col: usize,
}

impl<'p> Pass<'p, '_, '_> {
    /// The value of rule `ri`, running it (and, for a meta, what it reads)
    /// if it has not run yet. `stack` is the metas' evaluation stack.
    fn value(&mut self, ri: u32, stack: &mut Vec<f64>) -> f64 {
        let i = ri as usize;
        let Some(slot) = self.board.slot(i, self.col) else {
            return 0.0;
        };
        if let Some(v) = self.board.get(slot) {
            return v;
        }
        // Zero while it runs: a meta that reads itself reads 0.
        self.board.set(slot, 0.0);
        let rules = self.rules;
        let rule = &rules.rules[i];
        if !rule.runs() {
            return 0.0;
        }
        let v = match &rule.kind {
            Kind::Header { group, id, negate } => {
                let max = if *negate { 1 } else { rule.max_hits() };
                negated(*negate, self.header(*group as usize, *id, max))
            }
            Kind::Exists { group } => {
                f64::from(u8::from(self.header_text(*group as usize).present))
            }
            Kind::Text { slot, id } => self.text(*slot as usize, *id, rule) as f64,
            Kind::Mime { key, negate, id } => {
                let k = *key as usize;
                let values = self.mimes[k].get_or_insert_with(|| {
                    let (name, raw) = &rules.mime_keys[k];
                    self.features.mime_header(self.msg, name, *raw)
                });
                let mut hits = 0;
                for v in values.iter() {
                    hits += rules
                        .mime_set
                        .count(*id, v, rule.max_hits() - hits, &mut self.budget);
                    if hits >= rule.max_hits() {
                        break;
                    }
                }
                negated(*negate, hits)
            }
            Kind::Eval { f, args } => f64::from(u8::from(f(self.ctx, args))),
            Kind::Meta { prog, .. } => meta_value(prog.run_with(stack, self)),
            // DNS tests get their values in `resolve`.
            Kind::Dns | Kind::Never | Kind::Unused => 0.0,
        };
        self.board.set(slot, v);
        if v != 0.0 {
            self.scratch.nonzero.push(ri);
        }
        v
    }

    /// Header group `g`'s text, read and prefiltered on first use.
    fn header_text(&mut self, g: usize) -> &HeaderText<'p> {
        if self.headers[g].is_none() {
            let key = &self.rules.header_keys[g];
            let value = header_value(self.ctx, &key.target, key.mods, &mut self.scratch.header);
            let present = value.is_some();
            let text = match (value, &key.if_unset) {
                (Some(v), _) => v,
                (None, Some(d)) => Cow::Borrowed(d.as_bytes()),
                (None, None) => Cow::Borrowed(&b""[..]),
            };
            // A small group runs its regexes directly (each has its own
            // literal prefilter); a large one asks the group's automaton
            // which are worth running.
            let set = &self.rules.header_sets[g];
            let cands = (set.len() > SMALL_GROUP).then(|| {
                let sc = &mut *self.scratch;
                let start = sc.hcands.len();
                set.candidates_with(&text, &mut sc.hcands, &mut sc.pre);
                (start as u32, sc.hcands.len() as u32)
            });
            self.headers[g] = Some(HeaderText {
                text,
                present,
                cands,
            });
        }
        self.headers[g].as_ref().expect("just filled")
    }

    /// Whether header regex `id` of group `g` may match: a small group's
    /// regexes always may, a large group's when its prefilter says so.
    fn header_candidate(&mut self, g: usize, id: u32) -> bool {
        let cands = self.header_text(g).cands;
        cands.is_none_or(|(s, e)| {
            self.scratch.hcands[s as usize..e as usize]
                .binary_search(&id)
                .is_ok()
        })
    }

    /// Matches of header regex `id` of group `g`, up to `max`.
    fn header(&mut self, g: usize, id: u32, max: usize) -> usize {
        if !self.header_candidate(g, id) {
            return 0;
        }
        let text = &self.headers[g].as_ref().expect("read above").text;
        self.rules.header_sets[g].count(id, text, max, &mut self.budget)
    }

    /// The text of slot `slot` (`None` for `full`, the raw message).
    fn slot_text(&self, slot: usize) -> Option<&'p crate::spam::features::Text> {
        match TEXT_TARGETS[slot] {
            super::ast::Target::Body => Some(&self.features.body),
            super::ast::Target::Rawbody => Some(&self.features.rawbody),
            super::ast::Target::Uri => Some(&self.features.uris),
            _ => None,
        }
    }

    /// Where rule `id`'s candidate lines are in slot
    /// `slot`'s list, running the slot's prefilter on first use: `(id, 0)`
    /// for `full`, nothing when the rule cannot match.
    fn candidates(&mut self, slot: usize, id: u32) -> std::ops::Range<usize> {
        let set = &self.rules.sets[slot];
        if !self.scratch.ready[slot] {
            let text = self.slot_text(slot);
            let sc = &mut *self.scratch;
            sc.ready[slot] = true;
            sc.pairs[slot].clear();
            match text {
                Some(text) => {
                    let lines = &text.lines;
                    set.candidate_lines(&text.buf, lines, &mut sc.pairs[slot], &mut sc.pre);
                    // The whole-text forms need lines without line breaks
                    // of their own (body lines; rawbody paragraphs can
                    // hold several).
                    sc.single[slot] = set.has_whole()
                        && memchr::memchr_iter(b'\n', &text.buf).count() == lines.len();
                }
                None => {
                    sc.cands.clear();
                    set.candidates_with(self.msg.input(), &mut sc.cands, &mut sc.pre);
                    sc.pairs[slot].extend(sc.cands.iter().map(|&c| Candidate::whole(c, 0)));
                }
            }
            // The pairs are sorted by pattern: count each pattern's, then
            // sum up.
            let starts = &mut sc.starts[slot];
            starts.clear();
            starts.resize(set.len() + 1, 0);
            for c in &sc.pairs[slot] {
                starts[c.id as usize + 1] += 1;
            }
            for i in 1..starts.len() {
                starts[i] += starts[i - 1];
            }
        }
        let starts = &self.scratch.starts[slot];
        match (starts.get(id as usize), starts.get(id as usize + 1)) {
            (Some(&lo), Some(&hi)) => lo as usize..hi as usize,
            _ => 0..0,
        }
    }

    /// Matches of text rule `id` in slot `slot`, up to the rule's maximum.
    fn text(&mut self, slot: usize, id: u32, rule: &super::compile::Rule) -> usize {
        let range = self.candidates(slot, id);
        #[cfg(test)]
        if PANIC_IN_TEXT.with(|p| p.replace(false)) {
            panic!("a text rule failed (on purpose)");
        }
        if range.is_empty() {
            return 0;
        }
        let set = &self.rules.sets[slot];
        let max = rule.max_hits();
        let Some(text) = self.slot_text(slot) else {
            return set.count(id, self.msg.input(), max, &mut self.budget);
        };
        let target = TEXT_TARGETS[slot];
        let lines = &text.lines;
        let sc = &mut *self.scratch;
        let these = &sc.pairs[slot][range];
        let line = |i: u32| {
            let (s, e) = lines[i as usize];
            &text.buf[s as usize..e as usize]
        };
        // `tflags nosubject`: a body rule that skips the Subject, which is
        // the first body line.
        let first = u32::from(target == super::ast::Target::Body && rule.tflags.nosubject);
        let all = these.last().is_some_and(|c| c.line == ALL_LINES);
        // A pattern run over the whole text: its sieve may tell that no
        // line holds a match.
        if all
            && let Some(sieve) = set.sieve(id)
            && let Some(&(start, _)) = lines.get(first as usize)
            && !sieve.is_match(regex_automata::Input::new(&text.buf).range(start as usize..))
        {
            return 0;
        }
        let whole = set.whole(id);
        if all
            && first == 0
            && let Some(n) = set.count_literals(id, &text.buf, max)
        {
            return n;
        }
        if let Some(Whole::Exact(re)) = whole
            && sc.single[slot]
            && first == 0
            && all
            && let Some(n) = whole_count(re, &text.buf, max)
        {
            return n;
        }
        let budget = &mut self.budget;
        let mut hits = 0;
        if all {
            let mut run = |i: u32| {
                hits += set.count(id, line(i), max - hits, budget);
                hits >= max
            };
            match whole {
                // Only the lines where the whole-text form matches.
                Some(w) => whole_lines(w.regex(), &text.buf, lines, first, run),
                None => {
                    for i in first..lines.len() as u32 {
                        if run(i) {
                            break;
                        }
                    }
                }
            }
        } else {
            let gate = set.gate(id);
            let counts = &mut sc.gate_counts;
            for c in these.iter().filter(|c| c.line >= first) {
                let text = line(c.line);
                // Rules counting the same gate strings count once a line.
                if let Some((g, needs)) = gate {
                    let n = *counts
                        .entry((slot as u8, g, c.line))
                        .or_insert_with(|| set.gate_count(id, text));
                    if n < needs {
                        continue;
                    }
                }
                let at = lines[c.line as usize].0;
                hits += match (max - hits == 1, gate.is_some()) {
                    // A yes/no question: only near the required strings.
                    (true, false) => usize::from(set.is_match_near(c, text, at, budget)),
                    (true, true) => usize::from(set.is_match_near_past_gate(c, text, at, budget)),
                    (false, false) => set.count(id, text, max - hits, budget),
                    (false, true) => set.count_past_gate(id, text, max - hits, budget),
                };
                if hits >= max {
                    break;
                }
            }
        }
        hits
    }
}

/// The host of a normalised URI (`scheme://host[:port]/...`), lower case.
fn uri_host(u: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(u).ok()?;
    let rest = &s[s.find("://")? + 3..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let auth = &rest[..end];
    let host = auth.rsplit('@').next()?;
    let host = match host.strip_prefix('[') {
        Some(h) => h.split(']').next()?,
        None => host.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Calls `run` on each line of `lines`, from index `first` on, in which a
/// match of a line rule's whole-text form `re` (see `regex::Whole`)
/// starts in `buf`, the lines joined by `\n`, until `run` returns true.
/// A line the rule matches is among them: its match there is a match of
/// the whole-text form at the same place, even in lines with line breaks
/// of their own (rawbody paragraphs), because the bytes around each line
/// are `\n` as a line break is.
///
/// A leftmost match starting in line `j` says no match starts in the
/// lines before it, so the search goes on from line `j + 1`. A match that
/// runs past the start of line `j + 1` would make the next search read it
/// again (quadratic over many lines), so every line after `j` is called
/// instead. Time is linear in `buf`.
pub(crate) fn whole_lines(
    re: &Native,
    buf: &[u8],
    lines: &[(u32, u32)],
    first: u32,
    mut run: impl FnMut(u32) -> bool,
) {
    let mut i = first as usize;
    while let Some(&(start, _)) = lines.get(i) {
        let Some(m) = re.find(regex_automata::Input::new(buf).range(start as usize..)) else {
            return;
        };
        // The last line starting at or before the match.
        let j = i + lines[i..].partition_point(|&(s, _)| s as usize <= m.start()) - 1;
        if run(j as u32) {
            return;
        }
        i = j + 1;
        if lines.get(i).is_some_and(|&(s, _)| m.end() > s as usize) {
            for k in i..lines.len() {
                if run(k as u32) {
                    return;
                }
            }
            return;
        }
    }
}

/// Counts, up to `max`, the matches of a line rule's whole-text form (see
/// `regex::Whole`) in `buf`, lines without line breaks of their own
/// joined by `\n`: the sum of its
/// per-line counts, or `None` when a match spans a line break and only a
/// line-by-line run can tell.
pub(crate) fn whole_count(re: &Native, buf: &[u8], max: usize) -> Option<usize> {
    if buf.is_empty() {
        return Some(0);
    }
    let mut n = 0;
    let mut at = 0;
    while n < max && at <= buf.len() {
        let Some(m) = re.find(regex_automata::Input::new(buf).range(at..)) else {
            break;
        };
        if m.start() == buf.len() && buf.ends_with(b"\n") {
            // After the last line break: in no line.
            break;
        }
        if memchr::memchr(b'\n', &buf[m.range()]).is_some() {
            return None;
        }
        n += 1;
        at = if m.is_empty() { m.end() + 1 } else { m.end() };
    }
    Some(n)
}

/// The text a header rule reads, as SpamAssassin's `get()` builds it;
/// `None` when no header of the name is present. The X-Spam-Relays-*
/// pseudo-headers come from the context, with the rule set's trust
/// boundary.
fn header_value<'c>(
    ctx: &'c EvalCtx<'_, '_>,
    target: &HeaderTarget,
    mods: HeaderMods,
    buf: &mut Vec<u8>,
) -> Option<Cow<'c, [u8]>> {
    let (features, msg) = (ctx.features, ctx.msg);
    if let HeaderTarget::Named(names) = target
        && let [name] = &names[..]
        && let Some(which) = RelaysHeader::from_name(name)
    {
        // One value, no trailing newline, present even when empty.
        return Some(Cow::Borrowed(ctx.relays_header(which).as_bytes()));
    }
    if let HeaderTarget::Named(names) = target
        && let [name] = &names[..]
        && let Some((from, to)) = all_range(ctx, name)
    {
        return ctx
            .decoded_fields()
            .received_range(msg, from, to, mods.raw)
            .map(Cow::Owned);
    }
    let one = |name: &str| match ctx.decoded_fields().header(msg, name, mods) {
        Some(v) => v,
        None => features.header_in(msg, name, mods, ctx.registry()),
    };
    match target {
        HeaderTarget::All => one("ALL"),
        HeaderTarget::ToCc => one("ToCc"),
        HeaderTarget::EnvelopeFrom => {
            // As for the relay pseudo-headers: SpamAssassin's envelope
            // sender, with the rule set's trust boundary, from the context.
            let e = ctx.envelope_from();
            (!e.is_empty()).then_some(Cow::Borrowed(e.as_bytes()))
        }
        HeaderTarget::MessageId => features.header_in(msg, "MESSAGEID", mods, ctx.registry()),
        HeaderTarget::Named(names) if names.len() == 1 => one(&names[0]),
        HeaderTarget::Named(names) => {
            buf.clear();
            let mut any = false;
            for n in names {
                if let Some(v) = one(n) {
                    if any && !buf.ends_with(b"\n") {
                        buf.push(b'\n');
                    }
                    buf.extend_from_slice(&v);
                    any = true;
                }
            }
            any.then(|| Cow::Owned(buf.clone()))
        }
    }
}

/// Which Received fields the pseudo-header `name` spans, when it is one
/// of SpamAssassin's `ALL-TRUSTED`, `ALL-INTERNAL`, `ALL-UNTRUSTED` and
/// `ALL-EXTERNAL` (written just so: SpamAssassin compares them case by
/// case). The first two run from the top to the Received field after the
/// last trusted (internal) one, that field included; the others from that
/// field to the end. So the field the boundary is drawn at is in both
/// halves, as there.
fn all_range(ctx: &EvalCtx<'_, '_>, name: &str) -> Option<(Option<isize>, Option<isize>)> {
    let chain = || &ctx.origin().chain;
    Some(match name {
        "ALL-TRUSTED" => (None, Some(chain().last_trusted_index + 1)),
        "ALL-INTERNAL" => (None, Some(chain().last_internal_index + 1)),
        "ALL-UNTRUSTED" => (Some(chain().last_trusted_index + 1), None),
        "ALL-EXTERNAL" => (Some(chain().last_internal_index + 1), None),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spam::features::Text;
    use crate::spam::regex::{SetBuilder, translate};
    use proptest::prelude::*;

    /// A batch sees none of the values of the batches before it, whatever
    /// their shape and across the stamp's wrap, and every value it sets.
    #[test]
    fn board_holds_only_the_batchs_values() {
        let mut b = Board::default();
        for batch in 0..600usize {
            let width = 1 + batch % 7;
            b.start(10, width);
            for r in 0..10 {
                for c in 0..width {
                    let s = b.slot(r, c).expect("in the board");
                    assert_eq!(b.get(s), None, "batch {batch}: rule {r} message {c}");
                }
            }
            assert_eq!(b.slot(10, 0), None);
            assert_eq!(b.slot(0, width), None);
            for r in 0..10 {
                let s = b.slot(r, (batch + r) % width).expect("in the board");
                b.set(s, (batch * r) as f64);
                assert_eq!(b.get(s), Some((batch * r) as f64));
            }
        }
    }

    /// The per-line count, as the rules count without the whole-text form.
    fn per_line(pattern: &str, flags: &str, text: &Text, max: usize) -> usize {
        let mut b = SetBuilder::new();
        let (id, _) = b.add(pattern, flags).unwrap();
        let set = b.build();
        let mut budget = Budget::new(u64::MAX);
        let mut n = 0;
        for line in text.iter() {
            n += set.count(id, line, max - n, &mut budget);
            if n >= max {
                break;
            }
        }
        n
    }

    /// A text of these lines.
    fn text_of(lines: &[String]) -> Text {
        let mut text = Text::default();
        for l in lines {
            text.push(l.as_bytes());
        }
        text
    }

    fn whole(pattern: &str, flags: &str) -> Native {
        let native = translate(pattern, flags).unwrap().native.unwrap();
        crate::spam::regex::whole_text(&native).unwrap()
    }

    const PATTERNS: &[(&str, &str)] = &[
        (r"^a", ""),
        (r"b$", ""),
        (r"^$", ""),
        (r"^\s*$", ""),
        (r"\ba\s+b", "i"),
        (r"a.{0,3}b", "s"),
        (r"[^x]{2}", ""),
        (r"\Ab", ""),
        (r"a\z", ""),
        (r"\W+", ""),
        (r"(?:a|b\s)c", ""),
        (r"", ""),
        (r"x*", ""),
    ];

    proptest! {
        #[test]
        fn whole_text_counts_agree_with_lines(
            lines in prop::collection::vec("[abx \t.]{0,6}", 0..6),
            which in 0..PATTERNS.len(),
            max in 1usize..5,
        ) {
            let (p, f) = PATTERNS[which];
            let text = text_of(&lines);
            let re = whole(p, f);
            if let Some(n) = whole_count(&re, &text.buf, max) {
                prop_assert_eq!(n, per_line(p, f, &text, max), "{:?} on {:?}", p, lines);
            }
        }
    }

    /// Patterns for [`whole_lines`]: natives, and Perl-only ones whose
    /// whole-text form is their relaxed superset.
    const GATED: &[(&str, &str)] = &[
        (r"^a", ""),
        (r"b$", ""),
        (r"^\s*$", ""),
        (r"\ba\s+b", "i"),
        (r"a.{0,3}b", "s"),
        (r"\Ab", ""),
        (r"a\z", ""),
        (r"^a$", "m"),
        (r"", ""),
        (r"(\w)\1", ""),
        (r"a(?!b)", ""),
        (r"(?<=x)b", ""),
        (r"^(a|b)x\1$", "m"),
    ];

    /// The whole-text form of a [`GATED`] pattern, as the set builds it.
    fn gate(pattern: &str, flags: &str) -> Native {
        let t = translate(pattern, flags).unwrap();
        let native = t.native.unwrap_or(t.relaxed);
        crate::spam::regex::whole_text(&native).unwrap()
    }

    proptest! {
        #[test]
        fn whole_lines_names_every_matching_line(
            lines in prop::collection::vec("[abx \t.\n]{0,6}", 0..6),
            which in 0..GATED.len(),
            first in 0u32..2,
        ) {
            let (p, f) = GATED[which];
            let text = text_of(&lines);
            let mut named = Vec::new();
            whole_lines(&gate(p, f), &text.buf, &text.lines, first, |i| {
                named.push(i);
                false
            });
            prop_assert!(named.windows(2).all(|w| w[0] < w[1]), "{:?}", named);
            let mut b = SetBuilder::new();
            let (id, _) = b.add(p, f).unwrap();
            let set = b.build();
            let mut budget = Budget::new(u64::MAX);
            for (i, line) in text.iter().enumerate().skip(first as usize) {
                if set.count(id, line, 1, &mut budget) > 0 {
                    prop_assert!(
                        named.contains(&(i as u32)),
                        "{:?} matches line {} of {:?}, named {:?}", p, i, lines, named
                    );
                }
            }
            prop_assert!(named.iter().all(|&i| i >= first));
        }
    }

    #[test]
    fn whole_lines_skips_lines_and_stops() {
        let mut text = Text::default();
        for l in ["no", "an a", "none", "a\nb", "x", "a"] {
            text.push(l.as_bytes());
        }
        let mut named = Vec::new();
        whole_lines(&gate(r"^a", ""), &text.buf, &text.lines, 0, |i| {
            named.push(i);
            false
        });
        assert_eq!(named, [1, 3, 5]);
        named.clear();
        whole_lines(&gate(r"^a", ""), &text.buf, &text.lines, 0, |i| {
            named.push(i);
            i == 3
        });
        assert_eq!(named, [1, 3]);
        // A match running into the next line: every later line is named.
        named.clear();
        whole_lines(&gate(r"e\s+a", ""), &text.buf, &text.lines, 0, |i| {
            named.push(i);
            false
        });
        assert_eq!(named, [2, 3, 4, 5]);
    }

    /// Rules on SpamAssassin's relay pseudo-headers see the trust boundary
    /// the rule files draw, as the relay evals do.
    #[test]
    fn uri_host_lists_reach_the_eval() {
        let rules = "enlist_uri_host (BADTLD) top click !ok.top\n\
                     header T_BADTLD eval:check_uri_host_listed('BADTLD')\n\
                     score T_BADTLD 1\n\
                     blocklist_uri_host evil.example.com\n\
                     header T_BLOCK eval:check_uri_host_in_blocklist()\n\
                     score T_BLOCK 1\n\
                     header T_NONE eval:check_uri_host_listed('NO_SUCH_LIST')\n\
                     score T_NONE 1\n";
        let hits = |body: &str| -> Vec<String> {
            let msg = format!("From: a@example.com\r\nSubject: hi\r\n\r\n{body}\r\n");
            let mut b = crate::EngineBuilder::new().defaults(false);
            b.rules_str("t.cf", rules);
            let v = b
                .build()
                .scanner()
                .scan_message(msg.as_bytes())
                .spam
                .unwrap();
            v.symbols
                .iter()
                .map(|s| s.name.clone())
                .filter(|n| n.starts_with("T_"))
                .collect()
        };
        assert_eq!(hits("see http://www.shop.top/deal"), ["T_BADTLD"]);
        assert_eq!(
            hits("see http://ok.top/ and http://www.evil.example.com/"),
            ["T_BLOCK"]
        );
        assert_eq!(
            hits("see http://ok.top/ or mail me@shop.click"),
            Vec::<String>::new()
        );
        assert_eq!(
            hits("see http://www.example.com/shop.top"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn relay_pseudo_headers_follow_trusted_networks() {
        let rules = "header T_TRUSTED X-Spam-Relays-Trusted =~ /ip=198\\.51\\.100\\.7 /\n\
                     score T_TRUSTED 1\n\
                     header T_UNTRUSTED X-Spam-Relays-Untrusted =~ /ip=198\\.51\\.100\\.7 /\n\
                     score T_UNTRUSTED 1\n";
        let msg = b"Received: from mail.example.com (mail.example.com [198.51.100.7])\r\n\
                    \tby mx.example.org (Postfix) with ESMTP id 1A2B3C;\r\n\
                    \tFri, 2 Jan 2004 00:00:00 +0000\r\n\
                    From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n";
        let hits = |cf: &str| -> Vec<String> {
            let mut b = crate::EngineBuilder::new().defaults(false);
            b.rules_str("t.cf", cf);
            let v = b.build().scanner().scan_message(msg).spam.unwrap();
            v.symbols
                .iter()
                .map(|s| s.name.clone())
                .filter(|n| n.starts_with("T_"))
                .collect()
        };
        assert_eq!(hits(rules), ["T_UNTRUSTED"]);
        let trusted = format!("trusted_networks 198.51.100.0/24\n{rules}");
        assert_eq!(hits(&trusted), ["T_TRUSTED"]);
    }

    #[test]
    fn whole_text_falls_back_across_lines() {
        let mut text = Text::default();
        text.push(b"say a");
        text.push(b"b now");
        let re = whole(r"a\s+b", "");
        assert_eq!(whole_count(&re, &text.buf, 1), None);
        assert_eq!(per_line(r"a\s+b", "", &text, 1), 0);
        let re = whole(r"^b", "");
        assert_eq!(whole_count(&re, &text.buf, 5), Some(1));
        assert_eq!(whole_count(&whole(r"^", ""), &text.buf, 9), Some(2));
        assert_eq!(
            whole_count(&whole(r"x*", ""), &Text::default().buf, 9),
            Some(0)
        );
    }
}
