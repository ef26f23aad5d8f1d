//! `lf_engine_builder`: limits, databases, rules, thresholds → `lf_engine`.

use std::ffi::c_char;
use std::path::Path;
use std::sync::Arc;

use super::{
    Fail, Res, boundary, boundary_or, bytes, cstr, cstr_utf8, handle, handle_mut, lf_engine,
    lf_status, put, put_box,
};
use crate::sig::db::LoadError;
use crate::spam::verdict::Actions;
use crate::{EngineBuilder, Limits};

/// Which scan limit `lf_engine_builder_set_limit` sets. The values are the
/// fields of the Rust `Limits`; see its documentation for each.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lf_limit {
    /// How deep multipart, message/rfc822 parts and containers may nest.
    /// Default 32 (capped at 128).
    LF_LIMIT_MAX_DEPTH = 0,
    /// How many MIME parts one message may hold. Default 4096.
    LF_LIMIT_MAX_PARTS = 1,
    /// How many header fields one header block may hold. Default 2048.
    LF_LIMIT_MAX_HEADERS = 2,
    /// How many bytes one header block may span. Default 1 MiB.
    LF_LIMIT_MAX_HEADER_BYTES = 3,
    /// Longest header line before it is flagged. Default 998.
    LF_LIMIT_MAX_LINE_LEN = 4,
    /// Most bytes one part may decode to. Default 64 MiB.
    LF_LIMIT_MAX_DECODED_PART = 5,
    /// Most bytes all parts of one message may decode to; also the most a
    /// streaming session buffers. Default 256 MiB.
    LF_LIMIT_MAX_DECODED_TOTAL = 6,
    /// Most members opened in one container. Default 10000.
    LF_LIMIT_MAX_MEMBERS = 7,
    /// Largest expanded/compressed ratio of a container member that expands
    /// past 1 MiB. Default 1000.
    LF_LIMIT_MAX_RATIO = 8,
}

/// A builder of engines. Opaque; create with `lf_engine_builder_new`.
pub struct lf_engine_builder {
    /// `None` once built.
    inner: Option<EngineBuilder>,
    /// Kept here (the Rust builder has no getters) and applied at build.
    limits: Limits,
    /// As `limits`.
    actions: Actions,
}

impl lf_engine_builder {
    fn get(&mut self) -> Result<&mut EngineBuilder, Fail> {
        self.inner
            .as_mut()
            .ok_or_else(|| Fail::new(lf_status::LF_ERR_STATE, "the builder was already built"))
    }

    /// Applies a by-value builder method.
    pub(crate) fn with(&mut self, f: impl FnOnce(EngineBuilder) -> EngineBuilder) -> Res {
        let b = std::mem::take(self.get()?);
        self.inner = Some(f(b));
        Ok(())
    }
}

fn load_error(e: LoadError) -> Fail {
    match e {
        LoadError::Io { .. } => Fail::new(lf_status::LF_ERR_IO, e.to_string()),
        LoadError::Line(_) => Fail::new(lf_status::LF_ERR_LOAD, e.to_string()),
    }
}

#[cfg(unix)]
pub(crate) fn path(b: &[u8]) -> Result<&Path, Fail> {
    use std::os::unix::ffi::OsStrExt;
    Ok(Path::new(std::ffi::OsStr::from_bytes(b)))
}

#[cfg(not(unix))]
pub(crate) fn path(b: &[u8]) -> Result<&Path, Fail> {
    std::str::from_utf8(b)
        .map(Path::new)
        .map_err(|_| Fail::new(lf_status::LF_ERR_UTF8, "path is not UTF-8"))
}

/// Creates a builder: embedded defaults on (the EICAR signature, the
/// attachment-policy heuristics and the default spam rules), default
/// limits, default thresholds (reject from 15 points).
///
/// On success `*out` is a new builder the caller owns and frees with
/// `lf_engine_builder_free`. `out` must not be NULL. A builder is not
/// thread-safe: use it from one thread at a time.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_new(out: *mut *mut lf_engine_builder) -> lf_status {
    boundary(|| {
        let b = Box::new(lf_engine_builder {
            inner: Some(EngineBuilder::new()),
            limits: Limits::default(),
            actions: Actions::default(),
        });
        // SAFETY: `out` is NULL (checked) or writable, as documented.
        unsafe { put_box(out, b, "out") }
    })
}

