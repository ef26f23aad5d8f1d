//! `filterscan scan`: signature scanning with clamscan's output, and the
//! spam verdict of the rules.
//!
//! One line per file or mbox message (`path: Name FOUND` / `path: OK`), or
//! one JSON object per line with `--json`, then clamscan's summary block.
//! A message the rules call spam (and that carries no virus) prints as
//! `path: Spam FOUND (score=… required=… tests=…)`. The exit status is 1
//! when anything was found, virus or spam.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use filter::sig::db::LoadError;
use filter::sig::policy::Policy;
use filter::{DetectionKind, EngineBuilder, Report};
use serde_json::json;

use crate::input;

#[derive(Args)]
pub struct ScanArgs {
    /// A database file or directory (repeatable). Without any, the
    /// embedded default database is used.
    #[arg(long = "db", value_name = "PATH")]
    pub db: Vec<PathBuf>,
    /// Also load the embedded defaults (and policy) when `--db` is given.
    #[arg(long)]
    pub defaults: bool,
    /// One JSON object per scanned file or message.
    #[arg(long)]
    pub json: bool,
    /// Turn the attachment-policy heuristics off.
    #[arg(long)]
    pub no_policy: bool,
    /// A database line that fails to load is fatal.
    #[arg(long)]
    pub strict: bool,
    /// SpamAssassin rules: a .cf file or a directory (repeatable). Without
    /// any, the embedded default rules are used when the defaults are on.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Network tests: the rules' DNS blocklist lookups (check_rbl,
    /// urirhssub, askdns ... A) are made with the system resolver, and
    /// scores come from the network score set. The library itself never
    /// resolves: it lists the names, this command looks them up and hands
    /// the answers back. The system resolver gives addresses only, so
    /// names asked for TXT records (check_rbl_txt, askdns ... TXT) are
    /// skipped and count as not listed.
    #[arg(long)]
    pub dns: bool,
    /// Also scan the paths listed in FILE, one per line, `-` for standard
    /// input, after those given as arguments. Each is scanned as the line
    /// arrives, so one process can serve another for as long as it keeps
    /// the pipe open. An empty line asks for everything before it: the
    /// messages waiting in a batch are scanned, their lines written, then
    /// one empty line, and the output is flushed.
    #[arg(long, value_name = "FILE")]
    pub files_from: Option<PathBuf>,
    /// Files, mbox files, Maildir folders, directories or `-`.
    #[arg(required_unless_present = "files_from", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

/// What `scan` is asked for, in order: a path to scan, or (an empty line
/// of `--files-from`) to finish and flush what was asked before.
enum Ask {
    Path(PathBuf),
    Sync,
}

/// The lines of `--files-from FILE` as they are read. A read error ends
/// the list and is reported.
fn listed(file: &std::path::Path) -> io::Result<impl Iterator<Item = Ask>> {
    use std::io::BufRead;
    let reader: Box<dyn BufRead> = if file.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(io::BufReader::new(std::fs::File::open(file)?))
    };
    let name = file.to_string_lossy().into_owned();
    Ok(reader.split(b'\n').map_while(move |line| match line {
        Ok(mut l) => {
            if l.last() == Some(&b'\r') {
                l.pop();
            }
            Some(if l.is_empty() {
                Ask::Sync
            } else {
                Ask::Path(PathBuf::from(String::from_utf8_lossy(&l).into_owned()))
            })
        }
        Err(e) => {
            eprintln!("filterscan: {name}: {e}");
            None
        }
    }))
}

/// Looks up the DNS names a report's verdict asks for (A records, with the
/// system resolver, in parallel; answers cached for the run) and finishes
/// the verdict with them. TXT queries are skipped: the system resolver
/// cannot ask for TXT records.
fn resolve_dns(
    scanner: &mut filter::Scanner,
    report: &mut Report,
    cache: &mut std::collections::HashMap<String, Vec<std::net::Ipv4Addr>>,
) {
    use std::net::{IpAddr, ToSocketAddrs};
    let Some(v) = &report.spam else { return };
    let is_a = |q: &&filter::spam::dns::Query| q.qtype == filter::spam::dns::QType::A;
    let todo: Vec<String> = v
        .queries()
        .iter()
        .filter(is_a)
        .map(|q| q.name.clone())
        .filter(|n| !cache.contains_key(n))
        .collect();
    let found: Vec<(String, Vec<std::net::Ipv4Addr>)> = std::thread::scope(|s| {
        let jobs: Vec<_> = todo
            .iter()
            .map(|name| {
                s.spawn(move || {
                    let addrs = (format!("{name}."), 0)
                        .to_socket_addrs()
                        .map(|it| {
                            it.filter_map(|a| match a.ip() {
                                IpAddr::V4(v4) => Some(v4),
                                IpAddr::V6(_) => None,
                            })
                            .collect()
                        })
                        .unwrap_or_default();
                    (name.clone(), addrs)
                })
            })
            .collect();
        jobs.into_iter().filter_map(|j| j.join().ok()).collect()
    });
    cache.extend(found);
    let answers: Vec<filter::spam::dns::Answer> = v
        .queries()
        .iter()
        .filter(is_a)
        .filter_map(|q| {
            cache
                .get(&q.name)
                .map(|a| filter::spam::dns::Answer::new(&q.name, a))
        })
        .collect();
    scanner.resolve(report, &answers);
}

