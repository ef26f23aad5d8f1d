//! What the eval tests share: SpamAssassin's header views (`get`), its date
//! parser, and the relays in the form the tests read them.
//!
//! SpamAssassin's `$pms->get(NAME)` returns every instance of a header,
//! decoded and unfolded, each followed by `\n`, joined; `NAME:addr` the
//! first address; `NAME:raw` the undecoded value. The functions here give
//! the same views over a [`Message`], reading only the top-level header.
//! The relays come from [`crate::spam::origin`], the crate's one Received
//! reader.

use crate::stats::days_from_civil;
use std::borrow::Cow;

use crate::mime::{Field, Message, address, encoded_word};
use crate::spam::origin;

/// Folding as SpamAssassin undoes it: each line break and the blanks
/// after it become one space.
pub(crate) fn sa_fold(raw: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr2(b'\r', b'\n', raw).is_none() {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b == b'\r' || b == b'\n' {
            while i < raw.len() && matches!(raw[i], b'\r' | b'\n') {
                i += 1;
            }
            while i < raw.len() && matches!(raw[i], b' ' | b'\t') {
                i += 1;
            }
            out.push(b' ');
        } else {
            out.push(b);
            i += 1;
        }
    }
    Cow::Owned(out)
}

/// Every instance of header `name` at the top level, unfolded, trimmed and
/// decoded (RFC 2047), without a trailing newline.
pub(crate) fn values(msg: &Message<'_>, name: &str) -> Vec<String> {
    let root = msg.root();
    msg.headers(root, name)
        .map(|raw| {
            let unf = sa_fold(raw);
            encoded_word::decode(unf.trim_ascii(), root.charset.as_deref())
                .0
                .into_owned()
        })
        .collect()
}

/// SpamAssassin's scalar `get(NAME)`: every instance, decoded, each followed
/// by `\n`, joined. Empty when the header is absent.
pub(crate) fn get(msg: &Message<'_>, name: &str) -> String {
    joined(&values(msg, name))
}

/// Values joined as `get` joins them: each followed by `\n`.
pub(crate) fn joined(values: &[String]) -> String {
    let mut s = String::with_capacity(values.iter().map(|v| v.len() + 1).sum());
    for v in values {
        s.push_str(v);
        s.push('\n');
    }
    s
}

/// True when header `name` occurs at the top level.
pub(crate) fn has(msg: &Message<'_>, name: &str) -> bool {
    msg.header(msg.root(), name).is_some()
}

/// Every instance of header `name`, raw: everything after the colon,
/// folding replaced by one space.
pub(crate) fn raw_values<'m>(msg: &Message<'m>, name: &str) -> Vec<Cow<'m, [u8]>> {
    msg.headers(msg.root(), name).map(sa_fold).collect()
}

/// The addresses of every instance of header `name`, in order.
pub(crate) fn addrs(msg: &Message<'_>, name: &str) -> Vec<String> {
    msg.headers(msg.root(), name)
        .flat_map(|v| address::parse_list(v).0)
        .map(|a| a.email)
        .filter(|e| !e.is_empty())
        .collect()
}

/// SpamAssassin's `get(NAME:addr)`: the first address, or empty.
pub(crate) fn addr(msg: &Message<'_>, name: &str) -> String {
    addrs(msg, name).into_iter().next().unwrap_or_default()
}

/// The `MESSAGEID` pseudo-header: X-Message-Id, Resent-Message-Id,
/// X-Original-Message-ID and Message-Id, non-empty instances, joined.
pub(crate) fn message_id(msg: &Message<'_>) -> String {
    let mut s = String::new();
    for h in [
        "X-Message-Id",
        "Resent-Message-Id",
        "X-Original-Message-ID",
        "Message-Id",
    ] {
        for v in values(msg, h) {
            if !v.is_empty() {
                s.push_str(&v);
                s.push('\n');
            }
        }
    }
    s
}

