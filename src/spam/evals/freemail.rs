//! SpamAssassin's FreeMail tests: is a sender's or a reply address one
//! of the free mail services anyone can sign up to?
//!
//! The stock rules list some 500 such domains (`freemail_domains
//! gmail.com hotmail.* yahoo.co*.*`). A domain with `*` or `?` is a
//! pattern: `*` stands for any run of characters within one label, `?`
//! for any one character. An address is free mail when its domain is on
//! the list, unless `freemail_welcomelist` names the address or its
//! domain, or its local part is a role or bounce address (`abuse@`,
//! `postmaster@`, `bounce-...@`, Gmail's forwarding and message-id
//! forms), which SpamAssassin never counts.
//!
//! ```text
//! header FREEMAIL_FROM              eval:check_freemail_from()
//! header FREEMAIL_ENVFROM_END_DIGIT eval:check_freemail_header('EnvelopeFrom', '\d@')
//! ```
//!
//! `check_freemail_from([REGEX])` asks of the senders (SpamAssassin's
//! `all_from_addrs`), `check_freemail_header(HEADER[, REGEX])` of the
//! addresses in one header (or the `EnvelopeFrom` pseudo-header); with a
//! REGEX, a free mail address must also match it.
//!
//! ```
//! use filter::spam::evals::FreeMail;
//!
//! let (fm, bad) = FreeMail::from_settings([
//!     ("freemail_domains", "gmail.com yahoo.co*.* *.free.hr"),
//!     ("freemail_welcomelist", "friend@gmail.com"),
//! ]);
//! assert!(bad.is_empty());
//! assert!(fm.is_freemail("joe123@gmail.com"));
//! assert!(fm.is_freemail("joe@yahoo.co.uk"));
//! assert!(fm.is_freemail("joe@mail.free.hr"));
//! assert!(!fm.is_freemail("joe@yahoo.co.uk.example"));
//! assert!(!fm.is_freemail("friend@gmail.com"));
//! assert!(!fm.is_freemail("postmaster@gmail.com"));
//! ```

use std::collections::HashSet;
use std::sync::LazyLock;

use regex_automata::meta::Regex;

use super::{Args, EvalCtx, util};

/// The free mail domains and their exceptions.
#[derive(Debug, Clone)]
pub struct FreeMail {
    domains: HashSet<String>,
    /// The domains with `*` or `?`, as one regex `@(?:...)$`.
    patterns: Option<Regex>,
    /// `freemail_welcomelist`: addresses and domains never counted.
    welcome: HashSet<String>,
    /// `freemail_max_body_emails` and `freemail_max_body_freemails`: at
    /// this many addresses (free mail ones) in the body, the body is not
    /// compared when `freemail_skip_when_over_max` is on.
    max_body: (usize, usize),
    skip_over_max: bool,
    /// `freemail_skip_bulk_envfrom`: no Reply-To test for mail whose
    /// envelope sender looks like a list's or a bounce address.
    skip_bulk: bool,
}

impl Default for FreeMail {
    fn default() -> FreeMail {
        FreeMail {
            domains: HashSet::new(),
            patterns: None,
            welcome: HashSet::new(),
            max_body: (5, 3),
            skip_over_max: true,
            skip_bulk: true,
        }
    }
}

/// The local parts SpamAssassin never counts as free mail: role and
/// bounce addresses, Gmail's message ids and forwarding addresses.
static NOT_PEOPLE: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)^(?:abuse|support|sales|info|helpdesk|contact|kontakt|(?:post|host|domain)master|undisclosed.*|request-[a-f0-9]{16}|bounced?-|[a-f0-9]{8}(?:\.[a-f0-9]{8}|-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12})|.+=.+=.+)@",
    )
    .expect("fixed regex")
});

