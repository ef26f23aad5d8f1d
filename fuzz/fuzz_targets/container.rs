#![no_main]

//! Every container walker on arbitrary bytes: never panics, and every
//! bound holds on what is actually visited.

use filter::container::{self, Bounds, Kind};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let bounds = Bounds {
        max_members: 16,
        max_member_size: 64 << 10,
        max_total: 256 << 10,
        max_ratio: 100,
    };
    let mut scratch = Vec::new();
    for kind in [Kind::Zip, Kind::Gzip, Kind::Bzip2, Kind::Tar, Kind::Tnef] {
        let mut visited = 0usize;
        let mut bytes = 0u64;
        let out = container::open(kind, data, &bounds, &mut scratch, &mut |m, b| {
            visited += 1;
            bytes += b.len() as u64;
            assert!(b.len() as u64 <= bounds.max_member_size);
            assert!(m.position >= 1 && m.position <= bounds.max_members);
            assert!(!m.encrypted || b.is_empty());
        });
        assert!(visited <= bounds.max_members);
        assert!(bytes <= bounds.max_total);
        assert!(out.members <= bounds.max_members);
        assert!(out.expanded <= bounds.max_total);
    }
});