fn kind_name(k: DetectionKind) -> &'static str {
    match k {
        DetectionKind::Signature => "signature",
        DetectionKind::Heuristic => "heuristic",
        DetectionKind::Limit => "limit",
    }
}

/// Runs the `scan` subcommand.
pub fn scan(args: ScanArgs) -> ExitCode {
    let start = Instant::now();
    let defaults = args.db.is_empty() || args.defaults;
    let mut b = EngineBuilder::new()
        .defaults(defaults)
        .strict(args.strict)
        .net(args.dns);
    if args.no_policy {
        b = b.policy(Policy::off());
    }
    for path in &args.rules {
        if let Err(e) = b.rules_path(path) {
            eprintln!("filterscan: {}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    }
    for db in &args.db {
        if let Err(e) = b.load_path(db) {
            match e {
                LoadError::Line(issue) => eprintln!("filterscan: {issue}"),
                e => eprintln!("filterscan: {e}"),
            }
            return ExitCode::from(2);
        }
    }
    let engine = b.build();
    let lr = engine.load_report();
    for issue in &lr.errors {
        eprintln!("filterscan: warning: {issue}");
    }
    if args.strict && !lr.errors.is_empty() {
        return ExitCode::from(2);
    }
    let known: u64 = lr
        .loaded
        .iter()
        .filter(|(k, _)| !matches!(**k, "fp" | "sfp" | "ign2" | "ign"))
        .map(|(_, n)| *n)
        .sum();

    let mut scanner = engine.scanner();
    let mut dns_cache = std::collections::HashMap::new();
    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut failed = false;
    let mut scanned = 0u64;
    let mut infected = 0u64;
    let mut spam = 0u64;
    let mut bytes = 0u64;
    let rules_active = engine.rules().map_or(0, |r| r.stats().active);

    let emit = |out: &mut BufWriter<io::StdoutLock<'_>>,
                label: &str,
                r: &Report,
                data: &[u8]|
     -> io::Result<()> {
        if args.json {
            let dets: Vec<_> = r
                .detections
                .iter()
                .map(|d| {
                    json!({
                        "name": d.name,
                        "kind": kind_name(d.kind),
                        "location": d.location,
                    })
                })
                .collect();
            let spam = r.spam.as_ref().map(|v| {
                json!({
                    "score": v.score,
                    "required": v.required,
                    "is_spam": v.is_spam,
                    "action": v.action.name(),
                    "symbols": v.symbols.iter().map(|s| json!({
                        "name": s.name,
                        "score": s.score,
                        "description": s.description,
                    })).collect::<Vec<_>>(),
                })
            });
            let found = r.infected() || r.spam.as_ref().is_some_and(|v| v.is_spam);
            // When the message arrived (for `filterscan report`), and
            // when it was scanned: the command line may read the clock,
            // the library never does.
            // Only the header block is parsed again.
            let received = r.spam.as_ref().and_then(|_| {
                let head = &data[..input::header_end(data)];
                filter::spam::origin::received_at(&filter::mime::Message::parse(head))
            });
            let scanned = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let v = json!({
                "path": label,
                "received": received,
                "scanned": scanned,
                "verdict": if found { "FOUND" } else { "OK" },
                "name": r.name(),
                "detections": dets,
                "spam": spam,
            });
            writeln!(out, "{v}")
        } else {
            match (r.name(), &r.spam) {
                (Some(n), _) => writeln!(out, "{label}: {n} FOUND"),
                (None, Some(v)) if v.is_spam => {
                    let tests: Vec<&str> = v.symbols.iter().map(|s| s.name.as_str()).collect();
                    writeln!(
                        out,
                        "{label}: Spam FOUND (score={:.1} required={:.1} tests={})",
                        v.score,
                        v.required,
                        tests.join(",")
                    )
                }
                _ => writeln!(out, "{label}: OK"),
            }
        }
    };

    let result = (|| -> io::Result<()> {
        // Messages wait in a batch so the spam rules run on them together
        // (`Scanner::scan_many`); output keeps the order of the input.
        let mut batch: Vec<(String, Vec<u8>)> = Vec::with_capacity(filter::BATCH);
        let mut flush = |batch: &mut Vec<(String, Vec<u8>)>,
                         out: &mut BufWriter<io::StdoutLock<'_>>|
         -> io::Result<()> {
            let inputs: Vec<&[u8]> = batch.iter().map(|(_, d)| d.as_slice()).collect();
            let reports = scanner.scan_many(&inputs);
            for ((label, data), mut r) in batch.iter().zip(reports) {
                if args.dns {
                    resolve_dns(&mut scanner, &mut r, &mut dns_cache);
                }
                scanned += 1;
                infected += u64::from(r.infected());
                spam += u64::from(r.spam.as_ref().is_some_and(|v| v.is_spam));
                emit(out, label, &r, data)?;
            }
            batch.clear();
            Ok(())
        };
        let listed = args.files_from.as_ref().and_then(|f| {
            listed(f)
                .inspect_err(|e| {
                    eprintln!("filterscan: {}: {e}", f.to_string_lossy());
                    failed = true;
                })
                .ok()
        });
        let asked = args
            .paths
            .iter()
            .cloned()
            .map(Ask::Path)
            .chain(listed.into_iter().flatten());
        for ask in asked {
            let arg = match ask {
                Ask::Path(p) => p,
                Ask::Sync => {
                    flush(&mut batch, &mut out)?;
                    writeln!(out)?;
                    out.flush()?;
                    continue;
                }
            };
            let (files, errors) = input::expand(&arg);
            for (path, e) in errors {
                eprintln!("filterscan: {}: {e}", path.to_string_lossy());
                failed = true;
            }
            for src in files {
                let label = src.label();
                let data = match crate::read(&src) {
                    Ok(d) => d,
                    Err(e) => {
                        eprintln!("filterscan: {label}: {e}");
                        failed = true;
                        continue;
                    }
                };
                bytes += data.len() as u64;
                // An mbox's messages all start with its `From ` lines, so
                // `scan_many` takes each of them for mail.
                let items = if input::is_mbox(&data) {
                    let msgs = input::split_mbox(&data);
                    let labels = (1..).map(|i| format!("{label}#{i}"));
                    labels.zip(msgs).collect()
                } else {
                    vec![(label, data)]
                };
                for item in items {
                    batch.push(item);
                    if batch.len() == filter::BATCH {
                        flush(&mut batch, &mut out)?;
                    }
                }
            }
        }
        flush(&mut batch, &mut out)?;
        let secs = start.elapsed().as_secs_f64();
        let mb = bytes as f64 / (1024.0 * 1024.0);
        if args.json {
            let v = json!({
                "summary": {
                    "known_viruses": known,
                    "engine_version": env!("CARGO_PKG_VERSION"),
                    "scanned_files": scanned,
                    "infected_files": infected,
                    "spam_messages": spam,
                    "rules_active": rules_active,
                    "data_scanned_bytes": bytes,
                    "time_seconds": secs,
                    "load_errors": lr.errors.len(),
                    "unsupported": lr.unsupported.len(),
                }
            });
            writeln!(out, "{v}")?;
        } else {
            writeln!(out)?;
            writeln!(out, "----------- SCAN SUMMARY -----------")?;
            writeln!(out, "Known viruses: {known}")?;
            writeln!(
                out,
                "Engine version: libfilter {}",
                env!("CARGO_PKG_VERSION")
            )?;
            writeln!(out, "Scanned files: {scanned}")?;
            writeln!(out, "Infected files: {infected}")?;
            if rules_active > 0 {
                writeln!(out, "Spam rules: {rules_active}")?;
                writeln!(out, "Spam messages: {spam}")?;
            }
            writeln!(out, "Data scanned: {mb:.2} MB")?;
            writeln!(out, "Load errors: {}", lr.errors.len())?;
            writeln!(out, "Unsupported signatures: {}", lr.unsupported.len())?;
            writeln!(
                out,
                "Time: {secs:.3} sec ({} m {} s)",
                secs as u64 / 60,
                secs as u64 % 60
            )?;
        }
        out.flush()
    })();
    if let Err(e) = result {
        eprintln!("filterscan: stdout: {e}");
        return ExitCode::from(2);
    }
    // The process ends here: freeing a large engine piece by piece (100k
    // patterns are ~450k allocations) would only delay the exit.
    std::mem::forget(scanner);
    std::mem::forget(engine);
    if failed {
        ExitCode::from(2)
    } else if infected > 0 || spam > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
