//! `filterscan rules --check`: what a set of SpamAssassin rule files
//! loads as, what was skipped, and why.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use filter::spam::rules::{Parser, Rules, ScoreSet};
use std::collections::BTreeMap;

#[derive(Args)]
pub struct RulesArgs {
    /// Load the files, compile them and report (the only mode so far).
    #[arg(long)]
    pub check: bool,
    /// List every skipped line and every rule that cannot hit, not just
    /// the counts.
    #[arg(long, short)]
    pub verbose: bool,
    /// .cf files or directories; none means the embedded default rules.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// Runs the `rules` subcommand.
pub fn rules(args: RulesArgs) -> ExitCode {
    let mut p = Parser::new();
    if args.paths.is_empty() {
        p.parse_str("default.cf", filter::spam::DEFAULT_RULES);
    }
    for path in &args.paths {
        if let Err(e) = p.parse_path(path) {
            eprintln!("filterscan: {}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    }
    let config = p.finish();
    let rules = Rules::compile(&config, ScoreSet::new(false, false));
    let st = rules.stats();

    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rules.rules() {
        *by_type.entry(r.target).or_default() += 1;
    }
    println!(
        "rules: {} defined, {} active (score set 0: no network, no Bayes)",
        st.rules,
        rules.rules().iter().filter(|r| r.runs()).count()
    );
    for (t, n) in &by_type {
        println!("  {t:<11} {n}");
    }
    println!(
        "regexes: {} native, {} fallback (Perl-only features, bounded)",
        st.native, st.fallback
    );
    println!("metas: {}", st.metas);
    println!("evals: {} native", st.evals);
    println!("score 0 (never run): {}", st.zero_score);
    println!(
        "unused sub-rules (read by no scored rule, not run): {}",
        st.unused
    );
    println!("required_score: {:.1}", rules.required_score());

    let unimpl: usize = st.unimplemented_evals.values().map(Vec::len).sum();
    println!(
        "unimplemented eval rules: {unimpl} ({} functions)",
        st.unimplemented_evals.len()
    );
    for (f, names) in &st.unimplemented_evals {
        if args.verbose {
            println!("  {f}: {}", names.join(" "));
        } else {
            println!("  {f}: {} rule(s)", names.len());
        }
    }

    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    for s in rules.skipped() {
        *reasons
            .entry(format!("{}: {}", s.directive, s.reason))
            .or_default() += 1;
    }
    println!("skipped lines: {}", rules.skipped().len());
    for (r, n) in &reasons {
        println!("  {n:>5}  {r}");
    }
    if args.verbose {
        for s in rules.skipped() {
            println!("  {}:{}: {}: {}", s.file, s.line, s.directive, s.reason);
        }
    }

    let problems: Vec<_> = rules
        .problems()
        .iter()
        .filter(|p| !p.reason.starts_with("eval:"))
        .collect();
    println!(
        "rules that cannot hit (besides unimplemented evals): {}",
        problems.len()
    );
    for p in &problems {
        println!("  {}: {}", p.rule, p.reason);
    }
    println!("other settings stored: {}", rules.settings().len());
    ExitCode::SUCCESS
}
