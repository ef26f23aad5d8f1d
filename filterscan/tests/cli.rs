//! Runs the built `filterscan` binary on messages built here and on the
//! shared corpus.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_filterscan");

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!(
            "filterscan-test-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let p = std::env::temp_dir().join(name);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn path(&self) -> &Path {
        &self.0
    }
    fn write(&self, rel: &str, data: &[u8]) -> PathBuf {
        let p = self.0.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&p, data).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn run(args: &[&dyn AsRef<std::ffi::OsStr>], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(BIN);
    for a in args {
        cmd.arg(a);
    }
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn filterscan");
    if let Some(data) = stdin {
        let mut w = child.stdin.take().unwrap();
        w.write_all(data).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Runs `filterscan mime --json ARGS…`, asserts success and parses stdout.
fn json_ok(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Value {
    let mut all: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"mime", &"--json"];
    all.extend_from_slice(args);
    let out = run(&all, None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse(&out.stdout)
}

fn parse(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}): {}",
            String::from_utf8_lossy(&stdout[..stdout.len().min(2000)])
        )
    })
}

fn messages(v: &Value) -> &Vec<Value> {
    v["messages"].as_array().expect("messages array")
}

const MULTIPART: &[u8] = b"From: =?utf-8?q?Ren=C3=A9?= <rene@example.com>\r\n\
To: x@example.net\r\n\
Subject: =?utf-8?q?caf=C3=A9?= menu\r\n\
Date: Tue, 4 Jun 2024 09:00:00 +0000\r\n\
Message-ID: <m1@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"XX\"\r\n\
\r\n\
preamble\r\n\
--XX\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
hello\r\n\
--XX\r\n\
Content-Type: application/pdf; name=\"menu.pdf\"\r\n\
Content-Disposition: attachment; filename=\"menu.pdf\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQKJWZha2UK\r\n\
--XX--\r\n";

#[test]
fn multipart_with_base64_attachment() {
    let t = TempDir::new("multipart");
    let f = t.write("m.eml", MULTIPART);
    let v = json_ok(&[&f]);
    let msgs = messages(&v);
    assert_eq!(msgs.len(), 1);
    let m = &msgs[0];
    assert_eq!(m["path"], f.to_string_lossy().as_ref());
    assert!(m["index"].is_null());
    assert_eq!(m["headers"]["subject"], "café menu");
    assert_eq!(m["headers"]["message_id"], "<m1@example.com>");
    assert_eq!(m["headers"]["date"], "Tue, 4 Jun 2024 09:00:00 +0000");
    assert!(m["headers"]["from"].as_str().unwrap().contains("René"));
    assert!(
        m["defects"].as_array().unwrap().is_empty(),
        "{}",
        m["defects"]
    );

    let parts = m["parts"].as_array().unwrap();
    assert_eq!(parts.len(), 3);
    let root = &parts[0];
    assert_eq!(root["index"], 0);
    assert!(root["parent"].is_null());
    assert_eq!(root["depth"], 0);
    assert_eq!(root["content_type"], "multipart/mixed");
    assert_eq!(root["kind"], "multipart");
    assert_eq!(root["boundary"], "XX");
    assert!(root["decoded_size"].is_null());
    assert!(root["sniffed"].is_null());

    let text = &parts[1];
    assert_eq!(text["content_type"], "text/plain");
    assert_eq!(text["kind"], "leaf");
    assert_eq!(text["parent"], 0);
    assert_eq!(text["depth"], 1);
    assert_eq!(text["charset"], "utf-8");
    assert_eq!(text["size"], 5);
    assert_eq!(text["decoded_size"], 5);
    assert_eq!(text["sniffed"], "text");
    assert_eq!(text["origin"], "mime");
    assert_eq!(text["alternate"], false);

    let pdf = &parts[2];
    assert_eq!(pdf["content_type"], "application/pdf");
    assert_eq!(pdf["encoding"], "base64");
    assert_eq!(pdf["filename"], "menu.pdf");
    assert_eq!(pdf["size"], 20);
    assert_eq!(pdf["decoded_size"], 15);
    assert_eq!(pdf["sniffed"], "pdf");
    assert!(pdf["defects"].as_array().unwrap().is_empty());

    assert_eq!(v["summary"]["messages"], 1);
    assert_eq!(v["summary"]["parts"], 3);
    assert!(v["summary"]["defects"].as_object().unwrap().is_empty());
}

#[test]
fn human_output_is_one_line_per_part() {
    let t = TempDir::new("human");
    let f = t.write("m.eml", MULTIPART);
    let out = run(&[&"mime", &f], None);
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = s.lines().collect();
    assert_eq!(lines[0], f.to_string_lossy());
    assert_eq!(lines[1], "  defects: none");
    assert!(
        lines[2].starts_with("  [0] multipart/mixed multipart 7bit size="),
        "{s}"
    );
    assert!(
        lines[3].starts_with(
            "    [1] text/plain leaf 7bit size=5 decoded=5 sniffed=text charset=utf-8"
        ),
        "{s}"
    );
    assert_eq!(
        lines[4],
        "    [2] application/pdf leaf base64 name=\"menu.pdf\" size=20 decoded=15 sniffed=pdf"
    );
    assert!(s.trim_end().ends_with("1 messages, 3 parts"), "{s}");
}

