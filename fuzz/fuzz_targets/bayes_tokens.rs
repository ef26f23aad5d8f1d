#![no_main]

//! Arbitrary bytes through the Bayes tokenizer, as a whole message and as
//! an HTML body, and through both classifiers: nothing may panic, the
//! tokens come out distinct and within the token bound, and every score
//! is a probability.
//!
//! The chi-square model is fresh for every input. The logistic model (8 MiB
//! of weights and sums, too costly to zero for every input under ASan) is
//! one per thread: each input is learned and then unlearned, so the weights
//! stay small, but a crash may depend on the inputs before it.

use std::cell::RefCell;

use filter::spam::bayes::{Classifier, Model, Tokenizer, TokenizerOptions};

thread_local! {
    static LOGISTIC: RefCell<Model> = RefCell::new(Model::new(Classifier::Logistic));
}

fn check(m: &mut Model, tokens: &[u64], undo: bool) {
    m.learn(tokens, true);
    m.learn(&tokens[..tokens.len() / 2], false);
    let p = m.classify(tokens);
    assert!((0.0..=1.0).contains(&p), "{p}");
    if undo {
        m.unlearn(&tokens[..tokens.len() / 2], false);
        m.unlearn(tokens, true);
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let opts = TokenizerOptions {
        max_tokens: 4096,
        ..TokenizerOptions::default()
    };
    let tok = Tokenizer::new(opts);
    let mut html = b"Subject: x\r\nContent-Type: text/html\r\n\r\n".to_vec();
    html.extend_from_slice(data);
    let mut tokens = Vec::new();
    let mut chi = Model::new(Classifier::ChiSquare);
    for raw in [data, &html[..]] {
        tok.tokens(raw, &mut tokens);
        // The bound applies before deduplication, plus the pairs of the
        // word that crossed it.
        assert!(tokens.len() <= opts.max_tokens + opts.window);
        let mut sorted = tokens.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), tokens.len());
        check(&mut chi, &tokens, false);
        LOGISTIC.with(|m| check(&mut m.borrow_mut(), &tokens, true));
    }
});
