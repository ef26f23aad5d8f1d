//! `lf_engine` (reference counted), `lf_scanner`, `lf_envelope` and the
//! one-shot scan.

use std::borrow::Cow;
use std::ffi::c_char;
use std::sync::Arc;

use super::{
    Fail, boundary, boundary_or, bytes, cstr, handle, handle_mut, lf_report, lf_status, put_box,
};
use crate::envelope::Envelope;
use crate::{Engine, Scanner};

/// A compiled engine. Opaque and immutable; reference counted.
///
/// Every function taking a `const lf_engine *` is thread-safe: one engine
/// is meant to be shared by every thread and connection.
pub struct lf_engine {
    pub(crate) inner: Arc<Engine>,
}

/// Borrows the engine behind a handle.
///
/// # Safety
/// `e` is NULL or a live engine handle (holding at least one reference for
/// the duration of the call).
pub(crate) unsafe fn engine_arc<'a>(e: *const lf_engine) -> Result<&'a Arc<Engine>, Fail> {
    // SAFETY: forwarded from the caller.
    Ok(&unsafe { handle(e, "engine") }?.inner)
}

/// Takes one more reference to `engine`, to be released with
/// `lf_engine_unref`. NULL is a no-op. Returns `engine`.
///
/// `engine` must hold at least one reference during the call (it is not
/// enough that another thread might still own one). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_ref(engine: *const lf_engine) -> *const lf_engine {
    boundary_or(engine, || {
        if !engine.is_null() {
            // SAFETY: `engine` came from Arc::into_raw (lf_engine_builder_build)
            // and holds a reference for the duration of the call, as documented.
            unsafe { Arc::increment_strong_count(engine) };
        }
        engine
    })
}

/// Releases one reference to `engine`; the last one frees it. NULL is a
/// no-op.
///
/// Scanners and sessions made from the engine hold their own references,
/// so a milter may unref an engine it has replaced while scans on it are
/// still running. Each reference is released once; the caller's pointer
/// must not be used after its last reference is gone. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_unref(engine: *const lf_engine) {
    boundary_or((), || {
        if !engine.is_null() {
            // SAFETY: `engine` came from Arc::into_raw and this releases a
            // reference the caller owns, as documented.
            unsafe { Arc::decrement_strong_count(engine) };
        }
    })
}

/// The number of signatures the engine loaded (embedded defaults included),
/// or 0 when `engine` is NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_signature_count(engine: *const lf_engine) -> usize {
    boundary_or(0, || {
        // SAFETY: `engine` is NULL or a live engine, as documented above.
        match unsafe { engine_arc(engine) } {
            Ok(e) => e.load_report().loaded.values().sum::<u64>() as usize,
            Err(_) => 0,
        }
    })
}

/// The number of database lines that failed to load and were skipped, or 0
/// when `engine` is NULL. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_load_error_count(engine: *const lf_engine) -> usize {
    boundary_or(0, || {
        // SAFETY: `engine` is NULL or a live engine.
        match unsafe { engine_arc(engine) } {
            Ok(e) => e.load_report().errors.len(),
            Err(_) => 0,
        }
    })
}

/// The number of spam rules the engine runs (0 without rules, or when
/// `engine` is NULL). Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_rule_count(engine: *const lf_engine) -> usize {
    boundary_or(0, || {
        // SAFETY: `engine` is NULL or a live engine.
        match unsafe { engine_arc(engine) } {
            Ok(e) => e.rules().map_or(0, |r| r.rules().len()),
            Err(_) => 0,
        }
    })
}

/// The SMTP envelope of one message: client address, HELO, reverse DNS,
/// MAIL FROM and RCPT TO. Opaque; every setter copies its string.
///
/// The spam rules read only the message, so a scan with an envelope writes
/// these facts in front of the message as header fields, as spamass-milter
/// and amavis do: a `Received: from HELO (RDNS [IP])` line, `X-Envelope-From`
/// and `X-Envelope-To`. (A later version will feed them to the origin
/// checks directly.) Not thread-safe: one thread at a time.
pub struct lf_envelope {
    pub(crate) inner: Envelope,
}

/// Creates an empty envelope. On success `*out` is owned by the caller, to
/// be freed with `lf_envelope_free`. `out` must not be NULL.
///
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_envelope_new(out: *mut *mut lf_envelope) -> lf_status {
    boundary(|| {
        let e = Box::new(lf_envelope {
            inner: Envelope::default(),
        });
        // SAFETY: `out` is NULL (checked) or writable, as documented.
        unsafe { put_box(out, e, "out") }
    })
}

