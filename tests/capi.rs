//! The C ABI called from Rust: the exported functions are ordinary Rust
//! functions, so the main paths are tested here without a C compiler (the
//! C tests of bindings/c cover the same ground from C, under valgrind and
//! ASan).

use std::ffi::{CStr, CString, c_char};
use std::ptr;

use filter::capi::*;
use lf_status::*;

/// The EICAR test file, from pieces: no file holds it whole.
fn eicar() -> String {
    [
        "X5O!P%@AP[4\\PZX54(P^)7CC)7}$",
        "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat()
}

/// GTUBE, from pieces.
fn gtube() -> String {
    [
        "XJS*C4JDBQADN1.NSBN3*2IDNEN*",
        "GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X",
    ]
    .concat()
}

const CLEAN: &str = "From: alice@example.com\r\nTo: bob@example.org\r\n\
Subject: lunch\r\nDate: Mon, 1 Mar 2004 10:00:00 +0000\r\n\
Message-ID: <lunch@example.com>\r\n\r\nSee you at noon?\r\n";

fn gtube_message() -> String {
    format!(
        "From: sender@example.com\r\nTo: rcpt@example.org\r\nSubject: test\r\n\
         Date: Mon, 1 Mar 2004 10:00:00 +0000\r\nMessage-ID: <gtube@example.com>\r\n\r\n\
         This is the GTUBE, the\r\n\r\n{}\r\n\r\nend.\r\n",
        gtube()
    )
}

fn eicar_message() -> String {
    format!(
        "From: sender@example.com\r\nTo: rcpt@example.org\r\nSubject: file\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
         --b\r\nContent-Type: application/octet-stream\r\n\
         Content-Disposition: attachment; filename=\"eicar.com\"\r\n\r\n{}\r\n--b--\r\n",
        eicar()
    )
}

fn s(p: *const c_char) -> String {
    assert!(!p.is_null());
    // SAFETY: the library hands out NUL-terminated strings that live as long
    // as their report; every caller here reads them before freeing it.
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_string()
}

fn last_error() -> String {
    s(lf_last_error())
}

fn engine() -> *const lf_engine {
    let mut b = ptr::null_mut();
    assert_eq!(lf_engine_builder_new(&mut b), LF_OK);
    let mut e = ptr::null();
    assert_eq!(lf_engine_builder_build(b, &mut e), LF_OK);
    lf_engine_builder_free(b);
    assert!(!e.is_null());
    e
}

/// Everything a report says, for comparisons.
#[derive(Debug, PartialEq)]
struct Seen {
    verdict: lf_verdict,
    action: lf_action,
    score: f64,
    required: f64,
    flags: u32,
    detections: Vec<String>,
    symbols: Vec<(String, f64)>,
    headers: Vec<(String, String)>,
}

fn seen(r: *mut lf_report) -> Seen {
    let mut verdict = lf_verdict::LF_VERDICT_CLEAN;
    let mut action = lf_action::LF_ACTION_ACCEPT;
    let (mut score, mut required) = (-1.0, -1.0);
    assert_eq!(lf_report_verdict(r, &mut verdict), LF_OK);
    assert_eq!(lf_report_action(r, &mut action), LF_OK);
    assert_eq!(lf_report_score(r, &mut score), LF_OK);
    assert_eq!(lf_report_required_score(r, &mut required), LF_OK);
    let detections = (0..lf_report_detection_count(r))
        .map(|i| {
            let mut n = ptr::null();
            assert_eq!(lf_report_detection_name(r, i, &mut n), LF_OK);
            s(n)
        })
        .collect();
    let symbols = (0..lf_report_symbol_count(r))
        .map(|i| {
            let (mut n, mut sc, mut d) = (ptr::null(), 0.0, ptr::null());
            assert_eq!(lf_report_symbol(r, i, &mut n, &mut sc, &mut d), LF_OK);
            (s(n), sc)
        })
        .collect();
    let headers = (0..lf_report_header_count(r))
        .map(|i| {
            let (mut n, mut v) = (ptr::null(), ptr::null());
            assert_eq!(lf_report_header(r, i, &mut n, &mut v), LF_OK);
            (s(n), s(v))
        })
        .collect();
    Seen {
        verdict,
        action,
        score,
        required,
        flags: lf_report_flags(r),
        detections,
        symbols,
        headers,
    }
}

fn scan(e: *const lf_engine, data: &[u8], env: *const lf_envelope) -> Seen {
    let mut sc = ptr::null_mut();
    assert_eq!(lf_scanner_new(e, &mut sc), LF_OK);
    let mut r = ptr::null_mut();
    assert_eq!(
        lf_scanner_scan(sc, data.as_ptr(), data.len(), env, &mut r),
        LF_OK
    );
    let out = seen(r);
    lf_report_free(r);
    lf_scanner_free(sc);
    out
}

#[test]
fn version() {
    assert_eq!(s(lf_version()), env!("CARGO_PKG_VERSION"));
    assert_eq!(
        format!("{LF_VERSION_MAJOR}.{LF_VERSION_MINOR}.{LF_VERSION_PATCH}"),
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(s(lf_status_str(LF_OK as i32)), "success");
    assert_eq!(s(lf_status_str(12345)), "unknown status");
}

#[test]
fn null_arguments_are_errors_not_crashes() {
    assert_eq!(lf_engine_builder_new(ptr::null_mut()), LF_ERR_NULL);
    assert_eq!(
        lf_engine_builder_set_defaults(ptr::null_mut(), false),
        LF_ERR_NULL
    );
    assert!(last_error().contains("NULL"), "{}", last_error());
    assert_eq!(
        lf_engine_builder_load_path(ptr::null_mut(), c"x".as_ptr()),
        LF_ERR_NULL
    );
    let mut sc = ptr::null_mut();
    assert_eq!(lf_scanner_new(ptr::null(), &mut sc), LF_ERR_NULL);
    assert!(sc.is_null());
    let mut r = ptr::null_mut();
    assert_eq!(
        lf_scanner_scan(ptr::null_mut(), ptr::null(), 0, ptr::null(), &mut r),
        LF_ERR_NULL
    );
    assert!(r.is_null());
    assert_eq!(
        lf_engine_scan(ptr::null(), ptr::null(), 0, ptr::null(), &mut r),
        LF_ERR_NULL
    );
    let mut v = lf_verdict::LF_VERDICT_SPAM;
    assert_eq!(lf_report_verdict(ptr::null(), &mut v), LF_ERR_NULL);
    assert_eq!(lf_report_detection_count(ptr::null()), 0);
    assert_eq!(lf_report_symbol_count(ptr::null()), 0);
    assert_eq!(lf_report_header_count(ptr::null()), 0);
    assert_eq!(lf_report_flags(ptr::null()), 0);
    assert_eq!(
        lf_session_body(ptr::null_mut(), ptr::null(), 0),
        LF_ERR_NULL
    );
    assert_eq!(lf_session_finish(ptr::null_mut(), &mut r), LF_ERR_NULL);
    assert_eq!(
        lf_envelope_set_helo(ptr::null_mut(), c"x".as_ptr()),
        LF_ERR_NULL
    );
    // Frees and unrefs of NULL are no-ops.
    lf_engine_unref(ptr::null());
    assert!(lf_engine_ref(ptr::null()).is_null());
    lf_engine_builder_free(ptr::null_mut());
    lf_scanner_free(ptr::null_mut());
    lf_report_free(ptr::null_mut());
    lf_session_free(ptr::null_mut());
    lf_envelope_free(ptr::null_mut());

    // A NULL out-parameter, and a NULL buffer with a length.
    let e = engine();
    assert_eq!(lf_scanner_new(e, ptr::null_mut()), LF_ERR_NULL);
    assert_eq!(
        lf_engine_scan(e, ptr::null(), 10, ptr::null(), &mut r),
        LF_ERR_NULL
    );
    assert_eq!(last_error(), "data is NULL");
    // A NULL buffer of length 0 is an empty input.
    assert_eq!(
        lf_engine_scan(e, ptr::null(), 0, ptr::null(), &mut r),
        LF_OK
    );
    assert!(!r.is_null());
    lf_report_free(r);
    lf_engine_unref(e);
}

#[test]
fn clean_message() {
    let e = engine();
    assert!(lf_engine_signature_count(e) > 0);
    assert!(lf_engine_rule_count(e) > 0);
    let r = scan(e, CLEAN.as_bytes(), ptr::null());
    assert_eq!(r.verdict, lf_verdict::LF_VERDICT_CLEAN, "{r:?}");
    assert_eq!(r.action, lf_action::LF_ACTION_ACCEPT);
    assert!(r.detections.is_empty());
    assert!(r.score < r.required, "{r:?}");
    assert_eq!(r.required, 5.0);
    assert_ne!(r.flags & LF_REPORT_SPAM_CHECKED, 0);
    assert_eq!(r.headers[0].0, "X-Spam-Status");
    assert!(r.headers[0].1.starts_with("No, score="), "{r:?}");
    assert_eq!(r.headers.last().unwrap().0, "X-Virus-Scanned");
    assert!(!r.headers.iter().any(|(n, _)| n == "X-Spam-Flag"));
    lf_engine_unref(e);
}

#[test]
fn eicar_is_found_with_its_name() {
    let e = engine();
    // As a bare file, and as an attachment.
    let r = scan(e, eicar().as_bytes(), ptr::null());
    assert_eq!(r.verdict, lf_verdict::LF_VERDICT_VIRUS);
    // The first detection is what clamscan prints; others may follow.
    assert_eq!(r.detections[0], "Win.Test.EICAR_HDB-1", "{r:?}");
    assert_eq!(
        r.flags & LF_REPORT_SPAM_CHECKED,
        0,
        "a file gets no spam check"
    );
    let r = scan(e, eicar_message().as_bytes(), ptr::null());
    assert_eq!(r.verdict, lf_verdict::LF_VERDICT_VIRUS, "{r:?}");
    assert_eq!(r.action, lf_action::LF_ACTION_REJECT);
    assert!(
        r.detections.iter().any(|d| d == "Win.Test.EICAR_HDB-1"),
        "{r:?}"
    );

    // Kind and location of the detection.
    let msg = eicar_message();
    let mut rep = ptr::null_mut();
    assert_eq!(
        lf_engine_scan(e, msg.as_ptr(), msg.len(), ptr::null(), &mut rep),
        LF_OK
    );
    let mut kind = lf_detection_kind::LF_DETECTION_LIMIT;
    assert_eq!(lf_report_detection_kind(rep, 0, &mut kind), LF_OK);
    assert_eq!(kind, lf_detection_kind::LF_DETECTION_SIGNATURE);
    let mut loc = ptr::null();
    assert_eq!(lf_report_detection_location(rep, 0, &mut loc), LF_OK);
    assert_eq!(s(loc), "2");
    // Out of range.
    let mut n = ptr::null();
    assert_eq!(lf_report_detection_name(rep, 99, &mut n), LF_ERR_INVALID);
    assert!(n.is_null());
    lf_report_free(rep);

    // Without the embedded defaults, EICAR is not known.
    let mut b = ptr::null_mut();
    assert_eq!(lf_engine_builder_new(&mut b), LF_OK);
    assert_eq!(lf_engine_builder_set_defaults(b, false), LF_OK);
    let mut bare = ptr::null();
    assert_eq!(lf_engine_builder_build(b, &mut bare), LF_OK);
    // A builder builds once.
    let mut again = ptr::null();
    assert_eq!(lf_engine_builder_build(b, &mut again), LF_ERR_STATE);
    assert!(again.is_null());
    assert_eq!(lf_engine_builder_set_defaults(b, true), LF_ERR_STATE);
    lf_engine_builder_free(b);
    let r = scan(bare, eicar().as_bytes(), ptr::null());
    assert_eq!(r.verdict, lf_verdict::LF_VERDICT_CLEAN, "{r:?}");
    lf_engine_unref(bare);
    lf_engine_unref(e);
}

#[test]
fn gtube_is_spam() {
    let e = engine();
    let r = scan(e, gtube_message().as_bytes(), ptr::null());
    assert_eq!(r.verdict, lf_verdict::LF_VERDICT_SPAM, "{r:?}");
    assert!(r.score >= 1000.0);
    assert_eq!(r.action, lf_action::LF_ACTION_REJECT);
    assert!(r.symbols.iter().any(|(n, _)| n == "LF_GTUBE"), "{r:?}");
    let names: Vec<&str> = r.headers.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "X-Spam-Status",
            "X-Spam-Flag",
            "X-Spam-Report",
            "X-Virus-Scanned"
        ]
    );
    assert!(r.headers[0].1.starts_with("Yes, score="));
    assert_eq!(r.headers[1].1, "YES");
    lf_engine_unref(e);
}

