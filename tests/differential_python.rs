//! Differential test: our walker and decoders against Python's `email`
//! package over the SpamAssassin public corpus.
//!
//! `tests/python_email_dump.py` prints, for every message, the part tree
//! Python sees (depth-first, with content type, multipart-ness, file name and
//! the MD5 and length of `get_payload(decode=True)`). This test parses the
//! same files with [`Message::parse`], walks the *primary* reading only
//! (alternate readings and inline uuencode/yEnc/BinHex children are ours
//! alone; the latter are counted), decodes every leaf and compares part by
//! part. Every disagreement gets a stable kind name; the test fails when
//! agreement drops under [`MIN_AGREEMENT`] or when a kind shows up that
//! `tests/DIFFERENCES.md` does not explain.
//!
//! Fairness notes (see DIFFERENCES.md for the details):
//!
//! * RFC 2046 gives the line break before a boundary line to the boundary.
//!   Python's feedparser strips exactly one line break from the end of a
//!   part that a boundary ends; our body spans exclude it too. They must
//!   agree, so no normalisation is applied.
//! * Python's `get_payload(decode=True)` returns the raw body for every
//!   encoding but quoted-printable, base64 and uuencode; so do we for the
//!   identity encodings. yEnc and BinHex bodies are compared against
//!   Python's raw bytes and, where they differ, classified as such.
//!
//! Run with `cargo test --release --test differential_python -- --nocapture`
//! to see the table. If `python3` is not installed the test prints a notice
//! and passes.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use filter::Limits;
use filter::decode::Encoding;
use filter::defect::Defects;
use filter::mime::{Decoder, Message, Origin, Part, PartKind};

mod common;
use common::{Json, JsonReader};

/// Fraction of Python's parts that must agree with ours (content type,
/// multipart-ness and decoded bytes all equal).
const MIN_AGREEMENT: f64 = 0.995;

// ---------------------------------------------------------------------------
// MD5 (RFC 1321), small and slow; only for comparing digests with Python's.

fn md5(data: &[u8]) -> [u8; 16] {
    const S: [u32; 64] = [
        7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5,
        9, 14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10,
        15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
    ];
    // K[i] = floor(abs(sin(i + 1)) * 2^32)
    let k: Vec<u32> = (0..64)
        .map(|i| ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32)
        .collect();
    let (mut a0, mut b0, mut c0, mut d0) =
        (0x67452301u32, 0xefcdab89u32, 0x98badcfeu32, 0x10325476u32);
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    for chunk in msg.chunks_exact(64) {
        let m: Vec<u32> = chunk
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        let (mut a, mut b, mut c, mut d) = (a0, b0, c0, d0);
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let f = f.wrapping_add(a).wrapping_add(k[i]).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(f.rotate_left(S[i]));
        }
        a0 = a0.wrapping_add(a);
        b0 = b0.wrapping_add(b);
        c0 = c0.wrapping_add(c);
        d0 = d0.wrapping_add(d);
    }
    let mut out = [0u8; 16];
    for (i, w) in [a0, b0, c0, d0].iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&w.to_le_bytes());
    }
    out
}