const MBOX: &[u8] = b"From alice@example.com Mon Jan  1 00:00:00 2024\n\
Subject: one\n\
\n\
first body\n\
\n\
From bob@example.com Mon Jan  1 00:00:01 2024\n\
Subject: two\n\
\n\
quoted line follows\n\
>From the archive\n\
>>From deeper\n\
\n\
From carol@example.com Mon Jan  1 00:00:02 2024\n\
Subject: three\n\
Content-Type: text/plain\n\
\n\
third\n";

#[test]
fn mbox_of_three_messages_is_split_and_unquoted() {
    let t = TempDir::new("mbox");
    let f = t.write("box.mbox", MBOX);
    let dir = t.path().join("out");
    let v = json_ok(&[&f, &"--extract", &dir]);
    let msgs = messages(&v);
    assert_eq!(msgs.len(), 3);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(m["index"], i + 1);
        assert_eq!(m["seq"], i + 1);
        assert_eq!(m["path"], f.to_string_lossy().as_ref());
    }
    let subjects: Vec<_> = msgs
        .iter()
        .map(|m| m["headers"]["subject"].as_str().unwrap())
        .collect();
    assert_eq!(subjects, ["one", "two", "three"]);

    // The second body, unquoted one level, without the separator line.
    let body = b"quoted line follows\nFrom the archive\n>From deeper\n";
    assert_eq!(msgs[1]["parts"][0]["decoded_size"], body.len());
    let name = msgs[1]["parts"][0]["extracted"].as_str().unwrap();
    assert_eq!(name, "msg2-0-part.txt");
    assert_eq!(fs::read(dir.join(name)).unwrap(), body);
    assert_eq!(
        fs::read(dir.join("msg1-0-part.txt")).unwrap(),
        b"first body\n"
    );
    assert_eq!(fs::read(dir.join("msg3-0-part.txt")).unwrap(), b"third\n");

    // Human output numbers the messages.
    let out = run(&[&"mime", &f], None);
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains(&format!("{}#3\n", f.to_string_lossy())), "{s}");
}

#[test]
fn maildir_reads_cur_and_new_only() {
    let t = TempDir::new("maildir");
    let md = t.path().join("Mail");
    t.write(
        "Mail/cur/1700000000.1.host:2,S",
        b"Subject: cur one\n\nbody\n",
    );
    t.write("Mail/new/1700000001.2.host", b"Subject: new one\n\nbody\n");
    t.write("Mail/new/.hidden", b"Subject: hidden\n\nbody\n");
    t.write("Mail/tmp/1700000002.3.host", b"Subject: in tmp\n\nbody\n");
    let v = json_ok(&[&md]);
    let subjects: Vec<_> = messages(&v)
        .iter()
        .map(|m| m["headers"]["subject"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(subjects, ["cur one", "new one"]);
}

#[test]
fn directories_are_walked_recursively_in_order() {
    let t = TempDir::new("walk");
    t.write("b/2.eml", b"Subject: b2\n\nx\n");
    t.write("a.eml", b"Subject: a\n\nx\n");
    t.write("b/1.eml", b"Subject: b1\n\nx\n");
    t.write(
        "c/box",
        b"From x\nSubject: c1\n\nx\n\nFrom y\nSubject: c2\n\ny\n",
    );
    t.write("d/md/cur/m1", b"Subject: md\n\nx\n");
    fs::create_dir_all(t.path().join("d/md/new")).unwrap();
    t.write("d/md/tmp/m2", b"Subject: md-tmp\n\nx\n");
    t.write("empty", b"");
    let v = json_ok(&[&t.path()]);
    let subjects: Vec<_> = messages(&v)
        .iter()
        .map(|m| m["headers"]["subject"].as_str().unwrap_or("-").to_string())
        .collect();
    assert_eq!(subjects, ["a", "b1", "b2", "c1", "c2", "md", "-"]);
    assert_eq!(v["summary"]["messages"], 7);
}

#[test]
fn stdin_is_read_for_dash() {
    let out = run(&[&"mime", &"--json", &"-"], Some(MULTIPART));
    assert_eq!(out.status.code(), Some(0));
    let v = parse(&out.stdout);
    assert_eq!(messages(&v)[0]["path"], "-");
    assert_eq!(messages(&v)[0]["parts"].as_array().unwrap().len(), 3);
}

#[test]
fn io_errors_exit_2_and_continue() {
    let t = TempDir::new("ioerr");
    let f = t.write("m.eml", MULTIPART);
    let missing = t.path().join("does-not-exist");
    let out = run(&[&"mime", &"--json", &missing, &f], None);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!("filterscan: {}: ", missing.to_string_lossy())),
        "{err}"
    );
    let v = parse(&out.stdout);
    assert_eq!(messages(&v).len(), 1);
    assert_eq!(v["summary"]["messages"], 1);
}

