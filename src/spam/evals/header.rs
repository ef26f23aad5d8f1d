//! SpamAssassin's HeaderEval tests: forged webmail Received headers,
//! recipient lists, dates, subjects and Message-IDs.
//!
//! Each function reads the top-level header the way the Perl plugin does
//! (through the views in `util`, kept in the context's memo so that a
//! header is decoded once per message) and keeps its thresholds. What
//! several rules share (the Date difference, the recipient statistics,
//! the Hotmail verdicts, whether a list manager stripped the Received
//! headers) is worked out once per message too. Where the Perl builds a
//! regex from header data, the matching is done by hand (see `text`).
//! Date tests compare the Date header with the Received dates, never with
//! a clock.
//!
//! ```
//! use filter::mime::Message;
//! use filter::spam::Features;
//! use filter::spam::evals::{Args, EvalCtx, lookup};
//!
//! // The Date is seven hours after the only Received date.
//! let raw = b"Received: from a (a [192.0.2.1]) by mx; Mon, 3 Jun 2024 10:00:00 +0000\r\n\
//! Date: Mon, 3 Jun 2024 17:00:00 +0000\r\n\r\nhi\r\n";
//! let msg = Message::parse(raw);
//! let features = Features::default();
//! let ctx = EvalCtx::new(&msg, &features);
//! let shifted = lookup("check_for_shifted_date").unwrap();
//! assert!(shifted(&ctx, &Args::new(vec!["6".into(), "12".into()])));
//! assert!(!shifted(&ctx, &Args::new(vec!["undef".into(), "-96".into()])));
//! ```

use std::sync::LazyLock;

use regex::Regex;

use super::text;
use super::util::{self, values};
use super::{Args, EvalCtx};

fn re(s: &str) -> Regex {
    Regex::new(s).expect("static regex")
}

/// `\s+` → one space, as the Perl does before matching Received headers.
pub(super) fn squash(s: &str) -> String {
    if s.is_ascii() {
        return squash_ascii(s);
    }
    squash_chars(s)
}

/// [`squash`] for ASCII text: runs of bytes copied whole.
fn squash_ascii(s: &str) -> String {
    // `char::is_whitespace` on ASCII: the vertical tab too.
    let ws = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r');
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let from = i;
        if ws(b[i]) {
            while i < b.len() && ws(b[i]) {
                i += 1;
            }
            out.push(' ');
        } else {
            while i < b.len() && !ws(b[i]) {
                i += 1;
            }
            out.push_str(&s[from..i]);
        }
    }
    out
}

/// [`squash`], a character at a time.
fn squash_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut ws = false;
    for c in s.chars() {
        if c.is_whitespace() {
            if !ws {
                out.push(' ');
            }
            ws = true;
        } else {
            out.push(c);
            ws = false;
        }
    }
    out
}

const IP: &str = r"(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|[0-9a-fA-F:]*:[0-9a-fA-F:.]+)";

fn has_ip(s: &str) -> bool {
    static R: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"\b{IP}")));
    R.is_match(s)
}

/// `check_for_fake_aol_relay_in_rcvd`: an AOL relay name (`rly-xx00.`) in a
/// Received header that AOL did not write.
pub fn check_for_fake_aol_relay_in_rcvd(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    static RLY: LazyLock<Regex> = LazyLock::new(|| re(r"(?i) rly-[a-z][a-z]\d\d\."));
    static VIA: LazyLock<Regex> = LazyLock::new(|| re(r"/AOL-\d+\.\d+\.\d+\)"));
    static ID: LazyLock<Regex> = LazyLock::new(|| re(r"ESMTP id (?:RELAY|MAILRELAY|MAILIN)"));
    let r = ctx.received_squashed();
    RLY.is_match(r) && !VIA.is_match(r) && !ID.is_match(r)
}

/// `gated_through_received_hdr_remover`: the message passed a list manager
/// that strips Received headers (ezmlm, MSN groups), or has none at all.
pub fn gated_through_received_hdr_remover(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    gated(ctx)
}

fn gated(ctx: &EvalCtx<'_, '_>) -> bool {
    *ctx.memo.gated.get_or_init(|| gated_uncached(ctx))
}

