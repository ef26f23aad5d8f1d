//! Per-client rate limits and tar-pit advice, with time supplied by the
//! caller.
//!
//! # What it is for
//!
//! A zombie PC of 2004 — a home broadband machine taken over by Sobig or
//! one of its cousins — sent its spam straight to the victim's MX, as fast
//! as the MX would take it, and usually from an address range full of other
//! zombies. What gave it away was not any one message but the rate: many
//! connections, many messages, many recipients and almost every message
//! judged spam, all from one address or one network. A [`Throttle`] counts
//! exactly those four things, per client IP address and per network (/24
//! for IPv4, /64 for IPv6, configurable), over a sliding window, and turns
//! the counts into [`Advice`]: accept, delay the client by so many
//! milliseconds (a tar pit: a slow server costs a zombie more than it costs
//! a real relay, which retries), answer with a temporary failure, or
//! reject.
//!
//! # Sans-IO, and who owns what
//!
//! The library never reads a clock and never sleeps. Every event carries
//! the caller's time in milliseconds (`now_ms`, from any monotonic clock
//! the caller likes), and a `Delay` is advice: the MTA decides how to
//! stall (sleep in a milter callback, hold the SMTP reply, or just answer
//! 450). A `Throttle` is mutable state, one per process: it is not part of
//! the immutable [`crate::Engine`], takes `&mut self` for events, and a
//! multi-threaded caller puts it behind a `Mutex`. Each event is a few
//! hash probes and a few dozen additions, so the lock is held briefly.
//!
//! Time from racing callers is not perfectly ordered: a thread may read
//! its clock, lose the race for the lock, and arrive after a later time
//! was seen. So a time earlier than the latest seen by less than the window
//! counts as the latest (the event lands in the current bucket). A step
//! back of more than the window means the caller's clock was reset: the
//! throttle shifts its idea of time so that it carries on from where it
//! was, and durations measured after the reset are right again. Nothing
//! panics, whatever times arrive; a jump far forward simply ages every
//! count out.
//!
//! # Bounded memory
//!
//! Botnets are large: a busy MX sees millions of distinct addresses a day,
//! and an attacker who controls a /64 has 2^64 of them. So the counters
//! live in two fixed tables (hosts, networks) whose sizes come from the
//! [`Config`] and which are allocated once, in [`Throttle::new`]: the
//! footprint, [`Throttle::memory_bytes`], is computed from the capacity and
//! never changes, whatever arrives. Each table is set-associative: a key
//! hashes (with a caller-chosen seed, so an outsider cannot aim at one
//! set) to a set of eight ways, and a new key takes a free or expired way
//! or, when all eight hold live keys, evicts the one with the least
//! evidence — the smallest event total in its window, the oldest on a tie.
//!
//! This is the eviction rule of the heavy-hitter algorithms (Space-Saving,
//! Metwally et al., 2005), applied within a set, without Space-Saving's
//! inherited count: a newcomer starts at zero rather than at its victim's
//! count. Inheriting would guarantee that every key above `N/capacity`
//! stays, but it would also charge an innocent newcomer with its victim's
//! events and delay it. Here counts are never over-estimated (advice is
//! never stricter than the exact counts warrant), and the price is
//! the converse: a flood of one-shot addresses competes only with other
//! one-shot addresses, since a key with two or more events in its window
//! outranks them all, but a heavy sender that is still at its first event
//! when eight newcomers hash to its set is forgotten and starts again.
//! Size the host table to hold the distinct clients seen between two
//! events of the slowest sender you want to catch. The test in
//! `tests/throttle.rs` sends ten million distinct addresses through a
//! table of 16,384 slots and still catches senders interleaved among them.
//!
//! Each entry keeps a ring of time buckets per counter (`buckets` of them,
//! each `window_ms / buckets` wide), so the window slides a bucket at a
//! time: a count covers the events of the last `window_ms`, to within one
//! bucket width.
//!
//! # The advice
//!
//! Each counter has a limit per host and per network ([`Rates`]; 0 means
//! no limit). A count at or below its limit is fine. Beyond it the client
//! is delayed by [`Policy::delay_ms`] for each event over the limit, up to
//! [`Policy::max_delay_ms`]; at [`Policy::tempfail_percent`] of the limit
//! it gets a temporary failure, at [`Policy::reject_percent`] a rejection
//! (0 turns either off). The worst of the host's and the network's advice
//! wins. A client that looks like a zombie — spam verdicts make up at
//! least [`Policy::zombie_percent`] of its messages in the window — is
//! escalated one step whenever it is over any limit: a delay becomes a
//! temporary failure, a temporary failure a rejection.
//!
//! ```
//! use std::net::IpAddr;
//! use filter::throttle::{Advice, Config, Rates, Throttle};
//!
//! let mut config = Config::default();
//! config.host = Rates { connections: 3, messages: 0, recipients: 0, spam: 0 };
//! let mut t = Throttle::new(&config).unwrap();
//! let zombie: IpAddr = "192.0.2.7".parse().unwrap();
//!
//! // Three connections a minute are allowed; the fourth is delayed.
//! for now in [0, 1_000, 2_000] {
//!     assert_eq!(t.connect(zombie, now), Advice::Accept);
//! }
//! assert_eq!(t.connect(zombie, 3_000), Advice::Delay(config.policy.delay_ms));
//! // Its spam makes it a zombie: over the limit, the advice escalates.
//! t.message(zombie, 1, 3_500);
//! assert_eq!(t.verdict(zombie, true, 3_600), Advice::Tempfail);
//! // A minute later the window has slid past it all.
//! assert_eq!(t.advice(zombie, 70_000), Advice::Accept);
//! // Memory was fixed when the throttle was made.
//! assert_eq!(t.memory_bytes(), config.memory_bytes());
//! ```
//!
//! # Compared with Postfix and rspamd
//!
//! Postfix's `anvil` server counts, per client address, concurrent
//! connections and the rates of connections, messages, recipients and TLS
//! handshakes, and `smtpd` refuses a client over
//! `smtpd_client_connection_rate_limit` and friends with a 421 or 450.
//! Its windows are fixed (`anvil_rate_time_unit`, a minute, restarting at
//! the client's first event) and its table is unbounded but swept of idle
//! clients; it counts no networks and knows nothing of verdicts.
//! `postscreen` attacks the same zombies from the other side, before a
//! client reaches `smtpd`: it weighs DNSBLs, catches clients that talk
//! before the greeting or pipeline illegally, and caches who passed; it
//! is about protocol behaviour, not volume. rspamd's `ratelimit` module
//! keeps leaky buckets in Redis, keyed by IP, network, sender, recipient
//! or user, with a rate and a burst per bucket; going over means a soft
//! reject. The throttle here sits between them: anvil's counters, plus
//! networks and spam verdicts, in sliding rather than fixed windows, with
//! memory bounded by construction rather than by sweeping or by Redis, and
//! a graded answer (tar pit, tempfail, reject) rather than a single one.