impl FreeMail {
    /// The lists `freemail_domains` and `freemail_welcomelist` (or
    /// `freemail_whitelist`) make; other keys are ignored. Also returns,
    /// for each entry that could not be read, the directive and why.
    pub fn from_settings<'a>(
        settings: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> (FreeMail, Vec<(String, String)>) {
        let mut fm = FreeMail::default();
        let mut bad = Vec::new();
        let mut wild: Vec<String> = Vec::new();
        for (key, value) in settings {
            let entries = value
                .split(|c: char| c.is_ascii_whitespace())
                .filter(|w| !w.is_empty());
            match key {
                "freemail_domains" => {
                    for d in entries {
                        let ok = d
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"*?.-".contains(&b));
                        let d = d.to_ascii_lowercase();
                        if !ok {
                            bad.push((key.to_string(), format!("invalid freemail_domains: {d}")));
                        } else if d.contains(['*', '?']) {
                            if !wild.contains(&d) {
                                wild.push(d);
                            }
                        } else {
                            fm.domains.insert(d);
                        }
                    }
                }
                "freemail_welcomelist" | "freemail_whitelist" => {
                    for e in entries {
                        let e = e.to_ascii_lowercase();
                        let b = e.as_bytes();
                        let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
                        let ok = b
                            .windows(3)
                            .any(|w| word(w[0]) && (w[1] == b'.' || w[1] == b'@') && word(w[2]));
                        if ok {
                            fm.welcome.insert(e);
                        } else {
                            bad.push((
                                key.to_string(),
                                format!("invalid freemail_welcomelist: {e}"),
                            ));
                        }
                    }
                }
                "freemail_max_body_emails" | "freemail_max_body_freemails" => {
                    match value.trim().parse::<usize>() {
                        Ok(n) if key.ends_with("_emails") => fm.max_body.0 = n,
                        Ok(n) => fm.max_body.1 = n,
                        Err(_) => bad.push((key.to_string(), format!("invalid '{key}' value"))),
                    }
                }
                "freemail_skip_when_over_max" | "freemail_skip_bulk_envfrom" => {
                    let on = value.trim() != "0";
                    if key == "freemail_skip_bulk_envfrom" {
                        fm.skip_bulk = on;
                    } else {
                        fm.skip_over_max = on;
                    }
                }
                _ => {}
            }
        }
        if !wild.is_empty() {
            let alts: Vec<String> = wild
                .iter()
                .map(|d| {
                    d.chars()
                        .map(|c| match c {
                            '*' => "[^.]*".to_string(),
                            '?' => ".".to_string(),
                            c => regex_syntax::escape(c.encode_utf8(&mut [0; 4])),
                        })
                        .collect()
                })
                .collect();
            fm.patterns = Regex::new(&format!("@(?:{})$", alts.join("|"))).ok();
        }
        (fm, bad)
    }

    /// No domain is listed: the tests never hit.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty() && self.patterns.is_none()
    }

    /// Whether `email` (lower case) is a free mail address.
    pub fn is_freemail(&self, email: &str) -> bool {
        if email.is_empty() || self.welcome.contains(email) {
            return false;
        }
        let domain = email.rsplit_once('@').map_or(email, |(_, d)| d);
        if self.welcome.contains(domain) || NOT_PEOPLE.is_match(email) {
            return false;
        }
        self.domains.contains(domain) || self.patterns.as_ref().is_some_and(|re| re.is_match(email))
    }
}

/// Whether one of `emails` is free mail and, with a regex in argument
/// `arg` of `args`, matches it.
fn any_freemail<'e>(
    ctx: &EvalCtx<'_, '_>,
    emails: impl IntoIterator<Item = &'e str>,
    args: &Args,
    arg: usize,
) -> bool {
    let fm = &ctx.cfg.freemail;
    let re = if args.get(arg).is_some() {
        match args.regex(arg) {
            Some(re) => Some(re),
            // A regex SpamAssassin cannot compile fails the rule.
            None => return false,
        }
    } else {
        None
    };
    emails.into_iter().any(|e| {
        let e = e.to_ascii_lowercase();
        fm.is_freemail(&e) && re.is_none_or(|re| re.is_match(&e).unwrap_or(false))
    })
}

