//! Differential test against SpamAssassin itself.
//!
//! SpamAssassin 4.0.1 (Debian's package; `.ci/run` installs it) checks every
//! message of ../shared/corpus/spamassassin-tdata with its stock rules,
//! local tests only and no Bayes (tests/spam/sa_check.pl). We run the same
//! stock rules over the same messages and compare, message by message, the
//! rules hit — sub-rules (`__X`) included, since metas are built from them.
//!
//! Only rules that can agree are compared: [`Rules::exact`] leaves out
//! network and Bayes tests, eval tests we do not implement, and metas that
//! read any of those. Rules whose differences we understand and accept are
//! listed, each with its reason, in tests/spam/SPAMASSASSIN_DIFFERENCES.md;
//! any other disagreement fails the test.

use filter::mime::Message;
use filter::spam::Features;
use filter::spam::rules::{Parser, Rules, ScoreSet, Scratch};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

const STOCK: &str = "/usr/share/spamassassin";
const SITE: &str = "/etc/spamassassin";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn have_spamassassin() -> bool {
    let ok = Path::new(STOCK).is_dir()
        && Command::new("perl")
            .args(["-MMail::SpamAssassin", "-e", "1"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!("SpamAssassin is not installed; .ci/run installs Debian's spamassassin");
    }
    if !ok {
        eprintln!("note: SpamAssassin not installed; skipping the differential test");
    }
    ok
}

/// The stock configuration, read in SpamAssassin's order: the site's
/// `.pre` files, the default rules, then the site's `.cf` files.
pub fn stock_rules() -> Rules {
    stock_rules_and("")
}

/// The stock configuration, then `extra` (as sa_check.pl's
/// `SA_CHECK_EXTRA_CF`).
fn stock_rules_and(extra: &str) -> Rules {
    let mut p = Parser::new();
    let mut site: Vec<PathBuf> = std::fs::read_dir(SITE)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    site.sort();
    for f in site
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "pre"))
    {
        p.parse_path(f).expect("read .pre");
    }
    p.parse_path(Path::new(STOCK)).expect("read stock rules");
    for f in site
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "cf"))
    {
        p.parse_path(f).expect("read site .cf");
    }
    p.parse_str("extra.cf", extra);
    Rules::compile(&p.finish(), ScoreSet::new(false, false))
}

fn messages() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root().join("../shared/corpus/spamassassin-tdata/t")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("tdata directory").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Rule names with hit counts, as SpamAssassin reported them.
type Hits = BTreeMap<String, usize>;

fn spamassassin(files: &[PathBuf]) -> HashMap<PathBuf, Hits> {
    spamassassin_with(files, None)
}

/// As [`spamassassin`], with the settings of file `extra` read last.
fn spamassassin_with(files: &[PathBuf], extra: Option<&Path>) -> HashMap<PathBuf, Hits> {
    let mut cmd = Command::new("perl");
    if let Some(f) = extra {
        cmd.env("SA_CHECK_EXTRA_CF", f);
    }
    let out = cmd
        .arg(root().join("tests/spam/sa_check.pl"))
        .args(files)
        .output()
        .expect("run sa_check.pl");
    assert!(
        out.status.success(),
        "sa_check.pl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut map = HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 4 {
            continue;
        }
        let mut hits = Hits::new();
        for name in f[2].split(',').chain(f[3].split(',')) {
            if !name.is_empty() && name != "none" {
                *hits.entry(name.to_string()).or_default() += 1;
            }
        }
        map.insert(PathBuf::from(f[0]), hits);
    }
    map
}