fn md5_hex(data: &[u8]) -> String {
    md5(data).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn md5_known_answers() {
    assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(
        md5_hex(
            b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
        ),
        "57edf4a22be3c955ac49da2e2107b67a"
    );
}

// ---------------------------------------------------------------------------
// The two trees.

/// One part as Python sees it.
#[derive(Debug, Default)]
struct PyPart {
    ct: String,
    mp: bool,
    filename: Option<String>,
    cte: Option<String>,
    decoded: Option<(usize, String)>,
    raw: Option<(usize, String)>,
    children: Vec<PyPart>,
}

fn py_tree(parts: &[Json]) -> PyPart {
    // The dump is depth-first with depths; rebuild the nesting.
    fn build(parts: &[Json], i: &mut usize, depth: f64) -> PyPart {
        let j = &parts[*i];
        *i += 1;
        let pair = |len: &Json, md5: &Json| Some((len.num()? as usize, md5.str()?.to_string()));
        let mut p = PyPart {
            ct: j.get("ct").str().unwrap_or_default().to_string(),
            mp: j.get("mp") == &Json::Bool(true),
            filename: j.get("fn").str().map(str::to_string),
            cte: j.get("cte").str().map(str::to_string),
            decoded: pair(j.get("len"), j.get("md5")),
            raw: pair(j.get("rawlen"), j.get("rawmd5")),
            children: Vec::new(),
        };
        while *i < parts.len() && parts[*i].get("depth").num() == Some(depth + 1.0) {
            p.children.push(build(parts, i, depth + 1.0));
        }
        p
    }
    let mut i = 0;
    build(parts, &mut i, 0.0)
}

/// One part as we see it (primary reading only).
#[derive(Debug)]
struct OurPart {
    ct: String,
    kind: PartKind,
    filename: Option<String>,
    encoding: Encoding,
    /// A multipart whose close delimiter never came.
    missing_close: bool,
    /// A multipart whose boundary never occurs.
    boundary_not_found: bool,
    raw: Vec<u8>,
    decoded: Vec<u8>,
    children: Vec<OurPart>,
}

fn our_tree(msg: &Message<'_>, part: &Part<'_>, dec: &mut Decoder, inline: &mut usize) -> OurPart {
    let mut decoded = Vec::new();
    dec.decode(msg, part, &mut decoded);
    let mut children = Vec::new();
    for c in msg.children(part) {
        if c.alternate || c.origin == Origin::Alternate {
            continue;
        }
        if let Origin::Inline(_) = c.origin {
            *inline += 1;
            continue;
        }
        children.push(our_tree(msg, c, dec, inline));
    }
    OurPart {
        ct: part.content_type(),
        kind: part.kind,
        filename: msg.filename(part).map(|f| f.into_owned()),
        encoding: part.encoding,
        missing_close: part.defects.contains(Defects::MISSING_CLOSE_BOUNDARY),
        boundary_not_found: part.defects.contains(Defects::BOUNDARY_NOT_FOUND),
        raw: msg.body(part).to_vec(),
        decoded,
        children,
    }
}

fn size(p: &PyPart) -> usize {
    1 + p.children.iter().map(size).sum::<usize>()
}

fn our_size(p: &OurPart) -> usize {
    1 + p.children.iter().map(our_size).sum::<usize>()
}

// ---------------------------------------------------------------------------
// Classification.

fn digest_of(b: &[u8]) -> (usize, String) {
    (b.len(), md5_hex(b))
}

/// Why a leaf's decoded bytes differ, given both sides' raw and decoded
/// bodies.
fn bytes_kind(py: &PyPart, ours: &OurPart, unterminated: bool) -> &'static str {
    let py_raw = py.raw.as_ref();
    let same_raw = py_raw == Some(&digest_of(&ours.raw));
    if !same_raw {
        if unterminated {
            // The last part of a multipart with no close delimiter runs to
            // the end of the input. Python drops its final line break as if
            // a delimiter followed; we keep every byte.
            if let Some(r) = py_raw {
                for eol in [&b"\r\n"[..], b"\n", b"\r"] {
                    if ours.raw.ends_with(eol)
                        && digest_of(&ours.raw[..ours.raw.len() - eol.len()]) == *r
                    {
                        return "unterminated-last-part-newline";
                    }
                }
            }
        }
        // The body spans differ.
        if let Some(r) = py_raw {
            for (add, kind) in [
                (&b"\n"[..], "span-trailing-newline"),
                (b"\r\n", "span-trailing-newline"),
            ] {
                let mut v = ours.raw.clone();
                v.extend_from_slice(add);
                if &digest_of(&v) == r {
                    return kind;
                }
                if ours.raw.ends_with(add)
                    && &digest_of(&ours.raw[..ours.raw.len() - add.len()]) == r
                {
                    return kind;
                }
            }
            if r.0 > ours.raw.len() {
                return "span-shorter";
            }
            return "span-longer";
        }
        return "span-other";
    }
    // Same raw body: the decoders differ.
    let cte = py.cte.as_deref().unwrap_or("").to_ascii_lowercase();
    let py_dec = py.decoded.as_ref();
    let trailing_nl = py_dec.is_some_and(|d| {
        let mut v = ours.decoded.clone();
        v.push(b'\n');
        let plus = &digest_of(&v) == d;
        let minus = ours.decoded.ends_with(b"\n")
            && &digest_of(&ours.decoded[..ours.decoded.len() - 1]) == d;
        plus || minus
    });
    if cte != cte.trim() || (cte.trim() != cte.as_str()) {
        return "cte-lenient";
    }
    match ours.encoding {
        Encoding::Base64 if cte == "base64" => {
            if py_dec == Some(&digest_of(&ours.raw))
                || py_dec == Some(&digest_of(&strip_lines(&ours.raw)))
            {
                // Python gave up (length 1 mod 4) and returned the input.
                "base64-python-gave-up"
            } else if py_dec
                .is_some_and(|d| d.0 < ours.decoded.len() && digest_of(&ours.decoded[..d.0]) == *d)
            {
                // Python stops at the padding; we go on decoding what
                // follows it (a footer a list server appended, say).
                "base64-data-after-padding"
            } else if py_dec.is_some_and(|d| d.0 > ours.decoded.len()) {
                "base64-junk-shorter"
            } else {
                "base64-junk-longer"
            }
        }
        Encoding::QuotedPrintable if cte == "quoted-printable" => {
            if trailing_nl {
                "qp-trailing-newline"
            } else {
                qp_kind(&ours.raw)
            }
        }
        Encoding::Uuencode => "uuencode-decode",
        Encoding::Yenc => "yenc-not-in-python",
        Encoding::BinHex => "binhex-not-in-python",
        // We decoded an encoding Python does not know under that spelling.
        e if !e.is_identity() => "cte-lenient",
        _ if matches!(
            cte.as_str(),
            "base64" | "quoted-printable" | "x-uuencode" | "uuencode" | "uue" | "x-uue"
        ) =>
        {
            "cte-lenient"
        }
        _ => "identity-other",
    }
}