/// `check_freemail_from([REGEX])`: a sender is free mail.
pub fn check_freemail_from(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    if ctx.cfg.freemail.is_empty() {
        return false;
    }
    any_freemail(ctx, ctx.all_from().iter().map(String::as_str), args, 0)
}

/// `check_freemail_header(HEADER[, REGEX])`: an address in HEADER (or the
/// `EnvelopeFrom` pseudo-header) is free mail.
pub fn check_freemail_header(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    if ctx.cfg.freemail.is_empty() {
        return false;
    }
    let Some(header) = args.first() else {
        return false;
    };
    let name = header.strip_suffix(":addr").unwrap_or(header);
    let emails: Vec<String> = if name == "EnvelopeFrom" {
        let env = ctx.envelope_from();
        crate::mime::address::parse_list(env.as_bytes())
            .0
            .into_iter()
            .map(|a| a.email)
            .filter(|e| !e.is_empty())
            .collect()
    } else {
        util::addrs(ctx.msg, name)
    };
    any_freemail(ctx, emails.iter().map(String::as_str), args, 1)
}

/// Local-part characters of SpamAssassin's FreeMail address regex.
fn local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b)
}

/// The addresses in `text` as SpamAssassin's FreeMail regex finds them,
/// leftmost first and not overlapping, each with where it starts and
/// ends: a local part of dot-separated runs of local-part characters (at
/// most 64 characters up to the `@`, starting at a boundary), then one to
/// four host labels and a known top-level domain that ends the name.
fn emails(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    for at in memchr::memchr_iter(b'@', b) {
        if at < from {
            continue;
        }
        // The local part: atoms back from the `@`, the earliest start in
        // reach of the lookahead's 64 characters.
        let mut start = None;
        let mut i = at;
        loop {
            let atom_end = i;
            while i > from && local_char(b[i - 1]) {
                i -= 1;
            }
            if i == atom_end {
                break;
            }
            if at - i <= 64 && text.is_char_boundary(i) {
                start = Some(i);
            }
            if i > from + 1 && b[i - 1] == b'.' && local_char(b[i - 2]) {
                i -= 1;
            } else {
                break;
            }
        }
        let Some(start) = start else {
            continue;
        };
        let Some(end) = domain_end(b, at + 1) else {
            continue;
        };
        out.push((start, end));
        from = end;
    }
    out
}

/// Where the host name starting at `i` ends: one to four labels and a
/// known top-level domain, the whole dotted name (so the TLD is its last
/// label); `None` when it is not such a name.
fn domain_end(b: &[u8], mut i: usize) -> Option<usize> {
    let mut labels = 0;
    loop {
        let s = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-') {
            i += 1;
        }
        let label = &b[s..i];
        let more = i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_alphanumeric();
        if label.is_empty() {
            return None;
        }
        if !more {
            let tld = std::str::from_utf8(label).ok()?;
            return ((1..=4).contains(&labels) && crate::spam::uri::is_tld(tld)).then_some(i);
        }
        let ok = label.len() <= 61 && label[0] != b'-' && label[label.len() - 1] != b'-';
        if !ok {
            return None;
        }
        labels += 1;
        i += 1;
    }
}

