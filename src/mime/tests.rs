//! Tests of the walker: structure, ambiguity, limits and linearity.

use proptest::prelude::*;

use super::*;

fn crlf(s: &str) -> Vec<u8> {
    s.replace('\n', "\r\n").into_bytes()
}

fn bare_cr(s: &str) -> Vec<u8> {
    s.replace('\n', "\r").into_bytes()
}

/// (depth, content type, kind, origin) of every part, depth first.
fn shape(msg: &Message<'_>) -> Vec<(u32, String, PartKind, Origin)> {
    msg.walk()
        .map(|(_, p)| (p.depth, p.content_type(), p.kind, p.origin))
        .collect()
}

fn leaves<'m, 'a>(msg: &'m Message<'a>) -> Vec<&'m Part<'a>> {
    msg.walk()
        .map(|(_, p)| p)
        .filter(|p| p.kind == PartKind::Leaf && !p.alternate)
        .collect()
}

const NESTED: &str = "From: a@b\n\
Content-Type: multipart/mixed; boundary=\"outer\"\n\
\n\
preamble text\n\
--outer\n\
Content-Type: text/plain\n\
\n\
first\n\
--outer\n\
Content-Type: multipart/alternative; boundary=\"inner\"\n\
\n\
--inner\n\
Content-Type: text/plain\n\
\n\
plain\n\
--inner\n\
Content-Type: text/html\n\
\n\
<p>html</p>\n\
--inner--\n\
--outer\n\
Content-Type: message/rfc822\n\
\n\
Subject: inner message\n\
\n\
inner body\n\
--outer--\n\
epilogue\n";

#[test]
fn nested_multipart_tree_and_spans() {
    for (name, raw) in [
        ("lf", NESTED.as_bytes().to_vec()),
        ("crlf", crlf(NESTED)),
        ("cr", bare_cr(NESTED)),
    ] {
        let msg = Message::parse(&raw);
        let got: Vec<_> = shape(&msg)
            .into_iter()
            .map(|(d, t, k, _)| (d, t, k))
            .collect();
        use PartKind::{Leaf, Multipart};
        let want = vec![
            (0, "multipart/mixed".to_string(), Multipart),
            (1, "text/plain".into(), Leaf),
            (1, "multipart/alternative".into(), Multipart),
            (2, "text/plain".into(), Leaf),
            (2, "text/html".into(), Leaf),
            (1, "message/rfc822".into(), PartKind::Message),
            (2, "text/plain".into(), Leaf),
        ];
        assert_eq!(got, want, "{name}");
        let bodies: Vec<_> = leaves(&msg).iter().map(|p| msg.body(p).to_vec()).collect();
        let want_bodies: Vec<&[u8]> = vec![b"first", b"plain", b"<p>html</p>", b"inner body"];
        assert_eq!(bodies, want_bodies, "{name}");
        let root = msg.root();
        assert_eq!(
            msg.slice(root.preamble.unwrap()),
            b"preamble text",
            "{name}"
        );
        assert_eq!(
            msg.slice(root.epilogue.unwrap()).trim_ascii(),
            b"epilogue",
            "{name}"
        );
        let inner = &msg.parts()[msg.parts()[5].first_child.unwrap() as usize];
        assert_eq!(
            msg.header_text(inner, "subject").as_deref(),
            Some("inner message")
        );
        if name != "cr" {
            assert!(
                !msg.defects().contains(Defects::MIXED_LINE_ENDINGS),
                "{name}"
            );
        } else {
            assert!(msg.defects().contains(Defects::MIXED_LINE_ENDINGS));
        }
        assert!(
            !msg.defects()
                .intersects(Defects::MISSING_CLOSE_BOUNDARY | Defects::BOUNDARY_NOT_FOUND)
        );
        // Nothing is copied: every body lies inside the input.
        for p in msg.parts() {
            assert!(p.body.end <= raw.len() && p.header.end <= p.body.start.max(p.header.end));
        }
    }
}

#[test]
fn outer_boundary_closes_inner_multipart() {
    let raw = b"Content-Type: multipart/mixed; boundary=a\n\n--a\n\
Content-Type: multipart/mixed; boundary=b\n\n--b\n\ninner\n--a\n\nsecond\n--a--\n";
    let msg = Message::parse(raw);
    let inner = &msg.parts()[1];
    assert_eq!(inner.kind, PartKind::Multipart);
    assert!(inner.defects.contains(Defects::MISSING_CLOSE_BOUNDARY));
    let l = leaves(&msg);
    assert_eq!(l.len(), 2);
    assert_eq!(msg.body(l[0]), b"inner");
    assert_eq!(msg.body(l[1]), b"second");
    assert_eq!(l[1].depth, 1);
}

