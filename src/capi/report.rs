//! `lf_report`: what one scan found, as C sees it.

use std::ffi::{CString, c_char};
use std::sync::Arc;

use super::{
    Fail, Res, boundary, boundary_or, c_string, cstr_utf8, handle, handle_mut, lf_status, put,
};
use crate::report::DetectionKind;
use crate::spam::dns::{Answer, QType};
use crate::spam::verdict::Action;
use crate::{Engine, Report};

/// The overall verdict of a scan.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lf_verdict {
    /// Nothing detected, and not spam (or no spam rules ran).
    LF_VERDICT_CLEAN = 0,
    /// At least one detection: a signature, an attachment-policy heuristic,
    /// or a scan limit reached (content that could not be scanned in full
    /// is never called clean; `lf_report_detection_kind` tells which).
    LF_VERDICT_VIRUS = 1,
    /// No detection, and the spam score reached the required score.
    LF_VERDICT_SPAM = 2,
}

/// What the MTA should do with the message.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lf_action {
    /// Deliver as is.
    LF_ACTION_ACCEPT = 0,
    /// Ask the sender to retry later.
    LF_ACTION_GREYLIST = 1,
    /// Deliver with the headers of `lf_report_header`.
    LF_ACTION_ADD_HEADER = 2,
    /// Refuse: every virus verdict, and spam from the reject threshold.
    LF_ACTION_REJECT = 3,
}

/// What made a detection.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lf_detection_kind {
    /// A database signature.
    LF_DETECTION_SIGNATURE = 0,
    /// An attachment-policy heuristic.
    LF_DETECTION_HEURISTIC = 1,
    /// A scan limit was reached; the content could not be scanned in full.
    LF_DETECTION_LIMIT = 2,
}

/// `lf_report_dns_query_type`: the name is asked for A records (IPv4
/// addresses; answer with `lf_report_dns_answer`). The value is DNS's own
/// type number, as `res_query` takes it.
pub const LF_DNS_A: u16 = 1;
/// `lf_report_dns_query_type`: the name is asked for TXT records (answer
/// with `lf_report_dns_answer_txt`). DNS's type number.
pub const LF_DNS_TXT: u16 = 16;

/// `lf_report_flags`: the spam rules ran on this input (it was a message
/// and the engine has rules).
pub const LF_REPORT_SPAM_CHECKED: u32 = 1;
/// `lf_report_flags`: some rule could not run for lack of budget, so the
/// spam score may be low.
pub const LF_REPORT_SPAM_INCOMPLETE: u32 = 2;
/// `lf_report_flags`: a scan limit was reached (there is an
/// `LF_DETECTION_LIMIT` detection).
pub const LF_REPORT_LIMIT: u32 = 4;
/// `lf_report_flags`: a session stopped buffering the message at its size
/// limit; only the first part was scanned.
pub const LF_REPORT_TRUNCATED: u32 = 8;

struct Detection {
    name: CString,
    kind: lf_detection_kind,
    location: CString,
}

struct Symbol {
    name: CString,
    score: f64,
    description: CString,
}

/// The result of one scan. Opaque and immutable: it owns every string it
/// hands out (valid until `lf_report_free`) and borrows nothing from the
/// scanned buffer. Reading one report from several threads at once is
/// safe; freeing it is not.
pub struct lf_report {
    verdict: lf_verdict,
    action: lf_action,
    score: f64,
    required: f64,
    /// The Bayes probability, NaN without a model.
    bayes: f64,
    flags: u32,
    detections: Vec<Detection>,
    symbols: Vec<Symbol>,
    defects: Vec<CString>,
    headers: Vec<(CString, CString)>,
    /// DNS work left (an engine built with `lf_engine_builder_set_net`).
    dns: Option<Box<DnsWork>>,
}

/// What `lf_report_dns_resolve` needs: the Rust report, its engine, the
/// names to ask, and the answers given so far.
struct DnsWork {
    report: Report,
    engine: Arc<Engine>,
    queries: Vec<(CString, u16)>,
    answers: Vec<Answer>,
}

