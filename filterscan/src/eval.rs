//! `filterscan eval`: the TREC spam track's online protocol on a labelled
//! corpus, and its figures of merit.
//!
//! Every message is classified as it arrives, then learned with its true
//! label; the scores give (1-ROCA)%, spam missed at 0.1% ham lost and the
//! error rates at the threshold. `--folds K` runs k-fold cross-validation
//! instead (train on K-1 folds, test on the last, for each fold).

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use filter::EngineBuilder;
use filter::spam::bayes::{Classifier, Model, SharedModel, Tokenizer, TokenizerOptions, roc};

use crate::input::{is_mbox, split_mbox};

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    /// Online logistic regression on hashed features.
    Logistic,
    /// Robinson/Fisher chi-square combining.
    ChiSquare,
}

#[derive(Args)]
pub struct EvalArgs {
    /// Labels: lines `spam<TAB>path` or `ham<TAB>path`, paths relative to
    /// the file's directory; `path#N` is the N-th message of an mbox.
    #[arg(long, value_name = "FILE")]
    labels: PathBuf,
    /// Seed of the shuffle of the corpus order.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Keep the order of the labels file.
    #[arg(long)]
    no_shuffle: bool,
    /// Use only the first N messages (after the shuffle).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// The classifier.
    #[arg(long, value_enum, default_value_t = Kind::Logistic)]
    classifier: Kind,
    /// No orthogonal sparse bigrams, single words only.
    #[arg(long)]
    no_osb: bool,
    /// The OSB window: pairs of words at most N - 1 apart (default 2:
    /// adjacent pairs).
    #[arg(long, value_name = "N")]
    window: Option<usize>,
    /// Most tokens read from one message (before deduplication; default
    /// 3,000).
    #[arg(long, value_name = "N")]
    max_tokens: Option<usize>,
    /// k-fold cross-validation instead of the online protocol.
    #[arg(long, value_name = "K")]
    folds: Option<usize>,
    /// Spam when the probability is above this.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Write `score<TAB>spam|ham<TAB>path` per message, in protocol order.
    #[arg(long, value_name = "FILE")]
    scores: Option<PathBuf>,
    /// Write the ROC curve as SVG.
    #[arg(long, value_name = "FILE")]
    roc: Option<PathBuf>,
    /// Also scan every message with the embedded default rules, alone and
    /// with the model as it stands (the `LF_BAYES_*` rules), and report
    /// both verdicts at the rules' required_score (online protocol only).
    #[arg(long)]
    with_rules: bool,
}

struct Sample {
    path: String,
    spam: bool,
    data: Vec<u8>,
}

/// splitmix64: a small, fixed PRNG, so that a seed means the same order
/// everywhere.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn read_labels(path: &Path) -> io::Result<Vec<Sample>> {
    let text = std::fs::read_to_string(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((label, rel)) = line.split_once('\t') else {
            return Err(io::Error::other(format!("line {}: no tab", n + 1)));
        };
        let spam = match label {
            "spam" => true,
            "ham" => false,
            other => return Err(io::Error::other(format!("line {}: label {other:?}", n + 1))),
        };
        let (file, index) = match rel.rsplit_once('#') {
            Some((f, i)) if i.parse::<usize>().is_ok() => (f, i.parse::<usize>().unwrap_or(1)),
            _ => (rel, 1),
        };
        let full = dir.join(file);
        let bytes = std::fs::read(&full)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", full.display())))?;
        let data = if index > 1 && is_mbox(&bytes) {
            split_mbox(&bytes)
                .into_iter()
                .nth(index - 1)
                .unwrap_or_default()
        } else {
            bytes
        };
        out.push(Sample {
            path: rel.to_string(),
            spam,
            data,
        });
    }
    Ok(out)
}

#[derive(Default)]
struct Timing {
    tokenize: Duration,
    classify: Duration,
    learn: Duration,
    classified: usize,
    learned: usize,
    /// The bulk pass over all messages with the trained model, and
    /// whether that is CPU time (else wall time).
    bulk: Option<(Duration, bool)>,
}

/// The CPU time this thread has run, where the system tells it
/// (Linux's `/proc/thread-self/schedstat`, nanoseconds).
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

