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
//! * **TXT blocklists** (`check_rbl_txt('set', 'zone.', 'subtest')`): as
//!   `check_rbl`, but the name is asked for TXT records (the reason a relay
//!   is listed, often a link), and the subtest reads their text.
//! * **Templates** (AskDNS: `askdns NAME template [A|TXT [subtest]]`): the
//!   template's tags are replaced by what the message says, and the result
//!   is asked for the given record type: `_AUTHORDOMAIN_.fresh.fmb.la.` is
//!   `example.com.fresh.fmb.la` for mail from `a@Example.COM`. The tags
//!   ([`Tags`]) are `_AUTHORDOMAIN_` (the domain of the first From
//!   address), `_SENDERDOMAIN_` (the domain of the envelope sender),
//!   `_DKIMDOMAIN_` (the domains of valid DKIM signatures),
//!   `_LASTEXTERNALIP_`, `_LASTEXTERNALREVIP_`, `_LASTEXTERNALRDNS_`,
//!   `_LASTEXTERNALHELO_`, `_FIRSTTRUSTEDIP_` and `_FIRSTTRUSTEDREVIP_`,
//!   all lower case (the address tags are left unset for a private or
//!   reserved address, which is never asked about). A tag without a value (no From address, no HELO, ...)
//!   means no query, as in SpamAssassin, where the rule waits for a tag
//!   that never comes; a tag with several values makes one query per
//!   combination. A name that is not a valid DNS name once filled in
//!   (a HELO of `[192.0.2.1]`, a label over 63 bytes) is not asked.
//!
//! A `check_rbl` subtest is what SpamAssassin accepts: an address
//! (`127.0.0.2`, equal), a number (`8`, a bit mask on the address), an
//! address with a mask (`127.0.1.0/255.255.255.0` or `/24`), or else a
//! regex matched against the dotted answer (`^127\.0\.0\.[4-7]$`), or
//! against the text of a TXT record. No subtest: any answer in
//! `127.0.0.0/8`, or any TXT record. An askdns subtest
//! ([`Subtest::askdns`]) is written differently: a quoted string (equal to
//! the answer), a regex with delimiters (`/^127\.2\.0\.2$/`, `m{x}i`), a
//! range (`127.0.1.20-127.0.1.39`), an address and mask (`0x10/0x10`),
//! an address (equal), or a number (a bit mask, on an answer in
//! `127.0.0.0/8`); no subtest means any record of the type.
//!
//! The scan never resolves anything: [`Dns::queries`] lists the names to
//! look up (deduplicated), each with its record type ([`QType`]), the
//! caller resolves them however it likes (`filterscan scan --dns` uses the
//! system resolver; a milter can use its event loop), and [`Dns::hits`]
//! turns the A and TXT records that came back into rule values. A name
//! that is not answered is simply not listed, as in SpamAssassin after a
//! timeout.
//!
//! Deliberate differences from SpamAssassin: `uridnsbl` (lookups of the
//! domains' name servers), `check_rbl_from_host` and `check_rbl_envfrom`
//! are not offered (they stay counted as unimplemented evals); askdns asks
//! for A and TXT records only (other types, `ANY`, lists of types and
//! rcode subtests such as `[NXDOMAIN]` make the rule a problem that never
//! hits), fills no `_HEADER(...)_` tag, and never fills `_DKIMDOMAIN_`,
//! because libfilter verifies no DKIM signature; the registrable domain of
//! a link is found with a short list of two-label public suffixes, not the
//! full Public Suffix List.
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
//!
//! // An askdns rule: the From domain under a zone, asked for A records.
//! use filter::spam::dns::{QType, Tags};
//! let fmb = dns.askdns_set("_AUTHORDOMAIN_.fresh.fmb.la.", QType::A).unwrap();
//! let newdom = dns.test(fmb, Subtest::askdns(r"/^127\.2\.0\.2$/").unwrap());
//! let tags = Tags { author_domain: Some("example.com".into()), ..Tags::default() };
//! let queries = dns.queries_with(&Lookup::default(), &tags);
//! assert_eq!(queries[0].name, "example.com.fresh.fmb.la");
//! assert_eq!(queries[0].qtype, QType::A);
//! let answers = [Answer::new("example.com.fresh.fmb.la", &["127.2.0.2".parse().unwrap()])];
//! assert_eq!(dns.hits(&queries, &answers), [newdom]);
//! // No From domain: nothing to ask.
//! assert!(dns.queries_with(&Lookup::default(), &Tags::default()).is_empty());
//! ```