#[test]
fn missing_close_at_end_of_input() {
    let raw = b"Content-Type: multipart/mixed; boundary=a\n\n--a\n\nonly part\n";
    let msg = Message::parse(raw);
    assert!(msg.root().defects.contains(Defects::MISSING_CLOSE_BOUNDARY));
    assert_eq!(msg.body(leaves(&msg)[0]), b"only part\n");
}

#[test]
fn boundary_that_prefixes_another() {
    let raw = b"Content-Type: multipart/mixed; boundary=\"abc\"\n\n--abc\n\
Content-Type: multipart/mixed; boundary=\"abcdef\"\n\n--abcdef\n\none\n--abcdef\n\ntwo\n--abcdef--\n--abc\n\nthree\n--abc--\n";
    let msg = Message::parse(raw);
    let bodies: Vec<_> = leaves(&msg).iter().map(|p| msg.body(p)).collect();
    assert_eq!(bodies, [&b"one"[..], b"two", b"three"]);
    assert!(msg.defects().is_empty(), "{:?}", msg.defects());
}

#[test]
fn unquoted_boundary_with_equals_and_dashes() {
    let raw = b"Content-Type: multipart/alternative;\n\tboundary=----=_NextPart_000_0001_01C2\n\n\
------=_NextPart_000_0001_01C2\nContent-Type: text/plain\n\nhi\n------=_NextPart_000_0001_01C2--\n";
    let msg = Message::parse(raw);
    assert_eq!(
        msg.root().boundary.as_deref(),
        Some(&b"----=_NextPart_000_0001_01C2"[..])
    );
    assert_eq!(msg.body(leaves(&msg)[0]), b"hi");
}

#[test]
fn boundary_line_may_carry_trailing_whitespace_only() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b \t\n\nx\n--b-- \n";
    let msg = Message::parse(raw);
    assert_eq!(msg.body(leaves(&msg)[0]), b"x");
    let raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--bX\ny\n--b--\n";
    let msg = Message::parse(raw);
    assert_eq!(msg.body(leaves(&msg)[0]), b"x\n--bX\ny");
}

#[test]
fn defaults_without_content_type() {
    let msg = Message::parse(b"Subject: hi\n\nbody\n");
    assert_eq!(msg.root().content_type(), "text/plain");
    assert_eq!(msg.root().kind, PartKind::Leaf);
    assert_eq!(msg.body(msg.root()), b"body\n");
    let msg = Message::parse(
        b"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: x\n\nm\n--d--\n",
    );
    let s = shape(&msg);
    assert_eq!(s[1].1, "message/rfc822");
    assert_eq!(s[1].2, PartKind::Message);
    assert_eq!(s[2].1, "text/plain");
}

#[test]
fn mbox_from_line_is_skipped() {
    let msg =
        Message::parse(b"From someone@example.com Mon Jan  1 00:00:00 2024\nSubject: s\n\nb\n");
    assert_eq!(
        msg.mbox_from(),
        Some(&b"From someone@example.com Mon Jan  1 00:00:00 2024"[..])
    );
    assert_eq!(msg.header(msg.root(), "Subject"), Some(&b" s"[..]));
    assert!(msg.defects().is_empty());
}

#[test]
fn header_views() {
    let raw = b"Subject: =?utf-8?q?caf=C3=A9?=\n  and more\nReceived: from a\nReceived: from b\n\tby c\nX-Odd : v\n\nb";
    let msg = Message::parse(raw);
    let root = msg.root();
    assert_eq!(
        msg.header(root, "subject"),
        Some(&b" =?utf-8?q?caf=C3=A9?=\n  and more"[..])
    );
    assert_eq!(
        &*msg.header_unfolded(root, "subject").unwrap(),
        b"=?utf-8?q?caf=C3=A9?=  and more"
    );
    let rec: Vec<_> = msg.headers(root, "received").map(header::unfold).collect();
    assert_eq!(rec, [&b"from a"[..], b"from b\tby c"]);
    assert_eq!(msg.header(root, "x-odd"), Some(&b" v"[..]));
    assert!(root.defects.contains(Defects::SPACE_BEFORE_COLON));
}