pub fn eval(args: EvalArgs) -> ExitCode {
    let mut samples = match read_labels(&args.labels) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("filterscan: {}: {e}", args.labels.display());
            return ExitCode::from(2);
        }
    };
    if !args.no_shuffle {
        let mut state = args.seed;
        for i in (1..samples.len()).rev() {
            let j = (splitmix(&mut state) % (i as u64 + 1)) as usize;
            samples.swap(i, j);
        }
    }
    if let Some(n) = args.limit {
        samples.truncate(n);
    }
    let opts = TokenizerOptions {
        osb: !args.no_osb,
        window: args.window.unwrap_or(TokenizerOptions::default().window),
        max_tokens: args
            .max_tokens
            .unwrap_or(TokenizerOptions::default().max_tokens),
        ..TokenizerOptions::default()
    };
    let tokenizer = Tokenizer::new(opts);
    let kind = match args.classifier {
        Kind::Logistic => Classifier::Logistic,
        Kind::ChiSquare => Classifier::ChiSquare,
    };

    let mut timing = Timing::default();
    // (score, spam, index) in protocol order.
    let mut scored: Vec<(f64, bool, usize)> = Vec::with_capacity(samples.len());
    let mut tokens = Vec::new();
    // (rules alone, rules with Bayes) spam verdicts, with --with-rules.
    let mut verdicts: Vec<(bool, bool)> = Vec::new();
    match args.folds {
        None if args.with_rules => {
            let plain = EngineBuilder::new().build();
            let shared = SharedModel::new(Model::new(kind));
            let with = EngineBuilder::new().bayes(Arc::clone(&shared)).build();
            let (mut plain, mut with) = (plain.scanner(), with.scanner());
            // The model lives in an Arc that the shared slot holds only
            // during a scan, so that learning does not copy it.
            let mut model = Arc::new(Model::new(kind));
            let empty = Arc::new(Model::new(Classifier::ChiSquare));
            for (i, s) in samples.iter().enumerate() {
                let alone = plain.scan(&s.data).spam.is_some_and(|v| v.is_spam);
                shared.publish(Arc::clone(&model));
                let v = with.scan(&s.data).spam;
                shared.publish(Arc::clone(&empty));
                let p = v.as_ref().and_then(|v| v.bayes).unwrap_or(0.5);
                verdicts.push((alone, v.is_some_and(|v| v.is_spam)));
                tokenizer.tokens(&s.data, &mut tokens);
                Arc::make_mut(&mut model).learn(&tokens, s.spam);
                scored.push((p, s.spam, i));
            }
        }
        None => {
            let mut model = Model::new(kind);
            for (i, s) in samples.iter().enumerate() {
                let t0 = Instant::now();
                tokenizer.tokens(&s.data, &mut tokens);
                let t1 = Instant::now();
                let p = model.classify(&tokens);
                let t2 = Instant::now();
                model.learn(&tokens, s.spam);
                let t3 = Instant::now();
                timing.tokenize += t1 - t0;
                timing.classify += t2 - t1;
                timing.learn += t3 - t2;
                timing.classified += 1;
                timing.learned += 1;
                scored.push((p, s.spam, i));
            }
            // Once more with the trained model, as a scanner with a warm
            // snapshot would: one pass, no learning, timed as a whole.
            let (w0, c0) = (Instant::now(), thread_cpu());
            let mut sum = 0.0;
            for s in &samples {
                tokenizer.tokens(&s.data, &mut tokens);
                sum += model.classify(&tokens);
            }
            let (wall, cpu) = (w0.elapsed(), thread_cpu());
            std::hint::black_box(sum);
            timing.bulk = Some(match (c0, cpu) {
                (Some(a), Some(b)) => (b.saturating_sub(a), true),
                _ => (wall, false),
            });
        }
        Some(k) => {
            let k = k.max(2);
            let all: Vec<Vec<u64>> = samples
                .iter()
                .map(|s| {
                    let t0 = Instant::now();
                    let mut t = Vec::new();
                    tokenizer.tokens(&s.data, &mut t);
                    timing.tokenize += t0.elapsed();
                    t
                })
                .collect();
            for fold in 0..k {
                let mut model = Model::new(kind);
                for (i, t) in all.iter().enumerate().filter(|(i, _)| i % k != fold) {
                    let t0 = Instant::now();
                    model.learn(t, samples[i].spam);
                    timing.learn += t0.elapsed();
                    timing.learned += 1;
                }
                for (i, t) in all.iter().enumerate().filter(|(i, _)| i % k == fold) {
                    let t0 = Instant::now();
                    let p = model.classify(t);
                    timing.classify += t0.elapsed();
                    timing.classified += 1;
                    scored.push((p, samples[i].spam, i));
                }
            }
        }
    }

    let pairs: Vec<(f64, bool)> = scored.iter().map(|&(p, s, _)| (p, s)).collect();
    let spam = pairs.iter().filter(|p| p.1).count();
    let out = io::stdout();
    let mut out = BufWriter::new(out.lock());
    let per = |d: Duration, n: usize| d.as_secs_f64() * 1e6 / n.max(1) as f64;
    let tok = per(timing.tokenize, samples.len());
    let cls = per(timing.classify, timing.classified);
    let lrn = per(timing.learn, timing.learned);
    let (ham_lost, spam_missed) = roc::rates_at(&pairs, args.threshold);
    let _ = writeln!(
        out,
        "messages: {} (spam {spam}, ham {})",
        pairs.len(),
        pairs.len() - spam
    );
    let _ = writeln!(
        out,
        "protocol: {}",
        match args.folds {
            None => format!(
                "online (classify, then learn the true label), order {}",
                if args.no_shuffle {
                    "of the labels file".to_string()
                } else {
                    format!("shuffled with seed {}", args.seed)
                }
            ),
            Some(k) => format!("{}-fold cross-validation", k.max(2)),
        }
    );
    let _ = writeln!(
        out,
        "classifier: {}{}",
        match kind {
            Classifier::Logistic => "logistic",
            Classifier::ChiSquare => "chi-square",
        },
        if opts.osb {
            format!(", words and OSB pairs (window {})", opts.window)
        } else {
            ", words".to_string()
        }
    );
    let _ = writeln!(out, "(1-ROCA)%: {:.4}", roc::one_minus_roca_percent(&pairs));
    let _ = writeln!(
        out,
        "spam missed at 0.1% ham lost: {:.2}%",
        roc::spam_missed_at_ham_rate(&pairs, 0.1)
    );
    let _ = writeln!(
        out,
        "at threshold {}: ham lost {ham_lost:.2}%, spam missed {spam_missed:.2}%",
        args.threshold
    );
    if !verdicts.is_empty() {
        let rate = |which: fn(&(bool, bool)) -> bool, spam: bool| {
            let of: Vec<&(bool, bool)> = verdicts
                .iter()
                .zip(&scored)
                .filter(|(_, s)| s.1 == spam)
                .map(|(v, _)| v)
                .collect();
            100.0 * of.iter().filter(|v| which(v)).count() as f64 / of.len().max(1) as f64
        };
        for (name, which) in [
            (
                "default rules alone",
                (|v: &(bool, bool)| v.0) as fn(&(bool, bool)) -> bool,
            ),
            ("default rules + Bayes", |v: &(bool, bool)| v.1),
        ] {
            let _ = writeln!(
                out,
                "{name}: spam caught {:.2}%, ham flagged {:.2}%",
                rate(which, true),
                rate(which, false)
            );
        }
    }
    if timing.classified > 0 {
        let _ = writeln!(
            out,
            "time: tokenize {tok:.1} us/msg, classify {cls:.1} us/msg, learn {lrn:.1} us/msg"
        );
        let _ = writeln!(
            out,
            "classification: {:.0} msg/s per core (tokenize + classify)",
            1e6 / (tok + cls).max(1e-9)
        );
        let _ = writeln!(
            out,
            "learning: {:.0} msg/s per core (tokenize + learn)",
            1e6 / (tok + lrn).max(1e-9)
        );
    }
    if let Some((d, cpu)) = timing.bulk {
        let _ = writeln!(
            out,
            "bulk classification: {:.0} msg/s per core (trained model, one pass, no learning; {})",
            samples.len() as f64 / d.as_secs_f64().max(1e-9),
            if cpu { "CPU time" } else { "wall time" }
        );
    }
    let _ = out.flush();

    if let Some(path) = &args.scores {
        let mut text = String::new();
        for &(p, s, i) in &scored {
            text.push_str(&format!(
                "{p:.9}\t{}\t{}\n",
                if s { "spam" } else { "ham" },
                samples[i].path
            ));
        }
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("filterscan: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if let Some(path) = &args.roc
        && let Err(e) = std::fs::write(path, roc_svg(&roc::curve(&pairs)))
    {
        eprintln!("filterscan: {}: {e}", path.display());
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

/// The ROC curve on log scales (0.01% to 100% on both axes), as the TREC
/// spam track plotted it.
fn roc_svg(curve: &[(f64, f64)]) -> String {
    let (w, h, m) = (480.0, 480.0, 60.0);
    let pos = |pct: f64, len: f64| {
        let v = pct.clamp(0.01, 100.0).log10(); // -2 ..= 2
        (v + 2.0) / 4.0 * len
    };
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" font-size=\"12\">\n",
        w + 2.0 * m,
        h + 2.0 * m
    );
    s.push_str(&format!(
        "<rect x=\"{m}\" y=\"{m}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"black\"/>\n"
    ));
    for (i, label) in ["0.01", "0.1", "1", "10", "100"].iter().enumerate() {
        let d = i as f64 / 4.0;
        let x = m + d * w;
        let y = m + h - d * h;
        s.push_str(&format!(
            "<line x1=\"{x}\" y1=\"{m}\" x2=\"{x}\" y2=\"{}\" stroke=\"#ddd\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{label}</text>\n",
            m + h,
            m + h + 16.0
        ));
        s.push_str(&format!(
            "<line x1=\"{m}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{label}</text>\n",
            m + w,
            m - 6.0,
            y + 4.0
        ));
    }
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">ham misclassification (%)</text>\n",
        m + w / 2.0,
        m + h + 40.0
    ));
    s.push_str(&format!(
        "<text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">spam misclassification (%)</text>\n",
        m + h / 2.0,
        m + h / 2.0
    ));
    let points: Vec<String> = curve
        .iter()
        .map(|&(x, y)| format!("{:.1},{:.1}", m + pos(x, w), m + h - pos(y, h)))
        .collect();
    s.push_str(&format!(
        "<polyline fill=\"none\" stroke=\"#c00\" stroke-width=\"2\" points=\"{}\"/>\n</svg>\n",
        points.join(" ")
    ));
    s
}
