//! The origin module: the Received reader over every common MTA format,
//! the trust boundary, SpamAssassin's X-Spam-Relays-* pseudo-headers, the
//! zombie checks on real mail and on a synthetic botnet, and the envelope
//! facts.
//!
//! The measurement over ../shared/corpus/spamassassin prints the share of
//! spam and of ham that the origin checks alone flag:
//! `cargo test --release --test spam_origin -- --nocapture measure`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use filter::EngineBuilder;
use filter::envelope::Envelope;
use filter::mime::Message;
use filter::spam::Features;
use filter::spam::evals::{Args, EvalConfig, EvalCtx, lookup};
use filter::spam::origin::received::{Parsed, parse};
use filter::spam::origin::{Chain, Check, OriginConfig, RelaysHeader, analyze, envelope_checks};

// ---------------------------------------------------------------- parser

/// (MTA, line, ip, rdns, helo, by, ident, auth?, id, envfrom, envfor, with)
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

const TABLE: &[Row] = &[
    (
        "postfix",
        "from mail.example.net (mail.example.net [192.0.2.10]) by mx.example.org (Postfix) \
         with ESMTPS id 4VtQ7k1Zq0z9sQ for <bob@example.org>; Mon, 3 Jun 2024 10:00:00 +0200 (CEST)",
        "192.0.2.10",
        "mail.example.net",
        "mail.example.net",
        "mx.example.org",
        "",
        false,
        "4VtQ7k1Zq0z9sQ",
        None,
        Some("bob@example.org"),
        "ESMTPS",
    ),
    (
        "postfix unknown",
        "from helo.example (unknown [198.51.100.23]) by mx.example.org (Postfix) with SMTP id 1A2B3C; \
         Mon, 3 Jun 2024 10:00:00 +0000",
        "198.51.100.23",
        "",
        "helo.example",
        "mx.example.org",
        "",
        false,
        "1A2B3C",
        None,
        None,
        "SMTP",
    ),
    (
        "postfix no space",
        "from client.example.net (client.example.net[192.0.2.11]) by mx.example.org (Postfix) with ESMTP id 9F8E7; Mon, 3 Jun 2024 10:00:00 +0000",
        "192.0.2.11",
        "client.example.net",
        "client.example.net",
        "mx.example.org",
        "",
        false,
        "9F8E7",
        None,
        None,
        "ESMTP",
    ),
    (
        "postfix authenticated",
        "from [192.168.1.20] (dsl-203-0-113-5.example.net [203.0.113.5]) (Authenticated sender: alice) \
         by smtp.example.org (Postfix) with ESMTPSA id 5C6D7 for <bob@example.com>; Tue, 4 Jun 2024 08:00:00 +0000 (UTC)",
        "203.0.113.5",
        "dsl-203-0-113-5.example.net",
        "[192.168.1.20]",
        "smtp.example.org",
        "",
        true,
        "5C6D7",
        None,
        Some("bob@example.com"),
        "ESMTPSA",
    ),
    (
        "sendmail",
        "from relay.example.net (relay.example.net [192.0.2.30]) by mail.example.org (8.17.1/8.17.1) \
         with ESMTP id 453A0B1c012345 for <carol@example.org>; Mon, 3 Jun 2024 10:00:00 -0400",
        "192.0.2.30",
        "relay.example.net",
        "relay.example.net",
        "mail.example.org",
        "",
        false,
        "453A0B1c012345",
        None,
        Some("carol@example.org"),
        "ESMTP",
    ),
    (
        "sendmail ident",
        "from host.example.net (IDENT:joe@host.example.net [192.0.2.31]) by mail.example.org \
         (8.11.6/8.11.6) with ESMTP id g7A1B2C3; Sat, 10 Aug 2002 01:02:03 +0100",
        "192.0.2.31",
        "host.example.net",
        "host.example.net",
        "mail.example.org",
        "joe",
        false,
        "g7A1B2C3",
        None,
        None,
        "ESMTP",
    ),
    (
        "sendmail no rdns",
        "from whatever ([198.51.100.40]) by mail.example.org (8.12.8/8.12.8) with SMTP id h3B4C5D6; \
         Fri, 11 Apr 2003 12:00:00 -0700",
        "198.51.100.40",
        "",
        "whatever",
        "mail.example.org",
        "",
        false,
        "h3B4C5D6",
        None,
        None,
        "SMTP",
    ),
    (
        "exim",
        "from mail.example.net ([192.0.2.50] helo=smtp.example.net) by mx.example.org with esmtps \
         (TLS1.3) tls TLS_AES_256_GCM_SHA384 (Exim 4.96) (envelope-from <list@example.net>) \
         id 1sE5xY-000AbC-2Z for dave@example.org; Mon, 03 Jun 2024 10:00:00 +0000",
        "192.0.2.50",
        "mail.example.net",
        "smtp.example.net",
        "mx.example.org",
        "",
        false,
        "1sE5xY-000AbC-2Z",
        Some("list@example.net"),
        Some("dave@example.org"),
        "esmtps",
    ),
    (
        "exim no rdns",
        "from [203.0.113.60] (helo=friend ident=xyz) by mx.example.org with smtp (Exim 3.35 #1 (Debian)) \
         id 18t2z0-0001NX-00; Wed, 12 Mar 2003 01:57:10 -0800",
        "203.0.113.60",
        "",
        "friend",
        "mx.example.org",
        "xyz",
        false,
        "18t2z0-0001NX-00",
        None,
        None,
        "smtp",
    ),
    (
        "exim authenticated",
        "from [198.51.100.70] (helo=[192.168.0.2]) by smtp.example.org with esmtpa (Exim 4.94) \
         (envelope-from <erin@example.org>) id 1sE5xZ-000DeF-3A; Mon, 03 Jun 2024 11:00:00 +0000",
        "198.51.100.70",
        "",
        "[192.168.0.2]",
        "smtp.example.org",
        "",
        true,
        "1sE5xZ-000DeF-3A",
        Some("erin@example.org"),
        None,
        "esmtpa",
    ),
    (
        "qmail",
        "from unknown (HELO mail.example.net) (192.0.2.80) by mx.example.org with SMTP; \
         3 Jun 2024 10:00:00 -0000",
        "192.0.2.80",
        "",
        "mail.example.net",
        "mx.example.org",
        "",
        false,
        "",
        None,
        None,
        "SMTP",
    ),
    (
        "qmail rdns",
        "from host.example.net (HELO helo.example.net) (joe@192.0.2.81) by mx.example.org with SMTP; \
         3 Jun 2024 10:00:00 -0000",
        "192.0.2.81",
        "host.example.net",
        "helo.example.net",
        "mx.example.org",
        "joe",
        false,
        "",
        None,
        None,
        "SMTP",
    ),
    (
        "qmail no helo",
        "from host.example.net (192.0.2.82) by mx.example.org with SMTP; 3 Jun 2024 10:00:00 -0000",
        "192.0.2.82",
        "host.example.net",
        "host.example.net",
        "mx.example.org",
        "",
        false,
        "",
        None,
        None,
        "SMTP",
    ),
    (
        "qpsmtpd",
        "from dsl-203-0-113-9.example.net (HELO [203.0.113.9]) (203.0.113.9) by mx.example.org \
         (qpsmtpd/0.96) with ESMTP; Mon, 03 Jun 2024 10:00:00 +0000",
        "203.0.113.9",
        "dsl-203-0-113-9.example.net",
        "[203.0.113.9]",
        "mx.example.org",
        "",
        false,
        "",
        None,
        None,
        "ESMTP",
    ),
    (
        "exchange",
        "from EXC-DAG-02.corp.example.com (10.45.252.152) by EXC-DAG-01.corp.example.com \
         (10.45.252.151) with Microsoft SMTP Server (version=TLS1_2, \
         cipher=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) id 15.1.1261.35; Mon, 29 Oct 2018 11:17:19 +0100",
        "10.45.252.152",
        "",
        "EXC-DAG-02.corp.example.com",
        "EXC-DAG-01.corp.example.com",
        "",
        false,
        "15.1.1261.35",
        None,
        None,
        "Microsoft",
    ),
    (
        "microsoft 365 internal",
        "from AM6PR04MB1234.eurprd04.prod.outlook.com (2603:10a6:20b:1::1) by \
         AM0PR04MB5678.eurprd04.prod.outlook.com (2603:10a6:208:2::2) with Microsoft SMTP Server \
         (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.7633.27; \
         Mon, 3 Jun 2024 10:00:00 +0000",
        "2603:10a6:20b:1::1",
        "",
        "AM6PR04MB1234.eurprd04.prod.outlook.com",
        "AM0PR04MB5678.eurprd04.prod.outlook.com",
        "",
        false,
        "15.20.7633.27",
        None,
        None,
        "Microsoft",
    ),
    (
        "microsoft 365 inbound",
        "from EUR05-AM6-obe.outbound.protection.outlook.com (mail-am6eur05on2099.outbound.protection.outlook.com \
         [40.107.22.99]) by mx.example.org (Postfix) with ESMTPS id 4VtQ8; Mon, 3 Jun 2024 10:00:01 +0000 (UTC)",
        "40.107.22.99",
        "mail-am6eur05on2099.outbound.protection.outlook.com",
        "EUR05-AM6-obe.outbound.protection.outlook.com",
        "mx.example.org",
        "",
        false,
        "4VtQ8",
        None,
        None,
        "ESMTPS",
    ),
    (
        "exchange smtpsvc",
        "from tthompson ([198.51.100.172] unverified) by mail.example.com with Microsoft \
         SMTPSVC(5.0.2195.5329); Tue, 11 Mar 2003 13:23:01 +0000",
        "198.51.100.172",
        "",
        "tthompson",
        "mail.example.com",
        "",
        false,
        "",
        None,
        None,
        "Microsoft",
    ),
    (
        "gmail inbound",
        "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by mx.google.com \
         with SMTPS id a1b2c3d4e5.12.2024.06.03.10.00.00 for <frank@gmail.com> (Google Transport Security); \
         Mon, 03 Jun 2024 03:00:00 -0700 (PDT)",
        "209.85.220.41",
        "mail-sor-f41.google.com",
        "mail-sor-f41.google.com",
        "mx.google.com",
        "",
        false,
        "a1b2c3d4e5.12.2024.06.03.10.00.00",
        None,
        Some("frank@gmail.com"),
        "SMTPS",
    ),
    (
        "gmail outbound",
        "from mail-wr1-f54.google.com (mail-wr1-f54.google.com [209.85.221.54]) by mx.example.org \
         (Postfix) with ESMTPS id 4VtQ9 for <gina@example.org>; Mon, 3 Jun 2024 10:00:02 +0000 (UTC)",
        "209.85.221.54",
        "mail-wr1-f54.google.com",
        "mail-wr1-f54.google.com",
        "mx.example.org",
        "",
        false,
        "4VtQ9",
        None,
        Some("gina@example.org"),
        "ESMTPS",
    ),
    (
        "courier",
        "from host.example.net (host.example.net [192.0.2.90]) (AUTH: LOGIN hank, TLS: TLSv1/SSLv3,256bits) \
         by mail.example.org with ESMTPSA; Mon, 03 Jun 2024 10:00:00 -0400 id 000A1B2C.665DC0A0.00001234",
        "192.0.2.90",
        "host.example.net",
        "host.example.net",
        "mail.example.org",
        "",
        true,
        "",
        None,
        None,
        "ESMTPSA",
    ),
    (
        "courier plain",
        "from mail.example.net ([192.0.2.91]) by courier.example.org with ESMTP; Mon, 03 Jun 2024 10:00:00 -0400",
        "192.0.2.91",
        "",
        "mail.example.net",
        "courier.example.org",
        "",
        false,
        "",
        None,
        None,
        "ESMTP",
    ),
    (
        "ipv6 postfix",
        "from mail.example.net (mail.example.net [IPv6:2001:db8::25]) by mx.example.org (Postfix) \
         with ESMTPS id 4VtR1; Mon, 3 Jun 2024 10:00:00 +0000 (UTC)",
        "2001:db8::25",
        "mail.example.net",
        "mail.example.net",
        "mx.example.org",
        "",
        false,
        "4VtR1",
        None,
        None,
        "ESMTPS",
    ),
    (
        "webmail http",
        "from 198.51.100.99 (SquirrelMail authenticated user ivy) by webmail.example.org with HTTP; \
         Sat, 3 Apr 2004 10:33:43 -0500 (EST)",
        "198.51.100.99",
        "",
        "",
        "webmail.example.org",
        "",
        true,
        "",
        None,
        None,
        "HTTP",
    ),
    (
        "ecelerity",
        "from [192.0.2.120] ([192.0.2.120:49601] helo=dev1.example.net) by m12.example.com \
         (ecelerity 2.1.1.3 r(11743)) with ESMTP id 52/92-02454-89FBA054 for <jo@example.org>; \
         Fri, 15 Sep 2006 10:58:32 -0400",
        "192.0.2.120",
        "",
        "dev1.example.net",
        "m12.example.com",
        "",
        false,
        "52/92-02454-89FBA054",
        None,
        Some("jo@example.org"),
        "ESMTP",
    ),
];