/// The `EnvelopeFrom` pseudo-header, as SpamAssassin guesses it with no
/// `envelope_sender_header` configured: the envelope sender the topmost
/// relay recorded, else X-Envelope-From, Envelope-Sender or Return-Path
/// when no Received field precedes any field of the name. Empty when none
/// is usable.
pub(crate) fn envelope_from(msg: &Message<'_>, split: &TrustSplit) -> String {
    // The first untrusted hop's envelope sender, else the last trusted one's.
    let (trusted, untrusted) = split;
    if let Some(r) = untrusted.first().or(trusted.last())
        && let Some(e) = &r.envfrom
        && (e.find('@').is_some_and(|i| i > 0) || e.is_empty())
    {
        return e.clone();
    }
    let xs = addr(msg, "X-Sender");
    if xs.contains('@')
        && values(msg, "Received")
            .iter()
            .any(|r| r.contains("(fetchmail"))
    {
        return String::new();
    }
    for h in ["X-Envelope-From", "Envelope-Sender", "Return-Path"] {
        if has(msg, h) {
            let a = addr(msg, h);
            if crate::spam::features::below_received(msg, h) {
                if h == "X-Envelope-From" {
                    return String::new();
                }
                continue;
            }
            return a;
        }
    }
    String::new()
}

/// One top-level header field as SpamAssassin's `get('ALL')` lists it:
/// `Name: value`, decoded and unfolded.
pub(crate) fn all_line(msg: &Message<'_>, f: &Field) -> String {
    let name = String::from_utf8_lossy(msg.field_name(f));
    let unf = sa_fold(msg.field_raw(f));
    let v = encoded_word::decode(unf.trim_ascii(), msg.root().charset.as_deref()).0;
    format!("{name}: {v}")
}

// ---------------------------------------------------------------- dates

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

const ZONES: &[(&str, i64)] = &[
    ("UT", 0),
    ("UTC", 0),
    ("NDT", -230),
    ("AST", -400),
    ("ADT", -300),
    ("NST", -330),
    ("EST", -500),
    ("EDT", -400),
    ("CST", -600),
    ("CDT", -500),
    ("MST", -700),
    ("MDT", -600),
    ("PST", -800),
    ("PDT", -700),
    ("HST", -1000),
    ("AKST", -900),
    ("AKDT", -800),
    ("HADT", -900),
    ("HAST", -1000),
    ("GMT", 0),
    ("BST", 100),
    ("IST", 100),
    ("WET", 0),
    ("WEST", 100),
    ("CET", 100),
    ("CEST", 200),
    ("EET", 200),
    ("EEST", 300),
    ("MSK", 300),
    ("MSD", 400),
    ("MET", 100),
    ("MEZ", 100),
    ("MEST", 200),
    ("MESZ", 200),
    ("BRST", -200),
    ("BRT", -300),
    ("AEST", 1000),
    ("AEDT", 1100),
    ("ACST", 930),
    ("ACDT", 1030),
    ("AWST", 800),
    ("NZST", 1200),
    ("NZDT", 1300),
    ("JST", 900),
    ("KST", 900),
    ("HKT", 800),
    ("SGT", 800),
    ("PHT", 800),
    ("IDT", 300),
];

fn month(tok: &str) -> Option<i64> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(tok))
        .map(|i| i as i64 + 1)
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn num(s: &str) -> i64 {
    // Digits only, at most 9 of them matter for a date.
    s.bytes()
        .take(9)
        .fold(0i64, |n, b| n * 10 + i64::from(b - b'0'))
}

