//! The AVX2 fast path of the base64 decoder (x86_64 only).
//!
//! [`decode_clean`] has the same contract as the scalar fast path in
//! `base64.rs`: it starts at a group boundary with nothing pending, decodes
//! only stretches made of alphabet characters and whitespace in which every
//! group is complete, and stops at anything else (junk, `=`, a group cut by
//! a line break, the last 31 bytes of input, the output limit). What it
//! consumed decodes exactly as the lenient state machine would decode it,
//! so the caller simply resumes with its own paths where it stopped.
//!
//! The technique is the well-known vectorised one (Muła and Lemire): each
//! 32-byte block is classified by its high and low nibbles through two
//! `vpshufb` tables (a character is valid when the two class sets do not
//! intersect), mapped to sextets by adding an offset chosen by its high
//! nibble (`/` gets its own slot), and packed 4 → 3 with two multiply-add
//! instructions and a byte shuffle: 32 characters give 24 bytes.
//!
//! Line breaks: mail lines are 76 (or 64, 72) characters, a multiple of 4,
//! so a block that runs into a line break is decoded up to the first
//! non-alphabet byte (whole groups only; the extra bytes written past that
//! are scratch in the vector's spare capacity), the whitespace is stepped
//! over, and the next block starts at the start of the next line.
//!
//! AVX-512 (F, BW, VL and VBMI, detected at run time) runs ahead of that:
//! 64-character blocks translated with one 128-entry `vpermi2b` lookup
//! (bit 7 of the sextet or of the character marks a non-alphabet byte),
//! packed like the AVX2 blocks and ordered with one `vpermb`. Its line mode
//! takes lines of 64 to 124 characters as one 64-character block plus a
//! masked rest, and 76-character lines two at a time: 152 characters as
//! three blocks laid out on the lines, the middle one gathered from two
//! loads by a `vpermt2b` that leaves the line break out. What it leaves
//! goes to the AVX2 kernel, then to the scalar paths, under the same
//! contract.

#![cfg(target_arch = "x86_64")]
#![allow(unsafe_code)]

use core::arch::x86_64::*;

use super::base64::is_space;

/// Bytes of output the kernel may store past what it reports.
const SLACK: usize = 64;

/// True when the CPU has AVX2. `is_x86_feature_detected!` caches its answer
/// in a static after the first call, so this is one relaxed load.
#[inline]
pub(crate) fn available() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// Decodes the clean start of `src` (see the module docs), appending at most
/// `room` bytes to `out`. Returns (input consumed, output appended); (0, 0)
/// when AVX2 is missing or nothing could be decoded this way.
#[inline]
pub(crate) fn decode_clean(src: &[u8], out: &mut Vec<u8>, room: usize) -> (usize, usize) {
    if src.len() < 32 || room < 24 || !available() {
        return (0, 0);
    }
    let budget = room.min(src.len() / 4 * 3);
    out.reserve(budget + SLACK);
    let (mut i, mut o) = (0, 0);
    if src.len() >= 64 && budget >= 48 && available512() {
        // SAFETY: AVX-512 F/BW/VL/VBMI are available (checked just above), and
        // `out` has room for `budget + SLACK` more bytes (reserved above).
        (i, o) = unsafe { decode_avx512(src, out, budget) };
    }
    // The AVX2 kernel takes what is left (shorter lines, the last blocks);
    // it starts, as the AVX-512 one stopped, at a group boundary.
    if src.len() - i >= 32 && budget - o >= 24 {
        // SAFETY: AVX2 is available (checked above), and `out` has room for
        // `budget - o + SLACK` more bytes: `budget + SLACK` were reserved
        // and `o` appended since.
        let (ci, co) = unsafe { decode_avx2(&src[i..], out, budget - o) };
        i += ci;
        o += co;
    }
    (i, o)
}

/// A 16-byte table repeated in both 128-bit lanes (`vpshufb` looks up
/// within a lane).
const fn lanes(t: [u8; 16]) -> [u8; 32] {
    let mut r = [0u8; 32];
    let mut i = 0;
    while i < 16 {
        r[i] = t[i];
        r[i + 16] = t[i];
        i += 1;
    }
    r
}

