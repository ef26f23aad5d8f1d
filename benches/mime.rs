//! Walker throughput: parse, walk and transfer-decode every leaf.
//!
//! * `spamassassin`: every message of `../shared/corpus/spamassassin`
//!   (about 6,000 real messages, loaded into memory first), one iteration
//!   over all of them.
//! * `1mb-base64`: one generated message of about 1 MB, a short text part
//!   and a base64 attachment of pseudo-random bytes wrapped at 76 columns
//!   with CRLF.
//!
//! Throughput is in bytes of *input*. With `--features bench-baseline` the
//! same two inputs also go through stalwart's mail-parser 1.0.1 (parse,
//! visit every part, transfer-decode every non-container body), as the
//! baseline:
//!
//! ```text
//! cargo bench --bench mime -- --measurement-time 5 --warm-up-time 1
//! cargo bench --bench mime --features bench-baseline --ignore-rust-version \
//!     -- --measurement-time 5 --warm-up-time 1
//! ```
//!
//! Our side walks every part the walker found, alternate readings and
//! inline uuencode/yEnc/BinHex blocks included, because that is what a
//! scanner does; mail-parser has neither, so on the corpus we do slightly
//! more work than the baseline.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use filter::Limits;
use filter::mime::{Decoder, Message, PartKind};

fn corpus_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            corpus_files(&p, out);
        } else if p
            .file_name()
            .is_some_and(|n| n != "labels.tsv" && !n.to_string_lossy().ends_with(".txt"))
        {
            out.push(p);
        }
    }
}

/// Every message of the SpamAssassin corpus, in memory.
fn spamassassin() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/spamassassin");
    let mut paths = Vec::new();
    corpus_files(&root, &mut paths);
    paths.sort();
    let msgs: Vec<Vec<u8>> = paths.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    assert!(
        msgs.len() > 6000,
        "expected the corpus at {}",
        root.display()
    );
    msgs
}

/// Pseudo-random bytes from a xorshift generator: incompressible and the
/// same on every run.
fn random_bytes(n: usize) -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// A message of about 1 MB: text part plus a base64 attachment.
fn one_mb_base64() -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(
        b"From: sender@example.com\r\n\
To: rcpt@example.org\r\n\
Subject: the quarterly figures\r\n\
Date: Thu, 13 Feb 2025 10:00:00 +0000\r\n\
Message-ID: <bench-1mb@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"----=_Part_0_123456.789\"\r\n\
\r\n\
This is a multi-part message in MIME format.\r\n\
------=_Part_0_123456.789\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
Please find the figures attached.\r\n\
------=_Part_0_123456.789\r\n\
Content-Type: application/octet-stream; name=\"figures.bin\"\r\n\
Content-Transfer-Encoding: base64\r\n\
Content-Disposition: attachment; filename=\"figures.bin\"\r\n\
\r\n",
    );
    filter::decode::base64::encode(&random_bytes(750 * 1024), &mut m);
    m.extend_from_slice(b"------=_Part_0_123456.789--\r\n");
    m
}

/// Ours: parse, walk every part, decode every leaf. Returns decoded bytes.
fn ours(input: &[u8], limits: &Limits, out: &mut Vec<u8>) -> usize {
    let msg = Message::parse_with(input, limits);
    let mut dec = Decoder::new(limits);
    let mut total = 0;
    for (_, part) in msg.walk() {
        if part.kind == PartKind::Leaf {
            dec.decode(&msg, part, out);
            total += out.len();
        }
    }
    total
}

#[cfg(feature = "bench-baseline")]
fn theirs(parser: &mail_parser::MessageParser, input: &[u8], out: &mut Vec<u8>) -> usize {
    let Some(msg) = parser.parse(input) else {
        return 0;
    };
    let mut total = 0;
    for part in msg.parts() {
        if !part.is_multipart() && !part.is_message() {
            out.clear();
            part.decode_into(out);
            total += out.len();
        }
    }
    total
}

fn bench(c: &mut Criterion) {
    let corpus = spamassassin();
    let corpus_bytes: u64 = corpus.iter().map(|m| m.len() as u64).sum();
    let big = one_mb_base64();
    let limits = Limits::default();

    let mut g = c.benchmark_group("spamassassin");
    g.throughput(Throughput::Bytes(corpus_bytes));
    g.sample_size(10);
    g.bench_function("ours", |b| {
        let mut out = Vec::new();
        b.iter(|| {
            let mut n = 0;
            for m in &corpus {
                n += ours(black_box(m), &limits, &mut out);
            }
            black_box(n)
        })
    });
    #[cfg(feature = "bench-baseline")]
    g.bench_function("mail-parser", |b| {
        let parser = mail_parser::MessageParser::default();
        let mut out = Vec::new();
        b.iter(|| {
            let mut n = 0;
            for m in &corpus {
                n += theirs(&parser, black_box(m), &mut out);
            }
            black_box(n)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("1mb-base64");
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("ours", |b| {
        let mut out = Vec::new();
        b.iter(|| black_box(ours(black_box(&big), &limits, &mut out)))
    });
    #[cfg(feature = "bench-baseline")]
    g.bench_function("mail-parser", |b| {
        let parser = mail_parser::MessageParser::default();
        let mut out = Vec::new();
        b.iter(|| black_box(theirs(&parser, black_box(&big), &mut out)))
    });
    g.finish();
}

/// Both sides decode the generated attachment to the same bytes.
fn sanity() {
    let big = one_mb_base64();
    let msg = Message::parse(&big);
    let mut dec = Decoder::new(&Limits::default());
    let mut out = Vec::new();
    let leaves: Vec<_> = msg
        .walk()
        .filter(|(_, p)| p.kind == PartKind::Leaf)
        .collect();
    if leaves.len() == 2 {
        dec.decode(&msg, leaves[1].1, &mut out);
        assert_eq!(
            out,
            random_bytes(750 * 1024),
            "the generated attachment must decode back"
        );
    } else {
        eprintln!(
            "note: the walker found {} leaves in the generated message (expected 2)",
            leaves.len()
        );
    }
    #[cfg(feature = "bench-baseline")]
    {
        let parser = mail_parser::MessageParser::default();
        let m = parser
            .parse(&big[..])
            .expect("mail-parser parses the generated message");
        let att: Vec<_> = m
            .parts()
            .filter(|p| !p.is_multipart() && !p.is_message())
            .collect();
        assert_eq!(att.len(), 2);
        assert_eq!(&*att[1].decoded(), &random_bytes(750 * 1024)[..]);
    }
}

fn benches(c: &mut Criterion) {
    sanity();
    bench(c);
}

criterion_group!(mime, benches);
criterion_main!(mime);
