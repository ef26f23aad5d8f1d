#![no_main]

use filter::decode::{self, inline};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (max, text) = match data.split_first() {
        Some((&b, rest)) => (usize::from(b % 16), rest),
        None => (0, data),
    };
    let mut blocks = Vec::new();
    let more = inline::scan(text, &mut blocks, max);
    assert!(
        blocks.len() <= max,
        "{} blocks with max {max}",
        blocks.len()
    );
    assert!(!more || blocks.len() == max, "`more` before reaching max");
    let mut end = 0;
    for b in &blocks {
        assert!(b.range.start >= end, "blocks overlap or go backwards");
        assert!(b.range.start <= b.range.end && b.range.end <= text.len());
        if let Some(n) = &b.name {
            assert!(b.range.start <= n.start && n.start <= n.end && n.end <= b.range.end);
        }
        end = b.range.end;
        let mut out = Vec::new();
        let _ = decode::decode(b.kind.encoding(), &text[b.range.clone()], &mut out, 4096);
        assert!(out.len() <= 4096);
    }
});
