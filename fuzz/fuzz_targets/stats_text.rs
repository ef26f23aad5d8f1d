//! `Stats::from_text` on arbitrary bytes: never panics, and whatever reads
//! writes back to text that reads the same.
#![no_main]

use filter::stats::Stats;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(s) = Stats::from_text(text) {
        let again = Stats::from_text(&s.to_text()).expect("own output reads back");
        assert_eq!(again, s);
        let mut m = s.clone();
        m.merge(&s);
        assert_eq!(m.messages(), s.messages().saturating_mul(2));
    }
});
