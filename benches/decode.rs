//! Transfer-decoder throughput: base64 (the hot one), quoted-printable and
//! yEnc, on 1 MiB of pseudo-random bytes. Throughput is reported in bytes of
//! *decoded output* per second.
//!
//! ```text
//! cargo bench --bench decode -- --measurement-time 3 --warm-up-time 1
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use filter::decode::{base64, qp, yenc};

const ALPHA: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// 1 MiB from a xorshift generator: incompressible, reproducible.
fn random_bytes(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Padded base64 wrapped at 76 columns with `eol`, as mail clients write it.
fn encode_base64(data: &[u8], eol: &[u8]) -> Vec<u8> {
    let mut flat = Vec::with_capacity(data.len() / 3 * 4 + 4);
    for c in data.chunks(3) {
        let b = [c[0], *c.get(1).unwrap_or(&0), *c.get(2).unwrap_or(&0)];
        let v = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        for k in 0..4 {
            if k <= c.len() {
                flat.push(ALPHA[((v >> (18 - 6 * k)) & 63) as usize]);
            } else {
                flat.push(b'=');
            }
        }
    }
    let mut out = Vec::with_capacity(flat.len() + flat.len() / 76 * 2 + 2);
    for line in flat.chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(eol);
    }
    out
}

/// Quoted-printable of mostly-text `data` (every byte outside printable
/// ASCII escaped), soft-wrapped at 76 columns with CRLF.
fn encode_qp(data: &[u8]) -> Vec<u8> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = Vec::new();
    let mut col = 0;
    for &b in data {
        if col >= 72 {
            out.extend_from_slice(b"=\r\n");
            col = 0;
        }
        if (33..=126).contains(&b) && b != b'=' {
            out.push(b);
            col += 1;
        } else {
            out.extend_from_slice(&[b'=', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
            col += 3;
        }
    }
    out
}

/// yEnc data lines of 128 characters, no header.
fn encode_yenc(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut col = 0;
    for &b in data {
        let e = b.wrapping_add(42);
        if matches!(e, 0 | b'\n' | b'\r' | b'=') {
            out.extend_from_slice(&[b'=', e.wrapping_add(64)]);
            col += 2;
        } else {
            out.push(e);
            col += 1;
        }
        if col >= 128 {
            out.extend_from_slice(b"\r\n");
            col = 0;
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let data = random_bytes(1 << 20);
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(data.len() as u64));
    for (name, eol) in [("base64_crlf", &b"\r\n"[..]), ("base64_lf", b"\n")] {
        let enc = encode_base64(&data, eol);
        let mut out = Vec::with_capacity(data.len());
        base64::decode(&enc, &mut out, usize::MAX);
        assert_eq!(out, data);
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                base64::decode(black_box(&enc), &mut out, usize::MAX);
                black_box(out.len())
            })
        });
    }
    // A 64 KiB body, which stays in cache: the kernel's own speed rather
    // than the memory's.
    {
        let small = &data[..64 << 10];
        let enc = encode_base64(small, b"\r\n");
        let mut out = Vec::with_capacity(small.len());
        g.throughput(Throughput::Bytes(small.len() as u64));
        g.bench_function("base64_crlf_64k", |b| {
            b.iter(|| {
                out.clear();
                base64::decode(black_box(&enc), &mut out, usize::MAX);
                black_box(out.len())
            })
        });
        g.throughput(Throughput::Bytes(data.len() as u64));
    }
    // The portable scalar path (what runs without AVX2), for comparison.
    for (name, eol) in [
        ("base64_crlf_scalar", &b"\r\n"[..]),
        ("base64_lf_scalar", b"\n"),
    ] {
        let enc = encode_base64(&data, eol);
        let mut out = Vec::with_capacity(data.len());
        g.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                base64::decode_scalar(black_box(&enc), &mut out, usize::MAX);
                black_box(out.len())
            })
        });
    }
    // A fresh Vec each time: what a caller without a reusable buffer pays.
    let enc = encode_base64(&data, b"\r\n");
    g.bench_function("base64_crlf_fresh_vec", |b| {
        b.iter(|| {
            let mut out = Vec::new();
            base64::decode(black_box(&enc), &mut out, usize::MAX);
            black_box(out)
        })
    });
    // Text-like: lower-case letters and spaces, one byte in ten 8-bit.
    let text: Vec<u8> = data
        .iter()
        .map(|&b| match b {
            0..=209 => b'a' + b % 26,
            210..=229 => b' ',
            _ => b,
        })
        .collect();
    let enc = encode_qp(&text);
    let mut out = Vec::with_capacity(data.len());
    qp::decode(&enc, &mut out, usize::MAX);
    assert_eq!(out, text);
    g.bench_function("qp", |b| {
        b.iter(|| {
            out.clear();
            qp::decode(black_box(&enc), &mut out, usize::MAX);
            black_box(out.len())
        })
    });
    let enc = encode_yenc(&data);
    out.clear();
    yenc::decode(&enc, &mut out, usize::MAX);
    assert_eq!(out, data);
    g.bench_function("yenc", |b| {
        b.iter(|| {
            out.clear();
            yenc::decode(black_box(&enc), &mut out, usize::MAX);
            black_box(out.len())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
