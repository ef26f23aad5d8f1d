#![no_main]

//! PE/ELF/Mach-O layout on arbitrary bytes: never panics, and nothing it
//! returns points outside the file.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(layout) = filter::sig::pe::parse(data) {
        let len = data.len() as u64;
        assert!(layout.entry_point.is_none_or(|e| e < len));
        assert!(layout.sections.len() <= filter::sig::pe::MAX_SECTIONS);
        for s in &layout.sections {
            assert!(s.raw_offset <= len && s.raw_size <= len - s.raw_offset);
        }
    }
});