/// Frees a builder (built or not). NULL is a no-op. `b` must not be used
/// afterwards.
///
/// Must not run while another thread uses `b`.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_free(b: *mut lf_engine_builder) {
    boundary_or((), || {
        if !b.is_null() {
            // SAFETY: `b` came from lf_engine_builder_new and is freed once,
            // as documented.
            drop(unsafe { Box::from_raw(b) });
        }
    })
}

/// Turns the embedded defaults on (`on` != 0) or off: the EICAR test
/// signature, the attachment-policy heuristics, and the default spam rules
/// (used only when no rules are loaded).
///
/// `b` must not be NULL. `LF_ERR_STATE` once built.
///
/// Not thread-safe: one thread at a time per builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_set_defaults(b: *mut lf_engine_builder, on: bool) -> lf_status {
    boundary(|| {
        // SAFETY: `b` is NULL (checked) or a live builder used by this thread only.
        let b = unsafe { handle_mut(b, "builder") }?;
        b.with(|x| x.defaults(on))
    })
}

/// Network tests on (`on` true): the rules' DNS blocklist tests
/// (`check_rbl`, `check_rbl_sub`, `urirhssub`/`urirhsbl` with
/// `check_uridnsbl`) run, and scores come from SpamAssassin's network score
/// set. libfilter still does no I/O: a report lists the names to look up
/// (`lf_report_dns_query_count`, `lf_report_dns_query`), the caller
/// resolves them and hands the A records back (`lf_report_dns_answer`),
/// and `lf_report_dns_resolve` finishes the verdict. Default off.
///
/// `b` must not be NULL. `LF_ERR_STATE` once built.
///
/// Not thread-safe: one thread at a time per builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_set_net(b: *mut lf_engine_builder, on: bool) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_engine_builder_set_defaults.
        let b = unsafe { handle_mut(b, "builder") }?;
        b.with(|x| x.net(on))
    })
}

/// Strict loading (`on` true): the first bad database line makes the load
/// fail with `LF_ERR_LOAD`. Default off: bad lines are skipped and counted
/// (`lf_engine_load_error_count`).
///
/// `b` must not be NULL. Applies to loads made after the call.
///
/// Not thread-safe: one thread at a time per builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_set_strict(b: *mut lf_engine_builder, on: bool) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_engine_builder_set_defaults.
        let b = unsafe { handle_mut(b, "builder") }?;
        b.with(|x| x.strict(on))
    })
}

/// Sets one scan limit: `limit` is an `lf_limit` value, `value` its new
/// bound.
///
/// `b` must not be NULL. `LF_ERR_INVALID` for an unknown `limit` or a value
/// that does not fit the platform's `size_t`.
///
/// Not thread-safe: one thread at a time per builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_set_limit(
    b: *mut lf_engine_builder,
    limit: u32,
    value: u64,
) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_engine_builder_set_defaults.
        let b = unsafe { handle_mut(b, "builder") }?;
        b.get()?;
        let limits = &mut b.limits;
        let size = usize::try_from(value).map_err(|_| Fail::invalid("limit value too large"));
        match limit {
            0 => limits.max_depth = size?,
            1 => limits.max_parts = size?,
            2 => limits.max_headers = size?,
            3 => limits.max_header_bytes = size?,
            4 => limits.max_line_len = size?,
            5 => limits.max_decoded_part = size?,
            6 => limits.max_decoded_total = size?,
            7 => limits.max_members = size?,
            8 => limits.max_ratio = value,
            _ => return Err(Fail::invalid(format!("unknown limit {limit}"))),
        }
        Ok(())
    })
}