/// Frees an envelope. NULL is a no-op.
///
/// Must not run while another thread uses `env`; `env` must not be used
/// afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn lf_envelope_free(env: *mut lf_envelope) {
    boundary_or((), || {
        if !env.is_null() {
            // SAFETY: `env` came from lf_envelope_new and is freed once.
            drop(unsafe { Box::from_raw(env) });
        }
    })
}

/// Reads an optional NUL-terminated string from the network: NULL is
/// `None`, invalid UTF-8 is replaced, never refused.
///
/// # Safety
/// `p` is NULL or NUL-terminated.
pub(crate) unsafe fn opt_text(p: *const c_char) -> Option<String> {
    if p.is_null() {
        return None;
    }
    // SAFETY: forwarded from the caller.
    let b = unsafe { cstr(p, "string") }.ok()?;
    Some(String::from_utf8_lossy(b).into_owned())
}

/// One setter of `lf_envelope`.
fn set_field(
    env: *mut lf_envelope,
    value: *const c_char,
    f: impl FnOnce(&mut Envelope, Option<String>),
) -> lf_status {
    boundary(|| {
        // SAFETY: `env` is NULL (checked) or a live envelope used by this thread only.
        let e = unsafe { handle_mut(env, "envelope") }?;
        // SAFETY: `value` is NULL or NUL-terminated, as each setter documents.
        f(&mut e.inner, unsafe { opt_text(value) });
        Ok(())
    })
}

/// Sets the client's IP address as text (`"192.0.2.7"`, `"2001:db8::1"`);
/// NULL clears it. `env` must not be NULL.
///
/// Not thread-safe: one thread at a time per envelope.
#[unsafe(no_mangle)]
pub extern "C" fn lf_envelope_set_client_ip(env: *mut lf_envelope, ip: *const c_char) -> lf_status {
    set_field(env, ip, |e, v| e.client_ip = v)
}

/// Sets the HELO/EHLO name; NULL clears it. `env` must not be NULL.
///
/// Not thread-safe: one thread at a time per envelope.
#[unsafe(no_mangle)]
pub extern "C" fn lf_envelope_set_helo(env: *mut lf_envelope, helo: *const c_char) -> lf_status {
    set_field(env, helo, |e, v| e.helo = v)
}

/// Sets the client's reverse DNS name; NULL (unknown) clears it. `env`
/// must not be NULL.
///
/// Not thread-safe: one thread at a time per envelope.
#[unsafe(no_mangle)]
pub extern "C" fn lf_envelope_set_rdns(env: *mut lf_envelope, rdns: *const c_char) -> lf_status {
    set_field(env, rdns, |e, v| e.rdns = v)
}

/// Sets the envelope sender without angle brackets (`""` for the null
/// sender); NULL clears it. `env` must not be NULL.
///
/// Not thread-safe: one thread at a time per envelope.
#[unsafe(no_mangle)]
pub extern "C" fn lf_envelope_set_mail_from(
    env: *mut lf_envelope,
    from: *const c_char,
) -> lf_status {
    set_field(env, from, |e, v| e.mail_from = v)
}

/// Adds one envelope recipient, without angle brackets. `env` and `rcpt`
/// must not be NULL.
///
/// Not thread-safe: one thread at a time per envelope.
#[unsafe(no_mangle)]
pub extern "C" fn lf_envelope_add_rcpt(env: *mut lf_envelope, rcpt: *const c_char) -> lf_status {
    if rcpt.is_null() {
        return boundary(|| Err(Fail::null("rcpt")));
    }
    set_field(env, rcpt, |e, v| e.rcpt_to.extend(v))
}

/// Clears every field, for reuse. `env` must not be NULL.
///
/// Not thread-safe: one thread at a time per envelope.
#[unsafe(no_mangle)]
pub extern "C" fn lf_envelope_clear(env: *mut lf_envelope) -> lf_status {
    boundary(|| {
        // SAFETY: `env` is NULL (checked) or a live envelope.
        let e = unsafe { handle_mut(env, "envelope") }?;
        e.inner = Envelope::default();
        Ok(())
    })
}

/// A scanner: the scratch buffers one scan at a time works in. Opaque.
///
/// Not thread-safe: use each scanner from one thread at a time (it may move
/// between threads); make one per thread. It holds its own reference to its
/// engine.
pub struct lf_scanner {
    inner: Scanner,
}

