#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::check_decoder(filter::decode::base64::decode, data);
});