fn gated_uncached(ctx: &EvalCtx<'_, '_>) -> bool {
    static EZ: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^contact \S+@\S+; run by ezmlm$"));
    static DL: LazyLock<Regex> = LazyLock::new(|| re(r"(?m)^mailing list \S+@\S+"));
    static QM: LazyLock<Regex> =
        LazyLock::new(|| re(r"qmail \d+ invoked (?:from network|by .{3,20})\); \d+ ... \d+"));
    static MSN: LazyLock<Regex> = LazyLock::new(|| re(r"from groups\.msn\.com \(\S+\.msn\.com "));
    let rcvd = ctx.get("Received");
    if util::has(ctx.msg, "Mailing-List")
        && EZ.is_match(&ctx.get("Mailing-List"))
        && DL.is_match(&ctx.get("Delivered-To"))
        && QM.is_match(&rcvd)
    {
        return true;
    }
    if !util::has(ctx.msg, "Received") {
        return true;
    }
    MSN.is_match(&rcvd)
}

fn msn_groups(ctx: &EvalCtx<'_, '_>) -> bool {
    static TO: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)<(\S+)@groups\.msn\.com>"));
    static PICK: LazyLock<Regex> =
        LazyLock::new(|| re(r"from mail pickup service by ((?:p\d\d\.)groups\.msn\.com)\b"));
    let to = ctx.get("To");
    let Some(list) = TO.captures(&to).map(|c| c[1].to_string()) else {
        return false;
    };
    let rcvd = ctx.get("Received");
    let Some(server) = PICK.captures(&rcvd).map(|c| c[1].to_string()) else {
        return false;
    };
    let mid = ctx.get("Message-Id");
    if list == "notifications" {
        mid.starts_with('<') && mid.contains(&format!("@{server}>"))
    } else {
        mid.starts_with(&format!("<{list}-"))
            && mid.contains("@groups.msn.com>")
            && ctx
                .envelope_from()
                .contains(&format!("{list}-bounce@groups.msn.com"))
    }
}

/// Hotmail state: (address with forged Hotmail Received, Hotmail address
/// but no Hotmail Received).
fn hotmail(ctx: &EvalCtx<'_, '_>) -> (bool, bool) {
    *ctx.memo.hotmail.get_or_init(|| hotmail_uncached(ctx))
}

fn hotmail_uncached(ctx: &EvalCtx<'_, '_>) -> (bool, bool) {
    static PICKUP: LazyLock<Regex> =
        LazyLock::new(|| re(r"from mail pickup service by hotmail\.com with Microsoft SMTPSVC;"));
    static R1: LazyLock<Regex> =
        LazyLock::new(|| re(r"from (?:\S*\.)?hotmail.com \(\S+\.hotmail(?:\.msn)?\.com[ )]"));
    static R2: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"from \S*\.outbound\.protection\.outlook\.com \(\S+\.outbound\.protection\.outlook\.com[ )]",
        )
    });
    static R3: LazyLock<Regex> = LazyLock::new(|| {
        re(&format!(
            r"from \S*\.(?:eur|nam)prd\d+\.prod\.outlook\.com \({IP}\)"
        ))
    });
    static R4: LazyLock<Regex> =
        LazyLock::new(|| re(&format!(r"from \S*\.hotmail.com \(\[{IP}\][ ):]")));
    static R5: LazyLock<Regex> =
        LazyLock::new(|| re(r"from \S+ by \S+\.hotmail(?:\.msn)?\.com with HTTP;"));
    static R6: LazyLock<Regex> = LazyLock::new(|| re(r"from \[66\.218.\S+\] by \S+\.yahoo\.com"));
    static HELO: LazyLock<Regex> = LazyLock::new(|| re(r"(?:from |HELO |helo=)\S*hotmail\.com\b"));
    static ORIG: LazyLock<Regex> = LazyLock::new(|| re(r"hotmail\.com|msonline-outlook"));
    let rcvd = ctx.received_squashed();
    // Both answers need `hotmail.com`: in a Received header for the
    // first (the HELO test below), in the From address for the second.
    if !rcvd.contains("hotmail.com")
        && !ends_with_domain(&ctx.addr("From").to_ascii_lowercase(), "hotmail.com")
    {
        return (false, false);
    }
    if PICKUP.is_match(rcvd) || msn_groups(ctx) {
        return (false, false);
    }
    let ip = values(ctx.msg, "X-Originating-Ip")
        .iter()
        .any(|v| has_ip(v));
    let orig = values(ctx.msg, "X-OriginatorOrg")
        .iter()
        .any(|v| ORIG.is_match(v));
    if gated(ctx) {
        return (false, false);
    }
    if (R1.is_match(rcvd) && ip)
        || (R2.is_match(rcvd) && orig)
        || (R3.is_match(rcvd) && orig)
        || (R4.is_match(rcvd) && ip)
        || (R5.is_match(rcvd) && ip)
        || (R6.is_match(rcvd) && ip)
    {
        return (false, false);
    }
    if HELO.is_match(rcvd) {
        (true, false)
    } else {
        let from = ctx.addr("From").to_ascii_lowercase();
        (false, ends_with_domain(&from, "hotmail.com"))
    }
}

