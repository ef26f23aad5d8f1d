#![no_main]

use filter::spam::origin::received::{Parsed, parse};
use filter::spam::origin::{Chain, OriginConfig, RelaysHeader};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let line = String::from_utf8_lossy(data);
    if let Parsed::Hop(h) = parse(&line) {
        // What a hop borrows is a piece of the line, and it has an address.
        assert!(h.ip.is_some());
        for part in [h.ip_text, h.rdns, h.helo, h.by, h.id] {
            assert!(part.is_empty() || line.contains(part));
        }
    }
    // Many lines (split on newlines) make a chain; the pseudo-headers
    // partition the relays.
    let chain = Chain::build(line.split('\n'), [], &OriginConfig::default());
    let t = chain.pseudo_header(RelaysHeader::Trusted);
    let u = chain.pseudo_header(RelaysHeader::Untrusted);
    let count = |s: &str| s.matches("[ ip=").count();
    assert!(count(&t) + count(&u) >= chain.relays.len());
    assert!(chain.trusted().len() + chain.untrusted().len() == chain.relays.len());
});
