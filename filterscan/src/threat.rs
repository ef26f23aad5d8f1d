//! `filterscan report`: the monthly threat report from scan logs.
//!
//! A mail-security service tells its customers, every month, how much of
//! the mail it scanned was spam and how much carried a virus: each share as
//! a percentage and as "1 in N" messages, the average rate per second, the
//! viruses intercepted with when each was first and last seen, and how the
//! shares moved from day to day and month to month. This module reads the
//! JSON lines of `filterscan scan --json` (and statistics files written by
//! `--save`, which merge), counts them in a [`filter::stats::Stats`], and
//! prints exactly that. `--html FILE` writes the same as one self-contained
//! page whose charts are SVG drawn with plotters; `--since` and `--until`
//! cut the logs to a period.
//!
//! A message is dated by its `received` time (the top Received header,
//! else its Date header), and when it has none, by when it was scanned.
//! Lines that are not scan results are counted and skipped, never fatal.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use filter::stats::{Day, Stats, civil_from_days as civil, days_from_civil, share};
use plotters::prelude::*;
use serde_json::Value;

const DAY: i64 = 86_400;

/// Arguments of `filterscan report`.
#[derive(Args)]
pub struct ReportArgs {
    /// Also write the report as a self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the merged statistics (to merge with others later).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// Count only messages from this time on: `YYYY-MM-DD`,
    /// `YYYY-MM-DD HH:MM[:SS]` (UTC) or Unix seconds.
    #[arg(long, value_name = "TIME", value_parser = parse_since)]
    pub since: Option<i64>,
    /// Count only messages up to this time; a bare date includes that
    /// whole day (UTC).
    #[arg(long, value_name = "TIME", value_parser = parse_until)]
    pub until: Option<i64>,
    /// Scan logs (JSON lines of `filterscan scan --json`), statistics files
    /// from `--save`, or `-` for standard input.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// What reading the logs found besides the figures.
#[derive(Default)]
struct Skipped {
    malformed: u64,
    undated: u64,
    outside: u64,
}

/// The period `--since` and `--until` allow, both ends included.
#[derive(Clone, Copy)]
struct Window {
    since: i64,
    until: i64,
}

impl Window {
    fn contains(self, t: i64) -> bool {
        (self.since..=self.until).contains(&t)
    }
}

/// Runs `filterscan report`.
pub fn report(args: ReportArgs) -> ExitCode {
    let window = Window {
        since: args.since.unwrap_or(i64::MIN),
        until: args.until.unwrap_or(i64::MAX),
    };
    let cut = args.since.is_some() || args.until.is_some();
    let mut stats = Stats::default();
    let mut read = Skipped::default();
    for p in &args.paths {
        let r: io::Result<()> = (|| {
            if p.as_os_str() == "-" {
                return add_lines(io::stdin().lock(), window, &mut stats, &mut read);
            }
            let mut r = BufReader::new(std::fs::File::open(p)?);
            if r.fill_buf()?.starts_with(b"LFSTATS1") {
                if cut {
                    return Err(io::Error::other(
                        "a statistics file cannot be cut to --since/--until",
                    ));
                }
                let mut text = String::new();
                r.read_to_string(&mut text)?;
                let s = Stats::from_text(&text).map_err(io::Error::other)?;
                stats.merge(&s);
                return Ok(());
            }
            // Logs are read a line at a time, however long they are.
            add_lines(r, window, &mut stats, &mut read)
        })();
        if let Err(e) = r {
            eprintln!("filterscan: {}: {e}", p.to_string_lossy());
            return ExitCode::from(2);
        }
    }
    let text = render_text(&stats, &read);
    if io::stdout().lock().write_all(text.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    if let Some(path) = &args.html
        && let Err(e) = std::fs::write(path, render_html(&stats, &read))
    {
        eprintln!("filterscan: {}: {e}", path.to_string_lossy());
        return ExitCode::from(2);
    }
    if let Some(path) = &args.save
        && let Err(e) = std::fs::write(path, stats.to_text())
    {
        eprintln!("filterscan: {}: {e}", path.to_string_lossy());
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn add_lines(
    r: impl BufRead,
    window: Window,
    stats: &mut Stats,
    read: &mut Skipped,
) -> io::Result<()> {
    for line in r.split(b'\n') {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&line) else {
            read.malformed += 1;
            continue;
        };
        if v.get("summary").is_some() {
            continue;
        }
        if v.get("path").and_then(Value::as_str).is_none() {
            read.malformed += 1;
            continue;
        }
        // Times from 1970 to the end of 9999 only: anything else is noise.
        let sane = |t: &i64| (0..=253_402_300_799).contains(t);
        let at = v
            .get("received")
            .and_then(Value::as_i64)
            .filter(sane)
            .or_else(|| v.get("scanned").and_then(Value::as_i64).filter(sane));
        let Some(at) = at else {
            read.undated += 1;
            continue;
        };
        if !window.contains(at) {
            read.outside += 1;
            continue;
        }
        let spam = v
            .pointer("/spam/is_spam")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let viruses: Vec<&str> = v
            .get("detections")
            .and_then(Value::as_array)
            .map(|d| {
                d.iter()
                    .filter(|d| d.get("kind").and_then(Value::as_str) != Some("limit"))
                    .filter_map(|d| d.get("name").and_then(Value::as_str))
                    .collect()
            })
            .unwrap_or_default();
        stats.record(at, spam, &viruses);
        if let Some(reason) = v.get("blocked").and_then(Value::as_str) {
            stats.block(at, reason);
        }
    }
    Ok(())
}

/// Reads `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]` (or with a `T`), or Unix
/// seconds; also tells whether only a date was given.
fn parse_time(s: &str) -> Result<(i64, bool), String> {
    let s = s.trim();
    let bad = || format!("not a date (YYYY-MM-DD[ HH:MM[:SS]]) or Unix seconds: {s:?}");
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().map(|t| (t, false)).map_err(|_| bad());
    }
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let num = |p: &str, lo: i64, hi: i64| -> Result<i64, String> {
        p.parse::<i64>()
            .ok()
            .filter(|n| (lo..=hi).contains(n) && p.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(bad)
    };
    let d: Vec<&str> = date.split('-').collect();
    let [y, m, dd] = d[..] else { return Err(bad()) };
    let (y, m, dd) = (num(y, 1970, 9999)?, num(m, 1, 12)?, num(dd, 1, 31)?);
    // Reject dates that roll over into the next month (2004-02-30).
    let day = days_from_civil(y, m, dd);
    if civil(day) != (y, m, dd) {
        return Err(bad());
    }
    let mut secs = 0;
    if let Some(t) = time {
        let t: Vec<&str> = t.split(':').collect();
        let (h, mi, se) = match t[..] {
            [h, mi] => (h, mi, "0"),
            [h, mi, se] => (h, mi, se),
            _ => return Err(bad()),
        };
        secs = num(h, 0, 23)? * 3600 + num(mi, 0, 59)? * 60 + num(se, 0, 60)?;
    }
    Ok((day * DAY + secs, time.is_none()))
}

fn parse_since(s: &str) -> Result<i64, String> {
    parse_time(s).map(|(t, _)| t)
}

fn parse_until(s: &str) -> Result<i64, String> {
    parse_time(s).map(|(t, date_only)| if date_only { t + DAY - 1 } else { t })
}

/// `YYYY-MM-DD HH:MM` (UTC) of a Unix time.
fn date(t: i64) -> String {
    let (y, m, d) = civil(t.div_euclid(DAY));
    let secs = t.rem_euclid(DAY);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

/// `YYYY-MM-DD` of a Unix time.
fn day(t: i64) -> String {
    date(t)[..10].to_string()
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A share as a plain percentage, for tables: `75.0%`, or `-` of nothing.
fn pct(part: u64, total: u64) -> String {
    if total == 0 {
        "-".into()
    } else {
        format!("{:.1}%", part as f64 * 100.0 / total as f64)
    }
}

/// A rate with three significant digits and no exponent: `258`, `1.50`,
/// `0.000133`; `0` for none.
fn rate(x: f64) -> String {
    if !x.is_finite() || x <= 0.0 {
        return "0".into();
    }
    let decimals = (2 - x.log10().floor() as i64).clamp(0, 20) as usize;
    format!("{x:.decimals$}")
}

/// Rates per second over the period the logs cover: messages, spam,
/// viruses.
fn rates(stats: &Stats) -> Option<(f64, f64, f64)> {
    let (a, b) = stats.span()?;
    let secs = (b - a).max(1) as f64;
    Some((
        stats.messages() as f64 / secs,
        stats.spam() as f64 / secs,
        stats.infected() as f64 / secs,
    ))
}

/// The days' figures summed by calendar month: (`YYYY-MM`, figures).
fn months(stats: &Stats) -> Vec<(String, Day)> {
    let mut out: Vec<(String, Day)> = Vec::new();
    for (t, d) in stats.days() {
        let key = date(t)[..7].to_string();
        if out.last().is_none_or(|(k, _)| *k != key) {
            out.push((key, Day::default()));
        }
        if let Some((_, m)) = out.last_mut() {
            m.messages += d.messages;
            m.spam += d.spam;
            m.infected += d.infected;
            m.blocked += d.blocked;
        }
    }
    out
}

const SPARKS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// One mark per value (0 to 1).
fn spark(values: &[f64]) -> String {
    values
        .iter()
        .map(|&v| SPARKS[((v.clamp(0.0, 1.0) * 7.0).round()) as usize])
        .collect()
}

/// A horizontal bar `width` cells long at 100%, in eighths of a cell.
fn bar(v: f64, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (v.clamp(0.0, 1.0) * (width * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(PARTS[eighths % 8]);
    }
    s
}

/// At most this many days get a line each in the terminal; longer periods
/// get the months as lines and the days as sparklines.
const DAY_LINES: usize = 62;

fn render_text(stats: &Stats, read: &Skipped) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "libfilter threat report");
    let _ = writeln!(s, "=======================");
    match stats.span() {
        Some((a, b)) => {
            let _ = writeln!(s, "Period:           {} to {} UTC", date(a), date(b));
        }
        None => {
            let _ = writeln!(s, "Period:           no dated messages");
        }
    }
    let _ = writeln!(s, "Messages scanned: {}", thousands(stats.messages()));
    let _ = writeln!(
        s,
        "Spam:             {}, {}",
        thousands(stats.spam()),
        share(stats.spam(), stats.messages())
    );
    let _ = writeln!(
        s,
        "Viruses:          {}, {}",
        thousands(stats.infected()),
        share(stats.infected(), stats.messages())
    );
    if let Some((m, sp, v)) = rates(stats) {
        let _ = writeln!(
            s,
            "Rates per second: {} messages, {} spam, {} viruses",
            rate(m),
            rate(sp),
            rate(v)
        );
        let _ = writeln!(
            s,
            "Rates per day:    {} messages, {} spam, {} viruses",
            rate(m * DAY as f64),
            rate(sp * DAY as f64),
            rate(v * DAY as f64)
        );
    }
    let blocked: Vec<(&str, u64)> = stats.blocked().collect();
    if !blocked.is_empty() {
        let _ = writeln!(s, "Policy blocks:");
        for (k, n) in blocked {
            let _ = writeln!(s, "  {k:<20} {:>12}", thousands(n));
        }
    }

    let viruses = stats.viruses();
    let _ = writeln!(s, "\nViruses intercepted");
    if viruses.is_empty() {
        let _ = writeln!(s, "  none");
    } else {
        let _ = writeln!(
            s,
            "  {:<36} {:>12}  {:<17}  {:<16}",
            "Name", "Intercepted", "First intercepted", "Last seen"
        );
        for (name, v) in &viruses {
            let _ = writeln!(
                s,
                "  {:<36} {:>12}  {:<17}  {:<16}",
                name,
                thousands(v.count),
                date(v.first),
                date(v.last)
            );
        }
        if stats.other_viruses() > 0 {
            let _ = writeln!(
                s,
                "  {:<36} {:>12}",
                "(other names)",
                thousands(stats.other_viruses())
            );
        }
    }

    let days: Vec<(i64, Day)> = stats.days().collect();
    let months = months(stats);
    if months.len() > 1 {
        let _ = writeln!(s, "\nMonth by month");
        let _ = writeln!(
            s,
            "  {:<7}  {:>10}  {:>7}  {:>7}  Spam share",
            "Month", "Messages", "Spam", "Viruses"
        );
        for (k, m) in &months {
            let _ = writeln!(
                s,
                "  {k:<7}  {:>10}  {:>7}  {:>7}  {}",
                thousands(m.messages),
                pct(m.spam, m.messages),
                pct(m.infected, m.messages),
                bar(m.spam as f64 / m.messages.max(1) as f64, 20)
            );
        }
    }
    if !days.is_empty() && days.len() <= DAY_LINES {
        let _ = writeln!(s, "\nDay by day");
        let _ = writeln!(
            s,
            "  {:<10}  {:>10}  {:>8}  {:>8}  Spam share",
            "Day", "Messages", "Spam", "Viruses"
        );
        for (t, d) in &days {
            let _ = writeln!(
                s,
                "  {}  {:>10}  {:>8}  {:>8}  {}",
                day(*t),
                thousands(d.messages),
                thousands(d.spam),
                thousands(d.infected),
                bar(d.spam as f64 / d.messages.max(1) as f64, 20)
            );
        }
    }
    if !days.is_empty() {
        let share_of = |f: fn(&Day) -> u64| -> Vec<f64> {
            days.iter()
                .map(|(_, d)| f(d) as f64 / d.messages.max(1) as f64)
                .collect()
        };
        let (spam, virus) = (share_of(|d| d.spam), share_of(|d| d.infected));
        let (spam_top, virus_top) = (scale_top(&spam), scale_top(&virus));
        let _ = writeln!(
            s,
            "\nSpam and virus share per day ({} days with mail; one mark a day, \
▁ 0% to █ {spam_top}% for spam, {virus_top}% for viruses)",
            days.len()
        );
        for (i, chunk) in days.chunks(60).enumerate() {
            let part = |v: &[f64], top: f64| -> Vec<f64> {
                v[i * 60..i * 60 + chunk.len()]
                    .iter()
                    .map(|x| x * 100.0 / top)
                    .collect()
            };
            let _ = writeln!(s, "  from {}", day(chunk[0].0));
            let _ = writeln!(s, "    spam    {}", spark(&part(&spam, spam_top)));
            let _ = writeln!(s, "    viruses {}", spark(&part(&virus, virus_top)));
        }
    }
    if read.malformed > 0 || read.undated > 0 || read.outside > 0 {
        let _ = writeln!(
            s,
            "\nSkipped: {} malformed lines, {} messages without a date, {} outside the period",
            read.malformed, read.undated, read.outside
        );
    }
    s.lines().fold(String::new(), |mut out, l| {
        out.push_str(l.trim_end());
        out.push('\n');
        out
    })
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The spam chart's colour (also what the screenshot test looks for).
const SPAM_COLOUR: RGBColor = RGBColor(192, 57, 43);
/// The virus chart's colour.
const VIRUS_COLOUR: RGBColor = RGBColor(41, 98, 160);

/// A bar chart of one share per day (`(day's first second, 0..=1)`), as an
/// SVG document drawn by plotters. Days without mail have no bar.
fn svg_chart(title: &str, points: &[(i64, f64)], colour: RGBColor) -> String {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (960, 300)).into_drawing_area();
        // Drawing into a string cannot fail; a failure would only leave
        // the chart incomplete.
        let _ = draw_chart(&root, title, points, colour);
        let _ = root.present();
    }
    buf
}

/// The top of a chart's scale, in percent: the first round figure at or
/// above the highest share (0 to 1), so that a virus share of 2% does not
/// vanish under a 100% axis.
fn scale_top(shares: &[f64]) -> f64 {
    let top = shares.iter().map(|v| v * 100.0).fold(0.0, f64::max);
    [1.0, 2.0, 5.0, 10.0, 20.0, 25.0, 50.0, 100.0]
        .into_iter()
        .find(|&m| top <= m)
        .unwrap_or(100.0)
}

fn draw_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    points: &[(i64, f64)],
    colour: RGBColor,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let (lo, hi) = match (points.first(), points.last()) {
        (Some(a), Some(b)) => (a.0.div_euclid(DAY), b.0.div_euclid(DAY) + 1),
        _ => (0, 1),
    };
    let shares: Vec<f64> = points.iter().map(|p| p.1).collect();
    let ymax = scale_top(&shares);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(56)
        .build_cartesian_2d(lo as f64..hi as f64, 0f64..ymax)?;
    let label_day = |x: &f64| day(x.floor() as i64 * DAY);
    let label_pct = |y: &f64| {
        if ymax < 10.0 {
            format!("{y:.1}%")
        } else {
            format!("{y:.0}%")
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(7)
        .y_labels(6)
        .x_label_formatter(&label_day)
        .y_label_formatter(&label_pct)
        .y_desc("share of the day's messages")
        .light_line_style(WHITE)
        .draw()?;
    chart.draw_series(points.iter().map(|&(t, v)| {
        let x = t.div_euclid(DAY) as f64;
        // A sliver of a gap between neighbouring days, when there is room.
        let gap = if hi - lo > 200 { 0.0 } else { 0.12 };
        Rectangle::new(
            [(x + gap, 0.0), (x + 1.0 - gap, v.clamp(0.0, 1.0) * 100.0)],
            colour.filled(),
        )
    }))?;
    Ok(())
}

fn render_html(stats: &Stats, read: &Skipped) -> String {
    let days: Vec<(i64, Day)> = stats.days().collect();
    let per_day = |f: fn(&Day) -> u64| -> Vec<(i64, f64)> {
        days.iter()
            .map(|(t, d)| (*t, f(d) as f64 / d.messages.max(1) as f64))
            .collect()
    };
    let mut h = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>libfilter threat report</title>\n<style>\
body{font-family:sans-serif;margin:2em auto;max-width:1000px;color:#222}\
table{border-collapse:collapse;margin:0.5em 0 1.5em}\
td,th{padding:4px 12px;border-bottom:1px solid #ddd;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}\
.big{font-size:1.4em;font-weight:bold}.spam{color:#c0392b}.virus{color:#2962a0}\
.meta{color:#666}svg{display:block;margin:0.5em 0}\
</style></head><body>\n<h1>libfilter threat report</h1>\n",
    );
    match stats.span() {
        Some((a, b)) => {
            let _ = writeln!(
                h,
                "<p class=\"meta\">Mail received from {} to {} UTC.</p>",
                date(a),
                date(b)
            );
        }
        None => {
            let _ = writeln!(h, "<p class=\"meta\">No dated messages.</p>");
        }
    }
    let _ = writeln!(
        h,
        "<table>\
<tr><th>Messages scanned</th><td class=\"n big\">{}</td><td></td></tr>\
<tr><th>Spam</th><td class=\"n big spam\">{}</td><td>{}</td></tr>\
<tr><th>Viruses</th><td class=\"n big virus\">{}</td><td>{}</td></tr></table>",
        thousands(stats.messages()),
        thousands(stats.spam()),
        esc(&share(stats.spam(), stats.messages())),
        thousands(stats.infected()),
        esc(&share(stats.infected(), stats.messages()))
    );
    if let Some((m, sp, v)) = rates(stats) {
        let _ = writeln!(
            h,
            "<p>On average over the period: {} messages, {} spam and {} viruses \
a second ({}, {} and {} a day).</p>",
            rate(m),
            rate(sp),
            rate(v),
            rate(m * DAY as f64),
            rate(sp * DAY as f64),
            rate(v * DAY as f64)
        );
    }
    let _ = writeln!(h, "<h2>Spam and viruses per day</h2>");
    h.push_str(&svg_chart(
        "Spam: share of each day's messages",
        &per_day(|d| d.spam),
        SPAM_COLOUR,
    ));
    h.push_str(&svg_chart(
        "Viruses: share of each day's messages",
        &per_day(|d| d.infected),
        VIRUS_COLOUR,
    ));
    let _ = writeln!(h, "<h2>Viruses intercepted</h2>");
    let viruses = stats.viruses();
    if viruses.is_empty() {
        let _ = writeln!(h, "<p>None.</p>");
    } else {
        let _ = writeln!(
            h,
            "<table><tr><th>Name</th><th>Intercepted</th><th>First intercepted</th>\
<th>Last seen</th></tr>"
        );
        for (name, v) in &viruses {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(name),
                thousands(v.count),
                date(v.first),
                date(v.last)
            );
        }
        if stats.other_viruses() > 0 {
            let _ = writeln!(
                h,
                "<tr><td>(other names)</td><td class=\"n\">{}</td><td></td><td></td></tr>",
                thousands(stats.other_viruses())
            );
        }
        let _ = writeln!(h, "</table>");
    }
    let months = months(stats);
    if !months.is_empty() {
        let _ = writeln!(
            h,
            "<h2>Month by month</h2><table><tr><th>Month</th><th>Messages</th>\
<th>Spam</th><th>Viruses</th></tr>"
        );
        for (k, m) in &months {
            let _ = writeln!(
                h,
                "<tr><td>{k}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
<td class=\"n\">{}</td></tr>",
                thousands(m.messages),
                pct(m.spam, m.messages),
                pct(m.infected, m.messages)
            );
        }
        let _ = writeln!(h, "</table>");
    }
    let blocked: Vec<(&str, u64)> = stats.blocked().collect();
    if !blocked.is_empty() {
        let _ = writeln!(h, "<h2>Policy blocks</h2><table>");
        for (k, n) in blocked {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td></tr>",
                esc(k),
                thousands(n)
            );
        }
        let _ = writeln!(h, "</table>");
    }
    if read.malformed > 0 || read.undated > 0 || read.outside > 0 {
        let _ = writeln!(
            h,
            "<p class=\"meta\">Skipped: {} malformed lines, {} messages without a date, \
{} outside the period.</p>",
            read.malformed, read.undated, read.outside
        );
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01 00:00");
        assert_eq!(date(1_100_000_000), "2004-11-09 11:33");
        assert_eq!(date(951_782_400), "2000-02-29 00:00");
        for d in [-1, 0, 59, 10_957, 12_477, 2_932_896] {
            assert_eq!(days_from_civil(civil(d).0, civil(d).1, civil(d).2), d);
        }
        assert_eq!(thousands(84_000_000), "84,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(spark(&[0.0, 1.0, 0.5]), "▁█▅");
        assert_eq!(bar(0.5, 4), "██");
        assert_eq!(bar(1.0 / 16.0, 4), "▎");
        assert_eq!(bar(0.0, 4), "");
        assert_eq!(rate(258.3), "258");
        assert_eq!(rate(1.5), "1.50");
        assert_eq!(rate(0.000_133_4), "0.000133");
        assert_eq!(rate(0.0), "0");
        assert_eq!(scale_top(&[0.0, 0.017]), 2.0);
        assert_eq!(scale_top(&[0.3, 0.75]), 100.0);
        assert_eq!(scale_top(&[]), 1.0);
    }

    #[test]
    fn times() {
        assert_eq!(parse_since("2004-11-09"), Ok(1_099_958_400));
        assert_eq!(parse_until("2004-11-09"), Ok(1_099_958_400 + DAY - 1));
        assert_eq!(parse_until("2004-11-09 11:33:20"), Ok(1_100_000_000));
        assert_eq!(parse_since("2004-11-09T11:33"), Ok(1_099_999_980));
        assert_eq!(parse_since("1100000000"), Ok(1_100_000_000));
        for bad in [
            "",
            "2004-02-30",
            "2004-13-01",
            "04-1-1x",
            "2004-01-01 25:00",
            "yesterday",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn month_sums() {
        let mut s = Stats::default();
        s.record(1_075_593_600 - 1, true, &[]); // 2004-01-31 23:59:59
        s.record(1_075_593_600, false, &["V"]); // 2004-02-01
        s.record(1_075_593_600 + DAY, true, &[]);
        let m = months(&s);
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].0.as_str(), m[0].1.messages, m[0].1.spam),
            ("2004-01", 1, 1)
        );
        assert_eq!(
            (m[1].0.as_str(), m[1].1.messages, m[1].1.infected),
            ("2004-02", 2, 1)
        );
    }
}
