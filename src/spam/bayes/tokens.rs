//! Messages as bags of hashed tokens.
//!
//! A token is a 64-bit hash of a word and of where the word was seen: the
//! name of the header field it came from, or the body. Hashing keeps the
//! tokenizer allocation-free (words are never collected as strings) and
//! makes every token the same size in the model.
//!
//! What is read:
//!
//! * **Header fields** of the top-level message, raw (encoded words are
//!   not decoded), each word prefixed with the field's lower-cased name,
//!   so `Subject: free` and a body `free` are different tokens. `Received`
//!   fields are read: the relays' names and addresses are among the best
//!   evidence there is (on the SpamAssassin corpus, (1-ROCA)% fell from
//!   0.26 to 0.17 with them). Not read: `Date`, and the filters' own markup
//!   (`X-Spam-*`, `X-Virus-*`, `X-Bogosity`), which would let a filter
//!   learn another filter's verdict.
//! * **Text parts** (`text/*` leaves, attached or not, and the body of a
//!   message without MIME structure), decoded from base64 or
//!   quoted-printable. The bytes are read as they are: UTF-8 and
//!   the legacy 8-bit charsets both give stable words without conversion.
//!   In HTML the text between tags gives ordinary words and the tag and
//!   attribute names give `<tag` tokens; URLs anywhere give their host name
//!   and each of its parent domains. The Subject's words are read again
//!   as body words (its encoded words decoded), as SpamAssassin puts the
//!   Subject in front of the body.
//! * **Every leaf part**, text or not, gives a token of its media type,
//!   one of its charset and transfer encoding together, and, for an
//!   attachment with a file name, one of the name's extension.
//! * **Words** are runs of letters, digits, bytes above 0x7f and `$ ' _`,
//!   with `-` and `.` kept inside a word, lower-cased (ASCII), 2 to 40
//!   bytes long. A longer run gives one token for its first byte and length
//!   class, as Paul Graham and SpamAssassin do with long words: random
//!   strings and base64 noise then look alike.
//! * **Orthogonal sparse bigrams** (OSB, as CRM114 and rspamd use), when
//!   [`TokenizerOptions::osb`] is on: every pair of words at most
//!   `window - 1` apart, with their distance. The default window is 2:
//!   adjacent pairs only (see the table below).
//! * **The order of the header fields**: every pair and every triple of
//!   successive field names (the skipped fields left out), a fingerprint
//!   of the software that wrote the message; and **the number of
//!   `Received` fields**, the relays the message passed.
//!
//! The tokens of a message are deduplicated, keeping the first occurrence
//! of each in reading order: a classifier sees each token once per
//! message. At most [`TokenizerOptions::max_tokens`] tokens (3,000) are
//! read, header fields first: the start of a long message says as much as
//! its end (see the table).
//!
//! ## What each choice did
//!
//! Measured with `filterscan eval` (logistic model, online protocol) on the
//! SpamAssassin corpus in the five orders of `scripts/bench-bogofilter.py
//! --seed 1..5` (that script prints ours beside bogofilter's; the order
//! alone is `random.Random(SEED).shuffle` of `labels.tsv`, which
//! `filterscan eval --labels SHUFFLED.tsv --no-shuffle` then reads); the
//! mean (1-ROCA)% of the five, lower is better. The starting point was
//! window 5 and learning rate 2: 0.090.
//!
//! | choice | mean (1-ROCA)% |
//! |---|---|
//! | OSB window 5 → 3 → **2** (adjacent pairs) | 0.090 → 0.079 → 0.076 |
//! | no pairs at all | 0.091 |
//! | pairs in the body only, not in header fields | 0.086 |
//! | window 3 or 4 in header fields, 2 in the body | 0.074, 0.078 (no gain) |
//! | `max_tokens` 6,000 instead of 40,000 | 0.076 (no change) |
//! | digit-shape tokens (`a1b22` → `a0b0`), header or all words | 0.090 (no change) |
//! | dotted header words' suffixes and prefixes (domains, IP /24 /16) | 0.091 (no change) |
//!
//! Earlier rounds: `Received` fields took (1-ROCA)% from 0.26 to 0.17;
//! OSB (window 5) helped chi-square (0.29 → 0.19) more than the logistic
//! model; keeping case was no better.
//!
//! The last round started from 0.0737 (per seed 0.0794, 0.0728, 0.0736,
//! 0.0850, 0.0578):
//!
//! | choice | mean (1-ROCA)% |
//! |---|---|
//! | **pairs of successive header field names** | 0.0699 |
//! | **pairs and triples** of them | 0.0687 |
//! | pairs, triples and each name alone; pairs and names | 0.0708, 0.0717 |
//! | **`--max-tokens 3000`** instead of 40,000 (with the order tokens) | 0.0662 |
//! | `--max-tokens` 5,000, 8,000 (same) | 0.0681, 0.0680 |
//! | `--max-tokens` 2,000, 4,000 (without the order tokens, against 0.0737) | 0.0745, 0.0720 |
//! | **the count of `Received` fields** (lower on all five seeds) | 0.0651 |
//! | a message-size token (log2 of the length, half steps) | 0.0664 (against 0.0662) |
//! | a token for the number of MIME parts | 0.0663 (against 0.0662) |
//! | the words of the mbox `From ` line (envelope sender) | 0.0669 (against 0.0662) |
//! | pairs of successive HTML tag names (closing tags apart) | 0.0694 (against 0.0651) |
//! | **the Subject's words as body words too** (lower on all five seeds) | 0.0635 (against 0.0652) |
//! | the same, and header fields' encoded words decoded (alone, or beside the raw words) | 0.0635, 0.0635 |
//! | **leaf parts' media types and attachments' extensions** | 0.0631 |
//! | **and the parts' charset and transfer encoding** | 0.0626 |
//! | and multipart types too | 0.0627 |
//! | the header fields of every MIME part, tagged as such | 0.0703 (against 0.0699), 0.0744 (against 0.0737) |
//! | byte 3-, 4-, 5-grams of the first 3,000 raw bytes **alone** | 0.209, 0.177, 0.178 |
//! | byte 4-grams alone, first 1,000 or 6,000 bytes | 0.695, 0.165 |
//! | byte 4-grams of 1,000 or 3,000 bytes **added** to the words | 0.138, 0.131 |
//! | byte 5-grams of 1,000 or 3,000 bytes added to the words | 0.141, 0.137 |
//! | a second model on 4-grams of 3,000 bytes, log-odds averaged, its weight 0.15, 0.2, 0.25 | 0.0698, 0.0702, 0.0712 (against 0.0737) |
//! | the same, weight 0.2, 3-, 5- or 6-grams, or 6,000 bytes | 0.0705, 0.0712, 0.0723, 0.0735 |
//! | the same with the order tokens, weight 0.15 | 0.0675 (against 0.0687) |
//!
//! The byte grams are what Sculley's and Goodman and Yih's TREC filters
//! read (the raw message, headers and all, no MIME decoding). On this
//! corpus they lose to words by far alone, dilute the words when added to
//! them, and as a second model gain 2 to 5% for twice the tokenizing: not
//! kept (nor is their code). The order of the header fields, which byte
//! grams see and words did not, was the part of them worth having.
//!
//! Speed: words are found 64 bytes at a time: each 64-byte block becomes
//! a bitmap of the bytes that belong to words (on x86_64 sixteen bytes
//! classified at once by SSE2 compares, see `bitmap.rs`; elsewhere, and
//! for a text's last partial block, eight at once by branch-free
//! arithmetic, their top bits gathered by one multiply), and a word is a
//! run of ones in it, found by two trailing-zero counts. Words are hashed
//! eight bytes per multiply (ASCII lower-cased in the same 64-bit word),
//! reading short words in place; parts without a
//! transfer encoding are read where they are, not copied; the dedup table
//! is per thread, stamped with a generation so it is never cleared, and
//! probed without a branch on whether a token is new. Tokenizing went from
//! about 38 to 23 µs of CPU a message on the corpus in an earlier round
//! (window 2 saved 9); in this one, counted by callgrind over the corpus,
//! from 259,000 to 211,000 instructions a message (the bitmap scanner
//! with blocks cut to the text's length 10%, trimming only `'` from
//! word edges and testing for `://` only after a `:` 9%), about 18 µs of
//! CPU time on one core.
//!
//! ```
//! use filter::spam::bayes::{Tokenizer, TokenizerOptions};
//!
//! let tok = Tokenizer::new(TokenizerOptions::default());
//! let mut a = Vec::new();
//! let mut b = Vec::new();
//! tok.tokens(b"Subject: cheap pills\n\nBuy cheap pills now\n", &mut a);
//! tok.tokens(b"Subject: lunch\n\nBuy cheap pills now\n", &mut b);
//! // Same body, different subjects: many tokens in common, not all.
//! let common = a.iter().filter(|t| b.contains(t)).count();
//! assert!(common > 0 && common < a.len());
//! ```

