#![no_main]

use filter::spam::evals::image_size;

// The image size readers of the ImageInfo tests, on any bytes behind each
// format's signature: no panic, and a size is never zero.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for (kind, magic) in [
        ("gif", &b"GIF89a"[..]),
        ("png", &b"\x89PNG\r\n\x1a\n"[..]),
        ("jpeg", &b"\xff\xd8"[..]),
    ] {
        let mut d = magic.to_vec();
        d.extend_from_slice(data);
        for bytes in [&d[..], data] {
            if let Some((h, w)) = image_size(kind, bytes) {
                assert!(h > 0 && w > 0 && h <= u64::from(u32::MAX) && w <= u64::from(u32::MAX));
            }
        }
    }
});