/// An RFC 822 date in seconds since the epoch, read as SpamAssassin's
/// `parse_rfc822_date` reads it (lenient; years clamped to 1970..=2037,
/// out-of-range fields clamped). `None` when no day, month and year are
/// found.
pub(crate) fn parse_date(date: &str) -> Option<i64> {
    // Commas become spaces; tokens are split on whitespace.
    let cleaned = date.replace(',', " ");
    let mut toks: Vec<&str> = cleaned.split_whitespace().collect();
    if toks.len() > 64 {
        toks.truncate(64);
    }
    let (mut dd, mut mon, mut yyyy) = (0i64, 0i64, 0i64);
    let mut found = None;
    // `DD Mon YYYY`
    for i in 0..toks.len().saturating_sub(2) {
        if all_digits(toks[i])
            && toks[i + 2].len() == 4
            && all_digits(toks[i + 2])
            && let Some(m) = month(toks[i + 1])
        {
            (dd, mon, yyyy) = (num(toks[i]), m, num(toks[i + 2]));
            found = Some((i, 3));
            break;
        }
    }
    // `Mon DD HH:MM:SS YYYY`
    if found.is_none() {
        for i in 0..toks.len().saturating_sub(3) {
            if let Some(m) = month(toks[i])
                && all_digits(toks[i + 1])
                && is_hms(toks[i + 2])
                && toks[i + 3].len() == 4
                && all_digits(toks[i + 3])
            {
                // SpamAssassin removes the time with the date here, so an
                // asctime date reads as midnight.
                (dd, mon, yyyy) = (num(toks[i + 1]), m, num(toks[i + 3]));
                found = Some((i, 4));
                break;
            }
        }
    }
    // `DD Mon YY`
    if found.is_none() {
        for i in 0..toks.len().saturating_sub(2) {
            let y = toks[i + 2];
            if all_digits(toks[i])
                && (2..=3).contains(&y.len())
                && all_digits(y)
                && let Some(m) = month(toks[i + 1])
            {
                (dd, mon, yyyy) = (num(toks[i]), m, num(y));
                if y.len() == 2 && yyyy < 50 {
                    yyyy += 2000;
                } else {
                    yyyy += 1900;
                }
                found = Some((i, 3));
                break;
            }
        }
    }
    let (at, n) = found?;
    toks.drain(at..at + n);
    let (mut hh, mut mm, mut ss) = (0i64, 0i64, 0i64);
    if let Some(i) = toks.iter().position(|t| is_hm(t)) {
        let mut it = toks[i].split(':');
        hh = num(it.next().unwrap_or("0"));
        mm = num(it.next().unwrap_or("0"));
        ss = it.next().map(num).unwrap_or(0);
        toks.remove(i);
    }
    let mut tzoff = 0i64;
    if let Some(t) = toks
        .iter()
        .find(|t| t.len() == 5 && (t.starts_with('+') || t.starts_with('-')) && all_digits(&t[1..]))
    {
        let v = num(&t[1..]);
        tzoff = (v / 100 * 60 + v % 100) * 60;
        if t.starts_with('-') {
            tzoff = -tzoff;
        }
    } else if let Some(z) = first_upper_word(&toks)
        && let Some(&(_, v)) = ZONES.iter().find(|(n, _)| *n == z)
    {
        let (a, sign) = (v.abs(), v.signum());
        tzoff = sign * (a / 100 * 60 + a % 100) * 60;
    }
    ss = ss.min(59);
    mm = mm.min(59);
    hh = hh.min(23);
    let leap = yyyy % 4 == 0 && (yyyy % 100 != 0 || yyyy % 400 == 0);
    let max_dd = match mon {
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 31,
    };
    if dd > max_dd {
        dd = 1;
        mon += 1;
        if mon > 12 {
            mon = 1;
            yyyy += 1;
        }
    }
    yyyy = yyyy.clamp(1970, 2037);
    if dd < 1 {
        return None;
    }
    let t = days_from_civil(yyyy, mon, dd) * 86400 + hh * 3600 + mm * 60 + ss;
    Some(if tzoff > 0 && t < tzoff { 0 } else { t - tzoff })
}

fn is_hm(t: &str) -> bool {
    let mut parts = t.split(':');
    let h = parts.next().unwrap_or("");
    let m = parts.next().unwrap_or("");
    let s = parts.next();
    parts.next().is_none()
        && (1..=2).contains(&h.len())
        && all_digits(h)
        && m.len() == 2
        && all_digits(m)
        && s.is_none_or(|s| s.len() == 2 && all_digits(s))
}

fn is_hms(t: &str) -> bool {
    let p: Vec<&str> = t.split(':').collect();
    p.len() == 3 && p.iter().all(|x| all_digits(x))
}

