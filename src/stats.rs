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
//! every message. Within the limits, merging is exact; beyond them the
//! totals stay exact and only names and old days are dropped. Counts saturate rather than
//! wrap, and a file read back passes through its own limits, so no input
//! makes the accumulator panic or grow past them.
//!
//! The text form starts with a version line, `LFSTATS1`; a later format
//! gets a new tag rather than a silent change.
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

impl Day {
    /// Adds `other`'s figures (saturating).
    fn add(&mut self, other: &Day) {
        self.messages = self.messages.saturating_add(other.messages);
        self.spam = self.spam.saturating_add(other.spam);
        self.infected = self.infected.saturating_add(other.infected);
        self.blocked = self.blocked.saturating_add(other.blocked);
    }
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
            e.count = e.count.saturating_add(v.count);
            e.first = e.first.min(v.first);
            e.last = e.last.max(v.last);
        } else if self.viruses.len() < self.limits.names {
            self.viruses.insert(name.to_string(), v);
        } else {
            self.other_viruses = self.other_viruses.saturating_add(v.count);
        }
    }

    /// Counts one scanned message at time `at`: whether it is spam, and
    /// the viruses found in it (each name counted once per message).
    pub fn record(&mut self, at: i64, spam: bool, viruses: &[&str]) {
        self.seen(at);
        let infected = !viruses.is_empty();
        let one = Day {
            messages: 1,
            spam: u64::from(spam),
            infected: u64::from(infected),
            blocked: 0,
        };
        self.messages = self.messages.saturating_add(1);
        self.spam = self.spam.saturating_add(one.spam);
        self.infected = self.infected.saturating_add(one.infected);
        self.day(at).add(&one);
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
        let n = self.blocked.entry(reason.to_string()).or_default();
        *n = n.saturating_add(1);
        let d = self.day(at);
        d.blocked = d.blocked.saturating_add(1);
        self.trim_days();
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &Stats) {
        self.messages = self.messages.saturating_add(other.messages);
        self.spam = self.spam.saturating_add(other.spam);
        self.infected = self.infected.saturating_add(other.infected);
        self.other_viruses = self.other_viruses.saturating_add(other.other_viruses);
        if let Some((a, b)) = other.span {
            self.seen(a);
            self.seen(b);
        }
        for (k, n) in &other.blocked {
            let e = self.blocked.entry(k.clone()).or_default();
            *e = e.saturating_add(*n);
        }
        for (name, v) in &other.viruses {
            self.add_virus(name, *v);
        }
        for (k, d) in &other.days {
            self.days.entry(*k).or_default().add(d);
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
        let mut names = Vec::new();
        for (i, line) in lines.enumerate() {
            let bad = || StatsError::Line(i + 2);
            let mut w = line.splitn(2, ' ');
            let (key, rest) = (w.next().unwrap_or(""), w.next().unwrap_or(""));
            // Counts are u64 and times i64: read both through i128.
            let nums = |n: usize| -> Result<(Vec<i128>, &str), StatsError> {
                let mut parts = rest.splitn(n + 1, ' ');
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?);
                }
                Ok((v, parts.next().unwrap_or("")))
            };
            let u = |x: i128| u64::try_from(x).map_err(|_| bad());
            let t = |x: i128| i64::try_from(x).map_err(|_| bad());
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
                    st.span = Some((t(v[0])?, t(v[1])?));
                }
                "blocked" => {
                    let (v, name) = nums(1)?;
                    let n = st
                        .blocked
                        .entry(unescape(name).ok_or_else(bad)?)
                        .or_default();
                    *n = n.saturating_add(u(v[0])?);
                }
                "virus" => {
                    let (v, name) = nums(3)?;
                    names.push((
                        unescape(name).ok_or_else(bad)?,
                        Virus {
                            count: u(v[0])?,
                            first: t(v[1].min(v[2]))?,
                            last: t(v[1].max(v[2]))?,
                        },
                    ));
                }
                "day" => {
                    let (v, _) = nums(5)?;
                    st.days.entry(t(v[0])?).or_default().add(&Day {
                        messages: u(v[1])?,
                        spam: u(v[2])?,
                        infected: u(v[3])?,
                        blocked: u(v[4])?,
                    });
                }
                "" => {}
                _ => return Err(bad()),
            }
        }
        // Through the limits (wherever the file put its `limits` line),
        // like any other addition: a file cannot hold more than its bound.
        for (name, v) in names {
            st.add_virus(&name, v);
        }
        st.trim_days();
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