/// Creates a scanner for `engine`. The scanner takes its own engine
/// reference, so the caller may unref `engine` at any time afterwards.
///
/// On success `*out` is owned by the caller, to be freed with
/// `lf_scanner_free`. `engine` and `out` must not be NULL. Thread-safe with
/// respect to `engine`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_scanner_new(engine: *const lf_engine, out: *mut *mut lf_scanner) -> lf_status {
    boundary(|| {
        if !out.is_null() {
            // SAFETY: non-NULL and writable, as documented.
            unsafe { out.write(std::ptr::null_mut()) };
        }
        // SAFETY: `engine` is NULL (checked) or live, as documented.
        let e = unsafe { engine_arc(engine) }?;
        let s = Box::new(lf_scanner { inner: e.scanner() });
        // SAFETY: `out` is NULL (checked) or writable.
        unsafe { put_box(out, s, "out") }
    })
}

/// Frees a scanner and its engine reference. NULL is a no-op.
///
/// Must not run while another thread uses `scanner`; `scanner` must not be
/// used afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn lf_scanner_free(scanner: *mut lf_scanner) {
    boundary_or((), || {
        if !scanner.is_null() {
            // SAFETY: `scanner` came from lf_scanner_new and is freed once.
            drop(unsafe { Box::from_raw(scanner) });
        }
    })
}

/// The bytes to scan for `data` with an optional envelope, and whether
/// they are scanned as mail: the prelude goes only in front of a buffer
/// that already looks like mail (a bare file is scanned as a file), and
/// such a buffer is scanned as mail with it.
pub(crate) fn prepared<'d>(data: &'d [u8], env: Option<&Envelope>) -> (Cow<'d, [u8]>, bool) {
    let mail = crate::engine::looks_like_mail(data);
    match env {
        Some(env) if !env.is_empty() && mail => (Cow::Owned(env.prepend(data)), true),
        _ => (Cow::Borrowed(data), mail),
    }
}

/// Scans `data` with an optional envelope: the shared part of the
/// one-shot scans and the session.
pub(crate) fn scan_with(
    scanner: &mut Scanner,
    data: &[u8],
    env: Option<&Envelope>,
) -> crate::Report {
    match prepared(data, env) {
        (input, true) => scanner.scan_message(&input),
        (input, false) => scanner.scan_file(&input),
    }
}

/// Scans `len` bytes at `data` (NULL only when `len` is 0): a mail message
/// (MIME-walked, every part decoded and matched, spam rules run) or, when
/// it does not look like one, a file. `env` may be NULL; when it is not and
/// `data` is a message, its facts are written in front of the message (see
/// `lf_envelope`).
///
/// On success `*out` is a new report owned by the caller, to be freed with
/// `lf_report_free`; it borrows nothing from `data` or `env`. `scanner` and
/// `out` must not be NULL. `scanner` must not be used by another thread
/// during the call; `data` and `env` are only read.
#[unsafe(no_mangle)]
pub extern "C" fn lf_scanner_scan(
    scanner: *mut lf_scanner,
    data: *const u8,
    len: usize,
    env: *const lf_envelope,
    out: *mut *mut lf_report,
) -> lf_status {
    boundary(|| {
        if !out.is_null() {
            // SAFETY: non-NULL and writable, as documented.
            unsafe { out.write(std::ptr::null_mut()) };
        }
        // SAFETY: `scanner` is NULL (checked) or live and used by this thread only.
        let s = unsafe { handle_mut(scanner, "scanner") }?;
        // SAFETY: `data` is valid for `len` bytes, as documented.
        let data = unsafe { bytes(data, len, "data") }?;
        // SAFETY: `env` is NULL or a live envelope, only read.
        let env = unsafe { env.as_ref() }.map(|e| &e.inner);
        if out.is_null() {
            return Err(Fail::null("out"));
        }
        let report = lf_report::new(scan_with(&mut s.inner, data, env), s.inner.engine());
        // SAFETY: checked non-NULL above.
        unsafe { put_box(out, Box::new(report), "out") }
    })
}

