//! Signature-engine benchmarks (criterion group `sig`): loading a generated
//! database (10,000 body signatures and 100,000 MD5 hashes, the same mix as
//! `scripts/gen_sigdb.py` at a tenth of its size), scanning 8 MiB of random
//! bytes with it, and scanning a message whose base64 attachment is a zip.
//!
//! ```text
//! cargo bench --bench sig -- --measurement-time 5 --warm-up-time 1
//! ```
//!
//! For the comparison with clamscan, see `scripts/bench-clamscan.sh`.

use std::fmt::Write as _;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use filter::sig::policy::Policy;
use filter::{Engine, EngineBuilder};

// The message builders of the signature tests, shared rather than copied.
#[path = "../tests/sigs/mail.rs"]
mod mail;
#[path = "../tests/sigs/matrix.rs"]
mod matrix;

/// xorshift64: reproducible, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 24) as u8).collect()
    }
    fn hex(&mut self, n: usize) -> String {
        self.bytes(n).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// (`bench.ndb`, `bench.hdb`) text.
fn generate(ndb: usize, hdb: usize) -> (String, String) {
    let mut r = Rng(0x5eed_1234_abcd_0001);
    let mut n = String::new();
    for i in 0..ndb {
        let body = match i % 4 {
            0 => {
                let len = 16 + r.below(25) as usize;
                r.hex(len)
            }
            1 => {
                let lo = r.below(5);
                let hi = lo + 1 + r.below(8);
                format!("{}??{}{{{lo}-{hi}}}{}", r.hex(8), r.hex(6), r.hex(8))
            }
            2 => format!("{}*{}", r.hex(10), r.hex(10)),
            _ => {
                let k = 2 + r.below(3) as usize;
                let alts: Vec<String> = (0..k).map(|_| r.hex(2)).collect();
                format!("{}({}){}", r.hex(8), alts.join("|"), r.hex(8))
            }
        };
        writeln!(n, "Bench.Ndb.{}.{i}:0:*:{body}", i % 4).unwrap();
    }
    let mut h = String::with_capacity(hdb * 60);
    for i in 0..hdb {
        writeln!(h, "{}:{}:Bench.Hdb.{i}", r.hex(16), 1 + r.below(1 << 20)).unwrap();
    }
    (n, h)
}

fn build(ndb: &str, hdb: &str) -> Arc<Engine> {
    let mut b = EngineBuilder::new().defaults(false).policy(Policy::off());
    b.load_bytes("bench.ndb", ndb.as_bytes()).unwrap();
    b.load_bytes("bench.hdb", hdb.as_bytes()).unwrap();
    b.build()
}

/// A message with a 1 MiB text document, zipped, base64-encoded.
fn zip_message(r: &mut Rng) -> Vec<u8> {
    let mut doc = Vec::new();
    while doc.len() < 1 << 20 {
        let w = r.below(26) as u8;
        doc.extend_from_slice(b"lorem ipsum dolor ");
        doc.push(b'a' + w);
        doc.extend_from_slice(b" sit amet\r\n");
    }
    let mut m = b"From: a@example.com\r\nTo: b@example.net\r\nSubject: report\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"zz\"\r\n\r\n--zz\r\n\
Content-Type: text/plain\r\n\r\nAttached.\r\n--zz\r\nContent-Type: application/zip; name=\"r.zip\"\r\n\
Content-Transfer-Encoding: base64\r\n\r\n"
        .to_vec();
    m.extend_from_slice(&mail::base64(&mail::zip(&[(
        "report.txt",
        &doc,
        true,
        false,
    )])));
    m.extend_from_slice(b"\r\n--zz--\r\n");
    m
}

fn bench(c: &mut Criterion) {
    let (ndb, hdb) = generate(10_000, 100_000);
    let mut g = c.benchmark_group("sig");
    g.sample_size(10);
    g.throughput(Throughput::Elements(110_000));
    g.bench_function("load_10k_ndb_100k_hdb", |b| {
        b.iter(|| black_box(build(black_box(&ndb), black_box(&hdb))))
    });

    let engine = build(&ndb, &hdb);
    // The numbers mean little if part of the database failed to load.
    let report = engine.load_report();
    eprintln!(
        "sig bench database: loaded {:?}, {} errors, {} unsupported",
        report.loaded,
        report.errors.len(),
        report.unsupported.len()
    );
    let mut r = Rng(0x0dd_ba11_cafe_f00d);
    let random = r.bytes(8 << 20);
    let mut s = engine.scanner();
    g.throughput(Throughput::Bytes(random.len() as u64));
    g.bench_function("scan_random_8MiB", |b| {
        b.iter(|| black_box(s.scan_file(black_box(&random))))
    });

    let msg = zip_message(&mut r);
    g.throughput(Throughput::Bytes(msg.len() as u64));
    g.bench_function("scan_message_base64_zip", |b| {
        b.iter(|| black_box(s.scan(black_box(&msg))))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
