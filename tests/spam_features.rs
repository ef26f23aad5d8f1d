//! `spam::Features` against what SpamAssassin 4.0.1 prints for the same
//! messages: body and rawbody arrays, URI lists and header views. The
//! expected values were produced by running SpamAssassin on each input
//! (`$pms->get_decoded_stripped_body_text_array`, `get_uri_list`, `get`).

use std::path::{Path, PathBuf};

use filter::Limits;
use filter::mime::Message;
use filter::spam::Features;
use filter::spam::rules::ast::HeaderMods;

fn build(raw: &[u8]) -> (Features, Message<'_>) {
    let msg = Message::parse(raw);
    let mut f = Features::default();
    f.build(&msg, &Limits::default());
    (f, msg)
}

fn lines(t: &filter::spam::features::Text) -> Vec<String> {
    t.iter()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect()
}

fn sorted_uris(f: &Features) -> Vec<String> {
    let mut v = lines(&f.uris);
    v.sort();
    v
}

/// (message, expected body lines (SpamAssassin's elements without their
/// final newline), expected URIs sorted)
const BODY_CASES: &[(&str, &[&str], &[&str])] = &[
    (
        "Subject: Hello\n\nplain text\nwith two lines\n\nand a paragraph http://www.example.com/a?b=c.\n",
        &[
            "Hello",
            "plain text with two lines",
            "and a paragraph http://www.example.com/a?b=c. ",
        ],
        &["http://www.example.com/a?b=c"],
    ),
    (
        "Subject: html\nContent-Type: text/html\n\n<html><body><p>Hi <b>there</b></p>\
         <a href=\"http://example.org\">click</a><br>bye</body></html>\n",
        &["html", "", "Hi there", "click bye "],
        &["http://example.org"],
    ),
    (
        "Content-Type: multipart/alternative; boundary=XX\n\n--XX\nContent-Type: text/plain\n\n\
         one\n--XX\nContent-Type: text/html\n\n<p>two</p>\n--XX--\n",
        &["", "one", "two"],
        &[],
    ),
    (
        "Subject: mail\n\nwrite to Bob@Example.COM or see example.net/x, not vi@gra\n",
        &[
            "mail",
            "write to Bob@Example.COM or see example.net/x, not vi@gra ",
        ],
        &["http://example.net/x", "mailto:Bob@Example.COM"],
    ),
];

#[test]
fn body_and_uris_match_spamassassin() {
    for (i, (raw, body, uris)) in BODY_CASES.iter().enumerate() {
        let (f, _) = build(raw.as_bytes());
        assert_eq!(lines(&f.body), *body, "case {i} body");
        assert_eq!(sorted_uris(&f), *uris, "case {i} uris");
    }
}

#[test]
fn rawbody_is_decoded_and_chunked() {
    let (f, _) = build(
        b"Content-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n\
          caf=C3=A9\r\nline=\r\n two\r\n",
    );
    assert_eq!(lines(&f.rawbody), ["café\nline two"]);
    let long = format!("Subject: x\n\n{}\n", "word ".repeat(2000));
    let (f, _) = build(long.as_bytes());
    assert!(f.rawbody.len() >= 2);
    assert!(f.rawbody.iter().all(|l| l.len() <= 4096));
    assert!(f.body.iter().all(|l| l.len() <= 2049));
}

/// (headers, request with its modifiers, expected value): each checked
/// against `perl -MMail::SpamAssassin` printing `$pms->get(request)` joined
/// as header rules join it.
const HEADER_CASES: &[(&str, &str, Option<&str>)] = &[
    (
        "Subject: There yours for FREE!\n",
        "Subject",
        Some("There yours for FREE!\n"),
    ),
    (
        "Subject: There yours for FREE!\n",
        "Subject:raw",
        Some(" There yours for FREE!\n"),
    ),
    ("Subject: a\n  b\nSubject: c\n", "Subject", Some("a b\nc\n")),
    ("Subject: a\n  b\n", "Subject:raw", Some(" a\n  b\n")),
    (
        "Subject: =?iso-8859-1?q?caf=E9?= x\n",
        "Subject",
        Some("café x\n"),
    ),
    (
        "From: sb55sb123456789@yahoo.com\n",
        "From:addr",
        Some("sb55sb123456789@yahoo.com"),
    ),
    ("From: sb55sb123456789@yahoo.com\n", "From:name", None),
    (
        "From: \"Joe  Bloggs\" <j@x.com>\n",
        "From:name",
        Some("Joe Bloggs"),
    ),
    (
        "To: a@x.com, B <b@y.org>\n",
        "To:addr",
        Some("a@x.com\nb@y.org"),
    ),
    (
        "To: a@x.com\nCc: c@z.net\n",
        "ToCc",
        Some("a@x.com\nc@z.net\n"),
    ),
    (
        "Message-ID: <9PS291LhupY>\n",
        "MESSAGEID",
        Some("<9PS291LhupY>\n"),
    ),
    (
        "Return-Path: sb55sb55@yahoo.com\nReceived: x\n",
        "EnvelopeFrom",
        Some("sb55sb55@yahoo.com"),
    ),
    ("Received: x\nReturn-Path: <a@b.c>\n", "EnvelopeFrom", None),
    ("X-A: 1\nX-B: two\n", "ALL", Some("X-A: 1\nX-B: two\n")),
    ("X-A: 1\nX-B: two\n", "X-None", None),
    (
        "Received: from a by b; x\nReceived: from c by d\n",
        "Received:first",
        Some("from a by b; x\n"),
    ),
    (
        "Received: from a.example.com by b; x\n",
        "Received:host",
        Some("a.example.com"),
    ),
];

