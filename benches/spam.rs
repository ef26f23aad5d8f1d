//! Rule-pass benchmarks (criterion group `spam`): the whole spam pass —
//! render the message, run every rule, one message at a time and 64 at a
//! time (`render+rules-batch64`) — over the first 500 messages of
//! ../shared/corpus/spamassassin, with the embedded default rules and, when
//! Debian's spamassassin package is installed, with the stock SpamAssassin
//! rules. Throughput is in messages per second on one core.
//!
//! ```text
//! cargo bench --bench spam -- --measurement-time 10 --warm-up-time 2
//! ```
//!
//! For the side-by-side run with SpamAssassin, see
//! `scripts/bench-spamassassin.py`.
//!
//! Group `bayes`: the Bayes classifier's tokenizer alone, tokenize +
//! classify with a warm model (trained on the same 500 messages), and
//! tokenize + learn, over the same messages.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use filter::mime::Message;
use filter::spam::Features;
use filter::spam::rules::{Parser, Rules, ScoreSet, Scratch};

fn corpus(n: usize) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/spamassassin");
    let labels = std::fs::read_to_string(root.join("labels.tsv")).unwrap_or_default();
    labels
        .lines()
        .filter_map(|l| l.split('\t').nth(1))
        .take(n)
        .filter_map(|p| std::fs::read(root.join(p)).ok())
        .collect()
}

fn rule_sets() -> Vec<(&'static str, Rules)> {
    let mut out = Vec::new();
    let mut p = Parser::new();
    p.parse_str("default.cf", filter::spam::DEFAULT_RULES);
    out.push(("default", Rules::compile(&p.finish(), ScoreSet::default())));
    if Path::new("/usr/share/spamassassin").is_dir() {
        let mut p = Parser::new();
        if let Ok(d) = std::fs::read_dir("/etc/spamassassin") {
            let mut pre: Vec<_> = d
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "pre"))
                .collect();
            pre.sort();
            for f in pre {
                let _ = p.parse_path(&f);
            }
        }
        if p.parse_path(Path::new("/usr/share/spamassassin")).is_ok() {
            out.push(("stock", Rules::compile(&p.finish(), ScoreSet::default())));
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let msgs = corpus(500);
    if msgs.is_empty() {
        eprintln!("no corpus at ../shared/corpus/spamassassin; nothing to measure");
        return;
    }
    let limits = filter::Limits::default();
    let mut g = c.benchmark_group("spam");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.sample_size(10);
    let mut features = Features::default();
    g.bench_function("render", |b| {
        b.iter(|| {
            for m in &msgs {
                let msg = Message::parse_with(m, &limits);
                features.build(&msg, &limits);
                black_box(features.body.len());
            }
        })
    });
    for (name, rules) in rule_sets() {
        let mut scratch = Scratch::default();
        g.bench_function(format!("render+rules/{name}"), |b| {
            b.iter(|| {
                let mut score = 0.0;
                for m in &msgs {
                    let msg = Message::parse_with(m, &limits);
                    features.build(&msg, &limits);
                    score += rules.check(&msg, &features, &mut scratch).score;
                }
                black_box(score)
            })
        });
        // The same, 64 messages at a time (`Rules::check_many`, as
        // `Scanner::scan_many` runs it).
        let mut views: Vec<Features> = (0..64).map(|_| Features::default()).collect();
        let mut scratches = Vec::new();
        g.bench_function(format!("render+rules-batch64/{name}"), |b| {
            b.iter(|| {
                let mut score = 0.0;
                for chunk in msgs.chunks(views.len()) {
                    let parsed: Vec<Message<'_>> = chunk
                        .iter()
                        .map(|m| Message::parse_with(m, &limits))
                        .collect();
                    for (msg, f) in parsed.iter().zip(views.iter_mut()) {
                        f.build(msg, &limits);
                    }
                    let items: Vec<_> = parsed.iter().zip(views.iter()).collect();
                    for o in rules.check_many(&items, &mut scratches) {
                        score += o.score;
                    }
                }
                black_box(score)
            })
        });
    }
    g.finish();
}

fn bayes(c: &mut Criterion) {
    use filter::spam::bayes::{Classifier, Model, Tokenizer, TokenizerOptions};
    let msgs = corpus(500);
    if msgs.is_empty() {
        return;
    }
    let tok = Tokenizer::new(TokenizerOptions::default());
    let mut tokens = Vec::new();
    let mut model = Model::new(Classifier::Logistic);
    for (i, m) in msgs.iter().enumerate() {
        tok.tokens(m, &mut tokens);
        model.learn(&tokens, i % 3 == 0);
    }
    let mut g = c.benchmark_group("bayes");
    g.throughput(Throughput::Elements(msgs.len() as u64));
    g.sample_size(10);
    g.bench_function("tokenize", |b| {
        b.iter(|| {
            let mut n = 0;
            for m in &msgs {
                tok.tokens(m, &mut tokens);
                n += tokens.len();
            }
            black_box(n)
        })
    });
    g.bench_function("tokenize+classify", |b| {
        b.iter(|| {
            let mut p = 0.0;
            for m in &msgs {
                tok.tokens(m, &mut tokens);
                p += model.classify(&tokens);
            }
            black_box(p)
        })
    });
    let mut learner = model.clone();
    g.bench_function("tokenize+learn", |b| {
        b.iter(|| {
            for (i, m) in msgs.iter().enumerate() {
                tok.tokens(m, &mut tokens);
                learner.learn(&tokens, i % 3 == 0);
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench, bayes);
criterion_main!(benches);
