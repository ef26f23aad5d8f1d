//! Accuracy of the embedded default spam rules (src/spam/default.cf).
//!
//! The rules are ours, written in SpamAssassin syntax; their scores were
//! tuned by scripts/tune_default_rules.py on the training half of
//! ../shared/corpus/spamassassin (the half is fixed by a hash of each
//! message's path), with SpamAssassin 4.0.1 itself as the engine. Here we
//! run them through the library, with no rule directory given, over the
//! whole corpus and check that we stay close to the figures SpamAssassin
//! gave on the held-out half: spam caught at least [`MIN_SPAM_CAUGHT`],
//! ham flagged at most [`MAX_HAM_FLAGGED`]. Run with `--nocapture` to see
//! the figures.

use std::path::{Path, PathBuf};

use filter::EngineBuilder;
use filter::spam::DEFAULT_RULES;
use filter::spam::rules::{Parser, Rules, ScoreSet};

/// Spam caught, %, over the whole corpus: SpamAssassin caught 83.25% of the
/// test half's spam with these rules (82.75% of the whole corpus); the
/// margin allows for differences between our engine and SpamAssassin's.
const MIN_SPAM_CAUGHT: f64 = 79.0;
/// Ham flagged, %, over the whole corpus: SpamAssassin flagged 0.53% of
/// the test half's ham (0.29% of the whole corpus), plus a margin.
const MAX_HAM_FLAGGED: f64 = 1.0;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/spamassassin")
}

/// `(is_spam, path)` for every labelled message.
fn labelled() -> Vec<(bool, PathBuf)> {
    let root = corpus();
    let labels = std::fs::read_to_string(root.join("labels.tsv")).unwrap_or_else(|e| {
        panic!("expected the corpus labels at {}: {e}", root.display());
    });
    labels
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(label, path)| (label == "spam", root.join(path)))
        .collect()
}

#[test]
fn default_rules_accuracy_on_the_corpus() {
    let engine = EngineBuilder::new().build();
    let mut scanner = engine.scanner();
    let all = labelled();
    assert!(
        all.len() > 6000,
        "expected 6,046 labelled messages, found {}",
        all.len()
    );
    let (mut spam, mut caught, mut ham, mut flagged) = (0usize, 0usize, 0usize, 0usize);
    let mut false_pos = Vec::new();
    for (is_spam, path) in &all {
        let bytes = std::fs::read(path).unwrap();
        let report = scanner.scan_message(&bytes);
        let verdict = report.spam.expect("the default rules give a spam verdict");
        if *is_spam {
            spam += 1;
            caught += verdict.is_spam as usize;
        } else {
            ham += 1;
            if verdict.is_spam {
                flagged += 1;
                let names: Vec<&str> = verdict.symbols.iter().map(|s| s.name.as_str()).collect();
                false_pos.push(format!(
                    "{} {:.1} {}",
                    path.display(),
                    verdict.score,
                    names.join(",")
                ));
            }
        }
    }
    let caught_pct = 100.0 * caught as f64 / spam as f64;
    let flagged_pct = 100.0 * flagged as f64 / ham as f64;
    println!(
        "default rules: spam caught {caught}/{spam} = {caught_pct:.2}%, \
         ham flagged {flagged}/{ham} = {flagged_pct:.2}%"
    );
    for fp in false_pos.iter().take(20) {
        println!("  false positive: {fp}");
    }
    assert!(
        caught_pct >= MIN_SPAM_CAUGHT,
        "spam caught {caught_pct:.2}% < {MIN_SPAM_CAUGHT}%"
    );
    assert!(
        flagged_pct <= MAX_HAM_FLAGGED,
        "ham flagged {flagged_pct:.2}% > {MAX_HAM_FLAGGED}%"
    );
}

#[test]
fn default_rules_load_cleanly() {
    let mut p = Parser::new();
    p.parse_str("default.cf", DEFAULT_RULES);
    let rules = Rules::compile(&p.finish(), ScoreSet::new(false, false));
    let stats = rules.stats();
    println!(
        "default rules: {} rules, {} active, {} metas, {} evals, {} regexes native, {} fallback",
        stats.rules, stats.active, stats.metas, stats.evals, stats.native, stats.fallback
    );
    assert!(
        rules.skipped().is_empty(),
        "lines skipped: {:?}",
        rules.skipped()
    );
    assert!(
        rules.problems().is_empty(),
        "rules that cannot run: {:?}",
        rules.problems()
    );
    assert!(
        stats.unimplemented_evals.is_empty(),
        "eval functions not implemented: {:?}",
        stats.unimplemented_evals
    );
    assert_eq!(
        stats.fallback, 0,
        "every regex should run on the native engine"
    );
    assert!(stats.rules >= 80, "{} rules", stats.rules);
    assert_eq!(rules.required_score(), 5.0);
    for r in rules.rules() {
        assert!(
            r.name.starts_with("LF_") || r.name.starts_with("__LF_"),
            "{} is not ours",
            r.name
        );
        if !r.is_subrule() {
            assert!(!r.description.is_empty(), "{} has no describe", r.name);
        }
    }
}

