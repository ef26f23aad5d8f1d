//! Lists of mail addresses from the rule files, and SpamAssassin's
//! WLBLEval and WelcomeListSubject tests that read them.
//!
//! A site's configuration names the senders it always wants
//! (`welcomelist_from`), never wants (`blocklist_from`), recipients who
//! want everything (`all_spam_to`), and named lists of its own; the stock
//! rules ship some, such as the banks and payment services that phish
//! mail pretends to come from:
//!
//! ```text
//! enlist_addrlist (PAYPAL) *@paypal.com *@*.paypal.com
//! header __FROM_ADDRLIST_PAYPAL eval:check_from_in_list('PAYPAL')
//! welcomelist_from_rcvd *@example.com mail.example.com
//! ```
//!
//! Entries are file-glob patterns over the whole address, case ignored:
//! `*` stands for any run of characters and `?` for one. Most patterns
//! end in a literal (`@paypal.com`), so each list keeps those ends,
//! reversed, in one automaton: reading an address backwards from its end
//! finds the few patterns worth trying, in a pass no longer than the
//! longest end. A pattern is then tried in time proportional to the
//! address's length times its own.
//!
//! The senders checked are SpamAssassin's: the Resent-From addresses
//! when there are any, else those of From, Envelope-Sender,
//! Resent-Sender, X-Envelope-From and the envelope sender. The recipients
//! are those of Resent-To and Resent-Cc, else the `for` clauses of the
//! newest three Received lines and a dozen To-like headers (To, Cc,
//! Delivered-To, X-Original-To, ...).
//!
//! `welcomelist_from_rcvd ADDR HOST` and `def_welcomelist_from_rcvd`
//! welcome a sender only when the mail came through HOST: the newest
//! untrusted relay's reverse name ends in HOST, or its address is HOST
//! written `[192.0.2.1]`, `[192.0.2.0/24]` or `[2001:db8::/32]` (when
//! every relay is trusted, any of them). A sender that matches ADDR but
//! came another way is a forgery (`check_forged_in_welcomelist`), unless
//! `welcomelist_allows_relays` names it.
//!
//! `welcomelist_subject` and `blocklist_subject` take the whole value as
//! one pattern, found anywhere in the Subject.
//!
//! ```
//! use filter::spam::evals::AddrLists;
//!
//! let (lists, bad) = AddrLists::from_settings([
//!     ("enlist_addrlist", "(PAYPAL) *@paypal.com *@*.paypal.com"),
//!     ("blocklist_from", "spam?@example.com"),
//! ]);
//! assert!(bad.is_empty());
//! assert!(lists.has("PAYPAL", "Service@PayPal.com"));
//! assert!(lists.has("PAYPAL", "service@mail.paypal.com"));
//! assert!(!lists.has("PAYPAL", "paypal.com@phish.example"));
//! assert!(lists.has("blocklist_from", "spam1@example.com"));
//! assert!(!lists.has("blocklist_from", "spam12@example.com"));
//! ```

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::{Anchored, MatchKind, StartKind};

use super::{Args, EvalCtx, util};
use crate::spam::origin::net::Cidr;

/// One list's patterns, lower case, in the order given, and an index of
/// their literal ends.
#[derive(Debug, Clone, Default)]
struct Globs {
    keys: Vec<String>,
    /// Each key as matched: NUL, `\` and `(` made `_`, as SpamAssassin's
    /// "paranoia" rewrites them.
    globs: Vec<String>,
    /// The literal tail of each glob that has one (what follows its last
    /// `*` or `?`), reversed, in an anchored automaton: walking an
    /// address from its end finds the only patterns it can match.
    tails: Option<DFA>,
    /// The pattern of each tail.
    tail_of: Vec<usize>,
    /// Patterns without a tail, and those with a character the rewrite
    /// changed (an address equal to the key matches too): always tried.
    always: Vec<usize>,
}

/// One `welcomelist_from_rcvd` entry: the address pattern and the hosts
/// or networks its mail must come through.
#[derive(Debug, Clone)]
struct Rcvd {
    key: String,
    via: Vec<String>,
}