#[test]
fn database_and_rules_from_memory() {
    let mut b = ptr::null_mut();
    assert_eq!(lf_engine_builder_new(&mut b), LF_OK);
    assert_eq!(lf_engine_builder_set_defaults(b, false), LF_OK);
    // A body signature for a harmless marker, hex of "LIBFILTER-CAPI-TEST".
    let hex: String = "LIBFILTER-CAPI-TEST"
        .bytes()
        .map(|c| format!("{c:02x}"))
        .collect();
    let ndb = format!("Test.Capi.Marker:0:*:{hex}\n");
    assert_eq!(
        lf_engine_builder_load_memory(b, c"local.ndb".as_ptr(), ndb.as_ptr(), ndb.len()),
        LF_OK,
        "{}",
        last_error()
    );
    let rules =
        "body CAPI_WORD /\\bzanzibar\\b/\ndescribe CAPI_WORD Says zanzibar\nscore CAPI_WORD 6.5\n";
    assert_eq!(
        lf_engine_builder_load_rules_memory(b, c"capi.cf".as_ptr(), rules.as_ptr(), rules.len()),
        LF_OK
    );
    let bad = [0xffu8, 0xfe];
    assert_eq!(
        lf_engine_builder_load_rules_memory(b, c"bad.cf".as_ptr(), bad.as_ptr(), bad.len()),
        LF_ERR_UTF8
    );
    assert_eq!(
        lf_engine_builder_load_path(b, c"/nonexistent/libfilter.ndb".as_ptr()),
        LF_ERR_IO
    );
    assert!(
        last_error().contains("/nonexistent/libfilter.ndb"),
        "{}",
        last_error()
    );
    assert_eq!(
        lf_engine_builder_set_limit(b, lf_limit::LF_LIMIT_MAX_PARTS as u32, 77),
        LF_OK
    );
    assert_eq!(lf_engine_builder_set_limit(b, 1000, 1), LF_ERR_INVALID);
    let mut v = 0;
    assert_eq!(
        lf_engine_builder_get_limit(b, lf_limit::LF_LIMIT_MAX_PARTS as u32, &mut v),
        LF_OK
    );
    assert_eq!(v, 77);
    assert_eq!(
        lf_engine_builder_get_limit(b, lf_limit::LF_LIMIT_MAX_DEPTH as u32, &mut v),
        LF_OK
    );
    assert_eq!(v, 32);
    assert_eq!(
        lf_engine_builder_set_threshold(b, lf_action::LF_ACTION_REJECT as u32, 6.0),
        LF_OK
    );
    assert_eq!(
        lf_engine_builder_set_threshold(b, lf_action::LF_ACTION_ACCEPT as u32, 6.0),
        LF_ERR_INVALID
    );
    let mut e = ptr::null();
    assert_eq!(lf_engine_builder_build(b, &mut e), LF_OK);
    lf_engine_builder_free(b);
    assert_eq!(lf_engine_rule_count(e), 1);

    let msg =
        "From: a@example.com\r\nSubject: trip\r\n\r\nOff to zanzibar. LIBFILTER-CAPI-TEST\r\n";
    let r = scan(e, msg.as_bytes(), ptr::null());
    assert!(!r.detections.is_empty(), "{r:?}");
    assert!(
        r.detections
            .iter()
            .all(|d| d == "Test.Capi.Marker.UNOFFICIAL"),
        "{r:?}"
    );
    assert_eq!(r.symbols, [("CAPI_WORD".to_string(), 6.5)]);
    let msg = "From: a@example.com\r\nSubject: trip\r\n\r\nOff to zanzibar.\r\n";
    let r = scan(e, msg.as_bytes(), ptr::null());
    assert_eq!(r.verdict, lf_verdict::LF_VERDICT_SPAM, "{r:?}");
    // Reject from 6 points, as set.
    assert_eq!(r.action, lf_action::LF_ACTION_REJECT);
    lf_engine_unref(e);
}

