//! One Received line, read.
//!
//! Every MTA writes the same clauses (`from`, `by`, `via`, `with`, `id`,
//! `for`, then `;` and the date), but each fills the `from` clause its own
//! way: what the client said in HELO, what its address resolved to, and
//! the address, in some order and some punctuation. The reader splits the
//! line into words and parenthesised comments, cuts it into clauses at the
//! top-level keywords, and then recognises the `from` clause by the shape
//! of its comments:
//!
//! | shape | who writes it | helo | rdns |
//! |---|---|---|---|
//! | `from H (R [IP])`, `from H (R[IP])` | Sendmail, Postfix, Gmail, Courier | `H` | `R` |
//! | `from R ([IP] helo=H)`, `from [IP] (helo=H)` | Exim | `H` | `R` |
//! | `from R (HELO H) (IP)` | qmail, qpsmtpd | `H` | `R` |
//! | `from H (IP)` with Microsoft SMTP Server | Exchange, Microsoft 365 | `H` | — |
//! | `from R (IP)` with SMTP | qmail | `R` | `R` |
//! | `from H ([IP])` | Sendmail, Exchange SMTPSVC | `H` | — |
//! | `from R ([IP])` with SMTP, no id | qmail-ldap | `R` | `R` |
//! | `from (H) [IP]` | old Exim | `H` | `H` under Exim's name |
//!
//! An empty reverse name means the client has none
//! ([`Hop::rdns_looked_up`]) only where SpamAssassin reads it so: the
//! forms Sendmail, Postfix and MDaemon write when the lookup failed, and
//! qmail's when it was handed a name. Not in the lines of Microsoft's
//! servers (SMTP Server, IIS's SMTPSVC), Lotus Domino, CommuniGate's
//! `from [IP] (HELO H)`, Exim, qmail's `from unknown`, or a line that
//! adds to the address (`([IP] (may be forged))`) or glues it to the
//! HELO (`H([IP])`).
//!
//! Lines without a `from` clause (qmail's `(qmail 123 invoked by uid
//! 0)`, Gmail's `by 2002:a05:... with SMTP id ...`), local handovers
//! (`with local`, except `from [IP] by H with local`, which SpamAssassin
//! reads as a hop), `from` clauses without any address and the
//! address-less handovers SpamAssassin names (L-Soft's LSMTP, Content
//! Technologies' SMTPRS, `from Unknown/Local`) are
//! [`Parsed::Local`], which the chain skips as SpamAssassin does; a mail
//! fetcher's line (`with POP3`, `with IMAP`) is [`Parsed::Fetcher`]. A
//! `from` clause with comments in it but no address that could be found
//! is [`Parsed::Unparseable`], and so is one with a dash between name and
//! address (`from H - IP`, old IIS), which SpamAssassin has no pattern
//! for; a lone comment before `by` (`from () by`, `from ([]) by`) it
//! skips. Every pattern of SpamAssassin's wants `by` and at most one word
//! before it, so an address-less line without `by` (`from unknown`), or
//! with no word or two before it (`from  by B`, `from SMTP agent by
//! mail gateway`), is unparseable too, but for the few it knows to skip
//! (`from X id Y`, IIS's `mail pickup service`, GroupWise, Gmail's API).
//!
//! Everything borrows from the line; nothing is allocated.

use std::net::IpAddr;

use super::net::parse_ip;

/// What the reader made of one Received line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // made one at a time, never stored in bulk
pub enum Parsed<'a> {
    /// A hop from a host with an address.
    Hop(Hop<'a>),
    /// A handover that says nothing about a network client (no `from`,
    /// a local pickup, a mail fetcher): skipped.
    Local,
    /// A `from` clause whose address could not be found.
    Unparseable,
    /// A mail fetcher's handover (fetchmail, getmail: `with POP3`,
    /// `with IMAP`): the hops above it are the fetching side's, so the
    /// chain starts again below it while still in trusted hops.
    Fetcher,
}

/// One hop of the Received chain. Strings are slices of the line, in the
/// case written; empty when the line does not say.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hop<'a> {
    /// The connecting address, as written (brackets, `IPv6:` and ports
    /// removed).
    pub ip_text: &'a str,
    /// The connecting address.
    pub ip: Option<IpAddr>,
    /// The client's reverse DNS name (a trailing dot removed; empty when
    /// unknown or not recorded).
    pub rdns: &'a str,
    /// Whether the line's format shows that the receiving MTA looked the
    /// name up, so that an empty `rdns` means the client has none.
    pub rdns_looked_up: bool,
    /// What the client said in HELO/EHLO (an address literal keeps its
    /// brackets).
    pub helo: &'a str,
    /// The receiving host.
    pub by: &'a str,
    /// The RFC 1413 ident, when recorded.
    pub ident: &'a str,
    /// The authentication the line shows (`ESMTPA`, `HTTP`, `Postfix`,
    /// ...), empty when none.
    pub auth: &'a str,
    /// The queue id.
    pub id: &'a str,
    /// The envelope sender, when recorded (`envelope-from`,
    /// `envelope-sender`, `return-path`).
    pub envfrom: Option<&'a str>,
    /// The envelope recipient of the `for` clause.
    pub envfor: Option<&'a str>,
    /// The first word of the `with` clause (`ESMTPS`, `SMTP`, `HTTP`,
    /// `Microsoft`, ...).
    pub with: &'a str,
    /// The date after the `;`, in seconds since the epoch.
    pub date: Option<i64>,
    /// The date text after the `;`.
    pub date_text: &'a str,
    /// The line names proxy software or says it came through a proxy
    /// (`via proxy`, WinGate, Squid, CCProxy, AnalogX, SOCKS).
    pub proxy_marker: bool,
}