/// A line of the body with SpamAssassin's two cuts made: links with an
/// `@` in them (`https://host/x@y`), and addresses that are quoted
/// (`<a@b.com>`) or introduce something (`a@b.com wrote:`, but not `fax:`,
/// `tel:`, `phone:` or `mail:`).
fn cut_line(line: &str) -> String {
    let s = cut_links(line);
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (start, end) in emails(&s) {
        let b = s.as_bytes();
        if start < last {
            continue;
        }
        if start >= 7 && b[start - 7..start].eq_ignore_ascii_case(b"mailto:") {
            continue;
        }
        let open = if start > last && b[start - 1] == b'<' {
            start - 1
        } else {
            start
        };
        let stop = if b.get(end) == Some(&b'>') {
            Some(end + 1)
        } else {
            introduces(&s[end..]).map(|n| end + n)
        };
        if let Some(stop) = stop {
            out.push_str(&s[last..open]);
            out.push(' ');
            last = stop;
        }
    }
    out.push_str(&s[last..]);
    out
}

/// The length of `\s{1,10}WORD:` at the start of `rest` (WORD 2 to 11
/// letters, not fax, facsi, tel, phone or a mail word).
fn introduces(rest: &str) -> Option<usize> {
    let b = rest.as_bytes();
    let ws = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    if !(1..=10).contains(&ws) {
        return None;
    }
    let word = b[ws..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .count();
    if !(2..=11).contains(&word) || b.get(ws + word) != Some(&b':') {
        return None;
    }
    let w = rest[ws..ws + word].to_ascii_lowercase();
    let skip = [
        "fax", "facsi", "tel", "phone", "mail", "email", "e-mail", "-mail",
    ];
    (!skip.iter().any(|p| w.starts_with(p))).then_some(ws + word + 1)
}

/// `line` without `<?https?://` links that hold an `@` (or `%40`) in
/// their first 255 characters, each cut to 255 more after it.
fn cut_links(line: &str) -> String {
    let lower = line.to_ascii_lowercase();
    let mut out = String::with_capacity(line.len());
    let mut last = 0;
    let mut pos = 0;
    while let Some(k) = lower[pos..].find("http") {
        let h = pos + k;
        pos = h + 4;
        if h < last {
            continue;
        }
        let after = &lower[h + 4..];
        let scheme = if after.starts_with("://") {
            7
        } else if after.starts_with("s://") {
            8
        } else {
            continue;
        };
        let u = h + scheme;
        let run: Vec<(usize, char)> = line[u..]
            .char_indices()
            .take_while(|(_, c)| !c.is_whitespace())
            .collect();
        // The last `@` or `%40` within 255 characters.
        let at = (0..run.len().min(256)).rev().find_map(|j| {
            let off = run[j].0;
            let rest = &lower[u + off..];
            if rest.starts_with('@') {
                Some((j, 1))
            } else if rest.starts_with("%40") && j + 2 < run.len() {
                Some((j, 3))
            } else {
                None
            }
        });
        let Some((j, n)) = at else {
            continue;
        };
        let tail_from = j + n;
        let tail_to = (tail_from + 255).min(run.len());
        let run_len = run.last().map_or(0, |&(o, c)| o + c.len_utf8());
        let end = u + run.get(tail_to).map_or(run_len, |r| r.0);
        let open = if h > last && line.as_bytes()[h - 1] == b'<' {
            h - 1
        } else {
            h
        };
        out.push_str(&line[last..open]);
        out.push(' ');
        last = end;
        pos = end.max(pos);
    }
    out.push_str(&line[last..]);
    out
}

/// SpamAssassin's envelope senders that are lists or bounces.
static BULK_SENDER: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(?i)(?:^(?:post|host|domain)master|^double-bounce|^(?:sentto|owner|return|(?:gr)?bounced?)-.+|-(?:request|bounces?|admin|owner)|\b(?:do[._-t]?)?no[._-t]?repl(?:y|ies)|.+=.+)@",
    )
    .expect("fixed regex")
});