/// Days since 1970-01-01 of the proleptic Gregorian date `y-m-d`
/// (Howard Hinnant's `days_from_civil`); months 1-12.
///
/// ```
/// use filter::stats::{civil_from_days, days_from_civil};
/// assert_eq!(days_from_civil(1970, 1, 1), 0);
/// assert_eq!(days_from_civil(2004, 2, 29), 12_477);
/// assert_eq!(civil_from_days(12_477), (2004, 2, 29));
/// ```
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The (year, month, day) of a day number since 1970-01-01: the inverse
/// of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn calendar_days_round_trip() {
        // Every day from 1600 to 2400 maps back to itself, and consecutive
        // days are consecutive dates.
        let (start, end) = (days_from_civil(1600, 1, 1), days_from_civil(2400, 12, 31));
        let mut prev = civil_from_days(start - 1);
        for n in start..=end {
            let (y, m, d) = civil_from_days(n);
            assert_eq!(days_from_civil(y, m, d), n);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            assert!((y, m, d) > prev);
            prev = (y, m, d);
        }
    }

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

    proptest! {
        /// With bounds that the events overflow, no split loses a count:
        /// the totals, the virus detections (named plus "other") and the
        /// blocks are exact, and the bounds hold.
        #[test]
        fn bounded_merge_keeps_totals(evs in prop::collection::vec(ev(), 0..60), cut in 0usize..60) {
            let limits = Limits { names: 2, days: 5 };
            let mut all = Stats::with_limits(limits);
            evs.iter().for_each(|e| apply(&mut all, e));
            let cut = cut.min(evs.len());
            let mut a = Stats::with_limits(limits);
            let mut b = Stats::with_limits(limits);
            evs[..cut].iter().for_each(|e| apply(&mut a, e));
            evs[cut..].iter().for_each(|e| apply(&mut b, e));
            b.merge(&a);
            let detections = |s: &Stats| -> u64 {
                s.viruses().iter().map(|(_, v)| v.count).sum::<u64>() + s.other_viruses()
            };
            let blocks = |s: &Stats| -> u64 { s.blocked().map(|(_, n)| n).sum() };
            prop_assert_eq!(
                (b.messages(), b.spam(), b.infected(), detections(&b), blocks(&b), b.span()),
                (all.messages(), all.spam(), all.infected(), detections(&all), blocks(&all), all.span())
            );
            prop_assert!(b.viruses().len() <= 2 && b.days().count() <= 5);
            prop_assert_eq!(Stats::from_text(&b.to_text()).unwrap(), b);
        }
    }

    fn text_line() -> impl Strategy<Value = String> {
        let n = || {
            prop_oneof![
                0i128..5,
                Just(i128::from(i64::MAX)),
                Just(i128::from(u64::MAX)),
                Just(-1i128)
            ]
        };
        prop_oneof![
            (0i64..4, 0i64..4).prop_map(|(a, b)| format!("limits {a} {b}")),
            (n(), n(), n(), n()).prop_map(|(a, b, c, d)| format!("totals {a} {b} {c} {d}")),
            (n(), n()).prop_map(|(a, b)| format!("span {a} {b}")),
            (n(), "[a-c %]{0,3}").prop_map(|(a, k)| format!("blocked {a} {k}")),
            (n(), n(), n(), "[A-D%0-9]{0,3}")
                .prop_map(|(a, b, c, k)| format!("virus {a} {b} {c} {k}")),
            (n(), n(), n(), n(), n())
                .prop_map(|(a, b, c, d, e)| format!("day {a} {b} {c} {d} {e}")),
        ]
    }

    proptest! {
        /// Whatever a file says, if it reads, it writes back to text that
        /// reads the same, and merging it with itself does not panic.
        #[test]
        fn text_reads_back(lines in prop::collection::vec(text_line(), 0..12)) {
            let text = format!("LFSTATS1\n{}\n", lines.join("\n"));
            if let Ok(s) = Stats::from_text(&text) {
                prop_assert_eq!(Stats::from_text(&s.to_text()).unwrap(), s.clone());
                let mut m = s.clone();
                m.merge(&s);
                prop_assert_eq!(m.messages(), s.messages().saturating_mul(2));
            }
        }
    }

    #[test]
    fn read_through_the_bounds_and_saturate() {
        // A file listing more names than its bound keeps the bound.
        let text = "LFSTATS1\nlimits 2 2\ntotals 3 0 3 0\nvirus 1 5 5 A\nvirus 1 6 6 B\n\
virus 1 7 7 C\nvirus 2 9 1 A\nday 0 1 0 1 0\nday 1 1 0 1 0\nday 2 1 0 1 0\n";
        let s = Stats::from_text(text).unwrap();
        assert_eq!(s.viruses().len(), 2);
        assert_eq!(s.other_viruses(), 1);
        assert_eq!(
            s.viruses()[0],
            (
                "A",
                Virus {
                    count: 3,
                    first: 1,
                    last: 9
                }
            )
        );
        assert_eq!(s.days().count(), 2);
        // Also when the bound comes last.
        let late =
            Stats::from_text("LFSTATS1\nvirus 1 5 5 A\nvirus 1 6 6 B\nlimits 1 1\n").unwrap();
        assert_eq!((late.viruses().len(), late.other_viruses()), (1, 1));
        assert_eq!(Stats::from_text(&late.to_text()).unwrap(), late);
        // Counts saturate instead of overflowing.
        let big = Stats::from_text(&format!("LFSTATS1\ntotals {} 0 0 0\n", i64::MAX)).unwrap();
        let mut m = big.clone();
        m.merge(&big);
        m.merge(&big);
        assert_eq!(m.messages(), u64::MAX);
        // and a count past i64::MAX (a merge's, or names spilling into
        // "other") still reads back.
        assert_eq!(Stats::from_text(&m.to_text()).unwrap(), m);
        let spill = Stats::from_text(&format!(
            "LFSTATS1\nlimits 0 0\nvirus {} 0 0 A\ntotals 0 0 0 1\n",
            i64::MAX
        ))
        .unwrap();
        assert_eq!(spill.other_viruses(), i64::MAX as u64 + 1);
        assert_eq!(Stats::from_text(&spill.to_text()).unwrap(), spill);
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
