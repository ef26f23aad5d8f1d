//! The signature engine: ClamAV's databases, read as ClamAV reads them.
//!
//! Mail administrators already run freshclam, so the databases they trust
//! are sitting in `/var/lib/clamav`. This module loads that directory —
//! `main.cvd`, `daily.cld`, local `.hdb`/`.ndb`/`.ldb` files — and finds
//! what clamscan would find, in-process.
//!
//! The work splits in three:
//!
//! - [`db`] reads the files into plain data: hash signatures, body
//!   signatures with their [`pattern`]s and offsets, logical signatures with
//!   their expressions, container-metadata signatures, allow-lists and
//!   ignore lists. A bad line is reported with its file and line number and
//!   skipped; it never stops the load unless the caller asks for strict mode.
//! - [`Signatures::compile`] turns that data into search structures: hash
//!   tables sorted for binary search, and one [`matcher::Matcher`] holding
//!   every body signature and every logical subsignature, so that a buffer
//!   is searched once however many signatures there are.
//! - [`crate::engine`] walks a message, decodes every part, opens the
//!   containers it carries, and hands each buffer to [`Signatures`] with a
//!   [`Context`] saying which ClamAV target types apply to it ([`View`]).
//!
//! ```
//! use filter::sig::db::Loader;
//! use filter::sig::pe::Layout;
//! use filter::sig::{Context, Scratch, Signatures, View};
//! use filter::sniff::FileType;
//!
//! let mut loader = Loader::new();
//! // "evil" in hex, anywhere in any file.
//! loader.load_bytes("local.ndb", b"Test.Evil:0:*:6576696c\n").unwrap();
//! let sigs = Signatures::compile(loader.finish());
//!
//! let layout = Layout::default();
//! let ctx = Context { view: View::Raw(FileType::Text), container: None, layout: &layout };
//! let mut found = Vec::new();
//! sigs.scan(b"something evil this way comes", &ctx, &mut Scratch::new(), &mut found);
//! assert_eq!(found, ["Test.Evil.UNOFFICIAL"]);
//! ```
//!
//! Beside the databases sit two things of our own: the [`default`]
//! database compiled into the library (the EICAR test file), and the
//! attachment [`policy`] heuristics, which name dangerous attachments by
//! what they are rather than by a signature.

pub mod db;
pub mod default;
pub mod matcher;
pub mod normalize;
pub mod pattern;
pub mod pe;
pub mod policy;

mod compile;

pub use compile::{Context, Digests, Scratch, Signatures, View, container_matches};
