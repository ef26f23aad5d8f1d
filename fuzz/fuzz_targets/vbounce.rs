//! The VBounce scanner (`check_welcomelist_bounce_relays`) on any
//! message: the quoted Received lines of the rendered body and the
//! Received blocks of the raw body, with continuation lines joined. No
//! panic; the same answer twice; never a hit without a relay list, and
//! never a hit when `have_any_bounce_relays` says the list is empty.

#![no_main]

use std::sync::LazyLock;

use filter::mime::Message;
use filter::spam::Features;
use filter::spam::evals::{Args, EvalConfig, EvalCtx, lookup};

static LISTED: LazyLock<EvalConfig> = LazyLock::new(|| {
    EvalConfig::from_settings([(
        "welcomelist_bounce_relays",
        "relay*.example.org mx?.example.com *.a.b",
    )])
    .0
});

static EMPTY: LazyLock<EvalConfig> = LazyLock::new(EvalConfig::default);

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let msg = Message::parse(data);
    let mut features = Features::default();
    features.build(&msg, &filter::Limits::default());
    let check = lookup("check_welcomelist_bounce_relays").expect("a native eval");
    let any = lookup("have_any_bounce_relays").expect("a native eval");
    let args = Args::new(Vec::new());
    let listed = EvalCtx::with_config(&msg, &features, &LISTED);
    let hit = check(&listed, &args);
    assert_eq!(hit, check(&listed, &args));
    assert!(any(&listed, &args));
    let empty = EvalCtx::with_config(&msg, &features, &EMPTY);
    assert!(!any(&empty, &args));
    assert!(!check(&empty, &args));
});
