//! One pass of the compiled rules over one message.
//!
//! The pass follows SpamAssassin's order of kinds — header, body, rawbody,
//! full, uri, mimeheader and eval tests, then metas — but not its
//! one-regex-at-a-time loop. Each text (a header value, the body lines, the
//! URI list, ...) goes once through its set's literal prefilter, and only
//! the rules the prefilter selects run their regex, line by line as
//! SpamAssassin runs them.
//!
//! Hit counting follows SpamAssassin's `got_hit`: a rule counts one hit and
//! adds its score once, unless it has `tflags multiple`, in which case every
//! match (up to `maxhits`) counts and adds the score again. A meta's value
//! is its expression's value; metas read the other rules' counts.

use super::ast::{HeaderMods, HeaderTarget};
use super::compile::{Kind, Rules, TEXT_TARGETS};
use crate::mime::Message;
use crate::spam::Features;
use crate::spam::dns::{Answer, Lookup, Query, Tags};
use crate::spam::evals::EvalCtx;
use crate::spam::origin::RelaysHeader;
use crate::spam::regex::{ALL_LINES, Budget, Native, SetScratch, Whole};
use std::borrow::Cow;

/// Header groups of at most this many regexes skip the literal prefilter.
const SMALL_GROUP: usize = 4;

/// Fallback-engine runs allowed per message (see [`Budget`]).
pub const FALLBACK_RUNS: u64 = 20_000;

/// Per-thread scratch for [`Rules::check`]; reuse it across messages.
#[derive(Debug, Default)]
pub struct Scratch {
    values: Vec<f64>,
    cands: Vec<u32>,
    pairs: Vec<(u32, u32)>,
    pre: SetScratch,
    header: Vec<u8>,
    stack: Vec<f64>,
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
    /// name: what metas read, for tests and debugging.
    pub subrules: Vec<Hit>,
    /// A fallback regex was skipped or cut short for lack of budget.
    pub budget_exhausted: bool,
    /// When the rule set has DNS blocklist tests: the names to look up,
    /// and the values of the rules that are not metas (nonzero ones,
    /// before any answer), from which [`Rules::resolve`] finishes the
    /// verdict once the answers are in.
    pub dns: Option<DnsPending>,
}

/// What a check leaves for [`Rules::resolve`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DnsPending {
    /// The names to look up.
    pub queries: Vec<Query>,
    /// Rule index and value of each rule (not meta) that hit.
    values: Vec<(u32, f64)>,
}