/// Class bits of a high nibble: which rule decides its low nibble.
///
/// * `0x01`: `2x` — only `+` (0x2B) and `/` (0x2F) are valid.
/// * `0x02`: `3x` — only the digits 0x30..=0x39.
/// * `0x04`: `4x`, `6x` — all but 0x40 and 0x60.
/// * `0x08`: `5x`, `7x` — only 0x50..=0x5A and 0x70..=0x7A.
/// * `0x10`: every other high nibble — nothing is valid.
const HI_CLASS: [u8; 16] = [
    0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
];

/// For each low nibble, the classes in which it is *invalid*.
const LO_INVALID: [u8; 16] = {
    let mut t = [0u8; 16];
    let mut lo = 0;
    while lo < 16 {
        let mut m = 0x10;
        if lo != 0x0b && lo != 0x0f {
            m |= 0x01;
        }
        if lo >= 0x0a {
            m |= 0x02;
        }
        if lo == 0 {
            m |= 0x04;
        }
        if lo >= 0x0b {
            m |= 0x08;
        }
        t[lo] = m;
        lo += 1;
    }
    t
};

/// Offset to add to a valid character, indexed by its high nibble, except
/// that `/` uses index 1 (its high nibble minus one).
const ROLL: [u8; 16] = {
    let mut t = [0u8; 16];
    t[1] = (63u8).wrapping_sub(b'/');
    t[2] = (62u8).wrapping_sub(b'+');
    t[3] = (52u8).wrapping_sub(b'0');
    t[4] = (0u8).wrapping_sub(b'A');
    t[5] = (0u8).wrapping_sub(b'A');
    t[6] = (26u8).wrapping_sub(b'a');
    t[7] = (26u8).wrapping_sub(b'a');
    t
};

static HI_CLASS_V: [u8; 32] = lanes(HI_CLASS);
static LO_INVALID_V: [u8; 32] = lanes(LO_INVALID);
static ROLL_V: [u8; 32] = lanes(ROLL);

/// Classifies and translates one block: (sextets, a vector that is
/// non-zero exactly in the bytes that are not in the alphabet).
#[inline]
#[target_feature(enable = "avx2")]
fn translate(v: __m256i, luts: &Luts) -> (__m256i, __m256i) {
    let nib = _mm256_set1_epi8(0x0f);
    let hi = _mm256_and_si256(_mm256_srli_epi32::<4>(v), nib);
    let lo = _mm256_and_si256(v, nib);
    let bad = _mm256_and_si256(
        _mm256_shuffle_epi8(luts.hi, hi),
        _mm256_shuffle_epi8(luts.lo, lo),
    );
    let slash = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'/' as i8));
    // `slash` is -1 on `/`, moving it from slot 2 to slot 1.
    let roll = _mm256_shuffle_epi8(luts.roll, _mm256_add_epi8(hi, slash));
    (_mm256_add_epi8(v, roll), bad)
}

/// The bitmask of the non-zero bytes of `bad`.
#[inline]
#[target_feature(enable = "avx2")]
fn mask(bad: __m256i) -> u32 {
    let ok = _mm256_cmpeq_epi8(bad, _mm256_setzero_si256());
    !(_mm256_movemask_epi8(ok) as u32)
}

/// Packs 32 sextets into 24 bytes, in the low 24 bytes of the result.
#[inline]
#[target_feature(enable = "avx2")]
fn pack(s: __m256i) -> __m256i {
    // Pairs: first * 64 + second (12 bits in each 16-bit word).
    let w = _mm256_maddubs_epi16(s, _mm256_set1_epi32(0x0140_0140));
    // Quads: pair0 * 4096 + pair1 (24 bits in each 32-bit word).
    let d = _mm256_madd_epi16(w, _mm256_set1_epi32(0x0001_1000));
    // Each dword holds its 3 bytes little-endian: reverse them and squeeze
    // each lane's 12 bytes to its bottom.
    let shuf = _mm256_setr_epi8(
        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1, //
        2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
    );
    let b = _mm256_shuffle_epi8(d, shuf);
    _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7))
}

/// One block: translates the 32 characters at `src[at..]`, stores their 24
/// bytes (and 8 of scratch) at `dst[o..]`, returns a vector non-zero in the
/// bytes that are not in the alphabet.
///
/// # Safety
///
/// `at + 32 <= src.len()`, and `dst[o..o + 32]` is writable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn block(src: &[u8], at: usize, dst: *mut u8, o: usize, luts: &Luts) -> __m256i {
    // SAFETY: `at + 32 <= src.len()` (the caller's contract).
    let v = unsafe { _mm256_loadu_si256(src.as_ptr().add(at).cast()) };
    let (s, bad) = translate(v, luts);
    // SAFETY: `dst[o..o + 32]` is writable (the caller's contract).
    unsafe { _mm256_storeu_si256(dst.add(o).cast(), pack(s)) };
    bad
}

