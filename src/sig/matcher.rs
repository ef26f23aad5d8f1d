//! The multi-pattern matcher: one Aho-Corasick automaton over the anchor of
//! every pattern, with exact verification of the rest.
//!
//! CONTRACT (owned by the pattern/matcher helper; keep these signatures).

use super::pattern::{Offset, Pattern};
use super::pe::Layout;

/// Dense pattern number, in the order patterns were added.
pub type PatternId = u32;

/// Collects patterns, then compiles them into a [`Matcher`].
#[derive(Default)]
pub struct MatcherBuilder {
    patterns: Vec<(Pattern, Offset)>,
}

impl MatcherBuilder {
    /// An empty builder.
    pub fn new() -> MatcherBuilder {
        MatcherBuilder::default()
    }

    /// Adds a pattern with its offset; ids are dense, from 0.
    pub fn add(&mut self, pattern: Pattern, offset: Offset) -> PatternId {
        self.patterns.push((pattern, offset));
        (self.patterns.len() - 1) as PatternId
    }

    /// Compiles every pattern.
    pub fn build(self) -> Matcher {
        Matcher {
            len: self.patterns.len(),
        }
    }
}

/// Compiled patterns; immutable, `Send + Sync`.
pub struct Matcher {
    len: usize,
}

impl Matcher {
    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Finds every pattern in `data`, recording hits in `state` (which is
    /// cleared first). `layout` resolves EP/section offsets.
    pub fn scan(&self, data: &[u8], layout: &Layout, state: &mut MatchState) {
        let _ = (data, layout);
        state.clear();
    }
}

/// Per-scanner scratch: hit counts and the first offsets of each pattern.
#[derive(Default)]
pub struct MatchState {
    hit: Vec<PatternId>,
}

impl MatchState {
    /// Most match offsets kept per pattern.
    pub const MAX_OFFSETS: usize = 16;

    /// A fresh state.
    pub fn new() -> MatchState {
        MatchState::default()
    }

    /// Forgets all hits, keeping allocations.
    pub fn clear(&mut self) {
        self.hit.clear();
    }

    /// Ids of the patterns that matched at least once, in no set order.
    pub fn hits(&self) -> &[PatternId] {
        &self.hit
    }

    /// How many distinct start offsets `id` matched at (saturating).
    pub fn count(&self, id: PatternId) -> u32 {
        let _ = id;
        0
    }

    /// The first (lowest) start offsets `id` matched at, at most
    /// [`MatchState::MAX_OFFSETS`], ascending.
    pub fn offsets(&self, id: PatternId) -> &[u64] {
        let _ = id;
        &[]
    }

    /// Whether the scan stopped early on a work bound.
    pub fn truncated(&self) -> bool {
        false
    }
}