#[test]
fn envelope_reaches_the_rules() {
    let mut b = ptr::null_mut();
    assert_eq!(lf_engine_builder_new(&mut b), LF_OK);
    // Header rules that can only hit through the synthesized fields.
    let rules = "header CAPI_HELO Received =~ /from bad\\.helo\\.example /\nscore CAPI_HELO 1\n\
                 header CAPI_FROM X-Envelope-From =~ /bounce\\@example\\.net/\nscore CAPI_FROM 1\n\
                 header CAPI_TO X-Envelope-To =~ /carol\\@example\\.org/\nscore CAPI_TO 1\n";
    assert_eq!(
        lf_engine_builder_load_rules_memory(b, c"env.cf".as_ptr(), rules.as_ptr(), rules.len()),
        LF_OK
    );
    let mut e = ptr::null();
    assert_eq!(lf_engine_builder_build(b, &mut e), LF_OK);
    lf_engine_builder_free(b);

    let mut env = ptr::null_mut();
    assert_eq!(lf_envelope_new(&mut env), LF_OK);
    assert_eq!(lf_envelope_set_client_ip(env, c"192.0.2.7".as_ptr()), LF_OK);
    assert_eq!(
        lf_envelope_set_helo(env, c"bad.helo.example".as_ptr()),
        LF_OK
    );
    assert_eq!(lf_envelope_set_rdns(env, ptr::null()), LF_OK);
    assert_eq!(
        lf_envelope_set_mail_from(env, c"bounce@example.net".as_ptr()),
        LF_OK
    );
    assert_eq!(
        lf_envelope_add_rcpt(env, c"bob@example.org".as_ptr()),
        LF_OK
    );
    assert_eq!(
        lf_envelope_add_rcpt(env, c"carol@example.org".as_ptr()),
        LF_OK
    );
    assert_eq!(lf_envelope_add_rcpt(env, ptr::null()), LF_ERR_NULL);

    let without = scan(e, CLEAN.as_bytes(), ptr::null());
    assert!(without.symbols.is_empty(), "{without:?}");
    let with = scan(e, CLEAN.as_bytes(), env);
    let names: Vec<&str> = with.symbols.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["CAPI_FROM", "CAPI_HELO", "CAPI_TO"], "{with:?}");
    // A bare file is scanned as a file, envelope or not.
    let file = scan(e, eicar().as_bytes(), env);
    assert_eq!(file.detections[0], "Win.Test.EICAR_HDB-1");
    assert_eq!(lf_envelope_clear(env), LF_OK);
    let cleared = scan(e, CLEAN.as_bytes(), env);
    assert!(cleared.symbols.is_empty());
    lf_envelope_free(env);
    lf_engine_unref(e);
}