#[test]
fn parses_every_mta_format() {
    let mut wrong = Vec::new();
    for &(mta, line, ip, rdns, helo, by, ident, auth, id, envfrom, envfor, with) in TABLE {
        let Parsed::Hop(h) = parse(line) else {
            wrong.push(format!("{mta}: not a hop: {:?}", parse(line)));
            continue;
        };
        let got = (
            h.ip_text,
            h.rdns,
            h.helo,
            h.by,
            h.ident,
            !h.auth.is_empty(),
            h.id,
            h.envfrom,
            h.envfor,
            h.with,
        );
        let want = (ip, rdns, helo, by, ident, auth, id, envfrom, envfor, with);
        if got != want {
            wrong.push(format!("{mta}:\n  got  {got:?}\n  want {want:?}"));
        }
        assert!(h.ip.is_some(), "{mta}");
        // Every line in the table has a date the reader understands,
        // except Courier's with the id after it.
        if !mta.starts_with("courier") {
            assert!(h.date.is_some(), "{mta}: {:?}", h.date_text);
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn local_handovers_and_unparseable_lines() {
    for line in [
        "(qmail 27981 invoked by uid 225); 14 Mar 2003 07:24:34 -0000",
        "(qmail 84907 invoked from network); 13 Feb 2003 20:59:28 -0000",
        "by 2002:a05:6a10:8e0c:b0:5a1:2b3c:4d5e with SMTP id x12csp345678pxb; Mon, 3 Jun 2024 03:00:00 -0700 (PDT)",
        "by mail.example.org (Postfix, from userid 1000) id 3D4E5F; Mon, 3 Jun 2024 10:00:00 +0000 (UTC)",
        "from andrew by trinity.example.net with local (Exim 4.12) id 18xeL6-000Dn1-00; Tue, 25 Mar 2003 02:39:00 +0000",
        "from mail pickup service by mail1.example.com with Microsoft SMTPSVC; Thu, 13 Feb 2003 19:05:39 -0500",
        "from virtual-access.example by bolero.example.com ; Thu, 20 Feb 2003 23:32:58 +0100",
    ] {
        assert_eq!(parse(line), Parsed::Local, "{line}");
    }
    for line in [
        "from localhost (localhost [127.0.0.1]) by fetch.example.org (fetchmail-6.4.37) with POP3 (single-drop); \
         Mon, 03 Jun 2024 10:00:00 +0000 (UTC)",
        "from cabbage.example.org [127.0.0.1] by localhost with IMAP (fetchmail-5.9.0) for jm@localhost (single-drop)",
        "from pop3.example.dk (195.41.46.251) by loki.valhalla with POP3; 14 Apr 2010 11:14:29 -0000",
    ] {
        assert_eq!(parse(line), Parsed::Fetcher, "{line}");
    }
    for line in [
        "from mail.example.net (some words here) by mx.example.org with ESMTP id 1",
        "from ([not an address]) by mx.example.org",
    ] {
        assert_eq!(parse(line), Parsed::Unparseable, "{line}");
    }
    // The fallback: the address inside brackets anywhere in the clause.
    let Parsed::Hop(h) = parse("from helo.example [198.51.100.1] by mx.example.org") else {
        panic!()
    };
    assert_eq!((h.ip_text, h.helo), ("198.51.100.1", "helo.example"));
}

#[test]
fn hostile_lines_do_not_panic() {
    let mut s = String::from("from ");
    for i in 0..2000 {
        s.push_str(["(", ")", "[", "]", "1.2.3.", "helo=", "; ", "by ", "é", " "][i % 10]);
    }
    let _ = parse(&s);
    for l in [
        "from (",
        "from [",
        "from )",
        "from ;",
        "from by by by",
        "FROM x (y [::ffff:1.2.3.4]) BY z",
    ] {
        let _ = parse(l);
    }
    let Parsed::Hop(h) = parse("FROM x (y [::ffff:1.2.3.4]) BY z") else {
        panic!()
    };
    assert_eq!(h.ip_text, "1.2.3.4");
}

// ---------------------------------------------------------------- corpus

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus")
}

/// (is_spam, path) for ../shared/corpus/spamassassin.
fn labelled() -> Vec<(bool, PathBuf)> {
    let base = corpus_root().join("spamassassin");
    let Ok(labels) = std::fs::read_to_string(base.join("labels.tsv")) else {
        return Vec::new();
    };
    labels
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(label, p)| (label == "spam", base.join(p)))
        .collect()
}

#[test]
fn received_lines_of_real_mail() {
    let files = labelled();
    if files.is_empty() {
        return;
    }
    let (mut lines, mut hops, mut local, mut bad) = (0usize, 0usize, 0usize, 0usize);
    let mut first_untrusted = 0usize;
    for (_, path) in &files {
        let raw = std::fs::read(path).unwrap();
        let msg = Message::parse(&raw);
        for l in filter::spam::origin::received_lines(&msg) {
            lines += 1;
            match parse(&l) {
                Parsed::Hop(h) => {
                    hops += 1;
                    assert!(h.ip.is_some());
                    assert!(l.contains(h.ip_text) || h.ip_text.is_empty(), "{l}");
                }
                Parsed::Local | Parsed::Fetcher => local += 1,
                Parsed::Unparseable => bad += 1,
            }
        }
        let o = analyze(&msg, &OriginConfig::default());
        if o.chain.first_untrusted().is_some() {
            first_untrusted += 1;
        }
    }
    println!(
        "{} messages, {lines} Received lines: {hops} hops with an address, {local} local, {bad} unparseable; \
         {first_untrusted} messages with a first untrusted relay",
        files.len()
    );
    assert!(
        hops * 100 >= lines * 70,
        "only {hops} of {lines} lines parsed with an address"
    );
    assert!(bad * 100 <= lines * 3, "{bad} of {lines} lines unparseable");
    // The corpus keeps only the local hops of some messages.
    assert!(first_untrusted * 100 >= files.len() * 80);
}

/// The scores of the origin rules (`LF_` rules whose eval is a
/// `check_origin_*`) in the default rules, by check.
fn origin_scores() -> HashMap<Check, f64> {
    let mut out = HashMap::new();
    for l in filter::spam::DEFAULT_RULES.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if w.len() == 3
            && w[0] == "score"
            && let Some(c) = Check::ALL.iter().find(|c| c.rule() == w[1])
        {
            out.insert(*c, w[2].parse::<f64>().unwrap());
        }
    }
    out
}

