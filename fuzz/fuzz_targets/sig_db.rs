//! Database loading: the first byte picks a file kind, the rest is the
//! file's content. `load_bytes` (and `finish`) must never panic, whatever
//! the bytes; in strict mode the load may fail but must not panic either.

#![no_main]

use filter::sig::db::Loader;

/// File names whose extensions select every reader.
const NAMES: &[&str] = &[
    "f.hdb",
    "f.hsb",
    "f.mdb",
    "f.msb",
    "f.fp",
    "f.sfp",
    "f.ign2",
    "f.ign",
    "f.ndb",
    "f.ldb",
    "f.cdb",
    "f.cvd",
    "f.cld",
    "f.info",
    "f.hdu",
    "f.cfg",
    "f.yar",
    "f.unknown",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(pick) % NAMES.len()];
    let strict = pick >= 128;

    let mut loader = Loader::new().strict(strict);
    let result = loader.load_bytes(name, rest);
    let db = loader.finish();
    if !strict {
        assert!(result.is_ok(), "only strict mode fails on content");
    }
    // Everything loaded from a local file is named as clamscan names it.
    for h in &db.hashes {
        assert!(
            h.name.ends_with(".UNOFFICIAL") || name.ends_with(".cvd") || name.ends_with(".cld")
        );
    }
    // Expressions evaluate without panicking on any counts.
    for l in &db.logical {
        let _ = l.expr.eval(&[1; 64]);
        let _ = l.expr.eval(&[]);
    }
});