/// Feeds `msg` to a session the way a milter would: header fields one by
/// one (values without the leading space, folds as "\n\t"), then the body
/// in small chunks.
fn feed(sess: *mut lf_session, msg: &str) {
    let (head, body) = msg.split_once("\r\n\r\n").unwrap();
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            let last = fields.last_mut().unwrap();
            last.1.push('\n');
            last.1.push_str(line);
        } else {
            let (n, v) = line.split_once(':').unwrap();
            fields.push((n.to_string(), v.trim_start().to_string()));
        }
    }
    for (n, v) in fields {
        let (n, v) = (CString::new(n).unwrap(), CString::new(v).unwrap());
        assert_eq!(lf_session_header(sess, n.as_ptr(), v.as_ptr()), LF_OK);
    }
    assert_eq!(lf_session_eoh(sess), LF_OK);
    for chunk in body.as_bytes().chunks(7) {
        assert_eq!(lf_session_body(sess, chunk.as_ptr(), chunk.len()), LF_OK);
    }
}

fn finish(sess: *mut lf_session) -> Seen {
    let mut r = ptr::null_mut();
    assert_eq!(lf_session_finish(sess, &mut r), LF_OK, "{}", last_error());
    let out = seen(r);
    lf_report_free(r);
    out
}

#[test]
fn session_matches_one_shot_scan() {
    let e = engine();
    let mut env = ptr::null_mut();
    assert_eq!(lf_envelope_new(&mut env), LF_OK);
    assert_eq!(lf_envelope_set_client_ip(env, c"192.0.2.7".as_ptr()), LF_OK);
    assert_eq!(
        lf_envelope_set_rdns(env, c"mail.example.com".as_ptr()),
        LF_OK
    );
    assert_eq!(
        lf_envelope_set_helo(env, c"mail.example.com".as_ptr()),
        LF_OK
    );
    assert_eq!(
        lf_envelope_set_mail_from(env, c"sender@example.com".as_ptr()),
        LF_OK
    );
    assert_eq!(
        lf_envelope_add_rcpt(env, c"rcpt@example.org".as_ptr()),
        LF_OK
    );

    let mut sess = ptr::null_mut();
    assert_eq!(lf_session_new(e, &mut sess), LF_OK);
    // The session holds its own reference: drop ours.
    lf_engine_unref(e);
    assert_eq!(
        lf_session_connect(sess, c"192.0.2.7".as_ptr(), c"mail.example.com".as_ptr()),
        LF_OK
    );
    assert_eq!(lf_session_helo(sess, c"mail.example.com".as_ptr()), LF_OK);

    let folded = "From: sender@example.com\r\nTo: rcpt@example.org,\r\n\tother@example.org\r\n\
Subject: test\r\nDate: Mon, 1 Mar 2004 10:00:00 +0000\r\nMessage-ID: <x@example.com>\r\n\r\nHello there.\r\n";
    let messages = [
        CLEAN.to_string(),
        gtube_message(),
        eicar_message(),
        folded.to_string(),
    ];
    let e2 = engine();
    for msg in &messages {
        assert_eq!(lf_session_mail(sess, c"sender@example.com".as_ptr()), LF_OK);
        assert_eq!(lf_session_rcpt(sess, c"rcpt@example.org".as_ptr()), LF_OK);
        feed(sess, msg);
        let streamed = finish(sess);
        let one_shot = scan(e2, msg.as_bytes(), env);
        assert_eq!(streamed, one_shot, "{msg}");
    }
    // Reset drops a half-sent message and keeps the connection.
    assert_eq!(lf_session_mail(sess, c"sender@example.com".as_ptr()), LF_OK);
    assert_eq!(lf_session_rcpt(sess, c"rcpt@example.org".as_ptr()), LF_OK);
    feed(sess, &eicar_message());
    assert_eq!(lf_session_reset(sess), LF_OK);
    assert_eq!(lf_session_mail(sess, c"sender@example.com".as_ptr()), LF_OK);
    assert_eq!(lf_session_rcpt(sess, c"rcpt@example.org".as_ptr()), LF_OK);
    feed(sess, CLEAN);
    let after = finish(sess);
    assert_eq!(after, scan(e2, CLEAN.as_bytes(), env));
    assert_eq!(after.verdict, lf_verdict::LF_VERDICT_CLEAN);

    // A header field after the end of headers is a state error.
    assert_eq!(lf_session_body(sess, b"x".as_ptr(), 1), LF_OK);
    assert_eq!(
        lf_session_header(sess, c"X".as_ptr(), c"y".as_ptr()),
        LF_ERR_STATE
    );
    assert_eq!(lf_session_reset(sess), LF_OK);
    assert_eq!(lf_session_header(sess, c"X".as_ptr(), c"y".as_ptr()), LF_OK);

    lf_session_free(sess);
    lf_envelope_free(env);
    lf_engine_unref(e2);
}

