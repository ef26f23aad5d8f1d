//! Where a message came from: the Received chain, the trust boundary, and
//! the zombie/botnet checks on the first untrusted relay.
//!
//! In 2004 most spam left home broadband machines that a virus had taken
//! over, and went straight to the victim's MX instead of through the ISP's
//! relay. Such a message carries its origin in the top of its header: the
//! one Received line our own MX wrote records a client whose reverse DNS
//! name is `dsl-203-0-113-7.example.net` or nothing at all, which said
//! `HELO [203.0.113.7]`, and below which there is no other hop (or only
//! forged ones). Legitimate mail from the same household arrives through
//! the provider's relay, authenticated, or from a server with a proper
//! name.
//!
//! Reading that takes three steps, each in its own file:
//!
//! 1. [`received`] reads one Received line as Postfix, Sendmail, Exim,
//!    qmail, Exchange and Microsoft 365, Gmail, Courier and the like write
//!    it, borrowing from the line: address, reverse name, HELO, `by`,
//!    ident, authentication, id, envelope sender and recipient, `with`,
//!    date. Lines without a client (`(qmail 123 invoked by uid 0)`) are
//!    local; lines whose address cannot be found are unparseable.
//! 2. [`trust`] finds the trust boundary as SpamAssassin does: hops from
//!    `trusted_networks` (or authenticated ones) are trusted down to the
//!    first that is not, and with nothing configured, hops from private
//!    addresses are. The first untrusted relay is the client that handed
//!    the message to us. It also writes SpamAssassin's pseudo-headers
//!    `X-Spam-Relays-Trusted`, `-Untrusted`, `-Internal` and `-External`,
//!    which stock rules such as `RDNS_NONE` and `HELO_DYNAMIC_*` read.
//! 3. [`checks`] names what gives a zombie away ([`Check`]): a dynamic or
//!    missing reverse name, an address-literal or mismatching HELO or one
//!    that claims our own domain, a dynamic client delivering straight to
//!    the MX, forged or out-of-order Received lines, impossible dates,
//!    proxy and Sobig traces. Each is an eval test (`check_origin_*`) with
//!    a modest score in `default.cf` (the `LF_` rules). The same checks run
//!    on the SMTP envelope alone ([`envelope_checks`]), before DATA.
//!
//! The module does no I/O: the reverse names are the ones the MTAs wrote
//! down (or the one the caller's MTA looked up), and dates are compared
//! with each other, never with a clock.
//!
//! ```
//! use filter::mime::Message;
//! use filter::spam::origin::{Check, OriginConfig, analyze};
//!
//! // Newest first: our content filter's re-injection, then our MX.
//! let raw = b"Received: from localhost (localhost [127.0.0.1]) by mx.example.org;\r\n\
//!     \tMon, 3 Jun 2024 10:00:01 +0000\r\n\
//!     Received: from [203.0.113.7] (dsl-203-0-113-7.example.net [203.0.113.7])\r\n\
//!     \tby mx.example.org (Postfix) with SMTP id 4A2B3 for <bob@example.org>;\r\n\
//!     \tMon, 3 Jun 2024 10:00:00 +0000\r\n\
//!     Subject: hi\r\n\r\nbuy now\r\n";
//! let msg = Message::parse(raw);
//! let origin = analyze(&msg, &OriginConfig::default());
//! let first = origin.chain.first_untrusted().unwrap();
//! assert_eq!(first.ip, "203.0.113.7");
//! assert_eq!(first.rdns, "dsl-203-0-113-7.example.net");
//! assert!(origin.checks.contains(Check::RdnsDynamic));
//! assert!(origin.checks.contains(Check::DynamicDirect));
//! assert!(origin.checks.contains(Check::SobigTrace));
//! assert!(origin.chain.pseudo_header(filter::spam::origin::RelaysHeader::Untrusted)
//!     .starts_with("[ ip=203.0.113.7 rdns=dsl-203-0-113-7.example.net helo=!203.0.113.7! by=mx.example.org "));
//! ```

pub mod checks;
pub mod net;
pub mod received;
pub mod trust;

use std::net::IpAddr;

pub use checks::{Check, Checks, envelope_checks};
pub use trust::{Chain, OriginConfig, Relay, RelaysHeader};

use crate::mime::{Message, address};

/// What [`analyze`] found: the chain and the checks that hit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The Received chain, split at the trust boundary.
    pub chain: Chain,
    /// The checks that hit.
    pub checks: Checks,
}