/// `\bDOMAIN$` on a lower-case address.
fn ends_with_domain(a: &str, dom: &str) -> bool {
    a.strip_suffix(dom).is_some_and(|head| {
        head.is_empty() || !head.ends_with(|c: char| c.is_alphanumeric() || c == '_')
    })
}

/// `check_for_forged_hotmail_received_headers`: a HELO or host name of
/// hotmail.com on a hop Hotmail did not write.
pub fn check_for_forged_hotmail_received_headers(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    hotmail(ctx).0
}

/// `check_for_no_hotmail_received_headers`: From a hotmail.com address, but
/// no Received header from Hotmail.
pub fn check_for_no_hotmail_received_headers(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    hotmail(ctx).1
}

/// `check_for_forged_eudoramail_received_headers`.
pub fn check_for_forged_eudoramail_received_headers(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    static BY: LazyLock<Regex> = LazyLock::new(|| re(r"by \S*whowhere.com;"));
    let from = ctx.addr("From").to_ascii_lowercase();
    if !ends_with_domain(&from, "eudoramail.com") {
        return false;
    }
    let rcvd = ctx.received_squashed();
    let ip = values(ctx.msg, "X-Sender-Ip").iter().any(|v| has_ip(v));
    if gated(ctx) {
        return false;
    }
    !(BY.is_match(rcvd) && ip)
}

/// `check_for_forged_yahoo_received_headers`: From a yahoo.com address, but
/// no Received header written by Yahoo's web or SMTP servers.
pub fn check_for_forged_yahoo_received_headers(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    static OK: LazyLock<Vec<Regex>> = LazyLock::new(|| {
        vec![
            re(r"by web\S+\.mail\S*\.yahoo\.com via HTTP"),
            re(r"by sonic\S+\.consmr\.mail\S*\.yahoo\.com with HTTP"),
            re(r"by smtp\S+\.yahoo\.com with SMTP"),
            re(&format!(
                r"from \[{IP}\] by \S+\.(?:groups|scd|dcn)\.yahoo\.com with NNFMP"
            )),
            re(r"by \w+\.\w+\.yahoo\.com \(\d+\.\d+\.\d+/\d+\.\d+\.\d+\)(?: with ESMTP)? id \w+"),
        ]
    });
    static BULK: LazyLock<Regex> = LazyLock::new(|| re(r"\bmailer\d+\.bulk\.scd\.yahoo\.com\b"));
    let from = ctx.addr("From").to_ascii_lowercase();
    if !ends_with_domain(&from, "yahoo.com") {
        return false;
    }
    let mut rcvd = ctx.get("Received");
    if !ctx.get("Resent-From").is_empty() && !ctx.get("Resent-To").is_empty() {
        let x = ctx.get("X-Received");
        if !x.is_empty() {
            rcvd = x;
        }
    }
    let rcvd = squash(&rcvd);
    if gated(ctx) {
        return false;
    }
    // A bounce from Yahoo: the first untrusted (or a trusted) hop has a
    // yahoo.com reverse name.
    let (trusted, untrusted) = ctx.trust();
    if trusted.iter().any(|r| r.rdns.ends_with(".yahoo.com"))
        || untrusted
            .first()
            .is_some_and(|r| r.rdns.ends_with(".yahoo.com"))
    {
        return false;
    }
    if OK.iter().any(|r| r.is_match(&rcvd)) {
        return false;
    }
    if BULK.is_match(&rcvd) && from.ends_with("@reply.yahoo.com") {
        return false;
    }
    true
}