use std::net::{IpAddr, Ipv4Addr};

use super::regex::{Native, native_regex};
use crate::mime::{Message, address};
use crate::spam::registry::Registry;

/// The record type a query asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QType {
    /// IPv4 addresses (type 1).
    #[default]
    A,
    /// Text (type 16).
    Txt,
}

impl QType {
    /// The type as DNS writes it: `"A"`, `"TXT"`.
    pub fn as_str(self) -> &'static str {
        match self {
            QType::A => "A",
            QType::Txt => "TXT",
        }
    }

    /// The type's number in DNS messages (1, 16).
    pub fn code(self) -> u16 {
        match self {
            QType::A => 1,
            QType::Txt => 16,
        }
    }

    /// Reads `A` or `TXT` (any case); other types are not asked.
    pub fn parse(s: &str) -> Option<QType> {
        if s.eq_ignore_ascii_case("A") {
            Some(QType::A)
        } else if s.eq_ignore_ascii_case("TXT") {
            Some(QType::Txt)
        } else {
            None
        }
    }
}

/// One name to look up, and the record type to ask for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Query {
    /// The name, without a trailing dot: `7.2.0.192.zen.spamhaus.org`.
    pub name: String,
    /// The record type: A for blocklists, TXT for `check_rbl_txt` and
    /// askdns rules that say so.
    pub qtype: QType,
    /// The sets that asked (indexes of [`Dns`]'s sets), sorted.
    sets: Vec<u32>,
}

/// The records that came back for one name: A records for A queries, TXT
/// records for TXT queries (one answer may carry both, when the same name
/// was asked twice).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The name asked, with or without a trailing dot, any case.
    pub name: String,
    /// The addresses (NXDOMAIN: empty).
    pub addrs: Vec<Ipv4Addr>,
    /// The TXT records, each one string: a record of several
    /// character-strings is given with them joined without a separator
    /// (as SpamAssassin compares them).
    pub txt: Vec<String>,
}

impl Answer {
    /// An answer of A records for `name`.
    pub fn new(name: &str, addrs: &[Ipv4Addr]) -> Answer {
        Answer {
            name: name.to_string(),
            addrs: addrs.to_vec(),
            txt: Vec::new(),
        }
    }

    /// An answer of TXT records for `name`.
    pub fn with_txt(name: &str, records: &[&str]) -> Answer {
        Answer {
            name: name.to_string(),
            addrs: Vec::new(),
            txt: records.iter().map(|r| (*r).to_string()).collect(),
        }
    }
}

/// What askdns templates are filled with, besides the relay addresses of
/// the [`Lookup`]: SpamAssassin's tags, each lower case, `None` (or empty)
/// when the message does not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags {
    /// `_AUTHORDOMAIN_`: the domain of the first From address.
    pub author_domain: Option<String>,
    /// `_SENDERDOMAIN_`: the domain of the envelope sender: the one the
    /// Received line of the last untrusted hop records (`envelope-from`),
    /// else X-Envelope-From, Envelope-Sender or Return-Path written above
    /// the Received fields.
    pub sender_domain: Option<String>,
    /// `_DKIMDOMAIN_`: the signing domains of valid DKIM signatures.
    /// SpamAssassin fills it from signatures it verified; libfilter
    /// verifies none, so [`Tags::of`] leaves it empty.
    pub dkim_domains: Vec<String>,
    /// `_LASTEXTERNALRDNS_`: the reverse name of the last external relay.
    pub last_external_rdns: Option<String>,
    /// `_LASTEXTERNALHELO_`: the HELO of the last external relay.
    pub last_external_helo: Option<String>,
}

