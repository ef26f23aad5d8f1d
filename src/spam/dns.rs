//! DNS blocklists and allow-lists without doing DNS: queries go out as
//! data, answers come back as data.
//!
//! SpamAssassin asks DNS zones about a message in two ways, and the stock
//! rules use both:
//!
//! * **IP blocklists** (`check_rbl`): the relays' addresses, reversed,
//!   under a zone: `7.2.0.192.zen.spamhaus.org`. An A record in
//!   `127.0.0.0/8` means "listed", and its value says on which list.
//!   `check_rbl('set', 'zone.', 'subtest')` names a *set* of lookups and
//!   tests the answers; `check_rbl_sub('set', 'subtest')` tests the
//!   answers of a set another rule started. A suffix on the set name picks
//!   the addresses: `-lastexternal` the relay that handed the message to
//!   the trusted network (the one a zombie would be), `-firsttrusted` the
//!   first trusted relay, `-untrusted` and no suffix every untrusted one.
//! * **URI blocklists** (`urirhssub NAME zone. A subtest` and `urirhsbl
//!   NAME zone. A`, tested by `body NAME eval:check_uridnsbl('NAME')`):
//!   the registrable domains of the links in the message under a zone,
//!   `example.com.multi.uribl.com`.
//!
//! A subtest is what SpamAssassin accepts: an address (`127.0.0.2`,
//! equal), a number (`8`, a bit mask on the address), an address with a
//! mask (`127.0.1.0/255.255.255.0` or `/24`), or else a regex matched
//! against the dotted answer (`^127\.0\.0\.[4-7]$`). No subtest: any
//! answer in `127.0.0.0/8`.
//!
//! The scan never resolves anything: [`Dns::queries`] lists the names to
//! look up (deduplicated), the caller resolves them however it likes
//! (`filterscan scan --dns` uses the system resolver; a milter can use its
//! event loop), and [`Dns::hits`] turns the A records that came back into
//! rule values. A name that is not answered is simply not listed, as in
//! SpamAssassin after a timeout.
//!
//! Deliberate differences from SpamAssassin: `uridnsbl` (lookups of the
//! domains' name servers), `check_rbl_txt`, `check_rbl_from_host`,
//! `check_rbl_envfrom` and `askdns` are not offered (they stay counted as
//! unimplemented evals); the registrable domain of a link is found with a
//! short list of two-label public suffixes, not the full Public Suffix
//! List.
//!
//! ```
//! use filter::spam::dns::{Answer, Dns, Lookup, Subtest};
//!
//! let mut dns = Dns::default();
//! let zen = dns.ip_set("zen-lastexternal", "zen.spamhaus.org.");
//! let xbl = dns.test(zen, Subtest::parse(r"^127\.0\.0\.[4-7]$"));
//! let queries = dns.queries(&Lookup {
//!     untrusted: &["192.0.2.7".parse().unwrap()],
//!     last_external: Some("192.0.2.7".parse().unwrap()),
//!     ..Lookup::default()
//! });
//! assert_eq!(queries[0].name, "7.2.0.192.zen.spamhaus.org");
//! let answers = [Answer::new("7.2.0.192.zen.spamhaus.org", &["127.0.0.4".parse().unwrap()])];
//! assert!(dns.hits(&queries, &answers).contains(&xbl));
//! ```

use std::net::{IpAddr, Ipv4Addr};

use super::regex::{Native, native_regex};

/// One name to look up (an A query).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Query {
    /// The name, without a trailing dot: `7.2.0.192.zen.spamhaus.org`.
    pub name: String,
    /// The sets that asked (indexes of [`Dns`]'s sets), sorted.
    sets: Vec<u32>,
}

/// The A records that came back for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The name asked, with or without a trailing dot, any case.
    pub name: String,
    /// The addresses (NXDOMAIN: empty).
    pub addrs: Vec<Ipv4Addr>,
}

impl Answer {
    /// An answer for `name`.
    pub fn new(name: &str, addrs: &[Ipv4Addr]) -> Answer {
        Answer {
            name: name.to_string(),
            addrs: addrs.to_vec(),
        }
    }
}

