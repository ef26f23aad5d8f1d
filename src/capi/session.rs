//! `lf_session`: the streaming interface a milter drives.
//!
//! A milter learns a message piece by piece — connection, HELO, MAIL FROM,
//! RCPT TO, header fields one at a time, body chunks — and can only act
//! on the whole at end of message. The session collects those pieces into
//! one buffer: the header fields rewritten as `name: value` lines ending in
//! CRLF, an empty line, then the body chunks as given (a milter receives
//! them with CRLF line ends). At `lf_session_finish` the envelope prelude
//! (see [`crate::envelope`]) goes in front and the whole is scanned once.
//!
//! The buffer is bounded by the engine's `max_decoded_total` limit (or
//! `lf_session_set_max_size`). Past it the session stops buffering, scans
//! what it has, and marks the report: an `LF_DETECTION_LIMIT` detection
//! named `Heuristics.Limits.Exceeded.MaxScanSize` and the
//! `LF_REPORT_TRUNCATED` flag. A message too large to scan is never called
//! clean.

use std::ffi::c_char;

use super::engine::{engine_arc, opt_text, scan_with};
use super::{
    Fail, boundary, boundary_or, bytes, cstr, handle_mut, lf_engine, lf_report, lf_status, put_box,
};
use crate::Scanner;
use crate::envelope::Envelope;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Header fields may come.
    Headers,
    /// After the end of headers: body chunks only.
    Body,
}

/// A streaming scan of the messages of one SMTP connection. Opaque.
///
/// Not thread-safe: one connection's callbacks, one thread at a time (a
/// milter's per-connection context is exactly that). It holds its own
/// engine reference.
pub struct lf_session {
    scanner: Scanner,
    /// Connection facts and the current message's envelope.
    envelope: Envelope,
    buf: Vec<u8>,
    state: State,
    max: usize,
    truncated: bool,
}

impl lf_session {
    /// Forgets the current message; keeps client IP, reverse DNS and HELO.
    fn reset_message(&mut self) {
        self.envelope.mail_from = None;
        self.envelope.rcpt_to.clear();
        self.buf.clear();
        if self.buf.capacity() > 16 << 20 {
            self.buf = Vec::new();
        }
        self.state = State::Headers;
        self.truncated = false;
    }

    /// Appends message text, up to the size limit.
    fn push(&mut self, parts: &[&[u8]]) {
        if self.truncated {
            return;
        }
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if self.buf.len().saturating_add(len) > self.max {
            self.truncated = true;
            // Keep what fits: the scan still sees the start of the message.
            let mut room = self.max.saturating_sub(self.buf.len());
            for p in parts {
                let n = p.len().min(room);
                self.buf.extend_from_slice(&p[..n]);
                room -= n;
            }
            return;
        }
        for p in parts {
            self.buf.extend_from_slice(p);
        }
    }

    fn end_headers(&mut self) {
        if self.state == State::Headers {
            self.push(&[b"\r\n"]);
            self.state = State::Body;
        }
    }
}

/// Runs `f` on a live session.
fn with(session: *mut lf_session, f: impl FnOnce(&mut lf_session) -> super::Res) -> lf_status {
    boundary(|| {
        // SAFETY: every session function documents that `session` is NULL or
        // live and used by one thread at a time.
        let s = unsafe { handle_mut(session, "session") }?;
        f(s)
    })
}

/// Creates a session on `engine` for one SMTP connection. The session takes
/// its own engine reference, so the caller may unref `engine` (for
/// instance after a reload) while the session lives.
///
/// On success `*out` is owned by the caller, to be freed with
/// `lf_session_free`. `engine` and `out` must not be NULL.
///
/// Thread-safe with respect to `engine` (many threads may make sessions on one
/// engine); the new session is used by one thread at a time.
#[unsafe(no_mangle)]
pub extern "C" fn lf_session_new(engine: *const lf_engine, out: *mut *mut lf_session) -> lf_status {
    boundary(|| {
        if !out.is_null() {
            // SAFETY: non-NULL and writable, as documented.
            unsafe { out.write(std::ptr::null_mut()) };
        }
        // SAFETY: `engine` is NULL (checked) or live, as documented.
        let e = unsafe { engine_arc(engine) }?;
        let s = Box::new(lf_session {
            scanner: e.scanner(),
            envelope: Envelope::default(),
            buf: Vec::new(),
            state: State::Headers,
            max: e.limits().max_decoded_total,
            truncated: false,
        });
        // SAFETY: `out` is NULL (checked) or writable.
        unsafe { put_box(out, s, "out") }
    })
}