#[test]
fn gtube_is_spam() {
    // Built from pieces so that no file holds the whole test string.
    let gtube = [
        "XJS*C4JDBQADN1.NSBN3*2IDNEN*",
        "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X",
    ]
    .concat();
    let msg = format!(
        "From: sender@example.com\r\nTo: rcpt@example.org\r\nSubject: test\r\n\
         Date: Mon, 1 Mar 2004 10:00:00 +0000\r\nMessage-ID: <gtube@example.com>\r\n\r\n\
         This is the GTUBE, the\r\n\r\n{gtube}\r\n\r\nend.\r\n"
    );
    let engine = EngineBuilder::new().build();
    let mut scanner = engine.scanner();
    let verdict = scanner
        .scan_message(msg.as_bytes())
        .spam
        .expect("a spam verdict");
    assert!(verdict.is_spam, "GTUBE not spam: {verdict:?}");
    assert!(verdict.score >= 1000.0, "{verdict:?}");
    assert!(
        verdict.symbols.iter().any(|s| s.name == "LF_GTUBE"),
        "{verdict:?}"
    );
}

#[test]
fn a_short_personal_message_is_not_spam() {
    let msg = "Return-Path: <alice@example.com>\r\n\
Received: from mail.example.com (mail.example.com [192.0.2.10])\r\n\
\tby mx.example.org (Postfix) with ESMTP id 4F2A81C0042\r\n\
\tfor <bob@example.org>; Tue, 9 Mar 2004 18:21:07 +0000 (GMT)\r\n\
From: Alice Smith <alice@example.com>\r\n\
To: Bob Jones <bob@example.org>\r\n\
Subject: Re: lunch on Thursday?\r\n\
Date: Tue, 9 Mar 2004 18:21:03 +0000\r\n\
Message-ID: <20040309182103.GA1234@mail.example.com>\r\n\
In-Reply-To: <20040309170000.GB999@mx.example.org>\r\n\
References: <20040309170000.GB999@mx.example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
User-Agent: Mutt/1.5.5.1i\r\n\
\r\n\
On Tue, Mar 09, 2004 at 05:00:00PM +0000, Bob Jones wrote:\r\n\
> Are you free for lunch on Thursday?\r\n\
\r\n\
Yes, Thursday works for me. Shall we meet at the usual place at\r\n\
half past twelve? I'll bring the notes from last week's meeting.\r\n\
\r\n\
Alice\r\n";
    let engine = EngineBuilder::new().build();
    let mut scanner = engine.scanner();
    let verdict = scanner
        .scan_message(msg.as_bytes())
        .spam
        .expect("a spam verdict");
    assert!(!verdict.is_spam, "a personal message flagged: {verdict:?}");
    assert!(verdict.score < 2.0, "{verdict:?}");
}

/// `scan_many` gives, in order, the reports `scan` gives each input alone:
/// corpus messages, GTUBE, a message carrying EICAR, EICAR as a bare file,
/// text that is not mail and an empty input, more of them than one batch
/// holds so that batches are cut.
#[test]
fn scan_many_gives_the_reports_of_scan() {
    let gtube = [
        "XJS*C4JDBQADN1.NSBN3*2IDNEN*",
        "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X",
    ]
    .concat();
    let eicar = [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat();
    let head = "From: sender@example.com\r\nTo: rcpt@example.org\r\n\
                Date: Mon, 1 Mar 2004 10:00:00 +0000\r\nMessage-ID: <t@example.com>\r\n";
    let mut inputs: Vec<Vec<u8>> = labelled()
        .iter()
        .step_by(40)
        .map(|(_, p)| std::fs::read(p).unwrap())
        .collect();
    let extra = [
        format!("{head}Subject: test\r\n\r\nThe GTUBE:\r\n\r\n{gtube}\r\n").into_bytes(),
        format!(
            "{head}Subject: file\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
             --b\r\nContent-Type: application/octet-stream; name=t.com\r\n\r\n{eicar}\r\n--b--\r\n"
        )
        .into_bytes(),
        eicar.clone().into_bytes(),
        b"just some text, not mail\n".to_vec(),
        Vec::new(),
    ];
    for (i, e) in extra.into_iter().enumerate() {
        inputs.insert(i * 37 % inputs.len(), e);
    }
    assert!(inputs.len() > 2 * filter::BATCH, "{} inputs", inputs.len());
    let engine = EngineBuilder::new().build();
    let mut alone = engine.scanner();
    let expected: Vec<_> = inputs.iter().map(|d| alone.scan(d)).collect();
    let refs: Vec<&[u8]> = inputs.iter().map(|d| d.as_slice()).collect();
    let mut together = engine.scanner();
    let got = together.scan_many(&refs);
    assert_eq!(got, expected);
    // Twice with the same scanner: its kept views hold nothing over.
    assert_eq!(together.scan_many(&refs), expected);
    let infected = got.iter().filter(|r| r.infected()).count();
    let spam = got
        .iter()
        .filter(|r| r.spam.as_ref().is_some_and(|v| v.is_spam))
        .count();
    let files = got.iter().filter(|r| r.spam.is_none()).count();
    assert!(
        infected >= 2 && spam >= 2 && files >= 3,
        "{infected} {spam} {files}"
    );
}