/// Splits `Name:mod:mod` into the name and its modifiers.
fn request(r: &str) -> (&str, HeaderMods) {
    let mut it = r.split(':');
    let name = it.next().unwrap_or("");
    let mut m = HeaderMods::default();
    for x in it {
        match x {
            "raw" => m.raw = true,
            "addr" => m.addr = true,
            "name" => m.name = true,
            "host" => m.host = true,
            "domain" => m.domain = true,
            "ip" => m.ip = true,
            "revip" => m.revip = true,
            "first" => m.first = true,
            "last" => m.last = true,
            _ => panic!("unknown modifier {x}"),
        }
    }
    (name, m)
}

#[test]
fn headers_match_spamassassin() {
    for (i, (hdrs, req, want)) in HEADER_CASES.iter().enumerate() {
        let msg_text = format!("{hdrs}\nbody\n");
        let (f, msg) = build(msg_text.as_bytes());
        let (name, mods) = request(req);
        let got = f
            .header(&msg, name, mods)
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        assert_eq!(got.as_deref(), *want, "case {i}: {req}");
    }
}

#[test]
fn mime_headers_per_part() {
    let raw = b"Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain; name=\"a.txt\"\n\n\
                x\n--B\nContent-Type: image/gif\n\nGIF\n--B--\n";
    let (f, msg) = build(raw);
    let v: Vec<String> = f
        .mime_header(&msg, "Content-Type", false)
        .iter()
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert_eq!(
        v,
        [
            "multipart/mixed; boundary=B\n",
            "text/plain; name=\"a.txt\"\n",
            "image/gif\n"
        ]
    );
    assert_eq!(f.parts.len(), 3);
    assert!(f.parts[1].is_text && !f.parts[2].is_text);
}

#[test]
fn html_facts_per_part() {
    let raw = b"Subject: s\nContent-Type: text/html\n\n<html><head><title>T</title></head>\
                <body><font color=white>hidden</font><img src=\"cid:x\" width=10 height=10>\
                V<b></b>iagra</body></html>\n";
    let (f, _) = build(raw);
    assert_eq!(f.html.parts, 1);
    let part = &f.html.per_part[0];
    assert_eq!(part.index, 0);
    assert!(part.text.contains("hiddenViagra"));
    let p = &part.facts;
    assert!(p.font_low_contrast);
    assert_eq!(p.image_area, 100);
    assert_eq!(p.title, ["T"]);
    assert_eq!(f.html.title, "T");
    assert_eq!(p.obfuscation, 2);
    assert_eq!(p.obfuscation_ratio, Some(2.0 / 13.0));
    assert_eq!(p.backhair_count, Some(2));
    assert_eq!(lines(&f.body), ["s", "", "T", "hiddenViagra "]);
    assert_eq!(lines(&f.uris), ["cid:x"]);
    assert!(f.html.invisible_bytes > 0);
    assert_eq!(lines(&f.invisible_body), ["hidden"]);
    assert!(lines(&f.visible_body).iter().all(|l| !l.contains("hidden")));
}