impl FreeMail {
    /// The free mail addresses of a body, lowercased, as SpamAssassin's
    /// FreeMail finds them: the first 20 `mailto:` links (`hrefs` may
    /// hold other links too), then up to 40 addresses in the rendered
    /// `lines` with quoted and linked addresses cut. `None` when the body
    /// has too many addresses, or free mail ones, to be compared
    /// (`freemail_max_body_emails`, `freemail_max_body_freemails`).
    ///
    /// ```
    /// use filter::spam::evals::FreeMail;
    ///
    /// let (fm, _) = FreeMail::from_settings([("freemail_domains", "gmail.com")]);
    /// let lines: [&[u8]; 2] = [b"Write to Joe@Gmail.com or sales@shop.example.com", b"<me@gmail.com>"];
    /// let found = fm.body_freemails(["mailto:ann@gmail.com?subject=hi"], lines);
    /// assert_eq!(found.unwrap(), ["ann@gmail.com", "joe@gmail.com"]);
    /// ```
    pub fn body_freemails<'t, 'l>(
        &self,
        hrefs: impl IntoIterator<Item = &'t str>,
        lines: impl IntoIterator<Item = &'l [u8]>,
    ) -> Option<Vec<String>> {
        let mut found: Vec<String> = Vec::new();
        let add = |found: &mut Vec<String>, e: &str| {
            let e = e.to_ascii_lowercase();
            if !found.contains(&e) {
                found.push(e);
            }
        };
        for href in hrefs {
            if found.len() >= 20 {
                break;
            }
            if href
                .get(..7)
                .is_some_and(|p| p.eq_ignore_ascii_case("mailto:"))
                && let Some(&(7, end)) = emails(href).first()
            {
                add(&mut found, &href[7..end]);
            }
        }
        'body: for line in lines {
            let line = String::from_utf8_lossy(line);
            let cut = cut_line(&line);
            for (s, e) in emails(&cut) {
                add(&mut found, &cut[s..e]);
                if found.len() >= 40 {
                    break 'body;
                }
            }
        }
        let (max_all, max_fm) = self.max_body;
        let mut freemails = Vec::new();
        for (n, e) in found.iter().enumerate() {
            if n + 1 == max_all && self.skip_over_max {
                return None;
            }
            if self.is_freemail(e) {
                if freemails.len() + 1 == max_fm && self.skip_over_max {
                    return None;
                }
                freemails.push(e.clone());
            }
        }
        Some(freemails)
    }
}

impl EvalCtx<'_, '_> {
    /// [`FreeMail::body_freemails`] of the message, memoized.
    fn body_freemails(&self) -> Option<&[String]> {
        self.memo
            .freemails
            .get_or_init(|| {
                let hrefs = self
                    .features
                    .html
                    .per_part
                    .iter()
                    .flat_map(|p| &p.facts.anchors)
                    .map(|(href, _)| href.as_str());
                let lines = self.features.body.iter();
                self.cfg.freemail.body_freemails(hrefs, lines)
            })
            .as_deref()
    }
}