/// The address lists the rule files make.
#[derive(Debug, Clone, Default)]
pub struct AddrLists {
    /// By setting or list name: `welcomelist_from`, `blocklist_to`,
    /// `PAYPAL`, ... (`enlist_addrlist` names share the settings' space,
    /// as in SpamAssassin).
    lists: Vec<(String, Globs)>,
    /// `welcomelist_from_rcvd`, then `def_welcomelist_from_rcvd`.
    rcvd: [Vec<Rcvd>; 2],
}

/// SpamAssassin's rewrite of a pattern's NUL, `\` and `(` into `_`.
fn paranoia(key: &str) -> String {
    key.replace(['\0', '\\', '('], "_")
}

/// Whether `text` matches the glob `pat` as a whole: `*` any run of
/// characters but line breaks, `?` one character but a line break, the
/// rest itself. The pieces between stars are found leftmost first, which
/// is exact for such globs; the work is the text's length times the
/// pattern's.
fn glob_match(pat: &str, text: &str) -> bool {
    if text.contains('\n') {
        return false;
    }
    let t: Vec<char> = text.chars().collect();
    let fits = |seg: &[char], at: &[char]| {
        seg.len() == at.len() && seg.iter().zip(at).all(|(p, c)| *p == '?' || p == c)
    };
    let segs: Vec<Vec<char>> = pat.split('*').map(|s| s.chars().collect()).collect();
    let (first, last) = (&segs[0], &segs[segs.len() - 1]);
    if segs.len() == 1 {
        return fits(first, &t);
    }
    if t.len() < first.len() + last.len()
        || !fits(first, &t[..first.len()])
        || !fits(last, &t[t.len() - last.len()..])
    {
        return false;
    }
    let (mut at, end) = (first.len(), t.len() - last.len());
    for seg in &segs[1..segs.len() - 1] {
        let last = end.checked_sub(seg.len()).filter(|&l| l >= at);
        let Some(i) = last.and_then(|l| (at..=l).find(|&i| fits(seg, &t[i..i + seg.len()]))) else {
            return false;
        };
        at = i + seg.len();
    }
    true
}

/// The list names SpamAssassin's old directive names stand for.
fn setting(key: &str) -> &str {
    match key {
        "whitelist_from" => "welcomelist_from",
        "unwhitelist_from" => "unwelcomelist_from",
        "blacklist_from" => "blocklist_from",
        "unblacklist_from" => "unblocklist_from",
        "whitelist_to" => "welcomelist_to",
        "blacklist_to" => "blocklist_to",
        "whitelist_allows_relays" => "welcomelist_allows_relays",
        "whitelist_from_rcvd" => "welcomelist_from_rcvd",
        "def_whitelist_from_rcvd" => "def_welcomelist_from_rcvd",
        "unwhitelist_from_rcvd" => "unwelcomelist_from_rcvd",
        "whitelist_subject" => "welcomelist_subject",
        "blacklist_subject" => "blocklist_subject",
        "whitelist_bounce_relays" => "welcomelist_bounce_relays",
        k => k,
    }
}

