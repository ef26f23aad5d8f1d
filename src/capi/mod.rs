//! The stable C ABI: `include/libfilter.h` is generated from this module.
//!
//! Everything here is a thin layer over the Rust API ([`crate::Engine`],
//! [`crate::Scanner`], [`crate::Report`]); it adds no behaviour of its own
//! beyond the streaming session (a buffer in front of a scanner) and the
//! envelope prelude of [`crate::envelope`]. The conventions, after
//! rustls-ffi, yara-x's C API and regex's rure:
//!
//! - Every name starts with `lf_` (`LF_` for constants). Handles are opaque
//!   pointers: `lf_engine_builder`, `lf_engine`, `lf_scanner`,
//!   `lf_envelope`, `lf_session`, `lf_report`.
//! - Functions return an [`lf_status`]; objects come back through
//!   out-parameters, which are set to NULL first whenever they are
//!   pointers, so a failed call never leaves a stale pointer behind. After
//!   a failure, [`lf_last_error`] gives a message for the calling thread.
//! - Every exported function runs inside one panic boundary
//!   (`catch_unwind`): a panic becomes `LF_PANIC`, never an unwind into C
//!   and never an abort inside the MTA. (Functions that return no status —
//!   counts, frees — return 0 or do nothing on a panic.)
//! - Every pointer argument is checked for NULL (`LF_ERR_NULL`). Byte
//!   buffers are `(const uint8_t *ptr, size_t len)` pairs (NULL is allowed
//!   when `len` is 0); strings are NUL-terminated. Nothing returned points
//!   into memory the caller passed in: strings handed back are owned by the
//!   handle they came from.
//! - Engines are reference counted (`lf_engine_ref`/`lf_engine_unref`) and
//!   immutable, so a milter can build a new engine and swap it in while
//!   scans on the old one finish: every scanner and session holds its own
//!   reference.
//!
//! The only `unsafe` code of the crate is here: dereferencing the caller's
//! pointers, each use with a `SAFETY:` comment saying which documented
//! precondition makes it sound.

#![allow(non_camel_case_types)]
// The exported functions are safe `extern "C"` fns that take raw pointers,
// as rustls-ffi's are: each checks for NULL and documents in the C header
// what else the caller guarantees; only C (and this crate's tests) call
// them.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

mod bayes;
mod builder;
mod engine;
mod report;
mod session;
mod throttle;

pub use bayes::*;
pub use builder::*;
pub use engine::*;
pub use report::*;
pub use session::*;
pub use throttle::*;

/// Major version of the library this header belongs to.
pub const LF_VERSION_MAJOR: u32 = 0;
/// Minor version of the library this header belongs to.
pub const LF_VERSION_MINOR: u32 = 1;
/// Patch version of the library this header belongs to.
pub const LF_VERSION_PATCH: u32 = 0;

/// The result of every function that can fail.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lf_status {
    /// Success.
    LF_OK = 0,
    /// A required pointer argument was NULL.
    LF_ERR_NULL = 1,
    /// An argument was out of its range: an index past the count, an
    /// unknown enum value, a value too large.
    LF_ERR_INVALID = 2,
    /// A string that must be UTF-8 (rules text, a database name) is not.
    LF_ERR_UTF8 = 3,
    /// A file or directory could not be read.
    LF_ERR_IO = 4,
    /// A database failed to load (strict mode: a bad line).
    LF_ERR_LOAD = 5,
    /// The call does not fit the handle's state: a builder already built,
    /// a header after the end of headers.
    LF_ERR_STATE = 6,
    /// A panic inside the library was caught. The handle involved may hold
    /// partial state; free it. Please report it as a bug.
    LF_PANIC = 99,
}

/// A failure on the way out of an exported function.
pub(crate) struct Fail {
    status: lf_status,
    message: String,
}

impl Fail {
    pub(crate) fn new(status: lf_status, message: impl Into<String>) -> Fail {
        Fail {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn null(what: &str) -> Fail {
        Fail::new(lf_status::LF_ERR_NULL, format!("{what} is NULL"))
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Fail {
        Fail::new(lf_status::LF_ERR_INVALID, message)
    }
}

pub(crate) type Res = Result<(), Fail>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// Records `message` as the calling thread's last error. Never panics.
fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut e) = e.try_borrow_mut() {
            *e = c;
        }
    });
}

