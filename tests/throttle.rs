//! `filter::throttle`: bounded memory under ten million distinct clients,
//! sliding windows, network aggregation, clocks that run backwards, the
//! advice ladder, a property test against an exact oracle, and the C ABI
//! (`lf_throttle_*`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use filter::throttle::{Advice, Config, Policy, Rates, Scope, Throttle};
use proptest::prelude::*;

/// Counts the bytes each thread allocates, so a test can show that events
/// allocate nothing (tests run on parallel threads; the count is per
/// thread).
struct Counting;

thread_local! {
    static ALLOCATED: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the bookkeeping allocates
// nothing (a const-initialised thread-local Cell).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + layout.size() as u64));
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATED.try_with(|a| a.set(a.get() + new_size as u64));
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocated() -> u64 {
    ALLOCATED.with(|a| a.get())
}

fn v4(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A config with only the given host connection limit (nets unlimited).
fn conn_limit(n: u32) -> Config {
    Config {
        host: Rates {
            connections: n,
            ..Rates::default()
        },
        net: Rates::default(),
        ..Config::default()
    }
}

/// The required test: ten million distinct addresses, spread over the
/// whole IPv4 space by a bijection, with a few heavy senders interleaved.
/// The footprint stays at the configured bound (and no event allocates);
/// the heavy senders are caught; the one-shot clients are not.
#[test]
fn ten_million_distinct_addresses_stay_within_the_bound() {
    const BOUND: usize = 4 << 20;
    let config = Config {
        host: Rates {
            connections: 20,
            ..Rates::default()
        },
        net: Rates {
            connections: 500,
            ..Rates::default()
        },
        ..Config::default()
    }
    .with_memory(BOUND);
    assert!(config.memory_bytes() <= BOUND);
    let mut t = Throttle::new(&config).unwrap();
    let footprint = t.memory_bytes();
    assert_eq!(footprint, config.memory_bytes());
    let (host_slots, _) = t.capacity();
    assert!(host_slots >= 8_000, "{host_slots} slots in 4 MiB");

    // Heavy senders: one connection every `period` events. In a window
    // (60 s at 10 events per ms: 600,000 events) that is hundreds of
    // connections against a limit of 20. The slowest returns after
    // host_slots / 2 newcomers (about 4 per set of 8 ways) have gone by.
    let heavy: Vec<(IpAddr, u64)> = vec![
        (v4("198.51.100.1"), 997),
        (v4("198.51.100.2"), 1_999),
        (v4("203.0.113.77"), 4_999),
        ("2001:db8:dead:beef::1".parse().unwrap(), 9_973),
        (v4("192.0.2.200"), host_slots as u64 / 2),
    ];
    let heavy_nets: Vec<u32> = heavy
        .iter()
        .filter_map(|h| match h.0 {
            IpAddr::V4(a) => Some(u32::from(a) >> 8),
            IpAddr::V6(_) => None,
        })
        .collect();
    let mut worst = vec![Advice::Accept; heavy.len()];
    let mut caught_late = vec![false; heavy.len()];
    let mut one_shot_flagged = 0u64;
    let before = allocated();
    const N: u64 = 10_000_000;
    for i in 0..N {
        let now = i / 10;
        // A bijection on u32 (odd multiplier, then xor-shift): distinct
        // addresses for i < 2^32, spread over all /24s.
        let x = (i as u32).wrapping_mul(0x9e37_79b1);
        let x = x ^ (x >> 15);
        let ip = IpAddr::V4(Ipv4Addr::from(x));
        let a = t.connect(ip, now);
        // (Addresses that share a heavy sender's /24 are advised for their
        // network: rightly, but they are not one-shot clients on their own.)
        if a != Advice::Accept && !heavy_nets.contains(&(x >> 8)) {
            one_shot_flagged += 1;
        }
        for (k, &(h, period)) in heavy.iter().enumerate() {
            if i % period == period - 1 {
                let a = t.connect(h, now);
                worst[k] = worst[k].max(a);
                if i > N - 1_000_000 && a != Advice::Accept {
                    caught_late[k] = true;
                }
            }
        }
        if i % 1_000_003 == 0 {
            assert_eq!(t.memory_bytes(), footprint);
        }
    }
    assert_eq!(allocated() - before, 0, "events allocated memory");
    assert_eq!(t.memory_bytes(), footprint);
    assert!(t.memory_bytes() <= BOUND);
    for (k, (ip, period)) in heavy.iter().enumerate() {
        assert!(
            worst[k] == Advice::Tempfail && caught_late[k],
            "heavy sender {ip} (every {period} events): worst {:?}, caught late {}",
            worst[k],
            caught_late[k]
        );
        assert_ne!(t.advice(*ip, N / 10), Advice::Accept, "{ip}");
    }
    // A /24 holds about 0.6 of the 10M addresses spread over 2^24 nets:
    // nobody else gets near a limit.
    assert_eq!(one_shot_flagged, 0);
    let stats = t.stats();
    assert!(stats.host_evictions > 1_000_000, "{stats:?}");
    let (live_hosts, _) = t.live(N / 10);
    assert!(live_hosts <= host_slots);
}

#[test]
fn counts_slide_out_of_the_window() {
    let config = Config {
        window_ms: 60_000,
        buckets: 6,
        ..conn_limit(5)
    };
    let mut t = Throttle::new(&config).unwrap();
    let ip = v4("192.0.2.1");
    for s in 0..6u64 {
        t.connect(ip, s * 10_000);
    }
    // Six connections, one per 10 s bucket.
    assert_eq!(t.counts(ip, Scope::Host, 59_999).connections, 6);
    assert_eq!(t.advice(ip, 59_999), Advice::Delay(1_000));
    // Each bucket falls out of the window in turn.
    assert_eq!(t.counts(ip, Scope::Host, 60_000).connections, 5);
    assert_eq!(t.advice(ip, 60_000), Advice::Accept);
    assert_eq!(t.counts(ip, Scope::Host, 85_000).connections, 3);
    assert_eq!(t.counts(ip, Scope::Host, 109_999).connections, 1);
    assert_eq!(t.counts(ip, Scope::Host, 110_000).connections, 0);
    // The read-only queries did not move time: an event at 60 s counts
    // with the five buckets still in the window.
    assert_eq!(t.connect(ip, 60_500), Advice::Delay(1_000));
    assert_eq!(t.counts(ip, Scope::Host, 60_500).connections, 6);
    // A long silence clears everything.
    assert_eq!(t.connect(ip, 10_000_000), Advice::Accept);
    assert_eq!(t.counts(ip, Scope::Host, 10_000_000).connections, 1);
}

#[test]
fn networks_aggregate_at_24_and_64() {
    let config = Config {
        host: Rates::default(),
        net: Rates {
            messages: 10,
            ..Rates::default()
        },
        ..Config::default()
    };
    let mut t = Throttle::new(&config).unwrap();
    // Ten hosts of 192.0.2.0/24, one message each: at the limit.
    for h in 1..=10 {
        assert_eq!(
            t.message(v4(&format!("192.0.2.{h}")), 1, 1_000),
            Advice::Accept
        );
    }
    // A neighbour in another /24 is not counted with them.
    assert_eq!(t.message(v4("192.0.3.1"), 1, 1_000), Advice::Accept);
    assert_eq!(t.counts(v4("192.0.3.1"), Scope::Network, 1_000).messages, 1);
    // The eleventh in the /24, a new host, is delayed for its network.
    assert_eq!(t.message(v4("192.0.2.99"), 1, 1_000), Advice::Delay(1_000));
    assert_eq!(
        t.counts(v4("192.0.2.250"), Scope::Network, 1_000).messages,
        11
    );
    assert_eq!(t.counts(v4("192.0.2.250"), Scope::Host, 1_000).messages, 0);
    // And a host of the /24 that sent nothing is advised the same.
    assert_eq!(t.advice(v4("192.0.2.250"), 1_000), Advice::Delay(1_000));

    // IPv6: every address of a /64 is one network; the next /64 is not.
    for h in 0..10u16 {
        let ip = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, h, h, h, h));
        assert_eq!(t.message(ip, 3, 2_000), Advice::Accept);
    }
    let other = "2001:db8:1:3::1".parse().unwrap();
    assert_eq!(t.message(other, 1, 2_000), Advice::Accept);
    let same = "2001:db8:1:2:ffff::".parse().unwrap();
    assert_eq!(t.message(same, 1, 2_000), Advice::Delay(1_000));
    let net = t.counts(same, Scope::Network, 2_000);
    assert_eq!((net.messages, net.recipients), (11, 31));
    // IPv4-mapped IPv6 is the IPv4 client.
    let mapped: IpAddr = "::ffff:192.0.2.99".parse().unwrap();
    assert_eq!(t.counts(mapped, Scope::Host, 2_000).messages, 1);
}

