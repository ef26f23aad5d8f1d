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
//!   and each of its parent domains.
//! * **Words** are runs of letters, digits, bytes above 0x7f and `$ ' _`,
//!   with `-` and `.` kept inside a word, lower-cased (ASCII), 2 to 40
//!   bytes long. A longer run gives one token for its first byte and length
//!   class, as Paul Graham and SpamAssassin do with long words: random
//!   strings and base64 noise then look alike.
//! * **Orthogonal sparse bigrams** (OSB, as CRM114 and rspamd use), when
//!   [`TokenizerOptions::osb`] is on: every pair of words at most
//!   `window - 1` apart, with their distance. They helped chi-square
//!   ((1-ROCA)% 0.29 → 0.19) and barely moved the logistic model (0.18 →
//!   0.17) at half its speed. Character 4-grams of the first 1,000 or
//!   3,000 bytes (as Sculley's TREC filters used) were tried and dropped:
//!   no better, and half as fast again.
//!
//! The tokens of a message are deduplicated, keeping the first occurrence
//! of each in reading order: a classifier sees each token once per
//! message. (A hash table does it in a third of the time a sort took.)
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
    /// Most tokens read from one message (before deduplication); the rest
    /// is ignored. Bounds the work on huge messages.
    pub max_tokens: usize,
}

impl Default for TokenizerOptions {
    fn default() -> Self {
        TokenizerOptions {
            osb: true,
            window: 5,
            max_word: 40,
            max_tokens: 40_000,
        }
    }
}

/// Turns messages into distinct token hashes. Immutable and
/// `Send + Sync`; per-call buffers live in the caller's output vector and
/// in a small scratch inside each call.
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

/// FNV-1a over `bytes`, lower-casing ASCII, from `seed`.
#[inline]
fn hash_lower(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed ^ 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    mix(h)
}