/// (tdata file, body lines, a prefix of body line 1, rawbody chunks, URIs sorted),
/// as SpamAssassin 4.0.1 gives them for these files.
const TDATA_CASES: &[(&str, usize, &str, usize, &[&str])] = &[
    (
        "t/data/spam/001",
        18,
        "For tests that use this mesasge to work,",
        1,
        &["http://209.61.190.180"],
    ),
    (
        "t/data/spam/009",
        16,
        " subscription cancelable at anytime. Cli",
        1,
        &[
            "http://0x425c45de/",
            "http://1113343455/",
            "http://163.125.6.199/ATV",
            "http://2742879943/ATV",
            "http://62.16.101.59/livesex.htm",
            "http://66.92.0x45.221/",
            "http://66.92.69.221/",
            "http://66.92.69.222/",
            "http://66.92.69.223/",
            "http://66.92.69.224/",
            "http://slashdot.org@1113343456/",
            "http://spamassassin.org",
            "mailto:address@foo.net",
            "mailto:twema2001@yahoo.com",
        ],
    ),
    ("t/data/nice/mime4", 2, "Well, here's a sample", 1, &[]),
    (
        "t/data/spam/004",
        16,
        "You have been specially selected to qual",
        3,
        &[
            "http://211.154.134.27/Z/teeth/arrowleft.gif",
            "http://211.154.134.27/Z/teeth/arrowright.gif",
            "http://211.154.134.27/Z/teeth/bg.jpg",
            "http://211.154.134.27/Z/teeth/d2a.jpg",
            "http://211.154.134.27/Z/teeth/d2b.jpg",
            "http://211.154.134.27/Z/teeth/delivers.gif",
            "http://211.154.134.27/Z/teeth/header.jpg",
            "http://211.154.134.27/Z/teeth/index.html?cid=3D10",
            "http://211.154.134.27/Z/teeth/order1.gif",
            "http://61.172.250.143/remove/remove1.html",
            "http://a.menu",
            "http://vacation.81832.com",
            "mailto:solutions@runsaa.com",
            "mailto:solutions@runsaa.com?Subject=3DAbuse",
            "mailto:vacation@btamail.net.cn",
            "mailto:vacation@btamail.net.cn?subject=Help",
        ],
    ),
    (
        "t/data/spam/011",
        6,
        " ",
        1,
        &["http://example.net", "http://example.org"],
    ),
    (
        "t/data/spam/dnsbl.eml",
        3,
        "hello! I'm a link: http://foo.bar.baz.ur",
        1,
        &[
            "http://144.137.3.98/blah",
            "http://foo.bar.baz.uribl-example-a.com/",
            "http://spamassassin.org/",
            "http://uribl-example-b.com/",
            "http://uribl-example-c.com/",
        ],
    ),
    (
        "t/data/spam/phishing_openphish.eml",
        2,
        "<html> <body> <a href=\"https://ehawkerbd",
        1,
        &["https://ehawkerbd.com/wp/wp-admin/js/office365/auth.php"],
    ),
    (
        "t/data/spam/012",
        2,
        "Test whitelist_from_rcvd foo@example.com",
        1,
        &["mailto:foo@example.com"],
    ),
    ("t/data/spam/018", 5, "This is a test msg.", 1, &[]),
];

#[test]
fn tdata_messages_match_spamassassin() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/spamassassin-tdata");
    for (file, body_lines, line1, raw_chunks, uris) in TDATA_CASES {
        let Ok(raw) = std::fs::read(root.join(file)) else {
            eprintln!("skipping {file}: corpus not present");
            continue;
        };
        let (f, _) = build(&raw);
        let body = lines(&f.body);
        assert_eq!(body.len(), *body_lines, "{file}: body lines");
        assert!(body[1].starts_with(line1), "{file}: {:?}", body[1]);
        assert_eq!(f.rawbody.len(), *raw_chunks, "{file}: rawbody");
        assert_eq!(sorted_uris(&f), *uris, "{file}: uris");
    }
}