#[test]
fn limits_can_be_lowered() {
    let mut m = b"Content-Type: multipart/mixed; boundary=b\n\n".to_vec();
    for i in 0..6 {
        m.extend_from_slice(format!("--b\nContent-Type: text/plain\n\npart {i}\n").as_bytes());
    }
    m.extend_from_slice(b"--b--\n");
    let t = TempDir::new("limits");
    let f = t.write("m.eml", &m);
    let v = json_ok(&[&"--max-parts", &"3", &f]);
    let msg = &messages(&v)[0];
    assert!(
        msg["defects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "PART_LIMIT"),
        "{msg}"
    );
    // Past the limit the rest of the body is one overflow leaf.
    let parts = msg["parts"].as_array().unwrap();
    assert!(parts.len() <= 4, "{msg}");
    assert_eq!(parts.last().unwrap()["origin"], "overflow");
    assert_eq!(v["summary"]["defects"]["PART_LIMIT"], 1);

    let deep = b"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\n\
Content-Type: message/rfc822\n\nSubject: x\n\nbody\n";
    let f = t.write("deep.eml", deep);
    let v = json_ok(&[&"--max-depth", &"1", &f]);
    let msg = &messages(&v)[0];
    assert!(
        msg["defects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "NESTING_LIMIT"),
        "{msg}"
    );
    let v = json_ok(&[&f]);
    assert!(
        !messages(&v)[0]["defects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "NESTING_LIMIT")
    );
}

#[test]
fn non_utf8_strings_still_give_valid_json() {
    let m = b"Subject: caf\xe9 \xff\xfe\n\
Content-Type: multipart/mixed; boundary=\"b\xe9\"\n\n\
--b\xe9\n\
Content-Type: application/octet-stream; name=\"na\xefve\xff.bin\"; charset=\"x\xff\"\n\n\
\x00\x01\xff\n\
--b\xe9--\n";
    let t = TempDir::new("nonutf8");
    let f = t.write("m.eml", m);
    let v = json_ok(&[&f]);
    let msg = &messages(&v)[0];
    assert!(
        msg["headers"]["subject"]
            .as_str()
            .unwrap()
            .starts_with("caf")
    );
    let parts = msg["parts"].as_array().unwrap();
    assert!(parts[0]["boundary"].is_string());
    // And the text output escapes whatever it prints.
    let out = run(&[&"mime", &f], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(std::str::from_utf8(&out.stdout).is_ok());
}

/// A message whose parts carry hostile file names.
fn hostile_message() -> (Vec<u8>, usize) {
    let names: &[&[u8]] = &[
        b"filename=\"../../etc/passwd\"",
        b"filename=\"/abs\"",
        b"filename=\"C:\\\\x\"",
        b"filename=\"..\"",
        b"filename=\".\"",
        b"filename=\"...\"",
        b"filename*=utf-8''a%00b%2F..%2Fc",
        b"filename*=utf-8''evil%E2%80%AEfdp.exe",
        b"filename=\"..\\\\..\\\\windows\\\\system32\\\\x.dll\"",
        b"filename=\"=?utf-8?q?=2E=2E=2F=2E=2E=2Fenc?=\"",
        b"filename=\"\x00\"",
        b"filename=\"nested/dir/file.txt\"",
        b"filename=\"same.txt\"",
        b"filename=\"same.txt\"",
    ];
    let long = format!("filename=\"{}.txt\"", "A/".repeat(400));
    let mut m = b"Content-Type: multipart/mixed; boundary=zz\n\n".to_vec();
    let mut n = 0;
    for cd in names.iter().copied().chain([long.as_bytes()]) {
        m.extend_from_slice(
            b"--zz\nContent-Type: application/octet-stream\nContent-Disposition: attachment; ",
        );
        m.extend_from_slice(cd);
        m.extend_from_slice(b"\n\npayload\n");
        n += 1;
    }
    m.extend_from_slice(b"--zz--\n");
    (m, n)
}

fn is_safe_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 140
        && !name.starts_with('.')
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

#[test]
fn extraction_never_leaves_the_directory() {
    let t = TempDir::new("hostile");
    let (m, n) = hostile_message();
    let f = t.write("in/hostile.eml", &m);
    // DIR is two levels deep so that `../..` would still land inside `t`.
    let dir = t.path().join("a/b/out");

    #[cfg(unix)]
    {
        // A link planted where the first part would go must not be followed.
        fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(t.path().join("victim"), dir.join("msg1-1-_._etc_passwd"))
            .unwrap();
    }

    let v = json_ok(&[&"--extract", &dir, &f]);
    let parts = messages(&v)[0]["parts"].as_array().unwrap();
    let leaves: Vec<_> = parts.iter().filter(|p| p["kind"] == "leaf").collect();
    assert_eq!(leaves.len(), n);
    for p in &leaves {
        let name = p["extracted"].as_str().expect("every leaf extracted");
        assert!(is_safe_name(name), "unsafe name {name:?}");
        assert_eq!(fs::read(dir.join(name)).unwrap(), b"payload", "{name}");
    }

    let check = |expect: usize| {
        // Only the input and the output directory exist under `t`.
        let mut top: Vec<_> = fs::read_dir(t.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        top.sort();
        assert_eq!(top, ["a", "in"]);
        assert_eq!(fs::read_dir(t.path().join("in")).unwrap().count(), 1);
        assert_eq!(fs::read_dir(t.path().join("a")).unwrap().count(), 1);
        assert_eq!(fs::read_dir(t.path().join("a/b")).unwrap().count(), 1);
        let mut files = 0;
        for e in fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let ft = e.file_type().unwrap();
            if ft.is_symlink() {
                assert_eq!(name, "msg1-1-_._etc_passwd");
                continue;
            }
            assert!(ft.is_file(), "{name} is not a plain file");
            assert!(is_safe_name(&name), "unsafe name {name:?}");
            files += 1;
        }
        assert_eq!(files, expect);
        assert!(!t.path().join("victim").exists(), "symlink was followed");
    };
    check(n);

    // The two `same.txt` parts do not collide, and neither does a second run.
    let names: Vec<_> = leaves
        .iter()
        .map(|p| p["extracted"].as_str().unwrap())
        .collect();
    let mut dedup = names.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), names.len());
    let first = fs::read(dir.join(names[0])).unwrap();
    let v2 = json_ok(&[&"--extract", &dir, &f]);
    let names2: Vec<_> = messages(&v2)[0]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "leaf")
        .map(|p| p["extracted"].as_str().unwrap().to_string())
        .collect();
    for n2 in &names2 {
        assert!(!names.contains(&n2.as_str()), "{n2} overwritten");
    }
    assert_eq!(fs::read(dir.join(names[0])).unwrap(), first);
    check(2 * n);
}

#[test]
fn sample_message_from_readme() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/sample.eml");
    let v = json_ok(&[&sample]);
    let m = &messages(&v)[0];
    assert_eq!(m["headers"]["subject"], "Quarterly report – sample");
    let parts = m["parts"].as_array().unwrap();
    let types: Vec<_> = parts
        .iter()
        .map(|p| p["content_type"].as_str().unwrap())
        .collect();
    for t in [
        "multipart/mixed",
        "multipart/alternative",
        "text/html",
        "application/pdf",
        "message/rfc822",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    let pdf = parts
        .iter()
        .find(|p| p["filename"] == "report.pdf")
        .unwrap();
    assert_eq!(pdf["sniffed"], "pdf");
    assert_eq!(pdf["encoding"], "base64");
    let rfc822 = parts
        .iter()
        .position(|p| p["content_type"] == "message/rfc822")
        .unwrap();
    assert_eq!(parts[rfc822]["kind"], "message");
    assert_eq!(parts[rfc822 + 1]["parent"], rfc822);
}

fn count_files(dir: &Path) -> usize {
    let mut n = 0;
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let ft = e.file_type().unwrap();
        if ft.is_dir() {
            n += count_files(&e.path());
        } else if ft.is_file() {
            n += 1;
        }
    }
    n
}