fn words(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(|c: char| c.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
}

impl AddrLists {
    /// The lists the directives make, applied in order; other keys are
    /// ignored. Also returns, for each value that could not be read, the
    /// directive and why.
    pub fn from_settings<'a>(
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (AddrLists, Vec<(String, String)>) {
        let mut lists = AddrLists::default();
        let mut bad = Vec::new();
        for (key, value) in settings {
            let name = setting(key);
            let known = matches!(
                name,
                "welcomelist_from"
                    | "unwelcomelist_from"
                    | "blocklist_from"
                    | "unblocklist_from"
                    | "welcomelist_to"
                    | "blocklist_to"
                    | "more_spam_to"
                    | "all_spam_to"
                    | "welcomelist_allows_relays"
                    | "enlist_addrlist"
                    | "welcomelist_from_rcvd"
                    | "def_welcomelist_from_rcvd"
                    | "unwelcomelist_from_rcvd"
                    | "welcomelist_subject"
                    | "blocklist_subject"
                    | "welcomelist_bounce_relays"
            );
            if !known {
                continue;
            }
            let mut fail = |why: &str| bad.push((key.to_string(), format!("{why} '{key}' value")));
            if value.trim().is_empty() {
                fail("missing");
                continue;
            }
            match name {
                "unwelcomelist_from" | "unblocklist_from" => {
                    let list = lists.list(&name[2..]);
                    let gone: Vec<String> = words(value).collect();
                    list.keys.retain(|k| !gone.contains(k));
                }
                "enlist_addrlist" => match super::uri_hosts::list_and_hosts(value) {
                    (Some(list), addrs) => lists.list(list).add(words(addrs)),
                    _ => fail("missing"),
                },
                "welcomelist_from_rcvd" | "def_welcomelist_from_rcvd" => {
                    let w: Vec<String> = words(value).collect();
                    let [addr, via] = w.as_slice() else {
                        fail("invalid");
                        continue;
                    };
                    let slot = &mut lists.rcvd[usize::from(name.starts_with("def_"))];
                    if let Some(e) = slot.iter_mut().find(|e| e.key == *addr) {
                        e.via.push(via.clone());
                    } else {
                        slot.push(Rcvd {
                            key: addr.clone(),
                            via: vec![via.clone()],
                        });
                    }
                }
                "unwelcomelist_from_rcvd" => {
                    let gone: Vec<String> = words(value).collect();
                    for slot in &mut lists.rcvd {
                        slot.retain(|e| !gone.contains(&e.key));
                    }
                }
                "welcomelist_subject" | "blocklist_subject" => {
                    let pattern = value.to_ascii_lowercase();
                    lists.list(name).add([pattern]);
                }
                _ => lists.list(name).add(words(value)),
            }
        }
        for (_, g) in &mut lists.lists {
            g.index();
        }
        (lists, bad)
    }

    fn list(&mut self, name: &str) -> &mut Globs {
        let i = match self.lists.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                self.lists.push((name.to_string(), Globs::default()));
                self.lists.len() - 1
            }
        };
        &mut self.lists[i].1
    }

    /// Whether list `name` has a pattern that `text` (an address, or a
    /// Subject for the subject lists) matches, case ignored.
    pub fn has(&self, name: &str, text: &str) -> bool {
        let Some((n, g)) = self.lists.iter().find(|(n, _)| n == name) else {
            return false;
        };
        // Addresses mostly come lowercase already; copy only those that
        // do not.
        let text: std::borrow::Cow<'_, str> = if text.bytes().any(|b| b.is_ascii_uppercase()) {
            text.to_ascii_lowercase().into()
        } else {
            text.into()
        };
        if n.ends_with("_subject") {
            // Found anywhere in a line of the Subject.
            return g.globs.iter().any(|p| {
                let p = format!("*{p}*");
                text.split('\n').any(|line| glob_match(&p, line))
            });
        }
        let tried = |i: usize| g.keys[i] == text || glob_match(&g.globs[i], &text);
        if g.always.iter().any(|&i| tried(i)) {
            return true;
        }
        let Some(dfa) = &g.tails else {
            return false;
        };
        let Ok(mut sid) = dfa.start_state(Anchored::Yes) else {
            return false;
        };
        for &b in text.as_bytes().iter().rev() {
            sid = dfa.next_state(Anchored::Yes, sid, b);
            if dfa.is_dead(sid) {
                return false;
            }
            if !dfa.is_match(sid) {
                continue;
            }
            // A state also holds the tails that end its path; trying them
            // is only wasted work.
            for k in 0..dfa.match_len(sid) {
                if tried(g.tail_of[dfa.match_pattern(sid, k).as_usize()]) {
                    return true;
                }
            }
        }
        false
    }

    /// Whether list `name` exists and holds a pattern.
    pub(super) fn nonempty(&self, name: &str) -> bool {
        self.lists
            .iter()
            .any(|(n, g)| n == name && !g.keys.is_empty())
    }
}

impl Globs {
    fn add(&mut self, keys: impl IntoIterator<Item = String>) {
        for k in keys {
            if !self.keys.contains(&k) {
                self.keys.push(k);
            }
        }
    }

