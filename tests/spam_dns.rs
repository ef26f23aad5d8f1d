//! DNS blocklists end to end through the sans-IO interface: the scan lists
//! the names to look up, canned answers come back, and the verdict is
//! finished with the blocklist rules they satisfy.

use std::net::Ipv4Addr;
use std::path::Path;

use filter::EngineBuilder;
use filter::spam::dns::{Answer, QType};

const RULES: &str = r"
loadplugin Mail::SpamAssassin::Plugin::URIDNSBL
header __RCVD_IN_ZEN    eval:check_rbl('zen', 'zen.example.')
tflags __RCVD_IN_ZEN    net
header RCVD_IN_SBL      eval:check_rbl_sub('zen', '127.0.0.2')
tflags RCVD_IN_SBL      net
score  RCVD_IN_SBL      0 2.5 0 2.5
header RCVD_IN_XBL      eval:check_rbl('zen-lastexternal', 'zen.example.', '^127\.0\.0\.[4-7]$')
tflags RCVD_IN_XBL      net
score  RCVD_IN_XBL      0 3.0 0 3.0
urirhssub URIBL_BLACK   multi.uribl.example. A 2
body   URIBL_BLACK      eval:check_uridnsbl('URIBL_BLACK')
tflags URIBL_BLACK      net
score  URIBL_BLACK      0 1.5 0 1.5
meta   LISTED_TWICE     RCVD_IN_SBL && URIBL_BLACK
score  LISTED_TWICE     1.25
header LOCAL_HELLO      Subject =~ /hello/
score  LOCAL_HELLO      0.5
header __SAYS_HELLO     Subject =~ /hello/
meta   LISTED_HELLO     RCVD_IN_SBL && __SAYS_HELLO
score  LISTED_HELLO     0.75
";

/// A zombie-ish message: a public relay hands it to our private network,
/// and it carries a link.
const MSG: &[u8] = b"Received: from mx.internal (mx.internal [10.0.0.5])\n\
\tby inbound.internal with SMTP; Mon, 3 Jun 2024 10:00:01 +0000\n\
Received: from dsl-203-0-113-9.example.net (unknown [203.0.113.9])\n\
\tby mx.internal with SMTP; Mon, 3 Jun 2024 10:00:00 +0000\n\
From: a@example.org\nTo: b@example.com\nSubject: hello\n\n\
See http://www.Spammy-Shop.com/buy?now and nothing else.\n";

fn engine(net: bool) -> std::sync::Arc<filter::Engine> {
    let mut b = EngineBuilder::new().net(net);
    b.rules_str("dns.cf", RULES);
    b.build()
}

/// The engine of Debian's stock SpamAssassin rules, or `None` (with a
/// note) when the package is not installed.
fn stock_engine(net: bool) -> Option<std::sync::Arc<filter::Engine>> {
    let stock = Path::new("/usr/share/spamassassin");
    if !stock.is_dir() {
        eprintln!("note: SpamAssassin not installed; skipping");
        return None;
    }
    let mut b = EngineBuilder::new().net(net);
    b.rules_path(stock).unwrap();
    Some(b.build())
}