#[test]
fn header_without_separator_and_continuation_first() {
    let msg = Message::parse(b" folded first\nSubject: x\nthis is body\nmore\n");
    let root = msg.root();
    assert!(root.defects.contains(Defects::FIRST_LINE_IS_CONTINUATION));
    assert!(
        root.defects
            .contains(Defects::MISSING_HEADER_BODY_SEPARATOR)
    );
    assert_eq!(msg.body(root), b"this is body\nmore\n");
}

#[test]
fn part_header_stops_at_boundary() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n--b\n\nsecond\n--b--\n";
    let msg = Message::parse(raw);
    let l = leaves(&msg);
    assert_eq!(l.len(), 2);
    assert_eq!(msg.body(l[0]), b"");
    assert_eq!(msg.body(l[1]), b"second");
}

#[test]
fn nul_and_eight_bit_headers() {
    let msg = Message::parse(b"Subject: a\0b\nFrom: \xe9t\xe9\n\nx");
    assert!(
        msg.defects()
            .contains(Defects::NUL_IN_HEADER | Defects::EIGHT_BIT_HEADER)
    );
}

#[test]
fn duplicate_content_type_gets_an_alternate_reading() {
    let raw = b"Content-Type: text/plain\nContent-Type: multipart/mixed; boundary=z\n\n--z\n\
Content-Type: application/octet-stream\n\nhidden\n--z--\n";
    let msg = Message::parse(raw);
    let root = msg.root();
    assert!(
        root.defects
            .contains(Defects::DUPLICATE_CONTENT_TYPE | Defects::AMBIGUOUS_STRUCTURE)
    );
    assert_eq!(root.kind, PartKind::Leaf);
    let alt: Vec<_> = msg.walk().map(|(_, p)| p).filter(|p| p.alternate).collect();
    assert_eq!(alt[0].origin, Origin::Alternate);
    assert_eq!(alt[0].kind, PartKind::Multipart);
    let hidden = alt.iter().find(|p| p.kind == PartKind::Leaf).unwrap();
    assert_eq!(msg.body(hidden), b"hidden");
    assert!(hidden.defects.contains(Defects::AMBIGUOUS_STRUCTURE));
}

#[test]
fn duplicate_boundary_and_cte_get_alternate_readings() {
    let raw = b"Content-Type: multipart/mixed; boundary=one; boundary=two\n\n--one\n\na\n--one--\n--two\n\nb\n--two--\n";
    let msg = Message::parse(raw);
    assert!(msg.root().defects.contains(Defects::DUPLICATE_BOUNDARY));
    let alt_leaf = msg
        .walk()
        .map(|(_, p)| p)
        .find(|p| p.alternate && p.kind == PartKind::Leaf)
        .unwrap();
    assert_eq!(msg.body(alt_leaf), b"b");

    let raw =
        b"Content-Transfer-Encoding: base64\nContent-Transfer-Encoding: quoted-printable\n\naGk=\n";
    let msg = Message::parse(raw);
    let twin = &msg.parts()[1];
    assert_eq!(
        (msg.root().encoding, twin.encoding),
        (Encoding::Base64, Encoding::QuotedPrintable)
    );
    assert!(twin.alternate && msg.root().defects.contains(Defects::DUPLICATE_CTE));
}

#[test]
fn multipart_without_boundary_is_read_both_ways() {
    let raw = b"Content-Type: multipart/mixed\n\n--guess\n\nx\n--guess--\n";
    let msg = Message::parse(raw);
    let root = msg.root();
    assert!(root.defects.contains(Defects::NO_BOUNDARY_PARAM));
    assert_eq!(root.kind, PartKind::Leaf);
    assert_eq!(msg.body(root), b"--guess\n\nx\n--guess--\n");
    let guessed = msg
        .walk()
        .map(|(_, p)| p)
        .find(|p| p.alternate && p.kind == PartKind::Multipart)
        .unwrap();
    assert_eq!(guessed.boundary.as_deref(), Some(&b"guess"[..]));
    assert!(
        msg.walk()
            .any(|(_, p)| p.alternate && p.kind == PartKind::Leaf && msg.body(p) == b"x")
    );
}