mod table;

use std::net::IpAddr;

use table::{COUNTERS, Table, WAYS};

/// Limits per window for one scope (a host or a network): the most events
/// of each kind allowed in the window before the advice stops being
/// [`Advice::Accept`]. 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rates {
    /// SMTP connections.
    pub connections: u32,
    /// Messages (each `message` event).
    pub messages: u32,
    /// Recipients, summed over the messages.
    pub recipients: u32,
    /// Spam verdicts.
    pub spam: u32,
}

impl Rates {
    fn as_array(&self) -> [u32; COUNTERS] {
        [self.connections, self.messages, self.recipients, self.spam]
    }

    fn from_array(a: [u32; COUNTERS]) -> Rates {
        Rates {
            connections: a[0],
            messages: a[1],
            recipients: a[2],
            spam: a[3],
        }
    }
}

/// What to do beyond the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Delay for each event over a limit, in milliseconds.
    pub delay_ms: u32,
    /// The longest delay advised; beyond it the advice stays a delay of
    /// this much until a temporary failure takes over.
    pub max_delay_ms: u32,
    /// At this percentage of a limit (e.g. 200: twice the limit) the advice
    /// is a temporary failure. 0: never.
    pub tempfail_percent: u32,
    /// At this percentage of a limit the advice is a rejection. 0: never
    /// on volume alone (a zombie can still be escalated to it).
    pub reject_percent: u32,
    /// A client whose spam verdicts are at least this percentage of its
    /// messages in the window (and at least one) is treated as a zombie:
    /// any advice but `Accept` is escalated one step. 0: never.
    pub zombie_percent: u32,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            delay_ms: 1_000,
            max_delay_ms: 30_000,
            tempfail_percent: 200,
            reject_percent: 0,
            zombie_percent: 80,
        }
    }
}