impl Tags {
    /// The tags of `msg`, whose relays `origin` has split at the trust
    /// boundary. The last external relay is the untrusted one that handed
    /// the message to the trusted network, as for `check_rbl`'s
    /// `-lastexternal` sets.
    pub fn of(msg: &Message<'_>, origin: &crate::spam::origin::Origin) -> Tags {
        let domain = |addr: &str| {
            let (_, d) = addr.rsplit_once('@')?;
            let d = d.trim().trim_end_matches('.').to_ascii_lowercase();
            (!d.is_empty()).then_some(d)
        };
        let author = msg.header(msg.root(), "From").and_then(|v| {
            address::parse_list(v)
                .0
                .into_iter()
                .find(|a| !a.email.is_empty())
                .and_then(|a| domain(&a.email))
        });
        // The envelope sender as SpamAssassin finds it: the one the last
        // untrusted hop's Received line records (the oldest trusted hop's
        // when all are trusted), else the EnvelopeFrom headers. An empty
        // one there is the null sender: no domain.
        let chain = &origin.chain;
        let hop = chain.untrusted().first().or(chain.trusted().last());
        let sender = match hop.and_then(|r| r.envfrom.as_deref()) {
            Some(e) if e.is_empty() || e.find('@').is_some_and(|i| i > 0) => domain(e),
            _ => crate::spam::features::envelope_from_headers(msg).and_then(|e| domain(&e)),
        };
        let last = origin.chain.first_untrusted();
        let word = |s: &str| {
            let s = s.trim().to_ascii_lowercase();
            (!s.is_empty()).then_some(s)
        };
        Tags {
            author_domain: author,
            sender_domain: sender,
            dkim_domains: Vec::new(),
            last_external_rdns: last.and_then(|r| word(&r.rdns)),
            last_external_helo: last.and_then(|r| word(&r.helo)),
        }
    }
}

/// A tag an askdns template may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    AuthorDomain,
    SenderDomain,
    DkimDomain,
    LastExternalIp,
    LastExternalRevIp,
    LastExternalRdns,
    LastExternalHelo,
    FirstTrustedIp,
    FirstTrustedRevIp,
}

impl Tag {
    fn from_name(name: &str) -> Option<Tag> {
        Some(match name {
            "AUTHORDOMAIN" => Tag::AuthorDomain,
            "SENDERDOMAIN" => Tag::SenderDomain,
            "DKIMDOMAIN" => Tag::DkimDomain,
            "LASTEXTERNALIP" => Tag::LastExternalIp,
            "LASTEXTERNALREVIP" => Tag::LastExternalRevIp,
            "LASTEXTERNALRDNS" => Tag::LastExternalRdns,
            "LASTEXTERNALHELO" => Tag::LastExternalHelo,
            "FIRSTTRUSTEDIP" => Tag::FirstTrustedIp,
            "FIRSTTRUSTEDREVIP" => Tag::FirstTrustedRevIp,
            _ => return None,
        })
    }

    /// The tag's values for a message (none: no query).
    fn values(self, m: &Lookup<'_>, t: &Tags) -> Vec<String> {
        let one = |v: Option<String>| v.into_iter().collect();
        match self {
            Tag::AuthorDomain => one(t.author_domain.clone()),
            Tag::SenderDomain => one(t.sender_domain.clone()),
            Tag::DkimDomain => t.dkim_domains.clone(),
            Tag::LastExternalIp => one(public(m.last_external)),
            Tag::LastExternalRevIp => one(m.last_external.as_ref().and_then(reversed)),
            Tag::LastExternalRdns => one(t.last_external_rdns.clone()),
            Tag::LastExternalHelo => one(t.last_external_helo.clone()),
            Tag::FirstTrustedIp => one(public(m.first_trusted)),
            Tag::FirstTrustedRevIp => one(m.first_trusted.as_ref().and_then(reversed)),
        }
    }
}

/// A public address as text; private and reserved ones are never asked
/// about.
fn public(a: Option<IpAddr>) -> Option<String> {
    a.filter(|a| reversed(a).is_some()).map(|a| a.to_string())
}

/// One piece of an askdns template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Tag(Tag),
}

