//! Structure checks against the MIME test suites that ship expected output.
//!
//! * **stalwart** (`mime/stalwart/resources/eml/*/NNN.eml` with `NNN.json`,
//!   the serialised parse of stalwart's mail-parser): part tree, content
//!   types, file names and decoded bodies (text bodies are compared after
//!   charset conversion to UTF-8, binary bodies byte for byte).
//! * **mime4j** (`mime/mime4j/core/src/test/resources/{testmsgs,
//!   mimetools-testmsgs}/X.msg` with `X_decoded.xml`, Apache James mime4j's
//!   parse tree, whose leaves name files holding the transfer-decoded
//!   bodies): part tree, content types (from the Content-Type fields the
//!   tree lists) and decoded bodies.
//! * **enmime**: its golden files are encoder outputs, not parse trees; the
//!   only parse expectations are the `parser-raw-content-*` pairs, whose
//!   `.golden` is enmime's re-encoding of the `.raw` input. We check that our
//!   walker finds the same structure and decoded bodies in both.
//!
//! Every disagreeing message must be listed in `tests/DIFFERENCES.md` (as
//! `` `suite:path` ``) with its reason, and the number of agreeing messages
//! per suite may not drop below the `*_AGREE` ratchets.
//!
//! `cargo test --release --test expected_suites -- --nocapture` prints the
//! per-suite table and every disagreement.

use std::path::{Path, PathBuf};

use filter::Limits;
use filter::decode::charset;
use filter::mime::{Decoder, Message, Origin, Part, PartKind};

mod common;
use common::{Json, JsonReader};

// Ratchets: messages that agreed when measured on 2026-11-28 (walker with
// the real params.rs; see tests/DIFFERENCES.md for every disagreement).
// Raise them as the walker improves; never lower one without a
// DIFFERENCES.md entry explaining why.
const STALWART_AGREE: usize = 80;
const STALWART_CRLF_AGREE: usize = 81;
const MIME4J_AGREE: usize = 59;
const ENMIME_AGREE: usize = 3;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/mime")
}

// ---------------------------------------------------------------------------
// The common shape both sides are reduced to.

/// What a suite expects of a body.
#[derive(Debug, Clone, PartialEq)]
enum Body {
    /// Not given, or a container.
    Unknown,
    /// Text after charset conversion.
    Text(String),
    /// Transfer-decoded bytes.
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Node {
    /// `type/subtype`, lower case; None when the suite does not say.
    ct: Option<String>,
    /// Some(name) when the suite says what the file name is (Some(None): none).
    filename: Option<Option<String>>,
    container: bool,
    body: Body,
    children: Vec<Node>,
}

fn flatten(n: &Node, out: &mut Vec<Node>) {
    let mut me = n.clone();
    me.children.clear();
    out.push(me);
    for c in &n.children {
        flatten(c, out);
    }
}

/// Our primary reading as a [`Node`] tree: both the transfer-decoded bytes
/// and their UTF-8 text are kept, for whichever the suite gives.
struct Ours {
    ct: String,
    filename: Option<String>,
    container: bool,
    bytes: Vec<u8>,
    text: String,
    encoded_message: bool,
    children: Vec<Ours>,
}

fn ours(msg: &Message<'_>, p: &Part<'_>, dec: &mut Decoder) -> Ours {
    let mut bytes = Vec::new();
    dec.decode(msg, p, &mut bytes);
    let text = charset::decode_to_utf8(&bytes, p.charset.as_deref())
        .0
        .into_owned();
    let children = msg
        .children(p)
        .filter(|c| !c.alternate && matches!(c.origin, Origin::Mime | Origin::Overflow))
        .map(|c| ours(msg, c, dec))
        .collect();
    Ours {
        ct: p.content_type(),
        filename: msg.filename(p).map(|f| f.into_owned()),
        container: p.kind != PartKind::Leaf,
        bytes,
        text,
        encoded_message: p.kind == PartKind::Leaf
            && p.is_type("message")
            && !p.encoding.is_identity(),
        children,
    }
}

fn flatten_ours<'o>(n: &'o Ours, out: &mut Vec<&'o Ours>) {
    out.push(n);
    for c in &n.children {
        flatten_ours(c, out);
    }
}