use crate::Limits;
use crate::decode::Encoding;
use crate::mime::encoded_word::{self, has_encoded_word};
use crate::mime::{Decoder, Message, PartKind};

/// Tokenizer settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenizerOptions {
    /// Also emit orthogonal sparse bigrams.
    pub osb: bool,
    /// The OSB window: pairs of words at most `window - 1` apart.
    pub window: usize,
    /// Longest word kept as itself, in bytes.
    pub max_word: usize,
    /// Most tokens read from one message (before deduplication), header
    /// fields first; the rest is ignored. Bounds the work on huge
    /// messages, and 3,000 scored better than 40,000 (see the module
    /// docs).
    pub max_tokens: usize,
}

impl Default for TokenizerOptions {
    fn default() -> Self {
        TokenizerOptions {
            osb: true,
            window: 2,
            max_word: 40,
            max_tokens: 3_000,
        }
    }
}

/// Turns messages into distinct token hashes. Immutable and
/// `Send + Sync`; the tokens go to the caller's vector, and the decoded
/// text and the dedup table to a per-thread scratch that is reused, so a
/// warm thread tokenizes without allocating. The scratch grows with the
/// largest message seen (at most 8 bytes a token of `max_tokens`, times
/// three, plus the largest decoded part).
#[derive(Debug, Clone)]
pub struct Tokenizer {
    opts: TokenizerOptions,
    limits: Limits,
}

/// Seeds of the token namespaces.
const BODY: u64 = 0x9e37_79b9_7f4a_7c15;
const TAG: u64 = 0xc2b2_ae3d_27d4_eb4f;
const URL: u64 = 0x1656_67b1_9e37_79f9;
const LONG: u64 = 0x27d4_eb2f_1656_67c5;
const PAIR: u64 = 0x85eb_ca77_c2b2_ae63;
const ORDER: u64 = 0x1234_5678_9abc_def1;
const HOPS: u64 = 0x4242_4242_1313_1313;
const PART: u64 = 0x5bd1_e995_7f4a_7c15;

/// The token of `x` in the namespace `seed`, for tokens made of other
/// hashes or small numbers (one multiply; the high half folded down so
/// that the low bits, which index the model, depend on all of them).
#[inline]
fn token(seed: u64, x: u64) -> u64 {
    let x = (x ^ seed).wrapping_mul(K);
    x ^ (x >> 32)
}

/// The multiplier of the word hash (the golden ratio's, as Fibonacci
/// hashing uses).
const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// `x` with its ASCII capitals lower-cased, eight bytes at a time (bytes
/// above 0x7f are left alone).
#[inline]
fn lower8(x: u64) -> u64 {
    const LO: u64 = 0x0101_0101_0101_0101;
    let low7 = x & (0x7f * LO);
    // Bit 7 of each byte: its low seven bits are >= 'A', and >= '['.
    let ge_a = low7.wrapping_add((0x80 - b'A' as u64) * LO);
    let ge_z1 = low7.wrapping_add((0x80 - b'[' as u64) * LO);
    let upper = ge_a & !ge_z1 & !x & (0x80 * LO);
    x | (upper >> 2)
}