/// What a message offers to look up.
#[derive(Debug, Clone, Default)]
pub struct Lookup<'a> {
    /// Untrusted relay addresses, newest first.
    pub untrusted: &'a [IpAddr],
    /// The relay that handed the message to the trusted network.
    pub last_external: Option<IpAddr>,
    /// The first trusted relay (the one that received from outside).
    pub first_trusted: Option<IpAddr>,
    /// Host names of the links in the message (lower case).
    pub uri_hosts: &'a [String],
}

/// Which addresses or names a set looks up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Every untrusted relay.
    Untrusted,
    /// The last external relay only.
    LastExternal,
    /// The first trusted relay only.
    FirstTrusted,
    /// The registrable domains of the links.
    UriDomains,
}

/// How an answer is tested.
#[derive(Debug, Clone)]
pub enum Subtest {
    /// Any address in 127.0.0.0/8.
    Listed,
    /// This address.
    Equal(Ipv4Addr),
    /// A bit mask on the address.
    Mask(u32),
    /// Address and mask: `(answer & mask) == (addr & mask)`.
    Net(u32, u32),
    /// A regex on the dotted answer.
    Regex(Native),
    /// A subtest that does not parse: never true.
    Invalid,
}

impl Subtest {
    /// Reads a subtest as SpamAssassin does (see the module docs).
    pub fn parse(s: &str) -> Subtest {
        let s = s.trim();
        if s.is_empty() {
            return Subtest::Listed;
        }
        if s.bytes().all(|b| b.is_ascii_digit()) {
            return s.parse().map_or(Subtest::Invalid, Subtest::Mask);
        }
        if let Ok(a) = s.parse::<Ipv4Addr>() {
            return Subtest::Equal(a);
        }
        if let Some((a, m)) = s.split_once('/')
            && let Ok(a) = a.parse::<Ipv4Addr>()
        {
            let mask = match (m.parse::<Ipv4Addr>(), m.parse::<u32>()) {
                (Ok(m), _) => Some(u32::from(m)),
                (_, Ok(bits @ 0..=32)) => Some(u32::MAX.checked_shl(32 - bits).unwrap_or(0)),
                _ => None,
            };
            return mask.map_or(Subtest::Invalid, |m| Subtest::Net(u32::from(a) & m, m));
        }
        native_regex(s).map_or(Subtest::Invalid, Subtest::Regex)
    }

    /// Whether answer `a` passes.
    pub fn accepts(&self, a: Ipv4Addr) -> bool {
        let v = u32::from(a);
        match self {
            Subtest::Listed => a.octets()[0] == 127,
            Subtest::Equal(e) => *e == a,
            Subtest::Mask(m) => v & m != 0,
            Subtest::Net(n, m) => v & m == *n,
            Subtest::Regex(re) => re.is_match(a.to_string().as_bytes()),
            Subtest::Invalid => false,
        }
    }
}

#[derive(Debug, Clone)]
struct Set {
    name: String,
    zone: String,
    source: Source,
}

#[derive(Debug, Clone)]
struct Test {
    set: u32,
    subtest: Subtest,
}

/// The blocklist sets and tests of a rule set. Immutable once built.
#[derive(Debug, Clone, Default)]
pub struct Dns {
    sets: Vec<Set>,
    tests: Vec<Test>,
}

/// Most names asked per message: a message with a thousand links does not
/// make a thousand queries.
pub const MAX_QUERIES: usize = 64;

impl Dns {
    /// Adds (or finds) the IP set `name` (SpamAssassin's set name, suffix
    /// included) on `zone`, and returns its index.
    pub fn ip_set(&mut self, name: &str, zone: &str) -> u32 {
        let source = if name.ends_with("-lastexternal") {
            Source::LastExternal
        } else if name.ends_with("-firsttrusted") {
            Source::FirstTrusted
        } else {
            Source::Untrusted
        };
        self.set(name, zone, source)
    }