#[test]
fn session_over_its_size_limit_is_flagged() {
    let e = engine();
    let mut sess = ptr::null_mut();
    assert_eq!(lf_session_new(e, &mut sess), LF_OK);
    assert_eq!(lf_session_set_max_size(sess, 64), LF_OK);
    assert_eq!(lf_session_mail(sess, c"".as_ptr()), LF_OK);
    feed(sess, CLEAN);
    let body = [b'a'; 100];
    assert_eq!(lf_session_body(sess, body.as_ptr(), body.len()), LF_OK);
    let r = finish(sess);
    assert_eq!(r.verdict, lf_verdict::LF_VERDICT_VIRUS, "{r:?}");
    assert_eq!(r.detections, ["Heuristics.Limits.Exceeded.MaxScanSize"]);
    assert_ne!(r.flags & LF_REPORT_TRUNCATED, 0);
    // The next message starts afresh.
    assert_eq!(lf_session_set_max_size(sess, 1 << 20), LF_OK);
    feed(sess, CLEAN);
    assert_eq!(finish(sess).verdict, lf_verdict::LF_VERDICT_CLEAN);
    // A limit lowered below what is already buffered.
    feed(sess, CLEAN);
    assert_eq!(lf_session_set_max_size(sess, 10), LF_OK);
    assert_eq!(lf_session_body(sess, b"more".as_ptr(), 4), LF_OK);
    let r = finish(sess);
    assert_ne!(r.flags & LF_REPORT_TRUNCATED, 0, "{r:?}");
    lf_session_free(sess);
    lf_engine_unref(e);
}

#[test]
fn engine_references() {
    let e = engine();
    assert_eq!(lf_engine_ref(e), e);
    lf_engine_unref(e);
    let mut sc = ptr::null_mut();
    assert_eq!(lf_scanner_new(e, &mut sc), LF_OK);
    // The last caller reference goes; the scanner keeps the engine alive.
    lf_engine_unref(e);
    let data = CLEAN.as_bytes();
    let mut r = ptr::null_mut();
    assert_eq!(
        lf_scanner_scan(sc, data.as_ptr(), data.len(), ptr::null(), &mut r),
        LF_OK
    );
    assert_eq!(seen(r).verdict, lf_verdict::LF_VERDICT_CLEAN);
    lf_report_free(r);
    lf_scanner_free(sc);
}

#[test]
fn threads_share_one_engine() {
    let e = engine() as usize;
    let eicar = eicar_message();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                let e = lf_engine_ref(e as *const lf_engine);
                for _ in 0..5 {
                    let mut r = ptr::null_mut();
                    assert_eq!(
                        lf_engine_scan(e, eicar.as_ptr(), eicar.len(), ptr::null(), &mut r),
                        LF_OK
                    );
                    assert_eq!(seen(r).verdict, lf_verdict::LF_VERDICT_VIRUS);
                    lf_report_free(r);
                }
                lf_engine_unref(e);
            });
        }
    });
    lf_engine_unref(e as *const lf_engine);
}