/// Frees a session, its buffered message and its engine reference. NULL is
/// a no-op.
///
/// Must not run while another thread uses `session`; `session` must not be
/// used afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn lf_session_free(session: *mut lf_session) {
    boundary_or((), || {
        if !session.is_null() {
            // SAFETY: `session` came from lf_session_new and is freed once.
            drop(unsafe { Box::from_raw(session) });
        }
    })
}

/// Sets the most message bytes the session buffers (default: the engine's
/// `LF_LIMIT_MAX_DECODED_TOTAL`). `session` must not be NULL.
///
/// Not thread-safe: one thread at a time per session.
#[unsafe(no_mangle)]
pub extern "C" fn lf_session_set_max_size(session: *mut lf_session, max: usize) -> lf_status {
    with(session, |s| {
        s.max = max;
        Ok(())
    })
}

/// The connection: the client's IP address as text and its reverse DNS
/// name, each NUL-terminated or NULL when unknown (copied). Kept for every
/// message of the connection. `session` must not be NULL.
///
/// Not thread-safe: one thread at a time per session.
#[unsafe(no_mangle)]
pub extern "C" fn lf_session_connect(
    session: *mut lf_session,
    ip: *const c_char,
    rdns: *const c_char,
) -> lf_status {
    with(session, |s| {
        // SAFETY: `ip` and `rdns` are NULL or NUL-terminated, as documented.
        let (ip, rdns) = unsafe { (opt_text(ip), opt_text(rdns)) };
        s.envelope.client_ip = ip;
        s.envelope.rdns = rdns;
        Ok(())
    })
}

/// The HELO/EHLO name (NUL-terminated, copied); kept for every message of
/// the connection until the next HELO. `session` and `helo` must not be
/// NULL.
///
/// Not thread-safe: one thread at a time per session.
#[unsafe(no_mangle)]
pub extern "C" fn lf_session_helo(session: *mut lf_session, helo: *const c_char) -> lf_status {
    with(session, |s| {
        if helo.is_null() {
            return Err(Fail::null("helo"));
        }
        // SAFETY: non-NULL and NUL-terminated, as documented.
        s.envelope.helo = unsafe { opt_text(helo) };
        Ok(())
    })
}

/// MAIL FROM (NUL-terminated, without angle brackets, `""` for the null
/// sender; copied). Starts a new message: whatever was buffered for the
/// previous one is dropped. `session` and `from` must not be NULL.
///
/// Not thread-safe: one thread at a time per session.
#[unsafe(no_mangle)]
pub extern "C" fn lf_session_mail(session: *mut lf_session, from: *const c_char) -> lf_status {
    with(session, |s| {
        if from.is_null() {
            return Err(Fail::null("from"));
        }
        s.reset_message();
        // SAFETY: non-NULL and NUL-terminated, as documented.
        s.envelope.mail_from = unsafe { opt_text(from) };
        Ok(())
    })
}

/// One RCPT TO (NUL-terminated, without angle brackets; copied).
/// `session` and `rcpt` must not be NULL.
///
/// Not thread-safe: one thread at a time per session.
#[unsafe(no_mangle)]
pub extern "C" fn lf_session_rcpt(session: *mut lf_session, rcpt: *const c_char) -> lf_status {
    with(session, |s| {
        if rcpt.is_null() {
            return Err(Fail::null("rcpt"));
        }
        // SAFETY: non-NULL and NUL-terminated, as documented.
        s.envelope.rcpt_to.extend(unsafe { opt_text(rcpt) });
        Ok(())
    })
}

