//! Addresses and networks: reading an IP address out of a Received line,
//! CIDR lists as SpamAssassin's `trusted_networks` writes them, and the
//! private ranges.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

/// An address as a Received line writes it, cleaned: brackets, an `IPv6:`
/// prefix, an IPv6 zone (`%eth0`), an IPv4 port (`1.2.3.4:25`) and the
/// `::ffff:` of an IPv4-mapped address removed. Returns the address and the
/// part of `s` that spells it.
pub fn parse_ip(s: &str) -> Option<(IpAddr, &str)> {
    let mut t = s.trim();
    t = t.strip_prefix('[').unwrap_or(t);
    t = t.strip_suffix(']').unwrap_or(t);
    if t.len() > 5 && t.as_bytes()[..5].eq_ignore_ascii_case(b"ipv6:") {
        t = &t[5..];
    }
    if let Some(i) = t.find('%') {
        t = &t[..i];
    }
    if t.is_empty() || t.len() > 64 {
        return None;
    }
    if let Ok(v4) = t.parse::<Ipv4Addr>() {
        return Some((IpAddr::V4(v4), t));
    }
    // `1.2.3.4:25` (an IPv4 address and a port).
    if let Some((a, p)) = t.split_once(':')
        && !p.is_empty()
        && p.bytes().all(|b| b.is_ascii_digit())
        && let Ok(v4) = a.parse::<Ipv4Addr>()
    {
        return Some((IpAddr::V4(v4), a));
    }
    let v6 = t.parse::<Ipv6Addr>().ok()?;
    if let Some(v4) = v6.to_ipv4_mapped() {
        // Spell the IPv4 part as written after the last colon.
        let tail = &t[t.rfind(':').map_or(0, |i| i + 1)..];
        if tail.parse::<Ipv4Addr>().is_ok() {
            return Some((IpAddr::V4(v4), tail));
        }
        return Some((IpAddr::V4(v4), t));
    }
    Some((IpAddr::V6(v6), t))
}

/// True for SpamAssassin's `IP_PRIVATE`: RFC 1918, loopback, link-local,
/// carrier-grade NAT (100.64/10), and IPv6 loopback, unique-local and
/// link-local addresses.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            o[0] == 10
                || o[0] == 127
                || (o[0] == 169 && o[1] == 254)
                || (o[0] == 172 && (16..=31).contains(&o[1]))
                || (o[0] == 192 && o[1] == 168)
                || (o[0] == 100 && (64..=127).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback() || (s[0] & 0xfe00) == 0xfc00 || (s[0] & 0xffc0) == 0xfe80
        }
    }
}

/// A network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network address (host bits cleared).
    pub addr: IpAddr,
    /// The prefix length, 0..=32 for IPv4, 0..=128 for IPv6.
    pub bits: u8,
}

/// Why a network could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NetError {
    /// Not an address or network SpamAssassin accepts.
    #[error("not an IP address or network: {0:?}")]
    Invalid(String),
    /// A prefix longer than the address.
    #[error("prefix length out of range: {0:?}")]
    Prefix(String),
}

fn mask4(bits: u8) -> u32 {
    if bits == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(bits))
    }
}

fn mask6(bits: u8) -> u128 {
    if bits == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(bits))
    }
}

impl Cidr {
    /// Reads a network as SpamAssassin's `trusted_networks` accepts it:
    /// `192.0.2.1`, `192.0.2.0/24`, `192.0.2.0/255.255.255.0`, the
    /// abbreviations `10.`, `10/8` and `192.168.`, `2001:db8::/32` and
    /// `[2001:db8::]/32`.
    pub fn parse(s: &str) -> Result<Cidr, NetError> {
        let bad = || NetError::Invalid(s.to_string());
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        let (ip, implied) = if let Ok(ip) = addr.parse::<IpAddr>() {
            (ip, if ip.is_ipv4() { 32 } else { 128 })
        } else if !addr.is_empty()
            && !addr.contains(':')
            && addr.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        {
            // `10.`, `10`, `192.168.`: the octets given, zero-filled.
            let parts: Vec<&str> = addr.trim_end_matches('.').split('.').collect();
            if parts.len() > 4 || parts.iter().any(|p| p.is_empty() || p.len() > 3) {
                return Err(bad());
            }
            let mut o = [0u8; 4];
            for (i, p) in parts.iter().enumerate() {
                o[i] = p.parse().map_err(|_| bad())?;
            }
            (IpAddr::V4(Ipv4Addr::from(o)), 8 * parts.len() as u8)
        } else {
            return Err(bad());
        };
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let bits = match len {
            None => implied,
            Some(l) if l.contains('.') && ip.is_ipv4() => {
                let m: Ipv4Addr = l.parse().map_err(|_| bad())?;
                let m = u32::from(m);
                if m.leading_ones() + m.trailing_zeros() != 32 {
                    return Err(NetError::Prefix(s.to_string()));
                }
                m.leading_ones() as u8
            }
            Some(l) => {
                let b: u32 = l.parse().map_err(|_| NetError::Prefix(s.to_string()))?;
                if b > max {
                    return Err(NetError::Prefix(s.to_string()));
                }
                b as u8
            }
        };
        Ok(Cidr {
            addr: Cidr::masked(ip, bits),
            bits,
        })
    }