impl Rules {
    /// Runs every rule on `msg`, whose rendered view is `features`.
    pub fn check(&self, msg: &Message<'_>, features: &Features, scratch: &mut Scratch) -> Outcome {
        let n = self.rules.len();
        scratch.values.clear();
        scratch.values.resize(n, 0.0);
        let mut budget = Budget {
            left: FALLBACK_RUNS,
            exhausted: false,
        };

        let ctx = EvalCtx::with_origin(msg, features, &self.origin);
        self.headers(&ctx, scratch, &mut budget);
        for (slot, target) in TEXT_TARGETS.iter().enumerate() {
            let ts = &self.sets[slot];
            if ts.ids.is_empty() {
                continue;
            }
            let text = match target {
                super::ast::Target::Body => &features.body,
                super::ast::Target::Rawbody => &features.rawbody,
                super::ast::Target::Uri => &features.uris,
                _ => {
                    // `full`: one text, the whole message.
                    let whole = msg.input();
                    scratch.cands.clear();
                    ts.set
                        .candidates_with(whole, &mut scratch.cands, &mut scratch.pre);
                    for &id in &scratch.cands {
                        let Some(&ri) = ts.ids.get(id as usize) else {
                            continue;
                        };
                        let max = self.rules[ri as usize].max_hits();
                        scratch.values[ri as usize] =
                            ts.set.count(id, whole, max, &mut budget) as f64;
                    }
                    continue;
                }
            };
            let lines = &text.lines;
            let line = |i: u32| {
                let (s, e) = lines[i as usize];
                &text.buf[s as usize..e as usize]
            };
            scratch.pairs.clear();
            ts.set
                .candidate_lines(&text.buf, lines, &mut scratch.pairs, &mut scratch.pre);
            // The whole-text forms need lines without line breaks of their
            // own (body lines; rawbody paragraphs can hold several).
            let single_lines =
                ts.set.has_whole() && memchr::memchr_iter(b'\n', &text.buf).count() == lines.len();
            let pairs = &scratch.pairs;
            let mut at = 0;
            while at < pairs.len() {
                let id = pairs[at].0;
                let end = at + pairs[at..].partition_point(|p| p.0 == id);
                let these = &pairs[at..end];
                at = end;
                let Some(&ri) = ts.ids.get(id as usize) else {
                    continue;
                };
                let rule = &self.rules[ri as usize];
                let max = rule.max_hits();
                // `tflags nosubject`: a body rule that skips the Subject,
                // which is the first body line.
                let first = u32::from(*target == super::ast::Target::Body && rule.tflags.nosubject);
                let mut hits = 0;
                let all = these.last().is_some_and(|p| p.1 == ALL_LINES);
                let whole = match ts.set.whole(id) {
                    Some(Whole::Exact(re)) if single_lines && first == 0 && all => {
                        whole_count(re, &text.buf, max)
                    }
                    // The superset finds nothing: no line can match.
                    Some(Whole::Gate(re)) if single_lines && all && !re.is_match(&text.buf) => {
                        Some(0)
                    }
                    _ => None,
                };
                if let Some(n) = whole {
                    hits = n;
                } else if all {
                    for i in first..lines.len() as u32 {
                        hits += ts.set.count(id, line(i), max - hits, &mut budget);
                        if hits >= max {
                            break;
                        }
                    }
                } else {
                    for &(_, i) in these.iter().filter(|p| p.1 >= first) {
                        hits += ts.set.count(id, line(i), max - hits, &mut budget);
                        if hits >= max {
                            break;
                        }
                    }
                }
                scratch.values[ri as usize] = hits as f64;
            }
        }
        self.mime(msg, features, scratch, &mut budget);
        for &ri in &self.evals {
            if let Kind::Eval { f, args } = &self.rules[ri as usize].kind
                && f(&ctx, args)
            {
                scratch.values[ri as usize] = 1.0;
            }
        }
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
                values: scratch
                    .values
                    .iter()
                    .enumerate()
                    .filter(|&(_, &v)| v != 0.0)
                    .map(|(i, &v)| (i as u32, v))
                    .collect(),
            }
        });
        let mut out = self.finish(scratch, budget.exhausted);
        out.dns = dns;
        out
    }

    /// Finishes a check whose rule set has DNS tests, with the A records
    /// that came back for [`DnsPending::queries`]: the blocklist rules
    /// that the answers satisfy hit, the metas run again, and the score is
    /// summed anew. Without pending DNS work, the outcome as it is.
    pub fn resolve(&self, outcome: &Outcome, answers: &[Answer], scratch: &mut Scratch) -> Outcome {
        let Some(pending) = &outcome.dns else {
            return outcome.clone();
        };
        scratch.values.clear();
        scratch.values.resize(self.rules.len(), 0.0);
        for &(i, v) in &pending.values {
            if let Some(x) = scratch.values.get_mut(i as usize) {
                *x = v;
            }
        }
        for t in self.dns.hits(&pending.queries, answers) {
            if let Some(&ri) = self.dns_rules.get(t as usize)
                && self.rules[ri as usize].runs()
            {
                scratch.values[ri as usize] = 1.0;
            }
        }
        let mut out = self.finish(scratch, outcome.budget_exhausted);
        out.dns = outcome.dns.clone();
        out
    }

    /// Runs the metas on `scratch.values` and sums up.
    fn finish(&self, scratch: &mut Scratch, budget_exhausted: bool) -> Outcome {
        for &ri in &self.metas {
            if let Kind::Meta { prog, .. } = &self.rules[ri as usize].kind {
                let v = prog.run(&scratch.values, &mut scratch.stack);
                if v != 0.0 && !v.is_nan() {
                    scratch.values[ri as usize] = if v > 0.0 { v } else { 1.0 };
                }
            }
        }

        let mut out = Outcome {
            budget_exhausted,
            ..Outcome::default()
        };
        for (i, &v) in scratch.values.iter().enumerate() {
            let rule = &self.rules[i];
            if v == 0.0 || !rule.runs() {
                continue;
            }
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

    fn headers(&self, ctx: &EvalCtx<'_, '_>, scratch: &mut Scratch, budget: &mut Budget) {
        for (g, key) in self.header_keys.iter().enumerate() {
            let group = &self.header_rules[g];
            if !group.iter().any(|&ri| self.rules[ri as usize].runs()) {
                continue;
            }
            let value = header_value(ctx, &key.target, key.mods, &mut scratch.header);
            let text: &[u8] = match (&value, &key.if_unset) {
                (Some(v), _) => v,
                (None, Some(d)) => d.as_bytes(),
                (None, None) => b"",
            };
            let present = value.is_some();
            let set = &self.header_sets[g];
            // A small group runs its regexes directly (each has its own
            // literal prefilter); a large one asks the group's automaton
            // which are worth running.
            let filtered = set.len() > SMALL_GROUP;
            if filtered {
                scratch.cands.clear();
                set.candidates_with(text, &mut scratch.cands, &mut scratch.pre);
            }
            for &ri in group {
                let rule = &self.rules[ri as usize];
                if !rule.runs() {
                    continue;
                }
                let v = match &rule.kind {
                    Kind::Exists => f64::from(u8::from(present)),
                    Kind::Header { id, negate, .. } => {
                        let matched = if !filtered || scratch.cands.binary_search(id).is_ok() {
                            let max = if *negate { 1 } else { rule.max_hits() };
                            set.count(*id, text, max, budget)
                        } else {
                            0
                        };
                        match (negate, matched) {
                            (false, n) => n as f64,
                            (true, 0) => 1.0,
                            (true, _) => 0.0,
                        }
                    }
                    _ => 0.0,
                };
                scratch.values[ri as usize] = v;
            }
        }
    }

    fn mime(
        &self,
        msg: &Message<'_>,
        features: &Features,
        scratch: &mut Scratch,
        budget: &mut Budget,
    ) {
        for &ri in &self.mime_ids {
            let rule = &self.rules[ri as usize];
            let Kind::Mime {
                name,
                raw,
                negate,
                id,
            } = &rule.kind
            else {
                continue;
            };
            if !rule.runs() {
                continue;
            }
            let mut hits = 0;
            for v in features.mime_header(msg, name, *raw) {
                hits += self.mime_set.count(*id, &v, rule.max_hits() - hits, budget);
                if hits >= rule.max_hits() {
                    break;
                }
            }
            scratch.values[ri as usize] = match (negate, hits) {
                (false, n) => n as f64,
                (true, 0) => 1.0,
                (true, _) => 0.0,
            };
        }
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
    match target {
        HeaderTarget::All => features.header(msg, "ALL", mods),
        HeaderTarget::ToCc => features.header(msg, "ToCc", mods),
        HeaderTarget::EnvelopeFrom => {
            // As for the relay pseudo-headers: SpamAssassin's envelope
            // sender, with the rule set's trust boundary, from the context.
            let e = ctx.envelope_from();
            (!e.is_empty()).then_some(Cow::Borrowed(e.as_bytes()))
        }
        HeaderTarget::MessageId => features.header(msg, "MESSAGEID", mods),
        HeaderTarget::Named(names) if names.len() == 1 => features.header(msg, &names[0], mods),
        HeaderTarget::Named(names) => {
            buf.clear();
            let mut any = false;
            for n in names {
                if let Some(v) = features.header(msg, n, mods) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spam::features::Text;
    use crate::spam::regex::{SetBuilder, translate};
    use proptest::prelude::*;

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
            let mut text = Text::default();
            for l in &lines {
                text.push(l.as_bytes());
            }
            let re = whole(p, f);
            if let Some(n) = whole_count(&re, &text.buf, max) {
                prop_assert_eq!(n, per_line(p, f, &text, max), "{:?} on {:?}", p, lines);
            }
        }
    }

    /// Rules on SpamAssassin's relay pseudo-headers see the trust boundary
    /// the rule files draw, as the relay evals do.
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