/// Splits an askdns template into text and tags (`_NAME_`, capitals and
/// digits); an unknown tag is an error, since it would never be filled.
fn parse_template(t: &str) -> Result<Vec<Piece>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = t.trim();
    while let Some(i) = rest.find('_') {
        let after = &rest[i + 1..];
        let len = after
            .bytes()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            .count();
        if len > 0 && after.as_bytes().get(len) == Some(&b'_') {
            let name = &after[..len];
            let tag = Tag::from_name(name)
                .ok_or_else(|| format!("askdns: tag _{name}_ is not supported"))?;
            text.push_str(&rest[..i]);
            if !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            out.push(Piece::Tag(tag));
            rest = &after[len + 1..];
        } else if after.starts_with("HEADER(") {
            return Err("askdns: the _HEADER(...)_ tag is not supported".into());
        } else {
            text.push_str(&rest[..=i]);
            rest = after;
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

/// Whether `name` (no trailing dot) can be asked: ASCII letters, digits,
/// `-` and `_`, labels of 1 to 63 bytes, 253 bytes in all.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            (1..=63).contains(&l.len())
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
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
    /// An askdns template filled with the message's tags.
    Template,
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
    /// A regex on the dotted answer, or on a TXT record's text.
    Regex(Native),
    /// Any record of the type asked (askdns without a subtest).
    Any,
    /// This text, exactly: a TXT record, or an address written dotted
    /// (askdns's quoted string).
    Text(String),
    /// An address in this range, bounds included (askdns `n1-n2`).
    Range(u32, u32),
    /// A bit mask on an address in 127.0.0.0/8 (askdns's single number).
    ListedMask(u32),
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

    /// Reads an askdns subtest (see the module docs); the error says why
    /// it cannot be tested. Empty: any record.
    pub fn askdns(s: &str) -> Result<Subtest, String> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(Subtest::Any);
        }
        let b = s.as_bytes();
        if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
            return Ok(Subtest::Text(s[1..s.len() - 1].to_string()));
        }
        if s.starts_with('[') {
            return Err("askdns: rcode subtests are not supported".into());
        }
        if let Some((pattern, flags)) = split_regex(s) {
            let t = super::regex::translate(pattern, flags).map_err(|e| format!("askdns: {e}"))?;
            let native = t
                .native
                .map_err(|why| format!("askdns: regex needs {why}, not supported"))?;
            return native_regex(&native)
                .map(Subtest::Regex)
                .map_err(|e| format!("askdns: {e}"));
        }
        let num = |x: &str| -> Option<u32> {
            let x = x.trim();
            if let Ok(a) = x.parse::<Ipv4Addr>() {
                Some(u32::from(a))
            } else if let Some(h) = x.strip_prefix("0x").or_else(|| x.strip_prefix("0X")) {
                u32::from_str_radix(h, 16).ok()
            } else {
                x.parse().ok()
            }
        };
        let bad = || format!("askdns: subtest '{s}' does not parse");
        if let Some((lo, hi)) = s.split_once('-') {
            let (lo, hi) = (num(lo).ok_or_else(bad)?, num(hi).ok_or_else(bad)?);
            return Ok(Subtest::Range(lo, hi));
        }
        if let Some((n, m)) = s.split_once('/') {
            let (n, m) = (num(n).ok_or_else(bad)?, num(m).ok_or_else(bad)?);
            return Ok(Subtest::Net(n & m, m));
        }
        if let Ok(a) = s.parse::<Ipv4Addr>() {
            return Ok(Subtest::Equal(a));
        }
        num(s).map(Subtest::ListedMask).ok_or_else(bad)
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
            Subtest::Any => true,
            Subtest::Text(t) => *t == a.to_string(),
            Subtest::Range(lo, hi) => (*lo..=*hi).contains(&v),
            Subtest::ListedMask(m) => v & m != 0 && a.octets()[0] == 127,
            Subtest::Invalid => false,
        }
    }

    /// Whether TXT record `t` passes: a regex matches it, a text or an
    /// address equals it, and with no subtest any record does. Masks and
    /// ranges test addresses only.
    pub fn accepts_txt(&self, t: &str) -> bool {
        match self {
            Subtest::Listed | Subtest::Any => true,
            Subtest::Regex(re) => re.is_match(t.as_bytes()),
            Subtest::Text(x) => x == t,
            Subtest::Equal(a) => a.to_string() == t,
            Subtest::Mask(_)
            | Subtest::Net(..)
            | Subtest::Range(..)
            | Subtest::ListedMask(_)
            | Subtest::Invalid => false,
        }
    }
}

/// A Perl regex with delimiters, `/re/flags` or `m{re}flags`, as pattern
/// and flags.
fn split_regex(s: &str) -> Option<(&str, &str)> {
    let (open, body) = if let Some(b) = s.strip_prefix('/') {
        ('/', b)
    } else {
        let b = s.strip_prefix('m')?;
        let open = b.chars().next()?;
        if open.is_alphanumeric() || open.is_whitespace() {
            return None;
        }
        (open, &b[open.len_utf8()..])
    };
    let close = match open {
        '{' => '}',
        '(' => ')',
        '[' => ']',
        '<' => '>',
        c => c,
    };
    let end = body.rfind(close)?;
    let flags = &body[end + close.len_utf8()..];
    flags
        .bytes()
        .all(|b| b.is_ascii_alphabetic())
        .then_some((&body[..end], flags))
}

