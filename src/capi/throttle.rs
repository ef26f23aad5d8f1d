//! `lf_throttle`: per-client rate limits and tar-pit advice, from C.
//!
//! A milter or an MTA makes one throttle per process with
//! `lf_throttle_new`, reports connections, messages and verdicts as they
//! happen with the time from its own monotonic clock, and acts on the
//! `lf_advice` that comes back: carry on, stall the client for
//! `delay_ms`, answer 4xx, or answer 5xx. The library never reads a clock
//! and never sleeps. The handle is mutable state and NOT thread-safe: a
//! multi-threaded caller serializes every call on one handle (a mutex
//! around it); calls are short (a few hash probes).

use std::ffi::c_char;
use std::net::IpAddr;

use super::{Fail, boundary, boundary_or, cstr, handle, handle_mut, lf_status, put, put_box};
use crate::throttle::{Advice, Config, Policy, Rates, Scope, Throttle};

/// A per-client throttle. Opaque; create with `lf_throttle_new`.
pub struct lf_throttle {
    inner: Throttle,
}

/// What the throttle advises.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lf_advice {
    /// Carry on.
    LF_ADVICE_ACCEPT = 0,
    /// Stall the client for the delay given alongside (a tar pit), then
    /// carry on.
    LF_ADVICE_DELAY = 1,
    /// Answer with a temporary failure (4xx).
    LF_ADVICE_TEMPFAIL = 2,
    /// Refuse (5xx).
    LF_ADVICE_REJECT = 3,
}

/// Limits per window for one scope (a host or a network). 0 means no
/// limit.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct lf_throttle_rates {
    /// SMTP connections.
    pub connections: u32,
    /// Messages.
    pub messages: u32,
    /// Recipients, summed over the messages.
    pub recipients: u32,
    /// Spam verdicts.
    pub spam: u32,
}

/// The configuration of a throttle. Fill it with
/// `lf_throttle_config_default`, then change what you need.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct lf_throttle_config {
    /// The sliding window, in milliseconds (at least `buckets`).
    pub window_ms: u64,
    /// Time buckets per window, 1 to 64.
    pub buckets: u32,
    /// Slots in the host table (rounded up to a multiple of 8; 1 to 2^24).
    pub host_slots: usize,
    /// Slots in the network table (likewise).
    pub net_slots: usize,
    /// The network of an IPv4 client: its first this many bits (0 to 32).
    pub v4_prefix: u8,
    /// The network of an IPv6 client: its first this many bits (0 to 128).
    pub v6_prefix: u8,
    /// Limits per client address.
    pub host: lf_throttle_rates,
    /// Limits per client network.
    pub net: lf_throttle_rates,
    /// Delay for each event over a limit, in milliseconds.
    pub delay_ms: u32,
    /// The longest delay advised.
    pub max_delay_ms: u32,
    /// At this percentage of a limit, a temporary failure (0: never).
    pub tempfail_percent: u32,
    /// At this percentage of a limit, a rejection (0: never on volume).
    pub reject_percent: u32,
    /// Spam verdicts at least this percentage of the messages make a
    /// zombie, whose advice is escalated one step when over a limit (0:
    /// never).
    pub zombie_percent: u32,
    /// Seeds the table hash; pick it at random when the process starts.
    pub seed: u64,
}

fn rates_to_c(r: Rates) -> lf_throttle_rates {
    lf_throttle_rates {
        connections: r.connections,
        messages: r.messages,
        recipients: r.recipients,
        spam: r.spam,
    }
}

fn rates_from_c(r: lf_throttle_rates) -> Rates {
    Rates {
        connections: r.connections,
        messages: r.messages,
        recipients: r.recipients,
        spam: r.spam,
    }
}

fn config_to_c(c: &Config) -> lf_throttle_config {
    lf_throttle_config {
        window_ms: c.window_ms,
        buckets: c.buckets,
        host_slots: c.host_slots,
        net_slots: c.net_slots,
        v4_prefix: c.v4_prefix,
        v6_prefix: c.v6_prefix,
        host: rates_to_c(c.host),
        net: rates_to_c(c.net),
        delay_ms: c.policy.delay_ms,
        max_delay_ms: c.policy.max_delay_ms,
        tempfail_percent: c.policy.tempfail_percent,
        reject_percent: c.policy.reject_percent,
        zombie_percent: c.policy.zombie_percent,
        seed: c.seed,
    }
}

fn config_from_c(c: &lf_throttle_config) -> Config {
    Config {
        window_ms: c.window_ms,
        buckets: c.buckets,
        host_slots: c.host_slots,
        net_slots: c.net_slots,
        v4_prefix: c.v4_prefix,
        v6_prefix: c.v6_prefix,
        host: rates_from_c(c.host),
        net: rates_from_c(c.net),
        policy: Policy {
            delay_ms: c.delay_ms,
            max_delay_ms: c.max_delay_ms,
            tempfail_percent: c.tempfail_percent,
            reject_percent: c.reject_percent,
            zombie_percent: c.zombie_percent,
        },
        seed: c.seed,
    }
}