    /// Adds (or finds) the URI set `name` on `zone`.
    pub fn uri_set(&mut self, name: &str, zone: &str) -> u32 {
        self.set(name, zone, Source::UriDomains)
    }

    fn set(&mut self, name: &str, zone: &str, source: Source) -> u32 {
        let zone = zone.trim().trim_end_matches('.').to_ascii_lowercase();
        if let Some(i) = self
            .sets
            .iter()
            .position(|s| s.name == name && s.zone == zone && s.source == source)
        {
            return i as u32;
        }
        self.sets.push(Set {
            name: name.to_string(),
            zone,
            source,
        });
        (self.sets.len() - 1) as u32
    }

    /// The set named `name` (first defined), for `check_rbl_sub`.
    pub fn find_set(&self, name: &str) -> Option<u32> {
        self.sets
            .iter()
            .position(|s| s.name == name)
            .map(|i| i as u32)
    }

    /// Adds a test on set `set`'s answers and returns its index.
    pub fn test(&mut self, set: u32, subtest: Subtest) -> u32 {
        self.tests.push(Test { set, subtest });
        (self.tests.len() - 1) as u32
    }

    /// Whether there is nothing to look up.
    pub fn is_empty(&self) -> bool {
        self.tests.is_empty()
    }

    /// The names to look up for a message, sorted and distinct, at most
    /// [`MAX_QUERIES`]. Private and reserved addresses are never asked.
    pub fn queries(&self, m: &Lookup<'_>) -> Vec<Query> {
        let mut out: Vec<(String, u32)> = Vec::new();
        let mut domains: Vec<String> = m.uri_hosts.iter().filter_map(|h| registrable(h)).collect();
        domains.sort();
        domains.dedup();
        for (i, set) in self.sets.iter().enumerate() {
            if !self.tests.iter().any(|t| t.set == i as u32) {
                continue;
            }
            let set_id = i as u32;
            let mut ip = |a: &IpAddr| {
                if let Some(r) = reversed(a) {
                    out.push((format!("{r}.{}", set.zone), set_id));
                }
            };
            match set.source {
                Source::Untrusted => m.untrusted.iter().for_each(&mut ip),
                Source::LastExternal => m.last_external.iter().for_each(&mut ip),
                Source::FirstTrusted => m.first_trusted.iter().for_each(&mut ip),
                Source::UriDomains => {
                    for d in &domains {
                        let name = match d.parse::<IpAddr>() {
                            Ok(a) => match reversed(&a) {
                                Some(r) => r,
                                None => continue,
                            },
                            Err(_) => d.clone(),
                        };
                        out.push((format!("{name}.{}", set.zone), set_id));
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        let mut queries: Vec<Query> = Vec::new();
        for (name, set) in out {
            if let Some(q) = queries.last_mut()
                && q.name == name
            {
                q.sets.push(set);
            } else if queries.len() == MAX_QUERIES {
                break;
            } else {
                queries.push(Query {
                    name,
                    sets: vec![set],
                });
            }
        }
        queries
    }

    /// The tests (indexes from [`Dns::test`]) that the answers satisfy.
    /// Answers to names that were not asked are ignored.
    pub fn hits(&self, queries: &[Query], answers: &[Answer]) -> Vec<u32> {
        let mut out = Vec::new();
        for (t, test) in self.tests.iter().enumerate() {
            let hit = queries
                .iter()
                .filter(|q| q.sets.contains(&test.set))
                .any(|q| {
                    answers
                        .iter()
                        .filter(|a| a.name.trim_end_matches('.').eq_ignore_ascii_case(&q.name))
                        .any(|a| a.addrs.iter().any(|&x| test.subtest.accepts(x)))
                });
            if hit {
                out.push(t as u32);
            }
        }
        out
    }
}

/// `a` as a DNSBL label sequence (`7.2.0.192`, or 32 nibbles for IPv6),
/// or `None` for private, loopback, link-local and reserved addresses.
pub fn reversed(a: &IpAddr) -> Option<String> {
    match a {
        IpAddr::V4(v) => {
            let o = v.octets();
            let reserved = v.is_private()
                || v.is_loopback()
                || v.is_link_local()
                || v.is_unspecified()
                || v.is_broadcast()
                || o[0] == 0
                || o[0] >= 224
                || (o[0] == 100 && (64..128).contains(&o[1]));
            (!reserved).then(|| format!("{}.{}.{}.{}", o[3], o[2], o[1], o[0]))
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            let reserved = v.is_loopback()
                || v.is_unspecified()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || v.to_ipv4_mapped().is_some();
            if reserved {
                return None;
            }
            let mut out = String::with_capacity(64);
            for b in v.octets().iter().rev() {
                for nib in [b & 0xf, b >> 4] {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push(char::from_digit(u32::from(nib), 16).unwrap_or('0'));
                }
            }
            Some(out)
        }
    }
}

/// Public suffixes of two labels common in mail; a host under one of them
/// keeps three labels.
const TWO_LABEL_SUFFIXES: &[&str] = &[
    "ac.jp", "ac.uk", "co.id", "co.il", "co.in", "co.jp", "co.kr", "co.nz", "co.th", "co.uk",
    "co.za", "com.ar", "com.au", "com.br", "com.cn", "com.hk", "com.mx", "com.my", "com.pl",
    "com.ru", "com.sg", "com.tr", "com.tw", "com.ua", "gov.uk", "ne.jp", "net.au", "net.cn",
    "or.jp", "org.au", "org.uk",
];

/// The registrable domain of a link's host (`www.Example.co.uk` →
/// `example.co.uk`), an IP address as it is, or `None` for a name that
/// is not a valid domain under a known top-level domain.
pub fn registrable(host: &str) -> Option<String> {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    if h.parse::<IpAddr>().is_ok() {
        return Some(h);
    }
    if !super::uri::is_domain_valid(&h) || !super::uri::is_fqdn_valid(&h) {
        return None;
    }
    let labels: Vec<&str> = h.split('.').collect();
    let n = labels.len();
    let two = labels[n - 2..].join(".");
    let keep = if TWO_LABEL_SUFFIXES.binary_search(&two.as_str()).is_ok() {
        3
    } else {
        2
    };
    (n >= keep).then(|| labels[n - keep..].join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_sorted() {
        assert!(TWO_LABEL_SUFFIXES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn subtests() {
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert!(Subtest::parse("").accepts(a("127.0.0.2")));
        assert!(!Subtest::parse("").accepts(a("10.0.0.2")));
        assert!(Subtest::parse("127.0.0.2").accepts(a("127.0.0.2")));
        assert!(!Subtest::parse("127.0.0.2").accepts(a("127.0.0.3")));
        assert!(Subtest::parse("8").accepts(a("127.0.0.8")));
        assert!(Subtest::parse("8").accepts(a("127.0.0.12")));
        assert!(!Subtest::parse("8").accepts(a("127.0.0.4")));
        assert!(Subtest::parse("127.0.1.0/24").accepts(a("127.0.1.9")));
        assert!(Subtest::parse("127.0.1.0/255.255.255.0").accepts(a("127.0.1.9")));
        assert!(!Subtest::parse("127.0.1.0/24").accepts(a("127.0.2.9")));
        assert!(Subtest::parse(r"^127\.0\.0\.1[01]$").accepts(a("127.0.0.10")));
        assert!(!Subtest::parse(r"^127\.0\.0\.1[01]$").accepts(a("127.0.0.1")));
        assert!(!Subtest::parse("(").accepts(a("127.0.0.1")));
    }

    #[test]
    fn reversing() {
        let r = |s: &str| reversed(&s.parse().unwrap());
        assert_eq!(r("192.0.2.7").as_deref(), Some("7.2.0.192"));
        assert_eq!(r("10.1.2.3"), None);
        assert_eq!(r("127.0.0.1"), None);
        assert_eq!(r("192.168.1.1"), None);
        assert_eq!(r("100.64.0.1"), None);
        let v6 = r("2001:db8::1").unwrap();
        assert!(v6.starts_with("1.0.0.0.0.0.0.0."));
        assert!(v6.ends_with(".8.b.d.0.1.0.0.2"));
        assert_eq!(v6.split('.').count(), 32);
        assert_eq!(r("fe80::1"), None);
    }

    #[test]
    fn domains() {
        assert_eq!(
            registrable("www.Example.COM").as_deref(),
            Some("example.com")
        );
        assert_eq!(
            registrable("a.b.example.co.uk").as_deref(),
            Some("example.co.uk")
        );
        assert_eq!(registrable("example.nosuchtld"), None);
        assert_eq!(registrable("192.0.2.1").as_deref(), Some("192.0.2.1"));
        assert_eq!(registrable("localhost"), None);
    }

    #[test]
    fn sets_and_answers() {
        let mut dns = Dns::default();
        let zen = dns.ip_set("zen", "zen.spamhaus.org.");
        let last = dns.ip_set("zen-lastexternal", "zen.spamhaus.org.");
        let sbl = dns.test(zen, Subtest::parse("127.0.0.2"));
        let pbl = dns.test(last, Subtest::parse(r"^127\.0\.0\.1[01]$"));
        let uribl = dns.uri_set("URIBL_BLACK", "multi.uribl.com.");
        let black = dns.test(uribl, Subtest::parse("2"));
        assert_eq!(dns.find_set("zen"), Some(zen));
        let untrusted: Vec<IpAddr> = vec![
            "192.0.2.7".parse().unwrap(),
            "198.51.100.9".parse().unwrap(),
        ];
        let hosts = vec![
            "www.spam.example.com".to_string(),
            "x.spam.example.com".into(),
            "10.0.0.1".into(),
        ];
        let q = dns.queries(&Lookup {
            untrusted: &untrusted,
            last_external: Some(untrusted[1]),
            first_trusted: None,
            uri_hosts: &hosts,
        });
        let names: Vec<&str> = q.iter().map(|q| q.name.as_str()).collect();
        assert!(names.contains(&"7.2.0.192.zen.spamhaus.org"));
        assert!(names.contains(&"9.100.51.198.zen.spamhaus.org"));
        assert!(names.contains(&"example.com.multi.uribl.com"));
        // One query per domain, none for a private address.
        assert_eq!(names.iter().filter(|n| n.ends_with("uribl.com")).count(), 1);
        // One query per name, asked for both sets; the last-external set
        // asks about one address only.
        assert_eq!(q.len(), 3);
        assert_eq!(q.iter().filter(|x| x.sets.contains(&last)).count(), 1);
        assert_eq!(q.iter().filter(|x| x.sets.contains(&zen)).count(), 2);

        let answers = [
            Answer::new(
                "9.100.51.198.zen.spamhaus.org.",
                &["127.0.0.10".parse().unwrap()],
            ),
            Answer::new(
                "EXAMPLE.COM.multi.uribl.com",
                &["127.0.0.2".parse().unwrap()],
            ),
            Answer::new("not.asked.example", &["127.0.0.2".parse().unwrap()]),
        ];
        let hits = dns.hits(&q, &answers);
        assert_eq!(hits, vec![pbl, black]);
        assert!(!hits.contains(&sbl));
        // No answers, no hits.
        assert!(dns.hits(&q, &[]).is_empty());
    }

    #[test]
    fn bounded() {
        let mut dns = Dns::default();
        let s = dns.uri_set("U", "u.example");
        dns.test(s, Subtest::Listed);
        let hosts: Vec<String> = (0..1000).map(|i| format!("d{i}.example.com")).collect();
        let hosts2: Vec<String> = (0..1000).map(|i| format!("h.d{i}.com")).collect();
        assert_eq!(
            dns.queries(&Lookup {
                uri_hosts: &hosts,
                ..Lookup::default()
            })
            .len(),
            1
        );
        assert_eq!(
            dns.queries(&Lookup {
                uri_hosts: &hosts2,
                ..Lookup::default()
            })
            .len(),
            MAX_QUERIES
        );
    }
}
