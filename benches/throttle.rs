//! Throttle benchmarks (criterion group `throttle`): events per second on
//! one core, for the traffic a busy MX sees — a stream of connections and
//! messages from mostly distinct addresses (the table churns: every event
//! is a miss that evicts) and from a few thousand regulars (every event a
//! hit) — and the read-only `advice` query.
//!
//! ```text
//! cargo bench --bench throttle
//! ```

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use filter::throttle::{Config, Throttle};

const EVENTS: u64 = 100_000;

/// Address `i` of a stream of distinct addresses spread over IPv4 (every
/// 8th one IPv6).
fn distinct(i: u64) -> IpAddr {
    let x = (i as u32).wrapping_mul(0x9e37_79b1);
    if i.is_multiple_of(8) {
        IpAddr::V6(Ipv6Addr::from(u128::from(x) << 64 | 1))
    } else {
        IpAddr::V4(Ipv4Addr::from(x ^ (x >> 15)))
    }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("throttle");
    g.throughput(Throughput::Elements(EVENTS));
    let config = Config::default();

    // Distinct addresses: a new key (host and network) for every event.
    let mut t = Throttle::new(&config).unwrap();
    let mut next = 0u64;
    g.bench_function("connect/distinct", |b| {
        b.iter(|| {
            for _ in 0..EVENTS {
                let ip = distinct(next);
                black_box(t.connect(ip, next / 10));
                next += 1;
            }
        })
    });

    // 4,096 regulars, each connecting and sending a message (with a
    // verdict) in turn: every event finds its key.
    let regulars: Vec<IpAddr> = (0..4_096).map(distinct).collect();
    let mut t = Throttle::new(&config).unwrap();
    let mut now = 0u64;
    g.bench_function("mixed/regulars", |b| {
        b.iter(|| {
            for i in 0..EVENTS as usize {
                let ip = regulars[i % regulars.len()];
                now += 1;
                let a = match i % 3 {
                    0 => t.connect(ip, now),
                    1 => t.message(ip, 2, now),
                    _ => t.verdict(ip, i % 7 == 0, now),
                };
                black_box(a);
            }
        })
    });

    g.bench_function("advice/regulars", |b| {
        b.iter(|| {
            for i in 0..EVENTS as usize {
                black_box(t.advice(regulars[i % regulars.len()], now));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
