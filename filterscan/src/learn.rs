//! `filterscan learn` and `filterscan bayes`: training the Bayes store and
//! looking after it.

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Args};
use filter::spam::bayes::{Classifier, Store, Tokenizer, TokenizerOptions};

use crate::eval::Kind;
use crate::input::{self, Source, is_mbox, split_mbox};

#[derive(Args)]
#[command(group(ArgGroup::new("label").required(true).args(["spam", "ham"])))]
pub struct LearnArgs {
    /// The store (created if missing).
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// The messages are spam.
    #[arg(long)]
    spam: bool,
    /// The messages are ham.
    #[arg(long)]
    ham: bool,
    /// Forget the messages instead (they were learned with this label).
    #[arg(long)]
    unlearn: bool,
    /// The classifier of a new store.
    #[arg(long, value_enum, default_value_t = Kind::Logistic)]
    classifier: Kind,
    /// Sync every message to the disk.
    #[arg(long)]
    sync: bool,
    /// Print `learned PATH` after each message.
    #[arg(long)]
    verbose: bool,
    /// Files, mbox files, Maildir folders, directories or `-`.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
}

#[derive(Args)]
pub struct BayesArgs {
    /// The store.
    #[arg(long, value_name = "FILE")]
    db: PathBuf,
    /// Print the store's counts (the default action).
    #[arg(long)]
    stats: bool,
    /// Fold the journal into a new snapshot.
    #[arg(long)]
    compact: bool,
    /// Chi-square stores: drop tokens not learned in the last N messages
    /// and seen at most once.
    #[arg(long, value_name = "N")]
    expire: Option<u64>,
}

fn read_source(src: &Source) -> io::Result<Vec<Vec<u8>>> {
    let data = match src {
        Source::Stdin => {
            let mut d = Vec::new();
            io::stdin().read_to_end(&mut d)?;
            d
        }
        Source::File(p) => std::fs::read(p)?,
    };
    Ok(if is_mbox(&data) {
        split_mbox(&data)
    } else {
        vec![data]
    })
}

pub fn learn(args: LearnArgs) -> ExitCode {
    let kind = match args.classifier {
        Kind::Logistic => Classifier::Logistic,
        Kind::ChiSquare => Classifier::ChiSquare,
    };
    let mut store = match Store::open(&args.db, kind) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("filterscan: {e}");
            return ExitCode::from(2);
        }
    };
    store.set_sync(args.sync);
    let tokenizer = Tokenizer::new(TokenizerOptions::default());
    let mut sources = Vec::new();
    let mut failed = false;
    for p in &args.paths {
        let (files, errors) = input::expand(p);
        for (path, e) in errors {
            eprintln!("filterscan: {}: {e}", path.display());
            failed = true;
        }
        sources.extend(files);
    }
    let progress = io::stderr().is_terminal() && !args.verbose;
    let total = sources.len();
    let mut tokens = Vec::new();
    let mut learned = 0usize;
    let out = io::stdout();
    let mut out = out.lock();
    for (i, src) in sources.iter().enumerate() {
        let messages = match read_source(src) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("filterscan: {}: {e}", src.label());
                failed = true;
                continue;
            }
        };
        for m in messages {
            tokenizer.tokens(&m, &mut tokens);
            let r = if args.unlearn {
                store.unlearn(&tokens, args.spam)
            } else {
                store.learn(&tokens, args.spam)
            };
            if let Err(e) = r {
                eprintln!("filterscan: {e}");
                return ExitCode::from(2);
            }
            learned += 1;
            if args.verbose {
                let _ = writeln!(out, "learned {}", src.label());
                let _ = out.flush();
            }
        }
        if progress && (i % 64 == 0 || i + 1 == total) {
            eprint!(
                "\r{} {}/{} files, {learned} messages",
                if args.unlearn {
                    "unlearning"
                } else {
                    "learning"
                },
                i + 1,
                total
            );
        }
    }
    if progress {
        eprintln!();
    }
    let c = store.model().counts();
    let _ = writeln!(
        out,
        "{} {learned} messages as {}; the store has {} spam, {} ham, {} tokens",
        if args.unlearn { "unlearned" } else { "learned" },
        if args.spam { "spam" } else { "ham" },
        c.spam,
        c.ham,
        c.tokens
    );
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn bayes(args: BayesArgs) -> ExitCode {
    // Opening for writing would create a store; this command only looks
    // after one that exists.
    if !args.db.exists() {
        eprintln!("filterscan: {}: no such store", args.db.display());
        return ExitCode::from(2);
    }
    if args.compact || args.expire.is_some() {
        let mut store = match Store::open(&args.db, Classifier::Logistic) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("filterscan: {e}");
                return ExitCode::from(2);
            }
        };
        if let Some(n) = args.expire {
            match store.expire(n, 1) {
                Ok(dropped) => println!("expired {dropped} tokens"),
                Err(e) => {
                    eprintln!("filterscan: {e}");
                    return ExitCode::from(2);
                }
            }
        } else if let Err(e) = store.compact() {
            eprintln!("filterscan: {e}");
            return ExitCode::from(2);
        }
    }
    let model = match Store::read(&args.db) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("filterscan: {e}");
            return ExitCode::from(2);
        }
    };
    let c = model.counts();
    println!("store: {}", args.db.display());
    println!(
        "classifier: {}",
        match model.kind() {
            Classifier::Logistic => "logistic",
            Classifier::ChiSquare => "chi-square",
        }
    );
    println!("spam: {}", c.spam);
    println!("ham: {}", c.ham);
    println!("tokens: {}", c.tokens);
    ExitCode::SUCCESS
}