/// `check_for_forged_juno_received_headers`.
pub fn check_for_forged_juno_received_headers(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    static NEW: LazyLock<Regex> =
        LazyLock::new(|| re(&format!(r"from.*\b(?:juno|untd)\.com.*[\[(]{IP}[\])].*by")));
    static COOKIE: LazyLock<Regex> = LazyLock::new(|| re(r" cookie\.(?:juno|untd)\.com "));
    static MAILCOM: LazyLock<Regex> =
        LazyLock::new(|| re(&format!(r"from.*\bmail\.com.*\[{IP}\].*by")));
    static WEBMAIL: LazyLock<Regex> = LazyLock::new(|| {
        re(&format!(
            r"from (webmail\S+\.untd\.com) \((\S+) \[{IP}\]\) by"
        ))
    });
    static XM_MAIL: LazyLock<Regex> = LazyLock::new(|| re(r"\bmail\.com"));
    static XM_WEB: LazyLock<Regex> = LazyLock::new(|| re(r"^Webmail Version \d"));
    let from = ctx.addr("From").to_ascii_lowercase();
    if !ends_with_domain(&from, "juno.com") || gated(ctx) {
        return false;
    }
    let xorig = ctx.get("X-Originating-IP");
    let xmailer = ctx.get("X-Mailer");
    // Perl's `.` stops at newlines: match each header line alone.
    let rcvd = ctx.get("Received");
    let any = |r: &Regex| rcvd.lines().any(|l| r.is_match(l));
    if !xorig.is_empty() {
        if !any(&NEW) && !COOKIE.is_match(&rcvd) {
            return true;
        }
        if !xmailer.contains("Juno ") {
            return true;
        }
    } else {
        if any(&MAILCOM) {
            if !XM_MAIL.is_match(&xmailer) {
                return true;
            }
        } else if rcvd
            .lines()
            .filter_map(|l| WEBMAIL.captures(l))
            .any(|c| c[1] == c[2])
        {
            if !XM_WEB.is_match(&xmailer) {
                return true;
            }
        } else {
            return true;
        }
        if !has_ip(&xorig) {
            return true;
        }
    }
    false
}

/// `check_for_forged_gmail_received_headers`: From a gmail.com address,
/// without the X-Received / X-Gm-Message-State / X-Google-Smtp-Source
/// headers Gmail adds.
pub fn check_for_forged_gmail_received_headers(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    static X1: LazyLock<Regex> = LazyLock::new(|| re(r"by 10\.\S+ with SMTP id \S+"));
    static X2: LazyLock<Regex> = LazyLock::new(|| re(r"by 2002:a\d\d:\w+:\S+ with SMTP id \S+"));
    static R: LazyLock<Regex> =
        LazyLock::new(|| re(r"by smtp\.googlemail\.com with ESMTPSA id \S+"));
    let from = ctx.addr("From").to_ascii_lowercase();
    if !ends_with_domain(&from, "gmail.com") {
        return false;
    }
    let xr = ctx.get("X-Received");
    if X1.is_match(&xr) || X2.is_match(&xr) || R.is_match(&ctx.get("Received")) {
        return false;
    }
    let xgms = ctx.get("X-Gm-Message-State");
    let xss = ctx.get("X-Google-Smtp-Source");
    !(xgms.chars().count() >= 60 && xss.chars().count() >= 60)
}

/// `check_for_matching_env_and_hdr_from`: the envelope sender equals the
/// From address (case-insensitive; two empty ones match).
pub fn check_for_matching_env_and_hdr_from(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    ctx.envelope_from().to_lowercase() == ctx.addr("From").to_lowercase()
}

/// Recipient facts: (sorted, similarity).
fn recipients(ctx: &EvalCtx<'_, '_>) -> (bool, f64) {
    *ctx.memo.recipients.get_or_init(|| recipients_uncached(ctx))
}