#[test]
fn boundary_not_found_keeps_the_body_visible() {
    let raw = b"Content-Type: multipart/mixed; boundary=nope\n\njust text\n";
    let msg = Message::parse(raw);
    let root = msg.root();
    assert!(root.defects.contains(Defects::BOUNDARY_NOT_FOUND));
    assert_eq!(
        (root.kind, msg.body(root)),
        (PartKind::Leaf, &b"just text\n"[..])
    );
    // With a `--` line in it, a guessed multipart is read as well.
    let raw = b"Content-Type: multipart/mixed; boundary=nope\n\n--real\n\nhidden\n--real--\n";
    let msg = Message::parse(raw);
    assert_eq!(msg.root().kind, PartKind::Leaf);
    let hidden = msg
        .walk()
        .map(|(_, p)| p)
        .find(|p| p.alternate && p.kind == PartKind::Leaf)
        .unwrap();
    assert_eq!(msg.body(hidden), b"hidden");
}

#[test]
fn encoded_message_part_is_a_leaf() {
    let raw = b"Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA0KDQp5\n";
    let msg = Message::parse(raw);
    assert_eq!(msg.root().kind, PartKind::Leaf);
    assert!(msg.root().defects.contains(Defects::CTE_ON_COMPOSITE));
}

// ---- limits ---------------------------------------------------------------

fn nested(depth: usize) -> Vec<u8> {
    let mut s = Vec::new();
    for i in 0..depth {
        s.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n").as_bytes(),
        );
    }
    s.extend_from_slice(b"Content-Type: text/plain\n\nleaf\n");
    for i in (0..depth).rev() {
        s.extend_from_slice(format!("--b{i}--\n").as_bytes());
    }
    s
}

#[test]
fn nesting_limit() {
    let raw = nested(50);
    let limits = Limits {
        max_depth: 10,
        ..Limits::default()
    };
    let msg = Message::parse_with(&raw, &limits);
    assert!(msg.defects().contains(Defects::NESTING_LIMIT));
    assert!(
        msg.parts()
            .iter()
            .all(|p| (p.depth as usize) < limits.max_depth)
    );
    // The deepest part kept is a leaf holding everything below it.
    let deepest = msg.parts().iter().max_by_key(|p| p.depth).unwrap();
    assert_eq!(deepest.kind, PartKind::Leaf);
    assert!(memchr::memmem::find(msg.body(deepest), b"leaf").is_some());
    // Within the limit, nothing is flagged.
    let five = nested(5);
    let msg = Message::parse_with(&five, &limits);
    assert!(!msg.defects().contains(Defects::NESTING_LIMIT));
    assert_eq!(msg.parts().len(), 6);
}

#[test]
fn part_limit() {
    let mut raw = b"Content-Type: multipart/mixed; boundary=p\n\n".to_vec();
    for i in 0..100 {
        raw.extend_from_slice(format!("--p\n\npart {i}\n").as_bytes());
    }
    raw.extend_from_slice(b"--p--\n");
    let limits = Limits {
        max_parts: 10,
        ..Limits::default()
    };
    let msg = Message::parse_with(&raw, &limits);
    assert!(msg.defects().contains(Defects::PART_LIMIT));
    assert!(msg.parts().len() <= limits.max_parts + 1);
    let overflow = msg
        .parts()
        .iter()
        .find(|p| p.origin == Origin::Overflow)
        .unwrap();
    let body = msg.body(overflow);
    assert!(
        body.starts_with(b"\npart 9") && body.ends_with(b"part 99"),
        "{:?}",
        String::from_utf8_lossy(body)
    );
}

#[test]
fn header_count_and_size_limits() {
    let mut raw = Vec::new();
    for i in 0..50 {
        raw.extend_from_slice(format!("X-H{i}: v\n").as_bytes());
    }
    raw.extend_from_slice(b"\nbody");
    let msg = Message::parse_with(
        &raw,
        &Limits {
            max_headers: 10,
            ..Limits::default()
        },
    );
    assert_eq!(msg.fields(msg.root()).len(), 10);
    assert!(msg.defects().contains(Defects::HEADER_LIMIT));
    assert_eq!(msg.body(msg.root()), b"body");

    let msg = Message::parse_with(
        &raw,
        &Limits {
            max_header_bytes: 64,
            ..Limits::default()
        },
    );
    assert!(msg.defects().contains(Defects::HEADER_LIMIT));
    assert!(msg.root().body.start <= 64 + 8);

    let long = format!("Subject: {}\n\nb", "x".repeat(2000));
    let msg = Message::parse(long.as_bytes());
    assert!(msg.defects().contains(Defects::HEADER_TOO_LONG));
    let msg = Message::parse(b"Subject: short\n\nb");
    assert!(!msg.defects().contains(Defects::HEADER_TOO_LONG));
}

