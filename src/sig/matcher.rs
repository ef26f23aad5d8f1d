//! The multi-pattern matcher: one Aho-Corasick automaton over the anchor of
//! every pattern, with exact verification of the rest.
//!
//! Each form of each pattern (see [`super::pattern`]) is searched for its
//! best *anchor*: a run of up to [`MAX_ANCHOR`] consecutive fixed bytes
//! (literal items, and for `::i` letters as case pairs),
//! scored by rarity (`00`, `FF`, space and ASCII letters count as common).
//! All anchors go into one [`AhoCorasick`] automaton (plus a second,
//! ASCII-case-insensitive one for `::i` patterns), scanned once with
//! overlapping semantics so that no occurrence is hidden by another. A hit
//! only *triggers* its pattern and widens the window where a match could
//! start (the anchor position minus the span the items before it can
//! take). After the pass every triggered pattern is verified once over its
//! window with the linear-time dynamic programme of
//! [`Pattern::starts_in`], which counts distinct start offsets without
//! re-scanning per candidate, so `*` and `{n-m}` never make it quadratic.
//!
//! Patterns whose offset pins them to a small window (`n,shift`, `EOF-n`,
//! `EP+n`, ... with a bounded body) and that have no anchor of four bytes
//! skip the automaton and are verified directly; pinned patterns with such
//! an anchor go through the hashed table like the rest, so a buffer without
//! the anchor costs them nothing. Patterns without any usable anchor are
//! verified on every scan.
//!
//! Work is charged per verified position and item; once it exceeds
//! `64 × len + 2^20` the scan stops and [`MatchState::truncated`] is set,
//! which keeps every scan linear in the input.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use memchr::memmem;

use super::pattern::{ByteSet, Item, Offset, Pattern};
use super::pe::Layout;

/// Dense pattern number, in the order patterns were added.
pub type PatternId = u32;

/// Longest anchor taken from a pattern.
pub const MAX_ANCHOR: usize = 12;

/// Collects patterns, then compiles them into a [`Matcher`].
#[derive(Default)]
pub struct MatcherBuilder {
    patterns: Vec<(Pattern, Offset)>,
}

/// Where an anchor sits inside its form.
#[derive(Clone)]
struct AnchorInfo {
    pattern: PatternId,
    /// The maximal run of fixed bytes around the anchor (in
    /// [`Matcher::runs`] from `run_start`, `run_len` long), checked at each
    /// hit before the pattern is triggered, and how far it starts before
    /// the anchor.
    run_start: u32,
    run_len: u32,
    back: u32,
    /// Whether the run compares ASCII-case-insensitively (`::i`).
    nocase: bool,
    /// Fewest / most bytes the items before the anchor span.
    pre_min: u64,
    pre_max: Option<u64>,
}

/// A maximal run of fixed bytes in a form (`len` bytes from `start` in a
/// scratch buffer), and the span of what precedes it.
#[derive(Clone, Copy)]
struct Run {
    start: usize,
    len: usize,
    pre_min: u64,
    pre_max: Option<u64>,
}

/// Appends the runs of fixed bytes of a form to `runs`, their bytes to
/// `bytes`: literal items, and (for `::i`) letters as case pairs;
/// lower-cased for `::i`. Allocates nothing once the buffers have grown.
fn fixed_runs(form: &[Item], nocase: bool, bytes: &mut Vec<u8>, runs: &mut Vec<Run>) {
    let mut cur: Option<Run> = None;
    let (mut lo, mut hi) = (0u64, Some(0u64));
    for it in form {
        let mut one = [0u8];
        let fixed_bytes: Option<&[u8]> = match it {
            Item::Lit(b) => Some(b),
            Item::Set(set) => match fixed(set, nocase) {
                Some(b) => {
                    one[0] = b;
                    Some(&one[..])
                }
                None => None,
            },
            _ => None,
        };
        match fixed_bytes {
            Some(b) => {
                let r = cur.get_or_insert(Run {
                    start: bytes.len(),
                    len: 0,
                    pre_min: lo,
                    pre_max: hi,
                });
                r.len += b.len();
                if nocase {
                    bytes.extend(b.iter().map(u8::to_ascii_lowercase));
                } else {
                    bytes.extend_from_slice(b);
                }
            }
            None => runs.extend(cur.take()),
        }
        let (a, b) = it.span();
        lo += a as u64;
        hi = hi.zip(b).map(|(x, y)| x + y as u64);
    }
    runs.extend(cur.take());
}