fn strip_lines(b: &[u8]) -> Vec<u8> {
    b.iter()
        .copied()
        .filter(|&c| c != b'\r' && c != b'\n')
        .collect()
}

/// What in a quoted-printable body makes the decoders disagree.
fn qp_kind(raw: &[u8]) -> &'static str {
    // `==` (a rule of equals signs, not escaped): Python's a2b_qp reads `==`
    // as one `=`; we keep a bad escape literally.
    if raw.windows(2).any(|w| w == b"==") {
        return "qp-equals-run";
    }
    let mut i = 0;
    while let Some(off) = raw[i..].iter().position(|&b| b == b'=') {
        let at = i + off;
        let next = &raw[at + 1..raw.len().min(at + 3)];
        let hex = next.len() == 2 && next.iter().all(u8::is_ascii_hexdigit);
        let soft = next.first().is_some_and(|&b| b == b'\r' || b == b'\n');
        if !hex && !soft && !next.is_empty() {
            return "qp-bad-escape";
        }
        i = at + 1;
    }
    for line in raw.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.ends_with(b" ") || line.ends_with(b"\t") {
            return "qp-trailing-whitespace";
        }
    }
    "qp-other"
}

fn ct_kind(py: &PyPart, ours: &OurPart) -> &'static str {
    if py.ct == "message/rfc822" && ours.ct == "text/plain" {
        "digest-default-type"
    } else if py.ct.contains(char::is_whitespace) && py.ct.starts_with(&ours.ct) {
        // `text/plain charset=us-ascii`: the `;` is missing. Python keeps
        // the whole thing as the type; we stop at the whitespace.
        "content-type-missing-semicolon"
    } else if py.ct == "text/plain" {
        // Python falls back to text/plain for a value that is not exactly
        // `type/subtype`; we are more lenient.
        "content-type-lenient"
    } else {
        "content-type-other"
    }
}

fn shape_kind(py: &PyPart, ours: &OurPart) -> &'static str {
    if py.mp != (ours.kind != PartKind::Leaf) {
        if py.ct.starts_with("message/") && ours.kind == PartKind::Leaf {
            if py.ct == "message/delivery-status" {
                return "delivery-status-blocks";
            }
            if py.ct != "message/rfc822" {
                return "message-subtype-parsed";
            }
            return "encoded-message";
        }
        if py.ct.starts_with("multipart/") {
            if !py.mp && ours.boundary_not_found {
                // The declared boundary never occurs: Python makes the part
                // a leaf; our primary reading is an empty multipart (its
                // body is the preamble) and the leaf is an alternate.
                return "boundary-not-found";
            }
            return if py.mp {
                "multipart-we-leaf"
            } else {
                "multipart-python-leaf"
            };
        }
        return "multipart-ness-other";
    }
    "child-count"
}

#[derive(Default)]
struct Tally {
    total: usize,
    agree: usize,
    kinds: BTreeMap<&'static str, (usize, Vec<String>)>,
    filename_total: usize,
    filename_agree: usize,
    filename_examples: Vec<String>,
}

impl Tally {
    fn miss(&mut self, kind: &'static str, n: usize, path: &str) {
        let e = self.kinds.entry(kind).or_default();
        e.0 += n;
        if !e.1.iter().any(|p| p == path) {
            e.1.push(path.to_string());
        }
    }
}

fn compare(py: &PyPart, ours: &OurPart, unterminated: bool, path: &str, t: &mut Tally) {
    t.total += 1;
    if py.filename.is_some() || ours.filename.is_some() {
        t.filename_total += 1;
        if py.filename == ours.filename {
            t.filename_agree += 1;
        } else if t.filename_examples.len() < 10 {
            t.filename_examples.push(format!(
                "{path}: python {:?}, ours {:?}",
                py.filename, ours.filename
            ));
        }
    }
    let shape_ok =
        py.mp == (ours.kind != PartKind::Leaf) && py.children.len() == ours.children.len();
    if !shape_ok {
        // The whole subtree counts against us.
        let kind = shape_kind(py, ours);
        let n = size(py);
        t.total += n - 1;
        t.miss(kind, n.max(our_size(ours)), path);
        return;
    }
    if py.ct != ours.ct {
        t.miss(ct_kind(py, ours), 1, path);
    } else if !py.mp && py.decoded != Some(digest_of(&ours.decoded)) {
        t.miss(bytes_kind(py, ours, unterminated), 1, path);
    } else {
        t.agree += 1;
    }
    let n = ours.children.len();
    for (i, (a, b)) in py.children.iter().zip(&ours.children).enumerate() {
        compare(a, b, ours.missing_close && i + 1 == n, path, t);
    }
}