fn corpus_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut out = Vec::new();
    let mut stack = vec![root.join("spamassassin"), root.join("spamassassin-tdata/t")];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                !n.ends_with(".txt") || n.starts_with("badmime")
            }) && !p.to_string_lossy().ends_with("labels.tsv")
            {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn whole_corpus_builds_bounded() {
    let files = corpus_files();
    let mut f = Features::default();
    let limits = Limits::default();
    let mut n = 0;
    for p in &files {
        let raw = std::fs::read(p).unwrap();
        let msg = Message::parse_with(&raw, &limits);
        f.build(&msg, &limits);
        n += 1;
        // Rendered text never grows past the input plus the Subject and
        // paragraph breaks; URIs are bounded by the variants of the input.
        assert!(f.body.buf.len() <= raw.len() * 2 + 4096, "{}", p.display());
        assert!(
            f.rawbody.buf.len() <= raw.len() * 2 + 4096,
            "{}",
            p.display()
        );
        assert!(f.uris.buf.len() <= raw.len() * 64 + 4096, "{}", p.display());
    }
    eprintln!("built {n} messages");
}

/// Speed over the corpus: `cargo test --release --test spam_features -- --ignored --nocapture speed`.
#[test]
#[ignore]
fn speed() {
    let files: Vec<Vec<u8>> = corpus_files()
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    let limits = Limits::default();
    let mut f = Features::default();
    let t = std::time::Instant::now();
    let mut bytes = 0;
    for raw in &files {
        let msg = Message::parse_with(raw, &limits);
        f.build(&msg, &limits);
        bytes += raw.len();
    }
    let s = t.elapsed().as_secs_f64();
    eprintln!(
        "{} messages, {:.1} MB in {:.2}s: {:.0} msg/s, {:.1} MB/s",
        files.len(),
        bytes as f64 / 1e6,
        s,
        files.len() as f64 / s,
        bytes as f64 / 1e6 / s
    );
}

fn json_str(s: &[u8], out: &mut String) {
    out.push('"');
    for c in String::from_utf8_lossy(s).chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Development aid: writes one JSON line per file named in
/// `$FEATURES_DUMP_LIST` to `$FEATURES_DUMP_OUT`, for comparison with
/// SpamAssassin's output.
#[test]
#[ignore]
fn dump_for_comparison() {
    let (Ok(list), Ok(outp)) = (
        std::env::var("FEATURES_DUMP_LIST"),
        std::env::var("FEATURES_DUMP_OUT"),
    ) else {
        return;
    };
    let hdrs: Vec<String> = std::env::var("HDRS")
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    let mut out = String::new();
    let mut f = Features::default();
    for file in std::fs::read_to_string(list).unwrap().lines() {
        let raw = std::fs::read(file).unwrap();
        let msg = Message::parse(&raw);
        f.build(&msg, &Limits::default());
        out.push_str("{\"file\":");
        json_str(file.as_bytes(), &mut out);
        for (k, t) in [
            ("body", &f.body),
            ("rawbody", &f.rawbody),
            ("uris", &f.uris),
        ] {
            out.push_str(&format!(",\"{k}\":["));
            for (i, l) in t.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_str(l, &mut out);
            }
            out.push(']');
        }
        out.push_str(",\"hdr\":{");
        for (i, h) in hdrs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json_str(h.as_bytes(), &mut out);
            out.push(':');
            let (name, mods) = request(h);
            match f.header(&msg, name, mods) {
                Some(v) => json_str(&v, &mut out),
                None => out.push_str("null"),
            }
        }
        out.push_str("}}\n");
    }
    std::fs::write(outp, out).unwrap();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// Messages made of hostile fragments (URIs, addresses, HTML, encodings,
    /// non-ASCII) build without panicking, and the views stay bounded.
    #[test]
    fn build_never_panics(parts in proptest::collection::vec(proptest::sample::select(vec![
        "http://", "https://x.", "www.", "ftp.", "mailto:", "@", "a@b.com", ".com", ".co.uk", "0x7f",
        "%41", "%2", "&#46;", "&#x2e;", "\\", "/", "?", "#", ":80", ":", "(", ")", "<", ">", "\"",
        "'", ",", " ", "\n", "\r\n", "\t", "\u{a0}", "\u{e9}", "\u{fffd}", "\u{3002}", "\u{1b}(B",
        "<a href=", "<img src=", "<base href=", "</a>", "<p>", "<td>", "<font color=#fff>", "<!--",
        "-->", "<script>", "<style>", "=20", "=\n", "=C3=A9", "--B\n", "--B--\n",
        "Content-Type: text/html\n", "Content-Type: multipart/mixed; boundary=B\n",
        "Content-Transfer-Encoding: quoted-printable\n", "Content-Transfer-Encoding: base64\n",
        "Subject: =?utf-8?b?w6k=?=\n", "\n\n", "1113343453", "www.x.biz/", "x",
    ]), 0..80)) {
        let raw: String = parts.concat();
        let (f, msg) = build(raw.as_bytes());
        proptest::prop_assert!(f.body.buf.len() <= 3 * raw.len() + 4096);
        proptest::prop_assert!(f.rawbody.buf.len() <= 2 * raw.len() + 4096);
        for name in ["Subject", "ALL", "ToCc", "EnvelopeFrom", "MESSAGEID"] {
            let _ = f.header(&msg, name, HeaderMods::default());
        }
        let _ = f.mime_header(&msg, "Content-Type", false);
    }
}

/// SpamAssassin cuts links longer than 8,192 characters and remembers
/// that it did (`uri_truncated`, read by URI_TRUNCATED): in an HTML
/// attribute, and in a link found in the text once canonicalized. The
/// flag does not outlive the message it was set for.
#[test]
fn long_links_are_cut_and_flagged() {
    let long = format!("http://www.example.com/{}", "a".repeat(9000));
    let html = format!(
        "Content-Type: text/html\n\n<html><body><a href=\"{long}\">more</a></body></html>\n"
    );
    let (f, _) = build(html.as_bytes());
    assert!(f.uri_truncated);
    assert!(f.uris.iter().all(|u| u.len() <= 8192));
    assert!(
        f.uris.iter().any(|u| u.len() == 8192),
        "the cut link is kept"
    );
    let short = "Content-Type: text/html\n\n<a href=\"http://www.example.com/x\">x</a>\n";
    let mut f2 = f;
    let msg = Message::parse(short.as_bytes());
    f2.clear();
    f2.build(&msg, &Limits::default());
    assert!(!f2.uri_truncated);
}