fn recipients_uncached(ctx: &EvalCtx<'_, '_>) -> (bool, f64) {
    let mut inputs = util::addrs(ctx.msg, "To");
    inputs.extend(util::addrs(ctx.msg, "Cc"));
    if inputs.len() < 5 {
        inputs.extend(util::addrs(ctx.msg, "Bcc"));
    }
    let mut address: Vec<String> = Vec::new();
    let mut prev = String::new();
    for cur in inputs {
        if cur.to_lowercase() != prev.to_lowercase() {
            prev = cur.clone();
            address.push(cur);
        }
        if address.len() == 256 {
            break;
        }
    }
    let mut sorted = address.clone();
    sorted.sort();
    let is_sorted = address.len() >= 7 && sorted == address;
    let mut similar = 0.0;
    if address.len() >= 5 {
        let pre = |s: &str| s.chars().take(2).collect::<String>();
        let user: Vec<String> = address.iter().map(|a| pre(a)).collect();
        let fqhn: Vec<Option<&str>> = address
            .iter()
            .map(|a| a.find('@').map(|i| &a[i + 1..]))
            .collect();
        let host: Vec<Option<String>> = fqhn.iter().map(|f| f.map(pre)).collect();
        let (mut hits, mut comb) = (0u64, 0u64);
        for i in 0..address.len() {
            for j in i + 1..address.len() {
                if user[i] == user[j] {
                    hits += 1;
                }
                if host[i] == host[j] && fqhn[i] != fqhn[j] {
                    hits += 1;
                }
                comb += 1;
            }
        }
        similar = hits as f64 / comb as f64;
    }
    (is_sorted, similar)
}

/// `sorted_recipients`: seven or more To/Cc recipients in sorted order.
pub fn sorted_recipients(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    recipients(ctx).0
}

/// Parses a numeric argument; `undef` and junk are `None`.
pub(crate) fn arg_f(args: &Args, i: usize) -> Option<f64> {
    args.num(i)
}

/// `similar_recipients(MIN, MAX)`: the To/Cc addresses look alike (shared
/// two-letter prefixes of user or host); MIN/MAX may be `undef`.
pub fn similar_recipients(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let s = recipients(ctx).1;
    arg_f(args, 0).is_none_or(|m| s >= m) && arg_f(args, 1).is_none_or(|m| s < m)
}

/// `check_for_missing_to_header`: neither To nor Apparently-To.
pub fn check_for_missing_to_header(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    ctx.get("To").is_empty() && ctx.get("Apparently-To").is_empty()
}

/// `check_for_forged_gw05_received_headers`.
pub fn check_for_forged_gw05_received_headers(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    static R: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?s)\nfrom\s(\S+)\sby\s(\S+)\swith\sESMTP;\s+\S\S\S,\s+\d+\s+\S\S\S\s+\d{4}\s+\d\d:\d\d:\d\d\s+[-+]*\d{4}\n$",
        )
    });
    let rcvd = ctx.get("Received");
    R.captures(&rcvd).is_some_and(|c| !c[2].contains('.'))
}

/// Seconds from the Received dates to the Date header (positive when the
/// Date is later), as SpamAssassin's `_check_date_diff` works it out; 0
/// when either is missing.
pub(crate) fn date_diff(ctx: &EvalCtx<'_, '_>) -> i64 {
    *ctx.memo.date_diff.get_or_init(|| date_diff_uncached(ctx))
}

fn date_diff_uncached(ctx: &EvalCtx<'_, '_>) -> i64 {
    let Some(date) = date_header_time(ctx) else {
        return 0;
    };
    let times = received_times(ctx);
    if times.is_empty() {
        return 0;
    }
    let mut diffs: Vec<i64> = times.iter().map(|t| date - t).collect();
    if diffs.len() > 1 && diffs.last() == Some(&0) {
        diffs.pop();
    }
    diffs.sort_by_key(|d| d.unsigned_abs());
    diffs[0]
}

/// The Resent-Date, else the Date, parsed.
fn date_header_time(ctx: &EvalCtx<'_, '_>) -> Option<i64> {
    for h in ["Resent-Date", "Date"] {
        for d in values(ctx.msg, h) {
            if !d.is_empty()
                && let Some(t) = util::parse_date(&d)
            {
                return Some(t);
            }
        }
    }
    None
}

