//! SpamAssassin's RelayEval tests that need no DNS: the Received chain
//! read hop by hop, split where trust ends.
//!
//! With no `trusted_networks` configured, SpamAssassin trusts the hops
//! from private addresses (or authenticated ones) at the top of the chain
//! and nothing after the first public one; the same inference is made
//! here. The Received lines are read by [`crate::spam::origin`], the
//! crate's one Received reader (it knows the formats of the common MTAs,
//! though not all the dozens SpamAssassin's does); a `from` clause with
//! comments but no address it can find counts for
//! `check_relays_unparseable`.
//!
//! The `check_origin_*` tests are ours: each answers one
//! [`crate::spam::origin::Check`] on the first untrusted relay and the
//! chain (the `LF_` rules of `default.cf`).
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

use super::util::{is_ipv4, is_private_ip};
use super::{Args, EvalCtx};
use crate::spam::origin::Check;
use crate::spam::origin::checks::forged_counts;

/// `check_relays_unparseable`: some Received line has a `from` clause
/// whose address could not be read.
pub fn check_relays_unparseable(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    ctx.origin().chain.unparseable > 0
}

macro_rules! origin_evals {
    ($($(#[$doc:meta])* $name:ident => $check:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
                ctx.origin().checks.contains(Check::$check)
            }
        )*
    };
}

origin_evals! {
    /// `check_origin_rdns_none`: [`Check::RdnsNone`].
    check_origin_rdns_none => RdnsNone;
    /// `check_origin_rdns_dynamic`: [`Check::RdnsDynamic`].
    check_origin_rdns_dynamic => RdnsDynamic;
    /// `check_origin_helo_ip`: [`Check::HeloIp`].
    check_origin_helo_ip => HeloIp;
    /// `check_origin_helo_mismatch`: [`Check::HeloMismatch`].
    check_origin_helo_mismatch => HeloMismatch;
    /// `check_origin_helo_own_domain`: [`Check::HeloOwnDomain`].
    check_origin_helo_own_domain => HeloOwnDomain;
    /// `check_origin_dynamic_direct`: [`Check::DynamicDirect`].
    check_origin_dynamic_direct => DynamicDirect;
    /// `check_origin_forged_provider`: [`Check::ForgedProvider`].
    check_origin_forged_provider => ForgedProvider;
    /// `check_origin_broken_trail`: [`Check::BrokenTrail`].
    check_origin_broken_trail => BrokenTrail;
    /// `check_origin_out_of_order`: [`Check::OutOfOrder`].
    check_origin_out_of_order => OutOfOrder;
    /// `check_origin_impossible_date`: [`Check::ImpossibleDate`].
    check_origin_impossible_date => ImpossibleDate;
    /// `check_origin_proxy_trace`: [`Check::ProxyTrace`].
    check_origin_proxy_trace => ProxyTrace;
    /// `check_origin_sobig_trace`: [`Check::SobigTrace`].
    check_origin_sobig_trace => SobigTrace;
}

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

/// The free-mail and portal domains whose HELO SpamAssassin's
/// `check_for_no_rdns_dotcom_helo` trusts to have reverse DNS.
const DOTCOMS: &[&str] = &[
    "aol.com",
    "caramail.com",
    "cs.com",
    "drizzle.com",
    "excite.com",
    "hotmail.com",
    "localhost.com",
    "lycos.co.uk",
    "lycos.com",
    "msn.com",
    "yahoo.com",
];

/// Whether `helo` is one of [`DOTCOMS`] or a host under one, any case.
fn is_dotcom_helo(helo: &str) -> bool {
    let helo = helo.as_bytes();
    DOTCOMS.iter().any(|d| {
        let d = d.as_bytes();
        helo.len() >= d.len()
            && helo[helo.len() - d.len()..].eq_ignore_ascii_case(d)
            && (helo.len() == d.len() || helo[helo.len() - d.len() - 1] == b'.')
    })
}

/// `check_for_no_rdns_dotcom_helo`: a public untrusted hop HELO'd as one
/// of the big free-mail providers (or a host under it) and its MTA found
/// no reverse DNS for it; the big providers' servers all have it.
///
/// SpamAssassin answers for the oldest public untrusted hop only: each
/// such hop sets the answer anew, so a hop below the forged one (an
/// `X-Originating-IP` address, say) clears it. So does this test.
pub fn check_for_no_rdns_dotcom_helo(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    ctx.origin()
        .chain
        .untrusted()
        .iter()
        .rfind(|r| !r.is_private())
        .is_some_and(|r| r.rdns.is_empty() && r.rdns_looked_up && is_dotcom_helo(&r.helo))
}

/// `check_mailfrom_matches_rcvd`: the envelope sender's registered
/// domain is that of the reverse name of the relay that handed the
/// message in: the first untrusted one, or any trusted one when all are
/// trusted. A relay without a reverse name matches nothing.
pub fn check_mailfrom_matches_rcvd(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    let env = ctx.envelope_from();
    let Some(addr) = crate::mime::address::parse_list(env.as_bytes())
        .0
        .into_iter()
        .next()
        .map(|a| a.email)
    else {
        return false;
    };
    // The part after the last `@`, with a dot inside it.
    let Some(domain) = addr.rsplit_once('@').map(|(_, d)| d) else {
        return false;
    };
    let dotted = domain
        .char_indices()
        .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len());
    if !dotted {
        return false;
    }
    let chain = &ctx.origin().chain;
    let relays = match chain.untrusted().first() {
        Some(r) => std::slice::from_ref(r),
        None => chain.trusted(),
    };
    let registry = &ctx.cfg.registry;
    let ours = registry.trim_domain(domain);
    relays
        .iter()
        .filter(|r| !r.rdns.is_empty())
        .any(|r| registry.trim_domain(&r.rdns) == ours)
}

/// `check_for_forged_received_trail`: more than one untrusted hop says it
/// was received `by` a host other than the one the next hop says it came
/// `from`.
pub fn check_for_forged_received_trail(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    forged_counts(ctx.origin().chain.untrusted()).0 > 1
}

/// `check_for_forged_received_ip_helo`: an untrusted hop HELO'd as an IP
/// address in another /16 than its own.
pub fn check_for_forged_received_ip_helo(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    forged_counts(ctx.origin().chain.untrusted()).1 > 0
}