/// The panic boundary: runs `f`, turns its error into a status (and the
/// thread's last error), and a panic into `LF_PANIC`.
pub(crate) fn boundary(f: impl FnOnce() -> Res) -> lf_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => lf_status::LF_OK,
        Ok(Err(fail)) => {
            set_last_error(&fail.message);
            fail.status
        }
        Err(payload) => {
            set_panic_error(payload);
            lf_status::LF_PANIC
        }
    }
}

/// The panic boundary for functions that return a value rather than a
/// status (counts, frees): `fallback` on a panic.
pub(crate) fn boundary_or<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(payload) => {
            set_panic_error(payload);
            fallback
        }
    }
}

fn set_panic_error(payload: Box<dyn std::any::Any + Send>) {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown payload".to_string());
    set_last_error(&format!("panic inside libfilter: {what}"));
    // Dropping the payload could itself panic (a payload with a panicking
    // Drop); forget it rather than unwind out of the boundary.
    std::mem::forget(payload);
}

/// A shared reference from a handle pointer, or `LF_ERR_NULL`.
///
/// # Safety
/// `p` is NULL or points to a live `T` that nothing mutates for `'a`.
pub(crate) unsafe fn handle<'a, T>(p: *const T, what: &str) -> Result<&'a T, Fail> {
    // SAFETY: the caller guarantees `p` is NULL or valid for `'a`.
    unsafe { p.as_ref() }.ok_or_else(|| Fail::null(what))
}

/// An exclusive reference from a handle pointer, or `LF_ERR_NULL`.
///
/// # Safety
/// `p` is NULL or points to a live `T` nothing else uses for `'a`.
pub(crate) unsafe fn handle_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Fail> {
    // SAFETY: the caller guarantees `p` is NULL or valid and unaliased.
    unsafe { p.as_mut() }.ok_or_else(|| Fail::null(what))
}

/// The caller's bytes: `len` bytes at `p`; NULL is allowed when `len` is 0.
///
/// # Safety
/// `p` is NULL or valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize, what: &str) -> Result<&'a [u8], Fail> {
    if p.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(Fail::null(what))
        };
    }
    if len > isize::MAX as usize {
        return Err(Fail::invalid(format!("{what}: length too large")));
    }
    // SAFETY: non-NULL, and the caller guarantees `len` readable bytes.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// The bytes of a NUL-terminated string, without the NUL.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string live for `'a`.
pub(crate) unsafe fn cstr<'a>(p: *const c_char, what: &str) -> Result<&'a [u8], Fail> {
    if p.is_null() {
        return Err(Fail::null(what));
    }
    // SAFETY: non-NULL and NUL-terminated, by the caller's guarantee.
    Ok(unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// Like [`cstr`], but the string must be UTF-8 (`LF_ERR_UTF8`).
///
/// # Safety
/// As for [`cstr`].
pub(crate) unsafe fn cstr_utf8<'a>(p: *const c_char, what: &str) -> Result<&'a str, Fail> {
    // SAFETY: forwarded from the caller.
    let b = unsafe { cstr(p, what) }?;
    std::str::from_utf8(b)
        .map_err(|_| Fail::new(lf_status::LF_ERR_UTF8, format!("{what} is not UTF-8")))
}

/// Writes `v` through an out-parameter, or fails with `LF_ERR_NULL`.
///
/// # Safety
/// `p` is NULL or valid for a write of `T`.
pub(crate) unsafe fn put<T>(p: *mut T, v: T, what: &str) -> Res {
    if p.is_null() {
        return Err(Fail::null(what));
    }
    // SAFETY: non-NULL and writable, by the caller's guarantee; `write`
    // does not drop whatever (possibly uninitialised) value was there.
    unsafe { p.write(v) };
    Ok(())
}

/// Hands a new object to the caller through an out-parameter, or fails with
/// `LF_ERR_NULL` (and frees it: nothing leaks).
///
/// # Safety
/// `p` is NULL or valid for a write of a pointer.
pub(crate) unsafe fn put_box<T>(p: *mut *mut T, v: Box<T>, what: &str) -> Res {
    if p.is_null() {
        return Err(Fail::null(what));
    }
    // SAFETY: non-NULL and writable, by the caller's guarantee.
    unsafe { p.write(Box::into_raw(v)) };
    Ok(())
}

/// A `CString` from bytes that may hold NULs (replaced with spaces).
pub(crate) fn c_string(s: impl Into<Vec<u8>>) -> CString {
    let mut v: Vec<u8> = s.into();
    for b in &mut v {
        if *b == 0 {
            *b = b' ';
        }
    }
    CString::new(v).unwrap_or_default()
}

static VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(v) => v,
        Err(_) => c"unknown",
    };

/// The library's version, e.g. `"0.1.0"`.
///
/// Returns a static NUL-terminated string: never NULL, never to be freed.
/// Compare it with `LF_VERSION_MAJOR/MINOR/PATCH` to detect a header that
/// does not match the library linked at run time. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_version() -> *const c_char {
    VERSION.as_ptr()
}

