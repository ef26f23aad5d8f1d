//! Limits: how much work one message may cost.
//!
//! Every input is hostile until proven otherwise. The walker and decoders
//! never allocate or loop without a bound taken from [`Limits`]; when a bound
//! is reached they stop, set the matching defect (see
//! [`crate::defect::LIMIT_DEFECTS`]) and return what they have. A limit never
//! panics and never makes a message look clean.
//!
//! ```
//! use filter::Limits;
//!
//! let strict = Limits { max_depth: 8, max_parts: 100, ..Limits::default() };
//! assert!(strict.max_depth < Limits::default().max_depth);
//! ```

/// Bounds on the work spent on one message. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How deep multipart and message/rfc822 parts may nest. A part at this
    /// depth is kept as a leaf and flagged `NESTING_LIMIT`. Values above
    /// [`crate::mime::MAX_DEPTH_CAP`] (128) act as the cap: the walker
    /// recurses once per level and keeps its stack use under 128 KiB.
    pub max_depth: usize,
    /// How many parts the tree may hold, alternative readings included.
    /// Past it the rest of the enclosing body is one leaf, flagged
    /// `PART_LIMIT`.
    pub max_parts: usize,
    /// How many header fields one header block may hold. Further fields are
    /// not indexed (they stay in the raw header); flagged `HEADER_LIMIT`.
    pub max_headers: usize,
    /// How many bytes one header block may span before the rest is taken as
    /// body; flagged `HEADER_LIMIT`.
    pub max_header_bytes: usize,
    /// Longest header line before `HEADER_TOO_LONG` is flagged. RFC 5322
    /// allows 998. Body lines are not measured: the decoders take lines of
    /// any length in linear time, so a long body line costs nothing extra.
    pub max_line_len: usize,
    /// Most bytes one part may decode to; flagged `DECODED_SIZE_LIMIT`.
    pub max_decoded_part: usize,
    /// Most bytes all parts of one message may decode to together.
    pub max_decoded_total: usize,
    /// Most members opened in one container (zip, tar, TNEF…); past it the
    /// scan reports `Heuristics.Limits.Exceeded.MaxFiles`.
    pub max_members: usize,
    /// Largest expanded/compressed ratio for a container member that expands
    /// past 1 MiB; past it the scan reports a compression bomb.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 32,
            max_parts: 4096,
            max_headers: 2048,
            max_header_bytes: 1 << 20,
            max_line_len: 998,
            max_decoded_part: 64 << 20,
            max_decoded_total: 256 << 20,
            max_members: 10_000,
            max_ratio: 1_000,
        }
    }
}