#[test]
fn prefixes_are_configurable() {
    let config = Config {
        v4_prefix: 16,
        v6_prefix: 48,
        host: Rates::default(),
        net: Rates {
            connections: 1,
            ..Rates::default()
        },
        ..Config::default()
    };
    let mut t = Throttle::new(&config).unwrap();
    t.connect(v4("10.1.2.3"), 0);
    assert_eq!(t.connect(v4("10.1.200.3"), 0), Advice::Tempfail);
    assert_eq!(t.connect(v4("10.2.0.1"), 0), Advice::Accept);
    t.connect("2001:db8:1:1::1".parse().unwrap(), 0);
    assert_eq!(
        t.connect("2001:db8:1:ffff::1".parse().unwrap(), 0),
        Advice::Tempfail
    );
    // /0 puts everyone in one network; /32 and /128 make each host one.
    for (p4, p6, same) in [(0, 0, true), (32, 128, false)] {
        let mut t = Throttle::new(&Config {
            v4_prefix: p4,
            v6_prefix: p6,
            ..config
        })
        .unwrap();
        t.connect(v4("10.0.0.1"), 0);
        let a = t.connect(v4("172.16.0.1"), 0);
        assert_eq!(a != Advice::Accept, same, "/{p4}");
        t.connect("2001:db8::1".parse().unwrap(), 0);
        let a = t.connect("2001:db8::2".parse().unwrap(), 0);
        assert_eq!(a != Advice::Accept, same, "/{p6}");
    }
}

