//! From a parsed [`Config`] to an immutable, shareable [`Rules`].
//!
//! Compiling decides, once, everything the per-message pass should not
//! have to: each rule's score in the chosen score set, which rules run at
//! all (SpamAssassin never runs a rule whose score is 0, and metas then see
//! it as 0), which Perl regexes go to the native engine and which to the
//! bounded fallback, which eval tests we implement, and the order in which
//! metas can be evaluated. Every regex of one kind of text goes into one
//! [`Set`], so that the text is scanned once by the set's literal
//! prefilter and only the rules it selects run.
//!
//! Nothing that fails to compile is dropped silently: [`Rules::stats`]
//! counts regexes by engine, and [`Rules::problems`] lists each rule that
//! will never hit (bad regex, unimplemented eval, meta cycle) with the
//! reason.

use super::ast::{Config, HeaderMods, HeaderTarget, Skipped, Target, Test, Tflags};
use super::meta::{Expr, expand_rules_matching};
use crate::spam::dns::{Dns, QType, Subtest};
use crate::spam::evals::{self, EvalConfig, EvalFn};
use crate::spam::origin::OriginConfig;
use crate::spam::regex::{EngineKind, Set, SetBuilder};
use std::collections::{BTreeMap, HashMap};

/// Which of SpamAssassin's four score sets applies: bit 0 is "network
/// tests on", bit 1 "Bayes on".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ScoreSet(pub u8);

impl ScoreSet {
    /// The set for the given switches.
    pub fn new(net: bool, bayes: bool) -> ScoreSet {
        ScoreSet(u8::from(net) | (u8::from(bayes) << 1))
    }
}

/// What a compiled rule tests.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// Header regex: its header group and its id in the group's set.
    Header { group: u32, id: u32, negate: bool },
    /// `exists:`, on its header group.
    Exists { group: u32 },
    /// Body, rawbody, full or uri regex: the slot of its target in
    /// [`TEXT_TARGETS`] and its id in that set.
    Text { slot: u8, id: u32 },
    /// `mimeheader`: its header in [`Rules::mime_keys`] and its id in
    /// [`Rules::mime_set`].
    Mime { key: u32, negate: bool, id: u32 },
    /// A native eval test.
    Eval { f: EvalFn, args: evals::Args },
    /// A DNS blocklist test (`check_rbl`, `check_rbl_sub`, `check_rbl_txt`,
    /// `check_uridnsbl`, `askdns`): its value comes from the answers, in
    /// [`Rules::resolve`](super::eval).
    Dns,
    /// A meta expression, and the rule index of each name it reads
    /// (`None`: no such rule, always 0).
    Meta {
        deps: Vec<Option<u32>>,
        prog: super::meta::Program,
    },
    /// Never hits: see [`Rules::problems`].
    Never,
    /// Scored, but a sub-rule that no scored rule reads: its result could
    /// not change the verdict, so it is not run.
    Unused,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name.
    pub name: String,
    /// Score in the compiled score set.
    pub score: f64,
    /// `describe` text.
    pub description: String,
    /// tflags.
    pub tflags: Tflags,
    /// What was written: header, body, ..., meta; for reports.
    pub target: &'static str,
    pub(crate) kind: Kind,
}

impl Rule {
    /// Whether the rule runs: SpamAssassin skips rules scored 0, and we
    /// also skip sub-rules that no scored rule reads.
    pub fn runs(&self) -> bool {
        self.score != 0.0 && !matches!(self.kind, Kind::Never | Kind::Unused)
    }
    /// SpamAssassin's report prefix for the rule's kind.
    pub fn area(&self) -> &'static str {
        match self.target {
            "body" => "BODY: ",
            "rawbody" => "RAW: ",
            "full" => "FULL: ",
            "uri" => "URI: ",
            _ => "",
        }
    }
    /// Sub-rules (`__NAME`) never score or show; metas read them.
    pub fn is_subrule(&self) -> bool {
        self.name.starts_with("__")
    }
    /// Most hits counted for one rule: 1 unless `multiple`, then `maxhits`
    /// if given.
    pub fn max_hits(&self) -> usize {
        // As in SpamAssassin, maxhits only matters with multiple.
        match (self.tflags.multiple, self.tflags.maxhits) {
            (true, Some(n)) => n.max(1) as usize,
            (true, None) => MAX_MULTIPLE,
            (false, _) => 1,
        }
    }
}

