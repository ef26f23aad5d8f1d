//! The trust boundary: which hops were written by our own (or trusted)
//! servers, and which by whoever connected to them.

use std::net::IpAddr;

use super::net::{NetError, NetList, is_private};
use super::received::{Hop, Parsed, parse};

/// The networks SpamAssassin's configuration names: `trusted_networks`,
/// `internal_networks` and `msa_networks` (each a [`NetList`]; `None` when
/// the directive never appeared or was cleared, so that the boundary is
/// inferred).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginConfig {
    /// `trusted_networks`: relays that do not forge Received lines.
    pub trusted: Option<NetList>,
    /// `internal_networks`: the relays of this site (the MX and behind).
    pub internal: Option<NetList>,
    /// `msa_networks`: submission servers; every hop below one is
    /// trusted.
    pub msa: NetList,
}

impl OriginConfig {
    /// Reads the `trusted_networks`, `internal_networks`, `msa_networks`
    /// and `clear_*` directives from `(directive, value)` pairs in order
    /// (as [`crate::spam::rules::Rules::settings`] keeps them); other
    /// directives are ignored. Returns the configuration and the entries
    /// that could not be read (those are left out).
    pub fn from_settings<'s>(
        settings: impl IntoIterator<Item = (&'s str, &'s str)>,
    ) -> (OriginConfig, Vec<NetError>) {
        let mut c = OriginConfig::default();
        let mut errors = Vec::new();
        for (k, v) in settings {
            if let Err(e) = c.apply(k, v) {
                errors.push(e);
            }
        }
        (c, errors)
    }

    /// Applies one directive. Unknown directives are ignored.
    pub fn apply(&mut self, directive: &str, value: &str) -> Result<(), NetError> {
        match directive {
            "trusted_networks" => self.trusted.get_or_insert_with(NetList::default).add(value),
            "internal_networks" => self
                .internal
                .get_or_insert_with(NetList::default)
                .add(value),
            "msa_networks" => self.msa.add(value),
            "clear_trusted_networks" => {
                self.trusted = None;
                Ok(())
            }
            "clear_internal_networks" => {
                self.internal = None;
                Ok(())
            }
            "clear_msa_networks" => {
                self.msa = NetList::default();
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Whether `ip` is inside the trusted networks: the configured ones
    /// (or the internal ones when only those are given) plus loopback,
    /// which SpamAssassin always trusts. With nothing configured, the
    /// private ranges.
    pub fn is_trusted_ip(&self, ip: IpAddr) -> bool {
        match (&self.trusted, &self.internal) {
            (None, None) => is_private(ip),
            (Some(t), _) | (None, Some(t)) => ip.is_loopback() || t.contains(ip),
        }
    }

    fn is_internal_ip(&self, ip: IpAddr) -> bool {
        match (&self.internal, &self.trusted) {
            (None, None) => is_private(ip),
            (Some(i), _) | (None, Some(i)) => ip.is_loopback() || i.contains(ip),
        }
    }
}

/// One hop, owned, with where it falls relative to the boundary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relay {
    /// The connecting address, as text.
    pub ip: String,
    /// The connecting address (`None` only for hand-made relays).
    pub addr: Option<IpAddr>,
    /// Reverse DNS name as recorded (case kept); empty when none.
    pub rdns: String,
    /// Whether the recording MTA looked the name up (so that an empty
    /// `rdns` means the client has none).
    pub rdns_looked_up: bool,
    /// HELO name as recorded.
    pub helo: String,
    /// The receiving host.
    pub by: String,
    /// RFC 1413 ident.
    pub ident: String,
    /// Envelope sender, if recorded.
    pub envfrom: Option<String>,
    /// Envelope recipient of the `for` clause, if any.
    pub envfor: Option<String>,
    /// Queue id.
    pub id: String,
    /// Authentication shown, empty when none.
    pub auth: String,
    /// First word of the `with` clause.
    pub with: String,
    /// The hop's date, seconds since the epoch.
    pub date: Option<i64>,
    /// The line names proxy software.
    pub proxy_marker: bool,
    /// Inside the trust boundary.
    pub trusted: bool,
    /// Inside the internal networks.
    pub internal: bool,
    /// An MSA (`msa_networks`) received it.
    pub msa: bool,
    /// A synthetic hop from an `X-Originating-IP`-style header.
    pub synthetic: bool,
}

impl Relay {
    /// The owned form of a parsed hop.
    pub fn from_hop(h: &Hop<'_>) -> Relay {
        Relay {
            ip: h.ip_text.to_string(),
            addr: h.ip,
            rdns: h.rdns.to_string(),
            rdns_looked_up: h.rdns_looked_up,
            helo: h.helo.to_string(),
            by: h.by.to_string(),
            ident: h.ident.to_string(),
            envfrom: h.envfrom.map(str::to_string),
            envfor: h.envfor.map(str::to_string),
            id: h.id.to_string(),
            auth: h.auth.to_string(),
            with: h.with.to_string(),
            date: h.date,
            proxy_marker: h.proxy_marker,
            ..Relay::default()
        }
    }

    /// The address is private (SpamAssassin's `IP_PRIVATE`).
    pub fn is_private(&self) -> bool {
        self.addr.is_some_and(is_private)
    }

    /// SpamAssassin's text for the relay:
    /// `[ ip=… rdns=… helo=… by=… ident=… envfrom=… intl=0 id=… auth=… msa=0 ]`,
    /// with white space, `#`, brackets, parentheses, `<`, `>` and `|` in
    /// the fields written as `!` (so an address-literal HELO reads
    /// `!192.0.2.1!`).
    pub fn write_sa(&self, out: &mut String) {
        // Each value as SpamAssassin writes it: white space and the
        // characters that delimit the fields become `!`.
        let odd = |c: char| {
            c.is_whitespace() || matches!(c, '\0' | '#' | '[' | ']' | '(' | ')' | '<' | '>' | '|')
        };
        let mut field = |key: &str, v: &str| {
            out.push_str(key);
            if v.contains(odd) {
                out.extend(v.chars().map(|c| if odd(c) { '!' } else { c }));
            } else {
                out.push_str(v);
            }
        };
        field("[ ip=", &self.ip);
        field(" rdns=", &self.rdns);
        field(" helo=", &self.helo);
        field(" by=", &self.by);
        field(" ident=", &self.ident);
        field(" envfrom=", self.envfrom.as_deref().unwrap_or(""));
        field(" intl=", if self.internal { "1" } else { "0" });
        field(" id=", &self.id);
        field(" auth=", &self.auth);
        field(" msa=", if self.msa { "1" } else { "0" });
        out.push_str(" ]");
    }
}

/// The four pseudo-headers SpamAssassin makes from the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelaysHeader {
    /// `X-Spam-Relays-Trusted`.
    Trusted,
    /// `X-Spam-Relays-Untrusted`.
    Untrusted,
    /// `X-Spam-Relays-Internal`.
    Internal,
    /// `X-Spam-Relays-External`.
    External,
}

