#![no_main]
//! Random event sequences against `filter::throttle`: random addresses
//! (IPv4 and IPv6, from a small pool so that keys repeat, or anywhere),
//! times that step forward, back a little, back a lot or jump to the ends
//! of u64, and a small table so that sets overflow. Nothing may panic, the
//! footprint must stay what the configuration says, and counts must never
//! exceed what was fed in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use filter::throttle::{Advice, Config, Rates, Scope, Throttle};

fn take<const N: usize>(data: &mut &[u8]) -> Option<[u8; N]> {
    let (head, tail) = data.split_first_chunk::<N>()?;
    *data = tail;
    Some(*head)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut data = data;
    let Some(head) = take::<6>(&mut data) else {
        return;
    };
    let config = Config {
        window_ms: 1 + u64::from(u16::from_le_bytes([head[0], head[1]])) * 10,
        buckets: 1 + u32::from(head[2] % 64),
        host_slots: 1 + usize::from(head[3] % 32),
        net_slots: 1 + usize::from(head[4] % 32),
        v4_prefix: head[5] % 33,
        v6_prefix: (head[5] / 2) % 129,
        host: Rates {
            connections: 3,
            messages: 2,
            recipients: 10,
            spam: 1,
        },
        ..Config::default()
    };
    let config = Config {
        window_ms: config.window_ms.max(u64::from(config.buckets)),
        ..config
    };
    let Ok(mut t) = Throttle::new(&config) else {
        return;
    };
    let bound = config.memory_bytes();
    assert_eq!(t.memory_bytes(), bound);
    let mut now: u64 = 1 << 40;
    let mut fed: u64 = 0;
    while let Some(ev) = take::<8>(&mut data) {
        let ip = match ev[0] % 4 {
            0 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, ev[1] % 8)),
            1 => IpAddr::V4(Ipv4Addr::new(ev[1], ev[2], ev[3], ev[4])),
            2 => IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                u16::from(ev[1] % 4),
                0,
                0,
                0,
                u16::from(ev[2]),
            )),
            _ => IpAddr::V6(Ipv6Addr::from(
                u128::from(u32::from_le_bytes([ev[1], ev[2], ev[3], ev[4]])) << 64,
            )),
        };
        let step = u64::from(u16::from_le_bytes([ev[5], ev[6]]));
        now = match ev[7] % 8 {
            0..=3 => now.saturating_add(step),
            4 => now.saturating_sub(step),
            5 => now.saturating_sub(step * 1_000_000),
            6 => now.saturating_add(step * 1_000_000),
            _ => {
                if step % 2 == 0 {
                    0
                } else {
                    u64::MAX - step
                }
            }
        };
        let a = match (ev[0] >> 2) % 5 {
            0 => t.connect(ip, now),
            1 => t.message(ip, u32::from(ev[3]), now),
            2 => t.verdict(ip, ev[4] % 2 == 0, now),
            3 => t.advice(ip, now),
            _ => t.recipients(ip, u32::from(ev[2]), now),
        };
        fed += 1 + u64::from(ev[3]).max(u64::from(ev[2]));
        if let Advice::Delay(ms) = a {
            assert!(ms <= config.policy.max_delay_ms);
        }
        assert_eq!(a, t.advice(ip, now));
        for scope in [Scope::Host, Scope::Network] {
            let c = t.counts(ip, scope, now);
            assert!(u64::from(c.connections) + u64::from(c.messages) + u64::from(c.spam) <= fed);
        }
        assert_eq!(t.memory_bytes(), bound);
    }
    let (h, n) = t.live(now);
    let (hc, nc) = t.capacity();
    assert!(h <= hc && n <= nc);
});
