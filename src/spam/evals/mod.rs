//! SpamAssassin's `eval:` tests, implemented natively under their Perl
//! names.
//!
//! A SpamAssassin rule such as
//!
//! ```text
//! header MSGID_OUTLOOK_INVALID  eval:check_outlook_message_id()
//! body   MPART_ALT_DIFF         eval:multipart_alternative_difference('99', '100')
//! ```
//!
//! names a Perl function in one of the plugins. The rule engine looks the
//! name up with [`lookup`] and calls the [`EvalFn`] with an [`EvalCtx`]
//! (the parsed message and its rendered [`Features`]) and the rule's
//! arguments, quotes removed. One function serves every rule that names
//! it: `check_for_shifted_date('-6', '-3')` and
//! `check_for_shifted_date('24', '48')` are the same code.
//!
//! The functions follow the Perl plugins of SpamAssassin 4.0.1 (thresholds,
//! which headers are read, the edge cases) with four deliberate limits:
//!
//! * **No clock.** The core never reads the time, so date tests compare the
//!   Date header with the Received dates only (which is what
//!   `check_for_shifted_date` does anyway).
//! * **No network and no databases.** Tests that need DNS, Bayes or the
//!   auto-welcomelist are not here. What the rule files configure reaches
//!   the tests through [`EvalConfig`]: the trust boundary
//!   (`trusted_networks` and friends), the link hosts of
//!   `enlist_uri_host`, the free mail domains (`freemail_domains`), the
//!   address and Subject lists (`welcomelist_from`,
//!   `welcomelist_from_rcvd`, `all_spam_to`, `enlist_addrlist`, ...) and
//!   where registered domains end (`util_rb_2tld`, see
//!   [`crate::spam::registry`]).
//!   Tests that depend on a setting read nowhere else behave as under its
//!   stock default: with `ok_locales all` and `ok_languages all` the
//!   faraway-charset and language tests never hit.
//! * **A simple Received reader.** SpamAssassin's parser knows dozens of MTA
//!   formats; the one here finds the address, HELO, reverse name and `by`
//!   host of the common ones, and infers the trust boundary the way
//!   SpamAssassin does without `trusted_networks` (private addresses are
//!   trusted up to the first public one).
//! * **The primary MIME reading.** When a header has two Content-Type
//!   fields SpamAssassin obeys the last one; the MIME walker's primary
//!   reading (the one used here) obeys the first, as mail clients do.
//!
//! The HTML tests read what the renderer noticed in each text/html part
//! while it built the `body` text ([`Features`]), since SpamAssassin
//! answers them per part from the same pass.
//!
//! A message meets about a hundred eval rules, and most of them read the
//! same few things: the Received chain, the From and To addresses, the
//! HTML parts. So the [`EvalCtx`] keeps a memo that fills on first use
//! (each thing is parsed at most once per message), [`Args`] keeps what is
//! derived from a rule's arguments alone (numbers, and a regex compiled
//! once per rule set rather than once per message), and the tests that
//! SpamAssassin writes as a regex built from header data (the To address
//! in the Subject, the ratware tests) match by hand in `text`, with the
//! same answers as the regex.
//!
//! The tests in `tests/spam_evals.rs` run every stock rule that names one
//! of these functions over hand-made messages and a sample of the
//! SpamAssassin corpus, and compare with what `spamassassin -L -t`
//! reported for the same bytes.
//!
//! GTUBE needs no eval: SpamAssassin 4 tests it with a plain `body` regex
//! rule (GTUBE in 20_body_tests.cf, score 1000).
//!
//! ```
//! use filter::mime::Message;
//! use filter::spam::Features;
//! use filter::spam::evals::{Args, EvalCtx, lookup, names};
//!
//! let raw = b"From: a@example.com\r\nSubject: BUY CHEAP WATCHES NOW\r\n\r\nhi\r\n";
//! let msg = Message::parse(raw);
//! let features = Features::default();
//! let ctx = EvalCtx::new(&msg, &features);
//! let none = Args::new(Vec::new());
//! assert!(lookup("subject_is_all_caps").unwrap()(&ctx, &none));
//! assert!(lookup("check_for_missing_to_header").unwrap()(&ctx, &none));
//! assert!(lookup("no_such_eval").is_none());
//! assert!(names().windows(2).all(|w| w[0] < w[1]));
//! ```