#[test]
fn time_going_backwards_is_handled() {
    let mut t = Throttle::new(&conn_limit(3)).unwrap();
    let ip = v4("192.0.2.5");
    // Jitter from racing callers (less than the window): the event counts
    // at the latest time seen.
    t.connect(ip, 50_000);
    t.connect(ip, 49_990);
    t.connect(ip, 20_000);
    assert_eq!(t.counts(ip, Scope::Host, 50_000).connections, 3);
    assert_eq!(t.counts(ip, Scope::Host, 0).connections, 3);
    // They age out with the latest time, not their own.
    assert_eq!(t.counts(ip, Scope::Host, 100_000).connections, 3);
    assert_eq!(t.counts(ip, Scope::Host, 110_000).connections, 0);
    // A reset of the caller's clock (back by more than the window): time
    // carries on from where it was, and the window still works.
    let mut t = Throttle::new(&conn_limit(3)).unwrap();
    for now in [1_000_000, 1_000_001, 1_000_002] {
        t.connect(ip, now);
    }
    assert_eq!(t.connect(ip, 5), Advice::Delay(1_000));
    assert_eq!(t.counts(ip, Scope::Host, 5).connections, 4);
    assert_eq!(t.counts(ip, Scope::Host, 30_005).connections, 4);
    assert_eq!(t.counts(ip, Scope::Host, 60_005).connections, 0);
    assert_eq!(t.connect(ip, 60_005), Advice::Accept);
    // The extremes of u64 do not panic.
    for now in [u64::MAX, 0, u64::MAX - 1, 1, u64::MAX / 2, u64::MAX] {
        t.connect(ip, now);
        t.message(ip, u32::MAX, now);
        t.verdict(ip, true, now);
        let _ = t.advice(ip, now);
    }
    assert_eq!(t.counts(ip, Scope::Host, u64::MAX).recipients, u32::MAX);
    // With 1 ms buckets the bucket index itself reaches the end of u64
    // (found by the fuzzer: `index + buckets` overflowed).
    let mut t = Throttle::new(&Config {
        window_ms: 6,
        buckets: 6,
        ..conn_limit(1)
    })
    .unwrap();
    for now in [u64::MAX - 3, u64::MAX, u64::MAX - 100, 5, u64::MAX] {
        t.connect(ip, now);
        let _ = t.advice(ip, now);
    }
    assert!(t.counts(ip, Scope::Host, u64::MAX).connections >= 1);
    assert_ne!(t.advice(ip, u64::MAX), Advice::Accept);
}