impl lf_report {
    pub(crate) fn new(r: Report, engine: &Arc<Engine>) -> lf_report {
        let dns = r
            .spam
            .as_ref()
            .filter(|v| !v.queries().is_empty())
            .map(|v| {
                Box::new(DnsWork {
                    queries: v
                        .queries()
                        .iter()
                        .map(|q| {
                            let t = match q.qtype {
                                QType::A => LF_DNS_A,
                                QType::Txt => LF_DNS_TXT,
                            };
                            (c_string(q.name.as_str()), t)
                        })
                        .collect(),
                    report: r.clone(),
                    engine: Arc::clone(engine),
                    answers: Vec::new(),
                })
            });
        let mut flags = 0;
        let detections: Vec<Detection> = r
            .detections
            .iter()
            .map(|d| Detection {
                name: c_string(d.name.as_str()),
                kind: match d.kind {
                    DetectionKind::Signature => lf_detection_kind::LF_DETECTION_SIGNATURE,
                    DetectionKind::Heuristic => lf_detection_kind::LF_DETECTION_HEURISTIC,
                    DetectionKind::Limit => {
                        flags |= LF_REPORT_LIMIT;
                        lf_detection_kind::LF_DETECTION_LIMIT
                    }
                },
                location: c_string(d.location.as_str()),
            })
            .collect();
        let mut headers = Vec::new();
        let (mut score, mut required, mut action, mut spam) =
            (0.0, 0.0, lf_action::LF_ACTION_ACCEPT, false);
        let mut symbols = Vec::new();
        if let Some(v) = &r.spam {
            flags |= LF_REPORT_SPAM_CHECKED;
            if v.budget_exhausted {
                flags |= LF_REPORT_SPAM_INCOMPLETE;
            }
            score = v.score;
            required = v.required;
            spam = v.is_spam;
            action = match v.action {
                Action::Accept => lf_action::LF_ACTION_ACCEPT,
                Action::Greylist => lf_action::LF_ACTION_GREYLIST,
                Action::AddHeader => lf_action::LF_ACTION_ADD_HEADER,
                Action::Reject => lf_action::LF_ACTION_REJECT,
            };
            symbols = v
                .symbols
                .iter()
                .map(|s| Symbol {
                    name: c_string(s.name.as_str()),
                    score: s.score,
                    description: c_string(s.description.as_str()),
                })
                .collect();
            headers.extend(
                v.headers()
                    .into_iter()
                    .map(|(n, v)| (c_string(n), c_string(v))),
            );
        } else if let Some(rules) = engine.rules() {
            required = rules.required_score();
        }
        let verdict = if !detections.is_empty() {
            action = lf_action::LF_ACTION_REJECT;
            lf_verdict::LF_VERDICT_VIRUS
        } else if spam {
            lf_verdict::LF_VERDICT_SPAM
        } else {
            lf_verdict::LF_VERDICT_CLEAN
        };
        headers.push((
            c_string("X-Virus-Scanned"),
            c_string(concat!("libfilter ", env!("CARGO_PKG_VERSION"))),
        ));
        lf_report {
            verdict,
            action,
            score,
            required,
            bayes: r.spam.as_ref().and_then(|v| v.bayes).unwrap_or(f64::NAN),
            flags,
            detections,
            symbols,
            defects: r.defects.names().map(c_string).collect(),
            headers,
            dns,
        }
    }

    /// Marks a session's message as cut at its size limit.
    pub(crate) fn truncated(&mut self) {
        self.flags |= LF_REPORT_TRUNCATED | LF_REPORT_LIMIT;
        self.detections.push(Detection {
            name: c_string("Heuristics.Limits.Exceeded.MaxScanSize"),
            kind: lf_detection_kind::LF_DETECTION_LIMIT,
            location: c_string(""),
        });
        self.verdict = lf_verdict::LF_VERDICT_VIRUS;
        self.action = lf_action::LF_ACTION_REJECT;
    }
}

/// Frees a report and every string it handed out. NULL is a no-op.
///
/// Must not run while another thread reads `report`; `report` and its strings
/// must not be used afterwards.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_free(report: *mut lf_report) {
    boundary_or((), || {
        if !report.is_null() {
            // SAFETY: `report` came from a scan or lf_session_finish and is
            // freed once, as documented.
            drop(unsafe { Box::from_raw(report) });
        }
    })
}

/// Runs `f` on a report behind a non-NULL pointer.
fn with(report: *const lf_report, f: impl FnOnce(&lf_report) -> Res) -> lf_status {
    boundary(|| {
        // SAFETY: every accessor documents that `report` is NULL or live.
        let r = unsafe { handle(report, "report") }?;
        f(r)
    })
}

/// A count from a report, 0 when it is NULL.
fn count(report: *const lf_report, f: impl FnOnce(&lf_report) -> usize) -> usize {
    boundary_or(0, || {
        // SAFETY: every count documents that `report` is NULL or live.
        match unsafe { handle(report, "report") } {
            Ok(r) => f(r),
            Err(_) => 0,
        }
    })
}