mod addr_lists;
mod body;
mod bounce;
mod freemail;
mod header;
mod html;
mod images;
mod mime;
mod relay;
mod text;
mod uri_hosts;
pub(crate) mod util;

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;
use std::sync::OnceLock;

use super::Features;
use crate::mime::Message;
use crate::spam::origin::{Origin, OriginConfig};
use crate::spam::registry::Registry;

pub use addr_lists::AddrLists;
pub use freemail::FreeMail;
pub use images::image_size;
pub use uri_hosts::UriHostLists;

/// What an eval test sees: the message, its rendered features, and a memo
/// of what the tests derive from them.
///
/// The rule engine makes one context per message and runs every eval rule
/// with it, so the memo fills as the rules ask: each parsed or derived
/// thing (the HTML statistics of the parts, the relays and trust boundary,
/// the envelope sender, decoded header values and addresses, the Date
/// difference, the MIME statistics, ...) is worked out by the first test
/// that needs it and read back by the others. Nothing in it depends on a
/// rule's arguments, so the answers are those of a fresh context.
pub struct EvalCtx<'a, 'm> {
    /// The parsed message.
    pub msg: &'a Message<'m>,
    /// The rendered message.
    pub features: &'a Features,
    /// What the tests read from the rule files.
    cfg: &'a EvalConfig,
    memo: Memo,
}

/// What eval tests read from the rule files: the trust boundary
/// (`trusted_networks` and friends), the lists of link hosts
/// (`enlist_uri_host` and friends), of free mail domains and of addresses
/// (`welcomelist_from`, `enlist_addrlist` and friends), and the registry
/// boundaries (`util_rb_2tld`, `util_rb_3tld`).
#[derive(Debug, Clone, Default)]
pub struct EvalConfig {
    /// The trust boundary the relay tests use.
    pub origin: OriginConfig,
    /// The lists `check_uri_host_listed` reads.
    pub uri_hosts: UriHostLists,
    /// The address lists (`welcomelist_from`, `enlist_addrlist`, ...).
    pub addrs: AddrLists,
    /// The free mail domains (`freemail_domains`).
    pub freemail: FreeMail,
    /// Where registered domains end (`util_rb_2tld` and friends).
    pub registry: Registry,
}

impl EvalConfig {
    /// Everything the tests read from `(directive, value)` pairs in the
    /// order the rule files give them (as
    /// [`crate::spam::rules::Rules::settings`] keeps them); other
    /// directives are ignored. Also returns, for each value that could
    /// not be read (and is left out), the directive and why; a bad
    /// network is reported under `trusted_networks`.
    pub fn from_settings<'s>(
        settings: impl IntoIterator<Item = (&'s str, &'s str)> + Clone,
    ) -> (EvalConfig, Vec<(String, String)>) {
        let (origin, bad_nets) = OriginConfig::from_settings(settings.clone());
        let (uri_hosts, mut bad) = UriHostLists::from_settings(settings.clone());
        let (addrs, bad_addrs) = AddrLists::from_settings(settings.clone());
        let (freemail, bad_freemail) = FreeMail::from_settings(settings.clone());
        let (registry, bad_registry) = Registry::from_settings(settings);
        let nets = bad_nets
            .into_iter()
            .map(|e| ("trusted_networks".to_string(), e.to_string()));
        bad = nets
            .chain(bad)
            .chain(bad_addrs)
            .chain(bad_freemail)
            .chain(bad_registry)
            .collect();
        let cfg = EvalConfig {
            origin,
            uri_hosts,
            addrs,
            freemail,
            registry,
        };
        (cfg, bad)
    }
}

/// The configuration used when none is given: the boundary is inferred
/// and there are no lists.
static NO_CONFIG: std::sync::LazyLock<EvalConfig> = std::sync::LazyLock::new(EvalConfig::default);