/// The origin score of a message: the sum of the default scores of the
/// checks that hit.
fn origin_score(checks: filter::spam::origin::Checks, scores: &HashMap<Check, f64>) -> f64 {
    checks.iter().map(|c| scores[&c]).sum()
}

/// A message is flagged by the origin checks alone when their scores add
/// up to this much.
const FLAG_AT: f64 = 1.0;

#[test]
fn measure() {
    let files = labelled();
    if files.is_empty() {
        return;
    }
    let scores = origin_scores();
    assert_eq!(
        scores.len(),
        Check::ALL.len(),
        "every check has a score in default.cf"
    );
    let mut per: HashMap<Check, [usize; 2]> = HashMap::new();
    let mut n = [0usize; 2];
    let mut flagged = [0usize; 2];
    for (spam, path) in &files {
        let raw = std::fs::read(path).unwrap();
        let msg = Message::parse(&raw);
        let o = analyze(&msg, &OriginConfig::default());
        n[*spam as usize] += 1;
        for c in o.checks.iter() {
            per.entry(c).or_default()[*spam as usize] += 1;
        }
        if origin_score(o.checks, &scores) >= FLAG_AT {
            flagged[*spam as usize] += 1;
        }
    }
    let pct = |a: usize, b: usize| 100.0 * a as f64 / b as f64;
    for c in Check::ALL {
        let [h, s] = per.get(&c).copied().unwrap_or_default();
        println!(
            "{:26} score {:4.2}  ham {:5.2}%  spam {:5.2}%",
            c.rule(),
            scores[&c],
            pct(h, n[0]),
            pct(s, n[1])
        );
    }
    let (ham_pct, spam_pct) = (pct(flagged[0], n[0]), pct(flagged[1], n[1]));
    println!(
        "origin checks alone (score >= {FLAG_AT}): spam flagged {}/{} = {spam_pct:.2}%, \
         ham flagged {}/{} = {ham_pct:.2}%",
        flagged[1], n[1], flagged[0], n[0]
    );
    assert!(ham_pct < 3.0, "ham flagged {ham_pct:.2}%");
    assert!(
        spam_pct > 4.0 * ham_pct && spam_pct >= 10.0,
        "spam flagged {spam_pct:.2}%"
    );
}