fn index<T>(v: &[T], i: usize) -> Result<&T, Fail> {
    v.get(i)
        .ok_or_else(|| Fail::invalid(format!("index {i} out of range (count {})", v.len())))
}

/// Writes the verdict into `*out`. `report` and `out` must not be NULL.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_verdict(report: *const lf_report, out: *mut lf_verdict) -> lf_status {
    // SAFETY: `out` is NULL (checked) or writable, as documented.
    with(report, |r| unsafe { put(out, r.verdict, "out") })
}

/// Writes the action into `*out`: `LF_ACTION_REJECT` for every virus
/// verdict, else the spam verdict's step on the thresholds
/// (`LF_ACTION_ACCEPT` when no rules ran). `report` and `out` must not be
/// NULL.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_action(report: *const lf_report, out: *mut lf_action) -> lf_status {
    // SAFETY: `out` is NULL (checked) or writable, as documented.
    with(report, |r| unsafe { put(out, r.action, "out") })
}

/// Writes the spam score into `*out` (0 when no rules ran; see
/// `LF_REPORT_SPAM_CHECKED`). `report` and `out` must not be NULL.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_score(report: *const lf_report, out: *mut f64) -> lf_status {
    // SAFETY: `out` is NULL (checked) or writable, as documented.
    with(report, |r| unsafe { put(out, r.score, "out") })
}

/// Writes the Bayes classifier's probability that the message is spam
/// (0 to 1) into `*out`; NaN when the engine has no Bayes model
/// (`lf_engine_builder_set_bayes`, `lf_engine_builder_load_bayes`) or no
/// rules ran. `report` and `out` must not be NULL.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_bayes(report: *const lf_report, out: *mut f64) -> lf_status {
    // SAFETY: `out` is NULL (checked) or writable, as documented.
    with(report, |r| unsafe { put(out, r.bayes, "out") })
}

/// Writes the required score (the spam threshold, SpamAssassin's
/// `required_score`) into `*out`; 0 when the engine has no rules.
/// `report` and `out` must not be NULL.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_required_score(report: *const lf_report, out: *mut f64) -> lf_status {
    // SAFETY: `out` is NULL (checked) or writable, as documented.
    with(report, |r| unsafe { put(out, r.required, "out") })
}

/// The report's `LF_REPORT_*` flags, or 0 when `report` is NULL.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_flags(report: *const lf_report) -> u32 {
    count(report, |r| r.flags as usize) as u32
}

/// The number of detections (virus names), or 0 when `report` is NULL.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_detection_count(report: *const lf_report) -> usize {
    count(report, |r| r.detections.len())
}

/// Writes the name of detection `i` (0-based, below
/// `lf_report_detection_count`) into `*name`, e.g.
/// `"Win.Test.EICAR_HDB-1"`; the first is what clamscan prints. The string
/// is NUL-terminated and owned by the report. `report` and `name` must not
/// be NULL; `LF_ERR_INVALID` when `i` is out of range.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_detection_name(
    report: *const lf_report,
    i: usize,
    name: *mut *const c_char,
) -> lf_status {
    with(report, |r| {
        let d = index(&r.detections, i)?;
        // SAFETY: `name` is NULL (checked) or writable, as documented.
        unsafe { put(name, d.name.as_ptr(), "name") }
    })
}

/// Writes what made detection `i` into `*kind`. `report` and `kind` must
/// not be NULL; `LF_ERR_INVALID` when `i` is out of range.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_detection_kind(
    report: *const lf_report,
    i: usize,
    kind: *mut lf_detection_kind,
) -> lf_status {
    with(report, |r| {
        let d = index(&r.detections, i)?;
        // SAFETY: `kind` is NULL (checked) or writable, as documented.
        unsafe { put(kind, d.kind, "kind") }
    })
}

/// Writes where detection `i` was found into `*location`: the part and
/// member path, e.g. `"2/invoice.zip/a.exe"`, empty for the whole input.
/// Owned by the report. `report` and `location` must not be NULL;
/// `LF_ERR_INVALID` when `i` is out of range.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_detection_location(
    report: *const lf_report,
    i: usize,
    location: *mut *const c_char,
) -> lf_status {
    with(report, |r| {
        let d = index(&r.detections, i)?;
        // SAFETY: `location` is NULL (checked) or writable, as documented.
        unsafe { put(location, d.location.as_ptr(), "location") }
    })
}

/// The number of spam rules that hit (symbols), or 0 when `report` is NULL.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_symbol_count(report: *const lf_report) -> usize {
    count(report, |r| r.symbols.len())
}