/// Hits counted for a `multiple` rule without `maxhits`.
pub const MAX_MULTIPLE: usize = 1000;

/// A header value to fetch once per message, shared by the rules that
/// read it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HeaderKey {
    pub target: HeaderTarget,
    pub mods: HeaderMods,
    pub if_unset: Option<String>,
}

/// Counts of what compiled, for `filterscan rules --check`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Rules in the configuration.
    pub rules: usize,
    /// Rules that run (score not 0, compiled).
    pub active: usize,
    /// Regexes on the native engine.
    pub native: usize,
    /// Regexes on the fallback engine.
    pub fallback: usize,
    /// Metas.
    pub metas: usize,
    /// Native evals.
    pub evals: usize,
    /// Rules with score 0, never run.
    pub zero_score: usize,
    /// Sub-rules not run because no scored rule reads them.
    pub unused: usize,
    /// Unimplemented eval functions, with the rules that call them.
    pub unimplemented_evals: BTreeMap<String, Vec<String>>,
}

/// A rule that will never hit, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Rule name.
    pub rule: String,
    /// Why.
    pub reason: String,
}

/// The compiled rule set. Immutable, `Send + Sync`.
#[derive(Debug)]
pub struct Rules {
    pub(crate) rules: Vec<Rule>,
    pub(crate) by_name: HashMap<String, u32>,
    pub(crate) header_keys: Vec<HeaderKey>,
    /// The regexes of each header group, ids local to the group.
    pub(crate) header_sets: Vec<Set>,
    /// The regexes of each of [`TEXT_TARGETS`].
    pub(crate) sets: [Set; 4],
    pub(crate) mime_set: Set,
    /// The headers `mimeheader` rules read, each once: a name and whether
    /// it is read `:raw`. A message's values for each are gathered once
    /// (39 stock rules read `Content-Type`).
    pub(crate) mime_keys: Vec<(String, bool)>,
    /// The rules a check must run: those that run and show (not
    /// sub-rules). Everything else runs only when a meta asks.
    pub(crate) roots: Vec<u32>,
    /// The metas whose value can change once DNS answers are in (they
    /// read a DNS test, or such a meta), in `metas` order; empty without
    /// network tests.
    pub(crate) dns_metas: Vec<u32>,
    /// The blocklist zones and tests.
    pub(crate) dns: Dns,
    /// The rule index of each of `dns`'s tests.
    pub(crate) dns_rules: Vec<u32>,
    /// What the eval tests read from the rule files: the trust boundary
    /// from `trusted_networks` and friends, the `enlist_uri_host` lists.
    pub(crate) eval_cfg: EvalConfig,
    required_score: f64,
    score_set: ScoreSet,
    stats: Stats,
    problems: Vec<Problem>,
    skipped: Vec<Skipped>,
    settings: Vec<(String, String)>,
}

/// The eval functions answered by DNS blocklists.
fn is_dns_eval(f: &str) -> bool {
    matches!(
        f,
        "check_rbl" | "check_rbl_sub" | "check_rbl_txt" | "check_uridnsbl" | "askdns"
    )
}

/// The zone of each `check_rbl` set and each `urirhssub` / `urirhsbl`
/// rule, and the latter's subtest.
#[derive(Default)]
struct Zones {
    rbl: HashMap<String, String>,
    uri: HashMap<String, (String, String)>,
}

fn dns_zones(config: &Config) -> Zones {
    let mut z = Zones::default();
    for def in &config.rules {
        if let Test::Eval { function, args, .. } = &def.test
            && function == "check_rbl"
            && let [set, zone, ..] = args.as_slice()
        {
            // check_rbl_sub names the set without its suffix.
            let base = set.split('-').next().unwrap_or(set);
            z.rbl.entry(set.clone()).or_insert_with(|| zone.clone());
            z.rbl
                .entry(base.to_string())
                .or_insert_with(|| zone.clone());
        }
    }
    for (key, value) in &config.settings {
        if key != "urirhssub" && key != "urirhsbl" {
            continue;
        }
        let w: Vec<&str> = value.split_whitespace().collect();
        match (key.as_str(), w.as_slice()) {
            ("urirhssub", [name, zone, "A", sub]) => {
                z.uri.insert(
                    (*name).to_string(),
                    ((*zone).to_string(), (*sub).to_string()),
                );
            }
            ("urirhsbl", [name, zone, "A"]) => {
                z.uri
                    .insert((*name).to_string(), ((*zone).to_string(), String::new()));
            }
            _ => {}
        }
    }
    z
}

