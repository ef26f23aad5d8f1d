//! `filterscan report`: the monthly threat report from scan logs.
//!
//! Reads the JSON lines of `filterscan scan --json` (and statistics files
//! written by `--save`, which merge), counts them in a
//! [`filter::stats::Stats`], and prints the totals, the spam and virus
//! shares, the rates, the virus table and a chart per day. `--html FILE`
//! writes the same as one self-contained page with SVG charts.

use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use filter::stats::{Stats, share};
use serde_json::Value;

/// Arguments of `filterscan report`.
#[derive(Args)]
pub struct ReportArgs {
    /// Also write the report as a self-contained HTML page.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write the merged statistics (to merge with others later).
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
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
}

/// Runs `filterscan report`.
pub fn report(args: ReportArgs) -> ExitCode {
    let mut stats = Stats::default();
    let mut read = Skipped::default();
    for p in &args.paths {
        let r: io::Result<()> = (|| {
            let mut input: Box<dyn Read> = if p.as_os_str() == "-" {
                Box::new(io::stdin().lock())
            } else {
                Box::new(std::fs::File::open(p)?)
            };
            let mut text = String::new();
            if p.as_os_str() != "-" {
                input.read_to_string(&mut text)?;
                if text.starts_with("LFSTATS1") {
                    let s = Stats::from_text(&text).map_err(io::Error::other)?;
                    stats.merge(&s);
                    return Ok(());
                }
                add_lines(BufReader::new(text.as_bytes()), &mut stats, &mut read)
            } else {
                add_lines(BufReader::new(input), &mut stats, &mut read)
            }
        })();
        if let Err(e) = r {
            eprintln!("filterscan: {}: {e}", p.to_string_lossy());
            return ExitCode::from(2);
        }
    }
    let text = render_text(&stats, &read);
    let out = io::stdout();
    let mut out = out.lock();
    if out.write_all(text.as_bytes()).is_err() {
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

fn add_lines(r: impl BufRead, stats: &mut Stats, read: &mut Skipped) -> io::Result<()> {
    for line in r.lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(&line) else {
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

/// `YYYY-MM-DD HH:MM` (UTC) of a Unix time.
fn date(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

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

/// Rates per second over the period the logs cover.
fn rates(stats: &Stats) -> Option<(f64, f64, f64)> {
    let (a, b) = stats.span()?;
    let secs = (b - a).max(1) as f64;
    Some((
        stats.messages() as f64 / secs,
        stats.spam() as f64 / secs,
        stats.infected() as f64 / secs,
    ))
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

fn spark(values: &[f64]) -> String {
    values
        .iter()
        .map(|&v| BARS[((v.clamp(0.0, 1.0) * 7.0).round()) as usize])
        .collect()
}

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
            "Rates per second: {m:.6} messages, {sp:.6} spam, {v:.6} viruses"
        );
    }
    let blocked: Vec<(&str, u64)> = stats.blocked().collect();
    if !blocked.is_empty() {
        let _ = writeln!(s, "Policy blocks:");
        for (k, n) in blocked {
            let _ = writeln!(s, "  {k:<20} {}", thousands(n));
        }
    }
    let viruses = stats.viruses();
    let _ = writeln!(s, "\nViruses intercepted");
    if viruses.is_empty() {
        let _ = writeln!(s, "  none");
    } else {
        let _ = writeln!(
            s,
            "  {:<36} {:>12}  {:<16}  {:<16}",
            "Name", "Intercepted", "First intercepted", "Last seen"
        );
        for (name, v) in &viruses {
            let _ = writeln!(
                s,
                "  {:<36} {:>12}  {:<16}  {:<16}",
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
    let days: Vec<(i64, filter::stats::Day)> = stats.days().collect();
    if !days.is_empty() {
        let _ = writeln!(
            s,
            "\nSpam and virus share per day ({} days with mail; each mark is one day, ▁ 0% to █ 100%)",
            days.len()
        );
        for chunk in days.chunks(60) {
            let spam: Vec<f64> = chunk
                .iter()
                .map(|(_, d)| d.spam as f64 / d.messages.max(1) as f64)
                .collect();
            let virus: Vec<f64> = chunk
                .iter()
                .map(|(_, d)| d.infected as f64 / d.messages.max(1) as f64)
                .collect();
            let _ = writeln!(s, "  from {}", day(chunk[0].0));
            let _ = writeln!(s, "    spam    {}", spark(&spam));
            let _ = writeln!(s, "    viruses {}", spark(&virus));
        }
    }
    if read.malformed > 0 || read.undated > 0 {
        let _ = writeln!(
            s,
            "\nSkipped: {} malformed lines, {} messages without a date",
            read.malformed, read.undated
        );
    }
    s
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar chart of one share per day, as inline SVG.
fn svg_chart(title: &str, days: &[(i64, f64)], colour: &str) -> String {
    let (w, h, pad) = (900.0, 240.0, 40.0);
    let mut s = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{t}">"#,
        t = esc(title)
    );
    let _ = write!(
        s,
        r##"<rect width="{w}" height="{h}" fill="#fff"/><text x="{pad}" y="20" font-family="sans-serif" font-size="14">{}</text>"##,
        esc(title)
    );
    let (x0, y0, pw, ph) = (pad, 30.0, w - 2.0 * pad, h - 30.0 - pad);
    for pct in [0, 25, 50, 75, 100] {
        let y = y0 + ph * (1.0 - f64::from(pct) / 100.0);
        let _ = write!(
            s,
            r##"<line x1="{x0}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="4" y="{:.1}" font-family="sans-serif" font-size="10">{pct}%</text>"##,
            x0 + pw,
            y + 3.0
        );
    }
    let n = days.len().max(1) as f64;
    let bw = pw / n;
    for (i, &(_, v)) in days.iter().enumerate() {
        let bh = ph * v.clamp(0.0, 1.0);
        let _ = write!(
            s,
            r#"<rect x="{:.2}" y="{:.2}" width="{:.2}" height="{bh:.2}" fill="{colour}"/>"#,
            x0 + bw * i as f64,
            y0 + ph - bh,
            (bw - 0.5).max(0.5)
        );
    }
    if let (Some(first), Some(last)) = (days.first(), days.last()) {
        let _ = write!(
            s,
            r#"<text x="{x0}" y="{:.1}" font-family="sans-serif" font-size="10">{}</text><text x="{:.1}" y="{:.1}" font-family="sans-serif" font-size="10" text-anchor="end">{}</text>"#,
            h - 22.0,
            day(first.0),
            x0 + pw,
            h - 22.0,
            day(last.0)
        );
    }
    s.push_str("</svg>");
    s
}

fn render_html(stats: &Stats, read: &Skipped) -> String {
    let days: Vec<(i64, filter::stats::Day)> = stats.days().collect();
    let spam: Vec<(i64, f64)> = days
        .iter()
        .map(|(t, d)| (*t, d.spam as f64 / d.messages.max(1) as f64))
        .collect();
    let virus: Vec<(i64, f64)> = days
        .iter()
        .map(|(t, d)| (*t, d.infected as f64 / d.messages.max(1) as f64))
        .collect();
    let mut h = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>libfilter threat report</title>\
<style>body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}\
td,th{padding:4px 10px;border-bottom:1px solid #ddd;text-align:left}td.n{text-align:right}\
.big{font-size:1.4em}</style></head><body>\n<h1>libfilter threat report</h1>\n",
    );
    if let Some((a, b)) = stats.span() {
        let _ = writeln!(h, "<p>{} to {} UTC</p>", date(a), date(b));
    }
    let _ = writeln!(
        h,
        "<table><tr><th>Messages scanned</th><td class=\"n big\">{}</td></tr>\
<tr><th>Spam</th><td class=\"n big\">{}</td><td>{}</td></tr>\
<tr><th>Viruses</th><td class=\"n big\">{}</td><td>{}</td></tr></table>",
        thousands(stats.messages()),
        thousands(stats.spam()),
        esc(&share(stats.spam(), stats.messages())),
        thousands(stats.infected()),
        esc(&share(stats.infected(), stats.messages()))
    );
    if let Some((m, sp, v)) = rates(stats) {
        let _ = writeln!(
            h,
            "<p>Per second over the period: {m:.6} messages, {sp:.6} spam, {v:.6} viruses.</p>"
        );
    }
    let _ = writeln!(h, "<h2>Spam and viruses per day</h2>");
    h.push_str(&svg_chart("Spam share per day", &spam, "#c0392b"));
    h.push('\n');
    h.push_str(&svg_chart("Virus share per day", &virus, "#2c3e50"));
    h.push('\n');
    let _ = writeln!(h, "<h2>Viruses intercepted</h2>");
    let viruses = stats.viruses();
    if viruses.is_empty() {
        let _ = writeln!(h, "<p>None.</p>");
    } else {
        let _ = writeln!(
            h,
            "<table><tr><th>Name</th><th>Intercepted</th><th>First intercepted</th><th>Last seen</th></tr>"
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
    if read.malformed > 0 || read.undated > 0 {
        let _ = writeln!(
            h,
            "<p>Skipped: {} malformed lines, {} messages without a date.</p>",
            read.malformed, read.undated
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
        assert_eq!(thousands(84_000_000), "84,000,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(spark(&[0.0, 1.0, 0.5]), "▁█▅");
    }
}
