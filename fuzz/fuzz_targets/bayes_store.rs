#![no_main]

//! Arbitrary bytes as a Bayes model and as a store's journal: reading
//! never panics; a model that reads back writes the same bytes; a journal
//! behind a valid snapshot replays its valid prefix, and a writer opening
//! it cuts the rest off and agrees with the reader.

use std::sync::OnceLock;

use filter::spam::bayes::{Classifier, Model, Store};

fn dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("lf-fuzz-bayes-store-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Model::from_bytes(data) {
        assert_eq!(m.to_bytes(), data);
    }
    // A fresh chi-square store (a valid snapshot), then `data` as its
    // journal.
    let path = dir().join("db");
    let _ = std::fs::remove_file(&path);
    let journal = dir().join("db.journal.0");
    drop(Store::open(&path, Classifier::ChiSquare).unwrap());
    std::fs::write(&journal, data).unwrap();
    let read = Store::read(&path).unwrap();
    let store = Store::open(&path, Classifier::ChiSquare).unwrap();
    assert_eq!(store.model().to_bytes(), read.to_bytes());
    assert!(store.journal_len() <= data.len() as u64);
});