fn a(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// The names a report asks to look up ([`asked`] without the types).
fn query_names(r: &filter::Report) -> Vec<String> {
    asked(r).into_iter().map(|(n, _)| n).collect()
}

fn names(r: &filter::Report) -> Vec<String> {
    let v = r.spam.as_ref().unwrap();
    v.symbols.iter().map(|s| s.name.clone()).collect()
}

#[test]
fn queries_then_answers() {
    let e = engine(true);
    let mut sc = e.scanner();
    let mut report = sc.scan(MSG);
    let v = report.spam.as_ref().unwrap();
    let q: Vec<&str> = v.queries().iter().map(|q| q.name.as_str()).collect();
    assert!(q.contains(&"9.113.0.203.zen.example"), "{q:?}");
    assert!(q.contains(&"spammy-shop.com.multi.uribl.example"), "{q:?}");
    // Private addresses are never asked about.
    assert!(!q.iter().any(|n| n.starts_with("5.0.0.10.")), "{q:?}");
    // Before the answers only the local rule hit.
    assert_eq!(names(&report), ["LOCAL_HELLO"]);

    sc.resolve(
        &mut report,
        &[
            Answer::new(
                "9.113.0.203.zen.example.",
                &[a("127.0.0.2"), a("127.0.0.4")],
            ),
            Answer::new("spammy-shop.com.multi.uribl.example", &[a("127.0.0.2")]),
        ],
    );
    let v = report.spam.as_ref().unwrap();
    // LISTED_HELLO: before the answers its first operand was 0, so the
    // check had no need of `__SAYS_HELLO`; it ran all the same, because a
    // DNS answer can make it needed.
    assert_eq!(
        names(&report),
        [
            "LISTED_HELLO",
            "LISTED_TWICE",
            "LOCAL_HELLO",
            "RCVD_IN_SBL",
            "RCVD_IN_XBL",
            "URIBL_BLACK"
        ]
    );
    assert!(
        (v.score - (0.5 + 2.5 + 3.0 + 1.5 + 1.25 + 0.75)).abs() < 1e-9,
        "{}",
        v.score
    );
    assert!(v.is_spam);
    assert!(v.queries().is_empty(), "resolved: nothing left to ask");
    assert!(v.status().contains("RCVD_IN_SBL"));

    // A second resolve changes nothing.
    let before = report.clone();
    sc.resolve(&mut report, &[]);
    assert_eq!(report, before);
}

#[test]
fn answers_that_do_not_list() {
    let e = engine(true);
    let mut sc = e.scanner();
    let mut report = sc.scan(MSG);
    // 127.0.0.8 fails both subtests of the zen set; bit 2 is off for the
    // URI answer (127.0.0.4); a name never asked is ignored.
    sc.resolve(
        &mut report,
        &[
            Answer::new("9.113.0.203.zen.example", &[a("127.0.0.8")]),
            Answer::new("spammy-shop.com.multi.uribl.example", &[a("127.0.0.4")]),
            Answer::new("1.1.1.1.zen.example", &[a("127.0.0.2")]),
        ],
    );
    assert_eq!(names(&report), ["LOCAL_HELLO"]);
    // No answers at all (every lookup timed out): the same.
    let mut report = sc.scan(MSG);
    sc.resolve(&mut report, &[]);
    assert_eq!(names(&report), ["LOCAL_HELLO"]);
}

#[test]
fn without_net_nothing_is_asked() {
    let e = engine(false);
    let mut sc = e.scanner();
    let mut report = sc.scan(MSG);
    assert!(report.spam.as_ref().unwrap().queries().is_empty());
    sc.resolve(
        &mut report,
        &[Answer::new("9.113.0.203.zen.example", &[a("127.0.0.2")])],
    );
    assert_eq!(names(&report), ["LOCAL_HELLO"]);
}

#[test]
fn stock_rules_ask_spamhaus() {
    let Some(e) = stock_engine(true) else {
        return;
    };
    let mut sc = e.scanner();
    let mut report = sc.scan(MSG);
    let q = query_names(&report);
    let mut distinct = q.clone();
    distinct.dedup();
    assert_eq!(distinct, q, "each name asked once");
    assert!(
        q.iter().any(|n| n == "9.113.0.203.zen.spamhaus.org"),
        "{q:?}"
    );
    assert!(q.iter().any(|n| n.starts_with("spammy-shop.com.")), "{q:?}");
    sc.resolve(
        &mut report,
        &[Answer::new(
            "9.113.0.203.zen.spamhaus.org",
            &[a("127.0.0.2")],
        )],
    );
    let hit = names(&report);
    assert!(hit.iter().any(|n| n == "RCVD_IN_SBL"), "{hit:?}");
}

/// AskDNS rules (A and TXT, tags from the message) and `check_rbl_txt`.
const ASK_RULES: &str = r#"
loadplugin Mail::SpamAssassin::Plugin::AskDNS
askdns __ASK_NEWDOM   _AUTHORDOMAIN_.fresh.example. A /^127\.2\.0\.2$/
askdns __ASK_NEWDOM14 _AUTHORDOMAIN_.fresh.example. A /^127\.2\.0\.14$/
meta   ASK_NEWDOM     __ASK_NEWDOM
score  ASK_NEWDOM     1.5
meta   ASK_NEWDOM14   __ASK_NEWDOM14
score  ASK_NEWDOM14   1.0
askdns ASK_SPF_ALL    _SENDERDOMAIN_ TXT /^v=spf1 \+all$/
score  ASK_SPF_ALL    2.0
askdns ASK_HELO       _LASTEXTERNALHELO_.helo.example
score  ASK_HELO       0.25
askdns ASK_REVIP_TXT  _LASTEXTERNALREVIP_.rev.example TXT "listed"
score  ASK_REVIP_TXT  0.5
askdns ASK_DKIM       _DKIMDOMAIN_.dkim.example A
score  ASK_DKIM       4.0
header RBL_TXT        eval:check_rbl_txt('txtbl-lastexternal', 'txt.example.', '(?i:spamcop)')
tflags RBL_TXT        net
score  RBL_TXT        0 0.75 0 0.75
"#;

/// A message from `a@Example.ORG` with envelope sender
/// `bounce@Sender.Example.NET`, handed over by a relay that said
/// `HELO dsl-203-0-113-9.example.net`.
const ASK_MSG: &[u8] = b"Return-Path: <bounce@Sender.Example.NET>\n\
Received: from dsl-203-0-113-9.example.net (unknown [203.0.113.9])\n\
\tby mx.internal with SMTP; Mon, 3 Jun 2024 10:00:00 +0000\n\
From: Ann <a@Example.ORG>\nTo: b@example.com\nSubject: hi\n\nbody\n";

fn ask_engine() -> std::sync::Arc<filter::Engine> {
    let mut b = EngineBuilder::new().net(true);
    b.rules_str("ask.cf", ASK_RULES);
    b.build()
}

fn asked(r: &filter::Report) -> Vec<(String, QType)> {
    let v = r.spam.as_ref().unwrap();
    v.queries()
        .iter()
        .map(|q| (q.name.clone(), q.qtype))
        .collect()
}

#[test]
fn askdns_and_rbl_txt_end_to_end() {
    let e = ask_engine();
    let mut sc = e.scanner();
    let mut report = sc.scan(ASK_MSG);
    let q = asked(&report);
    let want = [
        ("example.org.fresh.example", QType::A),
        ("sender.example.net", QType::Txt),
        ("dsl-203-0-113-9.example.net.helo.example", QType::A),
        ("9.113.0.203.rev.example", QType::Txt),
        ("9.113.0.203.txt.example", QType::Txt),
    ];
    for (name, t) in want {
        assert!(
            q.contains(&(name.to_string(), t)),
            "{name} {t:?} not in {q:?}"
        );
    }
    // Two rules, one template: asked once. No DKIM verification, so no
    // _DKIMDOMAIN_ value and no query.
    assert_eq!(q.len(), want.len(), "{q:?}");
    assert_eq!(names(&report), Vec::<String>::new());

    sc.resolve(
        &mut report,
        &[
            Answer::new("example.org.fresh.example.", &[a("127.2.0.2")]),
            Answer::with_txt("SENDER.example.net", &["v=spf1 +all"]),
            Answer::new(
                "dsl-203-0-113-9.example.net.helo.example",
                &[a("192.0.2.1")],
            ),
            Answer::with_txt("9.113.0.203.rev.example", &["listed"]),
            Answer::with_txt(
                "9.113.0.203.txt.example",
                &["Blocked - see https://www.SpamCop.net/bl.shtml?203.0.113.9"],
            ),
        ],
    );
    assert_eq!(
        names(&report),
        [
            "ASK_HELO",
            "ASK_NEWDOM",
            "ASK_REVIP_TXT",
            "ASK_SPF_ALL",
            "RBL_TXT"
        ]
    );
    let v = report.spam.as_ref().unwrap();
    assert!(
        (v.score - (1.5 + 2.0 + 0.25 + 0.5 + 0.75)).abs() < 1e-9,
        "{}",
        v.score
    );
}

#[test]
fn askdns_answers_that_do_not_match() {
    let e = ask_engine();
    let mut sc = e.scanner();
    let mut report = sc.scan(ASK_MSG);
    sc.resolve(
        &mut report,
        &[
            // Another code: the other rule on the same name hits.
            Answer::new("example.org.fresh.example", &[a("127.2.0.14")]),
            // The subtest regex does not match.
            Answer::with_txt("sender.example.net", &["v=spf1 -all"]),
            // A records for a TXT query and TXT for an A query count for
            // nothing.
            Answer::new("9.113.0.203.rev.example", &[a("127.0.0.2")]),
            Answer::with_txt("dsl-203-0-113-9.example.net.helo.example", &["x"]),
            // The quoted string must be equal, not contained.
            Answer::with_txt("9.113.0.203.txt.example", &["no reason given"]),
        ],
    );
    assert_eq!(names(&report), ["ASK_NEWDOM14"]);
}

#[test]
fn askdns_without_tag_values_asks_nothing() {
    // No From, no envelope sender, a relay that gave an address literal
    // as its HELO (not a valid DNS name once in the template).
    let msg = b"Received: from [203.0.113.9] (unknown [203.0.113.9])\n\
\tby mx.internal with SMTP; Mon, 3 Jun 2024 10:00:00 +0000\n\
Subject: hi\n\nbody\n";
    let e = ask_engine();
    let report = e.scanner().scan(msg);
    let q = asked(&report);
    assert_eq!(
        q,
        [
            ("9.113.0.203.rev.example".to_string(), QType::Txt),
            ("9.113.0.203.txt.example".to_string(), QType::Txt),
        ]
    );
}

#[test]
fn stock_rules_ask_fresh_fmb_la() {
    let Some(e) = stock_engine(true) else {
        return;
    };
    let mut sc = e.scanner();
    let mut report = sc.scan(ASK_MSG);
    let q = asked(&report);
    assert!(
        q.contains(&("example.org.fresh.fmb.la".to_string(), QType::A)),
        "{q:?}"
    );
    assert!(
        q.contains(&("sender.example.net".to_string(), QType::Txt)),
        "{q:?}"
    );
    // check_rbl_txt (RCVD_IN_BL_SPAMCOP_NET) asks bl.spamcop.net for TXT.
    assert!(
        q.contains(&("9.113.0.203.bl.spamcop.net".to_string(), QType::Txt)),
        "{q:?}"
    );
    assert!(!q.iter().any(|(n, _)| n.ends_with("dkimwl.org")), "{q:?}");
    sc.resolve(
        &mut report,
        &[Answer::new("example.org.fresh.fmb.la", &[a("127.2.0.2")])],
    );
    let hit = names(&report);
    assert!(hit.iter().any(|n| n == "FROM_FMBLA_NEWDOM"), "{hit:?}");
    assert!(!hit.iter().any(|n| n == "FROM_FMBLA_NEWDOM14"), "{hit:?}");
}

#[test]
fn stock_rules_without_net_ask_nothing() {
    let Some(e) = stock_engine(false) else {
        return;
    };
    let mut sc = e.scanner();
    // A public relay, a From domain and an envelope sender: all would be
    // asked about with network tests on.
    let mut report = sc.scan(ASK_MSG);
    assert!(report.spam.as_ref().unwrap().queries().is_empty());
    let before = report.clone();
    sc.resolve(
        &mut report,
        &[Answer::new(
            "9.113.0.203.zen.spamhaus.org",
            &[a("127.0.0.2")],
        )],
    );
    assert_eq!(report, before);
}

/// A rule file's registry list reaches both places that cut host names
/// outside the evals: the URI block list's query and a header rule's
/// `:domain`. The built-in list has no `demon.co.uk`; SpamAssassin's
/// 20_aux_tlds.cf lists it as a three-label suffix, so a customer's
/// domain under it keeps its own label.
#[test]
fn registry_lists_cut_link_and_header_domains() {
    let rules = |extra: &str| {
        let mut b = EngineBuilder::new().net(true);
        b.rules_str(
            "rb.cf",
            &format!(
                "{extra}\n\
                 urirhssub URIBL_BLACK multi.uribl.example. A 2\n\
                 body URIBL_BLACK eval:check_uridnsbl('URIBL_BLACK')\n\
                 tflags URIBL_BLACK net\n\
                 score URIBL_BLACK 0 1.5 0 1.5\n\
                 header FROM_DEMON_SHOP From:domain =~ /^shop\\.demon\\.co\\.uk$/\n\
                 score FROM_DEMON_SHOP 1.0\n\
                 header FROM_DEMON From:domain =~ /^demon\\.co\\.uk$/\n\
                 score FROM_DEMON 1.0\n"
            ),
        );
        b.build()
    };
    let msg = b"From: Sales <sales@mail.shop.demon.co.uk>\nTo: b@example.com\n\
Subject: offer\n\nSee http://www.shop.demon.co.uk/buy now.\n";
    let run = |e: std::sync::Arc<filter::Engine>| {
        let report = e.scanner().scan(msg);
        (query_names(&report), names(&report))
    };
    let (q, hit) = run(rules(""));
    assert_eq!(q, ["demon.co.uk.multi.uribl.example"]);
    assert_eq!(hit, ["FROM_DEMON"]);
    let (q, hit) = run(rules("util_rb_2tld co.uk\nutil_rb_3tld demon.co.uk"));
    assert_eq!(q, ["shop.demon.co.uk.multi.uribl.example"]);
    assert_eq!(hit, ["FROM_DEMON_SHOP"]);
}