#[test]
fn decoded_size_limits() {
    let raw = b"Content-Type: multipart/mixed; boundary=d\n\n--d\n\n0123456789\n--d\n\nabcdefghij\n--d--\n";
    let msg = Message::parse(raw);
    let limits = Limits {
        max_decoded_part: 4,
        max_decoded_total: 6,
        ..Limits::default()
    };
    let mut dec = Decoder::new(&limits);
    let mut out = Vec::new();
    let l = leaves(&msg);
    assert_eq!(
        dec.decode(&msg, l[0], &mut out),
        Defects::DECODED_SIZE_LIMIT
    );
    assert_eq!(out, b"0123");
    assert_eq!(
        dec.decode(&msg, l[1], &mut out),
        Defects::DECODED_SIZE_LIMIT
    );
    assert_eq!(out, b"ab");
    assert_eq!(dec.remaining(), 0);
}

// ---- linearity --------------------------------------------------------------

/// Doubling an adversarial input at most doubles the parser's work: the
/// work per input byte does not grow with the input (10% slack for the
/// fixed-size parts of the input), and it stays small.
fn assert_linear(name: &str, make: impl Fn(usize) -> Vec<u8>, limits: &Limits) {
    let (a, b) = (make(2000), make(4000));
    let (wa, wb) = (
        Message::parse_work(&a, limits),
        Message::parse_work(&b, limits),
    );
    let (ra, rb) = (wa as f64 / a.len() as f64, wb as f64 / b.len() as f64);
    assert!(
        wa > 0 && b.len() * 10 >= a.len() * 19,
        "{name}: generator must double"
    );
    assert!(
        rb <= ra * 1.1,
        "{name}: work {wa} -> {wb} for {} -> {} bytes",
        a.len(),
        b.len()
    );
    assert!(rb <= 8.0, "{name}: {rb:.1} units of work per byte");
}

#[test]
fn work_is_linear_on_adversarial_inputs() {
    let limits = Limits::default();
    assert_linear(
        "deep nesting",
        nested,
        &Limits {
            max_depth: 100_000,
            max_parts: 1_000_000,
            ..limits.clone()
        },
    );
    assert_linear("deep nesting, default limits", nested, &limits);
    assert_linear(
        "many boundaries",
        |n| {
            let mut s = b"Content-Type: multipart/mixed; boundary=\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n\n".to_vec();
            for _ in 0..n {
                s.extend_from_slice(
                    b"--aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaX\n--\n----\n",
                );
            }
            s
        },
        &limits,
    );
    assert_linear(
        "many nested near-boundaries",
        |n| {
            let mut s = nested(30);
            for _ in 0..n {
                s.extend_from_slice(b"--b1\n--b2x\n--b29 x\n");
            }
            s
        },
        &limits,
    );
    assert_linear(
        "dashes everywhere",
        |n| {
            let mut s = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n".to_vec();
            for _ in 0..n {
                s.extend_from_slice(b"-a-b--c\n----------\n--x\n-");
            }
            s
        },
        &limits,
    );
    assert_linear(
        "long folded header",
        |n| {
            let mut s = b"Subject: x".to_vec();
            for _ in 0..n {
                s.extend_from_slice(b"\n =?utf-8?q?a?= --b");
            }
            s.extend_from_slice(b"\n\nbody");
            s
        },
        &limits,
    );
    assert_linear(
        "ambiguous headers everywhere",
        |n| {
            let mut s = b"Content-Type: multipart/mixed; boundary=a; boundary=b\n\n".to_vec();
            for _ in 0..n {
                s.extend_from_slice(b"--a\nContent-Type: multipart/mixed\nContent-Type: multipart/mixed; boundary=a\n\n--b\n");
            }
            s
        },
        &limits,
    );
}

// ---- properties -------------------------------------------------------------

/// A generated MIME tree: the oracle for the parser.
#[derive(Clone, Debug)]
enum Gen {
    Leaf(Vec<u8>),
    Multi(Vec<Gen>),
    Message(Box<Gen>),
}