    /// Fills `globs`, `tails`, `tail_of` and `always` from `keys`.
    fn index(&mut self) {
        self.globs = self.keys.iter().map(|k| paranoia(k)).collect();
        let (mut tails, mut tail_of) = (Vec::new(), Vec::new());
        self.always.clear();
        for (i, g) in self.globs.iter().enumerate() {
            let tail = &g[g.rfind(['*', '?']).map_or(0, |j| j + 1)..];
            if tail.is_empty() || *g != self.keys[i] {
                self.always.push(i);
            } else {
                tails.push(tail.bytes().rev().collect::<Vec<u8>>());
                tail_of.push(i);
            }
        }
        self.tails = (!tails.is_empty())
            .then(|| {
                DFA::builder()
                    .start_kind(StartKind::Anchored)
                    .match_kind(MatchKind::Standard)
                    .build(&tails)
                    .ok()
            })
            .flatten();
        if self.tails.is_none() {
            // Too many tails for the automaton: try every pattern.
            self.always.append(&mut tail_of);
        }
        self.tail_of = tail_of;
    }
}

/// Whether relay host or network `via` (a `*_rcvd` entry's second word)
/// is the relay's: its reverse name ends in `via`, or its address is in
/// `[network]`.
fn relay_is(via: &str, rdns: &str, ip: &str) -> bool {
    if let Some(inner) = via.strip_prefix('[') {
        let Some((net, prefix)) = inner.split_once(']') else {
            return false;
        };
        let (Ok(net), Some(ip)) = (
            Cidr::parse(&format!("{net}{prefix}")),
            crate::spam::origin::net::parse_ip(ip),
        ) else {
            return false;
        };
        return net.contains(ip.0);
    }
    let rdns = rdns.to_ascii_lowercase();
    rdns.strip_suffix(via)
        .is_some_and(|head| head.is_empty() || head.ends_with('.'))
}

impl EvalCtx<'_, '_> {
    /// SpamAssassin's `all_from_addrs`, memoized.
    pub(super) fn all_from(&self) -> &[String] {
        self.memo.all_from.get_or_init(|| {
            let resent = first_addrs(self, "Resent-From");
            let mut v = if resent.is_empty() {
                let mut v: Vec<String> = Vec::new();
                for h in [
                    "From",
                    "Envelope-Sender",
                    "Resent-Sender",
                    "X-Envelope-From",
                ] {
                    v.extend(util::addrs(self.msg, h));
                }
                let env = self.envelope_from();
                if !env.is_empty() {
                    v.extend(
                        crate::mime::address::parse_list(env.as_bytes())
                            .0
                            .into_iter()
                            .map(|a| a.email),
                    );
                }
                v.iter().map(|a| squeeze_dots(a)).collect()
            } else {
                resent
            };
            v.retain(|a| !a.is_empty());
            dedup(&mut v);
            v
        })
    }

    /// SpamAssassin's `all_to_addrs`, memoized.
    fn all_to(&self) -> &[String] {
        self.memo.all_to.get_or_init(|| {
            let mut v = first_addrs(self, "Resent-To");
            v.extend(first_addrs(self, "Resent-Cc"));
            if v.is_empty() {
                for line in self.received().iter().take(3) {
                    if let Some(a) = received_for(line) {
                        v.push(a.to_string());
                    }
                }
                for h in [
                    "To",
                    "Apparently-To",
                    "Delivered-To",
                    "Envelope-Recipients",
                    "Apparently-Resent-To",
                    "X-Envelope-To",
                    "Envelope-To",
                    "X-Delivered-To",
                    "X-Original-To",
                    "X-Rcpt-To",
                    "X-Real-To",
                    "Cc",
                ] {
                    v.extend(util::addrs(self.msg, h));
                }
            }
            dedup(&mut v);
            v
        })
    }

    fn lists(&self) -> &AddrLists {
        &self.cfg.addrs
    }

    /// Whether a sender is on list `name`.
    fn sender_in(&self, name: &str) -> bool {
        self.lists().nonempty(name) && self.all_from().iter().any(|a| self.lists().has(name, a))
    }