/// Bits of the 4-byte anchor filter per anchor: at most one bit in 128 is
/// set, so a text position passes it by accident under 1% of the time.
const QUAD_BITS_PER_ANCHOR: usize = 128;
/// The filter's size bounds, as powers of two: 512 bytes, 2 MB. The
/// filter is read at every byte of every buffer, so it is no larger than
/// the anchors need: the embedded database's fits in the first-level
/// cache, where a filter of the largest size (for the official databases)
/// is fetched from memory a line at a time on each message.
const QUAD_LOG2: std::ops::RangeInclusive<u32> = 12..=24;
/// With at most this many distinct 4-byte keys, each is looked for with
/// `memchr`'s vectorised substring search instead of the filter: a few
/// passes at a fraction of a cycle per byte beat one pass at several (the
/// embedded database has one such key).
const FEW_QUADS: usize = 8;

#[inline]
fn quad_hash(k: u32, log2: u32) -> usize {
    (k.wrapping_mul(0x9e37_79b1) >> (32 - log2)) as usize
}

fn weight(b: u8) -> u32 {
    match b {
        0x00 | 0xff | 0x20 => 1,
        b if b.is_ascii_alphabetic() => 2,
        _ => 4,
    }
}

/// The fixed byte a set stands for: itself when a singleton, or the lower
/// case letter when it is exactly a case pair and `nocase` allows it.
fn fixed(set: &ByteSet, nocase: bool) -> Option<u8> {
    let n = set.len();
    let b = set.first()?;
    if n == 1 {
        return Some(b);
    }
    if nocase && n == 2 && b.is_ascii_uppercase() && set.contains(b + 32) {
        return Some(b + 32);
    }
    None
}

/// The best anchor among a form's runs: (run, offset in it, length).
fn best_anchor(runs: &[Run], bytes: &[u8]) -> Option<(Run, usize, usize)> {
    let mut best: Option<(u32, Run, usize, usize)> = None;
    for r in runs {
        let run = &bytes[r.start..r.start + r.len];
        // Best window of at most MAX_ANCHOR bytes in this run.
        let w = run.len().min(MAX_ANCHOR);
        let mut score: u32 = run[..w].iter().map(|&b| weight(b)).sum();
        for k in 0..=run.len() - w {
            if k > 0 {
                score = score + weight(run[k + w - 1]) - weight(run[k - 1]);
            }
            if best.as_ref().is_none_or(|(s, ..)| score > *s) {
                best = Some((score, *r, k, w));
            }
        }
    }
    // A single common byte is not worth an automaton entry.
    best.filter(|(s, ..)| *s >= 6).map(|(_, r, k, w)| (r, k, w))
}

impl MatcherBuilder {
    /// An empty builder.
    pub fn new() -> MatcherBuilder {
        MatcherBuilder::default()
    }

    /// Makes room for `n` more patterns.
    pub fn reserve(&mut self, n: usize) {
        self.patterns.reserve(n);
    }

    /// Adds a pattern with its offset; ids are dense, from 0.
    pub fn add(&mut self, pattern: Pattern, offset: Offset) -> PatternId {
        self.patterns.push((pattern, offset));
        (self.patterns.len() - 1) as PatternId
    }