/// The Received dates, fetchmail's own hops set aside.
fn received_times(ctx: &EvalCtx<'_, '_>) -> Vec<i64> {
    static LOCAL: LazyLock<Regex> =
        LazyLock::new(|| re(r"\bfrom (?:localhost\s|(?:\S+ ){1,2}\S*\b127\.0\.0\.1\b)"));
    static QMAIL: LazyLock<Regex> = LazyLock::new(|| re(r"qmail \d+ invoked by uid \d+"));
    static FETCH: LazyLock<Regex> =
        LazyLock::new(|| re(r"\bby localhost with \w+ \(fetchmail-[\d.]+"));
    let mut rcvd: Vec<&String> = ctx
        .received()
        .iter()
        .filter(|v| v.chars().any(|c| !c.is_whitespace()))
        .collect();
    if rcvd.is_empty() {
        return Vec::new();
    }
    if LOCAL.is_match(rcvd[0]) || QMAIL.is_match(rcvd[0]) {
        let first = rcvd.remove(0);
        if !(rcvd.first().is_some_and(|r| FETCH.is_match(r))) {
            rcvd.insert(0, first);
        } else {
            rcvd.remove(0);
        }
    } else if FETCH.is_match(rcvd[0]) {
        rcvd.remove(0);
    }
    rcvd.iter().filter_map(|r| util::received_date(r)).collect()
}

/// `check_for_shifted_date(MIN, MAX)`: the Date header is MIN to MAX hours
/// after the closest Received date (negative: before); `undef` leaves a
/// side open. Without a Date or a dated Received header the difference is
/// 0, as in SpamAssassin. No clock is read.
pub fn check_for_shifted_date(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let d = date_diff(ctx) as f64;
    arg_f(args, 0).is_none_or(|m| d >= 3600.0 * m) && arg_f(args, 1).is_none_or(|m| d < 3600.0 * m)
}

/// Charsets whose subjects look all capitals in ASCII (Japanese, Chinese,
/// Cyrillic, ...): SpamAssassin's `CHARSETS_LIKELY_TO_FP_AS_CAPS`.
pub(crate) fn likely_caps_charset(cs: &str) -> bool {
    let l = cs.to_ascii_lowercase();
    [
        "koi",
        "jp",
        "jis",
        "euc",
        "gb",
        "big5",
        "isoir",
        "cp1251",
        "windows-1251",
        "georgianps",
        "pt154",
        "tis",
    ]
    .iter()
    .any(|k| l.contains(k))
}

/// `subject_is_all_caps`: a subject of two or more words and ten or more
/// characters whose letters are all capitals.
pub fn subject_is_all_caps(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    static PREFIX: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?i)^(?:(?:Re|Fwd|Fw|Aw|Antwort|WG|SV|VB|VS|VL):\s*)+"));
    static CS: LazyLock<Regex> = LazyLock::new(|| re(r"=\?([^?]*)\?"));
    let subject = ctx.get("Subject");
    let s = subject.trim();
    let s = PREFIX.replace(s, "");
    if !s.chars().any(char::is_whitespace) || s.chars().count() < 10 {
        return false;
    }
    let letters: String = s.chars().filter(char::is_ascii_alphabetic).collect();
    for raw in util::raw_values(ctx.msg, "Subject") {
        let raw = String::from_utf8_lossy(&raw);
        if CS.captures_iter(&raw).any(|c| {
            let cs = &c[1];
            // The whole label must be made of [-_a-z0-9] around the keyword.
            cs.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && likely_caps_charset(cs)
        }) {
            return false;
        }
    }
    !letters.is_empty() && letters == letters.to_ascii_uppercase()
}

/// `check_for_to_in_subject(TEST)`: the To address (`address`) or its
/// local part (`user`) appears in the Subject.
pub fn check_for_to_in_subject(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let full_to = ctx.addr("To");
    if full_to.is_empty() {
        return false;
    }
    let subject = ctx.get("Subject");
    let subject = subject.strip_suffix('\n').unwrap_or(&subject);
    match args.first().map(String::as_str) {
        // `(?i)\bADDRESS\b`
        Some("address") => text::contains_word_ci(subject, &full_to),
        Some("user") => {
            let to = full_to.split('@').next().unwrap_or("");
            text::user_in_subject(subject, to)
        }
        _ => false,
    }
}

