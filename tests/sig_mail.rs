//! Detection through mail encodings and containers: a test signature and
//! the EICAR file (embedded defaults) are found however a message wraps
//! them; the attachment-policy heuristics turn on and off.

#[path = "sigs/mail.rs"]
mod mail;
#[path = "sigs/matrix.rs"]
mod matrix;

use std::sync::Arc;

use filter::sig::policy::{self, Policy};
use filter::{DetectionKind, Engine, EngineBuilder, Report};

fn marker_engine() -> Arc<Engine> {
    let mut b = EngineBuilder::new().defaults(false).policy(Policy::off());
    b.load_bytes("test.ndb", mail::marker_ndb().as_bytes())
        .unwrap();
    b.build()
}

fn is_eicar(name: &str) -> bool {
    name == "Win.Test.EICAR_HDB-1" || name == "Eicar-Test-Signature"
}

fn describe(r: &Report) -> String {
    format!("{:?}", r.detections)
}

#[test]
fn marker_is_found_through_every_wrapping() {
    let engine = marker_engine();
    let mut s = engine.scanner();
    let mut missed = Vec::new();
    for (case, msg) in mail::wrappings(&mail::payload()) {
        // The marker never appears undecoded.
        assert!(
            !msg.windows(mail::MARKER.len()).any(|w| w == mail::MARKER),
            "{case}: marker visible without decoding"
        );
        let r = s.scan(&msg);
        if r.name() != Some(mail::MARKER_NAME) {
            missed.push(format!("{case}: {}", describe(&r)));
        }
    }
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}

#[test]
fn clean_content_stays_clean_through_every_wrapping() {
    let engine = marker_engine();
    let mut s = engine.scanner();
    let clean = b"an ordinary attachment, nothing to see\r\n".repeat(20);
    for (case, msg) in mail::wrappings(&clean) {
        let r = s.scan(&msg);
        assert!(!r.infected(), "{case}: {}", describe(&r));
    }
}

#[test]
fn detection_location_names_the_part_and_member() {
    let engine = marker_engine();
    let mut s = engine.scanner();
    let wr = mail::wrappings(&mail::payload());
    let zip = &wr.iter().find(|(c, _)| *c == "zip-in-base64").unwrap().1;
    let r = s.scan(zip);
    // (A small deflated member may be a stored block, so the zip itself can
    // match too; the member must be named either way.)
    assert!(
        r.detections
            .iter()
            .any(|d| d.kind == DetectionKind::Signature && d.location.ends_with("/data.bin")),
        "{}",
        describe(&r)
    );
    let b64 = &wr.iter().find(|(c, _)| *c == "base64").unwrap().1;
    let r = s.scan(b64);
    let d = r.detections.first().expect("found in the part");
    assert!(!d.location.is_empty(), "a part, not the whole message");
}

#[test]
fn eicar_is_found_through_every_wrapping_with_defaults() {
    let engine = EngineBuilder::new().policy(Policy::off()).build();
    let mut s = engine.scanner();
    let eicar = mail::eicar();
    let r = s.scan(&eicar);
    assert_eq!(r.name(), Some("Win.Test.EICAR_HDB-1"));
    let mut missed = Vec::new();
    for (case, msg) in mail::wrappings(&eicar) {
        let r = s.scan(&msg);
        if !r.name().is_some_and(is_eicar) {
            missed.push(format!("{case}: {}", describe(&r)));
        }
    }
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}

#[test]
fn eicar_with_policy_on_is_still_reported() {
    let engine = EngineBuilder::new().build();
    let mut s = engine.scanner();
    for (case, msg) in mail::wrappings(&mail::eicar()) {
        let r = s.scan(&msg);
        assert!(
            r.detections.iter().any(|d| is_eicar(&d.name)),
            "{case}: {}",
            describe(&r)
        );
    }
}

#[test]
fn defaults_off_finds_nothing_in_eicar() {
    let engine = EngineBuilder::new().defaults(false).build();
    let mut s = engine.scanner();
    for (case, msg) in mail::wrappings(&mail::eicar()) {
        assert!(!s.scan(&msg).infected(), "{case}");
    }
}

#[test]
fn mail_target_signature_matches_the_raw_message_only() {
    let mut b = EngineBuilder::new().defaults(false).policy(Policy::off());
    b.load_bytes("m.ndb", b"Test.MailOnly:4:*:6d61696c2d6f6e6c792d6d61726b\n")
        .unwrap();
    let engine = b.build();
    let mut s = engine.scanner();
    let msg = mail::plain("t4", b"mail-only-mark in the body\r\n");
    assert_eq!(s.scan(&msg).name(), Some("Test.MailOnly.UNOFFICIAL"));
    // The same bytes as a plain file are not mail.
    assert!(!s.scan(b"plain file with mail-only-mark in it\n").infected());
}

fn exe_attachment(name: &str) -> Vec<u8> {
    let pe = matrix::tiny_pe(b"\x90\x90\xc3");
    mail::with_attachment(
        "exe",
        "application/octet-stream",
        Some("base64"),
        name,
        &mail::base64(&pe),
    )
}

fn policy_hits(r: &Report) -> Vec<&str> {
    r.detections
        .iter()
        .filter(|d| d.kind == DetectionKind::Heuristic)
        .map(|d| d.name.as_str())
        .collect()
}