/// A token: a word, a parenthesised comment (inner text), or `;`.
#[derive(Debug, Clone, Copy)]
enum Tok<'a> {
    Word(&'a str),
    Comment(&'a str),
    Semi(usize),
}

/// At most this many tokens are looked at; a Received line longer than
/// that is not a real one.
const MAX_TOKENS: usize = 256;

fn lex(line: &str) -> Vec<Tok<'_>> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() && out.len() < MAX_TOKENS {
        match b[i] {
            c if c.is_ascii_whitespace() => i += 1,
            b';' => {
                out.push(Tok::Semi(i));
                i += 1;
            }
            b'(' => {
                let start = i + 1;
                let mut depth = 0usize;
                let mut j = i;
                while j < b.len() {
                    match b[j] {
                        b'(' => depth += 1,
                        b')' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                let end = j.min(b.len());
                out.push(Tok::Comment(line[start..end].trim()));
                i = end + 1;
            }
            _ => {
                let start = i;
                while i < b.len() && !b[i].is_ascii_whitespace() && !matches!(b[i], b'(' | b';') {
                    i += 1;
                }
                out.push(Tok::Word(&line[start..i]));
            }
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Clause {
    Pre,
    From,
    By,
    Via,
    With,
    Id,
    For,
}

fn keyword(w: &str) -> Option<Clause> {
    [
        ("from", Clause::From),
        ("by", Clause::By),
        ("via", Clause::Via),
        ("with", Clause::With),
        ("id", Clause::Id),
        ("for", Clause::For),
    ]
    .into_iter()
    .find_map(|(k, c)| w.eq_ignore_ascii_case(k).then_some(c))
}

/// `s` starts with the ASCII `prefix`, ignoring case (so slicing `s` at
/// `prefix.len()` is on a character boundary).
fn starts_ci(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix.as_bytes()))
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    find_ci(hay, needle).is_some()
}

/// Where `needle` first occurs in `hay`, ASCII case ignored: candidates
/// from a search for the first byte in both cases, then a comparison.
fn find_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else {
        return Some(0);
    };
    let last = h.len().checked_sub(n.len())?;
    memchr::memchr2_iter(
        first.to_ascii_lowercase(),
        first.to_ascii_uppercase(),
        &h[..=last],
    )
    .find(|&i| h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// The word after `key` in `s` (case-insensitive key), up to white space
/// or a closing bracket.
fn value_after<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let i = find_ci(s, key)?;
    Some(word_at(&s[i + key.len()..]))
}

/// The word `rest` starts with, up to white space or a closing bracket.
fn word_at(rest: &str) -> &str {
    let end = rest
        .find(|c: char| c.is_whitespace() || matches!(c, ')' | ';' | ','))
        .unwrap_or(rest.len());
    &rest[..end]
}

/// `name [ip]` or `name[ip]` inside a comment: `(name, ip text, rest)`.
fn name_bracket_ip(c: &str) -> Option<(&str, (IpAddr, &str))> {
    let open = c.find('[')?;
    let close = open + c[open..].find(']')?;
    let ip = parse_ip(&c[open + 1..close])?;
    Some((c[..open].trim(), ip))
}

/// A comment that is only an address, possibly `ident@address`.
fn bare_ip(c: &str) -> Option<(&str, (IpAddr, &str))> {
    let w = c.split_whitespace().next()?;
    let (ident, addr) = match w.rsplit_once('@') {
        Some((i, a)) => (i, a),
        None => ("", w),
    };
    parse_ip(addr).map(|ip| (ident, ip))
}

/// Whether `word`, a slice of `line`, is followed at once by `(`.
fn followed_by_paren(line: &str, word: &str) -> bool {
    let start = (word.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
    start <= line.len() && line.as_bytes().get(start + word.len()) == Some(&b'(')
}

/// Whether SpamAssassin's date stripping takes all of `date` (the text
/// after the `;`): `[Day, ]D Mon YYYY HH:MM[:SS] ZONE`, with nothing
/// after the zone.
fn sa_strips_date(date: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon,", "Tue,", "Wed,", "Thu,", "Fri,", "Sat,", "Sun,"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let digits = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit());
    let time = |t: &str| matches!(t.split(':').count(), 2 | 3) && t.split(':').all(digits);
    let mut w = date.split_whitespace();
    let mut first = w.next();
    if first.is_some_and(|d| DAYS.contains(&d)) {
        first = w.next();
    }
    // Read left to right: day, month, year, time, zone, and no more.
    matches!(
        (first, w.next(), w.next(), w.next(), w.next(), w.next()),
        (Some(d), Some(m), Some(y), Some(t), Some(_), None)
            if digits(d) && MONTHS.contains(&m) && digits(y) && time(t)
    )
}

/// SpamAssassin's `from (\S+) by [^\s;]+ ?;`, ASCII case ignored, on
/// `rest` (the line after `from `), with `X` not a bracketed address:
/// nothing but the two names before the date.
fn bare_handover(rest: &str) -> bool {
    let Some(sp) = rest.find(|c: char| c.is_ascii_whitespace()) else {
        return false;
    };
    let (x, after) = rest.split_at(sp);
    let bracketed = x
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .is_some_and(|v| v.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    if !after
        .get(..4)
        .is_some_and(|b| b.eq_ignore_ascii_case(" by "))
    {
        return false;
    }
    let y = &after[4..];
    let end = y
        .find(|c: char| c.is_ascii_whitespace() || c == ';')
        .unwrap_or(y.len());
    !x.is_empty() && !bracketed && end > 0 && {
        let tail = &y[end..];
        tail.starts_with(';') || tail.starts_with(" ;")
    }
}

/// The first `[address]` in `s`. An address holds no bracket, so each
/// `]` closes at most one candidate, opened by the last `[` before it:
/// one pass, however many brackets a hostile line holds.
fn bracketed_ip(s: &str) -> Option<(IpAddr, &str)> {
    let mut at = 0;
    while let Some(close) = s[at..].find(']') {
        let close = at + close;
        if let Some(open) = s[at..close].rfind('[')
            && let Some(ip) = parse_ip(&s[at + open + 1..close])
        {
            return Some(ip);
        }
        at = close + 1;
    }
    None
}

/// The date after a Received line's `;`, when there is one.
fn date_of(text: &str) -> Option<i64> {
    (!text.is_empty())
        .then(|| crate::spam::evals::util::parse_date(text))
        .flatten()
}

/// SpamAssassin's last resort for a line none of its patterns read: the
/// first bracketed address anywhere, the word after ` by `, the HELO of a
/// `helo=` or `HELO`/`EHLO` word, and no reverse name. Without an address
/// or a `by` it is unparseable.
fn last_resort(line: &str) -> Parsed<'_> {
    let date_at = line.find(';');
    let head = &line[..date_at.unwrap_or(line.len())];
    let by = head
        .match_indices(" by ")
        .map(|(i, _)| &head[i + 4..])
        .find(|r| r.starts_with(|c: char| !c.is_whitespace()))
        .map(|r| r.split_whitespace().next().unwrap_or(""));
    let (Some((ip, ip_text)), Some(by)) = (bracketed_ip(line), by) else {
        return Parsed::Unparseable;
    };
    let helo_char = |c: char| c.is_ascii_alphanumeric() || "-.^+_&:=?!@%*$\\/".contains(c);
    let helo = line
        .find("helo=")
        .map(|i| &line[i + 5..])
        .or_else(|| {
            ["HELO ", "EHLO "]
                .iter()
                .find_map(|k| line.find(k).map(|i| &line[i + 5..]))
        })
        .map_or("", |v| &v[..v.find(|c| !helo_char(c)).unwrap_or(v.len())]);
    let id = head
        .find(" id ")
        .map(|i| word_at(head[i + 4..].trim_start_matches('<')).trim_end_matches('>'))
        .filter(|v| v.len() >= 3)
        .unwrap_or("");
    let date_text = date_at.map_or("", |at| line[at + 1..].trim());
    Parsed::Hop(Hop {
        ip: Some(ip),
        ip_text,
        by,
        helo,
        id,
        date_text,
        date: date_of(date_text),
        ..Hop::default()
    })
}

fn clean_rdns(r: &str) -> &str {
    let r = r.trim_end_matches('.');
    if r.eq_ignore_ascii_case("unknown")
        || r.starts_with('[')
        || r.eq_ignore_ascii_case("softdnserr")
        || r.eq_ignore_ascii_case("unverified")
        || r.eq_ignore_ascii_case("may")
    {
        ""
    } else {
        r
    }
}

/// Reads one Received line (folded or not; white space is not
/// significant).
pub fn parse(line: &str) -> Parsed<'_> {
    let mut line = line.trim();
    if line.len() > 1 && line.starts_with("(from ") {
        line = &line[1..];
    }
    if !starts_ci(line, "from ") || line.len() == 5 {
        return Parsed::Local;
    }
    // `from X by Y;` and nothing between `Y` and the date: SpamAssassin
    // skips it (unless `X` is a bracketed address), in any case.
    if bare_handover(&line[5..]) {
        return Parsed::Local;
    }
    // SpamAssassin's patterns are for `from ` (and simta's `FROM `): a
    // line that starts `From ` only gets its last resort.
    if !line.starts_with("from ") && !line.starts_with("FROM ") {
        return last_resort(line);
    }
    // A name glued to its address (`H([IP])`, `H[IP]`), which JetMail,
    // AIMC and Aerofox write: no pattern of SpamAssassin's reads it. It
    // skips the line where `by B` is followed by `with`, `via`, `for` or a
    // comment, as it does any one-word `from X by B ...` its patterns
    // passed over; otherwise its last resort reads it, with the whole
    // glued word for the HELO.
    let rest = line[5..].trim_start();
    let word = &rest[..rest.find(char::is_whitespace).unwrap_or(rest.len())];
    if !word.starts_with(['(', '[']) && word.contains(['(', '[']) && bracketed_ip(word).is_some() {
        if let Some(b) = rest[word.len()..].strip_prefix(" by ") {
            let (by, then) = b.split_at(b.find(char::is_whitespace).unwrap_or(b.len()));
            if !by.is_empty()
                && [" with", " via", " for", " ("]
                    .iter()
                    .any(|k| then.starts_with(k))
            {
                return Parsed::Local;
            }
        }
        return match last_resort(line) {
            Parsed::Hop(mut hop) => {
                if hop.helo.is_empty() {
                    hop.helo = word;
                }
                Parsed::Hop(hop)
            }
            other => other,
        };
    }
    let toks = lex(line);
    // Cut into clauses.
    let mut clause = Clause::Pre;
    let mut from: Vec<Tok<'_>> = Vec::new();
    let mut by: Vec<Tok<'_>> = Vec::new();
    let mut with: Vec<Tok<'_>> = Vec::new();
    let mut id = "";
    let mut envfor = None;
    let mut date_at = None;
    let mut seen = [false; 7];
    for t in &toks {
        match *t {
            Tok::Semi(at) => {
                date_at = Some(at + 1);
                clause = Clause::Pre;
                continue;
            }
            Tok::Word(w) if date_at.is_none() => {
                if let Some(k) = keyword(w)
                    && !seen[k as usize]
                    && !(k == Clause::From && clause == Clause::From && from.is_empty())
                {
                    seen[k as usize] = true;
                    clause = k;
                    continue;
                }
            }
            _ => {}
        }
        if date_at.is_some() {
            continue;
        }
        match (clause, *t) {
            (Clause::From, t) => from.push(t),
            (Clause::By, t) => by.push(t),
            (Clause::With, t) => with.push(t),
            (Clause::Id, Tok::Word(w)) if id.is_empty() => {
                id = w.trim_matches(|c| c == '<' || c == '>');
            }
            (Clause::For, Tok::Word(w)) if envfor.is_none() => {
                envfor = Some(w.trim_matches(|c| c == '<' || c == '>'));
            }
            _ => {}
        }
    }
    let date_text = date_at.map_or("", |at| line[at..].trim());
    let marks = Marks::of(line);
    let with_word = with
        .iter()
        .find_map(|t| match t {
            Tok::Word(w) => Some(*w),
            _ => None,
        })
        .unwrap_or("");
    // Local handovers and fetchers.
    // SpamAssassin reads `from [IP] by X with local` as a hop from IP
    // (unless Exim wrote it, or it goes on `for`).
    let lone_ip = matches!(from.as_slice(), [Tok::Word(w)] if w.starts_with('[') && parse_ip(w).is_some())
        && !line.contains("with local for")
        && !line.contains("Exim");
    if starts_ci(with_word, "local") && !lone_ip || with_word.eq_ignore_ascii_case("bsmtp") {
        return Parsed::Local;
    }
    if starts_ci(with_word, "pop3") || starts_ci(with_word, "imap") {
        return Parsed::Fetcher;
    }
    let by_host = by
        .iter()
        .find_map(|t| match t {
            Tok::Word(w) => Some(w.trim_end_matches(';')),
            _ => None,
        })
        .unwrap_or("");
    let by_comment = by.iter().find_map(|t| match t {
        Tok::Comment(c) => Some(*c),
        _ => None,
    });
    let first = match from.first() {
        Some(Tok::Word(w)) => *w,
        _ => "",
    };
    let comments: Vec<&str> = from
        .iter()
        .filter_map(|t| match t {
            Tok::Comment(c) => Some(*c),
            _ => None,
        })
        .collect();
    let words: Vec<&str> = from
        .iter()
        .filter_map(|t| match t {
            Tok::Word(w) => Some(*w),
            _ => None,
        })
        .collect();
    let microsoft = marks.has(Mark::Microsoft) || marks.has(Mark::MapiId);
    // IIS's SMTP service and Lotus Domino never record the client's
    // name, so an empty one says nothing.
    let never_looks_up = microsoft || marks.has(Mark::Smtpsvc) || marks.has(Mark::Domino);
    let qmailish = by_comment.is_some_and(|c| contains_ci(c, "qmail"))
        || (["smtp", "qmqp", "esmtp"]
            .iter()
            .any(|p| with_word.eq_ignore_ascii_case(p))
            && id.is_empty());
    // qmail's own form, `with SMTP` or `with QMQP` and no queue id: the
    // name before the address is the reverse name qmail was handed (the
    // HELO when they agree), `unknown` when it was handed none.
    let qmail_smtp = id.is_empty()
        && with.iter().any(
            |t| matches!(t, Tok::Word(w) if matches!(w.trim_end_matches(';'), "SMTP" | "QMQP")),
        );
    let named = parse_ip(first).is_none() && !first.starts_with('[');
    // `from H - IP by B` (old IIS SMTPSVC): SpamAssassin has no pattern
    // with a dash between name and address, and calls the line
    // unparseable.
    if matches!(from.as_slice(), [Tok::Word(_), Tok::Word("-"), ..]) {
        return Parsed::Unparseable;
    }

    let mut hop = Hop {
        by: by_host,
        id,
        envfor,
        with: with_word,
        date_text,
        date: date_of(date_text),
        ..Hop::default()
    };
    let mut found: Option<(IpAddr, &str)> = None;

    let exim = comments.iter().find(|c| contains_ci(c, "helo="));
    let helo_cmt = comments.iter().find_map(|c| {
        (starts_ci(c, "helo ") || starts_ci(c, "ehlo "))
            .then(|| c[5..].split_whitespace().next().unwrap_or(""))
    });
    if let Some(c) = exim {
        // Exim: `from R ([IP] helo=H ident=I)` or `from [IP] (helo=H)`.
        hop.helo = value_after(c, "helo=").unwrap_or("");
        hop.ident = value_after(c, "ident=").unwrap_or("");
        let before_helo = &c[..find_ci(c, "helo=").unwrap_or(c.len())];
        found = parse_ip(first)
            .or_else(|| name_bracket_ip(before_helo).map(|(_, ip)| ip))
            .or_else(|| {
                comments
                    .iter()
                    .find_map(|c| name_bracket_ip(c).map(|x| x.1))
            });
        if named {
            hop.rdns = clean_rdns(first);
        }
        // Exim writes a name only when it has one, but SpamAssassin does
        // not read its silence as "none".
    } else if let Some(h) = helo_cmt {
        // qmail, qpsmtpd, Courier: `from R (HELO H) (IP)`.
        hop.helo = h;
        hop.rdns = clean_rdns(first);
        if parse_ip(first).is_some() {
            hop.rdns = "";
            found = parse_ip(first);
        }
        for c in &comments {
            if found.is_some() {
                break;
            }
            if let Some((ident, ip)) = bare_ip(c) {
                hop.ident = ident;
                found = Some(ip);
            } else if let Some((_, ip)) = name_bracket_ip(c) {
                found = Some(ip);
            }
        }
        if found.is_none() {
            found = words.iter().skip(1).find_map(|w| parse_ip(w));
        }
        // CommuniGate's `from [IP] (HELO H)` has no name to read.
        hop.rdns_looked_up = named && !(qmail_smtp && first == "unknown");
    } else if let Some((cmt, name, ip)) = comments
        .iter()
        .find_map(|c| name_bracket_ip(c).map(|(n, ip)| (*c, n, ip)))
    {
        // Sendmail, Postfix, Gmail: `from H (R [IP])`.
        hop.helo = first;
        // Without a name, only a plain `from H ([IP])` says the lookup
        // failed; SpamAssassin reads nothing into `from H ([IP] (may be
        // forged))` or `from H([IP])`.
        let plain =
            !name.is_empty() || cmt.trim_end().ends_with(']') && !followed_by_paren(line, first);
        let mut name = name.split_whitespace().last().unwrap_or("");
        if let Some(rest) = name.strip_prefix("IDENT:") {
            name = rest;
        }
        if let Some((ident, host)) = name.rsplit_once('@') {
            hop.ident = ident;
            name = host;
        }
        hop.rdns_looked_up = !name.eq_ignore_ascii_case("softdnserr")
            && !name.eq_ignore_ascii_case("unverified")
            && !never_looks_up
            && plain;
        hop.rdns = clean_rdns(name);
        if name.is_empty() && qmail_smtp && comments.len() == 1 {
            // qmail-ldap's `from R ([IP]) by X with SMTP`, where `R` may
            // be the address itself.
            hop.rdns = clean_rdns(first);
            hop.rdns_looked_up = first != "unknown";
        }
        found = Some(ip);
    } else if let Some((at, (ident, ip))) = from.iter().enumerate().find_map(|(i, t)| match t {
        Tok::Comment(c) => bare_ip(c).map(|x| (i, x)),
        _ => None,
    })
        // SpamAssassin's patterns for an address in parentheses have one
        // word before it at most (`from Life 300(IP) Life1 by` is
        // unparseable there).
        && at <= 1
    {
        // `from H (IP) by B; DATE`, with nothing after `B` but a date
        // SpamAssassin strips: its patterns for this form want more after
        // `B`, so it reads none (Wanadoo's relays wrote such lines).
        let by_alone = by.len() == 1
            && [Clause::Via, Clause::With, Clause::Id, Clause::For]
                .iter()
                .all(|&k| !seen[k as usize]);
        if by_alone && (date_text.is_empty() || sa_strips_date(date_text)) {
            return Parsed::Unparseable;
        }
        // `from H (IP)`: Exchange writes the HELO, qmail the name.
        hop.ident = ident;
        found = Some(ip);
        if first.is_empty() || parse_ip(first).is_some() {
            // `from ([IP])`, `from 1.2.3.4 ([1.2.3.4])`: no name at all.
        } else if microsoft || !qmailish {
            hop.helo = first;
        } else {
            hop.helo = first;
            hop.rdns = clean_rdns(first);
            hop.rdns_looked_up = !(qmail_smtp && first == "unknown");
        }
    } else if let Some(ip) = parse_ip(first).filter(|_| {
        // `from IP1 [IP2] by ...` is `from H [IP] by ...` below: HELO IP1
        // from IP2, as SpamAssassin reads it.
        !matches!(words.get(1), Some(w) if w.starts_with('[') && parse_ip(w).is_some())
    }) {
        // `from [IP] by ...`, `from 1.2.3.4 by ...`.
        found = Some(ip);
    } else if let Some(ip) = words
        .iter()
        .skip(1)
        .filter(|w| w.starts_with('['))
        .find_map(|w| parse_ip(w))
    {
        // `from H [IP] by ...`; MDaemon's `from H [IP] by X [IP]` looks
        // the name up.
        hop.helo = first;
        found = Some(ip);
        hop.rdns_looked_up = matches!(
            by.as_slice(),
            [_, Tok::Word(w)] if w.starts_with('[') && parse_ip(w).is_some()
        );
    } else if let [Tok::Comment(h), Tok::Word(w)] = from.as_slice()
        && w.starts_with('[')
        && let Some(ip) = parse_ip(w)
    {
        // Old Exim's `from (H) [IP] by B`: the HELO in parentheses, and
        // under Exim's name SpamAssassin takes it for the reverse name
        // too.
        hop.helo = h.trim();
        if line.contains("Exim") {
            hop.rdns = clean_rdns(hop.helo);
        }
        found = Some(ip);
    } else if let Some(ip) = first
        .find('[')
        .and_then(|i| parse_ip(first[i..].trim_end_matches(|c| c != ']')))
    {
        // `from H[IP] by ...`.
        hop.helo = &first[..first.find('[').unwrap_or(0)];
        found = Some(ip);
    }
    if hop.helo.is_empty() && found.is_some() && hop.rdns.is_empty() && parse_ip(first).is_none() {
        hop.helo = first;
    }
    // An address but no `by`: every pattern of SpamAssassin's wants one
    // (`from [192.0.2.5] with SMTP` is unparseable there). It looks for
    // ` by ` anywhere, past a stray `;` too (`from H (R [IP]); by B`).
    if found.is_some() && !seen[Clause::By as usize] && !line.contains(" by ") {
        return Parsed::Unparseable;
    }
    let Some((ip, ip_text)) = found else {
        let any = |ks: &[Clause]| ks.iter().any(|&k| seen[k as usize]);
        // Handovers SpamAssassin knows to carry no address, and skips:
        // L-Soft's LSMTP; Content Technologies' `from H (H) by B (Content
        // Technologies SMTPRS ...)`; mailcity's `from Unknown/Local
        // (...)`; `from X id Y`; IIS's pickup directory, GroupWise and
        // Gmail's API, with several words before `by`; and `from X by B
        // with ...` or `from X by B (...)` with `X` one comment without
        // spaces (`()`, `([])`).
        let known = line.contains("(LSMTP for")
            // Courier's `from (AUTH: x) by B with ...`.
            || matches!(from.as_slice(), [Tok::Comment(c)]
                if c.strip_prefix("AUTH: ").is_some_and(|v| !v.is_empty() && !v.contains(char::is_whitespace)))
                && matches!(by.as_slice(), [Tok::Word(_)])
                && seen[Clause::With as usize]
            || matches!(from.as_slice(), [Tok::Word(_), Tok::Comment(c)] if !c.contains(char::is_whitespace))
                && matches!(by.as_slice(), [Tok::Word(_), Tok::Comment(c), ..] if c.starts_with("Content Technologies "))
            || first == "Unknown/Local" && comments.len() == 1
            || matches!(from.as_slice(), [Tok::Word(_)])
                && any(&[Clause::Id])
                && !any(&[Clause::By, Clause::Via, Clause::With, Clause::For])
            || starts_ci(line[5..].trim_start(), "mail pickup service by ")
            || with_word == "Novell_GroupWise" && !words.iter().any(|w| w.contains('.'))
            || words.get(1) == Some(&"named")
                && by_host.eq_ignore_ascii_case("gmailapi.google.com")
            || matches!(from.as_slice(), [Tok::Comment(c)] if !c.contains(char::is_whitespace))
                && match by.as_slice() {
                    [Tok::Word(_)] => any(&[Clause::With, Clause::Via, Clause::For]),
                    [Tok::Word(_), Tok::Comment(_), ..] => true,
                    _ => false,
                };
        if known {
            return Parsed::Local;
        }
        // SpamAssassin's patterns all want `by` and one word before it at
        // most: a line without `by`, or with no word or two before it, is
        // unparseable.
        if !seen[Clause::By as usize] || from.is_empty() || words.len() > 1 {
            return Parsed::Unparseable;
        }
        // A bare `from NAME by ...` is a local handover; a clause with
        // comments we could not read is unparseable.
        let only_local = comments.iter().all(|c| {
            let l = c.to_ascii_lowercase();
            l.contains("localhost")
                || l.contains("userid")
                || l.contains("uid ")
                || l == "unverified"
                || l.starts_with("mail pickup")
        });
        return if only_local {
            Parsed::Local
        } else {
            Parsed::Unparseable
        };
    };
    hop.ip = Some(ip);
    hop.ip_text = ip_text;
    hop.helo = hop.helo.trim_end_matches(',');
    // The envelope sender.
    for key in [
        Mark::EnvelopeFrom,
        Mark::EnvelopeFromEq,
        Mark::EnvelopeSender,
        Mark::ReturnPathColon,
        Mark::ReturnPath,
    ] {
        if let Some(v) = marks.after(key).map(|i| word_at(&line[i..])) {
            let v = v.trim_matches(|c| c == '<' || c == '>');
            hop.envfrom = Some(v);
            break;
        }
    }
    hop.auth = auth(with_word, &comments, marks.has(Mark::ViaHttp));
    hop.proxy_marker = [
        Mark::ViaProxy,
        Mark::Wingate,
        Mark::Squid,
        Mark::Ccproxy,
        Mark::Analogx,
        Mark::Socks,
        Mark::ParenProxy,
    ]
    .into_iter()
    .any(|m| marks.has(m));
    Parsed::Hop(hop)
}

/// The phrases looked for anywhere in a line, ASCII case ignored, in the
/// order of [`MARKS`].
#[derive(Clone, Copy)]
enum Mark {
    Microsoft,
    MapiId,
    EnvelopeFrom,
    EnvelopeFromEq,
    EnvelopeSender,
    ReturnPathColon,
    ReturnPath,
    ViaHttp,
    ViaProxy,
    Wingate,
    Squid,
    Ccproxy,
    Analogx,
    Socks,
    ParenProxy,
    Smtpsvc,
    Domino,
}

const MARKS: [&str; 17] = [
    "microsoft smtp server",
    " mapi id ",
    "envelope-from ",
    "envelope-from=",
    "envelope-sender ",
    "return-path: ",
    "return-path ",
    "(via http",
    "via proxy",
    "wingate",
    "squid",
    "ccproxy",
    "analogx",
    "socks",
    "(proxy",
    " smtpsvc",
    "(lotus domino ",
];

/// Where each [`Mark`] first ends in a line: one pass of one automaton
/// rather than a search of the line per phrase.
struct Marks([Option<usize>; MARKS.len()]);

impl Marks {
    fn of(line: &str) -> Marks {
        static AC: std::sync::LazyLock<aho_corasick::AhoCorasick> =
            std::sync::LazyLock::new(|| {
                aho_corasick::AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(MARKS)
                    .expect("fixed phrases build")
            });
        let mut ends = [None; MARKS.len()];
        for m in AC.find_overlapping_iter(line) {
            let e = &mut ends[m.pattern().as_usize()];
            if e.is_none() {
                *e = Some(m.end());
            }
        }
        Marks(ends)
    }

    fn has(&self, m: Mark) -> bool {
        self.0[m as usize].is_some()
    }

    /// Where the first occurrence of `m` ends.
    fn after(&self, m: Mark) -> Option<usize> {
        self.0[m as usize]
    }
}

/// The authentication a line shows, as SpamAssassin recognises it.
fn auth<'a>(with: &'a str, comments: &[&'a str], via_http: bool) -> &'a str {
    let w = with.trim_end_matches(';');
    let up = w.to_ascii_uppercase();
    if matches!(
        up.as_str(),
        "ESMTPA"
            | "ESMTPSA"
            | "LMTPA"
            | "LMTPSA"
            | "UTF8SMTPA"
            | "UTF8SMTPSA"
            | "UTF8LMTPA"
            | "UTF8LMTPSA"
            | "ASMTP"
            | "HTTP"
            | "HTTPS"
            | "HTTPU"
    ) {
        return w;
    }
    for c in comments {
        if c.len() > 6 && starts_ci(c, "auth: ") {
            return c[6..].split_whitespace().next().unwrap_or("AUTH");
        }
        if contains_ci(c, "authenticated sender:") {
            return "Postfix";
        }
        if contains_ci(c, "authenticated") {
            return "Sendmail";
        }
    }
    if via_http {
        return "HTTP";
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// `find_ci` against comparing at every position.
        #[test]
        fn find_ci_is_the_first_window(hay in "[aAbB( )=é]{0,30}", needle in "[aAbB=é]{0,4}") {
            let (h, n) = (hay.as_bytes(), needle.as_bytes());
            let naive = if n.is_empty() {
                Some(0)
            } else {
                h.windows(n.len()).position(|w| w.eq_ignore_ascii_case(n))
            };
            prop_assert_eq!(find_ci(&hay, &needle), naive);
        }
    }

    proptest! {
        /// The one-pass `[address]` search finds what trying every `[` in
        /// turn with every `]` after it finds first.
        #[test]
        fn bracketed_ip_is_the_first_window(s in "[\\[\\]1.2 a:]{0,40}") {
            let b = s.as_bytes();
            let naive = (0..b.len())
                .filter(|&i| b[i] == b'[')
                .flat_map(|i| (i + 1..b.len()).filter(|&j| b[j] == b']').map(move |j| (i, j)))
                .filter(|&(i, j)| !s[i + 1..j].contains(['[', ']']))
                .find_map(|(i, j)| parse_ip(&s[i + 1..j]));
            prop_assert_eq!(bracketed_ip(&s), naive);
        }

        /// `bare_handover` is SpamAssassin's `^from (\S+) by [^\s;]+ ?;`
        /// (ASCII case ignored), unless `$1` is `[digits and dots]`.
        #[test]
        fn bare_handover_is_spamassassins_pattern(
            x in prop::sample::select(vec!["a", "[1.2]", "[1.2.3.4]", "a(1)", "", "a b"]),
            sep in prop::sample::select(vec![" ", "  ", "\t"]),
            by in prop::sample::select(vec!["by", "BY", "bx"]),
            sep2 in prop::sample::select(vec![" ", "  ", ""]),
            y in prop::sample::select(vec!["b", "b;c", "", ";", "b c"]),
            tail in prop::sample::select(vec![";", " ;", "  ;", " x;", ""]),
        ) {
            let line = format!("from {x}{sep}{by}{sep2}{y}{tail}");
            let re = regex::Regex::new(r"(?i)^from (\S+) by [^\s;]+ ?;").unwrap();
            let plain = regex::Regex::new(r"^\[[\d.]+\]$").unwrap();
            let want = re.captures(&line).is_some_and(|c| !plain.is_match(&c[1]));
            prop_assert_eq!(bare_handover(&line[5..]), want, "{:?}", line);
        }
    }

    proptest! {
        /// One automaton pass finds where each phrase first ends, as a
        /// search per phrase does.
        #[test]
        fn marks_are_the_first_occurrences(
            pieces in prop::collection::vec(
                (0..MARKS.len() + 4, any::<bool>()),
                0..8,
            ),
        ) {
            let mut line = String::new();
            for (i, upper) in pieces {
                let p = MARKS.get(i).copied().unwrap_or_else(|| ["a", " ", "(", "-"][i - MARKS.len()]);
                line.push_str(&if upper { p.to_ascii_uppercase() } else { p.to_string() });
            }
            let marks = Marks::of(&line);
            for (i, m) in MARKS.iter().enumerate() {
                prop_assert_eq!(marks.0[i], find_ci(&line, m).map(|p| p + m.len()), "{:?} in {:?}", m, line);
            }
        }
    }

    #[test]
    fn postfix_line() {
        let Parsed::Hop(h) = parse(
            "from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org \
             (Postfix) with ESMTP id 4A2B3; Fri, 2 Jan 1970 00:00:00 +0000",
        ) else {
            panic!()
        };
        assert_eq!(
            (h.ip_text, h.rdns, h.helo, h.by, h.id, h.with),
            (
                "192.0.2.1",
                "mail.example.com",
                "mail.example.com",
                "mx.example.org",
                "4A2B3",
                "ESMTP"
            )
        );
        assert_eq!(h.date, Some(86400));
        assert!(h.rdns_looked_up);
    }

    #[test]
    fn local_and_broken() {
        assert_eq!(parse("by localhost with local"), Parsed::Local);
        assert_eq!(
            parse("(qmail 123 invoked by uid 0); 1 Jan 2004 00:00:00 -0000"),
            Parsed::Local
        );
        assert_eq!(parse("from a (b c d) by e with SMTP"), Parsed::Unparseable);
        assert_eq!(parse("from"), Parsed::Local);
        assert_eq!(parse("from ((((((("), Parsed::Unparseable);
        // SpamAssassin reads an address handed over `with local` as a hop.
        let Parsed::Hop(h) = parse("from [192.0.2.7] by mx.example.org with local; x") else {
            panic!()
        };
        assert_eq!(h.ip_text, "192.0.2.7");
        assert_eq!(
            parse("from [192.0.2.7] by mx.example.org with local for <a@b>"),
            Parsed::Local
        );
    }

    /// `from H (IP) by B` and a date, nothing else: SpamAssassin's
    /// patterns for the form want more after `B`, so the line is
    /// unparseable; with more, or a date it does not strip, it is a hop.
    #[test]
    fn bare_address_with_nothing_after_by_is_unparseable() {
        for line in [
            "from tito (192.0.2.1) by relay.example.fr; 29 Jul 2001 03:53:01 +0200",
            "from tito (192.0.2.1) by relay.example.fr; Sat, 29 Jul 2001 03:53 +0200",
            "from tito (192.0.2.1) by relay.example.fr",
        ] {
            assert_eq!(parse(line), Parsed::Unparseable, "{line}");
        }
        for line in [
            "from tito (192.0.2.1) by relay.example.fr with ESMTP; 29 Jul 2001 03:53:01 +0200",
            "from tito (192.0.2.1) by relay.example.fr id 12345; 29 Jul 2001 03:53:01 +0200",
            "from tito (192.0.2.1) by relay.example.fr; Sat, 29 Jul 2001 03:53:01 +0200 (CEST)",
            "from tito (tito.example.com [192.0.2.1]) by relay.example.fr; 29 Jul 2001 03:53:01 +0200",
            "from tito ([192.0.2.1]) by relay.example.fr; 29 Jul 2001 03:53:01 +0200",
        ] {
            assert!(matches!(parse(line), Parsed::Hop(_)), "{line}");
        }
    }

    /// Handovers SpamAssassin knows to carry no address: skipped, not
    /// unparseable. The same shapes by other software stay unparseable.
    #[test]
    fn known_handovers_without_an_address() {
        for line in [
            "from h1 (h1.corp.example.com) by mx.example.com (LSMTP for Windows NT v1.1b) with SMTP id <8.0000082A@mx.example.com>; 25 Aug 2002 16:35:04 -0500",
            "from a.example.com (a.example.com) by gw.example.com (Content Technologies SMTPRS 4.2.1) with ESMTP id <T5d9d@gw.example.com>; Sat, 28 Sep 2002 14:36:48 -0700",
            "from Unknown/Local ([?.?.?.?]) by mailcity.com; Wed Jul 24 07:02:49 2002",
        ] {
            assert_eq!(parse(line), Parsed::Local, "{line}");
        }
        for line in [
            "from a.example.com (a.example.com) by gw.example.com (Other SMTPRS 4.2.1) with ESMTP id <T5d9d@gw.example.com>",
            "from a.example.com (a b) by gw.example.com (Content Technologies SMTPRS 4.2.1) with ESMTP id <T5d9d@gw.example.com>",
            "from unknown/local ([?.?.?.?]) by mailcity.com; Wed Jul 24 07:02:49 2002",
        ] {
            assert_eq!(parse(line), Parsed::Unparseable, "{line}");
        }
    }

    /// Shapes SpamAssassin 4.0.1 reads its own way (its `-D
    /// received-header` output on each line): old Exim's `from (H) [IP]`
    /// is a hop, a lone comment before `by` is skipped, and a dash between
    /// name and address makes the line unparseable.
    #[test]
    fn shapes_read_as_spamassassin_does() {
        let hop = |line| match parse(line) {
            Parsed::Hop(h) => (h.ip_text, h.helo, h.rdns, h.rdns_looked_up),
            other => panic!("{line}: {other:?}"),
        };
        // (line, (address, HELO, reverse name, whether it was looked up)).
        for (line, want) in [
            (
                "from (lee.example.ie) [192.0.2.122] by relay03.example.net with esmtp id 17gkgW-0006pv-00; Mon, 19 Aug 2002 12:27:01 +0100",
                ("192.0.2.122", "lee.example.ie", "", false),
            ),
            // SMTPD32: the HELO, then the address in brackets.
            (
                "from 192.0.2.142 [198.51.100.34] by mx.example.com (SMTPD32-7.06 EVAL) id A42A7FC01F2; Fri, 02 Aug 2002 02:18:18 -0400",
                ("198.51.100.34", "192.0.2.142", "", false),
            ),
            (
                "from (helo.example.com) [192.0.2.9] by mx.example.org with smtp (Exim 3.12 #1) id 15F0HM-00019f-00; Sat, 24 Aug 2002 09:42:10 +0900",
                ("192.0.2.9", "helo.example.com", "helo.example.com", false),
            ),
            // A name glued to its address: the whole word is the HELO, and
            // no reverse name was looked up.
            (
                "from 198.51.100.205([192.0.2.38]) by freemail.example.net(JetMail 2.5.3.0) with SMTP id zzzza3d8281b2; Fri, 13 Sep 2002 22:33:22 -0000",
                ("192.0.2.38", "198.51.100.205([192.0.2.38])", "", false),
            ),
            (
                "from mail.example.com[192.0.2.1] by mx.example.org id 1; Wed, 28 Aug 2002 10:45:49 +0100",
                ("192.0.2.1", "mail.example.com[192.0.2.1]", "", false),
            ),
            // `From `, not `from `: only the last resort reads it, without
            // a HELO or a name.
            (
                "From mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org (8.12/8.12) with ESMTP id 1; Wed, 28 Aug 2002 10:45:49 +0100",
                ("192.0.2.1", "", "", false),
            ),
        ] {
            assert_eq!(hop(line), want, "{line}");
        }
        for (line, ip) in [
            // Obtuse smtpd: one word before the address, words after it.
            (
                "from h.example.com(192.0.2.98), claiming to be \"x.example.com\" via SMTP by mail.example.net, id smtpdV82674; Sun Jul 29 11:34:20 2001",
                "192.0.2.98",
            ),
            // A `;` before `by` does not hide it.
            (
                "from ade (unknown [192.0.2.26]); by mail.example.ie with SMTP id 835DA701D; for <a@example.ie>; Mon, 19 Aug 2002 12:11:45 +0100 (IST)",
                "192.0.2.26",
            ),
        ] {
            assert_eq!(hop(line).0, ip, "{line}");
        }
        for line in [
            "from yahoo.com([192.0.2.124]) by MX.EXAMPLE.PE (IBM OS/400 SMTP V05R01M00) with TCP; Wed, 15 May 2002 10:23:51 +0000",
            "from mail.example.com[192.0.2.1] by mx.example.org with SMTP; Wed, 28 Aug 2002 10:45:49 +0100",
            "From earthlink.example(201.357.369.35) by junodialup(3.4.6.8)65d4rg654g;Wed, 27 Jun 2001 3:36:25 -400 (EDT)",
            "FROM barge.example.ie BY webshield ; Wed Aug 28 10:45:49 2002 +0100",
            "from (AUTH: e40a9cea) by mx.example.net with esmtp (courier-0.40) for <a@example.org>; Mon, 03 Mar 2003 14:49:28 +0000",
            "from ([]) by mail.example.com (Merak 4.4.2) with SMTP id B6E55D55; Sat, 31 Aug 2002 00:37:13 +0800",
            "from  () by localhost.localdomain (8.11.6/8.11.6) with ESMTP id g89JRj329191 for <z@example.org>; Tue, 10 Sep 2002 03:27:51 +0800",
            "from (foo) by mx.example.org with SMTP id 1; Sat, 24 Aug 2002 09:42:10 +0900",
            "from foo.example.com id 12345; Sat, 24 Aug 2002 09:42:10 +0900",
            "from mail pickup service by hotmail.com with Microsoft SMTPSVC; Thu, 22 Aug 2002 18:20:23 -0700",
            "from GWIA-DOM by gw.example.com with Novell_GroupWise; Thu, 22 Aug 2002 18:20:23 -0700",
            "from 1234567890 named unknown by gmailapi.google.com with HTTPREST; Thu, 22 Aug 2002 18:20:23 -0700",
        ] {
            assert_eq!(parse(line), Parsed::Local, "{line}");
        }
        for line in [
            "from unknown",
            "from foo.example.com; Sat, 24 Aug 2002 09:42:10 +0900",
            "from foo.example.com with SMTP; Sat, 24 Aug 2002 09:42:10 +0900",
            "from foo.example.com id 12345 for <a@b.example>; Sat, 24 Aug 2002 09:42:10 +0900",
            "from <x@example.com> with PostMaster 3.14.1 (M); Mon, 07 Oct 2002 15:10:41 +0100",
            "from SMTP agent by mail gateway Fri, 02 Aug 2002 09:50:49 -0000",
            "from  by ppp.example.net with ESMTP; Sat, 04 Aug 2001 19:10:21 -0700",
            "from Life 300(192.0.2.1) Life1 by mx.example.org with ESMTP; Sat, 24 Aug 2002 09:42:10 +0900",
            "from r-smtp.example.com - 192.0.2.197 by dd_it7  with Microsoft SMTPSVC(5.5.1775.675.6); Sat, 24 Aug 2002 09:42:10 +0900",
            "from 192.0.2.238 - 192.0.2.238 by webman.example.com.au with Microsoft SMTPSVC(5.5.1774.114.11); Thu, 2 Aug 2001 07:53:02 +1000",
            "from r-smtp.example.com - 192.0.2.197 by dd_it7 with ESMTP id 12345; Sat, 24 Aug 2002 09:42:10 +0900",
            "from (foo bar) by mx.example.org with SMTP id 1; Sat, 24 Aug 2002 09:42:10 +0900",
            // An address, but no `by`.
            "from [192.0.2.5] with SMTP; Wed, 28 Aug 2002 10:45:49 +0100",
            "from mail.example.com (mail.example.com [192.0.2.5]) with ESMTP id X123 for <a@b.example>; Wed, 28 Aug 2002 10:45:49 +0100",
            "from mail.example.com (HELO foo) (192.0.2.5) with SMTP; Wed, 28 Aug 2002 10:45:49 +0100",
            "from mail.example.com ([192.0.2.5]) with ESMTP; Wed, 28 Aug 2002 10:45:49 +0100",
            // `From ` without a bracketed address, and a comment with
            // spaces besides `AUTH:`.
            "From mail.example.com by mx.example.org with ESMTP id 1; Wed, 28 Aug 2002 10:45:49 +0100",
            "from (AUTH: x) by mail.example.com (Postfix); Wed, 28 Aug 2002 10:45:49 +0100",
        ] {
            assert_eq!(parse(line), Parsed::Unparseable, "{line}");
        }
    }

    /// (line, reverse name, whether an empty one means "none"), each as
    /// SpamAssassin 4.0.1's Received parser reads it.
    const LOOKUPS: &[(&str, &str, bool)] = &[
        // Sendmail and Postfix when the lookup failed.
        (
            "from mx.hotmail.com ([192.0.2.1]) by mx.example.org (8.11.6/8.11.6) with ESMTP id g1",
            "",
            true,
        ),
        (
            "from mx.hotmail.com (unknown [192.0.2.1]) by mx.example.org (Postfix) with SMTP id 2F",
            "",
            true,
        ),
        (
            "from mx.hotmail.com ([192.0.2.1] (may be forged)) by mx.example.org (8.8.4) with SMTP id F",
            "",
            false,
        ),
        (
            "from mx.hotmail.com([192.0.2.1]) by (AIMC 2.9.5.1) with SMTP id jm6; x",
            "",
            false,
        ),
        // Microsoft and Lotus never look names up.
        (
            "from mx.hotmail.com ([192.0.2.1]) by exch.example.org with Microsoft SMTPSVC(5.0.2195.5329); x",
            "",
            false,
        ),
        (
            "from mx.hotmail.com ([192.0.2.1]) by lotus.example.org (Lotus Domino Release 5.0.4) with ESMTP id 2001",
            "",
            false,
        ),
        // qmail: the name it was handed, or `unknown`.
        (
            "from mx.aol.com ([192.0.2.1]) by qmail.example.org with SMTP; x",
            "mx.aol.com",
            true,
        ),
        // The same with an address for a name: the address is the name
        // (the stock `__RDNS_NUMERIC_TLD` then hits). With another
        // protocol it is the sendmail form, a failed lookup.
        (
            "from 192.0.2.1 ([192.0.2.1]) by smtp.example.org with SMTP; x",
            "192.0.2.1",
            true,
        ),
        (
            "from 192.0.2.1 ([192.0.2.1]) by smtp.example.org with asmtp; x",
            "",
            true,
        ),
        (
            "from unknown (HELO mx.aol.com) (192.0.2.1) by qmail.example.org with SMTP; x",
            "",
            false,
        ),
        (
            "from unknown (HELO mx.aol.com) (192.0.2.1) by qmail.example.org with QMQP; x",
            "",
            false,
        ),
        (
            "from host.example.net (HELO mx.aol.com) (192.0.2.1) by qmail.example.org with SMTP; x",
            "host.example.net",
            true,
        ),
        // CommuniGate and Exim.
        (
            "from [192.0.2.1] (HELO mx.aol.com) by cgp.example.org (CommuniGate Pro SMTP 3.5.3) with SMTP id 36",
            "",
            false,
        ),
        (
            "from [192.0.2.1] (helo=mx.aol.com) by exim.example.org with smtp (Exim 4.05) id 17",
            "",
            false,
        ),
        // MDaemon writes both addresses; SLmail does not look up.
        (
            "from mx.aol.com [192.0.2.1] by md.example.org [10.0.0.1] with SMTP (MDaemon.v2.7.SP3.R) for <a@b>; x",
            "",
            true,
        ),
        (
            "from mx.aol.com [192.0.2.1] by sl.example.org [10.0.0.1] (SLmail 3.2.3113) with SMTP id D9; x",
            "",
            false,
        ),
    ];

    #[test]
    fn empty_names_read_as_spamassassin_reads_them() {
        for &(line, rdns, looked_up) in LOOKUPS {
            let Parsed::Hop(h) = parse(line) else {
                panic!("{line}")
            };
            assert_eq!(h.ip_text, "192.0.2.1", "{line}");
            assert_eq!((h.rdns, h.rdns_looked_up), (rdns, looked_up), "{line}");
        }
    }
}