    fn masked(ip: IpAddr, bits: u8) -> IpAddr {
        match ip {
            IpAddr::V4(v) => IpAddr::V4(Ipv4Addr::from(u32::from(v) & mask4(bits))),
            IpAddr::V6(v) => IpAddr::V6(Ipv6Addr::from(u128::from(v) & mask6(bits))),
        }
    }

    /// True when `ip` is inside the network. IPv4 networks do not hold
    /// IPv6 addresses or the reverse, except `0/0`-style catch-alls, which
    /// match only their own family.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => u32::from(a) & mask4(self.bits) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => u128::from(a) & mask6(self.bits) == u128::from(n),
            _ => false,
        }
    }
}

/// An ordered list of networks, each possibly negated (`!10.0.1.5`): the
/// first entry that contains an address decides, as in SpamAssassin's
/// `NetSet`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetList {
    /// `(excluded, network)` in the order given.
    pub entries: Vec<(bool, Cidr)>,
}

impl NetList {
    /// Adds the networks of one directive value (whitespace-separated,
    /// `!` for exclusions). Stops at, and returns, the first bad entry; the
    /// entries before it are kept.
    pub fn add(&mut self, value: &str) -> Result<(), NetError> {
        for w in value.split_whitespace() {
            let (neg, w) = match w.strip_prefix('!') {
                Some(r) => (true, r),
                None => (false, w),
            };
            self.entries.push((neg, Cidr::parse(w)?));
        }
        Ok(())
    }

    /// True when the first entry containing `ip` is not an exclusion.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.entries
            .iter()
            .find(|(_, c)| c.contains(ip))
            .is_some_and(|(neg, _)| !neg)
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn addresses() {
        assert_eq!(parse_ip("[192.0.2.1]").unwrap().1, "192.0.2.1");
        assert_eq!(parse_ip("192.0.2.1:25").unwrap().1, "192.0.2.1");
        assert_eq!(parse_ip("IPv6:2001:db8::1").unwrap().1, "2001:db8::1");
        assert_eq!(parse_ip("[fe80::1%6]").unwrap().1, "fe80::1");
        assert_eq!(parse_ip("::ffff:192.0.2.9").unwrap().1, "192.0.2.9");
        assert!(parse_ip("mail.example.com").is_none());
        assert!(parse_ip("999.1.1.1").is_none());
        assert!(is_private(ip("10.1.2.3")) && is_private(ip("fd00::1")));
        assert!(!is_private(ip("192.0.2.1")) && !is_private(ip("2001:db8::1")));
    }

    #[test]
    fn networks() {
        let c = Cidr::parse("10.").unwrap();
        assert_eq!(c.bits, 8);
        assert!(c.contains(ip("10.9.8.7")) && !c.contains(ip("11.0.0.1")));
        assert_eq!(Cidr::parse("127/8").unwrap().bits, 8);
        assert_eq!(Cidr::parse("192.0.2.0/255.255.255.0").unwrap().bits, 24);
        assert!(
            Cidr::parse("[2001:db8::]/32")
                .unwrap()
                .contains(ip("2001:db8:1::5"))
        );
        assert!(Cidr::parse("1.2.3.4/33").is_err());
        assert!(Cidr::parse("mail.example.com").is_err());
        let mut l = NetList::default();
        l.add("!10.0.1.5 10.0.0.0/16 2001:db8::/32").unwrap();
        assert!(l.contains(ip("10.0.1.4")) && !l.contains(ip("10.0.1.5")));
        assert!(l.contains(ip("2001:db8::7")) && !l.contains(ip("192.0.2.1")));
        assert!(l.add("10.0.0.0/16 junk").is_err());
    }
}