#[derive(Debug, Clone)]
struct Set {
    name: String,
    zone: String,
    source: Source,
    qtype: QType,
    /// For [`Source::Template`]: the template, parsed.
    template: Vec<Piece>,
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
    /// Where links' hosts are cut to the names asked.
    registry: Registry,
}

/// Most names asked per message: a message with a thousand links does not
/// make a thousand queries.
pub const MAX_QUERIES: usize = 64;

impl Dns {
    /// Cuts links' hosts with `registry` (the rule files' `util_rb_2tld`
    /// and `util_rb_3tld`) rather than the built-in list.
    pub fn set_registry(&mut self, registry: Registry) {
        self.registry = registry;
    }

    /// Adds (or finds) the IP set `name` (SpamAssassin's set name, suffix
    /// included) on `zone`, and returns its index.
    pub fn ip_set(&mut self, name: &str, zone: &str) -> u32 {
        self.set(name, zone, ip_source(name), QType::A, Vec::new())
    }

    /// Adds (or finds) the IP set `name` on `zone` asked for TXT records
    /// (`check_rbl_txt`); the suffix picks the addresses as for
    /// [`Dns::ip_set`].
    pub fn txt_set(&mut self, name: &str, zone: &str) -> u32 {
        self.set(name, zone, ip_source(name), QType::Txt, Vec::new())
    }

    /// Adds (or finds) the URI set `name` on `zone`.
    pub fn uri_set(&mut self, name: &str, zone: &str) -> u32 {
        self.set(name, zone, Source::UriDomains, QType::A, Vec::new())
    }

    /// Adds (or finds) the set of an askdns `template`, asked for `qtype`
    /// records. The error names a tag that cannot be filled.
    pub fn askdns_set(&mut self, template: &str, qtype: QType) -> Result<u32, String> {
        let pieces = parse_template(template)?;
        Ok(self.set(template, "", Source::Template, qtype, pieces))
    }

    fn set(
        &mut self,
        name: &str,
        zone: &str,
        source: Source,
        qtype: QType,
        template: Vec<Piece>,
    ) -> u32 {
        let zone = zone.trim().trim_end_matches('.').to_ascii_lowercase();
        if let Some(i) = self.sets.iter().position(|s| {
            s.name == name && s.zone == zone && s.source == source && s.qtype == qtype
        }) {
            return i as u32;
        }
        self.sets.push(Set {
            name: name.to_string(),
            zone,
            source,
            qtype,
            template,
        });
        (self.sets.len() - 1) as u32
    }

    /// The A set named `name` (first defined), for `check_rbl_sub`.
    pub fn find_set(&self, name: &str) -> Option<u32> {
        self.sets
            .iter()
            .position(|s| s.name == name && s.qtype == QType::A && s.source != Source::Template)
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
    /// Askdns templates are filled from the relay addresses only (the
    /// tags of [`Tags`] count as unset): see [`Dns::queries_with`].
    pub fn queries(&self, m: &Lookup<'_>) -> Vec<Query> {
        self.queries_with(m, &Tags::default())
    }

    /// [`Dns::queries`], with askdns templates filled from `tags` too.
    pub fn queries_with(&self, m: &Lookup<'_>, tags: &Tags) -> Vec<Query> {
        let mut out: Vec<(String, QType, u32)> = Vec::new();
        let mut domains: Vec<String> = m
            .uri_hosts
            .iter()
            .filter_map(|h| registrable_in(&self.registry, h))
            .collect();
        domains.sort();
        domains.dedup();
        for (i, set) in self.sets.iter().enumerate() {
            if !self.tests.iter().any(|t| t.set == i as u32) {
                continue;
            }
            let set_id = i as u32;
            let q = set.qtype;
            let mut ip = |a: &IpAddr| {
                if let Some(r) = reversed(a) {
                    out.push((format!("{r}.{}", set.zone), q, set_id));
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
                        out.push((format!("{name}.{}", set.zone), q, set_id));
                    }
                }
                Source::Template => {
                    for name in expand(&set.template, m, tags) {
                        out.push((name, q, set_id));
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        let mut queries: Vec<Query> = Vec::new();
        for (name, qtype, set) in out {
            if let Some(q) = queries.last_mut()
                && q.name == name
                && q.qtype == qtype
            {
                q.sets.push(set);
            } else if queries.len() == MAX_QUERIES {
                break;
            } else {
                queries.push(Query {
                    name,
                    qtype,
                    sets: vec![set],
                });
            }
        }
        queries
    }

    /// The tests (indexes from [`Dns::test`]) that the answers satisfy:
    /// an A query's test reads the answers' addresses, a TXT query's
    /// their TXT records. Answers to names that were not asked are
    /// ignored.
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
                        .any(|a| match q.qtype {
                            QType::A => a.addrs.iter().any(|&x| test.subtest.accepts(x)),
                            QType::Txt => a.txt.iter().any(|x| test.subtest.accepts_txt(x)),
                        })
                });
            if hit {
                out.push(t as u32);
            }
        }
        out
    }
}