/// Scans `count` inputs as `lf_scanner_scan` scans each: input `i` is
/// `lens[i]` bytes at `datas[i]` (NULL only when `lens[i]` is 0), with
/// the envelope `envs[i]`, or none when `envs` or `envs[i]` is NULL.
///
/// The reports are those `lf_scanner_scan` would give one input at a time,
/// but the spam rules run on the messages of a batch together, rule by
/// rule, which with large rule sets (the stock SpamAssassin rules) takes
/// about a quarter off the CPU time per message. Use it where messages can
/// wait for each other: a queue, a mailbox, a corpus. The scanner keeps a
/// rendered view per message of a batch (64 at most) between calls.
///
/// On success `out[i]` is a new report for input `i`, owned by the caller,
/// to be freed with `lf_report_free`; on failure every `out[i]` is NULL.
/// `scanner` must not be NULL; `datas`, `lens` and `out` may be NULL only
/// when `count` is 0, and otherwise point to `count` elements. `scanner`
/// must not be used by another thread during the call; the inputs and
/// envelopes are only read.
#[unsafe(no_mangle)]
pub extern "C" fn lf_scanner_scan_many(
    scanner: *mut lf_scanner,
    datas: *const *const u8,
    lens: *const usize,
    envs: *const *const lf_envelope,
    count: usize,
    out: *mut *mut lf_report,
) -> lf_status {
    boundary(|| {
        if count == 0 {
            return Ok(());
        }
        if out.is_null() {
            return Err(Fail::null("out"));
        }
        // SAFETY: `out` is non-NULL (checked) and points to `count`
        // writable slots, as documented.
        let out = unsafe { std::slice::from_raw_parts_mut(out, count) };
        out.fill(std::ptr::null_mut());
        // SAFETY: `scanner` is NULL (checked) or live and used by this thread only.
        let s = unsafe { handle_mut(scanner, "scanner") }?;
        if datas.is_null() {
            return Err(Fail::null("datas"));
        }
        if lens.is_null() {
            return Err(Fail::null("lens"));
        }
        // SAFETY: both non-NULL (checked) and valid for `count` reads.
        let (datas, lens) = unsafe {
            (
                std::slice::from_raw_parts(datas, count),
                std::slice::from_raw_parts(lens, count),
            )
        };
        // SAFETY: `envs` is NULL or valid for `count` reads.
        let envs = (!envs.is_null()).then(|| unsafe { std::slice::from_raw_parts(envs, count) });
        // Each input, and whether it is scanned as mail.
        let mut inputs: Vec<(Cow<'_, [u8]>, bool)> = Vec::with_capacity(count);
        for i in 0..count {
            // SAFETY: `datas[i]` is valid for `lens[i]` bytes, as documented.
            let data = unsafe { bytes(datas[i], lens[i], "datas[i]") }?;
            // SAFETY: each entry is NULL or a live envelope, only read.
            let env = envs
                .and_then(|e| unsafe { e[i].as_ref() })
                .map(|e| &e.inner);
            inputs.push(prepared(data, env));
        }
        let refs: Vec<(&[u8], bool)> = inputs.iter().map(|(d, m)| (d.as_ref(), *m)).collect();
        let reports = s.inner.scan_batch(&refs);
        for (slot, report) in out.iter_mut().zip(reports) {
            let r = Box::new(lf_report::new(report, s.inner.engine()));
            *slot = Box::into_raw(r);
        }
        Ok(())
    })
}

/// `lf_scanner_scan` with a scanner made for this one call: simpler, and
/// thread-safe (any number of threads may call it on one engine), at the
/// cost of scratch buffers allocated anew each time.
///
/// `engine` and `out` must not be NULL; `*out` as for `lf_scanner_scan`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_scan(
    engine: *const lf_engine,
    data: *const u8,
    len: usize,
    env: *const lf_envelope,
    out: *mut *mut lf_report,
) -> lf_status {
    boundary(|| {
        if !out.is_null() {
            // SAFETY: non-NULL and writable, as documented.
            unsafe { out.write(std::ptr::null_mut()) };
        }
        // SAFETY: `engine` is NULL (checked) or live.
        let e = unsafe { engine_arc(engine) }?;
        // SAFETY: `data` is valid for `len` bytes, as documented.
        let data = unsafe { bytes(data, len, "data") }?;
        // SAFETY: `env` is NULL or a live envelope, only read.
        let env = unsafe { env.as_ref() }.map(|e| &e.inner);
        if out.is_null() {
            return Err(Fail::null("out"));
        }
        let mut s = e.scanner();
        let report = lf_report::new(scan_with(&mut s, data, env), e);
        // SAFETY: checked non-NULL above.
        unsafe { put_box(out, Box::new(report), "out") }
    })
}
