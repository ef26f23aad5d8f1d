//! Checks shared by the fuzz targets (included with `mod common;`).

use filter::defect::Defects;

/// The transfer decoder contract of `filter::decode`.
pub type Decoder = fn(&[u8], &mut Vec<u8>, usize) -> Defects;

/// Text the limited run appends after, to check that decoders append.
const PRIOR: &[u8] = b"prior output";

/// Runs `decode` on `data` (its first byte picks a small limit) and checks
/// the contract of `filter::decode`: it appends to `out` and never rewrites
/// what was there; it writes at most `limit` bytes; the limited output is
/// the start of the unlimited one; and stopping early is flagged
/// `DECODED_SIZE_LIMIT`, never silent.
pub fn check_decoder(decode: Decoder, data: &[u8]) {
    let (limit, input) = match data.split_first() {
        Some((&b, rest)) => (usize::from(b), rest),
        None => (0, data),
    };

    let mut full = Vec::new();
    let full_defects = decode(input, &mut full, usize::MAX);
    assert!(
        !full_defects.contains(Defects::DECODED_SIZE_LIMIT),
        "limit defect without a limit"
    );

    let mut out = PRIOR.to_vec();
    let defects = decode(input, &mut out, limit);
    assert!(
        out.starts_with(PRIOR),
        "decoder changed bytes already in `out`"
    );
    let grown = &out[PRIOR.len()..];
    assert!(
        grown.len() <= limit,
        "wrote {} bytes with limit {limit}",
        grown.len()
    );
    assert_eq!(
        Some(grown),
        full.get(..grown.len()),
        "limited output is not a prefix of the unlimited output"
    );
    if full.len() > limit {
        assert!(
            defects.contains(Defects::DECODED_SIZE_LIMIT),
            "output cut from {} to {} bytes without DECODED_SIZE_LIMIT",
            full.len(),
            grown.len()
        );
    }
}
