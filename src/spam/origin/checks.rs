//! The named checks: what the first untrusted relay and the chain below it
//! give away about a zombie.

use std::net::IpAddr;

use super::net::{is_private, parse_ip};
use super::trust::{Chain, OriginConfig, Relay};

/// One origin check. Each has a rule name in `default.cf` ([`Check::rule`])
/// and an eval function ([`Check::eval`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Check {
    /// The first untrusted relay has no reverse DNS name (and the
    /// receiving MTA did look it up).
    RdnsNone,
    /// Its reverse DNS name is that of a dynamic or residential address
    /// (dsl, dhcp, cable, pool, dyn, ppp, the address's octets, ...).
    RdnsDynamic,
    /// Its HELO is a bare IP address or an address literal.
    HeloIp,
    /// Its HELO names another domain than its reverse DNS name.
    HeloMismatch,
    /// Its HELO claims the recipient's own domain (or the receiving
    /// host's).
    HeloOwnDomain,
    /// A dynamic address delivered straight to the trusted servers: the
    /// first untrusted relay is the origin (no hop below it), did not
    /// authenticate, and has a dynamic name, or no name and a HELO that
    /// is an address or not a domain name.
    DynamicDirect,
    /// An untrusted hop claims (in HELO or as its name) a big provider's
    /// host, from an address whose reverse name is not that provider's.
    ForgedProvider,
    /// More than one untrusted hop's `by` does not chain to the `from` of
    /// the hop above it.
    BrokenTrail,
    /// Received dates go backwards by more than six hours.
    OutOfOrder,
    /// A Received date before 1995, or more than two days after the
    /// newest one.
    ImpossibleDate,
    /// An untrusted hop names proxy software, or came over HTTP from an
    /// address-literal client to a host with no name.
    ProxyTrace,
    /// Sobig's trace: a single untrusted hop, the origin, whose HELO is an
    /// address literal and whose address has no or a dynamic name.
    SobigTrace,
}

impl Check {
    /// Every check, in order.
    pub const ALL: [Check; 12] = [
        Check::RdnsNone,
        Check::RdnsDynamic,
        Check::HeloIp,
        Check::HeloMismatch,
        Check::HeloOwnDomain,
        Check::DynamicDirect,
        Check::ForgedProvider,
        Check::BrokenTrail,
        Check::OutOfOrder,
        Check::ImpossibleDate,
        Check::ProxyTrace,
        Check::SobigTrace,
    ];

    /// The rule name in `default.cf`.
    pub fn rule(self) -> &'static str {
        match self {
            Check::RdnsNone => "LF_RDNS_NONE",
            Check::RdnsDynamic => "LF_RDNS_DYNAMIC",
            Check::HeloIp => "LF_HELO_IP",
            Check::HeloMismatch => "LF_HELO_RDNS_MISMATCH",
            Check::HeloOwnDomain => "LF_HELO_OWN_DOMAIN",
            Check::DynamicDirect => "LF_DYNAMIC_DIRECT_TO_MX",
            Check::ForgedProvider => "LF_RCVD_FORGED_PROVIDER",
            Check::BrokenTrail => "LF_RCVD_BROKEN_TRAIL",
            Check::OutOfOrder => "LF_RCVD_OUT_OF_ORDER",
            Check::ImpossibleDate => "LF_RCVD_IMPOSSIBLE_DATE",
            Check::ProxyTrace => "LF_PROXY_TRACE",
            Check::SobigTrace => "LF_SOBIG_TRACE",
        }
    }

    /// The eval function name (`check_origin_…`).
    pub fn eval(self) -> &'static str {
        match self {
            Check::RdnsNone => "check_origin_rdns_none",
            Check::RdnsDynamic => "check_origin_rdns_dynamic",
            Check::HeloIp => "check_origin_helo_ip",
            Check::HeloMismatch => "check_origin_helo_mismatch",
            Check::HeloOwnDomain => "check_origin_helo_own_domain",
            Check::DynamicDirect => "check_origin_dynamic_direct",
            Check::ForgedProvider => "check_origin_forged_provider",
            Check::BrokenTrail => "check_origin_broken_trail",
            Check::OutOfOrder => "check_origin_out_of_order",
            Check::ImpossibleDate => "check_origin_impossible_date",
            Check::ProxyTrace => "check_origin_proxy_trace",
            Check::SobigTrace => "check_origin_sobig_trace",
        }
    }
}

/// A set of [`Check`]s.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Checks(u32);

impl Checks {
    /// Adds `c`.
    pub fn insert(&mut self, c: Check) {
        self.0 |= 1 << c as u8;
    }