/// Which relays an IP set asks about, by its name's suffix.
fn ip_source(name: &str) -> Source {
    if name.ends_with("-lastexternal") {
        Source::LastExternal
    } else if name.ends_with("-firsttrusted") {
        Source::FirstTrusted
    } else {
        Source::Untrusted
    }
}

/// The names an askdns template makes: one per combination of its tags'
/// values (none when a tag has no value), lower case, valid names only,
/// at most [`MAX_QUERIES`].
fn expand(template: &[Piece], m: &Lookup<'_>, tags: &Tags) -> Vec<String> {
    let mut names = vec![String::new()];
    for piece in template {
        match piece {
            Piece::Text(t) => names.iter_mut().for_each(|n| n.push_str(t)),
            Piece::Tag(tag) => {
                let values = tag.values(m, tags);
                let mut next = Vec::new();
                'outer: for v in &values {
                    for n in &names {
                        if next.len() == MAX_QUERIES {
                            break 'outer;
                        }
                        next.push(format!("{n}{v}"));
                    }
                }
                names = next;
            }
        }
    }
    names
        .into_iter()
        .map(|n| n.trim_end_matches('.').to_ascii_lowercase())
        .filter(|n| valid_name(n))
        .collect()
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

/// The registrable domain of a link's host (`www.Example.co.uk` →
/// `example.co.uk`) under the built-in registry list, an IP address as it
/// is, or `None` for a name that is not a valid domain under a known
/// top-level domain. [`Dns::queries`] cuts with the rule set's list
/// instead ([`Dns::set_registry`]).
pub fn registrable(host: &str) -> Option<String> {
    registrable_in(Registry::builtin(), host)
}

