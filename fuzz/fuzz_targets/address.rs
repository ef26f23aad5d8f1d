#![no_main]

use filter::mime::address;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (list, _defects) = address::parse_list(data);
    for a in &list {
        std::hint::black_box((&a.name, &a.email, &a.group));
    }
});
