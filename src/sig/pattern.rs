//! ClamAV body patterns: the hex syntax of `.ndb` bodies and `.ldb`
//! subsignatures, their offsets and modifiers.
//!
//! CONTRACT (owned by the pattern/matcher helper; keep these signatures).

use thiserror::Error;

/// Why a hex body, offset or modifier string was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PatternError {
    /// Placeholder until the parser lands.
    #[error("unsupported: {0}")]
    Unsupported(String),
}

/// Subsignature modifiers (`::i`, `::w`, `::f`, `::a` in `.ldb` files).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Modifiers {
    /// `i`: ASCII case-insensitive.
    pub nocase: bool,
    /// `w`: wide (UTF-16LE: every byte followed by `00`).
    pub wide: bool,
    /// `f`: whole word: the match is not preceded or followed by `[A-Za-z0-9_]`.
    pub fullword: bool,
    /// `a`: ASCII; with `w`, match both the ASCII and the wide form.
    pub ascii: bool,
}

impl Modifiers {
    /// Parses the letters after `::` (e.g. `"wi"`).
    pub fn parse(s: &str) -> Result<Modifiers, PatternError> {
        Err(PatternError::Unsupported(s.to_string()))
    }
}

/// What an offset is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The start of the file (`n`).
    Start,
    /// The end of the file (`EOF-n`).
    Eof,
    /// The PE/ELF/Mach-O entry point (`EP+n`, `EP-n`).
    EntryPoint,
    /// The start of section `k` (`Sk+n`).
    Section(u16),
    /// The start of the last section (`SL+n`).
    LastSection,
    /// Anywhere inside section `k` (`SEk`).
    SectionEntire(u16),
    /// The version-information resource (`VI`); never resolved here.
    VersionInfo,
}

/// Where a match may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    /// `*`: anywhere.
    Any,
    /// `base+delta[,shift]`: the match starts at `base + delta + k` for some
    /// `0 <= k <= shift`. `delta` may be negative only for `EP` and `EOF`.
    At {
        /// What `delta` is counted from.
        base: Base,
        /// Signed distance from the base.
        delta: i64,
        /// Extra slack (`,maxshift`).
        shift: u64,
    },
}

impl Offset {
    /// Parses `*`, `n`, `n,m`, `EOF-n`, `EP+n`, `EP-n`, `Sx+n`, `SL+n`,
    /// `SEx`, `VI` (each with an optional `,shift`).
    pub fn parse(s: &str) -> Result<Offset, PatternError> {
        Err(PatternError::Unsupported(s.to_string()))
    }

    /// Whether this offset can be resolved on `layout` (`None` means the
    /// offset needs a layout the file does not have, so it cannot match).
    pub fn needs_layout(&self) -> bool {
        !matches!(
            self,
            Offset::Any
                | Offset::At {
                    base: Base::Start | Base::Eof,
                    ..
                }
        )
    }
}

/// One parsed body: the hex syntax with its modifiers applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    _private: (),
}

impl Pattern {
    /// Parses a hex body (`.ndb` field 4, or an `.ldb` subsignature without
    /// its offset and `::modifiers`).
    pub fn parse(hex: &str) -> Result<Pattern, PatternError> {
        Err(PatternError::Unsupported(hex.to_string()))
    }

    /// Parses a body and applies modifiers.
    pub fn parse_with(hex: &str, modifiers: Modifiers) -> Result<Pattern, PatternError> {
        let _ = modifiers;
        Pattern::parse(hex)
    }

    /// Shortest number of bytes a match can span.
    pub fn min_len(&self) -> usize {
        0
    }
}
