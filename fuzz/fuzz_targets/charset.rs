#![no_main]

use filter::decode::charset;

// The first byte gives the label's length (0 means no label), the label
// follows, and the rest is the text.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 24).min(rest.len());
    let (label, text) = rest.split_at(n);
    let label = (n > 0).then_some(label);
    let (s, _defects) = charset::decode_to_utf8(text, label);
    std::hint::black_box(s.len());
    let h = charset::header_to_utf8(text, label);
    std::hint::black_box(h.len());
});