impl RelaysHeader {
    /// The pseudo-header called `name` (case-insensitive).
    ///
    /// ```
    /// use filter::spam::origin::RelaysHeader;
    ///
    /// assert_eq!(RelaysHeader::from_name("X-Spam-Relays-Untrusted"), Some(RelaysHeader::Untrusted));
    /// assert_eq!(RelaysHeader::from_name("x-spam-relays-EXTERNAL"), Some(RelaysHeader::External));
    /// assert_eq!(RelaysHeader::from_name("X-Spam-Relays-Trustedx"), None);
    /// assert_eq!(RelaysHeader::from_name("X-Spam-Relays"), None);
    /// assert_eq!(RelaysHeader::from_name("Réceived: x-spam-relays-trusted"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<RelaysHeader> {
        const PREFIX: &str = "x-spam-relays-";
        // Asked for every header rule: compared in place, not lowercased
        // into a new string.
        let (prefix, rest) = name.split_at_checked(PREFIX.len())?;
        if !prefix.eq_ignore_ascii_case(PREFIX) {
            return None;
        }
        [
            ("trusted", RelaysHeader::Trusted),
            ("untrusted", RelaysHeader::Untrusted),
            ("internal", RelaysHeader::Internal),
            ("external", RelaysHeader::External),
        ]
        .into_iter()
        .find_map(|(n, h)| rest.eq_ignore_ascii_case(n).then_some(h))
    }
}

/// The Received chain read and split at the trust boundary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    /// Every hop with an address, newest first; the trusted ones come
    /// first.
    pub relays: Vec<Relay>,
    /// How many Received lines could not be read.
    pub unparseable: usize,
    /// How many Received lines were read in all (hops, local handovers
    /// and unparseable ones).
    pub lines: usize,
    /// SpamAssassin's `last_trusted_relay_index`: how many Received lines,
    /// from the top, were read inside the trust boundary (hops, and the
    /// lines read as no hop while still inside), less one. The
    /// `ALL-TRUSTED` and `ALL-UNTRUSTED` pseudo-headers split the header
    /// block at the Received line after it.
    pub last_trusted_index: isize,
    /// `last_internal_relay_index`, the same for the internal networks
    /// (`ALL-INTERNAL`, `ALL-EXTERNAL`).
    pub last_internal_index: isize,
}