struct Luts {
    hi: __m256i,
    lo: __m256i,
    roll: __m256i,
}

/// The shape of the lines seen so far: characters per line, and the line
/// break after them (its bytes, little-endian, a mask of the ones that
/// count, and its length: one or two bytes).
#[derive(Clone, Copy)]
struct Lines {
    width: usize,
    word: u16,
    mask: u16,
    len: usize,
}

impl Lines {
    /// Lines `width` characters wide, each ended by `eol` (one or two bytes).
    fn new(width: usize, eol: &[u8]) -> Lines {
        match *eol {
            [a] => Lines {
                width,
                word: a as u16,
                mask: 0x00ff,
                len: 1,
            },
            [a, b, ..] => Lines {
                width,
                word: u16::from_le_bytes([a, b]),
                mask: 0xffff,
                len: 2,
            },
            [] => Lines {
                width,
                word: 0,
                mask: 0xffff,
                len: 0,
            },
        }
    }
}

/// Speculative line mode: from `p` (a line start), decodes lines of exactly
/// `shape.width` characters (a multiple of 4, at least 32) each followed by
/// exactly its line break, for as long as they come. Every block of a line is
/// decoded independently of the others (the last one overlapping the one
/// before), then the whole line is checked; the first line that is not
/// clean is left untouched. Returns the new (p, o). `W` is the width when
/// the caller knows it at compile time, else 0.
///
/// # Safety
///
/// `dst[..budget + SLACK]` is writable.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn lines<const W: usize>(
    src: &[u8],
    mut p: usize,
    dst: *mut u8,
    mut o: usize,
    budget: usize,
    shape: Lines,
    luts: &Luts,
) -> (usize, usize) {
    let width = if W != 0 { W } else { shape.width };
    debug_assert!(width >= 32 && width % 4 == 0);
    let per_line = width / 4 * 3;
    let last = width - 32;
    while p + width + 2 <= src.len() && o + per_line <= budget {
        // Blocks in order: each one's 8 bytes of scratch are overwritten by
        // the next, the last one's lie past the line.
        let mut bad = _mm256_setzero_si256();
        let mut j = 0;
        while j < last {
            // SAFETY: `p + j + 32 <= p + width <= src.len()` as `j < last`;
            // the store ends at `o + j / 4 * 3 + 32 <= o + per_line + 8 <=
            // budget + SLACK`, writable by this function's contract.
            let b = unsafe { block(src, p + j, dst, o + j / 4 * 3, luts) };
            bad = _mm256_or_si256(bad, b);
            j += 32;
        }
        // SAFETY: as above, with `j = last = width - 32`.
        let b = unsafe { block(src, p + last, dst, o + last / 4 * 3, luts) };
        bad = _mm256_or_si256(bad, b);
        let brk = u16::from_le_bytes([src[p + width], src[p + width + 1]]);
        if _mm256_testz_si256(bad, bad) == 0 || brk & shape.mask != shape.word {
            break;
        }
        p += width + shape.len;
        o += per_line;
    }
    (p, o)
}