/// A client address in text: `192.0.2.1`, `2001:db8::1`, either of them in
/// brackets, or with an `IPv6:` prefix (as in an SMTP address literal).
fn parse_ip(p: *const c_char) -> Result<IpAddr, Fail> {
    // SAFETY: `p` is NULL (checked) or NUL-terminated, as documented.
    let b = unsafe { cstr(p, "ip") }?;
    let s = std::str::from_utf8(b).map_err(|_| Fail::invalid("ip is not an IP address"))?;
    let s = s.trim();
    let s = s
        .strip_prefix('[')
        .and_then(|s| s.strip_suffix(']'))
        .unwrap_or(s);
    let s = s
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("ipv6:"))
        .map_or(s, |_| &s[5..]);
    s.parse()
        .map_err(|_| Fail::invalid(format!("ip {s:?} is not an IP address")))
}

/// Writes the advice (and its delay, 0 unless a delay) to the
/// out-parameters.
fn give(a: Advice, advice: *mut lf_advice, delay_ms: *mut u32) -> super::Res {
    let (code, ms) = match a {
        Advice::Accept => (lf_advice::LF_ADVICE_ACCEPT, 0),
        Advice::Delay(ms) => (lf_advice::LF_ADVICE_DELAY, ms),
        Advice::Tempfail => (lf_advice::LF_ADVICE_TEMPFAIL, 0),
        Advice::Reject => (lf_advice::LF_ADVICE_REJECT, 0),
    };
    // SAFETY: `advice` is NULL (checked) or writable, as documented.
    unsafe { put(advice, code, "advice") }?;
    if !delay_ms.is_null() {
        // SAFETY: non-NULL and writable, as documented.
        unsafe { put(delay_ms, ms, "delay_ms") }?;
    }
    Ok(())
}

/// Fills `*out` with the default configuration: a 60 s window in 6
/// buckets, 16384 slots per table, per host 60 connections, 120 messages,
/// 600 recipients and 10 spam verdicts per window, per network five times
/// that; 1000 ms of delay per event over a limit up to 30000 ms, tempfail
/// at 200% of a limit, no rejection on volume, zombies at 80% spam.
///
/// `out` must not be NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_throttle_config_default(out: *mut lf_throttle_config) -> lf_status {
    boundary(|| {
        // SAFETY: `out` is NULL (checked) or writable, as documented.
        unsafe { put(out, config_to_c(&Config::default()), "out") }
    })
}

/// The bytes a throttle made with `*config` would hold (what
/// `lf_throttle_memory` will report), or 0 when `config` is NULL.
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_throttle_config_memory(config: *const lf_throttle_config) -> usize {
    boundary_or(0, || {
        // SAFETY: `config` is NULL (checked) or readable, as documented.
        match unsafe { config.as_ref() } {
            Some(c) => config_from_c(c).memory_bytes(),
            None => 0,
        }
    })
}

/// Makes a throttle, allocating all its memory now. `config` may be NULL
/// for the defaults. On success `*out` is a new handle owned by the
/// caller, to be freed with `lf_throttle_free`.
///
/// `out` must not be NULL. `LF_ERR_INVALID` for a configuration out of
/// range (the message says which field). The handle is NOT thread-safe:
/// serialize all calls on it.
#[unsafe(no_mangle)]
pub extern "C" fn lf_throttle_new(
    config: *const lf_throttle_config,
    out: *mut *mut lf_throttle,
) -> lf_status {
    boundary(|| {
        if !out.is_null() {
            // SAFETY: non-NULL and writable, as documented.
            unsafe { out.write(std::ptr::null_mut()) };
        }
        // SAFETY: `config` is NULL (checked) or readable, as documented.
        let c = match unsafe { config.as_ref() } {
            Some(c) => config_from_c(c),
            None => Config::default(),
        };
        if out.is_null() {
            return Err(Fail::null("out"));
        }
        let inner = Throttle::new(&c).map_err(|e| Fail::invalid(e.to_string()))?;
        // SAFETY: checked non-NULL above.
        unsafe { put_box(out, Box::new(lf_throttle { inner }), "out") }
    })
}

/// Frees a throttle. NULL is a no-op. `t` must not be used afterwards, nor
/// concurrently.
#[unsafe(no_mangle)]
pub extern "C" fn lf_throttle_free(t: *mut lf_throttle) {
    boundary_or((), || {
        if !t.is_null() {
            // SAFETY: `t` came from lf_throttle_new and is freed once, as
            // documented.
            drop(unsafe { Box::from_raw(t) });
        }
    })
}