// ---------------------------------------------------------------- botnet

/// A message as our MX receives it from `client` (ip, rdns, helo):
/// the one Received line our Postfix writes, then what the client sent.
fn delivered(ip: &str, rdns: Option<&str>, helo: &str, extra_rcvd: &[String], n: usize) -> Vec<u8> {
    let mut m = format!(
        "Received: from {helo} ({} [{ip}])\r\n\tby mx.example.org (Postfix) with SMTP id {n:X}\r\n\
         \tfor <user{n}@example.org>; Mon, 3 Jun 2024 10:{:02}:00 +0000 (UTC)\r\n",
        rdns.unwrap_or("unknown"),
        n % 60
    );
    for r in extra_rcvd {
        m.push_str("Received: ");
        m.push_str(r);
        m.push_str("\r\n");
    }
    m.push_str(&format!(
        "From: someone{n}@example.net\r\nTo: user{n}@example.org\r\nSubject: note {n}\r\n\
         Date: Mon, 3 Jun 2024 09:59:00 +0000\r\nMessage-ID: <{n}@example.net>\r\n\r\nhello\r\n"
    ));
    m.into_bytes()
}

#[test]
fn synthetic_botnet_is_detected() {
    let scores = origin_scores();
    let cfg = OriginConfig::default();
    let (mut bots, mut bots_flagged) = (0, 0);
    let mut n = 0;
    for c in 0..500u32 {
        let (a, b) = (1 + c / 250, c % 250 + 1);
        let ip = format!("203.0.{a}.{b}");
        // Three naming schemes of residential providers and three HELO
        // habits of spamware.
        let rdns = match c % 4 {
            0 => Some(format!("dsl-203-0-{a}-{b}.example.net")),
            1 => Some(format!("{b}-{a}-0-203.dyn.example.com")),
            2 => Some(format!("pool-203-0-{a}-{b}.cable.example.de")),
            _ => None,
        };
        let helo = match c % 3 {
            0 => format!("[{ip}]"),
            1 => ip.clone(),
            _ => format!("{:x}{:x}", c * 7919, c * 104729),
        };
        for _ in 0..3 {
            n += 1;
            bots += 1;
            let raw = delivered(&ip, rdns.as_deref(), &helo, &[], n);
            let msg = Message::parse(&raw);
            let o = analyze(&msg, &cfg);
            let first = o.chain.first_untrusted().expect("a client");
            assert_eq!(first.ip, ip);
            if origin_score(o.checks, &scores) >= FLAG_AT && o.checks.contains(Check::DynamicDirect)
            {
                bots_flagged += 1;
            }
        }
    }
    // Normal mail: a provider's relay with a proper name, below it the
    // customer's authenticated submission from a dynamic address.
    let (mut normal, mut normal_flagged) = (0, 0);
    for c in 0..300u32 {
        n += 1;
        normal += 1;
        let relay_ip = format!("192.0.2.{}", c % 200 + 1);
        let relay = format!("smtp{}.mail.example.net", c % 7);
        let sub = format!(
            "from [192.168.1.{}] (dsl-198-51-100-{}.example.net [198.51.100.{}]) \
             by {relay} (Postfix) with ESMTPSA id S{c}; Mon, 3 Jun 2024 09:59:30 +0000",
            c % 200 + 2,
            c % 250 + 1,
            c % 250 + 1
        );
        let raw = delivered(&relay_ip, Some(&relay), &relay, &[sub], n);
        let msg = Message::parse(&raw);
        let o = analyze(&msg, &cfg);
        if origin_score(o.checks, &scores) >= FLAG_AT {
            normal_flagged += 1;
        }
    }
    println!(
        "botnet: {bots_flagged}/{bots} flagged; relayed mail: {normal_flagged}/{normal} flagged"
    );
    assert!(bots_flagged * 100 >= bots * 95, "{bots_flagged}/{bots}");
    assert_eq!(normal_flagged, 0);
}

