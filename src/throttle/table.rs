//! The bounded table: a set-associative array of sliding-window counters.
//!
//! `slots` entries are allocated once, in sets of [`WAYS`]. A key hashes
//! (with the caller's seed) to one set and lives in one of its ways; a key
//! that is not there takes an empty or expired way, or evicts the way with
//! the least evidence against it (the smallest windowed event total; the
//! oldest on a tie). Each entry holds a ring of `buckets` time buckets for
//! each of the [`COUNTERS`] counters, and the bucket index of the newest
//! bucket written (`head`): a bucket index is `time / width`, and a count
//! "in the window" at time `t` is the sum of the buckets whose index `i`
//! satisfies `t / width - buckets < i <= t / width`.

/// Ways per set: how many keys that hash to the same set can live side by
/// side. Eight keeps a lookup within a few cache lines.
pub(crate) const WAYS: usize = 8;

/// Counters per entry: connections, messages, recipients, spam verdicts.
pub(crate) const COUNTERS: usize = 4;

/// `head` of an empty slot.
const EMPTY: u64 = u64::MAX;

/// The largest bucket index the table takes (callers clamp to it): one
/// below [`EMPTY`].
pub(crate) const LAST_BUCKET: u64 = EMPTY - 1;

/// A slot's key and bookkeeping; the counters live in a parallel array.
#[derive(Clone, Copy)]
struct Slot {
    /// The key: an IPv6 address, or an IPv4 address mapped into IPv6
    /// (`::ffff:a.b.c.d`), masked to the key's prefix; in two halves, so
    /// that a slot is 8-aligned and 40 bytes rather than 48.
    key: [u64; 2],
    /// The bucket index of the newest bucket written, or [`EMPTY`].
    head: u64,
    /// The time of the latest event, in ms: the tie-break between victims
    /// of equal weight (the least recently seen goes).
    last: u64,
    /// The sum of all counters over the window as of `head`: an upper
    /// bound of the true total at any later time, used to pick a victim.
    weight: u32,
}

/// The table. Its memory is fixed at construction.
pub(crate) struct Table {
    slots: Box<[Slot]>,
    /// `slots.len() * COUNTERS * buckets` counters: slot `s`, counter `c`,
    /// bucket `b` at `(s * COUNTERS + c) * buckets + b`.
    counts: Box<[u32]>,
    buckets: usize,
    sets: usize,
    seed: u64,
    evictions: u64,
}

/// The murmur3 64-bit finaliser: a cheap, well-mixing bijection.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

impl Table {
    /// A table of `slots` entries (rounded up to a whole number of sets;
    /// at least one set) with `buckets` buckets per counter.
    pub(crate) fn new(slots: usize, buckets: usize, seed: u64) -> Table {
        let sets = slots.div_ceil(WAYS).max(1);
        let n = sets * WAYS;
        Table {
            slots: vec![
                Slot {
                    key: [0; 2],
                    head: EMPTY,
                    last: 0,
                    weight: 0
                };
                n
            ]
            .into_boxed_slice(),
            counts: vec![0; n * COUNTERS * buckets].into_boxed_slice(),
            buckets,
            sets,
            seed,
            evictions: 0,
        }
    }

    /// The heap bytes of one slot with `buckets` buckets.
    pub(crate) fn bytes_per_slot(buckets: usize) -> usize {
        std::mem::size_of::<Slot>() + COUNTERS * buckets * std::mem::size_of::<u32>()
    }

    /// The heap bytes a table of `slots` entries with `buckets` buckets
    /// holds, from its capacity alone.
    pub(crate) fn heap_bytes_for(slots: usize, buckets: usize) -> usize {
        slots.div_ceil(WAYS).max(1) * WAYS * Table::bytes_per_slot(buckets)
    }

