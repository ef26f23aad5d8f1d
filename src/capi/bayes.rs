//! `lf_bayes`: the learning classifier's store, from C.
//!
//! A milter or a mail server that learns (from users' "this is spam"
//! buttons, say) opens the store once with `lf_bayes_open`, hands it to the
//! engine builders with `lf_engine_builder_set_bayes`, and calls
//! `lf_bayes_learn` as verdicts come in. Every call is recorded in the
//! store's journal before it returns. `lf_bayes_publish` makes what was
//! learned visible to the engines built with the store, without
//! rebuilding them; scans already running finish with the snapshot they
//! started with. A process that only scans loads the store's current
//! state with `lf_engine_builder_load_bayes`.

use std::ffi::c_char;
use std::sync::{Arc, Mutex};

use super::builder::path;
use super::{
    Fail, boundary, boundary_or, bytes, cstr, handle, handle_mut, lf_engine_builder, lf_status,
    put, put_box,
};
use crate::Limits;
use crate::spam::bayes::{Classifier, SharedModel, Store, StoreError, Tokenizer, TokenizerOptions};

/// The classifier of a new store.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum lf_bayes_classifier {
    /// Online logistic regression on hashed features (the default).
    LF_BAYES_LOGISTIC = 0,
    /// Robinson/Fisher chi-square combining, as SpamAssassin and
    /// bogofilter.
    LF_BAYES_CHI_SQUARE = 1,
}

/// A writable Bayes store. Opaque; create with `lf_bayes_open`.
pub struct lf_bayes {
    store: Mutex<Store>,
    shared: Arc<SharedModel>,
    tokenizer: Tokenizer,
}

fn store_error(e: StoreError) -> Fail {
    match e {
        StoreError::Io { .. } => Fail::new(lf_status::LF_ERR_IO, e.to_string()),
        StoreError::Corrupt { .. } => Fail::new(lf_status::LF_ERR_LOAD, e.to_string()),
    }
}

impl lf_bayes {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic while learning leaves the store as its journal says; the
        // model in memory may lag by that one message, which is allowed.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Opens the store at `path` (NUL-terminated), creating one with
/// `classifier` when there is none; an existing store keeps its own
/// classifier. On success `*out` is a new handle owned by the caller, to be
/// freed with `lf_bayes_free`.
///
/// `path` and `out` must not be NULL. `LF_ERR_IO` when the files cannot be
/// read or written, `LF_ERR_LOAD` when they are not a store or are damaged.
/// One process at a time may open a store for writing.
///
/// Thread-safe: the handle may be used from any thread, concurrently.
#[unsafe(no_mangle)]
pub extern "C" fn lf_bayes_open(
    path_: *const c_char,
    classifier: lf_bayes_classifier,
    out: *mut *mut lf_bayes,
) -> lf_status {
    boundary(|| {
        if !out.is_null() {
            // SAFETY: non-NULL and writable, as documented.
            unsafe { out.write(std::ptr::null_mut()) };
        }
        // SAFETY: `path_` is NULL (checked) or NUL-terminated, as documented.
        let p = unsafe { cstr(path_, "path") }?;
        let p = path(p)?;
        let kind = match classifier {
            lf_bayes_classifier::LF_BAYES_LOGISTIC => Classifier::Logistic,
            lf_bayes_classifier::LF_BAYES_CHI_SQUARE => Classifier::ChiSquare,
        };
        if out.is_null() {
            return Err(Fail::null("out"));
        }
        let store = Store::open(p, kind).map_err(store_error)?;
        let shared = SharedModel::new(store.model().clone());
        let b = lf_bayes {
            store: Mutex::new(store),
            shared,
            tokenizer: Tokenizer::new(TokenizerOptions::default()).with_limits(Limits::default()),
        };
        // SAFETY: checked non-NULL above.
        unsafe { put_box(out, Box::new(b), "out") }
    })
}

/// Closes a store. Engines built with it keep the last published snapshot.
/// NULL is a no-op.
///
/// `b` must not be used afterwards, nor concurrently.
#[unsafe(no_mangle)]
pub extern "C" fn lf_bayes_free(b: *mut lf_bayes) {
    boundary_or((), || {
        if !b.is_null() {
            // SAFETY: `b` came from lf_bayes_open and is freed once, as
            // documented.
            drop(unsafe { Box::from_raw(b) });
        }
    })
}

fn learn(b: *const lf_bayes, data: *const u8, len: usize, spam: bool, undo: bool) -> lf_status {
    boundary(|| {
        // SAFETY: `b` is NULL (checked) or a live handle, as documented.
        let b = unsafe { handle(b, "bayes") }?;
        // SAFETY: `data` is valid for `len` bytes, as documented.
        let data = unsafe { bytes(data, len, "data") }?;
        let mut tokens = Vec::new();
        b.tokenizer.tokens(data, &mut tokens);
        let mut store = b.store();
        if undo {
            store.unlearn(&tokens, spam)
        } else {
            store.learn(&tokens, spam)
        }
        .map_err(store_error)
    })
}

/// Learns one message (`len` bytes at `data`, a whole RFC 5322 message) as
/// spam (`spam` true) or ham, and records it in the store's journal before
/// returning. Engines see it after the next `lf_bayes_publish`.
///
/// `b` must not be NULL; `data` only when `len` is 0. `LF_ERR_IO` when the
/// journal cannot be written (the message is then not learned).
///
/// Thread-safe: calls on one handle are serialized.
#[unsafe(no_mangle)]
pub extern "C" fn lf_bayes_learn(
    b: *const lf_bayes,
    data: *const u8,
    len: usize,
    spam: bool,
) -> lf_status {
    learn(b, data, len, spam, false)
}

/// Forgets one message learned earlier with the same label (to correct a
/// mistake: unlearn as ham, then learn as spam). As `lf_bayes_learn`.
///
/// Thread-safe: calls on one handle are serialized.
#[unsafe(no_mangle)]
pub extern "C" fn lf_bayes_unlearn(
    b: *const lf_bayes,
    data: *const u8,
    len: usize,
    spam: bool,
) -> lf_status {
    learn(b, data, len, spam, true)
}

/// Makes everything learned so far visible to the engines built with `b`
/// (`lf_engine_builder_set_bayes`). It copies the model (8 MiB for the
/// logistic classifier), so publish every few messages or seconds rather
/// than after each one. `b` must not be NULL.
///
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_bayes_publish(b: *const lf_bayes) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_bayes_learn.
        let b = unsafe { handle(b, "bayes") }?;
        let snapshot = b.store().snapshot();
        b.shared.publish(snapshot);
        Ok(())
    })
}

