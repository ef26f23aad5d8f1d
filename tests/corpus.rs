//! Every message under ../shared/corpus parses, walks and decodes without
//! panic and within the limits.

use std::path::{Path, PathBuf};

use filter::Limits;
use filter::mime::{Decoder, Message, PartKind};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn every_corpus_message_walks_within_limits() {
    let root = corpus_root();
    let mut all = Vec::new();
    files(&root, &mut all);
    assert!(
        all.len() > 6000,
        "expected the shared corpus at {}, found {} files",
        root.display(),
        all.len()
    );
    let limits = Limits::default();
    let mut out = Vec::new();
    let (mut parts, mut leaves, mut decoded) = (0usize, 0usize, 0usize);
    for path in &all {
        let data = std::fs::read(path).unwrap();
        let msg = Message::parse_with(&data, &limits);
        assert!(
            msg.parts().len() <= limits.max_parts + limits.max_depth,
            "{}",
            path.display()
        );
        let mut dec = Decoder::new(&limits);
        let mut walked = 0;
        for (_, p) in msg.walk() {
            walked += 1;
            assert!(
                p.body.start <= p.body.end && p.body.end <= data.len(),
                "{}",
                path.display()
            );
            assert!(
                p.header.start <= p.header.end && p.header.end <= data.len(),
                "{}",
                path.display()
            );
            assert!(
                (p.depth as usize) <= limits.max_depth + 2,
                "{}",
                path.display()
            );
            if p.kind == PartKind::Leaf {
                leaves += 1;
                dec.decode(&msg, p, &mut out);
                assert!(out.len() <= limits.max_decoded_part);
                decoded += out.len();
            }
        }
        assert_eq!(
            walked,
            msg.parts().len(),
            "walk must visit every part once: {}",
            path.display()
        );
        parts += walked;
    }
    eprintln!(
        "{} files, {parts} parts, {leaves} leaves, {decoded} decoded bytes",
        all.len()
    );
}
