//! The signature matrix (`tests/sigs/matrix.txt`): every case's databases
//! loaded into an engine (defaults and policy off), every sample scanned,
//! and the verdict compared with the one clamscan gives.

#[path = "sigs/matrix.rs"]
mod matrix;

use filter::EngineBuilder;
use filter::sig::policy::Policy;

fn engine_for(case: &matrix::Case) -> std::sync::Arc<filter::Engine> {
    let mut b = EngineBuilder::new().defaults(false).policy(Policy::off());
    for (name, text) in &case.dbs {
        b.load_bytes(name, text.as_bytes())
            .unwrap_or_else(|e| panic!("case {}: {name}: {e}", case.name));
    }
    b.build()
}

#[test]
fn matrix_is_well_formed() {
    let cases = matrix::cases();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    let mut names = std::collections::BTreeSet::new();
    for c in &cases {
        assert!(names.insert(&c.name), "duplicate case {}", c.name);
        assert!(!c.dbs.is_empty(), "case {} has no database", c.name);
        assert!(!c.samples.is_empty(), "case {} has no sample", c.name);
    }
    let pos = cases
        .iter()
        .flat_map(|c| &c.samples)
        .filter(|s| s.expect.is_some())
        .count();
    let neg = cases
        .iter()
        .flat_map(|c| &c.samples)
        .filter(|s| s.expect.is_none())
        .count();
    assert!(pos >= 50 && neg >= 40, "{pos} positive, {neg} negative");
}

#[test]
fn every_case_loads_without_errors() {
    let mut bad = Vec::new();
    for c in matrix::cases() {
        let e = engine_for(&c);
        let r = e.load_report();
        if !r.errors.is_empty() || !r.unsupported.is_empty() {
            bad.push(format!(
                "{}: errors {:?} unsupported {:?}",
                c.name, r.errors, r.unsupported
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn every_sample_gets_clamscans_verdict() {
    let mut failures = Vec::new();
    let mut total = 0;
    for c in matrix::cases() {
        let engine = engine_for(&c);
        let mut s = engine.scanner();
        for sample in &c.samples {
            total += 1;
            let r = s.scan(&sample.bytes);
            let got = r.name().map(str::to_string);
            if got != sample.expect {
                failures.push(format!(
                    "line {} case {}: expected {}, got {} ({})",
                    sample.line,
                    c.name,
                    sample.expect.as_deref().unwrap_or("OK"),
                    got.as_deref().unwrap_or("OK"),
                    sample.spec
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} samples disagree with clamscan:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Loading the case files from a directory gives the same verdicts as
/// loading their bytes.
#[test]
fn directory_load_matches_byte_load() {
    let dir = std::env::temp_dir().join(format!("sig-matrix-{}", std::process::id()));
    let mut failures = Vec::new();
    for (i, c) in matrix::cases().iter().enumerate() {
        let d = dir.join(format!("{i:03}"));
        c.write_dbs(&d);
        let mut b = EngineBuilder::new().defaults(false).policy(Policy::off());
        b.load_path(&d).unwrap();
        let engine = b.build();
        let mut s = engine.scanner();
        for sample in &c.samples {
            let got = s.scan(&sample.bytes).name().map(str::to_string);
            if got != sample.expect {
                failures.push(format!("line {} case {}", sample.line, c.name));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