    /// The heap bytes this table holds, from its capacity.
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.slots) + std::mem::size_of_val(&*self.counts)
    }

    /// Number of entries (a whole number of sets).
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Keys pushed out to make room for others, since construction.
    pub(crate) fn evictions(&self) -> u64 {
        self.evictions
    }

    /// Live entries at bucket index `cur` (those with an event in the
    /// window). Walks the whole table: for tests and statistics.
    pub(crate) fn live(&self, cur: u64) -> usize {
        let b = self.buckets as u64;
        self.slots
            .iter()
            .filter(|s| s.head != EMPTY && cur.saturating_sub(s.head) < b)
            .count()
    }

    fn set_of(&self, key: [u64; 2]) -> usize {
        let h = fmix64(key[1] ^ fmix64(key[0] ^ self.seed));
        ((u128::from(h) * self.sets as u128) >> 64) as usize
    }

    fn find(&self, key: [u64; 2]) -> Option<usize> {
        let base = self.set_of(key) * WAYS;
        (base..base + WAYS).find(|&i| self.slots[i].head != EMPTY && self.slots[i].key == key)
    }

    /// The window sums of `key`'s counters at bucket index `cur`; zeros for
    /// a key that is not in the table.
    pub(crate) fn counts(&self, key: [u64; 2], cur: u64) -> [u32; COUNTERS] {
        match self.find(key) {
            Some(i) => self.window(i, cur),
            None => [0; COUNTERS],
        }
    }

    fn window(&self, i: usize, cur: u64) -> [u32; COUNTERS] {
        let head = self.slots[i].head;
        let b = self.buckets as u64;
        let mut out = [0u32; COUNTERS];
        // Buckets `head - d` for d < buckets, those still in the window at
        // `cur`. (`cur >= head` always: time never runs backwards here; and
        // no `idx + b`, which overflows at the end of u64.)
        for d in 0..b.min(head.saturating_add(1)) {
            let idx = head - d;
            if cur.saturating_sub(idx) >= b {
                break;
            }
            let at = (idx % b) as usize;
            for (c, o) in out.iter_mut().enumerate() {
                *o = o.saturating_add(self.counts[(i * COUNTERS + c) * self.buckets + at]);
            }
        }
        out
    }

    /// Moves slot `i`'s ring forward to bucket index `cur`, clearing the
    /// buckets that fall out of the window and taking their events off the
    /// weight.
    fn advance(&mut self, i: usize, cur: u64) {
        let head = self.slots[i].head;
        if cur <= head {
            return;
        }
        let b = self.buckets;
        let steps = (cur - head).min(b as u64);
        let mut gone = 0u32;
        for s in 1..=steps {
            let at = ((head + s) % b as u64) as usize;
            for c in 0..COUNTERS {
                let v = &mut self.counts[(i * COUNTERS + c) * b + at];
                gone = gone.saturating_add(*v);
                *v = 0;
            }
        }
        let slot = &mut self.slots[i];
        slot.weight = if steps == b as u64 {
            0
        } else {
            slot.weight.saturating_sub(gone)
        };
        slot.head = cur;
    }

    /// The slot for `key` at bucket index `cur`, taking one (and evicting,
    /// when its set is full of live keys) if it has none.
    fn slot_for(&mut self, key: [u64; 2], cur: u64) -> usize {
        let base = self.set_of(key) * WAYS;
        let b = self.buckets as u64;
        let mut victim = base;
        let mut best = (u64::MAX, u64::MAX); // (weight now, head): smallest wins
        for i in base..base + WAYS {
            let s = self.slots[i];
            let rank = if s.head == EMPTY {
                // An empty slot beats everything but an earlier empty one.
                (0, 0)
            } else if s.key == key {
                self.advance(i, cur);
                return i;
            } else if cur.saturating_sub(s.head) >= b {
                // Expired: nothing left in its window.
                (0, s.last.saturating_add(1))
            } else {
                (u64::from(s.weight), s.last.saturating_add(1))
            };
            if rank < best {
                best = rank;
                victim = i;
            }
        }
        // A live key is pushed out only when its window still holds events.
        let old = self.slots[victim];
        if old.head != EMPTY && cur.saturating_sub(old.head) < b && old.weight > 0 {
            self.evictions += 1;
        }
        let start = victim * COUNTERS * self.buckets;
        self.counts[start..start + COUNTERS * self.buckets].fill(0);
        self.slots[victim] = Slot {
            key,
            head: cur,
            last: 0,
            weight: 0,
        };
        victim
    }

    /// Adds `add[c]` events to each counter `c` of `key` at time `now`
    /// (ms), bucket index `cur`, and returns the window sums after the
    /// addition.
    pub(crate) fn add(
        &mut self,
        key: [u64; 2],
        now: u64,
        cur: u64,
        add: [u32; COUNTERS],
    ) -> [u32; COUNTERS] {
        let i = self.slot_for(key, cur);
        let b = self.buckets;
        let at = (cur % b as u64) as usize;
        let mut total = 0u32;
        for (c, a) in add.iter().enumerate() {
            let v = &mut self.counts[(i * COUNTERS + c) * b + at];
            *v = v.saturating_add(*a);
            total = total.saturating_add(*a);
        }
        let slot = &mut self.slots[i];
        slot.weight = slot.weight.saturating_add(total);
        slot.last = now;
        self.window(i, cur)
    }
}