#[test]
fn the_advice_ladder() {
    let config = Config {
        policy: Policy {
            delay_ms: 500,
            max_delay_ms: 2_000,
            tempfail_percent: 300,
            reject_percent: 500,
            zombie_percent: 0,
        },
        ..conn_limit(4)
    };
    let mut t = Throttle::new(&config).unwrap();
    let ip = v4("192.0.2.9");
    let got: Vec<Advice> = (0..22).map(|_| t.connect(ip, 0)).collect();
    let mut want = vec![Advice::Accept; 4];
    want.extend([500, 1_000, 1_500, 2_000, 2_000, 2_000, 2_000].map(Advice::Delay));
    want.extend([Advice::Tempfail; 8]); // 12..19: 300% to 499%
    want.extend([Advice::Reject; 3]); // 20..: 500%
    assert_eq!(got, want);
    // A 0 limit is no limit; an ordered Advice.
    let mut free = Throttle::new(&conn_limit(0)).unwrap();
    assert!((0..1_000).all(|_| free.connect(ip, 0) == Advice::Accept));
    assert!(Advice::Accept < Advice::Delay(1));
    assert!(Advice::Delay(1) < Advice::Delay(2));
    assert!(Advice::Delay(u32::MAX) < Advice::Tempfail);
    assert!(Advice::Tempfail < Advice::Reject);
}

#[test]
fn zombies_escalate() {
    let mut config = Config {
        host: Rates {
            connections: 5,
            messages: 5,
            recipients: 50,
            spam: 3,
        },
        ..Config::default()
    };
    config.policy.zombie_percent = 80;
    let mut t = Throttle::new(&config).unwrap();
    let zombie = v4("198.51.100.66");
    let relay = v4("198.51.100.25");
    // Both connect six times and send six messages, one over the limits.
    for i in 0..6 {
        t.connect(zombie, i * 100);
        t.message(zombie, 1, i * 100 + 10);
        t.connect(relay, i * 100);
        t.message(relay, 1, i * 100 + 10);
    }
    assert_eq!(t.advice(relay, 1_000), Advice::Delay(1_000));
    assert_eq!(t.advice(zombie, 1_000), Advice::Delay(1_000));
    // The relay's mail is ham but for one; the zombie's is all spam.
    t.verdict(relay, true, 1_000);
    for _ in 0..5 {
        t.verdict(relay, false, 1_000);
    }
    assert_eq!(t.advice(relay, 1_000), Advice::Delay(1_000));
    let steps: Vec<Advice> = (0..6).map(|_| t.verdict(zombie, true, 1_000)).collect();
    // 1..4 spam of 6 messages: under 80%, but the 4th is over the spam
    // limit of 3 (a delay); the 5th makes 83%: a zombie, escalated; the
    // 6th is twice the spam limit (tempfail), escalated to reject.
    assert_eq!(
        steps,
        [
            Advice::Delay(1_000),
            Advice::Delay(1_000),
            Advice::Delay(1_000),
            Advice::Delay(1_000),
            Advice::Tempfail,
            Advice::Reject
        ]
    );
    // A client under every limit is accepted even when all its mail is
    // spam: escalation needs a limit crossed.
    let quiet = v4("203.0.113.1");
    t.message(quiet, 1, 1_000);
    assert_eq!(t.verdict(quiet, true, 1_000), Advice::Accept);
}

#[test]
fn bad_configs_are_refused() {
    let ok = Config::default();
    assert!(Throttle::new(&ok).is_ok());
    for bad in [
        Config { buckets: 0, ..ok },
        Config { buckets: 65, ..ok },
        Config {
            window_ms: 5,
            buckets: 6,
            ..ok
        },
        Config {
            host_slots: 0,
            ..ok
        },
        Config {
            net_slots: Config::MAX_SLOTS + 1,
            ..ok
        },
        Config {
            v4_prefix: 33,
            ..ok
        },
        Config {
            v6_prefix: 129,
            ..ok
        },
    ] {
        let e = Throttle::new(&bad).unwrap_err();
        assert!(!e.to_string().is_empty());
    }
    // Memory follows the capacity, rounded up to sets of 8.
    let small = Throttle::new(&Config {
        host_slots: 1,
        net_slots: 9,
        ..ok
    })
    .unwrap();
    assert_eq!(small.capacity(), (8, 16));
    let big = Config {
        host_slots: 1 << 20,
        net_slots: 1 << 20,
        ..ok
    };
    assert!(big.memory_bytes() > 100 * small.memory_bytes());
    for budget in [1 << 16, 1 << 20, 100 << 20] {
        let c = ok.with_memory(budget);
        assert!(c.memory_bytes() <= budget, "{budget}");
        assert!(c.memory_bytes() * 10 > budget * 9, "{budget}: too small");
    }
}