fn event(
    t: *mut lf_throttle,
    ip: *const c_char,
    now_ms: u64,
    advice: *mut lf_advice,
    delay_ms: *mut u32,
    f: impl FnOnce(&mut Throttle, IpAddr, u64) -> Advice,
) -> lf_status {
    boundary(|| {
        // SAFETY: `t` is NULL (checked) or a live handle the caller does
        // not use concurrently, as documented.
        let t = unsafe { handle_mut(t, "throttle") }?;
        let ip = parse_ip(ip)?;
        if advice.is_null() {
            return Err(Fail::null("advice"));
        }
        give(f(&mut t.inner, ip, now_ms), advice, delay_ms)
    })
}

/// Counts a connection from `ip` (NUL-terminated text: `192.0.2.1`,
/// `2001:db8::1`, optionally in brackets or with an `IPv6:` prefix) at
/// `now_ms` (the caller's monotonic clock, in milliseconds), and writes the
/// advice to `*advice` and, unless `delay_ms` is NULL, the delay for
/// `LF_ADVICE_DELAY` (else 0) to `*delay_ms`.
///
/// `t`, `ip` and `advice` must not be NULL. `LF_ERR_INVALID` when `ip` is
/// not an address (nothing is counted). NOT thread-safe: serialize calls
/// on one handle.
#[unsafe(no_mangle)]
pub extern "C" fn lf_throttle_connect(
    t: *mut lf_throttle,
    ip: *const c_char,
    now_ms: u64,
    advice: *mut lf_advice,
    delay_ms: *mut u32,
) -> lf_status {
    event(t, ip, now_ms, advice, delay_ms, |t, ip, now| {
        t.connect(ip, now)
    })
}

/// Counts a message with `recipients` recipients from `ip` at `now_ms`,
/// and advises, as `lf_throttle_connect`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_throttle_message(
    t: *mut lf_throttle,
    ip: *const c_char,
    recipients: u32,
    now_ms: u64,
    advice: *mut lf_advice,
    delay_ms: *mut u32,
) -> lf_status {
    event(t, ip, now_ms, advice, delay_ms, |t, ip, now| {
        t.message(ip, recipients, now)
    })
}

/// Records the verdict on a message from `ip` at `now_ms` (only spam
/// verdicts are counted), and advises, as `lf_throttle_connect`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_throttle_verdict(
    t: *mut lf_throttle,
    ip: *const c_char,
    spam: bool,
    now_ms: u64,
    advice: *mut lf_advice,
    delay_ms: *mut u32,
) -> lf_status {
    event(t, ip, now_ms, advice, delay_ms, |t, ip, now| {
        t.verdict(ip, spam, now)
    })
}

/// The advice for `ip` at `now_ms`, counting nothing; as
/// `lf_throttle_connect` otherwise. Reads the handle only, but must still
/// be serialized with the calls that change it.
#[unsafe(no_mangle)]
pub extern "C" fn lf_throttle_advice(
    t: *const lf_throttle,
    ip: *const c_char,
    now_ms: u64,
    advice: *mut lf_advice,
    delay_ms: *mut u32,
) -> lf_status {
    boundary(|| {
        // SAFETY: `t` is NULL (checked) or a live handle nothing changes
        // during the call, as documented.
        let t = unsafe { handle(t, "throttle") }?;
        let ip = parse_ip(ip)?;
        if advice.is_null() {
            return Err(Fail::null("advice"));
        }
        give(t.inner.advice(ip, now_ms), advice, delay_ms)
    })
}

/// The counts in the window at `now_ms` for `ip`'s own address (into
/// `*host`) and its network (into `*net`); zeros for a client the throttle
/// does not hold. None of the pointers may be NULL. Serialize with the
/// calls that change the handle.
#[unsafe(no_mangle)]
pub extern "C" fn lf_throttle_counts(
    t: *const lf_throttle,
    ip: *const c_char,
    now_ms: u64,
    host: *mut lf_throttle_rates,
    net: *mut lf_throttle_rates,
) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_throttle_advice.
        let t = unsafe { handle(t, "throttle") }?;
        let ip = parse_ip(ip)?;
        if host.is_null() || net.is_null() {
            return Err(Fail::null(if host.is_null() { "host" } else { "net" }));
        }
        let h = rates_to_c(t.inner.counts(ip, Scope::Host, now_ms));
        let n = rates_to_c(t.inner.counts(ip, Scope::Network, now_ms));
        // SAFETY: both checked non-NULL; writable, as documented.
        unsafe { put(host, h, "host") }?;
        // SAFETY: as above.
        unsafe { put(net, n, "net") }
    })
}

/// The bytes the throttle holds: fixed when it was made, whatever it has
/// seen since. 0 when `t` is NULL. Serialize with the calls that change
/// the handle.
#[unsafe(no_mangle)]
pub extern "C" fn lf_throttle_memory(t: *const lf_throttle) -> usize {
    boundary_or(0, || {
        // SAFETY: `t` is NULL (checked) or a live handle, as documented.
        unsafe { t.as_ref() }.map_or(0, |t| t.inner.memory_bytes())
    })
}