/// The kernel: appends at most `budget` bytes to `out`.
///
/// # Safety
///
/// The CPU has AVX2, and `out` has spare capacity of at least
/// `budget + SLACK` bytes.
#[target_feature(enable = "avx2")]
unsafe fn decode_avx2(src: &[u8], out: &mut Vec<u8>, budget: usize) -> (usize, usize) {
    // SAFETY: the tables are 32 bytes each.
    let luts = unsafe {
        Luts {
            hi: _mm256_loadu_si256(HI_CLASS_V.as_ptr().cast()),
            lo: _mm256_loadu_si256(LO_INVALID_V.as_ptr().cast()),
            roll: _mm256_loadu_si256(ROLL_V.as_ptr().cast()),
        }
    };
    let base = out.len();
    let dst = out.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    let n = src.len();
    let mut i = 0;
    let mut o = 0;
    // Where the current line started, as far as we know (the kernel may
    // have been entered mid-line; line mode then just fails its check).
    let mut line_start = 0;
    while i + 32 <= n && o + 24 <= budget {
        // SAFETY: `i + 32 <= src.len()`; `o + 24 <= budget`, so the store
        // ends at `o + 32 <= budget + SLACK`, inside the spare capacity the
        // caller reserved. Only the bytes counted in `o` are reported.
        let invalid = mask(unsafe { block(src, i, dst, o, &luts) });
        if invalid == 0 {
            i += 32;
            o += 24;
            continue;
        }
        // Whole groups before the first non-alphabet byte.
        let k = invalid.trailing_zeros() as usize;
        i += k & !3;
        o += (k >> 2) * 3;
        if k & 3 != 0 {
            // A group cut by something: the scalar paths take it.
            break;
        }
        // Whitespace between groups (the line break) is skipped; anything
        // else stops the kernel.
        let brk = i;
        while i < n && is_space(src[i]) {
            i += 1;
        }
        if i == brk {
            break;
        }
        let width = brk - line_start;
        let eol_len = i - brk;
        line_start = i;
        if width >= 32 && width % 4 == 0 && eol_len <= 2 {
            let shape = Lines::new(width, &src[brk..i]);
            // SAFETY: `dst[..budget + SLACK]` is the reserved spare capacity.
            let (p, q) = unsafe {
                match width {
                    76 => lines::<76>(src, i, dst, o, budget, shape, &luts),
                    64 => lines::<64>(src, i, dst, o, budget, shape, &luts),
                    _ => lines::<0>(src, i, dst, o, budget, shape, &luts),
                }
            };
            i = p;
            o = q;
            line_start = i;
        }
    }
    // SAFETY: the `o` bytes after `base` were all written by the stores
    // above (each reported byte lies inside a stored block), and
    // `o <= budget <= spare capacity`.
    unsafe { out.set_len(base + o) };
    (i, o)
}

/// True when the CPU has AVX-512 with VBMI (byte permutes), which the wide
/// kernel needs. Cached by `is_x86_feature_detected!` like [`available`].
#[inline]
pub(crate) fn available512() -> bool {
    std::is_x86_feature_detected!("avx512vbmi")
        && std::is_x86_feature_detected!("avx512bw")
        && std::is_x86_feature_detected!("avx512vl")
}

/// The sextet of every 7-bit character, `0x80` for the ones outside the
/// alphabet (the AVX-512 kernel looks characters up with `vpermi2b`, which
/// ignores bit 7 of the index; a set bit 7 in the character itself is
/// caught separately).
static DEC128: [u8; 128] = {
    let mut t = [0x80u8; 128];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'/' as usize] = 63;
    t
};

/// `vpermb` indices gathering the three data bytes of each packed dword,
/// big-endian, into the low 48 bytes.
static PACK512: [u8; 64] = {
    let mut t = [0u8; 64];
    let mut i = 0;
    while i < 16 {
        t[3 * i] = (4 * i + 2) as u8;
        t[3 * i + 1] = (4 * i + 1) as u8;
        t[3 * i + 2] = (4 * i) as u8;
        i += 1;
    }
    t
};

struct Luts512 {
    lo: __m512i,
    hi: __m512i,
    pack: __m512i,
}

/// Packs 64 sextets into 48 bytes, in the low 48 bytes of the result.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi")]
fn pack512(s: __m512i, luts: &Luts512) -> __m512i {
    let w = _mm512_maddubs_epi16(s, _mm512_set1_epi32(0x0140_0140));
    let d = _mm512_madd_epi16(w, _mm512_set1_epi32(0x0001_1000));
    _mm512_permutexvar_epi8(luts.pack, d)
}

