#![no_main]

use std::sync::LazyLock;

use filter::spam::evals::FreeMail;

static FM: LazyLock<FreeMail> = LazyLock::new(|| {
    FreeMail::from_settings([
        ("freemail_domains", "gmail.com *.example.com ex?mple.org"),
        ("freemail_max_body_freemails", "30"),
        ("freemail_max_body_emails", "60"),
    ])
    .0
});

// The body address finder of the FreeMail tests, on any text: every
// address it returns is free mail, lowercase, and found in the text, and
// there are never more than the limit allows.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let fm = &*FM;
    let text = String::from_utf8_lossy(data).to_ascii_lowercase();
    let hrefs = text.split(' ');
    let Some(found) = fm.body_freemails(hrefs, data.split(|&b| b == b'\n')) else {
        return;
    };
    assert!(found.len() < 30);
    for e in &found {
        assert!(fm.is_freemail(e), "{e}");
        assert_eq!(*e, e.to_ascii_lowercase());
        assert!(text.contains(e.as_str()), "{e}");
    }
});
