#![no_main]

//! Splits the input at the first two `\n` into pattern, flags and text,
//! adds the pattern (as bytes and, when UTF-8, as a string) to a set, and
//! runs `candidates` and `count`. Nothing may panic; a pattern that matches
//! must be a candidate; the budget must stay bounded; a native pattern's
//! yes/no answer must agree with its count.

use filter::spam::regex::{Budget, EngineKind, SetBuilder};

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let mut parts = input.splitn(3, |&b| b == b'\n');
    let pattern = parts.next().unwrap_or(&[]);
    let flags = parts.next().unwrap_or(&[]);
    let text = parts.next().unwrap_or(&[]);
    let flags = String::from_utf8_lossy(flags);

    let mut b = SetBuilder::new();
    let _ = b.add_bytes(pattern, &flags);
    if let Ok(p) = std::str::from_utf8(pattern) {
        let _ = b.add(p, &flags);
    }
    let set = b.build();

    let mut cands = Vec::new();
    set.candidates(text, &mut cands);
    assert!(
        cands.windows(2).all(|w| w[0] < w[1]),
        "candidates not sorted"
    );
    let mut budget = Budget::new(4);
    for id in 0..set.len() as u32 {
        let before = budget.left;
        let n = set.count(id, text, 8, &mut budget);
        assert!(n <= 8);
        assert!(budget.left <= before);
        if n > 0 {
            assert!(cands.contains(&id), "prefilter lost pattern {id}");
        }
        // A yes/no question takes other paths (a gated pattern's
        // one-attempt engine); on a native pattern, which spends no
        // budget, it must agree with the count.
        let one = set.count(id, text, 1, &mut Budget::new(4));
        if set.kind(id) == Some(EngineKind::Native) {
            assert_eq!(one, n.min(1), "yes/no disagrees with the count");
        }
    }
});