/// Adds the test of one DNS eval rule; the error says why it cannot run.
fn dns_test(dns: &mut Dns, zones: &Zones, function: &str, args: &[String]) -> Result<u32, String> {
    match (function, args) {
        ("check_rbl", [set, zone, rest @ ..]) => {
            let s = dns.ip_set(set, zone);
            Ok(dns.test(s, Subtest::parse(rest.first().map_or("", String::as_str))))
        }
        ("check_rbl_sub", [set, sub]) => {
            let zone = zones
                .rbl
                .get(set)
                .ok_or_else(|| format!("check_rbl_sub: no check_rbl starts set '{set}'"))?;
            let s = dns.ip_set(set, zone);
            Ok(dns.test(s, Subtest::parse(sub)))
        }
        ("check_rbl_txt", [set, zone, rest @ ..]) => {
            let s = dns.txt_set(set, zone);
            Ok(dns.test(s, Subtest::parse(rest.first().map_or("", String::as_str))))
        }
        // The parser keeps `askdns NAME template [type [subtest]]` as
        // `askdns(template, type[, subtest])`.
        ("askdns", [template, rtype, rest @ ..]) => {
            let q = QType::parse(rtype)
                .ok_or_else(|| format!("askdns: record type {rtype} is not supported"))?;
            let s = dns.askdns_set(template, q)?;
            let sub = Subtest::askdns(rest.first().map_or("", String::as_str))?;
            Ok(dns.test(s, sub))
        }
        ("check_uridnsbl", [name]) => {
            let (zone, sub) = zones.uri.get(name).ok_or_else(|| {
                format!("check_uridnsbl: no urirhssub or urirhsbl defines '{name}'")
            })?;
            let s = dns.uri_set(name, zone);
            Ok(dns.test(s, Subtest::parse(sub)))
        }
        _ => Err(format!("eval:{function}: wrong arguments")),
    }
}

/// Order of [`Rules::sets`].
pub(crate) const TEXT_TARGETS: [Target; 4] =
    [Target::Body, Target::Rawbody, Target::Full, Target::Uri];

fn target_name(t: &Test) -> &'static str {
    match t {
        Test::Header { .. } | Test::Exists(_) => "header",
        Test::Regex { target, .. } | Test::Eval { target, .. } => match target {
            Target::Header => "header",
            Target::Body => "body",
            Target::Rawbody => "rawbody",
            Target::Full => "full",
            Target::Uri => "uri",
            Target::Mimeheader => "mimeheader",
        },
        Test::Mimeheader { .. } => "mimeheader",
        Test::Meta(_) => "meta",
    }
}

