//! STUB — to be written (helper A). Contract: see `decode/mod.rs`.

use crate::defect::Defects;

/// Appends the decoding of `input` to `out`, at most `limit` bytes.
pub fn decode(input: &[u8], out: &mut Vec<u8>, limit: usize) -> Defects {
    crate::decode::copy_limited(input, out, limit)
}
