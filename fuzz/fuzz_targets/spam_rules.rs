//! Rule-file parsing: arbitrary bytes, read as (lossy) UTF-8 text and as raw
//! bytes, must never panic or hang; whatever is parsed must be consistent.
//! What parsed is then compiled (meta expressions, regexes) and run on a
//! small message, which must not panic either.

#![no_main]

use filter::mime::Message;
use filter::spam::Features;
use filter::spam::rules::parse::Parser;
use filter::spam::rules::{Rules, ScoreSet, Scratch};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut p = Parser::new();
    p.parse_str("fuzz.cf", &text);
    let cfg = p.finish();
    // Rule names are unique (a redefinition replaces in place) and valid.
    let mut seen = std::collections::HashSet::new();
    for r in &cfg.rules {
        assert!(seen.insert(r.name.as_str()), "duplicate rule {}", r.name);
        assert!(!r.name.is_empty() && r.name.len() <= 100);
        // Every rule has a score once parsing is finished.
        assert!(cfg.scores.contains_key(&r.name));
    }
    let mut p = Parser::with_plugins([]);
    p.parse_bytes("fuzz.cf", data);
    let _ = p.finish();

    // Compiling hundreds of real regexes per run would starve the fuzzer;
    // small rule sets exercise the same code.
    if cfg.rules.len() > 32 {
        return;
    }
    let rules = Rules::compile(&cfg, ScoreSet::default());
    let msg = Message::parse(b"Subject: hi\r\nFrom: a@example.com\r\n\r\nbody text\r\n");
    let mut features = Features::default();
    features.build(&msg, &filter::Limits::default());
    let out = rules.check(&msg, &features, &mut Scratch::default());
    assert!(out.score.is_finite() || out.hits.is_empty());
});