impl Rules {
    /// Compiles `config` for `score_set`.
    pub fn compile(config: &Config, score_set: ScoreSet) -> Rules {
        let set_index = score_set.0 as usize & 3;
        let mut problems = Vec::new();
        let mut stats = Stats {
            rules: config.rules.len(),
            ..Stats::default()
        };
        let mut rules: Vec<Rule> = Vec::with_capacity(config.rules.len());
        let mut by_name = HashMap::with_capacity(config.rules.len());
        let mut header_keys: Vec<HeaderKey> = Vec::new();
        let mut header_b: Vec<SetBuilder> = Vec::new();
        // Line rules get whole-text forms; `full` is one text already.
        let mut text_b: [SetBuilder; 4] = std::array::from_fn(|slot| {
            if TEXT_TARGETS[slot] == Target::Full {
                SetBuilder::new()
            } else {
                SetBuilder::lines()
            }
        });
        let mut mime_b = SetBuilder::new();
        let mut mime_keys: Vec<(String, bool)> = Vec::new();
        let mut meta_src: Vec<u32> = Vec::new();

        let score_of = |name: &str| {
            let tflags = config.tflags.get(name).copied().unwrap_or_default();
            match config.scores.get(name) {
                Some(s) => s[set_index],
                None => {
                    let base = if name.starts_with("T_") { 0.01 } else { 1.0 };
                    if tflags.nice { -base } else { base }
                }
            }
        };
        // Metas are parsed first: which rules they read decides which
        // sub-rules are worth running at all.
        let scored: Vec<&str> = config
            .rules
            .iter()
            .map(|r| r.name.as_str())
            .filter(|n| config.scores.contains_key(*n))
            .collect();
        let mut parsed_metas: HashMap<&str, Result<Expr, String>> = HashMap::new();
        for def in &config.rules {
            if let Test::Meta(src) = &def.test
                && score_of(&def.name) != 0.0
            {
                let expanded = if src.contains("rules_matching(") {
                    expand_rules_matching(src, &def.name, scored.iter().copied())
                } else {
                    src.clone()
                };
                let e = Expr::parse(&expanded).map_err(|e| format!("meta: {e}"));
                parsed_metas.insert(def.name.as_str(), e);
            }
        }
        let live = live_rules(config, &score_of, &parsed_metas);
        let mut dns = Dns::default();
        let mut dns_rules = Vec::new();
        let zones = dns_zones(config);
        let (eval_cfg, bad_settings) = EvalConfig::from_settings(
            config
                .settings
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        );
        for (rule, reason) in bad_settings {
            problems.push(Problem { rule, reason });
        }
        dns.set_registry(eval_cfg.registry.clone());

        for def in &config.rules {
            let idx = rules.len() as u32;
            let tflags = config.tflags.get(&def.name).copied().unwrap_or_default();
            let score = score_of(&def.name);
            let mut never = |reason: String| {
                problems.push(Problem {
                    rule: def.name.clone(),
                    reason,
                });
                Kind::Never
            };
            // Rules scored 0 never run, so there is nothing to compile.
            let kind = if score == 0.0 {
                stats.zero_score += 1;
                Kind::Never
            } else if !live.contains(def.name.as_str()) {
                stats.unused += 1;
                Kind::Unused
            } else {
                match &def.test {
                    Test::Header {
                        target,
                        mods,
                        negate,
                        re,
                        if_unset,
                    } => {
                        let key = HeaderKey {
                            target: target.clone(),
                            mods: *mods,
                            if_unset: if_unset.clone(),
                        };
                        let g = group_of(&mut header_keys, &mut header_b, key);
                        match add(&mut header_b[g], re, tflags.multiple) {
                            Ok((id, engine)) => {
                                count_engine(&mut stats, engine);
                                Kind::Header {
                                    group: g as u32,
                                    id,
                                    negate: *negate,
                                }
                            }
                            Err(e) => never(e),
                        }
                    }
                    Test::Exists(name) => {
                        let key = HeaderKey {
                            target: HeaderTarget::Named(vec![name.clone()]),
                            mods: HeaderMods::default(),
                            if_unset: None,
                        };
                        let g = group_of(&mut header_keys, &mut header_b, key);
                        Kind::Exists { group: g as u32 }
                    }
                    Test::Regex { target, re } => {
                        match TEXT_TARGETS.iter().position(|t| t == target) {
                            Some(slot) => match add(&mut text_b[slot], re, tflags.multiple) {
                                Ok((id, engine)) => {
                                    count_engine(&mut stats, engine);
                                    Kind::Text {
                                        slot: slot as u8,
                                        id,
                                    }
                                }
                                Err(e) => never(e),
                            },
                            None => never(format!("no regex rules of type {target:?}")),
                        }
                    }
                    Test::Mimeheader {
                        name,
                        raw,
                        negate,
                        re,
                    } => match add(&mut mime_b, re, tflags.multiple) {
                        Ok((id, engine)) => {
                            count_engine(&mut stats, engine);
                            let key =
                                match mime_keys.iter().position(|(n, r)| n == name && r == raw) {
                                    Some(k) => k,
                                    None => {
                                        mime_keys.push((name.clone(), *raw));
                                        mime_keys.len() - 1
                                    }
                                };
                            Kind::Mime {
                                key: key as u32,
                                negate: *negate,
                                id,
                            }
                        }
                        Err(e) => never(e),
                    },
                    Test::Eval { function, args, .. } if is_dns_eval(function) => {
                        match dns_test(&mut dns, &zones, function, args) {
                            Ok(t) => {
                                debug_assert_eq!(t as usize, dns_rules.len());
                                dns_rules.push(idx);
                                stats.evals += 1;
                                Kind::Dns
                            }
                            Err(e) => never(e),
                        }
                    }
                    Test::Eval {
                        function,
                        args,
                        target,
                    } => match evals::lookup(function) {
                        Some(f) => {
                            stats.evals += 1;
                            let args = evals::Args::new(args.clone());
                            let args = match target {
                                Target::Rawbody => args.on_rawbody(),
                                _ => args,
                            };
                            Kind::Eval { f, args }
                        }
                        None => {
                            stats
                                .unimplemented_evals
                                .entry(function.clone())
                                .or_default()
                                .push(def.name.clone());
                            never(format!("eval:{function} is not implemented"))
                        }
                    },
                    Test::Meta(_) => {
                        meta_src.push(idx);
                        // Filled in below, once every name is known.
                        Kind::Never
                    }
                }
            };
            by_name.insert(def.name.clone(), idx);
            rules.push(Rule {
                name: def.name.clone(),
                score,
                description: config.describes.get(&def.name).cloned().unwrap_or_default(),
                tflags,
                target: target_name(&def.test),
                kind,
            });
        }

        // Metas: order them.
        let mut parsed: Vec<(u32, Expr)> = Vec::new();
        for idx in meta_src {
            let rule = &rules[idx as usize];
            match parsed_metas.remove(rule.name.as_str()) {
                Some(Ok(expr)) => parsed.push((idx, expr)),
                Some(Err(reason)) => problems.push(Problem {
                    rule: rule.name.clone(),
                    reason,
                }),
                None => {}
            }
        }
        let sets = text_b.map(SetBuilder::build);
        let header_sets: Vec<Set> = header_b.into_iter().map(SetBuilder::build).collect();
        let costs: Vec<u64> = rules.iter().map(|r| cost(r, &sets, &header_sets)).collect();
        let metas = order_metas(&mut rules, &by_name, parsed, costs, &mut problems);
        stats.metas = metas.len();
        stats.active = rules.iter().filter(|r| r.runs()).count();

        // Without network tests (score sets 0 and 2) nothing is asked: the
        // DNS rules stay at 0, as in SpamAssassin's local mode.
        if score_set.0 & 1 == 0 {
            dns = Dns::default();
        }
        let roots = (0..rules.len() as u32)
            .filter(|&i| rules[i as usize].runs() && !rules[i as usize].is_subrule())
            .collect();
        let dns_metas = if dns.is_empty() {
            Vec::new()
        } else {
            let mut tainted = vec![false; rules.len()];
            for &ri in &metas {
                if let Kind::Meta { deps, .. } = &rules[ri as usize].kind {
                    tainted[ri as usize] = deps.iter().flatten().any(|&d| {
                        tainted[d as usize] || matches!(rules[d as usize].kind, Kind::Dns)
                    });
                }
            }
            metas
                .iter()
                .copied()
                .filter(|&ri| tainted[ri as usize])
                .collect()
        };
        Rules {
            rules,
            by_name,
            header_keys,
            header_sets,
            sets,
            mime_set: mime_b.build(),
            mime_keys,
            roots,
            dns_metas,
            required_score: config.required_score,
            score_set,
            stats,
            problems,
            skipped: config.skipped.clone(),
            settings: config.settings.clone(),
            dns,
            dns_rules,
            eval_cfg,
        }
    }