// ---------------------------------------------------------------- envelope

#[test]
fn envelope_facts_at_connect_time() {
    let cfg = OriginConfig::default();
    let rcpt = vec!["example.org".to_string()];
    let bot = envelope_checks(
        Some("203.0.113.7"),
        Some("[203.0.113.7]"),
        Some("dsl-203-0-113-7.example.net"),
        &rcpt,
        &cfg,
    );
    for c in [
        Check::RdnsDynamic,
        Check::HeloIp,
        Check::DynamicDirect,
        Check::SobigTrace,
    ] {
        assert!(bot.contains(c), "{c:?}");
    }
    let claims_us = envelope_checks(
        Some("198.51.100.9"),
        Some("mx.example.org"),
        None,
        &rcpt,
        &cfg,
    );
    assert!(claims_us.contains(Check::HeloOwnDomain) && claims_us.contains(Check::RdnsNone));
    let honest = envelope_checks(
        Some("192.0.2.25"),
        Some("mail.example.net"),
        Some("mail.example.net"),
        &rcpt,
        &cfg,
    );
    assert!(honest.is_empty(), "{honest:?}");

    // The envelope's own Received line gives the same answers when the
    // message is scanned.
    let env = Envelope {
        client_ip: Some("203.0.113.7".into()),
        helo: Some("[203.0.113.7]".into()),
        rdns: Some("dsl-203-0-113-7.example.net".into()),
        mail_from: Some("x@example.net".into()),
        rcpt_to: vec!["bob@example.org".into()],
    };
    let scanned = env.prepend(b"Subject: hi\r\n\r\nhello\r\n");
    let msg = Message::parse(&scanned);
    let o = analyze(&msg, &cfg);
    let first = o.chain.first_untrusted().unwrap();
    assert_eq!(
        (first.ip.as_str(), first.rdns.as_str(), first.helo.as_str()),
        // The prelude writes the HELO without its brackets.
        ("203.0.113.7", "dsl-203-0-113-7.example.net", "203.0.113.7")
    );
    for c in bot.iter() {
        assert!(o.checks.contains(c), "{c:?}");
    }
    let via = env.origin_checks(&cfg);
    assert_eq!(via, bot);
}

// ---------------------------------------------------------------- trust

