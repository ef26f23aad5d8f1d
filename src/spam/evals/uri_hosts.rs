//! Named lists of link hosts, and SpamAssassin's WLBLEval test that reads
//! them.
//!
//! A rule file can name hosts and domains and gather them under a list
//! name:
//!
//! ```text
//! enlist_uri_host (SUSP_URI_NTLD) top click work
//! enlist_uri_host (MYLIST) !www.example.com example.com
//! header   PDS_OTHER_BAD_TLD eval:check_uri_host_listed('SUSP_URI_NTLD')
//! ```
//!
//! `check_uri_host_listed(LIST)` hits when a link in the message has a
//! host the list names. A list names a host when it names the host itself
//! or a domain above it (`example.com` names `www.example.com`, and `top`
//! names every host under the `.top` domain); the most specific entry
//! decides, so `!www.example.com` above keeps that one host out of a list
//! that holds its domain. An address stands for itself only. The hosts
//! are those SpamAssassin looks links up by: a valid name under a known
//! top-level domain, or an IP address; `mailto:` links are not read.
//!
//! `delist_uri_host [(LIST)] host ...` takes hosts out again (of every
//! list made so far when no list is named), and `blocklist_uri_host` and
//! `welcomelist_uri_host` (and their old names with black and white) add
//! to the lists `BLOCK` and `WELCOME`, which `check_uri_host_in_blocklist`
//! and `check_uri_host_in_welcomelist` read. The directives apply in the
//! order the files give them, as in SpamAssassin.
//!
//! ```
//! use filter::spam::evals::UriHostLists;
//!
//! let (lists, bad) = UriHostLists::from_settings([
//!     ("enlist_uri_host", "(MYLIST) !www.example.com example.com"),
//!     ("enlist_uri_host", "(MYLIST) 192.0.2.1"),
//! ]);
//! assert!(bad.is_empty());
//! assert!(lists.names("MYLIST", "mail.example.com"));
//! assert!(!lists.names("MYLIST", "www.example.com"));
//! assert!(!lists.names("MYLIST", "example.org"));
//! assert!(lists.names("MYLIST", "192.0.2.1"));
//! assert!(!lists.names("OTHER", "example.com"));
//! ```

use super::{Args, EvalCtx};
use crate::spam::regex::hash::Map;
use crate::spam::uri;

/// SpamAssassin looks up a host's last eleven names at most: the host
/// and the domains above it, minus the most specific ones of a very long
/// name.
const MAX_KEYS: usize = 11;

/// The named lists of hosts from `enlist_uri_host` and its kin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UriHostLists {
    /// The list names, in the order they were first named.
    names: Vec<String>,
    /// For each host or domain named: the lists that name it, each with
    /// its verdict (false for a `!` entry).
    ///
    /// The keys are the rule files'; a message's hosts only look them up,
    /// so the word-at-a-time hasher serves.
    entries: Map<String, Vec<(u32, bool)>>,
}

impl UriHostLists {
    /// The lists the directives make, applied in order; the other keys
    /// are ignored. Also returns, for each value that could not be read,
    /// the directive and why.
    pub fn from_settings<'a>(
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (UriHostLists, Vec<(String, String)>) {
        let mut lists = UriHostLists::default();
        let mut bad = Vec::new();
        for (key, value) in settings {
            let (list, hosts) = match key {
                "enlist_uri_host" | "delist_uri_host" => match list_and_hosts(value) {
                    (Some(list), hosts) => (Some(list), hosts),
                    (None, hosts) if key == "delist_uri_host" => (None, hosts),
                    _ => {
                        bad.push((key.to_string(), format!("missing '{key}' value")));
                        continue;
                    }
                },
                "blocklist_uri_host" | "blacklist_uri_host" => (Some("BLOCK"), value),
                "welcomelist_uri_host" | "whitelist_uri_host" => (Some("WELCOME"), value),
                _ => continue,
            };
            let hosts = hosts
                .split(|c: char| c.is_ascii_whitespace())
                .filter(|h| !h.is_empty())
                .map(|h| h.to_ascii_lowercase());
            if key == "delist_uri_host" {
                let only = list.map(|l| lists.names.iter().position(|n| n == l));
                for host in hosts {
                    let host = host.strip_prefix('!').unwrap_or(&host);
                    if let Some(e) = lists.entries.get_mut(host) {
                        e.retain(|&(i, _)| only.is_some_and(|o| o != Some(i as usize)));
                    }
                }
                lists.entries.retain(|_, e| !e.is_empty());
            } else {
                let i = lists.index_or_add(list.unwrap_or_default());
                for host in hosts {
                    let (host, yes) = match host.strip_prefix('!') {
                        Some(h) => (h.to_string(), false),
                        None => (host, true),
                    };
                    let e = lists.entries.entry(host).or_default();
                    match e.iter_mut().find(|(j, _)| *j == i) {
                        Some(slot) => slot.1 = yes,
                        None => e.push((i, yes)),
                    }
                }
            }
        }
        (lists, bad)
    }