    /// Whether rule `name` behaves as in SpamAssassin as far as we know:
    /// it is defined, compiled, not a network or Bayes test, and — for a
    /// meta — every rule it reads is the same. A rule scored 0 counts as
    /// exact (neither side runs it). Differential tests compare these.
    pub fn exact(&self, name: &str) -> bool {
        let Some(&i) = self.by_name.get(name) else {
            return false;
        };
        let mut seen = vec![false; self.rules.len()];
        self.exact_at(i, &mut seen, 0)
    }

    fn exact_at(&self, i: u32, seen: &mut [bool], depth: usize) -> bool {
        if seen[i as usize] || depth > 256 {
            return true;
        }
        seen[i as usize] = true;
        let r = &self.rules[i as usize];
        if r.tflags.net || r.tflags.learn {
            return false;
        }
        match &r.kind {
            Kind::Never => r.score == 0.0,
            Kind::Unused => false,
            Kind::Meta { deps, .. } => deps
                .iter()
                .all(|d| d.is_some_and(|d| self.exact_at(d, seen, depth + 1))),
            _ => true,
        }
    }

    /// Every rule, in definition order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule called `name`.
    pub fn get(&self, name: &str) -> Option<&Rule> {
        self.by_name.get(name).map(|&i| &self.rules[i as usize])
    }

    /// `required_score`.
    pub fn required_score(&self) -> f64 {
        self.required_score
    }

