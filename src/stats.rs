//! Scan statistics: the numbers behind a monthly threat report.
//!
//! A mail-security service publishes, every month, how much of the mail it
//! scanned was spam, how much carried a virus, which viruses, and when each
//! was first intercepted and last seen. [`Stats`] accumulates exactly that,
//! one message at a time, and is built to be summed: every thread of a
//! milter keeps its own, and processes write theirs to disk
//! ([`Stats::to_text`]) for a reporter to read back and [`Stats::merge`].
//! Merging is commutative and associative: the report does not depend on
//! how the work was split.
//!
//! Time comes from the caller, as Unix seconds, like everything else in the
//! library. Messages are also counted per UTC day, for the charts.
//!
//! Memory is bounded. At most [`Limits::names`] virus names are kept; a
//! detection of a further name counts under "other". At most
//! [`Limits::days`] days are kept, the most recent ones; totals still count
//! every message. Within the limits, merging is exact.
//!
//! ```
//! use filter::stats::{Stats, share};
//!
//! let mut a = Stats::default();
//! a.record(1_100_000_000, true, &[]);
//! a.record(1_100_000_100, false, &["Worm.Sobig.F"]);
//! let mut b = Stats::default();
//! b.record(1_100_086_400, true, &[]);
//! b.block(1_100_086_400, "throttle");
//! a.merge(&b);
//! assert_eq!((a.messages(), a.spam(), a.infected()), (3, 2, 1));
//! assert_eq!(a.days().count(), 2);
//! assert_eq!(share(a.spam(), a.messages()), "66.67% (1 in 1.50)");
//! let back = Stats::from_text(&a.to_text()).unwrap();
//! assert_eq!(back, a);
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Seconds in a day.
const DAY: i64 = 86_400;

/// The bounds of a [`Stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most distinct virus names kept.
    pub names: usize,
    /// Most days kept (the most recent).
    pub days: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            names: 10_000,
            days: 3_660,
        }
    }
}

/// One virus name's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Virus {
    /// Messages it was found in.
    pub count: u64,
    /// When it was first intercepted (Unix seconds).
    pub first: i64,
    /// When it was last seen.
    pub last: i64,
}

/// One UTC day's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Day {
    /// Messages scanned.
    pub messages: u64,
    /// Messages found to be spam.
    pub spam: u64,
    /// Messages with a virus.
    pub infected: u64,
    /// Connections or messages refused by policy.
    pub blocked: u64,
}

/// Why a statistics file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// The first line is not `LFSTATS1`.
    #[error("not a libfilter statistics file")]
    Magic,
    /// A line does not parse.
    #[error("line {0}: malformed")]
    Line(usize),
}

/// Counts of messages, spam, viruses by name, and policy blocks.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats {
    limits: Limits,
    messages: u64,
    spam: u64,
    infected: u64,
    other_viruses: u64,
    blocked: BTreeMap<String, u64>,
    viruses: BTreeMap<String, Virus>,
    days: BTreeMap<i64, Day>,
    span: Option<(i64, i64)>,
}

impl Stats {
    /// Empty statistics with the given bounds.
    pub fn with_limits(limits: Limits) -> Stats {
        Stats {
            limits,
            ..Stats::default()
        }
    }

    fn seen(&mut self, at: i64) {
        self.span = Some(match self.span {
            Some((a, b)) => (a.min(at), b.max(at)),
            None => (at, at),
        });
    }

    fn day(&mut self, at: i64) -> &mut Day {
        let key = at.div_euclid(DAY);
        self.days.entry(key).or_default()
    }

    fn trim_days(&mut self) {
        let max = self.limits.days.max(1);
        while self.days.len() > max {
            self.days.pop_first();
        }
    }

    fn add_virus(&mut self, name: &str, v: Virus) {
        if let Some(e) = self.viruses.get_mut(name) {
            e.count += v.count;
            e.first = e.first.min(v.first);
            e.last = e.last.max(v.last);
        } else if self.viruses.len() < self.limits.names {
            self.viruses.insert(name.to_string(), v);
        } else {
            self.other_viruses += v.count;
        }
    }

