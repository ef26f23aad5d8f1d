//! A small Rust scanner: one engine shared by worker threads, one scanner
//! per thread, one line of output per file.
//!
//! ```text
//! cargo run --release --example scan -- [--db PATH]... [--rules PATH]... FILE...
//! ```
//!
//! The embedded default database is always loaded; `--db` adds ClamAV
//! databases to it. The embedded default rules are used unless `--rules`
//! names SpamAssassin rule files, which then replace them. Each line reads
//! `FILE: VERDICT score/required SYMBOLS` for mail, and
//! `FILE: NAME FOUND` when a signature matched.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use filter::{Engine, EngineBuilder};

fn main() {
    let mut dbs = Vec::new();
    let mut rules = Vec::new();
    let mut files = Vec::new();
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--db") => dbs.extend(args.next().map(PathBuf::from)),
            Some("--rules") => rules.extend(args.next().map(PathBuf::from)),
            _ => files.push(PathBuf::from(arg)),
        }
    }
    if files.is_empty() {
        eprintln!("usage: scan [--db PATH]... [--rules PATH]... FILE...");
        std::process::exit(2);
    }

    // The builder collects databases and rule files; `build` compiles them
    // into an immutable engine behind an `Arc`, shared by every thread.
    let mut builder = EngineBuilder::new();
    for db in &dbs {
        if let Err(e) = builder.load_path(db) {
            eprintln!("{}: {e}", db.display());
            std::process::exit(2);
        }
    }
    for r in &rules {
        if let Err(e) = builder.rules_path(r) {
            eprintln!("{}: {e}", r.display());
            std::process::exit(2);
        }
    }
    let engine: Arc<Engine> = builder.build();

    // Each thread owns a `Scanner`: its scratch buffers are reused from one
    // message to the next, so a long run allocates little.
    let next = AtomicUsize::new(0);
    let infected = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut scanner = engine.scanner();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let data = match std::fs::read(path) {
                        Ok(d) => d,
                        Err(e) => {
                            eprintln!("{}: {e}", path.display());
                            continue;
                        }
                    };
                    let report = scanner.scan(&data);
                    let line = if let Some(name) = report.name() {
                        infected.fetch_add(1, Ordering::Relaxed);
                        format!("{name} FOUND")
                    } else if let Some(v) = &report.spam {
                        let names: Vec<&str> = v.symbols.iter().map(|s| s.name.as_str()).collect();
                        let verdict = if v.is_spam { "SPAM" } else { "OK" };
                        format!(
                            "{verdict} {:.1}/{:.1} {}",
                            v.score,
                            v.required,
                            names.join(",")
                        )
                    } else {
                        "OK".to_string()
                    };
                    println!("{}: {line}", path.display());
                }
            });
        }
    });
    std::process::exit(if infected.load(Ordering::Relaxed) > 0 {
        1
    } else {
        0
    });
}