/// The per-message memo of an [`EvalCtx`]; every slot fills on first use.
#[derive(Default)]
struct Memo {
    /// `get(NAME)` views, by the name as asked.
    get: RefCell<Vec<(String, Rc<str>)>>,
    /// `get(NAME:addr)` views, by the name as asked.
    addr: RefCell<Vec<(String, Rc<str>)>>,
    /// The Received headers, as `util::values` gives them.
    received: OnceCell<Vec<String>>,
    received_squashed: OnceCell<String>,
    message_id: OnceCell<String>,
    origin: OnceCell<Origin>,
    /// SpamAssassin's X-Spam-Relays-Trusted, -Untrusted, -Internal and
    /// -External, in that order.
    relays: [OnceCell<String>; 4],
    trust: OnceCell<util::TrustSplit>,
    envelope_from: OnceCell<String>,
    gated: OnceCell<bool>,
    hotmail: OnceCell<(bool, bool)>,
    recipients: OnceCell<(bool, f64)>,
    date_diff: OnceCell<i64>,
    mime: OnceCell<mime::MimeStats>,
    madiff: OnceCell<(f64, usize, usize)>,
    base64_longest: OnceCell<usize>,
    uppercase: OnceCell<f64>,
    fields: OnceCell<crate::spam::features::DecodedFields>,
    /// For each list of link hosts, whether it names a link's host.
    uri_listed: OnceCell<Vec<bool>>,
    /// SpamAssassin's `all_from_addrs` and `all_to_addrs`.
    all_from: OnceCell<Vec<String>>,
    all_to: OnceCell<Vec<String>>,
    /// The body's free mail addresses (`None`: too many to compare).
    freemails: OnceCell<Option<Vec<String>>>,
    /// The images, as ImageInfo counts them.
    images: OnceCell<images::Images>,
}

impl<'a, 'm> EvalCtx<'a, 'm> {
    /// The context for one message.
    pub fn new(msg: &'a Message<'m>, features: &'a Features) -> EvalCtx<'a, 'm> {
        EvalCtx::with_config(msg, features, &NO_CONFIG)
    }

    /// The context for one message, with what the rule files configure:
    /// the trust boundary drawn by `trusted_networks` and friends instead
    /// of inferred, and the lists of link hosts.
    pub fn with_config(
        msg: &'a Message<'m>,
        features: &'a Features,
        cfg: &'a EvalConfig,
    ) -> EvalCtx<'a, 'm> {
        EvalCtx {
            msg,
            features,
            cfg,
            memo: Memo::default(),
        }
    }

    /// The Received chain and the origin checks.
    pub fn origin(&self) -> &Origin {
        self.memo
            .origin
            .get_or_init(|| crate::spam::origin::analyze(self.msg, &self.cfg.origin))
    }

    /// SpamAssassin's pseudo-header `which` (X-Spam-Relays-*), drawn with
    /// this context's trust boundary from the chain [`EvalCtx::origin`]
    /// read, so a message's Received lines are parsed once for the relay
    /// evals and every rule on these headers.
    pub fn relays_header(&self, which: crate::spam::origin::RelaysHeader) -> &str {
        use crate::spam::origin::RelaysHeader as R;
        let slot = match which {
            R::Trusted => 0,
            R::Untrusted => 1,
            R::Internal => 2,
            R::External => 3,
        };
        self.memo.relays[slot].get_or_init(|| self.origin().chain.pseudo_header(which))
    }

    /// The top-level header fields, decoded once for the header rules.
    pub(crate) fn decoded_fields(&self) -> &crate::spam::features::DecodedFields {
        self.memo
            .fields
            .get_or_init(|| crate::spam::features::DecodedFields::new(self.msg))
    }

    /// SpamAssassin's `get(NAME)` of the top-level header (see
    /// [`util::get`]), memoized.
    fn get(&self, name: &str) -> Rc<str> {
        cached(&self.memo.get, name, || {
            if name == "Received" {
                util::joined(self.received())
            } else {
                util::get(self.msg, name)
            }
        })
    }

    /// Every Received header, unfolded and decoded, newest first.
    fn received(&self) -> &[String] {
        self.memo
            .received
            .get_or_init(|| util::values(self.msg, "Received"))
    }