fn show(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(&b[..b.len().min(60)]).into_owned();
    format!("{s:?}{}", if b.len() > 60 { "…" } else { "" })
}

/// Compares a message; Err((category, detail)) on the first disagreement.
fn compare(data: &[u8], exp: &Node) -> Result<(), (&'static str, String)> {
    let msg = Message::parse(data);
    let mut dec = Decoder::new(&Limits::default());
    let tree = ours(&msg, msg.root(), &mut dec);
    let mut e = Vec::new();
    flatten(exp, &mut e);
    let mut o = Vec::new();
    flatten_ours(&tree, &mut o);
    let cts = |e: &[Node], o: &[&Ours]| {
        (
            e.iter()
                .map(|n| n.ct.clone().unwrap_or("?".into()))
                .collect::<Vec<_>>()
                .join(" "),
            o.iter().map(|n| n.ct.clone()).collect::<Vec<_>>().join(" "),
        )
    };
    if e.len() != o.len() {
        let (ec, oc) = cts(&e, &o);
        let cat = if o.iter().any(|n| n.encoded_message) {
            "encoded-message"
        } else {
            "part-count"
        };
        return Err((
            cat,
            format!(
                "expected {} parts [{ec}], we have {} [{oc}]",
                e.len(),
                o.len()
            ),
        ));
    }
    for (i, (e, o)) in e.iter().zip(&o).enumerate() {
        if let Some(ct) = &e.ct
            && *ct != o.ct
        {
            return Err((
                "content-type",
                format!("part {i}: expected {ct}, we have {}", o.ct),
            ));
        }
        if e.container != o.container {
            return Err((
                "part-kind",
                format!("part {i} ({}): expected container={}", o.ct, e.container),
            ));
        }
    }
    for (i, (e, o)) in e.iter().zip(&o).enumerate() {
        if let Some(f) = &e.filename
            && *f != o.filename
        {
            return Err((
                "filename",
                format!("part {i}: expected {f:?}, we have {:?}", o.filename),
            ));
        }
    }
    for (i, (e, o)) in e.iter().zip(&o).enumerate() {
        let (want, have) = match &e.body {
            Body::Unknown => continue,
            Body::Bytes(b) => (b.clone(), o.bytes.clone()),
            Body::Text(t) => {
                if o.text == *t || o.bytes == t.as_bytes() {
                    continue;
                }
                (t.as_bytes().to_vec(), o.text.as_bytes().to_vec())
            }
        };
        if want == have {
            continue;
        }
        let trim = |b: &[u8]| {
            let mut b = b.to_vec();
            while b.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
                b.pop();
            }
            b
        };
        let cat = if trim(&want) == trim(&have) {
            "body-trailing-newline"
        } else if want
            .iter()
            .filter(|&&c| c != b'\r')
            .eq(have.iter().filter(|&&c| c != b'\r'))
        {
            "body-line-endings"
        } else {
            "body-bytes"
        };
        return Err((
            cat,
            format!(
                "part {i} ({}): expected {} bytes {}, we have {} bytes {}",
                o.ct,
                want.len(),
                show(&want),
                have.len(),
                show(&have)
            ),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// stalwart: NNN.json is the serialised `Message` of mail-parser.

fn stalwart_node(msg: &Json, idx: usize, parent_digest: bool) -> Node {
    let part = &msg.get("parts").arr()[idx];
    let mut ct = None;
    let mut ct_name = None;
    let mut disp_name = None;
    for h in part.get("headers").arr() {
        let name = h.get("name").str().unwrap_or("");
        let attr = |key: &str| {
            h.get("value")
                .get("ContentType")
                .get("attributes")
                .arr()
                .iter()
                .find_map(|a| {
                    let n = a.get("name").str()?;
                    n.eq_ignore_ascii_case(key)
                        .then(|| a.get("value").str().map(str::to_string))
                        .flatten()
                })
        };
        if name == "content_type" && ct.is_none() {
            let c = h.get("value").get("ContentType");
            let t = c.get("c_type").str().unwrap_or("").to_ascii_lowercase();
            ct = Some(match c.get("c_subtype").str() {
                Some(s) => format!("{t}/{}", s.to_ascii_lowercase()),
                None => t,
            });
            ct_name = attr("name");
        } else if name == "content_disposition" && disp_name.is_none() {
            disp_name = attr("filename");
        }
    }
    let ct = ct.unwrap_or_else(|| {
        if parent_digest {
            "message/rfc822".into()
        } else {
            "text/plain".into()
        }
    });
    let digest = ct == "multipart/digest";
    let body = part.get("body");
    let mut node = Node {
        filename: Some(disp_name.or(ct_name).filter(|n| !n.trim().is_empty())),
        ct: Some(ct),
        container: false,
        body: Body::Unknown,
        children: Vec::new(),
    };
    let bytes = |v: &Json| {
        v.arr()
            .iter()
            .map(|n| n.num().unwrap_or(0.0) as u8)
            .collect::<Vec<u8>>()
    };
    if let Json::Obj(kv) = body {
        match (kv[0].0.as_str(), &kv[0].1) {
            ("Text" | "Html", v) => node.body = Body::Text(v.str().unwrap_or("").to_string()),
            ("Binary" | "InlineBinary", v) => node.body = Body::Bytes(bytes(v)),
            ("Multipart", v) => {
                node.container = true;
                for c in v.arr() {
                    node.children
                        .push(stalwart_node(msg, c.num().unwrap() as usize, digest));
                }
            }
            ("Message", inner) => {
                node.container = true;
                node.children.push(stalwart_node(inner, 0, false));
            }
            _ => {}
        }
    }
    node
}

/// Line endings as stalwart's test harness sets them: `NNN.json` is the
/// parse of the message with every CRLF turned into LF, `NNN.crlf.json` of
/// the message with every line ending made CRLF.
fn line_endings(data: &[u8], crlf: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 32);
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\r' && data.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        if data[i] == b'\n' && crlf {
            out.push(b'\r');
        }
        out.push(data[i]);
        i += 1;
    }
    out
}