/// The Bayes store from C: open, learn, hand to an engine, publish, and
/// read back in another handle; the probability in the report follows.
#[test]
fn bayes_store_learns_publishes_and_reports() {
    let dir = std::env::temp_dir().join(format!("lf-capi-bayes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = CString::new(dir.join("bayes.db").to_str().unwrap()).unwrap();
    let spam =
        "From: deals@pills.example\r\nSubject: cheap pills\r\n\r\nbuy cheap pills online now\r\n";
    let ham = "From: alice@work.example\r\nSubject: meeting notes\r\n\r\nnotes from the monday meeting\r\n";

    let mut b: *mut lf_bayes = ptr::null_mut();
    assert_eq!(
        lf_bayes_open(
            path.as_ptr(),
            lf_bayes_classifier::LF_BAYES_CHI_SQUARE,
            &mut b
        ),
        LF_OK
    );
    let mut builder = ptr::null_mut();
    assert_eq!(lf_engine_builder_new(&mut builder), LF_OK);
    assert_eq!(lf_engine_builder_set_bayes(builder, b), LF_OK);
    let mut engine = ptr::null();
    assert_eq!(lf_engine_builder_build(builder, &mut engine), LF_OK);
    lf_engine_builder_free(builder);

    let prob = |engine: *const lf_engine, msg: &str| {
        let mut r = ptr::null_mut();
        assert_eq!(
            lf_engine_scan(engine, msg.as_ptr(), msg.len(), ptr::null(), &mut r),
            LF_OK
        );
        let mut p = 0.0;
        assert_eq!(lf_report_bayes(r, &mut p), LF_OK);
        lf_report_free(r);
        p
    };
    // Nothing learned yet.
    assert_eq!(prob(engine, spam), 0.5);
    for _ in 0..10 {
        assert_eq!(lf_bayes_learn(b, spam.as_ptr(), spam.len(), true), LF_OK);
        assert_eq!(lf_bayes_learn(b, ham.as_ptr(), ham.len(), false), LF_OK);
    }
    // Learned but not published: the engine still has the old snapshot.
    assert_eq!(prob(engine, spam), 0.5);
    assert_eq!(lf_bayes_publish(b), LF_OK);
    assert!(prob(engine, spam) > 0.99);
    assert!(prob(engine, ham) < 0.01);
    let (mut ns, mut nh, mut nt) = (0u64, 0u64, 0u64);
    assert_eq!(lf_bayes_counts(b, &mut ns, &mut nh, &mut nt), LF_OK);
    assert_eq!((ns, nh), (10, 10));
    assert!(nt > 0);
    assert_eq!(lf_bayes_unlearn(b, spam.as_ptr(), spam.len(), true), LF_OK);
    assert_eq!(lf_bayes_compact(b), LF_OK);
    assert_eq!(
        lf_bayes_counts(b, &mut ns, &mut nh, ptr::null_mut()),
        LF_ERR_NULL
    );
    lf_bayes_free(b);
    // The engine outlives the store handle.
    assert!(prob(engine, spam) > 0.99);
    lf_engine_unref(engine);

    // A scanning-only process reads the store as it is on disk.
    let mut builder = ptr::null_mut();
    assert_eq!(lf_engine_builder_new(&mut builder), LF_OK);
    assert_eq!(lf_engine_builder_load_bayes(builder, path.as_ptr()), LF_OK);
    let mut engine = ptr::null();
    assert_eq!(lf_engine_builder_build(builder, &mut engine), LF_OK);
    lf_engine_builder_free(builder);
    assert!(prob(engine, spam) > 0.99);
    lf_engine_unref(engine);

    // Without a model: NaN.
    let mut builder = ptr::null_mut();
    assert_eq!(lf_engine_builder_new(&mut builder), LF_OK);
    let mut engine = ptr::null();
    assert_eq!(lf_engine_builder_build(builder, &mut engine), LF_OK);
    lf_engine_builder_free(builder);
    assert!(prob(engine, spam).is_nan());
    lf_engine_unref(engine);

    // Errors: a missing store to read, a damaged one, NULLs.
    let mut builder = ptr::null_mut();
    assert_eq!(lf_engine_builder_new(&mut builder), LF_OK);
    let missing = CString::new(dir.join("nope.db").to_str().unwrap()).unwrap();
    assert_eq!(
        lf_engine_builder_load_bayes(builder, missing.as_ptr()),
        LF_ERR_IO
    );
    std::fs::write(dir.join("bad.db"), b"not a store").unwrap();
    let bad = CString::new(dir.join("bad.db").to_str().unwrap()).unwrap();
    assert_eq!(
        lf_engine_builder_load_bayes(builder, bad.as_ptr()),
        LF_ERR_LOAD
    );
    let mut b2: *mut lf_bayes = ptr::null_mut();
    assert_eq!(
        lf_bayes_open(
            bad.as_ptr(),
            lf_bayes_classifier::LF_BAYES_LOGISTIC,
            &mut b2
        ),
        LF_ERR_LOAD
    );
    assert!(b2.is_null());
    assert_eq!(
        lf_engine_builder_set_bayes(builder, ptr::null()),
        LF_ERR_NULL
    );
    assert_eq!(
        lf_bayes_learn(ptr::null(), spam.as_ptr(), spam.len(), true),
        LF_ERR_NULL
    );
    lf_bayes_free(ptr::null_mut());
    lf_engine_builder_free(builder);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A database from memory whose name has no known extension is an error,
/// as the header says, not a silently empty database.
#[test]
fn memory_database_of_unknown_type_is_an_error() {
    let mut b = ptr::null_mut();
    assert_eq!(lf_engine_builder_new(&mut b), LF_OK);
    let data = b"Test.Sig:0:*:414243\n";
    for (name, want) in [
        ("local.nbd", LF_ERR_LOAD),
        ("noext", LF_ERR_LOAD),
        ("local.ndb", LF_OK),
    ] {
        let n = CString::new(name).unwrap();
        assert_eq!(
            lf_engine_builder_load_memory(b, n.as_ptr(), data.as_ptr(), data.len()),
            want,
            "{name}"
        );
    }
    lf_engine_builder_free(b);
}

/// An engine with network tests on and `rules`, a scanner of it, and the
/// message the DNS tests scan (one untrusted relay, 203.0.113.9).
fn net_engine(rules: &str) -> (*const lf_engine, *mut lf_scanner, &'static [u8]) {
    let mut b = ptr::null_mut();
    assert_eq!(lf_engine_builder_new(&mut b), LF_OK);
    assert_eq!(lf_engine_builder_set_net(b, true), LF_OK);
    assert_eq!(
        lf_engine_builder_load_rules_memory(b, c"dns.cf".as_ptr(), rules.as_ptr(), rules.len()),
        LF_OK
    );
    let mut e = ptr::null();
    assert_eq!(lf_engine_builder_build(b, &mut e), LF_OK);
    lf_engine_builder_free(b);
    let mut sc = ptr::null_mut();
    assert_eq!(lf_scanner_new(e, &mut sc), LF_OK);
    let msg = b"Received: from x (unknown [203.0.113.9]) by mx.example.com; Mon, 3 Jun 2024 10:00:00 +0000\r\n\
Subject: hi\r\n\r\nhello\r\n";
    (e, sc, msg)
}

/// The report of `msg` by `sc`.
fn net_scan(sc: *mut lf_scanner, msg: &[u8]) -> *mut lf_report {
    let mut r = ptr::null_mut();
    assert_eq!(
        lf_scanner_scan(sc, msg.as_ptr(), msg.len(), ptr::null(), &mut r),
        LF_OK
    );
    r
}

#[test]
fn dns_blocklists_through_the_c_abi() {
    let rules = "header __CAPI_ZEN eval:check_rbl('capi', 'zen.example.')\n\
                 header CAPI_SBL eval:check_rbl_sub('capi', '127.0.0.2')\n\
                 tflags CAPI_SBL net\nscore CAPI_SBL 0 6 0 6\n";
    let (e, sc, msg) = net_engine(rules);
    let r = net_scan(sc, msg);
    assert_eq!(lf_report_dns_query_count(r), 1);
    let mut name = ptr::null();
    assert_eq!(lf_report_dns_query(r, 0, &mut name), LF_OK);
    assert_eq!(s(name), "9.113.0.203.zen.example");
    assert_eq!(lf_report_dns_query(r, 1, &mut name), LF_ERR_INVALID);
    assert_eq!(seen(r).verdict, lf_verdict::LF_VERDICT_CLEAN);
    assert_eq!(
        lf_report_dns_answer(
            r,
            c"9.113.0.203.zen.example.".as_ptr(),
            c"not an address".as_ptr()
        ),
        LF_ERR_INVALID
    );
    assert_eq!(
        lf_report_dns_answer(
            r,
            c"9.113.0.203.zen.example.".as_ptr(),
            c"127.0.0.2".as_ptr()
        ),
        LF_OK
    );
    assert_eq!(
        lf_report_dns_answer(r, ptr::null(), c"127.0.0.2".as_ptr()),
        LF_ERR_NULL
    );
    assert_eq!(lf_report_dns_resolve(r), LF_OK);
    let after = seen(r);
    assert_eq!(after.verdict, lf_verdict::LF_VERDICT_SPAM);
    assert!(
        after
            .symbols
            .iter()
            .any(|(n, sc)| n == "CAPI_SBL" && *sc == 6.0),
        "{:?}",
        after.symbols
    );
    assert_eq!(lf_report_dns_query_count(r), 0);
    // Nothing left: answering is an error, resolving again does nothing.
    assert_eq!(
        lf_report_dns_answer(r, c"x".as_ptr(), c"127.0.0.2".as_ptr()),
        LF_ERR_INVALID
    );
    assert_eq!(lf_report_dns_resolve(r), LF_OK);
    assert_eq!(lf_report_dns_resolve(ptr::null_mut()), LF_ERR_NULL);
    assert_eq!(lf_report_dns_query_count(ptr::null()), 0);
    lf_report_free(r);

    // The same scan answered with a name never asked: not listed.
    let r = net_scan(sc, msg);
    assert_eq!(
        lf_report_dns_answer(r, c"1.1.1.1.zen.example".as_ptr(), c"127.0.0.2".as_ptr()),
        LF_OK
    );
    assert_eq!(lf_report_dns_resolve(r), LF_OK);
    assert_eq!(seen(r).verdict, lf_verdict::LF_VERDICT_CLEAN);
    lf_report_free(r);
    lf_scanner_free(sc);
    lf_engine_unref(e);
}

#[test]
fn dns_txt_queries_through_the_c_abi() {
    // The same name asked twice: A by check_rbl, TXT by check_rbl_txt.
    let rules = "loadplugin Mail::SpamAssassin::Plugin::AskDNS\n\
                 header CAPI_A eval:check_rbl('capi', 'bl.example.')\n\
                 tflags CAPI_A net\nscore CAPI_A 0 1 0 1\n\
                 header CAPI_TXT eval:check_rbl_txt('capi', 'bl.example.', '(?i)spam')\n\
                 tflags CAPI_TXT net\nscore CAPI_TXT 0 6 0 6\n\
                 askdns CAPI_ASK _LASTEXTERNALREVIP_.ask.example TXT /^listed$/\n\
                 score CAPI_ASK 0.5\n";
    let (e, sc, msg) = net_engine(rules);
    let r = net_scan(sc, msg);
    let asked: Vec<(String, u16)> = (0..lf_report_dns_query_count(r))
        .map(|i| {
            let mut name = ptr::null();
            let mut t = LF_DNS_A;
            assert_eq!(lf_report_dns_query(r, i, &mut name), LF_OK);
            assert_eq!(lf_report_dns_query_type(r, i, &mut t), LF_OK);
            (s(name), t)
        })
        .collect();
    assert_eq!(
        asked,
        [
            ("9.113.0.203.ask.example".to_string(), LF_DNS_TXT),
            ("9.113.0.203.bl.example".to_string(), LF_DNS_A),
            ("9.113.0.203.bl.example".to_string(), LF_DNS_TXT),
        ]
    );
    let mut t = LF_DNS_A;
    assert_eq!(lf_report_dns_query_type(r, 3, &mut t), LF_ERR_INVALID);
    assert_eq!(lf_report_dns_query_type(r, 0, ptr::null_mut()), LF_ERR_NULL);
    assert_eq!(
        lf_report_dns_query_type(ptr::null(), 0, &mut t),
        LF_ERR_NULL
    );
    // TXT answers: the blocklist's reason and the askdns text; no A record,
    // so the A rule does not hit.
    assert_eq!(
        lf_report_dns_answer_txt(
            r,
            c"9.113.0.203.bl.example.".as_ptr(),
            c"Listed for SPAM, see https://bl.example/".as_ptr()
        ),
        LF_OK
    );
    assert_eq!(
        lf_report_dns_answer_txt(r, c"9.113.0.203.ask.example".as_ptr(), c"listed".as_ptr()),
        LF_OK
    );
    assert_eq!(
        lf_report_dns_answer_txt(r, c"x".as_ptr(), ptr::null()),
        LF_ERR_NULL
    );
    assert_eq!(
        lf_report_dns_answer_txt(r, c"x".as_ptr(), c"\xff".as_ptr()),
        LF_ERR_UTF8
    );
    assert_eq!(lf_report_dns_resolve(r), LF_OK);
    let after = seen(r);
    assert_eq!(after.verdict, lf_verdict::LF_VERDICT_SPAM);
    let names: Vec<&str> = after.symbols.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["CAPI_ASK", "CAPI_TXT"]);
    assert_eq!(
        lf_report_dns_answer_txt(r, c"x".as_ptr(), c"y".as_ptr()),
        LF_ERR_INVALID
    );
    lf_report_free(r);
    lf_scanner_free(sc);
    lf_engine_unref(e);
}

/// `lf_scanner_scan_many` gives each input the report `lf_scanner_scan`
/// gives it alone: mail with and without envelopes (some entries NULL),
/// an mbox-style message, EICAR bare and in a message, GTUBE, text and an
/// empty input, more than one batch of them. Bad arguments leave every
/// output NULL.
#[test]
fn scan_many_gives_the_reports_of_one_at_a_time() {
    let e = engine();
    let mut env = ptr::null_mut();
    assert_eq!(lf_envelope_new(&mut env), LF_OK);
    assert_eq!(
        lf_envelope_set_client_ip(env, c"203.0.113.9".as_ptr()),
        LF_OK
    );
    assert_eq!(lf_envelope_set_helo(env, c"zombie.example".as_ptr()), LF_OK);
    let mbox = format!("From sender@example.com Mon Mar  1 10:00:00 2004\r\n{CLEAN}");
    let kinds: Vec<Vec<u8>> = vec![
        CLEAN.into(),
        gtube_message().into(),
        eicar_message().into(),
        eicar().into(),
        mbox.into(),
        b"plain text, not mail\n".to_vec(),
        Vec::new(),
    ];
    let inputs: Vec<&[u8]> = (0..150)
        .map(|i| kinds[i % kinds.len()].as_slice())
        .collect();
    let envs: Vec<*const lf_envelope> = (0..inputs.len())
        .map(|i| {
            if i % 3 == 0 {
                env.cast_const()
            } else {
                ptr::null()
            }
        })
        .collect();
    let expected: Vec<Seen> = inputs
        .iter()
        .zip(&envs)
        .map(|(d, &v)| scan(e, d, v))
        .collect();

    let mut sc = ptr::null_mut();
    assert_eq!(lf_scanner_new(e, &mut sc), LF_OK);
    let datas: Vec<*const u8> = inputs.iter().map(|d| d.as_ptr()).collect();
    let lens: Vec<usize> = inputs.iter().map(|d| d.len()).collect();
    let mut out = vec![ptr::null_mut(); inputs.len()];
    let n = inputs.len();
    // One batch call, every report read and freed.
    let mut many = |envs: *const *const lf_envelope| -> Vec<Seen> {
        let status =
            lf_scanner_scan_many(sc, datas.as_ptr(), lens.as_ptr(), envs, n, out.as_mut_ptr());
        assert_eq!(status, LF_OK);
        let got = out.iter().map(|&r| seen(r)).collect();
        out.iter().for_each(|&r| lf_report_free(r));
        got
    };
    let got = many(envs.as_ptr());
    assert_eq!(got, expected);
    let found = |v: lf_verdict| got.iter().filter(|s| s.verdict == v).count();
    assert!(found(lf_verdict::LF_VERDICT_VIRUS) > 0 && found(lf_verdict::LF_VERDICT_SPAM) > 0);

    // Without envelopes (NULL array), the same as lf_scanner_scan without.
    let plain: Vec<Seen> = inputs.iter().map(|d| scan(e, d, ptr::null())).collect();
    assert_eq!(many(ptr::null()), plain);

    // Nothing to scan is fine; a NULL data with a length fails, and every
    // output is NULL then.
    assert_eq!(
        lf_scanner_scan_many(
            sc,
            ptr::null(),
            ptr::null(),
            ptr::null(),
            0,
            ptr::null_mut()
        ),
        LF_OK
    );
    let mut bad = datas.clone();
    bad[7] = ptr::null();
    assert_eq!(
        lf_scanner_scan_many(
            sc,
            bad.as_ptr(),
            lens.as_ptr(),
            ptr::null(),
            n,
            out.as_mut_ptr()
        ),
        LF_ERR_NULL
    );
    assert!(out.iter().all(|r| r.is_null()));
    assert_eq!(
        lf_scanner_scan_many(
            sc,
            datas.as_ptr(),
            lens.as_ptr(),
            ptr::null(),
            n,
            ptr::null_mut()
        ),
        LF_ERR_NULL
    );
    lf_scanner_free(sc);
    lf_envelope_free(env);
    lf_engine_unref(e);
}