/// The configuration of a [`Throttle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The length of the sliding window, in milliseconds (at least
    /// `buckets`).
    pub window_ms: u64,
    /// Time buckets per window (1 to [`Config::MAX_BUCKETS`]): more buckets
    /// slide more smoothly and cost more memory.
    pub buckets: u32,
    /// Slots in the host table (rounded up to a multiple of 8).
    pub host_slots: usize,
    /// Slots in the network table (rounded up to a multiple of 8).
    pub net_slots: usize,
    /// The network of an IPv4 client: its first this many bits (0 to 32).
    pub v4_prefix: u8,
    /// The network of an IPv6 client: its first this many bits (0 to 128).
    pub v6_prefix: u8,
    /// Limits per client address.
    pub host: Rates,
    /// Limits per client network.
    pub net: Rates,
    /// What to do beyond them.
    pub policy: Policy,
    /// Seeds the table's hash, so that outsiders cannot aim many addresses
    /// at one set. Pick it at random when the process starts.
    pub seed: u64,
}

impl Default for Config {
    /// A minute's window in six buckets; 16,384 slots per table (about
    /// 1.9 MiB in all); per host 60 connections, 120 messages, 600
    /// recipients and 10 spam verdicts a minute, per network five times
    /// that; the default [`Policy`].
    fn default() -> Config {
        Config {
            window_ms: 60_000,
            buckets: 6,
            host_slots: 16_384,
            net_slots: 16_384,
            v4_prefix: 24,
            v6_prefix: 64,
            host: Rates {
                connections: 60,
                messages: 120,
                recipients: 600,
                spam: 10,
            },
            net: Rates {
                connections: 300,
                messages: 600,
                recipients: 3_000,
                spam: 50,
            },
            policy: Policy::default(),
            seed: 0x5eed_0f7a_b1e5,
        }
    }
}

impl Config {
    /// The most buckets per window.
    pub const MAX_BUCKETS: u32 = 64;
    /// The most slots per table (2^24).
    pub const MAX_SLOTS: usize = 1 << 24;

    /// Checks the configuration; [`Throttle::new`] calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.buckets == 0 || self.buckets > Config::MAX_BUCKETS {
            return Err(ConfigError::Buckets(self.buckets));
        }
        if self.window_ms < u64::from(self.buckets) {
            return Err(ConfigError::Window(self.window_ms));
        }
        for s in [self.host_slots, self.net_slots] {
            if s == 0 || s > Config::MAX_SLOTS {
                return Err(ConfigError::Slots(s));
            }
        }
        if self.v4_prefix > 32 {
            return Err(ConfigError::Prefix(self.v4_prefix));
        }
        if self.v6_prefix > 128 {
            return Err(ConfigError::Prefix(self.v6_prefix));
        }
        Ok(())
    }

    /// The bytes a [`Throttle`] with this configuration holds: what
    /// [`Throttle::memory_bytes`] will report, before building it.
    pub fn memory_bytes(&self) -> usize {
        let b = self.buckets as usize;
        std::mem::size_of::<Throttle>()
            + Table::heap_bytes_for(self.host_slots, b)
            + Table::heap_bytes_for(self.net_slots, b)
    }

    /// Sets `host_slots` and `net_slots` (in the ratio 1:1) to the most
    /// that keep [`Config::memory_bytes`] within `bytes`: at least one set
    /// of 8 each, so a budget smaller than that is exceeded.
    pub fn with_memory(self, bytes: usize) -> Config {
        let b = self.buckets.clamp(1, Config::MAX_BUCKETS) as usize;
        let per_set = WAYS * Table::bytes_per_slot(b);
        let sets = (bytes.saturating_sub(std::mem::size_of::<Throttle>()) / (2 * per_set)).max(1);
        self.with_slots((sets * WAYS).min(Config::MAX_SLOTS))
    }

    fn with_slots(mut self, slots: usize) -> Config {
        self.host_slots = slots;
        self.net_slots = slots;
        self
    }

    fn width(&self) -> u64 {
        // validate() ensures window_ms >= buckets >= 1.
        (self.window_ms / u64::from(self.buckets.max(1))).max(1)
    }
}

/// A configuration [`Throttle::new`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `buckets` is 0 or more than [`Config::MAX_BUCKETS`].
    #[error("buckets must be 1 to 64, not {0}")]
    Buckets(u32),
    /// `window_ms` is shorter than `buckets` milliseconds.
    #[error("window of {0} ms is shorter than one millisecond per bucket")]
    Window(u64),
    /// A table has 0 slots or more than [`Config::MAX_SLOTS`].
    #[error("a table needs 1 to 16777216 slots, not {0}")]
    Slots(usize),
    /// A network prefix longer than the address.
    #[error("network prefix /{0} is longer than the address")]
    Prefix(u8),
}

/// What the throttle advises for a client, from least to most severe (the
/// derived order puts longer delays after shorter ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Advice {
    /// Carry on.
    Accept,
    /// Stall the client this many milliseconds (a tar pit), then carry on.
    Delay(u32),
    /// Answer with a temporary failure (4xx): a real MTA retries later.
    Tempfail,
    /// Refuse (5xx).
    Reject,
}