    /// Compiles every pattern.
    pub fn build(mut self) -> Matcher {
        let mut exact: (Vec<Vec<u8>>, Vec<AnchorInfo>) = Default::default();
        let mut nocase: (Vec<Vec<u8>>, Vec<AnchorInfo>) = Default::default();
        let mut direct = Vec::new();
        let mut always = Vec::new();
        let mut quad: Vec<(u32, AnchorInfo)> = Vec::with_capacity(self.patterns.len());
        let mut arena: Vec<u8> = Vec::new();
        // Scratch, reused for every pattern.
        let mut bytes: Vec<u8> = Vec::new();
        let mut runs: Vec<Run> = Vec::new();
        let mut chosen: Vec<Option<(Run, usize, usize)>> = Vec::new();
        for (id, (pat, off)) in self.patterns.iter().enumerate() {
            let id = id as PatternId;
            let ci = pat.nocase();
            bytes.clear();
            chosen.clear();
            for f in pat.forms() {
                runs.clear();
                fixed_runs(f, ci, &mut bytes, &mut runs);
                chosen.push(best_anchor(&runs, &bytes));
            }
            let anchors = chosen.iter().all(Option::is_some).then_some(&chosen);
            // A pinned, bounded pattern is verified at its window on every
            // buffer, unless it has an anchor the hashed table takes: then
            // it costs nothing on the (many) buffers that lack the anchor.
            let hashed = !ci
                && anchors
                    .as_ref()
                    .is_some_and(|a| a.iter().flatten().all(|&(_, _, w)| w >= 4));
            if matches!(off, Offset::At { .. }) && pat.max_len().is_some() && !hashed {
                direct.push(id);
                continue;
            }
            let Some(anchors) = anchors else {
                always.push(id);
                continue;
            };
            for &(run, k, w) in anchors.iter().flatten() {
                let run_bytes = &bytes[run.start..run.start + run.len];
                // Where the anchor (or its hashed 4-byte key) starts in the run.
                let at = if hashed {
                    // The rarest 4-byte window for the hashed table.
                    let win = &run_bytes[k..k + w];
                    k + (0..=w - 4)
                        .max_by_key(|&j| win[j..j + 4].iter().map(|&b| weight(b)).sum::<u32>())
                        .unwrap_or(0)
                } else {
                    k
                };
                let run_start = arena.len() as u32;
                arena.extend_from_slice(run_bytes);
                let info = AnchorInfo {
                    pattern: id,
                    run_start,
                    run_len: run.len as u32,
                    back: at as u32,
                    nocase: ci,
                    pre_min: run.pre_min + at as u64,
                    pre_max: run.pre_max.map(|m| m + at as u64),
                };
                if hashed {
                    let key =
                        u32::from_le_bytes(run_bytes[at..at + 4].try_into().expect("4 bytes"));
                    quad.push((key, info));
                    continue;
                }
                let dst = if ci { &mut nocase } else { &mut exact };
                dst.0.push(run_bytes[k..k + w].to_vec());
                dst.1.push(info);
            }
        }
        let build = |pats: &[Vec<u8>], ci: bool| {
            if pats.is_empty() {
                return None;
            }
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .ascii_case_insensitive(ci)
                    .build(pats)
                    .expect("anchors are short byte strings"),
            )
        };
        quad.sort_unstable_by_key(|q| (q.0, q.1.pattern));
        quad.shrink_to_fit();
        arena.shrink_to_fit();
        self.patterns.shrink_to_fit();
        let (mut exact_info, mut nocase_info) = (exact.1, nocase.1);
        exact_info.shrink_to_fit();
        nocase_info.shrink_to_fit();
        direct.shrink_to_fit();
        always.shrink_to_fit();
        let log2 = (quad.len() * QUAD_BITS_PER_ANCHOR)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(*QUAD_LOG2.start(), *QUAD_LOG2.end());
        let mut filter = vec![0u64; 1 << (log2 - 6)];
        for (k, _) in &quad {
            let h = quad_hash(*k, log2);
            filter[h / 64] |= 1 << (h % 64);
        }
        let mut keys: Vec<u32> = quad.iter().map(|q| q.0).collect();
        keys.dedup();
        let few = if keys.len() <= FEW_QUADS {
            keys.iter()
                .map(|k| (*k, memmem::Finder::new(&k.to_le_bytes()).into_owned()))
                .collect()
        } else {
            Vec::new()
        };
        Matcher {
            quad,
            filter,
            few,
            exact: build(&exact.0, false),
            exact_info,
            nocase: build(&nocase.0, true),
            nocase_info,
            runs: arena,
            direct,
            always,
            patterns: self.patterns,
        }
    }
}