/// Reads symbol `i` (0-based, sorted by name): its rule name, the score it
/// added and the rule's description. Each of `name`, `score` and
/// `description` may be NULL when not wanted; strings are NUL-terminated
/// and owned by the report. `report` must not be NULL; `LF_ERR_INVALID`
/// when `i` is out of range.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_symbol(
    report: *const lf_report,
    i: usize,
    name: *mut *const c_char,
    score: *mut f64,
    description: *mut *const c_char,
) -> lf_status {
    with(report, |r| {
        let s = index(&r.symbols, i)?;
        // SAFETY: each out-parameter is NULL (skipped) or writable, as
        // documented.
        unsafe {
            if !name.is_null() {
                name.write(s.name.as_ptr());
            }
            if !score.is_null() {
                score.write(s.score);
            }
            if !description.is_null() {
                description.write(s.description.as_ptr());
            }
        }
        Ok(())
    })
}

/// The number of structural defects found (malformed MIME, limits hit while
/// parsing), or 0 when `report` is NULL.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_defect_count(report: *const lf_report) -> usize {
    count(report, |r| r.defects.len())
}

/// Writes the name of defect `i` into `*name`, e.g. `"MISSING_BOUNDARY"`;
/// owned by the report. `report` and `name` must not be NULL;
/// `LF_ERR_INVALID` when `i` is out of range.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_defect(
    report: *const lf_report,
    i: usize,
    name: *mut *const c_char,
) -> lf_status {
    with(report, |r| {
        let d = index(&r.defects, i)?;
        // SAFETY: `name` is NULL (checked) or writable, as documented.
        unsafe { put(name, d.as_ptr(), "name") }
    })
}

/// The number of header fields to add to the message, or 0 when `report`
/// is NULL. Always at least one (`X-Virus-Scanned`).
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_header_count(report: *const lf_report) -> usize {
    count(report, |r| r.headers.len())
}

/// Reads header field `i` to add: `X-Spam-Status` (whenever rules ran),
/// `X-Spam-Flag: YES` and `X-Spam-Report` (on spam), then
/// `X-Virus-Scanned`. Values are folded with `"\n\t"`, as
/// `smfi_addheader` takes them, without a trailing line end. Strings are
/// owned by the report. `report`, `name` and `value` must not be NULL;
/// `LF_ERR_INVALID` when `i` is out of range.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_header(
    report: *const lf_report,
    i: usize,
    name: *mut *const c_char,
    value: *mut *const c_char,
) -> lf_status {
    with(report, |r| {
        let (n, v) = index(&r.headers, i)?;
        if value.is_null() {
            return Err(Fail::null("value"));
        }
        // SAFETY: `name` and `value` are NULL (checked) or writable.
        unsafe {
            put(name, n.as_ptr(), "name")?;
            put(value, v.as_ptr(), "value")
        }
    })
}

/// The number of DNS names to look up before `lf_report_dns_resolve`, or 0
/// when there is nothing to ask (an engine without
/// `lf_engine_builder_set_net`, no blocklist rules, or resolved already) or
/// `report` is NULL. Each name is asked for one record type
/// (`lf_report_dns_query_type`): A for most blocklists, TXT for
/// `check_rbl_txt` and askdns rules that say so. libfilter never resolves
/// anything itself.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_dns_query_count(report: *const lf_report) -> usize {
    count(report, |r| r.dns.as_ref().map_or(0, |d| d.queries.len()))
}

/// Writes DNS name `i` (0-based, below `lf_report_dns_query_count`) into
/// `*name`, e.g. `"7.2.0.192.zen.spamhaus.org"` (no trailing dot). The
/// string is NUL-terminated and owned by the report, valid until
/// `lf_report_dns_resolve` or `lf_report_free`. `report` and `name` must
/// not be NULL; `LF_ERR_INVALID` when `i` is out of range.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_dns_query(
    report: *const lf_report,
    i: usize,
    name: *mut *const c_char,
) -> lf_status {
    with(report, |r| {
        let (q, _) = dns_query(r, i)?;
        // SAFETY: `name` is NULL (checked) or writable, as documented.
        unsafe { put(name, q.as_ptr(), "name") }
    })
}

