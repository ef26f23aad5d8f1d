#![no_main]

//! Arbitrary bytes through the HTML renderer and the whole feature builder:
//! nothing may panic, and the rendered text stays bounded by the input.

use filter::Limits;
use filter::mime::Message;
use filter::spam::Features;
use filter::spam::html::{Rendered, render};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    let mut r = Rendered::default();
    render(&html, &mut r);
    assert!(r.text.len() <= 3 * html.len() + 16);
    assert_eq!(r.text.len(), r.visible.len() + r.invisible.len());

    // The same bytes as an HTML message body, and as a whole message.
    let mut msg = b"Subject: x\r\nContent-Type: text/html\r\n\r\n".to_vec();
    msg.extend_from_slice(data);
    let limits = Limits::default();
    let mut f = Features::default();
    for raw in [&msg[..], data] {
        let m = Message::parse_with(raw, &limits);
        f.build(&m, &limits);
        assert!(f.body.buf.len() <= 3 * raw.len() + 4096);
        assert!(f.rawbody.buf.len() <= 2 * raw.len() + 4096);
    }
});