fn stalwart_cases(crlf: bool) -> Vec<(String, Vec<u8>, Node)> {
    let root = corpus().join("stalwart/resources/eml");
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .expect("stalwart corpus")
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for eml in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "eml"))
        {
            let json = eml.with_extension(if crlf { "crlf.json" } else { "json" });
            let Ok(text) = std::fs::read_to_string(&json) else {
                continue;
            };
            let exp = stalwart_node(&JsonReader::parse(&text), 0, false);
            let suite = if crlf { "stalwart-crlf" } else { "stalwart" };
            let id = format!("{suite}:{}", eml.strip_prefix(&root).unwrap().display());
            out.push((id, line_endings(&std::fs::read(eml).unwrap(), crlf), exp));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// mime4j: X_decoded.xml is the parse tree; leaves name the decoded files.

#[derive(Debug)]
enum Tok {
    Open(String, Option<String>),
    Close(String),
    Text(String),
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn xml_tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(lt) = rest.find('<') {
        if lt > 0 {
            out.push(Tok::Text(unescape(&rest[..lt])));
        }
        let gt = rest[lt..].find('>').map(|g| lt + g).expect("unclosed tag");
        let tag = &rest[lt + 1..gt];
        if let Some(name) = tag.strip_prefix('/') {
            out.push(Tok::Close(name.trim().to_string()));
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().unwrap_or("").to_string();
            let attr = tag.find("name=\"").map(|i| {
                let v = &tag[i + 6..];
                unescape(&v[..v.find('"').unwrap_or(v.len())])
            });
            out.push(Tok::Open(name.clone(), attr));
            if self_closing {
                out.push(Tok::Close(name));
            }
        }
        rest = &rest[gt + 1..];
    }
    out
}

/// The media type a Content-Type field value names, as mime4j reads it:
/// `type/subtype` before the first `;`, else the default.
fn media_of(value: &str, default: &str) -> String {
    let v = value.split(';').next().unwrap_or("");
    let v: String = v.split_whitespace().collect::<Vec<_>>().join("");
    let v = v.to_ascii_lowercase();
    match v.split_once('/') {
        Some((t, s)) if !t.is_empty() && !s.is_empty() => v,
        _ => default.to_string(),
    }
}

/// Parses the entity at `toks[*i]` (its `<header>`), up to its end.
fn mime4j_entity(toks: &[Tok], i: &mut usize, dir: &Path, digest_child: bool) -> Node {
    let default = if digest_child {
        "message/rfc822"
    } else {
        "text/plain"
    };
    let mut node = Node {
        ct: None,
        filename: None,
        container: false,
        body: Body::Unknown,
        children: Vec::new(),
    };
    // <header> <field>…</field>* </header>
    while matches!(&toks[*i], Tok::Text(_)) {
        *i += 1;
    }
    assert!(
        matches!(&toks[*i], Tok::Open(n, _) if n == "header"),
        "expected <header>, got {:?}",
        toks[*i]
    );
    *i += 1;
    while !matches!(&toks[*i], Tok::Close(n) if n == "header") {
        if let Tok::Text(t) = &toks[*i] {
            let t = t.trim_start();
            if let Some((name, value)) = t.split_once(':')
                && name.trim().eq_ignore_ascii_case("content-type")
                && node.ct.is_none()
            {
                node.ct = Some(media_of(value, default));
            }
        }
        *i += 1;
    }
    *i += 1;
    let ct = node.ct.get_or_insert_with(|| default.to_string()).clone();
    // Then one body element.
    loop {
        match &toks[*i] {
            Tok::Text(_) => *i += 1,
            Tok::Open(n, attr) => {
                let n = n.clone();
                match n.as_str() {
                    "multipart" => {
                        node.container = true;
                        *i += 1;
                        loop {
                            match &toks[*i] {
                                Tok::Close(c) if c == "multipart" => break,
                                Tok::Open(c, _) if c == "body-part" => {
                                    *i += 1;
                                    let child =
                                        mime4j_entity(toks, i, dir, ct == "multipart/digest");
                                    node.children.push(child);
                                    skip_close(toks, i, "body-part");
                                }
                                Tok::Open(c, _) => {
                                    let c = c.clone();
                                    *i += 1;
                                    skip_close(toks, i, &c);
                                }
                                _ => *i += 1,
                            }
                        }
                        *i += 1;
                    }
                    "message" => {
                        node.container = true;
                        *i += 1;
                        while !matches!(&toks[*i], Tok::Open(..)) {
                            *i += 1;
                        }
                        node.children.push(mime4j_entity(toks, i, dir, false));
                        skip_close(toks, i, "message");
                    }
                    "text-body" | "binary-body" | "body" => {
                        if let Some(f) = attr
                            && let Ok(b) = std::fs::read(dir.join(f))
                        {
                            node.body = Body::Bytes(b);
                        }
                        *i += 1;
                        skip_close(toks, i, &n);
                    }
                    other => panic!("unexpected <{other}>"),
                }
                return node;
            }
            Tok::Close(_) => return node,
        }
    }
}

/// Skips to just past `</name>`, over nested elements of the same name.
fn skip_close(toks: &[Tok], i: &mut usize, name: &str) {
    let mut depth = 0;
    while *i < toks.len() {
        match &toks[*i] {
            Tok::Open(n, _) if n == name => depth += 1,
            Tok::Close(n) if n == name => {
                if depth == 0 {
                    *i += 1;
                    return;
                }
                depth -= 1;
            }
            _ => {}
        }
        *i += 1;
    }
}

fn mime4j_cases() -> Vec<(String, Vec<u8>, Node)> {
    let root = corpus().join("mime4j/core/src/test/resources");
    let mut out = Vec::new();
    for sub in ["testmsgs", "mimetools-testmsgs"] {
        let dir = root.join(sub);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("mime4j corpus")
            .flatten()
            .map(|e| e.path())
            .collect();
        files.sort();
        for msg in files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == "msg"))
        {
            let stem = msg.file_stem().unwrap().to_string_lossy();
            let Ok(xml) = std::fs::read_to_string(dir.join(format!("{stem}_decoded.xml"))) else {
                continue;
            };
            let toks = xml_tokens(&xml);
            let mut i = 0;
            while !matches!(&toks[i], Tok::Open(n, _) if n == "message") {
                i += 1;
            }
            i += 1;
            while !matches!(&toks[i], Tok::Open(..)) {
                i += 1;
            }
            let exp = mime4j_entity(&toks, &mut i, &dir, false);
            out.push((
                format!("mime4j:{sub}/{stem}.msg"),
                std::fs::read(msg).unwrap(),
                exp,
            ));
        }
    }
    out
}