    /// Whether a recipient is on list `name`.
    fn recipient_in(&self, name: &str) -> bool {
        self.lists().nonempty(name) && self.all_to().iter().any(|a| self.lists().has(name, a))
    }

    /// SpamAssassin's `_check_welcomelist_rcvd` over the senders, for list
    /// `which` (0 `welcomelist_from_rcvd`, 1 the default one): 1 when a
    /// sender matches an entry and came through its relay, -1 when one
    /// matches but came another way (and may not), 0 otherwise. With
    /// `plain`, a sender on `welcomelist_from` counts as 1 first.
    fn welcomed(&self, which: usize, plain: bool) -> i8 {
        let lists = self.lists();
        if lists.rcvd[which].is_empty() && !(plain && lists.nonempty("welcomelist_from")) {
            return 0;
        }
        let chain = &self.origin().chain;
        let relays = match chain.untrusted().first() {
            Some(r) => std::slice::from_ref(r),
            None => chain.trusted(),
        };
        let mut found = 0;
        for addr in self.all_from() {
            if plain && lists.has("welcomelist_from", addr) {
                return 1;
            }
            if relays.is_empty() {
                continue;
            }
            let addr = addr.to_ascii_lowercase();
            let mut forged = false;
            for e in lists.rcvd[which]
                .iter()
                .filter(|e| glob_match(&paranoia(&e.key), &addr))
            {
                let via_ok = e
                    .via
                    .iter()
                    .any(|via| relays.iter().any(|r| relay_is(via, &r.rdns, &r.ip)));
                if via_ok {
                    return 1;
                }
                forged = true;
            }
            if forged && !lists.has("welcomelist_allows_relays", &addr) {
                found = -1;
            }
        }
        found
    }
}