    /// Counts one scanned message at time `at`: whether it is spam, and
    /// the viruses found in it (each name counted once per message).
    pub fn record(&mut self, at: i64, spam: bool, viruses: &[&str]) {
        self.seen(at);
        self.messages += 1;
        self.spam += u64::from(spam);
        let infected = !viruses.is_empty();
        self.infected += u64::from(infected);
        let d = self.day(at);
        d.messages += 1;
        d.spam += u64::from(spam);
        d.infected += u64::from(infected);
        let mut names: Vec<&str> = viruses.to_vec();
        names.sort_unstable();
        names.dedup();
        for n in names {
            self.add_virus(
                n,
                Virus {
                    count: 1,
                    first: at,
                    last: at,
                },
            );
        }
        self.trim_days();
    }

    /// Counts one connection or message refused by policy (a blocklist,
    /// the throttle) at time `at`, by reason.
    pub fn block(&mut self, at: i64, reason: &str) {
        self.seen(at);
        *self.blocked.entry(reason.to_string()).or_default() += 1;
        self.day(at).blocked += 1;
        self.trim_days();
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Stats) {
        self.messages += other.messages;
        self.spam += other.spam;
        self.infected += other.infected;
        self.other_viruses += other.other_viruses;
        if let Some((a, b)) = other.span {
            self.seen(a);
            self.seen(b);
        }
        for (k, n) in &other.blocked {
            *self.blocked.entry(k.clone()).or_default() += n;
        }
        for (name, v) in &other.viruses {
            self.add_virus(name, *v);
        }
        for (k, d) in &other.days {
            let e = self.days.entry(*k).or_default();
            e.messages += d.messages;
            e.spam += d.spam;
            e.infected += d.infected;
            e.blocked += d.blocked;
        }
        self.trim_days();
    }

    /// Messages counted.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Spam messages counted.
    pub fn spam(&self) -> u64 {
        self.spam
    }

    /// Messages with a virus.
    pub fn infected(&self) -> u64 {
        self.infected
    }

    /// Detections of names beyond [`Limits::names`].
    pub fn other_viruses(&self) -> u64 {
        self.other_viruses
    }

    /// Policy blocks, by reason, sorted by reason.
    pub fn blocked(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.blocked.iter().map(|(k, &n)| (k.as_str(), n))
    }

    /// Virus names, most intercepted first (then by name).
    pub fn viruses(&self) -> Vec<(&str, Virus)> {
        let mut v: Vec<(&str, Virus)> =
            self.viruses.iter().map(|(k, &v)| (k.as_str(), v)).collect();
        v.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        v
    }