/// Events recorded by the oracle: (bucket index, counts added).
type Event4 = (u64, [u32; 4]);

/// The exact oracle: every event kept, with the throttle's time semantics
/// (clamp small steps back; shift the clock on a reset) and window (a
/// count covers the buckets `cur - buckets < i <= cur`).
struct Oracle {
    config: Config,
    width: u64,
    latest: u64,
    skew: u64,
    events: HashMap<(Scope, u128), Vec<Event4>>,
}

impl Oracle {
    fn new(config: Config) -> Oracle {
        Oracle {
            width: config.window_ms / u64::from(config.buckets),
            config,
            latest: 0,
            skew: 0,
            events: HashMap::new(),
        }
    }

    fn key(&self, ip: IpAddr, scope: Scope) -> u128 {
        let (bits, len) = match ip.to_canonical() {
            IpAddr::V4(a) => (u128::from(a.to_ipv6_mapped()), 96 + self.config.v4_prefix),
            IpAddr::V6(a) => (u128::from(a), self.config.v6_prefix),
        };
        match scope {
            Scope::Host => bits,
            Scope::Network if len == 0 => 0,
            Scope::Network => bits & (u128::MAX << (128 - u32::from(len))),
        }
    }

    fn add(&mut self, ip: IpAddr, now: u64, add: [u32; 4]) {
        let t = now.saturating_add(self.skew);
        if t < self.latest {
            if self.latest - t > self.config.window_ms {
                self.skew += self.latest - t;
            }
        } else {
            self.latest = t;
        }
        if add == [0; 4] {
            return;
        }
        let bucket = self.latest / self.width;
        for scope in [Scope::Host, Scope::Network] {
            let k = self.key(ip, scope);
            self.events
                .entry((scope, k))
                .or_default()
                .push((bucket, add));
        }
    }

    fn counts(&self, ip: IpAddr, scope: Scope, now: u64) -> Rates {
        let cur = now.saturating_add(self.skew).max(self.latest) / self.width;
        let b = u64::from(self.config.buckets);
        let mut c = [0u32; 4];
        for (bucket, add) in self
            .events
            .get(&(scope, self.key(ip, scope)))
            .into_iter()
            .flatten()
        {
            if bucket + b > cur {
                for i in 0..4 {
                    c[i] = c[i].saturating_add(add[i]);
                }
            }
        }
        Rates {
            connections: c[0],
            messages: c[1],
            recipients: c[2],
            spam: c[3],
        }
    }
}

#[derive(Debug, Clone)]
enum Event {
    Connect(usize),
    Message(usize, u32),
    Verdict(usize, bool),
}