fn gen_tree() -> impl Strategy<Value = Gen> {
    let body = proptest::collection::vec(
        prop_oneof![
            Just(b'a'),
            Just(b' '),
            Just(b'\n'),
            Just(b'-'),
            Just(b'x'),
            Just(b'=')
        ],
        0..40,
    )
    // Keep bodies from ending in a newline, or starting lines with `--`,
    // so the expected body is exactly what was written.
    .prop_map(|mut v| {
        let mut out = Vec::new();
        for (i, &b) in v.iter().enumerate() {
            if b == b'-' && (i == 0 || v[i - 1] == b'\n') {
                out.push(b'y');
            } else {
                out.push(b);
            }
        }
        while out.last() == Some(&b'\n') {
            out.pop();
        }
        v.clear();
        out
    });
    body.prop_map(Gen::Leaf).prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 1..4).prop_map(Gen::Multi),
            inner.prop_map(|g| Gen::Message(Box::new(g))),
        ]
    })
}

fn render(g: &Gen, nl: &str, counter: &mut usize, out: &mut Vec<u8>) {
    match g {
        Gen::Leaf(b) => {
            out.extend_from_slice(format!("Content-Type: text/plain{nl}{nl}").as_bytes());
            out.extend_from_slice(
                &b.iter()
                    .flat_map(|&c| {
                        if c == b'\n' {
                            nl.bytes().collect()
                        } else {
                            vec![c]
                        }
                    })
                    .collect::<Vec<_>>(),
            );
        }
        Gen::Multi(kids) => {
            *counter += 1;
            let b = format!("bnd{counter}");
            out.extend_from_slice(
                format!("Content-Type: multipart/mixed; boundary=\"{b}\"{nl}{nl}").as_bytes(),
            );
            for k in kids {
                out.extend_from_slice(format!("{nl}--{b}{nl}").as_bytes());
                render(k, nl, counter, out);
            }
            out.extend_from_slice(format!("{nl}--{b}--").as_bytes());
        }
        Gen::Message(inner) => {
            out.extend_from_slice(format!("Content-Type: message/rfc822{nl}{nl}").as_bytes());
            render(inner, nl, counter, out);
        }
    }
}

fn expected(g: &Gen, depth: u32, nl: &str, out: &mut Vec<(u32, PartKind, Option<Vec<u8>>)>) {
    match g {
        Gen::Leaf(b) => {
            let body = String::from_utf8(b.clone())
                .unwrap()
                .replace('\n', nl)
                .into_bytes();
            out.push((depth, PartKind::Leaf, Some(body)));
        }
        Gen::Multi(kids) => {
            out.push((depth, PartKind::Multipart, None));
            kids.iter().for_each(|k| expected(k, depth + 1, nl, out));
        }
        Gen::Message(inner) => {
            out.push((depth, PartKind::Message, None));
            expected(inner, depth + 1, nl, out);
        }
    }
}

proptest! {
    #[test]
    fn generated_trees_parse_back(g in gen_tree(), nl in prop_oneof![Just("\n"), Just("\r\n"), Just("\r")]) {
        let mut raw = Vec::new();
        render(&g, nl, &mut 0, &mut raw);
        let msg = Message::parse(&raw);
        let got: Vec<_> = msg.walk().map(|(_, p)| {
            (p.depth, p.kind, (p.kind == PartKind::Leaf).then(|| msg.body(p).to_vec()))
        }).collect();
        let mut want = Vec::new();
        expected(&g, 0, nl, &mut want);
        prop_assert_eq!(got, want);
        prop_assert!(!msg.defects().intersects(Defects::MISSING_CLOSE_BOUNDARY | Defects::AMBIGUOUS_STRUCTURE));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        check_invariants(&data);
    }

    #[test]
    fn mime_like_bytes_never_panic(parts in proptest::collection::vec(prop_oneof![
        Just(&b"Content-Type: multipart/mixed; boundary=a\n"[..]),
        Just(&b"Content-Type: message/rfc822\n"[..]),
        Just(&b"Content-Type: multipart/mixed\n"[..]),
        Just(&b"Content-Transfer-Encoding: base64\n"[..]),
        Just(&b"Content-Type: text/plain\r\n"[..]),
        Just(&b"--a\n"[..]), Just(&b"--a--\n"[..]), Just(&b"\n"[..]), Just(&b"\r"[..]),
        Just(&b"begin 644 x\n"[..]), Just(&b"=ybegin line=128 size=3 name=y\n"[..]),
        Just(&b" folded\n"[..]), Just(&b"junk\n"[..]), Just(&b"From x\n"[..]),
    ], 0..60)) {
        check_invariants(&parts.concat());
    }
}

