#![no_main]

//! Parses the part before the first `\n` as a hex body (optionally
//! `offset:body`), matches it on the rest with the real matcher and, for
//! small inputs, compares with the brute-force oracle.

use filter::sig::matcher::{MatchState, MatcherBuilder};
use filter::sig::pattern::{Offset, Pattern};
use filter::sig::pe::Layout;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    let split = input
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(input.len());
    let (head, data) = (&input[..split], input.get(split + 1..).unwrap_or(&[]));
    let Ok(head) = std::str::from_utf8(head) else {
        return;
    };
    let (off, hex) = match head.split_once(':') {
        Some((o, h)) => match Offset::parse(o) {
            Ok(o) => (o, h),
            Err(_) => return,
        },
        None => (Offset::Any, head),
    };
    let Ok(p) = Pattern::parse(hex) else { return };
    let layout = Layout {
        entry_point: Some(data.len() as u64 / 2),
        sections: Vec::new(),
    };
    let mut b = MatcherBuilder::new();
    let id = b.add(p.clone(), off);
    let m = b.build();
    let mut st = MatchState::new();
    m.scan(data, &layout, &mut st);
    if input.len() < 256 && !st.truncated() {
        let want = p.naive_starts(&off, data, &layout);
        assert_eq!(st.count(id) as usize, want.len());
        assert_eq!(
            st.offsets(id),
            &want[..want.len().min(MatchState::MAX_OFFSETS)]
        );
    }
});