/// The first word of 2 to 4 capitals (optionally `-DST`), as the zone.
fn first_upper_word<'a>(toks: &[&'a str]) -> Option<&'a str> {
    for t in toks {
        // Perl's \b boundaries: look inside the token for a run of capitals
        // delimited by non-word characters.
        let b = t.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_alphanumeric() || b[i] == b'_' {
                let s = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let w = &t[s..i];
                if (2..=4).contains(&w.len()) && w.bytes().all(|c| c.is_ascii_uppercase()) {
                    return Some(w);
                }
            } else {
                i += 1;
            }
        }
    }
    None
}

/// The first `D Mon YYYY HH:MM:SS ZONE` found in a Received header
/// (SpamAssassin's `\s.?\d+ \S\S\S \d+ \d+:\d+:\d+ \S+`, run after
/// tabs and line breaks became spaces), parsed.
pub(crate) fn received_date(rcvd: &str) -> Option<i64> {
    // The tokens between the separators (empty ones between adjacent
    // separators count), found a byte at a time, five at a time.
    let b = rcvd.as_bytes();
    let mut at = 0;
    let mut next = || {
        let from = at;
        if from > b.len() {
            return None;
        }
        let end = b[from..]
            .iter()
            .position(|&c| matches!(c, b' ' | b'\t' | b'\r' | b'\n'))
            .map_or(b.len(), |i| from + i);
        at = end + 1;
        // Separators are ASCII: `from..end` are character boundaries.
        Some(&rcvd[from..end])
    };
    let mut w: [&str; 5] = [""; 5];
    for t in &mut w {
        *t = next()?;
    }
    loop {
        // At most one byte before the day's digits (`\s.?\d+`).
        let d = match w[0].as_bytes() {
            [c, ..] if c.is_ascii_digit() => Some(w[0]),
            [c, e, ..] if !c.is_ascii_digit() && e.is_ascii_digit() => Some(&w[0][1..]),
            _ => None,
        };
        if let Some(d) = d
            && all_digits(d)
            && w[1].chars().count() == 3
            && all_digits(w[2])
            && is_hms(w[3])
            && !w[4].is_empty()
        {
            let s = format!("{} {} {} {} {}", d, w[1], w[2], w[3], w[4]);
            return parse_date(&s);
        }
        w.rotate_left(1);
        w[4] = next()?;
    }
}

// ---------------------------------------------------------------- relays

/// One hop of the Received chain as the eval tests read it: the fields of
/// [`crate::spam::origin::Relay`] (the crate's one Received reader), names
/// lower-cased. An address-literal HELO keeps its brackets, as in
/// SpamAssassin's relays: `[192.0.2.1]` is not a numeric HELO there, and
/// no HELO/IP mismatch.
#[derive(Debug, Clone, Default)]
pub(crate) struct Relay {
    /// The connecting IP address.
    pub ip: String,
    /// Its reverse DNS name, lower case (empty when unknown).
    pub rdns: String,
    /// The HELO name, lower case.
    pub helo: String,
    /// The envelope sender recorded, if any.
    pub envfrom: Option<String>,
}

impl From<&origin::Relay> for Relay {
    fn from(r: &origin::Relay) -> Relay {
        Relay {
            ip: r.ip.to_ascii_lowercase(),
            rdns: r.rdns.to_ascii_lowercase(),
            helo: r.helo.to_ascii_lowercase(),
            envfrom: r.envfrom.clone(),
        }
    }
}

/// True for a dotted-quad IPv4 address.
pub(crate) fn is_ipv4(s: &str) -> bool {
    s.parse::<std::net::Ipv4Addr>().is_ok()
}

/// True for an address in a private, loopback, link-local or CGN range
/// (SpamAssassin's `IP_PRIVATE`).
pub(crate) fn is_private_ip(s: &str) -> bool {
    origin::net::parse_ip(s).is_some_and(|(ip, _)| origin::net::is_private(ip))
}

/// The trusted relays and the untrusted ones, newest first.
pub(crate) type TrustSplit = (Vec<Relay>, Vec<Relay>);