/// SpamAssassin's default `originating_ip_headers`, read as synthetic hops
/// below the Received lines.
pub const ORIGINATING_IP_HEADERS: [&str; 4] = [
    "X-Yahoo-Post-IP",
    "X-Originating-IP",
    "X-Apparently-From",
    "X-SenderIP",
];

/// The Received values of the top-level header, unfolded, newest first.
pub fn received_lines(msg: &Message<'_>) -> Vec<String> {
    msg.headers(msg.root(), "Received")
        .map(squash_ws)
        .filter(|v| !v.is_empty())
        .collect()
}

/// The header value as text, its white-space runs squashed to one space
/// and trimmed (white space as `str::split_whitespace` takes it). An ASCII
/// value, the usual case, is done a byte at a time.
fn squash_ws(v: &[u8]) -> String {
    if !v.is_ascii() {
        return String::from_utf8_lossy(v)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
    }
    // The ASCII bytes `char::is_whitespace` takes (with \x0b); the
    // words between them are copied a run at a time.
    let ws = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
    let s = std::str::from_utf8(v).unwrap_or_default();
    let mut out = String::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        while i < v.len() && ws(v[i]) {
            i += 1;
        }
        let from = i;
        while i < v.len() && !ws(v[i]) {
            i += 1;
        }
        if from < i {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&s[from..i]);
        }
    }
    out
}

/// The first IPv4 address in each `X-Originating-IP`-style header (the
/// last instance of each).
pub fn originating_ips(msg: &Message<'_>) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for h in ORIGINATING_IP_HEADERS {
        if let Some(v) = msg.headers(msg.root(), h).last() {
            let s = String::from_utf8_lossy(v);
            if let Some(ip) = s
                .split(|c: char| !(c.is_ascii_digit() || c == '.'))
                .find_map(|w| w.parse::<std::net::Ipv4Addr>().ok())
            {
                out.push(IpAddr::V4(ip));
            }
        }
    }
    out
}

/// The envelope recipients' domains the header records: `X-Envelope-To`,
/// `Delivered-To` and `X-Original-To`. (The To header is not used: on a
/// mailing list it names the list, whose own server legitimately HELOs
/// with the list's domain.)
pub fn recipient_domains(msg: &Message<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in ["X-Envelope-To", "Delivered-To", "X-Original-To"] {
        for v in msg.headers(msg.root(), h) {
            for a in address::parse_list(v).0 {
                if let Some((_, d)) = a.email.rsplit_once('@') {
                    let d = checks::domain_of(d).to_ascii_lowercase();
                    if !d.is_empty() && !out.contains(&d) {
                        out.push(d);
                    }
                }
            }
        }
    }
    out
}

/// When the message arrived, in Unix seconds: the date of the newest
/// Received line that has one, else the `Date` header; `None` when neither
/// reads as a date. What a report puts a message under.
pub fn received_at(msg: &Message<'_>) -> Option<i64> {
    let date_of = |line: &str| {
        // The date follows the last `;` of a Received line.
        let (_, tail) = line.rsplit_once(';')?;
        crate::spam::evals::util::parse_date(tail)
    };
    // The lines of `received_lines`, squashed only up to the first date.
    msg.headers(msg.root(), "Received")
        .map(squash_ws)
        .filter(|v| !v.is_empty())
        .find_map(|l| date_of(&l))
        .or_else(|| {
            let d = msg.headers(msg.root(), "Date").next()?;
            crate::spam::evals::util::parse_date(&String::from_utf8_lossy(d))
        })
}

/// Reads the chain of `msg` and runs every check.
pub fn analyze(msg: &Message<'_>, cfg: &OriginConfig) -> Origin {
    let lines = received_lines(msg);
    let chain = Chain::build(lines.iter().map(String::as_str), originating_ips(msg), cfg);
    let checks = checks::chain_checks(&chain, &recipient_domains(msg));
    Origin { chain, checks }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The byte-at-a-time squash agrees with splitting the text on
        /// white space and joining the words.
        #[test]
        fn squash_ws_joins_the_words(
            v in prop::collection::vec(
                prop::sample::select(b"ab ;\t\n\r\x0b\x0c\x85\xa0\xc2(".to_vec()),
                0..40,
            ),
        ) {
            let words = String::from_utf8_lossy(&v)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            prop_assert_eq!(squash_ws(&v), words);
        }
    }
}