    fn index_or_add(&mut self, name: &str) -> u32 {
        let i = match self.names.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                self.names.push(name.to_string());
                self.names.len() - 1
            }
        };
        i as u32
    }

    /// No list holds a host.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether list `list` names `host` (lower case): the most specific
    /// of the host and the domains above it that the list has an entry
    /// for is not a `!` entry.
    pub fn names(&self, list: &str, host: &str) -> bool {
        let Some(i) = self.names.iter().position(|n| n == list) else {
            return false;
        };
        let mut listed = vec![false; self.names.len()];
        let mut decided = listed.clone();
        self.mark(host, &mut listed, &mut decided);
        listed[i]
    }

    /// Sets `listed[i]` for each list `i` that names `host`; `decided` is
    /// scratch of the same length.
    fn mark(&self, host: &str, listed: &mut [bool], decided: &mut [bool]) {
        decided.fill(false);
        let mut decide = |key: &str| {
            for &(i, yes) in self.entries.get(key).into_iter().flatten() {
                let i = i as usize;
                if !decided[i] {
                    decided[i] = true;
                    listed[i] |= yes;
                }
            }
        };
        let literal = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        if let Some(ip) = literal {
            decide(ip);
        } else if host.parse::<std::net::Ipv4Addr>().is_ok() {
            decide(host);
        } else if !host.is_empty() {
            // The host, then each domain above it (a leading label and its
            // dot taken off at a time), keeping the last MAX_KEYS.
            let keys = std::iter::successors(Some(host), |h| h.split_once('.').map(|x| x.1));
            let skip = keys.clone().count().saturating_sub(MAX_KEYS);
            keys.skip(skip).for_each(decide);
        }
    }

    /// For each list, whether it names a host of one of `uris` (canonical
    /// URIs, as [`crate::spam::Features::uris`] holds them).
    fn listed<'u>(&self, uris: impl IntoIterator<Item = &'u [u8]>) -> Vec<bool> {
        let mut listed = vec![false; self.names.len()];
        if self.is_empty() {
            return listed;
        }
        let (mut found, mut decided) = (listed.clone(), listed.clone());
        let mut host = String::new();
        // A host met again is looked up again, which changes nothing; the
        // variants of one link (which come together) share it, so a host
        // like the last one is skipped.
        for u in uris {
            let Ok(u) = std::str::from_utf8(u) else {
                continue;
            };
            if u.get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("mailto:"))
            {
                continue;
            }
            let Some(span) = uri::host_span(u) else {
                continue;
            };
            if span.eq_ignore_ascii_case(&host) {
                continue;
            }
            host.clear();
            host.push_str(span);
            host.make_ascii_lowercase();
            found.fill(false);
            self.mark(&host, &mut found, &mut decided);
            // Whether SpamAssassin would look the host up at all matters
            // only when a list names it, which is rare.
            let new = found.iter().zip(&listed).any(|(f, l)| *f && !*l);
            if new && uri::is_lookup_host(&host) {
                listed.iter_mut().zip(&found).for_each(|(l, f)| *l |= *f);
            }
        }
        listed
    }
}

/// `(LIST) host ...` read as SpamAssassin reads it: the name runs to the
/// first `)` followed by white space and more. Without such a name, the
/// whole value is the hosts.
pub(super) fn list_and_hosts(value: &str) -> (Option<&str>, &str) {
    if let Some(rest) = value.strip_prefix('(') {
        for (j, _) in rest.match_indices(')') {
            let after = &rest[j + 1..];
            let hosts = after.trim_start_matches(|c: char| c.is_ascii_whitespace());
            if j > 0 && hosts.len() < after.len() && !hosts.is_empty() {
                return (Some(&rest[..j]), hosts);
            }
        }
    }
    (None, value)
}

/// `check_uri_host_listed(LIST)`: a link in the message has a host that
/// list `LIST` names.
pub fn check_uri_host_listed(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    args.first().is_some_and(|list| ctx.uri_listed(list))
}

/// `check_uri_host_in_blocklist` (and its old name with black): list
/// `BLOCK`.
pub fn check_uri_host_in_blocklist(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    ctx.uri_listed("BLOCK")
}

/// `check_uri_host_in_welcomelist` (and its old name with white): list
/// `WELCOME`.
pub fn check_uri_host_in_welcomelist(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    ctx.uri_listed("WELCOME")
}