/// Lines of exactly `shape.width` characters (a multiple of 4, 64..=124),
/// each followed by exactly its line break: the first 64 characters of a
/// line in one block, the rest in a second, masked one. Stops before the
/// first line that is not clean, like [`lines`]. Returns the new (p, o).
///
/// # Safety
///
/// The CPU has AVX-512 F/BW/VL/VBMI, and `dst[..budget + SLACK]` is writable.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi")]
unsafe fn lines512<const W: usize>(
    src: &[u8],
    mut p: usize,
    dst: *mut u8,
    mut o: usize,
    budget: usize,
    shape: Lines,
    luts: &Luts512,
) -> (usize, usize) {
    let width = if W != 0 { W } else { shape.width };
    debug_assert!((64..=124).contains(&width) && width % 4 == 0);
    let per_line = width / 4 * 3;
    let tail = width - 64;
    let tmask: __mmask64 = (1u64 << tail) - 1;
    if W == 76 {
        // SAFETY: this function's contract, passed on.
        (p, o) = unsafe { pairs76(src, p, dst, o, budget, shape, luts) };
    }
    while p + width + 2 <= src.len() && o + per_line <= budget {
        let at = src.as_ptr().wrapping_add(p);
        // SAFETY: `p + 64 <= p + width <= src.len()`.
        let v0 = unsafe { _mm512_loadu_si512(at.cast()) };
        let s0 = _mm512_permutex2var_epi8(luts.lo, v0, luts.hi);
        // Bit 7 set in a character (not ASCII) or in its sextet (not in
        // the alphabet) marks it bad.
        let mut bad = _mm512_movepi8_mask(_mm512_or_si512(s0, v0));
        // SAFETY: the store ends at `o + 64 <= budget + SLACK` (as
        // `o + per_line <= budget` and `per_line >= 48`), writable by this
        // function's contract. Bytes past the line are scratch.
        unsafe { _mm512_storeu_si512(dst.add(o).cast(), pack512(s0, luts)) };
        if tail != 0 && tail <= 16 {
            // The rest of the line (at most 16 characters, 12 bytes):
            // looked up in the 512-bit table, packed and stored in 128 bits.
            // SAFETY: the masked load reads only `src[p + 64..p + width]`,
            // in bounds as `p + width <= src.len()`; other lanes are zero.
            let v1 = unsafe { _mm512_maskz_loadu_epi8(tmask, at.add(64).cast()) };
            let s1 = _mm512_permutex2var_epi8(luts.lo, v1, luts.hi);
            bad |= _mm512_movepi8_mask(_mm512_or_si512(s1, v1)) & tmask;
            let s1 = _mm512_castsi512_si128(s1);
            let w = _mm_maddubs_epi16(s1, _mm_set1_epi32(0x0140_0140));
            let d = _mm_madd_epi16(w, _mm_set1_epi32(0x0001_1000));
            let b = _mm_shuffle_epi8(
                d,
                _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1),
            );
            // SAFETY: the store ends at `o + 64 <= budget + SLACK`, as
            // above.
            unsafe { _mm_storeu_si128(dst.add(o + 48).cast(), b) };
        } else if tail != 0 {
            // SAFETY: as for the 128-bit load above.
            let v1 = unsafe { _mm512_maskz_loadu_epi8(tmask, at.add(64).cast()) };
            let s1 = _mm512_permutex2var_epi8(luts.lo, v1, luts.hi);
            bad |= _mm512_movepi8_mask(_mm512_or_si512(s1, v1)) & tmask;
            // SAFETY: the store ends at `o + 112 <= budget + SLACK`, as
            // `o + per_line <= budget` and `per_line >= 48`.
            unsafe { _mm512_storeu_si512(dst.add(o + 48).cast(), pack512(s1, luts)) };
        }
        let brk = u16::from_le_bytes([src[p + width], src[p + width + 1]]);
        if bad != 0 || brk & shape.mask != shape.word {
            break;
        }
        p += width + shape.len;
        o += per_line;
    }
    (p, o)
}