fn pool() -> Vec<IpAddr> {
    // Eight hosts (one set's worth: nothing is ever evicted) in five
    // networks, IPv4 and IPv6.
    [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
        "198.51.100.1",
        "2001:db8::1",
        "2001:db8::2",
        "2001:db8:0:1::1",
        "::ffff:203.0.113.1",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect()
}

fn event() -> impl Strategy<Value = (Event, u64)> {
    let ev = prop_oneof![
        (0..8usize).prop_map(Event::Connect),
        (0..8usize, 0..50u32).prop_map(|(i, r)| Event::Message(i, r)),
        (0..8usize, any::<bool>()).prop_map(|(i, s)| Event::Verdict(i, s)),
    ];
    // Time steps: mostly forward, sometimes a little or a lot back.
    let step = prop_oneof![
        6 => 0..20_000i64,
        1 => -15_000..0i64,
        1 => -200_000..-61_000i64,
        1 => 60_000..500_000i64,
    ];
    (ev, step).prop_map(|(e, s)| (e, s as u64))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn matches_an_exact_oracle_when_not_full(
        events in proptest::collection::vec(event(), 1..200),
        buckets in 1u32..10,
        window_s in 1u64..100,
        start in 0u64..1_000_000,
    ) {
        let config = Config {
            window_ms: window_s * 1_000,
            buckets,
            host_slots: 8,
            net_slots: 8,
            ..Config::default()
        };
        let mut t = Throttle::new(&config).unwrap();
        let mut o = Oracle::new(config);
        let ips = pool();
        let mut now = start;
        for (e, step) in events {
            now = now.wrapping_add(step).min(10_000_000_000);
            let (ip, add, got) = match e {
                Event::Connect(i) => (ips[i], [1, 0, 0, 0], t.connect(ips[i], now)),
                Event::Message(i, r) => (ips[i], [0, 1, r, 0], t.message(ips[i], r, now)),
                Event::Verdict(i, s) => (ips[i], [0, 0, 0, u32::from(s)], t.verdict(ips[i], s, now)),
            };
            o.add(ip, now, add);
            prop_assert_eq!(got, t.advice(ip, now));
            for &ip in &ips {
                for scope in [Scope::Host, Scope::Network] {
                    for later in [now, now + 1_000, now + 30_000] {
                        prop_assert_eq!(
                            t.counts(ip, scope, later),
                            o.counts(ip, scope, later),
                            "{} {:?} at {}", ip, scope, later
                        );
                    }
                }
            }
        }
        prop_assert_eq!(t.stats().host_evictions + t.stats().net_evictions, 0);
    }
}

/// The C ABI, called from Rust as C would call it.
mod capi {
    use std::ffi::CStr;
    use std::ptr;

    use filter::capi::*;

    fn last_error() -> String {
        // SAFETY: lf_last_error returns a NUL-terminated string.
        unsafe { CStr::from_ptr(lf_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    fn new(config: Option<&lf_throttle_config>) -> *mut lf_throttle {
        let mut t = ptr::null_mut();
        let c = config.map_or(ptr::null(), |c| c as *const _);
        assert_eq!(lf_throttle_new(c, &mut t), lf_status::LF_OK);
        assert!(!t.is_null());
        t
    }

    #[test]
    fn events_and_advice() {
        let mut c = unsafe_zeroed_config();
        assert_eq!(lf_throttle_config_default(&mut c), lf_status::LF_OK);
        assert_eq!(
            (c.window_ms, c.buckets, c.v4_prefix, c.v6_prefix),
            (60_000, 6, 24, 64)
        );
        c.host.connections = 2;
        c.net.connections = 0;
        let t = new(Some(&c));
        assert_eq!(lf_throttle_memory(t), lf_throttle_config_memory(&c));
        assert!(lf_throttle_memory(t) > 0);
        let mut a = lf_advice::LF_ADVICE_REJECT;
        let mut ms = 99u32;
        let ip = c"192.0.2.1".as_ptr();
        for now in [0, 1] {
            assert_eq!(
                lf_throttle_connect(t, ip, now, &mut a, &mut ms),
                lf_status::LF_OK
            );
            assert_eq!((a, ms), (lf_advice::LF_ADVICE_ACCEPT, 0));
        }
        assert_eq!(
            lf_throttle_connect(t, ip, 2, &mut a, &mut ms),
            lf_status::LF_OK
        );
        assert_eq!((a, ms), (lf_advice::LF_ADVICE_DELAY, 1_000));
        // delay_ms may be NULL.
        assert_eq!(
            lf_throttle_connect(t, c"[192.0.2.1]".as_ptr(), 3, &mut a, ptr::null_mut()),
            lf_status::LF_OK
        );
        assert_eq!(a, lf_advice::LF_ADVICE_TEMPFAIL);
        assert_eq!(
            lf_throttle_message(t, ip, 7, 4, &mut a, &mut ms),
            lf_status::LF_OK
        );
        assert_eq!(
            lf_throttle_verdict(t, ip, true, 5, &mut a, &mut ms),
            lf_status::LF_OK
        );
        // All of its mail is spam: a zombie over a limit, escalated.
        assert_eq!((a, ms), (lf_advice::LF_ADVICE_REJECT, 0));
        let mut host = lf_throttle_rates {
            connections: 9,
            messages: 9,
            recipients: 9,
            spam: 9,
        };
        let mut net = host;
        assert_eq!(
            lf_throttle_counts(t, ip, 5, &mut host, &mut net),
            lf_status::LF_OK
        );
        assert_eq!(
            host,
            lf_throttle_rates {
                connections: 4,
                messages: 1,
                recipients: 7,
                spam: 1
            }
        );
        assert_eq!(net, host);
        // A minute later, all forgotten.
        assert_eq!(
            lf_throttle_advice(t, ip, 70_000, &mut a, &mut ms),
            lf_status::LF_OK
        );
        assert_eq!(a, lf_advice::LF_ADVICE_ACCEPT);
        // IPv6, in the SMTP literal form too.
        for s in [c"2001:db8::1", c"IPv6:2001:db8::1", c"[IPv6:2001:db8::1]"] {
            assert_eq!(
                lf_throttle_connect(t, s.as_ptr(), 70_000, &mut a, &mut ms),
                lf_status::LF_OK,
                "{s:?}"
            );
        }
        assert_eq!(
            lf_throttle_advice(t, c"2001:db8::1".as_ptr(), 70_000, &mut a, &mut ms),
            lf_status::LF_OK
        );
        assert_eq!((a, ms), (lf_advice::LF_ADVICE_DELAY, 1_000));
        lf_throttle_free(t);
    }

    fn unsafe_zeroed_config() -> lf_throttle_config {
        lf_throttle_config {
            window_ms: 0,
            buckets: 0,
            host_slots: 0,
            net_slots: 0,
            v4_prefix: 0,
            v6_prefix: 0,
            host: lf_throttle_rates {
                connections: 0,
                messages: 0,
                recipients: 0,
                spam: 0,
            },
            net: lf_throttle_rates {
                connections: 0,
                messages: 0,
                recipients: 0,
                spam: 0,
            },
            delay_ms: 0,
            max_delay_ms: 0,
            tempfail_percent: 0,
            reject_percent: 0,
            zombie_percent: 0,
            seed: 0,
        }
    }

    #[test]
    fn nulls_and_bad_input() {
        let mut out = ptr::dangling_mut::<lf_throttle>();
        // A zeroed config is invalid (0 buckets); out is reset to NULL.
        let c = unsafe_zeroed_config();
        assert_eq!(lf_throttle_new(&c, &mut out), lf_status::LF_ERR_INVALID);
        assert!(out.is_null());
        assert!(last_error().contains("buckets"), "{}", last_error());
        assert_eq!(
            lf_throttle_new(ptr::null(), ptr::null_mut()),
            lf_status::LF_ERR_NULL
        );
        assert_eq!(
            lf_throttle_config_default(ptr::null_mut()),
            lf_status::LF_ERR_NULL
        );
        assert_eq!(lf_throttle_config_memory(ptr::null()), 0);
        assert_eq!(lf_throttle_memory(ptr::null()), 0);
        lf_throttle_free(ptr::null_mut());

        let t = new(None);
        let ip = c"192.0.2.1".as_ptr();
        let mut a = lf_advice::LF_ADVICE_ACCEPT;
        let mut ms = 0u32;
        let nul = ptr::null_mut();
        assert_eq!(
            lf_throttle_connect(nul, ip, 0, &mut a, &mut ms),
            lf_status::LF_ERR_NULL
        );
        assert_eq!(
            lf_throttle_connect(t, ptr::null(), 0, &mut a, &mut ms),
            lf_status::LF_ERR_NULL
        );
        assert_eq!(
            lf_throttle_connect(t, ip, 0, ptr::null_mut(), &mut ms),
            lf_status::LF_ERR_NULL
        );
        assert_eq!(
            lf_throttle_message(nul, ip, 1, 0, &mut a, &mut ms),
            lf_status::LF_ERR_NULL
        );
        assert_eq!(
            lf_throttle_verdict(nul, ip, true, 0, &mut a, &mut ms),
            lf_status::LF_ERR_NULL
        );
        assert_eq!(
            lf_throttle_advice(ptr::null(), ip, 0, &mut a, &mut ms),
            lf_status::LF_ERR_NULL
        );
        let mut r = lf_throttle_rates {
            connections: 0,
            messages: 0,
            recipients: 0,
            spam: 0,
        };
        assert_eq!(
            lf_throttle_counts(t, ip, 0, ptr::null_mut(), &mut r),
            lf_status::LF_ERR_NULL
        );
        assert_eq!(
            lf_throttle_counts(t, ip, 0, &mut r, ptr::null_mut()),
            lf_status::LF_ERR_NULL
        );
        for bad in [
            c"",
            c"localhost",
            c"192.0.2",
            c"300.1.1.1",
            c"[192.0.2.1",
            c"\xff",
        ] {
            assert_eq!(
                lf_throttle_connect(t, bad.as_ptr(), 0, &mut a, &mut ms),
                lf_status::LF_ERR_INVALID,
                "{bad:?}"
            );
        }
        // Nothing was counted by the failed calls.
        let mut net = r;
        assert_eq!(
            lf_throttle_counts(t, ip, 0, &mut r, &mut net),
            lf_status::LF_OK
        );
        assert_eq!(r.connections, 0);
        lf_throttle_free(t);
    }
}