/// `check_freemail_replyto([replyto|reply])`: From and Reply-To are
/// different free mail addresses; or, with `replyto` (the default), the
/// Reply-To is free mail and the body gives another free mail address;
/// with `reply`, the Reply-To (else the From) is free mail and the body
/// gives another. Mail from lists and bounces is left alone.
pub fn check_freemail_replyto(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let fm = &ctx.cfg.freemail;
    if fm.is_empty() {
        return false;
    }
    let reply = match args.first().map(String::as_str) {
        None | Some("replyto") => false,
        Some("reply") => true,
        Some(_) => return false,
    };
    if fm.skip_bulk && BULK_SENDER.is_match(ctx.envelope_from()) {
        return false;
    }
    let lower =
        |v: Vec<String>| -> Vec<String> { v.iter().map(|a| a.to_ascii_lowercase()).collect() };
    let from = lower(util::addrs(ctx.msg, "From"));
    let reply_to = lower(util::addrs(ctx.msg, "Reply-To"));
    let from_fm = from.iter().any(|a| fm.is_freemail(a));
    let reply_to_fm = reply_to.iter().any(|a| fm.is_freemail(a));
    let from_not_in_reply_to = !from.iter().any(|f| reply_to.contains(f));
    if from_fm && reply_to_fm && from_not_in_reply_to {
        return true;
    }
    let ours = if !reply {
        if !reply_to_fm {
            return false;
        }
        &reply_to
    } else if (!reply_to.is_empty() && !reply_to_fm) || !from_fm {
        return false;
    } else if reply_to_fm {
        &reply_to
    } else {
        &from
    };
    let Some(body) = ctx.body_freemails() else {
        return false;
    };
    body.iter().any(|b| ours.iter().any(|o| o != b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_text() {
        let found = |t: &str| -> Vec<String> {
            emails(t)
                .iter()
                .map(|&(s, e)| t[s..e].to_string())
                .collect()
        };
        assert_eq!(
            found("write to Joe.Bloggs@Mail.Example.co.uk today"),
            ["Joe.Bloggs@Mail.Example.co.uk"]
        );
        assert_eq!(found("a@b.com,c@d.org."), ["a@b.com", "c@d.org"]);
        assert_eq!(
            found("x@host.notatld y@a.b.c.d.e.com z@-a.com"),
            Vec::<String>::new()
        );
        assert_eq!(found("..joe@example.com"), ["joe@example.com"]);
        let long = format!("{}.joe@example.com", "a".repeat(70));
        assert_eq!(found(&long), ["joe@example.com"]);
        assert_eq!(found("joe@example.com.x"), Vec::<String>::new());
    }

    proptest::proptest! {
        #[test]
        fn any_line_cuts_safely(pieces in proptest::collection::vec(proptest::prop_oneof![
            proptest::strategy::Just("http://"), proptest::strategy::Just("https://"),
            proptest::strategy::Just("@"), proptest::strategy::Just("%40"),
            proptest::strategy::Just("<"), proptest::strategy::Just(">"),
            proptest::strategy::Just(" "), proptest::strategy::Just(" wrote:"),
            proptest::strategy::Just("发"), proptest::strategy::Just("joe"),
            proptest::strategy::Just("b.com"), proptest::strategy::Just("."),
            proptest::strategy::Just("mailto:"),
        ], 0..24)) {
            let line: String = pieces.concat();
            let cut = cut_line(&line);
            for (s, e) in emails(&cut) {
                proptest::prop_assert!(s < e && cut.is_char_boundary(s) && cut.is_char_boundary(e));
                proptest::prop_assert!(cut[s..e].contains('@'));
            }
            proptest::prop_assert!(cut.len() <= line.len());
        }
    }

    #[test]
    fn quoted_and_linked_addresses_are_cut() {
        assert_eq!(cut_line("From <joe@example.com> hi"), "From   hi");
        assert_eq!(cut_line("joe@example.com wrote: hi"), "  hi");
        assert_eq!(cut_line("joe@example.com fax: 1"), "joe@example.com fax: 1");
        assert_eq!(
            cut_line("mailto:joe@example.com>"),
            "mailto:joe@example.com>"
        );
        assert_eq!(cut_line("see <http://x.example/a@b.com> now"), "see   now");
        assert_eq!(cut_line("see https://x.example/a%40b.com now"), "see   now");
        assert_eq!(
            cut_line("see http://x.example/a now"),
            "see http://x.example/a now"
        );
    }

    #[test]
    fn domains_and_patterns() {
        let (fm, bad) = FreeMail::from_settings([
            ("freemail_domains", "GMail.com aol.* aol.co*.* fr?e.example"),
            ("freemail_domains", "bad_domain.com"),
        ]);
        assert_eq!(bad.len(), 1);
        assert!(fm.is_freemail("a@gmail.com") && !fm.is_freemail("a@mail.gmail.com"));
        assert!(fm.is_freemail("a@aol.com") && fm.is_freemail("a@aol.de"));
        assert!(fm.is_freemail("a@aol.co.uk") && fm.is_freemail("a@aol.com.br"));
        assert!(!fm.is_freemail("a@aol.co.uk.example") && !fm.is_freemail("a@x.aol.com"));
        assert!(fm.is_freemail("a@free.example") && fm.is_freemail("a@fr.e.example"));
        assert!(!fm.is_freemail(""));
        // As in SpamAssassin, a string without `@` is all domain.
        assert!(fm.is_freemail("gmail.com"));
    }

    #[test]
    fn people_only() {
        let (fm, _) = FreeMail::from_settings([
            ("freemail_domains", "gmail.com yahoo.com"),
            ("freemail_welcomelist", "friend@gmail.com yahoo.com"),
        ]);
        for e in [
            "friend@gmail.com",
            "x@yahoo.com",
            "abuse@gmail.com",
            "Support@gmail.com",
            "undisclosed-recipients@gmail.com",
            "bounced-@gmail.com",
            "request-0123456789abcdef@gmail.com",
            "0123abcd.4567cdef@gmail.com",
            "a=b=c@gmail.com",
        ] {
            assert!(!fm.is_freemail(&e.to_ascii_lowercase()), "{e}");
        }
        assert!(fm.is_freemail("supporter@gmail.com"));
        assert!(fm.is_freemail("bounce-123@gmail.com"));
        assert!(fm.is_freemail("joe.bloggs99@gmail.com"));
        let (_, bad) = FreeMail::from_settings([("freemail_welcomelist", "nodots")]);
        assert_eq!(bad.len(), 1);
    }

    #[test]
    fn body_limits() {
        let lines = |addrs: &[&str]| -> Vec<Vec<u8>> {
            addrs
                .iter()
                .map(|a| format!("write to {a} today").into_bytes())
                .collect()
        };
        let body = |fm: &FreeMail, addrs: &[&str]| {
            let l = lines(addrs);
            fm.body_freemails([], l.iter().map(Vec::as_slice))
        };
        let (fm, _) = FreeMail::from_settings([("freemail_domains", "gmail.com")]);
        // Defaults: at the 5th address, or the 3rd free mail one, the body
        // is not compared; a repeated address counts once.
        let four = [
            "a@x.com",
            "b@gmail.com",
            "B@gmail.com",
            "c@x.com",
            "d@gmail.com",
        ];
        assert_eq!(body(&fm, &four).unwrap(), ["b@gmail.com", "d@gmail.com"]);
        assert_eq!(
            body(
                &fm,
                &["a@x.com", "b@x.com", "c@x.com", "d@x.com", "e@x.com"]
            ),
            None
        );
        assert_eq!(
            body(&fm, &["a@gmail.com", "b@gmail.com", "c@gmail.com"]),
            None
        );
        // The limits are settings, and skipping can be turned off.
        let (fm, bad) = FreeMail::from_settings([
            ("freemail_domains", "gmail.com"),
            ("freemail_max_body_emails", "3"),
            ("freemail_max_body_freemails", "x"),
        ]);
        assert_eq!(bad.len(), 1);
        assert_eq!(body(&fm, &["a@x.com", "b@gmail.com", "c@x.com"]), None);
        assert_eq!(
            body(&fm, &["a@x.com", "b@gmail.com"]).unwrap(),
            ["b@gmail.com"]
        );
        let (fm, _) = FreeMail::from_settings([
            ("freemail_domains", "gmail.com"),
            ("freemail_skip_when_over_max", "0"),
        ]);
        let many: Vec<String> = (0..50).map(|i| format!("u{i}@gmail.com")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        // At most 40 addresses are read from the text.
        assert_eq!(body(&fm, &many).unwrap().len(), 40);
        let hrefs: Vec<String> = (0..30).map(|i| format!("mailto:m{i}@gmail.com")).collect();
        let found = fm
            .body_freemails(hrefs.iter().map(String::as_str), [])
            .unwrap();
        assert_eq!(found.len(), 20, "at most 20 mailto: links");
    }
}