fn excused() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("tests/spam/SPAMASSASSIN_DIFFERENCES.md"))
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("- `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

/// Checks `data` with every rule (sub-rules included) and returns, for
/// each rule that can agree ([`Rules::exact`]) and that either side hit,
/// its name, whether SpamAssassin hit it and whether we did.
fn compare(
    rules: &Rules,
    sa: &Hits,
    data: &[u8],
    features: &mut Features,
    scratch: &mut Scratch,
) -> Vec<(String, bool, bool)> {
    let msg = Message::parse(data);
    features.build(&msg, &filter::Limits::default());
    let outcome = rules.check_all(&msg, features, scratch);
    let ours: BTreeSet<&str> = outcome
        .hits
        .iter()
        .chain(&outcome.subrules)
        .map(|h| rules.rules()[h.rule as usize].name.as_str())
        .collect();
    let names: BTreeSet<&str> = ours
        .iter()
        .copied()
        .chain(sa.keys().map(String::as_str))
        .collect();
    names
        .into_iter()
        .filter(|n| rules.exact(n))
        .map(|n| (n.to_string(), sa.contains_key(n), ours.contains(n)))
        .collect()
}

#[test]
fn agrees_with_spamassassin() {
    if !have_spamassassin() {
        return;
    }
    let files = messages();
    assert!(
        files.len() > 150,
        "expected the tdata corpus, found {} files",
        files.len()
    );
    let theirs = spamassassin(&files);
    assert!(
        theirs.len() > 150,
        "SpamAssassin checked only {} files",
        theirs.len()
    );
    let rules = stock_rules();
    let excused = excused();

    let mut features = Features::default();
    let mut scratch = Scratch::default();
    // rule -> (missed by us, extra in ours, an example file)
    let mut diff: BTreeMap<String, (usize, usize, String)> = BTreeMap::new();
    let (mut compared, mut agreed) = (0usize, 0usize);
    for file in &files {
        let Some(sa) = theirs.get(file) else { continue };
        let data = std::fs::read(file).unwrap();
        for (name, a, b) in compare(&rules, sa, &data, &mut features, &mut scratch) {
            compared += 1;
            if a == b {
                agreed += 1;
                continue;
            }
            let e = diff
                .entry(name)
                .or_insert((0, 0, file.display().to_string()));
            if a {
                e.0 += 1;
            } else {
                e.1 += 1;
            }
        }
    }
    let unexcused: Vec<_> = diff.iter().filter(|(n, _)| !excused.contains(*n)).collect();
    eprintln!(
        "{} messages; {} (message, rule) hits compared; {} agree; {} rules differ ({} excused)",
        files.len(),
        compared,
        agreed,
        diff.len(),
        diff.len() - unexcused.len()
    );
    for (name, (missed, extra, example)) in &diff {
        let tag = if excused.contains(name) {
            "excused"
        } else {
            "DIFFERS"
        };
        eprintln!("  {tag} {name}: missed {missed}, extra {extra}; e.g. {example}");
    }
    assert!(compared > 1000, "too few comparable hits: {compared}");
    let stale: Vec<&String> = excused
        .iter()
        .filter(|n| rules.exact(n) && !diff.contains_key(*n))
        .collect();
    assert!(
        stale.is_empty(),
        "excused in SPAMASSASSIN_DIFFERENCES.md but agreeing on every message: {stale:?}"
    );
    assert!(
        unexcused.is_empty(),
        "{} rules disagree with SpamAssassin (see above)",
        unexcused.len()
    );
}

/// Writes hand-made messages, `(name, text)`, to a temporary directory,
/// runs SpamAssassin on them with the settings `extra_cf` read last, and
/// checks them with `rules` (which should hold the same settings).
/// Returns what SpamAssassin hit on each message, and every comparable,
/// unexcused rule on which the two disagree.
fn hand_made(
    tag: &str,
    extra_cf: &str,
    rules: &Rules,
    msgs: &[(&str, String)],
) -> (Vec<Hits>, Vec<String>) {
    let dir = std::env::temp_dir().join(format!("libfilter-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cf = dir.join("site.cf");
    std::fs::write(&cf, extra_cf).unwrap();
    let files: Vec<PathBuf> = msgs
        .iter()
        .map(|(name, text)| {
            let f = dir.join(format!("{name}.eml"));
            std::fs::write(&f, text).unwrap();
            f
        })
        .collect();
    let mut theirs = spamassassin_with(&files, Some(&cf));
    let _ = std::fs::remove_dir_all(&dir);
    let excused = excused();
    let mut features = Features::default();
    let mut scratch = Scratch::default();
    let (mut hits, mut wrong) = (Vec::new(), Vec::new());
    for (file, (name, text)) in files.iter().zip(msgs) {
        let sa = theirs
            .remove(file)
            .expect("SpamAssassin checked every case");
        for (n, a, b) in compare(rules, &sa, text.as_bytes(), &mut features, &mut scratch) {
            if a != b && !excused.contains(&n) {
                wrong.push(format!("{name}: {n}: SpamAssassin {a}, ours {b}"));
            }
        }
        hits.push(sa);
    }
    (hits, wrong)
}

/// A site's lists (senders and recipients welcomed or blocked, with and
/// without the relay they must come through, Subject patterns, link
/// hosts), over hand-made messages that each meet some of them, together
/// with the stock lists (`enlist_addrlist (PAYPAL)`, ...): every rule
/// that can agree does, and the list rules do hit.
#[test]
fn site_lists_agree_with_spamassassin() {
    if !have_spamassassin() {
        return;
    }
    const SITE_CF: &str = "\
welcomelist_from friend@example.org *@partner.example
blocklist_from *@spammer.example
unblocklist_from *@spammer.example
blacklist_from bad?@spammer.example
welcomelist_to boss@example.net
blocklist_to decoy@example.net
all_spam_to postmaster@example.net
more_spam_to abuse@example.net
welcomelist_from_rcvd news@shop.example mail.shop.example
whitelist_from_rcvd alerts@bank.example [198.51.100.0/24]
def_welcomelist_from_rcvd *@vendor.example vendor.example
welcomelist_allows_relays alerts@bank.example
welcomelist_subject [weekly report]
blocklist_subject *viagra*
blocklist_uri_host evil.example.com
welcomelist_uri_host good.example.com
welcomelist_bounce_relays relay?.example.org
";
    let rcvd = |host: &str, ip: &str, rcpt: &str| {
        format!(
            "Received: from {host} ({host} [{ip}])\n\tby mx.example.net (Postfix) with ESMTP \
             id 4A1{rcpt}; Mon, 3 Jun 2024 10:00:00 +0000\n"
        )
    };
    let shop = rcvd(
        "mail.shop.example",
        "203.0.113.5",
        " for <boss@example.net>",
    );
    let other = rcvd(
        "smtp.elsewhere.example",
        "192.0.2.77",
        " for <postmaster@example.net>",
    );
    let bank = rcvd("out.bank.example", "198.51.100.9", "");
    let vendor = rcvd("mail.vendor.example", "203.0.113.50", "");
    let to = "To: someone@example.net\nSubject: hi\n";
    // (name, Received, the other headers, a body line, rules SpamAssassin hits)
    let cases: &[(&str, &str, String, &str, &[&str])] = &[
        ("welcome_from", &other, format!("From: F <Friend@Example.org>\n{to}"), "", &["USER_IN_WELCOMELIST"]),
        ("welcome_glob", &other, format!("From: a@partner.example\n{to}"), "", &["USER_IN_WELCOMELIST"]),
        ("block_from", &other, format!("From: bad1@spammer.example\n{to}"), "", &["USER_IN_BLOCKLIST"]),
        ("unblocked", &other, format!("From: sales@spammer.example\n{to}"), "", &["USER_IN_ALL_SPAM_TO"]),
        ("rcvd_ok", &shop, format!("From: news@shop.example\n{to}"), "", &["USER_IN_WELCOMELIST", "USER_IN_WELCOMELIST_TO"]),
        ("rcvd_forged", &other, format!("From: news@shop.example\n{to}"), "", &[]),
        ("rcvd_net", &bank, format!("From: alerts@bank.example\n{to}"), "", &["USER_IN_WELCOMELIST"]),
        ("rcvd_allows", &other, format!("From: alerts@bank.example\n{to}"), "", &[]),
        ("def_ok", &vendor, format!("From: x@vendor.example\n{to}"), "", &["USER_IN_DEF_WELCOMELIST"]),
        ("def_forged", &shop, format!("From: x@vendor.example\n{to}"), "", &[]),
        (
            "to_lists",
            &shop,
            "From: x@example.com\nTo: someone@example.net\nCc: D <decoy@example.net>, abuse@example.net\nSubject: hi\n".into(),
            "",
            &["USER_IN_BLOCKLIST_TO", "USER_IN_MORE_SPAM_TO", "USER_IN_WELCOMELIST_TO"],
        ),
        ("resent", &other, format!("Resent-From: friend@example.org\nFrom: nobody@example.com\n{to}"), "", &["USER_IN_WELCOMELIST"]),
        (
            "subjects",
            &other,
            "From: x@example.com\nTo: someone@example.net\nSubject: Re: [Weekly Report] cheap VIAGRA\n".into(),
            "",
            &["SUBJECT_IN_BLOCKLIST", "SUBJECT_IN_WELCOMELIST"],
        ),
        (
            "paypal",
            &other,
            format!("From: PayPal <service@mail.paypal.com>\nReply-To: help@support.top\n{to}"),
            "",
            &["FROM_PAYPAL_SPOOF", "__FROM_ADDRLIST_PAYPAL", "__REPLYTO_ADDRLIST_SUSPNTLD"],
        ),
        (
            "bounce_ours",
            &other,
            "From: MAILER-DAEMON@mx.example.net\nTo: someone@example.net\nSubject: Undelivered Mail Returned to Sender\n".into(),
            "\n> Received: by relay1.example.org (Postfix, from userid 1007) id 5B2; Mon, 3 Jun 2024\n",
            &["__MY_SERVERS_FOUND", "__HAVE_BOUNCE_RELAYS"],
        ),
        (
            "bounce_folded",
            &other,
            "From: MAILER-DAEMON@mx.example.net\nTo: someone@example.net\nSubject: failure notice\n".into(),
            "Received: from [192.0.2.8]\n\tby relay2.example.org (Postfix) with ESMTP id 7C;\n\tMon, 3 Jun 2024\n",
            &["__MY_SERVERS_FOUND", "__HAVE_BOUNCE_RELAYS"],
        ),
        (
            "bounce_theirs",
            &other,
            "From: MAILER-DAEMON@mx.example.net\nTo: someone@example.net\nSubject: failure notice\n".into(),
            "Received: by mail.elsewhere.example (Postfix) id 9D; Mon, 3 Jun 2024\n",
            &["__HAVE_BOUNCE_RELAYS"],
        ),
        (
            "uri_hosts",
            &other,
            format!("From: x@example.com\n{to}"),
            "see http://www.evil.example.com/ and http://good.example.com/x",
            &["URI_HOST_IN_BLOCKLIST", "URI_HOST_IN_WELCOMELIST"],
        ),
    ];
    let msgs: Vec<(&str, String)> = cases
        .iter()
        .map(|(name, received, headers, body, _)| {
            let msg = format!(
                "{received}{headers}Date: Mon, 3 Jun 2024 09:59:00 +0000\n\
                 Message-ID: <20240603095900.1234@example.org>\n\n\
                 Hello there, a short note.\n{body}\n"
            );
            (*name, msg)
        })
        .collect();
    let rules = stock_rules_and(SITE_CF);
    let (theirs, wrong) = hand_made("site-lists", SITE_CF, &rules, &msgs);
    for ((name, _, _, _, want), sa) in cases.iter().zip(&theirs) {
        for w in *want {
            assert!(sa.contains_key(*w), "{name}: SpamAssassin misses {w}");
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// SpamAssassin's ImageInfo rules (image counts, pixel coverage, text
/// per pixel) on hand-made messages carrying GIF, PNG and JPEG parts,
/// HTTPS_HTTP_MISMATCH on links whose text shows another domain, and
/// URI_TRUNCATED on a link longer than 8,192 characters: the
/// rules hit as in SpamAssassin.
#[test]
fn image_and_link_evals_agree_with_spamassassin() {
    if !have_spamassassin() {
        return;
    }
    // Only the bytes ImageInfo reads: a header with the size.
    let gif = |w: u16, h: u16| {
        let mut v = b"GIF89a".to_vec();
        v.extend_from_slice(&w.to_le_bytes());
        v.extend_from_slice(&h.to_le_bytes());
        v.extend_from_slice(&[0xf7, 0, 0, 0, 0, 0]);
        v
    };
    let png = |w: u32, h: u32| {
        let mut v = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&[8, 6, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0]);
        v.extend_from_slice(b"IEND");
        v
    };
    let jpeg = |w: u16, h: u16| {
        let mut v = vec![0xff, 0xd8, 0xff, 0xe0, 0, 16];
        v.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        v.extend_from_slice(&[0xff, 0xc0, 0, 17, 8]);
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xff, 0xd9]);
        v
    };
    let part = |ty: &str, name: &str, data: &[u8], enc: &str| {
        let body = if enc == "base64" {
            let mut b = Vec::new();
            filter::decode::base64::encode(data, &mut b);
            String::from_utf8(b).unwrap()
        } else {
            data.iter().map(|b| format!("={b:02X}")).collect::<String>()
        };
        format!(
            "--B\nContent-Type: {ty}; name=\"{name}\"\nContent-Transfer-Encoding: {enc}\n\
             Content-Disposition: attachment; filename=\"{name}\"\n\n{body}\n"
        )
    };
    let text = |t: &str| format!("--B\nContent-Type: text/plain\n\n{t}\n");
    let html = |t: &str| {
        format!(
            "--B\nContent-Type: text/html\n\n<html><body>{t}<img src=\"cid:x\"></body></html>\n"
        )
    };
    let page = |t: &str| format!("--B\nContent-Type: text/html\n\n<html><body>{t}</body></html>\n");
    let short = "Hello, see the picture.";
    let long = "All work and no play makes Jack a dull boy. ".repeat(60);
    // (name, parts, rules SpamAssassin hits)
    let cases: Vec<(&str, Vec<String>, &[&str])> = vec![
        (
            "one_gif",
            vec![
                text(short),
                part("image/gif", "a.gif", &gif(600, 400), "base64"),
            ],
            &[
                "__GIF_ATTACH_1",
                "__GIF_AREA_180K",
                "DC_GIF_UNO_LARGO",
                "__DC_IMG_TEXT_RATIO",
                "DC_IMAGE_SPAM_TEXT",
                "__ONE_IMG",
                "__IMG_LE_300K",
            ],
        ),
        (
            "big_gif",
            vec![
                text(short),
                part("image/gif", "b.gif", &gif(800, 600), "base64"),
            ],
            &["__GIF_ATTACH_1", "__ONE_IMG"],
        ),
        (
            "two_png",
            vec![
                html(short),
                part("image/png", "a.png", &png(300, 300), "base64"),
                part("image/png", "b.png", &png(300, 300), "base64"),
            ],
            &["__PNG_ATTACH_2P", "__PNG_AREA_180K", "__DC_PNG_MULTI_LARGO"],
        ),
        (
            "jpeg",
            vec![
                text(&long),
                part("image/jpeg", "c.jpg", &jpeg(300, 250), "base64"),
            ],
            &["__JPEG_ATTACH_1", "__ONE_IMG", "__IMG_LE_300K"],
        ),
        (
            "jpg_type",
            vec![
                text(short),
                part("image/jpg", "d.jpg", &png(300, 300), "base64"),
            ],
            &["__JPEG_ATTACH_1", "__ONE_IMG"],
        ),
        (
            "not_base64",
            vec![
                text(short),
                part("image/gif", "e.gif", &gif(600, 400), "quoted-printable"),
            ],
            &[],
        ),
        (
            "mismatch",
            vec![page(
                "<p>Sign in: <a href=\"http://login.evil-site.com/x\">https://www.paypal.com/signin</a></p>",
            )],
            &["HTTPS_HTTP_MISMATCH"],
        ),
        (
            "same_domain",
            vec![page(
                "<p><a href=\"http://www.example.com/a\">https://example.com/a</a> and <a href=\"https://shop.example.com/\">https://shop.example.com</a></p>",
            )],
            &[],
        ),
        (
            "by_address",
            vec![page(
                "<p><a href=\"http://192.0.2.7/x\">https://www.paypal.com/</a> <a href=\"http://a.example.net/\">https://198.51.100.1/</a></p>",
            )],
            &[],
        ),
        (
            "long_link",
            vec![page(&format!(
                "<p><a href=\"http://www.example.com/{}\">more</a></p>",
                "a".repeat(9000)
            ))],
            &["URI_TRUNCATED"],
        ),
        // Inside a multipart, SpamAssassin's MIME parser splits lines
        // longer than 2,048 bytes, so a link of 8,189 characters on one
        // line holds four line breaks, and 8,193 characters are more than
        // the 8,192 it keeps; one of 8,188 does not reach them.
        (
            "link_split_over_the_limit",
            vec![page(&format!(
                "<p><a href=\"http://www.example.com/{}\">more</a></p>",
                "a".repeat(8189 - "http://www.example.com/".len())
            ))],
            &["URI_TRUNCATED"],
        ),
        (
            "link_under_the_limit",
            vec![page(&format!(
                "<p><a href=\"http://www.example.com/{}\">more</a></p>",
                "a".repeat(8188 - "http://www.example.com/".len())
            ))],
            &[],
        ),
        (
            "mixed",
            vec![
                html(short),
                part("image/gif", "f.gif", &gif(500, 400), "base64"),
                part("image/jpeg", "g.jpg", &jpeg(100, 100), "base64"),
            ],
            &[
                "__GIF_ATTACH_1",
                "__GIF_AREA_180K",
                "DC_GIF_UNO_LARGO",
                "__JPEG_ATTACH_1",
            ],
        ),
    ];
    let msgs: Vec<(&str, String)> = cases
        .iter()
        .map(|(name, parts, _)| {
            let msg = format!(
                "Received: from mail.example.com (mail.example.com [192.0.2.1])\n\tby mx.example.net \
                 (Postfix) with ESMTP id 4A1; Mon, 3 Jun 2024 10:00:00 +0000\n\
                 From: a@example.com\nTo: b@example.net\nSubject: photos\n\
                 Date: Mon, 3 Jun 2024 09:59:00 +0000\nMessage-ID: <20240603095900.1@example.com>\n\
                 MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n{}--B--\n",
                parts.concat()
            );
            (*name, msg)
        })
        .collect();
    let rules = stock_rules();
    for rule in [
        "DC_GIF_UNO_LARGO",
        "__DC_IMG_HTML_RATIO",
        "__PNG_AREA_180K",
        "HTTPS_HTTP_MISMATCH",
        "URI_TRUNCATED",
    ] {
        assert!(rules.exact(rule), "{rule} is compared");
    }
    let (theirs, wrong) = hand_made("images", "", &rules, &msgs);
    for ((name, _, want), sa) in cases.iter().zip(&theirs) {
        for w in *want {
            assert!(sa.contains_key(*w), "{name}: SpamAssassin misses {w}");
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// `check_mailfrom_matches_rcvd` (`__RP_MATCHES_RCVD`, which many stock
/// metas read): the envelope sender's registered domain against the
/// handing relay's, as SpamAssassin cuts registered domains.
#[test]
fn mailfrom_matches_rcvd_agrees_with_spamassassin() {
    if !have_spamassassin() {
        return;
    }
    let cases: &[(&str, &str, &str, bool)] = &[
        (
            "same",
            "bounce@mail.shop.example.com",
            "out.shop.example.com",
            true,
        ),
        (
            "other",
            "x@other.example.org",
            "out.shop.example.com",
            false,
        ),
        ("co_uk", "a@news.foo.co.uk", "mail.foo.co.uk", true),
        ("co_uk_other", "a@news.foo.co.uk", "mail.bar.co.uk", false),
        ("no_rdns", "a@example.com", "", false),
        ("no_dot", "a@localhost", "localhost", false),
        ("case", "A@Mail.Example.COM", "MX1.example.com", true),
    ];
    let msgs: Vec<(&str, String)> = cases
        .iter()
        .map(|(name, sender, rdns, _)| {
            let from = if rdns.is_empty() {
                "unknown ([203.0.113.9])".to_string()
            } else {
                format!("{rdns} ({rdns} [203.0.113.9])")
            };
            let msg = format!(
                "Return-Path: <{sender}>\nReceived: from {from}\n\tby mx.example.net (Postfix) \
                 with ESMTP id 4A1; Mon, 3 Jun 2024 10:00:00 +0000\n\
                 From: someone@example.com\nTo: b@example.net\nSubject: hello\n\
                 Date: Mon, 3 Jun 2024 09:59:00 +0000\nMessage-ID: <20240603095900.2@example.com>\n\n\
                 Hello there, a short note.\n"
            );
            (*name, msg)
        })
        .collect();
    let rules = stock_rules();
    assert!(rules.exact("__RP_MATCHES_RCVD"));
    let (theirs, wrong) = hand_made("rp", "", &rules, &msgs);
    for ((name, _, _, want), sa) in cases.iter().zip(&theirs) {
        assert_eq!(
            sa.contains_key("__RP_MATCHES_RCVD"),
            *want,
            "{name}: SpamAssassin"
        );
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

/// The tdata messages and every tenth message of the public corpus,
/// starting at its `first`.
fn tdata_and_a_tenth(first: usize) -> Vec<PathBuf> {
    let labels = root().join("../shared/corpus/spamassassin/labels.tsv");
    let corpus: Vec<PathBuf> = std::fs::read_to_string(&labels)
        .expect("labels.tsv")
        .lines()
        .filter_map(|l| l.split('\t').nth(1))
        .skip(first)
        .step_by(10)
        .map(|p| labels.parent().unwrap().join(p))
        .collect();
    messages().into_iter().chain(corpus).collect()
}

/// `check` runs a sub-rule only when a meta reads it; `check_all` runs
/// every rule. Same score, same rules shown, and every sub-rule `check`
/// reports is one `check_all` reports with the same value, on the tdata
/// messages and a tenth of the public corpus.
#[test]
fn lazy_check_agrees_with_running_everything() {
    if !have_spamassassin() {
        return;
    }
    let rules = stock_rules();
    let files = tdata_and_a_tenth(0);
    assert!(files.len() > 700, "found {} messages", files.len());
    let mut features = Features::default();
    let (mut lazy, mut all) = (Scratch::default(), Scratch::default());
    let (mut fewer, mut hits) = (0usize, 0usize);
    for file in &files {
        let data = std::fs::read(file).unwrap();
        let msg = Message::parse(&data);
        features.build(&msg, &filter::Limits::default());
        let a = rules.check(&msg, &features, &mut lazy);
        let b = rules.check_all(&msg, &features, &mut all);
        assert_eq!(a.score, b.score, "{}", file.display());
        assert_eq!(a.hits, b.hits, "{}", file.display());
        assert!(
            a.subrules.iter().all(|h| b.subrules.contains(h)),
            "{}",
            file.display()
        );
        fewer += b.subrules.len() - a.subrules.len();
        hits += a.hits.len();
    }
    // The laziness is real: some sub-rule that hits was never needed.
    assert!(fewer > 0 && hits > files.len(), "{fewer} {hits}");
}

/// `check_many` runs the rules on several messages rule by rule; each
/// outcome must be the one `check` gives the message alone, whatever the
/// batch it is in: batches of 1, 5 and 64 messages over the tdata
/// messages and a tenth of the public corpus.
#[test]
fn batched_check_agrees_with_one_at_a_time() {
    if !have_spamassassin() {
        return;
    }
    let rules = stock_rules();
    let files = tdata_and_a_tenth(5);
    assert!(files.len() > 700, "found {} messages", files.len());
    let datas: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let limits = filter::Limits::default();
    let msgs: Vec<Message<'_>> = datas.iter().map(|d| Message::parse(d)).collect();
    let features: Vec<Features> = msgs
        .iter()
        .map(|m| {
            let mut f = Features::default();
            f.build(m, &limits);
            f
        })
        .collect();
    let mut one = Scratch::default();
    let alone: Vec<_> = msgs
        .iter()
        .zip(&features)
        .map(|(m, f)| rules.check(m, f, &mut one))
        .collect();
    let mut scratches = Vec::new();
    let (mut at, mut hits) = (0, 0);
    for size in [1, 5, 64].into_iter().cycle() {
        if at == msgs.len() {
            break;
        }
        let end = (at + size).min(msgs.len());
        let items: Vec<_> = msgs[at..end].iter().zip(&features[at..end]).collect();
        let together = rules.check_many(&items, &mut scratches);
        assert_eq!(together.len(), end - at);
        for (i, out) in together.iter().enumerate() {
            assert_eq!(out, &alone[at + i], "{}", files[at + i].display());
            hits += out.hits.len();
        }
        at = end;
    }
    // The messages do hit rules: the comparison is not of empty outcomes.
    assert!(hits > files.len(), "{hits}");
}
