#![no_main]

// Placeholder for the walker API; adjust when `filter::mime` lands.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let msg = filter::mime::Message::parse(data);
    for part in msg.parts() {
        std::hint::black_box(part);
    }
});