/// A static description of `status` (an `lf_status` code), e.g.
/// `"NULL argument"`.
///
/// Returns a static NUL-terminated string: never NULL, never to be freed;
/// an unknown code gives `"unknown status"`. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_status_str(status: c_int) -> *const c_char {
    // An int, not `lf_status`: a C caller may pass any value.
    let s: &CStr = match status {
        0 => c"success",
        1 => c"NULL argument",
        2 => c"invalid argument",
        3 => c"string is not UTF-8",
        4 => c"I/O error",
        5 => c"database load error",
        6 => c"call not valid in this state",
        99 => c"panic inside libfilter",
        _ => c"unknown status",
    };
    s.as_ptr()
}

/// The message of the last failed call on the calling thread.
///
/// Returns a NUL-terminated string owned by the library: never NULL (empty
/// when nothing failed yet), valid until the next failing call on the same
/// thread; copy it to keep it. Successful calls leave it unchanged.
/// Thread-safe: each thread has its own.
#[unsafe(no_mangle)]
pub extern "C" fn lf_last_error() -> *const c_char {
    boundary_or(c"".as_ptr(), || {
        LAST_ERROR
            .try_with(|e| e.try_borrow().map(|e| e.as_ptr()).unwrap_or(c"".as_ptr()))
            .unwrap_or(c"".as_ptr())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_constants_match_cargo() {
        assert_eq!(
            LF_VERSION_MAJOR.to_string(),
            env!("CARGO_PKG_VERSION_MAJOR")
        );
        assert_eq!(
            LF_VERSION_MINOR.to_string(),
            env!("CARGO_PKG_VERSION_MINOR")
        );
        assert_eq!(
            LF_VERSION_PATCH.to_string(),
            env!("CARGO_PKG_VERSION_PATCH")
        );
        // SAFETY: lf_version returns a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(lf_version()) };
        assert_eq!(v.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn a_panic_becomes_a_status() {
        let s = boundary(|| panic!("boom {}", 42));
        assert_eq!(s, lf_status::LF_PANIC);
        // SAFETY: lf_last_error returns a NUL-terminated string.
        let e = unsafe { CStr::from_ptr(lf_last_error()) };
        assert_eq!(e.to_str().unwrap(), "panic inside libfilter: boom 42");
        assert_eq!(boundary_or(7usize, || panic!("x")), 7);
        assert_eq!(boundary(|| Ok(())), lf_status::LF_OK);
    }

    #[test]
    fn failures_set_the_last_error() {
        let s = boundary(|| Err(Fail::null("engine")));
        assert_eq!(s, lf_status::LF_ERR_NULL);
        // SAFETY: as above.
        let e = unsafe { CStr::from_ptr(lf_last_error()) };
        assert_eq!(e.to_str().unwrap(), "engine is NULL");
        // SAFETY: static strings.
        let t = unsafe { CStr::from_ptr(lf_status_str(lf_status::LF_ERR_NULL as c_int)) };
        assert_eq!(t.to_str().unwrap(), "NULL argument");
    }
}