    /// Whether `c` is in the set.
    pub fn contains(self, c: Check) -> bool {
        self.0 & (1 << c as u8) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The checks in the set, in [`Check::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Check> {
        Check::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

// ---------------------------------------------------------------- names

/// Labels that mark a dynamic or residential address in a host name.
const DYNAMIC_WORDS: &[&str] = &[
    "adsl",
    "bb",
    "broadband",
    "cable",
    "catv",
    "cdma",
    "client",
    "cm",
    "cpe",
    "dhcp",
    "dial",
    "dialin",
    "dialup",
    "dip",
    "dsl",
    "dyn",
    "dynamic",
    "dynamicip",
    "dynip",
    "fios",
    "ftth",
    "gprs",
    "home",
    "hsd",
    "isdn",
    "lte",
    "mobile",
    "modem",
    "nat",
    "pool",
    "ppp",
    "pppoa",
    "pppoe",
    "res",
    "resnet",
    "residential",
    "sdsl",
    "ucom",
    "user",
    "users",
    "vdsl",
    "wireless",
    "wlan",
    "xdsl",
];

/// Labels that mark a server (SpamAssassin's `__RDNS_STATIC`).
const STATIC_WORDS: &[&str] = &[
    "static",
    "fix",
    "fixed",
    "fixip",
    "dedicated",
    "mail",
    "smtp",
    "mx",
    "relay",
    "out",
    "outbound",
    "mta",
    "server",
    "srv",
];

/// The registered domain: the last two labels, or three under a
/// two-letter country code with a generic second level (`co.uk`).
pub fn domain_of(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    let dots: Vec<usize> = host.match_indices('.').map(|(i, _)| i).collect();
    if dots.len() < 2 {
        return host;
    }
    let n = dots.len();
    let tld = &host[dots[n - 1] + 1..];
    let sld = &host[dots[n - 2] + 1..dots[n - 1]];
    let generic = matches!(
        sld.to_ascii_lowercase().as_str(),
        "co" | "com" | "net" | "org" | "ac" | "gov" | "edu" | "ne" | "or" | "go" | "gr" | "ad"
    );
    if tld.len() == 2 && generic && n >= 2 {
        if n >= 3 {
            &host[dots[n - 3] + 1..]
        } else {
            host
        }
    } else {
        &host[dots[n - 2] + 1..]
    }
}

/// The part of a host name left of its registered domain.
fn host_part(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    let d = domain_of(host);
    host[..host.len() - d.len()].trim_end_matches('.')
}

/// The alphabetic runs of `s`, lower-cased.
fn alpha_runs(s: &str) -> impl Iterator<Item = String> + '_ {
    s.split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

/// True when `host` spells the IPv4 address `ip` inside it, in any common
/// form: the four octets in order or reversed, separated by anything
/// (`203-0-113-7`, `7.113.0.203`, `c-203-0-113-7`), zero-padded without
/// separators (`203000113007`), or as eight hex digits (`cb007107`).
pub fn host_has_ip(host: &str, ip: IpAddr) -> bool {
    let IpAddr::V4(v4) = ip else { return false };
    let o = v4.octets().map(u32::from);
    let part = host_part(host);
    let nums: Vec<u32> = part
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty() && w.len() <= 3)
        .filter_map(|w| w.parse().ok())
        .collect();
    let fwd = [o[0], o[1], o[2], o[3]];
    let rev = [o[3], o[2], o[1], o[0]];
    if nums.windows(4).any(|w| w == fwd || w == rev) {
        return true;
    }
    let padded = format!("{:03}{:03}{:03}{:03}", o[0], o[1], o[2], o[3]);
    let hex = format!("{:02x}{:02x}{:02x}{:02x}", o[0], o[1], o[2], o[3]);
    let lower = part.to_ascii_lowercase();
    lower.contains(&padded) || lower.contains(&hex)
}

/// True for a reverse DNS name that looks like a dynamic or residential
/// address: one of the telltale words (dsl, dhcp, cable, pool, dyn, ppp,
/// ...) left of the registered domain, or the address's own octets in the
/// name; unless a server word (static, mail, smtp, mx, ...) is there too.
pub fn is_dynamic_name(host: &str, ip: Option<IpAddr>) -> bool {
    let part = host_part(host);
    if part.is_empty() {
        return false;
    }
    let mut dynamic = false;
    for w in alpha_runs(part) {
        if STATIC_WORDS.contains(&w.as_str()) {
            return false;
        }
        if DYNAMIC_WORDS.contains(&w.as_str()) {
            dynamic = true;
        }
    }
    dynamic || ip.is_some_and(|ip| host_has_ip(host, ip))
}

/// True for a HELO that is an address literal (`[192.0.2.1]`,
/// `[IPv6:2001:db8::1]`) or a bare address.
pub fn is_ip_helo(helo: &str) -> bool {
    parse_ip(helo).is_some()
}

/// Big providers and the domains their outbound servers are named under.
const PROVIDERS: &[(&str, &[&str])] = &[
    (
        "google.com",
        &["google.com", "1e100.net", "googlemail.com", "gmail.com"],
    ),
    (
        "gmail.com",
        &["google.com", "1e100.net", "googlemail.com", "gmail.com"],
    ),
    (
        "yahoo.com",
        &["yahoo.com", "yahoo.net", "yahoodns.net", "yahoo.co.jp"],
    ),
    (
        "hotmail.com",
        &[
            "hotmail.com",
            "outlook.com",
            "msn.com",
            "live.com",
            "microsoft.com",
        ],
    ),
    (
        "outlook.com",
        &[
            "outlook.com",
            "hotmail.com",
            "microsoft.com",
            "office365.com",
        ],
    ),
    (
        "msn.com",
        &[
            "msn.com",
            "hotmail.com",
            "outlook.com",
            "microsoft.com",
            "live.com",
        ],
    ),
    (
        "live.com",
        &["live.com", "hotmail.com", "outlook.com", "microsoft.com"],
    ),
    ("aol.com", &["aol.com", "aol.net", "aim.com", "yahoo.com"]),
    (
        "apple.com",
        &["apple.com", "icloud.com", "me.com", "mac.com"],
    ),
    (
        "icloud.com",
        &["apple.com", "icloud.com", "me.com", "mac.com"],
    ),
    (
        "amazon.com",
        &["amazon.com", "amazonses.com", "amazonaws.com"],
    ),
];

/// The provider family a host claims, if any.
fn provider_of(host: &str) -> Option<&'static [&'static str]> {
    let d = domain_of(host).to_ascii_lowercase();
    PROVIDERS.iter().find(|(p, _)| *p == d).map(|(_, fam)| *fam)
}

fn fqdn(h: &str) -> bool {
    h.contains('.') && parse_ip(h).is_none() && h.bytes().any(|b| b.is_ascii_alphabetic())
}

// ---------------------------------------------------------------- relays

/// The facts about one client (address, HELO, reverse name): the checks
/// that need nothing else.
fn client_checks(
    ip: Option<IpAddr>,
    helo: &str,
    rdns: &str,
    rdns_looked_up: bool,
    recipient_domains: &[String],
    out: &mut Checks,
) {
    if ip.is_some_and(is_private) {
        return;
    }
    if rdns.is_empty() && rdns_looked_up {
        out.insert(Check::RdnsNone);
    }
    if !rdns.is_empty() && is_dynamic_name(rdns, ip) {
        out.insert(Check::RdnsDynamic);
    }
    if is_ip_helo(helo) {
        out.insert(Check::HeloIp);
    }
    if fqdn(helo) && fqdn(rdns) && !domain_of(helo).eq_ignore_ascii_case(domain_of(rdns)) {
        out.insert(Check::HeloMismatch);
    }
    if fqdn(helo) {
        let hd = domain_of(helo);
        if recipient_domains.iter().any(|d| d.eq_ignore_ascii_case(hd))
            && !domain_of(rdns).eq_ignore_ascii_case(hd)
        {
            out.insert(Check::HeloOwnDomain);
        }
    }
    if let Some(fam) = provider_of(helo)
        && (rdns.is_empty() || !fam.iter().any(|d| domain_of(rdns).eq_ignore_ascii_case(d)))
        && (rdns_looked_up || !rdns.is_empty())
    {
        out.insert(Check::ForgedProvider);
    }
}

/// Whether the client looks like a home machine: a dynamic name, or no
/// name and a HELO that is an address or not a domain name at all.
fn looks_dynamic(c: Checks, helo: &str) -> bool {
    c.contains(Check::RdnsDynamic)
        || (c.contains(Check::RdnsNone) && (c.contains(Check::HeloIp) || !helo.contains('.')))
}

/// The checks for a client known from the SMTP conversation (the MTA's
/// envelope): its address, HELO and reverse DNS name (`None` when it has
/// none), and the recipients' domains. Runs at connect time: the client
/// is by definition delivering straight to us, so a dynamic-looking one
/// also gets [`Check::DynamicDirect`], and with an address-literal HELO
/// [`Check::SobigTrace`]. A client inside the trusted networks gets
/// nothing.
pub fn envelope_checks(
    ip: Option<&str>,
    helo: Option<&str>,
    rdns: Option<&str>,
    recipient_domains: &[String],
    cfg: &OriginConfig,
) -> Checks {
    let mut out = Checks::default();
    let addr = ip.and_then(parse_ip).map(|(a, _)| a);
    if addr.is_some_and(|a| cfg.is_trusted_ip(a)) {
        return out;
    }
    let rdns = rdns.map(|r| r.trim_end_matches('.')).unwrap_or("");
    client_checks(
        addr,
        helo.unwrap_or(""),
        rdns,
        addr.is_some(),
        recipient_domains,
        &mut out,
    );
    if looks_dynamic(out, helo.unwrap_or("")) {
        out.insert(Check::DynamicDirect);
        if out.contains(Check::HeloIp) {
            out.insert(Check::SobigTrace);
        }
    }
    out
}

/// SpamAssassin's `hostname_to_domain`: the last two labels (three when
/// the top-level label is two letters other than ie, fr, de).
fn sa_domain(h: &str) -> String {
    let h = h.to_ascii_lowercase();
    if !h.bytes().any(|b| b.is_ascii_alphabetic()) {
        return h;
    }
    let parts: Vec<&str> = h.split('.').collect();
    let last = parts.last().copied().unwrap_or("");
    if parts.len() > 1 && (last.len() >= 3 || ["ie", "fr", "de"].iter().any(|x| last.contains(x))) {
        parts[parts.len() - 2..].join(".")
    } else if parts.len() > 2 {
        parts[parts.len() - 3..].join(".")
    } else {
        h.clone()
    }
}

/// A host-like name: `\w+(?:[\w.-]+\.)+\w+`.
fn hostlike(s: &str) -> bool {
    let b = s.as_bytes();
    let w = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    if b.is_empty() || !w(b[0]) || !w(b[b.len() - 1]) {
        return false;
    }
    let first_non_word = b.iter().position(|&c| !w(c)).unwrap_or(b.len());
    b.iter().all(|&c| w(c) || c == b'.' || c == b'-') && s.contains('.') && first_non_word < b.len()
}

fn v4_prefix2(s: &str) -> Option<[u8; 2]> {
    let ip: std::net::Ipv4Addr = s.parse().ok()?;
    let o = ip.octets();
    Some([o[0], o[1]])
}

/// SpamAssassin's forged-trail counts over the untrusted relays (newest
/// first): hops whose `by` domain is not the domain the hop above says
/// it came `from`, and hops whose IP-address HELO is in another /16 than
/// their address.
pub fn forged_counts(untrusted: &[Relay]) -> (usize, usize) {
    let (mut mismatch_from, mut mismatch_ip_helo) = (0, 0);
    let mut prev_from: Option<String> = None;
    for (i, r) in untrusted.iter().enumerate() {
        let by = sa_domain(&r.by);
        let helo = sa_domain(r.helo.trim_matches(|c| c == '[' || c == ']'));
        let mut from = (!r.rdns.is_empty()).then(|| sa_domain(&r.rdns));
        if hostlike(&by) {
            if from
                .as_deref()
                .is_some_and(|f| f == "localhost" || f == "localhost.localdomain")
                && r.ip == "127.0.0.1"
            {
                from = None;
            }
            if let (Some(hb), Some(fb)) = (v4_prefix2(&helo), v4_prefix2(&r.ip))
                && r.ip != helo
                && hb != fb
                && !parse_ip(&helo).is_some_and(|(a, _)| is_private(a))
            {
                mismatch_ip_helo += 1;
            }
            if i > 0
                && let Some(prev) = &prev_from
                && hostlike(prev)
                && &by != prev
                && !(by == "msn.com" && prev == "hotmail.com")
            {
                mismatch_from += 1;
            }
        }
        prev_from = from;
    }
    (mismatch_from, mismatch_ip_helo)
}

/// Six hours of tolerance for clocks and time zones before dates going
/// backwards count.
const OUT_OF_ORDER_SECS: i64 = 6 * 3600;
/// 1995-01-01.
const EARLIEST: i64 = 788_918_400;

/// Every check over a chain, with the recipients' domains (from the
/// envelope or the To header) for [`Check::HeloOwnDomain`].
pub fn chain_checks(chain: &Chain, recipient_domains: &[String]) -> Checks {
    let mut out = Checks::default();
    let untrusted = chain.untrusted();
    let Some(first) = untrusted.iter().find(|r| !r.synthetic) else {
        return out;
    };
    // The receiving host's domain is ours too.
    let mut domains: Vec<String> = recipient_domains.to_vec();
    if fqdn(&first.by) {
        domains.push(domain_of(&first.by).to_ascii_lowercase());
    }
    for r in chain.trusted() {
        if let Some(f) = &r.envfor
            && let Some((_, d)) = f.rsplit_once('@')
        {
            domains.push(d.to_ascii_lowercase());
        }
    }
    client_checks(
        first.addr,
        &first.helo,
        &first.rdns,
        first.rdns_looked_up,
        &domains,
        &mut out,
    );
    // Other untrusted hops may only show forgery, not the client's habits.
    // Below it, only a contradiction counts: a recorded reverse name
    // outside the provider the HELO claims (providers' internal hops
    // often record no name at all).
    let mut rest = Checks::default();
    for r in untrusted
        .iter()
        .skip(1)
        .filter(|r| !r.synthetic && !r.rdns.is_empty())
    {
        client_checks(r.addr, &r.helo, &r.rdns, r.rdns_looked_up, &[], &mut rest);
    }
    if rest.contains(Check::ForgedProvider) {
        out.insert(Check::ForgedProvider);
    }
    let origin = untrusted.iter().filter(|r| !r.synthetic).count() == 1;
    if origin && first.auth.is_empty() && looks_dynamic(out, &first.helo) {
        out.insert(Check::DynamicDirect);
        if out.contains(Check::HeloIp) {
            out.insert(Check::SobigTrace);
        }
    }
    if forged_counts(untrusted).0 > 1 {
        out.insert(Check::BrokenTrail);
    }
    let dates: Vec<i64> = chain.relays.iter().filter_map(|r| r.date).collect();
    if dates.windows(2).any(|w| w[1] - w[0] > OUT_OF_ORDER_SECS) {
        out.insert(Check::OutOfOrder);
    }
    if let Some(&newest) = dates.first()
        && dates
            .iter()
            .any(|&d| d < EARLIEST || d - newest > 2 * 86400)
    {
        out.insert(Check::ImpossibleDate);
    }
    if untrusted.iter().any(|r| {
        r.proxy_marker
            || (r.with.eq_ignore_ascii_case("http")
                && parse_ip(&r.by).is_some()
                && r.rdns.is_empty())
    }) {
        out.insert(Check::ProxyTrace);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn dynamic_names() {
        for (h, a) in [
            ("dsl-203-0-113-7.example.net", "203.0.113.7"),
            ("pool-71-1-2-3.bstnma.fios.verizon.net", "71.1.2.3"),
            ("c-203-0-113-7.hsd1.ma.comcast.net", "203.0.113.7"),
            ("7.113.0.203.in-addr.example.net", "203.0.113.7"),
            ("host203000113007.example.de", "203.0.113.7"),
            ("cb007107.dip.example.de", "203.0.113.7"),
            ("ppp123.example.jp", "198.51.100.1"),
            ("adsl.example.co.uk", "198.51.100.1"),
        ] {
            assert!(is_dynamic_name(h, ip(a)), "{h}");
        }
        for (h, a) in [
            ("mail.example.com", "203.0.113.7"),
            ("static-203-0-113-7.example.net", "203.0.113.7"),
            ("smtp-203-0-113-7.example.net", "203.0.113.7"),
            ("mail-wr1-f54.google.com", "209.85.221.54"),
            ("www.dsl-example.com", "203.0.113.7"),
        ] {
            assert!(!is_dynamic_name(h, ip(a)), "{h}");
        }
        assert_eq!(domain_of("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(domain_of("mx.example.org"), "example.org");
        assert!(is_ip_helo("[192.0.2.1]") && is_ip_helo("192.0.2.1") && !is_ip_helo("host"));
    }

    #[test]
    fn envelope() {
        let cfg = OriginConfig::default();
        let c = envelope_checks(
            Some("203.0.113.7"),
            Some("[203.0.113.7]"),
            Some("dsl-203-0-113-7.example.net"),
            &[],
            &cfg,
        );
        for k in [
            Check::RdnsDynamic,
            Check::HeloIp,
            Check::DynamicDirect,
            Check::SobigTrace,
        ] {
            assert!(c.contains(k), "{k:?}");
        }
        let ok = envelope_checks(
            Some("192.0.2.25"),
            Some("mail.example.net"),
            Some("mail.example.net"),
            &["example.org".into()],
            &cfg,
        );
        assert!(ok.is_empty(), "{ok:?}");
        let own = envelope_checks(
            Some("192.0.2.25"),
            Some("example.org"),
            None,
            &["example.org".into()],
            &cfg,
        );
        assert!(own.contains(Check::HeloOwnDomain) && own.contains(Check::RdnsNone));
        assert!(envelope_checks(Some("10.0.0.1"), Some("[10.0.0.1]"), None, &[], &cfg).is_empty());
    }
}