    /// The days kept, oldest first: the day's first second (Unix time, UTC)
    /// and its figures.
    pub fn days(&self) -> impl Iterator<Item = (i64, Day)> + '_ {
        self.days.iter().map(|(&k, &d)| (k.saturating_mul(DAY), d))
    }

    /// The earliest and latest times counted.
    pub fn span(&self) -> Option<(i64, i64)> {
        self.span
    }

    /// A stable text form, for merging across processes: a `LFSTATS1`
    /// line, then one line per figure. Names are written with their bytes
    /// escaped, so any name survives.
    pub fn to_text(&self) -> String {
        let mut s = String::from("LFSTATS1\n");
        let l = self.limits;
        let _ = writeln!(s, "limits {} {}", l.names, l.days);
        let _ = writeln!(
            s,
            "totals {} {} {} {}",
            self.messages, self.spam, self.infected, self.other_viruses
        );
        if let Some((a, b)) = self.span {
            let _ = writeln!(s, "span {a} {b}");
        }
        for (k, n) in &self.blocked {
            let _ = writeln!(s, "blocked {n} {}", escape(k));
        }
        for (name, v) in &self.viruses {
            let _ = writeln!(
                s,
                "virus {} {} {} {}",
                v.count,
                v.first,
                v.last,
                escape(name)
            );
        }
        for (k, d) in &self.days {
            let _ = writeln!(
                s,
                "day {k} {} {} {} {}",
                d.messages, d.spam, d.infected, d.blocked
            );
        }
        s
    }

    /// Reads [`Stats::to_text`]'s form.
    pub fn from_text(text: &str) -> Result<Stats, StatsError> {
        let mut lines = text.lines();
        if lines.next() != Some("LFSTATS1") {
            return Err(StatsError::Magic);
        }
        let mut st = Stats::default();
        for (i, line) in lines.enumerate() {
            let bad = || StatsError::Line(i + 2);
            let mut w = line.splitn(2, ' ');
            let (key, rest) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
            let nums = |n: usize| -> Result<(Vec<i64>, &str), StatsError> {
                let mut parts = rest.splitn(n + 1, ' ');
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?);
                }
                Ok((v, parts.next().unwrap_or("")))
            };
            let u = |x: i64| u64::try_from(x).map_err(|_| bad());
            match key {
                "limits" => {
                    let (v, _) = nums(2)?;
                    st.limits = Limits {
                        names: usize::try_from(v[0]).map_err(|_| bad())?,
                        days: usize::try_from(v[1]).map_err(|_| bad())?,
                    };
                }
                "totals" => {
                    let (v, _) = nums(4)?;
                    st.messages = u(v[0])?;
                    st.spam = u(v[1])?;
                    st.infected = u(v[2])?;
                    st.other_viruses = u(v[3])?;
                }
                "span" => {
                    let (v, _) = nums(2)?;
                    st.span = Some((v[0], v[1]));
                }
                "blocked" => {
                    let (v, name) = nums(1)?;
                    st.blocked.insert(unescape(name).ok_or_else(bad)?, u(v[0])?);
                }
                "virus" => {
                    let (v, name) = nums(3)?;
                    st.viruses.insert(
                        unescape(name).ok_or_else(bad)?,
                        Virus {
                            count: u(v[0])?,
                            first: v[1],
                            last: v[2],
                        },
                    );
                }
                "day" => {
                    let (v, _) = nums(5)?;
                    st.days.insert(
                        v[0],
                        Day {
                            messages: u(v[1])?,
                            spam: u(v[2])?,
                            infected: u(v[3])?,
                            blocked: u(v[4])?,
                        },
                    );
                }
                "" => {}
                _ => return Err(bad()),
            }
        }
        Ok(st)
    }
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            c if c.is_control() || c == ' ' => {
                let mut b = [0u8; 4];
                for x in c.encode_utf8(&mut b).bytes() {
                    let _ = write!(out, "%{x:02X}");
                }
            }
            c => out.push(c),
        }
    }
    out
}

fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `part` of `total` as a threat report writes it: `76.76% (1 in 1.30)`;
/// `0.00% (none)` when `part` is 0.
pub fn share(part: u64, total: u64) -> String {
    if part == 0 || total == 0 {
        return "0.00% (none)".into();
    }
    let p = part as f64 / total as f64;
    format!("{:.2}% (1 in {:.2})", p * 100.0, 1.0 / p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Ev {
        Msg(i64, bool, Vec<u8>),
        Block(i64, u8),
    }

    fn apply(s: &mut Stats, e: &Ev) {
        const NAMES: [&str; 4] = [
            "Worm.Sobig.F",
            "Worm.Mydoom.A",
            "Eicar-Test-Signature",
            "W32 Netsky%",
        ];
        match e {
            Ev::Msg(at, spam, v) => {
                let names: Vec<&str> = v.iter().map(|&i| NAMES[i as usize % 4]).collect();
                s.record(*at, *spam, &names);
            }
            Ev::Block(at, r) => s.block(*at, ["throttle", "dnsbl"][*r as usize % 2]),
        }
    }

    fn ev() -> impl Strategy<Value = Ev> {
        prop_oneof![
            (
                0i64..40 * DAY,
                any::<bool>(),
                prop::collection::vec(0u8..4, 0..3)
            )
                .prop_map(|(a, s, v)| Ev::Msg(a, s, v)),
            (0i64..40 * DAY, any::<u8>()).prop_map(|(a, r)| Ev::Block(a, r)),
        ]
    }

    proptest! {
        /// Merging in any split and order gives what one accumulator
        /// counting every event gives; the text form reads back equal.
        #[test]
        fn merge_is_exact(evs in prop::collection::vec(ev(), 0..60), cut1 in 0usize..60, cut2 in 0usize..60) {
            let mut all = Stats::default();
            evs.iter().for_each(|e| apply(&mut all, e));
            let (a, b) = (cut1.min(evs.len()), cut2.min(evs.len()));
            let (lo, hi) = (a.min(b), a.max(b));
            let mut parts = [Stats::default(), Stats::default(), Stats::default()];
            for (i, e) in evs.iter().enumerate() {
                let p = if i < lo { 0 } else if i < hi { 1 } else { 2 };
                apply(&mut parts[p], e);
            }
            // (p2 + p0) + p1 and p0 + (p1 + p2).
            let mut x = parts[2].clone();
            x.merge(&parts[0]);
            x.merge(&parts[1]);
            let mut y12 = parts[1].clone();
            y12.merge(&parts[2]);
            let mut y = parts[0].clone();
            y.merge(&y12);
            prop_assert_eq!(&x, &all);
            prop_assert_eq!(&y, &all);
            prop_assert_eq!(Stats::from_text(&all.to_text()).unwrap(), all);
        }
    }

    #[test]
    fn bounded() {
        let mut s = Stats::with_limits(Limits { names: 2, days: 3 });
        for d in 0..10 {
            s.record(d * DAY, false, &[&format!("V{d}")]);
        }
        assert_eq!(s.messages(), 10);
        assert_eq!(s.infected(), 10);
        assert_eq!(s.viruses().len(), 2);
        assert_eq!(s.other_viruses(), 8);
        let days: Vec<i64> = s.days().map(|(d, _)| d / DAY).collect();
        assert_eq!(days, [7, 8, 9]);
    }

    #[test]
    fn first_and_last_seen() {
        let mut s = Stats::default();
        s.record(500, false, &["A", "A"]);
        s.record(100, false, &["A"]);
        s.record(900, false, &["B"]);
        let v = s.viruses();
        assert_eq!(
            v[0],
            (
                "A",
                Virus {
                    count: 2,
                    first: 100,
                    last: 500
                }
            )
        );
        assert_eq!(v[1].0, "B");
        assert_eq!(s.span(), Some((100, 900)));
    }

    #[test]
    fn shares() {
        assert_eq!(share(7676, 10000), "76.76% (1 in 1.30)");
        assert_eq!(share(1, 40), "2.50% (1 in 40.00)");
        assert_eq!(share(0, 5), "0.00% (none)");
        assert_eq!(share(3, 0), "0.00% (none)");
    }

    #[test]
    fn text_errors() {
        assert_eq!(Stats::from_text("nope"), Err(StatsError::Magic));
        assert_eq!(
            Stats::from_text("LFSTATS1\ntotals 1 x 0 0\n"),
            Err(StatsError::Line(2))
        );
        assert_eq!(
            Stats::from_text("LFSTATS1\nwhat 1\n"),
            Err(StatsError::Line(2))
        );
        assert_eq!(
            Stats::from_text("LFSTATS1\nvirus 1 2 3 %G1\n"),
            Err(StatsError::Line(2))
        );
        let mut s = Stats::default();
        s.record(0, false, &["odd name\n%"]);
        assert_eq!(Stats::from_text(&s.to_text()).unwrap(), s);
    }
}