    /// SpamAssassin's `get(NAME:addr)` (see [`util::addr`]), memoized.
    fn addr(&self, name: &str) -> Rc<str> {
        cached(&self.memo.addr, name, || util::addr(self.msg, name))
    }

    /// Every Received header, joined as `get` joins them, each run of
    /// whitespace made one space.
    fn received_squashed(&self) -> &str {
        self.memo
            .received_squashed
            .get_or_init(|| header::squash(&self.get("Received")))
    }

    /// The `MESSAGEID` pseudo-header.
    fn message_id(&self) -> &str {
        self.memo
            .message_id
            .get_or_init(|| util::message_id(self.msg))
    }

    /// The relays split at the trust boundary.
    fn trust(&self) -> &util::TrustSplit {
        self.memo
            .trust
            .get_or_init(|| util::trust_split(&self.origin().chain))
    }

    /// The addresses DNS blocklists are asked about: every untrusted
    /// relay (newest first), the last external one, and the first trusted
    /// one.
    pub(crate) fn blocklist_ips(
        &self,
    ) -> (
        Vec<std::net::IpAddr>,
        Option<std::net::IpAddr>,
        Option<std::net::IpAddr>,
    ) {
        let (trusted, untrusted) = self.trust();
        let ip = |r: &util::Relay| r.ip.parse::<std::net::IpAddr>().ok();
        let all: Vec<_> = untrusted.iter().filter_map(ip).collect();
        (
            all.clone(),
            all.first().copied(),
            trusted.last().and_then(ip),
        )
    }

    /// The rule set's registry boundaries.
    pub(crate) fn registry(&self) -> &Registry {
        &self.cfg.registry
    }

    /// The `EnvelopeFrom` pseudo-header: the envelope sender the last
    /// untrusted hop recorded, else the envelope headers; empty when none.
    pub(crate) fn envelope_from(&self) -> &str {
        self.memo
            .envelope_from
            .get_or_init(|| util::envelope_from(self.msg, self.trust()))
    }
}

/// The value cached under `name` in `cell`, made by `make` the first time.
fn cached(
    cell: &RefCell<Vec<(String, Rc<str>)>>,
    name: &str,
    make: impl FnOnce() -> String,
) -> Rc<str> {
    if let Some((_, v)) = cell.borrow().iter().find(|(n, _)| n == name) {
        return Rc::clone(v);
    }
    let v: Rc<str> = make().into();
    cell.borrow_mut().push((name.to_string(), Rc::clone(&v)));
    v
}

/// A rule's arguments, quotes removed, as the eval function receives them.
///
/// The rule engine wraps each rule's list once, when the rules are
/// compiled, and the wrapper keeps what the functions derive from the
/// strings alone: each argument read as a number (`arg_f`), and, compiled
/// the first time a function asks, each argument as a Perl regex (for
/// `html_text_match`). The compiled rules are shared by every thread, so
/// those slots are [`OnceLock`]s. Equality compares the strings.
pub struct Args {
    list: Vec<String>,
    /// Each argument trimmed and parsed as a number; `None` for `undef`
    /// and junk.
    nums: Vec<Option<f64>>,
    /// Each argument compiled as a regex; `None` inside when it does not
    /// compile.
    regexes: Vec<OnceLock<Option<fancy_regex::Regex>>>,
    /// Declared as a `rawbody` rule: the tests that read SpamAssassin's
    /// body array then read the raw one.
    rawbody: bool,
}

impl Args {
    /// Wraps the argument list of one rule.
    pub fn new(list: Vec<String>) -> Args {
        let nums = list.iter().map(|a| a.trim().parse::<f64>().ok()).collect();
        let regexes = list.iter().map(|_| OnceLock::new()).collect();
        Args {
            list,
            nums,
            regexes,
            rawbody: false,
        }
    }

    /// The same arguments for a rule declared `rawbody` (as `image_to_text_ratio`
    /// in `rawbody __DC_IMG_HTML_RATIO eval:image_to_text_ratio(...)`),
    /// whose tests measure the undecorated text instead of the rendered.
    pub fn on_rawbody(mut self) -> Args {
        self.rawbody = true;
        self
    }