/// One step of the word hash.
#[inline]
fn step(h: u64, chunk: u64) -> u64 {
    let h = (h ^ chunk).wrapping_mul(K);
    h ^ (h >> 29)
}

/// The hash of `bytes` (lower-cased ASCII) from `seed`: eight bytes per
/// multiply, then a finalizer. Several times faster than the byte-wise
/// FNV-1a it replaced.
#[inline]
fn hash_lower(seed: u64, bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let mut h = seed ^ 0xcbf2_9ce4_8422_2325 ^ (n as u64).wrapping_mul(K);
    let mut i = 0;
    while i + 8 <= n {
        h = step(h, lower8(load8(&bytes[i..])));
        i += 8;
    }
    let r = n - i;
    if r > 0 {
        // The last `r` bytes, zero-extended: from an overlapping load when
        // the word is long enough, else byte by byte.
        let tail = if n >= 8 {
            load8(&bytes[n - 8..]) >> (8 * (8 - r))
        } else {
            bytes
                .iter()
                .rev()
                .fold(0u64, |x, &b| (x << 8) | u64::from(b))
        };
        h = step(h, lower8(tail));
    }
    mix(h)
}

/// [`hash_lower`] of `text[s..e]`, reading the eight bytes at `s` at once
/// when a short word has them (most words are shorter than eight bytes and
/// not at the very end of their text).
#[inline]
fn hash_in(seed: u64, text: &[u8], s: usize, e: usize) -> u64 {
    let n = e - s;
    if n > 0 && n < 8 && s + 8 <= text.len() {
        let h = seed ^ 0xcbf2_9ce4_8422_2325 ^ (n as u64).wrapping_mul(K);
        let tail = load8(&text[s..]) & (u64::MAX >> (8 * (8 - n)));
        mix(step(h, lower8(tail)))
    } else {
        hash_lower(seed, &text[s..e])
    }
}

/// The first eight bytes of `b` (at least eight long), little-endian.
#[inline]
fn load8(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// A finalizer (splitmix64's), so that nearby inputs spread out.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Byte classes: [`WORD`] bytes make words, [`JOIN`] bytes join two word
/// bytes.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c >= 0x80 || c == b'$' || c == b'\'' || c == b'_' {
            t[b] = WORD;
        } else if c == b'-' || c == b'.' {
            t[b] = JOIN;
        }
        b += 1;
    }
    t
};
const WORD: u8 = 1;
const JOIN: u8 = 2;

