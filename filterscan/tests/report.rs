//! `filterscan report`: figures from known logs, odd input, the HTML page,
//! and a scan of corpus messages piped into it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_filterscan");

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("filterscan-report-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut c = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut i = c.stdin.take().unwrap();
    if let Some(b) = stdin {
        i.write_all(b).unwrap();
    }
    drop(i);
    c.wait_with_output().unwrap()
}

/// One scan log line as `filterscan scan --json` writes it.
fn line(path: &str, at: i64, spam: bool, virus: Option<&str>) -> String {
    let dets = match virus {
        Some(v) => format!(r#"[{{"name":"{v}","kind":"signature","location":""}}]"#),
        None => "[]".into(),
    };
    format!(
        r#"{{"path":"{path}","received":{at},"scanned":1,"verdict":"OK","name":null,"detections":{dets},"spam":{{"is_spam":{spam},"score":1.0}}}}"#
    )
}

const DAY: i64 = 86_400;
const T0: i64 = 1_072_915_200; // 2004-01-01 00:00 UTC

fn log() -> String {
    let l = [
        // Day 1: 4 messages, 3 spam, one with Sobig.
        line("a", T0 + 10, true, None),
        line("b", T0 + 20, true, None),
        line("c", T0 + 30, true, None),
        line("d", T0 + 40, false, Some("Worm.Sobig.F")),
        // Day 2: 4 messages, 1 spam, two with Mydoom, one with Sobig.
        line("e", T0 + DAY + 10, true, None),
        line("f", T0 + DAY + 20, false, Some("Worm.Mydoom.A")),
        line("g", T0 + DAY + 30, false, Some("Worm.Mydoom.A")),
        line("h", T0 + DAY + 3600, false, Some("Worm.Sobig.F")),
        // The summary line scan --json ends with is not a message.
        r#"{"summary":{"scanned_files":8}}"#.to_string(),
    ];
    l.join("\n") + "\n"
}

#[test]
fn figures_from_a_known_log() {
    let out = run(&["report", "-"], Some(log().as_bytes()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("Messages scanned: 8\n"), "{s}");
    assert!(s.contains("Spam:             4, 50.00% (1 in 2.00)"), "{s}");
    assert!(s.contains("Viruses:          4, 50.00% (1 in 2.00)"), "{s}");
    assert!(
        s.contains("Period:           2004-01-01 00:00 to 2004-01-02 01:00 UTC"),
        "{s}"
    );
    // Most intercepted first; a tie is broken by name.
    let mydoom = s.find("Worm.Mydoom.A").unwrap();
    let sobig = s.find("Worm.Sobig.F").unwrap();
    assert!(mydoom < sobig, "{s}");
    let sobig_line = s[sobig..].lines().next().unwrap();
    assert!(
        sobig_line.contains("2004-01-01 00:00"),
        "first intercepted: {sobig_line}"
    );
    assert!(
        sobig_line.contains("2004-01-02 01:00"),
        "last seen: {sobig_line}"
    );
    // Two days: spam 75% then 25%, viruses 25% then 75%.
    assert!(s.contains("(2 days with mail;"), "{s}");
    assert!(s.contains("    spam    ▆▃\n"), "{s}");
    assert!(s.contains("    viruses ▃▆\n"), "{s}");
    // One line a day: messages, spam, viruses, then the spam share as a
    // bar of 20 cells (75% is 15 full cells).
    let day_line = |d: &str| -> Vec<String> {
        let l = s
            .lines()
            .find(|l| l.starts_with(&format!("  {d}")))
            .unwrap_or_else(|| panic!("no line for {d}: {s}"));
        l.split_whitespace().map(String::from).collect()
    };
    assert_eq!(day_line("2004-01-01")[1..4], ["4", "3", "1"], "{s}");
    assert_eq!(day_line("2004-01-01")[4], "█".repeat(15), "{s}");
    assert_eq!(day_line("2004-01-02")[1..4], ["4", "1", "3"], "{s}");
    // Rates over the 25 hours covered, 3 significant digits:
    // 8 / 89,990 s = 0.0000889 a second, 7.68 a day.
    let secs = (DAY + 3600 - 10) as f64;
    assert!((8.0 / secs - 0.0000889).abs() < 1e-7);
    assert!(
        s.contains("Rates per second: 0.0000889 messages, 0.0000444 spam, 0.0000444 viruses"),
        "{s}"
    );
    assert!(
        s.contains("Rates per day:    7.68 messages, 3.84 spam, 3.84 viruses"),
        "{s}"
    );
    // Both days are in one month: no month table.
    assert!(!s.contains("Month by month"), "{s}");
}

#[test]
fn since_and_until_cut_the_period() {
    let report = |args: &[&str]| {
        let mut a = vec!["report"];
        a.extend_from_slice(args);
        a.push("-");
        let out = run(&a, Some(log().as_bytes()));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // A bare --until date includes that whole day.
    let s = report(&["--until", "2004-01-01"]);
    assert!(s.contains("Messages scanned: 4\n"), "{s}");
    assert!(s.contains("Spam:             3, 75.00% (1 in 1.33)"), "{s}");
    assert!(s.contains("4 outside the period"), "{s}");
    let s = report(&["--since", "2004-01-02"]);
    assert!(s.contains("Messages scanned: 4\n"), "{s}");
    assert!(s.contains("Viruses:          3, 75.00% (1 in 1.33)"), "{s}");
    // Times and Unix seconds; both ends included.
    let s = report(&[
        "--since",
        "2004-01-01 00:00:20",
        "--until",
        &(T0 + DAY + 10).to_string(),
    ]);
    assert!(s.contains("Messages scanned: 4\n"), "{s}");
    let s = report(&["--since", "2005-01-01"]);
    assert!(s.contains("Messages scanned: 0\n"), "{s}");
    assert!(s.contains("Period:           no dated messages"), "{s}");
    // A date that is not one is refused.
    let out = run(&["report", "--since", "2004-02-30", "-"], Some(b""));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn empty_and_malformed_input() {
    let out = run(&["report", "-"], Some(b""));
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("Messages scanned: 0\n"), "{s}");
    assert!(s.contains("Spam:             0, 0.00% (none)"), "{s}");

    assert!(s.contains("Viruses intercepted\n  none\n"), "{s}");
    assert!(s.contains("Period:           no dated messages"), "{s}");
    assert!(!s.contains("Skipped"), "{s}");

    // Not JSON, not a scan result, cut short, not UTF-8, and a message
    // whose only times are out of range: counted and skipped.
    let mut bad = format!(
        "not json\n{{\"no\":\"path\"}}\n{}\n{{\"path\":\"x\"}}\n{}\n",
        line("a", T0, true, None),
        &line("b", T0, true, None)[..40]
    )
    .into_bytes();
    bad.extend_from_slice(b"\xff\xfe{\"path\":1}\n");
    bad.extend_from_slice(br#"{"path":"y","received":-5,"scanned":99999999999999}"#);
    bad.push(b'\n');
    let out = run(&["report", "-"], Some(&bad));
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("Messages scanned: 1\n"), "{s}");
    assert!(
        s.contains("Skipped: 4 malformed lines, 2 messages without a date, 0 outside the period"),
        "{s}"
    );

    // The same from a file.
    let d = tmp("bad");
    std::fs::write(d.join("bad.jsonl"), &bad).unwrap();
    let out = run(&["report", d.join("bad.jsonl").to_str().unwrap()], None);
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), s);
    let _ = std::fs::remove_dir_all(&d);

    let out = run(&["report", "/nonexistent/log"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn html_is_self_contained_and_saved_stats_merge() {
    let d = tmp("html");
    let log_path = d.join("scan.jsonl");
    std::fs::write(&log_path, log()).unwrap();
    let html = d.join("r.html");
    let saved = d.join("r.lfstats");
    let out = run(
        &[
            "report",
            "--html",
            html.to_str().unwrap(),
            "--save",
            saved.to_str().unwrap(),
            log_path.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let h = std::fs::read_to_string(&html).unwrap();
    assert!(h.starts_with("<!DOCTYPE html>"));
    assert_eq!(
        h.matches("<svg").count(),
        2,
        "one chart for spam, one for viruses"
    );
    for bad in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "@import",
        "<script",
    ] {
        assert!(!h.contains(bad), "external resource: {bad}");
    }
    assert!(h.contains("Worm.Mydoom.A"));
    assert!(h.contains("50.00% (1 in 2.00)"));
    // Each chart is an SVG with one bar a day in its colour.
    let charts: Vec<&str> = h.split("<svg").skip(1).collect();
    assert_eq!(
        charts[0].matches("fill=\"#C0392B\"").count(),
        2,
        "spam bars"
    );
    assert_eq!(
        charts[1].matches("fill=\"#2962A0\"").count(),
        2,
        "virus bars"
    );
    assert!(charts[0].contains("2004-01-01"), "a dated axis");
    for c in &charts {
        assert!(c.contains("</svg>"));
    }
    // Two saved halves merge to the whole.
    let twice = run(
        &[
            "report",
            saved.to_str().unwrap(),
            log_path.to_str().unwrap(),
        ],
        None,
    );
    let s = String::from_utf8(twice.stdout).unwrap();
    assert!(s.contains("Messages scanned: 16\n"), "{s}");
    // Saved statistics hold days, not messages: they cannot be cut.
    let cut = run(
        &["report", "--since", "2004-01-02", saved.to_str().unwrap()],
        None,
    );
    assert_eq!(cut.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn scan_json_into_report() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let corpus = root.join("../shared/corpus/spamassassin");
    let Ok(labels) = std::fs::read_to_string(corpus.join("labels.tsv")) else {
        eprintln!("note: ../shared/corpus/spamassassin missing; skipping");
        return;
    };
    let paths: Vec<String> = labels
        .lines()
        .filter_map(|l| l.split('\t').nth(1))
        .take(200)
        .map(|p| corpus.join(p).to_string_lossy().into_owned())
        .collect();
    assert_eq!(paths.len(), 200);
    let mut args = vec!["scan", "--json"];
    args.extend(paths.iter().map(String::as_str));
    let scan = run(&args, None);
    let log = scan.stdout;
    // Each line carries what the report reads: the verdict (spam or not,
    // score, virus names) and the times.
    let first: serde_json::Value =
        serde_json::from_slice(log.split(|&b| b == b'\n').next().unwrap()).unwrap();
    assert!(first["spam"]["is_spam"].is_boolean(), "{first}");
    assert!(first["spam"]["score"].is_number(), "{first}");
    assert!(first["detections"].is_array(), "{first}");
    assert!(first["received"].is_i64(), "{first}");
    assert!(
        first["scanned"].as_i64().unwrap() > 1_600_000_000,
        "{first}"
    );
    let dated = String::from_utf8_lossy(&log)
        .matches("\"received\":1")
        .count();
    assert!(dated > 150, "most corpus messages carry a date: {dated}");
    let out = run(&["report", "-"], Some(&log));
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("Messages scanned: 200\n"), "{s}");
}
