#![no_main]

use filter::sniff::{self, FileType};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let t = sniff::sniff(data);
    assert_eq!(FileType::from_name(t.name()), Some(t));
    // Only the first PREFIX_LEN bytes count (the PE signature of an MZ file
    // aside).
    if data.len() > sniff::PREFIX_LEN && !data.starts_with(b"MZ") {
        assert_eq!(sniff::sniff(&data[..sniff::PREFIX_LEN]), t);
    }
});