/// Two 76-character lines at a time (152 characters, 114 bytes), in three
/// blocks laid out on the lines: the first 64 characters of the first
/// line; its last 12 and the first 52 of the second, gathered from two
/// loads by one `vpermt2b` that leaves the line break out; the last 24 of
/// the second. Stops before the first pair that is not clean (the
/// one-line loop then takes over). Returns the new (p, o).
///
/// # Safety
///
/// The CPU has AVX-512 F/BW/VL/VBMI, and `dst[..budget + SLACK]` is
/// writable.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi")]
unsafe fn pairs76(
    src: &[u8],
    mut p: usize,
    dst: *mut u8,
    mut o: usize,
    budget: usize,
    shape: Lines,
    luts: &Luts512,
) -> (usize, usize) {
    let e = shape.len;
    let stride = 76 + e;
    // Block 2 from B = src[p + 64..p + 128] and C = src[p + 128..]: lane j
    // < 12 is B[j]; then the second line's character k = j - 12 is at
    // B[12 + e + k] while that is inside B, else at C[k - 52 + e].
    let mut mid = [0u8; 64];
    // Block 3: the second line's characters 52..76, at C[e..24 + e].
    let mut last = [0u8; 64];
    let mut j = 0;
    while j < 64 {
        mid[j] = if j < 12 {
            j as u8
        } else if j - 12 < 52 - e {
            (e + j) as u8
        } else {
            (64 + j - 12 + e - 52) as u8
        };
        if j < 24 {
            last[j] = (e + j) as u8;
        }
        j += 1;
    }
    // SAFETY: both arrays are 64 bytes.
    let (mid, last) = unsafe {
        (
            _mm512_loadu_si512(mid.as_ptr().cast()),
            _mm512_loadu_si512(last.as_ptr().cast()),
        )
    };
    let cmask: __mmask64 = (1u64 << (2 * stride - 128)) - 1;
    let m24: __mmask64 = (1u64 << 24) - 1;
    let fill = _mm512_set1_epi8(b'A' as i8);
    while p + 2 * stride + 2 <= src.len() && o + 114 <= budget {
        let at = src.as_ptr().wrapping_add(p);
        // SAFETY: `p + 128 <= p + 2 * stride <= src.len()`, and the masked
        // load reads only `src[p + 128..p + 2 * stride]`; other lanes are
        // zero.
        let (a, b, c) = unsafe {
            (
                _mm512_loadu_si512(at.cast()),
                _mm512_loadu_si512(at.add(64).cast()),
                _mm512_maskz_loadu_epi8(cmask, at.add(128).cast()),
            )
        };
        let b2 = _mm512_permutex2var_epi8(b, mid, c);
        // Lanes of C2 past its 24 characters are `A`: valid, no error.
        let c2 = _mm512_mask_permutexvar_epi8(fill, m24, last, c);
        let sa = _mm512_permutex2var_epi8(luts.lo, a, luts.hi);
        let sb = _mm512_permutex2var_epi8(luts.lo, b2, luts.hi);
        let sc = _mm512_permutex2var_epi8(luts.lo, c2, luts.hi);
        // Bit 7 of a character or of its sextet marks it bad.
        let e1 = _mm512_ternarylogic_epi32::<0xfe>(sa, a, sb);
        let e2 = _mm512_ternarylogic_epi32::<0xfe>(b2, sc, c2);
        let bad = _mm512_movepi8_mask(_mm512_or_si512(e1, e2));
        // SAFETY: the stores end at `o + 64`, `o + 112` and `o + 128`, all
        // by `budget + SLACK` as `o + 114 <= budget`: writable by this
        // function's contract. Bytes past the 114 are scratch.
        unsafe {
            _mm512_storeu_si512(dst.add(o).cast(), pack512(sa, luts));
            _mm512_storeu_si512(dst.add(o + 48).cast(), pack512(sb, luts));
            _mm256_storeu_si256(
                dst.add(o + 96).cast(),
                _mm512_castsi512_si256(pack512(sc, luts)),
            );
        }
        let brk1 = u16::from_le_bytes([src[p + 76], src[p + 77]]);
        let brk2 = u16::from_le_bytes([src[p + stride + 76], src[p + stride + 77]]);
        if bad != 0 || brk1 & shape.mask != shape.word || brk2 & shape.mask != shape.word {
            break;
        }
        p += 2 * stride;
        o += 114;
    }
    (p, o)
}