fn corpus(sub: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus")
        .join(sub);
    if !dir.is_dir() {
        eprintln!("skipping: {} not found", dir.display());
        return;
    }
    let files = count_files(&dir);
    let v = json_ok(&[&dir]);
    let n = messages(&v).len();
    assert!(n >= files, "{n} messages from {files} files");
    assert_eq!(v["summary"]["messages"], n);
    for m in messages(&v) {
        assert!(!m["parts"].as_array().unwrap().is_empty());
    }
}

#[test]
fn corpus_mime_is_valid_json() {
    corpus("mime");
}

#[test]
fn corpus_spamassassin_is_valid_json() {
    corpus("spamassassin");
}

#[test]
fn corpus_spamassassin_tdata_is_valid_json() {
    corpus("spamassassin-tdata");
}

#[test]
fn encoded_message_is_decoded_and_walked() {
    // A message/rfc822 part in base64 holding "Subject: in\r\n\r\nbody".
    let inner = "U3ViamVjdDogaW4NCg0KYm9keQ==";
    let raw = format!(
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n{inner}\r\n--b--\r\n"
    );
    let t = TempDir::new("encoded-message");
    let f = t.write("m.eml", raw.as_bytes());
    let v = json_ok(&[&f]);
    let parts = messages(&v)[0]["parts"].as_array().unwrap();
    let kinds: Vec<_> = parts
        .iter()
        .map(|p| {
            (
                p["content_type"].as_str().unwrap(),
                p["depth"].as_u64().unwrap(),
                p["parent"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("multipart/mixed", 0, None),
            ("message/rfc822", 1, Some(0)),
            ("text/plain", 2, Some(1))
        ]
    );
    assert_eq!(parts[2]["decoded_size"], 4);
    assert!(
        messages(&v)[0]["defects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "CTE_ON_COMPOSITE")
    );
}

// ---- `filterscan scan` ----

/// The EICAR test file, assembled at run time (never stored whole).
fn eicar() -> Vec<u8> {
    [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-",
        "ANTIVIRUS-",
        "TEST-FILE!$H+H*",
    ]
    .concat()
    .into_bytes()
}

fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for (i, c) in data.chunks(3).enumerate() {
        if i > 0 && i % 19 == 0 {
            out.push_str("\r\n");
        }
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            out.push(if k <= c.len() {
                A[(n >> (18 - 6 * k) & 63) as usize] as char
            } else {
                '='
            });
        }
    }
    out
}

/// A message with `data` as a base64 attachment called `name`.
fn with_attachment(name: &str, data: &[u8]) -> Vec<u8> {
    format!(
        "From: a@example.com\r\nTo: b@example.net\r\nSubject: att\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhi\r\n\
--b1\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n\
Content-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
{}\r\n--b1--\r\n",
        b64(data)
    )
    .into_bytes()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn scan_finds_eicar_with_the_embedded_defaults() {
    let t = TempDir::new("scan-eicar");
    let f = t.write("eicar.com", &eicar());
    let clean = t.write("clean.txt", b"nothing to see here, move along\n");
    let out = run(&[&"scan", &f, &clean], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!("{}: Win.Test.EICAR_HDB-1 FOUND", f.display())
    );
    assert_eq!(lines[1], format!("{}: OK", clean.display()));
    assert!(stdout.contains("\n----------- SCAN SUMMARY -----------\n"));
    assert!(stdout.contains("\nScanned files: 2\n"), "{stdout}");
    assert!(stdout.contains("\nInfected files: 1\n"), "{stdout}");
    assert!(stdout.contains("\nEngine version: libfilter "), "{stdout}");
    assert!(stdout.contains("\nData scanned: "), "{stdout}");
    let known = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Known viruses: "))
        .expect("Known viruses line");
    assert!(known.parse::<u64>().unwrap() >= 1, "{known}");
}

#[test]
fn scan_of_clean_files_exits_0() {
    let t = TempDir::new("scan-clean");
    let f = t.write("a.txt", b"hello there, plain text\n");
    let m = t.write("m.eml", MULTIPART);
    let out = run(&[&"scan", &f, &m], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.starts_with(&format!("{}: OK\n{}: OK\n", f.display(), m.display())));
    assert!(stdout.contains("\nInfected files: 0\n"));
}

#[test]
fn scan_finds_eicar_in_an_attachment_and_in_mbox_messages() {
    let t = TempDir::new("scan-mbox");
    let infected = with_attachment("eicar.com", &eicar());
    let mut mbox = b"From a@example.com Mon Jun  3 10:00:00 2024\n".to_vec();
    mbox.extend_from_slice(
        b"From: a@example.com\nTo: b@example.net\nSubject: one\n\nclean body\n\n",
    );
    mbox.extend_from_slice(b"From b@example.com Mon Jun  3 10:01:00 2024\n");
    mbox.extend_from_slice(&infected);
    let f = t.write("box.mbox", &mbox);
    let e = t.write("att.eml", &infected);
    let out = run(&[&"scan", &f, &e], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("{}#1: OK", f.display()));
    assert!(
        lines[1].starts_with(&format!("{}#2: ", f.display())) && lines[1].ends_with(" FOUND"),
        "{stdout}"
    );
    assert!(lines[2].starts_with(&format!("{}: ", e.display())) && lines[2].ends_with(" FOUND"));
    assert!(stdout.contains("\nScanned files: 3\n"), "{stdout}");
    assert!(stdout.contains("\nInfected files: 2\n"), "{stdout}");
}

#[test]
fn scan_json_is_one_object_per_line() {
    let t = TempDir::new("scan-json");
    let f = t.write("eicar.com", &eicar());
    let clean = t.write("clean.txt", b"nothing to see here\n");
    let out = run(&[&"scan", &"--json", &f, &clean], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let objs: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(objs.len(), 3, "{stdout}");
    assert_eq!(objs[0]["path"], f.to_string_lossy().as_ref());
    assert_eq!(objs[0]["verdict"], "FOUND");
    let d = &objs[0]["detections"][0];
    assert_eq!(d["name"], "Win.Test.EICAR_HDB-1");
    assert_eq!(d["kind"], "signature");
    assert_eq!(d["location"], "");
    assert_eq!(objs[1]["verdict"], "OK");
    assert!(objs[1]["detections"].as_array().unwrap().is_empty());
    assert_eq!(objs[2]["summary"]["scanned_files"], 2);
    assert_eq!(objs[2]["summary"]["infected_files"], 1);
}

#[test]
fn scan_with_db_uses_only_that_database() {
    let t = TempDir::new("scan-db");
    // "cli-test-body" in hex.
    let db = t.write(
        "db/local.ndb",
        b"Test.Cli.Body:0:*:636c692d746573742d626f6479\n",
    );
    let f = t.write("s/hit.txt", b"this has cli-test-body inside\n");
    let e = t.write("s/eicar.com", &eicar());
    let dir = db.parent().unwrap();
    let out = run(&[&"scan", &"--db", &dir, &f, &e], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!("{}: Test.Cli.Body.UNOFFICIAL FOUND", f.display())
    );
    assert_eq!(
        lines[1],
        format!("{}: OK", e.display()),
        "no defaults with --db"
    );
    assert!(stdout.contains("\nKnown viruses: 1\n"), "{stdout}");

    let out = run(&[&"scan", &"--db", &db, &"--defaults", &e], None);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.starts_with(&format!("{}: Win.Test.EICAR_HDB-1 FOUND\n", e.display())));
}

#[test]
fn scan_walks_directories() {
    let t = TempDir::new("scan-dir");
    t.write("d/a/1.txt", b"first clean file\n");
    t.write("d/b/2.com", &eicar());
    t.write("d/c.txt", b"another clean file\n");
    let out = run(&[&"scan", &t.path().join("d")], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let verdicts: Vec<&str> = stdout
        .lines()
        .take(3)
        .map(|l| l.rsplit(": ").next().unwrap())
        .collect();
    assert_eq!(
        verdicts,
        ["OK", "Win.Test.EICAR_HDB-1 FOUND", "OK"],
        "{stdout}"
    );
}

#[test]
fn scan_load_errors_warn_and_strict_makes_them_fatal() {
    let t = TempDir::new("scan-bad-db");
    let db = t.write(
        "bad.ndb",
        b"Test.Good:0:*:676f6f642d626f6479\nTest.Bad:0:*:zz-not-hex\n",
    );
    let f = t.write("hit.txt", b"has good-body in it\n");
    let out = run(&[&"scan", &"--db", &db, &f], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.contains("bad.ndb:2: "), "{stderr}");
    assert!(stdout.contains("Test.Good.UNOFFICIAL FOUND"), "{stdout}");
    assert!(stdout.contains("\nLoad errors: 1\n"), "{stdout}");

    let out = run(&[&"scan", &"--strict", &"--db", &db, &f], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("bad.ndb:2: "), "{stderr}");
}

#[test]
fn scan_errors_exit_2() {
    let t = TempDir::new("scan-missing");
    let f = t.write("ok.txt", b"fine fine fine\n");
    let out = run(&[&"scan", &t.path().join("missing.eml"), &f], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!("{}: OK", f.display())),
        "continues"
    );
    assert!(stderr.contains("missing.eml"), "{stderr}");
    let out = run(&[&"scan", &"--db", &t.path().join("no-such.ndb"), &f], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn scan_policy_can_be_turned_off() {
    let t = TempDir::new("scan-policy");
    // A tiny PE attached as an .exe.
    let mut pe = vec![0u8; 0x200];
    pe[0..2].copy_from_slice(b"MZ");
    pe[0x3c] = 0x40;
    pe[0x40..0x44].copy_from_slice(b"PE\0\0");
    pe[0x44..0x46].copy_from_slice(&0x14cu16.to_le_bytes());
    let m = t.write("exe.eml", &with_attachment("invoice.exe", &pe));
    let out = run(&[&"scan", &"--json", &m], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let v: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(v["detections"][0]["kind"], "heuristic", "{v}");
    let out = run(&[&"scan", &"--no-policy", &m], None);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.starts_with(&format!("{}: OK\n", m.display())));
}

#[test]
fn scan_reads_stdin() {
    let out = run(&[&"scan", &"-"], Some(&eicar()));
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.starts_with("-: Win.Test.EICAR_HDB-1 FOUND\n"),
        "{stdout}"
    );
}

/// `--files-from -`: each empty line is answered (the messages before it,
/// then an empty line) while the pipe stays open, so one process can
/// serve another; the names given as arguments come first.
#[test]
fn scan_files_from_answers_each_empty_line_before_the_next_is_asked() {
    use std::io::{BufRead, BufReader};
    let t = TempDir::new("scan-files-from");
    let clean = t.write("clean.eml", MULTIPART);
    let infected = t.write("att.eml", &with_attachment("eicar.com", &eicar()));
    let first = t.write("first.txt", b"given as an argument\n");
    let missing = t.path().join("does-not-exist");
    let mut child = Command::new(BIN)
        .args(["scan", "--files-from", "-"])
        .arg(&first)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn filterscan");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // Everything up to the next empty line of output.
    let mut answer = |names: &[&Path]| -> Vec<String> {
        for n in names {
            writeln!(stdin, "{}", n.display()).unwrap();
        }
        writeln!(stdin).unwrap();
        stdin.flush().unwrap();
        let mut lines = Vec::new();
        loop {
            let mut l = String::new();
            assert_ne!(stdout.read_line(&mut l).unwrap(), 0, "output ended");
            if l == "\n" {
                return lines;
            }
            lines.push(l.trim_end().to_string());
        }
    };
    assert_eq!(
        answer(&[&clean]),
        [
            format!("{}: OK", first.display()),
            format!("{}: OK", clean.display())
        ]
    );
    let second = answer(&[&missing, &infected]);
    assert_eq!(second.len(), 1, "{second:?}");
    assert!(
        second[0].starts_with(&format!("{}: ", infected.display()))
            && second[0].ends_with(" FOUND"),
        "{second:?}"
    );
    assert_eq!(answer(&[]), Vec::<String>::new());
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    // The missing file is reported and the scan goes on; exit 2 says so.
    assert_eq!(status.code(), Some(2), "{rest}{err}");
    assert!(err.contains(&missing.display().to_string()), "{err}");
    assert!(rest.contains("\nScanned files: 3\n"), "{rest}");
    assert!(rest.contains("\nInfected files: 1\n"), "{rest}");
}

#[test]
fn scan_calls_the_sample_spam_spam_with_the_default_rules() {
    let offer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/offer.eml");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/sample.eml");
    let out = run(&[&"scan", &offer, &sample], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!("{}: Spam FOUND (score=", offer.display())),
        "{stdout}"
    );
    assert!(lines[0].contains("LF_PHARMA"), "{stdout}");
    assert_eq!(lines[1], format!("{}: OK", sample.display()));
    assert!(stdout.contains("\nSpam messages: 1\n"), "{stdout}");

    let out = run(&[&"scan", &"--json", &offer], None);
    let first_line = out.stdout.split(|&b| b == b'\n').next().unwrap();
    let first = parse(first_line);
    let spam = &first["spam"];
    assert_eq!(spam["is_spam"], true, "{first}");
    assert_eq!(spam["required"], 5.0);
    assert!(spam["score"].as_f64().unwrap() >= 5.0);
    assert!(
        spam["symbols"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "LF_PHARMA")
    );
}

#[test]
fn scan_with_rules_uses_only_those_rules() {
    let t = TempDir::new("scan-rules");
    let cf = t.write(
        "local.cf",
        b"header LOCAL_HELLO Subject =~ /\\bhello\\b/i\ndescribe LOCAL_HELLO says hello\nscore LOCAL_HELLO 5.5\n",
    );
    let m = t.write(
        "m.eml",
        b"From: a@example.com\nSubject: Hello there\n\nbody\n",
    );
    let out = run(&[&"scan", &"--rules", &cf, &m], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(
        stdout.lines().next().unwrap(),
        format!(
            "{}: Spam FOUND (score=5.5 required=5.0 tests=LOCAL_HELLO)",
            m.display()
        )
    );
    assert!(stdout.contains("\nSpam rules: 1\n"), "{stdout}");
}

#[test]
fn rules_check_reports_what_loaded_and_what_did_not() {
    let out = run(&[&"rules", &"--check"], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("skipped lines: 0\n"), "{stdout}");
    assert!(stdout.contains("unimplemented eval rules: 0 "), "{stdout}");

    let t = TempDir::new("rules-check");
    let cf = t.write(
        "odd.cf",
        b"body GOOD /viagra/i\nfrobnicate yes\nheader NETTY eval:check_rbl_envfrom('x', 'zen.example.')\nmeta BAD (GOOD &&\n",
    );
    let out = run(&[&"rules", &"--check", &"-v", &cf], None);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("skipped lines: "), "{stdout}");
    assert!(!stdout.contains("skipped lines: 0\n"), "{stdout}");
    assert!(stdout.contains("frobnicate"), "{stdout}");
    assert!(stdout.contains("check_rbl_envfrom: NETTY"), "{stdout}");
}

/// Writes a small labelled corpus: spam about pills from one relay, ham
/// about meetings from another, alternating.
fn toy_corpus(dir: &TempDir, n: usize) -> PathBuf {
    let mut labels = String::new();
    for i in 0..n {
        let spam = i % 2 == 0;
        let (from, subject, body) = if spam {
            (
                "deals@pills.example",
                "cheap pills",
                "buy cheap pills online, best price pills",
            )
        } else {
            (
                "alice@work.example",
                "meeting notes",
                "the meeting notes from monday, agenda attached",
            )
        };
        let msg = format!("From: {from}\nSubject: {subject} {i}\n\n{body} {i}\n");
        let rel = format!("m/{i}.eml");
        dir.write(&rel, msg.as_bytes());
        labels.push_str(&format!("{}\t{rel}\n", if spam { "spam" } else { "ham" }));
    }
    dir.write("labels.tsv", labels.as_bytes())
}

fn figure(out: &str, key: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.starts_with(key))
        .unwrap_or_else(|| panic!("no {key} in {out}"));
    line[key.len()..]
        .trim()
        .trim_end_matches('%')
        .parse()
        .unwrap()
}

