#![no_main]

use filter::mime::encoded_word;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&flag, value)) = data.split_first() else {
        return;
    };
    let fallback: Option<&[u8]> = match flag % 3 {
        0 => None,
        1 => Some(b"windows-1252"),
        _ => Some(b"iso-2022-jp"),
    };
    let (s, _defects) = encoded_word::decode(value, fallback);
    std::hint::black_box(s.len());
});