/// The addresses of the first instance of header `name`.
fn first_addrs(ctx: &EvalCtx<'_, '_>, name: &str) -> Vec<String> {
    ctx.msg
        .headers(ctx.msg.root(), name)
        .next()
        .map(|v| {
            crate::mime::address::parse_list(v)
                .0
                .into_iter()
                .map(|a| a.email)
                .filter(|e| !e.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// An address with each run of dots made one (`foo@bar..com`).
fn squeeze_dots(a: &str) -> String {
    let mut out = String::with_capacity(a.len());
    for c in a.chars() {
        if !(c == '.' && out.ends_with('.')) {
            out.push(c);
        }
    }
    out
}

fn dedup(v: &mut Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    v.retain(|a| seen.insert(a.clone()));
}

/// The recipient of a Received line's `for` clause, as SpamAssassin finds
/// it (` for <ADDR>;` or ` for ADDR;`, the domain a valid host name).
fn received_for(line: &str) -> Option<&str> {
    for (i, _) in line.match_indices(" for ") {
        let rest = line[i + 5..].strip_prefix('<').unwrap_or(&line[i + 5..]);
        let word = &rest[..rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len())];
        let Some(word) = word.strip_suffix(';') else {
            continue;
        };
        let addr = word.strip_suffix('>').unwrap_or(word);
        let Some((local, domain)) = addr.rsplit_once('@') else {
            continue;
        };
        if !local.is_empty() && crate::spam::uri::is_fqdn_valid(&domain.to_ascii_lowercase()) {
            return Some(addr);
        }
    }
    None
}

macro_rules! list_evals {
    ($($(#[$doc:meta])* $name:ident => $side:ident($list:literal);)*) => {
        $(
            $(#[$doc])*
            pub fn $name(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
                ctx.$side($list)
            }
        )*
    };
}

list_evals! {
    /// `check_from_in_blocklist` (and its old name with black): a sender
    /// is on `blocklist_from`.
    check_from_in_blocklist => sender_in("blocklist_from");
    /// `check_to_in_blocklist`: a recipient is on `blocklist_to`.
    check_to_in_blocklist => recipient_in("blocklist_to");
    /// `check_to_in_welcomelist`: a recipient is on `welcomelist_to`.
    check_to_in_welcomelist => recipient_in("welcomelist_to");
    /// `check_to_in_more_spam`: a recipient is on `more_spam_to`.
    check_to_in_more_spam => recipient_in("more_spam_to");
    /// `check_to_in_all_spam`: a recipient is on `all_spam_to`.
    check_to_in_all_spam => recipient_in("all_spam_to");
}

/// `check_from_in_list(LIST)`: a sender is on list `LIST`
/// (`enlist_addrlist`).
pub fn check_from_in_list(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    args.first().is_some_and(|l| ctx.sender_in(l))
}

/// `check_to_in_list(LIST)`: a recipient is on list `LIST`.
pub fn check_to_in_list(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    args.first().is_some_and(|l| ctx.recipient_in(l))
}

/// `check_replyto_in_list(LIST)`: the (first) Reply-To address is on
/// list `LIST`.
pub fn check_replyto_in_list(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let Some(list) = args.first() else {
        return false;
    };
    if !ctx.lists().nonempty(list) {
        return false;
    }
    let reply_to = ctx.addr("Reply-To");
    !reply_to.is_empty() && ctx.lists().has(list, &reply_to)
}

/// `check_from_in_welcomelist`: a sender is on `welcomelist_from`, or on
/// `welcomelist_from_rcvd` and came through its relay.
pub fn check_from_in_welcomelist(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    ctx.welcomed(0, true) > 0
}

/// `check_from_in_default_welcomelist`: as [`check_from_in_welcomelist`]
/// for `def_welcomelist_from_rcvd`.
pub fn check_from_in_default_welcomelist(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    ctx.welcomed(1, false) > 0
}

/// `check_forged_in_welcomelist`: a sender matches a
/// `welcomelist_from_rcvd` entry but came through another relay, and the
/// default list does not vouch for it either.
pub fn check_forged_in_welcomelist(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    ctx.welcomed(0, true) < 0 && ctx.welcomed(1, false) == 0
}

/// `check_forged_in_default_welcomelist`: as
/// [`check_forged_in_welcomelist`], the lists the other way round.
pub fn check_forged_in_default_welcomelist(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    ctx.welcomed(1, false) < 0 && ctx.welcomed(0, true) == 0
}

/// The Subject lists: a pattern found anywhere in the Subject.
fn subject_in(ctx: &EvalCtx<'_, '_>, list: &str) -> bool {
    if !ctx.lists().nonempty(list) {
        return false;
    }
    let subject = ctx.get("Subject");
    !subject.is_empty() && ctx.lists().has(list, &subject)
}

/// `check_subject_in_welcomelist`: `welcomelist_subject`.
pub fn check_subject_in_welcomelist(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    subject_in(ctx, "welcomelist_subject")
}

/// `check_subject_in_blocklist`: `blocklist_subject`.
pub fn check_subject_in_blocklist(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    subject_in(ctx, "blocklist_subject")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(lines: &[(&str, &str)]) -> AddrLists {
        let (l, bad) = AddrLists::from_settings(lines.iter().copied());
        assert!(bad.is_empty(), "{bad:?}");
        l
    }

    #[test]
    fn globs_match_whole_addresses() {
        let l = lists(&[(
            "welcomelist_from",
            "*@example.com a?c@x.org *.*@dots.example",
        )]);
        let w = |a: &str| l.has("welcomelist_from", a);
        assert!(w("joe@example.com") && w("JOE@EXAMPLE.COM") && w("@example.com"));
        assert!(!w("joe@example.com.evil") && !w("joe@sub.example.com"));
        assert!(w("abc@x.org") && !w("ac@x.org") && !w("abbc@x.org"));
        assert!(w("a.b@dots.example") && !w("ab@dots.example"));
        // Metacharacters are literal; `(` stands for `_`.
        let l = lists(&[("blocklist_from", "a+b@x.org c(d@x.org")]);
        assert!(l.has("blocklist_from", "a+b@x.org") && !l.has("blocklist_from", "aab@x.org"));
        assert!(l.has("blocklist_from", "c_d@x.org") && l.has("blocklist_from", "c(d@x.org"));
    }

    #[test]
    fn directives_apply_in_order() {
        let l = lists(&[
            ("whitelist_from", "a@x.org b@x.org"),
            ("unwelcomelist_from", "A@X.ORG"),
            ("blacklist_from", "*@spam.example"),
            ("unblacklist_from", "*@spam.example"),
            ("enlist_addrlist", "(BANKS) *@bank.example"),
            ("enlist_addrlist", "(welcomelist_to) me@x.org"),
        ]);
        assert!(!l.has("welcomelist_from", "a@x.org") && l.has("welcomelist_from", "b@x.org"));
        assert!(!l.has("blocklist_from", "x@spam.example"));
        assert!(l.has("BANKS", "alerts@bank.example"));
        assert!(l.has("welcomelist_to", "me@x.org"));
        let (_, bad) = AddrLists::from_settings([
            ("welcomelist_from", ""),
            ("enlist_addrlist", "*@x.org"),
            ("welcomelist_from_rcvd", "a@x.org"),
            ("def_welcomelist_from_rcvd", "a@x.org b c"),
        ]);
        assert_eq!(bad.len(), 4, "{bad:?}");
    }

    /// The regex SpamAssassin compiles a glob into, as the oracle.
    fn glob_oracle(pat: &str, text: &str) -> bool {
        let mut re = String::from("^");
        for c in pat.chars() {
            match c {
                '*' => re.push_str(".*"),
                '?' => re.push('.'),
                c => re.push_str(&regex_syntax::escape(c.encode_utf8(&mut [0; 4]))),
            }
        }
        re.push('$');
        regex::Regex::new(&re).unwrap().is_match(text)
    }

    proptest::proptest! {
        #[test]
        fn globs_match_as_their_regexes(pat in "[ab.@*?]{0,8}", text in "[ab.@é]{0,12}") {
            proptest::prop_assert_eq!(glob_match(&pat, &text), glob_oracle(&pat, &text), "{:?} {:?}", pat, text);
        }

        #[test]
        fn tails_find_every_match(
            pats in proptest::collection::vec("[ab@.*?]{1,6}", 1..6),
            text in "[ab@.]{0,10}",
        ) {
            let l = lists(&[("blocklist_from", &pats.join(" "))]);
            let want = pats.iter().any(|p| glob_oracle(p, &text));
            proptest::prop_assert_eq!(l.has("blocklist_from", &text), want);
        }
    }

    #[test]
    fn subjects_match_anywhere() {
        let l = lists(&[("welcomelist_subject", "[Project *] weekly")]);
        let s = |t: &str| l.has("welcomelist_subject", t);
        assert!(s("Re: [Project X] Weekly report\n"));
        assert!(!s("[Project X]\n weekly"));
        assert!(!s("[project x] daily"));
    }

    #[test]
    fn relays_by_name_or_network() {
        assert!(relay_is("example.com", "mail.Example.com", "192.0.2.1"));
        assert!(relay_is("example.com", "example.com", "192.0.2.1"));
        assert!(!relay_is("example.com", "badexample.com", "192.0.2.1"));
        assert!(relay_is("[192.0.2.1]", "", "192.0.2.1"));
        assert!(!relay_is("[192.0.2.1]", "", "192.0.2.10"));
        assert!(relay_is("[192.0.2.0/24]", "", "192.0.2.10"));
        assert!(relay_is("[192.0.2.0]/24", "", "192.0.2.10"));
        assert!(relay_is("[192.0.]", "", "192.0.7.10"));
        assert!(relay_is("[2001:db8::/32]", "", "2001:db8::5"));
        assert!(!relay_is("[bogus]", "", "192.0.2.1"));
    }

    #[test]
    fn received_for_clauses() {
        assert_eq!(
            received_for("from a by b with SMTP id 1 for <me@example.org>; Mon, 1 Jan 2024"),
            Some("me@example.org")
        );
        assert_eq!(
            received_for("by b for me@example.org; x"),
            Some("me@example.org")
        );
        assert_eq!(received_for("by b for <me@localhost>; x"), None);
        assert_eq!(
            received_for("by b for <me@example.org> (single-drop); x"),
            None
        );
    }
}
