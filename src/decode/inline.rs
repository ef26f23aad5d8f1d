//! STUB — to be written (helper A).
//!
//! Contract: finds inline uuencode (`begin 644 name` … `end`), yEnc
//! (`=ybegin … name=` … `=yend`) and BinHex 4.0 (`(This file must be
//! converted with BinHex 4.0)` then `:` … `:`) blocks in a text body, in one
//! linear pass. Each block's `range` covers the begin line through the end
//! line, so that `decode::decode(block.kind.encoding(), &text[block.range], ..)`
//! decodes it.

use core::ops::Range;

use crate::decode::Encoding;

/// Which inline encoding a block uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InlineKind {
    /// `begin MODE NAME` … `end`.
    Uuencode,
    /// `=ybegin` … `=yend`.
    Yenc,
    /// BinHex 4.0.
    BinHex,
}

impl InlineKind {
    /// The transfer decoder for this kind.
    pub fn encoding(self) -> Encoding {
        match self {
            InlineKind::Uuencode => Encoding::Uuencode,
            InlineKind::Yenc => Encoding::Yenc,
            InlineKind::BinHex => Encoding::BinHex,
        }
    }
}

/// One inline block found by [`scan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InlineBlock {
    /// The encoding.
    pub kind: InlineKind,
    /// Offsets of the whole block in the scanned text, begin line to end line.
    pub range: Range<usize>,
    /// Offsets of the file name in the scanned text, when the block names one
    /// (uuencode and yEnc; BinHex names live inside the encoded header).
    pub name: Option<Range<usize>>,
}

/// Appends the inline blocks of `text` to `out`, at most `max` of them.
/// Returns true when more blocks were present than `max`.
pub fn scan(text: &[u8], out: &mut Vec<InlineBlock>, max: usize) -> bool {
    let _ = (text, out, max);
    false
}