/// The two scopes a client is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// The client's own address.
    Host,
    /// The client's network (its address cut to the configured prefix).
    Network,
}

/// How the table has fared: for monitoring and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Host keys pushed out of a full set while their window still held
    /// events.
    pub host_evictions: u64,
    /// Network keys pushed out likewise.
    pub net_evictions: u64,
}

/// Per-client counters and the advice they give. See the [module
/// docs](self).
pub struct Throttle {
    config: Config,
    width: u64,
    hosts: Table,
    nets: Table,
    /// The latest (shifted) time seen.
    latest: u64,
    /// Added to the caller's time after a clock reset.
    skew: u64,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle")
            .field("config", &self.config)
            .field("latest", &self.latest)
            .field("skew", &self.skew)
            .field("memory_bytes", &self.memory_bytes())
            .finish_non_exhaustive()
    }
}

/// An address as a table key: IPv4 (and IPv4-mapped IPv6) as
/// `::ffff:a.b.c.d`, masked to `prefix` bits of the address.
fn key(ip: IpAddr, v4_prefix: u8, v6_prefix: u8, scope: Scope) -> [u64; 2] {
    let k = match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let bits = match scope {
                Scope::Host => bits,
                Scope::Network => {
                    bits & u32::MAX.checked_shl(32 - u32::from(v4_prefix)).unwrap_or(0)
                }
            };
            (0xffff_u128 << 32) | u128::from(bits)
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            match scope {
                Scope::Host => bits,
                Scope::Network => {
                    bits & u128::MAX
                        .checked_shl(128 - u32::from(v6_prefix))
                        .unwrap_or(0)
                }
            }
        }
    };
    [(k >> 64) as u64, k as u64]
}

impl Throttle {
    /// A throttle with all its memory allocated, or the reason `config` is
    /// refused.
    pub fn new(config: &Config) -> Result<Throttle, ConfigError> {
        config.validate()?;
        let b = config.buckets as usize;
        Ok(Throttle {
            config: *config,
            width: config.width(),
            hosts: Table::new(config.host_slots, b, config.seed),
            nets: Table::new(config.net_slots, b, config.seed ^ 0x9e37_79b9_7f4a_7c15),
            latest: 0,
            skew: 0,
        })
    }

