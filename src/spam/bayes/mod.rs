//! A statistical spam filter that learns from a site's own mail.
//!
//! Static rules age; a filter trained on the mail a site actually
//! receives keeps up. This module has the three pieces of one:
//!
//! * [`Tokenizer`] turns a message into a set of 64-bit token
//!   hashes: header words tagged with their field, the order of the
//!   header fields, body words, HTML tag names, URL hosts and, optionally,
//!   orthogonal sparse bigrams;
//! * [`Model`] learns from labelled token sets and gives the probability
//!   that a new one is spam, by chi-square combining (as SpamAssassin and
//!   bogofilter) or online logistic regression (as the TREC 2007 leaders);
//! * [`Store`] keeps a model on disk, crash-safe: a snapshot plus a
//!   journal of every message learned since;
//! * [`SharedModel`] hands the current model to scanning engines and
//!   takes new snapshots from a learner while they run; an engine with one
//!   ([`crate::EngineBuilder::bayes`]) scores the `BAYES_*` rules
//!   (`check_bayes`) and puts the probability in the verdict;
//! * [`roc`] measures the result the way the TREC spam track did.
//!
//! The usual loop, TREC's online protocol: classify each message as it
//! arrives, then learn it with its true label.
//!
//! ```
//! use filter::spam::bayes::{Classifier, Model, Tokenizer, TokenizerOptions};
//!
//! let tok = Tokenizer::new(TokenizerOptions::default());
//! let mut model = Model::new(Classifier::Logistic);
//! let mut tokens = Vec::new();
//! let mail: [(&[u8], bool); 4] = [
//!     (b"Subject: cheap meds\n\nbuy cheap meds online now\n", true),
//!     (b"Subject: lunch\n\nare we still on for lunch today\n", false),
//!     (b"Subject: meds\n\ncheap meds, buy online\n", true),
//!     (b"Subject: lunch today?\n\nlunch at noon today\n", false),
//! ];
//! for _ in 0..5 {
//!     for (msg, spam) in mail {
//!         tok.tokens(msg, &mut tokens);
//!         model.learn(&tokens, spam);
//!     }
//! }
//! tok.tokens(b"Subject: buy meds\n\ncheap meds online\n", &mut tokens);
//! assert!(model.classify(&tokens) > 0.5);
//! tok.tokens(b"Subject: noon\n\nlunch today at noon?\n", &mut tokens);
//! assert!(model.classify(&tokens) < 0.5);
//! ```

#[cfg(target_arch = "x86_64")]
mod bitmap;
mod model;
pub mod roc;
mod shared;
mod store;
mod tokens;

pub use model::{Classifier, Counts, Model, ModelError};
pub use shared::SharedModel;
pub use store::{Store, StoreError};
pub use tokens::{Tokenizer, TokenizerOptions};