#[test]
fn policy_flags_an_executable_attachment() {
    let on = EngineBuilder::new().build();
    let r = on.scanner().scan(&exe_attachment("invoice.exe"));
    let hits = policy_hits(&r);
    assert!(hits.contains(&policy::EXECUTABLE), "{}", describe(&r));
    assert!(
        hits.contains(&policy::DANGEROUS_EXTENSION),
        "{}",
        describe(&r)
    );
    let off = EngineBuilder::new().policy(Policy::off()).build();
    assert!(
        !off.scanner()
            .scan(&exe_attachment("invoice.exe"))
            .infected()
    );
    // Each switch on its own.
    let only_exe = Policy {
        executable: true,
        ..Policy::off()
    };
    let e = EngineBuilder::new()
        .defaults(false)
        .policy(only_exe)
        .build();
    let r = e.scanner().scan(&exe_attachment("data.bin"));
    assert_eq!(policy_hits(&r), [policy::EXECUTABLE], "{}", describe(&r));
    let only_ext = Policy {
        extension: true,
        ..Policy::off()
    };
    let e = EngineBuilder::new()
        .defaults(false)
        .policy(only_ext)
        .build();
    let script = mail::with_attachment(
        "scr",
        "application/octet-stream",
        Some("base64"),
        "screensaver.scr",
        &mail::base64(
            b"not really a program
",
        ),
    );
    let r = e.scanner().scan(&script);
    assert_eq!(
        policy_hits(&r),
        [policy::DANGEROUS_EXTENSION],
        "{}",
        describe(&r)
    );
}

#[test]
fn policy_flags_a_declared_type_that_hides_a_program() {
    let only = Policy {
        type_mismatch: true,
        ..Policy::off()
    };
    let engine = EngineBuilder::new().defaults(false).policy(only).build();
    let pe = matrix::tiny_pe(b"\x90\xc3");
    let msg = mail::with_attachment(
        "jpg",
        "image/jpeg",
        Some("base64"),
        "photo",
        &mail::base64(&pe),
    );
    let r = engine.scanner().scan(&msg);
    assert_eq!(policy_hits(&r), [policy::TYPE_MISMATCH], "{}", describe(&r));
    // Declared as what it is: no mismatch.
    let msg = mail::with_attachment(
        "exe",
        "application/octet-stream",
        Some("base64"),
        "photo",
        &mail::base64(&pe),
    );
    assert!(!engine.scanner().scan(&msg).infected());
}

#[test]
fn policy_flags_a_double_extension() {
    let only = Policy {
        double_extension: true,
        ..Policy::off()
    };
    let engine = EngineBuilder::new().defaults(false).policy(only).build();
    let msg = mail::with_attachment(
        "dbl",
        "application/pdf",
        Some("base64"),
        "report.pdf.exe",
        &mail::base64(b"%PDF-1.4\n%not really\n"),
    );
    let r = engine.scanner().scan(&msg);
    assert_eq!(
        policy_hits(&r),
        [policy::DOUBLE_EXTENSION],
        "{}",
        describe(&r)
    );
    let plain = mail::with_attachment(
        "dbl",
        "application/pdf",
        Some("base64"),
        "report.pdf",
        &mail::base64(b"%PDF-1.4\n%not really\n"),
    );
    assert!(!engine.scanner().scan(&plain).infected());
}

#[test]
fn policy_flags_an_executable_inside_a_zip() {
    let only = Policy {
        executable_in_archive: true,
        ..Policy::off()
    };
    let engine = EngineBuilder::new().defaults(false).policy(only).build();
    let pe = matrix::tiny_pe(b"\x90\xc3");
    let z = mail::zip(&[
        ("a.txt", b"hello\r\n", false, false),
        ("setup.exe", &pe, true, false),
    ]);
    let msg = mail::with_attachment(
        "z",
        "application/zip",
        Some("base64"),
        "files.zip",
        &mail::base64(&z),
    );
    let r = engine.scanner().scan(&msg);
    assert_eq!(
        policy_hits(&r),
        [policy::EXECUTABLE_IN_ARCHIVE],
        "{}",
        describe(&r)
    );
    let off = EngineBuilder::new()
        .defaults(false)
        .policy(Policy::off())
        .build();
    assert!(!off.scanner().scan(&msg).infected());
}

#[test]
fn policy_flags_an_encrypted_zip() {
    let only = Policy {
        encrypted: true,
        ..Policy::off()
    };
    let engine = EngineBuilder::new().defaults(false).policy(only).build();
    let z = mail::zip(&[("secret.doc", b"0123456789abcdef0123456789", false, true)]);
    let msg = mail::with_attachment(
        "enc",
        "application/zip",
        Some("base64"),
        "secret.zip",
        &mail::base64(&z),
    );
    let r = engine.scanner().scan(&msg);
    assert_eq!(policy_hits(&r), [policy::ENCRYPTED_ZIP], "{}", describe(&r));
    let off = EngineBuilder::new()
        .defaults(false)
        .policy(Policy::off())
        .build();
    assert!(!off.scanner().scan(&msg).infected());
}

#[test]
fn policy_leaves_ordinary_attachments_alone() {
    let engine = EngineBuilder::new().build();
    let mut s = engine.scanner();
    let pdf = mail::with_attachment(
        "pdf",
        "application/pdf",
        Some("base64"),
        "menu.pdf",
        &mail::base64(b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n"),
    );
    let r = s.scan(&pdf);
    assert!(!r.infected(), "{}", describe(&r));
    let txt = mail::with_attachment("txt", "text/plain", None, "notes.txt", b"just notes\r\n");
    let r = s.scan(&txt);
    assert!(!r.infected(), "{}", describe(&r));
}