// ---------------------------------------------------------------------------
// enmime: the parser-raw-content pairs (input and enmime's re-encoding).

fn our_node(data: &[u8]) -> Node {
    fn conv(o: &Ours) -> Node {
        Node {
            ct: Some(o.ct.clone()),
            filename: Some(o.filename.clone()),
            container: o.container,
            body: if o.container {
                Body::Unknown
            } else {
                Body::Bytes(o.bytes.clone())
            },
            children: o.children.iter().map(conv).collect(),
        }
    }
    let msg = Message::parse(data);
    let mut dec = Decoder::new(&Limits::default());
    conv(&ours(&msg, msg.root(), &mut dec))
}

fn enmime_cases() -> Vec<(String, Vec<u8>, Node)> {
    let dir = corpus().join("enmime/testdata/encode");
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("enmime corpus")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for golden in &files {
        let name = golden.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".golden") else {
            continue;
        };
        // `X.raw-option-true.raw.golden` is the re-encoding of `X.raw`.
        let Some(base) = stem
            .strip_suffix("-true.raw")
            .or_else(|| stem.strip_suffix("-false.raw"))
        else {
            continue;
        };
        let Ok(raw) = std::fs::read(dir.join(format!("{base}.raw"))) else {
            continue;
        };
        let exp = our_node(&std::fs::read(golden).unwrap());
        out.push((format!("enmime:testdata/encode/{name}"), raw, exp));
    }
    out
}