// ---------------------------------------------------------------------------

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/spamassassin")
}

/// The stable kind names DIFFERENCES.md explains: every `` `kind-name` ``
/// in backquotes.
pub fn documented_kinds() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/DIFFERENCES.md"))
        .expect("tests/DIFFERENCES.md")
}

#[test]
fn agrees_with_python_email() {
    let root = corpus();
    let labels = std::fs::read_to_string(root.join("labels.tsv")).expect("spamassassin/labels.tsv");
    let paths: Vec<&str> = labels
        .lines()
        .filter_map(|l| l.split('\t').nth(1))
        .collect();
    assert!(
        paths.len() > 6000,
        "expected the corpus at {}",
        root.display()
    );

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python_email_dump.py");
    let child = Command::new("python3")
        .arg(&script)
        .current_dir(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!(
                "NOTICE: python3 not found; skipping the differential test against Python's email package"
            );
            return;
        }
        Err(e) => panic!("cannot run python3: {e}"),
    };
    {
        let mut stdin = child.stdin.take().unwrap();
        let list = paths.join("\n");
        // Write from a thread so a full stdout pipe cannot deadlock us.
        let w = std::thread::spawn(move || stdin.write_all(list.as_bytes()));
        let out = child.wait_with_output().expect("python3 output");
        w.join().unwrap().expect("write paths to python3");
        assert!(
            out.status.success(),
            "python_email_dump.py failed: {}",
            out.status
        );
        let text = String::from_utf8(out.stdout).expect("ASCII JSON");
        run(&root, &text);
    }
}

fn run(root: &Path, dump: &str) {
    let limits = Limits::default();
    let mut t = Tally::default();
    let (mut messages, mut messages_agree, mut inline) = (0usize, 0usize, 0usize);
    for line in dump.lines() {
        let j = JsonReader::parse(line);
        let path = j.get("path").str().unwrap().to_string();
        let data = std::fs::read(root.join(&path)).unwrap();
        messages += 1;
        if let Some(e) = j.get("error").str() {
            panic!("python failed on {path}: {e}");
        }
        let Json::Arr(parts) = j.get("parts") else {
            panic!("no parts for {path}")
        };
        let py = py_tree(parts);
        let msg = Message::parse_with(&data, &limits);
        let mut dec = Decoder::new(&limits);
        let ours = our_tree(&msg, msg.root(), &mut dec, &mut inline);
        let before = (t.total, t.agree);
        compare(&py, &ours, false, &path, &mut t);
        if t.total - before.0 == t.agree - before.1 {
            messages_agree += 1;
        }
    }
    assert_eq!(
        messages, 6046,
        "python dumped a different number of messages"
    );

    let agreement = t.agree as f64 / t.total as f64;
    println!();
    println!("differential vs Python email (compat32), spamassassin corpus");
    println!("  messages            {messages:>6}  fully agreeing {messages_agree:>6}");
    println!(
        "  parts (python)      {:>6}  agreeing {:>6}  = {:.3}%",
        t.total,
        t.agree,
        100.0 * agreement
    );
    println!("  inline blocks (ours only, not compared): {inline}");
    println!(
        "  file names (informational): {}/{} agree",
        t.filename_agree, t.filename_total
    );
    for e in &t.filename_examples {
        println!("      {e}");
    }
    println!();
    println!("  {:<32} {:>7} {:>9}  example", "kind", "parts", "messages");
    for (kind, (n, paths)) in &t.kinds {
        println!("  {:<32} {:>7} {:>9}  {}", kind, n, paths.len(), paths[0]);
    }
    if std::env::var_os("DIFF_VERBOSE").is_some() {
        for (kind, (_, paths)) in &t.kinds {
            for p in paths {
                println!("  {kind}\t{p}");
            }
        }
    }

    let doc = documented_kinds();
    let missing: Vec<_> = t
        .kinds
        .keys()
        .filter(|k| !doc.contains(&format!("`{k}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "disagreement kinds not explained in tests/DIFFERENCES.md: {missing:?}"
    );
    assert!(
        agreement >= MIN_AGREEMENT,
        "agreement with Python {:.3}% is below {:.1}%",
        100.0 * agreement,
        100.0 * MIN_AGREEMENT
    );
}