/// Compiled patterns; immutable, `Send + Sync`.
pub struct Matcher {
    /// Anchors of four or more bytes, keyed by their rarest 4-byte window.
    quad: Vec<(u32, AnchorInfo)>,
    /// Bitmap over `quad_hash` of the keys in `quad`; its length is a
    /// power of two.
    filter: Vec<u64>,
    /// The distinct keys in `quad`, each with its substring searcher,
    /// when they are at most [`FEW_QUADS`]; else empty.
    few: Vec<(u32, memmem::Finder<'static>)>,
    exact: Option<AhoCorasick>,
    exact_info: Vec<AnchorInfo>,
    nocase: Option<AhoCorasick>,
    nocase_info: Vec<AnchorInfo>,
    direct: Vec<PatternId>,
    always: Vec<PatternId>,
    patterns: Vec<(Pattern, Offset)>,
    /// The fixed-byte runs of every anchor, end to end.
    runs: Vec<u8>,
}

impl Matcher {
    /// Number of patterns.
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Whether there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Finds every pattern in `data`, recording hits in `state` (which is
    /// cleared first). `layout` resolves EP/section offsets.
    pub fn scan(&self, data: &[u8], layout: &Layout, state: &mut MatchState) {
        state.clear();
        state.ensure(self.patterns.len());
        let n = data.len() as u64;
        if !self.few.is_empty() {
            // Every occurrence of every key, in the order the filter's
            // walk would meet them (two keys never start at one place).
            let mut found = std::mem::take(&mut state.quads);
            found.clear();
            for (i, (_, finder)) in self.few.iter().enumerate() {
                // Overlapping occurrences too (`3333` twice in `33333`):
                // each search starts one byte after the last hit.
                let mut at = 0;
                while let Some(p) = data.get(at..).and_then(|d| finder.find(d)) {
                    found.push((at + p, i));
                    at += p + 1;
                }
            }
            found.sort_unstable();
            for &(p, i) in found.iter() {
                let key = self.few[i].0;
                let first = self.quad.partition_point(|q| q.0 < key);
                for (_, info) in self.quad[first..].iter().take_while(|q| q.0 == key) {
                    hit(info, &self.runs, p as u64, data, state);
                }
            }
            state.quads = found;
        } else if !self.quad.is_empty() && data.len() >= 4 {
            let filter = self.filter.as_slice();
            let log2 = (filter.len() * 64).trailing_zeros();
            let mut key = u32::from_le_bytes([0, data[0], data[1], data[2]]);
            for (p, &b) in data[3..].iter().enumerate() {
                key = (key >> 8) | (u32::from(b) << 24);
                let h = quad_hash(key, log2);
                if filter[h / 64] >> (h % 64) & 1 == 0 {
                    continue;
                }
                let first = self.quad.partition_point(|q| q.0 < key);
                for (_, info) in self.quad[first..].iter().take_while(|q| q.0 == key) {
                    hit(info, &self.runs, p as u64, data, state);
                }
            }
        }
        for (ac, infos) in [
            (&self.exact, &self.exact_info),
            (&self.nocase, &self.nocase_info),
        ] {
            let Some(ac) = ac else { continue };
            for m in ac.find_overlapping_iter(data) {
                hit(
                    &infos[m.pattern().as_usize()],
                    &self.runs,
                    m.start() as u64,
                    data,
                    state,
                );
            }
        }
        for &id in self.direct.iter().chain(&self.always) {
            state.trigger(id, 0, n);
        }
        let mut budget = 64 * n + (1 << 20);
        let mut k = 0;
        while k < state.triggered.len() {
            let id = state.triggered[k];
            k += 1;
            let (tlo, thi) = state.window[id as usize];
            let (pat, off) = &self.patterns[id as usize];
            let Some((olo, ohi)) = off.resolve(n, layout) else {
                continue;
            };
            let (lo, hi) = (tlo.max(olo), thi.min(ohi));
            if lo > hi {
                continue;
            }
            let end = pat.max_len().map_or(n, |m| (hi + m as u64).min(n));
            let items: u64 = pat.forms().iter().map(|f| f.len() as u64 + 1).sum();
            let est = (end - lo + 1) * items;
            if est > budget {
                state.truncated = true;
                break;
            }
            let (count, offs) = (&mut state.count, &mut state.offsets);
            let mut c = 0u32;
            let used = pat.starts_in(data, lo as usize, hi as usize, &mut |p| {
                c = c.saturating_add(1);
                let o = &mut offs[id as usize];
                if o.len() < MatchState::MAX_OFFSETS {
                    o.push(p);
                }
            });
            budget = budget.saturating_sub(used.max(1));
            if c > 0 {
                count[id as usize] = c;
                state.hit.push(id);
            }
        }
    }
}

/// An anchor occurred at `a`: check its local run, then trigger.
#[inline]
fn hit(info: &AnchorInfo, runs: &[u8], a: u64, data: &[u8], state: &mut MatchState) {
    let back = u64::from(info.back);
    if a < info.pre_min || a < back {
        return;
    }
    let s = (a - back) as usize;
    let len = info.run_len as usize;
    let Some(bytes) = data.get(s..s + len) else {
        return;
    };
    let start = info.run_start as usize;
    let run = &runs[start..start + len];
    let ok = if info.nocase {
        // The run is lower case; a non-letter equals only itself.
        run.iter()
            .zip(bytes)
            .all(|(&r, &b)| r == b.to_ascii_lowercase())
    } else {
        run == bytes
    };
    if !ok {
        return;
    }
    let hi = a - info.pre_min;
    let lo = info.pre_max.map_or(0, |x| a.saturating_sub(x));
    state.trigger(info.pattern, lo, hi);
}

/// Per-scanner scratch: hit counts and the first offsets of each pattern.
#[derive(Default)]
pub struct MatchState {
    hit: Vec<PatternId>,
    count: Vec<u32>,
    offsets: Vec<Vec<u64>>,
    triggered: Vec<PatternId>,
    /// Candidate start window per triggered pattern; `(1, 0)` = untouched.
    window: Vec<(u64, u64)>,
    truncated: bool,
    /// Where each of a few 4-byte keys occurs: `(offset, key index)`.
    quads: Vec<(usize, usize)>,
}

impl MatchState {
    /// Most match offsets kept per pattern.
    pub const MAX_OFFSETS: usize = 16;