/// [`registrable`] under `registry`, as SpamAssassin's `uri_to_domain`
/// cuts a link's host.
fn registrable_in(registry: &Registry, host: &str) -> Option<String> {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    if h.parse::<IpAddr>().is_ok() {
        return Some(h);
    }
    if !super::uri::is_domain_valid(&h) || !super::uri::is_fqdn_valid(&h) {
        return None;
    }
    Some(registry.trim_domain(&h))
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn link_domains_are_cut_with_the_rule_sets_registry() {
        let mut dns = Dns::default();
        let s = dns.uri_set("U", "u.example");
        dns.test(s, Subtest::Listed);
        let hosts = [
            "www.example.demon.co.uk".to_string(),
            "a.b.example.com.au".to_string(),
        ];
        let asked = |dns: &Dns| -> Vec<String> {
            dns.queries(&Lookup {
                uri_hosts: &hosts,
                ..Lookup::default()
            })
            .into_iter()
            .map(|q| q.name)
            .collect()
        };
        // The built-in list knows com.au and co.uk, not demon.co.uk.
        assert_eq!(
            asked(&dns),
            ["demon.co.uk.u.example", "example.com.au.u.example"]
        );
        // SpamAssassin's stock 20_aux_tlds.cf lists demon.co.uk as a
        // three-label suffix; without com.au listed, that host is cut
        // to its last two labels.
        let (r, bad) =
            Registry::from_settings([("util_rb_2tld", "co.uk"), ("util_rb_3tld", "demon.co.uk")]);
        assert!(bad.is_empty());
        dns.set_registry(r);
        assert_eq!(
            asked(&dns),
            ["com.au.u.example", "example.demon.co.uk.u.example"]
        );
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

    #[test]
    fn askdns_subtests() {
        let a = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        let t = |s: &str| Subtest::askdns(s).unwrap();
        assert!(t("").accepts(a("10.0.0.1")));
        assert!(t("").accepts_txt("anything"));
        assert!(t(r"/^127\.2\.0\.2$/").accepts(a("127.2.0.2")));
        assert!(!t(r"/^127\.2\.0\.2$/").accepts(a("127.2.0.21")));
        assert!(t(r"m{\bdial up\b}i").accepts_txt("A Dial Up range"));
        assert!(!t(r"m{\bdial up\b}").accepts_txt("A Dial Up range"));
        assert!(t(r"/^v=spf1 \+all$/").accepts_txt("v=spf1 +all"));
        assert!(!t(r"/^v=spf1 \+all$/").accepts_txt("v=spf1 -all"));
        assert!(t("'list'").accepts_txt("list"));
        assert!(!t("\"list\"").accepts_txt("allowlist"));
        assert!(t("\"127.0.0.1\"").accepts(a("127.0.0.1")));
        assert!(t("127.0.1.2").accepts(a("127.0.1.2")));
        assert!(!t("127.0.1.2").accepts(a("127.0.1.3")));
        let range = t("127.0.1.20-127.0.1.39");
        assert!(range.accepts(a("127.0.1.20")) && range.accepts(a("127.0.1.39")));
        assert!(!range.accepts(a("127.0.1.40")));
        assert!(t("127.0.1.0/255.255.255.0").accepts(a("127.0.1.200")));
        assert!(t("0x10/0x10").accepts(a("127.0.0.16")));
        assert!(!t("0.0.0.16/0.0.0.16").accepts(a("127.0.0.8")));
        // A single number: a mask on an answer in 127/8.
        assert!(t("0x10").accepts(a("127.0.0.16")));
        assert!(t("16").accepts(a("127.0.0.48")));
        assert!(!t("16").accepts(a("10.0.0.16")));
        assert!(!t("16").accepts_txt("16"));
        assert!(Subtest::askdns("[NXDOMAIN]").is_err());
        assert!(Subtest::askdns("1-x").is_err());
        assert!(Subtest::askdns("/(/").is_err());
        // check_rbl subtests on TXT records.
        assert!(Subtest::parse("(?i:spamcop)").accepts_txt("see SpamCop.net"));
        assert!(Subtest::parse("").accepts_txt("listed"));
        assert!(!Subtest::parse("2").accepts_txt("2"));
    }

    #[test]
    fn templates() {
        use Piece::{Tag as T, Text as X};
        assert_eq!(
            parse_template("_AUTHORDOMAIN_.fresh.fmb.la.").unwrap(),
            [T(Tag::AuthorDomain), X(".fresh.fmb.la.".into())]
        );
        assert_eq!(
            parse_template("_DKIMDOMAIN_._vouch.dwl.spamhaus.org").unwrap(),
            [T(Tag::DkimDomain), X("._vouch.dwl.spamhaus.org".into())]
        );
        assert_eq!(
            parse_template("x_y_.a_b_c").unwrap(),
            [X("x_y_.a_b_c".into())]
        );
        assert!(parse_template("_SCORE_.example").is_err());
        assert!(parse_template("_HEADER(Reply-To:addr:domain)_.example").is_err());
        let mut dns = Dns::default();
        assert!(dns.askdns_set("_NOSUCHTAG_.example", QType::A).is_err());
        assert!(dns.is_empty());
    }

    #[test]
    fn askdns_queries() {
        let mut dns = Dns::default();
        let dkim = dns
            .askdns_set("_DKIMDOMAIN_._AUTHORDOMAIN_.x.example", QType::Txt)
            .unwrap();
        dns.test(dkim, Subtest::Any);
        let ip = dns
            .askdns_set("_LASTEXTERNALREVIP_.ip.example.", QType::A)
            .unwrap();
        dns.test(ip, Subtest::Any);
        let ip2 = dns
            .askdns_set("_LASTEXTERNALIP_.raw.example", QType::A)
            .unwrap();
        dns.test(ip2, Subtest::Any);
        let helo = dns
            .askdns_set("_LASTEXTERNALHELO_.h.example", QType::A)
            .unwrap();
        dns.test(helo, Subtest::Any);
        let last: IpAddr = "192.0.2.7".parse().unwrap();
        let m = Lookup {
            last_external: Some(last),
            ..Lookup::default()
        };
        let tags = Tags {
            author_domain: Some("a.example".into()),
            dkim_domains: vec!["d1.example".into(), "d2.example".into()],
            last_external_helo: Some("[192.0.2.7]".into()),
            ..Tags::default()
        };
        let q = dns.queries_with(&m, &tags);
        let names: Vec<(&str, QType)> = q.iter().map(|q| (q.name.as_str(), q.qtype)).collect();
        // One query per DKIM domain; the HELO is no DNS name.
        assert_eq!(
            names,
            [
                ("192.0.2.7.raw.example", QType::A),
                ("7.2.0.192.ip.example", QType::A),
                ("d1.example.a.example.x.example", QType::Txt),
                ("d2.example.a.example.x.example", QType::Txt),
            ]
        );
        // Without tags, only the address templates are filled.
        assert_eq!(dns.queries(&m).len(), 2);
        // A private address is never asked about, reversed or not.
        let private = Lookup {
            last_external: Some("10.0.0.1".parse().unwrap()),
            ..Lookup::default()
        };
        assert!(dns.queries(&private).is_empty());
        // A label over 63 bytes makes no query.
        let long = Tags {
            author_domain: Some(format!("{}.example", "a".repeat(64))),
            dkim_domains: vec!["d.example".into()],
            ..Tags::default()
        };
        assert!(dns.queries_with(&Lookup::default(), &long).is_empty());
    }

    #[test]
    fn txt_and_a_on_one_name() {
        let mut dns = Dns::default();
        let a = dns.ip_set("bl", "bl.example");
        let t = dns.txt_set("bl", "bl.example");
        assert_ne!(a, t);
        assert_eq!(dns.find_set("bl"), Some(a));
        let ta = dns.test(a, Subtest::Listed);
        let tt = dns.test(t, Subtest::parse("(?i)spam"));
        let ips: Vec<IpAddr> = vec!["192.0.2.7".parse().unwrap()];
        let q = dns.queries(&Lookup {
            untrusted: &ips,
            ..Lookup::default()
        });
        assert_eq!(q.len(), 2);
        assert_eq!(q[0].name, q[1].name);
        assert_eq!((q[0].qtype, q[1].qtype), (QType::A, QType::Txt));
        let name = "7.2.0.192.bl.example";
        let txt = Answer::with_txt(name, &["SPAM source"]);
        assert_eq!(dns.hits(&q, std::slice::from_ref(&txt)), [tt]);
        let both = Answer {
            addrs: vec!["127.0.0.2".parse().unwrap()],
            ..txt
        };
        assert_eq!(dns.hits(&q, &[both]), [ta, tt]);
    }

    #[test]
    fn tags_of_a_message() {
        let raw = b"Return-Path: <b@Bounce.Example.NET>\r\n\
            Received: from Mail.Sender.example (dsl-1.example.net [203.0.113.9])\r\n\
            \tby mx.example.org with SMTP; Mon, 3 Jun 2024 10:00:00 +0000\r\n\
            From: \"A\" <a@Example.ORG>, c@other.example\r\nSubject: x\r\n\r\nbody\r\n";
        let msg = Message::parse(raw);
        let origin = crate::spam::origin::analyze(&msg, &Default::default());
        let t = Tags::of(&msg, &origin);
        assert_eq!(t.author_domain.as_deref(), Some("example.org"));
        assert_eq!(t.sender_domain.as_deref(), Some("bounce.example.net"));
        assert_eq!(t.last_external_helo.as_deref(), Some("mail.sender.example"));
        assert_eq!(t.last_external_rdns.as_deref(), Some("dsl-1.example.net"));
        assert!(t.dkim_domains.is_empty());
        // The envelope sender the last untrusted hop recorded comes first.
        let raw = b"Return-Path: <b@bounce.example.net>\r\n\
            Received: from h.example (h.example [203.0.113.9]) (envelope-from <x@Relay.Example.COM>)\r\n\
            \tby mx.example.org with SMTP; Mon, 3 Jun 2024 10:00:00 +0000\r\n\
            Subject: x\r\n\r\nbody\r\n";
        let msg = Message::parse(raw);
        let origin = crate::spam::origin::analyze(&msg, &Default::default());
        let t = Tags::of(&msg, &origin);
        assert_eq!(t.sender_domain.as_deref(), Some("relay.example.com"));
        let empty = Message::parse(b"Subject: x\r\n\r\nbody\r\n");
        let origin = crate::spam::origin::analyze(&empty, &Default::default());
        assert_eq!(Tags::of(&empty, &origin), Tags::default());
    }
}
