//! The multi-pattern matcher: one Aho-Corasick automaton over the anchor of
//! every pattern, with exact verification of the rest.
//!
//! Each form of each pattern (see [`super::pattern`]) is searched for its
//! best *anchor*: a run of up to [`MAX_ANCHOR`] consecutive fixed bytes,
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
    /// The maximal run of one-byte items around the anchor, checked at
    /// each hit before the pattern is triggered, and how far it starts
    /// before the anchor.
    run: Vec<ByteSet>,
    back: u64,
    /// Fewest / most bytes the items before the anchor span.
    pre_min: u64,
    pre_max: Option<u64>,
}

/// Size of the 4-byte anchor filter, in bits.
const QUAD_BITS: usize = 1 << 24;

#[inline]
fn quad_hash(k: u32) -> usize {
    (k.wrapping_mul(0x9e37_79b1) >> (32 - 24)) as usize
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

/// The best anchor of a form: (bytes, index of its first item).
fn best_anchor(form: &[Item], nocase: bool) -> Option<(Vec<u8>, usize)> {
    let mut best: Option<(u32, Vec<u8>, usize)> = None;
    let mut i = 0;
    while i < form.len() {
        let mut run = Vec::new();
        let start = i;
        while let Some(Item::Set(s)) = form.get(i) {
            match fixed(s, nocase) {
                Some(b) => run.push(b),
                None => break,
            }
            i += 1;
        }
        if run.is_empty() {
            i += 1;
            continue;
        }
        // Best window of at most MAX_ANCHOR bytes in this run.
        let w = run.len().min(MAX_ANCHOR);
        for k in 0..=run.len() - w {
            let score: u32 = run[k..k + w].iter().map(|&b| weight(b)).sum();
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, run[k..k + w].to_vec(), start + k));
            }
        }
    }
    // A single common byte is not worth an automaton entry.
    best.filter(|(s, _, _)| *s >= 6).map(|(_, a, i)| (a, i))
}

fn span(items: &[Item]) -> (u64, Option<u64>) {
    let mut lo = 0u64;
    let mut hi = Some(0u64);
    for it in items {
        let (a, b) = match it {
            Item::Set(_) => (1, Some(1)),
            Item::Gap { min, max } => (*min as u64, max.map(u64::from)),
            Item::Alt { branches, .. } => (
                branches.iter().map(|b| b.len() as u64).min().unwrap_or(0),
                branches.iter().map(|b| b.len() as u64).max(),
            ),
            Item::Assert(_) => (0, Some(0)),
        };
        lo += a;
        hi = hi.zip(b).map(|(x, y)| x + y);
    }
    (lo, hi)
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
        let mut exact: (Vec<Vec<u8>>, Vec<AnchorInfo>) = Default::default();
        let mut nocase: (Vec<Vec<u8>>, Vec<AnchorInfo>) = Default::default();
        let mut direct = Vec::new();
        let mut always = Vec::new();
        let mut quad: Vec<(u32, AnchorInfo)> = Vec::new();
        for (id, (pat, off)) in self.patterns.iter().enumerate() {
            let id = id as PatternId;
            let anchors: Option<Vec<_>> = pat
                .forms()
                .iter()
                .map(|f| best_anchor(f, pat.nocase()))
                .collect();
            // A pinned, bounded pattern is verified at its window on every
            // buffer, unless it has an anchor the hashed table takes: then
            // it costs nothing on the (many) buffers that lack the anchor.
            let hashed = !pat.nocase()
                && anchors
                    .as_ref()
                    .is_some_and(|a| a.iter().all(|(bytes, _)| bytes.len() >= 4));
            if matches!(off, Offset::At { .. }) && pat.max_len().is_some() && !hashed {
                direct.push(id);
                continue;
            }
            let Some(anchors) = anchors else {
                always.push(id);
                continue;
            };
            for (form, (bytes, at)) in pat.forms().iter().zip(anchors) {
                let (pre_min, pre_max) = span(&form[..at]);
                let info = AnchorInfo {
                    pattern: id,
                    run: Vec::new(),
                    back: 0,
                    pre_min,
                    pre_max,
                };
                let local = |item: usize| -> (Vec<ByteSet>, u64) {
                    let mut s = item;
                    while s > 0 && matches!(form[s - 1], Item::Set(_)) {
                        s -= 1;
                    }
                    let mut e = item;
                    while let Some(Item::Set(_)) = form.get(e) {
                        e += 1;
                    }
                    let run = form[s..e]
                        .iter()
                        .map(|it| match it {
                            Item::Set(b) => *b,
                            _ => unreachable!(),
                        })
                        .collect();
                    (run, (item - s) as u64)
                };
                if !pat.nocase() && bytes.len() >= 4 {
                    // Take the rarest 4-byte window for the hashed table.
                    let k = (0..=bytes.len() - 4)
                        .max_by_key(|&k| bytes[k..k + 4].iter().map(|&b| weight(b)).sum::<u32>())
                        .unwrap_or(0);
                    let key = u32::from_le_bytes(bytes[k..k + 4].try_into().expect("4 bytes"));
                    let (pre_min, pre_max) = span(&form[..at + k]);
                    let (run, back) = local(at + k);
                    quad.push((
                        key,
                        AnchorInfo {
                            pattern: id,
                            run,
                            back,
                            pre_min,
                            pre_max,
                        },
                    ));
                    continue;
                }
                let (run, back) = local(at);
                let info = AnchorInfo { run, back, ..info };
                let dst = if pat.nocase() {
                    &mut nocase
                } else {
                    &mut exact
                };
                dst.0.push(bytes);
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
        quad.sort_by_key(|q| q.0);
        let mut filter = vec![0u64; QUAD_BITS / 64];
        for (k, _) in &quad {
            let h = quad_hash(*k);
            filter[h / 64] |= 1 << (h % 64);
        }
        Matcher {
            quad,
            filter,
            exact: build(&exact.0, false),
            exact_info: exact.1,
            nocase: build(&nocase.0, true),
            nocase_info: nocase.1,
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
    /// Bitmap over `quad_hash` of the keys in `quad`.
    filter: Vec<u64>,
    exact: Option<AhoCorasick>,
    exact_info: Vec<AnchorInfo>,
    nocase: Option<AhoCorasick>,
    nocase_info: Vec<AnchorInfo>,
    direct: Vec<PatternId>,
    always: Vec<PatternId>,
    patterns: Vec<(Pattern, Offset)>,
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
        if !self.quad.is_empty() && data.len() >= 4 {
            let filter: &[u64; QUAD_BITS / 64] =
                self.filter.as_slice().try_into().expect("filter size");
            let mut key = u32::from_le_bytes([0, data[0], data[1], data[2]]);
            for (p, &b) in data[3..].iter().enumerate() {
                key = (key >> 8) | (u32::from(b) << 24);
                let h = quad_hash(key);
                if filter[h / 64] >> (h % 64) & 1 == 0 {
                    continue;
                }
                let first = self.quad.partition_point(|q| q.0 < key);
                for (_, info) in self.quad[first..].iter().take_while(|q| q.0 == key) {
                    hit(info, p as u64, data, state);
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
fn hit(info: &AnchorInfo, a: u64, data: &[u8], state: &mut MatchState) {
    if a < info.pre_min || a < info.back {
        return;
    }
    let s = (a - info.back) as usize;
    let Some(bytes) = data.get(s..s + info.run.len()) else {
        return;
    };
    if !info.run.iter().zip(bytes).all(|(set, &b)| set.contains(b)) {
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