#[inline]
fn is_word_byte(b: u8) -> bool {
    CLASS[usize::from(b)] == WORD
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Bit 7 of each byte of the result is set where that byte of `x` is a
/// word byte: eight classifications at once, without a branch.
#[inline]
fn word_mask(x: u64) -> u64 {
    let high = x & HI;
    let low7 = x & !HI;
    // For 7-bit bytes v: v + (0x80 - lo) has bit 7 set iff v >= lo, and
    // v + 0x7f iff v != 0; no sum carries into the next byte.
    let at_least = |v: u64, lo: u8| v + u64::from(0x80 - lo) * LO;
    let in_range = |v: u64, lo: u8, hi: u8| at_least(v, lo) & !at_least(v, hi + 1);
    let is = |c: u8| !((low7 ^ (u64::from(c) * LO)) + 0x7f * LO);
    let digit = in_range(low7, b'0', b'9');
    let alpha = in_range(low7 | (0x20 * LO), b'a', b'z');
    (high | digit | alpha | is(b'$') | is(b'\'') | is(b'_')) & HI
}

/// The eight bytes of `text` from `i`, little-endian, zero past its end
/// (a zero byte is not a word byte).
#[inline]
fn chunk_at(text: &[u8], i: usize) -> u64 {
    if i + 8 <= text.len() {
        load8(&text[i..])
    } else {
        text[i.min(text.len())..]
            .iter()
            .rev()
            .fold(0u64, |x, &b| (x << 8) | u64::from(b))
    }
}

/// Bit 7 of each byte of the result is set where that byte of `x` is `-`
/// or `.` (the bytes that join two word bytes).
#[inline]
fn join_mask(x: u64) -> u64 {
    let low7 = x & !HI;
    let is = |c: u8| !((low7 ^ (u64::from(c) * LO)) + 0x7f * LO);
    (is(b'-') | is(b'.')) & !x & HI
}

/// The bit 7s of the eight bytes of `m`, as the eight low bits (byte `k`
/// to bit `k`): one multiply gathers them, no two partial products
/// landing on the same bit.
#[inline]
fn gather8(m: u64) -> u64 {
    ((m >> 7) & LO).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The bitmaps of word bytes and of `-`/`.` bytes in the 64 bytes of
/// `text` from `base` (bytes past the end are in neither).
#[inline]
fn masks(text: &[u8], base: usize) -> (u64, u64) {
    #[cfg(target_arch = "x86_64")]
    if text.len() >= base + 64 {
        return super::bitmap::masks64(text, base);
    }
    masks_portable(text, base)
}

/// [`masks`] eight bytes at a time, on any target.
#[inline]
fn masks_portable(text: &[u8], base: usize) -> (u64, u64) {
    // Only the chunks that hold bytes of the text (most header fields
    // are shorter than a block).
    let chunks = text.len().saturating_sub(base).min(64).div_ceil(8);
    let (mut w, mut j) = (0u64, 0u64);
    for k in 0..chunks {
        let x = chunk_at(text, base + 8 * k);
        w |= gather8(word_mask(x)) << (8 * k);
        j |= gather8(join_mask(x)) << (8 * k);
    }
    (w, j)
}

/// The words of a text, found 64 bytes at a time: each block of 64 bytes
/// becomes a bitmap of the bytes that belong to a word (word bytes, and
/// `-` or `.` between two word bytes), and a word is then a run of ones,
/// two trailing-zero counts away. A word costs a few instructions rather
/// than a loop over its bytes.
struct Scan<'t> {
    text: &'t [u8],
    /// Where the scan began: no word starts or joins before it.
    from: usize,
    /// The start of the current block.
    base: usize,
    /// Its bitmap, less the words already returned.
    bits: u64,
}

impl<'t> Scan<'t> {
    /// The words of `text` from `from` on.
    fn new(text: &'t [u8], from: usize) -> Scan<'t> {
        let mut s = Scan {
            text,
            from,
            base: from,
            bits: 0,
        };
        s.bits = s.block(from);
        s
    }

    /// The bitmap of the 64 bytes at `base` (bytes past the end are not
    /// in words).
    #[inline]
    fn block(&self, base: usize) -> u64 {
        let (w, j) = masks(self.text, base);
        let prev = base > self.from && is_word_byte(self.text[base - 1]);
        let next = self.text.get(base + 64).is_some_and(|&b| is_word_byte(b));
        w | (j & ((w << 1) | u64::from(prev)) & ((w >> 1) | (u64::from(next) << 63)))
    }

    /// The bounds of the next word.
    #[inline]
    fn next_word(&mut self) -> Option<(usize, usize)> {
        while self.bits == 0 {
            self.base += 64;
            if self.base >= self.text.len() {
                return None;
            }
            self.bits = self.block(self.base);
        }
        let s = self.bits.trailing_zeros() as usize;
        let start = self.base + s;
        let run = (!(self.bits >> s)).trailing_zeros() as usize;
        if s + run < 64 {
            self.bits &= u64::MAX << (s + run);
            return Some((start, self.base + s + run));
        }
        // The word goes on into the next blocks.
        loop {
            self.base += 64;
            if self.base >= self.text.len() {
                self.bits = 0;
                return Some((start, self.text.len()));
            }
            self.bits = self.block(self.base);
            let run = (!self.bits).trailing_zeros() as usize;
            if run < 64 {
                self.bits &= u64::MAX << run;
                return Some((start, self.base + run));
            }
        }
    }
}

/// Header fields not read (see the module docs).
fn skipped_field(name: &[u8]) -> bool {
    let lower = |p: &[u8]| name.len() >= p.len() && name[..p.len()].eq_ignore_ascii_case(p);
    name.eq_ignore_ascii_case(b"date")
        || name.eq_ignore_ascii_case(b"x-bogosity")
        || lower(b"x-spam-")
        || lower(b"x-virus-")
}

/// The words of one stream of text, with OSB pairs, into `out`.
struct Words<'o> {
    opts: TokenizerOptions,
    out: &'o mut Vec<u64>,
    /// The last `window - 1` word hashes, newest first.
    recent: [u64; 8],
    n_recent: usize,
}

impl Words<'_> {
    fn full(&self) -> bool {
        self.out.len() >= self.opts.max_tokens
    }

    /// Starts a new stream: no pairs across it.
    fn reset(&mut self) {
        self.n_recent = 0;
    }

    /// The word `text[s..e]`.
    #[inline(always)]
    fn word(&mut self, seed: u64, text: &[u8], s: usize, e: usize) {
        // A word begins and ends with a word byte: of the edge bytes
        // trimmed, only `'` can be there.
        let (s, e) = if text[s] == b'\'' || text[e - 1] == b'\'' {
            trim_word(text, s, e)
        } else {
            (s, e)
        };
        if e - s < 2 {
            return;
        }
        let h = if e - s > self.opts.max_word {
            // First byte and length class.
            let class = ((e - s) / 10).min(20) as u8;
            hash_lower(LONG ^ seed, &[text[s], class])
        } else {
            hash_in(seed, text, s, e)
        };
        self.push(h);
    }

    /// One token that is not a word (no pairs), unless full.
    fn push_one(&mut self, t: u64) {
        if !self.full() {
            self.emit(t);
        }
    }

    #[inline]
    fn emit(&mut self, t: u64) {
        self.out.push(t);
    }

    #[inline(always)]
    fn push(&mut self, h: u64) {
        if self.full() {
            return;
        }
        self.emit(h);
        if !self.opts.osb {
            return;
        }
        if self.opts.window <= 2 {
            // The default: the one pair with the word before.
            if self.n_recent > 0 {
                let x = (self.recent[0].rotate_left(17) ^ h ^ PAIR).wrapping_mul(K);
                self.emit(x ^ (x >> 32));
            }
            self.recent[0] = h;
            self.n_recent = 1;
            return;
        }
        // The last `window - 1` words, newest first.
        let window = self.opts.window.clamp(2, 9) - 1;
        for d in 1..=self.n_recent {
            let prev = self.recent[d - 1];
            let x = (prev.rotate_left(17) ^ h ^ PAIR.wrapping_mul(d as u64)).wrapping_mul(K);
            self.emit(x ^ (x >> 32));
        }
        for j in (1..window).rev() {
            self.recent[j] = self.recent[j - 1];
        }
        self.recent[0] = h;
        self.n_recent = (self.n_recent + 1).min(window);
    }

    /// Every word of plain `text`, and the hosts of its URLs.
    fn text(&mut self, seed: u64, text: &[u8]) {
        let mut scan = Scan::new(text, 0);
        while !self.full() {
            let Some((start, end)) = scan.next_word() else {
                break;
            };
            if text.get(end) == Some(&b':') && text[end..].starts_with(b"://") {
                let host = host_at(&text[end + 3..]);
                self.url_host(host);
                self.word(seed, text, start, end);
                scan = Scan::new(text, end + 3 + host.len());
                continue;
            }
            self.word(seed, text, start, end);
        }
    }

    /// A URL's host and its parent domains, down to two labels.
    fn url_host(&mut self, host: &[u8]) {
        let (s, e) = trim_word(host, 0, host.len());
        let host = &host[s..e];
        if host.is_empty() {
            return;
        }
        let mut h = host;
        let saved = self.n_recent;
        loop {
            if !self.full() {
                self.emit(hash_lower(URL, h));
            }
            let dots = h.iter().filter(|&&b| b == b'.').count();
            if dots <= 1 {
                break;
            }
            match memchr::memchr(b'.', h) {
                Some(p) => h = &h[p + 1..],
                None => break,
            }
        }
        self.n_recent = saved;
    }

    /// HTML: text between tags as words, tag and attribute names as `<tag`
    /// tokens, URLs in attribute values as hosts.
    fn html(&mut self, html: &[u8]) {
        let mut i = 0;
        while i < html.len() && !self.full() {
            let Some(lt) = memchr::memchr(b'<', &html[i..]) else {
                self.text(BODY, &html[i..]);
                break;
            };
            self.text(BODY, &html[i..i + lt]);
            let start = i + lt + 1;
            let Some(gt) = memchr::memchr(b'>', &html[start..]) else {
                break;
            };
            let tag = &html[start..start + gt];
            i = start + gt + 1;
            if tag.starts_with(b"!--") {
                continue;
            }
            // The tag name and the attribute names.
            let mut j = usize::from(tag.first() == Some(&b'/'));
            let mut first = true;
            while j < tag.len() {
                while j < tag.len() && !tag[j].is_ascii_alphabetic() {
                    j += 1;
                }
                let s = j;
                while j < tag.len() && (tag[j].is_ascii_alphanumeric() || tag[j] == b'-') {
                    j += 1;
                }
                if s < j && (first || tag[s - 1].is_ascii_whitespace()) && !self.full() {
                    self.emit(hash_lower(TAG, &tag[s..j]));
                }
                first = false;
                // Skip a value.
                if tag.get(j) == Some(&b'=') {
                    j += 1;
                    let q = tag.get(j).copied();
                    let end = match q {
                        Some(b'"' | b'\'') => {
                            j += 1;
                            memchr::memchr(q.unwrap_or(b'"'), &tag[j..])
                                .map_or(tag.len(), |p| j + p)
                        }
                        _ => tag[j..]
                            .iter()
                            .position(u8::is_ascii_whitespace)
                            .map_or(tag.len(), |p| j + p),
                    };
                    let value = &tag[j..end];
                    if let Some(p) = find(value, b"://") {
                        self.url_host(host_at(&value[p + 3..]));
                    }
                    j = end + 1;
                }
            }
        }
    }
}