impl EvalCtx<'_, '_> {
    /// Whether list `list` names a host of the message's links, the lists
    /// worked out once per message.
    fn uri_listed(&self, list: &str) -> bool {
        let lists = &self.cfg.uri_hosts;
        let Some(i) = lists.names.iter().position(|n| n == list) else {
            return false;
        };
        self.memo
            .uri_listed
            .get_or_init(|| lists.listed(self.features.uris.iter()))[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(lines: &[(&str, &str)]) -> UriHostLists {
        let (l, bad) = UriHostLists::from_settings(lines.iter().copied());
        assert!(bad.is_empty(), "{bad:?}");
        l
    }

    #[test]
    fn the_most_specific_entry_decides() {
        let l = lists(&[
            ("enlist_uri_host", "(L) Example.COM !a.example.com"),
            ("enlist_uri_host", "(L) b.a.example.com"),
        ]);
        assert!(l.names("L", "example.com"));
        assert!(l.names("L", "x.example.com"));
        assert!(!l.names("L", "a.example.com"));
        assert!(!l.names("L", "x.a.example.com"));
        assert!(l.names("L", "b.a.example.com"));
        assert!(l.names("L", "c.b.a.example.com"));
        assert!(!l.names("L", "badexample.com"));
        assert!(!l.names("l", "example.com"));
    }

    #[test]
    fn addresses_match_only_themselves() {
        let l = lists(&[("enlist_uri_host", "(L) 192.0.2.1 2")]);
        assert!(l.names("L", "192.0.2.1"));
        // An address is looked up whole, never by its tail...
        assert!(!l.names("L", "192.0.2.2"));
        // ...but a name is, even one that ends in an address.
        assert!(l.names("L", "host.2"));
        assert!(l.names("L", "10.192.0.2.1"));
        let l = lists(&[("enlist_uri_host", "(L) 2001:db8::1")]);
        assert!(l.names("L", "[2001:db8::1]"));
    }

    #[test]
    fn long_names_keep_their_last_eleven() {
        let l = lists(&[("enlist_uri_host", "(L) l.k.j.i.h.g.f.e.d.c.b.a com")]);
        let host = "l.k.j.i.h.g.f.e.d.c.b.a";
        // Twelve names: the host itself is the one dropped.
        assert!(!l.names("L", host));
        assert!(l.names("L", "x.com"));
        // The eleventh from the top is looked up.
        let l = lists(&[("enlist_uri_host", "(L) k.j.i.h.g.f.e.d.c.b.a")]);
        assert!(l.names("L", host));
    }

    #[test]
    fn directives_apply_in_order() {
        let l = lists(&[
            ("enlist_uri_host", "(A) example.com example.net"),
            ("enlist_uri_host", "(B) example.com"),
            ("delist_uri_host", "(A) !example.com"),
            ("blocklist_uri_host", "bad.example"),
            ("whitelist_uri_host", "good.example"),
        ]);
        assert!(!l.names("A", "example.com"));
        assert!(l.names("A", "example.net"));
        assert!(l.names("B", "example.com"));
        assert!(l.names("BLOCK", "www.bad.example"));
        assert!(l.names("WELCOME", "good.example"));
        let l = lists(&[
            ("enlist_uri_host", "(A) example.com"),
            ("enlist_uri_host", "(B) example.com"),
            ("delist_uri_host", "example.com"),
            ("enlist_uri_host", "(C) example.com"),
        ]);
        assert!(!l.names("A", "example.com") && !l.names("B", "example.com"));
        assert!(l.names("C", "example.com"));
        // A later entry for the same host and list replaces the earlier.
        let l = lists(&[
            ("enlist_uri_host", "(A) example.com"),
            ("enlist_uri_host", "(A) !example.com"),
        ]);
        assert!(!l.names("A", "example.com"));
    }

    #[test]
    fn list_names_are_read_as_spamassassin_reads_them() {
        assert_eq!(list_and_hosts("(A) x y"), (Some("A"), "x y"));
        assert_eq!(list_and_hosts("(A B) x"), (Some("A B"), "x"));
        assert_eq!(list_and_hosts("(A)x) y"), (Some("A)x"), "y"));
        assert_eq!(list_and_hosts("(A) "), (None, "(A) "));
        assert_eq!(list_and_hosts("() x"), (None, "() x"));
        assert_eq!(list_and_hosts("x y"), (None, "x y"));
        let (_, bad) = UriHostLists::from_settings([
            ("enlist_uri_host", "example.com"),
            ("enlist_uri_host", "(A)"),
            ("delist_uri_host", "example.com"),
        ]);
        assert_eq!(bad.len(), 2);
    }

    #[test]
    fn links_are_read_by_their_hosts() {
        let l = lists(&[("enlist_uri_host", "(L) top 192.0.2.7 !ok.top")]);
        let hit = |uris: &[&str]| l.listed(uris.iter().map(|u| u.as_bytes()))[0];
        assert!(hit(&["http://www.shop.top/x"]));
        assert!(hit(&["https://user@Shop.TOP:8080/"]));
        assert!(hit(&["http://192.0.2.7/"]));
        assert!(hit(&["http://ok.top/", "http://x.top/"]));
        assert!(!hit(&["http://ok.top/"]));
        assert!(!hit(&["mailto:someone@shop.top"]));
        assert!(!hit(&["http://www.example.com/shop.top"]));
        assert!(!hit(&["http://shop.notatld/"]));
        assert!(!hit(&[]));
    }
}