    /// Whether the rule was declared `rawbody`.
    pub(crate) fn is_rawbody(&self) -> bool {
        self.rawbody
    }

    /// Argument `i` as a number, when it parses as one.
    pub(crate) fn num(&self, i: usize) -> Option<f64> {
        self.nums.get(i).copied().flatten()
    }

    /// Argument `i` compiled as a Perl regex (backtracking bounded), once
    /// per rule; `None` when it is absent or does not compile.
    pub(crate) fn regex(&self, i: usize) -> Option<&fancy_regex::Regex> {
        let (pat, slot) = (self.list.get(i)?, self.regexes.get(i)?);
        slot.get_or_init(|| {
            fancy_regex::RegexBuilder::new(pat)
                .backtrack_limit(100_000)
                .build()
                .ok()
        })
        .as_ref()
    }
}

impl Clone for Args {
    fn clone(&self) -> Args {
        Args {
            rawbody: self.rawbody,
            ..Args::new(self.list.clone())
        }
    }
}

impl PartialEq for Args {
    fn eq(&self, other: &Args) -> bool {
        self.list == other.list && self.rawbody == other.rawbody
    }
}

impl std::fmt::Debug for Args {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Args").field(&self.list).finish()
    }
}

impl std::ops::Deref for Args {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.list
    }
}

/// A native eval test: the context and the rule's arguments; true when the
/// test hits.
pub type EvalFn = fn(&EvalCtx<'_, '_>, &Args) -> bool;