/// `check_outlook_message_id`: an Outlook-style Message-ID whose embedded
/// timestamp matches neither the Date header nor the last Received date.
pub fn check_outlook_message_id(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    static MID: LazyLock<Regex> =
        LazyLock::new(|| re(r"^<[0-9a-f]{4}([0-9a-f]{8})\$[0-9a-f]{8}\$[0-9a-f]{8}@"));
    static RDATE: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?m)(\s.?\d+ \S\S\S \d+ \d+:\d+:\d+ \S+).*?$"));
    let id = ctx.message_id();
    let Some(c) = MID.captures(id) else {
        return false;
    };
    let token = i64::from_str_radix(&c[1], 16).unwrap_or(0) as f64;
    let (x, y, fudge) = (0.0023283064365387f64, 27111902.8329849f64, 250.0);
    let t = util::parse_date(&ctx.get("Date")).unwrap_or(0) as f64;
    if (token - (t * x + y).trunc()).abs() < fudge {
        return false;
    }
    let rcvd = ctx.get("Received");
    let t = RDATE
        .captures(&rcvd)
        .and_then(|c| util::parse_date(&c[1]))
        .unwrap_or(0) as f64;
    (token - (t * x + y).trunc()).abs() >= fudge
}

/// `check_messageid_not_usable`: the Message-ID was rewritten on the way
/// (Lyris, ezmlm, iPlanet), so Message-ID tests should not be trusted.
pub fn check_messageid_not_usable(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    static LU: LazyLock<Regex> =
        LazyLock::new(|| re(r"(?i)<mailto:(?:leave-\S+|\S+-unsubscribe)@\S+>$"));
    let lu = ctx.get("List-Unsubscribe");
    if LU.is_match(lu.trim_end_matches('\n')) || gated(ctx) {
        return true;
    }
    let rcvd = ctx.get("Received");
    rcvd.contains("/CWT/DCE)") || rcvd.contains("iPlanet Messaging Server")
}

/// `check_header_count_range(HEADER, MIN, MAX)`: the number of distinct
/// values of HEADER is within MIN..=MAX.
pub fn check_header_count_range(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let Some(h) = args.first() else { return false };
    let mut v = values(ctx.msg, h);
    let mut seen = std::collections::HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
    let n = v.len() as f64;
    arg_f(args, 1).is_some_and(|m| n >= m) && arg_f(args, 2).is_some_and(|m| n <= m)
}

/// `check_unresolved_template`: a header still holds a mail-merge
/// placeholder like `%FROM_NAME` (address and ID headers excepted).
pub fn check_unresolved_template(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    static PH: LazyLock<Regex> = LazyLock::new(|| re(r"%[A-Z][A-Z_-]"));
    static EXEMPT: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)^(?:X-VMS-To|X-UIDL|X-Face|To|Cc|From|Subject|References|In-Reply-To|(?:X-|Resent-|X-Original-)?Message-Id):",
        )
    });
    let msg = ctx.msg;
    msg.fields(msg.root()).iter().any(|f| {
        let (name, raw) = (msg.field_name(f), msg.field_raw(f));
        // The placeholder needs a `%`; decoding makes one only from an
        // encoded word or an 8-bit byte, so plain fields without one are
        // skipped undecoded.
        if !name.contains(&b'%')
            && !raw.contains(&b'%')
            && raw.is_ascii()
            && memchr::memmem::find(raw, b"=?").is_none()
        {
            return false;
        }
        util::all_line(msg, f)
            .split('\n')
            .any(|h| PH.is_match(h) && !EXEMPT.is_match(h))
    })
}

/// `check_ratware_name_id`: a 28-capital Message-ID whose right side is the
/// From address, with a quoted display name.
pub fn check_ratware_name_id(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    static MID: LazyLock<Regex> = LazyLock::new(|| re(r"<[A-Z]{28}\.([^>]+?)>"));
    let mid = ctx.message_id();
    let Some(c) = MID.captures(mid) else {
        return false;
    };
    text::quoted_name_before(&ctx.get("From"), &c[1])
}

/// `check_ratware_envelope_from`: the envelope sender is built from the
/// recipient's domain and user (`dom.user@...`).
pub fn check_ratware_envelope_from(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    let to = ctx.addr("To");
    let from = ctx.envelope_from();
    if from.is_empty() || to.is_empty() {
        return false;
    }
    let lf = from.to_ascii_lowercase();
    if lf.starts_with("srs")
        && lf[3..].starts_with(|c: char| c.is_ascii_digit())
        && lf[4..].starts_with(['=', '+', '-'])
    {
        return false;
    }
    let Some((user, dom)) = to.split_once('@') else {
        return false;
    };
    if user.is_empty() || dom.is_empty() || !dom.contains('.') {
        return false;
    }
    text::dom_user_at(from, &ctx.cfg.registry.trim_domain(dom), user)
}