/// The AVX-512 kernel: [`decode_avx2`] with 64-character blocks, and a
/// line mode for lines of 64 to 124 characters.
///
/// # Safety
///
/// The CPU has AVX-512 F/BW/VL/VBMI, and `out` has spare capacity of at least
/// `budget + SLACK` bytes.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vbmi")]
unsafe fn decode_avx512(src: &[u8], out: &mut Vec<u8>, budget: usize) -> (usize, usize) {
    // SAFETY: the tables are 128 and 64 bytes.
    let luts = unsafe {
        Luts512 {
            lo: _mm512_loadu_si512(DEC128.as_ptr().cast()),
            hi: _mm512_loadu_si512(DEC128.as_ptr().add(64).cast()),
            pack: _mm512_loadu_si512(PACK512.as_ptr().cast()),
        }
    };
    let base = out.len();
    let dst = out.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    let n = src.len();
    let mut i = 0;
    let mut o = 0;
    let mut line_start = 0;
    while i + 64 <= n && o + 48 <= budget {
        // SAFETY: `i + 64 <= src.len()`.
        let v = unsafe { _mm512_loadu_si512(src.as_ptr().add(i).cast()) };
        let s = _mm512_permutex2var_epi8(luts.lo, v, luts.hi);
        let invalid = _mm512_movepi8_mask(_mm512_or_si512(s, v));
        // SAFETY: `o + 48 <= budget`, so the store ends at `o + 64 <=
        // budget + SLACK`, inside the reserved spare capacity. Only the
        // bytes counted in `o` are reported.
        unsafe { _mm512_storeu_si512(dst.add(o).cast(), pack512(s, &luts)) };
        if invalid == 0 {
            i += 64;
            o += 48;
            continue;
        }
        let k = invalid.trailing_zeros() as usize;
        i += k & !3;
        o += (k >> 2) * 3;
        if k & 3 != 0 {
            break;
        }
        let brk = i;
        while i < n && is_space(src[i]) {
            i += 1;
        }
        if i == brk {
            break;
        }
        let width = brk - line_start;
        let eol_len = i - brk;
        line_start = i;
        if (64..=124).contains(&width) && width % 4 == 0 && eol_len <= 2 {
            let shape = Lines::new(width, &src[brk..i]);
            // SAFETY: the CPU has AVX-512 (this function's contract) and
            // `dst[..budget + SLACK]` is the reserved spare capacity.
            let (p, q) = unsafe {
                match width {
                    76 => lines512::<76>(src, i, dst, o, budget, shape, &luts),
                    64 => lines512::<64>(src, i, dst, o, budget, shape, &luts),
                    _ => lines512::<0>(src, i, dst, o, budget, shape, &luts),
                }
            };
            i = p;
            o = q;
            line_start = i;
        }
    }
    // SAFETY: the `o` bytes after `base` were all written by the stores
    // above, and `o <= budget <= spare capacity`.
    unsafe { out.set_len(base + o) };
    (i, o)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::base64::tests::naive_encode;

    /// The kernel really runs (on a CPU with AVX2) and takes nearly all of a
    /// clean body, in line mode and not: the equivalence proptests in
    /// `base64.rs` would pass just as well if it never did.
    #[test]
    fn kernel_takes_clean_bodies() {
        if !available() {
            return;
        }
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 13 + i / 5) as u8).collect();
        for (width, eol) in [
            (76, &b"\r\n"[..]),
            (76, b"\n"),
            (64, b"\r\n"),
            (72, b"\n"),
            (40, b"\r"),
            (68, b"\r\n"),
            (124, b"\n"),
            (128, b"\r\n"),
            (0, b""),
        ] {
            let enc = naive_encode(&data, width, eol);
            let mut out = b"pre".to_vec();
            let (ci, co) = decode_clean(&enc, &mut out, usize::MAX);
            assert!(
                ci + 110 >= enc.len(),
                "width {width}: {ci} of {}",
                enc.len()
            );
            assert_eq!(out.len(), 3 + co);
            assert_eq!(&out[3..], &data[..co]);
            // A limit stops it on whole groups, never past the limit.
            let mut out = Vec::new();
            let (_, co) = decode_clean(&enc, &mut out, 1000);
            assert!(co <= 1000 && co + 24 > 1000 && co % 3 == 0, "{co}");
            assert_eq!(out, &data[..co]);
        }
    }

    /// The AVX-512 kernel on its own (where the CPU has it): takes nearly
    /// all of a clean body in its line mode, honours limits.
    #[test]
    fn avx512_kernel_takes_clean_bodies() {
        if !available512() {
            return;
        }
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 13 + i / 5) as u8).collect();
        for (width, eol) in [
            (76, &b"\r\n"[..]),
            (76, b"\n"),
            (64, b"\r\n"),
            (72, b"\n"),
            (124, b"\r"),
            (0, b""),
        ] {
            let enc = naive_encode(&data, width, eol);
            let budget = enc.len() / 4 * 3;
            let mut out = b"pre".to_vec();
            out.reserve(budget + SLACK);
            // SAFETY: AVX-512 is available (checked above), room reserved.
            let (ci, co) = unsafe { decode_avx512(&enc, &mut out, budget) };
            assert!(
                ci + 200 >= enc.len(),
                "width {width}: {ci} of {}",
                enc.len()
            );
            assert_eq!(&out[3..], &data[..co]);
            let mut out = Vec::with_capacity(1000 + SLACK);
            // SAFETY: as above.
            let (_, co) = unsafe { decode_avx512(&enc, &mut out, 1000) };
            assert!(co <= 1000 && co + 57 > 1000 && co % 3 == 0, "{co}");
            assert_eq!(out, &data[..co]);
        }
    }
}
