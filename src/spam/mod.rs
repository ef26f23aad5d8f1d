//! Spam heuristics: SpamAssassin-compatible rules over a rendered view of
//! the message.
//!
//! Mail administrators have twenty years of SpamAssassin rules, and the
//! rules are the part of SpamAssassin worth keeping: small, readable tests,
//! each with a score, added up against a threshold. What is slow about
//! SpamAssassin is how it runs them — one Perl regex after another, each
//! over the whole text. This module reads the same `.cf` files and runs the
//! same tests in one pass per text.
//!
//! The pass has four stages, each in its own module:
//!
//! 1. [`rules::parse`] reads `.cf` files the way SpamAssassin's config
//!    parser does — conditionals, plugins, `include`, `replace_tag` — into a
//!    plain [`rules::ast::Config`]. Nothing it cannot use is dropped
//!    silently: skipped lines are kept with the reason.
//! 2. [`rules::compile`] turns the configuration into an immutable
//!    [`rules::Rules`]: scores for the chosen score set, every regex of one
//!    kind of text (and of each header) in one [`regex::Set`] behind a
//!    literal prefilter, native [`evals`] for the eval tests we implement,
//!    and the metas in dependency order, each compiled to a small stack
//!    program. Sub-rules that no scored rule reads are not compiled at all:
//!    they cannot change a verdict (about 480 of the stock set's 2,950).
//! 3. [`Features::build`] renders the message as SpamAssassin's rules see
//!    it: header values, the body as text (HTML rendered by [`html`]), the
//!    raw decoded body, the URI list ([`uri`]), and facts about parts and
//!    HTML for the eval tests.
//! 4. [`rules::Rules::check`] runs everything and returns the hits, which
//!    [`verdict::Verdict`] turns into a score, an action and the
//!    `X-Spam-*` headers.
//!
//! The engine does the plumbing: [`EngineBuilder::rules_path`] loads rule
//! files, our own [`DEFAULT_RULES`] are used when none are given, and every
//! [`Scanner::scan_message`] report carries the verdict.
//!
//! ```
//! use filter::EngineBuilder;
//!
//! let mut b = EngineBuilder::new().defaults(false);
//! b.rules_str("local.cf", "header LOCAL_SALE Subject =~ /\\bsale\\b/i\nscore LOCAL_SALE 6.0\n");
//! let engine = b.build();
//! let report = engine.scanner().scan_message(b"Subject: Big SALE today\r\n\r\nbuy\r\n");
//! let verdict = report.spam.expect("rules ran");
//! assert!(verdict.is_spam);
//! assert_eq!(verdict.symbols[0].name, "LOCAL_SALE");
//! ```
//!
//! [`EngineBuilder::rules_path`]: crate::EngineBuilder::rules_path
//! [`Scanner::scan_message`]: crate::Scanner::scan_message

pub mod bayes;
pub mod dns;
pub mod evals;
pub mod features;
pub mod html;
pub mod origin;
pub mod regex;
pub mod registry;
pub mod rules;
pub mod uri;
pub mod verdict;

pub use features::Features;

/// Our own default rules, used when no rules are given (SpamAssassin
/// `.cf` syntax).
pub const DEFAULT_RULES: &str = include_str!("default.cf");
