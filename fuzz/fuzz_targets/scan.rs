#![no_main]
//! The whole scanner on arbitrary input: mail or file, with small limits so
//! that every limit path is reachable. Checks that a scan never panics, that
//! the same scanner gives the same report twice (scratch reuse leaks no
//! state), that the report never names a location twice for one name, and
//! that scanning the pieces of the input between 0xFE bytes together
//! (`Scanner::scan_many`) gives each piece the report it gets alone.

use std::sync::{Arc, OnceLock};

use filter::{Engine, EngineBuilder, Limits};

fn engine() -> &'static Arc<Engine> {
    static ENGINE: OnceLock<Arc<Engine>> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let limits = Limits {
            max_depth: 6,
            max_parts: 64,
            max_decoded_part: 1 << 16,
            max_decoded_total: 1 << 18,
            max_members: 32,
            max_ratio: 50,
            ..Limits::default()
        };
        let mut b = EngineBuilder::new().limits(limits);
        // A few signatures of every kind, so the matcher and the logical
        // evaluator run on fuzzed bytes too.
        b.load_bytes(
            "fuzz.ndb",
            b"F.Plain:0:*:46555a5a\nF.Gap:0:*:4142{1-4}4344\nF.Star:0:*:5a5a*5959\nF.Alt:0:*:(61|62)6364(65|6667)\nF.Eof:0:EOF-4:454f46\n",
        )
        .expect("fuzz.ndb");
        b.load_bytes(
            "fuzz.ldb",
            b"F.Logic;Engine:51-255,Target:0;(0|1)&2>1;414141;424242;434343\n",
        )
        .expect("fuzz.ldb");
        b.build()
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut scanner = engine().scanner();
    let first = scanner.scan(data);
    let again = scanner.scan(data);
    assert_eq!(first, again, "a reused scanner changed its answer");
    let pieces: Vec<&[u8]> = data.split(|&b| b == 0xFE).take(8).collect();
    let alone: Vec<_> = pieces.iter().map(|p| scanner.scan(p)).collect();
    assert_eq!(
        scanner.scan_many(&pieces),
        alone,
        "a batch changed an answer"
    );
    for (i, d) in first.detections.iter().enumerate() {
        assert!(
            !first.detections[..i]
                .iter()
                .any(|e| e.name == d.name && e.location == d.location),
            "duplicate detection {d:?}"
        );
    }
});