// ---------------------------------------------------------------------------

fn run(suite: &str, cases: Vec<(String, Vec<u8>, Node)>, ratchet: usize) -> Vec<String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/DIFFERENCES.md"))
            .expect("tests/DIFFERENCES.md");
    let total = cases.len();
    let mut agree = 0;
    let mut unlisted = Vec::new();
    println!("\n{suite}: disagreements");
    for (id, data, exp) in &cases {
        match compare(data, exp) {
            Ok(()) => agree += 1,
            Err((cat, detail)) => {
                println!("  `{id}` {cat}: {detail}");
                if !doc.contains(&format!("`{id}`")) {
                    unlisted.push(id.clone());
                }
            }
        }
    }
    println!("{suite}: {total} messages compared, {agree} agree (ratchet {ratchet})");
    assert!(total > 0, "{suite}: no cases found");
    assert!(
        agree >= ratchet,
        "{suite}: {agree} messages agree, fewer than the ratchet {ratchet}"
    );
    unlisted
}

#[test]
fn stalwart_expected_output() {
    let mut unlisted = run("stalwart", stalwart_cases(false), STALWART_AGREE);
    unlisted.extend(run(
        "stalwart-crlf",
        stalwart_cases(true),
        STALWART_CRLF_AGREE,
    ));
    assert!(
        unlisted.is_empty(),
        "disagreements not listed in tests/DIFFERENCES.md: {unlisted:#?}"
    );
}

#[test]
fn mime4j_expected_output() {
    let unlisted = run("mime4j", mime4j_cases(), MIME4J_AGREE);
    assert!(
        unlisted.is_empty(),
        "disagreements not listed in tests/DIFFERENCES.md: {unlisted:#?}"
    );
}

#[test]
fn enmime_reencoding_keeps_structure() {
    let unlisted = run("enmime", enmime_cases(), ENMIME_AGREE);
    assert!(
        unlisted.is_empty(),
        "disagreements not listed in tests/DIFFERENCES.md: {unlisted:#?}"
    );
}