/// One header field, as libmilter's header callback gives it: the name and
/// the value, NUL-terminated (copied; any bytes, not only UTF-8). A value's
/// folded lines may be separated by `"\n"` or `"\r\n"`; both are buffered
/// as CRLF. One leading space is added unless the value starts with a space
/// or a tab. `session`, `name` and `value` must not be NULL;
/// `LF_ERR_STATE` after `lf_session_eoh` or a body chunk.
///
/// Not thread-safe: one thread at a time per session.
#[unsafe(no_mangle)]
pub extern "C" fn lf_session_header(
    session: *mut lf_session,
    name: *const c_char,
    value: *const c_char,
) -> lf_status {
    with(session, |s| {
        // SAFETY: `name` and `value` are NULL (checked) or NUL-terminated.
        let (name, value) = unsafe { (cstr(name, "name")?, cstr(value, "value")?) };
        if s.state != State::Headers {
            return Err(Fail::new(
                lf_status::LF_ERR_STATE,
                "header field after the end of headers",
            ));
        }
        let mut line = Vec::with_capacity(name.len() + value.len() + 4);
        line.extend_from_slice(name);
        line.push(b':');
        if !value.starts_with(b" ") && !value.starts_with(b"\t") {
            line.push(b' ');
        }
        for (i, l) in value.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                line.extend_from_slice(b"\r\n");
            }
            line.extend_from_slice(l.strip_suffix(b"\r").unwrap_or(l));
        }
        line.extend_from_slice(b"\r\n");
        s.push(&[&line]);
        Ok(())
    })
}

/// The end of the header fields. Optional: the first body chunk or
/// `lf_session_finish` implies it. `session` must not be NULL.
///
/// Not thread-safe: one thread at a time per session.
#[unsafe(no_mangle)]
pub extern "C" fn lf_session_eoh(session: *mut lf_session) -> lf_status {
    with(session, |s| {
        s.end_headers();
        Ok(())
    })
}

/// One chunk of the body: `len` bytes at `chunk` (copied; NULL only when
/// `len` is 0), in order, line ends as the MTA sends them (CRLF).
/// `session` must not be NULL.
///
/// Not thread-safe: one thread at a time per session.
#[unsafe(no_mangle)]
pub extern "C" fn lf_session_body(
    session: *mut lf_session,
    chunk: *const u8,
    len: usize,
) -> lf_status {
    with(session, |s| {
        // SAFETY: `chunk` is valid for `len` bytes, as documented.
        let chunk = unsafe { bytes(chunk, len, "chunk") }?;
        s.end_headers();
        s.push(&[chunk]);
        Ok(())
    })
}

/// The end of the message: scans what was buffered, with the connection
/// and envelope facts in front, and readies the session for the next
/// message on the connection (as `lf_session_reset`).
///
/// On success `*out` is a new report owned by the caller, to be freed with
/// `lf_report_free`. `session` and `out` must not be NULL. On failure
/// `*out` is NULL and the message may still be buffered: call
/// `lf_session_reset` before the next message.
///
/// A message cut at the size limit is still scanned (what was buffered)
/// and reported as `LF_VERDICT_VIRUS` with an `LF_DETECTION_LIMIT`
/// detection and the `LF_REPORT_TRUNCATED` flag; the spam rules see only
/// the buffered part.
///
/// Not thread-safe: one thread at a time per session.
#[unsafe(no_mangle)]
pub extern "C" fn lf_session_finish(
    session: *mut lf_session,
    out: *mut *mut lf_report,
) -> lf_status {
    with(session, |s| {
        if out.is_null() {
            return Err(Fail::null("out"));
        }
        // SAFETY: non-NULL and writable, as documented.
        unsafe { out.write(std::ptr::null_mut()) };
        s.end_headers();
        let report = scan_with(&mut s.scanner, &s.buf, Some(&s.envelope));
        let mut report = lf_report::new(report, s.scanner.engine());
        if s.truncated {
            report.truncated();
        }
        s.reset_message();
        // SAFETY: checked non-NULL above.
        unsafe { put_box(out, Box::new(report), "out") }
    })
}

/// Drops the current message (envelope sender, recipients, buffered text)
/// and keeps the connection facts (client IP, reverse DNS, HELO): for an
/// aborted message, or RSET. `session` must not be NULL.
///
/// Not thread-safe: one thread at a time per session.
#[unsafe(no_mangle)]
pub extern "C" fn lf_session_reset(session: *mut lf_session) -> lf_status {
    with(session, |s| {
        s.reset_message();
        Ok(())
    })
}