/// The `example.com` of `x@a.b.example.com`, as check_equal_from_domains
/// cuts it (last two labels).
fn second_level(a: &str) -> String {
    let Some(i) = a.rfind('@') else {
        return String::new();
    };
    let d = &a[i + 1..];
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() > 2 && !labels[0].is_empty() {
        labels[labels.len() - 2..].join(".")
    } else {
        d.to_string()
    }
}

/// `check_equal_from_domains`: the From and envelope sender domains differ
/// (last two labels compared).
pub fn check_equal_from_domains(ctx: &EvalCtx<'_, '_>, _: &Args) -> bool {
    let f = second_level(&ctx.addr("From"));
    if f.is_empty() {
        return false;
    }
    let e = second_level(ctx.envelope_from());
    if e.is_empty() {
        return false;
    }
    f.to_lowercase() != e.to_lowercase()
}

/// `check_illegal_chars(HEADER, RATIO, COUNT)`: unencoded 8-bit or control
/// characters in a header (`ALL` for the whole header): at least COUNT of
/// them making at least RATIO of its bytes. Valid UTF-8 without controls
/// passes.
pub fn check_illegal_chars(ctx: &EvalCtx<'_, '_>, args: &Args) -> bool {
    let Some(h) = args.first() else { return false };
    let ratio = arg_f(args, 1).unwrap_or(0.0);
    let count = arg_f(args, 2).unwrap_or(0.0);
    let name = h.strip_suffix(":raw").unwrap_or(h);
    let mut s: Vec<u8> = Vec::new();
    if name == "ALL" {
        // The raw header block, as SpamAssassin's `ALL:raw` gives it.
        let root = ctx.msg.root();
        s.extend_from_slice(ctx.msg.slice(root.header));
        s.push(b'\n');
    } else {
        for v in util::raw_values(ctx.msg, name) {
            s.extend_from_slice(&v);
            s.push(b'\n');
        }
    }
    if !s.iter().any(|b| !b.is_ascii_whitespace()) {
        return false;
    }
    let is_ctl = |b: u8| matches!(b, 0x00..=0x08 | 0x0b | 0x0c | 0x0e..=0x1f);
    if s.iter().any(|&b| b >= 0x80)
        && std::str::from_utf8(&s).is_ok()
        && !s.iter().any(|&b| is_ctl(b))
    {
        return false;
    }
    let mut illegal = s.iter().filter(|&&b| is_ctl(b) || b >= 0x7f).count() as f64;
    if illegal > 0.0 && name.eq_ignore_ascii_case("subject") {
        let exempt = s
            .iter()
            .filter(|&&b| matches!(b, 0xa2 | 0xa3 | 0xae))
            .count();
        if exempt == 1 {
            illegal -= 1.0;
        }
    }
    illegal / s.len() as f64 >= ratio && illegal >= count
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The byte path squashes ASCII as the character path does.
        #[test]
        fn squash_ascii_is_squash_chars(s in "[ \t\r\n\x0b\x0ca-c;:.0-9-]{0,40}") {
            prop_assert_eq!(squash_ascii(&s), squash_chars(&s));
        }

        /// A Received header's date is found the same whether its tabs
        /// and line breaks were made spaces first or not.
        #[test]
        fn received_date_reads_tabs_as_spaces(
            ws in proptest::collection::vec(prop_oneof![Just(" "), Just("\t"), Just("\r"), Just("\n")], 6),
            day in 1u32..29,
        ) {
            let r = format!(
                "from x by y;{}Fri,{}{day}{}Jan{}2021{}10:11:12{}+0100",
                ws[0], ws[1], ws[2], ws[3], ws[4], ws[5]
            );
            let spaced = r.replace(['\t', '\r', '\n'], " ");
            prop_assert!(util::received_date(&r).is_some());
            prop_assert_eq!(util::received_date(&r), util::received_date(&spaced));
        }
    }
}