fn check_invariants(data: &[u8]) {
    let limits = Limits {
        max_parts: 50,
        max_depth: 6,
        ..Limits::default()
    };
    let msg = Message::parse_with(data, &limits);
    assert!(msg.parts().len() <= limits.max_parts + limits.max_depth);
    assert_eq!(msg.walk().count(), msg.parts().len());
    let mut dec = Decoder::new(&limits);
    let mut out = Vec::new();
    for p in msg.parts() {
        assert!(
            p.header.start <= p.header.end
                && p.body.start <= p.body.end
                && p.body.end <= data.len()
        );
        let _ = dec.decode(&msg, p, &mut out);
        let _ = msg.filename(p);
        let _ = msg.header_text(p, "subject");
    }
}

#[test]
fn boundary_with_trailing_blanks() {
    let raw = b"Content-Type: multipart/mixed; boundary=\"ab  \"\n\n--ab  \n\none\n--ab \nstill one\n--ab  --\n";
    let msg = Message::parse(raw);
    let l = leaves(&msg);
    assert_eq!(l.len(), 1);
    assert_eq!(msg.body(l[0]), b"one\n--ab \nstill one");
    assert!(msg.defects().is_empty(), "{:?}", msg.defects());
}

#[test]
fn body_oddities() {
    let msg = Message::parse(b"Content-Type: text/plain\n\nnul\0 and \xe9\n");
    assert!(
        msg.root()
            .defects
            .contains(Defects::NUL_IN_BODY | Defects::EIGHT_BIT_IN_7BIT)
    );
    let msg = Message::parse(b"Content-Transfer-Encoding: 8bit\n\n\xe9\n");
    assert!(
        !msg.defects()
            .intersects(Defects::NUL_IN_BODY | Defects::EIGHT_BIT_IN_7BIT)
    );
    let msg = Message::parse(b"Content-Type: message/rfc822\n\njust text, no header\n");
    assert!(msg.root().defects.contains(Defects::BAD_MESSAGE_PART));
    let msg = Message::parse(b"Content-Type: message/rfc822\n\nSubject: x\n\nbody\n");
    assert!(!msg.defects().contains(Defects::BAD_MESSAGE_PART));
}

#[test]
fn boundary_quoted_and_unquoted_is_read_every_way() {
    // `boundary="abc"def`: clients take `abc`, `abcdef` or the whole text.
    let raw = b"Content-Type: multipart/mixed; boundary=\"abc\"def\n\n\
--abc\n\nread as abc\n--abc--\n--abcdef\n\nread as abcdef\n--abcdef--\n";
    let msg = Message::parse(raw);
    let bodies: Vec<_> = msg
        .walk()
        .map(|(_, p)| p)
        .filter(|p| p.kind == PartKind::Leaf)
        .map(|p| msg.body(p))
        .collect();
    assert!(bodies.contains(&&b"read as abc"[..]), "{bodies:?}");
    assert!(bodies.contains(&&b"read as abcdef"[..]), "{bodies:?}");
    assert!(msg.root().defects.contains(Defects::AMBIGUOUS_STRUCTURE));
}

#[test]
fn depth_is_capped_to_fit_a_small_stack() {
    // Message parts inside multiparts, far deeper than the cap.
    let mut raw = Vec::new();
    for i in 0..400 {
        raw.extend_from_slice(
            format!("Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\nContent-Type: message/rfc822\n\n").as_bytes(),
        );
    }
    raw.extend_from_slice(b"\nleaf\n");
    let limits = Limits {
        max_depth: usize::MAX,
        max_parts: usize::MAX,
        ..Limits::default()
    };
    // Debug builds use several times the stack of release builds.
    let stack = if cfg!(debug_assertions) {
        4 << 20
    } else {
        256 << 10
    };
    let parts = std::thread::Builder::new()
        .stack_size(stack)
        .spawn(move || {
            let msg = Message::parse_with(&raw, &limits);
            assert!(msg.defects().contains(Defects::NESTING_LIMIT));
            msg.parts()
                .iter()
                .map(|p| p.depth as usize)
                .max()
                .unwrap_or(0)
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(parts, MAX_DEPTH_CAP - 1);
}
