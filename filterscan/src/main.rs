//! `filterscan`: the command line for libfilter.

mod eval;
mod extract;
mod input;
mod learn;
mod report;
mod rules;
mod scan;
mod threat;

use std::io::{self, BufWriter, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use filter::Limits;

use crate::input::Source;
use crate::report::{Format, Scanner};

/// The compiled stock SpamAssassin rules are many small heap blocks
/// (automata, lazy DFA caches; about 200 MB resident), and a message
/// visits hundreds of them. mimalloc allocates them faster than glibc's
/// malloc: with the stock rules, user and system CPU together,
/// interleaved runs: loading 0.92 -> 0.70 s, scanning the 6,046 corpus
/// messages 8.99 -> 7.93 s (least of four). Its version 2 is linked:
/// version 3, the crate's default, gives freed pages back to the system
/// after 10 ms and faults them in again, and here that cost as much
/// system time as it saved user time.
///
/// Transparent huge pages are off for the process (`no_thp`). mimalloc
/// asks for them on its arenas, and then the kernel zeroes two megabytes
/// at the first touch of each, again after every purge: 6% of the cycles
/// of a corpus run, and run-to-run swings of 10%. Without them, five
/// interleaved runs over the corpus with the stock rules took 4.12 to
/// 4.24 s of CPU, against 4.65 to 4.77 s with them; loading is unchanged
/// (0.61 s).
///
/// The library itself leaves the allocator to the program that links it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "filterscan", version, about = "Scan e-mail with libfilter")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Show the MIME structure of messages: parts, encodings, file names,
    /// sniffed types and defects.
    Mime(MimeArgs),
    /// Scan files and messages with ClamAV-compatible signatures; prints
    /// clamscan's lines (`path: Name FOUND` / `path: OK`) and summary.
    /// Exit status 0 clean, 1 found, 2 error.
    Scan(scan::ScanArgs),
    /// Check SpamAssassin rule files: what loads, what is skipped, and why.
    Rules(rules::RulesArgs),
    /// Measure the learning spam classifier on a labelled corpus with the
    /// TREC spam track's online protocol (or k-fold cross-validation).
    Eval(eval::EvalArgs),
    /// Teach the Bayes store messages known to be spam or ham.
    Learn(learn::LearnArgs),
    /// The Bayes store: counts, compaction, expiry.
    Bayes(learn::BayesArgs),
    /// The threat report from scan logs (`scan --json` lines): totals,
    /// spam and virus shares, rates, the virus table, charts per day.
    Report(threat::ReportArgs),
}

#[derive(Args)]
struct MimeArgs {
    /// Print one JSON document for the whole run instead of text.
    #[arg(long)]
    json: bool,
    /// Write every decoded leaf part into DIR (created if missing).
    #[arg(long, value_name = "DIR")]
    extract: Option<PathBuf>,
    /// How deep parts may nest (library default when absent).
    #[arg(long, value_name = "N")]
    max_depth: Option<usize>,
    /// How many parts one message may have (library default when absent).
    #[arg(long, value_name = "N")]
    max_parts: Option<usize>,
    /// Message files, mbox files, Maildir folders, directories (walked
    /// recursively) or `-` for standard input.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Mime(args) => mime(args),
        Cmd::Scan(args) => scan::scan(args),
        Cmd::Rules(args) => rules::rules(args),
        Cmd::Eval(args) => eval::eval(args),
        Cmd::Learn(args) => learn::learn(args),
        Cmd::Bayes(args) => learn::bayes(args),
        Cmd::Report(args) => threat::report(args),
    }
}

/// Prints `filterscan: PATH: error` to stderr.
fn complain(path: &str, e: &io::Error) {
    eprintln!("filterscan: {path}: {e}");
}

fn mime(args: MimeArgs) -> ExitCode {
    let mut limits = Limits::default();
    if let Some(d) = args.max_depth {
        limits.max_depth = d;
    }
    if let Some(p) = args.max_parts {
        limits.max_parts = p;
    }
    let mut failed = false;
    let mut extract = args.extract;
    if let Some(dir) = &extract
        && let Err(e) = extract::prepare(dir)
    {
        complain(&dir.to_string_lossy(), &e);
        failed = true;
        extract = None;
    }
    let format = if args.json {
        Format::Json
    } else {
        Format::Text
    };
    let stdout = io::stdout();
    let out = BufWriter::new(stdout.lock());
    let mut scanner = Scanner::new(out, format, limits, extract);

    let result = (|| -> io::Result<()> {
        scanner.begin()?;
        for arg in &args.paths {
            let (files, errors) = input::expand(arg);
            for (path, e) in errors {
                complain(&path.to_string_lossy(), &e);
                failed = true;
            }
            for src in files {
                let data = match read(&src) {
                    Ok(d) => d,
                    Err(e) => {
                        complain(&src.label(), &e);
                        failed = true;
                        continue;
                    }
                };
                let label = src.label();
                if input::is_mbox(&data) {
                    for (i, msg) in input::split_mbox(&data).iter().enumerate() {
                        scanner.message(&label, Some(i + 1), msg)?;
                    }
                } else {
                    scanner.message(&label, None, &data)?;
                }
            }
        }
        scanner.finish()
    })();
    if let Err(e) = result {
        complain("stdout", &e);
        return ExitCode::from(2);
    }
    if scanner.failed() || failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

pub(crate) fn read(src: &Source) -> io::Result<Vec<u8>> {
    match src {
        Source::Stdin => {
            let mut v = Vec::new();
            io::stdin().lock().read_to_end(&mut v)?;
            Ok(v)
        }
        Source::File(p) => std::fs::read(p),
    }
}