#[test]
fn configured_networks_move_the_boundary() {
    let lines = [
        "from mx2.example.org (mx2.example.org [198.51.100.2]) by mx1.example.org (Postfix) with ESMTP id A; \
         Mon, 3 Jun 2024 10:00:02 +0000",
        "from dsl-203-0-113-7.example.net (dsl-203-0-113-7.example.net [203.0.113.7]) by mx2.example.org \
         (Postfix) with SMTP id B; Mon, 3 Jun 2024 10:00:01 +0000",
    ];
    // Inferred: the first public hop is untrusted.
    let inferred = Chain::build(lines, [], &OriginConfig::default());
    assert_eq!(inferred.first_untrusted().unwrap().ip, "198.51.100.2");
    // With our secondary MX trusted, the zombie behind it is the client.
    let (cfg, errors) = OriginConfig::from_settings([
        ("trusted_networks", "!198.51.100.66 198.51.100.0/24"),
        ("internal_networks", "198.51.100.2"),
        ("required_score", "5"),
    ]);
    assert!(errors.is_empty());
    let chain = Chain::build(lines, [], &cfg);
    let first = chain.first_untrusted().unwrap();
    assert_eq!(
        (first.ip.as_str(), first.rdns.as_str()),
        ("203.0.113.7", "dsl-203-0-113-7.example.net")
    );
    assert_eq!(chain.trusted().len(), 1);
    assert!(chain.relays[0].internal && !chain.relays[1].internal);
    assert_eq!(
        chain.pseudo_header(RelaysHeader::Trusted),
        "[ ip=198.51.100.2 rdns=mx2.example.org helo=mx2.example.org by=mx1.example.org ident= envfrom= \
         intl=1 id=A auth= msa=0 ]"
    );
    // The exclusion wins, and clear_ undoes.
    let excluded = Chain::build(
        ["from x (x [198.51.100.66]) by mx1.example.org with SMTP id C"],
        [],
        &cfg,
    );
    assert!(excluded.trusted().is_empty());
    let (cleared, _) = OriginConfig::from_settings([
        ("trusted_networks", "198.51.100.0/24"),
        ("clear_trusted_networks", ""),
    ]);
    assert_eq!(cleared, OriginConfig::default());
    let (_, bad) = OriginConfig::from_settings([("trusted_networks", "not-a-net")]);
    assert_eq!(bad.len(), 1);

    // Evals see the configured boundary through EvalCtx::with_config.
    let raw = format!(
        "Received: {}\r\nReceived: {}\r\nSubject: x\r\n\r\nx\r\n",
        lines[0], lines[1]
    );
    let msg = Message::parse(raw.as_bytes());
    let features = Features::default();
    let none = Args::new(vec![]);
    let dynamic = lookup("check_origin_dynamic_direct").unwrap();
    assert!(!dynamic(&EvalCtx::new(&msg, &features), &none));
    let cfg = EvalConfig {
        origin: cfg,
        ..EvalConfig::default()
    };
    assert!(dynamic(&EvalCtx::with_config(&msg, &features, &cfg), &none));
}

// ---------------------------------------------------------------- rules

#[test]
fn default_rules_score_a_zombie() {
    let engine = EngineBuilder::new().build();
    let raw = delivered(
        "203.0.113.7",
        Some("dsl-203-0-113-7.example.net"),
        "[203.0.113.7]",
        &[],
        1,
    );
    let report = engine.scanner().scan_message(&raw);
    let verdict = report.spam.unwrap();
    let names: Vec<&str> = verdict.symbols.iter().map(|s| s.name.as_str()).collect();
    for r in [
        "LF_RDNS_DYNAMIC",
        "LF_HELO_IP",
        "LF_DYNAMIC_DIRECT_TO_MX",
        "LF_SOBIG_TRACE",
    ] {
        assert!(names.contains(&r), "{r} not in {names:?}");
    }
    // Stock rules that read the pseudo-headers work too.
    let mut b = EngineBuilder::new().defaults(false);
    b.rules_str(
        "t.cf",
        "header __RDNS_NONE X-Spam-Relays-External =~ /^[^\\]]+ rdns= /\n\
         meta T_RDNS_NONE __RDNS_NONE\nscore T_RDNS_NONE 1\n\
         header T_HELO_LITERAL X-Spam-Relays-Untrusted =~ /^[^\\]]+ helo=!\\d+\\.\\d+\\.\\d+\\.\\d+! /\n\
         score T_HELO_LITERAL 1\n",
    );
    let engine = b.build();
    let no_rdns = delivered("203.0.113.8", None, "[203.0.113.8]", &[], 2);
    let v = engine.scanner().scan_message(&no_rdns).spam.unwrap();
    let names: Vec<&str> = v.symbols.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"T_RDNS_NONE") && names.contains(&"T_HELO_LITERAL"),
        "{names:?}"
    );
    let v = engine.scanner().scan_message(&raw).spam.unwrap();
    assert!(v.symbols.iter().all(|s| s.name != "T_RDNS_NONE"));
}

// ---------------------------------------------------------------- SpamAssassin