#[test]
fn eval_runs_the_online_protocol_and_writes_scores_and_roc() {
    let dir = TempDir::new("eval");
    let labels = toy_corpus(&dir, 40);
    let scores = dir.path().join("scores.tsv");
    let svg = dir.path().join("roc.svg");
    for classifier in ["logistic", "chi-square"] {
        let out = run(
            &[
                &"eval",
                &"--labels",
                &labels,
                &"--classifier",
                &classifier,
                &"--scores",
                &scores,
                &"--roc",
                &svg,
            ],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("messages: 40 (spam 20, ham 20)"), "{text}");
        // Two kinds of mail this different are told apart after a few
        // messages: far better than a coin (50), not necessarily perfect
        // (the first messages are classified knowing nothing).
        let roca = figure(&text, "(1-ROCA)%:");
        assert!(roca < 10.0, "{classifier}: {text}");
        let lines: Vec<String> = fs::read_to_string(&scores)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        assert_eq!(lines.len(), 40);
        // The first message is scored by an empty model.
        assert!(lines[0].starts_with("0.5"), "{}", lines[0]);
        assert!(fs::read_to_string(&svg).unwrap().starts_with("<svg"));
    }
    // The order is a function of the seed.
    let order = |seed: &str| {
        run(
            &[
                &"eval",
                &"--labels",
                &labels,
                &"--seed",
                &seed,
                &"--scores",
                &scores,
            ],
            None,
        );
        fs::read_to_string(&scores)
            .unwrap()
            .lines()
            .map(|l| l.split('\t').nth(2).unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(order("7"), order("7"));
    assert_ne!(order("7"), order("8"));
    // k-fold: every message is scored once.
    let out = run(&[&"eval", &"--labels", &labels, &"--folds", &"5"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("5-fold cross-validation"), "{text}");
    assert!(figure(&text, "(1-ROCA)%:") < 5.0, "{text}");
}

#[test]
fn eval_rejects_bad_labels() {
    let dir = TempDir::new("eval-bad");
    let labels = dir.write("labels.tsv", b"maybe\tm/1.eml\n");
    let out = run(&[&"eval", &"--labels", &labels], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("label"));
}

/// `filterscan learn` killed with SIGKILL in the middle of a run: the
/// store opens, holds exactly a prefix of the messages (every one the
/// process reported learned, at most one more), and is byte for byte the
/// store that learning that prefix alone gives.
#[test]
fn learn_survives_sigkill() {
    use std::io::{BufRead, BufReader};
    let dir = TempDir::new("learn-kill");
    let n = 3000;
    for i in 0..n {
        let msg = format!(
            "From: user{}@host{}.example\nSubject: offer {i}\n\nword{} word{} token{i} shared words here\n",
            i % 17,
            i % 5,
            i % 31,
            i % 7
        );
        dir.write(&format!("all/{i:05}.eml"), msg.as_bytes());
    }
    let db = dir.path().join("killed.db");
    let mut child = Command::new(BIN)
        .args(["learn", "--spam", "--sync", "--verbose", "--db"])
        .arg(&db)
        .arg(dir.path().join("all"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut reported = 0usize;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while reported < 200 {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("learned ") => reported += 1,
            Some(_) => {}
            None => break,
        }
    }
    let _ = child.kill(); // SIGKILL on Unix
    let _ = child.wait();
    // Lines the process printed before it died.
    for l in lines.map_while(Result::ok) {
        if l.starts_with("learned ") && !l.contains(" messages as ") {
            reported += 1;
        }
    }

    let stats = |db: &Path| {
        let out = run(&[&"bayes", &"--db", &db], None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = stats(&db);
    let k = figure(&text, "spam:") as usize;
    assert!(
        k >= reported && k <= reported + 1,
        "reported {reported}, store has {k}"
    );
    assert!(
        k < n,
        "the process finished before it was killed; nothing was tested"
    );

    // The same prefix, learned without interruption.
    for i in 0..k {
        let name = format!("{i:05}.eml");
        let data = fs::read(dir.path().join("all").join(&name)).unwrap();
        dir.write(&format!("prefix/{name}"), &data);
    }
    let clean = dir.path().join("clean.db");
    let out = run(
        &[
            &"learn",
            &"--spam",
            &"--db",
            &clean,
            &dir.path().join("prefix"),
        ],
        None,
    );
    assert!(out.status.success());
    assert_eq!(
        stats(&clean).replace("clean.db", "X"),
        text.replace("killed.db", "X")
    );
    // Compacted, the two stores are the same bytes.
    for db in [&db, &clean] {
        assert!(
            run(&[&"bayes", &"--db", db, &"--compact"], None)
                .status
                .success()
        );
    }
    assert_eq!(fs::read(&db).unwrap(), fs::read(&clean).unwrap());
}

#[test]
fn learn_then_stats_and_unlearn() {
    let dir = TempDir::new("learn");
    dir.write("s/1.eml", b"Subject: pills\n\ncheap pills\n");
    dir.write("s/2.eml", b"Subject: more pills\n\ncheap pills again\n");
    dir.write("h/1.eml", b"Subject: lunch\n\nlunch at noon\n");
    let db = dir.path().join("b.db");
    let learn = |label: &str, d: &str, extra: &[&str]| {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"learn", &"--db", &db];
        let label = format!("--{label}");
        args.push(&label);
        for e in extra {
            args.push(e);
        }
        let p = dir.path().join(d);
        args.push(&p);
        let out = run(&args, None);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(
        learn("spam", "s", &["--classifier", "chi-square"]).contains("learned 2 messages as spam")
    );
    learn("ham", "h", &[]);
    let out = run(&[&"bayes", &"--db", &db, &"--stats"], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("classifier: chi-square"), "{text}");
    assert_eq!((figure(&text, "spam:"), figure(&text, "ham:")), (2.0, 1.0));
    // Looking after a store that does not exist does not create one.
    let missing = dir.path().join("missing.db");
    for extra in [&[][..], &["--compact"][..]] {
        let mut args: Vec<&dyn AsRef<std::ffi::OsStr>> = vec![&"bayes", &"--db", &missing];
        for e in extra {
            args.push(e);
        }
        assert_eq!(run(&args, None).status.code(), Some(2));
        assert!(!missing.exists());
    }
    learn("spam", "s", &["--unlearn"]);
    let out = run(&[&"bayes", &"--db", &db], None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!((figure(&text, "spam:"), figure(&text, "ham:")), (0.0, 1.0));
    // Only the ham's tokens are left.
    let ham_only = dir.path().join("h.db");
    run(
        &[
            &"learn",
            &"--db",
            &ham_only,
            &"--ham",
            &"--classifier",
            &"chi-square",
            &dir.path().join("h"),
        ],
        None,
    );
    let h =
        String::from_utf8_lossy(&run(&[&"bayes", &"--db", &ham_only], None).stdout).into_owned();
    assert_eq!(figure(&text, "tokens:"), figure(&h, "tokens:"));
}