/// Folds the journal into a new snapshot file (crash-safe: write, sync,
/// rename). Worth doing when the journal has grown; learning goes on
/// either way. `b` must not be NULL. `LF_ERR_IO` on a write failure (the
/// old files stay valid).
///
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_bayes_compact(b: *const lf_bayes) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_bayes_learn.
        let b = unsafe { handle(b, "bayes") }?;
        b.store().compact().map_err(store_error)
    })
}

/// Writes the numbers of spam and ham messages learned and of tokens known
/// into `*spam`, `*ham` and `*tokens`. None of the pointers may be NULL.
///
/// Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn lf_bayes_counts(
    b: *const lf_bayes,
    spam: *mut u64,
    ham: *mut u64,
    tokens: *mut u64,
) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_bayes_learn.
        let b = unsafe { handle(b, "bayes") }?;
        if spam.is_null() || ham.is_null() || tokens.is_null() {
            return Err(Fail::null("spam, ham or tokens"));
        }
        let c = b.store().model().counts();
        // SAFETY: all three checked non-NULL and writable, as documented.
        unsafe {
            put(spam, c.spam, "spam")?;
            put(ham, c.ham, "ham")?;
            put(tokens, c.tokens, "tokens")
        }
    })
}

/// Engines built by `builder` classify with `b`'s published snapshot (the
/// state at `lf_bayes_open`, then each `lf_bayes_publish`), score the
/// `BAYES_*` rules with SpamAssassin's Bayes score set, and report the
/// probability (`lf_report_bayes`). The engines keep a reference: `b` may
/// be freed first.
///
/// Neither pointer may be NULL. Not thread-safe for the builder: one thread
/// at a time per builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_set_bayes(
    builder: *mut lf_engine_builder,
    b: *const lf_bayes,
) -> lf_status {
    boundary(|| {
        // SAFETY: `builder` is NULL (checked) or a live, unaliased handle.
        let builder = unsafe { handle_mut(builder, "builder") }?;
        // SAFETY: as in lf_bayes_learn.
        let b = unsafe { handle(b, "bayes") }?;
        let shared = Arc::clone(&b.shared);
        builder.with(|x| x.bayes(shared))
    })
}

/// Engines built by `builder` classify with the store at `path`
/// (NUL-terminated) as it is now, read-only: for a process that scans
/// while another learns. Rebuild the engine to see later learning.
///
/// Neither pointer may be NULL. `LF_ERR_IO` when the store cannot be read,
/// `LF_ERR_LOAD` when it is damaged. Not thread-safe for the builder.
#[unsafe(no_mangle)]
pub extern "C" fn lf_engine_builder_load_bayes(
    builder: *mut lf_engine_builder,
    path_: *const c_char,
) -> lf_status {
    boundary(|| {
        // SAFETY: as in lf_engine_builder_set_bayes.
        let builder = unsafe { handle_mut(builder, "builder") }?;
        // SAFETY: `path_` is NULL (checked) or NUL-terminated, as documented.
        let p = unsafe { cstr(path_, "path") }?;
        let model = Store::read(path(p)?).map_err(store_error)?;
        builder.with(|x| x.bayes(SharedModel::new(model)))
    })
}