/// Reads one scan limit (`limit` an `lf_limit` value) into `*out`.
///
/// `b` and `out` must not be NULL. `LF_ERR_INVALID` for an unknown limit.
///
/// Not thread-safe: one thread at a time per builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_get_limit(
    b: *const lf_engine_builder,
    limit: u32,
    out: *mut u64,
) -> lf_status {
    boundary(|| {
        // SAFETY: `b` is NULL (checked) or a live builder not used by another
        // thread during the call, as documented.
        let b = unsafe { handle(b, "builder") }?;
        if b.inner.is_none() {
            return Err(Fail::new(
                lf_status::LF_ERR_STATE,
                "the builder was already built",
            ));
        }
        let l = &b.limits;
        let v = match limit {
            0 => l.max_depth as u64,
            1 => l.max_parts as u64,
            2 => l.max_headers as u64,
            3 => l.max_header_bytes as u64,
            4 => l.max_line_len as u64,
            5 => l.max_decoded_part as u64,
            6 => l.max_decoded_total as u64,
            7 => l.max_members as u64,
            8 => l.max_ratio,
            _ => return Err(Fail::invalid(format!("unknown limit {limit}"))),
        };
        // SAFETY: `out` is NULL (checked) or writable, as documented.
        unsafe { put(out, v, "out") }
    })
}

/// Sets the score from which the spam verdict asks for an action:
/// `action` is `LF_ACTION_GREYLIST`, `LF_ACTION_ADD_HEADER` or
/// `LF_ACTION_REJECT` (an `lf_action` value), `score` the threshold. A NaN
/// `score` switches the step off (for `LF_ACTION_ADD_HEADER`, NaN means
/// "from the rules' required_score", the default). Defaults: no greylist,
/// add headers from required_score, reject from 15.
///
/// `b` must not be NULL. `LF_ERR_INVALID` for any other action.
///
/// Not thread-safe: one thread at a time per builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_set_threshold(
    b: *mut lf_engine_builder,
    action: u32,
    score: f64,
) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_engine_builder_set_defaults.
        let b = unsafe { handle_mut(b, "builder") }?;
        b.get()?;
        let actions = &mut b.actions;
        let v = if score.is_nan() { None } else { Some(score) };
        match action {
            1 => actions.greylist = v,
            2 => actions.add_header = v,
            3 => actions.reject = v,
            _ => return Err(Fail::invalid(format!("action {action} has no threshold"))),
        }
        Ok(())
    })
}

/// Loads a ClamAV database file (`.hdb`, `.ndb`, `.ldb`, `.cvd`, …) or every
/// database in a directory. `path` is a NUL-terminated path, copied.
///
/// `b` and `path` must not be NULL. `LF_ERR_IO` when it cannot be read,
/// `LF_ERR_LOAD` for a bad line in strict mode; `lf_last_error` says which.
///
/// Not thread-safe: one thread at a time per builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_load_path(
    b: *mut lf_engine_builder,
    path: *const c_char,
) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_engine_builder_set_defaults.
        let b = unsafe { handle_mut(b, "builder") }?;
        // SAFETY: `path` is NULL (checked) or NUL-terminated, as documented.
        let p = unsafe { cstr(path, "path") }?;
        b.get()?
            .load_path(super::builder::path(p)?)
            .map_err(load_error)?;
        Ok(())
    })
}

/// Loads one database from memory: `len` bytes at `data` (copied; NULL
/// only when `len` is 0). `name` is a NUL-terminated UTF-8 file name whose
/// extension gives the type, e.g. `"local.ndb"`.
///
/// `b` and `name` must not be NULL. `LF_ERR_LOAD` for a bad line in strict
/// mode or an unknown extension.
///
/// Not thread-safe: one thread at a time per builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_load_memory(
    b: *mut lf_engine_builder,
    name: *const c_char,
    data: *const u8,
    len: usize,
) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_engine_builder_set_defaults.
        let b = unsafe { handle_mut(b, "builder") }?;
        // SAFETY: `name` is NULL (checked) or NUL-terminated, as documented.
        let name = unsafe { cstr_utf8(name, "name") }?;
        // SAFETY: `data` is valid for `len` bytes, as documented.
        let data = unsafe { bytes(data, len, "data") }?;
        if !crate::sig::db::known_type(name) {
            return Err(Fail::new(
                lf_status::LF_ERR_LOAD,
                format!("{name}: not a known database type (by its extension)"),
            ));
        }
        b.get()?.load_bytes(name, data).map_err(load_error)?;
        Ok(())
    })
}