/// Every implemented function, sorted by name.
const TABLE: &[(&str, EvalFn)] = &[
    (
        "check_abundant_unicode_ratio",
        mime::check_abundant_unicode_ratio,
    ),
    ("check_all_trusted", relay::check_all_trusted),
    ("check_base64_length", mime::check_base64_length),
    ("check_bayes", body::check_bayes),
    ("check_blank_line_ratio", body::check_blank_line_ratio),
    ("check_body_8bits", body::check_body_8bits),
    ("check_body_length", body::check_body_length),
    ("check_equal_from_domains", header::check_equal_from_domains),
    (
        "check_for_ascii_text_illegal",
        mime::check_for_ascii_text_illegal,
    ),
    (
        "check_for_fake_aol_relay_in_rcvd",
        header::check_for_fake_aol_relay_in_rcvd,
    ),
    ("check_for_faraway_charset", mime::check_for_faraway_charset),
    (
        "check_for_faraway_charset_in_headers",
        mime::check_for_faraway_charset_in_headers,
    ),
    (
        "check_for_forged_eudoramail_received_headers",
        header::check_for_forged_eudoramail_received_headers,
    ),
    (
        "check_for_forged_gmail_received_headers",
        header::check_for_forged_gmail_received_headers,
    ),
    (
        "check_for_forged_gw05_received_headers",
        header::check_for_forged_gw05_received_headers,
    ),
    (
        "check_for_forged_hotmail_received_headers",
        header::check_for_forged_hotmail_received_headers,
    ),
    (
        "check_for_forged_juno_received_headers",
        header::check_for_forged_juno_received_headers,
    ),
    (
        "check_for_forged_received_ip_helo",
        relay::check_for_forged_received_ip_helo,
    ),
    (
        "check_for_forged_received_trail",
        relay::check_for_forged_received_trail,
    ),
    (
        "check_for_forged_yahoo_received_headers",
        header::check_for_forged_yahoo_received_headers,
    ),
    (
        "check_for_matching_env_and_hdr_from",
        header::check_for_matching_env_and_hdr_from,
    ),
    ("check_for_mime", mime::check_for_mime),
    ("check_for_mime_html", mime::check_for_mime_html),
    ("check_for_mime_html_only", mime::check_for_mime_html_only),
    (
        "check_for_missing_to_header",
        header::check_for_missing_to_header,
    ),
    (
        "check_for_no_hotmail_received_headers",
        header::check_for_no_hotmail_received_headers,
    ),
    (
        "check_for_no_rdns_dotcom_helo",
        relay::check_for_no_rdns_dotcom_helo,
    ),
    ("check_for_numeric_helo", relay::check_for_numeric_helo),
    ("check_for_shifted_date", header::check_for_shifted_date),
    ("check_for_to_in_subject", header::check_for_to_in_subject),
    ("check_for_uppercase", body::check_for_uppercase),
    (
        "check_forged_in_default_welcomelist",
        addr_lists::check_forged_in_default_welcomelist,
    ),
    (
        "check_forged_in_default_whitelist",
        addr_lists::check_forged_in_default_welcomelist,
    ),
    (
        "check_forged_in_welcomelist",
        addr_lists::check_forged_in_welcomelist,
    ),
    (
        "check_forged_in_whitelist",
        addr_lists::check_forged_in_welcomelist,
    ),
    ("check_freemail_from", freemail::check_freemail_from),
    ("check_freemail_header", freemail::check_freemail_header),
    ("check_freemail_replyto", freemail::check_freemail_replyto),
    (
        "check_from_in_blacklist",
        addr_lists::check_from_in_blocklist,
    ),
    (
        "check_from_in_blocklist",
        addr_lists::check_from_in_blocklist,
    ),
    (
        "check_from_in_default_welcomelist",
        addr_lists::check_from_in_default_welcomelist,
    ),
    (
        "check_from_in_default_whitelist",
        addr_lists::check_from_in_default_welcomelist,
    ),
    ("check_from_in_list", addr_lists::check_from_in_list),
    (
        "check_from_in_welcomelist",
        addr_lists::check_from_in_welcomelist,
    ),
    (
        "check_from_in_whitelist",
        addr_lists::check_from_in_welcomelist,
    ),
    ("check_header_count_range", header::check_header_count_range),
    ("check_https_http_mismatch", html::check_https_http_mismatch),
    ("check_illegal_chars", header::check_illegal_chars),
    ("check_language", body::check_language),
    ("check_ma_non_text", mime::check_ma_non_text),
    (
        "check_mailfrom_matches_rcvd",
        relay::check_mailfrom_matches_rcvd,
    ),
    (
        "check_messageid_not_usable",
        header::check_messageid_not_usable,
    ),
    (
        "check_mime_multipart_ratio",
        mime::check_mime_multipart_ratio,
    ),
    ("check_msg_parse_flags", mime::check_msg_parse_flags),
    ("check_no_relays", relay::check_no_relays),
    (
        "check_origin_broken_trail",
        relay::check_origin_broken_trail,
    ),
    (
        "check_origin_dynamic_direct",
        relay::check_origin_dynamic_direct,
    ),
    (
        "check_origin_forged_provider",
        relay::check_origin_forged_provider,
    ),
    ("check_origin_helo_ip", relay::check_origin_helo_ip),
    (
        "check_origin_helo_mismatch",
        relay::check_origin_helo_mismatch,
    ),
    (
        "check_origin_helo_own_domain",
        relay::check_origin_helo_own_domain,
    ),
    (
        "check_origin_impossible_date",
        relay::check_origin_impossible_date,
    ),
    (
        "check_origin_out_of_order",
        relay::check_origin_out_of_order,
    ),
    ("check_origin_proxy_trace", relay::check_origin_proxy_trace),
    (
        "check_origin_rdns_dynamic",
        relay::check_origin_rdns_dynamic,
    ),
    ("check_origin_rdns_none", relay::check_origin_rdns_none),
    ("check_origin_sobig_trace", relay::check_origin_sobig_trace),
    ("check_outlook_message_id", header::check_outlook_message_id),
    ("check_qp_ratio", mime::check_qp_ratio),
    (
        "check_ratware_envelope_from",
        header::check_ratware_envelope_from,
    ),
    ("check_ratware_name_id", header::check_ratware_name_id),
    ("check_relays_unparseable", relay::check_relays_unparseable),
    ("check_replyto_in_list", addr_lists::check_replyto_in_list),
    ("check_stock_info", body::check_stock_info),
    (
        "check_subject_in_blacklist",
        addr_lists::check_subject_in_blocklist,
    ),
    (
        "check_subject_in_blocklist",
        addr_lists::check_subject_in_blocklist,
    ),
    (
        "check_subject_in_welcomelist",
        addr_lists::check_subject_in_welcomelist,
    ),
    (
        "check_subject_in_whitelist",
        addr_lists::check_subject_in_welcomelist,
    ),
    ("check_to_in_all_spam", addr_lists::check_to_in_all_spam),
    ("check_to_in_blacklist", addr_lists::check_to_in_blocklist),
    ("check_to_in_blocklist", addr_lists::check_to_in_blocklist),
    ("check_to_in_list", addr_lists::check_to_in_list),
    ("check_to_in_more_spam", addr_lists::check_to_in_more_spam),
    (
        "check_to_in_welcomelist",
        addr_lists::check_to_in_welcomelist,
    ),
    ("check_to_in_whitelist", addr_lists::check_to_in_welcomelist),
    (
        "check_unresolved_template",
        header::check_unresolved_template,
    ),
    (
        "check_uri_host_in_blacklist",
        uri_hosts::check_uri_host_in_blocklist,
    ),
    (
        "check_uri_host_in_blocklist",
        uri_hosts::check_uri_host_in_blocklist,
    ),
    (
        "check_uri_host_in_welcomelist",
        uri_hosts::check_uri_host_in_welcomelist,
    ),
    (
        "check_uri_host_in_whitelist",
        uri_hosts::check_uri_host_in_welcomelist,
    ),
    ("check_uri_host_listed", uri_hosts::check_uri_host_listed),
    ("check_uri_truncated", html::check_uri_truncated),
    (
        "check_welcomelist_bounce_relays",
        bounce::check_welcomelist_bounce_relays,
    ),
    (
        "check_whitelist_bounce_relays",
        bounce::check_welcomelist_bounce_relays,
    ),
    (
        "gated_through_received_hdr_remover",
        header::gated_through_received_hdr_remover,
    ),
    ("have_any_bounce_relays", bounce::have_any_bounce_relays),
    ("helo_ip_mismatch", relay::helo_ip_mismatch),
    ("html_charset_faraway", html::html_charset_faraway),
    ("html_eval", html::html_eval),
    ("html_image_only", html::html_image_only),
    ("html_image_ratio", html::html_image_ratio),
    ("html_range", html::html_range),
    ("html_tag_balance", html::html_tag_balance),
    ("html_tag_exists", html::html_tag_exists),
    ("html_test", html::html_test),
    ("html_text_match", html::html_text_match),
    ("html_text_not_match", html::html_text_not_match),
    ("html_title_subject_ratio", html::html_title_subject_ratio),
    ("image_count", images::image_count),
    ("image_name_regex", images::image_name_regex),
    ("image_named", images::image_named),
    ("image_size_exact", images::image_size_exact),
    ("image_size_range", images::image_size_range),
    ("image_to_text_ratio", images::image_to_text_ratio),
    (
        "multipart_alternative_difference",
        mime::multipart_alternative_difference,
    ),
    (
        "multipart_alternative_difference_count",
        mime::multipart_alternative_difference_count,
    ),
    ("pixel_coverage", images::pixel_coverage),
    ("similar_recipients", header::similar_recipients),
    ("sorted_recipients", header::sorted_recipients),
    ("subject_is_all_caps", header::subject_is_all_caps),
    ("tvd_vertical_words", body::tvd_vertical_words),
];

/// The names, in the same order as `TABLE`.
const NAMES: &[&str] = &{
    let mut out = [""; TABLE.len()];
    let mut i = 0;
    while i < TABLE.len() {
        out[i] = TABLE[i].0;
        i += 1;
    }
    out
};

/// The native implementation of SpamAssassin eval function `name`, if any.
pub fn lookup(name: &str) -> Option<EvalFn> {
    TABLE
        .binary_search_by(|(n, _)| n.cmp(&name))
        .ok()
        .map(|i| TABLE[i].1)
}

/// Names of every eval function implemented natively, sorted.
pub fn names() -> &'static [&'static str] {
    NAMES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_complete() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
        for n in names() {
            assert!(lookup(n).is_some(), "{n}");
        }
        assert!(lookup("check_rbl").is_none());
    }
}
