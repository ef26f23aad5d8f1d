//! Differential test against clamscan: the signature matrix, the mail
//! wrappings and part of the SpamAssassin corpus are scanned by clamscan and
//! by libfilter with the same database directory, and the verdicts (name or
//! OK) must agree, except for the entries listed in
//! `tests/CLAMSCAN_DIFFERENCES.md`.
//!
//! Skipped with a note when clamscan is not installed, unless `CI` is set:
//! then a missing clamscan is a failure.

#[path = "sigs/mail.rs"]
mod mail;
#[path = "sigs/matrix.rs"]
mod matrix;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use filter::sig::policy::Policy;
use filter::{Engine, EngineBuilder};

const DIFFERENCES: &str = include_str!("CLAMSCAN_DIFFERENCES.md");

/// The clamscan binary, or `None` (with a note) when it is absent.
fn clamscan() -> Option<PathBuf> {
    let found = std::env::var_os("CLAMSCAN").map(PathBuf::from).or_else(|| {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("clamscan"))
                .find(|c| c.is_file())
        })
    });
    if found.is_none() {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set but clamscan is not installed (apt-get install clamav)");
        }
        eprintln!("note: clamscan not found; differential test skipped");
    }
    found
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let p = std::env::temp_dir().join(format!(
            "libfilter-clamscan-{tag}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs clamscan once; returns path → name or "OK".
fn run_clamscan(
    bin: &Path,
    db: &Path,
    extra: &[&str],
    files: &[PathBuf],
) -> BTreeMap<PathBuf, String> {
    let out = Command::new(bin)
        .arg("--no-summary")
        .arg("-d")
        .arg(db)
        .args(extra)
        .args(files)
        .output()
        .expect("run clamscan");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_ne!(
        out.status.code(),
        Some(2),
        "clamscan failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        stdout
    );
    let mut verdicts = BTreeMap::new();
    for line in stdout.lines() {
        let (path, verdict) = if let Some(rest) = line.strip_suffix(" FOUND") {
            match rest.rsplit_once(": ") {
                Some((p, n)) => (p, n.to_string()),
                None => continue,
            }
        } else if let Some(p) = line.strip_suffix(": OK") {
            (p, "OK".to_string())
        } else {
            continue;
        };
        verdicts.insert(PathBuf::from(path), verdict);
    }
    for f in files {
        assert!(
            verdicts.contains_key(f),
            "clamscan printed no verdict for {}:\n{stdout}",
            f.display()
        );
    }
    verdicts
}

/// `(case, clamscan, us)` rows of CLAMSCAN_DIFFERENCES.md.
fn allowed() -> BTreeSet<(String, String, String)> {
    let mut set = BTreeSet::new();
    for line in DIFFERENCES.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if !line.trim_start().starts_with('|') || cells.len() < 4 {
            continue;
        }
        let strip = |s: &str| s.trim_matches('`').to_string();
        if cells[0] == "case" || cells[0].starts_with("---") {
            continue;
        }
        set.insert((strip(cells[0]), strip(cells[1]), strip(cells[2])));
    }
    set
}

/// Compares; returns the unexplained disagreements.
fn compare(rows: &[(String, String, String)]) -> Vec<String> {
    let allowed = allowed();
    rows.iter()
        .filter(|(_, c, u)| c != u)
        .filter(|r| !allowed.contains(*r))
        .map(|(case, c, u)| format!("| `{case}` | `{c}` | `{u}` | |"))
        .collect()
}

fn ours(engine: &Arc<Engine>, data: &[u8]) -> String {
    engine
        .scanner()
        .scan(data)
        .name()
        .unwrap_or("OK")
        .to_string()
}

fn engine_with(db: &Path, policy: Policy) -> Arc<Engine> {
    let mut b = EngineBuilder::new().defaults(false).policy(policy);
    b.load_path(db).unwrap();
    b.build()
}

/// Writes every matrix case's databases into one directory (file names
/// prefixed by case number so they never collide).
fn write_matrix_db(dir: &Path, cases: &[matrix::Case]) {
    std::fs::create_dir_all(dir).unwrap();
    for (i, c) in cases.iter().enumerate() {
        for (name, text) in &c.dbs {
            std::fs::write(dir.join(format!("{i:03}-{name}")), text).unwrap();
        }
    }
}

#[test]
fn matrix_agrees_with_clamscan() {
    let Some(bin) = clamscan() else { return };
    let t = TempDir::new("matrix");
    let cases = matrix::cases();
    let db = t.0.join("db");
    write_matrix_db(&db, &cases);
    let mut files = Vec::new();
    let mut meta = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        for (j, s) in c.samples.iter().enumerate() {
            let p = t.0.join(format!("{i:03}-s{j}"));
            std::fs::write(&p, &s.bytes).unwrap();
            files.push(p);
            meta.push((format!("{}#{j}", c.name), s));
        }
    }
    let got = run_clamscan(&bin, &db, &[], &files);

    // The matrix's expectations are clamscan's verdicts.
    let mut stale = Vec::new();
    for (f, (case, s)) in files.iter().zip(&meta) {
        let expect = s.expect.as_deref().unwrap_or("OK");
        if got[f] != expect {
            stale.push(format!(
                "line {}: {case}: matrix says {expect}, clamscan {}",
                s.line, got[f]
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "matrix.txt disagrees with clamscan:\n{}",
        stale.join("\n")
    );

    let engine = engine_with(&db, Policy::off());
    let rows: Vec<_> = files
        .iter()
        .zip(&meta)
        .map(|(f, (case, s))| (case.clone(), got[f].clone(), ours(&engine, &s.bytes)))
        .collect();
    let bad = compare(&rows);
    assert!(
        bad.is_empty(),
        "{} of {} matrix samples differ from clamscan (not in CLAMSCAN_DIFFERENCES.md):\n{}",
        bad.len(),
        rows.len(),
        bad.join("\n")
    );
}

#[test]
fn mail_wrappings_agree_with_clamscan() {
    let Some(bin) = clamscan() else { return };
    let t = TempDir::new("mail");
    let db = t.0.join("db");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("mail.ndb"), mail::marker_ndb()).unwrap();
    let clean = b"an ordinary attachment, nothing to see\r\n".repeat(20);
    let mut samples = Vec::new();
    for (case, msg) in mail::wrappings(&mail::payload()) {
        samples.push((format!("mail:{case}"), msg));
    }
    for (case, msg) in mail::wrappings(&clean) {
        samples.push((format!("mail-clean:{case}"), msg));
    }
    // The same encodings and containers as files of their own.
    let p = mail::payload();
    samples.push(("file:binhex".into(), mail::binhex("data.bin", &p)));
    samples.push(("file:uuencode".into(), mail::uuencode("data.bin", &p)));
    samples.push(("file:gzip".into(), mail::gzip(&p)));
    samples.push(("file:tar".into(), mail::tar(&[("data.bin", &p)])));
    samples.push((
        "file:zip-deflated".into(),
        mail::zip(&[("data.bin", &p, true, false)]),
    ));
    let mut files = Vec::new();
    for (i, (_, msg)) in samples.iter().enumerate() {
        let p = t.0.join(format!("m{i:02}.eml"));
        std::fs::write(&p, msg).unwrap();
        files.push(p);
    }
    let got = run_clamscan(&bin, &db, &[], &files);
    let engine = engine_with(&db, Policy::off());
    let mut rows: Vec<_> = files
        .iter()
        .zip(&samples)
        .map(|(f, (case, msg))| (case.clone(), got[f].clone(), ours(&engine, msg)))
        .collect();

    // An encrypted zip, with clamscan's --alert-encrypted and our
    // encrypted-archive heuristic.
    let z = mail::zip(&[("secret.doc", b"0123456789abcdef0123456789", false, true)]);
    let msg = mail::with_attachment(
        "enc",
        "application/zip",
        Some("base64"),
        "secret.zip",
        &mail::base64(&z),
    );
    let enc_files = [t.0.join("enc.eml"), t.0.join("enc.zip")];
    std::fs::write(&enc_files[0], &msg).unwrap();
    std::fs::write(&enc_files[1], &z).unwrap();
    let got = run_clamscan(&bin, &db, &["--alert-encrypted=yes"], &enc_files);
    let enc_engine = engine_with(
        &db,
        Policy {
            encrypted: true,
            ..Policy::off()
        },
    );
    rows.push((
        "mail:encrypted-zip".into(),
        got[&enc_files[0]].clone(),
        ours(&enc_engine, &msg),
    ));
    rows.push((
        "file:encrypted-zip".into(),
        got[&enc_files[1]].clone(),
        ours(&enc_engine, &z),
    ));

    let bad = compare(&rows);
    assert!(
        bad.is_empty(),
        "{} of {} mail samples differ from clamscan (not in CLAMSCAN_DIFFERENCES.md):\n{}",
        bad.len(),
        rows.len(),
        bad.join("\n")
    );
}

/// The first files of a directory tree, sorted at each level.
fn first_files(dir: &Path, n: usize, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for p in entries {
        if out.len() >= n {
            return;
        }
        if p.is_dir() {
            first_files(&p, n, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

#[test]
fn spamassassin_corpus_agrees_with_clamscan() {
    let Some(bin) = clamscan() else { return };
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/spamassassin");
    let mut files = Vec::new();
    first_files(&corpus, 200, &mut files);
    if files.is_empty() {
        eprintln!(
            "note: {} not found; corpus differential skipped",
            corpus.display()
        );
        return;
    }
    let files: Vec<PathBuf> = files
        .into_iter()
        .map(|p| p.canonicalize().unwrap())
        .collect();
    let t = TempDir::new("corpus");
    let db = t.0.join("db");
    write_matrix_db(&db, &matrix::cases());
    let got = run_clamscan(&bin, &db, &[], &files);
    let engine = engine_with(&db, Policy::off());
    let rows: Vec<_> = files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(corpus.canonicalize().unwrap()).unwrap_or(f);
            let data = std::fs::read(f).unwrap();
            (
                format!("corpus:{}", rel.display()),
                got[f].clone(),
                ours(&engine, &data),
            )
        })
        .collect();
    let bad = compare(&rows);
    assert!(
        bad.is_empty(),
        "{} of {} corpus files differ from clamscan (not in CLAMSCAN_DIFFERENCES.md):\n{}",
        bad.len(),
        rows.len(),
        bad.join("\n")
    );
}