/// Writes the record type to ask for DNS name `i` (0-based, below
/// `lf_report_dns_query_count`) into `*qtype`: `LF_DNS_A` (1) or
/// `LF_DNS_TXT` (16), DNS's type numbers; other values may come in later
/// versions (skip such a name: unanswered counts as not listed).
/// The same name may be listed twice, once per type. `report` and `qtype`
/// must not be NULL; `LF_ERR_INVALID` when `i` is out of range.
///
/// Thread-safe: a report is only read, until `lf_report_free`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_dns_query_type(
    report: *const lf_report,
    i: usize,
    qtype: *mut u16,
) -> lf_status {
    with(report, |r| {
        let (_, t) = dns_query(r, i)?;
        // SAFETY: `qtype` is NULL (checked) or writable, as documented.
        unsafe { put(qtype, *t, "qtype") }
    })
}

/// DNS query `i` of a report: its name and record type.
fn dns_query(r: &lf_report, i: usize) -> Result<&(CString, u16), Fail> {
    let d = r
        .dns
        .as_ref()
        .ok_or_else(|| Fail::invalid("no DNS names to ask"))?;
    index(&d.queries, i)
}

/// Records one A record that came back for `name` (as asked, any case,
/// trailing dot allowed): `addr` is a dotted IPv4 address. Call it once per
/// address; names without an answer count as not listed. `report`, `name`
/// and `addr` must not be NULL; `LF_ERR_INVALID` when `addr` is not an IPv4
/// address or nothing is left to resolve.
///
/// Not thread-safe: one thread at a time per report.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_dns_answer(
    report: *mut lf_report,
    name: *const c_char,
    addr: *const c_char,
) -> lf_status {
    add_answer(report, name, addr, "addr", |name, addr| {
        let a: std::net::Ipv4Addr = addr
            .parse()
            .map_err(|_| Fail::invalid("addr is not an IPv4 address"))?;
        Ok(Answer::new(name, &[a]))
    })
}

/// The common body of `lf_report_dns_answer` and
/// `lf_report_dns_answer_txt`: checks the arguments (`value` named `what`)
/// and adds the answer `make` builds to the report's pending DNS work.
fn add_answer(
    report: *mut lf_report,
    name: *const c_char,
    value: *const c_char,
    what: &'static str,
    make: impl FnOnce(&str, &str) -> Result<Answer, Fail>,
) -> lf_status {
    boundary(|| {
        // SAFETY: `report` is NULL (checked) or a live report used by this
        // thread only, as documented.
        let r = unsafe { handle_mut(report, "report") }?;
        // SAFETY: NUL-terminated strings or NULL (checked), as documented.
        let name = unsafe { cstr_utf8(name, "name") }?;
        // SAFETY: as above.
        let value = unsafe { cstr_utf8(value, what) }?;
        let answer = make(name, value)?;
        let d = r
            .dns
            .as_mut()
            .ok_or_else(|| Fail::invalid("nothing to resolve"))?;
        d.answers.push(answer);
        Ok(())
    })
}

/// Records one TXT record that came back for `name` (as asked, any case,
/// trailing dot allowed), for a name of type `LF_DNS_TXT`: `text` is the
/// record's character-strings joined without a separator, UTF-8 (invalid
/// bytes may be replaced before the call). Call it once per record; the
/// text is copied. `report`, `name` and `text` must not be NULL;
/// `LF_ERR_UTF8` when a string is not UTF-8, `LF_ERR_INVALID` when nothing
/// is left to resolve.
///
/// Not thread-safe: one thread at a time per report.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_dns_answer_txt(
    report: *mut lf_report,
    name: *const c_char,
    text: *const c_char,
) -> lf_status {
    add_answer(report, name, text, "text", |name, text| {
        Ok(Answer::with_txt(name, &[text]))
    })
}

/// Finishes the report's DNS blocklist tests with the answers recorded by
/// `lf_report_dns_answer` and `lf_report_dns_answer_txt`: the blocklist
/// rules they satisfy hit, the metas that read them run again, and the
/// verdict, action, score, symbols and headers are read anew. Afterwards `lf_report_dns_query_count` is 0.
/// A report with nothing to resolve is left as it is (`LF_OK`).
/// `report` must not be NULL.
///
/// Not thread-safe: one thread at a time per report; the strings the report
/// handed out before are freed.
#[unsafe(no_mangle)]
pub extern "C" fn lf_report_dns_resolve(report: *mut lf_report) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_report_dns_answer.
        let r = unsafe { handle_mut(report, "report") }?;
        let Some(d) = r.dns.take() else {
            return Ok(());
        };
        let DnsWork {
            mut report,
            engine,
            answers,
            ..
        } = *d;
        engine.scanner().resolve(&mut report, &answers);
        let truncated = r.flags & LF_REPORT_TRUNCATED != 0;
        *r = lf_report::new(report, &engine);
        r.dns = None;
        if truncated {
            r.truncated();
        }
        Ok(())
    })
}