    /// The score set compiled for.
    pub fn score_set(&self) -> ScoreSet {
        self.score_set
    }

    /// Counts by kind and engine.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Rules that will never hit, with the reason.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Lines and directives the parser did not load.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// The other directives, in file order: those some tests read
    /// (`trusted_networks`, `enlist_uri_host`, the DNS zones) and those
    /// kept without effect (`report`, `add_header`, ...).
    pub fn settings(&self) -> &[(String, String)] {
        &self.settings
    }

    /// The trust boundary the relay tests use: `trusted_networks`,
    /// `internal_networks` and `msa_networks` from the rule files, or
    /// SpamAssassin's inference when none is set.
    pub fn origin(&self) -> &OriginConfig {
        &self.eval_cfg.origin
    }
}

/// Adds a rule's regex to a set. SpamAssassin 4's capture templates
/// (`%{NAME}`, filled at run time from another rule's named capture) are
/// not supported: such rules never hit. A rule without `multiple` only
/// asks whether a text holds a match (see [`SetBuilder::add_yes_no`]).
fn add(
    b: &mut SetBuilder,
    re: &super::ast::PerlRe,
    multiple: bool,
) -> Result<(u32, EngineKind), String> {
    if re.pattern.contains("%{") {
        return Err("capture templates (%{NAME}) are not supported".into());
    }
    let added = if multiple {
        b.add(&re.pattern, &re.flags)
    } else {
        b.add_yes_no(&re.pattern, &re.flags)
    };
    added.map_err(|e| e.to_string())
}

fn count_engine(stats: &mut Stats, engine: EngineKind) {
    match engine {
        EngineKind::Native => stats.native += 1,
        EngineKind::Fallback => stats.fallback += 1,
    }
}

fn group_of(keys: &mut Vec<HeaderKey>, sets: &mut Vec<SetBuilder>, key: HeaderKey) -> usize {
    match keys.iter().position(|k| *k == key) {
        Some(g) => g,
        None => {
            // The whole header block is long: its regexes search it with
            // prefilters of their own. A header's value is short enough
            // to read whole.
            sets.push(match key.target {
                HeaderTarget::All => SetBuilder::new(),
                _ => SetBuilder::short(),
            });
            keys.push(key);
            keys.len() - 1
        }
    }
}

/// What running a rule that is not a meta costs, roughly, in units of
/// a native header regex: metas run the cheap operands of an `&&` chain
/// first (see [`Expr::program_by_cost`]; cheap is a native test with a
/// required string and a small regex). A body rule the prefilter rules out
/// costs nothing whatever it says here (the meta asks first); what counts
/// is what a rule costs when it does run: a regex without a required
/// string reads the whole body, a count-gated one ([`Set::is_gated`])
/// tries a large DFA at many places, and a fallback one backtracks.
fn cost(rule: &Rule, sets: &[Set; 4], header_sets: &[Set]) -> u64 {
    if !rule.runs() {
        return 0;
    }
    match rule.kind {
        Kind::Header { group, id, .. } => {
            let set = &header_sets[group as usize];
            let one = match set.kind(id) {
                Some(EngineKind::Fallback) => 20,
                _ => 1,
            } + set.weight(id) as u64 / 2000;
            if rule.max_hits() > 1 { one * 4 } else { one }
        }
        Kind::Text { slot, id } => {
            let set = &sets[slot as usize];
            let one = if set.is_gated(id) {
                50
            } else if set.whole(id).is_some() {
                30
            } else if set.kind(id) == Some(EngineKind::Fallback) {
                10
            } else {
                3
            } + set.weight(id) as u64 / 2000;
            // Counting reads every candidate line to its end.
            if rule.max_hits() > 1 { one * 4 } else { one }
        }
        Kind::Exists { .. } => 1,
        Kind::Mime { .. } => 2,
        Kind::Eval { .. } => 3,
        Kind::Meta { .. } | Kind::Dns | Kind::Never | Kind::Unused => 0,
    }
}