/// The chain split at its trust boundary, in the eval tests' form.
pub(crate) fn trust_split(chain: &origin::Chain) -> TrustSplit {
    (
        chain.trusted().iter().map(Relay::from).collect(),
        chain.untrusted().iter().map(Relay::from).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("Thu, 01 Jan 1970 00:00:00 +0000"), Some(0));
        assert_eq!(parse_date("Fri, 2 Jan 1970 01:00:00 +0100"), Some(86400));
        assert_eq!(parse_date("2 Jan 70 00:00:00 GMT"), Some(86400));
        assert_eq!(parse_date("Fri Jan  2 10:00:00 1970"), Some(86400));
        assert_eq!(
            parse_date("Fri, 2 Jan 1970 00:00:00 EST"),
            Some(86400 + 5 * 3600)
        );
        assert_eq!(parse_date("garbage"), None);
        assert_eq!(
            received_date("from x by y; Fri, 2 Jan 1970 00:00:00 +0000 (GMT)"),
            Some(86400)
        );
    }

    #[test]
    fn relays() {
        let chain = origin::Chain::build(
            [
                "from mail.example.com (mail.example.com [192.0.2.1]) by mx.example.org \
                 (Postfix) with ESMTP id 1; Fri, 2 Jan 1970 00:00:00 +0000",
                "from [10.0.0.2] (helo=1.2.3.4) by mx.example.org with esmtp",
            ],
            [],
            &origin::OriginConfig::default(),
        );
        let (trusted, untrusted) = trust_split(&chain);
        assert!(trusted.is_empty());
        assert_eq!(untrusted.len(), 2);
        let r = &untrusted[0];
        assert_eq!(r.ip, "192.0.2.1");
        assert_eq!(r.helo, "mail.example.com");
        assert_eq!(r.rdns, "mail.example.com");
        assert_eq!(
            (untrusted[1].ip.as_str(), untrusted[1].helo.as_str()),
            ("10.0.0.2", "1.2.3.4")
        );
        assert!(is_private_ip("192.168.1.1") && !is_private_ip("192.0.2.1"));
    }

    /// The date search as first written, over all the tokens at once.
    fn received_date_naive(rcvd: &str) -> Option<i64> {
        let toks: Vec<&str> = rcvd.split([' ', '\t', '\r', '\n']).collect();
        (0..toks.len().saturating_sub(4)).find_map(|i| {
            let d = toks[i].trim_start_matches(|c: char| !c.is_ascii_digit());
            (toks[i].len() - d.len() <= 1
                && all_digits(d)
                && toks[i + 1].chars().count() == 3
                && all_digits(toks[i + 2])
                && is_hms(toks[i + 3])
                && !toks[i + 4].is_empty())
            .then(|| {
                let s = format!(
                    "{d} {} {} {} {}",
                    toks[i + 1],
                    toks[i + 2],
                    toks[i + 3],
                    toks[i + 4]
                );
                parse_date(&s)
            })
        })?
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(4096))]

        #[test]
        fn received_date_agrees_with_the_naive_search(
            parts in proptest::collection::vec(
                proptest::sample::select(vec![
                    " ", "\t", "\r", "\n", ";", "(", "é", "Fri,", "2", "x2", "Jan", "1970",
                    "00:00:00", "+0000", "by", "from",
                ]),
                0..12,
            ),
            // A date, right or nearly: what may stand before the day,
            // the day, month, year, time and zone, and the separators.
            date in (
                proptest::sample::select(vec!["", "", "x", "(", "xy", "é"]),
                proptest::sample::select(vec!["2", "02", "31", "x"]),
                proptest::sample::select(vec!["Jan", "Jan", "Jän", "Janu"]),
                proptest::sample::select(vec!["1970", "2021", "x"]),
                proptest::sample::select(vec!["00:00:00", "10:11:12", "1:2"]),
                proptest::sample::select(vec!["+0000", "", "(GMT)"]),
            ),
            seps in proptest::collection::vec(
                proptest::sample::select(vec![" ", " ", "\t", "\r\n", "  "]),
                4,
            ),
            at in 0usize..12,
        ) {
            let (lead, day, mon, year, hms, zone) = date;
            let date = format!(
                "{lead}{day}{}{mon}{}{year}{}{hms}{}{zone}",
                seps[0], seps[1], seps[2], seps[3]
            );
            let mut parts = parts;
            parts.insert(at.min(parts.len()), &date);
            let r = parts.concat();
            proptest::prop_assert_eq!(received_date(&r), received_date_naive(&r));
        }
    }
}
