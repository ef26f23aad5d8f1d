//! SpamAssassin's RelayEval tests that need no DNS: the Received chain
//! read hop by hop, split where trust ends.
//!
//! With no `trusted_networks` configured, SpamAssassin trusts the hops
//! from private addresses (or authenticated ones) at the top of the chain
//! and nothing after the first public one; the same inference is made
//! here. The Received reader is far simpler than SpamAssassin's (which
//! knows dozens of MTA formats): it finds the `from` clause's address,
//! HELO, reverse name and the `by` host, and skips headers without an
//! address instead of calling them unparseable, so the
//! `check_relays_unparseable` test is not offered.
//!
//! ```
//! use filter::mime::Message;
//! use filter::spam::Features;
//! use filter::spam::evals::{Args, EvalCtx, lookup};
//!
//! // A public host that said HELO with an address from another network.
//! let raw = b"Received: from 203.0.113.9 (unknown [198.51.100.7]) by mx.example.org; \
//! Mon, 3 Jun 2024 10:00:00 +0000\r\n\r\nhi\r\n";
//! let msg = Message::parse(raw);
//! let features = Features::default();
//! let ctx = EvalCtx::new(&msg, &features);
//! assert!(lookup("helo_ip_mismatch").unwrap()(&ctx, &Args::new(vec![])));
//! assert!(!lookup("check_all_trusted").unwrap()(&ctx, &Args::new(vec![])));
//! ```

use super::util::{Relay, is_ipv4, is_private_ip};
use super::{Args, EvalCtx};

fn octets_prefix(ip: &str, n: usize) -> String {
    ip.split('.').take(n).collect::<Vec<_>>().join(".")
}

/// `helo_ip_mismatch`: an untrusted hop HELO'd as a public IPv4 address
/// from a different /24 than the one it connected from.
pub fn helo_ip_mismatch(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    let (_, untrusted) = ctx.trust();
    untrusted.iter().any(|r| {
        is_ipv4(&r.helo)
            && !is_private_ip(&r.helo)
            && is_ipv4(&r.ip)
            && !is_private_ip(&r.ip)
            && r.helo != r.ip
            && !r.ip.starts_with(&format!("{}.", octets_prefix(&r.helo, 3)))
    })
}

/// `check_all_trusted`: there are hops and every one is trusted.
pub fn check_all_trusted(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    let (trusted, untrusted) = ctx.trust();
    !trusted.is_empty() && untrusted.is_empty()
}

/// `check_no_relays`: no hop at all could be read.
pub fn check_no_relays(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    let (trusted, untrusted) = ctx.trust();
    trusted.is_empty() && untrusted.is_empty()
}

/// `check_for_numeric_helo`: an untrusted hop HELO'd as a public IPv4
/// address.
pub fn check_for_numeric_helo(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    let (_, untrusted) = ctx.trust();
    untrusted
        .iter()
        .any(|r| is_ipv4(&r.helo) && !is_private_ip(&r.helo))
}

/// SpamAssassin's `hostname_to_domain`: the last two labels (three when
/// the top-level label is two letters other than ie, fr, de).
fn hostname_to_domain(h: &str) -> String {
    if !h.bytes().any(|b| b.is_ascii_alphabetic()) {
        return h.to_string();
    }
    let parts: Vec<&str> = h.split('.').collect();
    let last = parts.last().copied().unwrap_or("");
    if parts.len() > 1 && (last.len() >= 3 || ["ie", "fr", "de"].iter().any(|x| last.contains(x))) {
        parts[parts.len() - 2..].join(".")
    } else if parts.len() > 2 {
        parts[parts.len() - 3..].join(".")
    } else {
        h.to_string()
    }
}

/// A host-like name: `\w+(?:[\w.-]+\.)+\w+`.
fn hostlike(s: &str) -> bool {
    let b = s.as_bytes();
    let w = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    if b.is_empty() || !w(b[0]) || !w(b[b.len() - 1]) {
        return false;
    }
    b.iter().all(|&c| w(c) || c == b'.' || c == b'-') && s.contains('.') && {
        // The first label must be word characters only, then a dot later.
        let first_non_word = b.iter().position(|&c| !w(c)).unwrap_or(b.len());
        first_non_word < b.len() && b[b.len() - 1] != b'.'
    }
}

/// (hops whose `by` does not match the previous hop's `from`,
/// hops whose IP HELO is in another /16 than their address).
fn forged(untrusted: &[Relay]) -> (u32, u32) {
    let mut mismatch_from = 0;
    let mut mismatch_ip_helo = 0;
    let by: Vec<String> = untrusted
        .iter()
        .map(|r| hostname_to_domain(&r.by))
        .collect();
    let mut from: Vec<Option<String>> = untrusted
        .iter()
        .map(|r| (!r.rdns.is_empty()).then(|| hostname_to_domain(&r.rdns)))
        .collect();
    let helo: Vec<String> = untrusted
        .iter()
        .map(|r| hostname_to_domain(&r.helo))
        .collect();
    for i in 0..untrusted.len() {
        if !hostlike(&by[i]) {
            continue;
        }
        if from[i]
            .as_deref()
            .is_some_and(|f| f == "localhost" || f == "localhost.localdomain")
            && untrusted[i].ip == "127.0.0.1"
        {
            from[i] = None;
        }
        let fip = &untrusted[i].ip;
        let hlo = &helo[i];
        if is_ipv4(hlo) && is_ipv4(fip) && fip != hlo {
            let hb = octets_prefix(hlo, 2);
            let fb = octets_prefix(fip, 2);
            if hb != fb && !is_private_ip(hlo) {
                mismatch_ip_helo += 1;
            }
        }
        if i > 0
            && let Some(prev) = &from[i - 1]
            && hostlike(prev)
            && &by[i] != prev
            && !(by[i] == "msn.com" && prev == "hotmail.com")
        {
            mismatch_from += 1;
        }
    }
    (mismatch_from, mismatch_ip_helo)
}

/// `check_for_forged_received_trail`: more than one untrusted hop says it
/// was received `by` a host other than the one the next hop says it came
/// `from`.
pub fn check_for_forged_received_trail(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    let (_, untrusted) = ctx.trust();
    forged(untrusted).0 > 1
}

/// `check_for_forged_received_ip_helo`: an untrusted hop HELO'd as an IP
/// address in another /16 than its own.
pub fn check_for_forged_received_ip_helo(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    let (_, untrusted) = ctx.trust();
    forged(untrusted).1 > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(hostname_to_domain("a.b.example.com"), "example.com");
        assert_eq!(hostname_to_domain("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(hostname_to_domain("1.2.3.4"), "1.2.3.4");
        assert!(hostlike("mx.example.com") && !hostlike("localhost") && !hostlike(""));
    }
}
