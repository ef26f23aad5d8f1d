#![no_main]

use filter::mime::params;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let p = params::parse(data);
    std::hint::black_box(p.text("filename"));
    std::hint::black_box(p.text("name"));
    let boundaries = p.all("boundary").count();
    assert!(boundaries <= p.params.len());
    if let Some(b) = p.get("boundary") {
        assert!(b.name.eq_ignore_ascii_case(b"boundary"));
    }
});