fn have_spamassassin() -> bool {
    Command::new("spamassassin")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// SpamAssassin's X-Spam-Relays-* for a message, from `spamassassin -D`.
fn sa_relays(raw: &[u8]) -> HashMap<String, String> {
    use std::io::Write;
    let mut child = Command::new("spamassassin")
        .args(["-D", "metadata", "-L", "-t"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(raw).unwrap();
    let out = child.wait_with_output().unwrap();
    let mut m = HashMap::new();
    for l in String::from_utf8_lossy(&out.stderr).lines() {
        if let Some(i) = l.find("dbg: metadata: X-Spam-Relays-") {
            let rest = &l[i + "dbg: metadata: ".len()..];
            if let Some((k, v)) = rest.split_once(": ") {
                m.insert(k.to_string(), v.to_string());
            } else if let Some(k) = rest.strip_suffix(':') {
                m.insert(k.to_string(), String::new());
            }
        }
    }
    m
}

#[test]
fn pseudo_headers_match_spamassassin() {
    if !have_spamassassin() {
        eprintln!("spamassassin not installed; skipped");
        return;
    }
    let base = corpus_root().join("spamassassin");
    let mut cases: Vec<Vec<u8>> = [
        "easy_ham/00001.7c53336b37003a9286aba55d2945844c",
        "spam/00001.7848dde101aa985090474a91ec93fcf0",
        "spam/00010.445affef4c70feec58f9198cfbc22997",
        "hard_ham/00001.7c7d6921e671bbe18ebb5f893cd9bb35",
    ]
    .iter()
    .filter_map(|p| std::fs::read(base.join(p)).ok())
    .collect();
    // And hand-made lines in the formats of the table.
    for row in TABLE.iter().take(12) {
        cases.push(format!("Received: {}\nSubject: x\n\nx\n", row.1).into_bytes());
    }
    let mut compared = 0;
    for raw in &cases {
        let msg = Message::parse(raw);
        let features = Features::default();
        let theirs = sa_relays(raw);
        if theirs.is_empty() {
            continue;
        }
        for h in [
            "X-Spam-Relays-Trusted",
            "X-Spam-Relays-Untrusted",
            "X-Spam-Relays-Internal",
            "X-Spam-Relays-External",
        ] {
            let ours = features
                .header(&msg, h, Default::default())
                .map(|v| String::from_utf8_lossy(&v).into_owned())
                .unwrap_or_default();
            assert_eq!(
                ours,
                theirs[h],
                "{h} of\n{}",
                String::from_utf8_lossy(&raw[..raw.len().min(600)])
            );
            compared += 1;
        }
    }
    assert!(compared >= 8, "{compared}");
}

/// The names of the scored rules `cf` (alone, no defaults) hits on
/// `raw`, sorted.
fn sorted_hits(cf: &str, raw: &[u8]) -> Vec<String> {
    let mut b = EngineBuilder::new().defaults(false);
    b.rules_str("t.cf", cf);
    let v = b.build().scanner().scan_message(raw).spam.unwrap();
    let mut n: Vec<String> = v.symbols.iter().map(|s| s.name.clone()).collect();
    n.sort();
    n
}

#[test]
fn pseudo_headers_follow_configured_networks() {
    // Our secondary MX (198.51.100.2) took the message from a zombie.
    let raw =
        b"Received: from mx2.example.org (mx2.example.org [198.51.100.2]) by mx1.example.org \
(Postfix) with ESMTP id A; Mon, 3 Jun 2024 10:00:02 +0000\r\n\
Received: from dsl-203-0-113-7.example.net (dsl-203-0-113-7.example.net [203.0.113.7]) \
by mx2.example.org (Postfix) with SMTP id B; Mon, 3 Jun 2024 10:00:01 +0000\r\n\
Subject: x\r\n\r\nx\r\n";
    let rules = "header T_MX2_TRUSTED X-Spam-Relays-Trusted =~ /^\\[ ip=198\\.51\\.100\\.2 /\n\
                 score T_MX2_TRUSTED 1\n\
                 header T_ZOMBIE_FIRST X-Spam-Relays-Untrusted =~ /^\\[ ip=203\\.0\\.113\\.7 /\n\
                 score T_ZOMBIE_FIRST 1\n\
                 header T_ZOMBIE_EXTERNAL X-Spam-Relays-External =~ /^\\[ ip=203\\.0\\.113\\.7 /\n\
                 score T_ZOMBIE_EXTERNAL 1\n";
    let hits = |extra: &str| sorted_hits(&format!("{extra}{rules}"), raw);
    // Inferred: the first public hop (our MX) is where trust ends.
    assert_eq!(hits(""), Vec::<String>::new());
    // Configured: the MX is trusted (and internal), the zombie is the
    // first untrusted and the last external relay.
    assert_eq!(
        hits("trusted_networks 198.51.100.0/24\n"),
        ["T_MX2_TRUSTED", "T_ZOMBIE_EXTERNAL", "T_ZOMBIE_FIRST"]
    );
    // Trusted but not internal: the MX is external, so the zombie is not
    // the last external relay.
    assert_eq!(
        hits("trusted_networks 198.51.100.0/24\ninternal_networks 10.0.0.0/8\n"),
        ["T_MX2_TRUSTED", "T_ZOMBIE_FIRST"]
    );
}

/// SpamAssassin's last trusted and internal relay indexes count the
/// Received lines read as no hop (unparseable, local) while the boundary
/// is not crossed, and none after it.
#[test]
fn relay_indexes_count_lines_read_as_no_hop_inside_the_boundary() {
    let hop = |ip: &str| {
        format!("from h.example.net (h.example.net [{ip}]) by mx.example.org with SMTP id A")
    };
    let (cfg, errors) = OriginConfig::from_settings([
        ("trusted_networks", "198.51.100.0/24 203.0.113.0/24"),
        ("internal_networks", "198.51.100.0/24"),
    ]);
    assert!(errors.is_empty());
    let lines = [
        "this is no received line".to_string(),
        hop("198.51.100.2"),
        hop("203.0.113.7"),
        "neither is this one".to_string(),
        hop("192.0.2.1"),
        "nor this".to_string(),
    ];
    let chain = Chain::build(lines.iter().map(String::as_str), [], &cfg);
    assert_eq!(chain.relays.len(), 3);
    // Trusted: the first four lines; internal: the first two.
    assert_eq!(
        (chain.last_trusted_index, chain.last_internal_index),
        (3, 1)
    );
    let none = Chain::build(std::iter::empty(), [], &cfg);
    assert_eq!(
        (none.last_trusted_index, none.last_internal_index),
        (-1, -1)
    );
}

/// `ALL-TRUSTED`, `ALL-INTERNAL`, `ALL-UNTRUSTED` and `ALL-EXTERNAL`:
/// the header block split at the Received line after the last trusted
/// (internal) one, that line in both halves, as SpamAssassin's
/// `get_all_hdrs_in_rcvd_index_range` splits it. The stock
/// `__DOS_RELAYED_EXT` asks whether two Received lines are external.
#[test]
fn all_pseudo_headers_split_the_block_at_the_boundary() {
    let raw = b"X-Top: 1\r\n\
Received: from mx2.example.org (mx2.example.org [198.51.100.2]) by mx1.example.org \
(Postfix) with ESMTP id A; Mon, 3 Jun 2024 10:00:02 +0000\r\n\
X-Mid: 2\r\n\
Received: from dsl-203-0-113-7.example.net (dsl-203-0-113-7.example.net [203.0.113.7]) \
by mx2.example.org (Postfix) with SMTP id B; Mon, 3 Jun 2024 10:00:01 +0000\r\n\
Received: from h.example.net (h.example.net [203.0.113.9]) by dsl-203-0-113-7.example.net \
with SMTP id C; Mon, 3 Jun 2024 10:00:00 +0000\r\n\
Subject: x\r\n\r\nx\r\n";
    let rules = "header T_EXT_TWO ALL-EXTERNAL =~ /(?:^|\\n)Received:\\s.+\\nReceived:\\s/s\n\
                 header T_EXT_TOP ALL-EXTERNAL =~ /^X-Top:/m\n\
                 header T_TRUSTED_MID ALL-TRUSTED =~ /^X-Mid:/m\n\
                 header T_UNTRUSTED_MID ALL-UNTRUSTED =~ /^X-Mid:/m\n\
                 header T_INTERNAL_SUBJ ALL-INTERNAL =~ /^Subject:/m\n\
                 header T_LOWER all-external =~ /Received/\n\
                 header T_EXT_RAW ALL-EXTERNAL:raw =~ /^Received: from h\\.example\\.net /m\n";
    let scores: String = rules
        .lines()
        .map(|l| format!("score {} 1\n", l.split_whitespace().nth(1).unwrap()))
        .collect();
    let hits = |extra: &str| sorted_hits(&format!("{extra}{rules}{scores}"), raw);
    // Inferred: trust ends at the first line, so the whole chain is
    // untrusted and external, and the trusted half is the fields down to
    // the first Received line.
    assert_eq!(hits(""), ["T_EXT_RAW", "T_EXT_TWO", "T_UNTRUSTED_MID"]);
    // Our MX trusted and internal: the boundary moves down one line.
    assert_eq!(
        hits("trusted_networks 198.51.100.0/24\n"),
        ["T_EXT_RAW", "T_EXT_TWO", "T_TRUSTED_MID"]
    );
    // The zombie's network trusted too: one external Received line is
    // left.
    assert_eq!(
        hits("trusted_networks 198.51.100.0/24 203.0.113.7\n"),
        ["T_EXT_RAW", "T_TRUSTED_MID"]
    );
    // Trusted but not internal: the external half starts higher.
    assert_eq!(
        hits("trusted_networks 198.51.100.0/24 203.0.113.7\ninternal_networks 198.51.100.0/24\n"),
        ["T_EXT_RAW", "T_EXT_TWO", "T_TRUSTED_MID"]
    );
}

#[test]
fn envelope_from_prefers_the_last_untrusted_hop() {
    // SpamAssassin takes the envelope sender the last untrusted hop's
    // Received line records before any Return-Path.
    let raw = b"Return-Path: <b@bounce.example.net>\r\n\
Received: from h.example (h.example [203.0.113.9]) (envelope-from <x@relay.example.com>) \
by mx.example.org with SMTP; Mon, 3 Jun 2024 10:00:00 +0000\r\n\
Subject: x\r\n\r\nx\r\n";
    let mut b = EngineBuilder::new().defaults(false);
    b.rules_str(
        "t.cf",
        "header T_ENV_RELAY EnvelopeFrom =~ /^x\\@relay\\.example\\.com$/\nscore T_ENV_RELAY 1\n\
         header T_ENV_RP EnvelopeFrom =~ /bounce/\nscore T_ENV_RP 1\n",
    );
    let v = b.build().scanner().scan_message(raw).spam.unwrap();
    let names: Vec<&str> = v.symbols.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["T_ENV_RELAY"]);
}

/// A Return-Path below a Received field makes SpamAssassin distrust every
/// Return-Path, the first one above the Received fields too (a list
/// server's, written again by a later delivery): no envelope sender,
/// so From's domain is not compared with it.
#[test]
fn a_return_path_below_a_received_field_is_no_envelope() {
    let raw = b"Return-Path: b@bounce.example.net\r\n\
Received: from h.example (h.example [203.0.113.9]) by mx.example.org with SMTP; \
Mon, 3 Jun 2024 10:00:00 +0000\r\n\
Return-Path: <list-owner@lists.example.org>\r\n\
From: a@sender.example.com\r\n\
Subject: x\r\n\r\nx\r\n";
    let mut b = EngineBuilder::new().defaults(false);
    b.rules_str(
        "t.cf",
        "header T_ENV_ANY EnvelopeFrom =~ /./\nscore T_ENV_ANY 1\n\
         header T_FROM_DIFF eval:check_equal_from_domains()\nscore T_FROM_DIFF 1\n",
    );
    let engine = b.build();
    let v = engine.scanner().scan_message(raw).spam.unwrap();
    assert!(v.symbols.is_empty(), "{:?}", v.symbols);
    let msg = Message::parse(raw);
    assert_eq!(
        Features::default().header(&msg, "EnvelopeFrom", Default::default()),
        None
    );
    // Without the second Return-Path the first is the envelope, and its
    // domain is not From's.
    let one =
        String::from_utf8_lossy(raw).replace("Return-Path: <list-owner@lists.example.org>\r\n", "");
    let v = engine.scanner().scan_message(one.as_bytes()).spam.unwrap();
    let mut names: Vec<&str> = v.symbols.iter().map(|s| s.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["T_ENV_ANY", "T_FROM_DIFF"]);
}

#[test]
fn envelope_from_pseudo_header_reads_the_last_untrusted_hop() {
    let env = |raw: &[u8]| {
        let msg = Message::parse(raw);
        Features::default()
            .header(&msg, "EnvelopeFrom", Default::default())
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    };
    let rcvd = |envfrom: &str| {
        format!(
            "Return-Path: <b@bounce.example.net>\r\n\
             Received: from h.example (h.example [203.0.113.9]){envfrom} \
             by mx.example.org with SMTP; Mon, 3 Jun 2024 10:00:00 +0000\r\n\
             Subject: x\r\n\r\nx\r\n"
        )
        .into_bytes()
    };
    assert_eq!(
        env(&rcvd(" (envelope-from <x@relay.example.com>)")).as_deref(),
        Some("x@relay.example.com")
    );
    // The hop records none: the Return-Path above the Received line.
    assert_eq!(env(&rcvd("")).as_deref(), Some("b@bounce.example.net"));
    // The hop records the null sender.
    assert_eq!(env(&rcvd(" (envelope-from <>)")), None);
}