/// One Received line (or synthetic originating hop) as [`Chain::mark`]
/// reads it. Unboxed: there is one per line, and a hop moves into the
/// chain as it is.
#[allow(clippy::large_enum_variant)]
enum Item {
    Hop(Relay),
    /// A mail fetcher's handover.
    Fetcher,
    /// A local handover or an unparseable line.
    NoHop,
}

impl Chain {
    /// Reads Received lines (newest first) and synthetic originating
    /// addresses (appended as hops below them, as SpamAssassin does with
    /// `X-Originating-IP` and the like), and marks the boundary.
    pub fn build<'a>(
        lines: impl IntoIterator<Item = &'a str>,
        originating: impl IntoIterator<Item = IpAddr>,
        cfg: &OriginConfig,
    ) -> Chain {
        let mut c = Chain {
            last_trusted_index: -1,
            last_internal_index: -1,
            ..Chain::default()
        };
        let mut items: Vec<Item> = Vec::new();
        for l in lines {
            c.lines += 1;
            items.push(match parse(l) {
                Parsed::Hop(h) => Item::Hop(Relay::from_hop(&h)),
                Parsed::Local => Item::NoHop,
                Parsed::Unparseable => {
                    c.unparseable += 1;
                    Item::NoHop
                }
                Parsed::Fetcher => Item::Fetcher,
            });
        }
        for ip in originating {
            items.push(Item::Hop(Relay {
                ip: ip.to_string(),
                addr: Some(ip),
                synthetic: true,
                ..Relay::default()
            }));
        }
        c.mark(items, cfg);
        c
    }

    /// Marks each relay trusted/internal/msa as SpamAssassin's
    /// `parse_received_headers` does; a fetcher's line met while every
    /// relay so far is trusted drops them (the parse restarts below it).
    /// A line that is no hop counts towards the last trusted and internal
    /// indexes while the boundaries are not yet crossed, as there.
    fn mark(&mut self, items: Vec<Item>, cfg: &OriginConfig) {
        let configured = cfg.trusted.is_some() || cfg.internal.is_some();
        let (mut in_trusted, mut in_internal, mut found_msa) = (true, true, false);
        for item in items {
            let mut r = match item {
                Item::Hop(r) => r,
                Item::Fetcher | Item::NoHop => {
                    if matches!(item, Item::Fetcher) && self.relays.last().is_none_or(|r| r.trusted)
                    {
                        self.relays.clear();
                    }
                    self.last_trusted_index += isize::from(in_trusted);
                    self.last_internal_index += isize::from(in_internal);
                    continue;
                }
            };
            let r = &mut r;
            let auth = !r.auth.is_empty();
            if in_trusted && !found_msa {
                if !configured {
                    if !(r.is_private() || auth) {
                        in_trusted = false;
                        in_internal = false;
                    }
                } else if !auth && !r.addr.is_some_and(|ip| cfg.is_trusted_ip(ip)) {
                    in_trusted = false;
                    in_internal = false;
                } else {
                    if in_internal && !auth && !r.addr.is_some_and(|ip| cfg.is_internal_ip(ip)) {
                        in_internal = false;
                    }
                    if r.addr.is_some_and(|ip| cfg.msa.contains(ip)) {
                        found_msa = true;
                        r.msa = true;
                    }
                }
            }
            r.trusted = in_trusted;
            r.internal = in_internal;
            self.last_trusted_index += isize::from(in_trusted);
            self.last_internal_index += isize::from(in_internal);
            self.relays.push(std::mem::take(r));
        }
    }

    /// The trusted hops, newest first.
    pub fn trusted(&self) -> &[Relay] {
        let n = self.relays.iter().take_while(|r| r.trusted).count();
        &self.relays[..n]
    }

    /// The untrusted hops, newest first.
    pub fn untrusted(&self) -> &[Relay] {
        let n = self.relays.iter().take_while(|r| r.trusted).count();
        &self.relays[n..]
    }

    /// The first untrusted relay: the client that handed the message to
    /// the trusted servers.
    pub fn first_untrusted(&self) -> Option<&Relay> {
        self.relays.iter().find(|r| !r.trusted)
    }

    /// The first external relay (outside the internal networks).
    pub fn first_external(&self) -> Option<&Relay> {
        self.relays.iter().find(|r| !r.internal)
    }

    /// SpamAssassin's pseudo-header text: the relays' strings joined by a
    /// space (empty when there are none).
    pub fn pseudo_header(&self, which: RelaysHeader) -> String {
        let mut s = String::new();
        for r in self.relays.iter().filter(|r| match which {
            RelaysHeader::Trusted => r.trusted,
            RelaysHeader::Untrusted => !r.trusted,
            RelaysHeader::Internal => r.internal,
            RelaysHeader::External => !r.internal,
        }) {
            if !s.is_empty() {
                s.push(' ');
            }
            r.write_sa(&mut s);
        }
        s
    }
}