/// Loads SpamAssassin rules from a `.cf` file or a directory of them
/// (NUL-terminated path). Once any rules are loaded, the embedded default
/// rules are not used.
///
/// `b` and `path` must not be NULL. `LF_ERR_IO` when it cannot be read.
/// Bad rule lines are skipped, as SpamAssassin skips them.
///
/// Not thread-safe: one thread at a time per builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_load_rules_path(
    b: *mut lf_engine_builder,
    path: *const c_char,
) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_engine_builder_set_defaults.
        let b = unsafe { handle_mut(b, "builder") }?;
        // SAFETY: `path` is NULL (checked) or NUL-terminated, as documented.
        let p = unsafe { cstr(path, "path") }?;
        let p = super::builder::path(p)?;
        b.get()?
            .rules_path(p)
            .map_err(|e| Fail::new(lf_status::LF_ERR_IO, format!("{}: {e}", p.display())))?;
        Ok(())
    })
}

/// Loads SpamAssassin rules from memory: `len` bytes of UTF-8 text at
/// `text` (copied; NULL only when `len` is 0). `name` (NUL-terminated)
/// labels its lines in messages. Once any rules are loaded, the embedded
/// default rules are not used.
///
/// `b` and `name` must not be NULL. `LF_ERR_UTF8` when the text is not
/// UTF-8.
///
/// Not thread-safe: one thread at a time per builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_load_rules_memory(
    b: *mut lf_engine_builder,
    name: *const c_char,
    text: *const u8,
    len: usize,
) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_engine_builder_set_defaults.
        let b = unsafe { handle_mut(b, "builder") }?;
        // SAFETY: `name` is NULL (checked) or NUL-terminated, as documented.
        let name = unsafe { cstr_utf8(name, "name") }?;
        // SAFETY: `text` is valid for `len` bytes, as documented.
        let text = unsafe { bytes(text, len, "text") }?;
        let text = std::str::from_utf8(text)
            .map_err(|_| Fail::new(lf_status::LF_ERR_UTF8, "rules text is not UTF-8"))?;
        b.get()?.rules_str(name, text);
        Ok(())
    })
}

/// Compiles everything loaded into an engine. This can take a while (large
/// databases, many rules).
///
/// On success `*out` is a new engine holding one reference, which the caller
/// releases with `lf_engine_unref`. The builder's content is used up: later
/// calls on `b` give `LF_ERR_STATE`, and `b` must still be freed with
/// `lf_engine_builder_free`. `b` and `out` must not be NULL.
///
/// Not thread-safe: one thread at a time per builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_build(
    b: *mut lf_engine_builder,
    out: *mut *const lf_engine,
) -> lf_status {
    boundary(|| {
        if !out.is_null() {
            // SAFETY: non-NULL and writable, as documented.
            unsafe { out.write(std::ptr::null()) };
        }
        // SAFETY: as in lf_engine_builder_set_defaults.
        let b = unsafe { handle_mut(b, "builder") }?;
        if out.is_null() {
            return Err(Fail::null("out"));
        }
        b.get()?;
        let (limits, actions) = (b.limits.clone(), b.actions);
        let engine = b
            .inner
            .take()
            .map(|x| x.limits(limits).actions(actions).build())
            .ok_or_else(|| Fail::new(lf_status::LF_ERR_STATE, "the builder was already built"))?;
        let h = Arc::into_raw(Arc::new(lf_engine { inner: engine }));
        // SAFETY: checked non-NULL above.
        unsafe { put(out, h, "out") }
    })
}