/// Per-thread buffers the tokenizer reuses from message to message, so
/// that tokenizing allocates nothing once warm: the decoded text of a
/// part and the dedup table.
#[derive(Default)]
struct Scratch {
    /// The decoded body of the part being read.
    text: Vec<u8>,
    /// The dedup table ([`Seen`]).
    table: Vec<u64>,
    generation: u16,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// The set of tokens seen in the message being read: an open-addressing
/// table in the thread's [`Scratch`], at most two thirds full. A slot
/// holds a 16-bit generation stamp and the token's low 48 bits (tokens
/// equal in those are taken as one: a chance of about n²/2^49 in a
/// message of n tokens, far below the model's own hash collisions). A slot
/// is empty when its stamp is not the current one, so the table is cleared
/// only once in 65,535 messages, and a small message probes a small,
/// cache-warm prefix of it (8 bytes a slot: 16 KiB for most messages).
struct Seen<'s> {
    table: &'s mut [u64],
    stamp: u64,
    mask: usize,
}

/// The token bits a [`Seen`] slot keeps.
const LOW48: u64 = (1 << 48) - 1;

impl<'s> Seen<'s> {
    /// An empty set for up to `n` tokens.
    fn new(table: &'s mut Vec<u64>, generation: &mut u16, n: usize) -> Seen<'s> {
        let size = (n + n / 2 + 1).next_power_of_two();
        if table.len() < size {
            table.resize(size, 0);
        }
        *generation = generation.wrapping_add(1);
        if *generation == 0 {
            table.fill(0);
            *generation = 1;
        }
        Seen {
            table: &mut table[..size],
            stamp: u64::from(*generation) << 48,
            mask: size - 1,
        }
    }

    /// Adds `t`; true when it was not in the set. No branch depends on
    /// the answer (half the tokens are repeats, unpredictably).
    #[inline]
    fn insert(&mut self, t: u64) -> bool {
        let want = self.stamp | (t & LOW48);
        // Tokens are well mixed: their low bits index the table.
        let mut at = t as usize & self.mask;
        let fresh = loop {
            let slot = self.table[at];
            let empty = slot & !LOW48 != self.stamp;
            if empty || slot == want {
                break empty;
            }
            at = (at + 1) & self.mask;
        };
        self.table[at] = want;
        fresh
    }
}

/// Removes repeated tokens from `v` in place, keeping first occurrences in
/// order.
fn dedup(v: &mut Vec<u64>, seen: &mut Seen<'_>) {
    let mut kept = 0;
    for i in 0..v.len() {
        let t = v[i];
        v[kept] = t;
        kept += usize::from(seen.insert(t));
    }
    v.truncate(kept);
}

/// The tokens of a leaf part's media type, and of its charset and
/// transfer encoding.
fn part_tokens(t: &[u8], s: &[u8], charset: &[u8], encoding: Encoding) -> [u64; 2] {
    let pair = |a: &[u8], b: &[u8]| hash_lower(hash_lower(PART, a), b);
    [pair(t, s), token(PART, pair(charset, &[encoding as u8]))]
}

/// The host name at the start of what follows a URL's `://`.
fn host_at(rest: &[u8]) -> &[u8] {
    let e = rest
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')))
        .unwrap_or(rest.len());
    &rest[..e]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

/// The bounds of `text[s..e]` without leading or trailing `'`, `-`, `.`.
#[inline]
fn trim_word(text: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    let edge = |b: u8| matches!(b, b'\'' | b'-' | b'.');
    while s < e && edge(text[s]) {
        s += 1;
    }
    while e > s && edge(text[e - 1]) {
        e -= 1;
    }
    (s, e)
}

impl Tokenizer {
    /// A tokenizer with `opts` and the default [`Limits`] for parsing.
    pub fn new(opts: TokenizerOptions) -> Tokenizer {
        Tokenizer {
            opts,
            limits: Limits::default(),
        }
    }

    /// The same tokenizer, parsing under `limits`.
    pub fn with_limits(mut self, limits: Limits) -> Tokenizer {
        self.limits = limits;
        self
    }

    /// The settings.
    pub fn options(&self) -> TokenizerOptions {
        self.opts
    }

    /// Replaces `out` with the distinct tokens of `message`, in the order
    /// each first appears.
    pub fn tokens(&self, message: &[u8], out: &mut Vec<u64>) {
        let msg = Message::parse_with(message, &self.limits);
        self.tokens_of(&msg, out);
    }

    /// [`Tokenizer::tokens`] of a message already parsed.
    pub fn tokens_of(&self, msg: &Message<'_>, out: &mut Vec<u64>) {
        out.clear();
        SCRATCH.with(|cell| {
            // Never re-entered; a fresh scratch would keep it correct if
            // it were.
            let mut spare = Scratch::default();
            let mut guard = cell.try_borrow_mut();
            let scratch = match guard.as_deref_mut() {
                Ok(s) => s,
                Err(_) => &mut spare,
            };
            let Scratch {
                text,
                table,
                generation,
            } = scratch;
            let mut words = Words {
                opts: self.opts,
                out,
                recent: [0; 8],
                n_recent: 0,
            };
            let root = msg.root();
            // The order of the header fields: pairs and triples of
            // successive names (a mailer's fingerprint).
            let (mut prev, mut prev2) = (0u64, 0u64);
            let mut received = 0u64;
            for f in msg.fields(root) {
                let name = msg.field_name(f);
                if skipped_field(name) {
                    continue;
                }
                let seed = hash_lower(0, name);
                received += u64::from(name.eq_ignore_ascii_case(b"received"));
                if !words.full() {
                    words.emit(token(ORDER, prev.rotate_left(23) ^ seed));
                    words.emit(token(
                        ORDER,
                        prev2.rotate_left(41) ^ prev.rotate_left(23) ^ seed ^ 1,
                    ));
                }
                (prev2, prev) = (prev, seed);
                words.reset();
                let raw = msg.field_raw(f);
                words.text(seed, raw);
                if name.eq_ignore_ascii_case(b"subject") {
                    // Read again as body words, decoded, as SpamAssassin
                    // puts the Subject in front of the body.
                    words.reset();
                    if has_encoded_word(raw) {
                        words.text(BODY, encoded_word::decode(raw, None).0.as_bytes());
                    } else {
                        words.text(BODY, raw);
                    }
                }
            }
            // How many relays the message passed.
            if !words.full() {
                words.emit(token(HOPS, received.min(30)));
            }
            self.body_tokens(msg, &mut words, text);
            dedup(out, &mut Seen::new(table, generation, out.len()));
        });
    }

    fn body_tokens(&self, msg: &Message<'_>, words: &mut Words<'_>, buf: &mut Vec<u8>) {
        let mut decoder = Decoder::new(&self.limits);
        // What the decoder would still give, for parts read in place.
        let mut left = self.limits.max_decoded_total;
        for part in msg.parts() {
            if words.full() {
                break;
            }
            if part.kind != PartKind::Leaf || part.alternate {
                continue;
            }
            // What the part is: its media type, its charset and transfer
            // encoding, and an attachment's file name extension.
            let charset = part.charset.as_deref().unwrap_or(b"");
            for t in part_tokens(part.media_type, part.media_subtype, charset, part.encoding) {
                words.push_one(t);
            }
            if !part.is_type("text") {
                if let Some(file) = msg.filename(part)
                    && let Some((_, ext)) = file.rsplit_once('.')
                {
                    words.push_one(hash_lower(PART ^ 1, ext.as_bytes()));
                }
                continue;
            }
            // A part with no transfer encoding is read where it is, not
            // copied (within the same limits the decoder applies).
            let text: &[u8] = match part.encoding {
                Encoding::SevenBit | Encoding::EightBit | Encoding::Binary => {
                    let body = msg.body(part);
                    let body = &body[..body.len().min(self.limits.max_decoded_part).min(left)];
                    left -= body.len();
                    body
                }
                _ => {
                    decoder.decode(msg, part, buf);
                    buf.truncate(left);
                    left -= buf.len();
                    buf
                }
            };
            words.reset();
            if part.is("text", "html") {
                words.html(text);
            } else {
                words.text(BODY, text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn toks(msg: &[u8], osb: bool) -> Vec<u64> {
        toks_window(msg, osb, TokenizerOptions::default().window)
    }

    fn toks_window(msg: &[u8], osb: bool, window: usize) -> Vec<u64> {
        let t = Tokenizer::new(TokenizerOptions {
            osb,
            window,
            ..TokenizerOptions::default()
        });
        let mut out = Vec::new();
        t.tokens(msg, &mut out);
        out
    }

    fn has(tokens: &[u64], t: u64) -> bool {
        tokens.contains(&t)
    }

    #[test]
    fn words_are_tagged_by_where_they_were_seen() {
        let t = toks(b"Subject: Viagra\n\nviagra\n", false);
        let subject = hash_lower(hash_lower(0, b"subject"), b"viagra");
        let body = hash_lower(BODY, b"viagra");
        assert!(has(&t, subject) && has(&t, body));
        // And the order tokens of the one field (a pair and a triple), the
        // relay count and the part's two (the Subject's `viagra` read as a
        // body word is the body's).
        assert_eq!(t.len(), 7);
        assert!(
            part_tokens(b"text", b"plain", b"", Encoding::SevenBit)
                .iter()
                .all(|p| has(&t, *p))
        );
    }

    #[test]
    fn subject_words_are_body_words_too_decoded() {
        let t = toks(
            b"Subject: =?utf-8?q?cheap_pills?=

hello
",
            false,
        );
        for w in [&b"cheap"[..], b"pills", b"hello"] {
            assert!(has(&t, hash_lower(BODY, w)));
        }
    }

    #[test]
    fn parts_give_their_type_charset_encoding_and_extension() {
        let msg = b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\
Content-Type: text/html; charset=gb2312\nContent-Transfer-Encoding: base64\n\naGk=\n--b\n\
Content-Type: application/octet-stream; name=\"x.EXE\"\n\nMZ\n--b--\n";
        let t = toks(msg, false);
        let html = part_tokens(b"text", b"html", b"gb2312", Encoding::Base64);
        let app = part_tokens(b"application", b"octet-stream", b"", Encoding::SevenBit);
        assert!(html.iter().chain(&app).all(|p| has(&t, *p)));
        assert!(has(&t, hash_lower(PART ^ 1, b"exe")));
        // The multipart itself gives none.
        let mixed = part_tokens(b"multipart", b"mixed", b"", Encoding::SevenBit);
        assert!(!has(&t, mixed[0]));
    }

    #[test]
    fn the_order_of_header_fields_and_the_relays_are_tokens() {
        let a = toks(b"From: alice\nTo: bob\nSubject: hello\n\nbody\n", false);
        let b = toks(b"To: bob\nFrom: alice\nSubject: hello\n\nbody\n", false);
        // Four words (and `hello` as a body word), three pairs and three
        // triples of names, the relay count, the part's two; the other
        // order shares all but the order tokens.
        assert_eq!((a.len(), b.len()), (14, 14));
        assert_eq!(a.iter().filter(|t| b.contains(t)).count(), 8);
        assert!(has(&a, token(HOPS, 0)));
        let two = toks(b"Received: by a1\nReceived: by b2\n\nhi\n", false);
        assert!(has(&two, token(HOPS, 2)) && !has(&two, token(HOPS, 0)));
        // Skipped fields are not in the order either.
        let dated = toks(
            b"From: alice\nDate: Mon\nTo: bob\nX-Spam-Flag: YES\nSubject: hello\n\nbody\n",
            false,
        );
        assert_eq!(dated, a);
    }

    #[test]
    fn case_and_edge_punctuation_do_not_matter() {
        assert_eq!(
            toks(b"\nFree, 'MONEY'...\n", false),
            toks(b"\nfree money\n", false)
        );
    }

    #[test]
    fn date_and_filter_markup_are_not_read() {
        let plain = toks(b"From: a@b\n\nhello there\n", false);
        let marked = toks(
            b"From: a@b\nDate: Mon, 1 Jan 2024\nX-Spam-Status: Yes, score=9\nX-Bogosity: Spam\n\nhello there\n",
            false,
        );
        assert_eq!(plain, marked);
    }

    #[test]
    fn html_gives_text_words_tags_and_hosts() {
        let t = toks(
            b"Content-Type: text/html\n\n<p><a href=\"http://www.spam.example.com/x\">Click here</a></p>",
            false,
        );
        for w in [&b"click"[..], b"here"] {
            assert!(has(&t, hash_lower(BODY, w)));
        }
        for tag in [&b"p"[..], b"a", b"href"] {
            assert!(has(&t, hash_lower(TAG, tag)));
        }
        for host in [
            &b"www.spam.example.com"[..],
            b"spam.example.com",
            b"example.com",
        ] {
            assert!(
                has(&t, hash_lower(URL, host)),
                "{}",
                String::from_utf8_lossy(host)
            );
        }
        assert!(!has(&t, hash_lower(URL, b"com")));
        // The href's text is not read as body words.
        assert!(!has(&t, hash_lower(BODY, b"http")));
    }

    #[test]
    fn base64_text_parts_are_decoded() {
        let t = toks(
            b"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\nY2hlYXAgcGlsbHM=\n",
            false,
        );
        assert!(has(&t, hash_lower(BODY, b"cheap")) && has(&t, hash_lower(BODY, b"pills")));
    }

    #[test]
    fn long_words_collapse_by_first_byte_and_length() {
        let a = toks(&[b"\n".as_slice(), &[b'x'; 55]].concat(), false);
        let b = toks(&[b"\nx".as_slice(), &[b'y'; 54]].concat(), false);
        assert_eq!(a, b);
        // One word, the relay count and the part's two.
        assert_eq!(a.len(), 4);
    }

    #[test]
    fn osb_pairs_depend_on_order_and_distance() {
        let ab = toks_window(b"\nalpha beta\n", true, 5);
        let ba = toks_window(b"\nbeta alpha\n", true, 5);
        let a_x_b = toks_window(b"\nalpha x9 beta\n", true, 5);
        // Two words and their pair, the relay count and the part's two.
        assert_eq!(ab.len(), 6);
        assert_ne!(ab, ba);
        // Three words, two pairs at distance 1 and one at distance 2; the
        // distance-2 `alpha … beta` is not the distance-1 `alpha beta`.
        assert_eq!(a_x_b.len(), 9);
        let words = toks(b"\nalpha beta\n", false);
        let pair_ab: Vec<u64> = ab.iter().copied().filter(|t| !has(&words, *t)).collect();
        assert_eq!(pair_ab.len(), 1);
        assert!(!has(&a_x_b, pair_ab[0]));
        // The default window, 2: adjacent pairs only.
        assert_eq!(toks(b"\nalpha x9 beta\n", true).len(), 8);
    }

    /// The byte-at-a-time word splitter the eight-byte one replaced.
    fn naive_words(text: &[u8]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if !is_word_byte(text[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < text.len()
                && (is_word_byte(text[i])
                    || (matches!(text[i], b'-' | b'.')
                        && text.get(i + 1).is_some_and(|&b| is_word_byte(b))))
            {
                i += 1;
            }
            out.push((start, i));
        }
        out
    }

    proptest! {
        /// The bitmaps (the SSE2 kernel on x86_64) match the byte classes,
        /// block by block and at the text's end.
        #[test]
        fn masks_match_the_byte_classes(
            text in prop::collection::vec(any::<u8>(), 0..200),
            base in 0usize..200,
        ) {
            let base = base.min(text.len());
            let (w, j) = masks(&text, base);
            prop_assert_eq!((w, j), masks_portable(&text, base));
            for k in 0..64 {
                let b = text.get(base + k).copied();
                prop_assert_eq!(w >> k & 1 == 1, b.is_some_and(is_word_byte));
                prop_assert_eq!(j >> k & 1 == 1, matches!(b, Some(b'-' | b'.')));
            }
        }
    }

    #[test]
    fn word_mask_matches_the_byte_classes() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                let x =
                    (u64::from(b) << (8 * pos)) | ((u64::from(b'!') * LO) & !(0xff << (8 * pos)));
                let m = word_mask(x);
                assert_eq!(
                    m >> (8 * pos + 7) & 1 == 1,
                    is_word_byte(b),
                    "{b:#x} at {pos}"
                );
            }
        }
    }

    proptest! {
        /// The bitmap splitter finds the words the naive one does, from
        /// any starting point, across blocks (long runs of word bytes are
        /// likely: most of the alphabet is word bytes).
        #[test]
        fn words_match_the_naive_splitter(text in prop::collection::vec(prop_oneof![
            Just(b'a'), Just(b'Z'), Just(b'5'), Just(b'.'), Just(b'-'), Just(b' '), Just(b'\''),
            Just(0xc3u8), Just(b'_'), Just(b'$'), Just(b'/'), Just(b':'), any::<u8>(),
            Just(b'x'), Just(b'y'), Just(b'z'), Just(b'7'), Just(b'q'), Just(b'r'), Just(b's'),
        ], 0..400), from in 0usize..400) {
            let from = from.min(text.len());
            let mut got = Vec::new();
            let mut scan = Scan::new(&text, from);
            while let Some((s, e)) = scan.next_word() {
                got.push((s, e));
            }
            let want: Vec<(usize, usize)> = naive_words(&text[from..])
                .into_iter()
                .map(|(s, e)| (s + from, e + from))
                .collect();
            prop_assert_eq!(got, want);
        }

        /// The gathered bit 7s are the bytes' own.
        #[test]
        fn gather8_takes_each_bytes_top_bit(x in any::<u64>()) {
            let want = (0..8).fold(0u64, |m, k| m | (((x >> (8 * k + 7)) & 1) << k));
            prop_assert_eq!(gather8(x & HI), want);
            let joins = (0..8).fold(0u64, |m, k| {
                let b = (x >> (8 * k)) as u8;
                m | (u64::from(b == b'-' || b == b'.') << k)
            });
            prop_assert_eq!(gather8(join_mask(x)), joins);
        }

        /// The hash of a word read in place is its hash read alone.
        #[test]
        fn hash_in_place_is_hash_alone(text in prop::collection::vec(any::<u8>(), 1..40), a in 0usize..40, b in 0usize..40) {
            let (s, e) = (a.min(b).min(text.len()), a.max(b).min(text.len()));
            prop_assert_eq!(hash_in(BODY, &text, s, e), hash_lower(BODY, &text[s..e]));
            let lower = text[s..e].to_ascii_lowercase();
            prop_assert_eq!(hash_lower(BODY, &lower), hash_lower(BODY, &text[s..e]));
        }

        /// Distinct, bounded, and the same every time.
        #[test]
        fn tokens_are_a_bounded_set(body in prop::collection::vec(any::<u8>(), 0..600), max in 1usize..50) {
            let t = Tokenizer::new(TokenizerOptions { max_tokens: max, ..TokenizerOptions::default() });
            let msg = [b"Subject: s\n\n".as_slice(), &body].concat();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            t.tokens(&msg, &mut a);
            t.tokens(&msg, &mut b);
            prop_assert_eq!(&a, &b);
            let mut sorted = a.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(sorted.len(), a.len());
            prop_assert!(a.len() <= max + 8);
        }

        /// The table dedup against the naive one: first occurrences, in order.
        #[test]
        fn dedup_keeps_first_occurrences(v in prop::collection::vec(prop_oneof![0u64..8, any::<u64>(), (0u64..4).prop_map(|x| x << 60)], 0..200)) {
            let mut want: Vec<u64> = Vec::new();
            for &x in &v {
                if !want.iter().any(|w| w & LOW48 == x & LOW48) {
                    want.push(x);
                }
            }
            let (mut table, mut generation) = (Vec::new(), 0);
            let mut got = v.clone();
            dedup(&mut got, &mut Seen::new(&mut table, &mut generation, v.len()));
            // And again with a used table.
            let mut other = vec![1u64, 2, 3, 1, 9, 9, 9];
            dedup(&mut other, &mut Seen::new(&mut table, &mut generation, 7));
            let mut again = v.clone();
            dedup(&mut again, &mut Seen::new(&mut table, &mut generation, v.len()));
            prop_assert_eq!(&again, &want);
            prop_assert_eq!(got, want);
        }

        /// The word splitter agrees with a naive one on plain ASCII words.
        #[test]
        fn words_match_a_naive_split(words in prop::collection::vec("[a-z]{2,12}", 1..20)) {
            let text = words.join(" ");
            let got = toks(format!("\n{text}\n").as_bytes(), false);
            // No header fields: no relay, the part's tokens (text/plain,
            // no charset, 7bit), then the words.
            let mut want: Vec<u64> = vec![token(HOPS, 0)];
            want.extend(part_tokens(b"text", b"plain", b"", Encoding::SevenBit));
            for w in &words {
                let h = hash_lower(BODY, w.as_bytes());
                if !want.contains(&h) {
                    want.push(h);
                }
            }
            prop_assert_eq!(got, want);
        }
    }
}
