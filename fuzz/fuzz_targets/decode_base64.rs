#![no_main]

mod common;

use filter::decode::base64;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::check_decoder(base64::decode, data);
    common::check_decoder(base64::decode_scalar, data);

    // The SIMD kernel (where the CPU has one) against the scalar path: the
    // same bytes and the same defects, unlimited and at the limit the first
    // byte picks.
    let (limit, input) = match data.split_first() {
        Some((&b, rest)) => (usize::from(b) * 7, rest),
        None => (0, data),
    };
    for limit in [usize::MAX, limit] {
        let (mut fast, mut slow) = (Vec::new(), Vec::new());
        let df = base64::decode(input, &mut fast, limit);
        let ds = base64::decode_scalar(input, &mut slow, limit);
        assert_eq!(fast, slow, "SIMD and scalar outputs differ (limit {limit})");
        assert_eq!(df, ds, "SIMD and scalar defects differ (limit {limit})");
    }
});
