//! Perl regexes as SpamAssassin writes them, run in one pass per text.
//! (Stub: owned by the regex helper.)

/// Why a Perl pattern could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegexError {
    /// The pattern does not parse (as Perl or after translation).
    #[error("invalid pattern: {0}")]
    Invalid(String),
    /// The pattern needs a feature neither engine has.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// How a compiled pattern runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    /// Translated to the regex crate's syntax: linear time.
    Native,
    /// Look-around or backreferences: run by the bounded fallback engine.
    Fallback,
}

/// A per-message work budget for fallback patterns. The core reads no
/// clock, so the budget counts work, not time.
#[derive(Debug, Clone)]
pub struct Budget {
    /// Fallback runs still allowed.
    pub left: u64,
    /// Set when a fallback run was refused or cut short.
    pub exhausted: bool,
}

/// Builds a [`Set`].
#[derive(Debug, Default)]
pub struct SetBuilder {}

impl SetBuilder {
    /// An empty builder.
    pub fn new() -> SetBuilder {
        SetBuilder::default()
    }

    /// Adds a Perl pattern with its flags (`i`, `s`, `m`, `x`; unknown
    /// flags ignored as SpamAssassin does) and returns its id (0, 1, 2, ...
    /// in order of addition) and engine.
    pub fn add(&mut self, pattern: &str, flags: &str) -> Result<(u32, EngineKind), RegexError> {
        let _ = (pattern, flags);
        Err(RegexError::Unsupported("stub".into()))
    }

    /// Compiles the prefilter.
    pub fn build(self) -> Set {
        Set {}
    }
}

/// Compiled patterns plus a prefilter of their required literals.
/// Immutable, `Send + Sync`.
#[derive(Debug)]
pub struct Set {}

impl Set {
    /// Appends to `out` (sorted, without duplicates) the ids of the patterns
    /// that may match somewhere in `text`: those whose required literals
    /// occur in it, and those with no required literal. A pattern not
    /// returned cannot match `text` or any part of it.
    pub fn candidates(&self, text: &[u8], out: &mut Vec<u32>) {
        let _ = (text, out);
    }

    /// Counts the non-overlapping matches of pattern `id` in `text`, up to
    /// `max` (use 1 for a yes/no test).
    pub fn count(&self, id: u32, text: &[u8], max: usize, budget: &mut Budget) -> usize {
        let _ = (id, text, max, budget);
        0
    }

    /// Number of patterns.
    pub fn len(&self) -> usize {
        0
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