    /// The configuration it was made with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The bytes it holds, computed from its capacity: fixed at
    /// construction, equal to [`Config::memory_bytes`].
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Throttle>() + self.hosts.heap_bytes() + self.nets.heap_bytes()
    }

    /// Slots in the host and network tables (after rounding up to whole
    /// sets).
    pub fn capacity(&self) -> (usize, usize) {
        (self.hosts.capacity(), self.nets.capacity())
    }

    /// Eviction counts since construction.
    pub fn stats(&self) -> Stats {
        Stats {
            host_evictions: self.hosts.evictions(),
            net_evictions: self.nets.evictions(),
        }
    }

    /// Keys with events in their window at `now_ms`, in the host and the
    /// network table. Walks both tables: for tests and monitoring, not for
    /// every event.
    pub fn live(&self, now_ms: u64) -> (usize, usize) {
        let cur = self.bucket(self.peek_time(now_ms));
        (self.hosts.live(cur), self.nets.live(cur))
    }

    /// The caller's time, shifted and clamped as the module docs describe,
    /// without recording it.
    fn peek_time(&self, now_ms: u64) -> u64 {
        let t = now_ms.saturating_add(self.skew);
        t.max(self.latest)
    }

    /// The bucket index of (shifted) time `t`. The last index of u64 marks
    /// an empty slot in the table, so time ends one bucket early.
    fn bucket(&self, t: u64) -> u64 {
        (t / self.width).min(table::LAST_BUCKET)
    }

    /// Records the caller's time and returns it (shifted and clamped) with
    /// the bucket index to use.
    fn tick(&mut self, now_ms: u64) -> (u64, u64) {
        let t = now_ms.saturating_add(self.skew);
        if t < self.latest {
            let back = self.latest - t;
            if back > self.config.window_ms {
                // The caller's clock was reset: carry on from `latest`.
                self.skew = self.skew.saturating_add(back);
            }
        } else {
            self.latest = t;
        }
        (self.latest, self.bucket(self.latest))
    }

    fn record(&mut self, ip: IpAddr, now_ms: u64, add: [u32; COUNTERS]) -> Advice {
        let (now, cur) = self.tick(now_ms);
        if add.iter().all(|&a| a == 0) {
            return self.advice_at(ip, cur);
        }
        let (p4, p6) = (self.config.v4_prefix, self.config.v6_prefix);
        let host = self.hosts.add(key(ip, p4, p6, Scope::Host), now, cur, add);
        let net = self
            .nets
            .add(key(ip, p4, p6, Scope::Network), now, cur, add);
        self.judge(host, net)
    }

    /// Counts a connection from `ip` at `now_ms` and advises what to do
    /// with it.
    pub fn connect(&mut self, ip: IpAddr, now_ms: u64) -> Advice {
        self.record(ip, now_ms, [1, 0, 0, 0])
    }

    /// Counts a message with `recipients` recipients from `ip` at `now_ms`
    /// and advises what to do with the client.
    pub fn message(&mut self, ip: IpAddr, recipients: u32, now_ms: u64) -> Advice {
        self.record(ip, now_ms, [0, 1, recipients, 0])
    }

    /// Counts recipients alone (for an MTA that sees them one by one at
    /// RCPT TO, and counts the message with `message(ip, 0, now)`).
    pub fn recipients(&mut self, ip: IpAddr, recipients: u32, now_ms: u64) -> Advice {
        self.record(ip, now_ms, [0, 0, recipients, 0])
    }

    /// Records the verdict on a message from `ip` (only spam verdicts are
    /// counted) and advises what to do with the client.
    pub fn verdict(&mut self, ip: IpAddr, spam: bool, now_ms: u64) -> Advice {
        self.record(ip, now_ms, [0, 0, 0, u32::from(spam)])
    }

    /// The advice for `ip` at `now_ms`, counting nothing.
    pub fn advice(&self, ip: IpAddr, now_ms: u64) -> Advice {
        self.advice_at(ip, self.bucket(self.peek_time(now_ms)))
    }

    /// The counts of `ip`'s host or network in the window at `now_ms`
    /// (zeros for a client the table does not hold).
    pub fn counts(&self, ip: IpAddr, scope: Scope, now_ms: u64) -> Rates {
        let cur = self.bucket(self.peek_time(now_ms));
        let k = key(ip, self.config.v4_prefix, self.config.v6_prefix, scope);
        Rates::from_array(match scope {
            Scope::Host => self.hosts.counts(k, cur),
            Scope::Network => self.nets.counts(k, cur),
        })
    }

    fn advice_at(&self, ip: IpAddr, cur: u64) -> Advice {
        let (p4, p6) = (self.config.v4_prefix, self.config.v6_prefix);
        let host = self.hosts.counts(key(ip, p4, p6, Scope::Host), cur);
        let net = self.nets.counts(key(ip, p4, p6, Scope::Network), cur);
        self.judge(host, net)
    }

    fn judge(&self, host: [u32; COUNTERS], net: [u32; COUNTERS]) -> Advice {
        let p = &self.config.policy;
        let h = grade(&host, &self.config.host.as_array(), p);
        let n = grade(&net, &self.config.net.as_array(), p);
        let zombie = |c: &[u32; COUNTERS]| {
            p.zombie_percent > 0
                && c[3] > 0
                && u64::from(c[3]) * 100 >= u64::from(p.zombie_percent) * u64::from(c[1].max(1))
        };
        let h = if zombie(&host) { escalate(h) } else { h };
        let n = if zombie(&net) { escalate(n) } else { n };
        h.max(n)
    }
}

/// The advice for `counts` against `limits` (0: none).
fn grade(counts: &[u32; COUNTERS], limits: &[u32; COUNTERS], p: &Policy) -> Advice {
    let mut worst = Advice::Accept;
    for (&c, &l) in counts.iter().zip(limits) {
        if l == 0 || c <= l {
            continue;
        }
        let (c64, l64) = (u64::from(c) * 100, u64::from(l));
        let a = if p.reject_percent > 0 && c64 >= l64 * u64::from(p.reject_percent) {
            Advice::Reject
        } else if p.tempfail_percent > 0 && c64 >= l64 * u64::from(p.tempfail_percent) {
            Advice::Tempfail
        } else {
            let over = u64::from(c - l);
            let ms = (over * u64::from(p.delay_ms)).min(u64::from(p.max_delay_ms));
            Advice::Delay(ms as u32)
        };
        worst = worst.max(a);
    }
    worst
}

/// One step up: a delay becomes a temporary failure, a temporary failure a
/// rejection.
fn escalate(a: Advice) -> Advice {
    match a {
        Advice::Accept => Advice::Accept,
        Advice::Delay(_) => Advice::Tempfail,
        Advice::Tempfail | Advice::Reject => Advice::Reject,
    }
}