    /// A fresh state.
    pub fn new() -> MatchState {
        MatchState::default()
    }

    fn ensure(&mut self, n: usize) {
        if self.count.len() < n {
            self.count.resize(n, 0);
            self.offsets.resize_with(n, Vec::new);
            self.window.resize(n, (1, 0));
        }
    }

    fn trigger(&mut self, id: PatternId, lo: u64, hi: u64) {
        let w = &mut self.window[id as usize];
        if w.0 > w.1 {
            self.triggered.push(id);
            *w = (lo, hi);
        } else {
            *w = (w.0.min(lo), w.1.max(hi));
        }
    }

    /// Forgets all hits, keeping allocations; `O(hits)`.
    pub fn clear(&mut self) {
        for &id in &self.hit {
            self.count[id as usize] = 0;
            self.offsets[id as usize].clear();
        }
        for &id in &self.triggered {
            self.window[id as usize] = (1, 0);
        }
        self.hit.clear();
        self.triggered.clear();
        self.truncated = false;
    }

    /// Ids of the patterns that matched at least once, in no set order.
    pub fn hits(&self) -> &[PatternId] {
        &self.hit
    }

    /// How many distinct start offsets `id` matched at (saturating).
    pub fn count(&self, id: PatternId) -> u32 {
        self.count.get(id as usize).copied().unwrap_or(0)
    }

    /// The first (lowest) start offsets `id` matched at, at most
    /// [`MatchState::MAX_OFFSETS`], ascending.
    pub fn offsets(&self, id: PatternId) -> &[u64] {
        self.offsets.get(id as usize).map_or(&[], |v| v.as_slice())
    }

    /// Whether the scan stopped early on a work bound.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The benchmark: 100k mixed patterns over random bytes.
    /// `cargo test --release --lib sig::matcher::tests::bench_100k -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn bench_100k() {
        let mut x = 0x9e3779b97f4a7c15u64;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let hex = |n: usize, r: &mut dyn FnMut() -> u64| {
            (0..n)
                .map(|_| format!("{:02x}", r() as u8))
                .collect::<String>()
        };
        let mut b = MatcherBuilder::new();
        for i in 0..100_000 {
            let len = 16 + (rnd() % 25) as usize;
            let s = match i % 4 {
                0 => hex(len, &mut rnd),
                1 => format!(
                    "{}??{}{{2-8}}{}",
                    hex(len / 3, &mut rnd),
                    hex(len / 3, &mut rnd),
                    hex(len / 3, &mut rnd)
                ),
                2 => format!("{}*{}", hex(len / 2, &mut rnd), hex(len / 2, &mut rnd)),
                _ => format!(
                    "{}({}|{}){}",
                    hex(len / 2, &mut rnd),
                    hex(2, &mut rnd),
                    hex(3, &mut rnd),
                    hex(len / 2, &mut rnd)
                ),
            };
            b.add(Pattern::parse(&s).unwrap(), Offset::Any);
        }
        let t = std::time::Instant::now();
        let m = b.build();
        println!("build: {:?}", t.elapsed());
        let data: Vec<u8> = (0..64 << 20).map(|_| rnd() as u8).collect();
        let mut st = MatchState::new();
        let t = std::time::Instant::now();
        m.scan(&data, &Layout::default(), &mut st);
        let dt = t.elapsed();
        println!(
            "scan: {:?} = {:.1} MB/s, hits {}",
            dt,
            data.len() as f64 / dt.as_secs_f64() / 1e6,
            st.hits().len()
        );
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        for l in status
            .lines()
            .filter(|l| l.starts_with("VmHWM") || l.starts_with("VmRSS"))
        {
            println!("{l}");
        }
    }
}