/// Resolves each meta's names and returns the metas in dependency order.
/// A meta in a cycle never hits (SpamAssassin drops it at lint). `costs`
/// holds each rule's [`cost`]; a meta's becomes its expression's expected
/// cost ([`Expr::cost`]), for the metas that read it.
fn order_metas(
    rules: &mut [Rule],
    by_name: &HashMap<String, u32>,
    parsed: Vec<(u32, Expr)>,
    mut costs: Vec<u64>,
    problems: &mut Vec<Problem>,
) -> Vec<u32> {
    let mut deps_of: HashMap<u32, Vec<Option<u32>>> = HashMap::new();
    for (idx, expr) in &parsed {
        let deps = expr
            .names()
            .iter()
            .map(|n| by_name.get(n).copied())
            .collect();
        deps_of.insert(*idx, deps);
    }
    // Depth-first topological sort; 0 unvisited, 1 on stack, 2 done.
    let mut state: HashMap<u32, u8> = HashMap::new();
    let mut order = Vec::new();
    let mut cyclic = Vec::new();
    for (idx, _) in &parsed {
        visit(*idx, &deps_of, &mut state, &mut order, &mut cyclic);
    }
    let mut exprs: HashMap<u32, Expr> = HashMap::new();
    for (idx, expr) in parsed {
        if cyclic.contains(&idx) {
            problems.push(Problem {
                rule: rules[idx as usize].name.clone(),
                reason: "meta: depends on itself".into(),
            });
            continue;
        }
        exprs.insert(idx, expr);
    }
    order.retain(|i| !cyclic.contains(i));
    // In dependency order, so that what a meta reads has its cost.
    for &idx in &order {
        let Some(expr) = exprs.remove(&idx) else {
            continue;
        };
        let deps = deps_of.remove(&idx).unwrap_or_default();
        let cost_of = |s: u32| costs.get(s as usize).copied().unwrap_or(0);
        let prog = expr.program_by_cost(&|i| deps[i], &cost_of);
        let total = expr.cost(&|i| deps[i], &cost_of);
        let rule = &mut rules[idx as usize];
        if rule.score != 0.0 {
            costs[idx as usize] = total;
        }
        rule.kind = Kind::Meta { deps, prog };
    }
    order
}

/// The rules whose result can reach the score: every scored rule that is
/// not a sub-rule (`__NAME`), and everything a live meta reads. The last
/// definition of a name wins, as in [`Rules::compile`].
fn live_rules<'c>(
    config: &'c Config,
    score_of: &dyn Fn(&str) -> f64,
    metas: &HashMap<&str, Result<Expr, String>>,
) -> std::collections::HashSet<&'c str> {
    let names: HashMap<&str, &'c str> = config
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.name.as_str()))
        .collect();
    let mut live = std::collections::HashSet::new();
    let mut stack: Vec<&'c str> = config
        .rules
        .iter()
        .map(|r| r.name.as_str())
        .filter(|n| !n.starts_with("__") && score_of(n) != 0.0)
        .collect();
    while let Some(n) = stack.pop() {
        if !live.insert(n) {
            continue;
        }
        if let Some(Ok(expr)) = metas.get(n) {
            stack.extend(
                expr.names()
                    .iter()
                    .filter_map(|d| names.get(d.as_str()).copied()),
            );
        }
    }
    live
}

fn visit(
    idx: u32,
    deps_of: &HashMap<u32, Vec<Option<u32>>>,
    state: &mut HashMap<u32, u8>,
    order: &mut Vec<u32>,
    cyclic: &mut Vec<u32>,
) {
    // Iterative, so that a long meta chain cannot overflow the stack.
    let mut stack: Vec<(u32, usize)> = vec![(idx, 0)];
    if state.get(&idx).copied().unwrap_or(0) != 0 {
        return;
    }
    state.insert(idx, 1);
    while let Some((node, next)) = stack.last_mut() {
        let deps = deps_of.get(node).map(Vec::as_slice).unwrap_or(&[]);
        if let Some(dep) = deps.get(*next) {
            *next += 1;
            let Some(d) = *dep else { continue };
            if !deps_of.contains_key(&d) {
                continue;
            }
            match state.get(&d).copied().unwrap_or(0) {
                0 => {
                    state.insert(d, 1);
                    stack.push((d, 0));
                }
                1 => {
                    // A cycle: every meta on the stack from d up is in it.
                    let from = stack.iter().position(|(n, _)| *n == d).unwrap_or(0);
                    for (n, _) in &stack[from..] {
                        if !cyclic.contains(n) {
                            cyclic.push(*n);
                        }
                    }
                }
                _ => {}
            }
        } else {
            let (n, _) = stack.pop().expect("stack is not empty");
            state.insert(n, 2);
            order.push(n);
        }
    }
}
