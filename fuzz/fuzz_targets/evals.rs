//! Every native eval test on any message, with a configuration that turns
//! on the tests that read one (free mail domains, address and bounce-relay
//! lists, link-host lists, registry boundaries): no panic, and a second
//! call in the same context gives the same answer.

#![no_main]

use std::sync::LazyLock;

use filter::mime::Message;
use filter::spam::Features;
use filter::spam::evals::{Args, EvalConfig, EvalCtx, lookup, names};

static CONFIG: LazyLock<EvalConfig> = LazyLock::new(|| {
    EvalConfig::from_settings([
        ("freemail_domains", "gmail.com yahoo.* *.example.net"),
        ("welcomelist_from", "*@example.com friend@*"),
        ("blocklist_to", "x?@example.org"),
        ("welcomelist_bounce_relays", "relay*.example.org"),
        ("enlist_uri_host", "(BAD) example.com evil.*"),
        ("util_rb_2tld", "co.uk com.au"),
        ("trusted_networks", "192.0.2.0/24"),
    ])
    .0
});

static CALLS: LazyLock<Vec<(&'static str, Args)>> = LazyLock::new(|| {
    let mut calls = Vec::new();
    for &n in names() {
        for args in [
            &[][..],
            &["all", "1", "3"],
            &["From", "x", "-1", "undef"],
            &["BAD"],
        ] {
            calls.push((n, Args::new(args.iter().map(|s| s.to_string()).collect())));
        }
    }
    calls
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let msg = Message::parse(data);
    let mut features = Features::default();
    features.build(&msg, &filter::Limits::default());
    let ctx = EvalCtx::with_config(&msg, &features, &CONFIG);
    for (name, args) in CALLS.iter() {
        let f = lookup(name).expect("listed");
        let first = f(&ctx, args);
        assert_eq!(first, f(&ctx, args), "{name}");
        let raw = args.clone().on_rawbody();
        let _ = f(&ctx, &raw);
    }
});