/// A finalizer (splitmix64's), so that nearby inputs spread out.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[inline]
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80 || matches!(b, b'$' | b'\'' | b'_')
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
    /// The last `window - 1` word hashes, newest last.
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

    fn word(&mut self, seed: u64, w: &[u8]) {
        let w = trim_word(w);
        if w.len() < 2 {
            return;
        }
        let h = if w.len() > self.opts.max_word {
            // First byte and length class.
            let class = (w.len() / 10).min(20) as u8;
            hash_lower(LONG ^ seed, &[w[0], class])
        } else {
            hash_lower(seed, w)
        };
        self.push(h);
    }

    fn push(&mut self, h: u64) {
        if self.full() {
            return;
        }
        self.out.push(h);
        if !self.opts.osb {
            return;
        }
        let window = self.opts.window.clamp(2, 9) - 1;
        for d in 1..=self.n_recent {
            let prev = self.recent[self.n_recent - d];
            self.out
                .push(mix(prev.rotate_left(17) ^ h ^ PAIR.wrapping_mul(d as u64)));
        }
        if self.n_recent == window {
            self.recent.copy_within(1..window, 0);
            self.n_recent -= 1;
        }
        self.recent[self.n_recent] = h;
        self.n_recent += 1;
    }

    /// Every word of plain `text`, and the hosts of its URLs.
    fn text(&mut self, seed: u64, text: &[u8]) {
        let mut i = 0;
        while i < text.len() && !self.full() {
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
            let w = &text[start..i];
            if text[i..].starts_with(b"://") {
                let host = host_at(&text[i + 3..]);
                self.url_host(host);
                self.word(seed, w);
                i += 3 + host.len();
                continue;
            }
            self.word(seed, w);
        }
    }

    /// A URL's host and its parent domains, down to two labels.
    fn url_host(&mut self, host: &[u8]) {
        let host = trim_word(host);
        if host.is_empty() {
            return;
        }
        let mut h = host;
        let saved = self.n_recent;
        loop {
            if !self.full() {
                self.out.push(hash_lower(URL, h));
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
                    self.out.push(hash_lower(TAG, &tag[s..j]));
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

/// Removes repeated tokens from `v` in place, keeping first occurrences in
/// order, with an open-addressing table of positions (4 bytes a slot, at
/// most two thirds full: little to clear per message).
fn dedup(v: &mut Vec<u64>) {
    if v.len() < 2 {
        return;
    }
    let size = (v.len() + v.len() / 2 + 1).next_power_of_two();
    let mask = size - 1;
    // A slot holds 1 + the position in `v` of a kept token; 0 is empty.
    let mut table = vec![0u32; size];
    let mut kept = 0usize;
    for i in 0..v.len() {
        let t = v[i];
        // Tokens are already well mixed: their low bits index the table.
        let mut at = t as usize & mask;
        let fresh = loop {
            match table[at] {
                0 => {
                    table[at] = kept as u32 + 1;
                    break true;
                }
                p if v[p as usize - 1] == t => break false,
                _ => at = (at + 1) & mask,
            }
        };
        if fresh {
            v[kept] = t;
            kept += 1;
        }
    }
    v.truncate(kept);
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

/// A word without leading or trailing `'`, `-`, `.`.
fn trim_word(w: &[u8]) -> &[u8] {
    let s = w
        .iter()
        .position(|&b| !matches!(b, b'\'' | b'-' | b'.'))
        .unwrap_or(w.len());
    let e = w
        .iter()
        .rposition(|&b| !matches!(b, b'\'' | b'-' | b'.'))
        .map_or(s, |p| p + 1);
    &w[s..e.max(s)]
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
        let mut words = Words {
            opts: self.opts,
            out,
            recent: [0; 8],
            n_recent: 0,
        };
        let root = msg.root();
        for f in msg.fields(root) {
            let name = msg.field_name(f);
            if skipped_field(name) {
                continue;
            }
            let seed = hash_lower(0, name);
            words.reset();
            words.text(seed, msg.field_raw(f));
        }
        let mut decoder = Decoder::new(&self.limits);
        let mut buf = Vec::new();
        for part in msg.parts() {
            if words.full() {
                break;
            }
            if part.kind != PartKind::Leaf || part.alternate || !part.is_type("text") {
                continue;
            }
            decoder.decode(msg, part, &mut buf);
            words.reset();
            if part.is("text", "html") {
                words.html(&buf);
            } else {
                words.text(BODY, &buf);
            }
        }
        dedup(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn toks(msg: &[u8], osb: bool) -> Vec<u64> {
        let t = Tokenizer::new(TokenizerOptions {
            osb,
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
        assert_eq!(t.len(), 2);
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
        assert_eq!(a.len(), 1);
    }

    #[test]
    fn osb_pairs_depend_on_order_and_distance() {
        let ab = toks(b"\nalpha beta\n", true);
        let ba = toks(b"\nbeta alpha\n", true);
        let a_x_b = toks(b"\nalpha x9 beta\n", true);
        assert_eq!(ab.len(), 3);
        assert_ne!(ab, ba);
        // Three words, two pairs at distance 1 and one at distance 2; the
        // distance-2 `alpha … beta` is not the distance-1 `alpha beta`.
        assert_eq!(a_x_b.len(), 6);
        let words = toks(b"\nalpha beta\n", false);
        let pair_ab: Vec<u64> = ab.iter().copied().filter(|t| !has(&words, *t)).collect();
        assert_eq!(pair_ab.len(), 1);
        assert!(!has(&a_x_b, pair_ab[0]));
    }

    proptest! {
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
        fn dedup_keeps_first_occurrences(v in prop::collection::vec(prop_oneof![0u64..8, any::<u64>()], 0..200)) {
            let mut want: Vec<u64> = Vec::new();
            for &x in &v {
                if !want.contains(&x) {
                    want.push(x);
                }
            }
            let mut got = v.clone();
            dedup(&mut got);
            prop_assert_eq!(got, want);
        }

        /// The word splitter agrees with a naive one on plain ASCII words.
        #[test]
        fn words_match_a_naive_split(words in prop::collection::vec("[a-z]{2,12}", 1..20)) {
            let text = words.join(" ");
            let got = toks(format!("\n{text}\n").as_bytes(), false);
            let mut want: Vec<u64> = Vec::new();
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
